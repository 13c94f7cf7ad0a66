# plots/goclaims.gp - the Go claims' share of processes that died
# (#go-seed10, #go-loops, #go-recover): one bar per experiment row of
# goclaims.json, with its 95 % Wilson interval as an error bar.
#
# Parameters (-e), besides plotdir and out:
#   title
#   data   file written by the renderer (harness/report/report_go.c), one
#          row per experiment:
#          x  "label"  share_pct  lo_pct  hi_pct  rgb(int)  "died/ran"
#          the colour is the unsafe map's from the report palette, paled
#          by the renderer for the rows with defer recover()
#   nbars  number of rows (x runs from 0 to nbars-1)
#   plain, paled  the two colours ("#rrggbb"), for the key
# The count above each bar says how many processes the share is of: a
# GOMAXPROCS=1 row of 10 processes has a wide interval.
load plotdir."/common.gp"
if (!exists("nbars")) nbars = 1
set title title
set ylabel "processes that died (%)"
set xlabel ""
set key outside top center horizontal Left reverse samplen 1.5 nobox
set rmargin 4
set bmargin 8
set lmargin 9
set xtics scale 0 rotate by 40 right font "sans-serif,11"
set xrange [-0.6:nbars-0.4]
set yrange [0:118]
set ytics 0, 20, 100
set grid noxtics ytics
set style fill solid 1.0 noborder
plot data using 1:3:(0.7):(int($6)):xtic(2) with boxes lc rgb variable notitle, \
     ''   using 1:3:4:5 with yerrorbars lc rgb "#333333" pt 7 ps 0 lw 1.2 notitle, \
     ''   using 1:5:7 with labels offset 0,0.8 font "sans-serif,10" tc rgb "#333333" notitle, \
     NaN with boxes lc rgb plain title "no recover()", \
     NaN with boxes lc rgb paled title "defer recover() in every goroutine"
@finish

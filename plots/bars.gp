# plots/bars.gp - one bar group per run: latency percentiles or throughput.
#
# Parameters (-e), besides plotdir and out:
#   title, ylabel
#   data   file written by the renderer, one row per run:
#          x  "label"  rgb(int)  p50_ms  p99_ms  max_ms  ops_per_s  "note"
#   what   "latency": three bars per run (p50 pale, p99 mid, max full colour),
#          log y axis;  "throughput": one bar per run, linear y axis
#   nbars  number of rows (x runs from 0 to nbars-1)
#   ymin   latency only: bottom of the log axis (ms)
# The note (e.g. "OOM", "crash") is printed above the group, so a bar that
# is short because the run died is not read as a slow variant.
load plotdir."/common.gp"
if (!exists("what")) what = "throughput"
set title title
set ylabel ylabel
set xlabel ""
set key inside left top horizontal Left reverse samplen 1.5 nobox
set rmargin 4
set xtics scale 0 rotate by 0
if (!exists("nbars")) nbars = 1
set xrange [-0.6:nbars-0.4]
set grid noxtics ytics
set style fill solid 1.0 noborder
pale(c) = (((c >> 16) & 255) * 35 / 100 + 166) * 65536 + (((c >> 8) & 255) * 35 / 100 + 166) * 256 + ((c & 255) * 35 / 100 + 166)
mid(c)  = (((c >> 16) & 255) * 70 / 100 + 76) * 65536 + (((c >> 8) & 255) * 70 / 100 + 76) * 256 + ((c & 255) * 70 / 100 + 76)
if (what eq "latency") {
  set logscale y 10
  set format y "%g"
  set yrange [ymin:*]
  set offsets 0, 0, graph 0.12, 0
  plot data using ($1-0.27):4:(0.26):(pale(int($3))) with boxes lc rgb variable notitle, \
       ''   using ($1):5:(0.26):(mid(int($3))):xtic(2) with boxes lc rgb variable notitle, \
       ''   using ($1+0.27):6:(0.26):(int($3)) with boxes lc rgb variable notitle, \
       ''   using 1:6:8 with labels offset 0,0.8 font "sans-serif,11" tc rgb "#b00000" notitle, \
       NaN with boxes lc rgb "#c8c8c8" title "p50", \
       NaN with boxes lc rgb "#8a8a8a" title "p99", \
       NaN with boxes lc rgb "#444444" title "max"
} else {
  set yrange [0:*]
  set offsets 0, 0, graph 0.12, 0
  plot data using 1:7:(0.6):(int($3)):xtic(2) with boxes lc rgb variable notitle, \
       ''   using 1:7:8 with labels offset 0,0.8 font "sans-serif,11" tc rgb "#b00000" notitle
}
@finish

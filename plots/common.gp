# plots/common.gp - shared look of every maplab chart.
#
# Loaded first by each chart script.  The renderer (harness/report/report_plot.c)
# runs gnuplot in the results folder with parameters given by -e, so every
# path a script sees is relative to that folder.  Parameters used here:
#   out    output path without extension; the script writes out.svg, then
#          calls `finish` which replots into out.png
# Colours are never chosen here: each series gets its colour from the one
# palette table in harness/report/report_plot.c (passed in `colors`).
if (!exists("out")) { print "common.gp: out= not set"; exit status 2 }
set encoding utf8
set terminal svg size 900,420 font "sans-serif,13" linewidth 1.2 background rgb "white"
set output out.".svg"
set border 3 lc rgb "#555555"
set tics nomirror textcolor rgb "#333333"
set grid xtics ytics lc rgb "#dddddd" lw 1 dt 1
set key outside right top vertical Left reverse samplen 2.5 spacing 1.2 box lc rgb "#cccccc"
set title font "sans-serif,15"
set datafile missing "NaN"
set style fill solid 1.0 border -1
set lmargin 11
set rmargin 22
# Render the same plot again as PNG beside the SVG.
finish = 'set terminal pngcairo size 1000,470 font "sans,10" linewidth 1.2 background rgb "white"; set output out.".png"; replot; unset output'

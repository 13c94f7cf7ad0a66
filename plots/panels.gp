# plots/panels.gp - small multiples: one quantity over time, one panel per
# variant on a shared y axis, for lines that would tangle in one chart.
#
# Parameters (-e), besides plotdir (folder of these scripts):
#   out, title, ylabel
#   files    space-separated data/*.dat paths (header line of column names)
#   colors   "#rrggbb" per file, from the report palette
#   pfirst, plast  per panel, the first and last file number (1-based) it
#            draws: a variant's repetitions are consecutive and share it
#   ptitles  the panels' titles (variant names), npanels of them
#   ycol     column drawn solid; ycol2 optional column drawn dashed
#   lab1, lab2  what solid and dashed mean (shown under the title)
#   scale    factor applied to both columns; ymax  shared top of the y axis
#   ylog     1: logarithmic y axis
load plotdir."/common.gp"
if (!exists("ycol2")) ycol2 = ""
if (!exists("scale")) scale = 1
if (!exists("ylog")) ylog = 0
if (!exists("lab1")) lab1 = ""
if (!exists("lab2")) lab2 = ""
if (!exists("ymax")) ymax = NaN
n = words(files)
np = int(npanels)
pc = (np > 3) ? 3 : np
pr = int(ceil(np / (1.0 * pc)))
h = 90 + 190 * pr
sub = (ycol2 eq "") ? "" : sprintf("solid: %s, dashed: %s", lab1, lab2)
set terminal svg size 900,h font "sans-serif,12" linewidth 1.2 background rgb "white"
set output out.".svg"
unset key
set lmargin 9
set rmargin 2
set xlabel "time since start (s)"
set ylabel ylabel
set xrange [0:*]
if (ylog) { set logscale y 10; set format y "%g"; if (ymax == ymax) { set yrange [*:ymax] } } \
else { if (ymax == ymax) { set yrange [0:ymax] } else { set yrange [0:*] } }
draw = 'set multiplot layout pr,pc title title."\n".sub font "sans-serif,14"; do for [k=1:np] { set title word(ptitles, k) font "sans-serif,13"; a = int(word(pfirst, k)); b = int(word(plast, k)); plot for [i=a:b] word(files, i) using "t_s":(scale * column(ycol)) with lines lw 1.8 lc rgb word(colors, i) notitle, for [i=a:(ycol2 eq "" ? a - 1 : b)] word(files, i) using "t_s":(scale * column(ycol2)) with lines lw 1.1 dt (6,4) lc rgb word(colors, i) notitle }; unset multiplot'
@draw
unset output
set terminal pngcairo size 1000,(h * 10 / 9) font "sans,10" linewidth 1.2 background rgb "white"
set output out.".png"
@draw
unset output

# plots/timeseries.gp - one quantity over time, one line per run.
#
# Parameters (-e), besides plotdir (folder of these scripts):
#   out, title, ylabel
#   files   space-separated data/*.dat paths (header line of column names)
#   names   key entry per file ("-" = no key entry, e.g. a second repetition)
#   colors  "#rrggbb" per file, from the report palette
#   ycol    column name plotted as a solid line
#   ycol2   optional second column, same colour, dashed (e.g. rss_mib)
#   lab1, lab2  key entries explaining solid and dashed (when ycol2 is set)
#   scale   factor applied to ycol and ycol2 (e.g. 100 for a fraction -> %)
#   rate    1: plot the per-second rate of the cumulative column ycol
#   ylog    1: logarithmic y axis
#   cap     optional horizontal line (y value) with label caplabel
#   cap2    a second one (cap2label), e.g. the allocator budget
#   ymax    optional top of the y axis (so the caps stay in view)
#   capnote optional note printed top left (e.g. caps above the scale)
#   tend    optional time the load stopped (runs then drain and tear down)
#   events  optional file: t y rgb pointtype label [row]  (crash/OOM/hang
#           marks; rows 0-5 place a label alternately above and below
#           the mark, further out, clear of nearby ones)
load plotdir."/common.gp"
if (!exists("ycol2")) ycol2 = ""
if (!exists("rate")) rate = 0
if (!exists("scale")) scale = 1
if (!exists("ylog")) ylog = 0
if (!exists("events")) events = ""
if (!exists("lab1")) lab1 = ""
if (!exists("lab2")) lab2 = ""
set title title
set xlabel "time since start (s)"
set ylabel ylabel
if (!exists("ymax")) ymax = NaN
if (ylog) { set logscale y 10; set format y "%g"; if (ymax == ymax) { set yrange [*:ymax] } } \
else { if (ymax == ymax) { set yrange [0:ymax] } else { set yrange [0:*] } }
set xrange [0:*]
if (exists("cap")) {
  set arrow 1 from graph 0, first cap to graph 1, first cap nohead lc rgb "#b00000" lw 1.5 dt 4 front
  set label 1 caplabel at graph 0.01, first cap offset 0,0.6 tc rgb "#b00000" front
}
if (exists("cap2")) {
  set arrow 2 from graph 0, first cap2 to graph 1, first cap2 nohead lc rgb "#e07000" lw 1.5 dt 2 front
  set label 2 cap2label at graph 0.01, first cap2 offset 0,0.6 tc rgb "#a05000" front
}
if (exists("tend")) {
  set arrow 4 from first tend, graph 0 to first tend, graph 1 nohead lc rgb "#888888" lw 1 dt 3 back
  set label 4 "load stops" at first tend, graph 0.98 rotate by 90 right offset -0.7,0 tc rgb "#777777" font "sans-serif,11" back
}
if (exists("capnote")) {
  set label 3 capnote at graph 1.02, graph 0.16 left tc rgb "#a05000" font "sans-serif,11" front
}
set style textbox opaque fillcolor rgb "white" noborder margins 2,1
n = words(files)
# Rate of a cumulative column: difference to the previous sample over dt.
# A new file starts when t goes backwards (or on its first row).
prev_t = NaN; prev_v = NaN
rate_of(t, v) = (r = (t > prev_t) ? (v - prev_v) / (t - prev_t) : NaN, prev_t = t, prev_v = v, r)
yval(c) = scale * (rate ? rate_of(column("t_s"), column(c)) : column(c))
# an events file's 6th column is the label's row (0 when absent)
evrow(c) = valid(c) ? column(c) : 0
keyname(i) = (word(names, i) eq "-") ? "" : word(names, i)
plot for [i=1:n] word(files, i) using "t_s":(yval(ycol)) with lines lw 2.2 lc rgb word(colors, i) title keyname(i), \
     for [i=1:(ycol2 eq "" ? 0 : n)] word(files, i) using "t_s":(scale * column(ycol2)) with lines lw 1.4 dt (8,5) lc rgb word(colors, i) notitle, \
     for [i=1:(ycol2 eq "" ? 0 : 1)] NaN with lines lw 2.2 lc rgb "#444444" title lab1, \
     for [i=1:(ycol2 eq "" ? 0 : 1)] NaN with lines lw 1.4 dt (8,5) lc rgb "#444444" title lab2, \
     for [i=1:(events eq "" ? 0 : 1)] events using 1:2:4:3 with points pt variable ps 1.6 lw 2 lc rgb variable notitle, \
     for [row=0:(events eq "" ? -1 : 5)] events using 1:(evrow(6) == row ? $2 : NaN):5 with labels boxed offset 0,(row % 2 ? -1 : 1)*(1.4+1.5*int(row/2)) font "sans-serif,12" tc rgb "#222222" notitle
@finish

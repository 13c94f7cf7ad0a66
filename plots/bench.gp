# plots/bench.gp - map benchmark: throughput against threads, one line per
# variant or peer.
#
# Parameters (-e), besides plotdir and out:
#   title
#   file    data/bench.<mix>.<keys>.dat: header "threads <name> <name> ...",
#           one row per thread count, median ops/s per column
#   names   the column names to draw (space-separated, header order)
#   colors  "#rrggbb" per name, from the report palette
#   dashes  dash type per name: 1 solid (map variants), 2 dashed (peers)
#   ylog    1: logarithmic y axis
load plotdir."/common.gp"
if (!exists("ylog")) ylog = 0
if (!exists("dashes")) dashes = ""
dt_of(i) = (dashes eq "") ? 1 : int(word(dashes, i))
set title title
set xlabel "threads"
set ylabel "million operations/s (median)"
set lmargin 12
if (ylog) { set logscale y 10 } else { set yrange [0:*] }
set xtics 1
set pointsize 1.2
n = words(names)
plot for [i=1:n] file using "threads":(column(word(names, i)) / 1e6) with linespoints lw 2.2 pt 7 dt dt_of(i) lc rgb word(colors, i) title word(names, i)
@finish

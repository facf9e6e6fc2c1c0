# vCPU slowdown under aging: access_rel = vCPU accesses/s with aging / without
# (1.0 = no slowdown), per mode, vs vCPU threads (median, bars: quartiles).
# Data blocks: vcpus  median_access_rel  q1  q3
load gpdir.'/common.gp'
set title fig_title."\n".subtitle
set xlabel fig_xlabel
set ylabel fig_ylabel
if (xlog) { set logscale x 2 } else { if (xmax <= 16) { set xtics 1 } }
set xrange [xmin:xmax]
set yrange [0:(ymax > 1.05 ? ymax : 1.05)]
if (yclip) { set label 1 'quartile bars clipped at 2.5x the largest median' at graph 0.99, graph 0.97 right font ',9' tc rgb '#555555' }
set key outside right top
set arrow 1 from graph 0, first 1 to graph 1, first 1 nohead dt 2 lc rgb '#555555'
plotcmd = "plot for [i=1:nmodes] data index (i-1) using 1:2:3:4 with yerrorlines \
     lw 2 dt mode_dt(i) pt mode_pt(i) ps 1.3 lc rgb mode_color(i) \
     title word(modes,i)"
eval render

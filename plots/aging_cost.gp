# Aging cost per page vs vCPU threads, one line per mode (median, bars: interquartile range).
# Data blocks: vcpus  median_ns_per_page  q1  q3
load gpdir.'/common.gp'
set title fig_title."\n".subtitle
set xlabel fig_xlabel
set ylabel fig_ylabel
if (xlog) { set logscale x 2 } else { if (xmax <= 16) { set xtics 1 } }
set xrange [xmin:xmax]
set yrange [0:ymax]
if (yclip) { set label 1 'quartile bars clipped at 2.5x the largest median' at graph 0.99, graph 0.97 right font ',9' tc rgb '#555555' }
set key outside right top
plotcmd = "plot for [i=1:nmodes] data index (i-1) using 1:2:3:4 with yerrorlines \
     lw 2 dt mode_dt(i) pt mode_pt(i) ps 1.3 lc rgb mode_color(i) \
     title word(modes,i)"
eval render

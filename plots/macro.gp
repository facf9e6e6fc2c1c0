# Macro benchmark: reclaim CPU time and refaults per mode.
# Data: one line per mode: mode  cpu_median cpu_q1 cpu_q3  refaults_median q1 q3
# (bars: medians; the vertical line over each: the interquartile range)
# Extra variables: cpu_label, ref_label (metric names with units).
load gpdir.'/common.gp'
set style fill solid 0.85 border rgb '#333333'
set boxwidth 0.6
set xrange [0.4:nmodes+0.6]
set yrange [0:*]
set xtics () 
do for [i=1:nmodes] { set xtics add (word(modes,i) i) }
set key off
set grid noxtics ytics
mtitle = fig_title."\n".subtitle
set xtics rotate by 25 right
plot_macro = "set multiplot layout 1,2 title mtitle; \
  set title 'reclaim CPU, median (lower is better)'; set ylabel cpu_label; \
  plot for [i=1:nmodes] data every ::(i-1)::(i-1) using (i):2 with boxes lc rgb mode_color(i), \
       for [i=1:nmodes] data every ::(i-1)::(i-1) using (i):3:(0):($4-$3) with vectors nohead lw 1.5 lc rgb '#333333'; \
  set title 'refaults, median (lower is better)'; set ylabel ref_label; \
  plot for [i=1:nmodes] data every ::(i-1)::(i-1) using (i):5 with boxes lc rgb mode_color(i), \
       for [i=1:nmodes] data every ::(i-1)::(i-1) using (i):6:(0):($7-$6) with vectors nohead lw 1.5 lc rgb '#333333'; \
  unset multiplot"
set terminal pngcairo size 1100,560 font 'DejaVu Sans,12' noenhanced
set output out_png
eval plot_macro
set terminal svg size 1100,560 font 'DejaVu Sans,12' noenhanced
set output out_svg
eval plot_macro
unset output

# vCPU fault-latency distribution per mode (agebench.cdf[...].fault): the CDF
# (left) and, for the tail that a linear CDF hides, the fraction of faults
# slower than x on a log scale (right).
# Data blocks: latency_ns  cumulative_fraction
load gpdir.'/common.gp'
set xlabel fig_xlabel
set logscale x 10
set format x '%.0s%c'
set key bottom right
tail(q) = (1 - q) > 1e-9 ? 1 - q : 1/0
mtitle = fig_title."\n".subtitle
plotcmd = "set multiplot layout 1,2 title mtitle; \
  set title 'CDF'; set ylabel fig_ylabel; \
  unset logscale y; set yrange [0:1.02]; set ytics 0.1; set format y '%g'; set key bottom right; \
  plot for [i=1:nmodes] data index (i-1) using 1:2 with lines \
     lw 2 dt mode_dt(i) lc rgb mode_color(i) title word(modes,i); \
  set title 'tail'; set ylabel 'fraction of faults slower (log scale)'; \
  set logscale y 10; set yrange [*:1.2]; set ytics auto; set format y '%g'; set key top right; \
  plot for [i=1:nmodes] data index (i-1) using 1:(tail($2)) with lines \
     lw 2 dt mode_dt(i) lc rgb mode_color(i) title word(modes,i); \
  unset multiplot"
set terminal pngcairo size 1200,560 font 'DejaVu Sans,12' noenhanced
set output out_png
eval plotcmd
set terminal svg size 1200,560 font 'DejaVu Sans,12' noenhanced
set output out_svg
eval plotcmd
unset output

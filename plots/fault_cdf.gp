# vCPU fault-latency CDF per mode (agebench.cdf[...].fault).
# Data blocks: latency_ns  cumulative_fraction
load gpdir.'/common.gp'
set title "vCPU fault latency while aging runs\n".subtitle
set xlabel 'fault latency (ns, log scale)'
set ylabel 'cumulative fraction of faults'
set logscale x 10
set format x '%.0s%c'
set yrange [0:1.02]
set ytics 0.1
set key bottom right
plotcmd = "plot for [i=1:nmodes] data index (i-1) using 1:2 with lines \
     lw 2 dt mode_dt(word(modes,i)) lc rgb mode_color(word(modes,i)) title word(modes,i)"
eval render

# vCPU slowdown under aging: vcpu_rel = vCPU accesses/s with aging / without
# (1.0 = no slowdown), per mode, vs vCPU threads (median, bars: quartiles).
# Data blocks: vcpus  median_vcpu_rel  q1  q3
load gpdir.'/common.gp'
set title "vCPU throughput while aging runs (1.0 = no slowdown; median, quartiles)\n".subtitle
set xlabel 'vCPU threads (0: aging alone)'
set ylabel 'vCPU accesses/s with aging / without (higher is better)'
if (xlog) { set logscale x 2 } else { if (xmax <= 16) { set xtics 1 } }
set xrange [xmin:xmax]
set yrange [*:1.05 < * ]
set key bottom left
set arrow 1 from graph 0, first 1 to graph 1, first 1 nohead dt 2 lc rgb '#555555'
plotcmd = "plot for [i=1:nmodes] data index (i-1) using 1:2:3:4 with yerrorlines \
     lw 2 dt mode_dt(word(modes,i)) pt mode_pt(word(modes,i)) ps 1.3 lc rgb mode_color(word(modes,i)) \
     title word(modes,i)"
eval render

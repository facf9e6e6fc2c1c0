# vCPU time blocked on mmu_lock while aging runs: vcpu_blocked_frac = the
# vCPUs' summed mmu_lock wait / (window x vCPUs), per mode, vs vCPU threads
# (median, bars: quartiles). 0 = never blocked.
# Data blocks: vcpus  median_vcpu_blocked_frac  q1  q3
load gpdir.'/common.gp'
set title fig_title."\n".subtitle
set xlabel fig_xlabel
set ylabel fig_ylabel
if (xlog) { set logscale x 2 } else { if (xmax <= 16) { set xtics 1 } }
set xrange [xmin:xmax]
set yrange [0:(ymax > 0 ? ymax : 1e-3)]
if (yclip) { set label 1 'quartile bars clipped at 2.5x the largest median' at graph 0.99, graph 0.97 right font ',9' tc rgb '#555555' }
set key outside right top
plotcmd = "plot for [i=1:nmodes] data index (i-1) using 1:2:3:4 with yerrorlines \
     lw 2 dt mode_dt(i) pt mode_pt(i) ps 1.3 lc rgb mode_color(i) \
     title word(modes,i)"
eval render

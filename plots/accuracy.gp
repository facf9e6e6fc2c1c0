# Accuracy vs cost: false_old (touched pages reported old, per aging call)
# against aging cost per page; one point per vCPU count, labelled.
# Data blocks: ns_per_page  false_old  vcpus
load gpdir.'/common.gp'
set title fig_title."\n".subtitle
set xlabel fig_xlabel
set ylabel fig_ylabel
stats data using 1:2 nooutput
ymax = STATS_max_y > 0 ? STATS_max_y : 1
xmax = STATS_max_x > 0 ? STATS_max_x : 1
# a little room below 0 so points on the axis stay visible, none left of 0
set yrange [-0.04 * ymax : 1.15 * ymax]
set xrange [0 : 1.1 * xmax]
set key top right
plotcmd = "plot for [i=1:nmodes] data index (i-1) using 1:2 with linespoints dt 2 \
     lw 1.5 pt mode_pt(i) ps 1.5 lc rgb mode_color(i) \
     title word(modes,i), \
     for [i=1:nmodes] data index (i-1) using 1:2:(sprintf('%d', $3)) with labels \
     offset char 0.9, char 0.7 font ',9' tc rgb mode_color(i) notitle"
eval render

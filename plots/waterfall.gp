# Q3 waterfall: locked -> read_locked -> fast_only -> bitmap, each step's
# shift of ns_per_page against the previous mode (bars, 95% CI) and the
# cumulative change against locked (line), one block per batch size.
# Data blocks ("# batch <n>:"): step  label  pct  lo  hi  cumulative
load gpdir.'/common.gp'
set title fig_title."\n".subtitle
set xlabel fig_xlabel
set ylabel fig_ylabel
set style fill solid 0.55 border -1
set xzeroaxis lt -1
set key bottom left
set xtics rotate by -15
nblocks = words(blocks)
bw = 0.8 / nblocks
set boxwidth bw
set xrange [0.3 : 3.7]
# the bars start at 0: the y range always holds it
stats data using 3 nooutput
lo = STATS_min
hi = STATS_max
stats data using 6 nooutput
lo = lo < STATS_min ? lo : STATS_min
hi = hi > STATS_max ? hi : STATS_max
set yrange [(lo < 0 ? 1.15 * lo : -5) : (hi > 0 ? 1.15 * hi : 5)]
plotcmd = "plot for [i=1:nblocks] data index (i-1) using ($1 + (i - 1 - (nblocks - 1) / 2.0) * bw):3:xtic(2) \
     with boxes lc rgb word(colours, i) title 'step, '.word(blocks, i), \
     for [i=1:nblocks] data index (i-1) using ($1 + (i - 1 - (nblocks - 1) / 2.0) * bw):3:4:5 \
     with yerrorbars lc rgb '#000000' pt 0 notitle, \
     for [i=1:nblocks] data index (i-1) using 1:6 with linespoints lw 2 pt 7 \
     lc rgb word(colours, i) dt 2 title 'cumulative vs locked, '.word(blocks, i)"
eval render

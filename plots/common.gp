# Common settings of agebench figures (loaded by every plots/*.gp).
# `agebench report` sets (analysis/ab_report_fig.c, one spec per figure):
# data (data file), modes (space-separated mode names, one data block per
# mode, in that order), colours/points/dashes (see below), fig_title, fig_xlabel,
# fig_ylabel (the figure spec's), subtitle (the fixed configuration), out_png,
# out_svg, gpdir (this directory).

# Each mode's colour, point and dash type come from the mode table
# (common/ab_modes.def) through the report: colours, points and dashes hold
# one word per mode, in the order of `modes`. Indexed by the data block.
mode_color(i) = word(colours, i)
mode_pt(i) = int(word(points, i))
mode_dt(i) = int(word(dashes, i))
nmodes = words(modes)

set encoding utf8
set grid lc rgb '#d8d8d8' lw 1
set border lw 1.2
set key box opaque samplen 4 spacing 1.2
set tics nomirror
set border 3
set termoption noenhanced

# Each script puts its plot command in the string `plotcmd`, then
# `eval render` draws it twice: PNG (pngcairo) and SVG.
render = "set terminal pngcairo size 960,600 font 'DejaVu Sans,12' noenhanced; \
          set output out_png; eval plotcmd; \
          set terminal svg size 960,600 font 'DejaVu Sans,12' noenhanced; \
          set output out_svg; eval plotcmd; unset output"

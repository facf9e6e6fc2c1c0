# Common settings of agebench figures (loaded by every analysis/gnuplot/*.gp).
# `agebench report` sets: data (data file), modes (space-separated mode
# names, one data block per mode, in that order), out_png, out_svg,
# subtitle (the fixed configuration), gpdir (this directory).

# One fixed colour and point type per mode, the same in every figure.
mode_color(m) = m eq 'locked' ? '#d62728' : \
                m eq 'read_locked' ? '#ff7f0e' : \
                m eq 'fast_only' ? '#2ca02c' : \
                m eq 'bitmap' ? '#1f77b4' : \
                m eq 'scan' ? '#7f7f7f' : '#000000'
mode_pt(m) = m eq 'locked' ? 7 : m eq 'read_locked' ? 5 : m eq 'fast_only' ? 9 : \
             m eq 'bitmap' ? 13 : m eq 'scan' ? 3 : 1
# Dash types so that coinciding lines stay visible (bitmap over fast_only).
mode_dt(m) = m eq 'bitmap' ? 2 : m eq 'scan' ? 3 : 1
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

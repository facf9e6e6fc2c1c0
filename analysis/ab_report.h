/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ab_report.h - `agebench report DIR`: DIR/report.txt (LKML-ready plain
 * text, <= 80 columns) and gnuplot figures in DIR/figures/ (PNG and SVG)
 * from DIR/results.json (and DIR/macro.json when present).
 */
#ifndef AB_REPORT_H
#define AB_REPORT_H

/* argv[0] = "report". Exit 0 ok, 1 failure writing, 2 bad usage/input. */
int ab_report_main(int argc, char **argv);
/* `agebench report --cover-letter ARGS...` (ab_cover.c). */
int ab_cover_letter_main(int nargs, char **args);

#endif /* AB_REPORT_H */

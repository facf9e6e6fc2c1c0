/* SPDX-License-Identifier: GPL-2.0 */
#ifndef AB_CLI_H
#define AB_CLI_H

int ab_run_main(int argc, char **argv);
/* `agebench list modes|counters|drivers` (src/list.c). */
int ab_list_main(int argc, char **argv);
/* compare/report live in ci/ and plots/; these forward to them. */
int ab_cli_compare(int argc, char **argv);
int ab_cli_report(int argc, char **argv);

#endif

/* harness/report.c - the `maplab report` subcommand (placeholder until it lands). */
#include <stdio.h>

#include "harness/report.h"

int report_main(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "maplab report: not built yet\n");
	return 2;
}

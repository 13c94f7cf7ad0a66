/* harness/diagnose.c - the `maplab diagnose` subcommand (placeholder until it lands). */
#include <stdio.h>

#include "harness/diagnose.h"

int diagnose_main(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "maplab diagnose: not built yet\n");
	return 2;
}

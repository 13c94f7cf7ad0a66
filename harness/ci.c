/* harness/ci.c - the `maplab ci` subcommand (placeholder until it lands). */
#include <stdio.h>

#include "harness/ci.h"

int ci_main(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "maplab ci: not built yet\n");
	return 2;
}

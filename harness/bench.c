/* harness/bench.c - the `maplab bench` subcommand (placeholder until it lands). */
#include <stdio.h>

#include "harness/bench.h"

int bench_main(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "maplab bench: not built yet\n");
	return 2;
}

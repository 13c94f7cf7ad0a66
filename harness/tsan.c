/* harness/tsan.c - the `maplab tsan` subcommand (placeholder until it lands). */
#include <stdio.h>

#include "harness/tsan.h"

int tsan_main(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "maplab tsan: not built yet\n");
	return 2;
}

/*
 * harness/cli/main.c - This file contains maplab's entry point: it dispatches
 * the subcommand to its owner.  list/run/matrix live in harness/cli/cli.c;
 * the others in harness/<name>.c.  No state of its own.
 */
#include <stdio.h>
#include <string.h>

#include "harness/bench/bench.h"
#include "harness/lanes/ci.h"
#include "harness/cli/cli.h"
#include "harness/cli/opts.h"
#include "harness/lanes/diagnose.h"
#include "harness/lanes/envelope.h"
#include "harness/report/report.h"
#include "harness/lanes/tsan.h"
#include "harness/lanes/goclaims.h"

static const struct {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *help;
} commands[] = {
	{"list", cli_list_main, "incidents and variants, one line each"},
	{"run", cli_run_main, "one incident x variant, R repetitions"},
	{"matrix", cli_matrix_main, "a preset's incident x variant matrix"},
	{"report", report_main, "render the report of a results folder"},
	{"bench", bench_main, "the map benchmark"},
	{"ci", ci_main, "the CI preset against the expectations"},
	{"tsan", tsan_main, "the ThreadSanitizer lane"},
	{"diagnose", diagnose_main, "the diagnostic checklist for one cell"},
	{"envelope", envelope_main, "the load at which each design tips (knees)"},
	{"goclaims", goclaims_main, "the Go claim experiments (make go)"},
};

static void usage(FILE *f)
{
	fprintf(f, "usage: maplab COMMAND [ARGS...]   (maplab COMMAND --help)\n\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(f, "  %-9s %s\n", commands[i].name, commands[i].help);
	fprintf(f, "\nEnvironment: NO_COLOR=1, MAPLAB_MALLOC_TRACE=1 (malloc "
		   "trace lines from every run on stderr).\n");
}

int main(int argc, char **argv)
{
	cli_program = argv[0];
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") ||
	    !strcmp(argv[1], "help")) {
		usage(stdout);
		return 0;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(argv[1], commands[i].name) == 0)
			return commands[i].fn(argc - 1, argv + 1);
	fprintf(stderr, "maplab: unknown command '%s'; try maplab --help\n",
		argv[1]);
	return 2;
}

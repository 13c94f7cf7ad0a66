/*
 * harness/lanes/lane_args.c - This file contains the option parser the ci
 * and tsan lanes share (lane_args.h).  It keeps one table of every lane
 * option and copies into a local table the ones a lane accepts, so that
 * getopt_long sees exactly that lane's options.  Single-threaded: getopt
 * keeps global state.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "harness/lanes/lane_args.h"

static const struct option all_opts[] = {
	{"incident", required_argument, NULL, 'i'},
	{"variant", required_argument, NULL, 'v'},
	{"reps", required_argument, NULL, 'r'},
	{"seconds", required_argument, NULL, 's'},
	{"expect", required_argument, NULL, 'e'},
	{"out", required_argument, NULL, 'o'},
	{"judge", required_argument, NULL, 'j'},
	{"no-report", no_argument, NULL, 'n'},
	{"shard", required_argument, NULL, 'S'},
	{"runtime", required_argument, NULL, 'R'},
};
#define NOPTS (sizeof(all_opts) / sizeof(all_opts[0]))

/* Store one parsed option; the table holds only accepted ones. */
static void lane_args_set(struct lane_args *a, int c, char *arg)
{
	switch (c) {
	case 'i': a->incident = arg; break;
	case 'v': a->variant = arg; break;
	case 'r': a->reps = arg; break;
	case 's': a->seconds = arg; break;
	case 'e': a->expect = arg; break;
	case 'o': a->out = arg; break;
	case 'j': a->judge = arg; break;
	case 'n': a->report = false; break;
	case 'S': a->shard = arg; break;
	case 'R': a->runtime = arg; break;
	}
}

int lane_args_parse(const char *cmd, const char *accepted, int argc,
		    char **argv, struct lane_args *a, void (*usage)(FILE *))
{
	struct option opts[NOPTS + 2];
	size_t n = 0;
	int c;

	for (size_t i = 0; i < NOPTS; i++)
		if (strchr(accepted, all_opts[i].val))
			opts[n++] = all_opts[i];
	opts[n++] = (struct option){"help", no_argument, NULL, 'h'};
	opts[n] = (struct option){0};
	*a = (struct lane_args){.report = true};
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (c == 'h') {
			usage(stdout);
			return 1;
		}
		if (c == '?' || c == ':') {
			fprintf(stderr, "maplab %s: unknown or incomplete option "
					"'%s'; try maplab %s --help\n",
				cmd, argv[optind - 1], cmd);
			return 2;
		}
		lane_args_set(a, c, optarg);
	}
	if (optind < argc && !a->judge) {
		fprintf(stderr, "maplab %s: unexpected argument '%s'; try "
				"maplab %s --help\n", cmd, argv[optind], cmd);
		return 2;
	}
	a->noperands = argc - optind;
	a->operands = argv + optind;
	return 0;
}

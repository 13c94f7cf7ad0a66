/*
 * harness/lanes/lane_args.h - the command line the ci and tsan lanes
 * share: one option table (--incident, --variant, --out, --no-report and
 * each lane's own), parsed in one place, with the same one-line refusals.
 * Each lane names the options it accepts; any other is "unknown", as if
 * the table held only the lane's own (abbreviations resolve the same way).
 */
#ifndef MAPLAB_LANES_LANE_ARGS_H
#define MAPLAB_LANES_LANE_ARGS_H

#include <stdbool.h>
#include <stdio.h>

/* What a lane was given; NULL (or the default) for an option not given. */
struct lane_args {
	const char *incident, *variant, *out; /* --incident --variant --out */
	const char *seconds;                  /* tsan: --seconds */
	const char *reps, *expect, *judge, *shard; /* ci: --reps ... --shard */
	const char *runtime;                  /* ci: --runtime c|go|both */
	bool report;   /* false with --no-report */
	int noperands; /* operands after the options (ci --judge DIR DIR2 ...) */
	char **operands;
};

/* Parse argv for `maplab cmd`.  accepted: the letters of the options the
 * lane takes, of "ivonsrejSR" (incident, variant, out, no-report,
 * seconds, reps, expect, judge, shard, runtime); --help is always taken.
 * Operands are refused unless --judge was given.  Returns 0, 1 (--help: usage printed
 * on stdout) or 2 (bad input: one line on stderr).  Not re-entrant:
 * getopt's state is global. */
int lane_args_parse(const char *cmd, const char *accepted, int argc,
		    char **argv, struct lane_args *a, void (*usage)(FILE *));

#endif

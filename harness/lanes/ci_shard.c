/*
 * harness/lanes/ci_shard.c - see ci_shard.h.  Single-threaded, no state.
 */
#include <stdio.h>

#include "harness/cli/shard.h"
#include "harness/lanes/ci_shard.h"
#include "harness/report/report.h"

int ci_check_shard(const char *shard, const char *judge)
{
	struct shard s;
	char err[200];

	if (!shard)
		return 0;
	if (judge) {
		fprintf(stderr, "maplab ci: --shard runs a share of the cells and "
			"--judge runs none; give one of them\n");
		return 2;
	}
	if (shard_parse(shard, &s, err, sizeof(err))) {
		fprintf(stderr, "maplab ci: %s\n", err);
		return 2;
	}
	return 0;
}

int ci_shard_done(const char *out, const char *shard, int rc, bool report)
{
	if (report && rc == 0) {
		struct report_opts ro = {.quiet = true};
		char err[512];

		if (report_render(out, &ro, err, sizeof(err)) != 0)
			fprintf(stderr, "maplab ci: the report of %s could not be "
				"rendered: %s\n", out, err);
	}
	printf("\nci shard %s: %s; not judged alone (a shard holds a share of "
	       "the repetitions). Judge every shard's folder together:\n"
	       "  maplab ci --judge DIR0 DIR1 ... [--out MERGED]\n", shard, out);
	return rc;
}

/*
 * harness/lanes/envelope_search.h - the knee search of `maplab envelope`
 * as a pure function: the next probe of one variant from its results so
 * far.  No state, no I/O; tests/check_envelope.c drives it with scripted
 * results.
 *
 * A probe is one run at a load value; it "tipped" when memory was
 * unbounded (oom, or growth above the stated MiB/s while loaded; a crash
 * or hang counts too, it is no bounded run).  A value "mostly tipped"
 * when more than half of its runs so far did (1 of 1, 2 of 3; not 1 of
 * 2, not 1 of 3).  The bracket is
 *   hi = the lowest value that mostly tipped,
 *   lo = the highest value below hi that did not (its runs may hold a
 *        minority of tips: then lo is an edge, and says so),
 *   edge = the lowest value below hi with any tipped run (NaN: none).
 * So a knee's upper end always has most of its runs tipped, and at most
 * half of its lower end's did: the knee is where runs go from mostly
 * bounded to mostly tipped, and the edge says how far below it a run
 * tipped (with no hi yet, edge is the lowest value with a tipped run).
 * Steps, in order: probe `to` (the top); not mostly tipped there after
 * `reps` runs: "holds up to to".  Then probe `from`; mostly tipped there:
 * "tips at or below from".  Then bisect (geometric mean: loads span
 * decades) while hi/lo > ratio; then repeat lo and hi up to `reps` runs
 * each (a repetition that contradicts moves the bracket: hi tipped 1 of 3
 * becomes the lower end, and the search goes on).  At most max_probes
 * runs: then the bracket so far is reported as unfinished.
 */
#ifndef MAPLAB_ENVELOPE_SEARCH_H
#define MAPLAB_ENVELOPE_SEARCH_H

#include <stdbool.h>
#include <stddef.h>

struct env_cfg {
	double from, to;       /* from < to */
	unsigned reps;         /* runs at each bracket end (>= 1) */
	double ratio;          /* stop bisecting when hi/lo <= ratio (> 1) */
	bool integer;          /* values are whole numbers */
	unsigned max_probes;   /* runs per variant at most */
};

struct env_probe {
	double value;
	bool tipped;
};

enum env_state {
	ENV_RUNNING,  /* next holds the value to run */
	ENV_KNEE,     /* tips between lo and hi */
	ENV_HOLDS,    /* holds up to `to` (lo) */
	ENV_TIPS_LOW, /* tips at `from` already (hi) */
	ENV_BUDGET,   /* max_probes spent; lo/hi as far as known */
};

struct env_step {
	enum env_state state;
	double next;                /* ENV_RUNNING: the value to probe */
	double lo, hi;              /* NaN when unknown */
	double edge;                /* lowest value below hi with a tipped
				     * run; NaN: none */
	unsigned lo_runs, lo_tipped, hi_runs, hi_tipped, edge_runs, edge_tipped;
	unsigned left;              /* estimated runs still to make */
};

/* The next step for one variant after probes p[0..n) (any order). */
void env_next(const struct env_cfg *cfg, const struct env_probe *p, size_t n,
	      struct env_step *out);
/*
 * The next round of a sharded search (docs/envelope.md, "Envelope across
 * shards"): the values to probe for one variant, all at once, after
 * probes p[0..n); written to out[0..max), their count returned (0 when
 * the variant is settled: *st says how).  `width` >= 1 points split a
 * known bracket into width + 1 geometric parts (width 1: env_next's
 * midpoint, so a search of width 1 makes the same brackets as env_next's
 * one probe at a time); with no tip yet, every missing run of `to`; with
 * only a tip, `from` and width - 1 points between it and the tip; a
 * narrow bracket, the runs its ends still need.  Never more than
 * max_probes - n.  Pure, like env_next.
 */
size_t env_grid(const struct env_cfg *cfg, const struct env_probe *p, size_t n,
		unsigned width, double *out, size_t max, struct env_step *st);
/* "running", "knee", "holds", "tips at from", "unfinished". */
const char *env_state_name(enum env_state s);

#endif

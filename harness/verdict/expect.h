/*
 * harness/verdict/expect.h - the expectation matrix (harness/verdict/expectations.json):
 * for every incident x variant, whether the incident must `reproduce` (its
 * symptom shows in at least k of n repetitions) or the variant must `hold`
 * (every repetition ok, no symptom, within the stated bounds).  Used by
 * `maplab ci` to gate, and by the report to mark verdict rows.
 *
 * A run "shows the symptom" when its outcome is crash, oom or hang, when
 * any symptom named by the cell's rule (default: any symptom) is > 0, or
 * when a summary figure passes a threshold the rule gives (e.g. in-flight
 * peak for the avalanche).  error and interrupted runs neither reproduce
 * nor hold: they fail the cell.
 *
 * Pure functions over jansson values; no shared state.
 */
#ifndef MAPLAB_HARNESS_EXPECT_H
#define MAPLAB_HARNESS_EXPECT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#define EXPECT_DEFAULT_PATH "harness/verdict/expectations.json"

enum expect_class { EXPECT_NONE = 0, EXPECT_REPRODUCES, EXPECT_HOLDS };

/* Load and validate the file (every rule well-formed).  NULL with a
 * one-line message naming the fix. */
json_t *expect_load(const char *path, char *err, size_t errlen);

/* A copy of exp whose "min_ratio"/"max_ratio" rules are bound to the runs
 * of one folder (an array of run entries): each becomes a "min"/"max"
 * bound of `times` x the reference variant's median in that folder, or,
 * when the reference did not run, the rule is marked "unbound" and no run
 * can pass it.  NULL when out of memory.  Judge with the copy. */
json_t *expect_bind(const json_t *exp, const json_t *runs);

/* The rule for a cell (following "as": "<variant>" aliases), or NULL. */
const json_t *expect_rule(const json_t *exp, const char *incident,
			  const char *variant);
enum expect_class expect_class_of(const json_t *rule);
/* Whether the JSON array list holds the string s. */
bool expect_in_list(const json_t *list, const char *s);

/* Did this run (a runs/ or summary.json entry) show the incident's
 * symptom, per rule?  *why gets a short reason ("crash SIGSEGV",
 * "lost_deletes=412", "inflight_peak 1840 >= 200", "ok").  For a `holds`
 * rule, also false->true when a bound is exceeded (why names it).
 * Returns -1 when the run is error/interrupted (neither), -2 when a
 * `reproduces` rule with forbid_others sees another symptom (wrong). */
int expect_run_symptom(const json_t *rule, const json_t *run, char *why,
		       size_t len);

/* How close the worst repetition came to one bound of the rule:
 * margin = worst / bound for a "min", bound / worst for a "max"; >= 1
 * means every repetition met it. */
struct expect_margin {
	char figure[48];
	bool is_min;
	double bound, worst, margin;
};
#define EXPECT_MAX_MARGINS 4

struct expect_verdict {
	enum expect_class cls;
	unsigned runs, shown, failed_runs; /* failed = error/interrupted */
	unsigned forbidden;                /* runs with a forbidden symptom */
	unsigned k;                        /* reproduces: needed of runs */
	unsigned k_wanted;                 /* the rule's k; > k when lowered
					      to the runs made (pass is on k:
					      `maplab ci` fails such a cell,
					      the report says "k lowered") */
	unsigned nmargins;
	struct expect_margin margins[EXPECT_MAX_MARGINS];
	double margin;                     /* the smallest, NaN if none */
	bool pass;
	double p, lo, hi;                  /* shown/runs, 95% Wilson interval */
	double median_t;                   /* median time to symptom, s (NaN) */
	char why[200];                     /* first reason that decided */
};
/* Judge all runs of one cell (a JSON array of run entries). */
void expect_judge(const json_t *rule, const json_t *runs,
		  struct expect_verdict *v);

/* 95% Wilson score interval for x successes of n. */
void expect_wilson(unsigned x, unsigned n, double *lo, double *hi);

#endif

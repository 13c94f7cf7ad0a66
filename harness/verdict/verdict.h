/*
 * harness/verdict/verdict.h - the design verdict of a run: is the design broken
 * (and how), or does it hold (and at what cost)?
 *
 * This is a different question from the expectation check (expect.h, the
 * CI gate): a cell expected to reach its cap *passes* the gate when it
 * does, and its design verdict is still `broken: oom`.  The report's grid,
 * its verdict tables, the terminal table and `ci` show both, apart.
 *
 * verdict_of() is a pure function of one run record (results/schema.json
 * "run") and, for the relative `stall` rule, the reference figures of the
 * same incident measured in the same results folder (verdict_ref_*).  No
 * state, no I/O; safe from any thread.
 *
 * The rules, first match wins:
 *   error / interrupted         -> no verdict (VERDICT_NONE)
 *   crash                       -> broken: crash (signal, or Go's message)
 *   oom                         -> broken: oom at t s (cap, tag)
 *   hang                        -> broken: hang
 *   a symptom > 0 other than torn_reads -> broken: corrupt (symptoms)
 *   torn_reads > 0              -> broken: torn
 *   in-flight peak >= VERDICT_STALL_RATIO x the reference's (and >=
 *   VERDICT_STALL_MIN_INFLIGHT) and, in the same run, latency p99 >=
 *   VERDICT_STALL_RATIO x the reference's (and >= VERDICT_STALL_MIN_P99_MS)
 *                               -> broken: stall
 *   otherwise                   -> holds, with its cost
 * An unknown reference (no ok run, or no p99 in it) applies no stall rule.
 * The reference of an incident is the median in-flight peak and the
 * median p99 of its runs in the folder whose outcome is ok: the typical
 * surviving run measured in the same matrix, never a machine's absolute
 * figure (a minimum would make one idle repetition of a good design the
 * bar its own other repetitions fail).
 */
#ifndef MAPLAB_HARNESS_VERDICT_H
#define MAPLAB_HARNESS_VERDICT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#define VERDICT_STALL_RATIO 5.0
/* Floors, so that an idle run's noise (p99 1 ms against 6 ms) is no stall:
 * a stall the incidents show is hundreds of ms and thousands queued. */
#define VERDICT_STALL_MIN_INFLIGHT 1000.0
#define VERDICT_STALL_MIN_P99_MS 50.0

enum verdict_class { VERDICT_NONE, VERDICT_HOLDS, VERDICT_BROKEN };
enum verdict_how {
	VERDICT_HOW_NONE,
	VERDICT_HOW_CRASH,
	VERDICT_HOW_OOM,
	VERDICT_HOW_HANG,
	VERDICT_HOW_CORRUPT,
	VERDICT_HOW_TORN,
	VERDICT_HOW_STALL,
};

/* The same incident's best figures in the same folder (NaN: unknown). */
struct verdict_ref {
	double inflight;  /* median in-flight peak of the ok runs */
	double p99_ms;    /* median latency p99 of the ok runs, ms */
	/* the same over the ok runs of the Go twins ("runtime": "go"), which
	 * are judged against these: a goroutine per request queues and
	 * schedules differently from C's threads, so each runtime's runs
	 * are the bar only for their own runtime */
	double go_inflight, go_p99_ms;
};

struct verdict {
	enum verdict_class cls;
	enum verdict_how how;
	char word[16];        /* "holds", "broken", "—" */
	char how_word[16];    /* "oom", "crash", ... or "" */
	char detail[200];     /* "at 0.9 s (budget, requests)", the cost ... */
	double growth_mib_s;  /* live bytes' growth while loaded, NaN */
	double to_cap_s;      /* projected time to the budget, NaN */
};

/* The reference of `incident` over an array of run records. */
void verdict_ref_of(json_t *const *recs, size_t n, const char *incident,
		    struct verdict_ref *ref);
/* The verdict of one record; ref may be NULL (then no stall rule). */
void verdict_of(json_t *rec, const struct verdict_ref *ref,
		struct verdict *v);
/* Least-squares slope of live MiB over the second half of the samples
 * taken while loaded (up to the planned end or the OOM, whichever came
 * first), MiB/s; NaN with fewer than 8 such samples or 4 known values. */
double verdict_growth_mib_s(json_t *rec);
/* Whether a run tipped into unbounded memory at its load, as the envelope
 * counts it: it ended oom, crash or hang (failed), or its growth while
 * loaded was above threshold MiB/s. */
bool verdict_tipped(bool failed, double growth_mib_s, double threshold);
/* "broken: oom at 0.9 s (budget, requests)" / "holds: peak live ..." */
void verdict_text(const struct verdict *v, char *buf, size_t len);
/* A JSON object {class, how, detail, growth_mib_s, to_cap_s}; new ref. */
json_t *verdict_json(const struct verdict *v);

#endif

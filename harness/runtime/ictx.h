/*
 * harness/runtime/ictx.h - the harness side of struct ictx: creating a context for
 * one run of an incident, running it in this process, and reading back what
 * the incident published (metrics, latency histograms, symptoms, log).
 *
 * incidents/incident.h is what an incident sees; this header is what the
 * harness, the runner and the tests see.  Incident tests may use it to run
 * their scenario in-process without forking:
 *
 *	struct ictx_opts o = ICTX_OPTS_INIT;
 *	o.variant = "mutex";
 *	o.seconds = 0.5;
 *	struct ictx *c;
 *	char err[160];
 *	o.err = err; o.errlen = sizeof err;
 *	ck_assert_int_eq(ictx_create(&incident_payment, &o, &c), 0);
 *	ck_assert_int_eq(ictx_run_inprocess(c), 0);
 *	ck_assert(ictx_symptom_value(c, "lost_inserts", -1) == 0);
 *	ictx_destroy(c);
 *
 * Memory: the whole context lives in one anonymous MAP_SHARED mapping made
 * by ictx_create(), so a child forked afterwards writes metrics, histograms,
 * symptoms, log lines and its phase where the parent can read them even
 * after the child crashed or was killed.  Nothing in it is allocated with
 * ml_malloc (the harness never counts against the incident's budget).
 *
 * Threads: the ictx_* functions of incident.h are safe from any thread.
 * ictx_create/destroy/run_inprocess are called by one controlling thread.
 * Getters give exact values once the run's threads have stopped and
 * approximate (relaxed) values while they run.
 */
#ifndef MAPLAB_HARNESS_ICTX_H
#define MAPLAB_HARNESS_ICTX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "incidents/incident.h"

struct telemetry; /* harness/runtime/telemetry.h */

enum ictx_size { ICTX_SIZE_QUICK = 0, ICTX_SIZE_FULL = 1 };

#define ICTX_DEFAULT_THREADS 8u
#define ICTX_MAX_SETS 32      /* --set overrides per run */
#define ICTX_MAX_PARAMS 48    /* parameters an incident may declare */
#define ICTX_MAX_SYMPTOMS 32
#define ICTX_MAX_LOG 64       /* log lines kept: the first ICTX_LOG_HEAD ... */
#define ICTX_LOG_HEAD 48      /* ... and the last 16 (the ones between are
			       * counted in ictx_log_dropped) */
#define ICTX_LOG_LEN 240      /* bytes per log line, NUL included */
#define ICTX_NAME_LEN 48      /* metric/hist/symptom names, NUL included */
#define ICTX_ERR_LEN 240

struct ictx_opts {
	const char *variant;        /* map variant name (not checked here) */
	unsigned threads;           /* 0 = ICTX_DEFAULT_THREADS */
	uint64_t seed;              /* used as given */
	double seconds;             /* planned length; 0 = the size's default */
	enum ictx_size size;        /* picks each param's quick/full default */
	const char *const *sets;    /* "name=value" overrides, nsets of them */
	size_t nsets;
	const char *workdir;        /* NULL = make one under $TMPDIR and remove
				       it in ictx_destroy() */
	unsigned map_flags;         /* MAP_F_* handed to the incident */
	uint64_t budget;            /* allocator budget for the run; 0 = none */
	unsigned sample_ms;         /* monitor period (telemetry); 0 = 10 */
	bool no_telemetry;          /* monitor only stops/oom-checks */
	char *err;                  /* optional: why ictx_create() failed */
	size_t errlen;
};
#define ICTX_OPTS_INIT {.variant = NULL}

/* Where a run is (written by the run's controlling thread, read by anyone,
 * including the parent after the child died). */
enum ictx_phase {
	ICTX_PHASE_CREATED = 0,
	ICTX_PHASE_SETUP,
	ICTX_PHASE_RUN,
	ICTX_PHASE_ORACLE,
	ICTX_PHASE_TEARDOWN,
	ICTX_PHASE_DONE,
};
const char *ictx_phase_name(int phase);

/* What the run itself found out (besides metrics and symptoms). */
struct ictx_status {
	int phase;              /* enum ictx_phase reached */
	int setup_rc, run_rc;   /* 0 or -errno from the incident */
	bool budget_oom;        /* the allocator refused an allocation */
	int oom_tag;            /* ml tag of the first refusal, -1 if none */
	double oom_at_s;        /* seconds since run start when noticed */
	bool budget_hit;        /* refusal happened near the budget (vs. a
				   malloc failure, e.g. RLIMIT_AS) */
	double run_started_s;   /* monotonic seconds at start of run() */
	double run_ended_s;     /* monotonic seconds when run() returned, 0 if not */
	uint64_t live_before;   /* allocator live bytes before setup */
	uint64_t live_after;    /* live bytes after teardown */
	uint64_t peak_live;     /* allocator peak (since process start) */
	char error[ICTX_ERR_LEN]; /* setup/run failure message, "" if none */
};

/* 0 or -errno: -EINVAL for a bad option or an unknown/out-of-range/
 * non-integer --set (message in opts->err), -ENOMEM, or a mkdtemp error. */
int ictx_create(const struct incident *inc, const struct ictx_opts *o,
		struct ictx **out);
void ictx_destroy(struct ictx *ctx);
/* Ask the run to end (ictx_stopping() becomes true).  Async-signal-safe. */
void ictx_request_stop(struct ictx *ctx);

/* setup -> run (stopped after the planned seconds by a monitor thread, or
 * earlier by ictx_request_stop() or a budget refusal) -> oracle ->
 * teardown -> leaked bytes check (symptom "leaked_bytes" when live bytes
 * grew).  Returns 0 when setup and run succeeded, else their -errno (the
 * message is in ictx_status()->error); a budget refusal returns -ENOMEM. */
int ictx_run_inprocess(struct ictx *ctx);

/* The monitor thread samples into this ring when set (before the run). */
void ictx_attach_telemetry(struct ictx *ctx, struct telemetry *t);

/* Validate one "name=value" against inc's params (no context needed):
 * 0, or -EINVAL with a one-line message in err. */
/* The incident's cross-parameter rules (incident.h) on the values a run
 * of this size with these overrides would use: 0, or -EINVAL with one
 * line in err naming the parameters, their values and the fix. */
int ictx_check_rules(const struct incident *inc, enum ictx_size size,
		     const char *const *sets, size_t nsets, char *err,
		     size_t errlen);
int ictx_check_set(const struct incident *inc, const char *kv, char *err,
		   size_t errlen);
const struct incident_param *ictx_find_param(const struct incident *inc,
					     const char *name);

/* Read back.  Index-based getters return false past the end. */
const struct incident *ictx_incident(const struct ictx *ctx);
const struct ictx_status *ictx_status(const struct ictx *ctx);
double ictx_elapsed_s(const struct ictx *ctx); /* since run() started */
size_t ictx_param_count(const struct ictx *ctx);
bool ictx_param_at(const struct ictx *ctx, size_t i, const char **name,
		   double *value);

size_t ictx_metric_count(const struct ictx *ctx);
bool ictx_metric_at(const struct ictx *ctx, size_t i, const char **name,
		    enum ictx_kind *kind, int64_t *value);
/* Value of a named metric, or dflt when not registered. */
int64_t ictx_metric_value(const struct ictx *ctx, const char *name,
			  int64_t dflt);

/* Log-bucketed histogram: values 0..7 exact, then 8 sub-buckets per power
 * of two (relative error <= 12.5%).  Buckets of several histograms (or of
 * one histogram over time) merge by adding counts. */
#define ICTX_HIST_BUCKETS 496
struct ictx_hist_snap {
	uint64_t count, sum, max;
	uint64_t b[ICTX_HIST_BUCKETS];
};
size_t ictx_hist_count(const struct ictx *ctx);
const char *ictx_hist_name(const struct ictx *ctx, size_t i);
/* Merge histogram i's stripes into *s (overwritten).  false past the end. */
bool ictx_hist_snapshot(const struct ictx *ctx, size_t i,
			struct ictx_hist_snap *s);
/* s -= prev (the interval between two snapshots); max stays s's. */
void ictx_hist_sub(struct ictx_hist_snap *s, const struct ictx_hist_snap *prev);
void ictx_hist_merge(struct ictx_hist_snap *into,
		     const struct ictx_hist_snap *s);
/* q in [0,1]; the upper bound of the bucket holding the q-th value, capped
 * at max; 0 for an empty histogram. */
uint64_t ictx_hist_percentile(const struct ictx_hist_snap *s, double q);
unsigned ictx_hist_bucket_of(uint64_t v);
uint64_t ictx_hist_bucket_lo(unsigned b);
uint64_t ictx_hist_bucket_hi(unsigned b);

size_t ictx_symptom_count(const struct ictx *ctx);
bool ictx_symptom_at(const struct ictx *ctx, size_t i, const char **name,
		     double *value);
double ictx_symptom_value(const struct ictx *ctx, const char *name,
			  double dflt);

/* Lines kept, in order: the first ICTX_LOG_HEAD, then the latest ones
 * (the dropped lines lie between index ICTX_LOG_HEAD - 1 and
 * ICTX_LOG_HEAD).  Read them once the run has ended: the tail is a ring
 * its writer overwrites.  Each line is one line of valid UTF-8. */
size_t ictx_log_count(const struct ictx *ctx);
const char *ictx_log_at(const struct ictx *ctx, size_t i);
uint64_t ictx_log_dropped(const struct ictx *ctx);

/* For a controller that runs the incident outside this process and
 * relays what it reports (harness/runner/gochild.c, the Go twins): the
 * status to fill in, and a whole histogram added at once.  Called by that
 * one controlling thread, never while a C child runs on the context. */
struct ictx_status *ictx_status_rw(struct ictx *ctx);
void ictx_hist_add_snap(struct ictx_hist *h, const struct ictx_hist_snap *s);

#endif

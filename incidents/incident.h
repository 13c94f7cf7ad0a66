/*
 * incidents/incident.h - what an incident is, and the small context through
 * which it sees the harness.
 *
 * An incident is one folder under incidents/ exporting one
 * `const struct incident incident_<name>` and listed in
 * incidents/incidents.def.  The harness runs it inside an isolated child
 * process: setup -> run (until ictx_stopping()) -> oracle -> teardown.
 * After teardown the harness reads the counting allocator: any live byte
 * left is reported as the symptom "leaked_bytes".
 *
 * The context (struct ictx) is filled in by the harness and opaque here.
 * Incidents never include a harness header.  All functions below are safe
 * to call from any thread; metric and histogram handles are registered
 * during setup (at most ICTX_MAX_METRICS / ICTX_MAX_HISTS) and updated with
 * relaxed atomics from then on.
 *
 * Well-known names the harness, the report and the expectations use:
 *   metrics:    "inflight" (gauge: requests accepted, not finished - the
 *               seed's goroutine count), "ops" (counter: requests done),
 *               "entries" (gauge: entries the incident believes are cached)
 *   histograms: "latency" (request latency, ns)
 *   symptoms:   "lost_inserts", "lost_deletes", "lost_updates",
 *               "leaked_bytes", "invariant_violations", "torn_reads",
 *               "double_settles", "counter_mismatch", "bad_config_applied"
 *               (a symptom with value > 0 means the incident reproduced)
 */
#ifndef MAPLAB_INCIDENT_H
#define MAPLAB_INCIDENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ictx;
struct ictx_metric;
struct ictx_hist;

#define ICTX_MAX_METRICS 32
#define ICTX_MAX_HISTS 8

/* A tunable, set with `--set name=value`.  Values are doubles; integer
 * parameters say so and are checked for a whole value. */
struct incident_param {
	const char *name;
	const char *unit;  /* "ms", "keys", "threads", "" ... */
	const char *help;  /* one line */
	double quick;      /* default in the quick size (run <= 5 s) */
	double full;       /* default in the full size (run >= 60 s) */
	double min, max;   /* accepted range, inclusive */
	bool integer;
};

/* A cross-parameter rule, declared beside the parameter table and checked
 * in the parent (with the size's defaults and the --set overrides) before
 * anything is written: a (+ plus) <= b, or <= bound when b is NULL. */
struct incident_rule {
	const char *a;     /* a parameter name */
	const char *plus;  /* another one added to a, or NULL */
	const char *b;     /* the parameter a must not exceed, or NULL */
	double bound;      /* the limit when b is NULL */
	const char *fix;   /* how to fix a violation, one phrase */
};

/*
 * What the report says about an incident, carried by its descriptor so
 * that the report spells out no incident's facts in its own code.
 */

/* Where the lab's stand-in for a seed figure comes from in a run. */
enum incident_fig_src {
	INCIDENT_FIG_FIELD,    /* a numeric field: `what` is its dotted path
				* ("summary.peak_live_bytes") */
	INCIDENT_FIG_TTO,      /* time to the failing outcome; `what` NULL */
	INCIDENT_FIG_COL_MAX,  /* largest value of the first data column of
				* `what` (candidates, space-separated) */
	INCIDENT_FIG_COL_MEAN, /* mean of that column */
	INCIDENT_FIG_COL_RATE, /* mean per-second rate of that cumulative one */
};

enum incident_fig_unit {
	INCIDENT_UNIT_MIB, INCIDENT_UNIT_MS, INCIDENT_UNIT_NUM,
	INCIDENT_UNIT_RATE, INCIDENT_UNIT_S, INCIDENT_UNIT_PCT,
};

/* One row of the report's seed table: the article's figure, as it prints
 * it, beside the lab's measurement (the largest over a variant's runs). */
struct incident_figure {
	const char *figure;           /* "seed's figure → the lab's stand-in" */
	const char *normal, *failing; /* as the seed prints them; "–" none */
	enum incident_fig_src src;
	const char *what;             /* see enum incident_fig_src */
	enum incident_fig_unit unit;
};

struct incident_seed {
	const char *normal_header;  /* "seed: normal"; NULL: that default */
	const char *failing_header; /* "seed: leaking"; NULL: "seed: incident" */
	const struct incident_figure *figures; /* ends with {.figure = NULL} */
	const char *note;           /* appended to the table's note, or NULL */
};

/* An incident's own time-series chart, drawn from the runs' data columns
 * (m_<metric>, h_<hist>_p50_ms ...; harness/report draws it). */
struct incident_chart {
	const char *id;                /* "sweep": the chart's file suffix */
	const char *title, *ylabel, *caption;
	const char *cols;              /* solid line: candidate columns, the
					* first present wins */
	const char *col2;              /* dashed line, or NULL */
	const char *label1, *label2;   /* legend words for the two lines */
	const char *variant;           /* only this variant's runs, or NULL */
	bool panels;                   /* small multiples: one panel per
					* variant on a shared y axis (for
					* lines that would tangle) */
};

/* A key figure of a run: the number a workshop exercise asks about, in
 * the run/matrix table (harness/cli/keyfig.c reads it from the record). */
enum incident_kf_from {
	INCIDENT_KF_PATH,       /* a number at a dotted path of the record */
	INCIDENT_KF_SERIES_MAX, /* the largest value of a series column */
};

struct incident_keyfig {
	const char *label;  /* "sweep max" */
	const char *where;  /* the path or the column */
	const char *unit;   /* "ms", "%", "" */
	enum incident_kf_from from;
	double scale;       /* printed value = value x scale */
	bool nonzero;       /* only shown when > 0 */
};

/* The slot in incident.story that the report fills with the run's
 * outcomes ("mutex held (...); unsafe broke: ..."). */
#define INCIDENT_STORY_RUNS "{runs}"

struct incident {
	const char *name;    /* "payment" */
	const char *title;   /* "Payment gateway order cache" */
	const char *summary; /* one line for `maplab list` */
	/* The service, then what the article blames, with the slot
	 * INCIDENT_STORY_RUNS where the report puts this run's outcomes;
	 * NULL: the summary stands in.  No result is stated here. */
	const char *story;
	const struct incident_seed *seed;    /* the seed table, or NULL */
	const struct incident_chart *charts; /* ends with {.id = NULL}; or NULL */
	const struct incident_keyfig *key_figures; /* ends with {.label =
						    * NULL}; or NULL */
	double quick_seconds, full_seconds; /* default run length per size */
	const struct incident_param *params; /* ends with {.name = NULL} */
	const struct incident_rule *rules;   /* ends with {.a = NULL}; or NULL */
	/* The Go twin that runs this incident under the go-* variants: the
	 * folder incidents/<go_twin>/go (built as build/go/<go_twin>); NULL:
	 * none, the go-* variants do not apply. */
	const char *go_twin;
	/* The load parameter `maplab envelope` searches when no --param is
	 * given: one of params, named as there ("rate"); NULL: none, the
	 * envelope needs --param. */
	const char *envelope_param;

	/* Allocate state, open the map, register metrics.  0 or -errno. */
	int (*setup)(struct ictx *ctx, void **state);
	/* Start the workers, return once ictx_stopping() and all joined. */
	int (*run)(void *state, struct ictx *ctx);
	/* Check the end state, report symptoms with ictx_symptom(). */
	void (*oracle)(void *state, struct ictx *ctx);
	/* Free everything; after it no live byte should remain. */
	void (*teardown)(void *state, struct ictx *ctx);
};

/* The run's identity and parameters. */
const char *ictx_variant(const struct ictx *ctx); /* map variant name */
unsigned ictx_map_flags(const struct ictx *ctx);  /* MAP_F_* to pass on */
unsigned ictx_threads(const struct ictx *ctx);    /* worker threads */
uint64_t ictx_seed(const struct ictx *ctx);
double ictx_seconds(const struct ictx *ctx);      /* planned length */
/* Value of a declared parameter; aborts on an undeclared name (a bug). */
double ictx_param(const struct ictx *ctx, const char *name);
/* A private scratch folder for this run (exists, removed afterwards). */
const char *ictx_workdir(const struct ictx *ctx);

/* True once the run's time is up (or the harness wants it to end). */
bool ictx_stopping(const struct ictx *ctx);
uint64_t ictx_now_ns(void); /* CLOCK_MONOTONIC */

enum ictx_kind { ICTX_COUNTER, ICTX_GAUGE };
/* Register during setup.  Never NULL: a full table (more than
 * ICTX_MAX_METRICS / ICTX_MAX_HISTS names) or no name aborts (a bug). */
struct ictx_metric *ictx_metric(struct ictx *ctx, const char *name,
				enum ictx_kind kind);
void ictx_add(struct ictx_metric *m, int64_t delta);
void ictx_set(struct ictx_metric *m, int64_t value);

struct ictx_hist *ictx_hist(struct ictx *ctx, const char *name);
void ictx_hist_record(struct ictx_hist *h, uint64_t ns);

/* Oracle findings and notes; they ride along in the run's record. */
void ictx_symptom(struct ictx *ctx, const char *name, double value);
void ictx_log(struct ictx *ctx, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#endif

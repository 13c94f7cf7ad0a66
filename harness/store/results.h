/*
 * harness/store/results.h - the results folder (see results/README.md and
 * results/schema.json): writing it atomically while runs happen, and
 * loading it back (report, ci, diagnose and bench reuse these).
 *
 * Every file is written whole to "<name>.tmp.<pid>", fsync'ed, renamed over
 * its name and the folder fsync'ed: a reader (or a parent killed mid-way)
 * sees the old file or the new one, never a truncated one.  A folder is
 * marked incomplete by the file INCOMPLETE from its creation until
 * results_close(.., true).
 *
 * Not thread-safe: the CLI runs one run at a time from one thread.
 */
#ifndef MAPLAB_HARNESS_RESULTS_H
#define MAPLAB_HARNESS_RESULTS_H

#include <jansson.h>
#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

#include "harness/runner/runner.h"

#define RESULTS_SCHEMA_VERSION 1
#define RESULTS_ROOT "results"

/* ---- writing ------------------------------------------------------- */

/* 0 or -errno. */
int results_write_file(const char *path, const void *data, size_t len);
/* Dumps j (indented) atomically; does not steal j.  0 or -errno. */
int results_write_json(const char *path, const json_t *j);
/* NaN/inf -> null, else a real. */
json_t *results_num(double v);
/* "2026-11-27T08:15:00.123Z" for seconds since the epoch. */
void results_iso_time(double t, char *buf, size_t len);

/* Is `out` usable as a fresh results folder (absent with a writable
 * parent, or an empty writable folder)?  0, or -errno with a one-line
 * message naming the fix.  Writes nothing. */
int results_check_out(const char *out, char *err, size_t errlen);

/* A manifest with everything that does not depend on the runs: schema
 * version, run id, kind, command and argv, git, build, machine, started,
 * complete=false.  Callers add caps, preset, seeds, params. */
json_t *results_manifest_base(const char *run_id, const char *kind, int argc,
			      char **argv);

struct results_dir {
	char path[PATH_MAX];  /* the run folder */
	char run_id[128];
	json_t *manifest;     /* owned; written by open/close/flush */
	json_t *summary_runs; /* owned; array of summary entries */
	bool under_root;      /* results/latest points here at close */
	int claim_fd;         /* INCOMPLETE, flock'd until close; -1 none */
};

/* Make the folder (out, or results/<date>-<time>-<label>), claim it
 * (INCOMPLETE, O_EXCL, flock'd until close), its runs/ and data/, and a
 * first manifest.  0 or -errno (message): -EBUSY when another writer
 * holds the folder, -EEXIST when it is not empty, -EACCES/-ENOENT when it
 * cannot be made. */
int results_open(struct results_dir *d, const char *out, const char *label,
		 const char *kind, int argc, char **argv, char *err,
		 size_t errlen);
/* Write one run's JSON and .dat, add it to the summary, rewrite
 * summary.json/csv and the manifest.  0 or -errno. */
int results_add_run(struct results_dir *d, const struct run_spec *spec,
		    const struct run_result *res);
/* Final manifest (finished, complete); removes INCOMPLETE when complete;
 * points results/latest here.  Frees d's JSON.  0 or -errno. */
int results_close(struct results_dir *d, bool complete);

/* The run record (results/schema.json "run") for one result. */
json_t *results_run_json(const struct run_spec *spec,
			 const struct run_result *res);
/* "runs/<incident>.<variant>.r<rep>.json" style base name, no suffix. */
void results_run_name(const struct run_spec *spec, char *buf, size_t len);

/* ---- loading back --------------------------------------------------- */


/* The pid of the process still writing dir (its flock on INCOMPLETE is
 * held; -1 when the pid is unreadable), or 0 when nobody is. */
int results_writer(const char *dir);

/* Resolve a results folder argument: NULL or "latest" -> the target of
 * results/latest; a run id -> results/<id>; else the path itself.
 * 0 or -ENOENT (message). */
int results_resolve(const char *arg, char *out, size_t len, char *err,
		    size_t errlen);
/* Parse dir/rel ("manifest.json", "summary.json", ...).  NULL on error
 * (message in err when given). */
json_t *results_load(const char *dir, const char *rel, char *err,
		     size_t errlen);
/* Every runs/ *.json of dir, as an array sorted by file name. */
json_t *results_load_runs(const char *dir, char *err, size_t errlen);
/* Parse dir/rel into *out, which must be a JSON object.  A missing file is
 * 0 with *out NULL unless required (-ENOENT); corrupt JSON or another type
 * is -EINVAL.  The message names the file and the fix. */
int results_load_object(const char *dir, const char *rel, bool required,
			json_t **out, char *err, size_t errlen);
/* The record runs/<base>.json (results_load_object, not required). */
int results_load_record(const char *dir, const char *base, json_t **out,
			char *err, size_t errlen);
/* The base names (no ".json") of dir/runs/ *.json, sorted, hidden files
 * left out; free with results_names_free().  0 or -errno (-ENOENT: no
 * runs/ folder). */
int results_run_names(const char *dir, char ***names, size_t *n);
void results_names_free(char **names, size_t n);
/* true when dir has an INCOMPLETE marker. */
bool results_incomplete(const char *dir);

/*
 * The typed view of a run record (results/schema.json "run") or of its
 * summary.json entry: the one reader of that format.  Every consumer in
 * report and cli reads a record through it; strings and the symptoms
 * object are borrowed from the JSON, which must outlive the view.  A field
 * the record does not carry (absent, null or of another type) is NULL for a
 * string and NaN for a number.
 */
struct results_run_view {
	const char *incident, *variant, *outcome;
	long long rep;             /* -1 when absent or not an integer */
	const char *signal;        /* signal.name */
	const char *detector;
	const char *oom_cap;       /* oom.cap: which cap fired */
	const char *oom_tag;       /* oom.tag */
	double oom_at_s;           /* oom.at_s */
	const char *error;         /* the harness's own error, if any */
	const char *stderr_tail;
	double duration_s;
	double seconds;            /* the workload's configured length */
	double ops, ops_per_s;     /* summary.ops, summary.throughput_ops_s */
	double p50_ns, p99_ns, max_ns; /* summary.latency_ns.* */
	double peak_rss_bytes, peak_live_bytes, inflight_peak;
	double time_to_outcome_s;  /* summary.time_to_outcome_s */
	double source_index;       /* source.index (merged folders) */
	json_t *symptoms;          /* {name: number} object, or NULL */
	double symptoms_positive;  /* how many symptoms are > 0 */
};
/* Fill v from a run (or summary entry) object, every field it carries;
 * false when incident, variant or outcome is missing. */
bool results_view(const json_t *run, struct results_run_view *v);
/* A manifest's "caps" object: the effective caps every run of the folder
 * had (runner_caps), with the rule that orders them.  rlimit_as 0 = none
 * (sanitizer builds).  NULL on allocation failure. */
json_t *results_caps_json(uint64_t mem_cap, uint64_t budget,
			  uint64_t rlimit_as, double timeout_s);
/* Each field v lacks (NULL, NaN, rep -1), taken from `from`: a record's
 * view completed by its summary entry's. */
void results_view_complete(struct results_run_view *v,
			   const struct results_run_view *from);
/* A numeric field by its dotted path in the record ("summary.ops",
 * "oom.at_s", ...: the ones the view carries); NaN for any other path. */
double results_view_field(const struct results_run_view *v, const char *path);
/* "<incident>.<variant>.r<rep>", the base name of its runs/ and data/
 * files ("?" for a missing name). */
void results_view_name(const struct results_run_view *v, char *buf,
		       size_t len);

#endif

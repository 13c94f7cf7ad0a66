/*
 * harness/report/report_impl.h - what the report's files share (not a public
 * interface; only harness/report*.c include it).
 *
 * The renderer reads a results folder (the contract in results/README.md:
 * manifest.json, summary.json, runs/<run>.json, data/<run>.dat, optionally
 * bench.json and data/bench.*.dat) into one struct report, draws the charts
 * with gnuplot into a private temporary folder inside the results folder,
 * writes report.html and report.md there, and only then moves everything
 * into place.  Nothing here is shared between threads: the renderer is
 * single-threaded, and gnuplot runs as a child process it waits for.
 *
 * Ownership: struct report owns every json_t it holds (one reference each)
 * and every malloc'd string and array; rp_free() releases them all.  Strings
 * taken from JSON (incident, variant, ...) are borrowed from those trees.
 */
#ifndef MAPLAB_REPORT_IMPL_H
#define MAPLAB_REPORT_IMPL_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "harness/store/results.h"
#include "harness/verdict/verdict.h"

/* A flat data file: the header's column names and the rows, row-major. */
struct rp_series {
	char **cols;   /* ncols names, malloc'd */
	size_t ncols;
	double *v;     /* nrows * ncols values (NaN where missing) */
	size_t nrows;
};

struct rp_run {
	const char *incident; /* v.incident, v.variant, v.rep: its identity */
	const char *variant;
	long long rep;
	json_t *sum;          /* its summary.json entry, or NULL */
	json_t *rec;          /* runs/<base>.json, or NULL when absent */
	struct results_run_view v; /* the record read through the store,
				    * completed by the summary entry; borrows
				    * from rec and sum */
	char base[200];       /* "<incident>.<variant>.r<rep>" */
	bool have_dat;        /* data/<base>.dat read into ser */
	struct rp_series ser;
};

/* One chart, drawn or skipped. */
struct rp_chart {
	char id[96];          /* anchor id and file stem: plots/<id>.svg|png */
	char title[200];
	char caption[600];    /* what to look at, one or two sentences */
	bool drawn;           /* false: skipped, why says so */
	char why[240];
};

#define RP_MAX_CHARTS 12

struct rp_incident {
	const char *name;
	size_t *runs;         /* indexes into report.runs, in report order */
	size_t nruns;
	struct rp_chart charts[RP_MAX_CHARTS];
	size_t ncharts;
	struct verdict_ref ref; /* the stall reference of its runs' records */
};

struct rp_bench_chart {
	char file[160];       /* "data/bench.<mix>.<keys>.dat" */
	struct rp_chart chart;
};

struct report {
	char *dir;            /* the results folder as given (resolved) */
	char *plotdir;        /* absolute path of the gnuplot scripts */
	char tmpname[64];     /* ".report.tmp.XXXXXX" inside dir, or "" */
	json_t *manifest;
	json_t *summary;      /* NULL when the folder has none (incomplete) */
	json_t *expect;       /* {"cells": ...} expectations, or NULL */
	char *expect_path;    /* where they came from */
	json_t *bench;        /* bench.json, or NULL */
	json_t *tsan;         /* tsan.json (the ThreadSanitizer lane), or NULL */
	struct rp_run *runs;
	size_t nruns;
	struct rp_incident *incs;
	size_t nincs;
	struct rp_bench_chart *bcharts;
	size_t nbcharts;
	bool incomplete;      /* INCOMPLETE file, or manifest.complete false */
	int writer_pid;       /* a maplab still writing the folder, -1 unknown
			       * pid, 0 none (results_writer()) */
	char **notes;         /* what the loader distrusted, one line each */
	size_t nnotes;
	char hash[16];        /* short content hash, hex */
	char hash_what[160];  /* which files it covers */
};

/* snprintf where cutting a long display string or path short is the
 * intended behaviour (the caller checks paths by opening them). */
void RP_CUT(char *buf, size_t n, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* report_load.c */
/* Add a note (one line) about the folder, shown on the page and the
 * terminal; out of memory drops it. */
void rp_note(struct report *rp, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
int rp_load(struct report *rp, const char *dir, const char *expect_path,
	    char *err, size_t errlen);
void rp_free(struct report *rp);
int rp_read_series(const char *path, struct rp_series *s, char *err,
		   size_t errlen);
void rp_series_free(struct rp_series *s);
long rp_series_col(const struct rp_series *s, const char *name); /* -1 */
/* First present column of a candidate list "a b*100 c*0.1" (name, optional
 * scale factor): its index (-1: none), name and scale. */
long rp_series_pick(const struct rp_series *s, const char *cands,
		    char *name, size_t n, double *scale);
double rp_series_last(const struct rp_series *s, long col); /* NaN */
double rp_series_max(const struct rp_series *s, long col);  /* NaN */
double rp_series_mean(const struct rp_series *s, long col); /* NaN */
char *rp_read_file(const char *path, size_t *len); /* malloc'd, NUL-ended */

/* JSON access for the manifest, bench, tsan and Go claims (a run record
 * is read through rp_run.v): "a.b.c" paths; missing or wrong type -> NULL
 * / NaN. */
json_t *rp_j(json_t *root, const char *path);
double rp_jnum(json_t *root, const char *path);
const char *rp_jstr(json_t *root, const char *path);

/* report_plot.c */
const char *rp_color(const char *name); /* "#rrggbb", the one palette */
int rp_plot(struct report *rp, char *err, size_t errlen);

/* report_text.c: words and numbers a reader sees */
const char *rp_outcome(const struct rp_run *r); /* "ok", "oom", ... */
bool rp_run_failed(const struct rp_run *r);  /* crash/oom/hang */
bool rp_run_symptomatic(const struct rp_run *r); /* failed or symptom > 0 */
double rp_time_to_outcome(const struct rp_run *r); /* NaN when ok */
void rp_fmt_outcome(const struct rp_run *r, char *buf, size_t n);
void rp_fmt_symptoms(const struct rp_run *r, char *buf, size_t n);
void rp_fmt_mib(double bytes, char *buf, size_t n);
void rp_fmt_ms(double ns, char *buf, size_t n);
void rp_fmt_rate(double per_s, char *buf, size_t n);
void rp_fmt_num(double v, char *buf, size_t n);
/* Expectation mark for a run (harness/verdict/expect.h rules): 1 as expected,
 * 0 not, -1 no expectation; cls receives the expected class, why the
 * reason (e.g. "crash SIGSEGV", "lost_deletes=412"). */
int rp_expect_mark(const struct report *rp, const struct rp_run *r,
		   const char **cls, char *why, size_t n);
/* Run-label used on chart axes and in tables: "mutex" or "mutex r2". */
void rp_run_label(const struct report *rp, const struct rp_incident *inc,
		  const struct rp_run *r, char *buf, size_t n);
/* The design verdict of a run, its stall reference taken from the same
 * incident's runs in this folder. */
void rp_verdict(const struct report *rp, const struct rp_run *r,
		struct verdict *v);
void rp_story(const struct report *rp, const struct rp_incident *inc,
	      char *buf, size_t n);
/* The seed-vs-lab table: rows of cells; the first row is the header. */
struct rp_table {
	size_t nrows, ncols;
	char *cell[24][12];  /* malloc'd strings */
	char note[1200];
};
int rp_seed_table(const struct report *rp, const struct rp_incident *inc,
		  struct rp_table *t);
void rp_table_free(struct rp_table *t);

/* report_bench.c: bench.json as tables, one per key count.  Each returns
 * 0, -ENOENT when the run has nothing at that key count, -ENOMEM; on
 * error the table is empty. */
/* Median Mop/s: "mix", "threads", then one column per impls[] entry. */
int rp_bench_table(json_t *bench, double keys, struct rp_table *t);
/* callgrind per-op counts: "map", Ir of get/get_with/put, LL misses. */
int rp_bench_cg_table(json_t *bench, double keys, struct rp_table *t);
/* What the medians are, the load and the CPU share (one paragraph). */
void rp_bench_note(json_t *bench, char *buf, size_t n);

/* report_html.c */
/* s as HTML text or attribute value (<, >, &, " escaped); NULL prints
 * nothing.  Every page of the report escapes through it. */
void rp_esc(FILE *f, const char *s);
/* A Markdown table row "| a | b |", each cell's pipes, '<' and newlines
 * escaped. */
void rp_md_row(FILE *f, char *const *cells, size_t n);
int rp_write_html(const struct report *rp, FILE *f, char *err, size_t errlen);
int rp_write_md(const struct report *rp, FILE *f);
void rp_print_terminal(const struct report *rp, FILE *f);

#endif

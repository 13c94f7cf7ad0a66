/*
 * harness/lanes/tsan.c - `maplab tsan`: the ThreadSanitizer lane.
 *
 * Runs every incident x variant briefly in the TSan build (build/tsan,
 * made by `./run.sh tsan`) and sets two verdicts side by side:
 *   - TSan's: how many reports the child wrote (data races, use-after-free
 *     seen by TSan), from TSan's own log files, one per child pid;
 *   - memory's: the run's outcome and symptoms judged by the expectation
 *     matrix (expect.h), exactly as `maplab ci` judges them.
 * Expected and checked: `unsafe` draws TSan reports; the safe variants draw
 * none (liburcu's documented suppressions in tests/tsan.supp only); and
 * the race-free memory failure - every safe cell the matrix expects to
 * reproduce (`metrics` under the blocking variants: the stall or the oom)
 * - still shows in this run while TSan stays silent (the seed's point in
 * 2.3: a race detector cannot find an OOM that has no race); a safe cell
 * whose symptom vanished fails, it does not pass on TSan's silence.
 * Ratio rules are bound to this lane's own runs (expect_bind); the
 * reference variants --variant had to add for them are recorded in the
 * manifest's `ci_references` and not judged, as in `maplab ci`.  Writes
 * tsan.json and the TSan logs into the results folder; exits 1 when a
 * check fails.
 *
 * How: TSan reads TSAN_OPTIONS once, at process start, and forked children
 * inherit it, so the lane re-executes itself once with log_path pointing
 * into a scratch folder (MAPLAB_TSAN_LOGS marks the second pass) and
 * exitcode=0 (the outcome must stay the memory's, not TSan's); TSan's
 * own SEGV/SIGBUS handlers are turned off, so that a child the races
 * crash dies of its signal (a `crash`, as in the plain lane) instead of
 * TSan's "DEADLYSIGNAL" exit.  Caps: the
 * allocator budget stays at the normal 192 MiB, but the RSS cap is raised,
 * because TSan's shadow memory counts in RSS.
 *
 * Single-threaded, like the runner it drives.
 *
 * The suppressions are in the binary too: a TSan build compiles the
 * entries of tests/tsan.supp into __tsan_default_suppressions() below, so
 * that maplab run by hand - `bench`, `matrix` - with no TSAN_OPTIONS
 * skips liburcu's internals as this lane does (and nothing else).
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "harness/cli/cli.h"
#include "harness/cli/opts.h"
#include "harness/verdict/expect.h"
#include "harness/report/report.h"
#include "harness/store/results.h"
#include "harness/lanes/ci.h"
#include "harness/lanes/lane_args.h"
#include "harness/lanes/tsan.h"
#include "maps/util.h" /* ML_TSAN */

#ifndef MAPLAB_SAN
#define MAPLAB_SAN ""
#endif

#define TSAN_ENV "MAPLAB_TSAN_LOGS"

#ifdef ML_TSAN
#ifndef MAPLAB_TSAN_SUPP
#error "MAPLAB_TSAN_SUPP: the Makefile passes tests/tsan.supp's entries"
#endif
/* TSan's hook for built-in suppressions: its runtime reads them at start-up
 * along with any file TSAN_OPTIONS names (the lanes still name
 * tests/tsan.supp; an entry given twice is harmless).  The entries are
 * tests/tsan.supp's, each justified there. */
const char *__tsan_default_suppressions(void);
const char *__tsan_default_suppressions(void)
{
	return MAPLAB_TSAN_SUPP;
}
#endif

/* The lane's caps.  TSan's shadow memory counts in RSS (several times the
 * program's own memory), so the RSS cap is raised from the normal 256 MiB
 * to 1.5 GiB; the allocator budget stays at the normal 192 MiB (3/4 of
 * 256 MiB), so a run that leaks still ends as `oom` at the same live
 * bytes as in the plain lane.  The timeout allows for TSan's 5-15x
 * slowdown of an 8 s run plus setup and teardown. */
#define TSAN_MEM_CAP (1536ull << 20)
#define TSAN_BUDGET (192ull << 20)
#define TSAN_TIMEOUT_S 60.0

static void usage(FILE *f)
{
	fprintf(f,
		"usage: maplab tsan [--incident LIST] [--variant LIST]\n"
		"                   [--seconds S] [--out DIR] [--no-report]\n\n"
		"The ThreadSanitizer lane (needs the TSan build: ./run.sh tsan).\n"
		"Runs every cell briefly (default 8s), then prints the TSan\n"
		"verdict beside the memory verdict and writes tsan.json, the\n"
		"TSan logs and the report into the results folder.  Exit 0 when\n"
		"unsafe draws reports, the safe variants none, and the\n"
		"expectation matrix holds; 1 otherwise; 2 on bad input.\n");
}

/* Count TSan reports in a log; first SUMMARY line into sum. */
static unsigned count_reports(const char *path, char *sum, size_t len)
{
	FILE *f = fopen(path, "r");
	char line[400];
	unsigned n = 0;

	sum[0] = '\0';
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		if (strstr(line, "WARNING: ThreadSanitizer:"))
			n++;
		if (!sum[0] && !strncmp(line, "SUMMARY: ThreadSanitizer: ", 26)) {
			line[strcspn(line, "\n")] = '\0';
			snprintf(sum, len, "%.*s", (int)(len - 1), line + 26);
		}
	}
	fclose(f);
	return n;
}

static int copy_file(const char *from, const char *to)
{
	FILE *in = fopen(from, "r");
	char *buf = NULL;
	size_t len = 0, n;
	char chunk[65536];
	FILE *mem;
	int rc;

	if (!in)
		return -errno;
	mem = open_memstream(&buf, &len);
	while ((n = fread(chunk, 1, sizeof(chunk), in)) > 0)
		fwrite(chunk, 1, n, mem);
	fclose(in);
	fclose(mem);
	rc = results_write_file(to, buf, len);
	free(buf);
	return rc;
}

/* Remove the scratch log folder (its logs were copied out). */
static void remove_logs(const char *logs)
{
	DIR *d = opendir(logs);
	struct dirent *e;
	char path[PATH_MAX];

	if (!d)
		return;
	while ((e = readdir(d)))
		if (!strncmp(e->d_name, "tsan.", 5)) {
			snprintf(path, sizeof(path), "%s/%s", logs, e->d_name);
			unlink(path);
		}
	closedir(d);
	rmdir(logs);
}

bool tsan_check_cell(bool unsafe, bool reproduces, unsigned reports,
		     int shown, char *check, size_t len)
{
	bool pass;

	if (unsafe) {
		/* A run that crashed before any two threads overlapped
		 * under TSan's slowdown proves nothing either way. */
		pass = reports > 0 || shown > 0;
		snprintf(check, len, "%s",
			 reports ? "races found, as expected"
			 : pass  ? "no report, but the symptom showed"
				 : "expected TSan to report races");
		return pass;
	}
	pass = reports == 0 && (reproduces ? shown > 0 : shown >= 0);
	snprintf(check, len, "%s",
		 reports ? "TSan reported a race in a safe variant"
		 : shown > 0 ? "race-free failure, TSan silent"
		 : shown < 0 ? "run failed"
		 : reproduces ? "expected the race-free failure; it did not show"
			      : "clean");
	return pass;
}

/* The second pass's state: where it writes, what it judges against. */
struct tsan_lane {
	const char *out, *logs;
	json_t *exp;        /* the expectations, bound to this lane's runs */
	const json_t *refs; /* the manifest's ci_references: not judged */
	bool color;
};

/* Judge one run: count its TSan reports (copying the log into out/tsan/
 * when there are any), judge its memory verdict, print its row.  Returns
 * the cell's JSON and sets *pass, or NULL for a run that is no cell. */
static json_t *judge_run(const struct tsan_lane *l, const json_t *run,
			 bool *pass)
{
	/* child_pid, which the typed view does not carry, by name */
	json_int_t pid = json_integer_value(json_object_get(run, "child_pid"));
	struct results_run_view rv;
	const char *inc, *var;
	char why[200], tv[64], mv[224], check[160], sum[512];
	char logpath[PATH_MAX], path[PATH_MAX];
	const char *colour;
	const json_t *rule;
	unsigned reports;
	int shown;

	results_view(run, &rv);
	inc = rv.incident;
	var = rv.variant;
	if (!inc || !var || (l->refs && expect_in_list(l->refs, var)))
		return NULL;
	rule = expect_rule(l->exp, inc, var);
	snprintf(logpath, sizeof(logpath), "%s/tsan.%lld", l->logs,
		 (long long)pid);
	reports = count_reports(logpath, sum, sizeof(sum));
	if (reports) {
		snprintf(path, sizeof(path), "%s/tsan/%s.%s.log", l->out, inc, var);
		copy_file(logpath, path);
	}
	shown = rule ? expect_run_symptom(rule, run, why, sizeof(why)) : -1;
	if (!rule)
		snprintf(why, sizeof(why), "no expectation");
	snprintf(tv, sizeof(tv), reports ? "%u report%s" : "silent", reports,
		 reports == 1 ? "" : "s");
	snprintf(mv, sizeof(mv), "%s%s",
		 shown > 0 ? "symptom: " : shown == 0 ? "held: " : "error: ", why);
	*pass = tsan_check_cell(!strcmp(var, "unsafe"),
				expect_class_of(rule) == EXPECT_REPRODUCES,
				reports, shown, check, sizeof(check));
	colour = !l->color ? "" : *pass ? "\033[32m" : "\033[31m";
	printf("%-9s %-9s %-22s %-34.34s %s%s%s  %s\n", inc, var, tv, mv,
	       colour, *pass ? "PASS" : "FAIL", l->color ? "\033[0m" : "", check);
	return json_pack("{s:s, s:s, s:i, s:s, s:s, s:s, s:b, s:s}", "incident",
			 inc, "variant", var, "tsan_reports", (int)reports,
			 "tsan_summary", sum, "memory_verdict", mv, "outcome",
			 rv.outcome ? rv.outcome : "?", "pass", *pass, "check",
			 check);
}

/* Run the cells in this (TSan) process at the lane's caps; the variants
 * the rules' ratios need are added and marked as references (ci's
 * `ci_references`, so that neither lane judges them).  matrix_run's
 * return; 2 on bad input. */
static int run_cells(const struct lane_args *a, double sec, const json_t *exp)
{
	char varbuf[1024], added[256] = "";
	struct matrix_opts mo;
	int rc;

	matrix_opts_init(&mo, "matrix");
	mo.preset = "quick";
	mo.report = 0; /* this lane renders it (or not) itself */
	mo.out = a->out;
	mo.seconds = sec;
	mo.mem_cap = TSAN_MEM_CAP;
	mo.budget = TSAN_BUDGET;
	mo.timeout = TSAN_TIMEOUT_S;
	mo.incidents = a->incident;
	mo.variants = a->variant;
	if (a->variant) { /* a ratio rule needs its reference in this run */
		ci_with_refs(exp, a->incident, a->variant, varbuf,
			     sizeof(varbuf), added, sizeof(added));
		mo.variants = varbuf;
	}
	printf("maplab tsan: this lane raises the RSS cap to %llu MiB (the "
	       "\"peak\" figures below are RSS): TSan's shadow memory and "
	       "its own allocator count in RSS, 2-5x a plain run.  The "
	       "allocator budget stays at %llu MiB, so an oom here is the "
	       "workload's, as in the plain lane.\n",
	       (unsigned long long)(TSAN_MEM_CAP >> 20),
	       (unsigned long long)(TSAN_BUDGET >> 20));
	rc = matrix_run(&mo);
	if (rc != 2 && added[0] && ci_mark_references("tsan", a->out, added))
		rc = 1;
	return rc;
}

/* Judge every run of the folder; write tsan.json.  Failing cells. */
static int judge_runs(struct tsan_lane *l, const json_t *runs)
{
	json_t *cells = json_array(), *doc, *run, *cell;
	char path[PATH_MAX];
	int failures = 0;
	size_t i;

	snprintf(path, sizeof(path), "%s/tsan", l->out);
	mkdir(path, 0755);
	printf("\n%-9s %-9s %-22s %-34s %s\n", "incident", "variant",
	       "TSan verdict", "memory verdict", "check");
	json_array_foreach(runs, i, run) {
		bool pass;

		if (!(cell = judge_run(l, run, &pass)))
			continue;
		failures += !pass;
		json_array_append_new(cells, cell);
	}
	doc = json_pack("{s:i, s:s, s:i, s:o}", "schema_version",
			RESULTS_SCHEMA_VERSION, "suppressions", "tests/tsan.supp",
			"cells_failed", failures, "cells", cells);
	snprintf(path, sizeof(path), "%s/tsan.json", l->out);
	if (results_write_json(path, doc))
		fprintf(stderr, "maplab tsan: cannot write %s\n", path);
	json_decref(doc);
	return failures;
}

/* The second pass (TSAN_OPTIONS in force): run the matrix, read the
 * logs, judge, render.  The lane's exit status. */
static int lane(const struct lane_args *a, const char *logs, double sec)
{
	struct tsan_lane l = {.out = a->out, .logs = logs, .color = cli_color()};
	char err[512], path[PATH_MAX];
	json_t *runs, *bound, *manifest;
	int rc, failures;

	if (!(l.exp = expect_load(EXPECT_DEFAULT_PATH, err, sizeof(err)))) {
		fprintf(stderr, "maplab tsan: %s\n", err);
		return 2;
	}
	rc = run_cells(a, sec, l.exp);
	runs = rc == 2 ? NULL : results_load_runs(a->out, err, sizeof(err));
	if (!runs) {
		if (rc != 2)
			fprintf(stderr, "maplab tsan: %s\n", err);
		json_decref(l.exp);
		return rc == 2 ? 2 : 1;
	}
	if ((bound = expect_bind(l.exp, runs))) { /* ratios: this lane's runs */
		json_decref(l.exp);
		l.exp = bound;
	}
	snprintf(path, sizeof(path), "%s/manifest.json", a->out);
	manifest = json_load_file(path, 0, NULL);
	l.refs = json_object_get(manifest, "ci_references");
	failures = judge_runs(&l, runs);
	json_decref(manifest);
	json_decref(runs);
	json_decref(l.exp);
	remove_logs(logs);
	printf("\n%d check%s failed; TSan logs in %s/tsan/\n", failures,
	       failures == 1 ? "" : "s", a->out);
	if (a->report) {
		struct report_opts ro = {.quiet = true};

		if (report_render(a->out, &ro, err, sizeof(err)))
			fprintf(stderr, "maplab tsan: the report of %s could not "
					"be rendered: %s\n", a->out, err);
	}
	return failures > 0 || rc != 0;
}

/* The first pass: point TSAN_OPTIONS at a scratch log folder and
 * re-execute with the same options.  Returns only on failure (2). */
static int reexec_with_logs(const struct lane_args *a, const char *seconds)
{
	char tmpl[] = "/tmp/maplab-tsan-XXXXXX";
	char opts_env[2 * PATH_MAX], supp[PATH_MAX];
	char *nargv[16];
	int n = 0;

	if (!realpath("tests/tsan.supp", supp)) {
		fprintf(stderr, "maplab tsan: tests/tsan.supp not found; run "
				"from the maplab folder (./run.sh tsan)\n");
		return 2;
	}
	if (!mkdtemp(tmpl)) {
		fprintf(stderr, "maplab tsan: cannot make a scratch folder in "
				"/tmp: %s\n", strerror(errno));
		return 2;
	}
	snprintf(opts_env, sizeof(opts_env),
		 "log_path=%s/tsan exitcode=0 halt_on_error=0 handle_segv=0 "
		 "handle_sigbus=0 handle_sigfpe=0 handle_sigill=0 "
		 "suppressions=%s %s", tmpl, supp,
		 getenv("TSAN_OPTIONS") ? getenv("TSAN_OPTIONS") : "");
	setenv("TSAN_OPTIONS", opts_env, 1);
	setenv(TSAN_ENV, tmpl, 1);
	nargv[n++] = "maplab";
	nargv[n++] = "tsan";
	nargv[n++] = "--out";
	nargv[n++] = (char *)a->out;
	nargv[n++] = "--seconds";
	nargv[n++] = (char *)seconds;
	if (a->incident) {
		nargv[n++] = "--incident";
		nargv[n++] = (char *)a->incident;
	}
	if (a->variant) {
		nargv[n++] = "--variant";
		nargv[n++] = (char *)a->variant;
	}
	if (!a->report)
		nargv[n++] = "--no-report";
	nargv[n] = NULL;
	fflush(NULL);
	/* A re-exec, not a call: TSan reads TSAN_OPTIONS (log_path,
	 * exitcode) once, at process start (see the file comment). */
	cli_exec_self(nargv);
	fprintf(stderr, "maplab tsan: cannot re-execute itself: %s\n",
		strerror(errno));
	return 2;
}

int tsan_main(int argc, char **argv)
{
	struct lane_args a;
	const char *logs = getenv(TSAN_ENV), *seconds;
	char err[512], outbuf[PATH_MAX];
	double sec;
	int rc;

	if ((rc = lane_args_parse("tsan", "ivosn", argc, argv, &a, usage)))
		return rc == 1 ? 0 : 2;
	seconds = a.seconds ? a.seconds : "8s";
	if (strcmp(MAPLAB_SAN, "thread") != 0) {
		fprintf(stderr, "maplab tsan: this binary is not built with "
				"ThreadSanitizer; run ./run.sh tsan (it builds "
				"build/tsan/maplab)\n");
		return 2;
	}
	if (cli_parse_duration(seconds, &sec) || sec > 60) {
		fprintf(stderr, "maplab tsan: --seconds '%s' is not a duration "
				"up to 60s, e.g. 8s\n", seconds);
		return 2;
	}
	if (logs) /* second pass: TSAN_OPTIONS are in force */
		return lane(&a, logs, sec);
	if (!a.out) {
		cli_default_out(outbuf, sizeof(outbuf), "tsan");
		a.out = outbuf;
	}
	if (results_check_out(a.out, err, sizeof(err))) {
		fprintf(stderr, "maplab tsan: %s\n", err);
		return 2;
	}
	return reexec_with_logs(&a, seconds);
}

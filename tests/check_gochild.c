/*
 * tests/check_gochild.c - This file contains the tests of the Go side of
 * the lab: the Go child (harness/runner/gochild.c), the claims lane's
 * arithmetic (harness/lanes/goclaims.c) and the report of a folder holding
 * both runtimes.
 *   - gochild_classify over a table of endings (pure);
 *   - the Wilson interval against known values; goclaims_end's table;
 *   - a twin that is not built: an `error` result with one line naming
 *     `make go`, never a harness failure;
 *   - with the twins built (<build>/go, `make go`; skipped without them
 *     unless CI is set): a short go-mutex payment run is `ok`, a record
 *     with "runtime": "go", every key results/schema.json requires of a
 *     run and none it does not know, zero symptoms, samples and a latency
 *     histogram; a go-unsafe config run dies of Go's detector and is
 *     classified crash with the `fatal error: concurrent map` line (the
 *     unsafe map dies within milliseconds: two apply workers write it);
 *   - a folder with a C run, a Go run and goclaims.json renders, and the
 *     page has the Go claims sections and both runs in the verdict table;
 *   - the Go cells of harness/verdict/expectations.json: one for every
 *     incident with a twin and every go-* variant it runs, none for a
 *     pair it does not (`maplab ci --runtime go` would call it missing);
 *     run entries shaped after measured runs (`maplab ci --runtime go`,
 *     docs/go.md) pass, and go-mutex with its lock taken out (a measured
 *     mutant run) fails every cell it ran in.
 * No test asserts a speed.
 */
#include <check.h>
#include <errno.h>
#include <ftw.h>
#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness/lanes/goclaims.h"
#include "harness/report/report.h"
#include "harness/runner/gochild.h"
#include "harness/store/results.h"
#include "harness/verdict/expect.h"
#include "incidents/registry.h"
#include "tests/expect_testutil.h"
#include "tests/ck_run.h"

static const struct incident *inc(const char *name)
{
	for (size_t i = 0; i < incident_count; i++)
		if (!strcmp(incident_table[i]->name, name))
			return incident_table[i];
	return NULL;
}

/* <build>/go from <build>/tests/check_gochild; true when payment is built. */
static bool go_built(void)
{
	char self[PATH_MAX], dir[PATH_MAX + 8], bin[PATH_MAX + 32];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

	self[n > 0 ? n : 0] = '\0';
	for (int i = 0; i < 2 && strrchr(self, '/'); i++)
		*strrchr(self, '/') = '\0';
	snprintf(dir, sizeof(dir), "%s/go", self);
	setenv("MAPLAB_GO_BIN", dir, 1);
	snprintf(bin, sizeof(bin), "%s/payment", dir);
	return access(bin, X_OK) == 0;
}

#define NEED_GO()                                                            \
	do {                                                                  \
		if (!go_built()) {                                            \
			ck_assert_msg(!getenv("CI"), "Go twins not built "     \
				      "(make go) and CI is set");             \
			fprintf(stderr, "check_gochild: twins not built "      \
				"(make go): skipped\n");                      \
			return;                                               \
		}                                                             \
	} while (0)

START_TEST(classify_table)
{
	static const struct {
		struct gochild_end e;
		enum run_outcome want;
	} t[] = {
		{{.exited = true, .status = 2, .detector = "fatal error: concurrent map writes"}, RUN_CRASH},
		{{.exited = true, .status = 2, .detector = "fatal error: runtime: out of memory"}, RUN_OOM},
		{{.exited = true, .status = 2, .detector = "fatal error: runtime: cannot allocate memory"}, RUN_OOM},
		{{.exited = true, .status = 2, .detector = "", .panic = "panic: boom"}, RUN_CRASH},
		{{.exited = true, .status = 2, .detector = "", .panic = ""}, RUN_ERROR},
		{{.exited = true, .status = 0, .done = true}, RUN_OK},
		{{.exited = true, .status = 0, .done = false}, RUN_ERROR},
		{{.exited = true, .status = 3, .setup_error = true}, RUN_ERROR},
		{{.exited = false, .signal = 11}, RUN_CRASH},
		{{.exited = false, .signal = 9, .killed = 1}, RUN_OOM},
		{{.exited = false, .signal = 9, .killed = 2}, RUN_HANG},
		{{.exited = false, .signal = 9, .killed = 3}, RUN_INTERRUPTED},
		{{.exited = true, .status = 0, .done = true, .killed = 1}, RUN_OOM},
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		ck_assert_msg(gochild_classify(&t[i].e) == t[i].want,
			      "row %zu: %s, want %s", i,
			      run_outcome_name(gochild_classify(&t[i].e)),
			      run_outcome_name(t[i].want));
}
END_TEST

START_TEST(wilson_and_end)
{
	double lo, hi;

	goclaims_wilson(0, 40, &lo, &hi);
	ck_assert(lo == 0 && fabs(hi - 0.0876) < 0.001);
	goclaims_wilson(6, 6, &lo, &hi);
	ck_assert(fabs(lo - 0.6097) < 0.001 && fabs(hi - 1) < 1e-9);
	goclaims_wilson(5, 10, &lo, &hi);
	ck_assert(fabs(lo - 0.2366) < 0.001 && fabs(hi - 0.7634) < 0.001);
	ck_assert_str_eq(goclaims_end(true, 2, true, false), "died");
	ck_assert_str_eq(goclaims_end(true, 0, false, true), "survived");
	ck_assert_str_eq(goclaims_end(true, 2, false, false), "error");
	ck_assert_str_eq(goclaims_end(false, -1, true, false), "error");
	ck_assert_str_eq(goclaims_end(true, 0, false, false), "error");
}
END_TEST

static json_t *rp_path(json_t *j, const char *a, const char *b, const char *c)
{
	return json_object_get(json_object_get(json_object_get(j, a), b), c);
}

static struct run_spec spec_of(const char *incident, const char *variant,
			       double seconds)
{
	struct run_spec s = {.inc = inc(incident), .variant = variant, .rep = 1,
			     .threads = 4, .seed = 7, .seconds = seconds,
			     .sample_ms = 20};
	return s;
}

START_TEST(not_built)
{
	struct run_spec s = spec_of("payment", "go-mutex", 0.5);
	struct run_result r;

	setenv("MAPLAB_GO_BIN", "/nonexistent/maplab-go", 1);
	ck_assert_int_eq(gochild_run(&s, &r), 0);
	ck_assert_int_eq(r.outcome, RUN_ERROR);
	ck_assert_msg(strstr(r.error, "make go") && !strchr(r.error, '\n'),
		      "%s", r.error);
	runner_result_free(&r);
}
END_TEST

/* The twin is the descriptor's fact: a fixture incident names one and
 * runs the go-* variants; without the field it runs none. */
START_TEST(twin_from_the_descriptor)
{
	struct incident fixture = *inc("retention");
	char bin[PATH_MAX];

	ck_assert_str_eq(fixture.go_twin, "payment");
	setenv("MAPLAB_GO_BIN", "/nonexistent/maplab-go", 1);
	fixture.name = "fixture";
	ck_assert(gochild_supports(&fixture, "go-mutex"));
	ck_assert(!gochild_supports(&fixture, "go-snapshot"));
	ck_assert_int_eq(gochild_binary(&fixture, bin, sizeof(bin)), -ENOEXEC);
	ck_assert_str_eq(bin, "/nonexistent/maplab-go/payment");
	fixture.go_twin = NULL;
	ck_assert(!gochild_supports(&fixture, "go-mutex"));
	ck_assert_int_eq(gochild_binary(&fixture, bin, sizeof(bin)), -ENOENT);
}
END_TEST

/* Every key the schema requires of a run, and none it does not list. */
static void check_schema_keys(json_t *rec)
{
	json_t *schema = json_load_file("results/schema.json", 0, NULL), *v;
	json_t *run = json_object_get(json_object_get(schema, "$defs"), "run");
	json_t *props = json_object_get(run, "properties");
	const char *k;
	size_t i;

	ck_assert_msg(schema != NULL, "run from the repository root");
	json_array_foreach(json_object_get(run, "required"), i, v)
		ck_assert_msg(json_object_get(rec, json_string_value(v)),
			      "record lacks %s", json_string_value(v));
	json_object_foreach(rec, k, v)
		ck_assert_msg(json_object_get(props, k), "unknown key %s", k);
	json_decref(schema);
}

START_TEST(go_run_record)
{
	struct run_spec s = spec_of("payment", "go-mutex", 1.0);
	const char *sets[] = {"rate=3000", "open=5000", "sweep_ms=100", "ttl_ms=50"};
	struct run_result r;
	json_t *rec, *sym, *v;
	const char *k;

	NEED_GO();
	s.sets = sets;
	s.nsets = 4;
	ck_assert_int_eq(gochild_run(&s, &r), 0);
	ck_assert_msg(r.outcome == RUN_OK, "%s: %s", run_outcome_name(r.outcome),
		      r.error);
	ck_assert(r.nrows >= 5);
	rec = results_run_json(&s, &r);
	check_schema_keys(rec);
	ck_assert_str_eq(json_string_value(json_object_get(rec, "runtime")), "go");
	ck_assert(json_integer_value(rp_path(rec, "histograms", "latency",
					     "count")) > 0);
	sym = json_object_get(rec, "symptoms");
	ck_assert(json_object_size(sym) >= 4);
	json_object_foreach(sym, k, v)
		ck_assert_msg(json_number_value(v) == 0, "%s = %g", k,
			      json_number_value(v));
	ck_assert(json_integer_value(json_object_get(json_object_get(rec,
		"metrics_final"), "ops")) > 0);
	json_decref(rec);
	runner_result_free(&r);
}
END_TEST

START_TEST(go_fatal_error)
{
	struct run_spec s = spec_of("config", "go-unsafe", 1.0);
	struct run_result r;

	NEED_GO();
	ck_assert_int_eq(gochild_run(&s, &r), 0);
	ck_assert_msg(r.outcome == RUN_CRASH, "%s: %s",
		      run_outcome_name(r.outcome), r.error);
	ck_assert_int_eq(r.exit_status, 2);
	ck_assert_msg(!strncmp(r.detector, "fatal error: concurrent map", 27),
		      "%s", r.detector);
	runner_result_free(&r);
}
END_TEST

/* Every twin's go-* variants have a rule, and every go-* rule is of a
 * pair the twins run. */
START_TEST(go_cells_cover_the_twins)
{
	char err[512];
	json_t *exp = expect_load(EXPECT_DEFAULT_PATH, err, sizeof(err)), *row, *r;
	const char *name, *var;

	ck_assert_msg(exp != NULL, "%s", err);
	for (size_t i = 0; i < incident_count; i++)
		for (size_t v = 0; v < gochild_variant_count(); v++) {
			const char *g = gochild_variant_at(v);

			if (!gochild_supports(incident_table[i], g))
				continue;
			r = (json_t *)expect_rule(exp, incident_table[i]->name, g);
			ck_assert_msg(expect_class_of(r) != EXPECT_NONE,
				      "%s x %s: no expectation",
				      incident_table[i]->name, g);
		}
	json_object_foreach(json_object_get(exp, "cells"), name, row)
		json_object_foreach(row, var, r)
			ck_assert_msg(!gochild_is_go(var) ||
				      gochild_supports(inc(name), var),
				      "%s x %s: a rule for a pair no twin runs",
				      name, var);
	json_decref(exp);
}
END_TEST

/* A Go run entry: outcome (detector for a crash or an oom), peak live
 * MiB, in-flight peak, the time in map calls (hist, ms) and one symptom. */
static json_t *go_entry(const char *incident, const char *variant,
			const char *outcome, const char *detector,
			double live_mib, double inflight, const char *hist,
			double sum_ms, const char *sym, double n)
{
	json_t *r = json_pack("{s:s, s:s, s:s, s:i, s:s, s:{}, s:{s:f, s:f}, "
			      "s:{}}", "incident", incident, "variant", variant,
			      "runtime", "go", "rep", 1, "outcome", outcome,
			      "symptoms", "summary", "peak_live_bytes",
			      live_mib * 1048576, "inflight_peak", inflight,
			      "histograms");

	if (detector)
		json_object_set_new(r, "detector", json_string(detector));
	if (!strcmp(outcome, "oom"))
		json_object_set_new(r, "oom", json_pack("{s:s, s:s}", "cap",
							"rlimit", "tag", "go_heap"));
	if (hist)
		json_object_set_new(json_object_get(r, "histograms"), hist,
				    json_pack("{s:f}", "sum_ns", sum_ms * 1e6));
	if (sym)
		json_object_set_new(json_object_get(r, "symptoms"), sym,
				    json_real(n));
	return r;
}

/* 4 copies of e (consumed) into runs. */
static void go_add4(json_t *runs, json_t *e)
{
	for (int i = 0; i < 4; i++)
		json_array_append_new(runs, json_deep_copy(e));
	json_decref(e);
}

static const char MW[] = "fatal error: concurrent map writes";

/* Shapes of measured runs (quick size, 2026-12-06, load average 2-4):
 * each passes its rule.  Figures: the smallest or largest measured. */
START_TEST(go_cells_pass_measured_shapes)
{
	char err[512];
	json_t *exp = expect_load(EXPECT_DEFAULT_PATH, err, sizeof(err));
	json_t *runs = json_array();
	struct expect_verdict v;
	static const struct {
		const char *incident, *variant;
	} cells[] = {
		{"payment", "go-unsafe"}, {"payment", "go-mutex"},
		{"payment", "go-rwlock"}, {"payment", "go-sharded"},
		{"payment", "go-syncmap"}, {"metrics", "go-unsafe"},
		{"metrics", "go-mutex"}, {"metrics", "go-sharded"},
		{"metrics", "go-syncmap"}, {"config", "go-unsafe"},
		{"config", "go-mutex"}, {"config", "go-snapshot"},
		{"retention", "go-unsafe"}, {"retention", "go-rwlock"},
	};

	ck_assert_msg(exp != NULL, "%s", err);
	go_add4(runs, go_entry("payment", "go-unsafe", "crash", MW, 52, 0, NULL, 0, NULL, 0));
	go_add4(runs, go_entry("payment", "go-sharded", "ok", NULL, 97, 165, "map_ns", 107, NULL, 0));
	go_add4(runs, go_entry("payment", "go-mutex", "ok", NULL, 97, 324, "map_ns", 687, NULL, 0));
	go_add4(runs, go_entry("payment", "go-rwlock", "ok", NULL, 98, 186, "map_ns", 505, NULL, 0));
	go_add4(runs, go_entry("payment", "go-syncmap", "ok", NULL, 146, 3526, "map_ns", 1793, NULL, 0));
	go_add4(runs, go_entry("metrics", "go-unsafe", "crash",
			       "fatal error: concurrent map read and map write", 40, 1219, NULL, 0, NULL, 0));
	go_add4(runs, go_entry("metrics", "go-mutex", "hang", NULL, 106, 34637, NULL, 0, NULL, 0));
	go_add4(runs, go_entry("metrics", "go-sharded", "ok", NULL, 140, 13014, "map_call", 3e6, NULL, 0));
	go_add4(runs, go_entry("metrics", "go-syncmap", "oom",
			       "fatal error: runtime: out of memory", 145, 6705, NULL, 0, NULL, 0));
	go_add4(runs, go_entry("config", "go-unsafe", "crash", MW, 5, 0, NULL, 0, NULL, 0));
	go_add4(runs, go_entry("config", "go-mutex", "ok", NULL, 34, 1013, NULL, 0, "torn_reads", 130));
	go_add4(runs, go_entry("config", "go-snapshot", "ok", NULL, 34, 291, NULL, 0, "torn_reads", 0));
	go_add4(runs, go_entry("retention", "go-unsafe", "crash",
			       "fatal error: concurrent map read and map write", 148, 68, NULL, 0, NULL, 0));
	go_add4(runs, go_entry("retention", "go-rwlock", "oom",
			       "fatal error: runtime: cannot allocate memory", 198, 1143, NULL, 0, NULL, 0));
	for (size_t i = 0; i < sizeof(cells) / sizeof(cells[0]); i++) {
		et_judge_cell(exp, runs, cells[i].incident, cells[i].variant, &v);
		ck_assert_msg(v.pass, "%s x %s: %s", cells[i].incident,
			      cells[i].variant, v.why);
	}
	json_decref(runs);
	json_decref(exp);
}
END_TEST

/* go-mutex with its sync.Mutex replaced by a lock that does nothing
 * (the mutant go_mutex_nolock, maps/mutants.def; this run was measured
 * in a temporary copy before it had its build tag): every run of payment,
 * metrics and config died of the detector within 0.1 s, 12 of 12.  Each cell
 * must fail, with go-sharded's healthy payment runs beside it. */
START_TEST(go_cells_fail_the_unlocked_mutex)
{
	static const char *const incidents[] = {"payment", "metrics", "config"};
	char err[512];
	json_t *exp = expect_load(EXPECT_DEFAULT_PATH, err, sizeof(err));
	json_t *runs = json_array();
	struct expect_verdict v;

	ck_assert_msg(exp != NULL, "%s", err);
	go_add4(runs, go_entry("payment", "go-sharded", "ok", NULL, 97, 165, "map_ns", 107, NULL, 0));
	for (size_t i = 0; i < 3; i++)
		go_add4(runs, go_entry(incidents[i], "go-mutex", "crash",
				       "fatal error: concurrent map read and map write",
				       14, 0, NULL, 0, NULL, 0));
	for (size_t i = 0; i < 3; i++) {
		et_judge_cell(exp, runs, incidents[i], "go-mutex", &v);
		ck_assert_msg(!v.pass && strstr(v.why, "wrong: crash"),
			      "%s x go-mutex: %s", incidents[i], v.why);
	}
	json_decref(runs);
	json_decref(exp);
}
END_TEST

static int rm_one(const char *p, const struct stat *st, int f, struct FTW *w)
{
	(void)st;
	(void)f;
	(void)w;
	return remove(p);
}

START_TEST(report_both_runtimes)
{
	char tmpl[] = "/tmp/maplab-gochild-XXXXXX", dir[PATH_MAX], err[512] = "";
	char path[PATH_MAX + 32], *argv[] = {"check_gochild", NULL};
	struct results_dir d;
	struct report_opts o = {.quiet = true};
	const char *vars[] = {"mutex", "go-mutex"};
	FILE *f;
	char *html;
	long len;

	NEED_GO();
	ck_assert(mkdtemp(tmpl));
	snprintf(dir, sizeof(dir), "%s/run", tmpl);
	ck_assert_int_eq(results_open(&d, dir, "go", "matrix", 1, argv, err,
				      sizeof(err)), 0);
	for (int i = 0; i < 2; i++) {
		struct run_spec s = spec_of("payment", vars[i], 0.5);
		const char *sets[] = {"rate=2000", "open=2000"};
		struct run_result r;

		s.sets = sets;
		s.nsets = 2;
		ck_assert_int_eq(i ? gochild_run(&s, &r) : runner_run(&s, &r), 0);
		ck_assert_int_eq(results_add_run(&d, &s, &r), 0);
		runner_result_free(&r);
	}
	ck_assert_int_eq(results_close(&d, true), 0);
	snprintf(path, sizeof(path), "%s/goclaims.json", dir);
	f = fopen(path, "w");
	fputs("{\"schema_version\":1,\"cores\":2,\"loadavg_start\":\"1\","
	      "\"loadavg_end\":\"1\",\"procs\":4,\"loop_procs\":2,"
	      "\"loop_seconds\":0.1,\"seed10\":[{\"claim\":\"seed10\","
	      "\"gomaxprocs\":\"default\",\"recover\":false,\"procs\":4,"
	      "\"died\":1,\"survived\":3,\"errors\":0,\"share\":0.25,"
	      "\"wilson95\":[0.05,0.7],\"messages\":{\"concurrent map writes\":1},"
	      "\"recovered\":0}],\"loops\":[],\"syncmap\":[{\"n\":10000,"
	      "\"promote_ns\":300,\"first_store_ns\":800000,\"second_store_ns\":300}],"
	      "\"rebuild\":[]}\n", f);
	fclose(f);
	o.out = fopen("/dev/null", "w");
	ck_assert_msg(report_render(dir, &o, err, sizeof(err)) == 0, "%s", err);
	fclose(o.out);
	snprintf(path, sizeof(path), "%s/report.html", dir);
	f = fopen(path, "r");
	ck_assert(f != NULL);
	fseek(f, 0, SEEK_END);
	len = ftell(f);
	rewind(f);
	html = calloc(1, (size_t)len + 1);
	ck_assert(fread(html, 1, (size_t)len, f) == (size_t)len);
	fclose(f);
	ck_assert(strstr(html, "id=\"go-seed10\"") && strstr(html, "id=\"go-syncmap\""));
	ck_assert(strstr(html, "1 / 4") != NULL);      /* the seed10 row */
	ck_assert(strstr(html, ">go-mutex") && strstr(html, ">mutex"));
	free(html);
	nftw(tmpl, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}
END_TEST

static Suite *gochild_suite(void)
{
	Suite *s = suite_create("gochild");
	TCase *p = tcase_create("pure");
	TCase *g = tcase_create("go");

	tcase_add_test(p, classify_table);
	tcase_add_test(p, wilson_and_end);
	tcase_add_test(p, not_built);
	tcase_add_test(p, twin_from_the_descriptor);
	tcase_add_test(p, go_cells_cover_the_twins);
	tcase_add_test(p, go_cells_pass_measured_shapes);
	tcase_add_test(p, go_cells_fail_the_unlocked_mutex);
	suite_add_tcase(s, p);
	tcase_set_timeout(g, 60);
	tcase_add_test(g, go_run_record);
	tcase_add_test(g, go_fatal_error);
	tcase_add_test(g, report_both_runtimes);
	suite_add_tcase(s, g);
	return s;
}

int main(void)
{
	return ck_run(gochild_suite());
}

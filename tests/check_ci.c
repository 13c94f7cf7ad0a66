/*
 * tests/check_ci.c - the expectation matrix and `maplab ci`'s judgement.
 *
 * Unit tests of harness/verdict/expect.c (rules, k-of-n, Wilson interval), and
 * `maplab ci --judge` over small results folders written here: a safe
 * variant that shows a symptom must fail the gate with a readable table,
 * an unsafe variant that stopped reproducing must fail it, a corrupt
 * expectations file must exit 2, a missing cell or a lowered k must
 * fail.  Time ratios (expect_bind), oom tags and margins have their own
 * tests.  "real_expectations_*" judge run entries shaped after measured
 * mutant runs (`./run.sh mutants`, figures in the comments) against the
 * real harness/verdict/expectations.json: each lock-removed variant must fail the
 * cells it broke, and the healthy shapes must pass.  The scenario runs
 * themselves are checked by `./run.sh ci` and `./run.sh mutants`.
 */
#include <check.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness/verdict/expect.h"
#include "harness/cli/presets.h"
#include "harness/lanes/lane_args.h"
#include "harness/lanes/tsan.h"
#include "tests/expect_testutil.h"
#include "tests/ck_run.h"

#ifndef MAPLAB_BUILD_DIR
#define MAPLAB_BUILD_DIR "build"
#endif

static json_t *run_entry(const char *inc, const char *var, const char *outcome,
			 const char *sym, double val, double inflight)
{
	json_t *r = json_pack("{s:s, s:s, s:i, s:s, s:n, s:n, s:{}, "
			      "s:{s:f, s:f, s:f, s:{s:f, s:f, s:f}}}",
			      "incident", inc, "variant", var, "rep", 1,
			      "outcome", outcome, "signal", "detector",
			      "symptoms", "summary", "peak_live_bytes", 1e6,
			      "peak_rss_bytes", 4e6, "inflight_peak", inflight,
			      "latency_ns", "p50", 1e4, "p99", 1e5, "max", 1e6);
	if (sym)
		json_object_set_new(json_object_get(r, "symptoms"), sym,
				    json_real(val));
	return r;
}

static json_t *rule(const char *text)
{
	json_error_t e;
	json_t *j = json_loads(text, 0, &e);

	ck_assert_msg(j != NULL, "bad test rule: %s", e.text);
	return j;
}

START_TEST(wilson_known_values)
{
	double lo, hi;

	/* 8 of 10: Wilson 95% = [0.4902, 0.9433] */
	expect_wilson(8, 10, &lo, &hi);
	ck_assert(fabs(lo - 0.4902) < 1e-3 && fabs(hi - 0.9433) < 1e-3);
	expect_wilson(0, 4, &lo, &hi);
	ck_assert(lo == 0 && fabs(hi - 0.4899) < 1e-3);
	expect_wilson(4, 4, &lo, &hi);
	ck_assert(fabs(lo - 0.5101) < 1e-3 && hi == 1);
}
END_TEST

START_TEST(reproduces_k_of_n)
{
	json_t *r = rule("{\"class\":\"reproduces\",\"k\":2,"
			 "\"symptoms\":[\"lost_deletes\"]}");
	json_t *runs = json_array();
	struct expect_verdict v;

	json_array_append_new(runs, run_entry("p", "unsafe", "ok", NULL, 0, 1));
	json_array_append_new(runs, run_entry("p", "unsafe", "crash", NULL, 0, 1));
	json_array_append_new(runs,
			      run_entry("p", "unsafe", "ok", "torn_reads", 3, 1));
	expect_judge(r, runs, &v);
	/* torn_reads is not among the rule's symptoms: 1 of 3 shown. */
	ck_assert_uint_eq(v.shown, 1);
	ck_assert(!v.pass);
	json_array_append_new(runs,
			      run_entry("p", "unsafe", "ok", "lost_deletes", 5, 1));
	expect_judge(r, runs, &v);
	ck_assert_uint_eq(v.shown, 2);
	ck_assert(v.pass);
	ck_assert(v.lo > 0 && v.hi <= 1 && v.lo < v.p && v.p < v.hi);
	json_decref(runs);
	json_decref(r);
}
END_TEST

START_TEST(holds_fails_on_any_symptom_or_bound)
{
	json_t *r = rule("{\"class\":\"holds\",\"max\":{\"inflight_peak\":100}}");
	json_t *runs = json_array();
	struct expect_verdict v;

	json_array_append_new(runs, run_entry("m", "mutex", "ok", NULL, 0, 10));
	expect_judge(r, runs, &v);
	ck_assert(v.pass);
	json_array_append_new(runs, run_entry("m", "mutex", "ok", NULL, 0, 500));
	expect_judge(r, runs, &v);
	ck_assert(!v.pass);
	ck_assert_msg(strstr(v.why, "inflight_peak") != NULL, "why: %s", v.why);
	json_array_clear(runs);
	json_array_append_new(runs,
			      run_entry("m", "mutex", "ok", "counter_mismatch", 1, 1));
	expect_judge(r, runs, &v);
	ck_assert(!v.pass);
	ck_assert_msg(strstr(v.why, "counter_mismatch") != NULL, "why: %s", v.why);
	json_array_clear(runs);
	json_array_append_new(runs, run_entry("m", "mutex", "error", NULL, 0, 1));
	expect_judge(r, runs, &v);
	ck_assert(!v.pass);
	ck_assert_uint_eq(v.failed_runs, 1);
	json_decref(runs);
	json_decref(r);
}
END_TEST

START_TEST(histogram_and_metric_figures)
{
	json_t *r = rule("{\"class\":\"reproduces\","
			 "\"min\":{\"hist.map_call.max_ms\":100}}");
	json_t *h = rule("{\"class\":\"holds\",\"max\":{\"metric.dropped\":0}}");
	json_t *run = run_entry("m", "mutex", "ok", NULL, 0, 1);
	char why[128];

	json_object_set_new(run, "histograms",
			    rule("{\"map_call\":{\"max_ns\":250000000}}"));
	json_object_set_new(run, "metrics_final", rule("{\"dropped\":3}"));
	ck_assert_int_eq(expect_run_symptom(r, run, why, sizeof(why)), 1);
	ck_assert_msg(strstr(why, "hist.map_call.max_ms 250") != NULL, "%s", why);
	ck_assert_int_eq(expect_run_symptom(h, run, why, sizeof(why)), 1);
	json_object_set_new(run, "metrics_final", rule("{\"dropped\":0}"));
	json_object_set_new(run, "histograms",
			    rule("{\"map_call\":{\"max_ns\":2000000}}"));
	ck_assert_int_eq(expect_run_symptom(r, run, why, sizeof(why)), 0);
	ck_assert_int_eq(expect_run_symptom(h, run, why, sizeof(why)), 0);
	json_decref(run);
	json_decref(r);
	json_decref(h);
}
END_TEST

START_TEST(forbid_others_fails_a_wrong_safe_variant)
{
	json_t *r = rule("{\"class\":\"reproduces\",\"k\":1,"
			 "\"symptoms\":[\"torn_reads\"],\"forbid_others\":true}");
	json_t *runs = json_array();
	struct expect_verdict v;

	json_array_append_new(runs,
			      run_entry("config", "mutex", "ok", "torn_reads", 9, 1));
	expect_judge(r, runs, &v);
	ck_assert(v.pass);
	json_array_append_new(runs, run_entry("config", "mutex", "ok",
					      "bad_config_applied", 1, 1));
	expect_judge(r, runs, &v);
	ck_assert(!v.pass);
	ck_assert_uint_eq(v.forbidden, 1);
	ck_assert_msg(strstr(v.why, "bad_config_applied") != NULL, "%s", v.why);
	json_decref(runs);
	json_decref(r);
	/* with "outcomes": [] a crash is wrong too, not the symptom */
	r = rule("{\"class\":\"reproduces\",\"k\":1,\"outcomes\":[],"
		 "\"symptoms\":[\"torn_reads\"],\"forbid_others\":true}");
	runs = json_array();
	json_array_append_new(runs,
			      run_entry("config", "mutex", "ok", "torn_reads", 9, 1));
	json_array_append_new(runs, run_entry("config", "mutex", "crash", NULL, 0, 1));
	expect_judge(r, runs, &v);
	ck_assert(!v.pass);
	ck_assert_msg(strstr(v.why, "wrong: crash") != NULL, "%s", v.why);
	json_decref(runs);
	json_decref(r);
}
END_TEST

START_TEST(avalanche_threshold_reproduces)
{
	json_t *r = rule("{\"class\":\"reproduces\",\"min\":{\"inflight_peak\":200}}");
	json_t *run = run_entry("m", "mutex", "ok", NULL, 0, 150);
	char why[128];

	ck_assert_int_eq(expect_run_symptom(r, run, why, sizeof(why)), 0);
	json_decref(run);
	run = run_entry("m", "mutex", "ok", NULL, 0, 250);
	ck_assert_int_eq(expect_run_symptom(r, run, why, sizeof(why)), 1);
	ck_assert_msg(strstr(why, "inflight_peak") != NULL, "why: %s", why);
	json_decref(run);
	json_decref(r);
}
END_TEST

/* A new folder dir (a mkdtemp template) with runs/NNN.json for each run
 * (runs consumed). */
static void write_runs(char *dir, json_t *runs)
{
	char path[512];
	json_t *run;
	size_t i;

	ck_assert(mkdtemp(dir) != NULL);
	snprintf(path, sizeof(path), "%s/runs", dir);
	ck_assert_int_eq(mkdir(path, 0755), 0);
	json_array_foreach(runs, i, run) {
		snprintf(path, sizeof(path), "%s/runs/%03zu.json", dir, i);
		ck_assert_int_eq(json_dump_file(run, path, 0), 0);
	}
	json_decref(runs);
}

/* Write a results folder + expectations; run maplab ci --judge on it. */
static int judge(const char *exp_text, json_t *runs, char *out, size_t len)
{
	char dir[] = "/tmp/maplab-ci-test-XXXXXX", path[512], cmd[1024];
	FILE *f, *p;
	size_t n;
	int st;

	write_runs(dir, runs);
	snprintf(path, sizeof(path), "%s/exp.json", dir);
	f = fopen(path, "w");
	ck_assert(f != NULL);
	fputs(exp_text, f);
	fclose(f);
	snprintf(cmd, sizeof(cmd),
		 "NO_COLOR=1 %s/maplab ci --judge %s --expect %s/exp.json 2>&1",
		 MAPLAB_BUILD_DIR, dir, dir);
	p = popen(cmd, "r");
	ck_assert(p != NULL);
	n = fread(out, 1, len - 1, p);
	out[n] = '\0';
	st = pclose(p);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	ck_assert_int_eq(system(cmd), 0);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static const char *const EXP =
	"{\"cells\":{\"payment\":{"
	"\"unsafe\":{\"class\":\"reproduces\",\"k\":1},"
	"\"mutex\":{\"class\":\"holds\"},"
	"\"exercise\":{\"as\":\"mutex\"}}}}";

/* Judge runs (consumed) against exp through `maplab ci --judge`: the exit
 * is want_rc and the output holds every string of the NULL-ended list. */
static void assert_gate(const char *exp, json_t *runs, int want_rc, ...)
{
	char out[8192];
	const char *want;
	int rc = judge(exp, runs, out, sizeof(out));
	va_list ap;

	ck_assert_msg(rc == want_rc, "exit %d, not %d; output:\n%s", rc,
		      want_rc, out);
	va_start(ap, want_rc);
	while ((want = va_arg(ap, const char *)))
		ck_assert_msg(strstr(out, want), "'%s' not in:\n%s", want, out);
	va_end(ap);
}

/* payment x unsafe and x mutex (symptom sym = val on mutex's run), and
 * x exercise when exercise_outcome is not NULL. */
static json_t *payment_runs(const char *unsafe_outcome, const char *sym,
			    double val, const char *exercise_outcome)
{
	json_t *runs = json_array();

	json_array_append_new(runs, run_entry("payment", "unsafe",
					      unsafe_outcome, NULL, 0, 1));
	json_array_append_new(runs, run_entry("payment", "mutex", "ok", sym,
					      val, 1));
	if (exercise_outcome)
		json_array_append_new(runs, run_entry("payment", "exercise",
						      exercise_outcome, NULL, 0, 1));
	return runs;
}

START_TEST(ci_gate_fails_broken_safe_variant)
{
	assert_gate(EXP, payment_runs("crash", "lost_deletes", 42, NULL), 1,
		    "FAIL", "lost_deletes=42", "cells: 1 passed, 1 failed", NULL);
}
END_TEST

START_TEST(ci_gate_fails_when_unsafe_stops_reproducing)
{
	assert_gate(EXP, payment_runs("ok", NULL, 0, "ok"), 1,
		    "cells: 2 passed, 1 failed", NULL);
}
END_TEST

START_TEST(ci_gate_passes_and_rejects_corrupt_expectations)
{
	char out[8192];
	json_t *runs = payment_runs("oom", NULL, 0, NULL);
	int rc;

	assert_gate(EXP, json_incref(runs), 0, NULL);
	rc = judge("{\"cells\": {\"payment\": {\"mutex\": {\"class\": \"maybe\"}}}}",
		   json_incref(runs), out, sizeof(out));
	ck_assert_msg(rc == 2 && strchr(out, '\n') == out + strlen(out) - 1,
		      "exit %d, output:\n%s", rc, out);
	assert_gate("{\"cells\": ", runs, 2, NULL);
}
END_TEST

/* A folder of runs (payment's healthy pair) with the given manifest. */
static void probe_folder(char *dir, const char *manifest)
{
	char path[512];
	json_t *runs = payment_runs("crash", NULL, 0, NULL);
	FILE *f;

	write_runs(dir, runs);
	snprintf(path, sizeof(path), "%s/manifest.json", dir);
	ck_assert((f = fopen(path, "w")) != NULL);
	fputs(manifest, f);
	fclose(f);
}

static int run_cmd(const char *cmd, char *out, size_t len)
{
	FILE *p = popen(cmd, "r");
	size_t n;
	int st;

	ck_assert(p != NULL);
	n = fread(out, 1, len - 1, p);
	out[n] = '\0';
	st = pclose(p);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* --judge refuses envelope probes, alone or beside a matrix folder: one
 * line, exit 2, nothing written (no report, no merged folder). */
START_TEST(ci_judge_refuses_envelope_probes)
{
	char env[] = "/tmp/maplab-ci-env-XXXXXX", mat[] = "/tmp/maplab-ci-mat-XXXXXX";
	char cmd[1024], out[4096], path[600];

	probe_folder(env, "{\"schema_version\": 1, \"kind\": \"envelope\", "
		     "\"envelope\": {\"param\": \"rate\"}}");
	probe_folder(mat, "{\"schema_version\": 1, \"kind\": \"matrix\"}");
	snprintf(cmd, sizeof(cmd), "%s/maplab ci --judge %s 2>&1",
		 MAPLAB_BUILD_DIR, env);
	ck_assert_int_eq(run_cmd(cmd, out, sizeof(out)), 2);
	ck_assert_msg(strstr(out, "envelope probes") &&
		      strchr(out, '\n') == out + strlen(out) - 1, "%s", out);
	snprintf(path, sizeof(path), "%s/report.html", env);
	ck_assert_int_ne(access(path, F_OK), 0);
	snprintf(cmd, sizeof(cmd), "%s/maplab ci --judge %s %s --out %s/m 2>&1",
		 MAPLAB_BUILD_DIR, mat, env, mat);
	ck_assert_int_eq(run_cmd(cmd, out, sizeof(out)), 2);
	ck_assert_msg(strstr(out, "envelope probes"), "%s", out);
	snprintf(path, sizeof(path), "%s/m", mat);
	ck_assert_int_ne(access(path, F_OK), 0);
	snprintf(cmd, sizeof(cmd), "rm -rf %s %s", env, mat);
	ck_assert_int_eq(system(cmd), 0);
}
END_TEST

/* A run entry with the longest map call (hist.map_call.max_ms) and the
 * time in map calls (sum_ms) both map_call_ms, and an oom tag when
 * outcome is "oom". */
static json_t *timed_entry(const char *inc, const char *var,
			   const char *outcome, double map_call_ms,
			   const char *oom_tag)
{
	json_t *r = run_entry(inc, var, outcome, NULL, 0, 1);

	/* the longest call and the sum of all calls, the same for short */
	json_object_set_new(r, "histograms",
			    json_pack("{s:{s:f, s:f}}", "map_call", "max_ns",
				      map_call_ms * 1e6, "sum_ns",
				      map_call_ms * 1e6));
	if (oom_tag)
		json_object_set_new(r, "oom", json_pack("{s:s, s:s}", "cap",
							"budget", "tag", oom_tag));
	return r;
}

START_TEST(ratio_binds_to_the_same_run)
{
	json_t *exp = rule("{\"cells\":{\"metrics\":{\"mutex\":{"
			   "\"class\":\"reproduces\",\"k\":2,\"symptoms\":[],"
			   "\"outcomes\":[],\"forbid_others\":true,"
			   "\"min_ratio\":{\"hist.map_call.max_ms\":"
			   "{\"of\":\"sharded\",\"times\":3}}}}}}");
	json_t *runs = json_array();
	struct expect_verdict v;

	/* sharded's median 5 ms: the bound is 15 ms */
	json_array_append_new(runs, timed_entry("metrics", "sharded", "ok", 4, NULL));
	json_array_append_new(runs, timed_entry("metrics", "sharded", "ok", 6, NULL));
	json_array_append_new(runs, timed_entry("metrics", "mutex", "ok", 40, NULL));
	json_array_append_new(runs, timed_entry("metrics", "mutex", "ok", 20, NULL));
	et_judge_cell(exp, runs, "metrics", "mutex", &v);
	ck_assert_msg(v.pass, "%s", v.why);
	ck_assert_uint_eq(v.nmargins, 1);
	ck_assert(fabs(v.margins[0].bound - 15) < 1e-9);
	ck_assert(fabs(v.margin - 20.0 / 15) < 1e-9); /* the worst rep, 20 */
	/* a faster machine: every time shrinks, the ratio still holds */
	json_decref(runs);
	runs = json_array();
	json_array_append_new(runs, timed_entry("metrics", "sharded", "ok", 1, NULL));
	json_array_append_new(runs, timed_entry("metrics", "mutex", "ok", 8, NULL));
	json_array_append_new(runs, timed_entry("metrics", "mutex", "ok", 9, NULL));
	et_judge_cell(exp, runs, "metrics", "mutex", &v);
	ck_assert_msg(v.pass, "%s", v.why);
	/* the stall gone (lock removed, or a non-blocking map) fails */
	json_decref(runs);
	runs = json_array();
	json_array_append_new(runs, timed_entry("metrics", "sharded", "ok", 5, NULL));
	json_array_append_new(runs, timed_entry("metrics", "mutex", "ok", 6, NULL));
	json_array_append_new(runs, timed_entry("metrics", "mutex", "ok", 7, NULL));
	et_judge_cell(exp, runs, "metrics", "mutex", &v);
	ck_assert(!v.pass);
	ck_assert(v.margin < 1);
	/* no reference in the folder: no pass */
	json_decref(runs);
	runs = json_array();
	json_array_append_new(runs, timed_entry("metrics", "mutex", "ok", 60, NULL));
	json_array_append_new(runs, timed_entry("metrics", "mutex", "ok", 60, NULL));
	et_judge_cell(exp, runs, "metrics", "mutex", &v);
	ck_assert(!v.pass);
	ck_assert_msg(strstr(v.why, "unbound") != NULL, "%s", v.why);
	json_decref(runs);
	json_decref(exp);
}
END_TEST

START_TEST(expected_oom_reproduces_only_with_its_tag)
{
	json_t *r = rule("{\"class\":\"reproduces\",\"k\":1,\"symptoms\":[],"
			 "\"outcomes\":[\"oom\"],\"oom_tags\":[\"requests\"],"
			 "\"forbid_others\":true}");
	json_t *run = timed_entry("metrics", "mutex", "oom", 50, "requests");
	char why[200];

	ck_assert_int_eq(expect_run_symptom(r, run, why, sizeof(why)), 1);
	json_decref(run);
	run = timed_entry("metrics", "mutex", "oom", 50, "map");
	ck_assert_int_eq(expect_run_symptom(r, run, why, sizeof(why)), -2);
	ck_assert_msg(strstr(why, "tag map") != NULL, "%s", why);
	json_decref(run);
	run = timed_entry("metrics", "mutex", "crash", 50, NULL);
	ck_assert_int_eq(expect_run_symptom(r, run, why, sizeof(why)), -2);
	json_decref(run);
	json_decref(r);
}
END_TEST

START_TEST(ci_gate_fails_missing_cell_and_lowered_k)
{
	json_t *runs = json_array();

	/* payment x mutex expected, never ran */
	json_array_append_new(runs, run_entry("payment", "unsafe", "crash", NULL, 0, 1));
	assert_gate(EXP, runs, 1, "missing:", NULL);
	/* k = 2 with one run: fails, says why */
	assert_gate("{\"cells\":{\"payment\":{"
		    "\"unsafe\":{\"class\":\"reproduces\",\"k\":2},"
		    "\"mutex\":{\"class\":\"holds\"}}}}",
		    payment_runs("crash", NULL, 0, NULL), 1,
		    "k=2 but only 1 runs", NULL);
}
END_TEST

/* Every k of the real file fits the ci preset, so `maplab ci` never has
 * to lower one. */
START_TEST(real_expectations_k_fits_the_ci_preset)
{
	char err[512];
	json_t *exp = expect_load(EXPECT_DEFAULT_PATH, err, sizeof(err));
	const char *inc, *var;
	json_t *row, *r;

	ck_assert_msg(exp != NULL, "%s", err);
	json_object_foreach(json_object_get(exp, "cells"), inc, row)
		json_object_foreach(row, var, r) {
			json_int_t k = json_integer_value(json_object_get(r, "k"));
			ck_assert_msg(k <= (json_int_t)preset_find("ci")->reps,
				      "%s x %s: k %lld > ci reps", inc, var,
				      (long long)k);
		}
	json_decref(exp);
}
END_TEST

/* 4 runs of inc x var, each a copy of proto (consumed). */
static void add4(json_t *runs, json_t *proto)
{
	for (int i = 0; i < 4; i++)
		json_array_append_new(runs, json_deep_copy(proto));
	json_decref(proto);
}

static json_t *with_syms(json_t *r, const char *json_syms)
{
	json_object_set_new(r, "symptoms", rule(json_syms));
	return r;
}

/* The healthy shapes (a plain ci run, 2026-12-05) pass the real file. */
START_TEST(real_expectations_pass_healthy_runs)
{
	char err[512];
	json_t *exp = expect_load(EXPECT_DEFAULT_PATH, err, sizeof(err));
	json_t *runs = json_array();
	struct expect_verdict v;

	ck_assert_msg(exp != NULL, "%s", err);
	add4(runs, timed_entry("metrics", "rcu", "ok", 6, NULL));
	add4(runs, timed_entry("metrics", "mutex", "ok", 40, NULL));
	add4(runs, with_syms(run_entry("config", "mutex", "ok", NULL, 0, 1),
			     "{\"torn_reads\": 900, \"map_damage\": 0}"));
	add4(runs, with_syms(run_entry("config", "unsafe", "ok", NULL, 0, 1),
			     "{\"torn_reads\": 500, \"map_damage\": 2, "
			     "\"invariant_violations\": 1}"));
	et_judge_cell(exp, runs, "metrics", "mutex", &v);
	ck_assert_msg(v.pass, "metrics x mutex: %s", v.why);
	et_judge_cell(exp, runs, "config", "mutex", &v);
	ck_assert_msg(v.pass, "config x mutex: %s", v.why);
	et_judge_cell(exp, runs, "config", "unsafe", &v);
	ck_assert_msg(v.pass, "config x unsafe: %s", v.why);
	json_decref(runs);
	/* the lead's retuned quick size: metrics x mutex reaches its cap */
	runs = json_array();
	add4(runs, timed_entry("metrics", "rcu", "ok", 6, NULL));
	add4(runs, timed_entry("metrics", "mutex", "oom", 300, "requests"));
	et_judge_cell(exp, runs, "metrics", "mutex", &v);
	ck_assert_msg(v.pass, "metrics x mutex oom: %s", v.why);
	json_decref(runs);
	json_decref(exp);
}
END_TEST

/* Lock-removed variants, shaped after `./run.sh mutants` (2026-12-05):
 * mutex_nolock: payment and metrics x mutex died of SIGABRT (ml_free: not
 * a live block) within 0.1-0.7 s in 8 of 8 runs; config x mutex crashed
 * in 3 of 4 and the fourth ended with map_damage 2 (invariant_violations
 * 2) beside 305 torn reads.  unsafe_locked (unsafe under one global
 * mutex): every unsafe cell ended ok, config with torn reads only. */
START_TEST(real_expectations_fail_lock_removed_variants)
{
	char err[512];
	json_t *exp = expect_load(EXPECT_DEFAULT_PATH, err, sizeof(err));
	json_t *runs = json_array(), *crash;
	struct expect_verdict v;

	ck_assert_msg(exp != NULL, "%s", err);
	crash = run_entry("payment", "mutex", "crash", NULL, 0, 1);
	json_object_set_new(crash, "signal", json_pack("{s:s, s:i}", "name",
						      "SIGABRT", "number", 6));
	add4(runs, crash);
	crash = timed_entry("metrics", "mutex", "crash", 2, NULL);
	json_object_set_new(crash, "signal", json_pack("{s:s, s:i}", "name",
						      "SIGABRT", "number", 6));
	add4(runs, crash);
	add4(runs, timed_entry("metrics", "rcu", "ok", 6, NULL));
	add4(runs, with_syms(run_entry("config", "mutex", "ok", NULL, 0, 1),
			     "{\"torn_reads\": 305, \"map_damage\": 2, "
			     "\"invariant_violations\": 2}"));
	et_judge_cell(exp, runs, "payment", "mutex", &v);
	ck_assert_msg(!v.pass, "payment x mutex passed: %s", v.why);
	et_judge_cell(exp, runs, "metrics", "mutex", &v);
	ck_assert_msg(!v.pass && strstr(v.why, "wrong: crash"),
		      "metrics x mutex: %s", v.why);
	et_judge_cell(exp, runs, "config", "mutex", &v);
	ck_assert_msg(!v.pass && v.forbidden == 4, "config x mutex: %s", v.why);
	json_decref(runs);
	/* unsafe made safe: no longer reproduces anywhere */
	runs = json_array();
	add4(runs, run_entry("payment", "unsafe", "ok", NULL, 0, 1));
	add4(runs, run_entry("metrics", "unsafe", "ok", NULL, 0, 1));
	add4(runs, with_syms(run_entry("config", "unsafe", "ok", NULL, 0, 1),
			     "{\"torn_reads\": 1208, \"map_damage\": 0}"));
	et_judge_cell(exp, runs, "payment", "unsafe", &v);
	ck_assert(!v.pass);
	et_judge_cell(exp, runs, "metrics", "unsafe", &v);
	ck_assert(!v.pass);
	et_judge_cell(exp, runs, "config", "unsafe", &v);
	ck_assert_msg(!v.pass, "config x unsafe passed on tearing: %s", v.why);
	json_decref(runs);
	json_decref(exp);
}
END_TEST

/* The TSan lane's check, one row per way a cell passes or fails. */
START_TEST(tsan_check_table)
{
	static const struct {
		bool unsafe, reproduces;
		unsigned reports;
		int shown;
		bool pass;
		const char *check;
	} rows[] = {
		{true, true, 3, 1, true, "races found, as expected"},
		{true, true, 0, 1, true, "no report, but the symptom showed"},
		{true, true, 0, -1, false, "expected TSan to report races"},
		{false, true, 0, 1, true, "race-free failure, TSan silent"},
		{false, true, 0, 0, false, "expected the race-free failure; it did not show"},
		{false, false, 0, 0, true, "clean"},
		{false, false, 1, 0, false, "TSan reported a race in a safe variant"},
		{false, false, 0, -1, false, "run failed"},
	};
	char check[160];

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		bool pass = tsan_check_cell(rows[i].unsafe, rows[i].reproduces,
					    rows[i].reports, rows[i].shown,
					    check, sizeof(check));

		ck_assert_msg(pass == rows[i].pass, "row %zu: pass %d", i, pass);
		ck_assert_str_eq(check, rows[i].check);
	}
}
END_TEST

/* A lane takes only the options it names; --judge allows operands. */
START_TEST(lane_args_take_only_the_lane_options)
{
	char *tsan[] = {"tsan", "--seconds", "3s", "--no-report", NULL};
	char *shard[] = {"tsan", "--shard", "1/2", NULL};
	char *judge[] = {"ci", "--judge", "a", "b", "c", NULL};
	char *extra[] = {"ci", "b", NULL};
	struct lane_args a;

	ck_assert_int_eq(lane_args_parse("tsan", "ivosn", 4, tsan, &a, NULL), 0);
	ck_assert_str_eq(a.seconds, "3s");
	ck_assert(!a.report && !a.variant && !a.noperands);
	ck_assert_int_eq(lane_args_parse("tsan", "ivosn", 3, shard, &a, NULL), 2);
	ck_assert_int_eq(lane_args_parse("ci", "ivoreSjn", 5, judge, &a, NULL), 0);
	ck_assert(a.report && !strcmp(a.judge, "a") && a.noperands == 2);
	ck_assert_str_eq(a.operands[1], "c");
	ck_assert_int_eq(lane_args_parse("ci", "ivoreSjn", 2, extra, &a, NULL), 2);
}
END_TEST

static Suite *ci_suite(void)
{
	Suite *s = suite_create("ci");
	TCase *t = tcase_create("expect");

	tcase_add_test(t, wilson_known_values);
	tcase_add_test(t, reproduces_k_of_n);
	tcase_add_test(t, holds_fails_on_any_symptom_or_bound);
	tcase_add_test(t, avalanche_threshold_reproduces);
	tcase_add_test(t, histogram_and_metric_figures);
	tcase_add_test(t, forbid_others_fails_a_wrong_safe_variant);
	tcase_add_test(t, ratio_binds_to_the_same_run);
	tcase_add_test(t, expected_oom_reproduces_only_with_its_tag);
	tcase_add_test(t, real_expectations_k_fits_the_ci_preset);
	tcase_add_test(t, real_expectations_pass_healthy_runs);
	tcase_add_test(t, real_expectations_fail_lock_removed_variants);
	tcase_add_test(t, tsan_check_table);
	tcase_add_test(t, lane_args_take_only_the_lane_options);
	suite_add_tcase(s, t);
	t = tcase_create("gate");
	tcase_set_timeout(t, 60);
	tcase_add_test(t, ci_gate_fails_broken_safe_variant);
	tcase_add_test(t, ci_gate_fails_when_unsafe_stops_reproducing);
	tcase_add_test(t, ci_gate_passes_and_rejects_corrupt_expectations);
	tcase_add_test(t, ci_judge_refuses_envelope_probes);
	tcase_add_test(t, ci_gate_fails_missing_cell_and_lowered_k);
	suite_add_tcase(s, t);
	return s;
}

int main(void)
{
	return ck_run(ci_suite());
}

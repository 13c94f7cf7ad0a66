/*
 * tests/check_verdict.c - the design verdict (harness/verdict/verdict.c), table
 * driven.
 *
 * Real run records, trimmed copies of results/20261205-141121-quick/runs
 * in tests/data/verdict (histogram buckets dropped, series thinned to ~60
 * rows and the t_s..lat_max_ms and tag_*_mib columns), are judged against
 * the reference of the records loaded beside them, as the report does for
 * a results folder: crash, oom, torn, stall and holds.  Hand-built records
 * cover what no recorded run shows: hang, error/interrupted, corrupt, the
 * stall thresholds at and just below VERDICT_STALL_RATIO and the
 * VERDICT_STALL_MIN_* floors, a record with no series, and the growth
 * slope on a synthetic linear series.
 *
 * The data folder is relative to the repository root, the working
 * directory of tests/run-tests.sh (run by `make test` and run.sh).  Every
 * test is single-threaded; each runs in its own forked child (ck_run).
 */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "harness/verdict/verdict.h"
#include "tests/ck_run.h"

#define DATA "tests/data/verdict"
#define MIB 1048576.0

/* The trimmed records, in a fixed order: the "results folder". */
static const char *const folder_names[] = {
	"metrics.mutex", "metrics.rcu",	   "metrics.rwlock", "metrics.sharded",
	"metrics.syncmap", "metrics.unsafe", "config.mutex",  "config.rcu",
	"config.sharded", "config.syncmap", "payment.unsafe", "retention.mutex",
	"retention.unsafe",
};
#define NFOLDER (sizeof(folder_names) / sizeof(folder_names[0]))

static json_t *load(const char *name)
{
	char path[256];
	json_error_t e;
	json_t *j;

	snprintf(path, sizeof(path), DATA "/%s.r1.json", name);
	j = json_load_file(path, 0, &e);
	ck_assert_msg(j != NULL, "%s: %s (run from the repository root)", path,
		      e.text);
	return j;
}

static void load_folder(json_t *recs[NFOLDER])
{
	for (size_t i = 0; i < NFOLDER; i++)
		recs[i] = load(folder_names[i]);
}

static void free_folder(json_t *recs[NFOLDER])
{
	for (size_t i = 0; i < NFOLDER; i++)
		json_decref(recs[i]);
}

static json_t *folder_rec(json_t *recs[NFOLDER], const char *name)
{
	for (size_t i = 0; i < NFOLDER; i++)
		if (!strcmp(folder_names[i], name))
			return recs[i];
	ck_abort_msg("%s is not in the test folder", name);
	return NULL;
}

/* A small record: 100 MiB budget, 40 MiB peak live, 60 MiB RSS. */
static json_t *hand(const char *inc, const char *outcome, double inflight,
		    double p99_ns)
{
	json_t *r = json_pack("{s:s, s:s, s:n, s:n, s:n, s:f, s:{s:f}, s:{}, "
			      "s:{s:f, s:f, s:f, s:{s:f, s:f}}}",
			      "incident", inc, "outcome", outcome, "signal",
			      "detector", "oom", "duration_s", 2.5, "caps",
			      "budget_bytes", 100 * MIB, "symptoms", "summary",
			      "peak_live_bytes", 40 * MIB, "peak_rss_bytes",
			      60 * MIB, "inflight_peak", inflight, "latency_ns",
			      "p50", p99_ns / 4, "p99", p99_ns);

	ck_assert_ptr_nonnull(r);
	return r;
}

static void sym(json_t *rec, const char *name, double val)
{
	json_object_set_new(json_object_get(rec, "symptoms"), name,
			    json_real(val));
}

static void judge(json_t *rec, const struct verdict_ref *ref,
		  struct verdict *v, char *text, size_t len)
{
	memset(v, 0x5a, sizeof(*v)); /* verdict_of must set every field */
	verdict_of(rec, ref, v);
	verdict_text(v, text, len);
}

/* ---- recorded runs ---------------------------------------------------- */

static const struct real_case {
	const char *name;
	enum verdict_class cls;
	enum verdict_how how;
	const char *text; /* verdict_text(), exactly */
} real_cases[] = {
	{"payment.unsafe", VERDICT_BROKEN, VERDICT_HOW_CRASH,
	 "broken: crash SIGABRT at 0.50 s"},
	{"metrics.unsafe", VERDICT_BROKEN, VERDICT_HOW_CRASH,
	 "broken: crash SIGABRT at 4.09 s"},
	{"metrics.mutex", VERDICT_BROKEN, VERDICT_HOW_OOM,
	 "broken: oom at 1.0 s (budget, requests)"},
	{"retention.mutex", VERDICT_BROKEN, VERDICT_HOW_OOM,
	 "broken: oom at 3.2 s (budget, payload)"},
	/* lost_deletes=1 too: the oom comes first */
	{"retention.unsafe", VERDICT_BROKEN, VERDICT_HOW_OOM,
	 "broken: oom at 3.3 s (budget, payload)"},
	{"config.mutex", VERDICT_BROKEN, VERDICT_HOW_TORN,
	 "broken: torn 1268 torn reads"},
	/* in-flight 916 >= 5 x 153 too: torn comes first */
	{"config.syncmap", VERDICT_BROKEN, VERDICT_HOW_TORN,
	 "broken: torn 1973 torn reads"},
	{"config.rcu", VERDICT_HOLDS, VERDICT_HOW_NONE,
	 "holds: peak live 25 MiB, RSS 52 MiB, p99 31.5 ms"},
	/* 18405 < 5 x 4644 and 92.3 ms < 5 x 50.3 ms */
	{"metrics.sharded", VERDICT_HOLDS, VERDICT_HOW_NONE,
	 "holds: peak live 54 MiB, RSS 83 MiB, p99 92.3 ms"},
	{"metrics.rcu", VERDICT_HOLDS, VERDICT_HOW_NONE,
	 "holds: peak live 58 MiB, RSS 87 MiB, p99 50.3 ms"},
	/* 47968 in flight, 2.6x the median ok run's 18405: under 5x */
	{"metrics.syncmap", VERDICT_HOLDS, VERDICT_HOW_NONE,
	 "holds: peak live 106 MiB, RSS 146 MiB, p99 402.7 ms"},
};
#define NREAL (sizeof(real_cases) / sizeof(real_cases[0]))

static void check_json(const struct verdict *v)
{
	json_t *j = verdict_json(v);
	json_t *how = json_object_get(j, "how");

	ck_assert_str_eq(json_string_value(json_object_get(j, "class")),
			 v->word);
	ck_assert_str_eq(json_string_value(json_object_get(j, "detail")),
			 v->detail);
	if (v->how_word[0])
		ck_assert_str_eq(json_string_value(how), v->how_word);
	else
		ck_assert(json_is_null(how));
	json_decref(j);
}

START_TEST(real_records)
{
	const struct real_case *c = &real_cases[_i];
	json_t *recs[NFOLDER];
	json_t *rec;
	const char *inc;
	struct verdict_ref ref;
	struct verdict v;
	char text[300];

	load_folder(recs);
	rec = folder_rec(recs, c->name);
	inc = json_string_value(json_object_get(rec, "incident"));
	verdict_ref_of(recs, NFOLDER, inc, &ref);
	judge(rec, &ref, &v, text, sizeof(text));
	ck_assert_msg(v.cls == c->cls && v.how == c->how,
		      "%s: class %d how %d, want %d %d (%s)", c->name, v.cls,
		      v.how, c->cls, c->how, text);
	ck_assert_str_eq(text, c->text);
	ck_assert_str_eq(v.word, c->cls == VERDICT_HOLDS ? "holds" : "broken");
	/* every trimmed record has its series: a growth figure */
	ck_assert_msg(isfinite(v.growth_mib_s), "%s: growth %g", c->name,
		      v.growth_mib_s);
	ck_assert_double_eq(v.growth_mib_s, verdict_growth_mib_s(rec));
	check_json(&v);
	free_folder(recs);
}
END_TEST

/* The reference: the median figures of the ok runs of that incident. */
START_TEST(real_reference)
{
	json_t *recs[NFOLDER];
	struct verdict_ref ref;

	load_folder(recs);
	/* not metrics.unsafe's 7.3 ms (a crash), nor payment's 12 in-flight */
	verdict_ref_of(recs, NFOLDER, "metrics", &ref);
	/* the medians of sharded, syncmap and rcu */
	ck_assert_double_eq(ref.inflight, 18405);
	ck_assert_double_eq_tol(ref.p99_ms, 92.27, 0.01);
	/* six ok runs (torn runs are still ok): the mean of the middle two */
	verdict_ref_of(recs, NFOLDER, "config", &ref);
	ck_assert_double_eq(ref.inflight, 434.5);
	ck_assert_double_eq_tol(ref.p99_ms, 26.21, 0.01);
	/* no ok run: unknown */
	verdict_ref_of(recs, NFOLDER, "retention", &ref);
	ck_assert(isnan(ref.inflight) && isnan(ref.p99_ms));
	verdict_ref_of(recs, NFOLDER, "payment", &ref);
	ck_assert(isnan(ref.inflight) && isnan(ref.p99_ms));
	verdict_ref_of(recs, NFOLDER, NULL, &ref);
	ck_assert(isnan(ref.inflight) && isnan(ref.p99_ms));
	free_folder(recs);
}
END_TEST

/* The envelope's tipped rule: a failed run, or growth strictly above the
 * threshold; an unknown growth alone never tips. */
START_TEST(tipped_rule)
{
	ck_assert(verdict_tipped(true, NAN, 4));
	ck_assert(!verdict_tipped(false, NAN, 4));
	ck_assert(!verdict_tipped(false, 4, 4));
	ck_assert(verdict_tipped(false, 4.01, 4));
	ck_assert(!verdict_tipped(false, -9, 4));
}
END_TEST

START_TEST(hand_reference)
{
	json_t *recs[] = {
		hand("m", "ok", 300, 40e6),   /* smallest in-flight */
		hand("m", "ok", 900, 20e6),   /* smallest p99 */
		hand("m", "crash", 5, 1e6),   /* not ok */
		hand("m", "oom", 6, 1e6),     /* not ok */
		hand("p", "ok", 2, 0.5e6),    /* another incident */
		hand("mm", "ok", 3, 0.6e6),   /* a longer name */
		json_pack("{s:s, s:s}", "incident", "m", "outcome", "ok"),
		json_pack("{s:s, s:{s:f}}", "incident", "m", "summary",
			  "inflight_peak", 1.0), /* no outcome */
	};
	size_t n = sizeof(recs) / sizeof(recs[0]);
	struct verdict_ref ref;

	verdict_ref_of(recs, n, "m", &ref);
	ck_assert_double_eq(ref.inflight, 600); /* median of 300 and 900 */
	ck_assert_double_eq(ref.p99_ms, 30);
	verdict_ref_of(recs, 1, "m", &ref); /* only the first n records */
	ck_assert_double_eq(ref.p99_ms, 40);
	verdict_ref_of(recs, n, "p", &ref);
	ck_assert_double_eq(ref.inflight, 2);
	ck_assert_double_eq(ref.p99_ms, 0.5);
	verdict_ref_of(recs, 0, "m", &ref);
	ck_assert(isnan(ref.inflight) && isnan(ref.p99_ms));
	for (size_t i = 0; i < n; i++)
		json_decref(recs[i]);
}
END_TEST

/* C runs and Go runs each have their own reference: a Go run that queues
 * like the other Go runs holds, though it is 100x C's; the same figures
 * judged as a C run stall. */
START_TEST(runtime_reference)
{
	json_t *recs[] = {
		hand("m", "ok", 100, 2e6), hand("m", "ok", 120, 2e6),
		hand("m", "ok", 10000, 200e6), hand("m", "ok", 12000, 220e6),
	};
	size_t n = sizeof(recs) / sizeof(recs[0]);
	json_t *judged = hand("m", "ok", 11000, 210e6);
	struct verdict_ref ref;
	struct verdict v;
	char text[300];

	for (size_t i = 2; i < n; i++)
		json_object_set_new(recs[i], "runtime", json_string("go"));
	verdict_ref_of(recs, n, "m", &ref);
	ck_assert_double_eq(ref.inflight, 110);
	ck_assert_double_eq(ref.go_inflight, 11000);
	ck_assert_double_eq(ref.go_p99_ms, 210);
	judge(judged, &ref, &v, text, sizeof(text)); /* as a C run */
	ck_assert_msg(v.how == VERDICT_HOW_STALL, "%s", text);
	json_object_set_new(judged, "runtime", json_string("go"));
	judge(judged, &ref, &v, text, sizeof(text));
	ck_assert_msg(v.cls == VERDICT_HOLDS, "%s", text);
	json_decref(judged);
	for (size_t i = 0; i < n; i++)
		json_decref(recs[i]);
}
END_TEST

/* First match wins: the same recorded runs with the earlier rule's
 * evidence removed fall to the next rule. */
START_TEST(real_rule_order)
{
	json_t *recs[NFOLDER];
	struct verdict_ref ref;
	struct verdict v;
	char text[300];

	load_folder(recs);
	verdict_ref_of(recs, NFOLDER, "config", &ref);
	sym(folder_rec(recs, "config.syncmap"), "torn_reads", 0);
	judge(folder_rec(recs, "config.syncmap"), &ref, &v, text, sizeof(text));
	/* 6x the median ok run's in-flight, but 916 is under the floor */
	ck_assert_msg(v.cls == VERDICT_HOLDS, "%s", text);
	ck_assert_str_eq(text, "holds: peak live 20 MiB, RSS 47 MiB, p99 "
			       "37.7 ms");
	json_object_set_new(folder_rec(recs, "retention.unsafe"), "outcome",
			    json_string("ok"));
	judge(folder_rec(recs, "retention.unsafe"), NULL, &v, text,
	      sizeof(text));
	ck_assert_msg(v.how == VERDICT_HOW_CORRUPT, "%s", text);
	ck_assert_str_eq(v.how_word, "corrupt");
	ck_assert_msg(strstr(v.detail, "lost_deletes=1") &&
			      strstr(v.detail, "invariant_violations=1") &&
			      !strstr(v.detail, "leaked_bytes"),
		      "%s", v.detail);
	/* without a reference there is no stall rule */
	judge(folder_rec(recs, "metrics.syncmap"), NULL, &v, text,
	      sizeof(text));
	ck_assert_msg(v.cls == VERDICT_HOLDS, "%s", text);
	free_folder(recs);
}
END_TEST

/* ---- hand-built outcomes ------------------------------------------------ */

START_TEST(hang)
{
	json_t *r = hand("m", "hang", 10, 1e6);
	struct verdict v;
	char text[300];

	json_object_set_new(r, "duration_s", json_real(12.04));
	sym(r, "torn_reads", 4); /* the hang comes first */
	judge(r, NULL, &v, text, sizeof(text));
	ck_assert(v.cls == VERDICT_BROKEN && v.how == VERDICT_HOW_HANG);
	ck_assert_str_eq(text, "broken: hang killed after 12.0 s");
	check_json(&v);
	json_decref(r);
}
END_TEST

static const char *const none_outcomes[] = {"error", "interrupted", NULL};

START_TEST(no_verdict)
{
	const char *out = none_outcomes[_i];
	json_t *r = out ? hand("m", out, 1e6, 1e9) : hand("m", "", 1e6, 1e9);
	struct verdict_ref ref = {.inflight = 1, .p99_ms = 0.1};
	struct verdict v;
	char text[300], want[64];
	json_t *j;

	if (!out)
		json_object_del(r, "outcome");
	sym(r, "lost_deletes", 3);
	judge(r, &ref, &v, text, sizeof(text));
	ck_assert(v.cls == VERDICT_NONE && v.how == VERDICT_HOW_NONE);
	ck_assert_str_eq(v.word, "—");
	ck_assert_str_eq(v.how_word, "");
	snprintf(want, sizeof(want), "—: no verdict: %s",
		 out ? out : "no record");
	ck_assert_str_eq(text, want);
	j = verdict_json(&v);
	ck_assert_str_eq(json_string_value(json_object_get(j, "class")), "—");
	ck_assert(json_is_null(json_object_get(j, "how")));
	json_decref(j);
	json_decref(r);
	judge(NULL, &ref, &v, text, sizeof(text));
	ck_assert(v.cls == VERDICT_NONE);
	ck_assert_str_eq(text, "—: no verdict: no record");
}
END_TEST

START_TEST(crash_and_oom_details)
{
	json_t *r = hand("m", "crash", 10, 1e6);
	struct verdict v;
	char text[300];

	json_object_set_new(r, "duration_s", json_real(1.254));
	judge(r, NULL, &v, text, sizeof(text));
	ck_assert_str_eq(text, "broken: crash signal at 1.25 s");
	json_object_set_new(r, "signal",
			    json_pack("{s:s, s:i}", "name", "SIGSEGV",
				      "number", 11));
	judge(r, NULL, &v, text, sizeof(text));
	ck_assert_str_eq(text, "broken: crash SIGSEGV at 1.25 s");
	json_object_set_new(r, "detector",
			    json_string("fatal error: concurrent map writes"));
	judge(r, NULL, &v, text, sizeof(text));
	ck_assert_str_eq(text, "broken: crash fatal error: concurrent map "
			       "writes at 1.25 s");
	json_object_set_new(r, "outcome", json_string("oom"));
	json_object_set_new(r, "oom", json_pack("{s:s, s:f, s:n}", "cap", "rss",
						"at_s", 0.44, "tag"));
	judge(r, NULL, &v, text, sizeof(text));
	ck_assert(v.how == VERDICT_HOW_OOM);
	ck_assert_str_eq(text, "broken: oom at 0.4 s (rss, untracked)");
	json_decref(r);
}
END_TEST

START_TEST(corrupt_beside_torn)
{
	json_t *r = hand("m", "ok", 10, 1e6);
	struct verdict v;
	char text[300];

	sym(r, "torn_reads", 7);
	judge(r, NULL, &v, text, sizeof(text));
	ck_assert(v.how == VERDICT_HOW_TORN);
	ck_assert_str_eq(text, "broken: torn 7 torn reads");
	sym(r, "leaked_bytes", 0);
	sym(r, "lost_deletes", 3);
	sym(r, "lost_updates", -1);
	json_object_set_new(json_object_get(r, "symptoms"), "garbage_reads",
			    json_string("12"));
	sym(r, "invariant_violations", 2);
	judge(r, NULL, &v, text, sizeof(text));
	ck_assert(v.cls == VERDICT_BROKEN && v.how == VERDICT_HOW_CORRUPT);
	ck_assert_str_eq(v.how_word, "corrupt");
	ck_assert_str_eq(text, "broken: corrupt lost_deletes=3, "
			       "invariant_violations=2");
	check_json(&v);
	json_decref(r);
}
END_TEST

/* ---- the stall thresholds ------------------------------------------------ */

static const struct stall_case {
	double ref_inflight, ref_p99_ms; /* the reference */
	double inflight, p99_ns;	 /* the judged run */
	const char *detail;		 /* NULL: holds */
} stall_cases[] = {
	/* both signs at 5x: a stall; each just below: none */
	{1000, 20, 5000, 100e6,
	 "in-flight peak 5000 and p99 100.0 ms (5x and 5x the median ok "
	 "run's 1000 and 20.0 ms)"},
	{1000, 20, 4999, 100e6, NULL},
	{1000, 20, 5000, 99999999, NULL},
	/* one sign alone, however large, is no stall (a preempted thread) */
	{1000, 20, 50000, 1e6, NULL},
	{1000, 20, 50, 900e6, NULL},
	/* the in-flight floor: 19.98x but under 1000; then at 1000 */
	{50, 10, 999, 100e6, NULL},
	{50, 10, 1000, 100e6,
	 "in-flight peak 1000 and p99 100.0 ms (20x and 10x the median ok "
	 "run's 50 and 10.0 ms)"},
	/* the p99 floor: 10x but under 50 ms; then at 50 ms */
	{1000, 5, 6000, 49999999, NULL},
	{1000, 5, 6000, 50e6,
	 "in-flight peak 6000 and p99 50.0 ms (6x and 10x the median ok "
	 "run's 1000 and 5.0 ms)"},
	/* an unknown p99 reference: no stall rule */
	{1000, NAN, 50000, 500e6, NULL},
};
#define NSTALL (sizeof(stall_cases) / sizeof(stall_cases[0]))
#define HOLDS40 "holds: peak live 40 MiB, RSS 60 MiB, p99 "

START_TEST(stall_thresholds)
{
	const struct stall_case *c = &stall_cases[_i];
	struct verdict_ref ref = {.inflight = c->ref_inflight,
				  .p99_ms = c->ref_p99_ms};
	json_t *r = hand("m", "ok", c->inflight, c->p99_ns);
	struct verdict v;
	char text[300];

	judge(r, &ref, &v, text, sizeof(text));
	if (c->detail) {
		ck_assert_msg(v.cls == VERDICT_BROKEN &&
				      v.how == VERDICT_HOW_STALL,
			      "case %d: %s", _i, text);
		ck_assert_str_eq(v.how_word, "stall");
		ck_assert_str_eq(v.detail, c->detail);
	} else {
		ck_assert_msg(v.cls == VERDICT_HOLDS &&
				      v.how == VERDICT_HOW_NONE,
			      "case %d: %s", _i, text);
		ck_assert_msg(!strncmp(text, HOLDS40, strlen(HOLDS40)),
			      "case %d: %s", _i, text);
	}
	/* no reference, no stall */
	judge(r, NULL, &v, text, sizeof(text));
	ck_assert_msg(v.cls == VERDICT_HOLDS, "case %d: %s", _i, text);
	json_decref(r);
}
END_TEST

/* ---- growth ------------------------------------------------------------ */

/* Rows of {rss_mib, live_mib, t_s}: t = 0.5 i; live 500 in the first
 * half (the warm-up, ignored), 10 + slope t in the second. */
static json_t *series(size_t n, double slope)
{
	json_t *rows = json_array();

	for (size_t i = 0; i < n; i++) {
		double t = 0.5 * (double)i;
		double live = i < n / 2 ? 500 : 10 + slope * t;

		json_array_append_new(rows, json_pack("[f, f, f]", 900.0, live,
						      t));
	}
	return json_pack("{s:i, s:[s, s, s], s:o}", "interval_ms", 500,
			 "columns", "rss_mib", "live_mib", "t_s", "rows",
			 rows);
}

START_TEST(growth_linear)
{
	json_t *r = hand("m", "ok", 10, 1e6);
	struct verdict v;
	json_t *j;

	json_object_set_new(r, "series", series(16, 2.0));
	ck_assert_double_eq(verdict_growth_mib_s(r), 2.0);
	verdict_of(r, NULL, &v);
	ck_assert_double_eq(v.growth_mib_s, 2.0);
	/* (100 MiB budget - 40 MiB peak live) / 2 MiB/s */
	ck_assert_double_eq(v.to_cap_s, 30.0);
	j = verdict_json(&v);
	ck_assert_double_eq(json_real_value(json_object_get(j, "growth_mib_s")),
			    2.0);
	ck_assert_double_eq(json_real_value(json_object_get(j, "to_cap_s")),
			    30.0);
	json_decref(j);
	/* 8 rows: 4 in the second half, the fewest that give a slope */
	json_object_set_new(r, "series", series(8, -3.0));
	ck_assert_double_eq(verdict_growth_mib_s(r), -3.0);
	verdict_of(r, NULL, &v);
	ck_assert(isnan(v.to_cap_s)); /* shrinking: never reaches the cap */
	/* growing too slowly, or already past the budget: no projection */
	json_object_set_new(r, "series", series(16, 0.0625));
	verdict_of(r, NULL, &v);
	ck_assert_double_eq(v.growth_mib_s, 0.0625);
	ck_assert(isnan(v.to_cap_s));
	json_object_set_new(r, "series", series(16, 2.0));
	json_object_set_new(json_object_get(r, "summary"), "peak_live_bytes",
			    json_real(100 * MIB));
	verdict_of(r, NULL, &v);
	ck_assert_double_eq(v.growth_mib_s, 2.0);
	ck_assert(isnan(v.to_cap_s));
	json_decref(r);
}
END_TEST

START_TEST(growth_unknown)
{
	json_t *r = hand("m", "ok", 10, 1e6);
	json_t *ser, *rows;
	struct verdict v;
	char text[300];
	json_t *j;

	/* no series at all: still a verdict, with no growth */
	judge(r, NULL, &v, text, sizeof(text));
	ck_assert(v.cls == VERDICT_HOLDS);
	ck_assert_str_eq(text, HOLDS40 "1.0 ms");
	ck_assert(isnan(v.growth_mib_s) && isnan(v.to_cap_s));
	j = verdict_json(&v);
	ck_assert(json_is_null(json_object_get(j, "growth_mib_s")));
	ck_assert(json_is_null(json_object_get(j, "to_cap_s")));
	json_decref(j);
	/* 16 rows, but only 3 known live samples in the second half */
	ser = series(16, 2.0);
	rows = json_object_get(ser, "rows");
	for (size_t i = 8; i < 13; i++)
		json_array_set_new(json_array_get(rows, i), 1, json_null());
	json_object_set_new(r, "series", ser);
	ck_assert(isnan(verdict_growth_mib_s(r)));
	/* one more known sample (t = 6: 10 + 2 x 6): a slope again */
	json_array_set_new(json_array_get(rows, 12), 1, json_real(22.0));
	ck_assert_double_eq(verdict_growth_mib_s(r), 2.0);
	/* every sample at the same time: no slope */
	for (size_t i = 0; i < 16; i++)
		json_array_set_new(json_array_get(rows, i), 2, json_real(1.0));
	ck_assert(isnan(verdict_growth_mib_s(r)));
	/* no live_mib column */
	json_object_set_new(r, "series", series(16, 2.0));
	json_array_set_new(json_object_get(json_object_get(r, "series"),
					   "columns"),
			   1, json_string("rss2_mib"));
	ck_assert(isnan(verdict_growth_mib_s(r)));
	json_decref(r);
}
END_TEST

static Suite *verdict_suite(void)
{
	Suite *s = suite_create("verdict");
	TCase *tr = tcase_create("recorded");
	TCase *th = tcase_create("hand-built");

	tcase_add_loop_test(tr, real_records, 0, NREAL);
	tcase_add_test(tr, real_reference);
	tcase_add_test(tr, real_rule_order);
	suite_add_tcase(s, tr);
	tcase_add_test(th, hand_reference);
	tcase_add_test(th, tipped_rule);
	tcase_add_test(th, hang);
	tcase_add_loop_test(th, no_verdict, 0, 3);
	tcase_add_test(th, crash_and_oom_details);
	tcase_add_test(th, corrupt_beside_torn);
	tcase_add_loop_test(th, stall_thresholds, 0, NSTALL);
	tcase_add_test(th, runtime_reference);
	tcase_add_test(th, growth_linear);
	tcase_add_test(th, growth_unknown);
	suite_add_tcase(s, th);
	return s;
}

int main(void)
{
	return ck_run(verdict_suite());
}

/*
 * tests/check_results_record.c - the store's typed view of a run record
 * (harness/store/results.h results_view*), the one reader the report and
 * the CLI table go through: over the committed fixture's real records and
 * small hand-made ones, what each field reads, what a missing or mistyped
 * field reads (NULL / NaN / rep -1), how a record's view is completed by
 * its summary entry, the dotted-path lookup the incident facts use, and
 * the base name of a run's files.  Pure: no process is started.
 */
#include <check.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "harness/store/results.h"
#include "tests/ck_run.h"

static json_t *fixture_record(const char *name)
{
	char path[PATH_MAX];
	json_error_t e;
	json_t *r;

	snprintf(path, sizeof(path), "results/fixture/runs/%s.json", name);
	r = json_load_file(path, 0, &e);
	ck_assert_msg(r, "%s: %s", path, e.text);
	return r;
}

/* Every field the view carries is the record's own value. */
START_TEST(view_reads_a_fixture_record)
{
	json_t *r = fixture_record("config.mutex.r1");
	json_t *sm = json_object_get(r, "summary");
	struct results_run_view v;
	char base[200];

	ck_assert(results_view(r, &v));
	ck_assert_str_eq(v.incident, "config");
	ck_assert_str_eq(v.variant, "mutex");
	ck_assert_str_eq(v.outcome,
			 json_string_value(json_object_get(r, "outcome")));
	ck_assert_int_eq(v.rep, 1);
	ck_assert(v.ops == json_number_value(json_object_get(sm, "ops")));
	ck_assert(v.p99_ns == json_number_value(json_object_get(
				      json_object_get(sm, "latency_ns"), "p99")));
	ck_assert(v.seconds == json_number_value(json_object_get(r, "seconds")));
	ck_assert(v.symptoms == json_object_get(r, "symptoms"));
	ck_assert(results_view_field(&v, "summary.peak_live_bytes") ==
		  v.peak_live_bytes);
	ck_assert(results_view_field(&v, "summary.latency_ns.p99") == v.p99_ns);
	ck_assert(isnan(results_view_field(&v, "summary.no_such_field")));
	results_view_name(&v, base, sizeof(base));
	ck_assert_str_eq(base, "config.mutex.r1");
	json_decref(r);
}
END_TEST

/* Absent, null or mistyped fields: NULL, NaN, rep -1, false without an
 * outcome; the name still says which parts are missing. */
START_TEST(view_of_a_sparse_record)
{
	json_t *r = json_pack("{s:s, s:s, s:s, s:n, s:{s:s}, s:{}}", "incident",
			      "metrics", "variant", "rcu", "rep", "two",
			      "duration_s", "summary", "ops", "many",
			      "symptoms");
	struct results_run_view v;
	char base[200];

	ck_assert_ptr_nonnull(r);
	ck_assert(!results_view(r, &v)); /* no outcome */
	ck_assert_int_eq(v.rep, -1);
	ck_assert(isnan(v.duration_s) && isnan(v.ops) && isnan(v.p99_ns));
	ck_assert_ptr_null(v.signal);
	ck_assert_ptr_null(v.oom_cap);
	ck_assert_ptr_nonnull(v.symptoms);
	ck_assert(v.symptoms_positive == 0);
	results_view_name(&v, base, sizeof(base));
	ck_assert_str_eq(base, "metrics.rcu.r-1");
	json_decref(r);
}
END_TEST

/* A record's view completed by its summary entry: what the record lacks
 * comes from the entry, what it has stays. */
START_TEST(view_completed_by_the_summary_entry)
{
	json_t *rec = json_pack("{s:s, s:s, s:i, s:s, s:{s:f}}", "incident",
				"payment", "variant", "unsafe", "rep", 3,
				"outcome", "crash", "summary", "ops", 10.0);
	json_t *sum = json_pack("{s:s, s:s, s:i, s:s, s:{s:s}, s:{s:f, s:f},"
				" s:{s:i}}", "incident", "payment", "variant",
				"unsafe", "rep", 3, "outcome", "oom", "signal",
				"name", "SIGKILL", "summary", "ops", 99.0,
				"peak_rss_bytes", 4096.0, "symptoms",
				"lost_writes", 7);
	struct results_run_view v, sv;

	ck_assert_ptr_nonnull(rec);
	ck_assert_ptr_nonnull(sum);
	ck_assert(results_view(rec, &v));
	ck_assert(results_view(sum, &sv));
	results_view_complete(&v, &sv);
	ck_assert_str_eq(v.outcome, "crash"); /* the record's */
	ck_assert(v.ops == 10.0);
	ck_assert_str_eq(v.signal, "SIGKILL"); /* the entry's */
	ck_assert(v.peak_rss_bytes == 4096.0);
	ck_assert(v.symptoms_positive == 1);
	ck_assert(isnan(v.p99_ns)); /* neither has it */
	json_decref(rec);
	json_decref(sum);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("results_record");
	TCase *tc = tcase_create("view");

	tcase_add_test(tc, view_reads_a_fixture_record);
	tcase_add_test(tc, view_of_a_sparse_record);
	tcase_add_test(tc, view_completed_by_the_summary_entry);
	suite_add_tcase(s, tc);
	return ck_run(s);
}

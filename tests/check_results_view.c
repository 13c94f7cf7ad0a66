/*
 * tests/check_results_view.c - the results a workshop participant reads
 * without jq: each incident's key figure in the run/matrix table
 * (harness/cli/keyfig.c, over the committed fixture's real records), and
 * `--dir DIR` (one folder per workshop step: each command's results
 * folder inside DIR, DIR/index.html linking them, `maplab report DIR`
 * re-rendering each), `--report`/`--no-report`, and their bad input
 * (exit 2, nothing written).  The CLI cases run the harness on the
 * `fxclean` fixture for 0.3 s (maplab-fixtures).
 * The "view" case is pure: the store's typed view of a run record
 * (results_view*, the one reader the report and the CLI table go
 * through), over a fixture record and hand-made ones: what each field
 * reads, what a missing or mistyped one reads (NULL / NaN / rep -1), a
 * record's view completed by its summary entry's, the dotted-path lookup
 * the incident facts use, and a run's base name.
 */
#include <check.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>

#include "harness/cli/keyfig.h"
#include "harness/store/results.h"
#include "tests/ck_run.h"

#ifndef MAPLAB_BUILD_DIR
#define MAPLAB_BUILD_DIR "build"
#endif

static json_t *fixture_record(const char *name)
{
	char path[PATH_MAX];
	json_error_t e;
	json_t *r;

	snprintf(path, sizeof(path), "results/fixture/runs/%s.r1.json", name);
	r = json_load_file(path, 0, &e);
	ck_assert_msg(r, "%s: %s", path, e.text);
	return r;
}

static void figure_is(const char *run, const char *want)
{
	json_t *r = fixture_record(run);
	char buf[128];

	keyfig_text(r, buf, sizeof(buf));
	ck_assert_msg(!strcmp(buf, want), "%s: key figure '%s', want '%s'", run,
		      buf, want);
	json_decref(r);
}

/* The figures the exercises ask about, from the records' own numbers
 * (fixture: payment mutex's longest sweep 46.25 ms, syncmap's 849,509
 * dirty copies, config unsafe's 1,616 torn reads). */
START_TEST(key_figures_of_the_fixture)
{
	figure_is("payment.mutex", "sweep max 46 ms");
	figure_is("metrics.syncmap", "walk max 220 ms, copied 850k");
	figure_is("metrics.mutex", "walk max 397 ms");
	figure_is("config.unsafe", "torn 1616, frag peak 57%");
	figure_is("metrics.unsafe", "walk max 51 ms"); /* crashed at 0.5 s */
	{
		json_t *bare = json_pack("{s:s}", "incident", "payment");
		char buf[32];

		keyfig_text(bare, buf, sizeof(buf)); /* no sweep recorded */
		ck_assert_str_eq(buf, "-");
		json_decref(bare);
	}
}
END_TEST

static int sh(const char *fmt, const char *a, const char *b)
{
	char cmd[2 * PATH_MAX];
	int st;

	snprintf(cmd, sizeof(cmd), fmt, MAPLAB_BUILD_DIR, a, b);
	st = system(cmd);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

static int count_runs(const char *dir, const char *file)
{
	char cmd[PATH_MAX + 64];
	int n = -1;
	FILE *p;

	snprintf(cmd, sizeof(cmd), "ls -d %s/*/%s 2>/dev/null | wc -l", dir, file);
	p = popen(cmd, "r");
	if (p && fscanf(p, "%d", &n) != 1)
		n = -1;
	if (p)
		pclose(p);
	return n;
}

START_TEST(dir_groups_a_step)
{
	char tmp[] = "/tmp/maplab-view-XXXXXX", dir[256], path[PATH_MAX];
	const char *run = "%s/maplab-fixtures run --incident fxclean --variant "
			  "mutex --seconds 0.3s --dir %s -q %s >/dev/null 2>&1";
	struct stat st;
	char *html = NULL;
	size_t len = 0;
	FILE *f;

	ck_assert_ptr_nonnull(mkdtemp(tmp));
	snprintf(dir, sizeof(dir), "%s/step1", tmp);
	ck_assert_int_eq(sh(run, dir, "--no-report"), 0);
	ck_assert_int_eq(sh(run, dir, "--report"), 0);
	ck_assert_int_eq(count_runs(dir, "manifest.json"), 2);
	ck_assert_int_eq(count_runs(dir, "report.html"), 1);
	snprintf(path, sizeof(path), "%s/index.html", dir);
	f = fopen(path, "r");
	ck_assert_ptr_nonnull(f);
	html = calloc(1, 65536);
	len = fread(html, 1, 65535, f);
	fclose(f);
	ck_assert_uint_gt(len, 0);
	ck_assert_msg(strstr(html, "--no-report") && strstr(html, "--report"),
		      "index.html lists both commands:\n%s", html);
	ck_assert(strstr(html, "/report.html\">report</a>"));
	/* report DIR renders every folder of the group */
	ck_assert_int_eq(sh("%s/maplab-fixtures report %s %s >/dev/null 2>&1",
			    dir, ""), 0);
	ck_assert_int_eq(count_runs(dir, "report.html"), 2);
	/* bad input: exit 2, nothing written */
	snprintf(path, sizeof(path), "%s/nope/step", tmp);
	ck_assert_int_eq(sh(run, path, ""), 2);
	snprintf(path, sizeof(path), "%s/nope", tmp);
	ck_assert_int_ne(stat(path, &st), 0);
	snprintf(path, sizeof(path), "%s/other", tmp);
	ck_assert_int_eq(sh(run, path, "--out /tmp/maplab-view-never"), 2);
	ck_assert_int_ne(stat(path, &st), 0);
	ck_assert_int_ne(stat("/tmp/maplab-view-never", &st), 0);
	free(html);
	snprintf(path, sizeof(path), "rm -rf %s", tmp);
	ck_assert_int_eq(system(path), 0);
}
END_TEST

/* The base name of a run's files, from its view. */
static void view_name_is(const struct results_run_view *v, const char *want)
{
	char base[200];

	results_view_name(v, base, sizeof(base));
	ck_assert_str_eq(base, want);
}

/* Every field the view carries is the record's own value. */
START_TEST(view_reads_a_fixture_record)
{
	json_t *r = fixture_record("config.mutex");
	json_t *sm = json_object_get(r, "summary");
	struct results_run_view v;

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
	view_name_is(&v, "config.mutex.r1");
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

	ck_assert_ptr_nonnull(r);
	ck_assert(!results_view(r, &v)); /* no outcome */
	ck_assert_int_eq(v.rep, -1);
	ck_assert(isnan(v.duration_s) && isnan(v.ops) && isnan(v.p99_ns));
	ck_assert_ptr_null(v.signal);
	ck_assert_ptr_null(v.oom_cap);
	ck_assert_ptr_nonnull(v.symptoms);
	ck_assert(v.symptoms_positive == 0);
	view_name_is(&v, "metrics.rcu.r-1");
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
	Suite *s = suite_create("results_view");
	TCase *tc = tcase_create("results_view");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, key_figures_of_the_fixture);
	tcase_add_test(tc, dir_groups_a_step);
	suite_add_tcase(s, tc);
	tc = tcase_create("view");
	tcase_add_test(tc, view_reads_a_fixture_record);
	tcase_add_test(tc, view_of_a_sparse_record);
	tcase_add_test(tc, view_completed_by_the_summary_entry);
	suite_add_tcase(s, tc);
	return ck_run(s);
}

/*
 * tests/check_results_view.c - the results a workshop participant reads
 * without jq: each incident's key figure in the run/matrix table
 * (harness/cli/keyfig.c, over the committed fixture's real records), and
 * `--dir DIR` (one folder per workshop step: each command's results
 * folder inside DIR, DIR/index.html linking them, `maplab report DIR`
 * re-rendering each), `--report`/`--no-report`, and their bad input
 * (exit 2, nothing written).  The CLI cases run the harness on the
 * `fxclean` fixture for 0.3 s (maplab-fixtures).
 */
#include <check.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>

#include "harness/cli/keyfig.h"
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

int main(void)
{
	Suite *s = suite_create("results_view");
	TCase *tc = tcase_create("results_view");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, key_figures_of_the_fixture);
	tcase_add_test(tc, dir_groups_a_step);
	suite_add_tcase(s, tc);
	return ck_run(s);
}

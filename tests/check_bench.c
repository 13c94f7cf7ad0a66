/*
 * tests/check_bench.c - This file contains the Check suite for `maplab
 * bench` (harness/bench/bench.c and its peers).
 *
 * It runs a tiny benchmark in-process through bench_main() (which forks its
 * own children) into a temporary --out run folder and checks the results
 * contract: manifest.json of kind "bench", bench.json naming every
 * registered variant (exercise variants aside) and both peers with a
 * positive median ops/s at one thread, not-thread-safe variants skipped at
 * two, no byte left in the counting allocator once every map is closed,
 * and one data/bench.<mix>.<keys>.dat per point with the header
 * "threads <impl>...".  It runs twice: with the default reference-counted
 * values and with --values plain, each recorded in bench.json's params.
 * Bad input must exit 2 and write nothing.  The `binary` case runs the
 * maplab binary itself (see test_bench_binary: in a TSan build, the check
 * that the bench runs clean with only liburcu's internals suppressed).
 *
 * Speed is never asserted: the machine is shared and loaded.
 */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness/bench/bench.h"
#include "maps/map.h"
#include "tests/ck_run.h"

#ifndef MAPLAB_BUILD_DIR
#define MAPLAB_BUILD_DIR "build"
#endif

static const char *const mixes[] = {"r99", "r90", "w50", "churn"};
#define NMIX (sizeof(mixes) / sizeof(mixes[0]))
static const char *const peer_names[] = {"glib", "lfht", "ck"};
#define NPEER (sizeof(peer_names) / sizeof(peer_names[0]))

static void rm_rf(const char *path)
{
	char cmd[4200];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", path);
	if (system(cmd) != 0)
		fprintf(stderr, "check_bench: could not remove %s\n", path);
}

static int count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

static int run_bench(int argc, const char **argv)
{
	return bench_main(argc, (char **)argv);
}

/* The point for (mix, impl, threads) in bench.json, or NULL. */
static json_t *find_point(json_t *points, const char *mix, const char *impl,
			  int threads)
{
	size_t i;
	json_t *p;

	json_array_foreach(points, i, p) {
		if (!strcmp(json_string_value(json_object_get(p, "mix")), mix) &&
		    !strcmp(json_string_value(json_object_get(p, "impl")), impl) &&
		    json_integer_value(json_object_get(p, "threads")) == threads)
			return p;
	}
	return NULL;
}

static void check_point(json_t *points, const char *mix, const char *impl,
			int threads, bool skipped)
{
	json_t *p = find_point(points, mix, impl, threads);
	const char *st;

	ck_assert_msg(p, "no point for %s %s %d threads", mix, impl, threads);
	st = json_string_value(json_object_get(p, "status"));
	ck_assert_ptr_nonnull(st);
	if (skipped) {
		ck_assert_str_eq(st, "skipped");
		return;
	}
	ck_assert_msg(!strcmp(st, "ok"), "%s %s %d threads: status %s (%s)",
		      mix, impl, threads, st,
		      json_string_value(json_object_get(p, "error")) ?: "");
	ck_assert_msg(json_real_value(json_object_get(p, "median_ops_s")) > 0,
		      "%s %s %d threads: no positive ops/s", mix, impl, threads);
	ck_assert(json_real_value(json_object_get(p, "min_ops_s")) <=
		  json_real_value(json_object_get(p, "max_ops_s")));
}

static void check_dat(const char *dir, const char *mix, json_t *impls)
{
	char path[8400], line[4096], *tok;
	FILE *f;
	size_t i = 0, rows = 0;
	json_t *im;

	snprintf(path, sizeof(path), "%s/data/bench.%s.2000.dat", dir, mix);
	f = fopen(path, "r");
	ck_assert_msg(f, "missing %s", path);
	ck_assert(fgets(line, sizeof(line), f));
	ck_assert_msg(line[0] != '#', "header must not start with '#'");
	tok = strtok(line, " \t\n");
	ck_assert_str_eq(tok, "threads");
	json_array_foreach(impls, i, im) {
		tok = strtok(NULL, " \t\n");
		ck_assert_ptr_nonnull(tok);
		ck_assert_str_eq(tok, json_string_value(json_object_get(im, "name")));
	}
	ck_assert_ptr_null(strtok(NULL, " \t\n"));
	while (fgets(line, sizeof(line), f)) {
		double thr = strtod(line, NULL);

		ck_assert(thr == 1 || thr == 2);
		rows++;
	}
	fclose(f);
	ck_assert_uint_eq(rows, 2);
}

/* A point per mix and thread count for every registered variant that is
 * not an exercise and every peer, and nothing else in impls. */
static void check_every_map(json_t *points, json_t *impls)
{
	size_t nexpect = 0;

	for (size_t i = 0; i < map_variant_count(); i++) {
		const struct map_variant *v = map_variant_at(i);

		if (v->flags & MAP_V_EXERCISE)
			continue;
		nexpect++;
		for (size_t m = 0; m < NMIX; m++) {
			check_point(points, mixes[m], v->name, 1, false);
			check_point(points, mixes[m], v->name, 2,
				    !(v->flags & MAP_V_THREADSAFE));
		}
	}
	for (size_t i = 0; i < NPEER; i++) {
		nexpect++;
		for (size_t m = 0; m < NMIX; m++) {
			check_point(points, mixes[m], peer_names[i], 1, false);
			check_point(points, mixes[m], peer_names[i], 2, false);
		}
	}
	ck_assert_uint_eq(json_array_size(impls), nexpect);
}

/* Every group finished and gave every byte back after the closes. */
static void check_groups(json_t *bj)
{
	json_t *groups = json_object_get(bj, "groups"), *g;
	size_t i;

	ck_assert_uint_eq(json_array_size(groups), NMIX);
	json_array_foreach(groups, i, g) {
		ck_assert(json_is_true(json_object_get(g, "completed")));
		ck_assert_int_eq(json_integer_value(json_object_get(
					 g, "leaked_bytes")), 0);
	}
}

/* Loop index: 0 = defaults (refcounted values, retained reads),
 * 1 = --values plain, 2 = --reads borrowed. */
static const char *const values_mode[] = {"refcounted", "plain",
					  "refcounted"};
static const char *const reads_mode[] = {"retained", "retained",
					 "borrowed"};

START_TEST(test_bench_quick_writes_results)
{
	char tmpl[] = "/tmp/check_bench.XXXXXX", dir[4200], path[4300];
	const char *tmp = mkdtemp(tmpl);
	const char *argv[] = {"bench",     "--quick", "--keys",   "2000",
			      "--seconds", "0.02",    "--reps",   "1",
			      "--threads", "1,2",     "--out",    dir,
			      _i == 2 ? "--reads" : "--values",
			      _i == 2 ? "borrowed" : "plain"};
	int argc = sizeof(argv) / sizeof(argv[0]) - (_i == 0 ? 2 : 0);
	json_error_t jerr;
	json_t *man, *bj, *impls, *points;

	ck_assert_ptr_nonnull(tmp);
	snprintf(dir, sizeof(dir), "%s/run", tmp);
	ck_assert_int_eq(run_bench(argc, argv), 0);

	snprintf(path, sizeof(path), "%s/manifest.json", dir);
	man = json_load_file(path, 0, &jerr);
	ck_assert_msg(man, "manifest.json: %s", jerr.text);
	ck_assert_str_eq(json_string_value(json_object_get(man, "kind")), "bench");
	ck_assert(json_is_true(json_object_get(man, "complete")));
	ck_assert(json_is_array(json_object_get(man, "argv")));
	snprintf(path, sizeof(path), "%s/INCOMPLETE", dir);
	ck_assert_int_ne(access(path, F_OK), 0);

	snprintf(path, sizeof(path), "%s/bench.json", dir);
	bj = json_load_file(path, 0, &jerr);
	ck_assert_msg(bj, "bench.json: %s", jerr.text);
	ck_assert_str_eq(json_string_value(json_object_get(
				 json_object_get(bj, "params"), "values")),
			 values_mode[_i]);
	ck_assert_str_eq(json_string_value(json_object_get(
				 json_object_get(bj, "params"), "reads")),
			 reads_mode[_i]);
	ck_assert_str_eq(json_string_value(json_object_get(
				 json_object_get(man, "params"), "reads")),
			 reads_mode[_i]);
	impls = json_object_get(bj, "impls");
	points = json_object_get(bj, "points");
	ck_assert(json_is_array(impls) && json_is_array(points));

	check_every_map(points, impls);
	check_groups(bj);
	for (size_t m = 0; m < NMIX; m++)
		check_dat(dir, mixes[m], impls);

	json_decref(bj);
	json_decref(man);
	rm_rf(tmp);
}
END_TEST

/* --callgrind: per-op counts for each map and op land in bench.json.
 * Needs valgrind (./run.sh bench --callgrind installs it); without it the
 * option is refused as bad input, which is what this then checks. */
START_TEST(test_bench_callgrind)
{
	char tmpl[] = "/tmp/check_bench.XXXXXX", dir[4200], path[4300];
	const char *tmp = mkdtemp(tmpl);
	const char *argv[] = {"bench",     "--quick",  "--keys",    "1000",
			      "--seconds", "0.02",     "--reps",    "1",
			      "--threads", "1",        "--mix",     "r100",
			      "--variant", "rwlock,rcu,ck", "--out", dir,
			      "--callgrind"};
	int argc = sizeof(argv) / sizeof(argv[0]);
	bool have = system("command -v valgrind >/dev/null 2>&1") == 0;
	json_error_t jerr;
	json_t *bj, *cg, *e;
	size_t i;

	ck_assert_ptr_nonnull(tmp);
	snprintf(dir, sizeof(dir), "%s/run", tmp);
#ifdef CK_UNDER_SANITIZER
	/* valgrind cannot run a sanitizer build's maplab; the plain build's
	 * suite runs this test */
	rm_rf(tmp);
	return;
#endif
	if (!have) {
		fprintf(stderr, "check_bench: no valgrind: --callgrind must be "
				"refused\n");
		ck_assert_int_eq(run_bench(argc, argv), 2);
		rm_rf(tmp);
		return;
	}
	/* the child mode runs in maplab, not in this test binary */
	ck_assert_int_eq(setenv("MAPLAB_BIN", MAPLAB_BUILD_DIR "/maplab", 1), 0);
	ck_assert_int_eq(run_bench(argc, argv), 0);
	snprintf(path, sizeof(path), "%s/bench.json", dir);
	bj = json_load_file(path, 0, &jerr);
	ck_assert_msg(bj, "bench.json: %s", jerr.text);
	cg = json_object_get(bj, "callgrind");
	ck_assert_uint_eq(json_array_size(cg), 3 * 3); /* maps x ops */
	json_array_foreach(cg, i, e) {
		double ir = json_number_value(json_object_get(e, "ir_per_op"));

		/* a map operation is tens to thousands of instructions */
		ck_assert_msg(ir > 20 && ir < 20000, "%s %s: %.1f instructions",
			      json_string_value(json_object_get(e, "impl")),
			      json_string_value(json_object_get(e, "op")), ir);
		ck_assert(json_number_value(json_object_get(
				  e, "ll_misses_per_op")) >= 0);
	}
	json_decref(bj);
	rm_rf(tmp);
}
END_TEST

/* The maplab binary as a user runs it, on the maps whose synchronisation
 * is in liburcu (rcu, lfht) or ck, with TSAN_OPTIONS unset: in a TSan
 * build only the suppressions the binary carries apply (tests/tsan.supp's,
 * compiled in), and a TSan report in a child ends it with TSan's exit code
 * 66, which fails its point.  So every point ok and exit 0 means the bench
 * runs clean under TSan (`make tsan-concurrency` runs this case); in other
 * builds it is the binary's own end-to-end run. */
START_TEST(test_bench_binary)
{
	static const char *const maps[] = {"rcu", "lfht", "ck"};
	static const char *const bmix[] = {"r90", "churn"};
	char tmpl[] = "/tmp/check_bench.XXXXXX", dir[4200], path[4300];
	const char *tmp = mkdtemp(tmpl);
	json_error_t jerr;
	json_t *bj, *points;
	int st;
	pid_t pid;

	ck_assert_ptr_nonnull(tmp);
	snprintf(dir, sizeof(dir), "%s/run", tmp);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		unsetenv("TSAN_OPTIONS");
		if (!freopen("/dev/null", "w", stdout))
			_exit(127);
		execl(MAPLAB_BUILD_DIR "/maplab", "maplab", "bench", "--quick",
		      "--keys", "1000", "--seconds", "0.02", "--reps", "1",
		      "--threads", "1,2", "--mix", "r90,churn", "--variant",
		      "rcu,lfht,ck", "--out", dir, (char *)NULL);
		_exit(127);
	}
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	snprintf(path, sizeof(path), "%s/bench.json", dir);
	bj = json_load_file(path, 0, &jerr);
	ck_assert_msg(bj, "%s/maplab bench wrote no bench.json (status %d): %s",
		      MAPLAB_BUILD_DIR, st, jerr.text);
	points = json_object_get(bj, "points");
	/* the points before the status: a failure then names the point and
	 * its reason ("child exited with status 66": TSan reported) */
	for (size_t m = 0; m < 2; m++)
		for (size_t i = 0; i < 3; i++)
			for (int t = 1; t <= 2; t++)
				check_point(points, bmix[m], maps[i], t, false);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0,
		      "maplab bench: status %d", st);
	json_decref(bj);
	rm_rf(tmp);
}
END_TEST

/* Each row: argv after "bench" (NULL-terminated), must exit 2. */
static const char *const bad_inputs[][6] = {
	{"--mix", "r101", NULL},
	{"--mix", "read", NULL},
	{"--keys", "0", NULL},
	{"--keys", "ten", NULL},
	{"--threads", "0", NULL},
	{"--threads", "1,,x", NULL},
	{"--reps", "0", NULL},
	{"--reps", NULL},
	{"--seconds", "-1", NULL},
	{"--variant", "nosuchmap", NULL},
	{"--variant", "mutex,mutex", NULL},
	{"--budget", "1K", NULL},
	{"--values", "borrowed", NULL},
	{"--reads", "plain", NULL},
	{"--frobnicate", NULL},
	{"--out=", NULL},
	{"--mix", "r99,r99", NULL},
	{"--keys", "1,2,3,4,5,6,7,8,9", NULL},
	{"--seed", "x", NULL},
	{"--keys", "abc", NULL},
	{"--reads", "xyz", NULL},
	{"--mix", "x50", NULL},
};
#define NBAD (sizeof(bad_inputs) / sizeof(bad_inputs[0]))

/* Runs bench with argv, its stderr into err (len bytes); its exit code. */
static int run_bench_stderr(int argc, const char **argv, char *err,
			    size_t len)
{
	FILE *f = tmpfile();
	int saved = dup(2), rc;
	size_t n;

	ck_assert(f && saved >= 0);
	fflush(stderr);
	ck_assert_int_eq(dup2(fileno(f), 2), 2);
	rc = run_bench(argc, argv);
	fflush(stderr);
	ck_assert_int_eq(dup2(saved, 2), 2);
	close(saved);
	rewind(f);
	n = fread(err, 1, len - 1, f);
	err[n] = '\0';
	fclose(f);
	return rc;
}

/* Bad input, with --out and without (then in an empty working folder,
 * where the default results/ would go): exit 2, one line on stderr that
 * names the command and points to --help, and nothing written. */
START_TEST(test_bench_bad_input)
{
	char tmpl[] = "/tmp/check_bench.XXXXXX", out[4200], err[1024];
	char cwd[4096];
	const char *tmp = mkdtemp(tmpl);
	const char *argv[10];

	ck_assert_ptr_nonnull(tmp);
	ck_assert_ptr_nonnull(getcwd(cwd, sizeof(cwd)));
	snprintf(out, sizeof(out), "%s/out", tmp);
	for (int with_out = 1; with_out >= 0; with_out--) {
		int argc = 0;
		char *nl;

		argv[argc++] = "bench";
		if (with_out) {
			argv[argc++] = "--out";
			argv[argc++] = out;
		} else {
			ck_assert_int_eq(chdir(tmp), 0);
		}
		for (int i = 0; bad_inputs[_i][i]; i++)
			argv[argc++] = bad_inputs[_i][i];
		argv[argc] = NULL;
		ck_assert_int_eq(run_bench_stderr(argc, argv, err, sizeof(err)),
				 2);
		nl = strchr(err, '\n');
		ck_assert_msg(!strncmp(err, "maplab bench: ", 14) && nl &&
				      !nl[1] && strstr(err, "--help"),
			      "not one line naming bench and --help: '%s'", err);
		/* nothing written: not the --out folder, not results/ */
		ck_assert_int_eq(count_entries(tmp), 0);
	}
	ck_assert_int_eq(chdir(cwd), 0);
	rm_rf(tmp);
}
END_TEST

START_TEST(test_bench_help)
{
	const char *argv[] = {"bench", "--help"};

	ck_assert_int_eq(run_bench(2, argv), 0);
}
END_TEST

static Suite *bench_suite(void)
{
	Suite *s = suite_create("bench");
	TCase *tc = tcase_create("run");

	tcase_set_timeout(tc, 300);
	tcase_add_loop_test(tc, test_bench_quick_writes_results, 0, 3);
	tcase_add_test(tc, test_bench_callgrind);
	suite_add_tcase(s, tc);
	tc = tcase_create("binary");
	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, test_bench_binary);
	suite_add_tcase(s, tc);
	tc = tcase_create("input");
	tcase_set_timeout(tc, 30);
	tcase_add_loop_test(tc, test_bench_bad_input, 0, NBAD);
	tcase_add_test(tc, test_bench_help);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return ck_run(bench_suite());
}

/*
 * tests/check_shard.c - `--shard I/N` and the merge of folders.
 *
 * Unit: the assignment of a plan's cells to shards (every cell exactly
 * once across N shards, the shares add up), and the parser's refusals.
 * End to end, on the fixtures binary (build/maplab-fixtures, containment
 * fixtures that finish or really abort within a second): three shard
 * processes at once and one unsharded run of the same plan and seed;
 * `ci --judge S0 S1 S2` gives the cells, seeds, outcomes and design
 * verdicts of the unsharded run; the merged report shows the machines;
 * overlapping, missing, foreign-plan shards and another lab version are
 * refused with one line, exit 2 and nothing written; differing commits
 * merge with a warning.  Cost: about 10 s on a loaded 2-core machine.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <glib.h>
#include <jansson.h>

#include "harness/cli/shard.h"
#include "tests/ck_run.h"

/* ---- the assignment --------------------------------------------------- */

START_TEST(test_parse)
{
	static const char *const bad[] = {"", "1", "/4", "1/", "4/4", "5/4",
					  "0/0", "-1/4", "1/-4", "a/b", "1/4x",
					  " 1/4", "1/1001", "1.0/4", NULL};
	struct shard s;
	char err[200];

	ck_assert_int_eq(shard_parse("0/1", &s, err, sizeof(err)), 0);
	ck_assert_uint_eq(s.index, 0);
	ck_assert_uint_eq(s.count, 1);
	ck_assert_int_eq(shard_parse("3/4", &s, err, sizeof(err)), 0);
	ck_assert_uint_eq(s.index, 3);
	ck_assert_uint_eq(s.count, 4);
	for (const char *const *b = bad; *b; b++) {
		err[0] = '\0';
		ck_assert_msg(shard_parse(*b, &s, err, sizeof(err)) == -EINVAL,
			      "'%s' accepted", *b);
		ck_assert_msg(strstr(err, "--shard") && !strchr(err, '\n'),
			      "'%s': %s", *b, err);
	}
	shard_parse("4/4", &s, err, sizeof(err));
	ck_assert_msg(strstr(err, "0 to 3"), "%s", err);
}
END_TEST

/* Every cell of every plan shape is owned by exactly one of N shards, each
 * shard's count is shard_share(), and the numbering is the matrix order
 * (cell numbers 0..total-1, each once). */
START_TEST(test_each_cell_once)
{
	for (size_t ninc = 1; ninc <= 4; ninc++)
		for (size_t nvar = 1; nvar <= 7; nvar++)
			for (unsigned reps = 1; reps <= 5; reps++) {
				size_t total = ninc * nvar * reps;
				bool *seen = calloc(total, sizeof(*seen));

				for (size_t i = 0; i < ninc; i++)
					for (size_t v = 0; v < nvar; v++)
						for (unsigned r = 1; r <= reps; r++) {
							size_t c = shard_cell(i, v, r, nvar, reps);

							ck_assert_uint_lt(c, total);
							ck_assert(!seen[c]);
							seen[c] = true;
						}
				for (unsigned n = 1; n <= 12; n++) {
					size_t sum = 0;

					for (size_t c = 0; c < total; c++) {
						unsigned owners = 0;

						for (unsigned k = 0; k < n; k++)
							owners += shard_owns(&(struct shard){k, n}, c);
						ck_assert_uint_eq(owners, 1);
					}
					for (unsigned k = 0; k < n; k++) {
						struct shard s = {k, n};
						size_t mine = 0;

						for (size_t c = 0; c < total; c++)
							mine += shard_owns(&s, c);
						ck_assert_uint_eq(mine, shard_share(&s, total));
						sum += mine;
					}
					ck_assert_uint_eq(sum, total);
				}
				/* not sharded: every cell */
				ck_assert(shard_owns(&(struct shard){0, 0}, total - 1));
				ck_assert_uint_eq(shard_share(&(struct shard){0, 0}, total),
						  total);
				free(seen);
			}
}
END_TEST

/* ---- end to end on the fixtures binary --------------------------------- */

static char fixtures[PATH_MAX + 32], top[64];

static void find_fixtures(void)
{
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	char *slash;

	exe[n > 0 ? n : 0] = '\0';
	for (int up = 0; up < 2 && (slash = strrchr(exe, '/')); up++)
		*slash = '\0';
	snprintf(fixtures, sizeof(fixtures), "%s/maplab-fixtures", exe);
}

static pid_t spawn(char *const argv[], const char *errpath)
{
	pid_t pid;

	fflush(NULL);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		int o = open("/dev/null", O_WRONLY);
		int e = open(errpath, O_WRONLY | O_CREAT | O_TRUNC, 0644);

		if (o < 0 || e < 0)
			_exit(126);
		dup2(o, 1);
		dup2(e, 2);
		setenv("NO_COLOR", "1", 1);
		execv(argv[0], argv);
		_exit(127);
	}
	return pid;
}

/* Wait for pid; its exit status, *err its stderr (g_free). */
static int finish(pid_t pid, const char *errpath, char **err)
{
	int st;

	while (waitpid(pid, &st, 0) < 0)
		ck_assert_int_eq(errno, EINTR);
	ck_assert(g_file_get_contents(errpath, err, NULL, NULL));
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static int run(char *const argv[], char **err)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/stderr", top);
	return finish(spawn(argv, path), path, err);
}

/* top/rel; kept until the test's process ends (argv arrays hold it). */
static char *at(const char *rel)
{
	return g_strdup_printf("%s/%s", top, rel);
}

/* The plan: two fixtures (one holds, one aborts) x two variants x 2 reps. */
#define PLAN "--incident", "fxclean,fxabort", "--variant", "mutex,sharded", \
	"--reps", "2", "--seconds", "0.5", "--seed", "7", "-q"

static void make_folders(void)
{
	static char shard[3][8], out[3][PATH_MAX];
	char *u[] = {fixtures, "matrix", PLAN, "--out", at("u"), NULL};
	char *s[3][20];
	char errpath[4][PATH_MAX];
	pid_t pid[4];

	for (int i = 0; i < 3; i++) {
		char *a[] = {fixtures, "matrix", PLAN, "--shard", shard[i],
			     "--out", out[i], NULL};
		char name[8];

		snprintf(shard[i], sizeof(shard[i]), "%d/3", i);
		snprintf(name, sizeof(name), "s%d", i);
		snprintf(out[i], sizeof(out[i]), "%s", at(name));
		memcpy(s[i], a, sizeof(a));
	}
	/* the three shards and the unsharded run at once */
	for (int i = 0; i < 4; i++) {
		snprintf(errpath[i], sizeof(errpath[i]), "%s/err%d", top, i);
		pid[i] = spawn(i < 3 ? s[i] : u, errpath[i]);
	}
	for (int i = 0; i < 4; i++) {
		char *err;
		int rc = finish(pid[i], errpath[i], &err);

		ck_assert_msg(rc == 0, "run %d: exit %d: %s", i, rc, err);
		g_free(err);
	}
}

static int rm_one(const char *p, const struct stat *st, int fl, struct FTW *f)
{
	(void)st;
	(void)fl;
	(void)f;
	remove(p);
	return 0;
}

/* Checked fixture: runs in the test's own process, before the test. */
static void setup(void)
{
	find_fixtures();
	snprintf(top, sizeof(top), "/tmp/maplab-shard-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(top));
	make_folders();
}

static void drop_folders(void)
{
	nftw(top, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static json_t *load(const char *rel)
{
	json_error_t je;
	json_t *j = json_load_file(at(rel), 0, &je);

	ck_assert_msg(j != NULL, "%s: %s", rel, je.text);
	return j;
}

static void write_expect(void)
{
	json_t *e = json_pack(
		"{s:{s:{s:{s:s}, s:{s:s}}, s:{s:{s:s, s:i}, s:{s:s, s:i}}}}",
		"cells", "fxclean", "mutex", "class", "holds", "sharded",
		"class", "holds", "fxabort", "mutex", "class", "reproduces",
		"k", 2, "sharded", "class", "reproduces", "k", 2);

	ck_assert_int_eq(json_dump_file(e, at("exp.json"), 0), 0);
	json_decref(e);
}

/* The same (incident, variant, rep) runs with the same seeds and the same
 * outcomes, in the same order, in both summaries. */
static void same_runs(const char *a, const char *b)
{
	char pa[64], pb[64];
	json_t *ja, *jb, *ra, *rb;
	size_t i;

	snprintf(pa, sizeof(pa), "%s/summary.json", a);
	snprintf(pb, sizeof(pb), "%s/summary.json", b);
	ja = load(pa);
	jb = load(pb);
	ra = json_object_get(ja, "runs");
	rb = json_object_get(jb, "runs");
	ck_assert_uint_eq(json_array_size(ra), 8);
	ck_assert_uint_eq(json_array_size(ra), json_array_size(rb));
	for (i = 0; i < json_array_size(ra); i++) {
		static const char *const keys[] = {"incident", "variant", "rep",
						   "seed", "outcome", NULL};
		json_t *x = json_array_get(ra, i), *y = json_array_get(rb, i);

		for (const char *const *k = keys; *k; k++)
			ck_assert_msg(json_equal(json_object_get(x, *k),
						 json_object_get(y, *k)),
				      "run %zu: %s differs", i, *k);
	}
	json_decref(ja);
	json_decref(jb);
}

/* Four shards' worth of work in three processes, merged, judged: the same
 * cells, seeds, outcomes, design verdicts and gate verdicts as the one
 * unsharded run; the merged page says which machine ran what. */
START_TEST(test_merge_equals_unsharded)
{
	char *judge_m[] = {fixtures, "ci", "--judge", at("s0"), at("s1"),
			   at("s2"), "--out", at("m"), "--expect", at("exp.json"),
			   "--no-report", NULL};
	char *judge_u[] = {fixtures, "ci", "--judge", at("u"), "--expect",
			   at("exp.json"), NULL};
	char *rep[] = {fixtures, "report", at("s2"), at("s0"), at("s1"),
		       "--out", at("r"), "--quiet", NULL};
	json_t *cm, *cu, *rec;
	char *err, *html;
	size_t i;
	json_t *x;

	write_expect();
	ck_assert_msg(run(judge_m, &err) == 0, "merged judge: %s", err);
	g_free(err);
	ck_assert_msg(run(judge_u, &err) == 0, "unsharded judge: %s", err);
	g_free(err);
	same_runs("m", "u");
	cm = load("m/ci.json");
	cu = load("u/ci.json");
	ck_assert_uint_eq(json_array_size(json_object_get(cm, "cells")), 4);
	json_array_foreach(json_object_get(cm, "cells"), i, x) {
		static const char *const keys[] = {"incident", "variant", "design",
						   "pass", "runs", "shown", NULL};
		json_t *y = json_array_get(json_object_get(cu, "cells"), i);

		for (const char *const *k = keys; *k; k++)
			ck_assert_msg(json_equal(json_object_get(x, *k),
						 json_object_get(y, *k)),
				      "cell %zu: %s differs", i, *k);
	}
	/* the aborting cells are broken, the clean ones hold, in both */
	json_array_foreach(json_object_get(cm, "cells"), i, x) {
		const char *d = json_string_value(json_object_get(x, "design"));

		if (!strcmp(json_string_value(json_object_get(x, "incident")),
			    "fxclean"))
			ck_assert_str_eq(d, "holds");
		else
			ck_assert_msg(!strncmp(d, "broken: crash", 13), "%s", d);
	}
	json_decref(cm);
	json_decref(cu);
	/* each record keeps its machine's manifest */
	rec = load("m/runs/fxclean.mutex.r1.json");
	ck_assert(json_is_string(json_object_get(json_object_get(json_object_get(
		rec, "source"), "machine"), "host")));
	ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(
		json_object_get(rec, "source"), "shard"), "index")), 0);
	json_decref(rec);
	/* the page: which machine ran what, in any order of the folders */
	ck_assert_msg(run(rep, &err) == 0, "report: %s", err);
	g_free(err);
	same_runs("r", "u");
	ck_assert(g_file_get_contents(at("r/report.html"), &html, NULL, NULL));
	ck_assert(strstr(html, "id=\"machines\"") && strstr(html, "0/3") &&
		  strstr(html, "1/3") && strstr(html, "2/3"));
	ck_assert(!strstr(html, "differ: "));
	g_free(html);
}
END_TEST

/* Copy folder `from` to `to` (both under top); set manifest key to v. */
static void copy_with(const char *from, const char *to, const char *key,
		      const char *sub, json_t *v)
{
	char cmd[PATH_MAX * 3], rel[64];
	json_t *m;

	snprintf(cmd, sizeof(cmd), "cp -r '%s' '%s'", at(from), at(to));
	ck_assert_int_eq(system(cmd), 0);
	snprintf(rel, sizeof(rel), "%s/manifest.json", to);
	m = load(rel);
	if (key && sub)
		json_object_set_new(json_object_get(m, key), sub, v);
	else if (key)
		json_object_set_new(m, key, v);
	ck_assert_int_eq(json_dump_file(m, at(rel), JSON_INDENT(1)), 0);
	json_decref(m);
}

/* One line naming the problem, exit 2, the merged folder not made. */
static void refused(char *const argv[], const char *words)
{
	char *err;
	int rc = run(argv, &err);

	ck_assert_msg(rc == 2, "exit %d: %s", rc, err);
	ck_assert_msg(strstr(err, words), "'%s' not in: %s", words, err);
	ck_assert_msg(strchr(err, '\n') == err + strlen(err) - 1, "%s", err);
	ck_assert_msg(access(at("x"), F_OK) != 0, "merged folder written");
	g_free(err);
}

START_TEST(test_merge_refusals)
{
	char *err, *html;

	copy_with("s0", "s0b", NULL, NULL, NULL);
	copy_with("u", "u2", NULL, NULL, NULL);
	copy_with("s2", "s2v", "schema_version", NULL, json_integer(99));
	copy_with("s2", "s2p", "base_seed", NULL, json_integer(8));
	copy_with("s2", "s2c", "git", "commit",
		  json_string("0123456789abcdef0123456789abcdef01234567"));
	{
		char *a[] = {fixtures, "report", at("s0"), at("s1"), "--out", at("x"), NULL};
		char *c[] = {fixtures, "ci", "--judge", at("s0"), at("s1"), "--out", at("x"), NULL};

		refused(a, "shard 2/3 is missing (have 0, 1)");
		refused(c, "shard 2/3 is missing");
	}
	{
		char *a[] = {fixtures, "report", at("s0"), at("s0b"), at("s1"),
			     at("s2"), "--out", at("x"), NULL};
		refused(a, "shard 0/3 given twice");
	}
	{
		char *a[] = {fixtures, "report", at("u"), at("u2"), "--out", at("x"), NULL};
		refused(a, "overlapping folders: fxclean x mutex rep 1");
	}
	{
		char *a[] = {fixtures, "report", at("u"), at("s0"), "--out", at("x"), NULL};
		refused(a, "merge the shards of one plan, or plain folders");
	}
	{
		char *a[] = {fixtures, "report", at("s0"), at("s1"), at("s2v"),
			     "--out", at("x"), NULL};
		refused(a, "another lab version (schema_version 99");
	}
	{
		char *a[] = {fixtures, "report", at("s0"), at("s1"), at("s2p"),
			     "--out", at("x"), NULL};
		refused(a, "different plans (base_seed differs)");
	}
	{ /* bad --shard and envelope input: refused before anything runs */
		char *m[] = {fixtures, "matrix", "--shard", "3/3", "--out", at("x"), NULL};
		char *c[] = {fixtures, "ci", "--shard", "1/x", "--out", at("x"), NULL};
		char *j[] = {fixtures, "ci", "--shard", "0/2", "--judge", at("s0"), NULL};
		char *e1[] = {fixtures, "envelope", "fxclean", "--param", "nope",
			      "--out", at("x"), NULL};
		char *e2[] = {fixtures, "envelope", "fxclean", "--param", "work_ops",
			      "--from", "9", "--to", "5", "--out", at("x"), NULL};

		refused(m, "I must be below N");
		refused(c, "give I/N");
		refused(j, "give one of them");
		refused(e1, "no such parameter");
		refused(e2, "give 0 < from < to");
	}
	{
		char *a[] = {fixtures, "report", at("s0"), at("s1"), at("s2c"),
			     "--out", at("w"), "--quiet", NULL};

		ck_assert_msg(run(a, &err) == 0, "%s", err);
		g_free(err);
		ck_assert(g_file_get_contents(at("w/report.html"), &html, NULL, NULL));
		ck_assert_msg(strstr(html, "commits differ") &&
			      strstr(html, "0123456789"), "no warning on the page");
		g_free(html);
	}
}
END_TEST

int main(void)
{
	Suite *s = suite_create("shard");
	TCase *u = tcase_create("assignment"), *e = tcase_create("merge");

	tcase_add_test(u, test_parse);
	tcase_add_test(u, test_each_cell_once);
	tcase_set_timeout(e, 120);
	tcase_add_checked_fixture(e, setup, drop_folders);
	tcase_add_test(e, test_merge_equals_unsharded);
	tcase_add_test(e, test_merge_refusals);
	suite_add_tcase(s, u);
	suite_add_tcase(s, e);
	return ck_run(s);
}

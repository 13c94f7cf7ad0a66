/*
 * tests/check_faults.c - This file contains the fault and bad-input
 * campaign (docs/faults.md has the table: case -> promise -> test).
 *
 * It runs the real binaries (build/maplab and build/maplab-fixtures, found
 * beside this test's folder) as a user would, and checks both promises:
 *   - bad input: exit 2, one line on stderr, nothing on stdout, no folder;
 *   - faults: a classified record, a valid folder, a renderable report.
 * The faults are real: fixtures that fail setup, flood stderr, fork a
 * grandchild; a SIGINT, a folder deleted under a running matrix, a report
 * rendered while a matrix still writes, two writers on one --out.  Waits
 * poll for a state (a file appearing, a process gone) with a deadline;
 * nothing asserts a duration.  Run from the repository root (make test).
 * Single-threaded; every child is waited for.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <glib.h>
#include <inttypes.h>
#include <jansson.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness/runtime/ictx.h"
#include "incidents/config/cfgdoc.h"
#include "incidents/registry.h"
#include "maps/alloc.h"
#include "maps/map.h"
#include "tests/ck_run.h"
#include "maps/util.h"

static char maplab[PATH_MAX + 32], fixtures[PATH_MAX + 32];

/* build/tests/check_faults -> build/maplab, build/maplab-fixtures */
static void find_binaries(void)
{
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	char *slash;

	exe[n > 0 ? n : 0] = '\0';
	for (int up = 0; up < 2 && (slash = strrchr(exe, '/')); up++)
		*slash = '\0';
	snprintf(maplab, sizeof(maplab), "%s/maplab", exe);
	snprintf(fixtures, sizeof(fixtures), "%s/maplab-fixtures", exe);
}

/* In every test: the binaries this suite drives are built. */
static void have_binaries(void)
{
	ck_assert_msg(access(maplab, X_OK) == 0, "no %s", maplab);
	ck_assert_msg(access(fixtures, X_OK) == 0, "no %s", fixtures);
}

static void pause_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};

	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

static int rm_one(const char *p, const struct stat *st, int fl, struct FTW *f)
{
	(void)st;
	(void)fl;
	(void)f;
	remove(p);
	return 0;
}

static void rm_tree(const char *p)
{
	nftw(p, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* A fresh scratch folder; *dir is its path, sub names a folder inside. */
static void scratch(char *dir, size_t n, const char *sub)
{
	char tmpl[] = "/tmp/maplab-faults-XXXXXX";

	ck_assert_ptr_nonnull(mkdtemp(tmpl));
	snprintf(dir, n, "%s/%s", tmpl, sub);
}

static void drop_scratch(const char *dir)
{
	char top[PATH_MAX];
	char *slash;

	snprintf(top, sizeof(top), "%s", dir);
	slash = strrchr(top, '/');
	if (slash)
		*slash = '\0';
	rm_tree(top);
}

/* ---- running the binaries --------------------------------------------- */

struct res {
	int status;       /* exit status, or 128 + signal */
	char *out, *err;  /* malloc'd, NUL-terminated */
	long maxrss_kib;  /* of the process and what it waited for */
};

static pid_t spawn(char *const argv[], const char *out, const char *err,
		   const char *cwd)
{
	pid_t pid;

	fflush(NULL);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		int o = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		int e = open(err, O_WRONLY | O_CREAT | O_TRUNC, 0644);

		if (o < 0 || e < 0 || (cwd && chdir(cwd) != 0))
			_exit(126);
		dup2(o, 1);
		dup2(e, 2);
		setenv("NO_COLOR", "1", 1);
		execv(argv[0], argv);
		_exit(127);
	}
	return pid;
}

static void finish(pid_t pid, const char *out, const char *err, struct res *r)
{
	struct rusage ru;
	int st;

	while (wait4(pid, &st, 0, &ru) < 0)
		ck_assert_int_eq(errno, EINTR);
	r->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	r->maxrss_kib = ru.ru_maxrss;
	ck_assert(g_file_get_contents(out, &r->out, NULL, NULL));
	ck_assert(g_file_get_contents(err, &r->err, NULL, NULL));
	unlink(out);
	unlink(err);
}

static void io_paths(char *out, char *err, size_t n, const char *tag)
{
	snprintf(out, n, "/tmp/maplab-faults-%d-%s.out", (int)getpid(), tag);
	snprintf(err, n, "/tmp/maplab-faults-%d-%s.err", (int)getpid(), tag);
}

static void run(char *const argv[], struct res *r)
{
	char out[128], err[128];

	io_paths(out, err, sizeof(out), "fg");
	finish(spawn(argv, out, err, NULL), out, err, r);
}

static void res_free(struct res *r)
{
	g_free(r->out);
	g_free(r->err);
}

static bool exists(const char *dir, const char *rel)
{
	char p[PATH_MAX * 2];

	snprintf(p, sizeof(p), "%s%s%s", dir, rel ? "/" : "", rel ? rel : "");
	return access(p, F_OK) == 0;
}

/* Poll (every 20 ms, up to secs) until dir/runs holds at least n records. */
static bool wait_records(const char *dir, size_t n, double secs)
{
	double end = ml_mono_s() + secs;
	char p[PATH_MAX];

	snprintf(p, sizeof(p), "%s/runs", dir);
	while (ml_mono_s() < end) {
		GDir *d = g_dir_open(p, 0, NULL);
		size_t k = 0;
		const char *e;

		while (d && (e = g_dir_read_name(d)))
			k += g_str_has_suffix(e, ".json");
		if (d)
			g_dir_close(d);
		if (k >= n)
			return true;
		pause_ms(20);
	}
	return false;
}

static size_t count_lines(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		n += *s == '\n';
	return n;
}

/* The bad-input promise: exit 2, one line, nothing written. */
static void assert_refused(char *const argv[], const char *out_dir,
			   const char *says)
{
	struct res r;

	run(argv, &r);
	ck_assert_msg(r.status == 2, "%s %s: exit %d, stderr: %s", argv[1],
		      argv[2], r.status, r.err);
	ck_assert_msg(count_lines(r.err) == 1 && g_str_has_suffix(r.err, "\n"),
		      "not one line: %s", r.err);
	ck_assert_msg(r.out[0] == '\0', "stdout: %s", r.out);
	ck_assert_msg(strstr(r.err, says), "'%s' not in: %s", says, r.err);
	if (out_dir)
		ck_assert_msg(!exists(out_dir, NULL), "%s was written", out_dir);
	res_free(&r);
}

static json_t *load(const char *dir, const char *rel)
{
	char p[PATH_MAX * 2];
	json_error_t je;
	json_t *j;

	snprintf(p, sizeof(p), "%s/%s", dir, rel);
	j = json_load_file(p, 0, &je);
	ck_assert_msg(j != NULL, "%s: %s", p, je.text);
	return j;
}

/* The fault promise: a valid folder whose report renders. */
static void assert_renders(const char *bin, const char *dir, struct res *r)
{
	char *argv[] = {(char *)bin, "report", (char *)dir, "--quiet", NULL};

	json_decref(load(dir, "manifest.json"));
	run(argv, r);
	ck_assert_msg(r->status == 0, "report %s: exit %d: %s", dir, r->status,
		      r->err);
	ck_assert(exists(dir, "report.html"));
	ck_assert(exists(dir, "report.md"));
}

static const char *record_outcome(json_t *rec)
{
	return json_string_value(json_object_get(rec, "outcome"));
}

/* ---- bad input --------------------------------------------------------- */

START_TEST(test_refused_cross_parameter)
{
	char out[PATH_MAX], cap[64];
	uint64_t kib = 0;
	FILE *f = fopen("/proc/meminfo", "r");

	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(fscanf(f, "MemTotal: %" SCNu64 " kB", &kib), 1);
	fclose(f);
	snprintf(cap, sizeof(cap), "%" PRIu64 "M", (kib >> 10) + 1024);
	scratch(out, sizeof(out), "out");
	{
		char *a[] = {maplab, "run", "--incident", "config", "--variant",
			     "mutex", "--set", "keys_min=400000", "--set",
			     "keys_max=16", "--out", out, NULL};
		assert_refused(a, out, "keys_min (400000) must not exceed keys_max");
	}
	{
		char *a[] = {maplab, "run", "--incident", "payment", "--variant",
			     "mutex", "--set", "payload_min=5000", "--out", out, NULL};
		assert_refused(a, out, "payload_min (5000) must not exceed payload_max");
	}
	{
		char *a[] = {maplab, "matrix", "--incident", "config", "--set",
			     "p_bad=0.9", "--set", "p_same=0.5", "--out", out, NULL};
		assert_refused(a, out, "p_bad (0.9) + p_same (0.5)");
	}
	{
		char *a[] = {maplab, "run", "--incident", "config", "--variant",
			     "mutex", "--timeout", "0.5", "--seconds", "3",
			     "--out", out, NULL};
		assert_refused(a, out, "--timeout 0.5s is too short");
	}
	if ((kib >> 20) + 1 < 64) { /* --mem-cap stops at 64G by itself */
		char *a[] = {maplab, "run", "--incident", "config", "--variant",
			     "mutex", "--mem-cap", cap, "--out", out, NULL};
		assert_refused(a, out, "above this machine's memory");
	}
	{
		char *a[] = {maplab, "run", "--incident", "config", "--variant",
			     "mutex", "--set", "p_bad=1e999", "--out", out, NULL};
		assert_refused(a, out, "must be within");
	}
	drop_scratch(out);
}
END_TEST

START_TEST(test_refused_names)
{
	char out[PATH_MAX], bad[PATH_MAX + 4];
	GString *list = g_string_new(NULL);

	scratch(out, sizeof(out), "out");
	snprintf(bad, sizeof(bad), "%s\xff\xfe", out);
	{
		char *a[] = {maplab, "run", "--incident", "config", "--variant",
			     "mutex", "--out", bad, NULL};
		assert_refused(a, bad, "not valid UTF-8");
	}
	/* a selection list longer than any fixed buffer: the name at its end
	 * is still read (and refused by name) */
	for (int i = 0; i < 300; i++)
		g_string_append(list, "config,");
	g_string_append(list, "no-such-incident");
	{
		char *a[] = {maplab, "matrix", "--incident", list->str,
			     "--out", out, NULL};
		assert_refused(a, out, "unknown incident 'no-such-incident'");
	}
	{ /* the list offered names what --variant accepts, Go ones too */
		char *a[] = {maplab, "run", "--incident", "payment", "--variant",
			     "nosuch", "--out", out, NULL};
		assert_refused(a, out, "exercise, go-unsafe, go-mutex");
	}
	g_string_free(list, TRUE);
	drop_scratch(out);
}
END_TEST

/* 4.9e-324 is a number (an underflow), judged by the range; 1e999 is not
 * finite.  In-process: the parent's check, without a run. */
START_TEST(test_subnormal_set)
{
	const struct incident *cfg = incident_find("config");
	char err[400] = "";

	ck_assert_ptr_nonnull(cfg);
	ck_assert_msg(ictx_check_set(cfg, "p_bad=4.9e-324", err, sizeof(err)) == 0,
		      "%s", err);
	ck_assert_int_eq(ictx_check_set(cfg, "p_bad=1e999", err, sizeof(err)),
			 -EINVAL);
	ck_assert(strstr(err, "not a number") == NULL);
}
END_TEST

/* A second writer on a folder being written: refused, folder untouched. */
START_TEST(test_second_writer)
{
	char out[PATH_MAX], o1[128], e1[128];
	char *first[] = {fixtures, "run", "--incident", "fxclean", "--variant",
			 "mutex", "--seconds", "1", "--out", out, "-q", NULL};
	char *second[] = {fixtures, "run", "--incident", "fxclean", "--variant",
			  "rwlock", "--seconds", "0.2", "--out", out, "-q", NULL};
	struct res r1, r2;
	double end;
	pid_t pid;
	json_t *m;

	scratch(out, sizeof(out), "out");
	io_paths(o1, e1, sizeof(o1), "w1");
	pid = spawn(first, o1, e1, NULL);
	for (end = ml_mono_s() + 20; ml_mono_s() < end && !exists(out, "INCOMPLETE");)
		pause_ms(10);
	ck_assert(exists(out, "INCOMPLETE"));
	run(second, &r2);
	ck_assert_msg(r2.status == 2, "exit %d: %s", r2.status, r2.err);
	ck_assert_uint_eq(count_lines(r2.err), 1);
	ck_assert(strstr(r2.err, "being written by another maplab run"));
	finish(pid, o1, e1, &r1);
	ck_assert_msg(r1.status == 0, "first writer: %d %s", r1.status, r1.err);
	ck_assert(!exists(out, "runs/fxclean.rwlock.r1.json"));
	ck_assert(exists(out, "runs/fxclean.mutex.r1.json"));
	m = load(out, "manifest.json");
	ck_assert(strstr(json_string_value(json_object_get(m, "command")),
			 "rwlock") == NULL);
	json_decref(m);
	res_free(&r1);
	res_free(&r2);
	drop_scratch(out);
}
END_TEST

/* Two writers started at once on one new folder: one wins, one is refused
 * with exit 2, and the folder holds the winner's run only. */
START_TEST(test_racing_writers)
{
	for (int t = 0; t < 4; t++) {
		char out[PATH_MAX], o[2][128], e[2][128];
		char *a[2][12] = {
			{fixtures, "run", "--incident", "fxclean", "--variant",
			 "mutex", "--seconds", "0.1", "--out", out, "-q", NULL},
			{fixtures, "run", "--incident", "fxclean", "--variant",
			 "rwlock", "--seconds", "0.1", "--out", out, "-q", NULL}};
		struct res r[2];
		pid_t pid[2];
		json_t *s;

		scratch(out, sizeof(out), "out");
		io_paths(o[0], e[0], sizeof(o[0]), "r0");
		io_paths(o[1], e[1], sizeof(o[1]), "r1");
		pid[0] = spawn(a[0], o[0], e[0], NULL);
		pid[1] = spawn(a[1], o[1], e[1], NULL);
		finish(pid[0], o[0], e[0], &r[0]);
		finish(pid[1], o[1], e[1], &r[1]);
		ck_assert_msg((r[0].status == 0 && r[1].status == 2) ||
			      (r[0].status == 2 && r[1].status == 0),
			      "try %d: exits %d and %d (%s / %s)", t,
			      r[0].status, r[1].status, r[0].err, r[1].err);
		ck_assert_uint_eq(count_lines(r[r[0].status == 0].err), 1);
		s = load(out, "summary.json");
		ck_assert_uint_eq(json_array_size(json_object_get(s, "runs")), 1);
		ck_assert(exists(out, r[0].status == 0
				 ? "runs/fxclean.mutex.r1.json"
				 : "runs/fxclean.rwlock.r1.json"));
		ck_assert(!exists(out, r[0].status == 0
				  ? "runs/fxclean.rwlock.r1.json"
				  : "runs/fxclean.mutex.r1.json"));
		json_decref(s);
		res_free(&r[0]);
		res_free(&r[1]);
		drop_scratch(out);
	}
}
END_TEST

/* results/ cannot be made: the message names the path and the reason.
 * As root (who may write anywhere) results/ is a file instead; as a user
 * the folder holding it is read-only. */
START_TEST(test_unwritable_results)
{
	char cwd[PATH_MAX], o[128], e[128], path[PATH_MAX + 16];
	char *a[] = {maplab, "run", "--incident", "config", "--variant",
		     "mutex", NULL};
	bool root = geteuid() == 0;
	struct res r;

	scratch(cwd, sizeof(cwd), "cwd");
	ck_assert_int_eq(mkdir(cwd, root ? 0755 : 0555), 0);
	snprintf(path, sizeof(path), "%s/results", cwd);
	if (root)
		ck_assert(g_file_set_contents(path, "not a folder\n", -1, NULL));
	io_paths(o, e, sizeof(o), "ro");
	finish(spawn(a, o, e, cwd), o, e, &r);
	ck_assert_msg(r.status == 2, "exit %d: %s", r.status, r.err);
	ck_assert_uint_eq(count_lines(r.err), 1);
	ck_assert_msg(strstr(r.err, root ? "cannot create results/2"
				   : "cannot create results/ here"), "%s", r.err);
	ck_assert_msg(strstr(r.err, root ? "Not a directory"
				   : "Permission denied"), "%s", r.err);
	res_free(&r);
	chmod(cwd, 0755);
	drop_scratch(cwd);
}
END_TEST

/* jansson quotes a raw newline of the input; the error stays one line.  A
 * service name is cut on a character boundary. */
START_TEST(test_one_line_errors)
{
	static const char doc1[] = "{\"version\": 2, \"x\": \"\\\n\"}";
	struct cfg_spec spec = {.seed = 1, .version = 2, .services = 2,
				.kind = CFG_PUSH_GOOD};
	struct cfg_set *set = NULL;
	char err[400], *doc = NULL, *at;
	size_t len = 0;
	GString *doc2;

	ck_assert_int_eq(config_load(doc1, strlen(doc1), 0, &set, err,
				     sizeof(err)), -EINVAL);
	ck_assert_msg(strchr(err, '\n') == NULL, "%s", err);
	/* a valid document whose first service is renamed to 30 x "é" (2
	 * bytes each: the 40-byte cut falls inside no character only if it
	 * is made on a boundary) */
	ck_assert_int_eq(config_render(&spec, &doc, &len), 0);
	doc2 = g_string_new_len(doc, (gssize)len);
	ml_free(doc);
	at = strstr(doc2->str, "\"svc00000\"");
	ck_assert_ptr_nonnull(at);
	{
		size_t pos = (size_t)(at - doc2->str) + 1;

		g_string_erase(doc2, (gssize)pos, 8);
		for (int i = 0; i < 30; i++)
			g_string_insert(doc2, (gssize)pos, "\xc3\xa9");
	}
	ck_assert_int_eq(config_load(doc2->str, doc2->len, 0, &set, err,
				     sizeof(err)), -EINVAL);
	ck_assert_msg(strstr(err, "bad service name"), "%s", err);
	ck_assert_msg(g_utf8_validate(err, -1, NULL), "not UTF-8: %s", err);
	g_string_free(doc2, TRUE);
}
END_TEST

/* The child's log keeps its first lines and its last ones. */
START_TEST(test_log_head_and_tail)
{
	struct ictx_opts o = {.variant = "mutex", .seconds = 1};
	const struct incident *cfg = incident_table[0];
	struct ictx *c = NULL;
	char err[200];

	o.err = err;
	o.errlen = sizeof(err);
	ck_assert_int_eq(ictx_create(cfg, &o, &c), 0);
	for (int i = 0; i < 200; i++)
		ictx_log(c, "line %d", i);
	ictx_log(c, "bad byte \xff and a\nnewline");
	ck_assert_uint_eq(ictx_log_count(c), ICTX_MAX_LOG);
	ck_assert_uint_eq(ictx_log_dropped(c), 201 - ICTX_MAX_LOG);
	ck_assert_str_eq(ictx_log_at(c, 0), "line 0");
	ck_assert_str_eq(ictx_log_at(c, ICTX_LOG_HEAD - 1), "line 47");
	ck_assert_str_eq(ictx_log_at(c, ICTX_LOG_HEAD), "line 185");
	ck_assert_str_eq(ictx_log_at(c, ICTX_MAX_LOG - 2), "line 199");
	ck_assert_str_eq(ictx_log_at(c, ICTX_MAX_LOG - 1),
			 "bad byte \\xff and a\\nnewline");
	ictx_destroy(c);
}
END_TEST

/* ---- faults ------------------------------------------------------------ */

/* A run whose setup fails (one telemetry sample): an error record, and the
 * folder renders. */
START_TEST(test_setup_failure_renders)
{
	char out[PATH_MAX];
	char *a[] = {fixtures, "run", "--incident", "fxfail", "--variant",
		     "mutex", "--out", out, "-q", NULL};
	struct res r;
	json_t *rec;

	scratch(out, sizeof(out), "out");
	run(a, &r);
	ck_assert_msg(r.status == 0, "%d %s", r.status, r.err);
	res_free(&r);
	rec = load(out, "runs/fxfail.mutex.r1.json");
	ck_assert_str_eq(record_outcome(rec), "error");
	json_decref(rec);
	assert_renders(fixtures, out, &r);
	res_free(&r);
	drop_scratch(out);
}
END_TEST

/* A real incident cut to 0.1 s: few samples, still a report. */
START_TEST(test_short_run_renders)
{
	char out[PATH_MAX];
	char *a[] = {maplab, "run", "--incident", "config", "--variant",
		     "mutex", "--seconds", "0.1", "--out", out, "-q", NULL};
	struct res r;

	scratch(out, sizeof(out), "out");
	run(a, &r);
	ck_assert_msg(r.status == 0, "%d %s", r.status, r.err);
	res_free(&r);
	assert_renders(maplab, out, &r);
	res_free(&r);
	drop_scratch(out);
}
END_TEST

/* A new incident costs its own file and one registry line: the fixture
 * fxreported (tests/fixtures/reported.c) carries its title, story (with
 * the runs' slot), seed table and chart in its descriptor, and the report
 * shows them all, though no report file names it.  The variant's colour
 * comes from its descriptor too. */
START_TEST(test_descriptor_facts_render)
{
	char out[PATH_MAX];
	char *a[] = {fixtures, "run", "--incident", "fxreported", "--variant",
		     "mutex", "--seconds", "0.6", "--out", out, "-q", NULL};
	const char *md_has[] = {
		"Fixture whose descriptor carries its report",
		"A fixture tells its story before mutex",
		" and after the slot.",
		"seed: calm fixture", "seed: stormy fixture",
		"fixture sawtooth → highest level", "7 levels",
		"The fixture's note rides along.",
		"fxreported: the level over time",
	};
	gchar *md = NULL, *html = NULL;
	struct res r;

	scratch(out, sizeof(out), "out");
	run(a, &r);
	ck_assert_msg(r.status == 0, "%d %s", r.status, r.err);
	res_free(&r);
	assert_renders(fixtures, out, &r);
	res_free(&r);
	ck_assert(g_file_get_contents(g_build_filename(out, "report.md", NULL),
				      &md, NULL, NULL));
	ck_assert(g_file_get_contents(g_build_filename(out, "report.html", NULL),
				      &html, NULL, NULL));
	for (size_t i = 0; i < sizeof(md_has) / sizeof(md_has[0]); i++)
		ck_assert_msg(strstr(md, md_has[i]), "report.md lacks '%s'",
			      md_has[i]);
	ck_assert_msg(!strstr(md, INCIDENT_STORY_RUNS), "slot left unfilled");
	ck_assert(exists(out, "plots/fxreported-sawtooth.svg"));
	ck_assert(strstr(html, map_variant_find("mutex")->colour));
	g_free(md);
	g_free(html);
	drop_scratch(out);
}
END_TEST

/* SIGINT 0.12 s after the start: exit 130, INCOMPLETE, a report. */
START_TEST(test_early_sigint_renders)
{
	char out[PATH_MAX], o[128], e[128];
	char *a[] = {fixtures, "run", "--incident", "fxclean", "--variant",
		     "mutex", "--out", out, "-q", NULL};
	struct res r;
	pid_t pid;

	scratch(out, sizeof(out), "out");
	io_paths(o, e, sizeof(o), "int");
	pid = spawn(a, o, e, NULL);
	/* once the folder is there (before it, a SIGINT finds no handler) */
	for (double end = ml_mono_s() + 20; ml_mono_s() < end &&
	     !exists(out, "manifest.json");)
		pause_ms(5);
	pause_ms(120);
	kill(pid, SIGINT);
	finish(pid, o, e, &r);
	ck_assert_msg(r.status == 130, "%d %s", r.status, r.err);
	res_free(&r);
	ck_assert(exists(out, "INCOMPLETE"));
	assert_renders(fixtures, out, &r);
	ck_assert(strstr(r.out, "INCOMPLETE"));
	res_free(&r);
	drop_scratch(out);
}
END_TEST

/* The results folder deleted under a running matrix: the matrix says so
 * with the reason, stops, exits 1, and does not make the folder again. */
START_TEST(test_folder_deleted_mid_matrix)
{
	char out[PATH_MAX], o[128], e[128];
	char *a[] = {fixtures, "matrix", "--incident", "fxclean", "--variant",
		     "mutex,rwlock,sharded,syncmap", "--reps", "2", "--seconds",
		     "0.3", "--out", out, NULL};
	struct res r;
	size_t started = 0;
	pid_t pid;

	scratch(out, sizeof(out), "out");
	io_paths(o, e, sizeof(o), "del");
	pid = spawn(a, o, e, NULL);
	ck_assert(wait_records(out, 1, 60));
	for (int i = 0; i < 50 && exists(out, NULL); i++)
		rm_tree(out); /* again if the writer added a file meanwhile */
	finish(pid, o, e, &r);
	ck_assert_msg(r.status == 1, "exit %d: %s", r.status, r.err);
	ck_assert_msg(strstr(r.err, "No such file or directory") &&
		      strstr(r.err, "the folder is gone, stopping"), "%s", r.err);
	for (const char *p = r.out; (p = strstr(p, "] fxclean")); p++)
		started++;
	ck_assert_msg(started < 8, "ran all %zu cells", started);
	ck_assert(!exists(out, NULL));
	res_free(&r);
	drop_scratch(out);
}
END_TEST

/* `report` on a folder a matrix is still writing: it renders what is
 * finished and says the folder is incomplete and still being written. */
START_TEST(test_report_while_writing)
{
	char out[PATH_MAX], o[128], e[128], *html;
	char *a[] = {fixtures, "matrix", "--incident", "fxclean", "--variant",
		     "mutex,rwlock,sharded,syncmap", "--reps", "2", "--seconds",
		     "0.5", "--out", out, "-q", NULL};
	char *rep[] = {fixtures, "report", out, NULL};
	struct res r, m;
	pid_t pid;

	scratch(out, sizeof(out), "out");
	io_paths(o, e, sizeof(o), "live");
	pid = spawn(a, o, e, NULL);
	ck_assert(wait_records(out, 1, 60));
	run(rep, &r);
	ck_assert_msg(r.status == 0, "report: %d %s", r.status, r.err);
	ck_assert_msg(strstr(r.out, "INCOMPLETE") &&
		      strstr(r.out, "still being written"), "%s", r.out);
	res_free(&r);
	ck_assert(g_file_get_contents(g_build_filename(out, "report.html", NULL),
				      &html, NULL, NULL));
	ck_assert(strstr(html, "Incomplete results"));
	ck_assert(strstr(html, "still being written by maplab (pid"));
	g_free(html);
	finish(pid, o, e, &m);
	ck_assert_msg(m.status == 0, "matrix: %d %s", m.status, m.err);
	res_free(&m);
	run(rep, &r);
	ck_assert_int_eq(r.status, 0);
	ck_assert_msg(strstr(r.out, "INCOMPLETE") == NULL, "%s", r.out);
	res_free(&r);
	drop_scratch(out);
}
END_TEST

/* A child writing 100 MiB to stderr (text and non-UTF-8 bytes): ok, a
 * valid record with a bounded tail, and the parent stays small. */
START_TEST(test_stderr_flood)
{
	char out[PATH_MAX];
	char *a[] = {fixtures, "run", "--incident", "fxflood", "--variant",
		     "mutex", "--seconds", "1", "--out", out, "-q", NULL};
	struct res r;
	json_t *rec;
	const char *tail;

	scratch(out, sizeof(out), "out");
	run(a, &r);
	ck_assert_msg(r.status == 0, "%d %s", r.status, r.err);
#ifndef CK_UNDER_SANITIZER /* shadow memory: RSS says nothing there */
	ck_assert_msg(r.maxrss_kib < 64 * 1024, "maxrss %ld KiB", r.maxrss_kib);
#endif
	res_free(&r);
	rec = load(out, "runs/fxflood.mutex.r1.json");
	ck_assert_str_eq(record_outcome(rec), "ok");
	tail = json_string_value(json_object_get(rec, "stderr_tail"));
	ck_assert_ptr_nonnull(tail);
	ck_assert(strstr(tail, "\\xff") && strstr(tail, "abcdef"));
	ck_assert_uint_lt(strlen(tail), 64 * 1024);
	json_decref(rec);
	assert_renders(fixtures, out, &r);
	res_free(&r);
	drop_scratch(out);
}
END_TEST

/* A grandchild that outlives its child dies with the child's group. */
START_TEST(test_grandchild_dies)
{
	char out[PATH_MAX], stat_path[64], *st = NULL;
	char *a[] = {fixtures, "run", "--incident", "fxorphan", "--variant",
		     "mutex", "--seconds", "0.5", "--out", out, "-q", NULL};
	struct res r;
	json_t *rec, *line;
	size_t i;
	int gpid = 0;
	bool gone = false;

	scratch(out, sizeof(out), "out");
	run(a, &r);
	ck_assert_msg(r.status == 0, "%d %s", r.status, r.err);
	res_free(&r);
	rec = load(out, "runs/fxorphan.mutex.r1.json");
	ck_assert_str_eq(record_outcome(rec), "ok");
	json_array_foreach(json_object_get(rec, "log"), i, line) {
		const char *s = json_string_value(line);

		if (s && strstr(s, "grandchild pid "))
			gpid = atoi(strstr(s, "grandchild pid ") + 15);
	}
	json_decref(rec);
	ck_assert_int_gt(gpid, 1);
	snprintf(stat_path, sizeof(stat_path), "/proc/%d/stat", gpid);
	/* killed when the run ended; reaped by init a moment later */
	for (double end = ml_mono_s() + 5; !gone && ml_mono_s() < end; pause_ms(20)) {
		gone = !g_file_get_contents(stat_path, &st, NULL, NULL) ||
		       strstr(st, ") Z ") || strstr(st, ") X ");
		g_free(st);
		st = NULL;
	}
	ck_assert_msg(gone, "grandchild %d still alive", gpid);
	drop_scratch(out);
}
END_TEST

/* "report XXXXXXXX:" from report's stdout. */
static void report_hash(const char *out, char hash[9])
{
	const char *p = strstr(out, "report ");

	ck_assert_ptr_nonnull(p);
	snprintf(hash, 9, "%s", p + 7);
}

/* The report trusts nothing it cannot account for: unlisted records are
 * shown with a note, stray copies ignored with a note (no duplicate row),
 * a corrupt data file noted; the hash covers the run records. */
START_TEST(test_report_distrust)
{
	char out[PATH_MAX], h1[9], h2[9], *text;
	char *cp[] = {"/bin/cp", "-a", "results/fixture", out, NULL};
	char *rep[] = {maplab, "report", out, "--quiet", NULL};
	struct res r;
	json_t *sum, *runs, *first;
	const char *base;
	char rel[300], path[PATH_MAX + 300];
	size_t nruns;

	scratch(out, sizeof(out), "run");
	run(cp, &r);
	ck_assert_int_eq(r.status, 0);
	res_free(&r);
	rm_tree(g_build_filename(out, "plots", NULL));
	run(rep, &r);
	ck_assert_int_eq(r.status, 0);
	report_hash(r.out, h1);
	res_free(&r);
	/* a damaged record: same manifest and summary, another hash */
	sum = load(out, "summary.json");
	runs = json_object_get(sum, "runs");
	nruns = json_array_size(runs);
	first = json_array_get(runs, 0);
	base = json_string_value(json_object_get(first, "file"));
	snprintf(rel, sizeof(rel), "%s", base);
	snprintf(path, sizeof(path), "%s/%s", out, rel);
	ck_assert(g_file_get_contents(path, &text, NULL, NULL));
	{
		char *o = strstr(text, "\"duration_s\": ");

		ck_assert_ptr_nonnull(o);
		o[14] = o[14] == '9' ? '8' : '9';
		ck_assert(g_file_set_contents(path, text, -1, NULL));
	}
	run(rep, &r);
	ck_assert_int_eq(r.status, 0);
	report_hash(r.out, h2);
	ck_assert_msg(strcmp(h1, h2) != 0, "hash %s unchanged", h1);
	res_free(&r);
	/* a stray copy, an unlisted record, a corrupt data file */
	snprintf(path, sizeof(path), "%s/runs/copy of a run.json", out);
	ck_assert(g_file_set_contents(path, text, -1, NULL));
	g_free(text);
	json_array_remove(runs, 0);
	snprintf(path, sizeof(path), "%s/summary.json", out);
	ck_assert_int_eq(json_dump_file(sum, path, 0), 0);
	json_decref(sum);
	snprintf(path, sizeof(path), "%s/data/%s", out,
		 strchr(rel, '/') + 1);
	strcpy(path + strlen(path) - 4, "dat"); /* .json -> .dat */
	ck_assert(g_file_set_contents(path, "t_s rss_mib\nx y\nz w\n", -1, NULL));
	run(rep, &r);
	ck_assert_msg(r.status == 0, "%d %s", r.status, r.err);
	ck_assert_msg(strstr(r.out, "not listed in summary.json"), "%s", r.out);
	ck_assert_msg(strstr(r.out, "copy of a run.json ignored"), "%s", r.out);
	ck_assert_msg(strstr(r.out, ".dat is corrupt"), "%s", r.out);
	res_free(&r);
	{
		static const char *const variants[] = {"unsafe", "mutex",
						       "syncmap", "rcu"};
		char *quiet[] = {maplab, "report", out, NULL};
		size_t rows = 0;
		char **lines;

		run(quiet, &r); /* the terminal table: one row per run */
		ck_assert_int_eq(r.status, 0);
		lines = g_strsplit(r.out, "\n", -1);
		for (char **l = lines; *l; l++)
			for (size_t v = 0; v < 4; v++)
				rows += g_str_has_prefix(*l, variants[v]) &&
					(*l)[strlen(variants[v])] == ' ';
		g_strfreev(lines);
		ck_assert_uint_eq(rows, nruns);
		res_free(&r);
	}
	drop_scratch(out);
}
END_TEST

static Suite *faults_suite(void)
{
	Suite *s = suite_create("faults");
	TCase *tc;

	find_binaries();
	tc = tcase_create("bad-input");
	tcase_add_checked_fixture(tc, have_binaries, NULL);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_refused_cross_parameter);
	tcase_add_test(tc, test_refused_names);
	tcase_add_test(tc, test_subnormal_set);
	tcase_add_test(tc, test_second_writer);
	tcase_add_test(tc, test_racing_writers);
	tcase_add_test(tc, test_unwritable_results);
	tcase_add_test(tc, test_one_line_errors);
	tcase_add_test(tc, test_log_head_and_tail);
	suite_add_tcase(s, tc);

	tc = tcase_create("faults");
	tcase_add_checked_fixture(tc, have_binaries, NULL);
	tcase_set_timeout(tc, 180);
	tcase_add_test(tc, test_setup_failure_renders);
	tcase_add_test(tc, test_short_run_renders);
	tcase_add_test(tc, test_descriptor_facts_render);
	tcase_add_test(tc, test_early_sigint_renders);
	tcase_add_test(tc, test_folder_deleted_mid_matrix);
	tcase_add_test(tc, test_report_while_writing);
	tcase_add_test(tc, test_stderr_flood);
	tcase_add_test(tc, test_grandchild_dies);
	tcase_add_test(tc, test_report_distrust);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return ck_run(faults_suite());
}

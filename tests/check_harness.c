/*
 * tests/check_harness.c - This file contains the harness's end-to-end
 * tests: it execs MAPLAB_BUILD_DIR/maplab-fixtures (the harness linked with
 * the containment fixtures of tests/fixtures/) and checks what lands on
 * disk: each fixture classified right (outcome, signal, cap, detector),
 * no orphan (the recorded child pid is gone), the RSS watchdog (also under
 * `make asan`, where the fixture binary is ASan-built and the watchdog is
 * what stops it), telemetry surviving a crash, interrupted and SIGKILLed
 * parents leaving an INCOMPLETE folder whose JSON all parses, bad input
 * (exit 2, nothing written), results/latest, and every produced file
 * validated against results/schema.json by a small validator over jansson
 * (type, enum, const, required, properties, additionalProperties, items,
 * minimum, local $ref: the subset the schema uses).
 *
 * Timing: the machine is loaded; the tests never assert speed, only order
 * (samples before the crash, the cap before the planned end).
 */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <jansson.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness/cli/keyfig.h"
#include "tests/ck_run.h"

#ifndef MAPLAB_BUILD_DIR
#define MAPLAB_BUILD_DIR "build"
#endif
#ifndef MAPLAB_SAN
#define MAPLAB_SAN ""
#endif

static char fixtures_bin[PATH_MAX];
static char schema_path[PATH_MAX];
static json_t *schema;

/* ---- a small JSON Schema validator ---------------------------------- */

static bool type_ok(const json_t *v, const char *t)
{
	if (!strcmp(t, "null")) return json_is_null(v);
	if (!strcmp(t, "boolean")) return json_is_boolean(v);
	if (!strcmp(t, "integer")) return json_is_integer(v);
	if (!strcmp(t, "number")) return json_is_number(v);
	if (!strcmp(t, "string")) return json_is_string(v);
	if (!strcmp(t, "array")) return json_is_array(v);
	if (!strcmp(t, "object")) return json_is_object(v);
	return false;
}

static int validate(const json_t *v, const json_t *s, const char *path,
		    char *err, size_t errlen);

/* The checks on v itself: type, const, enum, minimum. */
static int validate_value(const json_t *v, const json_t *s, const char *path,
			  char *err, size_t errlen)
{
	const json_t *x = json_object_get(s, "type");
	bool ok;

	if (x) {
		ok = json_is_string(x) && type_ok(v, json_string_value(x));
		for (size_t i = 0; json_is_array(x) && i < json_array_size(x); i++)
			ok = ok || type_ok(v, json_string_value(json_array_get(x, i)));
		if (!ok) {
			snprintf(err, errlen, "%s: wrong type", path);
			return 1;
		}
	}
	x = json_object_get(s, "const");
	if (x && !json_equal((json_t *)v, (json_t *)x)) {
		snprintf(err, errlen, "%s: not the constant", path);
		return 1;
	}
	x = json_object_get(s, "enum");
	if (x) {
		ok = false;
		for (size_t i = 0; i < json_array_size(x); i++)
			ok = ok || json_equal((json_t *)v, json_array_get(x, i));
		if (!ok) {
			snprintf(err, errlen, "%s: not in enum", path);
			return 1;
		}
	}
	x = json_object_get(s, "minimum");
	if (x && json_is_number(v) && json_number_value(v) < json_number_value(x)) {
		snprintf(err, errlen, "%s: below minimum", path);
		return 1;
	}
	return 0;
}

/* An object's required keys, then each member against its property (or
 * additionalProperties). */
static int validate_object(const json_t *v, const json_t *s, const char *path,
			   char *err, size_t errlen)
{
	const json_t *props = json_object_get(s, "properties");
	const json_t *addl = json_object_get(s, "additionalProperties");
	const json_t *req = json_object_get(s, "required");
	const char *k;
	json_t *val;

	for (size_t i = 0; i < json_array_size(req); i++)
		if (!json_object_get(v, json_string_value(json_array_get(req, i)))) {
			snprintf(err, errlen, "%s: missing '%s'", path,
				 json_string_value(json_array_get(req, i)));
			return 1;
		}
	json_object_foreach((json_t *)v, k, val) {
		const json_t *sub = json_object_get(props, k);
		char p[512];

		snprintf(p, sizeof(p), "%s.%s", path, k);
		if (!sub) {
			if (json_is_false(addl)) {
				snprintf(err, errlen, "%s: not in the schema", p);
				return 1;
			}
			sub = json_is_object(addl) ? addl : NULL;
		}
		if (sub && validate(val, sub, p, err, errlen))
			return 1;
	}
	return 0;
}

/* 0 when v conforms; else 1 with a message naming the path. */
static int validate(const json_t *v, const json_t *s, const char *path,
		    char *err, size_t errlen)
{
	const json_t *x;

	if (json_is_true(s))
		return 0;
	x = json_object_get(s, "$ref");
	if (x) {
		const char *ref = json_string_value(x);

		if (!ref || strncmp(ref, "#/$defs/", 8)) {
			snprintf(err, errlen, "%s: unsupported $ref", path);
			return 1;
		}
		return validate(v, json_object_get(json_object_get(schema, "$defs"),
						   ref + 8), path, err, errlen);
	}
	if (validate_value(v, s, path, err, errlen))
		return 1;
	if (json_is_object(v) && validate_object(v, s, path, err, errlen))
		return 1;
	if (json_is_array(v) && json_object_get(s, "items")) {
		for (size_t i = 0; i < json_array_size(v); i++) {
			char p[512];

			snprintf(p, sizeof(p), "%s[%zu]", path, i);
			if (validate(json_array_get(v, i), json_object_get(s, "items"),
				     p, err, errlen))
				return 1;
		}
	}
	return 0;
}

static void assert_valid(const json_t *doc, const char *def)
{
	char err[600] = "";
	json_t *s = json_object_get(json_object_get(schema, "$defs"), def);

	ck_assert_ptr_nonnull(s);
	if (validate(doc, s, def, err, sizeof(err)))
		ck_abort_msg("schema: %s", err);
}

/* ---- running the binary --------------------------------------------- */

struct out {
	int status;  /* exit code, or 128 + signal */
	char text[16384];
};

/* Run fixtures_bin with argv (NULL-terminated) in cwd (NULL = here),
 * capturing stdout+stderr.  If kill_after_ms > 0, send sig to it then. */
static void run_bin(struct out *o, const char *cwd, int kill_after_ms, int sig,
		    const char *const *argv)
{
	char tmpl[] = "/tmp/maplab-test-out-XXXXXX";
	int fd = mkstemp(tmpl);
	pid_t pid;
	int st;
	ssize_t n;

	ck_assert_int_ge(fd, 0);
	unlink(tmpl);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		const char *args[64];
		int i = 0;

		dup2(fd, 1);
		dup2(fd, 2);
		if (cwd && chdir(cwd) != 0)
			_exit(127);
		setenv("NO_COLOR", "1", 1);
		args[i++] = fixtures_bin;
		for (; argv[i - 1] && i < 63; i++)
			args[i] = argv[i - 1];
		args[i] = NULL;
		execv(fixtures_bin, (char *const *)args);
		_exit(127);
	}
	if (kill_after_ms > 0) {
		struct timespec ts = {kill_after_ms / 1000,
				      (long)(kill_after_ms % 1000) * 1000000L};

		nanosleep(&ts, NULL);
		kill(pid, sig);
	}
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	o->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	lseek(fd, 0, SEEK_SET);
	n = read(fd, o->text, sizeof(o->text) - 1);
	o->text[n > 0 ? n : 0] = '\0';
	close(fd);
}

static char made[8][64]; /* folders this test made, removed after it */
static int nmade;

static char *tmpdir(void)
{
	char *buf = made[nmade % 8];

	snprintf(buf, sizeof(made[0]), "/tmp/maplab-test-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(buf));
	nmade++;
	return buf;
}

static int rm_one(const char *p, const struct stat *sb, int flag, struct FTW *f)
{
	(void)sb;
	(void)flag;
	(void)f;
	remove(p);
	return 0;
}

static void cleanup(void)
{
	for (int i = 0; i < nmade && i < 8; i++)
		nftw(made[i], rm_one, 16, FTW_DEPTH | FTW_PHYS);
	nmade = 0;
}

static json_t *load(const char *dir, const char *rel)
{
	char path[PATH_MAX * 2];
	json_error_t je;
	json_t *j;

	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	j = json_load_file(path, 0, &je);
	if (!j)
		ck_abort_msg("%s does not parse: %s", path, je.text);
	return j;
}

static bool exists(const char *dir, const char *rel)
{
	char path[PATH_MAX * 3];

	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	return access(path, F_OK) == 0;
}

static void assert_gone(json_int_t pid)
{
	ck_assert_int_gt(pid, 1);
	/* reaped by the harness: no such process (or, rarely, a reused pid
	 * that is not our fixture) */
	if (kill((pid_t)pid, 0) == 0) {
		char path[64], cmd[256] = "";
		FILE *f;

		snprintf(path, sizeof(path), "/proc/%lld/cmdline", (long long)pid);
		f = fopen(path, "r");
		if (f) {
			size_t n = fread(cmd, 1, sizeof(cmd) - 1, f);
			cmd[n] = '\0';
			fclose(f);
		}
		ck_assert_msg(!strstr(cmd, "maplab-fixtures"),
			      "child %lld still alive", (long long)pid);
	}
}

/* Validate every JSON of a folder; returns how many run files. */
static int validate_folder(const char *dir, bool complete)
{
	json_t *m = load(dir, "manifest.json"), *s;
	char rpath[PATH_MAX + 8];
	DIR *d;
	struct dirent *e;
	int runs = 0;

	assert_valid(m, "manifest");
	ck_assert(json_is_boolean(json_object_get(m, "complete")));
	ck_assert_int_eq(json_is_true(json_object_get(m, "complete")), complete);
	ck_assert_int_eq(exists(dir, "INCOMPLETE"), !complete);
	ck_assert_str_eq(json_string_value(json_object_get(
				 json_object_get(m, "build"), "san")),
			 MAPLAB_SAN);
	json_decref(m);
	if (exists(dir, "summary.json")) {
		s = load(dir, "summary.json");
		assert_valid(s, "summary");
		json_decref(s);
	}
	snprintf(rpath, sizeof(rpath), "%s/runs", dir);
	d = opendir(rpath);
	ck_assert_ptr_nonnull(d);
	while ((e = readdir(d))) {
		size_t l = strlen(e->d_name);
		char rel[PATH_MAX];
		json_t *r;

		if (l < 5 || strcmp(e->d_name + l - 5, ".json"))
			continue;
		snprintf(rel, sizeof(rel), "runs/%s", e->d_name);
		r = load(dir, rel);
		assert_valid(r, "run");
		json_decref(r);
		runs++;
	}
	closedir(d);
	return runs;
}

/* One fixture run; returns its record (caller decrefs). */
static json_t *fixture_run(const char *fx, const char *const *extra, char *dir)
{
	const char *argv[40] = {"run", "--incident", fx, "--variant", "mutex",
				"--out", dir, "-q"};
	char rel[256];
	struct out o;
	int n = 8;
	json_t *r;

	for (int i = 0; extra && extra[i] && n < 38; i++)
		argv[n++] = extra[i];
	argv[n] = NULL;
	run_bin(&o, NULL, 0, 0, argv);
	ck_assert_msg(o.status == 0, "maplab run %s: status %d\n%s", fx,
		      o.status, o.text);
	ck_assert_int_eq(validate_folder(dir, true), 1);
	snprintf(rel, sizeof(rel), "runs/%s.mutex.r1.json", fx);
	r = load(dir, rel);
	assert_gone(json_integer_value(json_object_get(r, "child_pid")));
	snprintf(rel, sizeof(rel), "data/%s.mutex.r1.dat", fx);
	ck_assert(exists(dir, rel));
	return r;
}

static const char *outcome(const json_t *r)
{
	return json_string_value(json_object_get(r, "outcome"));
}

/* ---- tests ----------------------------------------------------------- */

START_TEST(clean_ok)
{
	json_t *r = fixture_run("fxclean", (const char *[]){"--seconds", "0.5s", NULL},
				tmpdir());
	json_t *sum = json_object_get(r, "summary");
	json_t *series = json_object_get(r, "series");

	ck_assert_str_eq(outcome(r), "ok");
	ck_assert(json_is_null(json_object_get(r, "signal")));
	ck_assert_int_eq(json_integer_value(json_object_get(r, "exit_status")), 0);
	ck_assert_int_gt(json_integer_value(json_object_get(sum, "ops")), 0);
	ck_assert(json_is_integer(json_object_get(json_object_get(sum, "latency_ns"), "p99")));
	ck_assert(json_number_value(json_object_get(json_object_get(r, "symptoms"),
						    "leaked_bytes")) == 0);
	ck_assert_int_gt(json_array_size(json_object_get(series, "rows")), 3);
	ck_assert_str_eq(json_string_value(json_array_get(
				 json_object_get(series, "columns"), 0)), "t_s");
	ck_assert_str_eq(json_string_value(json_array_get(
				 json_object_get(series, "columns"), 8)), "lat_max_ms");
	json_decref(r);
}
END_TEST

START_TEST(segv_crash_with_telemetry)
{
	json_t *r = fixture_run("fxsegv",
				(const char *[]){"--seconds", "20s", "--set",
						 "after_ms=600", NULL},
				tmpdir());
	json_t *sig = json_object_get(r, "signal"), *rows;
	double last_t = 0, last_ops = 0;

	ck_assert_str_eq(outcome(r), "crash");
	if (MAPLAB_SAN[0]) {
		/* UBSan (asan lane) or TSan catches the NULL store, reports
		 * and exits non-zero: the report's line is the record's error
		 * (TSan's "SEGV on unknown address" also names the signal) */
		const char *e = json_string_value(json_object_get(r, "error"));

		ck_assert_int_ne(json_integer_value(json_object_get(r, "exit_status")), 0);
		ck_assert_ptr_nonnull(e);
		ck_assert(strstr(e, "null pointer") || strstr(e, "SEGV"));
	} else {
		ck_assert_str_eq(json_string_value(json_object_get(sig, "name")), "SIGSEGV");
		ck_assert_int_eq(json_integer_value(json_object_get(sig, "number")), SIGSEGV);
		ck_assert(json_is_null(json_object_get(r, "exit_status")));
	}
	ck_assert_str_eq(json_string_value(json_object_get(r, "phase")), "run");
	/* telemetry up to the crash: samples after the failure point's
	 * start (600 ms) are there, with work counted */
	rows = json_object_get(json_object_get(r, "series"), "rows");
	ck_assert_int_gt(json_array_size(rows), 5);
	last_t = json_number_value(json_array_get(json_array_get(rows, json_array_size(rows) - 1), 0));
	last_ops = json_number_value(json_array_get(json_array_get(rows, json_array_size(rows) - 1), 4));
	/* the crash comes at >= 0.6 s; allow a starved monitor thread on a
	 * loaded machine some slack, never a missing series */
	ck_assert_msg(last_t >= 0.3, "last sample at %.3f s", last_t);
	ck_assert(last_ops > 0);
	ck_assert(json_number_value(json_object_get(r, "duration_s")) < 19);
	json_decref(r);
}
END_TEST

START_TEST(abort_crash)
{
	json_t *r = fixture_run("fxabort", (const char *[]){"--seconds", "20s", NULL},
				tmpdir());

	ck_assert_str_eq(outcome(r), "crash");
	ck_assert_str_eq(json_string_value(json_object_get(json_object_get(r, "signal"),
							   "name")), "SIGABRT");
	json_decref(r);
}
END_TEST

START_TEST(hang_killed)
{
	json_t *r = fixture_run("fxhang",
				(const char *[]){"--seconds", "0.5s", "--timeout",
						 "2s", NULL},
				tmpdir());
	double d = json_number_value(json_object_get(r, "duration_s"));

	ck_assert_str_eq(outcome(r), "hang");
	ck_assert(json_is_null(json_object_get(r, "signal")));
	ck_assert(d >= 2.0 && d < 15);
	ck_assert_ptr_nonnull(strstr(json_string_value(json_object_get(r, "error")),
				     "no end after"));
	json_decref(r);
}
END_TEST

START_TEST(budget_oom)
{
	/* Under ASan, the request churn's freed blocks wait in its quarantine
	 * (256 MiB by default), so RSS passes 128M before the budget fills
	 * (measured: cap rss at 0.7-0.9 s in 2 of 3 runs); a cap above the
	 * quarantine leaves the budget, the thing under test, to stop it. */
	json_t *r = fixture_run("fxbudget",
				(const char *[]){"--seconds", "30s", "--mem-cap",
						 MAPLAB_SAN[0] ? "1G" : "128M",
						 "--budget", "16M", NULL},
				tmpdir());
	json_t *oom = json_object_get(r, "oom");

	ck_assert_str_eq(outcome(r), "oom");
	ck_assert_str_eq(json_string_value(json_object_get(oom, "cap")), "budget");
	ck_assert(json_is_string(json_object_get(oom, "tag")));
	/* under ASan, freed blocks wait in its quarantine: RSS grows far
	 * beyond the counted bytes, and grew_most says "untracked" */
	if (!MAPLAB_SAN[0])
		ck_assert_str_eq(json_string_value(json_object_get(oom, "grew_most")),
				 "payload");
	ck_assert(json_number_value(json_object_get(oom, "at_s")) < 29);
	json_decref(r);
}
END_TEST

START_TEST(rss_watchdog)
{
	/* plain malloc'd, touched pages: the allocator never sees them, only
	 * the watchdog (in `make asan` this binary is ASan-built: no
	 * RLIMIT_AS, the watchdog alone) */
	json_t *r = fixture_run("fxrss",
				(const char *[]){"--seconds", "60s", "--mem-cap",
						 "64M", "--timeout", "90s", NULL},
				tmpdir());
	json_t *oom = json_object_get(r, "oom");
	json_t *caps = json_object_get(r, "caps");
	double peak = json_number_value(json_object_get(json_object_get(r, "summary"),
							"peak_rss_bytes"));

	ck_assert_str_eq(outcome(r), "oom");
	ck_assert_str_eq(json_string_value(json_object_get(oom, "cap")), "rss");
	ck_assert_str_eq(json_string_value(json_object_get(oom, "tag")), "untracked");
	ck_assert(peak > 64.0 * 1048576);
	/* overshoot bounded by one 10 ms poll of page faulting */
	ck_assert(peak < 1024.0 * 1048576);
	ck_assert(json_number_value(json_object_get(r, "duration_s")) < 59);
	if (MAPLAB_SAN[0])
		ck_assert(json_is_null(json_object_get(caps, "rlimit_as_bytes")));
	else
		ck_assert(json_is_integer(json_object_get(caps, "rlimit_as_bytes")));
	json_decref(r);
}
END_TEST

START_TEST(detector_crash)
{
	json_t *r = fixture_run("fxdetector", (const char *[]){"--seconds", "20s", NULL},
				tmpdir());

	ck_assert_str_eq(outcome(r), "crash");
	ck_assert(json_is_null(json_object_get(r, "signal")));
	ck_assert_int_eq(json_integer_value(json_object_get(r, "exit_status")), 2);
	ck_assert_str_eq(json_string_value(json_object_get(r, "detector")),
			 "fatal error: concurrent map writes");
	ck_assert_ptr_nonnull(strstr(json_string_value(json_object_get(r, "stderr_tail")),
				     "goroutine"));
	json_decref(r);
}
END_TEST

START_TEST(setup_error)
{
	json_t *r = fixture_run("fxfail", NULL, tmpdir());

	ck_assert_str_eq(outcome(r), "error");
	ck_assert_ptr_nonnull(strstr(json_string_value(json_object_get(r, "error")),
				     "setup failed"));
	ck_assert_int_eq(json_array_size(json_object_get(r, "log")), 1);
	json_decref(r);
}
END_TEST

static void interrupted_case(int sig)
{
	char *dir = tmpdir();
	const char *argv[] = {"matrix", "--incident", "fxclean,fxhang",
			      "--variant", "mutex,rwlock", "--seconds", "0.4s",
			      "--timeout", "30s", "--out", dir, "-q", NULL};
	json_t *sumj;
	struct out o;
	int runs;

	/* fxclean (2 x ~0.5 s) then fxhang, which hangs for 30 s: the kill
	 * at 2.5 s lands during a run */
	run_bin(&o, NULL, 2500, sig, argv);
	if (sig == SIGKILL) {
		ck_assert_int_eq(o.status, 128 + SIGKILL);
		/* the child died with its parent (PR_SET_PDEATHSIG) */
		usleep(200000);
	} else {
		ck_assert_msg(o.status == 128 + sig, "status %d\n%s", o.status, o.text);
	}
	runs = validate_folder(dir, false);
	ck_assert_int_ge(runs, 1);
	sumj = load(dir, "summary.json");
	if (sig != SIGKILL) {
		json_t *runsj = json_object_get(sumj, "runs"), *last;
		char rel[256];
		json_t *rj;

		last = json_array_get(runsj, json_array_size(runsj) - 1);
		ck_assert_str_eq(outcome(last), "interrupted");
		snprintf(rel, sizeof(rel), "%s",
			 json_string_value(json_object_get(last, "file")));
		rj = load(dir, rel);
		assert_gone(json_integer_value(json_object_get(rj, "child_pid")));
		json_decref(rj);
	}
	json_decref(sumj);
	{
		/* no process of ours is left running for this folder */
		DIR *p = opendir("/proc");
		struct dirent *e;

		while ((e = readdir(p))) {
			char path[300], cmd[4096];
			FILE *f;
			size_t n;

			if (e->d_name[0] < '0' || e->d_name[0] > '9')
				continue;
			snprintf(path, sizeof(path), "/proc/%s/cmdline", e->d_name);
			f = fopen(path, "r");
			if (!f)
				continue;
			n = fread(cmd, 1, sizeof(cmd) - 1, f);
			fclose(f);
			for (size_t i = 0; i < n; i++)
				if (!cmd[i])
					cmd[i] = ' ';
			cmd[n] = '\0';
			ck_assert_msg(!strstr(cmd, dir), "orphan %s: %s", e->d_name, cmd);
		}
		closedir(p);
	}
}

START_TEST(interrupted_term) { interrupted_case(SIGTERM); }
END_TEST
START_TEST(interrupted_int) { interrupted_case(SIGINT); }
END_TEST
START_TEST(killed_parent) { interrupted_case(SIGKILL); }
END_TEST

START_TEST(bad_input)
{
	static const char *const cases[][12] = {
		{"run", "--incident", "nope", "--variant", "mutex", NULL},
		{"run", "--incident", "fxclean", "--variant", "nope", NULL},
		{"run", "--variant", "mutex", NULL},
		{"run", "--incident", "fxclean", NULL},
		{"run", "--incident", "fxclean", "--variant", "mutex", "--set", "nope=1", NULL},
		{"run", "--incident", "fxclean", "--variant", "mutex", "--set", "after_ms=-5", NULL},
		{"run", "--incident", "fxclean", "--variant", "mutex", "--set", "work_ops=1.5", NULL},
		{"run", "--incident", "fxclean", "--variant", "mutex", "--set", "after_ms=abc", NULL},
		{"run", "--incident", "fxclean", "--variant", "mutex", "--set", "after_ms", NULL},
		{"run", "--incident", "fxclean", "--variant", "mutex", "--threads", "0", NULL},
		{"run", "--incident", "fxclean", "--variant", "mutex", "--threads", "x", NULL},
		{"run", "--incident", "fxclean", "--variant", "mutex", "--mem-cap", "12Q", NULL},
		{"run", "--incident", "fxclean", "--variant", "mutex", "--mem-cap", "1M", NULL},
		{"run", "--incident", "fxclean", "--variant", "mutex", "--seconds", "-1", NULL},
		{"run", "--incident", "fxclean", "--variant", "mutex", "--seconds", "5parsecs", NULL},
		{"run", "--incident", "fxclean", "--variant", "mutex", "--reps", "0", NULL},
		{"run", "--incident", "fxclean", "--variant", "mutex", "--bogus", NULL},
		{"run", "--incident", "fxclean", "--variant", "mutex", "--threads", NULL},
		{"run", "--incident", "fxclean", "--variant", "mutex", "extra", NULL},
		{"run", "--incident", "fxclean", "--variant", "mutex", "--out", "/nonexistent-dir/x", NULL},
		{"run", "--incident", "fxclean", "--variant", "mutex", "--out", "notempty", NULL},
		{"run", "--incident", "fxclean", "--variant", "mutex", "--out", "afile", NULL},
		{"run", "--incident", "fxclean", "--variant", "mutex", "--size", "huge", NULL},
		{"matrix", "--preset", "nope", NULL},
		{"matrix", "--incident", "fxclean,nope", NULL},
		{"matrix", "--variant", "mutex,", "--incident", "nope", NULL},
		{"matrix", "--set", "nope=3", NULL},
		{"nosuchcommand", NULL},
	};
	char *dir = tmpdir();
	char path[PATH_MAX + 32];
	FILE *f;

	snprintf(path, sizeof(path), "%s/notempty", dir);
	ck_assert_int_eq(mkdir(path, 0755), 0);
	snprintf(path, sizeof(path), "%s/notempty/x", dir);
	f = fopen(path, "w");
	fclose(f);
	snprintf(path, sizeof(path), "%s/afile", dir);
	f = fopen(path, "w");
	fclose(f);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct out o;
		DIR *d;
		struct dirent *e;
		int n = 0;
		char *nl;

		run_bin(&o, dir, 0, 0, cases[i]);
		ck_assert_msg(o.status == 2, "case %zu (%s %s): status %d: %s", i,
			      cases[i][0], cases[i][2] ? cases[i][2] : "",
			      o.status, o.text);
		nl = strchr(o.text, '\n');
		ck_assert_msg(nl && nl[1] == '\0', "case %zu: not one line: %s", i, o.text);
		/* nothing written: only our two entries in the cwd */
		d = opendir(dir);
		while ((e = readdir(d)))
			if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
				n++;
		closedir(d);
		ck_assert_msg(n == 2, "case %zu wrote something", i);
	}
}
END_TEST

START_TEST(help_and_list)
{
	static const char *const cases[][3] = {
		{"--help", NULL}, {"run", "--help", NULL}, {"matrix", "--help", NULL},
		{"list", "--help", NULL}, {"list", NULL}};
	struct out o;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		run_bin(&o, NULL, 0, 0, cases[i]);
		ck_assert_msg(o.status == 0, "%s: %d", cases[i][0], o.status);
		ck_assert(strlen(o.text) > 20);
	}
	run_bin(&o, NULL, 0, 0, (const char *[]){"list", NULL});
	ck_assert_ptr_nonnull(strstr(o.text, "fxsegv"));
	ck_assert_ptr_nonnull(strstr(o.text, "presets:"));
}
END_TEST

START_TEST(default_folder_and_latest)
{
	char *dir = tmpdir();
	char link[PATH_MAX + 32], target[PATH_MAX];
	char full[PATH_MAX];
	ssize_t n;
	struct out o;

	run_bin(&o, dir, 0, 0,
		(const char *[]){"matrix", "--incident", "fxclean,fxfail", "--variant",
				 "mutex", "--seconds", "0.3s", NULL});
	ck_assert_msg(o.status == 0, "%s", o.text);
	ck_assert_ptr_nonnull(strstr(o.text, "[1/2] fxclean \u00d7 mutex  rep 1/1 \u2026 ok"));
	snprintf(link, sizeof(link), "%s/results/latest", dir);
	n = readlink(link, target, sizeof(target) - 1);
	ck_assert_int_gt(n, 0);
	target[n] = '\0';
	ck_assert_ptr_nonnull(strstr(target, "-quick"));
	snprintf(full, sizeof(full), "%s/results/%.200s", dir, target);
	ck_assert_int_eq(validate_folder(full, true), 2);
	{
		json_t *m = load(full, "manifest.json");

		ck_assert_str_eq(json_string_value(json_object_get(m, "kind")), "matrix");
		ck_assert_str_eq(json_string_value(json_object_get(m, "preset")), "quick");
		ck_assert_ptr_nonnull(strstr(json_string_value(json_object_get(m, "command")),
					     "--incident fxclean,fxfail"));
		json_decref(m);
	}
	ck_assert(exists(full, "summary.csv"));
}
END_TEST

/* A run that crashed before its first sweep has an empty sweep
 * histogram: its key figure is "n/a", not the empty histogram's 0. */
START_TEST(keyfig_empty_histogram_is_na)
{
	json_t *r = json_pack("{s:s, s:{s:{s:i, s:i}}}", "incident", "payment",
			      "histograms", "sweep", "count", 0, "max_ns", 0);
	char buf[64];

	keyfig_text(r, buf, sizeof(buf));
	ck_assert_str_eq(buf, "sweep max n/a");
	json_object_set_new(json_object_get(json_object_get(r, "histograms"),
					    "sweep"), "count", json_integer(1));
	keyfig_text(r, buf, sizeof(buf));
	ck_assert_str_eq(buf, "sweep max 0 ms");
	json_decref(r);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("harness");
	TCase *tc = tcase_create("fixtures");
	TCase *ti = tcase_create("interrupt");
	TCase *tb = tcase_create("cli");
	json_error_t je;
	int rc;

	char rel_bin[PATH_MAX];

	snprintf(rel_bin, sizeof(rel_bin), "%s/maplab-fixtures", MAPLAB_BUILD_DIR);
	if (!realpath(rel_bin, fixtures_bin)) {
		fprintf(stderr, "check_harness: %s/maplab-fixtures missing\n",
			MAPLAB_BUILD_DIR);
		return 1;
	}
	snprintf(schema_path, sizeof(schema_path), "results/schema.json");
	schema = json_load_file(schema_path, 0, &je);
	if (!schema) {
		fprintf(stderr, "check_harness: %s: %s\n", schema_path, je.text);
		return 1;
	}
	tcase_set_timeout(tc, 120);
	tcase_set_timeout(ti, 120);
	tcase_set_timeout(tb, 120);
	tcase_add_checked_fixture(tc, NULL, cleanup);
	tcase_add_checked_fixture(ti, NULL, cleanup);
	tcase_add_checked_fixture(tb, NULL, cleanup);
	tcase_add_test(tc, clean_ok);
	tcase_add_test(tc, segv_crash_with_telemetry);
	tcase_add_test(tc, abort_crash);
	tcase_add_test(tc, hang_killed);
	tcase_add_test(tc, budget_oom);
	tcase_add_test(tc, rss_watchdog);
	tcase_add_test(tc, detector_crash);
	tcase_add_test(tc, setup_error);
	tcase_add_test(ti, interrupted_term);
	tcase_add_test(ti, interrupted_int);
	tcase_add_test(ti, killed_parent);
	tcase_add_test(tb, bad_input);
	tcase_add_test(tb, help_and_list);
	tcase_add_test(tb, default_folder_and_latest);
	tcase_add_test(tb, keyfig_empty_histogram_is_na);
	suite_add_tcase(s, tc);
	suite_add_tcase(s, ti);
	suite_add_tcase(s, tb);
	rc = ck_run(s);
	json_decref(schema);
	return rc;
}

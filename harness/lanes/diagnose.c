/*
 * harness/lanes/diagnose.c - `maplab diagnose INCIDENT VARIANT`: the seed's
 * six-step diagnostic checklist (chapter 4), done in C with the lab's own
 * telemetry and standard tools, for one cell.
 *
 *   Go step                 here
 *   1 pprof heap profile -> live bytes per allocation site (allocator tags)
 *                           over the run: top sites, the site that grew;
 *                           a massif recipe for a call-stack profile
 *   2 go tool trace      -> per-thread CPU, run-queue wait and blocked
 *                           (off-CPU: lock waits, sleeps) time from
 *                           /proc/<pid>/task/<tid>/{stat,schedstat}, taken
 *                           mid-run; the request latency histogram
 *   3 GODEBUG=gctrace=1  -> the malloc trace: mallinfo2 lines (arena, in
 *                           use, free, fragmentation), MAPLAB_MALLOC_TRACE=1
 *   4 -race in CI        -> the TSan lane for this cell (build/tsan)
 *   5 goroutine dump     -> in-flight requests at the probe, and every
 *                           thread's backtrace by gdb in batch mode
 *   6 memory limit       -> the cap's forensics: outcome, which cap, when,
 *                           what grew
 *
 * How: the cell runs as `maplab run -v` would (matrix_run) in a forked
 * copy of this process (so the harness's caps and records apply
 * unchanged, and this process is free to probe it) with its stderr,
 * which carries the child's malloc trace, saved to a file.  Twice - early (0.3 s, before a
 * racing map has usually crashed) and halfway through the planned run -
 * the probe finds the run's child process and reads its threads and
 * backtraces (gdb stops the process for a moment: the probe perturbs the
 * run a little, which diagnose.md says).  Then the page diagnose.md is
 * written into the run's results folder and the report re-rendered.
 * The page reads the run record through its typed view (results_view,
 * store/results.h), and only the series, which the view does not carry,
 * by name.
 *
 * Single-threaded.  Bad input exits 2 before anything runs.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness/cli/cli.h"
#include "harness/cli/opts.h"
#include "harness/lanes/diagnose.h"
#include "harness/report/report.h"
#include "harness/store/results.h"
#include "incidents/registry.h"
#include "maps/alloc.h"
#include "maps/map.h"
#include "maps/util.h"

#ifndef MAPLAB_BUILD_DIR
#define MAPLAB_BUILD_DIR "build"
#endif

static void usage(FILE *f)
{
	fprintf(f,
		"usage: maplab diagnose INCIDENT VARIANT [--seconds S]\n"
		"                       [--set k=v ...] [--detect] [--out DIR]\n"
		"                       [--no-gdb] [--no-tsan]\n\n"
		"Runs one cell and walks the six-step diagnostic checklist:\n"
		"heap by site, thread blocked time and latency, malloc trace,\n"
		"the TSan lane, in-flight requests and thread backtraces (gdb),\n"
		"and the cap's forensics.  Writes diagnose.md (+ gdb.txt,\n"
		"threads.txt, malloc-trace.txt) into the results folder.\n");
}

/* dir/name into buf; false (and buf empty) when it does not fit. */
static bool join(char *buf, size_t len, const char *dir, const char *name)
{
	int n = snprintf(buf, len, "%s/%s", dir, name);

	if (n < 0 || (size_t)n >= len) {
		buf[0] = '\0';
		return false;
	}
	return true;
}

/* The run's child: the child of pid with pid's own name (the harness
 * forks without exec; other children, such as git for the manifest, have
 * other names), or 0. */
static pid_t child_of(pid_t pid)
{
	char path[64], buf[512], mine[64] = "", theirs[64];
	FILE *f;
	char *p, *end;

	snprintf(path, sizeof(path), "/proc/%d/comm", pid);
	f = fopen(path, "r");
	if (!f || !fgets(mine, sizeof(mine), f)) {
		if (f)
			fclose(f);
		return 0;
	}
	fclose(f);
	snprintf(path, sizeof(path), "/proc/%d/task/%d/children", pid, pid);
	f = fopen(path, "r");
	if (!f)
		return 0;
	if (!fgets(buf, sizeof(buf), f))
		buf[0] = '\0';
	fclose(f);
	for (p = buf;; p = end) {
		long c = strtol(p, &end, 10);
		FILE *g;

		if (end == p)
			return 0;
		snprintf(path, sizeof(path), "/proc/%ld/comm", c);
		g = fopen(path, "r");
		if (!g)
			continue;
		if (fgets(theirs, sizeof(theirs), g) && !strcmp(theirs, mine)) {
			fclose(g);
			return (pid_t)c;
		}
		fclose(g);
	}
}

/* Append every thread of pid with CPU, run-queue wait and off-CPU time. */
static void threads_snapshot(pid_t pid, FILE *out)
{
	char path[300], buf[1024], comm[64];
	long hz = sysconf(_SC_CLK_TCK);
	double uptime = 0;
	struct dirent *e;
	DIR *d;
	FILE *f;

	f = fopen("/proc/uptime", "r");
	if (f) {
		if (fscanf(f, "%lf", &uptime) != 1)
			uptime = 0;
		fclose(f);
	}
	snprintf(path, sizeof(path), "/proc/%d/task", pid);
	d = opendir(path);
	if (!d) {
		fprintf(out, "(the run's child %d had already ended)\n", pid);
		return;
	}
	fprintf(out, "%-8s %-16s %5s %9s %9s %9s %9s\n", "tid", "name", "state",
		"alive_s", "cpu_s", "runq_s", "blocked_s");
	while ((e = readdir(d))) {
		unsigned long long ut = 0, st = 0, start = 0, run_ns = 0, wait_ns = 0;
		char state = '?', *p;
		double alive, cpu, runq;

		if (!isdigit((unsigned char)e->d_name[0]))
			continue;
		snprintf(path, sizeof(path), "/proc/%d/task/%s/stat", pid, e->d_name);
		f = fopen(path, "r");
		if (!f)
			continue;
		if (!fgets(buf, sizeof(buf), f))
			buf[0] = '\0';
		fclose(f);
		p = strrchr(buf, ')');
		if (!p)
			continue;
		snprintf(comm, sizeof(comm), "%.*s",
			 (int)(p - strchr(buf, '(') - 1), strchr(buf, '(') + 1);
		/* fields after ")": state(3) ... utime(14) stime(15) ...
		 * starttime(22) */
		sscanf(p + 2, "%c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu "
			      "%llu %*d %*d %*d %*d %*d %*d %llu",
		       &state, &ut, &st, &start);
		snprintf(path, sizeof(path), "/proc/%d/task/%s/schedstat", pid,
			 e->d_name);
		f = fopen(path, "r");
		if (f) {
			if (fscanf(f, "%llu %llu", &run_ns, &wait_ns) != 2)
				run_ns = wait_ns = 0;
			fclose(f);
		}
		alive = uptime - (double)start / hz;
		cpu = (double)(ut + st) / hz;
		if (run_ns)
			cpu = run_ns / 1e9;
		runq = wait_ns / 1e9;
		fprintf(out, "%-8s %-16s %5c %9.2f %9.2f %9.2f %9.2f\n",
			e->d_name, comm, state, alive, cpu, runq,
			alive - cpu - runq > 0 ? alive - cpu - runq : 0);
	}
	closedir(d);
}

/* gdb -p pid -batch: every thread's backtrace into out (best effort). */
static void backtraces(pid_t pid, FILE *out)
{
	char spid[32];
	int pfd[2];
	pid_t g;
	char buf[4096];
	ssize_t n;

	snprintf(spid, sizeof(spid), "%d", pid);
	if (pipe(pfd))
		return;
	fflush(NULL);
	g = fork();
	if (g == 0) {
		dup2(pfd[1], 1);
		dup2(pfd[1], 2);
		close(pfd[0]);
		execlp("timeout", "timeout", "30", "gdb", "-nx", "-q", "-batch",
		       "-p", spid, "-ex", "set pagination off", "-ex",
		       "thread apply all bt 12", (char *)NULL);
		printf("gdb could not be started: %s (apt-get install gdb)\n",
		       strerror(errno));
		_exit(127);
	}
	close(pfd[1]);
	while ((n = read(pfd[0], buf, sizeof(buf))) > 0)
		fwrite(buf, 1, n, out);
	close(pfd[0]);
	if (g > 0)
		waitpid(g, NULL, 0);
}

static int column_of(const json_t *cols, const char *name)
{
	size_t i;
	json_t *c;

	json_array_foreach((json_t *)cols, i, c)
		if (json_is_string(c) && !strcmp(json_string_value(c), name))
			return (int)i;
	return -1;
}

static double cell(const json_t *row, int col)
{
	const json_t *v = col >= 0 ? json_array_get(row, col) : NULL;

	return json_is_number(v) ? json_number_value(v) : NAN;
}

/* The run the page is about: its record's typed view (results_view) for
 * every figure the view carries, the record itself for its series, which
 * the view does not carry. */
struct diag_run {
	const json_t *rec;
	struct results_run_view v;
};

/* The crash, named first: "crash SIGSEGV at 0.49 s"; "" when the run did
 * not crash (an oom is the cap's story, step 6). */
static void crash_text(const struct results_run_view *v, char *buf,
		       size_t len)
{
	buf[0] = '\0';
	if (v->outcome && !strcmp(v->outcome, "crash"))
		snprintf(buf, len, "crash (%s) at %.2f s",
			 v->detector ? v->detector : v->signal ? v->signal
			 : "sanitizer", v->duration_s);
}

/* Step 1: per-tag live MiB at the start, the peak of the total, the end. */
static void step_heap(FILE *md, const struct diag_run *r)
{
	const json_t *series = json_object_get(r->rec, "series");
	const json_t *cols = json_object_get(series, "columns");
	const json_t *rows = json_object_get(series, "rows");
	size_t n = json_array_size(rows), peak = 0;
	int live = column_of(cols, "live_mib");
	double best = -1, grew = 0;
	const char *grew_tag = NULL;

	fprintf(md, "## 1. Heap profile: live bytes per allocation site\n\n"
		    "*Go: `pprof` heap profile.*  Chart: the report's "
		    "`#%s-memory`; data: `data/*.dat` columns `tag_*_mib`.\n\n",
		r->v.incident);
	if (!n) {
		fprintf(md, "No samples were recorded.\n\n");
		return;
	}
	for (size_t i = 0; i < n; i++) {
		double v = cell(json_array_get(rows, i), live);
		if (v > best) {
			best = v;
			peak = i;
		}
	}
	fprintf(md, "| site (tag) | first sample MiB | at peak (t=%.2fs) MiB | last sample MiB |\n|---|---:|---:|---:|\n",
		cell(json_array_get(rows, peak), column_of(cols, "t_s")));
	for (int t = 0; t < ML_TAG_COUNT; t++) {
		char name[64];
		int c;
		double a, b, z;

		snprintf(name, sizeof(name), "tag_%s_mib", ml_tag_name(t));
		c = column_of(cols, name);
		a = cell(json_array_get(rows, 0), c);
		b = cell(json_array_get(rows, peak), c);
		z = cell(json_array_get(rows, n - 1), c);
		if (!(b > 0.01 || z > 0.01))
			continue;
		fprintf(md, "| %s | %.2f | %.2f | %.2f |\n", ml_tag_name(t), a, b, z);
		if (b - a > grew) {
			grew = b - a;
			grew_tag = ml_tag_name(t);
		}
	}
	{
		char crash[200];

		crash_text(&r->v, crash, sizeof(crash));
		fprintf(md, "\n**Finding:** %s%s%s grew most (+%.1f MiB up to the "
			    "peak of %.1f MiB live)%s%s%s.\n\n",
			grew_tag ? "`" : "", grew_tag ? grew_tag : "no site",
			grew_tag ? "`" : "", grew, best,
			crash[0] ? ", but the run ended in a " : "", crash,
			crash[0] ? ": these figures cover only its short life "
			"(the cache filling up), not a leak" : "");
		printf("1 heap:      %s grew most (+%.1f MiB; peak %.1f MiB live)%s\n",
		       grew_tag ? grew_tag : "no site", grew, best,
		       crash[0] ? " - only over the crashed run's short life" : "");
	}
	fprintf(md, "For call stacks rather than sites, run the same cell under "
		    "massif (plain build, no caps of its own: keep it short):\n\n"
		    "```sh\nulimit -v 4000000; valgrind --tool=massif "
		    "--massif-out-file=massif.out build/maplab run --incident %s "
		    "--variant %s --seconds 2 --out /tmp/massif-run\n"
		    "ms_print massif.out | less\n```\n\n",
		r->v.incident, r->v.variant);
}

static double series_max(const json_t *run, const char *name, double *at)
{
	const json_t *series = json_object_get(run, "series");
	int c = column_of(json_object_get(series, "columns"), name);
	int t = column_of(json_object_get(series, "columns"), "t_s");
	const json_t *rows = json_object_get(series, "rows");
	double best = NAN;
	size_t i;
	json_t *row;

	json_array_foreach((json_t *)rows, i, row) {
		double v = cell(row, c);
		if (!isnan(v) && (isnan(best) || v > best)) {
			best = v;
			if (at)
				*at = cell(row, t);
		}
	}
	return best;
}

static void step_malloc_trace(FILE *md, const char *dir,
			      const struct diag_run *r, double planned)
{
	const json_t *series = json_object_get(r->rec, "series");
	const json_t *cols = json_object_get(series, "columns");
	int ct = column_of(cols, "t_s"), ca = column_of(cols, "malloc_arena_mib"),
	    cm = column_of(cols, "malloc_mmap_mib"),
	    cu = column_of(cols, "malloc_inuse_mib"),
	    cf = column_of(cols, "malloc_free_mib"), cr = column_of(cols, "frag"),
	    cl = column_of(cols, "live_mib");
	char path[PATH_MAX];
	char *buf = NULL;
	size_t len = 0, i, lines = 0;
	FILE *f = open_memstream(&buf, &len);
	double fmax = NAN;
	json_t *row;

	json_array_foreach(json_object_get(series, "rows"), i, row) {
		double fr = cell(row, cr);
		if (isnan(cell(row, ca)))
			continue;
		fprintf(f, "malloc t=%.2fs arena=%.1fMiB mmap=%.1fMiB "
			   "inuse=%.1fMiB free=%.1fMiB frag=%.1f%% live=%.1fMiB\n",
			cell(row, ct), cell(row, ca), cell(row, cm), cell(row, cu),
			cell(row, cf), 100 * fr, cell(row, cl));
		/* after the run, teardown empties the heap and the ratio
		 * tends to 1 without meaning anything */
		if (!isnan(fr) && cell(row, ct) <= planned &&
		    (isnan(fmax) || fr > fmax))
			fmax = fr;
		lines++;
	}
	fclose(f);
	join(path, sizeof(path), dir, "malloc-trace.txt");
	results_write_file(path, buf, len);
	fprintf(md, "## 3. Malloc trace\n\n*Go: `GODEBUG=gctrace=1`.*  One "
		    "line per mallinfo2 sample (every 100 ms at most: mallinfo2 "
		    "locks the allocator): [`malloc-trace.txt`](malloc-trace.txt); "
		    "the same lines on any run's stderr with "
		    "`MAPLAB_MALLOC_TRACE=1` (they are in `stderr.txt` here).  "
		    "Fragmentation = (arena + mmap - in use) / (arena + mmap).  "
		    "Chart: `#%s-memory`.\n\n```\n%.*s```\n\n", r->v.incident,
		    (int)(len > 1400 ? 1400 : len), buf ? buf : "");
	fprintf(md, "**Finding:** %zu samples; peak fragmentation while the "
		    "workload ran: %.1f%%.\n\n",
		lines, isnan(fmax) ? 0 : 100 * fmax);
	printf("3 malloc:    %zu mallinfo2 samples, peak fragmentation %.1f%%\n",
	       lines, isnan(fmax) ? 0 : 100 * fmax);
	free(buf);
}

/* Run the TSan lane for this cell if the TSan build exists. */
static void step_tsan(FILE *md, const char *dir, const char *inc,
		      const char *var, bool want)
{
	char bin[PATH_MAX], out[PATH_MAX], cmd[3 * PATH_MAX], line[512];
	FILE *p;
	int rc;

	fprintf(md, "## 4. Race detector\n\n*Go: `-race` in CI.*  The "
		    "ThreadSanitizer lane for this cell (`./run.sh tsan` runs "
		    "it for every cell).\n\n");
	snprintf(bin, sizeof(bin), "%s/tsan/maplab", MAPLAB_BUILD_DIR);
	if (!want || access(bin, X_OK)) {
		fprintf(md, "Not run: %s.  Build it with `./run.sh tsan`.\n\n",
			want ? "no TSan build at build/tsan/maplab" : "--no-tsan");
		printf("4 tsan:      not run (%s)\n",
		       want ? "no TSan build; ./run.sh tsan" : "--no-tsan");
		return;
	}
	join(out, sizeof(out), dir, "tsan-lane");
	snprintf(cmd, sizeof(cmd), "%s tsan --incident %s --variant %s --out "
		 "%s --no-report 2>&1", bin, inc, var, out);
	fflush(NULL);
	/* A subprocess, not a call: the lane must run in the TSan build
	 * (build/tsan/maplab), another binary than this one. */
	p = popen(cmd, "r");
	fprintf(md, "```\n");
	while (p && fgets(line, sizeof(line), p))
		if (strstr(line, inc) && strstr(line, var) && !strchr(line, '['))
			fputs(line, md);
	rc = p ? pclose(p) : -1;
	{
		char tj[PATH_MAX + 16];
		json_t *doc, *cell0;
		json_int_t races = -1;

		snprintf(tj, sizeof(tj), "%s/tsan.json", out);
		doc = json_load_file(tj, 0, NULL);
		cell0 = NULL; /* this cell (the lane judges no reference cell
			       * it adds, but look it up by name all the same) */
		{
			size_t k;
			json_t *c;

			json_array_foreach(json_object_get(doc, "cells"), k, c)
				if (!cell0 && !strcmp(json_string_value(json_object_get(
						c, "variant")) ?: "", var))
					cell0 = c;
		}
		if (cell0)
			rc = json_is_true(json_object_get(cell0, "pass")) ? 0 : 1;
		if (json_is_integer(json_object_get(cell0, "tsan_reports")))
			races = json_integer_value(json_object_get(cell0,
								   "tsan_reports"));
		json_decref(doc);
		if (races < 0)
			snprintf(tj, sizeof(tj), "TSan: no verdict (the lane "
				 "wrote no tsan.json)");
		else
			snprintf(tj, sizeof(tj), "TSan: %lld race%s reported",
				 (long long)races, races == 1 ? "" : "s");
		fprintf(md, "```\n\n**%s.**  Logs: [`tsan-lane/tsan/`]"
			    "(tsan-lane/tsan/).  The lane's own check (does TSan "
			    "say what this variant should make it say?) %s.\n\n",
			tj, rc == 0 ? "passed" : "FAILED (see above)");
		printf("4 tsan:      %s (lane check %s; tsan-lane/)\n", tj,
		       rc == 0 ? "passed" : "FAILED");
	}
}

static int parse_args(int argc, char **argv, const char **inc,
		      const char **var, struct matrix_opts *mo, bool *gdb,
		      bool *tsan)
{
	static const struct option opts[] = {
		{"seconds", required_argument, NULL, 's'},
		{"set", required_argument, NULL, 'S'},
		{"detect", no_argument, NULL, 'd'},
		{"out", required_argument, NULL, 'o'},
		{"no-gdb", no_argument, NULL, 'G'},
		{"no-tsan", no_argument, NULL, 'T'},
		{"help", no_argument, NULL, 'h'},
		{0}};
	int c;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			if (cli_parse_duration(optarg, &mo->seconds)) {
				fprintf(stderr, "maplab diagnose: --seconds '%s' is "
						"not a duration, e.g. 5s\n", optarg);
				return 2;
			}
			break;
		case 'S':
			if (mo->nsets == MATRIX_MAX_SETS) {
				fprintf(stderr, "maplab diagnose: too many --set "
						"options (at most %d)\n",
					MATRIX_MAX_SETS);
				return 2;
			}
			mo->sets[mo->nsets++] = optarg;
			break;
		case 'd': mo->detect = true; break;
		case 'o': mo->out = optarg; break;
		case 'G': *gdb = false; break;
		case 'T': *tsan = false; break;
		case 'h': usage(stdout); return 1;
		default:
			fprintf(stderr, "maplab diagnose: unknown or incomplete "
					"option '%s'; try maplab diagnose --help\n",
				argv[optind - 1]);
			return 2;
		}
	}
	if (argc - optind != 2) {
		fprintf(stderr, "maplab diagnose: give INCIDENT and VARIANT, e.g. "
				"maplab diagnose payment unsafe\n");
		return 2;
	}
	*inc = argv[optind];
	*var = argv[optind + 1];
	return 0;
}

/* One diagnosis: the cell, the probes and what they saw. */
struct diag {
	const char *inc, *var, *out;
	bool gdb, tsan;
	double planned, probe_at[2];
	int probes;
	char *tbuf, *gbuf;  /* threads.txt, gdb.txt */
	size_t tlen, glen;
	char errpath[PATH_MAX]; /* the child's stderr until it is moved */
};

/* Arguments and names, checked before anything runs; fills mo as
 * `maplab run -v` would be given.  0, -1 (help printed) or 2. */
static int diag_prepare(struct diag *dg, struct matrix_opts *mo, int argc,
			char **argv, char *outbuf, size_t outlen)
{
	const struct incident *incident;
	char err[512];
	int rc;

	matrix_opts_init(mo, "run");
	rc = parse_args(argc, argv, &dg->inc, &dg->var, mo, &dg->gdb, &dg->tsan);
	if (rc)
		return rc == 1 ? -1 : 2;
	if (!(incident = incident_find(dg->inc))) {
		fprintf(stderr, "maplab diagnose: unknown incident '%s'; see "
				"maplab list\n", dg->inc);
		return 2;
	}
	if (!map_variant_find(dg->var)) {
		fprintf(stderr, "maplab diagnose: unknown variant '%s'; see "
				"maplab list\n", dg->var);
		return 2;
	}
	if (!(dg->out = mo->out)) {
		char label[96];

		snprintf(label, sizeof(label), "diagnose-%s-%s", dg->inc, dg->var);
		cli_default_out(outbuf, outlen, label);
		dg->out = outbuf;
	}
	if (results_check_out(dg->out, err, sizeof(err))) {
		fprintf(stderr, "maplab diagnose: %s\n", err);
		return 2;
	}
	dg->planned = mo->seconds > 0 ? mo->seconds : incident->quick_seconds;
	dg->probe_at[0] = dg->planned / 2 < 0.3 ? dg->planned / 4 : 0.3;
	dg->probe_at[1] = dg->planned / 2;
	mo->incidents = dg->inc;
	mo->variants = dg->var;
	mo->out = dg->out;
	mo->verbose = true;
	mo->report = 0; /* rendered at the end, after diagnose.md */
	return 0;
}

/* Probe the run's child at the planned moments until the run ends. */
static int diag_probe(struct diag *dg, pid_t sub)
{
	FILE *tf = open_memstream(&dg->tbuf, &dg->tlen);
	FILE *gf = open_memstream(&dg->gbuf, &dg->glen);
	double t0 = ml_mono_s();
	int status = 0;
	pid_t child;

	for (;;) {
		if (waitpid(sub, &status, WNOHANG) == sub)
			break;
		if (dg->probes < 2 && ml_mono_s() - t0 >= dg->probe_at[dg->probes] &&
		    (child = child_of(sub)) > 0) {
			fprintf(tf, "%sprobe %d at %.2fs after start, pid %d\n\n",
				dg->probes ? "\n" : "", dg->probes + 1,
				ml_mono_s() - t0, child);
			threads_snapshot(child, tf);
			if (dg->gdb) {
				fprintf(gf, "=== probe %d at %.2fs\n",
					dg->probes + 1, ml_mono_s() - t0);
				backtraces(child, gf);
			}
			dg->probes++;
		}
		usleep(20000);
	}
	fclose(tf);
	fclose(gf);
	return status;
}

/* The cell, run and probed.  0, or 1 when it did not complete. */
static int diag_run(struct diag *dg, const struct matrix_opts *mo)
{
	int errfd, status;
	pid_t sub;

	snprintf(dg->errpath, sizeof(dg->errpath),
		 "/tmp/maplab-diagnose-%d.stderr", getpid());
	errfd = open(dg->errpath, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	printf("diagnose %s x %s: running the cell (probes at %.1fs and "
	       "%.1fs)\n", dg->inc, dg->var, dg->probe_at[0], dg->probe_at[1]);
	fflush(NULL);
	sub = fork();
	if (sub == 0) {
		/* `maplab run -v` in a forked copy of this (single-threaded)
		 * process, not in this one: the parent probes it while it
		 * runs.  No exec: the copy makes the typed call. */
		int rc;

		setenv("MAPLAB_MALLOC_TRACE", "1", 1);
		if (errfd >= 0)
			dup2(errfd, 2);
		rc = matrix_run(mo);
		fflush(NULL);
		_exit(rc);
	}
	if (sub < 0) {
		fprintf(stderr, "maplab diagnose: fork: %s\n", strerror(errno));
		return 1;
	}
	status = diag_probe(dg, sub);
	if (errfd >= 0)
		close(errfd);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		fprintf(stderr, "maplab diagnose: the run did not complete (status "
				"%d); see %s\n", status, dg->errpath);
		return 1;
	}
	return 0;
}

/* Steps 2, 5 and 6 of the page (1, 3 and 4 have their own functions). */
static void step_trace(FILE *md, const struct diag *dg,
		       const struct diag_run *r)
{
	const char *inc = dg->inc, *tbuf = dg->tbuf;
	double at = NAN, v;

	fprintf(md, "## 2. Trace: blocked time and latency\n\n*Go: `go tool "
		    "trace`.*  Per thread at the probe: CPU time, time waiting "
		    "for a CPU (run queue) and blocked time (off CPU: lock waits, "
		    "condition waits, sleeps) from /proc/<pid>/task/*/"
		    "{stat,schedstat}: [`threads.txt`](threads.txt).  Charts: "
		    "`#%s-latency`, `#%s-inflight`.\n\n```\n%s```\n\n",
		inc, inc, tbuf ? tbuf : "");
	v = series_max(r->rec, "lat_p99_ms", &at);
	fprintf(md, "**Finding:** request latency p99 peaked at %.2f ms "
		    "(t=%.2fs).\n\n", v, at);
	printf("2 trace:     latency p99 peaked at %.2f ms at t=%.2fs; threads "
	       "in threads.txt\n", v, at);
}

static void step_dump_limit(FILE *md, const struct diag *dg,
			    const struct diag_run *r)
{
	const char *gbuf = dg->gbuf;
	size_t glen = dg->glen;
	double at = NAN, v;

	v = series_max(r->rec, "inflight", &at);
	fprintf(md, "## 5. Goroutine dump: in-flight requests and backtraces\n\n"
		    "*Go: goroutine dump.*  In-flight requests peaked at **%.0f** "
		    "(t=%.2fs).  Every thread's backtrace at the probe (gdb in "
		    "batch mode): [`gdb.txt`](gdb.txt).\n\n```\n%.*s```\n\n",
		v, at, (int)(glen > 3000 ? 3000 : glen), gbuf ? gbuf : "");
	if (!glen) {
		const char *tail = r->v.stderr_tail;
		size_t tl = tail ? strlen(tail) : 0;

		fprintf(md, "The run ended before a probe could attach (outcome "
			    "`%s` after %.2fs).  What the dying process said "
			    "itself, the end of its stderr ([`stderr.txt`]"
			    "(stderr.txt)):\n\n```\n%s```\n\n",
			r->v.outcome, r->v.duration_s,
			tl > 1500 ? tail + tl - 1500 : tail ? tail : "");
	}
	printf("5 dump:      in-flight peaked at %.0f (t=%.2fs); backtraces in "
	       "gdb.txt (%zu bytes)\n", v, at, glen);

	{
		const struct results_run_view *w = &r->v;
		const char *o = w->outcome ? w->outcome : "?";

		fprintf(md, "## 6. Memory limit: the cap's forensics\n\n*Go: memory "
			    "limit and alert.*  Outcome `%s`", o);
		if (w->oom_cap)
			fprintf(md, ": the **%s** cap was hit at %.2fs; the site "
				    "that tipped or grew most: `%s`", w->oom_cap,
				w->oom_at_s, w->oom_tag ? w->oom_tag : "?");
		fprintf(md, ".  Peak live %.1f MiB, peak RSS %.1f MiB.  Detector: "
			    "%s.  Signal: %s.\n", w->peak_live_bytes / 1048576,
			w->peak_rss_bytes / 1048576,
			w->detector ? w->detector : "none",
			w->signal ? w->signal : "none");
		printf("6 limit:     outcome %s%s%s\n", o, w->oom_cap ? ", cap " : "",
		       w->oom_cap ? w->oom_cap : "");
	}
}

/* diagnose.md, written into the run's folder.  0 or 1. */
static int diag_page(const struct diag *dg, const json_t *run)
{
	struct diag_run r = {.rec = run};
	const char *inc = dg->inc, *var = dg->var;
	char *mdbuf = NULL, path[PATH_MAX];
	size_t mdlen = 0;
	FILE *md = open_memstream(&mdbuf, &mdlen);
	double probe_at[2] = {dg->probe_at[0], dg->probe_at[1]};
	int probes = dg->probes, rc;

	results_view(run, &r.v);
	fprintf(md, "# Diagnosis: %s x %s\n\nThe seed's six-step checklist "
		    "(chapter 4) for one run; outcome **%s**.  Run record: "
		    "`runs/`; report: [report.html](report.html).  The probes "
		    "(%.1fs, %.1fs; %d taken) read /proc and attach gdb for a "
		    "moment, which perturbs the run slightly.\n\n", inc, var,
		r.v.outcome, probe_at[0], probe_at[1], probes);
	{
		char crash[200];

		crash_text(&r.v, crash, sizeof(crash));
		if (crash[0]) {
			fprintf(md, "**The run crashed: %s.**  The map's own "
				    "failure is the finding; the memory and latency "
				    "figures below cover only the %.2f s it lived.\n\n",
				crash, r.v.duration_s);
			printf("\n0 outcome:   %s; the figures below cover only the "
			       "run's short life\n", crash);
		} else {
			printf("\n");
		}
	}
	step_heap(md, &r);
	step_trace(md, dg, &r);
	step_malloc_trace(md, dg->out, &r, dg->planned);
	step_tsan(md, dg->out, inc, var, dg->tsan);
	step_dump_limit(md, dg, &r);
	fclose(md);
	join(path, sizeof(path), dg->out, "diagnose.md");
	rc = results_write_file(path, mdbuf, mdlen);
	free(mdbuf);
	if (rc) {
		fprintf(stderr, "maplab diagnose: cannot write %s\n", path);
		return 1;
	}
	return 0;
}

int diagnose_main(int argc, char **argv)
{
	struct diag dg = {.gdb = true, .tsan = true};
	struct matrix_opts mo;
	char outbuf[PATH_MAX], err[1024], path[PATH_MAX];
	struct report_opts ro = {.quiet = true};
	json_t *runs, *run;
	int rc = diag_prepare(&dg, &mo, argc, argv, outbuf, sizeof(outbuf));

	if (rc)
		return rc < 0 ? 0 : rc;
	if ((rc = diag_run(&dg, &mo)))
		goto out;
	/* keep the child's stderr (malloc trace lines) with the results */
	join(path, sizeof(path), dg.out, "stderr.txt");
	if (rename(dg.errpath, path))
		unlink(dg.errpath);
	runs = results_load_runs(dg.out, err, sizeof(err));
	if (!(run = json_array_get(runs, 0))) {
		fprintf(stderr, "maplab diagnose: %s\n", err);
		json_decref(runs);
		rc = 1;
		goto out;
	}
	join(path, sizeof(path), dg.out, "threads.txt");
	results_write_file(path, dg.tbuf, dg.tlen);
	join(path, sizeof(path), dg.out, "gdb.txt");
	results_write_file(path, dg.gbuf, dg.glen);
	rc = diag_page(&dg, run);
	json_decref(runs);
	if (!rc && report_render(dg.out, &ro, err, sizeof(err)))
		fprintf(stderr, "maplab diagnose: the report of %s could not "
				"be rendered: %s\n", dg.out, err);
	if (!rc)
		printf("\ndiagnosis: %s/diagnose.md\n", dg.out);
out:
	free(dg.tbuf);
	free(dg.gbuf);
	return rc;
}

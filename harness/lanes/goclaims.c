/*
 * harness/lanes/goclaims.c - This file contains `maplab goclaims`: the
 * experiments behind the lab's claims about Go, each as fresh processes of
 * <build>/go/goclaims (harness/lanes/goclaims/main.go), and their tally in
 * <folder>/goclaims.json, which the report draws (report_go.c).
 *
 * Claims and their cells:
 *   seed10   the article's 10-goroutine example: N processes at the
 *            machine's GOMAXPROCS and N at GOMAXPROCS=1, each with and
 *            without defer recover(); the share that died (Wilson 95 %),
 *            the detector lines seen, the recoveries counted by survivors.
 *   loops    write/write, write/read, write/range for up to S seconds: M
 *            processes per cell, the same four settings; time to death.
 *   syncmap  promotion vs the first Store of a new key after it, at
 *            10k/50k/200k keys (medians of REPS, in one process).
 *   rebuild  in-place rebuild under a lock vs snapshot swap: blocked reads,
 *            slow reads, GC cycles (one process each).
 * Every process runs in its own process group with a timeout (S + 5 s)
 * and the RSS cap (256 MiB), killed past either; an error (anything but
 * a detector death or a clean survival) is counted as such, never as a
 * death.  Sequential: one process at a time.  Nothing is written until
 * every argument is checked; the folder is new, or an existing results
 * folder (goclaims.json is added to it).
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness/cli/opts.h"
#include "harness/lanes/goclaims.h"
#include "harness/runner/runner.h"
#include "harness/runtime/telemetry.h"
#include "harness/store/results.h"

#define GC_CAP (256ull << 20)
#define GC_OUT (64u << 10)

void goclaims_wilson(unsigned k, unsigned n, double *lo, double *hi)
{
	const double z = 1.96;
	double p = (double)k / n, d = 1 + z * z / n;
	double c = (p + z * z / (2.0 * n)) / d;
	double h = z * sqrt(p * (1 - p) / n + z * z / (4.0 * n * n)) / d;

	*lo = c - h < 0 ? 0 : c - h;
	*hi = c + h > 1 ? 1 : c + h;
}

const char *goclaims_end(bool exited, int status, bool fatal_line,
			 bool survived_line)
{
	if (exited && status == 2 && fatal_line)
		return "died";
	if (exited && status == 0 && survived_line)
		return "survived";
	return "error";
}

struct proc {
	const char *end;   /* goclaims_end() */
	double secs;       /* fork to reap */
	char fatal[128];   /* the detector line */
	char json[1024];   /* the first line starting '{' */
};

static double mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void scan(struct proc *p, const char *buf, size_t len)
{
	const char *s = buf, *end = buf + len;

	while (s < end) {
		const char *nl = memchr(s, '\n', (size_t)(end - s));
		size_t n = nl ? (size_t)(nl - s) : (size_t)(end - s);

		if (!p->fatal[0] && n > 13 && !memcmp(s, "fatal error: ", 13))
			snprintf(p->fatal, sizeof(p->fatal), "%.*s", (int)n - 13, s + 13);
		if (!p->json[0] && n && *s == '{')
			snprintf(p->json, sizeof(p->json), "%.*s", (int)n, s);
		s += n + 1;
	}
}

/* One captured process. */
struct captured {
	char *buf;    /* its output, NUL-terminated; what passes cap is dropped */
	size_t cap, len;
	int status;   /* its wait status */
	bool killed;  /* we killed it: timeout or RSS cap */
	double secs;  /* from fork to reaped */
};

/* Run argv in its own process group with GOMAXPROCS=gomaxprocs (NULL:
 * unset, Go's default), its stdout (and stderr when with_stderr) into
 * c->buf, killed past timeout_s or the RSS cap; the pipe is read to its
 * end (past cap into a sink, so the child never blocks on it).  0, or -1
 * when it could not start. */
static int run_captured(char **argv, const char *gomaxprocs, bool with_stderr,
			double timeout_s, struct captured *c)
{
	double t0 = mono();
	char sink[4096];
	int fd[2];
	pid_t pid;

	c->len = 0;
	c->killed = false;
	c->status = 0;
	if (pipe2(fd, O_CLOEXEC))
		return -1;
	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		setpgid(0, 0);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		dup2(fd[1], STDOUT_FILENO);
		if (with_stderr)
			dup2(fd[1], STDERR_FILENO);
		if (gomaxprocs)
			setenv("GOMAXPROCS", gomaxprocs, 1);
		else
			unsetenv("GOMAXPROCS");
		execv(argv[0], argv);
		_exit(4);
	}
	close(fd[1]);
	if (pid < 0) {
		close(fd[0]);
		return -1;
	}
	setpgid(pid, pid);
	for (;;) {
		struct pollfd q = {fd[0], POLLIN, 0};
		ssize_t n;

		if (poll(&q, 1, 10) > 0) {
			n = c->len + 1 < c->cap
				    ? read(fd[0], c->buf + c->len, c->cap - 1 - c->len)
				    : read(fd[0], sink, sizeof(sink));
			if (n > 0 && c->len + 1 < c->cap)
				c->len += (size_t)n;
		}
		if (waitpid(pid, &c->status, WNOHANG) == pid)
			break;
		if (!c->killed && (mono() - t0 > timeout_s ||
				   telemetry_pid_rss(pid) > GC_CAP)) {
			kill(-pid, SIGKILL);
			c->killed = true;
		}
	}
	c->secs = mono() - t0;
	kill(-pid, SIGKILL); /* anything left in its group */
	for (ssize_t n = 1; n > 0 && c->len + 1 < c->cap;) {
		n = read(fd[0], c->buf + c->len, c->cap - 1 - c->len);
		if (n > 0)
			c->len += (size_t)n;
	}
	close(fd[0]);
	c->buf[c->len] = '\0';
	return 0;
}

/* One process: argv under GOMAXPROCS (NULL: Go's default), its output
 * scanned, its end decided. */
static void run_one(char **argv, const char *gomaxprocs, double timeout_s,
		    struct proc *p)
{
	static char buf[GC_OUT];
	struct captured c = {.buf = buf, .cap = sizeof(buf)};

	memset(p, 0, sizeof(*p));
	p->end = "error";
	if (run_captured(argv, gomaxprocs, true, timeout_s, &c))
		return;
	p->secs = c.secs;
	scan(p, buf, c.len);
	p->end = goclaims_end(WIFEXITED(c.status) && !c.killed,
			      WIFEXITED(c.status) ? WEXITSTATUS(c.status) : -1,
			      p->fatal[0] != 0,
			      strstr(p->json, "\"survived\":true") != NULL);
}

static double median_of(double *v, unsigned n)
{
	for (unsigned i = 1; i < n; i++) /* insertion sort: n is small */
		for (unsigned j = i; j > 0 && v[j] < v[j - 1]; j--) {
			double t = v[j];

			v[j] = v[j - 1];
			v[j - 1] = t;
		}
	return n ? v[n / 2] : NAN;
}

/* One cell: n processes of argv; the tally as a JSON object. */
static json_t *cell(const char *claim, char **argv, const char *gmp,
		    bool recover, unsigned n, double timeout_s)
{
	unsigned died = 0, surv = 0, err = 0;
	double *t = calloc(n ? n : 1, sizeof(*t)), lo, hi, maxt = 0;
	json_t *msgs = json_object(), *j;
	json_int_t recovered = 0;
	struct proc p;

	for (unsigned i = 0; i < n && !runner_interrupted; i++) {
		run_one(argv, gmp, timeout_s, &p);
		if (!strcmp(p.end, "died")) {
			t[died++] = p.secs;
			if (p.secs > maxt)
				maxt = p.secs;
			json_object_set_new(msgs, p.fatal, json_integer(
				json_integer_value(json_object_get(msgs, p.fatal)) + 1));
		} else if (!strcmp(p.end, "survived")) {
			json_t *o = json_loads(p.json, 0, NULL);

			surv++;
			recovered += json_integer_value(json_object_get(o, "recovered"));
			json_decref(o);
		} else {
			err++;
		}
	}
	goclaims_wilson(died, died + surv ? died + surv : 1, &lo, &hi);
	j = json_pack("{s:s, s:s, s:b, s:i, s:i, s:i, s:i, s:f, s:[f,f], s:o, s:o, s:I, s:o}",
		      "claim", claim, "gomaxprocs", gmp ? gmp : "default",
		      "recover", recover, "procs", n, "died", died,
		      "survived", surv, "errors", err,
		      "share", died + surv ? (double)died / (died + surv) : 0.0,
		      "wilson95", lo, hi,
		      "death_median_s", results_num(died ? median_of(t, died) : NAN),
		      "death_max_s", results_num(died ? maxt : NAN),
		      "recovered", recovered, "messages", msgs);
	printf("  %-14s GOMAXPROCS=%-7s recover=%-3s died %3u/%-3u (%.0f%%, 95%% %.0f-%.0f%%)"
	       "  errors %u  recoveries %lld\n", claim, gmp ? gmp : "default",
	       recover ? "yes" : "no", died, died + surv,
	       died + surv ? 100.0 * died / (died + surv) : 0.0, 100 * lo, 100 * hi,
	       err, (long long)recovered);
	free(t);
	return j;
}

/* A one-process experiment whose output is JSON lines: an array of them
 * (killed past timeout_s or the RSS cap: the lines it printed).  The
 * process keeps our GOMAXPROCS and our stderr. */
static json_t *lines_of(char **argv, double timeout_s)
{
	static char buf[GC_OUT];
	struct captured c = {.buf = buf, .cap = sizeof(buf)};
	json_t *a = json_array();

	if (run_captured(argv, getenv("GOMAXPROCS"), false, timeout_s, &c))
		return a;
	for (char *line = strtok(buf, "\n"); line; line = strtok(NULL, "\n")) {
		json_t *o = json_loads(line, 0, NULL);

		if (o)
			json_array_append_new(a, o);
	}
	return a;
}

static void loadavg(char *buf, size_t len)
{
	FILE *f = fopen("/proc/loadavg", "r");

	buf[0] = '\0';
	if (f) {
		if (!fgets(buf, (int)len, f))
			buf[0] = '\0';
		fclose(f);
	}
	buf[strcspn(buf, "\n")] = '\0';
}

static int usage(FILE *f, int rc)
{
	fprintf(f,
"usage: maplab goclaims [--out DIR] [--quick] [--procs N] [--loop-procs M]\n"
"                       [--loop-seconds S]\n"
"\n"
"Run the Go claim experiments (<build>/go/goclaims, built by `make go`) as\n"
"fresh processes and write DIR/goclaims.json (DIR: a new folder, or an\n"
"existing results folder the report then shows them in).  N processes per\n"
"seed10 cell (default 200), M per loop cell (default 20, GOMAXPROCS=1: M/2)\n"
"running up to S seconds (default 0.5).  --quick: N 40, M 6, S 0.3 and\n"
"smaller sync.Map and rebuild runs (the test form).\n");
	return rc;
}

static int bad(const char *msg, const char *arg)
{
	fprintf(stderr, "maplab goclaims: %s%s\n", msg, arg ? arg : "");
	return 2;
}

struct gc_opts {
	const char *out;
	unsigned procs, lprocs;
	double lsec;
	bool quick;
};

/* Parse argv; 0, 1 (help printed) or the exit code 2 (one line). */
static int gc_parse(int argc, char **argv, struct gc_opts *o)
{
	uint64_t u;

	*o = (struct gc_opts){.procs = 200, .lprocs = 20, .lsec = 0.5};
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			usage(stdout, 0);
			return 1;
		}
		if (!strcmp(a, "--quick")) {
			o->quick = true;
			o->procs = 40;
			o->lprocs = 6;
			o->lsec = 0.3;
		} else if (!strcmp(a, "--out") && v) {
			o->out = v;
			i++;
		} else if (!strcmp(a, "--procs") && v) {
			if (cli_parse_u64(v, 1, 100000, &u))
				return bad("--procs: give a whole number 1-100000, not ", v);
			o->procs = (unsigned)u;
			i++;
		} else if (!strcmp(a, "--loop-procs") && v) {
			if (cli_parse_u64(v, 2, 100000, &u))
				return bad("--loop-procs: give a whole number 2-100000, not ", v);
			o->lprocs = (unsigned)u;
			i++;
		} else if (!strcmp(a, "--loop-seconds") && v) {
			if (cli_parse_duration(v, &o->lsec) || o->lsec > 60)
				return bad("--loop-seconds: give a duration up to 60s, not ", v);
			i++;
		} else {
			return bad("unknown or incomplete option; see maplab goclaims --help: ", a);
		}
	}
	return 0;
}

/* The seed10 and loop cells. */
static void share_cells(const char *bin, const struct gc_opts *o, json_t *seed,
			json_t *loops)
{
	for (int g = 0; g < 2; g++)
		for (int r = 0; r < 2; r++) {
			char *av[] = {(char *)bin, "seed10", r ? "recover" : NULL, NULL};

			json_array_append_new(seed, cell("seed10", av, g ? "1" : NULL,
							 r, o->procs, 10));
		}
	for (int k = 0; k < 3; k++)
		for (int g = 0; g < 2; g++)
			for (int r = 0; r < 2; r++) {
				static const char *const kinds[] = {"ww", "wr", "wrange"};
				char secs[32], name[32];
				char *av[] = {(char *)bin, "loop", (char *)kinds[k], secs,
					      r ? "recover" : NULL, NULL};

				snprintf(secs, sizeof(secs), "%g", o->lsec);
				snprintf(name, sizeof(name), "loop-%s", kinds[k]);
				json_array_append_new(loops, cell(name, av, g ? "1" : NULL, r,
								  g ? o->lprocs / 2 : o->lprocs,
								  o->lsec + 5));
			}
}

int goclaims_main(int argc, char **argv)
{
	struct gc_opts o;
	char bin[PATH_MAX + 32], self[PATH_MAX], dir[PATH_MAX], path[PATH_MAX + 32];
	char la0[128], la1[128];
	const char *out;
	ssize_t n;
	int rc = gc_parse(argc, argv, &o);
	json_t *doc, *seed, *loops, *sm, *rb;

	if (rc)
		return rc == 1 ? 0 : rc;
	out = o.out;
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	self[n > 0 ? n : 0] = '\0';
	if (strrchr(self, '/'))
		*strrchr(self, '/') = '\0';
	snprintf(bin, sizeof(bin), "%s/go/goclaims", self);
	if (getenv("MAPLAB_GO_BIN"))
		snprintf(bin, sizeof(bin), "%s/goclaims", getenv("MAPLAB_GO_BIN"));
	if (access(bin, X_OK)) {
		fprintf(stderr, "maplab goclaims: %s is not built: install golang-go "
			"and run `make go` (./run.sh go does both)\n", bin);
		return 1;
	}
	if (!out) {
		cli_default_out(dir, sizeof(dir), "goclaims");
		out = dir;
	}
	if (strlen(out) >= PATH_MAX)
		return bad("--out: the path is too long", NULL);
	if (mkdir(out, 0755) && errno != EEXIST)
		return bad("cannot make the folder ", out);
	snprintf(path, sizeof(path), "%s/goclaims.json", out);
	if (access(path, F_OK) == 0)
		return bad("the folder already has goclaims.json: ", out);

	runner_install_signals();
	loadavg(la0, sizeof(la0));
	printf("maplab goclaims: %s -> %s\n", bin, path);
	seed = json_array();
	loops = json_array();
	share_cells(bin, &o, seed, loops);
	{
		char *av[] = {bin, "syncmap", o.quick ? "10000,50000" : "10000,50000,200000",
			      o.quick ? "3" : "5", NULL};

		sm = lines_of(av, 60);
	}
	rb = json_array();
	for (int m = 0; m < 2; m++) {
		char *av[] = {bin, "rebuild", m ? "swap" : "inplace", "50000",
			      o.quick ? "1" : "3", "2", "100", NULL};
		json_t *a = lines_of(av, 60);

		json_array_extend(rb, a);
		json_decref(a);
	}
	loadavg(la1, sizeof(la1));
	doc = json_pack("{s:i, s:s, s:i, s:s, s:s, s:b, s:i, s:i, s:f, s:o, s:o, s:o, s:o}",
			"schema_version", 1, "kind", "goclaims",
			"cores", (int)sysconf(_SC_NPROCESSORS_ONLN),
			"loadavg_start", la0, "loadavg_end", la1, "quick", o.quick,
			"procs", o.procs, "loop_procs", o.lprocs, "loop_seconds", o.lsec,
			"seed10", seed, "loops", loops, "syncmap", sm, "rebuild", rb);
	if (results_write_json(path, doc)) {
		json_decref(doc);
		fprintf(stderr, "maplab goclaims: cannot write %s\n", path);
		return 1;
	}
	json_decref(doc);
	printf("maplab goclaims: wrote %s (load average %s -> %s)\n", path, la0, la1);
	return runner_interrupted ? 128 + runner_interrupted : 0;
}

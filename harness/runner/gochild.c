/*
 * harness/runner/gochild.c - This file contains the Go child
 * (harness/runner/gochild.h): exec an incident's Go twin under the C lab's
 * caps, relay its JSON-lines telemetry into the run's ictx and series, and
 * decide its outcome in one pure function (gochild_classify).
 *
 * Parent side, single-threaded: one loop woken every 10 ms by poll() on
 * the child's output pipe and its telemetry pipe: drain both, reap the
 * child if it ended, read its RSS, kill its process group past the RSS
 * cap, past the timeout or when we were interrupted.  Telemetry lines are
 * parsed as they come (jansson); a line longer than the buffer is dropped
 * whole.  The ictx is filled only here (metrics registered by name on
 * first sight, up to ICTX_MAX_METRICS), so nothing in it is shared with
 * the child.
 *
 * Child side: own process group, default signals, PR_SET_PDEATHSIG
 * SIGKILL, oom_score_adj 1000, stdout and stderr into the capture pipe,
 * the telemetry pipe as fd 3 (MAPLAB_TELEMETRY_FD=3), then execv.  Exit
 * status 4 means it could not exec (message on stderr).
 *
 * Outcome (first match, gochild_classify):
 *   we SIGKILLed it           -> oom (rss) | hang | interrupted
 *   killed by another signal  -> crash (signal)
 *   exit 2 + "fatal error: runtime: out of memory" or "...: cannot
 *     allocate memory"        -> oom (cap "rlimit": the runtime could not
 *                                map more memory under RLIMIT_DATA)
 *   exit 2 + "fatal error: "  -> crash (the detector line)
 *   exit 2 + "panic: "        -> crash (the panic line as error)
 *   exit 0 + phase done       -> ok
 *   an "error" line, exit 3   -> error (the twin's setup message)
 *   anything else             -> error (exit status and phase)
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
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness/runner/gochild.h"
#include "maps/util.h"

#define GO_WATCH_MS 10
#define GO_ROWS 4096            /* series rows kept (decimated past it) */
#define GO_CAPTURE (256u << 10) /* child output kept for scanning */
#define GO_LINE (64u << 10)     /* longest telemetry line */
#define GO_TEL_FD 3

/* The Go designs (maps/go) and config's snapshot swap. */
static const struct {
	const char *name;
	bool config_only;
} go_variants[] = {
	{"go-unsafe", false},  {"go-mutex", false},   {"go-rwlock", false},
	{"go-sharded", false}, {"go-syncmap", false}, {"go-snapshot", true},
};
#define NGOVAR (sizeof(go_variants) / sizeof(go_variants[0]))

bool gochild_is_go(const char *v)
{
	return v && !strncmp(v, "go-", 3);
}

size_t gochild_variant_count(void)
{
	return NGOVAR;
}

const char *gochild_variant_at(size_t i)
{
	return i < NGOVAR ? go_variants[i].name : NULL;
}

/* The incident's Go twin (its descriptor's go_twin), or NULL. */
static const char *twin_of(const struct incident *inc)
{
	return inc ? inc->go_twin : NULL;
}

bool gochild_supports(const struct incident *inc, const char *variant)
{
	if (!twin_of(inc))
		return false;
	for (size_t i = 0; i < NGOVAR; i++)
		if (!strcmp(go_variants[i].name, variant))
			return !go_variants[i].config_only ||
			       !strcmp(inc->name, "config");
	return false;
}

int gochild_binary(const struct incident *inc, char *buf, size_t len)
{
	const char *twin = twin_of(inc), *dir = getenv("MAPLAB_GO_BIN");
	char self[PATH_MAX];
	ssize_t n;

	if (!twin)
		return -ENOENT;
	if (dir && *dir) {
		snprintf(buf, len, "%s/%s", dir, twin);
	} else {
		/* <build>/maplab -> <build>/go/<twin> */
		n = readlink("/proc/self/exe", self, sizeof(self) - 1);
		self[n > 0 ? n : 0] = '\0';
		if (strrchr(self, '/'))
			*strrchr(self, '/') = '\0';
		snprintf(buf, len, "%s/go/%s", self[0] ? self : ".", twin);
	}
	return access(buf, X_OK) == 0 ? 0 : -ENOEXEC;
}

/* ---- the outcome ---------------------------------------------------- */

enum run_outcome gochild_classify(const struct gochild_end *e)
{
	if (e->killed == 1)
		return RUN_OOM;
	if (e->killed == 2)
		return RUN_HANG;
	if (e->killed == 3)
		return RUN_INTERRUPTED;
	if (!e->exited)
		return RUN_CRASH;
	if (e->status == 2 && e->detector && e->detector[0])
		return strstr(e->detector, "out of memory") ||
			       strstr(e->detector, "cannot allocate memory")
			       ? RUN_OOM
			       : RUN_CRASH;
	if (e->status == 2 && e->panic && e->panic[0])
		return RUN_CRASH;
	if (e->status == 0 && e->done && !e->setup_error)
		return RUN_OK;
	return RUN_ERROR;
}

/* ---- the child ------------------------------------------------------ */

static __attribute__((noreturn)) void go_child(const char *bin, char **argv,
					       int out_fd, int tel_fd,
					       pid_t parent, uint64_t data_cap)
{
	runner_child_prepare(out_fd, parent);
	if (dup2(tel_fd, GO_TEL_FD) < 0) /* dup2 clears O_CLOEXEC */
		_exit(4);
	/* The Go heap's hard cap: RLIMIT_DATA counts the private writable
	 * mappings the runtime commits (not the PROT_NONE space it reserves,
	 * which is why RLIMIT_AS cannot be used), so past --mem-cap the
	 * runtime dies with "out of memory" / "cannot allocate memory"
	 * instead of growing between two 10 ms watchdog polls (measured:
	 * metrics x go-mutex reached 325 MiB against 256 without it). */
	if (data_cap) {
		struct rlimit rl = {data_cap, data_cap};

		if (setrlimit(RLIMIT_DATA, &rl) != 0)
			_exit(4);
	}
	setenv("MAPLAB_TELEMETRY_FD", "3", 1);
	execv(bin, argv);
	dprintf(STDERR_FILENO, "maplab: cannot exec %s: %s\n", bin,
		strerror(errno));
	_exit(4);
}

/* ---- the parent's state --------------------------------------------- */

struct goparent {
	struct run_result *res;
	struct ictx *ctx;
	struct ictx_status *st;
	char *out;          /* captured output, the last GO_CAPTURE bytes */
	size_t out_len, out_scan;
	char detector[256], panic[256];
	char *line;         /* telemetry line being assembled */
	size_t line_len;
	bool line_skip;     /* the current line overflowed: drop it */
	bool done, setup_error;
	bool echo;          /* copy the twin's output to our stderr (-v) */
	unsigned stride, tick; /* series decimation */
	double heap0, rss0; /* first sample */
	double heap_peak;
};

static void scan_out(struct goparent *g)
{
	for (;;) {
		char *line = g->out + g->out_scan;
		char *nl = memchr(line, '\n', g->out_len - g->out_scan);
		size_t n;

		if (!nl)
			return;
		n = (size_t)(nl - line);
		if (!g->detector[0] && n >= 13 && !memcmp(line, "fatal error: ", 13))
			snprintf(g->detector, sizeof(g->detector), "%.*s", (int)n, line);
		if (!g->panic[0] && n >= 7 && !memcmp(line, "panic: ", 7))
			snprintf(g->panic, sizeof(g->panic), "%.*s", (int)n, line);
		g->out_scan += n + 1;
	}
}

/* Keep a chunk of the twin's output (echoed with -v) and scan it. */
static void out_take(void *arg, const char *chunk, size_t n)
{
	struct goparent *g = arg;

	if (g->echo) {
		ssize_t w = write(STDERR_FILENO, chunk, n);
		(void)w;
	}
	if (g->out_len + n > GO_CAPTURE) {
		size_t drop = g->out_scan ? g->out_scan : g->out_len;

		memmove(g->out, g->out + drop, g->out_len - drop);
		g->out_len -= drop;
		g->out_scan = 0;
		if (g->out_len + n > GO_CAPTURE)
			g->out_len = 0;
	}
	memcpy(g->out + g->out_len, chunk, n);
	g->out_len += n;
	scan_out(g);
}

/* The index of a metric the twin names, registered on first sight while
 * the table has room (ictx aborts on a full table or a bad name: a twin's
 * line must not take the parent down, so such a name is dropped). */
static int metric_idx(struct goparent *g, const char *name)
{
	const char *n;
	size_t i;

	for (i = 0; ictx_metric_at(g->ctx, i, &n, NULL, NULL); i++)
		if (!strcmp(n, name))
			return (int)i;
	if (!*name || strlen(name) >= ICTX_NAME_LEN || i >= ICTX_MAX_METRICS)
		return -1;
	ictx_metric(g->ctx, name, ICTX_GAUGE);
	return (int)i;
}

/* The same for a histogram. */
static int hist_idx(struct goparent *g, const char *name)
{
	size_t i;

	for (i = 0; i < ictx_hist_count(g->ctx); i++)
		if (!strcmp(ictx_hist_name(g->ctx, i), name))
			return (int)i;
	if (!*name || strlen(name) >= ICTX_NAME_LEN || i >= ICTX_MAX_HISTS)
		return -1;
	ictx_hist(g->ctx, name);
	return (int)i;
}

static void set_metric(struct goparent *g, struct tel_row *row,
		       const char *name, double v)
{
	int i = metric_idx(g, name);

	if (i < 0 || isnan(v))
		return;
	ictx_set(ictx_metric(g->ctx, name, ICTX_GAUGE), (int64_t)v);
	if (row)
		row->metric[i] = v;
}

static double num(const json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);

	return json_is_number(v) ? json_number_value(v) : NAN;
}

/* One "s" line: a series row (every stride-th kept) and the metrics. */
static void on_sample(struct goparent *g, const json_t *j)
{
	struct run_result *r = g->res;
	struct tel_row row;
	const char *k;
	json_t *v, *m = json_object_get(j, "m"), *h = json_object_get(j, "h");

	for (size_t i = 0; i < sizeof(row) / sizeof(double); i++)
		((double *)&row)[i] = NAN;
	row.t_s = num(j, "t");
	row.rss_bytes = num(j, "rss");
	row.live_total = num(j, "heap_alloc");
	if (!r->nrows && !g->tick) {
		g->heap0 = row.live_total;
		g->rss0 = row.rss_bytes;
	}
	if (row.live_total > g->heap_peak)
		g->heap_peak = row.live_total;
	if (row.rss_bytes > (double)r->peak_rss)
		r->peak_rss = (uint64_t)row.rss_bytes;
	json_object_foreach(m, k, v)
		set_metric(g, &row, k, json_number_value(v));
	set_metric(g, &row, "go_heap_sys", num(j, "heap_sys"));
	set_metric(g, &row, "go_goroutines", num(j, "goroutines"));
	set_metric(g, &row, "go_gc_cycles", num(j, "gc_cycles"));
	set_metric(g, &row, "go_gc_pause_ns", num(j, "gc_pause_ns"));
	json_object_foreach(h, k, v) {
		int i = hist_idx(g, k);

		if (i < 0 || json_array_size(v) < 4)
			continue;
		row.hist_n[i] = json_number_value(json_array_get(v, 3));
		if (row.hist_n[i] > 0) {
			row.hist_p50[i] = json_number_value(json_array_get(v, 0));
			row.hist_p99[i] = json_number_value(json_array_get(v, 1));
			row.hist_max[i] = json_number_value(json_array_get(v, 2));
		}
	}
	if (g->tick++ % g->stride)
		return;
	if (r->nrows == GO_ROWS) { /* keep every other row, halve the rate */
		for (uint32_t i = 1; 2 * i < r->nrows; i++)
			r->rows[i] = r->rows[2 * i];
		r->nrows = (r->nrows + 1) / 2;
		g->stride *= 2;
	}
	r->rows[r->nrows++] = row;
}

static void on_hist(struct goparent *g, const json_t *j)
{
	struct ictx_hist_snap s;
	const char *name = json_string_value(json_object_get(j, "name"));
	struct ictx_hist *h;
	size_t i;
	json_t *b;

	if (!name || hist_idx(g, name) < 0)
		return;
	h = ictx_hist(g->ctx, name); /* registered: found, never added */
	memset(&s, 0, sizeof(s));
	s.count = (uint64_t)num(j, "count");
	s.sum = (uint64_t)num(j, "sum");
	s.max = (uint64_t)num(j, "max");
	json_array_foreach(json_object_get(j, "b"), i, b) {
		json_int_t at = json_integer_value(json_array_get(b, 0));

		if (at >= 0 && at < ICTX_HIST_BUCKETS)
			s.b[at] += (uint64_t)json_integer_value(json_array_get(b, 1));
	}
	ictx_hist_add_snap(h, &s);
}

static void on_phase(struct goparent *g, const char *p, double t)
{
	static const char *const names[] = {"created", "setup", "run",
					    "oracle", "teardown", "done"};

	for (int i = 0; i < 6; i++)
		if (!strcmp(p, names[i]))
			g->st->phase = i;
	if (!strcmp(p, "run"))
		g->st->run_started_s = t;
	if (!strcmp(p, "oracle"))
		g->st->run_ended_s = t;
	if (!strcmp(p, "done"))
		g->done = true;
}

static void on_line(struct goparent *g, const char *line)
{
	json_t *j = json_loads(line, 0, NULL);
	const char *k = json_string_value(json_object_get(j, "k"));
	const char *s;

	if (!k)
		goto out;
	if (!strcmp(k, "s")) {
		on_sample(g, j);
	} else if (!strcmp(k, "phase")) {
		s = json_string_value(json_object_get(j, "p"));
		on_phase(g, s ? s : "", num(j, "t"));
	} else if (!strcmp(k, "log")) {
		s = json_string_value(json_object_get(j, "msg"));
		ictx_log(g->ctx, "%s", s ? s : "");
	} else if (!strcmp(k, "symptom")) {
		s = json_string_value(json_object_get(j, "name"));
		if (s)
			ictx_symptom(g->ctx, s, num(j, "v"));
	} else if (!strcmp(k, "hist")) {
		on_hist(g, j);
	} else if (!strcmp(k, "error")) {
		s = json_string_value(json_object_get(j, "msg"));
		g->setup_error = true;
		g->st->setup_rc = -EINVAL;
		snprintf(g->st->error, sizeof(g->st->error), "setup failed: %s",
			 s ? s : "?");
	}
out:
	json_decref(j);
}

/* Split a chunk of telemetry into lines; a line longer than the buffer
 * is dropped whole. */
static void tel_take(void *arg, const char *chunk, size_t n)
{
	struct goparent *g = arg;

	for (size_t i = 0; i < n; i++) {
		if (chunk[i] == '\n') {
			g->line[g->line_len] = '\0';
			if (!g->line_skip)
				on_line(g, g->line);
			g->line_len = 0;
			g->line_skip = false;
		} else if (g->line_len + 1 < GO_LINE) {
			g->line[g->line_len++] = chunk[i];
		} else {
			g->line_skip = true;
		}
	}
}

/* ---- the run -------------------------------------------------------- */

/* argv: bin key=value...; strings in one malloc'd block per entry. */
static char **go_argv(const struct run_spec *s, const struct run_result *r,
		      const char *bin)
{
	size_t np = ictx_param_count(r->ctx), n = 0;
	char **av = calloc(np + 8, sizeof(*av));
	const char *name;
	double v;

	if (!av)
		return NULL;
	av[n++] = strdup(bin);
	if (asprintf(&av[n++], "variant=%s", s->variant) < 0 ||
	    asprintf(&av[n++], "threads=%u", ictx_threads(r->ctx)) < 0 ||
	    asprintf(&av[n++], "seed=%llu", (unsigned long long)s->seed) < 0 ||
	    asprintf(&av[n++], "seconds=%.17g", r->seconds) < 0 ||
	    asprintf(&av[n++], "sample_ms=%u", r->interval_ms) < 0 ||
	    asprintf(&av[n++], "workdir=%s", ictx_workdir(r->ctx)) < 0)
		av[--n] = NULL;
	for (size_t i = 0; ictx_param_at(r->ctx, i, &name, &v); i++)
		if (asprintf(&av[n++], "p.%s=%.17g", name, v) < 0)
			av[--n] = NULL;
	return av;
}

static void free_argv(char **av)
{
	for (size_t i = 0; av && av[i]; i++)
		free(av[i]);
	free(av);
}

/* The tag an rss oom is blamed on: the Go heap when its growth explains
 * at least a quarter of the RSS growth, else untracked (stacks, runtime). */
static const char *go_oom_tag(const struct goparent *g)
{
	return g->heap_peak - g->heap0 >= 0.25 * ((double)g->res->peak_rss - g->rss0)
		       ? "go_heap" : "untracked";
}

static void finish(struct goparent *g, int status, int killed,
		   double killed_at)
{
	struct run_result *r = g->res;
	struct gochild_end e = {.exited = WIFEXITED(status),
				.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1,
				.signal = WIFSIGNALED(status) ? WTERMSIG(status) : 0,
				.killed = killed, .detector = g->detector,
				.panic = g->panic, .done = g->done,
				.setup_error = g->setup_error};
	size_t n = g->out_len > RUN_TAIL_BYTES ? RUN_TAIL_BYTES : g->out_len;

	memcpy(r->stderr_tail, g->out + g->out_len - n, n);
	r->stderr_tail[n] = '\0';
	r->exit_status = e.status;
	r->signal = killed ? 0 : e.signal;
	r->outcome = gochild_classify(&e);
	r->time_to_outcome_s = killed ? killed_at : r->duration_s;
	g->st->peak_live = (uint64_t)(g->heap_peak > 0 ? g->heap_peak : 0);
	switch (r->outcome) {
	case RUN_OOM:
		r->oom_cap = killed ? "rss" : "rlimit";
		r->oom_at_s = r->time_to_outcome_s;
		snprintf(r->oom_tag, sizeof(r->oom_tag), "%s", go_oom_tag(g));
		snprintf(r->oom_grew_most, sizeof(r->oom_grew_most), "%s",
			 r->oom_tag);
		if (!killed)
			snprintf(r->detector, sizeof(r->detector), "%s", g->detector);
		break;
	case RUN_CRASH:
		snprintf(r->detector, sizeof(r->detector), "%s", g->detector);
		if (!g->detector[0] && g->panic[0])
			snprintf(r->error, sizeof(r->error), "%s", g->panic);
		break;
	case RUN_HANG:
		snprintf(r->error, sizeof(r->error),
			 "no end after %.1f s (in phase %s); killed",
			 r->timeout_s, ictx_phase_name(g->st->phase));
		break;
	case RUN_INTERRUPTED:
		snprintf(r->error, sizeof(r->error), "interrupted by signal %d",
			 runner_interrupted);
		break;
	case RUN_ERROR:
		if (g->st->error[0])
			snprintf(r->error, sizeof(r->error), "%s", g->st->error);
		else
			snprintf(r->error, sizeof(r->error),
				 "Go child exited with status %d in phase %s",
				 e.status, ictx_phase_name(g->st->phase));
		break;
	default:
		break;
	}
}

/* The twin is not built (or there is none): a classified `error` result,
 * one line saying how to get it. */
static int not_built(struct run_result *r, const char *bin, int why)
{
	r->outcome = RUN_ERROR;
	r->started = r->finished = ml_wall_s();
	if (why == -ENOENT)
		snprintf(r->error, sizeof(r->error),
			 "incident %s has no Go twin",
			 ictx_incident(r->ctx)->name);
	else
		snprintf(r->error, sizeof(r->error),
			 "Go twin %.200s is not built: install golang-go and "
			 "run `make go` (./run.sh go does both)", bin);
	return 0;
}

static int prepare(const struct run_spec *spec, struct run_result *r)
{
	struct ictx_opts o = ICTX_OPTS_INIT;
	char err[ICTX_ERR_LEN] = "";
	int rc;

	memset(r, 0, sizeof(*r));
	runner_caps(spec, &r->mem_cap, &r->budget, &r->rlimit_as,
		    &r->timeout_s, &r->seconds);
	r->budget = 0;    /* no counting allocator in Go */
	r->rlimit_as = 0; /* see gochild.h */
	r->exit_status = -1;
	r->interval_ms = spec->sample_ms ? spec->sample_ms : 10;
	o.variant = spec->variant;
	o.threads = spec->threads;
	o.seed = spec->seed;
	o.seconds = r->seconds;
	o.size = spec->size;
	o.sets = spec->sets;
	o.nsets = spec->nsets;
	o.sample_ms = spec->sample_ms;
	o.err = err;
	o.errlen = sizeof(err);
	rc = ictx_create(spec->inc, &o, &r->ctx);
	if (rc) {
		snprintf(r->error, sizeof(r->error), "%s", err);
		return rc;
	}
	r->rows = malloc(sizeof(*r->rows) * GO_ROWS);
	return r->rows ? 0 : -ENOMEM;
}

/* Read what both pipes hold within ms; a pipe at EOF is closed (-1). */
static void pump(struct goparent *g, int *ofd, int *tfd, int ms)
{
	struct pollfd p[2] = {{*ofd, POLLIN, 0}, {*tfd, POLLIN, 0}};

	if (poll(p, 2, ms) <= 0)
		return;
	if (*ofd >= 0 && p[0].revents && !runner_drain_fd(*ofd, out_take, g)) {
		close(*ofd);
		*ofd = -1;
	}
	if (*tfd >= 0 && p[1].revents && !runner_drain_fd(*tfd, tel_take, g)) {
		close(*tfd);
		*tfd = -1;
	}
}

/* The watchdog loop until the child is reaped: RSS cap, timeout,
 * interruption (killed: 1, 2, 3; killed_at: seconds from t0). */
static void watch(struct goparent *g, pid_t pid, int *ofd, int *tfd,
		  double t0, int *status, struct rusage *ru,
		  int *killed, double *killed_at)
{
	struct run_result *r = g->res;
	double deadline = t0 + r->timeout_s, now;

	for (;;) {
		uint64_t rss;

		pump(g, ofd, tfd, GO_WATCH_MS);
		if (wait4(pid, status, WNOHANG, ru) == pid)
			return;
		now = ml_mono_s();
		rss = telemetry_pid_rss(pid);
		if (rss > r->peak_rss)
			r->peak_rss = rss;
		if (*killed)
			continue;
		*killed = rss > r->mem_cap ? 1 : runner_interrupted ? 3
			  : now >= deadline ? 2 : 0;
		if (*killed) {
			*killed_at = now - t0;
			kill(-pid, SIGKILL);
		}
	}
}

int gochild_run(const struct run_spec *spec, struct run_result *r)
{
	struct goparent g = {.res = r, .stride = 1, .echo = spec->echo_stderr};
	char bin[PATH_MAX], **argv = NULL;
	int ofd[2] = {-1, -1}, tfd[2] = {-1, -1}, status = 0, killed = 0, rc;
	double t0, killed_at = 0;
	struct rusage ru = {0};
	pid_t pid, parent = getpid();

	rc = prepare(spec, r);
	if (rc)
		goto out;
	g.ctx = r->ctx;
	g.st = ictx_status_rw(r->ctx);
	if ((rc = gochild_binary(spec->inc, bin, sizeof(bin))))
		return not_built(r, bin, rc);
	g.out = malloc(GO_CAPTURE);
	g.line = malloc(GO_LINE);
	argv = go_argv(spec, r, bin);
	if (!g.out || !g.line || !argv || pipe2(ofd, O_CLOEXEC) ||
	    pipe2(tfd, O_CLOEXEC)) {
		rc = -errno ? -errno : -ENOMEM;
		snprintf(r->error, sizeof(r->error), "cannot prepare the Go run: %s",
			 strerror(-rc));
		goto out;
	}
	fcntl(ofd[0], F_SETFL, O_NONBLOCK);
	fcntl(tfd[0], F_SETFL, O_NONBLOCK);
	fflush(NULL);
	r->started = ml_wall_s();
	t0 = ml_mono_s();
	pid = fork();
	if (pid < 0) {
		rc = -errno;
		snprintf(r->error, sizeof(r->error), "fork: %s", strerror(errno));
		goto out;
	}
	if (pid == 0)
		go_child(bin, argv, ofd[1], tfd[1], parent, r->mem_cap);
	setpgid(pid, pid);
	r->child_pid = pid;
	close(ofd[1]);
	close(tfd[1]);
	ofd[1] = tfd[1] = -1;
	watch(&g, pid, &ofd[0], &tfd[0], t0, &status, &ru, &killed, &killed_at);
	r->finished = ml_wall_s();
	r->duration_s = ml_mono_s() - t0;
	r->cpu_user_s = (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6;
	r->cpu_sys_s = (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
	r->maxrss_bytes = (uint64_t)ru.ru_maxrss * 1024;
	kill(-pid, SIGKILL); /* anything left in its group */
	/* the child is gone: what the pipes still hold, bounded (a
	 * grandchild could keep them open) */
	for (int i = 0; i < 50 && (ofd[0] >= 0 || tfd[0] >= 0); i++)
		pump(&g, &ofd[0], &tfd[0], 10);
	if (g.out_len && g.out_scan < g.out_len && g.out_len < GO_CAPTURE) {
		g.out[g.out_len++] = '\n'; /* a last unterminated line */
		scan_out(&g);
	}
	if ((double)r->maxrss_bytes > (double)r->peak_rss && !killed)
		r->peak_rss = r->maxrss_bytes;
	finish(&g, status, killed, killed_at);
	rc = 0;
out:
	for (int i = 0; i < 2; i++) {
		if (ofd[i] >= 0)
			close(ofd[i]);
		if (tfd[i] >= 0)
			close(tfd[i]);
	}
	free(g.out);
	free(g.line);
	free_argv(argv);
	if (rc)
		runner_result_free(r);
	return rc;
}

/*
 * harness/runner/runner.c - This file contains the runner (harness/runner/runner.h): fork
 * per run, caps, watchdog, timeout, stderr capture and the one place that
 * decodes how a child ended into an outcome.
 *
 * Parent side: single-threaded.  One loop, woken every 10 ms by poll() on
 * the child's stderr pipe (or by a signal): drain stderr, reap the child if
 * it ended, read its RSS, kill its process group past the RSS cap, past the
 * timeout or when we were interrupted.  The parent reads the shared ictx
 * status (budget refusals) while the child runs; those fields are written
 * once by the child and only ever go from unset to set.
 *
 * Child side: own process group (so a SIGKILL to -pid reaches every thread
 * and anything it spawned, and a terminal ^C reaches only the parent),
 * default signal dispositions, PR_SET_PDEATHSIG SIGKILL, oom_score_adj
 * 1000, stdout and stderr into the pipe, RLIMIT_AS and M_ARENA_MAX in plain
 * builds, then ictx_run_inprocess() and _exit(0).  Exit status 4 means the
 * child could not even start the run (message on stderr).
 *
 * Outcome (exactly one; the first event wins):
 *   budget refusal seen            -> oom (budget, or rlimit if far below)
 *   we SIGKILLed it                -> oom (rss) | hang | interrupted
 *   killed by another signal       -> crash (signal)
 *   exit 2 after "fatal error: "   -> crash (Go-style detector message)
 *   exit 0, setup and run fine     -> ok
 *   exit 0, setup or run failed    -> error (the incident's -errno)
 *   a sanitizer's "ERROR:" report  -> crash (the report's first line; the
 *                                     signal it caught, e.g. SEGV, if any)
 *   anything else                  -> error (exit status and phase)
 */
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness/runner/runner.h"
#include "maps/util.h"

#ifndef MAPLAB_SAN
#define MAPLAB_SAN ""
#endif

#define WATCH_MS 10
#define OOM_GRACE_S 5.0   /* time a refused child gets to wind down */
#define RING_ROWS 4096
#define CAPTURE_MAX (256u << 10)

volatile int runner_interrupted;

static void on_signal(int sig)
{
	runner_interrupted = sig;
}

void runner_install_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	/* no SA_RESTART: poll() and waitpid() return EINTR at once */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
}

const char *run_outcome_name(int o)
{
	static const char *const n[] = {"ok",  "crash", "oom",
					"hang", "error", "interrupted"};

	return o >= 0 && o < RUN_OUTCOME_COUNT ? n[o] : "?";
}

uint64_t runner_seed(uint64_t base, unsigned rep)
{
	/* 53 bits: exact in every JSON reader (doubles) */
	return ml_mix64(base + rep) >> 11;
}

static bool sanitized(void)
{
	return MAPLAB_SAN[0] != '\0';
}

void runner_caps(const struct run_spec *s, uint64_t *cap, uint64_t *budget,
		 uint64_t *rlimit_as, double *timeout_s, double *seconds)
{
	uint64_t c = s->mem_cap ? s->mem_cap : RUN_DEFAULT_CAP;
	unsigned th = s->threads ? s->threads : ICTX_DEFAULT_THREADS;
	double sec = s->seconds > 0 ? s->seconds
		     : s->size == ICTX_SIZE_FULL ? s->inc->full_seconds
						 : s->inc->quick_seconds;

	if (sec <= 0)
		sec = 1;
	*cap = c;
	*budget = s->budget ? s->budget : c / 4 * 3;
	*rlimit_as = sanitized() ? 0
				 : 2 * c + (512ull << 20) +
					   (uint64_t)(th + 8) * (8ull << 20);
	*timeout_s = s->timeout_s > 0 ? s->timeout_s : sec + (sec > 5 ? sec : 5);
	*seconds = sec;
}

/* ---- the child ----------------------------------------------------- */

static void write_str(int fd, const char *s)
{
	ssize_t r = write(fd, s, strlen(s));

	(void)r;
}

void runner_child_prepare(int out_fd, pid_t parent)
{
	struct sigaction sa;
	int fd;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	setpgid(0, 0);
	if (dup2(out_fd, STDERR_FILENO) < 0 || dup2(out_fd, STDOUT_FILENO) < 0)
		_exit(4);
	fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		dup2(fd, STDIN_FILENO);
		close(fd);
	}
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent) /* the parent died before prctl */
		_exit(4);
	fd = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
	if (fd >= 0) {
		write_str(fd, "1000");
		close(fd);
	}
}

static __attribute__((noreturn)) void child_main(struct ictx *ctx, int wfd,
						 pid_t parent,
						 uint64_t rlimit_as)
{
	runner_child_prepare(wfd, parent);
	close(wfd);
	if (rlimit_as) {
		struct rlimit rl = {rlimit_as, rlimit_as};

		/* without an arena limit, each thread's 64 MiB arena
		 * reservation exhausts RLIMIT_AS after ~15 threads */
		mallopt(M_ARENA_MAX, 2);
		if (setrlimit(RLIMIT_AS, &rl) != 0) {
			write_str(STDERR_FILENO, "maplab child: setrlimit failed\n");
			_exit(4);
		}
	}
	ictx_run_inprocess(ctx);
	fflush(NULL);
	_exit(0);
}

/* ---- stderr capture ------------------------------------------------ */

struct capture {
	char *buf;       /* the last CAPTURE_MAX bytes at most */
	size_t len, scan; /* scan: start of the first unscanned line */
	char detector[256];
	char sanitizer[256];
	unsigned tsan_warnings;
	bool echo;       /* copy everything to our stderr */
	bool echo_trace; /* copy malloc-trace lines (MAPLAB_MALLOC_TRACE=1) */
};

static void scan_lines(struct capture *c)
{
	for (;;) {
		char *nl = memchr(c->buf + c->scan, '\n', c->len - c->scan);
		char *line = c->buf + c->scan;
		size_t n;

		if (!nl)
			break;
		n = (size_t)(nl - line);
		if (c->echo_trace && !c->echo && n >= 13 &&
		    !memcmp(line, "malloc-trace:", 13)) {
			ssize_t w = write(STDERR_FILENO, line, n + 1);
			(void)w;
		}
		if (!c->detector[0] && n >= 13 && !memcmp(line, "fatal error: ", 13))
			snprintf(c->detector, sizeof(c->detector), "%.*s",
				 (int)n, line);
		if (n > 0) {
			const char *e = memmem(line, n, "ERROR: ", 7);
			const char *w = memmem(line, n, "WARNING: ThreadSanitizer:", 25);

			if (w)
				c->tsan_warnings++;
			if (!c->sanitizer[0] && e &&
			    (memmem(line, n, "Sanitizer", 9) ||
			     memmem(line, n, "LeakSanitizer", 13)))
				snprintf(c->sanitizer, sizeof(c->sanitizer),
					 "%.*s", (int)n, line);
			if (!c->sanitizer[0] && memmem(line, n, "runtime error:", 14))
				snprintf(c->sanitizer, sizeof(c->sanitizer),
					 "%.*s", (int)n, line);
		}
		c->scan += n + 1;
	}
}

bool runner_drain_fd(int fd, void (*take)(void *arg, const char *buf, size_t n),
		     void *arg)
{
	char chunk[8192];

	for (;;) {
		ssize_t n = read(fd, chunk, sizeof(chunk));

		if (n == 0)
			return false;
		if (n < 0)
			return errno == EAGAIN || errno == EINTR;
		take(arg, chunk, (size_t)n);
	}
}

/* Keep a chunk of the child's output (echoed when asked) and scan it. */
static void capture_take(void *arg, const char *chunk, size_t n)
{
	struct capture *c = arg;

	if (c->echo) {
		ssize_t w = write(STDERR_FILENO, chunk, n);
		(void)w;
	}
	if (c->len + n > CAPTURE_MAX) {
		size_t drop = c->len / 2;

		if (c->scan < drop) { /* a giant line: give up on it */
			drop = c->scan ? c->scan : drop;
			c->scan = drop;
		}
		memmove(c->buf, c->buf + drop, c->len - drop);
		c->len -= drop;
		c->scan -= drop;
		if (c->len + n > CAPTURE_MAX) {
			c->len = 0;
			c->scan = 0;
		}
	}
	memcpy(c->buf + c->len, chunk, n);
	c->len += n;
	scan_lines(c);
}

/* Read what is there; returns false at EOF or on error. */
static bool drain(struct capture *c, int fd)
{
	return runner_drain_fd(fd, capture_take, c);
}

/* The tag whose live bytes rose most above their first sample (peak over
 * the run: teardown frees everything before the last row). */
static const char *tag_grew_most(const struct run_result *r)
{
	double best = 0, rss0, rss_peak = 0;
	int bt = -1;

	if (r->nrows < 1)
		return "";
	rss0 = r->rows[0].rss_bytes;
	for (uint32_t i = 0; i < r->nrows; i++)
		if (r->rows[i].rss_bytes > rss_peak)
			rss_peak = r->rows[i].rss_bytes;
	for (int t = 0; t < ML_TAG_COUNT; t++) {
		double peak = 0;

		for (uint32_t i = 0; i < r->nrows; i++)
			if (r->rows[i].live[t] > peak)
				peak = r->rows[i].live[t];
		peak -= r->nrows > 1 ? r->rows[0].live[t] : 0;
		if (peak > best) {
			best = peak;
			bt = t;
		}
	}
	/* if counted growth explains little of the RSS growth, say so */
	if (bt < 0 || best < 0.25 * (rss_peak - rss0))
		return "untracked";
	return ml_tag_name(bt);
}

/* ---- the run ------------------------------------------------------- */

/* The child's context, with the run's effective caps.  0 or -errno. */
static int create_ctx(const struct run_spec *spec, struct run_result *res)
{
	struct ictx_opts o = ICTX_OPTS_INIT;
	char err[ICTX_ERR_LEN] = "";
	int rc;

	o.variant = spec->variant;
	o.threads = spec->threads;
	o.seed = spec->seed;
	o.seconds = res->seconds;
	o.size = spec->size;
	o.sets = spec->sets;
	o.nsets = spec->nsets;
	o.map_flags = spec->map_flags;
	o.budget = res->budget;
	o.sample_ms = spec->sample_ms;
	o.no_telemetry = spec->no_telemetry;
	o.err = err;
	o.errlen = sizeof(err);
	rc = ictx_create(spec->inc, &o, &res->ctx);
	if (rc)
		snprintf(res->error, sizeof(res->error), "%s", err);
	return rc;
}

/* The parent's watch over one child, until it is reaped. */
struct watch {
	pid_t pid;
	int fd;                 /* the child's stderr pipe, -1 once closed */
	double t0, deadline;
	enum run_kill why;
	double killed_at;
	int status;
	struct rusage ru;
};

/* Poll the child every WATCH_MS: drain its stderr, track its RSS, and
 * kill it (its whole group) at the RSS cap, the deadline (shortened to
 * OOM_GRACE_S after a budget refusal) or an interrupt. */
static void watch_child(struct watch *w, struct capture *cap,
			const struct ictx_status *st, struct run_result *res)
{
	double oom_seen = -1, now;

	for (;;) {
		struct pollfd p = {w->fd, POLLIN, 0};
		uint64_t rss;

		if (poll(&p, w->fd >= 0 ? 1 : 0, WATCH_MS) > 0 &&
		    !drain(cap, w->fd)) {
			close(w->fd);
			w->fd = -1;
		}
		if (wait4(w->pid, &w->status, WNOHANG, &w->ru) == w->pid)
			return;
		now = ml_mono_s();
		rss = telemetry_pid_rss(w->pid);
		if (rss > res->peak_rss)
			res->peak_rss = rss;
		if (st->budget_oom && oom_seen < 0) {
			oom_seen = now;
			if (w->deadline > now + OOM_GRACE_S)
				w->deadline = now + OOM_GRACE_S;
		}
		if (w->why != RUN_KILL_NONE)
			continue;
		if (rss > res->mem_cap)
			w->why = RUN_KILL_RSS;
		else if (runner_interrupted)
			w->why = RUN_KILL_INTERRUPT;
		else if (now >= w->deadline)
			w->why = RUN_KILL_TIMEOUT;
		if (w->why != RUN_KILL_NONE) {
			w->killed_at = now - w->t0;
			kill(-w->pid, SIGKILL);
		}
	}
}

/* After the reap: the rest of stderr, the series, the figures. */
static void collect(struct watch *w, struct capture *cap,
		    struct telemetry *tel, struct run_result *res)
{
	size_t n;

	res->finished = ml_wall_s();
	res->cpu_user_s = (double)w->ru.ru_utime.tv_sec + w->ru.ru_utime.tv_usec / 1e6;
	res->cpu_sys_s = (double)w->ru.ru_stime.tv_sec + w->ru.ru_stime.tv_usec / 1e6;
	res->maxrss_bytes = (uint64_t)w->ru.ru_maxrss * 1024;
	res->duration_s = ml_mono_s() - w->t0;
	kill(-w->pid, SIGKILL); /* anything the child left in its group */
	/* the child is gone: the pipe has everything, and EOF unless a
	 * grandchild still holds it (a bounded drain, then stop) */
	for (int i = 0; w->fd >= 0 && i < 50; i++) {
		struct pollfd p = {w->fd, POLLIN, 0};

		if (poll(&p, 1, 10) <= 0 || !drain(cap, w->fd))
			break;
	}
	if (cap->len && cap->scan < cap->len) { /* a last unterminated line */
		if (cap->len < CAPTURE_MAX)
			cap->buf[cap->len++] = '\n';
		scan_lines(cap);
	}
	res->nrows = telemetry_rows(tel, res->rows);
	for (uint32_t i = 0; i < res->nrows; i++)
		if (res->rows[i].rss_bytes > (double)res->peak_rss)
			res->peak_rss = (uint64_t)res->rows[i].rss_bytes;
	n = cap->len > RUN_TAIL_BYTES ? RUN_TAIL_BYTES : cap->len;
	memcpy(res->stderr_tail, cap->buf + cap->len - n, n);
	res->stderr_tail[n] = '\0';
	snprintf(res->detector, sizeof(res->detector), "%s", cap->detector);
	res->tsan_warnings = cap->tsan_warnings;
}

int runner_run(const struct run_spec *spec, struct run_result *res)
{
	struct telemetry *tel = NULL;
	struct capture cap = {0};
	struct watch w = {.why = RUN_KILL_NONE};
	int pfd[2] = {-1, -1}, rc;
	pid_t parent = getpid();

	memset(res, 0, sizeof(*res));
	runner_caps(spec, &res->mem_cap, &res->budget, &res->rlimit_as,
		    &res->timeout_s, &res->seconds);
	res->exit_status = -1;
	if ((rc = create_ctx(spec, res)))
		return rc;
	res->interval_ms = spec->sample_ms ? spec->sample_ms : 10;
	tel = telemetry_create(RING_ROWS, res->interval_ms);
	cap.buf = malloc(CAPTURE_MAX);
	res->rows = malloc(sizeof(*res->rows) * RING_ROWS);
	if (!tel || !cap.buf || !res->rows || pipe2(pfd, O_CLOEXEC) != 0) {
		rc = -errno;
		snprintf(res->error, sizeof(res->error),
			 "cannot prepare the run: %s", strerror(errno));
		goto out;
	}
	cap.echo = spec->echo_stderr;
	cap.echo_trace = getenv("MAPLAB_MALLOC_TRACE") &&
			 !strcmp(getenv("MAPLAB_MALLOC_TRACE"), "1");
	ictx_attach_telemetry(res->ctx, tel);
	fcntl(pfd[0], F_SETFL, O_NONBLOCK);

	fflush(NULL); /* no buffered output duplicated into the child */
	res->started = ml_wall_s();
	w.t0 = ml_mono_s();
	w.pid = fork();
	if (w.pid < 0) {
		rc = -errno;
		snprintf(res->error, sizeof(res->error), "fork: %s",
			 strerror(errno));
		goto out;
	}
	if (w.pid == 0) {
		close(pfd[0]);
		child_main(res->ctx, pfd[1], parent, res->rlimit_as);
	}
	setpgid(w.pid, w.pid); /* also here: no window where -pid is wrong */
	res->child_pid = w.pid;
	close(pfd[1]);
	pfd[1] = -1;
	w.fd = pfd[0];
	pfd[0] = -1; /* the watch owns it now */
	w.deadline = w.t0 + res->timeout_s;
	watch_child(&w, &cap, ictx_status(res->ctx), res);
	collect(&w, &cap, tel, res);
	{ /* the one place an ending becomes an outcome */
		struct run_end e = {
			.status = w.status, .why = w.why,
			.killed_at_s = w.killed_at,
			.duration_s = res->duration_s, .timeout_s = res->timeout_s,
			.interrupt_sig = runner_interrupted,
			.st = ictx_status(res->ctx),
			.detector = cap.detector, .sanitizer = cap.sanitizer,
			.grew_most = tag_grew_most(res),
		};

		runner_classify(&e, res);
	}
	if (w.fd >= 0)
		close(w.fd);
out:
	if (pfd[0] >= 0)
		close(pfd[0]);
	if (pfd[1] >= 0)
		close(pfd[1]);
	free(cap.buf);
	telemetry_destroy(tel);
	if (rc)
		runner_result_free(res);
	return rc;
}

void runner_result_free(struct run_result *res)
{
	if (!res)
		return;
	if (res->ctx)
		ictx_destroy(res->ctx);
	res->ctx = NULL;
	free(res->rows);
	res->rows = NULL;
	res->nrows = 0;
}

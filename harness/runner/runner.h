/*
 * harness/runner/runner.h - one isolated run: fork a child for (incident, variant,
 * rep, seed), contain it under layered caps and a timeout, classify exactly
 * one outcome, and hand back everything the record needs.
 *
 * Caps, from the first to trip to the last resort (cap = --mem-cap,
 * default 256 MiB):
 *   1. the counting allocator's budget (default 3/4 of cap): counted live
 *      bytes only; a refusal is a clean oom that names the tag that tipped
 *      it.  Protocol: ml_malloc() returns NULL, the incident carries on or
 *      fails as it can; the child's monitor thread sees the allocator's
 *      failure counter grow within one sample period, records tag and time
 *      in the shared ictx status and sets the stop flag; the run ends, the
 *      budget is lifted for oracle and teardown, and the parent classifies
 *      `oom` (cap "budget") whatever happens after (the first event wins:
 *      a crash or hang after a refusal is its consequence).
 *   2. the parent's RSS watchdog: /proc/<pid>/statm every 10 ms, SIGKILL to
 *      the child's group past cap; outcome `oom` (cap "rss"), the tag that
 *      grew most from the telemetry.  Catches what the allocator does not
 *      count (malloc overhead, fragmentation, plain malloc, sanitizer
 *      shadow and quarantine), so it is the cap that works in ASan builds.
 *   3. RLIMIT_AS (plain builds only; sanitizers reserve terabytes of
 *      address space): 2 x cap + 512 MiB + 8 MiB per thread, with
 *      M_ARENA_MAX 2 so thread arenas do not eat it.  A backstop against
 *      growth faster than the watchdog's 10 ms poll; a malloc refused by it
 *      shows as a refusal below the budget (cap "rlimit").
 * The child also sets oom_score_adj 1000, so if the kernel must kill it
 * picks the child, and PR_SET_PDEATHSIG SIGKILL, so a SIGKILLed parent
 * leaves no orphan.
 *
 * Call only from a single-threaded process (ThreadSanitizer kills children
 * forked from threaded parents).  Not reentrant.
 */
#ifndef MAPLAB_HARNESS_RUNNER_H
#define MAPLAB_HARNESS_RUNNER_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "harness/runtime/ictx.h"
#include "harness/runtime/telemetry.h"

enum run_outcome {
	RUN_OK = 0,
	RUN_CRASH,
	RUN_OOM,
	RUN_HANG,
	RUN_ERROR,
	RUN_INTERRUPTED,
	RUN_OUTCOME_COUNT
};
const char *run_outcome_name(int outcome);

#define RUN_DEFAULT_CAP (256ull << 20)
#define RUN_TAIL_BYTES 4096

struct run_spec {
	const struct incident *inc;
	const char *variant;
	unsigned rep;             /* 1-based */
	unsigned threads;         /* 0 = default */
	uint64_t seed;
	double seconds;           /* 0 = the size's default */
	enum ictx_size size;
	const char *const *sets;  /* validated "k=v" */
	size_t nsets;
	unsigned map_flags;
	uint64_t mem_cap;         /* RSS cap, bytes (0 = RUN_DEFAULT_CAP) */
	uint64_t budget;          /* allocator budget (0 = 3/4 of cap) */
	double timeout_s;         /* 0 = seconds + max(5, seconds) */
	unsigned sample_ms;       /* 0 = 10 */
	bool no_telemetry;
	bool echo_stderr;         /* copy the child's stderr to ours */
};

struct run_result {
	enum run_outcome outcome;
	int signal;               /* 0 = none */
	int exit_status;          /* -1 when killed by a signal */
	pid_t child_pid;
	char detector[256];       /* Go-style "fatal error: ..." or "" */
	const char *oom_cap;      /* "budget" | "rss" | "rlimit" | NULL */
	double oom_at_s;
	char oom_tag[32];         /* budget: the tag refused first; rss: the
				     tag that grew most; "" unknown */
	char oom_grew_most[32];   /* tag whose live bytes grew most over the
				     run ("untracked": RSS grew, not the
				     counted bytes) */
	char error[320];          /* error message or "" */
	double duration_s;        /* fork to reap */
	double time_to_outcome_s;
	double timeout_s;         /* effective */
	uint64_t mem_cap, budget, rlimit_as; /* effective caps (rlimit 0 = none) */
	double seconds;           /* effective planned length */
	uint64_t peak_rss;        /* max of watchdog polls and samples */
	double cpu_user_s, cpu_sys_s; /* the child's CPU time (wait4) */
	uint64_t maxrss_bytes;    /* the kernel's peak RSS of the child */
	char stderr_tail[RUN_TAIL_BYTES + 1];
	unsigned tsan_warnings;   /* "WARNING: ThreadSanitizer" lines seen */
	struct ictx *ctx;         /* metrics, hists, symptoms, log, params */
	struct tel_row *rows;     /* the series (malloc'd) */
	uint32_t nrows;
	unsigned interval_ms;
	double started, finished; /* wall clock, seconds since the epoch */
};

/* Why the parent killed a child, if it did. */
enum run_kill { RUN_KILL_NONE, RUN_KILL_RSS, RUN_KILL_TIMEOUT, RUN_KILL_INTERRUPT };

/* What the parent knows once a child has ended: all the classification
 * reads. */
struct run_end {
	int status;               /* wait status */
	enum run_kill why;        /* the parent's kill, or RUN_KILL_NONE */
	double killed_at_s;       /* when it killed (seconds since fork) */
	double duration_s;        /* fork to reap */
	double timeout_s;         /* the effective timeout (for the message) */
	int interrupt_sig;        /* the signal that interrupted the lab */
	const struct ictx_status *st; /* the child's own account */
	const char *detector;     /* Go-style "fatal error: ..." line, or "" */
	const char *sanitizer;    /* a sanitizer's ERROR line, or "" */
	const char *grew_most;    /* the tag that grew most over the series */
};
/* The outcome and its details (outcome, exit_status, signal, oom_*,
 * time_to_outcome_s, error) from e alone: a pure function (classify.c). */
void runner_classify(const struct run_end *e, struct run_result *res);

/* 1 when SIGINT/SIGTERM arrived (installed by runner_install_signals). */
extern volatile int runner_interrupted;
void runner_install_signals(void);

/* Run spec in a child.  0 when a result was produced (whatever the
 * outcome), -errno when the harness itself failed (fork, mmap, ictx
 * options: message in res->error). */
int runner_run(const struct run_spec *spec, struct run_result *res);
void runner_result_free(struct run_result *res);

/* Deterministic per-rep seed: splitmix64(base + rep) >> 11 (53 bits). */
uint64_t runner_seed(uint64_t base, unsigned rep);
/* In a freshly forked child (C run or Go twin alike): default signal
 * dispositions, its own process group, out_fd as stdout and stderr,
 * /dev/null as stdin, death with the parent (PR_SET_PDEATHSIG; _exit(4)
 * if the parent is already gone), oom_score_adj 1000.  _exit(4) when
 * out_fd cannot be duplicated. */
void runner_child_prepare(int out_fd, pid_t parent);
/* Read the non-blocking fd until it would block, handing each chunk read
 * to take(arg, buf, n).  false at EOF or on a read error (the pipe is
 * done), true while it is open.  The parent's loop for every child pipe
 * (C run output, Go twin output and telemetry). */
bool runner_drain_fd(int fd, void (*take)(void *arg, const char *buf, size_t n),
		     void *arg);
/* Effective caps for a spec (what runner_run will use). */
void runner_caps(const struct run_spec *spec, uint64_t *cap, uint64_t *budget,
		 uint64_t *rlimit_as, double *timeout_s, double *seconds);

#endif

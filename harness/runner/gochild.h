/*
 * harness/runner/gochild.h - runs an incident's Go twin (incidents/<name>/go,
 * built into <build>/go/<twin>) as the child process, under the caps
 * runner.h describes for C, and hands back the same struct run_result, so
 * the record, the summary and the report treat both runtimes alike (the
 * record says "runtime": "go").
 *
 * A Go variant is a name starting "go-" (the table in gochild.c: the
 * designs of maps/go, plus config's go-snapshot).  What is the same as a C
 * run: fork, own process group, PR_SET_PDEATHSIG, oom_score_adj 1000,
 * stdout+stderr captured (last 4 KiB kept), the RSS watchdog every 10 ms
 * (SIGKILL to the group past --mem-cap: oom, cap "rss"), the timeout
 * (hang), interruption.  What differs: no allocator budget (Go has its own
 * heap; GOMEMLIMIT is not set), so no cap "budget"; RLIMIT_AS is not set
 * (the Go runtime reserves address space up front) but RLIMIT_DATA is, at
 * --mem-cap (cap "rlimit" when the runtime fails to map more); telemetry arrives as
 * JSON lines on a pipe (harness/runtime/go/gotel.go) instead of shared
 * memory, so a crash loses at most the sample being written.
 *
 * Single-threaded parent, like runner_run().  Not reentrant.
 */
#ifndef MAPLAB_HARNESS_GOCHILD_H
#define MAPLAB_HARNESS_GOCHILD_H

#include <stdbool.h>
#include <stddef.h>

#include "harness/runner/runner.h"

/* true for a Go variant name ("go-..."), known or not. */
bool gochild_is_go(const char *variant);
/* The known Go variants, in matrix order. */
size_t gochild_variant_count(void);
const char *gochild_variant_at(size_t i);
/* Whether inc has a Go twin that runs this Go variant. */
bool gochild_supports(const struct incident *inc, const char *variant);
/* The Go twin binary of inc: 0 (path in buf), -ENOENT (no twin for inc),
 * or -ENOEXEC (not built: path in buf anyway). */
int gochild_binary(const struct incident *inc, char *buf, size_t len);

/* The outcome of a finished Go child (pure: the table tests call it).
 * exited/status/signal from waitpid; killed: what the parent killed it for
 * (0 none, 1 rss, 2 timeout, 3 interrupt); detector: the first "fatal
 * error: " line or ""; panic: the first "panic: " line or ""; done: the
 * twin reported phase done; setup_error: it reported an error line. */
struct gochild_end {
	bool exited;
	int status, signal, killed;
	const char *detector, *panic;
	bool done, setup_error;
};
enum run_outcome gochild_classify(const struct gochild_end *e);

/* Run spec (a Go variant) in a Go child.  0 when a result was produced
 * (whatever the outcome: a twin that is not built is an `error` result
 * with one line saying how to build it), -errno when the harness failed. */
int gochild_run(const struct run_spec *spec, struct run_result *res);

#endif

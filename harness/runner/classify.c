/*
 * harness/runner/classify.c - This file contains the one decision of how
 * a child's run ended: runner_classify(), a pure function of what the
 * parent saw (wait status, which cap it killed for, the child's own
 * account in the shared status, what its stderr said).  runner.c gathers
 * those facts; tests/check_classify.c judges the table of endings.
 *
 * Order (first match): a budget refusal (oom budget|rlimit, even if the
 * child then died of it), a kill by the parent (oom rss, hang,
 * interrupted), a signal (crash), the Go-style detector's exit 2 (crash),
 * a clean end (ok), a setup/run error (error), a sanitizer report with
 * another exit (crash), anything else (error).  No state.
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>

#include "harness/runner/runner.h"
#include "maps/alloc.h"

static const char *signame(int sig)
{
	static char buf[32];
	const char *abbrev = sigabbrev_np(sig);

	if (!abbrev) {
		snprintf(buf, sizeof(buf), "SIG%d", sig);
		return buf;
	}
	snprintf(buf, sizeof(buf), "SIG%s", abbrev);
	return buf;
}

/* A sanitizer catches SEGV/BUS/FPE/ILL itself, reports and exits 1:
 * "ERROR: AddressSanitizer: SEGV on unknown address ...".  Name the signal
 * it caught, 0 for reports that are not signals (use-after-free, ...). */
static int sanitizer_signal(const char *line)
{
	static const struct {
		const char *word;
		int sig;
	} map[] = {{"Sanitizer: SEGV", SIGSEGV}, {"Sanitizer: stack-overflow", SIGSEGV},
		   {"Sanitizer: BUS", SIGBUS},   {"Sanitizer: FPE", SIGFPE},
		   {"Sanitizer: ILL", SIGILL},   {"Sanitizer: ABRT", SIGABRT}};

	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (strstr(line, map[i].word))
			return map[i].sig;
	return 0;
}

void runner_classify(const struct run_end *e, struct run_result *res)
{
	res->exit_status = -1;
	res->signal = 0;
	if (WIFEXITED(e->status))
		res->exit_status = WEXITSTATUS(e->status);
	if (WIFSIGNALED(e->status))
		res->signal = WTERMSIG(e->status);
	if (e->st->budget_oom) {
		res->outcome = RUN_OOM;
		res->oom_cap = e->st->budget_hit ? "budget" : "rlimit";
		res->oom_at_s = e->st->oom_at_s;
		snprintf(res->oom_tag, sizeof(res->oom_tag), "%s",
			 e->st->oom_tag >= 0 ? ml_tag_name(e->st->oom_tag) : "");
		res->time_to_outcome_s = e->st->oom_at_s;
		res->signal = 0; /* a consequence, not the outcome */
		snprintf(res->oom_grew_most, sizeof(res->oom_grew_most), "%s",
			 e->grew_most);
	} else if (e->why != RUN_KILL_NONE && res->signal == SIGKILL) {
		res->signal = 0;
		res->time_to_outcome_s = e->killed_at_s;
		if (e->why == RUN_KILL_RSS) {
			res->outcome = RUN_OOM;
			res->oom_cap = "rss";
			res->oom_at_s = e->killed_at_s;
			snprintf(res->oom_tag, sizeof(res->oom_tag), "%s",
				 e->grew_most);
			snprintf(res->oom_grew_most, sizeof(res->oom_grew_most),
				 "%s", res->oom_tag);
		} else if (e->why == RUN_KILL_TIMEOUT) {
			res->outcome = RUN_HANG;
			snprintf(res->error, sizeof(res->error),
				 "no end after %.1f s (in phase %s); killed",
				 e->timeout_s, ictx_phase_name(e->st->phase));
		} else {
			res->outcome = RUN_INTERRUPTED;
			snprintf(res->error, sizeof(res->error),
				 "interrupted by %s", signame(e->interrupt_sig));
		}
	} else if (WIFSIGNALED(e->status)) {
		res->outcome = RUN_CRASH;
		res->time_to_outcome_s = e->duration_s;
		if (e->sanitizer[0])
			snprintf(res->error, sizeof(res->error), "%s",
				 e->sanitizer);
	} else if (res->exit_status == 2 && e->detector[0]) {
		res->outcome = RUN_CRASH;
		res->time_to_outcome_s = e->duration_s;
	} else if (res->exit_status == 0 && e->st->phase == ICTX_PHASE_DONE &&
		   !e->st->setup_rc && !e->st->run_rc) {
		res->outcome = RUN_OK;
		res->time_to_outcome_s = e->duration_s;
	} else if (res->exit_status == 0 && (e->st->setup_rc || e->st->run_rc)) {
		res->outcome = RUN_ERROR;
		res->time_to_outcome_s = e->duration_s;
		snprintf(res->error, sizeof(res->error), "%s", e->st->error);
	} else if (e->sanitizer[0]) {
		res->outcome = RUN_CRASH;
		res->time_to_outcome_s = e->duration_s;
		res->signal = sanitizer_signal(e->sanitizer);
		snprintf(res->error, sizeof(res->error), "%s", e->sanitizer);
	} else {
		res->outcome = RUN_ERROR;
		res->time_to_outcome_s = e->duration_s;
		snprintf(res->error, sizeof(res->error),
			 "child exited with status %d in phase %s%s%s",
			 res->exit_status, ictx_phase_name(e->st->phase),
			 e->st->error[0] ? ": " : "", e->st->error);
	}
}

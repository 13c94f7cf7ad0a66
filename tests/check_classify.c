/*
 * tests/check_classify.c - This file contains the table test of
 * runner_classify() (harness/runner/classify.c): every way a child's run
 * can end, as the parent sees it (wait status, the cap it killed for, the
 * child's own status, its stderr's detector and sanitizer lines), and the
 * outcome with the details the record carries.  No child runs: the
 * function is pure, so each row is an ending written down.
 */
#include <check.h>
#include <signal.h>
#include <string.h>

#include "harness/runner/runner.h"
#include "maps/alloc.h"
#include "tests/ck_run.h"

#define EXITED(n) ((n) << 8)   /* a wait status: exit(n) */
#define KILLED(s) (s)          /* a wait status: died of signal s */

struct row {
	const char *name;
	struct run_end e;
	struct ictx_status st;
	/* expected */
	enum run_outcome outcome;
	int signal, exit_status;
	const char *oom_cap;   /* NULL: none */
	const char *oom_tag;
	double time;           /* time_to_outcome_s */
	const char *error;     /* a part of res.error; "" none expected */
};

#define DONE {.phase = ICTX_PHASE_DONE, .oom_tag = -1}

static const struct row rows[] = {
	{"clean end", {.status = EXITED(0), .duration_s = 5}, DONE,
	 RUN_OK, 0, 0, NULL, "", 5, ""},
	{"budget refusal, the child then aborted",
	 {.status = KILLED(SIGABRT), .duration_s = 3},
	 {.phase = ICTX_PHASE_RUN, .budget_oom = true, .budget_hit = true,
	  .oom_tag = ML_TAG_PAYLOAD, .oom_at_s = 2.5},
	 RUN_OOM, 0, -1, "budget", "payload", 2.5, ""},
	{"malloc refused far below the budget (RLIMIT_AS)",
	 {.status = EXITED(0), .duration_s = 3},
	 {.phase = ICTX_PHASE_DONE, .budget_oom = true, .oom_tag = -1,
	  .oom_at_s = 1},
	 RUN_OOM, 0, 0, "rlimit", "", 1, ""},
	{"killed at the RSS cap",
	 {.status = KILLED(SIGKILL), .why = RUN_KILL_RSS, .killed_at_s = 1.25,
	  .duration_s = 1.3, .grew_most = "requests"},
	 {.phase = ICTX_PHASE_RUN, .oom_tag = -1},
	 RUN_OOM, 0, -1, "rss", "requests", 1.25, ""},
	{"killed at the timeout",
	 {.status = KILLED(SIGKILL), .why = RUN_KILL_TIMEOUT, .killed_at_s = 12,
	  .duration_s = 12, .timeout_s = 12},
	 {.phase = ICTX_PHASE_TEARDOWN, .oom_tag = -1},
	 RUN_HANG, 0, -1, NULL, "", 12, "no end after 12.0 s (in phase teardown)"},
	{"killed because the lab was interrupted",
	 {.status = KILLED(SIGKILL), .why = RUN_KILL_INTERRUPT,
	  .killed_at_s = 0.5, .duration_s = 0.5, .interrupt_sig = SIGINT},
	 {.phase = ICTX_PHASE_RUN, .oom_tag = -1},
	 RUN_INTERRUPTED, 0, -1, NULL, "", 0.5, "interrupted by SIGINT"},
	{"a crash that beat the parent's kill",
	 {.status = KILLED(SIGSEGV), .why = RUN_KILL_RSS, .killed_at_s = 1,
	  .duration_s = 1.1},
	 {.phase = ICTX_PHASE_RUN, .oom_tag = -1},
	 RUN_CRASH, SIGSEGV, -1, NULL, "", 1.1, ""},
	{"segfault", {.status = KILLED(SIGSEGV), .duration_s = 0.7},
	 {.phase = ICTX_PHASE_RUN, .oom_tag = -1},
	 RUN_CRASH, SIGSEGV, -1, NULL, "", 0.7, ""},
	{"segfault a sanitizer saw first",
	 {.status = KILLED(SIGSEGV), .duration_s = 0.7,
	  .sanitizer = "ERROR: AddressSanitizer: SEGV on unknown address"},
	 {.phase = ICTX_PHASE_RUN, .oom_tag = -1},
	 RUN_CRASH, SIGSEGV, -1, NULL, "", 0.7, "AddressSanitizer: SEGV"},
	{"Go-style detector: exit 2",
	 {.status = EXITED(2), .duration_s = 0.2,
	  .detector = "fatal error: concurrent map writes"},
	 {.phase = ICTX_PHASE_RUN, .oom_tag = -1},
	 RUN_CRASH, 0, 2, NULL, "", 0.2, ""},
	{"exit 2 without a detector line",
	 {.status = EXITED(2), .duration_s = 0.2},
	 {.phase = ICTX_PHASE_RUN, .oom_tag = -1},
	 RUN_ERROR, 0, 2, NULL, "", 0.2, "child exited with status 2 in phase run"},
	{"setup failed",
	 {.status = EXITED(0), .duration_s = 0.1},
	 {.phase = ICTX_PHASE_DONE, .setup_rc = -22, .oom_tag = -1,
	  .error = "setup: bad parameter"},
	 RUN_ERROR, 0, 0, NULL, "", 0.1, "setup: bad parameter"},
	{"sanitizer report, exit 1",
	 {.status = EXITED(1), .duration_s = 0.9,
	  .sanitizer = "ERROR: AddressSanitizer: heap-use-after-free"},
	 {.phase = ICTX_PHASE_RUN, .oom_tag = -1},
	 RUN_CRASH, 0, 1, NULL, "", 0.9, "heap-use-after-free"},
	{"sanitizer caught a SEGV and exited 1",
	 {.status = EXITED(1), .duration_s = 0.9,
	  .sanitizer = "ERROR: AddressSanitizer: SEGV on unknown address"},
	 {.phase = ICTX_PHASE_RUN, .oom_tag = -1},
	 RUN_CRASH, SIGSEGV, 1, NULL, "", 0.9, "SEGV"},
	{"exit 0 before the end",
	 {.status = EXITED(0), .duration_s = 0.4},
	 {.phase = ICTX_PHASE_RUN, .oom_tag = -1},
	 RUN_ERROR, 0, 0, NULL, "", 0.4, "child exited with status 0 in phase run"},
};

START_TEST(test_ending)
{
	const struct row *r = &rows[_i];
	struct run_end e = r->e;
	struct run_result res;

	memset(&res, 0, sizeof(res));
	e.st = &r->st;
	if (!e.detector)
		e.detector = "";
	if (!e.sanitizer)
		e.sanitizer = "";
	if (!e.grew_most)
		e.grew_most = "";
	runner_classify(&e, &res);
	ck_assert_msg(res.outcome == r->outcome, "%s: outcome %s, want %s",
		      r->name, run_outcome_name(res.outcome),
		      run_outcome_name(r->outcome));
	ck_assert_msg(res.signal == r->signal, "%s: signal %d", r->name,
		      res.signal);
	ck_assert_msg(res.exit_status == r->exit_status, "%s: exit %d", r->name,
		      res.exit_status);
	if (r->oom_cap)
		ck_assert_msg(res.oom_cap && !strcmp(res.oom_cap, r->oom_cap),
			      "%s: cap %s", r->name,
			      res.oom_cap ? res.oom_cap : "none");
	else
		ck_assert_msg(!res.oom_cap, "%s: cap %s", r->name, res.oom_cap);
	ck_assert_msg(!strcmp(res.oom_tag, r->oom_tag), "%s: tag '%s'",
		      r->name, res.oom_tag);
	ck_assert_msg(res.time_to_outcome_s == r->time, "%s: time %g",
		      r->name, res.time_to_outcome_s);
	if (r->error[0])
		ck_assert_msg(strstr(res.error, r->error), "%s: error '%s'",
			      r->name, res.error);
	else
		ck_assert_msg(!res.error[0], "%s: error '%s'", r->name,
			      res.error);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("classify");
	TCase *tc = tcase_create("endings");

	tcase_add_loop_test(tc, test_ending, 0,
			    (int)(sizeof(rows) / sizeof(rows[0])));
	suite_add_tcase(s, tc);
	return ck_run(s);
}

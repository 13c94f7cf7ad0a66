/*
 * tests/check_exercise.c - the workshop's `exercise` variant ships
 * unsolved: CI checks that it builds, that it is a correct map on one
 * thread (the conformance suite passes), and that the concurrency suite
 * catches its missing locks - the same suites `./run.sh exercise` runs
 * for a participant.  If a participant's solved copy runs this, the
 * second test tells them it now holds (and fails: it guards the shipped,
 * unsolved state).
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "tests/ck_run.h"

#ifndef MAPLAB_BUILD_DIR
#define MAPLAB_BUILD_DIR "build"
#endif

/* Run a suite binary on the exercise variant; its exit status.  out gets
 * the LAST len - 1 bytes of its output: the Check summary and the failing
 * tests come last, after any sanitizer reports (over a megabyte of them
 * under TSan).  Keep len well under Check's message limit (8 KiB): the
 * assertions print out. */
static int run_suite(const char *suite, char *out, size_t len)
{
	char cmd[512], buf[512];
	FILE *p;
	size_t n, have = 0;
	int st;

	ck_assert_uint_gt(len, sizeof(buf));
	snprintf(cmd, sizeof(cmd),
		 "MAPLAB_VARIANTS=exercise %s/tests/%s 2>&1", MAPLAB_BUILD_DIR,
		 suite);
	p = popen(cmd, "r");
	ck_assert_ptr_nonnull(p);
	while ((n = fread(buf, 1, sizeof(buf), p)) > 0) {
		if (have + n > len - 1) { /* drop the oldest bytes */
			size_t drop = have + n - (len - 1);

			memmove(out, out + drop, have - drop);
			have -= drop;
		}
		memcpy(out + have, buf, n);
		have += n;
	}
	out[have] = '\0';
	st = pclose(p);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

START_TEST(exercise_is_a_correct_single_threaded_map)
{
	char out[4096];
	int rc = run_suite("check_maps", out, sizeof(out));

	ck_assert_msg(rc == 0 && strstr(out, "100%: Checks: "),
		      "conformance on exercise: exit %d\n%s", rc, out);
}
END_TEST

START_TEST(unsolved_exercise_fails_the_concurrency_suite)
{
	char out[4096];
	int rc = 0;

	/* A real race: it shows in practically every run, but allow three. */
	for (int attempt = 0; attempt < 3 && rc == 0; attempt++)
		rc = run_suite("check_maps_concurrent", out, sizeof(out));
	ck_assert_msg(rc != 0 && strstr(out, "Checks: "),
		      "the unsolved exercise passed the concurrency suite three "
		      "times (solved? then this guard is done):\n%s", out);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("exercise");
	TCase *tc = tcase_create("exercise");

	tcase_set_timeout(tc, 600);
	tcase_add_test(tc, exercise_is_a_correct_single_threaded_map);
	tcase_add_test(tc, unsolved_exercise_fails_the_concurrency_suite);
	suite_add_tcase(s, tc);
	return ck_run(s);
}

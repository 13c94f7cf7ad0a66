/*
 * tests/check_exercise.c - the workshop's `exercise` variant ships
 * unsolved: CI checks that it builds, that it is a correct map on one
 * thread (the conformance suite passes), and that the concurrency suite
 * catches its missing locks - the same suites `./run.sh exercise` runs
 * for a participant.  If a participant's solved copy runs this, the
 * second test tells them it now holds (and fails: it guards the shipped,
 * unsolved state).
 *
 * The lock check (tests/exercise_probe.c), one deterministic probe per
 * EXERCISE marker, is checked against its own list of half-solutions:
 * tests/exercise_reference.c solves the exercise and, with exercise_half
 * = p, leaves place p unlocked; the whole solution (and `mutex`, which
 * the answers name as the solution) must pass every probe, each half must
 * fail the probe of its place, and the unsolved exercise every probe.
 * With MAPLAB_EXERCISE_SOLVED=1 (`./run.sh exercise`) the suite instead
 * runs the probes on the participant's `exercise` and fails, naming the
 * EXERCISE marker, for each place still unlocked.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "tests/ck_run.h"
#include "tests/exercise_probe.h"
#include "tests/exercise_reference.h"

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

static int probe(const struct map_variant *v, int place, char *why, size_t n)
{
	int rc;

	ck_assert_ptr_nonnull(v);
	rc = exercise_probe(v, (enum ep_place)place, why, n);
	ck_assert_msg(rc >= 0, "the probe of %s on %s could not run: %s",
		      ep_name(place), v->name, why);
	return rc;
}

/* _i is the place (EP_GET .. EP_CHECK). */
START_TEST(solution_passes_every_probe)
{
	char why[300];

	exercise_half = 0;
	ck_assert_msg(probe(&exercise_reference, _i, why, sizeof(why)) == 1,
		      "the reference solution: %s", why);
	ck_assert_msg(probe(map_variant_find("mutex"), _i, why, sizeof(why)) == 1,
		      "mutex: %s", why);
}
END_TEST

START_TEST(each_half_solution_fails_its_probe)
{
	char why[300];

	exercise_half = _i;
	ck_assert_msg(probe(&exercise_reference, _i, why, sizeof(why)) == 0,
		      "the solution with %s (EXERCISE %d) left unlocked passed "
		      "its probe", ep_name(_i), ep_exercise_number(_i));
	exercise_half = 0;
}
END_TEST

START_TEST(unsolved_exercise_fails_every_probe)
{
	char why[300];

	ck_assert_msg(probe(map_variant_find("exercise"), _i, why,
			    sizeof(why)) == 0,
		      "the unsolved exercise passed the probe of %s (solved? "
		      "then this guard is done)", ep_name(_i));
}
END_TEST

/* The participant's check (MAPLAB_EXERCISE_SOLVED=1). */
START_TEST(exercise_holds_its_lock)
{
	char why[300];

	ck_assert_msg(probe(map_variant_find("exercise"), _i, why,
			    sizeof(why)) == 1, "%s", why);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("exercise");
	TCase *tc = tcase_create("exercise");
	const char *solved = getenv("MAPLAB_EXERCISE_SOLVED");

	tcase_set_timeout(tc, 600);
	if (solved && !strcmp(solved, "1")) {
		tcase_add_loop_test(tc, exercise_holds_its_lock, EP_GET, EP_COUNT);
	} else {
		tcase_add_test(tc, exercise_is_a_correct_single_threaded_map);
		tcase_add_test(tc, unsolved_exercise_fails_the_concurrency_suite);
		tcase_add_loop_test(tc, solution_passes_every_probe, EP_GET,
				    EP_COUNT);
		tcase_add_loop_test(tc, each_half_solution_fails_its_probe,
				    EP_GET, EP_COUNT);
		tcase_add_loop_test(tc, unsolved_exercise_fails_every_probe,
				    EP_GET, EP_COUNT);
	}
	suite_add_tcase(s, tc);
	return ck_run(s);
}

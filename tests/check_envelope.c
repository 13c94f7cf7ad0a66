/*
 * tests/check_envelope.c - the knee search of `maplab envelope`
 * (harness/lanes/envelope_search.c), driven by scripted designs: a design
 * that tips at and above a known load, one that never tips, one that tips
 * everywhere, and a noisy one whose repetitions disagree near its knee.
 * Pure function, so no run is made: each test is milliseconds.  One end
 * to end test runs `envelope` on the fixtures binary (a fixture that
 * finishes cleanly holds, one that really exceeds its budget tips at the
 * bottom of the range) and renders the report's #envelope (~5 s).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <glib.h>
#include <jansson.h>

#include "harness/lanes/envelope_search.h"
#include "tests/ck_run.h"

static const struct env_cfg cfg = {.from = 37500, .to = 300000, .reps = 3,
				   .ratio = 1.25, .integer = true,
				   .max_probes = 16};

/* A design: does a run at v tip?  k: how many runs were made at v. */
typedef bool (*design_fn)(double v, unsigned k, double knee);

static bool sharp(double v, unsigned k, double knee)
{
	(void)k;
	return v >= knee;
}

/* Near the knee (within 10% below it) the first run tips, repeats do not. */
static bool noisy(double v, unsigned k, double knee)
{
	return v >= knee || (v >= knee * 0.9 && k == 0);
}

/* Run the search to its end; the probes are left in p, their count in *n. */
static void search(const struct env_cfg *c, design_fn d, double knee,
		   struct env_probe *p, size_t *n, struct env_step *st)
{
	*n = 0;
	for (;;) {
		unsigned k = 0;

		env_next(c, p, *n, st);
		if (st->state != ENV_RUNNING)
			return;
		ck_assert(isfinite(st->next));
		ck_assert(st->next >= c->from && st->next <= c->to);
		ck_assert(st->next == floor(st->next)); /* integer parameter */
		for (size_t i = 0; i < *n; i++)
			k += p[i].value == st->next;
		p[*n] = (struct env_probe){st->next, d(st->next, k, knee)};
		(*n)++;
		ck_assert_uint_le(*n, c->max_probes);
	}
}

START_TEST(test_knee_found)
{
	static const double knees[] = {40000, 106000, 180000, 250000, 299999};
	struct env_probe p[64];
	struct env_step st;
	size_t n;

	for (size_t i = 0; i < sizeof(knees) / sizeof(knees[0]); i++) {
		search(&cfg, sharp, knees[i], p, &n, &st);
		ck_assert_msg(st.state == ENV_KNEE, "knee %g: %s", knees[i],
			      env_state_name(st.state));
		ck_assert(st.lo < knees[i] && knees[i] <= st.hi);
		ck_assert_msg(st.hi / st.lo <= cfg.ratio, "%g..%g", st.lo, st.hi);
		ck_assert_uint_eq(st.lo_runs, 3);
		ck_assert_uint_eq(st.lo_tipped, 0);
		ck_assert_uint_eq(st.hi_runs, 3);
		ck_assert_uint_eq(st.hi_tipped, 3);
		ck_assert_uint_le(n, 14);
	}
}
END_TEST

START_TEST(test_holds_and_tips_low)
{
	struct env_probe p[64];
	struct env_step st;
	size_t n;

	search(&cfg, sharp, 1e9, p, &n, &st);
	ck_assert_int_eq(st.state, ENV_HOLDS);
	ck_assert_double_eq(st.lo, cfg.to);
	ck_assert_uint_eq(n, 3); /* the top, three times, nothing else */
	ck_assert_uint_eq(st.lo_runs, 3);
	search(&cfg, sharp, 1000, p, &n, &st);
	ck_assert_int_eq(st.state, ENV_TIPS_LOW);
	ck_assert_double_eq(st.hi, cfg.from);
	ck_assert_uint_eq(n, 2); /* the top, then the bottom */
}
END_TEST

/* A repetition that contradicts the bracket moves it; the search still
 * ends with the whole bracket confirmed, within its budget. */
START_TEST(test_noisy_repeats_move_bracket)
{
	struct env_probe p[64];
	struct env_step st;
	size_t n;

	search(&cfg, noisy, 150000, p, &n, &st);
	ck_assert_msg(st.state == ENV_KNEE || st.state == ENV_BUDGET, "%s",
		      env_state_name(st.state));
	ck_assert(st.lo < 150000);
	ck_assert_uint_eq(st.lo_tipped, 0);
	if (st.state == ENV_KNEE)
		ck_assert_uint_eq(st.lo_runs, 3);
}
END_TEST

START_TEST(test_budget_and_purity)
{
	struct env_cfg c = cfg;
	struct env_probe p[64], q[64];
	struct env_step a, b;
	size_t n;

	c.max_probes = 4;
	search(&c, sharp, 106000, p, &n, &a);
	ck_assert_int_eq(a.state, ENV_BUDGET);
	ck_assert_uint_eq(n, 4);
	ck_assert(a.lo < 106000 && 106000 <= a.hi);
	/* the same results in another order: the same step */
	c.max_probes = 16;
	for (size_t i = 0; i < n; i++)
		q[i] = p[n - 1 - i];
	env_next(&c, p, n, &a);
	env_next(&c, q, n, &b);
	ck_assert_double_eq(a.next, b.next);
	ck_assert_double_eq(a.lo, b.lo);
	ck_assert_double_eq(a.hi, b.hi);
	ck_assert_uint_gt(a.left, 0);
}
END_TEST

static int run_fixtures(const char *top, const char *incident, char **out)
{
	char exe[PATH_MAX], bin[PATH_MAX + 32], dir[PATH_MAX], log[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	char *slash;
	pid_t pid;
	int st;

	exe[n > 0 ? n : 0] = '\0';
	for (int up = 0; up < 2 && (slash = strrchr(exe, '/')); up++)
		*slash = '\0';
	snprintf(bin, sizeof(bin), "%s/maplab-fixtures", exe);
	snprintf(dir, sizeof(dir), "%s/%s", top, incident);
	snprintf(log, sizeof(log), "%s/%s.log", top, incident);
	fflush(NULL);
	if ((pid = fork()) == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);

		dup2(fd, 1);
		dup2(fd, 2);
		setenv("NO_COLOR", "1", 1);
		execl(bin, bin, "envelope", incident, "--variant", "mutex",
		      "--seconds", "0.6", "--out", dir, (char *)NULL);
		_exit(127);
	}
	ck_assert_int_gt(pid, 0);
	while (waitpid(pid, &st, 0) < 0)
		ck_assert_int_eq(errno, EINTR);
	ck_assert(g_file_get_contents(log, out, NULL, NULL));
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

START_TEST(test_envelope_fixtures)
{
	char top[] = "/tmp/maplab-envelope-XXXXXX", *out, *html, cmd[64];
	json_t *m;

	ck_assert_ptr_nonnull(mkdtemp(top));
	ck_assert_msg(run_fixtures(top, "fxclean", &out) == 0, "%s", out);
	ck_assert_msg(strstr(out, "holds up to 300 after_ms (3/3 bounded there)")
		      && strstr(out, "[probe 3 of ~3]") && strstr(out, "brackets:"),
		      "%s", out);
	g_free(out);
	ck_assert_msg(run_fixtures(top, "fxbudget", &out) == 0, "%s", out);
	ck_assert_msg(strstr(out, "tips at 37.5 after_ms already"), "%s", out);
	g_free(out);
	snprintf(cmd, sizeof(cmd), "%s/fxbudget/manifest.json", top);
	m = json_load_file(cmd, 0, NULL);
	ck_assert_str_eq(json_string_value(json_object_get(json_object_get(
		json_object_get(json_object_get(m, "envelope"), "results"),
		"mutex"), "state")), "tips at from");
	json_decref(m);
	snprintf(cmd, sizeof(cmd), "%s/fxbudget/report.html", top);
	ck_assert(g_file_get_contents(cmd, &html, NULL, NULL));
	ck_assert(strstr(html, "id=\"envelope\"") &&
		  strstr(html, "id=\"envelope-chart\"") &&
		  strstr(html, "id=\"envelope-table\""));
	g_free(html);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", top);
	ck_assert_int_eq(system(cmd), 0);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("envelope");
	TCase *t = tcase_create("search");

	tcase_add_test(t, test_knee_found);
	tcase_add_test(t, test_holds_and_tips_low);
	tcase_add_test(t, test_noisy_repeats_move_bracket);
	tcase_add_test(t, test_budget_and_purity);
	suite_add_tcase(s, t);
	t = tcase_create("end to end");
	tcase_set_timeout(t, 120);
	tcase_add_test(t, test_envelope_fixtures);
	suite_add_tcase(s, t);
	return ck_run(s);
}

/*
 * tests/check_envelope.c - the knee search of `maplab envelope`
 * (harness/lanes/envelope_search.c), driven by scripted designs: a design
 * that tips at and above a known load, one that never tips, one that tips
 * everywhere, and a noisy one whose repetitions disagree near its knee;
 * scripted ends (a knee's upper end needs most of its runs tipped, a lower
 * end with a minority of tips is an edge); env_grid (the rounds of a
 * sharded search) case by case and round by round against env_next.
 * Pure functions, so no run is made: each test is milliseconds.  The
 * default parameter comes from the descriptor (--help, a refusal).  End
 * to end on the fixtures binary: `envelope` (a
 * fixture that finishes cleanly holds, one that really exceeds its budget
 * tips at the bottom of the range) and the report's #envelope (~5 s); the
 * search over two shard processes round by round (fxkeep: a knee at the
 * budget) against one machine's, with the refusals (~15 s); two envelope
 * folders merged by `maplab report` keep both tables (~4 s).
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
#include "harness/runtime/ictx.h"
#include "incidents/registry.h"
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

/* A repetition that contradicts the bracket moves it: below the knee a
 * first run that tips is outvoted by its repeats (1 of 3), so that load
 * is no upper end; the search ends with the knee between a load mostly
 * bounded and one mostly tipped, within its budget. */
START_TEST(test_noisy_repeats_move_bracket)
{
	static const double knees[] = {60000, 106000, 150000, 250000};
	struct env_probe p[64];
	struct env_step st;
	size_t n;

	for (size_t i = 0; i < sizeof(knees) / sizeof(knees[0]); i++) {
		search(&cfg, noisy, knees[i], p, &n, &st);
		ck_assert_msg(st.state == ENV_KNEE || st.state == ENV_BUDGET,
			      "knee %g: %s", knees[i], env_state_name(st.state));
		ck_assert(st.lo < knees[i]);
		ck_assert_uint_le(2 * st.lo_tipped, st.lo_runs);
		ck_assert_uint_gt(2 * st.hi_tipped, st.hi_runs);
		if (st.state != ENV_KNEE)
			continue;
		ck_assert_msg(knees[i] <= st.hi, "knee %g: upper end %g (%u/%u)",
			      knees[i], st.hi, st.hi_tipped, st.hi_runs);
		ck_assert_uint_eq(st.lo_runs, 3);
		ck_assert_uint_eq(st.hi_runs, 3);
	}
}
END_TEST

/* Equal, or both NaN (unknown). */
static bool same(double a, double b)
{
	return a == b || (isnan(a) && isnan(b));
}

/* env_next on scripted results at the ends: the upper end needs most of
 * its runs tipped; a lower end with a minority of tips is an edge. */
START_TEST(test_edge_table)
{
	static const struct {
		const char *what;
		struct env_probe p[12];
		size_t n;
		enum env_state state;
		double lo, hi, edge, next;
		unsigned lo_tipped, hi_tipped;
	} t[] = {
		{"1/3 tipped above is no knee: the next mostly tipped load is",
		 {{300000, true}, {121000, false}, {121000, false},
		  {121000, false}, {138000, true}, {138000, false},
		  {138000, false}, {155000, true}}, 8,
		 ENV_RUNNING, 138000, 155000, 138000, 155000, 1, 1},
		{"...and once it is confirmed, the knee's lower end is an edge",
		 {{300000, true}, {121000, false}, {121000, false},
		  {121000, false}, {138000, true}, {138000, false},
		  {138000, false}, {155000, true}, {155000, true},
		  {155000, true}}, 10,
		 ENV_KNEE, 138000, 155000, 138000, NAN, 1, 3},
		{"2/3 tipped above is a knee",
		 {{300000, true}, {121000, false}, {121000, false},
		  {121000, false}, {138000, true}, {138000, false},
		  {138000, true}}, 7,
		 ENV_KNEE, 121000, 138000, NAN, NAN, 0, 2},
		{"1 of 2 is no majority yet: its third run decides",
		 {{300000, true}, {121000, false}, {121000, false},
		  {121000, false}, {138000, true}, {138000, false},
		  {155000, true}, {155000, true}, {155000, true}}, 9,
		 ENV_RUNNING, 138000, 155000, 138000, 138000, 1, 3},
		{"the top tipped 1 of 3: it holds, an edge",
		 {{300000, true}, {300000, false}, {300000, false}}, 3,
		 ENV_HOLDS, 300000, NAN, 300000, NAN, 1, 0},
		{"a tip below a lower end that held 3/3: named as the edge",
		 {{300000, true}, {100000, true}, {100000, false},
		  {100000, false}, {121000, false}, {121000, false},
		  {121000, false}, {138000, true}, {138000, true},
		  {138000, true}}, 10,
		 ENV_KNEE, 121000, 138000, 100000, NAN, 0, 3},
	};
	struct env_step st;

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		env_next(&cfg, t[i].p, t[i].n, &st);
		ck_assert_msg(st.state == t[i].state, "%s: %s", t[i].what,
			      env_state_name(st.state));
		ck_assert_msg(same(st.lo, t[i].lo) && same(st.hi, t[i].hi) &&
			      same(st.edge, t[i].edge) && same(st.next, t[i].next),
			      "%s: lo %g hi %g edge %g next %g", t[i].what, st.lo,
			      st.hi, st.edge, st.next);
		ck_assert_msg(st.lo_tipped == t[i].lo_tipped &&
			      st.hi_tipped == t[i].hi_tipped, "%s: %u and %u tipped",
			      t[i].what, st.lo_tipped, st.hi_tipped);
	}
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

/* env_grid, case by case: the values of one round for a variant. */
START_TEST(test_grid_table)
{
	static const struct {
		const char *what;
		struct env_probe p[8];
		size_t n;
		unsigned width;
		double want[8];
		size_t nwant;
		enum env_state state;
	} t[] = {
		{"nothing yet: every run of the top", {{0, false}}, 0, 3,
		 {300000, 300000, 300000}, 3, ENV_RUNNING},
		{"the top held once: its two missing runs",
		 {{300000, false}}, 1, 1, {300000, 300000}, 2, ENV_RUNNING},
		{"the top held three times: holds", {{300000, false},
		 {300000, false}, {300000, false}}, 3, 3, {0}, 0, ENV_HOLDS},
		{"a tip, width 1: the bottom only", {{300000, true}}, 1, 1,
		 {37500}, 1, ENV_RUNNING},
		{"a tip, width 3: the bottom and two points below the tip",
		 {{300000, true}}, 1, 3, {37500, 75000, 150000}, 3, ENV_RUNNING},
		{"a bracket, width 1: env_next's midpoint",
		 {{300000, true}, {37500, false}}, 2, 1, {106066}, 1, ENV_RUNNING},
		{"a bracket, width 3: quarters (the centre is the midpoint)",
		 {{300000, true}, {37500, false}}, 2, 3, {63067, 106066, 178381},
		 3, ENV_RUNNING},
		{"a narrow bracket: the runs its ends still need",
		 {{110000, true}, {100000, false}, {100000, false}}, 3, 3,
		 {100000, 110000, 110000}, 3, ENV_RUNNING},
		{"the bottom tipped: tips at from", {{300000, true},
		 {37500, true}}, 2, 3, {0}, 0, ENV_TIPS_LOW},
	};
	double out[16];
	struct env_step st;

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		size_t k = env_grid(&cfg, t[i].p, t[i].n, t[i].width, out, 16, &st);

		ck_assert_msg(k == t[i].nwant, "%s: %zu values", t[i].what, k);
		for (size_t j = 0; j < k; j++)
			ck_assert_msg(out[j] == t[i].want[j], "%s: value %zu is %g, "
				      "not %g", t[i].what, j, out[j], t[i].want[j]);
		ck_assert_msg(st.state == t[i].state, "%s: %s", t[i].what,
			      env_state_name(st.state));
	}
	{ /* never past the probe budget */
		struct env_cfg c = cfg;
		struct env_probe p[] = {{300000, true}};

		c.max_probes = 3;
		ck_assert_uint_eq(env_grid(&c, p, 1, 7, out, 16, &st), 2);
	}
}
END_TEST

/* Round by round to the end; returns the rounds, probes in *n. */
static unsigned grid_search(const struct env_cfg *c, unsigned width,
			    design_fn d, double knee, struct env_probe *p,
			    size_t *n, struct env_step *st)
{
	double vals[64];
	unsigned rounds = 0;
	size_t k;

	*n = 0;
	while ((k = env_grid(c, p, *n, width, vals, 64, st))) {
		size_t n0 = *n;

		for (size_t j = 0; j < k; j++) {
			unsigned same = 0;

			for (size_t q = 0; q < *n; q++)
				same += p[q].value == vals[j];
			p[(*n)++] = (struct env_probe){vals[j], d(vals[j], same, knee)};
		}
		ck_assert_uint_gt(*n, n0);
		rounds++;
	}
	return rounds;
}

/* Width 1 makes env_next's brackets; a wider grid brackets the same knee
 * in fewer rounds than one probe at a time takes probes (it spends more
 * probes: up to width at a time, so its budget is larger here). */
START_TEST(test_grid_rounds)
{
	static const double knees[] = {40000, 106000, 180000, 250000, 299999};
	struct env_probe p[64], q[64];
	struct env_cfg wide = cfg;
	struct env_step a, b;
	size_t n, m;

	wide.max_probes = 60;
	for (size_t i = 0; i < sizeof(knees) / sizeof(knees[0]); i++) {
		search(&cfg, sharp, knees[i], p, &n, &a);
		grid_search(&cfg, 1, sharp, knees[i], q, &m, &b);
		ck_assert_int_eq(b.state, a.state);
		ck_assert_double_eq(b.lo, a.lo);
		ck_assert_double_eq(b.hi, a.hi);
		if (knees[i] > cfg.from / 0.9) { /* noisy: repeats outvote a tip */
			search(&cfg, noisy, knees[i], p, &n, &a);
			grid_search(&cfg, 1, noisy, knees[i], q, &m, &b);
			ck_assert_msg(b.state == a.state && b.lo == a.lo &&
				      b.hi == a.hi, "noisy knee %g: %s %g..%g, "
				      "width 1 %s %g..%g", knees[i],
				      env_state_name(a.state), a.lo, a.hi,
				      env_state_name(b.state), b.lo, b.hi);
		}
		for (unsigned w = 2; w <= 7; w++) {
			unsigned r = grid_search(&wide, w, sharp, knees[i], q, &m, &b);

			ck_assert_msg(b.state == ENV_KNEE, "knee %g width %u: %s",
				      knees[i], w, env_state_name(b.state));
			ck_assert(b.lo < knees[i] && knees[i] <= b.hi);
			ck_assert(b.hi / b.lo <= cfg.ratio);
			ck_assert_uint_eq(b.lo_runs, 3);
			ck_assert_uint_eq(b.hi_runs, 3);
			ck_assert_uint_lt(r, n);
		}
	}
}
END_TEST

/* Start build/maplab-fixtures with args (NULL-ended), its output to log;
 * the caller waits (wait_fx: the exit status). */
static pid_t start_fx(char **args, const char *log)
{
	char exe[PATH_MAX], bin[PATH_MAX + 32], *argv[48] = {bin};
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	char *slash;
	size_t k = 1;
	pid_t pid;

	exe[n > 0 ? n : 0] = '\0';
	for (int up = 0; up < 2 && (slash = strrchr(exe, '/')); up++)
		*slash = '\0';
	snprintf(bin, sizeof(bin), "%s/maplab-fixtures", exe);
	while (args[k - 1] && k < 47) {
		argv[k] = args[k - 1];
		k++;
	}
	fflush(NULL);
	if ((pid = fork()) == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);

		dup2(fd, 1);
		dup2(fd, 2);
		setenv("NO_COLOR", "1", 1);
		execv(bin, argv);
		_exit(127);
	}
	ck_assert_int_gt(pid, 0);
	return pid;
}

static int wait_fx(pid_t pid)
{
	int st;

	while (waitpid(pid, &st, 0) < 0)
		ck_assert_int_eq(errno, EINTR);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

/* Run, wait; the log's text in *out (g_free) when out is given. */
static int fx(const char *top, char **args, char **out)
{
	char log[PATH_MAX];
	int rc;

	snprintf(log, sizeof(log), "%s/fx.log", top);
	rc = wait_fx(start_fx(args, log));
	if (out)
		ck_assert(g_file_get_contents(log, out, NULL, NULL));
	return rc;
}

static int run_fixtures(const char *top, const char *incident, char **out)
{
	char dir[PATH_MAX], log[PATH_MAX];
	char *args[] = {"envelope", (char *)incident, "--variant", "mutex",
			"--seconds", "0.6", "--out", dir, NULL};
	int rc;

	snprintf(dir, sizeof(dir), "%s/%s", top, incident);
	snprintf(log, sizeof(log), "%s/%s.log", top, incident);
	rc = wait_fx(start_fx(args, log));
	ck_assert(g_file_get_contents(log, out, NULL, NULL));
	return rc;
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
	/* the probes are not judged as matrix cells */
	ck_assert(strstr(html, "The runs are envelope probes") &&
		  !strstr(html, "as expected?"));
	/* What ran: the kind, and no preset (an envelope has none) */
	ck_assert(strstr(html, " (envelope)</dd>") && !strstr(html, "preset ?"));
	g_free(html);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", top);
	ck_assert_int_eq(system(cmd), 0);
}
END_TEST

/* The parameter searched by default is the one the descriptor names
 * (.envelope_param): every name given is a parameter the incident
 * declares; `--help` lists each incident's; an incident that names none
 * (fxreported) needs --param: exit 2, one line, nothing written. */
START_TEST(test_default_param_from_descriptor)
{
	char top[] = "/tmp/maplab-envelope-XXXXXX", dir[PATH_MAX], *out;
	char *help[] = {"envelope", "--help", NULL};
	char *none[] = {"envelope", "fxreported", "--out", dir, NULL};

	for (size_t i = 0; i < incident_count; i++) {
		const struct incident *inc = incident_table[i];

		ck_assert_msg(!inc->envelope_param ||
			      ictx_find_param(inc, inc->envelope_param),
			      "%s: .envelope_param %s is none of its parameters",
			      inc->name, inc->envelope_param);
	}
	ck_assert_ptr_nonnull(mkdtemp(top));
	snprintf(dir, sizeof(dir), "%s/x", top);
	ck_assert_int_eq(fx(top, help, &out), 0);
	ck_assert_msg(strstr(out, "fxkeep: keep_mib") &&
		      strstr(out, "fxclean: after_ms") &&
		      strstr(out, "fxreported: none, give --param"), "%s", out);
	g_free(out);
	ck_assert_int_eq(fx(top, none, &out), 2);
	ck_assert_msg(strstr(out, "fxreported names no load parameter") &&
		      strchr(out, '\n') == out + strlen(out) - 1, "%s", out);
	ck_assert(access(dir, F_OK) != 0);
	g_free(out);
	snprintf(dir, sizeof(dir), "rm -rf '%s'", top);
	ck_assert_int_eq(system(dir), 0);
}
END_TEST

/* The search fxkeep (a knee at the budget, 192 MiB) as both tests give it */
#define KEEP "envelope", "fxkeep", "--variant", "mutex,sharded", "--from", \
	"8", "--to", "512", "--reps", "2", "-q"

static json_t *env_results(const char *dir)
{
	char path[PATH_MAX];
	json_t *m, *r;

	snprintf(path, sizeof(path), "%s/manifest.json", dir);
	m = json_load_file(path, 0, NULL);
	ck_assert_msg(m != NULL, "%s", path);
	r = json_incref(json_object_get(json_object_get(m, "envelope"), "results"));
	json_decref(m);
	return r;
}

/* Two shards, round by round, each round's shards at once: until
 * --pending says every variant is settled.  The rounds made. */
static unsigned run_rounds(const char *top, const char *rounds)
{
	char logs[2][PATH_MAX];
	unsigned r = 0;

	for (;; r++) {
		char *pend[] = {KEEP, "--rounds", (char *)rounds, "--pending", NULL};
		char *s0[] = {KEEP, "--rounds", (char *)rounds, "--shard", "0/2", NULL};
		char *s1[] = {KEEP, "--rounds", (char *)rounds, "--shard", "1/2", NULL};
		int rc = fx(top, pend, NULL);
		pid_t a, b;

		ck_assert_msg(rc == 0 || rc == 1, "--pending exit %d", rc);
		if (rc == 1)
			return r;
		ck_assert_uint_lt(r, 20);
		snprintf(logs[0], PATH_MAX, "%s/s0.log", top);
		snprintf(logs[1], PATH_MAX, "%s/s1.log", top);
		a = start_fx(s0, logs[0]);
		b = start_fx(s1, logs[1]);
		ck_assert_int_eq(wait_fx(a), 0);
		ck_assert_int_eq(wait_fx(b), 0);
	}
}

/* After the search of test_rounds_equal_one_machine (r rounds in
 * rounds): a finished shard writes nothing; other options, a plain merge
 * of round folders and a missing shard are refused (exit 2, one line). */
static void round_refusals(const char *top, char *rounds, unsigned r)
{
	char gone[PATH_MAX + 64], cmd[PATH_MAX + 64], *out;

	{ /* finished: a shard has nothing to run and writes nothing */
		char *s0[] = {KEEP, "--rounds", rounds, "--shard", "0/2", NULL};

		ck_assert_int_eq(fx(top, s0, &out), 0);
		ck_assert_msg(strstr(out, "finished after"), "%s", out);
		g_free(out);
	}
	{ /* another option than the rounds were run with */
		char *p[] = {"envelope", "fxkeep", "--variant", "mutex,sharded",
			     "--from", "8", "--to", "512", "--reps", "3", "--rounds",
			     rounds, "--pending", NULL};

		ck_assert_int_eq(fx(top, p, &out), 2);
		ck_assert_msg(strstr(out, "(reps differs)") &&
			      strchr(out, '\n') == out + strlen(out) - 1, "%s", out);
		g_free(out);
	}
	{ /* --shard without --rounds; --rounds without what to do */
		char *a[] = {"envelope", "fxkeep", "--shard", "0/2", NULL};
		char *b[] = {"envelope", "fxkeep", "--rounds", rounds, NULL};

		ck_assert_int_eq(fx(top, a, &out), 2);
		ck_assert_msg(strstr(out, "need --rounds DIR"), "%s", out);
		g_free(out);
		ck_assert_int_eq(fx(top, b, &out), 2);
		ck_assert_msg(strstr(out, "give one of --shard I/N"), "%s", out);
		g_free(out);
	}
	{ /* a plain merge of round folders */
		char s0[PATH_MAX + 32], s1[PATH_MAX + 32];
		char *p[] = {"report", s0, s1, "--out", gone, NULL};

		snprintf(s0, sizeof(s0), "%s/round-1-shard-0-of-2", rounds);
		snprintf(s1, sizeof(s1), "%s/round-1-shard-1-of-2", rounds);
		snprintf(gone, sizeof(gone), "%s/never", top);
		ck_assert_int_eq(fx(top, p, &out), 2);
		ck_assert_msg(strstr(out, "--rounds DIR --merge"), "%s", out);
		ck_assert(access(gone, F_OK) != 0);
		g_free(out);
	}
	{ /* a shard of the last round missing */
		char *m[] = {KEEP, "--rounds", rounds, "--merge", "--out", gone, NULL};

		snprintf(cmd, sizeof(cmd), "rm -r '%s/round-%u-shard-1-of-2'", rounds, r);
		ck_assert_int_eq(system(cmd), 0);
		ck_assert_int_eq(fx(top, m, &out), 2);
		ck_assert_msg(strstr(out, "partly run"), "%s", out);
		ck_assert(access(gone, F_OK) != 0);
		g_free(out);
	}
}

/* The search across two shard processes, merged, brackets every variant
 * where one machine's search does (width 1: the same midpoints); the
 * rounds' folders are refused by a plain merge, with other options, or
 * with a shard missing; the merged page has every variant's knee. */
START_TEST(test_rounds_equal_one_machine)
{
	char top[] = "/tmp/maplab-envelope-XXXXXX", one[PATH_MAX], rounds[PATH_MAX];
	char merged[PATH_MAX], *out, cmd[PATH_MAX + 64];
	json_t *a, *b, *v;
	const char *k;
	unsigned r;

	ck_assert_ptr_nonnull(mkdtemp(top));
	snprintf(one, sizeof(one), "%s/one", top);
	snprintf(rounds, sizeof(rounds), "%s/env", top);
	snprintf(merged, sizeof(merged), "%s/merged", top);
	{
		char *u[] = {KEEP, "--no-report", "--out", one, NULL};

		ck_assert_int_eq(fx(top, u, NULL), 0);
	}
	r = run_rounds(top, rounds);
	ck_assert_uint_ge(r, 4);
	{
		char *m[] = {KEEP, "--rounds", rounds, "--merge", "--out", merged, NULL};

		ck_assert_int_eq(fx(top, m, &out), 0);
		ck_assert_msg(strstr(out, "tips between"), "%s", out);
		g_free(out);
	}
	a = env_results(one);
	b = env_results(merged);
	ck_assert_uint_eq(json_object_size(b), 2);
	json_object_foreach(a, k, v) {
		json_t *w = json_object_get(b, k);

		ck_assert_str_eq(json_string_value(json_object_get(v, "state")), "knee");
		ck_assert_msg(json_equal(json_object_get(v, "state"),
					 json_object_get(w, "state")) &&
			      json_equal(json_object_get(v, "lo"), json_object_get(w, "lo")) &&
			      json_equal(json_object_get(v, "hi"), json_object_get(w, "hi")),
			      "%s: one machine %s, shards %s", k,
			      json_string_value(json_object_get(v, "text")),
			      json_string_value(json_object_get(w, "text")));
	}
	json_decref(a);
	json_decref(b);
	snprintf(cmd, sizeof(cmd), "%s/report.md", merged);
	ck_assert(g_file_get_contents(cmd, &out, NULL, NULL));
	ck_assert(strstr(out, "| mutex | tips between") &&
		  strstr(out, "| sharded | tips between"));
	g_free(out);
	round_refusals(top, rounds, r);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", top);
	ck_assert_int_eq(system(cmd), 0);
}
END_TEST

/* Two envelope folders of other variants, merged by `maplab report`: the
 * merged envelope table has both variants' knees. */
START_TEST(test_merge_keeps_every_envelope)
{
	char top[] = "/tmp/maplab-envelope-XXXXXX", a[PATH_MAX], b[PATH_MAX];
	char ab[PATH_MAX];
	json_t *r;

	ck_assert_ptr_nonnull(mkdtemp(top));
	snprintf(a, sizeof(a), "%s/a", top);
	snprintf(b, sizeof(b), "%s/b", top);
	snprintf(ab, sizeof(ab), "%s/ab", top);
	{
		char *x[] = {"envelope", "fxkeep", "--variant", "mutex", "--from",
			     "8", "--to", "512", "--reps", "1", "-q", "--no-report",
			     "--out", a, NULL};
		char *y[] = {"envelope", "fxkeep", "--variant", "rwlock", "--from",
			     "8", "--to", "512", "--reps", "1", "-q", "--no-report",
			     "--out", b, NULL};
		char *m[] = {"report", a, b, "--out", ab, "--quiet", NULL};

		ck_assert_int_eq(fx(top, x, NULL), 0);
		ck_assert_int_eq(fx(top, y, NULL), 0);
		ck_assert_int_eq(fx(top, m, NULL), 0);
	}
	r = env_results(ab);
	ck_assert_uint_eq(json_object_size(r), 2);
	ck_assert_str_eq(json_string_value(json_object_get(json_object_get(r,
		"rwlock"), "state")), "knee");
	ck_assert_str_eq(json_string_value(json_object_get(json_object_get(r,
		"mutex"), "state")), "knee");
	json_decref(r);
	{
		char path[PATH_MAX + 16], *md, cmd[PATH_MAX + 16];

		snprintf(path, sizeof(path), "%s/report.md", ab);
		ck_assert(g_file_get_contents(path, &md, NULL, NULL));
		ck_assert(strstr(md, "| mutex | tips between") &&
			  strstr(md, "| rwlock | tips between"));
		g_free(md);
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", top);
		ck_assert_int_eq(system(cmd), 0);
	}
}
END_TEST

int main(void)
{
	Suite *s = suite_create("envelope");
	TCase *t = tcase_create("search");

	tcase_add_test(t, test_knee_found);
	tcase_add_test(t, test_holds_and_tips_low);
	tcase_add_test(t, test_noisy_repeats_move_bracket);
	tcase_add_test(t, test_edge_table);
	tcase_add_test(t, test_budget_and_purity);
	tcase_add_test(t, test_grid_table);
	tcase_add_test(t, test_grid_rounds);
	suite_add_tcase(s, t);
	t = tcase_create("end to end");
	tcase_set_timeout(t, 120);
	tcase_add_test(t, test_default_param_from_descriptor);
	tcase_add_test(t, test_envelope_fixtures);
	tcase_add_test(t, test_rounds_equal_one_machine);
	tcase_add_test(t, test_merge_keeps_every_envelope);
	suite_add_tcase(s, t);
	return ck_run(s);
}

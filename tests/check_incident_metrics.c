/*
 * tests/check_incident_metrics.c - This file contains the tests of the
 * metrics incident (incidents/metrics/), run in-process through
 * harness/runtime/ictx.h at a small size:
 *   - the oracle is exact (no counter mismatch, no lost update, no
 *     invariant violation, no leaked byte) on every thread-safe variant,
 *     with expiry exercised;
 *   - the oracle catches planted inconsistencies: an increment nobody
 *     applied (over-count) and a counter taken out of the map without its
 *     release (lost updates) - planted here, by wrapping the incident's
 *     oracle, never in the incident;
 *   - syncmap (when registered) publishes promotions and dirty_copied;
 *   - the unsafe variant reproduces: it crashes, a sanitizer reports the
 *     race (sanitizer builds), or the oracle reports symptoms (run in a
 *     forked child with a budget; up to three tries, since a race is a
 *     matter of chance);
 *   - bad --set values are rejected by the declared ranges.
 * No test asserts a speed: the machine is shared and loaded.
 */
#include <check.h>
#include <errno.h>
#include <stdbool.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness/runtime/ictx.h"
#include "incidents/metrics/metrics.h"
#include "maps/alloc.h"
#include "maps/map.h"
#include "tests/ck_run.h"

extern const struct incident incident_metrics;

/* Small enough for a loaded 2-core machine; ttl short so series expire. */
static const char *const small_sets[] = {
	"rate=20000",   "new_series=5000", "initial_series=2000",
	"ttl_ms=150",   "walk_ms=20",      "req_bytes=256",
};
#define NSMALL (sizeof(small_sets) / sizeof(small_sets[0]))

static struct ictx *make_ctx(const struct incident *inc, const char *variant,
			     double seconds, uint64_t budget)
{
	struct ictx_opts o = ICTX_OPTS_INIT;
	struct ictx *c = NULL;
	char err[ICTX_ERR_LEN] = "";
	const struct map_variant *v = map_variant_find(variant);

	o.variant = variant;
	o.threads = 4;
	o.seed = 42;
	o.seconds = seconds;
	o.sets = small_sets;
	o.nsets = NSMALL;
	o.budget = budget;
	o.map_flags = 0;
	o.err = err;
	o.errlen = sizeof(err);
	ck_assert_ptr_nonnull(v);
	ck_assert_msg(ictx_create(inc, &o, &c) == 0, "ictx_create: %s", err);
	return c;
}

static void dump_log(const struct ictx *c)
{
	for (size_t i = 0; i < ictx_log_count(c); i++)
		fprintf(stderr, "  %s\n", ictx_log_at(c, i));
}

/* The i-th thread-safe variant of the registry, or NULL. */
static const struct map_variant *safe_variant(size_t i)
{
	for (size_t k = 0; k < map_variant_count(); k++) {
		const struct map_variant *v = map_variant_at(k);

		if (v->flags & MAP_V_THREADSAFE && i-- == 0)
			return v;
	}
	return NULL;
}

static size_t safe_count(void)
{
	size_t n = 0;

	while (safe_variant(n))
		n++;
	return n;
}

START_TEST(oracle_exact_on_safe_variant)
{
	const struct map_variant *v = safe_variant((size_t)_i);
	struct ictx *c;
	int rc;

	ck_assert_ptr_nonnull(v);
	c = make_ctx(&incident_metrics, v->name, 1.0, 0);
	rc = ictx_run_inprocess(c);
	if (rc || ictx_symptom_value(c, "counter_mismatch", -1) != 0)
		dump_log(c);
	ck_assert_int_eq(rc, 0);
	ck_assert(ictx_symptom_value(c, "counter_mismatch", -1) == 0);
	ck_assert(ictx_symptom_value(c, "lost_updates", -1) == 0);
	ck_assert(ictx_symptom_value(c, "lost_inserts", -1) == 0);
	ck_assert(ictx_symptom_value(c, "invariant_violations", -1) == 0);
	ck_assert(ictx_symptom_value(c, "leaked_bytes", -1) == 0);
	/* The scenario really ran: requests served, walks made, series
	 * created and expired, nothing left in flight. */
	ck_assert_int_gt(ictx_metric_value(c, "ops", 0), 1000);
	ck_assert_int_gt(ictx_metric_value(c, "walks", 0), 0);
	ck_assert_int_gt(ictx_metric_value(c, "rolled_up", 0), 0);
	ck_assert_int_gt(ictx_metric_value(c, "series_created", 0), 2000);
	ck_assert_int_gt(ictx_metric_value(c, "series_expired", 0), 0);
	ck_assert_int_eq(ictx_metric_value(c, "inflight", -1), 0);
	ck_assert_int_eq(ictx_metric_value(c, "dropped", -1), 0);
	ictx_destroy(c);
}
END_TEST

/* ---- planted inconsistencies: a wrapped oracle ------------------------ */

enum plant { PLANT_OVERCOUNT, PLANT_STEAL };
static enum plant plant_mode;
static uint64_t plant_amount;          /* what the plant should show */
static struct counter *stolen;         /* PLANT_STEAL: held past the oracle */
static struct incident planted;        /* incident_metrics + wrapped oracle */

static void planted_oracle(void *state, struct ictx *ctx)
{
	struct mstate *st = state;
	char key[METRICS_KEY_MAX];
	void *v = NULL;
	int klen;

	map_thread_enter(st->map);
	/* Series 0 is the hottest and never expires in 1 s at 20k req/s. */
	klen = metrics_series_key(0, key, sizeof(key));
	ck_assert_int_eq(map_get(st->map, key, (size_t)klen, &v), 0);
	stolen = v;
	if (plant_mode == PLANT_OVERCOUNT) {
		/* An increment no producer applied. */
		atomic_fetch_add(&stolen->count, 1000);
		plant_amount = 1000;
		st->vops.release(stolen, st->vops.ctx);
		stolen = NULL;
	} else {
		/* A legitimate, accounted bump, so the counter holds
		 * something; then the series leaves the map while we keep
		 * its reference: its count is nowhere the oracle looks. */
		atomic_fetch_add(&stolen->count, 5);
		st->pq[0].applied += 5;
		ck_assert_int_eq(map_delete(st->map, key, (size_t)klen), 0);
		atomic_fetch_sub(&st->entries, 1);
		plant_amount = atomic_load(&stolen->count);
	}
	map_thread_exit(st->map);
	incident_metrics.oracle(state, ctx);
	if (stolen) {
		st->vops.release(stolen, st->vops.ctx); /* no leak after */
		stolen = NULL;
	}
}

static void run_planted(enum plant mode)
{
	struct ictx *c;

	planted = incident_metrics;
	planted.oracle = planted_oracle;
	plant_mode = mode;
	c = make_ctx(&planted, "mutex", 0.5, 0);
	ck_assert_int_eq(ictx_run_inprocess(c), 0);
	dump_log(c);
	ck_assert_uint_ge(plant_amount, 5);
	ck_assert(ictx_symptom_value(c, "counter_mismatch", -1) ==
		  (double)plant_amount);
	if (mode == PLANT_OVERCOUNT)
		ck_assert(ictx_symptom_value(c, "lost_updates", -1) == 0);
	else
		ck_assert(ictx_symptom_value(c, "lost_updates", -1) ==
			  (double)plant_amount);
	ck_assert(ictx_symptom_value(c, "invariant_violations", -1) == 0);
	ck_assert(ictx_symptom_value(c, "leaked_bytes", -1) == 0);
	ictx_destroy(c);
}

START_TEST(oracle_catches_overcount)
{
	run_planted(PLANT_OVERCOUNT);
}
END_TEST

START_TEST(oracle_catches_stolen_counter)
{
	run_planted(PLANT_STEAL);
}
END_TEST

/* ---- variant-specific checks ------------------------------------------- */

START_TEST(syncmap_publishes_promotions)
{
	struct ictx *c = make_ctx(&incident_metrics, "syncmap", 1.0, 0);

	ck_assert_int_eq(ictx_run_inprocess(c), 0);
	/* New series keep arriving, so walks find the dirty map amended
	 * and promote it, and the next new series rebuilds it. */
	ck_assert_int_gt(ictx_metric_value(c, "promotions", 0), 0);
	ck_assert_int_gt(ictx_metric_value(c, "dirty_copied", 0), 0);
	ck_assert(ictx_symptom_value(c, "counter_mismatch", -1) == 0);
	ictx_destroy(c);
}
END_TEST

/* The unsafe map under 8 racing producers and a fast-growing table: a
 * crash, or the oracle finds damage.  A race is a matter of chance, so up
 * to three runs; one that reproduces is enough.  Each runs in a child: a
 * crash is a result, not a test error.  The context lives in shared
 * memory, so the parent reads the symptoms after the child is gone. */
static const char *const race_sets[] = {
	"rate=40000", "new_series=50000", "initial_series=100",
	"ttl_ms=150", "walk_ms=20",       "req_bytes=256",
};

/* A sanitizer that catches the race ends the child with
 * CK_SANITIZER_EXIT (tests/ck_run.h) before the oracle runs.  The child
 * itself only ever exits 0, so in a sanitizer build that status is a
 * detected memory error or data race: a reproduction. */
static bool unsafe_once(int attempt)
{
	static const char *const names[] = {
		"counter_mismatch", "invariant_violations", "lost_inserts",
		"leaked_bytes"};
	struct ictx_opts o = ICTX_OPTS_INIT;
	char err[ICTX_ERR_LEN] = "";
	struct ictx *c = NULL;
	bool shown = false;
	int status;
	pid_t pid;

	o.variant = "unsafe";
	o.threads = 8;
	o.seed = 42 + (uint64_t)attempt;
	o.seconds = 1.5;
	o.sets = race_sets;
	o.nsets = sizeof(race_sets) / sizeof(race_sets[0]);
	o.budget = 256ull << 20;
	o.err = err;
	o.errlen = sizeof(err);
	ck_assert_msg(ictx_create(&incident_metrics, &o, &c) == 0,
		      "ictx_create: %s", err);
	fflush(NULL);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		ictx_run_inprocess(c);
		_exit(0);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	if (WIFSIGNALED(status)) {
		fprintf(stderr, "unsafe: crashed with signal %d\n",
			WTERMSIG(status));
		shown = true;
	} else if (WEXITSTATUS(status) == CK_SANITIZER_EXIT) {
		fprintf(stderr, "unsafe: sanitizer report (exit %d)\n",
			WEXITSTATUS(status));
		shown = true;
	} else {
		if (WEXITSTATUS(status) != 0)
			fprintf(stderr, "unsafe: child exit %d\n",
				WEXITSTATUS(status));
		for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
			double v = ictx_symptom_value(c, names[i], 0);

			fprintf(stderr, "unsafe: %s = %.0f\n", names[i], v);
			shown = shown || v > 0;
		}
		shown = shown || ictx_status(c)->budget_oom;
	}
	ictx_destroy(c);
	return shown;
}

START_TEST(unsafe_reproduces)
{
	bool shown = false;

	for (int attempt = 0; attempt < 3 && !shown; attempt++)
		shown = unsafe_once(attempt);
	ck_assert_msg(shown, "unsafe ran clean three times");
}
END_TEST

START_TEST(bad_set_rejected)
{
	char err[ICTX_ERR_LEN];

	ck_assert_int_eq(ictx_check_set(&incident_metrics, "rate=0", err,
					sizeof(err)),
			 -EINVAL);
	ck_assert_int_eq(ictx_check_set(&incident_metrics, "walk_ms=1.5", err,
					sizeof(err)),
			 -EINVAL);
	ck_assert_int_eq(ictx_check_set(&incident_metrics, "nosuch=1", err,
					sizeof(err)),
			 -EINVAL);
	ck_assert_int_eq(ictx_check_set(&incident_metrics, "zipf_s=1.5", err,
					sizeof(err)),
			 0);
	ck_assert_int_eq(ictx_check_set(&incident_metrics, "ttl_ms=0", err,
					sizeof(err)),
			 0);
}
END_TEST

static Suite *metrics_suite(void)
{
	Suite *s = suite_create("incident_metrics");
	TCase *tc = tcase_create("oracle");

	tcase_set_timeout(tc, 30);
	if (safe_count())
		tcase_add_loop_test(tc, oracle_exact_on_safe_variant, 0,
				    (int)safe_count());
	if (map_variant_find("mutex")) {
		tcase_add_test(tc, oracle_catches_overcount);
		tcase_add_test(tc, oracle_catches_stolen_counter);
	}
	tcase_add_test(tc, bad_set_rejected);
	suite_add_tcase(s, tc);

	tc = tcase_create("variants");
	tcase_set_timeout(tc, 30);
	if (map_variant_find("syncmap"))
		tcase_add_test(tc, syncmap_publishes_promotions);
	if (map_variant_find("unsafe"))
		tcase_add_test(tc, unsafe_reproduces);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return ck_run(metrics_suite());
}

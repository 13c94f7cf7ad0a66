/*
 * tests/check_incident_payment.c - This file contains the tests of the
 * payment incident (incidents/payment/), run in-process through
 * harness/runtime/ictx.h at a small size:
 *   - the oracle is exact on the thread-safe variants (mutex, sharded, rcu
 *     when registered): no lost insert/delete/update, no double settle, no
 *     invariant violation, no unreachable or leaked byte, every accepted
 *     notification handled, settled orders evicted, redeliveries ignored;
 *   - the oracle catches inconsistencies planted here (never in the
 *     incident) by wrapping its oracle: an order deleted behind the
 *     incident's back (a lost insert), an order filed under a foreign key
 *     (an invariant violation);
 *   - the unsafe variant with the detector dies with Go's message (a
 *     forked child, exit status 2); without it, it reproduces: it crashes
 *     or its oracle reports a symptom (forked children; up to three
 *     attempts, since a race may, rarely, leave no trace in one run);
 *   - a bad parameter combination is refused by setup, out-of-range values
 *     by ictx_create.
 * No test asserts a speed: the machine is shared and loaded.
 */
#include <check.h>
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness/runtime/ictx.h"
#include "incidents/payment/payment.h"
#include "maps/alloc.h"
#include "maps/map.h"
#include "tests/ck_run.h"

/* Small: a few thousand orders, frequent sweeps, a short TTL. */
static const char *const small_sets[] = {
	"rate=6000",   "open=3000",        "ttl_ms=50",
	"sweep_ms=40", "payload_min=256",  "payload_max=1024",
	"dup_pct=30",  "warm_pct=50",
};
#define NSMALL (sizeof(small_sets) / sizeof(small_sets[0]))

static struct ictx *make_ctx(const struct incident *inc, const char *variant,
			     double seconds, unsigned flags,
			     const char *const *sets, size_t nsets)
{
	struct ictx_opts o = ICTX_OPTS_INIT;
	struct ictx *c = NULL;
	char err[ICTX_ERR_LEN] = "";

	o.variant = variant;
	o.threads = 4;
	o.seed = 7;
	o.seconds = seconds;
	o.sets = sets;
	o.nsets = nsets;
	o.map_flags = flags;
	o.budget = 256ull << 20;
	o.no_telemetry = true;
	o.err = err;
	o.errlen = sizeof(err);
	ck_assert_msg(ictx_create(inc, &o, &c) == 0, "ictx_create: %s", err);
	return c;
}

static void dump_log(const struct ictx *c)
{
	for (size_t i = 0; i < ictx_log_count(c); i++)
		fprintf(stderr, "  %s\n", ictx_log_at(c, i));
}

static double sym(const struct ictx *c, const char *name)
{
	return ictx_symptom_value(c, name, -1);
}

/* ---- the oracle is exact on correct maps --------------------------- */

static void check_clean(const char *variant)
{
	struct ictx *c;
	int rc;

	if (!map_variant_find(variant))
		return; /* not registered in this build */
	c = make_ctx(&incident_payment, variant, 1.0, 0, small_sets, NSMALL);
	rc = ictx_run_inprocess(c);
	if (rc || sym(c, "lost_inserts") != 0)
		dump_log(c);
	ck_assert_int_eq(rc, 0);
	ck_assert(sym(c, "lost_inserts") == 0);
	ck_assert(sym(c, "lost_deletes") == 0);
	ck_assert(sym(c, "lost_updates") == 0);
	ck_assert(sym(c, "double_settles") == 0);
	ck_assert(sym(c, "invariant_violations") == 0);
	ck_assert(sym(c, "unreachable_bytes") == 0);
	ck_assert(sym(c, "leaked_bytes") == 0);
	/* work really happened, and all of it was handled */
	ck_assert_int_gt(ictx_metric_value(c, "ops", 0), 1000);
	ck_assert_int_eq(ictx_metric_value(c, "ops", -1),
			 ictx_metric_value(c, "arrivals", -2) -
				 ictx_metric_value(c, "dropped", -3));
	ck_assert_int_eq(ictx_metric_value(c, "inflight", -1), 0);
	ck_assert_int_eq(ictx_metric_value(c, "queue_bytes", -1), 0);
	ck_assert_int_eq(ictx_metric_value(c, "dropped", -1), 0);
	/* settled orders were evicted, each once; redeliveries were seen
	 * and ignored; the incident's count matches the map's */
	ck_assert_int_gt(ictx_metric_value(c, "settled", 0), 100);
	ck_assert_int_eq(ictx_metric_value(c, "evicted", -1),
			 ictx_metric_value(c, "settled", -2));
	ck_assert_int_gt(ictx_metric_value(c, "redeliveries", 0), 0);
	ck_assert_int_eq(ictx_metric_value(c, "entries", -1),
			 ictx_metric_value(c, "map_len", -2));
	ck_assert_int_eq(ictx_metric_value(c, "stale", -1), 0);
	ck_assert_int_eq(ictx_metric_value(c, "corrupt_seen", -1), 0);
	ck_assert_int_gt(ictx_metric_value(c, "sweeps", 0), 1);
	ictx_destroy(c);
}

START_TEST(test_oracle_mutex)
{
	check_clean("mutex");
}
END_TEST

START_TEST(test_oracle_sharded)
{
	check_clean("sharded");
}
END_TEST

START_TEST(test_oracle_rcu)
{
	check_clean("rcu");
}
END_TEST

/* ---- planted inconsistencies --------------------------------------- */

struct first_key {
	char key[64];
	size_t klen;
};

static int grab_first(const void *key, size_t klen, void *val, void *arg)
{
	struct first_key *f = arg;

	(void)val;
	if (klen > sizeof(f->key))
		return 0;
	memcpy(f->key, key, klen);
	f->klen = klen;
	return 1;
}

/* One cached order deleted behind the incident's back: the ledger still
 * expects it, so the oracle must report exactly one lost insert. */
static void oracle_lose_one(void *state, struct ictx *ctx)
{
	struct map *m = payment_test_map(state);
	struct first_key f = {.klen = 0};

	ck_assert_ptr_nonnull(m);
	map_thread_enter(m);
	ck_assert_int_eq(map_range(m, grab_first, &f), 1);
	ck_assert_int_eq(map_delete(m, f.key, f.klen), 0);
	map_thread_exit(m);
	incident_payment.oracle(state, ctx);
}

/* A cached order also filed under a key that is not its own. */
static void oracle_misfile_one(void *state, struct ictx *ctx)
{
	struct map *m = payment_test_map(state);
	struct first_key f = {.klen = 0};
	void *v = NULL;

	ck_assert_ptr_nonnull(m);
	map_thread_enter(m);
	ck_assert_int_eq(map_range(m, grab_first, &f), 1);
	ck_assert_int_eq(map_get(m, f.key, f.klen, &v), 0);
	/* the map takes the reference map_get handed us */
	ck_assert_int_eq(map_put(m, "ord-planted-by-test", 19, v), 0);
	map_thread_exit(m);
	incident_payment.oracle(state, ctx);
}

static void run_planted(void (*oracle)(void *, struct ictx *),
			const char *symptom, double want)
{
	struct incident inc = incident_payment;
	struct ictx *c;

	inc.oracle = oracle;
	c = make_ctx(&inc, "mutex", 0.5, 0, small_sets, NSMALL);
	ck_assert_int_eq(ictx_run_inprocess(c), 0);
	ck_assert_msg(sym(c, symptom) == want, "%s = %g, want %g", symptom,
		      sym(c, symptom), want);
	/* nothing else was planted */
	ck_assert(sym(c, "double_settles") == 0);
	ck_assert(sym(c, "leaked_bytes") == 0);
	ictx_destroy(c);
}

START_TEST(test_planted_lost_insert)
{
	run_planted(oracle_lose_one, "lost_inserts", 1);
}
END_TEST

START_TEST(test_planted_misfiled)
{
	run_planted(oracle_misfile_one, "invariant_violations", 1);
}
END_TEST

/* ---- the detector: Go's fatal error -------------------------------- */

START_TEST(test_unsafe_detector)
{
	static const char *const sets[] = {"rate=20000", "open=20000",
					   "payload_min=64",
					   "payload_max=256"};
	char buf[512] = "", tmp[512];
	int fds[2], status;
	ssize_t n, got = 0;
	pid_t pid;

	if (!map_variant_find("unsafe"))
		return;
	ck_assert_int_eq(pipe(fds), 0);
	fflush(NULL);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		struct ictx *c;

		dup2(fds[1], STDERR_FILENO);
		close(fds[0]);
		c = make_ctx(&incident_payment, "unsafe", 4.0, MAP_F_DETECT,
			     sets, sizeof(sets) / sizeof(sets[0]));
		ictx_run_inprocess(c);
		_exit(0); /* survived: the detector never fired */
	}
	close(fds[1]);
	/* Read to EOF, keeping the first bytes: closing the pipe once buf is
	 * full kills a child still writing (other threads' fatal errors, a
	 * TSan report) with SIGPIPE before its exit status 2. */
	while ((n = read(fds[0], tmp, sizeof(tmp))) > 0) {
		size_t keep = sizeof(buf) - 1 - (size_t)got;

		keep = (size_t)n < keep ? (size_t)n : keep;
		memcpy(buf + got, tmp, keep);
		got += (ssize_t)keep;
	}
	close(fds[0]);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 2,
		      "child status 0x%x, stderr: %s", status, buf);
	ck_assert_msg(strstr(buf, "fatal error: concurrent map") != NULL,
		      "stderr: %s", buf);
}
END_TEST

/* Run unsafe (no detector) in a forked child: 1 when it reproduced (a
 * signal, a nonzero exit, or a symptom), 0 when it ran clean. */
static int unsafe_attempt(uint64_t seed)
{
	static const char *const sets[] = {"rate=15000", "open=20000",
					   "payload_min=256",
					   "payload_max=1024"};
	int status;
	pid_t pid;

	fflush(NULL);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		struct ictx_opts o = ICTX_OPTS_INIT;
		struct ictx *c = NULL;
		char err[ICTX_ERR_LEN] = "";
		int devnull = open("/dev/null", O_WRONLY);
		bool symptom = false;

		if (devnull >= 0)
			dup2(devnull, STDERR_FILENO);
		o.variant = "unsafe";
		o.seed = seed;
		o.seconds = 2.0;
		o.sets = sets;
		o.nsets = sizeof(sets) / sizeof(sets[0]);
		o.budget = 256ull << 20;
		o.no_telemetry = true;
		o.err = err;
		o.errlen = sizeof(err);
		if (ictx_create(&incident_payment, &o, &c))
			_exit(90);
		ictx_run_inprocess(c);
		for (size_t i = 0; i < ictx_symptom_count(c); i++) {
			double v;

			ictx_symptom_at(c, i, NULL, &v);
			symptom |= v > 0;
		}
		_exit(symptom ? 3 : 0);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_msg(!(WIFEXITED(status) && WEXITSTATUS(status) == 90),
		      "ictx_create failed in the child");
	return !(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

START_TEST(test_unsafe_reproduces)
{
	int reproduced = 0;

	if (!map_variant_find("unsafe"))
		return;
	for (uint64_t seed = 1; seed <= 3 && !reproduced; seed++)
		reproduced = unsafe_attempt(seed);
	ck_assert_msg(reproduced, "unsafe ran clean three times");
}
END_TEST

/* ---- bad parameters ------------------------------------------------ */

START_TEST(test_bad_params)
{
	static const char *const bad[] = {"payload_min=4096",
					  "payload_max=1024"};
	struct ictx *c = NULL;
	char err[ICTX_ERR_LEN] = "";

	/* min > max passes the ranges, so setup refuses it */
	c = make_ctx(&incident_payment, "mutex", 0.2, 0, bad, 2);
	ck_assert_int_eq(ictx_run_inprocess(c), -EINVAL);
	ck_assert_int_eq(ictx_status(c)->setup_rc, -EINVAL);
	ictx_destroy(c);

	/* out of the declared range: refused before anything runs */
	ck_assert_int_eq(ictx_check_set(&incident_payment, "rate=0", err,
					sizeof(err)),
			 -EINVAL);
	ck_assert_int_eq(ictx_check_set(&incident_payment, "open=1.5", err,
					sizeof(err)),
			 -EINVAL);
	ck_assert_int_eq(ictx_check_set(&incident_payment, "sweep_ms=250",
					err, sizeof(err)),
			 0);
}
END_TEST

static Suite *payment_suite(void)
{
	Suite *s = suite_create("incident_payment");
	TCase *tc;

	tc = tcase_create("oracle");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_oracle_mutex);
	tcase_add_test(tc, test_oracle_sharded);
	tcase_add_test(tc, test_oracle_rcu);
	suite_add_tcase(s, tc);

	tc = tcase_create("planted");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_planted_lost_insert);
	tcase_add_test(tc, test_planted_misfiled);
	suite_add_tcase(s, tc);

	tc = tcase_create("unsafe");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_unsafe_detector);
	tcase_add_test(tc, test_unsafe_reproduces);
	suite_add_tcase(s, tc);

	tc = tcase_create("params");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_bad_params);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return ck_run(payment_suite());
}

/*
 * tests/check_harness_ictx.c - This file contains the tests of struct ictx
 * (harness/ictx.{h,c}) in-process: parameters and --set validation,
 * metrics, histogram buckets and percentiles, symptoms and log, the
 * in-process run driver (stop after the planned seconds, budget refusal
 * ends the run with -ENOMEM, leaked bytes found after teardown), and the
 * telemetry ring (rows, decimation).  The incidents here are tiny test
 * doubles defined in this file.
 */
#include <check.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness/runtime/ictx.h"
#include "harness/runtime/telemetry.h"
#include "maps/alloc.h"
#include "tests/ck_run.h"

static const struct incident_param t_params[] = {
	{"keys", "keys", "how many keys", 100, 5000, 1, 1e6, true},
	{"rate", "1/s", "arrival rate", 0.5, 2.5, 0, 10, false},
	{.name = NULL}};

struct tstate {
	struct ictx_metric *ops, *gauge;
	struct ictx_hist *lat;
	void *leak;        /* kept past teardown when leak mode */
	void *kept;        /* budget mode: linked blocks */
	int mode;          /* 0 clean, 1 leak, 2 budget */
};

static int t_mode;
static void *t_leaked; /* run_leak: freed by the test after the check */

static int t_setup(struct ictx *ctx, void **state)
{
	struct tstate *s = calloc(1, sizeof(*s));

	if (!s)
		return -ENOMEM;
	s->mode = t_mode;
	s->ops = ictx_metric(ctx, "ops", ICTX_COUNTER);
	s->gauge = ictx_metric(ctx, "inflight", ICTX_GAUGE);
	s->lat = ictx_hist(ctx, "latency");
	*state = s;
	return 0;
}

static void *t_worker(void *arg)
{
	struct ictx *ctx = ((void **)arg)[0];
	struct tstate *s = ((void **)arg)[1];

	while (!ictx_stopping(ctx)) {
		ictx_add(s->ops, 1);
		ictx_hist_record(s->lat, 1000);
	}
	return NULL;
}

static int t_run(void *state, struct ictx *ctx)
{
	struct tstate *s = state;
	void *arg[2] = {ctx, s};
	pthread_t th[2];

	for (int i = 0; i < 2; i++)
		pthread_create(&th[i], NULL, t_worker, arg);
	if (s->mode == 1)
		t_leaked = s->leak = ml_malloc(ML_TAG_OTHER, 12345);
	while (s->mode == 2 && !ictx_stopping(ctx)) {
		void **p = ml_malloc(ML_TAG_PAYLOAD, 1 << 20);

		if (!p)
			break;
		*p = s->kept;
		s->kept = p;
	}
	for (int i = 0; i < 2; i++)
		pthread_join(th[i], NULL);
	ictx_set(s->gauge, 7);
	return 0;
}

static void t_oracle(void *state, struct ictx *ctx)
{
	(void)state;
	ictx_symptom(ctx, "lost_updates", 0);
	ictx_symptom(ctx, "lost_updates", 3); /* last value wins */
	ictx_log(ctx, "oracle ran with keys=%g", ictx_param(ctx, "keys"));
}

static void t_teardown(void *state, struct ictx *ctx)
{
	struct tstate *s = state;

	(void)ctx;
	while (s->kept) {
		void **p = s->kept;

		s->kept = *p;
		ml_free(p);
	}
	free(s);
}

static const struct incident t_inc = {
	.name = "tdouble", .title = "test double", .summary = "test",
	.quick_seconds = 0.3, .full_seconds = 1, .params = t_params,
	.setup = t_setup, .run = t_run, .oracle = t_oracle,
	.teardown = t_teardown};

START_TEST(params_and_sets)
{
	struct ictx_opts o = ICTX_OPTS_INIT;
	const char *sets[] = {"rate=1.25"};
	char err[200] = "";
	struct ictx *c;

	o.variant = "mutex";
	o.sets = sets;
	o.nsets = 1;
	o.err = err;
	o.errlen = sizeof(err);
	ck_assert_int_eq(ictx_create(&t_inc, &o, &c), 0);
	ck_assert(ictx_param(c, "keys") == 100);
	ck_assert(ictx_param(c, "rate") == 1.25);
	ck_assert(ictx_seconds(c) == 0.3);
	ck_assert_uint_eq(ictx_threads(c), ICTX_DEFAULT_THREADS);
	ck_assert_str_eq(ictx_variant(c), "mutex");
	struct stat st;
	ck_assert_int_eq(stat(ictx_workdir(c), &st), 0);
	ck_assert(S_ISDIR(st.st_mode));
	char wd[4096];
	strcpy(wd, ictx_workdir(c));
	ictx_destroy(c);
	ck_assert_int_ne(stat(wd, &st), 0); /* removed */

	o.size = ICTX_SIZE_FULL;
	o.nsets = 0;
	ck_assert_int_eq(ictx_create(&t_inc, &o, &c), 0);
	ck_assert(ictx_param(c, "keys") == 5000);
	ck_assert(ictx_seconds(c) == 1);
	ictx_destroy(c);

	ck_assert_int_eq(ictx_check_set(&t_inc, "keys=10", err, sizeof(err)), 0);
	ck_assert_int_eq(ictx_check_set(&t_inc, "keys=1.5", err, sizeof(err)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "whole"));
	ck_assert_int_eq(ictx_check_set(&t_inc, "keys=0", err, sizeof(err)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "within"));
	ck_assert_int_eq(ictx_check_set(&t_inc, "nope=1", err, sizeof(err)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "known: keys, rate"));
	ck_assert_int_eq(ictx_check_set(&t_inc, "rate=abc", err, sizeof(err)), -EINVAL);
	ck_assert_int_eq(ictx_check_set(&t_inc, "rate", err, sizeof(err)), -EINVAL);
	ck_assert_int_eq(ictx_check_set(&t_inc, "rate=", err, sizeof(err)), -EINVAL);

	sets[0] = "keys=-4";
	o.nsets = 1;
	ck_assert_int_eq(ictx_create(&t_inc, &o, &c), -EINVAL);
	ck_assert_ptr_null(c);
	ck_assert_ptr_nonnull(strstr(err, "keys"));
}
END_TEST

START_TEST(hist_buckets)
{
	struct ictx_hist_snap s;

	for (uint64_t v = 0; v < 100000; v += 7) {
		unsigned b = ictx_hist_bucket_of(v);
		ck_assert_uint_lt(b, ICTX_HIST_BUCKETS);
		ck_assert_uint_le(ictx_hist_bucket_lo(b), v);
		ck_assert_uint_ge(ictx_hist_bucket_hi(b), v);
	}
	ck_assert_uint_lt(ictx_hist_bucket_of(UINT64_MAX), ICTX_HIST_BUCKETS);
	/* relative width <= 12.5% */
	for (unsigned b = 8; b < ICTX_HIST_BUCKETS - 1; b++)
		ck_assert((double)(ictx_hist_bucket_hi(b) - ictx_hist_bucket_lo(b)) <=
			  0.125 * (double)ictx_hist_bucket_lo(b));

	memset(&s, 0, sizeof(s));
	for (uint64_t v = 1; v <= 1000; v++) {
		s.b[ictx_hist_bucket_of(v * 1000)]++;
		s.count++;
	}
	s.max = 1000000;
	uint64_t p50 = ictx_hist_percentile(&s, 0.5);
	uint64_t p99 = ictx_hist_percentile(&s, 0.99);
	ck_assert(p50 >= 500000 && p50 <= 500000 * 1.13);
	ck_assert(p99 >= 990000 && p99 <= 1000000);
	ck_assert_uint_eq(ictx_hist_percentile(&s, 1), 1000000);
}
END_TEST

START_TEST(run_clean)
{
	struct ictx_opts o = ICTX_OPTS_INIT;
	struct telemetry *tel = telemetry_create(1024, 10);
	struct tel_row *rows = calloc(1024, sizeof(*rows));
	struct ictx *c;
	struct ictx_hist_snap hs;
	int64_t ops;
	double t;

	t_mode = 0;
	o.variant = "mutex";
	o.seconds = 0.3;
	ck_assert_ptr_nonnull(tel);
	ck_assert_int_eq(ictx_create(&t_inc, &o, &c), 0);
	ictx_attach_telemetry(c, tel);
	t = (double)ictx_now_ns();
	ck_assert_int_eq(ictx_run_inprocess(c), 0);
	t = ((double)ictx_now_ns() - t) / 1e9;
	ck_assert(t >= 0.29 && t < 20);
	ck_assert_int_eq(ictx_status(c)->phase, ICTX_PHASE_DONE);
	ops = ictx_metric_value(c, "ops", -1);
	ck_assert_int_gt(ops, 0);
	ck_assert_int_eq(ictx_metric_value(c, "inflight", -1), 7);
	ck_assert_int_eq(ictx_metric_value(c, "nothing", -1), -1);
	ck_assert(ictx_hist_snapshot(c, 0, &hs));
	ck_assert_uint_eq(hs.count, (uint64_t)ops);
	ck_assert_uint_eq(ictx_hist_percentile(&hs, 0.99), 1000);
	ck_assert(ictx_symptom_value(c, "lost_updates", -1) == 3);
	ck_assert(ictx_symptom_value(c, "leaked_bytes", -1) == 0);
	ck_assert_uint_eq(ictx_log_count(c), 1);
	ck_assert_ptr_nonnull(strstr(ictx_log_at(c, 0), "keys=100"));
	uint32_t n = telemetry_rows(tel, rows);
	ck_assert_uint_ge(n, 5); /* 300 ms at 10 ms, loaded machine: >= 5 */
	ck_assert(rows[n - 1].t_s > rows[0].t_s);
	ck_assert(rows[n - 1].metric[0] == (double)ops); /* final row exact */
	ck_assert(rows[0].rss_bytes > 0);
	ck_assert(!isnan(rows[0].frag)); /* first row takes mallinfo2 */
	ictx_destroy(c);
	telemetry_destroy(tel);
	free(rows);
}
END_TEST

START_TEST(run_leak)
{
	struct ictx_opts o = ICTX_OPTS_INIT;
	struct ictx *c;

	t_mode = 1;
	o.variant = "mutex";
	o.seconds = 0.1;
	ck_assert_int_eq(ictx_create(&t_inc, &o, &c), 0);
	ck_assert_int_eq(ictx_run_inprocess(c), 0);
	ck_assert(ictx_symptom_value(c, "leaked_bytes", -1) == 12345);
	ml_free(t_leaked); /* LeakSanitizer (make asan) would report it */
	ictx_destroy(c);
}
END_TEST

START_TEST(run_budget)
{
	struct ictx_opts o = ICTX_OPTS_INIT;
	struct ictx *c;
	const struct ictx_status *st;

	t_mode = 2;
	o.variant = "mutex";
	o.seconds = 30; /* the refusal must end it much earlier */
	o.budget = 32u << 20;
	ck_assert_int_eq(ictx_create(&t_inc, &o, &c), 0);
	ck_assert_int_eq(ictx_run_inprocess(c), -ENOMEM);
	st = ictx_status(c);
	ck_assert(st->budget_oom);
	ck_assert(st->budget_hit);
	ck_assert_int_eq(st->oom_tag, ML_TAG_PAYLOAD);
	ck_assert(st->oom_at_s < 25);
	ck_assert(ictx_symptom_value(c, "leaked_bytes", -1) == 0);
	ictx_destroy(c);
}
END_TEST

START_TEST(ring_decimates)
{
	struct telemetry *tel = telemetry_create(16, 10);
	struct tel_row rows[16];
	struct tel_row row = {0};
	uint32_t n, kept = 0;

	for (int i = 0; i < 100; i++)
		if (telemetry_due(tel, false)) {
			row.t_s = i * 0.01 + 0.01;
			telemetry_push(tel, &row, false);
			kept++;
		}
	ck_assert_uint_lt(kept, 100); /* the stride grew */
	n = telemetry_rows(tel, rows);
	ck_assert_uint_ge(n, 8);
	ck_assert_uint_le(n, 16);
	for (uint32_t i = 1; i < n; i++)
		ck_assert(rows[i].t_s > rows[i - 1].t_s);
	ck_assert(rows[0].t_s < 0.02);      /* the start survives */
	ck_assert(rows[n - 1].t_s > 0.8);   /* and the recent past */
	telemetry_destroy(tel);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("harness_ictx");
	TCase *tc = tcase_create("ictx");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, params_and_sets);
	tcase_add_test(tc, hist_buckets);
	tcase_add_test(tc, run_clean);
	tcase_add_test(tc, run_leak);
	tcase_add_test(tc, run_budget);
	tcase_add_test(tc, ring_decimates);
	suite_add_tcase(s, tc);
	return ck_run(s);
}

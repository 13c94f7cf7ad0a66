/*
 * tests/check_rcu.c - This file contains the tests specific to the rcu
 * variant (liburcu's cds_lfht, maps/rcu.c) and to the liburcu glue it
 * shares with syncmap (maps/mlrcu.c): grace-period reclamation (a value
 * the map released is not freed while another thread is inside a
 * read-side section - a walk's or a borrowed read's (map_get_with); it
 * is freed after the barrier), per-thread
 * registration nesting across maps, auto-resize statistics, concurrent
 * lookups during replaces and deletes, and what a range sees.
 *
 * Every test checks the allocator accounting (ml_alloc_live_total back to
 * its baseline after close) and the value reference balance (mt_live() 0).
 * Under ASan a reader touching a reclaimed node or value is a
 * use-after-free report.  Fork mode; concurrent tests have timeouts and a
 * fixed amount of work.
 */
#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "maps/alloc.h"
#include "maps/map.h"
#include "maps/mlrcu.h"
#include "tests/ck_run.h"
#include "tests/maps_stable.h"
#include "tests/maps_testutil.h"

#ifdef CK_UNDER_SANITIZER
#define SCALE 1
#else
#define SCALE 4
#endif

static uint64_t baseline;

static void put(struct map *m, const char *k, uint64_t key, uint64_t ver)
{
	ck_assert_int_eq(map_put(m, k, strlen(k), mt_val_new(key, ver)), 0);
}

static void state(unsigned *depth, int *reg)
{
	int lazy;

	mlrcu_thread_state(depth, reg, &lazy);
}

/* ---- basics and statistics ------------------------------------------------ */

START_TEST(test_stats_and_accounting)
{
	struct map *m;
	struct map_stats st;
	char k[32];
	void *v;
	const int n = 20000;

	m = counted_open("rcu");
	for (int i = 0; i < n; i++) {
		snprintf(k, sizeof(k), "key-%d", i);
		put(m, k, (uint64_t)i, 1);
	}
	for (int i = 0; i < n; i += 2) { /* replace half */
		snprintf(k, sizeof(k), "key-%d", i);
		put(m, k, (uint64_t)i, 2);
	}
	for (int i = 0; i < n; i += 4) /* delete a quarter */ {
		snprintf(k, sizeof(k), "key-%d", i);
		ck_assert_int_eq(map_delete(m, k, strlen(k)), 0);
		ck_assert_int_eq(map_delete(m, k, strlen(k)), -ENOENT);
	}
	for (int i = 1; i < n; i += 4) {
		snprintf(k, sizeof(k), "key-%d", i);
		ck_assert_int_eq(map_get(m, k, strlen(k), &v), 0);
		ck_assert_uint_eq(((struct mt_val *)v)->version, 1);
		mt_val_release(v);
	}
	map_stats(m, &st);
	ck_assert_uint_eq(st.entries, (uint64_t)(n - n / 4));
	ck_assert_uint_eq(map_len(m), (size_t)(n - n / 4));
	ck_assert_uint_eq(st.deferred_frees, (uint64_t)(n / 2 + n / 4));
	/* auto-resize grew the table from 1 bucket; buckets is a power of
	 * two and reflects the doublings */
	ck_assert_uint_gt(st.growths, 0);
	ck_assert_uint_ge(st.buckets, (uint64_t)1 << st.growths);
	ck_assert_uint_eq(st.buckets & (st.buckets - 1), 0);
	ck_assert_uint_gt(st.bytes, 0);
	counted_close(m);
}
END_TEST

/* ---- grace-period reclamation -------------------------------------------- */

struct hold {
	struct map *m;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int inside, go;
	struct mt_val *held;
	long refs_seen;
	const char *variant_for_nesting; /* NULL: hold on m only */
	bool borrowed; /* hold from map_get_with instead of map_range */
	int rc;        /* what the holding call returned */
};

/* Holds the lent value until the main thread says go. */
static void hold_val(struct hold *h, void *val)
{
	pthread_mutex_lock(&h->mu);
	h->held = val; /* borrowed: no retain */
	h->inside = 1;
	pthread_cond_broadcast(&h->cv);
	while (!h->go)
		pthread_cond_wait(&h->cv, &h->mu);
	pthread_mutex_unlock(&h->mu);
	/* Deleted and replaced meanwhile; must still be alive (ASan). */
	mt_val_assert(h->held);
	h->refs_seen = atomic_load(&h->held->refs);
}

static int hold_cb(const void *key, size_t klen, void *val, void *arg)
{
	(void)key;
	(void)klen;
	hold_val(arg, val);
	return 1;
}

/* The same hold from a borrowed read (map_get_with). */
static void hold_get_cb(void *val, void *arg)
{
	hold_val(arg, val);
}

static void *holder(void *arg)
{
	struct hold *h = arg;
	struct map *other = NULL;
	unsigned depth;
	int reg;

	if (h->variant_for_nesting) {
		/* Nesting: enter a second map too, leave it again before
		 * the walk; the thread must stay registered for h->m. */
		ck_assert_int_eq(map_open(h->variant_for_nesting, NULL, &other),
				 0);
		map_thread_enter(other);
	}
	map_thread_enter(h->m);
	if (other) {
		map_thread_exit(other);
		state(&depth, &reg);
		if (depth != 1 || !reg)
			return (void *)1;
	}
	if (h->borrowed)
		h->rc = map_get_with(h->m, "only", 4, hold_get_cb, h);
	else
		h->rc = map_range(h->m, hold_cb, h);
	map_thread_exit(h->m);
	if (other)
		map_close(other);
	return NULL;
}

static void grace_period(const char *variant, const char *nest_with,
			 bool borrowed)
{
	struct map *m;
	struct hold h = {.variant_for_nesting = nest_with,
			 .borrowed = borrowed};
	struct timespec ms20 = {0, 20 * 1000 * 1000};
	struct map_stats st;
	pthread_t t;
	void *ret;

	m = counted_open(variant);
	h.m = m;
	ck_assert_int_eq(pthread_mutex_init(&h.mu, NULL), 0);
	ck_assert_int_eq(pthread_cond_init(&h.cv, NULL), 0);
	put(m, "only", 1, 1);
	ck_assert_int_eq(pthread_create(&t, NULL, holder, &h), 0);
	pthread_mutex_lock(&h.mu);
	while (!h.inside)
		pthread_cond_wait(&h.cv, &h.mu);
	pthread_mutex_unlock(&h.mu);
	/* The walker is inside its read-side section with a borrowed
	 * pointer.  Drop the map's reference: delete, then replace twice. */
	ck_assert_int_eq(map_delete(m, "only", 4), 0);
	put(m, "only", 1, 2);
	put(m, "only", 1, 3);
	map_stats(m, &st);
	ck_assert_uint_ge(st.deferred_frees, 2);
	/* Time for the call_rcu thread to (wrongly) reclaim. */
	nanosleep(&ms20, NULL);
	nanosleep(&ms20, NULL);
	ck_assert_int_eq(mt_live(), 3); /* nothing reclaimed yet */
	pthread_mutex_lock(&h.mu);
	h.go = 1;
	pthread_cond_broadcast(&h.cv);
	pthread_mutex_unlock(&h.mu);
	ck_assert_int_eq(pthread_join(t, &ret), 0);
	ck_assert_ptr_null(ret);
	ck_assert_int_eq(h.rc, borrowed ? 0 : 1);
	ck_assert_int_eq(h.refs_seen, 1); /* still only the map's reference */
	/* After the grace period and the barrier: reclaimed. */
	mlrcu_barrier();
	ck_assert_int_eq(mt_live(), 1);
	counted_close(m);
	pthread_cond_destroy(&h.cv);
	pthread_mutex_destroy(&h.mu);
}

/* Each reclaiming variant holds a value across a delete and two
 * replaces: from a walk, from a walk whose thread entered a second map
 * and left it before the walk, and from a borrowed read (map_get_with's
 * callback runs inside the read-side section, so the value it was lent
 * outlives them until it returns). */
static const struct {
	const char *variant, *nest_with;
	bool borrowed;
} grace_cases[] = {
	{"rcu", NULL, false},     {"syncmap", NULL, false},
	{"rcu", "syncmap", false}, {"syncmap", "rcu", false},
	{"rcu", NULL, true},      {"syncmap", NULL, true},
};

START_TEST(test_grace_period)
{
	grace_period(grace_cases[_i].variant, grace_cases[_i].nest_with,
		     grace_cases[_i].borrowed);
}
END_TEST

/* ---- registration nesting ------------------------------------------------- */

START_TEST(test_registration_nesting)
{
	struct map *a, *b;
	unsigned depth;
	int reg;
	void *v;

	baseline = ml_alloc_live_total();
	ck_assert_int_eq(map_open("rcu", NULL, &a), 0);
	ck_assert_int_eq(map_open("syncmap", NULL, &b), 0);
	state(&depth, &reg);
	ck_assert_uint_eq(depth, 0);
	ck_assert_int_eq(reg, 0);
	map_thread_enter(a);
	map_thread_enter(b);
	map_thread_enter(a); /* the same map twice nests too */
	state(&depth, &reg);
	ck_assert_uint_eq(depth, 3);
	ck_assert_int_eq(reg, 1);
	map_thread_exit(a);
	map_thread_exit(b);
	state(&depth, &reg);
	ck_assert_uint_eq(depth, 1);
	ck_assert_int_eq(reg, 1);
	ck_assert_int_eq(map_put(a, "k", 1, (void *)1), 0);
	ck_assert_int_eq(map_get(a, "k", 1, &v), 0);
	map_thread_exit(a);
	state(&depth, &reg);
	ck_assert_uint_eq(depth, 0);
	ck_assert_int_eq(reg, 0);
	/* repeated cycles register and unregister cleanly */
	for (int i = 0; i < 1000; i++) {
		map_thread_enter(i & 1 ? a : b);
		ck_assert_int_eq(map_get(a, "k", 1, &v), 0);
		map_thread_exit(i & 1 ? a : b);
	}
	state(&depth, &reg);
	ck_assert_uint_eq(depth, 0);
	ck_assert_int_eq(reg, 0);
	map_close(a);
	map_close(b);
	ck_assert_uint_eq(ml_alloc_live_total(), baseline);
}
END_TEST

/* Misuse is loud: one exit too many aborts. */
START_TEST(test_exit_without_enter_aborts)
{
	struct map *a;

	ck_assert_int_eq(map_open("rcu", NULL, &a), 0);
	map_thread_enter(a);
	map_thread_exit(a);
	map_thread_exit(a);
}
END_TEST

/* A thread that never entered is registered lazily and unregistered when
 * it exits (otherwise liburcu would keep its dead TLS in the registry). */
static void *no_enter(void *arg)
{
	struct map *m = arg;
	unsigned depth;
	int reg, lazy;
	void *v;

	if (map_get(m, "a", 1, &v) != 0)
		return (void *)1;
	mt_val_release(v);
	mlrcu_thread_state(&depth, &reg, &lazy);
	if (depth != 0 || !reg || !lazy)
		return (void *)1;
	return NULL;
}

START_TEST(test_lazy_registration)
{
	struct map *m;
	pthread_t t;
	void *ret;

	m = counted_open("rcu");
	put(m, "a", 1, 1);
	for (int i = 0; i < 50; i++) {
		ck_assert_int_eq(pthread_create(&t, NULL, no_enter, m), 0);
		ck_assert_int_eq(pthread_join(t, &ret), 0);
		ck_assert_ptr_null(ret);
		/* the dead thread is out of liburcu's registry: a grace
		 * period (the barrier) completes */
		put(m, "a", 1, (uint64_t)i + 2);
		mlrcu_barrier();
		ck_assert_int_eq(mt_live(), 1);
	}
	counted_close(m);
}
END_TEST

/* ---- concurrent lookups during replaces and deletes ------------------------ */

/* STABLE, stable_key, stable_fill and stable_run: tests/maps_stable.h */

START_TEST(test_concurrent_lookups)
{
	struct map *m = counted_open("rcu");

	stable_fill(m);
	stable_run(m, 20000 * SCALE, true);
	ck_assert_uint_eq(map_len(m), STABLE + 2 * STABLE_CHURN_LEFT);
	counted_close(m);
}
END_TEST

/* ---- what a range sees -------------------------------------------------------- */

START_TEST(test_range_sees_each_stable_key_once)
{
	struct map *m = counted_open("rcu");

	stable_fill(m);
	stable_range_run(m, 300 * SCALE, 20000 * SCALE, true);
	ck_assert_uint_eq(map_len(m), STABLE + STABLE_CHURN_LEFT);
	counted_close(m);
}
END_TEST

static Suite *rcu_suite(void)
{
	Suite *s = suite_create("rcu");
	TCase *tc = tcase_create("basic");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_stats_and_accounting);
	tcase_add_test(tc, test_registration_nesting);
	tcase_add_test_raise_signal(tc, test_exit_without_enter_aborts,
				    SIGABRT);
	suite_add_tcase(s, tc);
	tc = tcase_create("concurrent");
	tcase_set_timeout(tc, 120);
	tcase_add_loop_test(tc, test_grace_period, 0,
			    (int)(sizeof(grace_cases) / sizeof(grace_cases[0])));
	tcase_add_test(tc, test_lazy_registration);
	tcase_add_test(tc, test_concurrent_lookups);
	tcase_add_test(tc, test_range_sees_each_stable_key_once);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return ck_run(rcu_suite());
}

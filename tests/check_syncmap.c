/*
 * tests/check_syncmap.c - This file contains the tests specific to the syncmap
 * variant (Go's pre-1.24 sync.Map, maps/syncmap.c): exact promotion /
 * dirty-copy / miss / expunge counts after a scripted sequence, concurrent
 * loads during stores, range with concurrent and re-entrant stores, and
 * map_get_with counted as a Load.  Grace-period reclamation under a walker that
 * holds a borrowed value is tested for both RCU-reclaimed variants in
 * tests/check_rcu.c (grace_period("syncmap", ...)).  The generic behaviour is
 * covered by the conformance suites (tests/check_maps*.c).
 *
 * Every test checks the allocator accounting (ml_alloc_live_total back to
 * its baseline after close) and the value reference balance (mt_live() 0
 * after close): counted_open/counted_close, tests/maps_stable.h.  Run under ASan, a reader touching a reclaimed value or
 * entry is a use-after-free report.  Fork mode; concurrent tests have
 * timeouts and fixed amounts of work (no timing assertions).
 */
#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "maps/map.h"
#include "tests/ck_run.h"
#include "tests/maps_stable.h"
#include "tests/maps_testutil.h"

#ifdef CK_UNDER_SANITIZER
#define SCALE 1
#else
#define SCALE 4
#endif

static void put(struct map *m, const char *k, uint64_t key, uint64_t ver)
{
	ck_assert_int_eq(map_put(m, k, strlen(k), mt_val_new(key, ver)), 0);
}

static void expect(struct map *m, const char *k, uint64_t key, uint64_t ver)
{
	void *v;

	ck_assert_int_eq(map_get(m, k, strlen(k), &v), 0);
	ck_assert_uint_eq(((struct mt_val *)v)->key, key);
	ck_assert_uint_eq(((struct mt_val *)v)->version, ver);
	mt_val_release(v);
}

static void expect_stats(struct map *m, uint64_t prom, uint64_t copied,
			 uint64_t misses, uint64_t expunged, int step)
{
	struct map_stats st;

	map_stats(m, &st);
	ck_assert_msg(st.promotions == prom && st.dirty_copied == copied &&
			      st.misses == misses && st.expunged == expunged,
		      "after step %d: promotions %llu copied %llu misses %llu "
		      "expunged %llu, want %llu %llu %llu %llu",
		      step, (unsigned long long)st.promotions,
		      (unsigned long long)st.dirty_copied,
		      (unsigned long long)st.misses,
		      (unsigned long long)st.expunged,
		      (unsigned long long)prom, (unsigned long long)copied,
		      (unsigned long long)misses,
		      (unsigned long long)expunged);
}

static int count_cb(const void *key, size_t klen, void *val, void *arg)
{
	(void)key;
	(void)klen;
	mt_val_assert(val);
	(*(int *)arg)++;
	return 0;
}

/*
 * The expected counts follow Go 1.19-1.23 src/sync/map.go step by step
 * (read = R, dirty = D, m.misses = n):
 *  1 Store a,b,c: a is new and D == nil -> dirtyLocked copies R (empty):
 *    copied 0; R amended; D = {a,b,c}.  Stores never count misses.
 *  2 Load a,b,c: each misses R while amended -> missLocked: n = 1, 2, 3;
 *    at 3 >= len(D) = 3, promotion #1: R = {a,b,c}, D = nil, n = 0.
 *  3 Load a: hit in R, no miss.
 *  4 Delete b: in R -> entry CASed to nil, no lock, no miss.
 *  5 Store d: new, D == nil -> dirtyLocked: b (nil) expunged (1), a and c
 *    copied (2); D = {a,c,d}.
 *  6 Store b: in R but expunged -> locked path unexpunges it into D:
 *    D = {a,c,d,b}.  No miss.
 *  7 Load d: miss, n = 1 < 4 (misses 4).
 *  8 Delete d: only in D -> removed from D (len 3), miss n = 2 < 3
 *    (misses 5).
 *  9 Load zz (absent): miss n = 3 >= 3 -> promotion #2 (misses 6):
 *    R = {a,c,b}.
 * 10 Range: not amended -> no promotion; sees a, b, c.
 * 11 Delete a: in R -> nil.
 * 12 Store e: dirtyLocked: a expunged (2), b and c copied (4);
 *    D = {b,c,e}.
 * 13 Range: amended -> promotion #3; sees b, c, e.
 * 14 LoadOrStore b: clean hit in R -> loaded, no lock, no miss.
 * 15 LoadOrStore f: new, D == nil -> dirtyLocked copies b,c,e (7).
 * 16 LoadOrStore f: in D only -> loaded, and LoadOrStore counts a miss
 *    there (n = 1 < 4; misses 7).
 * 17 Store g: new key, amended -> into D, no miss.
 * 18 Store c: in R -> lock-free swap, nothing counted.
 * Final: promotions 3, dirty_copied 7, misses 7, expunged 2, len 5.
 */
START_TEST(test_scripted_counts)
{
	struct map *m = counted_open("syncmap");
	struct mt_val *nv;
	void *v, *ex;
	int seen;

	put(m, "a", 1, 1);
	put(m, "b", 2, 1);
	put(m, "c", 3, 1);
	expect_stats(m, 0, 0, 0, 0, 1);
	expect(m, "a", 1, 1);
	expect(m, "b", 2, 1);
	expect_stats(m, 0, 0, 2, 0, 2);
	expect(m, "c", 3, 1);
	expect_stats(m, 1, 0, 3, 0, 2);
	expect(m, "a", 1, 1);
	expect_stats(m, 1, 0, 3, 0, 3);
	ck_assert_int_eq(map_delete(m, "b", 1), 0);
	expect_stats(m, 1, 0, 3, 0, 4);
	put(m, "d", 4, 1);
	expect_stats(m, 1, 2, 3, 1, 5);
	put(m, "b", 2, 2);
	expect_stats(m, 1, 2, 3, 1, 6);
	expect(m, "d", 4, 1);
	expect_stats(m, 1, 2, 4, 1, 7);
	ck_assert_int_eq(map_delete(m, "d", 1), 0);
	expect_stats(m, 1, 2, 5, 1, 8);
	ck_assert_int_eq(map_get(m, "zz", 2, &v), -ENOENT);
	expect_stats(m, 2, 2, 6, 1, 9);
	seen = 0;
	ck_assert_int_eq(map_range(m, count_cb, &seen), 0);
	ck_assert_int_eq(seen, 3);
	expect_stats(m, 2, 2, 6, 1, 10);
	ck_assert_int_eq(map_delete(m, "a", 1), 0);
	put(m, "e", 5, 1);
	expect_stats(m, 2, 4, 6, 2, 12);
	seen = 0;
	ck_assert_int_eq(map_range(m, count_cb, &seen), 0);
	ck_assert_int_eq(seen, 3);
	expect_stats(m, 3, 4, 6, 2, 13);
	nv = mt_val_new(2, 9);
	ck_assert_int_eq(map_put_if_absent(m, "b", 1, nv, &ex), -EEXIST);
	ck_assert_uint_eq(((struct mt_val *)ex)->version, 2);
	mt_val_release(ex);
	mt_val_release(nv);
	expect_stats(m, 3, 4, 6, 2, 14);
	ck_assert_int_eq(map_put_if_absent(m, "f", 1, mt_val_new(6, 1), &ex),
			 0);
	ck_assert_ptr_null(ex);
	expect_stats(m, 3, 7, 6, 2, 15);
	nv = mt_val_new(6, 9);
	ck_assert_int_eq(map_put_if_absent(m, "f", 1, nv, &ex), -EEXIST);
	ck_assert_uint_eq(((struct mt_val *)ex)->version, 1);
	mt_val_release(ex);
	mt_val_release(nv);
	expect_stats(m, 3, 7, 7, 2, 16);
	put(m, "g", 7, 1);
	put(m, "c", 3, 2);
	expect_stats(m, 3, 7, 7, 2, 18);
	ck_assert_uint_eq(map_len(m), 5);
	expect(m, "b", 2, 2);
	expect(m, "c", 3, 2);
	expect(m, "e", 5, 1);
	ck_assert_int_eq(map_get(m, "a", 1, &v), -ENOENT);
	ck_assert_int_eq(map_get(m, "d", 1, &v), -ENOENT);
	counted_close(m);
}
END_TEST

/* map_get_with is Go's Load with a callback in place of the retain: it
 * counts misses and promotes exactly as Load does, and its callback runs
 * after the miss path has let go of mu (a store from the callback, which
 * needs mu, would otherwise deadlock: the tcase timeout). */
struct sm_peek {
	struct map *m;
	uint64_t key;
	int calls, rc_put;
};

static void sm_peek_cb(void *val, void *arg)
{
	struct sm_peek *p = arg;

	mt_val_assert(val);
	ck_assert_uint_eq(((struct mt_val *)val)->key, p->key);
	p->calls++;
	if (p->m)
		p->rc_put = map_put(p->m, "e", 1, mt_val_new(5, 1));
}

START_TEST(test_get_with_is_a_load)
{
	struct map *m = counted_open("syncmap");
	struct sm_peek p = {0};

	put(m, "a", 1, 1);
	put(m, "b", 2, 1);
	put(m, "c", 3, 1);
	p.key = 1;
	ck_assert_int_eq(map_get_with(m, "a", 1, sm_peek_cb, &p), 0);
	p.key = 2;
	ck_assert_int_eq(map_get_with(m, "b", 1, sm_peek_cb, &p), 0);
	expect_stats(m, 0, 0, 2, 0, 1);
	p.key = 3;
	ck_assert_int_eq(map_get_with(m, "c", 1, sm_peek_cb, &p), 0);
	expect_stats(m, 1, 0, 3, 0, 2); /* promotion, as Load's */
	ck_assert_int_eq(map_get_with(m, "zz", 2, sm_peek_cb, &p), -ENOENT);
	ck_assert_int_eq(p.calls, 3);
	/* d only in dirty: the lookup takes mu; the callback stores. */
	put(m, "d", 4, 1);
	p.key = 4;
	p.m = m;
	ck_assert_int_eq(map_get_with(m, "d", 1, sm_peek_cb, &p), 0);
	ck_assert_int_eq(p.rc_put, 0);
	ck_assert_int_eq(p.calls, 4);
	expect(m, "e", 5, 1);
	ck_assert_uint_eq(map_len(m), 5);
	counted_close(m);
}
END_TEST

/* The O(n) rebuild: after a promotion, one new key copies every live key
 * of the read map; a second new key copies nothing more. */
START_TEST(test_rebuild_is_the_copy)
{
	struct map *m = counted_open("syncmap");
	struct map_stats st;
	char k[32];
	void *v;
	const int n = 1000;

	for (int i = 0; i < n; i++) {
		snprintf(k, sizeof(k), "k%d", i);
		put(m, k, (uint64_t)i, 1);
	}
	for (int i = 0; i < n; i++) { /* n misses: promotion */
		snprintf(k, sizeof(k), "k%d", i);
		ck_assert_int_eq(map_get(m, k, strlen(k), &v), 0);
		mt_val_release(v);
	}
	map_stats(m, &st);
	ck_assert_uint_eq(st.promotions, 1);
	ck_assert_uint_eq(st.dirty_copied, 0);
	put(m, "new1", 5000, 1);
	map_stats(m, &st);
	ck_assert_uint_eq(st.dirty_copied, (uint64_t)n);
	put(m, "new2", 5001, 1);
	map_stats(m, &st);
	ck_assert_uint_eq(st.dirty_copied, (uint64_t)n);
	ck_assert_uint_eq(st.promotions, 1);
	ck_assert_uint_eq(map_len(m), (size_t)n + 2);
	counted_close(m);
}
END_TEST

/* ---- concurrent loads during stores ------------------------------------ */

/* STABLE, stable_key, stable_fill and stable_run: tests/maps_stable.h */

START_TEST(test_concurrent_loads_during_stores)
{
	struct map *m = counted_open("syncmap");
	struct map_stats st;

	stable_fill(m);
	stable_run(m, 20000 * SCALE, false);
	map_stats(m, &st);
	/* The churn made the algorithm work: reads fell through, dirty maps
	 * were rebuilt and promoted. */
	ck_assert_uint_gt(st.promotions, 0);
	ck_assert_uint_gt(st.dirty_copied, 0);
	ck_assert_uint_gt(st.misses, 0);
	ck_assert_uint_eq(map_len(m), STABLE + 2 * STABLE_CHURN_LEFT);
	counted_close(m);
}
END_TEST

/* ---- range with concurrent and re-entrant stores --------------------------- */

START_TEST(test_range_with_concurrent_stores)
{
	struct map *m = counted_open("syncmap");

	stable_fill(m);
	stable_range_run(m, 300 * SCALE, 20000 * SCALE, false);
	ck_assert_uint_eq(map_len(m), STABLE + STABLE_CHURN_LEFT);
	counted_close(m);
}
END_TEST

/* A thread that never called map_thread_enter still works (registered
 * lazily, unregistered at its exit). */
static void *no_enter(void *arg)
{
	struct map *m = arg;
	void *v;

	if (map_get(m, "a", 1, &v) != 0)
		return (void *)1;
	mt_val_release(v);
	if (map_put(m, "b", 1, mt_val_new(2, 1)) != 0)
		return (void *)1;
	return NULL;
}

START_TEST(test_thread_without_enter)
{
	struct map *m = counted_open("syncmap");
	pthread_t t;
	void *ret;

	put(m, "a", 1, 1);
	for (int i = 0; i < 20; i++) {
		ck_assert_int_eq(pthread_create(&t, NULL, no_enter, m), 0);
		ck_assert_int_eq(pthread_join(t, &ret), 0);
		ck_assert_ptr_null(ret);
	}
	ck_assert_uint_eq(map_len(m), 2);
	counted_close(m);
}
END_TEST

static Suite *syncmap_suite(void)
{
	Suite *s = suite_create("syncmap");
	TCase *tc = tcase_create("script");

	tcase_add_test(tc, test_scripted_counts);
	tcase_add_test(tc, test_rebuild_is_the_copy);
	tcase_add_test(tc, test_get_with_is_a_load);
	suite_add_tcase(s, tc);
	tc = tcase_create("concurrent");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_concurrent_loads_during_stores);
	tcase_add_test(tc, test_range_with_concurrent_stores);
	tcase_add_test(tc, test_thread_without_enter);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return ck_run(syncmap_suite());
}

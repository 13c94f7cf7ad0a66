/*
 * tests/check_maps.c - This file contains the conformance suite: every
 * registered map variant (maps/variants.def) runs every test here, through
 * Check loop tests indexed by the registry, so a variant added later is
 * covered with no new test code.  Plus tests of the counting allocator and
 * of the core table's own growth machinery.
 *
 * Borrowed reads (map_get_with): called once on a hit and never on a
 * miss, no retain or release, a pointer the callback retains outlives a
 * delete, and re-entry follows the range rules.
 *
 * Fork mode stays on: a crashing variant fails one test, not the suite.
 * Tests that could hang on a deadlock (range re-entry) have timeouts.
 * Under a sanitizer the growth test uses 100,000 keys instead of
 * 1,000,000 (same code paths, fewer doublings), to keep the run short.
 */
#include <check.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "maps/alloc.h"
#include "maps/core.h"
#include "maps/map.h"
#include "tests/ck_run.h"
#include "tests/maps_testutil.h"

#ifdef CK_UNDER_SANITIZER
#define GROWTH_KEYS 100000u
#else
#define GROWTH_KEYS 1000000u
#endif

/* The variants under test (all, or $MAPLAB_VARIANTS), by loop index. */
static size_t sel[64];

static const struct map_variant *variant(int i)
{
	const struct map_variant *v = map_variant_at(sel[i]);

	ck_assert_ptr_nonnull(v);
	return v;
}

static struct map *open_variant(int i, const struct map_config *cfg)
{
	struct map *m = NULL;
	int rc = map_open(variant(i)->name, cfg, &m);

	ck_assert_msg(rc == 0, "map_open(%s): %d", variant(i)->name, rc);
	ck_assert_ptr_nonnull(m);
	map_thread_enter(m);
	return m;
}

static void close_map(struct map *m)
{
	map_thread_exit(m);
	map_close(m);
}

static void assert_check(struct map *m, const char *when)
{
	struct map_check c;
	int rc = map_check(m, &c);

	if (rc == -ENOTSUP)
		return;
	ck_assert_msg(rc == 0, "%s: map_check %d: %" PRIu64 " problems: %s",
		      when, rc, c.problems, c.first);
	ck_assert_uint_eq(c.reachable, c.counted);
}

/* Key i as a short (8-byte) or long (24-byte) key. */
static size_t make_key(char *buf, uint64_t i, bool longkey)
{
	if (longkey)
		return (size_t)snprintf(buf, 32, "long-key-%014" PRIu64, i);
	memcpy(buf, &i, 8);
	return 8;
}

/* Get key, expect value with (key, version); release it. */
static void expect_val(struct map *m, const char *k, size_t kl, uint64_t key,
		       uint64_t version)
{
	void *v = NULL;
	struct mt_val *tv;
	int rc = map_get(m, k, kl, &v);

	ck_assert_msg(rc == 0, "get key %" PRIu64 ": %d", key, rc);
	tv = v;
	mt_val_assert(tv);
	ck_assert_uint_eq(tv->key, key);
	ck_assert_uint_eq(tv->version, version);
	mt_val_release(tv);
}

/* ---- basic operations ----------------------------------------------- */

START_TEST(test_basic)
{
	struct map_config cfg = {.vops = &mt_vops};
	struct map *m = open_variant(_i, &cfg);
	char k[32];
	size_t kl;
	void *v, *ex;
	struct mt_val *nv;
	struct map_stats st;

	ck_assert_uint_eq(map_len(m), 0);
	ck_assert_int_eq(map_get(m, "nope", 4, &v), -ENOENT);
	ck_assert_ptr_null(v);
	ck_assert_int_eq(map_delete(m, "nope", 4), -ENOENT);

	for (uint64_t i = 0; i < 1000; i++) {
		kl = make_key(k, i, i & 1);
		ck_assert_int_eq(map_put(m, k, kl, mt_val_new(i, 1)), 0);
	}
	ck_assert_uint_eq(map_len(m), 1000);
	for (uint64_t i = 0; i < 1000; i++) {
		kl = make_key(k, i, i & 1);
		expect_val(m, k, kl, i, 1);
	}
	/* overwrite: len unchanged, the old value released */
	for (uint64_t i = 0; i < 1000; i += 2) {
		kl = make_key(k, i, i & 1);
		ck_assert_int_eq(map_put(m, k, kl, mt_val_new(i, 2)), 0);
	}
	ck_assert_uint_eq(map_len(m), 1000);
	/* >=: variants with lock-free readers may release after a grace
	 * period; every release has happened by map_close (checked below) */
	ck_assert_int_ge(mt_live(), 1000);
	for (uint64_t i = 0; i < 1000; i++) {
		kl = make_key(k, i, i & 1);
		expect_val(m, k, kl, i, i % 2 == 0 ? 2 : 1);
	}
	/* delete every third */
	for (uint64_t i = 0; i < 1000; i += 3) {
		kl = make_key(k, i, i & 1);
		ck_assert_int_eq(map_delete(m, k, kl), 0);
		ck_assert_int_eq(map_delete(m, k, kl), -ENOENT);
		ck_assert_int_eq(map_get(m, k, kl, &v), -ENOENT);
	}
	ck_assert_uint_eq(map_len(m), 1000 - 334);
	/* put_if_absent on present keys: -EEXIST, existing handed back */
	kl = make_key(k, 1, true);
	nv = mt_val_new(1, 9);
	ck_assert_int_eq(map_put_if_absent(m, k, kl, nv, &ex), -EEXIST);
	ck_assert_ptr_nonnull(ex);
	ck_assert_uint_eq(((struct mt_val *)ex)->version, 1);
	mt_val_release(ex);
	mt_val_release(nv); /* on error the caller still owns it */
	/* ... and on absent ones: stored */
	kl = make_key(k, 3, true);
	ck_assert_int_eq(map_put_if_absent(m, k, kl, mt_val_new(3, 5), &ex), 0);
	ck_assert_ptr_null(ex);
	expect_val(m, k, kl, 3, 5);
	ck_assert_int_eq(map_put_if_absent(m, "pia", 3, mt_val_new(77, 1),
					   NULL), 0);
	ck_assert_uint_eq(map_len(m), 1000 - 334 + 2);
	/* the empty key is a key */
	ck_assert_int_eq(map_put(m, "", 0, mt_val_new(0, 42)), 0);
	expect_val(m, "", 0, 0, 42);
	ck_assert_int_eq(map_delete(m, "", 0), 0);
	map_stats(m, &st);
	ck_assert_uint_eq(st.entries, map_len(m));
	ck_assert_uint_gt(st.bytes, 0);
	assert_check(m, "basic");
	ck_assert_int_ge(mt_live(), (long)map_len(m));
	close_map(m);
	ck_assert_int_eq(mt_live(), 0);
}
END_TEST

/* Borrowed values (no vops): the map never touches them. */
START_TEST(test_borrowed)
{
	struct map *m = open_variant(_i, NULL);
	int a = 1, b = 2;
	void *v;

	ck_assert_int_eq(map_put(m, "a", 1, &a), 0);
	ck_assert_int_eq(map_put(m, "b", 1, &b), 0);
	ck_assert_int_eq(map_get(m, "a", 1, &v), 0);
	ck_assert_ptr_eq(v, &a);
	ck_assert_int_eq(map_put(m, "a", 1, &b), 0);
	ck_assert_int_eq(map_get(m, "a", 1, &v), 0);
	ck_assert_ptr_eq(v, &b);
	close_map(m);
}
END_TEST

/* ---- borrowed reads (map_get_with) ------------------------------------ */

struct lend {
	int calls;
	void *val;        /* what fn was lent */
	long refs_inside; /* the value's refcount while fn ran */
	struct mt_val *kept; /* retained by fn: outlives the call */
	bool keep;
};

static void lend_cb(void *val, void *arg)
{
	struct lend *l = arg;

	l->calls++;
	l->val = val;
	if (val && l->keep) {
		mt_val_assert(val);
		l->refs_inside = atomic_load(&((struct mt_val *)val)->refs);
		mt_vops.retain(val, NULL); /* copy the pointer out: retain */
		l->kept = val;
	} else if (val) {
		l->refs_inside = atomic_load(&((struct mt_val *)val)->refs);
	}
}

/* fn runs once on a hit, never on a miss; nothing is retained or
 * released; a pointer fn retains outlives a delete. */
START_TEST(test_get_with)
{
	struct map_config cfg = {.vops = &mt_vops};
	struct map *m = open_variant(_i, &cfg);
	struct lend l = {0};
	struct mt_val *v1;
	char k[32];
	size_t kl;

	ck_assert_int_eq(map_get_with(m, "nope", 4, lend_cb, &l), -ENOENT);
	ck_assert_int_eq(l.calls, 0);
	for (uint64_t i = 0; i < 2000; i++) {
		kl = make_key(k, i, i & 1);
		ck_assert_int_eq(map_put(m, k, kl, mt_val_new(i, 1)), 0);
	}
	for (uint64_t i = 0; i < 2000; i += 7) {
		memset(&l, 0, sizeof(l));
		kl = make_key(k, i, i & 1);
		ck_assert_int_eq(map_get_with(m, k, kl, lend_cb, &l), 0);
		ck_assert_int_eq(l.calls, 1);
		ck_assert_uint_eq(((struct mt_val *)l.val)->key, i);
		/* only the map's reference, during and after */
		ck_assert_int_eq(l.refs_inside, 1);
		ck_assert_int_eq(atomic_load(&((struct mt_val *)l.val)->refs),
				 1);
	}
	/* overwrite: fn sees the new value */
	kl = make_key(k, 3, true);
	ck_assert_int_eq(map_put(m, k, kl, mt_val_new(3, 2)), 0);
	memset(&l, 0, sizeof(l));
	ck_assert_int_eq(map_get_with(m, k, kl, lend_cb, &l), 0);
	ck_assert_uint_eq(((struct mt_val *)l.val)->version, 2);
	/* copy out by retaining; the pointer survives the delete */
	memset(&l, 0, sizeof(l));
	l.keep = true;
	ck_assert_int_eq(map_get_with(m, k, kl, lend_cb, &l), 0);
	v1 = l.kept;
	ck_assert_int_eq(map_delete(m, k, kl), 0);
	ck_assert_int_eq(map_get_with(m, k, kl, lend_cb, &l), -ENOENT);
	ck_assert_int_eq(l.calls, 1);
	mt_val_assert(v1);
	ck_assert_uint_eq(v1->version, 2);
	mt_val_release(v1);
	/* bad arguments */
	ck_assert_int_eq(map_get_with(NULL, "a", 1, lend_cb, &l), -EINVAL);
	ck_assert_int_eq(map_get_with(m, NULL, 3, lend_cb, &l), -EINVAL);
	ck_assert_int_eq(map_get_with(m, "a", 1, NULL, &l), -EINVAL);
	assert_check(m, "after get_with");
	close_map(m);
	ck_assert_int_eq(mt_live(), 0);
}
END_TEST

static void ptr_cb(void *val, void *arg)
{
	*(void **)arg = val;
}

/* Without value ops fn gets the caller's pointer as stored. */
START_TEST(test_get_with_borrowed)
{
	struct map *m = open_variant(_i, NULL);
	void *seen = NULL;
	int a = 1;

	ck_assert_int_eq(map_put(m, "", 0, &a), 0); /* the empty key */
	ck_assert_int_eq(map_get_with(m, NULL, 0, ptr_cb, &seen), 0);
	ck_assert_ptr_eq(seen, &a);
	close_map(m);
}
END_TEST

/* Re-entry from a get_with callback: the rules of range. */
struct reread {
	struct map *m;
	int rc_get, rc_put, rc_del, rc_range, rc_with;
	size_t len_seen;
	uint64_t entries_seen;
};

static int count_cb(const void *key, size_t klen, void *val, void *arg)
{
	(void)key;
	(void)klen;
	(void)val;
	(*(int *)arg)++;
	return 0;
}

static void noop_cb(void *val, void *arg)
{
	(void)val;
	(void)arg;
}

static void reread_cb(void *val, void *arg)
{
	struct reread *r = arg;
	struct mt_val *nv = mt_val_new(424242, 1);
	struct map_stats st;
	void *v = NULL;
	int n = 0;

	mt_val_assert(val);
	r->rc_get = map_get(r->m, &(uint64_t){1}, 8, &v);
	if (r->rc_get == 0)
		mt_val_release(v);
	r->rc_put = map_put(r->m, "zz-reentry", 10, nv);
	if (r->rc_put != 0)
		mt_val_release(nv); /* not taken */
	r->rc_del = map_delete(r->m, "zz-reentry", 10);
	r->rc_range = map_range(r->m, count_cb, &n);
	r->rc_with = map_get_with(r->m, &(uint64_t){2}, 8, noop_cb, NULL);
	r->len_seen = map_len(r->m);
	map_stats(r->m, &st);
	r->entries_seen = st.entries;
}

START_TEST(test_get_with_reentry)
{
	struct map_config cfg = {.vops = &mt_vops};
	struct map *m = open_variant(_i, &cfg);
	struct reread r = {.m = m};
	int want = (variant(_i)->flags & MAP_V_RANGE_REENTRANT) ? 0 : -EDEADLK;

	for (uint64_t i = 0; i < 100; i++)
		ck_assert_int_eq(map_put(m, &i, 8, mt_val_new(i, 1)), 0);
	ck_assert_int_eq(map_get_with(m, &(uint64_t){5}, 8, reread_cb, &r), 0);
	ck_assert_msg(r.rc_get == want && r.rc_put == want &&
			      r.rc_del == want && r.rc_range == want &&
			      r.rc_with == want,
		      "%s: want %d: get %d put %d del %d range %d get_with %d",
		      variant(_i)->name, want, r.rc_get, r.rc_put, r.rc_del,
		      r.rc_range, r.rc_with);
	ck_assert_uint_eq(r.len_seen, 100);
	ck_assert_uint_eq(r.entries_seen, 100);
	/* the mark is gone: the map works normally afterwards */
	ck_assert_int_eq(map_delete(m, &(uint64_t){5}, 8), 0);
	ck_assert_int_eq(map_get_with(m, &(uint64_t){6}, 8, noop_cb, NULL), 0);
	ck_assert_uint_eq(map_len(m), 99);
	assert_check(m, "after get_with re-entry");
	close_map(m);
	ck_assert_int_eq(mt_live(), 0);
}
END_TEST

/* ---- range ------------------------------------------------------------ */

struct walk {
	uint64_t seen, sum;
	uint64_t stop_after; /* 0 = never */
	bool bad;
};

static int walk_cb(const void *key, size_t klen, void *val, void *arg)
{
	struct walk *w = arg;
	struct mt_val *tv = val;
	uint64_t k;

	mt_val_assert(tv);
	if (klen != 8)
		w->bad = true;
	memcpy(&k, key, 8);
	if (k != tv->key)
		w->bad = true;
	w->seen++;
	w->sum += k;
	if (w->stop_after && w->seen == w->stop_after)
		return 7;
	return 0;
}

START_TEST(test_range)
{
	struct map_config cfg = {.vops = &mt_vops};
	struct map *m = open_variant(_i, &cfg);
	struct walk w = {0};
	const uint64_t n = 5000;
	char k[32];

	ck_assert_int_eq(map_range(m, walk_cb, &w), 0);
	ck_assert_uint_eq(w.seen, 0);
	for (uint64_t i = 0; i < n; i++)
		ck_assert_int_eq(map_put(m, k, make_key(k, i, false),
					 mt_val_new(i, 1)),
				 0);
	ck_assert_int_eq(map_range(m, walk_cb, &w), 0);
	ck_assert(!w.bad);
	ck_assert_uint_eq(w.seen, n);
	ck_assert_uint_eq(w.sum, n * (n - 1) / 2);
	/* early stop: the callback's value comes back */
	memset(&w, 0, sizeof(w));
	w.stop_after = 10;
	ck_assert_int_eq(map_range(m, walk_cb, &w), 7);
	ck_assert_uint_eq(w.seen, 10);
	ck_assert_int_eq(map_range(NULL, walk_cb, &w), -EINVAL);
	ck_assert_int_eq(map_range(m, NULL, &w), -EINVAL);
	close_map(m);
	ck_assert_int_eq(mt_live(), 0);
}
END_TEST

/* Re-entry from a range callback: refused with -EDEADLK unless the variant
 * says MAP_V_RANGE_REENTRANT; never a deadlock (the tcase has a timeout). */
struct reenter {
	struct map *m;
	bool reentrant;
	int fails;
	size_t len_seen;
	char msg[128];
};

static int reenter_cb(const void *key, size_t klen, void *val, void *arg)
{
	struct reenter *r = arg;
	void *v = NULL;
	int rc_get, rc_put, rc_del, rc_range;
	struct mt_val *nv = mt_val_new(999999, 1);
	struct walk w = {0};

	(void)val;
	rc_get = map_get(r->m, key, klen, &v);
	rc_put = map_put(r->m, "zz-reentry", 10, nv);
	if (rc_put != 0)
		mt_val_release(nv); /* not taken */
	rc_del = map_delete(r->m, "zz-reentry", 10);
	rc_range = map_range(r->m, walk_cb, &w);
	r->len_seen = map_len(r->m);
	if (r->reentrant) {
		if (rc_get != 0 || rc_put != 0 || rc_del != 0 || rc_range != 0)
			r->fails++;
		if (rc_get == 0)
			mt_val_release(v);
	} else {
		if (rc_get != -EDEADLK || rc_put != -EDEADLK ||
		    rc_del != -EDEADLK || rc_range != -EDEADLK)
			r->fails++;
		if (v)
			r->fails++;
	}
	if (r->fails && !r->msg[0])
		snprintf(r->msg, sizeof(r->msg), "get %d put %d del %d range %d",
			 rc_get, rc_put, rc_del, rc_range);
	return 1; /* one entry is enough */
}

START_TEST(test_range_reentry)
{
	struct map_config cfg = {.vops = &mt_vops};
	struct map *m = open_variant(_i, &cfg);
	struct reenter r = {.m = m};
	struct map_stats st;

	r.reentrant = (variant(_i)->flags & MAP_V_RANGE_REENTRANT) != 0;
	for (uint64_t i = 0; i < 100; i++)
		ck_assert_int_eq(map_put(m, &i, 8, mt_val_new(i, 1)), 0);
	ck_assert_int_eq(map_range(m, reenter_cb, &r), 1);
	ck_assert_msg(r.fails == 0, "%s re-entry (%s): %s", variant(_i)->name,
		      r.reentrant ? "allowed" : "refused", r.msg);
	ck_assert_uint_eq(r.len_seen, 100);
	/* the map is fine afterwards, the marker is gone */
	ck_assert_uint_eq(map_len(m), 100);
	map_stats(m, &st);
	ck_assert_uint_eq(st.entries, 100);
	ck_assert_int_eq(map_delete(m, &(uint64_t){5}, 8), 0);
	assert_check(m, "after re-entry");
	close_map(m);
	ck_assert_int_eq(mt_live(), 0);
}
END_TEST

/* Two maps of the same variant: a walk of one may use the other. */
struct nested {
	struct map *other;
	int rc;
};

static int nested_cb(const void *key, size_t klen, void *val, void *arg)
{
	struct nested *n = arg;

	(void)val;
	n->rc = map_put(n->other, key, klen, NULL);
	return n->rc;
}

START_TEST(test_range_other_map)
{
	struct map *a = open_variant(_i, NULL), *b;
	struct nested n = {0};

	ck_assert_int_eq(map_open(variant(_i)->name, NULL, &b), 0);
	map_thread_enter(b);
	n.other = b;
	for (uint64_t i = 0; i < 50; i++)
		ck_assert_int_eq(map_put(a, &i, 8, NULL), 0);
	ck_assert_int_eq(map_range(a, nested_cb, &n), 0);
	ck_assert_int_eq(n.rc, 0);
	ck_assert_uint_eq(map_len(b), 50);
	close_map(b);
	close_map(a);
}
END_TEST

/* ---- growth ------------------------------------------------------------ */

START_TEST(test_growth)
{
	struct map *m = open_variant(_i, NULL);
	const uint64_t n = GROWTH_KEYS;
	uint64_t checks = 0, b = 0, bs = 0;
	struct map_stats st;
	void *v;

	for (uint64_t i = 0; i < n; i++) {
		ck_assert_int_eq(map_put(m, &i, 8, (void *)(uintptr_t)(i + 1)),
				 0);
		/* A core table doubles from 2^B buckets when the insert
		 * passes 6.5 * 2^B entries and evacuates over the next
		 * 2^(B-1) inserts: check just after the start and a quarter
		 * into it; and the same for 32 tables of 1/32 the size
		 * each (the sharded layout). */
		if (i + 1 == 13 * (1ull << b) / 2 + 2 ||
		    i + 1 == 13 * (1ull << b) / 2 + (1ull << b) / 4 + 3) {
			assert_check(m, "mid-growth");
			checks++;
			if (i + 1 > 13 * (1ull << b) / 2 + 2)
				b++;
		}
		if (i + 1 == 32 * (13 * (1ull << bs) / 2 + 2) +
				     (1ull << bs) * 4) {
			assert_check(m, "mid-growth (32 tables)");
			checks++;
			bs++;
		}
	}
	ck_assert_uint_ge(checks, 30);
	ck_assert_uint_eq(map_len(m), n);
	map_stats(m, &st);
	ck_assert_uint_eq(st.entries, n);
	for (uint64_t i = 0; i < n; i++) {
		ck_assert_int_eq(map_get(m, &i, 8, &v), 0);
		ck_assert_ptr_eq(v, (void *)(uintptr_t)(i + 1));
	}
	/* delete half, the table stays consistent */
	for (uint64_t i = 0; i < n; i += 2)
		ck_assert_int_eq(map_delete(m, &i, 8), 0);
	ck_assert_uint_eq(map_len(m), n / 2);
	assert_check(m, "after deletes");
	for (uint64_t i = 0; i < n; i++)
		ck_assert_int_eq(map_get(m, &i, 8, &v), i % 2 ? 0 : -ENOENT);
	close_map(m);
}
END_TEST

/* ---- reference balance ----------------------------------------------- */

START_TEST(test_ref_balance)
{
	struct map_config cfg = {.vops = &mt_vops, .capacity_hint = 10};
	struct map *m = open_variant(_i, &cfg);
	char k[32];
	size_t kl;
	void *v, *ex;

	for (uint64_t round = 0; round < 3; round++)
		for (uint64_t i = 0; i < 3000; i++) {
			kl = make_key(k, i, i % 3 == 0);
			ck_assert_int_eq(map_put(m, k, kl,
						 mt_val_new(i, round)),
					 0);
		}
	for (uint64_t i = 0; i < 3000; i += 7) {
		struct mt_val *nv = mt_val_new(i, 100);

		kl = make_key(k, i, i % 3 == 0);
		ck_assert_int_eq(map_put_if_absent(m, k, kl, nv, &ex),
				 -EEXIST);
		mt_val_release(ex);
		mt_val_release(nv);
		ck_assert_int_eq(map_get(m, k, kl, &v), 0);
		mt_val_release(v);
		ck_assert_int_eq(map_delete(m, k, kl), 0);
	}
	/* every value the map holds is alive (others may await a grace
	 * period in lock-free variants) */
	ck_assert_uint_eq(map_len(m), 3000 - 429);
	ck_assert_int_ge(mt_live(), (long)map_len(m));
	close_map(m);
	ck_assert_int_eq(mt_live(), 0);
	ck_assert_uint_eq(mt_created(), 3 * 3000 + 429);
}
END_TEST

/* ---- budget exhaustion ---------------------------------------------- */

START_TEST(test_budget)
{
	struct map_config cfg = {.vops = &mt_vops};
	struct map *m = open_variant(_i, &cfg);
	struct ml_alloc_snapshot snap;
	char k[32];
	size_t kl, before;
	uint64_t i, inserted;
	struct mt_val *nv = NULL;
	void *v;
	int rc = 0;

	for (i = 0; i < 1000; i++) {
		kl = make_key(k, i, true);
		ck_assert_int_eq(map_put(m, k, kl, mt_val_new(i, 1)), 0);
	}
	ml_alloc_set_budget(ml_alloc_live_total() + 64 * 1024);
	for (; i < 2000000; i++) {
		kl = make_key(k, i, true);
		nv = mt_val_new(i, 1);
		before = map_len(m);
		rc = map_put(m, k, kl, nv);
		if (rc)
			break;
		nv = NULL;
	}
	inserted = i;
	ck_assert_msg(rc == -ENOMEM, "%s: no -ENOMEM after %" PRIu64
		      " puts (rc %d)", variant(_i)->name, i, rc);
	ml_alloc_snapshot(&snap);
	ck_assert_uint_gt(snap.failures, 0);
	ck_assert_int_ge(snap.failed_tag, 0);
	ck_assert_int_lt(snap.failed_tag, ML_TAG_COUNT);
	/* intact: nothing half-inserted, the caller still owns nv */
	ck_assert_uint_eq(map_len(m), before);
	ck_assert_uint_eq(map_len(m), inserted);
	ck_assert_int_eq(map_get(m, k, kl, &v), -ENOENT);
	mt_val_release(nv);
	assert_check(m, "after -ENOMEM");
	for (i = 0; i < inserted; i += 97) {
		kl = make_key(k, i, true);
		expect_val(m, k, kl, i, 1);
	}
	/* still usable once memory is there again */
	ml_alloc_set_budget(0);
	for (i = inserted; i < inserted + 5000; i++) {
		kl = make_key(k, i, true);
		ck_assert_int_eq(map_put(m, k, kl, mt_val_new(i, 2)), 0);
	}
	ck_assert_uint_eq(map_len(m), inserted + 5000);
	assert_check(m, "after recovery");
	close_map(m);
	ck_assert_int_eq(mt_live(), 0);
}
END_TEST

/* A budget below what opening needs: open fails cleanly. */
START_TEST(test_budget_open)
{
	struct map *m = (struct map *)&m;
	int rc;

	ml_alloc_set_budget(ml_alloc_live_total() + 1);
	rc = map_open(variant(_i)->name, NULL, &m);
	ml_alloc_set_budget(0);
	if (rc == 0) { /* a variant that allocates lazily may succeed */
		ck_assert_ptr_nonnull(m);
		map_close(m);
		return;
	}
	ck_assert_int_eq(rc, -ENOMEM);
	ck_assert_ptr_null(m);
	ck_assert_uint_eq(ml_alloc_live_total(), 0);
}
END_TEST

/* ---- bad arguments ------------------------------------------------------ */

START_TEST(test_bad_args_variant)
{
	struct map *m = open_variant(_i, NULL);
	struct map_config cfg = {.shards = 3};
	struct map_value_ops half = {.retain = mt_vops.retain};
	struct map_config cfg2 = {.vops = &half};
	struct map *o = (struct map *)&o;
	void *v;

	ck_assert_int_eq(map_get(m, NULL, 3, &v), -EINVAL);
	ck_assert_int_eq(map_get(m, "a", 1, NULL), -EINVAL);
	ck_assert_int_eq(map_put(m, NULL, 3, NULL), -EINVAL);
	ck_assert_int_eq(map_put_if_absent(m, NULL, 3, NULL, NULL), -EINVAL);
	ck_assert_int_eq(map_delete(m, NULL, 3), -EINVAL);
	ck_assert_int_eq(map_open(variant(_i)->name, &cfg, &o), -EINVAL);
	ck_assert_ptr_null(o);
	ck_assert_int_eq(map_open(variant(_i)->name, &cfg2, &o), -EINVAL);
	ck_assert_int_eq(map_open(variant(_i)->name, NULL, NULL), -EINVAL);
	ck_assert_uint_eq(map_len(m), 0);
	ck_assert_ptr_eq(map_variant_of(m), variant(_i));
	close_map(m);
}
END_TEST

START_TEST(test_bad_args)
{
	struct map *m = (struct map *)&m;
	void *v;

	ck_assert_int_eq(map_open("no-such-variant", NULL, &m), -EINVAL);
	ck_assert_ptr_null(m);
	ck_assert_int_eq(map_open(NULL, NULL, &m), -EINVAL);
	ck_assert_ptr_null(map_variant_find("no-such-variant"));
	ck_assert_ptr_null(map_variant_at(map_variant_count()));
	ck_assert_int_eq(map_get(NULL, "a", 1, &v), -EINVAL);
	ck_assert_int_eq(map_put(NULL, "a", 1, NULL), -EINVAL);
	ck_assert_int_eq(map_delete(NULL, "a", 1), -EINVAL);
	ck_assert_uint_eq(map_len(NULL), 0);
	ck_assert_int_eq(map_check(NULL, NULL), -EINVAL);
	map_close(NULL);
	/* the registry: unique names, a description each */
	ck_assert_uint_ge(map_variant_count(), 4);
	for (size_t i = 0; i < map_variant_count(); i++) {
		const struct map_variant *a = map_variant_at(i);

		ck_assert_ptr_nonnull(a->description);
		ck_assert_ptr_eq(map_variant_find(a->name), a);
	}
}
END_TEST

/* ---- the core table itself --------------------------------------------- */

/* Invariants checked while a growth is in progress (oldbuckets set), at
 * every insert of a whole evacuation, for several doublings. */
START_TEST(test_core_mid_evacuation)
{
	struct core_table t;
	struct map_config cfg = {0};
	struct map_check c;
	uint64_t mid = 0;

	ck_assert_int_eq(core_init(&t, &cfg, false), 0);
	for (uint64_t i = 0; i < 20000; i++) {
		ck_assert_int_eq(core_put(&t, &i, 8, NULL), 0);
		if (t.oldbuckets) {
			memset(&c, 0, sizeof(c));
			ck_assert_msg(core_check(&t, &c) == 0,
				      "at %" PRIu64 ": %s", i, c.first);
			ck_assert_uint_eq(c.reachable, t.count);
			mid++;
		}
		if (i % 7 == 3) { /* deletes during evacuation too */
			uint64_t d = i / 2;

			if (d % 7 != 3)
				(void)core_delete(&t, &d, 8);
		}
	}
	ck_assert_uint_gt(mid, 1000);
	ck_assert_uint_gt(t.growths, 8);
	core_destroy(&t);
	ck_assert_uint_eq(ml_alloc_live_total(), 0);
}
END_TEST

/* Same-size growth (Go's sameSizeGrow): overflow buckets left behind by
 * deletes are compacted.  Keys are chosen by hash so that two buckets of
 * a 16-bucket table take long chains. */
START_TEST(test_core_same_size_grow)
{
	struct map_config cfg = {.capacity_hint = 100, .seed = 12345};
	struct core_table t;
	struct map_check c;
	uint64_t a[100], b[60], na = 0, nb = 0, noverflow_before;
	void *v;

	for (uint64_t k = 0; na < 100 || nb < 60; k++) {
		uint64_t h = core_hash(cfg.seed, &k, 8) & 15;

		if (h == 0 && na < 100)
			a[na++] = k;
		else if (h == 1 && nb < 60)
			b[nb++] = k;
	}
	ck_assert_int_eq(core_init(&t, &cfg, false), 0);
	ck_assert_int_eq(t.B, 4);
	for (int i = 0; i < 100; i++)
		ck_assert_int_eq(core_put(&t, &a[i], 8, NULL), 0);
	ck_assert_uint_eq(t.noverflow, 12);
	for (int i = 0; i < 100; i++)
		ck_assert_int_eq(core_delete(&t, &a[i], 8), 0);
	ck_assert_uint_eq(t.noverflow, 12); /* deletes keep chains */
	/* b's chain gets overflow buckets at entries 9, 17, 25, 33 */
	for (int i = 0; i < 33; i++)
		ck_assert_int_eq(core_put(&t, &b[i], 8, NULL), 0);
	noverflow_before = t.noverflow;
	ck_assert_uint_eq(noverflow_before, 16);
	ck_assert_uint_eq(t.growths, 0);
	ck_assert_ptr_null(t.oldbuckets);
	/* the next insert starts a same-size growth */
	ck_assert_int_eq(core_put(&t, &b[33], 8, NULL), 0);
	ck_assert_uint_eq(t.growths, 1);
	ck_assert_int_eq(t.B, 4);
	memset(&c, 0, sizeof(c));
	ck_assert_msg(core_check(&t, &c) == 0, "%s", c.first);
	for (int i = 34; i < 60; i++) {
		ck_assert_int_eq(core_put(&t, &b[i], 8, NULL), 0);
		memset(&c, 0, sizeof(c));
		ck_assert_msg(core_check(&t, &c) == 0, "%s", c.first);
	}
	ck_assert_ptr_null(t.oldbuckets); /* done */
	ck_assert_int_eq(t.B, 4);
	ck_assert_uint_lt(t.noverflow, noverflow_before);
	for (int i = 0; i < 60; i++)
		ck_assert_int_eq(core_get(&t, &b[i], 8, &v), 0);
	for (int i = 0; i < 100; i++)
		ck_assert_int_eq(core_get(&t, &a[i], 8, &v), -ENOENT);
	core_destroy(&t);
}
END_TEST

/* core_check finds a broken invariant (a misfiled entry, a bad count). */
START_TEST(test_core_check_detects)
{
	struct core_table t;
	struct map_config cfg = {0};
	struct map_check c = {0};

	ck_assert_int_eq(core_init(&t, &cfg, false), 0);
	for (uint64_t i = 0; i < 5; i++)
		ck_assert_int_eq(core_put(&t, &i, 8, NULL), 0);
	t.count++;
	ck_assert_int_eq(core_check(&t, &c), -EBADMSG);
	ck_assert_uint_eq(c.problems, 1);
	ck_assert_ptr_nonnull(strstr(c.first, "count says"));
	t.count--;
	/* a cyclic overflow chain */
	ck_assert_ptr_null(t.buckets[0].overflow);
	t.buckets[0].overflow = &t.buckets[0];
	memset(&c, 0, sizeof(c));
	ck_assert_int_eq(core_check(&t, &c), -EBADMSG);
	ck_assert_ptr_nonnull(strstr(c.first, "cyclic"));
	t.buckets[0].overflow = NULL;
	memset(&c, 0, sizeof(c));
	ck_assert_int_eq(core_check(&t, &c), 0);
	core_destroy(&t);
}
END_TEST

/* -ENOMEM in the middle of a growth: evacuation allocates first, so the
 * contents stay whole and deletes still work. */
START_TEST(test_core_enomem_mid_growth)
{
	struct core_table t;
	struct map_config cfg = {0};
	struct map_check c = {0};
	char k[32];
	uint64_t i, n, fails = 0;
	void *v;

	ck_assert_int_eq(core_init(&t, &cfg, false), 0);
	for (i = 0; i < 20000; i++)
		ck_assert_int_eq(core_put(&t, k, make_key(k, i, true),
					  (void *)(uintptr_t)(i + 1)),
				 0);
	/* run until a growth starts, then cap memory */
	while (!t.oldbuckets) {
		ck_assert_int_eq(core_put(&t, k, make_key(k, i, true),
					  (void *)(uintptr_t)(i + 1)),
				 0);
		i++;
	}
	n = i;
	ml_alloc_set_budget(ml_alloc_live_total());
	for (; i < n + 2000; i++) {
		int rc = core_put(&t, k, make_key(k, i, true),
				  (void *)(uintptr_t)(i + 1));

		if (rc == -ENOMEM)
			fails++;
		else
			ck_assert_int_eq(rc, 0);
		if (rc == 0)
			n = i + 1; /* an insert that needed nothing new */
	}
	ck_assert_uint_gt(fails, 0);
	ck_assert_int_eq(core_check(&t, &c), 0);
	/* deletes never fail for memory */
	for (i = 0; i < 100; i++)
		ck_assert_int_eq(core_delete(&t, k, make_key(k, i, true)), 0);
	ml_alloc_set_budget(0);
	for (i = 100; i < 20000; i++) {
		ck_assert_int_eq(core_get(&t, k, make_key(k, i, true), &v), 0);
		ck_assert_ptr_eq(v, (void *)(uintptr_t)(i + 1));
	}
	memset(&c, 0, sizeof(c));
	ck_assert_int_eq(core_check(&t, &c), 0);
	core_destroy(&t);
	ck_assert_uint_eq(ml_alloc_live_total(), 0);
}
END_TEST

/* Keys of every length 0..40 side by side: inline (zero-padded, so "a"
 * and "a\0" differ by their length byte) and out of line; buckets are
 * 64-byte aligned; the table's bytes are exactly the allocator's books;
 * core_check catches a broken key encoding (I7). */
static int len_cb(const void *key, size_t klen, void *val, void *arg)
{
	uint64_t *seen = arg;

	ck_assert_uint_eq((uintptr_t)val - 1, klen);
	ck_assert(klen == 0 || ((const uint8_t *)key)[klen - 1] == 0 ||
		  ((const uint8_t *)key)[klen - 1] == 'x');
	*seen |= 1ull << klen;
	return 0;
}

START_TEST(test_core_key_lengths)
{
	struct core_table t;
	struct map_config cfg = {0};
	struct map_check c = {0};
	struct ml_alloc_snapshot s;
	uint8_t k[41], zeros[41] = {0};
	uint64_t seen = 0;
	bool broken = false;
	void *v;

	ck_assert_int_eq(core_init(&t, &cfg, false), 0);
	memset(k, 'x', sizeof(k));
	/* "x...x" of each length, and "x...x\0" of each length + 1: the
	 * latter equals the former zero-padded */
	for (size_t n = 0; n <= 40; n++) {
		const uint8_t *key = n % 2 ? zeros : k;

		ck_assert_int_eq(core_put(&t, key, n, (void *)(uintptr_t)(n + 1)),
				 0);
	}
	ck_assert_uint_eq(core_len(&t), 41);
	ck_assert_uint_eq((uintptr_t)t.buckets % 64, 0);
	for (size_t n = 0; n <= 40; n++) {
		const uint8_t *key = n % 2 ? zeros : k;

		ck_assert_int_eq(core_get(&t, key, n, &v), 0);
		ck_assert_ptr_eq(v, (void *)(uintptr_t)(n + 1));
		/* zero bytes of an even length were never stored: padded,
		 * they look like every odd one; only the length byte differs */
		if (n % 2 == 0 && n > 0)
			ck_assert_int_eq(core_get(&t, zeros, n, &v), -ENOENT);
	}
	ck_assert_int_eq(core_range(&t, &t, NULL, len_cb, &seen), 0);
	ck_assert_uint_eq(seen, (1ull << 41) - 1);
	ck_assert_int_eq(core_check(&t, &c), 0);
	/* bytes held: arrays + overflow buckets + long keys, as counted */
	ml_alloc_snapshot(&s);
	ck_assert_uint_eq(t.bytes, s.live[ML_TAG_BUCKETS] +
					   s.live[ML_TAG_OVERFLOW] +
					   s.live[ML_TAG_KEYS]);
	ck_assert_uint_eq(s.live[ML_TAG_KEYS],
			  24 * sizeof(struct core_long_key) +
				  (17 + 40) * 24 / 2);
	for (struct core_bucket *b = &t.buckets[0]; b; b = b->overflow)
		ck_assert_uint_eq((uintptr_t)b % 64, 0);
	/* delete the odd lengths, the even ones stay */
	for (size_t n = 1; n <= 40; n += 2)
		ck_assert_int_eq(core_delete(&t, zeros, n), 0);
	for (size_t n = 0; n <= 40; n++)
		ck_assert_int_eq(core_get(&t, n % 2 ? zeros : k, n, &v),
				 n % 2 ? -ENOENT : 0);
	memset(&c, 0, sizeof(c));
	ck_assert_int_eq(core_check(&t, &c), 0);
	/* break I7: padding past an inline key's length, a bad length byte */
	for (size_t j = 0; j < ((size_t)1 << t.B) && !broken; j++) {
		struct core_bucket *b = &t.buckets[j];

		for (int i = 0; i < CORE_BUCKET_CNT && !broken; i++) {
			if (b->tophash[i] < 5 || b->klen[i] >= CORE_INLINE_KEY)
				continue;
			broken = true;
			b->slot[i].key.inl[CORE_INLINE_KEY - 1] ^= 1;
			memset(&c, 0, sizeof(c));
			ck_assert_int_eq(core_check(&t, &c), -EBADMSG);
			ck_assert_ptr_nonnull(strstr(c.first, "zero-padded"));
			b->slot[i].key.inl[CORE_INLINE_KEY - 1] ^= 1;
			b->klen[i] += 100;
			memset(&c, 0, sizeof(c));
			ck_assert_int_eq(core_check(&t, &c), -EBADMSG);
			ck_assert_ptr_nonnull(strstr(c.first, "length byte"));
			b->klen[i] -= 100;
		}
	}
	ck_assert(broken);
	memset(&c, 0, sizeof(c));
	ck_assert_int_eq(core_check(&t, &c), 0);
	core_destroy(&t);
	ck_assert_uint_eq(t.bytes, 0);
	ck_assert_uint_eq(ml_alloc_live_total(), 0);
}
END_TEST

/* The detector stays quiet single-threaded. */
START_TEST(test_core_detector_quiet)
{
	struct map_config cfg = {.flags = MAP_F_DETECT, .vops = &mt_vops};
	struct map *m = NULL;
	struct walk w = {0};

	ck_assert_int_eq(map_open("unsafe", &cfg, &m), 0);
	for (uint64_t i = 0; i < 50000; i++)
		ck_assert_int_eq(map_put(m, &i, 8, mt_val_new(i, 1)), 0);
	for (uint64_t i = 0; i < 50000; i += 2)
		ck_assert_int_eq(map_delete(m, &i, 8), 0);
	ck_assert_int_eq(map_range(m, walk_cb, &w), 0);
	ck_assert_uint_eq(w.seen, 25000);
	map_close(m);
	ck_assert_int_eq(mt_live(), 0);
}
END_TEST

/* ---- the allocator -------------------------------------------------------- */

START_TEST(test_alloc_books)
{
	struct ml_alloc_snapshot s;
	void *a = ml_malloc(ML_TAG_KEYS, 100);
	void *b = ml_calloc(ML_TAG_PAYLOAD, 10, 10);
	void *z = ml_malloc(ML_TAG_OTHER, 0);

	ck_assert_ptr_nonnull(a);
	ck_assert_ptr_nonnull(b);
	ck_assert_ptr_nonnull(z);
	ck_assert_uint_eq((uintptr_t)a % 16, 0);
	ck_assert_uint_eq(ml_size(a), 100);
	ck_assert_uint_eq(ml_size(z), 0);
	for (int i = 0; i < 100; i++)
		ck_assert_int_eq(((unsigned char *)b)[i], 0);
	ml_alloc_snapshot(&s);
	ck_assert_uint_eq(s.live[ML_TAG_KEYS], 100);
	ck_assert_uint_eq(s.live[ML_TAG_PAYLOAD], 100);
	ck_assert_uint_eq(s.live_total, 200);
	ck_assert_uint_eq(ml_alloc_live_total(), 200);
	ck_assert_uint_ge(s.peak_total, 200);
	ck_assert_int_eq(s.failed_tag, -1);
	ml_free(a);
	ml_free(b);
	ml_free(z);
	ml_free(NULL);
	ml_alloc_snapshot(&s);
	ck_assert_uint_eq(s.live_total, 0);
	ck_assert_uint_eq(s.allocs[ML_TAG_KEYS], 1);
	ck_assert_uint_eq(s.frees[ML_TAG_KEYS], 1);
	ck_assert_ptr_null(ml_calloc(ML_TAG_OTHER, SIZE_MAX / 2, 4));
	ck_assert_str_eq(ml_tag_name(ML_TAG_BUCKETS), "buckets");
	ck_assert_str_eq(ml_tag_name(99), "?");
}
END_TEST

/* Aligned blocks: aligned, zeroed, counted in requested bytes only. */
START_TEST(test_alloc_aligned)
{
	struct ml_alloc_snapshot s;
	void *p[40];

	for (int i = 0; i < 40; i++) {
		size_t align = (size_t)16 << (i % 5); /* 16 .. 256 */

		p[i] = ml_calloc_aligned(ML_TAG_BUCKETS, align, (size_t)i + 1,
					 24);
		ck_assert_ptr_nonnull(p[i]);
		ck_assert_uint_eq((uintptr_t)p[i] % align, 0);
		ck_assert_uint_eq(ml_size(p[i]), ((size_t)i + 1) * 24);
		for (int b = 0; b < (i + 1) * 24; b++)
			ck_assert_int_eq(((unsigned char *)p[i])[b], 0);
		memset(p[i], 0xa5, ((size_t)i + 1) * 24);
	}
	ml_alloc_snapshot(&s);
	ck_assert_uint_eq(s.live[ML_TAG_BUCKETS], 24 * 40 * 41 / 2);
	ck_assert_uint_eq(s.live_total, 24 * 40 * 41 / 2);
	for (int i = 0; i < 40; i++)
		ml_free(p[i]);
	/* a bad alignment is the caller's bug: EINVAL, no oom recorded */
	errno = 0;
	ck_assert_ptr_null(ml_calloc_aligned(ML_TAG_BUCKETS, 48, 1, 8));
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_ptr_null(ml_calloc_aligned(ML_TAG_BUCKETS, 8, 1, 8));
	ck_assert_ptr_null(
		ml_calloc_aligned(ML_TAG_BUCKETS, 2 * ML_ALIGN_MAX, 1, 8));
	ck_assert_ptr_null(
		ml_calloc_aligned(ML_TAG_BUCKETS, 64, SIZE_MAX / 2, 4));
	ck_assert_int_eq(errno, ENOMEM);
	ml_alloc_snapshot(&s);
	ck_assert_uint_eq(s.live_total, 0);
	ck_assert_uint_eq(s.allocs[ML_TAG_BUCKETS], 40);
	ck_assert_uint_eq(s.frees[ML_TAG_BUCKETS], 40);
	ck_assert_uint_eq(s.failures, 1);
	/* the budget applies as to any block */
	ml_alloc_set_budget(1000000);
	ck_assert_ptr_null(ml_calloc_aligned(ML_TAG_OVERFLOW, 64, 1, 2000000));
	ck_assert_int_eq(errno, ENOMEM);
	p[0] = ml_calloc_aligned(ML_TAG_OVERFLOW, 64, 1, 900000);
	ck_assert_ptr_nonnull(p[0]);
	ml_free(p[0]);
	ml_alloc_set_budget(0);
	ck_assert_uint_eq(ml_alloc_live_total(), 0);
}
END_TEST

START_TEST(test_alloc_budget)
{
	struct ml_alloc_snapshot s;
	void *a, *b;

	ml_alloc_set_budget(1000000);
	a = ml_malloc(ML_TAG_VALUES, 900000);
	ck_assert_ptr_nonnull(a);
	b = ml_malloc(ML_TAG_OVERFLOW, 200000);
	ck_assert_ptr_null(b);
	ck_assert_int_eq(errno, ENOMEM);
	ml_alloc_snapshot(&s);
	ck_assert_int_eq(s.failed_tag, ML_TAG_OVERFLOW);
	ck_assert_uint_eq(s.failures, 1);
	ck_assert_uint_eq(s.budget, 1000000);
	ml_free(a);
	b = ml_malloc(ML_TAG_KEYS, 200000);
	ck_assert_ptr_nonnull(b);
	ml_free(b);
	ml_alloc_snapshot(&s);
	ck_assert_int_eq(s.failed_tag, ML_TAG_OVERFLOW); /* the first */
	ml_alloc_set_budget(0);
}
END_TEST

static void *alloc_worker(void *arg)
{
	void *p[64];

	(void)arg;
	for (int r = 0; r < 2000; r++) {
		for (int i = 0; i < 64; i++) {
			p[i] = ml_malloc((enum ml_tag)(i % ML_TAG_COUNT),
					 (size_t)(16 + i * 8));
			if (!p[i])
				abort();
		}
		for (int i = 0; i < 64; i++)
			ml_free(p[i]);
	}
	return NULL;
}

/* Books stay exact across threads (and frees on other stripes); a
 * budget-bounded sampler reads concurrently. */
START_TEST(test_alloc_threads)
{
	pthread_t th[4];
	struct ml_alloc_snapshot s;
	uint64_t allocs = 0, frees = 0;

	ml_alloc_set_budget(64u << 20);
	for (int i = 0; i < 4; i++)
		ck_assert_int_eq(pthread_create(&th[i], NULL, alloc_worker,
						NULL),
				 0);
	for (int i = 0; i < 100; i++)
		ml_alloc_snapshot(&s);
	for (int i = 0; i < 4; i++)
		pthread_join(th[i], NULL);
	ml_alloc_snapshot(&s);
	ck_assert_uint_eq(s.live_total, 0);
	for (int t = 0; t < ML_TAG_COUNT; t++) {
		allocs += s.allocs[t];
		frees += s.frees[t];
	}
	ck_assert_uint_eq(allocs, 4 * 2000 * 64);
	ck_assert_uint_eq(frees, allocs);
	ck_assert_uint_eq(s.failures, 0);
	ml_alloc_set_budget(0);
}
END_TEST

/* The plain build (every build this suite is made in) holds no mutant:
 * only `make mutants` sets MAPLAB_MUTANT (maps/mutant.h). */
START_TEST(test_plain_build_has_no_mutant)
{
	ck_assert_str_eq(map_mutant(), "");
}
END_TEST

static Suite *maps_suite(void)
{
	Suite *s = suite_create("maps");
	int n = mt_select_variants(sel, 64, 0);
	TCase *tc;

	tc = tcase_create("conformance");
	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, test_basic, 0, n);
	tcase_add_loop_test(tc, test_borrowed, 0, n);
	tcase_add_loop_test(tc, test_get_with, 0, n);
	tcase_add_loop_test(tc, test_get_with_borrowed, 0, n);
	tcase_add_loop_test(tc, test_get_with_reentry, 0, n);
	tcase_add_loop_test(tc, test_range, 0, n);
	tcase_add_loop_test(tc, test_range_reentry, 0, n);
	tcase_add_loop_test(tc, test_range_other_map, 0, n);
	tcase_add_loop_test(tc, test_ref_balance, 0, n);
	tcase_add_loop_test(tc, test_budget, 0, n);
	tcase_add_loop_test(tc, test_budget_open, 0, n);
	tcase_add_loop_test(tc, test_bad_args_variant, 0, n);
	tcase_add_test(tc, test_bad_args);
	tcase_add_test(tc, test_plain_build_has_no_mutant);
	suite_add_tcase(s, tc);

	tc = tcase_create("growth");
	tcase_set_timeout(tc, 600);
	tcase_add_loop_test(tc, test_growth, 0, n);
	suite_add_tcase(s, tc);

	if (mt_variants_filtered())
		return s; /* ./run.sh exercise: only the named variants */

	tc = tcase_create("core");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_core_mid_evacuation);
	tcase_add_test(tc, test_core_same_size_grow);
	tcase_add_test(tc, test_core_check_detects);
	tcase_add_test(tc, test_core_enomem_mid_growth);
	tcase_add_test(tc, test_core_detector_quiet);
	tcase_add_test(tc, test_core_key_lengths);
	suite_add_tcase(s, tc);

	tc = tcase_create("alloc");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_alloc_books);
	tcase_add_test(tc, test_alloc_aligned);
	tcase_add_test(tc, test_alloc_budget);
	tcase_add_test(tc, test_alloc_threads);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return ck_run(maps_suite());
}

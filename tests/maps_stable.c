/*
 * tests/maps_stable.c - the counted map and the stable-key workload
 * shared by the RCU and syncmap suites (see tests/maps_stable.h).  Each thread has its own
 * struct conc; `stop` is the one shared flag (atomic), `bad` is read by
 * the test thread after join.
 */
#include "tests/maps_stable.h"

#include <check.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "maps/alloc.h"
#include "tests/maps_testutil.h"

struct conc {
	struct map *m;
	int id, iters;
	bool churn_if_absent; /* writers: put_if_absent for churn keys */
	_Atomic int *stop;    /* readers run until the test sets it */
	_Atomic long bad;     /* bad reads or failed writes */
};

static uint64_t baseline; /* live bytes before counted_open; test thread */

struct map *counted_open(const char *variant)
{
	struct map_config cfg = {.vops = &mt_vops};
	struct map *m = NULL;

	baseline = ml_alloc_live_total();
	ck_assert_int_eq(map_open(variant, &cfg, &m), 0);
	map_thread_enter(m);
	return m;
}

void counted_close(struct map *m)
{
	struct map_check c;

	ck_assert_msg(map_check(m, &c) == 0, "check: %s", c.first);
	map_thread_exit(m);
	map_close(m);
	ck_assert_int_eq(mt_live(), 0);
	ck_assert_uint_eq(ml_alloc_live_total(), baseline);
}

void stable_key(char *k, size_t n, int i)
{
	snprintf(k, n, "stable-%d", i);
}

void stable_fill(struct map *m)
{
	char k[32];

	for (int i = 0; i < STABLE; i++) {
		stable_key(k, sizeof(k), i);
		ck_assert_int_eq(map_put(m, k, strlen(k),
					 mt_val_new((uint64_t)i, 0)),
				 0);
	}
}

static void *reader(void *arg)
{
	struct conc *c = arg;
	char k[32];
	unsigned s = (unsigned)c->id * 7919u + 1;

	map_thread_enter(c->m);
	while (!atomic_load(c->stop)) {
		int i;
		void *v;

		s = s * 1103515245u + 12345u;
		i = (int)((s >> 8) % STABLE);
		stable_key(k, sizeof(k), i);
		if (map_get(c->m, k, strlen(k), &v) != 0) {
			/* stable keys are replaced, never deleted */
			atomic_fetch_add(&c->bad, 1);
			continue;
		}
		mt_val_assert(v);
		if (((struct mt_val *)v)->key != (uint64_t)i)
			atomic_fetch_add(&c->bad, 1);
		mt_val_release(v);
	}
	map_thread_exit(c->m);
	return NULL;
}

/* Add churn key n of this writer (a new key: put_if_absent must store it). */
static int churn_add(struct conc *c, const char *k, int n)
{
	void *ex;

	if (c->churn_if_absent)
		return map_put_if_absent(c->m, k, strlen(k),
					 mt_val_new(1000000 + n, 1), &ex);
	return map_put(c->m, k, strlen(k), mt_val_new(1000000 + n, 1));
}

static void *writer(void *arg)
{
	struct conc *c = arg;
	char k[48];

	map_thread_enter(c->m);
	for (int n = 0; n < c->iters; n++) {
		int i = n % STABLE;

		/* overwrite a stable key: the old value is reclaimed while
		 * readers may hold it */
		stable_key(k, sizeof(k), i);
		if (map_put(c->m, k, strlen(k), mt_val_new((uint64_t)i, n)))
			atomic_fetch_add(&c->bad, 1);
		/* churn: new keys (syncmap: dirty rebuilds, promotions) and
		 * deletes */
		snprintf(k, sizeof(k), "churn-%d-%d", c->id, n);
		if (churn_add(c, k, n) != 0)
			atomic_fetch_add(&c->bad, 1);
		if (n >= STABLE_CHURN_LEFT) {
			snprintf(k, sizeof(k), "churn-%d-%d", c->id,
				 n - STABLE_CHURN_LEFT);
			if (map_delete(c->m, k, strlen(k)) != 0)
				atomic_fetch_add(&c->bad, 1);
		}
	}
	map_thread_exit(c->m);
	return NULL;
}

void stable_run(struct map *m, int iters, bool churn_if_absent)
{
	_Atomic int stop = 0;
	struct conc r[2], w[2];
	pthread_t rt[2], wt[2];

	for (int t = 0; t < 2; t++) {
		r[t] = (struct conc){.m = m, .id = t, .stop = &stop};
		w[t] = (struct conc){.m = m, .id = t, .iters = iters,
				     .churn_if_absent = churn_if_absent,
				     .stop = &stop};
		ck_assert_int_eq(pthread_create(&rt[t], NULL, reader, &r[t]),
				 0);
		ck_assert_int_eq(pthread_create(&wt[t], NULL, writer, &w[t]),
				 0);
	}
	for (int t = 0; t < 2; t++)
		ck_assert_int_eq(pthread_join(wt[t], NULL), 0);
	atomic_store(&stop, 1);
	for (int t = 0; t < 2; t++)
		ck_assert_int_eq(pthread_join(rt[t], NULL), 0);
	for (int t = 0; t < 2; t++) {
		ck_assert_int_eq(atomic_load(&r[t].bad), 0);
		ck_assert_int_eq(atomic_load(&w[t].bad), 0);
	}
}

/* ---- a walk during stores ---------------------------------------------- */

struct walk {
	struct map *m;
	int seen_stable[STABLE];
	long bad;
	int reentrant; /* store from inside the walk */
};

static int walk_cb(const void *key, size_t klen, void *val, void *arg)
{
	struct walk *w = arg;
	struct mt_val *v = val;
	char k[32];

	mt_val_assert(v);
	if (klen > 7 && memcmp(key, "stable-", 7) == 0) {
		if (v->key >= STABLE) {
			w->bad++;
			return 0;
		}
		stable_key(k, sizeof(k), (int)v->key);
		if (strlen(k) != klen || memcmp(k, key, klen) != 0)
			w->bad++; /* value stored under another key */
		w->seen_stable[v->key]++;
		/* a store from inside the walk (Go allows it) */
		if (w->reentrant &&
		    map_put(w->m, key, klen, mt_val_new(v->key, 7)) != 0)
			w->bad++;
	}
	return 0;
}

static void *ranger(void *arg)
{
	struct conc *c = arg;
	struct walk *w = calloc(1, sizeof(*w));

	ck_assert_ptr_nonnull(w);
	map_thread_enter(c->m);
	for (int n = 0; n < c->iters; n++) {
		memset(w, 0, sizeof(*w));
		w->m = c->m;
		w->reentrant = n % 4 == 0;
		if (map_range(c->m, walk_cb, w) != 0)
			atomic_fetch_add(&c->bad, 1);
		/* every stable key is present for the whole walk (replaced,
		 * never deleted): seen exactly once, none twice or missed */
		for (int i = 0; i < STABLE; i++)
			if (w->seen_stable[i] != 1)
				atomic_fetch_add(&c->bad, 1);
		atomic_fetch_add(&c->bad, w->bad);
	}
	map_thread_exit(c->m);
	free(w);
	return NULL;
}

void stable_range_run(struct map *m, int walks, int iters,
		      bool churn_if_absent)
{
	_Atomic int stop = 0;
	struct conc rg = {.m = m, .id = 9, .iters = walks, .stop = &stop};
	struct conc w = {.m = m, .id = 0, .iters = iters,
			 .churn_if_absent = churn_if_absent, .stop = &stop};
	pthread_t rt, wt;

	ck_assert_int_eq(pthread_create(&rt, NULL, ranger, &rg), 0);
	ck_assert_int_eq(pthread_create(&wt, NULL, writer, &w), 0);
	ck_assert_int_eq(pthread_join(rt, NULL), 0);
	ck_assert_int_eq(pthread_join(wt, NULL), 0);
	ck_assert_int_eq(atomic_load(&rg.bad), 0);
	ck_assert_int_eq(atomic_load(&w.bad), 0);
}

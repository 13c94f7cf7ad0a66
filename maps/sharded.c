/*
 * maps/sharded.c - This file contains the `sharded` variant: N core
 * tables (maps/core.c), each behind its own pthread_rwlock_t, the key's
 * shard chosen by FNV-1-32 of the key bytes (multiply, then xor), as
 * orcaman/concurrent-map's fnv32() does (32 shards by default;
 * map_config.shards, a power of two, so `& (n - 1)` is orcaman's `% n`).
 *
 * Layout: each shard (lock + table) is aligned to and padded to a cache
 * line multiple, so two shards' locks never share a line: threads working
 * on different shards do not bounce each other's lock words.
 *
 * Locking: an operation on a key takes only its shard's lock (read for
 * get and get_with, write for put/delete).  len, stats and check visit the shards one
 * at a time, each under its read lock: their sum is not a snapshot while
 * writers run.
 *
 * Lock order (the one rule): shard locks are waited for in ascending
 * index order only.  A thread holds at most one shard lock, except inside
 * a walk of shard h or a get_with on shard h, where re-entrant len/stats
 * wait for shards above h, one at a time; the shards below h they only
 * try (pthread_rwlock_tryrdlock, yielding between tries), never wait for.
 * No thread ever waits for a lower shard while holding a higher one, so no
 * cycle of waits can form.  The tries succeed because the locks prefer
 * readers (set at open, PTHREAD_RWLOCK_PREFER_READER_NP, glibc's default
 * made explicit): a read lock is refused only while a writer holds it,
 * and a writer holds one shard and waits for nothing.
 *
 * What a walk sees: range read-locks one shard, walks it, unlocks, moves
 * to the next.  Keys never move between shards, so every key present for
 * the whole walk is visited exactly once, and each shard is seen at one
 * instant; but the shards are seen at different instants - entries put or
 * deleted during the walk may or may not appear, and two writes done in
 * one order may be seen in the other (B's insert seen, A's earlier one
 * not, if A's shard was already walked).  Writers wait only while their
 * own shard is walked.
 *
 * Re-entry: a range or get_with callback that calls get/put/delete/range/
 * get_with on the same map gets -EDEADLK, for every key (a key in the
 * shard being walked would deadlock; refusing all is the simpler rule).
 * len and stats from inside the callback work: inside a walk, the shards
 * already walked count as the walk saw them (their core_stats taken under
 * their lock as the walk left each one, kept in this thread's walk
 * record); inside a get_with, the shards below are read under a tried
 * lock (above); the held shard is read under the lock this thread holds;
 * the shards above it are locked in ascending order.  check from inside
 * either callback returns -EDEADLK: it would have to wait for the shards
 * below.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stdalign.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "maps/alloc.h"
#include "maps/core.h"
#include "maps/map_impl.h"

#define DEFAULT_SHARDS 32

struct shard {
	alignas(64) pthread_rwlock_t rw; /* protects t */
	struct core_table t;            /* under rw */
};

struct sharded_map {
	struct map base;
	unsigned nshards;      /* power of two; immutable after open */
	struct shard *shards;  /* nshards, each cache-line aligned; immutable */
	void *raw;             /* the block shards lives in (ml_free it) */
};

static struct sharded_map *sm(struct map *m)
{
	return (struct sharded_map *)m;
}

/* FNV-1, 32 bits (multiply, then xor), as orcaman/concurrent-map's
 * fnv32(). */
static uint32_t fnv32(const void *key, size_t klen)
{
	const uint8_t *p = key;
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < klen; i++) {
		h *= 16777619u;
		h ^= p[i];
	}
	return h;
}

static struct shard *shard_of(struct sharded_map *m, const void *key,
			      size_t klen)
{
	return &m->shards[fnv32(key, klen) & (m->nshards - 1)];
}

/* Every shard is locked through these three (mutant sharded_nolock: they
 * do nothing; see maps/mutant.h). */
static void rdlock(struct shard *s)
{
	if (ML_MUTANT_IS(sharded_nolock))
		return;
	ML_CHECK_PTHREAD(pthread_rwlock_rdlock(&s->rw));
}

static void wrlock(struct shard *s)
{
	if (ML_MUTANT_IS(sharded_nolock))
		return;
	ML_CHECK_PTHREAD(pthread_rwlock_wrlock(&s->rw));
}

static void unlock(struct shard *s)
{
	if (ML_MUTANT_IS(sharded_nolock))
		return;
	ML_CHECK_PTHREAD(pthread_rwlock_unlock(&s->rw));
}

/* Reader-preferring, explicitly: the lock order above relies on it. */
static void init_lock(pthread_rwlock_t *rw)
{
	pthread_rwlockattr_t a;

	ML_CHECK_PTHREAD(pthread_rwlockattr_init(&a));
	ML_CHECK_PTHREAD(pthread_rwlockattr_setkind_np(
		&a, PTHREAD_RWLOCK_PREFER_READER_NP));
	ML_CHECK_PTHREAD(pthread_rwlock_init(rw, &a));
	ML_CHECK_PTHREAD(pthread_rwlockattr_destroy(&a));
}

/* Read-lock s without waiting for it (the lock order's "try"): yield
 * until no writer holds it. */
static void rdlock_try(struct shard *s)
{
	int rc;

	if (ML_MUTANT_IS(sharded_nolock))
		return;
	while ((rc = pthread_rwlock_tryrdlock(&s->rw)) == EBUSY)
		sched_yield();
	ML_CHECK_PTHREAD(rc);
}

static void destroy(struct sharded_map *m, unsigned inited)
{
	for (unsigned i = 0; i < inited; i++) {
		core_destroy(&m->shards[i].t);
		ML_CHECK_PTHREAD(pthread_rwlock_destroy(&m->shards[i].rw));
	}
	ml_free(m->raw);
	ml_free(m);
}

static int sharded_open(const struct map_config *cfg, struct map **out)
{
	struct sharded_map *m = ml_calloc(ML_TAG_MAP, 1, sizeof(*m));
	struct map_config c = *cfg;
	unsigned i;
	int rc = 0;

	if (!m)
		return -ENOMEM;
	m->nshards = cfg->shards ? cfg->shards : DEFAULT_SHARDS;
	/* ml_malloc keeps 16-byte alignment; over-allocate for 64. */
	m->raw = ml_calloc(ML_TAG_MAP, 1,
			   m->nshards * sizeof(struct shard) + 63);
	if (!m->raw) {
		ml_free(m);
		return -ENOMEM;
	}
	m->shards = (struct shard *)(((uintptr_t)m->raw + 63) &
				     ~(uintptr_t)63);
	c.capacity_hint = cfg->capacity_hint / m->nshards;
	for (i = 0; i < m->nshards; i++) {
		rc = core_init(&m->shards[i].t, &c, false);
		init_lock(&m->shards[i].rw);
		if (rc) {
			i++;
			goto out;
		}
	}
	*out = &m->base;
	return 0;
out:
	destroy(m, i);
	return rc;
}

static void sharded_close(struct map *mp)
{
	destroy(sm(mp), sm(mp)->nshards);
}

static int sharded_get(struct map *mp, const void *key, size_t klen,
		       void **val)
{
	struct shard *s;
	int rc;

	*val = NULL;
	if (core_range_held(mp))
		return -EDEADLK;
	s = shard_of(sm(mp), key, klen);
	rdlock(s);
	rc = core_get(&s->t, key, klen, val);
	unlock(s);
	return rc;
}

/*
 * This thread's walks (and get_with reads) of sharded maps in progress,
 * innermost first (a walk of one map may walk another; re-entry into the
 * same map is refused).
 * Thread-local: only the walking thread reads or writes its records.
 */
struct walk {
	const struct sharded_map *m;
	unsigned held;          /* index of the shard being walked (or read) */
	bool lent;              /* a get_with, not a walk: below is unset */
	struct map_stats below; /* core_stats of shards < held, each taken
				 * under its lock as the walk left it */
	struct walk *outer;
};

static _Thread_local struct walk *t_walk;

/* The borrowed read: fn runs under the key's shard read lock; the shard
 * is recorded as held (a lent record, see struct walk), so len/stats from
 * fn read it without locking it again and only try the shards below. */
static int sharded_get_with(struct map *mp, const void *key, size_t klen,
			    map_read_fn fn, void *arg)
{
	struct sharded_map *m = sm(mp);
	struct walk w = {.m = m, .lent = true, .outer = t_walk};
	struct shard *s;
	int rc;

	if (core_range_held(mp))
		return -EDEADLK;
	s = shard_of(m, key, klen);
	w.held = (unsigned)(s - m->shards);
	t_walk = &w;
	rdlock(s);
	rc = core_get_with(&s->t, mp, s, key, klen, fn, arg);
	unlock(s);
	t_walk = w.outer;
	return rc;
}

static int sharded_put(struct map *mp, const void *key, size_t klen,
		       void *val)
{
	struct shard *s;
	int rc;

	if (core_range_held(mp))
		return -EDEADLK;
	s = shard_of(sm(mp), key, klen);
	wrlock(s);
	rc = core_put(&s->t, key, klen, val);
	unlock(s);
	return rc;
}

static int sharded_put_if_absent(struct map *mp, const void *key, size_t klen,
				 void *val, void **existing)
{
	struct shard *s;
	int rc;

	if (core_range_held(mp))
		return -EDEADLK;
	s = shard_of(sm(mp), key, klen);
	wrlock(s);
	rc = core_put_if_absent(&s->t, key, klen, val, existing);
	unlock(s);
	return rc;
}

static int sharded_delete(struct map *mp, const void *key, size_t klen)
{
	struct shard *s;
	int rc;

	if (core_range_held(mp))
		return -EDEADLK;
	s = shard_of(sm(mp), key, klen);
	wrlock(s);
	rc = core_delete(&s->t, key, klen);
	unlock(s);
	return rc;
}

static struct walk *walk_of(const struct sharded_map *m)
{
	for (struct walk *w = t_walk; w; w = w->outer)
		if (w->m == m)
			return w;
	return NULL;
}

static int sharded_range(struct map *mp, map_range_fn fn, void *arg)
{
	struct sharded_map *m = sm(mp);
	struct walk w = {.m = m, .outer = t_walk};
	int rc = 0;

	if (core_range_held(mp))
		return -EDEADLK;
	t_walk = &w;
	for (unsigned i = 0; i < m->nshards && !rc; i++) {
		struct shard *s = &m->shards[i];

		w.held = i;
		rdlock(s);
		rc = core_range(&s->t, mp, s, fn, arg);
		core_stats(&s->t, &w.below);
		unlock(s);
	}
	t_walk = w.outer;
	return rc;
}

/* Sum core_stats over the shards without breaking the lock order: outside
 * a walk, each shard under its read lock in turn; inside a walk of this
 * map, the walk's record for the shards below (inside a get_with, the
 * shards below under tried read locks), the held shard as it is, the
 * shards above under their read locks (ascending). */
static void sum_stats(struct sharded_map *m, struct map_stats *st)
{
	const struct walk *w = walk_of(m);
	unsigned first = 0;

	if (w && w->lent) {
		for (unsigned i = 0; i < w->held; i++) {
			rdlock_try(&m->shards[i]);
			core_stats(&m->shards[i].t, st);
			unlock(&m->shards[i]);
		}
		core_stats(&m->shards[w->held].t, st); /* this thread holds it */
		first = w->held + 1;
	} else if (w) {
		struct map_stats b = w->below;

		st->entries += b.entries;
		st->buckets += b.buckets;
		st->overflow_buckets += b.overflow_buckets;
		st->growths += b.growths;
		st->evacuated += b.evacuated;
		st->bytes += b.bytes;
		core_stats(&m->shards[w->held].t, st); /* this thread holds it */
		first = w->held + 1;
	}
	for (unsigned i = first; i < m->nshards; i++) {
		struct shard *s = &m->shards[i];

		rdlock(s);
		core_stats(&s->t, st);
		unlock(s);
	}
}

static size_t sharded_len(struct map *mp)
{
	struct map_stats st;

	memset(&st, 0, sizeof(st));
	sum_stats(sm(mp), &st);
	return (size_t)st.entries;
}

static void sharded_stats(struct map *mp, struct map_stats *st)
{
	struct sharded_map *m = sm(mp);

	sum_stats(m, st);
	st->bytes += sizeof(*m) + m->nshards * sizeof(struct shard);
}

/* -EDEADLK inside a walk of this map (see Re-entry above). */
static int sharded_check(struct map *mp, struct map_check *out)
{
	struct sharded_map *m = sm(mp);
	int rc = 0;

	if (walk_of(m)) {
		snprintf(out->first, sizeof(out->first),
			 "map_check inside a walk of a sharded map: refused "
			 "(lock order)");
		return -EDEADLK;
	}
	for (unsigned i = 0; i < m->nshards; i++) {
		struct shard *s = &m->shards[i];

		rdlock(s);
		if (core_check(&s->t, out))
			rc = -EBADMSG;
		unlock(s);
	}
	return rc;
}

static const struct map_ops sharded_ops = {
	.open = sharded_open,
	.close = sharded_close,
	.get = sharded_get,
	.get_with = sharded_get_with,
	.put = sharded_put,
	.put_if_absent = sharded_put_if_absent,
	.del = sharded_delete,
	.range = sharded_range,
	.len = sharded_len,
	.stats = sharded_stats,
	.check = sharded_check,
};

const struct map_variant map_variant_sharded = {
	.name = "sharded",
	.description = "32 core tables, each behind its own rwlock, FNV-1 "
		       "shard choice (orcaman/concurrent-map)",
	.flags = MAP_V_THREADSAFE,
	.ops = &sharded_ops,
	.colour = "#2ca02c",
};

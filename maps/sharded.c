/*
 * maps/sharded.c - This file contains the `sharded` variant: N core
 * tables (maps/core.c), each behind its own pthread_rwlock_t, the key's
 * shard chosen by FNV-1a-32 of the key bytes, as orcaman/concurrent-map
 * does (32 shards by default; map_config.shards, a power of two).
 *
 * Layout: each shard (lock + table) is aligned to and padded to a cache
 * line multiple, so two shards' locks never share a line: threads working
 * on different shards do not bounce each other's lock words.
 *
 * Locking: an operation on a key takes only its shard's lock (read for get and
 * get_with, write for put/delete).  No operation ever holds two shard locks, so
 * there is no lock order to respect.  len, stats and check visit the shards one
 * at a time, each under its read lock: their sum is not a snapshot while
 * writers run.
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
 * get_with on the same map gets -EDEADLK, for every key (a key in the shard
 * being walked would deadlock; refusing all is the simpler rule).  len, stats
 * and check from inside the callback skip locking the shard this thread holds.
 */
#include <errno.h>
#include <pthread.h>
#include <stdalign.h>
#include <stdint.h>

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

/* FNV-1a, 32 bits, as orcaman/concurrent-map's fnv32(). */
static uint32_t fnv32(const void *key, size_t klen)
{
	const uint8_t *p = key;
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < klen; i++) {
		h ^= p[i];
		h *= 16777619u;
	}
	return h;
}

static struct shard *shard_of(struct sharded_map *m, const void *key,
			      size_t klen)
{
	return &m->shards[fnv32(key, klen) & (m->nshards - 1)];
}

static void rdlock(struct shard *s)
{
	ML_CHECK_PTHREAD(pthread_rwlock_rdlock(&s->rw));
}

static void wrlock(struct shard *s)
{
	ML_CHECK_PTHREAD(pthread_rwlock_wrlock(&s->rw));
}

static void unlock(struct shard *s)
{
	ML_CHECK_PTHREAD(pthread_rwlock_unlock(&s->rw));
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
		ML_CHECK_PTHREAD(pthread_rwlock_init(&m->shards[i].rw, NULL));
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

/* The borrowed read: fn runs under the key's shard read lock; the shard
 * is recorded as held, so len/stats/check from fn skip its lock. */
static int sharded_get_with(struct map *mp, const void *key, size_t klen,
			    map_read_fn fn, void *arg)
{
	struct shard *s;
	int rc;

	if (core_range_held(mp))
		return -EDEADLK;
	s = shard_of(sm(mp), key, klen);
	rdlock(s);
	rc = core_get_with(&s->t, mp, s, key, klen, fn, arg);
	unlock(s);
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

static int sharded_range(struct map *mp, map_range_fn fn, void *arg)
{
	struct sharded_map *m = sm(mp);
	int rc = 0;

	if (core_range_held(mp))
		return -EDEADLK;
	for (unsigned i = 0; i < m->nshards && !rc; i++) {
		struct shard *s = &m->shards[i];

		rdlock(s);
		rc = core_range(&s->t, mp, s, fn, arg);
		unlock(s);
	}
	return rc;
}

/* Visit each shard under its read lock, skipping the lock of the shard
 * this thread holds in a walk. */
static void each_shard(struct sharded_map *m,
		       void (*fn)(struct core_table *t, void *arg), void *arg)
{
	const void *held = core_range_held(&m->base);

	for (unsigned i = 0; i < m->nshards; i++) {
		struct shard *s = &m->shards[i];

		if (s != held)
			rdlock(s);
		fn(&s->t, arg);
		if (s != held)
			unlock(s);
	}
}

static void add_len(struct core_table *t, void *arg)
{
	*(size_t *)arg += core_len(t);
}

static size_t sharded_len(struct map *mp)
{
	size_t n = 0;

	each_shard(sm(mp), add_len, &n);
	return n;
}

static void add_stats(struct core_table *t, void *arg)
{
	core_stats(t, arg);
}

static void sharded_stats(struct map *mp, struct map_stats *st)
{
	struct sharded_map *m = sm(mp);

	each_shard(m, add_stats, st);
	st->bytes += sizeof(*m) + m->nshards * sizeof(struct shard);
}

struct check_arg {
	struct map_check *out;
	int rc;
};

static void check_one(struct core_table *t, void *arg)
{
	struct check_arg *a = arg;

	if (core_check(t, a->out))
		a->rc = -EBADMSG;
}

static int sharded_check(struct map *mp, struct map_check *out)
{
	struct check_arg a = {out, 0};

	each_shard(sm(mp), check_one, &a);
	return a.rc;
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
	.description = "32 core tables, each behind its own rwlock, FNV-1a "
		       "shard choice (orcaman/concurrent-map)",
	.flags = MAP_V_THREADSAFE,
	.ops = &sharded_ops,
};

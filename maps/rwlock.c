/*
 * maps/rwlock.c - This file contains the `rwlock` variant: the core table
 * (maps/core.c) behind one pthread_rwlock_t.
 *
 * Locking: get, get_with (through its callback), range, len, stats and
 * check hold `rw` for reading; put, put_if_absent and delete hold it for
 * writing.  A core-table read never
 * writes the table (no evacuation on reads, unlike writes), so readers may
 * share it.  A walk holds the read lock from its first entry to its last:
 * it sees a consistent snapshot, other readers proceed, and every writer
 * waits for the whole walk.  The lock uses glibc's default kind
 * (PTHREAD_RWLOCK_PREFER_READER_NP): a stream of overlapping readers or
 * walks can starve writers indefinitely - a behaviour the lab shows, not
 * one it hides.  (Go's sync.RWMutex prefers waiting writers instead.)
 *
 * Values: get retains under the read lock, so several threads may call
 * retain concurrently: the value's refcount must be atomic (the map's
 * contract requires thread-safe callbacks for thread-safe variants).
 *
 * Re-entry: a range or get_with callback that calls get/put/delete/range/
 * get_with on the same map gets -EDEADLK (a recursive read lock can deadlock
 * behind a waiting writer, a write lock always would); len, stats and check
 * from inside the callback read the table under the read lock this thread
 * already holds.
 *
 * Parallel to maps/mutex.c on purpose (the reason is in its header): the
 * two files differ only in which lock each operation takes.
 */
#include <errno.h>
#include <pthread.h>

#include "maps/alloc.h"
#include "maps/core.h"
#include "maps/map_impl.h"

struct rwlock_map {
	struct map base;
	pthread_rwlock_t rw; /* protects t */
	struct core_table t; /* read under rw (shared), written under rw (excl.) */
};

static struct rwlock_map *rm(struct map *m)
{
	return (struct rwlock_map *)m;
}

static void rdlock(struct rwlock_map *m)
{
	ML_CHECK_PTHREAD(pthread_rwlock_rdlock(&m->rw));
}

/* Every writer locks through this (mutant rwlock_nowrlock: it takes the
 * read lock, shared with readers and other writers; see maps/mutant.h). */
static void wrlock(struct rwlock_map *m)
{
	if (ML_MUTANT_IS(rwlock_nowrlock)) {
		ML_CHECK_PTHREAD(pthread_rwlock_rdlock(&m->rw));
		return;
	}
	ML_CHECK_PTHREAD(pthread_rwlock_wrlock(&m->rw));
}

static void unlock(struct rwlock_map *m)
{
	ML_CHECK_PTHREAD(pthread_rwlock_unlock(&m->rw));
}

static int rwlock_open(const struct map_config *cfg, struct map **out)
{
	struct rwlock_map *m = ml_calloc(ML_TAG_MAP, 1, sizeof(*m));
	int rc;

	if (!m)
		return -ENOMEM;
	rc = core_init(&m->t, cfg, false);
	if (rc) {
		core_destroy(&m->t);
		ml_free(m);
		return rc;
	}
	ML_CHECK_PTHREAD(pthread_rwlock_init(&m->rw, NULL));
	*out = &m->base;
	return 0;
}

static void rwlock_close(struct map *mp)
{
	struct rwlock_map *m = rm(mp);

	core_destroy(&m->t);
	ML_CHECK_PTHREAD(pthread_rwlock_destroy(&m->rw));
	ml_free(m);
}

static int rwlock_get(struct map *mp, const void *key, size_t klen, void **val)
{
	struct rwlock_map *m = rm(mp);
	int rc;

	*val = NULL;
	if (core_range_held(mp))
		return -EDEADLK;
	rdlock(m);
	rc = core_get(&m->t, key, klen, val);
	unlock(m);
	return rc;
}

/* The borrowed read: fn runs under the read lock, marked like a walk's
 * callback (other readers proceed, writers wait for it). */
static int rwlock_get_with(struct map *mp, const void *key, size_t klen,
			   map_read_fn fn, void *arg)
{
	struct rwlock_map *m = rm(mp);
	int rc;

	if (core_range_held(mp))
		return -EDEADLK;
	rdlock(m);
	rc = core_get_with(&m->t, mp, mp, key, klen, fn, arg);
	unlock(m);
	return rc;
}

static int rwlock_put(struct map *mp, const void *key, size_t klen, void *val)
{
	struct rwlock_map *m = rm(mp);
	int rc;

	if (core_range_held(mp))
		return -EDEADLK;
	wrlock(m);
	rc = core_put(&m->t, key, klen, val);
	unlock(m);
	return rc;
}

static int rwlock_put_if_absent(struct map *mp, const void *key, size_t klen,
				void *val, void **existing)
{
	struct rwlock_map *m = rm(mp);
	int rc;

	if (core_range_held(mp))
		return -EDEADLK;
	wrlock(m);
	rc = core_put_if_absent(&m->t, key, klen, val, existing);
	unlock(m);
	return rc;
}

static int rwlock_delete(struct map *mp, const void *key, size_t klen)
{
	struct rwlock_map *m = rm(mp);
	int rc;

	if (core_range_held(mp))
		return -EDEADLK;
	wrlock(m);
	rc = core_delete(&m->t, key, klen);
	unlock(m);
	return rc;
}

static int rwlock_range(struct map *mp, map_range_fn fn, void *arg)
{
	struct rwlock_map *m = rm(mp);
	int rc;

	if (core_range_held(mp))
		return -EDEADLK;
	rdlock(m);
	rc = core_range(&m->t, mp, mp, fn, arg);
	unlock(m);
	return rc;
}

static size_t rwlock_len(struct map *mp)
{
	struct rwlock_map *m = rm(mp);
	size_t n;

	if (core_range_held(mp)) /* this thread holds rw for reading */
		return core_len(&m->t);
	rdlock(m);
	n = core_len(&m->t);
	unlock(m);
	return n;
}

static void rwlock_stats(struct map *mp, struct map_stats *st)
{
	struct rwlock_map *m = rm(mp);
	bool held = core_range_held(mp) != NULL;

	if (!held)
		rdlock(m);
	core_stats(&m->t, st);
	if (!held)
		unlock(m);
	st->bytes += sizeof(*m);
}

static int rwlock_check(struct map *mp, struct map_check *out)
{
	struct rwlock_map *m = rm(mp);
	bool held = core_range_held(mp) != NULL;
	int rc;

	if (!held)
		rdlock(m);
	rc = core_check(&m->t, out);
	if (!held)
		unlock(m);
	return rc;
}

static const struct map_ops rwlock_ops = {
	.open = rwlock_open,
	.close = rwlock_close,
	.get = rwlock_get,
	.get_with = rwlock_get_with,
	.put = rwlock_put,
	.put_if_absent = rwlock_put_if_absent,
	.del = rwlock_delete,
	.range = rwlock_range,
	.len = rwlock_len,
	.stats = rwlock_stats,
	.check = rwlock_check,
};

const struct map_variant map_variant_rwlock = {
	.name = "rwlock",
	.description = "core table behind one pthread_rwlock_t (walks read-lock "
		       "it; writers wait)",
	.flags = MAP_V_THREADSAFE,
	.ops = &rwlock_ops,
	.colour = "#17becf",
};

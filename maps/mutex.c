/*
 * maps/mutex.c - This file contains the `mutex` variant: the core table
 * (maps/core.c) behind one pthread_mutex_t.
 *
 * Locking: every operation, including range, holds `mu` for its whole
 * duration (a get_with holds it while its callback runs).  A walk
 * therefore sees a consistent snapshot of the map, and blocks every other
 * operation until it returns - the global-lock stall
 * of the metrics incident.  Value retain (get) and release (overwrite,
 * delete) run under `mu`, so the callbacks must not call into the map.
 *
 * Re-entry: a range or get_with callback that calls get/put/delete/range/
 * get_with on the same map gets -EDEADLK (checked before locking, via
 * core_range_held); len, stats and check from inside the callback read the
 * table without locking, since this thread already holds `mu`.
 *
 * Parallel to maps/rwlock.c on purpose: each operation is its lock around
 * one core_* call, and one shared wrapper would need either an indirect
 * lock call on every operation of the benchmark's reference map (every
 * bench ratio is over mutex) or a macro that writes the functions.
 */
#include <errno.h>
#include <pthread.h>

#include "maps/alloc.h"
#include "maps/core.h"
#include "maps/map_impl.h"

struct mutex_map {
	struct map base;
	pthread_mutex_t mu;  /* protects t */
	struct core_table t; /* under mu */
};

static struct mutex_map *mm(struct map *m)
{
	return (struct mutex_map *)m;
}

/* Every operation locks through these two (mutant mutex_nolock: they do
 * nothing; see maps/mutant.h). */
static void lock(struct mutex_map *m)
{
	if (ML_MUTANT_IS(mutex_nolock))
		return;
	ML_CHECK_PTHREAD(pthread_mutex_lock(&m->mu));
}

static void unlock(struct mutex_map *m)
{
	if (ML_MUTANT_IS(mutex_nolock))
		return;
	ML_CHECK_PTHREAD(pthread_mutex_unlock(&m->mu));
}

static int mutex_open(const struct map_config *cfg, struct map **out)
{
	struct mutex_map *m = ml_calloc(ML_TAG_MAP, 1, sizeof(*m));
	int rc;

	if (!m)
		return -ENOMEM;
	rc = core_init(&m->t, cfg, false);
	if (rc) {
		core_destroy(&m->t);
		ml_free(m);
		return rc;
	}
	ML_CHECK_PTHREAD(pthread_mutex_init(&m->mu, NULL));
	*out = &m->base;
	return 0;
}

static void mutex_close(struct map *mp)
{
	struct mutex_map *m = mm(mp);

	core_destroy(&m->t);
	ML_CHECK_PTHREAD(pthread_mutex_destroy(&m->mu));
	ml_free(m);
}

static int mutex_get(struct map *mp, const void *key, size_t klen, void **val)
{
	struct mutex_map *m = mm(mp);
	int rc;

	*val = NULL;
	if (core_range_held(mp))
		return -EDEADLK;
	lock(m);
	rc = core_get(&m->t, key, klen, val);
	unlock(m);
	return rc;
}

/* The borrowed read: fn runs under mu, marked like a walk's callback. */
static int mutex_get_with(struct map *mp, const void *key, size_t klen,
			  map_read_fn fn, void *arg)
{
	struct mutex_map *m = mm(mp);
	int rc;

	if (core_range_held(mp))
		return -EDEADLK;
	lock(m);
	rc = core_get_with(&m->t, mp, mp, key, klen, fn, arg);
	unlock(m);
	return rc;
}

static int mutex_put(struct map *mp, const void *key, size_t klen, void *val)
{
	struct mutex_map *m = mm(mp);
	int rc;

	if (core_range_held(mp))
		return -EDEADLK;
	lock(m);
	rc = core_put(&m->t, key, klen, val);
	unlock(m);
	return rc;
}

static int mutex_put_if_absent(struct map *mp, const void *key, size_t klen,
			       void *val, void **existing)
{
	struct mutex_map *m = mm(mp);
	int rc;

	if (core_range_held(mp))
		return -EDEADLK;
	lock(m);
	rc = core_put_if_absent(&m->t, key, klen, val, existing);
	unlock(m);
	return rc;
}

static int mutex_delete(struct map *mp, const void *key, size_t klen)
{
	struct mutex_map *m = mm(mp);
	int rc;

	if (core_range_held(mp))
		return -EDEADLK;
	lock(m);
	rc = core_delete(&m->t, key, klen);
	unlock(m);
	return rc;
}

static int mutex_range(struct map *mp, map_range_fn fn, void *arg)
{
	struct mutex_map *m = mm(mp);
	int rc;

	if (core_range_held(mp))
		return -EDEADLK;
	lock(m);
	rc = core_range(&m->t, mp, mp, fn, arg);
	unlock(m);
	return rc;
}

static size_t mutex_len(struct map *mp)
{
	struct mutex_map *m = mm(mp);
	size_t n;

	if (core_range_held(mp)) /* this thread holds mu already */
		return core_len(&m->t);
	lock(m);
	n = core_len(&m->t);
	unlock(m);
	return n;
}

static void mutex_stats(struct map *mp, struct map_stats *st)
{
	struct mutex_map *m = mm(mp);
	bool held = core_range_held(mp) != NULL;

	if (!held)
		lock(m);
	core_stats(&m->t, st);
	if (!held)
		unlock(m);
	st->bytes += sizeof(*m);
}

static int mutex_check(struct map *mp, struct map_check *out)
{
	struct mutex_map *m = mm(mp);
	bool held = core_range_held(mp) != NULL;
	int rc;

	if (!held)
		lock(m);
	rc = core_check(&m->t, out);
	if (!held)
		unlock(m);
	return rc;
}

static const struct map_ops mutex_ops = {
	.open = mutex_open,
	.close = mutex_close,
	.get = mutex_get,
	.get_with = mutex_get_with,
	.put = mutex_put,
	.put_if_absent = mutex_put_if_absent,
	.del = mutex_delete,
	.range = mutex_range,
	.len = mutex_len,
	.stats = mutex_stats,
	.check = mutex_check,
};

const struct map_variant map_variant_mutex = {
	.name = "mutex",
	.description = "core table behind one pthread_mutex_t (walks hold it)",
	.flags = MAP_V_THREADSAFE,
	.ops = &mutex_ops,
	.colour = "#1f77b4",
};

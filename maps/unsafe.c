/*
 * maps/unsafe.c - This file contains the `unsafe` variant: the core table
 * (maps/core.c) with no synchronisation at all, exactly as a developer who
 * forgot the lock would share it between threads.
 *
 * Races it deliberately allows: all of them.  Concurrent writers and
 * readers run core.c's code unguarded; what that does (lost entries, lost
 * count updates, lost or doubly linked overflow chains, double frees and
 * use-after-free during evacuation, torn reads) is listed in core.c's
 * header.  Nothing here pretends: the symptoms are whatever the hardware
 * and the allocator make of the real races.
 *
 * MAP_F_DETECT turns on core.c's Go-style detector (hashWriting): the
 * process then dies with Go's "fatal error: concurrent map writes" (or
 * "... read and map write", "... iteration and map write") and exit status
 * 2, as a Go program does.  Like Go's, it is best-effort: it catches
 * overlapping operations often, not always.  Off, the races corrupt
 * silently, as plain C does.
 *
 * Single-threaded it is a correct map.  A range or get_with callback that calls
 * back into the map is refused with -EDEADLK (the core table cannot be modified
 * under a walk; see core.h).
 *
 * Locking: none.  Every field of struct unsafe_map is unprotected.  Every
 * operation still calls lock()/unlock(), which do nothing: they are where
 * the mutant unsafe_locked (maps/mutant.h) takes one global recursive
 * mutex, the fix a gate must see as "no longer reproduces".  An operation
 * added later must call them too.
 */
#include <errno.h>
#include <pthread.h>

#include "maps/alloc.h"
#include "maps/core.h"
#include "maps/map_impl.h"

struct unsafe_map {
	struct map base;
	struct core_table t; /* unprotected, by design */
};

static struct unsafe_map *um(struct map *m)
{
	return (struct unsafe_map *)m;
}

/* Mutant unsafe_locked only: one lock for every unsafe map; recursive, so
 * that len/stats/check from a range callback do not deadlock. */
static pthread_mutex_t mutant_mu = PTHREAD_RECURSIVE_MUTEX_INITIALIZER_NP;

static void lock(void)
{
	if (ML_MUTANT_IS(unsafe_locked))
		ML_CHECK_PTHREAD(pthread_mutex_lock(&mutant_mu));
}

static void unlock(void)
{
	if (ML_MUTANT_IS(unsafe_locked))
		ML_CHECK_PTHREAD(pthread_mutex_unlock(&mutant_mu));
}

static int unsafe_open(const struct map_config *cfg, struct map **out)
{
	struct unsafe_map *m = ml_calloc(ML_TAG_MAP, 1, sizeof(*m));
	int rc;

	if (!m)
		return -ENOMEM;
	rc = core_init(&m->t, cfg, (cfg->flags & MAP_F_DETECT) != 0);
	if (rc) {
		core_destroy(&m->t);
		ml_free(m);
		return rc;
	}
	*out = &m->base;
	return 0;
}

static void unsafe_close(struct map *m)
{
	core_destroy(&um(m)->t);
	ml_free(m);
}

static int unsafe_get(struct map *m, const void *key, size_t klen, void **val)
{
	int rc;

	*val = NULL;
	if (core_range_held(m))
		return -EDEADLK;
	lock();
	rc = core_get(&um(m)->t, key, klen, val);
	unlock();
	return rc;
}

static int unsafe_get_with(struct map *m, const void *key, size_t klen,
			   map_read_fn fn, void *arg)
{
	if (core_range_held(m))
		return -EDEADLK;
	return core_get_with(&um(m)->t, m, m, key, klen, fn, arg);
}

static int unsafe_put(struct map *m, const void *key, size_t klen, void *val)
{
	int rc;

	if (core_range_held(m))
		return -EDEADLK;
	lock();
	rc = core_put(&um(m)->t, key, klen, val);
	unlock();
	return rc;
}

static int unsafe_put_if_absent(struct map *m, const void *key, size_t klen,
				void *val, void **existing)
{
	int rc;

	if (core_range_held(m))
		return -EDEADLK;
	lock();
	rc = core_put_if_absent(&um(m)->t, key, klen, val, existing);
	unlock();
	return rc;
}

static int unsafe_delete(struct map *m, const void *key, size_t klen)
{
	int rc;

	if (core_range_held(m))
		return -EDEADLK;
	lock();
	rc = core_delete(&um(m)->t, key, klen);
	unlock();
	return rc;
}

static int unsafe_range(struct map *m, map_range_fn fn, void *arg)
{
	int rc;

	if (core_range_held(m))
		return -EDEADLK;
	lock();
	rc = core_range(&um(m)->t, m, m, fn, arg);
	unlock();
	return rc;
}

static size_t unsafe_len(struct map *m)
{
	size_t n;

	lock();
	n = core_len(&um(m)->t);
	unlock();
	return n;
}

static void unsafe_stats(struct map *m, struct map_stats *st)
{
	lock();
	core_stats(&um(m)->t, st);
	unlock();
	st->bytes += sizeof(struct unsafe_map);
}

static int unsafe_check(struct map *m, struct map_check *out)
{
	int rc;

	lock();
	rc = core_check(&um(m)->t, out);
	unlock();
	return rc;
}

static const struct map_ops unsafe_ops = {
	.open = unsafe_open,
	.close = unsafe_close,
	.get = unsafe_get,
	.get_with = unsafe_get_with,
	.put = unsafe_put,
	.put_if_absent = unsafe_put_if_absent,
	.del = unsafe_delete,
	.range = unsafe_range,
	.len = unsafe_len,
	.stats = unsafe_stats,
	.check = unsafe_check,
};

const struct map_variant map_variant_unsafe = {
	.name = "unsafe",
	.description = "Go's classic map in C, no lock: races corrupt it "
		       "(MAP_F_DETECT: Go's fatal error)",
	.flags = 0,
	.ops = &unsafe_ops,
	.colour = "#d62728",
};

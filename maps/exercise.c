/*
 * maps/exercise.c - This file contains the `exercise` variant: the
 * workshop's map for participants to make thread-safe (WORKSHOP.md).
 *
 * It ships UNSOLVED: the core table (maps/core.c) with a lock declared but
 * never taken, so it races exactly like `unsafe`.  Every place where the
 * lock belongs is marked "EXERCISE".  The participant adds the locking,
 * then checks it with:
 *
 *     ./run.sh exercise            # conformance, lock check, concurrency
 *     ./run.sh ci --variant exercise
 *
 * Rules to discover (answers in WORKSHOP-answers.md): which operations need
 * the lock (all of them, reads too: a get during a growth reads buckets
 * that a writer is evacuating); what a walk must hold and for how long;
 * why a range callback calling back into the map must be refused rather
 * than deadlock; whether a rwlock pays off for the incidents' mixes.
 *
 * It is excluded from the default matrix and from CI's expectations
 * (MAP_V_EXERCISE); CI checks only that it builds and that, unsolved, it
 * fails the concurrency suite and every probe of the lock check
 * (tests/exercise_probe.c: one deterministic probe per marker).
 *
 * Locking (once solved): `mu` protects `t`.
 *
 * Its shape repeats maps/mutex.c and tests/exercise_reference.c on
 * purpose: the participant fills in this file to become the other two.
 */
#include <errno.h>
#include <pthread.h>

#include "maps/alloc.h"
#include "maps/core.h"
#include "maps/map_impl.h"

struct exercise_map {
	struct map base;
	pthread_mutex_t mu;  /* EXERCISE: meant to protect t - never taken yet */
	struct core_table t; /* EXERCISE: shared by every thread, unprotected */
};

static struct exercise_map *em(struct map *m)
{
	return (struct exercise_map *)m;
}

static int exercise_open(const struct map_config *cfg, struct map **out)
{
	struct exercise_map *m = ml_calloc(ML_TAG_MAP, 1, sizeof(*m));
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

static void exercise_close(struct map *m)
{
	core_destroy(&em(m)->t);
	ML_CHECK_PTHREAD(pthread_mutex_destroy(&em(m)->mu));
	ml_free(m);
}

static int exercise_get(struct map *m, const void *key, size_t klen,
			void **val)
{
	*val = NULL;
	if (core_range_held(m))
		return -EDEADLK;
	/* EXERCISE 1: a reader races with a writer that grows the table. */
	return core_get(&em(m)->t, key, klen, val);
}

static int exercise_get_with(struct map *m, const void *key, size_t klen,
			     map_read_fn fn, void *arg)
{
	if (core_range_held(m))
		return -EDEADLK;
	/* EXERCISE 7: a borrowed read - fn uses the value with no reference
	 * of its own.  What keeps a concurrent delete from freeing it while
	 * fn runs? */
	return core_get_with(&em(m)->t, m, m, key, klen, fn, arg);
}

static int exercise_put(struct map *m, const void *key, size_t klen,
			void *val)
{
	if (core_range_held(m))
		return -EDEADLK;
	/* EXERCISE 2: two writers race on the same bucket and on growth. */
	return core_put(&em(m)->t, key, klen, val);
}

static int exercise_put_if_absent(struct map *m, const void *key,
				  size_t klen, void *val, void **existing)
{
	if (core_range_held(m))
		return -EDEADLK;
	/* EXERCISE 3: check-then-insert must be one atomic step. */
	return core_put_if_absent(&em(m)->t, key, klen, val, existing);
}

static int exercise_delete(struct map *m, const void *key, size_t klen)
{
	if (core_range_held(m))
		return -EDEADLK;
	/* EXERCISE 4: a lost delete is the payment incident's leak. */
	return core_delete(&em(m)->t, key, klen);
}

static int exercise_range(struct map *m, map_range_fn fn, void *arg)
{
	if (core_range_held(m))
		return -EDEADLK;
	/* EXERCISE 5: what must a walk hold, and what does that cost the
	 * writers (the metrics incident)? */
	return core_range(&em(m)->t, m, m, fn, arg);
}

static size_t exercise_len(struct map *m)
{
	/* EXERCISE 6: careful - a range callback may call len. */
	return core_len(&em(m)->t);
}

static void exercise_stats(struct map *m, struct map_stats *st)
{
	/* EXERCISE 8: stats and check read the whole table too (and may be
	 * called from a range callback, like len). */
	core_stats(&em(m)->t, st);
	st->bytes += sizeof(struct exercise_map);
}

static int exercise_check(struct map *m, struct map_check *out)
{
	/* EXERCISE 8 */
	return core_check(&em(m)->t, out);
}

static const struct map_ops exercise_ops = {
	.open = exercise_open,
	.close = exercise_close,
	.get = exercise_get,
	.get_with = exercise_get_with,
	.put = exercise_put,
	.put_if_absent = exercise_put_if_absent,
	.del = exercise_delete,
	.range = exercise_range,
	.len = exercise_len,
	.stats = exercise_stats,
	.check = exercise_check,
};

const struct map_variant map_variant_exercise = {
	.name = "exercise",
	.description = "workshop: the core table with the locking left for you "
		       "to add (WORKSHOP.md)",
	.flags = MAP_V_EXERCISE,
	.ops = &exercise_ops,
	.colour = "#8c564b",
};

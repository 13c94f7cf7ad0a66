/*
 * tests/exercise_reference.c - a solution of maps/exercise.c (the one
 * WORKSHOP-answers.md describes: `mu` around every operation, the walk
 * included) and, through `exercise_half`, its half-finished versions: with
 * exercise_half = p (an enum ep_place), the operation of place p takes no
 * lock, as if the participant had skipped that EXERCISE marker.  The
 * exercise check (tests/exercise_probe.c) must pass the whole solution and
 * fail every half (tests/check_exercise.c).  Test-only: not in the map
 * registry; opened through its ops.
 *
 * Locking: `mu` protects `t`; re-entry from a range or get_with callback
 * gets -EDEADLK before any lock, and len/stats/check called from inside a
 * walk read the table under the lock the walk already holds.
 *
 * A copy of maps/exercise.c solved, on purpose: it is the answer the
 * exercise check is checked against, so it repeats the participant's file
 * line for line rather than sharing code with it or with maps/mutex.c.
 */
#include <errno.h>
#include <pthread.h>

#include "maps/alloc.h"
#include "maps/core.h"
#include "maps/map_impl.h"
#include "tests/exercise_probe.h"
#include "tests/exercise_reference.h"

int exercise_half; /* the place left unlocked; 0 = none (set before use) */

struct ref_map {
	struct map base;
	pthread_mutex_t mu;  /* protects t */
	struct core_table t; /* under mu */
};

static struct ref_map *rm(struct map *m)
{
	return (struct ref_map *)m;
}

static void lock(struct map *m, enum ep_place p)
{
	if (exercise_half != (int)p && !core_range_held(m))
		ML_CHECK_PTHREAD(pthread_mutex_lock(&rm(m)->mu));
}

static void unlock(struct map *m, enum ep_place p)
{
	if (exercise_half != (int)p && !core_range_held(m))
		ML_CHECK_PTHREAD(pthread_mutex_unlock(&rm(m)->mu));
}

static int ref_open(const struct map_config *cfg, struct map **out)
{
	struct ref_map *m = ml_calloc(ML_TAG_MAP, 1, sizeof(*m));
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

static void ref_close(struct map *m)
{
	core_destroy(&rm(m)->t);
	ML_CHECK_PTHREAD(pthread_mutex_destroy(&rm(m)->mu));
	ml_free(m);
}

/* One locked call: the -EDEADLK check first, then the lock of place p. */
#define LOCKED(m, p, call)                                                   \
	do {                                                                  \
		int rc_;                                                      \
		if (core_range_held(m))                                       \
			return -EDEADLK;                                      \
		lock(m, p);                                                   \
		rc_ = (call);                                                 \
		unlock(m, p);                                                 \
		return rc_;                                                   \
	} while (0)

static int ref_get(struct map *m, const void *key, size_t klen, void **val)
{
	*val = NULL;
	LOCKED(m, EP_GET, core_get(&rm(m)->t, key, klen, val));
}

static int ref_get_with(struct map *m, const void *key, size_t klen,
			map_read_fn fn, void *arg)
{
	LOCKED(m, EP_GET_WITH, core_get_with(&rm(m)->t, m, m, key, klen, fn, arg));
}

static int ref_put(struct map *m, const void *key, size_t klen, void *val)
{
	LOCKED(m, EP_PUT, core_put(&rm(m)->t, key, klen, val));
}

static int ref_put_if_absent(struct map *m, const void *key, size_t klen,
			     void *val, void **existing)
{
	LOCKED(m, EP_PUT_IF_ABSENT,
	       core_put_if_absent(&rm(m)->t, key, klen, val, existing));
}

static int ref_delete(struct map *m, const void *key, size_t klen)
{
	LOCKED(m, EP_DELETE, core_delete(&rm(m)->t, key, klen));
}

static int ref_range(struct map *m, map_range_fn fn, void *arg)
{
	LOCKED(m, EP_RANGE, core_range(&rm(m)->t, m, m, fn, arg));
}

static size_t ref_len(struct map *m)
{
	size_t n;

	lock(m, EP_LEN);
	n = core_len(&rm(m)->t);
	unlock(m, EP_LEN);
	return n;
}

static void ref_stats(struct map *m, struct map_stats *st)
{
	lock(m, EP_STATS);
	core_stats(&rm(m)->t, st);
	unlock(m, EP_STATS);
	st->bytes += sizeof(struct ref_map);
}

static int ref_check(struct map *m, struct map_check *out)
{
	int rc;

	lock(m, EP_CHECK);
	rc = core_check(&rm(m)->t, out);
	unlock(m, EP_CHECK);
	return rc;
}

static const struct map_ops ref_ops = {
	.open = ref_open,
	.close = ref_close,
	.get = ref_get,
	.get_with = ref_get_with,
	.put = ref_put,
	.put_if_absent = ref_put_if_absent,
	.del = ref_delete,
	.range = ref_range,
	.len = ref_len,
	.stats = ref_stats,
	.check = ref_check,
};

const struct map_variant exercise_reference = {
	.name = "exercise_reference",
	.description = "tests: a solution of the exercise; exercise_half "
		       "leaves one place unlocked",
	.flags = MAP_V_EXERCISE,
	.ops = &ref_ops,
};

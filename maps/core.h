/*
 * maps/core.h - the core hash table: Go's classic map, in plain C.
 *
 * This file declares the table that the unsafe, mutex, rwlock and sharded
 * variants are built on; the design essay and invariants are in core.c.
 *
 * Context: the core table is NOT thread-safe.  Every function requires
 * that the caller excludes concurrent writers (a lock, a shard lock, or -
 * in the unsafe variant - nothing at all, which is the point).  Functions
 * return 0 or a negative errno as maps/map.h describes.
 *
 * Range re-entry.  The locked variants hold their lock through a walk, so
 * a callback that calls back into the same map would deadlock (or, for the
 * core table itself, mutate a table under a walk).  core_range() records
 * "this thread is inside a walk of <owner>" in a small thread-local stack;
 * a variant calls core_range_held(owner) at the top of each operation,
 * before it takes any lock, and refuses with -EDEADLK when it is set.
 */
#ifndef MAPLAB_CORE_H
#define MAPLAB_CORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "maps/map.h"

#define CORE_BUCKET_CNT 8
#define CORE_INLINE_KEY 16  /* keys up to this long live in the slot */
#define CORE_KLEN_LONG 0xff /* klen[] of a key stored out of line */

/* A key longer than CORE_INLINE_KEY: one ml_malloc(ML_TAG_KEYS) block,
 * its length first, so a compare reads the length from the line it reads
 * the bytes from. */
struct core_long_key {
	size_t len;      /* > CORE_INLINE_KEY */
	uint8_t bytes[]; /* len bytes */
};

/* A key slot: an inline key's bytes, zero past its length (a compare
 * checks all 16), or the long key the slot owns.  Which one: klen[]. */
union core_key {
	uint8_t inl[CORE_INLINE_KEY];
	struct core_long_key *ptr;
};

struct core_slot {
	union core_key key;
	void *val;
};

/* 256 bytes, 64-byte aligned: four cache lines ("Bucket layout" in
 * core.c).  Line 0 holds tophash, klen, overflow and slot 0, so a lookup
 * scans one line and reads a slot's key and value only on a tophash
 * match. */
struct core_bucket {
	/* top hash byte, or a slot state (< 5) */
	_Alignas(64) uint8_t tophash[CORE_BUCKET_CNT];
	uint8_t klen[CORE_BUCKET_CNT]; /* 0..16 inline, or CORE_KLEN_LONG */
	struct core_bucket *overflow;  /* next bucket of this chain or NULL */
	struct core_slot slot[CORE_BUCKET_CNT];
};

/* All fields are owned by whoever excludes writers (see above); none is
 * synchronised here, except `flags`, which only the detector uses. */
struct core_table {
	size_t count;                    /* live entries */
	unsigned flags;                  /* CORE_WRITING (detector only) */
	uint8_t B;                       /* log2 of the bucket count */
	bool same_size_grow;             /* current growth keeps B */
	bool detect;                     /* Go-style concurrent-use detector */
	uint64_t seed;                   /* hash seed */
	struct core_bucket *buckets;     /* 2^B buckets */
	struct core_bucket *oldbuckets;  /* previous array while growing */
	size_t nevacuate;                /* old buckets below this are moved */
	size_t noverflow;                /* overflow buckets of `buckets` */
	size_t oldnoverflow;             /* overflow buckets of `oldbuckets` */
	const struct map_value_ops *vops; /* NULL = borrowed values */
	uint64_t bytes;                  /* bytes held (arrays, overflow, keys) */
	uint64_t growths;                /* hashGrow calls */
	uint64_t evacuated;              /* old buckets evacuated */
};

/* Open/close.  core_init allocates the first bucket array (sized for
 * cfg->capacity_hint); core_destroy releases every value and frees all. */
int core_init(struct core_table *t, const struct map_config *cfg,
	      bool detect);
void core_destroy(struct core_table *t);

/* The map.h operations, on the table alone.  get and put_if_absent hand
 * back retained references (vops); put takes the caller's reference. */
int core_get(struct core_table *t, const void *key, size_t klen, void **val);
int core_put(struct core_table *t, const void *key, size_t klen, void *val);
int core_put_if_absent(struct core_table *t, const void *key, size_t klen,
		       void *val, void **existing);
int core_delete(struct core_table *t, const void *key, size_t klen);
size_t core_len(const struct core_table *t);
void core_stats(const struct core_table *t, struct map_stats *st);
/* Walk every structure and verify the invariants listed in core.c.
 * Adds to *out (reachable, counted, problems, first); returns 0 or
 * -EBADMSG.  Survives cyclic chains.  Only meaningful when quiescent. */
int core_check(const struct core_table *t, struct map_check *out);

/* Walk every entry; see core.c for what a walk sees.  `owner` (the map)
 * and `held` (what the caller locked for this walk: the map, a shard) are
 * recorded for the duration of each callback.  Returns 0, the callback's
 * nonzero value, or -EBUSY when walks nest deeper than 16. */
int core_range(struct core_table *t, const void *owner, const void *held,
	       map_range_fn fn, void *arg);

/* The borrowed read (map_get_with): find key, call fn(val, arg) with no
 * retain, the caller's guard held.  For the duration of fn, `owner` and
 * `held` are recorded as core_range() records them, so the same re-entry
 * rules apply.  0, -ENOENT (fn not called), or -EBUSY past 16 nested
 * walks and reads. */
int core_get_with(struct core_table *t, const void *owner, const void *held,
		  const void *key, size_t klen, map_read_fn fn, void *arg);

/* NULL when this thread is not inside a callback of a walk over owner;
 * otherwise the `held` pointer that walk registered. */
const void *core_range_held(const void *owner);

/* The seeded 64-bit hash the table uses; syncmap hashes with it too. */
uint64_t core_hash(uint64_t seed, const void *key, size_t len);

#endif

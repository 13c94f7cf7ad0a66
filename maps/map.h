/*
 * maps/map.h - the one public interface of maplab's hash maps.
 *
 * A map is opened by variant name ("unsafe", "mutex", "rwlock", "sharded",
 * "syncmap", "rcu", ...) and used only through these functions; struct map
 * is opaque.  Every variant is registered in maps/variants.def.
 *
 * Keys are byte strings, copied into the map.  Values are opaque pointers;
 * when the config names value ops they are reference-counted objects:
 *   - map_get() and map_put_if_absent() hand back a *retained* reference
 *     (the caller releases it); map_get_with() lends the value to a
 *     callback instead, with no retain and no release (below);
 *   - map_put() and a successful map_put_if_absent() *take* the caller's
 *     reference; on error the caller still owns it;
 *   - delete and overwrite release the map's reference (possibly later,
 *     after a grace period, in variants with lock-free readers);
 *   - after map_close() every retain has had its release.
 * Without value ops, values are borrowed pointers the map never touches.
 *
 * Threads: a thread that uses a map calls map_thread_enter() once before
 * its first call and map_thread_exit() after its last (the RCU variant
 * registers the thread with liburcu; nesting across maps is allowed).
 * Variants with lock-free readers free memory only after every entered
 * thread has moved on.
 *
 * Errors are 0 or a negative errno:
 *   -EINVAL  bad argument (NULL key, unknown variant, bad config)
 *   -ENOENT  key not present
 *   -EEXIST  key present (map_put_if_absent)
 *   -ENOMEM  allocation refused; the map is left as it was
 *   -EDEADLK a range or get_with callback called back into a map that
 *            holds a lock through the call (lock-free readers allow it)
 */
#ifndef MAPLAB_MAP_H
#define MAPLAB_MAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct map;

struct map_value_ops {
	void (*retain)(void *val, void *ctx);
	void (*release)(void *val, void *ctx);
	void *ctx;
};

/* map_config.flags */
#define MAP_F_DETECT 0x1u /* unsafe: Go-style "concurrent map writes" detector */

struct map_config {
	size_t capacity_hint;              /* expected entries; 0 = small */
	unsigned shards;                   /* sharded: power of two; 0 = 32 */
	const struct map_value_ops *vops;  /* NULL = borrowed values */
	uint64_t seed;                     /* hash seed; 0 = fixed default */
	unsigned flags;                    /* MAP_F_* */
};

/* Return nonzero to stop the walk; map_range() then returns that value.
 * key and val are borrowed for the duration of the call only. */
typedef int (*map_range_fn)(const void *key, size_t klen, void *val,
			    void *arg);

/*
 * A borrowed read: map_get_with(m, key, klen, fn, arg) looks key up and,
 * when it is present, calls fn(val, arg) once while the variant keeps val
 * alive - no retain, no release, so the read does not write the value's
 * cache line.  Returns 0 when fn ran, -ENOENT when the key is absent (fn
 * not called), -EINVAL, or -EDEADLK (re-entry, below).
 *
 * Where fn runs: inside the read-side section (rcu, syncmap); under the
 * read lock (rwlock; sharded: the key's shard); under the mutex (mutex);
 * bare (unsafe: no guarantee against other threads at all).
 *
 * How long fn may run: as long as a range callback, i.e. short and
 * bounded.  While it runs, writers of the map (of the shard) wait; under
 * the mutex everyone waits; under RCU every grace period waits, so every
 * deferred free of every RCU map in the process is held back.  fn must
 * not block on another thread that may be waiting for this map.
 *
 * What fn must not call (re-entry rules as for range): on a variant that
 * holds a lock across the call (unsafe, mutex, rwlock, sharded, i.e.
 * without MAP_V_RANGE_REENTRANT) get/put/put_if_absent/delete/range/
 * get_with of the same map return -EDEADLK, while len, stats and check
 * work; on MAP_V_RANGE_REENTRANT variants every call but map_close is
 * allowed.  Never map_close() the map, nor map_thread_exit() this thread.
 * Other maps may be used freely.
 *
 * What fn may copy out: the value's contents; or the pointer itself after
 * taking a reference of its own (the value type's retain; the map's
 * reference is held until fn returns, so retaining is safe).  Without a
 * reference of its own the pointer must not be used after fn returns: a
 * concurrent delete or overwrite may release it then (at once, or after
 * the next grace period).  val is shared with every other reader: fn may
 * write it only through the value's own synchronisation (atomics).
 */
typedef void (*map_read_fn)(void *val, void *arg);

struct map_stats {
	uint64_t entries;          /* current count as the variant knows it */
	uint64_t buckets;          /* bucket slots / table size */
	uint64_t overflow_buckets; /* core table: overflow buckets in use */
	uint64_t growths;          /* table doublings (or resizes) */
	uint64_t evacuated;        /* core table: buckets evacuated */
	uint64_t bytes;            /* bytes the map holds (its own structures) */
	/* syncmap (zero elsewhere) */
	uint64_t promotions;       /* dirty -> read swaps (O(1)) */
	uint64_t dirty_copied;     /* entries copied by dirty rebuilds (O(n)) */
	uint64_t misses;           /* loads/deletes that fell through */
	uint64_t expunged;         /* entries marked expunged by rebuilds */
	/* rcu (zero elsewhere) */
	uint64_t deferred_frees;   /* frees handed to call_rcu */
};

/* What map_check() found.  Only meaningful on a quiescent map. */
struct map_check {
	uint64_t reachable;   /* entries found by walking the structure */
	uint64_t counted;     /* the variant's own entry count */
	uint64_t problems;    /* invariant violations found */
	char first[160];      /* description of the first one, or "" */
};

/* variant flags */
#define MAP_V_THREADSAFE 0x1u /* safe for concurrent use */
#define MAP_V_RANGE_REENTRANT 0x2u /* range callback may call into the map */
#define MAP_V_EXERCISE 0x4u   /* workshop exercise: not in default matrix */

struct map_variant {
	const char *name;
	const char *description; /* one line */
	unsigned flags;          /* MAP_V_* */
	const struct map_ops *ops;
	const char *colour;      /* "#rrggbb" in every chart (the unsafe map
				  * red, so failing lines read as failing) */
};

size_t map_variant_count(void);
const struct map_variant *map_variant_at(size_t i);
const struct map_variant *map_variant_find(const char *name);
/* The mutant this library was built as (maps/mutants.def), "" in every
 * build but `make mutants`. */
const char *map_mutant(void);

int map_open(const char *variant, const struct map_config *cfg,
	     struct map **out);
void map_close(struct map *m);
const struct map_variant *map_variant_of(const struct map *m);

int map_get(struct map *m, const void *key, size_t klen, void **val);
int map_get_with(struct map *m, const void *key, size_t klen,
		 map_read_fn fn, void *arg);
int map_put(struct map *m, const void *key, size_t klen, void *val);
int map_put_if_absent(struct map *m, const void *key, size_t klen, void *val,
		      void **existing);
int map_delete(struct map *m, const void *key, size_t klen);
int map_range(struct map *m, map_range_fn fn, void *arg);
size_t map_len(struct map *m);

void map_thread_enter(struct map *m);
void map_thread_exit(struct map *m);

void map_stats(struct map *m, struct map_stats *st);
/* 0 when every invariant holds, -EBADMSG when not (details in *out),
 * -ENOTSUP when the variant cannot check, -EDEADLK from inside a range
 * callback of a variant that cannot check there (sharded). */
int map_check(struct map *m, struct map_check *out);

#endif

/*
 * maps/alloc.h - the counting allocator every byte of the lab goes through.
 *
 * Each allocation names a tag (its allocation site class).  The allocator
 * keeps, per tag, live bytes and allocation/free counts, plus a global live
 * total, its peak, and an optional byte budget.  Past the budget an
 * allocation fails cleanly (NULL), and the first tag that tipped it is
 * remembered: that is the lab's "clean oom" with forensics.
 *
 * Invariants:
 *  - ml_free() takes only pointers returned by ml_malloc()/ml_calloc()/
 *    ml_calloc_aligned();
 *    the tag and size live in a small header before the block, so callers
 *    never pass sizes and a racing caller cannot corrupt the books by
 *    passing a wrong one.
 *  - Counters are readable at any moment from any thread (the telemetry
 *    sampler does so every 10 ms) without stopping allocating threads; a
 *    snapshot is approximate while threads allocate, exact when quiescent.
 *  - The cost per call is a few uncontended atomics: no single cache line is
 *    written by every allocating thread (benchmarks go through this too).
 *
 * Locking: none; all shared state is atomics (see alloc.c).
 */
#ifndef MAPLAB_ALLOC_H
#define MAPLAB_ALLOC_H

#include <stddef.h>
#include <stdint.h>

/* X(ENUM, "name"): the allocation sites.  Maps use the first five; the
 * incidents use the rest.  Add a tag here, nowhere else. */
#define ML_TAGS(X)                                                        \
	X(MAP, "map")           /* map headers, shards, lock structs */       \
	X(BUCKETS, "buckets")   /* bucket arrays (core table) */              \
	X(OVERFLOW, "overflow") /* overflow buckets (core table) */           \
	X(KEYS, "keys")         /* copied key bytes */                        \
	X(ENTRIES, "entries")   /* per-entry nodes (syncmap, rcu) */          \
	X(VALUES, "values")     /* reference-counted value objects */         \
	X(PAYLOAD, "payload")   /* raw request/order payloads */              \
	X(REQUESTS, "requests") /* in-flight request state */                 \
	X(QUEUE, "queue")       /* queued notifications/events */             \
	X(CONFIG, "config")     /* configuration documents and snapshots */   \
	X(BENCH, "bench")       /* benchmark peers and key streams */         \
	X(OTHER, "other")

enum ml_tag {
#define ML_TAG_ENUM(e, s) ML_TAG_##e,
	ML_TAGS(ML_TAG_ENUM)
#undef ML_TAG_ENUM
	ML_TAG_COUNT
};

struct ml_alloc_snapshot {
	uint64_t live[ML_TAG_COUNT];   /* bytes currently allocated, per tag */
	uint64_t allocs[ML_TAG_COUNT]; /* successful allocations, per tag */
	uint64_t frees[ML_TAG_COUNT];  /* frees, per tag */
	uint64_t live_total;           /* sum of live[] */
	uint64_t peak_total;           /* highest live_total seen (approx.) */
	uint64_t budget;               /* 0 = unlimited */
	uint64_t failures;             /* allocations refused (budget or malloc) */
	int failed_tag;                /* tag of the first refusal, -1 if none */
};

/* Returns NULL (errno ENOMEM) when the budget would be exceeded or malloc
 * fails; size 0 is allowed and returns a unique pointer. */
void *ml_malloc(enum ml_tag tag, size_t size);
void *ml_calloc(enum ml_tag tag, size_t n, size_t size);
/* ml_calloc whose block starts at a multiple of align (a power of two,
 * 16 <= align <= ML_ALIGN_MAX; any other align returns NULL with errno
 * EINVAL and counts no failure).  Counted like any block (the requested
 * bytes only), freed with ml_free. */
#define ML_ALIGN_MAX 4096
void *ml_calloc_aligned(enum ml_tag tag, size_t align, size_t n,
			size_t size);
/* NULL is a no-op. */
void ml_free(void *p);
/* Bytes requested for p (without the header). */
size_t ml_size(const void *p);

/* 0 = unlimited.  May be changed at any time; takes effect for later
 * allocations. */
void ml_alloc_set_budget(uint64_t bytes);
void ml_alloc_snapshot(struct ml_alloc_snapshot *out);
/* Live bytes of all tags; cheaper than a full snapshot. */
uint64_t ml_alloc_live_total(void);
const char *ml_tag_name(int tag);

#endif

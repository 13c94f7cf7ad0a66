/*
 * maps/rcu.c - liburcu's lock-free resizable RCU hash table (cds_lfht),
 * memb flavour, behind the map interface.
 *
 * This file contains the "rcu" variant.  One node per key; a node is
 * immutable once added (key, hash and value never change): a store of an
 * existing key adds a new node in place of the old one (add_replace).
 *
 *   get            lookup inside a read-side section; the value is retained
 *                  inside the section.  Wait-free with respect to writers.
 *   get_with       the same lookup; the callback runs inside the section
 *                  and nothing is retained (map.h's borrowed read).  Its
 *                  callback may call into the map, as a range callback.
 *   put            cds_lfht_add_replace; the replaced node goes to call_rcu.
 *   put_if_absent  lookup, then cds_lfht_add_unique (no node is allocated
 *                  when the key is already there).
 *   delete         lookup + cds_lfht_del; the node goes to call_rcu.
 *   range          one read-side section around cds_lfht_for_each.  What it
 *                  sees: every key present for the whole walk exactly once
 *                  (a key replaced during the walk once, with either value
 *                  - liburcu's add_replace guarantee); keys added or deleted
 *                  during the walk may or may not be seen.  The callback may
 *                  call into the map (liburcu allows updates during a
 *                  traversal), so MAP_V_RANGE_REENTRANT.  A long walk holds
 *                  back every grace period: reclamation waits for it.
 *   len            a relaxed counter adjusted by successful adds/deletes
 *                  (cds_lfht_count_nodes walks the table: too slow for len).
 *
 * Reclamation: a node unlinked by replace or delete is passed to call_rcu;
 * its callback, after a grace period (every read-side section that could
 * have found the node has ended), releases the map's reference to the value
 * and frees the node.  So a reader can always retain a value it found.
 * close deletes every node the same way and waits for all callbacks
 * (rcu_barrier) before destroying the table, so the allocator accounting
 * balances when close returns.
 *
 * Threads: thread_enter/exit register/unregister with liburcu, nested per
 * thread across maps (maps/mlrcu.c); a thread that never entered is
 * registered lazily.
 *
 * Table size (stats.buckets, stats.growths): cds_lfht does not expose its
 * size.  We read the private `size` word of struct cds_lfht (liburcu
 * 0.13's src/rculfhash-internal.h layout, mirrored below) only after
 * checking at open that the mirror matches the table we just created
 * (max_nr_buckets, mm, flags, min_nr_alloc_buckets, size all as expected);
 * otherwise both stats stay 0.  growths counts doublings seen by the
 * inserting threads (auto-resize runs in liburcu's worker thread).
 *
 * Locking: none of our own; liburcu's.  Memory ordering: cds_lfht's add,
 * replace and delete are full barriers; lookups act as rcu_dereference.
 * Our counters are relaxed (statistics only).  Under TSan the node
 * publication through uninstrumented liburcu is annotated (release before
 * adding, acquire before reading a node found by liburcu).
 *
 * The read path, what it costs (callgrind, 16-byte keys, 10^4 keys, table
 * in docs/benchmark.md, `maplab bench --callgrind`): a get is about 300
 * instructions (get_with 290), an rwlock get about 310 (get_with 325): the
 * lock-free read does not win on instructions but on the shared cache
 * line an rwlock's readers all write.  Of the rcu get's, ~140
 * are cds_lfht_lookup (of which ~70 liburcu's table-driven bit reversal
 * and bucket lookup, out of our reach); the read-side section is inlined
 * from liburcu's static header (_LGPL_SOURCE, not under TSan), the hash
 * is one multiply per word plus a finaliser, the match compares the key
 * in words and not the hash (liburcu already compared the reversed hash),
 * and the node keeps what a lookup reads together (see struct rnode).
 * What the read path cannot shed is the writers' bill.  liburcu's
 * call_rcu thread runs one grace period per batch (it sleeps 10 ms
 * between batches); a grace period of the memb flavour waits until every
 * reader has left the section it was in: 100 spins, then per wait round
 * two membarriers (an IPI to every CPU running one of our threads) and a
 * sleep on a futex that the next unlock of any reader wakes.  A reader
 * preempted inside its section therefore costs a round per unlock of the
 * others until it runs again: with 2 workers on 2 loaded vCPUs, ~250
 * membarriers per grace period (18,000 a second) instead of the 4 of an
 * unpreempted one, and a futex syscall in the readers' unlocks.
 *
 * Why memb and not QSBR: QSBR's read side is free only while a thread
 * stays online and reports quiescent states between operations.  Threads
 * here enter a map and then block elsewhere (incident workers, tests), and
 * an online thread that blocks stalls every grace period, so each
 * operation would have to go online and offline again - three full
 * fences per get (liburcu 0.13), where memb's section has none.  Nor a
 * call_rcu thread per map: one more thread per map competing for the same
 * CPUs, each running its own grace periods.
 */
/* liburcu's read-side primitives inline (see mlrcu_read_lock_inl); under
 * TSan (ML_TSAN) they stay in the uninstrumented library. */
#include "maps/util.h"
#ifndef ML_TSAN
#define _LGPL_SOURCE
#endif
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <urcu/urcu-memb.h>
#include <urcu/rculfhash.h>

#include "maps/alloc.h"
#include "maps/map_impl.h"
#include "maps/mlrcu.h"

struct rmap;

/*
 * Layout.  A lookup reads node (next, reverse_hash), then klen, key and
 * val; they are contiguous (48 bytes for the benchmark's 16-byte keys),
 * and node sits 16 bytes into the struct, so with the allocator's 16-byte
 * header and malloc's 16-byte alignment the two words liburcu compares
 * on every hop never straddle a cache line.  What a lookup never reads
 * comes first (the rcu_head, written at retirement) or after the key
 * (the map back-pointer, read by the reclaim callback: node_map()).  The
 * hash is not stored: node.reverse_hash is the hash, bit-reversed, and
 * only check needs it back.  A node with a 16-byte key is a 72-byte
 * request, 96 bytes of heap with both headers.  Callgrind's cache model
 * (32 KiB D1, 512 KiB L2) on 10^4 keys: 2.44 L2 misses per r99 op, against
 * 2.83 for the old layout (list node, rcu_head, m, val, hash, klen, key:
 * 80 bytes, 112 of heap, the key always 48 bytes past the list node) and
 * 2.66 for the same fields with the back-pointer before the list node
 * (node at offset 24: one in four nodes straddles a line).
 */
struct rnode {
	struct rcu_head rh;        /* deferred free; written at retirement */
	struct cds_lfht_node node; /* linked by liburcu */
	size_t klen;               /* immutable */
	void *val;                 /* immutable */
	unsigned char key[];       /* immutable; then the map pointer */
};

_Static_assert(offsetof(struct rnode, node) % 16 == 0,
	       "the list node must not straddle a cache line");
_Static_assert(offsetof(struct rnode, key) % sizeof(void *) == 0,
	       "the back-pointer after the key must be aligned");

/* Bytes from key[0] to the map back-pointer: the key rounded up to the
 * pointer's alignment (key[] itself is at an 8-aligned offset). */
static size_t key_room(size_t klen)
{
	return (klen + sizeof(void *) - 1) & ~(sizeof(void *) - 1);
}

/* The map a node belongs to (immutable; stored after the key). */
static struct rmap **node_map(struct rnode *r)
{
	return (struct rmap **)(void *)(r->key + key_room(r->klen));
}

struct rkey {
	const void *key;
	size_t klen;
	unsigned long hash;
};

/* liburcu 0.13 struct cds_lfht, head only; used only after validation. */
struct lfht_mirror {
	unsigned long max_nr_buckets;
	const struct cds_lfht_mm_type *mm;
	const void *flavor;
	long count;
	pthread_mutex_t resize_mutex;
	pthread_attr_t *resize_attr;
	unsigned int in_progress_destroy;
	unsigned long resize_target;
	int resize_initiated;
	int flags;
	unsigned long min_alloc_buckets_order;
	unsigned long min_nr_alloc_buckets;
	void *split_count;
	unsigned long size;
};

/* ACCOUNTING is not optional here: without it liburcu grows the table
 * whenever one insert sees a chain of 3, which by chance keeps happening
 * at any load, and 10^6 keys drove one test process past 8 GiB of buckets.
 * With it, growth is count-based: up to 8 keys per bucket on average
 * before the table is resized to the count (and it shrinks on deletes). */
#define RM_FLAGS (CDS_LFHT_AUTO_RESIZE | CDS_LFHT_ACCOUNTING)
#define RLX memory_order_relaxed

struct rmap {
	struct map base;
	struct cds_lfht *ht;           /* immutable after open */
	const unsigned long *size_word; /* immutable: NULL when unknown */
	uint64_t seed;                 /* immutable */
	struct map_value_ops vops;     /* immutable */
	bool has_vops;                 /* immutable */
	char pad[64]; /* keep the counters below off the read-mostly line */
	_Atomic int64_t count;         /* relaxed: live keys */
	_Atomic uint64_t deferred;     /* relaxed: nodes handed to call_rcu */
	_Atomic uint64_t bytes;        /* relaxed: our own allocations */
	_Atomic unsigned long seen_size; /* largest table size seen */
	_Atomic uint64_t growths;      /* relaxed: doublings seen */
	_Atomic int64_t forced_at;     /* relaxed: count at the last forced
					  resize (see unstick_resize) */
};

/*
 * The key hash: 8-byte words folded with one multiply and a shift each,
 * then a full avalanche (cds_lfht takes the bucket from the low bits and
 * orders its list by the bit-reversed hash, so every bit has to mix).
 * About 25 instructions for a 16-byte key, inlined; the previous
 * murmur-style loop with two finalisers was 66 (callgrind).  Seeded per
 * map.
 */
static inline unsigned long rm_hash(const void *key, size_t len,
				    uint64_t seed)
{
	const unsigned char *p = key;
	uint64_t h = seed ^ (len * 0x9e3779b97f4a7c15ULL);
	uint64_t w;

	while (len >= 8) {
		memcpy(&w, p, 8);
		h = (h ^ w) * 0xbf58476d1ce4e5b9ULL;
		h ^= h >> 31;
		p += 8;
		len -= 8;
	}
	if (len) {
		w = 0;
		memcpy(&w, p, len);
		h = (h ^ w) * 0xbf58476d1ce4e5b9ULL;
		h ^= h >> 31;
	}
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ULL;
	h ^= h >> 33;
	return (unsigned long)h;
}

static struct rnode *to_rnode(struct cds_lfht_node *n)
{
	struct rnode *r = caa_container_of(n, struct rnode, node);

	/* Pairs with the release in add_node(): liburcu published it. */
	ml_tsan_acquire(r);
	return r;
}

/* liburcu calls match only for a node whose reverse_hash equals the
 * looked-up one (a bijection of the hash), so the hash is not compared
 * again here.  Keys of 8 and 16 bytes (the benchmark's) compare as words,
 * inline, instead of through a memcmp call. */
static int rm_match(struct cds_lfht_node *n, const void *key)
{
	const struct rkey *k = key;
	const struct rnode *r = to_rnode(n);
	uint64_t a0, a1, b0, b1;

	if (r->klen != k->klen)
		return 0;
	switch (k->klen) {
	case 0:
		return 1;
	case 8:
		memcpy(&a0, r->key, 8);
		memcpy(&b0, k->key, 8);
		return a0 == b0;
	case 16:
		memcpy(&a0, r->key, 8);
		memcpy(&a1, r->key + 8, 8);
		memcpy(&b0, k->key, 8);
		memcpy(&b1, (const unsigned char *)k->key + 8, 8);
		return ((a0 ^ b0) | (a1 ^ b1)) == 0;
	default:
		return memcmp(r->key, k->key, k->klen) == 0;
	}
}

static struct rnode *node_new(struct rmap *m, const struct rkey *k,
			      void *val)
{
	struct rnode *r = ml_malloc(ML_TAG_ENTRIES,
				    sizeof(*r) + key_room(k->klen) +
					    sizeof(struct rmap *));

	if (!r)
		return NULL;
	atomic_fetch_add_explicit(&m->bytes, ml_size(r), RLX);
	cds_lfht_node_init(&r->node);
	r->val = val;
	r->klen = k->klen;
	if (k->klen)
		memcpy(r->key, k->key, k->klen);
	*node_map(r) = m;
	ml_tsan_release(r);
	return r;
}

/* Frees a node that was never published (the caller keeps val). */
static void node_free_unpublished(struct rmap *m, struct rnode *r)
{
	atomic_fetch_sub_explicit(&m->bytes, ml_size(r), RLX);
	ml_free(r);
}

static void node_cb(struct rcu_head *rh)
{
	struct rnode *r = caa_container_of(rh, struct rnode, rh);
	struct rmap *m;

	mlrcu_cb_begin();
	m = *node_map(r);
	if (m->has_vops)
		m->vops.release(r->val, m->vops.ctx);
	atomic_fetch_sub_explicit(&m->bytes, ml_size(r), RLX);
	ml_free(r);
	mlrcu_cb_end();
}

/* Every unlinked node goes through here (mutant rcu_nograce: freed at
 * once, no grace period; see maps/mutant.h). */
static void node_retire(struct rmap *m, struct rnode *r)
{
	atomic_fetch_add_explicit(&m->deferred, 1, RLX);
	if (ML_MUTANT_IS(rcu_nograce)) {
		node_cb(&r->rh);
		return;
	}
	mlrcu_call(&r->rh, node_cb);
}

static unsigned long table_size(struct rmap *m)
{
	return m->size_word ? __atomic_load_n(m->size_word, __ATOMIC_RELAXED)
			    : 0;
}

/* After an insert: count the doublings auto-resize made since last seen. */
static void note_size(struct rmap *m)
{
	unsigned long now = table_size(m);
	unsigned long seen = atomic_load_explicit(&m->seen_size, RLX);

	while (now > seen) {
		if (atomic_compare_exchange_weak_explicit(&m->seen_size, &seen,
							  now, RLX, RLX)) {
			uint64_t d = 0;

			while (seen && (seen << d) < now)
				d++;
			atomic_fetch_add_explicit(&m->growths, d, RLX);
			break;
		}
	}
}

static void added(struct rmap *m)
{
	atomic_fetch_add_explicit(&m->count, 1, RLX);
	note_size(m);
}

/*
 * liburcu 0.13's lazy resize can stall for good: its launcher queues the
 * resize work and only then sets resize_initiated, so a worker that runs
 * first clears the flag before it is set, and no resize is queued again
 * (seen by the benchmark and the payment and config incidents on a busy
 * machine: a table stuck at 4-16 buckets under tens of thousands of keys,
 * lookups walking chains of thousands, runs classified `hang`).  When the
 * table holds more than 32 keys per bucket - four times the load at which
 * accounting should have grown it - force the resize from this (inserting,
 * registered, outside any read-side section) thread, at most once per
 * doubling of the count.  A healthy table never reaches the trigger.
 */
static void unstick_resize(struct rmap *m)
{
	int64_t n = atomic_load_explicit(&m->count, RLX);
	int64_t last = atomic_load_explicit(&m->forced_at, RLX);
	unsigned long size = table_size(m), target = 1;

	if (!size || n < 1024 || (uint64_t)n < 32ull * size || n < 2 * last)
		return;
	if (urcu_memb_read_ongoing()) /* a range callback: can't wait here */
		return;
	if (!atomic_compare_exchange_strong_explicit(&m->forced_at, &last, n,
						     RLX, RLX))
		return; /* another inserter is doing it */
	while (target < (unsigned long)n / 8 && target < (1UL << 30))
		target <<= 1;
	cds_lfht_resize(m->ht, target);
	note_size(m);
}

static int rm_open(const struct map_config *cfg, struct map **out)
{
	struct rmap *m = ml_calloc(ML_TAG_MAP, 1, sizeof(*m));
	unsigned long init = 1;
	const struct lfht_mirror *mir;

	if (!m)
		return -ENOMEM;
	while (init < cfg->capacity_hint && init < (1UL << 30))
		init <<= 1;
	m->seed = cfg->seed ? cfg->seed : 0x6d61706c6162ULL;
	if (cfg->vops) {
		m->vops = *cfg->vops;
		m->has_vops = true;
	}
	/* max_nr_buckets 0: the order allocator, no address-space
	 * reservation (the mmap allocator would reserve it up front, which a
	 * RLIMIT_AS cap refuses). */
	m->ht = cds_lfht_new_flavor(init, 1, 0, RM_FLAGS, &urcu_memb_flavor,
				    NULL);
	if (!m->ht) {
		ml_free(m);
		return -ENOMEM;
	}
	mir = (const struct lfht_mirror *)(const void *)m->ht;
	if (mir->mm == &cds_lfht_mm_order && mir->flags == RM_FLAGS &&
	    mir->min_nr_alloc_buckets == 1 && mir->size == init &&
	    mir->max_nr_buckets == 1UL << (sizeof(long) * 8 - 1))
		m->size_word = &mir->size;
	atomic_init(&m->seen_size, init);
	atomic_init(&m->bytes, ml_size(m));
	*out = &m->base;
	return 0;
}

static void rm_close(struct map *mm)
{
	struct rmap *m = (struct rmap *)mm;
	struct cds_lfht_iter it;
	struct cds_lfht_node *n;
	int rc;

	mlrcu_read_lock_inl();
	cds_lfht_for_each(m->ht, &it, n) {
		if (cds_lfht_del(m->ht, n) == 0)
			node_retire(m, to_rnode(n));
	}
	mlrcu_read_unlock_inl();
	mlrcu_barrier();
	rc = cds_lfht_destroy(m->ht, NULL);
	if (rc) {
		fprintf(stderr, "%s:%d: cds_lfht_destroy: %d\n", __FILE__,
			__LINE__, rc);
		abort();
	}
	ml_free(m);
}

/* The node holding k, or NULL.  Caller in a read-side section: the node
 * (and the map's reference to its value) outlive the section. */
static inline struct rnode *lookup_rcu(struct rmap *m, struct rkey *k)
{
	struct cds_lfht_iter it;
	struct cds_lfht_node *n;

	cds_lfht_lookup(m->ht, k->hash, rm_match, k, &it);
	n = cds_lfht_iter_get_node(&it);
	return n ? to_rnode(n) : NULL;
}

static int rm_get(struct map *mm, const void *key, size_t klen, void **val)
{
	struct rmap *m = (struct rmap *)mm;
	struct rkey k = {key, klen, rm_hash(key, klen, m->seed)};
	struct rnode *r;
	int rc = -ENOENT;

	*val = NULL;
	mlrcu_read_lock_inl();
	r = lookup_rcu(m, &k);
	if (r) {
		/* The node (and the map's reference) outlive the section. */
		if (m->has_vops)
			m->vops.retain(r->val, m->vops.ctx);
		*val = r->val;
		rc = 0;
	}
	mlrcu_read_unlock_inl();
	return rc;
}

/* The borrowed read: fn runs inside the read-side section that found the
 * node, so no grace period (and no release of the value) can complete
 * before it returns; nothing is written but the section's nesting word. */
static int rm_get_with(struct map *mm, const void *key, size_t klen,
		       map_read_fn fn, void *arg)
{
	struct rmap *m = (struct rmap *)mm;
	struct rkey k = {key, klen, rm_hash(key, klen, m->seed)};
	struct rnode *r;
	int rc = -ENOENT;

	mlrcu_read_lock_inl();
	r = lookup_rcu(m, &k);
	if (r) {
		fn(r->val, arg);
		rc = 0;
	}
	mlrcu_read_unlock_inl();
	return rc;
}

static int rm_put(struct map *mm, const void *key, size_t klen, void *val)
{
	struct rmap *m = (struct rmap *)mm;
	struct rkey k = {key, klen, rm_hash(key, klen, m->seed)};
	struct rnode *r = node_new(m, &k, val);
	struct cds_lfht_node *old;

	if (!r)
		return -ENOMEM;
	mlrcu_read_lock_inl();
	old = cds_lfht_add_replace(m->ht, k.hash, rm_match, &k, &r->node);
	mlrcu_read_unlock_inl();
	if (old) {
		node_retire(m, to_rnode(old));
	} else {
		added(m);
		unstick_resize(m);
	}
	return 0;
}

static int rm_put_if_absent(struct map *mm, const void *key, size_t klen,
			    void *val, void **existing)
{
	struct rmap *m = (struct rmap *)mm;
	struct rkey k = {key, klen, rm_hash(key, klen, m->seed)};
	struct cds_lfht_iter it;
	struct cds_lfht_node *n;
	struct rnode *r = NULL;
	int rc = 0;

	mlrcu_read_lock_inl();
	cds_lfht_lookup(m->ht, k.hash, rm_match, &k, &it);
	n = cds_lfht_iter_get_node(&it);
	if (!n) {
		r = node_new(m, &k, val);
		if (!r) {
			rc = -ENOMEM;
			goto out;
		}
		n = cds_lfht_add_unique(m->ht, k.hash, rm_match, &k, &r->node);
		if (n == &r->node) {
			r = NULL;
			added(m);
			goto out;
		}
	}
	/* Present: n is the existing node, valid inside this section. */
	if (existing) {
		struct rnode *e = to_rnode(n);

		if (m->has_vops)
			m->vops.retain(e->val, m->vops.ctx);
		*existing = e->val;
	}
	rc = -EEXIST;
out:
	mlrcu_read_unlock_inl();
	if (r) /* lost the race to another add: never published */
		node_free_unpublished(m, r);
	else if (rc == 0)
		unstick_resize(m);
	return rc;
}

static int rm_delete(struct map *mm, const void *key, size_t klen)
{
	struct rmap *m = (struct rmap *)mm;
	struct rkey k = {key, klen, rm_hash(key, klen, m->seed)};
	struct cds_lfht_iter it;
	struct cds_lfht_node *n;
	int rc = -ENOENT;

	mlrcu_read_lock_inl();
	/* A failed del means another thread removed or replaced the node
	 * first: look again, so a key that never went absent is not
	 * reported missing. */
	do {
		cds_lfht_lookup(m->ht, k.hash, rm_match, &k, &it);
		n = cds_lfht_iter_get_node(&it);
	} while (n && (rc = cds_lfht_del(m->ht, n)) != 0);
	rc = n ? 0 : -ENOENT;
	mlrcu_read_unlock_inl();
	if (rc == 0) {
		atomic_fetch_sub_explicit(&m->count, 1, RLX);
		node_retire(m, to_rnode(n));
	}
	return rc;
}

static int rm_range(struct map *mm, map_range_fn fn, void *arg)
{
	struct rmap *m = (struct rmap *)mm;
	struct cds_lfht_iter it;
	struct cds_lfht_node *n;
	int rc = 0;

	mlrcu_read_lock_inl();
	cds_lfht_for_each(m->ht, &it, n) {
		struct rnode *r = to_rnode(n);

		rc = fn(r->key, r->klen, r->val, arg);
		if (rc)
			break;
	}
	mlrcu_read_unlock_inl();
	return rc;
}

static size_t rm_len(struct map *mm)
{
	struct rmap *m = (struct rmap *)mm;
	int64_t n = atomic_load_explicit(&m->count, RLX);

	return n > 0 ? (size_t)n : 0;
}

static void rm_stats(struct map *mm, struct map_stats *st)
{
	struct rmap *m = (struct rmap *)mm;

	note_size(m);
	st->entries = rm_len(mm);
	st->buckets = table_size(m);
	st->growths = atomic_load_explicit(&m->growths, RLX);
	st->bytes = atomic_load_explicit(&m->bytes, RLX);
	st->deferred_frees = atomic_load_explicit(&m->deferred, RLX);
}

/* The order cds_lfht sorts by (check only; liburcu keeps its own). */
static unsigned long bit_reverse(unsigned long v)
{
	unsigned long r = 0;

	for (unsigned i = 0; i < sizeof(v) * 8; i++, v >>= 1)
		r = (r << 1) | (v & 1);
	return r;
}

/* Quiescent map only: every node reachable by its own key, hash matches
 * the key, no duplicate keys, count matches. */
static int rm_check(struct map *mm, struct map_check *out)
{
	struct rmap *m = (struct rmap *)mm;
	struct cds_lfht_iter it, it2;
	struct cds_lfht_node *n;

	mlrcu_read_lock_inl();
	cds_lfht_for_each(m->ht, &it, n) {
		struct rnode *r = to_rnode(n);
		struct rkey k = {r->key, r->klen,
				 rm_hash(r->key, r->klen, m->seed)};
		const char *bad = NULL;

		out->reachable++;
		if (bit_reverse(k.hash) != r->node.reverse_hash)
			bad = "node hash does not match its key";
		cds_lfht_lookup(m->ht, k.hash, rm_match, &k, &it2);
		if (cds_lfht_iter_get_node(&it2) != n)
			bad = "node not found by its own key";
		cds_lfht_next_duplicate(m->ht, rm_match, &k, &it2);
		if (cds_lfht_iter_get_node(&it2))
			bad = "duplicate key";
		if (bad && out->problems++ == 0)
			snprintf(out->first, sizeof(out->first), "%s", bad);
	}
	mlrcu_read_unlock_inl();
	out->counted = rm_len(mm);
	if (out->counted != out->reachable && out->problems++ == 0)
		snprintf(out->first, sizeof(out->first),
			 "count %llu but %llu nodes reachable",
			 (unsigned long long)out->counted,
			 (unsigned long long)out->reachable);
	return out->problems ? -EBADMSG : 0;
}

static const struct map_ops rm_ops = {
	.open = rm_open,
	.close = rm_close,
	.get = rm_get,
	.get_with = rm_get_with,
	.put = rm_put,
	.put_if_absent = rm_put_if_absent,
	.del = rm_delete,
	.range = rm_range,
	.len = rm_len,
	.thread_enter = mlrcu_map_thread_enter,
	.thread_exit = mlrcu_map_thread_exit,
	.stats = rm_stats,
	.check = rm_check,
};

const struct map_variant map_variant_rcu = {
	.name = "rcu",
	.description = "liburcu's lock-free RCU hash table (cds_lfht, memb "
		       "flavour); wait-free reads, call_rcu reclamation",
	.flags = MAP_V_THREADSAFE | MAP_V_RANGE_REENTRANT,
	.ops = &rm_ops,
	.colour = "#9467bd",
};

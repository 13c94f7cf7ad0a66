/*
 * harness/bench/bench_lfht.c - benchmark peer "lfht": liburcu's lock-free hash
 * table (cds_lfht, urcu-memb flavour) used raw, with no maplab wrapper, to
 * show what the `rcu` variant's own layer costs on top of it.
 *
 * One node per key: {cds_lfht_node, rcu_head, value, key bytes}, allocated
 * with ml_malloc(ML_TAG_BENCH).  A node is immutable once published:
 * an overwrite publishes a new node with cds_lfht_add_replace, a delete
 * unlinks with cds_lfht_del, and either way the old node (and the table's
 * reference on its value) is reclaimed by call_rcu after a grace period.
 *
 * Reclamation argument for get: the lookup and the retain of the value both
 * happen inside one read-side section.  The table's reference on a value is
 * dropped only from the call_rcu callback of the node that holds it, which
 * cannot run before that section ends, so the refcount is >= 1 when we
 * retain it.
 *
 * Locking: none.  Readers are wait-free inside urcu_memb_read_lock();
 * updaters are lock-free (cds_lfht's own CAS protocol).  The hash table
 * resizes itself (CDS_LFHT_AUTO_RESIZE) from liburcu's worker thread.
 *
 * Threads: thread_enter/exit register the thread with urcu-memb; the
 * benchmark never registers one thread twice (every map is used from
 * threads made for it; close registers its own thread for its walk).
 *
 * Table size: the table starts at the capacity hint (next power of two).
 * liburcu 0.13's lazy auto-resize can stop for good: the launcher stores
 * resize_initiated = 1 *after* queueing the resize work, so a worker that
 * finishes first leaves the flag set and no later resize is ever queued
 * (seen here as a 10^4-key table stuck at 4-8 buckets).  Starting at the
 * hinted size keeps the benchmark off that path.
 *
 * ThreadSanitizer: liburcu is not instrumented, so TSan sees neither the
 * publication of a node by cds_lfht_add_replace nor the grace period
 * before its reclaim.  Under TSan both are modelled as maps/mlrcu.h does
 * for the rcu variant: a release on the node before it is added and an
 * acquire on it before its fields are read (match, get); a release of one
 * grace-period token at every read-side unlock and call_rcu, and an
 * acquire of it at the start of every reclaim callback (and a release at
 * its end, acquired after rcu_barrier).  No-ops in other builds.
 *
 * _LGPL_SOURCE inlines the read-side primitives, as a performance-minded
 * direct user of liburcu would (not under TSan, see below).
 */
#include "maps/util.h" /* ML_TSAN, ml_tsan_acquire/release */
#ifndef ML_TSAN
/* Under TSan the read-side primitives stay in the (uninstrumented)
 * library: inlined, liburcu's own gp-futex accesses would be reported. */
#define _LGPL_SOURCE
#endif
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include <urcu/urcu-memb.h>
#include <urcu/rculfhash.h>

#include "harness/bench/bench_peer.h"
#include "maps/alloc.h"

/* The grace-period sync object of the TSan model (see the header). */
static char gp_token;

static inline void read_unlock(void)
{
	ml_tsan_release(&gp_token);
	urcu_memb_read_unlock();
}

static inline void call_reclaim(struct rcu_head *head,
				void (*fn)(struct rcu_head *))
{
	ml_tsan_release(&gp_token);
	urcu_memb_call_rcu(head, fn);
}

struct lpeer {
	struct cds_lfht *ht;              /* immutable after open */
	const struct map_value_ops *vops; /* immutable after open */
};

struct lnode {
	struct cds_lfht_node node;        /* linked into ht */
	struct rcu_head rcu;              /* for call_rcu after unlink */
	void *val;                        /* table's reference; immutable */
	const struct map_value_ops *vops; /* for the reclaim callback */
	size_t klen;
	char key[];                       /* klen bytes */
};

struct lkey {
	const void *p;
	size_t len;
};

#define LFHT_SEED 0x2545f4914f6cdd1dull

static inline uint64_t mix64(uint64_t x)
{
	x ^= x >> 32;
	x *= 0xd6e8feb86659fd93ull;
	x ^= x >> 32;
	x *= 0xd6e8feb86659fd93ull;
	x ^= x >> 32;
	return x;
}

/* A small word-at-a-time hash: fold 8-byte words with a multiply, finish
 * with a full avalanche. */
static uint64_t lhash(const void *key, size_t len)
{
	const unsigned char *p = key;
	uint64_t h = LFHT_SEED ^ (len * 0x9e3779b97f4a7c15ull);
	uint64_t w;

	while (len >= 8) {
		memcpy(&w, p, 8);
		h = (h ^ w) * 0xbf58476d1ce4e5b9ull;
		h ^= h >> 29;
		p += 8;
		len -= 8;
	}
	if (len) {
		w = 0;
		memcpy(&w, p, len);
		h = (h ^ w) * 0xbf58476d1ce4e5b9ull;
	}
	return mix64(h);
}

static int lmatch(struct cds_lfht_node *node, const void *key)
{
	const struct lnode *n = caa_container_of(node, struct lnode, node);
	const struct lkey *k = key;

	ml_tsan_acquire(n);
	return n->klen == k->len && memcmp(n->key, k->p, k->len) == 0;
}

static void lnode_reclaim(struct rcu_head *head)
{
	struct lnode *n = caa_container_of(head, struct lnode, rcu);

	ml_tsan_acquire(&gp_token);
	n->vops->release(n->val, n->vops->ctx);
	ml_free(n);
	ml_tsan_release(&gp_token);
}

static int l_open(const struct map_value_ops *vops, size_t capacity_hint,
		  void **out)
{
	struct lpeer *l = ml_calloc(ML_TAG_BENCH, 1, sizeof(*l));
	unsigned long init = 1;

	if (!l)
		return -ENOMEM;
	while (init < capacity_hint && init < (1ul << 30))
		init <<= 1;
	l->ht = cds_lfht_new_flavor(init, 1, 0,
				    CDS_LFHT_AUTO_RESIZE | CDS_LFHT_ACCOUNTING,
				    &urcu_memb_flavor, NULL);
	if (!l->ht) {
		ml_free(l);
		return -ENOMEM;
	}
	l->vops = vops;
	*out = l;
	return 0;
}

/* Call from a thread that has not entered (or has exited) the map, when no
 * other thread uses the table: it registers itself for the walk. */
static void l_close(void *h)
{
	struct lpeer *l = h;
	struct cds_lfht_iter it;
	struct lnode *n;

	urcu_memb_register_thread();
	urcu_memb_read_lock();
	cds_lfht_for_each_entry(l->ht, &it, n, node) {
		if (cds_lfht_del(l->ht, &n->node) == 0)
			call_reclaim(&n->rcu, lnode_reclaim);
	}
	read_unlock();
	urcu_memb_unregister_thread();
	urcu_memb_barrier(); /* every reclaim callback has run */
	ml_tsan_acquire(&gp_token);
	if (cds_lfht_destroy(l->ht, NULL) != 0)
		fprintf(stderr, "bench_lfht: cds_lfht_destroy failed\n");
	ml_free(l);
}

static int l_get(void *h, const void *key, size_t klen, void **val)
{
	struct lpeer *l = h;
	struct lkey k = {key, klen};
	struct cds_lfht_iter it;
	struct cds_lfht_node *node;
	void *v = NULL;

	urcu_memb_read_lock();
	cds_lfht_lookup(l->ht, lhash(key, klen), lmatch, &k, &it);
	node = cds_lfht_iter_get_node(&it);
	if (node) {
		ml_tsan_acquire(caa_container_of(node, struct lnode, node));
		v = caa_container_of(node, struct lnode, node)->val;
		l->vops->retain(v, l->vops->ctx);
	}
	read_unlock();
	*val = v;
	return v ? 0 : -ENOENT;
}

/* The borrowed read: fn runs inside the read-side section that found the
 * node, so the table's reference on the value outlives it. */
static int l_get_with(void *h, const void *key, size_t klen, map_read_fn fn,
		      void *arg)
{
	struct lpeer *l = h;
	struct lkey k = {key, klen};
	struct cds_lfht_iter it;
	struct cds_lfht_node *node;

	urcu_memb_read_lock();
	cds_lfht_lookup(l->ht, lhash(key, klen), lmatch, &k, &it);
	node = cds_lfht_iter_get_node(&it);
	if (node) {
		ml_tsan_acquire(caa_container_of(node, struct lnode, node));
		fn(caa_container_of(node, struct lnode, node)->val, arg);
	}
	read_unlock();
	return node ? 0 : -ENOENT;
}

static int l_put(void *h, const void *key, size_t klen, void *val)
{
	struct lpeer *l = h;
	struct lkey k = {key, klen};
	struct cds_lfht_node *old;
	struct lnode *n = ml_malloc(ML_TAG_BENCH, sizeof(*n) + klen);

	if (!n)
		return -ENOMEM;
	cds_lfht_node_init(&n->node);
	n->val = val;
	n->vops = l->vops;
	n->klen = klen;
	memcpy(n->key, key, klen);
	ml_tsan_release(n); /* published by add_replace */
	urcu_memb_read_lock();
	old = cds_lfht_add_replace(l->ht, lhash(key, klen), lmatch, &k,
				   &n->node);
	read_unlock();
	if (old)
		call_reclaim(&caa_container_of(old, struct lnode, node)->rcu,
				   lnode_reclaim);
	return 0;
}

static int l_del(void *h, const void *key, size_t klen)
{
	struct lpeer *l = h;
	struct lkey k = {key, klen};
	struct cds_lfht_iter it;
	struct cds_lfht_node *node;
	int rc = -ENOENT;

	urcu_memb_read_lock();
	cds_lfht_lookup(l->ht, lhash(key, klen), lmatch, &k, &it);
	node = cds_lfht_iter_get_node(&it);
	if (node && cds_lfht_del(l->ht, node) == 0) {
		call_reclaim(&caa_container_of(node, struct lnode, node)->rcu,
				   lnode_reclaim);
		rc = 0;
	}
	read_unlock();
	return rc;
}

static size_t l_len(void *h)
{
	struct lpeer *l = h;
	long before, after;
	unsigned long count;

	urcu_memb_read_lock();
	cds_lfht_count_nodes(l->ht, &before, &count, &after);
	read_unlock();
	return count;
}

static void l_enter(void *h)
{
	(void)h;
	urcu_memb_register_thread();
}

static void l_exit(void *h)
{
	(void)h;
	urcu_memb_unregister_thread();
}

const struct bench_peer bench_peer_lfht = {
	.name = "lfht",
	.description = "liburcu cds_lfht (urcu-memb) used raw, no maplab wrapper",
	.open = l_open,
	.close = l_close,
	.get = l_get,
	.get_with = l_get_with,
	.put = l_put,
	.del = l_del,
	.len = l_len,
	.thread_enter = l_enter,
	.thread_exit = l_exit,
};

/*
 * harness/bench/bench_ck.c - benchmark peer "ck": Concurrency Kit's ck_hs, the
 * best-known lock-free C hash set, used raw (as lfht is) in its SPMC mode
 * with ck_epoch reclamation.
 *
 * What ck_hs is: open addressing over an array of object pointers, probed in
 * cache-line-sized blocks.  Builds with pointer packing keep a few hash bits in
 * each pointer's unused top bits; Debian's libck 0.7.1 is built with
 * CK_MD_POINTER_PACK_DISABLE, so here every occupied slot a probe meets is
 * compared by dereferencing its object.  SPMC: any number of readers run
 * ck_hs_get lock-free, concurrently with ONE writer; ck_hs leaves writer
 * exclusion to the user.  Here every put and delete holds one mutex (wmu), as
 * ck_hs requires.
 *
 * One object per key: {ck_epoch_entry, value, vops, klen, key bytes},
 * ml_malloc(ML_TAG_BENCH).  An object is immutable once published: an
 * overwrite publishes a new one with ck_hs_set (which hands back the one
 * it replaced), a delete unlinks with ck_hs_remove; the old object (and
 * the table's reference on its value) is freed by an epoch callback.
 * Lookups pass a probe object built on the stack (ck_hs compares stored
 * objects with the object it is given, and hashes stored objects when it
 * grows, so the hash and compare callbacks both take objects).
 *
 * Reclamation (ck_epoch).  Every thread that enters the map gets an epoch
 * record (recycled from threads that left, else a new one, registered).
 * A get runs ck_hs_get and the retain (or a get_with's callback) between
 * ck_epoch_begin and ck_epoch_end on its own record.  The writer, under
 * wmu, defers every free with ck_epoch_call on one writer record (wrec,
 * used only under wmu) and calls ck_epoch_poll after each write, which
 * runs the callbacks of epochs that every active reader has left.  ck_hs
 * itself frees a replaced slot array through the allocator with
 * defer = true (after a grow or a rebuild): that free is deferred the same
 * way, through the writer record of the map being written (t_writing).
 * Close runs ck_epoch_barrier, which waits for every reader and runs
 * every pending callback, so the allocator balances when close returns.
 *
 * What a reader pays that an RCU reader does not: ck_epoch_begin stores
 * to its record and then needs store-to-load order before it loads the
 * global epoch (an xchg on x86, CK_MD_TSO), where liburcu's memb flavour
 * moves that cost to the writers (membarrier).
 *
 * ThreadSanitizer: libck is not instrumented (its atomics are inline
 * assembly), so TSan sees neither the publication of an object by
 * ck_hs_set nor the epoch before its free.  Under TSan both are modelled
 * as bench_lfht.c models liburcu: a release on the object before it is
 * published and an acquire on it before its fields are read (compare,
 * get); a release of one epoch token at every ck_epoch_end and
 * ck_epoch_call, an acquire of it at the start of every free callback (a
 * release at its end, acquired after the barrier in close).  No-ops in
 * other builds.
 *
 * Locking: wmu protects the table's writer side (ck_hs_set/remove, wrec,
 * records[]).  Readers take no lock.  Lock order: wmu only.
 * Threads: thread_enter/exit take and give back this thread's record
 * (t_rec, t_owner); a thread uses one ck map at a time (the benchmark's
 * threads are made per map).
 */
#include <errno.h>
#include <pthread.h>
#include <stdalign.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <ck_epoch.h>
#include <ck_hs.h>

#include "harness/bench/bench_peer.h"
#include "maps/util.h" /* ML_TSAN, ml_tsan_acquire/release */
#include "maps/alloc.h"
#include "maps/core.h"

/* The epoch sync object of the TSan model (see the header). */
static char epoch_token;

static inline void epoch_end(ck_epoch_record_t *r)
{
	ml_tsan_release(&epoch_token);
	ck_epoch_end(r, NULL);
}

static inline void epoch_call(ck_epoch_record_t *r, ck_epoch_entry_t *e,
			      ck_epoch_cb_t *fn)
{
	ml_tsan_release(&epoch_token);
	ck_epoch_call(r, e, fn);
}

#define CK_MAX_RECORDS 512 /* threads that ever entered one map */
#define PROBE_KEY 64       /* keys up to this long are probed from the stack */

struct cnode {
	ck_epoch_entry_t epoch;           /* deferred free after unlink */
	void *val;                        /* the table's reference; immutable */
	const struct map_value_ops *vops; /* for the free callback */
	size_t klen;                      /* immutable */
	unsigned char key[];              /* immutable */
};

struct cpeer {
	ck_hs_t hs;                       /* readers: lock-free; writes: wmu */
	ck_epoch_t epoch;                 /* records: lock-free registry */
	pthread_mutex_t wmu;              /* serialises ck_hs's one writer */
	ck_epoch_record_t *wrec;          /* under wmu */
	ck_epoch_record_t *records[CK_MAX_RECORDS]; /* under wmu: to free */
	unsigned nrecords;                /* under wmu */
	const struct map_value_ops *vops; /* immutable after open */
};

/* This thread's record and the map it belongs to (thread_enter/exit). */
static _Thread_local ck_epoch_record_t *t_rec;
static _Thread_local struct cpeer *t_owner;
/* The map whose writer is inside a ck_hs call (for deferred frees). */
static _Thread_local struct cpeer *t_writing;

/* ---- memory for ck_hs's own arrays ------------------------------------ */

/* A header before every block ck_hs allocates, so a deferred free has an
 * epoch entry; 32 bytes keep the block 16-byte aligned. */
struct chdr {
	alignas(16) ck_epoch_entry_t epoch;
	size_t size;
};

static void *ch_malloc(size_t size)
{
	struct chdr *b = ml_malloc(ML_TAG_BENCH, sizeof(*b) + size);

	if (!b)
		return NULL;
	b->size = size;
	return b + 1;
}

CK_EPOCH_CONTAINER(struct chdr, epoch, chdr_of)

static void chdr_cb(ck_epoch_entry_t *e)
{
	ml_tsan_acquire(&epoch_token);
	ml_free(chdr_of(e));
	ml_tsan_release(&epoch_token);
}

/* defer: readers may still be probing the block (a replaced array). */
static void ch_free(void *p, size_t size, bool defer)
{
	struct chdr *b = (struct chdr *)p - 1;

	(void)size;
	if (!p)
		return;
	if (defer && t_writing)
		epoch_call(t_writing->wrec, &b->epoch, chdr_cb);
	else
		ml_free(b);
}

static void *ch_realloc(void *p, size_t old, size_t size, bool defer)
{
	void *n = ch_malloc(size);

	if (n && p)
		memcpy(n, p, old < size ? old : size);
	if (n)
		ch_free(p, old, defer);
	return n;
}

static struct ck_malloc ch_allocator = {
	.malloc = ch_malloc,
	.realloc = ch_realloc,
	.free = ch_free,
};

/* ---- objects ------------------------------------------------------------ */

static unsigned long ch_hash(const void *obj, unsigned long seed)
{
	const struct cnode *n = obj;

	return (unsigned long)core_hash(seed, n->key, n->klen);
}

static bool ch_compare(const void *stored, const void *probe)
{
	const struct cnode *a = stored, *b = probe;

	ml_tsan_acquire(a); /* published by ck_hs_set (c_put) */
	return a->klen == b->klen && memcmp(a->key, b->key, a->klen) == 0;
}

CK_EPOCH_CONTAINER(struct cnode, epoch, cnode_of)

static void cnode_cb(ck_epoch_entry_t *e)
{
	struct cnode *n = cnode_of(e);

	ml_tsan_acquire(&epoch_token);
	n->vops->release(n->val, n->vops->ctx);
	ml_free(n);
	ml_tsan_release(&epoch_token);
}

/* A probe object for key: in buf when it fits, else allocated (*heap). */
struct probe {
	alignas(16) unsigned char buf[sizeof(struct cnode) + PROBE_KEY];
	struct cnode *n;
	bool heap;
};

static int probe_init(struct probe *p, const void *key, size_t klen)
{
	p->heap = klen > PROBE_KEY;
	p->n = p->heap ? ml_malloc(ML_TAG_BENCH, sizeof(*p->n) + klen)
		       : (struct cnode *)(void *)p->buf;
	if (!p->n)
		return -ENOMEM;
	p->n->klen = klen;
	memcpy(p->n->key, key, klen);
	return 0;
}

static void probe_done(struct probe *p)
{
	if (p->heap)
		ml_free(p->n);
}

/* ---- open / close ---------------------------------------------------------- */

static ck_epoch_record_t *record_new(void)
{
	return ml_calloc_aligned(ML_TAG_BENCH, alignof(ck_epoch_record_t), 1,
				 sizeof(ck_epoch_record_t));
}

static int c_open(const struct map_value_ops *vops, size_t capacity_hint,
		  void **out)
{
	struct cpeer *c = ml_calloc(ML_TAG_BENCH, 1, sizeof(*c));

	if (!c)
		return -ENOMEM;
	ck_epoch_init(&c->epoch);
	c->wrec = record_new();
	if (!c->wrec) {
		ml_free(c);
		return -ENOMEM;
	}
	ck_epoch_register(&c->epoch, c->wrec, NULL);
	/* ck_hs grows past half full: room for the hint without a grow.
	 * DELETE mode keeps probe bounds short under the churn mix. */
	if (!ck_hs_init(&c->hs,
			CK_HS_MODE_SPMC | CK_HS_MODE_OBJECT | CK_HS_MODE_DELETE,
			ch_hash, ch_compare, &ch_allocator,
			capacity_hint ? 2 * capacity_hint : 16,
			0x636b5f6873ull)) {
		ck_epoch_unregister(c->wrec);
		ml_free(c->wrec);
		ml_free(c);
		return -ENOMEM;
	}
	ML_CHECK_PTHREAD(pthread_mutex_init(&c->wmu, NULL));
	c->vops = vops;
	*out = c;
	return 0;
}

/* Quiescent: no other thread uses the map. */
static void c_close(void *h)
{
	struct cpeer *c = h;
	ck_hs_iterator_t it = CK_HS_ITERATOR_INITIALIZER;
	void *obj;

	ck_epoch_barrier(c->wrec); /* every deferred free has run */
	ml_tsan_acquire(&epoch_token);
	while (ck_hs_next(&c->hs, &it, &obj)) {
		struct cnode *n = obj;

		n->vops->release(n->val, n->vops->ctx);
		ml_free(n);
	}
	ck_hs_destroy(&c->hs);
	for (unsigned i = 0; i < c->nrecords; i++)
		ml_free(c->records[i]);
	ml_free(c->wrec);
	ML_CHECK_PTHREAD(pthread_mutex_destroy(&c->wmu));
	ml_free(c);
}

/* ---- threads ------------------------------------------------------------- */

static void c_enter(void *h)
{
	struct cpeer *c = h;
	ck_epoch_record_t *r = ck_epoch_recycle(&c->epoch, NULL);

	if (!r) {
		ML_CHECK_PTHREAD(pthread_mutex_lock(&c->wmu));
		if (c->nrecords == CK_MAX_RECORDS || !(r = record_new())) {
			fprintf(stderr, "bench_ck: no epoch record\n");
			abort();
		}
		c->records[c->nrecords++] = r;
		ML_CHECK_PTHREAD(pthread_mutex_unlock(&c->wmu));
		ck_epoch_register(&c->epoch, r, NULL);
	}
	t_rec = r;
	t_owner = c;
}

static void c_exit(void *h)
{
	(void)h;
	ck_epoch_unregister(t_rec); /* recyclable by the next thread */
	t_rec = NULL;
	t_owner = NULL;
}

/* This thread's record for c (entered: see bench_peer.h). */
static ck_epoch_record_t *my_record(struct cpeer *c)
{
	if (t_owner != c) {
		fprintf(stderr, "bench_ck: thread did not enter this map\n");
		abort();
	}
	return t_rec;
}

/* ---- operations ---------------------------------------------------------- */

/* What a read does with the object it found, inside the epoch section. */
typedef void (*c_use_fn)(struct cpeer *c, struct cnode *n, void *arg);

/* The lookup both reads share: use(c, n, arg) runs on the object holding
 * key between ck_epoch_begin and ck_epoch_end, so the table's reference
 * on its value outlives it.  Inlined into each read with use known, so
 * neither pays a call through use.  0 or -ENOENT (-ENOMEM for a long key
 * whose probe could not be allocated). */
static inline __attribute__((always_inline)) int
c_read(struct cpeer *c, const void *key, size_t klen, c_use_fn use, void *arg)
{
	ck_epoch_record_t *r = my_record(c);
	struct probe p;
	struct cnode *n;

	if (probe_init(&p, key, klen))
		return -ENOMEM;
	ck_epoch_begin(r, NULL);
	n = ck_hs_get(&c->hs, CK_HS_HASH(&c->hs, ch_hash, p.n), p.n);
	if (n) {
		ml_tsan_acquire(n);
		use(c, n, arg);
	}
	epoch_end(r);
	probe_done(&p);
	return n ? 0 : -ENOENT;
}

struct lend {
	map_read_fn fn;
	void *arg;
};

static void lend_value(struct cpeer *c, struct cnode *n, void *arg)
{
	const struct lend *l = arg;

	(void)c;
	l->fn(n->val, l->arg);
}

static int c_get_with(void *h, const void *key, size_t klen, map_read_fn fn,
		      void *arg)
{
	struct lend l = {fn, arg};

	return c_read(h, key, klen, lend_value, &l);
}

static void retain_value(struct cpeer *c, struct cnode *n, void *arg)
{
	c->vops->retain(n->val, c->vops->ctx);
	*(void **)arg = n->val;
}

static int c_get(void *h, const void *key, size_t klen, void **val)
{
	*val = NULL;
	return c_read(h, key, klen, retain_value, val);
}

/* Under wmu: free old after every reader that may see it has moved on. */
static void retire_locked(struct cpeer *c, struct cnode *old)
{
	if (old)
		epoch_call(c->wrec, &old->epoch, cnode_cb);
	ck_epoch_poll(c->wrec);
}

static int c_put(void *h, const void *key, size_t klen, void *val)
{
	struct cpeer *c = h;
	struct cnode *n = ml_malloc(ML_TAG_BENCH, sizeof(*n) + klen);
	void *old = NULL;
	bool ok;

	if (!n)
		return -ENOMEM;
	n->val = val;
	n->vops = c->vops;
	n->klen = klen;
	memcpy(n->key, key, klen);
	ml_tsan_release(n); /* published by ck_hs_set */
	ML_CHECK_PTHREAD(pthread_mutex_lock(&c->wmu));
	t_writing = c;
	/* SPMC: ck_hs_set publishes n for concurrent ck_hs_get callers
	 * (ck_hs's own fences order n's contents before the slot store). */
	ok = ck_hs_set(&c->hs, CK_HS_HASH(&c->hs, ch_hash, n), n, &old);
	if (ok)
		retire_locked(c, old);
	t_writing = NULL;
	ML_CHECK_PTHREAD(pthread_mutex_unlock(&c->wmu));
	if (!ok) {
		ml_free(n); /* never published; the caller keeps val */
		return -ENOMEM;
	}
	return 0;
}

static int c_del(void *h, const void *key, size_t klen)
{
	struct cpeer *c = h;
	struct probe p;
	struct cnode *old;

	if (probe_init(&p, key, klen))
		return -ENOMEM;
	ML_CHECK_PTHREAD(pthread_mutex_lock(&c->wmu));
	t_writing = c;
	old = ck_hs_remove(&c->hs, CK_HS_HASH(&c->hs, ch_hash, p.n), p.n);
	retire_locked(c, old);
	t_writing = NULL;
	ML_CHECK_PTHREAD(pthread_mutex_unlock(&c->wmu));
	probe_done(&p);
	return old ? 0 : -ENOENT;
}

static size_t c_len(void *h)
{
	struct cpeer *c = h;
	size_t n;

	ML_CHECK_PTHREAD(pthread_mutex_lock(&c->wmu));
	n = ck_hs_count(&c->hs);
	ML_CHECK_PTHREAD(pthread_mutex_unlock(&c->wmu));
	return n;
}

const struct bench_peer bench_peer_ck = {
	.name = "ck",
	.description = "Concurrency Kit ck_hs (SPMC, ck_epoch reclamation, "
		       "writers behind one mutex) used raw",
	.open = c_open,
	.close = c_close,
	.get = c_get,
	.get_with = c_get_with,
	.put = c_put,
	.del = c_del,
	.len = c_len,
	.thread_enter = c_enter,
	.thread_exit = c_exit,
};

/*
 * maps/syncmap.c - Go's sync.Map as it was up to Go 1.23 (src/sync/map.go),
 * in C, with RCU (liburcu memb) standing in for the garbage collector.
 *
 * This file contains the "syncmap" variant.  The algorithm is Go's, step by
 * step; Go's names are kept in comments so the two can be read side by side.
 *
 * Structures
 *   read   - an immutable hash table of entry pointers, published through
 *            one atomic word (the table pointer with bit 0 = `amended`, the
 *            dirty map holds keys the read table lacks).  Loaded lock-free
 *            (acquire); stored only under mu (release).  Once published a
 *            table is never written again (except its retirement fields,
 *            which no reader looks at).
 *   dirty  - a table of the same type, touched only under mu, never seen by
 *            lock-free readers until promoted.  When dirty != NULL it holds
 *            every non-expunged entry of read, plus new keys.  dirty != NULL
 *            exactly when read is amended.
 *   entry  - one per key, shared by read and dirty.  Its value pointer p is
 *            NULL (deleted), SM_EXPUNGED (deleted, and absent from dirty), or
 *            a box holding the value.  p changes only by atomic CAS/exchange;
 *            NULL->EXPUNGED and EXPUNGED->NULL only under mu.
 *   box    - the value cell; every store allocates one (as in Go).
 *
 * The operations (Go name in parentheses):
 *   get (Load): read table, lock-free.  If absent and amended: lock, look
 *     again, then in dirty, and count a miss (missLocked).  get_with is
 *     the same Load with the callback run inside the read-side section in
 *     place of the retain (map.h's borrowed read).
 *   put (Store/Swap): if the key is in read and not expunged, CAS the box in
 *     lock-free.  Otherwise under mu: unexpunge (re-adding to dirty) and
 *     swap, or swap in dirty, or add a new entry to dirty - first rebuilding
 *     dirty from read when there is none (dirtyLocked: every non-expunged
 *     read entry copied, deleted ones expunged; O(n) under mu; counted in
 *     stats.dirty_copied) and marking read amended.  Stores never count
 *     misses.
 *   put_if_absent (LoadOrStore): the same shape; as in Go it counts a miss
 *     when it finds the key in dirty.
 *   delete (LoadAndDelete): like get (including the miss); a key found only
 *     in dirty is removed from dirty; then the entry's box is CASed to NULL.
 *   missLocked: misses++; when misses >= len(dirty), dirty becomes read (an
 *     O(1) pointer swap: stats.promotions), dirty = NULL, misses = 0.
 *   range (Range): if amended, promote under mu (held only for the swap),
 *     then walk the read table lock-free.  The callback may call back into
 *     the map (MAP_V_RANGE_REENTRANT).  No key is visited twice; a value
 *     stored or deleted during the walk may or may not be seen.
 *   len: Go has no Len; here a relaxed counter of live entries, adjusted on
 *     each nil/expunged<->live transition (one shared counter Go lacks).
 *
 * Reclamation (C has no GC).  Everything a lock-free reader may hold is
 * freed only after an RCU grace period (liburcu memb, call_rcu):
 *   - every operation runs inside one read-side section, from its first
 *     load of read to its last use of an entry or box;
 *   - a replaced or deleted box: call_rcu; the callback releases the value
 *     (the map's reference) and frees the box.  So get can load p and retain
 *     the value inside its section: the map's reference cannot be dropped
 *     before the section ends, closing the load->retain window;
 *   - an entry removed from dirty by delete (a key never published in
 *     read): call_rcu after its box was CASed away;
 *   - an old read table, at promotion: call_rcu.  Its expunged entries are
 *     exactly the entries in the old table but not the new one, and they
 *     can never come back (unexpunge needs the entry in the current read),
 *     so they are freed with it.  To keep promotion O(1) they are kept on a
 *     graveyard list (under mu) as they are expunged and unexpunged, and the
 *     list is handed over whole.
 *   - dirty tables grown or dropped under mu are freed at once (unpublished).
 *   close waits for every callback (rcu_barrier) before freeing the rest.
 *
 * Locking: one mutex mu (no lock order: nothing else is taken under it
 * except the allocator, which is lock-free).  Functions named *_locked need
 * mu held.  Memory orders are stated where they are used.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "maps/alloc.h"
#include "maps/core.h"
#include "maps/map_impl.h"
#include "maps/mlrcu.h"

struct smmap;

struct smbox {
	struct rcu_head rh; /* deferred free after replace/delete */
	struct smmap *m;    /* immutable: for the callback */
	void *val;          /* immutable after publication */
};

/* The expunged marker (Go: `var expunged = new(any)`). */
static struct smbox sm_expunged_box;
#define SM_EXPUNGED (&sm_expunged_box)

struct smentry {
	_Atomic(struct smbox *) p; /* NULL / SM_EXPUNGED / live box; see top */
	struct smentry *gnext;     /* under mu: graveyard links (expunged) */
	struct smentry *gprev;     /* under mu */
	struct rcu_head rh;        /* deferred free */
	struct smmap *m;           /* immutable */
	uint64_t hash;             /* immutable */
	size_t klen;               /* immutable */
	unsigned char key[];       /* immutable copy of the key */
};

/* Open addressing with linear probing; immutable once published. */
struct smtab {
	struct rcu_head rh;        /* retirement only, after unpublish */
	struct smentry *graves;    /* retirement only: expunged entries */
	struct smmap *m;           /* immutable */
	size_t mask;               /* slots - 1 (a power of two minus 1) */
	size_t count;              /* used slots */
	struct smentry *slot[];    /* NULL = empty */
};

#define SM_AMENDED ((uintptr_t)1)

struct smmap {
	struct map base;
	/* struct smtab * | SM_AMENDED: stored under mu, loaded lock-free. */
	_Atomic uintptr_t read;
	uint64_t seed;                  /* immutable */
	struct map_value_ops vops;      /* immutable */
	bool has_vops;                  /* immutable */
	/* 64 bytes between the line every reader loads and the lock words
	 * every slow-path writer dirties: they never share a cache line. */
	char pad0[64];
	pthread_mutex_t mu;
	struct smtab *dirty;            /* under mu */
	size_t misses_now;              /* under mu: Go's m.misses */
	struct smentry *graveyard;      /* under mu: entries now expunged */
	char pad1[64];
	/* Statistics: relaxed atomics - counts only, nothing is derived from
	 * them.  Written under mu except live, deferred and bytes. */
	_Atomic int64_t live;
	_Atomic uint64_t promotions, dirty_copied, misses, expunged;
	_Atomic uint64_t deferred, bytes;
};

#define RLX memory_order_relaxed

/* ---- helpers ---------------------------------------------------------- */

static void *sm_alloc(struct smmap *m, enum ml_tag tag, size_t size)
{
	void *p = ml_malloc(tag, size);

	if (p)
		atomic_fetch_add_explicit(&m->bytes, ml_size(p), RLX);
	return p;
}

static void sm_free(struct smmap *m, void *p)
{
	if (!p)
		return;
	atomic_fetch_sub_explicit(&m->bytes, ml_size(p), RLX);
	ml_free(p);
}

/* The dirty map's mutex is taken through these two (mutant
 * syncmap_nolock: they do nothing; see maps/mutant.h). */
static void sm_lock(struct smmap *m)
{
	if (ML_MUTANT_IS(syncmap_nolock))
		return;
	ML_CHECK_PTHREAD(pthread_mutex_lock(&m->mu));
}

static void sm_unlock(struct smmap *m)
{
	if (ML_MUTANT_IS(syncmap_nolock))
		return;
	ML_CHECK_PTHREAD(pthread_mutex_unlock(&m->mu));
}

/* Acquire: pairs with the release store that published the table, so its
 * slots and the entries they point to are initialised when we read them. */
static uintptr_t load_read(struct smmap *m)
{
	return atomic_load_explicit(&m->read, memory_order_acquire);
}

static void store_read_locked(struct smmap *m, uintptr_t r)
{
	atomic_store_explicit(&m->read, r, memory_order_release);
}

static struct smtab *rtab(uintptr_t r)
{
	return (struct smtab *)(r & ~SM_AMENDED);
}

static bool ramended(uintptr_t r)
{
	return r & SM_AMENDED;
}

/* ---- tables ------------------------------------------------------------ */

static struct smtab *tab_new(struct smmap *m, size_t need)
{
	size_t slots = 8;
	struct smtab *t;

	while (slots * 3 < need * 4 + 4)
		slots <<= 1;
	t = sm_alloc(m, ML_TAG_BUCKETS,
		     sizeof(*t) + slots * sizeof(t->slot[0]));
	if (!t)
		return NULL;
	memset(t, 0, sizeof(*t) + slots * sizeof(t->slot[0]));
	t->m = m;
	t->mask = slots - 1;
	return t;
}

static bool entry_is(const struct smentry *e, uint64_t h, const void *key,
		     size_t klen)
{
	return e->hash == h && e->klen == klen &&
	       (klen == 0 || memcmp(e->key, key, klen) == 0);
}

static struct smentry *tab_find(const struct smtab *t, uint64_t h,
				const void *key, size_t klen)
{
	size_t i;

	if (!t)
		return NULL;
	for (i = h & t->mask; t->slot[i]; i = (i + 1) & t->mask)
		if (entry_is(t->slot[i], h, key, klen))
			return t->slot[i];
	return NULL;
}

/* The caller made room (tab_new / dirty_reserve_locked). */
static void tab_insert(struct smtab *t, struct smentry *e)
{
	size_t i = e->hash & t->mask;

	while (t->slot[i])
		i = (i + 1) & t->mask;
	t->slot[i] = e;
	t->count++;
}

/* Unpublished tables only (dirty).  Backward-shift deletion. */
static struct smentry *tab_remove(struct smtab *t, uint64_t h,
				  const void *key, size_t klen)
{
	size_t i, j, k;
	struct smentry *e;

	for (i = h & t->mask; t->slot[i]; i = (i + 1) & t->mask)
		if (entry_is(t->slot[i], h, key, klen))
			break;
	e = t->slot[i];
	if (!e)
		return NULL;
	for (j = i;;) {
		j = (j + 1) & t->mask;
		if (!t->slot[j])
			break;
		k = t->slot[j]->hash & t->mask;
		/* Move slot j back to the hole at i unless its home k lies
		 * cyclically in (i, j]. */
		if ((i <= j) ? (k <= i || k > j) : (k <= i && k > j)) {
			t->slot[i] = t->slot[j];
			i = j;
		}
	}
	t->slot[i] = NULL;
	t->count--;
	return e;
}

/* Room for `extra` more entries in dirty; grows it (unpublished: the old
 * array is freed at once).  -ENOMEM leaves dirty as it was. */
static int dirty_reserve_locked(struct smmap *m, size_t extra)
{
	struct smtab *t = m->dirty, *nt;

	if ((t->count + extra) * 4 <= (t->mask + 1) * 3)
		return 0;
	nt = tab_new(m, (t->count + extra) * 2);
	if (!nt)
		return -ENOMEM;
	for (size_t i = 0; i <= t->mask; i++)
		if (t->slot[i])
			tab_insert(nt, t->slot[i]);
	m->dirty = nt;
	sm_free(m, t);
	return 0;
}

/* ---- boxes, entries, deferred frees -------------------------------------- */

static struct smbox *box_new(struct smmap *m, void *val)
{
	struct smbox *b = sm_alloc(m, ML_TAG_ENTRIES, sizeof(*b));

	if (b) {
		b->m = m;
		b->val = val;
	}
	return b;
}

static void box_cb(struct rcu_head *rh)
{
	struct smbox *b = caa_container_of(rh, struct smbox, rh);
	struct smmap *m;

	mlrcu_cb_begin();
	m = b->m;
	if (m->has_vops)
		m->vops.release(b->val, m->vops.ctx);
	sm_free(m, b);
	mlrcu_cb_end();
}

/* A box that was replaced or deleted: release its value after a grace
 * period. */
static void box_retire(struct smmap *m, struct smbox *b)
{
	atomic_fetch_add_explicit(&m->deferred, 1, RLX);
	mlrcu_call(&b->rh, box_cb);
}

static struct smentry *entry_new(struct smmap *m, const void *key,
				 size_t klen, uint64_t h, struct smbox *b)
{
	struct smentry *e = sm_alloc(m, ML_TAG_ENTRIES, sizeof(*e) + klen);

	if (!e)
		return NULL;
	memset(e, 0, sizeof(*e));
	atomic_init(&e->p, b);
	e->m = m;
	e->hash = h;
	e->klen = klen;
	if (klen)
		memcpy(e->key, key, klen);
	return e;
}

static void entry_cb(struct rcu_head *rh)
{
	struct smentry *e = caa_container_of(rh, struct smentry, rh);

	mlrcu_cb_begin();
	sm_free(e->m, e);
	mlrcu_cb_end();
}

static void tab_cb(struct rcu_head *rh)
{
	struct smtab *t = caa_container_of(rh, struct smtab, rh);
	struct smmap *m;
	struct smentry *e, *next;

	mlrcu_cb_begin();
	m = t->m;
	for (e = t->graves; e; e = next) {
		next = e->gnext;
		sm_free(m, e);
	}
	sm_free(m, t);
	mlrcu_cb_end();
}

/* Go: entry.load.  Acquire pairs with the release of the CAS that stored
 * the box, so box->val is initialised. */
static struct smbox *entry_load(struct smentry *e)
{
	struct smbox *b = atomic_load_explicit(&e->p, memory_order_acquire);

	return (b == NULL || b == SM_EXPUNGED) ? NULL : b;
}

/* Go: entry.trySwap.  false when expunged; else *old = previous box (NULL
 * when the entry was deleted).  acq_rel on success: release publishes nb,
 * acquire makes the old box's contents ours to retire. */
static bool entry_try_swap(struct smentry *e, struct smbox *nb,
			   struct smbox **old)
{
	struct smbox *p = atomic_load_explicit(&e->p, RLX); /* CAS checks */

	for (;;) {
		if (p == SM_EXPUNGED)
			return false;
		if (atomic_compare_exchange_weak_explicit(
			    &e->p, &p, nb, memory_order_acq_rel, RLX)) {
			*old = p;
			return true;
		}
	}
}

/* Go: entry.swapLocked; the entry is known not to be expunged. */
static struct smbox *entry_swap_locked(struct smentry *e, struct smbox *nb)
{
	return atomic_exchange_explicit(&e->p, nb, memory_order_acq_rel);
}

static void grave_push_locked(struct smmap *m, struct smentry *e)
{
	e->gprev = NULL;
	e->gnext = m->graveyard;
	if (m->graveyard)
		m->graveyard->gprev = e;
	m->graveyard = e;
}

static void grave_unlink_locked(struct smmap *m, struct smentry *e)
{
	if (e->gprev)
		e->gprev->gnext = e->gnext;
	else
		m->graveyard = e->gnext;
	if (e->gnext)
		e->gnext->gprev = e->gprev;
	e->gnext = e->gprev = NULL;
}

/* Go: entry.unexpungeLocked.  The caller adds the entry to dirty when this
 * returns true (room reserved beforehand). */
static bool entry_unexpunge_locked(struct smmap *m, struct smentry *e)
{
	struct smbox *p = SM_EXPUNGED;

	/* Only mu holders write or leave SM_EXPUNGED: relaxed suffices. */
	if (!atomic_compare_exchange_strong_explicit(&e->p, &p, NULL, RLX,
						     RLX))
		return false;
	grave_unlink_locked(m, e);
	return true;
}

/* Go: entry.tryExpungeLocked.  Returns 1 when this call expunged it, 0 when
 * it is live.  (An entry of read is never already expunged when dirty is
 * rebuilt: expunged entries leave read at the next promotion.) */
static int entry_try_expunge_locked(struct smentry *e)
{
	struct smbox *p = atomic_load_explicit(&e->p, RLX);

	while (p == NULL) {
		/* Relaxed: the marker carries no data; readers that see it
		 * treat it as "absent". */
		if (atomic_compare_exchange_weak_explicit(&e->p, &p,
							  SM_EXPUNGED, RLX,
							  RLX))
			return 1;
	}
	return 0;
}

/* Go: entry.delete.  Returns the box taken out, or NULL. */
static struct smbox *entry_delete(struct smentry *e)
{
	/* Acquire (load and CAS): the box we take out is ours to retire. */
	struct smbox *p = atomic_load_explicit(&e->p, memory_order_acquire);

	for (;;) {
		if (p == NULL || p == SM_EXPUNGED)
			return NULL;
		if (atomic_compare_exchange_weak_explicit(
			    &e->p, &p, NULL, memory_order_acq_rel,
			    memory_order_acquire))
			return p;
	}
}

enum tlos { TLOS_LOADED, TLOS_STORED, TLOS_EXPUNGED, TLOS_NOMEM };

/* Go: entry.tryLoadOrStore.  *nb is allocated on first need and left to
 * the caller when unused; *loaded is the live box found. */
static enum tlos entry_try_load_or_store(struct smmap *m, struct smentry *e,
					 void *val, struct smbox **nb,
					 struct smbox **loaded)
{
	struct smbox *p = atomic_load_explicit(&e->p, memory_order_acquire);

	for (;;) {
		if (p == SM_EXPUNGED)
			return TLOS_EXPUNGED;
		if (p) {
			*loaded = p;
			return TLOS_LOADED;
		}
		if (!*nb && !(*nb = box_new(m, val)))
			return TLOS_NOMEM;
		/* Success releases *nb; failure acquires the box we may
		 * return as loaded. */
		if (atomic_compare_exchange_weak_explicit(
			    &e->p, &p, *nb, memory_order_acq_rel,
			    memory_order_acquire))
			return TLOS_STORED;
	}
}

/* ---- Go's Map-level helpers ---------------------------------------------- */

/* Dirty becomes read: O(1).  The old read table and the entries it alone
 * held (the graveyard) are freed after a grace period. */
static void promote_locked(struct smmap *m)
{
	struct smtab *old = rtab(atomic_load_explicit(&m->read, RLX));

	store_read_locked(m, (uintptr_t)m->dirty);
	m->dirty = NULL;
	m->misses_now = 0;
	atomic_fetch_add_explicit(&m->promotions, 1, RLX);
	if (old) {
		old->graves = m->graveyard;
		atomic_fetch_add_explicit(&m->deferred, 1, RLX);
		mlrcu_call(&old->rh, tab_cb);
	}
	m->graveyard = NULL;
}

/* Go: missLocked.  Only called while amended (dirty != NULL). */
static void miss_locked(struct smmap *m)
{
	m->misses_now++;
	atomic_fetch_add_explicit(&m->misses, 1, RLX);
	if (m->misses_now < m->dirty->count)
		return;
	promote_locked(m);
}

/* Go: dirtyLocked.  The O(n) copy: every non-expunged entry of read goes
 * into a new dirty table; deleted ones are expunged.  -ENOMEM before any
 * change. */
static int dirty_locked(struct smmap *m)
{
	struct smtab *rt, *nd;
	uint64_t copied = 0, expunged = 0;

	if (m->dirty)
		return 0;
	rt = rtab(atomic_load_explicit(&m->read, RLX));
	nd = tab_new(m, (rt ? rt->count : 0) + 1);
	if (!nd)
		return -ENOMEM;
	for (size_t i = 0; rt && i <= rt->mask; i++) {
		struct smentry *e = rt->slot[i];

		if (!e)
			continue;
		if (entry_try_expunge_locked(e)) {
			grave_push_locked(m, e);
			expunged++;
		} else {
			tab_insert(nd, e);
			copied++;
		}
	}
	m->dirty = nd;
	atomic_fetch_add_explicit(&m->dirty_copied, copied, RLX);
	atomic_fetch_add_explicit(&m->expunged, expunged, RLX);
	return 0;
}

/* Adds a new entry holding nb to dirty, rebuilding dirty first when there
 * is none (Go: the `else` branch of Swap and LoadOrStore). */
static int add_new_locked(struct smmap *m, uintptr_t r, const void *key,
			  size_t klen, uint64_t h, struct smbox *nb)
{
	struct smentry *ne = entry_new(m, key, klen, h, nb);
	int rc;

	if (!ne)
		return -ENOMEM;
	if (!ramended(r)) {
		rc = dirty_locked(m);
		if (rc)
			goto fail;
		store_read_locked(m, (uintptr_t)rtab(r) | SM_AMENDED);
	}
	rc = dirty_reserve_locked(m, 1);
	if (rc)
		goto fail;
	tab_insert(m->dirty, ne);
	atomic_fetch_add_explicit(&m->live, 1, RLX);
	return 0;
fail:
	sm_free(m, ne);
	return rc;
}

/* ---- operations ----------------------------------------------------------- */

static int sm_open(const struct map_config *cfg, struct map **out)
{
	struct smmap *m = ml_calloc(ML_TAG_MAP, 1, sizeof(*m));

	if (!m)
		return -ENOMEM;
	atomic_init(&m->read, (uintptr_t)0);
	m->seed = cfg->seed ? cfg->seed : 0x6d61706c6162ULL;
	if (cfg->vops) {
		m->vops = *cfg->vops;
		m->has_vops = true;
	}
	ML_CHECK_PTHREAD(pthread_mutex_init(&m->mu, NULL));
	atomic_init(&m->bytes, ml_size(m));
	*out = &m->base;
	return 0;
}

static void entry_free_now(struct smmap *m, struct smentry *e)
{
	struct smbox *b = entry_load(e);

	if (b) {
		if (m->has_vops)
			m->vops.release(b->val, m->vops.ctx);
		sm_free(m, b);
	}
	sm_free(m, e);
}

static void sm_close(struct map *mm)
{
	struct smmap *m = (struct smmap *)mm;
	struct smtab *rt, *dt;

	/* Every deferred free references m: let them all run first. */
	mlrcu_barrier();
	rt = rtab(atomic_load_explicit(&m->read, RLX));
	dt = m->dirty;
	/* With dirty present, read's non-expunged entries are also in dirty:
	 * free each entry once. */
	for (size_t i = 0; rt && i <= rt->mask; i++) {
		struct smentry *e = rt->slot[i];

		if (e && (!dt || atomic_load_explicit(&e->p, RLX) ==
					 SM_EXPUNGED))
			entry_free_now(m, e);
	}
	for (size_t i = 0; dt && i <= dt->mask; i++)
		if (dt->slot[i])
			entry_free_now(m, dt->slot[i]);
	sm_free(m, rt);
	sm_free(m, dt);
	ML_CHECK_PTHREAD(pthread_mutex_destroy(&m->mu));
	ml_free(m);
}

/* Go: the lookup half of Load.  The live box of key, or NULL.  Caller in
 * a read-side section: the box and its value outlive the section. */
static struct smbox *load_box_rcu(struct smmap *m, const void *key,
				  size_t klen)
{
	uint64_t h = core_hash(m->seed, key, klen);
	struct smentry *e;
	uintptr_t r;

	r = load_read(m);
	e = tab_find(rtab(r), h, key, klen);
	if (!e && ramended(r)) {
		sm_lock(m);
		/* Avoid a spurious miss if dirty was promoted meanwhile. */
		r = load_read(m);
		e = tab_find(rtab(r), h, key, klen);
		if (!e && ramended(r)) {
			e = tab_find(m->dirty, h, key, klen);
			miss_locked(m);
		}
		sm_unlock(m);
	}
	return e ? entry_load(e) : NULL;
}

static int sm_get(struct map *mm, const void *key, size_t klen, void **val)
{
	struct smmap *m = (struct smmap *)mm;
	struct smbox *b;
	int rc = -ENOENT;

	*val = NULL;
	mlrcu_read_lock();
	if ((b = load_box_rcu(m, key, klen))) {
		/* Inside the read-side section: the map's reference to
		 * b->val cannot be released before we retain ours. */
		if (m->has_vops)
			m->vops.retain(b->val, m->vops.ctx);
		*val = b->val;
		rc = 0;
	}
	mlrcu_read_unlock();
	return rc;
}

/* The borrowed read: fn runs inside the read-side section (after mu, if
 * the miss path took it, is released), so the box and the map's reference
 * to its value outlive fn; nothing is retained.  fn may call the map. */
static int sm_get_with(struct map *mm, const void *key, size_t klen,
		       map_read_fn fn, void *arg)
{
	struct smmap *m = (struct smmap *)mm;
	struct smbox *b;
	int rc = -ENOENT;

	mlrcu_read_lock();
	if ((b = load_box_rcu(m, key, klen))) {
		fn(b->val, arg);
		rc = 0;
	}
	mlrcu_read_unlock();
	return rc;
}

static void swapped(struct smmap *m, struct smbox *old)
{
	if (old)
		box_retire(m, old);
	else
		atomic_fetch_add_explicit(&m->live, 1, RLX);
}

static int sm_put(struct map *mm, const void *key, size_t klen, void *val)
{
	struct smmap *m = (struct smmap *)mm;
	uint64_t h = core_hash(m->seed, key, klen);
	struct smbox *nb = box_new(m, val), *old;
	struct smentry *e;
	uintptr_t r;
	int rc = 0;

	if (!nb)
		return -ENOMEM;
	mlrcu_read_lock();
	r = load_read(m);
	e = tab_find(rtab(r), h, key, klen);
	if (e && entry_try_swap(e, nb, &old)) {
		swapped(m, old);
		goto out;
	}
	sm_lock(m);
	r = load_read(m);
	if ((e = tab_find(rtab(r), h, key, klen))) {
		if (atomic_load_explicit(&e->p, RLX) == SM_EXPUNGED) {
			/* Stable under mu; make room before unexpunging. */
			rc = dirty_reserve_locked(m, 1);
			if (rc)
				goto out_unlock;
		}
		if (entry_unexpunge_locked(m, e))
			tab_insert(m->dirty, e);
		swapped(m, entry_swap_locked(e, nb));
	} else if ((e = tab_find(m->dirty, h, key, klen))) {
		swapped(m, entry_swap_locked(e, nb));
	} else {
		rc = add_new_locked(m, r, key, klen, h, nb);
	}
out_unlock:
	sm_unlock(m);
	if (rc)
		sm_free(m, nb); /* never published; the caller keeps val */
out:
	mlrcu_read_unlock();
	return rc;
}

static int sm_put_if_absent(struct map *mm, const void *key, size_t klen,
			    void *val, void **existing)
{
	struct smmap *m = (struct smmap *)mm;
	uint64_t h = core_hash(m->seed, key, klen);
	struct smbox *nb = NULL, *lb = NULL, *p;
	enum tlos st = TLOS_EXPUNGED;
	struct smentry *e;
	uintptr_t r;
	int rc = 0;

	mlrcu_read_lock();
	r = load_read(m);
	e = tab_find(rtab(r), h, key, klen);
	if (e)
		st = entry_try_load_or_store(m, e, val, &nb, &lb);
	if (st != TLOS_EXPUNGED)
		goto done;
	sm_lock(m);
	r = load_read(m);
	if ((e = tab_find(rtab(r), h, key, klen))) {
		p = atomic_load_explicit(&e->p, RLX);
		if (p == SM_EXPUNGED &&
		    (rc = dirty_reserve_locked(m, 1)) != 0)
			goto out_unlock;
		if ((p == SM_EXPUNGED || p == NULL) && !nb &&
		    !(nb = box_new(m, val))) {
			rc = -ENOMEM;
			goto out_unlock;
		}
		if (entry_unexpunge_locked(m, e))
			tab_insert(m->dirty, e);
		st = entry_try_load_or_store(m, e, val, &nb, &lb);
	} else if ((e = tab_find(m->dirty, h, key, klen))) {
		st = entry_try_load_or_store(m, e, val, &nb, &lb);
		miss_locked(m);
	} else {
		if (!nb && !(nb = box_new(m, val))) {
			rc = -ENOMEM;
			goto out_unlock;
		}
		rc = add_new_locked(m, r, key, klen, h, nb);
		if (rc == 0) {
			nb = NULL; /* now the entry's */
			sm_unlock(m);
			goto out;
		}
	}
out_unlock:
	sm_unlock(m);
	if (rc)
		goto out;
done:
	switch (st) {
	case TLOS_STORED:
		nb = NULL;
		atomic_fetch_add_explicit(&m->live, 1, RLX);
		break;
	case TLOS_LOADED:
		if (existing) {
			if (m->has_vops)
				m->vops.retain(lb->val, m->vops.ctx);
			*existing = lb->val;
		}
		rc = -EEXIST;
		break;
	case TLOS_NOMEM:
	case TLOS_EXPUNGED: /* impossible after unexpunge under mu */
		rc = -ENOMEM;
		break;
	}
out:
	sm_free(m, nb); /* unused box: never published */
	mlrcu_read_unlock();
	return rc;
}

static int sm_delete(struct map *mm, const void *key, size_t klen)
{
	struct smmap *m = (struct smmap *)mm;
	uint64_t h = core_hash(m->seed, key, klen);
	struct smentry *e;
	struct smbox *old;
	bool removed = false;
	uintptr_t r;
	int rc = -ENOENT;

	mlrcu_read_lock();
	r = load_read(m);
	e = tab_find(rtab(r), h, key, klen);
	if (!e && ramended(r)) {
		sm_lock(m);
		r = load_read(m);
		e = tab_find(rtab(r), h, key, klen);
		if (!e && ramended(r)) {
			e = tab_remove(m->dirty, h, key, klen);
			removed = e != NULL;
			miss_locked(m);
		}
		sm_unlock(m);
	}
	if (e && (old = entry_delete(e))) {
		atomic_fetch_sub_explicit(&m->live, 1, RLX);
		box_retire(m, old);
		rc = 0;
	}
	if (removed) {
		/* Never in a published read table and now out of dirty: only
		 * readers that found it under mu may still hold it. */
		atomic_fetch_add_explicit(&m->deferred, 1, RLX);
		mlrcu_call(&e->rh, entry_cb);
	}
	mlrcu_read_unlock();
	return rc;
}

static int sm_range(struct map *mm, map_range_fn fn, void *arg)
{
	struct smmap *m = (struct smmap *)mm;
	struct smtab *t;
	uintptr_t r;
	int rc = 0;

	mlrcu_read_lock();
	r = load_read(m);
	if (ramended(r)) {
		/* Range is O(n) anyway: promote now, holding mu only for the
		 * swap. */
		sm_lock(m);
		r = load_read(m);
		if (ramended(r)) {
			promote_locked(m);
			r = load_read(m);
		}
		sm_unlock(m);
	}
	t = rtab(r);
	for (size_t i = 0; t && i <= t->mask; i++) {
		struct smentry *e = t->slot[i];
		struct smbox *b;

		if (!e || !(b = entry_load(e)))
			continue;
		rc = fn(e->key, e->klen, b->val, arg);
		if (rc)
			break;
	}
	mlrcu_read_unlock();
	return rc;
}

static size_t sm_len(struct map *mm)
{
	struct smmap *m = (struct smmap *)mm;
	int64_t n = atomic_load_explicit(&m->live, RLX);

	return n > 0 ? (size_t)n : 0;
}

static void sm_stats(struct map *mm, struct map_stats *st)
{
	struct smmap *m = (struct smmap *)mm;
	struct smtab *t;

	st->entries = sm_len(mm);
	mlrcu_read_lock();
	t = rtab(load_read(m));
	st->buckets = t ? t->mask + 1 : 0;
	mlrcu_read_unlock();
	st->bytes = atomic_load_explicit(&m->bytes, RLX);
	st->promotions = atomic_load_explicit(&m->promotions, RLX);
	st->dirty_copied = atomic_load_explicit(&m->dirty_copied, RLX);
	st->misses = atomic_load_explicit(&m->misses, RLX);
	st->expunged = atomic_load_explicit(&m->expunged, RLX);
	st->deferred_frees = atomic_load_explicit(&m->deferred, RLX);
}

static void problem(struct map_check *out, const char *what)
{
	if (out->problems++ == 0)
		snprintf(out->first, sizeof(out->first), "%s", what);
}

/* Quiescent map only: Go's invariants, stated at the top. */
static int sm_check(struct map *mm, struct map_check *out)
{
	struct smmap *m = (struct smmap *)mm;
	struct smtab *rt, *dt;
	uint64_t graves = 0, expunged = 0;
	struct smentry *e;
	uintptr_t r;

	sm_lock(m);
	r = atomic_load_explicit(&m->read, RLX);
	rt = rtab(r);
	dt = m->dirty;
	if (ramended(r) != (dt != NULL))
		problem(out, "read.amended disagrees with dirty != NULL");
	for (size_t i = 0; rt && i <= rt->mask; i++) {
		struct smbox *p;

		if (!(e = rt->slot[i]))
			continue;
		if (tab_find(rt, e->hash, e->key, e->klen) != e)
			problem(out, "read entry not reachable by its key");
		p = atomic_load_explicit(&e->p, RLX);
		if (p == SM_EXPUNGED) {
			expunged++;
			if (!dt)
				problem(out, "expunged entry without dirty");
			else if (tab_find(dt, e->hash, e->key, e->klen))
				problem(out, "expunged entry still in dirty");
		} else {
			if (p)
				out->reachable++;
			if (dt && tab_find(dt, e->hash, e->key, e->klen) != e)
				problem(out, "non-expunged read entry not in dirty");
		}
	}
	for (size_t i = 0; dt && i <= dt->mask; i++) {
		if (!(e = dt->slot[i]))
			continue;
		if (tab_find(dt, e->hash, e->key, e->klen) != e)
			problem(out, "dirty entry not reachable by its key");
		if (atomic_load_explicit(&e->p, RLX) == SM_EXPUNGED)
			problem(out, "expunged entry in dirty");
		else if (entry_load(e) &&
			 tab_find(rt, e->hash, e->key, e->klen) != e)
			out->reachable++; /* live, only in dirty */
	}
	for (e = m->graveyard; e; e = e->gnext) {
		graves++;
		if (atomic_load_explicit(&e->p, RLX) != SM_EXPUNGED)
			problem(out, "graveyard entry not expunged");
	}
	if (graves != expunged)
		problem(out, "graveyard size differs from expunged entries");
	sm_unlock(m);
	out->counted = sm_len(mm);
	if (out->counted != out->reachable)
		problem(out, "live counter differs from live entries");
	return out->problems ? -EBADMSG : 0;
}

static const struct map_ops sm_ops = {
	.open = sm_open,
	.close = sm_close,
	.get = sm_get,
	.get_with = sm_get_with,
	.put = sm_put,
	.put_if_absent = sm_put_if_absent,
	.del = sm_delete,
	.range = sm_range,
	.len = sm_len,
	.thread_enter = mlrcu_map_thread_enter,
	.thread_exit = mlrcu_map_thread_exit,
	.stats = sm_stats,
	.check = sm_check,
};

const struct map_variant map_variant_syncmap = {
	.name = "syncmap",
	.description = "Go's pre-1.24 sync.Map: lock-free read map, locked "
		       "dirty map, misses, promotion; RCU reclamation",
	.flags = MAP_V_THREADSAFE | MAP_V_RANGE_REENTRANT,
	.ops = &sm_ops,
	.colour = "#ff7f0e",
};

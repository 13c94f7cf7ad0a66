/*
 * maps/core.c - This file contains the core hash table: Go's classic map
 * (runtime/map.go, Go 1.19-1.23) rewritten in plain C.
 *
 * Design (after runtime/map.go).  A table is an array of 2^B buckets.  A
 * key's 64-bit seeded hash picks its bucket with the low-order B bits; the
 * high-order 8 bits ("tophash") are stored per slot to tell entries in a
 * bucket apart without comparing keys.  Each bucket holds 8 slots; when a
 * bucket is full a new overflow bucket is chained to it.
 *
 * When the table grows (average load above 6.5 entries per bucket), a new
 * array twice as big is allocated and the buckets are copied from the old
 * array to the new one incrementally: every put or delete that touches a
 * bucket first evacuates the old bucket that maps to it, plus one more old
 * bucket (the lowest not yet evacuated, `nevacuate`), so a growth finishes
 * after at most 2^(B-1) writes and no single write copies the whole table.
 * An evacuated old bucket's entries go to the new bucket with the same
 * index (X) or that index + 2^(B-1) (Y), by the one new hash bit.  When
 * many buckets hold mostly-empty overflow chains (after deletes), a
 * same-size growth compacts them the same way.
 *
 * Load factor 6.5: runtime/map.go's table (8-slot buckets, Go 1.x):
 *   loadFactor  %overflow  bytes/entry  hitprobe  missprobe
 *      4.00        2.13       20.77       3.00       4.00
 *      6.50       20.90       10.79       4.25       6.50
 *      8.00       41.10        9.40       5.00       8.00
 * 6.5 trades a fifth of buckets overflowing for low bytes per entry.
 *
 * Slot states (tophash values below minTopHash), as in Go:
 *   EMPTY_REST      0  this slot and every later slot/overflow are empty
 *   EMPTY_ONE       1  this slot is empty
 *   EVACUATED_X     2  entry moved to the X half of the new array
 *   EVACUATED_Y     3  entry moved to the Y half
 *   EVACUATED_EMPTY 4  slot was empty when its bucket was evacuated
 *   MIN_TOP_HASH    5  real tophash values are >= 5
 *
 * Invariants (verified by core_check):
 *   I1 count equals the number of occupied slots reachable from
 *      buckets[] and the not-yet-evacuated oldbuckets[].
 *   I2 an occupied slot's key hashes to that bucket (low B bits, or the
 *      old B-1 bits in oldbuckets) and its tophash matches the hash.
 *   I3 after an EMPTY_REST slot, every later slot of the chain is
 *      EMPTY_REST.
 *   I4 old buckets below nevacuate are evacuated; an evacuated old bucket
 *      holds only evacuated states and no overflow chain; a new bucket
 *      whose old bucket is not yet evacuated is empty (entries reach the
 *      new array only by evacuation or by a write that evacuated first).
 *   I5 no chain is cyclic; noverflow/oldnoverflow count the overflow
 *      buckets reachable from each array.
 *   I6 no evacuated state appears in the current array.
 *   I7 an occupied slot's klen is its key's length (0..16) with the key
 *      inline and zero past that length, or CORE_KLEN_LONG with a long
 *      key of more than 16 bytes.
 *
 * Bucket layout (core.h).  A bucket is 256 bytes, 64-byte aligned: four
 * cache lines.  Bytes 0-23 are tophash[8], klen[8] (one byte per slot)
 * and the overflow pointer; then 8 slots of 24 bytes, a 16-byte key and
 * its 8-byte value side by side (slot 0 and slot 1's key share line 0
 * with the header; 40 bytes of padding end the bucket).  A lookup scans
 * line 0 (tophash, klen, chain link) and reads a slot only on a tophash
 * match, so a hit reads 2 lines on average: 1 for slot 0, 3 for slot 4
 * (bytes 120-143, across lines 1 and 2), 2 for the others.  Keys of up
 * to 16 bytes (ids, hex digests, the benchmark's 16 hex digits) live in
 * the slot, zero-padded (I7), so comparing one is comparing 16 bytes
 * (two 8-byte words once inlined): no pointer to chase, no memcmp call.
 * A longer key is one KEYS block holding its length and its bytes; its
 * slot holds CORE_KLEN_LONG and a pointer, so the real length is read
 * from the line the bytes are on and costs an inline key nothing.
 * (Go's map[string]V buckets are 208 bytes of string headers and chase
 * a pointer for every compare.)  The price is memory: a bucket array is
 * 256 / 6.5 = 39 to 79 bytes per entry (just before / just after a
 * doubling), for any key of up to 16 bytes, 40% more than a 176-byte
 * bucket with 8-byte inline keys would take.
 *
 * Memory.  Everything goes through the counting allocator: bucket arrays
 * (BUCKETS) and overflow buckets (OVERFLOW), both 64-byte aligned
 * (ml_calloc_aligned), and keys longer than 16 bytes (KEYS).  `bytes`
 * counts what the table requested (arrays, overflow buckets, long-key
 * blocks), as the allocator counts it.  Unlike Go there is no garbage
 * collector: an old bucket's overflow chain is freed as soon as the
 * bucket is evacuated (safe because no walk is in progress during a
 * write: re-entry from a range callback is refused), and the old array
 * when the last bucket is.
 * -ENOMEM leaves the table's contents unchanged: a write allocates what it
 * needs (new array, overflow bucket, key copy, the destination overflow
 * buckets of an evacuation) before it moves or stores anything.  A delete
 * never fails for memory: if it cannot evacuate, it deletes in place in the
 * old bucket, which evacuation handles later.
 *
 * Walks (core_range) visit each entry present for the whole walk exactly
 * once, in bucket order, including a table in the middle of a growth (old
 * buckets not yet evacuated are walked, filtered to the new bucket being
 * visited, as Go's iterator does).  Unlike Go, the table must not be
 * modified during a walk; callers refuse re-entry (core_range_held).
 * A borrowed read (core_get_with) marks its callback the same way.
 *
 * Concurrency: none.  The caller excludes concurrent writers.  The unsafe
 * variant deliberately does not, and then every race of the seed's
 * chapter 2 happens here for real: two inserts claim one slot (a lost
 * entry and a leaked key), count updates are lost, two writers link
 * overflow buckets to the same tail (a chain lost), two evacuations of one
 * bucket double-free its overflow chain or free the old array under a
 * reader, a reader walks a chain being freed (use after free, SIGSEGV).
 *
 * The detector (detect == true, the unsafe variant's MAP_F_DETECT) is
 * Go's hashWriting: a write sets CORE_WRITING in `flags` for its duration
 * and dies if it was already set or was cleared under it ("concurrent map
 * writes"); reads and walks die if it is set ("concurrent map read and map
 * write", "concurrent map iteration and map write").  Like Go's it is
 * best-effort and itself racy: the flag is read, then written, with no
 * atomic read-modify-write, so two writers that interleave exactly can
 * both pass, and a reader that checks before a writer starts sees
 * nothing.  The flag word is accessed with relaxed atomic loads and
 * stores, not plain ones, for two reasons: a plain flag could be kept in a
 * register or have its set/clear pair merged away by the compiler (Go's
 * compiler does not do that to h.flags), which would make the detector
 * fail for reasons unrelated to timing; and under ThreadSanitizer the
 * flag's own race would otherwise be reported on top of the table's real
 * ones.  The table itself stays plain, so TSan still reports those.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "maps/alloc.h"
#include "maps/core.h"

#define EMPTY_REST 0
#define EMPTY_ONE 1
#define EVACUATED_X 2
#define EVACUATED_Y 3
#define EVACUATED_EMPTY 4
#define MIN_TOP_HASH 5

#define LOAD_FACTOR_NUM 13
#define LOAD_FACTOR_DEN 2
#define CORE_WRITING 0x4u /* Go's hashWriting */
#define DEFAULT_SEED 0x9e3779b97f4a7c15ull
#define RANGE_DEPTH 16

_Static_assert(sizeof(struct core_bucket) == 256 &&
		       _Alignof(struct core_bucket) == 64 &&
		       offsetof(struct core_bucket, slot) == 24,
	       "a bucket is four cache lines, slots after a 24-byte header");
_Static_assert(CORE_INLINE_KEY < CORE_KLEN_LONG, "klen byte encoding");

static bool is_empty(uint8_t x)
{
	return x <= EMPTY_ONE;
}

static bool evacuated(const struct core_bucket *b)
{
	uint8_t h = b->tophash[0];

	return h > EMPTY_ONE && h < MIN_TOP_HASH;
}

static uint8_t tophash(uint64_t hash)
{
	uint8_t top = (uint8_t)(hash >> 56);

	if (top < MIN_TOP_HASH)
		top += MIN_TOP_HASH;
	return top;
}

static size_t bucket_shift(uint8_t b)
{
	return (size_t)1 << b;
}

static bool over_load_factor(size_t count, uint8_t b)
{
	return count > CORE_BUCKET_CNT &&
	       count > LOAD_FACTOR_NUM * (bucket_shift(b) / LOAD_FACTOR_DEN);
}

/* Go's tooManyOverflowBuckets: as many overflow buckets as buckets.  Go
 * caps B at 15 there but, for B > 15, counts only one overflow bucket in
 * 2^(B-15) (incrOverflow); our count is exact, so the same threshold is
 * noverflow >= 2^B for every B. */
static bool too_many_overflow(size_t noverflow, uint8_t b)
{
	return noverflow >= bucket_shift(b);
}

static bool growing(const struct core_table *t)
{
	return t->oldbuckets != NULL;
}

static size_t noldbuckets(const struct core_table *t)
{
	uint8_t b = t->B;

	if (!t->same_size_grow)
		b--;
	return bucket_shift(b);
}

/* ---- hashing --------------------------------------------------------- */

static uint64_t rotl64(uint64_t x, int r)
{
	return (x << r) | (x >> (64 - r));
}

static uint64_t fmix64(uint64_t k)
{
	k ^= k >> 33;
	k *= 0xff51afd7ed558ccdull;
	k ^= k >> 33;
	k *= 0xc4ceb9fe1a85ec53ull;
	k ^= k >> 33;
	return k;
}

/* MurmurHash3-style 64-bit mixing of 8-byte words, seeded, finished with
 * fmix64 over the length: good avalanche on all 64 bits, which matters
 * because the bucket uses the low bits and the tophash the high ones. */
uint64_t core_hash(uint64_t seed, const void *key, size_t len)
{
	const uint8_t *p = key;
	const uint64_t c1 = 0x87c37b91114253d5ull, c2 = 0x4cf5ad432745937full;
	uint64_t h = seed ^ (len * c2);
	uint64_t k;

	while (len >= 8) {
		memcpy(&k, p, 8);
		k *= c1;
		k = rotl64(k, 31);
		k *= c2;
		h ^= k;
		h = rotl64(h, 27) * 5 + 0x52dce729;
		p += 8;
		len -= 8;
	}
	if (len) {
		k = 0;
		memcpy(&k, p, len);
		k *= c1;
		k = rotl64(k, 31);
		k *= c2;
		h ^= k;
	}
	return fmix64(h);
}

/* ---- slots ------------------------------------------------------------ */

/* n <= 16 bytes, as a few fixed-size moves (overlapping ones when n is
 * not a power of two): no memcpy call for a variable length. */
static inline void copy_small(uint8_t *dst, const uint8_t *src, size_t n)
{
	if (n >= 8) {
		memcpy(dst, src, 8);
		memcpy(dst + n - 8, src + n - 8, 8);
	} else if (n >= 4) {
		memcpy(dst, src, 4);
		memcpy(dst + n - 4, src + n - 4, 4);
	} else if (n) {
		dst[0] = src[0];
		dst[n / 2] = src[n / 2];
		dst[n - 1] = src[n - 1];
	}
}

/* A key as a lookup compares it: the klen byte a matching slot has and,
 * for an inline key, its 16 bytes zero-padded as a slot stores them. */
struct probe {
	const uint8_t *key; /* the caller's bytes */
	size_t len;
	uint8_t kb;                   /* len, or CORE_KLEN_LONG */
	uint8_t inl[CORE_INLINE_KEY]; /* inline form (kb != CORE_KLEN_LONG) */
};

static inline void probe_init(struct probe *p, const void *key, size_t klen)
{
	p->key = key;
	p->len = klen;
	memset(p->inl, 0, sizeof(p->inl));
	if (klen > CORE_INLINE_KEY) {
		p->kb = CORE_KLEN_LONG;
		return;
	}
	p->kb = (uint8_t)klen;
	copy_small(p->inl, key, klen);
}

static const uint8_t *slot_key(const struct core_bucket *b, int i)
{
	return b->klen[i] == CORE_KLEN_LONG ? b->slot[i].key.ptr->bytes
					    : b->slot[i].key.inl;
}

static size_t slot_len(const struct core_bucket *b, int i)
{
	return b->klen[i] == CORE_KLEN_LONG ? b->slot[i].key.ptr->len
					    : b->klen[i];
}

static inline bool slot_eq(const struct core_bucket *b, int i,
			   const struct probe *p)
{
	const struct core_long_key *lk;

	if (b->klen[i] != p->kb)
		return false;
	if (p->kb != CORE_KLEN_LONG) /* two words, inlined (I7) */
		return memcmp(b->slot[i].key.inl, p->inl, CORE_INLINE_KEY) ==
		       0;
	lk = b->slot[i].key.ptr;
	return lk->len == p->len && memcmp(lk->bytes, p->key, p->len) == 0;
}

static uint64_t slot_hash(const struct core_table *t,
			  const struct core_bucket *b, int i)
{
	return core_hash(t->seed, slot_key(b, i), slot_len(b, i));
}

static void val_retain(const struct core_table *t, void *v)
{
	if (t->vops)
		t->vops->retain(v, t->vops->ctx);
}

static void val_release(const struct core_table *t, void *v)
{
	if (t->vops)
		t->vops->release(v, t->vops->ctx);
}

/* ---- the detector (see the file comment) ------------------------------ */

static _Noreturn void fatal(const char *msg)
{
	/* Go prints "fatal error: <msg>" and exits with status 2; write(2)
	 * and _exit because the heap may be corrupt by now. */
	char line[96];
	int n = snprintf(line, sizeof(line), "fatal error: %s\n", msg);

	if (n > 0 && write(STDERR_FILENO, line, (size_t)n) < 0)
		_exit(2);
	_exit(2);
}

/* The flag word: relaxed loads and stores, never an atomic RMW, so the
 * detector races exactly as Go's plain h.flags does (file comment). */
static unsigned flags_load(const struct core_table *t)
{
	return atomic_load_explicit((_Atomic unsigned *)&t->flags,
				    memory_order_relaxed);
}

static void flags_store(struct core_table *t, unsigned v)
{
	atomic_store_explicit((_Atomic unsigned *)&t->flags, v,
			      memory_order_relaxed);
}

static void detect_read(const struct core_table *t)
{
	if (t->detect && (flags_load(t) & CORE_WRITING))
		fatal("concurrent map read and map write");
}

static void detect_write_begin(struct core_table *t)
{
	if (!t->detect)
		return;
	if (flags_load(t) & CORE_WRITING)
		fatal("concurrent map writes");
	flags_store(t, flags_load(t) ^ CORE_WRITING);
}

static void detect_write_end(struct core_table *t)
{
	unsigned f;

	if (!t->detect)
		return;
	f = flags_load(t);
	if (!(f & CORE_WRITING))
		fatal("concurrent map writes");
	flags_store(t, f & ~CORE_WRITING);
}

/* ---- allocation ------------------------------------------------------- */

static struct core_bucket *alloc_array(struct core_table *t, uint8_t b)
{
	struct core_bucket *a =
		ml_calloc_aligned(ML_TAG_BUCKETS, _Alignof(struct core_bucket),
				  bucket_shift(b), sizeof(*a));

	if (a)
		t->bytes += bucket_shift(b) * sizeof(*a);
	return a;
}

static void free_array(struct core_table *t, struct core_bucket *a)
{
	if (!a)
		return;
	t->bytes -= ml_size(a);
	ml_free(a);
}

static struct core_bucket *alloc_overflow(struct core_table *t)
{
	struct core_bucket *b = ml_calloc_aligned(
		ML_TAG_OVERFLOW, _Alignof(struct core_bucket), 1, sizeof(*b));

	if (b)
		t->bytes += sizeof(*b);
	return b;
}

static void free_overflow(struct core_table *t, struct core_bucket *b)
{
	t->bytes -= sizeof(*b);
	ml_free(b);
}

static void free_key(struct core_table *t, struct core_bucket *b, int i)
{
	if (b->klen[i] == CORE_KLEN_LONG) {
		t->bytes -= ml_size(b->slot[i].key.ptr);
		ml_free(b->slot[i].key.ptr);
	}
}

/* ---- growth and evacuation ---------------------------------------------- */

static int hash_grow(struct core_table *t)
{
	uint8_t bigger = 1;
	struct core_bucket *nb;

	if (!over_load_factor(t->count + 1, t->B)) {
		bigger = 0;
		t->same_size_grow = true;
	}
	nb = alloc_array(t, (uint8_t)(t->B + bigger));
	if (!nb) {
		t->same_size_grow = false;
		return -ENOMEM;
	}
	t->oldbuckets = t->buckets;
	t->buckets = nb;
	t->B = (uint8_t)(t->B + bigger);
	t->nevacuate = 0;
	t->oldnoverflow = t->noverflow;
	t->noverflow = 0;
	t->growths++;
	return 0;
}

static void advance_evacuation_mark(struct core_table *t, size_t newbit)
{
	size_t stop;

	t->nevacuate++;
	/* Bounded work, as Go: look at most 1024 buckets ahead. */
	stop = t->nevacuate + 1024;
	if (stop > newbit)
		stop = newbit;
	while (t->nevacuate != stop &&
	       evacuated(&t->oldbuckets[t->nevacuate]))
		t->nevacuate++;
	if (t->nevacuate == newbit) {
		free_array(t, t->oldbuckets);
		t->oldbuckets = NULL;
		t->same_size_grow = false;
		t->oldnoverflow = 0;
	}
}

struct evac_dst {
	struct core_bucket *b; /* current destination bucket */
	int i;                 /* next slot in b */
};

/* 0 for X (same index), 1 for Y (index + newbit): the one new hash bit of
 * a doubling; always X in a same-size growth. */
static inline int evac_half(const struct core_table *t,
			    const struct core_bucket *b, int i, size_t newbit)
{
	return !t->same_size_grow && (slot_hash(t, b, i) & newbit);
}

static void free_chain(struct core_table *t, struct core_bucket *b)
{
	struct core_bucket *next;

	for (; b; b = next) {
		next = b->overflow;
		free_overflow(t, b);
	}
}

/* Evacuation pass 1: count where the entries of old bucket ob go and
 * allocate the overflow buckets the destinations will need, chained
 * through ->overflow into *spare.  -ENOMEM allocates nothing. */
static int evac_reserve(struct core_table *t, struct core_bucket *ob,
			size_t newbit, struct core_bucket **spare)
{
	size_t n[2] = {0, 0}, need = 0;

	for (struct core_bucket *b = ob; b; b = b->overflow)
		for (int i = 0; i < CORE_BUCKET_CNT; i++)
			if (b->tophash[i] >= MIN_TOP_HASH)
				n[evac_half(t, b, i, newbit)]++;
	for (int k = 0; k < 2; k++)
		if (n[k] > CORE_BUCKET_CNT)
			need += (n[k] - 1) / CORE_BUCKET_CNT;
	*spare = NULL;
	for (size_t k = 0; k < need; k++) {
		struct core_bucket *o = alloc_overflow(t);

		if (!o) {
			free_chain(t, *spare);
			*spare = NULL;
			return -ENOMEM;
		}
		o->overflow = *spare;
		*spare = o;
	}
	return 0;
}

/* Copy slot i of old bucket b (its tophash was `top`) to the next free
 * slot of d, chaining a spare overflow bucket when d's bucket is full. */
static inline void evac_copy(struct core_table *t, struct evac_dst *d,
			     const struct core_bucket *b, int i, uint8_t top,
			     struct core_bucket **spare)
{
	if (d->i == CORE_BUCKET_CNT) {
		struct core_bucket *o = *spare;

		if (o)
			*spare = o->overflow;
		else if (!(o = alloc_overflow(t)))
			/* pass 1 and 2 disagree: racing */
			fatal("bad map state");
		memset(o, 0, sizeof(*o));
		d->b->overflow = o;
		t->noverflow++;
		d->b = o;
		d->i = 0;
	}
	d->b->tophash[d->i] = top;
	d->b->klen[d->i] = b->klen[i];
	d->b->slot[d->i] = b->slot[i];
	d->i++;
}

/* Evacuation pass 2: move every entry of old bucket ob (index
 * `oldbucket`) and its chain to X or Y, marking each old slot evacuated.
 * Destinations are empty (I4), so they start at slot 0. */
static void evac_move(struct core_table *t, struct core_bucket *ob,
		      size_t oldbucket, size_t newbit,
		      struct core_bucket **spare)
{
	struct evac_dst xy[2] = {
		{&t->buckets[oldbucket], 0},
		{t->same_size_grow ? NULL : &t->buckets[oldbucket + newbit], 0},
	};

	for (struct core_bucket *b = ob; b; b = b->overflow)
		for (int i = 0; i < CORE_BUCKET_CNT; i++) {
			uint8_t top = b->tophash[i];
			int use_y;

			if (is_empty(top)) {
				b->tophash[i] = EVACUATED_EMPTY;
				continue;
			}
			if (top < MIN_TOP_HASH) {
				/* Only a race gets here (Go: "bad map
				 * state"); without the detector the slot is
				 * dropped, as corrupt C would. */
				if (t->detect)
					fatal("bad map state");
				b->tophash[i] = EVACUATED_EMPTY;
				continue;
			}
			use_y = evac_half(t, b, i, newbit);
			b->tophash[i] = (uint8_t)(EVACUATED_X + use_y);
			evac_copy(t, &xy[use_y], b, i, top, spare);
		}
}

/* Move old bucket `oldbucket` (and its chain) into the new array.  All
 * destination overflow buckets are allocated first, so -ENOMEM moves
 * nothing. */
static int evacuate(struct core_table *t, size_t oldbucket)
{
	struct core_bucket *ob = &t->oldbuckets[oldbucket];
	size_t newbit = noldbuckets(t);
	struct core_bucket *spare, *b, *next;

	if (!evacuated(ob)) {
		if (evac_reserve(t, ob, newbit, &spare))
			return -ENOMEM;
		evac_move(t, ob, oldbucket, newbit, &spare);
		free_chain(t, spare); /* only when racing: pass 2 needed fewer */
		/* No walk is in progress during a write: free the old chain
		 * now (Go leaves it to the collector). */
		for (b = ob->overflow; b; b = next) {
			next = b->overflow;
			free_overflow(t, b);
			t->oldnoverflow--;
		}
		ob->overflow = NULL;
		t->evacuated++;
	}
	if (oldbucket == t->nevacuate)
		advance_evacuation_mark(t, newbit);
	return 0;
}

/* Evacuate the old bucket `bucket` maps to, plus one more.  Only the first
 * failure matters to the caller: it decides whether `bucket` can take new
 * entries. */
static int grow_work(struct core_table *t, size_t bucket)
{
	int rc = evacuate(t, bucket & (noldbuckets(t) - 1));

	if (growing(t))
		(void)evacuate(t, t->nevacuate);
	return rc;
}

/* The bucket that holds hash now: the new one, or the old one if that is
 * not evacuated yet. */
static inline struct core_bucket *bucket_of(const struct core_table *t,
					    uint64_t hash)
{
	size_t m = bucket_shift(t->B) - 1;
	struct core_bucket *b = &t->buckets[hash & m];

	if (growing(t)) {
		struct core_bucket *ob;

		if (!t->same_size_grow)
			m >>= 1;
		ob = &t->oldbuckets[hash & m];
		if (!evacuated(ob))
			b = ob;
	}
	return b;
}

/* ---- open/close ------------------------------------------------------- */

int core_init(struct core_table *t, const struct map_config *cfg,
	      bool detect)
{
	uint8_t b = 0;

	memset(t, 0, sizeof(*t));
	t->seed = cfg->seed ? cfg->seed : DEFAULT_SEED;
	t->vops = cfg->vops;
	t->detect = detect;
	while (b < 40 && over_load_factor(cfg->capacity_hint, b))
		b++;
	t->B = b;
	t->buckets = alloc_array(t, b);
	return t->buckets ? 0 : -ENOMEM;
}

static void destroy_chain(struct core_table *t, struct core_bucket *head,
			  size_t *nov)
{
	struct core_bucket *b, *next;

	for (b = head; b; b = b->overflow)
		for (int i = 0; i < CORE_BUCKET_CNT; i++)
			if (b->tophash[i] >= MIN_TOP_HASH) {
				val_release(t, b->slot[i].val);
				free_key(t, b, i);
			}
	for (b = head->overflow; b; b = next) {
		next = b->overflow;
		free_overflow(t, b);
		(*nov)--;
	}
	head->overflow = NULL;
}

void core_destroy(struct core_table *t)
{
	if (t->oldbuckets) {
		for (size_t i = 0; i < noldbuckets(t); i++)
			if (!evacuated(&t->oldbuckets[i]))
				destroy_chain(t, &t->oldbuckets[i],
					      &t->oldnoverflow);
		free_array(t, t->oldbuckets);
		t->oldbuckets = NULL;
	}
	if (t->buckets) {
		for (size_t i = 0; i < bucket_shift(t->B); i++)
			destroy_chain(t, &t->buckets[i], &t->noverflow);
		free_array(t, t->buckets);
		t->buckets = NULL;
	}
	t->count = 0;
}

/* ---- lookups ---------------------------------------------------------- */

/* Find key in the chain starting at b: the tophash scan reads line 0 of
 * each bucket; a slot's key is read only when its tophash matches.  On a
 * hit, *hb and *hi name the slot. */
static inline bool find(struct core_bucket *b, uint8_t top,
			const struct probe *p, struct core_bucket **hb,
			int *hi)
{
	for (; b; b = b->overflow)
		for (int i = 0; i < CORE_BUCKET_CNT; i++) {
			if (b->tophash[i] != top) {
				if (b->tophash[i] == EMPTY_REST)
					return false;
				continue;
			}
			if (!slot_eq(b, i, p))
				continue;
			*hb = b;
			*hi = i;
			return true;
		}
	return false;
}

int core_get(struct core_table *t, const void *key, size_t klen, void **val)
{
	uint64_t hash = core_hash(t->seed, key, klen);
	struct core_bucket *b;
	struct probe p;
	int i;

	detect_read(t);
	probe_init(&p, key, klen);
	if (!find(bucket_of(t, hash), tophash(hash), &p, &b, &i)) {
		*val = NULL;
		return -ENOENT;
	}
	*val = b->slot[i].val;
	val_retain(t, *val);
	return 0;
}

size_t core_len(const struct core_table *t)
{
	return t->count;
}

/* ---- writes ----------------------------------------------------------- */

/* Store a new entry in slot i of b, or, when b is NULL (no free slot in
 * the chain), in slot 0 of a new overflow bucket linked after `last`.
 * Allocates the long-key copy and the overflow bucket before storing
 * anything: -ENOMEM leaves the table unchanged. */
static inline int insert_new(struct core_table *t, const void *key,
			     size_t klen, void *val, const struct probe *p,
			     uint8_t top, struct core_bucket *b, int i,
			     struct core_bucket *last)
{
	struct core_long_key *kcopy = NULL;

	if (p->kb == CORE_KLEN_LONG) {
		kcopy = klen > SIZE_MAX - sizeof(*kcopy)
				? NULL
				: ml_malloc(ML_TAG_KEYS, sizeof(*kcopy) + klen);
		if (!kcopy)
			return -ENOMEM;
	}
	if (!b) {
		b = alloc_overflow(t);
		if (!b) {
			ml_free(kcopy);
			return -ENOMEM;
		}
		last->overflow = b;
		t->noverflow++;
		i = 0;
	}
	if (kcopy) {
		kcopy->len = klen;
		memcpy(kcopy->bytes, key, klen);
		t->bytes += sizeof(*kcopy) + klen;
		b->slot[i].key.ptr = kcopy;
	} else { /* all 16 bytes: zero past klen (I7) */
		memcpy(b->slot[i].key.inl, p->inl, CORE_INLINE_KEY);
	}
	b->klen[i] = p->kb;
	b->slot[i].val = val;
	b->tophash[i] = top;
	t->count++;
	return 0;
}

/* mapassign.  if_absent: do not overwrite; hand the present value back.
 * The chain scan stays here, not in a helper: it is the hot path of
 * every put, and out-parameters cost it spills (callgrind, +5 Ir/put). */
static int assign(struct core_table *t, const void *key, size_t klen,
		  void *val, bool if_absent, void **existing)
{
	uint64_t hash = core_hash(t->seed, key, klen);
	uint8_t top = tophash(hash);
	struct core_bucket *b, *insertb, *last;
	struct probe p;
	void *old = NULL;
	bool release_old = false;
	int inserti = 0, rc, gw;

	detect_write_begin(t);
	probe_init(&p, key, klen);
again:
	gw = 0;
	if (growing(t))
		gw = grow_work(t, hash & (bucket_shift(t->B) - 1));
	insertb = NULL;
	last = NULL;
	for (b = bucket_of(t, hash); b; b = b->overflow) {
		last = b;
		for (int i = 0; i < CORE_BUCKET_CNT; i++) {
			if (b->tophash[i] != top) {
				if (is_empty(b->tophash[i]) && !insertb) {
					insertb = b;
					inserti = i;
				}
				if (b->tophash[i] == EMPTY_REST)
					goto notfound;
				continue;
			}
			if (!slot_eq(b, i, &p))
				continue;
			if (if_absent) {
				*existing = b->slot[i].val;
				val_retain(t, *existing);
				rc = -EEXIST;
			} else {
				old = b->slot[i].val;
				release_old = true;
				b->slot[i].val = val;
				rc = 0;
			}
			goto out;
		}
	}
notfound:
	if (gw) { /* could not evacuate this key's bucket: no insert */
		rc = gw;
		goto out;
	}
	/* Grow if this insert would pass the load factor or overflow
	 * buckets pile up, unless already growing. */
	if (!growing(t) && (over_load_factor(t->count + 1, t->B) ||
			    too_many_overflow(t->noverflow, t->B))) {
		rc = hash_grow(t);
		if (rc)
			goto out;
		goto again;
	}
	rc = insert_new(t, key, klen, val, &p, top, insertb, inserti, last);
out:
	detect_write_end(t);
	if (release_old)
		val_release(t, old);
	return rc;
}

int core_put(struct core_table *t, const void *key, size_t klen, void *val)
{
	return assign(t, key, klen, val, false, NULL);
}

int core_put_if_absent(struct core_table *t, const void *key, size_t klen,
		       void *val, void **existing)
{
	void *scratch;

	return assign(t, key, klen, val, true, existing ? existing : &scratch);
}

/* mapdelete. */
int core_delete(struct core_table *t, const void *key, size_t klen)
{
	uint64_t hash = core_hash(t->seed, key, klen);
	uint8_t top = tophash(hash);
	struct core_bucket *b, *borig;
	struct probe p;
	void *old;
	int i;

	detect_write_begin(t);
	probe_init(&p, key, klen);
	if (growing(t)) /* an -ENOMEM here only means: delete in place */
		(void)grow_work(t, hash & (bucket_shift(t->B) - 1));
	borig = bucket_of(t, hash);
	if (!find(borig, top, &p, &b, &i)) {
		detect_write_end(t);
		return -ENOENT;
	}
	old = b->slot[i].val;
	free_key(t, b, i);
	memset(&b->slot[i], 0, sizeof(b->slot[i]));
	b->klen[i] = 0;
	b->tophash[i] = EMPTY_ONE;
	/* If the chain now ends in EMPTY_ONE slots, turn them into
	 * EMPTY_REST (I3), walking backwards as Go does. */
	if (i == CORE_BUCKET_CNT - 1) {
		if (b->overflow && b->overflow->tophash[0] != EMPTY_REST)
			goto not_last;
	} else if (b->tophash[i + 1] != EMPTY_REST) {
		goto not_last;
	}
	for (;;) {
		b->tophash[i] = EMPTY_REST;
		if (i == 0) {
			struct core_bucket *c = b;

			if (b == borig)
				break;
			for (b = borig; b->overflow != c; b = b->overflow)
				;
			i = CORE_BUCKET_CNT - 1;
		} else {
			i--;
		}
		if (b->tophash[i] != EMPTY_ONE)
			break;
	}
not_last:
	t->count--;
	detect_write_end(t);
	val_release(t, old);
	return 0;
}

/* ---- walks ------------------------------------------------------------ */

struct range_mark {
	const void *owner;
	const void *held;
};

/* This thread's walks in progress, innermost last. */
static _Thread_local struct range_mark t_marks[RANGE_DEPTH];
static _Thread_local int t_nmarks;

const void *core_range_held(const void *owner)
{
	for (int i = t_nmarks - 1; i >= 0; i--)
		if (t_marks[i].owner == owner)
			return t_marks[i].held;
	return NULL;
}

int core_get_with(struct core_table *t, const void *owner, const void *held,
		  const void *key, size_t klen, map_read_fn fn, void *arg)
{
	uint64_t hash = core_hash(t->seed, key, klen);
	struct core_bucket *b;
	struct probe p;
	int i;

	if (t_nmarks == RANGE_DEPTH)
		return -EBUSY;
	detect_read(t);
	probe_init(&p, key, klen);
	if (!find(bucket_of(t, hash), tophash(hash), &p, &b, &i))
		return -ENOENT;
	t_marks[t_nmarks].owner = owner;
	t_marks[t_nmarks].held = held;
	t_nmarks++;
	fn(b->slot[i].val, arg);
	t_nmarks--;
	return 0;
}

/* Visit the entries of chain b; filter: only those whose hash selects new
 * bucket `want` under mask (a not-yet-evacuated old bucket). */
static int walk_chain(struct core_table *t, struct core_bucket *b,
		      bool filter, size_t want, size_t mask, map_range_fn fn,
		      void *arg)
{
	int rc;

	for (; b; b = b->overflow) {
		/* Go checks hashWriting at every mapiternext step. */
		if (t->detect && (flags_load(t) & CORE_WRITING))
			fatal("concurrent map iteration and map write");
		for (int i = 0; i < CORE_BUCKET_CNT; i++) {
			if (b->tophash[i] < MIN_TOP_HASH)
				continue;
			if (filter && (slot_hash(t, b, i) & mask) != want)
				continue;
			rc = fn(slot_key(b, i), slot_len(b, i), b->slot[i].val,
				arg);
			if (rc)
				return rc;
		}
	}
	return 0;
}

int core_range(struct core_table *t, const void *owner, const void *held,
	       map_range_fn fn, void *arg)
{
	size_t nb = bucket_shift(t->B), mask = nb - 1;
	int rc = 0;

	if (t_nmarks == RANGE_DEPTH)
		return -EBUSY;
	t_marks[t_nmarks].owner = owner;
	t_marks[t_nmarks].held = held;
	t_nmarks++;
	detect_read(t);
	for (size_t j = 0; j < nb && !rc; j++) {
		if (growing(t)) {
			size_t om = noldbuckets(t) - 1;
			struct core_bucket *ob = &t->oldbuckets[j & om];

			if (!evacuated(ob)) {
				rc = walk_chain(t, ob, !t->same_size_grow, j,
						mask, fn, arg);
				continue;
			}
		}
		rc = walk_chain(t, &t->buckets[j], false, 0, 0, fn, arg);
	}
	t_nmarks--;
	return rc;
}

/* ---- stats and checks ------------------------------------------------- */

void core_stats(const struct core_table *t, struct map_stats *st)
{
	st->entries += t->count;
	st->buckets += bucket_shift(t->B);
	st->overflow_buckets += t->noverflow + t->oldnoverflow;
	st->growths += t->growths;
	st->evacuated += t->evacuated;
	st->bytes += t->bytes;
}

struct checker {
	const struct core_table *t;
	struct map_check *out;
	uint64_t reachable;
	size_t overflows;
};

static void problem(struct checker *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void problem(struct checker *c, const char *fmt, ...)
{
	va_list ap;

	c->out->problems++;
	if (c->out->first[0])
		return;
	va_start(ap, fmt);
	vsnprintf(c->out->first, sizeof(c->out->first), fmt, ap);
	va_end(ap);
}

/* Floyd's cycle check: true when the chain from head loops. */
static bool cyclic(const struct core_bucket *head)
{
	const struct core_bucket *slow = head, *fast = head;

	while (fast && fast->overflow) {
		slow = slow->overflow;
		fast = fast->overflow->overflow;
		if (slow == fast)
			return true;
	}
	return false;
}

/* I7 for an occupied slot; false when its key cannot be read. */
static bool key_ok(struct checker *c, const struct core_bucket *b, int i,
		   size_t idx)
{
	uint8_t kb = b->klen[i];
	const struct core_long_key *lk = b->slot[i].key.ptr;

	if (kb == CORE_KLEN_LONG) {
		if (!lk) {
			problem(c, "bucket %zu slot %zu: NULL key", idx,
				(size_t)i);
			return false;
		}
		if (lk->len <= CORE_INLINE_KEY)
			problem(c,
				"bucket %zu slot %zu: %zu-byte key stored "
				"out of line",
				idx, (size_t)i, lk->len);
		return true;
	}
	if (kb > CORE_INLINE_KEY) {
		problem(c, "bucket %zu slot %zu: bad key length byte %zu", idx,
			(size_t)i, (size_t)kb);
		return false;
	}
	for (int k = kb; k < CORE_INLINE_KEY; k++)
		if (b->slot[i].key.inl[k]) {
			problem(c,
				"bucket %zu slot %zu: inline key not "
				"zero-padded",
				idx, (size_t)i);
			break;
		}
	return true;
}

/* Check one chain whose entries must hash to `idx` under `mask`. */
static void check_chain(struct checker *c, const struct core_bucket *head,
			size_t idx, size_t mask, bool old)
{
	const struct core_bucket *b;
	bool rest = false;

	if (cyclic(head)) {
		problem(c, "%s bucket %zu: overflow chain is cyclic",
			old ? "old" : "new", idx);
		return;
	}
	for (b = head; b; b = b->overflow) {
		if (b != head)
			c->overflows++;
		for (int i = 0; i < CORE_BUCKET_CNT; i++) {
			uint8_t top = b->tophash[i];
			uint64_t h;

			if (top == EMPTY_REST) {
				rest = true;
				continue;
			}
			if (rest) {
				problem(c,
					"bucket %zu: slot %zu not empty after "
					"an emptyRest slot",
					idx, (size_t)i);
				rest = false;
			}
			if (top == EMPTY_ONE)
				continue;
			if (top < MIN_TOP_HASH) {
				problem(c,
					"bucket %zu: evacuated state %zu in a "
					"live bucket",
					idx, (size_t)top);
				continue;
			}
			c->reachable++;
			if (!key_ok(c, b, i, idx))
				continue;
			h = slot_hash(c->t, b, i);
			if ((h & mask) != idx)
				problem(c,
					"entry in bucket %zu belongs in "
					"bucket %zu",
					idx, (size_t)(h & mask));
			else if (tophash(h) != top)
				problem(c,
					"bucket %zu slot %zu: tophash does "
					"not match the key",
					idx, (size_t)i);
		}
	}
}

int core_check(const struct core_table *t, struct map_check *out)
{
	struct checker c = {.t = t, .out = out};
	size_t nb = bucket_shift(t->B), mask = nb - 1;
	size_t newov, om = 0;
	uint64_t before = out->problems;

	if (growing(t)) {
		om = noldbuckets(t) - 1;
		if (t->nevacuate > om + 1)
			problem(&c, "nevacuate %zu past %zu old buckets",
				t->nevacuate, om + 1);
		for (size_t i = 0; i <= om; i++) {
			const struct core_bucket *ob = &t->oldbuckets[i];

			if (evacuated(ob)) {
				for (int k = 0; k < CORE_BUCKET_CNT; k++)
					if (ob->tophash[k] < EVACUATED_X ||
					    ob->tophash[k] > EVACUATED_EMPTY)
						problem(&c,
							"old bucket %zu: slot "
							"%zu half evacuated",
							i, (size_t)k);
				if (ob->overflow)
					problem(&c,
						"old bucket %zu: evacuated but "
						"chain kept",
						i);
				continue;
			}
			if (i < t->nevacuate)
				problem(&c,
					"old bucket %zu below nevacuate %zu "
					"not evacuated",
					i, t->nevacuate);
			check_chain(&c, ob, i, om, true);
		}
		if (c.overflows != t->oldnoverflow)
			problem(&c,
				"%zu overflow buckets in the old array, "
				"oldnoverflow says %zu",
				c.overflows, t->oldnoverflow);
		c.overflows = 0;
	}
	for (size_t j = 0; j < nb; j++) {
		const struct core_bucket *b = &t->buckets[j];

		if (growing(t) && !evacuated(&t->oldbuckets[j & om]) &&
		    (b->overflow || b->tophash[0] != EMPTY_REST))
			problem(&c,
				"new bucket %zu filled before old bucket %zu "
				"was evacuated",
				j, j & om);
		check_chain(&c, b, j, mask, false);
	}
	newov = c.overflows;
	if (newov != t->noverflow)
		problem(&c, "%zu overflow buckets, noverflow says %zu", newov,
			t->noverflow);
	if (c.reachable != t->count)
		problem(&c, "%zu entries reachable, count says %zu",
			(size_t)c.reachable, t->count);
	out->reachable += c.reachable;
	out->counted += t->count;
	return out->problems != before ? -EBADMSG : 0;
}

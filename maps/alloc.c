/*
 * maps/alloc.c - This file contains the counting allocator (maps/alloc.h).
 *
 * Every block carries a 16-byte header right before the caller's bytes:
 *
 *     [ pad ][ size (8) | tag (2) | offset (2) | magic (4) ][ caller's bytes ]
 *     ^ malloc's block                                      ^ returned pointer
 *
 * so ml_free() knows what to give back (offset: from malloc's block to the
 * caller's bytes, so free() gets the block back), and a freed or foreign
 * pointer (magic != ML_MAGIC_LIVE) dies loudly instead of skewing the
 * books.  A plain block has no pad (offset 16): the header keeps malloc's
 * 16-byte alignment for the caller's bytes.  An aligned block
 * (ml_calloc_aligned) asks malloc for align - 1 spare bytes and returns
 * the first aligned address at least 16 bytes into the block, with the
 * header right before it; the pad is malloc overhead, like the header,
 * and is not counted.
 *
 * Counters.  Per-tag live bytes and alloc/free counts are striped over
 * ML_STRIPES cache-line-aligned stripes.  A thread picks its stripe once
 * (round robin, thread-local index), so concurrent allocating threads write
 * different cache lines; a reader (the telemetry sampler) sums the stripes.
 * A block allocated on one stripe may be freed on another, so one stripe's
 * live count may wrap below zero: only the sum over stripes is meaningful
 * (unsigned wrap-around makes the sum exact).  All accounting is in
 * requested bytes; the 16-byte header is not counted.
 *
 * Budget.  A global byte budget is enforced with leases, not with one
 * counter every allocation writes:
 *   - g_reserved counts bytes granted to threads; invariant
 *     g_reserved <= budget whenever a grant succeeds (a grant that would
 *     pass the budget is refused, so g_reserved never passes it by a grant);
 *   - each thread holds a lease: bytes granted to it but not yet handed
 *     out.  An allocation is served from the lease; when the lease is short
 *     the thread asks g_reserved for ML_LEASE_CHUNK more (or, when that
 *     does not fit, only the shortfall);
 *   - a free puts its bytes back into the freeing thread's lease, and a
 *     lease above ML_LEASE_MAX is trimmed back to g_reserved;
 *   - near the budget (less than a quarter of it left) a thread gives its
 *     whole lease back before it allocates and then asks for exactly what
 *     it needs, and frees return everything at once: every allocation is
 *     then checked against the budget (one CAS on g_reserved - the price
 *     is paid only near the budget); a thread that exits returns its
 *     lease (pthread key destructor).
 *   So live_total == g_reserved - sum(leases) <= budget when the budget
 *   is reached, never late; an allocation may be refused early by at most
 *   the leases other threads hold and have not touched since the budget
 *   came near (ML_LEASE_MAX each).  With
 *   no budget the same bookkeeping runs (so a budget may be set at any time
 *   and applies to what is already live) but nothing is refused.
 *
 * Peak.  peak_total is raised when a grant succeeds (to g_reserved, an
 * upper bound on live within the leases) and when a snapshot is taken (to
 * the exact sum): approximate, as alloc.h says.
 *
 * Locking: none.  All shared state is atomics.  Counter updates are
 * memory_order_relaxed: they are statistics, no other memory is published
 * through them, and a reader only needs each counter eventually.  The
 * budget CAS on g_reserved is relaxed too: it only has to be atomic (no
 * two grants over-commit), it orders no other data.
 */
#include <errno.h>
#include <pthread.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "maps/alloc.h"

#define ML_STRIPES 32
#define ML_LEASE_CHUNK (64u * 1024u)
#define ML_LEASE_MAX (2u * ML_LEASE_CHUNK)
#define ML_MAGIC_LIVE 0x4d4c4142u /* "MLAB" */
#define ML_MAGIC_FREE 0x46524545u /* "FREE" */

struct ml_header {
	uint64_t size;   /* bytes requested by the caller */
	uint16_t tag;    /* enum ml_tag */
	uint16_t offset; /* caller's bytes - malloc's block (16 + pad) */
	uint32_t magic;  /* ML_MAGIC_LIVE while allocated */
};
_Static_assert(sizeof(struct ml_header) == 16, "header must keep alignment");

/* One stripe: written by the threads that picked it, read by snapshots.
 * Aligned to a cache line so two stripes never share one. */
struct ml_stripe {
	alignas(64) _Atomic uint64_t live[ML_TAG_COUNT]; /* may wrap; sum it */
	_Atomic uint64_t allocs[ML_TAG_COUNT];
	_Atomic uint64_t frees[ML_TAG_COUNT];
	_Atomic uint64_t live_total; /* sum of this stripe's live[] */
};

static struct ml_stripe g_stripes[ML_STRIPES];
static _Atomic unsigned g_next_stripe;      /* round-robin stripe picker */
static alignas(64) _Atomic uint64_t g_reserved; /* bytes granted to leases */
static alignas(64) _Atomic uint64_t g_budget;   /* 0 = unlimited */
static _Atomic uint64_t g_peak;
static _Atomic uint64_t g_failures;
static _Atomic int g_failed_tag = -1;

/* Per-thread state: only its own thread touches it. */
static _Thread_local int t_stripe = -1;
static _Thread_local uint64_t t_lease;
static _Thread_local bool t_key_set;

static pthread_once_t g_key_once = PTHREAD_ONCE_INIT;
static pthread_key_t g_key;

static const char *const tag_names[] = {
#define ML_TAG_NAME(e, s) s,
	ML_TAGS(ML_TAG_NAME)
#undef ML_TAG_NAME
};

static void raise_peak(uint64_t v)
{
	uint64_t cur = atomic_load_explicit(&g_peak, memory_order_relaxed);

	/* relaxed: a statistic; the CAS only keeps it monotonic. */
	while (v > cur &&
	       !atomic_compare_exchange_weak_explicit(&g_peak, &cur, v,
						      memory_order_relaxed,
						      memory_order_relaxed))
		;
}

/* Give `bytes` of the lease back to the global reservation. */
static void lease_return(uint64_t bytes)
{
	if (!bytes)
		return;
	t_lease -= bytes;
	atomic_fetch_sub_explicit(&g_reserved, bytes, memory_order_relaxed);
}

static void thread_exit_cb(void *unused)
{
	(void)unused;
	lease_return(t_lease);
}

static void make_key(void)
{
	if (pthread_key_create(&g_key, thread_exit_cb) != 0) {
		fprintf(stderr, "%s:%d: pthread_key_create failed\n", __FILE__,
			__LINE__);
		abort();
	}
}

/* Once per thread that holds a lease: thread exit returns it. */
static void register_thread(void)
{
	if (t_key_set)
		return;
	pthread_once(&g_key_once, make_key);
	t_key_set = true;
	if (pthread_setspecific(g_key, &t_key_set) != 0) {
		fprintf(stderr, "%s:%d: pthread_setspecific failed\n", __FILE__,
			__LINE__);
		abort();
	}
}

static struct ml_stripe *my_stripe(void)
{
	if (t_stripe < 0)
		t_stripe = (int)(atomic_fetch_add_explicit(&g_next_stripe, 1,
							   memory_order_relaxed) %
				 ML_STRIPES);
	return &g_stripes[t_stripe];
}

static bool near_budget(uint64_t budget, uint64_t reserved)
{
	return budget && (reserved >= budget || budget - reserved < budget / 4);
}

/* Make t_lease >= need, or return false (budget exhausted). */
static bool lease_get(uint64_t need)
{
	uint64_t budget = atomic_load_explicit(&g_budget, memory_order_relaxed);
	uint64_t cur = atomic_load_explicit(&g_reserved, memory_order_relaxed);
	uint64_t shortfall = need - t_lease;
	uint64_t want;

	register_thread();
	for (;;) {
		want = shortfall;
		if (!near_budget(budget, cur) && want < ML_LEASE_CHUNK)
			want = ML_LEASE_CHUNK;
		if (budget && (cur > budget || budget - cur < want)) {
			want = shortfall; /* try the exact amount */
			if (cur > budget || budget - cur < want)
				return false;
		}
		/* relaxed: see the file comment; atomicity is all we need. */
		if (atomic_compare_exchange_weak_explicit(
			    &g_reserved, &cur, cur + want, memory_order_relaxed,
			    memory_order_relaxed))
			break;
	}
	t_lease += want;
	raise_peak(cur + want);
	return true;
}

static void refuse(enum ml_tag tag)
{
	int none = -1;

	atomic_fetch_add_explicit(&g_failures, 1, memory_order_relaxed);
	/* relaxed: only the first refusal's tag is kept; nothing is published
	 * with it. */
	atomic_compare_exchange_strong_explicit(&g_failed_tag, &none, (int)tag,
						memory_order_relaxed,
						memory_order_relaxed);
	errno = ENOMEM;
}

/* zero: calloc, which skips the memset for fresh mmap'd chunks (big
 * bucket arrays), where malloc + memset would touch every page.  align:
 * 0 for malloc's alignment, else a power of two <= ML_ALIGN_MAX; inlined
 * so that ml_malloc and ml_calloc, which pass 0, pay nothing for it. */
static inline __attribute__((always_inline)) void *
alloc_block(enum ml_tag tag, size_t size, bool zero, size_t align)
{
	struct ml_stripe *s;
	struct ml_header *h;
	uint64_t budget;
	size_t pad = align ? align - 1 : 0;
	char *raw;

	if ((unsigned)tag >= ML_TAG_COUNT)
		tag = ML_TAG_OTHER;
	if (size > SIZE_MAX - sizeof(*h) - pad) {
		refuse(tag);
		return NULL;
	}
	budget = atomic_load_explicit(&g_budget, memory_order_relaxed);
	if (budget && near_budget(budget, atomic_load_explicit(
						  &g_reserved,
						  memory_order_relaxed))) {
		/* Exact mode: no lease may be spent past the budget. */
		lease_return(t_lease);
	}
	if (t_lease < size && !lease_get(size)) {
		refuse(tag);
		return NULL;
	}
	raw = zero ? calloc(1, sizeof(*h) + pad + size)
		   : malloc(sizeof(*h) + pad + size);
	if (!raw) {
		refuse(tag);
		return NULL;
	}
	h = (struct ml_header *)raw;
	if (align) /* the header goes right before the aligned address */
		h = (struct ml_header *)((((uintptr_t)raw + sizeof(*h) + pad) &
					  ~(uintptr_t)pad) -
					 sizeof(*h));
	t_lease -= size;
	h->size = size;
	h->tag = (uint16_t)tag;
	h->offset = (uint16_t)((char *)(h + 1) - raw);
	h->magic = ML_MAGIC_LIVE;
	s = my_stripe();
	atomic_fetch_add_explicit(&s->live[tag], size, memory_order_relaxed);
	atomic_fetch_add_explicit(&s->live_total, size, memory_order_relaxed);
	atomic_fetch_add_explicit(&s->allocs[tag], 1, memory_order_relaxed);
	return h + 1;
}

void *ml_malloc(enum ml_tag tag, size_t size)
{
	return alloc_block(tag, size, false, 0);
}

void *ml_calloc(enum ml_tag tag, size_t n, size_t size)
{
	if ((unsigned)tag >= ML_TAG_COUNT)
		tag = ML_TAG_OTHER;
	if (size && n > SIZE_MAX / size) {
		refuse(tag);
		return NULL;
	}
	return alloc_block(tag, n * size, true, 0);
}

void *ml_calloc_aligned(enum ml_tag tag, size_t align, size_t n,
			size_t size)
{
	if ((unsigned)tag >= ML_TAG_COUNT)
		tag = ML_TAG_OTHER;
	if (align < sizeof(struct ml_header) || align > ML_ALIGN_MAX ||
	    (align & (align - 1))) {
		errno = EINVAL; /* a caller's bug, not an out-of-memory */
		return NULL;
	}
	if (size && n > SIZE_MAX / size) {
		refuse(tag);
		return NULL;
	}
	return alloc_block(tag, n * size, true, align);
}

void ml_free(void *p)
{
	struct ml_header *h;
	struct ml_stripe *s;
	uint64_t size, budget, reserved;
	uint32_t tag;

	if (!p)
		return;
	h = (struct ml_header *)p - 1;
	if (h->magic != ML_MAGIC_LIVE || h->tag >= ML_TAG_COUNT ||
	    h->offset < sizeof(*h) ||
	    h->offset >= sizeof(*h) + ML_ALIGN_MAX) {
		fprintf(stderr,
			"ml_free(%p): not a live block (double free or heap "
			"corruption): magic %#x\n",
			p, h->magic);
		abort();
	}
	size = h->size;
	tag = h->tag;
	h->magic = ML_MAGIC_FREE;
	free((char *)p - h->offset);
	s = my_stripe();
	atomic_fetch_sub_explicit(&s->live[tag], size, memory_order_relaxed);
	atomic_fetch_sub_explicit(&s->live_total, size, memory_order_relaxed);
	atomic_fetch_add_explicit(&s->frees[tag], 1, memory_order_relaxed);
	register_thread();
	t_lease += size;
	budget = atomic_load_explicit(&g_budget, memory_order_relaxed);
	reserved = atomic_load_explicit(&g_reserved, memory_order_relaxed);
	if (near_budget(budget, reserved))
		lease_return(t_lease);
	else if (t_lease > ML_LEASE_MAX)
		lease_return(t_lease - ML_LEASE_CHUNK);
}

size_t ml_size(const void *p)
{
	return p ? (size_t)((const struct ml_header *)p - 1)->size : 0;
}

void ml_alloc_set_budget(uint64_t bytes)
{
	atomic_store_explicit(&g_budget, bytes, memory_order_relaxed);
}

uint64_t ml_alloc_live_total(void)
{
	uint64_t sum = 0;

	for (int i = 0; i < ML_STRIPES; i++)
		sum += atomic_load_explicit(&g_stripes[i].live_total,
					    memory_order_relaxed);
	/* torn while threads allocate: never a wrapped negative figure */
	return sum > (UINT64_MAX >> 1) ? 0 : sum;
}

void ml_alloc_snapshot(struct ml_alloc_snapshot *out)
{
	memset(out, 0, sizeof(*out));
	for (int i = 0; i < ML_STRIPES; i++) {
		struct ml_stripe *s = &g_stripes[i];

		for (int t = 0; t < ML_TAG_COUNT; t++) {
			out->live[t] += atomic_load_explicit(
				&s->live[t], memory_order_relaxed);
			out->allocs[t] += atomic_load_explicit(
				&s->allocs[t], memory_order_relaxed);
			out->frees[t] += atomic_load_explicit(
				&s->frees[t], memory_order_relaxed);
		}
	}
	for (int t = 0; t < ML_TAG_COUNT; t++)
		out->live_total += out->live[t];
	/* A sum taken while threads allocate may be torn (a free counted
	 * before its alloc): never report a wrapped negative figure. */
	for (int t = 0; t < ML_TAG_COUNT; t++)
		if (out->live[t] > (UINT64_MAX >> 1))
			out->live[t] = 0;
	if (out->live_total > (UINT64_MAX >> 1))
		out->live_total = 0;
	raise_peak(out->live_total);
	out->peak_total = atomic_load_explicit(&g_peak, memory_order_relaxed);
	out->budget = atomic_load_explicit(&g_budget, memory_order_relaxed);
	out->failures = atomic_load_explicit(&g_failures, memory_order_relaxed);
	out->failed_tag =
		atomic_load_explicit(&g_failed_tag, memory_order_relaxed);
}

const char *ml_tag_name(int tag)
{
	if (tag < 0 || tag >= ML_TAG_COUNT)
		return "?";
	return tag_names[tag];
}

/*
 * incidents/payment/payment.c - This file contains the payment incident: a
 * payment gateway's order cache written from concurrent callbacks and swept
 * by an expiry loop (seed chapter 3.1; the story is in README.md).
 *
 * Threads and data flow.
 *   dispatcher (the run() thread): open-loop arrivals at `rate`
 *     notifications per second, paced against an absolute schedule (never
 *     slowed by the workers).  Each notification (create, status update,
 *     settle, or a redelivered settle) is one ml_malloc'd `struct note`
 *     (QUEUE) carrying its raw body (PAYLOAD, 1-4 KiB), appended to the
 *     FIFO of the callback thread that owns its order (order id mod
 *     threads, as a partitioned consumer does), so one order's
 *     notifications are handled in order and the stream's final state per
 *     order is well defined on a correct map.
 *   callback threads (ictx_threads, default 8): pop, get the cached order,
 *     build a new immutable order object that takes over the raw body, put
 *     it (copy-on-write, like Go's `cache[id] = &Order{...}`).  A settle is
 *     applied only if the cached order is not settled already; applying
 *     it "charges" the order: ledger[id].settles++ (the side effect that
 *     must happen once).
 *   reaper: every `sweep_ms` walks the whole cache with map_range, collects
 *     the keys of orders settled more than `ttl_ms` ago, and deletes them
 *     after the walk.  Decision: collect-then-delete for every variant.
 *     The locked variants hold their lock through a walk and refuse
 *     re-entry (-EDEADLK), and one code path keeps the variants'
 *     differences in the map, not in the incident.  After the callback
 *     threads have drained their queues and exited, the reaper makes one
 *     final sweep with TTL 0 so every settled order is evicted by the end.
 *
 * Start: by default the service has just restarted (warm_pct 0): the map
 * is opened with a small capacity hint (`hint`, 1024 orders, a library's
 * usual default) and grows by doubling while the cache fills, under the
 * callbacks.  (hint=0 is Go's make(map[string]*Order); it leaves the rcu
 * variant's table at one bucket until liburcu's resize thread catches up,
 * which on a loaded machine it may not: see README.md.)  With warm_pct >
 * 0, setup reloads that share of the open orders first and presizes the
 * map for them too (capacity_hint = hint + orders reloaded).
 *
 * The ledger (outside the map, one entry per order id, allocated once in
 * setup) is what the oracle checks the cache against:
 *   seq, state, dropped   written by the dispatcher only (its view of the
 *                         stream); read by the oracle after the joins
 *   settles               atomic, callbacks (relaxed: a count, read after
 *                         pthread_join, which orders everything)
 *   evicted               atomic, the reaper (relaxed, same reason)
 *   lost_work             atomic, callbacks: a notification of this order
 *                         was dropped for lack of memory (relaxed)
 * Orders are immutable once put; only their reference count changes.
 *
 * Locking: each callback queue has one mutex (leaf) protecting head, tail,
 * closed and waiting; the reaper's wake-up has one mutex (leaf).  The map
 * is used only through maps/map.h.  No lock is held across a map call.
 *
 * Memory: every byte through ml_malloc: notes (QUEUE), raw bodies
 * (PAYLOAD), orders (VALUES), the ledger, slots, queues and eviction lists
 * (OTHER).  On NULL the work is dropped and counted ("dropped") and the
 * run goes on.  After teardown nothing is left unless the map lost it.
 *
 * The unsafe variant: the table may end corrupt.  The oracle runs
 * map_check first, then a walk bounded by a visit budget; release() notices
 * a second release of a freed order by its poisoned magic (best effort: the
 * block may have been reused) and counts it instead of freeing twice.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "incidents/incident.h"
#include "incidents/payment/payment.h"
#include "maps/alloc.h"
#include "maps/map.h"
#include "maps/util.h"

/* A pthread call that cannot fail in a correct program: die loudly (the
 * same rule as ML_CHECK_PTHREAD, which is private to maps/). */
#define ORDER_MAGIC 0x4f524445u /* "ORDE" */
#define ORDER_DEAD 0xdeadbeefu  /* poisoned on free */
#define KEY_LEN 20              /* "ord-" + 16 hex digits */
#define MAX_THREADS 256         /* the CLI's --threads limit */
#define DUP_RING 4096           /* pending redeliveries */
#define DUP_DELAY 64            /* arrivals before a redelivery */
#define TICK_NS 1000000ull      /* dispatcher batch period: 1 ms */

enum order_state { ST_NONE = 0, ST_CREATED, ST_UPDATED, ST_SETTLED };
enum note_kind { N_CREATE, N_UPDATE, N_SETTLE };

struct order {                 /* VALUES; immutable once put, but refs */
	uint32_t magic;        /* ORDER_MAGIC, ORDER_DEAD once freed */
	_Atomic uint32_t refs;
	uint32_t seq;          /* the notification that made it, 1 = create */
	uint8_t state;         /* enum order_state */
	uint64_t id;
	uint64_t settled_ns;   /* when the settle was applied, 0 before */
	uint8_t *raw;          /* PAYLOAD: the latest raw notification */
	uint32_t raw_len;
};

struct note {                  /* QUEUE: one notification in a queue */
	struct note *next;
	uint64_t id;
	uint64_t arrival_ns;   /* scheduled arrival (open loop) */
	uint32_t seq;
	uint8_t kind;          /* enum note_kind */
	uint8_t *raw;          /* PAYLOAD, handed over to the order */
	uint32_t raw_len;
};

struct ledger {                /* one per order id */
	uint32_t seq;          /* dispatcher: last seq emitted, 0 = none */
	uint8_t state;         /* dispatcher: state that seq leads to */
	uint8_t dropped;       /* dispatcher: a note was never queued */
	_Atomic uint8_t lost_work;  /* callbacks: a note was dropped (ENOMEM) */
	_Atomic uint8_t evicted;    /* reaper: successful deletes */
	_Atomic uint16_t settles;   /* callbacks: settles applied */
};

struct slot {                  /* dispatcher-private: one open order */
	uint64_t id;
	uint32_t next_seq;     /* next notification to emit, 1 = create */
	uint32_t nevents;      /* create + updates + settle */
};

struct dup {                   /* dispatcher-private: a redelivery */
	uint64_t id, due;      /* due: arrival index to emit at */
	uint32_t seq;
};

/* One callback thread's FIFO.  Padded: eight of them sit in one array and
 * each is written by the dispatcher and its worker. */
struct queue {
	alignas(64) pthread_mutex_t mu;
	pthread_cond_t cv;
	struct note *head, *tail; /* under mu */
	bool closed;              /* under mu: no more pushes */
	bool waiting;             /* under mu: worker asleep on cv */
};

struct payment {
	/* immutable after setup (the map itself synchronises as its variant
	 * does, or not at all) */
	struct ictx *ctx;
	struct map *m;
	struct map_value_ops vops;
	uint64_t seed;
	unsigned nthreads;

	/* parameters (immutable after setup) */
	double rate;
	uint32_t open, updates_max, dup_pct, pay_min, pay_max, warm_pct,
		abandon_pct;
	uint64_t ttl_ns, sweep_ns;

	/* ledger: entries [0, nledger); ids below next_id were opened.
	 * next_id is written by the dispatcher (and setup), read after join. */
	struct ledger *ledger;
	uint64_t nledger, next_id;

	/* dispatcher-private */
	struct slot *slots;
	uint32_t nslots;
	struct dup *dups;
	uint32_t dup_head, dup_len;
	uint64_t rng;

	struct queue *queues;    /* cache-line aligned, inside queues_mem */
	void *queues_mem;        /* OTHER: what ml_calloc returned */
	unsigned nqueues;        /* initialised */
	pthread_t workers[MAX_THREADS];
	unsigned nworkers;       /* started */
	pthread_t reaper;
	bool reaper_started;

	/* the audit log the reaper appends each evicted order to; the fd is
	 * immutable after setup, the tallies are the reaper's own (read
	 * after join) */
	int audit_fd;            /* -1 if audit=0 */
	uint64_t audit_bytes, audit_errors;

	/* reaper wake-up */
	pthread_mutex_t rmu;
	pthread_cond_t rcv;      /* CLOCK_MONOTONIC */
	bool final_sweep;        /* under rmu: workers are gone, sweep & exit */

	/* counters written by several threads, read after join (relaxed) */
	_Atomic uint64_t bad_release;  /* release of a freed/garbage order */
	_Atomic uint64_t corrupt_seen; /* garbage values met by threads */
	_Atomic int64_t inflight;      /* accepted, not finished (relaxed:
					  a gauge, publishes nothing) */
	int64_t inflight_max;          /* dispatcher only */

	/* oracle results handed to teardown */
	bool table_corrupt;      /* map_check or the oracle's walk said so */
	bool walk_runaway;       /* the oracle's walk ran in circles */
	uint64_t reachable_bytes;

	/* metrics (registered in setup) */
	struct ictx_metric *m_inflight, *m_ops, *m_entries, *m_queue_bytes,
		*m_arrivals, *m_dropped, *m_evicted, *m_sweeps, *m_sweep_us,
		*m_sweep_max_us, *m_map_len, *m_redeliveries, *m_settle_unknown,
		*m_stale, *m_corrupt, *m_lag_us, *m_lag_max_us, *m_settled,
		*m_inflight_max;
	struct ictx_hist *h_latency, *h_sweep, *h_map;
};

static const struct incident_param payment_params[] = {
	/* 250k open orders, 60% of them cached at start: the reaper's walk
	 * is ~15 ms under one lock every 250 ms, so a lock-held sweep queues
	 * ~20k/s x 15 ms of callbacks; the cache still grows (and the table
	 * still doubles) during the run, which is where unsafe crashes */
	PAYMENT_PARAMS(20000, 250000, 128, 512, 60, 0),
	{.name = NULL},
};

/* Checked in the parent before anything runs (incident.h). */
static const struct incident_rule payment_rules[] = {
	{"payload_min", NULL, "payload_max", 0,
	 "raise payload_max or lower payload_min"},
	{.a = NULL},
};

/* ---- small helpers -------------------------------------------------- */

/* The cache key of an order: a seeded bijection of its id, so keys are
 * unique and spread like real order numbers. */
static void key_of(const struct payment *p, uint64_t id, char key[KEY_LEN])
{
	static const char hex[] = "0123456789abcdef";
	uint64_t h = ml_mix64(id ^ p->seed);

	memcpy(key, "ord-", 4);
	for (int i = 0; i < 16; i++)
		key[4 + i] = hex[(h >> (60 - 4 * i)) & 0xf];
}

static void sleep_until(uint64_t ns)
{
	struct timespec ts = {.tv_sec = (time_t)(ns / 1000000000ull),
			      .tv_nsec = (long)(ns % 1000000000ull)};

	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) ==
	       EINTR)
		;
}

/* ---- orders: reference-counted values ------------------------------- */

static void order_free(struct payment *p, struct order *o)
{
	(void)p;
	o->magic = ORDER_DEAD;
	ml_free(o->raw);
	ml_free(o);
}

static void order_retain(void *val, void *ctx)
{
	struct order *o = val;

	(void)ctx;
	/* relaxed: the caller already holds a reference, nothing to order */
	atomic_fetch_add_explicit(&o->refs, 1, memory_order_relaxed);
}

static void order_release(void *val, void *ctx)
{
	struct payment *p = ctx;
	struct order *o = val;
	uint32_t old;

	if (!o || o->magic != ORDER_MAGIC) {
		/* freed already (a second release) or garbage from a corrupt
		 * table: count it rather than free twice */
		atomic_fetch_add_explicit(&p->bad_release, 1,
					  memory_order_relaxed);
		return;
	}
	/* acq_rel: the last release must see every other holder's reads of
	 * the order done before it frees */
	old = atomic_fetch_sub_explicit(&o->refs, 1, memory_order_acq_rel);
	if (old == 1)
		order_free(p, o);
	else if (old == 0)
		atomic_fetch_add_explicit(&p->bad_release, 1,
					  memory_order_relaxed);
}

/* A new order owning raw (on NULL raw stays the caller's). */
static struct order *order_new(uint64_t id, uint32_t seq, uint8_t state,
			       uint8_t *raw, uint32_t raw_len)
{
	struct order *o = ml_malloc(ML_TAG_VALUES, sizeof(*o));

	if (!o)
		return NULL;
	o->magic = ORDER_MAGIC;
	atomic_init(&o->refs, 1);
	o->seq = seq;
	o->state = state;
	o->id = id;
	o->settled_ns = state == ST_SETTLED ? ictx_now_ns() : 0;
	o->raw = raw;
	o->raw_len = raw_len;
	return o;
}

/* A raw notification body: a text header, then filler bytes.  Written in
 * full, so the memory is really touched (RSS follows live bytes). */
static uint8_t *raw_new(struct payment *p, uint64_t id, uint32_t seq,
			uint8_t kind, uint32_t *len)
{
	static const char *const kinds[] = {"created", "updated", "settled"};
	uint32_t span = p->pay_max - p->pay_min + 1;
	uint32_t n = p->pay_min + (uint32_t)(ml_splitmix64(&p->rng) % span);
	uint8_t *raw = ml_malloc(ML_TAG_PAYLOAD, n);
	int h;

	if (!raw)
		return NULL;
	h = snprintf((char *)raw, n, "{\"order\":%" PRIu64 ",\"seq\":%" PRIu32
		     ",\"status\":\"%s\"}", id, seq, kinds[kind]);
	if (h < 0 || (uint32_t)h >= n)
		h = 0;
	memset(raw + h, (int)(' ' + (id + seq) % 64), n - (uint32_t)h);
	*len = n;
	return raw;
}

/* ---- queues --------------------------------------------------------- */

static void queue_push(struct queue *q, struct note *n)
{
	bool wake;

	n->next = NULL;
	ML_CHECK_PTHREAD(pthread_mutex_lock(&q->mu));
	if (q->tail)
		q->tail->next = n;
	else
		q->head = n;
	q->tail = n;
	wake = q->waiting;
	ML_CHECK_PTHREAD(pthread_mutex_unlock(&q->mu));
	if (wake)
		ML_CHECK_PTHREAD(pthread_cond_signal(&q->cv));
}

/* The next note, or NULL once the queue is closed and empty. */
static struct note *queue_pop(struct queue *q)
{
	struct note *n;

	ML_CHECK_PTHREAD(pthread_mutex_lock(&q->mu));
	while (!q->head && !q->closed) {
		q->waiting = true;
		ML_CHECK_PTHREAD(pthread_cond_wait(&q->cv, &q->mu));
		q->waiting = false;
	}
	n = q->head;
	if (n) {
		q->head = n->next;
		if (!q->head)
			q->tail = NULL;
	}
	ML_CHECK_PTHREAD(pthread_mutex_unlock(&q->mu));
	return n;
}

static void queue_close(struct queue *q)
{
	ML_CHECK_PTHREAD(pthread_mutex_lock(&q->mu));
	q->closed = true;
	ML_CHECK_PTHREAD(pthread_mutex_unlock(&q->mu));
	ML_CHECK_PTHREAD(pthread_cond_signal(&q->cv));
}

static int64_t note_bytes(const struct note *n)
{
	return (int64_t)(sizeof(*n) + n->raw_len);
}

/* ---- callbacks ------------------------------------------------------ */

static bool order_ok(const struct payment *p, const struct order *o,
		     uint64_t id)
{
	return o && o->magic == ORDER_MAGIC && o->id == id &&
	       id < p->nledger;
}

/* Handle one notification.  Takes over n->raw (frees it or hands it to a
 * new order); the caller frees the note. */
static void handle(struct payment *p, struct note *n)
{
	struct ledger *l = &p->ledger[n->id];
	struct order *old = NULL, *o;
	char key[KEY_LEN];
	void *v = NULL;
	uint64_t t0, in_map;
	uint8_t state;
	int rc;

	key_of(p, n->id, key);
	t0 = ictx_now_ns();
	rc = map_get(p->m, key, KEY_LEN, &v);
	in_map = ictx_now_ns() - t0;
	if (rc == 0) {
		old = v;
		if (!order_ok(p, old, n->id)) {
			/* a corrupt table handed back garbage: do not touch
			 * or release it; handle as a miss */
			atomic_fetch_add_explicit(&p->corrupt_seen, 1,
						  memory_order_relaxed);
			ictx_add(p->m_corrupt, 1);
			old = NULL;
		}
	}
	if (n->kind == N_SETTLE) {
		if (!old) { /* evicted after a redelivery, or lost */
			ictx_add(p->m_settle_unknown, 1);
			goto drop;
		}
		if (old->state == ST_SETTLED) { /* a redelivery: ignore */
			ictx_add(p->m_redeliveries, 1);
			goto drop;
		}
	}
	if (old && n->seq <= old->seq) { /* cannot happen on a correct map */
		ictx_add(p->m_stale, 1);
		goto drop;
	}
	state = n->kind == N_CREATE ? ST_CREATED
		: n->kind == N_UPDATE ? ST_UPDATED : ST_SETTLED;
	o = order_new(n->id, n->seq, state, n->raw, n->raw_len);
	if (!o)
		goto lost;
	n->raw = NULL; /* the order owns it now */
	t0 = ictx_now_ns();
	rc = map_put(p->m, key, KEY_LEN, o);
	in_map += ictx_now_ns() - t0;
	if (rc) {
		order_release(o, p);
		goto lost;
	}
	if (!old)
		ictx_add(p->m_entries, 1);
	if (state == ST_SETTLED) {
		/* relaxed: a count, read after join */
		atomic_fetch_add_explicit(&l->settles, 1, memory_order_relaxed);
		ictx_add(p->m_settled, 1);
	}
	goto out;
lost:
	atomic_store_explicit(&l->lost_work, 1, memory_order_relaxed);
	ictx_add(p->m_dropped, 1);
drop:
	ml_free(n->raw);
	n->raw = NULL;
out:
	if (old)
		order_release(old, p);
	ictx_hist_record(p->h_map, in_map);
}

struct worker_arg {
	struct payment *p;
	unsigned idx;
};

static void *worker_main(void *arg)
{
	struct worker_arg *wa = arg;
	struct payment *p = wa->p;
	struct queue *q = &p->queues[wa->idx];
	struct note *n;

	map_thread_enter(p->m);
	while ((n = queue_pop(q))) {
		int64_t bytes = note_bytes(n);
		uint64_t arrival = n->arrival_ns;

		handle(p, n);
		ml_free(n);
		ictx_add(p->m_queue_bytes, -bytes);
		ictx_add(p->m_inflight, -1);
		atomic_fetch_sub_explicit(&p->inflight, 1,
					  memory_order_relaxed);
		ictx_add(p->m_ops, 1);
		ictx_hist_record(p->h_latency, ictx_now_ns() - arrival);
	}
	map_thread_exit(p->m);
	return NULL;
}

/* ---- the reaper ----------------------------------------------------- */

struct sweep {
	struct payment *p;
	uint64_t now, ttl;
	uint64_t *ids;           /* OTHER: orders to evict */
	size_t n, cap;
	uint64_t visited, bound;
	int64_t max_us;          /* longest walk so far */
};

/* Persist an order the sweep is about to evict: one record (a header
 * line, then its raw body) appended with one write, as a reaper that must
 * keep what it drops does.  Called from the walk, so under a lock held
 * through it the callbacks wait for this I/O too.  A failed write (a full
 * disk) is counted; the eviction goes on. */
static void audit(struct payment *p, const struct order *o)
{
	char head[64];
	struct iovec iov[2];
	int h;
	ssize_t n;

	if (p->audit_fd < 0)
		return;
	h = snprintf(head, sizeof(head), "evicted %" PRIu64 " seq %" PRIu32
		     " bytes %" PRIu32 "\n", o->id, o->seq, o->raw_len);
	iov[0].iov_base = head;
	iov[0].iov_len = h > 0 && h < (int)sizeof(head) ? (size_t)h : 0;
	iov[1].iov_base = o->raw;
	iov[1].iov_len = o->raw_len;
	do
		n = writev(p->audit_fd, iov, 2);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		p->audit_errors++;
	else
		p->audit_bytes += (uint64_t)n;
}

static int sweep_cb(const void *key, size_t klen, void *val, void *arg)
{
	struct sweep *s = arg;
	const struct order *o = val;
	char want[KEY_LEN];

	if (++s->visited > s->bound)
		return 1; /* a runaway walk: the table is corrupt */
	if (!o || o->magic != ORDER_MAGIC || o->id >= s->p->nledger) {
		atomic_fetch_add_explicit(&s->p->corrupt_seen, 1,
					  memory_order_relaxed);
		ictx_add(s->p->m_corrupt, 1);
		return 0;
	}
	key_of(s->p, o->id, want);
	if (klen != KEY_LEN || memcmp(key, want, KEY_LEN) != 0) {
		atomic_fetch_add_explicit(&s->p->corrupt_seen, 1,
					  memory_order_relaxed);
		ictx_add(s->p->m_corrupt, 1);
		return 0;
	}
	if (o->state != ST_SETTLED || s->now - o->settled_ns < s->ttl)
		return 0;
	audit(s->p, o);
	if (s->n == s->cap) {
		size_t ncap = s->cap ? s->cap * 2 : 1024;
		uint64_t *ids = ml_malloc(ML_TAG_OTHER, ncap * sizeof(*ids));

		if (!ids)
			return 0; /* evict it next sweep */
		if (s->n)
			memcpy(ids, s->ids, s->n * sizeof(*ids));
		ml_free(s->ids);
		s->ids = ids;
		s->cap = ncap;
	}
	s->ids[s->n++] = o->id;
	return 0;
}

static void sweep(struct payment *p, struct sweep *s, uint64_t ttl)
{
	uint64_t t0, t1, evicted = 0;
	char key[KEY_LEN];

	s->n = 0;
	s->visited = 0;
	s->ttl = ttl;
	s->now = t0 = ictx_now_ns();
	map_range(p->m, sweep_cb, s);
	t1 = ictx_now_ns();
	for (size_t i = 0; i < s->n; i++) {
		key_of(p, s->ids[i], key);
		if (map_delete(p->m, key, KEY_LEN) == 0) {
			evicted++;
			atomic_fetch_add_explicit(&p->ledger[s->ids[i]].evicted,
						  1, memory_order_relaxed);
		}
	}
	ictx_add(p->m_evicted, (int64_t)evicted);
	ictx_add(p->m_entries, -(int64_t)evicted);
	ictx_add(p->m_sweeps, 1);
	ictx_hist_record(p->h_sweep, t1 - t0);
	ictx_set(p->m_sweep_us, (int64_t)((t1 - t0) / 1000));
	if ((int64_t)((t1 - t0) / 1000) > s->max_us) {
		s->max_us = (int64_t)((t1 - t0) / 1000);
		ictx_set(p->m_sweep_max_us, s->max_us);
	}
	ictx_set(p->m_map_len, (int64_t)map_len(p->m));
}

static void *reaper_main(void *arg)
{
	struct payment *p = arg;
	struct sweep s = {.p = p};
	uint64_t next = ictx_now_ns();
	bool final = false;

	/* a walk longer than this is running in circles */
	s.bound = 4 * (p->nledger + 1024);
	map_thread_enter(p->m);
	while (!final) {
		struct timespec ts;

		next += p->sweep_ns;
		ts.tv_sec = (time_t)(next / 1000000000ull);
		ts.tv_nsec = (long)(next % 1000000000ull);
		ML_CHECK_PTHREAD(pthread_mutex_lock(&p->rmu));
		while (!p->final_sweep) {
			int rc = pthread_cond_timedwait(&p->rcv, &p->rmu, &ts);

			if (rc == ETIMEDOUT)
				break;
			if (rc != 0 && rc != EINTR)
				ML_CHECK_PTHREAD(rc);
		}
		final = p->final_sweep;
		ML_CHECK_PTHREAD(pthread_mutex_unlock(&p->rmu));
		if (!final) {
			sweep(p, &s, p->ttl_ns);
			if (ictx_now_ns() > next)
				next = ictx_now_ns(); /* fell behind: no burst */
		}
	}
	sweep(p, &s, 0); /* workers are gone: evict every settled order */
	map_thread_exit(p->m);
	ml_free(s.ids);
	return NULL;
}

/* ---- the dispatcher ------------------------------------------------- */

static void slot_open(struct payment *p, struct slot *s)
{
	s->id = p->next_id++;
	s->next_seq = 1;
	s->nevents = 2 + (uint32_t)(ml_splitmix64(&p->rng) % (p->updates_max + 1));
}

/* The slot's order is done (settled or abandoned): open the next one. */
static void slot_next(struct payment *p, struct slot *s)
{
	if (p->next_id < p->nledger)
		slot_open(p, s);
	else /* ledger full: retire the slot */
		*s = p->slots[--p->nslots];
}

/* Whether an order is one whose settle never comes: a seeded draw per
 * order id, so a rerun abandons the same orders. */
static bool abandoned(const struct payment *p, uint64_t id)
{
	return p->abandon_pct &&
	       ml_mix64(id ^ p->seed ^ 0x61626e646e64ull) % 100 < p->abandon_pct;
}

static void emit(struct payment *p, uint64_t id, uint32_t seq, uint8_t kind,
		 uint64_t arrival)
{
	struct note *n = ml_malloc(ML_TAG_QUEUE, sizeof(*n));
	uint8_t *raw = n ? raw_new(p, id, seq, kind, &n->raw_len) : NULL;

	if (!raw) {
		ml_free(n);
		p->ledger[id].dropped = 1;
		ictx_add(p->m_dropped, 1);
		return;
	}
	n->id = id;
	n->seq = seq;
	n->kind = kind;
	n->raw = raw;
	n->arrival_ns = arrival;
	ictx_add(p->m_inflight, 1);
	atomic_fetch_add_explicit(&p->inflight, 1, memory_order_relaxed);
	ictx_add(p->m_queue_bytes, note_bytes(n));
	queue_push(&p->queues[id % p->nthreads], n);
}

/* One arrival: a due redelivery, or the next notification of a random
 * open order. */
static void arrive(struct payment *p, uint64_t k, uint64_t arrival)
{
	struct slot *s;
	struct ledger *l;
	uint8_t kind;

	ictx_add(p->m_arrivals, 1);
	if (p->dup_len && p->dups[p->dup_head].due <= k) {
		struct dup *d = &p->dups[p->dup_head];

		emit(p, d->id, d->seq, N_SETTLE, arrival);
		p->dup_head = (p->dup_head + 1) % DUP_RING;
		p->dup_len--;
		return;
	}
	if (!p->nslots)
		return;
	s = &p->slots[ml_splitmix64(&p->rng) % p->nslots];
	l = &p->ledger[s->id];
	kind = s->next_seq == 1 ? N_CREATE
	       : s->next_seq == s->nevents ? N_SETTLE : N_UPDATE;
	if (kind == N_SETTLE && abandoned(p, s->id)) {
		/* no settle will ever come: the order stays open in the
		 * cache, and the slot moves on to a new order */
		slot_next(p, s);
		return;
	}
	l->seq = s->next_seq;
	l->state = kind == N_CREATE ? ST_CREATED
		   : kind == N_UPDATE ? ST_UPDATED : ST_SETTLED;
	emit(p, s->id, s->next_seq, kind, arrival);
	if (kind != N_SETTLE) {
		s->next_seq++;
		return;
	}
	if (p->dup_len < DUP_RING &&
	    ml_splitmix64(&p->rng) % 100 < p->dup_pct) {
		struct dup *d = &p->dups[(p->dup_head + p->dup_len) % DUP_RING];

		d->id = s->id;
		d->seq = s->next_seq;
		d->due = k + DUP_DELAY;
		p->dup_len++;
	}
	slot_next(p, s);
}

static void dispatch(struct payment *p)
{
	uint64_t t0 = ictx_now_ns(), tick = t0, k = 0;
	double period = 1e9 / p->rate;
	int64_t inflight, lag_max = 0;

	while (!ictx_stopping(p->ctx)) {
		uint64_t now = ictx_now_ns();
		uint64_t due = (uint64_t)((double)(now - t0) / period);
		int64_t lag;

		/* how far behind its schedule the oldest due arrival is
		 * accepted: > 1 ms means the dispatcher itself was held up */
		lag = k < due ? (int64_t)(now - t0 -
					  (uint64_t)((double)k * period)) / 1000
			      : 0;
		ictx_set(p->m_lag_us, lag);
		if (lag > lag_max) {
			lag_max = lag;
			ictx_set(p->m_lag_max_us, lag_max);
		}
		for (; k < due; k++)
			arrive(p, k, t0 + (uint64_t)((double)k * period));
		inflight = atomic_load_explicit(&p->inflight,
						memory_order_relaxed);
		if (inflight > p->inflight_max) {
			p->inflight_max = inflight;
			ictx_set(p->m_inflight_max, inflight);
		}
		tick += TICK_NS;
		if (tick < now)
			tick = now;
		sleep_until(tick);
	}
}

/* ---- the incident --------------------------------------------------- */


/* The audit log, in the run's work folder (removed by the harness). */
static int audit_open(struct payment *p, struct ictx *ctx)
{
	char path[4096];

	if (!ictx_param(ctx, "audit"))
		return 0;
	if (snprintf(path, sizeof(path), "%s/audit.log", ictx_workdir(ctx)) >=
	    (int)sizeof(path))
		return -ENAMETOOLONG;
	p->audit_fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND |
				 O_CLOEXEC, 0644);
	return p->audit_fd < 0 ? -errno : 0;
}

/* The parameters, once, into the state. */
static void read_params(struct payment *p, struct ictx *ctx)
{
	p->ctx = ctx;
	p->seed = ictx_seed(ctx);
	p->rng = ml_mix64(p->seed ^ 0x7061796d656e74ull);
	p->nthreads = ictx_threads(ctx);
	p->rate = ictx_param(ctx, "rate");
	p->open = (uint32_t)ictx_param(ctx, "open");
	p->updates_max = (uint32_t)ictx_param(ctx, "updates_max");
	p->dup_pct = (uint32_t)ictx_param(ctx, "dup_pct");
	p->warm_pct = (uint32_t)ictx_param(ctx, "warm_pct");
	p->abandon_pct = (uint32_t)ictx_param(ctx, "abandon_pct");
	p->audit_fd = -1;
	p->pay_min = (uint32_t)ictx_param(ctx, "payload_min");
	p->pay_max = (uint32_t)ictx_param(ctx, "payload_max");
	p->ttl_ns = (uint64_t)ictx_param(ctx, "ttl_ms") * 1000000ull;
	p->sweep_ns = (uint64_t)ictx_param(ctx, "sweep_ms") * 1000000ull;
}

/* The ledger, slots, redelivery ring, queues and the audit log.  0 or
 * -errno. */
static int alloc_state(struct payment *p, struct ictx *ctx)
{
	double secs = ictx_seconds(ctx);
	uint64_t min_events = 2;
	int rc;

	/* every order the run can open: the window plus one per completed
	 * order (at least two notifications each, one if it is abandoned
	 * after its create), with room for a late stop */
	if (p->abandon_pct)
		min_events = 1;
	p->nledger = p->open +
		     (uint64_t)(p->rate * (secs * 1.5 + 1.0)) / min_events;
	p->ledger = ml_calloc(ML_TAG_OTHER, p->nledger, sizeof(*p->ledger));
	p->slots = ml_calloc(ML_TAG_OTHER, p->open, sizeof(*p->slots));
	p->dups = ml_calloc(ML_TAG_OTHER, DUP_RING, sizeof(*p->dups));
	/* ml_malloc aligns to 16 bytes; struct queue wants a cache line */
	p->queues_mem = ml_calloc(ML_TAG_OTHER, 1,
				  (p->nthreads + 1) * sizeof(*p->queues));
	if (p->queues_mem)
		p->queues = (struct queue *)(((uintptr_t)p->queues_mem + 63) &
					     ~(uintptr_t)63);
	if (!p->ledger || !p->slots || !p->dups || !p->queues)
		return -ENOMEM;
	if ((rc = audit_open(p, ctx)))
		return rc;
	for (unsigned i = 0; i < p->nthreads; i++) {
		ML_CHECK_PTHREAD(pthread_mutex_init(&p->queues[i].mu, NULL));
		ML_CHECK_PTHREAD(pthread_cond_init(&p->queues[i].cv, NULL));
		p->nqueues++;
	}
	return 0;
}

static void register_metrics(struct payment *p, struct ictx *ctx)
{
	p->m_inflight = ictx_metric(ctx, "inflight", ICTX_GAUGE);
	p->m_ops = ictx_metric(ctx, "ops", ICTX_COUNTER);
	p->m_entries = ictx_metric(ctx, "entries", ICTX_GAUGE);
	p->m_queue_bytes = ictx_metric(ctx, "queue_bytes", ICTX_GAUGE);
	p->m_arrivals = ictx_metric(ctx, "arrivals", ICTX_COUNTER);
	p->m_dropped = ictx_metric(ctx, "dropped", ICTX_COUNTER);
	p->m_evicted = ictx_metric(ctx, "evicted", ICTX_COUNTER);
	p->m_settled = ictx_metric(ctx, "settled", ICTX_COUNTER);
	p->m_sweeps = ictx_metric(ctx, "sweeps", ICTX_COUNTER);
	p->m_sweep_us = ictx_metric(ctx, "sweep_walk_us", ICTX_GAUGE);
	p->m_sweep_max_us = ictx_metric(ctx, "sweep_walk_max_us", ICTX_GAUGE);
	p->m_map_len = ictx_metric(ctx, "map_len", ICTX_GAUGE);
	p->m_redeliveries = ictx_metric(ctx, "redeliveries", ICTX_COUNTER);
	p->m_settle_unknown = ictx_metric(ctx, "settle_unknown", ICTX_COUNTER);
	p->m_stale = ictx_metric(ctx, "stale", ICTX_COUNTER);
	p->m_corrupt = ictx_metric(ctx, "corrupt_seen", ICTX_COUNTER);
	p->m_lag_us = ictx_metric(ctx, "dispatch_lag_us", ICTX_GAUGE);
	p->m_lag_max_us = ictx_metric(ctx, "dispatch_lag_max_us", ICTX_GAUGE);
	p->m_inflight_max = ictx_metric(ctx, "inflight_max", ICTX_GAUGE);
	p->h_latency = ictx_hist(ctx, "latency");
	p->h_sweep = ictx_hist(ctx, "sweep");
	p->h_map = ictx_hist(ctx, "map_ns");
}

/* The warm cache: the service restarted a while ago and reloaded its
 * open orders, each at a random point of its life; those past their
 * create are cached.  Like a service that reloads rows from its
 * database, it sizes the map for what it reloaded
 * (make(map[string]*Order, len(rows))): the table then grows during
 * the run as new orders arrive.  Done single-threaded, before any
 * callback runs. */
static size_t warm_plan(struct payment *p)
{
	size_t cached = 0;

	p->nslots = p->open;
	for (uint32_t i = 0; i < p->nslots; i++) {
		struct slot *s = &p->slots[i];

		slot_open(p, s);
		s->next_seq = 1 + (uint32_t)(ml_splitmix64(&p->rng) % s->nevents);
		if (ml_splitmix64(&p->rng) % 100 >= p->warm_pct)
			s->next_seq = 1;
		if (s->next_seq > 1)
			cached++;
	}
	return cached;
}

/* The planned warm orders, put into the map.  0 or -errno. */
static int warm_fill(struct payment *p)
{
	int rc;

	map_thread_enter(p->m);
	for (uint32_t i = 0; i < p->nslots; i++) {
		struct slot *s = &p->slots[i];
		uint32_t done = s->next_seq - 1;
		uint8_t kind = done == 1 ? N_CREATE : N_UPDATE;
		uint32_t len;
		uint8_t *raw;
		struct order *o;
		char key[KEY_LEN];

		if (!done)
			continue;
		raw = raw_new(p, s->id, done, kind, &len);
		o = raw ? order_new(s->id, done,
				    kind == N_CREATE ? ST_CREATED : ST_UPDATED,
				    raw, len)
			: NULL;
		if (!o) {
			ml_free(raw);
			map_thread_exit(p->m);
			return -ENOMEM;
		}
		key_of(p, s->id, key);
		rc = map_put(p->m, key, KEY_LEN, o);
		if (rc) {
			order_release(o, p);
			map_thread_exit(p->m);
			return rc;
		}
		p->ledger[s->id].seq = done;
		p->ledger[s->id].state = o->state;
		ictx_add(p->m_entries, 1);
	}
	map_thread_exit(p->m);
	return 0;
}

int payment_setup(struct ictx *ctx, void **state)
{
	struct payment *p;
	struct map_config cfg = {0};
	pthread_condattr_t ca;
	int rc;

	*state = NULL;
	if (ictx_threads(ctx) < 1 || ictx_threads(ctx) > MAX_THREADS) {
		ictx_log(ctx, "payment: threads must be 1..%d", MAX_THREADS);
		return -EINVAL;
	}
	if (ictx_param(ctx, "payload_min") > ictx_param(ctx, "payload_max")) {
		ictx_log(ctx, "payment: payload_min must be <= payload_max");
		return -EINVAL;
	}
	p = ml_calloc(ML_TAG_OTHER, 1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	read_params(p, ctx);
	ML_CHECK_PTHREAD(pthread_mutex_init(&p->rmu, NULL));
	ML_CHECK_PTHREAD(pthread_condattr_init(&ca));
	ML_CHECK_PTHREAD(pthread_condattr_setclock(&ca, CLOCK_MONOTONIC));
	ML_CHECK_PTHREAD(pthread_cond_init(&p->rcv, &ca));
	ML_CHECK_PTHREAD(pthread_condattr_destroy(&ca));
	*state = p;
	if ((rc = alloc_state(p, ctx)))
		goto fail;
	register_metrics(p, ctx);
	cfg.capacity_hint = warm_plan(p) + (size_t)ictx_param(ctx, "hint");
	p->vops.retain = order_retain;
	p->vops.release = order_release;
	p->vops.ctx = p;
	cfg.vops = &p->vops;
	cfg.seed = p->seed;
	cfg.flags = ictx_map_flags(ctx);
	if ((rc = map_open(ictx_variant(ctx), &cfg, &p->m)) || (rc = warm_fill(p)))
		goto fail;
	ictx_log(ctx, "payment: warm cache %" PRId64 " orders of %u open; "
		 "ledger for %" PRIu64 " orders",
		 (int64_t)map_len(p->m), p->open, p->nledger);
	return 0;
fail:
	ictx_log(ctx, "payment: setup failed: %s", strerror(-rc));
	payment_teardown(p, ctx);
	*state = NULL;
	return rc;
}

int payment_run(void *state, struct ictx *ctx)
{
	struct payment *p = state;
	struct worker_arg args[MAX_THREADS];
	int rc = 0;

	(void)ctx;
	for (unsigned i = 0; i < p->nthreads; i++) {
		args[i].p = p;
		args[i].idx = i;
		rc = -pthread_create(&p->workers[i], NULL, worker_main,
				     &args[i]);
		if (rc)
			goto stop;
		p->nworkers++;
	}
	rc = -pthread_create(&p->reaper, NULL, reaper_main, p);
	if (rc)
		goto stop;
	p->reaper_started = true;

	map_thread_enter(p->m);
	dispatch(p);
	map_thread_exit(p->m);
stop:
	/* the callbacks drain what was accepted, then the reaper's last
	 * sweep evicts every settled order */
	for (unsigned i = 0; i < p->nthreads; i++)
		queue_close(&p->queues[i]);
	for (unsigned i = 0; i < p->nworkers; i++)
		ML_CHECK_PTHREAD(pthread_join(p->workers[i], NULL));
	p->nworkers = 0;
	if (p->reaper_started) {
		ML_CHECK_PTHREAD(pthread_mutex_lock(&p->rmu));
		p->final_sweep = true;
		ML_CHECK_PTHREAD(pthread_mutex_unlock(&p->rmu));
		ML_CHECK_PTHREAD(pthread_cond_signal(&p->rcv));
		ML_CHECK_PTHREAD(pthread_join(p->reaper, NULL));
		p->reaper_started = false;
	}
	return rc;
}

/* ---- the oracle ----------------------------------------------------- */

struct found {                 /* OTHER: what the final walk saw per order */
	uint32_t seq;
	uint8_t state;
	uint8_t count;
};

struct owalk {
	struct payment *p;
	struct found *f;
	uint64_t visited, bound, garbage, bytes;
};

static int oracle_cb(const void *key, size_t klen, void *val, void *arg)
{
	struct owalk *w = arg;
	const struct order *o = val;
	char want[KEY_LEN];

	if (++w->visited > w->bound)
		return 1;
	if (!o || o->magic != ORDER_MAGIC || o->id >= w->p->next_id) {
		w->garbage++;
		return 0;
	}
	key_of(w->p, o->id, want);
	if (klen != KEY_LEN || memcmp(key, want, KEY_LEN) != 0) {
		w->garbage++;
		return 0;
	}
	if (w->f[o->id].count < UINT8_MAX)
		w->f[o->id].count++;
	w->f[o->id].seq = o->seq;
	w->f[o->id].state = o->state;
	w->bytes += ml_size(o) + (o->raw ? ml_size(o->raw) : 0);
	return 0;
}

/* Walk the final table (bounded: a broken chain may run in circles),
 * recording per order what it holds into w->f.  A runaway walk or a
 * garbage value marks the table corrupt.  -ENOMEM if w->f cannot be
 * allocated (then nothing is walked). */
static int oracle_walk(struct payment *p, struct ictx *ctx, struct owalk *w)
{
	int rc;

	w->f = ml_calloc(ML_TAG_OTHER, p->next_id ? p->next_id : 1,
			 sizeof(*w->f));
	if (!w->f)
		return -ENOMEM;
	w->bound = 4 * (p->next_id + 1024);
	map_thread_enter(p->m);
	rc = map_range(p->m, oracle_cb, w);
	map_thread_exit(p->m);
	if (rc == 1) {
		p->table_corrupt = true;
		p->walk_runaway = true;
		ictx_log(ctx, "payment: oracle walk stopped after %" PRIu64
			 " visits: the table runs in circles", w->visited);
	}
	if (w->garbage) {
		p->table_corrupt = true;
		ictx_log(ctx, "payment: %" PRIu64 " cached values are garbage "
			 "(freed or foreign orders)", w->garbage);
	}
	p->reachable_bytes = w->bytes;
	return 0;
}

/* The ledger (what should be cached) against what the walk found. */
struct tally {
	uint64_t lost_ins, lost_del, lost_upd, dbl, dup, skipped, settled,
		cached;
};

static void tally_orders(const struct payment *p, const struct found *fs,
			 struct tally *t)
{
	memset(t, 0, sizeof(*t));
	for (uint64_t id = 0; id < p->next_id; id++) {
		const struct ledger *l = &p->ledger[id];
		const struct found *f = &fs[id];
		uint16_t settles = atomic_load_explicit(&l->settles,
							memory_order_relaxed);

		if (settles > 1)
			t->dbl++;
		if (f->count > 1)
			t->dup++;
		if (l->dropped || atomic_load_explicit(&l->lost_work,
						       memory_order_relaxed)) {
			t->skipped++;
			continue;
		}
		if (l->seq == 0) { /* never announced: must not be cached */
			if (f->count)
				t->lost_upd++;
			continue;
		}
		if (l->state == ST_SETTLED) {
			t->settled++;
			if (f->count)
				t->lost_del++; /* settled, never evicted */
			else if (!atomic_load_explicit(&l->evicted,
						       memory_order_relaxed))
				t->lost_ins++; /* vanished before its eviction */
		} else {
			t->cached++;
			if (!f->count)
				t->lost_ins++;
			else if (f->seq != l->seq)
				t->lost_upd++;
		}
	}
}

void payment_oracle(void *state, struct ictx *ctx)
{
	struct payment *p = state;
	struct map_check mc;
	struct owalk w = {.p = p};
	struct map_stats st;
	struct tally t;
	int mc_rc;

	if (!p || !p->m)
		return;
	mc_rc = map_check(p->m, &mc);
	if (mc_rc == -EBADMSG) {
		p->table_corrupt = true;
		ictx_log(ctx, "payment: map_check: %" PRIu64 " problems, "
			 "reachable %" PRIu64 " counted %" PRIu64 ": %s",
			 mc.problems, mc.reachable, mc.counted, mc.first);
	}
	if (oracle_walk(p, ctx, &w)) {
		ictx_log(ctx, "payment: oracle: no memory for its walk");
		return;
	}
	tally_orders(p, w.f, &t);
	ictx_symptom(ctx, "lost_inserts", (double)t.lost_ins);
	ictx_symptom(ctx, "lost_deletes", (double)t.lost_del);
	ictx_symptom(ctx, "lost_updates", (double)t.lost_upd);
	ictx_symptom(ctx, "double_settles", (double)t.dbl);
	if (t.dup)
		ictx_log(ctx, "payment: %" PRIu64 " orders cached under two "
			 "slots", t.dup);
	/* map_check's findings, plus what it cannot see: one order cached
	 * twice, a value filed under a key that is not its own */
	ictx_symptom(ctx, "invariant_violations",
		     (mc_rc == -EBADMSG ? (double)mc.problems : 0) +
			     (double)t.dup + (double)w.garbage);
	map_stats(p->m, &st);
	ictx_log(ctx, "payment: map stats: %" PRIu64 " entries, %" PRIu64
		 " buckets, %" PRIu64 " growths, %" PRIu64 " promotions, %"
		 PRIu64 " dirty entries copied, %" PRIu64 " deferred frees",
		 st.entries, st.buckets, st.growths, st.promotions,
		 st.dirty_copied, st.deferred_frees);
	ictx_log(ctx, "payment: %" PRIu64 " orders: %" PRIu64 " settled, %"
		 PRIu64 " still open, %" PRIu64 " skipped (work dropped); "
		 "walk saw %" PRIu64 " entries (%" PRIu64 " bytes)",
		 p->next_id, t.settled, t.cached, t.skipped, w.visited,
		 w.bytes);
	ml_free(w.f);
}

/* ---- teardown ------------------------------------------------------- */

void payment_teardown(void *state, struct ictx *ctx)
{
	struct payment *p = state;
	struct ml_alloc_snapshot s;
	uint64_t orders_live;

	if (!p)
		return;
	/* run() joined every thread; free what the queues still hold (only
	 * after a failed start) */
	for (unsigned i = 0; i < p->nqueues; i++) {
		struct note *n = p->queues[i].head, *next;

		for (; n; n = next) {
			next = n->next;
			ml_free(n->raw);
			ml_free(n);
		}
		ML_CHECK_PTHREAD(pthread_mutex_destroy(&p->queues[i].mu));
		ML_CHECK_PTHREAD(pthread_cond_destroy(&p->queues[i].cv));
	}
	if (p->m && p->walk_runaway) {
		/* a chain runs in circles: closing would loop or free twice.
		 * Leave the table; its bytes show up as leaked. */
		ml_alloc_snapshot(&s);
		orders_live = s.live[ML_TAG_VALUES] + s.live[ML_TAG_PAYLOAD];
		ictx_symptom(ctx, "unreachable_bytes",
			     orders_live > p->reachable_bytes
				     ? (double)(orders_live - p->reachable_bytes)
				     : 0);
		ictx_log(ctx, "payment: table left unclosed (cyclic chain)");
		p->m = NULL;
	}
	if (p->m) {
		/* Closing releases every cached order (after the grace period
		 * in variants with deferred reclamation), so order bytes left
		 * afterwards were unreachable: lost by the map. */
		ml_alloc_snapshot(&s);
		map_close(p->m);
		p->m = NULL;
		ml_alloc_snapshot(&s);
		orders_live = s.live[ML_TAG_VALUES] + s.live[ML_TAG_PAYLOAD];
		ictx_symptom(ctx, "unreachable_bytes", (double)orders_live);
		ictx_log(ctx, "payment: after close: %" PRIu64 " order bytes "
			 "live (values %" PRIu64 ", payload %" PRIu64 "), %"
			 PRIu64 " map bytes live; %" PRIu64 " bad releases, %"
			 PRIu64 " garbage values met",
			 orders_live, s.live[ML_TAG_VALUES],
			 s.live[ML_TAG_PAYLOAD],
			 s.live[ML_TAG_MAP] + s.live[ML_TAG_BUCKETS] +
				 s.live[ML_TAG_OVERFLOW] + s.live[ML_TAG_KEYS] +
				 s.live[ML_TAG_ENTRIES],
			 atomic_load(&p->bad_release),
			 atomic_load(&p->corrupt_seen));
	}
	if (p->audit_fd >= 0) {
		ictx_log(ctx, "payment: audit log %" PRIu64 " bytes, %" PRIu64
			 " failed writes", p->audit_bytes, p->audit_errors);
		close(p->audit_fd);
		p->audit_fd = -1;
	}
	ml_free(p->queues_mem);
	ml_free(p->dups);
	ml_free(p->slots);
	ml_free(p->ledger);
	ML_CHECK_PTHREAD(pthread_cond_destroy(&p->rcv));
	ML_CHECK_PTHREAD(pthread_mutex_destroy(&p->rmu));
	ml_free(p);
}

struct map *payment_test_map(void *state)
{
	return state ? ((struct payment *)state)->m : NULL;
}

const struct incident incident_payment = {
	.name = "payment",
	.title = "Payment gateway order cache",
	.summary = "callbacks write a shared order cache while a reaper "
		   "sweeps it; lost deletes, leaks, in-flight pile-ups",
	.story = payment_story,
	.seed = &payment_seed,
	.key_figures = payment_key_figures,
	.charts = payment_charts,
	.quick_seconds = 3,
	.full_seconds = 60,
	.params = payment_params,
	.rules = payment_rules,
	.go_twin = "payment",
	.envelope_param = "rate",
	.setup = payment_setup,
	.run = payment_run,
	.oracle = payment_oracle,
	.teardown = payment_teardown,
};

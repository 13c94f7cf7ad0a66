/*
 * incidents/metrics/metrics.c - the real-time metrics aggregator whose
 * periodic walk of the whole map holds producers back (seed chapter 3.2).
 *
 * This file contains the `metrics` scenario: a service that receives metric
 * pushes, bumps one counter per series, and rolls the counters up every
 * walk_ms by walking the whole map.
 *
 * Threads (all started by run(); run() itself is the dispatcher):
 *   - dispatcher (the run thread): open-loop arrivals.  At a fixed rate it
 *     allocates a push request (tag REQUESTS, req_bytes each, so queued work
 *     is real memory) for a series drawn from a seeded Zipf-like law over
 *     the series created so far, plus, at new_series per second, a request
 *     for a brand-new series (cardinality growth).  Requests go round-robin
 *     to the producers' queues, which are bounded only by memory.  Pacing
 *     is clock_nanosleep to the arrival schedule; latency is measured from
 *     the *scheduled* arrival, so queueing and dispatcher lateness count.
 *   - producers (ictx_threads, default 8): pop their queue and serve each
 *     request: map_get, on a miss map_put_if_absent of a fresh counter
 *     (get-or-create), then an atomic add on the counter.
 *   - aggregator: every walk_ms (start to start, like a ticker; a late walk
 *     starts at once) map_range() over the whole map; for each counter it
 *     atomically exchanges the count with 0 and adds it to the rolled-up
 *     total (the roll-up: the seed's Range + Store(k, v*2) writes back the
 *     same way, but a reset keeps the oracle exact), and notes series not
 *     bumped for ttl_ms; after the walk it deletes those (expiry).  It also
 *     publishes the map's stats (syncmap promotions, dirty_copied).
 *
 * Nothing here sleeps to shape a result: a stall is whatever lock the
 * variant really holds through map_range() or a dirty rebuild, and memory
 * grows because requests really pile up in the queues.
 *
 * Counters are reference-counted (struct counter, tag VALUES).  The map
 * holds one reference; map_get/map_put_if_absent hand the producer another.
 * Accounting invariant (the oracle), exact for a correct map:
 *   applied = rolled + released + sum(count of counters still in the map)
 * where applied is the sum of every delta a producer added, rolled what the
 * aggregator exchanged out, and released the count left in a counter when
 * its last reference went (an expired series bumped after its roll-up, or
 * bumped by a producer that still held it when it was deleted).  A counter
 * the map lost without releasing keeps its count out of all three terms:
 * lost_updates.  A counter released twice shows as a refcount underflow.
 *
 * Locking and ordering:
 *   - struct pq.mu protects a producer queue (head, tail, waiting); the
 *     dispatcher appends chains of up to DISPATCH_CHUNK requests, the
 *     producer takes the whole list.  No map call is ever made under pq.mu, and pq.mu is
 *     never held with another lock of this file: no lock order to keep.
 *   - counter.count: relaxed RMWs (fetch_add by producers, exchange by the
 *     aggregator).  The oracle needs only that no RMW is lost, which
 *     atomicity alone gives; its reads happen after pthread_join.
 *   - counter.refs: retain is relaxed (a new reference is made from one the
 *     caller already holds); release is acq_rel so that every bump made
 *     through any reference happens-before the final read of count and the
 *     free.
 *   - statistics shared between threads (released, entries ...) are
 *     relaxed atomics read for telemetry while running and exactly after
 *     the joins (join is the synchronisation point).  Variants with
 *     lock-free readers release deleted counters after a grace period,
 *     possibly after the joins: alive is decremented with release order
 *     after released is updated, and the oracle waits (bounded) with
 *     acquire loads until alive matches the counters still in the map.
 *   - stop (struct mstate.stop) is seq_cst: set once by the dispatcher.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "incidents/metrics/metrics.h"
#include "maps/alloc.h"
#include "maps/util.h"

/* ---- small helpers ---------------------------------------------------- */

static double rng_unit(uint64_t *s)
{
	return (double)(ml_splitmix64(s) >> 11) * 0x1.0p-53;
}

static void sleep_until(uint64_t t_ns)
{
	struct timespec ts = {.tv_sec = (time_t)(t_ns / 1000000000ull),
			      .tv_nsec = (long)(t_ns % 1000000000ull)};

	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) ==
	       EINTR)
		;
}

/* ---- counters (the map's reference-counted values) -------------------- */

static void counter_retain(void *val, void *arg)
{
	struct counter *c = val;

	(void)arg;
	/* relaxed: the caller already holds a reference, so the object
	 * cannot be freed concurrently; nothing is published here. */
	atomic_fetch_add_explicit(&c->refs, 1, memory_order_relaxed);
}

static void counter_release(void *val, void *arg)
{
	struct counter *c = val;
	struct mstate *st = arg;
	uint32_t old;

	/* acq_rel: our bumps must be visible to whoever frees (release),
	 * and the freer must see every other holder's bumps (acquire). */
	old = atomic_fetch_sub_explicit(&c->refs, 1, memory_order_acq_rel);
	if (old == 0) {
		/* More releases than retains: a variant released twice.  The
		 * object may already be freed; count it, touch nothing more. */
		atomic_fetch_add_explicit(&st->underflows, 1,
					  memory_order_relaxed);
		return;
	}
	if (old != 1)
		return;
	/* Last reference: whatever was added since the last roll-up leaves
	 * with the object.  relaxed: read exactly only after join. */
	atomic_fetch_add_explicit(
		&st->released,
		atomic_load_explicit(&c->count, memory_order_relaxed),
		memory_order_relaxed);
	c->magic = COUNTER_DEAD;
	/* release: a deferred release (liburcu's call_rcu thread) may run
	 * after our threads joined; the oracle's acquire load of alive then
	 * sees the released count added above. */
	atomic_fetch_sub_explicit(&st->alive, 1, memory_order_release);
	ml_free(c);
}

/* A new counter holding one reference (the caller's).  NULL when the
 * allocator refuses. */
static struct counter *counter_new(struct mstate *st, uint32_t id,
				   uint64_t now)
{
	struct counter *c = ml_malloc(ML_TAG_VALUES, sizeof(*c));

	if (!c)
		return NULL;
	atomic_init(&c->count, 0);
	atomic_init(&c->last_ns, now);
	atomic_init(&c->refs, 1);
	c->id = id;
	c->magic = COUNTER_LIVE;
	atomic_fetch_add_explicit(&st->alive, 1, memory_order_relaxed);
	return c;
}

/* ---- parameters --------------------------------------------------------- */

static const struct incident_param metrics_params[] = {
	{"rate", "req/s", "push requests per second (open loop)", 300000,
	 300000, 100, 5000000, true},
	{"new_series", "series/s", "brand-new series per second (cardinality "
				   "growth)",
	 20000, 10000, 0, 1000000, true},
	{"initial_series", "series", "series in the map at start", 150000,
	 200000, 1, 10000000, true},
	{"zipf_s", "", "skew of series popularity (1 = Zipf, 0 = uniform)", 1.0,
	 1.0, 0.0, 3.0, false},
	{"walk_ms", "ms", "aggregator period: one whole-map walk each", 40, 40,
	 1, 60000, true},
	{"ttl_ms", "ms", "expire series not bumped for this long (0 = never)",
	 10000, 60000, 0, 3600000, true},
	{"req_bytes", "bytes", "size of one queued push request", 1024, 1024,
	 128, 65536, true},
	{"export", "", "1 = each walk writes the roll-up, one text line per "
		       "series, to a file (a textfile exporter); 0 = memory "
		       "only",
	 1, 1, 0, 1, true},
	{.name = NULL},
};

/* ---- producers ------------------------------------------------------------ */

/* Serve one request: get-or-create the series' counter, add the delta.
 * Returns false when the request had to be dropped. */
static bool serve(struct mstate *st, struct pq *q, struct req *r)
{
	const struct map_value_ops *ops = &st->vops;
	struct counter *c = NULL, *fresh;
	void *v = NULL;
	bool fresh_path = false;
	uint64_t t0, t1;
	int rc;

	t0 = ictx_now_ns();
	rc = map_get(st->map, r->body, r->klen, &v);
	if (rc == -ENOENT) {
		fresh_path = true;
		fresh = counter_new(st, r->id, t0);
		if (!fresh)
			goto drop;
		counter_retain(fresh, st); /* one for the map, one for us */
		rc = map_put_if_absent(st->map, r->body, r->klen, fresh, &v);
		if (rc == 0) {
			v = fresh;
			atomic_fetch_add_explicit(&st->entries, 1,
						  memory_order_relaxed);
			ictx_add(st->m_created, 1);
			ictx_set(st->m_entries,
				 atomic_load_explicit(&st->entries,
						      memory_order_relaxed));
		} else {
			ops->release(fresh, ops->ctx);
			ops->release(fresh, ops->ctx);
			if (rc != -EEXIST) {
				if (rc != -ENOMEM)
					q->map_errors++;
				goto drop;
			}
		}
	} else if (rc != 0) {
		if (rc != -ENOMEM)
			q->map_errors++;
		goto drop;
	}
	t1 = ictx_now_ns();
	ictx_hist_record(st->h_map_call, t1 - t0);
	if (fresh_path)
		ictx_hist_record(st->h_map_call_new, t1 - t0);
	c = v;
	/* relaxed: see the file comment (only atomicity matters). */
	atomic_fetch_add_explicit(&c->count, r->delta, memory_order_relaxed);
	atomic_store_explicit(&c->last_ns, t1, memory_order_relaxed);
	q->applied += r->delta;
	ops->release(c, ops->ctx);
	return true;
drop:
	q->dropped++;
	return false;
}

/* Publish a producer's finished requests: batched, so eight producers do
 * not bounce the two shared metric lines once per request. */
static void producer_publish(struct mstate *st, int64_t *ops, int64_t *done)
{
	if (*ops)
		ictx_add(st->m_ops, *ops);
	if (*done)
		ictx_add(st->m_inflight, -*done);
	*ops = *done = 0;
}

static void *producer_main(void *arg)
{
	struct pq *q = arg;
	struct mstate *st = q->st;
	struct req *list, *r;
	int64_t ops = 0, done = 0;
	uint64_t t;

	map_thread_enter(st->map);
	for (;;) {
		ML_CHECK_PTHREAD(pthread_mutex_lock(&q->mu));
		while (!q->head && !atomic_load(&st->stop)) {
			q->waiting = true;
			ML_CHECK_PTHREAD(pthread_cond_wait(&q->cv, &q->mu));
			q->waiting = false;
		}
		list = q->head;
		q->head = q->tail = NULL;
		ML_CHECK_PTHREAD(pthread_mutex_unlock(&q->mu));
		if (!list)
			break; /* stopping and nothing queued */
		while ((r = list)) {
			list = r->next;
			if (atomic_load(&st->stop)) {
				q->abandoned++;
			} else if (serve(st, q, r)) {
				t = ictx_now_ns();
				ictx_hist_record(st->h_latency,
						 t > r->arrival_ns
							 ? t - r->arrival_ns
							 : 0);
				q->served++;
				ops++;
			} else {
				ictx_add(st->m_dropped, 1);
			}
			done++;
			ml_free(r);
			if (done == PUBLISH_BATCH)
				producer_publish(st, &ops, &done);
		}
		producer_publish(st, &ops, &done);
	}
	map_thread_exit(st->map);
	return NULL;
}

/* ---- aggregator --------------------------------------------------------- */

struct walk {
	struct mstate *st;
	uint64_t now, bound, visited, rolled, bad;
	uint32_t *exp;  /* expired ids (tag OTHER), grown as needed */
	size_t nexp, cap;
	bool exp_full;  /* allocation refused: expire the rest next walk */
	size_t out_len; /* bytes of st->out not yet written */
	uint64_t out_off; /* file offset of the next write */
};

/* Write the export buffer out.  A failed write (a full disk) is counted
 * and the rest of this walk's export is skipped; the roll-up goes on. */
static void export_flush(struct walk *w)
{
	struct mstate *st = w->st;
	ssize_t n;
	size_t done = 0;

	while (st->out_fd >= 0 && done < w->out_len) {
		n = pwrite(st->out_fd, st->out + done, w->out_len - done,
			   (off_t)(w->out_off + done));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			st->export_errors++;
			break;
		}
		done += (size_t)n;
	}
	w->out_off += done;
	w->out_len = 0;
}

/* One exposition line per series: `name value timestamp_ms`, what a
 * textfile exporter or a push to a TSDB writes for each rolled-up
 * counter.  This is the walk's real per-series work; under a lock held
 * through the walk, the producers wait for all of it. */
static void export_line(struct walk *w, const void *key, size_t klen,
			uint64_t value)
{
	struct mstate *st = w->st;
	int n;

	if (!st->out)
		return;
	if (klen > METRICS_KEY_MAX)
		klen = METRICS_KEY_MAX; /* a corrupt table's garbage key */
	if (EXPORT_BUF - w->out_len < METRICS_KEY_MAX + 64)
		export_flush(w);
	n = snprintf(st->out + w->out_len, EXPORT_BUF - w->out_len,
		     "%.*s %" PRIu64 " %" PRIu64 "\n", (int)klen,
		     (const char *)key, value, w->now / 1000000u);
	if (n > 0 && (size_t)n < EXPORT_BUF - w->out_len)
		w->out_len += (size_t)n;
}

static int walk_cb(const void *key, size_t klen, void *val, void *arg)
{
	struct walk *w = arg;
	struct counter *c = val;
	uint32_t *grown;
	uint64_t last;

	uint64_t delta;

	if (++w->visited > w->bound)
		return 1; /* a cycle in a corrupt table: give up this walk */
	if (!c || c->magic != COUNTER_LIVE) {
		w->bad++;
		return 0;
	}
	/* relaxed: atomicity is all the roll-up needs (file comment). */
	delta = atomic_exchange_explicit(&c->count, 0, memory_order_relaxed);
	w->rolled += delta;
	export_line(w, key, klen, delta);
	if (!w->st->ttl_ns || w->exp_full)
		return 0;
	last = atomic_load_explicit(&c->last_ns, memory_order_relaxed);
	if (w->now <= last || w->now - last <= w->st->ttl_ns)
		return 0;
	if (w->nexp == w->cap) {
		size_t ncap = w->cap ? w->cap * 2 : 1024;

		grown = ml_malloc(ML_TAG_OTHER, ncap * sizeof(*grown));
		if (!grown) {
			w->exp_full = true;
			return 0;
		}
		if (w->nexp)
			memcpy(grown, w->exp, w->nexp * sizeof(*grown));
		ml_free(w->exp);
		w->exp = grown;
		w->cap = ncap;
	}
	w->exp[w->nexp++] = c->id;
	return 0;
}

static void publish_stats(struct mstate *st)
{
	struct map_stats ms;

	map_stats(st->map, &ms);
	ictx_set(st->m_promotions, (int64_t)ms.promotions);
	ictx_set(st->m_dirty_copied, (int64_t)ms.dirty_copied);
	ictx_set(st->m_misses, (int64_t)ms.misses);
	ictx_set(st->m_map_bytes, (int64_t)ms.bytes);
	ictx_set(st->m_entries,
		 atomic_load_explicit(&st->entries, memory_order_relaxed));
	ictx_set(st->m_universe,
		 (int64_t)atomic_load_explicit(&st->universe,
					       memory_order_relaxed));
}

static void aggregate_once(struct mstate *st)
{
	struct walk w = {.st = st};
	char key[METRICS_KEY_MAX];
	uint64_t t0, t1;
	int64_t alive;
	int klen, rc;

	alive = atomic_load_explicit(&st->alive, memory_order_relaxed);
	w.bound = 4 * (uint64_t)(alive > 0 ? alive : 0) + 4096;
	t0 = ictx_now_ns();
	w.now = t0;
	rc = map_range(st->map, walk_cb, &w);
	export_flush(&w);
	if (st->out_fd >= 0 && ftruncate(st->out_fd, (off_t)w.out_off))
		st->export_errors++;
	t1 = ictx_now_ns();
	ictx_hist_record(st->h_walk, t1 - t0);
	st->walks++;
	ictx_add(st->m_walks, 1);
	ictx_set(st->m_walk_entries, (int64_t)w.visited);
	if (rc == 1)
		st->walk_aborts++;
	st->walk_bad += w.bad;
	st->rolled += w.rolled;
	ictx_add(st->m_rolled, (int64_t)w.rolled);

	/* Expiry, outside the walk: a range callback may not call back into
	 * a map that holds its lock through the walk. */
	for (size_t i = 0; i < w.nexp; i++) {
		klen = metrics_series_key(w.exp[i], key, sizeof(key));
		if (map_delete(st->map, key, (size_t)klen) == 0) {
			atomic_fetch_sub_explicit(&st->entries, 1,
						  memory_order_relaxed);
			st->expired++;
			ictx_add(st->m_expired, 1);
		}
	}
	ml_free(w.exp);
	publish_stats(st);
}

static void *aggregator_main(void *arg)
{
	struct mstate *st = arg;
	uint64_t next = ictx_now_ns() + st->walk_ns, now, t;

	map_thread_enter(st->map);
	while (!atomic_load(&st->stop)) {
		now = ictx_now_ns();
		if (now < next) {
			/* Sleep in slices so a stop is noticed promptly. */
			t = next - now > 20000000ull ? now + 20000000ull : next;
			sleep_until(t);
			continue;
		}
		aggregate_once(st);
		/* A ticker: the next walk is due walk_ms after this one was
		 * due; when walks take longer than that, they run back to
		 * back (missed ticks are not made up twice). */
		next += st->walk_ns;
		now = ictx_now_ns();
		if (next < now)
			next = now;
	}
	map_thread_exit(st->map);
	return NULL;
}

/* ---- dispatcher (the run thread) -------------------------------------- */

/* Zipf-like pick over [0, u): a continuous bounded power law sampled by
 * inversion (s = 1: log-uniform), rank r -> id r, so the oldest series are
 * the hottest and new ones join the cold tail. */
static uint32_t pick_series(uint64_t *rng, double s, uint64_t u)
{
	double x, un = rng_unit(rng);

	if (u <= 1)
		return 0;
	if (s == 0.0)
		x = 1.0 + un * (double)(u - 1);
	else if (fabs(s - 1.0) < 1e-9)
		x = exp(un * log((double)u));
	else
		x = pow((pow((double)u, 1.0 - s) - 1.0) * un + 1.0,
			1.0 / (1.0 - s));
	if (!(x >= 1.0))
		x = 1.0;
	if (x >= (double)u)
		return (uint32_t)(u - 1);
	return (uint32_t)((uint64_t)x - 1);
}

static struct req *req_new(struct mstate *st, uint32_t id, uint64_t arrival,
			   uint64_t *rng)
{
	struct req *r = ml_malloc(ML_TAG_REQUESTS, sizeof(*r) + st->req_bytes);
	int klen;

	if (!r)
		return NULL;
	r->next = NULL;
	r->arrival_ns = arrival;
	r->id = id;
	r->delta = (uint16_t)(1 + (ml_splitmix64(rng) & 7));
	klen = metrics_series_key(id, r->body, st->req_bytes);
	r->klen = (uint16_t)klen;
	/* The rest of the push body: the sample text a real push carries.
	 * Written so the queued bytes are resident, not just reserved. */
	memset(r->body + klen, ' ', st->req_bytes - (size_t)klen);
	return r;
}

struct chain {
	struct req *head, *tail;
};

/* Hand the requests built so far to the producers' queues. */
static void dispatch_flush(struct mstate *st, struct chain *chains,
			   int64_t *queued)
{
	if (!*queued)
		return;
	ictx_add(st->m_inflight, *queued);
	*queued = 0;
	for (unsigned i = 0; i < st->nprod; i++) {
		struct pq *q = &st->pq[i];

		if (!chains[i].head)
			continue;
		ML_CHECK_PTHREAD(pthread_mutex_lock(&q->mu));
		if (q->tail)
			q->tail->next = chains[i].head;
		else
			q->head = chains[i].head;
		q->tail = chains[i].tail;
		if (q->waiting)
			ML_CHECK_PTHREAD(pthread_cond_signal(&q->cv));
		ML_CHECK_PTHREAD(pthread_mutex_unlock(&q->mu));
		chains[i].head = chains[i].tail = NULL;
	}
}

static void dispatch(struct mstate *st)
{
	struct chain chains[MAX_PRODUCERS] = {{NULL, NULL}};
	uint64_t rng = ictx_seed(st->ctx) ^ 0x6d657472696373ull;
	uint64_t start = ictx_now_ns(), tick = start, now;
	uint64_t n_old = 0, n_new = 0, due_old, due_new, t_old, t_new;
	uint64_t arrival, u = st->initial;
	double per_old = 1e9 / st->rate;
	double per_new = st->new_rate > 0 ? 1e9 / st->new_rate : 0;
	unsigned rr = 0;
	int64_t queued = 0;
	struct req *r;
	uint32_t id;

	while (!ictx_stopping(st->ctx)) {
		now = ictx_now_ns();
		due_old = (uint64_t)((double)(now - start) / per_old);
		due_new = per_new > 0
				  ? (uint64_t)((double)(now - start) / per_new)
				  : 0;
		/* How late the load generator itself is (CPU starvation of
		 * this thread, not the map): the oldest arrival not made. */
		t_old = start + (uint64_t)((double)n_old * per_old);
		ictx_set(st->m_lag, now > t_old ? (int64_t)((now - t_old) /
							    1000)
						: 0);
		/* Merge the two arrival streams in time order; hand them
		 * over in chunks so a late generator does not hold a burst. */
		while ((n_old < due_old || n_new < due_new) &&
		       !ictx_stopping(st->ctx)) {
			t_old = start + (uint64_t)((double)n_old * per_old);
			t_new = per_new > 0 ? start + (uint64_t)((double)n_new *
								  per_new)
					    : UINT64_MAX;
			if (n_new < due_new &&
			    (n_old >= due_old || t_new <= t_old)) {
				arrival = t_new;
				id = (uint32_t)u++;
				n_new++;
				atomic_store_explicit(&st->universe, u,
						      memory_order_relaxed);
			} else {
				arrival = t_old;
				id = pick_series(&rng, st->zipf_s, u);
				n_old++;
			}
			st->arrivals++;
			r = req_new(st, id, arrival, &rng);
			if (!r) {
				st->disp_dropped++;
				ictx_add(st->m_dropped, 1);
				continue;
			}
			if (chains[rr].tail)
				chains[rr].tail->next = r;
			else
				chains[rr].head = r;
			chains[rr].tail = r;
			rr = (rr + 1) % st->nprod;
			if (++queued == DISPATCH_CHUNK)
				dispatch_flush(st, chains, &queued);
		}
		dispatch_flush(st, chains, &queued);
		tick += TICK_NS;
		now = ictx_now_ns();
		if (tick > now)
			sleep_until(tick);
		else
			tick = now; /* behind schedule: catch up next round */
	}
}

/* ---- the incident's entry points ------------------------------------------ */

/* The export file each walk rewrites in place (the run's work folder,
 * removed by the harness), and its buffer.  0 or -errno. */
static int export_open(struct mstate *st, struct ictx *ctx)
{
	char path[4096];

	if (!ictx_param(ctx, "export"))
		return 0;
	if (snprintf(path, sizeof(path), "%s/rollup.prom",
		     ictx_workdir(ctx)) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	st->out_fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
			  0644);
	if (st->out_fd < 0)
		return -errno;
	st->out = ml_malloc(ML_TAG_OTHER, EXPORT_BUF);
	return st->out ? 0 : -ENOMEM;
}

static void export_close(struct mstate *st)
{
	if (st->out_fd >= 0)
		close(st->out_fd);
	st->out_fd = -1;
	ml_free(st->out);
	st->out = NULL;
}

/* The run's parameters, as the incident's fields. */
static void state_read_params(struct mstate *st, struct ictx *ctx)
{
	const struct map_variant *v;

	st->ctx = ctx;
	st->rate = ictx_param(ctx, "rate");
	st->new_rate = ictx_param(ctx, "new_series");
	st->initial = (uint64_t)ictx_param(ctx, "initial_series");
	st->zipf_s = ictx_param(ctx, "zipf_s");
	st->walk_ns = (uint64_t)ictx_param(ctx, "walk_ms") * 1000000ull;
	st->ttl_ns = (uint64_t)ictx_param(ctx, "ttl_ms") * 1000000ull;
	st->req_bytes = (size_t)ictx_param(ctx, "req_bytes");
	st->nprod = ictx_threads(ctx) ? ictx_threads(ctx) : 8;
	if (st->nprod > MAX_PRODUCERS)
		st->nprod = MAX_PRODUCERS;
	st->out_fd = -1;
	atomic_init(&st->stop, false);
	atomic_init(&st->universe, st->initial);
	v = map_variant_find(ictx_variant(ctx));
	st->threadsafe = v && (v->flags & MAP_V_THREADSAFE);
}

static void state_register_metrics(struct mstate *st, struct ictx *ctx)
{
	st->m_inflight = ictx_metric(ctx, "inflight", ICTX_GAUGE);
	st->m_ops = ictx_metric(ctx, "ops", ICTX_COUNTER);
	st->m_entries = ictx_metric(ctx, "entries", ICTX_GAUGE);
	st->m_created = ictx_metric(ctx, "series_created", ICTX_COUNTER);
	st->m_expired = ictx_metric(ctx, "series_expired", ICTX_COUNTER);
	st->m_rolled = ictx_metric(ctx, "rolled_up", ICTX_COUNTER);
	st->m_dropped = ictx_metric(ctx, "dropped", ICTX_COUNTER);
	st->m_walks = ictx_metric(ctx, "walks", ICTX_COUNTER);
	st->m_walk_entries = ictx_metric(ctx, "walk_entries", ICTX_GAUGE);
	st->m_promotions = ictx_metric(ctx, "promotions", ICTX_GAUGE);
	st->m_dirty_copied = ictx_metric(ctx, "dirty_copied", ICTX_GAUGE);
	st->m_misses = ictx_metric(ctx, "misses", ICTX_GAUGE);
	st->m_map_bytes = ictx_metric(ctx, "map_bytes", ICTX_GAUGE);
	st->m_universe = ictx_metric(ctx, "series_universe", ICTX_GAUGE);
	st->m_lag = ictx_metric(ctx, "dispatch_lag_us", ICTX_GAUGE);
	st->h_latency = ictx_hist(ctx, "latency");
	st->h_walk = ictx_hist(ctx, "walk");
	st->h_map_call = ictx_hist(ctx, "map_call");
	st->h_map_call_new = ictx_hist(ctx, "map_call_new");
}

/* One request queue per producer; ml_calloc aligns to 16 bytes and
 * struct pq wants a cache line, so the array is aligned by hand. */
static int queues_open(struct mstate *st)
{
	st->pq_raw = ml_calloc(ML_TAG_QUEUE, 1,
			       st->nprod * sizeof(*st->pq) + PQ_ALIGN - 1);
	if (!st->pq_raw)
		return -ENOMEM;
	st->pq = (struct pq *)(((uintptr_t)st->pq_raw + PQ_ALIGN - 1) &
			       ~(uintptr_t)(PQ_ALIGN - 1));
	for (unsigned i = 0; i < st->nprod; i++) {
		ML_CHECK_PTHREAD(pthread_mutex_init(&st->pq[i].mu, NULL));
		ML_CHECK_PTHREAD(pthread_cond_init(&st->pq[i].cv, NULL));
		st->pq[i].st = st;
	}
	return 0;
}

static void queues_close(struct mstate *st)
{
	if (!st->pq)
		return;
	for (unsigned i = 0; i < st->nprod; i++) {
		ML_CHECK_PTHREAD(pthread_mutex_destroy(&st->pq[i].mu));
		ML_CHECK_PTHREAD(pthread_cond_destroy(&st->pq[i].cv));
	}
	ml_free(st->pq_raw);
}

/* The series already reported before the run, last bumped at spread
 * moments of the past ttl (so they do not all expire at once). */
static int prefill_series(struct mstate *st, struct ictx *ctx)
{
	char key[METRICS_KEY_MAX];
	uint64_t rng, now, spread;
	int rc = 0;

	map_thread_enter(st->map);
	rng = ictx_seed(ctx) ^ 0x736574757000ull;
	now = ictx_now_ns();
	spread = st->ttl_ns && st->ttl_ns < now ? st->ttl_ns : 1;
	for (uint64_t id = 0; id < st->initial; id++) {
		struct counter *c = counter_new(st, (uint32_t)id,
						now - ml_splitmix64(&rng) % spread);
		int klen;

		if (!c) {
			rc = -ENOMEM;
			break;
		}
		klen = metrics_series_key((uint32_t)id, key, sizeof(key));
		rc = map_put(st->map, key, (size_t)klen, c);
		if (rc) {
			counter_release(c, st);
			break;
		}
		atomic_fetch_add_explicit(&st->entries, 1,
					  memory_order_relaxed);
	}
	map_thread_exit(st->map);
	return rc;
}

static int metrics_setup(struct ictx *ctx, void **state)
{
	struct map_config cfg = {0};
	struct mstate *st;
	int rc;

	*state = NULL;
	st = ml_calloc(ML_TAG_OTHER, 1, sizeof(*st));
	if (!st)
		return -ENOMEM;
	state_read_params(st, ctx);
	state_register_metrics(st, ctx);
	rc = export_open(st, ctx);
	if (!rc)
		rc = queues_open(st);
	if (rc)
		goto out;
	st->vops.retain = counter_retain;
	st->vops.release = counter_release;
	st->vops.ctx = st;
	cfg.capacity_hint = st->initial;
	cfg.vops = &st->vops;
	cfg.seed = ictx_seed(ctx);
	cfg.flags = ictx_map_flags(ctx);
	rc = map_open(ictx_variant(ctx), &cfg, &st->map);
	if (!rc)
		rc = prefill_series(st, ctx);
	if (rc)
		goto out;
	ictx_set(st->m_entries, (int64_t)st->initial);
	ictx_add(st->m_created, (int64_t)st->initial);
	ictx_log(ctx,
		 "metrics: %u producers, %.0f req/s, %.0f new series/s, %llu "
		 "initial series, walk every %llu ms, ttl %llu ms",
		 st->nprod, st->rate, st->new_rate,
		 (unsigned long long)st->initial,
		 (unsigned long long)(st->walk_ns / 1000000),
		 (unsigned long long)(st->ttl_ns / 1000000));
	*state = st;
	return 0;
out:
	export_close(st);
	if (st->map)
		map_close(st->map);
	queues_close(st);
	ml_free(st);
	return rc;
}

static int metrics_run(void *state, struct ictx *ctx)
{
	struct mstate *st = state;
	unsigned started = 0, i;
	bool agg = false;
	struct req *r;
	int rc = 0;

	(void)ctx;
	for (i = 0; i < st->nprod; i++) {
		rc = -pthread_create(&st->pq[i].tid, NULL, producer_main,
				     &st->pq[i]);
		if (rc)
			goto out;
		started++;
	}
	rc = -pthread_create(&st->agg_tid, NULL, aggregator_main, st);
	if (rc)
		goto out;
	agg = true;
	dispatch(st);
out:
	atomic_store(&st->stop, true);
	for (i = 0; i < st->nprod; i++) {
		ML_CHECK_PTHREAD(pthread_mutex_lock(&st->pq[i].mu));
		ML_CHECK_PTHREAD(pthread_cond_signal(&st->pq[i].cv));
		ML_CHECK_PTHREAD(pthread_mutex_unlock(&st->pq[i].mu));
	}
	for (i = 0; i < started; i++)
		ML_CHECK_PTHREAD(pthread_join(st->pq[i].tid, NULL));
	if (agg)
		ML_CHECK_PTHREAD(pthread_join(st->agg_tid, NULL));
	/* Whatever is still queued was never served. */
	for (i = 0; i < st->nprod; i++) {
		while ((r = st->pq[i].head)) {
			st->pq[i].head = r->next;
			st->pq[i].abandoned++;
			ictx_add(st->m_inflight, -1);
			ml_free(r);
		}
		st->pq[i].tail = NULL;
	}
	return rc;
}

struct sum {
	uint64_t bound, visited, total, bad, dups;
	uint8_t *seen; /* one bit per series id, or NULL */
	uint64_t nseen;
};

static int sum_cb(const void *key, size_t klen, void *val, void *arg)
{
	struct sum *s = arg;
	struct counter *c = val;

	(void)key;
	(void)klen;
	if (++s->visited > s->bound)
		return 1;
	if (!c || c->magic != COUNTER_LIVE) {
		s->bad++;
		return 0;
	}
	if (s->seen && c->id < s->nseen) {
		if (s->seen[c->id / 8] & (1u << (c->id % 8)))
			s->dups++;
		s->seen[c->id / 8] |= (uint8_t)(1u << (c->id % 8));
	}
	s->total += atomic_load_explicit(&c->count, memory_order_relaxed);
	return 0;
}

/* What the producers' queues counted, summed after join. */
struct queue_sums {
	uint64_t applied, served, dropped, abandoned, map_errors;
};

static void sum_queues(const struct mstate *st, struct queue_sums *q)
{
	memset(q, 0, sizeof(*q));
	q->dropped = st->disp_dropped;
	for (unsigned i = 0; i < st->nprod; i++) {
		q->applied += st->pq[i].applied;
		q->served += st->pq[i].served;
		q->dropped += st->pq[i].dropped;
		q->abandoned += st->pq[i].abandoned;
		q->map_errors += st->pq[i].map_errors;
	}
}

/* Structure first: a corrupt table is walked only with a bound.  The
 * number of problems map_check found (at least 1 if it says corrupt),
 * reported at once too: the walk after it may crash on them. */
static uint64_t check_structure(struct mstate *st, struct ictx *ctx,
				struct map_check *chk)
{
	int crc = map_check(st->map, chk);
	uint64_t problems =
		crc == -EBADMSG ? (chk->problems ? chk->problems : 1) : 0;

	if (problems) {
		ictx_log(ctx, "metrics: map_check: %llu problems, first: %s",
			 (unsigned long long)chk->problems, chk->first);
		ictx_symptom(ctx, "invariant_violations", (double)problems);
	}
	return problems;
}

/* Walk the map (bounded by the live counters) summing its counts and
 * counting bad values and duplicate ids into s.  map_range's result. */
static int walk_and_sum(struct mstate *st, struct ictx *ctx, struct sum *s)
{
	int64_t alive = atomic_load(&st->alive);
	int rc;

	s->nseen = atomic_load(&st->universe);
	s->seen = ml_calloc(ML_TAG_OTHER, s->nseen / 8 + 1, 1);
	s->bound = 4 * (uint64_t)(alive > 0 ? alive : 0) + 4096;
	rc = map_range(st->map, sum_cb, s);
	ml_free(s->seen);
	s->seen = NULL;
	if (rc < 0)
		ictx_log(ctx, "metrics: oracle walk failed: %d", rc);
	return rc;
}

/* Variants with lock-free readers release deleted counters after a
 * grace period, possibly after our threads joined: wait (bounded) until
 * every counter not in the map (in_map of them are) has been released.
 * Nothing is shaped by this wait; it is the lab's rcu_barrier().
 * Returns the live counters at the end. */
static int64_t wait_for_releases(struct mstate *st, uint64_t in_map)
{
	uint64_t t0, last;
	int64_t alive;

	t0 = last = ictx_now_ns();
	alive = atomic_load(&st->alive);
	while (alive > (int64_t)in_map &&
	       ictx_now_ns() - t0 < ORACLE_DRAIN_NS &&
	       ictx_now_ns() - last < ORACLE_QUIET_NS) {
		struct timespec ts = {0, 1000000};
		int64_t now_alive;

		nanosleep(&ts, NULL);
		now_alive = atomic_load(&st->alive);
		if (now_alive != alive)
			last = ictx_now_ns();
		alive = now_alive;
	}
	return alive;
}

static void metrics_oracle(void *state, struct ictx *ctx)
{
	struct mstate *st = state;
	struct map_check chk;
	struct sum s = {0};
	struct queue_sums q;
	uint64_t applied, accounted, problems;
	int64_t entries, alive;
	int rc;

	sum_queues(st, &q);
	applied = q.applied;
	entries = atomic_load(&st->entries);
	map_thread_enter(st->map);
	problems = check_structure(st, ctx, &chk);
	rc = walk_and_sum(st, ctx, &s);
	alive = st->threadsafe && rc == 0 ? wait_for_releases(st, s.visited)
					  : atomic_load(&st->alive);

	accounted = st->rolled + atomic_load(&st->released) + s.total;
	ictx_symptom(ctx, "invariant_violations",
		     (double)(problems + s.bad + s.dups + (rc != 0) +
			      atomic_load(&st->underflows) + st->walk_aborts +
			      st->walk_bad));
	ictx_symptom(ctx, "counter_mismatch",
		     applied > accounted ? (double)(applied - accounted)
					 : (double)(accounted - applied));
	ictx_symptom(ctx, "lost_updates",
		     applied > accounted ? (double)(applied - accounted) : 0);
	ictx_symptom(ctx, "lost_inserts",
		     entries > (int64_t)s.visited
			     ? (double)(entries - (int64_t)s.visited)
			     : 0);
	ictx_log(ctx,
		 "metrics: applied %llu = rolled %llu + released %llu + in map "
		 "%llu (%s by %llu)",
		 (unsigned long long)applied, (unsigned long long)st->rolled,
		 (unsigned long long)atomic_load(&st->released),
		 (unsigned long long)s.total,
		 applied == accounted ? "exact"
		 : applied > accounted ? "short"
				       : "over",
		 (unsigned long long)(applied > accounted
					      ? applied - accounted
					      : accounted - applied));
	ictx_log(ctx,
		 "metrics: arrivals %llu, served %llu, dropped %llu, abandoned "
		 "at stop %llu, map errors %llu",
		 (unsigned long long)st->arrivals, (unsigned long long)q.served,
		 (unsigned long long)q.dropped, (unsigned long long)q.abandoned,
		 (unsigned long long)q.map_errors);
	ictx_log(ctx,
		 "metrics: %llu walks (%llu aborted), %llu series expired; map "
		 "holds %llu (we count %lld, check says %llu); %lld counters "
		 "alive; %llu bad values, %llu duplicate ids, %llu refcount "
		 "underflows",
		 (unsigned long long)st->walks,
		 (unsigned long long)st->walk_aborts,
		 (unsigned long long)st->expired,
		 (unsigned long long)s.visited, (long long)entries,
		 (unsigned long long)chk.reachable, (long long)alive,
		 (unsigned long long)(s.bad + st->walk_bad),
		 (unsigned long long)s.dups,
		 (unsigned long long)atomic_load(&st->underflows));
	map_thread_exit(st->map);
	/* Remember for teardown whether the table can be trusted. */
	st->corrupt = problems || rc != 0 || s.bad || s.dups;
}

static void metrics_teardown(void *state, struct ictx *ctx)
{
	struct mstate *st = state;

	if (!st)
		return;
	if (st->corrupt) {
		/* The oracle found the table corrupt: closing it would walk
		 * broken chains and release counters twice.  Leave it; its
		 * bytes are reported as leaked_bytes. */
		ictx_log(ctx, "metrics: table corrupt, not closed: its bytes "
			      "count as leaked");
	} else {
		map_close(st->map);
	}
	for (unsigned i = 0; i < st->nprod; i++) {
		ML_CHECK_PTHREAD(pthread_mutex_destroy(&st->pq[i].mu));
		ML_CHECK_PTHREAD(pthread_cond_destroy(&st->pq[i].cv));
	}
	export_close(st);
	ml_free(st->pq_raw);
	ml_free(st);
}

const struct incident incident_metrics = {
	.name = "metrics",
	.title = "Metrics aggregator walking the map while producers wait",
	.summary = "producers bump per-series counters; an aggregator walks "
		   "the whole map every 40 ms and exports the roll-up",
	.story = metrics_story,
	.seed = &metrics_seed,
	.key_figures = metrics_key_figures,
	.charts = metrics_charts,
	.quick_seconds = 5,
	.full_seconds = 60,
	.params = metrics_params,
	.go_twin = "metrics",
	.envelope_param = "rate",
	.setup = metrics_setup,
	.run = metrics_run,
	.oracle = metrics_oracle,
	.teardown = metrics_teardown,
};

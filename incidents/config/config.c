/*
 * incidents/config/config.c - This file contains the "config" incident:
 * hot reload of a shared configuration while request threads read it
 * (seed chapter 3.3; the story and the figures are in README.md).
 *
 * Threads (all started by run(), joined before it returns):
 *   reloader   every period_ms: the config centre pushes the next document
 *              to <workdir>/config.json (good, unchanged, or bad on a seeded
 *              schedule); the reloader reads the file, skips it when its
 *              bytes hash like the applied (or last rejected) one, else
 *              parses and validates all of it with jansson (cfgdoc.c) and
 *              applies it with the variant's strategy (below).  A bad file
 *              is logged, counted ("bad_configs") and changes nothing.
 *   dispatcher open-loop arrivals: `rate` requests per second on a fixed
 *              schedule into the request queue (each request ml_malloc'd,
 *              tag REQUESTS, so a pile-up is real memory).
 *   readers    ictx_threads() workers; each request reads `global_keys`
 *              global keys plus 6 keys of one service and checks they all
 *              carry one version stamp: two stamps (or a service half
 *              there) is a torn read - the in-place protocol's symptom,
 *              not the map's.  Map damage is what no correct map can
 *              show, whatever the protocol: a value that is not what its
 *              stamp promises (garbage read), a value older than the
 *              last reload that had completed when the request began
 *              (stale read: that reload overwrote or deleted the key),
 *              a key missing that every version in force during the
 *              request has (lost read; see serve()).  The oracle adds
 *              the final walk's and map_check's findings: map_damage.
 *   telemetry  every mallinfo_ms (>= 100 ms): allocation and free rates
 *              (the counting allocator plus jansson's calls, counted by
 *              pass-through hooks set in setup, reset in teardown), heap
 *              fragmentation from mallinfo2 (which locks the arenas).
 *
 * Apply strategies, chosen in ONE place (strategy_table, by variant name;
 * the `apply` parameter overrides it):
 *   in place   one map for the whole run; a reload puts every key's new
 *              value, then deletes the keys the new version dropped.  Each
 *              put is atomic in a safe variant, the reload is not.
 *   snapshot   a reload opens a new map sized for the document, fills it
 *              off-line, publishes it with one atomic pointer exchange
 *              (st->cur), and retires the old one.  A retired snapshot is
 *              closed once no reader holds a hazard on it (the grace
 *              period).  Readers take a hazard only when they switch
 *              snapshot, so a request costs one acquire load of st->cur.
 *
 * Snapshot reclamation (hazard slots; the proof is Michael's hazard
 * pointers with seq_cst standing in for his fences):
 *   reader, on seeing cur != mine:  hp[1] = s (seq_cst); re-load cur
 *     (seq_cst) and retry until it still equals s; map_thread_enter(s);
 *     map_thread_exit(mine); hp[0] = s (seq_cst); hp[1] = NULL (seq_cst).
 *   reloader: old = exchange(cur, new) (seq_cst); after each tick, for
 *     each retired snapshot, scan every reader's hp[1] THEN hp[0] (seq_cst
 *     loads); a snapshot found in neither is closed (snap_reclaim).
 *   Why it is safe: if the scan missed a reader's hp[1] = s store, that
 *   store follows the scan, hence the exchange, in the seq_cst order, so
 *   the reader's re-load sees the new pointer and retries.  Scanning hp[1]
 *   before hp[0] means a reader moving s from hp[1] to hp[0] is seen in
 *   one of them.  An idle reader keeps its last snapshot alive until its
 *   next request (or its exit): reclamation is deferred, never unsafe.
 *
 * Shared state and what protects it: see the fields of struct cfg_state
 * and struct reader.  Lock order: only qlock exists here (the maps take
 * their own locks inside map_* calls; none is held across a call).
 */
#include <errno.h>
#include <inttypes.h>
#include <malloc.h>
#include <pthread.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "incidents/config/cfgdoc.h"
#include "incidents/config/config.h"
#include "incidents/incident.h"
#include "maps/alloc.h"
#include "maps/map.h"
#include "maps/util.h"

#define SVC_KEYS_READ 6        /* service fields a request reads */
#define CONFIG_FILE "config.json"

enum apply_strategy { APPLY_INPLACE = 0, APPLY_SNAPSHOT = 1 };

/* THE place where a variant gets its strategy.  In-place is what a service
 * that "just uses a concurrent map" does; snapshot + publish is the fix.
 * rcu gets the fix because it is the variant whose readers never block:
 * the snapshot protocol makes the reload atomic for readers, the rcu map
 * makes each snapshot's reads wait-free.  Unknown variants: in place. */
static const struct {
	const char *variant;
	enum apply_strategy how;
} strategy_table[] = {
	{"unsafe", APPLY_INPLACE},  {"mutex", APPLY_INPLACE},
	{"rwlock", APPLY_INPLACE},  {"sharded", APPLY_INPLACE},
	{"syncmap", APPLY_INPLACE}, {"rcu", APPLY_SNAPSHOT},
};

static enum apply_strategy strategy_for(const char *variant, double apply)
{
	if (apply >= 0)
		return apply >= 1 ? APPLY_SNAPSHOT : APPLY_INPLACE;
	for (size_t i = 0; i < sizeof(strategy_table) / sizeof(*strategy_table);
	     i++)
		if (strcmp(strategy_table[i].variant, variant) == 0)
			return strategy_table[i].how;
	return APPLY_INPLACE;
}

/* A published configuration (snapshot strategy). */
struct snap {
	struct map *m;      /* filled before publication, read-only after */
	uint64_t version;
	uint64_t retired_ns; /* reloader only */
	struct snap *next;   /* retired list; reloader only */
};

struct req {
	struct req *next;    /* under qlock */
	uint64_t arrival_ns; /* scheduled arrival (open loop) */
	uint32_t svc;
};

/* One reader thread.  Padded: hp[] is written by its reader and scanned by
 * the reloader; the counters are private until join. */
struct reader {
	alignas(64) _Atomic(struct snap *) hp[2]; /* see file header */
	struct snap *mine;   /* reader only: snapshot it has entered */
	struct cfg_state *st;
	pthread_t tid;
	unsigned idx;
	bool started;
	uint64_t served, torn, garbage, bad_seen, misses; /* private */
	uint64_t stale, lost;                              /* private */
};

struct cfg_state {
	struct ictx *ctx;
	/* parameters: immutable after setup */
	uint64_t period_ns;
	uint64_t mallinfo_ns;   /* telemetry period (>= 100 ms) */
	uint32_t svc_min, svc_max;
	double rate, p_bad, p_same;
	unsigned global_keys, nreaders;
	bool presize;
	unsigned apply_workers; /* threads that put a reload's keys */
	enum apply_strategy how;
	const char *variant;
	unsigned map_flags;
	uint64_t seed;          /* content seed */
	char path[4096];        /* <workdir>/config.json */

	/* in place: the one map (pointer immutable after setup) */
	struct map *m;
	/* snapshot: the published snapshot; exchanged by the reloader
	 * (seq_cst), loaded by readers (acquire: the map's contents were
	 * written before the exchange) */
	_Atomic(struct snap *) cur;
	struct snap *retired;   /* reloader only */
	struct snap *rl_mine;   /* reloader only: snapshot it has entered */

	/* reloader only (read by the oracle after join) */
	struct cfg_set *applied;
	uint64_t applied_hash, rejected_hash;
	bool have_rejected;
	uint64_t next_version, last_good_version;
	uint32_t last_good_services;
	uint64_t rng;
	uint64_t pushes[CFG_PUSH_KINDS];
	uint64_t n_applied, n_skipped, n_rejected, n_apply_errors;
	uint64_t bad_applied, good_rejected, reload_ns_sum, reload_ns_max;
	uint64_t reload_allocs_sum; /* allocations by applied reloads */
	uint64_t reload_keys_sum;   /* keys those reloads applied */
	bool versions_exhausted;

	/* bad_version[v] != 0 when version v was pushed as a bad document.
	 * Written by the reloader before the file exists, read by readers
	 * (relaxed: a stamp v reached a reader only after v was set). */
	_Atomic unsigned char *bad_version;
	size_t nversions;
	/* highest version pushed so far (relaxed: a garbage bound only) */
	_Atomic uint64_t version_max;
	/* ver_pack(version, services) of the last version whose apply
	 * completed with every put done (floor) and of the version being
	 * applied (applying; == floor between reloads).  Stored by the
	 * reloader (release: applying before an apply, floor after it),
	 * loaded by readers (acquire) around a request: see serve(). */
	_Atomic uint64_t floor, applying;

	/* request queue */
	pthread_mutex_t qlock;
	pthread_cond_t qcond;
	struct req *qhead, *qtail; /* under qlock */
	unsigned qwaiters;         /* readers in cond_wait; under qlock */
	uint64_t dropped_at_stop;  /* run() after join */

	/* telemetry thread only, read by the oracle after join */
	uint64_t frag_peak, alloc_rate_sum, free_rate_sum, rate_samples;
	uint64_t req_rate_sum; /* the requests' share of alloc_rate_sum */

	struct reader *readers; /* nreaders, 64-byte aligned inside... */
	void *readers_mem;      /* ...this block (ml_calloc aligns to 16) */
	bool corrupt; /* oracle found the table broken: don't close it */

	struct ictx_metric *m_inflight, *m_ops, *m_entries, *m_alloc_rate,
		*m_free_rate, *m_frag, *m_frag_peak, *m_heap, *m_heap_free,
		*m_bad, *m_reloads, *m_skipped, *m_torn, *m_garbage, *m_damaged,
		*m_version, *m_dropped, *m_retired, *m_apply_err, *m_top,
		*m_reload_allocs, *m_rate_reload, *m_rate_requests;
	struct ictx_hist *h_latency, *h_reload, *h_apply, *h_grace,
		*h_mallinfo, *h_serve;
};

static const struct incident_param params[] = {
	{"period_ms", "ms", "a reload (and a config push) every period_ms",
	 100, 200, 5, 60000, true},
	{"keys_min", "keys", "smallest configuration pushed", 5000, 5000, 16,
	 400000, true},
	{"keys_max", "keys", "largest configuration pushed", 50000, 50000, 16,
	 400000, true},
	{"rate", "req/s", "open-loop request arrivals per second", 20000,
	 20000, 10, 1000000, true},
	{"p_bad", "", "share of pushes that are bad files", 0.15, 0.15, 0, 1,
	 false},
	{"p_same", "", "share of pushes that repeat the current file", 0.15,
	 0.15, 0, 1, false},
	{"global_keys", "keys",
	 "global keys each request reads besides its service's 6", 2, 2, 0,
	 CFG_NFIELDS, true},
	{"apply_workers", "threads",
	 "threads that put a reload's keys, each a slice (the reloader is one)",
	 2, 2, 1, 8, true},
	{"presize", "", "1 = open the in-place map sized for keys_max", 0, 0,
	 0, 1, true},
	{"mallinfo_ms", "ms",
	 "telemetry period: alloc rates and mallinfo2 (it locks the arenas)",
	 100, 100, 100, 10000, true},
	{"apply", "",
	 "-1 = by variant (strategy table), 0 = in place, 1 = snapshot", -1,
	 -1, -1, 1, true},
	{.name = NULL},
};

/* Checked in the parent before anything runs (incident.h). */
static const struct incident_rule rules[] = {
	{"keys_min", NULL, "keys_max", 0,
	 "raise keys_max or lower keys_min"},
	{"p_bad", "p_same", NULL, 1,
	 "they are shares of one push stream; keep their sum at most 1"},
	{.a = NULL},
};

static double rng_unit(uint64_t *s)
{
	return (double)(ml_splitmix64(s) >> 11) / 9007199254740992.0;
}

static void sleep_until(uint64_t t_ns)
{
	struct timespec ts = {.tv_sec = (time_t)(t_ns / 1000000000ull),
			      .tv_nsec = (long)(t_ns % 1000000000ull)};

	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) ==
	       EINTR)
		;
}

/* ---- snapshots ---------------------------------------------------------- */

static bool snap_hazarded(struct cfg_state *st, struct snap *s)
{
	for (unsigned i = 0; i < st->nreaders; i++) {
		struct reader *r = &st->readers[i];

		/* hp[1] before hp[0]: see the file header */
		if (atomic_load(&r->hp[1]) == s || atomic_load(&r->hp[0]) == s)
			return true;
	}
	return false;
}

static void snap_close(struct snap *s)
{
	map_close(s->m);
	ml_free(s);
}

/* Close every retired snapshot no reader holds.  Reloader only. */
static void snap_reclaim(struct cfg_state *st)
{
	struct snap **pp = &st->retired;
	int64_t left = 0;

	while (*pp) {
		struct snap *s = *pp;

		if (snap_hazarded(st, s)) {
			pp = &s->next;
			left++;
			continue;
		}
		*pp = s->next;
		ictx_hist_record(st->h_grace, ictx_now_ns() - s->retired_ns);
		snap_close(s);
	}
	ictx_set(st->m_retired, left);
}

/* The reader's current snapshot, protected by its hazard slots. */
static struct snap *snap_acquire(struct reader *r)
{
	struct cfg_state *st = r->st;
	/* acquire: pairs with the reloader's exchange, so the snapshot's map
	 * contents are visible */
	struct snap *s = atomic_load_explicit(&st->cur, memory_order_acquire);
	struct snap *again;

	if (s == r->mine)
		return s;
	for (;;) {
		atomic_store(&r->hp[1], s);
		again = atomic_load(&st->cur);
		if (again == s)
			break;
		s = again;
	}
	map_thread_enter(s->m);
	if (r->mine)
		map_thread_exit(r->mine->m);
	atomic_store(&r->hp[0], s);
	atomic_store(&r->hp[1], NULL);
	r->mine = s;
	return s;
}

static void snap_release_reader(struct reader *r)
{
	if (r->mine)
		map_thread_exit(r->mine->m);
	atomic_store(&r->hp[0], NULL);
	r->mine = NULL;
}

/* ---- applying a configuration ------------------------------------------ */

static struct map_config map_cfg(struct cfg_state *st, size_t hint)
{
	struct map_config c = {.capacity_hint = hint,
			       .vops = &config_vops,
			       .seed = st->seed ^ 0x5eedu,
			       .flags = st->map_flags};
	return c;
}

/* One slice of a reload's puts: entries [from, to) of set into m.  Run by
 * the reloader and apply_workers - 1 helpers at once (a 50k-key reload is
 * applied in parallel slices), so the map sees concurrent writers. */
struct put_slice {
	struct map *m;
	struct cfg_set *set;
	size_t from, to;
	uint64_t failed; /* puts refused; read after join */
	bool keep_going; /* in place: a refused key keeps its old value */
};

static void *put_slice_main(void *arg)
{
	struct put_slice *ps = arg;

	map_thread_enter(ps->m);
	for (size_t i = ps->from; i < ps->to; i++) {
		struct cfg_entry *e = &ps->set->e[i];

		if (map_put(ps->m, e->key, e->klen, e->val) == 0) {
			e->val = NULL; /* the map took our reference */
		} else {
			ps->failed++;
			if (!ps->keep_going)
				break;
		}
	}
	map_thread_exit(ps->m);
	return NULL;
}

/* Put every entry of set into m with st->apply_workers threads (this one
 * included); returns the number of refused puts.  Helpers the system
 * cannot start leave their slice to this thread. */
static uint64_t put_all(struct cfg_state *st, struct map *m,
			struct cfg_set *set, bool keep_going)
{
	struct put_slice ps[8];
	pthread_t tid[8];
	bool started[8] = {false};
	unsigned w = st->apply_workers ? st->apply_workers : 1;
	uint64_t failed = 0;

	if (w > 8)
		w = 8;
	for (unsigned k = 0; k < w; k++) {
		ps[k] = (struct put_slice){.m = m, .set = set,
					   .from = set->n * k / w,
					   .to = set->n * (k + 1) / w,
					   .keep_going = keep_going};
		if (k > 0)
			started[k] = pthread_create(&tid[k], NULL,
						    put_slice_main, &ps[k]) == 0;
	}
	for (unsigned k = 0; k < w; k++)
		if (!started[k])
			put_slice_main(&ps[k]);
	for (unsigned k = 0; k < w; k++) {
		if (started[k])
			ML_CHECK_PTHREAD(pthread_join(tid[k], NULL));
		failed += ps[k].failed;
	}
	return failed;
}

/* In place: put every new value (in parallel slices), then delete what the
 * new set dropped.  Both sets are sorted, so the removed keys come from one
 * merge. */
static int apply_inplace(struct cfg_state *st, struct cfg_set *ns)
{
	struct cfg_set *os = st->applied;
	/* -ENOMEM at the budget: a refused key keeps its old value (the
	 * oracle counts it as a lost update) */
	uint64_t failed = put_all(st, st->m, ns, true);
	size_t i, j;

	if (failed) {
		st->n_apply_errors += failed;
		ictx_add(st->m_apply_err, (int64_t)failed);
	}
	for (i = 0, j = 0; os && i < os->n; i++) {
		int c = 1;

		while (j < ns->n && (c = strcmp(ns->e[j].key, os->e[i].key)) < 0)
			j++;
		if (j < ns->n && c == 0)
			continue;
		map_delete(st->m, os->e[i].key, os->e[i].klen);
	}
	return 0;
}

/* Snapshot: build a new map off-line, publish it, retire the old one. */
static int apply_snapshot(struct cfg_state *st, struct cfg_set *ns)
{
	struct map_config c = map_cfg(st, ns->n);
	struct snap *s, *old;
	int rc;

	s = ml_calloc(ML_TAG_CONFIG, 1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	rc = map_open(st->variant, &c, &s->m);
	if (rc) {
		ml_free(s);
		return rc;
	}
	map_thread_enter(s->m);
	if (put_all(st, s->m, ns, false)) {
		/* unpublished: nobody else saw it, drop it whole (the
		 * entries it took are released with the map) */
		map_thread_exit(s->m);
		snap_close(s);
		return -ENOMEM;
	}
	s->version = ns->version;
	old = atomic_exchange(&st->cur, s);
	if (old) {
		if (st->rl_mine == old)
			map_thread_exit(old->m);
		old->retired_ns = ictx_now_ns();
		old->next = st->retired;
		st->retired = old;
	}
	st->rl_mine = s;
	return 0; /* the reloader reclaims after the reload (reloader_main) */
}

/* A version and its service count in one word (services < 2^20). */
static uint64_t ver_pack(uint64_t version, uint32_t services)
{
	return version << 20 | services;
}

/* Apply a validated set; on success it becomes st->applied. */
static int apply_set(struct cfg_state *st, struct cfg_set *ns)
{
	uint64_t t0 = ictx_now_ns(), errs0 = st->n_apply_errors;
	int rc;

	atomic_store_explicit(&st->applying, ver_pack(ns->version, ns->services),
			      memory_order_release);
	rc = st->how == APPLY_SNAPSHOT ? apply_snapshot(st, ns)
				       : apply_inplace(st, ns);

	ictx_hist_record(st->h_apply, ictx_now_ns() - t0);
	if (rc) {
		/* nothing of ns went in (snapshot) or some did (in place,
		 * never reached: apply_inplace returns 0): back to the floor */
		atomic_store_explicit(&st->applying,
				      atomic_load_explicit(&st->floor,
							   memory_order_relaxed),
				      memory_order_release);
		st->n_apply_errors++;
		ictx_add(st->m_apply_err, 1);
		return rc;
	}
	/* an in-place put refused at the budget leaves its key behind: the
	 * floor moves only past versions applied whole; a partial one still
	 * deleted the services it dropped, so the floor's count shrinks */
	if (st->n_apply_errors == errs0) {
		atomic_store_explicit(&st->floor,
				      ver_pack(ns->version, ns->services),
				      memory_order_release);
	} else {
		uint64_t fl = atomic_load_explicit(&st->floor,
						   memory_order_relaxed);

		if ((fl & 0xfffff) > ns->services)
			atomic_store_explicit(&st->floor,
					      ver_pack(fl >> 20, ns->services),
					      memory_order_release);
	}
	config_set_free(st->applied);
	st->applied = ns;
	ictx_set(st->m_entries, (int64_t)ns->n);
	ictx_set(st->m_version, (int64_t)ns->version);
	return 0;
}

/* ---- the config centre and the reloader ---------------------------------- */

/* Push the next document to the workdir; returns what was pushed. */
static int push_next(struct cfg_state *st, enum cfg_push *kind)
{
	struct cfg_spec sp = {.seed = st->seed};
	double u = rng_unit(&st->rng);
	char *buf = NULL;
	size_t len = 0;
	int rc;

	if (st->last_good_version && u < st->p_same) {
		*kind = CFG_PUSH_SAME;
	} else if (st->last_good_version && u < st->p_same + st->p_bad) {
		*kind = (enum cfg_push)(CFG_BAD_TRUNCATED +
					ml_splitmix64(&st->rng) %
						(CFG_PUSH_KINDS -
						 CFG_BAD_TRUNCATED));
		if (*kind == CFG_BAD_STALE && st->last_good_version < 2)
			*kind = CFG_BAD_TRUNCATED;
	} else {
		*kind = CFG_PUSH_GOOD;
	}
	if (*kind != CFG_PUSH_SAME && *kind != CFG_BAD_STALE &&
	    st->next_version >= st->nversions) {
		if (!st->versions_exhausted)
			ictx_log(st->ctx, "config: version table full at %" PRIu64
				 "; repeating the current file from now on",
				 st->next_version);
		st->versions_exhausted = true;
		*kind = CFG_PUSH_SAME;
	}
	sp.kind = *kind;
	sp.rnd = ml_splitmix64(&st->rng);
	sp.services = st->svc_min +
		      (uint32_t)(ml_splitmix64(&st->rng) %
				 (st->svc_max - st->svc_min + 1u));
	switch (*kind) {
	case CFG_PUSH_SAME:
		sp.kind = CFG_PUSH_GOOD;
		sp.version = st->last_good_version;
		sp.services = st->last_good_services;
		break;
	case CFG_BAD_STALE:
		sp.version = st->last_good_version - 1;
		break;
	default:
		sp.version = st->next_version++;
		if (*kind != CFG_PUSH_GOOD)
			atomic_store_explicit(&st->bad_version[sp.version], 1,
					      memory_order_relaxed);
		atomic_store_explicit(&st->version_max, sp.version,
				      memory_order_relaxed);
		break;
	}
	rc = config_render(&sp, &buf, &len);
	if (rc == 0)
		rc = config_write_file(ictx_workdir(st->ctx), CONFIG_FILE, buf,
				       len);
	ml_free(buf);
	if (rc == 0 && *kind == CFG_PUSH_GOOD) {
		st->last_good_version = sp.version;
		st->last_good_services = sp.services;
	}
	st->pushes[*kind]++;
	return rc;
}

/* Read the file and apply it if it changed and is valid.  Returns the
 * outcome: 1 applied, 0 skipped (unchanged), -EINVAL rejected, or -errno. */
/* Allocations so far by everything but the request path: the reloader is
 * the only thread allocating under these tags, and the only jansson user
 * in the child while it runs. */
static uint64_t config_allocs(void)
{
	struct ml_alloc_snapshot a;
	uint64_t n = 0;

	uint64_t ja, jf;

	ml_alloc_snapshot(&a);
	for (int t = 0; t < ML_TAG_COUNT; t++)
		if (t != ML_TAG_REQUESTS)
			n += a.allocs[t];
	config_json_counts(&ja, &jf);
	return n + ja;
}

static int reload(struct cfg_state *st)
{
	char *buf = NULL, err[200];
	struct cfg_set *ns = NULL;
	uint64_t t0 = ictx_now_ns(), h, dt, a0 = config_allocs();
	size_t len = 0;
	int rc;

	rc = config_read_file(st->path, &buf, &len);
	if (rc)
		goto out;
	h = config_hash(buf, len);
	if ((st->applied && h == st->applied_hash) ||
	    (st->have_rejected && h == st->rejected_hash)) {
		st->n_skipped++;
		ictx_add(st->m_skipped, 1);
		rc = 0;
		goto out;
	}
	rc = config_load(buf, len, st->applied ? st->applied->version : 0, &ns,
			 err, sizeof(err));
	if (rc == -EINVAL) {
		st->n_rejected++;
		st->rejected_hash = h;
		st->have_rejected = true;
		ictx_add(st->m_bad, 1);
		ictx_log(st->ctx,
			 "config: rejected %s (%zu bytes, hash %016" PRIx64
			 "): %s; keeping version %" PRIu64,
			 CONFIG_FILE, len, h, err,
			 st->applied ? st->applied->version : 0);
		goto out;
	}
	if (rc)
		goto out;
	rc = apply_set(st, ns);
	if (rc) {
		config_set_free(ns);
		goto out;
	}
	st->applied_hash = h;
	st->n_applied++;
	ictx_add(st->m_reloads, 1);
	rc = 1;
	dt = ictx_now_ns() - t0;
	ictx_hist_record(st->h_reload, dt);
	a0 = config_allocs() - a0;
	st->reload_allocs_sum += a0;
	st->reload_keys_sum += st->applied->n;
	ictx_set(st->m_reload_allocs, (int64_t)a0);
	st->reload_ns_sum += dt;
	if (dt > st->reload_ns_max)
		st->reload_ns_max = dt;
out:
	ml_free(buf);
	return rc;
}

/* One tick: push, then reload, and note whether the reloader's verdict
 * matches what was pushed (the oracle's view; the reloader never sees it). */
static void tick(struct cfg_state *st)
{
	enum cfg_push kind;
	int rc = push_next(st, &kind);

	if (rc) {
		ictx_log(st->ctx, "config: push failed: %s", strerror(-rc));
		return;
	}
	rc = reload(st);
	if (rc == 1 && kind != CFG_PUSH_GOOD) {
		st->bad_applied++;
		ictx_log(st->ctx, "config: a %s file was APPLIED",
			 config_push_name(kind));
	} else if (rc == -EINVAL && kind == CFG_PUSH_GOOD) {
		st->good_rejected++;
	} else if (rc < 0 && rc != -EINVAL) {
		ictx_log(st->ctx, "config: reload failed: %s", strerror(-rc));
	}
}

static void *reloader_main(void *arg)
{
	struct cfg_state *st = arg;
	uint64_t next = ictx_now_ns() + st->period_ns;

	if (st->how == APPLY_INPLACE) {
		map_thread_enter(st->m);
	} else {
		st->rl_mine = atomic_load(&st->cur);
		map_thread_enter(st->rl_mine->m);
	}
	while (!ictx_stopping(st->ctx)) {
		uint64_t now = ictx_now_ns();

		if (now < next) {
			/* pace in slices so a stop is noticed promptly */
			sleep_until(next - now > 20000000ull ? now + 20000000ull
							     : next);
			continue;
		}
		tick(st);
		next += st->period_ns;
		if (next < ictx_now_ns()) /* overran: start over from now */
			next = ictx_now_ns() + st->period_ns;
		if (st->how == APPLY_SNAPSHOT)
			snap_reclaim(st);
	}
	if (st->how == APPLY_INPLACE) {
		map_thread_exit(st->m);
	} else {
		map_thread_exit(st->rl_mine->m);
		st->rl_mine = NULL;
	}
	return NULL;
}

/* ---- requests -------------------------------------------------------------- */

static void *dispatcher_main(void *arg)
{
	struct cfg_state *st = arg;
	uint64_t start = ictx_now_ns(), i = 0;
	double gap = 1e9 / st->rate;
	uint64_t rng = st->seed ^ 0xd15ull;

	while (!ictx_stopping(st->ctx)) {
		uint64_t now = ictx_now_ns(), due;
		struct req *head = NULL, *tail = NULL;
		int64_t n = 0, dropped = 0;

		while ((due = start + (uint64_t)((double)i * gap)) <= now) {
			struct req *r = ml_malloc(ML_TAG_REQUESTS, sizeof(*r));

			i++;
			if (!r) {
				dropped++;
				continue;
			}
			r->next = NULL;
			r->arrival_ns = due;
			r->svc = (uint32_t)(ml_splitmix64(&rng) % st->svc_max);
			if (tail)
				tail->next = r;
			else
				head = r;
			tail = r;
			n++;
		}
		if (head) {
			ictx_add(st->m_inflight, n);
			ML_CHECK_PTHREAD(pthread_mutex_lock(&st->qlock));
			if (st->qtail)
				st->qtail->next = head;
			else
				st->qhead = head;
			st->qtail = tail;
			/* wake as many readers as there is work for, no herd */
			for (int64_t k = 0; k < n && k < (int64_t)st->qwaiters;
			     k++)
				ML_CHECK_PTHREAD(pthread_cond_signal(&st->qcond));
			ML_CHECK_PTHREAD(pthread_mutex_unlock(&st->qlock));
		}
		if (dropped)
			ictx_add(st->m_dropped, dropped);
		sleep_until(due < now + 1000000ull ? due : now + 1000000ull);
	}
	return NULL;
}

static struct req *queue_pop(struct cfg_state *st)
{
	struct req *r = NULL;
	struct timespec ts;

	ML_CHECK_PTHREAD(pthread_mutex_lock(&st->qlock));
	while (!st->qhead && !ictx_stopping(st->ctx)) {
		clock_gettime(CLOCK_MONOTONIC, &ts);
		ts.tv_nsec += 20000000;
		if (ts.tv_nsec >= 1000000000) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000;
		}
		st->qwaiters++;
		pthread_cond_timedwait(&st->qcond, &st->qlock, &ts);
		st->qwaiters--;
	}
	if (st->qhead && !ictx_stopping(st->ctx)) {
		r = st->qhead;
		st->qhead = r->next;
		if (!st->qhead)
			st->qtail = NULL;
	}
	ML_CHECK_PTHREAD(pthread_mutex_unlock(&st->qlock));
	return r;
}

/* What one request has seen so far; filled by check_val() while the map
 * lends each value (map_get_with: no retain, no release, so readers do
 * not write the values' cache lines).  Private to the reader. */
struct seen {
	struct cfg_state *st;
	uint32_t svc;	/* the key being read: its service and field */
	unsigned field;
	uint64_t floor, vmin, vmax;
	bool garbage, stale, bad;
};

/* map_read_fn: classify one borrowed value.  Runs inside the variant's
 * read section (or under its lock): reads only the value and atomics. */
static void check_val(void *p, void *arg)
{
	struct seen *sn = arg;
	const struct cval *v = p;
	uint64_t vtop = atomic_load_explicit(&sn->st->version_max,
					     memory_order_relaxed);

	if (!config_val_intact(v, sn->st->seed) || v->svc != sn->svc ||
	    v->field != sn->field || v->version > vtop) {
		sn->garbage = true;
		return;
	}
	if (v->version < sn->vmin)
		sn->vmin = v->version;
	if (v->version > sn->vmax)
		sn->vmax = v->version;
	sn->stale |= v->version < sn->floor;
	if (atomic_load_explicit(&sn->st->bad_version[v->version],
				 memory_order_relaxed))
		sn->bad = true;
}

/* Count one served request in the first class that matches. */
static void classify(struct reader *rd, const struct seen *sn, bool lost,
		     unsigned present, unsigned svc_present)
{
	struct cfg_state *st = rd->st;

	if (sn->garbage) {
		rd->garbage++;
		ictx_add(st->m_garbage, 1);
	} else if (sn->stale || lost) {
		rd->stale += sn->stale;
		rd->lost += lost && !sn->stale;
		ictx_add(st->m_damaged, 1);
	} else if ((svc_present && svc_present < SVC_KEYS_READ) ||
		   (present && sn->vmin != sn->vmax)) {
		rd->torn++;
		ictx_add(st->m_torn, 1);
	} else if (!svc_present) {
		rd->misses++;
	}
	if (sn->bad)
		rd->bad_seen++;
}

/* Serve one request against map m; classify it (first match): garbage,
 * stale or lost (map damage), torn (the protocol), a miss.  fl and ap:
 * st->floor and st->applying, loaded before the request took m.  Every
 * value must be at least fl's version; every global key must be there;
 * and when no other reload began meanwhile (applying unchanged after the
 * reads), so must every key of a service that both fl's version and ap's
 * have (services are a prefix: svc00000..svc<n-1>), since the reload in
 * progress only overwrites those. */
static void serve(struct reader *rd, struct map *m, uint32_t svc,
		  uint64_t fl, uint64_t ap)
{
	struct cfg_state *st = rd->st;
	uint32_t nf = (uint32_t)(fl & 0xfffff), na = (uint32_t)(ap & 0xfffff);
	struct seen sn = {.st = st, .floor = fl >> 20, .vmin = UINT64_MAX};
	bool svc_kept = sn.floor > 0 && svc < nf && svc < na, lost = false;
	unsigned svc_missing = 0, svc_present = 0, present = 0;
	char key[CFG_KEY_MAX];

	for (unsigned k = 0; k < st->global_keys + SVC_KEYS_READ; k++) {
		bool global = k < st->global_keys;
		size_t klen;

		sn.svc = global ? CFG_SVC_GLOBAL : svc;
		sn.field = global ? k : k - st->global_keys;
		klen = config_key(key, sn.svc, sn.field);
		if (map_get_with(m, key, klen, check_val, &sn) != 0) {
			lost |= global && sn.floor > 0;
			svc_missing += !global;
			continue;
		}
		present++;
		svc_present += !global;
	}
	/* acquire: a delete this request saw was done by a reload whose
	 * applying store is then visible here */
	if (svc_kept && svc_missing &&
	    atomic_load_explicit(&st->applying, memory_order_acquire) == ap)
		lost = true;
	classify(rd, &sn, lost, present, svc_present);
}

static void *reader_main(void *arg)
{
	struct reader *rd = arg;
	struct cfg_state *st = rd->st;
	struct req *r;

	if (st->how == APPLY_INPLACE)
		map_thread_enter(st->m);
	while ((r = queue_pop(st)) != NULL) {
		/* acquire: pairs with apply_set's releases.  applying
		 * first: a floor loaded after it is that version or the one
		 * before (or applying has moved, which serve() sees); both
		 * before the snapshot is taken, so it is at least as new */
		uint64_t ap = atomic_load_explicit(&st->applying,
						   memory_order_acquire);
		uint64_t fl = atomic_load_explicit(&st->floor,
						   memory_order_acquire);
		struct map *m = st->how == APPLY_INPLACE ? st->m
							 : snap_acquire(rd)->m;
		uint64_t t0 = ictx_now_ns();

		serve(rd, m, r->svc, fl, ap);
		ictx_hist_record(st->h_serve, ictx_now_ns() - t0);
		ictx_hist_record(st->h_latency, ictx_now_ns() - r->arrival_ns);
		ictx_add(st->m_ops, 1);
		ictx_add(st->m_inflight, -1);
		rd->served++;
		ml_free(r);
	}
	if (st->how == APPLY_INPLACE)
		map_thread_exit(st->m);
	else
		snap_release_reader(rd);
	return NULL;
}

/* ---- telemetry ------------------------------------------------------------- */

/* Every allocation and free so far: the counting allocator's tags plus
 * jansson's (its parse churn is churn too); a fills with the snapshot. */
static void alloc_totals(struct ml_alloc_snapshot *a, uint64_t *allocs,
			 uint64_t *frees)
{
	uint64_t ja, jf;

	ml_alloc_snapshot(a);
	*allocs = 0;
	*frees = 0;
	for (int t = 0; t < ML_TAG_COUNT; t++) {
		*allocs += a->allocs[t];
		*frees += a->frees[t];
	}
	config_json_counts(&ja, &jf);
	*allocs += ja;
	*frees += jf;
}

/* Heap held from the kernel = arena (all arenas) + mmapped chunks; in
 * use = uordblks + hblkhd (mmapped chunks are always in use).  Free
 * inside the heap = fordblks. */
static void sample_heap(struct cfg_state *st)
{
	uint64_t heap, freeb, frag, t_mi = ictx_now_ns();
	struct mallinfo2 mi = mallinfo2(); /* walks every free chunk under
					    * arena locks */

	ictx_hist_record(st->h_mallinfo, ictx_now_ns() - t_mi);
	ictx_set(st->m_top, (int64_t)(mi.keepcost >> 10));
	heap = mi.arena + mi.hblkhd;
	freeb = mi.arena - mi.uordblks;
	frag = heap ? freeb * 1000u / heap : 0;
	ictx_set(st->m_frag, (int64_t)frag);
	ictx_set(st->m_heap, (int64_t)(heap >> 10));
	ictx_set(st->m_heap_free, (int64_t)(freeb >> 10));
	if (frag > st->frag_peak) {
		st->frag_peak = frag;
		ictx_set(st->m_frag_peak, (int64_t)frag);
	}
}

static void *telemetry_main(void *arg)
{
	struct cfg_state *st = arg;
	struct ml_alloc_snapshot a;
	uint64_t prev_allocs, prev_frees, prev_t, next, prev_req;

	alloc_totals(&a, &prev_allocs, &prev_frees);
	prev_req = a.allocs[ML_TAG_REQUESTS];
	prev_t = ictx_now_ns();
	next = prev_t + st->mallinfo_ns;
	while (!ictx_stopping(st->ctx)) {
		uint64_t now = ictx_now_ns(), allocs, frees, dt;

		if (now < next) {
			sleep_until(next - now > 20000000ull ? now + 20000000ull
							     : next);
			continue;
		}
		next += st->mallinfo_ns;
		alloc_totals(&a, &allocs, &frees);
		dt = now - prev_t;
		if (dt) {
			uint64_t ar = (allocs - prev_allocs) * 1000000000ull / dt;
			uint64_t fr = (frees - prev_frees) * 1000000000ull / dt;

			/* by cause: the requests' own objects (tag
			 * REQUESTS) against everything else, which only the
			 * reload allocates (documents, parse, map, values) */
			uint64_t rr = (a.allocs[ML_TAG_REQUESTS] - prev_req) *
				      1000000000ull / dt;

			ictx_set(st->m_alloc_rate, (int64_t)ar);
			ictx_set(st->m_rate_requests, (int64_t)rr);
			ictx_set(st->m_rate_reload, (int64_t)(ar > rr ? ar - rr
								     : 0));
			st->req_rate_sum += rr;
			ictx_set(st->m_free_rate, (int64_t)fr);
			st->alloc_rate_sum += ar;
			st->free_rate_sum += fr;
			st->rate_samples++;
		}
		prev_allocs = allocs;
		prev_req = a.allocs[ML_TAG_REQUESTS];
		prev_frees = frees;
		prev_t = now;
		sample_heap(st);
	}
	return NULL;
}

/* ---- the incident ------------------------------------------------------------ */

static void state_free(struct cfg_state *st)
{
	struct snap *s;

	if (!st)
		return;
	while (st->qhead) {
		struct req *r = st->qhead;

		st->qhead = r->next;
		ml_free(r);
	}
	if (!st->corrupt) {
		if (st->m)
			map_close(st->m);
		s = atomic_load(&st->cur);
		if (s)
			snap_close(s);
		while ((s = st->retired) != NULL) {
			st->retired = s->next;
			snap_close(s);
		}
	}
	config_set_free(st->applied);
	config_json_count_end();
	ml_free((void *)st->bad_version);
	ml_free(st->readers_mem);
	pthread_mutex_destroy(&st->qlock);
	pthread_cond_destroy(&st->qcond);
	ml_free(st);
}

/* The queue's lock and its condition variable (on CLOCK_MONOTONIC, the
 * clock the readers' deadlines use). */
static void state_init_queue(struct cfg_state *st)
{
	pthread_condattr_t ca;

	ML_CHECK_PTHREAD(pthread_mutex_init(&st->qlock, NULL));
	ML_CHECK_PTHREAD(pthread_condattr_init(&ca));
	ML_CHECK_PTHREAD(pthread_condattr_setclock(&ca, CLOCK_MONOTONIC));
	ML_CHECK_PTHREAD(pthread_cond_init(&st->qcond, &ca));
	ML_CHECK_PTHREAD(pthread_condattr_destroy(&ca));
}

/* The run's parameters, as the incident's fields; kmin <= kmax. */
static void state_read_params(struct cfg_state *st, struct ictx *ctx,
			      double kmin, double kmax, double period)
{
	st->period_ns = (uint64_t)(period * 1e6);
	st->mallinfo_ns = (uint64_t)(ictx_param(ctx, "mallinfo_ms") * 1e6);
	st->svc_min = (uint32_t)((kmin - CFG_NFIELDS) / CFG_NFIELDS);
	st->svc_max = (uint32_t)((kmax - CFG_NFIELDS) / CFG_NFIELDS);
	if (st->svc_min < 1)
		st->svc_min = 1;
	if (st->svc_max < st->svc_min)
		st->svc_max = st->svc_min;
	st->rate = ictx_param(ctx, "rate");
	st->p_bad = ictx_param(ctx, "p_bad");
	st->p_same = ictx_param(ctx, "p_same");
	st->global_keys = (unsigned)ictx_param(ctx, "global_keys");
	st->presize = ictx_param(ctx, "presize") >= 1;
	st->apply_workers = (unsigned)ictx_param(ctx, "apply_workers");
	st->variant = ictx_variant(ctx);
	st->map_flags = ictx_map_flags(ctx);
	st->how = strategy_for(st->variant, ictx_param(ctx, "apply"));
	st->seed = ictx_seed(ctx);
	st->rng = st->seed ^ 0xc0ffeeull;
	st->nreaders = ictx_threads(ctx) ? ictx_threads(ctx) : 1;
	snprintf(st->path, sizeof(st->path), "%s/%s", ictx_workdir(ctx),
		 CONFIG_FILE);
}

/* The per-version bad flags and the cache-line-aligned reader slots. */
static int state_alloc_tables(struct cfg_state *st, struct ictx *ctx)
{
	/* one version per tick at most, twice over for slack */
	st->nversions = (size_t)(ictx_seconds(ctx) * 1e9 / (double)st->period_ns) *
				2 + 64;
	st->bad_version = ml_calloc(ML_TAG_CONFIG, st->nversions, 1);
	st->readers_mem = ml_calloc(ML_TAG_CONFIG, 1,
				    st->nreaders * sizeof(*st->readers) +
					    alignof(struct reader));
	st->readers = st->readers_mem
			      ? (struct reader *)(((uintptr_t)st->readers_mem +
						   alignof(struct reader) - 1) &
						  ~(uintptr_t)(alignof(struct reader) -
							       1))
			      : NULL;
	return st->bad_version && st->readers ? 0 : -ENOMEM;
}

static void state_register_metrics(struct cfg_state *st, struct ictx *ctx)
{
	st->m_inflight = ictx_metric(ctx, "inflight", ICTX_GAUGE);
	st->m_ops = ictx_metric(ctx, "ops", ICTX_COUNTER);
	st->m_entries = ictx_metric(ctx, "entries", ICTX_GAUGE);
	st->m_alloc_rate = ictx_metric(ctx, "alloc_rate", ICTX_GAUGE);
	st->m_rate_reload = ictx_metric(ctx, "alloc_rate_reload", ICTX_GAUGE);
	st->m_rate_requests = ictx_metric(ctx, "alloc_rate_requests",
					  ICTX_GAUGE);
	st->m_free_rate = ictx_metric(ctx, "free_rate", ICTX_GAUGE);
	st->m_frag = ictx_metric(ctx, "frag_permille", ICTX_GAUGE);
	st->m_frag_peak = ictx_metric(ctx, "frag_peak_permille", ICTX_GAUGE);
	st->m_heap = ictx_metric(ctx, "heap_kib", ICTX_GAUGE);
	st->m_heap_free = ictx_metric(ctx, "heap_free_kib", ICTX_GAUGE);
	st->m_bad = ictx_metric(ctx, "bad_configs", ICTX_COUNTER);
	st->m_reloads = ictx_metric(ctx, "reloads", ICTX_COUNTER);
	st->m_skipped = ictx_metric(ctx, "reloads_skipped", ICTX_COUNTER);
	st->m_torn = ictx_metric(ctx, "torn_reads", ICTX_COUNTER);
	st->m_garbage = ictx_metric(ctx, "garbage_reads", ICTX_COUNTER);
	st->m_damaged = ictx_metric(ctx, "stale_or_lost_reads", ICTX_COUNTER);
	st->m_version = ictx_metric(ctx, "version", ICTX_GAUGE);
	st->m_dropped = ictx_metric(ctx, "dropped", ICTX_COUNTER);
	st->m_retired = ictx_metric(ctx, "retired", ICTX_GAUGE);
	st->m_apply_err = ictx_metric(ctx, "apply_errors", ICTX_COUNTER);
	st->h_latency = ictx_hist(ctx, "latency");
	st->h_reload = ictx_hist(ctx, "reload");
	st->h_apply = ictx_hist(ctx, "apply");
	st->h_grace = ictx_hist(ctx, "grace");
	st->h_mallinfo = ictx_hist(ctx, "mallinfo");
	st->m_top = ictx_metric(ctx, "heap_top_kib", ICTX_GAUGE);
	st->m_reload_allocs = ictx_metric(ctx, "reload_allocs", ICTX_GAUGE);
	st->h_serve = ictx_hist(ctx, "serve");
}

/* Version 1, pushed to the file and loaded like any other, then applied,
 * so readers start on a real configuration. */
static int apply_first_version(struct cfg_state *st)
{
	struct cfg_set *ns = NULL;
	enum cfg_push kind;
	char err[200], *buf = NULL;
	size_t len = 0;
	int rc;

	rc = push_next(st, &kind); /* no good version yet: GOOD */
	if (rc)
		return rc;
	rc = config_read_file(st->path, &buf, &len);
	if (rc == 0) {
		rc = config_load(buf, len, 0, &ns, err, sizeof(err));
		if (rc == -EINVAL)
			ictx_log(st->ctx, "config: first version rejected: %s",
				 err);
		if (rc == 0)
			st->applied_hash = config_hash(buf, len);
	}
	ml_free(buf);
	if (rc)
		return rc;
	if (st->m)
		map_thread_enter(st->m);
	rc = apply_set(st, ns);
	if (st->m)
		map_thread_exit(st->m);
	if (rc) {
		config_set_free(ns);
		return rc;
	}
	if (st->how == APPLY_SNAPSHOT) {
		/* setup's thread leaves the first snapshot; the reloader
		 * enters it when it starts */
		map_thread_exit(st->rl_mine->m);
		st->rl_mine = NULL;
	}
	st->n_applied = 1;
	return 0;
}

static int config_setup(struct ictx *ctx, void **state)
{
	struct cfg_state *st;
	double kmin = ictx_param(ctx, "keys_min");
	double kmax = ictx_param(ctx, "keys_max");
	double period = ictx_param(ctx, "period_ms");
	int rc;

	*state = NULL;
	if (kmin > kmax) {
		ictx_log(ctx, "config: keys_min %.0f > keys_max %.0f: set "
			 "keys_min <= keys_max", kmin, kmax);
		return -EINVAL;
	}
	st = ml_calloc(ML_TAG_CONFIG, 1, sizeof(*st));
	if (!st)
		return -ENOMEM;
	state_init_queue(st);
	st->ctx = ctx;
	config_json_count_begin();
	state_read_params(st, ctx, kmin, kmax, period);
	rc = state_alloc_tables(st, ctx);
	if (rc)
		goto fail;
	st->next_version = 1;
	state_register_metrics(st, ctx);
	if (st->how == APPLY_INPLACE) {
		struct map_config c =
			map_cfg(st, st->presize ? (size_t)kmax : 0);

		rc = map_open(st->variant, &c, &st->m);
		if (rc) {
			ictx_log(ctx, "config: map_open(%s): %s", st->variant,
				 strerror(-rc));
			goto fail;
		}
	}
	rc = apply_first_version(st);
	if (rc)
		goto fail;
	ictx_log(ctx,
		 "config: variant %s, apply %s, %u..%u services (%u..%u "
		 "keys), reload every %.0f ms, %u readers at %.0f req/s",
		 st->variant,
		 st->how == APPLY_SNAPSHOT ? "snapshot+publish" : "in place",
		 st->svc_min, st->svc_max, CFG_NFIELDS * (st->svc_min + 1),
		 CFG_NFIELDS * (st->svc_max + 1), period, st->nreaders,
		 st->rate);
	*state = st;
	return 0;
fail:
	state_free(st);
	return rc;
}

static int config_run(void *state, struct ictx *ctx)
{
	struct cfg_state *st = state;
	pthread_t rl, disp, tel;
	unsigned started = 0;
	int rc = 0;

	(void)ctx;
	for (unsigned i = 0; i < st->nreaders; i++) {
		struct reader *r = &st->readers[i];

		r->st = st;
		r->idx = i;
		rc = -pthread_create(&r->tid, NULL, reader_main, r);
		if (rc)
			break;
		r->started = true;
		started++;
	}
	if (rc == 0) {
		ML_CHECK_PTHREAD(pthread_create(&tel, NULL, telemetry_main, st));
		ML_CHECK_PTHREAD(pthread_create(&disp, NULL, dispatcher_main, st));
		ML_CHECK_PTHREAD(pthread_create(&rl, NULL, reloader_main, st));
		ML_CHECK_PTHREAD(pthread_join(rl, NULL));
		ML_CHECK_PTHREAD(pthread_join(disp, NULL));
		ML_CHECK_PTHREAD(pthread_join(tel, NULL));
	} else {
		ictx_log(st->ctx, "config: reader %u: pthread_create: %s",
			 started, strerror(-rc));
		/* let the started readers end */
		while (!ictx_stopping(st->ctx))
			sleep_until(ictx_now_ns() + 10000000ull);
	}
	ML_CHECK_PTHREAD(pthread_mutex_lock(&st->qlock));
	ML_CHECK_PTHREAD(pthread_cond_broadcast(&st->qcond));
	ML_CHECK_PTHREAD(pthread_mutex_unlock(&st->qlock));
	for (unsigned i = 0; i < st->nreaders; i++)
		if (st->readers[i].started)
			ML_CHECK_PTHREAD(pthread_join(st->readers[i].tid, NULL));
	/* requests still queued at the stop: never served */
	while (st->qhead) {
		struct req *r = st->qhead;

		st->qhead = r->next;
		ml_free(r);
		st->dropped_at_stop++;
		ictx_add(st->m_inflight, -1);
	}
	st->qtail = NULL;
	if (st->how == APPLY_SNAPSHOT)
		snap_reclaim(st); /* no reader left: every retired one goes */
	return rc;
}

/* Final-state walk of the map in force. */
struct walk {
	const struct cfg_set *set;
	uint64_t seed, visits, limit;
	uint64_t matched, stale, extra, garbage, bad;
	unsigned char *seen; /* per applied entry */
	const _Atomic unsigned char *bad_version;
	size_t nversions;
};

static int walk_fn(const void *key, size_t klen, void *val, void *arg)
{
	struct walk *w = arg;
	const struct cval *v = val;
	long i;

	if (++w->visits > w->limit)
		return 1; /* a loop in a broken table: stop */
	i = config_set_find(w->set, key, klen);
	if (i < 0) {
		w->extra++; /* should have been deleted */
		return 0;
	}
	if (!config_val_intact(v, w->seed)) {
		w->garbage++;
		return 0;
	}
	if (v->version < w->nversions &&
	    atomic_load_explicit(&w->bad_version[v->version],
				 memory_order_relaxed))
		w->bad++; /* a bad document's value in force */
	if (v->version != w->set->version)
		w->stale++;
	else if (!w->seen[i]) {
		w->seen[i] = 1;
		w->matched++;
	}
	return 0;
}

/* What the readers saw, summed over them after join. */
struct reader_sums {
	uint64_t torn, garbage, bad_seen, served, misses, stale, lost;
};

static void sum_readers(const struct cfg_state *st, struct reader_sums *r)
{
	memset(r, 0, sizeof(*r));
	for (unsigned i = 0; i < st->nreaders; i++) {
		r->torn += st->readers[i].torn;
		r->garbage += st->readers[i].garbage;
		r->bad_seen += st->readers[i].bad_seen;
		r->served += st->readers[i].served;
		r->misses += st->readers[i].misses;
		r->stale += st->readers[i].stale;
		r->lost += st->readers[i].lost;
	}
}

/* The final table against the last applied set: map_check, then (on a
 * table that passes) a walk counting lost updates, deletes and inserts.
 * Records those symptoms and returns the map damage they add; w keeps
 * the walk's counts (w->bad: a bad document's values in force).  The
 * caller is inside m's thread section. */
static uint64_t check_final_table(struct cfg_state *st, struct ictx *ctx,
				  struct map *m, struct walk *w)
{
	struct map_check chk;
	uint64_t damage = 0;
	int crc = map_check(m, &chk);

	if (crc == -EBADMSG) {
		st->corrupt = true;
		ictx_symptom(ctx, "invariant_violations", (double)chk.problems);
		ictx_log(ctx, "config: map_check: %" PRIu64 " problems, first: %s",
			 chk.problems, chk.first);
		return chk.problems;
	}
	w->set = st->applied;
	w->seed = st->seed;
	w->bad_version = st->bad_version;
	w->nversions = st->nversions;
	w->limit = 2 * st->applied->n + 1024;
	w->seen = ml_calloc(ML_TAG_CONFIG, st->applied->n ? st->applied->n : 1,
			    1);
	if (w->seen) {
		map_range(m, walk_fn, w);
		ml_free(w->seen);
		if (w->visits > w->limit)
			ictx_log(ctx, "config: final walk stopped after "
				 "%" PRIu64 " entries (loop?)", w->limit);
		ictx_symptom(ctx, "lost_updates",
			     (double)(w->stale + w->garbage));
		ictx_symptom(ctx, "lost_deletes", (double)w->extra);
		ictx_symptom(ctx, "lost_inserts",
			     (double)(st->applied->n - w->matched));
		damage = w->stale + w->garbage + w->extra +
			 (st->applied->n - w->matched);
	}
	if (crc == 0 || crc == -ENOTSUP)
		ictx_symptom(ctx, "invariant_violations", 0);
	return damage;
}

/* The run's counts in the log: pushes by kind, then reloads. */
static void log_pushes_and_reloads(const struct cfg_state *st,
				   struct ictx *ctx)
{
	ictx_log(ctx,
		 "config: pushes good %" PRIu64 " same %" PRIu64
		 " bad %" PRIu64 " (truncated %" PRIu64 ", wrong_type %" PRIu64
		 ", missing_key %" PRIu64 ", no_version %" PRIu64
		 ", stale %" PRIu64 ")",
		 st->pushes[CFG_PUSH_GOOD], st->pushes[CFG_PUSH_SAME],
		 st->pushes[CFG_BAD_TRUNCATED] + st->pushes[CFG_BAD_WRONG_TYPE] +
			 st->pushes[CFG_BAD_MISSING_KEY] +
			 st->pushes[CFG_BAD_NO_VERSION] +
			 st->pushes[CFG_BAD_STALE],
		 st->pushes[CFG_BAD_TRUNCATED], st->pushes[CFG_BAD_WRONG_TYPE],
		 st->pushes[CFG_BAD_MISSING_KEY], st->pushes[CFG_BAD_NO_VERSION],
		 st->pushes[CFG_BAD_STALE]);
	ictx_log(ctx,
		 "config: reloads applied %" PRIu64 " skipped %" PRIu64
		 " rejected %" PRIu64 "; reload mean %.1f ms max %.1f ms, "
		 "%.2f allocations per key applied; final version %" PRIu64
		 " (%zu keys)",
		 st->n_applied, st->n_skipped, st->n_rejected,
		 st->n_applied > 1 ? (double)st->reload_ns_sum /
					     (double)(st->n_applied - 1) / 1e6
				   : 0.0,
		 (double)st->reload_ns_max / 1e6,
		 st->reload_keys_sum ? (double)st->reload_allocs_sum /
					       (double)st->reload_keys_sum
				     : 0.0,
		 st->applied->version, st->applied->n);
}

static void config_oracle(void *state, struct ictx *ctx)
{
	struct cfg_state *st = state;
	struct snap *s = atomic_load(&st->cur);
	struct map *m = st->how == APPLY_INPLACE ? st->m : s->m;
	struct reader_sums r;
	struct walk w = {0};
	uint64_t damage;

	sum_readers(st, &r);
	damage = r.garbage + r.stale + r.lost;
	map_thread_enter(m);
	damage += check_final_table(st, ctx, m, &w);
	map_thread_exit(m);
	/* map damage (see the file header) apart from the protocol's tear */
	ictx_symptom(ctx, "map_damage", (double)damage);
	ictx_symptom(ctx, "torn_reads", (double)r.torn);
	ictx_symptom(ctx, "garbage_reads", (double)r.garbage);
	ictx_symptom(ctx, "stale_reads", (double)r.stale);
	ictx_symptom(ctx, "lost_reads", (double)r.lost);
	ictx_symptom(ctx, "bad_config_applied",
		     (double)(st->bad_applied + r.bad_seen + w.bad));
	if (st->good_rejected)
		ictx_symptom(ctx, "good_config_rejected",
			     (double)st->good_rejected);
	log_pushes_and_reloads(st, ctx);
	ictx_log(ctx,
		 "config: requests %" PRIu64 " torn %" PRIu64 " garbage %" PRIu64
		 " stale %" PRIu64 " lost %" PRIu64
		 " misses %" PRIu64 " dropped at stop %" PRIu64
		 "; allocs/s mean %" PRIu64 " (requests %" PRIu64 ", reload %"
		 PRIu64 ") frees/s mean %" PRIu64 "; frag peak %.1f%%",
		 r.served, r.torn, r.garbage, r.stale, r.lost, r.misses,
		 st->dropped_at_stop,
		 st->rate_samples ? st->alloc_rate_sum / st->rate_samples : 0,
		 st->rate_samples ? st->req_rate_sum / st->rate_samples : 0,
		 st->rate_samples ? (st->alloc_rate_sum - st->req_rate_sum) /
					    st->rate_samples
				  : 0,
		 st->rate_samples ? st->free_rate_sum / st->rate_samples : 0,
		 (double)st->frag_peak / 10.0);
}

static void config_teardown(void *state, struct ictx *ctx)
{
	struct cfg_state *st = state;

	if (st && st->corrupt)
		ictx_log(ctx, "config: table corrupt: not closing it (what it "
			 "holds shows as leaked_bytes)");
	state_free(st);
}

struct map *config_test_map(void *state)
{
	struct cfg_state *st = state;

	return st->how == APPLY_INPLACE ? st->m : atomic_load(&st->cur)->m;
}

uint64_t config_test_bad_version(void *state)
{
	struct cfg_state *st = state;

	for (size_t v = 1; v < st->next_version; v++)
		if (atomic_load_explicit(&st->bad_version[v],
					 memory_order_relaxed))
			return v;
	return 0;
}

uint64_t config_test_applied_version(void *state)
{
	return ((struct cfg_state *)state)->applied->version;
}

const struct incident incident_config = {
	.name = "config",
	.title = "Config hot reload",
	.summary = "a reloader rewrites a shared config (JSON, 5k-50k keys) "
		   "while readers check each request sees one version",
	.story = config_story,
	.seed = &config_seed,
	.key_figures = config_key_figures,
	.charts = config_charts,
	.quick_seconds = 2.5,
	.full_seconds = 60,
	.params = params,
	.rules = rules,
	.go_twin = "config",
	.envelope_param = "keys_max",
	.setup = config_setup,
	.run = config_run,
	.oracle = config_oracle,
	.teardown = config_teardown,
};

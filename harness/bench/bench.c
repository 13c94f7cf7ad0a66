/*
 * harness/bench/bench.c - This file contains the `maplab bench` subcommand: the
 * map benchmark, every registered variant and three peers side by side
 * (harness/bench/bench_glib.c, bench_lfht.c, bench_ck.c).
 *
 *   maplab bench [--quick] [--mix r99,r90,w50,churn] [--keys 10000,1000000]
 *                [--threads 1,2,4,8] [--reps 5] [--seconds S] [--seed N]
 *                [--variant a,b,...] [--values refcounted|plain]
 *                [--reads retained|borrowed] [--budget SIZE] [--out DIR]
 *
 * What one measurement is.  A map (variant or peer) is opened with
 * capacity_hint K (GLib has no hint and grows; the hint also keeps the
 * cds_lfht tables off liburcu 0.13's lost-resize race, see bench_lfht.c)
 * and prefilled with K keys; T worker threads wait on a start barrier, run a seeded
 * stream of operations until a stop flag, and keep their counters in
 * locals that are merged after join.  Throughput is the sum of operations
 * over the span from the first worker's start to the last one's stop.
 *
 * Workloads (mixes):
 *   rNN    NN% gets, the rest puts that overwrite an existing key (r99 =
 *          1% writes, r90, r100 = pure gets); wNN = (100-NN)% gets;
 *   churn  50% gets of prefilled keys, 25% inserts of new keys, 25%
 *          deletes of keys the same thread inserted CHURN_WINDOW inserts
 *          earlier; the map size stays K (+ T * CHURN_WINDOW).
 * Keys are 16 hex characters (a bijective scramble of a 64-bit id), chosen
 * uniformly from [0, K) by a per-thread splitmix64 stream seeded from
 * (--seed, mix, keys, map, threads, pass, thread).
 *
 * Values are what the incidents pay for: small reference-counted objects
 * (an atomic refcount and a payload, ml_malloc'd under "values").  A get
 * hands back a retained reference which the worker reads and releases; a
 * put allocates a new value and the map's overwrite releases the old one.
 * So every figure includes retain/release and one allocation per write.
 * --values plain measures the maps alone: values come from a fixed pool
 * that lives as long as the child, retain and release do nothing, a put
 * stores a pool value instead of allocating one.  The difference between
 * the two is what reference counting costs: every refcounted get writes
 * the value's cache line, and at 2+ threads over one key set those lines
 * move between cores on most gets, which caps every lock-free reader.
 * --reads borrowed keeps the refcounted values but reads them through
 * map_get_with (a peer's get_with): the worker's xor of the value's data
 * runs inside the map's read guard and nothing is retained or released,
 * so a read writes no value line.
 *
 * Repetitions.  For each (mix, keys) every map gets its own child process
 * (its own heap and counting allocator, so maps never share malloc state;
 * a byte budget; an alarm as a timeout), which prefills it and then runs
 * what the parent asks over a pipe.  The parent runs, for each thread
 * count, a warm-up pass and --reps measured passes; a pass runs every map
 * once, one at a time, in an order rotated per pass, so a burst of machine
 * load hits all maps of a pass alike.  Results go back through a
 * MAP_SHARED mapping; a child that dies only takes its own map out.  Maps without
 * MAP_V_THREADSAFE (`unsafe`) run at one thread only; MAP_V_EXERCISE
 * variants run only when named with --variant.
 *
 * Memory per entry: the counting allocator's live bytes before and after
 * the prefill (without the value objects), and the heap-wide in-use bytes
 * from mallinfo2 (everything, malloc overhead included; the only figure
 * that sees GLib's own table).
 *
 * Threads and locking: the parent is single-threaded and never touches a
 * map or liburcu (so forking is safe).  In a child, every map call runs
 * in a thread made for that map which enters and exits it; the child's
 * main thread only creates, times and joins.  A cell of the shared mapping
 * is written by one child, read by the parent after that child answered
 * over its pipe (the pipe orders the writes before the read).  The stop flag is the only
 * shared variable of a run (release store, relaxed loads: the flag orders
 * nothing, the join publishes the counters).
 *
 * Output, through harness/store/results.h (the run folder contract): --out DIR
 * or results/<date>-<time>-bench[-quick] with manifest.json (kind
 * "bench"), bench.json, data/bench.<mix>.<keys>.dat (threads, then one
 * median ops/s column per map; NaN where not run), INCOMPLETE while
 * running; results/latest points to a default folder once complete.
 * Bad input: one line on stderr, exit 2, nothing written.
 *
 * ThreadSanitizer (build/tsan/maplab bench): a child TSan reports on exits
 * with TSan's code 66, so its map's points are errors.  The binary carries
 * tests/tsan.supp (liburcu's own libc calls only; harness/lanes/tsan.c),
 * so no TSAN_OPTIONS are needed; tests/check_bench.c's `binary` case runs
 * rcu, lfht and ck that way.
 */
#include <errno.h>
#include <fcntl.h>
#include <gnu/libc-version.h>
#include <jansson.h>
#include <limits.h>
#include <malloc.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdalign.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness/bench/bench.h"
#include "harness/bench/bench_peer.h"
#include "harness/cli/opts.h"
#include "harness/store/results.h"
#include "maps/alloc.h"
#include "maps/map.h"

#define BENCH_SCHEMA_VERSION 1
#define MAX_MIXES 8
#define MAX_KEYS 8
#define MAX_THREADS 16   /* entries in --threads */
#define MAX_THREAD_N 256 /* largest thread count */
#define MAX_REPS 100
#define MAX_IMPLS 32
#define KEY_LEN 16
#define CHURN_WINDOW 64
#define DEFAULT_BUDGET (4ull << 30)

enum mix_kind { MIX_RW, MIX_CHURN };

struct mix {
	char name[16];
	enum mix_kind kind;
	unsigned read_pct; /* MIX_RW: gets per 100 ops; churn: 50 */
};

/* One thing measured: a registered variant or a peer. */
struct impl {
	const char *name;
	const char *description;
	bool threadsafe;
	const struct map_variant *v; /* exactly one of v, p */
	const struct bench_peer *p;
};

struct opts {
	bool quick;
	struct mix mix[MAX_MIXES];
	size_t nmix;
	uint64_t keys[MAX_KEYS];
	size_t nkeys;
	unsigned threads[MAX_THREADS];
	size_t nthreads;
	unsigned reps;
	double seconds;
	uint64_t seed;
	uint64_t budget;
	struct impl impl[MAX_IMPLS];
	size_t nimpl;
	const char *out;
	bool plain; /* --values plain */
	bool borrowed; /* --reads borrowed: gets are map_get_with */
	bool callgrind; /* --callgrind: instruction counts after the passes */
};

/* Per (mix, keys, impl, threads): written by the child, read by the
 * parent after waitpid (which orders the child's writes before). */
struct cell {
	double ops_s[MAX_REPS];     /* ops per wall-clock second */
	double cpu_ops_s[MAX_REPS]; /* ops per CPU second of the workers */
	double share[MAX_REPS];     /* CPU the workers got / (min(threads,
				     * cores) x wall) */
	unsigned nrep;       /* measured passes stored */
	uint64_t anomalies;  /* gets/deletes of present keys that missed */
	int status;          /* 0 ok, 1 skipped (not thread-safe), <0 error */
};

/* Per (mix, keys, impl). */
struct pinfo {
	double bytes_per_entry;      /* counting allocator, no values */
	double heap_bytes_per_entry; /* mallinfo2 in-use delta, everything */
	double prefill_s;
	uint64_t len_after;          /* map length after all runs */
	uint64_t buckets_prefill;    /* map_stats().buckets after prefill */
	uint64_t buckets_close;      /* ... and after all runs (variants) */
	int status;                  /* 0 ok, <0 error */
	char err[160];
};

/* Per (mix, keys, impl): the child's allocator books after the close. */
struct ginfo {
	int64_t leaked[ML_TAG_COUNT]; /* live bytes after close - before open */
	bool done;                    /* the child got that far */
};

struct shared {
	struct cell *cell;
	struct pinfo *pinfo;
	struct ginfo *ginfo;
	size_t bytes;
};

static const struct bench_peer *const peers[] = {
	&bench_peer_glib, &bench_peer_lfht, &bench_peer_ck};

/* ---------------------------------------------------------------- utils */

static double clock_s(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static double now_s(void)
{
	return clock_s(CLOCK_MONOTONIC);
}

static void sleep_s(double s)
{
	struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};

	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

/* Uniform in [0, n) (Lemire's multiply-shift; bias < n / 2^64). */
static inline uint64_t bounded(uint64_t r, uint64_t n)
{
	return (uint64_t)(((unsigned __int128)r * n) >> 64);
}

static inline void key_make(uint64_t id, char out[KEY_LEN + 1])
{
	static const char hex[] = "0123456789abcdef";
	uint64_t x = id * 0x9e3779b97f4a7c15ull; /* odd: a bijection */

	for (int i = KEY_LEN - 1; i >= 0; i--) {
		out[i] = hex[x & 15];
		x >>= 4;
	}
	out[KEY_LEN] = '\0';
}

static uint64_t seed_for(uint64_t seed, uint64_t a, uint64_t b, uint64_t c,
			 uint64_t d, uint64_t e, uint64_t f)
{
	uint64_t s = seed;
	uint64_t in[6] = {a, b, c, d, e, f};

	for (int i = 0; i < 6; i++) {
		s ^= in[i] + 0x632be59bd9b4e019ull;
		(void)ml_splitmix64(&s);
	}
	return s;
}

/* ---------------------------------------------------------------- values */

/* The value object: refs counts references (the map's and every caller's
 * from get); the last release frees it. */
struct bval {
	atomic_uint refs;
	uint32_t pad;
	uint64_t data;
};

static void bval_retain(void *val, void *ctx)
{
	struct bval *v = val;

	(void)ctx;
	/* relaxed: a new reference is made from one the caller already holds,
	 * so the object cannot be freed concurrently; nothing is published. */
	atomic_fetch_add_explicit(&v->refs, 1, memory_order_relaxed);
}

static void bval_release(void *val, void *ctx)
{
	struct bval *v = val;

	(void)ctx;
	/* acq_rel: every use of the object by other holders happens before
	 * the free by the last one (one lock xadd on x86 either way; a
	 * release + acquire fence would do, but TSan does not model fences). */
	if (atomic_fetch_sub_explicit(&v->refs, 1, memory_order_acq_rel) == 1)
		ml_free(v);
}

static const struct map_value_ops bval_ops = {bval_retain, bval_release,
					       NULL};

static struct bval *bval_new(uint64_t data)
{
	struct bval *v = ml_malloc(ML_TAG_VALUES, sizeof(*v));

	if (v) {
		atomic_init(&v->refs, 1);
		v->pad = 0;
		v->data = data;
	}
	return v;
}

/* --values plain: a fixed pool of values, set up by a child before its
 * first thread and never written after (data = index), so readers share
 * its lines read-only; the map's retain/release do nothing. */
#define PLAIN_POOL 4096u
static struct bval plain_pool[PLAIN_POOL];
static bool plain_values; /* set by child_map before any thread, then read */
/* --reads borrowed; set like plain_values. */
static bool borrowed_reads;

static void plain_noop(void *val, void *ctx)
{
	(void)val;
	(void)ctx;
}

static const struct map_value_ops plain_ops = {plain_noop, plain_noop, NULL};

static const struct map_value_ops *value_ops(void)
{
	return plain_values ? &plain_ops : &bval_ops;
}

/* A value to put: a new reference-counted one, or a pool value. */
static struct bval *value_new(uint64_t data)
{
	return plain_values ? &plain_pool[data % PLAIN_POOL] : bval_new(data);
}

/* Drops a reference the worker holds (a get's, or a failed put's). */
static void value_drop(struct bval *v)
{
	if (!plain_values)
		bval_release(v, NULL);
}

/* ------------------------------------------------------ impl dispatch */

static inline int im_get(const struct impl *im, void *h, const char *k,
			 void **v)
{
	return im->p ? im->p->get(h, k, KEY_LEN, v)
		     : map_get(h, k, KEY_LEN, v);
}

static inline int im_get_with(const struct impl *im, void *h, const char *k,
			      map_read_fn fn, void *arg)
{
	return im->p ? im->p->get_with(h, k, KEY_LEN, fn, arg)
		     : map_get_with(h, k, KEY_LEN, fn, arg);
}

/* --reads borrowed: what a retained get does with its value, lent. */
static void peek_value(void *val, void *arg)
{
	*(uint64_t *)arg ^= ((struct bval *)val)->data;
}

static inline int im_put(const struct impl *im, void *h, const char *k,
			 void *v)
{
	return im->p ? im->p->put(h, k, KEY_LEN, v)
		     : map_put(h, k, KEY_LEN, v);
}

static inline int im_del(const struct impl *im, void *h, const char *k)
{
	return im->p ? im->p->del(h, k, KEY_LEN) : map_delete(h, k, KEY_LEN);
}

static void im_enter(const struct impl *im, void *h)
{
	if (im->p)
		im->p->thread_enter(h);
	else
		map_thread_enter(h);
}

static void im_exit(const struct impl *im, void *h)
{
	if (im->p)
		im->p->thread_exit(h);
	else
		map_thread_exit(h);
}

static size_t im_len(const struct impl *im, void *h)
{
	return im->p ? im->p->len(h) : map_len(h);
}

/* Puts a fresh value under key id; 0, -ENOMEM or the map's error. */
static int put_new(const struct impl *im, void *h, uint64_t id, uint64_t data)
{
	char key[KEY_LEN + 1];
	struct bval *v = value_new(data);
	int rc;

	if (!v)
		return -ENOMEM;
	key_make(id, key);
	rc = im_put(im, h, key, v);
	if (rc)
		value_drop(v); /* on error the caller still owns it */
	return rc;
}

/* ------------------------------------------------------------ one run */

struct run {
	const struct impl *im;
	void *h;
	const struct mix *mix;
	uint64_t nkeys;
	unsigned nthr;
	uint64_t seed;
	bool borrowed;             /* gets are borrowed reads */
	uint64_t churn_base;       /* first churn id of this run */
	pthread_barrier_t start;   /* nthr workers + the timer */
	atomic_bool stop;          /* set once by the timer */
};

struct worker {
	struct run *r;
	unsigned idx;
	pthread_t tid;
	/* results, written by the worker before it exits, read after join */
	uint64_t ops, anomalies;
	uint64_t sink; /* xor of values read, so the reads are not elided */
	int err;
	double t0, t1;   /* wall clock, CLOCK_MONOTONIC */
	double cpu_s;    /* this thread's CPU time over [t0, t1] */
};

/* The churn mix's keys of one worker: the ids it inserted and has not
 * deleted yet, oldest first (a ring of CHURN_WINDOW). */
struct churn_ring {
	uint64_t id[CHURN_WINDOW];
	uint64_t next_id; /* the next new id to insert */
	unsigned head, count;
};

/* Inserts the next new id; 0 or the map's error. */
static int churn_insert(const struct impl *im, void *h, struct churn_ring *c,
			uint64_t data)
{
	int rc = put_new(im, h, c->next_id, data);

	if (rc == 0) {
		c->id[(c->head + c->count) % CHURN_WINDOW] = c->next_id;
		c->count++;
	}
	c->next_id++;
	return rc;
}

/* Deletes the oldest id; false when the map missed it (an anomaly). */
static bool churn_delete(const struct impl *im, void *h, struct churn_ring *c,
			 char key[KEY_LEN + 1])
{
	key_make(c->id[c->head], key);
	c->head = (c->head + 1) % CHURN_WINDOW;
	c->count--;
	return im_del(im, h, key) == 0;
}

/* What the timed loop reads of its run, copied into the worker's own
 * frame (locals: not reloaded after every map call). */
struct op_ctx {
	const struct impl *im;
	void *h;
	uint64_t nkeys;
	bool borrowed;
};

/* One operation of an rNN/wNN mix, or a churn get: a get (retained or
 * borrowed) or an overwrite of key id x mod nkeys.  0, or the error that
 * stops the worker; *anomalies counts gets of present keys that missed. */
static inline int rw_op(const struct op_ctx *oc, uint64_t x, bool get,
			char key[KEY_LEN + 1], uint64_t *sink,
			uint64_t *anomalies)
{
	const struct impl *im = oc->im;
	struct bval *nv;
	void *v;
	int rc;

	key_make(bounded(x, oc->nkeys), key);
	if (get && oc->borrowed) {
		if (im_get_with(im, oc->h, key, peek_value, sink) != 0)
			(*anomalies)++;
	} else if (get) {
		if (im_get(im, oc->h, key, &v) == 0) {
			*sink ^= ((struct bval *)v)->data; /* use it, drop it */
			value_drop(v);
		} else {
			(*anomalies)++;
		}
	} else {
		nv = value_new(x);
		if (!nv)
			return -ENOMEM;
		rc = im_put(im, oc->h, key, nv);
		if (rc) {
			value_drop(nv);
			return rc;
		}
	}
	return 0;
}

/* The timed loop until the stop flag; the error that stopped it, or 0.
 * Churn: even operations get, odd ones delete the oldest of this thread's
 * keys (every other odd one, or when the ring is full) or insert. */
static int worker_loop(struct worker *w, struct churn_ring *c,
		       uint64_t *sink)
{
	const struct run *r = w->r;
	const struct op_ctx oc = {r->im, r->h, r->nkeys, r->borrowed};
	const bool churn = r->mix->kind == MIX_CHURN;
	const uint32_t thr = (uint32_t)(r->mix->read_pct * 65536u / 100u);
	uint64_t rng = seed_for(r->seed, w->idx, 0, 0, 0, 0, 1);
	uint64_t ops = 0, anomalies = 0;
	char key[KEY_LEN + 1];
	int err = 0;

	/* relaxed: the flag only has to be seen eventually; it publishes no
	 * data (the counters are published by pthread_join). */
	while (!atomic_load_explicit(&r->stop, memory_order_relaxed)) {
		uint64_t x = ml_splitmix64(&rng);

		if (!churn || !(ops & 1))
			err = rw_op(&oc, x,
				    churn || (uint32_t)(x & 0xffff) < thr, key,
				    sink, &anomalies);
		else if (((ops & 3) == 1 && c->count > 0) ||
			 c->count == CHURN_WINDOW)
			anomalies += !churn_delete(oc.im, oc.h, c, key);
		else
			err = churn_insert(oc.im, oc.h, c, x);
		if (err)
			break;
		ops++;
	}
	w->ops = ops;
	w->anomalies += anomalies;
	return err;
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct run *r = w->r;
	struct churn_ring c = {.next_id = r->churn_base + ((uint64_t)w->idx
							   << 32)};
	char key[KEY_LEN + 1];
	uint64_t sink = 0;
	int err = 0;

	im_enter(r->im, r->h);
	/* churn: this thread's first CHURN_WINDOW keys, untimed */
	while (r->mix->kind == MIX_CHURN && c.count < CHURN_WINDOW && !err)
		err = churn_insert(r->im, r->h, &c, c.count);
	pthread_barrier_wait(&r->start);
	w->t0 = now_s();
	w->cpu_s = clock_s(CLOCK_THREAD_CPUTIME_ID);
	if (!err) {
		err = worker_loop(w, &c, &sink);
		w->t1 = now_s();
		w->cpu_s = clock_s(CLOCK_THREAD_CPUTIME_ID) - w->cpu_s;
	}
	/* untimed: leave the map as the prefill left it */
	while (c.count > 0)
		w->anomalies += !churn_delete(r->im, r->h, &c, key);
	im_exit(r->im, r->h);
	w->sink = sink;
	w->err = err;
	if (err)
		w->t1 = w->t0;
	return NULL;
}

/* Runs one measurement; 0 and *ops_s, or -errno. */
static int run_once(const struct impl *im, void *h, const struct mix *mix,
		    uint64_t nkeys, unsigned nthr, double seconds,
		    uint64_t seed, uint64_t churn_base, double *ops_s,
		    double *cpu_ops_s, double *cpu_share, uint64_t *anomalies)
{
	struct worker w[MAX_THREAD_N];
	struct run r = {
		.im = im, .h = h, .mix = mix, .nkeys = nkeys, .nthr = nthr,
		.seed = seed, .churn_base = churn_base,
		.borrowed = borrowed_reads,
	};
	double t0 = 0, t1 = 0, cpu = 0;
	unsigned ncpu = (unsigned)sysconf(_SC_NPROCESSORS_ONLN);
	uint64_t ops = 0;
	int err = 0;

	atomic_init(&r.stop, false);
	ML_CHECK_PTHREAD(pthread_barrier_init(&r.start, NULL, nthr + 1));
	for (unsigned i = 0; i < nthr; i++) {
		memset(&w[i], 0, sizeof(w[i]));
		w[i].r = &r;
		w[i].idx = i;
		ML_CHECK_PTHREAD(
			pthread_create(&w[i].tid, NULL, worker_main, &w[i]));
	}
	pthread_barrier_wait(&r.start);
	sleep_s(seconds);
	atomic_store_explicit(&r.stop, true, memory_order_release);
	for (unsigned i = 0; i < nthr; i++) {
		ML_CHECK_PTHREAD(pthread_join(w[i].tid, NULL));
		if (w[i].err && !err)
			err = w[i].err;
		ops += w[i].ops;
		cpu += w[i].cpu_s;
		*anomalies += w[i].anomalies;
		if (i == 0 || w[i].t0 < t0)
			t0 = w[i].t0;
		if (i == 0 || w[i].t1 > t1)
			t1 = w[i].t1;
	}
	ML_CHECK_PTHREAD(pthread_barrier_destroy(&r.start));
	if (err)
		return err;
	if (t1 <= t0)
		return -EIO;
	*ops_s = (double)ops / (t1 - t0);
	*cpu_ops_s = cpu > 0 ? (double)ops / cpu : NAN;
	/* of the CPU the workers could have had: min(threads, cores) */
	*cpu_share = cpu / ((t1 - t0) * (nthr < ncpu ? nthr : ncpu));
	return 0;
}

/* --------------------------------------------- open / prefill / close */

struct life {
	const struct impl *im;
	const struct opts *o;
	uint64_t nkeys;
	void *h;      /* the open map */
	int rc;
	size_t len;
	uint64_t buckets; /* variants: map_stats().buckets */
};

static void *prefill_main(void *arg)
{
	struct life *l = arg;
	const struct impl *im = l->im;
	struct map_config cfg = {.vops = value_ops(), .seed = l->o->seed,
				 .capacity_hint = l->nkeys};

	if (im->p)
		l->rc = im->p->open(value_ops(), l->nkeys, &l->h);
	else
		l->rc = map_open(im->name, &cfg, (struct map **)&l->h);
	if (l->rc)
		return NULL;
	im_enter(im, l->h);
	for (uint64_t i = 0; i < l->nkeys && !l->rc; i++)
		l->rc = put_new(im, l->h, i, i);
	l->len = im_len(im, l->h);
	if (!im->p) {
		struct map_stats st;

		map_stats(l->h, &st);
		l->buckets = st.buckets;
	}
	im_exit(im, l->h);
	return NULL;
}

static void *close_main(void *arg)
{
	struct life *l = arg;
	const struct impl *im = l->im;

	im_enter(im, l->h);
	l->len = im_len(im, l->h);
	if (!im->p) {
		struct map_stats st;

		map_stats(l->h, &st);
		l->buckets = st.buckets;
	}
	im_exit(im, l->h);
	if (im->p)
		im->p->close(l->h);
	else
		map_close(l->h);
	l->h = NULL;
	return NULL;
}

static void in_thread(void *(*fn)(void *), struct life *l)
{
	pthread_t t;

	ML_CHECK_PTHREAD(pthread_create(&t, NULL, fn, l));
	ML_CHECK_PTHREAD(pthread_join(t, NULL));
}

static uint64_t heap_in_use(void)
{
	struct mallinfo2 mi = mallinfo2();

	return mi.uordblks + mi.hblkhd;
}

/* -------------------------------------------------------- the child */

static size_t cell_index(const struct opts *o, size_t mi, size_t ki,
			 size_t ii, size_t ti)
{
	return ((mi * o->nkeys + ki) * o->nimpl + ii) * o->nthreads + ti;
}

static size_t pinfo_index(const struct opts *o, size_t mi, size_t ki,
			  size_t ii)
{
	return (mi * o->nkeys + ki) * o->nimpl + ii;
}

static double group_budget_s(const struct opts *o, uint64_t nkeys)
{
	double runs = 0;

	for (size_t t = 0; t < o->nthreads; t++)
		for (size_t i = 0; i < o->nimpl; i++)
			if (o->threads[t] == 1 || o->impl[i].threadsafe)
				runs += 1;
	/* passes (thread start-up included), plus prefill and close at a
	 * pessimistic 20 us per key per map: a loaded 2-core machine gives a
	 * worker a seventh of a CPU, and this is a hang guard, not a budget */
	return runs * (o->reps + 1) * (o->seconds + 0.05) +
	       (double)o->nimpl * (double)nkeys * 20e-6;
}

/* Commands from the parent to a map's child (one byte back per command). */
enum { CMD_RUN = 1, CMD_CLOSE = 2 };

struct cmd {
	int op;
	unsigned ti;   /* CMD_RUN: index into o->threads */
	unsigned pass; /* CMD_RUN: 0 = warm-up */
};

/* Moves all len bytes through fd (a short read or write is continued);
 * false at end of file or on an error. */
static bool xio(int fd, void *buf, size_t len, bool out)
{
	char *p = buf;

	while (len > 0) {
		ssize_t n = out ? write(fd, p, len) : read(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		p += n;
		len -= (size_t)n;
	}
	return true;
}

static bool xread(int fd, void *buf, size_t len)
{
	return xio(fd, buf, len, false);
}

static bool xwrite(int fd, const void *buf, size_t len)
{
	return xio(fd, (void *)buf, len, true);
}

/* The child's prefill (in a thread made for it) and what it says about
 * memory into pi; false when it failed (pi->status and pi->err say why). */
static bool child_prefill(struct life *life, struct pinfo *pi,
			  struct ml_alloc_snapshot *a)
{
	struct ml_alloc_snapshot b;
	uint64_t h0, h1;
	double t0;

	ml_alloc_snapshot(a);
	h0 = heap_in_use();
	t0 = now_s();
	in_thread(prefill_main, life);
	pi->prefill_s = now_s() - t0;
	pi->buckets_prefill = life->buckets;
	ml_alloc_snapshot(&b);
	h1 = heap_in_use();
	if (life->rc == 0 && life->len != life->nkeys)
		life->rc = -EBADMSG;
	if (life->rc) {
		pi->status = life->rc;
		snprintf(pi->err, sizeof(pi->err),
			 "prefill failed: %s (len %zu of %llu)",
			 strerror(-life->rc), life->len,
			 (unsigned long long)life->nkeys);
		return false;
	}
	pi->bytes_per_entry =
		(double)((b.live_total - b.live[ML_TAG_VALUES]) -
			 (a->live_total - a->live[ML_TAG_VALUES])) /
		(double)life->nkeys;
	pi->heap_bytes_per_entry =
		((double)h1 - (double)h0) / (double)life->nkeys;
	return true;
}

/* CMD_RUN: one pass of map i at o->threads[c->ti] into its cell. */
static void child_run(const struct opts *o, struct shared *sh, size_t mi,
		      size_t ki, size_t i, const struct cmd *c,
		      const struct life *life, uint64_t churn_base)
{
	unsigned nthr = o->threads[c->ti];
	struct cell *cl = &sh->cell[cell_index(o, mi, ki, i, c->ti)];
	double ops_s = 0, cpu_ops_s = 0, share = 0;
	uint64_t anom = 0;
	int rc = run_once(&o->impl[i], life->h, &o->mix[mi], life->nkeys, nthr,
			  o->seconds,
			  seed_for(o->seed, mi, ki, i, nthr, c->pass, 0),
			  churn_base, &ops_s, &cpu_ops_s, &share, &anom);

	cl->anomalies += anom;
	if (rc)
		cl->status = rc;
	else if (c->pass > 0 && cl->nrep < MAX_REPS) {
		cl->ops_s[cl->nrep] = ops_s;
		cl->cpu_ops_s[cl->nrep] = cpu_ops_s;
		cl->share[cl->nrep++] = share;
	}
}

/* CMD_CLOSE: closes the map and books what is left in the allocator
 * against the snapshot a taken before the open. */
static void child_close(struct life *life, struct pinfo *pi, struct ginfo *gi,
			const struct ml_alloc_snapshot *a)
{
	struct ml_alloc_snapshot b;
	uint64_t nkeys = life->nkeys;

	in_thread(close_main, life);
	pi->len_after = life->len;
	pi->buckets_close = life->buckets;
	if (life->len != nkeys && pi->status == 0) {
		pi->status = -EBADMSG;
		snprintf(pi->err, sizeof(pi->err),
			 "map holds %zu entries after the runs, expected %llu",
			 life->len, (unsigned long long)nkeys);
	}
	/* every value and node must be back */
	ml_alloc_snapshot(&b);
	for (int t = 0; t < ML_TAG_COUNT; t++)
		gi->leaked[t] = (int64_t)(b.live[t] - a->live[t]);
	gi->done = true;
}

/*
 * The child that owns map i of group (mi, ki): its own heap and counting
 * allocator, so maps never share malloc state or allocator stripes.  It
 * prefills, reports ready, then runs what the parent asks, one command at
 * a time, and finally closes the map and checks the allocator is back
 * where it started.  Exits without returning.
 */
static void child_map(const struct opts *o, struct shared *sh, size_t mi,
		      size_t ki, size_t i, int cmdfd, int resfd)
{
	size_t pidx = pinfo_index(o, mi, ki, i);
	struct pinfo *pi = &sh->pinfo[pidx];
	struct life life = {.im = &o->impl[i], .o = o, .nkeys = o->keys[ki]};
	struct ml_alloc_snapshot a;
	uint64_t run_seq = 1;
	char ok = 1;
	struct cmd c;

	plain_values = o->plain; /* before any thread of this child */
	borrowed_reads = o->borrowed;
	for (unsigned v = 0; v < PLAIN_POOL; v++)
		plain_pool[v] = (struct bval){.data = v};
	ml_alloc_set_budget(o->budget);
	if (!child_prefill(&life, pi, &a))
		_exit(0); /* the parent reads EOF: this map is out */
	if (!xwrite(resfd, &ok, 1))
		_exit(1);
	while (xread(cmdfd, &c, sizeof(c))) {
		if (c.op == CMD_RUN) {
			child_run(o, sh, mi, ki, i, &c, &life,
				  life.nkeys + (run_seq++ << 40));
		} else if (c.op == CMD_CLOSE) {
			child_close(&life, pi, &sh->ginfo[pidx], &a);
			xwrite(resfd, &ok, 1);
			_exit(0);
		}
		if (!xwrite(resfd, &ok, 1))
			_exit(1);
	}
	_exit(0);
}

/* ------------------------------------------------------- options */

/* Bad input: one line on stderr; returns the exit code, 2. */
__attribute__((format(printf, 1, 2))) static int bad(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "maplab bench: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "; try maplab bench --help\n");
	va_end(ap);
	return 2;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: maplab bench [--quick] [--mix r99,r90,w50,churn] "
		"[--keys 10000,1000000]\n"
		"                    [--threads 1,2,4,8] [--reps 5] "
		"[--seconds 0.3] [--seed 1]\n"
		"                    [--variant NAME,...] [--budget 4G] "
		"[--out DIR]\n"
		"                    [--values refcounted|plain] "
		"[--reads retained|borrowed]\n"
		"                    [--callgrind]\n\n"
		"Every registered variant (one thread only when not "
		"thread-safe) and the peers\n"
		"glib (GHashTable + pthread_mutex_t), lfht (raw liburcu "
		"cds_lfht) and ck (raw ck_hs,\n"
		"SPMC + ck_epoch, writers behind a mutex), on each\n"
		"mix x key count x thread count: a warm-up pass, then --reps "
		"measured passes of\n"
		"--seconds each.  Mixes: rNN (NN%% gets, the rest overwrites), "
		"wNN (NN%% overwrites),\n"
		"churn (50%% gets, 25%% inserts of new keys, 25%% deletes).  "
		"Values: refcounted\n"
		"(default: a get retains, a put allocates) or plain (a fixed "
		"pool, no refcount).\n"
		"Reads: retained (default: map_get, the worker releases) or "
		"borrowed (map_get_with:\n"
		"the value is read inside the map's read guard, no "
		"retain/release).\n"
		"--callgrind: afterwards, each map's get, get_with and put "
		"under valgrind's callgrind\n"
		"(100,000 ops, one thread): instructions and last-level "
		"misses per op in bench.json.\n"
		"--quick: keys 10000, threads 1,2, reps 2, 0.05 s (explicit "
		"options win).  Writes\n"
		"manifest.json, bench.json and data/bench.<mix>.<keys>.dat "
		"into --out DIR (a new or\n"
		"empty folder; default results/<date>-<time>-bench, then "
		"results/latest\n"
		"points to it).\n");
}

static int parse_mix(const char *s, struct mix *m)
{
	uint64_t pct;

	memset(m, 0, sizeof(*m));
	if (strlen(s) >= sizeof(m->name))
		return -EINVAL;
	strcpy(m->name, s);
	if (!strcmp(s, "churn")) {
		m->kind = MIX_CHURN;
		m->read_pct = 50;
		return 0;
	}
	if ((s[0] != 'r' && s[0] != 'w') || cli_parse_u64(s + 1, 0, 100, &pct))
		return -EINVAL;
	m->kind = MIX_RW;
	m->read_pct = (unsigned)(s[0] == 'r' ? pct : 100 - pct);
	return 0;
}

static int parse_keys(const char *s, uint64_t *out)
{
	char *end;
	double v;

	if (cli_parse_u64(s, 1, 100000000, out) == 0)
		return 0;
	/* 1e4, 1e6 */
	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || *end || !(v >= 1 && v <= 1e8) ||
	    v != floor(v) || !strchr(s, 'e'))
		return -EINVAL;
	*out = (uint64_t)v;
	return 0;
}

static bool impl_named(const struct opts *o, const char *name)
{
	for (size_t i = 0; i < o->nimpl; i++)
		if (!strcmp(o->impl[i].name, name))
			return true;
	return false;
}

static int add_impl(struct opts *o, const char *name)
{
	const struct map_variant *v = map_variant_find(name);
	struct impl *im;

	if (o->nimpl == MAX_IMPLS || impl_named(o, name))
		return -EINVAL;
	im = &o->impl[o->nimpl];
	if (v) {
		im->name = v->name;
		im->description = v->description;
		im->threadsafe = v->flags & MAP_V_THREADSAFE;
		im->v = v;
		im->p = NULL;
		o->nimpl++;
		return 0;
	}
	for (size_t i = 0; i < sizeof(peers) / sizeof(peers[0]); i++) {
		if (strcmp(peers[i]->name, name))
			continue;
		im->name = peers[i]->name;
		im->description = peers[i]->description;
		im->threadsafe = true;
		im->v = NULL;
		im->p = peers[i];
		o->nimpl++;
		return 0;
	}
	return -ENOENT;
}

/* Splits a comma list in place into at most max items. */
static int split(char *s, char **items, size_t max, size_t *n)
{
	*n = 0;
	for (char *tok = strtok(s, ","); tok; tok = strtok(NULL, ",")) {
		if (*n == max)
			return -E2BIG;
		items[(*n)++] = tok;
	}
	return *n ? 0 : -EINVAL;
}

/* The options that take a value, in the order of their slot in raw[]. */
enum opt_slot {
	OPT_MIX, OPT_KEYS, OPT_THREADS, OPT_REPS, OPT_SECONDS, OPT_VARIANT,
	OPT_SEED, OPT_BUDGET, OPT_OUT, OPT_VALUES, OPT_READS, OPT_NSLOTS
};

static const char *const opt_names[OPT_NSLOTS] = {
	"--mix", "--keys", "--threads", "--reps", "--seconds", "--variant",
	"--seed", "--budget", "--out", "--values", "--reads"};

/* argv into the flags of o and the raw value of every option given
 * (--name VALUE or --name=VALUE); 0, 1 after --help, or 2 (said why). */
static int scan_args(int argc, char **argv, struct opts *o,
		     const char *raw[OPT_NSLOTS])
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *name = a, *val = NULL, *eq;
		char nbuf[32];
		size_t k;

		if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			usage(stdout);
			return 1;
		}
		if (!strcmp(a, "--quick")) {
			o->quick = true;
			continue;
		}
		if (!strcmp(a, "--callgrind")) {
			o->callgrind = true;
			continue;
		}
		eq = strchr(a, '=');
		if (eq && (size_t)(eq - a) < sizeof(nbuf)) {
			memcpy(nbuf, a, (size_t)(eq - a));
			nbuf[eq - a] = '\0';
			name = nbuf;
			val = eq + 1;
		}
		for (k = 0; k < OPT_NSLOTS && strcmp(opt_names[k], name); k++)
			;
		if (k == OPT_NSLOTS)
			return bad("unknown option '%s'", a);
		if (!val) {
			if (i + 1 >= argc)
				return bad("option '%s' needs a value", a);
			val = argv[++i];
		}
		raw[k] = val;
	}
	return 0;
}

/* --out, --values, --reads and what --callgrind needs; 0 or 2. */
static int parse_modes(struct opts *o, const char *const raw[OPT_NSLOTS])
{
	const char *values = raw[OPT_VALUES], *reads = raw[OPT_READS];

	o->out = raw[OPT_OUT];
	if (o->out && !*o->out)
		return bad("--out needs a folder%s", "");
	if (values && !strcmp(values, "plain"))
		o->plain = true;
	else if (values && strcmp(values, "refcounted"))
		return bad("--values takes refcounted or plain, not '%s'",
			   values);
	if (o->callgrind && getenv("MAPLAB_CG_CHILD"))
		return bad("--callgrind inside a callgrind child%s", "");
	if (o->callgrind &&
	    system("command -v valgrind >/dev/null 2>&1") != 0)
		return bad("--callgrind needs valgrind on PATH (%s installs "
			   "it)", "./run.sh bench --callgrind");
	if (reads && !strcmp(reads, "borrowed"))
		o->borrowed = true;
	else if (reads && strcmp(reads, "retained"))
		return bad("--reads takes retained or borrowed, not '%s'",
			   reads);
	return 0;
}

/* A comma list copied into buf and split into items; 0, or 2 when it is
 * too long for buf, has more than max items or none (more: what it takes). */
static int take_list(const char *what, const char *list, size_t max,
		     const char *more, char buf[1024], char **items, size_t *n)
{
	if (strlen(list) >= 1024)
		return bad("%s list too long: '%s'", what, list);
	strcpy(buf, list);
	if (split(buf, items, max, n))
		return bad("%s takes %s, not '%s'", what, more, list);
	return 0;
}

/* --mix, --keys and --threads (defaults by --quick); 0 or 2. */
static int parse_lists(struct opts *o, const char *const raw[OPT_NSLOTS])
{
	const char *mix = raw[OPT_MIX], *keys = raw[OPT_KEYS];
	const char *thr = raw[OPT_THREADS];
	char buf[1024], *items[MAX_IMPLS + 1];
	uint64_t u;

	if (!mix)
		mix = "r99,r90,w50,churn";
	if (!keys)
		keys = o->quick ? "10000" : "10000,1000000";
	if (!thr)
		thr = o->quick ? "1,2" : "1,2,4,8";
	if (take_list("--mix", mix, MAX_MIXES, "up to 8 of rNN,wNN,churn",
		      buf, items, &o->nmix))
		return 2;
	for (size_t i = 0; i < o->nmix; i++) {
		if (parse_mix(items[i], &o->mix[i]))
			return bad("unknown mix '%s' (rNN, wNN with NN 0..100, "
				   "or churn)", items[i]);
		for (size_t j = 0; j < i; j++)
			if (!strcmp(o->mix[j].name, o->mix[i].name))
				return bad("mix '%s' given twice", items[i]);
	}
	if (take_list("--keys", keys, MAX_KEYS, "up to 8 counts", buf, items,
		      &o->nkeys))
		return 2;
	for (size_t i = 0; i < o->nkeys; i++)
		if (parse_keys(items[i], &o->keys[i]))
			return bad("bad key count '%s' (1..100000000, e.g. "
				   "10000 or 1e6)", items[i]);
	if (take_list("--threads", thr, MAX_THREADS, "up to 16 counts", buf,
		      items, &o->nthreads))
		return 2;
	for (size_t i = 0; i < o->nthreads; i++) {
		if (cli_parse_u64(items[i], 1, MAX_THREAD_N, &u))
			return bad("bad thread count '%s' (1..256)", items[i]);
		o->threads[i] = (unsigned)u;
	}
	return 0;
}

/* --reps, --seconds, --seed, --budget (defaults by --quick); 0 or 2. */
static int parse_numbers(struct opts *o, const char *const raw[OPT_NSLOTS])
{
	const char *reps = raw[OPT_REPS], *sec = raw[OPT_SECONDS];
	const char *seed = raw[OPT_SEED], *bud = raw[OPT_BUDGET];
	uint64_t u;

	o->reps = o->quick ? 2 : 5;
	if (reps) {
		if (cli_parse_u64(reps, 1, MAX_REPS, &u))
			return bad("bad --reps '%s' (1..100)", reps);
		o->reps = (unsigned)u;
	}
	o->seconds = o->quick ? 0.05 : 0.3;
	if (sec && (cli_parse_duration(sec, &o->seconds) ||
		    o->seconds < 0.001 || o->seconds > 600))
		return bad("bad --seconds '%s' (0.001..600, e.g. 0.5 or "
			   "200ms)", sec);
	o->seed = 1;
	if (seed && cli_parse_u64(seed, 0, UINT64_MAX, &o->seed))
		return bad("bad --seed '%s' (a whole number)", seed);
	o->budget = DEFAULT_BUDGET;
	if (bud && (cli_parse_size(bud, &o->budget) ||
		    o->budget < (16ull << 20)))
		return bad("bad --budget '%s' (a size of at least 16M, e.g. "
			   "4G)", bud);
	return 0;
}

/* --variant, or every registered non-exercise variant and every peer. */
static int parse_impls(struct opts *o, const char *list)
{
	char buf[1024], *items[MAX_IMPLS + 1];
	size_t n;

	if (!list) {
		for (size_t i = 0; i < map_variant_count(); i++) {
			const struct map_variant *v = map_variant_at(i);

			if (!(v->flags & MAP_V_EXERCISE))
				add_impl(o, v->name);
		}
		for (size_t i = 0; i < sizeof(peers) / sizeof(peers[0]); i++)
			add_impl(o, peers[i]->name);
		return 0;
	}
	if (take_list("--variant", list, MAX_IMPLS, "a comma list of names",
		      buf, items, &n))
		return 2;
	for (size_t i = 0; i < n; i++) {
		int rc = add_impl(o, items[i]);

		if (rc == -ENOENT)
			return bad("unknown variant or peer '%s' (see maplab "
				   "list; peers: glib, lfht, ck)", items[i]);
		if (rc)
			return bad("variant '%s' given twice", items[i]);
	}
	return 0;
}

/* argv into o; 0, 1 after --help, or 2 when bad (one line said why). */
static int parse_opts(int argc, char **argv, struct opts *o)
{
	const char *raw[OPT_NSLOTS] = {0};
	int rc;

	memset(o, 0, sizeof(*o));
	if ((rc = scan_args(argc, argv, o, raw)) ||
	    (rc = parse_modes(o, raw)) || (rc = parse_lists(o, raw)) ||
	    (rc = parse_numbers(o, raw)))
		return rc;
	return parse_impls(o, raw[OPT_VARIANT]);
}

/* ------------------------------------------------------- output */

/* Writes j to path atomically (temp file + rename).  0 or -errno. */
static json_t *jnum(double v)
{
	return results_num(v);
}

static json_t *loadavg(void)
{
	double l[3];

	if (getloadavg(l, 3) != 3)
		return json_null();
	return json_pack("[fff]", l[0], l[1], l[2]);
}

static const char *values_name(const struct opts *o)
{
	return o->plain ? "plain" : "refcounted";
}

static const char *reads_name(const struct opts *o)
{
	return o->borrowed ? "borrowed" : "retained";
}

/* What results_manifest_base() does not know: caps, preset, seeds, params. */
/* The key counts and thread counts measured, as JSON arrays (the
 * manifest's params and bench.json both carry them). */
static json_t *keys_json(const struct opts *o)
{
	json_t *arr = json_array();

	for (size_t i = 0; i < o->nkeys; i++)
		json_array_append_new(arr, json_integer((json_int_t)o->keys[i]));
	return arr;
}

static json_t *threads_json(const struct opts *o)
{
	json_t *arr = json_array();

	for (size_t i = 0; i < o->nthreads; i++)
		json_array_append_new(arr, json_integer(o->threads[i]));
	return arr;
}

static void manifest_add(json_t *m, const struct opts *o, double timeout_s)
{
	json_t *params = json_pack("{s:i,s:f,s:i,s:I,s:i,s:i,s:s,s:s}", "reps",
				   (int)o->reps, "seconds", o->seconds,
				   "warmup_passes", 1, "budget_bytes",
				   (json_int_t)o->budget, "key_bytes", KEY_LEN,
				   "churn_window", CHURN_WINDOW, "values",
				   values_name(o), "reads", reads_name(o));
	json_t *arr = json_array();

	for (size_t i = 0; i < o->nmix; i++)
		json_array_append_new(arr, json_string(o->mix[i].name));
	json_object_set_new(params, "mixes", arr);
	json_object_set_new(params, "keys", keys_json(o));
	json_object_set_new(params, "threads", threads_json(o));
	arr = json_array();
	for (size_t i = 0; i < o->nimpl; i++)
		json_array_append_new(arr, json_string(o->impl[i].name));
	json_object_set_new(params, "impls", arr);
	json_object_set_new(m, "caps",
			    json_pack("{s:I,s:f}", "mem_cap_bytes",
				      (json_int_t)o->budget, "timeout_s",
				      timeout_s));
	json_object_set_new(m, "preset",
			    json_string(o->quick ? "quick" : "full"));
	json_object_set_new(m, "seeds", json_pack("[I]", (json_int_t)o->seed));
	json_object_set_new(m, "params", params);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double median_arr(const struct cell *c, const double *arr,
			 double *min, double *max)
{
	double v[MAX_REPS];

	*min = *max = NAN;
	if (c->status != 0 || c->nrep == 0)
		return NAN;
	memcpy(v, arr, c->nrep * sizeof(double));
	qsort(v, c->nrep, sizeof(double), cmp_double);
	*min = v[0];
	*max = v[c->nrep - 1];
	return c->nrep % 2 ? v[c->nrep / 2]
			   : (v[c->nrep / 2 - 1] + v[c->nrep / 2]) / 2;
}

/* Median (with min and max) of a point's ops/s; NaN when not measured. */
static double median_of(const struct cell *c, double *min, double *max)
{
	return median_arr(c, c->ops_s, min, max);
}

static ssize_t impl_index(const struct opts *o, const char *name)
{
	for (size_t i = 0; i < o->nimpl; i++)
		if (!strcmp(o->impl[i].name, name))
			return (ssize_t)i;
	return -1;
}

/* A point's status word for JSON and the table. */
static const char *cell_status(const struct cell *c, const struct pinfo *pi)
{
	if (c->status == 1)
		return "skipped";
	if (c->status < 0 || pi->status < 0 || c->anomalies)
		return "error";
	return c->nrep ? "ok" : "error";
}

/* The run's models, grid, implementations, parameters and load. */
static void bench_header(json_t *b, const struct opts *o, const char *run_id,
			 json_t *load_before, json_t *load_after)
{
	json_t *arr;

	json_object_set_new(b, "schema_version",
			    json_integer(BENCH_SCHEMA_VERSION));
	json_object_set_new(b, "run_id", json_string(run_id));
	json_object_set_new(b, "kind", json_string("bench"));
	json_object_set_new(
		b, "value_model",
		json_string(o->plain
				    ? "values are plain (--values plain): a "
				      "fixed pool of 4096 16-byte objects made "
				      "before the run; retain and release do "
				      "nothing and a put stores a pool value, "
				      "so figures are the maps alone"
				    : "values are 16-byte reference-counted "
				      "objects (atomic refcount) from the "
				      "counting allocator: get retains and the "
				      "caller releases, put allocates a new "
				      "value, overwrite and delete release the "
				      "old one; figures include these costs"));
	json_object_set_new(
		b, "read_model",
		json_string(o->borrowed
				    ? "reads are borrowed (--reads borrowed): "
				      "a get is map_get_with (peers: their "
				      "get_with), the value is read inside the "
				      "map's read guard, no retain or release"
				    : "reads are retained: a get is map_get, "
				      "which retains the value, and the worker "
				      "reads and releases it"));
	json_object_set_new(b, "key_model",
			    json_string("16-byte hex keys, uniform over the "
					"prefilled ids, splitmix64 stream per "
					"thread"));
	arr = json_array();
	for (size_t i = 0; i < o->nmix; i++)
		json_array_append_new(
			arr, json_pack("{s:s,s:s,s:i}", "name", o->mix[i].name,
				       "kind",
				       o->mix[i].kind == MIX_CHURN ? "churn"
								   : "rw",
				       "reads_pct", (int)o->mix[i].read_pct));
	json_object_set_new(b, "mixes", arr);
	json_object_set_new(b, "keys", keys_json(o));
	json_object_set_new(b, "threads", threads_json(o));
	arr = json_array();
	for (size_t i = 0; i < o->nimpl; i++)
		json_array_append_new(
			arr, json_pack("{s:s,s:s,s:s,s:b}", "name",
				       o->impl[i].name, "kind",
				       o->impl[i].p ? "peer" : "variant",
				       "description", o->impl[i].description,
				       "threadsafe", o->impl[i].threadsafe));
	json_object_set_new(b, "impls", arr);
	json_object_set_new(b, "params",
			    json_pack("{s:i,s:i,s:f,s:I,s:I,s:i,s:i,s:s,s:s}",
				      "reps", (int)o->reps, "warmup_passes", 1,
				      "seconds", o->seconds, "seed",
				      (json_int_t)o->seed, "budget_bytes",
				      (json_int_t)o->budget, "key_bytes",
				      KEY_LEN, "churn_window", CHURN_WINDOW,
				      "values", values_name(o), "reads",
				      reads_name(o)));
	json_object_set_new(b, "load", json_pack("{s:o,s:o}", "before",
						   load_before, "after",
						   load_after));
}

/* One implementation's memory figures at one mix and key count. */
static json_t *memory_json(const struct opts *o, const struct shared *sh,
			   size_t mi, size_t ki, size_t ii)
{
	const struct pinfo *pi = &sh->pinfo[pinfo_index(o, mi, ki, ii)];

	return json_pack("{s:s,s:I,s:s,s:o,s:o,s:o,s:I,s:I,s:s?}",
			  "mix", o->mix[mi].name, "keys",
			  (json_int_t)o->keys[ki], "impl",
			  o->impl[ii].name,
			  "bytes_per_entry",
			  pi->status ? json_null()
				     : jnum(pi->bytes_per_entry),
			  "heap_bytes_per_entry",
			  pi->status ? json_null()
				     : jnum(pi->heap_bytes_per_entry),
			  "prefill_s", jnum(pi->prefill_s),
			  "buckets_after_prefill",
			  (json_int_t)pi->buckets_prefill,
			  "buckets_at_close",
			  (json_int_t)pi->buckets_close,
			  "error",
			  pi->err[0] ? pi->err : NULL);
}

/* One point: a mix, key count, implementation and thread count. */
static json_t *point_json(const struct opts *o, const struct shared *sh,
			  size_t mi, size_t ki, size_t ii, size_t ti,
			  ssize_t mutex, int *errors)
{
	const struct cell *c = &sh->cell[cell_index(
		o, mi, ki, ii, ti)];
	const struct pinfo *pi =
		&sh->pinfo[pinfo_index(o, mi, ki, ii)];
	const char *st = cell_status(c, pi);
	double mn, mx, med = median_of(c, &mn, &mx);
	double mref = NAN, a, z;
	json_t *reps = json_array(), *p;
	char err[200] = "";

	if (mutex >= 0)
		mref = median_of(
			&sh->cell[cell_index(
				o, mi, ki,
				(size_t)mutex, ti)],
			&a, &z);
	for (unsigned r = 0; r < c->nrep; r++)
		json_array_append_new(
			reps, json_real(c->ops_s[r]));
	if (!strcmp(st, "error")) {
		(*errors)++;
		if (pi->err[0])
			snprintf(err, sizeof(err),
				 "%s", pi->err);
		else if (c->status < 0)
			snprintf(err, sizeof(err),
				 "run failed: %s",
				 strerror(-c->status));
		else if (c->anomalies)
			snprintf(err, sizeof(err),
				 "%llu gets or deletes "
				 "of present keys missed",
				 (unsigned long long)
					 c->anomalies);
		else
			snprintf(err, sizeof(err),
				 "no measurement");
	}
	p = json_pack(
		"{s:s,s:I,s:s,s:i,s:s,s:o,s:o,s:o,s:o,s:o,s:o,s:I}",
		"mix", o->mix[mi].name, "keys",
		(json_int_t)o->keys[ki], "impl",
		o->impl[ii].name, "threads",
		(int)o->threads[ti], "status", st,
		"median_ops_s", jnum(med),
		"min_ops_s", jnum(mn), "max_ops_s",
		jnum(mx), "ratio_to_mutex",
		jnum(med / mref), "reps_ops_s", reps,
		"bytes_per_entry",
		pi->status ? json_null()
			   : jnum(pi->bytes_per_entry),
		"anomalies",
		(json_int_t)c->anomalies);
	json_object_set_new(
		p, "median_ops_per_cpu_s",
		jnum(median_arr(c, c->cpu_ops_s,
				&a, &z)));
	json_object_set_new(
		p, "cpu_share",
		jnum(median_arr(c, c->share, &a,
				&z)));
	json_object_set_new(
		p, "error",
		err[0] ? json_string(err)
		       : json_null());
	return p;
}

/* Per mix and key count: completed, and what leaked, by tag. */
static json_t *groups_json(const struct opts *o, const struct shared *sh,
			   int *errors)
{
	json_t *arr = json_array();

	for (size_t mi = 0; mi < o->nmix; mi++)
		for (size_t ki = 0; ki < o->nkeys; ki++) {
			json_t *tags = json_object();
			int64_t total = 0, bytag[ML_TAG_COUNT] = {0};
			bool done = true;

			for (size_t ii = 0; ii < o->nimpl; ii++) {
				const struct ginfo *gi =
					&sh->ginfo[pinfo_index(o, mi, ki, ii)];

				done = done && gi->done;
				for (int t = 0; t < ML_TAG_COUNT; t++)
					bytag[t] += gi->leaked[t];
			}
			for (int t = 0; t < ML_TAG_COUNT; t++) {
				if (!bytag[t])
					continue;
				json_object_set_new(tags, ml_tag_name(t),
						    json_integer(bytag[t]));
				total += bytag[t];
			}
			if (!done || total)
				(*errors)++;
			json_array_append_new(
				arr, json_pack("{s:s,s:I,s:b,s:I,s:o}", "mix",
					       o->mix[mi].name, "keys",
					       (json_int_t)o->keys[ki],
					       "completed", done,
					       "leaked_bytes", (json_int_t)total,
					       "leaked_by_tag", tags));
		}
	return arr;
}

static json_t *bench_json(const struct opts *o, const struct shared *sh,
			  const char *run_id, json_t *load_before,
			  json_t *load_after, int *errors)
{
	json_t *b = json_object(), *points = json_array();
	json_t *memory = json_array();
	ssize_t mutex = impl_index(o, "mutex");

	bench_header(b, o, run_id, load_before, load_after);
	for (size_t mi = 0; mi < o->nmix; mi++)
		for (size_t ki = 0; ki < o->nkeys; ki++) {
			for (size_t ii = 0; ii < o->nimpl; ii++)
				json_array_append_new(memory,
						      memory_json(o, sh, mi, ki, ii));
			for (size_t ti = 0; ti < o->nthreads; ti++)
				for (size_t ii = 0; ii < o->nimpl; ii++)
					json_array_append_new(points,
						point_json(o, sh, mi, ki, ii, ti,
							   mutex, errors));
		}
	json_object_set_new(b, "memory", memory);
	json_object_set_new(b, "groups", groups_json(o, sh, errors));
	json_object_set_new(b, "points", points);
	return b;
}

static int write_dat(const char *dir, const struct opts *o,
		     const struct shared *sh, size_t mi, size_t ki)
{
	char path[PATH_MAX + 64], *buf = NULL;
	size_t len = 0;
	FILE *f;
	int rc;

	if (snprintf(path, sizeof(path), "%s/data/bench.%s.%llu.dat", dir,
		     o->mix[mi].name,
		     (unsigned long long)o->keys[ki]) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	f = open_memstream(&buf, &len);
	if (!f)
		return -ENOMEM;
	fprintf(f, "threads");
	for (size_t i = 0; i < o->nimpl; i++)
		fprintf(f, " %s", o->impl[i].name);
	fprintf(f, "\n");
	for (size_t ti = 0; ti < o->nthreads; ti++) {
		fprintf(f, "%u", o->threads[ti]);
		for (size_t i = 0; i < o->nimpl; i++) {
			double a, z, med = median_of(
				&sh->cell[cell_index(o, mi, ki, i, ti)], &a, &z);

			if (isfinite(med))
				fprintf(f, " %.1f", med);
			else
				fprintf(f, " NaN");
		}
		fprintf(f, "\n");
	}
	if (fclose(f)) {
		free(buf);
		return -ENOMEM;
	}
	rc = results_write_file(path, buf, len);
	free(buf);
	return rc;
}

static void print_table(const struct opts *o, const struct shared *sh)
{
	ssize_t mutex = impl_index(o, "mutex");

	printf("\n%-6s %-8s %3s %10s", "mix", "keys", "thr",
	       mutex >= 0 ? "mutex Mop/s" : "Mop/s");
	for (size_t i = 0; i < o->nimpl; i++)
		if ((ssize_t)i != mutex)
			printf(" %8.8s", o->impl[i].name);
	printf("   (others: median / mutex median)\n");
	for (size_t mi = 0; mi < o->nmix; mi++)
		for (size_t ki = 0; ki < o->nkeys; ki++)
			for (size_t ti = 0; ti < o->nthreads; ti++) {
				double a, z, mref = NAN;

				if (mutex >= 0)
					mref = median_of(
						&sh->cell[cell_index(o, mi, ki,
								     (size_t)mutex,
								     ti)],
						&a, &z);
				printf("%-6s %-8llu %3u %11.2f", o->mix[mi].name,
				       (unsigned long long)o->keys[ki],
				       o->threads[ti], mref / 1e6);
				for (size_t i = 0; i < o->nimpl; i++) {
					const struct cell *c = &sh->cell[cell_index(
						o, mi, ki, i, ti)];
					double med = median_of(c, &a, &z);

					if ((ssize_t)i == mutex)
						continue;
					if (c->status == 1)
						printf(" %8s", "-");
					else if (!isfinite(med))
						printf(" %8s", "ERR");
					else if (mutex >= 0)
						printf(" %7.2fx", med / mref);
					else
						printf(" %8.2f", med / 1e6);
				}
				printf("\n");
			}
}

/* ------------------------------------------------------- main */


/* The median share of CPU the workers got, over every measured point. */
static double median_share(const struct opts *o, const struct shared *sh)
{
	size_t n = 0, ncell = o->nmix * o->nkeys * o->nimpl * o->nthreads;
	double *v = calloc(ncell ? ncell : 1, sizeof(double)), a, z, m;

	if (!v)
		return NAN;
	for (size_t i = 0; i < ncell; i++) {
		double x = median_arr(&sh->cell[i], sh->cell[i].share, &a, &z);

		if (isfinite(x))
			v[n++] = x;
	}
	qsort(v, n, sizeof(double), cmp_double);
	m = n ? v[n / 2] : NAN;
	free(v);
	return m;
}

/* Marks map i of a group out, with the reason, once. */
static void map_failed(const struct opts *o, struct shared *sh, size_t mi,
		       size_t ki, size_t i, const char *why)
{
	struct pinfo *pi = &sh->pinfo[pinfo_index(o, mi, ki, i)];

	if (pi->status == 0)
		pi->status = -ECHILD;
	if (!pi->err[0])
		snprintf(pi->err, sizeof(pi->err), "%s", why);
}

/* The children of one group and the parent's ends of their pipes. */
struct kids {
	int cmdfd[MAX_IMPLS], resfd[MAX_IMPLS];
	pid_t pid[MAX_IMPLS];
	bool alive[MAX_IMPLS]; /* prefilled and still answering */
};

/* Forks the child of map i (it never returns here) and waits for its
 * prefill: prefilling one map at a time, they would only slow each other.
 * 0, or -errno when no child could be started (no pipe or no fork: map i
 * is marked out, and no descriptor of its is left open); a child that
 * failed its prefill is 0 here, k->alive[i] false, reaped by reap_kid. */
static int spawn_kid(const struct opts *o, struct shared *sh, size_t mi,
		     size_t ki, size_t i, struct kids *k, double limit)
{
	int cp[2] = {-1, -1}, rp[2] = {-1, -1}, rc = 0;
	char ok, why[96];

	if (pipe(cp) || pipe(rp)) {
		rc = -errno;
		snprintf(why, sizeof(why), "pipe failed: %s", strerror(-rc));
		goto out;
	}
	fflush(stdout);
	fflush(stderr);
	k->pid[i] = fork();
	if (k->pid[i] == 0) {
		/* the child keeps only its own two ends */
		for (size_t j = 0; j < i; j++) {
			if (k->cmdfd[j] >= 0)
				close(k->cmdfd[j]);
			if (k->resfd[j] >= 0)
				close(k->resfd[j]);
		}
		close(cp[1]);
		close(rp[0]);
		alarm((unsigned)ceil(limit));
		child_map(o, sh, mi, ki, i, cp[0], rp[1]);
	}
	if (k->pid[i] < 0) {
		rc = -errno;
		snprintf(why, sizeof(why), "fork failed: %s", strerror(-rc));
		goto out;
	}
	close(cp[0]);
	close(rp[1]);
	k->cmdfd[i] = cp[1];
	k->resfd[i] = rp[0];
	k->alive[i] = xread(k->resfd[i], &ok, 1);
	return 0;
out:	/* nothing of map i stays open */
	for (int e = 0; e < 2; e++) {
		if (cp[e] >= 0)
			close(cp[e]);
		if (rp[e] >= 0)
			close(rp[e]);
	}
	map_failed(o, sh, mi, ki, i, why);
	return rc;
}

/* Every thread count: a warm-up pass and o->reps measured passes, each
 * running every live map once, in an order rotated per pass. */
static void run_passes(const struct opts *o, struct shared *sh, size_t mi,
		       size_t ki, struct kids *k)
{
	char ok;

	for (size_t ti = 0; ti < o->nthreads; ti++)
		for (unsigned pass = 0; pass <= o->reps; pass++)
			for (size_t j = 0; j < o->nimpl; j++) {
				size_t i = (j + pass) % o->nimpl;
				struct cmd c = {CMD_RUN, (unsigned)ti, pass};

				if (!o->impl[i].threadsafe &&
				    o->threads[ti] > 1) {
					sh->cell[cell_index(o, mi, ki, i, ti)]
						.status = 1;
					continue;
				}
				if (!k->alive[i])
					continue;
				k->alive[i] =
					xwrite(k->cmdfd[i], &c, sizeof(c)) &&
					xread(k->resfd[i], &ok, 1);
			}
}

/* Closes map i's child and reaps it; true when it failed (crashed, timed
 * out, exited non-zero or stopped answering: its map is marked out). */
static bool reap_kid(const struct opts *o, struct shared *sh, size_t mi,
		     size_t ki, size_t i, struct kids *k)
{
	struct cmd c = {CMD_CLOSE, 0, 0};
	char why[128] = "", ok;
	int ws = 0;

	if (k->alive[i])
		k->alive[i] = xwrite(k->cmdfd[i], &c, sizeof(c)) &&
			      xread(k->resfd[i], &ok, 1);
	if (k->cmdfd[i] >= 0)
		close(k->cmdfd[i]);
	if (k->resfd[i] >= 0)
		close(k->resfd[i]);
	if (k->pid[i] <= 0)
		return false;
	while (waitpid(k->pid[i], &ws, 0) < 0 && errno == EINTR)
		;
	if (WIFSIGNALED(ws))
		snprintf(why, sizeof(why), "child killed by signal %d (%s)%s",
			 WTERMSIG(ws), strsignal(WTERMSIG(ws)),
			 WTERMSIG(ws) == SIGALRM ? ": timeout" : "");
	else if (!WIFEXITED(ws) || WEXITSTATUS(ws) != 0)
		snprintf(why, sizeof(why), "child exited with status %d",
			 WEXITSTATUS(ws));
	else if (!k->alive[i] && !sh->pinfo[pinfo_index(o, mi, ki, i)].err[0])
		snprintf(why, sizeof(why), "child stopped answering");
	if (!why[0])
		return false;
	map_failed(o, sh, mi, ki, i, why);
	return true;
}

/*
 * One (mix, keys) group: one child per map (see child_map), all alive at
 * once; the parent sends the passes, one run at a time, in an order
 * rotated per pass, so every map sees the same machine.  A child that dies
 * (crash, alarm) is reaped and its map marked out; the others go on.
 */
static void run_group(const struct opts *o, struct shared *sh, size_t mi,
		      size_t ki)
{
	double t0 = now_s(), limit = group_budget_s(o, o->keys[ki]) * 4 + 120;
	struct kids k;
	size_t nfail = 0;

	for (size_t i = 0; i < o->nimpl; i++) {
		k.alive[i] = false;
		k.pid[i] = -1;
		k.cmdfd[i] = k.resfd[i] = -1;
		nfail += spawn_kid(o, sh, mi, ki, i, &k, limit) != 0;
	}
	run_passes(o, sh, mi, ki, &k);
	for (size_t i = 0; i < o->nimpl; i++)
		nfail += reap_kid(o, sh, mi, ki, i, &k);
	fprintf(stderr, "  %-6s keys=%-8llu %6.1f s%s\n", o->mix[mi].name,
		(unsigned long long)o->keys[ki], now_s() - t0,
		nfail ? "  (some maps failed: see bench.json)" : "");
}

/* ------------------------------------------------------------ callgrind */

/*
 * --callgrind: instruction counts that do not depend on the machine's
 * load.  After the timed passes, for every key count and map, the parent
 * runs `valgrind --tool=callgrind --cache-sim=yes` on this binary in a
 * hidden child mode (bench --cg-child MAP KEYS OPS VALUES SEED), which
 * opens and prefills the map (not counted), warms it with CG_OPS gets
 * (not counted), then runs CG_OPS operations in each of four functions
 * that are the only code callgrind collects (--toggle-collect=cg_run_*),
 * ($MAPLAB_BIN names the binary when the caller is not maplab itself),
 * dumping after each (--dump-after=cg_run_...), in this order:
 *   loop     the key stream alone (splitmix64 + hex key): subtracted;
 *   get      map_get + read + release (a peer's get);
 *   get_with map_get_with reading the value (a peer's get_with);
 *   put      a new value over an existing key (the old one released).
 * One thread, uniform keys over the prefilled ids.  Misses are callgrind's
 * cache model (CG_I1, CG_D1, CG_LL below), not the hardware's: LL misses
 * = ILmr + DLmr + DLmw per op.
 */
/* The cache model, fixed so that counts do not depend on what the host's
 * CPUID reports (this VM reports a 512 MiB last level): 32 KiB L1s and,
 * as the last level, the 512 KiB per-core L2 of the lab's EPYC. */
#define CG_I1 "--I1=32768,8,64"
#define CG_D1 "--D1=32768,8,64"
#define CG_LL "--LL=524288,8,64"
#define CG_OPS 100000u
#define CG_OPS_QUICK 10000u
#define CG_NRUN 4

static const char *const cg_names[CG_NRUN] = {"loop", "get", "get_with",
					      "put"};

enum cg_kind { CG_LOOP, CG_GET, CG_GETW, CG_PUT };

struct cg_job {
	struct life *l;
	uint64_t ops, seed;
	uint64_t sink;
	int err;
};

static inline uint64_t cg_body(struct cg_job *j, enum cg_kind kind)
{
	const struct impl *im = j->l->im;
	void *h = j->l->h;
	uint64_t rng = j->seed, sink = 0, n = j->l->nkeys;
	char key[KEY_LEN + 1];
	void *v;

	for (uint64_t i = 0; i < j->ops; i++) {
		uint64_t x = ml_splitmix64(&rng);

		key_make(bounded(x, n), key);
		switch (kind) {
		case CG_LOOP:
			sink ^= (uint64_t)key[3];
			break;
		case CG_GET:
			if (im_get(im, h, key, &v) == 0) {
				sink ^= ((struct bval *)v)->data;
				value_drop(v);
			} else {
				j->err = -EBADMSG;
			}
			break;
		case CG_GETW:
			if (im_get_with(im, h, key, peek_value, &sink) != 0)
				j->err = -EBADMSG;
			break;
		case CG_PUT: {
			struct bval *nv = value_new(x);

			if (!nv || im_put(im, h, key, nv) != 0) {
				if (nv)
					value_drop(nv);
				j->err = -ENOMEM;
			}
			break;
		}
		}
	}
	return sink;
}

/* The collected functions (names matched by --toggle-collect), and the
 * warm-up, which is not collected.  noipa: not inlined, cloned, or merged
 * with an identical body (cg_warm and cg_run_get are the same code). */
#define CG_FN(name, kind)                                                    \
	__attribute__((noipa)) static uint64_t name(                         \
		struct cg_job *j)                                             \
	{                                                                     \
		return cg_body(j, kind);                                      \
	}
CG_FN(cg_warm, CG_GET)
CG_FN(cg_run_loop, CG_LOOP)
CG_FN(cg_run_get, CG_GET)
CG_FN(cg_run_getw, CG_GETW)
CG_FN(cg_run_put, CG_PUT)

static void *cg_main(void *arg)
{
	struct cg_job *j = arg;

	im_enter(j->l->im, j->l->h);
	j->sink ^= cg_warm(j);
	j->sink ^= cg_run_loop(j);
	j->sink ^= cg_run_get(j);
	j->sink ^= cg_run_getw(j);
	j->sink ^= cg_run_put(j);
	im_exit(j->l->im, j->l->h);
	return NULL;
}

/* bench --cg-child MAP KEYS OPS VALUES SEED (run under valgrind by the
 * parent; its arguments were checked there).  Exit 0 or 1. */
static int cg_child(int argc, char **argv)
{
	static struct opts o;
	struct life l = {0};
	struct cg_job j = {0};
	pthread_t t;

	if (argc != 7 || add_impl(&o, argv[2]) ||
	    cli_parse_u64(argv[3], 1, 100000000, &l.nkeys) ||
	    cli_parse_u64(argv[4], 1, 100000000, &j.ops) ||
	    cli_parse_u64(argv[6], 0, UINT64_MAX, &o.seed))
		return 1;
	o.plain = !strcmp(argv[5], "plain");
	plain_values = o.plain;
	for (unsigned v = 0; v < PLAIN_POOL; v++)
		plain_pool[v] = (struct bval){.data = v};
	l.im = &o.impl[0];
	l.o = &o;
	in_thread(prefill_main, &l);
	if (l.rc || l.len != l.nkeys)
		return 1;
	j.l = &l;
	j.seed = seed_for(o.seed, l.nkeys, 0, 0, 0, 0, 2);
	ML_CHECK_PTHREAD(pthread_create(&t, NULL, cg_main, &j));
	ML_CHECK_PTHREAD(pthread_join(t, NULL));
	in_thread(close_main, &l);
	printf("sink %llu\n", (unsigned long long)j.sink);
	return j.err ? 1 : 0;
}

/* The event counts of one callgrind dump file: names[] from "events:",
 * vals[] from "totals:" (or "summary:"); the number of events. */
static int cg_read(const char *path, char names[][8], double *vals, int max)
{
	FILE *f = fopen(path, "r");
	char line[1024];
	int n = 0, nv = 0;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		char *p, *save = NULL;

		if (!strncmp(line, "events:", 7)) {
			n = 0;
			for (p = strtok_r(line + 7, " \n", &save); p && n < max;
			     p = strtok_r(NULL, " \n", &save))
				snprintf(names[n++], 8, "%s", p);
		} else if (!strncmp(line, "totals:", 7) ||
			   !strncmp(line, "summary:", 8)) {
			nv = 0;
			for (p = strtok_r(strchr(line, ':') + 1, " \n", &save);
			     p && nv < max; p = strtok_r(NULL, " \n", &save))
				vals[nv++] = strtod(p, NULL);
		}
	}
	fclose(f);
	/* trailing zero counts are left out of the line */
	for (int i = nv; i < n; i++)
		vals[i] = 0;
	return n && nv > 0 && nv <= n ? n : -1;
}

static double cg_event(char names[][8], const double *vals, int n,
		       const char *name)
{
	for (int i = 0; i < n; i++)
		if (!strcmp(names[i], name))
			return vals[i];
	return 0;
}

/* Runs valgrind on one (map, keys); 0, or -errno (-ECHILD: valgrind or
 * the child mode failed, see the .log beside). */
static int cg_spawn(const struct opts *o, const char *impl, uint64_t keys,
		    uint64_t ops, const char *out, const char *log)
{
	char self[PATH_MAX], a_keys[24], a_ops[24], a_seed[24];
	char a_out[PATH_MAX + 128];
	const char *bin = getenv("MAPLAB_BIN");
	ssize_t n;
	pid_t pid;
	int st;

	/* The maplab binary to run the child mode of: this one, unless the
	 * caller is not maplab (tests call bench_main in-process). */
	if (bin && *bin) {
		snprintf(self, sizeof(self), "%s", bin);
	} else {
		n = readlink("/proc/self/exe", self, sizeof(self) - 1);
		if (n <= 0)
			return n < 0 ? -errno : -ENOENT;
		self[n] = '\0';
	}
	snprintf(a_keys, sizeof(a_keys), "%llu", (unsigned long long)keys);
	snprintf(a_ops, sizeof(a_ops), "%llu", (unsigned long long)ops);
	snprintf(a_seed, sizeof(a_seed), "%llu", (unsigned long long)o->seed);
	snprintf(a_out, sizeof(a_out), "--callgrind-out-file=%s", out);
	fflush(NULL);
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		char *argv[] = {"valgrind", "--tool=callgrind",
				"--cache-sim=yes", CG_I1, CG_D1, CG_LL,
				"--collect-atstart=no",
				"--toggle-collect=cg_run_*",
				"--dump-after=cg_run_loop",
				"--dump-after=cg_run_get",
				"--dump-after=cg_run_getw",
				"--dump-after=cg_run_put", a_out, self, "bench",
				"--cg-child", (char *)impl, a_keys, a_ops,
				o->plain ? "plain" : "refcounted", a_seed,
				NULL};
		int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);

		/* A child must never start callgrind runs of its own. */
		setenv("MAPLAB_CG_CHILD", "1", 1);

		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
			if (fd > 2) /* valgrind needs only 1 and 2 */
				close(fd);
		}
		execvp("valgrind", argv);
		_exit(127);
	}
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -errno;
	return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -ECHILD;
}

/* Per-op figures of one (map, keys) into arr; false when it failed. */
static bool cg_one(const struct opts *o, const char *dir, const char *impl,
		   uint64_t keys, uint64_t ops, json_t *arr)
{
	char out[PATH_MAX + 64], log[PATH_MAX + 72], part[PATH_MAX + 96];
	char names[16][8];
	double vals[CG_NRUN][16], loop_ir = 0;
	int ne = 0;

	snprintf(out, sizeof(out), "%s/callgrind.%s.%llu.out", dir, impl,
		 (unsigned long long)keys);
	snprintf(log, sizeof(log), "%s.log", out);
	if (cg_spawn(o, impl, keys, ops, out, log))
		return false;
	for (int r = 0; r < CG_NRUN; r++) {
		snprintf(part, sizeof(part), "%s.%d", out, r + 1);
		if ((ne = cg_read(part, names, vals[r], 16)) < 0)
			return false;
	}
	for (int r = 0; r < CG_NRUN; r++) {
		double ir = cg_event(names, vals[r], ne, "Ir") / (double)ops;
		double ll = (cg_event(names, vals[r], ne, "ILmr") +
			     cg_event(names, vals[r], ne, "DLmr") +
			     cg_event(names, vals[r], ne, "DLmw")) /
			    (double)ops;
		double d1 = (cg_event(names, vals[r], ne, "D1mr") +
			     cg_event(names, vals[r], ne, "D1mw")) /
			    (double)ops;

		if (r == 0) {
			loop_ir = ir;
			continue;
		}
		json_array_append_new(
			arr, json_pack("{s:s,s:s,s:I,s:I,s:o,s:o,s:o,s:o}",
				       "impl", impl, "op", cg_names[r], "keys",
				       (json_int_t)keys, "ops", (json_int_t)ops,
				       "ir_per_op", jnum(ir - loop_ir),
				       "ir_per_op_with_loop", jnum(ir),
				       "ll_misses_per_op", jnum(ll),
				       "d1_misses_per_op", jnum(d1)));
	}
	return true;
}

/* --callgrind: every (keys, map) under callgrind; the bench.json array.
 * *errors counts the maps that failed (their .log says why). */
static json_t *cg_all(const struct opts *o, const char *run_dir, int *errors)
{
	json_t *arr = json_array();
	char dir[PATH_MAX + 16];
	uint64_t ops = o->quick ? CG_OPS_QUICK : CG_OPS;

	snprintf(dir, sizeof(dir), "%s/callgrind", run_dir);
	if (mkdir(dir, 0755) && errno != EEXIST) {
		(*errors)++;
		return arr;
	}
	for (size_t ki = 0; ki < o->nkeys; ki++)
		for (size_t i = 0; i < o->nimpl; i++) {
			fprintf(stderr, "  callgrind %-8s keys=%-8llu", o->impl[i].name,
				(unsigned long long)o->keys[ki]);
			if (!cg_one(o, dir, o->impl[i].name, o->keys[ki], ops,
				    arr)) {
				(*errors)++;
				fprintf(stderr, " failed (see %s)\n", dir);
			} else {
				fprintf(stderr, " done\n");
			}
		}
	return arr;
}

static void cg_print(const json_t *arr)
{
	size_t i;
	json_t *e;

	if (!json_array_size(arr))
		return;
	printf("\ncallgrind, per op (instructions net of the key loop / "
	       "last-level misses in callgrind's cache model):\n");
	printf("%-9s %-9s %-9s %10s %10s\n", "map", "keys", "op", "Ir/op",
	       "LLmiss/op");
	json_array_foreach(arr, i, e)
		printf("%-9s %-9lld %-9s %10.1f %10.2f\n",
		       json_string_value(json_object_get(e, "impl")),
		       (long long)json_integer_value(json_object_get(e, "keys")),
		       json_string_value(json_object_get(e, "op")),
		       json_number_value(json_object_get(e, "ir_per_op")),
		       json_number_value(json_object_get(e, "ll_misses_per_op")));
}

/* The longest a group's children may live (their alarm); for the
 * manifest's timeout. */
static double run_timeout_s(const struct opts *o)
{
	double t = 0;

	for (size_t ki = 0; ki < o->nkeys; ki++) {
		double g = group_budget_s(o, o->keys[ki]) * 4 + 120;

		if (g > t)
			t = g;
	}
	return t;
}

/* The cells, pinfos and ginfos every child writes and the parent reads:
 * one MAP_SHARED mapping, zeroed; 0 or -errno. */
static int shared_open(const struct opts *o, struct shared *sh)
{
	size_t ncell = o->nmix * o->nkeys * o->nimpl * o->nthreads;
	size_t npinfo = o->nmix * o->nkeys * o->nimpl;
	void *mem;

	sh->bytes = ncell * sizeof(struct cell) +
		    npinfo * (sizeof(struct pinfo) + sizeof(struct ginfo));
	mem = mmap(NULL, sh->bytes, PROT_READ | PROT_WRITE,
		   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED)
		return -errno;
	sh->cell = mem;
	sh->pinfo = (struct pinfo *)(sh->cell + ncell);
	sh->ginfo = (struct ginfo *)(sh->pinfo + npinfo);
	return 0;
}

/* Every group, with a dead child's pipe giving EPIPE instead of killing
 * the parent. */
static void run_groups(const struct opts *o, struct shared *sh,
		       const char *dir)
{
	void (*old_pipe)(int) = signal(SIGPIPE, SIG_IGN);

	fprintf(stderr, "maplab bench: %zu maps, %zu mixes x %zu key counts x "
			"%zu thread counts, %u reps of %.3g s, %s values, %s "
			"reads -> %s\n",
		o->nimpl, o->nmix, o->nkeys, o->nthreads, o->reps, o->seconds,
		values_name(o), reads_name(o), dir);
	for (size_t mi = 0; mi < o->nmix; mi++)
		for (size_t ki = 0; ki < o->nkeys; ki++)
			run_group(o, sh, mi, ki);
	signal(SIGPIPE, old_pipe);
}

/* bench.json (with the callgrind array cg, if any) and the .dat files into
 * d; the median CPU share into *share; 0, or 1 when a file failed. */
static int write_outputs(const struct opts *o, const struct shared *sh,
			 const struct results_dir *d, json_t *load_before,
			 json_t *cg, int *errors, double *share)
{
	char path[PATH_MAX + 32];
	json_t *bj = bench_json(o, sh, d->run_id, json_incref(load_before),
				loadavg(), errors);
	int status = 0;

	if (cg) {
		json_object_set_new(
			bj, "callgrind_model",
			json_string("valgrind --tool=callgrind --cache-sim=yes "
				    CG_I1 " " CG_D1 " " CG_LL ", one thread, "
				    "per op over a fixed number of uniform ops "
				    "after a warm-up of as many gets; ir_per_op "
				    "net of the key loop; ll = ILmr+DLmr+DLmw"));
		json_object_set_new(bj, "callgrind", json_incref(cg));
	}
	*share = median_share(o, sh);
	json_object_set_new(bj, "median_cpu_share", jnum(*share));
	snprintf(path, sizeof(path), "%s/bench.json", d->path);
	if (results_write_json(path, bj))
		status = 1;
	json_decref(bj);
	for (size_t mi = 0; mi < o->nmix; mi++)
		for (size_t ki = 0; ki < o->nkeys; ki++)
			if (write_dat(d->path, o, sh, mi, ki))
				status = 1;
	return status;
}

/* The terminal's last lines: how much CPU the workers got, where the
 * results are. */
static void print_summary(double share, const json_t *load_before,
			  const char *dir, int errors)
{
	char load[64] = "unknown";

	if (json_is_array(load_before))
		snprintf(load, sizeof(load), "%.1f at start",
			 json_real_value(json_array_get(load_before, 0)));
	printf("\nworkers got a median %.0f%% of the CPU time they could use "
	       "(loadavg %s); ratios compare maps measured in the same passes\n",
	       share * 100, load);
	if (share < 0.8)
		printf("the machine was busy: absolute figures understate the "
		       "maps; compare ratios, or median_ops_per_cpu_s in "
		       "bench.json\n");
	printf("maplab bench: %s%s\n", dir,
	       errors ? " (some points failed: see bench.json)" : "");
}

int bench_main(int argc, char **argv)
{
	static struct opts o;
	struct shared sh = {0};
	struct results_dir d;
	char path[PATH_MAX + 32], err[600];
	json_t *load_before, *cg = NULL;
	double t_start = now_s(), share = NAN;
	int rc, errors = 0, status;

	if (argc > 1 && !strcmp(argv[1], "--cg-child"))
		return cg_child(argc, argv);
	rc = parse_opts(argc, argv, &o);
	if (rc)
		return rc == 1 ? 0 : rc;
	if (o.nimpl == 0)
		return bad("no map to measure%s", "");
	if ((rc = shared_open(&o, &sh))) {
		fprintf(stderr, "maplab bench: mmap: %s\n", strerror(-rc));
		return 1;
	}
	rc = results_open(&d, o.out, o.quick ? "bench-quick" : "bench", "bench",
			  argc, argv, err, sizeof(err));
	if (rc) {
		fprintf(stderr, "maplab bench: %s\n", err);
		munmap(sh.cell, sh.bytes);
		return o.out ? 2 : 1;
	}
	manifest_add(d.manifest, &o, run_timeout_s(&o));
	snprintf(path, sizeof(path), "%s/manifest.json", d.path);
	results_write_json(path, d.manifest);
	load_before = loadavg();
	run_groups(&o, &sh, d.path);
	if (o.callgrind)
		cg = cg_all(&o, d.path, &errors);
	status = write_outputs(&o, &sh, &d, load_before, cg, &errors, &share);
	json_object_set_new(json_object_get(d.manifest, "params"),
			    "duration_s", json_real(now_s() - t_start));
	if (results_close(&d, status == 0))
		status = 1;
	print_table(&o, &sh);
	cg_print(cg);
	print_summary(share, load_before, d.path, errors);
	json_decref(load_before);
	json_decref(cg);
	munmap(sh.cell, sh.bytes);
	return errors ? 1 : status;
}

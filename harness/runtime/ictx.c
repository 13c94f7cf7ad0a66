/*
 * harness/runtime/ictx.c - This file contains struct ictx: the context an incident
 * runs in (incidents/incident.h) and the in-process run driver
 * (harness/runtime/ictx.h).
 *
 * Layout.  One struct ictx lives in one anonymous MAP_SHARED mapping, so a
 * child forked after ictx_create() writes into memory the parent reads,
 * also after the child died.  Immutable after create: the incident, the
 * run's identity (variant, threads, seed, seconds, flags, budget) and the
 * parameter values.  Everything else is written during the run:
 *   - metrics[]: registered under reg_lock (normally during setup), the
 *     count published with a release store so a lock-free reader sees a
 *     complete entry; values are relaxed atomics (statistics: no other
 *     memory is published through them).  One metric per cache line so two
 *     hot counters do not share one.
 *   - hists[]: registered like metrics; each histogram is striped over
 *     ICTX_HIST_STRIPES cache-line-aligned stripes, a thread picks one
 *     stripe once (round robin, thread-local), so recording a latency per
 *     request is three or four uncontended relaxed atomics.  Readers sum the
 *     stripes; a sum taken while threads record is approximate (a count may
 *     be ahead of its bucket), exact once they stopped.
 *   - symptoms[] and log[]: appended under reg_lock; counts release-stored,
 *     so readers may read without the lock.  A symptom set twice keeps the
 *     last value.
 *   - stop: the stop flag, set by the monitor thread, by
 *     ictx_request_stop() (also from a signal handler) or by a budget
 *     refusal; read by the incident's workers.
 *   - st (struct ictx_status): written by the controlling thread and the
 *     monitor thread (oom fields, set once under reg_lock); the parent reads
 *     it only after the child is gone.
 *
 * The monitor thread (one per ictx_run_inprocess) wakes every sample_ms:
 * it takes an allocator snapshot, hands it to the telemetry ring (when
 * attached), notices a budget refusal (the allocator's failure counter grew)
 * and ends the run early, and sets the stop flag once the planned seconds
 * are up.  It runs from setup until teardown finished, so the series covers
 * the whole run.
 *
 * Lock order: reg_lock is a leaf (nothing else is taken under it).
 */
#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdalign.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "harness/runtime/ictx.h"
#include "harness/runtime/text.h"
#include "harness/runtime/telemetry.h"
#include "maps/alloc.h"
#include "maps/util.h"

#define ICTX_HIST_STRIPES 8

struct ictx_metric {
	alignas(64) char name[ICTX_NAME_LEN]; /* set once at registration */
	int kind;                             /* enum ictx_kind; ditto */
	_Atomic int64_t value;                /* relaxed */
};

struct hist_stripe {
	alignas(64) _Atomic uint64_t count; /* relaxed, all of them */
	_Atomic uint64_t sum;
	_Atomic uint64_t max;
	_Atomic uint64_t b[ICTX_HIST_BUCKETS];
};

struct ictx_hist {
	char name[ICTX_NAME_LEN]; /* set once at registration */
	struct hist_stripe s[ICTX_HIST_STRIPES];
};

struct symptom {
	char name[ICTX_NAME_LEN];
	double value;
};

struct ictx {
	/* immutable after ictx_create() */
	const struct incident *inc;
	char variant[ICTX_NAME_LEN];
	unsigned threads;
	uint64_t seed;
	double seconds;
	unsigned map_flags;
	uint64_t budget;
	unsigned sample_ms;
	bool no_telemetry;
	size_t nparams;
	const char *pname[ICTX_MAX_PARAMS]; /* point into inc->params */
	double pval[ICTX_MAX_PARAMS];
	char workdir[PATH_MAX];
	bool own_workdir;
	size_t map_len; /* bytes of this mapping */
	struct telemetry *tel; /* set before the run, by the controller */
	/* the histograms at the last kept row, for interval figures; the
	 * monitor thread only (the controller after joining it) */
	struct ictx_hist_snap tel_prev[ICTX_MAX_HISTS];

	/* the run */
	atomic_bool stop;         /* see ictx_stopping() */
	atomic_bool monitor_done; /* controller -> monitor: leave */
	uint64_t t0_ns;           /* setup start; set before the monitor runs */
	pthread_mutex_t reg_lock; /* registration, symptoms, log, oom fields */
	_Atomic size_t nmetrics;  /* release-stored under reg_lock */
	_Atomic size_t nhists;
	_Atomic size_t nsymptoms;
	_Atomic size_t nlog;      /* lines stored, <= ICTX_MAX_LOG */
	_Atomic uint64_t log_total; /* lines logged; stored under reg_lock */
	uint64_t log_dropped;     /* under reg_lock */
	struct ictx_metric metrics[ICTX_MAX_METRICS];
	struct ictx_hist hists[ICTX_MAX_HISTS];
	struct symptom symptoms[ICTX_MAX_SYMPTOMS];
	char log[ICTX_MAX_LOG][ICTX_LOG_LEN];
	struct ictx_status st;
};

static void seterr(const struct ictx_opts *o, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void seterr(const struct ictx_opts *o, const char *fmt, ...)
{
	va_list ap;

	if (!o || !o->err || !o->errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(o->err, o->errlen, fmt, ap);
	va_end(ap);
}

uint64_t ictx_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

const char *ictx_phase_name(int phase)
{
	static const char *const names[] = {"created", "setup",    "run",
					    "oracle",  "teardown", "done"};

	if (phase < 0 || phase > ICTX_PHASE_DONE)
		return "?";
	return names[phase];
}

/* ---- parameters ---------------------------------------------------- */

const struct incident_param *ictx_find_param(const struct incident *inc,
					     const char *name)
{
	if (!inc || !inc->params || !name)
		return NULL;
	for (const struct incident_param *p = inc->params; p->name; p++)
		if (strcmp(p->name, name) == 0)
			return p;
	return NULL;
}

/* Parse kv into its parameter and value; 0 or -EINVAL with a message. */
static int parse_set(const struct incident *inc, const char *kv,
		     const struct incident_param **pp, double *val, char *err,
		     size_t errlen)
{
	const char *eq = kv ? strchr(kv, '=') : NULL;
	char name[ICTX_NAME_LEN];
	const struct incident_param *p;
	char *end;
	double v;

	if (!eq || eq == kv || (size_t)(eq - kv) >= sizeof(name)) {
		snprintf(err, errlen,
			 "--set '%s': expected key=value, e.g. --set threads=4",
			 kv ? kv : "");
		return -EINVAL;
	}
	memcpy(name, kv, (size_t)(eq - kv));
	name[eq - kv] = '\0';
	p = ictx_find_param(inc, name);
	if (!p) {
		char known[400] = "";
		size_t n = 0;

		for (const struct incident_param *q = inc->params; q && q->name;
		     q++) {
			int w = snprintf(known + n, sizeof(known) - n, "%s%s",
					 n ? ", " : "", q->name);
			if (w < 0 || (size_t)w >= sizeof(known) - n)
				break;
			n += (size_t)w;
		}
		snprintf(err, errlen,
			 "--set %s: incident %s has no parameter '%s' (known: "
			 "%s); see `maplab list`",
			 kv, inc->name, name, n ? known : "none");
		return -EINVAL;
	}
	errno = 0;
	v = strtod(eq + 1, &end);
	/* ERANGE with a finite result is an underflow (4.9e-324): a number,
	 * judged by the range check below; an overflow is inf. */
	if (eq[1] == '\0' || *end != '\0' || isnan(v)) {
		snprintf(err, errlen, "--set %s: '%s' is not a number", kv,
			 eq + 1);
		return -EINVAL;
	}
	if (v < p->min || v > p->max || !isfinite(v)) {
		snprintf(err, errlen,
			 "--set %s: %s must be within [%g, %g] %s", kv, name,
			 p->min, p->max, p->unit ? p->unit : "");
		return -EINVAL;
	}
	if (p->integer && v != floor(v)) {
		snprintf(err, errlen, "--set %s: %s must be a whole number",
			 kv, name);
		return -EINVAL;
	}
	*pp = p;
	*val = v;
	return 0;
}

int ictx_check_set(const struct incident *inc, const char *kv, char *err,
		   size_t errlen)
{
	const struct incident_param *p;
	double v;
	char scratch[1];

	if (!err || !errlen) {
		err = scratch;
		errlen = sizeof(scratch);
	}
	return parse_set(inc, kv, &p, &v, err, errlen);
}

/* The value a run would use: the last --set of name, else the default. */
static double effective(const struct incident *inc, enum ictx_size size,
			const char *const *sets, size_t nsets, const char *name)
{
	const struct incident_param *p = ictx_find_param(inc, name);
	size_t kl = strlen(name);
	double v;

	if (!p)
		return NAN;
	v = size == ICTX_SIZE_FULL ? p->full : p->quick;
	for (size_t i = 0; i < nsets; i++)
		if (!strncmp(sets[i], name, kl) && sets[i][kl] == '=')
			v = strtod(sets[i] + kl + 1, NULL);
	return v;
}

int ictx_check_rules(const struct incident *inc, enum ictx_size size,
		     const char *const *sets, size_t nsets, char *err,
		     size_t errlen)
{
	for (const struct incident_rule *r = inc->rules; r && r->a; r++) {
		double a = effective(inc, size, sets, nsets, r->a);
		double plus = r->plus ? effective(inc, size, sets, nsets, r->plus) : 0;
		double b = r->b ? effective(inc, size, sets, nsets, r->b) : r->bound;

		if (a + plus <= b)
			continue;
		if (r->plus)
			snprintf(err, errlen, "incident %s: %s (%g) + %s (%g) "
				 "must not exceed %g: %s", inc->name, r->a, a,
				 r->plus, plus, b, r->fix);
		else if (r->b)
			snprintf(err, errlen, "incident %s: %s (%g) must not "
				 "exceed %s (%g): %s", inc->name, r->a, a, r->b,
				 b, r->fix);
		else
			snprintf(err, errlen, "incident %s: %s (%g) must not "
				 "exceed %g: %s", inc->name, r->a, a, b, r->fix);
		return -EINVAL;
	}
	return 0;
}

/* ---- create / destroy ---------------------------------------------- */

static int rm_entry(const char *path, const struct stat *sb, int flag,
		    struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path) == 0 || errno == ENOENT ? 0 : 0;
}

/* The options ictx_create refuses, said in o->err.  0 or -EINVAL. */
static int check_create_opts(const struct incident *inc,
			     const struct ictx_opts *o, struct ictx **out)
{
	size_t variant_len = sizeof(((struct ictx *)0)->variant);

	if (!inc || !o || !out || !inc->setup || !inc->run) {
		seterr(o, "ictx_create: missing incident, options or hooks");
		return -EINVAL;
	}
	if (!o->variant || !*o->variant || strlen(o->variant) >= variant_len) {
		seterr(o, "no map variant given (e.g. --variant mutex)");
		return -EINVAL;
	}
	if (o->seconds < 0 || !isfinite(o->seconds) || o->nsets > ICTX_MAX_SETS) {
		seterr(o, "bad seconds or too many --set options");
		return -EINVAL;
	}
	return 0;
}

/* The run's fixed settings and the registry lock, in a fresh (zeroed)
 * mapping: every count, flag and value not set here stays 0. */
static void init_settings(struct ictx *c, const struct incident *inc,
			  const struct ictx_opts *o)
{
	pthread_mutexattr_t ma;

	c->inc = inc;
	strcpy(c->variant, o->variant); /* length checked by the caller */
	c->threads = o->threads ? o->threads : ICTX_DEFAULT_THREADS;
	c->seed = o->seed;
	c->seconds = o->seconds > 0 ? o->seconds
			 : o->size == ICTX_SIZE_FULL ? inc->full_seconds
						     : inc->quick_seconds;
	if (c->seconds <= 0)
		c->seconds = 1;
	c->map_flags = o->map_flags;
	c->budget = o->budget;
	c->sample_ms = o->sample_ms ? o->sample_ms : 10;
	c->no_telemetry = o->no_telemetry;
	c->st.oom_tag = -1;
	ML_CHECK_PTHREAD(pthread_mutexattr_init(&ma));
	/* shared: the mapping is shared with a forked child (only one process
	 * uses the lock at a time, but the attribute keeps that honest) */
	ML_CHECK_PTHREAD(pthread_mutexattr_setpshared(&ma, PTHREAD_PROCESS_SHARED));
	ML_CHECK_PTHREAD(pthread_mutex_init(&c->reg_lock, &ma));
	ML_CHECK_PTHREAD(pthread_mutexattr_destroy(&ma));
}

/* The parameters' values: the size's defaults, then each --set in order.
 * 0 or -EINVAL (said in o->err). */
static int load_params(struct ictx *c, const struct incident *inc,
		       const struct ictx_opts *o)
{
	char err[ICTX_ERR_LEN];
	int rc;

	for (const struct incident_param *p = inc->params; p && p->name; p++) {
		if (c->nparams == ICTX_MAX_PARAMS) {
			seterr(o, "incident %s declares more than %d parameters",
			       inc->name, ICTX_MAX_PARAMS);
			return -EINVAL;
		}
		c->pname[c->nparams] = p->name;
		c->pval[c->nparams] =
			o->size == ICTX_SIZE_FULL ? p->full : p->quick;
		c->nparams++;
	}
	for (size_t i = 0; i < o->nsets; i++) {
		const struct incident_param *p;
		double v;

		rc = parse_set(inc, o->sets[i], &p, &v, err, sizeof(err));
		if (rc) {
			seterr(o, "%s", err);
			return rc;
		}
		for (size_t j = 0; j < c->nparams; j++)
			if (c->pname[j] == p->name)
				c->pval[j] = v;
	}
	return 0;
}

/* The run's scratch folder: o->workdir, else a fresh one under $TMPDIR
 * (or /tmp) that ictx_destroy removes.  0 or -errno (said in o->err). */
static int make_workdir(struct ictx *c, const struct incident *inc,
			const struct ictx_opts *o)
{
	const char *tmp = getenv("TMPDIR");

	if (o->workdir) {
		if (strlen(o->workdir) >= sizeof(c->workdir)) {
			seterr(o, "workdir path too long");
			return -ENAMETOOLONG;
		}
		strcpy(c->workdir, o->workdir);
		return 0;
	}
	if (!tmp || !*tmp)
		tmp = "/tmp";
	snprintf(c->workdir, sizeof(c->workdir), "%s/maplab-%s-XXXXXX", tmp,
		 inc->name);
	if (!mkdtemp(c->workdir)) {
		int rc = -errno;

		seterr(o, "mkdtemp %s: %s", c->workdir, strerror(errno));
		return rc;
	}
	c->own_workdir = true;
	return 0;
}

int ictx_create(const struct incident *inc, const struct ictx_opts *o,
		struct ictx **out)
{
	struct ictx *c;
	size_t len = sizeof(*c);
	int rc;

	if (out)
		*out = NULL;
	if ((rc = check_create_opts(inc, o, out)))
		return rc;
	c = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
		 -1, 0);
	if (c == MAP_FAILED) {
		rc = -errno;
		seterr(o, "ictx_create: mmap: %s", strerror(errno));
		return rc;
	}
	c->map_len = len;
	init_settings(c, inc, o);
	rc = load_params(c, inc, o);
	if (!rc)
		rc = make_workdir(c, inc, o);
	if (rc) {
		pthread_mutex_destroy(&c->reg_lock);
		munmap(c, len);
		return rc;
	}
	*out = c;
	return 0;
}

void ictx_destroy(struct ictx *c)
{
	if (!c)
		return;
	if (c->own_workdir)
		nftw(c->workdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	pthread_mutex_destroy(&c->reg_lock);
	munmap(c, c->map_len);
}

void ictx_request_stop(struct ictx *c)
{
	/* release: pairs with the acquire in ictx_stopping(); nothing is
	 * published with it, but it is cheap and keeps reasoning simple */
	if (c)
		atomic_store_explicit(&c->stop, true, memory_order_release);
}

void ictx_attach_telemetry(struct ictx *c, struct telemetry *t)
{
	c->tel = t;
}

/* ---- incident.h: identity and parameters ----------------------------- */

const char *ictx_variant(const struct ictx *c) { return c->variant; }
unsigned ictx_map_flags(const struct ictx *c) { return c->map_flags; }
unsigned ictx_threads(const struct ictx *c) { return c->threads; }
uint64_t ictx_seed(const struct ictx *c) { return c->seed; }
double ictx_seconds(const struct ictx *c) { return c->seconds; }
const char *ictx_workdir(const struct ictx *c) { return c->workdir; }

double ictx_param(const struct ictx *c, const char *name)
{
	for (size_t i = 0; i < c->nparams; i++)
		if (strcmp(c->pname[i], name) == 0)
			return c->pval[i];
	fprintf(stderr, "%s:%d: incident %s asked for undeclared parameter '%s'\n",
		__FILE__, __LINE__, c->inc->name, name ? name : "(null)");
	abort();
}

bool ictx_stopping(const struct ictx *c)
{
	/* acquire: pairs with ictx_request_stop() */
	return atomic_load_explicit(&c->stop, memory_order_acquire);
}

/* ---- metrics ------------------------------------------------------- */

/* Registration is setup code with a fixed name list: a failure is a bug in
 * the incident, so it dies loudly and callers need no NULL checks. */
static _Noreturn void registry_bug(const char *what, const char *name,
				   const char *why)
{
	fprintf(stderr, "ictx_%s(\"%s\"): %s\n", what, name ? name : "(null)",
		why);
	abort();
}

struct ictx_metric *ictx_metric(struct ictx *c, const char *name,
				enum ictx_kind kind)
{
	struct ictx_metric *m = NULL;
	size_t n;

	if (!c || !name || !*name)
		registry_bug("metric", name, "no context or no name");
	ML_CHECK_PTHREAD(pthread_mutex_lock(&c->reg_lock));
	n = atomic_load_explicit(&c->nmetrics, memory_order_relaxed);
	for (size_t i = 0; i < n; i++)
		if (strcmp(c->metrics[i].name, name) == 0) {
			m = &c->metrics[i];
			goto out;
		}
	if (n == ICTX_MAX_METRICS)
		registry_bug("metric", name, "table full (raise ICTX_MAX_METRICS)");
	m = &c->metrics[n];
	snprintf(m->name, sizeof(m->name), "%s", name);
	m->kind = kind;
	atomic_store_explicit(&m->value, 0, memory_order_relaxed);
	/* release: a reader that sees the count sees the entry's name */
	atomic_store_explicit(&c->nmetrics, n + 1, memory_order_release);
out:
	ML_CHECK_PTHREAD(pthread_mutex_unlock(&c->reg_lock));
	return m;
}

void ictx_add(struct ictx_metric *m, int64_t delta)
{
	/* relaxed: a statistic; nothing is published through it */
	if (m)
		atomic_fetch_add_explicit(&m->value, delta, memory_order_relaxed);
}

void ictx_set(struct ictx_metric *m, int64_t value)
{
	if (m) /* relaxed: as ictx_add */
		atomic_store_explicit(&m->value, value, memory_order_relaxed);
}

size_t ictx_metric_count(const struct ictx *c)
{
	return atomic_load_explicit(&c->nmetrics, memory_order_acquire);
}

bool ictx_metric_at(const struct ictx *c, size_t i, const char **name,
		    enum ictx_kind *kind, int64_t *value)
{
	if (i >= ictx_metric_count(c))
		return false;
	if (name)
		*name = c->metrics[i].name;
	if (kind)
		*kind = (enum ictx_kind)c->metrics[i].kind;
	if (value) /* relaxed: a statistic */
		*value = atomic_load_explicit(&c->metrics[i].value,
					      memory_order_relaxed);
	return true;
}

int64_t ictx_metric_value(const struct ictx *c, const char *name, int64_t dflt)
{
	size_t n = ictx_metric_count(c);

	for (size_t i = 0; i < n; i++)
		if (strcmp(c->metrics[i].name, name) == 0)
			return atomic_load_explicit(&c->metrics[i].value,
						    memory_order_relaxed);
	return dflt;
}

/* ---- histograms ---------------------------------------------------- */

unsigned ictx_hist_bucket_of(uint64_t v)
{
	unsigned e;

	if (v < 8)
		return (unsigned)v;
	e = 63u - (unsigned)__builtin_clzll(v); /* 3..63 */
	return 8u + (e - 3u) * 8u + (unsigned)((v >> (e - 3u)) & 7u);
}

uint64_t ictx_hist_bucket_lo(unsigned b)
{
	unsigned e, sub;

	if (b < 8)
		return b;
	e = (b - 8u) / 8u + 3u;
	sub = (b - 8u) % 8u;
	return (uint64_t)(8u + sub) << (e - 3u);
}

uint64_t ictx_hist_bucket_hi(unsigned b)
{
	if (b < 8)
		return b;
	if (b >= ICTX_HIST_BUCKETS - 1)
		return UINT64_MAX;
	return ictx_hist_bucket_lo(b + 1) - 1;
}

struct ictx_hist *ictx_hist(struct ictx *c, const char *name)
{
	struct ictx_hist *h = NULL;
	size_t n;

	if (!c || !name || !*name)
		registry_bug("hist", name, "no context or no name");
	ML_CHECK_PTHREAD(pthread_mutex_lock(&c->reg_lock));
	n = atomic_load_explicit(&c->nhists, memory_order_relaxed);
	for (size_t i = 0; i < n; i++)
		if (strcmp(c->hists[i].name, name) == 0) {
			h = &c->hists[i];
			goto out;
		}
	if (n == ICTX_MAX_HISTS)
		registry_bug("hist", name, "table full (raise ICTX_MAX_HISTS)");
	h = &c->hists[n];
	snprintf(h->name, sizeof(h->name), "%s", name);
	/* release: a reader that sees the count sees the name */
	atomic_store_explicit(&c->nhists, n + 1, memory_order_release);
out:
	ML_CHECK_PTHREAD(pthread_mutex_unlock(&c->reg_lock));
	return h;
}

static _Atomic unsigned next_stripe;
static _Thread_local unsigned my_stripe = UINT_MAX;

void ictx_hist_record(struct ictx_hist *h, uint64_t ns)
{
	struct hist_stripe *s;
	uint64_t cur;

	if (!h)
		return;
	if (my_stripe == UINT_MAX) /* relaxed: only spreads threads out */
		my_stripe = atomic_fetch_add_explicit(&next_stripe, 1,
						      memory_order_relaxed) %
			    ICTX_HIST_STRIPES;
	s = &h->s[my_stripe];
	/* relaxed, all: statistics; readers tolerate a count ahead of its
	 * bucket while threads record */
	atomic_fetch_add_explicit(&s->b[ictx_hist_bucket_of(ns)], 1,
				  memory_order_relaxed);
	atomic_fetch_add_explicit(&s->count, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&s->sum, ns, memory_order_relaxed);
	cur = atomic_load_explicit(&s->max, memory_order_relaxed);
	while (ns > cur &&
	       !atomic_compare_exchange_weak_explicit(&s->max, &cur, ns,
						      memory_order_relaxed,
						      memory_order_relaxed))
		;
}

size_t ictx_hist_count(const struct ictx *c)
{
	return atomic_load_explicit(&c->nhists, memory_order_acquire);
}

const char *ictx_hist_name(const struct ictx *c, size_t i)
{
	return i < ictx_hist_count(c) ? c->hists[i].name : NULL;
}

bool ictx_hist_snapshot(const struct ictx *c, size_t i,
			struct ictx_hist_snap *out)
{
	const struct ictx_hist *h;

	if (i >= ictx_hist_count(c))
		return false;
	h = &c->hists[i];
	memset(out, 0, sizeof(*out));
	for (int k = 0; k < ICTX_HIST_STRIPES; k++) {
		const struct hist_stripe *s = &h->s[k];
		uint64_t m;

		out->count += atomic_load_explicit(&s->count, memory_order_relaxed);
		out->sum += atomic_load_explicit(&s->sum, memory_order_relaxed);
		m = atomic_load_explicit(&s->max, memory_order_relaxed);
		if (m > out->max)
			out->max = m;
		for (unsigned b = 0; b < ICTX_HIST_BUCKETS; b++)
			out->b[b] += atomic_load_explicit(&s->b[b],
							  memory_order_relaxed);
	}
	return true;
}

void ictx_hist_sub(struct ictx_hist_snap *s, const struct ictx_hist_snap *prev)
{
	/* counts only grow; a torn earlier read could make one smaller */
	s->count = s->count > prev->count ? s->count - prev->count : 0;
	s->sum = s->sum > prev->sum ? s->sum - prev->sum : 0;
	for (unsigned b = 0; b < ICTX_HIST_BUCKETS; b++)
		s->b[b] = s->b[b] > prev->b[b] ? s->b[b] - prev->b[b] : 0;
}

void ictx_hist_merge(struct ictx_hist_snap *into, const struct ictx_hist_snap *s)
{
	into->count += s->count;
	into->sum += s->sum;
	if (s->max > into->max)
		into->max = s->max;
	for (unsigned b = 0; b < ICTX_HIST_BUCKETS; b++)
		into->b[b] += s->b[b];
}

uint64_t ictx_hist_percentile(const struct ictx_hist_snap *s, double q)
{
	uint64_t total = 0, rank, seen = 0;

	for (unsigned b = 0; b < ICTX_HIST_BUCKETS; b++)
		total += s->b[b];
	if (!total)
		return 0;
	if (q < 0)
		q = 0;
	if (q > 1)
		q = 1;
	rank = (uint64_t)ceil(q * (double)total);
	if (rank == 0)
		rank = 1;
	for (unsigned b = 0; b < ICTX_HIST_BUCKETS; b++) {
		seen += s->b[b];
		if (seen >= rank) {
			uint64_t hi = ictx_hist_bucket_hi(b);

			return s->max && hi > s->max ? s->max : hi;
		}
	}
	return s->max;
}

/* ---- symptoms and log ---------------------------------------------- */

void ictx_symptom(struct ictx *c, const char *name, double value)
{
	size_t n;

	if (!c || !name || !*name)
		return;
	ML_CHECK_PTHREAD(pthread_mutex_lock(&c->reg_lock));
	n = atomic_load_explicit(&c->nsymptoms, memory_order_relaxed);
	for (size_t i = 0; i < n; i++)
		if (strcmp(c->symptoms[i].name, name) == 0) {
			c->symptoms[i].value = value;
			goto out;
		}
	if (n < ICTX_MAX_SYMPTOMS) {
		snprintf(c->symptoms[n].name, sizeof(c->symptoms[n].name), "%s",
			 name);
		c->symptoms[n].value = value;
		/* release: publishes the entry to lock-free readers */
		atomic_store_explicit(&c->nsymptoms, n + 1, memory_order_release);
	}
out:
	ML_CHECK_PTHREAD(pthread_mutex_unlock(&c->reg_lock));
}

void ictx_log(struct ictx *c, const char *fmt, ...)
{
	char line[4 * ICTX_LOG_LEN];
	va_list ap;
	uint64_t total;
	size_t slot;

	if (!c || !fmt)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	ML_CHECK_PTHREAD(pthread_mutex_lock(&c->reg_lock));
	total = atomic_load_explicit(&c->log_total, memory_order_relaxed);
	/* the first ICTX_LOG_HEAD lines stay; after them a ring keeps the
	 * latest, so an end-of-run summary is never pushed out */
	slot = total < ICTX_MAX_LOG ? (size_t)total
	       : ICTX_LOG_HEAD + (size_t)((total - ICTX_LOG_HEAD) %
					  (ICTX_MAX_LOG - ICTX_LOG_HEAD));
	text_one_line(c->log[slot], ICTX_LOG_LEN, line);
	if (total >= ICTX_MAX_LOG)
		c->log_dropped++;
	atomic_store_explicit(&c->log_total, total + 1, memory_order_relaxed);
	/* release: publishes the line to lock-free readers */
	atomic_store_explicit(&c->nlog, total < ICTX_MAX_LOG ? total + 1
				       : ICTX_MAX_LOG, memory_order_release);
	ML_CHECK_PTHREAD(pthread_mutex_unlock(&c->reg_lock));
}

size_t ictx_symptom_count(const struct ictx *c)
{
	return atomic_load_explicit(&c->nsymptoms, memory_order_acquire);
}

bool ictx_symptom_at(const struct ictx *c, size_t i, const char **name,
		     double *value)
{
	if (i >= ictx_symptom_count(c))
		return false;
	if (name)
		*name = c->symptoms[i].name;
	if (value)
		*value = c->symptoms[i].value;
	return true;
}

double ictx_symptom_value(const struct ictx *c, const char *name, double dflt)
{
	size_t n = ictx_symptom_count(c);

	for (size_t i = 0; i < n; i++)
		if (strcmp(c->symptoms[i].name, name) == 0)
			return c->symptoms[i].value;
	return dflt;
}

size_t ictx_log_count(const struct ictx *c)
{
	return atomic_load_explicit(&c->nlog, memory_order_acquire);
}

const char *ictx_log_at(const struct ictx *c, size_t i)
{
	uint64_t total = atomic_load_explicit(&c->log_total, memory_order_relaxed);
	uint64_t line;

	if (i >= ictx_log_count(c))
		return NULL;
	if (i < ICTX_LOG_HEAD || total <= ICTX_MAX_LOG)
		return c->log[i];
	line = total - ICTX_MAX_LOG + i; /* the i-th kept line's number */
	return c->log[ICTX_LOG_HEAD + (line - ICTX_LOG_HEAD) %
			(ICTX_MAX_LOG - ICTX_LOG_HEAD)];
}

uint64_t ictx_log_dropped(const struct ictx *c)
{
	return c->log_dropped;
}

/* ---- read-back ----------------------------------------------------- */

const struct incident *ictx_incident(const struct ictx *c) { return c->inc; }
const struct ictx_status *ictx_status(const struct ictx *c) { return &c->st; }

double ictx_elapsed_s(const struct ictx *c)
{
	if (!c->t0_ns)
		return 0;
	return (double)(ictx_now_ns() - c->t0_ns) / 1e9;
}

size_t ictx_param_count(const struct ictx *c) { return c->nparams; }

bool ictx_param_at(const struct ictx *c, size_t i, const char **name,
		   double *value)
{
	if (i >= c->nparams)
		return false;
	if (name)
		*name = c->pname[i];
	if (value)
		*value = c->pval[i];
	return true;
}

/* ---- the run ------------------------------------------------------- */

static uint64_t baseline_failures;

/* Called by the monitor: note the first budget refusal, end the run. */
static void check_refusal(struct ictx *c, const struct ml_alloc_snapshot *s,
			  double t)
{
	if (s->failures <= baseline_failures)
		return;
	if (c->st.budget_oom) {
		/* the allocator counts a refusal before it records its tag:
		 * a snapshot in between saw the count only */
		if (c->st.oom_tag < 0 && s->failed_tag >= 0)
			c->st.oom_tag = s->failed_tag;
		return;
	}
	ML_CHECK_PTHREAD(pthread_mutex_lock(&c->reg_lock));
	c->st.oom_tag = s->failed_tag;
	c->st.oom_at_s = t;
	/* a refusal with live bytes well below the budget came from malloc
	 * itself (RLIMIT_AS), not from the budget */
	c->st.budget_hit = s->budget && s->live_total >= s->budget / 4 * 3;
	c->st.budget_oom = true;
	ML_CHECK_PTHREAD(pthread_mutex_unlock(&c->reg_lock));
	ictx_request_stop(c);
}

/* Histogram figures of the interval since the last kept row. */
static void row_hists(struct ictx *c, struct tel_row *r)
{
	size_t nh = ictx_hist_count(c);

	for (size_t i = 0; i < ICTX_MAX_HISTS; i++) {
		struct ictx_hist_snap cur, d;
		uint64_t mx = 0;

		r->hist_p50[i] = r->hist_p99[i] = r->hist_max[i] = NAN;
		r->hist_n[i] = NAN;
		if (i >= nh || !ictx_hist_snapshot(c, i, &cur))
			continue;
		d = cur;
		ictx_hist_sub(&d, &c->tel_prev[i]);
		for (unsigned b = ICTX_HIST_BUCKETS; b-- > 0;)
			if (d.b[b]) {
				mx = ictx_hist_bucket_hi(b);
				if (cur.max && mx > cur.max)
					mx = cur.max;
				break;
			}
		r->hist_n[i] = (double)d.count;
		if (d.count) {
			r->hist_p50[i] = (double)ictx_hist_percentile(&d, 0.5);
			r->hist_p99[i] = (double)ictx_hist_percentile(&d, 0.99);
			r->hist_max[i] = (double)mx;
		}
		c->tel_prev[i] = cur;
	}
}

/* One telemetry row, when the ring keeps this tick: the monitor reads the
 * context and pushes the finished row (telemetry never reads back). */
static void monitor_row(struct ictx *c, double t,
			const struct ml_alloc_snapshot *snap, bool force)
{
	struct tel_row r;
	size_t nm = ictx_metric_count(c);

	if (!telemetry_due(c->tel, force))
		return;
	r.t_s = t;
	r.live_total = (double)snap->live_total;
	for (int i = 0; i < ML_TAG_COUNT; i++)
		r.live[i] = (double)snap->live[i];
	for (size_t i = 0; i < ICTX_MAX_METRICS; i++) {
		int64_t v;

		r.metric[i] = i < nm && ictx_metric_at(c, i, NULL, NULL, &v)
				      ? (double)v : NAN;
	}
	row_hists(c, &r);
	telemetry_push(c->tel, &r, force);
}

static void *monitor_main(void *arg)
{
	struct ictx *c = arg;
	struct timespec next;
	struct ml_alloc_snapshot snap;
	uint64_t period = (uint64_t)c->sample_ms * 1000000ull;
	uint64_t deadline = c->t0_ns + (uint64_t)(c->seconds * 1e9);

	clock_gettime(CLOCK_MONOTONIC, &next);
	for (;;) {
		uint64_t ns = (uint64_t)next.tv_nsec + period;
		double t;

		struct timespec now;

		next.tv_sec += (time_t)(ns / 1000000000ull);
		next.tv_nsec = (long)(ns % 1000000000ull);
		/* behind (a slow start, a loaded machine): skip the missed
		 * ticks instead of taking them back to back */
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec > next.tv_sec ||
		    (now.tv_sec == next.tv_sec && now.tv_nsec > next.tv_nsec)) {
			ns = (uint64_t)now.tv_nsec + period;
			next.tv_sec = now.tv_sec + (time_t)(ns / 1000000000ull);
			next.tv_nsec = (long)(ns % 1000000000ull);
		}
		while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next,
				       NULL) == EINTR)
			;
		/* acquire: pairs with the controller's release after teardown */
		if (atomic_load_explicit(&c->monitor_done, memory_order_acquire))
			break;
		t = ictx_elapsed_s(c);
		ml_alloc_snapshot(&snap);
		if (c->tel && !c->no_telemetry)
			monitor_row(c, t, &snap, false);
		check_refusal(c, &snap, t);
		if (ictx_now_ns() >= deadline)
			ictx_request_stop(c);
	}
	return NULL;
}

int ictx_run_inprocess(struct ictx *c)
{
	const struct incident *inc = c->inc;
	struct ml_alloc_snapshot snap;
	pthread_t mon;
	void *state = NULL;
	int rc;

	ml_alloc_snapshot(&snap);
	baseline_failures = snap.failures;
	c->st.live_before = snap.live_total;
	c->t0_ns = ictx_now_ns();
	if (c->budget)
		ml_alloc_set_budget(snap.live_total + c->budget);
	ML_CHECK_PTHREAD(pthread_create(&mon, NULL, monitor_main, c));

	c->st.phase = ICTX_PHASE_SETUP;
	rc = inc->setup(c, &state);
	c->st.setup_rc = rc;
	if (rc) {
		snprintf(c->st.error, sizeof(c->st.error), "setup failed: %s",
			 strerror(-rc));
		goto out;
	}
	c->st.phase = ICTX_PHASE_RUN;
	c->st.run_started_s = ictx_elapsed_s(c);
	rc = inc->run(state, c);
	c->st.run_rc = rc;
	c->st.run_ended_s = ictx_elapsed_s(c);
	ictx_request_stop(c);
	/* a refusal the monitor has not seen yet */
	ml_alloc_snapshot(&snap);
	check_refusal(c, &snap, ictx_elapsed_s(c));
	if (c->budget)
		ml_alloc_set_budget(0); /* let oracle and teardown finish */
	if (rc && !c->st.budget_oom)
		snprintf(c->st.error, sizeof(c->st.error), "run failed: %s",
			 strerror(-rc));
	if (!rc || c->st.budget_oom) {
		c->st.phase = ICTX_PHASE_ORACLE;
		if (inc->oracle)
			inc->oracle(state, c);
	}
	c->st.phase = ICTX_PHASE_TEARDOWN;
	if (inc->teardown)
		inc->teardown(state, c);
	ml_alloc_snapshot(&snap);
	c->st.live_after = snap.live_total;
	c->st.peak_live = snap.peak_total;
	ictx_symptom(c, "leaked_bytes",
		     snap.live_total > c->st.live_before
			     ? (double)(snap.live_total - c->st.live_before)
			     : 0);
	c->st.phase = ICTX_PHASE_DONE;
out:
	if (c->budget)
		ml_alloc_set_budget(0);
	ictx_request_stop(c);
	/* release: pairs with the monitor's acquire */
	atomic_store_explicit(&c->monitor_done, true, memory_order_release);
	ML_CHECK_PTHREAD(pthread_join(mon, NULL));
	if (c->tel && !c->no_telemetry) { /* a last row with the end state */
		ml_alloc_snapshot(&snap);
		monitor_row(c, ictx_elapsed_s(c), &snap, true);
	}
	if (c->st.budget_oom)
		return -ENOMEM;
	return c->st.setup_rc ? c->st.setup_rc : c->st.run_rc;
}

/* ---- a run controlled elsewhere (the Go child, gochild.c) ----------- */

struct ictx_status *ictx_status_rw(struct ictx *c)
{
	return &c->st;
}

void ictx_hist_add_snap(struct ictx_hist *h, const struct ictx_hist_snap *s)
{
	struct hist_stripe *st;
	uint64_t cur;

	if (!h || !s)
		return;
	st = &h->s[0];
	for (unsigned b = 0; b < ICTX_HIST_BUCKETS; b++)
		if (s->b[b]) /* relaxed: as ictx_hist_record */
			atomic_fetch_add_explicit(&st->b[b], s->b[b],
						  memory_order_relaxed);
	atomic_fetch_add_explicit(&st->count, s->count, memory_order_relaxed);
	atomic_fetch_add_explicit(&st->sum, s->sum, memory_order_relaxed);
	cur = atomic_load_explicit(&st->max, memory_order_relaxed);
	if (s->max > cur)
		atomic_store_explicit(&st->max, s->max, memory_order_relaxed);
}

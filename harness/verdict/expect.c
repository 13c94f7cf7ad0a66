/*
 * harness/verdict/expect.c - the expectation matrix: loading, rule evaluation and
 * the per-cell verdict (see expect.h for the semantics).
 *
 * Rule format (harness/verdict/expectations.json, documented in its "about"):
 *   { "class": "reproduces", "k": 2,            -- of the runs made
 *     "symptoms": ["lost_deletes", ...],        -- optional; default any
 *     "outcomes": ["crash","oom","hang"],       -- optional; default these
 *     "oom_tags": ["requests"],                 -- optional: an oom counts
 *                                                  only when the allocation
 *                                                  tag that grew is listed
 *                                                  (e.g. "outcomes":["oom"],
 *                                                  "oom_tags":["requests"]:
 *                                                  the expected pile-up)
 *     "min": {"inflight_peak": 200},            -- optional thresholds
 *     "min_ratio": {"hist.map_call.max_ms":     -- optional, time figures:
 *                   {"of": "sharded",           -- >= times x the median
 *                    "times": 3}},                 of that figure among the
 *                                                  same folder's runs of
 *                                                  this incident under the
 *                                                  variant "of"
 *     "max_ratio": {...},                       -- the same, <=
 *     "forbid_others": true }                   -- any other symptom > 0,
 *                                                  or an outcome not in
 *                                                  "outcomes", fails the
 *                                                  cell (a safe variant
 *                                                  that stalls must still
 *                                                  be correct)
 *   { "class": "holds",
 *     "max": {"peak_live_mib": 96, "latency_p99_ms": 250} }
 *   { "as": "mutex" }                            -- alias (exercise)
 * Ratios are turned into absolute bounds by expect_bind() against the
 * folder being judged (a rule whose reference did not run cannot pass);
 * counts and bytes stay absolute.
 * Figures known to "min"/"max": peak_live_mib, peak_rss_mib,
 * inflight_peak, latency_p99_ms, latency_max_ms, ops, throughput_ops_s
 * (from the run's summary), metric.<name> (metrics_final) and
 * hist.<name>.<p50|p90|p99|p999|max|sum>_ms (the run's histograms, e.g.
 * hist.map_call.max_ms: the longest a producer waited in one map call;
 * hist.map_call.sum_ms: all the time producers spent in map calls).
 * A record is read through its typed view (results_view, store/results.h);
 * metrics_final and histograms, which the view does not carry, by name.
 *
 * No shared state; every function is reentrant.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness/store/results.h"
#include "harness/verdict/expect.h"

static const char *const figures[] = {
	"peak_live_mib", "peak_rss_mib",   "inflight_peak", "latency_p99_ms",
	"latency_max_ms", "ops", "throughput_ops_s", NULL};

static bool known_figure(const char *name)
{
	const char *dot;

	if (!strncmp(name, "metric.", 7) && name[7])
		return true;
	if (!strncmp(name, "hist.", 5) && (dot = strrchr(name, '.')) > name + 5)
		return !strcmp(dot, ".p50_ms") || !strcmp(dot, ".p90_ms") ||
		       !strcmp(dot, ".p99_ms") || !strcmp(dot, ".p999_ms") ||
		       !strcmp(dot, ".max_ms") || !strcmp(dot, ".sum_ms");
	for (size_t i = 0; figures[i]; i++)
		if (!strcmp(figures[i], name))
			return true;
	return false;
}

/* hist.<name>.<q>_ms -> histograms.<name>.<q>_ns / 1e6, NaN if absent. */
static double hist_figure(const json_t *run, const char *name)
{
	const char *dot = strrchr(name, '.');
	char hist[64], key[16];
	const json_t *h, *v;

	if (dot - (name + 5) >= (long)sizeof(hist))
		return NAN;
	snprintf(hist, sizeof(hist), "%.*s", (int)(dot - (name + 5)), name + 5);
	snprintf(key, sizeof(key), "%.*s_ns", (int)(strlen(dot + 1) - 3), dot + 1);
	h = json_object_get(json_object_get(run, "histograms"), hist);
	v = json_object_get(h, key);
	return json_is_number(v) ? json_number_value(v) / 1e6 : NAN;
}

/* A figure of a run entry, NaN when absent: the summary's through the
 * record's typed view (results_view), metric.* and hist.* from the record
 * itself (the view carries neither metrics_final nor histograms). */
static double figure(const json_t *run, const char *name)
{
	struct results_run_view v;
	const json_t *m;

	if (!strncmp(name, "metric.", 7)) {
		m = json_object_get(json_object_get(run, "metrics_final"), name + 7);
		return json_is_number(m) ? json_number_value(m) : NAN;
	}
	if (!strncmp(name, "hist.", 5))
		return hist_figure(run, name);
	results_view(run, &v);
	if (!strcmp(name, "peak_live_mib"))
		return v.peak_live_bytes / (1 << 20);
	if (!strcmp(name, "peak_rss_mib"))
		return v.peak_rss_bytes / (1 << 20);
	if (!strcmp(name, "latency_p99_ms"))
		return v.p99_ns * 1e-6;
	if (!strcmp(name, "latency_max_ms"))
		return v.max_ns * 1e-6;
	if (!strcmp(name, "inflight_peak"))
		return v.inflight_peak;
	if (!strcmp(name, "ops"))
		return v.ops;
	if (!strcmp(name, "throughput_ops_s"))
		return v.ops_per_s;
	return NAN;
}

static int check_bounds(const json_t *obj, const char *what, char *err,
			size_t errlen, const char *cell)
{
	const char *k;
	json_t *v;

	if (!obj)
		return 0;
	if (!json_is_object(obj)) {
		snprintf(err, errlen, "%s: \"%s\" must be an object", cell, what);
		return -EINVAL;
	}
	json_object_foreach((json_t *)obj, k, v) {
		if (!known_figure(k) || !json_is_number(v)) {
			snprintf(err, errlen,
				 "%s: \"%s\".\"%s\" is not a known figure with "
				 "a number (known: peak_live_mib, peak_rss_mib, "
				 "inflight_peak, latency_p99_ms, latency_max_ms, "
				 "ops, throughput_ops_s, metric.NAME, "
				 "hist.NAME.p99_ms|max_ms|sum_ms|...)", cell, what, k);
			return -EINVAL;
		}
	}
	return 0;
}

/* "min_ratio"/"max_ratio": {figure: {"of": variant, "times": number > 0}} */
static int check_ratios(const json_t *obj, const char *what, char *err,
			size_t errlen, const char *cell)
{
	const char *k;
	json_t *v;

	if (!obj)
		return 0;
	if (!json_is_object(obj))
		goto bad;
	json_object_foreach((json_t *)obj, k, v) {
		const json_t *of = json_object_get(v, "of");
		const json_t *f = json_object_get(v, "times");

		if (!known_figure(k) || !json_is_string(of) ||
		    !json_is_number(f) || json_number_value(f) <= 0)
			goto bad;
	}
	return 0;
bad:
	snprintf(err, errlen,
		 "%s: \"%s\" must map a known figure to {\"of\": VARIANT, "
		 "\"times\": NUMBER > 0}", cell, what);
	return -EINVAL;
}

static int check_rule(const json_t *rule, const char *cell, char *err,
		      size_t errlen)
{
	const char *cls = json_string_value(json_object_get(rule, "class"));
	const json_t *as = json_object_get(rule, "as");
	const json_t *k = json_object_get(rule, "k");

	if (!json_is_object(rule)) {
		snprintf(err, errlen, "%s: a rule must be an object", cell);
		return -EINVAL;
	}
	if (as) {
		if (!json_is_string(as)) {
			snprintf(err, errlen, "%s: \"as\" names a variant", cell);
			return -EINVAL;
		}
		return 0;
	}
	if (!cls || (strcmp(cls, "reproduces") && strcmp(cls, "holds"))) {
		snprintf(err, errlen,
			 "%s: \"class\" must be \"reproduces\" or \"holds\"",
			 cell);
		return -EINVAL;
	}
	if (k && (!json_is_integer(k) || json_integer_value(k) < 1)) {
		snprintf(err, errlen, "%s: \"k\" must be a whole number >= 1",
			 cell);
		return -EINVAL;
	}
	if (json_object_get(rule, "forbid_others") &&
	    !json_is_boolean(json_object_get(rule, "forbid_others"))) {
		snprintf(err, errlen, "%s: \"forbid_others\" must be true or "
				      "false", cell);
		return -EINVAL;
	}
	if (check_bounds(json_object_get(rule, "min"), "min", err, errlen,
			 cell) ||
	    check_bounds(json_object_get(rule, "max"), "max", err, errlen, cell) ||
	    check_ratios(json_object_get(rule, "min_ratio"), "min_ratio", err,
			 errlen, cell) ||
	    check_ratios(json_object_get(rule, "max_ratio"), "max_ratio", err,
			 errlen, cell))
		return -EINVAL;
	if (json_object_get(rule, "oom_tags") &&
	    !json_is_array(json_object_get(rule, "oom_tags"))) {
		snprintf(err, errlen, "%s: \"oom_tags\" must be a list of "
				      "allocation tags, e.g. [\"requests\"]", cell);
		return -EINVAL;
	}
	return 0;
}

static int cmp_double(const void *a, const void *b);

/* The median of figure among the runs of incident x variant (*n of them
 * have it): the median, not the largest, because one preempted thread on
 * a loaded machine makes any single run's longest call long. */
static double ref_value(const json_t *runs, const char *incident,
			const char *variant, const char *fig, unsigned *n)
{
	double xs[256];
	size_t i;
	json_t *run;

	*n = 0;
	json_array_foreach((json_t *)runs, i, run) {
		struct results_run_view v;
		double x;

		results_view(run, &v);
		if (!v.incident || !v.variant || strcmp(v.incident, incident) ||
		    strcmp(v.variant, variant))
			continue;
		x = figure(run, fig);
		if (!isnan(x) && *n < sizeof(xs) / sizeof(xs[0]))
			xs[(*n)++] = x;
	}
	if (!*n)
		return NAN;
	qsort(xs, *n, sizeof(xs[0]), cmp_double);
	return *n % 2 ? xs[*n / 2] : (xs[*n / 2 - 1] + xs[*n / 2]) / 2;
}

/* Turn one rule's ratios into "min"/"max" bounds (the tighter of the
 * absolute bound and times x the reference wins) or mark it "unbound". */
static void bind_rule(json_t *rule, const char *incident, const json_t *runs)
{
	static const char *const kinds[2] = {"min_ratio", "max_ratio"};

	for (int is_max = 0; is_max < 2; is_max++) {
		const json_t *ratios = json_object_get(rule, kinds[is_max]);
		const char *fig;
		json_t *r;

		json_object_foreach((json_t *)ratios, fig, r) {
			const char *of = json_string_value(json_object_get(r, "of"));
			double k = json_number_value(json_object_get(r, "times"));
			const char *key = is_max ? "max" : "min";
			json_t *b = json_object_get(rule, key), *old;
			unsigned n;
			double ref = ref_value(runs, incident, of, fig, &n), bound;
			char note[160];

			if (!n) {
				snprintf(note, sizeof(note),
					 "unbound: %s needs %s's %s in the same run, "
					 "and %s x %s did not run (or lacks it)",
					 kinds[is_max], of, fig, incident, of);
				json_object_set_new(rule, "unbound", json_string(note));
				return;
			}
			bound = k * ref;
			if (!b) {
				b = json_object();
				json_object_set_new(rule, key, b);
			}
			old = json_object_get(b, fig);
			if (old && (is_max ? json_number_value(old) < bound
				       : json_number_value(old) > bound))
				bound = json_number_value(old);
			json_object_set_new(b, fig, json_real(bound));
		}
	}
}

json_t *expect_bind(const json_t *exp, const json_t *runs)
{
	json_t *out = json_deep_copy(exp), *row, *rule;
	const char *inc, *var;

	if (!out)
		return NULL;
	json_object_foreach(json_object_get(out, "cells"), inc, row)
		json_object_foreach(row, var, rule)
			if (json_is_object(rule))
				bind_rule(rule, inc, runs);
	return out;
}

json_t *expect_load(const char *path, char *err, size_t errlen)
{
	json_error_t je;
	json_t *exp = json_load_file(path, 0, &je);
	const json_t *cells;
	const char *inc, *var;
	json_t *row, *rule;
	char cell[160];

	if (!exp) {
		snprintf(err, errlen,
			 "%s:%d: %s (fix the file or pass --expect FILE)",
			 path, je.line, je.text);
		return NULL;
	}
	cells = json_object_get(exp, "cells");
	if (!json_is_object(cells)) {
		snprintf(err, errlen, "%s: no \"cells\" object (see the file's "
				      "\"about\" for the format)", path);
		goto bad;
	}
	json_object_foreach((json_t *)cells, inc, row) {
		if (!json_is_object(row)) {
			snprintf(err, errlen, "%s: cells.%s must be an object",
				 path, inc);
			goto bad;
		}
		json_object_foreach(row, var, rule) {
			snprintf(cell, sizeof(cell), "%s: %s x %s", path, inc,
				 var);
			if (check_rule(rule, cell, err, errlen))
				goto bad;
		}
	}
	return exp;
bad:
	json_decref(exp);
	return NULL;
}

const json_t *expect_rule(const json_t *exp, const char *incident,
			  const char *variant)
{
	const json_t *row =
		json_object_get(json_object_get(exp, "cells"), incident);
	const json_t *rule = json_object_get(row, variant);

	for (int hops = 0; rule && hops < 4; hops++) {
		const char *as = json_string_value(json_object_get(rule, "as"));
		if (!as)
			return rule;
		rule = json_object_get(row, as);
	}
	return NULL;
}

enum expect_class expect_class_of(const json_t *rule)
{
	const char *cls = json_string_value(json_object_get(rule, "class"));

	if (!cls)
		return EXPECT_NONE;
	return strcmp(cls, "reproduces") == 0 ? EXPECT_REPRODUCES
					      : EXPECT_HOLDS;
}

bool expect_in_list(const json_t *list, const char *s)
{
	size_t i;
	json_t *v;

	json_array_foreach((json_t *)list, i, v)
		if (json_is_string(v) && !strcmp(json_string_value(v), s))
			return true;
	return false;
}

/* A run that did not end ok, judged by how it ended: 1 the outcome is the
 * symptom, -2 the wrong failure (forbid_others), 0 go on to the figures
 * (an oom of another tag than the rule names, when others are allowed). */
static int outcome_symptom(const json_t *rule,
			   const struct results_run_view *run, bool holds,
			   bool forbid, char *why, size_t len)
{
	const json_t *outs = json_object_get(rule, "outcomes");
	const char *outcome = run->outcome, *sig = run->signal;
	const char *det = run->detector, *tag = run->oom_tag;
	bool counts = holds || !outs || expect_in_list(outs, outcome);
	const json_t *tags = json_object_get(rule, "oom_tags");

	if (counts && !holds && tags && !strcmp(outcome, "oom") &&
	    !(tag && expect_in_list(tags, tag))) {
		snprintf(why, len, "%soom of tag %s, not %s",
			 forbid ? "wrong: " : "", tag ? tag : "(none)",
			 json_string_value(json_array_get(tags, 0)));
		return forbid ? -2 : 0;
	}
	if (counts || forbid) {
		snprintf(why, len, "%s%s%s%s", counts ? "" : "wrong: ", outcome,
			 det ? ": " : sig ? " " : "", det ? det : sig ? sig : "");
		return counts ? 1 : -2;
	}
	return 0;
}

/* A run judged by its symptom counters and the rule's min/max bounds:
 * 1 a symptom showed, -2 a symptom the rule does not name (forbid), 0
 * none (why: the outcome). */
static int figure_symptom(const json_t *rule, const json_t *run,
			  const struct results_run_view *view, bool holds,
			  bool forbid, char *why, size_t len)
{
	const json_t *names = json_object_get(rule, "symptoms");
	const json_t *syms = view->symptoms;
	const char *k;
	json_t *v;

	if (forbid) {
		json_object_foreach((json_t *)syms, k, v) {
			if (json_number_value(v) > 0 &&
			    !(names && expect_in_list(names, k))) {
				snprintf(why, len, "wrong: %s=%.0f", k,
					 json_number_value(v));
				return -2;
			}
		}
	}
	json_object_foreach((json_t *)syms, k, v) {
		double x = json_number_value(v);
		if (x > 0 && (holds || !names || expect_in_list(names, k))) {
			snprintf(why, len, "%s=%.0f", k, x);
			return 1;
		}
	}
	json_object_foreach(json_object_get(rule, "min"), k, v) {
		double x = figure(run, k);
		if (!isnan(x) && x >= json_number_value(v)) {
			snprintf(why, len, "%s %.0f >= %g", k, x,
				 json_number_value(v));
			return 1;
		}
	}
	json_object_foreach(json_object_get(rule, "max"), k, v) {
		double x = figure(run, k);
		if (!isnan(x) && x > json_number_value(v)) {
			snprintf(why, len, "%s %.1f > %g", k, x,
				 json_number_value(v));
			return 1;
		}
	}
	snprintf(why, len, "%s", view->outcome);
	return 0;
}

int expect_run_symptom(const json_t *rule, const json_t *run, char *why,
		       size_t len)
{
	bool holds = expect_class_of(rule) == EXPECT_HOLDS;
	struct results_run_view view;
	const char *outcome;
	bool forbid;
	int rc;

	results_view(run, &view);
	outcome = view.outcome;
	if (!outcome || !strcmp(outcome, "error") ||
	    !strcmp(outcome, "interrupted")) {
		snprintf(why, len, "%s", outcome ? outcome : "no outcome");
		return -1;
	}
	if (json_is_string(json_object_get(rule, "unbound"))) {
		snprintf(why, len, "%s",
			 json_string_value(json_object_get(rule, "unbound")));
		return -1;
	}
	forbid = !holds && json_is_true(json_object_get(rule, "forbid_others"));
	if (strcmp(outcome, "ok") &&
	    (rc = outcome_symptom(rule, &view, holds, forbid, why, len)))
		return rc;
	return figure_symptom(rule, run, &view, holds, forbid, why, len);
}

void expect_wilson(unsigned x, unsigned n, double *lo, double *hi)
{
	const double z = 1.959963984540054;
	double p, d, c, h;

	if (n == 0) {
		*lo = 0;
		*hi = 1;
		return;
	}
	p = (double)x / n;
	d = 1 + z * z / n;
	c = (p + z * z / (2.0 * n)) / d;
	h = z * sqrt(p * (1 - p) / n + z * z / (4.0 * n * n)) / d;
	*lo = c - h < 0 ? 0 : c - h;
	*hi = c + h > 1 ? 1 : c + h;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* One margin per "min"/"max" bound, over the runs that finished. */
static void judge_margins(const json_t *rule, const json_t *runs,
			  struct expect_verdict *v)
{
	static const char *const keys[2] = {"max", "min"};

	v->margin = NAN;
	for (int lo = 0; lo < 2; lo++) {
		const char *fig;
		json_t *b;

		json_object_foreach(json_object_get(rule, keys[lo]), fig, b) {
			struct expect_margin *m;
			double worst = NAN, bound = json_number_value(b);
			size_t i;
			json_t *run;

			json_array_foreach((json_t *)runs, i, run) {
				double x = figure(run, fig);
				if (!isnan(x) && (isnan(worst) ||
						  (lo ? x < worst : x > worst)))
					worst = x;
			}
			if (isnan(worst) || v->nmargins == EXPECT_MAX_MARGINS)
				continue;
			m = &v->margins[v->nmargins++];
			snprintf(m->figure, sizeof(m->figure), "%s", fig);
			m->is_min = lo;
			m->bound = bound;
			m->worst = worst;
			m->margin = lo ? (bound > 0 ? worst / bound : INFINITY)
				       : (worst > 0 ? bound / worst : INFINITY);
			if (isnan(v->margin) || m->margin < v->margin)
				v->margin = m->margin;
		}
	}
}

void expect_judge(const json_t *rule, const json_t *runs,
		  struct expect_verdict *v)
{
	double times[256];
	unsigned nt = 0;
	size_t i;
	json_t *run;

	memset(v, 0, sizeof(*v));
	v->cls = expect_class_of(rule);
	v->median_t = NAN;
	json_array_foreach((json_t *)runs, i, run) {
		char why[sizeof(v->why)];
		int r = expect_run_symptom(rule, run, why, sizeof(why));

		v->runs++;
		if (r == -2) { /* a forbidden symptom: the cell fails */
			v->forbidden++;
			snprintf(v->why, sizeof(v->why), "%s", why);
			continue;
		}
		if (r < 0) {
			v->failed_runs++;
			if (!v->why[0] || v->cls == EXPECT_REPRODUCES)
				snprintf(v->why, sizeof(v->why), "%s", why);
			continue;
		}
		if (r == 0) {
			if (v->cls == EXPECT_REPRODUCES && !v->shown)
				snprintf(v->why, sizeof(v->why), "%s", why);
			continue;
		}
		v->shown++;
		/* a forbidden symptom, once seen, stays the reason */
		if ((v->cls == EXPECT_HOLDS || v->shown == 1) && !v->forbidden)
			snprintf(v->why, sizeof(v->why), "%s", why);
		if (nt < sizeof(times) / sizeof(times[0])) {
			struct results_run_view rv;
			double t;

			results_view(run, &rv);
			t = isnan(rv.time_to_outcome_s) ? rv.duration_s
							: rv.time_to_outcome_s;
			if (!isnan(t))
				times[nt++] = t;
		}
	}
	if (nt) {
		qsort(times, nt, sizeof(times[0]), cmp_double);
		v->median_t = nt % 2 ? times[nt / 2]
				     : (times[nt / 2 - 1] + times[nt / 2]) / 2;
	}
	v->p = v->runs ? (double)v->shown / v->runs : 0;
	expect_wilson(v->shown, v->runs, &v->lo, &v->hi);
	if (v->cls == EXPECT_REPRODUCES) {
		const json_t *k = json_object_get(rule, "k");
		unsigned need = json_is_integer(k) ? json_integer_value(k) : 1;
		v->k_wanted = need;
		v->k = need < v->runs ? need : v->runs;
		v->pass = v->runs > 0 && v->shown >= v->k && v->k > 0 &&
			  !v->forbidden;
	} else if (v->cls == EXPECT_HOLDS) {
		v->pass = v->runs > 0 && v->shown == 0 && v->failed_runs == 0;
		if (v->pass)
			snprintf(v->why, sizeof(v->why), "held");
	}
	judge_margins(rule, runs, v);
}

/*
 * harness/verdict/verdict.c - This file contains the design verdict (verdict.h):
 * pure functions from a run record to "broken: how" or "holds: cost".
 *
 * Invariants: nothing here allocates except verdict_json() and the
 * reference's scratch arrays; nothing reads
 * a file or the clock; every missing or mistyped field reads as NaN or
 * NULL, so a record of a run that died early still gets a verdict.  A
 * record is read through its typed view (results_view, store/results.h);
 * runtime, caps and the series, which the view does not carry, by name.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness/store/results.h"
#include "harness/verdict/verdict.h"

/* ---- JSON access --------------------------------------------------- */

static json_t *jget(json_t *o, const char *a, const char *b)
{
	json_t *x = json_object_get(o, a);

	return b ? json_object_get(x, b) : x;
}

static double jnum(json_t *x)
{
	return json_is_number(x) ? json_number_value(x) : NAN;
}

static const char *jstr(json_t *x)
{
	return json_is_string(x) ? json_string_value(x) : NULL;
}


/* ---- the reference --------------------------------------------------- */

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* The median of the known values in v[0..n) (sorted in place); NaN if
 * none. */
static double median(double *v, size_t n)
{
	size_t k = 0;

	for (size_t i = 0; i < n; i++)
		if (!isnan(v[i]))
			v[k++] = v[i];
	if (!k)
		return NAN;
	qsort(v, k, sizeof(*v), cmp_double);
	return k % 2 ? v[k / 2] : (v[k / 2 - 1] + v[k / 2]) / 2;
}

static bool is_go(json_t *rec)
{
	const char *rt = jstr(json_object_get(rec, "runtime"));

	return rt && !strcmp(rt, "go");
}

/* The medians of the ok runs of incident in recs[0..n) of one runtime. */
static void ref_medians(json_t *const *recs, size_t n, const char *incident,
			bool go, double *inf, double *p99, double *ref_inf,
			double *ref_p99)
{
	size_t k = 0;

	for (size_t i = 0; i < n; i++) {
		struct results_run_view rv;

		results_view(recs[i], &rv);
		if (!rv.incident || !incident || strcmp(rv.incident, incident) ||
		    !rv.outcome || strcmp(rv.outcome, "ok") ||
		    is_go(recs[i]) != go)
			continue;
		inf[k] = rv.inflight_peak;
		p99[k++] = rv.p99_ns / 1e6;
	}
	*ref_inf = median(inf, k);
	*ref_p99 = median(p99, k);
}

void verdict_ref_of(json_t *const *recs, size_t n, const char *incident,
		    struct verdict_ref *ref)
{
	double *inf = calloc(n ? n : 1, sizeof(*inf));
	double *p99 = calloc(n ? n : 1, sizeof(*p99));

	ref->inflight = ref->p99_ms = NAN;
	ref->go_inflight = ref->go_p99_ms = NAN;
	if (inf && p99) {
		ref_medians(recs, n, incident, false, inf, p99, &ref->inflight,
			    &ref->p99_ms);
		ref_medians(recs, n, incident, true, inf, p99,
			    &ref->go_inflight, &ref->go_p99_ms);
	}
	free(inf);
	free(p99);
}

/* ---- growth ---------------------------------------------------------- */

static long col_of(json_t *cols, const char *name)
{
	size_t i;
	json_t *c;

	json_array_foreach(cols, i, c)
		if (json_is_string(c) && !strcmp(json_string_value(c), name))
			return (long)i;
	return -1;
}

bool verdict_tipped(bool failed, double growth_mib_s, double threshold)
{
	return failed || (isfinite(growth_mib_s) && growth_mib_s > threshold);
}

double verdict_growth_mib_s(json_t *rec)
{
	json_t *ser = json_object_get(rec, "series");
	json_t *rows = json_object_get(ser, "rows");
	long ct = col_of(json_object_get(ser, "columns"), "t_s");
	long cl = col_of(json_object_get(ser, "columns"), "live_mib");
	size_t n = json_array_size(rows), k = 0;
	double sx = 0, sy = 0, sxx = 0, sxy = 0, x, y;
	struct results_run_view rv;
	double end, oom;

	results_view(rec, &rv);
	end = rv.seconds;
	oom = rv.oom_at_s;
	/* While loaded: up to the planned end or the OOM, whichever came
	 * first (after it the run drains and frees: not the design's growth) */
	if (!(end > 0) || oom < end)
		end = oom;
	if (ct < 0 || cl < 0)
		return NAN;
	while (n > 0 && end > 0 &&
	       jnum(json_array_get(json_array_get(rows, n - 1), (size_t)ct)) >
		       end)
		n--;
	if (n < 8)
		return NAN;
	/* The second half: the load is running, the setup is behind. */
	for (size_t i = n / 2; i < n; i++) {
		json_t *r = json_array_get(rows, i);

		x = jnum(json_array_get(r, (size_t)ct));
		y = jnum(json_array_get(r, (size_t)cl));
		if (isnan(x) || isnan(y))
			continue;
		sx += x, sy += y, sxx += x * x, sxy += x * y, k++;
	}
	if (k < 4 || sxx * (double)k - sx * sx <= 0)
		return NAN;
	return (sxy * (double)k - sx * sy) / (sxx * (double)k - sx * sx);
}

/* ---- the rules ------------------------------------------------------- */

static void set(struct verdict *v, enum verdict_class cls,
		enum verdict_how how, const char *how_word)
{
	v->cls = cls;
	v->how = how;
	snprintf(v->word, sizeof(v->word), "%s",
		 cls == VERDICT_HOLDS ? "holds"
		 : cls == VERDICT_BROKEN ? "broken" : "—");
	snprintf(v->how_word, sizeof(v->how_word), "%s", how_word);
}

/* Every symptom > 0 but torn_reads, as "name=value, ..."; false if none. */
static bool corrupt_symptoms(const json_t *syms, char *buf, size_t len)
{
	const char *name;
	json_t *val;
	size_t used = 0;

	buf[0] = '\0';
	json_object_foreach((json_t *)syms, name, val) {
		if (!strcmp(name, "torn_reads") || !(jnum(val) > 0))
			continue;
		if (used < len)
			used += (size_t)snprintf(buf + used, len - used,
						 "%s%s=%.0f", used ? ", " : "",
						 name, jnum(val));
	}
	return buf[0] != '\0';
}

static bool broken_outcome(const struct results_run_view *rv,
			   struct verdict *v)
{
	const char *out = rv->outcome;

	if (!strcmp(out, "crash")) {
		set(v, VERDICT_BROKEN, VERDICT_HOW_CRASH, "crash");
		snprintf(v->detail, sizeof(v->detail), "%s at %.2f s",
			 rv->detector ? rv->detector
			 : rv->signal ? rv->signal : "signal",
			 rv->duration_s);
		return true;
	}
	if (!strcmp(out, "oom")) {
		set(v, VERDICT_BROKEN, VERDICT_HOW_OOM, "oom");
		snprintf(v->detail, sizeof(v->detail), "at %.1f s (%s, %s)",
			 rv->oom_at_s, rv->oom_cap ? rv->oom_cap : "cap",
			 rv->oom_tag ? rv->oom_tag : "untracked");
		return true;
	}
	if (!strcmp(out, "hang")) {
		set(v, VERDICT_BROKEN, VERDICT_HOW_HANG, "hang");
		snprintf(v->detail, sizeof(v->detail), "killed after %.1f s",
			 rv->duration_s);
		return true;
	}
	return false;
}

/* A stall needs both signs at once.  By Little's law a lock really held
 * (in-flight = arrival rate x time in the system) raises the queue and
 * the latency together; one of them alone was, in the ci runs, a
 * preempted thread on a loaded 2-core machine: metrics x rcu once showed
 * p99 251 ms (8x) with in-flight only 2.4x the median. */
static bool stalled(const struct results_run_view *rv,
		    const struct verdict_ref *ref, struct verdict *v)
{
	double inf = rv->inflight_peak, p99 = rv->p99_ns / 1e6;
	double ref_inf = ref ? fmax(ref->inflight, 1.0) : NAN;

	if (!ref || isnan(ref->inflight) || !(ref->p99_ms > 0))
		return false;
	if (!(inf >= VERDICT_STALL_MIN_INFLIGHT &&
	      inf >= VERDICT_STALL_RATIO * ref_inf))
		return false;
	if (!(p99 >= VERDICT_STALL_MIN_P99_MS &&
	      p99 >= VERDICT_STALL_RATIO * ref->p99_ms))
		return false;
	set(v, VERDICT_BROKEN, VERDICT_HOW_STALL, "stall");
	snprintf(v->detail, sizeof(v->detail),
		 "in-flight peak %.0f and p99 %.1f ms (%.0fx and %.0fx the "
		 "median ok run's %.0f and %.1f ms)", inf, p99, inf / ref_inf,
		 p99 / ref->p99_ms, ref->inflight, ref->p99_ms);
	return true;
}

void verdict_of(json_t *rec, const struct verdict_ref *ref,
		struct verdict *v)
{
	struct results_run_view rv;
	const char *out;
	double live, budget;
	char list[160];

	results_view(rec, &rv);
	out = rv.outcome;
	live = rv.peak_live_bytes / 1048576;
	/* caps are not in the view: read by name */
	budget = jnum(jget(rec, "caps", "budget_bytes")) / 1048576;
	memset(v, 0, sizeof(*v));
	v->growth_mib_s = verdict_growth_mib_s(rec);
	v->to_cap_s = v->growth_mib_s > 0.1 && budget > live
			      ? (budget - live) / v->growth_mib_s
			      : NAN;
	if (!out || !strcmp(out, "error") || !strcmp(out, "interrupted")) {
		set(v, VERDICT_NONE, VERDICT_HOW_NONE, "");
		snprintf(v->detail, sizeof(v->detail), "no verdict: %s",
			 out ? out : "no record");
		return;
	}
	if (broken_outcome(&rv, v))
		return;
	if (corrupt_symptoms(rv.symptoms, list, sizeof(list))) {
		set(v, VERDICT_BROKEN, VERDICT_HOW_CORRUPT, "corrupt");
		snprintf(v->detail, sizeof(v->detail), "%s", list);
		return;
	}
	if (jnum(json_object_get(rv.symptoms, "torn_reads")) > 0) {
		set(v, VERDICT_BROKEN, VERDICT_HOW_TORN, "torn");
		snprintf(v->detail, sizeof(v->detail), "%.0f torn reads",
			 jnum(json_object_get(rv.symptoms, "torn_reads")));
		return;
	}
	if (ref && is_go(rec)) { /* a Go run: the Go runs' reference */
		struct verdict_ref go = {.inflight = ref->go_inflight,
					 .p99_ms = ref->go_p99_ms};

		if (stalled(&rv, &go, v))
			return;
	} else if (stalled(&rv, ref, v))
		return;
	set(v, VERDICT_HOLDS, VERDICT_HOW_NONE, "");
	snprintf(v->detail, sizeof(v->detail),
		 "peak live %.0f MiB, RSS %.0f MiB, p99 %.1f ms", live,
		 rv.peak_rss_bytes / 1048576, rv.p99_ns / 1e6);
}

void verdict_text(const struct verdict *v, char *buf, size_t len)
{
	if (v->how_word[0])
		snprintf(buf, len, "%s: %s %s", v->word, v->how_word,
			 v->detail);
	else
		snprintf(buf, len, "%s: %s", v->word, v->detail);
}

json_t *verdict_json(const struct verdict *v)
{
	json_t *j = json_object();

	json_object_set_new(j, "class", json_string(v->word));
	json_object_set_new(j, "how", v->how_word[0]
					      ? json_string(v->how_word)
					      : json_null());
	json_object_set_new(j, "detail", json_string(v->detail));
	json_object_set_new(j, "growth_mib_s",
			    isnan(v->growth_mib_s)
				    ? json_null()
				    : json_real(v->growth_mib_s));
	json_object_set_new(j, "to_cap_s", isnan(v->to_cap_s)
						   ? json_null()
						   : json_real(v->to_cap_s));
	return j;
}

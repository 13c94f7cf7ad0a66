/*
 * harness/report/report_text.c - the words and numbers a reader sees: outcomes,
 * symptoms, units, the incidents' stories, expectation marks, and the
 * tables that set the seed article's figures beside the lab's.
 *
 * Everything here is derived from the loaded report and from the incident
 * descriptors (incident.h: story, seed figures, notes; each incident's
 * <name>_facts.c); no incident is named in this file.  When the lab has no
 * measurement for a seed figure the cell says so ("not measured") instead
 * of staying blank.  Single-threaded.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness/verdict/expect.h"
#include "harness/report/report_impl.h"
#include "incidents/registry.h"

static const char *const failed_outcomes[] = { "crash", "oom", "hang" };

const char *rp_outcome(const struct rp_run *r)
{
	const char *o = r->v.outcome;

	return o ? o : "unknown";
}

bool rp_run_failed(const struct rp_run *r)
{
	const char *o = rp_outcome(r);

	for (size_t i = 0; i < 3; i++)
		if (strcmp(o, failed_outcomes[i]) == 0)
			return true;
	return false;
}

bool rp_run_symptomatic(const struct rp_run *r)
{
	return rp_run_failed(r) || r->v.symptoms_positive > 0;
}

double rp_time_to_outcome(const struct rp_run *r)
{
	double t;

	if (!rp_run_failed(r))
		return NAN;
	t = r->v.oom_at_s;
	if (isnan(t))
		t = r->v.time_to_outcome_s;
	if (isnan(t))
		t = r->v.duration_s;
	return t;
}

void rp_fmt_num(double v, char *buf, size_t n)
{
	if (isnan(v))
		snprintf(buf, n, "–");
	else if (fabs(v) >= 1e9)
		snprintf(buf, n, "%.2fG", v / 1e9);
	else if (fabs(v) >= 1e6)
		snprintf(buf, n, "%.2fM", v / 1e6);
	else if (fabs(v) >= 1e4)
		snprintf(buf, n, "%.1fk", v / 1e3);
	else if (v == floor(v) || fabs(v) >= 100)
		snprintf(buf, n, "%.0f", v);
	else
		snprintf(buf, n, "%.3g", v);
}

void rp_fmt_mib(double bytes, char *buf, size_t n)
{
	double m = bytes / 1048576.0;

	if (isnan(bytes))
		snprintf(buf, n, "–");
	else if (m >= 100)
		snprintf(buf, n, "%.0f MiB", m);
	else if (m >= 1)
		snprintf(buf, n, "%.1f MiB", m);
	else
		snprintf(buf, n, "%.2f MiB", m);
}

void rp_fmt_ms(double ns, char *buf, size_t n)
{
	double ms = ns / 1e6;

	if (isnan(ns))
		snprintf(buf, n, "–");
	else if (ms >= 1000)
		snprintf(buf, n, "%.2f s", ms / 1000);
	else if (ms >= 10)
		snprintf(buf, n, "%.0f ms", ms);
	else if (ms >= 0.01)
		snprintf(buf, n, "%.3g ms", ms);
	else
		snprintf(buf, n, "%.0f µs", ms * 1000 >= 1 ? ms * 1000 : 1);
}

void rp_fmt_rate(double per_s, char *buf, size_t n)
{
	char v[32];

	if (isnan(per_s)) {
		snprintf(buf, n, "–");
		return;
	}
	rp_fmt_num(per_s, v, sizeof(v));
	snprintf(buf, n, "%s/s", v);
}

void rp_fmt_outcome(const struct rp_run *r, char *buf, size_t n)
{
	const char *o = rp_outcome(r);
	const char *sig = r->v.signal;
	const char *cap = r->v.oom_cap;
	const char *err = r->v.error;
	double t = rp_time_to_outcome(r);

	if (!r->rec && !r->sum) {
		snprintf(buf, n, "no record");
	} else if (strcmp(o, "crash") == 0) {
		snprintf(buf, n, "crash%s%s%s at %.2f s", sig ? " (" : "",
			 sig ? sig : "", sig ? ")" : "", t);
	} else if (strcmp(o, "oom") == 0) {
		snprintf(buf, n, "OOM%s%s%s at %.2f s", cap ? " (" : "",
			 cap ? cap : "", cap ? " cap)" : "", t);
	} else if (strcmp(o, "hang") == 0) {
		snprintf(buf, n, "hang (timeout at %.1f s)", t);
	} else if (strcmp(o, "error") == 0 || strcmp(o, "interrupted") == 0) {
		snprintf(buf, n, "%s%s%.120s", o, err ? ": " : "",
			 err ? err : "");
	} else if (!strcmp(o, "ok") && r->v.ops == 0) {
		/* e.g. a warm-up that took the whole run on a loaded machine */
		snprintf(buf, n, "ok, but served no request");
	} else {
		snprintf(buf, n, "%s", o);
	}
	if (!r->rec && r->sum && strlen(buf) + 20 < n)
		strcat(buf, " (record missing)");
}

static const char *end_ellipsis(const char *tail, const char *last)
{
	const char *end = tail + strlen(tail);

	while (end > tail && (end[-1] == '\n' || end[-1] == ' '))
		end--;
	return strlen(last) >= 110 && (size_t)(end - tail) > strlen(last) ? "…" : "";
}

void rp_fmt_symptoms(const struct rp_run *r, char *buf, size_t n)
{
	json_t *sym = r->v.symptoms;
	const char *det = r->v.detector;
	const char *k;
	json_t *v;
	size_t used = 0;

	buf[0] = '\0';
	json_object_foreach(sym, k, v) {
		char val[48];

		if (!json_is_number(v) || json_number_value(v) <= 0)
			continue;
		if (strstr(k, "bytes"))
			rp_fmt_mib(json_number_value(v), val, sizeof(val));
		else
			rp_fmt_num(json_number_value(v), val, sizeof(val));
		used += (size_t)snprintf(buf + used, used < n ? n - used : 0,
					 "%s%s %s", used ? ", " : "", k, val);
		if (used >= n)
			break;
	}
	if (det && used < n)
		used += (size_t)snprintf(buf + used, n - used,
					 "%sdetector: \"%.100s\"",
					 used ? "; " : "", det);
	if (!det && rp_run_failed(r) && used < n) {
		/* the crash's own last words, e.g. the allocator catching a
		 * double free */
		const char *tail = r->v.stderr_tail;
		char last[200] = "";

		if (tail) {
			const char *end = tail + strlen(tail), *start;

			while (end > tail && (end[-1] == '\n' || end[-1] == ' '))
				end--;
			start = end;
			while (start > tail && start[-1] != '\n')
				start--;
			snprintf(last, sizeof(last), "%.*s",
				 (int)(end - start > 110 ? 110 : end - start), start);
		}
		if (last[0])
			used += (size_t)snprintf(buf + used, n - used,
						 "%sstderr: \"%s%s\"", used ? "; " : "",
						 last, end_ellipsis(tail, last));
	}
	if (!buf[0])
		snprintf(buf, n, "none");
}

int rp_expect_mark(const struct report *rp, const struct rp_run *r,
		   const char **cls, char *why, size_t n)
{
	const json_t *rule = expect_rule(rp->expect, r->incident, r->variant);
	enum expect_class c = expect_class_of(rule);
	int shown;

	*cls = NULL;
	if (why && n)
		why[0] = '\0';
	if (!rule || c == EXPECT_NONE || (!r->rec && !r->sum))
		return -1;
	*cls = c == EXPECT_REPRODUCES ? "reproduces" : "holds";
	shown = expect_run_symptom(rule, r->rec ? r->rec : r->sum, why, n);
	if (shown < 0)
		return 0; /* error/interrupted: neither */
	return c == EXPECT_REPRODUCES ? shown == 1 : shown == 0;
}

void rp_run_label(const struct report *rp, const struct rp_incident *inc,
		  const struct rp_run *r, char *buf, size_t n)
{
	bool reps = false;

	for (size_t i = 0; i < inc->nruns; i++) {
		const struct rp_run *o = &rp->runs[inc->runs[i]];

		if (o != r && strcmp(o->variant, r->variant) == 0)
			reps = true;
	}
	if (reps)
		snprintf(buf, n, "%s r%lld", r->variant, r->rep);
	else
		snprintf(buf, n, "%s", r->variant);
}

void rp_verdict(const struct report *rp, const struct rp_run *r,
		struct verdict *v)
{
	const struct verdict_ref *ref = NULL;

	for (size_t k = 0; k < rp->nincs && !ref; k++)
		if (!strcmp(rp->incs[k].name, r->incident))
			ref = &rp->incs[k].ref;
	verdict_of(r->rec ? r->rec : r->sum, ref, v);
}

/* "broken: oom at 1.0 s (budget, requests)" without the per-run detail
 * beyond the first: the label the run gets in the story sentence. */
static void story_label(const struct verdict *v, char *buf, size_t n)
{
	if (v->cls == VERDICT_HOLDS)
		snprintf(buf, n, "held (%s)", v->detail);
	else if (v->cls == VERDICT_BROKEN)
		snprintf(buf, n, "broke: %s %s", v->how_word, v->detail);
	else
		snprintf(buf, n, "%s", v->detail);
}

/* The runs' outcomes, "mutex held (...); unsafe broke: ...", into buf. */
static size_t story_runs(const struct report *rp, const struct rp_incident *inc,
			 char *buf, size_t n)
{
	size_t used = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < inc->nruns && used < n; i++) {
		const struct rp_run *r = &rp->runs[inc->runs[i]];
		char lab[80], what[300];
		struct verdict v;

		rp_run_label(rp, inc, r, lab, sizeof(lab));
		rp_verdict(rp, r, &v);
		story_label(&v, what, sizeof(what));
		used += (size_t)snprintf(buf + used, n - used, "%s%s %s",
					 used ? "; " : "", lab, what);
	}
	if (!inc->nruns)
		used = (size_t)snprintf(buf, n, "no run recorded");
	return used;
}

/* The incident's story (incident.h) with its INCIDENT_STORY_RUNS slot
 * filled; without a story, its summary and then the runs. */
void rp_story(const struct report *rp, const struct rp_incident *inc,
	      char *buf, size_t n)
{
	const struct incident *d = incident_find(inc->name);
	const char *s = d && d->story ? d->story : NULL;
	const char *slot = s ? strstr(s, INCIDENT_STORY_RUNS) : NULL;
	char runs[4096];

	story_runs(rp, inc, runs, sizeof(runs));
	if (slot)
		snprintf(buf, n, "%.*s%s%s", (int)(slot - s), s, runs,
			 slot + strlen(INCIDENT_STORY_RUNS));
	else
		snprintf(buf, n, "%s In this run: %s.",
			 s ? s : d ? d->summary :
			 "(No story is known for this incident.)", runs);
}

/*
 * Seed-vs-lab rows come from the incident's descriptor (struct
 * incident_seed in incident.h).  The lab value per variant is the largest
 * over its repetitions (a design review cares about the worst case).
 */
static const char *seed_header(const struct incident_seed *sd, int which)
{
	if (which)
		return sd && sd->failing_header ? sd->failing_header :
						  "seed: incident";
	return sd && sd->normal_header ? sd->normal_header : "seed: normal";
}

static double row_value(const struct incident_figure *sr, const struct rp_run *r,
			bool *have_col)
{
	long c;
	double scale = 1;

	switch (sr->src) {
	case INCIDENT_FIG_FIELD:
		return results_view_field(&r->v, sr->what);
	case INCIDENT_FIG_TTO:
		return rp_time_to_outcome(r);
	default:
		break;
	}
	if (!r->have_dat)
		return NAN;
	c = rp_series_pick(&r->ser, sr->what, NULL, 0, &scale);
	if (c < 0)
		return NAN;
	*have_col = true;
	/* Only samples taken while the load ran: after it the run drains
	 * and tears down, which frees (and fragments) everything. */
	{
		double tend = r->v.seconds;
		double v0 = NAN, t0 = NAN, v1 = NAN, t1 = NAN, mx = NAN, sum = 0;
		size_t k = 0;

		for (size_t i = 0; i < r->ser.nrows; i++) {
			double t = r->ser.v[i * r->ser.ncols];
			double v = r->ser.v[i * r->ser.ncols + (size_t)c];

			if (isnan(t) || isnan(v) || (tend > 0 && t > tend))
				continue;
			if (isnan(v0)) {
				v0 = v;
				t0 = t;
			}
			v1 = v;
			t1 = t;
			if (isnan(mx) || v > mx)
				mx = v;
			sum += v;
			k++;
		}
		if (sr->src == INCIDENT_FIG_COL_MAX)
			return scale * mx;
		if (sr->src == INCIDENT_FIG_COL_MEAN)
			return k ? scale * sum / (double)k : NAN;
		/* CRATE: (last - first) / (t_last - t_first) */
		return t1 > t0 ? scale * (v1 - v0) / (t1 - t0) : NAN;
	}
}

static char *fmt_unit(double v, enum incident_fig_unit u)
{
	char buf[64];

	if (isnan(v))
		return strdup("–");
	switch (u) {
	case INCIDENT_UNIT_MIB: rp_fmt_mib(v, buf, sizeof(buf)); break;
	case INCIDENT_UNIT_MS:
		/* SUM paths give ns, data columns give ms */
		rp_fmt_ms(v, buf, sizeof(buf));
		break;
	case INCIDENT_UNIT_RATE: rp_fmt_rate(v, buf, sizeof(buf)); break;
	case INCIDENT_UNIT_S: snprintf(buf, sizeof(buf), "%.2f s", v); break;
	case INCIDENT_UNIT_PCT: snprintf(buf, sizeof(buf), "%.1f%%", v); break;
	default: rp_fmt_num(v, buf, sizeof(buf)); break;
	}
	return strdup(buf);
}

void rp_table_free(struct rp_table *t)
{
	for (size_t i = 0; i < t->nrows; i++)
		for (size_t j = 0; j < t->ncols; j++)
			free(t->cell[i][j]);
	memset(t, 0, sizeof(*t));
}

/* The lab's cells of one seed row: per variant, the largest value over
 * its repetitions ("not measured" when no run has the column). */
static void seed_row_cells(const struct report *rp,
			   const struct rp_incident *inc,
			   const struct incident_figure *sr, const char **vars,
			   size_t nv, char **cells)
{
	bool have_col = false;

	for (size_t k = 0; k < nv; k++) {
		double best = NAN;

		for (size_t i = 0; i < inc->nruns; i++) {
			const struct rp_run *r = &rp->runs[inc->runs[i]];
			double v;

			if (strcmp(r->variant, vars[k]) != 0)
				continue;
			v = row_value(sr, r, &have_col);
			if (!isnan(v) && (isnan(best) || v > best))
				best = v;
		}
		cells[k] = fmt_unit(
			sr->unit == INCIDENT_UNIT_MS && sr->src != INCIDENT_FIG_FIELD ?
				best * 1e6 : best,
			sr->unit);
		if (sr->src == INCIDENT_FIG_TTO && !isnan(best) && cells[k]) {
			const char *o = "";
			char b[80];

			for (size_t i = 0; i < inc->nruns; i++) {
				const struct rp_run *r = &rp->runs[inc->runs[i]];

				if (!strcmp(r->variant, vars[k]) && rp_run_failed(r))
					o = rp_outcome(r);
			}
			snprintf(b, sizeof(b), "%s at %s", o, cells[k]);
			free(cells[k]);
			cells[k] = strdup(b);
		}
	}
	if (sr->src >= INCIDENT_FIG_COL_MAX && !have_col)
		for (size_t k = 0; k < nv; k++) {
			free(cells[k]);
			cells[k] = strdup("not measured");
		}
}

int rp_seed_table(const struct report *rp, const struct rp_incident *inc,
		  struct rp_table *t)
{
	const struct incident *d = incident_find(inc->name);
	const struct incident_seed *sd = d ? d->seed : NULL;
	const char *vars[9];
	size_t nv = 0;
	bool dropped = false;

	memset(t, 0, sizeof(*t));
	for (size_t i = 0; i < inc->nruns; i++) {
		const char *v = rp->runs[inc->runs[i]].variant;
		bool seen = false;

		for (size_t k = 0; k < nv; k++)
			seen |= strcmp(vars[k], v) == 0;
		if (seen)
			continue;
		if (nv == sizeof(vars) / sizeof(vars[0])) {
			dropped = true;
			continue;
		}
		vars[nv++] = v;
	}
	t->ncols = 3 + nv;
	t->cell[0][0] = strdup("seed figure → lab measurement");
	t->cell[0][1] = strdup(seed_header(sd, 0));
	t->cell[0][2] = strdup(seed_header(sd, 1));
	for (size_t k = 0; k < nv; k++) {
		char h[80];

		snprintf(h, sizeof(h), "lab: %s", vars[k]);
		t->cell[0][3 + k] = strdup(h);
	}
	t->nrows = 1;
	for (size_t s = 0; sd && sd->figures[s].figure; s++) {
		const struct incident_figure *sr = &sd->figures[s];
		size_t row = t->nrows;

		if (row >= 24)
			break;
		t->cell[row][0] = strdup(sr->figure);
		t->cell[row][1] = strdup(sr->normal);
		t->cell[row][2] = strdup(sr->failing);
		seed_row_cells(rp, inc, sr, vars, nv, &t->cell[row][3]);
		t->nrows++;
	}
	for (size_t i = 0; i < t->nrows; i++)
		for (size_t j = 0; j < t->ncols; j++)
			if (!t->cell[i][j]) {
				rp_table_free(t);
				return -1;
			}
	snprintf(t->note, sizeof(t->note),
		 "Seed figures are quoted from chapter 3 of the source article "
		 "(Go services, minutes of production traffic); lab figures are "
		 "from this run (seconds, under the run's memory cap), the "
		 "largest over each variant's repetitions; means and maxima of "
		 "sampled columns cover the time the load ran. \"–\": no value; "
		 "\"not measured\": this run's data has no such column.%s%s%s",
		 dropped ? " Variants beyond the ninth are left out." : "",
		 sd && sd->note ? " " : "", sd && sd->note ? sd->note : "");
	return 0;
}

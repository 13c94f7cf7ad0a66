/*
 * harness/report/report_plot.c - draws the report's charts with gnuplot.
 *
 * The renderer never parses JSON inside gnuplot: the time series are the
 * harness's flat data/<run>.dat files, and what comes from JSON (latency,
 * throughput, where a run crashed) is first written here into small flat
 * files beside the charts (plots/<incident>.runs.dat,
 * plots/<chart>.events.dat), so every chart can be redrawn by hand from
 * the folder alone.
 *
 * gnuplot runs as a child process (fork + exec, waited for) with its
 * working directory set to the results folder, so the paths it sees are
 * relative (data/..., .report.tmp.XXXXXX/plots/...) and the parameters go
 * in by -e.  Names on its command line are restricted to [A-Za-z0-9_.-]
 * by report_load.c; titles are escaped here.  Its output goes to
 * <tmp>/gnuplot.log, whose last line is quoted when it fails.
 *
 * A variant's colour is in its descriptor (struct map_variant); every
 * chart and the HTML legend swatches ask rp_color().  An incident's own
 * charts are in its descriptor too (struct incident_chart).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness/report/report_impl.h"
#include "incidents/registry.h"
#include "maps/map.h"

/* Benchmark peers are no map variants: their colours live here, beside
 * the spare ones (map variants carry theirs, maps/map.h). */
static const struct {
	const char *name;
	const char *rgb;
} peer_palette[] = {
	{ "glib", "#7f7f7f" }, { "lfht", "#bcbd22" },
};
/* Anything else (other peers, unknown names): picked by name, so the
 * same name has the same colour in every chart and every report. */
static const char *const spare[] = { "#e377c2", "#393b79", "#8c6d31",
				     "#843c39", "#637939", "#7b4173" };

const char *rp_color(const char *name)
{
	const struct map_variant *v = map_variant_find(name);
	unsigned h = 5381;

	if (v && v->colour)
		return v->colour;
	for (size_t i = 0; i < sizeof(peer_palette) / sizeof(peer_palette[0]); i++)
		if (strcmp(peer_palette[i].name, name) == 0)
			return peer_palette[i].rgb;
	for (const char *p = name; *p; p++)
		h = h * 33 + (unsigned char)*p;
	return spare[h % (sizeof(spare) / sizeof(spare[0]))];
}

static unsigned long rgb_int(const char *hex)
{
	return strtoul(hex + 1, NULL, 16);
}

/* ---- gnuplot parameters: a growing "name=value; ..." string ---- */

struct params {
	char *s;
	size_t len, cap;
	bool oom;
};

static void p_add(struct params *p, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void p_add(struct params *p, const char *fmt, ...)
{
	va_list ap;
	int n;

	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(p->s ? p->s + p->len : NULL,
			      p->s ? p->cap - p->len : 0, fmt, ap);
		va_end(ap);
		if (n < 0) {
			p->oom = true;
			return;
		}
		if (p->s && p->len + (size_t)n < p->cap) {
			p->len += (size_t)n;
			return;
		}
		size_t nc = (p->cap + (size_t)n + 1) * 2;
		char *ns = realloc(p->s, nc);

		if (!ns) {
			p->oom = true;
			return;
		}
		p->s = ns;
		p->cap = nc;
	}
}

/* name="value"; with gnuplot's double-quote escapes (a newline becomes
 * \n, which gnuplot turns back into a line break in labels) */
static void p_str(struct params *p, const char *name, const char *val)
{
	p_add(p, "%s=\"", name);
	for (const char *c = val; *c; c++) {
		if (*c == '"' || *c == '\\')
			p_add(p, "\\%c", *c);
		else if (*c == '\n')
			p_add(p, "\\n");
		else
			p_add(p, "%c", *c);
	}
	p_add(p, "\"; ");
}

static void p_free(struct params *p)
{
	free(p->s);
	memset(p, 0, sizeof(*p));
}

static void last_line(const char *path, char *buf, size_t n)
{
	char *text = rp_read_file(path, NULL);
	char *end, *start;

	buf[0] = '\0';
	if (!text)
		return;
	end = text + strlen(text);
	while (end > text && (end[-1] == '\n' || end[-1] == '\r'))
		*--end = '\0';
	start = strrchr(text, '\n');
	snprintf(buf, n, "%s", start ? start + 1 : text);
	free(text);
}

static int run_gnuplot(struct report *rp, const char *script,
		       struct params *p, char *err, size_t n)
{
	char spath[PATH_MAX], log[PATH_MAX];
	pid_t pid;
	int status;

	if (p->oom) {
		snprintf(err, n, "out of memory");
		return -ENOMEM;
	}
	snprintf(spath, sizeof(spath), "%s/%s", rp->plotdir, script);
	snprintf(log, sizeof(log), "%s/%s/gnuplot.log", rp->dir, rp->tmpname);
	p_str(p, "plotdir", rp->plotdir);
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		snprintf(err, n, "cannot start gnuplot: %s", strerror(errno));
		return -errno;
	}
	if (pid == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);

		if (fd < 0 || chdir(rp->dir) != 0)
			_exit(126);
		dup2(fd, 1);
		dup2(fd, 2);
		close(fd);
		execlp("gnuplot", "gnuplot", "-e", p->s, spath, (char *)NULL);
		_exit(127);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR) {
			snprintf(err, n, "waitpid: %s", strerror(errno));
			return -errno;
		}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 127) {
		snprintf(err, n, "gnuplot not found; install it "
			 "(apt-get install gnuplot-nox)");
		return -ENOENT;
	} else {
		char ll[300];

		last_line(log, ll, sizeof(ll));
		snprintf(err, n, "gnuplot failed on plots/%s: %s", script, ll);
	}
	return -EIO;
}

/* True once plots/<id>.svg (and .png) exist in the temporary folder. */
static bool chart_files_exist(struct report *rp, const char *id)
{
	char path[PATH_MAX];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s/plots/%s.svg", rp->dir,
		 rp->tmpname, id);
	if (stat(path, &st) != 0 || st.st_size == 0)
		return false;
	snprintf(path, sizeof(path), "%s/%s/plots/%s.png", rp->dir,
		 rp->tmpname, id);
	return stat(path, &st) == 0 && st.st_size > 0;
}

static FILE *open_tmp(struct report *rp, const char *name, char *rel,
		      size_t reln)
{
	char path[PATH_MAX];

	snprintf(rel, reln, "%s/plots/%s", rp->tmpname, name);
	RP_CUT(path, sizeof(path), "%s/%s", rp->dir, rel);
	return fopen(path, "w");
}

static struct rp_chart *new_chart(struct rp_incident *inc, const char *suffix,
				  const char *title, const char *caption)
{
	struct rp_chart *c;

	if (inc->ncharts >= RP_MAX_CHARTS)
		return NULL;
	c = &inc->charts[inc->ncharts++];
	memset(c, 0, sizeof(*c));
	snprintf(c->id, sizeof(c->id), "%s-%s", inc->name, suffix);
	snprintf(c->title, sizeof(c->title), "%s", title);
	snprintf(c->caption, sizeof(c->caption), "%s", caption);
	return c;
}

/* The memory chart's caps: the allocator budget (what live bytes run into)
 * and the RSS cap.  Drawn when the data comes near them (or a run hit
 * one); otherwise a note says they are above the scale, so the safe
 * variants' curves are not flattened against the axis. */
static void cap_params(struct report *rp, struct params *p, double hi,
		       bool any_oom)
{
	double cap = rp_jnum(rp->manifest, "caps.mem_cap_bytes") / 1048576.0;
	double bud = rp_jnum(rp->manifest, "caps.budget_bytes") / 1048576.0;
	double top = 0;
	char lab[120];

	if (!(cap > 0))
		return;
	if (any_oom || hi >= 0.5 * (bud > 0 ? bud : cap)) {
		snprintf(lab, sizeof(lab), "RSS cap %.0f MiB", cap);
		p_add(p, "cap=%.3f; ", cap);
		p_str(p, "caplabel", lab);
		top = cap;
		if (bud > 0 && bud < cap) {
			snprintf(lab, sizeof(lab), "allocator budget %.0f MiB "
				 "(live bytes)", bud);
			p_add(p, "cap2=%.3f; ", bud);
			p_str(p, "cap2label", lab);
		}
		p_add(p, "ymax=%.3f; ", fmax(top, hi) * 1.08);
	} else {
		if (bud > 0 && bud < cap)
			snprintf(lab, sizeof(lab), "caps off scale:\n"
				 "budget %.0f MiB\nRSS cap %.0f MiB", bud, cap);
		else
			snprintf(lab, sizeof(lab), "cap off scale:\n"
				 "RSS cap %.0f MiB", cap);
		p_str(p, "capnote", lab);
	}
}

struct ts_spec {
	const char *suffix, *title, *ylabel, *caption;
	const char *cols;     /* candidate columns for the solid line */
	const char *col2;     /* dashed line, or NULL */
	const char *lab1, *lab2;
	const char *variant;  /* only this variant, or NULL */
	bool rate;            /* plot per-second rate of a cumulative column */
	bool cap;             /* draw the memory cap */
	bool events;          /* mark crash/OOM/hang */
	bool linear;          /* never a log axis (zeros matter here) */
	bool panels;          /* one panel per variant (plots/panels.gp) */
};

/* Finite values of column c in a series. */
static size_t finite_count(const struct rp_series *s, long c)
{
	size_t k = 0;

	for (size_t r = 0; c >= 0 && r < s->nrows; r++)
		k += isfinite(s->v[r * s->ncols + (size_t)c]);
	return k;
}

/* One time-series chart for an incident; skipped (with the reason) when no
 * run has the column.  A line needs two points: a run with fewer samples
 * of the column (three for a rate: its first sample has none) is left out
 * of the chart and named in its caption; with none left the chart is not
 * drawn (gnuplot refuses a plot whose points are all undefined). */
/* Marks kept for label placement, per chart (more are drawn, unplaced). */
#define EV_MAX 32

/* The label row of a crash/OOM mark at (t, y): one above each earlier mark
 * near it (within 15% of the run length and 15% in value), so that two
 * runs that died together (mutex and rwlock at the budget) do not print
 * their labels over each other.  timeseries.gp draws rows 0-5,
 * alternately above and below the mark. */
static int label_row(const double *t0, const double *y0, size_t n, double t,
		     double y, double seconds)
{
	double dt = 0.15 * (seconds > 0 ? seconds : 1);
	int row = 0;

	for (size_t k = 0; k < n; k++)
		if (fabs(t0[k] - t) < dt &&
		    fabs(y0[k] - y) <= 0.15 * fmax(fabs(y0[k]), fabs(y)))
			row++;
	return row < 5 ? row : 5;
}

static int ts_chart(struct report *rp, struct rp_incident *inc,
		    const struct ts_spec *sp, char *err, size_t n)
{
	struct params p = { 0 }, files = { 0 }, names = { 0 }, colors = { 0 };
	struct params left = { 0 }; /* runs with too few samples */
	struct params pfirst = { 0 }, plast = { 0 }, ptitles = { 0 };
	size_t npanels = 0;
	const char *pvar = NULL; /* the variant of the open panel */
	struct rp_chart *c = new_chart(inc, sp->suffix, sp->title, sp->caption);
	char col[64] = "", rel[PATH_MAX];
	double lo = INFINITY, hi = 0, scale = 1;
	size_t nfiles = 0, nevents = 0;
	bool any_oom = false;
	double tend = 0;
	double evt[EV_MAX], evy[EV_MAX]; /* the marks drawn so far */
	FILE *ev = NULL;
	int rc = 0;

	if (!c)
		return 0;
	for (size_t i = 0; i < inc->nruns && !col[0]; i++) {
		struct rp_run *r = &rp->runs[inc->runs[i]];

		if (r->have_dat && (!sp->variant || !strcmp(r->variant, sp->variant)))
			rp_series_pick(&r->ser, sp->cols, col, sizeof(col), &scale);
	}
	if (!col[0]) {
		snprintf(c->why, sizeof(c->why),
			 "Not drawn: no run%s%s in this folder has a data "
			 "column %s.", sp->variant ? " of " : "",
			 sp->variant ? sp->variant : "", sp->cols);
		return 0;
	}
	if (sp->events) {
		char name[160];

		snprintf(name, sizeof(name), "%s.events.dat", c->id);
		ev = open_tmp(rp, name, rel, sizeof(rel));
		if (!ev) {
			snprintf(err, n, "cannot write %s: %s", rel, strerror(errno));
			return -errno;
		}
	}
	for (size_t i = 0; i < inc->nruns; i++) {
		struct rp_run *r = &rp->runs[inc->runs[i]];
		long ci = r->have_dat ? rp_series_col(&r->ser, col) : -1;
		long c2 = sp->col2 ? rp_series_col(&r->ser, sp->col2) : -1;
		bool first = true;
		double m;

		if (ci < 0 || (sp->variant && strcmp(r->variant, sp->variant)))
			continue;
		if (finite_count(&r->ser, ci) < (sp->rate ? 3u : 2u)) {
			char lab[80];

			rp_run_label(rp, inc, r, lab, sizeof(lab));
			p_add(&left, "%s%s", left.s ? ", " : "", lab);
			continue;
		}
		for (size_t k = 0; k < i; k++)
			if (!strcmp(rp->runs[inc->runs[k]].variant, r->variant) &&
			    rp->runs[inc->runs[k]].have_dat)
				first = false;
		if (sp->panels) { /* a variant's runs are consecutive */
			if (!pvar || strcmp(pvar, r->variant)) {
				if (pvar)
					p_add(&plast, "%s%zu", npanels > 1 ? " " : "",
					      nfiles);
				p_add(&pfirst, "%s%zu", npanels ? " " : "",
				      nfiles + 1);
				p_add(&ptitles, "%s%s", npanels ? " " : "",
				      r->variant);
				npanels++;
				pvar = r->variant;
			}
		}
		p_add(&files, "%sdata/%s.dat", nfiles ? " " : "", r->base);
		p_add(&names, "%s%s", nfiles ? " " : "", first ? r->variant : "-");
		p_add(&colors, "%s%s", nfiles ? " " : "", rp_color(r->variant));
		nfiles++;
		m = rp_series_max(&r->ser, ci);
		if (c2 >= 0 && rp_series_max(&r->ser, c2) > m)
			m = rp_series_max(&r->ser, c2);
		if (m > 0) {
			lo = fmin(lo, m);
			hi = fmax(hi, m);
		}
		any_oom |= !strcmp(rp_outcome(r), "oom");
		if (r->v.seconds > tend)
			tend = r->v.seconds;
		if (ev && rp_run_failed(r)) {
			double t = rp_time_to_outcome(r);
			double y = NAN;
			const char *o = rp_outcome(r);
			const char *sig = r->v.signal;
			const char *oom_tag = !strcmp(rp_outcome(r), "oom")
						      ? r->v.oom_tag
						      : NULL;
			int pt = !strcmp(o, "oom") ? 11 : !strcmp(o, "crash") ? 13 : 5;
			char lab[80];

			if (isnan(t))
				t = rp_series_last(&r->ser, 0);
			/* the value at the outcome: the last sample taken at or
			 * before it (after it the child may already be gone) */
			for (size_t k = 0; k < r->ser.nrows; k++) {
				double tk = r->ser.v[k * r->ser.ncols];
				double vk = r->ser.v[k * r->ser.ncols + (size_t)ci];

				if (tk <= t + 1e-9 && !isnan(vk))
					y = vk;
			}
			if (isnan(y))
				y = rp_series_last(&r->ser, ci);
			if (isnan(y) || isnan(t))
				continue;
			rp_run_label(rp, inc, r, lab, sizeof(lab));
			fprintf(ev, "%.4f %.6g %lu %d \"%s: %s %.2f s%s%s%s\" %d\n",
				t, y * scale, rgb_int(rp_color(r->variant)), pt, lab,
				!strcmp(o, "oom") ? "OOM" :
				!strcmp(o, "crash") ? (sig ? sig : "crash") : "hang",
				t, oom_tag ? " (" : "", oom_tag ? oom_tag : "",
				oom_tag ? ")" : "",
				label_row(evt, evy, nevents < EV_MAX ? nevents : EV_MAX,
					  t, y, r->v.seconds));
			if (nevents < EV_MAX) {
				evt[nevents] = t;
				evy[nevents] = y;
			}
			nevents++;
		}
	}
	if (ev && fclose(ev) != 0) {
		snprintf(err, n, "cannot write %s", rel);
		rc = -EIO;
		goto out;
	}
	if (left.oom) {
		snprintf(err, n, "out of memory");
		rc = -ENOMEM;
		goto out;
	}
	if (!nfiles) {
		RP_CUT(c->why, sizeof(c->why), "Not drawn: no run has two or "
		       "more samples of %s (%s).", col, left.s ? left.s : "");
		goto out;
	}
	if (left.s)
		RP_CUT(c->caption + strlen(c->caption),
		       sizeof(c->caption) - strlen(c->caption),
		       " Not in this chart (fewer than two samples): %s.", left.s);
	p_add(&p, "out=\"%s/plots/%s\"; ", rp->tmpname, c->id);
	p_str(&p, "title", sp->title);
	p_str(&p, "ylabel", sp->ylabel);
	p_str(&p, "files", files.s ? files.s : "");
	p_str(&p, "names", names.s ? names.s : "");
	p_str(&p, "colors", colors.s ? colors.s : "");
	p_str(&p, "ycol", col);
	if (sp->col2) {
		p_str(&p, "ycol2", sp->col2);
		p_str(&p, "lab1", sp->lab1);
		p_str(&p, "lab2", sp->lab2);
	}
	if (sp->rate)
		p_add(&p, "rate=1; ");
	if (scale != 1)
		p_add(&p, "scale=%g; ", scale);
	if (hi > 0 && lo < INFINITY && hi / lo > 30 && !sp->rate && !sp->linear)
		p_add(&p, "ylog=1; ");
	if (sp->cap)
		cap_params(rp, &p, hi, any_oom);
	if (tend > 0)
		p_add(&p, "tend=%g; ", tend);
	if (hi > 0 && lo < INFINITY && hi / lo > 30 && !sp->rate &&
	    !sp->linear && strlen(c->caption) + 60 < sizeof(c->caption))
		strcat(c->caption, " Log scale: zero values are not drawn.");
	if (nevents)
		p_add(&p, "events=\"%s\"; ", rel);
	if (sp->panels) {
		p_add(&plast, "%s%zu", npanels > 1 ? " " : "", nfiles);
		p_str(&p, "pfirst", pfirst.s ? pfirst.s : "");
		p_str(&p, "plast", plast.s ? plast.s : "");
		p_str(&p, "ptitles", ptitles.s ? ptitles.s : "");
		p_add(&p, "npanels=%zu; ", npanels);
		if (hi > 0)
			p_add(&p, "ymax=%g; ", hi * scale * 1.05);
	}
	rc = run_gnuplot(rp, sp->panels ? "panels.gp" : "timeseries.gp", &p,
			 err, n);
	if (rc == 0) {
		c->drawn = chart_files_exist(rp, c->id);
		if (!c->drawn)
			snprintf(c->why, sizeof(c->why),
				 "Not drawn: gnuplot wrote no image.");
	}
out:
	p_free(&p);
	p_free(&files);
	p_free(&names);
	p_free(&colors);
	p_free(&left);
	p_free(&pfirst);
	p_free(&plast);
	p_free(&ptitles);
	return rc;
}

/* Latency and throughput bars, from a flat file of the runs' summaries. */
static int bar_charts(struct report *rp, struct rp_incident *inc, char *err,
		      size_t n)
{
	char name[160], rel[PATH_MAX];
	FILE *f;
	double lmin = INFINITY;
	bool any_lat = false, any_thr = false;
	struct rp_chart *cl, *ct;
	int rc = 0;

	snprintf(name, sizeof(name), "%s.runs.dat", inc->name);
	f = open_tmp(rp, name, rel, sizeof(rel));
	if (!f) {
		snprintf(err, n, "cannot write %s: %s", rel, strerror(errno));
		return -errno;
	}
	fprintf(f, "# x label rgb p50_ms p99_ms max_ms ops_per_s note\n");
	for (size_t i = 0; i < inc->nruns; i++) {
		const struct rp_run *r = &rp->runs[inc->runs[i]];
		double p50 = r->v.p50_ns / 1e6;
		double p99 = r->v.p99_ns / 1e6;
		double mx = r->v.max_ns / 1e6;
		double thr = r->v.ops_per_s;
		const char *o = rp_outcome(r);
		char lab[80];

		rp_run_label(rp, inc, r, lab, sizeof(lab));
		if (p50 > 0)
			lmin = fmin(lmin, p50);
		if (p99 > 0)
			lmin = fmin(lmin, p99);
		any_lat |= p99 > 0 || mx > 0;
		any_thr |= thr > 0;
		fprintf(f, "%zu \"%s\" %lu %.6g %.6g %.6g %.6g \"%s\"\n", i, lab,
			rgb_int(rp_color(r->variant)), p50, p99, mx, thr,
			!strcmp(o, "ok") ? "" : !strcmp(o, "oom") ? "OOM" : o);
	}
	if (fclose(f) != 0) {
		snprintf(err, n, "cannot write %s", rel);
		return -EIO;
	}
	cl = new_chart(inc, "latency", "",
		       "Request latency per run: p50 (pale), p99 (mid) and "
		       "maximum (full colour), log scale. A run that crashed or "
		       "hit the cap is labelled above its bars; its latencies "
		       "cover only the time it lived.");
	if (cl) {
		snprintf(cl->title, sizeof(cl->title),
			 "%s: request latency per variant (p50 / p99 / max)",
			 inc->name);
		if (!any_lat) {
			snprintf(cl->why, sizeof(cl->why),
				 "Not drawn: no run recorded a latency.");
		} else {
			struct params p = { 0 };

			p_add(&p, "out=\"%s/plots/%s\"; data=\"%s\"; what=\"latency\"; "
			      "nbars=%zu; ymin=%.6g; ", rp->tmpname, cl->id, rel,
			      inc->nruns,
			      pow(10, floor(log10(lmin < INFINITY ? lmin / 1.5 : 0.001))));
			p_str(&p, "title", cl->title);
			p_str(&p, "ylabel", "latency (ms, log scale)");
			rc = run_gnuplot(rp, "bars.gp", &p, err, n);
			p_free(&p);
			if (rc)
				return rc;
			cl->drawn = chart_files_exist(rp, cl->id);
		}
	}
	ct = new_chart(inc, "throughput", "",
		       "Requests completed per second of the run's life. A "
		       "short-lived run (crash, OOM) is labelled; its rate "
		       "covers only the time it ran.");
	if (ct) {
		snprintf(ct->title, sizeof(ct->title),
			 "%s: throughput per variant", inc->name);
		if (!any_thr) {
			snprintf(ct->why, sizeof(ct->why),
				 "Not drawn: no run recorded a throughput.");
		} else {
			struct params p = { 0 };

			p_add(&p, "out=\"%s/plots/%s\"; data=\"%s\"; "
			      "what=\"throughput\"; nbars=%zu; ", rp->tmpname,
			      ct->id, rel, inc->nruns);
			p_str(&p, "title", ct->title);
			p_str(&p, "ylabel", "requests/s");
			rc = run_gnuplot(rp, "bars.gp", &p, err, n);
			p_free(&p);
			if (rc)
				return rc;
			ct->drawn = chart_files_exist(rp, ct->id);
		}
	}
	return 0;
}

/* An incident's own chart (its descriptor's list, incident.h): a time
 * series of the named columns, no cap, no events, log axis allowed. */
static int own_chart(struct report *rp, struct rp_incident *inc,
		     const struct incident_chart *ch, char *err, size_t n)
{
	struct ts_spec sp = {
		ch->id, ch->title, ch->ylabel, ch->caption, ch->cols, ch->col2,
		ch->label1, ch->label2, ch->variant, false, false, false, false,
		ch->panels,
	};

	return ts_chart(rp, inc, &sp, err, n);
}

static int incident_charts(struct report *rp, struct rp_incident *inc,
			   char *err, size_t n)
{
	const struct incident *d = incident_find(inc->name);
	struct ts_spec mem = {
		"memory", "", "MiB", "",
		"live_mib", "rss_mib", "live bytes", "RSS", NULL, false, true, true,
		false, false,
	};
	struct ts_spec infl = {
		"inflight", "", "requests in flight", "",
		"inflight", NULL, NULL, NULL, NULL, false, false, true, true,
		false,
	};
	char t1[160], t2[160];
	int rc;

	snprintf(t1, sizeof(t1), "%s: live bytes (solid) and RSS (dashed) over time",
		 inc->name);
	mem.title = t1;
	mem.caption = "Bytes the lab's counting allocator holds for the incident "
		      "(solid) and the process's resident set (dashed), one colour "
		      "per variant. The red line is the RSS cap and the orange one "
		      "the allocator budget (when the data comes near them); a mark "
		      "shows where a run crashed, hit the cap or hung. After "
		      "\"load stops\" the runs drain and tear down.";
	snprintf(t2, sizeof(t2), "%s: requests in flight over time", inc->name);
	infl.title = t2;
	infl.caption = "Requests accepted but not finished (the seed's goroutine "
		       "count): a pile-up here is threads waiting on the map.";
	rc = ts_chart(rp, inc, &mem, err, n);
	if (rc == 0)
		rc = ts_chart(rp, inc, &infl, err, n);
	if (rc == 0)
		rc = bar_charts(rp, inc, err, n);
	for (size_t i = 0; rc == 0 && d && d->charts && d->charts[i].id; i++)
		rc = own_chart(rp, inc, &d->charts[i], err, n);
	return rc;
}

static int bench_chart(struct report *rp, struct rp_bench_chart *b, char *err,
		       size_t n)
{
	char path[PATH_MAX], mix[120], id[96];
	struct rp_series s;
	struct params p = { 0 }, names = { 0 }, colors = { 0 }, dashes = { 0 };
	double lo = INFINITY, hi = 0;
	const char *stem = b->file + strlen("data/bench.");
	int rc = 0;

	snprintf(mix, sizeof(mix), "%.*s", (int)(strlen(stem) - 4), stem);
	RP_CUT(id, sizeof(id), "bench-%s", mix);
	for (char *c = id; *c; c++)
		if (*c == '.' || *c == '_')
			*c = '-';
	snprintf(b->chart.id, sizeof(b->chart.id), "%s", id);
	{
		char *dot = strrchr(mix, '.');

		if (dot)
			*dot = '\0';
		snprintf(b->chart.title, sizeof(b->chart.title),
			 "benchmark: %s mix, %s keys: operations/s by threads",
			 mix, dot ? dot + 1 : "?");
	}
	snprintf(b->chart.caption, sizeof(b->chart.caption),
		 "Median operations per second at each thread count: map "
		 "variants solid, peer libraries dashed (%s).", b->file);
	snprintf(path, sizeof(path), "%s/%s", rp->dir, b->file);
	if (rp_read_series(path, &s, err, n) != 0 || s.ncols < 2 ||
	    rp_series_col(&s, "threads") != 0) {
		snprintf(b->chart.why, sizeof(b->chart.why),
			 "Not drawn: %s has no \"threads\" column first.", b->file);
		rp_series_free(&s);
		return 0;
	}
	for (size_t i = 1; i < s.ncols; i++) {
		double m = rp_series_max(&s, (long)i);

		p_add(&names, "%s%s", i > 1 ? " " : "", s.cols[i]);
		p_add(&colors, "%s%s", i > 1 ? " " : "", rp_color(s.cols[i]));
		/* map variants solid, peers (other libraries) dashed */
		p_add(&dashes, "%s%d", i > 1 ? " " : "",
		      map_variant_find(s.cols[i]) ? 1 : 2);
		if (m > 0) {
			lo = fmin(lo, m);
			hi = fmax(hi, m);
		}
	}
	if (!(hi > 0)) {
		snprintf(b->chart.why, sizeof(b->chart.why),
			 "Not drawn: %s holds no measured point.", b->file);
		goto out;
	}
	p_add(&p, "out=\"%s/plots/%s\"; file=\"%s\"; ", rp->tmpname, id, b->file);
	p_str(&p, "title", b->chart.title);
	p_str(&p, "names", names.s ? names.s : "");
	p_str(&p, "colors", colors.s ? colors.s : "");
	p_str(&p, "dashes", dashes.s ? dashes.s : "");
	if (hi > 0 && hi / lo > 30)
		p_add(&p, "ylog=1; ");
	rc = run_gnuplot(rp, "bench.gp", &p, err, n);
	if (rc == 0)
		b->chart.drawn = chart_files_exist(rp, id);
out:
	p_free(&p);
	p_free(&names);
	p_free(&colors);
	p_free(&dashes);
	rp_series_free(&s);
	return rc;
}

int rp_plot(struct report *rp, char *err, size_t n)
{
	int rc = 0;

	for (size_t i = 0; rc == 0 && i < rp->nincs; i++)
		rc = incident_charts(rp, &rp->incs[i], err, n);
	for (size_t i = 0; rc == 0 && i < rp->nbcharts; i++)
		rc = bench_chart(rp, &rp->bcharts[i], err, n);
	return rc;
}

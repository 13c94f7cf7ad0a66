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
 * charts are in its descriptor too (struct incident_chart).  The Go
 * claims chart (go_claims_chart) takes its rows from report_go.c, which
 * reads goclaims.json and shows the chart on the page.
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

#include "harness/report/report_go.h"
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

/* What a time-series chart gathers from its runs before gnuplot draws
 * it: the gnuplot lists (files, names, colours, panels), the value range,
 * the crash/OOM marks written to ev. */
struct ts_build {
	const struct ts_spec *sp;
	char col[64];         /* the column drawn (first candidate present) */
	double scale;         /* its display factor */
	struct params files, names, colors;
	struct params left;   /* runs with too few samples */
	struct params pfirst, plast, ptitles;
	size_t npanels;
	const char *pvar;     /* the variant of the open panel */
	double lo, hi;        /* smallest and largest positive run maximum */
	size_t nfiles, nevents;
	bool any_oom;
	double tend;          /* the longest run's length */
	double evt[EV_MAX], evy[EV_MAX]; /* the marks drawn so far */
	FILE *ev;             /* the marks file, or NULL */
	char rel[PATH_MAX];   /* its path for gnuplot */
};

static void ts_free(struct ts_build *b)
{
	p_free(&b->files);
	p_free(&b->names);
	p_free(&b->colors);
	p_free(&b->left);
	p_free(&b->pfirst);
	p_free(&b->plast);
	p_free(&b->ptitles);
}

/* The first candidate column any run (of the chart's variant) has. */
static void ts_pick_column(const struct report *rp,
			   const struct rp_incident *inc, struct ts_build *b)
{
	for (size_t i = 0; i < inc->nruns && !b->col[0]; i++) {
		const struct rp_run *r = &rp->runs[inc->runs[i]];

		if (r->have_dat &&
		    (!b->sp->variant || !strcmp(r->variant, b->sp->variant)))
			rp_series_pick(&r->ser, b->sp->cols, b->col,
				       sizeof(b->col), &b->scale);
	}
}

/* The crash/OOM/hang mark of a failed run at its outcome, with the value
 * of column ci then (the last sample taken at or before it: after it the
 * child may already be gone). */
static void ts_event(const struct report *rp, const struct rp_incident *inc,
		     const struct rp_run *r, long ci, struct ts_build *b)
{
	double t = rp_time_to_outcome(r), y = NAN;
	const char *o = rp_outcome(r);
	const char *sig = r->v.signal;
	const char *oom_tag = !strcmp(o, "oom") ? r->v.oom_tag : NULL;
	int pt = !strcmp(o, "oom") ? 11 : !strcmp(o, "crash") ? 13 : 5;
	char lab[80];

	if (isnan(t))
		t = rp_series_last(&r->ser, 0);
	for (size_t k = 0; k < r->ser.nrows; k++) {
		double tk = r->ser.v[k * r->ser.ncols];
		double vk = r->ser.v[k * r->ser.ncols + (size_t)ci];

		if (tk <= t + 1e-9 && !isnan(vk))
			y = vk;
	}
	if (isnan(y))
		y = rp_series_last(&r->ser, ci);
	if (isnan(y) || isnan(t))
		return;
	rp_run_label(rp, inc, r, lab, sizeof(lab));
	fprintf(b->ev, "%.4f %.6g %lu %d \"%s: %s %.2f s%s%s%s\" %d\n",
		t, y * b->scale, rgb_int(rp_color(r->variant)), pt, lab,
		!strcmp(o, "oom") ? "OOM" :
		!strcmp(o, "crash") ? (sig ? sig : "crash") : "hang",
		t, oom_tag ? " (" : "", oom_tag ? oom_tag : "",
		oom_tag ? ")" : "",
		label_row(b->evt, b->evy, b->nevents < EV_MAX ? b->nevents : EV_MAX,
			  t, y, r->v.seconds));
	if (b->nevents < EV_MAX) {
		b->evt[b->nevents] = t;
		b->evy[b->nevents] = y;
	}
	b->nevents++;
}

/* A panel per variant: a variant's runs are consecutive. */
static void ts_panel(struct ts_build *b, const struct rp_run *r)
{
	if (b->pvar && !strcmp(b->pvar, r->variant))
		return;
	if (b->pvar)
		p_add(&b->plast, "%s%zu", b->npanels > 1 ? " " : "", b->nfiles);
	p_add(&b->pfirst, "%s%zu", b->npanels ? " " : "", b->nfiles + 1);
	p_add(&b->ptitles, "%s%s", b->npanels ? " " : "", r->variant);
	b->npanels++;
	b->pvar = r->variant;
}

/* Run i of the incident into the chart, or into b->left when it has too
 * few samples of the column. */
static void ts_add_run(const struct report *rp, const struct rp_incident *inc,
		       size_t i, struct ts_build *b)
{
	const struct ts_spec *sp = b->sp;
	const struct rp_run *r = &rp->runs[inc->runs[i]];
	long ci = r->have_dat ? rp_series_col(&r->ser, b->col) : -1;
	long c2 = sp->col2 ? rp_series_col(&r->ser, sp->col2) : -1;
	bool first = true;
	double m;

	if (ci < 0 || (sp->variant && strcmp(r->variant, sp->variant)))
		return;
	if (finite_count(&r->ser, ci) < (sp->rate ? 3u : 2u)) {
		char lab[80];

		rp_run_label(rp, inc, r, lab, sizeof(lab));
		p_add(&b->left, "%s%s", b->left.s ? ", " : "", lab);
		return;
	}
	for (size_t k = 0; k < i; k++)
		if (!strcmp(rp->runs[inc->runs[k]].variant, r->variant) &&
		    rp->runs[inc->runs[k]].have_dat)
			first = false;
	if (sp->panels)
		ts_panel(b, r);
	p_add(&b->files, "%sdata/%s.dat", b->nfiles ? " " : "", r->base);
	p_add(&b->names, "%s%s", b->nfiles ? " " : "", first ? r->variant : "-");
	p_add(&b->colors, "%s%s", b->nfiles ? " " : "", rp_color(r->variant));
	b->nfiles++;
	m = rp_series_max(&r->ser, ci);
	if (c2 >= 0 && rp_series_max(&r->ser, c2) > m)
		m = rp_series_max(&r->ser, c2);
	if (m > 0) {
		b->lo = fmin(b->lo, m);
		b->hi = fmax(b->hi, m);
	}
	b->any_oom |= !strcmp(rp_outcome(r), "oom");
	if (r->v.seconds > b->tend)
		b->tend = r->v.seconds;
	if (b->ev && rp_run_failed(r))
		ts_event(rp, inc, r, ci, b);
}

/* The gnuplot parameters of a gathered chart; the log-scale note goes
 * into its caption. */
static void ts_params(struct report *rp, struct rp_chart *c,
		      struct ts_build *b, struct params *p)
{
	const struct ts_spec *sp = b->sp;
	bool ylog = b->hi > 0 && b->lo < INFINITY && b->hi / b->lo > 30 &&
		    !sp->rate && !sp->linear;

	p_add(p, "out=\"%s/plots/%s\"; ", rp->tmpname, c->id);
	p_str(p, "title", sp->title);
	p_str(p, "ylabel", sp->ylabel);
	p_str(p, "files", b->files.s ? b->files.s : "");
	p_str(p, "names", b->names.s ? b->names.s : "");
	p_str(p, "colors", b->colors.s ? b->colors.s : "");
	p_str(p, "ycol", b->col);
	if (sp->col2) {
		p_str(p, "ycol2", sp->col2);
		p_str(p, "lab1", sp->lab1);
		p_str(p, "lab2", sp->lab2);
	}
	if (sp->rate)
		p_add(p, "rate=1; ");
	if (b->scale != 1)
		p_add(p, "scale=%g; ", b->scale);
	if (ylog)
		p_add(p, "ylog=1; ");
	if (sp->cap)
		cap_params(rp, p, b->hi, b->any_oom);
	if (b->tend > 0)
		p_add(p, "tend=%g; ", b->tend);
	if (ylog && strlen(c->caption) + 60 < sizeof(c->caption))
		strcat(c->caption, " Log scale: zero values are not drawn.");
	if (b->nevents)
		p_add(p, "events=\"%s\"; ", b->rel);
	if (sp->panels) {
		p_add(&b->plast, "%s%zu", b->npanels > 1 ? " " : "", b->nfiles);
		p_str(p, "pfirst", b->pfirst.s ? b->pfirst.s : "");
		p_str(p, "plast", b->plast.s ? b->plast.s : "");
		p_str(p, "ptitles", b->ptitles.s ? b->ptitles.s : "");
		p_add(p, "npanels=%zu; ", b->npanels);
		if (b->hi > 0)
			p_add(p, "ymax=%g; ", b->hi * b->scale * 1.05);
	}
}

/* Open the marks file of chart c, when its spec wants marks. */
static int ts_open_events(struct report *rp, const struct rp_chart *c,
			  struct ts_build *b, char *err, size_t n)
{
	char name[160];

	if (!b->sp->events)
		return 0;
	snprintf(name, sizeof(name), "%s.events.dat", c->id);
	b->ev = open_tmp(rp, name, b->rel, sizeof(b->rel));
	if (!b->ev) {
		snprintf(err, n, "cannot write %s: %s", b->rel, strerror(errno));
		return -errno;
	}
	return 0;
}

/* One time-series chart for an incident; skipped (with the reason) when no
 * run has the column.  A line needs two points: a run with fewer samples
 * of the column (three for a rate: its first sample has none) is left out
 * of the chart and named in its caption; with none left the chart is not
 * drawn (gnuplot refuses a plot whose points are all undefined). */
static int ts_chart(struct report *rp, struct rp_incident *inc,
		    const struct ts_spec *sp, char *err, size_t n)
{
	struct rp_chart *c = new_chart(inc, sp->suffix, sp->title, sp->caption);
	struct ts_build b = { .sp = sp, .scale = 1, .lo = INFINITY };
	struct params p = { 0 };
	int rc;

	if (!c)
		return 0;
	ts_pick_column(rp, inc, &b);
	if (!b.col[0]) {
		snprintf(c->why, sizeof(c->why),
			 "Not drawn: no run%s%s in this folder has a data "
			 "column %s.", sp->variant ? " of " : "",
			 sp->variant ? sp->variant : "", sp->cols);
		return 0;
	}
	rc = ts_open_events(rp, c, &b, err, n);
	if (rc)
		return rc;
	for (size_t i = 0; i < inc->nruns; i++)
		ts_add_run(rp, inc, i, &b);
	if (b.ev && fclose(b.ev) != 0) {
		snprintf(err, n, "cannot write %s", b.rel);
		rc = -EIO;
		goto out;
	}
	if (b.left.oom) {
		snprintf(err, n, "out of memory");
		rc = -ENOMEM;
		goto out;
	}
	if (!b.nfiles) {
		RP_CUT(c->why, sizeof(c->why), "Not drawn: no run has two or "
		       "more samples of %s (%s).", b.col, b.left.s ? b.left.s : "");
		goto out;
	}
	if (b.left.s)
		RP_CUT(c->caption + strlen(c->caption),
		       sizeof(c->caption) - strlen(c->caption),
		       " Not in this chart (fewer than two samples): %s.", b.left.s);
	ts_params(rp, c, &b, &p);
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
	ts_free(&b);
	return rc;
}

/* One bar chart (bars.gp) over the runs' summary file. */
struct bar_spec {
	const char *what;     /* "latency" or "throughput": id and bars.gp mode */
	const char *title;    /* after "<incident>: " */
	const char *caption;
	const char *ylabel;
	const char *none;     /* what no run recorded, when not drawn */
};

static int bar_chart(struct report *rp, struct rp_incident *inc,
		     const char *rel, const struct bar_spec *bs, bool any,
		     double ymin, char *err, size_t n)
{
	struct rp_chart *c = new_chart(inc, bs->what, "", bs->caption);
	struct params p = { 0 };
	int rc;

	if (!c)
		return 0;
	snprintf(c->title, sizeof(c->title), "%s: %s", inc->name, bs->title);
	if (!any) {
		snprintf(c->why, sizeof(c->why),
			 "Not drawn: no run recorded a %s.", bs->none);
		return 0;
	}
	p_add(&p, "out=\"%s/plots/%s\"; data=\"%s\"; what=\"%s\"; nbars=%zu; ",
	      rp->tmpname, c->id, rel, bs->what, inc->nruns);
	if (!isnan(ymin))
		p_add(&p, "ymin=%.6g; ", ymin);
	p_str(&p, "title", c->title);
	p_str(&p, "ylabel", bs->ylabel);
	rc = run_gnuplot(rp, "bars.gp", &p, err, n);
	p_free(&p);
	if (rc == 0)
		c->drawn = chart_files_exist(rp, c->id);
	return rc;
}

/* The runs' summaries as a flat file for bars.gp (rel); *lmin the
 * smallest positive p50 or p99 in ms; *any_lat, *any_thr whether any run
 * recorded a latency/throughput.  0 or -errno (message). */
static int bar_data(struct report *rp, const struct rp_incident *inc,
		    char *rel, size_t rlen, double *lmin, bool *any_lat,
		    bool *any_thr, char *err, size_t n)
{
	char name[160];
	FILE *f;

	snprintf(name, sizeof(name), "%s.runs.dat", inc->name);
	f = open_tmp(rp, name, rel, rlen);
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
			*lmin = fmin(*lmin, p50);
		if (p99 > 0)
			*lmin = fmin(*lmin, p99);
		*any_lat |= p99 > 0 || mx > 0;
		*any_thr |= thr > 0;
		fprintf(f, "%zu \"%s\" %lu %.6g %.6g %.6g %.6g \"%s\"\n", i, lab,
			rgb_int(rp_color(r->variant)), p50, p99, mx, thr,
			!strcmp(o, "ok") ? "" : !strcmp(o, "oom") ? "OOM" : o);
	}
	if (fclose(f) != 0) {
		snprintf(err, n, "cannot write %s", rel);
		return -EIO;
	}
	return 0;
}

static const struct bar_spec latency_bars = {
	"latency", "request latency per variant (p50 / p99 / max)",
	"Request latency per run: p50 (pale), p99 (mid) and maximum (full "
	"colour), log scale. A run that crashed or hit the cap is labelled "
	"above its bars; its latencies cover only the time it lived.",
	"latency (ms, log scale)", "latency",
};

static const struct bar_spec throughput_bars = {
	"throughput", "throughput per variant",
	"Requests completed per second of the run's life. A short-lived run "
	"(crash, OOM) is labelled; its rate covers only the time it ran.",
	"requests/s", "throughput",
};

/* Latency and throughput bars, from a flat file of the runs' summaries. */
static int bar_charts(struct report *rp, struct rp_incident *inc, char *err,
		      size_t n)
{
	char rel[PATH_MAX];
	double lmin = INFINITY;
	bool any_lat = false, any_thr = false;
	int rc = bar_data(rp, inc, rel, sizeof(rel), &lmin, &any_lat, &any_thr,
			  err, n);

	if (rc == 0)
		rc = bar_chart(rp, inc, rel, &latency_bars, any_lat,
			       pow(10, floor(log10(lmin < INFINITY ? lmin / 1.5
								   : 0.001))),
			       err, n);
	if (rc == 0)
		rc = bar_chart(rp, inc, rel, &throughput_bars, any_thr, NAN,
			       err, n);
	return rc;
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

/* The Go claims chart (#go-claims-died, plots/goclaims.gp) from the rows
 * report_go.c writes into plots/go-claims-died.dat; nothing when the
 * folder has no goclaims.json or no row (the page says why). */
static int go_claims_chart(struct report *rp, char *err, size_t n)
{
	char rel[PATH_MAX], plain[8], paled[8];
	struct params p = { 0 };
	FILE *f = open_tmp(rp, RP_GO_CHART_ID ".dat", rel, sizeof(rel));
	bool ok = f != NULL;
	int rows = -1, rc;

	if (ok) {
		rows = rp_go_chart_rows(rp, f, plain, paled);
		ok = fclose(f) == 0;
	}
	if (!ok) {
		rc = -errno;
		snprintf(err, n, "cannot write %s: %s", rel, strerror(-rc));
		return rc;
	}
	if (rows < 0) { /* no goclaims.json: no chart, no data file */
		char path[PATH_MAX];

		RP_CUT(path, sizeof(path), "%s/%s", rp->dir, rel);
		unlink(path);
	}
	if (rows <= 0)
		return 0;
	p_add(&p, "out=\"%s/plots/%s\"; data=\"%s\"; nbars=%d; ",
	      rp->tmpname, RP_GO_CHART_ID, rel, rows);
	p_str(&p, "title", RP_GO_CHART_TITLE);
	p_str(&p, "plain", plain);
	p_str(&p, "paled", paled);
	rc = run_gnuplot(rp, "goclaims.gp", &p, err, n);
	p_free(&p);
	return rc;
}

int rp_plot(struct report *rp, char *err, size_t n)
{
	int rc = 0;

	for (size_t i = 0; rc == 0 && i < rp->nincs; i++)
		rc = incident_charts(rp, &rp->incs[i], err, n);
	for (size_t i = 0; rc == 0 && i < rp->nbcharts; i++)
		rc = bench_chart(rp, &rp->bcharts[i], err, n);
	if (rc == 0)
		rc = go_claims_chart(rp, err, n);
	return rc;
}

/*
 * harness/report/report_go.c - This file contains the report's Go claims
 * (report_go.h): one section per claim, each with its anchor and its table
 * of figures from goclaims.json in the folder:
 *   #go-claims   the overview (machine, load average, how many processes)
 *   #go-seed10   the article's 10-goroutine example: share that died
 *   #go-loops    sustained write/write, write/read, write/range loops
 *   #go-recover  what defer recover() caught (the recover=yes rows)
 *   #go-syncmap  sync.Map promotion vs the first new key after it
 *   #go-rebuild  in-place rebuild under a lock vs snapshot swap
 * and one chart, #go-claims-died (the share of processes that died in
 * every seed10 and loop experiment, with its Wilson interval): its rows
 * are written here (rp_go_chart_rows), report_plot.c draws it, and the
 * page shows it under #go-claims when its SVG and PNG exist.
 * The Go incident runs (variants go-*) are ordinary runs of their incident:
 * they appear in each incident's verdict and seed tables beside the C runs.
 * goclaims.json is read here each time (report_load.c hashes it with the
 * rest of the page's files).
 * No state.
 */
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "harness/report/report_go.h"
#include "harness/report/report_impl.h"

enum { T_SEED, T_LOOPS, T_RECOVER, T_SYNC, T_REBUILD, T_COUNT };

static const char *const anchors[T_COUNT] = {"go-seed10", "go-loops",
	"go-recover", "go-syncmap", "go-rebuild"};
static const char *const titles[T_COUNT] = {
	"The seed's 10-goroutine example: does it always die?",
	"Sustained concurrent access: write/write, write/read, write/range",
	"defer recover() against fatal error: concurrent map ...",
	"sync.Map: promotion vs the first Store of a new key after it",
	"Config reload: in-place rebuild under a lock vs snapshot swap"};

static json_t *load(const struct report *rp)
{
	char path[4096];

	snprintf(path, sizeof(path), "%s/goclaims.json", rp->dir);
	return json_load_file(path, 0, NULL);
}

static void cell(struct rp_table *t, size_t r, size_t c, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void cell(struct rp_table *t, size_t r, size_t c, const char *fmt, ...)
{
	va_list ap;
	char buf[200];

	if (r >= 24 || c >= 12)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	free(t->cell[r][c]);
	t->cell[r][c] = strdup(buf);
	if (r + 1 > t->nrows)
		t->nrows = r + 1;
	if (c + 1 > t->ncols)
		t->ncols = c + 1;
}

static void msgs(json_t *m, char *buf, size_t n)
{
	const char *k;
	json_t *v;
	size_t used = 0;

	buf[0] = '\0';
	json_object_foreach(m, k, v)
		used += (size_t)snprintf(buf + used, used < n ? n - used : 0,
					 "%s%s ×%lld", used ? "; " : "", k,
					 (long long)json_integer_value(v));
}

/* seed10 and loop cells: one row each (recover rows go to T_RECOVER). */
/* Row 0 of t: the column names, up to a NULL. */
static void header_row(struct rp_table *t, const char *const *names)
{
	for (size_t j = 0; names[j]; j++)
		cell(t, 0, j, "%s", names[j]);
}

static void share_rows(json_t *cells, struct rp_table *t, bool loops, int rec)
{
	size_t i, r = 1;
	json_t *c;

	cell(t, 0, 0, "experiment");
	cell(t, 0, 1, "GOMAXPROCS");
	cell(t, 0, 2, "recover");
	cell(t, 0, 3, "died / ran");
	cell(t, 0, 4, "share (95 %% Wilson)");
	cell(t, 0, 5, loops || rec ? "time to death, median / max" : "errors");
	cell(t, 0, 6, rec ? "recoveries" : "detector lines");
	json_array_foreach(cells, i, c) {
		char m[400];
		double lo = json_number_value(json_array_get(json_object_get(c, "wilson95"), 0));
		double hi = json_number_value(json_array_get(json_object_get(c, "wilson95"), 1));
		bool recover = json_is_true(json_object_get(c, "recover"));

		if (rec >= 0 && recover != (rec == 1))
			continue;
		cell(t, r, 0, "%s", rp_jstr(c, "claim"));
		cell(t, r, 1, "%s", rp_jstr(c, "gomaxprocs"));
		cell(t, r, 2, "%s", recover ? "yes" : "no");
		cell(t, r, 3, "%.0f / %.0f", rp_jnum(c, "died"),
		     rp_jnum(c, "died") + rp_jnum(c, "survived"));
		cell(t, r, 4, "%.1f %% (%.1f–%.1f %%)", 100 * rp_jnum(c, "share"),
		     100 * lo, 100 * hi);
		if (loops || rec == 1)
			cell(t, r, 5, isfinite(rp_jnum(c, "death_median_s"))
			     ? "%.3f / %.3f s" : "-", rp_jnum(c, "death_median_s"),
			     rp_jnum(c, "death_max_s"));
		else
			cell(t, r, 5, "%.0f", rp_jnum(c, "errors"));
		msgs(json_object_get(c, "messages"), m, sizeof(m));
		if (rec == 1)
			cell(t, r, 6, "%.0f", rp_jnum(c, "recovered"));
		else
			cell(t, r, 6, "%s", m[0] ? m : "-");
		r++;
	}
}

/* Go's sync.Map: promotion and the first Store after it, per key count. */
static void sync_table(json_t *doc, struct rp_table t[T_COUNT])
{
	static const char *const head[] = {
		"keys", "promotion (the Load that promotes)",
		"first Store of a new key after it", "second Store",
		"first / promotion", NULL };
	size_t i, r = 1;
	json_t *c;

	header_row(&t[T_SYNC], head);
	json_array_foreach(json_object_get(doc, "syncmap"), i, c) {
		double p = rp_jnum(c, "promote_ns"), f = rp_jnum(c, "first_store_ns");

		cell(&t[T_SYNC], r, 0, "%.0f", rp_jnum(c, "n"));
		cell(&t[T_SYNC], r, 1, "%.1f µs", p / 1e3);
		cell(&t[T_SYNC], r, 2, "%.3f ms", f / 1e6);
		cell(&t[T_SYNC], r, 3, "%.1f µs", rp_jnum(c, "second_store_ns") / 1e3);
		cell(&t[T_SYNC], r++, 4, "%.0f×", p > 0 ? f / p : NAN);
	}
	snprintf(t[T_SYNC].note, sizeof(t[T_SYNC].note),
		 "Go's own sync.Map (this machine's Go; the read/dirty design up to "
		 "Go 1.23), medians of the repetitions in one process: the promotion "
		 "is a pointer swap, the O(n) copy is dirtyLocked() rebuilding the dirty "
		 "map at the first new key.");
}

/* A config reload: in-place rebuild under RWMutex against a snapshot swap. */
static void rebuild_table(json_t *doc, struct rp_table t[T_COUNT])
{
	static const char *const head[] = {
		"reload", "reloads", "write lock held, mean / max",
		"blocked reads (time)", "reads > 1 ms (time)", "longest read",
		"GC cycles", "allocated", NULL };
	size_t i, r = 1;
	json_t *c;

	header_row(&t[T_REBUILD], head);
	json_array_foreach(json_object_get(doc, "rebuild"), i, c) {
		double n = rp_jnum(c, "reloads");

		cell(&t[T_REBUILD], r, 0, "%s", !strcmp(rp_jstr(c, "mode") ? rp_jstr(c, "mode") : "", "swap")
		     ? "snapshot swap (atomic.Pointer)" : "in-place rebuild under RWMutex");
		cell(&t[T_REBUILD], r, 1, "%.0f", n);
		cell(&t[T_REBUILD], r, 2, "%.1f / %.1f ms", n > 0 ? rp_jnum(c, "hold_ns") / n / 1e6 : 0,
		     rp_jnum(c, "hold_max_ns") / 1e6);
		cell(&t[T_REBUILD], r, 3, "%.0f (%.0f ms)", rp_jnum(c, "blocked_reads"),
		     rp_jnum(c, "blocked_ns") / 1e6);
		cell(&t[T_REBUILD], r, 4, "%.0f (%.0f ms)", rp_jnum(c, "slow_reads"),
		     rp_jnum(c, "stall_ns") / 1e6);
		cell(&t[T_REBUILD], r, 5, "%.1f ms", rp_jnum(c, "max_read_ns") / 1e6);
		cell(&t[T_REBUILD], r, 6, "%.0f", rp_jnum(c, "gc_cycles"));
		cell(&t[T_REBUILD], r++, 7, "%.0f MiB", rp_jnum(c, "alloc_bytes") / 1048576);
	}
	snprintf(t[T_REBUILD].note, sizeof(t[T_REBUILD].note),
		 "%.0f keys rebuilt every 100 ms while 2 goroutines read them. Blocked: "
		 "the read lock was not free (TryRLock failed), so the read waited for "
		 "the rebuild. Reads > 1 ms count every slow read, the OS scheduler's "
		 "on this loaded machine included (load average %s at the start).",
		 rp_jnum(json_array_get(json_object_get(doc, "rebuild"), 0), "keys"),
		 rp_jstr(doc, "loadavg_start") ? rp_jstr(doc, "loadavg_start") : "?");
}

static void build(json_t *doc, struct rp_table t[T_COUNT])
{
	json_t *all = json_array();

	memset(t, 0, sizeof(*t) * T_COUNT);
	share_rows(json_object_get(doc, "seed10"), &t[T_SEED], false, 0);
	snprintf(t[T_SEED].note, sizeof(t[T_SEED].note),
		 "Each row: fresh processes of the article's example (ten goroutines, "
		 "m[key] = key * 2, one plain map), %.0f per row; a death is the runtime's "
		 "`fatal error` and exit 2. The article says it dies every time.",
		 rp_jnum(doc, "procs"));
	share_rows(json_object_get(doc, "loops"), &t[T_LOOPS], true, 0);
	snprintf(t[T_LOOPS].note, sizeof(t[T_LOOPS].note),
		 "Two goroutines on one plain map for up to %g s per process (%.0f "
		 "processes per row, half at GOMAXPROCS=1). Time to death is from fork "
		 "to exit, Go's start-up included.", rp_jnum(doc, "loop_seconds"),
		 rp_jnum(doc, "loop_procs"));
	json_array_extend(all, json_object_get(doc, "seed10"));
	json_array_extend(all, json_object_get(doc, "loops"));
	share_rows(all, &t[T_RECOVER], true, 1);
	json_decref(all);
	snprintf(t[T_RECOVER].note, sizeof(t[T_RECOVER].note),
		 "The same experiments with defer func() { recover() }() in every "
		 "goroutine. Recoveries are counted by the processes that survived; a "
		 "process that died was not saved by recover(): `fatal error` is not a "
		 "panic.");
	sync_table(doc, t);
	rebuild_table(doc, t);
}

/* "#rrggbb" paled toward white as plots/bars.gp pales its p50 bars. */
static unsigned long pale(unsigned long c)
{
	unsigned long r = (c >> 16) & 255, g = (c >> 8) & 255, b = c & 255;

	return ((r * 35 / 100 + 166) << 16) | ((g * 35 / 100 + 166) << 8) |
	       (b * 35 / 100 + 166);
}

/* s when it is a short word of [A-Za-z0-9_-] (safe inside a quoted
 * gnuplot data field), else "?". */
static const char *word(const char *s)
{
	if (!s || !*s || strlen(s) > 24)
		return "?";
	for (const char *p = s; *p; p++)
		if (!(*p >= 'a' && *p <= 'z') && !(*p >= 'A' && *p <= 'Z') &&
		    !(*p >= '0' && *p <= '9') && *p != '_' && *p != '-')
			return "?";
	return s;
}

/* One chart row: "seed10 P2 recover" from the experiment and the cores
 * (GOMAXPROCS "default" is the machine's cores). */
static void chart_row(FILE *f, int x, json_t *c, double cores,
		      unsigned long rgb)
{
	const char *procs = rp_jstr(c, "gomaxprocs");
	double died = rp_jnum(c, "died"), ran = died + rp_jnum(c, "survived");
	json_t *w = json_object_get(c, "wilson95");
	char p[32];

	if (procs && strcmp(procs, "default"))
		snprintf(p, sizeof(p), "%s", word(procs));
	else if (cores >= 1 && cores < 1e6)
		snprintf(p, sizeof(p), "%.0f", cores);
	else
		snprintf(p, sizeof(p), "default");
	fprintf(f, "%d \"%s P%s%s\" %.3f %.3f %.3f %lu \"%.0f/%.0f\"\n", x,
		word(rp_jstr(c, "claim")), p,
		json_is_true(json_object_get(c, "recover")) ? " recover" : "",
		100 * rp_jnum(c, "share"),
		100 * json_number_value(json_array_get(w, 0)),
		100 * json_number_value(json_array_get(w, 1)), rgb, died, ran);
}

int rp_go_chart_rows(const struct report *rp, FILE *f, char plain[8],
		     char paled[8])
{
	static const char *const parts[] = {"seed10", "loops"};
	unsigned long rgb = strtoul(rp_color("unsafe") + 1, NULL, 16);
	json_t *doc = load(rp), *c;
	int x = 0;
	size_t i;

	if (!doc)
		return -1;
	snprintf(plain, 8, "#%06lx", rgb & 0xffffff);
	snprintf(paled, 8, "#%06lx", pale(rgb) & 0xffffff);
	for (size_t k = 0; k < 2; k++)
		json_array_foreach(json_object_get(doc, parts[k]), i, c)
			if (isfinite(rp_jnum(c, "share")))
				chart_row(f, x++, c, rp_jnum(doc, "cores"),
					  json_is_true(json_object_get(c, "recover"))
						  ? pale(rgb) : rgb);
	json_decref(doc);
	return x;
}

/* The chart as the page shows it: drawn when report_plot.c left its SVG
 * and PNG in the report's temporary folder. */
static void chart_of(const struct report *rp, struct rp_chart *c)
{
	char path[4096];
	struct stat st;

	memset(c, 0, sizeof(*c));
	snprintf(c->id, sizeof(c->id), "%s", RP_GO_CHART_ID);
	snprintf(c->title, sizeof(c->title), "%s", RP_GO_CHART_TITLE);
	snprintf(c->caption, sizeof(c->caption),
		 "One bar per experiment of #go-seed10 and #go-loops (P2: "
		 "GOMAXPROCS at its default, the machine's cores; P1: "
		 "GOMAXPROCS=1); pale bars ran with defer recover() in every "
		 "goroutine (#go-recover). The error bar is the 95 %% Wilson "
		 "interval, the count above it died/ran. The article says its "
		 "example dies every time.");
	snprintf(path, sizeof(path), "%s/%s/plots/%s.svg", rp->dir, rp->tmpname,
		 c->id);
	c->drawn = stat(path, &st) == 0 && st.st_size > 0;
	snprintf(path, sizeof(path), "%s/%s/plots/%s.png", rp->dir, rp->tmpname,
		 c->id);
	c->drawn = c->drawn && stat(path, &st) == 0 && st.st_size > 0;
	if (!c->drawn)
		snprintf(c->why, sizeof(c->why), "Not drawn: goclaims.json has "
			 "no seed10 or loop experiment with a share.");
}

void rp_go_nav(const struct report *rp, FILE *f)
{
	json_t *doc = load(rp);

	if (doc)
		fputs("<li><a href=\"#go-claims\">Go claims</a></li>\n", f);
	json_decref(doc);
}

static void intro(json_t *doc, char *buf, size_t n)
{
	snprintf(buf, n, "Each claim the lab makes about Go, run on this machine by "
		 "`maplab goclaims` (%d cores; load average %s at the start, %s at the "
		 "end): fresh Go processes under a timeout and the RSS cap.",
		 (int)rp_jnum(doc, "cores"),
		 rp_jstr(doc, "loadavg_start") ? rp_jstr(doc, "loadavg_start") : "?",
		 rp_jstr(doc, "loadavg_end") ? rp_jstr(doc, "loadavg_end") : "?");
}

/* The Go claims of the folder, its tables built and its introduction in
 * buf; NULL (nothing built) when the folder has none. */
static json_t *load_tables(const struct report *rp, struct rp_table t[T_COUNT],
			   char *buf, size_t n)
{
	json_t *doc = load(rp);

	if (doc) {
		build(doc, t);
		intro(doc, buf, n);
	}
	return doc;
}

void rp_go_html(const struct report *rp, FILE *f, rp_go_html_chart_fn *chart)
{
	struct rp_table t[T_COUNT];
	struct rp_chart c;
	char buf[600];
	json_t *doc = load_tables(rp, t, buf, sizeof(buf));

	if (!doc)
		return;
	fputs("<section id=\"go-claims\">\n<h2>Go claims</h2>\n<p>", f);
	rp_esc(f, buf);
	fputs("</p>\n", f);
	chart_of(rp, &c);
	chart(rp, f, &c);
	for (int k = 0; k < T_COUNT; k++) {
		fprintf(f, "<h3 id=\"%s\">", anchors[k]);
		rp_esc(f, titles[k]);
		fprintf(f, "</h3>\n<table id=\"%s-table\">\n", anchors[k]);
		for (size_t r = 0; r < t[k].nrows; r++) {
			fputs("<tr>", f);
			for (size_t c = 0; c < t[k].ncols; c++) {
				fputs(r ? "<td>" : "<th>", f);
				rp_esc(f, t[k].cell[r][c] ? t[k].cell[r][c] : "");
				fputs(r ? "</td>" : "</th>", f);
			}
			fputs("</tr>\n", f);
		}
		fputs("</table>\n<p class=\"note\">", f);
		rp_esc(f, t[k].note);
		fputs("</p>\n", f);
		rp_table_free(&t[k]);
	}
	fputs("</section>\n", f);
	json_decref(doc);
}

void rp_go_md(const struct report *rp, FILE *f, rp_go_md_chart_fn *chart)
{
	struct rp_table t[T_COUNT];
	struct rp_chart c;
	char buf[600];
	json_t *doc = load_tables(rp, t, buf, sizeof(buf));

	if (!doc)
		return;
	fprintf(f, "<a id=\"go-claims\"></a>\n\n## Go claims\n\n%s\n\n", buf);
	chart_of(rp, &c);
	chart(f, &c);
	for (int k = 0; k < T_COUNT; k++) {
		fprintf(f, "<a id=\"%s\"></a>\n\n### %s\n\n", anchors[k], titles[k]);
		for (size_t r = 0; r < t[k].nrows; r++) {
			fputs("|", f);
			for (size_t c = 0; c < t[k].ncols; c++)
				fprintf(f, " %s |", t[k].cell[r][c] ? t[k].cell[r][c] : "");
			fputs("\n", f);
			if (!r) {
				fputs("|", f);
				for (size_t c = 0; c < t[k].ncols; c++)
					fputs(" --- |", f);
				fputs("\n", f);
			}
		}
		fprintf(f, "\n%s\n\n", t[k].note);
		rp_table_free(&t[k]);
	}
	json_decref(doc);
}

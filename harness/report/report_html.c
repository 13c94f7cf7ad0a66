/*
 * harness/report/report_html.c - writes report.html, report.md and the terminal
 * verdict table from a loaded, plotted struct report.
 *
 * report.html is one self-contained file: CSS in a <style> element, every
 * chart's SVG inlined, no script, no external reference (the gnuplot SVG's
 * namespace URLs are dropped: HTML parses inline SVG without them).  Each
 * inlined SVG gets its ids prefixed with the chart's anchor id, so ids stay
 * unique in the page.  Anchor ids are stable: "<incident>-<part>", "run",
 * "overview", "bench-...", so a review can cite "report <hash>, #<id>".
 * report.md links the PNG files by relative path instead.
 * Single-threaded; writes only to the FILE it is given.
 */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <dirent.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness/verdict/expect.h"
#include "harness/report/report_sources.h"
#include "harness/report/report_go.h"
#include "harness/report/report_impl.h"
#include "incidents/registry.h"

/* bench.json's value_model (what a benchmark's values cost) and
 * read_model (retained or borrowed reads) as one clause in buf; NULL when
 * the run has no value model. */
static const char *bench_values(const struct report *rp, char *buf, size_t n)
{
	const char *v = json_string_value(json_object_get(rp->bench,
							  "value_model"));
	const char *r = json_string_value(json_object_get(rp->bench,
							  "read_model"));

	if (!v)
		return NULL;
	snprintf(buf, n, "%s%s%s", v, r ? "; " : "", r ? r : "");
	return buf;
}

void rp_esc(FILE *f, const char *s)
{
	for (; s && *s; s++) {
		switch (*s) {
		case '<': fputs("&lt;", f); break;
		case '>': fputs("&gt;", f); break;
		case '&': fputs("&amp;", f); break;
		case '"': fputs("&quot;", f); break;
		default: fputc(*s, f);
		}
	}
}

/* Markdown table cell: no pipes or newlines. */
static void md_cell(FILE *f, const char *s)
{
	for (; s && *s; s++) {
		if (*s == '|')
			fputs("\\|", f);
		else if (*s == '<')
			fputs("&lt;", f);
		else if (*s == '\n')
			fputc(' ', f);
		else
			fputc(*s, f);
	}
}

static const char *incident_title(const char *name)
{
	const struct incident *d = incident_find(name);

	return d ? d->title : NULL;
}

static void command_line(const struct report *rp, char *buf, size_t n)
{
	json_t *cmd = json_object_get(rp->manifest, "argv");
	size_t used = 0, i;
	json_t *a;

	buf[0] = '\0';
	if (!json_is_array(cmd))
		cmd = json_object_get(rp->manifest, "command");
	if (json_is_string(cmd)) {
		snprintf(buf, n, "%s", json_string_value(cmd));
		if (!strchr(buf, '/') || strchr(buf, ' ') < strchr(buf, '/'))
			snprintf(buf, n, "./run.sh %s", json_string_value(cmd));
		return;
	}
	/* argv without the program: `./run.sh SUBCOMMAND ...` builds and
	 * runs the same thing */
	a = json_array_get(cmd, 0);
	if (json_is_string(a) && !strchr(json_string_value(a), '/'))
		used = (size_t)snprintf(buf, n, "./run.sh ");
	json_array_foreach(cmd, i, a) {
		const char *s = json_is_string(a) ? json_string_value(a) : "?";
		bool plain = *s != '\0';

		for (const char *c = s; *c; c++)
			if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
				    "0123456789_-./=:,+@%", *c))
				plain = false;
		if (used < n && i)
			used += (size_t)snprintf(buf + used, n - used, " ");
		if (plain) {
			if (used < n)
				used += (size_t)snprintf(buf + used, n - used, "%s", s);
			continue;
		}
		if (used < n)
			used += (size_t)snprintf(buf + used, n - used, "'");
		for (const char *c = s; *c && used < n; c++)
			used += (size_t)snprintf(buf + used, n - used,
						 *c == '\'' ? "'\\''" : "%c", *c);
		if (used < n)
			used += (size_t)snprintf(buf + used, n - used, "'");
	}
	if (!buf[0])
		snprintf(buf, n, "(not recorded)");
}

/* The manifest as label/value pairs, shared by HTML, Markdown, terminal. */
struct kv {
	char k[48];
	char v[600];
};

/* Append a row to kv (n of max used); a full table drops it. */
static void kv_add(struct kv *kv, size_t *n, size_t max, const char *key,
		   const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static void kv_add(struct kv *kv, size_t *n, size_t max, const char *key,
		   const char *fmt, ...)
{
	va_list ap;

	if (*n >= max)
		return;
	snprintf(kv[*n].k, sizeof(kv[*n].k), "%s", key);
	va_start(ap, fmt);
	vsnprintf(kv[*n].v, sizeof(kv[*n].v), fmt, ap);
	va_end(ap);
	(*n)++;
}

/* One incident's parameters on a line: "k=v k=v" (or a bare value). */
static void params_line(json_t *v, char *line, size_t n)
{
	const char *k2;
	json_t *v2;
	size_t used = 0;

	line[0] = '\0';
	if (json_is_number(v)) {
		snprintf(line, n, "%g", json_number_value(v));
		return;
	}
	if (!json_is_object(v)) {
		snprintf(line, n, "%s",
			 json_is_string(v) ? json_string_value(v) : "?");
		return;
	}
	json_object_foreach(v, k2, v2) {
		if (used >= n)
			break;
		if (json_is_number(v2))
			used += (size_t)snprintf(line + used, n - used, "%s%s=%g",
						 used ? " " : "", k2,
						 json_number_value(v2));
		else
			used += (size_t)snprintf(line + used, n - used, "%s%s=%s",
						 used ? " " : "", k2,
						 json_is_string(v2) ?
						 json_string_value(v2) : "?");
	}
}

/* A manifest string, "?" when it is missing. */
static const char *mstr(json_t *m, const char *path)
{
	const char *s = rp_jstr(m, path);

	return s ? s : "?";
}

/* The manifest's build and machine rows: commit, build, machine, caps. */
static void provenance_rows(json_t *m, struct kv *kv, size_t *n, size_t max)
{
	const char *san = rp_jstr(m, "build.san");
	double cap = rp_jnum(m, "caps.mem_cap_bytes");

	kv_add(kv, n, max, "commit", "%s%s", mstr(m, "git.commit"),
	       json_is_true(rp_j(m, "git.dirty")) ? " + uncommitted changes" : "");
	kv_add(kv, n, max, "build", "%s; %s; sanitizer %s; %s", mstr(m, "build.cc"),
	       mstr(m, "build.type"), san && *san ? san : "none", mstr(m, "build.cflags"));
	kv_add(kv, n, max, "machine", "%s; %.0f cores; %.1f GiB; kernel %s; "
	       "glibc %s", mstr(m, "machine.cpu"), rp_jnum(m, "machine.cores"),
	       rp_jnum(m, "machine.mem_bytes") / 1073741824.0,
	       mstr(m, "machine.kernel"), mstr(m, "machine.glibc"));
	if (rp_jnum(m, "caps.budget_bytes") > 0)
		kv_add(kv, n, max, "caps", "allocator budget %.0f MiB (live "
		       "bytes) < RSS cap %.0f MiB; timeout %g s per run",
		       rp_jnum(m, "caps.budget_bytes") / 1048576.0,
		       cap / 1048576.0, rp_jnum(m, "caps.timeout_s"));
	else
		kv_add(kv, n, max, "caps", "RSS cap %.0f MiB; timeout %g s per "
		       "run", cap / 1048576.0, rp_jnum(m, "caps.timeout_s"));
}

static size_t manifest_rows(const struct report *rp, struct kv *kv, size_t max)
{
	json_t *m = rp->manifest, *v;
	const char *k;
	size_t n = 0;
	char *js;

	if (rp_jstr(m, "preset")) /* envelope and bench folders have none */
		kv_add(kv, &n, max, "run", "%s (%s, preset %s)", mstr(m, "run_id"),
		       mstr(m, "kind"), rp_jstr(m, "preset"));
	else
		kv_add(kv, &n, max, "run", "%s (%s)", mstr(m, "run_id"), mstr(m, "kind"));
	provenance_rows(m, kv, &n, max);
	js = json_dumps(json_object_get(m, "seeds"), JSON_COMPACT | JSON_ENCODE_ANY);
	kv_add(kv, &n, max, "seeds", "%s", js ? js : "?");
	free(js);
	json_object_foreach(json_object_get(m, "params"), k, v) {
		char line[600], key[40];

		params_line(v, line, sizeof(line));
		snprintf(key, sizeof(key), "%.20s params", k);
		kv_add(kv, &n, max, key, "%s", line);
	}
	kv_add(kv, &n, max, "time", "%s → %s%s", mstr(m, "started"),
	       rp_jstr(m, "finished") ? rp_jstr(m, "finished") : "(not finished)",
	       rp->incomplete ? " — INCOMPLETE" : "");
	if (n < max) {
		snprintf(kv[n].k, sizeof(kv[n].k), "reproduce");
		command_line(rp, kv[n].v, sizeof(kv[n].v));
		n++;
	}
	return n;
}

/* One verdict row's cells, shared by all three outputs. */
enum { V_RUN, V_VERDICT, V_OUTCOME, V_SYMPTOMS, V_LIVE, V_RSS, V_GROWTH,
       V_TTO, V_INFL, V_P99, V_THR, V_EXPECT, V_N };
static const char *const vhead[V_N] = {
	"run", "design verdict", "outcome", "symptoms", "peak live",
	"peak RSS", "growth while loaded", "time to OOM", "in-flight peak",
	"latency p99", "throughput", "expected",
};

static int verdict_cells(const struct report *rp, const struct rp_incident *inc,
			 const struct rp_run *r, char cell[V_N][400])
{
	const char *cls = NULL;
	char why[200];
	int mark = rp_expect_mark(rp, r, &cls, why, sizeof(why));
	double tto = rp_time_to_outcome(r);

	struct verdict v;

	rp_run_label(rp, inc, r, cell[V_RUN], 400);
	rp_verdict(rp, r, &v);
	verdict_text(&v, cell[V_VERDICT], 400);
	if (isnan(v.growth_mib_s))
		snprintf(cell[V_GROWTH], 400, "–");
	else if (!isnan(v.to_cap_s) && strcmp(rp_outcome(r), "oom"))
		snprintf(cell[V_GROWTH], 400, "%.1f MiB/s (cap in ~%.0f s)",
			 v.growth_mib_s, v.to_cap_s);
	else
		snprintf(cell[V_GROWTH], 400, "%.1f MiB/s", v.growth_mib_s);
	rp_fmt_outcome(r, cell[V_OUTCOME], 400);
	rp_fmt_symptoms(r, cell[V_SYMPTOMS], 400);
	rp_fmt_mib(r->v.peak_live_bytes, cell[V_LIVE], 400);
	rp_fmt_mib(r->v.peak_rss_bytes, cell[V_RSS], 400);
	if (!strcmp(rp_outcome(r), "oom") && !isnan(tto))
		snprintf(cell[V_TTO], 400, "%.2f s", tto);
	else
		snprintf(cell[V_TTO], 400, "–");
	rp_fmt_num(r->v.inflight_peak, cell[V_INFL], 400);
	rp_fmt_ms(r->v.p99_ns, cell[V_P99], 400);
	rp_fmt_rate(r->v.ops_per_s, cell[V_THR], 400);
	if (mark < 0)
		snprintf(cell[V_EXPECT], 400, "–");
	else
		snprintf(cell[V_EXPECT], 400, "%s %s%s%s%s", mark ? "✓" : "✗ expected",
			 cls, why[0] ? " (" : "", why, why[0] ? ")" : "");
	return mark;
}

static bool other_pages(const struct report *rp, FILE *f, bool md)
{
	DIR *d = opendir(rp->dir);
	struct dirent *de;
	bool any = false;

	if (!d)
		return false;
	while ((de = readdir(d))) {
		size_t l = strlen(de->d_name);

		if (l < 4 || strcmp(de->d_name + l - 3, ".md") != 0 ||
		    !strcmp(de->d_name, "report.md") || de->d_name[0] == '.')
			continue;
		if (md) {
			fprintf(f, "%s[%s](%s)", any ? " · " : "Other pages: ",
				de->d_name, de->d_name);
		} else {
			fputs(any ? " · " : "<p id=\"other-pages\">Other pages in this folder: ", f);
			fputs("<a href=\"", f);
			rp_esc(f, de->d_name);
			fputs("\">", f);
			rp_esc(f, de->d_name);
			fputs("</a>", f);
		}
		any = true;
	}
	closedir(d);
	if (any)
		fputs(md ? "\n\n" : "</p>\n", f);
	return any;
}

static const char css[] =
	"body{font:15px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;"
	"color:#1d1d1f;background:#fff;margin:0}"
	"main{max-width:1180px;margin:0 auto;padding:1.2em 1.6em 3em}"
	"h1{font-size:1.6em;margin:.2em 0}h2{font-size:1.35em;margin-top:2.2em;"
	"border-bottom:2px solid #e5e5e5;padding-bottom:.2em}"
	"h3{font-size:1.08em;margin:1.6em 0 .5em}"
	"a{color:#0b57d0}code,pre{font:13px/1.4 ui-monospace,'DejaVu Sans Mono',monospace}"
	".cite{color:#555;margin:.2em 0 1em}.hash{font-weight:700;background:#f1f3f4;"
	"padding:.1em .4em;border-radius:4px}"
	".banner{background:#fff4e5;border:1px solid #f0a030;padding:.7em 1em;"
	"border-radius:6px;margin:1em 0}"
	"dl.manifest{display:grid;grid-template-columns:max-content 1fr;gap:.25em 1em;"
	"margin:0;font-size:14px}dl.manifest dt{color:#666}dl.manifest dd{margin:0;"
	"word-break:break-word}"
	"pre.cmd{background:#f6f8fa;border:1px solid #e1e4e8;padding:.6em .8em;"
	"border-radius:6px;white-space:pre-wrap;word-break:break-all}"
	"table{border-collapse:collapse;margin:.5em 0 1em;font-size:14px}"
	"th,td{border:1px solid #ddd;padding:.3em .55em;text-align:left;"
	"vertical-align:top}td.sym{max-width:26em;overflow-wrap:anywhere}"
	"td.run{white-space:nowrap}th{background:#f4f5f7;font-weight:600}"
	"td.num{text-align:right;white-space:nowrap}"
	"tr.bad td{background:#fdecea}tr.odd td{background:#fff8e1}"
	"td.ok{color:#137333;font-weight:600}td.fail{color:#b3261e;font-weight:600}"
	"td.broken,span.broken{color:#b3261e;font-weight:600}"
	"td.holds,span.holds{color:#137333;font-weight:600}"
	"td.warn{color:#b06000;font-weight:600}"
	"span.sw{display:inline-block;width:.8em;height:.8em;border-radius:2px;"
	"margin-right:.4em;vertical-align:-.05em}"
	"figure{margin:1.2em 0 1.8em}figure svg{display:block;width:100%;"
	"max-width:900px;height:auto;border:1px solid #eee}"
	"figcaption{color:#444;font-size:14px;max-width:900px;margin-top:.4em}"
	"p.skip{color:#777;font-style:italic}p.note{color:#555;font-size:13px;"
	"max-width:900px}"
	"nav ul{columns:2;margin:.3em 0;padding-left:1.2em}"
	"footer{margin-top:3em;color:#666;font-size:13px;border-top:1px solid #e5e5e5;"
	"padding-top:.8em}"
	"@media print{figure{break-inside:avoid}}";

/* Copy an SVG file into the page with its ids prefixed by `pre`. */
static int inline_svg(const struct report *rp, FILE *f, const char *id,
		      const char *title)
{
	char path[PATH_MAX];
	char *text, *p;

	snprintf(path, sizeof(path), "%s/%s/plots/%s.svg", rp->dir,
		 rp->tmpname, id);
	text = rp_read_file(path, NULL);
	if (!text)
		return -errno;
	p = strstr(text, "<svg");
	if (!p) {
		free(text);
		return -EINVAL;
	}
	while (*p) {
		static const char *const drop[] = {
			" xmlns=\"http://www.w3.org/2000/svg\"",
			"\n xmlns=\"http://www.w3.org/2000/svg\"",
			" xmlns:xlink=\"http://www.w3.org/1999/xlink\"",
			"\n xmlns:xlink=\"http://www.w3.org/1999/xlink\"",
		};
		bool dropped = false;

		for (size_t i = 0; i < sizeof(drop) / sizeof(drop[0]); i++)
			if (!strncmp(p, drop[i], strlen(drop[i]))) {
				p += strlen(drop[i]);
				dropped = true;
				break;
			}
		if (dropped)
			continue;
		if (!strncmp(p, "<title>Gnuplot</title>", 22)) {
			fputs("<title>", f);
			rp_esc(f, title);
			fputs("</title>", f);
			p += 22;
		} else if (!strncmp(p, "id=\"", 4) || !strncmp(p, "id='", 4)) {
			fprintf(f, "id=%c%s-", p[3], id);
			p += 4;
		} else if (!strncmp(p, "href=\"#", 7) || !strncmp(p, "href='#", 7)) {
			fprintf(f, "href=%c#%s-", p[5], id);
			p += 7;
		} else if (!strncmp(p, "url(#", 5)) {
			fprintf(f, "url(#%s-", id);
			p += 5;
		} else {
			fputc(*p++, f);
		}
	}
	free(text);
	return 0;
}

static void html_chart(const struct report *rp, FILE *f, const struct rp_chart *c)
{
	fprintf(f, "<figure id=\"%s\">\n", c->id);
	if (!c->drawn || inline_svg(rp, f, c->id, c->title) != 0) {
		fputs("<p class=\"skip\"><b>", f);
		rp_esc(f, c->title);
		fputs("</b> — ", f);
		rp_esc(f, c->why[0] ? c->why : "Not drawn.");
		fputs("</p>\n</figure>\n", f);
		return;
	}
	fputs("\n<figcaption>", f);
	rp_esc(f, c->caption);
	fprintf(f, " <a href=\"#%s\">#%s</a> · <a href=\"plots/%s.svg\">SVG</a> · "
		"<a href=\"plots/%s.png\">PNG</a></figcaption>\n</figure>\n",
		c->id, c->id, c->id, c->id);
}

static void html_table(FILE *f, const char *id, const struct rp_table *t)
{
	fprintf(f, "<table id=\"%s\">\n<tr>", id);
	for (size_t j = 0; j < t->ncols; j++) {
		fputs("<th>", f);
		rp_esc(f, t->cell[0][j]);
		fputs("</th>", f);
	}
	fputs("</tr>\n", f);
	for (size_t i = 1; i < t->nrows; i++) {
		fputs("<tr>", f);
		for (size_t j = 0; j < t->ncols; j++) {
			fputs(j ? "<td class=\"num\">" : "<td>", f);
			rp_esc(f, t->cell[i][j]);
			fputs("</td>", f);
		}
		fputs("</tr>\n", f);
	}
	fputs("</table>\n", f);
}

static void html_verdict(const struct report *rp, FILE *f,
			 const struct rp_incident *inc)
{
	char cell[V_N][400];
	size_t ncol = rp->expect ? V_N : V_EXPECT;

	fprintf(f, "<table id=\"%s-verdict\">\n<tr>", inc->name);
	for (size_t j = 0; j < ncol; j++)
		fprintf(f, "<th>%s</th>", vhead[j]);
	fputs("</tr>\n", f);
	for (size_t i = 0; i < inc->nruns; i++) {
		const struct rp_run *r = &rp->runs[inc->runs[i]];
		int mark = verdict_cells(rp, inc, r, cell);
		const char *o = rp_outcome(r);
		const char *cls = mark == 0 ? " class=\"bad\"" :
				  (!strcmp(o, "error") || !strcmp(o, "interrupted") ||
				   !r->rec) ? " class=\"odd\"" : "";

		fprintf(f, "<tr%s><td class=\"run\"><span class=\"sw\" "
			"style=\"background:%s\"></span>", cls, rp_color(r->variant));
		rp_esc(f, cell[V_RUN]);
		fputs("</td>", f);
		for (size_t j = 1; j < ncol; j++) {
			const char *tc = j == V_OUTCOME ?
				(rp_run_failed(r) ? " class=\"fail\"" :
				 rp_run_symptomatic(r) ||
				 r->v.ops == 0 ? " class=\"warn\"" :
				 !strcmp(o, "ok") ? " class=\"ok\"" : "") :
				j == V_EXPECT ? (mark > 0 ? " class=\"ok\"" :
						 mark == 0 ? " class=\"fail\"" : "") :
				j == V_VERDICT ? (!strncmp(cell[j], "broken", 6) ?
						  " class=\"broken\"" :
						  !strncmp(cell[j], "holds", 5) ?
						  " class=\"holds\"" : "") :
				j >= V_LIVE ? " class=\"num\"" :
				j == V_SYMPTOMS ? " class=\"sym\"" : "";

			fprintf(f, "<td%s>", tc);
			rp_esc(f, cell[j]);
			fputs("</td>", f);
		}
		fputs("</tr>\n", f);
	}
	fputs("</table>\n", f);
}

/* A run's design verdict in a word or two: "holds", "broken: oom", ...,
 * or its outcome when there is no verdict. */
static const char *verdict_label(const struct report *rp,
				 const struct rp_run *r, struct verdict *dv)
{
	rp_verdict(rp, r, dv);
	return dv->cls == VERDICT_HOLDS ? "holds" :
	       dv->cls == VERDICT_NONE ? rp_outcome(r) :
	       dv->how == VERDICT_HOW_OOM ? "broken: oom" :
	       dv->how == VERDICT_HOW_CRASH ? "broken: crash" :
	       dv->how == VERDICT_HOW_HANG ? "broken: hang" :
	       dv->how == VERDICT_HOW_CORRUPT ? "broken: corrupt" :
	       dv->how == VERDICT_HOW_TORN ? "broken: torn" : "broken: stall";
}

/* The runs of one incident x variant cell: their distinct verdict labels
 * with counts ("holds, broken: oom ×2") in out, whether any broke or held,
 * and their records appended to recs (for the expectation). */
static void cell_verdicts(const struct report *rp,
			  const struct rp_incident *inc, const char *var,
			  char *out, size_t n, bool *any_broken,
			  bool *any_holds, json_t *recs)
{
	const char *lab[16];
	unsigned cnt[16];
	size_t nl = 0, used = 0;

	out[0] = '\0';
	for (size_t j = 0; j < inc->nruns; j++) {
		const struct rp_run *r = &rp->runs[inc->runs[j]];
		struct verdict dv;
		const char *l;
		size_t m;

		if (strcmp(r->variant, var))
			continue;
		l = verdict_label(rp, r, &dv);
		*any_broken |= dv.cls == VERDICT_BROKEN;
		*any_holds |= dv.cls == VERDICT_HOLDS;
		for (m = 0; m < nl && strcmp(lab[m], l); m++)
			;
		if (m == nl && nl < 16) {
			lab[nl] = l;
			cnt[nl++] = 0;
		}
		if (m < nl)
			cnt[m]++;
		if (recs && (r->rec || r->sum))
			json_array_append(recs, r->rec ? r->rec : r->sum);
	}
	for (size_t m = 0; m < nl; m++) {
		if (used < n)
			used += (size_t)snprintf(out + used, n - used, "%s%s",
						 used ? ", " : "", lab[m]);
		if (cnt[m] > 1 && used < n)
			used += (size_t)snprintf(out + used, n - used, " ×%u",
						 cnt[m]);
	}
}

/* ✓/✗ of a cell against its expectation, with what the judge counted. */
static void html_expect_mark(FILE *f, const struct expect_verdict *v)
{
	fprintf(f, " <span class=\"%s\" title=\"as expected?\">%s</span>",
		v->pass ? "holds" : "broken", v->pass ? "✓" : "✗");
	if (v->cls == EXPECT_REPRODUCES && v->runs > 1)
		fprintf(f, " <small>(%u/%u reproduced)</small>", v->shown,
			v->runs);
	if (v->k_wanted > v->k)
		fprintf(f, " <small>(k lowered from %u to %u runs)</small>",
			v->k_wanted, v->k);
	if (!isnan(v->margin))
		fprintf(f, " <small>margin %.2f×</small>", v->margin);
}

/* One incident x variant cell of the overview (probes: envelope probes,
 * each at its own load, so no expectation judges them). */
static void html_overview_cell(const struct report *rp,
			       const struct rp_incident *inc, const char *var,
			       bool probes, FILE *f)
{
	char out[600];
	json_t *recs = json_array();
	const json_t *rule = probes ? NULL :
		expect_rule(rp->expect, inc->name, var);
	struct expect_verdict v = { 0 };
	bool judged = false, any_broken = false, any_holds = false;

	cell_verdicts(rp, inc, var, out, sizeof(out), &any_broken, &any_holds,
		      recs);
	if (rule && expect_class_of(rule) != EXPECT_NONE && recs &&
	    json_array_size(recs)) {
		expect_judge(rule, recs, &v);
		judged = true;
	}
	json_decref(recs);
	fprintf(f, "<td><span class=\"%s\">",
		any_broken ? "broken" : any_holds ? "holds" : "");
	rp_esc(f, out[0] ? out : "–");
	fputs("</span>", f);
	if (judged)
		html_expect_mark(f, &v);
	fputs("</td>", f);
}

static const char overview_note[] =
	"The design verdict of each run: <span class=\"broken\">broken</span> — "
	"oom (the run reached its memory cap), crash, hang, corrupt (the "
	"incident's oracle found lost or damaged data), torn (a request saw two "
	"config versions), stall (in-flight peak and p99 both at least 5× the "
	"median ok run of the same incident, with floors of 1,000 requests and "
	"50 ms) — or <span class=\"holds\">holds</span>.  Each incident's table "
	"below says how and at what cost.";

static const char overview_expect_note[] =
	" ✓/✗ is a different question: did the cell do what "
	"harness/verdict/expectations.json says it should (all repetitions "
	"judged together, as `maplab ci` does)?  A blamed design expected to "
	"break is ✓ when it breaks.  Margin: the worst repetition against the "
	"rule's bound (≥ 1× when every repetition met it; time bounds are "
	"ratios to a reference variant of the same run).";

/* The variants of the folder's runs, in report order (at most max). */
static size_t run_variants(const struct report *rp, const char **vars,
			   size_t max)
{
	size_t nv = 0;

	for (size_t i = 0; i < rp->nruns && nv < max; i++) {
		bool seen = false;

		for (size_t k = 0; k < nv; k++)
			seen |= !strcmp(vars[k], rp->runs[i].variant);
		if (!seen)
			vars[nv++] = rp->runs[i].variant;
	}
	return nv;
}

/* Verdicts at a glance: incidents down, variants across. */
static void html_overview(const struct report *rp, FILE *f)
{
	const char *vars[32];
	size_t nv = run_variants(rp, vars, 32);

	/* envelope probes run at other loads: not the rule's runs */
	bool probes = json_is_object(json_object_get(rp->manifest, "envelope"));

	fputs("<section id=\"overview\">\n<h2>Verdicts at a glance</h2>\n", f);
	if (probes)
		fputs("<p class=\"note\">The runs are envelope probes, each at its "
		      "own load (<a href=\"#envelope-probes\">#envelope-probes</a>)"
		      ": no cell is judged against expectations.json (no ✓/✗)."
		      "</p>\n", f);
	fputs("<table id=\"overview-table\">\n<tr><th>incident</th>", f);
	for (size_t k = 0; k < nv; k++) {
		fprintf(f, "<th><span class=\"sw\" style=\"background:%s\"></span>",
			rp_color(vars[k]));
		rp_esc(f, vars[k]);
		fputs("</th>", f);
	}
	fputs("</tr>\n", f);
	for (size_t i = 0; i < rp->nincs; i++) {
		const struct rp_incident *inc = &rp->incs[i];

		fprintf(f, "<tr><td><a href=\"#%s\">%s</a></td>", inc->name, inc->name);
		for (size_t k = 0; k < nv; k++)
			html_overview_cell(rp, inc, vars[k], probes, f);
		fputs("</tr>\n", f);
	}
	fprintf(f, "</table>\n<p class=\"note\">%s%s</p>\n</section>\n",
		overview_note, rp->expect ? overview_expect_note : "");
}

/* The TSan lane (tsan.json from `maplab tsan`): TSan's verdict beside the
 * memory verdict, cell by cell. */
static const char tsan_intro[] =
	"Each incident x variant run briefly under ThreadSanitizer. TSan must "
	"report races for unsafe and stay silent for the safe variants; the "
	"race-free memory failures (metrics under the blocking variants) must "
	"still happen while TSan is silent: a race detector cannot find an OOM "
	"that has no race (the seed's point in 2.3).";

static void html_tsan(const struct report *rp, FILE *f)
{
	json_t *cells = json_object_get(rp->tsan, "cells"), *c;
	size_t i;

	fputs("<section id=\"tsan\">\n<h2>ThreadSanitizer lane</h2>\n<p>", f);
	rp_esc(f, tsan_intro);
	fputs("</p>\n<table id=\"tsan-table\">\n<tr><th>incident</th><th>variant"
	      "</th><th>TSan verdict</th><th>memory verdict</th><th>check</th>"
	      "</tr>\n", f);
	json_array_foreach(cells, i, c) {
		bool pass = json_is_true(json_object_get(c, "pass"));
		const char *var = rp_jstr(c, "variant");
		double nrep = rp_jnum(c, "tsan_reports");
		char tv[80];

		if (isnan(nrep) || nrep == 0)
			snprintf(tv, sizeof(tv), "silent");
		else
			snprintf(tv, sizeof(tv), "%.0f report%s", nrep,
				 nrep == 1 ? "" : "s");
		fputs(pass ? "<tr>" : "<tr class=\"bad\">", f);
		fputs("<td>", f);
		rp_esc(f, rp_jstr(c, "incident"));
		fprintf(f, "</td><td><span class=\"sw\" style=\"background:%s\">"
			"</span>", rp_color(var ? var : "?"));
		rp_esc(f, var);
		fputs("</td><td>", f);
		rp_esc(f, tv);
		if (rp_jstr(c, "tsan_summary") && *rp_jstr(c, "tsan_summary")) {
			fputs("<br><small>", f);
			rp_esc(f, rp_jstr(c, "tsan_summary"));
			fputs("</small>", f);
		}
		fputs("</td><td>", f);
		rp_esc(f, rp_jstr(c, "memory_verdict"));
		fprintf(f, "</td><td class=\"%s\">%s ", pass ? "ok" : "fail",
			pass ? "PASS" : "FAIL");
		rp_esc(f, rp_jstr(c, "check"));
		fputs("</td></tr>\n", f);
	}
	fputs("</table>\n<p class=\"note\">TSan logs: tsan/ in this folder "
	      "(when kept); suppressions: ", f);
	rp_esc(f, rp_jstr(rp->tsan, "suppressions") ? rp_jstr(rp->tsan, "suppressions")
						  : "none");
	fputs(".</p>\n</section>\n", f);
}

static void md_tsan(const struct report *rp, FILE *f)
{
	json_t *cells = json_object_get(rp->tsan, "cells"), *c;
	size_t i;

	fprintf(f, "<a id=\"tsan\"></a>\n\n## ThreadSanitizer lane\n\n%s\n\n"
		"| incident | variant | TSan verdict | memory verdict | check |\n"
		"| --- | --- | --- | --- | --- |\n", tsan_intro);
	json_array_foreach(cells, i, c) {
		double nrep = rp_jnum(c, "tsan_reports");

		fputs("| ", f);
		md_cell(f, rp_jstr(c, "incident"));
		fputs(" | ", f);
		md_cell(f, rp_jstr(c, "variant"));
		if (isnan(nrep) || nrep == 0)
			fputs(" | silent | ", f);
		else
			fprintf(f, " | %.0f report%s | ", nrep, nrep == 1 ? "" : "s");
		md_cell(f, rp_jstr(c, "memory_verdict"));
		fprintf(f, " | %s ", json_is_true(json_object_get(c, "pass")) ?
				"PASS" : "FAIL");
		md_cell(f, rp_jstr(c, "check"));
		fputs(" |\n", f);
	}
	fputs("\n", f);
}

/* <head>, the title block and the banners (incomplete, notes). */
static void html_head(const struct report *rp, FILE *f)
{
	const char *run_id = rp_jstr(rp->manifest, "run_id");

	fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
	      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
	      "<title>maplab report ", f);
	rp_esc(f, rp->hash);
	fputs(" — ", f);
	rp_esc(f, run_id ? run_id : "?");
	fprintf(f, "</title>\n<style>%s</style>\n</head>\n<body>\n<main>\n", css);
	fputs("<header id=\"top\">\n<h1>maplab report: ", f);
	rp_esc(f, run_id ? run_id : "?");
	fprintf(f, "</h1>\n<p class=\"cite\">Cite as <span class=\"hash\">report %s"
		"</span>, #anchor (every section, table and chart has one; "
		"the hash covers %s).</p>\n</header>\n", rp->hash, rp->hash_what);
	if (rp->incomplete) {
		fprintf(f, "<div class=\"banner\" id=\"incomplete\"><b>Incomplete "
			"results.</b> This folder was still being written or the "
			"run was interrupted: %zu run%s recorded. Missing runs are "
			"not shown; runs marked \"interrupted\", \"error\" or "
			"\"record missing\" did not finish.</div>\n",
			rp->nruns, rp->nruns == 1 ? "" : "s");
	}
	if (rp->nnotes) {
		fputs("<div class=\"banner\" id=\"notes\"><b>Notes on this "
		      "folder.</b><ul>\n", f);
		for (size_t i = 0; i < rp->nnotes; i++) {
			fputs("<li>", f);
			rp_esc(f, rp->notes[i]);
			fputs("</li>\n", f);
		}
		fputs("</ul></div>\n", f);
	}
}

static void html_nav(const struct report *rp, FILE *f)
{
	fputs("<nav id=\"contents\"><b>Contents</b><ul>\n"
	      "<li><a href=\"#run\">What ran</a></li>\n", f);
	rp_extra_nav(rp, f);
	if (rp->nincs)
		fputs("<li><a href=\"#overview\">Verdicts at a glance</a></li>\n", f);
	for (size_t i = 0; i < rp->nincs; i++)
		fprintf(f, "<li><a href=\"#%s\">%s</a></li>\n", rp->incs[i].name,
			rp->incs[i].name);
	if (rp->tsan)
		fputs("<li><a href=\"#tsan\">ThreadSanitizer lane</a></li>\n", f);
	rp_go_nav(rp, f);
	if (rp->nbcharts)
		fputs("<li><a href=\"#bench\">Benchmark</a></li>\n", f);
	fputs("</ul></nav>\n", f);
}

/* What ran: the manifest rows and the command that reproduces it. */
static void html_what_ran(const struct report *rp, FILE *f)
{
	struct kv kv[32];
	size_t nkv = manifest_rows(rp, kv, 32);

	fputs("<section id=\"run\">\n<h2>What ran</h2>\n<dl class=\"manifest\">\n", f);
	for (size_t i = 0; i + 1 < nkv; i++) {
		fputs("<dt>", f);
		rp_esc(f, kv[i].k);
		fputs("</dt><dd>", f);
		rp_esc(f, kv[i].v);
		fputs("</dd>\n", f);
	}
	fputs("</dl>\n<h3 id=\"run-reproduce\">Reproduce</h3>\n<pre class=\"cmd\">", f);
	rp_esc(f, kv[nkv - 1].v);
	fputs("</pre>\n", f);
	other_pages(rp, f, false);
	fputs("</section>\n", f);
}

/* One incident's section: story, verdicts, charts, seed table. */
static void html_incident(const struct report *rp, FILE *f,
			  const struct rp_incident *inc)
{
	const char *title;
	char story[3000];
	struct rp_table t;

	fprintf(f, "<section id=\"%s\">\n<h2>%s", inc->name, inc->name);
	title = incident_title(inc->name);
	if (title) {
		fputs(" — ", f);
		rp_esc(f, title);
	}
	fputs("</h2>\n", f);
	rp_story(rp, inc, story, sizeof(story));
	fprintf(f, "<p id=\"%s-story\">", inc->name);
	rp_esc(f, story);
	fputs("</p>\n", f);
	fprintf(f, "<h3 id=\"%s-verdicts\">Verdict per run</h3>\n", inc->name);
	html_verdict(rp, f, inc);
	fprintf(f, "<h3 id=\"%s-charts\">Charts</h3>\n", inc->name);
	for (size_t c = 0; c < inc->ncharts; c++)
		html_chart(rp, f, &inc->charts[c]);
	fprintf(f, "<h3 id=\"%s-seed-vs-lab\">The seed's figures beside the "
		"lab's</h3>\n", inc->name);
	if (rp_seed_table(rp, inc, &t) == 0) {
		char id[96];

		snprintf(id, sizeof(id), "%s-seed", inc->name);
		html_table(f, id, &t);
		fputs("<p class=\"note\">", f);
		rp_esc(f, t.note);
		fputs("</p>\n", f);
		rp_table_free(&t);
	}
	fputs("</section>\n", f);
}

/* One table of the benchmark section, HTML or Markdown. */
typedef void bench_table_fn(FILE *f, const char *id, const char *title,
			    const struct rp_table *t);

static void html_bench_table(FILE *f, const char *id, const char *title,
			     const struct rp_table *t)
{
	fprintf(f, "<h3 id=\"%s-h\">", id);
	rp_esc(f, title);
	fputs("</h3>\n", f);
	html_table(f, id, t);
}

/* Calls out() for every key count's medians and callgrind counts
 * (report_bench.c); false when the run has neither. */
static bool bench_tables(const struct report *rp, FILE *f, bench_table_fn *out)
{
	json_t *keys = json_object_get(rp->bench, "keys"), *k;
	char id[64], title[160];
	bool any = false;
	size_t i;

	json_array_foreach(keys, i, k) {
		double nk = json_number_value(k);
		struct rp_table t;

		if (rp_bench_table(rp->bench, nk, &t) == 0) {
			snprintf(id, sizeof(id), "bench-ops-%.0f", nk);
			snprintf(title, sizeof(title), "Median Mop/s, %.0f keys", nk);
			out(f, id, title, &t);
			rp_table_free(&t);
			any = true;
		}
		if (rp_bench_cg_table(rp->bench, nk, &t) == 0) {
			snprintf(id, sizeof(id), "bench-cg-%.0f", nk);
			snprintf(title, sizeof(title), "Per operation under "
				 "callgrind, %.0f keys", nk);
			out(f, id, title, &t);
			rp_table_free(&t);
		}
	}
	return any;
}

static void html_bench(const struct report *rp, FILE *f)
{
	char models[1200];

	fputs("<section id=\"bench\">\n<h2>Benchmark</h2>\n", f);
	if (bench_values(rp, models, sizeof(models))) {
		fputs("<p>In this benchmark, ", f);
		rp_esc(f, models);
		fputs(".</p>\n", f);
	}
	for (size_t i = 0; i < rp->nbcharts; i++)
		html_chart(rp, f, &rp->bcharts[i].chart);
	if (bench_tables(rp, f, html_bench_table)) {
		char note[800];

		rp_bench_note(rp->bench, note, sizeof(note));
		fputs("<p class=\"note\">", f);
		rp_esc(f, note);
		fputs("</p>\n", f);
	}
	fputs("</section>\n", f);
}

/* What the hash covers, and where the expectations came from. */
static void html_footer(const struct report *rp, FILE *f)
{
	fputs("<footer id=\"about\">", f);
	fprintf(f, "Report hash %s = the first 8 hex digits of SHA-256 over ",
		rp->hash);
	rp_esc(f, rp->hash_what);
	fputs(" (in that order); re-rendering the same folder gives the same "
	      "hash. Rendered by <code>maplab report</code>; charts drawn by "
	      "gnuplot from the folder's data/*.dat and plots/*.dat files.", f);
	if (rp->expect_path) {
		fputs(" Expectations: ", f);
		rp_esc(f, strrchr(rp->expect_path, '/') ? strrchr(rp->expect_path, '/') + 1 :
			       rp->expect_path);
		fputs(".", f);
	}
	fputs("</footer>\n</main>\n</body>\n</html>\n", f);
}

int rp_write_html(const struct report *rp, FILE *f, char *err, size_t n)
{
	(void)err;
	(void)n;
	html_head(rp, f);
	html_nav(rp, f);
	html_what_ran(rp, f);
	rp_extra_html(rp, f);
	if (rp->nincs)
		html_overview(rp, f);
	for (size_t i = 0; i < rp->nincs; i++)
		html_incident(rp, f, &rp->incs[i]);
	if (rp->tsan)
		html_tsan(rp, f);
	rp_go_html(rp, f, html_chart);
	if (rp->nbcharts)
		html_bench(rp, f);
	html_footer(rp, f);
	return ferror(f) ? -EIO : 0;
}

static void md_chart(FILE *f, const struct rp_chart *c)
{
	fprintf(f, "<a id=\"%s\"></a>\n\n", c->id);
	if (!c->drawn) {
		fprintf(f, "*%s — %s*\n\n", c->title, c->why[0] ? c->why : "Not drawn.");
		return;
	}
	fprintf(f, "![%s](plots/%s.png)\n\n%s ([SVG](plots/%s.svg))\n\n", c->title,
		c->id, c->caption, c->id);
}

void rp_md_row(FILE *f, char *const *cells, size_t n)
{
	fputs("|", f);
	for (size_t j = 0; j < n; j++) {
		fputs(" ", f);
		md_cell(f, cells[j]);
		fputs(" |", f);
	}
	fputs("\n", f);
}

/* A Markdown header separator; columns from `right` on align right, up to
 * (not including) `upto`. */
static void md_rule(FILE *f, size_t n, size_t right, size_t upto)
{
	fputs("|", f);
	for (size_t j = 0; j < n; j++)
		fputs(j >= right && j < upto ? " ---: |" : " --- |", f);
	fputs("\n", f);
}

/* An rp_table as Markdown: row 0 the header, every column but the first
 * right-aligned. */
static void md_table(FILE *f, const struct rp_table *t)
{
	rp_md_row(f, t->cell[0], t->ncols);
	md_rule(f, t->ncols, 1, t->ncols);
	for (size_t r = 1; r < t->nrows; r++)
		rp_md_row(f, t->cell[r], t->ncols);
}

static void md_verdict(const struct report *rp, FILE *f,
		       const struct rp_incident *inc)
{
	size_t ncol = rp->expect ? V_N : V_EXPECT;
	char cell[V_N][400];
	char *cells[V_N];

	fputs("|", f);
	for (size_t j = 0; j < ncol; j++)
		fprintf(f, " %s |", vhead[j]);
	fputs("\n", f);
	md_rule(f, ncol, V_LIVE, V_EXPECT);
	for (size_t j = 0; j < V_N; j++)
		cells[j] = cell[j];
	for (size_t k = 0; k < inc->nruns; k++) {
		verdict_cells(rp, inc, &rp->runs[inc->runs[k]], cell);
		rp_md_row(f, cells, ncol);
	}
	fputs("\n", f);
}

static void md_incident(const struct report *rp, FILE *f,
			const struct rp_incident *inc)
{
	const char *title = incident_title(inc->name);
	char story[3000];
	struct rp_table t;

	fprintf(f, "<a id=\"%s\"></a>\n\n## %s%s%s\n\n", inc->name, inc->name,
		title ? " — " : "", title ? title : "");
	rp_story(rp, inc, story, sizeof(story));
	fprintf(f, "%s\n\n<a id=\"%s-verdict\"></a>\n\n", story, inc->name);
	md_verdict(rp, f, inc);
	for (size_t c = 0; c < inc->ncharts; c++)
		md_chart(f, &inc->charts[c]);
	if (rp_seed_table(rp, inc, &t) != 0)
		return;
	fprintf(f, "<a id=\"%s-seed\"></a>\n\n### The seed's figures beside the "
		"lab's\n\n", inc->name);
	md_table(f, &t);
	fprintf(f, "\n%s\n\n", t.note);
	rp_table_free(&t);
}

static void md_bench_table(FILE *f, const char *id, const char *title,
			   const struct rp_table *t)
{
	fprintf(f, "<a id=\"%s\"></a>\n\n### %s\n\n", id, title);
	md_table(f, t);
	fputs("\n", f);
}

/* The Markdown twin of html_bench. */
static void md_bench(const struct report *rp, FILE *f)
{
	char models[1200], note[800];

	fputs("<a id=\"bench\"></a>\n\n## Benchmark\n\n", f);
	if (bench_values(rp, models, sizeof(models)))
		fprintf(f, "In this benchmark, %s.\n\n", models);
	for (size_t i = 0; i < rp->nbcharts; i++)
		md_chart(f, &rp->bcharts[i].chart);
	if (!bench_tables(rp, f, md_bench_table))
		return;
	rp_bench_note(rp->bench, note, sizeof(note));
	fprintf(f, "%s\n\n", note);
}

int rp_write_md(const struct report *rp, FILE *f)
{
	struct kv kv[32];
	size_t nkv = manifest_rows(rp, kv, 32);
	const char *run_id = rp_jstr(rp->manifest, "run_id");

	fprintf(f, "# maplab report: %s\n\nCite as **report %s**, #anchor "
		"(the hash covers %s).\n\n", run_id ? run_id : "?", rp->hash,
		rp->hash_what);
	if (rp->incomplete)
		fprintf(f, "> **Incomplete results**: the run was interrupted or "
			"is still being written; %zu run(s) recorded.\n\n", rp->nruns);
	if (rp->nnotes)
		fputs("> **Notes on this folder**:\n>\n", f);
	for (size_t i = 0; i < rp->nnotes; i++)
		fprintf(f, "> - %s\n%s", rp->notes[i],
			i + 1 == rp->nnotes ? "\n" : "");
	fputs("<a id=\"run\"></a>\n\n## What ran\n\n```\n", f);
	for (size_t i = 0; i + 1 < nkv; i++)
		fprintf(f, "%-9s %s\n", kv[i].k, kv[i].v);
	fprintf(f, "```\n\nReproduce:\n\n```sh\n%s\n```\n\n", kv[nkv - 1].v);
	other_pages(rp, f, true);
	rp_extra_md(rp, f);
	for (size_t i = 0; i < rp->nincs; i++)
		md_incident(rp, f, &rp->incs[i]);
	if (rp->tsan)
		md_tsan(rp, f);
	rp_go_md(rp, f, md_chart);
	if (rp->nbcharts)
		md_bench(rp, f);
	fprintf(f, "---\nReport hash %s: first 8 hex digits of SHA-256 over %s.\n",
		rp->hash, rp->hash_what);
	return ferror(f) ? -EIO : 0;
}

/* ASCII copy of a cell, cut to width (0: no limit) with "..". */
static void term_cell(FILE *f, const char *in, int width, bool pad)
{
	char c[160];
	size_t o = 0;

	/* plain ASCII in the terminal, so columns line up */
	for (const char *q = in; *q && o + 4 < sizeof(c); q++) {
		if (!strncmp(q, "–", strlen("–"))) {
			c[o++] = '-';
			q += strlen("–") - 1;
		} else if (!strncmp(q, "µ", strlen("µ"))) {
			c[o++] = 'u';
			q += strlen("µ") - 1;
		} else if (!strncmp(q, "✓", strlen("✓"))) {
			c[o++] = 'o';
			c[o++] = 'k';
			q += strlen("✓") - 1;
		} else if (!strncmp(q, "✗", strlen("✗"))) {
			c[o++] = 'F';
			c[o++] = 'A';
			c[o++] = 'I';
			c[o++] = 'L';
			q += strlen("✗") - 1;
		} else {
			c[o++] = *q;
		}
	}
	c[o] = '\0';
	if (width && strlen(c) > (size_t)width)
		strcpy(c + width - 2, "..");
	if (pad)
		fprintf(f, "%-*s ", width, c);
	else
		fprintf(f, "%s", c);
}

void rp_print_terminal(const struct report *rp, FILE *f)
{
	char cell[V_N][400];
	static const int cols[] = { V_RUN, V_OUTCOME, V_LIVE, V_RSS, V_INFL,
				    V_P99, V_THR, V_VERDICT };
	static const int width[] = { 12, 28, 9, 9, 8, 9, 11, 60 };
	const size_t nc = sizeof(cols) / sizeof(cols[0]);

	for (size_t i = 0; i < rp->nincs; i++) {
		const struct rp_incident *inc = &rp->incs[i];

		fprintf(f, "\n%s\n", inc->name);
		for (size_t j = 0; j < nc; j++)
			fprintf(f, "%-*s ", width[j], vhead[cols[j]]);
		if (rp->expect)
			fprintf(f, "%-40s ", "expected");
		fputs("symptoms\n", f);
		for (size_t k = 0; k < inc->nruns; k++) {
			int mark = verdict_cells(rp, inc, &rp->runs[inc->runs[k]], cell);

			for (size_t j = 0; j < nc; j++)
				term_cell(f, cell[cols[j]], width[j], true);
			if (rp->expect)
				term_cell(f, mark >= 0 ? cell[V_EXPECT] : "-", 40, true);
			term_cell(f, cell[V_SYMPTOMS], 100, false);
			fputs("\n", f);
		}
	}
}

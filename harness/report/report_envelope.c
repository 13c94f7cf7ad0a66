/*
 * harness/report/report_envelope.c - #envelope (see report_envelope.h): for
 * an envelope folder (maplab envelope), the knee of each variant
 * (#envelope-table, with the headroom against the lowest knee), a chart
 * of every probe's growth while loaded against the load, knees marked
 * (#envelope-chart, inline SVG drawn here: one point per run, log x), and
 * every probe (#envelope-probes).  Read-only over struct report;
 * single-threaded.
 */
#include <math.h>
#include <string.h>

#include "harness/report/report_envelope.h"

/* The lowest knee's upper end (the blamed design), its variant. */
static double blamed(const struct report *rp, const char **name)
{
	json_t *res = rp_j(rp->manifest, "envelope.results"), *r;
	const char *v;
	double best = NAN;

	*name = NULL;
	json_object_foreach(res, v, r) {
		const char *st = rp_jstr(r, "state");
		double hi = rp_jnum(r, "hi");

		if (st && strcmp(st, "holds") && isfinite(hi) && !(hi >= best)) {
			best = hi;
			*name = v;
		}
	}
	return best;
}

static void headroom(const struct report *rp, json_t *r, const char *var,
		     char *buf, size_t n)
{
	const char *bn;
	double b = blamed(rp, &bn), lo = rp_jnum(r, "lo");

	if (!bn || !strcmp(bn, var) || !isfinite(lo) || !(b > 0))
		snprintf(buf, n, "—");
	else
		snprintf(buf, n, "%s%.1f× %s's knee",
			 !strcmp(rp_jstr(r, "state") ? rp_jstr(r, "state") : "",
				 "holds") ? "≥ " : "", lo / b, bn);
}

/* The param's value and the growth of one run (NaN when unknown). */
static void probe_xy(const struct report *rp, const struct rp_run *r,
		     double *x, double *y)
{
	char path[96];

	snprintf(path, sizeof(path), "params.%s",
		 rp_jstr(rp->manifest, "envelope.param") ?
		 rp_jstr(rp->manifest, "envelope.param") : "?");
	*x = r->rec ? rp_jnum(r->rec, path) : NAN;
	*y = r->rec ? verdict_growth_mib_s(r->rec) : NAN;
}

static double sx(double x, double lo, double hi)
{
	return 60 + 560 * (log(x) - log(lo)) / (log(hi) - log(lo));
}

static double sy(double y, double top)
{
	double v = y > 0.1 ? log10(y / 0.1) / log10(top / 0.1) : 0;

	return 250 - 220 * (v > 1 ? 1 : v);
}

/* One point per probe (a cross when it tipped), a band per knee. */
static void chart_svg(const struct report *rp, FILE *f)
{
	double lo = rp_jnum(rp->manifest, "envelope.from") / 1.2;
	double hi = rp_jnum(rp->manifest, "envelope.to") * 1.2, top = 1000;
	double thr = rp_jnum(rp->manifest, "envelope.growth_mib_s");
	json_t *res = rp_j(rp->manifest, "envelope.results"), *r;
	const char *v;
	size_t k = 0;

	fputs("<svg id=\"envelope-chart\" viewBox=\"0 0 760 290\" width=\"760\" "
	      "height=\"290\" role=\"img\" font-size=\"11\" "
	      "font-family=\"sans-serif\">\n<rect x=\"60\" y=\"30\" width=\"560\" "
	      "height=\"220\" fill=\"none\" stroke=\"#999\"/>\n", f);
	fprintf(f, "<line x1=\"60\" x2=\"620\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"#c00\" "
		"stroke-dasharray=\"4 3\"/><text x=\"64\" y=\"%.1f\" fill=\"#c00\">"
		"unbounded above %g MiB/s</text>\n",
		sy(thr, top), sy(thr, top), sy(thr, top) - 4, thr);
	for (double t = 0.1; t <= top; t *= 10)
		fprintf(f, "<text x=\"55\" y=\"%.1f\" text-anchor=\"end\">%g</text>\n",
			sy(t, top) + 4, t);
	json_object_foreach(res, v, r) {
		if (isfinite(rp_jnum(r, "lo")) && isfinite(rp_jnum(r, "hi")))
			fprintf(f, "<rect x=\"%.1f\" y=\"30\" width=\"%.1f\" height=\"220\" "
				"fill=\"%s\" opacity=\"0.15\"><title>%s knee</title></rect>\n",
				sx(rp_jnum(r, "lo"), lo, hi), sx(rp_jnum(r, "hi"), lo, hi) -
				sx(rp_jnum(r, "lo"), lo, hi), rp_color(v), v);
		fprintf(f, "<text x=\"640\" y=\"%zu\" fill=\"%s\">● %s</text>\n",
			60 + 16 * k++, rp_color(v), v);
	}
	for (size_t i = 0; i < rp->nruns; i++) {
		double x, y;

		probe_xy(rp, &rp->runs[i], &x, &y);
		if (!isfinite(x) || x <= 0)
			continue;
		fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" fill=\"%s\" text-anchor=\"middle\">"
			"%s</text>\n", sx(x, lo, hi), sy(isfinite(y) ? y : top, top) + 4,
			rp_color(rp->runs[i].variant),
			verdict_tipped(rp_run_failed(&rp->runs[i]), y, thr) ? "×" : "●");
	}
	for (int e = 0; e < 2; e++) {
		double t = rp_jnum(rp->manifest, e ? "envelope.to" : "envelope.from");

		fprintf(f, "<text x=\"%.1f\" y=\"264\" text-anchor=\"middle\">%g"
			"</text>\n", sx(t, lo, hi), t);
	}
	fprintf(f, "<text x=\"340\" y=\"280\" text-anchor=\"middle\">%s (log)"
		"</text>\n<text x=\"14\" y=\"140\" transform=\"rotate(-90 14 140)\" "
		"text-anchor=\"middle\">growth while loaded, MiB/s (log)</text>\n"
		"</svg>\n", rp_jstr(rp->manifest, "envelope.param"));
}

static const char *const khead[] = {"variant", "result", "probes",
				    "headroom", NULL};

void rp_envelope_html(const struct report *rp, FILE *f)
{
	json_t *res = rp_j(rp->manifest, "envelope.results"), *r;
	const char *v;
	char room[160];

	fprintf(f, "<section id=\"envelope\">\n<h2>Capacity envelope: %s, %s "
		"from %g to %g</h2>\n<p>Each variant's knee: the load where its "
		"runs go from mostly bounded to mostly tipped into unbounded memory "
		"(oom, crash, hang, or live memory growing faster than %g MiB/s "
		"while loaded), bracketed and bisected, %.0f runs at each end: the "
		"upper end has most of its runs tipped; a lower end where some "
		"tipped is marked as an edge. Every probe is a run of this "
		"folder (below).</p>\n<table id=\"envelope-table\">\n<tr>",
		rp_jstr(rp->manifest, "envelope.incident"),
		rp_jstr(rp->manifest, "envelope.param"),
		rp_jnum(rp->manifest, "envelope.from"),
		rp_jnum(rp->manifest, "envelope.to"),
		rp_jnum(rp->manifest, "envelope.growth_mib_s"),
		rp_jnum(rp->manifest, "envelope.reps"));
	for (size_t j = 0; khead[j]; j++)
		fprintf(f, "<th>%s</th>", khead[j]);
	fputs("</tr>\n", f);
	json_object_foreach(res, v, r) {
		headroom(rp, r, v, room, sizeof(room));
		fputs("<tr><td>", f);
		rp_esc(f, v);
		fputs("</td><td>", f);
		rp_esc(f, rp_jstr(r, "text"));
		fprintf(f, "</td><td>%.0f</td><td>", rp_jnum(r, "probes"));
		rp_esc(f, room);
		fputs("</td></tr>\n", f);
	}
	fputs("</table>\n<h3 id=\"envelope-chart-title\">Growth against load"
	      "</h3>\n", f);
	chart_svg(rp, f);
	fputs("<p class=\"note\">One mark per probe (● bounded, × tipped: "
	      "oom/crash/hang, drawn at the top when it ended before a growth "
	      "could be measured, or growing above the dashed line); shaded: each variant's bracket; dashed: the "
	      "growth that counts as unbounded.</p>\n<h3 id=\"envelope-probes\">"
	      "Every probe</h3>\n<table>\n<tr><th>run</th><th>load</th>"
	      "<th>outcome</th><th>growth MiB/s</th></tr>\n", f);
	for (size_t i = 0; i < rp->nruns; i++) {
		double x, y;

		probe_xy(rp, &rp->runs[i], &x, &y);
		fputs("<tr><td>", f);
		rp_esc(f, rp->runs[i].base);
		fprintf(f, "</td><td>%g</td><td>%s</td><td>%.1f</td></tr>\n", x,
			rp_outcome(&rp->runs[i]), y);
	}
	fputs("</table>\n</section>\n", f);
}

void rp_envelope_md(const struct report *rp, FILE *f)
{
	json_t *res = rp_j(rp->manifest, "envelope.results"), *r;
	const char *v;
	char room[160];

	fprintf(f, "<a id=\"envelope\"></a>\n\n## Capacity envelope: %s, %s from "
		"%g to %g\n\nTipped: oom, crash, hang, or live memory growing "
		"faster than %g MiB/s while loaded; %.0f runs at each end of a "
		"bracket, most of them tipped at the upper end (a lower end where "
		"some tipped is an edge). The chart is on the HTML page "
		"(#envelope-chart).\n\n"
		"<a id=\"envelope-table\"></a>\n\n| variant | result | probes | "
		"headroom |\n| --- | --- | ---: | --- |\n",
		rp_jstr(rp->manifest, "envelope.incident"),
		rp_jstr(rp->manifest, "envelope.param"),
		rp_jnum(rp->manifest, "envelope.from"),
		rp_jnum(rp->manifest, "envelope.to"),
		rp_jnum(rp->manifest, "envelope.growth_mib_s"),
		rp_jnum(rp->manifest, "envelope.reps"));
	json_object_foreach(res, v, r) {
		headroom(rp, r, v, room, sizeof(room));
		fprintf(f, "| %s | %s | %.0f | %s |\n", v, rp_jstr(r, "text"),
			rp_jnum(r, "probes"), room);
	}
	fputs("\n<a id=\"envelope-probes\"></a>\n\n| run | load | outcome | "
	      "growth MiB/s |\n| --- | ---: | --- | ---: |\n", f);
	for (size_t i = 0; i < rp->nruns; i++) {
		double x, y;

		probe_xy(rp, &rp->runs[i], &x, &y);
		fprintf(f, "| %s | %g | %s | %.1f |\n", rp->runs[i].base, x,
			rp_outcome(&rp->runs[i]), y);
	}
	fputs("\n", f);
}

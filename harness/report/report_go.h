/* harness/report/report_go.h - the Go claims sections of the report, drawn
 * from <folder>/goclaims.json (`maplab goclaims`): hooks report_html.c
 * calls for the contents entry, the HTML page and the Markdown page, and
 * the rows of the one Go claims chart (#go-claims-died), which
 * report_plot.c draws with plots/goclaims.gp.  A folder without
 * goclaims.json gets nothing. */
#ifndef MAPLAB_REPORT_GO_H
#define MAPLAB_REPORT_GO_H

#include <stdio.h>

struct report;
struct rp_chart;

/* The chart: plots/<RP_GO_CHART_ID>.svg|png in the report's folder. */
#define RP_GO_CHART_ID "go-claims-died"
#define RP_GO_CHART_TITLE \
	"Go claims: share of processes that died (95 % Wilson interval)"

/* How the page draws a chart (report_html.c's, passed at the call site):
 * the figure with its anchor, or the reason it was not drawn. */
typedef void rp_go_html_chart_fn(const struct report *rp, FILE *f,
				 const struct rp_chart *c);
typedef void rp_go_md_chart_fn(FILE *f, const struct rp_chart *c);

void rp_go_nav(const struct report *rp, FILE *f);
void rp_go_html(const struct report *rp, FILE *f, rp_go_html_chart_fn *chart);
void rp_go_md(const struct report *rp, FILE *f, rp_go_md_chart_fn *chart);

/* The chart's rows into f (plots/goclaims.gp's data file): one per
 * seed10 and loop experiment of goclaims.json, x, label, share and its
 * Wilson interval in %, colour (the unsafe map's; paled with recover()),
 * "died/ran".  plain and paled get the two colours ("#rrggbb", 8 bytes
 * each).  The number of rows, or -1 when the folder has no goclaims.json. */
int rp_go_chart_rows(const struct report *rp, FILE *f, char plain[8],
		     char paled[8]);

#endif

/* harness/report/report_go.h - the Go claims sections of the report, drawn
 * from <folder>/goclaims.json (`maplab goclaims`): hooks report_html.c
 * calls for the contents entry, the HTML page and the Markdown page.  A
 * folder without goclaims.json gets nothing. */
#ifndef MAPLAB_REPORT_GO_H
#define MAPLAB_REPORT_GO_H

#include <stdio.h>

struct report;

void rp_go_nav(const struct report *rp, FILE *f);
void rp_go_html(const struct report *rp, FILE *f);
void rp_go_md(const struct report *rp, FILE *f);

#endif

/*
 * harness/report/report_sources.h - the report's sections for merged
 * folders (#machines: which machine ran what) and envelope folders
 * (#envelope: the knees), and the notes they add.  Only report*.c include
 * it.
 */
#ifndef MAPLAB_REPORT_SOURCES_H
#define MAPLAB_REPORT_SOURCES_H

#include <stdio.h>

#include "harness/report/report_impl.h"

/* Notes for a merged folder's warnings (commits or builds that differ). */
void rp_sources_notes(struct report *rp);
/* Contents entries, HTML sections and Markdown sections; nothing when the
 * folder is neither merged nor an envelope. */
void rp_extra_nav(const struct report *rp, FILE *f);
void rp_extra_html(const struct report *rp, FILE *f);
void rp_extra_md(const struct report *rp, FILE *f);

#endif

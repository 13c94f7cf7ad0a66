/*
 * harness/report/report_envelope.h - #envelope: the capacity envelope of an
 * envelope folder (harness/lanes/envelope.c): table and chart of the
 * growth while loaded against the load parameter, knees marked.
 */
#ifndef MAPLAB_REPORT_ENVELOPE_H
#define MAPLAB_REPORT_ENVELOPE_H

#include <stdio.h>

#include "harness/report/report_impl.h"

void rp_envelope_html(const struct report *rp, FILE *f);
void rp_envelope_md(const struct report *rp, FILE *f);

#endif

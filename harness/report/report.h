/*
 * harness/report/report.h - the `maplab report` subcommand: turns a results folder
 * into report.html (self-contained), report.md and plots/<chart>.svg|png.
 */
#ifndef MAPLAB_REPORT_H
#define MAPLAB_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* `maplab report [RUN] [--expect FILE] [--quiet]`; 0 ok, 2 bad input
 * (nothing written), 1 rendering failed (nothing written). */
int report_main(int argc, char **argv);

struct report_opts {
	const char *expect_path; /* expectations JSON; NULL = look beside the run */
	bool quiet;              /* no verdict table on `out` */
	FILE *out;               /* where the table and path go; NULL = stdout */
};

/*
 * Render the report of results folder `dir` in place.  Everything is drawn
 * in a temporary folder inside `dir` and moved into place at the end, so
 * on failure the folder is as it was.  Returns 0; -ENOENT or -EINVAL for
 * bad input (no such folder, not a results folder, corrupt JSON); another
 * negative errno when rendering failed (gnuplot missing, disk full).  err
 * receives one line saying what went wrong.
 */
int report_render(const char *dir, const struct report_opts *opts, char *err,
		  size_t errlen);

/* DIR holds no manifest.json but at least one results folder (a
 * `--dir` group of run/matrix). */
bool report_is_group(const char *dir);
/* Write DIR/index.html linking each results folder's report, oldest
 * first; with render, re-render each folder's report first.  0 or
 * negative errno with err set. */
int report_index(const char *dir, bool render, char *err, size_t errlen);

#endif

/*
 * harness/cli/rundir.h - `--dir DIR` of run and matrix (the results folder
 * made inside DIR, so one workshop step's runs sit together) and the
 * report rendered after the runs.
 */
#ifndef MAPLAB_HARNESS_RUNDIR_H
#define MAPLAB_HARNESS_RUNDIR_H

#include <stdbool.h>
#include <stddef.h>

/* DIR is usable: a folder, or a new name whose parent is a folder; valid
 * UTF-8.  0, or 2 with one line printed ("maplab CMD: ..."). */
int cli_dir_check(const char *dir, const char *cmd);
/* Make DIR if missing and name a new folder in it, DIR/<date>-<time>-LABEL
 * (-2, -3 ... when that is taken).  0, or 2 with one line printed. */
int cli_dir_out(const char *dir, const char *label, char *buf, size_t len,
		const char *cmd);
/* With render, RUN's report (quietly: the table is already printed); with
 * a DIR, DIR/index.html.  A failure prints one line and is not fatal. */
void cli_render(const char *run, const char *dir, bool render);

#endif

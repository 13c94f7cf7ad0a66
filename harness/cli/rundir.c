/*
 * harness/cli/rundir.c - `--dir DIR` of run and matrix, and the report
 * rendered after the runs (`--report`, or by default on a terminal).
 *
 * DIR holds one results folder per invocation (results_open() still
 * claims each one alone, so two writers never share a folder); the
 * group's index page is report_index()'s.  Single-threaded, no state.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib.h>

#include "harness/cli/opts.h"
#include "harness/cli/rundir.h"
#include "harness/report/report.h"

int cli_dir_check(const char *dir, const char *cmd)
{
	struct stat st;
	char parent[PATH_MAX];
	char *slash;

	if (!*dir || strlen(dir) > PATH_MAX - 200 ||
	    !g_utf8_validate(dir, -1, NULL)) {
		fprintf(stderr, "maplab %s: --dir needs a UTF-8 folder name of "
			"at most %d bytes\n", cmd, PATH_MAX - 200);
		return 2;
	}
	if (stat(dir, &st) == 0) {
		if (S_ISDIR(st.st_mode) && access(dir, W_OK | X_OK) == 0)
			return 0;
		fprintf(stderr, "maplab %s: --dir %s %s; pick a folder you can "
			"write to\n", cmd, dir, S_ISDIR(st.st_mode)
			? "is not writable" : "exists and is not a folder");
		return 2;
	}
	snprintf(parent, sizeof(parent), "%s", dir);
	while (strlen(parent) > 1 && parent[strlen(parent) - 1] == '/')
		parent[strlen(parent) - 1] = '\0';
	slash = strrchr(parent, '/');
	if (slash)
		*(slash == parent ? slash + 1 : slash) = '\0';
	else
		snprintf(parent, sizeof(parent), ".");
	if (stat(parent, &st) != 0 || !S_ISDIR(st.st_mode)) {
		fprintf(stderr, "maplab %s: --dir %s: its parent %s is not a "
			"folder; make it first or pick another name\n", cmd, dir,
			parent);
		return 2;
	}
	return 0;
}

int cli_dir_out(const char *dir, const char *label, char *buf, size_t len,
		const char *cmd)
{
	char name[PATH_MAX], *base;
	struct stat st;

	if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
		fprintf(stderr, "maplab %s: cannot make --dir %s: %s\n", cmd, dir,
			strerror(errno));
		return 2;
	}
	cli_default_out(name, sizeof(name), label); /* results/<stamp>-label */
	base = strrchr(name, '/');
	snprintf(buf, len, "%s/%s", dir, base ? base + 1 : name);
	for (int i = 2; stat(buf, &st) == 0 && i < 100; i++)
		snprintf(buf, len, "%s/%s-%d", dir, base ? base + 1 : name, i);
	return 0;
}

void cli_render(const char *run, const char *dir, bool render)
{
	struct report_opts o = { .quiet = true };
	char err[1024] = "";

	fflush(stdout);
	if (render && report_render(run, &o, err, sizeof(err)))
		fprintf(stderr, "maplab: the report was not rendered: %s; try "
			"maplab report %s\n", err, run);
	if (dir && report_index(dir, false, err, sizeof(err)))
		fprintf(stderr, "maplab: %s/index.html was not written: %s\n",
			dir, err);
}

/*
 * harness/report/report_index.c - a folder of results folders (`run` or
 * `matrix --dir DIR`, one per workshop step): DIR/index.html links each
 * folder's report with the command that made it, oldest first, and
 * `maplab report DIR` re-renders each of them.
 *
 * A subfolder counts when it holds a manifest.json; nothing else in DIR is
 * read.  The page is written to a temporary name and renamed into place.
 * Single-threaded, no state.
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "harness/report/report.h"
#include "harness/report/report_impl.h"

static int by_name(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

static int is_run(const struct dirent *e)
{
	return e->d_name[0] != '.';
}

bool report_is_group(const char *dir)
{
	char path[PATH_MAX];
	struct dirent **list;
	struct stat st;
	int n;
	bool any = false;

	snprintf(path, sizeof(path), "%s/manifest.json", dir);
	if (stat(path, &st) == 0)
		return false;
	n = scandir(dir, &list, is_run, by_name);
	for (int i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/%s/manifest.json", dir,
			 list[i]->d_name);
		any |= stat(path, &st) == 0;
		free(list[i]);
	}
	if (n >= 0)
		free(list);
	return any;
}

static void entry(FILE *f, const char *dir, const char *name, bool render)
{
	char path[PATH_MAX], err[1024] = "";
	struct stat st;
	json_t *m;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (render) {
		struct report_opts o = { .quiet = true };

		if (report_render(path, &o, err, sizeof(err)))
			fprintf(stderr, "maplab report: %s: %s\n", path, err);
	}
	snprintf(path, sizeof(path), "%s/%s/manifest.json", dir, name);
	m = json_load_file(path, 0, NULL);
	fputs("<li><b>", f);
	rp_esc(f, name);
	fputs("</b>: <code>", f);
	rp_esc(f, json_string_value(json_object_get(m, "command")));
	fputs("</code> ", f);
	snprintf(path, sizeof(path), "%s/%s/report.html", dir, name);
	if (stat(path, &st) == 0) {
		fputs("<a href=\"", f);
		rp_esc(f, name);
		fputs("/report.html\">report</a>", f);
	} else {
		fputs("(no report yet: <code>maplab report ", f);
		rp_esc(f, dir);
		fputs("</code>)", f);
	}
	if (!json_is_true(json_object_get(m, "complete")))
		fputs(" <i>incomplete</i>", f);
	fputs("</li>\n", f);
	json_decref(m);
}

int report_index(const char *dir, bool render, char *err, size_t n)
{
	char path[PATH_MAX], tmp[PATH_MAX + 16];
	struct dirent **list;
	struct stat st;
	int k;
	FILE *f;

	k = scandir(dir, &list, is_run, by_name);
	if (k < 0) {
		snprintf(err, n, "cannot read %s: %s", dir, strerror(errno));
		return -errno;
	}
	snprintf(tmp, sizeof(tmp), "%s/.index.html.%d", dir, getpid());
	f = fopen(tmp, "w");
	if (!f) {
		snprintf(err, n, "cannot write in %s: %s", dir, strerror(errno));
		for (int i = 0; i < k; i++)
			free(list[i]);
		free(list);
		return -errno;
	}
	fputs("<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>"
	      "maplab runs: ", f);
	rp_esc(f, dir);
	fputs("</title></head>\n<body style=\"font-family:sans-serif;max-width:"
	      "60em\">\n<h1>maplab runs in ", f);
	rp_esc(f, dir);
	fputs("</h1>\n<p>One results folder per command, oldest first.</p>\n"
	      "<ul>\n", f);
	for (int i = 0; i < k; i++) {
		snprintf(path, sizeof(path), "%s/%s/manifest.json", dir,
			 list[i]->d_name);
		if (stat(path, &st) == 0)
			entry(f, dir, list[i]->d_name, render);
		free(list[i]);
	}
	free(list);
	fputs("</ul>\n</body></html>\n", f);
	snprintf(path, sizeof(path), "%s/index.html", dir);
	if (fclose(f) != 0 || rename(tmp, path) != 0) {
		snprintf(err, n, "cannot write %s: %s", path, strerror(errno));
		unlink(tmp);
		return -EIO;
	}
	if (render)
		printf("index: %s\n", path);
	return 0;
}

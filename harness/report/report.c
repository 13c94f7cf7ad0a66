/*
 * harness/report/report.c - `maplab report [RUN]`: renders a results folder.
 *
 * Order of work: load and check every input (report_load.c), draw the
 * charts into <RUN>/.report.tmp.XXXXXX/plots (report_plot.c), write
 * report.html and report.md beside them (report_html.c), then move the
 * plots folder and the two pages into place with rename(2).  A failure
 * before the moves removes the temporary folder, so a bad input or a
 * failed gnuplot leaves the results folder exactly as it was; each file
 * that does appear is complete.  Two renders of one folder at once are
 * not supported (the last one's plots win).  Single-threaded; the only
 * child processes are gnuplot's, each waited for.
 */
#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness/report/report.h"
#include "harness/report/report_impl.h"
#include "harness/store/merge.h"

static int rm_one(const char *path, const struct stat *st, int flag,
		  struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

static void rm_tree(const char *path)
{
	nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static bool is_plotdir(const char *dir)
{
	char p[PATH_MAX + 32];

	snprintf(p, sizeof(p), "%s/timeseries.gp", dir);
	return access(p, R_OK) == 0;
}

/* The gnuplot scripts: $MAPLAB_PLOTS, ./plots, or plots/ in a parent of
 * the executable's folder (build/<name>/maplab -> ../../plots). */
static char *find_plotdir(void)
{
	const char *env = getenv("MAPLAB_PLOTS");
	char exe[PATH_MAX], p[PATH_MAX + 16];
	ssize_t len;

	if (env && is_plotdir(env))
		return realpath(env, NULL);
	if (is_plotdir("plots"))
		return realpath("plots", NULL);
	len = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (len <= 0)
		return NULL;
	exe[len] = '\0';
	for (int up = 0; up < 5; up++) {
		char *slash = strrchr(exe, '/');

		if (!slash)
			break;
		*slash = '\0';
		snprintf(p, sizeof(p), "%s/plots", exe);
		if (is_plotdir(p))
			return realpath(p, NULL);
	}
	return NULL;
}

static int write_page(struct report *rp, const char *name, bool html,
		      char *err, size_t n)
{
	char path[PATH_MAX];
	FILE *f;
	int rc;

	snprintf(path, sizeof(path), "%s/%s/%s", rp->dir, rp->tmpname, name);
	f = fopen(path, "w");
	if (!f) {
		snprintf(err, n, "cannot write %s: %s", path, strerror(errno));
		return -errno;
	}
	rc = html ? rp_write_html(rp, f, err, n) : rp_write_md(rp, f);
	if (fflush(f) != 0 || fsync(fileno(f)) != 0)
		rc = -errno;
	if (fclose(f) != 0 && rc == 0)
		rc = -errno;
	if (rc)
		snprintf(err, n, "cannot write %s: %s", path, strerror(-rc));
	return rc;
}

/* Move the rendered files into place: plots/ first, the pages last. */
static int commit(struct report *rp, char *err, size_t n)
{
	char tmp[PATH_MAX], dst[PATH_MAX], old[PATH_MAX];
	static const char *const pages[] = { "report.md", "report.html" };
	struct stat st;

	snprintf(dst, sizeof(dst), "%s/plots", rp->dir);
	old[0] = '\0';
	if (lstat(dst, &st) == 0) {
		snprintf(old, sizeof(old), "%s/.report.old.XXXXXX", rp->dir);
		if (!mkdtemp(old) || rename(dst, old) != 0) {
			snprintf(err, n, "cannot replace %s: %s", dst, strerror(errno));
			return -errno;
		}
	}
	snprintf(tmp, sizeof(tmp), "%s/%s/plots", rp->dir, rp->tmpname);
	if (rename(tmp, dst) != 0) {
		int e = errno;

		if (old[0])
			rename(old, dst);
		snprintf(err, n, "cannot move the charts into %s: %s", dst,
			 strerror(e));
		return -e;
	}
	for (size_t i = 0; i < 2; i++) {
		snprintf(tmp, sizeof(tmp), "%s/%s/%s", rp->dir, rp->tmpname, pages[i]);
		snprintf(dst, sizeof(dst), "%s/%s", rp->dir, pages[i]);
		if (rename(tmp, dst) != 0) {
			snprintf(err, n, "cannot write %s: %s", dst, strerror(errno));
			return -errno;
		}
	}
	if (old[0])
		rm_tree(old);
	return 0;
}

int report_render(const char *dir, const struct report_opts *opts, char *err,
		  size_t n)
{
	struct report rp = { 0 };
	struct report_opts def = { 0 };
	char tmp[PATH_MAX];
	int rc;

	if (!opts)
		opts = &def;
	rc = rp_load(&rp, dir, opts->expect_path, err, n);
	if (rc)
		goto out;
	rp.plotdir = find_plotdir();
	if (!rp.plotdir) {
		snprintf(err, n, "cannot find the gnuplot scripts (plots/"
			 "timeseries.gp): run from the maplab folder or set "
			 "MAPLAB_PLOTS");
		rc = -ENOTRECOVERABLE;
		goto out;
	}
	snprintf(tmp, sizeof(tmp), "%s/.report.tmp.XXXXXX", rp.dir);
	if (!mkdtemp(tmp)) {
		rc = -errno;
		snprintf(err, n, "cannot write in %s: %s", rp.dir, strerror(errno));
		goto out;
	}
	snprintf(rp.tmpname, sizeof(rp.tmpname), "%s", strrchr(tmp, '/') + 1);
	{
		char pl[PATH_MAX + 8];

		snprintf(pl, sizeof(pl), "%s/plots", tmp);
		if (mkdir(pl, 0755) != 0) {
			rc = -errno;
			snprintf(err, n, "cannot write in %s: %s", tmp, strerror(errno));
			goto out;
		}
	}
	rc = rp_plot(&rp, err, n);
	if (rc == 0)
		rc = write_page(&rp, "report.html", true, err, n);
	if (rc == 0)
		rc = write_page(&rp, "report.md", false, err, n);
	if (rc == 0)
		rc = commit(&rp, err, n);
	if (rc == 0) {
		FILE *o = opts->out ? opts->out : stdout;

		if (!opts->quiet)
			rp_print_terminal(&rp, o);
		if (rp.incomplete)
			fprintf(o, "\nINCOMPLETE: %zu run%s recorded (%s)\n",
				rp.nruns, rp.nruns == 1 ? "" : "s",
				rp.writer_pid ? "still being written"
					      : "interrupted or failed");
		for (size_t i = 0; i < rp.nnotes; i++)
			fprintf(o, "note: %s\n", rp.notes[i]);
		fprintf(o, "\nreport %s: %s/report.html (and report.md)\n", rp.hash,
			dir);
	}
out:
	if (rp.tmpname[0])
		rm_tree(tmp);
	rp_free(&rp);
	return rc;
}

#define REPORT_MAX_FOLDERS 256

static void usage(FILE *f)
{
	fputs("usage: maplab report [RUN] [--expect FILE] [--quiet]\n"
	      "       maplab report DIR1 DIR2 ... [--out DIR] [--expect FILE]\n"
	      "  RUN      a results folder or a run id under results/ "
	      "(default results/latest)\n"
	      "  --expect expectations JSON {incident: {variant: {class: "
	      "\"reproduces\"|\"holds\"}}}\n"
	      "           (default: RUN/expectations.json, then "
	      "RUN/../expectations.json, then harness/verdict/expectations.json;\n"
	      "           none: no marks)\n"
	      "  --quiet  no verdict table in the terminal\n"
	      "  --out    with several folders: the merged folder (default\n"
	      "           results/<date>-<time>-merged)\n"
	      "Writes RUN/report.html, RUN/report.md and RUN/plots/.  Several\n"
	      "folders (machines, shards) are merged first into a new folder\n"
	      "(docs/envelope.md#merge); overlapping or missing shards and\n"
	      "folders of another lab version are refused (exit 2).\n", f);
}

int report_main(int argc, char **argv)
{
	struct report_opts o = { 0 };
	const char *run = NULL, *out = NULL;
	const char *runs[REPORT_MAX_FOLDERS];
	size_t nruns = 0;
	char merged[PATH_MAX];
	char err[1024] = "", alt[PATH_MAX + 16];
	struct stat st;
	int rc;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			usage(stdout);
			return 0;
		} else if (!strcmp(argv[i], "--quiet") || !strcmp(argv[i], "-q")) {
			o.quiet = true;
		} else if (!strcmp(argv[i], "--expect")) {
			if (++i >= argc) {
				fprintf(stderr, "maplab report: --expect needs a "
					"file; see maplab report --help\n");
				return 2;
			}
			o.expect_path = argv[i];
		} else if (!strcmp(argv[i], "--out") && i + 1 < argc) {
			out = argv[++i];
		} else if (argv[i][0] == '-' || nruns == REPORT_MAX_FOLDERS) {
			fprintf(stderr, "maplab report: unexpected '%s'; usage: "
				"maplab report [RUN] [--expect FILE] [--quiet]\n",
				argv[i]);
			return 2;
		} else {
			runs[nruns++] = run = argv[i];
		}
	}
	if (nruns > 1) { /* several machines' folders: merge, then render */
		rc = results_merge(runs, nruns, out, argc, argv, merged,
				   sizeof(merged), err, sizeof(err));
		if (rc) {
			fprintf(stderr, "maplab report: %s\n", err);
			return rc == -EINVAL || rc == -EEXIST || rc == -EBUSY ||
			       rc == -EACCES || rc == -ENOENT ? 2 : 1;
		}
		run = merged;
	}
	if (out && nruns < 2) {
		fprintf(stderr, "maplab report: --out is for merging several "
			"folders; give two or more\n");
		return 2;
	}
	if (!run)
		run = "results/latest";
	snprintf(alt, sizeof(alt), "results/%s", run);
	if (stat(run, &st) != 0 && !strchr(run, '/') && stat(alt, &st) == 0)
		run = alt;
	if (report_is_group(run))
		rc = report_index(run, true, err, sizeof(err));
	else
		rc = report_render(run, &o, err, sizeof(err));
	if (rc == 0)
		return 0;
	fprintf(stderr, "maplab report: %s\n", err);
	return rc == -ENOENT || rc == -EINVAL ? 2 : 1;
}

/*
 * harness/lanes/ci.c - `maplab ci`: the CI regression mode.
 *
 * Runs the `ci` preset (every incident x variant, several repetitions;
 * the preset lives with the others in cli.c) into a results folder, judges
 * every cell against the expectation matrix (expect.h), prints the table,
 * writes ci.json (verdicts, read by the report) and junit.xml (one test
 * case per cell), renders the report, and exits 1 when a cell fails: a
 * variant expected to hold showed a symptom, or an incident expected to
 * reproduce no longer did.  Bad input exits 2 before anything runs.
 *
 * No silent pass: ratio rules are bound to this folder's own runs
 * (expect_bind); a cell the expectations name for the incidents and
 * variants the folder's manifest says it ran, but with no run in the
 * folder, is a failing "missing" cell; a cell with fewer runs than the
 * manifest's repetitions fails; a `reproduces` cell whose k had to be
 * lowered to the runs made fails (the report only notes it).
 *
 * Single-threaded, like the runner it drives.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "harness/lanes/ci.h"
#include "harness/lanes/ci_shard.h"
#include "harness/lanes/lane_args.h"
#include "harness/store/merge.h"
#include "harness/cli/cli.h"
#include "harness/cli/opts.h"
#include "harness/verdict/expect.h"
#include "harness/report/report.h"
#include "harness/store/results.h"
#include "harness/verdict/verdict.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: maplab ci [--incident LIST] [--variant LIST] [--reps N]\n"
		"                 [--runtime c|go|both] [--expect FILE] [--out DIR]\n"
		"                 [--no-report] [--shard I/N]\n"
		"       maplab ci --judge DIR [DIR2 ...] [--out DIR] [--expect FILE]\n\n"
		"Runs the ci preset, compares every cell with the expectation\n"
		"matrix (default %s), prints the table (with each\n"
		"cell's margin: its worst repetition against its bound),\n"
		"writes ci.json, junit.xml and the report into the results\n"
		"folder.  Exit 0 when every cell meets its expectation, 1 when\n"
		"one does not (a cell missing from the folder, short of runs or\n"
		"with a k above its runs fails too), 2 on bad input.  --variant\n"
		"exercise checks the workshop exercise against the expectations\n"
		"of `mutex`.  --runtime go runs the incidents' Go twins (the go-*\n"
		"variants, built by `make go`) instead of the C variants, both\n"
		"runs both; default c.\n"
		"--shard I/N runs shard I of N (judge nothing: the\n"
		"merged folders are judged by --judge DIR1 DIR2 ..., which merges\n"
		"them into --out or results/<date>-<time>-merged first).\n",
		EXPECT_DEFAULT_PATH);
}

static void xml_escape(FILE *f, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '<': fputs("&lt;", f); break;
		case '>': fputs("&gt;", f); break;
		case '&': fputs("&amp;", f); break;
		case '"': fputs("&quot;", f); break;
		default:
			if ((unsigned char)*s >= 0x20 || *s == '\n' || *s == '\t')
				fputc(*s, f);
		}
	}
}

struct cell {
	const char *incident, *variant;
	json_t *runs; /* borrowed entries */
	const json_t *rule;
	struct expect_verdict v;
	bool missing; /* expected, no run in the folder */
	char design[96]; /* the design verdict over its runs (verdict.h) */
};

/* Group the summary's runs into cells, in summary order. */
static size_t group_cells(const json_t *runs, struct cell *cells, size_t max)
{
	size_t n = 0, i, j;
	json_t *run;

	json_array_foreach((json_t *)runs, i, run) {
		struct results_run_view rv;
		const char *inc, *var;

		results_view(run, &rv);
		inc = rv.incident;
		var = rv.variant;
		if (!inc || !var)
			continue;
		for (j = 0; j < n; j++)
			if (!strcmp(cells[j].incident, inc) &&
			    !strcmp(cells[j].variant, var))
				break;
		if (j == n) {
			if (n == max)
				continue;
			cells[n].incident = inc;
			cells[n].variant = var;
			cells[n].runs = json_array();
			n++;
		}
		json_array_append(cells[j].runs, run);
	}
	return n;
}

static int write_junit(const char *dir, const struct cell *cells, size_t n,
		       unsigned failures)
{
	char path[PATH_MAX];
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	int rc;

	if (!f)
		return -errno;
	fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		   "<testsuite name=\"maplab-ci\" tests=\"%zu\" failures=\"%u\">\n",
		n, failures);
	for (size_t i = 0; i < n; i++) {
		const struct cell *c = &cells[i];
		fprintf(f, "  <testcase classname=\"maplab.%s\" name=\"%s\" "
			   "time=\"%.1f\">\n", c->incident, c->variant,
			isnan(c->v.median_t) ? 0.0 : c->v.median_t);
		if (!c->v.pass) {
			fprintf(f, "    <failure message=\"");
			xml_escape(f, c->v.cls == EXPECT_NONE ? "no expectation"
				      : c->v.cls == EXPECT_HOLDS
					      ? "expected to hold: "
					      : "expected to reproduce: ");
			xml_escape(f, c->v.why);
			fprintf(f, "\"/>\n");
		}
		fprintf(f, "    <system-out>%u/%u runs showed the symptom"
			   "</system-out>\n  </testcase>\n",
			c->v.shown, c->v.runs);
	}
	fprintf(f, "</testsuite>\n");
	fclose(f);
	snprintf(path, sizeof(path), "%s/junit.xml", dir);
	rc = results_write_file(path, buf, len);
	free(buf);
	return rc;
}

static json_t *margins_json(const struct expect_verdict *v)
{
	json_t *arr = json_array();

	for (unsigned i = 0; i < v->nmargins; i++) {
		const struct expect_margin *m = &v->margins[i];

		json_array_append_new(
			arr, json_pack("{s:s, s:s, s:o, s:o, s:o}", "figure",
				       m->figure, "bound", m->is_min ? "min" : "max",
				       "value", results_num(m->bound), "worst_rep",
				       results_num(m->worst), "margin",
				       results_num(m->margin)));
	}
	return arr;
}

static json_t *cell_json(const struct cell *c)
{
	const struct expect_verdict *v = &c->v;

	return json_pack("{s:s, s:s, s:s, s:b, s:b, s:i, s:i, s:i, s:i, s:i, "
			 "s:o, s:o, s:o, s:o, s:o, s:o, s:s}",
			 "incident", c->incident, "variant", c->variant,
			 "expected", v->cls == EXPECT_REPRODUCES ? "reproduces"
				     : v->cls == EXPECT_HOLDS ? "holds" : "none",
			 "pass", v->pass, "missing", c->missing, "runs", v->runs,
			 "shown", v->shown, "failed_runs", v->failed_runs,
			 "k", v->k, "k_wanted", v->k_wanted,
			 "p", results_num(v->p), "wilson_lo", results_num(v->lo),
			 "wilson_hi", results_num(v->hi),
			 "median_time_to_symptom_s", results_num(v->median_t),
			 "margin", results_num(v->margin), "margins",
			 margins_json(v), "why", v->why);
}

/* The design verdict of a cell, each run judged against ref, its
 * incident's reference in this folder: "holds" when no run broke;
 * "broken: HOW" when every run broke the same way; else each way with its
 * count, most frequent first ("broken: oom 3/4, stall 1/4"). */
static void cell_design(struct cell *c, const struct verdict_ref *ref)
{
	struct {
		char word[16];
		size_t n;
	} how[8], t;
	size_t nh = 0, i, runs = 0, used;
	struct verdict v;
	json_t *r;

	json_array_foreach(c->runs, i, r) {
		size_t k;

		verdict_of(r, ref, &v);
		runs++;
		if (v.cls != VERDICT_BROKEN)
			continue;
		for (k = 0; k < nh && strcmp(how[k].word, v.how_word); k++)
			;
		if (k == nh && nh < 8) {
			snprintf(how[nh].word, sizeof(how[nh].word), "%s",
				 v.how_word);
			how[nh++].n = 0;
		}
		if (k < nh)
			how[k].n++;
	}
	for (size_t a = 1; a < nh; a++) /* most frequent first, stable */
		for (size_t b = a; b > 0 && how[b].n > how[b - 1].n; b--)
			t = how[b], how[b] = how[b - 1], how[b - 1] = t;
	if (!runs || !nh) {
		snprintf(c->design, sizeof(c->design), runs ? "holds" : "-");
		return;
	}
	if (nh == 1 && how[0].n == runs) {
		snprintf(c->design, sizeof(c->design), "broken: %s",
			 how[0].word);
		return;
	}
	used = (size_t)snprintf(c->design, sizeof(c->design), "broken:");
	for (size_t k = 0; k < nh && used < sizeof(c->design); k++)
		used += (size_t)snprintf(c->design + used,
					 sizeof(c->design) - used,
					 "%s %s %zu/%zu", k ? "," : "",
					 how[k].word, how[k].n, runs);
}

/* The reference of every incident of the folder's runs (all), for the
 * cells' design verdicts: the summary entries as an array of records. */
static void incident_ref(json_t *all, const char *incident,
			 struct verdict_ref *ref)
{
	json_t **recs = calloc(json_array_size(all) + 1, sizeof(*recs));
	size_t n = 0, i;
	json_t *r;

	json_array_foreach(all, i, r)
		if (recs)
			recs[n++] = r;
	verdict_ref_of(recs, n, incident, ref);
	free(recs);
}

/* One row of the terminal table (the header is print_table's). */
static void print_row(const struct cell *c, bool color)
{
	const struct expect_verdict *v = &c->v;
	const char *g = color ? "\033[32m" : "", *r = color ? "\033[31m" : "",
		   *z = color ? "\033[0m" : "";
	char p[32], t[16], mg[16];

	snprintf(p, sizeof(p), "%.2f [%.2f,%.2f]", v->p, v->lo, v->hi);
	if (isnan(v->median_t))
		snprintf(t, sizeof(t), "-");
	else
		snprintf(t, sizeof(t), "%.1fs", v->median_t);
	if (isnan(v->margin))
		snprintf(mg, sizeof(mg), "-");
	else
		snprintf(mg, sizeof(mg), "%.2fx", v->margin);
	printf("%-9s %-9s %s%-18s%s %-11s %u/%-5u %-15s %-7s %-7s %s%s%s  %s\n",
	       c->incident, c->variant,
	       !strncmp(c->design, "broken", 6) ? r : g, c->design, z,
	       v->cls == EXPECT_REPRODUCES ? "reproduces"
	       : v->cls == EXPECT_HOLDS    ? "holds"
					   : "(none)",
	       v->shown, v->runs, p, t, mg, v->pass ? g : r,
	       v->pass ? "PASS" : "FAIL", z, v->why);
}

static void print_table(const struct cell *cells, size_t n)
{
	bool color = cli_color();

	printf("\n%-9s %-9s %-18s %-11s %-7s %-15s %-7s %-7s %s\n", "incident",
	       "variant", "design verdict", "expected", "shown",
	       "p [95% Wilson]", "t_med", "margin", "as expected?");
	for (size_t i = 0; i < n; i++)
		print_row(&cells[i], color);
	printf("design verdict: is the design broken (how) or does it hold; "
	       "as expected?: does the cell do what harness/verdict/expectations.json "
	       "says (a design expected to break PASSes when it breaks)\n"
	       "margin: the worst repetition against the rule's bound "
	       "(>= 1.00x: every repetition met it)\n");
}

/* Add a failing cell for every (incident, variant) the expectations name
 * that the manifest says this folder ran but that has no run in it.  The
 * exercise variant counts only when the manifest names it. */
static size_t add_missing(const json_t *exp, const json_t *manifest,
			  struct cell *cells, size_t n, size_t max)
{
	const json_t *incs = json_object_get(manifest, "incidents");
	const json_t *vars = json_object_get(manifest, "variants");
	const char *inc, *var;
	json_t *row, *rule;

	json_object_foreach(json_object_get(exp, "cells"), inc, row) {
		if (json_is_array(incs) && !expect_in_list(incs, inc))
			continue;
		json_object_foreach(row, var, rule) {
			size_t j;

			if (json_is_array(vars) ? !expect_in_list(vars, var)
						: !strcmp(var, "exercise"))
				continue;
			for (j = 0; j < n; j++)
				if (!strcmp(cells[j].incident, inc) &&
				    !strcmp(cells[j].variant, var))
					break;
			if (j < n || n == max)
				continue;
			cells[n] = (struct cell){.incident = inc, .variant = var,
						 .runs = json_array(),
						 .missing = true};
			n++;
		}
	}
	return n;
}

/* Judge one cell; the gate's own failures come after the rule's. */
static void judge_cell(struct cell *c, const json_t *exp, long reps)
{
	struct expect_verdict *v = &c->v;

	c->rule = expect_rule(exp, c->incident, c->variant);
	expect_judge(c->rule, c->runs, v);
	if (!c->rule) {
		v->pass = false;
		snprintf(v->why, sizeof(v->why),
			 "no expectation for this cell in %s", EXPECT_DEFAULT_PATH);
	} else if (c->missing) {
		v->pass = false;
		snprintf(v->why, sizeof(v->why), "missing: expected, but no run "
						 "of this cell is in the folder");
	} else if (reps > 0 && v->runs < (unsigned long)reps) {
		v->pass = false;
		snprintf(v->why, sizeof(v->why), "only %u of %ld runs recorded",
			 v->runs, reps);
	} else if (v->cls == EXPECT_REPRODUCES && !v->pass && !v->forbidden &&
		   v->shown < v->k) {
		char last[120];

		snprintf(last, sizeof(last), "%.119s", v->why);
		snprintf(v->why, sizeof(v->why), "reproduced in %u of %u runs, "
			 "needs %u (%s)", v->shown, v->runs, v->k, last);
	} else if (v->k_wanted > v->k) {
		v->pass = false;
		snprintf(v->why, sizeof(v->why),
			 "k=%u but only %u runs: rerun with --reps >= %u",
			 v->k_wanted, v->runs, v->k_wanted);
	}
}

int ci_mark_references(const char *cmd, const char *dir, const char *refs)
{
	char path[PATH_MAX + 32], *save = NULL, *copy = strdup(refs);
	json_t *m, *arr = json_array();
	int rc = -ENOMEM;

	snprintf(path, sizeof(path), "%s/manifest.json", dir);
	m = json_load_file(path, 0, NULL);
	if (m && arr && copy) {
		for (char *v = strtok_r(copy, ",", &save); v;
		     v = strtok_r(NULL, ",", &save))
			json_array_append_new(arr, json_string(v));
		json_object_set(m, "ci_references", arr);
		rc = results_write_json(path, m);
	}
	if (rc)
		fprintf(stderr, "maplab %s: cannot mark the reference runs "
				"in %s: %s\n", cmd, path, strerror(-rc));
	free(copy);
	json_decref(arr);
	json_decref(m);
	return rc;
}

/* Drop the cells of the manifest's ci_references (runs kept for the
 * ratios' binding only); returns the cells left. */
static size_t drop_references(const json_t *manifest, struct cell *cells,
			      size_t n)
{
	const json_t *refs = json_object_get(manifest, "ci_references");
	size_t k = 0;

	for (size_t i = 0; i < n; i++) {
		if (refs && expect_in_list(refs, cells[i].variant)) {
			json_decref(cells[i].runs);
			continue;
		}
		cells[k++] = cells[i];
	}
	return k;
}

/* Judge the folder dir against exp; print, write ci.json and junit.xml.
 * Returns the number of failing cells, or -errno. */
static int judge_folder(const char *dir, const json_t *exp0, bool print)
{
	char err[512];
	/* the full run records: the summary entries lack histograms */
	json_t *all = results_load_runs(dir, err, sizeof(err));
	json_t *manifest, *exp;
	struct cell cells[256];
	struct verdict_ref ref;
	unsigned failures = 0;
	json_t *out, *arr;
	char path[PATH_MAX];
	long reps;
	size_t n;
	int rc;

	if (!all || !json_array_size(all)) {
		fprintf(stderr, "maplab ci: %s\n",
			all ? "the results folder holds no run" : err);
		json_decref(all);
		return -EINVAL;
	}
	snprintf(path, sizeof(path), "%s/manifest.json", dir);
	manifest = json_load_file(path, 0, NULL);
	reps = (long)json_integer_value(json_object_get(manifest, "reps"));
	exp = expect_bind(exp0, all);
	if (!exp) {
		json_decref(manifest);
		json_decref(all);
		return -ENOMEM;
	}
	n = group_cells(all, cells, 256);
	n = add_missing(exp, manifest, cells, n, 256);
	n = drop_references(manifest, cells, n);
	arr = json_array();
	for (size_t i = 0; i < n; i++) {
		judge_cell(&cells[i], exp, reps);
		failures += !cells[i].v.pass;
		if (!i || strcmp(cells[i - 1].incident, cells[i].incident))
			incident_ref(all, cells[i].incident, &ref);
		cell_design(&cells[i], &ref);
		json_array_append_new(arr, cell_json(&cells[i]));
		json_object_set_new(json_array_get(arr, i), "design",
				    json_string(cells[i].design));
	}
	if (print)
		print_table(cells, n);
	out = json_pack("{s:i, s:i, s:i, s:o}", "schema_version",
			RESULTS_SCHEMA_VERSION, "cells_total", (int)n,
			"cells_failed", (int)failures, "cells", arr);
	snprintf(path, sizeof(path), "%s/ci.json", dir);
	rc = results_write_json(path, out);
	json_decref(out);
	if (!rc)
		rc = write_junit(dir, cells, n, failures);
	for (size_t i = 0; i < n; i++)
		json_decref(cells[i].runs);
	json_decref(exp);
	json_decref(manifest);
	json_decref(all);
	if (rc) {
		fprintf(stderr, "maplab ci: cannot write into %s: %s\n", dir,
			strerror(-rc));
		return rc;
	}
	if (print) {
		printf("\njunit: %s/junit.xml, verdicts: %s/ci.json\n", dir, dir);
		printf("cells: %zu passed, %u failed\n", n - failures, failures);
	}
	return (int)failures;
}

/* Judge dir, render its report (unless !report), print the table.
 * ci.json first (the report marks rows from it), the table last so that
 * the verdict closes the output.  judge_folder's return. */
static int judge_and_render(const char *dir, const json_t *exp, bool report)
{
	char err[512];
	int failed = judge_folder(dir, exp, false);

	if (failed >= 0 && report) {
		struct report_opts ro = {.quiet = true};

		if (report_render(dir, &ro, err, sizeof(err)) != 0)
			fprintf(stderr, "maplab ci: the report of %s could not "
					"be rendered: %s\n", dir, err);
	}
	if (failed >= 0)
		failed = judge_folder(dir, exp, true);
	return failed;
}

/* An envelope folder (or a merge holding one) is refused by --judge: its
 * runs are probes at many loads, not the repetitions of one cell, and
 * judging them as cells would count probes below the knee against
 * probes above it.  2 (with one line) or 0. */
static int refuse_probes(const char *dir)
{
	json_t *m = NULL;
	char err[512];
	bool env;

	if (results_load_object(dir, "manifest.json", false, &m, err,
				sizeof(err)) || !m)
		return 0; /* judge_folder says what is wrong with it */
	env = json_object_get(m, "envelope") != NULL;
	json_decref(m);
	if (!env)
		return 0;
	fprintf(stderr, "maplab ci: %s holds envelope probes (runs at many "
		"loads), not cells; judge a ci or matrix folder, and read the "
		"envelope's verdict with `maplab report %s`\n", dir, dir);
	return 2;
}

/* --judge DIR1 DIR2 ...: merge the folders (harness/store/merge.c), then
 * judge and render the merged folder like one run.  2 on bad input. */
static int ci_judge_merged(const char *first, int n, char **more,
			   const char *out, const json_t *exp, bool report)
{
	const char **dirs = calloc((size_t)n + 1, sizeof(*dirs));
	char merged[PATH_MAX], err[1024];
	char *argv[] = {"maplab", "ci", "--judge", (char *)first, NULL};
	int rc, failed;

	if (!dirs)
		return 1;
	dirs[0] = first;
	for (int i = 0; i < n; i++)
		dirs[i + 1] = more[i];
	for (int i = 0; i <= n; i++)
		if (refuse_probes(dirs[i])) {
			free(dirs);
			return 2;
		}
	rc = results_merge(dirs, (size_t)n + 1, out, 4, argv, merged,
			   sizeof(merged), err, sizeof(err));
	free(dirs);
	if (rc) {
		fprintf(stderr, "maplab ci: %s\n", err);
		return rc == -EINVAL || rc == -EEXIST || rc == -EBUSY ||
		       rc == -EACCES || rc == -ENOENT ? 2 : 1;
	}
	printf("maplab ci: %d folders merged into %s\n", n + 1, merged);
	failed = judge_and_render(merged, exp, report);
	return failed < 0 ? 1 : failed > 0;
}

/* Whether name is one of the comma list's items. */
static bool in_csv(const char *list, const char *name)
{
	size_t n = strlen(name);

	for (const char *p = list; (p = strstr(p, name)) != NULL; p += n)
		if ((p == list || p[-1] == ',') && (p[n] == ',' || !p[n]))
			return true;
	return false;
}

/* Append name to the comma list buf unless it is there already. */
static void list_add(char *buf, size_t len, const char *name)
{
	size_t used = strlen(buf);

	if (!in_csv(buf, name) && used + strlen(name) + 2 <= len)
		snprintf(buf + used, len - used, "%s%s", used ? "," : "", name);
}

/* --variant narrowed: the variants given plus the reference variants
 * their rules' time ratios need in the same run (payment x mutex's
 * in-flight is judged against sharded's), for the incidents selected
 * (all when incidents is NULL).  Says which it added, on stderr. */
void ci_with_refs(const json_t *exp, const char *incidents,
		  const char *variants, char *buf, size_t len, char *added,
		  size_t alen)
{
	static const char *const kinds[2] = {"min_ratio", "max_ratio"};
	char want[1024];
	const char *inc, *v;
	json_t *row, *r;

	snprintf(buf, len, "%s", variants);
	json_object_foreach(json_object_get(exp, "cells"), inc, row) {
		char *save = NULL;

		if (incidents && !in_csv(incidents, inc))
			continue;
		snprintf(want, sizeof(want), "%s", variants); /* strtok_r's */
		for (char *w = strtok_r(want, ",", &save); w;
		     w = strtok_r(NULL, ",", &save)) {
			const json_t *rule = expect_rule(exp, inc, w);

			for (int k = 0; k < 2; k++)
				json_object_foreach((json_t *)json_object_get(
					rule, kinds[k]), v, r) {
					const char *of = json_string_value(
						json_object_get(r, "of"));

					if (of && !in_csv(buf, of)) {
						list_add(buf, len, of);
						list_add(added, alen, of);
					}
				}
		}
	}
	if (added[0])
		fprintf(stderr, "maplab: also running %s: the rules' time "
				"ratios need them in the same run\n", added);
}

/* --judge DIR: re-judge an existing folder, run nothing. */
static int ci_judge_one(const char *folder, const json_t *exp)
{
	char dir[PATH_MAX], err[512];
	int failed;

	if (results_resolve(folder, dir, sizeof(dir), err, sizeof(err))) {
		fprintf(stderr, "maplab ci: %s\n", err);
		return 2;
	}
	if (refuse_probes(dir))
		return 2;
	failed = judge_folder(dir, exp, true);
	return failed < 0 ? 2 : failed > 0;
}

/* Run the ci preset (or one shard of it) into a->out, then judge and
 * render it.  The lane's exit status. */
static int ci_run(const struct lane_args *a, const json_t *exp,
		  unsigned reps)
{
	char err[512], varbuf[1024], refbuf[256] = "";
	struct matrix_opts mo;
	int rc, failed;

	matrix_opts_init(&mo, "matrix");
	mo.preset = "ci";
	mo.report = 0; /* this lane renders it (or not) itself */
	mo.out = a->out;
	mo.incidents = a->incident;
	mo.variants = a->variant;
	mo.runtime = a->runtime;
	if (a->variant) {
		ci_with_refs(exp, a->incident, a->variant, varbuf,
			     sizeof(varbuf), refbuf, sizeof(refbuf));
		mo.variants = varbuf;
	}
	mo.reps = reps;
	if (a->shard) /* checked by ci_check_shard */
		shard_parse(a->shard, &mo.shard, err, sizeof(err));
	rc = matrix_run(&mo);
	if (rc == 2) /* bad input: matrix said why, wrote nothing */
		return 2;
	if (a->shard) /* one share of the cells: judged once merged */
		return ci_shard_done(a->out, a->shard, rc, a->report);
	if (refbuf[0] && ci_mark_references("ci", a->out, refbuf) != 0)
		return 1;
	failed = judge_and_render(a->out, exp, a->report);
	if (failed < 0)
		return 1;
	return failed > 0 || rc != 0;
}

int ci_main(int argc, char **argv)
{
	struct lane_args a;
	char err[512], outbuf[PATH_MAX];
	json_t *exp;
	uint64_t r = 0;
	int rc;

	if ((rc = lane_args_parse("ci", "ivoreSjnR", argc, argv, &a, usage)))
		return rc == 1 ? 0 : 2;
	if (a.runtime && strcmp(a.runtime, "c") && strcmp(a.runtime, "go") &&
	    strcmp(a.runtime, "both")) {
		fprintf(stderr, "maplab ci: --runtime %s: choose c, go or both\n",
			a.runtime);
		return 2;
	}
	if ((rc = ci_check_shard(a.shard, a.judge)))
		return rc;
	if (a.reps && cli_parse_u64(a.reps, 1, 100, &r)) {
		fprintf(stderr, "maplab ci: --reps '%s' is not a whole number "
				"from 1 to 100\n", a.reps);
		return 2;
	}
	exp = expect_load(a.expect ? a.expect : EXPECT_DEFAULT_PATH, err,
			  sizeof(err));
	if (!exp) {
		fprintf(stderr, "maplab ci: %s\n", err);
		return 2;
	}
	if (a.judge && a.noperands) /* several folders: merge, judge */
		rc = ci_judge_merged(a.judge, a.noperands, a.operands, a.out,
				     exp, a.report);
	else if (a.judge)
		rc = ci_judge_one(a.judge, exp);
	else {
		if (!a.out) {
			cli_default_out(outbuf, sizeof(outbuf), "ci");
			a.out = outbuf;
		}
		rc = ci_run(&a, exp, (unsigned)r);
	}
	json_decref(exp);
	return rc;
}

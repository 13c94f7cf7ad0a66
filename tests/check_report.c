/*
 * tests/check_report.c - the report, tested as a reader would meet it.
 *
 * Renders results/fixture (a small folder made by a real `maplab matrix`
 * run, committed) into a temporary copy and checks: every chart file exists
 * and is a valid SVG/PNG; every anchor id is unique and every #link lands;
 * the page references nothing outside the folder; bad input fails with
 * nothing written; incomplete folders and expectation marks show; the
 * content hash is stable; goclaims.json beside the runs draws the Go
 * claims chart (#go-claims-died).  A last test opens the page in headless
 * Chromium (screenshot + DOM dump of a probe copy whose one script measures every
 * chart) and checks the charts are laid out with a size.  Without chromium
 * that test is skipped, unless CI is set, where it fails.
 *
 * Run from the repository root (tests/run-tests.sh does): the fixture and
 * the gnuplot scripts are found relative to it.  Fork mode stays on; the
 * rendered copy is made once per test case in an unchecked fixture, so each
 * test reads the same files.  Timeouts are generous: gnuplot and chromium
 * are slow on a loaded 2-core machine.
 */
#include <check.h>
#include <errno.h>
#include <ftw.h>
#include <glib.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness/report/report.h"
#include "harness/report/report_impl.h"
#include "tests/ck_run.h"

#define FIXTURE "results/fixture"

static char rendered[PATH_MAX]; /* temp copy, rendered once per tcase */

static int rm_one(const char *p, const struct stat *st, int f, struct FTW *w)
{
	(void)st;
	(void)f;
	(void)w;
	return remove(p);
}

static void rm_tree(const char *dir)
{
	if (dir[0])
		nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* A fresh copy of the fixture in a temporary folder; path in out.
 * 0 or -1 (no ck_assert: the unchecked fixture calls it too). */
static int copy_fixture(char *out, size_t n)
{
	char tmpl[] = "/tmp/maplab-report-test-XXXXXX";
	gchar *argv[] = { "cp", "-a", FIXTURE, NULL, NULL };
	gint status = 1;

	if (access(FIXTURE "/manifest.json", R_OK) != 0) {
		fprintf(stderr, "check_report: no %s/manifest.json: run from "
			"the repository root\n", FIXTURE);
		return -1;
	}
	if (!mkdtemp(tmpl))
		return -1;
	snprintf(out, n, "%s/run", tmpl);
	argv[3] = out;
	if (!g_spawn_sync(NULL, argv, NULL, G_SPAWN_SEARCH_PATH |
			  G_SPAWN_STDOUT_TO_DEV_NULL, NULL, NULL, NULL,
			  NULL, &status, NULL) || status != 0)
		return -1;
	/* a stale render in the fixture must not make the tests pass */
	{
		char p[PATH_MAX + 32];

		snprintf(p, sizeof(p), "%s/plots", out);
		rm_tree(p);
		snprintf(p, sizeof(p), "%s/report.html", out);
		unlink(p);
		snprintf(p, sizeof(p), "%s/report.md", out);
		unlink(p);
	}
	return 0;
}

static void drop_copy(const char *run)
{
	char top[PATH_MAX];
	char *slash;

	snprintf(top, sizeof(top), "%s", run);
	slash = strrchr(top, '/');
	if (slash)
		*slash = '\0';
	rm_tree(top);
}

static int render(const char *dir, char *err, size_t n)
{
	struct report_opts o = { .quiet = true };
	FILE *null = fopen("/dev/null", "w");
	int rc;

	o.out = null;
	rc = report_render(dir, &o, err, n);
	if (null)
		fclose(null);
	return rc;
}

static void setup_rendered(void)
{
	char err[512] = "";
	int rc;

	if (copy_fixture(rendered, sizeof(rendered)) != 0) {
		rendered[0] = '\0';
		return;
	}
	rc = render(rendered, err, sizeof(err));
	if (rc != 0) {
		fprintf(stderr, "check_report: render failed: %s\n", err);
		rendered[0] = '\0';
	}
}

static void teardown_rendered(void)
{
	if (rendered[0])
		drop_copy(rendered);
}

/* Write text to dir/rel (made or truncated); the test fails if it cannot. */
static void put_file(const char *dir, const char *rel, const char *text)
{
	char p[PATH_MAX];
	FILE *f;

	snprintf(p, sizeof(p), "%s/%s", dir, rel);
	f = fopen(p, "w");
	ck_assert_msg(f != NULL, "%s", p);
	fputs(text, f);
	ck_assert_int_eq(fclose(f), 0);
}

static char *slurp(const char *dir, const char *name, size_t *len)
{
	char p[PATH_MAX + 64];
	gchar *text = NULL;
	gsize l = 0;

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	if (!g_file_get_contents(p, &text, &l, NULL))
		return NULL;
	if (len)
		*len = l;
	return text;
}

/* Every value of attribute `attr` (attr="..." or attr='...') in text. */
static GPtrArray *attr_values(const char *text, const char *attr)
{
	GPtrArray *a = g_ptr_array_new_with_free_func(g_free);
	char pat[32];
	size_t pl;

	snprintf(pat, sizeof(pat), " %s=", attr);
	pl = strlen(pat);
	for (const char *p = strstr(text, pat); p; p = strstr(p + 1, pat)) {
		char q = p[pl];
		const char *end;

		if (q != '"' && q != '\'')
			continue;
		end = strchr(p + pl + 1, q);
		if (!end)
			break;
		g_ptr_array_add(a, g_strndup(p + pl + 1, (gsize)(end - p - pl - 1)));
	}
	return a;
}

/* ids of <figure> elements, i.e. the charts */
static GPtrArray *figure_ids(const char *html)
{
	GPtrArray *a = g_ptr_array_new_with_free_func(g_free);

	for (const char *p = strstr(html, "<figure id=\""); p;
	     p = strstr(p + 1, "<figure id=\"")) {
		const char *s = p + strlen("<figure id=\"");
		const char *e = strchr(s, '"');

		g_ptr_array_add(a, g_strndup(s, (gsize)(e - s)));
	}
	return a;
}

/* A figure whose SVG is inlined (not a "not drawn" note). */
static bool figure_drawn(const char *html, const char *id)
{
	char pat[160];
	const char *p, *end;

	snprintf(pat, sizeof(pat), "<figure id=\"%s\">", id);
	p = strstr(html, pat);
	if (!p)
		return false;
	end = strstr(p, "</figure>");
	p = strstr(p, "<svg");
	return p && end && p < end;
}

START_TEST(test_charts_valid)
{
	char *html;
	GPtrArray *figs;
	guint drawn = 0;

	ck_assert_msg(rendered[0], "the fixture did not render");
	html = slurp(rendered, "report.html", NULL);
	ck_assert_ptr_nonnull(html);
	figs = figure_ids(html);
	ck_assert_uint_ge(figs->len, 12); /* >= 4 charts x 3 incidents */
	for (guint i = 0; i < figs->len; i++) {
		const char *id = g_ptr_array_index(figs, i);
		char name[200];
		size_t len = 0;
		char *svg, *png;

		if (!figure_drawn(html, id))
			continue;
		drawn++;
		snprintf(name, sizeof(name), "plots/%s.svg", id);
		svg = slurp(rendered, name, &len);
		ck_assert_msg(svg, "%s missing", name);
		ck_assert_msg(g_str_has_prefix(svg, "<?xml") && strstr(svg, "<svg") &&
			      g_strrstr(svg, "</svg>"), "%s is not an SVG", name);
		g_free(svg);
		snprintf(name, sizeof(name), "plots/%s.png", id);
		png = slurp(rendered, name, &len);
		ck_assert_msg(png, "%s missing", name);
		ck_assert_msg(len > 33 && !memcmp(png, "\x89PNG\r\n\x1a\n", 8) &&
			      !memcmp(png + 12, "IHDR", 4), "%s is not a PNG", name);
		/* IHDR width and height, big-endian, non-zero */
		ck_assert_msg((png[16] | png[17] | png[18] | png[19]) &&
			      (png[20] | png[21] | png[22] | png[23]),
			      "%s has no size", name);
		g_free(png);
	}
	/* the core charts of every incident are drawn from real data */
	ck_assert_uint_ge(drawn, 12);
	ck_assert(figure_drawn(html, "payment-memory"));
	ck_assert(figure_drawn(html, "metrics-latency"));
	ck_assert(figure_drawn(html, "config-throughput"));
	g_ptr_array_free(figs, TRUE);
	g_free(html);
}
END_TEST

START_TEST(test_anchors_unique)
{
	char *html, *md;
	GPtrArray *ids, *hrefs;
	GHashTable *seen = g_hash_table_new(g_str_hash, g_str_equal);

	ck_assert_msg(rendered[0], "the fixture did not render");
	html = slurp(rendered, "report.html", NULL);
	ck_assert_ptr_nonnull(html);
	ids = attr_values(html, "id");
	ck_assert_uint_ge(ids->len, 20);
	for (guint i = 0; i < ids->len; i++) {
		const char *id = g_ptr_array_index(ids, i);

		ck_assert_msg(!g_hash_table_contains(seen, id),
			      "id \"%s\" appears twice", id);
		g_hash_table_add(seen, (gpointer)id);
	}
	/* the stable anchors a review cites */
	static const char *const must[] = { "run", "overview", "payment",
		"payment-verdict", "payment-memory", "payment-inflight",
		"payment-latency", "payment-throughput", "payment-seed",
		"metrics-latency", "metrics-walk", "config-fragmentation",
		"config-alloc-rate" };
	for (size_t i = 0; i < sizeof(must) / sizeof(must[0]); i++)
		ck_assert_msg(g_hash_table_contains(seen, must[i]),
			      "no anchor #%s", must[i]);
	/* every in-page link lands */
	hrefs = attr_values(html, "href");
	for (guint i = 0; i < hrefs->len; i++) {
		const char *h = g_ptr_array_index(hrefs, i);

		if (h[0] == '#')
			ck_assert_msg(g_hash_table_contains(seen, h + 1),
				      "link %s goes nowhere", h);
	}
	/* the short content hash is cited at the top of both pages */
	md = slurp(rendered, "report.md", NULL);
	ck_assert_ptr_nonnull(md);
	{
		const char *p = strstr(html, "report ");
		const char *h = strstr(html, "<span class=\"hash\">report ");

		ck_assert_ptr_nonnull(p);
		ck_assert_ptr_nonnull(h);
		h += strlen("<span class=\"hash\">report ");
		for (int i = 0; i < 8; i++)
			ck_assert(g_ascii_isxdigit(h[i]));
		ck_assert(strstr(md, "**report ") != NULL);
		ck_assert(strncmp(strstr(md, "**report ") + 9, h, 8) == 0);
	}
	g_ptr_array_free(ids, TRUE);
	g_ptr_array_free(hrefs, TRUE);
	g_hash_table_destroy(seen);
	g_free(html);
	g_free(md);
}
END_TEST

static void check_local_refs(const char *dir, const char *text, const char *attr)
{
	GPtrArray *v = attr_values(text, attr);

	for (guint i = 0; i < v->len; i++) {
		const char *r = g_ptr_array_index(v, i);
		char p[PATH_MAX + 200];

		if (r[0] == '#')
			continue;
		ck_assert_msg(!strchr(r, ':'), "%s=\"%s\" leaves the folder", attr, r);
		ck_assert_msg(r[0] != '/' && !strstr(r, ".."),
			      "%s=\"%s\" leaves the folder", attr, r);
		snprintf(p, sizeof(p), "%s/%s", dir, r);
		ck_assert_msg(access(p, R_OK) == 0, "%s=\"%s\": no such file",
			      attr, r);
	}
	g_ptr_array_free(v, TRUE);
}

START_TEST(test_self_contained)
{
	char *html, *md;

	ck_assert_msg(rendered[0], "the fixture did not render");
	html = slurp(rendered, "report.html", NULL);
	md = slurp(rendered, "report.md", NULL);
	ck_assert_ptr_nonnull(html);
	ck_assert_ptr_nonnull(md);
	ck_assert_msg(!strstr(html, "http:") && !strstr(html, "https:"),
		      "report.html names a web address");
	ck_assert_msg(!strstr(html, "<script"), "report.html has a script");
	ck_assert_msg(!strstr(html, "@import") && !strstr(html, "url(http"),
		      "report.html imports CSS");
	ck_assert_msg(!strstr(html, rendered), "report.html names its own "
		      "absolute path");
	ck_assert_msg(!strstr(html, "/tmp/") && !strstr(html, "/work/"),
		      "report.html names an absolute path");
	check_local_refs(rendered, html, "src");
	check_local_refs(rendered, html, "href");
	/* report.md: relative image links that exist */
	for (const char *p = strstr(md, "]("); p; p = strstr(p + 1, "](")) {
		const char *e = strchr(p, ')');
		gchar *ref = g_strndup(p + 2, (gsize)(e - p - 2));
		char path[PATH_MAX + 200];

		ck_assert_msg(!strchr(ref, ':') && ref[0] != '/',
			      "report.md links %s", ref);
		snprintf(path, sizeof(path), "%s/%s", rendered, ref);
		ck_assert_msg(access(path, R_OK) == 0, "report.md: %s missing", ref);
		g_free(ref);
	}
	ck_assert(strstr(md, "](plots/payment-memory.png)") != NULL);
	g_free(html);
	g_free(md);
}
END_TEST

START_TEST(test_bad_input)
{
	char dir[PATH_MAX], err[512] = "", p[PATH_MAX + 64];
	char *argv[] = { "report", "/nonexistent/maplab-results", NULL };
	GDir *d;
	const char *name;

	/* no such folder */
	ck_assert_int_eq(render("/nonexistent/maplab-results", err, sizeof(err)),
			 -ENOENT);
	ck_assert(strstr(err, "/nonexistent/maplab-results") != NULL);
	ck_assert(strchr(err, '\n') == NULL);
	ck_assert_int_eq(report_main(2, argv), 2);
	/* corrupt JSON: nothing written, nothing left behind */
	ck_assert_int_eq(copy_fixture(dir, sizeof(dir)), 0);
	put_file(dir, "summary.json", "{\"schema_version\": 1, \"runs\": [ {\"incid");
	ck_assert_int_eq(render(dir, err, sizeof(err)), -EINVAL);
	ck_assert(strstr(err, "summary.json") != NULL);
	argv[1] = dir;
	ck_assert_int_eq(report_main(2, argv), 2);
	d = g_dir_open(dir, 0, NULL);
	ck_assert_ptr_nonnull(d);
	while ((name = g_dir_read_name(d)))
		ck_assert_msg(strcmp(name, "report.html") && strcmp(name, "report.md") &&
			      strcmp(name, "plots") && !g_str_has_prefix(name, ".report"),
			      "%s written for a corrupt folder", name);
	g_dir_close(d);
	/* a folder that is not a results folder */
	snprintf(p, sizeof(p), "%s/runs", dir);
	ck_assert_int_eq(render(p, err, sizeof(err)), -ENOENT);
	/* bad arguments */
	{
		char *bad[] = { "report", "--no-such-option", NULL };

		ck_assert_int_eq(report_main(2, bad), 2);
	}
	drop_copy(dir);
}
END_TEST

START_TEST(test_incomplete_and_expectations)
{
	char dir[PATH_MAX], err[512] = "", p[PATH_MAX + 64];
	char *html;
	json_t *sum;

	ck_assert_int_eq(copy_fixture(dir, sizeof(dir)), 0);
	/* interrupted: no summary, one record gone, INCOMPLETE present */
	snprintf(p, sizeof(p), "%s/summary.json", dir);
	sum = json_load_file(p, 0, NULL);
	ck_assert_ptr_nonnull(sum);
	ck_assert_int_eq(unlink(p), 0);
	put_file(dir, "INCOMPLETE", "");
	snprintf(p, sizeof(p), "%s/runs/payment.rcu.r1.json", dir);
	ck_assert_int_eq(unlink(p), 0);
	/* expectations: for the first recorded run, one rule that matches
	 * what it did and, for the second, one that contradicts it, so both
	 * marks must show whatever the fixture's runs did */
	{
		json_t *runs = json_object_get(sum, "runs");
		json_t *cells = json_object(), *doc;

		ck_assert_uint_ge(json_array_size(runs), 2);
		for (size_t i = 0; i < 2; i++) {
			json_t *r = json_array_get(runs, i);
			const char *inc = json_string_value(json_object_get(r, "incident"));
			const char *var = json_string_value(json_object_get(r, "variant"));
			bool shown = strcmp(json_string_value(json_object_get(r, "outcome")),
					    "ok") != 0;
			json_t *sym = json_object_get(r, "symptoms"), *v;
			const char *k;
			bool right = i == 0;

			json_object_foreach(sym, k, v)
				shown |= json_number_value(v) > 0;
			if (!json_object_get(cells, inc))
				json_object_set_new(cells, inc, json_object());
			json_object_set_new(json_object_get(cells, inc), var,
				json_pack("{s:s}", "class",
					  shown == right ? "reproduces" : "holds"));
		}
		doc = json_pack("{s:o}", "cells", cells);
		snprintf(p, sizeof(p), "%s/expectations.json", dir);
		ck_assert_int_eq(json_dump_file(doc, p, 0), 0);
		json_decref(doc);
	}
	ck_assert_msg(render(dir, err, sizeof(err)) == 0, "%s", err);
	html = slurp(dir, "report.html", NULL);
	ck_assert_ptr_nonnull(html);
	ck_assert(strstr(html, "Incomplete results") != NULL);
	ck_assert(strstr(html, "<th>expected</th>") != NULL);
	ck_assert(strstr(html, "<td class=\"ok\">✓ ") != NULL);
	ck_assert(strstr(html, "<td class=\"fail\">✗ expected ") != NULL);
	ck_assert(strstr(html, "payment-memory") != NULL);
	/* the run whose record was removed is gone (no summary to name it) */
	ck_assert(strstr(html, "style=\"background:#9467bd\"></span>rcu</td>") !=
		  NULL); /* rcu of the other incidents */
	json_decref(sum);
	g_free(html);
	drop_copy(dir);
}
END_TEST

static void hash_of(const char *dir, char out[9])
{
	char *html = slurp(dir, "report.html", NULL);
	const char *h;

	ck_assert_ptr_nonnull(html);
	h = strstr(html, "<span class=\"hash\">report ");
	ck_assert_ptr_nonnull(h);
	memcpy(out, h + strlen("<span class=\"hash\">report "), 8);
	out[8] = '\0';
	g_free(html);
}

START_TEST(test_hash_stable)
{
	char dir[PATH_MAX], err[512] = "", a[9], b[9], c[9], p[PATH_MAX + 64];
	FILE *f;

	ck_assert_msg(rendered[0], "the fixture did not render");
	ck_assert_int_eq(copy_fixture(dir, sizeof(dir)), 0);
	ck_assert_msg(render(dir, err, sizeof(err)) == 0, "%s", err);
	hash_of(dir, a);
	hash_of(rendered, b);
	ck_assert_str_eq(a, b); /* same content, same hash, any folder */
	/* re-rendering in place replaces the old render cleanly */
	ck_assert_msg(render(dir, err, sizeof(err)) == 0, "%s", err);
	hash_of(dir, c);
	ck_assert_str_eq(a, c);
	snprintf(p, sizeof(p), "%s/summary.json", dir);
	f = fopen(p, "a");
	ck_assert_ptr_nonnull(f);
	fputs("\n", f);
	fclose(f);
	ck_assert_msg(render(dir, err, sizeof(err)) == 0, "%s", err);
	hash_of(dir, c);
	ck_assert_str_ne(a, c);
	drop_copy(dir);
}
END_TEST

/* A benchmark folder (what `maplab bench` writes: manifest, bench.json,
 * data/bench.<mix>.<keys>.dat) renders its ops/s-by-threads charts. */
START_TEST(test_bench_folder)
{
	char tmpl[] = "/tmp/maplab-report-bench-XXXXXX", p[PATH_MAX], err[512] = "";
	char *html, *svg, *md;

	ck_assert_ptr_nonnull(mkdtemp(tmpl));
	put_file(tmpl, "manifest.json",
		 "{\"schema_version\": 1, \"run_id\": \"bench-test\", \"kind\": "
		 "\"bench\", \"argv\": [\"build/maplab\", \"bench\", \"--quick\"], "
		 "\"complete\": true}\n");
	put_file(tmpl, "bench.json",
		 "{\"schema_version\": 1, \"value_model\": \"values are "
		 "plain <test>\", \"impls\": [{\"name\": \"mutex\"}], "
		 "\"mixes\": [{\"name\": \"r90\"}], \"threads\": [1], "
		 "\"keys\": [10000], \"points\": [{\"mix\": \"r90\", "
		 "\"keys\": 10000, \"impl\": \"mutex\", \"threads\": 1, "
		 "\"status\": \"ok\", \"median_ops_s\": 2.8e6}]}\n");
	snprintf(p, sizeof(p), "%s/data", tmpl);
	ck_assert_int_eq(mkdir(p, 0755), 0);
	put_file(tmpl, "data/bench.r90.10000.dat",
		 "threads unsafe mutex rcu glib\n1 3.0e6 2.8e6 5.0e5 3.1e6\n"
		 "2 NaN 3.9e6 7.0e5 2.3e6\n");
	ck_assert_msg(render(tmpl, err, sizeof(err)) == 0, "%s", err);
	html = slurp(tmpl, "report.html", NULL);
	ck_assert_ptr_nonnull(html);
	ck_assert(strstr(html, "<section id=\"bench\">") != NULL);
	ck_assert(figure_drawn(html, "bench-r90-10000"));
	/* the value model a design review needs, escaped */
	ck_assert(strstr(html, "In this benchmark, values are plain "
			       "&lt;test&gt;.") != NULL);
	/* the medians a review quotes, as a table, in both pages */
	ck_assert(strstr(html, "<table id=\"bench-ops-10000\">") != NULL);
	md = slurp(tmpl, "report.md", NULL);
	ck_assert_ptr_nonnull(md);
	ck_assert(strstr(md, "### Median Mop/s, 10000 keys") != NULL);
	ck_assert(strstr(md, "| r90 | 1 | 2.80 |") != NULL);
	g_free(md);
	svg = slurp(tmpl, "plots/bench-r90-10000.svg", NULL);
	ck_assert_ptr_nonnull(svg);
	ck_assert(strstr(svg, "glib") != NULL); /* the peer has a line */
	g_free(svg);
	g_free(html);
	rm_tree(tmpl);
}
END_TEST

/* bench.json as tables (report_bench.c): one cell per point, rows from
 * mixes x threads even where no point was made, "–" for a skipped point,
 * the status for a failed one, callgrind rows only for maps counted. */
static const char bench_doc[] =
	"{\"impls\": [{\"name\": \"mutex\"}, {\"name\": \"rcu\"}],"
	" \"mixes\": [{\"name\": \"r99\"}, {\"name\": \"r90\"}],"
	" \"threads\": [1, 2], \"keys\": [100, 5],"
	" \"params\": {\"reps\": 5, \"seconds\": 0.3},"
	" \"load\": {\"before\": [0.4, 1, 1], \"after\": [2.5, 1, 1]},"
	" \"median_cpu_share\": 0.5, \"points\": ["
	"{\"mix\": \"r99\", \"keys\": 100, \"impl\": \"mutex\", \"threads\": 1,"
	" \"status\": \"ok\", \"median_ops_s\": 2.5e6},"
	"{\"mix\": \"r90\", \"keys\": 100, \"impl\": \"rcu\", \"threads\": 2,"
	" \"status\": \"error\"},"
	"{\"mix\": \"r99\", \"keys\": 100, \"impl\": \"rcu\", \"threads\": 2,"
	" \"status\": \"skipped\"},"
	"{\"mix\": \"r99\", \"keys\": 5, \"impl\": \"rcu\", \"threads\": 1,"
	" \"status\": \"ok\", \"median_ops_s\": 1e6}],"
	" \"callgrind\": ["
	"{\"impl\": \"rcu\", \"op\": \"get\", \"keys\": 100, \"ir_per_op\": 298.4,"
	" \"ll_misses_per_op\": 2.351},"
	"{\"impl\": \"rcu\", \"op\": \"put\", \"keys\": 100, \"ir_per_op\": 1179,"
	" \"ll_misses_per_op\": 5.0}]}";

START_TEST(test_bench_tables)
{
	json_t *b = json_loads(bench_doc, 0, NULL);
	struct rp_table t;
	char note[800];

	ck_assert_ptr_nonnull(b);
	ck_assert_int_eq(rp_bench_table(b, 100, &t), 0);
	ck_assert_uint_eq(t.nrows, 5);
	ck_assert_uint_eq(t.ncols, 4);
	ck_assert_str_eq(t.cell[0][3], "rcu");
	ck_assert_str_eq(t.cell[1][0], "r99");
	ck_assert_str_eq(t.cell[1][2], "2.50");
	ck_assert_str_eq(t.cell[1][3], "");
	ck_assert_str_eq(t.cell[2][3], "–");
	ck_assert_str_eq(t.cell[3][0], "r90"); /* no point, still labelled */
	ck_assert_str_eq(t.cell[3][1], "1");
	ck_assert_str_eq(t.cell[4][3], "error");
	rp_table_free(&t);
	ck_assert_int_eq(rp_bench_table(b, 5, &t), 0);
	ck_assert_str_eq(t.cell[1][3], "1.00");
	ck_assert_str_eq(t.cell[1][2], "");
	rp_table_free(&t);
	ck_assert_int_eq(rp_bench_table(b, 7, &t), -ENOENT);
	ck_assert_int_eq(rp_bench_cg_table(b, 5, &t), -ENOENT);
	ck_assert_int_eq(rp_bench_cg_table(b, 100, &t), 0);
	ck_assert_uint_eq(t.nrows, 2); /* mutex was not counted */
	ck_assert_str_eq(t.cell[1][0], "rcu");
	ck_assert_str_eq(t.cell[1][1], "298");
	ck_assert_str_eq(t.cell[1][2], ""); /* no get_with count */
	ck_assert_str_eq(t.cell[1][3], "1179");
	ck_assert_str_eq(t.cell[1][4], "2.35");
	rp_table_free(&t);
	rp_bench_note(b, note, sizeof(note));
	ck_assert_msg(strstr(note, "median of 5 passes of 0.3 s") &&
		      strstr(note, "0.40 before the run, 2.50 after") &&
		      strstr(note, "median 50%") && strstr(note, "below 95%"),
		      "%s", note);
	json_decref(b);
}
END_TEST

/* goclaims.json (`maplab goclaims`) beside the fixture's runs: the Go
 * claims chart is drawn from it, one bar per seed10 and loop experiment
 * (its data file says so), and shown under #go-claims in both pages; the
 * fixture alone (no goclaims.json) has neither the chart nor its data. */
START_TEST(test_go_claims_chart)
{
	char dir[PATH_MAX], err[512] = "";
	char *html, *md, *dat, *plain;
	int rows = 0;

	ck_assert_msg(rendered[0], "the fixture did not render");
	plain = slurp(rendered, "report.html", NULL);
	ck_assert_ptr_nonnull(plain);
	ck_assert(!strstr(plain, "go-claims-died"));
	ck_assert(!slurp(rendered, "plots/go-claims-died.dat", NULL));
	g_free(plain);
	ck_assert_int_eq(copy_fixture(dir, sizeof(dir)), 0);
	put_file(dir, "goclaims.json",
		 "{\"schema_version\":1,\"kind\":\"goclaims\",\"cores\":2,"
		 "\"loadavg_start\":\"1.0\",\"loadavg_end\":\"1.2\",\"procs\":200,"
		 "\"loop_procs\":20,\"loop_seconds\":0.5,\"seed10\":["
		 "{\"claim\":\"seed10\",\"gomaxprocs\":\"default\",\"recover\":false,"
		 "\"died\":58,\"survived\":142,\"errors\":0,\"share\":0.29,"
		 "\"wilson95\":[0.23,0.36],\"messages\":{\"concurrent map writes\":58}},"
		 "{\"claim\":\"seed10\",\"gomaxprocs\":\"default\",\"recover\":true,"
		 "\"died\":38,\"survived\":162,\"errors\":0,\"share\":0.19,"
		 "\"wilson95\":[0.14,0.25],\"recovered\":0,\"messages\":{}},"
		 "{\"claim\":\"seed10\",\"gomaxprocs\":\"1\",\"recover\":false,"
		 "\"died\":0,\"survived\":200,\"errors\":0,\"share\":0,"
		 "\"wilson95\":[0,0.019],\"messages\":{}}],\"loops\":["
		 "{\"claim\":\"loop-ww\",\"gomaxprocs\":\"default\",\"recover\":false,"
		 "\"died\":20,\"survived\":0,\"errors\":0,\"share\":1,"
		 "\"wilson95\":[0.84,1],\"death_median_s\":0.008,"
		 "\"death_max_s\":0.016,\"messages\":{}}],"
		 "\"syncmap\":[],\"rebuild\":[]}\n");
	ck_assert_msg(render(dir, err, sizeof(err)) == 0, "%s", err);
	html = slurp(dir, "report.html", NULL);
	md = slurp(dir, "report.md", NULL);
	dat = slurp(dir, "plots/go-claims-died.dat", NULL);
	ck_assert(html && md && dat);
	ck_assert(figure_drawn(html, "go-claims-died"));
	ck_assert(strstr(html, "<section id=\"go-claims\">") <
		  strstr(html, "<figure id=\"go-claims-died\">"));
	ck_assert(strstr(md, "(plots/go-claims-died.png)") != NULL);
	for (const char *p = dat; (p = strchr(p, '\n')); p++)
		rows++;
	ck_assert_int_eq(rows, 4);
	ck_assert(strstr(dat, "\"seed10 P2 recover\" 19.000 14.000 25.000") &&
		  strstr(dat, "\"seed10 P1\"") && strstr(dat, "\"58/200\"") &&
		  strstr(dat, "\"loop-ww P2\" 100.000 84.000 100.000"));
	g_free(html);
	g_free(md);
	g_free(dat);
	drop_copy(dir);
}
END_TEST

static gchar *find_chromium(void)
{
	static const char *const names[] = { "chromium", "chromium-browser",
					     "google-chrome" };

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		gchar *p = g_find_program_in_path(names[i]);

		if (p)
			return p;
	}
	return NULL;
}

static gboolean run_chromium(const char *bin, const char *udd, const char *arg,
			     const char *url, gchar **out)
{
	gchar *argv[] = { (gchar *)bin, "--headless", "--no-sandbox",
		"--disable-gpu", "--no-first-run",
		"--disable-background-networking",
		"--disable-component-update", "--disable-sync", NULL,
		"--window-size=1280,2000", (gchar *)arg, (gchar *)url, NULL };
	gchar *udarg = g_strdup_printf("--user-data-dir=%s", udd);
	gchar *err = NULL;
	gint status = 1;
	gboolean ok;

	argv[8] = udarg;
	/* chromium's stderr (dbus noise in containers) is shown only when
	 * it fails */
	ok = g_spawn_sync(NULL, argv, NULL, out ? 0 : G_SPAWN_STDOUT_TO_DEV_NULL,
			  NULL, NULL, out, &err, &status, NULL);
	if (!ok || status != 0)
		fprintf(stderr, "check_report: %s %s failed (status %d):\n%s\n",
			bin, arg, status, err ? err : "");
	g_free(err);
	g_free(udarg);
	return ok && status == 0;
}

/* The probe: report.html plus one script at the end of the body that
 * writes every chart's laid-out size into the DOM.  The report itself has
 * no script; only this throw-away copy does. */
static const char probe_js[] =
	"<script>(function(){var o=[];"
	"document.querySelectorAll('figure').forEach(function(f){"
	"var s=f.querySelector('svg');if(!s)return;"
	"var r=s.getBoundingClientRect();"
	"o.push(f.id+' '+Math.round(r.width)+' '+Math.round(r.height));});"
	"var p=document.createElement('pre');p.id='probe';"
	"p.textContent=o.join(';');document.body.appendChild(p);})();</script>";

START_TEST(test_chromium_layout)
{
	gchar *bin = find_chromium();
	char udd[] = "/tmp/maplab-chromium-XXXXXX";
	char shot[PATH_MAX + 32], url[PATH_MAX + 64], arg[PATH_MAX + 64];
	char *html, *probe, *body_end;
	gchar *dom = NULL, *ppath, *p;
	GPtrArray *figs;
	guint drawn = 0, measured = 0;
	size_t len;

	if (!bin) {
		ck_assert_msg(!getenv("CI"), "CI is set but chromium is missing");
		fprintf(stderr, "check_report: chromium not found, skipping the "
			"browser test (apt-get install chromium)\n");
		return;
	}
	ck_assert_msg(rendered[0], "the fixture did not render");
	ck_assert_ptr_nonnull(mkdtemp(udd));
	/* 1. the screenshot of the real page */
	snprintf(shot, sizeof(shot), "%s/shot.png", rendered);
	snprintf(arg, sizeof(arg), "--screenshot=%s", shot);
	snprintf(url, sizeof(url), "file://%s/report.html", rendered);
	ck_assert_msg(run_chromium(bin, udd, arg, url, NULL), "chromium failed");
	html = slurp(rendered, "shot.png", &len);
	ck_assert_msg(html && len > 1000 && !memcmp(html, "\x89PNG", 4),
		      "no screenshot");
	g_free(html);
	/* 2. the DOM of the probe copy */
	html = slurp(rendered, "report.html", &len);
	ck_assert_ptr_nonnull(html);
	body_end = g_strrstr(html, "</body>");
	ck_assert_ptr_nonnull(body_end);
	*body_end = '\0';
	probe = g_strconcat(html, probe_js, "</body></html>\n", NULL);
	ppath = g_strdup_printf("%s/probe.html", rendered);
	ck_assert(g_file_set_contents(ppath, probe, -1, NULL));
	snprintf(url, sizeof(url), "file://%s", ppath);
	ck_assert_msg(run_chromium(bin, udd, "--dump-dom", url, &dom),
		      "chromium --dump-dom failed");
	ck_assert_ptr_nonnull(dom);
	p = strstr(dom, "<pre id=\"probe\">");
	ck_assert_msg(p, "the probe did not run");
	p += strlen("<pre id=\"probe\">");
	*strstr(p, "</pre>") = '\0';
	/* every drawn chart is in the DOM with a size */
	figs = figure_ids(html);
	for (guint i = 0; i < figs->len; i++) {
		const char *id = g_ptr_array_index(figs, i);
		char pat[200];
		const char *m;
		int w = 0, h = 0;

		if (!figure_drawn(html, id))
			continue;
		drawn++;
		snprintf(pat, sizeof(pat), "%s ", id);
		for (m = strstr(p, pat); m && m != p && m[-1] != ';';
		     m = strstr(m + 1, pat))
			;
		ck_assert_msg(m, "chart %s not laid out", id);
		ck_assert_int_eq(sscanf(m + strlen(pat), "%d %d", &w, &h), 2);
		ck_assert_msg(w > 200 && h > 100, "chart %s is %dx%d", id, w, h);
		measured++;
	}
	ck_assert_uint_ge(drawn, 12);
	ck_assert_uint_eq(drawn, measured);
	g_ptr_array_free(figs, TRUE);
	unlink(ppath);
	g_free(ppath);
	g_free(probe);
	g_free(html);
	g_free(dom);
	g_free(bin);
	rm_tree(udd);
}
END_TEST

static Suite *report_suite(void)
{
	Suite *s = suite_create("report");
	TCase *tc = tcase_create("fixture");
	TCase *tb = tcase_create("browser");

	tcase_add_unchecked_fixture(tc, setup_rendered, teardown_rendered);
	tcase_set_timeout(tc, 240);
	tcase_add_test(tc, test_charts_valid);
	tcase_add_test(tc, test_anchors_unique);
	tcase_add_test(tc, test_self_contained);
	tcase_add_test(tc, test_bad_input);
	tcase_add_test(tc, test_incomplete_and_expectations);
	tcase_add_test(tc, test_hash_stable);
	tcase_add_test(tc, test_bench_folder);
	tcase_add_test(tc, test_bench_tables);
	tcase_add_test(tc, test_go_claims_chart);
	suite_add_tcase(s, tc);
	tcase_add_unchecked_fixture(tb, setup_rendered, teardown_rendered);
	tcase_set_timeout(tb, 300);
	tcase_add_test(tb, test_chromium_layout);
	suite_add_tcase(s, tb);
	return s;
}

int main(void)
{
	return ck_run(report_suite());
}

/*
 * tests/check_anchors.c - every anchor the documents cite exists.
 *
 * Reads WORKSHOP.md, WORKSHOP-answers.md, README.md, incidents/<name>/README.md
 * and docs/<name>.md.  Two kinds of citation:
 *   - a report anchor in backticks, `#metrics-walk`: checked against the
 *     ids of the committed fixture's report, rendered into a temporary
 *     copy (results/fixture: metrics, payment, config under unsafe, mutex,
 *     syncmap, rcu).  Anchors of sections the fixture cannot have are
 *     named in `needs` below with the file they need (tsan.json,
 *     bench.json, a retention run, goclaims.json, an envelope or a merged
 *     folder); templates such as `#<incident>-story`
 *     are not citations;
 *   - a Markdown link to a heading of the same page, [x](#benchmark):
 *     checked against the page's headings (GitHub's slugs).
 * Run from the repository root (tests/run-tests.sh does).
 */
#include <check.h>
#include <ctype.h>
#include <glob.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "tests/ck_run.h"

#ifndef MAPLAB_BUILD_DIR
#define MAPLAB_BUILD_DIR "build"
#endif

static const struct {
	const char *prefix, *why;
} needs[] = {
	{ "tsan", "tsan.json (./run.sh tsan)" },
	{ "bench-", "bench.json (./run.sh bench)" },
	{ "retention", "a retention run" },
	{ "go-", "goclaims.json (./run.sh go)" },
	{ "envelope", "an envelope folder (./run.sh envelope)" },
	{ "machines", "a merged folder (maplab report DIR1 DIR2)" },
};

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf;
	long n;

	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	buf = calloc(1, (size_t)n + 1);
	if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
		free(buf);
		buf = NULL;
	}
	fclose(f);
	return buf;
}

static char *report_html;

static void render_fixture(void)
{
	char tmp[] = "/tmp/maplab-anchors-XXXXXX", cmd[512], path[300];
	int st;

	ck_assert_ptr_nonnull(mkdtemp(tmp));
	snprintf(cmd, sizeof(cmd), "cp -r results/fixture/. %s/ && rm -f "
		 "%s/report.html && %s/maplab report %s --quiet >/dev/null",
		 tmp, tmp, MAPLAB_BUILD_DIR, tmp);
	st = system(cmd);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "%s failed", cmd);
	snprintf(path, sizeof(path), "%s/report.html", tmp);
	report_html = slurp(path);
	ck_assert_ptr_nonnull(report_html);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmp);
	ck_assert_int_eq(system(cmd), 0);
}

static bool in_report(const char *a)
{
	char pat[160];

	snprintf(pat, sizeof(pat), "id=\"%s\"", a);
	return strstr(report_html, pat) != NULL;
}

/* GitHub's heading slug: lower case, spaces to '-', other punctuation
 * but '-' and '_' dropped. */
static void slug(const char *h, size_t n, char *out, size_t len)
{
	size_t k = 0;

	for (size_t i = 0; i < n && k + 1 < len; i++) {
		unsigned char c = (unsigned char)h[i];

		if (isalnum(c) || c == '-' || c == '_' || c >= 0x80)
			out[k++] = (char)tolower(c);
		else if (c == ' ')
			out[k++] = '-';
	}
	out[k] = '\0';
}

static bool heading_of(const char *doc, const char *a)
{
	const char *next;

	for (const char *l = doc; l && *l; l = next) {
		const char *e = strchr(l, '\n');
		char s[200];
		size_t n;

		next = e ? e + 1 : NULL;
		if (*l != '#')
			continue;
		while (*l == '#')
			l++;
		while (*l == ' ')
			l++;
		n = e ? (size_t)(e - l) : strlen(l);
		slug(l, n, s, sizeof(s));
		if (!strcmp(s, a))
			return true;
	}
	return false;
}

static int check_doc(const char *path, char *bad, size_t len, int *cited)
{
	char *doc = slurp(path);
	int missing = 0;
	size_t used = strlen(bad);

	ck_assert_msg(doc, "cannot read %s", path);
	for (const char *p = doc; (p = strchr(p, '#')); p++) {
		char a[128];
		size_t n = strspn(p + 1, "abcdefghijklmnopqrstuvwxyz0123456789-");
		bool report = p > doc && p[-1] == '`' && p[1 + n] == '`';
		bool link = p > doc && p[-1] == '(' && p[1 + n] == ')' &&
			    p - doc >= 2 && p[-2] == ']';
		bool ok = true;
		const char *why = "";

		if (!n || n >= sizeof(a) || (!report && !link))
			continue;
		snprintf(a, sizeof(a), "%.*s", (int)n, p + 1);
		(*cited)++;
		if (link) {
			ok = heading_of(doc, a);
			why = "no such heading on the page";
		} else if (!in_report(a)) {
			ok = false;
			why = "not in the rendered fixture report";
			for (size_t i = 0; i < sizeof(needs) / sizeof(needs[0]); i++)
				if (!strncmp(a, needs[i].prefix, strlen(needs[i].prefix)))
					ok = true;
		}
		if (!ok) {
			missing++;
			used += (size_t)snprintf(bad + used, used < len ? len - used : 0,
						 "%s: #%s (%s)\n", path, a, why);
		}
	}
	free(doc);
	return missing;
}

START_TEST(every_cited_anchor_exists)
{
	static const char *pats[] = { "WORKSHOP.md", "WORKSHOP-answers.md",
				      "README.md", "incidents/*/README.md",
				      "docs/*.md" };
	char bad[4096] = "";
	int missing = 0, cited = 0, docs = 0;

	render_fixture();
	for (size_t i = 0; i < sizeof(pats) / sizeof(pats[0]); i++) {
		glob_t g;

		if (glob(pats[i], 0, NULL, &g) != 0)
			continue;
		for (size_t k = 0; k < g.gl_pathc; k++, docs++)
			missing += check_doc(g.gl_pathv[k], bad, sizeof(bad), &cited);
		globfree(&g);
	}
	ck_assert_int_ge(docs, 6);
	ck_assert_int_ge(cited, 10); /* the scan found the citations */
	ck_assert_msg(!missing, "%d cited anchor(s) missing:\n%s", missing, bad);
	free(report_html);
}
END_TEST

/* The checker itself: a wrong anchor is caught, a right one passes. */
START_TEST(a_wrong_anchor_is_caught)
{
	char bad[1024] = "", path[] = "/tmp/maplab-anchor-doc-XXXXXX";
	int cited = 0, fd;
	FILE *f;

	render_fixture();
	fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	f = fdopen(fd, "w");
	fputs("# A page\n\n## Good heading\n\nSee `#config-frag` and "
	      "`#config-readers` (wrong), `#config-fragmentation` and "
	      "`#metrics-walk` (right), [x](#good-heading), [y](#nowhere).\n", f);
	fclose(f);
	ck_assert_int_eq(check_doc(path, bad, sizeof(bad), &cited), 3);
	ck_assert_int_eq(cited, 6);
	ck_assert(strstr(bad, "#config-frag (") && strstr(bad, "#nowhere ("));
	unlink(path);
	free(report_html);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("anchors");
	TCase *tc = tcase_create("anchors");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, every_cited_anchor_exists);
	tcase_add_test(tc, a_wrong_anchor_is_caught);
	suite_add_tcase(s, tc);
	return ck_run(s);
}

/*
 * harness/report/report_load.c - reads a results folder into a struct report.
 *
 * Input is untrusted (a folder from another machine, an interrupted run):
 * every file is parsed fully before anything is written, and every error
 * becomes one line in err with a negative errno (-ENOENT: no such folder or
 * file, -EINVAL: corrupt or unusable content).  Names that reach gnuplot
 * and file paths (incident, variant) are restricted to [A-Za-z0-9_-] so
 * they can be passed on a command line and used in anchors unquoted.
 *
 * Sources, in order of authority: runs/<i>.<v>.r<rep>.json (the full record)
 * over summary.json's entry (kept even when the record is missing, so a run
 * whose record was lost still shows, as such).  Without summary.json (an
 * interrupted folder) the run list comes from runs/<run>.json alone.
 * Nothing is dropped silently: a record summary.json does not list is
 * shown with a note (a writer still at work writes the record first), a
 * file whose name is not <incident>.<variant>.r<rep> of its own content is
 * ignored with a note (so a stray copy never adds a row), an unreadable
 * data file is noted.  The citation hash covers every file the page is
 * drawn from, runs/ and data/ included.
 * The store reads the records (results_load_record, results_run_names) and
 * their fields (results_view, completed by the summary entry's view): this
 * file adds what is the report's own, the run list's rules above, the
 * series, the incidents and the hash.
 * Single-threaded.
 */
#include <dirent.h>
#include <errno.h>
#include <glib.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness/verdict/expect.h"
#include "harness/report/report_sources.h"
#include "harness/report/report_impl.h"
#include "harness/runtime/text.h"
#include "harness/store/results.h"
#include "incidents/registry.h"
#include "maps/map.h"

static int fail(char *err, size_t n, int rc, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static int fail(char *err, size_t n, int rc, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, n, fmt, ap);
	va_end(ap);
	return rc;
}

void rp_note(struct report *rp, const char *fmt, ...)
{
	char line[600], clean[600];
	char **nn;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	text_one_line(clean, sizeof(clean), line);
	nn = realloc(rp->notes, (rp->nnotes + 1) * sizeof(*nn));
	if (!nn)
		return;
	rp->notes = nn;
	if ((nn[rp->nnotes] = strdup(clean)))
		rp->nnotes++;
}

void RP_CUT(char *buf, size_t n, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, n, fmt, ap);
	va_end(ap);
}

json_t *rp_j(json_t *root, const char *path)
{
	char key[128];
	const char *p = path;

	while (root && *p) {
		const char *dot = strchr(p, '.');
		size_t len = dot ? (size_t)(dot - p) : strlen(p);

		if (len >= sizeof(key) || !json_is_object(root))
			return NULL;
		memcpy(key, p, len);
		key[len] = '\0';
		root = json_object_get(root, key);
		p += len + (dot ? 1 : 0);
	}
	return root;
}

double rp_jnum(json_t *root, const char *path)
{
	json_t *v = rp_j(root, path);

	return json_is_number(v) ? json_number_value(v) : NAN;
}

const char *rp_jstr(json_t *root, const char *path)
{
	json_t *v = rp_j(root, path);

	return json_is_string(v) ? json_string_value(v) : NULL;
}

char *rp_read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t cap = 0, n = 0;

	if (!f)
		return NULL;
	for (;;) {
		if (n + 4096 + 1 > cap) {
			char *nb;

			cap = cap ? cap * 2 : 65536;
			nb = realloc(buf, cap);
			if (!nb) {
				free(buf);
				fclose(f);
				errno = ENOMEM;
				return NULL;
			}
			buf = nb;
		}
		size_t got = fread(buf + n, 1, cap - n - 1, f);

		n += got;
		if (got == 0)
			break;
	}
	if (ferror(f)) {
		free(buf);
		fclose(f);
		errno = EIO;
		return NULL;
	}
	fclose(f);
	if (!buf && !(buf = malloc(1)))
		return NULL;
	buf[n] = '\0';
	if (len)
		*len = n;
	return buf;
}

static bool safe_name(const char *s)
{
	if (!s || !*s || strlen(s) > 60)
		return false;
	for (; *s; s++)
		if (!g_ascii_isalnum(*s) && *s != '_' && *s != '-')
			return false;
	return true;
}

void rp_series_free(struct rp_series *s)
{
	for (size_t i = 0; i < s->ncols; i++)
		free(s->cols[i]);
	free(s->cols);
	free(s->v);
	memset(s, 0, sizeof(*s));
}

int rp_read_series(const char *path, struct rp_series *s, char *err,
		   size_t errlen)
{
	size_t len, cap = 0;
	char *text = rp_read_file(path, &len), *line, *save = NULL;
	int rc = 0;

	memset(s, 0, sizeof(*s));
	if (!text)
		return fail(err, errlen, -errno, "%s: %s", path, strerror(errno));
	line = strtok_r(text, "\n", &save);
	if (!line) {
		rc = fail(err, errlen, -EINVAL, "%s: empty data file", path);
		goto out;
	}
	for (char *sv = NULL, *w = strtok_r(line, " \t\r", &sv); w;
	     w = strtok_r(NULL, " \t\r", &sv)) {
		char **nc = realloc(s->cols, (s->ncols + 1) * sizeof(*nc));

		if (!nc || !(nc[s->ncols] = strdup(w))) {
			if (nc)
				s->cols = nc;
			rc = fail(err, errlen, -ENOMEM, "out of memory");
			goto out;
		}
		s->cols = nc;
		s->ncols++;
	}
	if (s->ncols == 0) {
		rc = fail(err, errlen, -EINVAL, "%s: no header line", path);
		goto out;
	}
	while ((line = strtok_r(NULL, "\n", &save))) {
		size_t c = 0;

		if (s->nrows * s->ncols + s->ncols > cap) {
			double *nv;

			cap = cap ? cap * 2 : 64 * s->ncols;
			nv = realloc(s->v, cap * sizeof(*nv));
			if (!nv) {
				rc = fail(err, errlen, -ENOMEM, "out of memory");
				goto out;
			}
			s->v = nv;
		}
		for (char *sv = NULL, *w = strtok_r(line, " \t\r", &sv);
		     w && c < s->ncols; w = strtok_r(NULL, " \t\r", &sv)) {
			char *end;
			double d = strtod(w, &end);

			s->v[s->nrows * s->ncols + c++] = *end ? NAN : d;
		}
		if (c == 0)
			continue; /* blank line */
		while (c < s->ncols)
			s->v[s->nrows * s->ncols + c++] = NAN;
		s->nrows++;
	}
out:
	free(text);
	if (rc)
		rp_series_free(s);
	return rc;
}

long rp_series_col(const struct rp_series *s, const char *name)
{
	for (size_t i = 0; i < s->ncols; i++)
		if (strcmp(s->cols[i], name) == 0)
			return (long)i;
	return -1;
}

long rp_series_pick(const struct rp_series *s, const char *cands,
		    char *name, size_t n, double *scale)
{
	char buf[256], *save = NULL;

	g_strlcpy(buf, cands, sizeof(buf));
	for (char *w = strtok_r(buf, " ", &save); w;
	     w = strtok_r(NULL, " ", &save)) {
		char *star = strchr(w, '*');
		long c;

		if (star)
			*star = '\0';
		c = rp_series_col(s, w);
		if (c < 0)
			continue;
		if (name)
			g_strlcpy(name, w, n);
		if (scale)
			*scale = star ? strtod(star + 1, NULL) : 1.0;
		return c;
	}
	return -1;
}

double rp_series_last(const struct rp_series *s, long col)
{
	if (col < 0)
		return NAN;
	for (size_t r = s->nrows; r-- > 0;) {
		double v = s->v[r * s->ncols + (size_t)col];

		if (!isnan(v))
			return v;
	}
	return NAN;
}

double rp_series_max(const struct rp_series *s, long col)
{
	double m = NAN;

	if (col < 0)
		return NAN;
	for (size_t r = 0; r < s->nrows; r++) {
		double v = s->v[r * s->ncols + (size_t)col];

		if (!isnan(v) && (isnan(m) || v > m))
			m = v;
	}
	return m;
}

double rp_series_mean(const struct rp_series *s, long col)
{
	double sum = 0;
	size_t k = 0;

	if (col < 0)
		return NAN;
	for (size_t r = 0; r < s->nrows; r++) {
		double v = s->v[r * s->ncols + (size_t)col];

		if (!isnan(v)) {
			sum += v;
			k++;
		}
	}
	return k ? sum / (double)k : NAN;
}

/* Report order: the registries' order for names this binary knows, then
 * the others by first appearance. */
static long incident_rank(const char *name)
{
	long i = incident_index(name);

	return i < 0 ? 1000 : i;
}

static long variant_rank(const char *name)
{
	for (size_t i = 0; i < map_variant_count(); i++)
		if (strcmp(map_variant_at(i)->name, name) == 0)
			return (long)i;
	return 1000;
}

/* A run from its summary entry and/or its record: its identity from the
 * record when there is one (else the entry), the rest of its view from
 * the record completed by the entry. */
static int add_run(struct report *rp, json_t *sum, json_t *rec, char *err,
		   size_t n)
{
	struct results_run_view v, sv;
	struct rp_run *nr;

	results_view(rec ? rec : sum, &v);
	if (!safe_name(v.incident) || !safe_name(v.variant) || v.rep < 0)
		return fail(err, n, -EINVAL,
			    "%s: a run without a usable incident/variant/rep "
			    "(names must be [A-Za-z0-9_-])", rp->dir);
	if (rec && sum) {
		results_view(sum, &sv);
		results_view_complete(&v, &sv);
	}
	nr = realloc(rp->runs, (rp->nruns + 1) * sizeof(*nr));
	if (!nr)
		return fail(err, n, -ENOMEM, "out of memory");
	rp->runs = nr;
	nr = &rp->runs[rp->nruns++];
	memset(nr, 0, sizeof(*nr));
	nr->v = v;
	nr->incident = v.incident;
	nr->variant = v.variant;
	nr->rep = v.rep;
	nr->sum = sum ? json_incref(sum) : NULL;
	nr->rec = rec ? json_incref(rec) : NULL;
	results_view_name(&v, nr->base, sizeof(nr->base));
	return 0;
}

static bool have_run(const struct report *rp, const char *base)
{
	for (size_t i = 0; i < rp->nruns; i++)
		if (strcmp(rp->runs[i].base, base) == 0)
			return true;
	return false;
}

/* Every run summary.json lists, each with its record when there is one;
 * an entry listed twice is shown once. */
static int load_listed(struct report *rp, char *err, size_t n)
{
	json_t *runs = json_object_get(rp->summary, "runs"), *e;
	size_t i;

	if (!json_is_array(runs))
		return fail(err, n, -EINVAL, "%s/summary.json: no runs array",
			    rp->dir);
	json_array_foreach(runs, i, e) {
		struct results_run_view v;
		json_t *rec = NULL;
		char base[200];
		int rc;

		results_view(e, &v);
		if (!json_is_object(e) || !safe_name(v.incident) ||
		    !safe_name(v.variant) || v.rep < 0)
			return fail(err, n, -EINVAL,
				    "%s/summary.json: run %zu lacks a usable "
				    "incident/variant/rep", rp->dir, i);
		results_view_name(&v, base, sizeof(base));
		if (have_run(rp, base)) {
			rp_note(rp, "summary.json lists %s twice: shown once",
				base);
			continue;
		}
		rc = results_load_record(rp->dir, base, &rec, err, n);
		if (rc == 0)
			rc = add_run(rp, e, rec, err, n);
		json_decref(rec);
		if (rc)
			return rc;
	}
	return 0;
}

/* One runs/<name>.json that summary.json does not list (or, without a
 * summary, any): added when its name is its own <incident>.<variant>.
 * r<rep>, else ignored with a note.  A corrupt file fails the load when
 * there is no summary (it is then the only source), else it is noted. */
static int load_unlisted(struct report *rp, const char *name, char *err,
			 size_t n)
{
	struct results_run_view v;
	json_t *rec = NULL;
	char base[200];
	int rc = results_load_record(rp->dir, name, &rec, err, n);

	if (rc) {
		if (!rp->summary)
			return rc;
		rp_note(rp, "runs/%s.json ignored: %s", name, err);
		err[0] = '\0';
		return 0;
	}
	if (!rec)
		return 0;
	results_view(rec, &v);
	results_view_name(&v, base, sizeof(base));
	if (strcmp(base, name) != 0)
		rp_note(rp, "runs/%s.json ignored: its name is not the one its "
			"record gives (%s.json): a stray or renamed copy", name,
			base);
	else if (!have_run(rp, name)) {
		rc = add_run(rp, NULL, rec, err, n);
		if (rc == 0 && rp->summary)
			rp_note(rp, "runs/%s.json is not listed in summary.json "
				"(recorded after it, or the summary is older): "
				"shown from its record", name);
	}
	json_decref(rec);
	return rc;
}

/* Every runs/<run>.json in name order that is not loaded yet. */
static int load_runs_dir(struct report *rp, char *err, size_t n)
{
	char **names;
	size_t nn;
	int rc = results_run_names(rp->dir, &names, &nn);

	if (rc == -ENOMEM)
		return fail(err, n, -ENOMEM, "out of memory");
	if (rc)
		return 0; /* nothing ran yet: an empty, incomplete report */
	for (size_t i = 0; i < nn && rc == 0; i++)
		if (!have_run(rp, names[i]))
			rc = load_unlisted(rp, names[i], err, n);
	results_names_free(names, nn);
	return rc;
}

static int cmp_run(const void *a, const void *b)
{
	const struct rp_run *x = a, *y = b;
	long d = incident_rank(x->incident) - incident_rank(y->incident);

	if (d == 0)
		d = strcmp(x->incident, y->incident);
	if (d == 0)
		d = variant_rank(x->variant) - variant_rank(y->variant);
	if (d == 0)
		d = strcmp(x->variant, y->variant);
	if (d == 0)
		d = (x->rep > y->rep) - (x->rep < y->rep);
	return d < 0 ? -1 : d > 0;
}

/* Each incident's design-verdict reference, once, from its runs' records
 * (rp_verdict judges every run against it). */
static int incident_refs(struct report *rp, char *err, size_t n)
{
	json_t **recs = calloc(rp->nruns ? rp->nruns : 1, sizeof(*recs));

	if (!recs)
		return fail(err, n, -ENOMEM, "out of memory");
	for (size_t k = 0; k < rp->nincs; k++) {
		struct rp_incident *inc = &rp->incs[k];
		size_t nr = 0;

		for (size_t j = 0; j < inc->nruns; j++)
			if (rp->runs[inc->runs[j]].rec)
				recs[nr++] = rp->runs[inc->runs[j]].rec;
		verdict_ref_of(recs, nr, inc->name, &inc->ref);
	}
	free(recs);
	return 0;
}

static int group_incidents(struct report *rp, char *err, size_t n)
{
	for (size_t i = 0; i < rp->nruns; i++) {
		struct rp_incident *inc = NULL;
		size_t *nr;

		for (size_t k = 0; k < rp->nincs; k++)
			if (strcmp(rp->incs[k].name, rp->runs[i].incident) == 0)
				inc = &rp->incs[k];
		if (!inc) {
			struct rp_incident *ni =
				realloc(rp->incs, (rp->nincs + 1) * sizeof(*ni));

			if (!ni)
				return fail(err, n, -ENOMEM, "out of memory");
			rp->incs = ni;
			inc = &rp->incs[rp->nincs++];
			memset(inc, 0, sizeof(*inc));
			inc->name = rp->runs[i].incident;
		}
		nr = realloc(inc->runs, (inc->nruns + 1) * sizeof(*nr));
		if (!nr)
			return fail(err, n, -ENOMEM, "out of memory");
		inc->runs = nr;
		inc->runs[inc->nruns++] = i;
	}
	return incident_refs(rp, err, n);
}

static void hash_file(GChecksum *ck, const char *dir, const char *rel,
		      bool *found)
{
	char path[PATH_MAX];
	size_t len;
	char *text;

	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	text = rp_read_file(path, &len);
	*found = text != NULL;
	if (!text)
		return;
	/* the name too: moving bytes between files changes the hash */
	g_checksum_update(ck, (const guchar *)rel, (gssize)strlen(rel) + 1);
	g_checksum_update(ck, (const guchar *)text, (gssize)len);
	free(text);
}

/* SHA-256 over every file the page is drawn from: manifest, summary, the
 * run records and data files it loaded (report order), bench, tsan, the
 * Go claims. */
static int content_hash(struct report *rp, char *err, size_t n)
{
	static const char *const files[] = { "manifest.json", "summary.json",
					     "bench.json", "tsan.json",
					     "goclaims.json" };
	GChecksum *ck = g_checksum_new(G_CHECKSUM_SHA256);
	const char *hex;
	size_t nrec = 0, ndat = 0;
	char rel[300];
	bool found;

	rp->hash_what[0] = '\0';
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		if (i == 2) { /* after the summary: the runs it describes */
			for (size_t r = 0; r < rp->nruns; r++) {
				snprintf(rel, sizeof(rel), "runs/%s.json",
					 rp->runs[r].base);
				if (rp->runs[r].rec) {
					hash_file(ck, rp->dir, rel, &found);
					nrec += found;
				}
				snprintf(rel, sizeof(rel), "data/%s.dat",
					 rp->runs[r].base);
				if (rp->runs[r].have_dat) {
					hash_file(ck, rp->dir, rel, &found);
					ndat += found;
				}
			}
			snprintf(rel, sizeof(rel), "%s%zu runs/*.json + %zu "
				 "data/*.dat", rp->hash_what[0] ? " + " : "",
				 nrec, ndat);
			g_strlcat(rp->hash_what, rel, sizeof(rp->hash_what));
		}
		hash_file(ck, rp->dir, files[i], &found);
		if (!found)
			continue;
		if (rp->hash_what[0])
			g_strlcat(rp->hash_what, " + ", sizeof(rp->hash_what));
		g_strlcat(rp->hash_what, files[i], sizeof(rp->hash_what));
	}
	hex = g_checksum_get_string(ck);
	if (!hex) {
		g_checksum_free(ck);
		return fail(err, n, -EIO, "cannot hash the results");
	}
	g_strlcpy(rp->hash, hex, 9); /* 8 hex digits */
	g_checksum_free(ck);
	return 0;
}

static int cmp_bench(const void *a, const void *b)
{
	const struct rp_bench_chart *x = a, *y = b;

	return strcmp(x->file, y->file);
}

static int load_bench(struct report *rp, char *err, size_t n)
{
	char path[PATH_MAX];
	DIR *d;
	struct dirent *de;
	int rc = 0;

	rc = results_load_object(rp->dir, "bench.json", false, &rp->bench, err, n);
	if (rc)
		return rc;
	snprintf(path, sizeof(path), "%s/data", rp->dir);
	d = opendir(path);
	if (!d)
		return 0;
	while ((de = readdir(d))) {
		size_t l = strlen(de->d_name);
		struct rp_bench_chart *nb;

		if (strncmp(de->d_name, "bench.", 6) != 0 || l < 11 ||
		    strcmp(de->d_name + l - 4, ".dat") != 0 || l > 120)
			continue;
		for (size_t i = 0; i < l; i++)
			if (!g_ascii_isalnum(de->d_name[i]) &&
			    !strchr("._-", de->d_name[i]))
				goto next;
		nb = realloc(rp->bcharts, (rp->nbcharts + 1) * sizeof(*nb));
		if (!nb) {
			rc = fail(err, n, -ENOMEM, "out of memory");
			break;
		}
		rp->bcharts = nb;
		nb = &rp->bcharts[rp->nbcharts++];
		memset(nb, 0, sizeof(*nb));
		if (snprintf(nb->file, sizeof(nb->file), "data/%s",
			     de->d_name) >= (int)sizeof(nb->file))
			rp->nbcharts--; /* a name this long is not ours */
next:;
	}
	closedir(d);
	if (rp->nbcharts > 1)
		qsort(rp->bcharts, rp->nbcharts, sizeof(*rp->bcharts),
		      cmp_bench);
	return rc;
}

/*
 * Expectations: --expect FILE, else RUN/expectations.json, RUN/../
 * expectations.json, harness/verdict/expectations.json (from the current folder).
 * The file is harness/verdict/expect.h's {"cells": {incident: {variant: rule}}},
 * validated by expect_load(); the bare {incident: {variant: {"class":..}}}
 * form is accepted too and wrapped into "cells".
 */
static int load_expect(struct report *rp, const char *given, char *err,
		       size_t n)
{
	char path[PATH_MAX];
	const char *cand[4];
	size_t nc = 0;
	json_error_t je;

	if (given) {
		cand[nc++] = given;
	} else {
		char *slash;

		snprintf(path, sizeof(path), "%s/expectations.json", rp->dir);
		cand[nc++] = g_intern_string(path);
		g_strlcpy(path, rp->dir, sizeof(path));
		slash = strrchr(path, '/');
		if (slash) {
			*slash = '\0';
			g_strlcat(path, "/expectations.json", sizeof(path));
			cand[nc++] = g_intern_string(path);
		}
		cand[nc++] = EXPECT_DEFAULT_PATH;
	}
	for (size_t i = 0; i < nc; i++) {
		json_t *raw;

		if (access(cand[i], F_OK) != 0) {
			if (given)
				return fail(err, n, -ENOENT,
					    "%s: no such expectations file",
					    given);
			continue;
		}
		raw = json_load_file(cand[i], 0, &je);
		if (!raw || !json_is_object(raw)) {
			json_decref(raw);
			return fail(err, n, -EINVAL,
				    "%s: corrupt expectations (line %d: %s)",
				    cand[i], je.line, raw ? "not an object" : je.text);
		}
		if (json_object_get(raw, "cells")) {
			json_decref(raw);
			rp->expect = expect_load(cand[i], err, n);
			if (!rp->expect)
				return -EINVAL;
		} else {
			rp->expect = json_pack("{s:o}", "cells", raw);
			if (!rp->expect)
				return fail(err, n, -ENOMEM, "out of memory");
		}
		rp->expect_path = strdup(cand[i]);
		break;
	}
	return 0;
}

/* Rows whose time is not a number: a damaged data file. */
static size_t corrupt_rows(const struct rp_series *s)
{
	size_t bad = 0;

	for (size_t r = 0; r < s->nrows; r++)
		bad += isnan(s->v[r * s->ncols]);
	return bad;
}

/* Each run's data/<base>.dat, when there is one and it is sound; a
 * damaged one is noted and leaves the run out of the charts. */
static void load_series(struct report *rp)
{
	for (size_t i = 0; i < rp->nruns; i++) {
		struct rp_run *r = &rp->runs[i];
		char dpath[PATH_MAX];
		char derr[256];

		snprintf(dpath, sizeof(dpath), "%s/data/%s.dat", rp->dir, r->base);
		if (access(dpath, F_OK) != 0)
			continue;
		if (rp_read_series(dpath, &r->ser, derr, sizeof(derr)) != 0) {
			rp_note(rp, "data/%s.dat unreadable (%s): its charts "
				"leave this run out", r->base,
				strrchr(derr, ':') ? strrchr(derr, ':') + 2 : derr);
			continue;
		}
		if (rp_series_col(&r->ser, "t_s") != 0)
			rp_note(rp, "data/%s.dat is corrupt (no t_s column "
				"first): its charts leave this run out", r->base);
		else if (corrupt_rows(&r->ser))
			rp_note(rp, "data/%s.dat is corrupt (%zu of %zu rows "
				"have no time): its charts leave this run out",
				r->base, corrupt_rows(&r->ser), r->ser.nrows);
		else if (r->ser.nrows > 0)
			r->have_dat = true;
		if (!r->have_dat)
			rp_series_free(&r->ser);
	}
}

/* Ratio rules are relative to this folder: bind them to its runs. */
static int bind_expect(struct report *rp, char *err, size_t n)
{
	json_t *all = json_array(), *bound;

	for (size_t i = 0; all && i < rp->nruns; i++)
		json_array_append(all, rp->runs[i].rec ? rp->runs[i].rec
						       : rp->runs[i].sum);
	bound = all ? expect_bind(rp->expect, all) : NULL;
	json_decref(all);
	if (!bound)
		return fail(err, n, -ENOMEM, "out of memory");
	json_decref(rp->expect);
	rp->expect = bound;
	return 0;
}

/* The folder itself: its path, manifest, summary, and whether it is
 * finished (INCOMPLETE, complete:false, a writer still at work). */
static int load_folder(struct report *rp, const char *dir, char *err,
		       size_t n)
{
	char path[PATH_MAX];
	struct stat st;
	int rc;

	if (!realpath(dir, path) || stat(path, &st) != 0 || !S_ISDIR(st.st_mode))
		return fail(err, n, -ENOENT,
			    "%s: no such results folder; give one like "
			    "results/<run-id> (default results/latest)", dir);
	rp->dir = strdup(path);
	if (!rp->dir)
		return fail(err, n, -ENOMEM, "out of memory");
	rc = results_load_object(rp->dir, "manifest.json", true, &rp->manifest,
				 err, n);
	if (rc)
		return rc;
	rc = results_load_object(rp->dir, "summary.json", false, &rp->summary,
				 err, n);
	if (rc)
		return rc;
	rp->incomplete = results_incomplete(rp->dir) ||
			 json_is_false(json_object_get(rp->manifest, "complete"));
	rp->writer_pid = results_writer(rp->dir);
	rp_sources_notes(rp);
	if (rp->writer_pid)
		rp_note(rp, "still being written by maplab (pid %d): the runs "
			"finished so far are shown; render again when it is done",
			rp->writer_pid);
	return 0;
}

int rp_load(struct report *rp, const char *dir, const char *expect_path,
	    char *err, size_t n)
{
	int rc = load_folder(rp, dir, err, n);

	if (rc == 0 && rp->summary)
		rc = load_listed(rp, err, n);
	if (rc == 0)
		rc = load_runs_dir(rp, err, n); /* what summary.json lacks */
	if (rc)
		return rc;
	/* runs is NULL when the folder holds no run: qsort's base is nonnull. */
	if (rp->nruns > 1)
		qsort(rp->runs, rp->nruns, sizeof(*rp->runs), cmp_run);
	load_series(rp);
	rc = group_incidents(rp, err, n);
	if (rc == 0)
		rc = load_bench(rp, err, n);
	if (rc == 0)
		rc = results_load_object(rp->dir, "tsan.json", false, &rp->tsan,
					 err, n);
	if (rc == 0)
		rc = load_expect(rp, expect_path, err, n);
	if (rc == 0 && rp->expect)
		rc = bind_expect(rp, err, n);
	if (rc == 0)
		rc = content_hash(rp, err, n);
	if (rc == 0 && rp->nruns == 0 && rp->nbcharts == 0 && !rp->tsan &&
	    !rp->incomplete)
		rc = fail(err, n, -EINVAL,
			  "%s: no runs and no benchmark data to report", rp->dir);
	return rc;
}

void rp_free(struct report *rp)
{
	for (size_t i = 0; i < rp->nruns; i++) {
		json_decref(rp->runs[i].sum);
		json_decref(rp->runs[i].rec);
		rp_series_free(&rp->runs[i].ser);
	}
	free(rp->runs);
	for (size_t i = 0; i < rp->nincs; i++)
		free(rp->incs[i].runs);
	free(rp->incs);
	free(rp->bcharts);
	for (size_t i = 0; i < rp->nnotes; i++)
		free(rp->notes[i]);
	free(rp->notes);
	json_decref(rp->manifest);
	json_decref(rp->summary);
	json_decref(rp->expect);
	json_decref(rp->bench);
	json_decref(rp->tsan);
	free(rp->expect_path);
	free(rp->dir);
	free(rp->plotdir);
	memset(rp, 0, sizeof(*rp));
}

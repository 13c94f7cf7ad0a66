/*
 * harness/report/report_bench.c - the benchmark's numbers as tables: for
 * each key count, the median operations per second of every map at every
 * mix and thread count, and (after --callgrind) instructions and
 * last-level misses per operation.  The charts show the shape; these
 * tables are what a design review quotes, so docs/benchmark.md's tables
 * are copied from a report's, not typed.
 *
 * Pure functions of bench.json (results/README.md): nothing is measured
 * or recomputed here, a cell is one field of one point, and a point the
 * run did not make stays visibly empty ("–" skipped, "error" failed).
 * A table holds 23 rows (mix x threads, or maps) and 10 maps; a larger
 * run's further rows are left out here and kept in the charts and
 * bench.json.
 * Single-threaded, no state.
 */
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness/report/report_impl.h"

enum { ROWS = 24, COLS = 12 };

static int put(struct rp_table *t, size_t r, size_t c, const char *s)
{
	if (r >= ROWS || c >= COLS)
		return -ERANGE;
	free(t->cell[r][c]);
	t->cell[r][c] = strdup(s);
	if (!t->cell[r][c])
		return -ENOMEM;
	if (r + 1 > t->nrows)
		t->nrows = r + 1;
	if (c + 1 > t->ncols)
		t->ncols = c + 1;
	return 0;
}

/* Fill every cell left NULL inside the table with "" (a point or count
 * the run does not have). */
static int fill_blanks(struct rp_table *t)
{
	for (size_t i = 0; i < t->nrows; i++)
		for (size_t j = 0; j < t->ncols; j++)
			if (!t->cell[i][j] && put(t, i, j, "") != 0)
				return -ENOMEM;
	return 0;
}

/* A table's end: blanks filled when it has cells, -ENOENT when it has
 * none, emptied on any error. */
static int finish(struct rp_table *t, int rc, size_t found)
{
	if (!rc)
		rc = found ? fill_blanks(t) : -ENOENT;
	if (rc)
		rp_table_free(t);
	return rc;
}

/* Column of impl name in bench.json's impls[] (0-based), -1 if absent. */
static long impl_col(json_t *bench, const char *name)
{
	json_t *impls = json_object_get(bench, "impls"), *o;
	size_t i;

	json_array_foreach(impls, i, o)
		if (!strcmp(rp_jstr(o, "name") ? rp_jstr(o, "name") : "", name))
			return (long)i;
	return -1;
}

static int header(json_t *bench, struct rp_table *t, const char *const *first,
		  size_t nfirst)
{
	json_t *impls = json_object_get(bench, "impls"), *o;
	size_t i;
	int rc = 0;

	for (i = 0; i < nfirst && !rc; i++)
		rc = put(t, 0, i, first[i]);
	json_array_foreach(impls, i, o)
		if (!rc && nfirst + i < COLS)
			rc = put(t, 0, nfirst + i, rp_jstr(o, "name") ?
				 rp_jstr(o, "name") : "?");
	return rc;
}

/* Row of (mix, threads): 1 + mix index x thread count + thread index. */
static long point_row(json_t *bench, json_t *p)
{
	json_t *mixes = json_object_get(bench, "mixes");
	json_t *thr = json_object_get(bench, "threads"), *o;
	const char *mix = rp_jstr(p, "mix");
	long mi = -1, ti = -1;
	size_t i;

	json_array_foreach(mixes, i, o)
		if (mix && rp_jstr(o, "name") && !strcmp(rp_jstr(o, "name"), mix))
			mi = (long)i;
	json_array_foreach(thr, i, o)
		if (json_number_value(o) == rp_jnum(p, "threads"))
			ti = (long)i;
	if (mi < 0 || ti < 0)
		return -1;
	return 1 + mi * (long)json_array_size(thr) + ti;
}

static void ops_cell(json_t *p, char *buf, size_t n)
{
	const char *st = rp_jstr(p, "status");

	if (st && !strcmp(st, "skipped"))
		snprintf(buf, n, "–");
	else if (st && strcmp(st, "ok"))
		snprintf(buf, n, "%s", st);
	else
		snprintf(buf, n, "%.2f", rp_jnum(p, "median_ops_s") / 1e6);
}

/* Column 0 and 1 of every (mix, threads) row, in point_row's order. */
static int label_rows(json_t *bench, struct rp_table *t)
{
	json_t *mixes = json_object_get(bench, "mixes");
	json_t *thr = json_object_get(bench, "threads"), *m, *th;
	size_t i, j, row = 1;
	int rc = 0;

	json_array_foreach(mixes, i, m)
		json_array_foreach(thr, j, th) {
			char buf[32];

			snprintf(buf, sizeof(buf), "%.0f", json_number_value(th));
			if (!rc && row < ROWS)
				rc = put(t, row, 0, rp_jstr(m, "name") ?
					 rp_jstr(m, "name") : "?");
			if (!rc && row < ROWS)
				rc = put(t, row, 1, buf);
			row++;
		}
	return rc;
}

int rp_bench_table(json_t *bench, double keys, struct rp_table *t)
{
	static const char *const first[] = { "mix", "threads" };
	json_t *points = json_object_get(bench, "points"), *p;
	size_t i, found = 0;
	int rc;

	memset(t, 0, sizeof(*t));
	rc = header(bench, t, first, 2);
	if (!rc)
		rc = label_rows(bench, t);
	json_array_foreach(points, i, p) {
		long row = point_row(bench, p), col;
		char cell[32];

		if (rc || rp_jnum(p, "keys") != keys || row < 0 || row >= ROWS)
			continue;
		col = impl_col(bench, rp_jstr(p, "impl") ? rp_jstr(p, "impl") : "");
		if (col < 0 || 2 + col >= COLS)
			continue;
		ops_cell(p, cell, sizeof(cell));
		rc = put(t, (size_t)row, 2 + (size_t)col, cell);
		found++;
	}
	return finish(t, rc, found);
}

/* callgrind[] columns: op and field of each count after "map". */
static const struct { const char *op, *field, *head, *fmt; } cg_cols[] = {
	{ "get", "ir_per_op", "get Ir", "%.0f" },
	{ "get_with", "ir_per_op", "get_with Ir", "%.0f" },
	{ "put", "ir_per_op", "put Ir", "%.0f" },
	{ "get", "ll_misses_per_op", "get LL", "%.2f" },
	{ "get_with", "ll_misses_per_op", "get_with LL", "%.2f" },
	{ "put", "ll_misses_per_op", "put LL", "%.2f" },
};
enum { NCG = sizeof(cg_cols) / sizeof(cg_cols[0]) };

static int cg_cells(json_t *c, size_t row, struct rp_table *t)
{
	const char *op = rp_jstr(c, "op");
	int rc = put(t, row, 0, rp_jstr(c, "impl") ? rp_jstr(c, "impl") : "?");

	for (size_t k = 0; k < NCG && !rc; k++) {
		char buf[32];

		if (!op || strcmp(op, cg_cols[k].op))
			continue;
		snprintf(buf, sizeof(buf), cg_cols[k].fmt,
			 rp_jnum(c, cg_cols[k].field));
		rc = put(t, row, 1 + k, buf);
	}
	return rc;
}

int rp_bench_cg_table(json_t *bench, double keys, struct rp_table *t)
{
	json_t *cg = json_object_get(bench, "callgrind"), *c;
	size_t i, found = 0;
	int rc = 0;

	memset(t, 0, sizeof(*t));
	rc = put(t, 0, 0, "map");
	for (size_t k = 0; k < NCG && !rc; k++)
		rc = put(t, 0, 1 + k, cg_cols[k].head);
	json_array_foreach(cg, i, c) {
		const char *impl = rp_jstr(c, "impl") ? rp_jstr(c, "impl") : "?";
		size_t row = 1;

		if (rc || rp_jnum(c, "keys") != keys)
			continue;
		while (row < t->nrows && strcmp(t->cell[row][0], impl))
			row++;
		if (row >= ROWS)
			continue;
		rc = cg_cells(c, row, t);
		found++;
	}
	return finish(t, rc, found);
}

void rp_bench_note(json_t *bench, char *buf, size_t n)
{
	json_t *load = json_object_get(bench, "load");
	double before = json_number_value(json_array_get(json_object_get(load,
						"before"), 0));
	double after = json_number_value(json_array_get(json_object_get(load,
						"after"), 0));
	double share = rp_jnum(bench, "median_cpu_share");

	snprintf(buf, n,
		 "Mop/s, the median of %.0f pass%s of %g s (\"–\": not run, "
		 "a map without locks gets one thread only). Cells in one row "
		 "were measured in the same run, so their ratios are the "
		 "comparison to quote. Load average (1 min) %.2f before the "
		 "run, %.2f after; the workers got a median %.0f%% of the CPU "
		 "time they could use%s.",
		 rp_jnum(bench, "params.reps"),
		 rp_jnum(bench, "params.reps") == 1 ? "" : "es",
		 rp_jnum(bench, "params.seconds"),
		 before, after, 100 * share,
		 !isnan(share) && share < 0.95 ?
			 " (below 95%: the machine was shared, and thread "
			 "counts above one do not measure free cores)" : "");
}

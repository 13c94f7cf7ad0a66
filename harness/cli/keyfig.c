/*
 * harness/cli/keyfig.c - each incident's key figure, read from a run
 * record (results/schema.json), for the terminal table of run and matrix.
 *
 * The figures are the incident's own (incident.h: struct incident_keyfig,
 * each incident's <name>_facts.c): a label, where the number is in the
 * record, and how to print it.  A figure the record does
 * not hold is left out; one read from a histogram that counted nothing
 * (a crash before the first sweep) shows "n/a", not its empty 0; a
 * figure marked `nonzero` only shows when > 0
 * (syncmap's dirty copies: the other variants have none).  Pure functions,
 * no state.
 */
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "harness/cli/keyfig.h"
#include "incidents/registry.h"

/* The number at a dotted path, NAN when absent.  *empty: the object
 * holding it counted nothing ("count": 0, a histogram with no sample,
 * e.g. no sweep finished before a crash): its 0 is no measurement. */
static double at_path(const json_t *rec, const char *path, bool *empty)
{
	char part[64];
	const json_t *v = rec, *holder = NULL;

	while (v && *path) {
		size_t n = strcspn(path, ".");

		snprintf(part, sizeof(part), "%.*s", (int)n, path);
		holder = v;
		v = json_object_get(v, part);
		path += n + (path[n] == '.');
	}
	*empty = json_is_integer(json_object_get(holder, "count")) &&
		 json_integer_value(json_object_get(holder, "count")) == 0;
	return json_is_number(v) ? json_number_value(v) : NAN;
}

static double series_max(const json_t *rec, const char *col)
{
	const json_t *s = json_object_get(rec, "series");
	const json_t *cols = json_object_get(s, "columns"), *row, *c;
	double best = NAN;
	size_t i, k = 0;
	bool found = false;

	json_array_foreach(cols, i, c)
		if (!found && json_is_string(c) && !strcmp(json_string_value(c), col)) {
			k = i;
			found = true;
		}
	if (!found)
		return NAN;
	json_array_foreach(json_object_get(s, "rows"), i, row) {
		const json_t *v = json_array_get(row, k);

		if (json_is_number(v) && !(json_number_value(v) <= best))
			best = json_number_value(v);
	}
	return best;
}

/* 849509 -> "850k", 1616 -> "1616", 12.3 -> "12" */
static void number(double v, char *buf, size_t len)
{
	if (v >= 1e6)
		snprintf(buf, len, "%.1fM", v / 1e6);
	else if (v >= 1e4)
		snprintf(buf, len, "%.0fk", v / 1e3);
	else if (v > 0 && v < 10)
		snprintf(buf, len, "%.1f", v);
	else
		snprintf(buf, len, "%.0f", v);
}

void keyfig_text(const json_t *rec, char *buf, size_t len)
{
	const char *inc = json_string_value(json_object_get(rec, "incident"));
	const struct incident *d = inc ? incident_find(inc) : NULL;
	size_t n = 0;

	buf[0] = '\0';
	for (size_t i = 0; d && d->key_figures && d->key_figures[i].label; i++) {
		const struct incident_keyfig *f = &d->key_figures[i];
		bool empty = false;
		double v;
		char num[32];

		if (n >= len)
			continue;
		v = f->from == INCIDENT_KF_PATH ? at_path(rec, f->where, &empty)
						: series_max(rec, f->where);
		if (!isfinite(v) || (f->nonzero && (empty || !(v > 0))))
			continue;
		if (empty) { /* nothing measured: not a 0 */
			n += (size_t)snprintf(buf + n, len - n, "%s%s n/a",
					      n ? ", " : "", f->label);
			continue;
		}
		number(v * f->scale, num, sizeof(num));
		n += (size_t)snprintf(buf + n, len - n, "%s%s %s%s%s",
				      n ? ", " : "", f->label, num,
				      f->unit[0] && strcmp(f->unit, "%") ? " " : "",
				      f->unit);
	}
	if (!buf[0])
		snprintf(buf, len, "-");
}

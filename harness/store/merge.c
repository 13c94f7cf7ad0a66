/*
 * harness/store/merge.c - merging results folders from several machines or
 * shards into one (see merge.h).
 *
 * Order of work: resolve and load every input (manifest, summary), check
 * them against each other (nothing is written before every check passed),
 * hash each input folder, then claim the output folder with results_open()
 * (INCOMPLETE until results_close) and copy the run records, each with its
 * "source", and the data files.  The merged summary lists the runs in the
 * order an unsharded matrix runs them (incident, variant, rep), so the
 * report and the gate see the same folder as one machine would have made.
 * Envelope folders: the merged envelope object holds every folder's
 * variants (envelope_union); the round folders of a sharded envelope
 * search are merged only by results_merge_rounds (a shard there is its
 * round and index), whose caller writes the search's summary.
 *
 * Single-threaded; every json_t is owned by the struct src that loaded it
 * or by the results_dir being written.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <glib.h>

#include "harness/store/merge.h"
#include "harness/store/results.h"

struct src {
	char dir[PATH_MAX];
	json_t *manifest, *summary; /* owned */
	char sha[65];               /* SHA-256 of the folder's files, hex */
};

struct entry {
	json_t *e;        /* borrowed summary entry */
	size_t src, inc, var;
	long long rep;
};

static int refuse(char *err, size_t n, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int refuse(char *err, size_t n, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, n, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static const char *mstr(const json_t *m, const char *a, const char *b)
{
	const json_t *o = json_object_get(m, a);

	return json_string_value(b ? json_object_get(o, b) : o);
}

static const char *or_q(const char *s)
{
	return s ? s : "?";
}

static int load_one(struct src *s, const char *arg, char *err, size_t n)
{
	char e[600];
	json_t *sv;

	if (results_resolve(arg, s->dir, sizeof(s->dir), e, sizeof(e)))
		return refuse(err, n, "%s", e);
	if (results_incomplete(s->dir))
		return refuse(err, n, "%s is incomplete (interrupted, failed or "
			      "still being written): finish or re-run it before "
			      "merging", s->dir);
	s->manifest = results_load(s->dir, "manifest.json", e, sizeof(e));
	if (!json_is_object(s->manifest))
		return refuse(err, n, "%s is not a results folder (%s)", s->dir, e);
	sv = json_object_get(s->manifest, "schema_version");
	if (!json_is_integer(sv) || json_integer_value(sv) != RESULTS_SCHEMA_VERSION) {
		char v[32] = "missing";

		if (json_is_integer(sv))
			snprintf(v, sizeof(v), "%lld", (long long)json_integer_value(sv));
		return refuse(err, n, "%s was written by another lab version "
			      "(schema_version %s, this maplab reads %d): merge "
			      "folders of one lab version, or re-run it with this "
			      "maplab", s->dir, v, RESULTS_SCHEMA_VERSION);
	}
	s->summary = results_load(s->dir, "summary.json", e, sizeof(e));
	if (!json_is_array(json_object_get(s->summary, "runs")))
		return refuse(err, n, "%s has no usable summary.json (%s)", s->dir, e);
	return 0;
}

/* The round of a sharded envelope search a folder belongs to (its
 * manifest's envelope.round), 0 for any other folder. */
static long long round_of(const struct src *s)
{
	return json_integer_value(json_object_get(json_object_get(s->manifest,
		"envelope"), "round"));
}

static bool same_shard(const struct src *a, const struct src *b)
{
	return round_of(a) == round_of(b) && json_equal(json_object_get(
		json_object_get(a->manifest, "shard"), "index"), json_object_get(
		json_object_get(b->manifest, "shard"), "index"));
}

/* The shard set: all shards of one plan with every index once, or none. */
static const char *const plan_keys[] = {"preset", "size", "reps", "base_seed",
	"params", "incidents", "variants", "detect", "sample_ms", NULL};

static int check_shards(const struct src *s, size_t n, char *err, size_t en)
{
	const json_t *sh0 = json_object_get(s[0].manifest, "shard");
	long long count = json_integer_value(json_object_get(sh0, "count"));
	char have[400] = "";
	size_t hl = 0;

	for (size_t i = 0; i < n; i++) {
		const json_t *sh = json_object_get(s[i].manifest, "shard");

		if (!sh != !sh0)
			return refuse(err, en, "%s is %sa shard but %s is %s: merge "
				      "the shards of one plan, or plain folders",
				      s[0].dir, sh0 ? "" : "not ", s[i].dir,
				      sh ? "one" : "not");
		if (!sh)
			continue;
		if (json_integer_value(json_object_get(sh, "count")) != count)
			return refuse(err, en, "%s is one of %lld shards, %s one of "
				      "%lld: merge the shards of one plan", s[0].dir,
				      count, s[i].dir, (long long)json_integer_value(
				      json_object_get(sh, "count")));
		for (const char *const *k = plan_keys; *k; k++)
			if (!json_equal(json_object_get(s[0].manifest, *k),
					json_object_get(s[i].manifest, *k)) &&
			    (json_object_get(s[0].manifest, *k) ||
			     json_object_get(s[i].manifest, *k)))
				return refuse(err, en, "%s and %s are shards of "
					      "different plans (%s differs): run every "
					      "shard with the same options", s[0].dir,
					      s[i].dir, *k);
		for (size_t j = 0; j < i; j++)
			if (same_shard(&s[i], &s[j]))
				return refuse(err, en, "shard %lld/%lld given twice "
					      "(%s and %s): give each shard once",
					      (long long)json_integer_value(json_object_get(
					      sh, "index")), count, s[j].dir, s[i].dir);
	}
	if (!sh0)
		return 0;
	for (long long k = 0; k < count; k++) {
		bool found = false;

		for (size_t i = 0; i < n && !found; i++)
			found = json_integer_value(json_object_get(json_object_get(
				s[i].manifest, "shard"), "index")) == k;
		if (found && hl < sizeof(have))
			hl += (size_t)snprintf(have + hl, sizeof(have) - hl, "%s%lld",
					       hl ? ", " : "", k);
	}
	for (long long k = 0; k < count; k++) {
		bool found = false;

		for (size_t i = 0; i < n && !found; i++)
			found = json_integer_value(json_object_get(json_object_get(
				s[i].manifest, "shard"), "index")) == k;
		if (!found)
			return refuse(err, en, "shard %lld/%lld is missing (have %s): "
				      "add its folder, or run it with --shard "
				      "%lld/%lld and the same options", k, count,
				      have, k, count);
	}
	return 0;
}

/* Position of name in the array list (appended when absent). */
static size_t pos_in(json_t *list, const char *name)
{
	size_t i;
	json_t *v;

	json_array_foreach(list, i, v)
		if (!strcmp(json_string_value(v), name))
			return i;
	json_array_append_new(list, json_string(name));
	return json_array_size(list) - 1;
}

static int cmp_entry(const void *a, const void *b)
{
	const struct entry *x = a, *y = b;

	if (x->inc != y->inc)
		return x->inc < y->inc ? -1 : 1;
	if (x->var != y->var)
		return x->var < y->var ? -1 : 1;
	if (x->rep != y->rep)
		return x->rep < y->rep ? -1 : 1;
	return x->src < y->src ? -1 : x->src > y->src;
}

/* Every summary entry of every source, in matrix order, with no cell
 * twice; incs/vars receive the union of the selections.  NULL + err. */
static struct entry *gather(const struct src *s, size_t n, json_t *incs,
			    json_t *vars, size_t *count, char *err, size_t en)
{
	struct entry *all = NULL;
	size_t m = 0, i;
	json_t *e, *v;

	for (size_t k = 0; k < n; k++) {
		json_array_foreach(json_object_get(s[k].manifest, "incidents"), i, v)
			if (json_is_string(v))
				pos_in(incs, json_string_value(v));
		json_array_foreach(json_object_get(s[k].manifest, "variants"), i, v)
			if (json_is_string(v))
				pos_in(vars, json_string_value(v));
	}
	for (size_t k = 0; k < n; k++) {
		json_t *runs = json_object_get(s[k].summary, "runs");
		struct entry *t = realloc(all, (m + json_array_size(runs) + 1) *
					  sizeof(*all));

		if (!t) {
			free(all);
			refuse(err, en, "out of memory");
			return NULL;
		}
		all = t;
		json_array_foreach(runs, i, e) {
			const char *inc = json_string_value(json_object_get(e, "incident"));
			const char *var = json_string_value(json_object_get(e, "variant"));

			if (!inc || !var || !json_is_integer(json_object_get(e, "rep"))) {
				free(all);
				refuse(err, en, "%s/summary.json: run %zu lacks its "
				       "incident, variant or rep", s[k].dir, i);
				return NULL;
			}
			all[m++] = (struct entry){.e = e, .src = k,
				.inc = pos_in(incs, inc), .var = pos_in(vars, var),
				.rep = json_integer_value(json_object_get(e, "rep"))};
		}
	}
	qsort(all, m, sizeof(*all), cmp_entry);
	for (size_t j = 1; j < m; j++)
		if (all[j].inc == all[j - 1].inc && all[j].var == all[j - 1].var &&
		    all[j].rep == all[j - 1].rep) {
			refuse(err, en, "overlapping folders: %s x %s rep %lld is in "
			       "both %s and %s (the same shard twice?); give each "
			       "cell once", json_string_value(json_array_get(incs,
			       all[j].inc)), json_string_value(json_array_get(vars,
			       all[j].var)), all[j].rep, s[all[j - 1].src].dir,
			       s[all[j].src].dir);
			free(all);
			return NULL;
		}
	*count = m;
	return all;
}

/* Warnings for what differs between the sources: commits, builds, caps,
 * parameters (a reader of the merged page must know it mixes them). */
static json_t *differences(const struct src *s, size_t n)
{
	static const struct { const char *key, *sub, *what; } f[] = {
		{"git", "commit", "commits"}, {"git", "dirty", "uncommitted changes"},
		{"build", NULL, "builds"}, {"caps", NULL, "caps"},
		{"params", NULL, "incident parameters"}, {"size", NULL, "sizes"},
	};
	json_t *w = json_array();

	for (size_t k = 0; k < sizeof(f) / sizeof(f[0]); k++)
		for (size_t i = 1; i < n; i++) {
			const json_t *a = json_object_get(s[0].manifest, f[k].key);
			const json_t *b = json_object_get(s[i].manifest, f[k].key);
			const char *ca = mstr(s[0].manifest, "git", "commit");
			const char *cb = mstr(s[i].manifest, "git", "commit");

			if (f[k].sub) {
				a = json_object_get(a, f[k].sub);
				b = json_object_get(b, f[k].sub);
			}
			if (json_equal(a, b) || (!a && !b))
				continue;
			json_array_append_new(w, json_sprintf(
				"%s differ: %s (%s, commit %.10s) and %s (%s, commit "
				"%.10s); the merged verdicts mix them", f[k].what,
				s[0].dir, or_q(mstr(s[0].manifest, "machine", "host")),
				or_q(ca), s[i].dir, or_q(mstr(s[i].manifest, "machine",
				"host")), or_q(cb)));
			break;
		}
	return w;
}

static void hash_file(GChecksum *ck, const char *dir, const char *rel)
{
	char path[PATH_MAX * 2];
	gchar *text;
	gsize len;

	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	if (!g_file_get_contents(path, &text, &len, NULL))
		return;
	g_checksum_update(ck, (const guchar *)rel, (gssize)strlen(rel) + 1);
	g_checksum_update(ck, (const guchar *)text, (gssize)len);
	g_free(text);
}

/* SHA-256 over the folder's manifest, summary, run records, data files. */
static void hash_folder(struct src *s)
{
	GChecksum *ck = g_checksum_new(G_CHECKSUM_SHA256);
	size_t i;
	json_t *e;

	hash_file(ck, s->dir, "manifest.json");
	hash_file(ck, s->dir, "summary.json");
	json_array_foreach(json_object_get(s->summary, "runs"), i, e) {
		const char *f = json_string_value(json_object_get(e, "file"));
		const char *d = json_string_value(json_object_get(e, "data"));

		if (f)
			hash_file(ck, s->dir, f);
		if (d)
			hash_file(ck, s->dir, d);
	}
	snprintf(s->sha, sizeof(s->sha), "%s", g_checksum_get_string(ck));
	g_checksum_free(ck);
}

static json_t *source_json(const struct src *s, size_t idx, bool full)
{
	const json_t *m = s->manifest;
	json_t *o = json_pack("{s:I, s:s, s:O?, s:O?, s:O?, s:O?, s:O?}",
			      "index", (json_int_t)idx, "dir", s->dir, "run_id",
			      json_object_get(m, "run_id"), "git",
			      json_object_get(m, "git"), "build",
			      json_object_get(m, "build"), "machine",
			      json_object_get(m, "machine"), "shard",
			      json_object_get(m, "shard"));

	if (o && full) {
		json_object_set_new(o, "sha256", json_string(s->sha));
		json_object_set_new(o, "runs", json_integer((json_int_t)json_array_size(
			json_object_get(s->summary, "runs"))));
		json_object_set(o, "started", json_object_get(m, "started"));
		json_object_set(o, "finished", json_object_get(m, "finished"));
	}
	return o;
}

/* Copy one run: its record with "source" added, its data file as is. */
static int copy_run(struct results_dir *d, const struct src *s, size_t idx,
		    json_t *e)
{
	const char *f = json_string_value(json_object_get(e, "file"));
	const char *dat = json_string_value(json_object_get(e, "data"));
	char path[PATH_MAX * 2], e2[300];
	json_t *rec;
	int rc = 0;

	if (f) {
		if (!(rec = results_load(s->dir, f, e2, sizeof(e2))))
			return -EIO;
		json_object_set_new(rec, "source", source_json(s, idx, false));
		snprintf(path, sizeof(path), "%s/%s", d->path, f);
		rc = results_write_json(path, rec);
		json_decref(rec);
	}
	if (!rc && dat) {
		gchar *text;
		gsize len;

		snprintf(path, sizeof(path), "%s/%s", s->dir, dat);
		if (g_file_get_contents(path, &text, &len, NULL)) {
			snprintf(path, sizeof(path), "%s/%s", d->path, dat);
			rc = results_write_file(path, text, len);
			g_free(text);
		}
	}
	if (!rc)
		rc = json_array_append(d->summary_runs, e) ? -ENOMEM : 0;
	return rc;
}

/* Envelope folders (maplab envelope) searched on several machines: one
 * envelope object whose results hold every folder's variants (a variant
 * in two folders is refused earlier, as overlapping runs); a warning when
 * the searches differ (parameter, range, growth, repetitions). */
static void envelope_union(json_t *m, const struct src *s, size_t n,
			   json_t *warnings)
{
	static const char *const keys[] = {"incident", "param", "from", "to",
		"growth_mib_s", "reps", "ratio", "seconds", NULL};
	json_t *env = NULL, *res = NULL;

	for (size_t i = 0; i < n; i++) {
		json_t *e = json_object_get(s[i].manifest, "envelope");
		const char *k;
		json_t *r;

		if (!json_is_object(e))
			continue;
		if (!env) {
			env = json_deep_copy(e);
			res = json_object_get(env, "results");
			continue;
		}
		for (const char *const *key = keys; *key; key++)
			if (!json_equal(json_object_get(env, *key),
					json_object_get(e, *key))) {
				json_array_append_new(warnings, json_sprintf(
					"envelope searches differ (%s): %s and %s; the "
					"table mixes them", *key, s[0].dir, s[i].dir));
				break;
			}
		json_object_foreach(json_object_get(e, "results"), k, r)
			if (json_is_object(res) && !json_object_get(res, k))
				json_object_set(res, k, r);
	}
	if (env)
		json_object_set_new(m, "envelope", env);
}

/* The merged manifest: the plan of the first source, the union of the
 * selections, what ran where (sources) and what differs (warnings). */
static void merged_manifest(json_t *m, struct src *s, size_t n, json_t *incs,
			    json_t *vars, json_t *warnings)
{
	static const char *const keep[] = {"git", "build", "machine", "preset",
		"size", "reps", "base_seed", "seeds", "params", "caps", "detect",
		"sample_ms", NULL};
	json_t *srcs = json_array();
	json_t *by = json_pack("{s:O?, s:O?}", "machine",
			       json_object_get(m, "machine"), "git",
			       json_object_get(m, "git"));

	for (const char *const *k = keep; *k; k++)
		if (json_object_get(s[0].manifest, *k))
			json_object_set(m, *k, json_object_get(s[0].manifest, *k));
	json_object_set(m, "incidents", incs);
	json_object_set(m, "variants", vars);
	envelope_union(m, s, n, warnings);
	for (size_t i = 0; i < n; i++)
		json_array_append_new(srcs, source_json(&s[i], i, true));
	json_object_set_new(m, "sources", srcs);
	json_object_set_new(m, "merge", json_pack("{s:I, s:O, s:O}", "folders",
		(json_int_t)n, "warnings", warnings, "merged_by", by));
	json_decref(by);
}

static int write_merged(struct src *s, size_t n, struct entry *all, size_t m,
			json_t *incs, json_t *vars, json_t *warnings,
			const char *out, int argc, char **argv, char *merged,
			size_t ml, char *err, size_t en)
{
	struct results_dir d;
	int rc;

	rc = results_open(&d, out, "merged", "merge", argc, argv, err, en);
	if (rc)
		return rc;
	snprintf(merged, ml, "%s", d.path);
	merged_manifest(d.manifest, s, n, incs, vars, warnings);
	for (size_t j = 0; j < m && !rc; j++)
		rc = copy_run(&d, &s[all[j].src], all[j].src, all[j].e);
	if (rc)
		snprintf(err, en, "cannot copy the runs into %s: %s", d.path,
			 strerror(-rc));
	{
		int rc2 = results_close(&d, rc == 0);

		if (!rc && rc2) {
			rc = rc2;
			snprintf(err, en, "cannot finish %s: %s", merged, strerror(-rc));
		}
	}
	return rc;
}

/* Round folders of a sharded envelope search are merged by `maplab
 * envelope --rounds DIR --merge` only: it checks every round and writes
 * the replayed search's summary, which no single folder holds. */
static int check_rounds(const struct src *s, size_t n, bool rounds, char *err,
			size_t en)
{
	for (size_t i = 0; i < n; i++)
		if (!round_of(&s[i]) != !rounds)
			return refuse(err, en, rounds ? "%s is no round of a sharded "
				      "envelope search: merge it with maplab report" :
				      "%s is one round of a sharded envelope search: "
				      "merge all its rounds with maplab envelope "
				      "INCIDENT --rounds DIR --merge (same options)",
				      s[i].dir);
	return 0;
}

static int merge_folders(const char *const *dirs, size_t n, const char *out,
			 bool rounds, int argc, char **argv, char *merged,
			 size_t ml, char *err, size_t en)
{
	struct src *s = calloc(n ? n : 1, sizeof(*s));
	json_t *incs = json_array(), *vars = json_array(), *warn = NULL;
	struct entry *all = NULL;
	size_t m = 0;
	int rc = 0;

	if (!s)
		return refuse(err, en, "out of memory");
	for (size_t i = 0; i < n && !rc; i++) {
		rc = load_one(&s[i], dirs[i], err, en);
		for (size_t j = 0; j < i && !rc; j++)
			if (!strcmp(s[i].dir, s[j].dir))
				rc = refuse(err, en, "%s is given twice; give each "
					    "folder once", s[i].dir);
	}
	if (!rc)
		rc = check_rounds(s, n, rounds, err, en);
	if (!rc)
		rc = check_shards(s, n, err, en);
	if (!rc && !(all = gather(s, n, incs, vars, &m, err, en)))
		rc = -EINVAL;
	if (!rc && out) {
		char e[600];

		if (results_check_out(out, e, sizeof(e)))
			rc = refuse(err, en, "%s", e);
	}
	if (!rc) {
		for (size_t i = 0; i < n; i++)
			hash_folder(&s[i]);
		warn = differences(s, n);
		rc = write_merged(s, n, all, m, incs, vars, warn, out, argc, argv,
				  merged, ml, err, en);
	}
	for (size_t i = 0; i < n; i++) {
		json_decref(s[i].manifest);
		json_decref(s[i].summary);
	}
	json_decref(warn);
	json_decref(incs);
	json_decref(vars);
	free(all);
	free(s);
	return rc;
}

int results_merge(const char *const *dirs, size_t n, const char *out,
		  int argc, char **argv, char *merged, size_t ml, char *err,
		  size_t en)
{
	return merge_folders(dirs, n, out, false, argc, argv, merged, ml, err, en);
}

int results_merge_rounds(const char *const *dirs, size_t n, const char *out,
			 int argc, char **argv, char *merged, size_t ml,
			 char *err, size_t en)
{
	return merge_folders(dirs, n, out, true, argc, argv, merged, ml, err, en);
}

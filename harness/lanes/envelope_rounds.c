/*
 * harness/lanes/envelope_rounds.c - `maplab envelope INCIDENT --rounds DIR
 * (--shard I/N | --pending | --merge)`: the envelope search spread over N
 * shards, round by round (docs/envelope.md, "Envelope across shards").
 *
 * DIR holds one folder per round and shard, DIR/round-K-shard-I-of-N.  A
 * round's probes are a pure function of the earlier rounds' results
 * (env_grid per variant, width N - 1, variants in order, then each
 * variant's grid in order); probe j of the round belongs to shard j mod N.
 * Every command first replays DIR: round by round it recomputes the grid
 * and finds each probe's result in its shard's folder (manifest
 * "envelope.probes"), so a missing, foreign or tampered folder is refused
 * before anything is written.  Then --shard runs its share of the next
 * round, --pending says whether a round is left (exit 0) or not (1), and
 * --merge makes one folder of every round (results_merge_rounds) whose
 * envelope summary is the replayed search.  Probe k of a variant is its
 * run record r<k>, and its seed is that of its repetition at its value,
 * as in a one-machine search.
 *
 * Single-threaded; struct rounds is owned by env_rounds_main.
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness/cli/opts.h"
#include "harness/lanes/envelope_impl.h"
#include "harness/runner/runner.h"
#include "harness/store/merge.h"

#define MAX_FOLDERS 4096

struct rfolder {
	unsigned round, index;
	char path[PATH_MAX];
};

struct rprobe {
	size_t var;      /* index in e->var */
	double value;
	unsigned rep;    /* the variant's probe number, from 1 */
	unsigned same;   /* runs at value before this one */
};

struct rounds {
	struct rfolder f[MAX_FOLDERS];
	size_t nf;
	unsigned count;  /* N; 0 while DIR has no folder and no --shard */
	unsigned done;   /* rounds 1..done have all N folders */
	bool partial;    /* round done + 1 has some */
	struct rprobe list[ENV_MAX_VAR * ENV_MAX_PROBES];
	size_t nlist;    /* the next round's probes */
};

static unsigned width(const struct rounds *rs)
{
	return rs->count > 2 ? rs->count - 1 : 1;
}

static size_t in_round(const struct rounds *rs, unsigned r, const char **which)
{
	size_t k = 0;

	for (size_t i = 0; i < rs->nf; i++)
		if (rs->f[i].round == r) {
			k++;
			if (which)
				which[rs->f[i].index] = rs->f[i].path;
		}
	return k;
}

/* One folder name of DIR: round-K-shard-I-of-N.  0, 1 (not one), or 2. */
static int take(struct env *e, struct rounds *rs, const char *name)
{
	unsigned r, i, n;
	int end = 0;

	if (sscanf(name, "round-%u-shard-%u-of-%u%n", &r, &i, &n, &end) != 3 ||
	    name[end] || r < 1 || n < 1 || i >= n)
		return 1;
	if (rs->count && n != rs->count)
		return env_bad("%s/%s is one of %u shards, not %u: give every round "
			       "the same --shard count", e->rounds, name, n, rs->count);
	if (rs->nf == MAX_FOLDERS)
		return env_bad("%s: more than %d round folders", e->rounds, MAX_FOLDERS);
	rs->count = n;
	rs->f[rs->nf] = (struct rfolder){.round = r, .index = i};
	snprintf(rs->f[rs->nf++].path, PATH_MAX, "%s/%s", e->rounds, name);
	return 0;
}

/* The round folders of DIR; which rounds are complete. */
static int scan(struct env *e, struct rounds *rs)
{
	DIR *d = opendir(e->rounds);
	struct dirent *de;
	int rc = 0;

	rs->count = e->shard.count;
	if (!d && errno != ENOENT)
		return env_bad("--rounds %s: %s", e->rounds, strerror(errno));
	while (d && !rc && (de = readdir(d)))
		rc = take(e, rs, de->d_name) == 2 ? 2 : 0;
	if (d)
		closedir(d);
	if (rc)
		return rc;
	while (rs->count && in_round(rs, rs->done + 1, NULL) == rs->count)
		rs->done++;
	rs->partial = in_round(rs, rs->done + 1, NULL) > 0;
	for (size_t i = 0; i < rs->nf; i++)
		if (rs->f[i].round > rs->done + 1)
			return env_bad("%s is of round %u, but round %u is not "
				       "finished: run its missing shards first",
				       rs->f[i].path, rs->f[i].round, rs->done + 1);
	return 0;
}

/* The next round's probes from every variant's results so far. */
static void make_list(struct env *e, struct rounds *rs)
{
	double vals[ENV_MAX_PROBES];

	rs->nlist = 0;
	for (size_t i = 0; i < e->nvar; i++) {
		struct env_var *v = &e->var[i];
		size_t k = env_grid(&e->cfg, v->p, v->n, width(rs), vals,
				    ENV_MAX_PROBES, &v->st);

		for (size_t j = 0; j < k && !v->failed; j++) {
			unsigned same = 0;

			for (size_t q = 0; q < v->n; q++)
				same += v->p[q].value == vals[j];
			for (size_t q = 0; q < j; q++)
				same += vals[q] == vals[j];
			rs->list[rs->nlist++] = (struct rprobe){i, vals[j],
				(unsigned)(v->n + j + 1), same};
		}
	}
}

/* The options a round folder was run with must be this command's. */
static int same_options(struct env *e, const char *dir, const json_t *m)
{
	static const char *const keys[] = {"incident", "param", "from", "to",
		"growth_mib_s", "reps", "ratio", "max_probes", "seconds", NULL};
	static const char *const top[] = {"variants", "base_seed", "params", NULL};
	json_t *mine = json_object();
	const char *diff = NULL;

	env_write_manifest(e, mine);
	for (const char *const *k = keys; *k && !diff; k++)
		if (!json_equal(json_object_get(json_object_get(mine, "envelope"), *k),
				json_object_get(json_object_get(m, "envelope"), *k)))
			diff = *k;
	for (const char *const *k = top; *k && !diff; k++)
		if (!json_equal(json_object_get(mine, *k), json_object_get(m, *k)))
			diff = *k;
	json_decref(mine);
	if (diff)
		return env_bad("%s was run with other options (%s differs): give "
			       "every round and shard the same options", dir, diff);
	return 0;
}

/* The recorded result of probe (variant, rep) at value in one folder's
 * probes; 1 tipped, 0 bounded, -1 no verdict, -2 absent. */
static int recorded(const json_t *probes, const char *var, unsigned rep,
		    double value)
{
	size_t i;
	json_t *p;

	json_array_foreach(probes, i, p) {
		const char *v = json_string_value(json_object_get(p, "variant"));

		if (!v || strcmp(v, var) || json_integer_value(json_object_get(
			p, "rep")) != rep ||
		    json_number_value(json_object_get(p, "value")) != value)
			continue;
		p = json_object_get(p, "tipped");
		return json_is_boolean(p) ? json_is_true(p) : -1;
	}
	return -2;
}

/* The manifests of round r's N folders (owned by the caller), checked. */
static int load_round(struct env *e, struct rounds *rs, unsigned r, json_t **m)
{
	const char *path[SHARD_MAX];
	char err[600];

	in_round(rs, r, path);
	for (unsigned s = 0; s < rs->count; s++) {
		if (results_incomplete(path[s]))
			return env_bad("%s is incomplete (interrupted or failed): "
				       "remove it and run shard %u/%u again", path[s],
				       s, rs->count);
		if (!(m[s] = results_load(path[s], "manifest.json", err, sizeof(err))))
			return env_bad("%s: %s", path[s], err);
		if (json_integer_value(json_object_get(json_object_get(m[s],
			"envelope"), "round")) != r)
			return env_bad("%s does not say it is round %u: give DIR only "
				       "the folders `--rounds` wrote", path[s], r);
		if (same_options(e, path[s], m[s]))
			return 2;
	}
	return 0;
}

/* Round r: its grid, each probe's result from its shard's folder. */
static int replay_round(struct env *e, struct rounds *rs, unsigned r)
{
	json_t *m[SHARD_MAX] = {0};
	int rc;

	make_list(e, rs);
	rc = load_round(e, rs, r, m);
	for (size_t j = 0; j < rs->nlist && !rc; j++) {
		const struct rprobe *q = &rs->list[j];
		struct env_var *v = &e->var[q->var];
		int t = recorded(json_object_get(json_object_get(m[j % rs->count],
				 "envelope"), "probes"), v->name, q->rep, q->value);

		if (t == -2)
			rc = env_bad("round %u: shard %zu/%u has no result for %s "
				     "probe %u (%s=%g): re-run that shard with the "
				     "same options", r, j % rs->count, rs->count,
				     v->name, q->rep, e->param->name, q->value);
		else if (t == -1 || v->n == ENV_MAX_PROBES)
			v->failed = true;
		else
			v->p[v->n++] = (struct env_probe){q->value, t == 1};
	}
	for (unsigned s = 0; s < rs->count; s++)
		json_decref(m[s]);
	return rc;
}

static int replay(struct env *e, struct rounds *rs)
{
	int rc = scan(e, rs);

	for (unsigned r = 1; r <= rs->done && !rc; r++)
		rc = replay_round(e, rs, r);
	if (!rc)
		make_list(e, rs);
	return rc;
}

/* "round 3: 5 probes of rate: mutex 150000 212000; rcu 300000 300000" */
static void print_list(const struct env *e, const struct rounds *rs,
		       unsigned round)
{
	printf("round %u: %zu probe%s of %s:", round, rs->nlist,
	       rs->nlist == 1 ? "" : "s", e->param->name);
	for (size_t j = 0; j < rs->nlist; j++) {
		if (!j || rs->list[j].var != rs->list[j - 1].var)
			printf("%s %s", j ? ";" : "", e->var[rs->list[j].var].name);
		printf(" %g", rs->list[j].value);
	}
	printf("\n");
}

/* --pending: 0 while a round is left to run, 1 when settled. */
static int pending(struct env *e, struct rounds *rs)
{
	if (rs->partial) {
		printf("round %u is partly run (%zu of %u shards): run the rest\n",
		       rs->done + 1, in_round(rs, rs->done + 1, NULL), rs->count);
		return 0;
	}
	if (rs->nlist) {
		print_list(e, rs, rs->done + 1);
		return 0;
	}
	printf("finished after %u round%s: every variant is settled; merge "
	       "them with --merge\n", rs->done, rs->done == 1 ? "" : "s");
	return 1;
}

/* The round folder's manifest: the plan, the round, its probes so far. */
static json_t *round_manifest(struct env *e, struct rounds *rs, json_t *m)
{
	json_t *env, *probes = json_array();

	env_write_manifest(e, m);
	env = json_object_get(m, "envelope");
	json_object_set_new(env, "round", json_integer(rs->done + 1));
	json_object_set_new(env, "shards", json_integer(rs->count));
	json_object_set_new(env, "width", json_integer(width(rs)));
	json_object_set_new(env, "probes", probes);
	json_object_set_new(m, "shard", shard_json(&e->shard, rs->nlist));
	return probes;
}

/* Shard I's probes of the round (number mod N = I), into d. */
static int run_share(struct env *e, struct rounds *rs, struct results_dir *d,
		     json_t *probes)
{
	size_t k = 0, share = shard_share(&e->shard, rs->nlist);
	int rc = 0;

	for (size_t j = 0; j < rs->nlist && !rc && !runner_interrupted; j++) {
		const struct rprobe *q = &rs->list[j];
		struct env_outcome o;

		if (!shard_owns(&e->shard, j))
			continue;
		rc = env_run_probe(e, d, &e->var[q->var], q->value, q->rep, q->same,
				   ++k, share, &o);
		if (rc)
			break;
		json_array_append_new(probes, json_pack("{s:s, s:i, s:f, s:o, s:s, s:o}",
			"variant", e->var[q->var].name, "rep", (int)q->rep, "value",
			q->value, "tipped", o.tipped < 0 ? json_null() :
			json_boolean(o.tipped), "outcome", o.outcome, "growth",
			results_num(o.growth)));
	}
	return rc;
}

static int shard_run(struct env *e, struct rounds *rs, int argc, char **argv)
{
	char path[PATH_MAX + 64], err[600];
	struct results_dir d;
	int rc;

	if (!rs->nlist && !rs->partial) {
		printf("finished after %u rounds: nothing to run; merge them with "
		       "--merge\n", rs->done);
		return 0;
	}
	snprintf(path, sizeof(path), "%s/round-%u-shard-%u-of-%u", e->rounds,
		 rs->done + 1, e->shard.index, e->shard.count);
	if (access(path, F_OK) == 0 && results_incomplete(path))
		return env_bad("%s is incomplete (interrupted or failed): remove it "
			       "and run this shard again", path);
	if (access(path, F_OK) == 0)
		return env_bad("%s exists: shard %u/%u of round %u already ran; run "
			       "the round's other shards, then the next round", path,
			       e->shard.index, e->shard.count, rs->done + 1);
	if (mkdir(e->rounds, 0755) && errno != EEXIST)
		return env_bad("--rounds %s: %s", e->rounds, strerror(errno));
	if ((rc = results_open(&d, path, "envelope", "envelope", argc, argv, err,
			       sizeof(err))))
		return env_bad("%s", err);
	if (!e->quiet)
		print_list(e, rs, rs->done + 1);
	runner_install_signals();
	rc = run_share(e, rs, &d, round_manifest(e, rs, d.manifest));
	if (results_close(&d, !rc && !runner_interrupted) && !rc)
		rc = -EIO;
	printf("round %u, shard %u/%u: %zu of the round's %zu probes -> %s%s\n",
	       rs->done + 1, e->shard.index, e->shard.count,
	       shard_share(&e->shard, rs->nlist), rs->nlist, path,
	       runner_interrupted ? " (INCOMPLETE: interrupted)" : "");
	if (runner_interrupted)
		return 128 + runner_interrupted;
	return rc ? 1 : 0;
}

/* The merged folder's envelope: the replayed search, not one round's. */
static int set_summary(struct env *e, struct rounds *rs, const char *dir)
{
	char err[600], path[PATH_MAX + 32];
	json_t *m = results_load(dir, "manifest.json", err, sizeof(err));
	json_t *mine = json_object(), *env;
	int rc;

	if (!m)
		return -EIO;
	env_write_manifest(e, mine);
	env = json_object_get(mine, "envelope");
	json_object_set_new(env, "rounds", json_integer(rs->done));
	json_object_set_new(env, "shards", json_integer(rs->count));
	json_object_set_new(env, "width", json_integer(width(rs)));
	json_object_set(m, "envelope", env);
	snprintf(path, sizeof(path), "%s/manifest.json", dir);
	rc = results_write_json(path, m);
	json_decref(mine);
	json_decref(m);
	return rc;
}

static int merge(struct env *e, struct rounds *rs, int argc, char **argv)
{
	const char *dirs[MAX_FOLDERS];
	char merged[PATH_MAX], err[800];
	size_t n = 0;
	int rc;

	if (rs->partial)
		return env_bad("round %u is partly run: run its missing shards, "
			       "then merge", rs->done + 1);
	if (!rs->done)
		return env_bad("%s has no finished round yet: run the shards "
			       "first", e->rounds);
	for (size_t i = 0; i < rs->nf; i++)
		dirs[n++] = rs->f[i].path;
	rc = results_merge_rounds(dirs, n, e->out, argc, argv, merged,
				  sizeof(merged), err, sizeof(err));
	if (rc)
		return rc == -EINVAL ? env_bad("%s", err) : (fprintf(stderr,
			"maplab envelope: %s\n", err), 1);
	if ((rc = set_summary(e, rs, merged)))
		fprintf(stderr, "maplab envelope: cannot write %s/manifest.json: "
			"%s\n", merged, strerror(-rc));
	env_print_table(e);
	if (!rc && e->report)
		env_report(merged);
	printf("merged %u round%s of %u shard%s: %s%s\n", rs->done, rs->done == 1 ?
	       "" : "s", rs->count, rs->count == 1 ? "" : "s", merged, rs->nlist ?
	       " (unfinished: a round is left; see --pending)" : "");
	return rc ? 1 : 0;
}

int env_rounds_main(struct env *e, int argc, char **argv)
{
	struct rounds *rs = calloc(1, sizeof(*rs));
	char **full = calloc((size_t)argc + 2, sizeof(*full));
	int rc;

	if (!rs || !full) {
		free(rs);
		free(full);
		return 1;
	}
	full[0] = (char *)cli_program;
	for (int i = 0; i < argc; i++)
		full[i + 1] = argv[i];
	rc = replay(e, rs);
	if (!rc)
		rc = e->pending ? pending(e, rs) : e->merge ? merge(e, rs, argc + 1,
			full) : shard_run(e, rs, argc + 1, full);
	free(full);
	free(rs);
	return rc;
}

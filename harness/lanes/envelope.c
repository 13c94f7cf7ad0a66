/*
 * harness/lanes/envelope.c - `maplab envelope INCIDENT [--variant LIST]
 * [--param NAME] [--from A --to B]`: for each variant, the load (by
 * default the parameter the incident's descriptor names, .envelope_param;
 * no incident is named here) at which a run tips from bounded to
 * unbounded memory (oom, or growth above --growth MiB/s while loaded),
 * searched by envelope_search.c's pure env_next(); every probe is an
 * ordinary run (runner_run, the same caps as any run) recorded in one
 * results folder, whose manifest's "envelope" holds the search and its
 * result per variant; the report draws it (#envelope).  Bad input exits
 * 2 with one line before anything is written.  Single-threaded: one child
 * at a time, variants in turn.
 */
#include <errno.h>
#include <stdarg.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "harness/cli/opts.h"
#include "harness/lanes/envelope.h"
#include "harness/lanes/envelope_impl.h"
#include "harness/report/report.h"
#include "harness/runner/runner.h"
#include "harness/store/results.h"
#include "harness/verdict/verdict.h"
#include "incidents/registry.h"
#include "maps/map.h"

int env_bad(const char *fmt, ...)
{
	va_list ap;

	fputs("maplab envelope: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return 2;
}

static void usage(FILE *f)
{
	fputs("usage: maplab envelope INCIDENT [--variant LIST] [--param NAME]\n"
	      "                [--from A] [--to B] [--reps R] [--growth MIB_S]\n"
	      "                [--max-probes N] [--seconds S] [--seed X]\n"
	      "                [--set k=v] [--out DIR] [--no-report] [-q]\n"
	      "       maplab envelope INCIDENT [same options] --rounds DIR\n"
	      "                (--shard I/N | --pending | --merge [--out DIR])\n\n"
	      "For each variant (default: the thread-safe C variants), searches\n"
	      "one load parameter (default: the incident's own, listed below)\n"
	      "from A (default its quick value / 8) to B (default its\n"
	      "quick value) for the knee where a run tips from bounded to\n"
	      "unbounded memory: oom, or live memory growing faster than\n"
	      "--growth MiB/s while loaded (default: the budget over two run\n"
	      "lengths, 19.2 MiB/s at the quick size).  Bracketing and\n"
	      "bisection to a ratio of 1.25, R runs (default 3) at each end of\n"
	      "the bracket.  Every probe is a run record in the folder; the\n"
	      "report shows the envelope (#envelope).\n\n"
	      "Across shards, round by round: --shard I/N --rounds DIR runs\n"
	      "shard I's share of the next round's probe grid (computed from\n"
	      "DIR's earlier rounds) into DIR/round-K-shard-I-of-N; --pending\n"
	      "exits 0 while a round is left to run, 1 when every variant is\n"
	      "settled; --merge makes one envelope folder of all rounds.\n"
	      "docs/envelope.md.\n\nThe parameter searched by default:", f);
	for (size_t i = 0; i < incident_count; i++)
		fprintf(f, "%s %s: %s", i % 4 ? "," : "\n ", incident_table[i]->name,
			incident_table[i]->envelope_param ?
			incident_table[i]->envelope_param : "none, give --param");
	fputc('\n', f);
}

/* A number within the parameter's range (whole when it is); 0 or 2. */
static int parse_value(const struct env *e, const char *opt, const char *s,
		       double *out)
{
	char *end;
	double v = strtod(s, &end);

	if (end == s || *end || !isfinite(v) || v < e->param->min ||
	    v > e->param->max || (e->param->integer && v != floor(v)))
		return env_bad("%s %s: give a %snumber from %g to %g for %s", opt, s,
			   e->param->integer ? "whole " : "", e->param->min,
			   e->param->max, e->param->name);
	*out = v;
	return 0;
}

static int pick_variants(struct env *e, const char *list)
{
	char *buf, *save = NULL;

	if (!list) {
		for (size_t i = 0; i < map_variant_count() && e->nvar < ENV_MAX_VAR; i++) {
			const struct map_variant *v = map_variant_at(i);

			if ((v->flags & MAP_V_THREADSAFE) && !(v->flags & MAP_V_EXERCISE))
				e->var[e->nvar++].name = v->name;
		}
		return e->nvar ? 0 : env_bad("no thread-safe variant is built in");
	}
	if (!(buf = strdup(list)))
		return 1;
	for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		const struct map_variant *v = map_variant_find(t);

		if (!v) {
			free(buf);
			return env_bad("unknown variant '%s'; see maplab list", t);
		}
		if (e->nvar == ENV_MAX_VAR) {
			free(buf);
			return env_bad("--variant: at most %d variants", ENV_MAX_VAR);
		}
		e->var[e->nvar++].name = v->name;
	}
	free(buf);
	return e->nvar ? 0 : env_bad("--variant needs a name (or a comma list)");
}

/* The caps every probe runs under: a quick-size run's defaults. */
static json_t *probe_caps(const struct env *e)
{
	struct run_spec s = {.inc = e->inc, .seconds = e->seconds,
			     .size = ICTX_SIZE_QUICK};
	uint64_t cap, budget, rlim;
	double timeout, sec;

	runner_caps(&s, &cap, &budget, &rlim, &timeout, &sec);
	return results_caps_json(cap, budget, rlim, timeout);
}

/* The seeds probes use: the k-th run at one load has runner_seed(seed, k),
 * k = 1..reps (as a matrix's repetitions). */
static json_t *probe_seeds(const struct env *e)
{
	json_t *a = json_array();

	for (unsigned k = 1; a && k <= e->cfg.reps; k++)
		json_array_append_new(a, json_integer((json_int_t)runner_seed(e->seed, k)));
	return a;
}

/* The budget in MiB / (2 x the run's seconds): a growth that would fill
 * the budget within two run lengths (19.2 MiB/s at the quick size's
 * 192 MiB and 5 s). */
static double default_growth(const struct env *e)
{
	struct run_spec s = {.inc = e->inc, .seconds = e->seconds,
			     .size = ICTX_SIZE_QUICK};
	uint64_t cap, budget, rlim;
	double timeout, sec;

	runner_caps(&s, &cap, &budget, &rlim, &timeout, &sec);
	return (double)budget / 1048576.0 / (2 * (sec > 0 ? sec : 5));
}

struct raw {
	const char *variant, *param, *from, *to, *reps, *growth, *maxp, *secs,
		   *seed, *shard;
};

static int resolve(struct env *e, const struct raw *r, const char *incident)
{
	const char *pname;
	uint64_t u;
	int rc;

	for (size_t i = 0; i < incident_count && !e->inc; i++)
		if (!strcmp(incident_table[i]->name, incident))
			e->inc = incident_table[i];
	if (!e->inc)
		return env_bad("unknown incident '%s'; see maplab list", incident);
	pname = r->param ? r->param : e->inc->envelope_param;
	if (!pname)
		return env_bad("%s names no load parameter to search: give --param "
			   "NAME (its parameters: maplab list)", incident);
	if (!(e->param = ictx_find_param(e->inc, pname)))
		return env_bad("--param %s: %s has no such parameter; see maplab list",
			   pname, incident);
	e->cfg = (struct env_cfg){.reps = 3, .ratio = 1.25, .max_probes = 20,
				  .integer = e->param->integer,
				  .from = e->param->quick / 8, .to = e->param->quick};
	if (e->cfg.integer)
		e->cfg.from = ceil(e->cfg.from);
	if (e->cfg.from < e->param->min)
		e->cfg.from = e->param->min;
	if ((r->from && (rc = parse_value(e, "--from", r->from, &e->cfg.from))) ||
	    (r->to && (rc = parse_value(e, "--to", r->to, &e->cfg.to))))
		return rc;
	if (!(e->cfg.from < e->cfg.to) || e->cfg.from <= 0)
		return env_bad("--from %g --to %g: give 0 < from < to", e->cfg.from,
			   e->cfg.to);
	if (r->reps && cli_parse_u64(r->reps, 1, 20, &u))
		return env_bad("--reps %s: give a whole number 1-20", r->reps);
	e->cfg.reps = r->reps ? (unsigned)u : e->cfg.reps;
	if (r->maxp && cli_parse_u64(r->maxp, 2, ENV_MAX_PROBES, &u))
		return env_bad("--max-probes %s: give a whole number 2-%d", r->maxp,
			   ENV_MAX_PROBES);
	e->cfg.max_probes = r->maxp ? (unsigned)u : e->cfg.max_probes;
	if (r->secs && cli_parse_duration(r->secs, &e->seconds))
		return env_bad("--seconds %s: give a duration like 5s, 500ms", r->secs);
	e->growth = default_growth(e);
	if (r->growth) {
		char *end;

		e->growth = strtod(r->growth, &end);
		if (end == r->growth || *end || !(e->growth > 0 && e->growth < 1e5))
			return env_bad("--growth %s: give MiB/s above 0, e.g. 20", r->growth);
	}
	if (r->seed && cli_parse_u64(r->seed, 0, (1ull << 53) - 1, &e->seed))
		return env_bad("--seed %s: give a whole number from 0 to 2^53-1", r->seed);
	return pick_variants(e, r->variant);
}

/* Every --set valid for the incident, none on the searched parameter, and
 * the incident's rules hold at both ends of the range. */
static int check_sets(struct env *e)
{
	const char *sets[ICTX_MAX_SETS + 1];
	char err[400], kv[2][96];

	for (size_t s = 0; s < e->nsets; s++) {
		size_t kl = strlen(e->param->name);

		if (!strncmp(e->sets[s], e->param->name, kl) && e->sets[s][kl] == '=')
			return env_bad("--set %s: %s is the searched parameter; give "
				   "--from/--to instead", e->sets[s], e->param->name);
		if (ictx_check_set(e->inc, e->sets[s], err, sizeof(err)))
			return env_bad("%s", err);
		sets[s] = e->sets[s];
	}
	snprintf(kv[0], sizeof(kv[0]), "%s=%.17g", e->param->name, e->cfg.from);
	snprintf(kv[1], sizeof(kv[1]), "%s=%.17g", e->param->name, e->cfg.to);
	for (int k = 0; k < 2; k++) {
		sets[e->nsets] = kv[k];
		if (ictx_check_rules(e->inc, ICTX_SIZE_QUICK, sets, e->nsets + 1,
				     err, sizeof(err)))
			return env_bad("%s", err);
	}
	if (e->out && results_check_out(e->out, err, sizeof(err)))
		return env_bad("%s", err);
	return 0;
}

/* --rounds DIR with exactly one of --shard I/N, --pending, --merge. */
static int rounds_options(struct env *e, const struct raw *r)
{
	char err[300];
	int modes = !!r->shard + e->pending + e->merge;

	if (r->shard && shard_parse(r->shard, &e->shard, err, sizeof(err)))
		return env_bad("%s", err);
	if (!e->rounds && modes)
		return env_bad("--shard, --pending and --merge need --rounds DIR "
			       "(the folder every round's shard folders go to)");
	if (e->rounds && modes != 1)
		return env_bad("--rounds %s: give one of --shard I/N (run a shard's "
			       "share of the next round), --pending or --merge",
			       e->rounds);
	if (e->rounds && e->out && !e->merge)
		return env_bad("--out: with --rounds, a shard writes DIR/round-K-"
			       "shard-I-of-N; --out names the folder of --merge");
	return 0;
}

static int parse(struct env *e, int argc, char **argv)
{
	static const struct option lo[] = {
		{"variant", required_argument, 0, 'V'}, {"param", required_argument, 0, 'p'},
		{"from", required_argument, 0, 'f'}, {"to", required_argument, 0, 't'},
		{"reps", required_argument, 0, 'r'}, {"growth", required_argument, 0, 'g'},
		{"max-probes", required_argument, 0, 'm'},
		{"seconds", required_argument, 0, 's'}, {"seed", required_argument, 0, 'S'},
		{"set", required_argument, 0, 'k'}, {"out", required_argument, 0, 'o'},
		{"no-report", no_argument, 0, 'n'}, {"quiet", no_argument, 0, 'q'},
		{"rounds", required_argument, 0, 'R'}, {"shard", required_argument, 0, 'x'},
		{"pending", no_argument, 0, 'P'}, {"merge", no_argument, 0, 'M'},
		{"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
	struct raw r = {0};
	int ch, rc;

	e->seed = 1;
	e->report = true;
	optind = 1;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":qh", lo, NULL)) != -1) {
		switch (ch) {
		case 'V': r.variant = optarg; break;
		case 'p': r.param = optarg; break;
		case 'f': r.from = optarg; break;
		case 't': r.to = optarg; break;
		case 'r': r.reps = optarg; break;
		case 'g': r.growth = optarg; break;
		case 'm': r.maxp = optarg; break;
		case 's': r.secs = optarg; break;
		case 'S': r.seed = optarg; break;
		case 'o': e->out = optarg; break;
		case 'n': e->report = false; break;
		case 'q': e->quiet = true; break;
		case 'R': e->rounds = optarg; break;
		case 'x': r.shard = optarg; break;
		case 'P': e->pending = true; break;
		case 'M': e->merge = true; break;
		case 'k':
			if (e->nsets == ICTX_MAX_SETS)
				return env_bad("too many --set options");
			e->sets[e->nsets++] = optarg;
			break;
		case 'h': usage(stdout); return -1;
		case ':': return env_bad("%s needs a value; see maplab envelope --help",
				     argv[optind - 1]);
		default: return env_bad("unknown option '%s'; see maplab envelope --help",
				    argv[optind - 1]);
		}
	}
	if (optind + 1 != argc)
		return env_bad(optind >= argc ? "give one INCIDENT, e.g. maplab "
			   "envelope metrics" : "give one INCIDENT (unexpected '%s')",
			   optind < argc ? argv[argc - 1] : "");
	if ((rc = resolve(e, &r, argv[optind])) || (rc = rounds_options(e, &r)))
		return rc;
	return check_sets(e);
}

/* Did this run tip?  oom, crash or hang; or ok with live memory growing
 * faster than e->growth while loaded.  -1: no verdict (error). */
static int tipped(const struct env *e, const struct run_result *res,
		  json_t *rec, double *growth)
{
	*growth = verdict_growth_mib_s(rec);
	switch (res->outcome) {
	case RUN_OOM: case RUN_CRASH: case RUN_HANG: return 1;
	case RUN_OK: return verdict_tipped(false, *growth, e->growth);
	default: return -1;
	}
}

static void fmt_val(double v, char *buf, size_t n)
{
	if (isnan(v))
		snprintf(buf, n, "?");
	else if (fabs(v) >= 1e6 && fmod(v, 1e4) == 0)
		snprintf(buf, n, "%gM", v / 1e6);
	else if (fabs(v) >= 1e4)
		snprintf(buf, n, "%.0fk", v / 1e3);
	else
		snprintf(buf, n, "%g", v);
}

/* "; a run tipped already at 100k (1/3)": a tip below the lower end. */
static void edge_text(const struct env_step *s, char *buf, size_t n)
{
	char ed[32];

	buf[0] = '\0';
	if (!(s->edge < s->lo))
		return;
	fmt_val(s->edge, ed, sizeof(ed));
	snprintf(buf, n, "; a run tipped already at %s (%u/%u)", ed,
		 s->edge_tipped, s->edge_runs);
}

/* "tips between 106k and 150k rate, 3/3 bounded below, 3/3 tipped
 * above"; a lower end with a minority of tips is "an edge". */
static void result_text(const struct env *e, const struct env_var *v,
			char *buf, size_t n)
{
	char lo[32], hi[32], ed[96];
	const struct env_step *s = &v->st;
	const char *edge = s->lo_tipped ? " (an edge)" : "";

	fmt_val(s->lo, lo, sizeof(lo));
	fmt_val(s->hi, hi, sizeof(hi));
	edge_text(s, ed, sizeof(ed));
	switch (s->state) {
	case ENV_HOLDS:
		snprintf(buf, n, "holds up to %s %s (%u/%u bounded there%s)%s", lo,
			 e->param->name, s->lo_runs - s->lo_tipped, s->lo_runs,
			 s->lo_tipped ? ": an edge" : "", ed);
		break;
	case ENV_TIPS_LOW:
		snprintf(buf, n, "tips at %s %s already (the bottom of the range; "
			 "lower --from)", hi, e->param->name);
		break;
	case ENV_KNEE:
	case ENV_BUDGET:
	case ENV_RUNNING:
		snprintf(buf, n, "%s between %s and %s %s, %u/%u bounded below%s, "
			 "%u/%u tipped above%s%s", s->state == ENV_KNEE ? "tips"
			 : "(unfinished) tips", lo, hi, e->param->name,
			 s->lo_runs - s->lo_tipped, s->lo_runs, edge, s->hi_tipped,
			 s->hi_runs, ed, s->state == ENV_BUDGET ?
			 " (probe budget spent)" : "");
		break;
	}
}

static void progress(const struct env *e, size_t k, size_t left, double per)
{
	char lo[32], hi[32];

	printf("    brackets:");
	for (size_t i = 0; i < e->nvar; i++) {
		fmt_val(e->var[i].st.lo, lo, sizeof(lo));
		fmt_val(e->var[i].st.hi, hi, sizeof(hi));
		printf(" %s %s-%s%s", e->var[i].name, lo, hi,
		       e->var[i].st.state == ENV_RUNNING ? "" : " (done)");
	}
	printf("\n    %zu probe%s made, about %zu to go, ~%.0f s left\n", k,
	       k == 1 ? "" : "s", left, per * (double)left);
}

int env_run_probe(struct env *e, struct results_dir *d, struct env_var *v,
		  double x, unsigned rep, unsigned same, size_t k, size_t total,
		  struct env_outcome *o)
{
	const char *sets[ICTX_MAX_SETS + 1];
	char kv[96], vt[32];
	struct run_result res;
	json_t *rec;
	int rc;

	memcpy(sets, e->sets, e->nsets * sizeof(*sets));
	snprintf(kv, sizeof(kv), "%s=%.17g", e->param->name, x);
	sets[e->nsets] = kv;
	struct run_spec s = {.inc = e->inc, .variant = v->name, .rep = rep,
			     .seed = runner_seed(e->seed, same + 1),
			     .seconds = e->seconds, .size = ICTX_SIZE_QUICK,
			     .sets = sets, .nsets = e->nsets + 1};
	fmt_val(x, vt, sizeof(vt));
	if (!e->quiet) {
		printf("[probe %zu of ~%zu] %s x %s  %s=%s (run %u there) ... ", k,
		       total, e->inc->name, v->name, e->param->name, vt, same + 1);
		fflush(stdout);
	}
	if ((rc = runner_run(&s, &res)))
		return rc;
	rc = results_add_run(d, &s, &res);
	rec = results_run_json(&s, &res);
	o->tipped = tipped(e, &res, rec, &o->growth);
	o->outcome = run_outcome_name(res.outcome);
	if (!e->quiet)
		printf("%s %.1f s, growth %.1f MiB/s -> %s\n", o->outcome,
		       res.duration_s, o->growth, o->tipped < 0 ?
		       "no verdict (counted, not used)" : o->tipped ? "TIPPED" :
		       "bounded");
	json_decref(rec);
	runner_result_free(&res);
	return rc;
}

/* The next probe of variant v (one machine): run it, keep its result. */
static int probe(struct env *e, struct results_dir *d, struct env_var *v,
		 double x, size_t k, size_t total)
{
	struct env_outcome o;
	unsigned same = 0;
	int rc;

	for (size_t i = 0; i < v->n; i++)
		same += v->p[i].value == x;
	rc = env_run_probe(e, d, v, x, (unsigned)v->n + 1, same, k, total, &o);
	if (rc)
		return rc;
	if (o.tipped >= 0 && v->n < ENV_MAX_PROBES)
		v->p[v->n++] = (struct env_probe){x, o.tipped == 1};
	else
		v->failed = true; /* an error: this variant stops here */
	return 0;
}

static json_t *result_json(const struct env *e, const struct env_var *v)
{
	char text[300];

	result_text(e, v, text, sizeof(text));
	return json_pack("{s:s, s:o, s:o, s:i, s:i, s:i, s:i, s:o, s:i, s:i, "
			 "s:i, s:b, s:s}",
			 "state", env_state_name(v->st.state), "lo",
			 results_num(v->st.lo), "hi", results_num(v->st.hi),
			 "lo_runs", v->st.lo_runs, "lo_tipped", v->st.lo_tipped,
			 "hi_runs", v->st.hi_runs, "hi_tipped", v->st.hi_tipped,
			 "edge", results_num(v->st.edge), "edge_runs",
			 v->st.edge_runs, "edge_tipped", v->st.edge_tipped,
			 "probes", (int)v->n, "failed", v->failed, "text", text);
}

void env_write_manifest(const struct env *e, json_t *m)
{
	json_t *vars = json_array(), *res = json_object(), *inc = json_array();
	json_t *params = json_object(), *p = json_object();

	for (size_t i = 0; i < e->nvar; i++) {
		json_array_append_new(vars, json_string(e->var[i].name));
		json_object_set_new(res, e->var[i].name, result_json(e, &e->var[i]));
	}
	json_array_append_new(inc, json_string(e->inc->name));
	for (const struct incident_param *q = e->inc->params; q && q->name; q++)
		json_object_set_new(p, q->name, json_real(q->quick));
	for (size_t s = 0; s < e->nsets; s++) {
		const char *eq = strchr(e->sets[s], '=');
		char k[64];

		snprintf(k, sizeof(k), "%.*s", (int)(eq - e->sets[s]), e->sets[s]);
		json_object_set_new(p, k, json_real(strtod(eq + 1, NULL)));
	}
	json_object_del(p, e->param->name); /* it varies: see each record */
	json_object_set_new(params, e->inc->name, p);
	json_object_set_new(m, "incidents", inc);
	json_object_set_new(m, "variants", vars);
	json_object_set_new(m, "size", json_string("quick"));
	json_object_set_new(m, "base_seed", json_integer((json_int_t)e->seed));
	json_object_set_new(m, "seeds", probe_seeds(e));
	json_object_set_new(m, "caps", probe_caps(e));
	json_object_set_new(m, "params", params);
	json_object_set_new(m, "envelope", json_pack(
		"{s:s, s:s, s:f, s:f, s:f, s:i, s:f, s:i, s:f, s:o}", "incident",
		e->inc->name, "param", e->param->name, "from", e->cfg.from, "to",
		e->cfg.to, "growth_mib_s", e->growth, "reps", (int)e->cfg.reps,
		"ratio", e->cfg.ratio, "max_probes", (int)e->cfg.max_probes,
		"seconds", e->seconds, "results", res));
}

/* The table, and each holding design's headroom against the lowest knee. */
void env_print_table(const struct env *e)
{
	const struct env_var *blamed = NULL;
	char text[300];

	for (size_t i = 0; i < e->nvar; i++)
		if (e->var[i].st.state != ENV_HOLDS && isfinite(e->var[i].st.hi) &&
		    (!blamed || e->var[i].st.hi < blamed->st.hi))
			blamed = &e->var[i];
	printf("\n%-9s %-11s %7s  %s\n", "variant", "result", "probes", "envelope");
	for (size_t i = 0; i < e->nvar; i++) {
		const struct env_var *v = &e->var[i];

		result_text(e, v, text, sizeof(text));
		printf("%-9s %-11s %7zu  %s%s", v->name, env_state_name(v->st.state),
		       v->n, text, v->failed ? " (a probe failed: see its record)" : "");
		if (blamed && v != blamed && isfinite(v->st.lo) && blamed->st.hi > 0)
			printf("; %s %.1fx %s's knee", v->st.state == ENV_HOLDS ?
			       "headroom >=" : "headroom", v->st.lo / blamed->st.hi,
			       blamed->name);
		printf("\n");
	}
	printf("tipped = oom, crash or hang, or live memory growing faster than "
	       "%g MiB/s while loaded; above/below = the lowest load where most "
	       "runs tipped / the highest below it where most did not (an edge: "
	       "some did); headroom = a design's lower end / the lowest knee's "
	       "upper end\n", e->growth);
}

void env_report(const char *dir)
{
	struct report_opts ro = {.quiet = true};
	char err[512];

	if (report_render(dir, &ro, err, sizeof(err)))
		fprintf(stderr, "maplab envelope: the report of %s could not be "
			"rendered: %s\n", dir, err);
}

/* Runs still to make, as the variants' searches estimate them now. */
static size_t left_now(const struct env *e)
{
	size_t left = 0;

	for (size_t i = 0; i < e->nvar; i++)
		if (!e->var[i].failed && e->var[i].st.state == ENV_RUNNING)
			left += e->var[i].st.left;
	return left;
}

/* Rounds: each running variant makes its next probe, in turn. */
static int search_all(struct env *e, struct results_dir *d)
{
	size_t k = 0;
	double t0 = (double)time(NULL);
	bool any = true;
	int rc = 0;

	for (size_t i = 0; i < e->nvar; i++)
		env_next(&e->cfg, e->var[i].p, e->var[i].n, &e->var[i].st);
	while (any && !rc && !runner_interrupted) {
		any = false;
		for (size_t i = 0; i < e->nvar && !rc && !runner_interrupted; i++) {
			struct env_var *v = &e->var[i];

			if (v->failed || v->st.state != ENV_RUNNING)
				continue;
			any = true;
			k++;
			rc = probe(e, d, v, v->st.next, k, k + left_now(e) - 1);
			env_next(&e->cfg, v->p, v->n, &v->st);
		}
		if (any && !e->quiet)
			progress(e, k, left_now(e),
				 ((double)time(NULL) - t0) / (double)(k ? k : 1));
	}
	return rc;
}

int envelope_main(int argc, char **argv)
{
	struct env *e = calloc(1, sizeof(*e));
	struct results_dir d;
	char err[600], label[PATH_MAX];
	int rc;

	if (!e)
		return 1;
	rc = parse(e, argc, argv);
	if (rc) {
		free(e);
		return rc < 0 ? 0 : rc;
	}
	if (e->rounds) {
		rc = env_rounds_main(e, argc, argv);
		free(e);
		return rc;
	}
	snprintf(label, sizeof(label), "envelope-%s", e->inc->name);
	{
		char **full = calloc((size_t)argc + 2, sizeof(*full));

		full[0] = (char *)cli_program;
		for (int i = 0; i < argc; i++)
			full[i + 1] = argv[i];
		rc = results_open(&d, e->out, label, "envelope", argc + 1, full,
				  err, sizeof(err));
		free(full);
	}
	if (rc) {
		fprintf(stderr, "maplab envelope: %s\n", err);
		free(e);
		return 2;
	}
	env_write_manifest(e, d.manifest);
	runner_install_signals();
	if (!e->quiet)
		printf("maplab envelope: %s x %zu variants, %s from %g to %g -> %s\n",
		       e->inc->name, e->nvar, e->param->name, e->cfg.from,
		       e->cfg.to, d.path);
	rc = search_all(e, &d);
	env_write_manifest(e, d.manifest);
	snprintf(label, sizeof(label), "%s", d.path);
	if (results_close(&d, !rc && !runner_interrupted) && !rc)
		rc = -EIO;
	env_print_table(e);
	if (!rc && e->report)
		env_report(label);
	printf("results: %s%s\n", label, runner_interrupted ? " (INCOMPLETE: "
	       "interrupted)" : "");
	free(e);
	if (runner_interrupted)
		return 128 + runner_interrupted;
	return rc ? 1 : 0;
}

/*
 * harness/cli/cli.c - This file contains the list, run and matrix subcommands
 * and the argument parsers.
 *
 * Every argument is validated before anything is written: bad input prints
 * one line (what is wrong, how to fix it) and exits 2 with no folder made.
 * Runs are sequential (one child at a time: the timings of one cell are
 * not disturbed by another, and 2 cores are all we have).  Outcomes are
 * data: `run` and `matrix` exit 0 whatever the children did, 130/143 when
 * interrupted (the folder stays marked INCOMPLETE), 1 when results could
 * not be written.  State: none beyond one call.
 */
#include <ctype.h>
#include <stdarg.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <getopt.h>
#include <signal.h>

#include "harness/cli/cli.h"
#include "harness/cli/opts.h"
#include "harness/cli/keyfig.h"
#include "harness/cli/rundir.h"
#include "harness/report/report.h"
#include "harness/verdict/verdict.h"
#include "harness/cli/presets.h"
#include "harness/store/results.h"
#include "harness/runner/runner.h"
#include "harness/runner/gochild.h"
#include "incidents/registry.h"
#include "maps/map.h"

#define MAX_SETS MATRIX_MAX_SETS
#define MAX_SEL 64

/* One call's state: what was asked, and what it resolved to. */
struct cli {
	struct matrix_opts o;
	const struct incident *inc[MAX_SEL];
	size_t ninc;
	const char *var[MAX_SEL];
	size_t nvar;
	const struct preset *pre; /* matrix: the preset; run: NULL */
};

static int bad(const char *cmd, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static int bad(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "maplab %s: ", cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return 2;
}

static void names_of_incidents(char *buf, size_t len)
{
	size_t n = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < incident_count && n < len; i++)
		n += (size_t)snprintf(buf + n, len - n, "%s%s", i ? ", " : "",
				      incident_table[i]->name);
}

/* The variant names --variant accepts, ", "-separated: the C variants
 * (with_c) and the Go ones (with_go), in matrix order. */
static void names_of_variants(char *buf, size_t len, bool with_c,
			      bool with_go)
{
	size_t n = 0;

	buf[0] = '\0';
	for (size_t i = 0; with_c && i < map_variant_count() && n < len; i++)
		n += (size_t)snprintf(buf + n, len - n, "%s%s", n ? ", " : "",
				      map_variant_at(i)->name);
	for (size_t i = 0; with_go && i < gochild_variant_count() && n < len; i++)
		n += (size_t)snprintf(buf + n, len - n, "%s%s", n ? ", " : "",
				      gochild_variant_at(i));
}

/* Split a comma list into the selection; 0 or exit code 2. */
static int select_incidents(struct cli *c)
{
	char names[512], *buf, *save = NULL;
	int rc = 0;

	if (!c->o.incidents) {
		for (size_t i = 0; i < incident_count && i < MAX_SEL; i++)
			c->inc[c->ninc++] = incident_table[i];
		return 0;
	}
	if (!(buf = strdup(c->o.incidents)))
		return bad(c->o.cmd, "out of memory");
	for (char *t = strtok_r(buf, ",", &save); t && !rc;
	     t = strtok_r(NULL, ",", &save)) {
		const struct incident *inc = incident_find(t);

		if (!inc) {
			names_of_incidents(names, sizeof(names));
			rc = bad(c->o.cmd, "unknown incident '%s'; choose from: %s",
				 t, names[0] ? names : "(none built)");
			break;
		}
		for (size_t i = 0; i < c->ninc; i++)
			if (c->inc[i] == inc)
				inc = NULL;
		if (inc && c->ninc < MAX_SEL)
			c->inc[c->ninc++] = inc;
	}
	free(buf);
	if (rc)
		return rc;
	if (!c->ninc)
		return bad(c->o.cmd, "--incident needs a name (or a comma list)");
	return 0;
}

static int select_variants(struct cli *c)
{
	char names[512], *buf, *save = NULL;
	int rc = 0;

	bool want_c = !c->o.runtime || strcmp(c->o.runtime, "go");
	bool want_go = c->o.runtime && strcmp(c->o.runtime, "c");

	if (!c->o.variants) {
		for (size_t i = 0; want_c && i < map_variant_count() &&
				   c->nvar < MAX_SEL; i++)
			if (!(map_variant_at(i)->flags & MAP_V_EXERCISE))
				c->var[c->nvar++] = map_variant_at(i)->name;
		for (size_t i = 0; want_go && i < gochild_variant_count() &&
				   c->nvar < MAX_SEL; i++)
			c->var[c->nvar++] = gochild_variant_at(i);
		return 0;
	}
	if (!(buf = strdup(c->o.variants)))
		return bad(c->o.cmd, "out of memory");
	for (char *t = strtok_r(buf, ",", &save); t && !rc;
	     t = strtok_r(NULL, ",", &save)) {
		const struct map_variant *v = map_variant_find(t);
		const char *name = NULL;

		for (size_t i = 0; gochild_is_go(t) && i < gochild_variant_count(); i++)
			if (!strcmp(t, gochild_variant_at(i)))
				name = gochild_variant_at(i);
		if (gochild_is_go(t) && !name) {
			names_of_variants(names, sizeof(names), false, true);
			rc = bad(c->o.cmd, "unknown Go variant '%s'; choose "
				 "from: %s", t, names);
			break;
		}
		if (c->o.runtime && ((name && !want_go) || (v && !want_c))) {
			rc = bad(c->o.cmd, "variant '%s' is not of --runtime %s; "
				 "drop one of the two", t, c->o.runtime);
			break;
		}
		if (!v && !name) {
			names_of_variants(names, sizeof(names), true, true);
			rc = bad(c->o.cmd, "unknown variant '%s'; choose from: %s",
				 t, names[0] ? names : "(none built)");
			break;
		}
		if (v)
			name = v->name;
		for (size_t i = 0; i < c->nvar; i++)
			if (!strcmp(c->var[i], name))
				name = NULL;
		if (name && c->nvar < MAX_SEL)
			c->var[c->nvar++] = name;
	}
	free(buf);
	if (rc)
		return rc;
	if (!c->nvar)
		return bad(c->o.cmd, "--variant needs a name (or a comma list)");
	return 0;
}

static void usage_run(FILE *f)
{
	fprintf(f,
"usage: maplab run --incident I --variant V [options]\n"
"\n"
"Run one incident against one map variant, R times, each in its own capped\n"
"child process, and write a results folder.\n"
"\n"
"  --incident I       incident name (maplab list)\n"
"  --variant V        map variant name (maplab list); go-mutex etc. run the\n"
"                     incident's Go twin (built by `make go`)\n"
"  --threads N        worker threads (1-256, default 8)\n"
"  --seconds S        run length, e.g. 5s, 500ms (default: the size's)\n"
"  --size quick|full  parameter defaults and run length (default quick)\n"
"  --seed X           base seed; rep r uses splitmix64(X + r) (default 1)\n"
"  --reps R           repetitions (1-1000, default 1)\n"
"  --set key=value    override an incident parameter (repeatable)\n"
"  --detect           pass MAP_F_DETECT (the unsafe map's Go-style detector)\n"
"  --mem-cap SIZE     RSS cap, e.g. 256M, 1G (default 256M; min 16M)\n"
"  --budget SIZE      allocator budget (default 3/4 of --mem-cap)\n"
"  --timeout S        kill as hung after S (default seconds + max(5s, seconds))\n"
"  --sample-ms N      telemetry period (1-10000, default 10)\n"
"  --no-telemetry     no samples (the harness-overhead baseline)\n"
"  --out DIR          results folder (new or empty; default results/<id>)\n"
"  --dir DIR          put the results folder inside DIR (made if missing),\n"
"                     e.g. one folder per workshop step; `maplab report DIR`\n"
"                     re-renders each run in it and writes DIR/index.html\n"
"  --report           render the report (report.html) after the runs\n"
"  --no-report        do not (default: render when stdout is a terminal)\n"
"  -v, --verbose      copy the children's stderr to the terminal\n"
"  -q, --quiet        no progress lines, only the table\n"
"  -h, --help         this text\n"
"\n"
"Outcomes: ok, crash (signal or Go-style detector), oom (cap budget|rss|\n"
"rlimit), hang, error, interrupted.  Exit 0 whatever the outcomes; 2 on bad\n"
"input (nothing written); 130/143 when interrupted.\n");
}

static void usage_matrix(FILE *f)
{
	fprintf(f,
"usage: maplab matrix [--preset quick|ci|full] [options]\n"
"\n"
"Run every selected incident x variant (x repetitions), one child at a\n"
"time, and write one results folder.\n"
"\n"
"  --preset P         ");
	for (size_t i = 0; i < preset_count; i++)
		fprintf(f, "%s%s: %s\n", i ? "                     " : "",
			presets[i].name, presets[i].help);
	fprintf(f,
"  --incident A,B     only these incidents (default all)\n"
"  --variant A,B      only these variants (default all but exercise ones)\n"
"  --runtime c|go|both  the default variants: C's (default), Go's, or both\n"
"  --reps R, --size quick|full, --seconds S, --threads N, --seed X,\n"
"  --set key=value (applied to the incidents that have the key), --detect,\n"
"  --mem-cap SIZE, --budget SIZE, --timeout S, --sample-ms N,\n"
"  --no-telemetry, --out DIR, --dir DIR, --report, --no-report, -v, -q:\n"
"  as in `maplab run --help`\n"
"  --shard I/N        run only shard I (0..N-1) of the N shards of the\n"
"                     plan (same seeds; merge with maplab report DIR...)\n"
"  -h, --help         this text\n");
}

/* MemTotal from /proc/meminfo in bytes, 0 when unreadable. */
static uint64_t mem_total(void)
{
	FILE *f = fopen("/proc/meminfo", "r");
	char line[256];
	unsigned long long kib = 0;

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "MemTotal: %llu kB", &kib) == 1)
			break;
	fclose(f);
	return (uint64_t)kib << 10;
}

/* Rules across options: each incident's parameter rules, --timeout above
 * the run's length (plus 1 s for setup and teardown), --mem-cap within
 * the machine's memory.  0 or exit code 2 (one line printed). */
static int check_across(const struct cli *c)
{
	enum ictx_size size = c->o.size >= 0 ? (enum ictx_size)c->o.size
			      : c->pre ? c->pre->size : ICTX_SIZE_QUICK;
	uint64_t phys = mem_total();

	for (size_t i = 0; i < c->ninc; i++) {
		const struct incident *inc = c->inc[i];
		double sec = c->o.seconds > 0 ? c->o.seconds
			     : size == ICTX_SIZE_FULL ? inc->full_seconds
						      : inc->quick_seconds;
		char err[400];

		if (ictx_check_rules(inc, size, c->o.sets, c->o.nsets, err, sizeof(err)))
			return bad(c->o.cmd, "%s", err);
		if (c->o.timeout > 0 && c->o.timeout < sec + 1)
			return bad(c->o.cmd, "--timeout %gs is too short for %s's "
				   "%gs run (it would always end as a hang); give "
				   "at least %gs or leave the default", c->o.timeout,
				   inc->name, sec, sec + 1);
	}
	if (phys && c->o.mem_cap > phys)
		return bad(c->o.cmd, "--mem-cap %.1f GiB is above this machine's "
			   "memory (%.1f GiB); give a cap below it, e.g. 256M",
			   (double)c->o.mem_cap / (1 << 30), (double)phys / (1 << 30));
	return 0;
}

enum { O_INC = 256, O_VAR, O_THR, O_SEC, O_SEED, O_CAP, O_BUD, O_TMO,
       O_REPS, O_OUT, O_SET, O_SIZE, O_DET, O_SMS, O_NOTEL, O_PRESET,
       O_DIR, O_REPORT, O_NOREPORT, O_RUNTIME, O_SHARD };

void matrix_opts_init(struct matrix_opts *o, const char *cmd)
{
	memset(o, 0, sizeof(*o));
	o->cmd = cmd;
	o->seed = 1;
	o->size = -1;
	o->report = -1;
}

static const struct option long_opts[] = {
	{"incident", required_argument, 0, O_INC},
	{"variant", required_argument, 0, O_VAR},
	{"threads", required_argument, 0, O_THR},
	{"seconds", required_argument, 0, O_SEC},
	{"seed", required_argument, 0, O_SEED},
	{"mem-cap", required_argument, 0, O_CAP},
	{"budget", required_argument, 0, O_BUD},
	{"timeout", required_argument, 0, O_TMO},
	{"reps", required_argument, 0, O_REPS},
	{"out", required_argument, 0, O_OUT},
	{"set", required_argument, 0, O_SET},
	{"size", required_argument, 0, O_SIZE},
	{"detect", no_argument, 0, O_DET},
	{"sample-ms", required_argument, 0, O_SMS},
	{"no-telemetry", no_argument, 0, O_NOTEL},
	{"preset", required_argument, 0, O_PRESET},
	{"dir", required_argument, 0, O_DIR},
	{"report", no_argument, 0, O_REPORT},
	{"no-report", no_argument, 0, O_NOREPORT},
	{"runtime", required_argument, 0, O_RUNTIME},
	{"shard", required_argument, 0, O_SHARD},
	{"verbose", no_argument, 0, 'v'},
	{"quiet", no_argument, 0, 'q'},
	{"help", no_argument, 0, 'h'},
{0, 0, 0, 0}};

/* An option with a value to check: 0, 2 (bad value, one line printed),
 * or 1 when ch is not one of them. */
static int set_value(struct matrix_opts *o, int ch, const char *a)
{
	uint64_t u;

	switch (ch) {
	case O_RUNTIME:
		if (strcmp(a, "c") && strcmp(a, "go") && strcmp(a, "both"))
			return bad(o->cmd, "--runtime %s: choose c, go or both", a);
		o->runtime = a;
		break;
	case O_THR:
		if (cli_parse_u64(a, 1, 256, &u))
			return bad(o->cmd, "--threads %s: give a whole number 1-256", a);
		o->threads = (unsigned)u;
		break;
	case O_SEC:
		if (cli_parse_duration(a, &o->seconds))
			return bad(o->cmd, "--seconds %s: give a duration like 5s, 500ms, 2m", a);
		break;
	case O_TMO:
		if (cli_parse_duration(a, &o->timeout))
			return bad(o->cmd, "--timeout %s: give a duration like 30s, 2m", a);
		break;
	case O_SEED:
		if (cli_parse_u64(a, 0, (1ull << 53) - 1, &o->seed))
			return bad(o->cmd, "--seed %s: give a whole number from 0 to 2^53-1", a);
		break;
	case O_CAP:
		if (cli_parse_size(a, &o->mem_cap) || o->mem_cap < (16ull << 20) ||
		    o->mem_cap > (64ull << 30))
			return bad(o->cmd, "--mem-cap %s: give a size from 16M to 64G, e.g. 256M", a);
		break;
	case O_BUD:
		if (cli_parse_size(a, &o->budget) || o->budget < (1ull << 20))
			return bad(o->cmd, "--budget %s: give a size of at least 1M, e.g. 192M", a);
		break;
	case O_REPS:
		if (cli_parse_u64(a, 1, 1000, &u))
			return bad(o->cmd, "--reps %s: give a whole number 1-1000", a);
		o->reps = (unsigned)u;
		break;
	case O_SMS:
		if (cli_parse_u64(a, 1, 10000, &u))
			return bad(o->cmd, "--sample-ms %s: give a whole number 1-10000", a);
		o->sample_ms = (unsigned)u;
		break;
	case O_SET:
		if (o->nsets == MAX_SETS)
			return bad(o->cmd, "too many --set options (at most %d)", MAX_SETS);
		o->sets[o->nsets++] = a;
		break;
	case O_SIZE:
		if (!strcmp(a, "quick"))
			o->size = ICTX_SIZE_QUICK;
		else if (!strcmp(a, "full"))
			o->size = ICTX_SIZE_FULL;
		else
			return bad(o->cmd, "--size %s: choose quick or full", a);
		break;
	default:
		return 1;
	}
	return 0;
}

int matrix_parse(struct matrix_opts *o, int argc, char **argv)
{
	bool matrix = !strcmp(o->cmd, "matrix");
	int ch, rc;

	opterr = 0;
	optind = 1;
	while ((ch = getopt_long(argc, argv, ":vqh", long_opts, NULL)) != -1) {
		const char *a = optarg;

		switch (ch) {
		case O_INC: o->incidents = a; break;
		case O_VAR: o->variants = a; break;
		case O_PRESET:
			if (!matrix)
				return bad(o->cmd, "--preset belongs to `maplab matrix`");
			o->preset = a;
			break;
		case O_SHARD: {
			char err[200];

			if (!matrix)
				return bad(o->cmd, "--shard belongs to `maplab matrix`");
			if (shard_parse(a, &o->shard, err, sizeof(err)))
				return bad(o->cmd, "%s", err);
			break;
		}
		case O_OUT: o->out = a; break;
		case O_DIR: o->dir = a; break;
		case O_REPORT: o->report = 1; break;
		case O_NOREPORT: o->report = 0; break;
		case O_DET: o->detect = true; break;
		case O_NOTEL: o->no_telemetry = true; break;
		case 'v': o->verbose = true; break;
		case 'q': o->quiet = true; break;
		case 'h':
			if (matrix)
				usage_matrix(stdout);
			else
				usage_run(stdout);
			return 0 - 1; /* help printed: exit 0 */
		case ':':
			return bad(o->cmd, "%s needs a value; see maplab %s --help",
				   argv[optind - 1], o->cmd);
		default:
			if ((rc = set_value(o, ch, a)) != 1) {
				if (rc)
					return rc;
				break;
			}
			return bad(o->cmd, "unknown option '%s'; see maplab %s --help",
				   argv[optind - 1], o->cmd);
		}
	}
	if (optind < argc)
		return bad(o->cmd, "unexpected argument '%s'; see maplab %s --help",
			   argv[optind], o->cmd);
	o->argc = argc;
	o->argv = argv;
	return 0;
}

/* Everything checked across the options, in the parent, before anything
 * is written: the names, the --set keys and values, the caps, the folder.
 * Fills the resolved part of c.  0 or exit code 2 (one line printed). */
static int validate(struct cli *c)
{
	bool matrix = !strcmp(c->o.cmd, "matrix");
	int rc;

	if (matrix) {
		c->pre = preset_find(c->o.preset ? c->o.preset : "quick");
		if (!c->pre)
			return bad(c->o.cmd, "unknown preset '%s'; choose quick, ci or full",
				   c->o.preset);
	} else {
		if (c->o.preset)
			return bad(c->o.cmd, "--preset belongs to `maplab matrix`");
		if (!c->o.incidents)
			return bad(c->o.cmd, "--incident is required; see maplab list");
		if (!c->o.variants)
			return bad(c->o.cmd, "--variant is required; see maplab list");
		if (strchr(c->o.incidents, ',') || strchr(c->o.variants, ','))
			return bad(c->o.cmd, "run takes one incident and one variant; use "
				   "`maplab matrix` for lists");
	}
	if ((rc = select_incidents(c)) || (rc = select_variants(c)))
		return rc;
	if (!matrix && gochild_is_go(c->var[0]) &&
	    !gochild_supports(c->inc[0], c->var[0]))
		return bad(c->o.cmd, "incident %s has no Go twin variant %s "
			   "(go-snapshot is config's); see maplab list",
			   c->inc[0]->name, c->var[0]);
	if (!c->ninc)
		return bad(c->o.cmd, "no incident is built into this binary");
	if (!c->nvar)
		return bad(c->o.cmd, "no map variant is built into this binary");
	if (c->o.budget && c->o.budget >= (c->o.mem_cap ? c->o.mem_cap : RUN_DEFAULT_CAP))
		return bad(c->o.cmd, "--budget must be below --mem-cap (the RSS cap)");
	/* every --set: valid for the run's incident, or (matrix) for at least
	 * one selected incident that has the key, and valid wherever it is */
	for (size_t s = 0; s < c->o.nsets; s++) {
		char err[400] = "", key[ICTX_NAME_LEN];
		const char *eq = strchr(c->o.sets[s], '=');
		bool found = false;

		snprintf(key, sizeof(key), "%.*s",
			 eq ? (int)(eq - c->o.sets[s]) : 0, c->o.sets[s]);
		for (size_t i = 0; i < c->ninc; i++) {
			if (matrix && eq && !ictx_find_param(c->inc[i], key))
				continue;
			if (ictx_check_set(c->inc[i], c->o.sets[s], err, sizeof(err)))
				return bad(c->o.cmd, "%s", err);
			found = true;
		}
		if (!found)
			return bad(c->o.cmd, "--set %s: no selected incident has the "
				   "parameter '%s'; see maplab list", c->o.sets[s], key);
	}
	if ((rc = check_across(c)))
		return rc;
	if (c->o.out && c->o.dir)
		return bad(c->o.cmd, "give --out or --dir, not both (--dir DIR "
			   "names the folder for you inside DIR)");
	if (c->o.dir && (rc = cli_dir_check(c->o.dir, c->o.cmd)))
		return rc;
	if (c->o.out) {
		char err[600];

		if (results_check_out(c->o.out, err, sizeof(err)))
			return bad(c->o.cmd, "%s", err);
	}
	return 0;
}

/* ---- running -------------------------------------------------------- */

static const char *color(int outcome)
{
	switch (outcome) {
	case RUN_OK: return "\033[32m";
	case RUN_CRASH: return "\033[31m";
	case RUN_OOM: return "\033[35m";
	case RUN_HANG: return "\033[33m";
	case RUN_ERROR: return "\033[1;31m";
	default: return "\033[33m";
	}
}

/* "lost_deletes=12 leaked_bytes=4096" for symptoms > 0. */
static void symptom_text(const json_t *sym, char *buf, size_t len)
{
	const char *k;
	json_t *v;
	size_t n = 0;

	buf[0] = '\0';
	json_object_foreach((json_t *)sym, k, v)
		if (json_is_number(v) && json_number_value(v) > 0 && n < len)
			n += (size_t)snprintf(buf + n, len - n, "%s%s=%g",
					      n ? " " : "", k, json_number_value(v));
}

static void detail_text(const struct run_result *r, char *buf, size_t len)
{
	buf[0] = '\0';
	if (r->outcome == RUN_CRASH && r->detector[0])
		snprintf(buf, len, "%s", r->detector);
	else if (r->outcome == RUN_CRASH && r->signal)
		snprintf(buf, len, "SIG%s (%d)%s%s", sigabbrev_np(r->signal)
			 ? sigabbrev_np(r->signal) : "?", r->signal,
			 r->error[0] ? " " : "", r->error);
	else if (r->outcome == RUN_OOM)
		snprintf(buf, len, "cap %s at %.2f s, tag %s", r->oom_cap,
			 r->oom_at_s, r->oom_tag[0] ? r->oom_tag : "?");
	else if (r->outcome != RUN_OK)
		snprintf(buf, len, "%s", r->error);
}

static void params_json(const struct incident *inc, enum ictx_size size,
			const char *const *sets, size_t nsets, json_t *into)
{
	for (const struct incident_param *p = inc->params; p && p->name; p++) {
		double v = size == ICTX_SIZE_FULL ? p->full : p->quick;

		for (size_t s = 0; s < nsets; s++) {
			size_t kl = strlen(p->name);

			if (!strncmp(sets[s], p->name, kl) && sets[s][kl] == '=')
				v = strtod(sets[s] + kl + 1, NULL);
		}
		json_object_set_new(into, p->name, json_real(v));
	}
}

struct row {
	char incident[32], variant[32];
	unsigned rep;
	int outcome;
	double dur, peak_mib, ops_s, p99_ms, inflight;
	char detail[400], symptoms[300];
	json_t *rec; /* the run record, for the design verdict; owned */
};

static const char *verdict_color(const struct verdict *v)
{
	return v->cls == VERDICT_HOLDS ? "\033[32m"
	       : v->cls == VERDICT_BROKEN ? "\033[31m" : "\033[33m";
}

/* The table, with each run's design verdict: judged once every run of the
 * folder is in, since a stall is relative to the same folder's median ok run. */
static void print_table(struct row *rows, size_t n, bool col)
{
	json_t **recs = calloc(n ? n : 1, sizeof(*recs));
	struct verdict_ref ref;

	for (size_t i = 0; recs && i < n; i++)
		recs[i] = rows[i].rec;
	printf("\n%-10s %-9s %3s  %-11s %7s %8s %9s %11s %9s  %-30s  %s\n",
	       "incident", "variant", "rep", "outcome", "time_s", "peak_MiB",
	       "inflight", "ops/s", "p99_ms", "key figure", "design verdict");
	for (size_t i = 0; i < n; i++) {
		struct row *r = &rows[i];
		char ops[32], p99[32], inf[32], vt[260], kf[96];
		struct verdict v;

		/* rows come grouped by incident: one reference per group */
		if (!i || strcmp(rows[i - 1].incident, r->incident))
			verdict_ref_of(recs, recs ? n : 0, r->incident, &ref);
		verdict_of(r->rec, &ref, &v);
		verdict_text(&v, vt, sizeof(vt));
		keyfig_text(r->rec, kf, sizeof(kf));
		snprintf(ops, sizeof(ops), isfinite(r->ops_s) ? "%.0f" : "-", r->ops_s);
		snprintf(p99, sizeof(p99), isfinite(r->p99_ms) ? "%.3f" : "-", r->p99_ms);
		snprintf(inf, sizeof(inf), isfinite(r->inflight) ? "%.0f" : "-",
			 r->inflight);
		printf("%-10s %-9s %3u  %s%-11s%s %7.1f %8.1f %9s %11s %9s  "
		       "%-30s  %s%s%s\n",
		       r->incident, r->variant, r->rep,
		       col ? color(r->outcome) : "", run_outcome_name(r->outcome),
		       col ? "\033[0m" : "", r->dur, r->peak_mib, inf, ops, p99,
		       kf, col ? verdict_color(&v) : "", vt, col ? "\033[0m" : "");
	}
	free(recs);
}

/* A write failed because the results folder (or a part of it) vanished. */
static bool folder_gone(int rc)
{
	return rc == -ENOENT || rc == -ENOTDIR || rc == -ESTALE;
}

/* The command recorded in the manifest of a typed call that has no argv
 * of its own: the `maplab run|matrix` options that reproduce it. */
struct argv_buf {
	char *v[2 * MAX_SETS + 40];
	char num[12][32];
	int n, k;
};

static void av_add(struct argv_buf *b, const char *opt, const char *val)
{
	b->v[b->n++] = (char *)opt;
	if (val)
		b->v[b->n++] = (char *)val;
}

static const char *av_num(struct argv_buf *b, const char *fmt, double v)
{
	snprintf(b->num[b->k], sizeof(b->num[b->k]), fmt, v);
	return b->num[b->k++];
}

static const char *av_size(struct argv_buf *b, uint64_t bytes)
{
	return bytes % (1u << 20) ? av_num(b, "%.0f", (double)bytes)
				  : av_num(b, "%.0fM", (double)(bytes >> 20));
}

static void render_argv(const struct matrix_opts *o, struct argv_buf *b)
{
	b->n = b->k = 0;
	av_add(b, o->cmd, NULL);
	if (o->preset)
		av_add(b, "--preset", o->preset);
	if (o->report >= 0)
		av_add(b, o->report ? "--report" : "--no-report", NULL);
	if (o->dir)
		av_add(b, "--dir", o->dir);
	if (o->out)
		av_add(b, "--out", o->out);
	if (o->seconds > 0)
		av_add(b, "--seconds", av_num(b, "%gs", o->seconds));
	if (o->mem_cap)
		av_add(b, "--mem-cap", av_size(b, o->mem_cap));
	if (o->budget)
		av_add(b, "--budget", av_size(b, o->budget));
	if (o->timeout > 0)
		av_add(b, "--timeout", av_num(b, "%gs", o->timeout));
	if (o->incidents)
		av_add(b, "--incident", o->incidents);
	if (o->variants)
		av_add(b, "--variant", o->variants);
	if (o->runtime)
		av_add(b, "--runtime", o->runtime);
	if (o->reps)
		av_add(b, "--reps", av_num(b, "%.0f", o->reps));
	if (o->threads)
		av_add(b, "--threads", av_num(b, "%.0f", o->threads));
	if (o->size >= 0)
		av_add(b, "--size", o->size == ICTX_SIZE_FULL ? "full" : "quick");
	if (o->seed != 1)
		av_add(b, "--seed", av_num(b, "%.0f", (double)o->seed));
	if (o->shard.count) {
		snprintf(b->num[b->k], sizeof(b->num[b->k]), "%u/%u",
			 o->shard.index, o->shard.count);
		av_add(b, "--shard", b->num[b->k++]);
	}
	for (size_t i = 0; i < o->nsets; i++)
		av_add(b, "--set", o->sets[i]);
	if (o->detect)
		av_add(b, "--detect", NULL);
	if (o->sample_ms)
		av_add(b, "--sample-ms", av_num(b, "%.0f", o->sample_ms));
	if (o->no_telemetry)
		av_add(b, "--no-telemetry", NULL);
	if (o->verbose)
		av_add(b, "-v", NULL);
	if (o->quiet)
		av_add(b, "-q", NULL);
	b->v[b->n] = NULL;
}


/* One execution's progress: the folder, the rows of the table. */
struct exec {
	struct results_dir d;
	unsigned reps;
	enum ictx_size size;
	size_t total, done, nrows;
	struct row *rows;
	bool col, failed_write, gone;
	bool trace;     /* MAPLAB_MALLOC_TRACE: children print to stderr */
	double t_start; /* monotonic seconds when the first run started */
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Create the results folder (its manifest records the command).  0, or
 * the exit code: 2 for a folder the user named badly, 1 otherwise. */
static int open_folder(struct cli *c, struct exec *x, char *dirout,
		       size_t dlen)
{
	struct argv_buf ab;
	int argc = c->o.argc, rc;
	char **argv = c->o.argv, **full, err[600];

	if (!argv) {
		render_argv(&c->o, &ab);
		argc = ab.n;
		argv = ab.v;
	}
	if (c->o.dir && cli_dir_out(c->o.dir, c->pre ? c->pre->name : "run",
				    dirout, dlen, c->o.cmd))
		return 2;
	if (c->o.dir)
		c->o.out = dirout;
	/* the manifest's command: program name + the subcommand's argv */
	if (!(full = calloc((size_t)argc + 2, sizeof(*full))))
		return 1;
	full[0] = (char *)cli_program;
	for (int i = 0; i < argc; i++)
		full[i + 1] = argv[i];
	rc = results_open(&x->d, c->o.out, c->pre ? c->pre->name : "run",
			  c->pre ? "matrix" : "run", argc + 1, full, err,
			  sizeof(err));
	free(full);
	if (!rc)
		return 0;
	fprintf(stderr, "maplab %s: %s\n", c->o.cmd, err);
	return rc == -EEXIST || rc == -EBUSY || rc == -EACCES ||
	       rc == -ENOENT || rc == -EINVAL || rc == -ENOTDIR ? 2 : 1;
}

/* The caps every cell gets, as the manifest states them. */
static json_t *caps_json(const struct cli *c, enum ictx_size size)
{
	uint64_t cap = 0, budget = 0, rlim = 0;
	double max_timeout = 0;

	for (size_t i = 0; i < c->ninc; i++)
		for (size_t v = 0; v < c->nvar; v++) {
			struct run_spec s = {.inc = c->inc[i], .threads = c->o.threads,
					     .seconds = c->o.seconds, .size = size,
					     .mem_cap = c->o.mem_cap, .budget = c->o.budget,
					     .timeout_s = c->o.timeout};
			double t, sec;

			runner_caps(&s, &cap, &budget, &rlim, &t, &sec);
			if (t > max_timeout)
				max_timeout = t;
		}
	return results_caps_json(cap, budget, rlim, max_timeout);
}

/* What the run was asked, beside the command: the manifest's fields. */
static void fill_manifest(const struct cli *c, struct exec *x)
{
	json_t *m = x->d.manifest, *params = json_object(), *seeds = json_array();
	json_t *incs = json_array(), *vars = json_array();

	for (size_t i = 0; i < c->ninc; i++) {
		json_t *p = json_object();

		params_json(c->inc[i], x->size, c->o.sets, c->o.nsets, p);
		json_object_set_new(params, c->inc[i]->name, p);
		json_array_append_new(incs, json_string(c->inc[i]->name));
	}
	for (size_t v = 0; v < c->nvar; v++)
		json_array_append_new(vars, json_string(c->var[v]));
	for (unsigned r = 1; r <= x->reps; r++)
		json_array_append_new(seeds, json_integer((json_int_t)runner_seed(c->o.seed, r)));
	json_object_set_new(m, "preset",
			    c->pre ? json_string(c->pre->name) : json_null());
	json_object_set_new(m, "size",
			    json_string(x->size == ICTX_SIZE_FULL ? "full" : "quick"));
	json_object_set_new(m, "reps", json_integer(x->reps));
	json_object_set_new(m, "base_seed", json_integer((json_int_t)c->o.seed));
	json_object_set_new(m, "seeds", seeds);
	json_object_set_new(m, "params", params);
	json_object_set_new(m, "caps", caps_json(c, x->size));
	json_object_set_new(m, "incidents", incs);
	json_object_set_new(m, "variants", vars);
	json_object_set_new(m, "detect", json_boolean(c->o.detect));
	json_object_set_new(m, "sample_ms",
			    json_integer(c->o.no_telemetry ? 0 : c->o.sample_ms ? c->o.sample_ms : 10));
	if (c->o.shard.count)
		json_object_set_new(m, "shard", shard_json(&c->o.shard,
			c->ninc * c->nvar * x->reps));
}

/* The table row of a finished run (row->rec: its record, owned). */
static void row_of(struct row *row, const struct run_spec *s,
		   const struct run_result *res)
{
	json_t *rj = results_run_json(s, res);
	struct results_run_view vw;

	snprintf(row->incident, sizeof(row->incident), "%s", s->inc->name);
	snprintf(row->variant, sizeof(row->variant), "%s", s->variant);
	row->rep = s->rep;
	row->outcome = res->outcome;
	row->dur = res->duration_s;
	row->peak_mib = (double)res->peak_rss / (1024.0 * 1024.0);
	row->inflight = NAN;
	if (rj && results_view(rj, &vw)) {
		row->ops_s = vw.ops_per_s;
		row->p99_ms = vw.p99_ns / 1e6;
		row->inflight = json_number_value(json_object_get(
			json_object_get(rj, "summary"), "inflight_peak"));
		symptom_text(json_object_get(rj, "symptoms"), row->symptoms,
			     sizeof(row->symptoms));
	}
	row->rec = rj;
	detail_text(res, row->detail, sizeof(row->detail));
}

/* One cell, one repetition: run it, write its record, print its line. */
static void run_cell(const struct cli *c, struct exec *x,
		     const struct run_spec *s)
{
	struct run_result res;
	struct row *row = &x->rows[x->nrows];
	int rc;

	x->done++;
	if (!c->o.quiet) {
		char left[48] = "";

		/* time left: the mean run so far times the runs to go */
		if (x->done > 1)
			snprintf(left, sizeof(left), "  (~%.0f s left)",
				 (now_s() - x->t_start) / (double)(x->done - 1) *
				 (double)(x->total - x->done + 1));
		/* a child's malloc-trace lines would split the line: end it */
		printf("[%zu/%zu] %s \u00d7 %s  rep %u/%u%s \u2026%s", x->done,
		       x->total, s->inc->name, s->variant, s->rep, x->reps, left,
		       x->trace ? "\n" : " ");
		fflush(stdout);
	}
	rc = gochild_is_go(s->variant) ? gochild_run(s, &res)
				       : runner_run(s, &res);
	if (rc) {
		if (!c->o.quiet)
			printf("harness error\n");
		fprintf(stderr, "maplab %s: %s\n", c->o.cmd, res.error);
		x->failed_write = true;
		return;
	}
	if ((rc = results_add_run(&x->d, s, &res))) {
		fprintf(stderr, "maplab %s: cannot write the record "
			"of %s x %s into %s: %s%s\n", c->o.cmd,
			s->inc->name, s->variant, x->d.path,
			strerror(-rc), folder_gone(rc)
			? "; the folder is gone, stopping" : "");
		x->failed_write = true;
		if (folder_gone(rc))
			x->gone = true;
	}
	x->nrows++;
	row_of(row, s, &res);
	if (!c->o.quiet)
		printf("%s%s%s  %.1f s  peak %.0f MiB%s%s%s%s\n",
		       x->col ? color(res.outcome) : "",
		       run_outcome_name(res.outcome),
		       x->col ? "\033[0m" : "", res.duration_s,
		       row->peak_mib, row->detail[0] ? "  " : "",
		       row->detail, row->symptoms[0] ? "  " : "",
		       row->symptoms);
	runner_result_free(&res);
}

/* The --set options that apply to inc (a matrix spreads them). */
static size_t sets_for(const struct cli *c, const struct incident *inc,
		       const char **sets)
{
	size_t n = 0;

	for (size_t s = 0; s < c->o.nsets; s++) {
		char key[ICTX_NAME_LEN];
		const char *eq = strchr(c->o.sets[s], '=');

		snprintf(key, sizeof(key), "%.*s", (int)(eq - c->o.sets[s]),
			 c->o.sets[s]);
		if (ictx_find_param(inc, key))
			sets[n++] = c->o.sets[s];
	}
	return n;
}

/* Every incident x variant x repetition, in that order, until done,
 * interrupted or the folder is gone. */
static void run_cells(const struct cli *c, struct exec *x)
{
	for (size_t i = 0; i < c->ninc && !runner_interrupted && !x->gone; i++) {
		const char *sets[MAX_SETS];
		size_t nsets = sets_for(c, c->inc[i], sets);

		for (size_t v = 0; v < c->nvar && !runner_interrupted && !x->gone; v++)
			for (unsigned r = 1; r <= x->reps && !runner_interrupted &&
			     !x->gone && (!gochild_is_go(c->var[v]) ||
					  gochild_supports(c->inc[i], c->var[v]));
			     r++) {
				struct run_spec s = {
					.inc = c->inc[i], .variant = c->var[v],
					.rep = r, .threads = c->o.threads,
					.seed = runner_seed(c->o.seed, r),
					.seconds = c->o.seconds, .size = x->size,
					.sets = sets, .nsets = nsets,
					.map_flags = c->o.detect ? MAP_F_DETECT : 0,
					.mem_cap = c->o.mem_cap, .budget = c->o.budget,
					.timeout_s = c->o.timeout,
					.sample_ms = c->o.sample_ms,
					.no_telemetry = c->o.no_telemetry,
					.echo_stderr = c->o.verbose};

				if (shard_owns(&c->o.shard, shard_cell(i, v, r,
						c->nvar, x->reps)))
					run_cell(c, x, &s);
			}
	}
}

static int execute(struct cli *c)
{
	struct exec x = {
		.reps = c->o.reps ? c->o.reps : c->pre ? c->pre->reps : 1,
		.size = c->o.size >= 0 ? (enum ictx_size)c->o.size
			: c->pre ? c->pre->size : ICTX_SIZE_QUICK,
		.col = cli_color(),
	};
	char dirout[PATH_MAX];
	int rc;

	for (size_t i = 0; i < c->ninc; i++) /* Go cells an incident lacks */
		for (size_t v = 0; v < c->nvar; v++)
			for (unsigned r = 1; r <= x.reps; r++)
				if ((!gochild_is_go(c->var[v]) ||
				     gochild_supports(c->inc[i], c->var[v])) &&
				    shard_owns(&c->o.shard, shard_cell(i, v, r,
						c->nvar, x.reps)))
					x.total++;
	if (!(x.rows = calloc(x.total ? x.total : 1, sizeof(*x.rows))))
		return 1;
	if ((rc = open_folder(c, &x, dirout, sizeof(dirout)))) {
		free(x.rows);
		return rc;
	}
	fill_manifest(c, &x);
	runner_install_signals();
	x.trace = getenv("MAPLAB_MALLOC_TRACE") &&
		  strcmp(getenv("MAPLAB_MALLOC_TRACE"), "0");
	x.t_start = now_s();
	if (!c->o.quiet)
		printf("maplab %s: %zu run%s -> %s\n", c->o.cmd, x.total,
		       x.total == 1 ? "" : "s", x.d.path);
	run_cells(c, &x);
	if ((rc = results_close(&x.d, !runner_interrupted && !x.failed_write))) {
		if (!x.gone)
			fprintf(stderr, "maplab %s: cannot finish %s: %s\n",
				c->o.cmd, x.d.path, strerror(-rc));
		x.failed_write = true;
	}
	print_table(x.rows, x.nrows, x.col);
	printf("\nresults: %s%s\n", x.d.path,
	       runner_interrupted ? "  (INCOMPLETE: interrupted)" : "");
	cli_render(x.d.path, c->o.dir, x.nrows && !runner_interrupted &&
		   (c->o.report > 0 || (c->o.report < 0 && isatty(STDOUT_FILENO))));
	for (size_t i = 0; i < x.nrows; i++)
		json_decref(x.rows[i].rec);
	free(x.rows);
	if (runner_interrupted)
		return 128 + runner_interrupted;
	return x.failed_write ? 1 : 0;
}

int matrix_run(const struct matrix_opts *o)
{
	struct cli c = {.o = *o};
	int rc = validate(&c);

	return rc ? rc : execute(&c);
}

/* `maplab run` and `maplab matrix`: argv parsed here, then the typed call. */
static int run_or_matrix_main(const char *cmd, int argc, char **argv)
{
	struct matrix_opts o;
	int rc;

	matrix_opts_init(&o, cmd);
	rc = matrix_parse(&o, argc, argv);
	if (rc)
		return rc < 0 ? 0 : rc;
	return matrix_run(&o);
}

int cli_run_main(int argc, char **argv)
{
	return run_or_matrix_main("run", argc, argv);
}

int cli_matrix_main(int argc, char **argv)
{
	return run_or_matrix_main("matrix", argc, argv);
}

int cli_list_main(int argc, char **argv)
{
	if (argc > 1 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		printf("usage: maplab list\n\nIncidents (with their --set "
		       "parameters: quick / full default, range), map variants "
		       "and matrix presets.\n");
		return 0;
	}
	if (argc > 1)
		return bad("list", "unexpected argument '%s'; try maplab list --help",
			   argv[1]);
	printf("incidents:\n");
	for (size_t i = 0; i < incident_count; i++) {
		const struct incident *inc = incident_table[i];

		printf("  %-10s %s (quick %gs, full %gs)\n", inc->name,
		       inc->summary, inc->quick_seconds, inc->full_seconds);
		for (const struct incident_param *p = inc->params; p && p->name; p++)
			printf("      %-18s %g / %g %s  [%g..%g]%s  %s\n", p->name,
			       p->quick, p->full, p->unit ? p->unit : "", p->min,
			       p->max, p->integer ? " int" : "", p->help ? p->help : "");
	}
	printf("variants:\n");
	for (size_t i = 0; i < map_variant_count(); i++)
		printf("  %-10s %s%s\n", map_variant_at(i)->name,
		       map_variant_at(i)->description,
		       map_variant_at(i)->flags & MAP_V_EXERCISE
			       ? " (exercise: not in the default matrix)" : "");
	printf("Go variants (the incidents' Go twins, `make go`):\n");
	for (size_t i = 0; i < gochild_variant_count(); i++)
		printf("  %s\n", gochild_variant_at(i));
	printf("presets:\n");
	for (size_t i = 0; i < preset_count; i++)
		printf("  %-10s %s\n", presets[i].name, presets[i].help);
	return 0;
}

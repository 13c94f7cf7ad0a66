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

const char *cli_program = "maplab";

void cli_exec_self(char **argv)
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

	if (n > 0) {
		self[n] = '\0';
		execv(self, argv);
	}
	execv("/proc/self/exe", argv);
}

void cli_default_out(char *buf, size_t len, const char *label)
{
	char stamp[32];
	time_t now = time(NULL);
	struct tm tm;

	gmtime_r(&now, &tm); /* UTC, as results_open() names folders */
	strftime(stamp, sizeof(stamp), "%Y%m%d-%H%M%S", &tm);
	snprintf(buf, len, RESULTS_ROOT "/%s-%s", stamp, label);
}

bool cli_color(void)
{
	return !getenv("NO_COLOR") && isatty(STDOUT_FILENO);
}

int cli_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (!s || !isdigit((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end || v < min || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

int cli_parse_size(const char *s, uint64_t *out)
{
	char *end;
	double v;
	uint64_t mul = 1;

	if (!s || !(isdigit((unsigned char)*s) || *s == '.'))
		return -EINVAL;
	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || !isfinite(v) || v < 0)
		return -EINVAL;
	switch (toupper((unsigned char)*end)) {
	case '\0': break;
	case 'K': mul = 1ull << 10; end++; break;
	case 'M': mul = 1ull << 20; end++; break;
	case 'G': mul = 1ull << 30; end++; break;
	case 'T': mul = 1ull << 40; end++; break;
	default: return -EINVAL;
	}
	if (*end == 'i' || *end == 'I')
		end++;
	if (*end == 'b' || *end == 'B')
		end++;
	if (*end || v * (double)mul > 1e18)
		return -EINVAL;
	*out = (uint64_t)(v * (double)mul);
	return 0;
}

int cli_parse_duration(const char *s, double *out)
{
	char *end;
	double v;

	if (!s || !(isdigit((unsigned char)*s) || *s == '.'))
		return -EINVAL;
	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || !isfinite(v))
		return -EINVAL;
	if (!strcmp(end, "") || !strcmp(end, "s"))
		;
	else if (!strcmp(end, "ms"))
		v /= 1000;
	else if (!strcmp(end, "m") || !strcmp(end, "min"))
		v *= 60;
	else if (!strcmp(end, "h"))
		v *= 3600;
	else
		return -EINVAL;
	if (v <= 0 || v > 86400)
		return -EINVAL;
	*out = v;
	return 0;
}

#define MAX_SETS ICTX_MAX_SETS
#define MAX_SEL 64

struct cli {
	const char *cmd;         /* "run" | "matrix" */
	const char *incident_arg, *variant_arg, *preset_arg, *out;
	const char *dir;         /* --dir: the run's folder goes inside it */
	int report;              /* 1 --report, 0 --no-report, -1 a terminal's */
	const char *runtime_arg; /* "c" | "go" | "both"; NULL = c */
	const char *sets[MAX_SETS];
	size_t nsets;
	unsigned threads;        /* 0 = default */
	double seconds;          /* 0 = size default */
	uint64_t seed;
	uint64_t mem_cap, budget;
	double timeout;
	unsigned reps;           /* 0 = preset / 1 */
	int size;                /* -1 = preset / quick */
	bool detect, no_telemetry, verbose, quiet;
	unsigned sample_ms;
	/* resolved */
	const struct incident *inc[MAX_SEL];
	size_t ninc;
	const char *var[MAX_SEL];
	size_t nvar;
	const struct preset *preset;
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

static void names_of_variants(char *buf, size_t len)
{
	size_t n = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < map_variant_count() && n < len; i++)
		n += (size_t)snprintf(buf + n, len - n, "%s%s", i ? ", " : "",
				      map_variant_at(i)->name);
}

/* Split a comma list into the selection; 0 or exit code 2. */
static int select_incidents(struct cli *c)
{
	char names[512], *buf, *save = NULL;
	int rc = 0;

	if (!c->incident_arg) {
		for (size_t i = 0; i < incident_count && i < MAX_SEL; i++)
			c->inc[c->ninc++] = incident_table[i];
		return 0;
	}
	if (!(buf = strdup(c->incident_arg)))
		return bad(c->cmd, "out of memory");
	for (char *t = strtok_r(buf, ",", &save); t && !rc;
	     t = strtok_r(NULL, ",", &save)) {
		const struct incident *inc = incident_find(t);

		if (!inc) {
			names_of_incidents(names, sizeof(names));
			rc = bad(c->cmd, "unknown incident '%s'; choose from: %s",
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
		return bad(c->cmd, "--incident needs a name (or a comma list)");
	return 0;
}

static int select_variants(struct cli *c)
{
	char names[512], *buf, *save = NULL;
	int rc = 0;

	bool want_c = !c->runtime_arg || strcmp(c->runtime_arg, "go");
	bool want_go = c->runtime_arg && strcmp(c->runtime_arg, "c");

	if (!c->variant_arg) {
		for (size_t i = 0; want_c && i < map_variant_count() &&
				   c->nvar < MAX_SEL; i++)
			if (!(map_variant_at(i)->flags & MAP_V_EXERCISE))
				c->var[c->nvar++] = map_variant_at(i)->name;
		for (size_t i = 0; want_go && i < gochild_variant_count() &&
				   c->nvar < MAX_SEL; i++)
			c->var[c->nvar++] = gochild_variant_at(i);
		return 0;
	}
	if (!(buf = strdup(c->variant_arg)))
		return bad(c->cmd, "out of memory");
	for (char *t = strtok_r(buf, ",", &save); t && !rc;
	     t = strtok_r(NULL, ",", &save)) {
		const struct map_variant *v = map_variant_find(t);
		const char *name = NULL;

		for (size_t i = 0; gochild_is_go(t) && i < gochild_variant_count(); i++)
			if (!strcmp(t, gochild_variant_at(i)))
				name = gochild_variant_at(i);
		if (gochild_is_go(t) && !name) {
			rc = bad(c->cmd, "unknown Go variant '%s'; choose from: "
				 "go-unsafe, go-mutex, go-rwlock, go-sharded, "
				 "go-syncmap, go-snapshot (config)", t);
			break;
		}
		if (c->runtime_arg && ((name && !want_go) || (v && !want_c))) {
			rc = bad(c->cmd, "variant '%s' is not of --runtime %s; "
				 "drop one of the two", t, c->runtime_arg);
			break;
		}
		if (!v && !name) {
			names_of_variants(names, sizeof(names));
			rc = bad(c->cmd, "unknown variant '%s'; choose from: %s",
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
		return bad(c->cmd, "--variant needs a name (or a comma list)");
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
	enum ictx_size size = c->size >= 0 ? (enum ictx_size)c->size
			      : c->preset ? c->preset->size : ICTX_SIZE_QUICK;
	uint64_t phys = mem_total();

	for (size_t i = 0; i < c->ninc; i++) {
		const struct incident *inc = c->inc[i];
		double sec = c->seconds > 0 ? c->seconds
			     : size == ICTX_SIZE_FULL ? inc->full_seconds
						      : inc->quick_seconds;
		char err[400];

		if (ictx_check_rules(inc, size, c->sets, c->nsets, err, sizeof(err)))
			return bad(c->cmd, "%s", err);
		if (c->timeout > 0 && c->timeout < sec + 1)
			return bad(c->cmd, "--timeout %gs is too short for %s's "
				   "%gs run (it would always end as a hang); give "
				   "at least %gs or leave the default", c->timeout,
				   inc->name, sec, sec + 1);
	}
	if (phys && c->mem_cap > phys)
		return bad(c->cmd, "--mem-cap %.1f GiB is above this machine's "
			   "memory (%.1f GiB); give a cap below it, e.g. 256M",
			   (double)c->mem_cap / (1 << 30), (double)phys / (1 << 30));
	return 0;
}

enum { O_INC = 256, O_VAR, O_THR, O_SEC, O_SEED, O_CAP, O_BUD, O_TMO,
       O_REPS, O_OUT, O_SET, O_SIZE, O_DET, O_SMS, O_NOTEL, O_PRESET,
       O_DIR, O_REPORT, O_NOREPORT, O_RUNTIME };

static int parse(struct cli *c, int argc, char **argv, bool matrix)
{
	static const struct option lo[] = {
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
		{"verbose", no_argument, 0, 'v'},
		{"quiet", no_argument, 0, 'q'},
		{"help", no_argument, 0, 'h'},
		{0, 0, 0, 0}};
	uint64_t u;
	int ch, rc;

	c->seed = 1;
	c->size = -1;
	c->report = -1;
	opterr = 0;
	optind = 1;
	while ((ch = getopt_long(argc, argv, ":vqh", lo, NULL)) != -1) {
		const char *a = optarg;

		switch (ch) {
		case O_INC: c->incident_arg = a; break;
		case O_VAR: c->variant_arg = a; break;
		case O_RUNTIME:
			if (strcmp(a, "c") && strcmp(a, "go") && strcmp(a, "both"))
				return bad(c->cmd, "--runtime %s: choose c, go or both", a);
			c->runtime_arg = a;
			break;
		case O_PRESET:
			if (!matrix)
				return bad(c->cmd, "--preset belongs to `maplab matrix`");
			c->preset_arg = a;
			break;
		case O_THR:
			if (cli_parse_u64(a, 1, 256, &u))
				return bad(c->cmd, "--threads %s: give a whole number 1-256", a);
			c->threads = (unsigned)u;
			break;
		case O_SEC:
			if (cli_parse_duration(a, &c->seconds))
				return bad(c->cmd, "--seconds %s: give a duration like 5s, 500ms, 2m", a);
			break;
		case O_TMO:
			if (cli_parse_duration(a, &c->timeout))
				return bad(c->cmd, "--timeout %s: give a duration like 30s, 2m", a);
			break;
		case O_SEED:
			if (cli_parse_u64(a, 0, (1ull << 53) - 1, &c->seed))
				return bad(c->cmd, "--seed %s: give a whole number from 0 to 2^53-1", a);
			break;
		case O_CAP:
			if (cli_parse_size(a, &c->mem_cap) || c->mem_cap < (16ull << 20) ||
			    c->mem_cap > (64ull << 30))
				return bad(c->cmd, "--mem-cap %s: give a size from 16M to 64G, e.g. 256M", a);
			break;
		case O_BUD:
			if (cli_parse_size(a, &c->budget) || c->budget < (1ull << 20))
				return bad(c->cmd, "--budget %s: give a size of at least 1M, e.g. 192M", a);
			break;
		case O_REPS:
			if (cli_parse_u64(a, 1, 1000, &u))
				return bad(c->cmd, "--reps %s: give a whole number 1-1000", a);
			c->reps = (unsigned)u;
			break;
		case O_SMS:
			if (cli_parse_u64(a, 1, 10000, &u))
				return bad(c->cmd, "--sample-ms %s: give a whole number 1-10000", a);
			c->sample_ms = (unsigned)u;
			break;
		case O_OUT: c->out = a; break;
		case O_DIR: c->dir = a; break;
		case O_REPORT: c->report = 1; break;
		case O_NOREPORT: c->report = 0; break;
		case O_SET:
			if (c->nsets == MAX_SETS)
				return bad(c->cmd, "too many --set options (at most %d)", MAX_SETS);
			c->sets[c->nsets++] = a;
			break;
		case O_SIZE:
			if (!strcmp(a, "quick"))
				c->size = ICTX_SIZE_QUICK;
			else if (!strcmp(a, "full"))
				c->size = ICTX_SIZE_FULL;
			else
				return bad(c->cmd, "--size %s: choose quick or full", a);
			break;
		case O_DET: c->detect = true; break;
		case O_NOTEL: c->no_telemetry = true; break;
		case 'v': c->verbose = true; break;
		case 'q': c->quiet = true; break;
		case 'h':
			if (matrix)
				usage_matrix(stdout);
			else
				usage_run(stdout);
			return 0 - 1; /* help printed: exit 0 */
		case ':':
			return bad(c->cmd, "%s needs a value; see maplab %s --help",
				   argv[optind - 1], c->cmd);
		default:
			return bad(c->cmd, "unknown option '%s'; see maplab %s --help",
				   argv[optind - 1], c->cmd);
		}
	}
	if (optind < argc)
		return bad(c->cmd, "unexpected argument '%s'; see maplab %s --help",
			   argv[optind], c->cmd);
	if (matrix) {
		c->preset = preset_find(c->preset_arg ? c->preset_arg : "quick");
		if (!c->preset)
			return bad(c->cmd, "unknown preset '%s'; choose quick, ci or full",
				   c->preset_arg);
	} else {
		if (!c->incident_arg)
			return bad(c->cmd, "--incident is required; see maplab list");
		if (!c->variant_arg)
			return bad(c->cmd, "--variant is required; see maplab list");
		if (strchr(c->incident_arg, ',') || strchr(c->variant_arg, ','))
			return bad(c->cmd, "run takes one incident and one variant; use "
				   "`maplab matrix` for lists");
	}
	if ((rc = select_incidents(c)) || (rc = select_variants(c)))
		return rc;
	if (!matrix && gochild_is_go(c->var[0]) &&
	    !gochild_supports(c->inc[0], c->var[0]))
		return bad(c->cmd, "incident %s has no Go twin variant %s "
			   "(go-snapshot is config's); see maplab list",
			   c->inc[0]->name, c->var[0]);
	if (!c->ninc)
		return bad(c->cmd, "no incident is built into this binary");
	if (!c->nvar)
		return bad(c->cmd, "no map variant is built into this binary");
	if (c->budget && c->budget >= (c->mem_cap ? c->mem_cap : RUN_DEFAULT_CAP))
		return bad(c->cmd, "--budget must be below --mem-cap (the RSS cap)");
	/* every --set: valid for the run's incident, or (matrix) for at least
	 * one selected incident that has the key, and valid wherever it is */
	for (size_t s = 0; s < c->nsets; s++) {
		char err[400] = "", key[ICTX_NAME_LEN];
		const char *eq = strchr(c->sets[s], '=');
		bool found = false;

		snprintf(key, sizeof(key), "%.*s",
			 eq ? (int)(eq - c->sets[s]) : 0, c->sets[s]);
		for (size_t i = 0; i < c->ninc; i++) {
			if (matrix && eq && !ictx_find_param(c->inc[i], key))
				continue;
			if (ictx_check_set(c->inc[i], c->sets[s], err, sizeof(err)))
				return bad(c->cmd, "%s", err);
			found = true;
		}
		if (!found)
			return bad(c->cmd, "--set %s: no selected incident has the "
				   "parameter '%s'; see maplab list", c->sets[s], key);
	}
	if ((rc = check_across(c)))
		return rc;
	if (c->out && c->dir)
		return bad(c->cmd, "give --out or --dir, not both (--dir DIR "
			   "names the folder for you inside DIR)");
	if (c->dir && (rc = cli_dir_check(c->dir, c->cmd)))
		return rc;
	if (c->out) {
		char err[600];

		if (results_check_out(c->out, err, sizeof(err)))
			return bad(c->cmd, "%s", err);
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

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A write failed because the results folder (or a part of it) vanished. */
static bool folder_gone(int rc)
{
	return rc == -ENOENT || rc == -ENOTDIR || rc == -ESTALE;
}

static int execute(struct cli *c, int argc, char **argv)
{
	struct results_dir d;
	char err[600];
	unsigned reps = c->reps ? c->reps : c->preset ? c->preset->reps : 1;
	enum ictx_size size = c->size >= 0 ? (enum ictx_size)c->size
			      : c->preset ? c->preset->size : ICTX_SIZE_QUICK;
	size_t total = 0, done = 0, nrows = 0;
	struct row *rows;
	json_t *params = json_object(), *seeds = json_array();
	double max_timeout = 0;
	bool col = cli_color(), failed_write = false, gone = false;
	char dirout[PATH_MAX];
	/* the child's malloc-trace lines go to stderr while it runs: the
	 * progress line ends first so they do not split it */
	bool trace = getenv("MAPLAB_MALLOC_TRACE") &&
		     strcmp(getenv("MAPLAB_MALLOC_TRACE"), "0");
	double t_start;
	uint64_t cap = 0, budget = 0, rlim = 0;
	int rc;

	for (size_t i = 0; i < c->ninc; i++) /* Go cells an incident lacks */
		for (size_t v = 0; v < c->nvar; v++)
			if (!gochild_is_go(c->var[v]) ||
			    gochild_supports(c->inc[i], c->var[v]))
				total += reps;
	rows = calloc(total ? total : 1, sizeof(*rows));
	if (!rows)
		return 1;
	if (c->dir && cli_dir_out(c->dir, c->preset ? c->preset->name : "run",
				  dirout, sizeof(dirout), c->cmd)) {
		free(rows);
		return 2;
	}
	if (c->dir)
		c->out = dirout;
	{
		/* the manifest's command: program name + the subcommand's argv */
		char **full = calloc((size_t)argc + 2, sizeof(*full));

		if (!full) {
			free(rows);
			return 1;
		}
		full[0] = (char *)cli_program;
		for (int i = 0; i < argc; i++)
			full[i + 1] = argv[i];
		rc = results_open(&d, c->out, c->preset ? c->preset->name : "run",
				  c->preset ? "matrix" : "run", argc + 1, full,
				  err, sizeof(err));
		free(full);
	}
	if (rc) {
		fprintf(stderr, "maplab %s: %s\n", c->cmd, err);
		free(rows);
		return rc == -EEXIST || rc == -EBUSY || rc == -EACCES ||
		       rc == -ENOENT || rc == -EINVAL || rc == -ENOTDIR ? 2 : 1;
	}
	for (size_t i = 0; i < c->ninc; i++) {
		json_t *p = json_object();

		params_json(c->inc[i], size, c->sets, c->nsets, p);
		json_object_set_new(params, c->inc[i]->name, p);
		for (size_t v = 0; v < c->nvar; v++) {
			struct run_spec s = {.inc = c->inc[i], .threads = c->threads,
					     .seconds = c->seconds, .size = size,
					     .mem_cap = c->mem_cap, .budget = c->budget,
					     .timeout_s = c->timeout};
			double t, sec;

			runner_caps(&s, &cap, &budget, &rlim, &t, &sec);
			if (t > max_timeout)
				max_timeout = t;
		}
	}
	for (unsigned r = 1; r <= reps; r++)
		json_array_append_new(seeds, json_integer((json_int_t)runner_seed(c->seed, r)));
	json_object_set_new(d.manifest, "preset",
			    c->preset ? json_string(c->preset->name) : json_null());
	json_object_set_new(d.manifest, "size",
			    json_string(size == ICTX_SIZE_FULL ? "full" : "quick"));
	json_object_set_new(d.manifest, "reps", json_integer(reps));
	json_object_set_new(d.manifest, "base_seed", json_integer((json_int_t)c->seed));
	json_object_set_new(d.manifest, "seeds", seeds);
	json_object_set_new(d.manifest, "params", params);
	json_object_set_new(d.manifest, "caps",
			    json_pack("{s:I, s:I, s:o, s:f, s:i, s:s}",
				      "mem_cap_bytes", (json_int_t)cap,
				      "budget_bytes", (json_int_t)budget,
				      "rlimit_as_bytes",
				      rlim ? json_integer((json_int_t)rlim) : json_null(),
				      "timeout_s", max_timeout, "watchdog_ms", 10,
				      "rule",
				      "budget (counted live bytes) < mem_cap (RSS, "
				      "watchdog) < rlimit_as (virtual, plain builds)"));
	json_object_set_new(d.manifest, "incidents", json_array());
	for (size_t i = 0; i < c->ninc; i++)
		json_array_append_new(json_object_get(d.manifest, "incidents"),
				      json_string(c->inc[i]->name));
	json_object_set_new(d.manifest, "variants", json_array());
	for (size_t v = 0; v < c->nvar; v++)
		json_array_append_new(json_object_get(d.manifest, "variants"),
				      json_string(c->var[v]));
	json_object_set_new(d.manifest, "detect", json_boolean(c->detect));
	json_object_set_new(d.manifest, "sample_ms",
			    json_integer(c->no_telemetry ? 0 : c->sample_ms ? c->sample_ms : 10));

	runner_install_signals();
	t_start = now_s();
	if (!c->quiet)
		printf("maplab %s: %zu run%s -> %s\n", c->cmd, total,
		       total == 1 ? "" : "s", d.path);
	for (size_t i = 0; i < c->ninc && !runner_interrupted && !gone; i++) {
		const char *sets[MAX_SETS];
		size_t nsets = 0;

		for (size_t s = 0; s < c->nsets; s++) {
			char key[ICTX_NAME_LEN];
			const char *eq = strchr(c->sets[s], '=');

			snprintf(key, sizeof(key), "%.*s", (int)(eq - c->sets[s]),
				 c->sets[s]);
			if (ictx_find_param(c->inc[i], key))
				sets[nsets++] = c->sets[s];
		}
		for (size_t v = 0; v < c->nvar && !runner_interrupted && !gone; v++)
			for (unsigned r = 1; r <= reps && !runner_interrupted && !gone &&
			     (!gochild_is_go(c->var[v]) ||
			      gochild_supports(c->inc[i], c->var[v]));
			     r++) {
				struct run_spec s = {
					.inc = c->inc[i], .variant = c->var[v],
					.rep = r, .threads = c->threads,
					.seed = runner_seed(c->seed, r),
					.seconds = c->seconds, .size = size,
					.sets = sets, .nsets = nsets,
					.map_flags = c->detect ? MAP_F_DETECT : 0,
					.mem_cap = c->mem_cap, .budget = c->budget,
					.timeout_s = c->timeout,
					.sample_ms = c->sample_ms,
					.no_telemetry = c->no_telemetry,
					.echo_stderr = c->verbose};
				struct run_result res;
				struct row *row = &rows[nrows];

				done++;
				if (!c->quiet) {
					char left[48] = "";

					/* time left: the mean run so far times the
					 * runs still to go */
					if (done > 1)
						snprintf(left, sizeof(left), "  (~%.0f s left)",
							 (now_s() - t_start) / (double)(done - 1) *
							 (double)(total - done + 1));
					printf("[%zu/%zu] %s \u00d7 %s  rep %u/%u%s \u2026%s",
					       done, total, s.inc->name, s.variant, r, reps,
					       left, trace ? "\n" : " ");
					fflush(stdout);
				}
				rc = gochild_is_go(s.variant) ? gochild_run(&s, &res)
							      : runner_run(&s, &res);
				if (rc) {
					if (!c->quiet)
						printf("harness error\n");
					fprintf(stderr, "maplab %s: %s\n", c->cmd, res.error);
					failed_write = true;
					continue;
				}
				if ((rc = results_add_run(&d, &s, &res))) {
					fprintf(stderr, "maplab %s: cannot write the record "
						"of %s x %s into %s: %s%s\n", c->cmd,
						s.inc->name, s.variant, d.path,
						strerror(-rc), folder_gone(rc)
						? "; the folder is gone, stopping" : "");
					failed_write = true;
					if (folder_gone(rc))
						gone = true;
				}
				nrows++;
				snprintf(row->incident, sizeof(row->incident), "%s", s.inc->name);
				snprintf(row->variant, sizeof(row->variant), "%s", s.variant);
				row->rep = r;
				row->outcome = res.outcome;
				row->dur = res.duration_s;
				row->peak_mib = (double)res.peak_rss / (1024.0 * 1024.0);
				{
					json_t *rj = results_run_json(&s, &res);
					struct results_run_view vw;

					row->inflight = NAN;
					if (rj && results_view(rj, &vw)) {
						row->ops_s = vw.ops_per_s;
						row->p99_ms = vw.p99_ns / 1e6;
						row->inflight = json_number_value(json_object_get(
							json_object_get(rj, "summary"),
							"inflight_peak"));
						symptom_text(json_object_get(rj, "symptoms"),
							     row->symptoms, sizeof(row->symptoms));
					}
					row->rec = rj;
				}
				detail_text(&res, row->detail, sizeof(row->detail));
				if (!c->quiet)
					printf("%s%s%s  %.1f s  peak %.0f MiB%s%s%s%s\n",
					       col ? color(res.outcome) : "",
					       run_outcome_name(res.outcome),
					       col ? "\033[0m" : "", res.duration_s,
					       row->peak_mib, row->detail[0] ? "  " : "",
					       row->detail, row->symptoms[0] ? "  " : "",
					       row->symptoms);
				runner_result_free(&res);
			}
	}
	if ((rc = results_close(&d, !runner_interrupted && !failed_write))) {
		if (!gone)
			fprintf(stderr, "maplab %s: cannot finish %s: %s\n",
				c->cmd, d.path, strerror(-rc));
		failed_write = true;
	}
	print_table(rows, nrows, col);
	printf("\nresults: %s%s\n", d.path,
	       runner_interrupted ? "  (INCOMPLETE: interrupted)" : "");
	cli_render(d.path, c->dir, nrows && !runner_interrupted &&
		   (c->report > 0 || (c->report < 0 && isatty(STDOUT_FILENO))));
	for (size_t i = 0; i < nrows; i++)
		json_decref(rows[i].rec);
	free(rows);
	if (runner_interrupted)
		return 128 + runner_interrupted;
	return failed_write ? 1 : 0;
}

int cli_run_main(int argc, char **argv)
{
	struct cli c = {.cmd = "run"};
	int rc = parse(&c, argc, argv, false);

	if (rc)
		return rc < 0 ? 0 : rc;
	return execute(&c, argc, argv);
}

int cli_matrix_main(int argc, char **argv)
{
	struct cli c = {.cmd = "matrix"};
	int rc = parse(&c, argc, argv, true);

	if (rc)
		return rc < 0 ? 0 : rc;
	return execute(&c, argc, argv);
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

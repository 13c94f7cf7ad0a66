/*
 * harness/lanes/envelope_impl.h - what envelope.c (options, one probe,
 * the one-machine search, the table) and envelope_rounds.c (the search
 * across shards, round by round) share.  Not for other modules.
 * Single-threaded: one struct env per command, owned by envelope_main.
 */
#ifndef MAPLAB_ENVELOPE_IMPL_H
#define MAPLAB_ENVELOPE_IMPL_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "harness/cli/shard.h"
#include "harness/lanes/envelope_search.h"
#include "harness/runtime/ictx.h"
#include "harness/store/results.h"
#include "incidents/registry.h"

#define ENV_MAX_VAR 16
#define ENV_MAX_PROBES 64

struct env_var {
	const char *name;
	struct env_probe p[ENV_MAX_PROBES];
	size_t n;
	struct env_step st;
	bool failed;              /* a probe ended with no verdict (error) */
};

struct env {
	const struct incident *inc;
	const struct incident_param *param;
	struct env_cfg cfg;
	double growth;            /* MiB/s while loaded that counts as unbounded */
	double seconds;
	uint64_t seed;
	const char *out, *sets[ICTX_MAX_SETS];
	size_t nsets;
	bool quiet, report;
	struct env_var var[ENV_MAX_VAR];
	size_t nvar;
	/* across shards (envelope_rounds.c): --rounds DIR with --shard I/N,
	 * --pending or --merge */
	const char *rounds;
	struct shard shard;
	bool pending, merge;
};

/* One probe's outcome, for the caller to keep. */
struct env_outcome {
	int tipped;               /* 1, 0, or -1: no verdict (error) */
	double growth;
	const char *outcome;      /* run_outcome_name() */
};

/* "maplab envelope: <message>" on stderr; returns 2. */
int env_bad(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Run variant v at x as its probe number `rep` (from 1), the same-th run
 * at x so far (seed of repetition same + 1), into d.  0 or -errno. */
int env_run_probe(struct env *e, struct results_dir *d, struct env_var *v,
		  double x, unsigned rep, unsigned same, size_t k, size_t total,
		  struct env_outcome *out);
/* The manifest's plan and "envelope" object (the search and results). */
void env_write_manifest(const struct env *e, json_t *m);
void env_print_table(const struct env *e);
/* Render dir's report (report_render, quiet: its path and notes only);
 * a failure is said on stderr and leaves the folder as it was. */
void env_report(const char *dir);
/* --rounds DIR: a shard's share of the next round, --pending or --merge.
 * The exit status. */
int env_rounds_main(struct env *e, int argc, char **argv);

#endif

/*
 * harness/cli/cli.h - the list, run and matrix subcommands, and the typed
 * call other subcommands (ci, tsan, diagnose) use to run a matrix:
 * matrix_run(&opts).  The shared option parsers are in opts.h.
 */
#ifndef MAPLAB_HARNESS_CLI_H
#define MAPLAB_HARNESS_CLI_H

#include "harness/cli/shard.h"
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "harness/runtime/ictx.h"

int cli_list_main(int argc, char **argv);
int cli_run_main(int argc, char **argv);
int cli_matrix_main(int argc, char **argv);

#define MATRIX_MAX_SETS ICTX_MAX_SETS

/* What `maplab run` or `maplab matrix` is asked to do: their options,
 * typed.  Zero means "the default" throughout, except seed, size and
 * report: start from matrix_opts_init(). */
struct matrix_opts {
	const char *cmd;       /* "run" (one incident, one variant, no preset)
				* or "matrix"; messages start "maplab <cmd>:" */
	const char *preset;    /* matrix: "quick" (NULL), "ci" or "full" */
	const char *incidents; /* comma list; NULL: every incident (matrix) */
	const char *variants;  /* comma list; NULL: all but exercise ones */
	const char *out;       /* results folder; NULL: results/<id> */
	const char *dir;       /* the folder goes inside this one, or NULL */
	const char *runtime;   /* default variants: "c" (NULL), "go", "both" */
	int report;            /* render after the runs: 1 yes, 0 no, -1 when
				* stdout is a terminal (matrix_opts_init) */
	const char *sets[MATRIX_MAX_SETS]; /* "key=value" overrides */
	size_t nsets;
	unsigned threads;      /* 0: the default */
	unsigned reps;         /* 0: the preset's, or 1 */
	unsigned sample_ms;    /* 0: 10 */
	double seconds;        /* 0: the size's */
	double timeout;        /* 0: seconds + max(5 s, seconds) */
	uint64_t seed;         /* base seed (1) */
	uint64_t mem_cap;      /* RSS cap; 0: RUN_DEFAULT_CAP */
	uint64_t budget;       /* allocator budget; 0: 3/4 of the cap */
	int size;              /* enum ictx_size; -1: the preset's, or quick */
	bool detect, no_telemetry, verbose, quiet;
	struct shard shard;    /* matrix --shard I/N; count 0: every cell */
	/* The command recorded in the manifest, without the program name;
	 * NULL: the options above, written out as `maplab run|matrix` ones. */
	int argc;
	char **argv;
};

void matrix_opts_init(struct matrix_opts *o, const char *cmd);
/* The options of `maplab run|matrix` (o->cmd says which) from argv into o;
 * 0, -1 when --help was printed (exit 0), or 2 (bad input, one line
 * printed).  Only the syntax: names and rules are matrix_run's. */
int matrix_parse(struct matrix_opts *o, int argc, char **argv);
/* Check everything (exit 2 with one line, nothing written), then run each
 * cell in its own capped child and write the results folder.  0 whatever
 * the children did; 1 when results could not be written; 128 + signal
 * when interrupted. */
int matrix_run(const struct matrix_opts *o);

#endif

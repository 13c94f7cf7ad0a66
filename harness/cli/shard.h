/*
 * harness/cli/shard.h - `--shard I/N`: which cells of a plan one machine
 * runs, so that N machines together run every cell exactly once.
 *
 * A plan's cells are numbered in the order an unsharded matrix runs them:
 * cell = (incident * nvariants + variant) * reps + (rep - 1).  Shard I of N
 * owns the cells with cell % N == I.  Seeds do not depend on the shard
 * (rep r uses splitmix64(seed + r) everywhere), so the union of the N
 * shards is the unsharded run, cell for cell and seed for seed.  Every
 * machine must be given the same plan (selection, reps, seed): the shard's
 * manifest records the plan, and the merge (harness/store/merge.c) refuses
 * shards of different plans, overlapping shards and missing ones.
 *
 * Pure functions, no state: safe from any thread.
 */
#ifndef MAPLAB_HARNESS_SHARD_H
#define MAPLAB_HARNESS_SHARD_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#define SHARD_MAX 1000

struct shard {
	unsigned index; /* 0 .. count-1 */
	unsigned count; /* 0: not sharded (owns everything) */
};

/* Parse "I/N" (0 <= I < N <= SHARD_MAX).  0, or -EINVAL with one line in
 * err saying what is wrong and how to fix it. */
int shard_parse(const char *s, struct shard *out, char *err, size_t errlen);
/* The plan's number of a cell (rep counts from 1). */
size_t shard_cell(size_t incident, size_t variant, unsigned rep,
		  size_t nvariants, unsigned reps);
/* Does shard s run cell number `cell`? */
bool shard_owns(const struct shard *s, size_t cell);
/* How many of `total` cells shard s runs. */
size_t shard_share(const struct shard *s, size_t total);
/* {"index": I, "count": N, "cells_total": total, "cells": share} for the
 * manifest; NULL when s is not sharded.  New reference. */
json_t *shard_json(const struct shard *s, size_t total);

#endif

/*
 * harness/cli/shard.c - `--shard I/N` (see shard.h): parsing and the
 * assignment of a plan's cells to shards.
 *
 * Invariant: for every count N and every cell c, exactly one index I in
 * [0, N) has shard_owns({I, N}, c) (c % N == I); tests/check_shard.c checks
 * it over plans of every shape.  No state, no locks.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "harness/cli/shard.h"

static int whole(const char *s, const char **end, unsigned long *v)
{
	char *e;

	if (!isdigit((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	*v = strtoul(s, &e, 10);
	if (errno || *v > SHARD_MAX)
		return -EINVAL;
	*end = e;
	return 0;
}

int shard_parse(const char *s, struct shard *out, char *err, size_t n)
{
	unsigned long i, c;
	const char *p;

	if (!s || whole(s, &p, &i) || *p != '/' || whole(p + 1, &p, &c) || *p) {
		snprintf(err, n, "--shard %s: give I/N, this machine's share I "
			 "(from 0) of N shards, e.g. --shard 0/4", s ? s : "");
		return -EINVAL;
	}
	if (c < 1) {
		snprintf(err, n, "--shard %s: N must be at least 1, e.g. "
			 "--shard 0/4", s);
		return -EINVAL;
	}
	if (i >= c) {
		snprintf(err, n, "--shard %s: I must be below N (shards are "
			 "numbered 0 to %lu), e.g. --shard %lu/%lu", s, c - 1,
			 c - 1, c);
		return -EINVAL;
	}
	out->index = (unsigned)i;
	out->count = (unsigned)c;
	return 0;
}

size_t shard_cell(size_t incident, size_t variant, unsigned rep,
		  size_t nvariants, unsigned reps)
{
	return (incident * nvariants + variant) * reps + (rep - 1);
}

bool shard_owns(const struct shard *s, size_t cell)
{
	return !s || !s->count || cell % s->count == s->index;
}

size_t shard_share(const struct shard *s, size_t total)
{
	if (!s || !s->count)
		return total;
	return total / s->count + (s->index < total % s->count);
}

json_t *shard_json(const struct shard *s, size_t total)
{
	if (!s || !s->count)
		return NULL;
	return json_pack("{s:i, s:i, s:I, s:I}", "index", (int)s->index,
			 "count", (int)s->count, "cells_total", (json_int_t)total,
			 "cells", (json_int_t)shard_share(s, total));
}

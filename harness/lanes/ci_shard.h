/*
 * harness/lanes/ci_shard.h - `maplab ci --shard I/N`: the checks and the
 * closing words of one shard of the gate (the gate judges the merged
 * folders, `maplab ci --judge DIR1 DIR2 ...`).
 */
#ifndef MAPLAB_CI_SHARD_H
#define MAPLAB_CI_SHARD_H

#include <stdbool.h>

/* 0, or 2 after one line on stderr: a malformed --shard, or --shard with
 * --judge (a judge runs nothing). */
int ci_check_shard(const char *shard, const char *judge);
/* After the shard's matrix (exit code rc): render its report when asked,
 * say how to merge, return the exit code (0 when rc was 0). */
int ci_shard_done(const char *out, const char *shard, int rc, bool report);

#endif

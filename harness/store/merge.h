/*
 * harness/store/merge.h - one results folder out of several (machines,
 * shards): `maplab report DIR1 DIR2 ...` and `maplab ci --judge DIR1 DIR2
 * ...` render and judge the merged folder like any other.
 */
#ifndef MAPLAB_HARNESS_MERGE_H
#define MAPLAB_HARNESS_MERGE_H

#include <stddef.h>

/*
 * Check dirs[0..n) (n >= 2) and merge them into a new folder: `out`, or
 * results/<date>-<time>-merged when NULL; its path is written to merged.
 * Each run record is copied with a "source" object (its folder's path,
 * run id, host, git, build, machine, shard); the manifest's "sources"
 * lists every input folder with the SHA-256 of its files (so the report's
 * citation hash covers them all) and "merge.warnings" says when commits
 * or builds differ.
 *
 * Refused before anything is written, with one line in err and -EINVAL:
 * a folder given twice, one that is incomplete, folders of different
 * schema versions (lab versions), the same cell in two folders
 * (overlapping shards), a shard missing from a set of N, shards of
 * different plans, a mix of shards and plain folders.  -EEXIST/-EBUSY/
 * -EACCES when `out` is not usable (message), another -errno on a write
 * failure.
 */
int results_merge(const char *const *dirs, size_t n, const char *out,
		  int argc, char **argv, char *merged, size_t mergedlen,
		  char *err, size_t errlen);

/*
 * The same for the round folders of a sharded envelope search
 * (harness/lanes/envelope_rounds.c, which checks the rounds and then
 * writes the merged envelope summary): a shard is named by its round and
 * index.  results_merge refuses round folders, this refuses any other.
 */
int results_merge_rounds(const char *const *dirs, size_t n, const char *out,
			 int argc, char **argv, char *merged, size_t mergedlen,
			 char *err, size_t errlen);

#endif

/*
 * harness/cli/opts.h - the option parsers every subcommand shares (sizes
 * like 256M, durations like 5s, whole numbers), the default results folder
 * name and the colour switch.  Defined in opts.c, which links nothing of
 * the run/matrix subcommands: lanes and bench include this, not cli.h.
 */
#ifndef MAPLAB_HARNESS_CLI_OPTS_H
#define MAPLAB_HARNESS_CLI_OPTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* argv[0] of the process (main sets it), so manifests record the exact
 * command line; "maplab" until set. */
extern const char *cli_program;

/* "256M", "1G", "512K", "1048576": bytes.  0 or -EINVAL. */
int cli_parse_size(const char *s, uint64_t *out);
/* "5s", "500ms", "2m", "1.5": seconds (> 0).  0 or -EINVAL. */
int cli_parse_duration(const char *s, double *out);
/* Whole number within [min, max].  0 or -EINVAL. */
int cli_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out);
/* Re-execute this binary by its real path (so that /proc comm and ps show
 * "maplab", not "exe"); returns only on failure (errno set).  Only for a
 * process that must start afresh (the TSan lane: TSAN_OPTIONS is read at
 * process start); a subcommand calls another through its typed function. */
void cli_exec_self(char **argv);
/* A fresh results folder name, "results/<date>-<time>-<label>", the way
 * results_open() names one, for subcommands that must know it up front. */
void cli_default_out(char *buf, size_t len, const char *label);
/* true unless NO_COLOR is set (to anything) or stdout is not a tty. */
bool cli_color(void);

#endif

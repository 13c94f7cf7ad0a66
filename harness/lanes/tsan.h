/* harness/lanes/tsan.h - the `maplab tsan` subcommand. */
#ifndef MAPLAB_TSAN_H
#define MAPLAB_TSAN_H

#include <stdbool.h>
#include <stddef.h>

int tsan_main(int argc, char **argv);

/* The lane's check of one cell, a pure function: TSan's report count and
 * the memory verdict (shown: > 0 the symptom showed, 0 the cell held,
 * < 0 the run failed) against what the variant should draw (unsafe:
 * races, or at least the symptom; a safe variant: no report, and the
 * symptom when its rule says it reproduces).  Whether the cell passes;
 * the reason, one phrase, into check (len bytes). */
bool tsan_check_cell(bool unsafe, bool reproduces, unsigned reports,
		     int shown, char *check, size_t len);

#endif

/*
 * harness/cli/presets.h - the matrix presets, defined in one place
 * (harness/cli/presets.c): which size, how many repetitions, and why.
 */
#ifndef MAPLAB_HARNESS_PRESETS_H
#define MAPLAB_HARNESS_PRESETS_H

#include "harness/runtime/ictx.h"

struct preset {
	const char *name;
	const char *help;     /* one line */
	enum ictx_size size;
	unsigned reps;
	double seconds_scale; /* x the incident's seconds for the size */
};

extern const struct preset presets[];
extern const size_t preset_count;
const struct preset *preset_find(const char *name);

#endif

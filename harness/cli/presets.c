/*
 * harness/cli/presets.c - This file contains the one table of matrix presets.
 *
 * Budgets (2 cores): quick runs every incident x every non-exercise variant
 * once at the incidents' quick size (each quick run <= 5 s by contract,
 * typically ~3 s: 18 cells in <= 90 s).  ci runs the same cells 4 times
 * each (4 x 18 x ~4 s plus process overhead: ~5 min, within CI's 10 min;
 * k-of-n reproduction needs n > 1).  full uses the full sizes (>= 60 s per
 * run), once.  No state.
 */
#include <string.h>

#include "harness/cli/presets.h"

const struct preset presets[] = {
	{"quick", "every cell once, quick size (<= 90 s on 2 cores)",
	 ICTX_SIZE_QUICK, 1, 1.0},
	{"ci", "every cell 4 times, quick size (<= 10 min on 2 cores)",
	 ICTX_SIZE_QUICK, 4, 1.0},
	{"full", "every cell once, full size (>= 60 s per run)", ICTX_SIZE_FULL,
	 1, 1.0},
};

const size_t preset_count = sizeof(presets) / sizeof(presets[0]);

const struct preset *preset_find(const char *name)
{
	for (size_t i = 0; name && i < preset_count; i++)
		if (!strcmp(presets[i].name, name))
			return &presets[i];
	return NULL;
}

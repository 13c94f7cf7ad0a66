/*
 * tests/expect_testutil.h - judging one cell of a folder's runs in a test,
 * as `maplab ci` does: the expectations' ratio rules bound to those runs
 * (expect_bind), then the cell's rule over the runs of that incident x
 * variant (expect_judge).  Used by check_ci (C cells) and check_gochild
 * (Go cells).  No state.
 */
#ifndef MAPLAB_EXPECT_TESTUTIL_H
#define MAPLAB_EXPECT_TESTUTIL_H

#include <jansson.h>

#include "harness/verdict/expect.h"

/* Judge inc x var over runs (all of a folder) against exp into v; a test
 * failure when the expectations cannot be bound. */
void et_judge_cell(const json_t *exp, const json_t *runs, const char *inc,
		   const char *var, struct expect_verdict *v);

#endif

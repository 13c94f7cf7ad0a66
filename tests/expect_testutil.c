/*
 * tests/expect_testutil.c - see expect_testutil.h.  No state.
 */
#include <check.h>
#include <string.h>

#include "tests/expect_testutil.h"

void et_judge_cell(const json_t *exp, const json_t *runs, const char *inc,
		   const char *var, struct expect_verdict *v)
{
	json_t *bound = expect_bind(exp, runs), *cell = json_array(), *r;
	size_t i;

	ck_assert_ptr_nonnull(bound);
	json_array_foreach((json_t *)runs, i, r)
		if (!strcmp(json_string_value(json_object_get(r, "incident")), inc) &&
		    !strcmp(json_string_value(json_object_get(r, "variant")), var))
			json_array_append(cell, r);
	expect_judge(expect_rule(bound, inc, var), cell, v);
	json_decref(cell);
	json_decref(bound);
}

/*
 * tests/ck_run.c - the one main() body of every Check suite binary; see
 * tests/ck_run.h.  Single-threaded, no shared state.
 */
#include <stdlib.h>

#include "tests/ck_run.h"

int ck_run(Suite *s)
{
	SRunner *sr = srunner_create(s);
	int failed;

	srunner_set_fork_status(sr, CK_FORK);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

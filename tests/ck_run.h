/*
 * tests/ck_run.h - what every Check suite binary in tests/ shares: running
 * a suite, and how a sanitizer build ends a child it caught.
 *
 * ck_run() runs every test of a suite, each in its own forked process
 * (CK_FORK, whatever CK_FORK in the environment says: the suites rely on
 * it for timeouts and for children that crash on purpose), and returns
 * the process exit status: EXIT_SUCCESS when no test failed.
 *
 * CK_UNDER_SANITIZER is defined in ASan/TSan builds (shadow memory: no
 * RLIMIT_AS there).  CK_SANITIZER_EXIT is the status a sanitizer ends a
 * child with after it reports: ASan/UBSan print and exit 1, TSan's _exit
 * hook turns the child's exit 0 into 66.  A test whose child has statuses
 * of its own that differ from these reads that status as the sanitizer's
 * finding; in a plain build it is -1, which no child exits with.
 */
#ifndef MAPLAB_CK_RUN_H
#define MAPLAB_CK_RUN_H

#include <check.h>

#if defined(__SANITIZE_ADDRESS__)
#define CK_UNDER_SANITIZER 1
#define CK_SANITIZER_EXIT 1
#elif defined(__SANITIZE_THREAD__)
#define CK_UNDER_SANITIZER 1
#define CK_SANITIZER_EXIT 66
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define CK_UNDER_SANITIZER 1
#define CK_SANITIZER_EXIT 1
#elif __has_feature(thread_sanitizer)
#define CK_UNDER_SANITIZER 1
#define CK_SANITIZER_EXIT 66
#endif
#endif
#ifndef CK_SANITIZER_EXIT
#define CK_SANITIZER_EXIT (-1) /* no sanitizer: no such status */
#endif

/* Run suite s (and free it); EXIT_SUCCESS when every test passed. */
int ck_run(Suite *s);

#endif

/*
 * tests/maps_stable.h - what the RCU and syncmap suites
 * (tests/check_rcu.c, tests/check_syncmap.c) share: a counted map opened
 * and closed with its books checked, and the stable-key workload: STABLE keys
 * that are overwritten but never deleted, read by two reader threads while
 * two writer threads overwrite them and churn short-lived keys.
 *
 * What it asserts: a reader always finds a stable key, and finds the value
 * stored under it (a replaced or reclaimed value would show as a miss or
 * a foreign key); every write succeeds.  After stable_run the map holds
 * STABLE + 2 * STABLE_CHURN_LEFT keys (each writer leaves its last 16
 * churn keys).  Threads enter and exit the map (RCU needs registered
 * threads).  stable_range_run walks the map during the same stores.
 * Values are tests/maps_testutil.h's counted mt_val.
 */
#ifndef MAPLAB_TESTS_MAPS_STABLE_H
#define MAPLAB_TESTS_MAPS_STABLE_H

#include <stdbool.h>
#include <stddef.h>

#include "maps/map.h"

/* Open variant with tests/maps_testutil.h's counted values and enter it
 * on this thread, noting what the counting allocator holds before. */
struct map *counted_open(const char *variant);
/* map_check, leave and close m, then check that every value reference
 * and every allocated byte since counted_open was given back. */
void counted_close(struct map *m);

#define STABLE 256
#define STABLE_CHURN_LEFT 16

/* The name of stable key i ("stable-<i>") into k. */
void stable_key(char *k, size_t n, int i);

/* Put every stable key i with the value (key i, version 0). */
void stable_fill(struct map *m);

/* Two readers and two writers of iters rounds each, to the writers' end;
 * fails the test on any bad read or failed write.  churn_if_absent: the
 * writers add their churn keys with put_if_absent (else with put). */
void stable_run(struct map *m, int iters, bool churn_if_absent);

/* One ranger thread walks the map `walks` times (every fourth walk
 * stores into it from its callback) while one writer runs iters rounds;
 * fails the test unless every walk saw each stable key exactly once and
 * every store succeeded.  Leaves STABLE + STABLE_CHURN_LEFT keys. */
void stable_range_run(struct map *m, int walks, int iters,
		      bool churn_if_absent);

#endif

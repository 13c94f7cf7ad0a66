/*
 * tests/exercise_probe.h - the exercise's lock check: for each place of
 * maps/exercise.c marked EXERCISE n, one deterministic probe that the
 * operation waits while another thread holds the map inside a write.
 */
#ifndef MAPLAB_TESTS_EXERCISE_PROBE_H
#define MAPLAB_TESTS_EXERCISE_PROBE_H

#include <stddef.h>

#include "maps/map.h"

/* The places, in the order of maps/exercise.c. */
enum ep_place {
	EP_GET = 1, EP_GET_WITH, EP_PUT, EP_PUT_IF_ABSENT, EP_DELETE, EP_RANGE,
	EP_LEN, EP_STATS, EP_CHECK, EP_COUNT
};

/* The marker number in maps/exercise.c ("EXERCISE n") and the operation's
 * name, for messages. */
int ep_exercise_number(enum ep_place p);
const char *ep_name(enum ep_place p);

/*
 * Open a map of variant v and probe place p: a holder thread stops inside
 * a write (map_delete, or an overwriting map_put when p is the delete
 * itself: the value's release hook parks it there, where every correct
 * solution still holds its lock), then a prober thread calls p's
 * operation on another key.  1: the prober waited (seen blocked in a
 * futex wait, or still running after 5 s: a spinning lock); 0: the
 * operation returned while the holder was inside the write, i.e. p takes
 * no lock (or not the one the write takes), why says so; negative errno
 * when the probe itself could not run (why says why).
 */
int exercise_probe(const struct map_variant *v, enum ep_place p, char *why,
		   size_t n);

#endif

/*
 * tests/maps_testutil.h - helpers for the map test suites: a
 * reference-counted test value whose retains and releases are counted
 * globally, so a suite can assert that every reference was given back.
 *
 * Values are allocated with plain calloc (not the counting allocator), so
 * budget tests constrain only what the maps allocate.  Thread-safe: the
 * refcount and the counters are atomics.  A release past zero or on a
 * freed value aborts (double release is a real bug, never tolerated).
 */
#ifndef MAPLAB_MAPS_TESTUTIL_H
#define MAPLAB_MAPS_TESTUTIL_H

#include <stdatomic.h>
#include <stdint.h>

#include "maps/map.h"

struct mt_val {
	uint64_t magic;     /* MT_MAGIC while alive */
	_Atomic long refs;  /* references held */
	uint64_t key;       /* what the test stored it under */
	uint64_t version;   /* which write produced it */
};

#define MT_MAGIC 0x7465737476616c31ull /* "testval1" */

/* The vops every test passes in map_config. */
extern const struct map_value_ops mt_vops;

/* New value with one reference (the caller's). */
struct mt_val *mt_val_new(uint64_t key, uint64_t version);
void mt_val_release(struct mt_val *v);
/* Aborts unless v looks like a live test value. */
void mt_val_assert(const struct mt_val *v);

/* The variants a suite loops over, as registry indexes into idx (at most
 * max): those named in $MAPLAB_VARIANTS (a comma list; `./run.sh exercise`
 * sets it to "exercise"), else every variant whose flags include
 * need_flags.  An unknown name aborts with a message.  Returns the count. */
int mt_select_variants(size_t *idx, int max, unsigned need_flags);
/* true when $MAPLAB_VARIANTS narrows the suites (variant-independent
 * tests are then skipped). */
int mt_variants_filtered(void);

/* Values created minus values destroyed. */
long mt_live(void);
uint64_t mt_created(void);

#endif

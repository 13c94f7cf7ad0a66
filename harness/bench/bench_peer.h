/*
 * harness/bench/bench_peer.h - the benchmark's peers: maps that are not maplab
 * variants, measured side by side with them (private to harness/bench*.c).
 *
 * A peer is one file harness/bench_<name>.c exporting one
 * `const struct bench_peer bench_peer_<name>`; bench.c lists them.  A peer
 * keeps map.h's contract so the benchmark drives it exactly like a variant:
 *   - keys are byte strings copied into the map; the benchmark always
 *     passes a key with a NUL byte at key[klen] (so a peer may use C-string
 *     hashing, as everyday code does);
 *   - values are reference-counted through the vops given to open():
 *     get hands back a retained reference, get_with lends the value to a
 *     callback under the peer's read guard (map.h's borrowed read: no
 *     retain, no release), put takes the caller's, delete
 *     and overwrite release the map's (possibly after a grace period);
 *     after close every retain has had its release;
 *   - errors are 0 or -errno (-ENOENT for a missing key, -ENOMEM when an
 *     allocation is refused);
 *   - a thread calls thread_enter before its first call and thread_exit
 *     after its last; open and close may be called from any thread (close
 *     only when no other thread uses the map).
 * Every peer is safe for concurrent use.  Memory goes through the counting
 * allocator under ML_TAG_BENCH where the peer controls it (GLib's own
 * table arrays do not: bench.c says so where it reports bytes per entry).
 */
#ifndef MAPLAB_BENCH_PEER_H
#define MAPLAB_BENCH_PEER_H

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

#include "maps/map.h"
#include "maps/util.h"

struct bench_peer {
	const char *name;
	const char *description; /* one line */
	/* capacity_hint: expected entries (0 = small), as in map_config */
	int (*open)(const struct map_value_ops *vops, size_t capacity_hint,
		    void **out);
	void (*close)(void *h);
	int (*get)(void *h, const void *key, size_t klen, void **val);
	int (*get_with)(void *h, const void *key, size_t klen, map_read_fn fn,
			void *arg);
	int (*put)(void *h, const void *key, size_t klen, void *val);
	int (*del)(void *h, const void *key, size_t klen);
	size_t (*len)(void *h);
	void (*thread_enter)(void *h);
	void (*thread_exit)(void *h);
};

extern const struct bench_peer bench_peer_glib;
extern const struct bench_peer bench_peer_lfht;
extern const struct bench_peer bench_peer_ck;

#endif

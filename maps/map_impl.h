/*
 * maps/map_impl.h - what a variant implements; private to maps/.
 *
 * A variant's own struct starts with `struct map base;` so that the public
 * wrappers in map.c can dispatch.  Each variant file exports exactly one
 * `const struct map_variant map_variant_<name>` and keeps all else static.
 * Optional ops may be NULL: thread_enter/exit, check.
 */
#ifndef MAPLAB_MAP_IMPL_H
#define MAPLAB_MAP_IMPL_H

#include <stdio.h>
#include <stdlib.h>

#include "maps/map.h"
#include "maps/mutant.h"
#include "maps/util.h" /* ML_CHECK_PTHREAD, for every variant */

struct map {
	const struct map_variant *variant; /* set by map_open(); immutable */
};

struct map_ops {
	int (*open)(const struct map_config *cfg, struct map **out);
	void (*close)(struct map *m);
	int (*get)(struct map *m, const void *key, size_t klen, void **val);
	/* Mandatory: the borrowed read of map.h (fn under the read guard). */
	int (*get_with)(struct map *m, const void *key, size_t klen,
			map_read_fn fn, void *arg);
	int (*put)(struct map *m, const void *key, size_t klen, void *val);
	int (*put_if_absent)(struct map *m, const void *key, size_t klen,
			     void *val, void **existing);
	int (*del)(struct map *m, const void *key, size_t klen);
	int (*range)(struct map *m, map_range_fn fn, void *arg);
	size_t (*len)(struct map *m);
	void (*thread_enter)(struct map *m);
	void (*thread_exit)(struct map *m);
	void (*stats)(struct map *m, struct map_stats *st);
	int (*check)(struct map *m, struct map_check *out);
};

#endif

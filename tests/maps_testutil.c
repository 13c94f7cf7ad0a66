/*
 * tests/maps_testutil.c - This file contains the reference-counted test
 * value of maps_testutil.h.  Counters are process-wide atomics (relaxed:
 * they are read after the threads that update them are joined, and the
 * join orders them); the refcount uses acq_rel on release so the thread
 * that frees a value sees every other thread's last use of it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/maps_testutil.h"

static _Atomic uint64_t created, destroyed;

struct mt_val *mt_val_new(uint64_t key, uint64_t version)
{
	struct mt_val *v = calloc(1, sizeof(*v));

	if (!v)
		abort();
	v->magic = MT_MAGIC;
	atomic_init(&v->refs, 1);
	v->key = key;
	v->version = version;
	atomic_fetch_add_explicit(&created, 1, memory_order_relaxed);
	return v;
}

void mt_val_assert(const struct mt_val *v)
{
	if (!v || v->magic != MT_MAGIC ||
	    atomic_load_explicit(&v->refs, memory_order_relaxed) <= 0) {
		fprintf(stderr, "maps_testutil: bad test value %p\n",
			(const void *)v);
		abort();
	}
}

static void retain_cb(void *val, void *ctx)
{
	struct mt_val *v = val;

	(void)ctx;
	mt_val_assert(v);
	/* relaxed: taking a reference from one we hold orders nothing. */
	atomic_fetch_add_explicit(&v->refs, 1, memory_order_relaxed);
}

void mt_val_release(struct mt_val *v)
{
	long before;

	mt_val_assert(v);
	before = atomic_fetch_sub_explicit(&v->refs, 1, memory_order_acq_rel);
	if (before <= 0) {
		fprintf(stderr, "maps_testutil: release past zero %p\n",
			(void *)v);
		abort();
	}
	if (before == 1) {
		v->magic = 0;
		free(v);
		atomic_fetch_add_explicit(&destroyed, 1, memory_order_relaxed);
	}
}

static void release_cb(void *val, void *ctx)
{
	(void)ctx;
	mt_val_release(val);
}

const struct map_value_ops mt_vops = {
	.retain = retain_cb,
	.release = release_cb,
	.ctx = NULL,
};

long mt_live(void)
{
	return (long)(atomic_load_explicit(&created, memory_order_relaxed) -
		      atomic_load_explicit(&destroyed, memory_order_relaxed));
}

uint64_t mt_created(void)
{
	return atomic_load_explicit(&created, memory_order_relaxed);
}

int mt_variants_filtered(void)
{
	const char *e = getenv("MAPLAB_VARIANTS");

	return e && *e;
}

int mt_select_variants(size_t *idx, int max, unsigned need_flags)
{
	const char *e = getenv("MAPLAB_VARIANTS");
	int n = 0;

	if (!mt_variants_filtered()) {
		for (size_t i = 0; i < map_variant_count() && n < max; i++)
			if ((map_variant_at(i)->flags & need_flags) == need_flags)
				idx[n++] = i;
		return n;
	}
	while (*e && n < max) {
		size_t len = strcspn(e, ",");
		size_t i;

		for (i = 0; i < map_variant_count(); i++)
			if (strlen(map_variant_at(i)->name) == len &&
			    !strncmp(map_variant_at(i)->name, e, len))
				break;
		if (i == map_variant_count()) {
			fprintf(stderr, "MAPLAB_VARIANTS: unknown variant '%.*s'\n",
				(int)len, e);
			abort();
		}
		idx[n++] = i;
		e += len + (e[len] == ',');
	}
	return n;
}

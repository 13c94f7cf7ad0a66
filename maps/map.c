/*
 * maps/map.c - the variant registry and the public dispatch wrappers.
 *
 * The registry is generated from maps/variants.def; nothing else names a
 * variant.  The wrappers check arguments once, so variants may assume a
 * non-NULL map, key and callback.  No shared mutable state lives here.
 */
#include <errno.h>
#include <string.h>

#include "maps/map_impl.h"

#define MAP_VARIANT(n) extern const struct map_variant map_variant_##n;
#include "maps/variants.def"
#undef MAP_VARIANT

static const struct map_variant *const variants[] = {
#define MAP_VARIANT(n) &map_variant_##n,
#include "maps/variants.def"
#undef MAP_VARIANT
	NULL};

const char *map_mutant(void)
{
	return ML_MUTANT_NAME;
}

size_t map_variant_count(void)
{
	return sizeof(variants) / sizeof(variants[0]) - 1;
}

const struct map_variant *map_variant_at(size_t i)
{
	return i < map_variant_count() ? variants[i] : NULL;
}

const struct map_variant *map_variant_find(const char *name)
{
	if (!name)
		return NULL;
	for (size_t i = 0; i < map_variant_count(); i++)
		if (strcmp(variants[i]->name, name) == 0)
			return variants[i];
	return NULL;
}

int map_open(const char *variant, const struct map_config *cfg,
	     struct map **out)
{
	static const struct map_config defaults;
	const struct map_variant *v = map_variant_find(variant);
	struct map *m = NULL;
	int rc;

	if (!out)
		return -EINVAL;
	*out = NULL;
	if (!v)
		return -EINVAL;
	if (!cfg)
		cfg = &defaults;
	if (cfg->vops && (!cfg->vops->retain || !cfg->vops->release))
		return -EINVAL;
	if (cfg->shards && (cfg->shards & (cfg->shards - 1)))
		return -EINVAL;
	rc = v->ops->open(cfg, &m);
	if (rc)
		return rc;
	m->variant = v;
	*out = m;
	return 0;
}

void map_close(struct map *m)
{
	if (m)
		m->variant->ops->close(m);
}

const struct map_variant *map_variant_of(const struct map *m)
{
	return m ? m->variant : NULL;
}

int map_get(struct map *m, const void *key, size_t klen, void **val)
{
	if (!m || (!key && klen) || !val)
		return -EINVAL;
	return m->variant->ops->get(m, key, klen, val);
}

int map_get_with(struct map *m, const void *key, size_t klen,
		 map_read_fn fn, void *arg)
{
	if (!m || (!key && klen) || !fn)
		return -EINVAL;
	return m->variant->ops->get_with(m, key, klen, fn, arg);
}

int map_put(struct map *m, const void *key, size_t klen, void *val)
{
	if (!m || (!key && klen))
		return -EINVAL;
	return m->variant->ops->put(m, key, klen, val);
}

int map_put_if_absent(struct map *m, const void *key, size_t klen, void *val,
		      void **existing)
{
	if (existing)
		*existing = NULL;
	if (!m || (!key && klen))
		return -EINVAL;
	return m->variant->ops->put_if_absent(m, key, klen, val, existing);
}

int map_delete(struct map *m, const void *key, size_t klen)
{
	if (!m || (!key && klen))
		return -EINVAL;
	return m->variant->ops->del(m, key, klen);
}

int map_range(struct map *m, map_range_fn fn, void *arg)
{
	if (!m || !fn)
		return -EINVAL;
	return m->variant->ops->range(m, fn, arg);
}

size_t map_len(struct map *m)
{
	return m ? m->variant->ops->len(m) : 0;
}

void map_thread_enter(struct map *m)
{
	if (m && m->variant->ops->thread_enter)
		m->variant->ops->thread_enter(m);
}

void map_thread_exit(struct map *m)
{
	if (m && m->variant->ops->thread_exit)
		m->variant->ops->thread_exit(m);
}

void map_stats(struct map *m, struct map_stats *st)
{
	if (!st)
		return;
	memset(st, 0, sizeof(*st));
	if (m)
		m->variant->ops->stats(m, st);
}

int map_check(struct map *m, struct map_check *out)
{
	struct map_check scratch;

	if (!out)
		out = &scratch;
	memset(out, 0, sizeof(*out));
	if (!m)
		return -EINVAL;
	if (!m->variant->ops->check)
		return -ENOTSUP;
	return m->variant->ops->check(m, out);
}

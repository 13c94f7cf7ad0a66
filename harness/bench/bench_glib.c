/*
 * harness/bench/bench_glib.c - benchmark peer "glib": GLib's GHashTable behind one
 * pthread_mutex_t, the everyday C choice.
 *
 * Written the way careful everyday code would write it: C-string keys with
 * g_str_hash/g_str_equal, one global mutex around every table call, key
 * copies allocated only when a key is new (an overwrite reuses the stored
 * key: lookup_extended + insert with the original key), and value releases
 * done after the unlock so a free never runs under the lock (the same
 * courtesy the maplab variants give).
 *
 * Invariants: every stored key is an ml_malloc(ML_TAG_BENCH) copy owned by
 * the table (freed on delete and close); every stored value holds one
 * reference owned by the table.  The table has no destroy functions: keys
 * and values are released by hand so that the release can happen outside
 * the lock.
 *
 * Locking: g->mu protects g->tab and everything reachable from it.  Value
 * retains (and get_with's callback) happen under g->mu (the table's reference
 * keeps the value alive until then); releases happen after unlocking.
 *
 * Memory: GHashTable's own arrays come from g_malloc and are NOT seen by
 * the counting allocator; only the key copies are.  bench.c reports the
 * heap-wide bytes per entry (mallinfo2) beside the counted ones for that
 * reason.
 */
#include <errno.h>
#include <pthread.h>
#include <string.h>

#include <glib.h>

#include "harness/bench/bench_peer.h"
#include "maps/alloc.h"

struct gpeer {
	pthread_mutex_t mu;               /* protects tab */
	GHashTable *tab;                  /* under mu */
	const struct map_value_ops *vops; /* immutable after open */
};

static int g_open(const struct map_value_ops *vops, size_t capacity_hint,
		  void **out)
{
	struct gpeer *g = ml_calloc(ML_TAG_BENCH, 1, sizeof(*g));

	(void)capacity_hint; /* GHashTable has no size hint: it grows */
	if (!g)
		return -ENOMEM;
	ML_CHECK_PTHREAD(pthread_mutex_init(&g->mu, NULL));
	g->tab = g_hash_table_new(g_str_hash, g_str_equal);
	g->vops = vops;
	*out = g;
	return 0;
}

static void g_close(void *h)
{
	struct gpeer *g = h;
	GHashTableIter it;
	gpointer k, v;

	/* Quiescent: no other thread uses the table any more. */
	g_hash_table_iter_init(&it, g->tab);
	while (g_hash_table_iter_next(&it, &k, &v)) {
		ml_free(k);
		g->vops->release(v, g->vops->ctx);
	}
	g_hash_table_destroy(g->tab);
	ML_CHECK_PTHREAD(pthread_mutex_destroy(&g->mu));
	ml_free(g);
}

static int g_get(void *h, const void *key, size_t klen, void **val)
{
	struct gpeer *g = h;
	void *v;

	(void)klen; /* key is NUL-terminated (bench_peer.h) */
	ML_CHECK_PTHREAD(pthread_mutex_lock(&g->mu));
	v = g_hash_table_lookup(g->tab, key);
	if (v)
		g->vops->retain(v, g->vops->ctx);
	ML_CHECK_PTHREAD(pthread_mutex_unlock(&g->mu));
	*val = v;
	return v ? 0 : -ENOENT;
}

/* The borrowed read: fn runs under the mutex, the table's reference
 * keeps the value alive. */
static int g_get_with(void *h, const void *key, size_t klen, map_read_fn fn,
		      void *arg)
{
	struct gpeer *g = h;
	void *v;

	(void)klen;
	ML_CHECK_PTHREAD(pthread_mutex_lock(&g->mu));
	v = g_hash_table_lookup(g->tab, key);
	if (v)
		fn(v, arg);
	ML_CHECK_PTHREAD(pthread_mutex_unlock(&g->mu));
	return v ? 0 : -ENOENT;
}

static int g_put(void *h, const void *key, size_t klen, void *val)
{
	struct gpeer *g = h;
	gpointer ok = NULL, ov = NULL;
	int rc = 0;

	ML_CHECK_PTHREAD(pthread_mutex_lock(&g->mu));
	if (g_hash_table_lookup_extended(g->tab, key, &ok, &ov)) {
		/* Same key pointer: GLib keeps it and frees nothing. */
		g_hash_table_insert(g->tab, ok, val);
	} else {
		char *copy = ml_malloc(ML_TAG_BENCH, klen + 1);

		if (!copy) {
			rc = -ENOMEM;
			goto out;
		}
		memcpy(copy, key, klen + 1);
		g_hash_table_insert(g->tab, copy, val);
		ov = NULL;
	}
out:
	ML_CHECK_PTHREAD(pthread_mutex_unlock(&g->mu));
	if (ov)
		g->vops->release(ov, g->vops->ctx);
	return rc;
}

static int g_del(void *h, const void *key, size_t klen)
{
	struct gpeer *g = h;
	gpointer ok = NULL, ov = NULL;
	gboolean found;

	(void)klen;
	ML_CHECK_PTHREAD(pthread_mutex_lock(&g->mu));
	found = g_hash_table_steal_extended(g->tab, key, &ok, &ov);
	ML_CHECK_PTHREAD(pthread_mutex_unlock(&g->mu));
	if (!found)
		return -ENOENT;
	ml_free(ok);
	g->vops->release(ov, g->vops->ctx);
	return 0;
}

static size_t g_len(void *h)
{
	struct gpeer *g = h;
	size_t n;

	ML_CHECK_PTHREAD(pthread_mutex_lock(&g->mu));
	n = g_hash_table_size(g->tab);
	ML_CHECK_PTHREAD(pthread_mutex_unlock(&g->mu));
	return n;
}

static void g_thread_noop(void *h)
{
	(void)h;
}

const struct bench_peer bench_peer_glib = {
	.name = "glib",
	.description = "GLib GHashTable (g_str_hash) behind one pthread_mutex_t",
	.open = g_open,
	.close = g_close,
	.get = g_get,
	.get_with = g_get_with,
	.put = g_put,
	.del = g_del,
	.len = g_len,
	.thread_enter = g_thread_noop,
	.thread_exit = g_thread_noop,
};

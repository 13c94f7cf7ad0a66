/*
 * incidents/config/cfgdoc.h - the configuration document of the config
 * incident: its schema, the reference-counted values it loads into a map,
 * the "config centre" that renders successive versions (some bad on
 * purpose) to a real JSON file, and the loader that reads such a file back
 * with jansson, validates all of it, and hands over a sorted, staged set of
 * (key, value) pairs.  Private to incidents/config/ and its test.
 *
 * A document looks like
 *
 *   {"version": 42,
 *    "global":   {"tls_min": "...", "default_timeout_ms": 900, ...},
 *    "services": {"svc00000": {"host": "...", "port": 8443, ...}, ...}}
 *
 * and becomes map keys "global.<field>" and "svcNNNNN.<field>".  Every
 * value loaded from version V carries the stamp V, and its content is a
 * pure function of (seed, V, service, field), so a reader can tell which
 * version a value came from and whether it is intact (config_val_intact).
 *
 * Invariants:
 *  - config_load() applies nothing: it returns a complete, validated set or
 *    an error message, never half of a document;
 *  - a staged set's entries are sorted by key (strcmp), keys unique;
 *  - each entry holds one reference on its value until the entry's val is
 *    handed on (set to NULL) or config_set_free() releases it.
 *
 * Threads: values are shared (refcount atomics); everything else here is
 * used by one thread at a time.  Memory: documents, file bytes and staged
 * sets are tagged CONFIG, values VALUES.  jansson's own tree is allocated by
 * plain malloc (its allocator hooks are process-wide and the harness uses
 * jansson too, so they cannot point at the counting allocator's budget);
 * it shows in RSS and mallinfo2, not in live bytes, and its calls are
 * counted by config_json_count_begin().
 */
#ifndef MAPLAB_CONFIG_CFGDOC_H
#define MAPLAB_CONFIG_CFGDOC_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "maps/map.h"

enum cfg_type { CFG_INT, CFG_REAL, CFG_BOOL, CFG_STR };

#define CFG_NFIELDS 8          /* fields per section (global, each service) */
#define CFG_SVC_GLOBAL 0xffffffffu /* cval.svc of a global value */
#define CFG_SVC_MAX 99999u     /* service names are svc00000..svc99999 */
#define CFG_KEY_MAX 32         /* longest key, NUL included */

struct cfg_field {
	const char *name;
	enum cfg_type type;
};
extern const struct cfg_field config_global_fields[CFG_NFIELDS];
extern const struct cfg_field config_svc_fields[CFG_NFIELDS];

/* A loaded value.  refs counts the holders (staged set, map, readers). */
struct cval {
	_Atomic uint32_t refs;
	uint32_t magic;    /* CVAL_MAGIC while alive, CVAL_DEAD once freed */
	uint64_t version;  /* stamp: the document version it was loaded from */
	uint32_t svc;      /* service index, or CFG_SVC_GLOBAL */
	uint16_t field;    /* index into the section's field table */
	uint8_t type;      /* enum cfg_type */
	bool b;
	int64_t i;
	double d;
	uint32_t slen;
	char s[];          /* CFG_STR: slen bytes + NUL */
};
#define CVAL_MAGIC 0x43564c31u /* "CVL1" */
#define CVAL_DEAD 0xdeadc0deu

/* Value ops for map_config.vops (retain/release of struct cval). */
extern const struct map_value_ops config_vops;
void config_val_retain(struct cval *v);
void config_val_release(struct cval *v);
/* True when v is alive and its content is the one its stamp, service and
 * field promise (seed: the document seed).  Reads only v's fields. */
bool config_val_intact(const struct cval *v, uint64_t seed);

/* Key of (svc, field) into buf (>= CFG_KEY_MAX); returns its length. */
size_t config_key(char *buf, uint32_t svc, unsigned field);

/* What the config centre pushes. */
enum cfg_push {
	CFG_PUSH_GOOD = 0,      /* a new, valid version */
	CFG_PUSH_SAME,          /* the current document again, byte for byte */
	CFG_BAD_TRUNCATED,      /* a valid document cut short */
	CFG_BAD_WRONG_TYPE,     /* one value of the wrong JSON type */
	CFG_BAD_MISSING_KEY,    /* one required field left out */
	CFG_BAD_NO_VERSION,     /* "version" missing */
	CFG_BAD_STALE,          /* a valid document with an older version */
	CFG_PUSH_KINDS
};
const char *config_push_name(enum cfg_push k);

/* One document to render.  rnd picks the victim of a bad kind. */
struct cfg_spec {
	uint64_t seed;     /* content seed (fixed for a run) */
	uint64_t version;  /* "version" written */
	uint32_t services; /* services svc00000..svc<services-1> */
	enum cfg_push kind;
	uint64_t rnd;
};
/* Render spec into a fresh ml_malloc(CONFIG) buffer (*out, *len; not NUL
 * terminated).  0 or -ENOMEM / -EINVAL. */
int config_render(const struct cfg_spec *spec, char **out, size_t *len);
/* Write buf to dir/name atomically (dir/name.tmp + rename).  0 or -errno. */
int config_write_file(const char *dir, const char *name, const char *buf,
		      size_t len);
/* Read a whole file into a fresh ml_malloc(CONFIG) buffer.  0 or -errno. */
int config_read_file(const char *path, char **buf, size_t *len);
/* FNV-1a, 64 bits, over the file bytes: the reload's "changed?" check. */
uint64_t config_hash(const void *buf, size_t len);

struct cfg_entry {
	const char *key;   /* into the set's key buffer, NUL terminated */
	uint32_t klen;
	uint32_t svc;      /* as in struct cval */
	struct cval *val;  /* one reference, or NULL once handed on */
};

struct cfg_set {
	uint64_t version;
	uint32_t services;     /* service sections in the document */
	size_t n;              /* entries */
	struct cfg_entry *e;   /* n entries, sorted by key */
	char *keys;            /* key bytes */
};

/* jansson's own allocations, counted: config_json_count_begin() points
 * jansson's allocator hooks at malloc/free wrappers that count calls
 * (objects made before or after stay compatible: both end in malloc/free);
 * config_json_count_end() puts plain malloc/free back.  The hooks are
 * process-wide, so the counts include any other jansson user's. */
void config_json_count_begin(void);
void config_json_count_end(void);
void config_json_counts(uint64_t *allocs, uint64_t *frees);

/* Parse and validate a document (buf, len).  Versions <= min_version are
 * rejected as stale.  On success *out is a new set (config_set_free).  On
 * failure returns -EINVAL (bad document: err holds one line saying where
 * and what) or -ENOMEM, and *out is NULL. */
int config_load(const char *buf, size_t len, uint64_t min_version,
		struct cfg_set **out, char *err, size_t errlen);
/* Releases every value still held and frees the set.  NULL is a no-op. */
void config_set_free(struct cfg_set *s);
/* Index of key in s, or -1. */
long config_set_find(const struct cfg_set *s, const char *key, size_t klen);

#endif

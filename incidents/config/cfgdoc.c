/*
 * incidents/config/cfgdoc.c - This file contains the configuration
 * document of the config incident: the schema, the reference-counted
 * values, the config centre's renderer (good and deliberately bad
 * documents), the file I/O, and the jansson loader that validates a whole
 * document before anything is applied.  See cfgdoc.h for the format.
 *
 * Invariants: a value's content is content(seed, version, svc, field), a
 * pure function, so intact values can be recognised anywhere; a value is
 * freed by the release that drops refs to zero, after its magic is set to
 * CVAL_DEAD (a reader that got hold of a freed value - only possible with
 * the unsafe map - sees the poison or garbage and counts it).
 *
 * Memory ordering: retain is relaxed (the caller already holds a reference,
 * so the object cannot go away and nothing is published by the increment);
 * release is acq_rel so every holder's reads happen before the free.
 * Everything else here is single-threaded.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "incidents/config/cfgdoc.h"
#include "maps/alloc.h"
#include "maps/util.h"

const struct cfg_field config_global_fields[CFG_NFIELDS] = {
	{"tls_min", CFG_STR},    {"default_timeout_ms", CFG_INT},
	{"log_level", CFG_STR},  {"max_conns", CFG_INT},
	{"retry_budget", CFG_REAL}, {"tracing", CFG_BOOL},
	{"region", CFG_STR},     {"rate_limit", CFG_INT},
};

const struct cfg_field config_svc_fields[CFG_NFIELDS] = {
	{"host", CFG_STR},      {"port", CFG_INT},
	{"timeout_ms", CFG_INT}, {"weight", CFG_REAL},
	{"enabled", CFG_BOOL},  {"retries", CFG_INT},
	{"pool_size", CFG_INT}, {"tag", CFG_STR},
};

static const char *const type_names[] = {"integer", "real", "boolean",
					  "string"};

static const char *const push_names[CFG_PUSH_KINDS] = {
	"good", "same", "truncated", "wrong_type", "missing_key",
	"no_version", "stale"};

const char *config_push_name(enum cfg_push k)
{
	return (unsigned)k < CFG_PUSH_KINDS ? push_names[k] : "?";
}

/* ---- values ---------------------------------------------------------- */

void config_val_retain(struct cval *v)
{
	/* relaxed: the caller holds a reference already (see file header) */
	atomic_fetch_add_explicit(&v->refs, 1, memory_order_relaxed);
}

void config_val_release(struct cval *v)
{
	if (!v)
		return;
	if (atomic_fetch_sub_explicit(&v->refs, 1, memory_order_acq_rel) == 1) {
		v->magic = CVAL_DEAD;
		ml_free(v);
	}
}

static void vops_retain(void *val, void *ctx)
{
	(void)ctx;
	config_val_retain(val);
}

static void vops_release(void *val, void *ctx)
{
	(void)ctx;
	config_val_release(val);
}

const struct map_value_ops config_vops = {
	.retain = vops_retain, .release = vops_release, .ctx = NULL};

/* Bytes of s to print for at most max bytes without splitting a UTF-8
 * character (a continuation byte is never the first one left out). */
static int utf8_prefix(const char *s, size_t max)
{
	size_t n = strnlen(s, max + 1);

	if (n <= max)
		return (int)n;
	n = max;
	while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
		n--;
	return (int)n;
}

static uint64_t content_hash(uint64_t seed, uint64_t version, uint32_t svc,
			     unsigned field)
{
	uint64_t h = ml_mix64(seed ^ 0x636f6e666967ull);

	h = ml_mix64(h ^ version);
	h = ml_mix64(h ^ svc);
	return ml_mix64(h ^ field);
}

static const char alphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789-.";

/* The content of (seed, version, svc, field).  s gets the string (>= 64
 * bytes) for CFG_STR; returns its length. */
static size_t content(uint64_t seed, uint64_t version, uint32_t svc,
		      unsigned field, enum cfg_type t, int64_t *i, double *d,
		      bool *b, char *s)
{
	uint64_t h = content_hash(seed, version, svc, field);
	size_t len = 0;

	switch (t) {
	case CFG_INT:
		*i = (int64_t)(h % 100000u);
		break;
	case CFG_REAL:
		*d = (double)(h % 10000u) / 10000.0;
		break;
	case CFG_BOOL:
		*b = h & 1u;
		break;
	case CFG_STR:
		len = 6 + (h >> 8) % 58; /* 6..63 bytes: mixed sizes */
		for (size_t k = 0; k < len; k++) {
			h = ml_mix64(h);
			s[k] = alphabet[h % (sizeof(alphabet) - 1)];
		}
		s[len] = '\0';
		break;
	}
	return len;
}

static const struct cfg_field *field_of(uint32_t svc, unsigned field)
{
	if (field >= CFG_NFIELDS)
		return NULL;
	return svc == CFG_SVC_GLOBAL ? &config_global_fields[field]
				     : &config_svc_fields[field];
}

bool config_val_intact(const struct cval *v, uint64_t seed)
{
	const struct cfg_field *f;
	int64_t i = 0;
	double d = 0;
	bool b = false;
	char s[72];
	size_t len;

	if (!v || v->magic != CVAL_MAGIC || v->version == 0)
		return false;
	f = field_of(v->svc, v->field);
	if (!f || v->type != f->type)
		return false;
	len = content(seed, v->version, v->svc, v->field, f->type, &i, &d, &b,
		      s);
	switch (f->type) {
	case CFG_INT:
		return v->i == i;
	case CFG_REAL:
		return v->d == d;
	case CFG_BOOL:
		return v->b == b;
	case CFG_STR:
		return v->slen == len && memcmp(v->s, s, len) == 0;
	}
	return false;
}

size_t config_key(char *buf, uint32_t svc, unsigned field)
{
	const struct cfg_field *f = field_of(svc, field);
	int n;

	if (svc == CFG_SVC_GLOBAL)
		n = snprintf(buf, CFG_KEY_MAX, "global.%s", f->name);
	else
		n = snprintf(buf, CFG_KEY_MAX, "svc%05u.%s", svc, f->name);
	return (size_t)n;
}

/* ---- rendering (the config centre) ----------------------------------- */

struct sbuf {
	char *p;
	size_t len, cap;
	int err;
};

static void sb_reserve(struct sbuf *b, size_t more)
{
	char *np;
	size_t ncap;

	if (b->err || b->len + more <= b->cap)
		return;
	ncap = b->cap ? b->cap : 4096;
	while (ncap < b->len + more)
		ncap *= 2;
	np = ml_malloc(ML_TAG_CONFIG, ncap);
	if (!np) {
		b->err = -ENOMEM;
		return;
	}
	if (b->len)
		memcpy(np, b->p, b->len);
	ml_free(b->p);
	b->p = np;
	b->cap = ncap;
}

static void sb_printf(struct sbuf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void sb_printf(struct sbuf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	sb_reserve(b, 128);
	if (b->err)
		return;
	va_start(ap, fmt);
	n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
	va_end(ap);
	if (n < 0) {
		b->err = -EINVAL;
		return;
	}
	if ((size_t)n >= b->cap - b->len) {
		sb_reserve(b, (size_t)n + 1);
		if (b->err)
			return;
		va_start(ap, fmt);
		vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
		va_end(ap);
	}
	b->len += (size_t)n;
}

/* One "name":value member; wrong = render it with a wrong JSON type. */
static void render_field(struct sbuf *b, const struct cfg_spec *sp,
			 uint32_t svc, unsigned field, bool wrong)
{
	const struct cfg_field *f = field_of(svc, field);
	int64_t i = 0;
	double d = 0;
	bool bo = false;
	char s[72], num[40];

	content(sp->seed, sp->version, svc, field, f->type, &i, &d, &bo, s);
	switch (f->type) {
	case CFG_INT:
		if (wrong)
			sb_printf(b, "\"%s\":\"%" PRId64 "\"", f->name, i);
		else
			sb_printf(b, "\"%s\":%" PRId64, f->name, i);
		break;
	case CFG_REAL:
		/* %.17g round-trips; keep a '.' so it stays a JSON real */
		snprintf(num, sizeof(num), "%.17g", d);
		if (!strpbrk(num, ".eE"))
			strcat(num, ".0");
		if (wrong)
			sb_printf(b, "\"%s\":\"%s\"", f->name, num);
		else
			sb_printf(b, "\"%s\":%s", f->name, num);
		break;
	case CFG_BOOL:
		if (wrong)
			sb_printf(b, "\"%s\":\"%s\"", f->name, bo ? "yes" : "no");
		else
			sb_printf(b, "\"%s\":%s", f->name, bo ? "true" : "false");
		break;
	case CFG_STR:
		if (wrong)
			sb_printf(b, "\"%s\":%u", f->name, (unsigned)strlen(s));
		else
			sb_printf(b, "\"%s\":\"%s\"", f->name, s);
		break;
	}
}

static void render_section(struct sbuf *b, const struct cfg_spec *sp,
			   uint32_t svc, long victim_field, bool wrong)
{
	bool first = true;

	sb_printf(b, "{");
	for (unsigned f = 0; f < CFG_NFIELDS; f++) {
		if ((long)f == victim_field && !wrong)
			continue; /* CFG_BAD_MISSING_KEY */
		if (!first)
			sb_printf(b, ",");
		render_field(b, sp, svc, f, (long)f == victim_field && wrong);
		first = false;
	}
	sb_printf(b, "}");
}

int config_render(const struct cfg_spec *sp, char **out, size_t *len)
{
	struct sbuf b = {0};
	bool wrong = sp->kind == CFG_BAD_WRONG_TYPE;
	bool victimised = wrong || sp->kind == CFG_BAD_MISSING_KEY;
	/* the victim section: 0 = global, k = service k-1 */
	uint64_t vsec = victimised ? sp->rnd % (sp->services + 1u) : 0;
	long vfield = victimised ? (long)((sp->rnd >> 32) % CFG_NFIELDS) : -1;

	*out = NULL;
	*len = 0;
	if (sp->services > CFG_SVC_MAX + 1u || sp->version == 0)
		return -EINVAL;
	sb_reserve(&b, (size_t)sp->services * 420u + 4096u);
	sb_printf(&b, "{");
	if (sp->kind != CFG_BAD_NO_VERSION)
		sb_printf(&b, "\"version\":%" PRIu64 ",", sp->version);
	sb_printf(&b, "\"global\":");
	render_section(&b, sp, CFG_SVC_GLOBAL, vsec == 0 ? vfield : -1, wrong);
	sb_printf(&b, ",\"services\":{");
	for (uint32_t s = 0; s < sp->services && !b.err; s++) {
		sb_printf(&b, "%s\"svc%05u\":", s ? "," : "", s);
		render_section(&b, sp, s, vsec == s + 1u ? vfield : -1, wrong);
	}
	sb_printf(&b, "}}\n");
	if (b.err) {
		ml_free(b.p);
		return b.err;
	}
	if (sp->kind == CFG_BAD_TRUNCATED) /* any proper prefix is invalid */
		b.len = 1 + (size_t)(sp->rnd % (b.len - 2));
	*out = b.p;
	*len = b.len;
	return 0;
}

int config_write_file(const char *dir, const char *name, const char *buf,
		      size_t len)
{
	char path[4096], tmp[4096];
	size_t off = 0;
	int fd, rc = 0;

	if (snprintf(path, sizeof(path), "%s/%s", dir, name) >=
		    (int)sizeof(path) ||
	    snprintf(tmp, sizeof(tmp), "%s/%s.tmp", dir, name) >=
		    (int)sizeof(tmp))
		return -ENAMETOOLONG;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	while (off < len) {
		ssize_t w = write(fd, buf + off, len - off);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			rc = -errno;
			goto out;
		}
		off += (size_t)w;
	}
out:
	if (close(fd) != 0 && rc == 0)
		rc = -errno;
	if (rc == 0 && rename(tmp, path) != 0)
		rc = -errno;
	if (rc)
		unlink(tmp);
	return rc;
}

int config_read_file(const char *path, char **buf, size_t *len)
{
	struct stat st;
	char *p = NULL;
	size_t off = 0;
	int fd, rc = 0;

	*buf = NULL;
	*len = 0;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) != 0) {
		rc = -errno;
		goto out;
	}
	p = ml_malloc(ML_TAG_CONFIG, (size_t)st.st_size + 1);
	if (!p) {
		rc = -ENOMEM;
		goto out;
	}
	while (off < (size_t)st.st_size) {
		ssize_t r = read(fd, p + off, (size_t)st.st_size - off);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			rc = -errno;
			goto out;
		}
		if (r == 0)
			break; /* shrank under us: take what is there */
		off += (size_t)r;
	}
	p[off] = '\0';
	*buf = p;
	*len = off;
	p = NULL;
out:
	ml_free(p);
	close(fd);
	return rc;
}

uint64_t config_hash(const void *buf, size_t len)
{
	const unsigned char *p = buf;
	uint64_t h = 0xcbf29ce484222325ull;

	for (size_t i = 0; i < len; i++) {
		h ^= p[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

/* ---- jansson's allocations ---------------------------------------------- */

/* Statistics only: relaxed, nothing is published through them. */
static _Atomic uint64_t json_allocs, json_frees;

static void *counting_malloc(size_t size)
{
	atomic_fetch_add_explicit(&json_allocs, 1, memory_order_relaxed);
	return malloc(size);
}

static void counting_free(void *p)
{
	if (p)
		atomic_fetch_add_explicit(&json_frees, 1, memory_order_relaxed);
	free(p);
}

void config_json_count_begin(void)
{
	json_set_alloc_funcs(counting_malloc, counting_free);
}

void config_json_count_end(void)
{
	json_set_alloc_funcs(malloc, free);
}

void config_json_counts(uint64_t *allocs, uint64_t *frees)
{
	*allocs = atomic_load_explicit(&json_allocs, memory_order_relaxed);
	*frees = atomic_load_explicit(&json_frees, memory_order_relaxed);
}

/* ---- loading ---------------------------------------------------------- */

static const char *json_type_name(const json_t *j)
{
	switch (json_typeof(j)) {
	case JSON_OBJECT:
		return "object";
	case JSON_ARRAY:
		return "array";
	case JSON_STRING:
		return "string";
	case JSON_INTEGER:
		return "integer";
	case JSON_REAL:
		return "real";
	case JSON_TRUE:
	case JSON_FALSE:
		return "boolean";
	case JSON_NULL:
		return "null";
	}
	return "?";
}

static bool type_ok(const json_t *j, enum cfg_type t)
{
	switch (t) {
	case CFG_INT:
		return json_is_integer(j);
	case CFG_REAL:
		return json_is_number(j); /* 1 is an acceptable 1.0 */
	case CFG_BOOL:
		return json_is_boolean(j);
	case CFG_STR:
		return json_is_string(j) && json_string_length(j) < 64;
	}
	return false;
}

/* Check one section's fields; where = "global" or "services.svc00017". */
static int check_section(const json_t *sec, const char *where, char *err,
			 size_t errlen)
{
	const struct cfg_field *tab = strcmp(where, "global") == 0
					      ? config_global_fields
					      : config_svc_fields;

	if (!json_is_object(sec)) {
		snprintf(err, errlen, "%s: expected object, got %s", where,
			 json_type_name(sec));
		return -EINVAL;
	}
	for (unsigned f = 0; f < CFG_NFIELDS; f++) {
		const json_t *v = json_object_get(sec, tab[f].name);

		if (!v) {
			snprintf(err, errlen, "%s: missing required key \"%s\"",
				 where, tab[f].name);
			return -EINVAL;
		}
		if (!type_ok(v, tab[f].type)) {
			snprintf(err, errlen,
				 "%s.%s: expected %s%s, got %s", where,
				 tab[f].name, type_names[tab[f].type],
				 tab[f].type == CFG_STR ? " (< 64 bytes)" : "",
				 json_type_name(v));
			return -EINVAL;
		}
	}
	return 0;
}

static struct cval *make_val(const json_t *j, enum cfg_type t, uint64_t ver,
			     uint32_t svc, unsigned field)
{
	size_t slen = t == CFG_STR ? json_string_length(j) : 0;
	struct cval *v = ml_malloc(ML_TAG_VALUES, sizeof(*v) + slen + 1);

	if (!v)
		return NULL;
	memset(v, 0, sizeof(*v));
	atomic_init(&v->refs, 1);
	v->magic = CVAL_MAGIC;
	v->version = ver;
	v->svc = svc;
	v->field = (uint16_t)field;
	v->type = (uint8_t)t;
	switch (t) {
	case CFG_INT:
		v->i = json_integer_value(j);
		break;
	case CFG_REAL:
		v->d = json_number_value(j);
		break;
	case CFG_BOOL:
		v->b = json_is_true(j);
		break;
	case CFG_STR:
		v->slen = (uint32_t)slen;
		memcpy(v->s, json_string_value(j), slen);
		break;
	}
	v->s[slen] = '\0';
	return v;
}

static int entry_cmp(const void *a, const void *b)
{
	return strcmp(((const struct cfg_entry *)a)->key,
		      ((const struct cfg_entry *)b)->key);
}

/* Parse "svcNNNNN" into *svc. */
static bool svc_name(const char *name, uint32_t *svc)
{
	unsigned v = 0;

	if (strncmp(name, "svc", 3) != 0 || strlen(name) != 8)
		return false;
	for (int k = 3; k < 8; k++) {
		if (name[k] < '0' || name[k] > '9')
			return false;
		v = v * 10 + (unsigned)(name[k] - '0');
	}
	*svc = v;
	return true;
}

static int add_section(struct cfg_set *s, const json_t *sec, uint32_t svc,
		       size_t *k)
{
	const struct cfg_field *tab =
		svc == CFG_SVC_GLOBAL ? config_global_fields : config_svc_fields;

	for (unsigned f = 0; f < CFG_NFIELDS; f++) {
		struct cfg_entry *e = &s->e[*k];
		char *key = s->keys + *k * CFG_KEY_MAX;

		e->klen = (uint32_t)config_key(key, svc, f);
		e->key = key;
		e->svc = svc;
		e->val = make_val(json_object_get(sec, tab[f].name),
				  tab[f].type, s->version, svc, f);
		if (!e->val)
			return -ENOMEM;
		(*k)++;
		s->n = *k; /* so config_set_free() releases what exists */
	}
	return 0;
}

/* The document's top level: JSON, an object.  NULL with err set if not. */
static json_t *parse_root(const char *buf, size_t len, char *err,
			  size_t errlen)
{
	json_error_t jerr;
	json_t *root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);

	if (!root) {
		/* jansson quotes the input near the error: a newline there
		 * would break the one-line message */
		for (char *c = jerr.text; *c; c++)
			if ((unsigned char)*c < 0x20 || *c == 0x7f)
				*c = ' ';
		snprintf(err, errlen, "invalid JSON at line %d column %d: %s",
			 jerr.line, jerr.column, jerr.text);
		return NULL;
	}
	if (!json_is_object(root)) {
		snprintf(err, errlen, "top level: expected object, got %s",
			 json_type_name(root));
		json_decref(root);
		return NULL;
	}
	return root;
}

/* "version": a positive integer newer than min_version, into *ver. */
static int check_version(const json_t *root, uint64_t min_version,
			 json_int_t *ver, char *err, size_t errlen)
{
	json_t *jv = json_object_get(root, "version");

	if (!jv) {
		snprintf(err, errlen, "missing required key \"version\"");
		return -EINVAL;
	}
	if (!json_is_integer(jv) || json_integer_value(jv) <= 0) {
		snprintf(err, errlen,
			 "\"version\": expected a positive integer, got %s",
			 json_type_name(jv));
		return -EINVAL;
	}
	*ver = json_integer_value(jv);
	if ((uint64_t)*ver <= min_version) {
		snprintf(err, errlen,
			 "version %" JSON_INTEGER_FORMAT
			 " is not newer than the applied %" PRIu64
			 " (stale push)",
			 *ver, min_version);
		return -EINVAL;
	}
	return 0;
}

/* "services": an object of svcNNNNN sections, each one valid. */
static int check_services(const json_t *svcs, char *err, size_t errlen)
{
	const char *name;
	json_t *sec;

	if (!json_is_object(svcs)) {
		snprintf(err, errlen, "services: expected object, got %s",
			 json_type_name(svcs));
		return -EINVAL;
	}
	json_object_foreach((json_t *)svcs, name, sec) {
		char where[64];
		uint32_t svc;
		int rc;

		if (!svc_name(name, &svc)) {
			snprintf(err, errlen,
				 "services: bad service name \"%.*s\" "
				 "(expected svcNNNNN)",
				 utf8_prefix(name, 40), name);
			return -EINVAL;
		}
		snprintf(where, sizeof(where), "services.%s", name);
		rc = check_section(sec, where, err, errlen);
		if (rc)
			return rc;
	}
	return 0;
}

/* Stage a checked document: every key's value, sorted by key.  0 or
 * -ENOMEM (*out untouched). */
static int build_set(json_int_t ver, const json_t *glob, const json_t *svcs,
		     struct cfg_set **out)
{
	size_t nsvc = json_object_size(svcs), k = 0;
	struct cfg_set *s = ml_calloc(ML_TAG_CONFIG, 1, sizeof(*s));
	const char *name;
	json_t *sec;

	if (!s)
		return -ENOMEM;
	s->version = (uint64_t)ver;
	s->services = (uint32_t)nsvc;
	s->e = ml_calloc(ML_TAG_CONFIG, (nsvc + 1) * CFG_NFIELDS,
			 sizeof(*s->e));
	s->keys = ml_malloc(ML_TAG_CONFIG,
			    (nsvc + 1) * CFG_NFIELDS * CFG_KEY_MAX);
	if (!s->e || !s->keys)
		goto fail;
	if (add_section(s, glob, CFG_SVC_GLOBAL, &k))
		goto fail;
	json_object_foreach((json_t *)svcs, name, sec) {
		uint32_t svc = 0;

		svc_name(name, &svc);
		if (add_section(s, sec, svc, &k))
			goto fail;
	}
	qsort(s->e, s->n, sizeof(*s->e), entry_cmp);
	*out = s;
	return 0;
fail:
	config_set_free(s);
	return -ENOMEM;
}

int config_load(const char *buf, size_t len, uint64_t min_version,
		struct cfg_set **out, char *err, size_t errlen)
{
	json_t *root, *glob, *svcs;
	json_int_t ver;
	int rc;

	*out = NULL;
	err[0] = '\0';
	root = parse_root(buf, len, err, errlen);
	if (!root)
		return -EINVAL;
	rc = check_version(root, min_version, &ver, err, errlen);
	if (rc)
		goto out;
	glob = json_object_get(root, "global");
	svcs = json_object_get(root, "services");
	if (!glob || !svcs) {
		snprintf(err, errlen, "missing required key \"%s\"",
			 glob ? "services" : "global");
		rc = -EINVAL;
		goto out;
	}
	rc = check_section(glob, "global", err, errlen);
	if (!rc)
		rc = check_services(svcs, err, errlen);
	/* Valid: only now build the staged set. */
	if (!rc)
		rc = build_set(ver, glob, svcs, out);
out:
	if (rc == -ENOMEM)
		snprintf(err, errlen, "out of memory while staging");
	json_decref(root);
	return rc;
}

void config_set_free(struct cfg_set *s)
{
	if (!s)
		return;
	if (s->e)
		for (size_t i = 0; i < s->n; i++)
			config_val_release(s->e[i].val);
	ml_free(s->e);
	ml_free(s->keys);
	ml_free(s);
}

long config_set_find(const struct cfg_set *s, const char *key, size_t klen)
{
	size_t lo = 0, hi = s->n;
	char k[CFG_KEY_MAX];

	if (klen >= sizeof(k))
		return -1;
	memcpy(k, key, klen);
	k[klen] = '\0';
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(s->e[mid].key, k);

		if (c == 0)
			return (long)mid;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

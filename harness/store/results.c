/*
 * harness/store/results.c - This file contains the results folder writer and
 * loader (harness/store/results.h): manifest, per-run JSON, gnuplot .dat series,
 * summary.json/csv, the INCOMPLETE marker, results/latest, all written
 * atomically (temp + fsync + rename + folder fsync).
 *
 * The series columns are decided once per run from what the incident
 * registered (series_columns), and the same column list feeds the run
 * JSON's "series" and the .dat file, so both always agree.
 *
 * One writer per folder: results_open() claims the folder by creating
 * INCOMPLETE with O_EXCL (in a folder that is new, or empty but for it)
 * and holds an flock on it until results_close(); a second writer gets
 * -EBUSY before writing anything, and a reader can tell a folder still
 * being written (lock held) from an interrupted one (results_writer()).
 *
 * Not thread-safe; no shared state besides the caller's struct results_dir.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <gnu/libc-version.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "harness/store/results.h"
#include "harness/runtime/text.h"
#include "maps/alloc.h"
#include "maps/map.h"

#ifndef MAPLAB_CC
#define MAPLAB_CC "unknown"
#endif
#ifndef MAPLAB_CFLAGS
#define MAPLAB_CFLAGS "unknown"
#endif
#ifndef MAPLAB_SAN
#define MAPLAB_SAN ""
#endif

#define MIB (1024.0 * 1024.0)

/* ---- atomic files --------------------------------------------------- */

static int fsync_dir_of(const char *path)
{
	char dir[PATH_MAX];
	char *slash;
	int fd, rc = 0;

	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (slash == dir)
		slash[1] = '\0';
	else if (slash)
		*slash = '\0';
	else
		strcpy(dir, ".");
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fsync(fd) != 0)
		rc = -errno;
	close(fd);
	return rc;
}

int results_write_file(const char *path, const void *data, size_t len)
{
	char tmp[PATH_MAX];
	const char *p = data;
	int fd, rc = 0;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp.%d", path, (int)getpid()) >=
	    (int)sizeof(tmp))
		return -ENAMETOOLONG;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			rc = -errno;
			goto out;
		}
		p += n;
		len -= (size_t)n;
	}
	if (fsync(fd) != 0) {
		rc = -errno;
		goto out;
	}
out:
	if (close(fd) != 0 && !rc)
		rc = -errno;
	if (!rc && rename(tmp, path) != 0)
		rc = -errno;
	if (rc)
		unlink(tmp);
	else
		rc = fsync_dir_of(path);
	return rc;
}

int results_write_json(const char *path, const json_t *j)
{
	char *s = json_dumps(j, JSON_INDENT(1) | JSON_REAL_PRECISION(10) |
					JSON_ENSURE_ASCII);
	int rc;

	if (!s)
		return -ENOMEM;
	rc = results_write_file(path, s, strlen(s));
	free(s);
	return rc;
}

json_t *results_num(double v)
{
	if (!isfinite(v))
		return json_null();
	return json_real(v);
}

static json_t *jint_or_null(bool has, long long v)
{
	return has ? json_integer(v) : json_null();
}

static json_t *jstr_or_null(const char *s)
{
	return s && *s ? json_string(s) : json_null();
}

/* A string the child produced: made valid one-line UTF-8 first. */
static json_t *jstr_clean(const char *s)
{
	char buf[1024];

	if (!s || !*s)
		return json_null();
	text_one_line(buf, sizeof(buf), s);
	return json_string(buf);
}

void results_iso_time(double t, char *buf, size_t len)
{
	time_t s = (time_t)t;
	struct tm tm;
	char base[32];

	gmtime_r(&s, &tm);
	strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf, len, "%s.%03dZ", base, (int)((t - (double)s) * 1000));
}

static double now_wall(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- the out folder -------------------------------------------------- */

/* An existing --out: a writable folder with nothing in it. */
static int check_existing_out(const char *out, const struct stat *st,
			      char *err, size_t errlen)
{
	DIR *d;
	struct dirent *e;
	bool empty = true;

	if (!S_ISDIR(st->st_mode)) {
		snprintf(err, errlen, "--out %s exists and is not a folder; "
			 "pick a new name", out);
		return -ENOTDIR;
	}
	d = opendir(out);
	if (!d) {
		snprintf(err, errlen, "--out %s: cannot read it (%s)", out,
			 strerror(errno));
		return -EACCES;
	}
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			empty = false;
	closedir(d);
	if (!empty && results_writer(out)) {
		snprintf(err, errlen, "--out %s is being written by another "
			 "maplab run (pid %d); pick a new folder", out,
			 results_writer(out));
		return -EBUSY;
	}
	if (!empty) {
		snprintf(err, errlen, "--out %s exists and is not empty; pick a "
			 "new folder (results are never overwritten)", out);
		return -EEXIST;
	}
	if (access(out, W_OK | X_OK) != 0) {
		snprintf(err, errlen, "--out %s is not writable; pick a folder "
			 "you can write to", out);
		return -EACCES;
	}
	return 0;
}

/* A new --out: its parent folder exists and is writable. */
static int check_new_out(const char *out, char *err, size_t errlen)
{
	char parent[PATH_MAX];
	struct stat st;
	char *slash;

	snprintf(parent, sizeof(parent), "%s", out);
	while (strlen(parent) > 1 && parent[strlen(parent) - 1] == '/')
		parent[strlen(parent) - 1] = '\0';
	slash = strrchr(parent, '/');
	if (!slash)
		strcpy(parent, ".");
	else if (slash == parent)
		parent[1] = '\0';
	else
		*slash = '\0';
	if (stat(parent, &st) != 0 || !S_ISDIR(st.st_mode)) {
		snprintf(err, errlen,
			 "--out %s: folder %s does not exist; create it first",
			 out, parent);
		return -ENOENT;
	}
	if (access(parent, W_OK | X_OK) != 0) {
		snprintf(err, errlen,
			 "--out %s: cannot create it, %s is not writable", out,
			 parent);
		return -EACCES;
	}
	return 0;
}

int results_check_out(const char *out, char *err, size_t errlen)
{
	struct stat st;
	int e;

	if (!out || !*out) {
		snprintf(err, errlen, "--out needs a folder name");
		return -EINVAL;
	}
	if (strlen(out) > PATH_MAX - 200) {
		snprintf(err, errlen, "--out: path too long (%zu bytes); pick "
			 "a shorter one", strlen(out));
		return -ENAMETOOLONG;
	}
	if (!g_utf8_validate(out, -1, NULL)) {
		snprintf(err, errlen, "--out: the folder name is not valid "
			 "UTF-8 (it is recorded in JSON); pick a UTF-8 name");
		return -EINVAL;
	}
	if (stat(out, &st) == 0)
		return check_existing_out(out, &st, err, errlen);
	e = errno;
	if (e != ENOENT) {
		snprintf(err, errlen, "--out %s: %s", out, strerror(e));
		return -e;
	}
	return check_new_out(out, err, errlen);
}

/* ---- manifest ------------------------------------------------------- */

static void read_cmd(const char *cmd, char *buf, size_t len)
{
	FILE *f = popen(cmd, "r");
	size_t n = 0;

	buf[0] = '\0';
	if (!f)
		return;
	n = fread(buf, 1, len - 1, f);
	buf[n] = '\0';
	pclose(f);
	while (n && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
		buf[--n] = '\0';
}

static void cpu_model(char *buf, size_t len)
{
	FILE *f = fopen("/proc/cpuinfo", "r");
	char line[512];

	snprintf(buf, len, "unknown");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		char *colon = strchr(line, ':');

		if (!strncmp(line, "model name", 10) && colon) {
			colon++;
			while (*colon == ' ' || *colon == '\t')
				colon++;
			colon[strcspn(colon, "\n")] = '\0';
			snprintf(buf, len, "%s", colon);
			break;
		}
	}
	fclose(f);
}

static char *shell_join(int argc, char **argv)
{
	size_t cap = 64, n = 0;
	char *s = malloc(cap);

	if (!s)
		return NULL;
	s[0] = '\0';
	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];
		bool plain = *a != '\0';

		for (const char *p = a; *p; p++)
			if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
				    "0123456789-_./=:,+@%", *p))
				plain = false;
		size_t need = n + strlen(a) * 4 + 4;
		if (need > cap) {
			char *t;

			cap = need * 2;
			t = realloc(s, cap);
			if (!t) {
				free(s);
				return NULL;
			}
			s = t;
		}
		if (i)
			s[n++] = ' ';
		if (plain) {
			strcpy(s + n, a);
			n += strlen(a);
		} else {
			s[n++] = '\'';
			for (const char *p = a; *p; p++) {
				if (*p == '\'') {
					memcpy(s + n, "'\\''", 4);
					n += 4;
				} else {
					s[n++] = *p;
				}
			}
			s[n++] = '\'';
		}
		s[n] = '\0';
	}
	return s;
}

json_t *results_manifest_base(const char *run_id, const char *kind, int argc,
			      char **argv)
{
	json_t *m = json_object(), *av = json_array();
	char commit[64], dirty[4096], cpu[256], when[40], host[256] = "";
	struct utsname un;
	char *cmd = shell_join(argc, argv);
	const char *type = !strcmp(MAPLAB_SAN, "thread")    ? "tsan"
			   : !strcmp(MAPLAB_SAN, "address") ? "asan"
							    : "plain";

	for (int i = 0; i < argc; i++)
		json_array_append_new(av, json_string(argv[i]));
	read_cmd("git rev-parse HEAD 2>/dev/null", commit, sizeof(commit));
	read_cmd("git status --porcelain --untracked-files=no 2>/dev/null | head -c 4000",
		 dirty, sizeof(dirty));
	cpu_model(cpu, sizeof(cpu));
	if (uname(&un) != 0)
		strcpy(un.release, "unknown");
	results_iso_time(now_wall(), when, sizeof(when));
	json_object_set_new(m, "schema_version",
			    json_integer(RESULTS_SCHEMA_VERSION));
	json_object_set_new(m, "run_id", json_string(run_id));
	json_object_set_new(m, "kind", json_string(kind));
	json_object_set_new(m, "command", json_string(cmd ? cmd : ""));
	json_object_set_new(m, "argv", av);
	json_object_set_new(m, "git",
			    json_pack("{s:o, s:b}", "commit",
				      jstr_or_null(commit), "dirty",
				      dirty[0] != '\0'));
	json_object_set_new(m, "build",
			    json_pack("{s:s, s:s, s:s, s:s, s:s}", "cc",
				      MAPLAB_CC, "cflags", MAPLAB_CFLAGS, "san",
				      MAPLAB_SAN, "type", type, "mutant",
				      map_mutant()));
	if (gethostname(host, sizeof(host) - 1) != 0)
		strcpy(host, "unknown");
	json_object_set_new(
		m, "machine",
		json_pack("{s:s, s:s, s:s, s:s, s:I, s:I}", "host", host,
			  "kernel", un.release,
			  "glibc", gnu_get_libc_version(), "cpu", cpu, "cores",
			  (json_int_t)sysconf(_SC_NPROCESSORS_ONLN), "mem_bytes",
			  (json_int_t)sysconf(_SC_PHYS_PAGES) *
				  (json_int_t)sysconf(_SC_PAGESIZE)));
	json_object_set_new(m, "started", json_string(when));
	json_object_set_new(m, "finished", json_null());
	json_object_set_new(m, "complete", json_false());
	free(cmd);
	return m;
}

/* ---- series columns ------------------------------------------------- */

enum col_kind { C_T, C_RSS, C_LIVE, C_METRIC, C_HIST, C_TAG, C_MI, C_FRAG };

struct col {
	char name[80];
	enum col_kind kind;
	int idx;  /* metric/hist/tag index, -1 = absent (NaN) */
	int sub;  /* hist: 0 p50, 1 p99, 2 max; mi: 0 arena 1 mmap 2 inuse 3 free */
};

static int metric_index(const struct ictx *c, const char *name)
{
	const char *n;

	for (size_t i = 0; ictx_metric_at(c, i, &n, NULL, NULL); i++)
		if (!strcmp(n, name))
			return (int)i;
	return -1;
}

static int hist_index(const struct ictx *c, const char *name)
{
	for (size_t i = 0; i < ictx_hist_count(c); i++)
		if (!strcmp(ictx_hist_name(c, i), name))
			return (int)i;
	return -1;
}

static size_t series_columns(const struct ictx *c, struct col *cols, size_t max)
{
	size_t n = 0;
	int lat = hist_index(c, "latency");
	const char *name;

#define ADD(k, i, s, ...)                                                    \
	do {                                                                  \
		if (n < max) {                                                \
			cols[n].kind = (k);                                   \
			cols[n].idx = (i);                                    \
			cols[n].sub = (s);                                    \
			snprintf(cols[n].name, sizeof(cols[n].name),          \
				 __VA_ARGS__);                                \
			n++;                                                  \
		}                                                             \
	} while (0)
	ADD(C_T, 0, 0, "t_s");
	ADD(C_RSS, 0, 0, "rss_mib");
	ADD(C_LIVE, 0, 0, "live_mib");
	ADD(C_METRIC, metric_index(c, "inflight"), 0, "inflight");
	ADD(C_METRIC, metric_index(c, "ops"), 0, "ops");
	ADD(C_METRIC, metric_index(c, "entries"), 0, "entries");
	ADD(C_HIST, lat, 0, "lat_p50_ms");
	ADD(C_HIST, lat, 1, "lat_p99_ms");
	ADD(C_HIST, lat, 2, "lat_max_ms");
	for (int t = 0; t < ML_TAG_COUNT; t++)
		ADD(C_TAG, t, 0, "tag_%s_mib", ml_tag_name(t));
	for (size_t i = 0; ictx_metric_at(c, i, &name, NULL, NULL); i++)
		if (strcmp(name, "inflight") && strcmp(name, "ops") &&
		    strcmp(name, "entries"))
			ADD(C_METRIC, (int)i, 0, "m_%s", name);
	for (size_t i = 0; i < ictx_hist_count(c); i++) {
		name = ictx_hist_name(c, i);
		if (!strcmp(name, "latency"))
			continue;
		ADD(C_HIST, (int)i, 0, "h_%s_p50_ms", name);
		ADD(C_HIST, (int)i, 1, "h_%s_p99_ms", name);
		ADD(C_HIST, (int)i, 2, "h_%s_max_ms", name);
	}
	ADD(C_MI, 0, 0, "malloc_arena_mib");
	ADD(C_MI, 0, 1, "malloc_mmap_mib");
	ADD(C_MI, 0, 2, "malloc_inuse_mib");
	ADD(C_MI, 0, 3, "malloc_free_mib");
	ADD(C_FRAG, 0, 0, "frag");
#undef ADD
	return n;
}

static double col_value(const struct col *k, const struct tel_row *r)
{
	switch (k->kind) {
	case C_T: return r->t_s;
	case C_RSS: return r->rss_bytes / MIB;
	case C_LIVE: return r->live_total / MIB;
	case C_METRIC: return k->idx < 0 ? NAN : r->metric[k->idx];
	case C_HIST:
		if (k->idx < 0)
			return NAN;
		return (k->sub == 0   ? r->hist_p50[k->idx]
			: k->sub == 1 ? r->hist_p99[k->idx]
				      : r->hist_max[k->idx]) / 1e6;
	case C_TAG: return r->live[k->idx] / MIB;
	case C_MI:
		return (k->sub == 0   ? r->mi_arena
			: k->sub == 1 ? r->mi_hblkhd
			: k->sub == 2 ? r->mi_uordblks
				      : r->mi_fordblks) / MIB;
	case C_FRAG: return r->frag;
	}
	return NAN;
}

#define MAX_COLS (16 + ML_TAG_COUNT + ICTX_MAX_METRICS + 3 * ICTX_MAX_HISTS)

static int write_dat(const char *path, const struct run_result *res)
{
	struct col cols[MAX_COLS];
	size_t nc = series_columns(res->ctx, cols, MAX_COLS);
	size_t cap = 4096 + (size_t)res->nrows * nc * 16 + nc * 80, n = 0;
	char *buf = malloc(cap);
	int rc;

	if (!buf)
		return -ENOMEM;
	for (size_t i = 0; i < nc; i++)
		n += (size_t)snprintf(buf + n, cap - n, "%s%s", i ? " " : "",
				      cols[i].name);
	n += (size_t)snprintf(buf + n, cap - n, "\n");
	for (uint32_t r = 0; r < res->nrows; r++) {
		for (size_t i = 0; i < nc; i++) {
			double v = col_value(&cols[i], &res->rows[r]);

			if (isfinite(v))
				n += (size_t)snprintf(buf + n, cap - n, "%s%.6g",
						      i ? " " : "", v);
			else
				n += (size_t)snprintf(buf + n, cap - n, "%sNaN",
						      i ? " " : "");
		}
		n += (size_t)snprintf(buf + n, cap - n, "\n");
	}
	rc = results_write_file(path, buf, n);
	free(buf);
	return rc;
}

/* ---- the run record ------------------------------------------------- */

void results_run_name(const struct run_spec *spec, char *buf, size_t len)
{
	snprintf(buf, len, "%s.%s.r%u", spec->inc->name, spec->variant,
		 spec->rep);
}

static json_t *hist_json(const struct ictx_hist_snap *s)
{
	json_t *b = json_array();

	for (unsigned i = 0; i < ICTX_HIST_BUCKETS; i++)
		if (s->b[i])
			json_array_append_new(
				b, json_pack("[I, I, I]",
					     (json_int_t)ictx_hist_bucket_lo(i),
					     (json_int_t)(ictx_hist_bucket_hi(i) >
								  (uint64_t)INT64_MAX
							  ? INT64_MAX
							  : ictx_hist_bucket_hi(i)),
					     (json_int_t)s->b[i]));
	return json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:o}", "count",
			 (json_int_t)s->count, "sum_ns", (json_int_t)s->sum,
			 "max_ns", (json_int_t)s->max, "p50_ns",
			 (json_int_t)ictx_hist_percentile(s, 0.5), "p90_ns",
			 (json_int_t)ictx_hist_percentile(s, 0.9), "p99_ns",
			 (json_int_t)ictx_hist_percentile(s, 0.99), "p999_ns",
			 (json_int_t)ictx_hist_percentile(s, 0.999), "buckets", b);
}

/* The incident's parameters, as the child set them. */
static json_t *params_json(const struct ictx *c)
{
	json_t *params = json_object();
	const char *name;
	double value;

	for (size_t i = 0; ictx_param_at(c, i, &name, &value); i++)
		json_object_set_new(params, name, json_real(value));
	return params;
}

/* The incident's symptoms, and the parent's TSan finding beside them. */
static json_t *symptoms_json(const struct ictx *c, const struct run_result *res)
{
	json_t *sym = json_object();
	const char *name;
	double value;

	for (size_t i = 0; ictx_symptom_at(c, i, &name, &value); i++)
		json_object_set_new(sym, name, results_num(value));
	if (res->tsan_warnings)
		json_object_set_new(sym, "tsan_warnings",
				    results_num(res->tsan_warnings));
	return sym;
}

/* Every metric's final value. */
static json_t *metrics_json(const struct ictx *c)
{
	json_t *mf = json_object();
	const char *name;
	int64_t iv;

	for (size_t i = 0; ictx_metric_at(c, i, &name, NULL, &iv); i++)
		json_object_set_new(mf, name, json_integer(iv));
	return mf;
}

/* Every histogram; *lat receives the "latency" one (count 0 if none). */
static json_t *hists_json(const struct ictx *c, struct ictx_hist_snap *lat)
{
	json_t *hists = json_object();

	memset(lat, 0, sizeof(*lat));
	for (size_t i = 0; i < ictx_hist_count(c); i++) {
		struct ictx_hist_snap s;

		ictx_hist_snapshot(c, i, &s);
		json_object_set_new(hists, ictx_hist_name(c, i), hist_json(&s));
		if (!strcmp(ictx_hist_name(c, i), "latency"))
			*lat = s;
	}
	return hists;
}

/* The child's log lines, with a marker where lines were not kept. */
static json_t *log_json(const struct ictx *c)
{
	json_t *log = json_array();

	for (size_t i = 0; i < ictx_log_count(c); i++) {
		if (i == ICTX_LOG_HEAD && ictx_log_dropped(c))
			json_array_append_new(log, json_sprintf(
				"[... %llu lines not kept ...]",
				(unsigned long long)ictx_log_dropped(c)));
		json_array_append_new(log, json_string(ictx_log_at(c, i)));
	}
	return log;
}

/* The peaks the summary reports, over the sampled rows and the final
 * values: live bytes and the "inflight" metric (NaN without one). */
static void run_peaks(const struct ictx *c, const struct run_result *res,
		      double *peak_live, double *inflight_peak)
{
	int inflight_i = metric_index(c, "inflight");

	*peak_live = (double)ictx_status(c)->peak_live;
	*inflight_peak = NAN;
	for (uint32_t r = 0; r < res->nrows; r++) {
		if (res->rows[r].live_total > *peak_live)
			*peak_live = res->rows[r].live_total;
		if (inflight_i >= 0 &&
		    !(res->rows[r].metric[inflight_i] <= *inflight_peak))
			*inflight_peak = res->rows[r].metric[inflight_i];
	}
	if (inflight_i >= 0) {
		int64_t iv = ictx_metric_value(c, "inflight", 0);

		if (!((double)iv <= *inflight_peak))
			*inflight_peak = (double)iv;
	}
}

/* The sampled rows: {interval_ms, columns, rows}. */
static json_t *series_json(const struct ictx *c, const struct run_result *res)
{
	json_t *columns = json_array(), *rows = json_array();
	struct col cols[MAX_COLS];
	size_t nc = series_columns(c, cols, MAX_COLS);

	for (size_t i = 0; i < nc; i++)
		json_array_append_new(columns, json_string(cols[i].name));
	for (uint32_t r = 0; r < res->nrows; r++) {
		json_t *row = json_array();

		for (size_t i = 0; i < nc; i++)
			json_array_append_new(row,
					      results_num(col_value(&cols[i],
								    &res->rows[r])));
		json_array_append_new(rows, row);
	}
	return json_pack("{s:i, s:o, s:o}", "interval_ms", (int)res->interval_ms,
			 "columns", columns, "rows", rows);
}

/* A latency percentile (p in 0..1; 1 is the max), null without samples. */
static json_t *lat_ns(const struct ictx_hist_snap *lat, double p)
{
	if (!lat->count)
		return json_null();
	return json_integer(p >= 1 ? (json_int_t)lat->max
				   : (json_int_t)ictx_hist_percentile(lat, p));
}

/* The record's "summary": the figures tables and the report show. */
static json_t *summary_json(const struct ictx *c, const struct run_result *res,
			    const struct ictx_hist_snap *lat)
{
	const struct ictx_status *st = ictx_status(c);
	int64_t ops = ictx_metric_value(c, "ops", -1);
	double peak_live, inflight_peak, run_s;

	run_peaks(c, res, &peak_live, &inflight_peak);
	run_s = st->run_ended_s > 0 ? st->run_ended_s - st->run_started_s
	      : st->run_started_s > 0 && res->nrows
		      ? res->rows[res->nrows - 1].t_s - st->run_started_s
		      : 0;
	return json_pack(
		"{s:I, s:o, s:o, s:o, s:o, s:{s:o, s:o, s:o}, s:o}",
		"peak_rss_bytes", (json_int_t)res->peak_rss, "peak_live_bytes",
		results_num(peak_live), "inflight_peak",
		results_num(inflight_peak), "ops",
		jint_or_null(ops >= 0, ops), "throughput_ops_s",
		results_num(ops >= 0 && run_s > 0 ? (double)ops / run_s : NAN),
		"latency_ns", "p50", lat_ns(lat, 0.5), "p99", lat_ns(lat, 0.99),
		"max", lat_ns(lat, 1), "time_to_outcome_s",
		results_num(res->time_to_outcome_s));
}

/* {"name": "SIGSEGV", "number": 11}, or null without a signal. */
static json_t *signal_json(int sig)
{
	char nm[32];

	if (!sig)
		return json_null();
	snprintf(nm, sizeof(nm), "SIG%s",
		 sigabbrev_np(sig) ? sigabbrev_np(sig) : "?");
	return json_pack("{s:s, s:i}", "name", nm, "number", sig);
}

/* Which cap ended the run and when, or null. */
static json_t *oom_json(const struct run_result *res)
{
	if (!res->oom_cap)
		return json_null();
	return json_pack("{s:s, s:o, s:o, s:o}", "cap", res->oom_cap, "at_s",
			 results_num(res->oom_at_s), "tag",
			 jstr_or_null(res->oom_tag), "grew_most",
			 jstr_or_null(res->oom_grew_most));
}

static json_t *caps_json(const struct run_result *res)
{
	return json_pack("{s:I, s:I, s:o, s:f, s:i}", "mem_cap_bytes",
			 (json_int_t)res->mem_cap, "budget_bytes",
			 (json_int_t)res->budget, "rlimit_as_bytes",
			 jint_or_null(res->rlimit_as != 0,
				      (long long)res->rlimit_as),
			 "timeout_s", res->timeout_s, "watchdog_ms", 10);
}

/* The child's stderr bytes, any, cut anywhere: escaped to clean text
 * (escapes can quadruple them). */
static json_t *stderr_json(const char *raw)
{
	size_t cap = strlen(raw) * 4 + 1;
	char *tail = malloc(cap);
	json_t *s;

	if (tail)
		text_clean(tail, cap, raw);
	s = json_string(tail ? tail : "");
	free(tail);
	return s;
}

/* What ran: incident, variant, runtime, rep, seed, threads, seconds,
 * size, map flags, parameters. */
static void set_what_ran(json_t *j, const struct run_spec *spec,
			 const struct run_result *res)
{
	json_object_set_new(j, "schema_version",
			    json_integer(RESULTS_SCHEMA_VERSION));
	json_object_set_new(j, "incident", json_string(spec->inc->name));
	json_object_set_new(j, "variant", json_string(spec->variant));
	/* a "go-" variant ran the incident's Go twin (runner/gochild.c) */
	json_object_set_new(j, "runtime", json_string(strncmp(spec->variant, "go-", 3)
							  ? "c" : "go"));
	json_object_set_new(j, "rep", json_integer(spec->rep));
	json_object_set_new(j, "seed", json_integer((json_int_t)spec->seed));
	json_object_set_new(j, "threads", json_integer(ictx_threads(res->ctx)));
	json_object_set_new(j, "seconds", json_real(res->seconds));
	json_object_set_new(j, "size", json_string(spec->size == ICTX_SIZE_FULL
							   ? "full"
							   : "quick"));
	json_object_set_new(j, "map_flags", json_integer(spec->map_flags));
	json_object_set_new(j, "params", params_json(res->ctx));
}

/* How it ended: outcome, signal, exit status, detector, oom, error,
 * phase, pid, duration, rusage, times, caps. */
static void set_how_it_ended(json_t *j, const struct run_result *res)
{
	char t1[40], t2[40];

	results_iso_time(res->started, t1, sizeof(t1));
	results_iso_time(res->finished, t2, sizeof(t2));
	json_object_set_new(j, "outcome", json_string(run_outcome_name(res->outcome)));
	json_object_set_new(j, "signal", signal_json(res->signal));
	json_object_set_new(j, "exit_status",
			    jint_or_null(res->exit_status >= 0, res->exit_status));
	json_object_set_new(j, "detector", jstr_clean(res->detector));
	json_object_set_new(j, "oom", oom_json(res));
	json_object_set_new(j, "error", jstr_clean(res->error));
	json_object_set_new(j, "phase",
			    json_string(ictx_phase_name(ictx_status(res->ctx)->phase)));
	json_object_set_new(j, "child_pid", json_integer(res->child_pid));
	json_object_set_new(j, "duration_s", json_real(res->duration_s));
	json_object_set_new(j, "rusage",
			    json_pack("{s:f, s:f, s:I}", "user_s", res->cpu_user_s,
				      "sys_s", res->cpu_sys_s, "maxrss_bytes",
				      (json_int_t)res->maxrss_bytes));
	json_object_set_new(j, "started", json_string(t1));
	json_object_set_new(j, "finished", json_string(t2));
	json_object_set_new(j, "caps", caps_json(res));
}

/* The record, its keys always in this order (people read the file): what
 * ran, how it ended, what the child measured. */
json_t *results_run_json(const struct run_spec *spec,
			 const struct run_result *res)
{
	const struct ictx *c = res->ctx;
	struct ictx_hist_snap lat;
	json_t *j = json_object(), *hists = hists_json(c, &lat);

	set_what_ran(j, spec, res);
	set_how_it_ended(j, res);
	json_object_set_new(j, "symptoms", symptoms_json(c, res));
	json_object_set_new(j, "summary", summary_json(c, res, &lat));
	json_object_set_new(j, "metrics_final", metrics_json(c));
	json_object_set_new(j, "histograms", hists);
	json_object_set_new(j, "log", log_json(c));
	json_object_set_new(j, "log_dropped",
			    json_integer((json_int_t)ictx_log_dropped(c)));
	json_object_set_new(j, "stderr_tail", stderr_json(res->stderr_tail));
	json_object_set_new(j, "series", series_json(c, res));
	return j;
}

/* ---- the folder ------------------------------------------------------ */

static int mkdir_p1(const char *path)
{
	if (mkdir(path, 0755) != 0 && errno != EEXIST)
		return -errno;
	return 0;
}

/* True when dir holds nothing but INCOMPLETE. */
static bool only_marker(const char *dir)
{
	DIR *dd = opendir(dir);
	struct dirent *e;
	bool only = true;

	if (!dd)
		return false;
	while ((e = readdir(dd)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..") &&
		    strcmp(e->d_name, "INCOMPLETE"))
			only = false;
	closedir(dd);
	return only;
}

/*
 * Claim d->path for this process: INCOMPLETE created with O_EXCL, then an
 * exclusive flock held on it until results_close() (a reader tests it with
 * results_writer()).  A folder another writer claimed, or that filled up
 * between the caller's emptiness check and the claim, is refused with
 * -EBUSY / -EEXIST and left exactly as it was.
 */
static int claim(struct results_dir *d, char *err, size_t errlen)
{
	char path[PATH_MAX + 16], text[96];
	int fd, n;

	snprintf(path, sizeof(path), "%s/INCOMPLETE", d->path);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0 && errno == EEXIST) {
		snprintf(err, errlen, "--out %s is being written by another "
			 "maplab run (or was left interrupted); pick a new "
			 "folder", d->path);
		return -EBUSY;
	}
	if (fd < 0) {
		int e = errno;

		snprintf(err, errlen, "cannot write into %s: %s", d->path,
			 strerror(e));
		return -e;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) != 0 || !only_marker(d->path)) {
		unlink(path);
		close(fd);
		snprintf(err, errlen, "--out %s was filled by another writer "
			 "meanwhile; pick a new folder", d->path);
		return -EEXIST;
	}
	n = snprintf(text, sizeof(text), "runs in progress or interrupted "
		     "(maplab pid %d)\n", (int)getpid());
	if (write(fd, text, (size_t)n) != n || fsync(fd) != 0) {
		int e = errno ? errno : EIO;

		unlink(path);
		close(fd);
		snprintf(err, errlen, "cannot write into %s: %s", d->path,
			 strerror(e));
		return -e;
	}
	d->claim_fd = fd;
	return fsync_dir_of(path);
}

int results_writer(const char *dir)
{
	char path[PATH_MAX + 16], text[128] = "";
	const char *pid;
	int fd, pidv = 0;
	ssize_t n;

	snprintf(path, sizeof(path), "%s/INCOMPLETE", dir);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	if (flock(fd, LOCK_SH | LOCK_NB) == 0) {
		close(fd); /* nobody holds it: an interrupted writer */
		return 0;
	}
	n = read(fd, text, sizeof(text) - 1);
	close(fd);
	text[n > 0 ? n : 0] = '\0';
	pid = strstr(text, "pid ");
	if (pid)
		pidv = atoi(pid + 4);
	return pidv > 0 ? pidv : -1;
}

int results_open(struct results_dir *d, const char *out, const char *label,
		 const char *kind, int argc, char **argv, char *err,
		 size_t errlen)
{
	char sub[PATH_MAX + 16], stamp[32];
	time_t now = time(NULL);
	struct tm tm;
	int rc;

	memset(d, 0, sizeof(*d));
	d->claim_fd = -1;
	localtime_r(&now, &tm);
	gmtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%Y%m%d-%H%M%S", &tm);
	if (out) {
		const char *base;

		rc = results_check_out(out, err, errlen);
		if (rc)
			return rc;
		snprintf(d->path, sizeof(d->path), "%s", out);
		while (strlen(d->path) > 1 && d->path[strlen(d->path) - 1] == '/')
			d->path[strlen(d->path) - 1] = '\0';
		base = strrchr(d->path, '/');
		snprintf(d->run_id, sizeof(d->run_id), "%.127s",
			 base ? base + 1 : d->path);
		rc = mkdir_p1(d->path);
	} else {
		rc = mkdir_p1(RESULTS_ROOT);
		if (rc) {
			snprintf(err, errlen, "cannot create %s/ here: %s; run "
				 "from a folder you can write to, or pass --out "
				 "DIR", RESULTS_ROOT, strerror(-rc));
			return rc;
		}
		for (int i = 1; !rc && i < 100; i++) {
			if (i == 1)
				snprintf(d->run_id, sizeof(d->run_id), "%s-%s",
					 stamp, label);
			else
				snprintf(d->run_id, sizeof(d->run_id), "%s-%s-%d",
					 stamp, label, i);
			snprintf(d->path, sizeof(d->path), "%s/%s",
				 RESULTS_ROOT, d->run_id);
			if (mkdir(d->path, 0755) == 0)
				break;
			if (errno != EEXIST)
				rc = -errno;
		}
		d->under_root = true;
	}
	if (rc) {
		snprintf(err, errlen, "cannot create %s: %s", d->path,
			 strerror(-rc));
		return rc;
	}
	rc = claim(d, err, errlen);
	if (rc)
		return rc;
	snprintf(sub, sizeof(sub), "%s/runs", d->path);
	rc = mkdir_p1(sub);
	snprintf(sub, sizeof(sub), "%s/data", d->path);
	if (!rc)
		rc = mkdir_p1(sub);
	if (rc) {
		snprintf(err, errlen, "cannot write into %s: %s", d->path,
			 strerror(-rc));
		close(d->claim_fd);
		d->claim_fd = -1;
		return rc;
	}
	d->manifest = results_manifest_base(d->run_id, kind, argc, argv);
	d->summary_runs = json_array();
	snprintf(sub, sizeof(sub), "%s/manifest.json", d->path);
	rc = results_write_json(sub, d->manifest);
	if (rc)
		snprintf(err, errlen, "cannot write %s: %s", sub, strerror(-rc));
	return rc;
}

static void csv_field(FILE *f, const char *s)
{
	if (!s)
		return;
	if (strpbrk(s, ",\"\n")) {
		fputc('"', f);
		for (; *s; s++) {
			if (*s == '"')
				fputc('"', f);
			fputc(*s, f);
		}
		fputc('"', f);
	} else {
		fputs(s, f);
	}
}

static void csv_num(FILE *f, const json_t *v)
{
	if (json_is_integer(v))
		fprintf(f, "%lld", (long long)json_integer_value(v));
	else if (json_is_real(v))
		fprintf(f, "%.6g", json_real_value(v));
	else if (json_is_string(v))
		csv_field(f, json_string_value(v));
}

/* The union of the runs' symptom names: they become sym_<name> columns. */
static json_t *symptom_names(json_t *runs)
{
	json_t *names = json_object(), *e;
	size_t i;

	json_array_foreach(runs, i, e) {
		const char *k;
		json_t *v;

		json_object_foreach(json_object_get(e, "symptoms"), k, v)
			json_object_set_new(names, k, json_true());
	}
	return names;
}

static void csv_header(FILE *f, json_t *names)
{
	const char *k;
	json_t *v;

	fputs("incident,variant,rep,seed,outcome,signal,detector,oom_cap,"
	      "oom_tag,duration_s,time_to_outcome_s,peak_rss_bytes,"
	      "peak_live_bytes,inflight_peak,ops,throughput_ops_s,lat_p50_ns,"
	      "lat_p99_ns,lat_max_ns", f);
	json_object_foreach(names, k, v)
		fprintf(f, ",sym_%s", k);
	fputc('\n', f);
}

/* One summary entry as a CSV row, in csv_header()'s columns. */
static void csv_row(FILE *f, json_t *e, json_t *names)
{
	static const char *const sums[] = {
		"time_to_outcome_s", "peak_rss_bytes", "peak_live_bytes",
		"inflight_peak", "ops", "throughput_ops_s"};
	static const char *const lats[] = {"p50", "p99", "max"};
	json_t *sm = json_object_get(e, "summary");
	json_t *lat = json_object_get(sm, "latency_ns");
	json_t *oom = json_object_get(e, "oom");
	const char *k;
	json_t *v;

	csv_field(f, json_string_value(json_object_get(e, "incident")));
	fputc(',', f);
	csv_field(f, json_string_value(json_object_get(e, "variant")));
	fputc(',', f);
	csv_num(f, json_object_get(e, "rep"));
	fputc(',', f);
	csv_num(f, json_object_get(e, "seed"));
	fputc(',', f);
	csv_field(f, json_string_value(json_object_get(e, "outcome")));
	fputc(',', f);
	csv_field(f, json_string_value(json_object_get(
			     json_object_get(e, "signal"), "name")));
	fputc(',', f);
	csv_field(f, json_string_value(json_object_get(e, "detector")));
	fputc(',', f);
	csv_field(f, json_string_value(json_object_get(oom, "cap")));
	fputc(',', f);
	csv_field(f, json_string_value(json_object_get(oom, "tag")));
	fputc(',', f);
	csv_num(f, json_object_get(e, "duration_s"));
	for (size_t i = 0; i < sizeof(sums) / sizeof(sums[0]); i++) {
		fputc(',', f);
		csv_num(f, json_object_get(sm, sums[i]));
	}
	for (size_t i = 0; i < sizeof(lats) / sizeof(lats[0]); i++) {
		fputc(',', f);
		csv_num(f, json_object_get(lat, lats[i]));
	}
	json_object_foreach(names, k, v) {
		fputc(',', f);
		csv_num(f, json_object_get(json_object_get(e, "symptoms"), k));
	}
	fputc('\n', f);
}

/* summary.json and summary.csv, from d->summary_runs. */
static int write_summary(struct results_dir *d)
{
	char path[PATH_MAX + 32];
	json_t *s = json_pack("{s:i, s:s, s:O}", "schema_version",
			      RESULTS_SCHEMA_VERSION, "run_id", d->run_id,
			      "runs", d->summary_runs);
	json_t *names = NULL, *e;
	char *csv = NULL;
	size_t csvlen = 0;
	FILE *f;
	size_t i;
	int rc;

	snprintf(path, sizeof(path), "%s/summary.json", d->path);
	rc = results_write_json(path, s);
	json_decref(s);
	if (rc)
		goto out;
	names = symptom_names(d->summary_runs);
	f = open_memstream(&csv, &csvlen);
	if (!f) {
		rc = -ENOMEM;
		goto out;
	}
	csv_header(f, names);
	json_array_foreach(d->summary_runs, i, e)
		csv_row(f, e, names);
	fclose(f);
	snprintf(path, sizeof(path), "%s/summary.csv", d->path);
	rc = results_write_file(path, csv, csvlen);
out:
	free(csv);
	json_decref(names);
	return rc;
}

/* The record indented for people, its series compact (one line per row
 * would multiply the size by ten): both halves dumped by jansson, spliced
 * before the closing brace. */
static int write_run_file(const char *path, json_t *run)
{
	json_t *series = json_incref(json_object_get(run, "series"));
	json_t *rows = json_object_get(series, "rows");
	char *head = NULL, *ser = NULL, *buf = NULL;
	size_t hl, n = 0, cap;
	int rc = -ENOMEM;

	if (!series)
		return results_write_json(path, run);
	json_object_del(run, "series");
	head = json_dumps(run, JSON_INDENT(1) | JSON_REAL_PRECISION(10) |
				       JSON_ENSURE_ASCII);
	json_object_set(run, "series", series);
	ser = json_dumps(series, JSON_COMPACT | JSON_REAL_PRECISION(10));
	if (!head || !ser)
		goto out;
	hl = strlen(head);
	while (hl && head[hl - 1] != '}')
		hl--;
	if (!hl)
		goto out;
	hl--; /* drop the closing brace */
	while (hl && (head[hl - 1] == '\n' || head[hl - 1] == ' '))
		hl--;
	cap = hl + strlen(ser) + json_array_size(rows) + 64;
	buf = malloc(cap);
	if (!buf)
		goto out;
	memcpy(buf, head, hl);
	n = hl;
	n += (size_t)snprintf(buf + n, cap - n, ",\n \"series\": ");
	/* one row per line: "],[" -> "],\n[" inside rows */
	for (const char *p = ser; *p; p++) {
		buf[n++] = *p;
		if (p[0] == ']' && p[1] == ',' && p[2] == '[' && n + 2 < cap) {
			buf[n++] = ',';
			buf[n++] = '\n';
			p++;
		}
	}
	n += (size_t)snprintf(buf + n, cap - n, "\n}\n");
	rc = results_write_file(path, buf, n);
out:
	json_decref(series);
	free(head);
	free(ser);
	free(buf);
	return rc;
}

int results_add_run(struct results_dir *d, const struct run_spec *spec,
		    const struct run_result *res)
{
	char name[256], path[PATH_MAX + 300];
	json_t *run = results_run_json(spec, res), *e;
	int rc;

	if (!run)
		return -ENOMEM;
	results_run_name(spec, name, sizeof(name));
	snprintf(path, sizeof(path), "%s/runs/%s.json", d->path, name);
	rc = write_run_file(path, run);
	snprintf(path, sizeof(path), "%s/data/%s.dat", d->path, name);
	if (!rc)
		rc = write_dat(path, res);
	e = json_object();
	static const char *const keys[] = {"incident", "variant",  "runtime", "rep",
					   "seed",     "outcome",  "signal",
					   "detector", "oom",      "error",
					   "duration_s", "symptoms", "summary"};
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		json_object_set(e, keys[i], json_object_get(run, keys[i]));
	json_object_set_new(e, "file", json_sprintf("runs/%s.json", name));
	json_object_set_new(e, "data", json_sprintf("data/%s.dat", name));
	json_array_append_new(d->summary_runs, e);
	json_decref(run);
	if (!rc)
		rc = write_summary(d);
	if (!rc) {
		snprintf(path, sizeof(path), "%s/manifest.json", d->path);
		rc = results_write_json(path, d->manifest);
	}
	return rc;
}

int results_close(struct results_dir *d, bool complete)
{
	char path[PATH_MAX + 32], when[40];
	int rc;

	results_iso_time(now_wall(), when, sizeof(when));
	json_object_set_new(d->manifest, "finished", json_string(when));
	json_object_set_new(d->manifest, "complete", json_boolean(complete));
	rc = write_summary(d);
	snprintf(path, sizeof(path), "%s/manifest.json", d->path);
	if (!rc)
		rc = results_write_json(path, d->manifest);
	if (!rc && complete) {
		snprintf(path, sizeof(path), "%s/INCOMPLETE", d->path);
		if (unlink(path) != 0 && errno != ENOENT)
			rc = -errno;
		else
			rc = fsync_dir_of(path);
	}
	if (d->under_root) {
		/* results/latest -> <run-id>, replaced atomically */
		char tmp[PATH_MAX];

		snprintf(tmp, sizeof(tmp), "%s/.latest.tmp.%d", RESULTS_ROOT,
			 (int)getpid());
		unlink(tmp);
		if (symlink(d->run_id, tmp) == 0) {
			snprintf(path, sizeof(path), "%s/latest", RESULTS_ROOT);
			if (rename(tmp, path) != 0)
				unlink(tmp);
		}
	}
	json_decref(d->manifest);
	json_decref(d->summary_runs);
	d->manifest = d->summary_runs = NULL;
	if (d->claim_fd >= 0)
		close(d->claim_fd); /* releases the writer's flock */
	d->claim_fd = -1;
	return rc;
}

/* ---- loading -------------------------------------------------------- */

int results_resolve(const char *arg, char *out, size_t len, char *err,
		    size_t errlen)
{
	struct stat st;
	char buf[PATH_MAX];

	if (!arg || !strcmp(arg, "latest"))
		snprintf(buf, sizeof(buf), "%s/latest", RESULTS_ROOT);
	else if (stat(arg, &st) == 0)
		snprintf(buf, sizeof(buf), "%s", arg);
	else
		snprintf(buf, sizeof(buf), "%s/%s", RESULTS_ROOT, arg);
	if (stat(buf, &st) != 0 || !S_ISDIR(st.st_mode)) {
		snprintf(err, errlen,
			 "no results folder '%s'; run `maplab matrix` first or "
			 "name a folder under %s/", arg ? arg : "latest",
			 RESULTS_ROOT);
		return -ENOENT;
	}
	{
		char real[PATH_MAX];

		if (!realpath(buf, real))
			return -errno;
		snprintf(out, len, "%s", real);
	}
	return 0;
}

json_t *results_load(const char *dir, const char *rel, char *err,
		     size_t errlen)
{
	char path[PATH_MAX * 2];
	json_error_t je;
	json_t *j;

	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	j = json_load_file(path, JSON_ALLOW_NUL, &je);
	if (!j && err)
		snprintf(err, errlen, "%s: %s (line %d)", path, je.text, je.line);
	return j;
}

int results_load_object(const char *dir, const char *rel, bool required,
			json_t **out, char *err, size_t errlen)
{
	char path[PATH_MAX + 300];
	json_error_t je;

	*out = NULL;
	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	if (access(path, F_OK) != 0) {
		if (!required)
			return 0;
		snprintf(err, errlen,
			 "%s: no %s here; is this a maplab results folder?",
			 dir, rel);
		return -ENOENT;
	}
	*out = json_load_file(path, 0, &je);
	if (!*out) {
		snprintf(err, errlen,
			 "%s: corrupt JSON at line %d: %s; re-run or restore it",
			 path, je.line, je.text);
		return -EINVAL;
	}
	if (!json_is_object(*out)) {
		json_decref(*out);
		*out = NULL;
		snprintf(err, errlen, "%s: not a JSON object", path);
		return -EINVAL;
	}
	return 0;
}

int results_load_record(const char *dir, const char *base, json_t **out,
			char *err, size_t errlen)
{
	char rel[300];

	snprintf(rel, sizeof(rel), "runs/%s.json", base);
	return results_load_object(dir, rel, false, out, err, errlen);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

void results_names_free(char **names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

int results_run_names(const char *dir, char ***names_out, size_t *n_out)
{
	char path[PATH_MAX + 8];
	DIR *d;
	struct dirent *de;
	char **names = NULL;
	size_t n = 0;
	int rc = 0;

	*names_out = NULL;
	*n_out = 0;
	snprintf(path, sizeof(path), "%s/runs", dir);
	d = opendir(path);
	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		size_t l = strlen(de->d_name);
		char **nv;

		if (l < 6 || strcmp(de->d_name + l - 5, ".json") != 0 ||
		    de->d_name[0] == '.')
			continue;
		nv = realloc(names, (n + 1) * sizeof(*nv));
		if (nv)
			names = nv;
		if (!nv || !(names[n] = strndup(de->d_name, l - 5))) {
			rc = -ENOMEM;
			break;
		}
		n++;
	}
	closedir(d);
	if (rc) {
		results_names_free(names, n);
		return rc;
	}
	if (n > 1) /* names is NULL for an empty runs/ */
		qsort(names, n, sizeof(*names), cmp_str);
	*names_out = names;
	*n_out = n;
	return 0;
}

json_t *results_load_runs(const char *dir, char *err, size_t errlen)
{
	char **names;
	size_t n;
	json_t *arr;
	int rc = results_run_names(dir, &names, &n);

	if (rc) {
		if (err)
			snprintf(err, errlen, "%s/runs: %s", dir, strerror(-rc));
		return NULL;
	}
	arr = json_array();
	for (size_t i = 0; arr && i < n; i++) {
		char rel[PATH_MAX];
		json_t *j;

		snprintf(rel, sizeof(rel), "runs/%s.json", names[i]);
		j = results_load(dir, rel, err, errlen);
		if (!j) {
			json_decref(arr);
			arr = NULL;
			break;
		}
		json_array_append_new(arr, j);
	}
	results_names_free(names, n);
	return arr;
}

bool results_incomplete(const char *dir)
{
	char path[PATH_MAX + 16];

	snprintf(path, sizeof(path), "%s/INCOMPLETE", dir);
	return access(path, F_OK) == 0;
}

/* The numeric fields of the view, by their dotted path in the record:
 * results_view fills them, results_view_complete completes them and
 * results_view_field looks them up from this one list. */
static const struct {
	const char *path;
	size_t off;
} view_fields[] = {
#define VF(p, f) { p, offsetof(struct results_run_view, f) }
	VF("duration_s", duration_s),
	VF("seconds", seconds),
	VF("oom.at_s", oom_at_s),
	VF("source.index", source_index),
	VF("summary.ops", ops),
	VF("summary.throughput_ops_s", ops_per_s),
	VF("summary.latency_ns.p50", p50_ns),
	VF("summary.latency_ns.p99", p99_ns),
	VF("summary.latency_ns.max", max_ns),
	VF("summary.peak_rss_bytes", peak_rss_bytes),
	VF("summary.peak_live_bytes", peak_live_bytes),
	VF("summary.inflight_peak", inflight_peak),
	VF("summary.time_to_outcome_s", time_to_outcome_s),
#undef VF
};
#define N_VIEW_FIELDS (sizeof(view_fields) / sizeof(view_fields[0]))

static double view_get(const struct results_run_view *v, size_t i)
{
	double d;

	memcpy(&d, (const char *)v + view_fields[i].off, sizeof(d));
	return d;
}

static void view_set(struct results_run_view *v, size_t i, double d)
{
	memcpy((char *)v + view_fields[i].off, &d, sizeof(d));
}

/* The number at a dotted path ("summary.latency_ns.p99"), NaN when
 * absent or of another type. */
static double num_path(const json_t *obj, const char *path)
{
	char key[64];

	while (obj && *path) {
		size_t len = strcspn(path, ".");

		if (len >= sizeof(key))
			return NAN;
		memcpy(key, path, len);
		key[len] = '\0';
		obj = json_object_get(obj, key);
		path += len + (path[len] == '.');
	}
	return json_is_number(obj) ? json_number_value(obj) : NAN;
}

/* A string at key, NULL when absent or of another type. */
static const char *str_at(const json_t *obj, const char *key)
{
	return json_string_value(json_object_get(obj, key));
}

bool results_view(const json_t *run, struct results_run_view *v)
{
	json_t *oom = json_object_get(run, "oom");
	json_t *rep = json_object_get(run, "rep");
	json_t *sy = json_object_get(run, "symptoms");
	const char *k;
	json_t *x;

	memset(v, 0, sizeof(*v));
	v->incident = str_at(run, "incident");
	v->variant = str_at(run, "variant");
	v->outcome = str_at(run, "outcome");
	v->rep = json_is_integer(rep) ? (long long)json_integer_value(rep) : -1;
	v->signal = str_at(json_object_get(run, "signal"), "name");
	v->detector = str_at(run, "detector");
	v->oom_cap = str_at(oom, "cap");
	v->oom_tag = str_at(oom, "tag");
	v->error = str_at(run, "error");
	v->stderr_tail = str_at(run, "stderr_tail");
	for (size_t i = 0; i < N_VIEW_FIELDS; i++)
		view_set(v, i, num_path(run, view_fields[i].path));
	v->symptoms = json_is_object(sy) ? sy : NULL;
	json_object_foreach(v->symptoms, k, x)
		if (json_is_number(x) && json_number_value(x) > 0)
			v->symptoms_positive++;
	return v->incident && v->variant && v->outcome;
}

#define FILL_STR(f) (v->f = v->f ? v->f : from->f)

void results_view_complete(struct results_run_view *v,
			   const struct results_run_view *from)
{
	FILL_STR(incident); FILL_STR(variant); FILL_STR(outcome);
	FILL_STR(signal); FILL_STR(detector); FILL_STR(oom_cap);
	FILL_STR(oom_tag); FILL_STR(error); FILL_STR(stderr_tail);
	for (size_t i = 0; i < N_VIEW_FIELDS; i++)
		if (isnan(view_get(v, i)))
			view_set(v, i, view_get(from, i));
	if (v->rep < 0)
		v->rep = from->rep;
	if (!v->symptoms) {
		v->symptoms = from->symptoms;
		v->symptoms_positive = from->symptoms_positive;
	}
}

#undef FILL_STR

double results_view_field(const struct results_run_view *v, const char *path)
{
	for (size_t i = 0; i < N_VIEW_FIELDS; i++)
		if (strcmp(view_fields[i].path, path) == 0)
			return view_get(v, i);
	return NAN;
}

void results_view_name(const struct results_run_view *v, char *buf,
		       size_t len)
{
	snprintf(buf, len, "%s.%s.r%lld", v->incident ? v->incident : "?",
		 v->variant ? v->variant : "?", v->rep);
}

json_t *results_caps_json(uint64_t mem_cap, uint64_t budget,
			  uint64_t rlimit_as, double timeout_s)
{
	return json_pack("{s:I, s:I, s:o, s:f, s:i, s:s}",
			 "mem_cap_bytes", (json_int_t)mem_cap,
			 "budget_bytes", (json_int_t)budget,
			 "rlimit_as_bytes",
			 rlimit_as ? json_integer((json_int_t)rlimit_as) : json_null(),
			 "timeout_s", timeout_s, "watchdog_ms", 10,
			 "rule",
			 "budget (counted live bytes) < mem_cap (RSS, "
			 "watchdog) < rlimit_as (virtual, plain builds)");
}

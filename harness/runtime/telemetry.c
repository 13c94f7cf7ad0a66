/*
 * harness/runtime/telemetry.c - This file contains the shared sample ring
 * (harness/runtime/telemetry.h): one writer, the run's monitor thread; readers only
 * once the writer is gone.
 *
 * Invariants: rows[0..count) are complete and in time order, except
 * possibly right after a kill during decimation (readers filter).  stride
 * is a power of two; a tick is kept when tick % stride == 0 (or forced).
 * mallinfo2() is called at most every 100 ms: it walks and locks every
 * malloc arena, which costs milliseconds after heavy churn.
 */
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "harness/runtime/telemetry.h"

#define MALLINFO_EVERY_S 0.1

static size_t ring_bytes(uint32_t capacity)
{
	return sizeof(struct telemetry) + (size_t)capacity * sizeof(struct tel_row);
}

struct telemetry *telemetry_create(uint32_t capacity, unsigned interval_ms)
{
	struct telemetry *t;
	const char *trace = getenv("MAPLAB_MALLOC_TRACE");

	if (capacity < 16)
		capacity = 16;
	t = mmap(NULL, ring_bytes(capacity), PROT_READ | PROT_WRITE,
		 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (t == MAP_FAILED)
		return NULL;
	t->interval_ms = interval_ms ? interval_ms : 10;
	t->stride = 1;
	t->capacity = capacity;
	t->last_mallinfo_s = -1;
	t->malloc_trace = trace && strcmp(trace, "1") == 0;
	return t;
}

void telemetry_destroy(struct telemetry *t)
{
	if (t)
		munmap(t, ring_bytes(t->capacity));
}

static uint64_t statm_rss(const char *path)
{
	char buf[128];
	unsigned long size, rss;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	if (sscanf(buf, "%lu %lu", &size, &rss) != 2)
		return 0;
	return (uint64_t)rss * (uint64_t)sysconf(_SC_PAGESIZE);
}

uint64_t telemetry_self_rss(void)
{
	return statm_rss("/proc/self/statm");
}

uint64_t telemetry_pid_rss(int pid)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/statm", pid);
	return statm_rss(path);
}

/* Keep every other row; the writer alone moves rows. */
static void decimate(struct telemetry *t)
{
	uint32_t n = atomic_load_explicit(&t->count, memory_order_relaxed);

	atomic_store_explicit(&t->decimating, 1, memory_order_relaxed);
	for (uint32_t i = 1; 2 * i < n; i++)
		t->rows[i] = t->rows[2 * i];
	/* release: the moved rows are complete before the smaller count */
	atomic_store_explicit(&t->count, (n + 1) / 2, memory_order_release);
	atomic_store_explicit(&t->decimating, 0, memory_order_release);
	t->stride *= 2;
}

bool telemetry_due(struct telemetry *t, bool force)
{
	t->tick++;
	return force || (t->tick - 1) % t->stride == 0;
}

void telemetry_push(struct telemetry *t, const struct tel_row *row, bool force)
{
	struct tel_row *r;
	uint32_t n;
	double t_s = row->t_s;

	n = atomic_load_explicit(&t->count, memory_order_relaxed);
	if (n == t->capacity) {
		decimate(t);
		n = atomic_load_explicit(&t->count, memory_order_relaxed);
	}
	r = &t->rows[n];
	*r = *row;
	r->rss_bytes = (double)telemetry_self_rss();
	r->mi_arena = r->mi_hblkhd = r->mi_uordblks = r->mi_fordblks = NAN;
	r->frag = NAN;
	if (force || t->last_mallinfo_s < 0 ||
	    t_s - t->last_mallinfo_s >= MALLINFO_EVERY_S) {
		struct mallinfo2 mi = mallinfo2();
		double total = (double)mi.arena + (double)mi.hblkhd;

		t->last_mallinfo_s = t_s;
		r->mi_arena = (double)mi.arena;
		r->mi_hblkhd = (double)mi.hblkhd;
		r->mi_uordblks = (double)mi.uordblks;
		r->mi_fordblks = (double)mi.fordblks;
		/* uordblks counts arena chunks in use; mmapped chunks are
		 * in use by definition, so in-use = uordblks + hblkhd */
		r->frag = total > 0 ? (total - (double)mi.uordblks -
				       (double)mi.hblkhd) / total
				    : 0;
		if (r->frag < 0)
			r->frag = 0;
		if (t->malloc_trace)
			fprintf(stderr,
				"malloc-trace: t=%.3fs arena=%.1fMiB mmap=%.1fMiB "
				"inuse=%.1fMiB free=%.1fMiB frag=%.1f%% "
				"live=%.1fMiB rss=%.1fMiB\n",
				t_s, mi.arena / 1048576.0, mi.hblkhd / 1048576.0,
				mi.uordblks / 1048576.0, mi.fordblks / 1048576.0,
				100 * r->frag, r->live_total / 1048576.0,
				r->rss_bytes / 1048576.0);
	}
	/* release: the row is complete before it is counted */
	atomic_store_explicit(&t->count, n + 1, memory_order_release);
}

uint32_t telemetry_rows(const struct telemetry *t, struct tel_row *out)
{
	uint32_t n = atomic_load_explicit(&t->count, memory_order_acquire);
	uint32_t k = 0;

	if (n > t->capacity)
		n = t->capacity;
	for (uint32_t i = 0; i < n; i++) {
		if (k && !(t->rows[i].t_s > out[k - 1].t_s))
			continue;
		out[k++] = t->rows[i];
	}
	return k;
}

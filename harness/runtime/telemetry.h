/*
 * harness/runtime/telemetry.h - the sample ring a run's monitor thread writes and
 * the parent reads.
 *
 * The ring is one anonymous MAP_SHARED mapping made by the parent before it
 * forks the child, so every sample the child has finished writing is
 * visible to the parent even after the child crashed or was SIGKILLed: a
 * crash loses at most the sample being written.  One writer (the child's
 * monitor thread), readers only after the child is gone (or, in-process,
 * after the monitor joined).  `count` is stored with release after a row is
 * complete, so a reader that loads it with acquire sees whole rows.
 *
 * When the ring is full the writer decimates: it keeps every other row and
 * doubles its stride (it then keeps one tick in 2, 4, ...), so any run
 * length fits and the series keeps its shape.  A kill in the middle of a
 * decimation can leave rows out of time order; readers drop a row whose
 * time is not after the previous one.
 *
 * A row holds: t, RSS, allocator live bytes (total and per tag), every
 * incident metric (by registration index), p50/p99/max of every histogram
 * over the interval since the previous row, the interval's histogram
 * count, and mallinfo2 figures (NaN between mallinfo2 samples, which are
 * taken at most every 100 ms because mallinfo2 locks every arena).
 */
#ifndef MAPLAB_HARNESS_TELEMETRY_H
#define MAPLAB_HARNESS_TELEMETRY_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "incidents/incident.h" /* ICTX_MAX_METRICS, ICTX_MAX_HISTS */
#include "maps/alloc.h"

struct tel_row {
	double t_s;                       /* seconds since setup started */
	double rss_bytes;
	double live_total;                /* allocator live bytes */
	double live[ML_TAG_COUNT];        /* per tag */
	double metric[ICTX_MAX_METRICS];  /* by registration index; NaN unset */
	double hist_p50[ICTX_MAX_HISTS];  /* ns, over the interval; NaN if none */
	double hist_p99[ICTX_MAX_HISTS];
	double hist_max[ICTX_MAX_HISTS];
	double hist_n[ICTX_MAX_HISTS];    /* values recorded in the interval */
	double mi_arena, mi_hblkhd, mi_uordblks, mi_fordblks; /* NaN = not sampled */
	double frag;                      /* (arena+hblkhd-uord)/(arena+hblkhd) */
};

struct telemetry {
	/* Written by the one monitor thread only. */
	unsigned interval_ms;   /* configured sample period */
	unsigned stride;        /* keep one tick in `stride` (decimation) */
	unsigned tick;          /* ticks seen since start */
	uint32_t capacity;      /* rows */
	_Atomic uint32_t count; /* rows complete; release-stored by the writer */
	_Atomic uint32_t decimating; /* 1 while rows are being moved */
	double last_mallinfo_s; /* time of the last mallinfo2, -1 = never */
	bool malloc_trace;      /* print a malloc-trace line per mallinfo2 */
	struct tel_row rows[];  /* capacity of them */
};

/* A ring of `capacity` rows (>= 16), shared with future children.
 * NULL on failure (errno set). */
struct telemetry *telemetry_create(uint32_t capacity, unsigned interval_ms);
void telemetry_destroy(struct telemetry *t);
/* The monitor's side (one thread).  Every tick it asks whether the tick
 * is kept (decimation: one in `stride`; a forced tick always is), and for
 * a kept one fills a row - t_s, live bytes, metrics, histogram figures -
 * and pushes it; telemetry adds RSS and the mallinfo2 figures.  The ring
 * never reads anything back out of the context. */
bool telemetry_due(struct telemetry *t, bool force);
void telemetry_push(struct telemetry *t, const struct tel_row *row, bool force);
/* Rows readable now (drops out-of-order rows into *n, copying into out,
 * which must have room for t->capacity rows).  Returns the row count. */
uint32_t telemetry_rows(const struct telemetry *t, struct tel_row *out);
/* RSS of this process from /proc/self/statm, bytes; 0 on failure. */
uint64_t telemetry_self_rss(void);
/* RSS of pid from /proc/<pid>/statm, bytes; 0 when gone. */
uint64_t telemetry_pid_rss(int pid);

#endif

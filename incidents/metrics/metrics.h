/*
 * incidents/metrics/metrics.h - private to the metrics incident and its
 * test (tests/check_incident_metrics.c): the run state, the counter and
 * request layouts, and the series key format.  Nothing else includes it;
 * the harness sees the incident only through incidents/incident.h.
 *
 * Locking and ordering rules for every field are in metrics.c's opening
 * comment; each field below says what protects it.
 */
#ifndef MAPLAB_INCIDENT_METRICS_H
#define MAPLAB_INCIDENT_METRICS_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "incidents/incident.h"
#include "maps/map.h"

#define COUNTER_LIVE 0x4d455452u /* "METR" */
#define COUNTER_DEAD 0xdeadc0deu
#define METRICS_KEY_MAX 128
#define TICK_NS 1000000ull       /* dispatcher granularity: 1 ms */
#define DISPATCH_CHUNK 256        /* requests handed over at once */
#define PUBLISH_BATCH 32          /* producer metric updates batched */
#define MAX_PRODUCERS 256
#define EXPORT_BUF (64 * 1024)    /* the walk's export buffer */
#define PQ_ALIGN 64               /* a cache line */
#define ORACLE_DRAIN_NS 2000000000ull /* wait for deferred releases, */
#define ORACLE_QUIET_NS 250000000ull  /* while they still come */

/* A series' counter: one per series while it lives in the map. */
struct counter {
	_Atomic uint64_t count;   /* not yet rolled up; see file comment */
	_Atomic uint64_t last_ns; /* last bump (relaxed: expiry is a heuristic) */
	_Atomic uint32_t refs;    /* references held (map + producers) */
	uint32_t id;              /* series id; immutable */
	uint32_t magic;           /* COUNTER_LIVE until freed; immutable */
};

/* A push request: queued from arrival to completion. */
struct req {
	struct req *next;    /* queue link, under pq.mu while queued */
	uint64_t arrival_ns; /* scheduled arrival (open loop) */
	uint32_t id;         /* series id */
	uint16_t klen;       /* key length at the front of body */
	uint16_t delta;      /* value to add, 1..8 */
	char body[];         /* key text, then the rest of the push body */
};

struct mstate;

/* One producer: its queue and its private tallies.  Aligned to a cache
 * line so the dispatcher's appends to one queue do not bounce another's
 * lock, and a producer's tallies do not share a line with its neighbour. */
struct pq {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct req *head, *tail; /* under mu */
	bool waiting;            /* under mu: the producer sleeps on cv */
	/* Producer-private; read by the run thread after join. */
	uint64_t applied;        /* sum of deltas added to counters */
	uint64_t served;         /* requests completed */
	uint64_t dropped;        /* requests dropped: allocation refused */
	uint64_t abandoned;      /* requests freed unserved at stop */
	uint64_t map_errors;     /* unexpected map return codes */
	pthread_t tid;
	struct mstate *st;
} __attribute__((aligned(PQ_ALIGN)));

struct mstate {
	struct ictx *ctx;
	struct map *map;
	struct map_value_ops vops;
	bool threadsafe; /* variant has MAP_V_THREADSAFE; immutable */
	bool corrupt;    /* set by the oracle: don't trust the table */

	/* Parameters; immutable after setup. */
	double rate, new_rate, zipf_s;
	uint64_t initial, walk_ns, ttl_ns;
	size_t req_bytes;
	unsigned nprod;

	atomic_bool stop; /* set once by the dispatcher (seq_cst) */

	/* Series ids created so far by the dispatcher's schedule: ids are
	 * [0, universe).  Written by the dispatcher only (relaxed), read by
	 * the aggregator for its walk bound and by the oracle after join. */
	_Atomic uint64_t universe;

	/* Shared tallies (relaxed; exact after join). */
	_Atomic uint64_t released;   /* counts left in counters at free */
	_Atomic int64_t alive;       /* counter objects not yet freed */
	_Atomic int64_t entries;     /* inserts - deletes we made */
	_Atomic uint64_t underflows; /* releases past zero references */
	uint64_t rolled;             /* aggregator-only; read after join */
	uint64_t expired;            /* aggregator-only */
	uint64_t walks, walk_aborts, walk_bad; /* aggregator-only */
	char *out;              /* export buffer (OTHER), NULL if export=0;
				   aggregator-only */
	int out_fd;             /* the export file, -1 if none; immutable */
	uint64_t export_errors; /* failed writes; aggregator-only */
	uint64_t arrivals, disp_dropped;       /* dispatcher-only */

	struct pq *pq; /* nprod queues, inside pq_raw; immutable */
	void *pq_raw;  /* their block (tag QUEUE), PQ_ALIGN-aligned within */
	pthread_t agg_tid;

	/* Telemetry handles, registered in setup. */
	struct ictx_metric *m_inflight, *m_ops, *m_entries, *m_created,
		*m_expired, *m_rolled, *m_dropped, *m_walks, *m_walk_entries,
		*m_promotions, *m_dirty_copied, *m_misses, *m_map_bytes,
		*m_universe, *m_lag;
	struct ictx_hist *h_latency, *h_walk, *h_map_call, *h_map_call_new;
};

/* The series key: a Prometheus-style name with labels, derived from id so
 * the aggregator can rebuild it to delete an expired series. */
static inline int metrics_series_key(uint32_t id, char *buf, size_t len)
{
	return snprintf(buf, len,
			"http_requests_total{service=\"svc-%02u\",route=\"/api/"
			"v1/r%04u\",series=\"%07u\"}",
			id % 37u, id % 1009u, id);
}

/* Report facts (metrics_facts.c), referenced from the descriptor. */
extern const char metrics_story[];
extern const struct incident_seed metrics_seed;
extern const struct incident_keyfig metrics_key_figures[];
extern const struct incident_chart metrics_charts[];

#endif

/*
 * incidents/payment/payment_facts.c - This file contains what the
 * report says about the payment gateway's order cache: its story, the seed
 * article's figures beside the lab's stand-ins, and its own charts.
 *
 * Read-only data, referenced from the incident's descriptor; the report
 * (harness/report) spells out no incident's facts of its own.  Seed
 * figures are quoted from the source article's chapter 3 (README.md,
 * "The article", names it: 3.1 "正常值 vs 泄漏态", 3.3 "未加锁 HashMap vs
 * ConcurrentHashMap"; 3.2 gives no numbers).
 */
#include "incidents/payment/payment.h"

const char payment_story[] =
	"A payment gateway's callback handlers store and update orders "
	"(order id → order with a raw payload of a few hundred bytes) in one shared cache, "
	"while a reaper sweeps the cache, appends each settled order it "
	"evicts to an audit log, and deletes it. The article blames the "
	"unsynchronised map (writers racing on insert, delete and growth) "
	"for a heap that climbed for ten minutes and a pile-up of "
	"goroutines; a lock held through each sweep is the other suspect."
	" In this run: " INCIDENT_STORY_RUNS ".";

static const struct incident_figure figures[] = {
	{ "heap_alloc_bytes → peak live bytes (counting allocator)",
	  "~12 MB", "↑ 327 MB (10 min)",
	  INCIDENT_FIG_FIELD, "summary.peak_live_bytes", INCIDENT_UNIT_MIB },
	{ "(process memory) → peak RSS",
	  "–", "–",
	  INCIDENT_FIG_FIELD, "summary.peak_rss_bytes", INCIDENT_UNIT_MIB },
	{ "goroutines → peak requests in flight",
	  "85–110", "↑ 1,420+",
	  INCIDENT_FIG_FIELD, "summary.inflight_peak", INCIDENT_UNIT_NUM },
	{ "time to crash / OOM",
	  "–", "(not given)",
	  INCIDENT_FIG_TTO, NULL, INCIDENT_UNIT_S },
	{ .figure = NULL },
};

const struct incident_seed payment_seed = {
	.failing_header = "seed: leaking",
	.figures = figures,
	.note = "In Go the unsafe map dies with \"concurrent map writes\" "
		"before it can leak for 10 minutes; in C nothing detects "
		"the race, so the unsafe run corrupts silently and may "
		"leak, lose deletes or crash (see its verdict row). The "
		"seed's goroutine pile-up needs a lock held for long "
		"stretches: compare the locked variants' in-flight peaks.",
};

const struct incident_chart payment_charts[] = {
	{ "sweep", "payment: reaper sweep duration over time",
	  "sweep duration (ms)",
	  "How long each reaper sweep over the order cache took "
	  "(longest and median per sample interval): under one "
	  "global lock, every callback waits this long.",
	  "h_sweep_max_ms", "h_sweep_p50_ms", "longest sweep",
	  "median sweep", NULL, false },
	{ .id = NULL },
};

/* The run/matrix table's key figures. */
const struct incident_keyfig payment_key_figures[] = {
	{ "sweep max", "histograms.sweep.max_ns", "ms", INCIDENT_KF_PATH,
	  1e-6, false },
	{ .label = NULL },
};

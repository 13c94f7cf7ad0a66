/*
 * incidents/metrics/metrics_facts.c - This file contains what the
 * report says about the metrics aggregator: its story, the seed
 * article's figures beside the lab's stand-ins, and its own charts.
 *
 * Read-only data, referenced from the incident's descriptor; the report
 * (harness/report) spells out no incident's facts of its own.  Seed
 * figures are quoted from the source article's chapter 3 (README.md,
 * "The article", names it: 3.1 "正常值 vs 泄漏态", 3.3 "未加锁 HashMap vs
 * ConcurrentHashMap"; 3.2 gives no numbers).
 */
#include "incidents/metrics/metrics.h"

const char metrics_story[] =
	"Producers bump counters keyed by series name (skewed keys, new "
	"series keep appearing) while an aggregator walks the whole map "
	"every period and exports the roll-up, one line per series. The "
	"article blames a walk that holds producers back until accepted "
	"requests pile up (the \"goroutine avalanche\") and memory runs "
	"out, and sync.Map's copy of the whole map."
	" In this run: " INCIDENT_STORY_RUNS ".";

static const struct incident_figure figures[] = {
	{ "goroutine avalanche → peak requests in flight",
	  "–", "\"blocking avalanche\" (no figure)",
	  INCIDENT_FIG_FIELD, "summary.inflight_peak", INCIDENT_UNIT_NUM },
	{ "walk under the lock → longest aggregator walk",
	  "–", "(no figure)",
	  INCIDENT_FIG_COL_MAX, "h_walk_max_ms", INCIDENT_UNIT_MS },
	{ "\"whole read map copied\" → entries copied by dirty "
	  "rebuilds (syncmap, whole run)",
	  "–", "(no figure; see the README)",
	  INCIDENT_FIG_COL_MAX, "m_dirty_copied", INCIDENT_UNIT_NUM },
	{ "dirty → read promotions (syncmap, whole run)",
	  "–", "(no figure)",
	  INCIDENT_FIG_COL_MAX, "m_promotions", INCIDENT_UNIT_NUM },
	{ "request latency p99",
	  "–", "–",
	  INCIDENT_FIG_FIELD, "summary.latency_ns.p99", INCIDENT_UNIT_MS },
	{ "peak live bytes",
	  "–", "OOM",
	  INCIDENT_FIG_FIELD, "summary.peak_live_bytes", INCIDENT_UNIT_MIB },
	{ .figure = NULL },
};

const struct incident_seed metrics_seed = {
	.figures = figures,
	.note = "The seed's section 3.2 gives no numbers; its claim that "
		"promotion deep-copies the read map does not match Go's "
		"runtime (the O(n) copy is the dirty-map rebuild, counted "
		"here as entries copied).",
};

const struct incident_chart metrics_charts[] = {
	{ "walk", "metrics: aggregator walk duration over time",
	  "walk duration (ms)",
	  "How long the aggregator's walks over the whole map took "
	  "(longest and median per sample interval). Look at who waits "
	  "for a walk, not its length: under mutex and rwlock every "
	  "producer waits this long (their pile-up is in #metrics-inflight). "
	  "A lock-free walk (rcu; sharded holds one shard at a time) blocks "
	  "nobody, so it can be the longest here and still harmless: it "
	  "shares two cores with producers that keep running, and it "
	  "meets the series they add meanwhile.", "h_walk_max_ms", "h_walk_p50_ms",
	  "longest walk", "median walk", NULL, false },
	{ "promotions", "metrics: syncmap dirty-to-read promotions",
	  "promotions since start", "Dirty-to-read promotions of "
	  "the syncmap variant, cumulative (an O(1) pointer swap in "
	  "Go's design).", "m_promotions", NULL, NULL, NULL,
	  "syncmap", false },
	{ "entries-copied",
	  "metrics: syncmap entries copied by dirty-map rebuilds",
	  "entries copied since start", "Entries copied when the "
	  "syncmap rebuilds its dirty map from the read map at the "
	  "first new key after a promotion (the O(n) copy, made "
	  "under the map's lock), cumulative.", "m_dirty_copied",
	  NULL, NULL, NULL, "syncmap", false },
	{ .id = NULL },
};

/* The run/matrix table's key figures. */
const struct incident_keyfig metrics_key_figures[] = {
	{ "walk max", "histograms.walk.max_ns", "ms", INCIDENT_KF_PATH, 1e-6,
	  false },
	{ "copied", "metrics_final.dirty_copied", "", INCIDENT_KF_PATH, 1,
	  true },
	{ .label = NULL },
};

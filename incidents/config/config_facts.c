/*
 * incidents/config/config_facts.c - This file contains what the
 * report says about the config hot reload: its story, the seed
 * article's figures beside the lab's stand-ins, and its own charts.
 *
 * Read-only data, referenced from the incident's descriptor; the report
 * (harness/report) spells out no incident's facts of its own.  Seed
 * figures are quoted from the source article's chapter 3 (README.md,
 * "The article", names it: 3.1 "正常值 vs 泄漏态", 3.3 "未加锁 HashMap vs
 * ConcurrentHashMap"; 3.2 gives no numbers).
 */
#include "incidents/config/config.h"

const char config_story[] =
	"A reloader applies new config versions (thousands of keys) while "
	"request threads read them. The article blames an unlocked table "
	"resized under its readers, and the churn of in-place rebuilds; "
	"its fix builds a snapshot off-line and publishes it atomically."
	" In this run: " INCIDENT_STORY_RUNS ".";

static const struct incident_figure figures[] = {
	{ "minor GCs/s → allocations/s (mean)",
	  "8", "120+",
	  INCIDENT_FIG_COL_MEAN, "m_alloc_rate", INCIDENT_UNIT_RATE },
	{ "GC pause → request latency p99",
	  "3.1 ms", "42 ms",
	  INCIDENT_FIG_FIELD, "summary.latency_ns.p99", INCIDENT_UNIT_MS },
	{ "heap fragmentation → free share of the malloc heap (mean)",
	  "<5%", "37%",
	  INCIDENT_FIG_COL_MEAN, "frag*100 m_frag_permille*0.1", INCIDENT_UNIT_PCT },
	{ "heap fragmentation → free share of the malloc heap (peak)",
	  "–", "–",
	  INCIDENT_FIG_COL_MAX, "frag*100 m_frag_permille*0.1", INCIDENT_UNIT_PCT },
	{ "… of which by the reload (documents, parse, map, values)",
	  "–", "–",
	  INCIDENT_FIG_COL_MEAN, "m_alloc_rate_reload", INCIDENT_UNIT_RATE },
	{ "… of which by requests",
	  "–", "–",
	  INCIDENT_FIG_COL_MEAN, "m_alloc_rate_requests", INCIDENT_UNIT_RATE },
	{ "peak live bytes (counting allocator)",
	  "–", "–",
	  INCIDENT_FIG_FIELD, "summary.peak_live_bytes", INCIDENT_UNIT_MIB },
	{ "peak RSS",
	  "–", "–",
	  INCIDENT_FIG_FIELD, "summary.peak_rss_bytes", INCIDENT_UNIT_MIB },
	{ .figure = NULL },
};

const struct incident_seed config_seed = {
	.normal_header = "seed: ConcurrentHashMap",
	.failing_header = "seed: unlocked HashMap",
	.figures = figures,
	.note = "The seed's fragmentation cell for ConcurrentHashMap is "
		"blank in its text (an HTML-stripped \"<5%\", read here "
		"as <5%). The seed measures a JVM (minor GCs, GC pauses); "
		"the lab's stand-ins are the allocation rate and reader "
		"latency under glibc malloc.",
};

const struct incident_chart config_charts[] = {
	{ "alloc-rate", "config: allocation rate over time",
	  "allocations/s", "Calls into the allocator per second "
	  "(the lab's stand-in for the seed's minor GCs/s): "
	  "in-place rebuilds churn, snapshots allocate once per "
	  "version.", "m_alloc_rate", NULL, NULL, NULL, NULL, false },
	{ "fragmentation", "config: heap fragmentation over time",
	  "free share of the malloc heap (%)",
	  "Free bytes inside the malloc heap as a share of the heap "
	  "(mallinfo2, sampled every 100 ms or more): memory the "
	  "process holds but does not use for live data.",
	  "frag*100 m_frag_permille*0.1", NULL, NULL, NULL, NULL, false },
	{ "reader-latency", "config: reader latency over time, per variant",
	  "latency per interval (ms)",
	  "Request (reader) latency in each sample interval, 99th "
	  "percentile (solid) and maximum (dashed). Look at the solid "
	  "lines during a reload: a variant whose p99 jumps there makes "
	  "readers wait for the reloader (a lock held per key or a "
	  "rebuild); a lone dashed spike is one preempted request. "
	  "Whether readers saw a consistent version is not here: that is "
	  "the torn-read count in the verdict table.", "lat_p99_ms", "lat_max_ms",
	  "p99", "max", NULL, true },
	{ .id = NULL },
};

/* The run/matrix table's key figures. */
const struct incident_keyfig config_key_figures[] = {
	{ "torn", "symptoms.torn_reads", "", INCIDENT_KF_PATH, 1, false },
	{ "frag peak", "metrics_final.frag_peak_permille", "%",
	  INCIDENT_KF_PATH, 0.1, false },
	{ .label = NULL },
};

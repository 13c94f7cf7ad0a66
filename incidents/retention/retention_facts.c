/*
 * incidents/retention/retention_facts.c - This file contains what the
 * report says about the payment gateway retaining abandoned orders: its
 * story and the seed article's figures beside the lab's stand-ins (it has
 * no charts of its own).
 *
 * Read-only data, referenced from the incident's descriptor; the report
 * (harness/report) spells out no incident's facts of its own.  Seed
 * figures are quoted from the source article's chapter 3 (README.md,
 * "The article", names it: 3.1 "正常值 vs 泄漏态", 3.3 "未加锁 HashMap vs
 * ConcurrentHashMap"; 3.2 gives no numbers).
 */
#include "incidents/retention/retention.h"

const char retention_story[] =
	"The payment gateway again, with orders that never settle "
	"(abandoned checkouts) and an eviction keyed on settlement. Their "
	"bytes stay reachable in the map: a leak no map design fixes."
	" In this run: " INCIDENT_STORY_RUNS ".";

static const struct incident_figure figures[] = {
	{ "heap_alloc_bytes → peak live bytes",
	  "12 MB", "327 MB",
	  INCIDENT_FIG_FIELD, "summary.peak_live_bytes", INCIDENT_UNIT_MIB },
	{ "time to OOM",
	  "–", "(not given)",
	  INCIDENT_FIG_TTO, NULL, INCIDENT_UNIT_S },
	{ .figure = NULL },
};

const struct incident_seed retention_seed = {
	.figures = figures,
};

/* The run/matrix table's key figures. */
const struct incident_keyfig retention_key_figures[] = {
	{ "payload", "tag_payload_mib", "MiB", INCIDENT_KF_SERIES_MAX, 1,
	  false },
	{ .label = NULL },
};

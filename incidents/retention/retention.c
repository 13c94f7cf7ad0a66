/*
 * incidents/retention/retention.c - This file contains the `retention`
 * incident: the payment gateway of incidents/payment/ with orders that are
 * never settled (abandoned checkouts), so its eviction, keyed on
 * settlement, never removes them.
 *
 * It is the payment scenario with another parameter set (the code, its
 * threads, locking rules and oracle are incidents/payment/payment.c's):
 * the cache starts warm (every open order cached, as after a restart that
 * reloads them), arrivals run at 60,000 notifications/s, and 60 % of the
 * orders are abandoned after their create or updates.  Every byte of an
 * abandoned order stays reachable in the map: memory grows for every
 * variant alike, to the cap.  The point it makes in a design review: the
 * map was not the leak; a lock, a shard or RCU cannot fix a retention
 * rule.  No state of its own.
 */
#include "incidents/payment/payment.h"
#include "incidents/retention/retention.h"

static const struct incident_param retention_params[] = {
	PAYMENT_PARAMS(60000, 50000, 1024, 4096, 100, 60),
	{.name = NULL},
};

/* Checked in the parent before anything runs (incident.h). */
static const struct incident_rule retention_rules[] = {
	{"payload_min", NULL, "payload_max", 0,
	 "raise payload_max or lower payload_min"},
	{.a = NULL},
};

const struct incident incident_retention = {
	.name = "retention",
	.title = "Payment gateway retaining abandoned orders",
	.summary = "the payment cache with orders that never settle: an "
		   "eviction keyed on settlement keeps them, for every map",
	.story = retention_story,
	.seed = &retention_seed,
	.key_figures = retention_key_figures,
	.quick_seconds = 5,
	.full_seconds = 60,
	.params = retention_params,
	.rules = retention_rules,
	.go_twin = "payment",
	.envelope_param = "rate",
	.setup = payment_setup,
	.run = payment_run,
	.oracle = payment_oracle,
	.teardown = payment_teardown,
};

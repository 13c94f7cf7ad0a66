/*
 * incidents/payment/payment.h - private to the payment incident and its
 * tests: a hook that lets a test fixture reach the incident's map, so a
 * test can plant an inconsistency before the oracle runs (the incident
 * itself never does).  The harness does not use this header.
 *
 * It also lends the scenario to incidents/retention/, the same service
 * with a different parameter set (one table, PAYMENT_PARAMS, whose
 * defaults each incident picks).
 */
#ifndef MAPLAB_INCIDENT_PAYMENT_H
#define MAPLAB_INCIDENT_PAYMENT_H

#include "incidents/incident.h"
#include "maps/map.h"

extern const struct incident incident_payment;

/* Report facts (payment_facts.c), referenced from the descriptor. */
extern const char payment_story[];
extern const struct incident_seed payment_seed;
extern const struct incident_keyfig payment_key_figures[];
extern const struct incident_chart payment_charts[];

/* The payment parameter table's rows, with the defaults that differ
 * between the two incidents that run this scenario (the same in both
 * sizes): arrival rate, the cache's steady size, the raw bodies' sizes,
 * the share of the cache warm at start, the share of orders never
 * settled. */
#define PAYMENT_PARAMS(RATE, OPEN, PAYLOAD_MIN, PAYLOAD_MAX, WARM_PCT,       \
		       ABANDON_PCT)                                           \
	{"rate", "notes/s", "notification arrivals per second (open loop)",   \
	 RATE, RATE, 100, 1000000, true},                                     \
	{"open", "orders", "orders open at once (the cache's steady size)",   \
	 OPEN, OPEN, 1, 2000000, true},                                       \
	{"updates_max", "notes", "status updates per order: 0..this", 3, 3,   \
	 0, 100, true},                                                       \
	{"dup_pct", "%", "settles redelivered by the provider", 10, 10, 0,    \
	 100, true},                                                          \
	{"payload_min", "bytes", "smallest raw body", PAYLOAD_MIN,            \
	 PAYLOAD_MIN, 16, 1 << 20, true},                                     \
	{"payload_max", "bytes", "largest raw body", PAYLOAD_MAX, PAYLOAD_MAX, \
	 16, 1 << 20, true},                                                  \
	{"warm_pct", "%", "open orders already cached when the run starts",   \
	 WARM_PCT, WARM_PCT, 0, 100, true},                                   \
	{"hint", "orders", "map capacity hint at open (0 = none, as Go's "    \
	 "make(map)); added to what warm_pct reloads", 1024, 1024, 0,         \
	 10000000, true},                                                     \
	{"ttl_ms", "ms", "settled orders stay cached this long", 200, 2000,   \
	 0, 600000, true},                                                    \
	{"sweep_ms", "ms", "reaper period (one full walk each)", 250, 1000,   \
	 1, 600000, true},                                                    \
	{"audit", "", "1 = the reaper appends each order it evicts to an "    \
	 "audit log file while it walks; 0 = no audit", 1, 1, 0, 1, true},    \
	{"abandon_pct", "%", "orders never settled (the customer walked "     \
	 "away): an eviction keyed on settlement keeps them forever",         \
	 ABANDON_PCT, ABANDON_PCT, 0, 100, true}

/* The scenario's entry points (struct incident's setup/run/oracle/
 * teardown), shared with incidents/retention/. */
int payment_setup(struct ictx *ctx, void **state);
int payment_run(void *state, struct ictx *ctx);
void payment_oracle(void *state, struct ictx *ctx);
void payment_teardown(void *state, struct ictx *ctx);

/* The order cache of a set-up payment state (the `state` that setup made
 * and run/oracle/teardown receive), or NULL.  Only for a quiescent state:
 * after run() returned and before teardown. */
struct map *payment_test_map(void *state);

#endif

/*
 * incidents/payment/payment.h - private to the payment incident and its
 * tests: a hook that lets a test fixture reach the incident's map, so a
 * test can plant an inconsistency before the oracle runs (the incident
 * itself never does).  The harness does not use this header.
 */
#ifndef MAPLAB_INCIDENT_PAYMENT_H
#define MAPLAB_INCIDENT_PAYMENT_H

#include "incidents/incident.h"
#include "maps/map.h"

extern const struct incident incident_payment;

/* The order cache of a set-up payment state (the `state` that setup made
 * and run/oracle/teardown receive), or NULL.  Only for a quiescent state:
 * after run() returned and before teardown. */
struct map *payment_test_map(void *state);

#endif

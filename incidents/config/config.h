/*
 * incidents/config/config.h - private to the config incident and its test
 * (tests/check_incident_config.c): two read-only hooks into a run's state,
 * so the test can plant an inconsistency in the end state (in the TEST,
 * never in the incident) and check the oracle catches it.  Nothing else
 * includes this; the harness sees the incident only through
 * incidents/incident.h.  Both are valid between run() and teardown, from
 * the thread that drives the run, once every incident thread has joined.
 */
#ifndef MAPLAB_INCIDENT_CONFIG_H
#define MAPLAB_INCIDENT_CONFIG_H

#include <stdint.h>

#include "incidents/incident.h"
#include "maps/map.h"

extern const struct incident incident_config;

/* Report facts (config_facts.c), referenced from the descriptor. */
extern const char config_story[];
extern const struct incident_seed config_seed;
extern const struct incident_keyfig config_key_figures[];
extern const struct incident_chart config_charts[];

/* The map holding the configuration in force (in place: the one map;
 * snapshot: the published snapshot's map). */
struct map *config_test_map(void *state);
/* A version the config centre pushed as a bad document, or 0 if none. */
uint64_t config_test_bad_version(void *state);
/* The version in force. */
uint64_t config_test_applied_version(void *state);

#endif

/*
 * incidents/registry.h - the table of runnable scenarios.  Defined once per
 * binary: by incidents/registry.c in build/maplab, by
 * tests/fixtures/registry.c in build/maplab-fixtures.
 */
#ifndef MAPLAB_INCIDENT_REGISTRY_H
#define MAPLAB_INCIDENT_REGISTRY_H

#include "incidents/incident.h"

extern const struct incident *const incident_table[]; /* NULL-terminated */
extern const size_t incident_count;

#endif

/*
 * incidents/registry.h - the table of runnable scenarios.  Defined once per
 * binary: by incidents/registry.c in build/maplab, by
 * tests/fixtures/registry.c in build/maplab-fixtures.
 */
#ifndef MAPLAB_INCIDENT_REGISTRY_H
#define MAPLAB_INCIDENT_REGISTRY_H

#include <string.h>

#include "incidents/incident.h"

extern const struct incident *const incident_table[]; /* NULL-terminated */
extern const size_t incident_count;

/* The one lookup by name: the table index of that incident, or -1. */
static inline long incident_index(const char *name)
{
	for (size_t i = 0; name && i < incident_count; i++)
		if (strcmp(incident_table[i]->name, name) == 0)
			return (long)i;
	return -1;
}

/* The registered incident of that name, or NULL. */
static inline const struct incident *incident_find(const char *name)
{
	long i = incident_index(name);

	return i < 0 ? NULL : incident_table[i];
}

#endif

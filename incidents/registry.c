/*
 * incidents/registry.c - the incident table, generated from incidents.def.
 * The harness finds incidents only through incident_table; test binaries
 * link tests/fixtures/registry.c instead to run fixture scenarios.
 */
#include "incidents/registry.h"

#define INCIDENT(n) extern const struct incident incident_##n;
#include "incidents/incidents.def"
#undef INCIDENT

const struct incident *const incident_table[] = {
#define INCIDENT(n) &incident_##n,
#include "incidents/incidents.def"
#undef INCIDENT
	NULL};

const size_t incident_count =
	sizeof(incident_table) / sizeof(incident_table[0]) - 1;

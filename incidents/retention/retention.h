/*
 * incidents/retention/retention.h - the `retention` incident's descriptor
 * (the payment scenario with abandoned orders; see retention.c).
 */
#ifndef MAPLAB_INCIDENT_RETENTION_H
#define MAPLAB_INCIDENT_RETENTION_H

#include "incidents/incident.h"

extern const struct incident incident_retention;

/* Report facts (retention_facts.c), referenced from the descriptor. */
extern const char retention_story[];
extern const struct incident_seed retention_seed;
extern const struct incident_keyfig retention_key_figures[];

#endif

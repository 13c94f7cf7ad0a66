/*
 * harness/cli/keyfig.h - each incident's key figure in one short phrase,
 * for the run/matrix terminal table (the number a workshop exercise asks
 * about, read without opening the run's JSON).
 */
#ifndef MAPLAB_HARNESS_KEYFIG_H
#define MAPLAB_HARNESS_KEYFIG_H

#include <stddef.h>

#include <jansson.h>

/* "sweep max 46 ms", "walk max 120 ms, copied 849k" (syncmap's
 * dirty-map rebuilds), "torn 1616,
 * frag peak 41%", "payload 150 MiB"; "-" when the record has none of its
 * incident's figures (e.g. a run that crashed before the first sample). */
void keyfig_text(const json_t *rec, char *buf, size_t len);

#endif

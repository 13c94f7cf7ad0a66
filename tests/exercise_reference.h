/*
 * tests/exercise_reference.h - a solution of the exercise and its
 * half-finished versions (tests/exercise_reference.c).
 */
#ifndef MAPLAB_TESTS_EXERCISE_REFERENCE_H
#define MAPLAB_TESTS_EXERCISE_REFERENCE_H

#include "maps/map_impl.h"

/* The place (enum ep_place) left unlocked; 0: the whole solution. */
extern int exercise_half;
extern const struct map_variant exercise_reference;

#endif

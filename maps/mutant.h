/*
 * maps/mutant.h - the mutant switch; private to maps/ (map_impl.h
 * includes it).
 *
 * A mutant build (`make mutants`, one build folder each) compiles every
 * file with -DMAPLAB_MUTANT=<name>, one of maps/mutants.def.  Each variant
 * tests ML_MUTANT_IS(<name>) in ONE place: its lock/unlock helpers (or,
 * for rcu, its read-side section and its retire function), so that every
 * operation built on those helpers - today's and any added later - loses
 * the synchronisation together.  The plain build defines no MAPLAB_MUTANT:
 * ML_MUTANT is 0, every ML_MUTANT_IS() is false and the compiler keeps
 * none of the mutant code.  map_mutant() (map.h) says which build this is;
 * every run manifest records it, and tests/check_maps.c asserts the plain
 * build says "".  An unknown name stops the build.
 */
#ifndef MAPLAB_MAPS_MUTANT_H
#define MAPLAB_MAPS_MUTANT_H

enum {
	ML_MUTANT_none_ = 0,
#define MUTANT(name, variant, incidents, variants, suites, what) \
	ML_MUTANT_##name,
#include "maps/mutants.def"
#undef MUTANT
};

#define ML_MUTANT_CAT_(a, b) a##b
#define ML_MUTANT_ID_(x) ML_MUTANT_CAT_(ML_MUTANT_, x)
#define ML_MUTANT_STR2_(x) #x
#define ML_MUTANT_STR_(x) ML_MUTANT_STR2_(x)

/* Enumerators are 0 inside #if, so the switch is tested with plain C
 * (`if (ML_MUTANT_IS(x))`), which the optimiser folds away. */
#ifdef MAPLAB_MUTANT
#define ML_MUTANT ML_MUTANT_ID_(MAPLAB_MUTANT)
#define ML_MUTANT_NAME ML_MUTANT_STR_(MAPLAB_MUTANT)
#else
#define ML_MUTANT ML_MUTANT_none_
#define ML_MUTANT_NAME ""
#endif
#define ML_MUTANT_IS(name) (ML_MUTANT == ML_MUTANT_##name)

#endif

/*
 * maps/util.h - the lab's one PRNG, pthread check, time source and TSan
 * test; public.
 *
 * Every layer may include it (maps/, incidents/, harness/, tests/): it
 * includes nothing from the project and defines only static inline
 * functions and macros (the two __tsan_* it declares exist only in TSan
 * builds, whose runtime provides them), so it adds no link dependency.
 *
 * ml_mix64(x) is the splitmix64 output function applied to x + golden
 * gamma: a bijection of 64-bit words, used as a seeded hash.
 * ml_splitmix64(&s) advances the stream state s by the golden gamma and
 * returns the next output (Steele, Lea & Flood 2014); ml_mix64(x) is the
 * value the stream started at x returns first.  A state belongs to one
 * thread: nothing here is atomic.
 *
 * ml_mono_s() and ml_wall_s() are the one time source in seconds: the
 * monotonic clock (durations, deadlines) and the wall clock (records).
 *
 * ML_TSAN is defined in a ThreadSanitizer build; ml_tsan_acquire/release(a)
 * model a happens-before edge through address a there, for code whose
 * synchronisation runs in an uninstrumented library (liburcu, ck), and are
 * no-ops in other builds.
 */
#ifndef MAPLAB_MAPS_UTIL_H
#define MAPLAB_MAPS_UTIL_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#if defined(__SANITIZE_THREAD__)
#define ML_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define ML_TSAN 1
#endif
#endif

#ifdef ML_TSAN
void __tsan_acquire(void *addr);
void __tsan_release(void *addr);
#define ml_tsan_acquire(a) __tsan_acquire((void *)(a))
#define ml_tsan_release(a) __tsan_release((void *)(a))
#else
#define ml_tsan_acquire(a) ((void)(a))
#define ml_tsan_release(a) ((void)(a))
#endif

#define ML_GOLDEN_GAMMA 0x9e3779b97f4a7c15ull

static inline uint64_t ml_mix64(uint64_t x)
{
	x += ML_GOLDEN_GAMMA;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

static inline uint64_t ml_splitmix64(uint64_t *s)
{
	uint64_t x = *s;

	*s = x + ML_GOLDEN_GAMMA;
	return ml_mix64(x);
}

static inline double ml_mono_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static inline double ml_wall_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A pthread call that cannot fail in a correct program: die loudly, with
 * file and line (liburcu's habit). */
#define ML_CHECK_PTHREAD(call)                                               \
	do {                                                                  \
		int ml_rc_ = (call);                                          \
		if (ml_rc_ != 0) {                                            \
			fprintf(stderr, "%s:%d: %s failed: %d\n", __FILE__,   \
				__LINE__, #call, ml_rc_);                     \
			abort();                                              \
		}                                                             \
	} while (0)

#endif

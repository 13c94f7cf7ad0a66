/*
 * harness/bench/bench_tsan.h - the ThreadSanitizer hooks of the benchmark's
 * lock-free peers (bench_lfht.c, bench_ck.c), whose libraries are not
 * instrumented: BENCH_TSAN is defined in a TSan build, and
 * bench_tsan_acquire/release(addr) model a happens-before edge through
 * addr there (no-ops in other builds).  Each peer's header comment says
 * which edges it models.  Macros only, no include: bench_lfht.c reads
 * BENCH_TSAN before it includes liburcu (to choose _LGPL_SOURCE).
 */
#ifndef MAPLAB_BENCH_TSAN_H
#define MAPLAB_BENCH_TSAN_H

#if defined(__SANITIZE_THREAD__)
#define BENCH_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define BENCH_TSAN 1
#endif
#endif

#ifdef BENCH_TSAN
void __tsan_acquire(void *addr);
void __tsan_release(void *addr);
#define bench_tsan_acquire(a) __tsan_acquire((void *)(a))
#define bench_tsan_release(a) __tsan_release((void *)(a))
#else
#define bench_tsan_acquire(a) ((void)(a))
#define bench_tsan_release(a) ((void)(a))
#endif

#endif

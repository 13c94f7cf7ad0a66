/*
 * maps/mlrcu.h - the liburcu (memb flavour) glue shared by the syncmap and
 * rcu variants; private to maps/.
 *
 * This file contains the per-thread registration with nesting, read-side
 * section wrappers, deferred reclamation (call_rcu) and the barrier, in one
 * place so that several maps (of either variant) used by one thread share
 * one liburcu registration.
 *
 * Registration: map_thread_enter() -> mlrcu_thread_enter() registers the
 * thread with liburcu on its first enter and counts nesting; the matching
 * last exit unregisters it.  A thread that calls into a map without having
 * entered (a contract slip, e.g. a test's main thread) is registered lazily
 * on its first read-side section and unregistered by a pthread key
 * destructor when it exits, so liburcu never keeps a dead thread's TLS in
 * its registry.
 *
 * ThreadSanitizer: liburcu is not instrumented, so TSan cannot see the
 * happens-before edge a grace period creates between a reader's accesses
 * inside its read-side section and the call_rcu callback that frees what it
 * read.  Under TSan we model it: every read-side unlock and every call_rcu
 * releases one sync object, every callback acquires it first (and releases
 * it when done, for the thread that later returns from rcu_barrier).  This
 * is sound for what RCU guarantees (a callback runs after every read-side
 * section that could see the object has ended) and only over-approximates
 * for sections that began after the object was unlinked and could not reach
 * it.  Without TSan these are no-ops.
 */
#ifndef MAPLAB_MLRCU_H
#define MAPLAB_MLRCU_H

#include <stdbool.h>

#include <urcu/urcu-memb.h>

#include "maps/mutant.h"
#include "maps/util.h" /* ML_TSAN, ml_tsan_acquire/release */

/* The sync object of the grace-period model above (TSan only). */
extern char mlrcu_gp_token;

void mlrcu_thread_enter(void);
void mlrcu_thread_exit(void);

struct map;
/* The same, in the shape of map_ops.thread_enter/exit, for the variants
 * built on liburcu (the registration is per thread, not per map). */
void mlrcu_map_thread_enter(struct map *m);
void mlrcu_map_thread_exit(struct map *m);
/* Registers the calling thread lazily if it never entered. */
void mlrcu_thread_ensure(void);

/* For tests: this thread's enter depth and registration. */
void mlrcu_thread_state(unsigned *depth, int *registered, int *lazy);

/* Read-side section; nests.  Registers lazily (see above). */
void mlrcu_read_lock(void);
void mlrcu_read_unlock(void);

/* This thread is registered with liburcu.  Thread-local; written only by
 * maps/mlrcu.c, read by the inline fast path below. */
extern __thread bool mlrcu_tls_registered;

/*
 * The same section inlined, for a file that includes liburcu with
 * _LGPL_SOURCE (maps/rcu.c does, outside TSan): liburcu's static inline
 * read lock/unlock (a thread-local store, no fence: the memb flavour's
 * writers pay with membarrier) instead of two calls into liburcu-memb.so,
 * each resolving the reader's TLS through __tls_get_addr (about 80 of
 * the ~350 instructions of an rcu get).  Under TSan the calls stay in
 * the uninstrumented library, as mlrcu_read_lock/unlock do.
 * Only maps/rcu.c uses this pair: it is the rcu variant's read-side
 * section, and the mutant rcu_noread (maps/mutant.h) empties it (mutant
 * builds are never TSan builds, so they always take this branch).
 */
#if defined(_LGPL_SOURCE) && !defined(ML_TSAN)
static inline void mlrcu_read_lock_inl(void)
{
	if (__builtin_expect(!mlrcu_tls_registered, 0))
		mlrcu_thread_ensure();
	if (ML_MUTANT_IS(rcu_noread))
		return;
	urcu_memb_read_lock();
}

static inline void mlrcu_read_unlock_inl(void)
{
	if (ML_MUTANT_IS(rcu_noread))
		return;
	urcu_memb_read_unlock();
}
#else
#define mlrcu_read_lock_inl mlrcu_read_lock
#define mlrcu_read_unlock_inl mlrcu_read_unlock
#endif

/* call_rcu from a registered thread (registers lazily). */
void mlrcu_call(struct rcu_head *head, void (*fn)(struct rcu_head *));
/* First and last statement of every callback passed to mlrcu_call(). */
#define mlrcu_cb_begin() ml_tsan_acquire(&mlrcu_gp_token)
#define mlrcu_cb_end() ml_tsan_release(&mlrcu_gp_token)
/* Waits for every callback queued so far.  Not from a read-side section or
 * a callback. */
void mlrcu_barrier(void);

#endif

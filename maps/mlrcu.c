/*
 * maps/mlrcu.c - liburcu (memb flavour) glue shared by the syncmap and rcu
 * variants: registration with nesting, read-side wrappers, call_rcu and
 * barrier.  See maps/mlrcu.h for the rules and the TSan model.
 *
 * State: per-thread only (TLS; the registered flag is exported, read-only
 * outside this file, for the inline read-side path in mlrcu.h), plus a
 * pthread key whose destructor unregisters lazily registered threads, and
 * a pthread_once that installs fork handlers so a child forked after
 * call_rcu was used gets a working call_rcu thread (liburcu 0.13 leaves
 * installing them to the program).
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "maps/map_impl.h"
#include "maps/mlrcu.h"

char mlrcu_gp_token;

static __thread unsigned tls_nest;     /* enters minus exits, this thread */
__thread bool mlrcu_tls_registered;    /* registered with liburcu */
static __thread bool tls_lazy;         /* registered without an enter */

static pthread_once_t once = PTHREAD_ONCE_INIT;
static pthread_key_t lazy_key;

static void lazy_destructor(void *arg)
{
	(void)arg;
	if (mlrcu_tls_registered) {
		urcu_memb_unregister_thread();
		mlrcu_tls_registered = false;
		tls_lazy = false;
	}
}

static void init_once(void)
{
	ML_CHECK_PTHREAD(pthread_key_create(&lazy_key, lazy_destructor));
	ML_CHECK_PTHREAD(pthread_atfork(urcu_memb_call_rcu_before_fork,
					urcu_memb_call_rcu_after_fork_parent,
					urcu_memb_call_rcu_after_fork_child));
}

void mlrcu_thread_enter(void)
{
	ML_CHECK_PTHREAD(pthread_once(&once, init_once));
	if (!mlrcu_tls_registered) {
		urcu_memb_register_thread();
		mlrcu_tls_registered = true;
	}
	tls_nest++;
}

void mlrcu_thread_exit(void)
{
	if (tls_nest == 0) {
		fprintf(stderr, "%s:%d: map_thread_exit without enter\n",
			__FILE__, __LINE__);
		abort();
	}
	if (--tls_nest == 0 && mlrcu_tls_registered && !tls_lazy) {
		urcu_memb_unregister_thread();
		mlrcu_tls_registered = false;
	}
}

void mlrcu_thread_ensure(void)
{
	if (mlrcu_tls_registered)
		return;
	ML_CHECK_PTHREAD(pthread_once(&once, init_once));
	urcu_memb_register_thread();
	mlrcu_tls_registered = true;
	tls_lazy = true;
	/* Any non-NULL value makes the destructor run at thread exit. */
	ML_CHECK_PTHREAD(pthread_setspecific(lazy_key, &tls_lazy));
}

void mlrcu_thread_state(unsigned *depth, int *registered, int *lazy)
{
	*depth = tls_nest;
	*registered = mlrcu_tls_registered;
	*lazy = tls_lazy;
}

void mlrcu_read_lock(void)
{
	if (!mlrcu_tls_registered)
		mlrcu_thread_ensure();
	urcu_memb_read_lock();
}

void mlrcu_read_unlock(void)
{
	ml_tsan_release(&mlrcu_gp_token);
	urcu_memb_read_unlock();
}

void mlrcu_call(struct rcu_head *head, void (*fn)(struct rcu_head *))
{
	if (!mlrcu_tls_registered)
		mlrcu_thread_ensure();
	ml_tsan_release(&mlrcu_gp_token);
	urcu_memb_call_rcu(head, fn);
}

void mlrcu_barrier(void)
{
	if (!mlrcu_tls_registered)
		mlrcu_thread_ensure();
	urcu_memb_barrier();
	ml_tsan_acquire(&mlrcu_gp_token);
}

void mlrcu_map_thread_enter(struct map *m)
{
	(void)m;
	mlrcu_thread_enter();
}

void mlrcu_map_thread_exit(struct map *m)
{
	(void)m;
	mlrcu_thread_exit();
}

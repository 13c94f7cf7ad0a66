/*
 * tests/exercise_probe.c - the exercise's lock check (exercise_probe.h).
 *
 * Why it is deterministic: the holder parks inside the write, after the
 * table is consistent again (a value's release runs after its slot is
 * cleared or replaced) and before the variant's unlock.  An operation that
 * takes no lock then runs on a consistent table and returns, whatever the
 * interleaving; one that takes the lock cannot return until the holder is
 * let go.  The poll distinguishes the two by the prober's own state: done,
 * or asleep in futex(2) (pthread mutexes and rwlocks sleep there).  No
 * other lock can hold the prober: the allocator takes none (CAS budget),
 * and the polling thread reads /proc with read(2) into stack buffers.
 *
 * Threads: the test's thread, the holder, the prober.  `park` (mutex +
 * cond) protects parked and go; done is atomic.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "maps/map_impl.h"
#include "tests/exercise_probe.h"

static const struct {
	int number;
	const char *name;
} places[EP_COUNT] = {
	[EP_GET] = { 1, "get" },
	[EP_GET_WITH] = { 7, "get_with" },
	[EP_PUT] = { 2, "put" },
	[EP_PUT_IF_ABSENT] = { 3, "put_if_absent" },
	[EP_DELETE] = { 4, "delete" },
	[EP_RANGE] = { 5, "range" },
	[EP_LEN] = { 6, "len" },
	[EP_STATS] = { 8, "stats" },
	[EP_CHECK] = { 8, "check" },
};

int ep_exercise_number(enum ep_place p)
{
	return p > 0 && p < EP_COUNT ? places[p].number : 0;
}

const char *ep_name(enum ep_place p)
{
	return p > 0 && p < EP_COUNT ? places[p].name : "?";
}

struct val {
	atomic_int ref;
	bool hold; /* releasing it parks the holder thread */
};

struct probe {
	struct map *m;
	enum ep_place place;
	pthread_mutex_t park;
	pthread_cond_t cv;
	bool parked, go;       /* under park */
	atomic_bool done;      /* the prober's operation returned */
	atomic_int tid;        /* the prober's thread id */
	struct val vals[8], hold, fresh[3];
};

static _Thread_local bool i_am_holder;
static struct probe *cur; /* the probe running (one at a time) */

static void v_retain(void *v, void *ctx)
{
	(void)ctx;
	atomic_fetch_add(&((struct val *)v)->ref, 1);
}

static void v_release(void *v, void *ctx)
{
	struct val *x = v;

	(void)ctx;
	if (x->hold && i_am_holder) {
		pthread_mutex_lock(&cur->park);
		cur->parked = true;
		pthread_cond_broadcast(&cur->cv);
		while (!cur->go)
			pthread_cond_wait(&cur->cv, &cur->park);
		pthread_mutex_unlock(&cur->park);
	}
	atomic_fetch_sub(&x->ref, 1);
}

static const struct map_value_ops vops = { v_retain, v_release, NULL };

static void *holder(void *arg)
{
	struct probe *p = arg;

	i_am_holder = true;
	if (p->place == EP_DELETE)
		map_put(p->m, "hold", 4, &p->fresh[0]); /* overwrite: release */
	else
		map_delete(p->m, "hold", 4);
	return NULL;
}

static int count_cb(const void *k, size_t kl, void *v, void *arg)
{
	(void)k, (void)kl, (void)v;
	++*(size_t *)arg;
	return 0;
}

static void read_cb(void *v, void *arg)
{
	*(int *)arg = atomic_load(&((struct val *)v)->ref);
}

static void *prober(void *arg)
{
	struct probe *p = arg;
	struct map_stats st;
	struct map_check ck;
	void *got = NULL;
	size_t n = 0;
	int r = 0;

	atomic_store(&p->tid, (int)syscall(SYS_gettid));
	switch (p->place) {
	case EP_GET:
		if (map_get(p->m, "k1", 2, &got) == 0 && got)
			v_release(got, NULL);
		break;
	case EP_GET_WITH: map_get_with(p->m, "k1", 2, read_cb, &r); break;
	case EP_PUT: map_put(p->m, "new", 3, &p->fresh[1]); break;
	case EP_PUT_IF_ABSENT:
		if (map_put_if_absent(p->m, "new2", 4, &p->fresh[2], &got) == 0 &&
		    got)
			v_release(got, NULL);
		break;
	case EP_DELETE: map_delete(p->m, "k2", 2); break;
	case EP_RANGE: map_range(p->m, count_cb, &n); break;
	case EP_LEN: n = map_len(p->m); break;
	case EP_STATS: map_stats(p->m, &st); break;
	case EP_CHECK: map_check(p->m, &ck); break;
	default: break;
	}
	(void)n;
	atomic_store(&p->done, true);
	return NULL;
}

/* The thread is asleep in futex(2): /proc/self/task/TID/syscall starts
 * with the syscall number (or says "running"). */
static bool in_futex(int tid)
{
	char path[64], buf[64];
	ssize_t k;
	int fd;

	snprintf(path, sizeof(path), "/proc/self/task/%d/syscall", tid);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return false;
	k = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (k <= 0)
		return false;
	buf[k] = '\0';
	return atol(buf) == SYS_futex && buf[0] != 'r';
}

static void sleep_ms(int ms)
{
	struct timespec ts = { 0, ms * 1000000L };

	nanosleep(&ts, NULL);
}

/* Wait for the prober: 1 blocked, 0 returned. */
static int watch(struct probe *p)
{
	int asleep = 0;

	while (!atomic_load(&p->tid))
		sleep_ms(1);
	for (int t = 0; t < 5000; t += 5) {
		if (atomic_load(&p->done))
			return 0;
		asleep = in_futex(atomic_load(&p->tid)) ? asleep + 1 : 0;
		if (asleep >= 4 && !atomic_load(&p->done))
			return 1;
		sleep_ms(5);
	}
	return atomic_load(&p->done) ? 0 : 1;
}

static int setup(struct probe *p, const struct map_variant *v, char *why,
		 size_t n)
{
	struct map_config cfg = { .vops = &vops, .seed = 7 };
	char key[8];
	int rc;

	p->m = NULL;
	rc = v->ops->open(&cfg, &p->m);
	if (rc) {
		snprintf(why, n, "cannot open a %s map: %d", v->name, rc);
		return rc;
	}
	p->m->variant = v;
	p->hold.hold = true;
	for (int i = 0; i < 8 && !rc; i++) {
		snprintf(key, sizeof(key), "k%d", i);
		rc = map_put(p->m, key, strlen(key), &p->vals[i]);
	}
	if (!rc)
		rc = map_put(p->m, "hold", 4, &p->hold);
	if (rc)
		snprintf(why, n, "cannot fill the %s map: %d", v->name, rc);
	return rc;
}

int exercise_probe(const struct map_variant *v, enum ep_place place,
		   char *why, size_t n)
{
	struct probe *p = calloc(1, sizeof(*p));
	pthread_t h, q;
	int rc, held;

	if (!p)
		return -ENOMEM;
	why[0] = '\0';
	p->place = place;
	pthread_mutex_init(&p->park, NULL);
	pthread_cond_init(&p->cv, NULL);
	cur = p;
	rc = setup(p, v, why, n);
	if (rc)
		goto out;
	pthread_create(&h, NULL, holder, p);
	pthread_mutex_lock(&p->park);
	for (int i = 0; i < 1000 && !p->parked; i++) {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 10000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&p->cv, &p->park, &ts);
	}
	held = p->parked;
	pthread_mutex_unlock(&p->park);
	if (!held) { /* the write never released the value: a broken map */
		snprintf(why, n, "map_%s of a present key never released its "
			 "value within 10 s", place == EP_DELETE ? "put" : "delete");
		rc = -ETIMEDOUT;
		goto out; /* the holder thread is left running: exit soon */
	}
	pthread_create(&q, NULL, prober, p);
	rc = watch(p);
	pthread_mutex_lock(&p->park);
	p->go = true;
	pthread_cond_broadcast(&p->cv);
	pthread_mutex_unlock(&p->park);
	pthread_join(h, NULL);
	pthread_join(q, NULL);
	if (rc == 0)
		snprintf(why, n, "EXERCISE %d: map_%s returned while another "
			 "thread was inside map_%s holding the map: %s takes no "
			 "lock (or not the one the writers take)%s",
			 ep_exercise_number(place), ep_name(place),
			 place == EP_DELETE ? "put" : "delete", ep_name(place),
			 place == EP_DELETE ? "; if map_put takes none either, "
			 "start with EXERCISE 2" : "; if map_delete takes none "
			 "either, start with EXERCISE 4: this probe holds the "
			 "map inside it");
	map_close(p->m);
	p->m = NULL;
out:
	if (rc == -ETIMEDOUT) /* the holder may still park: keep p */
		return rc;
	if (p->m)
		map_close(p->m);
	cur = NULL;
	free(p);
	return rc;
}

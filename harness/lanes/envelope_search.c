/*
 * harness/lanes/envelope_search.c - see envelope_search.h.  Pure: the
 * result depends only on the arguments; no state, safe from any thread.
 */
#include <math.h>

#include "harness/lanes/envelope_search.h"

const char *env_state_name(enum env_state s)
{
	switch (s) {
	case ENV_RUNNING: return "running";
	case ENV_KNEE: return "knee";
	case ENV_HOLDS: return "holds";
	case ENV_TIPS_LOW: return "tips at from";
	case ENV_BUDGET: return "unfinished";
	}
	return "?";
}

static void count_at(const struct env_probe *p, size_t n, double v,
		     unsigned *runs, unsigned *tipped)
{
	*runs = *tipped = 0;
	for (size_t i = 0; i < n; i++)
		if (p[i].value == v) {
			(*runs)++;
			*tipped += p[i].tipped;
		}
}

/* More than half of the runs at v tipped (so far). */
static bool mostly_tipped(const struct env_probe *p, size_t n, double v)
{
	unsigned r, t;

	count_at(p, n, v, &r, &t);
	return 2 * t > r;
}

/* hi: the lowest value whose runs mostly tipped; lo: the highest value
 * below hi whose runs did not; edge: the lowest value below hi with a
 * tipped run.  NaN: none. */
static void bracket(const struct env_probe *p, size_t n, struct env_step *o)
{
	o->lo = o->hi = o->edge = NAN;
	for (size_t i = 0; i < n; i++)
		if (!(p[i].value >= o->hi) && mostly_tipped(p, n, p[i].value))
			o->hi = p[i].value;
	for (size_t i = 0; i < n; i++) {
		if (!(p[i].value < o->hi) && !isnan(o->hi))
			continue;
		if (p[i].tipped && !(p[i].value >= o->edge))
			o->edge = p[i].value;
		if (!(p[i].value <= o->lo) && !mostly_tipped(p, n, p[i].value))
			o->lo = p[i].value;
	}
}

static double midpoint(const struct env_cfg *c, double lo, double hi)
{
	double m = lo > 0 ? sqrt(lo * hi) : (lo + hi) / 2;

	return c->integer ? floor(m + 0.5) : m;
}

static unsigned steps_between(const struct env_cfg *c, double lo, double hi)
{
	unsigned k = 0;

	while (hi / lo > c->ratio && k < 64) {
		double m = midpoint(c, lo, hi);

		if (m <= lo || m >= hi)
			break;
		hi = m; /* either half: the count is the same to one step */
		k++;
	}
	return k;
}

static unsigned short_of(unsigned reps, unsigned runs)
{
	return runs < reps ? reps - runs : 0;
}

/* Bracket known at both ends: bisect, then confirm each end. */
static void narrow(const struct env_cfg *c, const struct env_probe *p,
		   size_t n, struct env_step *o)
{
	double m = midpoint(c, o->lo, o->hi);
	bool split = o->hi / o->lo > c->ratio && m > o->lo && m < o->hi;

	o->left = (split ? steps_between(c, o->lo, o->hi) : 0) +
		  short_of(c->reps, o->lo_runs) + short_of(c->reps, o->hi_runs);
	if (split) {
		o->next = m;
		return;
	}
	if (o->lo_runs < c->reps)
		o->next = o->lo;
	else if (o->hi_runs < c->reps)
		o->next = o->hi;
	else
		o->state = ENV_KNEE;
	(void)p;
	(void)n;
}

void env_next(const struct env_cfg *c, const struct env_probe *p, size_t n,
	      struct env_step *o)
{
	unsigned to_runs, to_tipped;

	*o = (struct env_step){.state = ENV_RUNNING, .next = NAN};
	bracket(p, n, o);
	count_at(p, n, o->lo, &o->lo_runs, &o->lo_tipped);
	count_at(p, n, o->hi, &o->hi_runs, &o->hi_tipped);
	count_at(p, n, o->edge, &o->edge_runs, &o->edge_tipped);
	count_at(p, n, c->to, &to_runs, &to_tipped);
	if (isnan(o->hi)) { /* no majority yet: the top, then its repeats */
		o->left = short_of(c->reps, to_runs);
		if (to_runs < c->reps)
			o->next = c->to;
		else
			o->state = ENV_HOLDS;
	} else if (o->hi <= c->from) {
		o->state = ENV_TIPS_LOW;
	} else if (isnan(o->lo)) {
		o->next = c->from;
		o->left = 1 + steps_between(c, c->from, o->hi) + 2 * c->reps;
	} else {
		narrow(c, p, n, o);
	}
	if (o->state == ENV_RUNNING && n >= c->max_probes) {
		o->state = ENV_BUDGET;
		o->next = NAN;
		o->left = 0;
	}
}

/* Point j of `width` splitting lo..hi into width + 1 geometric parts; the
 * centre one is midpoint() itself, so width 1 is env_next's bisection. */
static double grid_point(const struct env_cfg *c, double lo, double hi,
			 unsigned j, unsigned width)
{
	double m;

	if (2 * j == width + 1)
		return midpoint(c, lo, hi);
	m = lo > 0 ? lo * pow(hi / lo, (double)j / (width + 1))
		   : lo + (hi - lo) * j / (width + 1);
	return c->integer ? floor(m + 0.5) : m;
}

/* Points strictly inside lo..hi, ascending, no value twice. */
static size_t grid_inside(const struct env_cfg *c, double lo, double hi,
			  unsigned width, double *out, size_t max)
{
	size_t k = 0;

	for (unsigned j = 1; j <= width && k < max; j++) {
		double m = grid_point(c, lo, hi, j, width);

		if (m > lo && m < hi && (!k || m > out[k - 1]))
			out[k++] = m;
	}
	return k;
}

static size_t repeat(double v, unsigned times, double *out, size_t max)
{
	size_t k = 0;

	while (k < times && k < max)
		out[k++] = v;
	return k;
}

size_t env_grid(const struct env_cfg *c, const struct env_probe *p, size_t n,
		unsigned width, double *out, size_t max, struct env_step *st)
{
	size_t k = 0;

	env_next(c, p, n, st);
	if (st->state != ENV_RUNNING)
		return 0;
	if (width < 1)
		width = 1;
	if (max > c->max_probes - n)
		max = c->max_probes - n;
	if (isnan(st->hi)) {
		unsigned runs, tipped;

		count_at(p, n, c->to, &runs, &tipped);
		k = repeat(c->to, short_of(c->reps, runs), out, max);
	} else if (isnan(st->lo)) {
		k = repeat(c->from, 1, out, max);
		k += grid_inside(c, c->from, st->hi, width - 1, out + k, max - k);
	} else if (st->next != st->lo && st->next != st->hi) {
		k = grid_inside(c, st->lo, st->hi, width, out, max);
		if (!k)
			k = repeat(st->next, 1, out, max);
	} else {
		k = repeat(st->lo, short_of(c->reps, st->lo_runs), out, max);
		k += repeat(st->hi, short_of(c->reps, st->hi_runs), out + k, max - k);
	}
	return k;
}

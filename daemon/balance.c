/*
 * balance: the pool policies (see balance.h).
 *
 * A member takes new queries when it is enabled and up (usable); with
 * all-down-try-anyway, when no member is usable, an enabled member that is
 * down or not checked yet is tried rather than answering SERVFAIL at once.
 * Drained and disabled members never get a new query.  The members a query
 * was already sent to are excluded, so a retry goes elsewhere.
 *
 * roundrobin	the next member by a counter shared by the workers (not
 *		locked: see turn_of); the counter picks among the usable
 *		members only, so a member that is down leaves its share
 *		spread evenly over the rest (taking the next member's turn
 *		instead gave that one twice the load)
 * weighted	the same over the total weight of the usable members
 * first	the first usable member in the pool's order (failover)
 * least-outstanding	the usable member with the fewest queries in flight,
 *		the first of them on a tie
 *
 * race		every usable member at once (pool_all; query.c runs the
 *		race); pool_pick and pool_peek take them in turn, as
 *		roundrobin does
 *
 * fanout	an UPDATE goes to every member (update.c, fanout.c); a
 *		query on its pool, which no route sends, would pick as
 *		roundrobin
 */
#include <stdatomic.h>

#include "backend.h"
#include "balance.h"
#include "config.h"

static inline int
excluded(struct backend *b, struct backend *const *ex, int nex)
{
	int i;

	for (i = 0; i < nex; i++)
		if (ex[i] == b)
			return 1;
	return 0;
}

static inline int
eligible(struct backend *b, struct backend *const *ex, int nex, int anyway)
{
	if (excluded(b, ex, nex))
		return 0;
	if (anyway)
		return atomic_load_explicit(&b->admin, memory_order_relaxed) ==
		    ADMIN_ENABLED;
	return backend_usable(b);
}

/*
 * The round-robin counter: taken, or only looked at (peek).  Taken with a
 * relaxed load and store, not a locked add: that was a locked instruction
 * per query, waiting for every store before it.  Two workers that take a
 * turn at the same instant may both get it, and the member after it waits
 * one turn more: the shares stay even on average, and one worker's
 * sequence is exact.
 */
static inline unsigned
turn_of(struct pool *p, int peek)
{
	unsigned t = atomic_load_explicit(&p->rr, memory_order_relaxed);

	if (!peek)
		atomic_store_explicit(&p->rr, t + 1, memory_order_relaxed);
	return t;
}

static struct backend *
pick_pass(struct pool *p, struct backend *const *ex, int nex, int anyway,
    int peek)
{
	struct backend *b, *best = NULL;
	unsigned turn, i, k;
	long o, bo = 0;
	int w, tw = 0;

	switch (p->policy) {
	case POLICY_FIRST:
		for (i = 0; i < (unsigned)p->n; i++)
			if (eligible(p->members[i], ex, nex, anyway))
				return p->members[i];
		return NULL;
	case POLICY_LEAST_OUTSTANDING:
		for (i = 0; i < (unsigned)p->n; i++) {
			b = p->members[i];
			if (!eligible(b, ex, nex, anyway))
				continue;
			o = backend_outstanding(b);
			if (best == NULL || o < bo) {
				best = b;
				bo = o;
			}
		}
		return best;
	case POLICY_WEIGHTED:
		/* Smooth enough: a counter walks the total weight. */
		for (i = 0; i < (unsigned)p->n; i++)
			if (eligible(p->members[i], ex, nex, anyway))
				tw += atomic_load_explicit(&p->members[i]->weight,
				    memory_order_relaxed);
		if (tw == 0)
			return NULL;
		turn = turn_of(p, peek) % (unsigned)tw;
		for (i = 0; i < (unsigned)p->n; i++) {
			b = p->members[i];
			if (!eligible(b, ex, nex, anyway))
				continue;
			best = b;
			w = atomic_load_explicit(&b->weight, memory_order_relaxed);
			if (turn < (unsigned)w)
				return b;
			turn -= w;
		}
		/* Fewer were usable than a moment ago: the last that is. */
		return best;
	default:
		/* The turn-th of the k usable members. */
		for (i = 0, k = 0; i < (unsigned)p->n; i++)
			if (eligible(p->members[i], ex, nex, anyway))
				k++;
		if (k == 0)
			return NULL;
		turn = turn_of(p, peek) % k;
		if (k == (unsigned)p->n)
			return p->members[turn];
		for (i = 0; i < (unsigned)p->n; i++) {
			b = p->members[i];
			if (!eligible(b, ex, nex, anyway))
				continue;
			best = b;
			if (turn-- == 0)
				return b;
		}
		/* Fewer were usable than a moment ago: the last that is. */
		return best;
	}
}

/*
 * A query's first try in a round-robin pool whose members are all usable,
 * on its own: what pick_pass gives then (the same turn taken), without
 * the exclusions and the count of the usable.  A single member takes no
 * turn: there is no order to keep, and the counter's line, written by
 * every worker, would move between their cores at every query.  NULL
 * when a member is not usable: pick_pass decides.
 */
static inline struct backend *
pick_rr_all(struct pool *p)
{
	unsigned i, n = (unsigned)p->n;

	for (i = 0; i < n; i++)
		if (!backend_usable(p->members[i]))
			return NULL;
	return p->members[n == 1 ? 0 : turn_of(p, 0) % n];
}

struct backend *
pool_pick(struct pool *p, struct backend *const *ex, int nex, int try_anyway)
{
	struct backend *b;

	if (p->n == 0)
		return NULL;
	if (nex == 0 && p->policy != POLICY_WEIGHTED &&
	    p->policy != POLICY_FIRST && p->policy != POLICY_LEAST_OUTSTANDING &&
	    (b = pick_rr_all(p)) != NULL)
		return b;
	if ((b = pick_pass(p, ex, nex, 0, 0)) == NULL && try_anyway)
		b = pick_pass(p, ex, nex, 1, 0);
	return b;
}

int
pool_all(struct pool *p, struct backend **out, int max, int try_anyway)
{
	int i, n = 0, anyway;

	for (anyway = 0; anyway <= try_anyway && n == 0; anyway++)
		for (i = 0; i < p->n && n < max; i++)
			if (eligible(p->members[i], NULL, 0, anyway))
				out[n++] = p->members[i];
	return n;
}

struct backend *
pool_peek(struct pool *p)
{
	return p->n > 0 ? pick_pass(p, NULL, 0, 0, 1) : NULL;
}

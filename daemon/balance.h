/*
 * balance: which member of a pool a query goes to, by the pool's policy.
 * Called by every worker on the query path; it reads the members' admin
 * state, health, weight and outstanding count (atomics) and moves only the
 * pool's round-robin counter.
 */
#ifndef BALANCE_H
#define BALANCE_H

struct backend;
struct pool;

/* Pick a member of p for a new query, skipping the excluded ones (tried
 * already).  NULL when no usable member is left; with try_anyway, a
 * non-excluded enabled member even if down. */
struct backend	*pool_pick(struct pool *p, struct backend *const *exclude,
		    int nexclude, int try_anyway);
/* Every usable member of p, in the pool's order, up to max, into out
 * (a race asks them all); with try_anyway and none usable, the enabled
 * ones.  How many. */
int		 pool_all(struct pool *p, struct backend **out, int max,
		    int try_anyway);
/* The usable member the next query would get (`route test`), without
 * moving the round-robin counter on. */
struct backend	*pool_peek(struct pool *p);

#endif

/*
 * state: the daemon's shared state (dr), owned by the main thread, and how
 * a snapshot of the store becomes what every thread serves from: built
 * from the store inside the open transaction (state_build), made current
 * once that transaction is committed (state_publish), and, at start-up,
 * loaded from the store alone (state_load).  Apart from main() so that
 * tests and fuzzers can drive the command handlers without starting a
 * daemon.
 */
#ifndef STATE_H
#define STATE_H

#include <stddef.h>
#include <stdint.h>

#include "backend.h"		/* MAX_WORKERS */

struct config;
struct control;
struct db;
struct etcd;
struct event_base;
struct fleet;
struct health;
struct metrics;
struct registry;
struct route_cache;
struct share;
struct worker;

struct dnsrouted {
	struct event_base	*base;
	struct db		*db;
	struct config		*cfg;		/* current snapshot */
	struct route_cache	*rc;
	struct worker		*workers[MAX_WORKERS];
	int			 nworkers;
	struct health		*health;
	struct control		*control;
	struct metrics		*metrics;
	struct etcd		*etcd;		/* NULL without -e */
	struct registry		*registry;	/* NULL without -e, or -R - */
	struct fleet		*fleet;		/* NULL without -e */
	struct share		*share;		/* the shared state; NULL without -e */
	int64_t			 started_us;
	uint64_t		 generation;	/* snapshots published */
};

extern struct dnsrouted *dr;

/* A snapshot of the store as it stands inside the open transaction; the
 * current snapshot's backends and hit counters carry over (config_build).
 * NULL with err. */
struct config	*state_build(char *err, size_t errlen);
/* Make c current everywhere, once the transaction it was built in is
 * committed; takes over the reference.  The backends' rows are applied to
 * the shared backends (an admin change is noted in the health history),
 * every worker serves from c when this returns, the health checks follow
 * it, and the old snapshot is let go. */
void		 state_publish(struct config *c);
/* The route patterns' compilation, as rows (name, value, what it counts)
 * for show stats and the metrics: routes-pending is 0 once the background
 * compilation is done, routes-jit-wanted once the patterns the queries
 * use often have JIT code; until both are, the router answers the same,
 * only slower. */
void		 state_route_stats(void (*row)(void *arg, const char *name,
		    long long v, const char *help), void *arg);
/* Start-up: the first snapshot, from the store alone; -1 with err. */
int		 state_load(char *err, size_t errlen);
/* With dr->base and dr->cfg set: compile the routes in the background
 * from now on, and free the snapshots workers release.  stop: at exit,
 * once the workers are gone. */
void		 state_start(void);
void		 state_stop(void);

#endif

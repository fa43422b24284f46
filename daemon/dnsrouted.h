/*
 * dnsrouted: the daemon's shared state, owned by the main thread.
 */
#ifndef DNSROUTED_H
#define DNSROUTED_H

#include <event2/event.h>

#include "backend.h"
#include "config.h"
#include "db.h"
#include "health.h"
#include "route.h"
#include "worker.h"

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
	int64_t			 started_us;
	uint64_t		 generation;	/* snapshots published */
};

extern struct dnsrouted *dr;

/* Build a snapshot from the database as it stands inside the current
 * transaction; NULL with err. */
struct config	*dr_build(char *err, size_t errlen);
/* Make c current everywhere (after commit); takes over the reference. */
void		 dr_publish(struct config *c);

#endif

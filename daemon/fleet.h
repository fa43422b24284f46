/*
 * fleet: this router's place among the routers that share one etcd.
 *
 * Each router publishes itself under PREFIX/routers/ID (ID kept in the
 * store's local_state, made at the first start from the host name and a
 * random suffix) with a value of flat JSON: host, listen addresses,
 * version, when it started, and per kind of shared data the revision it
 * applied last and when ("registrations", "registrations_applied"; the
 * shared state: "state", "state_applied").  The key is written with a
 * lease of FLEET_TTL_S seconds kept alive every third of that, so a router
 * that dies disappears from the others' view within FLEET_TTL_S; one that
 * stops revokes its lease and disappears at once.  Every router mirrors
 * PREFIX/routers/ to show the fleet (`show fleet`).
 */
#ifndef FLEET_H
#define FLEET_H

#include <stdint.h>

#include <event2/event.h>

#include "etcd.h"
#include "listen.h"

#define FLEET_PREFIX_DEFAULT	"/dnsroute/"
#define FLEET_TTL_S		10

struct fleet;

struct fleet	*fleet_new(struct event_base *, struct etcd *, const char *prefix,
		    const struct listeners *);
/* Revoke this router's lease (waits up to a second for etcd). */
void		 fleet_leave(struct fleet *);
void		 fleet_free(struct fleet *);

/* This router's copy of what ("registrations", "state") is at revision
 * now, and changed says whether that changed anything: publish it. */
void		 fleet_note_applied(struct fleet *, const char *what,
		    int64_t revision, int changed);

struct fleet_router {
	const char	*id;
	int		 self;
	const char	*host;
	const char	*listen;
	const char	*version;
	int64_t		 started_us;
	int64_t		 registrations;		/* revision applied */
	int64_t		 registrations_us;	/* when */
	int64_t		 state;			/* shared state's revision */
	int64_t		 state_us;		/* when it last changed */
	int64_t		 mod_revision;		/* of its key */
};

struct fleet_status {
	const char	*id;
	const char	*key;
	int		 published;	/* our key is in etcd under a live lease */
	int64_t		 lease;
	const char	*last_error;
	int		 live;		/* the mirror of routers/ is current */
	int64_t		 revision;
};

void		 fleet_status(const struct fleet *, struct fleet_status *);
/* This router's id (kept in the store). */
const char	*fleet_id(const struct fleet *);
int		 fleet_nrouters(const struct fleet *);
/* Valid until the next return to the event loop. */
void		 fleet_router(const struct fleet *, int i, struct fleet_router *);

#endif

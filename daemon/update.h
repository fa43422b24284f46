/*
 * update: DNS UPDATE (RFC 2136) on a worker, from the message to the
 * client's answer: the client's TSIG, the route for the zone, the
 * fan-out to the route's pool, the answer signed with the client's key.
 * The query path hands an UPDATE over here and is done with it.
 */
#ifndef UPDATE_H
#define UPDATE_H

#include <stddef.h>
#include <stdint.h>

#include "dnsmsg.h"
#include "wstate.h"

/* At most this many UPDATEs in flight per worker; more get SERVFAIL. */
#define UPDATE_MAX_INFLIGHT	64

/* An UPDATE from a client, parsed (q) by the query path. */
void	update_client(struct worker *, const uint8_t *pkt, size_t len,
	    const struct dns_query *q, const struct client *cl);
/* Abandon every UPDATE in flight (the worker is being freed). */
void	update_free_all(struct worker *);

#endif

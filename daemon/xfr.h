/*
 * xfr: zone transfers (AXFR, IXFR) that a route sends to a pool, relayed
 * from one backend to one TCP client message by message as they come,
 * each with the client's ID: nothing holds more of a transfer than what
 * the two connections buffer.  Owned by one worker.
 */
#ifndef XFR_H
#define XFR_H

#include <stddef.h>
#include <stdint.h>

struct backend;
struct dns_query;
struct tclient;
struct worker;

/* xfr_start: the client's address already runs its share of transfers. */
#define XFR_CLIENT_FULL	(-2)

/* Relay the transfer the client on tc asked for in pkt (parsed as q) from
 * b, on a connection of its own, opened with the PROXY header proxy
 * (proxylen octets; 0: none).  0; XFR_CLIENT_FULL when tc's client address
 * runs its share already; or -1 when it cannot start (at XFR_MAX
 * transfers, or no socket).  The caller answers then. */
int	xfr_start(struct worker *, struct tclient *, struct backend *,
	    const uint8_t *pkt, size_t len, const struct dns_query *q,
	    int64_t route_id, const uint8_t *proxy, size_t proxylen);
/* From the worker's timer: go on with the transfers paused while their
 * client read too slowly. */
void	xfr_step(struct worker *);
/* The worker is freed: end every transfer. */
void	xfr_free_all(struct worker *);

#endif

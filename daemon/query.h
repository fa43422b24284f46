/*
 * query: one query's life on a worker: parse, route, pick a backend,
 * forward with a fresh ID, match the answer, retry or fail, answer the
 * client.  Called from worker.c's socket callbacks.
 */
#ifndef QUERY_H
#define QUERY_H

#include "worker.h"

/* A query from a client (UDP when tc is NULL). */
void	query_client(struct worker *, const uint8_t *pkt, size_t len,
	    const struct client *);
/* A message from a backend on the socket with this serial. */
void	query_backend_msg(struct worker *, struct bconn *, uint32_t serial,
	    uint8_t *pkt, size_t len, int stable);
/* Expire queries past their deadline. */
void	query_timeouts(struct worker *, uint64_t now);
/* Every query outstanding on bc over UDP (tcp_serial 0), or on the TCP
 * connection with that serial, failed at once: refused, reset, closed. */
void	query_bconn_failed(struct worker *, struct bconn *, uint32_t tcp_serial);
/* The snapshot s is no longer current: drop the worker's hold on it when
 * nothing in flight uses it. */
void	query_release_holds(struct worker *);

/* worker.c, for query.c: sockets to backends. */
struct bconn	*bconn_get(struct worker *, struct backend *);
/* The UDP socket the next query goes out on, or NULL. */
struct usock	*bconn_udp(struct bconn *);
/* The TCP connection the next query goes out on, connecting one if
 * needed (see worker.c); NULL when none is open and none can be. */
struct utcp	*bconn_tcp(struct bconn *);
struct utcp	*bconn_tcp_by_serial(struct bconn *, uint32_t);
int		 bconn_send_tcp(struct utcp *, const uint8_t *, size_t);
void		 bconn_maybe_free(struct bconn *);
/* Queue a datagram; it goes out at txq_flush() (end of the callback), so
 * buf must stay valid until then.  to may be NULL (connected socket). */
void		 txq_add(struct worker *, int fd, const void *buf, size_t len,
		    const struct sockaddr *to, socklen_t tolen,
		    const struct udp_dst *from);
void		 txq_flush(struct worker *);
uint16_t	 worker_random16(struct worker *);
/* Send an answer to a client; 0 or -1.  stable: buf stays valid until
 * the next txq_flush(), so a UDP answer can be batched. */
int		 client_send(struct worker *, struct qslot *, const uint8_t *,
		    size_t, int stable);
int		 client_send_direct(struct worker *, const struct client *,
		    const uint8_t *, size_t);
void		 tclient_query_done(struct tclient *);
/* The client of a slot, for the send functions. */
void		 slot_client(const struct qslot *, struct client *);

#endif

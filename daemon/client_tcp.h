/*
 * client_tcp: a worker's TCP listeners and client connections: accepting
 * within the limits, reading length-framed queries and handing each to the
 * query layer (w->on_query), writing the answers coalesced (tconn.h), and
 * the orderly close of every connection when the worker stops.
 */
#ifndef CLIENT_TCP_H
#define CLIENT_TCP_H

#include <sys/socket.h>
#include <stddef.h>
#include <stdint.h>

#include "tconn.h"

struct worker;

/* One client TCP connection.  The query layer reads bucket and counts the
 * queries it holds (tclient_query_begin/done); the rest is client_tcp.c's. */
struct tclient {
	struct worker		*w;
	struct tclient		*next, *prev;	/* worker's list */
	struct tconn		 c;		/* queries in, answers out */
	struct sockaddr_storage	 addr;
	socklen_t		 addrlen;
	uint32_t		 bucket;	/* client_bucket() of addr */
	uint64_t		 read_us;	/* w->tick_us when it last read */
	int			 inflight;	/* queries not yet answered */
	int			 closed;	/* c closed; waiting for inflight */
	int			 paused;	/* reading stopped at the in-flight cap */
	int			 shut;		/* stopping: FIN sent after the last answer */
	uint64_t		 shut_us;
};

/* Serve the listening socket fd (text names it in errors). */
void	client_tcp_add(struct worker *, int fd, const char *text);
/* Stopping: accept and read no more; client_tcp_step() then closes each
 * connection once its queries are answered and written. */
void	client_tcp_stop(struct worker *);
void	client_tcp_step(struct worker *, uint64_t now);
/* Close the connections idle for tcp-idle-timeout (from the worker's tick). */
void	client_tcp_idle(struct worker *);
void	client_tcp_free(struct worker *);

/* Queue an answer; 0, or -1 when the connection is gone or cut off (a
 * client that does not read its answers). */
int	tclient_send(struct tclient *, const uint8_t *, size_t);
static inline void
tclient_query_begin(struct tclient *tc)
{
	tc->inflight++;
}
void	tclient_query_settle(struct tclient *);
/* A query read on tc is answered or given up.  As a rule nothing else is
 * to be done; a closed tc goes with its last query, a paused one reads
 * again below half the cap (tclient_query_settle). */
static inline void
tclient_query_done(struct tclient *tc)
{
	tc->inflight--;
	if (tc->closed || tc->paused)
		tclient_query_settle(tc);
}
/* The client waits for something long (a zone transfer): its idle
 * timeout starts again. */
void	tclient_busy(struct tclient *);

#endif

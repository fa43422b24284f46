/*
 * upstream: one worker's side of the backends: a few connected UDP sockets
 * and up to UP_TCP_CONNS pipelined TCP connections per backend, opened on
 * first use and kept until the backend leaves the snapshot; the map from
 * (socket, ID) back to the query; the random IDs.  What a query does with
 * an answer is the query layer's (w->on_answer, w->on_failed).
 */
#ifndef UPSTREAM_H
#define UPSTREAM_H

#include <stddef.h>
#include <stdint.h>

struct backend;
struct config;
struct worker;

/* Queries one worker can have at the backends at once (query slots). */
#define UP_MAX_QUERIES	65536L

/* One query on a backend's socket; part of its query slot, owned here. */
struct up_ref {
	struct bconn	*bc;		/* NULL: not out */
	struct backend	*b;		/* where it went */
	struct up_ref	*failed;	/* while the failed are told */
	uint16_t	 id;
	uint8_t		 tcp;
	uint8_t		 sock;		/* bc's socket it went out on */
	uint8_t		 leg;		/* the query layer's: which of its tries */
};

void	up_init(struct worker *);
/* Send pkt to b, over TCP when the backend's transport is TCP or tcp is
 * set, with a fresh random ID, unique on the socket it goes out on (pkt is
 * changed).  Over UDP it waits in the send queue: pkt stays valid until
 * txq_flush().  The first off octets of pkt are a PROXY header
 * (proxyv2.h; 0: none) and the DNS message follows it: over UDP the
 * datagram is all of pkt, over TCP the header opens a connection of its
 * own and the message goes on it, with the next ones that have the same
 * header.  0, or -1 when it cannot go (counted: overload, send-errors,
 * and proxy-tcp-busy among those). */
int	up_send(struct worker *, struct up_ref *, struct backend *, int tcp,
	    uint8_t *pkt, size_t len, size_t off);
/* Take r off its socket (answered, timed out, failed): an answer with its
 * ID is unexpected from now on. */
void	up_unsend(struct worker *, struct up_ref *);
/* A new snapshot: the sockets of backends it no longer has go once their
 * last query is done. */
void	up_retire(struct worker *, const struct config *);
/* From the timer, never from a socket's own callback: free what retired. */
void	up_reap(struct worker *);
void	up_free(struct worker *);

#endif

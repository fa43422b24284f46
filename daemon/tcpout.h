/*
 * tcpout: DNS messages written to a TCP connection are gathered while the
 * worker handles what is ready, and written at the end with one write()
 * per connection.  See tcpout.c.
 */
#ifndef DNSROUTE_TCPOUT_H
#define DNSROUTE_TCPOUT_H

#include <stddef.h>
#include <stdint.h>

#include <event2/bufferevent.h>
#include <event2/event.h>

/* The connections of one worker that have output waiting to be written. */
struct tcpout_q {
	struct tcpout	*head;
	struct event	*ev;		/* made active when head is set */
};

/* The output side of one connection (a client's or a backend's). */
struct tcpout {
	struct tcpout_q		*q;
	struct bufferevent	*bev;		/* NULL: closed */
	struct tcpout		*next, *prev;	/* on q while queued */
	unsigned		 queued:1;	/* on q, to be written */
	unsigned		 draining:1;	/* EV_WRITE on: libevent writes */
	unsigned		 connecting:1;	/* not writable before connected */
	unsigned		 ack:1;		/* acknowledge what was read */
};

void	tcpout_q_init(struct tcpout_q *, struct event_base *);
void	tcpout_q_free(struct tcpout_q *);

/* Take over bev's writing (disables EV_WRITE); connecting: before
 * bufferevent_socket_connect(), then tcpout_connected() once it is. */
void	tcpout_open(struct tcpout *, struct tcpout_q *, struct bufferevent *,
	    int connecting);
/* Append one message with its two-byte length.  -1: out of memory. */
int	tcpout_msg(struct tcpout *, const uint8_t *, size_t);
/* What was read is to be acknowledged at once, not after the delayed-ACK
 * timeout: by the next message written if there is one this round, else
 * with TCP_QUICKACK. */
void	tcpout_ack(struct tcpout *);
/* Bytes not yet handed to the kernel. */
size_t	tcpout_backlog(const struct tcpout *);
void	tcpout_connected(struct tcpout *);
/* From the bufferevent's write callback: everything has been written. */
void	tcpout_drained(struct tcpout *);
/* Before the bufferevent is freed. */
void	tcpout_close(struct tcpout *);

#endif

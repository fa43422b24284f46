/*
 * tconn: a worker's TCP connection (a client's or a backend's) on a
 * non-blocking socket with buffers of its own: what is read waits in a
 * linear input buffer for the owner to take whole messages from, and
 * messages written are gathered while the worker handles what is ready,
 * then written with one send() per connection.  See tconn.c.
 */
#ifndef DNSROUTE_TCONN_H
#define DNSROUTE_TCONN_H

#include <sys/socket.h>
#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>

/* The connections of one worker that have output waiting to be written. */
struct tconn_q {
	struct tconn	*head;
	struct event_base *base;	/* the worker's */
	struct event	*ev;		/* runs the flush from the loop */
	int		 pending;	/* ev made active, not yet run */
	int		 in_read;	/* inside an owner's read callback */
};

struct tconn;

/* What the connection has read is in its input (tconn_input); the owner
 * takes whole messages with tconn_consume(). */
typedef void	tconn_read_fn(struct tconn *, void *arg);
/* The connection is finished: TCONN_EOF, TCONN_ERROR, TCONN_TIMEOUT (idle).
 * The owner closes it. */
typedef void	tconn_error_fn(struct tconn *, int what, void *arg);
#define TCONN_EOF	1
#define TCONN_ERROR	2
#define TCONN_TIMEOUT	3

struct tconn {
	struct tconn_q		*q;
	int			 fd;		/* -1: closed */
	struct event		*rev, *wev;
	struct timeval		 idle;		/* writing; {0, 0}: none */
	tconn_read_fn		*read_cb;
	tconn_error_fn		*error_cb;
	void			*arg;
	uint8_t			*in;		/* [0, inlen) read, not consumed */
	size_t			 inlen, incap;
	uint8_t			*out;		/* [outoff, outlen) to write */
	size_t			 outoff, outlen, outcap;
	struct tconn		*next, *prev;	/* on q while queued */
	int			 err;		/* connect failed at once */
	unsigned		 queued:1;	/* on q, to be written */
	unsigned		 draining:1;	/* EV_WRITE on: the kernel was full */
	unsigned		 connecting:1;	/* not writable before connected */
	unsigned		 ack:1;		/* acknowledge what was read */
	unsigned		 reading:1;	/* the read event is on */
	unsigned		 trigger:1;	/* run read_cb without reading */
};

void	tconn_q_init(struct tconn_q *, struct event_base *);
void	tconn_q_free(struct tconn_q *);

/* c is zeroed, or closed (tconn_close): its input buffer is reused.
 * Take over the non-blocking socket fd, reading (idle_s > 0: a connection
 * that cannot write for that long times out; whether it reads is for the
 * owner to watch).  -1: out of memory, fd closed. */
int	tconn_open(struct tconn *, struct tconn_q *, struct event_base *,
	    int fd, int idle_s, tconn_read_fn *, tconn_error_fn *, void *arg);
/* A new non-blocking socket connecting to sa: the same, and what is written
 * meanwhile waits for the connection.  A refusal comes through error_cb. */
int	tconn_connect(struct tconn *, struct tconn_q *, struct event_base *,
	    const struct sockaddr *, socklen_t, tconn_read_fn *,
	    tconn_error_fn *, void *arg);
/* Close the socket, drop the output; the input stays readable until
 * tconn_release() (an owner may be using it when it closes). */
void	tconn_close(struct tconn *);
void	tconn_release(struct tconn *);

static inline int
tconn_is_open(const struct tconn *c)
{
	return c->fd != -1;
}
/* Read no more (0) or again (1). */
void	tconn_read_enable(struct tconn *, int);
/* Run read_cb from the loop, on what is in the input, without reading. */
void	tconn_trigger(struct tconn *);
/* The first n bytes of the input are handled. */
void	tconn_consume(struct tconn *, size_t n);

/* Append one message with its two-byte length.  -1: closed or too long. */
int	tconn_msg(struct tconn *, const uint8_t *, size_t);
/* Append octets as they are, unframed (a PROXY header before the first
 * message).  -1: closed. */
int	tconn_raw(struct tconn *, const uint8_t *, size_t);
/* What was read is to be acknowledged at once, not after the delayed-ACK
 * timeout: by the next message written if there is one this round, else
 * with TCP_QUICKACK. */
void	tconn_ack(struct tconn *);
/* Bytes not yet handed to the kernel. */
static inline size_t
tconn_backlog(const struct tconn *c)
{
	return c->outlen - c->outoff;
}

#endif

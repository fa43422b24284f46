/*
 * tcpout: coalesced writes to TCP connections.
 *
 * A bufferevent with writing enabled writes every message on its own, one
 * writev() each, and adds and removes its write event around it: three
 * system calls per answer, where a client pipelining hundreds of queries
 * gets dozens of answers from one read of the backend.  So writing stays
 * disabled: messages are appended to the output buffer, the connection is
 * put on its worker's queue, and one event, made active (no system call)
 * when the queue stops being empty, runs after the callbacks of this loop
 * iteration and writes each queued connection with one write.  Only what
 * the kernel does not take turns writing on (draining), until libevent has
 * written it all; errors surface the same way, through the bufferevent's
 * event callback.
 *
 * ACKs: a server such as NSD does not set TCP_NODELAY, so its Nagle holds
 * each answer until the one before is acknowledged, and Linux delays that
 * ACK up to 40 ms when no data goes the other way to carry it.  A
 * connection that had answers to read asks for an ACK; at the flush, a
 * query written carries it, and only a connection with nothing to write
 * pays a TCP_QUICKACK (a system call and an ACK segment of its own).
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <errno.h>
#include <string.h>

#include <event2/buffer.h>

#include "log.h"
#include "tcpout.h"

static void
unlink_q(struct tcpout *o)
{
	if (!o->queued)
		return;
	if (o->prev != NULL)
		o->prev->next = o->next;
	else
		o->q->head = o->next;
	if (o->next != NULL)
		o->next->prev = o->prev;
	o->next = o->prev = NULL;
	o->queued = 0;
}

static void
enqueue(struct tcpout *o)
{
	struct tcpout_q *q = o->q;

	if (o->queued || o->connecting || o->bev == NULL)
		return;
	if (o->draining && !o->ack)
		return;
	if (q->head == NULL)
		event_active(q->ev, EV_WRITE, 1);
	o->prev = NULL;
	o->next = q->head;
	if (q->head != NULL)
		q->head->prev = o;
	q->head = o;
	o->queued = 1;
}

static void
write_one(struct tcpout *o)
{
	struct evbuffer *out = bufferevent_get_output(o->bev);
	int on = 1;

	if (o->ack && (o->draining || evbuffer_get_length(out) == 0)) {
		/* Linux leaves quick-ACK mode by itself: asked each time. */
		(void)setsockopt(bufferevent_getfd(o->bev), IPPROTO_TCP,
		    TCP_QUICKACK, &on, sizeof(on));
	}
	o->ack = 0;
	if (o->draining || evbuffer_get_length(out) == 0)
		return;

	/* A socket bufferevent keeps the start of its output frozen but while
	 * it writes itself; so do we.  -1 (EAGAIN, or an error) leaves the
	 * bytes where they are. */
	evbuffer_unfreeze(out, 1);
	(void)evbuffer_write(out, bufferevent_getfd(o->bev));
	evbuffer_freeze(out, 1);
	if (evbuffer_get_length(out) > 0) {
		/* libevent finishes, or meets the error and reports it. */
		o->draining = 1;
		bufferevent_enable(o->bev, EV_WRITE);
	}
}

static void
flush_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct tcpout_q *q = arg;
	struct tcpout *o;

	(void)fd;
	(void)ev;
	while ((o = q->head) != NULL) {
		unlink_q(o);
		write_one(o);
	}
}

void
tcpout_q_init(struct tcpout_q *q, struct event_base *base)
{
	q->head = NULL;
	q->ev = event_new(base, -1, 0, flush_cb, q);
	if (q->ev == NULL)
		fatalx("tcpout: event_new");
}

void
tcpout_q_free(struct tcpout_q *q)
{
	while (q->head != NULL)
		unlink_q(q->head);
	event_free(q->ev);
}

void
tcpout_open(struct tcpout *o, struct tcpout_q *q, struct bufferevent *bev,
    int connecting)
{
	o->q = q;
	o->bev = bev;
	o->next = o->prev = NULL;
	o->queued = 0;
	o->draining = 0;
	o->connecting = connecting != 0;
	o->ack = 0;
	/* A new bufferevent has writing enabled.  Before a connect, this
	 * does not stop the connect from finishing. */
	bufferevent_disable(bev, EV_WRITE);
}

int
tcpout_msg(struct tcpout *o, const uint8_t *pkt, size_t len)
{
	struct evbuffer *out;
	struct evbuffer_iovec v;
	uint8_t *b;

	if (o->bev == NULL || len > 0xffff)
		return -1;
	out = bufferevent_get_output(o->bev);
	/* Length and message in one piece: one change to the buffer, one run
	 * of its callbacks, instead of two. */
	if (evbuffer_reserve_space(out, (ev_ssize_t)len + 2, &v, 1) != 1)
		return -1;
	b = v.iov_base;
	b[0] = len >> 8;
	b[1] = len & 0xff;
	memcpy(b + 2, pkt, len);
	v.iov_len = len + 2;
	if (evbuffer_commit_space(out, &v, 1) == -1)
		return -1;
	enqueue(o);
	return 0;
}

void
tcpout_ack(struct tcpout *o)
{
	o->ack = 1;
	enqueue(o);
}

size_t
tcpout_backlog(const struct tcpout *o)
{
	return o->bev == NULL ? 0 :
	    evbuffer_get_length(bufferevent_get_output(o->bev));
}

void
tcpout_connected(struct tcpout *o)
{
	o->connecting = 0;
	if (tcpout_backlog(o) > 0)
		enqueue(o);
}

void
tcpout_drained(struct tcpout *o)
{
	if (!o->draining)
		return;
	o->draining = 0;
	bufferevent_disable(o->bev, EV_WRITE);
	/* Appended to while libevent was writing, after the last write. */
	if (tcpout_backlog(o) > 0)
		enqueue(o);
}

void
tcpout_close(struct tcpout *o)
{
	unlink_q(o);
	o->bev = NULL;
	o->draining = 0;
	o->connecting = 0;
	o->ack = 0;
}

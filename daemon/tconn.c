/*
 * tconn: a worker's TCP connections on non-blocking sockets with buffers
 * of their own (see tconn.h).
 *
 * Why not a bufferevent: per message, its evbuffers ran their callbacks on
 * every append, drain and pullup, and its events were added and removed
 * around every write; over TCP that was half of what a query cost.  Here
 * the input is one linear buffer that a read appends to and the owner
 * consumes whole messages from, and the output one linear buffer that
 * messages are appended to.
 *
 * Writing: messages are appended and the connection put on its worker's
 * queue; one event, made active (no system call) when the queue stops
 * being empty, runs after the callbacks of this loop iteration and writes
 * each queued connection with one send(): a client pipelining hundreds of
 * queries gets dozens of answers from one read of the backend.  When the
 * output was queued by a read callback and no other event is active in
 * this iteration, nothing could join it: the queue is written at the end
 * of that callback, which spares the event's activation (at low load, one
 * of the two per message).  Only what the kernel does not take waits for
 * the write event (draining; a send it took in part is not tried again
 * before), with the idle timeout; an error is reported from there too,
 * never from inside the flush, so an owner is never closed under its own
 * call.  The system calls skip glibc's cancellation bracketing (sys_recv,
 * sys_send).
 *
 * ACKs: a server such as NSD does not set TCP_NODELAY, so its Nagle holds
 * each answer until the one before is acknowledged, and Linux delays that
 * ACK up to 40 ms when no data goes the other way to carry it.  A
 * connection that had answers to read asks for an ACK; at the flush, a
 * query written carries it, and only a connection with nothing to write
 * pays a TCP_QUICKACK (a system call and an ACK segment of its own).
 * Each such ACK lets NSD send its next answer at once, in a segment of its
 * own, where a relay that never acknowledges gets them in bursts: the TCP
 * floor relay without FLOOR_TCP_ACK does, and takes 44 ms p50 for three
 * queries pipelined on one connection (this takes 0.4).  Owing the ACK
 * for a while so that a query written meanwhile carries it was tried
 * (session 30): a libevent timer has millisecond granularity here, and
 * three pipelined queries took 3.8 ms p50.
 *
 * Reading: no timeout on the read event (re-armed at every read, that was
 * a timer heap operation per message; the owner keeps its own clock), and
 * one recv() per readiness into the free end of the input, which
 * starts at TCONN_IN_MIN, doubles while reads fill it (up to TCONN_IN_MAX)
 * and grows beyond that only to hold one message whole.
 *
 * Invariants: every event here belongs to one worker's base and is touched
 * by its thread only; a connection is on q only while open.
 */
#include <sys/param.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "tconn.h"
#include "util.h"

#define TCONN_IN_MIN	4096
#define TCONN_IN_MAX	65536
#define TCONN_OUT_MIN	4096
#define TCONN_OUT_KEEP	65536	/* a larger output buffer goes when empty */

/*
 * recv() and send() are cancellation points: in a process with threads,
 * glibc brackets each with two calls that switch the thread's cancellation
 * type, which cost as much as the wrapper itself (about 30 instructions a
 * call, two reads and two writes a query).  No worker thread is ever
 * cancelled, so the system calls are made directly.
 */
static inline ssize_t
sys_recv(int fd, void *buf, size_t len)
{
	return syscall(SYS_recvfrom, fd, buf, len, MSG_DONTWAIT, NULL, NULL);
}

static inline ssize_t
sys_send(int fd, const void *buf, size_t len)
{
	return syscall(SYS_sendto, fd, buf, len, MSG_DONTWAIT | MSG_NOSIGNAL,
	    NULL, 0);
}

static void
unlink_q(struct tconn *c)
{
	if (!c->queued)
		return;
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		c->q->head = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	c->next = c->prev = NULL;
	c->queued = 0;
}

/* Put c on its queue, to be written at the end of the callback or round
 * (the caller checked that it is not queued already). */
static void
enqueue_slow(struct tconn *c)
{
	struct tconn_q *q = c->q;

	if (c->connecting || c->fd == -1)
		return;
	if (c->draining && !c->ack)
		return;
	if (!q->pending && !q->in_read) {
		event_active(q->ev, EV_WRITE, 1);
		q->pending = 1;
	}
	c->prev = NULL;
	c->next = q->head;
	if (q->head != NULL)
		q->head->prev = c;
	q->head = c;
	c->queued = 1;
}

static inline void
enqueue(struct tconn *c)
{
	if (!c->queued)
		enqueue_slow(c);
}

static const struct timeval *
idle_tv(const struct tconn *c)
{
	return c->idle.tv_sec > 0 ? &c->idle : NULL;
}

/* All of the output is with the kernel. */
static void
out_sent(struct tconn *c)
{
	c->outoff = c->outlen = 0;
	if (c->outcap > TCONN_OUT_KEEP) {
		free(c->out);
		c->out = NULL;
		c->outcap = 0;
	}
}

/* send what the kernel takes; 0, or -1 on an error. */
static int
send_some(struct tconn *c)
{
	ssize_t n;

	while (c->outoff < c->outlen) {
		n = sys_send(c->fd, c->out + c->outoff, c->outlen - c->outoff);
		if (n > 0) {
			c->outoff += (size_t)n;
			continue;
		}
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		return -1;
	}
	out_sent(c);
	return 0;
}

/* The general case: an ACK to ask for, a connection already waiting for
 * its write event, nothing to write, or a send the kernel did not take
 * whole. */
static void
write_slow(struct tconn *c)
{
	int on = 1;

	if (c->ack && (c->draining || c->outlen == c->outoff)) {
		/* Linux leaves quick-ACK mode by itself: asked each time. */
		(void)setsockopt(c->fd, IPPROTO_TCP, TCP_QUICKACK, &on,
		    sizeof(on));
	}
	c->ack = 0;
	if (c->draining || c->outlen == c->outoff)
		return;
	/* The rest, or the error, is for the write event. */
	if (send_some(c) == -1 || c->outlen > c->outoff) {
		c->draining = 1;
		event_add(c->wev, idle_tv(c));
	}
}

static void
write_one(struct tconn *c)
{
	size_t len = c->outlen - c->outoff;
	ssize_t n;

	if (c->ack || c->draining || len == 0) {
		write_slow(c);
		return;
	}
	/* As a rule the kernel takes all of it at once. */
	n = sys_send(c->fd, c->out + c->outoff, len);
	if (n == (ssize_t)len) {
		out_sent(c);
		return;
	}
	if (n == -1 && errno == EINTR) {
		write_slow(c);
		return;
	}
	/* A part: the kernel is full.  The rest, or the error, is for the
	 * write event. */
	if (n > 0)
		c->outoff += (size_t)n;
	c->draining = 1;
	event_add(c->wev, idle_tv(c));
}

/* Every connection on q, each with one send. */
static void
flush(struct tconn_q *q)
{
	struct tconn *c;

	while ((c = q->head) != NULL) {
		q->head = c->next;
		if (c->next != NULL)
			c->next->prev = NULL;
		c->next = NULL;
		c->queued = 0;
		write_one(c);
	}
}

static void
flush_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct tconn_q *q = arg;

	(void)fd;
	(void)ev;
	q->pending = 0;
	flush(q);
}

/* An owner's read callback, then what it queued: see "Writing" above.  c
 * may be gone when the callback returns; its queue is the worker's. */
static void
owner_read(struct tconn *c)
{
	struct tconn_q *q = c->q;

	q->in_read = 1;
	c->read_cb(c, c->arg);
	q->in_read = 0;
	if (q->head == NULL || q->pending)
		return;
	if (event_base_get_num_events(q->base, EVENT_BASE_COUNT_ACTIVE) == 0)
		flush(q);
	else {
		event_active(q->ev, EV_WRITE, 1);
		q->pending = 1;
	}
}

void
tconn_q_init(struct tconn_q *q, struct event_base *base)
{
	q->head = NULL;
	q->base = base;
	q->pending = q->in_read = 0;
	/* Persistent: made active again and again, never added or deleted. */
	q->ev = event_new(base, -1, EV_PERSIST, flush_cb, q);
	if (q->ev == NULL)
		fatalx("tconn: event_new");
}

void
tconn_q_free(struct tconn_q *q)
{
	while (q->head != NULL)
		unlink_q(q->head);
	event_free(q->ev);
}

/* ---- events ---- */

/* The length of the message the input begins with, its two bytes
 * included; 0 before they are read. */
static inline size_t
first_len(const struct tconn *c)
{
	return c->inlen >= 2 ? 2 + ((size_t)c->in[0] << 8 | c->in[1]) : 0;
}

/* Room for a whole message when one has begun, and more room while reads
 * fill what there is. */
static void
grow_in(struct tconn *c)
{
	size_t want = MAX(c->incap, first_len(c));

	if (c->inlen == c->incap && c->incap < TCONN_IN_MAX)
		want = MAX(want, c->incap * 2);
	if (want > c->incap || c->in == NULL) {
		want = MAX(want, TCONN_IN_MIN);
		c->in = xrealloc(c->in, want);
		c->incap = want;
	}
}

static void
read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct tconn *c = arg;
	ssize_t n;

	(void)what;
	if (c->trigger || !c->reading) {
		c->trigger = 0;
		owner_read(c);
		return;
	}
	if (c->in == NULL || c->inlen == c->incap || first_len(c) > c->incap)
		grow_in(c);
	n = sys_recv(fd, c->in + c->inlen, c->incap - c->inlen);
	if (n > 0) {
		c->inlen += (size_t)n;
		owner_read(c);
	} else if (n == 0)
		c->error_cb(c, TCONN_EOF, c->arg);
	else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
		c->error_cb(c, TCONN_ERROR, c->arg);
}

static void
write_cb(evutil_socket_t fd, short what, void *arg)
{
	struct tconn *c = arg;
	int on = 1, err = 0;
	socklen_t len = sizeof(err);

	if (what & EV_TIMEOUT) {
		c->error_cb(c, TCONN_TIMEOUT, c->arg);
		return;
	}
	if (c->connecting) {
		if (c->err == 0 &&
		    getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1)
			err = errno;
		if (c->err != 0 || err != 0) {
			c->error_cb(c, TCONN_ERROR, c->arg);
			return;
		}
		c->connecting = 0;
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
		event_del(c->wev);
		if (tconn_backlog(c) > 0)
			enqueue(c);
		return;
	}
	if (send_some(c) == -1) {
		c->error_cb(c, TCONN_ERROR, c->arg);
		return;
	}
	if (c->outlen > c->outoff)
		return;
	c->draining = 0;
	event_del(c->wev);
}

/* ---- opening and closing ---- */

/* The input buffer of an earlier connection on c is kept for this one. */
static int
setup(struct tconn *c, struct tconn_q *q, struct event_base *base, int fd,
    int idle_s, tconn_read_fn *rcb, tconn_error_fn *ecb, void *arg)
{
	uint8_t *in = c->in;
	size_t incap = c->incap;

	memset(c, 0, sizeof(*c));
	c->in = in;
	c->incap = incap;
	c->q = q;
	c->fd = fd;
	c->idle.tv_sec = idle_s;
	c->read_cb = rcb;
	c->error_cb = ecb;
	c->arg = arg;
	c->rev = event_new(base, fd, EV_READ | EV_PERSIST, read_cb, c);
	c->wev = event_new(base, fd, EV_WRITE | EV_PERSIST, write_cb, c);
	if (c->rev == NULL || c->wev == NULL) {
		tconn_close(c);
		return -1;
	}
	return 0;
}

int
tconn_open(struct tconn *c, struct tconn_q *q, struct event_base *base,
    int fd, int idle_s, tconn_read_fn *rcb, tconn_error_fn *ecb, void *arg)
{
	if (setup(c, q, base, fd, idle_s, rcb, ecb, arg) == -1)
		return -1;
	tconn_read_enable(c, 1);
	return 0;
}

int
tconn_connect(struct tconn *c, struct tconn_q *q, struct event_base *base,
    const struct sockaddr *sa, socklen_t salen, tconn_read_fn *rcb,
    tconn_error_fn *ecb, void *arg)
{
	int fd;

	fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0);
	if (fd == -1) {
		c->fd = -1;
		return -1;
	}
	if (setup(c, q, base, fd, 0, rcb, ecb, arg) == -1)
		return -1;
	c->connecting = 1;
	/* A refusal on loopback comes at once: reported from the loop, as a
	 * later one would be, not to the caller about to write. */
	if (connect(fd, sa, salen) == -1 && errno != EINPROGRESS) {
		c->err = errno;
		event_active(c->wev, EV_WRITE, 1);
	} else
		event_add(c->wev, NULL);
	tconn_read_enable(c, 1);
	return 0;
}

void
tconn_close(struct tconn *c)
{
	if (c->fd == -1)
		return;
	unlink_q(c);
	if (c->rev != NULL)
		event_free(c->rev);
	if (c->wev != NULL)
		event_free(c->wev);
	c->rev = c->wev = NULL;
	close(c->fd);
	c->fd = -1;
	free(c->out);
	c->out = NULL;
	c->outoff = c->outlen = c->outcap = 0;
	c->draining = c->connecting = c->ack = c->reading = c->trigger = 0;
}

void
tconn_release(struct tconn *c)
{
	tconn_close(c);
	free(c->in);
	c->in = NULL;
	c->inlen = c->incap = 0;
}

/* ---- reading ---- */

void
tconn_read_enable(struct tconn *c, int on)
{
	if (c->fd == -1 || c->reading == (on != 0))
		return;
	c->reading = on != 0;
	if (on)
		event_add(c->rev, NULL);
	else
		event_del(c->rev);
}

void
tconn_trigger(struct tconn *c)
{
	if (c->fd == -1)
		return;
	c->trigger = 1;
	event_active(c->rev, EV_READ, 1);
}

void
tconn_consume(struct tconn *c, size_t n)
{
	if (n >= c->inlen) {
		c->inlen = 0;
		return;
	}
	/* What is left is the start of a message, or messages not yet
	 * handled at the in-flight cap: short, as a rule. */
	memmove(c->in, c->in + n, c->inlen - n);
	c->inlen -= n;
}

/* ---- writing ---- */

/* Room for need more octets at the end of the output. */
static inline uint8_t *
out_room(struct tconn *c, size_t need)
{
	size_t cap;

	if (c->outlen + need > c->outcap && c->outoff > 0) {
		memmove(c->out, c->out + c->outoff, c->outlen - c->outoff);
		c->outlen -= c->outoff;
		c->outoff = 0;
	}
	if (c->outlen + need > c->outcap) {
		for (cap = MAX(c->outcap, TCONN_OUT_MIN); cap < c->outlen + need;)
			cap *= 2;
		c->out = xrealloc(c->out, cap);
		c->outcap = cap;
	}
	return c->out + c->outlen;
}

int
tconn_msg(struct tconn *c, const uint8_t *pkt, size_t len)
{
	size_t need = len + 2;
	uint8_t *b;

	if (c->fd == -1 || len > 0xffff)
		return -1;
	b = out_room(c, need);
	b[0] = len >> 8;
	b[1] = len & 0xff;
	memcpy(b + 2, pkt, len);
	c->outlen += need;
	enqueue(c);
	return 0;
}

int
tconn_raw(struct tconn *c, const uint8_t *buf, size_t len)
{
	if (c->fd == -1)
		return -1;
	memcpy(out_room(c, len), buf, len);
	c->outlen += len;
	enqueue(c);
	return 0;
}

void
tconn_ack(struct tconn *c)
{
	c->ack = 1;
	enqueue(c);
}

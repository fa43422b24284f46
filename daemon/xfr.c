/*
 * xfr: zone transfers relayed from a backend to a TCP client (see xfr.h).
 *
 * Each transfer has its own TCP connection to the backend: a transfer is
 * many messages with one ID, which would hold up every query pipelined
 * behind it on the shared ones (upstream.c).  The query goes out with a
 * fresh random ID; every message back must carry it, with QR set, and the
 * first must answer the question (or be the bare-header error of a server
 * that could not parse it).  Each message is written to the client with
 * the client's ID as soon as it is read, and dns_xfr_feed says which is
 * the last; then the backend connection is closed.  To a client-address
 * proxy backend the connection starts with the client's PROXY header.
 *
 * A client that reads slowly is not buffered for: past XFR_HIWAT bytes
 * not yet written to it, the backend connection is not read (the backend
 * waits on TCP flow control) until the worker's timer finds the client
 * below half of that.  When the backend fails, closes, sends what cannot
 * be part of the transfer or is silent for query-timeout, the client gets
 * SERVFAIL (RFC 5936 2.2: an error rcode ends a transfer) and the
 * transfer is counted in xfr-aborted; a client that leaves ends it too.
 * While a transfer runs, its client's idle timeout is restarted on every
 * tick of the worker's timer (the client has nothing to say meanwhile),
 * unless it is paused and the client read nothing since the last tick.
 *
 * One client address (an IPv6 /64; by client_bucket(), as its other
 * limits) runs at most xfr-max-per-client (a setting, default 8) of a
 * worker's XFR_MAX transfers: a client that pipelines transfers it does
 * not read, on every connection tcp-max-per-client allows, would
 * otherwise hold every slot and shut out every other secondary; an
 * operator with many secondaries behind one NAT raises it.  The list is
 * walked to count (at most XFR_MAX long, once per transfer asked): no
 * per-client state to keep in step.
 *
 * Invariants: a transfer holds its client (tclient_query_begin) and its
 * backend (backend_ref) until xfr_end; it is on the worker's list while
 * it lives.
 */
#include <sys/random.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>

#include "backend.h"
#include "client_tcp.h"
#include "dnsmsg.h"
#include "dnsxfr.h"
#include "config.h"
#include "tring.h"
#include "wstate.h"
#include "xfr.h"

/* Transfers at once per worker (settings.c bounds xfr-max-per-client by
 * it). */
#define XFR_MAX		64
#define XFR_HIWAT	(256 * 1024)	/* client backlog that pauses reading */

struct xfr {
	struct worker		*w;
	struct xfr		*next, *prev;	/* worker's list */
	struct tclient		*tc;
	struct backend		*b;
	struct bufferevent	*bev;		/* to the backend */
	struct dns_xfr		 end;
	struct dns_query	 q;
	uint8_t			*query;		/* the client's bytes */
	size_t			 qlen;
	uint16_t		 id;		/* sent to the backend */
	int64_t			 route_id;
	uint64_t		 start_us;
	uint32_t		 nmsg;		/* relayed */
	int			 rcode;		/* of the first message */
	int			 paused;
	size_t			 backlog;	/* the client's, last tick */
};

static void	xfr_read_cb(struct bufferevent *, void *);
static void	xfr_event_cb(struct bufferevent *, short, void *);

/* Done: record it, let go of the client and the backend. */
static void
xfr_end(struct xfr *x, int outcome, int rcode)
{
	struct worker *w = x->w;
	uint64_t now = now_us(), lat = now - x->start_us;
	struct trec t;

	t.mono_us = now;
	t.route_id = x->route_id;
	t.backend_id = x->b->id;
	t.latency_us = lat > UINT32_MAX ? UINT32_MAX : (uint32_t)lat;
	t.ancount = x->end.nrr > UINT16_MAX ? UINT16_MAX :
	    (uint16_t)x->end.nrr;
	t.tcp = 1;
	t.outcome = (uint8_t)outcome;
	t.rcode = (int8_t)rcode;
	t.tries = 1;
	t.detail = 0;
	tring_put(w->ring, &t, (struct sockaddr *)&x->tc->addr, &x->q);
	if (outcome == TRACE_XFR)
		STAT_INC(&w->st, xfr);
	else
		STAT_INC(&w->st, xfr_aborted);
	backend_wadd(&x->b->wc[w->idx].outstanding, -1UL);
	if (x->prev != NULL)
		x->prev->next = x->next;
	else
		w->xfrs = x->next;
	if (x->next != NULL)
		x->next->prev = x->prev;
	w->nxfr--;
	tclient_query_done(x->tc);
	bufferevent_free(x->bev);
	backend_unref(x->b);
	free(x->query);
	free(x);
}

/* The transfer cannot go on: SERVFAIL to the client, then the end. */
static void
xfr_fail(struct xfr *x)
{
	uint8_t out[DNS_HDR_LEN + DNS_MAX_WIRE_NAME + 4];
	size_t n;

	atomic_fetch_add_explicit(&x->b->failures, 1, memory_order_relaxed);
	n = dns_make_answer(out, sizeof(out), x->query, x->qlen, &x->q,
	    DNS_RCODE_SERVFAIL);
	if (n > 0 && tclient_send(x->tc, out, n) == 0)
		STAT_INC(&x->w->st, answers);
	stats_count_rcode(&x->w->st, DNS_RCODE_SERVFAIL);
	xfr_end(x, TRACE_XFR_ABORTED, DNS_RCODE_SERVFAIL);
}

/* The transfers that the client address of tc runs on this worker. */
static int
xfr_of_client(const struct worker *w, const struct tclient *tc)
{
	const struct xfr *x;
	int n = 0;

	for (x = w->xfrs; x != NULL; x = x->next)
		if (x->tc->bucket == tc->bucket)
			n++;
	return n;
}

int
xfr_start(struct worker *w, struct tclient *tc, struct backend *b,
    const uint8_t *pkt, size_t len, const struct dns_query *q,
    int64_t route_id, const uint8_t *proxy, size_t proxylen)
{
	struct evbuffer *out;
	struct timeval tv;
	struct xfr *x;
	uint8_t head[4];
	int ms = w->cfg->set.query_timeout_ms;

	if (xfr_of_client(w, tc) >= w->cfg->set.xfr_max_per_client)
		return XFR_CLIENT_FULL;
	if (w->nxfr >= XFR_MAX || len < DNS_HDR_LEN)
		return -1;
	x = xcalloc(1, sizeof(*x));
	x->w = w;
	x->start_us = now_us();
	x->route_id = route_id;
	dns_query_copy(&x->q, q);
	dns_xfr_init(&x->end, q->qtype);
	x->query = xmalloc(len);
	memcpy(x->query, pkt, len);
	x->qlen = len;
	if (getrandom(&x->id, sizeof(x->id), 0) != (ssize_t)sizeof(x->id) ||
	    (x->bev = bufferevent_socket_new(w->base, -1,
	    BEV_OPT_CLOSE_ON_FREE)) == NULL) {
		free(x->query);
		free(x);
		return -1;
	}
	if (bufferevent_socket_connect(x->bev, (struct sockaddr *)&b->addr,
	    (int)b->addrlen) == -1) {
		bufferevent_free(x->bev);
		free(x->query);
		free(x);
		return -1;
	}
	bufferevent_setcb(x->bev, xfr_read_cb, NULL, xfr_event_cb, x);
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	bufferevent_set_timeouts(x->bev, &tv, &tv);
	bufferevent_enable(x->bev, EV_READ | EV_WRITE);
	/* The client's bytes with our ID, after the PROXY header of a
	 * client-address proxy backend; written once connected. */
	out = bufferevent_get_output(x->bev);
	evbuffer_add(out, proxy, proxylen);
	head[0] = (uint8_t)(len >> 8);
	head[1] = (uint8_t)len;
	head[2] = (uint8_t)(x->id >> 8);
	head[3] = (uint8_t)x->id;
	evbuffer_add(out, head, sizeof(head));
	evbuffer_add(out, pkt + 2, len - 2);
	x->tc = tc;
	tclient_query_begin(tc);
	backend_ref(b);
	x->b = b;
	backend_wadd(&b->wc[w->idx].outstanding, 1);
	backend_wadd(&b->wc[w->idx].queries, 1);
	STAT_INC(&w->st, forwarded);
	x->next = w->xfrs;
	if (w->xfrs != NULL)
		w->xfrs->prev = x;
	w->xfrs = x;
	w->nxfr++;
	return 0;
}

/* Check message m (len l) of the transfer; 1: the last, 0: more to come,
 * -1: not part of it. */
static int
xfr_check(struct xfr *x, uint8_t *m, size_t l)
{
	int rcode;

	if (l < DNS_HDR_LEN || dns_get_id(m) != x->id) {
		STAT_INC(&x->w->st, spoofed);
		return -1;
	}
	if (x->nmsg == 0) {
		if (dns_answer_matches(m, l, x->id, &x->q) != 0) {
			/* The bare header of a server that could not parse
			 * the query: its rcode is the answer. */
			if ((rcode = dns_answer_headerless(m, l, x->id,
			    &x->q)) == -1) {
				STAT_INC(&x->w->st, spoofed);
				return -1;
			}
			STAT_INC(&x->w->st, headerless);
		}
		x->rcode = DNS_RCODE(m[2] << 8 | m[3]);
	}
	return dns_xfr_feed(&x->end, m, l);
}

/* Relay what the backend sent, up to the client's backlog limit. */
static void
xfr_relay(struct xfr *x)
{
	struct evbuffer *in = bufferevent_get_input(x->bev);
	/* The worker's receive buffer: socket readers run one at a time. */
	uint8_t *m = x->w->rxbuf;
	const uint8_t *p;
	size_t avail, off = 0;
	long l;
	int r;

	avail = evbuffer_get_length(in);
	if (avail < 2 || (p = evbuffer_pullup(in, (ssize_t)avail)) == NULL)
		return;
	while ((l = dns_tcp_next(p, avail, off)) >= 0) {
		if (x->tc->closed) {
			xfr_end(x, TRACE_XFR_ABORTED, -1);
			return;
		}
		if (tconn_backlog(&x->tc->c) > XFR_HIWAT) {
			bufferevent_disable(x->bev, EV_READ);
			x->paused = 1;
			break;
		}
		memcpy(m, p + off + 2, (size_t)l);
		off += 2 + (size_t)l;
		if ((r = xfr_check(x, m, (size_t)l)) == -1) {
			xfr_fail(x);
			return;
		}
		dns_set_id(m, x->q.id);
		x->nmsg++;
		if (tclient_send(x->tc, m, (size_t)l) == -1) {
			xfr_end(x, TRACE_XFR_ABORTED, -1);
			return;
		}
		if (r == 1) {
			backend_wadd(&x->b->wc[x->w->idx].answers, 1);
			stats_count_rcode(&x->w->st, x->rcode);
			STAT_INC(&x->w->st, answers);
			xfr_end(x, TRACE_XFR, x->rcode);
			return;
		}
	}
	if (off > 0)
		evbuffer_drain(in, off);
}

static void
xfr_read_cb(struct bufferevent *bev, void *arg)
{
	(void)bev;
	xfr_relay(arg);
}

static void
xfr_event_cb(struct bufferevent *bev, short what, void *arg)
{
	(void)bev;
	if (what & BEV_EVENT_CONNECTED)
		return;
	/* Closed, reset, refused, or silent too long. */
	xfr_fail(arg);
}

void
xfr_step(struct worker *w)
{
	struct xfr *x, *next;
	size_t backlog;

	for (x = w->xfrs; x != NULL; x = next) {
		next = x->next;
		if (x->tc->closed) {
			xfr_end(x, TRACE_XFR_ABORTED, -1);
			continue;
		}
		/* A transfer may take longer than a client may sit idle;
		 * but one that reads nothing of it is cut off as ever. */
		backlog = tconn_backlog(&x->tc->c);
		if (!x->paused || backlog < x->backlog)
			tclient_busy(x->tc);
		x->backlog = backlog;
		if (!x->paused || backlog > XFR_HIWAT / 2)
			continue;
		x->paused = 0;
		bufferevent_enable(x->bev, EV_READ);
		xfr_relay(x);
	}
}

void
xfr_free_all(struct worker *w)
{
	while (w->xfrs != NULL)
		xfr_end(w->xfrs, TRACE_XFR_ABORTED, -1);
}

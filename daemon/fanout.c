/*
 * fanout: an UPDATE to every target at once (see fanout.h).
 *
 * Each target gets its own copy of the message: a random ID, then its
 * key's TSIG (the MAC kept to check the answer).  The copy goes out on a
 * connected UDP socket of its own; an answer is taken only with that ID,
 * QR set, opcode UPDATE and the zone echoed (or a bare-header error,
 * which is how servers answer what they cannot parse), else it is counted
 * in ignored and the target waits on.  A truncated answer sends the same
 * copy again over TCP.  A target's PROXY header (client-address proxy)
 * goes before the datagram, or first on the connection; TSIG signs the
 * message only, so the header changes nothing of the signing.  A target
 * with a key is confirmed only by a NOERROR its key verifies; an answer
 * it does not verify, unsigned, or carrying the server's TSIG error fails
 * the target (SERVFAIL: nothing usable came back), since a server that
 * cannot check our key did not apply the update, and one whose answer we
 * cannot check may not have.
 *
 * Invariants: a target ends once (end_target), its sockets closed then;
 * cb runs only from the check event, so never inside fanout_start,
 * fanout_free or a socket callback's middle; every socket and event is
 * freed by fanout_free.
 */
#include <sys/random.h>
#include <sys/socket.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>

#include "fanout.h"
#include "log.h"
#include "util.h"

struct fo_conn {
	struct fanout		*fo;
	struct fanout_target	*t;
	uint8_t			*msg;		/* this target's copy, signed */
	size_t			 len;
	uint16_t		 id;
	uint8_t			 mac[TSIG_MAC_MAX];
	uint16_t		 maclen;
	int			 fd;		/* UDP; -1 when closed */
	struct event		*ev;
	struct bufferevent	*bev;		/* TCP; NULL when not open */
};

struct fanout {
	struct event_base	*base;
	struct dns_query	 q;		/* the zone, for the answers */
	struct fanout_target	*t;
	struct fo_conn		*c;
	int			 n;
	int			 confirm_all;
	int			 pending;
	int			 confirmed;
	uint64_t		 start_us;
	struct event		*ev_timeout;
	struct event		*ev_check;	/* runs cb from the loop */
	int			 told_rcode;	/* cb has seen the rcode */
	int			 told_done;
	fanout_cb		 cb;
	void			*arg;
};

/* Worst first: what the client gets when the rule is not met.  Rcodes
 * not listed rank with SERVFAIL. */
static const uint8_t rcode_rank[16] = {
	[DNS_RCODE_SERVFAIL] = 0,
	[DNS_RCODE_NOTAUTH] = 1,
	[DNS_RCODE_REFUSED] = 2,
	[DNS_RCODE_NOTIMP] = 3,
	[DNS_RCODE_FORMERR] = 4,
	[DNS_RCODE_NOTZONE] = 5,
	[6] = 6,	/* YXDOMAIN */
	[7] = 7,	/* YXRRSET */
	[8] = 8,	/* NXRRSET */
	[DNS_RCODE_NXDOMAIN] = 9,
};

static void	udp_cb(evutil_socket_t, short, void *);
static void	tcp_read_cb(struct bufferevent *, void *);
static void	tcp_event_cb(struct bufferevent *, short, void *);

static void
conn_close(struct fo_conn *c)
{
	if (c->ev != NULL) {
		event_free(c->ev);
		c->ev = NULL;
	}
	if (c->fd != -1) {
		close(c->fd);
		c->fd = -1;
	}
	if (c->bev != NULL) {
		bufferevent_free(c->bev);
		c->bev = NULL;
	}
}

/* The outcome of c's target; cb is told from the loop. */
static void
end_target(struct fo_conn *c, int state, int rcode, int why)
{
	struct fanout *fo = c->fo;

	if (c->t->state != FANOUT_PENDING)
		return;
	conn_close(c);
	c->t->state = state;
	c->t->rcode = rcode;
	c->t->why = why;
	c->t->rtt_us = now_us() - fo->start_us;
	fo->pending--;
	if (state == FANOUT_CONFIRMED)
		fo->confirmed++;
	event_active(fo->ev_check, 0, 0);
}

enum fanout_verdict
fanout_classify(const struct fanout_sent *sent, const uint8_t *pkt,
    size_t len, int tcp, uint64_t now, int *rcode, int *why)
{
	int e;

	*rcode = -1;
	*why = TRACE_WHY_NONE;
	if (len < DNS_HDR_LEN || dns_get_id(pkt) != sent->id ||
	    DNS_OPCODE(dns_get16(pkt + 2)) != DNS_OPCODE_UPDATE ||
	    (dns_answer_matches(pkt, len, sent->id, sent->q) != 0 &&
	    dns_answer_headerless(pkt, len, sent->id, sent->q) == -1))
		return FANOUT_IGNORE;
	if (!tcp && (pkt[2] & (DNS_FLAG_TC >> 8)))
		return FANOUT_TRUNCATED;
	if (sent->key != NULL && (e = tsig_verify_answer(pkt, len, sent->key,
	    sent->mac, sent->maclen, now)) != TSIG_A_OK) {
		*why = TRACE_WHY_TSIG + e;
		return FANOUT_FAIL;
	}
	*rcode = DNS_RCODE(pkt[3]);
	if (*rcode == DNS_RCODE_NOERROR)
		return FANOUT_CONFIRM;
	*why = TRACE_WHY_RCODE;
	return FANOUT_FAIL;
}

/* A message from c's server: ignored (0), the answer (1), or truncated
 * over UDP (-1: the UDP socket is closed, TCP is next). */
static int
take_answer(struct fo_conn *c, const uint8_t *pkt, size_t len, int tcp)
{
	struct fanout_sent sent;
	int rcode, why;

	sent.q = &c->fo->q;
	sent.id = c->id;
	sent.key = c->t->key;
	sent.mac = c->mac;
	sent.maclen = c->maclen;
	switch (fanout_classify(&sent, pkt, len, tcp, (uint64_t)time(NULL),
	    &rcode, &why)) {
	case FANOUT_IGNORE:
		c->t->ignored++;
		return 0;
	case FANOUT_TRUNCATED:
		event_free(c->ev);
		c->ev = NULL;
		close(c->fd);
		c->fd = -1;
		return -1;
	case FANOUT_CONFIRM:
		end_target(c, FANOUT_CONFIRMED, rcode, why);
		return 1;
	default:
		end_target(c, FANOUT_FAILED, rcode, why);
		return 1;
	}
}

static void
tcp_start(struct fo_conn *c)
{
	struct fanout *fo = c->fo;
	uint8_t l[2];

	c->t->tcp = 1;
	c->bev = bufferevent_socket_new(fo->base, -1, BEV_OPT_CLOSE_ON_FREE);
	if (c->bev == NULL) {
		end_target(c, FANOUT_FAILED, -1, TRACE_WHY_NO_SOCKET);
		return;
	}
	bufferevent_setcb(c->bev, tcp_read_cb, NULL, tcp_event_cb, c);
	dns_put16(l, (uint16_t)c->len);
	if (bufferevent_write(c->bev, c->t->proxy, c->t->proxylen) == -1 ||
	    bufferevent_write(c->bev, l, 2) == -1 ||
	    bufferevent_write(c->bev, c->msg, c->len) == -1 ||
	    bufferevent_enable(c->bev, EV_READ | EV_WRITE) == -1 ||
	    bufferevent_socket_connect(c->bev, (struct sockaddr *)&c->t->addr,
	    (int)c->t->addrlen) == -1)
		end_target(c, FANOUT_FAILED, -1, TRACE_WHY_REFUSED);
}

static void
udp_start(struct fo_conn *c)
{
	struct fanout *fo = c->fo;
	struct iovec iov[2] = {
		{ c->t->proxy, c->t->proxylen }, { c->msg, c->len }
	};
	struct msghdr mh = { .msg_iov = iov, .msg_iovlen = 2 };

	c->fd = socket(c->t->addr.ss_family,
	    SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd == -1) {
		end_target(c, FANOUT_FAILED, -1, TRACE_WHY_NO_SOCKET);
		return;
	}
	/* connect(): the kernel takes datagrams only from the server, and
	 * tells us when nothing listens there. */
	if (connect(c->fd, (struct sockaddr *)&c->t->addr, c->t->addrlen) ==
	    -1 || sendmsg(c->fd, &mh, 0) !=
	    (ssize_t)(c->t->proxylen + c->len)) {
		end_target(c, FANOUT_FAILED, -1, errno == ECONNREFUSED ?
		    TRACE_WHY_REFUSED : TRACE_WHY_NO_SOCKET);
		return;
	}
	c->ev = event_new(fo->base, c->fd, EV_READ | EV_PERSIST, udp_cb, c);
	if (c->ev == NULL || event_add(c->ev, NULL) == -1)
		end_target(c, FANOUT_FAILED, -1, TRACE_WHY_NO_SOCKET);
}

static void
udp_cb(evutil_socket_t fd, short what, void *arg)
{
	struct fo_conn *c = arg;
	uint8_t buf[65536];
	ssize_t n;
	int r;

	(void)what;
	/* A few datagrams at most: ignored ones must not starve the loop. */
	for (r = 0; r < 8 && c->fd == fd; r++) {
		n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n == -1) {
			if (errno == ECONNREFUSED)
				end_target(c, FANOUT_FAILED, -1, TRACE_WHY_REFUSED);
			return;
		}
		if (take_answer(c, buf, (size_t)n, 0) == -1) {
			tcp_start(c);
			return;
		}
	}
}

static void
tcp_read_cb(struct bufferevent *bev, void *arg)
{
	struct fo_conn *c = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	const uint8_t *p;
	size_t avail;
	long l;

	for (;;) {
		avail = evbuffer_get_length(in);
		if (avail < 2 || (p = evbuffer_pullup(in, (ssize_t)avail)) ==
		    NULL || (l = dns_tcp_next(p, avail, 0)) < 0)
			return;
		if (take_answer(c, p + 2, (size_t)l, 1) != 0)
			return;		/* ended: bev freed */
		evbuffer_drain(in, 2 + (size_t)l);
	}
}

static void
tcp_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct fo_conn *c = arg;

	(void)bev;
	if (what & BEV_EVENT_CONNECTED)
		return;
	end_target(c, FANOUT_FAILED, -1, what & BEV_EVENT_EOF ?
	    TRACE_WHY_CLOSED : TRACE_WHY_REFUSED);
}

static void
timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	struct fanout *fo = arg;
	int i;

	(void)fd;
	(void)what;
	for (i = 0; i < fo->n; i++)
		end_target(&fo->c[i], FANOUT_FAILED, -1, TRACE_WHY_TIMEOUT);
}

static void
check_cb(evutil_socket_t fd, short what, void *arg)
{
	struct fanout *fo = arg;
	int rcode = fanout_rcode(fo), done = fanout_done(fo);

	(void)fd;
	(void)what;
	if ((rcode != -1 && !fo->told_rcode) || (done && !fo->told_done)) {
		fo->told_rcode = rcode != -1;
		fo->told_done = done;
		/* cb may free fo: nothing after this. */
		fo->cb(fo, fo->arg);
	}
}

struct fanout *
fanout_start(struct event_base *base, const uint8_t *msg, size_t len,
    const struct dns_query *q, struct fanout_target *t, int n,
    int confirm_all, int timeout_ms, fanout_cb cb, void *arg)
{
	struct timeval tv;
	struct fanout *fo;
	struct fo_conn *c;
	uint64_t now = (uint64_t)time(NULL);
	size_t cap;
	int i;

	if (len < DNS_HDR_LEN || len > 65535 || n <= 0)
		return NULL;
	fo = xcalloc(1, sizeof(*fo));
	fo->base = base;
	dns_query_copy(&fo->q, q);
	fo->t = t;
	fo->n = n;
	fo->c = xcalloc((size_t)n, sizeof(*fo->c));
	fo->confirm_all = confirm_all;
	fo->pending = n;
	fo->cb = cb;
	fo->arg = arg;
	fo->start_us = now_us();
	fo->ev_check = event_new(base, -1, 0, check_cb, fo);
	fo->ev_timeout = evtimer_new(base, timeout_cb, fo);
	for (i = 0; i < n; i++) {
		c = &fo->c[i];
		c->fo = fo;
		c->t = &t[i];
		c->fd = -1;
		t[i].state = FANOUT_PENDING;
		t[i].rcode = -1;
		t[i].why = TRACE_WHY_NONE;
		t[i].tcp = 0;
		t[i].ignored = 0;
		t[i].rtt_us = 0;
		/* The TSIG may not fit a 64 KiB message: then unsigned it
		 * cannot go either. */
		cap = len + (t[i].key != NULL ? TSIG_RR_MAX : 0);
		c->msg = xmalloc(cap);
		memcpy(c->msg, msg, len);
		if (getrandom(&c->id, sizeof(c->id), 0) != sizeof(c->id))
			fatal("getrandom");
		dns_set_id(c->msg, c->id);
		c->len = len;
		if (t[i].key != NULL) {
			c->len = tsig_sign(c->msg, len, cap > 65535 ? 65535 :
			    cap, t[i].key, NULL, 0, now, c->mac);
			c->maclen = (uint16_t)tsig_mac_len(t[i].key->alg);
		}
	}
	if (fo->ev_check == NULL || fo->ev_timeout == NULL) {
		fanout_free(fo);
		return NULL;
	}
	tv.tv_sec = timeout_ms / 1000;
	tv.tv_usec = (timeout_ms % 1000) * 1000;
	evtimer_add(fo->ev_timeout, &tv);
	for (i = 0; i < n; i++) {
		c = &fo->c[i];
		if (c->len == 0)
			end_target(c, FANOUT_FAILED, -1, TRACE_WHY_TOO_BIG);
		else if (c->len > FANOUT_UDP_MAX)
			tcp_start(c);
		else
			udp_start(c);
	}
	return fo;
}

int
fanout_rcode(const struct fanout *fo)
{
	int i, worst = -1, r;

	if (fo->confirmed >= (fo->confirm_all ? fo->n : 1))
		return DNS_RCODE_NOERROR;
	if (fo->pending > 0)
		return -1;
	for (i = 0; i < fo->n; i++) {
		if (fo->t[i].state != FANOUT_FAILED)
			continue;
		r = fo->t[i].rcode < 0 ? DNS_RCODE_SERVFAIL : fo->t[i].rcode;
		if (worst == -1 || rcode_rank[r & 0xf] < rcode_rank[worst])
			worst = r & 0xf;
	}
	/* Unranked rcodes answer as SERVFAIL. */
	return worst == -1 || (rcode_rank[worst] == 0 &&
	    worst != DNS_RCODE_SERVFAIL) ? DNS_RCODE_SERVFAIL : worst;
}

int
fanout_done(const struct fanout *fo)
{
	return fo->pending == 0;
}

void
fanout_free(struct fanout *fo)
{
	int i;

	if (fo == NULL)
		return;
	for (i = 0; i < fo->n; i++) {
		conn_close(&fo->c[i]);
		free(fo->c[i].msg);
		explicit_bzero(fo->c[i].mac, sizeof(fo->c[i].mac));
	}
	free(fo->c);
	if (fo->ev_check != NULL)
		event_free(fo->ev_check);
	if (fo->ev_timeout != NULL)
		event_free(fo->ev_timeout);
	free(fo);
}

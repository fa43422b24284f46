/*
 * health_probe: one check on the wire (see health_int.h).
 *
 * The check query is built once (with ldns) from the backend's settings
 * and rebuilt only when they change.  A check is a fresh non-blocking TCP
 * connection (length framing, the query sent with the connection, reset
 * after the answer) or a connected UDP socket, with a random ID per check
 * patched into the prebuilt query; one read event per check, no buffers.
 * With a thousand backends a check's cost is mostly the kernel's TCP
 * connection, so the rest is kept to a few system calls.  It is good when
 * an answer with our ID and question arrives within the timeout (and,
 * when configured, with the expected rcode).  A client-address proxy
 * backend drops what comes without a PROXY header, so its check goes
 * after a LOCAL one (no addresses: the backend takes the connection's
 * own), as dnsdist's checks do.
 *
 * Whatever ends a check here ends it through the event loop or through
 * hcheck_finish from a socket's event, never inside hprobe_send: an early
 * failure is kept in hc->fail for the timeout event (hprobe_end_later).
 */
#include <sys/socket.h>

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <ldns/ldns.h>

#include "health_int.h"
#include "util.h"

/* Enough for the header and question of any answer we accept. */
#define UDP_RECV_MAX		4096

static int
query_build(struct hcheck *hc)
{
	const struct backend_conf *c = &hc->b->conf;
	ldns_rdf *name;
	ldns_pkt *pkt;
	uint8_t *wire = NULL;
	size_t len = 0;
	int ret = -1;

	hc->built = 0;
	snprintf(hc->qname, sizeof(hc->qname), "%s", c->check_qname);
	hc->qtype = c->check_qtype;
	hc->qclass = c->check_qclass;
	if ((name = ldns_dname_new_frm_str(hc->qname)) == NULL)
		return -1;
	if ((pkt = ldns_pkt_query_new(name, (ldns_rr_type)hc->qtype,
	    (ldns_rr_class)hc->qclass, 0)) == NULL) {
		ldns_rdf_deep_free(name);
		return -1;
	}
	if (ldns_pkt2wire(&wire, pkt, &len) == LDNS_STATUS_OK &&
	    len <= sizeof(hc->wire) &&
	    dns_parse_query(wire, len, &hc->q) == DNS_OK) {
		memcpy(hc->wire, wire, len);
		hc->wirelen = len;
		hc->built = 1;
		ret = 0;
	}
	free(wire);
	ldns_pkt_free(pkt);
	return ret;
}

static int
query_stale(const struct hcheck *hc)
{
	const struct backend_conf *c = &hc->b->conf;

	return !hc->built || hc->qtype != c->check_qtype ||
	    hc->qclass != c->check_qclass ||
	    strcmp(hc->qname, c->check_qname) != 0;
}

static const char *
rcode_name(int rcode, char *buf, size_t len)
{
	ldns_lookup_table *t = ldns_lookup_by_id(ldns_rcodes, rcode);

	if (t != NULL && t->name != NULL)
		return t->name;
	snprintf(buf, len, "RCODE%d", rcode);
	return buf;
}

/* Close the check's sockets; the timeout event is left to the caller. */
void
hprobe_close(struct hcheck *hc)
{
	struct linger lg = { 1, 0 };

	if (hc->rev != NULL) {
		event_free(hc->rev);
		hc->rev = NULL;
	}
	if (hc->fd != -1) {
		/* A reset, not a FIN: the answer is in (or the check is
		 * over), and a closed check connection must not sit in
		 * TIME_WAIT, which at a check a second to each of thousands
		 * of backends on one server would use up the local ports. */
		if (hc->tcp)
			(void)setsockopt(hc->fd, SOL_SOCKET, SO_LINGER, &lg,
			    sizeof(lg));
		close(hc->fd);
		hc->fd = -1;
	}
}

/* End the check from the event loop, on the next turn. */
void
hprobe_end_later(struct hcheck *hc)
{
	struct timeval zero = { 0, 0 };

	hprobe_close(hc);
	evtimer_add(hc->tmo, &zero);
}

static void
fail_later(struct hcheck *hc, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
fail_later(struct hcheck *hc, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(hc->fail, sizeof(hc->fail), fmt, ap);
	va_end(ap);
	hc->failed = 1;
	hprobe_end_later(hc);
}

static const char *
errno_detail(int e, const char *op, char *buf, size_t len)
{
	switch (e) {
	case ECONNREFUSED:
		return "connection refused";
	case ECONNRESET:
		return "connection reset";
	case ENETUNREACH:
	case EHOSTUNREACH:
		return "unreachable";
	default:
		snprintf(buf, len, "%s: %s", op, strerror(e));
		return buf;
	}
}

/* An answer with our ID and question came: judge its rcode. */
static void
check_answer(struct hcheck *hc, const uint8_t *msg)
{
	char buf[DETAIL_MAX], nbuf[16];
	int rtt, rcode, want = hc->b->conf.check_rcode;
	const char *rname;

	rtt = (int)(now_us() - hc->start_us);
	rcode = DNS_RCODE(msg[2] << 8 | msg[3]);
	rname = rcode_name(rcode, nbuf, sizeof(nbuf));
	if (want >= 0 && rcode != want) {
		snprintf(buf, sizeof(buf), "rcode %s", rname);
		hcheck_finish(hc, 0, rtt, buf);
	} else
		hcheck_finish(hc, 1, rtt, rname);
}

static void
udp_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct hcheck *hc = arg;
	uint8_t buf[UDP_RECV_MAX];
	char ebuf[DETAIL_MAX];
	ssize_t n;

	(void)what;
	for (;;) {
		n = recv(fd, buf, sizeof(buf), MSG_TRUNC);
		if (n == -1) {
			if (errno == EAGAIN || errno == EWOULDBLOCK ||
			    errno == EINTR)
				return;
			hcheck_finish(hc, 0, -1, errno_detail(errno, "recv",
			    ebuf, sizeof(ebuf)));
			return;
		}
		if ((size_t)n > sizeof(buf))
			n = sizeof(buf);
		/* A stray on our connected socket is dropped and the check
		 * keeps waiting, as queries do; the timeout then says why. */
		if (dns_answer_matches(buf, (size_t)n, hc->id, &hc->q) != 0) {
			hc->soft_err = "wrong answer";
			continue;
		}
		check_answer(hc, buf);
		return;
	}
}

static int
udp_start(struct hcheck *hc, const uint8_t *msg, size_t len)
{
	struct backend *b = hc->b;
	char ebuf[DETAIL_MAX];

	hc->fd = socket(b->addr.ss_family, SOCK_DGRAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0);
	if (hc->fd == -1) {
		fail_later(hc, "socket: %s", strerror(errno));
		return -1;
	}
	if (connect(hc->fd, (struct sockaddr *)&b->addr, b->addrlen) == -1 ||
	    send(hc->fd, msg, len, 0) == -1) {
		fail_later(hc, "%s", errno_detail(errno, "send", ebuf,
		    sizeof(ebuf)));
		return -1;
	}
	hc->rev = event_new(hc->h->base, hc->fd, EV_READ | EV_PERSIST,
	    udp_read_cb, hc);
	if (hc->rev == NULL || event_add(hc->rev, NULL) == -1) {
		fail_later(hc, "cannot watch socket");
		return -1;
	}
	return 0;
}

/* The answer so far: once its length and enough of it for the header and
 * question are in, judge it.  0 while more is to come. */
static int
tcp_judge(struct hcheck *hc)
{
	size_t n, have;

	if (hc->tlen < 2)
		return 0;
	n = (size_t)hc->tbuf[0] << 8 | hc->tbuf[1];
	have = hc->tlen - 2;
	/* The header and question are at the front: an answer longer
	 * than the buffer is judged on what fits. */
	if (have < n && hc->tlen < sizeof(hc->tbuf))
		return 0;
	if (have > n)
		have = n;
	/* One query per connection: whatever comes back is the answer. */
	if (dns_answer_matches(hc->tbuf + 2, have, hc->id, &hc->q) != 0)
		hcheck_finish(hc, 0, (int)(now_us() - hc->start_us),
		    "wrong answer");
	else
		check_answer(hc, hc->tbuf + 2);
	return 1;
}

/* Send what is left of the framed query; 1 when it is all out, 0 to wait
 * until the socket takes more, -1 on an error (errno says which). */
static int
tcp_send(struct hcheck *hc)
{
	ssize_t n;

	while (hc->toff < hc->tout) {
		n = send(hc->fd, hc->tbuf + hc->toff, hc->tout - hc->toff,
		    MSG_NOSIGNAL);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			/* Still connecting. */
			if (errno == EAGAIN || errno == EWOULDBLOCK ||
			    errno == ENOTCONN)
				return 0;
			return -1;
		}
		hc->toff += (size_t)n;
	}
	hc->tlen = 0;
	return 1;
}

static void
tcp_io_cb(evutil_socket_t fd, short what, void *arg)
{
	struct hcheck *hc = arg;
	char ebuf[DETAIL_MAX];
	ssize_t n;
	int r;

	if (hc->toff < hc->tout) {
		if (!(what & EV_WRITE) || (r = tcp_send(hc)) == 0)
			return;
		if (r == -1) {
			hcheck_finish(hc, 0, -1, errno_detail(errno, "connect",
			    ebuf, sizeof(ebuf)));
			return;
		}
		/* Now only the answer. */
		event_del(hc->rev);
		event_assign(hc->rev, hc->h->base, fd, EV_READ | EV_PERSIST,
		    tcp_io_cb, hc);
		if (event_add(hc->rev, NULL) == -1)
			hcheck_finish(hc, 0, -1, "cannot watch socket");
		return;
	}
	for (;;) {
		n = recv(fd, hc->tbuf + hc->tlen, sizeof(hc->tbuf) - hc->tlen,
		    0);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return;
			hcheck_finish(hc, 0, -1, errno_detail(errno, "read",
			    ebuf, sizeof(ebuf)));
			return;
		}
		if (n == 0) {
			hcheck_finish(hc, 0, -1, "connection closed");
			return;
		}
		hc->tlen += (size_t)n;
		if (tcp_judge(hc))
			return;
	}
}

/* A TCP check: the query goes out with the connection when the kernel
 * has it established at once (loopback does), else when it is; then one
 * read event waits for the answer.  No bufferevent: its two buffers, its
 * callbacks and its wake-up for the connection cost more per check than
 * what the check itself does outside the kernel.  The message is at
 * msg + off, after a PROXY header of off octets. */
static int
tcp_start(struct hcheck *hc, const uint8_t *msg, size_t off, size_t len)
{
	struct backend *b = hc->b;
	char ebuf[DETAIL_MAX];
	short what = EV_READ | EV_PERSIST;
	int r;

	hc->fd = socket(b->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0);
	if (hc->fd == -1) {
		fail_later(hc, "socket: %s", strerror(errno));
		return -1;
	}
	/* Here errno still says why a refusal on loopback, which comes at
	 * once, was one. */
	if (connect(hc->fd, (struct sockaddr *)&b->addr, b->addrlen) == -1 &&
	    errno != EINPROGRESS) {
		fail_later(hc, "%s", errno_detail(errno, "connect", ebuf,
		    sizeof(ebuf)));
		return -1;
	}
	memcpy(hc->tbuf, msg, off);
	hc->tbuf[off] = len >> 8;
	hc->tbuf[off + 1] = len & 0xff;
	memcpy(hc->tbuf + off + 2, msg + off, len);
	hc->toff = 0;
	hc->tout = off + len + 2;
	hc->tlen = 0;
	if ((r = tcp_send(hc)) == -1) {
		fail_later(hc, "%s", errno_detail(errno, "connect", ebuf,
		    sizeof(ebuf)));
		return -1;
	}
	if (r == 0)
		what = EV_WRITE | EV_PERSIST;
	if ((hc->rev = event_new(hc->h->base, hc->fd, what, tcp_io_cb,
	    hc)) == NULL || event_add(hc->rev, NULL) == -1) {
		fail_later(hc, "cannot watch socket");
		return -1;
	}
	return 0;
}

/* Send the check: its query, built again when the backend's settings
 * changed, with a fresh ID. */
void
hprobe_send(struct hcheck *hc)
{
	uint8_t msg[PROXYV2_LOCAL_LEN + CHECK_WIRE_MAX];
	size_t off = 0;

	if (query_stale(hc) && query_build(hc) == -1) {
		/* The store validates the name; this is a broken invariant
		 * seen per check, so it shows in the history, not as a
		 * flood in the log. */
		fail_later(hc, "bad check query");
		return;
	}
	hc->id = (uint16_t)arc4random();
	if (atomic_load(&hc->b->client_addr) == CLIENT_ADDR_PROXY)
		off = proxyv2_local(msg);
	memcpy(msg + off, hc->wire, hc->wirelen);
	dns_set_id(msg + off, hc->id);
	if (hc->tcp)
		tcp_start(hc, msg, off, hc->wirelen);
	else
		udp_start(hc, msg, off + hc->wirelen);
}

/*
 * test_fanout: the UPDATE fan-out against small servers in this process
 * (UDP and TCP on 127.0.0.1, one libevent loop), each with its own key
 * and a way to answer: as it should, REFUSED, NXRRSET, never, truncated
 * over UDP, signed with a wrong secret, unsigned, after a stray answer
 * with another ID.  Checked: what each server received verified with its
 * own key, each target's outcome and reason, TCP after truncation and
 * for a message too big for UDP, the client's rcode under confirm all and
 * any (any decides at the first confirmation, before the rest are done),
 * and that a fan-out freed half way leaks nothing (ASan).
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>

#include "fanout.h"
#include "tsig.h"
#include "unit.h"
#include "util.h"

enum mode { M_OK, M_REFUSE, M_NXRRSET, M_SILENT, M_TC, M_BADMAC,
	M_UNSIGNED, M_NOISE, M_TC_CLOSE };

struct srv {
	enum mode		 mode;
	const struct tsig_key	*key;		/* its key; NULL: none */
	int			 ufd;
	struct event		*uev;
	struct evconnlistener	*tl;
	struct sockaddr_in	 sin;
	int			 got_udp, got_tcp;
	int			 verified;	/* requests its key verified */
	int			 badkey;	/* requests signed with a key it lacks */
};

static struct event_base *base;
static struct tsig_key k1, k2, k2wrong;
static int calls, first_rcode, first_done;

static struct tsig_key
mkkey(const char *name, const char *secret)
{
	struct tsig_key k;
	char err[100];

	if (tsig_key_init(&k, name, TSIG_HMAC_SHA256, secret, err,
	    sizeof(err)) != 0)
		fprintf(stderr, "key: %s\n", err);
	return k;
}

/* The answer srv gives to req over tcp or not; its length, 0: none. */
static size_t
answer(struct srv *s, const uint8_t *req, size_t len, int tcp, uint8_t *out,
    size_t outlen)
{
	struct dns_query q;
	struct tsig_req tr;
	enum tsig_verdict v;
	int rcode = 0;
	size_t n;

	if (dns_parse_query(req, len, &q) != DNS_OK)
		return 0;
	v = tsig_verify_request(req, len, s->key, s->key != NULL,
	    (uint64_t)time(NULL), &tr);
	if (v == TSIG_OK)
		s->verified++;
	if (v == TSIG_ERROR && tr.error == TSIG_BADKEY)
		s->badkey++;
	switch (s->mode) {
	case M_SILENT:
		return 0;
	case M_REFUSE:
		rcode = DNS_RCODE_REFUSED;
		break;
	case M_NXRRSET:
		rcode = 8;
		break;
	case M_TC:
	case M_TC_CLOSE:
		if (!tcp) {
			n = dns_make_answer(out, outlen, req, len, &q, 0);
			out[2] |= DNS_FLAG_TC >> 8;
			return n;
		}
		break;
	case M_UNSIGNED:
		return dns_make_answer(out, outlen, req, len, &q, 0);
	default:
		break;
	}
	if (v == TSIG_NONE)
		return dns_make_answer(out, outlen, req, len, &q, rcode);
	if (s->mode == M_BADMAC && tr.key != NULL)
		tr.key = &k2wrong;
	return tsig_answer(out, outlen, req, len, &q, &tr, rcode,
	    (uint64_t)time(NULL));
}

static void
srv_udp_cb(evutil_socket_t fd, short what, void *arg)
{
	struct srv *s = arg;
	uint8_t buf[65536], out[2048];
	struct sockaddr_storage from;
	socklen_t fl = sizeof(from);
	ssize_t n;
	size_t a;

	(void)what;
	if ((n = recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&from,
	    &fl)) <= 0)
		return;
	s->got_udp++;
	a = answer(s, buf, (size_t)n, 0, out, sizeof(out));
	if (a == 0)
		return;
	if (s->mode == M_NOISE) {
		out[0] ^= 0xff;
		(void)sendto(fd, out, a, 0, (struct sockaddr *)&from, fl);
		out[0] ^= 0xff;
	}
	(void)sendto(fd, out, a, 0, (struct sockaddr *)&from, fl);
}

static void
srv_tcp_read_cb(struct bufferevent *bev, void *arg)
{
	struct srv *s = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	uint8_t buf[65536], out[2048 + 2];
	size_t avail = evbuffer_get_length(in), a;
	long l;

	if (avail < 2 || evbuffer_copyout(in, buf, avail) != (ssize_t)avail ||
	    (l = dns_tcp_next(buf, avail, 0)) < 0)
		return;
	evbuffer_drain(in, 2 + (size_t)l);
	s->got_tcp++;
	if (s->mode == M_TC_CLOSE) {
		bufferevent_free(bev);
		return;
	}
	a = answer(s, buf + 2, (size_t)l, 1, out + 2, sizeof(out) - 2);
	if (a == 0)
		return;
	dns_put16(out, (uint16_t)a);
	bufferevent_write(bev, out, a + 2);
}

static void
srv_tcp_event_cb(struct bufferevent *bev, short what, void *arg)
{
	(void)what;
	(void)arg;
	bufferevent_free(bev);
}

static void
srv_accept_cb(struct evconnlistener *l, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	struct bufferevent *bev;

	(void)l;
	(void)sa;
	(void)salen;
	bev = bufferevent_socket_new(base, fd, BEV_OPT_CLOSE_ON_FREE);
	bufferevent_setcb(bev, srv_tcp_read_cb, NULL, srv_tcp_event_cb, arg);
	bufferevent_enable(bev, EV_READ);
}

/* A server on 127.0.0.1, UDP and TCP on the same port: a free TCP port
 * from the kernel, tried for UDP until both are ours. */
static void
srv_start(struct srv *s, enum mode mode, const struct tsig_key *key)
{
	socklen_t sl;
	int tries;

	memset(s, 0, sizeof(*s));
	s->mode = mode;
	s->key = key;
	for (tries = 0; tries < 50; tries++) {
		memset(&s->sin, 0, sizeof(s->sin));
		s->sin.sin_family = AF_INET;
		s->sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		s->tl = evconnlistener_new_bind(base, srv_accept_cb, s,
		    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE, 16,
		    (struct sockaddr *)&s->sin, sizeof(s->sin));
		sl = sizeof(s->sin);
		if (s->tl == NULL || getsockname(evconnlistener_get_fd(s->tl),
		    (struct sockaddr *)&s->sin, &sl) == -1)
			break;
		s->ufd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
		if (bind(s->ufd, (struct sockaddr *)&s->sin,
		    sizeof(s->sin)) == 0) {
			s->uev = event_new(base, s->ufd, EV_READ | EV_PERSIST,
			    srv_udp_cb, s);
			event_add(s->uev, NULL);
			return;
		}
		close(s->ufd);
		evconnlistener_free(s->tl);
	}
	fprintf(stderr, "no port for a test server\n");
	exit(1);
}

static void
srv_stop(struct srv *s)
{
	event_free(s->uev);
	close(s->ufd);
	if (s->tl != NULL)
		evconnlistener_free(s->tl);
}

static void
target(struct fanout_target *t, const char *name, const struct srv *s,
    const struct tsig_key *key)
{
	memset(t, 0, sizeof(*t));
	t->name = name;
	memcpy(&t->addr, &s->sin, sizeof(s->sin));
	t->addrlen = sizeof(s->sin);
	t->key = key;
}

static void
done_cb(struct fanout *fo, void *arg)
{
	(void)arg;
	if (calls++ == 0) {
		first_rcode = fanout_rcode(fo);
		first_done = fanout_done(fo);
	}
	if (fanout_done(fo))
		event_base_loopexit(base, NULL);
}

/* An UPDATE of example.: add www 300 A 192.0.2.1, padded with pad octets
 * of TXT (to make it big). */
static size_t
update_msg(uint8_t *m, size_t pad, struct dns_query *q)
{
	static const uint8_t head[] = {
		0x12, 0x34, 0x28, 0x00, 0, 1, 0, 0, 0, 1, 0, 0,
		7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 0, 0, 6, 0, 1,
		3, 'w', 'w', 'w', 0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 1, 0x2c, 0, 4,
		192, 0, 2, 1,
	};
	size_t n = sizeof(head), i;

	memcpy(m, head, n);
	if (pad > 0) {
		/* One TXT record of pad strings of one octet each. */
		m[9] = 2;
		memcpy(m + n, "\3txt\xc0\x0c\0\x10\0\1\0\0\1\x2c", 14);
		n += 14;
		dns_put16(m + n, (uint16_t)(pad * 2));
		n += 2;
		for (i = 0; i < pad; i++) {
			m[n++] = 1;
			m[n++] = 'x';
		}
	}
	if (dns_parse_query(m, n, q) != DNS_OK)
		fprintf(stderr, "update_msg does not parse\n");
	return n;
}

/* Run a fan-out of n targets to its end; returns the client's rcode. */
static int
run(struct fanout_target *t, int n, int all, int timeout_ms, size_t pad)
{
	uint8_t msg[8192];
	struct dns_query q;
	struct fanout *fo;
	struct timeval guard = { 10, 0 };
	size_t len = update_msg(msg, pad, &q);
	int rcode;

	calls = 0;
	first_rcode = first_done = -2;
	fo = fanout_start(base, msg, len, &q, t, n, all, timeout_ms, done_cb,
	    NULL);
	if (fo == NULL)
		return -100;
	CHECK(calls == 0);	/* never from inside fanout_start */
	event_base_loopexit(base, &guard);
	event_base_dispatch(base);
	CHECK(fanout_done(fo));
	rcode = fanout_rcode(fo);
	fanout_free(fo);
	return rcode;
}

static void
test_basic(void)
{
	struct srv a, b, c;
	struct fanout_target t[3];

	/* Two servers, each with its own key; each sees its key. */
	srv_start(&a, M_OK, &k1);
	srv_start(&b, M_OK, &k2);
	srv_start(&c, M_OK, NULL);
	target(&t[0], "a", &a, &k1);
	target(&t[1], "b", &b, &k2);
	target(&t[2], "c", &c, NULL);
	CHECK(run(t, 3, 1, 2000, 0) == DNS_RCODE_NOERROR);
	CHECK(calls == 1 && first_rcode == 0 && first_done == 1);
	CHECK(a.verified == 1 && b.verified == 1 && c.got_udp == 1);
	CHECK(t[0].state == FANOUT_CONFIRMED && t[1].state == FANOUT_CONFIRMED &&
	    t[2].state == FANOUT_CONFIRMED);
	CHECK(t[0].rcode == 0 && t[0].why == TRACE_WHY_NONE && t[0].tcp == 0);
	/* b's key given to a: a says BADKEY, unsigned, and fails. */
	target(&t[0], "a", &a, &k2);
	CHECK(run(t, 2, 1, 2000, 0) == DNS_RCODE_SERVFAIL);
	CHECK(a.badkey == 1 && t[0].state == FANOUT_FAILED &&
	    strcmp(trace_why_str(t[0].why), "BADKEY") == 0 && t[0].rcode == -1);
	CHECK(t[1].state == FANOUT_CONFIRMED);
	/* ... which confirm any lets through. */
	CHECK(run(t, 2, 0, 2000, 0) == DNS_RCODE_NOERROR);
	/* A message too big for UDP goes over TCP at once. */
	target(&t[0], "a", &a, &k1);
	a.got_udp = a.got_tcp = 0;
	CHECK(run(t, 1, 1, 2000, 700) == DNS_RCODE_NOERROR);
	CHECK(t[0].tcp == 1 && a.got_udp == 0 && a.got_tcp == 1);
	srv_stop(&a);
	srv_stop(&b);
	srv_stop(&c);
}

static void
test_failures(void)
{
	struct srv ok, silent, tc, badmac, unsig, noise, refuse, nx;
	struct fanout_target t[3];
	struct sockaddr_in closed;
	socklen_t sl = sizeof(closed);
	int fd;

	srv_start(&ok, M_OK, &k1);
	srv_start(&silent, M_SILENT, &k2);
	/* Silent: timeout; all waits for it, any answers at once. */
	target(&t[0], "ok", &ok, &k1);
	target(&t[1], "silent", &silent, &k2);
	CHECK(run(t, 2, 1, 300, 0) == DNS_RCODE_SERVFAIL);
	CHECK(calls == 1 && first_done == 1);
	CHECK(t[1].state == FANOUT_FAILED && t[1].why == TRACE_WHY_TIMEOUT &&
	    t[1].rtt_us >= 250000);
	CHECK(run(t, 2, 0, 300, 0) == DNS_RCODE_NOERROR);
	CHECKF(calls == 2 && first_rcode == 0 && first_done == 0,
	    "calls %d first_rcode %d first_done %d", calls, first_rcode,
	    first_done);
	CHECK(t[0].rtt_us < 300000);

	/* Nothing listens: refused, without waiting for the timeout. */
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	memset(&closed, 0, sizeof(closed));
	closed.sin_family = AF_INET;
	closed.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	(void)bind(fd, (struct sockaddr *)&closed, sizeof(closed));
	(void)getsockname(fd, (struct sockaddr *)&closed, &sl);
	close(fd);
	memset(&t[1], 0, sizeof(t[1]));
	t[1].name = "closed";
	memcpy(&t[1].addr, &closed, sizeof(closed));
	t[1].addrlen = sizeof(closed);
	CHECK(run(t, 2, 1, 5000, 0) == DNS_RCODE_SERVFAIL);
	CHECK(t[1].why == TRACE_WHY_REFUSED && t[1].rtt_us < 2000000);

	/* Truncated over UDP: the same copy again over TCP. */
	srv_start(&tc, M_TC, &k2);
	target(&t[1], "tc", &tc, &k2);
	CHECK(run(t, 2, 1, 2000, 0) == DNS_RCODE_NOERROR);
	CHECK(t[1].tcp == 1 && tc.got_udp == 1 && tc.got_tcp == 1 &&
	    tc.verified == 2);

	/* Truncated, and then TCP closed without an answer, or refused. */
	srv_stop(&tc);
	srv_start(&tc, M_TC_CLOSE, &k2);
	target(&t[1], "tc", &tc, &k2);
	CHECK(run(t, 2, 1, 2000, 0) == DNS_RCODE_SERVFAIL);
	CHECK(t[1].tcp == 1 && tc.got_tcp == 1 &&
	    t[1].why == TRACE_WHY_CLOSED);
	evconnlistener_free(tc.tl);
	tc.tl = NULL;
	CHECK(run(t, 2, 1, 2000, 0) == DNS_RCODE_SERVFAIL);
	CHECK(t[1].tcp == 1 && t[1].why == TRACE_WHY_REFUSED &&
	    t[1].rtt_us < 1000000);

	/* Answers that do not verify, and one after a stray answer. */
	srv_start(&badmac, M_BADMAC, &k2);
	srv_start(&unsig, M_UNSIGNED, &k2);
	srv_start(&noise, M_NOISE, &k1);
	target(&t[0], "badmac", &badmac, &k2);
	target(&t[1], "unsigned", &unsig, &k2);
	target(&t[2], "noise", &noise, &k1);
	CHECK(run(t, 3, 1, 2000, 0) == DNS_RCODE_SERVFAIL);
	CHECK(strcmp(trace_why_str(t[0].why), "bad-mac") == 0);
	CHECK(strcmp(trace_why_str(t[1].why), "unsigned-answer") == 0);
	CHECK(strcmp(trace_why_str(TRACE_WHY_TIMEOUT), "timeout") == 0);
	CHECK(t[2].state == FANOUT_CONFIRMED && t[2].ignored == 1);

	/* The worst rcode: REFUSED before NXRRSET; NXRRSET alone. */
	srv_start(&refuse, M_REFUSE, &k1);
	srv_start(&nx, M_NXRRSET, &k2);
	target(&t[0], "refuse", &refuse, &k1);
	target(&t[1], "nx", &nx, &k2);
	target(&t[2], "ok", &ok, &k1);
	CHECK(run(t, 3, 1, 2000, 0) == DNS_RCODE_REFUSED);
	CHECK(t[0].rcode == DNS_RCODE_REFUSED &&
	    t[0].why == TRACE_WHY_RCODE);
	CHECK(run(t + 1, 1, 1, 2000, 0) == 8 &&
	    t[1].why == TRACE_WHY_RCODE && t[1].rcode == 8);
	CHECK(run(t + 1, 2, 0, 2000, 0) == DNS_RCODE_NOERROR);
	/* With silent in, SERVFAIL is the worst. */
	target(&t[2], "silent", &silent, &k2);
	CHECK(run(t, 3, 1, 300, 0) == DNS_RCODE_SERVFAIL);

	srv_stop(&ok);
	srv_stop(&silent);
	srv_stop(&tc);
	srv_stop(&badmac);
	srv_stop(&unsig);
	srv_stop(&noise);
	srv_stop(&refuse);
	srv_stop(&nx);
}

/* Freed before it ends: nothing called back, nothing leaked. */
static void
test_cancel(void)
{
	struct srv silent;
	struct fanout_target t[1];
	struct fanout *fo;
	struct dns_query q;
	struct timeval tv = { 0, 100000 };
	uint8_t msg[512];
	size_t len = update_msg(msg, 0, &q);

	srv_start(&silent, M_SILENT, &k1);
	target(&t[0], "silent", &silent, &k1);
	calls = 0;
	fo = fanout_start(base, msg, len, &q, t, 1, 1, 5000, done_cb, NULL);
	CHECK(fo != NULL);
	event_base_loopexit(base, &tv);
	event_base_dispatch(base);
	CHECK(calls == 0 && !fanout_done(fo) && fanout_rcode(fo) == -1);
	fanout_free(fo);
	fanout_free(NULL);
	CHECK(fanout_start(base, msg, 5, &q, t, 1, 1, 5000, done_cb,
	    NULL) == NULL);
	srv_stop(&silent);
}

int
main(void)
{
	base = event_base_new();
	k1 = mkkey("k1.", "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=");
	k2 = mkkey("k2.", "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=");
	k2wrong = mkkey("k2.", "ZnVuZnVuZnVuZnVuZnVuZnVuZnVuZnVuZnVuZnVuZnU=");
	test_basic();
	test_failures();
	test_cancel();
	tsig_key_wipe(&k1);
	tsig_key_wipe(&k2);
	tsig_key_wipe(&k2wrong);
	event_base_free(base);
	UNIT_DONE("fanout");
}

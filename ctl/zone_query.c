/*
 * zone_query: zone check's questions to the backends.  Each name is asked
 * of a backend over the backend's transport (UDP, then TCP when the answer
 * is truncated; or TCP for `transport tcp`), at most `rate` queries a
 * second (a token bucket) and at most ZQ_INFLIGHT at once, so a check
 * never loads a serving nameserver more than it was told to.  An answer is
 * taken only from the backend it was asked of, with the query's ID and
 * question.  Then what the zone says is compared with what came back:
 * the RRset (data, ignoring TTLs), a referral to the right cut, or NODATA
 * for an empty non-terminal.  Anything else is a failure with a reason:
 * nxdomain, nodata, refused, servfail, referral, wrong-answer, no-answer.
 *
 * One thread, poll(2); zq_submit() blocks while the window is full, so the
 * walk of the zone file goes at the speed of the questions.
 */
#include <sys/socket.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dnsmsg.h"
#include "dnsnames.h"
#include "util.h"
#include "ctl.h"
#include "zone.h"

#define ZQ_INFLIGHT	512
#define ZQ_TRIES	3		/* over UDP */
#define ZQ_MAXMSG	65535

struct zq_backend {
	char			 name[128];
	struct sockaddr_storage	 ss;
	socklen_t		 sslen;
	int			 tcp_only;
	int			 udp;		/* -1: not open */
	int			 tcp;		/* -1: not open */
	int			 connecting;
	uint8_t			*out;		/* TCP bytes to write */
	size_t			 outlen, outcap;
	uint8_t			*in;		/* TCP bytes read */
	size_t			 inlen;
};

struct zq_slot {
	int		 used;
	int		 b;
	uint16_t	 id;
	int		 tcp;
	int		 tries;
	uint64_t	 deadline;
	enum zs_expect	 expect;
	int		 qtype;
	int		 slice;
	uint8_t		 qname[DNS_MAX_WIRE_NAME];
	size_t		 qlen;
	uint8_t		 cut[DNS_MAX_WIRE_NAME];
	size_t		 cutlen;
	ldns_rr		**rrs;
	int		 nrrs;
	uint8_t		 msg[DNS_MAX_WIRE_NAME + 32];
	size_t		 msglen;
};

struct zquery {
	struct zq_backend	*b;
	int			 nb;
	struct zq_slot		 slot[ZQ_INFLIGHT];
	int			 inflight;
	double			 tokens, burst;
	int			 rate;
	uint64_t		 last_refill;
	int			 timeout_ms;
	uint64_t		 sent;
	void			(*fail)(void *, const struct zq_fail *);
	void			*arg;
	int			 broken;
	uint8_t			 buf[ZQ_MAXMSG];
};

struct zquery *
zq_new(int rate, int timeout_ms, void (*fail)(void *, const struct zq_fail *),
    void *arg)
{
	struct zquery *q = xcalloc(1, sizeof(*q));

	q->rate = rate;
	q->burst = rate / 20.0 > 1 ? rate / 20.0 : 1;
	q->tokens = q->burst;
	q->last_refill = now_us();
	q->timeout_ms = timeout_ms;
	q->fail = fail;
	q->arg = arg;
	return q;
}

int
zq_backend(struct zquery *q, const char *name, const char *addr, int tcp,
    char *err, size_t errlen)
{
	struct zq_backend *b;
	int i;

	for (i = 0; i < q->nb; i++)
		if (strcmp(q->b[i].name, name) == 0)
			return i;
	q->b = xrealloc(q->b, (q->nb + 1) * sizeof(*q->b));
	b = &q->b[q->nb];
	memset(b, 0, sizeof(*b));
	snprintf(b->name, sizeof(b->name), "%s", name);
	if (addr_parse(addr, 53, &b->ss, &b->sslen, err, errlen) == -1)
		return -1;
	b->tcp_only = tcp;
	b->udp = b->tcp = -1;
	return q->nb++;
}

static void
slot_free(struct zquery *q, struct zq_slot *s)
{
	int i;

	for (i = 0; i < s->nrrs; i++)
		ldns_rr_free(s->rrs[i]);
	free(s->rrs);
	s->rrs = NULL;
	s->nrrs = 0;
	s->used = 0;
	q->inflight--;
}

static void
report(struct zquery *q, struct zq_slot *s, const char *problem,
    const char *detail)
{
	struct zq_fail f;
	char name[DNS_MAX_TEXT_NAME];

	if (dns_wire_to_text(s->qname, name, sizeof(name)) < 0)
		snprintf(name, sizeof(name), "?");
	f.name = name;
	f.qtype = s->qtype;
	f.backend = q->b[s->b].name;
	f.problem = problem;
	f.detail = detail;
	f.slice = s->slice;
	q->fail(q->arg, &f);
	slot_free(q, s);
}

static int
open_udp(struct zq_backend *b)
{
	if (b->udp >= 0)
		return 0;
	b->udp = socket(b->ss.ss_family, SOCK_DGRAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0);
	if (b->udp == -1)
		return -1;
	if (connect(b->udp, (struct sockaddr *)&b->ss, b->sslen) == -1) {
		close(b->udp);
		b->udp = -1;
		return -1;
	}
	return 0;
}

static void
close_tcp(struct zq_backend *b)
{
	if (b->tcp >= 0)
		close(b->tcp);
	b->tcp = -1;
	b->connecting = 0;
	b->outlen = b->inlen = 0;
}

static int
open_tcp(struct zq_backend *b)
{
	if (b->tcp >= 0)
		return 0;
	b->tcp = socket(b->ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0);
	if (b->tcp == -1)
		return -1;
	if (connect(b->tcp, (struct sockaddr *)&b->ss, b->sslen) == -1 &&
	    errno != EINPROGRESS) {
		close_tcp(b);
		return -1;
	}
	b->connecting = 1;
	if (b->in == NULL)
		b->in = xmalloc(ZQ_MAXMSG + 2);
	return 0;
}

/* An ID no other query to the same backend and transport has. */
static void
new_id(struct zquery *q, struct zq_slot *s)
{
	int i, again;

	do {
		if (getentropy(&s->id, sizeof(s->id)) == -1)
			s->id = (uint16_t)(now_us() * 2654435761u >> 7);
		again = 0;
		for (i = 0; i < ZQ_INFLIGHT && !again; i++)
			again = &q->slot[i] != s && q->slot[i].used &&
			    q->slot[i].b == s->b && q->slot[i].tcp == s->tcp &&
			    q->slot[i].id == s->id;
	} while (again);
	dns_set_id(s->msg, s->id);
}

/* Send (or resend) a slot's query; a failure is reported. */
static void
transmit(struct zquery *q, struct zq_slot *s)
{
	struct zq_backend *b = &q->b[s->b];
	char why[256];

	s->deadline = now_us() + (uint64_t)q->timeout_ms * 1000;
	s->tries++;
	q->sent++;
	if (!s->tcp) {
		if (open_udp(b) == -1 ||
		    (send(b->udp, s->msg, s->msglen, 0) == -1 &&
		    errno != EAGAIN && errno != ECONNREFUSED)) {
			snprintf(why, sizeof(why), "UDP to %s: %s", b->name,
			    strerror(errno));
			report(q, s, "no-answer", why);
		}
		return;
	}
	if (open_tcp(b) == -1) {
		snprintf(why, sizeof(why), "TCP to %s: %s", b->name,
		    strerror(errno));
		report(q, s, "no-answer", why);
		return;
	}
	if (b->outlen + s->msglen + 2 > b->outcap) {
		b->outcap = (b->outlen + s->msglen + 2) * 2;
		b->out = xrealloc(b->out, b->outcap);
	}
	b->out[b->outlen++] = (uint8_t)(s->msglen >> 8);
	b->out[b->outlen++] = (uint8_t)s->msglen;
	memcpy(b->out + b->outlen, s->msg, s->msglen);
	b->outlen += s->msglen;
}

/* ---- answers */

static int
same_rdata(const ldns_rr *a, const ldns_rr *b)
{
	ldns_rr *x, *y;
	size_t i;
	int eq;

	if (ldns_rr_get_type(a) != ldns_rr_get_type(b) ||
	    ldns_rr_rd_count(a) != ldns_rr_rd_count(b))
		return 0;
	x = ldns_rr_clone(a);
	y = ldns_rr_clone(b);
	ldns_rr2canonical(x);
	ldns_rr2canonical(y);
	eq = 1;
	for (i = 0; eq && i < ldns_rr_rd_count(x); i++)
		eq = ldns_rdf_compare(ldns_rr_rdf(x, i), ldns_rr_rdf(y, i)) == 0;
	ldns_rr_free(x);
	ldns_rr_free(y);
	return eq;
}

static int
owner_is(const ldns_rr *rr, const uint8_t *w, size_t len)
{
	uint8_t o[DNS_MAX_WIRE_NAME];

	return zwire_of(ldns_rr_owner(rr), o) == len && memcmp(o, w, len) == 0;
}

/* Records of section sec owned by w with type t. */
static int
count_rrs(const ldns_rr_list *l, const uint8_t *w, size_t len, int t)
{
	size_t i;
	int n = 0;

	for (i = 0; i < ldns_rr_list_rr_count(l); i++)
		if ((int)ldns_rr_get_type(ldns_rr_list_rr(l, i)) == t &&
		    owner_is(ldns_rr_list_rr(l, i), w, len))
			n++;
	return n;
}

static int
has_ns(const ldns_rr_list *l)
{
	size_t i;

	for (i = 0; i < ldns_rr_list_rr_count(l); i++)
		if (ldns_rr_get_type(ldns_rr_list_rr(l, i)) == LDNS_RR_TYPE_NS)
			return 1;
	return 0;
}

static const char *
judge(struct zq_slot *s, const ldns_pkt *p, char *why, size_t whylen)
{
	const ldns_rr_list *an = ldns_pkt_answer(p), *au = ldns_pkt_authority(p);
	char tb[32];
	size_t i, k;
	int rc = ldns_pkt_get_rcode(p), found;

	if (rc == LDNS_RCODE_NXDOMAIN)
		return "nxdomain";
	if (rc == LDNS_RCODE_REFUSED)
		return "refused";
	if (rc == LDNS_RCODE_SERVFAIL)
		return "servfail";
	if (rc != LDNS_RCODE_NOERROR) {
		snprintf(why, whylen, "rcode %s",
		    dnsname_rcode_str(rc, tb, sizeof(tb)));
		return "wrong-answer";
	}
	if (s->expect == ZS_REFERRAL) {
		if (!ldns_pkt_aa(p) && count_rrs(au, s->cut, s->cutlen,
		    LDNS_RR_TYPE_NS) > 0)
			return NULL;
		snprintf(why, whylen, "not a referral to the delegation");
		return ldns_rr_list_rr_count(an) == 0 ? "nodata" :
		    "wrong-answer";
	}
	if (!ldns_pkt_aa(p) && ldns_rr_list_rr_count(an) == 0 &&
	    has_ns(au)) {
		snprintf(why, whylen, "a referral, not an answer");
		return "referral";
	}
	found = count_rrs(an, s->qname, s->qlen, s->qtype);
	if (s->expect == ZS_NODATA) {
		if (found == 0 && ldns_pkt_aa(p))
			return NULL;
		snprintf(why, whylen, found ? "data for an empty "
		    "non-terminal" : "not authoritative");
		return "wrong-answer";
	}
	if (!ldns_pkt_aa(p)) {
		snprintf(why, whylen, "not authoritative (%s)",
		    ldns_rr_list_rr_count(an) == 0 ? "a referral?" : "AA clear");
		return ldns_rr_list_rr_count(an) == 0 ? "referral" :
		    "wrong-answer";
	}
	if (found == 0)
		return "nodata";
	for (k = 0; k < (size_t)s->nrrs; k++) {
		for (i = 0; i < ldns_rr_list_rr_count(an); i++) {
			const ldns_rr *a = ldns_rr_list_rr(an, i);

			if (owner_is(a, s->qname, s->qlen) &&
			    same_rdata(a, s->rrs[k]))
				break;
		}
		if (i == ldns_rr_list_rr_count(an)) {
			snprintf(why, whylen, "%d records where the zone has "
			    "%d, and not the same", found, s->nrrs);
			return "wrong-answer";
		}
	}
	if (found != s->nrrs) {
		snprintf(why, whylen, "%d records where the zone has %d",
		    found, s->nrrs);
		return "wrong-answer";
	}
	return NULL;
}

static void
answer(struct zquery *q, int bi, int tcp, const uint8_t *msg, size_t len)
{
	struct zq_slot *s = NULL;
	ldns_pkt *p = NULL;
	const char *problem;
	char why[256];
	uint16_t id;
	int i;

	if (len < DNS_HDR_LEN)
		return;
	id = dns_get_id(msg);
	for (i = 0; i < ZQ_INFLIGHT; i++)
		if (q->slot[i].used && q->slot[i].b == bi &&
		    q->slot[i].id == id && q->slot[i].tcp == tcp) {
			s = &q->slot[i];
			break;
		}
	/* Not ours, or late: the slot went on without it. */
	if (s == NULL || ldns_wire2pkt(&p, msg, len) != LDNS_STATUS_OK)
		goto out;
	if (ldns_pkt_qdcount(p) != 1 || !ldns_pkt_qr(p) ||
	    (int)ldns_rr_get_type(ldns_rr_list_rr(ldns_pkt_question(p), 0)) !=
	    s->qtype || !owner_is(ldns_rr_list_rr(ldns_pkt_question(p), 0),
	    s->qname, s->qlen))
		goto out;
	if (ldns_pkt_tc(p) && !tcp) {
		s->tcp = 1;
		s->tries = 0;
		new_id(q, s);
		transmit(q, s);
		goto out;
	}
	why[0] = '\0';
	if ((problem = judge(s, p, why, sizeof(why))) != NULL)
		report(q, s, problem, why[0] ? why : NULL);
	else
		slot_free(q, s);
out:
	ldns_pkt_free(p);
}

/* ---- the loop */

static void
tcp_failed(struct zquery *q, int bi, const char *what)
{
	char why[256];
	int i;

	snprintf(why, sizeof(why), "TCP to %s: %s", q->b[bi].name, what);
	close_tcp(&q->b[bi]);
	for (i = 0; i < ZQ_INFLIGHT; i++) {
		struct zq_slot *s = &q->slot[i];

		if (!s->used || s->b != bi || !s->tcp)
			continue;
		if (s->tries < 2)
			transmit(q, s);
		else
			report(q, s, "no-answer", why);
	}
}

static void
tcp_io(struct zquery *q, int bi, short rev)
{
	struct zq_backend *b = &q->b[bi];
	ssize_t n;
	size_t need;
	int e = 0;
	socklen_t el = sizeof(e);

	if (b->connecting && (rev & (POLLOUT | POLLERR | POLLHUP))) {
		if (getsockopt(b->tcp, SOL_SOCKET, SO_ERROR, &e, &el) == -1 ||
		    e != 0) {
			tcp_failed(q, bi, strerror(e ? e : errno));
			return;
		}
		b->connecting = 0;
	}
	if (!b->connecting && b->outlen > 0 && (rev & POLLOUT)) {
		n = send(b->tcp, b->out, b->outlen, MSG_NOSIGNAL);
		if (n == -1 && errno != EAGAIN) {
			tcp_failed(q, bi, strerror(errno));
			return;
		}
		if (n > 0) {
			memmove(b->out, b->out + n, b->outlen - n);
			b->outlen -= n;
		}
	}
	if (!(rev & (POLLIN | POLLHUP | POLLERR)) || b->connecting)
		return;
	n = read(b->tcp, b->in + b->inlen, ZQ_MAXMSG + 2 - b->inlen);
	if (n == 0 || (n == -1 && errno != EAGAIN)) {
		tcp_failed(q, bi, n == 0 ? "closed" : strerror(errno));
		return;
	}
	if (n < 0)
		return;
	b->inlen += n;
	while (b->inlen >= 2) {
		need = (size_t)b->in[0] << 8 | b->in[1];
		if (b->inlen < need + 2)
			break;
		answer(q, bi, 1, b->in + 2, need);
		if (b->tcp < 0)
			return;		/* answer() retried and it failed */
		memmove(b->in, b->in + need + 2, b->inlen - need - 2);
		b->inlen -= need + 2;
	}
}

static void
expire(struct zquery *q)
{
	uint64_t now = now_us();
	char why[128];
	int i;

	for (i = 0; i < ZQ_INFLIGHT; i++) {
		struct zq_slot *s = &q->slot[i];

		if (!s->used || s->deadline > now)
			continue;
		if (!s->tcp && s->tries < ZQ_TRIES) {
			transmit(q, s);
			continue;
		}
		snprintf(why, sizeof(why), "no answer in %d tries of %d ms",
		    s->tries, q->timeout_ms);
		report(q, s, "no-answer", why);
	}
}

/* Wait for what is ready (at most until_us), then handle it. */
static int
step(struct zquery *q, uint64_t until_us)
{
	struct pollfd *pfd;
	int *map, np = 0, i, n, timeout;
	uint64_t now = now_us(), next = until_us;
	ssize_t r;

	if (ctl_sigint) {
		q->broken = 1;
		return -1;
	}
	for (i = 0; i < ZQ_INFLIGHT; i++)
		if (q->slot[i].used && q->slot[i].deadline < next)
			next = q->slot[i].deadline;
	pfd = xcalloc(2 * q->nb + 1, sizeof(*pfd));
	map = xcalloc(2 * q->nb + 1, sizeof(*map));
	for (i = 0; i < q->nb; i++) {
		if (q->b[i].udp >= 0) {
			pfd[np].fd = q->b[i].udp;
			pfd[np].events = POLLIN;
			map[np++] = i;
		}
		if (q->b[i].tcp >= 0) {
			pfd[np].fd = q->b[i].tcp;
			pfd[np].events = POLLIN | (q->b[i].outlen > 0 ||
			    q->b[i].connecting ? POLLOUT : 0);
			map[np++] = i | 0x10000;
		}
	}
	timeout = next > now ? (int)((next - now + 999) / 1000) : 0;
	n = poll(pfd, np, timeout);
	if (n == -1 && errno != EINTR) {
		free(pfd);
		free(map);
		return -1;
	}
	for (i = 0; n > 0 && i < np; i++) {
		int bi = map[i] & 0xffff;

		if (pfd[i].revents == 0)
			continue;
		if (map[i] & 0x10000) {
			if (q->b[bi].tcp == pfd[i].fd)
				tcp_io(q, bi, pfd[i].revents);
			continue;
		}
		while ((r = recv(pfd[i].fd, q->buf, sizeof(q->buf), 0)) > 0)
			answer(q, bi, 0, q->buf, (size_t)r);
	}
	free(pfd);
	free(map);
	expire(q);
	return 0;
}

static void
refill(struct zquery *q)
{
	uint64_t now = now_us();

	q->tokens += (double)(now - q->last_refill) * q->rate / 1e6;
	if (q->tokens > q->burst)
		q->tokens = q->burst;
	q->last_refill = now;
}

int
zq_submit(struct zquery *q, int bi, const struct zs_probe *p)
{
	struct zq_slot *s = NULL;
	uint8_t *m;
	int i;

	if (q->broken)
		return -1;
	for (;;) {
		refill(q);
		if (q->inflight < ZQ_INFLIGHT && q->tokens >= 1)
			break;
		if (step(q, now_us() + (q->tokens >= 1 ? 100000 :
		    (uint64_t)((1 - q->tokens) * 1e6 / q->rate) + 1)) == -1)
			return -1;
	}
	q->tokens -= 1;
	for (i = 0; i < ZQ_INFLIGHT; i++)
		if (!q->slot[i].used) {
			s = &q->slot[i];
			break;
		}
	memset(s, 0, offsetof(struct zq_slot, msg));
	s->used = 1;
	q->inflight++;
	s->b = bi;
	s->tcp = q->b[bi].tcp_only;
	s->expect = p->expect;
	s->qtype = p->qtype;
	s->slice = p->slice;
	s->qlen = p->ownerlen;
	memcpy(s->qname, p->owner, p->ownerlen);
	s->cutlen = p->cutlen;
	if (p->cutlen > 0)
		memcpy(s->cut, p->cut, p->cutlen);
	if (p->nrrs > 0) {
		s->rrs = xcalloc(p->nrrs, sizeof(*s->rrs));
		for (i = 0; i < p->nrrs; i++)
			s->rrs[i] = ldns_rr_clone(p->rrs[i]);
		s->nrrs = p->nrrs;
	}
	/* No flags (RD clear: ask the server itself), one question, an OPT
	 * for 1232 bytes; then an ID. */
	m = s->msg;
	memset(m, 0, DNS_HDR_LEN);
	m[5] = 1;
	m[11] = 1;
	memcpy(m + DNS_HDR_LEN, s->qname, s->qlen);
	m += DNS_HDR_LEN + s->qlen;
	*m++ = (uint8_t)(s->qtype >> 8);
	*m++ = (uint8_t)s->qtype;
	*m++ = 0;
	*m++ = DNS_CLASS_IN;
	memcpy(m, "\x00\x00\x29\x04\xd0\x00\x00\x00\x00\x00\x00", 11);
	m += 11;
	s->msglen = (size_t)(m - s->msg);
	new_id(q, s);
	transmit(q, s);
	return 0;
}

int
zq_finish(struct zquery *q)
{
	while (q->inflight > 0)
		if (step(q, now_us() + 100000) == -1)
			return -1;
	return q->broken ? -1 : 0;
}

uint64_t
zq_sent(const struct zquery *q)
{
	return q->sent;
}

void
zq_free(struct zquery *q)
{
	int i;

	if (q == NULL)
		return;
	for (i = 0; i < ZQ_INFLIGHT; i++)
		if (q->slot[i].used)
			slot_free(q, &q->slot[i]);
	for (i = 0; i < q->nb; i++) {
		if (q->b[i].udp >= 0)
			close(q->b[i].udp);
		close_tcp(&q->b[i]);
		free(q->b[i].out);
		free(q->b[i].in);
	}
	free(q->b);
	free(q);
}

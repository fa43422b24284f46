/*
 * query: one query's life on a worker (see query.h), in the order it is
 * lived:
 *
 *   query_client	a client's bytes: parse, answer at once what needs no
 *			backend, route, admit, take a slot (an UPDATE is
 *			handed to update.c there)
 *   slot_forward	pick a member of the route's pool (balance.c) and
 *			send (upstream.c), with a deadline
 *   query_answer	a backend's answer: check it against the question,
 *			relay it with the client's ID, record, free the slot
 *   slot_retry		a try that failed (query_timeouts, query_failed):
 *			the next member, or SERVFAIL
 *   slot_tc_retry	a truncated UDP answer in a tc-retry pool: the same
 *			member again over TCP
 *   race_*		a race pool's query: every usable member at once,
 *			the first good answer wins
 *
 * Then the helpers: answers the router makes, the trace records, slots.
 * The sockets are other files': client_udp.c and client_tcp.c read the
 * queries, upstream.c sends them and finds each answer's query by socket
 * and ID, txq.c sends datagrams.
 *
 * A query that needs a backend takes a slot: the client's bytes, who to
 * answer, which snapshot routed it, which backends were tried.  An answer
 * reaches it only on the socket it went out on, with its ID (upstream.c);
 * it is relayed only with QR set and the same question, else counted and
 * dropped while the query keeps waiting.  The one exception is a bare
 * header with an error rcode (answer_unmatched says why).  On timeout or a
 * refused connection the query is tried once more on another member
 * (setting retries), then answered SERVFAIL.
 *
 * A query to a race pool (the dnsmus seed) goes to every usable member at
 * once (up to RACE_MAX), each try a leg with its own copy of the bytes, as
 * each gets its own ID before the send queue is flushed.  The first good
 * answer wins: NOERROR with an answer record, and NODATA or NXDOMAIN where
 * the pool's good says so; the legs still out are taken off their sockets,
 * so their answers are dropped as unexpected when they come.  An answer
 * that is not good is kept when it beats the best so far (race_rank), and
 * relayed when every leg has answered or failed, or at the timeout; with
 * none, SERVFAIL.  A race is not retried: every member was asked.
 *
 * In a pool with tc-retry, a truncated answer to a query that went over
 * UDP is not relayed: the query goes to the same member again over TCP
 * (slot_tc_retry), and that answer is relayed as any other, so when it is
 * larger than the client's EDNS size (512 without EDNS) the client gets
 * the router's own truncated answer (slot_answer).  When the TCP try
 * fails, the client gets that too, with the truncated answer's rcode: it
 * may come over TCP itself.
 *
 * A backend with client-address ecs gets the client's network in an EDNS
 * Client Subnet option (dnsecs.h), in bytes of the try's own (sent_bytes:
 * the slot's xpkt, a race leg's copy); an option the router added is
 * taken out of the answer again, so the client sees none it did not send.
 * A backend with client-address proxy gets a PROXY v2 header before the
 * message (proxyv2.h) with the client's address and port and where it
 * reached the router, in the same bytes (the DNS message at the try's off,
 * where its ID is); over TCP upstream.c sends the header once per
 * connection.  The answer has none: it is matched as any other.
 *
 * One client address (IPv6: its /64) holds at most client_cap slots
 * (max-outstanding-per-client), counted in out_per_addr by client_bucket(),
 * so a burst from one address cannot take the slots everyone shares.
 *
 * Nothing here allocates per query once the slot pool has grown to the
 * peak load.
 */
#include <stdalign.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "balance.h"
#include "client_tcp.h"
#include "config.h"
#include "dnsecs.h"
#include "dnsmsg.h"
#include "log.h"
#include "proxyhdr.h"
#include "proxyv2.h"
#include "query.h"
#include "tring.h"
#include "update.h"
#include "upstream.h"
#include "util.h"
#include "wstate.h"
#include "xfr.h"

#define SLOT_CHUNK	1024
#define MAX_TRIES	4
#define RACE_MAX	16	/* members a race asks at most */
/* What sent_bytes() adds to a query at most. */
#define SEND_ROOM	(PROXYV2_MAX > DNS_ECS_ROOM ? PROXYV2_MAX : DNS_ECS_ROOM)
/* A query over UDP to a backend is a client's over UDP (one over TCP goes
 * on over TCP, where a PROXY header is not in the message): with its
 * header it still fits a datagram, so none is too large for one. */
_Static_assert(UDP_CLIENT_MAX + PROXYV2_MAX <= 65507,
    "a UDP client's query and a PROXY header exceed a datagram");

struct qslot;

/* One try of a race, on its own ID. */
struct rleg {
	struct up_ref	 up;		/* first: slot_of() */
	struct qslot	*s;
	uint8_t		*pkt;		/* its own copy of the query */
	size_t		 off;		/* the DNS message in pkt (PROXY) */
	int		 strip;		/* take the ECS option out of the answer */
};

/* A race pool's query in flight (s->race), allocated with its legs and
 * their bytes. */
struct race {
	int		 n;		/* legs sent */
	int		 out;		/* legs waiting for their answer */
	int		 timing;	/* the slot is on the timeout FIFO */
	struct backend	*won;		/* whose answer the client got */
	/* The best answer that did not win (race_rank; 0: none yet): its
	 * bytes, or NULL for the router's own answer with best_rcode. */
	int		 best_rank;
	int		 best_rcode, best_ancount;
	struct backend	*best_b;
	uint8_t		*best;
	size_t		 best_len;
	struct rleg	 leg[];
};

/*
 * One query in flight, laid out by the cache lines a UDP query touches
 * (slots are 64-octet aligned): three lines of its own fields, then the
 * parsed query (its fields, the length and a name of up to 38 octets on
 * one line), the bytes as received (one line for most queries), and last
 * what only an unusual query reads (the cold part: a long query's bytes,
 * the bytes with the client's address, a wildcard listener's destination,
 * an address longer than an IPv6 one).  A slot is cold when its answer
 * comes: see query_answer_soon().
 */
struct qslot {
	/* The try out now: what the send path writes and an answer reads
	 * first. */
	alignas(64) struct up_ref up;	/* the try out now (upstream.c) */
	struct race		*race;		/* a race pool's legs; NULL */
	struct pool		*pool;
	uint64_t		 sent_us;
	uint64_t		 start_us;
	/* The timeout FIFO (a free slot is on the free list instead), the
	 * snapshot, the client's socket, the small state. */
	union {
		struct qslot	*tnext;		/* worker timeout FIFO */
		struct qslot	*free_next;	/* free list */
	};
	struct qslot		*tprev;
	struct config		*cfg;		/* snapshot it was routed with */
	uint64_t		 deadline_us;
	int64_t			 route_id;	/* the trace's; -1: none */
	struct tclient		*tc;		/* the client's TCP connection */
	int			 lfd;		/* its UDP listener; -1 over TCP */
	uint32_t		 cbucket;	/* its client_bucket() */
	uint16_t		 len;		/* the query's bytes (slot_pkt) */
	uint8_t			 salen;		/* the client's address */
	uint8_t			 ntried;
	/* The try out now went with the client's address (the cold
	 * xpkt: those bytes); strip: take the option out of its answer. */
	uint8_t			 strip;
	uint8_t			 tc_retried;	/* the try out now is over TCP
						   after a truncated answer */
	uint8_t			 has_dst;	/* cold dst is the destination */
	uint8_t			 has_xpkt;	/* cold xpkt is allocated */
	/* The client's address (slot_sa), what was tried. */
	union {
		struct sockaddr		sa;
		struct sockaddr_in	v4;
		struct sockaddr_in6	v6;
	}			 addr;
	int			 tc_rcode;	/* the truncated answer's rcode */
	struct backend		*tried[MAX_TRIES];
	/* Parsed into the slot while it is the free list's first
	 * (query_client), else copied. */
	alignas(64) struct dns_query q;
	/* The query, bytes as received (len of them; slot_pkt). */
	alignas(64) uint8_t	 inl[512];
	/* The cold part. */
	uint8_t			*big;		/* the bytes when over inl */
	uint8_t			*xpkt;		/* has_xpkt */
	struct udp_dst		 dst;		/* has_dst */
	struct sockaddr_storage	 ss;		/* salen over addr's */
};

_Static_assert(offsetof(struct qslot, tnext) == 64 &&
    offsetof(struct qslot, addr) == 128 &&
    offsetof(struct qslot, q) == 192 &&
    offsetof(struct qslot, q.qname_wire) - offsetof(struct qslot, q) <= 32,
    "a query slot's hot lines");

/* The query's bytes as received. */
static inline uint8_t *
slot_pkt(const struct qslot *s)
{
	return s->len <= sizeof(s->inl) ? (uint8_t *)s->inl : s->big;
}

/* The client's address. */
static inline const struct sockaddr *
slot_sa(const struct qslot *s)
{
	return s->salen <= sizeof(s->addr) ? &s->addr.sa :
	    (const struct sockaddr *)&s->ss;
}

/* Who asked s, and how to answer them. */
static inline __attribute__((always_inline)) void
slot_client(const struct qslot *s, struct client *cl)
{
	cl->sa = slot_sa(s);
	cl->salen = s->salen;
	cl->lfd = s->lfd;
	cl->tc = s->tc;
	cl->dst = s->has_dst ? &s->dst : NULL;
	cl->hint = 0;
	cl->qnlen = 0;
}

static inline int slot_forward_in(struct worker *, struct qslot *,
		    uint64_t);
static int	 slot_forward(struct worker *, struct qslot *, uint64_t);
static void	 slot_relay(struct worker *, struct qslot *, uint8_t *,
		    size_t, int, int, int, int, uint64_t);
static inline void slot_answer_in(struct worker *, struct qslot *,
		    uint8_t *, size_t, int, int, int, int, uint64_t);
static void	 slot_answer(struct worker *, struct qslot *, uint8_t *,
		    size_t, int, int, int, int, uint64_t);
static void	 query_xfr(struct worker *, const uint8_t *, size_t,
		    const struct dns_query *, const struct client *,
		    const struct croute *);
static int	 slot_tc_retry(struct worker *, struct qslot *, int, uint64_t);
static int	 race_start(struct worker *, struct qslot *, uint64_t);
static void	 race_answer(struct worker *, struct qslot *, struct rleg *,
		    uint8_t *, size_t, int);
static void	 race_leg_failed(struct worker *, struct qslot *,
		    struct rleg *);
static void	 race_end(struct worker *, struct qslot *, int, uint64_t);
static void	 race_unsend(struct worker *, struct qslot *);
static void	 answer_unmatched(struct worker *, struct qslot *,
		    const uint8_t *, size_t);
static void	 slot_retry(struct worker *, struct qslot *, uint64_t, int);
static void	 slot_fail(struct worker *, struct qslot *, int);
static inline int send_answer(struct worker *, const struct client *,
		    const uint8_t *, size_t, int);
static void	 answer_rcode(struct worker *, const uint8_t *, size_t,
		    const struct dns_query *, int, const struct client *);
static size_t	 slot_own_answer(struct qslot *, uint8_t *, size_t, int);
static void	 trace_early(struct worker *, const struct client *,
		    const struct dns_query *, int, int, int);
static inline void trace_slot_in(struct worker *, const struct qslot *,
		    int, int, int, uint64_t);
static void	 trace_slot(struct worker *, const struct qslot *, int, int,
		    int, uint64_t);
static struct qslot *slot_alloc(struct worker *, uint32_t);
static void	 slot_set_client(struct qslot *, const struct client *);
static void	 slot_free(struct worker *, struct qslot *);
static inline void slot_unsend(struct worker *, struct qslot *);
static void	 tlist_add(struct worker *, struct qslot *);
static void	 tlist_del(struct worker *, struct qslot *);

static inline struct qslot *
slot_of(struct up_ref *r)
{
	if (r->leg != 0)
		return ((struct rleg *)(void *)r)->s;
	return (struct qslot *)(void *)((char *)r - offsetof(struct qslot, up));
}

/* ---- a query arrives ---- */

void
query_client(struct worker *w, const uint8_t *pkt, size_t len,
    const struct client *cl)
{
	struct tclient *tc = cl->tc;
	struct config *c = w->cfg;
	struct dns_query qbuf, *q;
	const struct croute *r = NULL;
	struct qslot *s;
	enum dns_err e;
	uint32_t bucket;
	int idx, limited, action, rcode, xfr;
	uint64_t now;

	/* Parsed where it is kept if it takes a slot: in the slot that
	 * slot_alloc() hands out next, the free list's first, so that it is
	 * not copied there (with none free, here, and copied). */
	q = w->free != NULL ? &w->free->q : &qbuf;
	e = dns_parse_query_qn(pkt, len, q, cl->qnlen);
	if (e != DNS_OK) {
		STAT_INC(&w->st, malformed);
		trace_early(w, cl, q, TRACE_MALFORMED, e,
		    len >= DNS_HDR_LEN && e != DNS_E_QR ? DNS_RCODE_FORMERR : -1);
		/* Never answer what claims to be an answer: that is how
		 * two servers are made to ping-pong forever. */
		if (len >= DNS_HDR_LEN && e != DNS_E_QR)
			answer_rcode(w, pkt, len, q, DNS_RCODE_FORMERR, cl);
		return;
	}
	if (DNS_OPCODE(q->flags) != DNS_OPCODE_QUERY) {
		if (DNS_OPCODE(q->flags) == DNS_OPCODE_UPDATE) {
			update_client(w, pkt, len, q, cl);
			return;
		}
		STAT_INC(&w->st, notimp);
		trace_early(w, cl, q, TRACE_NOTIMP, -1, DNS_RCODE_NOTIMP);
		answer_rcode(w, pkt, len, q, DNS_RCODE_NOTIMP, cl);
		return;
	}
	/* The route: its pool, or an answer of its own.  A zone transfer
	 * takes only a route that names its type, else it is refused. */
	xfr = q->qtype == DNS_TYPE_AXFR || q->qtype == DNS_TYPE_IXFR;
	if (xfr) {
		idx = config_xfr_route(c, w->rm, q->qname_wire,
		    q->qname_wire_len, q->qtype, &limited);
		if (idx < 0) {
			STAT_INC(&w->st, refused_xfr);
			trace_early(w, cl, q, TRACE_XFR_REFUSED, -1,
			    DNS_RCODE_REFUSED);
			answer_rcode(w, pkt, len, q, DNS_RCODE_REFUSED, cl);
			return;
		}
	} else
		idx = route_match_wire_hint(w->rm, c->rt, q->qname_wire,
		    q->qname_wire_len, q->qtype, cl->hint, &limited);
	if (limited)
		STAT_INC(&w->st, match_limit);
	if (idx < 0) {
		STAT_INC(&w->st, noroute);
		action = c->set.default_action;
	} else {
		r = &c->routes[idx];
		route_hits_add(r->hits, w->idx);
		action = r->action;
	}
	switch (action) {
	case ACTION_POOL:
		break;
	case ACTION_DROP:
		STAT_INC(&w->st, dropped);
		trace_early(w, cl, q,
		    idx < 0 ? TRACE_NOROUTE : TRACE_ROUTE_ANSWER,
		    idx < 0 ? -1 : (int)r->id, -1);
		return;
	default:
		STAT_INC(&w->st, action_answers);
		rcode = action == ACTION_REFUSE ? DNS_RCODE_REFUSED :
		    action == ACTION_NXDOMAIN ? DNS_RCODE_NXDOMAIN :
		    DNS_RCODE_SERVFAIL;
		trace_early(w, cl, q,
		    idx < 0 ? TRACE_NOROUTE : TRACE_ROUTE_ANSWER,
		    idx < 0 ? -1 : (int)r->id, rcode);
		answer_rcode(w, pkt, len, q, rcode, cl);
		return;
	}

	if (xfr) {
		query_xfr(w, pkt, len, q, cl, r);
		return;
	}

	/* Admission: the client's share, then a slot. */
	bucket = tc != NULL ? tc->bucket : client_bucket(w, cl->sa);
	if (w->out_per_addr[bucket] >= (uint32_t)c->set.client_cap) {
		/*
		 * Over UDP the query is dropped: an answer would cost as much
		 * as the query, go to an address that may be forged, and
		 * REFUSED or SERVFAIL would tell a real resolver that the
		 * server is lame or the name broken, where its timeout and
		 * retry are the back-pressure wanted.  Over TCP the address
		 * is proven, and an answer frees the client at once: SERVFAIL,
		 * as at the overall limit.
		 */
		STAT_INC(&w->st, client_limit);
		rcode = tc != NULL ? DNS_RCODE_SERVFAIL : -1;
		trace_early(w, cl, q, TRACE_CLIENT_LIMIT, (int)r->id, rcode);
		if (tc != NULL)
			answer_rcode(w, pkt, len, q, rcode, cl);
		return;
	}
	if ((s = slot_alloc(w, bucket)) == NULL) {
		STAT_INC(&w->st, overload);
		trace_early(w, cl, q, TRACE_OVERLOAD, (int)r->id,
		    DNS_RCODE_SERVFAIL);
		answer_rcode(w, pkt, len, q, DNS_RCODE_SERVFAIL, cl);
		return;
	}
	now = wnow(w);
	s->start_us = now;
	s->route_id = r != NULL ? r->id : -1;
	s->pool = config_route_pool(c, r);
	s->ntried = 0;
	s->tc_retried = 0;
	s->strip = 0;
	s->race = NULL;
	slot_set_client(s, cl);
	if (q != &s->q)
		dns_query_copy(&s->q, q);
	s->len = (uint16_t)len;
	if (len > sizeof(s->inl))
		s->big = xmalloc(len);
	memcpy(slot_pkt(s), pkt, len);
	if ((s->pool->policy == POLICY_RACE ? race_start(w, s, now) :
	    slot_forward_in(w, s, now)) == -1) {
		STAT_INC(&w->st, all_down);
		slot_fail(w, s, TRACE_POOL_DOWN);
	}
}

/* A zone transfer on route r: relayed over TCP by xfr.c, from one member
 * of the route's pool.  Asked over UDP, it gets TC: a transfer needs TCP
 * (RFC 5936 4.2; an IXFR that fits UDP is not worth the special case). */
static void
query_xfr(struct worker *w, const uint8_t *pkt, size_t len,
    const struct dns_query *q, const struct client *cl,
    const struct croute *r)
{
	uint8_t out[DNS_HDR_LEN + DNS_MAX_WIRE_NAME + 4];
	uint8_t proxy[PROXYV2_MAX];
	struct backend *b;
	size_t n, proxylen = 0;
	int rc;

	if (cl->tc == NULL) {
		n = dns_make_answer(out, sizeof(out), pkt, len, q,
		    DNS_RCODE_NOERROR);
		if (n == 0)
			return;
		out[2] |= 0x02;
		STAT_INC(&w->st, truncated);
		stats_count_rcode(&w->st, DNS_RCODE_NOERROR);
		if (send_answer(w, cl, out, n, 0) == 0)
			STAT_INC(&w->st, answers);
		trace_early(w, cl, q, TRACE_XFR_UDP, (int)r->id,
		    DNS_RCODE_NOERROR);
		return;
	}
	if ((b = pool_pick(config_route_pool(w->cfg, r), NULL, 0,
	    w->cfg->set.all_down_try)) == NULL) {
		STAT_INC(&w->st, all_down);
		trace_early(w, cl, q, TRACE_POOL_DOWN, (int)r->id,
		    DNS_RCODE_SERVFAIL);
		answer_rcode(w, pkt, len, q, DNS_RCODE_SERVFAIL, cl);
		return;
	}
	if (atomic_load_explicit(&b->client_addr, memory_order_relaxed) ==
	    CLIENT_ADDR_PROXY)
		proxylen = proxyhdr_client(cl, proxy);
	if ((rc = xfr_start(w, cl->tc, b, pkt, len, q, r->id, proxy,
	    proxylen)) != 0) {
		if (rc == XFR_CLIENT_FULL)
			STAT_INC(&w->st, client_limit);
		else
			STAT_INC(&w->st, overload);
		trace_early(w, cl, q, rc == XFR_CLIENT_FULL ?
		    TRACE_CLIENT_LIMIT : TRACE_OVERLOAD, (int)r->id,
		    DNS_RCODE_SERVFAIL);
		answer_rcode(w, pkt, len, q, DNS_RCODE_SERVFAIL, cl);
	}
}

/* ---- forwarding ---- */

static uint8_t	*sent_bytes_client(struct worker *, struct qslot *, int,
		    uint8_t **, size_t *, size_t *, int *);

/* The bytes of s for b: the client's (*len), or, where b asks for the
 * client's address, those with an ECS option or after a PROXY header
 * (*off: its length, else 0), written into buf (room for s->len +
 * SEND_ROOM; allocated into *buf when it is NULL).  *strip: the router
 * added the option, and takes it out of the answer. */
static inline uint8_t *
sent_bytes(struct worker *w, struct qslot *s, struct backend *b,
    uint8_t **buf, size_t *len, size_t *off, int *strip)
{
	int ca = atomic_load_explicit(&b->client_addr, memory_order_relaxed);

	*strip = 0;
	*off = 0;
	*len = s->len;
	if (ca == CLIENT_ADDR_OFF)
		return slot_pkt(s);
	return sent_bytes_client(w, s, ca, buf, len, off, strip);
}

/* sent_bytes() for a backend with client-address ca, not off: out of the
 * plain query's way. */
static uint8_t *
sent_bytes_client(struct worker *w, struct qslot *s, int ca, uint8_t **buf,
    size_t *len, size_t *off, int *strip)
{
	const struct settings *set = &s->cfg->set;
	enum dns_ecs_result e;
	struct client cl;

	if (*buf == NULL) {
		*buf = xmalloc((size_t)s->len + SEND_ROOM);
		if (buf == &s->xpkt)
			s->has_xpkt = 1;
	}
	if (ca == CLIENT_ADDR_PROXY) {
		slot_client(s, &cl);
		*off = proxyhdr_client(&cl, *buf);
		memcpy(*buf + *off, slot_pkt(s), s->len);
		*len = *off + s->len;
		return *buf;
	}
	*len = (size_t)s->len + DNS_ECS_ROOM;
	e = dns_ecs_add(slot_pkt(s), s->len, &s->q, slot_sa(s), set->ecs_v4,
	    set->ecs_v6, set->ecs_client == ECS_REPLACE, *buf, len);
	switch (e) {
	case DNS_ECS_ADDED:
		*strip = 1;
		return *buf;
	case DNS_ECS_REPLACED:
		return *buf;
	case DNS_ECS_KEPT:
		break;
	default:
		STAT_INC(&w->st, ecs_skipped);
		break;
	}
	*len = s->len;
	return slot_pkt(s);
}

/* Send to a member of the slot's pool not tried yet; -1 when none is left
 * or the retries are used up.  Inline in query_client, for every query's
 * first try; slot_forward() for the retries. */
static inline __attribute__((always_inline)) int
slot_forward_in(struct worker *w, struct qslot *s, uint64_t now)
{
	struct backend *b;
	int budget = s->cfg->set.retries + 1, strip;
	uint8_t *pkt;
	size_t len, off;

	while (s->ntried < budget && s->ntried < MAX_TRIES) {
		b = pool_pick(s->pool, s->tried, s->ntried,
		    s->cfg->set.all_down_try);
		if (b == NULL)
			return -1;
		if (s->ntried > 0)
			STAT_INC(&w->st, retries);
		s->tried[s->ntried++] = b;
		pkt = sent_bytes(w, s, b, &s->xpkt, &len, &off, &strip);
		s->strip = (uint8_t)strip;
		if (up_send(w, &s->up, b, s->tc != NULL, pkt, len,
		    off) == 0) {
			s->sent_us = now;
			s->deadline_us = now +
			    (uint64_t)s->cfg->set.query_timeout_ms * 1000;
			tlist_add(w, s);
			return 0;
		}
		/* Could not send at all: count it as tried and go on. */
		atomic_fetch_add_explicit(&b->failures, 1, memory_order_relaxed);
	}
	return -1;
}

static int
slot_forward(struct worker *w, struct qslot *s, uint64_t now)
{
	return slot_forward_in(w, s, now);
}

/* ---- the answer ---- */

/* The lines of r's slot that an answer reads: its three own (r, the
 * times, the pool; the snapshot, the client; its address, the backend
 * tried), the query's fields and name, its bytes.  Addresses only: r
 * may be a race's leg, and then the prefetches are wasted, never wrong. */
void
query_answer_soon(const struct up_ref *r)
{
	uintptr_t s = (uintptr_t)r - offsetof(struct qslot, up);

#define PF(off)	__builtin_prefetch((const void *)(s + (off)))
	PF(0);
	PF(offsetof(struct qslot, cfg));
	PF(offsetof(struct qslot, addr));
	PF(offsetof(struct qslot, q));
	PF(offsetof(struct qslot, inl));
#undef PF
}

void
query_answer(struct worker *w, struct up_ref *r, uint8_t *pkt, size_t len,
    int stable)
{
	struct qslot *s = slot_of(r);
	uint64_t now;
	int rcode;

	if (s->race != NULL) {
		race_answer(w, s, (struct rleg *)(void *)r, pkt, len, stable);
		return;
	}
	if (!dns_answer_echoes(pkt, len, r->id, &s->q, slot_pkt(s)) &&
	    dns_answer_matches_sent(pkt, len, r->id, &s->q,
	    slot_pkt(s)) != 0) {
		answer_unmatched(w, s, pkt, len);
		return;
	}
	rcode = DNS_RCODE(pkt[2] << 8 | pkt[3]);
	now = wnow(w);
	if (s->strip)
		len = dns_ecs_strip(pkt, len);
	if ((pkt[2] & 0x02) && !r->tcp && s->pool->tc_retry) {
		backend_record_answer(r->b, w->idx,
		    (unsigned)(now - s->sent_us));
		if (slot_tc_retry(w, s, rcode, now) == -1)
			slot_answer(w, s, pkt, len, stable, rcode,
			    pkt[6] << 8 | pkt[7], TRACE_OK, now);
		return;
	}
	/* slot_relay(), with slot_answer() inline: every answer comes here. */
	backend_record_answer(s->up.b, w->idx, (unsigned)(now - s->sent_us));
	slot_answer_in(w, s, pkt, len, stable, rcode, pkt[6] << 8 | pkt[7],
	    s->tc_retried ? TRACE_TC_RETRY : TRACE_OK, now);
}

/* The backend of s's try answered: count it, answer the client. */
static inline void
slot_relay(struct worker *w, struct qslot *s, uint8_t *pkt, size_t len,
    int stable, int rcode, int ancount, int outcome, uint64_t now)
{
	backend_record_answer(s->up.b, w->idx,
	    (unsigned)(now - s->sent_us));
	slot_answer(w, s, pkt, len, stable, rcode, ancount, outcome, now);
}

/* Send s's client pkt, a backend's answer or the router's own, with the
 * client's ID; record and free the slot.  Inline in query_answer, for a
 * backend's answer as it came; slot_answer() for the rest. */
static inline __attribute__((always_inline)) void
slot_answer_in(struct worker *w, struct qslot *s, uint8_t *pkt, size_t len,
    int stable, int rcode, int ancount, int outcome, uint64_t now)
{
	uint8_t tc_answer[DNS_HDR_LEN + DNS_MAX_WIRE_NAME + 4];
	struct client cl;

	dns_set_id(pkt, s->q.id);
	if (pkt[2] & 0x02)
		STAT_INC(&w->st, truncated);
	if (s->tc == NULL && len > 512 &&
	    len > (size_t)(s->q.has_opt ? s->q.edns_udp_size : 512)) {
		/* Only a TCP backend can send this: too big for the client's
		 * UDP; tell it to come back over TCP. */
		len = slot_own_answer(s, tc_answer, sizeof(tc_answer), rcode);
		tc_answer[2] |= 0x02;
		pkt = tc_answer;
		stable = 0;
		STAT_INC(&w->st, truncated);
	}
	stats_count_rcode(&w->st, rcode);
	slot_client(s, &cl);
	if (send_answer(w, &cl, pkt, len, stable) == 0)
		STAT_INC(&w->st, answers);
	trace_slot_in(w, s, outcome, rcode, ancount, now);
	slot_free(w, s);
}

static void
slot_answer(struct worker *w, struct qslot *s, uint8_t *pkt, size_t len,
    int stable, int rcode, int ancount, int outcome, uint64_t now)
{
	slot_answer_in(w, s, pkt, len, stable, rcode, ancount, outcome, now);
}

/*
 * An answer on s's socket with s's ID but not its question.  A bare header
 * with FORMERR, SERVFAIL, NOTIMP or REFUSED is how NSD and BIND answer
 * what they cannot parse: the backend's verdict, not a forgery (a forger
 * gains nothing over a full answer, which it could send as easily).  The
 * client gets the router's own answer from its query with that rcode: a
 * bare header relayed as it came is taken by dig, dnspython and resolvers,
 * but kdig warns that it has no question section and stricter clients
 * drop it as a mismatch; with the question echoed it is a plain error
 * answer to what was asked, which every client takes, and the question is
 * one the router parsed, so it is true (as RFC 1035 has it, and as the
 * router's own FORMERR for a bad OPT answers).  No OPT: for a FORMERR that
 * tells a resolver to try without EDNS, which is what a backend that
 * cannot parse the OPT needs.  Anything else is dropped and counted:
 * someone guessed the ID, or the backend is confused; the query waits on.
 */
static void
answer_unmatched(struct worker *w, struct qslot *s, const uint8_t *pkt,
    size_t len)
{
	uint8_t own[DNS_HDR_LEN + DNS_MAX_WIRE_NAME + 4];
	uint64_t now = wnow(w);
	int rcode;

	if ((rcode = dns_answer_headerless(pkt, len, s->up.id, &s->q)) == -1) {
		STAT_INC(&w->st, spoofed);
		trace_slot(w, s, TRACE_SPOOFED, DNS_RCODE(pkt[3]), 0, now);
		return;
	}
	STAT_INC(&w->st, headerless);
	len = slot_own_answer(s, own, sizeof(own), rcode);
	slot_relay(w, s, own, len, 0, rcode, 0, TRACE_HEADERLESS, now);
}

/* The answer to s over UDP came truncated, with rcode, and its pool has
 * tc-retry: ask the same member over TCP.  0, or -1 when that cannot go
 * (the slot is off its socket then). */
static int
slot_tc_retry(struct worker *w, struct qslot *s, int rcode, uint64_t now)
{
	struct backend *b = s->up.b;
	uint8_t *pkt;
	size_t len, off;
	int strip;

	slot_unsend(w, s);
	pkt = sent_bytes(w, s, b, &s->xpkt, &len, &off, &strip);
	s->strip = (uint8_t)strip;
	if (up_send(w, &s->up, b, 1, pkt, len, off) == -1)
		return -1;
	STAT_INC(&w->st, tc_retries);
	s->tc_retried = 1;
	s->tc_rcode = rcode;
	s->sent_us = now;
	s->deadline_us = now + (uint64_t)s->cfg->set.query_timeout_ms * 1000;
	tlist_add(w, s);
	return 0;
}

/* ---- a try that failed ---- */

void
query_timeouts(struct worker *w, uint64_t now)
{
	struct qslot *s;

	/* The FIFO is in send order; with one timeout per snapshot it is
	 * nearly in deadline order, and a late one waits one tick more. */
	while ((s = w->thead) != NULL && s->deadline_us <= now) {
		STAT_INC(&w->st, timeouts);
		slot_retry(w, s, now, TRACE_TIMEOUT);
	}
}

void
query_failed(struct worker *w, struct up_ref *r)
{
	struct qslot *s = slot_of(r);

	if (s->race != NULL)
		race_leg_failed(w, s, (struct rleg *)(void *)r);
	else
		slot_retry(w, s, wnow(w), TRACE_REFUSED);
}

/* The try out now failed (timeout, refused, closed): next member or fail.
 * A race times out as a whole. */
static void
slot_retry(struct worker *w, struct qslot *s, uint64_t now, int outcome)
{
	if (s->race != NULL) {
		race_end(w, s, outcome, now);
		return;
	}
	uint8_t own[DNS_HDR_LEN + DNS_MAX_WIRE_NAME + 4];
	size_t len;

	if (s->up.bc != NULL)
		atomic_fetch_add_explicit(&s->up.b->failures, 1,
		    memory_order_relaxed);
	slot_unsend(w, s);
	if (s->tc_retried) {
		/* The member answered, truncated: say so, and let the
		 * client come over TCP itself. */
		len = slot_own_answer(s, own, sizeof(own), s->tc_rcode);
		own[2] |= 0x02;
		slot_answer(w, s, own, len, 0, s->tc_rcode, 0, outcome, now);
		return;
	}
	if (slot_forward(w, s, now) == -1)
		slot_fail(w, s, outcome);
}

static void
slot_fail(struct worker *w, struct qslot *s, int outcome)
{
	struct client cl;

	/* The stored bytes carry the last upstream ID; answer with the
	 * client's. */
	dns_set_id(slot_pkt(s), s->q.id);
	slot_client(s, &cl);
	answer_rcode(w, slot_pkt(s), s->len, &s->q, DNS_RCODE_SERVFAIL, &cl);
	trace_slot(w, s, outcome, DNS_RCODE_SERVFAIL, 0, wnow(w));
	slot_free(w, s);
}

/* ---- a race ---- */

/* Send s to every usable member of its race pool; -1 when none could be
 * sent to. */
static int
race_start(struct worker *w, struct qslot *s, uint64_t now)
{
	struct backend *m[RACE_MAX];
	struct race *rc;
	struct rleg *l;
	uint8_t *bytes;
	size_t len;
	int i, n;

	n = pool_all(s->pool, m, RACE_MAX, s->cfg->set.all_down_try);
	if (n == 0)
		return -1;
	rc = xcalloc(1, sizeof(*rc) + (size_t)n * (sizeof(*l) + s->len +
	    SEND_ROOM));
	bytes = (uint8_t *)&rc->leg[n];
	s->race = rc;
	for (i = 0; i < n; i++) {
		l = &rc->leg[rc->n];
		l->s = s;
		l->up.leg = 1;
		l->pkt = bytes + (size_t)rc->n * (s->len + SEND_ROOM);
		if (sent_bytes(w, s, m[i], &l->pkt, &len, &l->off,
		    &l->strip) == slot_pkt(s))
			memcpy(l->pkt, slot_pkt(s), s->len);
		if (up_send(w, &l->up, m[i], s->tc != NULL, l->pkt,
		    len, l->off) == -1) {
			atomic_fetch_add_explicit(&m[i]->failures, 1,
			    memory_order_relaxed);
			continue;
		}
		rc->n++;
	}
	if (rc->n == 0) {
		free(rc);
		s->race = NULL;
		return -1;
	}
	STAT_INC(&w->st, raced);
	rc->out = rc->n;
	s->sent_us = now;
	s->deadline_us = now + (uint64_t)s->cfg->set.query_timeout_ms * 1000;
	tlist_add(w, s);
	rc->timing = 1;
	return 0;
}

/* Does this answer win a race of pool p? */
static inline int
race_good(const struct pool *p, int rcode, int ancount, int tc)
{
	if (tc)
		return 0;
	if (rcode == DNS_RCODE_NOERROR)
		return ancount > 0 || (p->good >> GOOD_NODATA & 1);
	return rcode == DNS_RCODE_NXDOMAIN && (p->good >> GOOD_NXDOMAIN & 1);
}

/* How well an answer that did not win serves the client when none wins:
 * a truncated one (it asks again over TCP) before NXDOMAIN and NODATA
 * (what is there to know about the name) before any other rcode (about
 * the server: SERVFAIL, REFUSED). */
static inline int
race_rank(int rcode, int tc)
{
	if (tc)
		return 3;
	return rcode == DNS_RCODE_NOERROR || rcode == DNS_RCODE_NXDOMAIN ?
	    2 : 1;
}

/* Leg l of s's race answered. */
static void
race_answer(struct worker *w, struct qslot *s, struct rleg *l, uint8_t *pkt,
    size_t len, int stable)
{
	struct race *rc = s->race;
	struct backend *b = l->up.b;
	uint64_t now = wnow(w);
	int rcode, ancount = 0, tc = 0, own = 0, rank;

	if (dns_answer_matches_sent(pkt, len, l->up.id, &s->q,
	    l->pkt + l->off) == 0) {
		if (l->strip)
			len = dns_ecs_strip(pkt, len);
		rcode = DNS_RCODE(pkt[2] << 8 | pkt[3]);
		ancount = pkt[6] << 8 | pkt[7];
		tc = pkt[2] & 0x02;
	} else if ((rcode = dns_answer_headerless(pkt, len, l->up.id,
	    &s->q)) != -1) {
		/* As answer_unmatched: its rcode, in the router's answer. */
		STAT_INC(&w->st, headerless);
		own = 1;
	} else {
		STAT_INC(&w->st, spoofed);
		trace_slot(w, s, TRACE_SPOOFED, DNS_RCODE(pkt[3]), 0, now);
		return;
	}
	backend_record_answer(b, w->idx, (unsigned)(now - s->sent_us));
	up_unsend(w, &l->up);
	rc->out--;
	if (!own && race_good(s->pool, rcode, ancount, tc)) {
		atomic_fetch_add_explicit(&b->race_wins, 1,
		    memory_order_relaxed);
		STAT_ADD(&w->st, race_discarded, rc->out);
		rc->won = b;
		slot_answer(w, s, pkt, len, stable, rcode, ancount,
		    TRACE_RACE_WON, now);
		return;
	}
	rank = own ? 1 : race_rank(rcode, tc);
	if (rank > rc->best_rank) {
		free(rc->best);
		rc->best = NULL;
		if (!own) {
			rc->best = xmalloc(len);
			memcpy(rc->best, pkt, len);
			rc->best_len = len;
		}
		rc->best_rank = rank;
		rc->best_rcode = rcode;
		rc->best_ancount = ancount;
		rc->best_b = b;
	}
	if (rc->out == 0)
		race_end(w, s, TRACE_RACE_BEST, now);
}

/* Leg l's connection failed (refused, closed). */
static void
race_leg_failed(struct worker *w, struct qslot *s, struct rleg *l)
{
	atomic_fetch_add_explicit(&l->up.b->failures, 1, memory_order_relaxed);
	up_unsend(w, &l->up);
	if (--s->race->out == 0)
		race_end(w, s, TRACE_REFUSED, wnow(w));
}

/* No answer won s's race: every leg is done, or the time is up (the legs
 * still out failed).  The best of the answers, else SERVFAIL with
 * outcome. */
static void
race_end(struct worker *w, struct qslot *s, int outcome, uint64_t now)
{
	uint8_t own[DNS_HDR_LEN + DNS_MAX_WIRE_NAME + 4];
	struct race *rc = s->race;
	uint8_t *pkt = rc->best;
	size_t len = rc->best_len;
	int i;

	for (i = 0; i < rc->n; i++)
		if (rc->leg[i].up.bc != NULL)
			atomic_fetch_add_explicit(&rc->leg[i].up.b->failures,
			    1, memory_order_relaxed);
	if (rc->best_rank == 0) {
		slot_fail(w, s, outcome);
		return;
	}
	if (pkt == NULL) {
		len = slot_own_answer(s, own, sizeof(own), rc->best_rcode);
		pkt = own;
	}
	rc->won = rc->best_b;
	slot_answer(w, s, pkt, len, 0, rc->best_rcode, rc->best_ancount,
	    TRACE_RACE_BEST, now);
}

/* Take the legs still out off their sockets, and the slot off the
 * timeout FIFO. */
static void
race_unsend(struct worker *w, struct qslot *s)
{
	struct race *rc = s->race;
	int i;

	for (i = 0; i < rc->n; i++)
		up_unsend(w, &rc->leg[i].up);
	if (rc->timing) {
		tlist_del(w, s);
		rc->timing = 0;
	}
}

/* ---- answers ---- */

/* Send an answer to cl; 0 or -1.  stable: pkt stays valid until the next
 * txq_flush(), so a UDP answer can wait in the send queue.  Inline: GCC
 * made it a call in query_answer. */
static inline __attribute__((always_inline)) int
send_answer(struct worker *w, const struct client *cl, const uint8_t *pkt,
    size_t len, int stable)
{
	if (cl->tc != NULL)
		return tclient_send(cl->tc, pkt, len);
	if (stable) {
		txq_add(&w->txq, cl->lfd, pkt, len, cl->sa, cl->salen, cl->dst);
		return 0;
	}
	return txq_send_now(&w->txq, cl->lfd, pkt, len, cl->sa, cl->salen,
	    cl->dst);
}

/* The router's own answer to q: its ID and question, rcode. */
static void
answer_rcode(struct worker *w, const uint8_t *pkt, size_t len,
    const struct dns_query *q, int rcode, const struct client *cl)
{
	uint8_t out[DNS_HDR_LEN + DNS_MAX_WIRE_NAME + 4];
	size_t n;

	n = dns_make_answer(out, sizeof(out), pkt, len, q, rcode);
	if (n == 0)
		return;
	if (rcode == DNS_RCODE_SERVFAIL)
		STAT_INC(&w->st, servfail);
	else if (rcode == DNS_RCODE_FORMERR)
		STAT_INC(&w->st, formerr);
	stats_count_rcode(&w->st, rcode);
	if (send_answer(w, cl, out, n, 0) == 0)
		STAT_INC(&w->st, answers);
}

/* The router's own answer to s's client, from its query: its ID and
 * question, rcode; into out (room for a header and a question). */
static size_t
slot_own_answer(struct qslot *s, uint8_t *out, size_t outlen, int rcode)
{
	/* The stored bytes carry the last upstream ID. */
	dns_set_id(slot_pkt(s), s->q.id);
	return dns_make_answer(out, outlen, slot_pkt(s), s->len, &s->q, rcode);
}

/* ---- trace records (tring.h) ---- */

/* A query answered or dropped without a slot.  q may hold a partial parse
 * (question_end == 0: no question); detail is the enum dns_err for
 * TRACE_MALFORMED, else the route id (-1: none); rcode is what the client
 * got, -1 for nothing. */
static void
trace_early(struct worker *w, const struct client *cl,
    const struct dns_query *q, int outcome, int detail, int rcode)
{
	struct trec t;

	t.mono_us = wnow(w);
	t.route_id = outcome == TRACE_MALFORMED ? -1 : detail;
	t.backend_id = 0;
	t.latency_us = 0;
	t.ancount = 0;
	t.tcp = cl->tc != NULL;
	t.outcome = (uint8_t)outcome;
	t.rcode = (int8_t)rcode;
	t.tries = 0;
	t.detail = outcome == TRACE_MALFORMED ? (uint8_t)detail : 0;
	tring_put(w->ring, &t, cl->sa, q);
}

/* A query that had a slot: its route, last backend, tries, latency.
 * Inline in slot_answer, where every answered query is recorded: the call
 * cost a tenth of the record; trace_slot() for the rest. */
static inline __attribute__((always_inline)) void
trace_slot_in(struct worker *w, const struct qslot *s, int outcome,
    int rcode, int ancount, uint64_t now)
{
	const struct backend *b = s->race != NULL ? s->race->won :
	    s->ntried > 0 ? s->tried[s->ntried - 1] : NULL;
	uint64_t lat = now > s->start_us ? now - s->start_us : 0;
	struct trec t;

	t.mono_us = now;
	t.route_id = s->route_id;
	t.backend_id = b != NULL ? b->id : 0;
	t.latency_us = lat > UINT32_MAX ? UINT32_MAX : (uint32_t)lat;
	t.ancount = (uint16_t)ancount;
	t.tcp = s->tc != NULL;
	t.outcome = (uint8_t)outcome;
	t.rcode = (int8_t)rcode;
	t.tries = (uint8_t)(s->race != NULL ? s->race->n : s->ntried);
	t.detail = 0;
	tring_put(w->ring, &t, slot_sa(s), &s->q);
}

static void
trace_slot(struct worker *w, const struct qslot *s, int outcome, int rcode,
    int ancount, uint64_t now)
{
	trace_slot_in(w, s, outcome, rcode, ancount, now);
}

/* ---- slots ---- */

static struct cfg_hold *
hold_of(struct worker *w, struct config *c)
{
	int i;

	for (i = w->nholds - 1; i >= 0; i--)
		if (w->holds[i].cfg == c)
			return &w->holds[i];
	fatalx("query slot from an unknown snapshot");
}

void
query_release_holds(struct worker *w)
{
	int i, j;

	for (i = 0, j = 0; i < w->nholds; i++) {
		if (i < w->nholds - 1 && w->holds[i].inflight == 0)
			config_unref(w->holds[i].cfg);
		else
			w->holds[j++] = w->holds[i];
	}
	w->nholds = j;
}

static struct qslot *
slot_alloc(struct worker *w, uint32_t bucket)
{
	struct qslot *s;
	int i;

	if (w->nout >= w->cfg->set.max_outstanding)
		return NULL;
	if (w->free == NULL) {
		if ((long)w->nchunks * SLOT_CHUNK >= UP_MAX_QUERIES)
			return NULL;
		w->chunks = xrealloc(w->chunks, (w->nchunks + 1) * sizeof(*w->chunks));
		/* On a line of their own (struct qslot). */
		if (posix_memalign((void **)&s, alignof(struct qslot),
		    SLOT_CHUNK * sizeof(*s)) != 0)
			fatalx("query slots: out of memory");
		memset(s, 0, SLOT_CHUNK * sizeof(*s));
		w->chunks[w->nchunks] = s;
		for (i = SLOT_CHUNK - 1; i >= 0; i--) {
			s[i].free_next = w->free;
			w->free = &s[i];
		}
		w->nchunks++;
	}
	s = w->free;
	w->free = s->free_next;
	/* The next query's slot, every line a query writes: the three of
	 * its own (free_next, read then, is in the second), where its query
	 * is parsed, where its bytes go. */
	if (w->free != NULL) {
		__builtin_prefetch(w->free, 1);
		__builtin_prefetch(&w->free->cfg, 1);
		__builtin_prefetch(&w->free->addr, 1);
		__builtin_prefetch(&w->free->q, 1);
		__builtin_prefetch(w->free->inl, 1);
	}
	s->cfg = w->cfg;
	s->cbucket = bucket;
	w->out_per_addr[bucket]++;
	w->holds[w->nholds - 1].inflight++;
	w->nout++;
	return s;
}

static void
slot_set_client(struct qslot *s, const struct client *cl)
{
	/* Copies of known size, not a call. */
	if (cl->salen == sizeof(struct sockaddr_in))
		memcpy(&s->addr, cl->sa, sizeof(struct sockaddr_in));
	else if (cl->salen == sizeof(struct sockaddr_in6))
		memcpy(&s->addr, cl->sa, sizeof(struct sockaddr_in6));
	else if (cl->salen <= sizeof(s->addr))
		memcpy(&s->addr, cl->sa, cl->salen);
	else
		memcpy(&s->ss, cl->sa, cl->salen);
	s->salen = (uint8_t)cl->salen;
	s->lfd = cl->lfd;
	s->tc = cl->tc;
	s->has_dst = cl->dst != NULL;
	if (cl->dst != NULL)
		s->dst = *cl->dst;
	if (cl->tc != NULL)
		tclient_query_begin(cl->tc);
}

static void
slot_free(struct worker *w, struct qslot *s)
{
	struct cfg_hold *h;

	slot_unsend(w, s);
	if (s->race != NULL) {
		free(s->race->best);
		free(s->race);
		s->race = NULL;
	}
	if (s->len > sizeof(s->inl)) {
		free(s->big);
		s->big = NULL;
	}
	if (s->has_xpkt) {
		free(s->xpkt);
		s->xpkt = NULL;
		s->has_xpkt = 0;
	}
	if (s->tc != NULL)
		tclient_query_done(s->tc);
	s->tc = NULL;
	h = hold_of(w, s->cfg);
	h->inflight--;
	if (h->inflight == 0 && h != &w->holds[w->nholds - 1])
		query_release_holds(w);
	s->free_next = w->free;
	w->free = s;
	w->out_per_addr[s->cbucket]--;
	w->nout--;
}

static void
tlist_add(struct worker *w, struct qslot *s)
{
	s->tnext = NULL;
	s->tprev = w->ttail;
	if (w->ttail)
		w->ttail->tnext = s;
	else
		w->thead = s;
	w->ttail = s;
}

static void
tlist_del(struct worker *w, struct qslot *s)
{
	if (s->tprev)
		s->tprev->tnext = s->tnext;
	else if (w->thead == s)
		w->thead = s->tnext;
	if (s->tnext)
		s->tnext->tprev = s->tprev;
	else if (w->ttail == s)
		w->ttail = s->tprev;
	s->tnext = s->tprev = NULL;
}

/* Take the slot's try off its backend and the timeout FIFO.  Inline:
 * in slot_free, once a query, the call cost a third of it. */
static inline __attribute__((always_inline)) void
slot_unsend(struct worker *w, struct qslot *s)
{
	if (s->race != NULL) {
		race_unsend(w, s);
		return;
	}
	if (s->up.bc == NULL)
		return;
	up_unsend(w, &s->up);
	tlist_del(w, s);
}

void
query_free(struct worker *w)
{
	int i;

	for (i = 0; i < w->nchunks; i++)
		free(w->chunks[i]);
	free(w->chunks);
}

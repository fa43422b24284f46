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
 * One client address (IPv6: its /64) holds at most client_cap slots
 * (max-outstanding-per-client), counted in out_per_addr by client_bucket(),
 * so a burst from one address cannot take the slots everyone shares.
 *
 * Nothing here allocates per query once the slot pool has grown to the
 * peak load.
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "balance.h"
#include "client_tcp.h"
#include "config.h"
#include "dnsmsg.h"
#include "log.h"
#include "query.h"
#include "tring.h"
#include "update.h"
#include "upstream.h"
#include "util.h"
#include "wstate.h"

#define SLOT_CHUNK	1024
#define MAX_TRIES	4

/* One query in flight. */
struct qslot {
	struct qslot		*tnext, *tprev;	/* worker timeout FIFO */
	struct qslot		*free_next;
	struct up_ref		 up;		/* the try out now (upstream.c) */
	struct config		*cfg;		/* snapshot it was routed with */
	uint64_t		 start_us;
	uint64_t		 sent_us;
	uint64_t		 deadline_us;
	int			 route_idx;
	struct pool		*pool;
	struct backend		*tried[MAX_TRIES];
	int			 ntried;
	/* The client: cl points into the slot. */
	struct client		 cl;
	struct sockaddr_storage	 client;
	struct udp_dst		 dst;
	uint32_t		 cbucket;	/* its client_bucket() */
	/* The query, bytes as received. */
	struct dns_query	 q;
	uint16_t		 len;
	uint8_t			*pkt;
	uint8_t			 inl[512];
};

static int	 slot_forward(struct worker *, struct qslot *, uint64_t);
static void	 slot_relay(struct worker *, struct qslot *, const uint8_t *,
		    size_t, int, int, int, int, uint64_t);
static void	 answer_unmatched(struct worker *, struct qslot *,
		    const uint8_t *, size_t);
static void	 slot_retry(struct worker *, struct qslot *, uint64_t, int);
static void	 slot_fail(struct worker *, struct qslot *, int);
static int	 send_answer(struct worker *, const struct client *,
		    const uint8_t *, size_t, int);
static void	 answer_rcode(struct worker *, const uint8_t *, size_t,
		    const struct dns_query *, int, const struct client *);
static size_t	 slot_own_answer(struct qslot *, uint8_t *, size_t, int);
static void	 trace_early(struct worker *, const struct client *,
		    const struct dns_query *, int, int, int);
static void	 trace_slot(struct worker *, const struct qslot *, int, int,
		    int, uint64_t);
static struct qslot *slot_alloc(struct worker *, uint32_t);
static void	 slot_set_client(struct qslot *, const struct client *);
static void	 slot_free(struct worker *, struct qslot *);
static void	 slot_unsend(struct worker *, struct qslot *);
static void	 tlist_add(struct worker *, struct qslot *);

static inline struct qslot *
slot_of(struct up_ref *r)
{
	return (struct qslot *)(void *)((char *)r - offsetof(struct qslot, up));
}

/* ---- a query arrives ---- */

void
query_client(struct worker *w, const uint8_t *pkt, size_t len,
    const struct client *cl)
{
	struct tclient *tc = cl->tc;
	struct config *c = w->cfg;
	struct dns_query q;
	const struct croute *r = NULL;
	struct qslot *s;
	enum dns_err e;
	uint32_t bucket;
	int idx, limited, action, rcode;
	uint64_t now;

	q.question_end = 0;
	e = dns_parse_query_wire(pkt, len, &q);
	if (e != DNS_OK) {
		STAT_INC(&w->st, malformed);
		trace_early(w, cl, &q, TRACE_MALFORMED, e,
		    len >= DNS_HDR_LEN && e != DNS_E_QR ? DNS_RCODE_FORMERR : -1);
		/* Never answer what claims to be an answer: that is how
		 * two servers are made to ping-pong forever. */
		if (len >= DNS_HDR_LEN && e != DNS_E_QR)
			answer_rcode(w, pkt, len, &q, DNS_RCODE_FORMERR, cl);
		return;
	}
	if (DNS_OPCODE(q.flags) != DNS_OPCODE_QUERY) {
		if (DNS_OPCODE(q.flags) == DNS_OPCODE_UPDATE) {
			update_client(w, pkt, len, &q, cl);
			return;
		}
		STAT_INC(&w->st, notimp);
		trace_early(w, cl, &q, TRACE_NOTIMP, -1, DNS_RCODE_NOTIMP);
		answer_rcode(w, pkt, len, &q, DNS_RCODE_NOTIMP, cl);
		return;
	}
	if (q.qtype == DNS_TYPE_AXFR || q.qtype == DNS_TYPE_IXFR) {
		STAT_INC(&w->st, refused_xfr);
		trace_early(w, cl, &q, TRACE_XFR, -1, DNS_RCODE_REFUSED);
		answer_rcode(w, pkt, len, &q, DNS_RCODE_REFUSED, cl);
		return;
	}

	/* The route: its pool, or an answer of its own. */
	idx = route_match_wire(w->rm, c->rt, q.qname_wire, q.qname_wire_len,
	    q.qtype, &limited);
	if (limited)
		STAT_INC(&w->st, match_limit);
	if (idx < 0) {
		STAT_INC(&w->st, noroute);
		action = c->set.default_action;
	} else {
		r = &c->routes[idx];
		atomic_fetch_add_explicit(&r->hits->hits, 1, memory_order_relaxed);
		action = r->action;
	}
	switch (action) {
	case ACTION_POOL:
		break;
	case ACTION_DROP:
		STAT_INC(&w->st, dropped);
		trace_early(w, cl, &q,
		    idx < 0 ? TRACE_NOROUTE : TRACE_ROUTE_ANSWER,
		    idx < 0 ? -1 : (int)r->id, -1);
		return;
	default:
		STAT_INC(&w->st, action_answers);
		rcode = action == ACTION_REFUSE ? DNS_RCODE_REFUSED :
		    action == ACTION_NXDOMAIN ? DNS_RCODE_NXDOMAIN :
		    DNS_RCODE_SERVFAIL;
		trace_early(w, cl, &q,
		    idx < 0 ? TRACE_NOROUTE : TRACE_ROUTE_ANSWER,
		    idx < 0 ? -1 : (int)r->id, rcode);
		answer_rcode(w, pkt, len, &q, rcode, cl);
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
		trace_early(w, cl, &q, TRACE_CLIENT_LIMIT, (int)r->id, rcode);
		if (tc != NULL)
			answer_rcode(w, pkt, len, &q, rcode, cl);
		return;
	}
	if ((s = slot_alloc(w, bucket)) == NULL) {
		STAT_INC(&w->st, overload);
		trace_early(w, cl, &q, TRACE_OVERLOAD, (int)r->id,
		    DNS_RCODE_SERVFAIL);
		answer_rcode(w, pkt, len, &q, DNS_RCODE_SERVFAIL, cl);
		return;
	}
	now = now_us();
	s->start_us = now;
	s->route_idx = idx;
	s->pool = r->pool;
	s->ntried = 0;
	slot_set_client(s, cl);
	dns_query_copy(&s->q, &q);
	s->len = (uint16_t)len;
	s->pkt = len <= sizeof(s->inl) ? s->inl : xmalloc(len);
	memcpy(s->pkt, pkt, len);
	if (slot_forward(w, s, now) == -1) {
		STAT_INC(&w->st, all_down);
		slot_fail(w, s, TRACE_POOL_DOWN);
	}
}

/* ---- forwarding ---- */

/* Send to a member of the slot's pool not tried yet; -1 when none is left
 * or the retries are used up. */
static int
slot_forward(struct worker *w, struct qslot *s, uint64_t now)
{
	struct backend *b;
	int budget = s->cfg->set.retries + 1;

	while (s->ntried < budget && s->ntried < MAX_TRIES) {
		b = pool_pick(s->pool, s->tried, s->ntried,
		    s->cfg->set.all_down_try);
		if (b == NULL)
			return -1;
		if (s->ntried > 0)
			STAT_INC(&w->st, retries);
		s->tried[s->ntried++] = b;
		if (up_send(w, &s->up, b, s->cl.tc != NULL, s->pkt,
		    s->len) == 0) {
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

/* ---- the answer ---- */

void
query_answer(struct worker *w, struct up_ref *r, uint8_t *pkt, size_t len,
    int stable)
{
	uint8_t tc_answer[DNS_HDR_LEN + DNS_MAX_WIRE_NAME + 4];
	struct qslot *s = slot_of(r);
	int rcode, ancount;

	if (dns_answer_matches_sent(pkt, len, r->id, &s->q, s->pkt) != 0) {
		answer_unmatched(w, s, pkt, len);
		return;
	}
	rcode = DNS_RCODE(pkt[2] << 8 | pkt[3]);
	ancount = pkt[6] << 8 | pkt[7];
	/* Relay the backend's bytes with the client's ID. */
	dns_set_id(pkt, s->q.id);
	if (pkt[2] & 0x02)
		STAT_INC(&w->st, truncated);
	if (s->cl.tc == NULL && len > 512 &&
	    len > (size_t)(s->q.has_opt ? s->q.edns_udp_size : 512)) {
		/* Only a TCP backend can send this: too big for the client's
		 * UDP; tell it to come back over TCP. */
		len = slot_own_answer(s, tc_answer, sizeof(tc_answer), rcode);
		tc_answer[2] |= 0x02;
		pkt = tc_answer;
		stable = 0;
		STAT_INC(&w->st, truncated);
	}
	slot_relay(w, s, pkt, len, stable, rcode, ancount, TRACE_OK, now_us());
}

/* The backend answered s: count it, send the client pkt (with the
 * client's ID), record and free the slot. */
static inline void
slot_relay(struct worker *w, struct qslot *s, const uint8_t *pkt, size_t len,
    int stable, int rcode, int ancount, int outcome, uint64_t now)
{
	struct backend *b = s->up.b;

	backend_record_rtt(b, (unsigned)(now - s->sent_us));
	atomic_fetch_add_explicit(&b->answers, 1, memory_order_relaxed);
	stats_count_rcode(&w->st, rcode);
	if (send_answer(w, &s->cl, pkt, len, stable) == 0)
		STAT_INC(&w->st, answers);
	trace_slot(w, s, outcome, rcode, ancount, now);
	slot_free(w, s);
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
	uint64_t now = now_us();
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
	slot_retry(w, slot_of(r), now_us(), TRACE_REFUSED);
}

/* The try out now failed (timeout, refused, closed): next member or fail. */
static void
slot_retry(struct worker *w, struct qslot *s, uint64_t now, int outcome)
{
	if (s->up.bc != NULL)
		atomic_fetch_add_explicit(&s->up.b->failures, 1,
		    memory_order_relaxed);
	slot_unsend(w, s);
	if (slot_forward(w, s, now) == -1)
		slot_fail(w, s, outcome);
}

static void
slot_fail(struct worker *w, struct qslot *s, int outcome)
{
	/* The stored bytes carry the last upstream ID; answer with the
	 * client's. */
	dns_set_id(s->pkt, s->q.id);
	answer_rcode(w, s->pkt, s->len, &s->q, DNS_RCODE_SERVFAIL, &s->cl);
	trace_slot(w, s, outcome, DNS_RCODE_SERVFAIL, 0, now_us());
	slot_free(w, s);
}

/* ---- answers ---- */

/* Send an answer to cl; 0 or -1.  stable: pkt stays valid until the next
 * txq_flush(), so a UDP answer can wait in the send queue. */
static int
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
	dns_set_id(s->pkt, s->q.id);
	return dns_make_answer(out, outlen, s->pkt, s->len, &s->q, rcode);
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

	t.mono_us = now_us();
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

/* A query that had a slot: its route, last backend, tries, latency. */
static void
trace_slot(struct worker *w, const struct qslot *s, int outcome, int rcode,
    int ancount, uint64_t now)
{
	const struct backend *b = s->ntried > 0 ? s->tried[s->ntried - 1] :
	    NULL;
	uint64_t lat = now > s->start_us ? now - s->start_us : 0;
	struct trec t;

	t.mono_us = now;
	t.route_id = s->route_idx >= 0 ? s->cfg->routes[s->route_idx].id : -1;
	t.backend_id = b != NULL ? b->id : 0;
	t.latency_us = lat > UINT32_MAX ? UINT32_MAX : (uint32_t)lat;
	t.ancount = (uint16_t)ancount;
	t.tcp = s->cl.tc != NULL;
	t.outcome = (uint8_t)outcome;
	t.rcode = (int8_t)rcode;
	t.tries = (uint8_t)s->ntried;
	t.detail = 0;
	tring_put(w->ring, &t, s->cl.sa, &s->q);
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
		s = xcalloc(SLOT_CHUNK, sizeof(*s));
		w->chunks[w->nchunks] = s;
		for (i = SLOT_CHUNK - 1; i >= 0; i--) {
			s[i].free_next = w->free;
			w->free = &s[i];
		}
		w->nchunks++;
	}
	s = w->free;
	w->free = s->free_next;
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
	memcpy(&s->client, cl->sa, cl->salen);
	s->cl.sa = (const struct sockaddr *)&s->client;
	s->cl.salen = cl->salen;
	s->cl.lfd = cl->lfd;
	s->cl.tc = cl->tc;
	if (cl->dst != NULL) {
		s->dst = *cl->dst;
		s->cl.dst = &s->dst;
	} else
		s->cl.dst = NULL;
	if (cl->tc != NULL)
		tclient_query_begin(cl->tc);
}

static void
slot_free(struct worker *w, struct qslot *s)
{
	struct cfg_hold *h;

	slot_unsend(w, s);
	if (s->pkt != s->inl)
		free(s->pkt);
	s->pkt = NULL;
	if (s->cl.tc != NULL)
		tclient_query_done(s->cl.tc);
	s->cl.tc = NULL;
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

/* Take the slot's try off its backend and the timeout FIFO. */
static void
slot_unsend(struct worker *w, struct qslot *s)
{
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

/*
 * query: one query's life on a worker (see query.h).
 *
 * A query that needs a backend takes a slot: the client's bytes, who to
 * answer, which snapshot routed it, which backends were tried.  It is sent
 * with a fresh random ID; the (socket, ID) pair maps back to the slot.  An
 * answer is accepted only on the socket the query went out on (connected:
 * the kernel already checked address and port), with that ID, QR set and
 * the same question; anything else is counted and dropped, and the query
 * keeps waiting.  The one exception is a bare header with an error rcode
 * (answer_unmatched says why).  On timeout or a refused connection it is
 * tried once more on another member (setting retries), then answered
 * SERVFAIL.
 *
 * One client address (IPv6: its /64) holds at most client_cap slots
 * (max-outstanding-per-client), counted in out_per_addr by client_bucket(),
 * so a burst from one address cannot take the slots everyone shares.
 *
 * Nothing here allocates per query once the slot pool has grown to the
 * peak load.
 */
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "query.h"
#include "trace.h"
#include "util.h"

#define SLOT_CHUNK	1024

/* ---- (serial, ID) map: linear probing, backward-shift deletion ---- */

static inline uint64_t
idkey(uint32_t serial, uint16_t id)
{
	/* 0 marks an empty cell; serials start at 1. */
	return (uint64_t)serial << 16 | id;
}

static inline uint32_t
idhash(struct worker *w, uint64_t k)
{
	k *= 0x9e3779b97f4a7c15ULL;
	return (uint32_t)(k >> 40) & w->idmask;
}

static int
idmap_find(struct worker *w, uint64_t k, uint32_t *pos)
{
	uint32_t i = idhash(w, k);

	while (w->idmap[i].key != 0) {
		if (w->idmap[i].key == k) {
			*pos = i;
			return 1;
		}
		i = (i + 1) & w->idmask;
	}
	*pos = i;
	return 0;
}

static void
idmap_del(struct worker *w, uint32_t i)
{
	uint32_t j = i, h;

	w->idmap[i].key = 0;
	w->idcount--;
	for (;;) {
		j = (j + 1) & w->idmask;
		if (w->idmap[j].key == 0)
			return;
		h = idhash(w, w->idmap[j].key);
		/* Move j back to i unless its home lies cyclically in (i, j]. */
		if ((j > i && (h <= i || h > j)) || (j < i && h <= i && h > j)) {
			w->idmap[i] = w->idmap[j];
			w->idmap[j].key = 0;
			i = j;
		}
	}
}

/* Make room for one more entry: double the table past 25% load.  Returns
 * -1 when it is at its largest and full to that load. */
static int
idmap_reserve(struct worker *w)
{
	struct idcell *old = w->idmap;
	uint32_t i, pos, n = w->idmask + 1;

	if (w->idcount + 1 <= n / 4)
		return 0;
	if (n >= (1u << IDMAP_MAX_BITS))
		return -1;
	w->idmap = xcalloc((size_t)n * 2, sizeof(*w->idmap));
	w->idmask = n * 2 - 1;
	for (i = 0; i < n; i++) {
		if (old[i].key == 0)
			continue;
		(void)idmap_find(w, old[i].key, &pos);
		w->idmap[pos] = old[i];
	}
	free(old);
	return 0;
}

static void
idmap_put(struct worker *w, uint32_t pos, uint64_t k, uint32_t val)
{
	w->idmap[pos].key = k;
	w->idmap[pos].val = val;
	w->idcount++;
}

/* ---- slots ---- */

static struct qslot *
slot_by_idx(struct worker *w, uint32_t idx)
{
	return &w->chunks[idx / SLOT_CHUNK][idx % SLOT_CHUNK];
}

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
		/* The idmap holds 2^16 per worker at 25% load at most. */
		if ((long)w->nchunks * SLOT_CHUNK >= (1L << IDMAP_MAX_BITS) / 4)
			return NULL;
		w->chunks = xrealloc(w->chunks, (w->nchunks + 1) * sizeof(*w->chunks));
		s = xcalloc(SLOT_CHUNK, sizeof(*s));
		w->chunks[w->nchunks] = s;
		for (i = SLOT_CHUNK - 1; i >= 0; i--) {
			s[i].idx = (uint32_t)(w->nchunks * SLOT_CHUNK + i);
			s[i].free_next = w->free;
			w->free = &s[i];
		}
		w->nchunks++;
	}
	s = w->free;
	w->free = s->free_next;
	s->used = 1;
	s->cfg = w->cfg;
	s->cbucket = bucket;
	w->out_per_addr[bucket]++;
	w->holds[w->nholds - 1].inflight++;
	w->nout++;
	return s;
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

/* Take the slot off its backend: ID map, bconn list, counters. */
static void
slot_unsend(struct worker *w, struct qslot *s)
{
	struct bconn *bc = s->bc;
	struct utcp *ut;
	uint32_t pos;

	if (bc == NULL)
		return;
	if (idmap_find(w, idkey(s->serial, s->up_id), &pos))
		idmap_del(w, pos);
	/* Not found when its connection has been closed since. */
	if (s->via_tcp && (ut = bconn_tcp_by_serial(bc, s->serial)) != NULL)
		ut->nout--;
	if (s->bprev)
		s->bprev->bnext = s->bnext;
	else
		bc->out = s->bnext;
	if (s->bnext)
		s->bnext->bprev = s->bprev;
	s->bnext = s->bprev = NULL;
	bc->nout--;
	atomic_fetch_sub_explicit(&bc->b->outstanding, 1, memory_order_relaxed);
	tlist_del(w, s);
	s->bc = NULL;
}

static void
slot_free(struct worker *w, struct qslot *s)
{
	struct cfg_hold *h;

	slot_unsend(w, s);
	if (s->pkt != s->inl)
		free(s->pkt);
	s->pkt = NULL;
	if (s->tc != NULL)
		tclient_query_done(s->tc);
	s->tc = NULL;
	h = hold_of(w, s->cfg);
	h->inflight--;
	if (h->inflight == 0 && h != &w->holds[w->nholds - 1])
		query_release_holds(w);
	s->used = 0;
	s->free_next = w->free;
	w->free = s;
	w->out_per_addr[s->cbucket]--;
	w->nout--;
}

/* ---- answering the client ---- */

void
slot_client(const struct qslot *s, struct client *cl)
{
	cl->sa = (const struct sockaddr *)&s->client;
	cl->salen = s->clientlen;
	cl->lfd = s->lfd;
	cl->tc = s->tc;
	cl->dst = s->dst.family != 0 ? &s->dst : NULL;
}

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
	if (client_send_direct(w, cl, out, n) == 0)
		STAT_INC(&w->st, answers);
}

static void
slot_answer_rcode(struct worker *w, struct qslot *s, int rcode)
{
	/* The stored bytes carry the last upstream ID; answer with the
	 * client's. */
	struct client cl;

	dns_set_id(s->pkt, s->q.id);
	slot_client(s, &cl);
	answer_rcode(w, s->pkt, s->len, &s->q, rcode, &cl);
}

/* ---- forwarding ---- */

static int
slot_send(struct worker *w, struct qslot *s, struct backend *b, uint64_t now)
{
	struct bconn *bc;
	struct usock *us = NULL;
	struct utcp *ut = NULL;
	uint32_t pos, serial;
	uint16_t id;
	int tcp, tries;

	if ((bc = bconn_get(w, b)) == NULL)
		return -1;
	if (bc->nout >= w->cfg->set.max_outstanding_backend) {
		STAT_INC(&w->st, overload);
		return -1;
	}
	tcp = s->client_tcp || b->transport == TRANSPORT_TCP;
	if (tcp)
		serial = (ut = bconn_tcp(bc)) != NULL ? ut->serial : 0;
	else if ((us = bconn_udp(bc)) != NULL)
		serial = us->serial;
	else
		serial = 0;
	if (serial == 0) {
		STAT_INC(&w->st, send_errors);
		return -1;
	}
	if (idmap_reserve(w) == -1) {
		STAT_INC(&w->st, overload);
		return -1;
	}
	/* A fresh random ID, unique on the socket it goes out on. */
	for (tries = 0; tries < 16; tries++) {
		id = worker_random16(w);
		if (!idmap_find(w, idkey(serial, id), &pos))
			break;
	}
	if (tries == 16)
		return -1;
	dns_set_id(s->pkt, id);
	if (tcp) {
		if (bconn_send_tcp(ut, s->pkt, s->len) == -1) {
			STAT_INC(&w->st, send_errors);
			return -1;
		}
		ut->nout++;
	} else
		txq_add(w, us->fd, s->pkt, s->len, NULL, 0, NULL);
	idmap_put(w, pos, idkey(serial, id), s->idx);
	s->serial = serial;
	s->up_id = id;
	s->via_tcp = tcp;
	s->bc = bc;
	s->bprev = NULL;
	s->bnext = bc->out;
	if (bc->out)
		bc->out->bprev = s;
	bc->out = s;
	bc->nout++;
	s->sent_us = now;
	s->deadline_us = now + (uint64_t)s->cfg->set.query_timeout_ms * 1000;
	tlist_add(w, s);
	if (s->ntried < MAX_TRIES)
		s->tried[s->ntried++] = b;
	atomic_fetch_add_explicit(&b->outstanding, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&b->queries, 1, memory_order_relaxed);
	STAT_INC(&w->st, forwarded);
	return 0;
}

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
		if (slot_send(w, s, b, now) == 0)
			return 0;
		/* Could not send at all: count it as tried and go on. */
		atomic_fetch_add_explicit(&b->failures, 1, memory_order_relaxed);
		if (s->ntried < MAX_TRIES)
			s->tried[s->ntried++] = b;
	}
	return -1;
}

static void
slot_fail(struct worker *w, struct qslot *s, int outcome)
{
	slot_answer_rcode(w, s, DNS_RCODE_SERVFAIL);
	trace_query_done(w, s, outcome, DNS_RCODE_SERVFAIL, 0, now_us());
	slot_free(w, s);
}

/* The try on s->bc failed (timeout, refused, closed): next member or fail. */
static void
slot_retry(struct worker *w, struct qslot *s, uint64_t now, int outcome)
{
	struct backend *b = s->bc != NULL ? s->bc->b : NULL;

	if (b != NULL)
		atomic_fetch_add_explicit(&b->failures, 1, memory_order_relaxed);
	slot_unsend(w, s);
	if (slot_forward(w, s, now) == -1)
		slot_fail(w, s, outcome);
}

void
query_client(struct worker *w, const uint8_t *pkt, size_t len,
    const struct client *cl)
{
	const struct sockaddr *sa = cl->sa;
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
		trace_early(w, sa, tc != NULL, &q, TRACE_MALFORMED, e,
		    len >= DNS_HDR_LEN && e != DNS_E_QR ? DNS_RCODE_FORMERR : -1);
		/* Never answer what claims to be an answer: that is how
		 * two servers are made to ping-pong forever. */
		if (len >= DNS_HDR_LEN && e != DNS_E_QR)
			answer_rcode(w, pkt, len, &q, DNS_RCODE_FORMERR, cl);
		return;
	}
	if (DNS_OPCODE(q.flags) != DNS_OPCODE_QUERY) {
		STAT_INC(&w->st, notimp);
		trace_early(w, sa, tc != NULL, &q, TRACE_NOTIMP, -1,
		    DNS_RCODE_NOTIMP);
		answer_rcode(w, pkt, len, &q, DNS_RCODE_NOTIMP, cl);
		return;
	}
	if (q.qtype == DNS_TYPE_AXFR || q.qtype == DNS_TYPE_IXFR) {
		STAT_INC(&w->st, refused_xfr);
		trace_early(w, sa, tc != NULL, &q, TRACE_XFR, -1,
		    DNS_RCODE_REFUSED);
		answer_rcode(w, pkt, len, &q, DNS_RCODE_REFUSED, cl);
		return;
	}
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
		trace_early(w, sa, tc != NULL, &q,
		    idx < 0 ? TRACE_NOROUTE : TRACE_ROUTE_ANSWER,
		    idx < 0 ? -1 : (int)r->id, -1);
		return;
	default:
		STAT_INC(&w->st, action_answers);
		rcode = action == ACTION_REFUSE ? DNS_RCODE_REFUSED :
		    action == ACTION_NXDOMAIN ? DNS_RCODE_NXDOMAIN :
		    DNS_RCODE_SERVFAIL;
		trace_early(w, sa, tc != NULL, &q,
		    idx < 0 ? TRACE_NOROUTE : TRACE_ROUTE_ANSWER,
		    idx < 0 ? -1 : (int)r->id, rcode);
		answer_rcode(w, pkt, len, &q, rcode, cl);
		return;
	}
	bucket = tc != NULL ? tc->bucket : client_bucket(w, sa);
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
		trace_early(w, sa, tc != NULL, &q, TRACE_CLIENT_LIMIT,
		    (int)r->id, rcode);
		if (tc != NULL)
			answer_rcode(w, pkt, len, &q, rcode, cl);
		return;
	}
	if ((s = slot_alloc(w, bucket)) == NULL) {
		STAT_INC(&w->st, overload);
		trace_early(w, sa, tc != NULL, &q, TRACE_OVERLOAD, (int)r->id,
		    DNS_RCODE_SERVFAIL);
		answer_rcode(w, pkt, len, &q, DNS_RCODE_SERVFAIL, cl);
		return;
	}
	now = now_us();
	s->start_us = now;
	s->route_idx = idx;
	s->pool = r->pool;
	s->ntried = 0;
	s->bc = NULL;
	s->client_tcp = tc != NULL;
	s->lfd = cl->lfd;
	if (cl->dst != NULL)
		s->dst = *cl->dst;
	else
		s->dst.family = 0;
	s->tc = tc;
	if (tc != NULL)
		tc->inflight++;
	memcpy(&s->client, sa, cl->salen);
	s->clientlen = cl->salen;
	dns_query_copy(&s->q, &q);
	s->len = (uint16_t)len;
	s->pkt = len <= sizeof(s->inl) ? s->inl : xmalloc(len);
	memcpy(s->pkt, pkt, len);
	if (slot_forward(w, s, now) == -1) {
		STAT_INC(&w->st, all_down);
		slot_fail(w, s, TRACE_POOL_DOWN);
	}
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

/* The backend of bc answered s: count it, send the client pkt (with the
 * client's ID), record and free the slot. */
static inline void
slot_relay(struct worker *w, struct qslot *s, struct bconn *bc,
    const uint8_t *pkt, size_t len, int stable, int rcode, int ancount,
    int outcome, uint64_t now)
{
	backend_record_rtt(bc->b, (unsigned)(now - s->sent_us));
	atomic_fetch_add_explicit(&bc->b->answers, 1, memory_order_relaxed);
	stats_count_rcode(&w->st, rcode);
	if (client_send(w, s, pkt, len, stable) == 0)
		STAT_INC(&w->st, answers);
	trace_query_done(w, s, outcome, rcode, ancount, now);
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
answer_unmatched(struct worker *w, struct bconn *bc, struct qslot *s,
    const uint8_t *pkt, size_t len)
{
	uint8_t own[DNS_HDR_LEN + DNS_MAX_WIRE_NAME + 4];
	uint64_t now = now_us();
	int rcode;

	if (s->bc != bc ||
	    (rcode = dns_answer_headerless(pkt, len, s->up_id, &s->q)) == -1) {
		STAT_INC(&w->st, spoofed);
		trace_query_done(w, s, TRACE_SPOOFED, DNS_RCODE(pkt[3]), 0,
		    now);
		return;
	}
	STAT_INC(&w->st, headerless);
	len = slot_own_answer(s, own, sizeof(own), rcode);
	slot_relay(w, s, bc, own, len, 0, rcode, 0, TRACE_HEADERLESS, now);
}

void
query_backend_msg(struct worker *w, struct bconn *bc, uint32_t serial,
    uint8_t *pkt, size_t len, int stable)
{
	uint8_t tc_answer[DNS_HDR_LEN + DNS_MAX_WIRE_NAME + 4];
	struct qslot *s;
	uint32_t pos;
	int rcode, ancount;

	if (len < DNS_HDR_LEN ||
	    !idmap_find(w, idkey(serial, dns_get_id(pkt)), &pos)) {
		STAT_INC(&w->st, unexpected);
		return;
	}
	s = slot_by_idx(w, w->idmap[pos].val);
	if (s->bc != bc || dns_answer_matches_sent(pkt, len, s->up_id, &s->q,
	    s->pkt) != 0) {
		answer_unmatched(w, bc, s, pkt, len);
		return;
	}
	rcode = DNS_RCODE(pkt[2] << 8 | pkt[3]);
	ancount = pkt[6] << 8 | pkt[7];
	/* Relay the backend's bytes with the client's ID. */
	dns_set_id(pkt, s->q.id);
	if (pkt[2] & 0x02)
		STAT_INC(&w->st, truncated);
	if (!s->client_tcp && len > 512 &&
	    len > (size_t)(s->q.has_opt ? s->q.edns_udp_size : 512)) {
		/* Only a TCP backend can send this: too big for the client's
		 * UDP; tell it to come back over TCP. */
		len = slot_own_answer(s, tc_answer, sizeof(tc_answer), rcode);
		tc_answer[2] |= 0x02;
		pkt = tc_answer;
		stable = 0;
		STAT_INC(&w->st, truncated);
	}
	slot_relay(w, s, bc, pkt, len, stable, rcode, ancount, TRACE_OK,
	    now_us());
}

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
query_bconn_failed(struct worker *w, struct bconn *bc, uint32_t tcp_serial)
{
	struct qslot *s, *next, *failed = NULL;
	uint64_t now = now_us();

	/* Collect first: retrying may add slots to this very list. */
	for (s = bc->out; s != NULL; s = next) {
		next = s->bnext;
		/* A TCP connection's queries, or (0) the UDP ones. */
		if (tcp_serial != 0 ?
		    !s->via_tcp || s->serial != tcp_serial : s->via_tcp)
			continue;
		s->free_next = failed;
		failed = s;
	}
	while ((s = failed) != NULL) {
		failed = s->free_next;
		s->free_next = NULL;
		slot_retry(w, s, now, TRACE_REFUSED);
	}
}

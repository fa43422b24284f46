/*
 * update: one DNS UPDATE's life on a worker (see update.h).
 *
 *   no UPDATE route at all          NOTIMP, as a server without UPDATE
 *   a TSIG that fails (RFC 8945)    NOTAUTH + BADKEY/BADSIG (unsigned),
 *                                   BADTIME/BADTRUNC (signed); FORMERR
 *                                   for a misplaced or malformed one
 *   the zone matches no route       REFUSED (signed when the TSIG was good)
 *   unsigned, route not optional    REFUSED
 *   no enabled member               SERVFAIL
 *   else: the fan-out (fanout.c), and the client's answer signed with its
 *   key, the request's MAC chained, as soon as the confirmation rule
 *   decides it; then one trace record per target and one for the client,
 *   and a log line naming the targets that failed.
 *
 * The zone is matched against the UPDATE routes only, as text without the
 * query path's decision cache, so UPDATEs never touch what queries use.
 * An UPDATE in flight holds its snapshot (keys, pool, backends), its TCP
 * client, and a copy of the client's message; a client's retransmission
 * of one still in flight (same address, port and bytes) is dropped, so a
 * slow server does not get the same UPDATE twice.
 */
#include <sys/socket.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "backend.h"
#include "client_tcp.h"
#include "config.h"
#include "dnsnames.h"
#include "fanout.h"
#include "log.h"
#include "proxyhdr.h"
#include "tring.h"
#include "tsig.h"
#include "txq.h"
#include "update.h"
#include "util.h"
#include "wstate.h"

/* The answer: a header, the zone, a TSIG RR. */
#define ANSWER_MAX	(DNS_HDR_LEN + DNS_MAX_WIRE_NAME + 4 + TSIG_RR_MAX)

struct upd {
	struct worker		*w;
	struct upd		*next, *prev;	/* the worker's */
	struct config		*cfg;		/* held */
	const struct croute	*route;
	struct fanout		*fo;
	struct fanout_target	*t;
	struct backend		**b;
	int			 n;
	int			 answered;
	uint64_t		 start_us;
	/* The client and its message. */
	struct sockaddr_storage	 client;
	socklen_t		 clientlen;
	int			 lfd;
	struct udp_dst		 dst;
	struct tclient		*tc;		/* held (inflight) until answered */
	int			 tcp;
	struct dns_query	 q;
	uint8_t			*req;
	size_t			 reqlen;
	int			 signed_req;
	struct tsig_req		 tr;
};

static struct log_limit ll_update;

/* A record in the worker's trace ring: the client's (b NULL) or one
 * target's (b). */
static void
trace_rec(struct worker *w, const struct sockaddr *sa, int tcp,
    const struct dns_query *q, int outcome, int64_t route_id,
    const struct backend *b, int rcode, int tries, int detail,
    uint64_t latency_us)
{
	struct trec t;

	t.mono_us = now_us();
	t.route_id = route_id;
	t.backend_id = b != NULL ? b->id : 0;
	t.latency_us = latency_us > UINT32_MAX ? UINT32_MAX :
	    (uint32_t)latency_us;
	t.ancount = 0;
	t.tcp = (uint8_t)tcp;
	t.outcome = (uint8_t)outcome;
	t.rcode = (int8_t)rcode;
	t.tries = (uint8_t)tries;
	t.detail = (uint8_t)detail;
	tring_put(w->ring, &t, sa, q);
}

/* An UPDATE answered at once, with no fan-out: route_id -1 for none;
 * detail as enum trace_outcome says (the TSIG error for TRACE_TSIG). */
static void
trace_now(struct worker *w, const struct client *cl,
    const struct dns_query *q, int outcome, int64_t route_id, int detail,
    int rcode)
{
	trace_rec(w, cl->sa, cl->tc != NULL, q, outcome, route_id, NULL,
	    rcode, 0, detail, 0);
}

/* Send an answer to cl now; 0 or -1. */
static int
send_now(struct worker *w, const struct client *cl, const uint8_t *pkt,
    size_t len)
{
	if (cl->tc != NULL)
		return tclient_send(cl->tc, pkt, len);
	return txq_send_now(&w->txq, cl->lfd, pkt, len, cl->sa, cl->salen,
	    cl->dst);
}

/* Send the client an answer with rcode: signed when its request was
 * (tr verified or failed), else plain. */
static void
answer(struct worker *w, const uint8_t *pkt, size_t len,
    const struct dns_query *q, const struct tsig_req *tr, int rcode,
    const struct client *cl)
{
	uint8_t out[ANSWER_MAX];
	size_t n;

	if (tr != NULL)
		n = tsig_answer(out, sizeof(out), pkt, len, q, tr, rcode,
		    (uint64_t)time(NULL));
	else
		n = dns_make_answer(out, sizeof(out), pkt, len, q, rcode);
	if (n == 0)
		return;
	if (DNS_RCODE(out[3]) == DNS_RCODE_SERVFAIL)
		STAT_INC(&w->st, servfail);
	else if (DNS_RCODE(out[3]) == DNS_RCODE_FORMERR)
		STAT_INC(&w->st, formerr);
	stats_count_rcode(&w->st, DNS_RCODE(out[3]));
	if (send_now(w, cl, out, n) == 0)
		STAT_INC(&w->st, answers);
}

/* SERVFAIL from the router itself, traced with outcome. */
static void
servfail(struct worker *w, const uint8_t *pkt, size_t len,
    const struct dns_query *q, const struct tsig_req *tr,
    const struct client *cl, int outcome, const struct croute *r)
{
	trace_now(w, cl, q, outcome, r->id, 0, DNS_RCODE_SERVFAIL);
	answer(w, pkt, len, q, tr, DNS_RCODE_SERVFAIL, cl);
}

static void
upd_client(const struct upd *u, struct client *cl)
{
	cl->sa = (const struct sockaddr *)&u->client;
	cl->salen = u->clientlen;
	cl->lfd = u->lfd;
	cl->tc = u->tc;
	cl->dst = u->dst.family != 0 ? &u->dst : NULL;
}

static void
upd_free(struct upd *u)
{
	struct worker *w = u->w;

	fanout_free(u->fo);
	if (u->tc != NULL)
		tclient_query_done(u->tc);
	if (u->prev != NULL)
		u->prev->next = u->next;
	else
		w->updates = u->next;
	if (u->next != NULL)
		u->next->prev = u->prev;
	w->nupdates--;
	config_unref(u->cfg);
	explicit_bzero(&u->tr, sizeof(u->tr));
	free(u->req);
	free(u->t);
	free(u->b);
	free(u);
}

/* The targets that failed, for the log: "ns2 timeout, ns3 REFUSED". */
static void
failed_list(const struct upd *u, char *buf, size_t len)
{
	char rc[24];
	size_t o = 0;
	int i;

	buf[0] = '\0';
	for (i = 0; i < u->n && o < len; i++) {
		const struct fanout_target *t = &u->t[i];

		if (t->state != FANOUT_FAILED)
			continue;
		o += (size_t)snprintf(buf + o, len - o, "%s%s %s",
		    o > 0 ? ", " : "", t->name, t->why == TRACE_WHY_RCODE ?
		    dnsname_rcode_str(t->rcode, rc, sizeof(rc)) :
		    trace_why_str(t->why));
	}
}

/* Every target is done: counters, trace, log. */
static void
upd_record(struct upd *u)
{
	struct worker *w = u->w;
	const struct sockaddr *sa = (const struct sockaddr *)&u->client;
	char failed[512], addr[64], zone[DNS_MAX_TEXT_NAME], rc[24];
	int i, confirmed = 0, rcode = fanout_rcode(u->fo);

	for (i = 0; i < u->n; i++) {
		const struct fanout_target *t = &u->t[i];

		backend_wadd(&u->b[i]->wc[w->idx].queries, 1);
		if (t->state == FANOUT_CONFIRMED) {
			confirmed++;
			backend_record_answer(u->b[i], w->idx,
			    (unsigned)t->rtt_us);
		} else
			atomic_fetch_add_explicit(&u->b[i]->failures, 1,
			    memory_order_relaxed);
		trace_rec(w, sa, u->tcp, &u->q, TRACE_UPDATE_TARGET,
		    u->route->id, u->b[i], t->rcode, t->tcp ? 2 : 1, t->why,
		    t->rtt_us);
	}
	trace_rec(w, sa, u->tcp, &u->q, TRACE_UPDATE, u->route->id, NULL,
	    rcode, u->n, confirmed, now_us() - u->start_us);
	if (confirmed == u->n && log_level() < LOG_LVL_INFO)
		return;
	failed_list(u, failed, sizeof(failed));
	(void)dns_wire_to_text(u->q.qname_wire, zone, sizeof(zone));
	addr_fmt(sa, addr, sizeof(addr));
	if (confirmed == u->n)
		log_info("update %s from %s: NOERROR, %d of %d confirmed",
		    zone, addr, confirmed, u->n);
	else if (log_allow(&ll_update))
		log_warnx("update %s from %s: %s, %d of %d confirmed "
		    "(confirm %s); failed: %s", zone, addr,
		    dnsname_rcode_str(rcode, rc, sizeof(rc)), confirmed, u->n,
		    config_route_pool(u->cfg, u->route)->confirm_all ? "all" :
		    "any", failed);
}

static void
upd_cb(struct fanout *fo, void *arg)
{
	struct upd *u = arg;
	struct client cl;
	int rcode = fanout_rcode(fo);

	if (!u->answered && rcode != -1) {
		u->answered = 1;
		if (rcode != DNS_RCODE_NOERROR)
			STAT_INC(&u->w->st, update_failed);
		upd_client(u, &cl);
		answer(u->w, u->req, u->reqlen, &u->q,
		    u->signed_req ? &u->tr : NULL, rcode, &cl);
		if (u->tc != NULL) {
			tclient_query_done(u->tc);
			u->tc = NULL;
		}
	}
	if (fanout_done(fo)) {
		upd_record(u);
		upd_free(u);
	}
}

/* A TSIG that failed, for the operator (RFC 8945 5.2 asks for it), at
 * most a line a second: anyone can send one. */
static void
log_tsig(const struct sockaddr *sa, const struct dns_query *q,
    enum tsig_verdict v, const struct tsig_req *tr)
{
	static struct log_limit ll;
	char addr[64], zone[DNS_MAX_TEXT_NAME], key[DNS_MAX_TEXT_NAME];
	char e[24];

	if (!log_allow(&ll))
		return;
	addr_fmt(sa, addr, sizeof(addr));
	(void)dns_wire_to_text(q->qname_wire, zone, sizeof(zone));
	if (v == TSIG_FORMERR) {
		log_warnx("update %s from %s: FORMERR (a misplaced or "
		    "malformed TSIG)", zone, addr);
		return;
	}
	if (dns_wire_to_text(tr->name, key, sizeof(key)) < 0)
		snprintf(key, sizeof(key), "?");
	log_warnx("update %s from %s: NOTAUTH, %s (key %s)", zone, addr,
	    tsig_error_str(tr->error, e, sizeof(e)), key);
}

/* Is this the retransmission of an UPDATE still in flight and not yet
 * answered?  (Once answered, one that comes again is a client that lost
 * the answer: it is done again, as a server would.) */
static int
upd_in_flight(struct worker *w, const uint8_t *pkt, size_t len,
    const struct client *cl)
{
	struct upd *u;

	for (u = w->updates; u != NULL; u = u->next)
		if (!u->answered && u->reqlen == len &&
		    u->tcp == (cl->tc != NULL) &&
		    addr_equal((const struct sockaddr *)&u->client, cl->sa) &&
		    memcmp(u->req, pkt, len) == 0)
			return 1;
	return 0;
}

/* Start the fan-out of a verified (or unsigned and allowed) UPDATE to
 * the usable members of r's pool. */
static void
upd_start(struct worker *w, const uint8_t *pkt, size_t len,
    const struct dns_query *q, const struct tsig_req *tr, int signed_req,
    const struct croute *r, const struct client *cl)
{
	struct pool *p = config_route_pool(w->cfg, r);
	struct upd *u;
	uint8_t *msg;
	size_t mlen;
	int i, n;

	if (upd_in_flight(w, pkt, len, cl)) {
		STAT_INC(&w->st, update_retransmitted);
		return;
	}
	if (w->nupdates >= UPDATE_MAX_INFLIGHT) {
		STAT_INC(&w->st, overload);
		servfail(w, pkt, len, q, signed_req ? tr : NULL, cl,
		    TRACE_OVERLOAD, r);
		return;
	}
	u = xcalloc(1, sizeof(*u));
	u->t = xcalloc((size_t)(p->n > 0 ? p->n : 1), sizeof(*u->t));
	u->b = xcalloc((size_t)(p->n > 0 ? p->n : 1), sizeof(*u->b));
	/* Every enabled member, up or down: a member the checks call down
	 * still gets its copy (they may lag; an UPDATE is worth a timeout),
	 * and under confirm all it must confirm like the others.  Drained
	 * and disabled members are left out, as the operator said. */
	for (i = n = 0; i < p->n; i++) {
		if (atomic_load_explicit(&p->members[i]->admin,
		    memory_order_relaxed) != ADMIN_ENABLED)
			continue;
		u->b[n] = p->members[i];
		u->t[n].name = p->members[i]->name;
		u->t[n].addr = p->members[i]->addr;
		u->t[n].addrlen = p->members[i]->addrlen;
		u->t[n].key = p->mkeys != NULL ? p->mkeys[i] : NULL;
		/* The header is outside what TSIG signs: re-signing the
		 * message does not touch it. */
		if (atomic_load_explicit(&p->members[i]->client_addr,
		    memory_order_relaxed) == CLIENT_ADDR_PROXY)
			u->t[n].proxylen = proxyhdr_client(cl,
			    u->t[n].proxy);
		n++;
	}
	if (n == 0) {
		free(u->t);
		free(u->b);
		free(u);
		STAT_INC(&w->st, all_down);
		servfail(w, pkt, len, q, signed_req ? tr : NULL, cl,
		    TRACE_POOL_DOWN, r);
		return;
	}
	u->w = w;
	u->n = n;
	u->route = r;
	u->cfg = w->cfg;
	config_ref(u->cfg);
	u->start_us = now_us();
	memcpy(&u->client, cl->sa, cl->salen);
	u->clientlen = cl->salen;
	u->lfd = cl->lfd;
	if (cl->dst != NULL)
		u->dst = *cl->dst;
	u->tc = cl->tc;
	u->tcp = u->tc != NULL;
	if (u->tc != NULL)
		tclient_query_begin(u->tc);
	dns_query_copy(&u->q, q);
	u->req = xmalloc(len);
	memcpy(u->req, pkt, len);
	u->reqlen = len;
	u->signed_req = signed_req;
	if (signed_req)
		u->tr = *tr;
	u->next = w->updates;
	if (u->next != NULL)
		u->next->prev = u;
	w->updates = u;
	w->nupdates++;

	/* What goes out: the client's message without its TSIG. */
	msg = xmalloc(len);
	memcpy(msg, pkt, len);
	mlen = signed_req ? tsig_strip(msg, tr->start) : len;
	u->fo = fanout_start(w->base, msg, mlen, q, u->t, n,
	    p->confirm_all, u->cfg->set.update_timeout_ms, upd_cb, u);
	free(msg);
	STAT_ADD(&w->st, update_copies, n);
	if (u->fo == NULL) {
		servfail(w, pkt, len, q, signed_req ? tr : NULL, cl,
		    TRACE_OVERLOAD, r);
		upd_free(u);
	}
}

/* The UPDATE route for the zone: its index in c->routes, or -1. */
static int
upd_route(struct worker *w, const struct dns_query *q)
{
	struct config *c = w->cfg;
	char zone[DNS_MAX_TEXT_NAME];
	int n, idx, limited;

	n = dns_wire_to_text(q->qname_wire, zone, sizeof(zone));
	if (n < 0)
		return -1;
	idx = route_match(w->rm, c->urt, zone, (size_t)n, q->qtype, &limited);
	if (limited)
		STAT_INC(&w->st, match_limit);
	return idx < 0 ? -1 : c->nqroutes + idx;
}

void
update_client(struct worker *w, const uint8_t *pkt, size_t len,
    const struct dns_query *q, const struct client *cl)
{
	struct config *c = w->cfg;
	const struct sockaddr *sa = cl->sa;
	const struct croute *r;
	struct tsig_req tr;
	enum tsig_verdict v;
	int idx, rcode;

	STAT_INC(&w->st, updates);
	if (c->urt == NULL) {
		STAT_INC(&w->st, notimp);
		trace_now(w, cl, q, TRACE_NOTIMP, -1, 0, DNS_RCODE_NOTIMP);
		answer(w, pkt, len, q, NULL, DNS_RCODE_NOTIMP, cl);
		return;
	}
	v = tsig_verify_request(pkt, len, c->keys, c->nclient_keys,
	    (uint64_t)time(NULL), &tr);
	if (v == TSIG_FORMERR || v == TSIG_ERROR) {
		STAT_INC(&w->st, update_tsig);
		trace_now(w, cl, q, TRACE_TSIG, -1,
		    v == TSIG_ERROR ? tr.error : 0, v == TSIG_ERROR ?
		    DNS_RCODE_NOTAUTH : DNS_RCODE_FORMERR);
		answer(w, pkt, len, q, v == TSIG_ERROR ? &tr : NULL,
		    DNS_RCODE_FORMERR, cl);
		log_tsig(sa, q, v, &tr);
		return;
	}
	/* RFC 2136 3.1.1: the zone section names a zone by its SOA. */
	if (q->qtype != DNS_TYPE_SOA) {
		trace_now(w, cl, q, TRACE_NOROUTE, -1, 0, DNS_RCODE_FORMERR);
		answer(w, pkt, len, q, v == TSIG_OK ? &tr : NULL,
		    DNS_RCODE_FORMERR, cl);
		return;
	}
	if ((idx = upd_route(w, q)) < 0) {
		STAT_INC(&w->st, noroute);
		trace_now(w, cl, q, TRACE_NOROUTE, -1, 0, DNS_RCODE_REFUSED);
		answer(w, pkt, len, q, v == TSIG_OK ? &tr : NULL,
		    DNS_RCODE_REFUSED, cl);
		return;
	}
	r = &c->routes[idx];
	route_hits_add(r->hits, w->idx);
	if (r->action == ACTION_DROP) {
		STAT_INC(&w->st, dropped);
		trace_now(w, cl, q, TRACE_ROUTE_ANSWER, r->id, 0, -1);
		return;
	}
	if (r->action != ACTION_POOL) {
		STAT_INC(&w->st, action_answers);
		rcode = r->action == ACTION_REFUSE ? DNS_RCODE_REFUSED :
		    r->action == ACTION_NXDOMAIN ? DNS_RCODE_NXDOMAIN :
		    DNS_RCODE_SERVFAIL;
		trace_now(w, cl, q, TRACE_ROUTE_ANSWER, r->id, 0, rcode);
		answer(w, pkt, len, q, v == TSIG_OK ? &tr : NULL, rcode, cl);
		return;
	}
	if (v == TSIG_NONE && !r->tsig_optional) {
		STAT_INC(&w->st, update_unsigned);
		trace_now(w, cl, q, TRACE_UPDATE_UNSIGNED, r->id, 0,
		    DNS_RCODE_REFUSED);
		answer(w, pkt, len, q, NULL, DNS_RCODE_REFUSED, cl);
		return;
	}
	upd_start(w, pkt, len, q, &tr, v == TSIG_OK, r, cl);
}

void
update_free_all(struct worker *w)
{
	while (w->updates != NULL)
		upd_free(w->updates);
}

/*
 * health: the health checks and the health history (see health.h).
 *
 * Everything here runs on the main thread's event base, which also owns
 * the database connection and the configuration; the workers only read
 * b->health and b->admin.  This file is the only writer of b->health,
 * b->check_rtt_us and b->checks_failed.
 *
 * Each backend of the current snapshot has one struct hcheck, which holds
 * a reference to it: a periodic timer, the check query built once (with
 * ldns) from the backend's settings, and at most one check in flight, so
 * checks never overlap; a tick that finds a check still running marks the
 * next one due as soon as it ends.  A check is a fresh non-blocking TCP
 * connection (length framing, the query sent with the connection, reset
 * after the answer) or a connected UDP socket, with a random ID per check
 * patched into the prebuilt query; one read event per check, no buffers.
 * With a thousand backends a check's cost is mostly the kernel's TCP
 * connection, so the rest is kept to a few system calls: the timers of a
 * duration share one libevent queue (common timeouts), and first checks
 * are spread over 10 ms slots so that backends come due a few at a time,
 * each group in one wake-up.  It is good when an answer with our
 * ID and question arrives within the timeout (and, when configured, with
 * the expected rcode).  A client-address proxy backend drops what comes
 * without a PROXY header, so its check goes after a LOCAL one (no
 * addresses: the backend takes the connection's own), as dnsdist's checks
 * do.  Consecutive results drive the state machine:
 * unknown -> up or down on the first check (unknown gets no queries, so
 * there is nothing to protect by waiting), up -> down after `fall` bad
 * ones, down -> up after `rise` good ones.
 *
 * Whatever ends a check (answer, error, timeout, the backend disabled or
 * removed) ends it through the event loop, never inside the call that
 * started or stopped it, so a readd's done() is always called "later" and
 * an hcheck is never freed under a callback that is using it: removed ones
 * wait on a dying list until their timeout event reaps them.
 *
 * Checks to one server (an address, whatever the port) are at most
 * HOST_INFLIGHT at a time; the others wait their turn in order and their
 * timeout starts when they do.  Thousands of backends registered at one
 * nameserver would otherwise all be checked in the same instant (every new
 * backend is checked at once), and a server that takes a hundred TCP
 * connections at a time lets the rest time out: half of 2,500 first checks
 * failed so.  A cap spreads them no more than the server needs: as fast as
 * it answers, which a random delay could not promise.
 *
 * Every check result and every state change is an event row.  Rows are
 * buffered and written once a second in one transaction (without waiting
 * for the disk: see db_health_add), never while an operator holds an
 * explicit transaction on the same connection.  When the
 * database cannot take them (disk full) they are kept and retried; the
 * buffer is bounded, and plain check rows go before transitions do.  The
 * history is pruned to the retention a slice of the backends a flush, each
 * about once a minute (all at once held the main thread for seconds with
 * a thousand backends).
 */
#include <sys/queue.h>
#include <sys/socket.h>
#include <netinet/in.h>

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <ldns/ldns.h>

#include "backend.h"
#include "dnsmsg.h"
#include "health.h"
#include "health_state.h"
#include "log.h"
#include "proxyv2.h"
#include "util.h"

#define FLUSH_INTERVAL_MS	1000
#define PRUNE_INTERVAL_MS	(60 * 1000)
#define FAIL_LOG_INTERVAL_US	(60 * 1000000ULL)
/* Rows kept while the database does not take them.  Past EVBUF_CAP plain
 * check rows are dropped; transitions still go in up to EVBUF_HARD_CAP,
 * a ceiling only a long outage with flapping backends reaches, where even
 * they give way so the daemon's memory stays bounded. */
#define EVBUF_CAP		10000
#define EVBUF_HARD_CAP		(10 * EVBUF_CAP)
#define DETAIL_MAX		96
#define STATE_MAX		16
/* The check query: header, a name of at most 255 octets, type, class. */
#define CHECK_WIRE_MAX		(DNS_HDR_LEN + DNS_MAX_WIRE_NAME + 4)
/* Enough for the header and question of any answer we accept. */
#define UDP_RECV_MAX		4096
#define HOST_INFLIGHT		16
#define HOST_BUCKETS		1024
#define INTERVAL_MIN_MS		10
#define INTERVAL_MAX_MS		(24 * 3600 * 1000)
#define TIMEOUT_MAX_MS		(3600 * 1000)
/* First checks are spread over whole slots of this, so that backends
 * come due together, a few to a wake-up, rather than one each. */
#define SPREAD_SLOT_MS		10
/* Durations given libevent's common timeouts (see duration()). */
#define COMMON_MAX		16

struct hevent {
	int64_t		 backend_id;
	int64_t		 time_us;
	int		 ok;
	int		 rtt_us;
	int		 transition;	/* from and to are set; kept longest */
	char		 from[STATE_MAX];
	char		 to[STATE_MAX];
	char		 detail[DETAIL_MAX];
};

/* One `backend readd` request: answered once per backend, then once with
 * b NULL.  cb is NULL once its client has left. */
struct readd {
	TAILQ_ENTRY(readd)	 entry;
	health_done_cb		 cb;
	void			*arg;
	int			 pending;
};

struct hhost;

struct hcheck {
	TAILQ_ENTRY(hcheck)	 entry;
	TAILQ_ENTRY(hcheck)	 qentry;	/* waiting for its host */
	struct health		*h;
	struct backend		*b;		/* referenced */
	struct hhost		*host;
	struct event		*timer;		/* next periodic check */
	struct event		*tmo;		/* timeout; early ends */
	int			 interval_ms;	/* what the timer runs at */

	/* The check query, built from these settings. */
	int			 built;
	char			 qname[CONF_QNAME_MAX];
	int			 qtype;
	int			 qclass;
	uint8_t			 wire[CHECK_WIRE_MAX];
	size_t			 wirelen;
	struct dns_query	 q;

	/* The check in flight (or waiting for its turn). */
	int			 running;
	int			 queued;	/* running, waiting for a slot */
	int			 slot;		/* running, holds one */
	int			 due;		/* a tick came while running */
	int			 failed;	/* ended early with fail[] */
	int			 aborted;	/* disabled: no result */
	int			 tcp;
	uint16_t		 id;
	uint64_t		 start_us;
	int			 fd;
	struct event		*rev;
	/* TCP: the framed query going out, after any PROXY header (toff of
	 * tout sent), then the answer coming in (tlen). */
	uint8_t			 tbuf[PROXYV2_LOCAL_LEN + 2 + CHECK_WIRE_MAX];
	size_t			 toff, tout, tlen;
	const char		*soft_err;	/* UDP: a stray came */
	char			 fail[DETAIL_MAX];

	int			 idle;		/* disabled: not checked */
	int			 dying;		/* gone from the snapshot */
	int			 seen;		/* health_sync bookkeeping */
	struct hstate		 hs;		/* results in a row */

	struct readd		**waiters;
	int			 nwaiters, capwaiters;
};

TAILQ_HEAD(hcheck_list, hcheck);

/* A server: its address without the port, and its checks in flight. */
struct hhost {
	struct hhost		*next;		/* hash chain */
	struct health		*h;
	struct sockaddr_storage	 addr;
	int			 refcnt;	/* hchecks */
	int			 inflight;
	struct hcheck_list	 waiting;
	struct event		*kick;
};

struct health {
	struct event_base	*base;
	struct db		*db;
	struct hcheck_list	 checks;	/* the current snapshot's */
	struct hcheck_list	 dying;		/* removed, to be reaped */
	struct hhost		*hosts[HOST_BUCKETS];
	TAILQ_HEAD(, readd)	 readds;
	struct event		*flush_ev;
	int			 common_ms[COMMON_MAX];
	const struct timeval	*common[COMMON_MAX];
	int			 ncommon;

	struct hevent		*ev;
	size_t			 nev, capev;
	unsigned long		 dropped;	/* rows lost since last said */

	int			 have_config;
	int			 retention;
	int			 prune_now;	/* all, at the next flush */
	size_t			 prune_pos;	/* the next slice's first */
	size_t			 prune_credit;
	int			 failing;	/* last write failed */
	uint64_t		 last_fail_log_us;
	unsigned long		 fail_count;	/* since last said */
};

static void	check_start(struct hcheck *);
static void	check_go(struct hcheck *);
static void	check_finish(struct hcheck *, int, int, const char *);

/*
 * Event rows.
 */

/* Free room among the oldest plain check rows: a tenth of the cap at a
 * time, so a full buffer costs one pass per EVBUF_CAP / 10 rows. */
static void
ev_make_room(struct health *h)
{
	size_t i, j, want = EVBUF_CAP / 10, n = 0;

	for (i = j = 0; i < h->nev; i++) {
		if (n < want && !h->ev[i].transition) {
			n++;
			continue;
		}
		if (i != j)
			h->ev[j] = h->ev[i];
		j++;
	}
	h->nev = j;
	h->dropped += n;
}

static void
ev_push(struct health *h, const struct backend *b, int ok, const char *from,
    const char *to, int rtt_us, const char *detail)
{
	struct hevent *e;
	int transition = from != NULL && to != NULL;

	if (h->nev >= EVBUF_CAP)
		ev_make_room(h);
	if (h->nev >= EVBUF_CAP && !transition) {
		h->dropped++;
		return;
	}
	if (h->nev >= EVBUF_HARD_CAP) {
		memmove(h->ev, h->ev + 1, (h->nev - 1) * sizeof(*h->ev));
		h->nev--;
		h->dropped++;
	}
	if (h->nev == h->capev) {
		h->capev = h->capev ? h->capev * 2 : 64;
		if (h->capev > EVBUF_HARD_CAP)
			h->capev = EVBUF_HARD_CAP;
		h->ev = xrealloc(h->ev, h->capev * sizeof(*h->ev));
	}
	e = &h->ev[h->nev++];
	memset(e, 0, sizeof(*e));
	e->backend_id = b->id;
	e->time_us = wall_us();
	e->ok = ok != 0;
	e->rtt_us = rtt_us < 0 ? -1 : rtt_us;
	e->transition = transition;
	if (transition) {
		snprintf(e->from, sizeof(e->from), "%s", from);
		snprintf(e->to, sizeof(e->to), "%s", to);
	}
	snprintf(e->detail, sizeof(e->detail), "%s", detail ? detail : "");
}

/* The backend is gone from the snapshot, hence maybe from the database:
 * its rows belong to nobody (the insert drops such rows; a backend is
 * either a backend row or, registered through etcd, a registration). */
static void
ev_purge(struct health *h, int64_t backend_id)
{
	size_t i, j;

	for (i = j = 0; i < h->nev; i++) {
		if (h->ev[i].backend_id == backend_id)
			continue;
		if (i != j)
			h->ev[j] = h->ev[i];
		j++;
	}
	h->nev = j;
}

/* Say at most once a minute that writing fails, with how often. */
static void
flush_failed(struct health *h, const char *what, const char *why)
{
	uint64_t now = now_us();

	h->failing = 1;
	h->fail_count++;
	if (h->last_fail_log_us != 0 &&
	    now - h->last_fail_log_us < FAIL_LOG_INTERVAL_US)
		return;
	h->last_fail_log_us = now;
	log_warnx("health: cannot %s: %s (%lu failure%s; %zu rows kept, "
	    "%lu dropped)", what, why, h->fail_count,
	    h->fail_count == 1 ? "" : "s", h->nev, h->dropped);
	h->fail_count = 0;
	h->dropped = 0;
}

/* The next backends' history, so that each comes round once every
 * PRUNE_INTERVAL_MS: a slice a flush rather than all at once, which with
 * thousands of backends held the main thread for a quarter of a second. */
static int
prune_slice(struct health *h)
{
	struct hcheck *hc;
	int64_t *ids;
	size_t n = 0, per, i = 0, k = 0;
	int rc;

	TAILQ_FOREACH(hc, &h->checks, entry)
		n++;
	/* n backends a minute: n / 60 a flush, in thousandths. */
	h->prune_credit += n * FLUSH_INTERVAL_MS;
	if ((per = h->prune_credit / PRUNE_INTERVAL_MS) == 0)
		return 0;
	h->prune_credit -= per * PRUNE_INTERVAL_MS;
	if (h->prune_pos >= n)
		h->prune_pos = 0;
	ids = xcalloc(per, sizeof(*ids));
	TAILQ_FOREACH(hc, &h->checks, entry) {
		if (i++ < h->prune_pos)
			continue;
		if (k == per)
			break;
		ids[k++] = hc->b->id;
	}
	rc = db_health_prune(h->db, h->retention, ids, k);
	free(ids);
	if (rc == 0)
		h->prune_pos += k;
	return rc;
}

void
health_flush(struct health *h)
{
	struct db_health_event *rows;
	char why[256];
	size_t i, n;

	if (h == NULL || db_in_transaction(h->db))
		return;
	if ((n = h->nev) > 0) {
		rows = xcalloc(n, sizeof(*rows));
		for (i = 0; i < n; i++) {
			rows[i].backend_id = h->ev[i].backend_id;
			rows[i].time_us = h->ev[i].time_us;
			rows[i].ok = h->ev[i].ok;
			rows[i].from_state = h->ev[i].transition ?
			    h->ev[i].from : NULL;
			rows[i].to_state = h->ev[i].transition ?
			    h->ev[i].to : NULL;
			rows[i].rtt_us = h->ev[i].rtt_us;
			rows[i].detail = h->ev[i].detail;
		}
		/* Its own transaction (see db_health_add). */
		if (db_health_add(h->db, rows, n) == -1) {
			snprintf(why, sizeof(why), "%s", db_errmsg(h->db));
			free(rows);
			flush_failed(h, "write health events", why);
			return;
		}
		free(rows);
		h->nev = 0;
		if (h->failing)
			log_info("health: events written again (%zu rows)", n);
		if (h->dropped > 0)
			log_warnx("health: %lu event rows were dropped while "
			    "they could not be written", h->dropped);
		h->failing = 0;
		h->fail_count = 0;
		h->dropped = 0;
	}
	if (!h->have_config || h->retention <= 0)
		return;
	if ((h->prune_now ? db_health_prune(h->db, h->retention, NULL, 0) :
	    prune_slice(h)) == -1) {
		flush_failed(h, "prune health events", db_errmsg(h->db));
		return;
	}
	h->prune_now = 0;
}

static void
flush_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	health_flush(arg);
}

/*
 * State.
 */

static void
set_health(struct hcheck *hc, int to, int ok, int rtt_us, const char *reason)
{
	struct backend *b = hc->b;
	int from = atomic_load(&b->health);

	if (from == to)
		return;
	atomic_store(&b->health, to);
	ev_push(hc->h, b, ok, words_name(&words_health, from),
	    words_name(&words_health, to), rtt_us, reason);
	if (to == HEALTH_DOWN)
		log_warnx("backend %s (%s) is down: %s", b->name, b->addr_text,
		    reason);
	else if (to == HEALTH_UP)
		log_info("backend %s (%s) is up: %s", b->name, b->addr_text,
		    reason);
	else
		log_info("backend %s (%s) health is unknown: %s", b->name,
		    b->addr_text, reason);
}

/* Answer every readd waiting on this check.  The list is taken first: a
 * callback may start another readd of the same backend. */
static void
waiters_done(struct hcheck *hc, int ok, const char *detail)
{
	struct health *h = hc->h;
	struct readd **w = hc->waiters, *r;
	int i, n = hc->nwaiters;

	hc->waiters = NULL;
	hc->nwaiters = hc->capwaiters = 0;
	for (i = 0; i < n; i++) {
		r = w[i];
		if (r->cb != NULL)
			r->cb(r->arg, hc->b, ok, detail);
		if (--r->pending == 0) {
			if (r->cb != NULL)
				r->cb(r->arg, NULL, 0, NULL);
			TAILQ_REMOVE(&h->readds, r, entry);
			free(r);
		}
	}
	free(w);
}

static void
waiter_add(struct hcheck *hc, struct readd *r)
{
	if (hc->nwaiters == hc->capwaiters) {
		hc->capwaiters = hc->capwaiters ? hc->capwaiters * 2 : 4;
		hc->waiters = xrealloc(hc->waiters,
		    hc->capwaiters * sizeof(*hc->waiters));
	}
	hc->waiters[hc->nwaiters++] = r;
	r->pending++;
}

/*
 * The check query.
 */

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

/*
 * Servers: checks in flight per address.
 */

/* The address without its port: what tells one server from another. */
static void
host_key(const struct backend *b, struct sockaddr_storage *k)
{
	memset(k, 0, sizeof(*k));
	k->ss_family = b->addr.ss_family;
	if (b->addr.ss_family == AF_INET)
		((struct sockaddr_in *)k)->sin_addr =
		    ((const struct sockaddr_in *)&b->addr)->sin_addr;
	else if (b->addr.ss_family == AF_INET6)
		((struct sockaddr_in6 *)k)->sin6_addr =
		    ((const struct sockaddr_in6 *)&b->addr)->sin6_addr;
}

static unsigned
host_bucket(const struct sockaddr_storage *k)
{
	const unsigned char *p = (const unsigned char *)k;
	unsigned h = 2166136261u;
	size_t i;

	for (i = 0; i < sizeof(*k); i++)
		h = (h ^ p[i]) * 16777619u;
	return h % HOST_BUCKETS;
}

static void
host_kick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct hhost *ho = arg;
	struct hcheck *hc;

	(void)fd;
	(void)what;
	while (ho->inflight < HOST_INFLIGHT &&
	    (hc = TAILQ_FIRST(&ho->waiting)) != NULL) {
		TAILQ_REMOVE(&ho->waiting, hc, qentry);
		hc->queued = 0;
		check_go(hc);
	}
}

/* The server of b, made if new; referenced. */
static struct hhost *
host_get(struct health *h, const struct backend *b)
{
	struct sockaddr_storage k;
	struct hhost *ho;
	unsigned i;

	host_key(b, &k);
	i = host_bucket(&k);
	for (ho = h->hosts[i]; ho != NULL; ho = ho->next)
		if (memcmp(&ho->addr, &k, sizeof(k)) == 0) {
			ho->refcnt++;
			return ho;
		}
	ho = xcalloc(1, sizeof(*ho));
	ho->h = h;
	ho->addr = k;
	ho->refcnt = 1;
	TAILQ_INIT(&ho->waiting);
	if ((ho->kick = evtimer_new(h->base, host_kick_cb, ho)) == NULL)
		fatalx("health: cannot create a timer");
	ho->next = h->hosts[i];
	h->hosts[i] = ho;
	return ho;
}

static void
host_unref(struct hhost *ho)
{
	struct hhost **pp;

	if (--ho->refcnt > 0)
		return;
	for (pp = &ho->h->hosts[host_bucket(&ho->addr)]; *pp != ho;
	    pp = &(*pp)->next)
		;
	*pp = ho->next;
	event_free(ho->kick);
	free(ho);
}

/* The check no longer waits for its turn. */
static void
unqueue(struct hcheck *hc)
{
	if (!hc->queued)
		return;
	TAILQ_REMOVE(&hc->host->waiting, hc, qentry);
	hc->queued = 0;
}

/* The check in flight ended: its slot goes to the next in line, from the
 * event loop (never inside the call that ended this one). */
static void
slot_release(struct hcheck *hc)
{
	struct timeval zero = { 0, 0 };
	struct hhost *ho = hc->host;

	if (!hc->slot)
		return;
	hc->slot = 0;
	ho->inflight--;
	if (!TAILQ_EMPTY(&ho->waiting))
		evtimer_add(ho->kick, &zero);
}

/*
 * One check.
 */

static int
clamp(int v, int lo, int hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

/* ms as a timer's duration: one of libevent's common timeouts for the
 * few durations backends use (intervals, timeouts), which keeps the
 * timers of a duration in a queue with only its head in the heap, so a
 * thousand backends' timers cost a list insertion each, not a heap
 * operation; a plain duration past COMMON_MAX of them. */
static struct timeval
duration(struct health *h, int ms)
{
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };
	const struct timeval *ct;
	int i;

	for (i = 0; i < h->ncommon; i++)
		if (h->common_ms[i] == ms)
			return *h->common[i];
	if (h->ncommon == COMMON_MAX ||
	    (ct = event_base_init_common_timeout(h->base, &tv)) == NULL)
		return tv;
	h->common_ms[h->ncommon] = ms;
	h->common[h->ncommon++] = ct;
	return *ct;
}

static void
timer_arm(struct hcheck *hc)
{
	struct timeval tv;

	hc->interval_ms = clamp(hc->b->conf.interval_ms, INTERVAL_MIN_MS,
	    INTERVAL_MAX_MS);
	tv = duration(hc->h, hc->interval_ms);
	evtimer_add(hc->timer, &tv);
}

/* After the first check of a newly seen backend, the next comes at a
 * random point of the second half of the interval: backends seen together
 * (all of them at start-up) are not all checked in the same instant ever
 * after, and no wait gets longer than `interval`. */
static void
timer_spread(struct hcheck *hc)
{
	struct timeval tv;
	int ms;

	ms = hc->interval_ms / 2 + (int)arc4random_uniform(
	    (uint32_t)(hc->interval_ms - hc->interval_ms / 2) + 1);
	if (ms > SPREAD_SLOT_MS)
		ms -= ms % SPREAD_SLOT_MS;
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	evtimer_add(hc->timer, &tv);
}

/* Close the check's sockets; the timeout event is left to the caller. */
static void
io_close(struct hcheck *hc)
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
static void
end_later(struct hcheck *hc)
{
	struct timeval zero = { 0, 0 };

	io_close(hc);
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
	end_later(hc);
}

/* Stop the check in flight without a result: its backend is disabled or
 * gone, and saying "down" about it would be a lie. */
static void
abort_check(struct hcheck *hc, const char *why)
{
	unqueue(hc);
	snprintf(hc->fail, sizeof(hc->fail), "%s", why);
	hc->aborted = 1;
	end_later(hc);
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
		check_finish(hc, 0, rtt, buf);
	} else
		check_finish(hc, 1, rtt, rname);
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
			check_finish(hc, 0, -1, errno_detail(errno, "recv",
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
		check_finish(hc, 0, (int)(now_us() - hc->start_us),
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
			check_finish(hc, 0, -1, errno_detail(errno, "connect",
			    ebuf, sizeof(ebuf)));
			return;
		}
		/* Now only the answer. */
		event_del(hc->rev);
		event_assign(hc->rev, hc->h->base, fd, EV_READ | EV_PERSIST,
		    tcp_io_cb, hc);
		if (event_add(hc->rev, NULL) == -1)
			check_finish(hc, 0, -1, "cannot watch socket");
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
			check_finish(hc, 0, -1, errno_detail(errno, "read",
			    ebuf, sizeof(ebuf)));
			return;
		}
		if (n == 0) {
			check_finish(hc, 0, -1, "connection closed");
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

/* A check is due: now, or when its host has a slot free. */
static void
check_start(struct hcheck *hc)
{
	struct hhost *ho = hc->host;

	hc->running = 1;
	hc->due = 0;
	if (ho->inflight >= HOST_INFLIGHT) {
		hc->queued = 1;
		TAILQ_INSERT_TAIL(&ho->waiting, hc, qentry);
		return;
	}
	check_go(hc);
}

/* Send the check. */
static void
check_go(struct hcheck *hc)
{
	const struct backend_conf *c = &hc->b->conf;
	uint8_t msg[PROXYV2_LOCAL_LEN + CHECK_WIRE_MAX];
	struct timeval tv;
	size_t off = 0;
	int tmo;

	hc->slot = 1;
	hc->host->inflight++;
	hc->failed = 0;
	hc->aborted = 0;
	hc->soft_err = NULL;
	hc->start_us = now_us();
	hc->tcp = c->check_tcp != 0;
	tmo = clamp(c->timeout_ms, 1, TIMEOUT_MAX_MS);
	tv = duration(hc->h, tmo);
	evtimer_add(hc->tmo, &tv);

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

/* The check ended with a result: count it, move the state, answer readd. */
static void
check_finish(struct hcheck *hc, int ok, int rtt_us, const char *detail)
{
	struct backend *b = hc->b;
	char reason[DETAIL_MAX + 64], done[DETAIL_MAX + 32];
	int cur, to, why, inrow;

	io_close(hc);
	evtimer_del(hc->tmo);
	slot_release(hc);
	hc->running = 0;
	hc->failed = 0;

	atomic_store(&b->check_rtt_us, ok ? rtt_us : -1);
	if (!ok)
		atomic_fetch_add_explicit(&b->checks_failed, 1,
		    memory_order_relaxed);
	ev_push(hc->h, b, ok, NULL, NULL, rtt_us, detail);
	if (rtt_us >= 0)
		log_debug("backend %s (%s) check %s: %s, %d us", b->name,
		    b->addr_text, ok ? "good" : "bad", detail, rtt_us);
	else	/* no answer: no round trip to tell */
		log_debug("backend %s (%s) check %s: %s", b->name,
		    b->addr_text, ok ? "good" : "bad", detail);

	if (ok)
		snprintf(done, sizeof(done), "%s in %d us", detail, rtt_us);
	else
		snprintf(done, sizeof(done), "%s", detail);
	cur = atomic_load(&b->health);
	to = hstate_check(&hc->hs, cur, ok, b->conf.fall, b->conf.rise,
	    hc->nwaiters > 0, &why, &inrow);
	if (to != cur) {
		if (why == HSTATE_READD)
			snprintf(reason, sizeof(reason), "readd, %s", done);
		else if (why == HSTATE_FIRST)
			snprintf(reason, sizeof(reason), "%s (first check)",
			    done);
		else
			snprintf(reason, sizeof(reason), "%s (%d %s%s)", done,
			    inrow, ok ? "success" : "failure",
			    inrow == 1 ? "" : ok ? "es" : "s");
		set_health(hc, to, ok, rtt_us, reason);
	}
	if (hc->nwaiters > 0)
		waiters_done(hc, ok, done);
	/* A callback may have started a check, or health_sync() may have
	 * removed or disabled this backend meanwhile. */
	if (hc->due && !hc->running && !hc->idle && !hc->dying)
		check_start(hc);
}

static void
hcheck_free(struct hcheck *hc)
{
	io_close(hc);
	unqueue(hc);
	slot_release(hc);
	host_unref(hc->host);
	event_free(hc->timer);
	event_free(hc->tmo);
	free(hc->waiters);
	backend_unref(hc->b);
	free(hc);
}

/* The check's timeout, and every early end (see end_later). */
static void
tmo_cb(evutil_socket_t fd, short what, void *arg)
{
	struct hcheck *hc = arg;
	struct health *h = hc->h;

	(void)fd;
	(void)what;
	if (hc->dying) {
		hc->running = 0;
		io_close(hc);
		slot_release(hc);
		if (hc->nwaiters > 0)
			waiters_done(hc, 0, "backend removed");
		TAILQ_REMOVE(&h->dying, hc, entry);
		hcheck_free(hc);
		return;
	}
	if (hc->aborted) {
		hc->running = 0;
		hc->aborted = 0;
		slot_release(hc);
		/* Enabled again before the abort came through: the readds
		 * waiting ride on the fresh check instead of failing. */
		if (!hc->idle)
			check_start(hc);
		else if (hc->nwaiters > 0)
			waiters_done(hc, 0, hc->fail);
		return;
	}
	if (!hc->running)
		return;
	if (hc->failed)
		check_finish(hc, 0, -1, hc->fail);
	else
		check_finish(hc, 0, -1, hc->soft_err ? hc->soft_err :
		    "timeout");
}

/* Disabled: no checks, and its health means nothing until enabled. */
static void
go_idle(struct hcheck *hc)
{
	if (hc->idle)
		return;
	hc->idle = 1;
	hc->due = 0;
	if (hc->running && !hc->aborted)
		abort_check(hc, "backend disabled");
	set_health(hc, hstate_disabled(&hc->hs), 1, -1, "disabled");
}

/* A timer tick, or a backend seen (again) for the first time: check now.
 * The timer keeps ticking while disabled so an enable made without a
 * health_sync() is still noticed. */
static void
check_tick(struct hcheck *hc)
{
	timer_arm(hc);
	if (atomic_load(&hc->b->admin) == ADMIN_DISABLED) {
		go_idle(hc);
		return;
	}
	if (hc->idle) {
		hc->idle = 0;
		hstate_enabled(&hc->hs);
	}
	if (hc->running)
		hc->due = 1;
	else
		check_start(hc);
}

static void
timer_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	check_tick(arg);
}

static struct hcheck *
hcheck_new(struct health *h, struct backend *b)
{
	struct hcheck *hc;

	hc = xcalloc(1, sizeof(*hc));
	hc->h = h;
	hc->b = b;
	backend_ref(b);
	hc->host = host_get(h, b);
	hc->fd = -1;
	if ((hc->timer = evtimer_new(h->base, timer_cb, hc)) == NULL ||
	    (hc->tmo = evtimer_new(h->base, tmo_cb, hc)) == NULL)
		fatalx("health: cannot create timers");
	return hc;
}

static int
cmp_by_backend(const void *a, const void *b)
{
	uintptr_t x = (uintptr_t)(*(struct hcheck *const *)a)->b;
	uintptr_t y = (uintptr_t)(*(struct hcheck *const *)b)->b;

	return (x > y) - (x < y);
}

/* The check of b among n sorted by backend, or NULL. */
static struct hcheck *
hcheck_find(struct hcheck **sorted, size_t n, const struct backend *b)
{
	struct hcheck key, *kp = &key, **hp;

	key.b = (struct backend *)(uintptr_t)b;
	hp = bsearch(&kp, sorted, n, sizeof(*sorted), cmp_by_backend);
	return hp != NULL ? *hp : NULL;
}

/*
 * Interface.
 */

struct health *
health_new(struct event_base *base, struct db *db)
{
	struct health *h;
	struct timeval tv = { FLUSH_INTERVAL_MS / 1000,
	    (FLUSH_INTERVAL_MS % 1000) * 1000 };

	h = xcalloc(1, sizeof(*h));
	h->base = base;
	h->db = db;
	TAILQ_INIT(&h->checks);
	TAILQ_INIT(&h->dying);
	TAILQ_INIT(&h->readds);
	if ((h->flush_ev = event_new(base, -1, EV_PERSIST, flush_cb, h)) ==
	    NULL || event_add(h->flush_ev, &tv) == -1)
		fatalx("health: cannot create the flush timer");
	return h;
}

void
health_sync(struct health *h, const struct config *c)
{
	struct hcheck *hc, *next, **sorted;
	struct backend *b;
	struct timeval zero = { 0, 0 };
	size_t n = 0;
	int i;

	/* Prune at the first flush (a daemon restarted often must not let
	 * the table grow either) and at the next after a new retention, so
	 * an operator lowering it sees it take effect at once. */
	if (!h->have_config || h->retention != c->set.health_retention)
		h->prune_now = 1;
	h->have_config = 1;
	h->retention = c->set.health_retention;
	/* Sorted, so that thousands of backends are matched in n log n. */
	TAILQ_FOREACH(hc, &h->checks, entry)
		n++;
	sorted = xcalloc(n + 1, sizeof(*sorted));
	n = 0;
	TAILQ_FOREACH(hc, &h->checks, entry) {
		hc->seen = 0;
		sorted[n++] = hc;
	}
	qsort(sorted, n, sizeof(*sorted), cmp_by_backend);
	for (i = 0; i < c->nbackends; i++) {
		b = c->backends[i];
		if ((hc = hcheck_find(sorted, n, b)) == NULL) {
			hc = hcheck_new(h, b);
			TAILQ_INSERT_TAIL(&h->checks, hc, entry);
			hc->seen = 1;
			check_tick(hc);
			timer_spread(hc);
			continue;
		}
		hc->seen = 1;
		if (atomic_load(&b->admin) == ADMIN_DISABLED)
			go_idle(hc);
		else if (hc->idle)
			check_tick(hc);
		else if (hc->interval_ms != clamp(b->conf.interval_ms,
		    INTERVAL_MIN_MS, INTERVAL_MAX_MS))
			timer_arm(hc);
		/* A changed query is rebuilt when the next check starts:
		 * the one in flight still matches answers against the old. */
	}
	for (hc = TAILQ_FIRST(&h->checks); hc != NULL; hc = next) {
		next = TAILQ_NEXT(hc, entry);
		if (hc->seen)
			continue;
		TAILQ_REMOVE(&h->checks, hc, entry);
		TAILQ_INSERT_TAIL(&h->dying, hc, entry);
		hc->dying = 1;
		evtimer_del(hc->timer);
		unqueue(hc);
		io_close(hc);
		evtimer_add(hc->tmo, &zero);
		/* Same id with a new address is a new struct backend but
		 * the same row: keep its history. */
		if (config_backend_id(c, hc->b->id) == NULL)
			ev_purge(h, hc->b->id);
	}
	free(sorted);
}

int
health_readd(struct health *h, struct backend *b, health_done_cb cb,
    void *arg)
{
	struct hcheck *hc;
	struct readd *r;

	r = xcalloc(1, sizeof(*r));
	r->cb = cb;
	r->arg = arg;
	TAILQ_INSERT_TAIL(&h->readds, r, entry);
	TAILQ_FOREACH(hc, &h->checks, entry) {
		if (b != NULL ? hc->b != b :
		    atomic_load(&hc->b->health) == HEALTH_UP)
			continue;
		if (hc->idle ||
		    atomic_load(&hc->b->admin) == ADMIN_DISABLED)
			continue;
		waiter_add(hc, r);
		/* A check in flight answers this readd too; otherwise one
		 * starts now and the regular one moves to an interval on. */
		if (!hc->running) {
			timer_arm(hc);
			check_start(hc);
		}
	}
	if (r->pending == 0) {
		TAILQ_REMOVE(&h->readds, r, entry);
		free(r);
		return 0;
	}
	return r->pending;
}

void
health_cancel(struct health *h, void *arg)
{
	struct readd *r;

	TAILQ_FOREACH(r, &h->readds, entry)
		if (r->arg == arg)
			r->cb = NULL;
}

void
health_note(struct health *h, struct backend *b, const char *from,
    const char *to, const char *reason)
{
	struct hcheck *hc;
	int known = !h->have_config;

	/* A row for a backend the snapshot no longer has may name a deleted
	 * row, which nobody would read. */
	TAILQ_FOREACH(hc, &h->checks, entry)
		if (hc->b->id == b->id)
			known = 1;
	if (known)
		ev_push(h, b, 1, from, to, -1, reason);
	log_info("backend %s (%s) is %s (was %s): %s", b->name, b->addr_text,
	    to, from, reason);
}

void
health_free(struct health *h)
{
	struct hcheck *hc;
	struct readd *r;

	if (h == NULL)
		return;
	/* Pending done() calls are dropped: their clients go too. */
	while ((hc = TAILQ_FIRST(&h->checks)) != NULL) {
		TAILQ_REMOVE(&h->checks, hc, entry);
		hcheck_free(hc);
	}
	while ((hc = TAILQ_FIRST(&h->dying)) != NULL) {
		TAILQ_REMOVE(&h->dying, hc, entry);
		hcheck_free(hc);
	}
	while ((r = TAILQ_FIRST(&h->readds)) != NULL) {
		TAILQ_REMOVE(&h->readds, r, entry);
		free(r);
	}
	event_free(h->flush_ev);
	health_flush(h);
	if (h->nev > 0)
		log_warnx("health: %zu event rows not written", h->nev);
	free(h->ev);
	free(h);
}

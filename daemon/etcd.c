/*
 * etcd: the client's connection to the cluster: endpoints, probing,
 * failover with backoff, and the queue of unary requests (see etcd.h).
 * Watches and mirroring are in etcd_watch.c; the wire format in
 * etcd_json.c.
 *
 * Invariants.  At most one request is in flight (on e->conn, to the
 * current endpoint), and only while connected or, for the probe, while
 * connecting.  Nothing is ever sent from inside a libevent callback and no
 * connection is ever freed inside one: completions schedule the kick event,
 * which sends the next request, and dead connections wait on a list for
 * the same event to free them.  A request's callback runs from the kick
 * event too, so a callback may make or cancel requests freely.
 */
#include <sys/queue.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/dns.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "etcd_int.h"
#include "log.h"
#include "util.h"

#define PROBE_INTERVAL_MS	2000
#define BACKOFF_MIN_MS		100
#define BACKOFF_MAX_MS		2000
/* Largest response accepted: a whole registry of 100,000 keys fits. */
#define MAX_BODY		(64 * 1024 * 1024)
#define READ_MAX		(1024 * 1024)

static const char *const apis[] = { "/v3", "/v3beta" };

/* For endpoint names (resolver_init). */
static struct evdns_base *resolver;

static void	kick(struct etcd *);
static void	kick_cb(evutil_socket_t, short, void *);
static void	connect_next(struct etcd *);

static const char *const op_paths[] = {
	[ETCD_OP_STATUS] = "/maintenance/status",
	[ETCD_OP_RANGE] = "/kv/range",
	[ETCD_OP_PUT] = "/kv/put",
	[ETCD_OP_DELETE] = "/kv/deleterange",
	[ETCD_OP_TXN] = "/kv/txn",
	[ETCD_OP_LEASE_GRANT] = "/lease/grant",
	[ETCD_OP_LEASE_KEEPALIVE] = "/lease/keepalive",
	[ETCD_OP_LEASE_REVOKE] = "/lease/revoke",
	[ETCD_OP_COMPACT] = "/kv/compaction",
};

/* Arm a timer ms milliseconds from now. */
void
etcd_timer_ms(struct event *ev, int ms)
{
	struct timeval tv;

	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	evtimer_add(ev, &tv);
}

/* ---- endpoints ---- */

/* A URL's host is an address, or a name to resolve at each connect. */
static int
parse_endpoint(const char *text, struct etcd_endpoint *ep, char *err,
    size_t errlen)
{
	struct evhttp_uri *u;
	struct in6_addr a6;
	struct in_addr a4;
	const char *host, *path, *scheme;
	char h[256], hosthdr[280];
	size_t n;
	int p;

	memset(ep, 0, sizeof(*ep));
	if ((u = evhttp_uri_parse(text)) == NULL ||
	    (scheme = evhttp_uri_get_scheme(u)) == NULL ||
	    (host = evhttp_uri_get_host(u)) == NULL || host[0] == '\0') {
		snprintf(err, errlen, "\"%s\" is not an etcd URL "
		    "(http://HOST:PORT)", text);
		goto fail;
	}
	if (strcmp(scheme, "http") != 0) {
		snprintf(err, errlen, "\"%s\": only http:// endpoints are "
		    "supported (no TLS yet)", text);
		goto fail;
	}
	path = evhttp_uri_get_path(u);
	if ((path != NULL && path[0] != '\0' && strcmp(path, "/") != 0) ||
	    evhttp_uri_get_query(u) != NULL ||
	    evhttp_uri_get_userinfo(u) != NULL) {
		snprintf(err, errlen, "\"%s\": an endpoint is "
		    "http://HOST:PORT, nothing more", text);
		goto fail;
	}
	/* An IPv6 address comes in brackets. */
	n = strlen(host);
	if (host[0] == '[' && n > 2 && host[n - 1] == ']') {
		host++;
		n -= 2;
	}
	if (n >= sizeof(h)) {
		snprintf(err, errlen, "\"%s\": the host is too long", text);
		goto fail;
	}
	memcpy(h, host, n);
	h[n] = '\0';
	p = evhttp_uri_get_port(u);
	ep->port = p > 0 ? p : 2379;
	if (inet_pton(AF_INET, h, &a4) == 1 || inet_pton(AF_INET6, h, &a6) ==
	    1)
		snprintf(ep->addr, sizeof(ep->addr), "%s", h);
	else
		snprintf(ep->name, sizeof(ep->name), "%s", h);
	snprintf(hosthdr, sizeof(hosthdr), strchr(h, ':') != NULL ?
	    "[%s]:%d" : "%s:%d", h, ep->port);
	snprintf(ep->hosthdr, sizeof(ep->hosthdr), "%s", hosthdr);
	snprintf(ep->url, sizeof(ep->url), "http://%s", hosthdr);
	evhttp_uri_free(u);
	ep->ok = 1;
	return 0;

fail:
	if (u != NULL)
		evhttp_uri_free(u);
	return -1;
}

struct evhttp_connection *
etcd_conn_new(struct etcd *e, int timeout_s)
{
	struct etcd_endpoint *ep = &e->eps[e->cur];
	struct evhttp_connection *c;

	if ((c = evhttp_connection_base_new(e->base, NULL, ep->addr,
	    (unsigned short)ep->port)) == NULL)
		fatalx("etcd: cannot make an HTTP connection object");
	evhttp_connection_set_timeout(c, timeout_s);
	evhttp_connection_set_retries(c, 0);
	evhttp_connection_set_max_body_size(c, MAX_BODY);
	/* A watch batch or a read of a fleet's state can be megabytes: take
	 * what waits in big pieces, not libevent's 16 KiB a loop round, so
	 * a router that fell behind sees the newest state at once (and
	 * applies that one, not each one before it). */
	if (bufferevent_set_max_single_read(
	    evhttp_connection_get_bufferevent(c), READ_MAX) == -1)
		log_debug("etcd: cannot raise the read size");
	return c;
}

/* Free c (and owned, the object its callbacks get) later, from the kick
 * event, never inside one of its own callbacks. */
void
etcd_conn_drop(struct etcd *e, struct evhttp_connection *c, void *owned)
{
	if (c == NULL && owned == NULL)
		return;
	if (e->ndead == e->capdead) {
		e->capdead = e->capdead ? e->capdead * 2 : 4;
		e->dead = xrealloc(e->dead, e->capdead * sizeof(*e->dead));
	}
	e->dead[e->ndead].conn = c;
	e->dead[e->ndead].owned = owned;
	e->ndead++;
	kick(e);
}

static void
free_dead(struct etcd *e)
{
	size_t i;

	for (i = 0; i < e->ndead; i++) {
		if (e->dead[i].conn != NULL)
			evhttp_connection_free(e->dead[i].conn);
		free(e->dead[i].owned);
	}
	e->ndead = 0;
}

struct evhttp_request *
etcd_http_request(struct etcd *e, void (*done)(struct evhttp_request *,
    void *), void (*error)(enum evhttp_request_error, void *), void *arg,
    const char *body)
{
	struct evhttp_request *h;
	struct evkeyvalq *hdr;

	if ((h = evhttp_request_new(done, arg)) == NULL)
		fatalx("etcd: cannot make an HTTP request object");
	evhttp_request_set_error_cb(h, error);
	hdr = evhttp_request_get_output_headers(h);
	evhttp_add_header(hdr, "Host", e->eps[e->cur].hosthdr);
	evhttp_add_header(hdr, "Content-Type", "application/json");
	evhttp_add_header(hdr, "Accept", "application/json");
	evbuffer_add(evhttp_request_get_output_buffer(h), body, strlen(body));
	return h;
}

/* Text for a request that got no HTTP answer. */
void
etcd_transport_error(int herr, int sockerr, char *buf, size_t len)
{
	switch (herr) {
	case EVREQ_HTTP_TIMEOUT:
		snprintf(buf, len, "no answer in time");
		return;
	case EVREQ_HTTP_EOF:
		snprintf(buf, len, "connection closed by etcd");
		return;
	case EVREQ_HTTP_INVALID_HEADER:
		snprintf(buf, len, "not an HTTP answer");
		return;
	case EVREQ_HTTP_DATA_TOO_LONG:
		snprintf(buf, len, "answer too long or malformed");
		return;
	default:
		break;
	}
	/* libevent leaves errno as the connect left it, or not at all. */
	if (sockerr == ECONNREFUSED)
		snprintf(buf, len, "connection refused");
	else if (sockerr == ETIMEDOUT || sockerr == EHOSTUNREACH ||
	    sockerr == ENETUNREACH)
		snprintf(buf, len, "cannot connect: %s", strerror(sockerr));
	else
		snprintf(buf, len, "cannot connect");
}

/* ---- state ---- */

static void
notify(struct etcd *e, int what)
{
	int i;

	for (i = 0; i < e->nlisteners; i++)
		if (e->listeners[i].cb != NULL)
			e->listeners[i].cb(e->listeners[i].arg, what);
}

static void
note_header(struct etcd *e, const struct etcd_resp *r)
{
	if (r->cluster_id != 0) {
		if (e->cluster_id != 0 && r->cluster_id != e->cluster_id) {
			/* Another cluster (a replaced or restored one):
			 * whatever was read before means nothing there. */
			log_warnx("etcd: the cluster behind %s changed (id "
			    "%llx, was %llx); reading everything again",
			    e->eps[e->cur].url,
			    (unsigned long long)r->cluster_id,
			    (unsigned long long)e->cluster_id);
			e->cluster_id = r->cluster_id;
			e->revision = r->revision;
			e->epoch++;
			notify(e, 2);
		}
		e->cluster_id = r->cluster_id;
	}
	if (r->revision > 0) {
		e->eps[e->cur].revision = r->revision;
		if (r->revision > e->revision)
			e->revision = r->revision;
	}
}

static void
set_error(struct etcd *e, const char *what)
{
	struct etcd_endpoint *ep = &e->eps[e->cur];

	snprintf(ep->last_error, sizeof(ep->last_error), "%s", what);
	ep->last_error_us = wall_us();
	ep->ok = 0;
	snprintf(e->last_error, sizeof(e->last_error), "%s: %s", ep->url,
	    what);
	e->last_error_us = ep->last_error_us;
}

static void
go_up(struct etcd *e, const struct etcd_resp *r)
{
	struct etcd_endpoint *ep = &e->eps[e->cur];

	ep->ok = 1;
	snprintf(e->server_version, sizeof(e->server_version), "%s",
	    r->version != NULL ? r->version : "?");
	e->state = ETCD_UP;
	e->round = 0;
	e->backoff_ms = 0;
	e->since_us = wall_us();
	e->last_ok_us = now_us();
	if (e->was_up_once && e->down_logged)
		log_info("etcd: connected to %s again (etcd %s, %s)", ep->url,
		    e->server_version, e->api);
	else
		log_info("etcd: connected to %s (etcd %s, %s)", ep->url,
		    e->server_version, e->api);
	e->was_up_once = 1;
	e->down_logged = 0;
	note_header(e, r);
	notify(e, 1);
	etcd_watches_up(e);
	kick(e);
}

/* The current endpoint failed: say so once, drop its connection and try
 * the next one (after a pause once every endpoint failed in a row). */
void
etcd_endpoint_failed(struct etcd *e, const char *why)
{
	struct etcd_endpoint *ep = &e->eps[e->cur];
	int was_up = e->state == ETCD_UP;

	set_error(e, why);
	if (was_up || !e->down_logged) {
		log_warnx("etcd: %s: %s%s", ep->url, why, e->neps > 1 ?
		    "; trying the next endpoint" : "; retrying");
		e->down_logged = 1;
	}
	e->state = ETCD_DOWN;
	if (was_up) {
		e->since_us = wall_us();
		notify(e, 0);
	}
	etcd_watches_down(e, why);
	etcd_conn_drop(e, e->conn, NULL);
	e->conn = NULL;
	e->probe_api = 0;
	if (e->neps > 1) {
		e->cur = (e->cur + 1) % e->neps;
		e->failovers++;
	}
	if (++e->round < e->neps) {
		connect_next(e);
		return;
	}
	/* Every endpoint failed in a row: wait, longer each time. */
	e->round = 0;
	e->backoff_ms = e->backoff_ms ? e->backoff_ms * 2 : BACKOFF_MIN_MS;
	if (e->backoff_ms > BACKOFF_MAX_MS)
		e->backoff_ms = BACKOFF_MAX_MS;
	etcd_timer_ms(e->retry, e->backoff_ms);
}

/* A watch lost its stream: check the endpoint now rather than at the
 * next periodic probe. */
void
etcd_suspect(struct etcd *e)
{
	if (e->state == ETCD_UP)
		e->last_ok_us = 0;
	etcd_timer_ms(e->probe_timer, 0);
}

/* ---- requests ---- */

static struct etcd_req *
req_new(struct etcd *e, enum etcd_op op, char *body, etcd_cb cb, void *arg)
{
	struct etcd_req *r = xcalloc(1, sizeof(*r));

	r->e = e;
	r->op = op;
	r->body = body;
	r->cb = cb;
	r->arg = arg;
	r->deadline = evtimer_new(e->base, etcd_req_deadline_cb, r);
	etcd_timer_ms(r->deadline, e->timeout_ms);
	TAILQ_INSERT_TAIL(&e->queue, r, entry);
	r->queued = 1;
	kick(e);
	return r;
}

static void
req_free(struct etcd_req *r)
{
	if (r->queued)
		TAILQ_REMOVE(&r->e->queue, r, entry);
	if (r->done_queued)
		TAILQ_REMOVE(&r->e->done, r, entry);
	event_free(r->deadline);
	free(r->body);
	free(r->resp_body);
	free(r);
}

/* Finish r: its callback runs from the kick event. */
static void
req_finish(struct etcd_req *r)
{
	struct etcd *e = r->e;

	if (r->queued) {
		TAILQ_REMOVE(&e->queue, r, entry);
		r->queued = 0;
	}
	evtimer_del(r->deadline);
	TAILQ_INSERT_TAIL(&e->done, r, entry);
	r->done_queued = 1;
	kick(e);
}

/* r failed without an answer from etcd; why is the bare reason. */
static void
req_fail(struct etcd_req *r, int unknown, const char *why)
{
	snprintf(r->why, sizeof(r->why), "%s", why);
	r->failed = 1;
	r->unknown = unknown;
	req_finish(r);
}

static void
req_error_cb(enum evhttp_request_error herr, void *arg)
{
	struct etcd_req *r = arg;

	/* Our own cancel (deadline, free) is not news. */
	if (herr != EVREQ_HTTP_REQUEST_CANCEL)
		r->herr = (int)herr + 1;
}

static void
req_done_cb(struct evhttp_request *h, void *arg)
{
	struct etcd_req *r = arg;
	struct etcd *e = r->e;
	struct evbuffer *b;
	char why[128];
	size_t n;
	int code;

	r->hreq = NULL;
	e->inflight = NULL;
	code = h != NULL ? evhttp_request_get_response_code(h) : 0;
	if (code == 0) {
		etcd_transport_error(r->herr ? r->herr - 1 : -1, errno, why,
		    sizeof(why));
		r->sock_failed = 1;
		req_fail(r, r->op != ETCD_OP_STATUS && errno != ECONNREFUSED,
		    why);
		return;
	}
	r->http_status = code;
	b = evhttp_request_get_input_buffer(h);
	n = evbuffer_get_length(b);
	r->resp_body = xmalloc(n + 1);
	evbuffer_remove(b, r->resp_body, n);
	r->resp_body[n] = '\0';
	r->resp_len = n;
	req_finish(r);
}

static void
req_send(struct etcd *e, struct etcd_req *r, const char *api)
{
	char uri[64];

	TAILQ_REMOVE(&e->queue, r, entry);
	r->queued = 0;
	if (e->conn == NULL)
		e->conn = etcd_conn_new(e, (e->timeout_ms + 999) / 1000);
	snprintf(uri, sizeof(uri), "%s%s", api, op_paths[r->op]);
	r->hreq = etcd_http_request(e, req_done_cb, req_error_cb, r, r->body);
	r->herr = 0;
	e->inflight = r;
	if (evhttp_make_request(e->conn, r->hreq, EVHTTP_REQ_POST, uri) == -1) {
		/* libevent freed the request. */
		r->hreq = NULL;
		e->inflight = NULL;
		r->sock_failed = 1;
		req_fail(r, 0, "cannot send a request");
	}
}

void
etcd_req_deadline_cb(evutil_socket_t fd, short what, void *arg)
{
	struct etcd_req *r = arg;
	struct etcd *e = r->e;
	struct evhttp_request *h = r->hreq;
	char why[64];

	(void)fd;
	(void)what;
	if (h != NULL) {
		/* In flight: the endpoint is too slow to be of use. */
		r->hreq = NULL;
		e->inflight = NULL;
		evhttp_cancel_request(h);
		r->sock_failed = 1;
		snprintf(why, sizeof(why), "no answer in %d ms", e->timeout_ms);
		req_fail(r, r->op != ETCD_OP_STATUS, why);
		return;
	}
	/* It waited in the queue: etcd was unreachable all along. */
	req_fail(r, 0, "");
}

/* Hand a finished request to its owner, and learn from its outcome. */
static void
req_complete(struct etcd *e, struct etcd_req *r)
{
	struct etcd_decoded d;
	char why[256];
	int probe = r->internal, rc;

	memset(&d, 0, sizeof(d));
	TAILQ_REMOVE(&e->done, r, entry);
	r->done_queued = 0;
	if (r->failed) {
		if (r->why[0] != '\0')
			snprintf(r->err, sizeof(r->err), "etcd %s: %s", r->url,
			    r->why);
		else if (e->state == ETCD_UP)
			snprintf(r->err, sizeof(r->err), "etcd %s: not sent "
			    "within %d ms, behind other requests",
			    e->eps[e->cur].url, e->timeout_ms);
		else
			snprintf(r->err, sizeof(r->err), "etcd unreachable%s%s",
			    e->last_error[0] ? ": " : "", e->last_error);
		memset(&d.resp, 0, sizeof(d.resp));
		d.resp.op = r->op;
		d.resp.error = r->err;
		d.resp.unknown = r->unknown;
		e->failures++;
		/* A request that broke the connection or timed out says the
		 * endpoint is bad; one that only waited in the queue does
		 * not. */
		if (r->sock_failed && (e->state == ETCD_UP ||
		    e->state == ETCD_CONNECTING))
			etcd_endpoint_failed(e, r->why);
	} else {
		rc = etcd_json_resp(r->op, r->http_status, r->resp_body,
		    r->resp_len, &d);
		if (probe && r->http_status == 404 && e->state ==
		    ETCD_CONNECTING) {
			/* No gateway under this path: the next one. */
			etcd_decoded_free(&d);
			req_free(r);
			if (++e->probe_api < (int)NELEMS(apis))
				connect_next(e);
			else
				etcd_endpoint_failed(e, "no v3 JSON gateway "
				    "(/v3, /v3beta) at this URL");
			return;
		}
		if (rc == -1 || (!d.resp.ok && (r->http_status == 503 ||
		    d.resp.code == ETCD_CODE_UNAVAILABLE))) {
			snprintf(why, sizeof(why), "%s", d.resp.error);
			if (e->state == ETCD_UP || e->state == ETCD_CONNECTING)
				etcd_endpoint_failed(e, why);
			snprintf(r->err, sizeof(r->err), "etcd %s: %s",
			    r->url, why);
			d.resp.error = r->err;
			d.resp.ok = 0;
			e->failures++;
		} else if (!d.resp.ok) {
			snprintf(r->err, sizeof(r->err), "etcd %s: %s",
			    r->url, d.resp.error);
			d.resp.error = r->err;
			e->failures++;
			e->last_ok_us = now_us();
		} else {
			e->requests++;
			e->last_ok_us = now_us();
			note_header(e, &d.resp);
			if (probe && e->state == ETCD_CONNECTING) {
				snprintf(e->api, sizeof(e->api), "%s",
				    apis[e->probe_api]);
				go_up(e, &d.resp);
			}
		}
	}
	if (r->cb != NULL)
		r->cb(&d.resp, r->arg);
	etcd_decoded_free(&d);
	req_free(r);
}

/* The kick event: free dead connections, hand out finished requests, send
 * the next one. */
static void
kick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct etcd *e = arg;
	struct etcd_req *r;

	(void)fd;
	(void)what;
	free_dead(e);
	while ((r = TAILQ_FIRST(&e->done)) != NULL)
		req_complete(e, r);
	if (e->inflight != NULL || e->state != ETCD_UP)
		return;
	if ((r = TAILQ_FIRST(&e->queue)) != NULL) {
		snprintf(r->url, sizeof(r->url), "%s", e->eps[e->cur].url);
		req_send(e, r, e->api);
	}
}

static void
kick(struct etcd *e)
{
	event_active(e->kick, 0, 0);
}

/* The current endpoint's address is known: the probe goes out at once,
 * ahead of the queue. */
static void
connect_probe(struct etcd *e)
{
	struct etcd_req *r;

	r = xcalloc(1, sizeof(*r));
	r->e = e;
	r->op = ETCD_OP_STATUS;
	r->body = etcd_json_status();
	r->internal = 1;
	r->deadline = evtimer_new(e->base, etcd_req_deadline_cb, r);
	etcd_timer_ms(r->deadline, e->timeout_ms);
	snprintf(r->url, sizeof(r->url), "%s", e->eps[e->cur].url);
	TAILQ_INSERT_HEAD(&e->queue, r, entry);
	r->queued = 1;
	req_send(e, r, apis[e->probe_api]);
}

/* The current endpoint's name resolved (or not): connect, or count it as
 * a failed endpoint (the next one, or a pause, as for any failure). */
static void
resolved(int rc, struct evutil_addrinfo *res, void *arg)
{
	struct etcd_lookup *lk = arg;
	struct etcd *e = lk->e;
	struct etcd_endpoint *ep;
	char num[INET6_ADDRSTRLEN], why[512];
	const void *a;

	free(lk);
	if (e == NULL) {
		/* Its client is gone. */
		if (res != NULL)
			evutil_freeaddrinfo(res);
		return;
	}
	e->lookup = NULL;
	ep = &e->eps[e->cur];
	if (rc != 0 || res == NULL) {
		snprintf(why, sizeof(why), "cannot resolve %s: %s", ep->name,
		    rc != 0 ? evutil_gai_strerror(rc) : "no address");
		if (res != NULL)
			evutil_freeaddrinfo(res);
		etcd_endpoint_failed(e, why);
		return;
	}
	a = res->ai_family == AF_INET6 ?
	    (const void *)&((struct sockaddr_in6 *)res->ai_addr)->sin6_addr :
	    (const void *)&((struct sockaddr_in *)res->ai_addr)->sin_addr;
	if (evutil_inet_ntop(res->ai_family, a, num, sizeof(num)) == NULL) {
		evutil_freeaddrinfo(res);
		etcd_endpoint_failed(e, "the resolver gave no usable address");
		return;
	}
	evutil_freeaddrinfo(res);
	if (ep->addr[0] != '\0' && strcmp(ep->addr, num) != 0)
		log_info("etcd: %s resolves to %s now (was %s)", ep->name, num,
		    ep->addr);
	snprintf(ep->addr, sizeof(ep->addr), "%s", num);
	connect_probe(e);
}

/* Try the current endpoint: a name is resolved again each time, so a
 * member that moved to another address is followed. */
static void
connect_next(struct etcd *e)
{
	struct etcd_endpoint *ep = &e->eps[e->cur];
	struct evutil_addrinfo hints;
	char port[16];

	e->state = ETCD_CONNECTING;
	if (e->conn != NULL) {
		etcd_conn_drop(e, e->conn, NULL);
		e->conn = NULL;
	}
	if (ep->name[0] == '\0') {
		connect_probe(e);
		return;
	}
	if (e->lookup != NULL)
		/* Not expected (one connect at a time): its answer is old. */
		e->lookup->e = NULL;
	e->lookup = xcalloc(1, sizeof(*e->lookup));
	e->lookup->e = e;
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	snprintf(port, sizeof(port), "%d", ep->port);
	/* resolved() may run before this returns (a hosts file entry). */
	(void)evdns_getaddrinfo(resolver, ep->name, port, &hints, resolved,
	    e->lookup);
}

static void
retry_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	connect_next(arg);
}

/* While connected: if nothing succeeded lately, ask for the status. */
static void
probe_cb(evutil_socket_t fd, short what, void *arg)
{
	struct etcd *e = arg;
	struct etcd_req *r;

	(void)fd;
	(void)what;
	etcd_timer_ms(e->probe_timer, PROBE_INTERVAL_MS);
	if (e->state != ETCD_UP || e->probe_pending)
		return;
	if (e->last_ok_us != 0 &&
	    now_us() - e->last_ok_us < PROBE_INTERVAL_MS * 1000ULL)
		return;
	r = req_new(e, ETCD_OP_STATUS, etcd_json_status(), etcd_probe_done, e);
	r->internal = 1;
	e->probe_pending = 1;
}

void
etcd_probe_done(const struct etcd_resp *r, void *arg)
{
	struct etcd *e = arg;

	(void)r;
	e->probe_pending = 0;
}

/* ---- public ---- */

/*
 * The resolver for endpoint names, made at the first client that has one:
 * the system's (/etc/resolv.conf, /etc/hosts), each lookup bounded (2 s, 2
 * tries a name server).  DNSROUTED_RESOLV_CONF names another resolv.conf:
 * the tests point it at a name server of their own.  It lives as long as
 * the process, so a lookup still under way at exit (etcd away, its name
 * server silent) is never cut off: cancelled, evdns would answer it from
 * the loop, which runs no more, and its memory would be lost.
 */
static int
resolver_init(struct etcd *e, char *err, size_t errlen)
{
	const char *conf = getenv("DNSROUTED_RESOLV_CONF");
	int i;

	for (i = 0; i < e->neps && e->eps[i].name[0] == '\0'; i++)
		;
	if (i == e->neps || resolver != NULL)
		return 0;
	resolver = evdns_base_new(e->base, (conf == NULL ?
	    EVDNS_BASE_INITIALIZE_NAMESERVERS : 0) |
	    EVDNS_BASE_DISABLE_WHEN_INACTIVE);
	if (resolver == NULL) {
		snprintf(err, errlen, "cannot set up a resolver for the etcd "
		    "endpoint names");
		return -1;
	}
	if (conf != NULL && evdns_base_resolv_conf_parse(resolver,
	    DNS_OPTIONS_ALL, conf) != 0) {
		snprintf(err, errlen, "DNSROUTED_RESOLV_CONF: cannot read %s",
		    conf);
		evdns_base_free(resolver, 0);
		resolver = NULL;
		return -1;
	}
	if (evdns_base_set_option(resolver, "timeout:", "2") != 0 ||
	    evdns_base_set_option(resolver, "attempts:", "2") != 0)
		log_warnx("etcd: cannot bound the resolver's tries");
	return 0;
}

struct etcd *
etcd_new(struct event_base *base, const char *endpoints, char *err,
    size_t errlen)
{
	struct etcd *e;
	char *list, *p, *tok, *save = NULL;

	e = xcalloc(1, sizeof(*e));
	e->base = base;
	e->timeout_ms = ETCD_TIMEOUT_MS;
	TAILQ_INIT(&e->queue);
	TAILQ_INIT(&e->done);
	TAILQ_INIT(&e->watches);
	list = xstrdup(endpoints);
	for (p = list; (tok = strtok_r(p, ",", &save)) != NULL; p = NULL) {
		while (*tok == ' ')
			tok++;
		if (*tok == '\0')
			continue;
		if (e->neps == ETCD_MAX_ENDPOINTS) {
			snprintf(err, errlen, "at most %d etcd endpoints",
			    ETCD_MAX_ENDPOINTS);
			goto fail;
		}
		if (parse_endpoint(tok, &e->eps[e->neps], err, errlen) == -1)
			goto fail;
		e->neps++;
	}
	if (e->neps == 0) {
		snprintf(err, errlen, "no etcd endpoint in \"%s\"", endpoints);
		goto fail;
	}
	if (resolver_init(e, err, errlen) == -1)
		goto fail;
	free(list);
	e->kick = event_new(base, -1, 0, kick_cb, e);
	e->retry = evtimer_new(base, retry_cb, e);
	e->probe_timer = evtimer_new(base, probe_cb, e);
	e->since_us = wall_us();
	etcd_timer_ms(e->probe_timer, PROBE_INTERVAL_MS);
	/* The first connect from the loop, once the daemon runs. */
	etcd_timer_ms(e->retry, 0);
	return e;

fail:
	free(list);
	free(e);
	return NULL;
}

void
etcd_free(struct etcd *e)
{
	struct etcd_req *r;

	if (e == NULL)
		return;
	etcd_watches_free(e);
	if (e->lookup != NULL)
		/* Left to the resolver (see resolver_init). */
		e->lookup->e = NULL;
	/* Freeing the connection frees the request in flight on it, without
	 * a callback. */
	if (e->conn != NULL)
		evhttp_connection_free(e->conn);
	if (e->inflight != NULL) {
		e->inflight->hreq = NULL;
		req_free(e->inflight);
	}
	while ((r = TAILQ_FIRST(&e->queue)) != NULL)
		req_free(r);
	while ((r = TAILQ_FIRST(&e->done)) != NULL)
		req_free(r);
	free_dead(e);
	free(e->dead);
	event_free(e->kick);
	event_free(e->retry);
	event_free(e->probe_timer);
	free(e);
}

void
etcd_set_timeout(struct etcd *e, int ms)
{
	e->timeout_ms = ms > 0 ? ms : ETCD_TIMEOUT_MS;
}

void
etcd_listen(struct etcd *e, etcd_state_cb cb, void *arg)
{
	if (e->nlisteners == (int)NELEMS(e->listeners))
		fatalx("etcd: too many listeners");
	e->listeners[e->nlisteners].cb = cb;
	e->listeners[e->nlisteners].arg = arg;
	e->nlisteners++;
}

void
etcd_unlisten(struct etcd *e, etcd_state_cb cb, void *arg)
{
	int i;

	for (i = 0; i < e->nlisteners; i++)
		if (e->listeners[i].cb == cb && e->listeners[i].arg == arg) {
			e->listeners[i] = e->listeners[--e->nlisteners];
			return;
		}
}

void
etcd_status(const struct etcd *e, struct etcd_status *st)
{
	memset(st, 0, sizeof(*st));
	st->connected = e->state == ETCD_UP;
	st->endpoint = e->eps[e->cur].url;
	st->api = e->api;
	st->server_version = e->server_version;
	st->revision = e->revision;
	st->cluster_id = e->cluster_id;
	st->since_us = e->since_us;
	st->last_error = e->last_error;
	st->last_error_us = e->last_error_us;
	st->failovers = e->failovers;
	st->requests = e->requests;
	st->failures = e->failures;
}

int
etcd_nendpoints(const struct etcd *e)
{
	return e->neps;
}

void
etcd_endpoint(const struct etcd *e, int i, struct etcd_endpoint_status *st)
{
	const struct etcd_endpoint *ep = &e->eps[i];

	memset(st, 0, sizeof(*st));
	st->url = ep->url;
	st->current = i == e->cur;
	st->ok = ep->ok;
	st->last_error = ep->last_error;
	st->last_error_us = ep->last_error_us;
	st->revision = ep->revision;
}

struct etcd_req *
etcd_range(struct etcd *e, const char *key, const char *end, unsigned flags,
    int64_t revision, int64_t limit, etcd_cb cb, void *arg)
{
	return req_new(e, ETCD_OP_RANGE, etcd_json_range(key, end, flags,
	    revision, limit), cb, arg);
}

struct etcd_req *
etcd_put(struct etcd *e, const char *key, const void *val, size_t vallen,
    int64_t lease, unsigned flags, etcd_cb cb, void *arg)
{
	return req_new(e, ETCD_OP_PUT, etcd_json_put(key, val, vallen, lease,
	    flags), cb, arg);
}

struct etcd_req *
etcd_delete(struct etcd *e, const char *key, const char *end, unsigned flags,
    etcd_cb cb, void *arg)
{
	return req_new(e, ETCD_OP_DELETE, etcd_json_delete(key, end, flags),
	    cb, arg);
}

struct etcd_req *
etcd_compact(struct etcd *e, int64_t revision, etcd_cb cb, void *arg)
{
	return req_new(e, ETCD_OP_COMPACT, etcd_json_compact(revision), cb,
	    arg);
}

struct etcd_req *
etcd_lease_grant(struct etcd *e, int64_t ttl, int64_t id, etcd_cb cb,
    void *arg)
{
	return req_new(e, ETCD_OP_LEASE_GRANT, etcd_json_lease_grant(ttl, id),
	    cb, arg);
}

struct etcd_req *
etcd_lease_keepalive(struct etcd *e, int64_t id, etcd_cb cb, void *arg)
{
	return req_new(e, ETCD_OP_LEASE_KEEPALIVE, etcd_json_lease_id(id), cb,
	    arg);
}

struct etcd_req *
etcd_lease_revoke(struct etcd *e, int64_t id, etcd_cb cb, void *arg)
{
	return req_new(e, ETCD_OP_LEASE_REVOKE, etcd_json_lease_id(id), cb,
	    arg);
}

struct etcd_req *
etcd_txn_commit(struct etcd *e, struct etcd_txn *t, etcd_cb cb, void *arg)
{
	char *body = etcd_json_txn(t);

	etcd_txn_free(t);
	return req_new(e, ETCD_OP_TXN, body, cb, arg);
}

void
etcd_req_cancel(struct etcd_req *r)
{
	if (r == NULL)
		return;
	if (r->hreq != NULL) {
		/* In flight: let it finish on the wire, unheard, so the
		 * connection stays usable; only the callback goes. */
		r->cb = NULL;
		return;
	}
	req_free(r);
}

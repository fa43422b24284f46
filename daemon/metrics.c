/*
 * metrics: GET /metrics in the Prometheus text format (version 0.0.4),
 * served by libevent's HTTP server on the main thread's base (see
 * metrics.h).
 *
 * What it shows is what `show stats`, `show backends` and `show routes`
 * show, read the same way: the workers' counters summed (relaxed atomic
 * loads, never a lock a worker takes), the backends' atomics, the current
 * snapshot's routes, and with etcd (-e) the client's, the registrations'
 * and the fleet's figures (`show fleet`).  Names are dnsroute_*; counters
 * end in _total;
 * backends are told apart by a backend="NAME" label and routes by
 * route="ID".  Label values are escaped as the format wants (\\ \" \n)
 * and anything that is not printable ASCII becomes '?', so a scrape is
 * always valid UTF-8 and one sample per line.
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "config.h"
#include "etcd.h"
#include "fleet.h"
#include "log.h"
#include "metrics.h"
#include "pace.h"
#include "registry.h"
#include "share.h"
#include "state.h"
#include "stats.h"
#include "util.h"
#include "worker.h"

#define METRICS_TIMEOUT_S	10
#define METRICS_MAX_HEADERS	8192

struct metrics {
	struct evhttp			*http;
	struct evhttp_bound_socket	*bound;
	char				 addr[64];
};

/* A label value between double quotes. */
static void
put_label(struct evbuffer *b, const char *s)
{
	unsigned char c;

	evbuffer_add(b, "\"", 1);
	for (; (c = (unsigned char)*s) != '\0'; s++) {
		if (c == '\\')
			evbuffer_add(b, "\\\\", 2);
		else if (c == '"')
			evbuffer_add(b, "\\\"", 2);
		else if (c == '\n')
			evbuffer_add(b, "\\n", 2);
		else if (c < 0x20 || c >= 0x7f)
			evbuffer_add(b, "?", 1);
		else
			evbuffer_add(b, s, 1);
	}
	evbuffer_add(b, "\"", 1);
}

static void
put_head(struct evbuffer *b, const char *name, const char *type,
    const char *help)
{
	evbuffer_add_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help,
	    name, type);
}

/* name{backend="NAME"[,extra]} value */
static void
put_backend(struct evbuffer *b, const char *name, const struct backend *be,
    const char *extra, unsigned long long v)
{
	evbuffer_add_printf(b, "%s{backend=", name);
	put_label(b, be->name);
	evbuffer_add_printf(b, "%s} %llu\n", extra != NULL ? extra : "", v);
}

static void
put_counters(struct evbuffer *b)
{
	uint64_t *sum;
	long out = 0;
	char name[128], *p;
	int i;

	sum = xcalloc(stat_ndescs, sizeof(*sum));
	for (i = 0; i < dr->nworkers; i++) {
		stats_sum(worker_stats(dr->workers[i]), sum);
		out += worker_outstanding(dr->workers[i]);
	}
	for (i = 0; i < stat_ndescs; i++) {
		snprintf(name, sizeof(name), "dnsroute_%s_total",
		    stat_descs[i].name);
		for (p = name; *p != '\0'; p++)
			if (*p == '-')
				*p = '_';
		put_head(b, name, "counter", stat_descs[i].help);
		evbuffer_add_printf(b, "%s %llu\n", name,
		    (unsigned long long)sum[i]);
	}
	free(sum);
	put_head(b, "dnsroute_outstanding", "gauge",
	    "queries waiting for a backend's answer");
	evbuffer_add_printf(b, "dnsroute_outstanding %ld\n", out);
	put_head(b, "dnsroute_uptime_seconds", "gauge",
	    "seconds since dnsrouted started");
	evbuffer_add_printf(b, "dnsroute_uptime_seconds %lld\n",
	    (long long)((wall_us() - dr->started_us) / 1000000));
	put_head(b, "dnsroute_workers", "gauge", "DNS worker threads");
	evbuffer_add_printf(b, "dnsroute_workers %d\n", dr->nworkers);
	put_head(b, "dnsroute_config_publishes_total", "counter",
	    "configuration snapshots published since start (each change)");
	evbuffer_add_printf(b, "dnsroute_config_publishes_total %llu\n",
	    (unsigned long long)dr->generation);
	put_head(b, "dnsroute_build_info", "gauge",
	    "always 1; the version is a label");
	evbuffer_add_printf(b, "dnsroute_build_info{version=");
	put_label(b, DNSROUTE_VERSION);
	evbuffer_add_printf(b, "} 1\n");
}

#define FOR_BACKENDS(c, i, be) \
	for ((i) = 0; (i) < (c)->nbackends && ((be) = (c)->backends[(i)]); (i)++)

static void
put_backends(struct evbuffer *b, const struct config *c)
{
	static const int admins[] = { ADMIN_ENABLED, ADMIN_DRAINED,
	    ADMIN_DISABLED };
	static const int healths[] = { HEALTH_UP, HEALTH_DOWN, HEALTH_UNKNOWN };
	const struct backend *be;
	unsigned long long cnt[LAT_BUCKETS], acc;
	char extra[96];
	size_t k;
	int i, j, v;

	if (c->nbackends == 0)
		return;
	put_head(b, "dnsroute_backend_queries_total", "counter",
	    "queries sent to the backend, retries included");
	FOR_BACKENDS(c, i, be)
		put_backend(b, "dnsroute_backend_queries_total", be, NULL,
		    BACKEND_WSUM(be, queries));
	put_head(b, "dnsroute_backend_answers_total", "counter",
	    "answers accepted from the backend");
	FOR_BACKENDS(c, i, be)
		put_backend(b, "dnsroute_backend_answers_total", be, NULL,
		    BACKEND_WSUM(be, answers));
	put_head(b, "dnsroute_backend_race_wins_total", "counter",
	    "races of a race pool that the backend's answer won");
	FOR_BACKENDS(c, i, be)
		put_backend(b, "dnsroute_backend_race_wins_total", be, NULL,
		    atomic_load_explicit(&be->race_wins, memory_order_relaxed));
	put_head(b, "dnsroute_backend_failures_total", "counter",
	    "tries that failed: timeouts, refused or closed connections");
	FOR_BACKENDS(c, i, be)
		put_backend(b, "dnsroute_backend_failures_total", be, NULL,
		    atomic_load_explicit(&be->failures, memory_order_relaxed));
	put_head(b, "dnsroute_backend_health_checks_failed_total", "counter",
	    "health checks that failed");
	FOR_BACKENDS(c, i, be)
		put_backend(b, "dnsroute_backend_health_checks_failed_total", be,
		    NULL, atomic_load_explicit(&be->checks_failed,
		    memory_order_relaxed));
	put_head(b, "dnsroute_backend_outstanding", "gauge",
	    "queries waiting for this backend's answer");
	FOR_BACKENDS(c, i, be) {
		long o = backend_outstanding(be);

		put_backend(b, "dnsroute_backend_outstanding", be, NULL,
		    o > 0 ? (unsigned long long)o : 0);
	}
	put_head(b, "dnsroute_backend_up", "gauge",
	    "1 when the health checks say up, else 0");
	FOR_BACKENDS(c, i, be)
		put_backend(b, "dnsroute_backend_up", be, NULL,
		    atomic_load_explicit(&be->health, memory_order_relaxed) ==
		    HEALTH_UP);
	put_head(b, "dnsroute_backend_usable", "gauge",
	    "1 when the backend takes new queries (enabled and up)");
	FOR_BACKENDS(c, i, be)
		put_backend(b, "dnsroute_backend_usable", be, NULL,
		    backend_usable(be));
	put_head(b, "dnsroute_backend_health_state", "gauge",
	    "1 for the backend's health state (up, down, unknown)");
	FOR_BACKENDS(c, i, be) {
		v = atomic_load_explicit(&be->health, memory_order_relaxed);
		for (k = 0; k < NELEMS(healths); k++) {
			snprintf(extra, sizeof(extra), ",state=\"%s\"",
			    words_name(&words_health, healths[k]));
			put_backend(b, "dnsroute_backend_health_state", be, extra,
			    v == healths[k]);
		}
	}
	put_head(b, "dnsroute_backend_admin_state", "gauge",
	    "1 for the operator's setting (enabled, drained, disabled)");
	FOR_BACKENDS(c, i, be) {
		v = atomic_load_explicit(&be->admin, memory_order_relaxed);
		for (k = 0; k < NELEMS(admins); k++) {
			snprintf(extra, sizeof(extra), ",state=\"%s\"",
			    words_name(&words_admin, admins[k]));
			put_backend(b, "dnsroute_backend_admin_state", be, extra,
			    v == admins[k]);
		}
	}
	put_head(b, "dnsroute_backend_weight", "gauge", "the backend's weight");
	FOR_BACKENDS(c, i, be)
		put_backend(b, "dnsroute_backend_weight", be, NULL,
		    (unsigned long long)atomic_load_explicit(&be->weight,
		    memory_order_relaxed));
	put_head(b, "dnsroute_backend_check_rtt_seconds", "gauge",
	    "round trip of the last health check that passed");
	FOR_BACKENDS(c, i, be) {
		v = atomic_load_explicit(&be->check_rtt_us, memory_order_relaxed);
		if (v <= 0)
			continue;
		evbuffer_add_printf(b, "dnsroute_backend_check_rtt_seconds"
		    "{backend=");
		put_label(b, be->name);
		evbuffer_add_printf(b, "} %d.%06d\n", v / 1000000, v % 1000000);
	}
	/* The histogram the workers keep: doubling buckets from 16 µs; the
	 * last is open-ended, so it is +Inf here.  No _sum: the latencies
	 * are not summed anywhere. */
	put_head(b, "dnsroute_backend_latency_seconds", "histogram",
	    "round trip of the answers accepted from the backend");
	FOR_BACKENDS(c, i, be) {
		for (j = 0; j < LAT_BUCKETS; j++)
			cnt[j] = backend_wsum(be, offsetof(struct
			    backend_wcount, lat_hist) + j * sizeof(atomic_ulong));
		for (j = 0, acc = 0; j < LAT_BUCKETS; j++) {
			unsigned us = lat_bucket_bound(j);

			acc += cnt[j];
			if (j < LAT_BUCKETS - 1)
				snprintf(extra, sizeof(extra), ",le=\"%u.%06u\"",
				    us / 1000000, us % 1000000);
			else
				snprintf(extra, sizeof(extra), ",le=\"+Inf\"");
			put_backend(b, "dnsroute_backend_latency_seconds_bucket",
			    be, extra, acc);
		}
		put_backend(b, "dnsroute_backend_latency_seconds_count", be,
		    NULL, acc);
	}
}

static void
put_routes(struct evbuffer *b, const struct config *c)
{
	const struct croute *r;
	const struct pool *p;
	int i;

	if (c->nroutes == 0)
		return;
	put_head(b, "dnsroute_route_hits_total", "counter",
	    "queries the route matched first");
	for (i = 0; i < c->nroutes; i++) {
		r = &c->routes[i];
		evbuffer_add_printf(b, "dnsroute_route_hits_total{route=\"%lld\","
		    "pattern=", (long long)r->id);
		put_label(b, r->pattern);
		evbuffer_add_printf(b, ",action=\"%s\",pool=",
		    words_name(&words_action, r->action));
		p = config_route_pool(c, r);
		put_label(b, p != NULL ? p->name : "");
		evbuffer_add_printf(b, "} %llu\n", (unsigned long long)
		    route_hits_count(r->hits));
	}
}

static void
put_gauge(struct evbuffer *b, const char *name, const char *type,
    const char *help, long long v)
{
	put_head(b, name, type, help);
	evbuffer_add_printf(b, "%s %lld\n", name, v);
}

/* The name of a row of show stats as a metric: routes-pending becomes
 * dnsroute_routes_pending, then suffix. */
static void
metric_name(char *m, size_t mlen, const char *name, size_t namelen,
    const char *suffix)
{
	char *p;

	snprintf(m, mlen, "dnsroute_%.*s%s", (int)namelen, name, suffix);
	for (p = m; *p != '\0'; p++)
		if (*p == '-')
			*p = '_';
}

/* The patterns' compilation (state_route_stats). */
static void
put_compile_row(void *arg, const char *name, long long v, const char *help)
{
	char m[64];

	metric_name(m, sizeof(m), name, strlen(name), "");
	put_gauge(arg, m, "gauge", help, v);
}

/* The change budget (pace_stats): pace-on a gauge, the others counters;
 * pace-waited-ms becomes dnsroute_pace_waited_seconds_total. */
static void
put_pace_row(void *arg, const char *name, long long v, const char *help)
{
	size_t n = strlen(name);
	char m[64];

	if (strcmp(name, "pace-on") == 0) {
		put_compile_row(arg, name, v, help);
		return;
	}
	if (n > 3 && strcmp(name + n - 3, "-ms") == 0) {
		metric_name(m, sizeof(m), name, n - 3, "_seconds_total");
		put_head(arg, m, "counter", help);
		evbuffer_add_printf(arg, "%s %.3f\n", m, v / 1000.0);
		return;
	}
	metric_name(m, sizeof(m), name, n, "_total");
	put_gauge(arg, m, "counter", help, v);
}

/* Only with etcd (-e): the client, the registrations, the fleet. */
static void
put_fleet(struct evbuffer *b)
{
	struct etcd_status st;
	struct registry_status rs;
	struct share_status ss;

	if (dr->etcd == NULL)
		return;
	etcd_status(dr->etcd, &st);
	put_gauge(b, "dnsroute_etcd_connected", "gauge",
	    "1 while an etcd endpoint answers", st.connected);
	put_gauge(b, "dnsroute_etcd_revision", "gauge",
	    "the highest etcd revision seen", st.revision);
	put_gauge(b, "dnsroute_etcd_failovers_total", "counter",
	    "moves to another etcd endpoint", (long long)st.failovers);
	put_gauge(b, "dnsroute_etcd_requests_failed_total", "counter",
	    "etcd requests that failed, any reason", (long long)st.failures);
	if (dr->registry != NULL) {
		registry_status(dr->registry, &rs);
		put_gauge(b, "dnsroute_registrations", "gauge",
		    "nameservers registered through etcd, in the snapshot",
		    rs.registrations);
		put_gauge(b, "dnsroute_registrations_revision", "gauge",
		    "the etcd revision the registrations reflect", rs.revision);
		put_head(b, "dnsroute_registrations_lag_seconds", "gauge",
		    "how long the registrations may be behind etcd (0: live)");
		evbuffer_add_printf(b, "dnsroute_registrations_lag_seconds "
		    "%.3f\n", rs.lag_s);
		put_gauge(b, "dnsroute_registrations_malformed", "gauge",
		    "registration keys whose value is malformed now",
		    rs.malformed);
		put_gauge(b, "dnsroute_registrations_malformed_total",
		    "counter", "malformed registration values seen",
		    (long long)rs.malformed_total);
	}
	put_gauge(b, "dnsroute_fleet_routers", "gauge",
	    "routers of the fleet seen in etcd, this one included",
	    fleet_nrouters(dr->fleet));
	share_status(dr->share, &ss);
	put_gauge(b, "dnsroute_fleet_joined", "gauge",
	    "1 while this router shares its state with the fleet", ss.joined);
	put_gauge(b, "dnsroute_fleet_revision", "gauge",
	    "the etcd revision of the shared state this router serves",
	    ss.revision);
	put_head(b, "dnsroute_fleet_lag_seconds", "gauge",
	    "how long the shared state here may be behind etcd's (0: in sync)");
	evbuffer_add_printf(b, "dnsroute_fleet_lag_seconds %.3f\n", ss.lag_s);
	put_gauge(b, "dnsroute_fleet_applied_total", "counter",
	    "changes of other routers applied here", (long long)ss.applied);
	put_gauge(b, "dnsroute_fleet_changes_total", "counter",
	    "changes made here that etcd took", (long long)ss.proposed);
	put_gauge(b, "dnsroute_fleet_refused_total", "counter",
	    "changes made here refused: another came first",
	    (long long)ss.refused);
}

static void
request_cb(struct evhttp_request *req, void *arg)
{
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	const char *path = uri != NULL ? evhttp_uri_get_path(uri) : NULL;
	struct evkeyvalq *hdr = evhttp_request_get_output_headers(req);
	struct evbuffer *b;

	(void)arg;
	if (path == NULL || strcmp(path, "/metrics") != 0) {
		evhttp_send_error(req, HTTP_NOTFOUND, "only /metrics is here");
		return;
	}
	if ((b = evbuffer_new()) == NULL) {
		evhttp_send_error(req, HTTP_SERVUNAVAIL, NULL);
		return;
	}
	put_counters(b);
	put_backends(b, dr->cfg);
	put_routes(b, dr->cfg);
	state_route_stats(put_compile_row, b);
	pace_stats(put_pace_row, b);
	put_fleet(b);
	evhttp_add_header(hdr, "Content-Type",
	    "text/plain; version=0.0.4; charset=utf-8");
	evhttp_add_header(hdr, "Cache-Control", "no-store");
	evhttp_send_reply(req, HTTP_OK, "OK", b);
	evbuffer_free(b);
}

struct metrics *
metrics_new(struct event_base *base, const char *addr, char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	struct metrics *m;
	socklen_t sslen;
	int fd, on = 1;

	if (addr_parse(addr, 0, &ss, &sslen, err, errlen) == -1)
		return NULL;
	if ((ss.ss_family == AF_INET &&
	    ((struct sockaddr_in *)&ss)->sin_port == 0) ||
	    (ss.ss_family == AF_INET6 &&
	    ((struct sockaddr_in6 *)&ss)->sin6_port == 0)) {
		snprintf(err, errlen, "needs a port (ADDR:PORT)");
		return NULL;
	}
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return NULL;
	}
	(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
	if (ss.ss_family == AF_INET6)
		(void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on));
	if (bind(fd, (struct sockaddr *)&ss, sslen) == -1 || listen(fd, 16) == -1) {
		snprintf(err, errlen, "%s", strerror(errno));
		close(fd);
		return NULL;
	}
	m = xcalloc(1, sizeof(*m));
	addr_fmt((struct sockaddr *)&ss, m->addr, sizeof(m->addr));
	if ((m->http = evhttp_new(base)) == NULL) {
		snprintf(err, errlen, "evhttp_new failed");
		close(fd);
		free(m);
		return NULL;
	}
	/* A scrape is a small GET; anything else is refused early, and a
	 * client that sits on its connection is cut off. */
	evhttp_set_allowed_methods(m->http, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD);
	evhttp_set_timeout(m->http, METRICS_TIMEOUT_S);
	evhttp_set_max_headers_size(m->http, METRICS_MAX_HEADERS);
	evhttp_set_max_body_size(m->http, 0);
	evhttp_set_gencb(m->http, request_cb, m);
	if ((m->bound = evhttp_accept_socket_with_handle(m->http, fd)) == NULL) {
		snprintf(err, errlen, "cannot serve HTTP on %s", m->addr);
		evhttp_free(m->http);
		close(fd);
		free(m);
		return NULL;
	}
	log_info("metrics on http://%s/metrics", m->addr);
	return m;
}

void
metrics_free(struct metrics *m)
{
	if (m == NULL)
		return;
	/* Closes the listening socket and any client connection. */
	evhttp_free(m->http);
	free(m);
}

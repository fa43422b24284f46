/*
 * trace: `show recent` and live `trace`, read from the workers' query rings
 * (see trace.h).
 *
 * The rings are the workers' (tring.h): each writes a record for every
 * query it finishes with, and this file only reads them, from the main
 * thread; a reader that is too slow finds newer records where it looked
 * and counts those as missed.
 *
 * Tracers, one per control client running `trace`, are fed from the rings
 * every TRACE_TICK_MS while there are any: the records since the last
 * tick, merged across workers in completion order, each formatted once
 * and appended to the output of every tracer whose filters it passes.
 * A tracer whose client holds more than TRACE_OUT_HIWAT unread bytes
 * loses lines, counted; the count is shown in a notice every second and
 * in the final line.  The control connection reads no request while its
 * trace runs (reply_async_begin); the trace ends at its limit or time
 * with a final line, or silently when its client leaves (trace_cancel).
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>

#include "cmd.h"
#include "config.h"
#include "ctlproto.h"
#include "dnsnames.h"
#include "log.h"
#include "route.h"
#include "state.h"
#include "trace.h"
#include "tring.h"
#include "tsig.h"
#include "util.h"
#include "worker.h"

#define TRACE_TICK_MS	10
#define TRACE_OUT_HIWAT	(1024 * 1024)
#define TRACE_MAX	32		/* traces at once */
#define TRACE_NOTICE_US	1000000

#define COLUMNS "time\tclient\ttransport\tname\ttype\troute#\tbackend\ttries#" \
	"\trcode\tanswers#\tlatency_us#\toutcome"

struct tracer {
	struct tracer		*next;
	struct ctl_conn		*conn;
	struct cmd_session	*sess;
	struct route_table	*re;		/* NULL: every name */
	char			*pattern;
	struct sockaddr_storage	 client;
	int			 have_client;
	char			 backend[CONF_NAME_MAX];	/* "": any */
	unsigned long		 limit;		/* 0: none */
	uint64_t		 deadline_us;	/* 0: none */
	uint64_t		 next_notice_us;
	unsigned long		 lines, missed, missed_told;
	int			 done;
};

static struct tring		*rings[MAX_WORKERS];	/* the workers' */
static uint64_t			 cursor[MAX_WORKERS];	/* next record to trace */
static struct tracer		*tracers;
static int			 ntracers;
static struct event		*tick;
static struct route_matcher	*matcher;

static uint64_t
ring_head(int i)
{
	return tring_head(rings[i]);
}

/* ---- formatting ---- */

enum { F_TIME, F_CLIENT, F_TRANSPORT, F_NAME, F_TYPE, F_ROUTE, F_BACKEND,
	F_TRIES, F_RCODE, F_ANSWERS, F_LATENCY, F_OUTCOME, F__COUNT };

struct tfields {
	const char	*f[F__COUNT];	/* NULL: no value */
	char		 time[64];
	char		 client[64];
	char		 type[16];
	char		 route[24];
	char		 backend[CONF_NAME_MAX + 24];
	char		 tries[8];
	char		 rcode[16];
	char		 answers[8];
	char		 latency[16];
	char		 outcome[48];
};

/* The presentation name of t into buf; its length, or -1 when t has no
 * question. */
static int
rec_name(const struct trec *t, char *buf, size_t len)
{
	if (t->namelen == 0)
		return -1;
	return dns_name_to_text(t->name, t->namelen, 0, buf, len);
}

static const char *
outcome_name(const struct trec *t, char *buf, size_t len)
{
	switch (t->outcome) {
	case TRACE_OK:
		return "ok";
	case TRACE_MALFORMED:
		snprintf(buf, len, "malformed:%s",
		    t->detail < DNS_E_MAX ? dns_err_str(t->detail) : "?");
		return buf;
	case TRACE_XFR_REFUSED:
		return "xfr-refused";
	case TRACE_NOROUTE:
		return t->rcode < 0 ? "noroute-dropped" : "noroute";
	case TRACE_ROUTE_ANSWER:
		return t->rcode < 0 ? "route-dropped" : "route-answer";
	case TRACE_POOL_DOWN:
		return "pool-down";
	case TRACE_TIMEOUT:
		return "timeout";
	case TRACE_REFUSED:
		return "backend-refused";
	case TRACE_NOTIMP:
		return "notimp";
	case TRACE_OVERLOAD:
		return "overload";
	case TRACE_SPOOFED:
		return "spoofed-answer-dropped";
	case TRACE_HEADERLESS:
		return "headerless-answer";
	case TRACE_CLIENT_LIMIT:
		return t->rcode < 0 ? "client-limit-dropped" : "client-limit";
	case TRACE_UPDATE:
		snprintf(buf, len, "update:%u/%u-confirmed", t->detail,
		    t->tries);
		return buf;
	case TRACE_UPDATE_TARGET:
		if (t->detail == TRACE_WHY_NONE)
			return "update-target:confirmed";
		snprintf(buf, len, "update-target:%s",
		    trace_why_str(t->detail));
		return buf;
	case TRACE_UPDATE_UNSIGNED:
		return "update-unsigned";
	case TRACE_TSIG: {
		char e[24];

		if (t->detail == 0)
			return "tsig:formerr";
		snprintf(buf, len, "tsig:%s", tsig_error_str(t->detail, e,
		    sizeof(e)));
		return buf;
	}
	case TRACE_RACE_WON:
		return "race-won";
	case TRACE_RACE_BEST:
		return "race-best";
	case TRACE_TC_RETRY:
		return "tc-retry";
	case TRACE_XFR:
		return "xfr";
	case TRACE_XFR_ABORTED:
		return "xfr-aborted";
	case TRACE_XFR_UDP:
		return "xfr-over-udp";
	default:
		return "?";
	}
}

/* The name of backend id in the current snapshot. */
static const char *
backend_name(int64_t id, char *buf, size_t len)
{
	struct config *c = dr->cfg;
	int i;

	for (i = 0; i < c->nbackends; i++)
		if (c->backends[i]->id == id)
			return c->backends[i]->name;
	snprintf(buf, len, "#%lld", (long long)id);	/* deleted since */
	return buf;
}

static void
rec_fields(const struct trec *t, int64_t wall_off, const char *name,
    struct tfields *tf)
{
	struct sockaddr_storage ss;
	int64_t wall = (int64_t)t->mono_us + wall_off;
	time_t sec = (time_t)(wall / 1000000);
	struct tm tm;
	char b[32];

	gmtime_r(&sec, &tm);
	strftime(b, sizeof(b), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(tf->time, sizeof(tf->time), "%s.%06dZ", b,
	    (int)(wall % 1000000));
	tf->f[F_TIME] = tf->time;

	memset(&ss, 0, sizeof(ss));
	if (t->family == 4) {
		struct sockaddr_in *in = (struct sockaddr_in *)&ss;

		in->sin_family = AF_INET;
		in->sin_port = htons(t->port);
		memcpy(&in->sin_addr, t->addr, 4);
		tf->f[F_CLIENT] = addr_fmt((struct sockaddr *)&ss, tf->client,
		    sizeof(tf->client));
	} else if (t->family == 6) {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;

		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons(t->port);
		memcpy(&in6->sin6_addr, t->addr, 16);
		tf->f[F_CLIENT] = addr_fmt((struct sockaddr *)&ss, tf->client,
		    sizeof(tf->client));
	} else
		tf->f[F_CLIENT] = NULL;
	tf->f[F_TRANSPORT] = words_name(&words_transport, t->tcp ?
	    TRANSPORT_TCP : TRANSPORT_UDP);
	tf->f[F_NAME] = name;
	tf->f[F_TYPE] = name != NULL ? dnsname_type_str(t->qtype, tf->type,
	    sizeof(tf->type)) : NULL;
	if (t->route_id >= 0) {
		snprintf(tf->route, sizeof(tf->route), "%lld",
		    (long long)t->route_id);
		tf->f[F_ROUTE] = tf->route;
	} else
		tf->f[F_ROUTE] = NULL;
	tf->f[F_BACKEND] = t->backend_id != 0 ? backend_name(t->backend_id,
	    tf->backend, sizeof(tf->backend)) : NULL;
	snprintf(tf->tries, sizeof(tf->tries), "%u", t->tries);
	tf->f[F_TRIES] = tf->tries;
	tf->f[F_RCODE] = t->rcode >= 0 ? dnsname_rcode_str(t->rcode, tf->rcode,
	    sizeof(tf->rcode)) : NULL;
	snprintf(tf->answers, sizeof(tf->answers), "%u", t->ancount);
	tf->f[F_ANSWERS] = tf->answers;
	snprintf(tf->latency, sizeof(tf->latency), "%u", t->latency_us);
	tf->f[F_LATENCY] = tf->latency;
	tf->f[F_OUTCOME] = outcome_name(t, tf->outcome, sizeof(tf->outcome));
}

/* "1003-" and the escaped fields, tab-separated, into buf; its length. */
static size_t
trace_line(const struct tfields *tf, char *buf, size_t len)
{
	size_t n;
	int i, k;

	n = (size_t)snprintf(buf, len, "%04d-", CTL_TRACE);
	for (i = 0; i < F__COUNT; i++) {
		if (i > 0)
			buf[n++] = '\t';
		if (tf->f[i] == NULL) {
			memcpy(buf + n, CTL_NULL_FIELD, strlen(CTL_NULL_FIELD));
			n += strlen(CTL_NULL_FIELD);
			continue;
		}
		/* Leave room for the tabs, nulls and newline still to come. */
		k = ctl_escape(tf->f[i], strlen(tf->f[i]), buf + n,
		    len - n - 4 * (F__COUNT - i));
		if (k < 0)
			k = 0;
		n += (size_t)k;
	}
	buf[n++] = '\n';
	return n;
}

static int
name_matches(struct route_table *re, const char *name, int namelen)
{
	int limited;

	if (re == NULL)
		return 1;
	if (name == NULL)
		return 0;
	return route_match(matcher, re, name, (size_t)namelen, 0, &limited) == 0;
}

/* ---- tracers ---- */

static void	tick_cb(evutil_socket_t, short, void *);

static void
tracer_free(struct tracer *t)
{
	if (t == NULL)
		return;
	route_table_free(t->re);
	free(t->pattern);
	free(t);
}

static void
tracer_unlink(struct tracer *t)
{
	struct tracer **pp;

	for (pp = &tracers; *pp != NULL; pp = &(*pp)->next)
		if (*pp == t) {
			*pp = t->next;
			ntracers--;
			break;
		}
	if (ntracers == 0 && tick != NULL)
		evtimer_del(tick);
}

static void
tracer_link(struct tracer *t)
{
	struct timeval tv = { 0, TRACE_TICK_MS * 1000 };
	int i;

	if (ntracers == 0) {
		/* Only what completes from now on. */
		for (i = 0; i < dr->nworkers; i++)
			if (rings[i] != NULL)
				cursor[i] = ring_head(i);
		evtimer_add(tick, &tv);
	}
	t->next = tracers;
	tracers = t;
	ntracers++;
}

/* The trace is over: the final line, then the connection takes requests
 * again (which may run another command, even another trace). */
static void
tracer_finish(struct tracer *t, const char *why)
{
	struct ctl_conn *c = t->conn;
	struct reply *r = ctl_conn_reply(c);

	tracer_unlink(t);
	reply_ok(r, "trace ended (%s): %lu line%s, %lu missed", why, t->lines,
	    t->lines == 1 ? "" : "s", t->missed);
	log_debug("trace by pid %ld ended (%s): %lu lines, %lu missed",
	    (long)t->sess->pid, why, t->lines, t->missed);
	t->sess->stream = 0;
	tracer_free(t);
	reply_async_done(c);
}

void
trace_cancel(struct ctl_conn *c)
{
	struct tracer *t;

	for (t = tracers; t != NULL; t = t->next)
		if (t->conn == c) {
			tracer_unlink(t);
			log_debug("trace by pid %ld ended: client left; %lu "
			    "lines, %lu missed", (long)t->sess->pid, t->lines,
			    t->missed);
			tracer_free(t);
			return;
		}
}

static int
client_matches(const struct tracer *t, const struct trec *r)
{
	const struct sockaddr *sa = (const struct sockaddr *)&t->client;

	if (!t->have_client)
		return 1;
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)sa;

		return r->family == 4 && memcmp(r->addr, &in->sin_addr, 4) == 0 &&
		    (in->sin_port == 0 || ntohs(in->sin_port) == r->port);
	}
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;

		return r->family == 6 &&
		    memcmp(r->addr, &in6->sin6_addr, 16) == 0 &&
		    (in6->sin6_port == 0 || ntohs(in6->sin6_port) == r->port);
	}
	return 0;
}

/* One record to every tracer that wants it. */
static void
dispatch(const struct trec *r, int64_t wall_off)
{
	struct tracer *t;
	struct tfields tf;
	struct evbuffer *out;
	char name[DNS_MAX_TEXT_NAME], bname[CONF_NAME_MAX + 24];
	char line[2 * DNS_MAX_TEXT_NAME + 1024];
	const char *bn = NULL;
	size_t len = 0;
	int namelen = -2;

	for (t = tracers; t != NULL; t = t->next) {
		if (t->done)
			continue;
		if (!client_matches(t, r))
			continue;
		if (t->backend[0] != '\0') {
			if (r->backend_id == 0)
				continue;
			if (bn == NULL)
				bn = backend_name(r->backend_id, bname,
				    sizeof(bname));
			if (strcmp(bn, t->backend) != 0)
				continue;
		}
		if (namelen == -2)
			namelen = rec_name(r, name, sizeof(name));
		if (!name_matches(t->re, namelen >= 0 ? name : NULL, namelen))
			continue;
		out = ctl_conn_reply(t->conn)->out;
		if (evbuffer_get_length(out) > TRACE_OUT_HIWAT) {
			t->missed++;
			continue;
		}
		if (len == 0) {
			rec_fields(r, wall_off, namelen >= 0 ? name : NULL, &tf);
			len = trace_line(&tf, line, sizeof(line));
		}
		evbuffer_add(out, line, len);
		t->lines++;
		if (t->limit != 0 && t->lines >= t->limit)
			t->done = 1;
	}
}

struct src {
	uint64_t	next, end;
	int		have;
	struct trec	r;
};

/* Feed the tracers everything completed since the last tick, merged
 * across workers by completion time. */
static void
drain(void)
{
	static struct src src[MAX_WORKERS];
	int64_t wall_off = wall_us() - (int64_t)now_us();
	unsigned long lost = 0;
	struct tracer *t;
	int i, best;

	for (i = 0; i < dr->nworkers; i++) {
		src[i].have = 0;
		if (rings[i] == NULL) {
			src[i].next = src[i].end = 0;
			continue;
		}
		src[i].end = ring_head(i);
		src[i].next = cursor[i];
		if (src[i].end - src[i].next > TRING_SLOTS) {
			lost += src[i].end - src[i].next - TRING_SLOTS;
			src[i].next = src[i].end - TRING_SLOTS;
		}
	}
	for (;;) {
		best = -1;
		for (i = 0; i < dr->nworkers; i++) {
			while (!src[i].have && src[i].next < src[i].end) {
				if (tring_get(rings[i], src[i].next++, &src[i].r) == 0)
					src[i].have = 1;
				else
					lost++;
			}
			if (src[i].have && (best == -1 ||
			    src[i].r.mono_us < src[best].r.mono_us))
				best = i;
		}
		if (best == -1)
			break;
		dispatch(&src[best].r, wall_off);
		src[best].have = 0;
	}
	for (i = 0; i < dr->nworkers; i++)
		cursor[i] = src[i].end;
	/* Overwritten before they were read: they may have matched. */
	if (lost > 0)
		for (t = tracers; t != NULL; t = t->next)
			if (!t->done)
				t->missed += lost;
}

static void
tick_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct timeval tv = { 0, TRACE_TICK_MS * 1000 };
	struct tracer *t;
	struct reply *r;
	uint64_t now;

	(void)fd;
	(void)ev;
	(void)arg;
	drain();
	now = now_us();
	for (t = tracers; t != NULL; t = t->next) {
		if (t->deadline_us != 0 && now >= t->deadline_us && !t->done)
			t->done = 2;
		if (t->done || t->missed == t->missed_told ||
		    now < t->next_notice_us)
			continue;
		r = ctl_conn_reply(t->conn);
		if (evbuffer_get_length(r->out) > TRACE_OUT_HIWAT)
			continue;
		reply_notice(r, "%lu trace line%s missed so far (the client "
		    "read too slowly or the trace fell behind)", t->missed,
		    t->missed == 1 ? "" : "s");
		t->missed_told = t->missed;
		t->next_notice_us = now + TRACE_NOTICE_US;
	}
	/* Finishing may run the client's next command: one at a time, from
	 * the top, as the list may have changed. */
	for (;;) {
		for (t = tracers; t != NULL && !t->done; t = t->next)
			;
		if (t == NULL)
			break;
		tracer_finish(t, t->done == 2 ? "time is up" : "limit reached");
	}
	if (ntracers > 0 && !evtimer_pending(tick, NULL))
		evtimer_add(tick, &tv);
}

/* ---- set-up ---- */

void
trace_init(struct event_base *base)
{
	int i;

	for (i = 0; i < dr->nworkers; i++)
		rings[i] = worker_ring(dr->workers[i]);
	tick = evtimer_new(base, tick_cb, NULL);
	if (tick == NULL)
		fatalx("evtimer_new failed");
	matcher = route_matcher_new();
}

void
trace_shutdown(void)
{
	struct tracer *t;
	int i;

	/* The clients are cut off by control_free() right after. */
	while ((t = tracers) != NULL) {
		tracer_unlink(t);
		t->sess->stream = 0;
		tracer_free(t);
	}
	if (tick != NULL)
		event_free(tick);
	tick = NULL;
	route_matcher_free(matcher);
	matcher = NULL;
	for (i = 0; i < MAX_WORKERS; i++)
		rings[i] = NULL;
}

/* ---- commands ---- */

/* Compile a name filter; NULL with the error replied. */
static struct route_table *
filter_compile(struct cmd_ctx *x, const char *pattern)
{
	struct route_table *t;
	uint16_t any = 0;
	char err[512];

	if (route_check_pattern(pattern, dr->cfg->set.match_limit, err,
	    sizeof(err)) == -1) {
		reply_err(x->r, CTL_ERR_RUNTIME, "%s", err);
		return NULL;
	}
	t = route_table_new(dr->rc, &pattern, &any, 1,
	    dr->cfg->set.match_limit);
	if (matcher == NULL)
		matcher = route_matcher_new();
	return t;
}

int
cmd_trace(struct cmd_ctx *x, const union cmd_args *u)
{
	const struct cmd_trace *a = &u->trace;
	struct tracer *t;
	socklen_t sl;
	char err[256];

	if (rings[0] == NULL || x->sess->conn == NULL) {
		reply_err(x->r, CTL_ERR_RUNTIME, "tracing is not running");
		return -1;
	}
	if (ntracers >= TRACE_MAX) {
		reply_err(x->r, CTL_ERR_RUNTIME, "too many traces at once (%d)",
		    TRACE_MAX);
		return -1;
	}
	if (a->backend != NULL && config_backend(dr->cfg, a->backend) == NULL) {
		reply_err(x->r, CTL_ERR_RUNTIME, "no backend \"%s\"",
		    a->backend);
		return -1;
	}
	t = xcalloc(1, sizeof(*t));
	if (a->client != NULL) {
		/* Checked by the parser: this parses. */
		if (addr_parse(a->client, 0, &t->client, &sl, err,
		    sizeof(err)) == -1) {
			reply_err(x->r, CTL_ERR_SYNTAX, "client: %s", err);
			tracer_free(t);
			return -1;
		}
		t->have_client = 1;
	}
	if (a->backend != NULL)
		snprintf(t->backend, sizeof(t->backend), "%s", a->backend);
	t->limit = (unsigned long)a->limit;
	if (a->seconds > 0)
		t->deadline_us = now_us() + (uint64_t)a->seconds * 1000000;
	if (a->regex != NULL) {
		t->pattern = xstrdup(a->regex);
		if ((t->re = filter_compile(x, t->pattern)) == NULL) {
			tracer_free(t);
			return -1;
		}
	}
	t->conn = x->sess->conn;
	t->sess = x->sess;
	t->next_notice_us = now_us() + TRACE_NOTICE_US;
	reply_columns(x->r, COLUMNS);
	reply_async_begin(x->r);
	x->sess->stream = 1;
	tracer_link(t);
	log_debug("trace by pid %ld started: %s", (long)x->sess->pid, x->line);
	return 0;
}

static int
rec_cmp(const void *a, const void *b)
{
	const struct trec *x = a, *y = b;

	return x->mono_us < y->mono_us ? -1 : x->mono_us > y->mono_us;
}

int
cmd_show_recent(struct cmd_ctx *x, const union cmd_args *u)
{
	struct route_table *re = NULL;
	struct trec *recs;
	struct tfields tf;
	struct trec t;
	char name[DNS_MAX_TEXT_NAME];
	int64_t wall_off;
	uint64_t h, n, low;
	long want = u->show.n;
	size_t nrecs = 0, got, i, k;
	int w, namelen;

	if (u->show.regex != NULL &&
	    (re = filter_compile(x, u->show.regex)) == NULL)
		return -1;
	recs = xcalloc((size_t)want * (dr->nworkers > 0 ? dr->nworkers : 1),
	    sizeof(*recs));
	/* The newest `want` matches of each worker, then the newest of all. */
	for (w = 0; w < dr->nworkers; w++) {
		if (rings[w] == NULL)
			continue;
		h = ring_head(w);
		low = h > TRING_SLOTS ? h - TRING_SLOTS : 0;
		for (got = 0, n = h; n > low && got < (size_t)want; n--) {
			if (tring_get(rings[w], n - 1, &t) == -1)
				continue;
			namelen = rec_name(&t, name, sizeof(name));
			if (!name_matches(re, namelen >= 0 ? name : NULL, namelen))
				continue;
			recs[nrecs++] = t;
			got++;
		}
	}
	route_table_free(re);
	qsort(recs, nrecs, sizeof(*recs), rec_cmp);
	wall_off = wall_us() - (int64_t)now_us();
	reply_columns(x->r, COLUMNS);
	for (i = nrecs > (size_t)want ? nrecs - (size_t)want : 0; i < nrecs; i++) {
		namelen = rec_name(&recs[i], name, sizeof(name));
		rec_fields(&recs[i], wall_off, namelen >= 0 ? name : NULL, &tf);
		for (k = 0; k < F__COUNT; k++) {
			if (tf.f[k] != NULL)
				reply_field(x->r, tf.f[k]);
			else
				reply_field_null(x->r);
		}
		reply_end_row(x->r);
	}
	free(recs);
	return 0;
}

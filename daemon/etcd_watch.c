/*
 * etcd_watch: watches and mirrors of a prefix (see etcd.h).
 *
 * A watch's stream lives in a struct wstream with its own connection.  The
 * libevent callbacks of that connection get the wstream, never the watch:
 * closing a stream (from inside its own callback, too) detaches it from the
 * watch and hands connection and wstream to the client's dead list, which
 * the kick event frees; a callback that still arrives for a detached stream
 * finds no watch and does nothing.  So a watch can be stopped, restarted or
 * freed at any time without a callback reaching freed memory.
 *
 * Resumption: next_rev is one past the last revision delivered (events, or
 * a progress report that says nothing happened up to its revision; never
 * the header of an event batch, which etcd sets to its current revision
 * even when more events are still to come).  A stream that breaks is
 * opened again from next_rev once the client is connected, after a pause
 * that grows while attempts keep failing.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "etcd_int.h"
#include "log.h"
#include "util.h"

#define WATCH_TIMEOUT_S		(24 * 3600)	/* liveness is the probe's job */
#define WATCH_BACKOFF_MIN_MS	100
#define WATCH_BACKOFF_MAX_MS	2000
#define WATCH_MAX_OBJECT	(64 * 1024 * 1024)
#define SYNC_PAGE		1000
#define SYNC_RETRY_MS		1000

enum wstate { W_WAITING, W_OPENING, W_LIVE, W_STOPPED };

struct wstream {
	struct etcd_watch		*w;	/* NULL once detached */
	struct evhttp_connection	*conn;
	struct evhttp_request		*hreq;
	int				 herr;
};

struct etcd_watch {
	TAILQ_ENTRY(etcd_watch)	 entry;
	struct etcd		*e;
	char			*key;
	char			*end;
	unsigned		 flags;
	int64_t			 next_rev;
	etcd_watch_cb		 cb;
	void			*arg;
	enum wstate		 state;
	struct wstream		*ws;
	struct etcd_stream	 stream;
	struct event		*timer;		/* (re)open */
	int			 backoff_ms;
	int			 lost_said;	/* LOST reported for this outage */
};

static void	watch_close(struct etcd_watch *);

/* ---- one stream ---- */

static void
watch_emit(struct etcd_watch *w, enum etcd_watch_what what, const char *err)
{
	struct etcd_watch_msg m;

	memset(&m, 0, sizeof(m));
	m.what = what;
	m.error = err;
	w->cb(&m, w->arg);
}

static void
schedule_open(struct etcd_watch *w, int delay_ms)
{
	etcd_timer_ms(w->timer, delay_ms);
}

/* The stream broke: say so once, and open again later. */
static void
watch_lost(struct etcd_watch *w, const char *why)
{
	watch_close(w);
	w->state = W_WAITING;
	w->backoff_ms = w->backoff_ms ? w->backoff_ms * 2 :
	    WATCH_BACKOFF_MIN_MS;
	if (w->backoff_ms > WATCH_BACKOFF_MAX_MS)
		w->backoff_ms = WATCH_BACKOFF_MAX_MS;
	if (w->e->state == ETCD_UP)
		schedule_open(w, w->backoff_ms);
	if (!w->lost_said) {
		w->lost_said = 1;
		watch_emit(w, ETCD_WATCH_LOST, why);
	}
}

static int
watch_object(const char *obj, size_t len, void *arg)
{
	struct etcd_watch *w = arg;
	struct etcd_decoded d;
	struct etcd_watch_msg *m = &d.wmsg;
	int64_t last;

	memset(&d, 0, sizeof(d));
	if (etcd_json_watch(obj, len, &d) == -1) {
		log_debug("etcd watch %s: %s: %.*s", w->key, m->error,
		    (int)(len > 200 ? 200 : len), obj);
		watch_lost(w, m->error);
		etcd_decoded_free(&d);
		return 1;
	}
	switch (m->what) {
	case ETCD_WATCH_CREATED:
		w->state = W_LIVE;
		w->backoff_ms = 0;
		w->lost_said = 0;
		break;
	case ETCD_WATCH_EVENTS:
		last = m->events[m->nevents - 1].kv.mod_revision;
		if (last >= w->next_rev)
			w->next_rev = last + 1;
		break;
	case ETCD_WATCH_PROGRESS:
		if (m->revision >= w->next_rev)
			w->next_rev = m->revision + 1;
		break;
	case ETCD_WATCH_COMPACTED:
	case ETCD_WATCH_CANCELED:
		watch_close(w);
		w->state = W_STOPPED;
		break;
	case ETCD_WATCH_LOST:
		/* An error object in the stream. */
		watch_lost(w, m->error);
		etcd_decoded_free(&d);
		return 1;
	}
	w->cb(m, w->arg);
	etcd_decoded_free(&d);
	/* Stop reading a stream that was closed meanwhile. */
	return w->ws == NULL ? 1 : 0;
}

static void
ws_chunk_cb(struct evhttp_request *h, void *arg)
{
	struct wstream *ws = arg;
	struct etcd_watch *w = ws->w;
	struct evbuffer *b = evhttp_request_get_input_buffer(h);
	struct evbuffer_iovec v[8];
	int i, n;

	if (w == NULL)
		return;
	while (evbuffer_get_length(b) > 0 && ws->w != NULL) {
		n = evbuffer_peek(b, -1, NULL, v, 8);
		if (n > 8)
			n = 8;
		for (i = 0; i < n && ws->w != NULL; i++) {
			if (etcd_stream_feed(&w->stream, v[i].iov_base,
			    v[i].iov_len, watch_object, w) == -1 &&
			    ws->w != NULL)
				watch_lost(w, "garbage in the watch stream");
			evbuffer_drain(b, v[i].iov_len);
		}
	}
}

static void
ws_error_cb(enum evhttp_request_error herr, void *arg)
{
	struct wstream *ws = arg;

	if (herr != EVREQ_HTTP_REQUEST_CANCEL)
		ws->herr = (int)herr + 1;
}

static void
ws_done_cb(struct evhttp_request *h, void *arg)
{
	struct wstream *ws = arg;
	struct etcd_watch *w = ws->w;
	char why[160];
	int code;

	if (w == NULL)
		return;
	ws->hreq = NULL;
	code = h != NULL ? evhttp_request_get_response_code(h) : 0;
	if (code == 0)
		etcd_transport_error(ws->herr ? ws->herr - 1 : -1, errno, why,
		    sizeof(why));
	else
		snprintf(why, sizeof(why), "the watch stream ended (HTTP %d)",
		    code);
	watch_lost(w, why);
	etcd_suspect(w->e);
}

static void
watch_open(struct etcd_watch *w)
{
	struct etcd *e = w->e;
	struct wstream *ws;
	char uri[64], *body;

	if (e->state != ETCD_UP || w->state == W_STOPPED)
		return;
	watch_close(w);
	ws = xcalloc(1, sizeof(*ws));
	ws->w = w;
	ws->conn = etcd_conn_new(e, WATCH_TIMEOUT_S);
	body = etcd_json_watch_create(w->key, w->end, w->flags, w->next_rev);
	ws->hreq = etcd_http_request(e, ws_done_cb, ws_error_cb, ws, body);
	free(body);
	evhttp_request_set_chunked_cb(ws->hreq, ws_chunk_cb);
	etcd_stream_reset(&w->stream);
	w->ws = ws;
	w->state = W_OPENING;
	snprintf(uri, sizeof(uri), "%s/watch", e->api);
	if (evhttp_make_request(ws->conn, ws->hreq, EVHTTP_REQ_POST,
	    uri) == -1) {
		ws->hreq = NULL;
		watch_lost(w, "cannot send the watch request");
	}
}

/* Detach the stream; its connection goes at the next kick. */
static void
watch_close(struct etcd_watch *w)
{
	struct wstream *ws = w->ws;

	if (ws == NULL)
		return;
	w->ws = NULL;
	ws->w = NULL;
	etcd_conn_drop(w->e, ws->conn, ws);
}

static void
timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct etcd_watch *w = arg;

	(void)fd;
	(void)what;
	if (w->state == W_WAITING)
		watch_open(w);
}

void
etcd_watches_up(struct etcd *e)
{
	struct etcd_watch *w;

	TAILQ_FOREACH(w, &e->watches, entry)
		if (w->state == W_WAITING)
			schedule_open(w, 0);
}

void
etcd_watches_down(struct etcd *e, const char *why)
{
	struct etcd_watch *w;

	TAILQ_FOREACH(w, &e->watches, entry) {
		if (w->state != W_OPENING && w->state != W_LIVE)
			continue;
		watch_close(w);
		w->state = W_WAITING;
		evtimer_del(w->timer);
		if (!w->lost_said) {
			w->lost_said = 1;
			watch_emit(w, ETCD_WATCH_LOST, why);
		}
	}
}

struct etcd_watch *
etcd_watch_new(struct etcd *e, const char *key, const char *end,
    unsigned flags, int64_t start_revision, etcd_watch_cb cb, void *arg)
{
	struct etcd_watch *w = xcalloc(1, sizeof(*w));

	w->e = e;
	w->key = xstrdup(key);
	w->end = end != NULL ? xstrdup(end) : NULL;
	w->flags = flags;
	w->next_rev = start_revision;
	w->cb = cb;
	w->arg = arg;
	w->state = W_WAITING;
	etcd_stream_init(&w->stream, WATCH_MAX_OBJECT);
	w->timer = evtimer_new(e->base, timer_cb, w);
	TAILQ_INSERT_TAIL(&e->watches, w, entry);
	if (e->state == ETCD_UP)
		schedule_open(w, 0);
	return w;
}

void
etcd_watch_restart(struct etcd_watch *w, int64_t start_revision)
{
	watch_close(w);
	w->next_rev = start_revision;
	w->state = W_WAITING;
	w->backoff_ms = 0;
	if (w->e->state == ETCD_UP)
		schedule_open(w, 0);
}

int64_t
etcd_watch_next_revision(const struct etcd_watch *w)
{
	return w->next_rev;
}

int
etcd_watch_live(const struct etcd_watch *w)
{
	return w->state == W_LIVE;
}

void
etcd_watch_free(struct etcd_watch *w)
{
	if (w == NULL)
		return;
	watch_close(w);
	TAILQ_REMOVE(&w->e->watches, w, entry);
	event_free(w->timer);
	etcd_stream_free(&w->stream);
	free(w->key);
	free(w->end);
	free(w);
}

void
etcd_watches_free(struct etcd *e)
{
	struct etcd_watch *w;

	while ((w = TAILQ_FIRST(&e->watches)) != NULL)
		etcd_watch_free(w);
}

/* ---- mirroring a prefix ---- */

struct etcd_sync {
	struct etcd			*e;
	char				*prefix;
	char				 end[1024];
	const struct etcd_sync_ops	*ops;
	void				*arg;
	struct etcd_watch		*w;
	struct etcd_req			*req;		/* a page being read */
	struct event			*retry;
	uint64_t			 epoch;
	/* The read in progress. */
	int64_t				 list_rev;
	struct etcd_kv			*kvs;
	size_t				 nkvs, capkvs;
	/* Status. */
	int				 listed;	/* reset() done */
	int64_t				 revision;
	int64_t				 since_us;
	int				 was_live;
	uint64_t			 resets;
	char				 last_error[512];
};

static void	sync_list(struct etcd_sync *);

static void
sync_clear(struct etcd_sync *s)
{
	size_t i;

	for (i = 0; i < s->nkvs; i++) {
		free((char *)s->kvs[i].key);
		free((char *)s->kvs[i].value);
	}
	free(s->kvs);
	s->kvs = NULL;
	s->nkvs = s->capkvs = 0;
}

static char *
copy_bytes(const char *p, size_t n)
{
	char *c = xmalloc(n + 1);

	memcpy(c, p, n);
	c[n] = '\0';
	return c;
}

static int
sync_is_live(const struct etcd_sync *s)
{
	return s->listed && s->w != NULL && etcd_watch_live(s->w);
}

/* Keep since_us as the moment live last changed. */
static void
sync_note(struct etcd_sync *s)
{
	int live = sync_is_live(s);

	if (live != s->was_live) {
		s->was_live = live;
		s->since_us = wall_us();
	}
}

static void
sync_retry_later(struct etcd_sync *s)
{
	if (s->e->state == ETCD_UP)
		etcd_timer_ms(s->retry, SYNC_RETRY_MS);
	/* Otherwise the client's coming up starts it again. */
}

static void
sync_watch_cb(const struct etcd_watch_msg *m, void *arg)
{
	struct etcd_sync *s = arg;

	switch (m->what) {
	case ETCD_WATCH_CREATED:
		s->last_error[0] = '\0';
		break;
	case ETCD_WATCH_EVENTS:
		s->revision = m->events[m->nevents - 1].kv.mod_revision;
		s->ops->update(s->arg, m->events, m->nevents, s->revision);
		break;
	case ETCD_WATCH_PROGRESS:
		if (m->revision > s->revision)
			s->revision = m->revision;
		break;
	case ETCD_WATCH_LOST:
		snprintf(s->last_error, sizeof(s->last_error), "watch: %s",
		    m->error != NULL ? m->error : "lost");
		break;
	case ETCD_WATCH_COMPACTED:
		log_info("etcd: %s: history compacted past revision %lld; "
		    "reading everything again", s->prefix,
		    (long long)etcd_watch_next_revision(s->w));
		s->listed = 0;
		sync_list(s);
		break;
	case ETCD_WATCH_CANCELED:
		snprintf(s->last_error, sizeof(s->last_error), "watch: %s",
		    m->error != NULL ? m->error : "canceled");
		log_warnx("etcd: %s: watch canceled (%s); reading everything "
		    "again", s->prefix, s->last_error);
		s->listed = 0;
		sync_retry_later(s);
		break;
	}
	sync_note(s);
}

static void
sync_page_cb(const struct etcd_resp *r, void *arg)
{
	struct etcd_sync *s = arg;
	const struct etcd_kv *last;
	char next[1100];
	size_t i;

	s->req = NULL;
	if (!r->ok) {
		snprintf(s->last_error, sizeof(s->last_error), "read: %s",
		    r->error);
		sync_clear(s);
		/* A page whose revision was compacted meanwhile, or a plain
		 * failure: start over. */
		sync_retry_later(s);
		return;
	}
	if (s->list_rev == 0)
		s->list_rev = r->revision;
	for (i = 0; i < r->nkvs; i++) {
		if (s->nkvs == s->capkvs) {
			s->capkvs = s->capkvs ? s->capkvs * 2 : 64;
			s->kvs = xrealloc(s->kvs, s->capkvs * sizeof(*s->kvs));
		}
		s->kvs[s->nkvs] = r->kvs[i];
		s->kvs[s->nkvs].key = copy_bytes(r->kvs[i].key, r->kvs[i].keylen);
		s->kvs[s->nkvs].value = copy_bytes(r->kvs[i].value,
		    r->kvs[i].vallen);
		s->nkvs++;
	}
	if (r->more && r->nkvs > 0) {
		/* The next page starts just after the last key. */
		last = &r->kvs[r->nkvs - 1];
		if (last->keylen + 2 > sizeof(next) ||
		    memchr(last->key, '\0', last->keylen) != NULL) {
			snprintf(s->last_error, sizeof(s->last_error), "read: "
			    "a key etcd returned cannot be paged past");
			sync_clear(s);
			sync_retry_later(s);
			return;
		}
		/* key + "\0" is the smallest key after it; as a C string it
		 * would end early, so page from key itself and skip it. */
		memcpy(next, last->key, last->keylen + 1);
		s->req = etcd_range(s->e, next, s->end, 0, s->list_rev,
		    SYNC_PAGE + 1, sync_page_cb, s);
		/* The repeated first key is dropped below, next time. */
		s->nkvs--;
		free((char *)s->kvs[s->nkvs].key);
		free((char *)s->kvs[s->nkvs].value);
		return;
	}
	s->last_error[0] = '\0';
	s->listed = 1;
	s->resets++;
	s->revision = s->list_rev;
	s->ops->reset(s->arg, s->kvs, s->nkvs, s->list_rev);
	sync_clear(s);
	if (s->w == NULL)
		s->w = etcd_watch_new(s->e, s->prefix, s->end, 0,
		    s->list_rev + 1, sync_watch_cb, s);
	else
		etcd_watch_restart(s->w, s->list_rev + 1);
	sync_note(s);
}

static void
sync_list(struct etcd_sync *s)
{
	if (s->req != NULL) {
		etcd_req_cancel(s->req);
		s->req = NULL;
	}
	sync_clear(s);
	evtimer_del(s->retry);
	s->list_rev = 0;
	s->epoch = s->e->epoch;
	s->req = etcd_range(s->e, s->prefix, s->end, 0, 0, SYNC_PAGE,
	    sync_page_cb, s);
}

static void
sync_retry_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	sync_list(arg);
}

static void
sync_state_cb(void *arg, int what)
{
	struct etcd_sync *s = arg;

	if (what == 2) {
		/* Another cluster: what we read means nothing there. */
		if (s->w != NULL) {
			etcd_watch_free(s->w);
			s->w = NULL;
		}
		s->listed = 0;
		sync_list(s);
	} else if (what == 1 && !s->listed && s->req == NULL)
		sync_list(s);
	sync_note(s);
}

struct etcd_sync *
etcd_sync_new(struct etcd *e, const char *prefix,
    const struct etcd_sync_ops *ops, void *arg)
{
	struct etcd_sync *s = xcalloc(1, sizeof(*s));

	s->e = e;
	s->prefix = xstrdup(prefix);
	if (etcd_prefix_end(prefix, s->end, sizeof(s->end)) == -1)
		fatalx("etcd: prefix too long: %s", prefix);
	s->ops = ops;
	s->arg = arg;
	s->retry = evtimer_new(e->base, sync_retry_cb, s);
	s->since_us = wall_us();
	etcd_listen(e, sync_state_cb, s);
	sync_list(s);
	return s;
}

void
etcd_sync_free(struct etcd_sync *s)
{
	if (s == NULL)
		return;
	etcd_unlisten(s->e, sync_state_cb, s);
	etcd_req_cancel(s->req);
	etcd_watch_free(s->w);
	event_free(s->retry);
	sync_clear(s);
	free(s->prefix);
	free(s);
}

void
etcd_sync_status(const struct etcd_sync *s, struct etcd_sync_status *st)
{
	memset(st, 0, sizeof(*st));
	st->live = sync_is_live(s);
	st->revision = s->revision;
	st->since_us = s->since_us;
	st->resets = s->resets;
	st->last_error = s->last_error;
}

/*
 * client_tcp: a worker's TCP listeners and client connections (see
 * client_tcp.h).
 *
 * Idle connections: a timeout on each read event would be re-armed at every
 * read (a timer heap operation per message); instead the worker's list is
 * kept in the order of the last read, most recent first (a move to the
 * front per read), and the worker's tick closes from the tail the reading
 * connections that have read nothing for tcp-idle-timeout.  One that cannot
 * write its answers for that long times out in tconn.c.
 *
 * Invariants: every fd and event here belongs to this worker's base and is
 * touched by this thread only; a tclient is freed only when no query holds
 * it (inflight is zero), so a late answer finds it closed, not freed, and
 * the query being handled still has its bytes (the connection's input).
 */
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <linux/sockios.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/listener.h>

#include "client_tcp.h"
#include "config.h"
#include "dnsmsg.h"
#include "log.h"
#include "wstate.h"

#define TCP_CONN_MAX_INFLIGHT 256
#define TCP_OUT_MAX	(1024 * 1024)
/* Stopping: how long a client connection may take to acknowledge its last
 * answers, and to get every query read on it answered at all. */
#define STOP_LINGER_US	(1000 * 1000)
#define STOP_TCP_MAX_US	(5 * 1000 * 1000)

static struct log_limit ll_accept;

static void
tclient_unlink(struct tclient *tc)
{
	struct worker *w = tc->w;

	if (tc->prev != NULL)
		tc->prev->next = tc->next;
	else
		w->tclients = tc->next;
	if (tc->next != NULL)
		tc->next->prev = tc->prev;
	else
		w->tclients_tail = tc->prev;
	tc->next = tc->prev = NULL;
}

static void
tclient_push(struct tclient *tc)
{
	struct worker *w = tc->w;

	tc->next = w->tclients;
	if (tc->next != NULL)
		tc->next->prev = tc;
	else
		w->tclients_tail = tc;
	w->tclients = tc;
}

/* tc read (or reads again): to the front, its idle time from now. */
static inline void
tclient_touch(struct tclient *tc)
{
	tc->read_us = tc->w->tick_us;
	if (tc->w->tclients != tc) {
		tclient_unlink(tc);
		tclient_push(tc);
	}
}

static void
tclient_free(struct tclient *tc)
{
	struct worker *w = tc->w;

	if (w->tcp_per_addr[tc->bucket] > 0)
		w->tcp_per_addr[tc->bucket]--;
	tclient_unlink(tc);
	w->ntcp--;
	tconn_release(&tc->c);
	free(tc);
}

static void
tclient_close(struct tclient *tc)
{
	if (tc->closed)
		return;
	tconn_close(&tc->c);
	tc->closed = 1;
	if (tc->inflight == 0)
		tclient_free(tc);
}

void
tclient_query_settle(struct tclient *tc)
{
	if (tc->closed) {
		if (tc->inflight == 0)
			tclient_free(tc);
		return;
	}
	if (tc->paused && tc->inflight < TCP_CONN_MAX_INFLIGHT / 2) {
		tc->paused = 0;
		/* Stopping: what was read is answered, nothing more read. */
		if (!tc->w->stopping) {
			tconn_read_enable(&tc->c, 1);
			tclient_touch(tc);
		}
		/* Queries already read wait in the input buffer; no new data
		 * may come to wake us, so look at them (from the loop). */
		tconn_trigger(&tc->c);
	}
}

void
tclient_busy(struct tclient *tc)
{
	if (!tc->closed)
		tclient_touch(tc);
}

int
tclient_send(struct tclient *tc, const uint8_t *pkt, size_t len)
{
	if (tc->closed)
		return -1;
	/* A client that does not read its answers is cut off. */
	if (tconn_backlog(&tc->c) > TCP_OUT_MAX ||
	    tconn_msg(&tc->c, pkt, len) == -1) {
		STAT_INC(&tc->w->st, send_errors);
		tclient_close(tc);
		return -1;
	}
	return 0;
}

/* Every whole query in the input, handled in place (the input lives as
 * long as tc) and consumed once per callback. */
static void
tclient_read_cb(struct tconn *c, void *arg)
{
	struct tclient *tc = arg;
	struct worker *w = tc->w;
	struct client cl;
	size_t off = 0;
	long l;

	/* Hold tc while we work: an answer given at once may close it. */
	tc->inflight++;
	tclient_touch(tc);
	cl.sa = (struct sockaddr *)&tc->addr;
	cl.salen = tc->addrlen;
	cl.lfd = -1;
	cl.tc = tc;
	cl.dst = NULL;
	cl.hint = 0;
	cl.qnlen = 0;
	w->batch_us = now_us();
	while (!tc->closed && (l = dns_tcp_next(c->in, c->inlen, off)) >= 0) {
		if (tc->inflight > TCP_CONN_MAX_INFLIGHT) {
			tc->paused = 1;
			tconn_read_enable(c, 0);
			break;
		}
		STAT_INC(&w->st, queries_tcp);
		w->on_query(w, c->in + off + 2, (size_t)l, &cl);
		off += 2 + (size_t)l;
	}
	w->batch_us = 0;
	if (!tc->closed && off > 0)
		tconn_consume(c, off);
	tclient_query_done(tc);
}

static void
tclient_error_cb(struct tconn *c, int what, void *arg)
{
	struct tclient *tc = arg;

	(void)c;
	if (what == TCONN_TIMEOUT)
		STAT_INC(&tc->w->st, tcp_timeouts);
	tclient_close(tc);
}

static void
accept_cb(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa,
    int salen, void *arg)
{
	struct worker *w = arg;
	struct tclient *tc;
	uint32_t bk = client_bucket(w, sa);
	int on = 1;

	(void)l;
	/* Client connections never take the descriptors that UDP, the
	 * backends and the control socket need. */
	if (w->stopping || w->ntcp >= w->cfg->set.tcp_max_clients ||
	    w->ntcp >= w->tcp_budget ||
	    w->tcp_per_addr[bk] >= w->cfg->set.tcp_max_per_client) {
		STAT_INC(&w->st, tcp_rejected);
		close(fd);
		return;
	}
	STAT_INC(&w->st, tcp_accepted);
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
	tc = xcalloc(1, sizeof(*tc));
	tc->w = w;
	memcpy(&tc->addr, sa, (size_t)salen);
	tc->addrlen = (socklen_t)salen;
	tc->bucket = bk;
	/* The listener made fd non-blocking. */
	if (tconn_open(&tc->c, &w->tcpq, w->base, fd, w->cfg->set.tcp_idle_s,
	    tclient_read_cb, tclient_error_cb, tc) == -1) {
		free(tc);
		return;
	}
	w->ntcp++;
	w->tcp_per_addr[bk]++;
	tc->read_us = w->tick_us;
	tclient_push(tc);
}

void
client_tcp_idle(struct worker *w)
{
	struct tclient *tc, *prev;
	uint64_t idle = (uint64_t)w->cfg->set.tcp_idle_s * 1000000;

	for (tc = w->tclients_tail; tc != NULL &&
	    w->tick_us - tc->read_us >= idle; tc = prev) {
		prev = tc->prev;	/* tc may go */
		/* Paused, stopping: not waiting for the client. */
		if (tc->closed || !tc->c.reading)
			continue;
		STAT_INC(&w->st, tcp_timeouts);
		tclient_close(tc);
	}
}

/* Out of descriptors (or another accept error): stop accepting for a
 * moment instead of spinning on a listener that stays readable. */
static void
accept_error_cb(struct evconnlistener *l, void *arg)
{
	struct worker *w = arg;
	struct timeval tv = { 0, 200000 };
	int i;

	(void)l;
	if (log_allow(&ll_accept))
		log_warn("accept");
	for (i = 0; i < w->ntcpl; i++)
		evconnlistener_disable(w->tcpl[i]);
	evtimer_add(w->ev_accept_resume, &tv);
}

static void
resume_accept_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct worker *w = arg;
	int i;

	(void)fd;
	(void)ev;
	if (w->stopping)
		return;
	for (i = 0; i < w->ntcpl; i++)
		evconnlistener_enable(w->tcpl[i]);
}

void
client_tcp_add(struct worker *w, int fd, const char *text)
{
	struct evconnlistener *l;

	if (w->ev_accept_resume == NULL)
		w->ev_accept_resume = evtimer_new(w->base, resume_accept_cb, w);
	/* Bound and listening already (listen.c, or whoever passed it):
	 * backlog -1 leaves it as it is. */
	l = evconnlistener_new(w->base, accept_cb, w, LEV_OPT_CLOSE_ON_FREE,
	    -1, fd);
	if (l == NULL)
		fatalx("evconnlistener_new failed for %s", text);
	evconnlistener_set_error_cb(l, accept_error_cb);
	w->tcpl = xrealloc(w->tcpl, (w->ntcpl + 1) * sizeof(*w->tcpl));
	w->tcpl[w->ntcpl++] = l;
}

/* ---- stopping ---- */

/* Stop reading queries, from the listeners and from the client
 * connections alike: a passed listening socket then queues what arrives
 * for the next daemon. */
void
client_tcp_stop(struct worker *w)
{
	struct tclient *tc;
	int i;

	for (i = 0; i < w->ntcpl; i++)
		evconnlistener_disable(w->tcpl[i]);
	for (tc = w->tclients; tc != NULL; tc = tc->next)
		if (!tc->closed)
			tconn_read_enable(&tc->c, 0);
}

/* A complete query waits in tc's input (read, not yet handled). */
static int
tclient_query_buffered(struct tclient *tc)
{
	return dns_tcp_next(tc->c.in, tc->c.inlen, 0) >= 0;
}

/* Stopping: a client connection closes once every query read on it is
 * answered and written.  First its FIN follows the last answer (shutdown),
 * so the client learns at once that nothing more will be answered there
 * and can ask again elsewhere (RFC 7766 6.2.4): the listening socket, when
 * it outlives this process, queues its new connection for the next
 * daemon.  The descriptor is closed once the client has acknowledged every
 * byte (SIOCOUTQ): a close with queries unread resets the connection, and
 * a reset throws away answers the kernel has not sent yet. */
static void
tclient_stop_step(struct tclient *tc, uint64_t now)
{
	struct worker *w = tc->w;
	int fd, unacked;

	if (tc->closed)
		return;
	fd = tc->c.fd;
	if (now - w->stopping_us > STOP_TCP_MAX_US) {
		tclient_close(tc);
		return;
	}
	if (!tc->shut) {
		if (tc->inflight > 0 || tconn_backlog(&tc->c) > 0)
			return;
		if (tclient_query_buffered(tc)) {
			tconn_trigger(&tc->c);
			return;
		}
		(void)shutdown(fd, SHUT_WR);
		tc->shut = 1;
		tc->shut_us = now;
	}
	if (ioctl(fd, SIOCOUTQ, &unacked) == 0 && unacked > 0 &&
	    now - tc->shut_us < STOP_LINGER_US)
		return;
	tclient_close(tc);
}

void
client_tcp_step(struct worker *w, uint64_t now)
{
	struct tclient *tc, *next;

	for (tc = w->tclients; tc != NULL; tc = next) {
		next = tc->next;	/* tc may go */
		tclient_stop_step(tc, now);
	}
}

void
client_tcp_free(struct worker *w)
{
	int i;

	for (i = 0; i < w->ntcpl; i++)
		evconnlistener_free(w->tcpl[i]);
	free(w->tcpl);
	if (w->ev_accept_resume != NULL)
		event_free(w->ev_accept_resume);
}

/*
 * worker: one DNS-serving thread (see worker.h): creating it with its
 * sockets, the thread, the config handover, the timer and the orderly
 * stop.  The sockets are client_udp.c's, client_tcp.c's and upstream.c's;
 * what a query does is query.c's; their shared state is wstate.h.
 *
 * Invariants: every fd and event of a worker belongs to its base and is
 * touched by its thread only, but for the doorbell; the main thread's
 * requests (a snapshot, the stop) wait under mtx until the thread takes
 * them.
 */
#include <sys/eventfd.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "client_tcp.h"
#include "client_udp.h"
#include "config.h"
#include "listen.h"
#include "log.h"
#include "query.h"
#include "route.h"
#include "tring.h"
#include "update.h"
#include "upstream.h"
#include "worker.h"
#include "wstate.h"
#include "xfr.h"

static void	bell_cb(evutil_socket_t, short, void *);
static void	timer_cb(evutil_socket_t, short, void *);

struct worker *
worker_new(int idx, struct listeners *ls, struct config *cfg, int tcp_budget)
{
	struct worker *w;
	struct event_config *ecfg;
	struct itimerspec tick = { { 0, 10000000 }, { 0, 10000000 } };
	int i, fd;

	w = xcalloc(1, sizeof(*w));
	w->idx = idx;
	w->tcp_budget = tcp_budget;
	if ((ecfg = event_config_new()) == NULL ||
	    event_config_set_flag(ecfg, EVENT_BASE_FLAG_NOLOCK) == -1 ||
	    event_config_set_flag(ecfg, EVENT_BASE_FLAG_NO_CACHE_TIME) == -1 ||
	    (w->base = event_base_new_with_config(ecfg)) == NULL)
		fatalx("event_base_new failed");
	event_config_free(ecfg);
	if ((w->bell = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) == -1)
		fatal("eventfd");
	pthread_mutex_init(&w->mtx, NULL);
	pthread_cond_init(&w->cond, NULL);
	config_ref(cfg);
	w->cfg = cfg;
	w->holds = xcalloc(1, sizeof(*w->holds));
	w->holds[0].cfg = cfg;
	w->nholds = 1;
	w->ev_bell = event_new(w->base, w->bell, EV_READ | EV_PERSIST, bell_cb, w);
	event_add(w->ev_bell, NULL);
	/* The 10 ms tick is a timerfd, not a timer of the base: with no timer
	 * to wait for and no cached time (nothing here asks for it), a loop
	 * round reads no clock and computes no timeout, which was a quarter
	 * of libevent's work in a round (at low load two rounds a query). */
	if ((w->tickfd = timerfd_create(CLOCK_MONOTONIC,
	    TFD_NONBLOCK | TFD_CLOEXEC)) == -1 ||
	    timerfd_settime(w->tickfd, 0, &tick, NULL) == -1)
		fatal("timerfd");
	w->ev_timer = event_new(w->base, w->tickfd, EV_READ | EV_PERSIST,
	    timer_cb, w);
	event_add(w->ev_timer, NULL);
	w->tick_us = now_us();
	w->ring = tring_new();
	w->on_query = query_client;
	w->on_answer = query_answer;
	w->on_failed = query_failed;
	w->on_answer_soon = query_answer_soon;

	w->rxbuf = xmalloc(UDP_RXBUF_SIZE);
	tconn_q_init(&w->tcpq, w->base);
	w->txq.st = &w->st;
	if (getrandom(&w->client_salt, sizeof(w->client_salt), 0) !=
	    (ssize_t)sizeof(w->client_salt))
		fatal("getrandom");
	w->tcp_per_addr = xcalloc(CLIENT_BUCKETS, sizeof(*w->tcp_per_addr));
	w->out_per_addr = xcalloc(CLIENT_BUCKETS, sizeof(*w->out_per_addr));
	w->rm = route_matcher_new();
	client_udp_init(w);
	up_init(w);
	for (i = 0; i < ls->nsocks; i++) {
		fd = listen_take(ls, i, idx);
		if (ls->socks[i].type == SOCK_DGRAM)
			client_udp_add(w, fd, ls->socks[i].wildcard);
		else
			client_tcp_add(w, fd, ls->socks[i].text);
	}
	return w;
}

static void *
worker_main(void *arg)
{
	struct worker *w = arg;

	event_base_dispatch(w->base);
	return NULL;
}

void
worker_start(struct worker *w)
{
	if (pthread_create(&w->thr, NULL, worker_main, w) != 0)
		fatalx("pthread_create failed");
	w->started = 1;
}

/* ---- config handover and stop ---- */

static void
ring_bell(struct worker *w)
{
	uint64_t one = 1;

	/* EAGAIN only when the counter is full, which rings it too. */
	if (write(w->bell, &one, sizeof(one)) == -1 && errno != EAGAIN)
		fatal("eventfd write");
}

void
worker_set_config(struct worker *w, struct config *c)
{
	struct timespec ts;
	uint64_t want;

	config_ref(c);
	pthread_mutex_lock(&w->mtx);
	if (w->pending != NULL)
		config_unref(w->pending);
	w->pending = c;
	want = ++w->swaps_asked;
	pthread_mutex_unlock(&w->mtx);
	ring_bell(w);
	pthread_mutex_lock(&w->mtx);
	while (w->swaps_done < want) {
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += 2;
		if (pthread_cond_timedwait(&w->cond, &w->mtx, &ts) != 0) {
			log_warnx("worker %d slow to take the new config", w->idx);
			break;
		}
	}
	pthread_mutex_unlock(&w->mtx);
}

/* The next query is routed with c; queries in flight keep theirs. */
static void
take_config(struct worker *w, struct config *c)
{
	w->cfg = c;
	w->holds = xrealloc(w->holds, (w->nholds + 1) * sizeof(*w->holds));
	w->holds[w->nholds].cfg = c;
	w->holds[w->nholds].inflight = 0;
	w->nholds++;
	query_release_holds(w);
	up_retire(w, c);
}

static void	worker_stopping(struct worker *);

/* The main thread asked for something: a new config, or the stop. */
static void
bell_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct worker *w = arg;
	struct config *c;
	uint64_t done, n;
	int stop;

	(void)ev;
	/* Reset the counter; EAGAIN: an earlier read took this ring too. */
	if (read(fd, &n, sizeof(n)) == -1 && errno != EAGAIN)
		fatal("eventfd read");
	pthread_mutex_lock(&w->mtx);
	c = w->pending;
	w->pending = NULL;
	done = w->swaps_asked;
	stop = w->stop_asked;
	pthread_mutex_unlock(&w->mtx);
	if (c != NULL)
		take_config(w, c);
	pthread_mutex_lock(&w->mtx);
	w->swaps_done = done;
	pthread_cond_broadcast(&w->cond);
	pthread_mutex_unlock(&w->mtx);
	if (stop && !w->stopping)
		worker_stopping(w);
}

/* Once nothing is in flight and every client connection is closed. */
static void
worker_exit_if_idle(struct worker *w)
{
	client_tcp_step(w, now_us());
	if (w->nout == 0 && w->ntcp == 0 && w->nupdates == 0 &&
	    !w->exiting) {
		w->exiting = 1;
		event_base_loopexit(w->base, NULL);
	}
}

static void
timer_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct worker *w = arg;
	uint64_t expired;

	(void)ev;
	/* Ticks missed are not made up: one run does for all. */
	if (read(fd, &expired, sizeof(expired)) == -1 && errno != EAGAIN)
		log_warn("worker: timerfd");
	w->tick_us = now_us();
	if (w->nout > 0) {
		query_timeouts(w, w->tick_us);
		txq_flush(&w->txq);
	}
	if (w->ntcp > 0)
		client_tcp_idle(w);
	/* Retired backends go once their last query is done; never from
	 * inside a callback of their own sockets. */
	up_reap(w);
	if (w->xfrs != NULL)
		xfr_step(w);
	if (w->stopping)
		worker_exit_if_idle(w);
}

/* Stop reading queries, from the listeners and from the client
 * connections alike: a passed listening socket then queues what arrives
 * for the next daemon.  The listening sockets stay open until the worker
 * is freed, since in-flight answers go out through them. */
static void
worker_stopping(struct worker *w)
{
	w->stopping = 1;
	w->stopping_us = now_us();
	client_udp_stop(w);
	client_tcp_stop(w);
	worker_exit_if_idle(w);
}

void
worker_stop(struct worker *w)
{
	if (!w->started)
		return;
	pthread_mutex_lock(&w->mtx);
	w->stop_asked = 1;
	pthread_mutex_unlock(&w->mtx);
	ring_bell(w);
}

void
worker_join(struct worker *w)
{
	if (!w->started)
		return;
	pthread_join(w->thr, NULL);
	w->started = 0;
}

void
worker_free(struct worker *w)
{
	int i;

	if (w == NULL)
		return;
	update_free_all(w);
	xfr_free_all(w);
	up_free(w);
	client_udp_free(w);
	client_tcp_free(w);
	query_free(w);
	for (i = 0; i < w->nholds; i++)
		config_unref(w->holds[i].cfg);
	free(w->holds);
	if (w->pending != NULL)
		config_unref(w->pending);
	event_free(w->ev_bell);
	close(w->bell);
	event_free(w->ev_timer);
	close(w->tickfd);
	tconn_q_free(&w->tcpq);
	event_base_free(w->base);
	route_matcher_free(w->rm);
	tring_free(w->ring);
	free(w->rxbuf);
	free(w->tcp_per_addr);
	free(w->out_per_addr);
	pthread_mutex_destroy(&w->mtx);
	pthread_cond_destroy(&w->cond);
	free(w);
}

const struct stats *
worker_stats(const struct worker *w)
{
	return &w->st;
}

long
worker_outstanding(const struct worker *w)
{
	return w->nout;
}

struct tring *
worker_ring(struct worker *w)
{
	return w->ring;
}

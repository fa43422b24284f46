/*
 * worker: the sockets of one DNS-serving thread (see worker.h): client UDP
 * and TCP listeners, client TCP connections, the UDP sockets and the
 * pipelined TCP connection to each backend, the config handover and the
 * orderly stop.  What a query does is in query.c.
 *
 * Invariants: every fd and event here belongs to this worker's base and is
 * touched by this thread only; a tclient or bconn is freed only when no
 * query slot points to it (inflight / nout reach zero).
 */
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <linux/sockios.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/thread.h>

#include "log.h"
#include "query.h"
#include "util.h"
#include "worker.h"

#define TCP_OUT_MAX	(1024 * 1024)
/* Stopping: how long a client connection may take to acknowledge its last
 * answers, and to get every query read on it answered at all. */
#define STOP_LINGER_US	(1000 * 1000)
#define STOP_TCP_MAX_US	(5 * 1000 * 1000)

static struct log_limit ll_sock;

static void	udp_read_cb(evutil_socket_t, short, void *);
static void	accept_cb(struct evconnlistener *, evutil_socket_t,
		    struct sockaddr *, int, void *);
static void	accept_error_cb(struct evconnlistener *, void *);
static void	bell_cb(evutil_socket_t, short, void *);
static void	timer_cb(evutil_socket_t, short, void *);
static void	resume_accept_cb(evutil_socket_t, short, void *);

/* Read the destination of a datagram from its IP_PKTINFO. */
static int
msg_dst(struct msghdr *mh, struct udp_dst *d)
{
	struct cmsghdr *c;

	for (c = CMSG_FIRSTHDR(mh); c != NULL; c = CMSG_NXTHDR(mh, c)) {
		if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
			struct in_pktinfo pi;

			memcpy(&pi, CMSG_DATA(c), sizeof(pi));
			d->family = AF_INET;
			d->ifindex = pi.ipi_ifindex;
			d->a.v4 = pi.ipi_addr;
			return 0;
		}
		if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO) {
			struct in6_pktinfo pi;

			memcpy(&pi, CMSG_DATA(c), sizeof(pi));
			d->family = AF_INET6;
			d->ifindex = (int)pi.ipi6_ifindex;
			d->a.v6 = pi.ipi6_addr;
			return 0;
		}
	}
	return -1;
}

/* Put the source address of an answer into a control message. */
static socklen_t
dst_cmsg(const struct udp_dst *d, void *buf, size_t len)
{
	struct msghdr mh;
	struct cmsghdr *c;

	memset(buf, 0, len);
	memset(&mh, 0, sizeof(mh));
	mh.msg_control = buf;
	mh.msg_controllen = len;
	c = CMSG_FIRSTHDR(&mh);
	if (d->family == AF_INET) {
		struct in_pktinfo pi;

		memset(&pi, 0, sizeof(pi));
		pi.ipi_spec_dst = d->a.v4;
		c->cmsg_level = IPPROTO_IP;
		c->cmsg_type = IP_PKTINFO;
		c->cmsg_len = CMSG_LEN(sizeof(pi));
		memcpy(CMSG_DATA(c), &pi, sizeof(pi));
		return CMSG_SPACE(sizeof(pi));
	} else {
		struct in6_pktinfo pi;

		memset(&pi, 0, sizeof(pi));
		pi.ipi6_addr = d->a.v6;
		pi.ipi6_ifindex = (unsigned)d->ifindex;
		c->cmsg_level = IPPROTO_IPV6;
		c->cmsg_type = IPV6_PKTINFO;
		c->cmsg_len = CMSG_LEN(sizeof(pi));
		memcpy(CMSG_DATA(c), &pi, sizeof(pi));
		return CMSG_SPACE(sizeof(pi));
	}
}

/* What recvmmsg wrote back into a client datagram's header. */
static inline void
rx_reset(struct mmsghdr *m)
{
	m->msg_hdr.msg_namelen = sizeof(struct sockaddr_storage);
	m->msg_hdr.msg_controllen = TXQ_CTL_LEN;
	m->msg_hdr.msg_flags = 0;
	m->msg_len = 0;
}

struct worker *
worker_new(int idx, struct listeners *ls, struct config *cfg, int tcp_budget)
{
	struct worker *w;
	struct event_config *ecfg;
	struct listener_udp *lu;
	struct timeval tv = { 0, 10000 };
	int i, fd;

	w = xcalloc(1, sizeof(*w));
	w->idx = idx;
	w->tcp_budget = tcp_budget;
	if ((ecfg = event_config_new()) == NULL ||
	    event_config_set_flag(ecfg, EVENT_BASE_FLAG_NOLOCK) == -1 ||
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
	w->next_serial = 1;
	w->ev_bell = event_new(w->base, w->bell, EV_READ | EV_PERSIST, bell_cb, w);
	event_add(w->ev_bell, NULL);
	w->ev_timer = event_new(w->base, -1, EV_PERSIST, timer_cb, w);
	w->ev_accept_resume = evtimer_new(w->base, resume_accept_cb, w);
	event_add(w->ev_timer, &tv);
	tcpout_q_init(&w->tcpq, w->base);
	w->idmask = (1u << IDMAP_MIN_BITS) - 1;
	w->idmap = xcalloc(w->idmask + 1, sizeof(*w->idmap));
	w->rm = route_matcher_new();
	w->rxbuf = xmalloc((size_t)UDP_BATCH * 65536);
	for (i = 0; i < UDP_BATCH; i++) {
		w->rxiov_cl[i].iov_base = w->rxbuf + (size_t)i * UDP_CLIENT_MAX;
		w->rxiov_cl[i].iov_len = UDP_CLIENT_MAX;
		w->rx_cl[i].msg_hdr.msg_iov = &w->rxiov_cl[i];
		w->rx_cl[i].msg_hdr.msg_iovlen = 1;
		w->rx_cl[i].msg_hdr.msg_name = &w->rxfrom[i];
		w->rx_cl[i].msg_hdr.msg_control = w->rxctl[i];
		rx_reset(&w->rx_cl[i]);
		w->rxiov_up[i].iov_base = w->rxbuf + (size_t)i * 65536;
		w->rxiov_up[i].iov_len = 65536;
		w->rx_up[i].msg_hdr.msg_iov = &w->rxiov_up[i];
		w->rx_up[i].msg_hdr.msg_iovlen = 1;
	}
	if (getrandom(&w->client_salt, sizeof(w->client_salt), 0) !=
	    (ssize_t)sizeof(w->client_salt))
		fatal("getrandom");
	w->tcp_per_addr = xcalloc(CLIENT_BUCKETS, sizeof(*w->tcp_per_addr));
	w->out_per_addr = xcalloc(CLIENT_BUCKETS, sizeof(*w->out_per_addr));

	w->udp = xcalloc(ls->nsocks, sizeof(*w->udp));
	w->tcpl = xcalloc(ls->nsocks, sizeof(*w->tcpl));
	for (i = 0; i < ls->nsocks; i++) {
		fd = listen_take(ls, i, idx);
		if (ls->socks[i].type == SOCK_DGRAM) {
			lu = &w->udp[w->nudp++];
			lu->w = w;
			lu->fd = fd;
			lu->wildcard = ls->socks[i].wildcard;
			lu->ev = event_new(w->base, fd, EV_READ | EV_PERSIST,
			    udp_read_cb, lu);
			event_add(lu->ev, NULL);
			continue;
		}
		/* Bound and listening already (listen.c, or whoever passed
		 * it): backlog -1 leaves it as it is. */
		w->tcpl[w->ntcpl] = evconnlistener_new(w->base, accept_cb, w,
		    LEV_OPT_CLOSE_ON_FREE, -1, fd);
		if (w->tcpl[w->ntcpl] == NULL)
			fatalx("evconnlistener_new failed for %s",
			    ls->socks[i].text);
		evconnlistener_set_error_cb(w->tcpl[w->ntcpl], accept_error_cb);
		w->ntcpl++;
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

/* ---- client UDP ---- */

static void
udp_read_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct listener_udp *lu = arg;
	struct worker *w = lu->w;
	struct mmsghdr *m = w->rx_cl;
	struct udp_dst dst;
	struct client cl;
	int i, n, round;

	(void)ev;
	/* A few batches per wakeup, then let the other sockets in. */
	for (round = 0; round < 4; round++) {
		n = recvmmsg(fd, m, UDP_BATCH, MSG_DONTWAIT, NULL);
		if (n <= 0) {
			if (n == -1 && errno != EAGAIN && errno != EINTR &&
			    log_allow(&ll_sock))
				log_warn("recvmmsg");
			return;
		}
		for (i = 0; i < n; i++) {
			STAT_INC(&w->st, queries_udp);
			if (m[i].msg_hdr.msg_flags & MSG_TRUNC) {
				STAT_INC(&w->st, malformed);
				continue;
			}
			cl.sa = (struct sockaddr *)&w->rxfrom[i];
			cl.salen = m[i].msg_hdr.msg_namelen;
			cl.lfd = fd;
			cl.tc = NULL;
			cl.dst = lu->wildcard &&
			    msg_dst(&m[i].msg_hdr, &dst) == 0 ? &dst : NULL;
			query_client(w, w->rxiov_cl[i].iov_base, m[i].msg_len,
			    &cl);
		}
		txq_flush(w);
		for (i = 0; i < n; i++)
			rx_reset(&m[i]);
		if (n < UDP_BATCH)
			return;
	}
}

/* ---- client TCP ---- */

static void
tclient_free(struct tclient *tc)
{
	struct worker *w = tc->w;

	if (w->tcp_per_addr[tc->bucket] > 0)
		w->tcp_per_addr[tc->bucket]--;
	if (tc->prev != NULL)
		tc->prev->next = tc->next;
	else
		w->tclients = tc->next;
	if (tc->next != NULL)
		tc->next->prev = tc->prev;
	w->ntcp--;
	free(tc);
}

static void
tclient_close(struct tclient *tc)
{
	if (tc->closed)
		return;
	tcpout_close(&tc->out);
	bufferevent_free(tc->bev);
	tc->bev = NULL;
	tc->closed = 1;
	if (tc->inflight == 0)
		tclient_free(tc);
}

void
tclient_query_done(struct tclient *tc)
{
	tc->inflight--;
	if (tc->closed) {
		if (tc->inflight == 0)
			tclient_free(tc);
		return;
	}
	if (tc->paused && tc->inflight < TCP_CONN_MAX_INFLIGHT / 2) {
		tc->paused = 0;
		/* Stopping: what was read is answered, nothing more read. */
		if (!tc->w->stopping)
			bufferevent_enable(tc->bev, EV_READ);
		/* Queries already read wait in the input buffer; no new data
		 * may come to wake us, so look at them (from the loop). */
		bufferevent_trigger(tc->bev, EV_READ,
		    BEV_TRIG_IGNORE_WATERMARKS | BEV_TRIG_DEFER_CALLBACKS);
	}
}

/* The input is made linear once and drained once per callback: per
 * message copyout, drain and remove each ran the buffer's callbacks. */
static void
tclient_read_cb(struct bufferevent *bev, void *arg)
{
	struct tclient *tc = arg;
	struct worker *w = tc->w;
	struct evbuffer *in = bufferevent_get_input(bev);
	struct client cl;
	const uint8_t *p;
	size_t avail, off = 0;
	long l;

	avail = evbuffer_get_length(in);
	if (avail < 2 || (p = evbuffer_pullup(in, (ssize_t)avail)) == NULL)
		return;
	/* Hold tc while we work: an answer given at once may close it (and
	 * free the input with the bufferevent). */
	tc->inflight++;
	while (!tc->closed && (l = dns_tcp_next(p, avail, off)) >= 0) {
		if (tc->inflight > TCP_CONN_MAX_INFLIGHT) {
			tc->paused = 1;
			bufferevent_disable(bev, EV_READ);
			break;
		}
		memcpy(w->tcpbuf, p + off + 2, (size_t)l);
		off += 2 + (size_t)l;
		STAT_INC(&w->st, queries_tcp);
		cl.sa = (struct sockaddr *)&tc->addr;
		cl.salen = tc->addrlen;
		cl.lfd = -1;
		cl.tc = tc;
		cl.dst = NULL;
		query_client(w, w->tcpbuf, (size_t)l, &cl);
	}
	if (!tc->closed && off > 0)
		evbuffer_drain(in, off);
	tclient_query_done(tc);
}

static void
tclient_write_cb(struct bufferevent *bev, void *arg)
{
	struct tclient *tc = arg;

	(void)bev;
	tcpout_drained(&tc->out);
}

static void
tclient_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct tclient *tc = arg;

	(void)bev;
	if (what & BEV_EVENT_TIMEOUT)
		STAT_INC(&tc->w->st, tcp_timeouts);
	tclient_close(tc);
}

static void
accept_cb(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa,
    int salen, void *arg)
{
	struct worker *w = arg;
	struct tclient *tc;
	struct timeval tv;
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
	tc->bev = bufferevent_socket_new(w->base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (tc->bev == NULL) {
		close(fd);
		free(tc);
		return;
	}
	w->ntcp++;
	w->tcp_per_addr[bk]++;
	tc->next = w->tclients;
	if (tc->next != NULL)
		tc->next->prev = tc;
	w->tclients = tc;
	bufferevent_setcb(tc->bev, tclient_read_cb, tclient_write_cb,
	    tclient_event_cb, tc);
	tv.tv_sec = w->cfg->set.tcp_idle_s;
	tv.tv_usec = 0;
	bufferevent_set_timeouts(tc->bev, &tv, &tv);
	/* Writing stays off but while a backlog drains: see tcpout.c. */
	bufferevent_enable(tc->bev, EV_READ);
	tcpout_open(&tc->out, &w->tcpq, tc->bev, 0);
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
	if (log_allow(&ll_sock))
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
txq_add(struct worker *w, int fd, const void *buf, size_t len,
    const struct sockaddr *to, socklen_t tolen, const struct udp_dst *from)
{
	int i;

	if (w->txn == TXQ_MAX)
		txq_flush(w);
	i = w->txn++;
	w->txfd[i] = fd;
	w->txiov[i].iov_base = (void *)(uintptr_t)buf;
	w->txiov[i].iov_len = len;
	memset(&w->txm[i], 0, sizeof(w->txm[i]));
	w->txm[i].msg_hdr.msg_iov = &w->txiov[i];
	w->txm[i].msg_hdr.msg_iovlen = 1;
	if (to != NULL) {
		memcpy(&w->txaddr[i], to, tolen);
		w->txm[i].msg_hdr.msg_name = &w->txaddr[i];
		w->txm[i].msg_hdr.msg_namelen = tolen;
	}
	if (from != NULL) {
		w->txm[i].msg_hdr.msg_control = w->txctl[i];
		w->txm[i].msg_hdr.msg_controllen = dst_cmsg(from, w->txctl[i],
		    sizeof(w->txctl[i]));
	}
}

/* One sendmmsg per run of datagrams for the same socket.  The queue is
 * sorted by socket first (stable, it is short), so a batch of queries to
 * two backends costs two system calls, not one per query. */
void
txq_flush(struct worker *w)
{
	struct mmsghdr m;
	int i, j, n = w->txn, fd, r, start;

	w->flushes++;
	if (n == 0)
		return;
	for (i = 1; i < n; i++) {
		fd = w->txfd[i];
		m = w->txm[i];
		for (j = i; j > 0 && w->txfd[j - 1] > fd; j--) {
			w->txfd[j] = w->txfd[j - 1];
			w->txm[j] = w->txm[j - 1];
		}
		w->txfd[j] = fd;
		w->txm[j] = m;
	}
	for (start = 0; start < n; start = i) {
		for (i = start; i < n && w->txfd[i] == w->txfd[start]; i++)
			;
		j = start;
		while (j < i) {
			r = sendmmsg(w->txfd[start], &w->txm[j], (unsigned)(i - j),
			    MSG_DONTWAIT);
			if (r <= 0) {
				/* The kernel refused the rest (buffer full,
				 * ICMP error pending): those queries time out
				 * and retry, those answers are lost. */
				STAT_ADD(&w->st, send_errors, i - j);
				if (log_allow(&ll_sock))
					log_warn("sendmmsg");
				break;
			}
			j += r;
		}
	}
	w->txn = 0;
}

uint16_t
worker_random16(struct worker *w)
{
	/* glibc's arc4random is a system call per use; getrandom() output
	 * in bulk is as unpredictable at a 2048th of the cost. */
	if (w->rndpos == 0) {
		if (getrandom(w->rnd, sizeof(w->rnd), 0) != (ssize_t)sizeof(w->rnd))
			fatal("getrandom");
		w->rndpos = (int)NELEMS(w->rnd);
	}
	return w->rnd[--w->rndpos];
}

int
client_send_direct(struct worker *w, const struct client *cl,
    const uint8_t *pkt, size_t len)
{
	struct tclient *tc = cl->tc;
	uint64_t ctl[TXQ_CTL_LEN / 8];
	struct iovec iov;
	struct msghdr mh;

	if (tc == NULL) {
		iov.iov_base = (void *)(uintptr_t)pkt;
		iov.iov_len = len;
		memset(&mh, 0, sizeof(mh));
		mh.msg_name = (void *)(uintptr_t)cl->sa;
		mh.msg_namelen = cl->salen;
		mh.msg_iov = &iov;
		mh.msg_iovlen = 1;
		if (cl->dst != NULL) {
			mh.msg_control = ctl;
			mh.msg_controllen = dst_cmsg(cl->dst, ctl, sizeof(ctl));
		}
		if (sendmsg(cl->lfd, &mh, 0) == -1) {
			STAT_INC(&w->st, send_errors);
			return -1;
		}
		return 0;
	}
	if (tc->closed)
		return -1;
	/* A client that does not read its answers is cut off. */
	if (tcpout_backlog(&tc->out) > TCP_OUT_MAX ||
	    tcpout_msg(&tc->out, pkt, len) == -1) {
		STAT_INC(&w->st, send_errors);
		tclient_close(tc);
		return -1;
	}
	return 0;
}

int
client_send(struct worker *w, struct qslot *s, const uint8_t *pkt, size_t len,
    int stable)
{
	struct client cl;

	if (stable && s->tc == NULL) {
		txq_add(w, s->lfd, pkt, len, (struct sockaddr *)&s->client,
		    s->clientlen, s->dst.family != 0 ? &s->dst : NULL);
		return 0;
	}
	slot_client(s, &cl);
	return client_send_direct(w, &cl, pkt, len);
}

/* ---- backends ---- */

static void up_udp_cb(evutil_socket_t, short, void *);
static void up_tcp_read_cb(struct bufferevent *, void *);
static void up_tcp_write_cb(struct bufferevent *, void *);
static void up_tcp_event_cb(struct bufferevent *, short, void *);

static int
config_has_backend(const struct config *c, const struct backend *b)
{
	int i;

	for (i = 0; i < c->nbackends; i++)
		if (c->backends[i] == b)
			return 1;
	return 0;
}

struct bconn *
bconn_get(struct worker *w, struct backend *b)
{
	struct bconn *bc = b->wstate[w->idx];
	int i, fd;

	if (bc != NULL)
		return bc->retired ? NULL : bc;
	if (!config_has_backend(w->cfg, b))
		return NULL;
	bc = xcalloc(1, sizeof(*bc));
	bc->w = w;
	bc->b = b;
	backend_ref(b);
	for (i = 0; i < UP_UDP_SOCKS; i++) {
		bc->udp[i].bc = bc;
		bc->udp[i].fd = -1;
		fd = socket(b->addr.ss_family,
		    SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd == -1) {
			if (log_allow(&ll_sock))
				log_warn("socket for backend %s", b->name);
			continue;
		}
		/* connect() lets the kernel drop datagrams from any other
		 * address or port, and picks a random source port. */
		if (connect(fd, (struct sockaddr *)&b->addr, b->addrlen) == -1) {
			close(fd);
			continue;
		}
		/* A burst of answers must not overflow the default buffer
		 * while the worker is busy elsewhere. */
		sock_buffers(fd, 1024 * 1024, 1);
		bc->udp[i].fd = fd;
		bc->udp[i].serial = w->next_serial++;
		bc->udp[i].ev = event_new(w->base, fd, EV_READ | EV_PERSIST,
		    up_udp_cb, &bc->udp[i]);
		event_add(bc->udp[i].ev, NULL);
	}
	bc->next = w->bconns;
	w->bconns = bc;
	b->wstate[w->idx] = bc;
	return bc;
}

static void
bconn_close_tcp(struct utcp *t)
{
	if (t->bev != NULL) {
		tcpout_close(&t->out);
		bufferevent_free(t->bev);
		t->bev = NULL;
	}
	t->serial = 0;
	t->nout = 0;
}

void
bconn_maybe_free(struct bconn *bc)
{
	struct worker *w = bc->w;
	struct bconn **pp;
	int i;

	if (!bc->retired || bc->nout > 0)
		return;
	for (pp = &w->bconns; *pp != NULL; pp = &(*pp)->next)
		if (*pp == bc) {
			*pp = bc->next;
			break;
		}
	for (i = 0; i < UP_UDP_SOCKS; i++)
		if (bc->udp[i].fd != -1) {
			event_free(bc->udp[i].ev);
			close(bc->udp[i].fd);
		}
	for (i = 0; i < UP_TCP_CONNS; i++)
		bconn_close_tcp(&bc->tcp[i]);
	bc->b->wstate[w->idx] = NULL;
	backend_unref(bc->b);
	free(bc);
}

/* The sockets take turns by batch, not by query: every query of one batch
 * for this backend leaves on the same socket, so it costs one sendmmsg
 * (and its answers come back together) instead of one per socket. */
struct usock *
bconn_udp(struct bconn *bc)
{
	int i, k;

	if (bc->udp_flush != bc->w->flushes) {
		bc->udp_flush = bc->w->flushes;
		bc->udp_rr++;
	}
	for (k = 0; k < UP_UDP_SOCKS; k++) {
		i = (bc->udp_rr + k) % UP_UDP_SOCKS;
		if (bc->udp[i].fd != -1)
			return &bc->udp[i];
	}
	return NULL;
}

/* The first open connection with fewer than UP_TCP_SPREAD queries in
 * flight; else a new one when there is room; else the least loaded.  Filling
 * them in order, not evenly, matters: a connection that carries a steady
 * stream of queries acknowledges the answers at once, while one that sees a
 * query now and then leaves the server's Nagle waiting for our delayed ACK
 * (40 ms on Linux).  Spread evenly at 10k qps, that was 3.5 ms average. */
struct utcp *
bconn_tcp(struct bconn *bc)
{
	struct worker *w = bc->w;
	struct utcp *best = NULL, *idle = NULL, *t;
	int i;

	for (i = 0; i < UP_TCP_CONNS; i++) {
		t = &bc->tcp[i];
		if (t->bev == NULL) {
			if (idle == NULL)
				idle = t;
			continue;
		}
		if (t->nout < UP_TCP_SPREAD)
			return t;
		if (best == NULL || t->nout < best->nout)
			best = t;
	}
	if (idle == NULL)
		return best;
	t = idle;
	t->bc = bc;
	t->nout = 0;
	t->bev = bufferevent_socket_new(w->base, -1, BEV_OPT_CLOSE_ON_FREE);
	if (t->bev == NULL)
		return best;
	bufferevent_setcb(t->bev, up_tcp_read_cb, up_tcp_write_cb,
	    up_tcp_event_cb, t);
	tcpout_open(&t->out, &w->tcpq, t->bev, 1);
	if (bufferevent_socket_connect(t->bev, (struct sockaddr *)&bc->b->addr,
	    (int)bc->b->addrlen) == -1) {
		bconn_close_tcp(t);
		return best;
	}
	bufferevent_enable(t->bev, EV_READ);
	t->serial = w->next_serial++;
	return t;
}

struct utcp *
bconn_tcp_by_serial(struct bconn *bc, uint32_t serial)
{
	int i;

	for (i = 0; i < UP_TCP_CONNS; i++)
		if (bc->tcp[i].bev != NULL && bc->tcp[i].serial == serial)
			return &bc->tcp[i];
	return NULL;
}

int
bconn_send_tcp(struct utcp *t, const uint8_t *pkt, size_t len)
{
	return tcpout_msg(&t->out, pkt, len);
}

static void
up_udp_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct usock *us = arg;
	struct bconn *bc = us->bc;
	struct worker *w = bc->w;
	struct mmsghdr *m = w->rx_up;
	int i, n, round;

	(void)ev;
	/* Connected sockets: no address, no control data to reset. */
	for (round = 0; round < 4; round++) {
		n = recvmmsg(fd, m, UDP_BATCH, MSG_DONTWAIT, NULL);
		if (n == -1) {
			if (errno == ECONNREFUSED) {
				/* ICMP port unreachable: nobody listens there;
				 * do not wait for the timeouts. */
				query_bconn_failed(w, bc, 0);	/* UDP */
				txq_flush(w);
			}
			return;
		}
		for (i = 0; i < n; i++)
			query_backend_msg(w, bc, us->serial,
			    w->rxiov_up[i].iov_base, m[i].msg_len, 1);
		/* Before the next recvmmsg reuses the buffers. */
		txq_flush(w);
		if (n < UDP_BATCH)
			return;
	}
}

static void
up_tcp_read_cb(struct bufferevent *bev, void *arg)
{
	struct utcp *t = arg;
	struct bconn *bc = t->bc;
	struct worker *w = bc->w;
	struct evbuffer *in = bufferevent_get_input(bev);
	const uint8_t *p;
	size_t avail, off = 0;
	uint32_t serial = t->serial;
	long l;

	avail = evbuffer_get_length(in);
	if (avail < 2 || (p = evbuffer_pullup(in, (ssize_t)avail)) == NULL)
		return;
	while ((l = dns_tcp_next(p, avail, off)) >= 0) {
		memcpy(w->tcpbuf, p + off + 2, (size_t)l);
		off += 2 + (size_t)l;
		query_backend_msg(w, bc, serial, w->tcpbuf, (size_t)l, 0);
		/* The connection may have been closed under us, and the
		 * input freed with it. */
		if (t->bev != bev)
			return;
	}
	if (off > 0)
		evbuffer_drain(in, off);
	/* More answers to come: see tcpout.c on ACKs. */
	if (t->nout > 0)
		tcpout_ack(&t->out);
}

static void
up_tcp_write_cb(struct bufferevent *bev, void *arg)
{
	struct utcp *t = arg;

	(void)bev;
	tcpout_drained(&t->out);
}

static void
up_tcp_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct utcp *t = arg;
	struct bconn *bc = t->bc;
	uint32_t serial = t->serial;

	if (what & BEV_EVENT_CONNECTED) {
		int on = 1;

		(void)setsockopt(bufferevent_getfd(bev), IPPROTO_TCP,
		    TCP_NODELAY, &on, sizeof(on));
		tcpout_connected(&t->out);
		return;
	}
	/* EOF (the backend closed an idle connection), reset, refused:
	 * what was in flight on it will not be answered. */
	bconn_close_tcp(t);
	query_bconn_failed(bc->w, bc, serial);
	txq_flush(bc->w);
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

static void
take_config(struct worker *w, struct config *c)
{
	struct bconn *bc, *next;

	w->cfg = c;
	w->holds = xrealloc(w->holds, (w->nholds + 1) * sizeof(*w->holds));
	w->holds[w->nholds].cfg = c;
	w->holds[w->nholds].inflight = 0;
	w->nholds++;
	query_release_holds(w);
	for (bc = w->bconns; bc != NULL; bc = next) {
		next = bc->next;
		if (!config_has_backend(c, bc->b)) {
			bc->retired = 1;
			bconn_maybe_free(bc);
		}
	}
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

/* A complete query waits in tc's input (read, not yet handled). */
static int
tclient_query_buffered(struct tclient *tc)
{
	struct evbuffer *in = bufferevent_get_input(tc->bev);
	size_t n = evbuffer_get_length(in);
	uint8_t h[2];

	if (n < 2 || evbuffer_copyout(in, h, 2) != 2)
		return 0;
	return n - 2 >= ((size_t)h[0] << 8 | h[1]);
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
	fd = bufferevent_getfd(tc->bev);
	if (now - w->stopping_us > STOP_TCP_MAX_US) {
		tclient_close(tc);
		return;
	}
	if (!tc->shut) {
		if (tc->inflight > 0 || tcpout_backlog(&tc->out) > 0)
			return;
		if (tclient_query_buffered(tc)) {
			bufferevent_trigger(tc->bev, EV_READ,
			    BEV_TRIG_IGNORE_WATERMARKS | BEV_TRIG_DEFER_CALLBACKS);
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

/* Once nothing is in flight and every client connection is closed. */
static void
worker_exit_if_idle(struct worker *w)
{
	struct tclient *tc, *next;
	uint64_t now = now_us();

	for (tc = w->tclients; tc != NULL; tc = next) {
		next = tc->next;	/* tc may go */
		tclient_stop_step(tc, now);
	}
	if (w->nout == 0 && w->ntcp == 0 && !w->exiting) {
		w->exiting = 1;
		event_base_loopexit(w->base, NULL);
	}
}

static void
timer_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct worker *w = arg;

	(void)fd;
	(void)ev;
	struct bconn *bc, *next;

	if (w->nout > 0) {
		query_timeouts(w, now_us());
		txq_flush(w);
	}
	/* Retired backends go once their last query is done; never from
	 * inside a callback of their own sockets. */
	for (bc = w->bconns; bc != NULL; bc = next) {
		next = bc->next;
		bconn_maybe_free(bc);
	}
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
	struct tclient *tc;
	int i;

	w->stopping = 1;
	w->stopping_us = now_us();
	for (i = 0; i < w->nudp; i++)
		event_del(w->udp[i].ev);
	for (i = 0; i < w->ntcpl; i++)
		evconnlistener_disable(w->tcpl[i]);
	for (tc = w->tclients; tc != NULL; tc = tc->next)
		if (!tc->closed)
			bufferevent_disable(tc->bev, EV_READ);
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
	struct bconn *bc, *next;
	int i;

	if (w == NULL)
		return;
	for (bc = w->bconns; bc != NULL; bc = next) {
		next = bc->next;
		bc->retired = 1;
		bc->nout = 0;
		bconn_maybe_free(bc);
	}
	for (i = 0; i < w->nudp; i++) {
		event_free(w->udp[i].ev);
		close(w->udp[i].fd);
	}
	for (i = 0; i < w->ntcpl; i++)
		evconnlistener_free(w->tcpl[i]);
	for (i = 0; i < w->nchunks; i++)
		free(w->chunks[i]);
	free(w->chunks);
	for (i = 0; i < w->nholds; i++)
		config_unref(w->holds[i].cfg);
	free(w->holds);
	if (w->pending != NULL)
		config_unref(w->pending);
	event_free(w->ev_bell);
	close(w->bell);
	event_free(w->ev_timer);
	event_free(w->ev_accept_resume);
	tcpout_q_free(&w->tcpq);
	event_base_free(w->base);
	route_matcher_free(w->rm);
	free(w->idmap);
	free(w->rxbuf);
	free(w->tcp_per_addr);
	free(w->out_per_addr);
	free(w->udp);
	free(w->tcpl);
	pthread_mutex_destroy(&w->mtx);
	pthread_cond_destroy(&w->cond);
	free(w);
}

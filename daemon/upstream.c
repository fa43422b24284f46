/*
 * upstream: a worker's sockets to the backends, the ID map and random IDs
 * (see upstream.h).
 *
 * An answer is accepted only on the socket the query went out on (the
 * sockets are connected, so the kernel already checked the address and
 * port) with the ID it went out with: each socket has a table of its
 * queries out, indexed by the ID's low bits.  IDs are random (RFC 5452);
 * one whose cell is taken is drawn again.  A TCP connection's table is
 * emptied when it closes, so an answer on a connection opened again in
 * its place never finds a query of the old one.  Whether the answer fits
 * the question is for the query layer to say.
 *
 * A backend that reads a PROXY header (client-address proxy) learns the
 * client once per TCP connection, from the header at its start: such a
 * connection carries the queries of one client only (one TCP client's
 * connection, or one UDP client's address and port), as dnsdist does.
 * Each connection remembers its header; a query goes on one with the same
 * header, else on a new one, else on one with no query in flight, closed
 * and opened again with its header; with all UP_TCP_CONNS busy for other
 * clients the try fails (proxy-tcp-busy) and the query layer goes on to
 * another member.
 *
 * Invariants: every fd and event here belongs to this worker's base and
 * is touched by this thread only; a bconn is freed only when it is
 * retired and no query is out on it (nout is zero).
 */
#include <sys/random.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backend.h"
#include "config.h"
#include "dnsmsg.h"
#include "log.h"
#include "proxyv2.h"
#include "upstream.h"
#include "wstate.h"

#define UP_UDP_SOCKS	4	/* UDP sockets per backend per worker */
#define UP_UDP_TURN	16	/* send queue flushes a socket's turn lasts */
/* TCP to a backend: up to UP_TCP_CONNS connections per worker, another one
 * opened only when every open one has UP_TCP_SPREAD queries in flight.  A
 * server such as NSD answers one connection's queries one after the other,
 * so a single pipelined connection would cap the backend far below what it
 * serves to several clients. */
#define UP_TCP_CONNS	4
#define UP_TCP_SPREAD	16

/* A socket's queries out by ID: the cell of ID i is i & mask, so a lookup
 * is one load and a compare, with no hash and no probe.  It starts at
 * IDTAB_MIN cells and doubles at 25% load, up to one cell an ID: a
 * doubling moves each query to a cell of its own, as their low bits
 * differed already.  A worker has 8 of them for each backend it sends
 * to (UP_UDP_SOCKS + UP_TCP_CONNS), so they start small: 256 octets,
 * 2 KB a backend, and only the busy ones grow. */
#define IDTAB_MIN	16
#define IDTAB_MAX	65536
struct idcell {
	struct up_ref	*val;		/* NULL: empty */
	uint16_t	 id;
};

struct idtab {
	struct idcell	*cell;
	uint32_t	 mask;
	uint32_t	 count;
};

struct usock {
	struct bconn	*bc;
	int		 fd;
	struct event	*ev;
	struct idtab	 ids;
};

struct utcp {
	struct bconn		*bc;
	struct tconn		 c;		/* queries out, answers in */
	uint32_t		 serial;	/* 0 when not open; never reused */
	struct idtab		 ids;
	long			 nout;		/* queries in flight on it */
	size_t			 hdrlen;	/* the PROXY header it opened */
	uint8_t			 hdr[PROXYV2_MAX];	/* with; 0: none */
};

/* One worker's connections to one backend (b->wstate[w->idx]). */
struct bconn {
	struct worker		*w;
	struct backend		*b;
	struct bconn		*next;		/* worker's list */
	struct usock		 udp[UP_UDP_SOCKS];
	unsigned		 udp_rr;
	uint64_t		 udp_flush;	/* txq flushes when udp_rr last moved */
	struct utcp		 tcp[UP_TCP_CONNS];
	long			 nout;		/* queries out on it */
	int			 retired;
};

static struct log_limit ll_up;

static void	up_udp_cb(evutil_socket_t, short, void *);
static void	up_tcp_read_cb(struct tconn *, void *);
static void	up_tcp_error_cb(struct tconn *, int, void *);

/* ---- the ID tables ---- */

static void
idtab_init(struct idtab *t)
{
	t->cell = xcalloc(IDTAB_MIN, sizeof(*t->cell));
	t->mask = IDTAB_MIN - 1;
	t->count = 0;
}

/* The query out with id, or NULL. */
static inline struct up_ref *
idtab_get(const struct idtab *t, uint16_t id)
{
	const struct idcell *c = &t->cell[id & t->mask];

	return c->id == id ? c->val : NULL;
}

/* Make room for one more query: double the table past 25% load.  Returns
 * -1 when it is at its largest and full to that load. */
static int
idtab_reserve(struct idtab *t)
{
	struct idcell *old = t->cell;
	uint32_t i, n = t->mask + 1;

	if (t->count + 1 <= n / 4)
		return 0;
	if (n >= IDTAB_MAX)
		return -1;
	t->cell = xcalloc((size_t)n * 2, sizeof(*t->cell));
	t->mask = n * 2 - 1;
	for (i = 0; i < n; i++)
		if (old[i].val != NULL)
			t->cell[old[i].id & t->mask] = old[i];
	free(old);
	return 0;
}

/* Every query out is off it: its connection closed. */
static void
idtab_clear(struct idtab *t)
{
	memset(t->cell, 0, ((size_t)t->mask + 1) * sizeof(*t->cell));
	t->count = 0;
}

/* The query out on t with pkt's ID, or NULL (counted). */
static inline struct up_ref *
id_answer(struct worker *w, const struct idtab *t, const uint8_t *pkt,
    size_t len)
{
	struct up_ref *r;

	if (len < DNS_HDR_LEN || (r = idtab_get(t, dns_get_id(pkt))) == NULL) {
		STAT_INC(&w->st, unexpected);
		return NULL;
	}
	return r;
}

static uint16_t
random16(struct worker *w)
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

/* ---- connections ---- */

void
up_init(struct worker *w)
{
	int i;

	w->next_serial = 1;
	/* Connected sockets: no address, no control data to reset. */
	for (i = 0; i < UDP_BATCH; i++) {
		w->rxiov_up[i].iov_base = w->rxbuf + (size_t)i * UDP_UP_STRIDE;
		w->rxiov_up[i].iov_len = 65536;
		w->rx_up[i].msg_hdr.msg_iov = &w->rxiov_up[i];
		w->rx_up[i].msg_hdr.msg_iovlen = 1;
	}
}

static int
config_has_backend(const struct config *c, const struct backend *b)
{
	int i;

	for (i = 0; i < c->nbackends; i++)
		if (c->backends[i] == b)
			return 1;
	return 0;
}

static struct bconn *
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
	for (i = 0; i < UP_TCP_CONNS; i++) {
		bc->tcp[i].c.fd = -1;
		idtab_init(&bc->tcp[i].ids);
	}
	for (i = 0; i < UP_UDP_SOCKS; i++) {
		bc->udp[i].bc = bc;
		bc->udp[i].fd = -1;
		idtab_init(&bc->udp[i].ids);
		fd = socket(b->addr.ss_family,
		    SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd == -1) {
			if (log_allow(&ll_up))
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
		bc->udp[i].ev = event_new(w->base, fd, EV_READ | EV_PERSIST,
		    up_udp_cb, &bc->udp[i]);
		event_add(bc->udp[i].ev, NULL);
	}
	bc->next = w->bconns;
	w->bconns = bc;
	b->wstate[w->idx] = bc;
	return bc;
}

/* The input stays until the bconn goes: an answer being handled may be in
 * it (see up_tcp_read_cb).  The queries out on it are off it: their
 * up_unsend finds their cells empty. */
static void
bconn_close_tcp(struct utcp *t)
{
	tconn_close(&t->c);
	t->serial = 0;
	t->nout = 0;
	idtab_clear(&t->ids);
}

static void
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
	for (i = 0; i < UP_UDP_SOCKS; i++) {
		if (bc->udp[i].fd != -1) {
			event_free(bc->udp[i].ev);
			close(bc->udp[i].fd);
		}
		free(bc->udp[i].ids.cell);
	}
	for (i = 0; i < UP_TCP_CONNS; i++) {
		tconn_release(&bc->tcp[i].c);
		free(bc->tcp[i].ids.cell);
	}
	bc->b->wstate[w->idx] = NULL;
	backend_unref(bc->b);
	free(bc);
}

/* The sockets take turns by UP_UDP_TURN batches, not by query: every
 * query of one batch for this backend leaves on the same socket, so it
 * costs one sendmmsg instead of one per socket, and the answers to the
 * batches of one turn come back on one socket, where a wakeup reads them
 * with one recvmmsg and relays them with one sendmmsg.  Taking turns by
 * batch, the answers to a few batches came on as many sockets: a
 * recvmmsg, a callback and a sendmmsg each.  A turn is short enough that
 * the answers of one fit its socket's buffer. */
static int
bconn_udp(struct bconn *bc)
{
	int i, k;

	if (bc->w->txq.flushes - bc->udp_flush >= UP_UDP_TURN) {
		bc->udp_flush = bc->w->txq.flushes;
		bc->udp_rr++;
	}
	for (k = 0; k < UP_UDP_SOCKS; k++) {
		i = (bc->udp_rr + k) % UP_UDP_SOCKS;
		if (bc->udp[i].fd != -1)
			return i;
	}
	return -1;
}

/* The first open connection with fewer than UP_TCP_SPREAD queries in
 * flight; else a new one when there is room; else the least loaded.  Filling
 * them in order, not evenly, matters: a connection that carries a steady
 * stream of queries acknowledges the answers at once, while one that sees a
 * query now and then leaves the server's Nagle waiting for our delayed ACK
 * (40 ms on Linux).  Spread evenly at 10k qps, that was 3.5 ms average. */
static struct utcp *
bconn_tcp(struct bconn *bc, const uint8_t *hdr, size_t hdrlen)
{
	struct worker *w = bc->w;
	struct utcp *best = NULL, *idle = NULL, *spare = NULL, *t;
	int i;

	for (i = 0; i < UP_TCP_CONNS; i++) {
		t = &bc->tcp[i];
		if (!tconn_is_open(&t->c)) {
			if (idle == NULL)
				idle = t;
			continue;
		}
		if (t->hdrlen != hdrlen ||
		    (hdrlen > 0 && memcmp(t->hdr, hdr, hdrlen) != 0)) {
			/* Another client's (or opened before the backend's
			 * client-address changed). */
			if (t->nout == 0 && spare == NULL)
				spare = t;
			continue;
		}
		if (t->nout < UP_TCP_SPREAD)
			return t;
		if (best == NULL || t->nout < best->nout)
			best = t;
	}
	if (idle == NULL && (idle = spare) != NULL)
		bconn_close_tcp(idle);
	if (idle == NULL) {
		if (best == NULL)
			STAT_INC(&w->st, proxy_tcp_busy);
		return best;
	}
	t = idle;
	t->bc = bc;
	t->nout = 0;
	if (tconn_connect(&t->c, &w->tcpq, w->base,
	    (struct sockaddr *)&bc->b->addr, bc->b->addrlen, up_tcp_read_cb,
	    up_tcp_error_cb, t) == -1)
		return best;
	t->hdrlen = hdrlen;
	memcpy(t->hdr, hdr, hdrlen);
	if (hdrlen > 0 && tconn_raw(&t->c, hdr, hdrlen) == -1) {
		bconn_close_tcp(t);
		return best;
	}
	t->serial = w->next_serial++;
	return t;
}

/* ---- sending ---- */

int
up_send(struct worker *w, struct up_ref *r, struct backend *b, int tcp,
    uint8_t *pkt, size_t len, size_t off)
{
	struct bconn *bc;
	struct usock *us = NULL;
	struct utcp *ut = NULL;
	struct idtab *t;
	struct idcell *c;
	uint16_t id;
	int tries, sock = 0;

	if ((bc = bconn_get(w, b)) == NULL)
		return -1;
	if (bc->nout >= w->cfg->set.max_outstanding_backend) {
		STAT_INC(&w->st, overload);
		return -1;
	}
	tcp = tcp || b->transport == TRANSPORT_TCP;
	if (tcp ? (ut = bconn_tcp(bc, pkt, off)) == NULL :
	    (sock = bconn_udp(bc)) == -1) {
		STAT_INC(&w->st, send_errors);
		return -1;
	}
	if (tcp)
		sock = (int)(ut - bc->tcp);
	else
		us = &bc->udp[sock];
	t = tcp ? &ut->ids : &us->ids;
	if (idtab_reserve(t) == -1) {
		STAT_INC(&w->st, overload);
		return -1;
	}
	/* A fresh random ID, unique on the socket it goes out on. */
	for (tries = 0; tries < 16; tries++) {
		id = random16(w);
		if ((c = &t->cell[id & t->mask])->val == NULL)
			break;
	}
	if (tries == 16)
		return -1;
	dns_set_id(pkt + off, id);
	if (tcp) {
		if (tconn_msg(&ut->c, pkt + off, len - off) == -1) {
			STAT_INC(&w->st, send_errors);
			return -1;
		}
		ut->nout++;
	} else
		txq_add(&w->txq, us->fd, pkt, len, NULL, 0, NULL);
	c->val = r;
	c->id = id;
	t->count++;
	r->bc = bc;
	r->b = b;
	r->id = id;
	r->tcp = (uint8_t)tcp;
	r->sock = (uint8_t)sock;
	bc->nout++;
	backend_wadd(&b->wc[w->idx].outstanding, 1);
	backend_wadd(&b->wc[w->idx].queries, 1);
	STAT_INC(&w->st, forwarded);
	/* The next query's ID is drawn already, and most likely goes out on
	 * this socket too: start loading its cell, which a random ID finds
	 * cold. */
	if (w->rndpos > 0)
		__builtin_prefetch(&t->cell[w->rnd[w->rndpos - 1] & t->mask]);
	return 0;
}

void
up_unsend(struct worker *w, struct up_ref *r)
{
	struct bconn *bc = r->bc;
	struct idtab *t;
	struct idcell *c;

	if (bc == NULL)
		return;
	/* Not r's when its connection has been closed since (emptied). */
	t = r->tcp ? &bc->tcp[r->sock].ids : &bc->udp[r->sock].ids;
	c = &t->cell[r->id & t->mask];
	if (c->val == r) {
		c->val = NULL;
		t->count--;
		if (r->tcp)
			bc->tcp[r->sock].nout--;
	}
	bc->nout--;
	backend_wadd(&bc->b->wc[w->idx].outstanding, -1UL);
	r->bc = NULL;
}

/* The queries out in t, onto the list *failed (by r->failed).  The
 * tables are where a query out is found: no list of them is kept, which
 * every query would pay for, to be read only when a connection fails. */
static void
idtab_collect(const struct idtab *t, struct up_ref **failed)
{
	uint32_t i;

	for (i = 0; i <= t->mask; i++)
		if (t->cell[i].val != NULL) {
			t->cell[i].val->failed = *failed;
			*failed = t->cell[i].val;
		}
}

/* Those queries failed at once (refused, reset, closed): the query layer
 * is told after they were all collected, as it may send again on this
 * very bconn. */
static void
bconn_failed(struct worker *w, struct up_ref *failed)
{
	struct up_ref *r;

	while ((r = failed) != NULL) {
		failed = r->failed;
		r->failed = NULL;
		w->on_failed(w, r);
	}
	txq_flush(&w->txq);
}

/* ---- reading ---- */

static void
up_udp_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct usock *us = arg;
	struct bconn *bc = us->bc;
	struct worker *w = bc->w;
	struct mmsghdr *m = w->rx_up;
	struct up_ref *r, *failed = NULL;
	int i, n, round;

	(void)ev;
	for (round = 0; round < 4; round++) {
		n = sys_recvmmsg(fd, m, UDP_BATCH, MSG_DONTWAIT);
		if (n == -1) {
			/* ICMP port unreachable: nobody listens there; do
			 * not wait for the timeouts. */
			if (errno == ECONNREFUSED) {
				for (i = 0; i < UP_UDP_SOCKS; i++)
					idtab_collect(&bc->udp[i].ids, &failed);
				bconn_failed(w, failed);
			}
			return;
		}
		w->batch_us = now_us();
		/* The queries' slots are cold by the time their answers
		 * come: start loading them all before the first is handled.
		 * Each is looked up again when its turn comes: an answer
		 * handled before may have sent or grown the table. */
		for (i = 0; i < n; i++)
			if (m[i].msg_len >= DNS_HDR_LEN && (r = idtab_get(&us->ids,
			    dns_get_id(w->rxiov_up[i].iov_base))) != NULL)
				w->on_answer_soon(r);
		for (i = 0; i < n; i++) {
			r = id_answer(w, &us->ids, w->rxiov_up[i].iov_base,
			    m[i].msg_len);
			if (r != NULL)
				w->on_answer(w, r, w->rxiov_up[i].iov_base,
				    m[i].msg_len, 1);
		}
		/* Before the next recvmmsg reuses the buffers. */
		txq_flush(&w->txq);
		w->batch_us = 0;
		if (n < UDP_BATCH)
			return;
	}
}

/* Each answer is handled where it was read: the query layer may change it
 * (it is consumed after), and a close under it leaves the input in place. */
static void
up_tcp_read_cb(struct tconn *c, void *arg)
{
	struct utcp *t = arg;
	struct worker *w = t->bc->w;
	struct up_ref *r;
	uint8_t *pkt;
	size_t off = 0;
	uint32_t serial = t->serial;
	long l;

	w->batch_us = now_us();
	while ((l = dns_tcp_next(c->in, c->inlen, off)) >= 0) {
		pkt = c->in + off + 2;
		off += 2 + (size_t)l;
		if ((r = id_answer(w, &t->ids, pkt, (size_t)l)) == NULL)
			continue;
		w->on_answer(w, r, pkt, (size_t)l, 0);
		/* Closed under us (and maybe opened again). */
		if (t->serial != serial) {
			w->batch_us = 0;
			return;
		}
	}
	w->batch_us = 0;
	if (off > 0)
		tconn_consume(c, off);
	/* More answers to come: see tconn.c on ACKs. */
	if (t->nout > 0)
		tconn_ack(c);
}

/* EOF (the backend closed an idle connection), reset, refused: what was in
 * flight on it will not be answered. */
static void
up_tcp_error_cb(struct tconn *c, int what, void *arg)
{
	struct utcp *t = arg;
	struct up_ref *failed = NULL;

	(void)c;
	(void)what;
	idtab_collect(&t->ids, &failed);
	bconn_close_tcp(t);
	bconn_failed(t->bc->w, failed);
}

/* ---- the worker's life ---- */

void
up_retire(struct worker *w, const struct config *c)
{
	struct bconn *bc, *next;

	for (bc = w->bconns; bc != NULL; bc = next) {
		next = bc->next;
		if (!config_has_backend(c, bc->b)) {
			bc->retired = 1;
			bconn_maybe_free(bc);
		}
	}
}

void
up_reap(struct worker *w)
{
	struct bconn *bc, *next;

	for (bc = w->bconns; bc != NULL; bc = next) {
		next = bc->next;
		bconn_maybe_free(bc);
	}
}

void
up_free(struct worker *w)
{
	struct bconn *bc, *next;

	for (bc = w->bconns; bc != NULL; bc = next) {
		next = bc->next;
		bc->retired = 1;
		bc->nout = 0;
		bconn_maybe_free(bc);
	}
}

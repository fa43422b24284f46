/*
 * upstream: a worker's sockets to the backends, the ID map and random IDs
 * (see upstream.h).
 *
 * An answer is accepted only on the socket the query went out on (the
 * sockets are connected, so the kernel already checked the address and
 * port) with the ID it went out with: the (serial, ID) pair finds the
 * query, and every socket has a serial of its own, never reused.  Whether
 * the answer fits the question is for the query layer to say.
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
/* TCP to a backend: up to UP_TCP_CONNS connections per worker, another one
 * opened only when every open one has UP_TCP_SPREAD queries in flight.  A
 * server such as NSD answers one connection's queries one after the other,
 * so a single pipelined connection would cap the backend far below what it
 * serves to several clients. */
#define UP_TCP_CONNS	4
#define UP_TCP_SPREAD	16

struct usock {
	struct bconn	*bc;
	int		 fd;
	uint32_t	 serial;
	struct event	*ev;
};

struct utcp {
	struct bconn		*bc;
	struct tconn		 c;		/* queries out, answers in */
	uint32_t		 serial;	/* 0 when not open */
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
	struct up_ref		*out;		/* queries out on it */
	long			 nout;
	int			 retired;
};

/* (serial, ID) -> query, key and value side by side so that a lookup
 * touches one cache line.  It starts small and doubles at 25% load up to
 * IDMAP_MAX_BITS: a table sized for the worst case is megabytes of random
 * access, a cache miss on every query. */
struct idcell {
	uint64_t	 key;		/* serial << 16 | ID; 0 = empty */
	struct up_ref	*val;
};

static struct log_limit ll_up;

static void	up_udp_cb(evutil_socket_t, short, void *);
static void	up_tcp_read_cb(struct tconn *, void *);
static void	up_tcp_error_cb(struct tconn *, int, void *);

/* ---- (serial, ID) map: linear probing, backward-shift deletion ---- */

static inline uint64_t
idkey(uint32_t serial, uint16_t id)
{
	/* 0 marks an empty cell; serials start at 1. */
	return (uint64_t)serial << 16 | id;
}

static inline uint32_t
idhash(struct worker *w, uint64_t k)
{
	k *= 0x9e3779b97f4a7c15ULL;
	return (uint32_t)(k >> 40) & w->idmask;
}

static int
idmap_find(struct worker *w, uint64_t k, uint32_t *pos)
{
	uint32_t i = idhash(w, k);

	while (w->idmap[i].key != 0) {
		if (w->idmap[i].key == k) {
			*pos = i;
			return 1;
		}
		i = (i + 1) & w->idmask;
	}
	*pos = i;
	return 0;
}

static void
idmap_del(struct worker *w, uint32_t i)
{
	uint32_t j = i, h;

	w->idmap[i].key = 0;
	w->idcount--;
	for (;;) {
		j = (j + 1) & w->idmask;
		if (w->idmap[j].key == 0)
			return;
		h = idhash(w, w->idmap[j].key);
		/* Move j back to i unless its home lies cyclically in (i, j]. */
		if ((j > i && (h <= i || h > j)) || (j < i && h <= i && h > j)) {
			w->idmap[i] = w->idmap[j];
			w->idmap[j].key = 0;
			i = j;
		}
	}
}

/* Make room for one more entry: double the table past 25% load.  Returns
 * -1 when it is at its largest and full to that load. */
static int
idmap_reserve(struct worker *w)
{
	struct idcell *old = w->idmap;
	uint32_t i, pos, n = w->idmask + 1;

	if (w->idcount + 1 <= n / 4)
		return 0;
	if (n >= (1u << IDMAP_MAX_BITS))
		return -1;
	w->idmap = xcalloc((size_t)n * 2, sizeof(*w->idmap));
	w->idmask = n * 2 - 1;
	for (i = 0; i < n; i++) {
		if (old[i].key == 0)
			continue;
		(void)idmap_find(w, old[i].key, &pos);
		w->idmap[pos] = old[i];
	}
	free(old);
	return 0;
}

/* The query that went out on socket serial with pkt's ID, or NULL. */
static inline struct up_ref *
idmap_answer(struct worker *w, uint32_t serial, const uint8_t *pkt,
    size_t len)
{
	uint32_t pos;

	if (len < DNS_HDR_LEN ||
	    !idmap_find(w, idkey(serial, dns_get_id(pkt)), &pos)) {
		STAT_INC(&w->st, unexpected);
		return NULL;
	}
	w->idhint = pos;	/* up_unsend's: no second search */
	return w->idmap[pos].val;
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
	w->idmask = (1u << IDMAP_MIN_BITS) - 1;
	w->idmap = xcalloc(w->idmask + 1, sizeof(*w->idmap));
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
	for (i = 0; i < UP_TCP_CONNS; i++)
		bc->tcp[i].c.fd = -1;
	for (i = 0; i < UP_UDP_SOCKS; i++) {
		bc->udp[i].bc = bc;
		bc->udp[i].fd = -1;
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

/* The input stays until the bconn goes: an answer being handled may be in
 * it (see up_tcp_read_cb). */
static void
bconn_close_tcp(struct utcp *t)
{
	tconn_close(&t->c);
	t->serial = 0;
	t->nout = 0;
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
	for (i = 0; i < UP_UDP_SOCKS; i++)
		if (bc->udp[i].fd != -1) {
			event_free(bc->udp[i].ev);
			close(bc->udp[i].fd);
		}
	for (i = 0; i < UP_TCP_CONNS; i++)
		tconn_release(&bc->tcp[i].c);
	bc->b->wstate[w->idx] = NULL;
	backend_unref(bc->b);
	free(bc);
}

/* The sockets take turns by batch, not by query: every query of one batch
 * for this backend leaves on the same socket, so it costs one sendmmsg
 * (and its answers come back together) instead of one per socket. */
static struct usock *
bconn_udp(struct bconn *bc)
{
	int i, k;

	if (bc->udp_flush != bc->w->txq.flushes) {
		bc->udp_flush = bc->w->txq.flushes;
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

static struct utcp *
bconn_tcp_by_serial(struct bconn *bc, uint32_t serial)
{
	int i;

	for (i = 0; i < UP_TCP_CONNS; i++)
		if (tconn_is_open(&bc->tcp[i].c) && bc->tcp[i].serial == serial)
			return &bc->tcp[i];
	return NULL;
}

/* ---- sending ---- */

int
up_send(struct worker *w, struct up_ref *r, struct backend *b, int tcp,
    uint8_t *pkt, size_t len, size_t off)
{
	struct bconn *bc;
	struct usock *us = NULL;
	struct utcp *ut = NULL;
	uint32_t pos, serial;
	uint16_t id;
	int tries;

	if ((bc = bconn_get(w, b)) == NULL)
		return -1;
	if (bc->nout >= w->cfg->set.max_outstanding_backend) {
		STAT_INC(&w->st, overload);
		return -1;
	}
	tcp = tcp || b->transport == TRANSPORT_TCP;
	if (tcp)
		serial = (ut = bconn_tcp(bc, pkt, off)) != NULL ? ut->serial :
		    0;
	else if ((us = bconn_udp(bc)) != NULL)
		serial = us->serial;
	else
		serial = 0;
	if (serial == 0) {
		STAT_INC(&w->st, send_errors);
		return -1;
	}
	if (idmap_reserve(w) == -1) {
		STAT_INC(&w->st, overload);
		return -1;
	}
	/* A fresh random ID, unique on the socket it goes out on. */
	for (tries = 0; tries < 16; tries++) {
		id = random16(w);
		if (!idmap_find(w, idkey(serial, id), &pos))
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
	w->idmap[pos].key = idkey(serial, id);
	w->idmap[pos].val = r;
	w->idcount++;
	r->bc = bc;
	r->b = b;
	r->serial = serial;
	r->id = id;
	r->tcp = (uint8_t)tcp;
	r->prev = NULL;
	r->next = bc->out;
	if (bc->out != NULL)
		bc->out->prev = r;
	bc->out = r;
	bc->nout++;
	backend_wadd(&b->wc[w->idx].outstanding, 1);
	backend_wadd(&b->wc[w->idx].queries, 1);
	STAT_INC(&w->st, forwarded);
	/* The next query's ID is drawn already, and most likely goes out on
	 * this socket too: start loading its cell of the map, which a random
	 * ID finds cold. */
	if (w->rndpos > 0)
		__builtin_prefetch(&w->idmap[idhash(w, idkey(serial,
		    w->rnd[w->rndpos - 1]))]);
	return 0;
}

void
up_unsend(struct worker *w, struct up_ref *r)
{
	struct bconn *bc = r->bc;
	struct utcp *ut;
	uint64_t k;
	uint32_t pos;

	if (bc == NULL)
		return;
	/* An answer's query: its cell was found as it came (up_udp_cb), and
	 * is taken when it still holds the key, which is unique. */
	k = idkey(r->serial, r->id);
	pos = w->idhint;
	if ((pos <= w->idmask && w->idmap[pos].key == k) ||
	    idmap_find(w, k, &pos))
		idmap_del(w, pos);
	/* Not found when its connection has been closed since. */
	if (r->tcp && (ut = bconn_tcp_by_serial(bc, r->serial)) != NULL)
		ut->nout--;
	if (r->prev != NULL)
		r->prev->next = r->next;
	else
		bc->out = r->next;
	if (r->next != NULL)
		r->next->prev = r->prev;
	r->next = r->prev = NULL;
	bc->nout--;
	backend_wadd(&bc->b->wc[w->idx].outstanding, -1UL);
	r->bc = NULL;
}

/* Every query out on bc over UDP (tcp_serial 0), or on the TCP connection
 * with that serial, failed at once: refused, reset, closed. */
static void
bconn_failed(struct bconn *bc, uint32_t tcp_serial)
{
	struct worker *w = bc->w;
	struct up_ref *r, *next, *failed = NULL;

	/* Collect first: the query layer may send again on this very bconn. */
	for (r = bc->out; r != NULL; r = next) {
		next = r->next;
		if (tcp_serial != 0 ? !r->tcp || r->serial != tcp_serial :
		    r->tcp)
			continue;
		r->failed = failed;
		failed = r;
	}
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
	struct up_ref *r;
	uint64_t key[UDP_BATCH];
	uint32_t pos[UDP_BATCH];
	int i, n, round;

	(void)ev;
	for (round = 0; round < 4; round++) {
		n = sys_recvmmsg(fd, m, UDP_BATCH, MSG_DONTWAIT);
		if (n == -1) {
			/* ICMP port unreachable: nobody listens there; do
			 * not wait for the timeouts. */
			if (errno == ECONNREFUSED)
				bconn_failed(bc, 0);
			return;
		}
		w->batch_us = now_us();
		/* The queries' slots are cold by the time their answers
		 * come: start loading them all before the first is handled.
		 * Where each was found is kept: an answer handled before may
		 * have moved it (a deletion shifts cells back, a growth
		 * rehashes), so the cell is taken only if it still holds
		 * the key, which is unique in the map. */
		for (i = 0; i < n; i++) {
			key[i] = 0;
			if (m[i].msg_len >= DNS_HDR_LEN) {
				key[i] = idkey(us->serial,
				    dns_get_id(w->rxiov_up[i].iov_base));
				if (idmap_find(w, key[i], &pos[i]))
					w->on_answer_soon(w->idmap[pos[i]].val);
				else
					key[i] = 0;
			}
		}
		for (i = 0; i < n; i++) {
			if (key[i] != 0 && w->idmap[pos[i]].key == key[i]) {
				r = w->idmap[pos[i]].val;
				w->idhint = pos[i];
			} else
				r = idmap_answer(w, us->serial,
				    w->rxiov_up[i].iov_base, m[i].msg_len);
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
		if ((r = idmap_answer(w, serial, pkt, (size_t)l)) == NULL)
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
	uint32_t serial = t->serial;

	(void)c;
	(void)what;
	bconn_close_tcp(t);
	bconn_failed(t->bc, serial);
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
	free(w->idmap);
}

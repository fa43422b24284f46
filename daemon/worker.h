/*
 * worker: one DNS-serving thread.  Each worker has its own event base, its
 * own descriptor of every listener (its own SO_REUSEPORT socket, or a dup
 * of a socket passed by the service manager that every worker polls: see
 * listen.c), its own sockets to every backend, its own query slots and
 * counters.  Nothing on the query path is shared with another thread but
 * the read-only config snapshot and the backends' atomics.
 *
 * The main thread talks to a worker only through worker_set_config(),
 * which hands over a new snapshot and returns once the worker serves from
 * it, so a change is visible to the very next query.
 */
#ifndef WORKER_H
#define WORKER_H

#include <sys/socket.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdint.h>

#include <event2/event.h>
#include <event2/bufferevent.h>
#include <event2/listener.h>

#include "config.h"
#include "dnsmsg.h"
#include "listen.h"
#include "stats.h"
#include "tcpout.h"
#include "util.h"

#define UDP_BATCH	32
#define UDP_CLIENT_MAX	4096	/* larger client datagrams are malformed here */
#define UP_UDP_SOCKS	4	/* UDP sockets per backend per worker */
/* TCP to a backend: up to UP_TCP_CONNS connections per worker, another one
 * opened only when every open one has UP_TCP_SPREAD queries in flight.  A
 * server such as NSD answers one connection's queries one after the other,
 * so a single pipelined connection would cap the backend far below what it
 * serves to several clients. */
#define UP_TCP_CONNS	4
#define UP_TCP_SPREAD	16
#define TCP_CONN_MAX_INFLIGHT 256
#define MAX_TRIES	4
#define TXQ_MAX		64
/* Per-client counters (TCP connections, outstanding queries) live in
 * hashed buckets: 2^14 of them, so two busy clients rarely share one. */
#define CLIENT_BUCKET_BITS 14
#define CLIENT_BUCKETS	(1u << CLIENT_BUCKET_BITS)

struct worker;
struct qslot;
struct tclient;

/* Where a UDP query was sent, when the listener is a wildcard address:
 * the answer must leave from that very address. */
struct udp_dst {
	int		family;		/* 0: not known (specific listener) */
	int		ifindex;
	union {
		struct in_addr	v4;
		struct in6_addr	v6;
	}		a;
};

/* Who asked and how to answer them. */
struct client {
	const struct sockaddr	*sa;
	socklen_t		 salen;
	int			 lfd;		/* UDP listener; -1 over TCP */
	struct tclient		*tc;		/* TCP connection, or NULL */
	const struct udp_dst	*dst;		/* NULL unless a wildcard listener */
};

/* One client TCP connection. */
struct tclient {
	struct worker		*w;
	struct tclient		*next, *prev;	/* worker's list */
	struct bufferevent	*bev;
	struct tcpout		 out;		/* answers, written coalesced */
	struct sockaddr_storage	 addr;
	socklen_t		 addrlen;
	uint32_t		 bucket;	/* client_bucket() of addr */
	int			 inflight;
	int			 closed;	/* bev freed; waiting for inflight */
	int			 paused;	/* reading stopped at the in-flight cap */
	int			 shut;		/* stopping: FIN sent after the last answer */
	uint64_t		 shut_us;
};

/* One worker's connection state to one backend. */
struct usock {
	struct bconn	*bc;
	int		 fd;
	uint32_t	 serial;
	struct event	*ev;
};

struct utcp {
	struct bconn		*bc;
	struct bufferevent	*bev;		/* NULL: not open */
	struct tcpout		 out;		/* queries, written coalesced */
	uint32_t		 serial;	/* 0 when not open */
	long			 nout;		/* queries in flight on it */
};

#define IDMAP_MIN_BITS	12
#define IDMAP_MAX_BITS	18	/* 2^16 slots per worker at 25% load */

struct idcell {
	uint64_t	key;		/* serial << 16 | ID; 0 = empty */
	uint32_t	val;		/* slot index */
};

struct bconn {
	struct worker		*w;
	struct backend		*b;
	struct bconn		*next;		/* worker's list */
	struct usock		 udp[UP_UDP_SOCKS];
	unsigned		 udp_rr;
	uint64_t		 udp_flush;	/* w->flushes when udp_rr last moved */
	struct utcp		 tcp[UP_TCP_CONNS];
	struct qslot		*out;		/* outstanding queries (list) */
	long			 nout;
	int			 retired;
};

/* One query in flight. */
struct qslot {
	uint32_t		 idx;
	int			 used;
	struct qslot		*tnext, *tprev;	/* worker timeout FIFO */
	struct qslot		*bnext, *bprev;	/* bconn outstanding list */
	struct qslot		*free_next;
	struct config		*cfg;		/* snapshot it was routed with */
	uint64_t		 start_us;
	uint64_t		 sent_us;
	uint64_t		 deadline_us;
	int			 route_idx;
	struct pool		*pool;
	struct bconn		*bc;
	struct backend		*tried[MAX_TRIES];
	int			 ntried;
	uint32_t		 serial;	/* socket the query went out on */
	uint16_t		 up_id;
	int			 via_tcp;
	/* The client. */
	int			 client_tcp;
	int			 lfd;		/* UDP listener it came in on */
	struct udp_dst		 dst;		/* its destination (wildcard listener) */
	struct sockaddr_storage	 client;
	socklen_t		 clientlen;
	uint32_t		 cbucket;	/* its client_bucket() */
	struct tclient		*tc;
	/* The query, bytes as received. */
	struct dns_query	 q;
	uint16_t		 len;
	uint8_t			*pkt;
	uint8_t			 inl[512];
};

struct listener_udp {
	struct worker	*w;
	int		 fd;
	int		 wildcard;	/* 0.0.0.0 or ::: learn each query's destination */
	struct event	*ev;
};

#define TXQ_CTL_LEN	64	/* >= CMSG_SPACE(sizeof(struct in6_pktinfo)) */

struct cfg_hold {
	struct config	*cfg;
	long		 inflight;
};

struct worker {
	int			 idx;
	pthread_t		 thr;
	struct event_base	*base;

	/* Config handover and stop.  The base has no locks (nothing but this
	 * thread touches it: a lock and unlock around every event operation
	 * was measurable per query); the main thread rings the doorbell, an
	 * eventfd, after leaving its request under mtx. */
	struct config		*cfg;
	int			 bell;		/* eventfd */
	struct event		*ev_bell;
	pthread_mutex_t		 mtx;
	pthread_cond_t		 cond;
	struct config		*pending;
	uint64_t		 swaps_asked, swaps_done;
	int			 stop_asked;	/* under mtx */
	struct cfg_hold		*holds;		/* snapshots with queries in flight */
	int			 nholds;	/* holds[nholds - 1] is the current one */
	int			 started;	/* the thread runs */
	int			 stopping;	/* reads no more queries */
	uint64_t		 stopping_us;
	int			 exiting;

	struct listener_udp	*udp;
	int			 nudp;
	struct evconnlistener	**tcpl;
	int			 ntcpl;
	struct event		*ev_accept_resume;

	struct bconn		*bconns;
	uint32_t		 next_serial;

	/* Query slots: allocated in chunks, reused through a free list. */
	struct qslot		**chunks;
	int			 nchunks;
	struct qslot		*free;
	long			 nout;
	struct qslot		*thead, *ttail;	/* timeout FIFO */
	struct event		*ev_timer;

	/* (serial, ID) -> slot index, key and value side by side so that a
	 * lookup touches one cache line.  It starts small and doubles at 25%
	 * load up to IDMAP_MAX_BITS: a table sized for the worst case is
	 * megabytes of random access, a cache miss on every query. */
	struct idcell		*idmap;
	uint32_t		 idmask;
	uint32_t		 idcount;

	struct route_matcher	*rm;
	struct stats		 st;
	struct tclient		*tclients;	/* open and closing connections */
	int			 ntcp;
	struct tcpout_q		 tcpq;		/* TCP output to write */
	int			 tcp_budget;	/* client connections the fd limit allows */
	/* Per client address, by client_bucket(): TCP connections and
	 * outstanding queries. */
	uint64_t		 client_salt;
	uint16_t		*tcp_per_addr;
	uint32_t		*out_per_addr;

	/* recvmmsg buffers and headers, one set for client datagrams and one
	 * for answers (different sizes, same buffer).  The headers are filled
	 * once; after a call only the fields the kernel wrote back are reset,
	 * and only for the datagrams it returned: at low load a call returns
	 * one, and building 32 headers each time cost more than the query. */
	uint8_t			*rxbuf;		/* UDP_BATCH * 65536 */
	struct mmsghdr		 rx_cl[UDP_BATCH], rx_up[UDP_BATCH];
	struct iovec		 rxiov_cl[UDP_BATCH], rxiov_up[UDP_BATCH];
	struct sockaddr_storage	 rxfrom[UDP_BATCH];
	uint64_t		 rxctl[UDP_BATCH][TXQ_CTL_LEN / 8];
	uint8_t			 tcpbuf[65536];	/* one TCP message being handled */

	/* Datagrams waiting for one sendmmsg per socket (txq_flush). */
	int			 txn;
	uint64_t		 flushes;	/* txq_flush calls so far */
	int			 txfd[TXQ_MAX];
	struct mmsghdr		 txm[TXQ_MAX];
	struct iovec		 txiov[TXQ_MAX];
	struct sockaddr_storage	 txaddr[TXQ_MAX];
	uint64_t		 txctl[TXQ_MAX][TXQ_CTL_LEN / 8];

	/* Random IDs: getrandom() output, used two bytes at a time. */
	uint16_t		 rnd[2048];
	int			 rndpos;
};

/* The bucket of a client's counters (see addr_bucket). */
static inline uint32_t
client_bucket(const struct worker *w, const struct sockaddr *sa)
{
	return addr_bucket(sa, w->client_salt, CLIENT_BUCKET_BITS);
}

/* Create a worker; it takes its descriptor of every listener in ls. */
struct worker	*worker_new(int idx, struct listeners *ls, struct config *cfg,
		    int tcp_budget);
void		 worker_start(struct worker *);
/* Hand over a new snapshot and wait until the worker serves from it. */
void		 worker_set_config(struct worker *, struct config *);
/* Stop reading queries at once (every listener and client connection);
 * the thread answers what it has read, closes its client connections and
 * exits.  worker_join waits for that. */
void		 worker_stop(struct worker *);
void		 worker_join(struct worker *);
void		 worker_free(struct worker *);

#endif

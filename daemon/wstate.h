/*
 * wstate: the state of one worker thread, which every file of the data
 * path shares.  Nothing in it is shared with another thread but the
 * read-only snapshot (cfg), the counters the main thread sums (st) and the
 * trace ring it reads.
 *
 * Each group of fields below names the file that owns it: only that file
 * writes them, and other files read no more than the group says.  The
 * types behind the pointers are those files' own.
 *
 * The files that read sockets hand what they read to the query layer
 * through the entry points below (on_query, on_answer, on_failed), which
 * worker_new() sets to query.c's: so they never include query.h, and
 * query.c may call them without the files including one another in a loop.
 */
#ifndef WSTATE_H
#define WSTATE_H

#include <sys/socket.h>
#include <pthread.h>
#include <stdint.h>

#include <event2/event.h>

#include "stats.h"
#include "tconn.h"
#include "txq.h"
#include "util.h"

#define UDP_BATCH	32	/* datagrams per recvmmsg */
#define UDP_CLIENT_MAX	4096	/* larger client datagrams are malformed here */
/*
 * Where datagram i of a batch is read into: rxbuf + i * stride.  A stride
 * of a power of two (4096 for a query, 65536 for an answer) put the start
 * of every datagram in the same cache set, so that the 32 of a batch,
 * written by the kernel and then read here, evicted one another from L1
 * (and the answers from L2 too); one or three lines more spread them over
 * distinct sets.
 */
#define UDP_CL_STRIDE	(UDP_CLIENT_MAX + 64)
#define UDP_UP_STRIDE	(65536 + 3 * 64)
#define UDP_RXBUF_SIZE	((size_t)UDP_BATCH * UDP_UP_STRIDE)
/* Per-client counters (TCP connections, outstanding queries) live in
 * hashed buckets: 2^14 of them, so two busy clients rarely share one. */
#define CLIENT_BUCKET_BITS 14
#define CLIENT_BUCKETS	(1u << CLIENT_BUCKET_BITS)

struct bconn;
struct config;
struct listener_udp;
struct qslot;
struct route_matcher;
struct tclient;
struct tring;
struct up_ref;
struct upd;
struct worker;
struct xfr;

/* Who asked and how to answer them. */
struct client {
	const struct sockaddr	*sa;
	socklen_t		 salen;
	int			 lfd;		/* UDP listener; -1 over TCP */
	struct tclient		*tc;		/* TCP connection, or NULL */
	const struct udp_dst	*dst;		/* NULL unless a wildcard listener */
	uint64_t		 hint;		/* route_prefetch_wire's; 0: none */
	size_t			 qnlen;		/* dns_qname_len's; 0: none */
};

/* A snapshot this worker has routed queries with, and how many of those
 * are still in flight. */
struct cfg_hold {
	struct config	*cfg;
	long		 inflight;
};

/* A query from a client (client_udp.c, client_tcp.c). */
typedef void	query_fn(struct worker *, const uint8_t *pkt, size_t len,
		    const struct client *);
/* A backend's answer to the query that went out as r (upstream.c): its
 * socket and ID are those r was sent with; pkt may be changed.  stable:
 * pkt stays valid until the next txq_flush(). */
typedef void	answer_fn(struct worker *, struct up_ref *r, uint8_t *pkt,
		    size_t len, int stable);
/* The connection r went out on failed (refused, reset, closed). */
typedef void	failed_fn(struct worker *, struct up_ref *r);
/* An answer to r is in the batch just read (upstream.c): a hint to start
 * loading what on_answer will touch, before the batch is handled. */
typedef void	answer_soon_fn(const struct up_ref *r);

struct worker {
	/* worker.c: the thread, the snapshot it serves from, the handover
	 * and the stop.  The base has no locks (nothing but this thread
	 * touches it: a lock and unlock around every event operation was
	 * measurable per query); the main thread rings the doorbell, an
	 * eventfd, after leaving its request under mtx. */
	int			 idx;
	pthread_t		 thr;
	struct event_base	*base;
	struct config		*cfg;
	int			 bell;		/* eventfd */
	struct event		*ev_bell;
	pthread_mutex_t		 mtx;
	pthread_cond_t		 cond;
	struct config		*pending;
	uint64_t		 swaps_asked, swaps_done;
	int			 stop_asked;	/* under mtx */
	/* Snapshots with queries in flight (query.c counts them);
	 * holds[nholds - 1] is the current one. */
	struct cfg_hold		*holds;
	int			 nholds;
	int			 started;	/* the thread runs */
	int			 stopping;	/* reads no more queries */
	uint64_t		 stopping_us;
	int			 exiting;
	struct event		*ev_timer;	/* on tickfd, a timerfd */
	int			 tickfd;
	uint64_t		 tick_us;	/* now_us() at the last tick */
	/* now_us() when the batch being handled was read, 0 outside one:
	 * what its queries and answers take as their time (wnow()), one
	 * clock read a batch instead of two a query. */
	uint64_t		 batch_us;
	struct stats		 st;		/* everyone counts here */
	struct tring		*ring;		/* what became of each query */
	query_fn		*on_query;
	answer_fn		*on_answer;
	failed_fn		*on_failed;
	answer_soon_fn		*on_answer_soon;

	/* Shared by the files that read sockets, which run one at a time:
	 * the receive buffer (UDP_RXBUF_SIZE), the TCP connections with
	 * output to write (tconn.c), the datagrams to send (txq.c). */
	uint8_t			*rxbuf;
	struct tconn_q		 tcpq;
	struct txq		 txq;

	/* Per client address, by client_bucket(). */
	uint64_t		 client_salt;
	uint16_t		*tcp_per_addr;	/* client_tcp.c: connections */
	uint32_t		*out_per_addr;	/* query.c: outstanding queries */

	/* client_udp.c.  The recvmmsg headers are filled once; after a call
	 * only the fields the kernel wrote back are reset, and only for the
	 * datagrams it returned: at low load a call returns one, and
	 * building 32 headers each time cost more than the query. */
	struct listener_udp	*udp;		/* list */
	struct mmsghdr		 rx_cl[UDP_BATCH];
	struct iovec		 rxiov_cl[UDP_BATCH];
	struct sockaddr_storage	 rxfrom[UDP_BATCH];
	uint64_t		 rxctl[UDP_BATCH][TXQ_CTL_LEN / 8];

	/* client_tcp.c: listeners and client connections. */
	struct evconnlistener	**tcpl;
	int			 ntcpl;
	struct event		*ev_accept_resume;
	struct tclient		*tclients;	/* open and closing connections, */
	struct tclient		*tclients_tail;	/* the last read from first */
	int			 ntcp;
	int			 tcp_budget;	/* connections the fd limit allows */

	/* upstream.c: the sockets to the backends (each with its ID
	 * table), random IDs. */
	struct bconn		*bconns;
	uint32_t		 next_serial;	/* TCP connections' */
	struct mmsghdr		 rx_up[UDP_BATCH];
	struct iovec		 rxiov_up[UDP_BATCH];
	uint16_t		 rnd[2048];
	int			 rndpos;

	/* query.c: query slots, allocated in chunks and reused through a
	 * free list; the timeout FIFO; the route decision cache. */
	struct qslot		**chunks;
	int			 nchunks;
	struct qslot		*free;
	long			 nout;		/* slots in use */
	struct qslot		*thead, *ttail;
	struct route_matcher	*rm;

	/* update.c: UPDATEs in flight, each with its own sockets, apart
	 * from everything above. */
	struct upd		*updates;
	int			 nupdates;
	/* xfr.c: the zone transfers being relayed. */
	struct xfr		*xfrs;
	int			 nxfr;
};

/* The time of the batch being handled, else the clock's. */
static inline uint64_t
wnow(const struct worker *w)
{
	return w->batch_us != 0 ? w->batch_us : now_us();
}

/* The bucket of a client's counters (see addr_bucket). */
static inline uint32_t
client_bucket(const struct worker *w, const struct sockaddr *sa)
{
	return addr_bucket(sa, w->client_salt, CLIENT_BUCKET_BITS);
}

#endif

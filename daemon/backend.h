/*
 * backend: one backend nameserver as the whole daemon sees it.  The object
 * is shared by the main thread (control, health) and the workers, lives as
 * long as any configuration or worker connection holds a reference, and is
 * never moved.  What never changes after creation (address, transport) is
 * plain; what changes at run time (admin state, health, weight, counters)
 * is atomic.  Each worker keeps its own sockets to it (struct bconn in
 * upstream.c); nothing here does I/O.
 */
#ifndef BACKEND_H
#define BACKEND_H

#include <sys/socket.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "conf.h"
#include "words.h"

#define MAX_WORKERS	16

/* Latency histogram buckets (µs upper bounds, the last is open). */
#define LAT_BUCKETS	24

/*
 * The counters every forwarded query moves, kept per worker: slot i of
 * struct backend's wc[] is written by worker i only, with a relaxed load
 * and store (a plain move, where a shared counter would cost a locked
 * instruction and its line bouncing between cores, several times a query),
 * and readers sum the slots (backend_wsum).  A slot is padded to whole
 * cache lines so that workers do not share one.
 */
struct backend_wcount {
	atomic_ulong		 outstanding;	/* in flight; wraps below 0 */
	atomic_ulong		 queries;
	atomic_ulong		 answers;
	atomic_ulong		 lat_hist[LAT_BUCKETS];
	char			 pad[64 - (3 + LAT_BUCKETS) * 8 % 64];
};

struct backend {
	atomic_int		 refcnt;
	int64_t			 id;		/* db row id */
	char			 name[CONF_NAME_MAX];
	char			 addr_text[CONF_ADDR_MAX];
	struct sockaddr_storage	 addr;
	socklen_t		 addrlen;
	int			 transport;	/* enum transport */

	/* Main thread only: the health-check settings (health.c). */
	struct backend_conf	 conf;
	/* Registered through etcd: "etcd KEY"; NULL for the operator's. */
	char			*origin;

	/* Changed by the main thread, read by workers. */
	atomic_int		 admin;		/* enum admin_state */
	atomic_int		 health;	/* enum health_state */
	atomic_int		 weight;
	atomic_int		 client_addr;	/* enum client_address */

	/* Counters, updated by workers (relaxed); the busiest are per
	 * worker, in wc[]. */
	atomic_ulong		 failures;	/* timeouts, refused, bad answers */
	atomic_ulong		 race_wins;	/* races its answer won */
	atomic_uint		 last_rtt_us;
	atomic_uint		 ewma_rtt_us;	/* smoothed, 1/8 weight */
	atomic_int		 check_rtt_us;	/* last health check, -1 when it failed */
	atomic_ulong		 checks_failed;
	struct backend_wcount	 wc[MAX_WORKERS];

	/* Per-worker connection state: slot i is touched by worker i only. */
	void			*wstate[MAX_WORKERS];
};

/* Create (refcnt 1); NULL with err on a bad address. */
struct backend	*backend_new(int64_t id, const char *name,
		    const struct backend_conf *, int admin, char *err,
		    size_t errlen);
void		 backend_ref(struct backend *);
void		 backend_unref(struct backend *);

/* Does it take new queries?  enabled and up. */
static inline int
backend_usable(const struct backend *b)
{
	return atomic_load_explicit(&b->admin, memory_order_relaxed) ==
	    ADMIN_ENABLED &&
	    atomic_load_explicit(&b->health, memory_order_relaxed) == HEALTH_UP;
}

/* A worker adds d to a counter of its own slot, b->wc[its index]. */
static inline void
backend_wadd(atomic_ulong *c, unsigned long d)
{
	atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) +
	    d, memory_order_relaxed);
}
/* A counter summed over the workers (off: its offset in the slot):
 * BACKEND_WSUM(b, queries). */
static inline unsigned long
backend_wsum(const struct backend *b, size_t off)
{
	unsigned long sum = 0;
	int i;

	for (i = 0; i < MAX_WORKERS; i++)
		sum += atomic_load_explicit((const atomic_ulong *)(const void *)
		    ((const char *)&b->wc[i] + off), memory_order_relaxed);
	return sum;
}
#define BACKEND_WSUM(b, field) \
	backend_wsum((b), offsetof(struct backend_wcount, field))
static inline long
backend_outstanding(const struct backend *b)
{
	return (long)BACKEND_WSUM(b, outstanding);
}

/* Record an answer (its round trip) by worker widx.  Inline: it runs
 * once an answer, on the query path. */
static inline void
backend_record_answer(struct backend *b, int widx, unsigned rtt)
{
	struct backend_wcount *wc = &b->wc[widx];
	unsigned old = atomic_load_explicit(&b->ewma_rtt_us,
	    memory_order_relaxed);
	int i;

	atomic_store_explicit(&b->last_rtt_us, rtt, memory_order_relaxed);
	atomic_store_explicit(&b->ewma_rtt_us,
	    old == 0 ? rtt : old - old / 8 + rtt / 8, memory_order_relaxed);
	/* The first bucket whose bound (16 << i) is >= rtt. */
	i = rtt <= 16 ? 0 : 32 - __builtin_clz((rtt - 1) >> 4);
	if (i > LAT_BUCKETS - 1)
		i = LAT_BUCKETS - 1;
	backend_wadd(&wc->lat_hist[i], 1);
	backend_wadd(&wc->answers, 1);
}
/* Latency percentile (0 < p < 100) from the histogram, µs; -1 when empty. */
long		 backend_percentile(const struct backend *, double p);
unsigned	 lat_bucket_bound(int i);

#endif

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
#include <stdint.h>

#include "conf.h"
#include "words.h"

#define MAX_WORKERS	16

/* Latency histogram buckets (µs upper bounds, the last is open). */
#define LAT_BUCKETS	24

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

	/* Counters, updated by workers (relaxed). */
	atomic_long		 outstanding;
	atomic_ulong		 queries;
	atomic_ulong		 failures;	/* timeouts, refused, bad answers */
	atomic_ulong		 answers;
	atomic_ulong		 race_wins;	/* races its answer won */
	atomic_uint		 last_rtt_us;
	atomic_uint		 ewma_rtt_us;	/* smoothed, 1/8 weight */
	atomic_int		 check_rtt_us;	/* last health check, -1 when it failed */
	atomic_ulong		 checks_failed;
	atomic_ulong		 lat_hist[LAT_BUCKETS];

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

/* Record an answer's round trip (workers). */
void		 backend_record_rtt(struct backend *, unsigned rtt_us);
/* Latency percentile (0 < p < 100) from the histogram, µs; -1 when empty. */
long		 backend_percentile(const struct backend *, double p);
unsigned	 lat_bucket_bound(int i);

#endif

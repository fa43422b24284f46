/*
 * config: the immutable snapshot the workers serve from: settings, pools,
 * routes and the backends they name.  Built whole from the database by the
 * main thread (config_build), handed to every worker, swapped by pointer;
 * a query sees the old snapshot or the new one, never a mix.  Reference
 * counted: the main thread holds the current one, each worker holds the one
 * it serves from until its queries from it are done.
 *
 * The store's registrations (nameservers registered through etcd) are
 * merged in: each a backend "etcd:ID", each distinct regex a round-robin
 * pool of the backends registered with it and a route to that pool, tried
 * after every route of the operator's, in the order their first
 * registration was made.  Their ids are minus a registration's id, so they
 * never meet the operator's, and they carry an origin ("etcd KEY").
 */
#ifndef CONFIG_H
#define CONFIG_H

#include <stdatomic.h>
#include <stdint.h>

#include "backend.h"
#include "route.h"
#include "settings.h"
#include "tsig.h"

struct db;
struct db_backend;

struct pool {
	int64_t			 id;		/* < 0: registered */
	char			 name[CONF_NAME_MAX];
	int			 policy;	/* enum pool_policy */
	int			 good;		/* race: bits of enum good */
	int			 tc_retry;	/* TCP after a truncated UDP answer */
	int			 n;
	struct backend		**members;
	atomic_uint		 rr;
	/* fanout: every member must confirm (else one); members[i]'s TSIG
	 * key, NULL when it has none. */
	int			 confirm_all;
	const struct tsig_key	**mkeys;
};

/* Route hit counters outlive snapshots: shared by id across rebuilds,
 * saved to the store now and then (hits.c); saved is what it holds.  The
 * count is hits (what it started from) plus w[i] for each worker i, which
 * worker i alone writes, with a relaxed load and store (a plain add, where
 * one shared counter cost a locked add per query); readers sum them
 * (route_hits_count). */
struct route_hits {
	atomic_int	 refcnt;
	int		 nslots;	/* of w[] */
	atomic_ulong	 hits;
	uint64_t	 saved;		/* main thread only */
	atomic_ulong	 w[];
};

/* The number of workers that count hits (w[] of a new route_hits); set
 * before the first snapshot is built, else MAX_WORKERS. */
extern int route_hit_slots;

/* A hit on the route, by worker widx. */
static inline void
route_hits_add(struct route_hits *h, int widx)
{
	if (widx >= 0 && widx < h->nslots)
		atomic_store_explicit(&h->w[widx], atomic_load_explicit(
		    &h->w[widx], memory_order_relaxed) + 1,
		    memory_order_relaxed);
	else
		atomic_fetch_add_explicit(&h->hits, 1, memory_order_relaxed);
}

static inline uint64_t
route_hits_count(const struct route_hits *h)
{
	uint64_t n = atomic_load_explicit(&h->hits, memory_order_relaxed);
	int i;

	for (i = 0; i < h->nslots; i++)
		n += atomic_load_explicit(&h->w[i], memory_order_relaxed);
	return n;
}

struct croute {
	int64_t			 id;		/* < 0: registered */
	int			 position;
	const char		*pattern;	/* the route table's */
	int			 qtype;
	int			 action;
	int			 pool;		/* index in the snapshot's
						 * pools; -1: none */
	char			*comment;	/* "" is not allocated */
	char			*origin;	/* "etcd KEY..."; NULL: operator's */
	struct route_hits	*hits;
	int			 opcode;	/* DNS_OPCODE_QUERY or _UPDATE */
	int			 tsig_optional;	/* UPDATE: unsigned ones are taken */
};

struct idpos {
	int64_t		 id;
	int		 pos;
};

/*
 * The routes, their tables and indices: shared by the snapshots that
 * follow while no route or registration row changes, the match limit is
 * the same and each pool keeps its index (a route names its pool by
 * index, not by address, for this).  So a drain, a backend's or a pool's
 * setting builds new backends and pools only, not 10,000 routes again.
 */
struct routeset {
	atomic_int		 refcnt;
	uint64_t		 gen;		/* db_routes_gen() at the build */
	uint32_t		 match_limit;
	int			 npools;	/* the pools' ids by index, at */
	int64_t			*pool_ids;	/* the build */
	int			 nroutes, nqroutes;
	struct croute		*routes;
	int			 tabled;	/* routes[0..tabled).pattern
						 * are the tables', the rest
						 * their own */
	struct idpos		*by_id;
	struct route_table	*rt, *urt, *xrt;
	int			*xroute;
};

struct config {
	atomic_int		 refcnt;
	struct config		*next_dead;	/* waiting for the reaper */
	struct settings		 set;
	int			 nbackends;
	struct backend		**backends;	/* by name */
	struct db_backend	*brows;		/* their rows, applied at publish */
	int			 npools;
	struct pool		*pools;		/* by name */
	/* routes, routes_by_id, rt, urt, xrt and xroute are rs's: copied
	 * here so that a worker reads them without another load. */
	struct routeset		*rs;
	/* The query routes by position, then the UPDATE routes by position
	 * (a query never meets an UPDATE route, nor the other way round):
	 * rt indexes routes[0, nqroutes), urt routes[nqroutes, nroutes). */
	int			 nroutes;
	int			 nqroutes;
	struct croute		*routes;
	/* Each table is shared with the snapshot before when its routes'
	 * patterns did not change (config.c). */
	struct route_table	*rt;		/* index i <-> routes[i] */
	struct route_table	*urt;		/* i <-> routes[nqroutes + i];
						 * NULL: no UPDATE route */
	/* Positions in backends, pools and routes, sorted by id. */
	struct idpos		*backends_by_id, *pools_by_id, *routes_by_id;
	int			 nby_backend, nby_pool;
	/* TSIG keys: the first nclient_keys are those no backend uses,
	 * which clients may sign UPDATEs with; a backend's key is the
	 * router's towards that server, never a client's. */
	int			 nkeys;
	int			 nclient_keys;
	struct tsig_key		*keys;
	/* Zone transfers go only where a route names their type (qtype
	 * AXFR or IXFR): those routes again, in order, xroute[i] the index
	 * in routes of xrt's route i. */
	struct route_table	*xrt;
	int			*xroute;
};

/* The pool route r of c names, or NULL (its action is not "pool"). */
static inline struct pool *
config_route_pool(const struct config *c, const struct croute *r)
{
	return r->pool < 0 ? NULL : &c->pools[r->pool];
}

/* The route a zone transfer of type qtype for wire name takes: its index
 * in routes, or -1 (then it is refused, as a transfer no route names). */
static inline int
config_xfr_route(const struct config *c, struct route_matcher *m,
    const uint8_t *wire, size_t wlen, uint16_t qtype, int *limited)
{
	int i;

	*limited = 0;
	if (c->xrt->n == 0)
		return -1;
	i = route_match_wire(m, c->xrt, wire, wlen, qtype, limited);
	return i < 0 ? -1 : c->xroute[i];
}

/* Read everything from db (inside the caller's transaction, if any) and
 * build a snapshot.  Backends of old with the same id, address and
 * transport are reused, so their health and counters carry over; route hit
 * counters carry over by route id.  NULL with err on failure. */
struct config	*config_build(struct db *, const struct config *old,
		    struct route_cache *, char *err, size_t errlen);
/* The same in pieces, for a change's slices: begin reads all but the
 * routes (NULL with err on failure), next the routes until the clock
 * (now_us) passes until, then builds the table: 0 while there is more,
 * 1 with *out the snapshot, -1 with err (both end the build).  Between
 * two, the store may be read but not changed; config_build_free drops a
 * build not ended (NULL-safe). */
struct config_building;
struct config_building *config_build_begin(struct db *, struct config *old,
		    struct route_cache *, char *err, size_t errlen);
int		 config_build_next(struct config_building *, uint64_t until,
		    struct config **out, char *err, size_t errlen);
void		 config_build_free(struct config_building *);
void		 config_ref(struct config *);
/* The last reference frees the snapshot, on the reaper's thread: one
 * dropped by a worker (the last of its queries from that snapshot ended)
 * is handed to the reaper, so a worker never spends its time freeing
 * 100,000 routes between two queries. */
void		 config_unref(struct config *);
/* The calling thread becomes the reaper; bell() is called (from any
 * thread) when a snapshot waits for it. */
void		 config_set_reaper(void (*bell)(void));
/* Free the snapshots waiting for the reaper.  Reaper's thread. */
void		 config_reap(void);

struct backend	*config_backend(const struct config *, const char *name);
struct backend	*config_backend_id(const struct config *, int64_t id);
struct pool	*config_pool(const struct config *, const char *name);
const struct croute *config_route(const struct config *, int64_t id);

#endif

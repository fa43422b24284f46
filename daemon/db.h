/*
 * db: the only SQLite user (db.c and db_*.c).  It owns the connection,
 * applies sql/schema.sql and the numbered migrations at open (PRAGMA
 * user_version), keeps every statement prepared once, and offers typed
 * calls for the rows the daemon keeps: backends, pools and their members,
 * routes, settings, audit and health events, and what comes from etcd
 * (registrations, the router's own state).  WAL mode.  The caller drives transactions: one command or
 * one batch is one transaction, and every command inside an explicit
 * transaction runs inside a savepoint so a failed command leaves nothing.
 *
 * Every call returns 0 on success and -1 on failure; db_errmsg() then says
 * why in words fit for an operator ("pool \"web\" does not exist",
 * "database or disk is full").  Lookups of a missing row return 1 (not
 * found) without being an error.
 */
#ifndef DB_H
#define DB_H

#include <stdint.h>
#include <stddef.h>

#include "conf.h"
#include "words.h"

struct db_backend {
	int64_t			id;
	char			name[CONF_NAME_MAX];
	int			admin;		/* enum admin_state */
	struct backend_conf	conf;
};

struct db_pool {
	int64_t			id;
	char			name[CONF_NAME_MAX];
	struct pool_conf	conf;
};

struct db_route {
	int64_t		id;			/* stable, never reused */
	int		position;		/* 1..N, contiguous */
	const char	*pattern;		/* valid during the callback only */
	int		qtype;			/* 0: any type */
	int		opcode;			/* enum route_opcode */
	int		tsig;			/* enum route_tsig */
	int		action;			/* enum route_action */
	int64_t		pool_id;		/* action == ACTION_POOL */
	char		pool_name[CONF_NAME_MAX];
	const char	*comment;		/* "" when none; valid during the callback only */
	int64_t		hits;			/* as last saved (db_route_hits_set) */
};

struct db_health_event {
	int64_t		backend_id;
	int64_t		time_us;		/* wall clock, microseconds since the epoch */
	int		ok;			/* check result: 1 good, 0 bad */
	const char	*from_state;		/* "up", "down", "unknown"; NULL for a plain check row */
	const char	*to_state;
	int		rtt_us;			/* -1 when no answer */
	const char	*detail;		/* "NOERROR", "timeout", "connection refused", "readd" ... */
};

struct db_audit {
	int64_t		time_us;
	long		uid;
	long		pid;
	const char	*command;
	const char	*outcome;		/* "ok" or the error text */
};

/* A TSIG key (sql/migrations/0004).  The secret is the base64 the
 * operator gave; whoever fills one wipes it (explicit_bzero) when done. */
struct db_key {
	int64_t		id;
	char		name[CONF_KEY_MAX];	/* lowercase, final dot */
	int		alg;			/* enum tsig_alg */
	char		secret[CONF_SECRET_B64];
};

/* A nameserver registered through etcd (see sql/migrations/0002). */
struct db_registration {
	int64_t		id;
	const char	*key;			/* valid during the callback only */
	char		name[CONF_NAME_MAX];	/* "etcd:ID" */
	char		addr[CONF_ADDR_MAX];	/* normalised, as for a backend */
	const char	*pattern;		/* valid during the callback only */
	int64_t		create_revision;
	int64_t		mod_revision;
	int64_t		lease;
};

struct db;

/* Open (creating if needed) the database at path, take an exclusive lock so
 * a second daemon on the same file refuses to start, set WAL, verify
 * integrity cheaply (PRAGMA quick_check) and apply migrations.  On failure
 * returns NULL and writes a clear message into err ("database /x is locked
 * by another dnsrouted (pid 123)", "database /x is corrupt: ...").
 * ":memory:" is accepted (tests). */
struct db	*db_open(const char *path, char *err, size_t errlen);
/* The same with flags: DB_CHECK_BESIDE runs the integrity check in a
 * thread beside what the caller reads next, and db_check_wait() gives its
 * verdict (0, or -1 with the message in err); DB_CHECKED skips it (this
 * process checked the file a moment ago).  Either only for a file at the
 * latest schema: any other is checked in the open, as by db_open. */
#define DB_CHECK_BESIDE	0x1
#define DB_CHECKED	0x2
struct db	*db_open_flags(const char *path, int flags, char *err,
		    size_t errlen);
int		 db_check_wait(struct db *, char *err, size_t errlen);
void		 db_close(struct db *);
/* A read-only connection to db's file, opened on first use and closed
 * with db: it sees the last committed state, not the changes of a
 * transaction open on db.  NULL for ":memory:" or when it cannot be opened
 * (logged once): read db then. */
struct db	*db_reader(struct db *);
const char	*db_errmsg(struct db *);

/* Transactions.  db_begin starts BEGIN IMMEDIATE; savepoints nest inside. */
int	db_begin(struct db *);
int	db_commit(struct db *);
int	db_rollback(struct db *);
int	db_savepoint(struct db *);		/* SAVEPOINT cmd */
int	db_release(struct db *);		/* RELEASE cmd */
int	db_rollback_savepoint(struct db *);	/* ROLLBACK TO cmd; RELEASE cmd */
int	db_in_transaction(struct db *);
/* While on, calls that need several statements run them without a
 * savepoint of their own: for a caller that undoes all its work on any
 * failure (ROLLBACK, or ROLLBACK TO its own savepoint), as replace does.
 * A savepoint per call costs a copy of every page it touches once an
 * outer savepoint's journal has spilled to a file. */
void	db_bulk(struct db *, int on);

/* Backends.  add fills b->id; names are unique ("backend \"x\" exists"). */
int	db_backend_add(struct db *, struct db_backend *b);
int	db_backend_update(struct db *, const struct db_backend *b);	/* by id */
int	db_backend_set_admin(struct db *, int64_t id, int admin);
int	db_backend_del(struct db *, int64_t id);	/* also drops memberships */
int	db_backend_get(struct db *, const char *name, struct db_backend *out);	/* 0, 1 = none, -1 */
int	db_backend_foreach(struct db *, int (*cb)(const struct db_backend *, void *), void *arg);	/* by name */

/* Pools.  del refuses while a route names the pool ("pool \"x\" is used by route 4"). */
int	db_pool_add(struct db *, struct db_pool *p);
int	db_pool_update(struct db *, const struct db_pool *p);		/* by id */
int	db_pool_del(struct db *, int64_t id);
int	db_pool_get(struct db *, const char *name, struct db_pool *out);
int	db_pool_foreach(struct db *, int (*cb)(const struct db_pool *, void *), void *arg);	/* by name */
/* Membership; adding an existing pair is not an error. */
int	db_member_add(struct db *, int64_t pool_id, int64_t backend_id);
int	db_member_del(struct db *, int64_t pool_id, int64_t backend_id);
int	db_member_del_backend(struct db *, int64_t backend_id);	/* leave every pool */
/* (pool_id, backend_id) pairs ordered by pool name then backend name. */
int	db_member_foreach(struct db *, int (*cb)(int64_t pool_id, int64_t backend_id, void *), void *arg);

/* Routes.  position 0 (or past the end) appends; otherwise later routes
 * shift down.  add fills r->id and r->position. */
int	db_route_add(struct db *, struct db_route *r);
int	db_route_del(struct db *, int64_t id);			/* 1 = no such route */
int	db_route_move(struct db *, int64_t id, int position);	/* 1 = no such route */
/* Filter, action, pool and comment of route r->id; 1 = no such route. */
int	db_route_update(struct db *, const struct db_route *r);
/* Save the hit counter of a route (the counters live in the daemon). */
int	db_route_hits_set(struct db *, int64_t id, int64_t hits);
int	db_route_count(struct db *, int *count);
/*
 * A replace's routes (cmd_replace.c), for which it knows every route's
 * place in the end.  While defer is on, no call shifts another row: add
 * writes the position it is given as is (the route's final one), del
 * leaves a gap, move checks the route is there and writes nothing; count
 * stays right.  Then place puts the routes that were there before (ids
 * up to maxid) where they go, in fewer statements than a shift per call
 * made: n of them, each from position from to to, in the order of to.
 * Only once all that is done are positions 1..N again.  Off forgets it
 * (a failure's rollback undoes the rows).
 */
struct db_route_place {
	int64_t		 id;
	int		 from, to;
};
int	db_route_defer(struct db *, int on);
/* A scratch store's route table, cheaper to add to (db_route.c). */
int	db_route_scratch(struct db *);
int	db_route_place(struct db *, const struct db_route_place *v, size_t n,
	    int64_t maxid);
int	db_route_foreach(struct db *, int (*cb)(const struct db_route *, void *), void *arg);	/* by position */
/* The same walk, resumable: db_route_walk_next gives cb the next routes
 * until the clock (now_us) passes until, and returns 0 while routes are
 * left, 1 at the end, -1 (or cb's non-zero) on error.  It has a statement
 * of its own, so other calls may use the store between two (not to change
 * the routes); db_route_walk_free ends it, at any point (NULL-safe). */
struct db_route_walk;
struct db_route_walk *db_route_walk_new(struct db *);
int	db_route_walk_next(struct db_route_walk *,
	    int (*cb)(const struct db_route *, void *), void *arg,
	    uint64_t until);
void	db_route_walk_free(struct db_route_walk *);
/* One route to cb: cb's return, or 1 when there is no such route. */
int	db_route_get(struct db *, int64_t id,
	    int (*cb)(const struct db_route *, void *), void *arg);
/* Moves on whenever a row of route or registration is written (rolled
 * back or not): what the routes of a snapshot were built from is still
 * in the store while it has not moved. */
uint64_t db_routes_gen(struct db *);
/* Does any route name this pool?  Sets *route_id to one of them or 0. */
int	db_route_using_pool(struct db *, int64_t pool_id, int64_t *route_id);

/* TSIG keys (db_key.c), by name.  add refuses a name that exists; set
 * changes the algorithm and secret (1: no such key); del refuses while a
 * backend uses the key, naming it (1: no such key); foreach goes by name,
 * with users the number of backends that use each. */
int	db_key_add(struct db *, struct db_key *k);
int	db_key_set(struct db *, const struct db_key *k);
int	db_key_del(struct db *, const char *name);
int	db_key_get(struct db *, const char *name, struct db_key *out);
int	db_key_foreach(struct db *, int (*cb)(const struct db_key *,
	    int users, void *), void *arg);

/* Settings: text key/value.  get returns 1 when the key is unset. */
int	db_setting_get(struct db *, const char *key, char *val, size_t vallen);
int	db_setting_set(struct db *, const char *key, const char *val);
int	db_setting_foreach(struct db *, int (*cb)(const char *key, const char *val, void *), void *arg);

/* Audit rows; foreach gives the last n (all when n <= 0), oldest first. */
int	db_audit_add(struct db *, const struct db_audit *a);
/* n rows in order, up to 16 a statement: a replace's changes. */
int	db_audit_add_rows(struct db *, const struct db_audit *v, size_t n);
int	db_audit_foreach(struct db *, int n, int (*cb)(const struct db_audit *, void *), void *arg);

/* Health events, written in batches by the caller (one transaction for the
 * array).  foreach gives the last n for one backend, oldest first.  prune
 * keeps, per backend, the newest keep check results and, apart, the newest
 * keep state changes: of every backend when ids is NULL, else of the n
 * backends in ids. */
int	db_health_add(struct db *, const struct db_health_event *ev, size_t n);
int	db_health_foreach(struct db *, int64_t backend_id, int n,
	    int (*cb)(const struct db_health_event *, void *), void *arg);
int	db_health_prune(struct db *, int keep, const int64_t *ids, size_t n);

/* Registrations, changed only by the etcd registry and always inside the
 * caller's transaction.  put inserts or, for a key already there, updates
 * (the id stays); del returns 1 when the key is not there; foreach goes in
 * route order: create_revision, then key. */
int	db_reg_put(struct db *, struct db_registration *r);	/* fills r->id */
int	db_reg_del(struct db *, const char *key);
int	db_reg_clear(struct db *, int *removed);
int	db_reg_count(struct db *, int *count);
int	db_reg_foreach(struct db *, int (*cb)(const struct db_registration *, void *), void *arg);

/* The router's own state (never shared): text key/value; get returns 1
 * when the key is unset. */
int	db_state_get(struct db *, const char *key, char *val, size_t vallen);
int	db_state_set(struct db *, const char *key, const char *val);
int	db_state_del(struct db *, const char *key);

#endif

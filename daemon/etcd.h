/*
 * etcd: an asynchronous client of etcd 3's v3 JSON gateway (the HTTP/JSON
 * face of the gRPC API that etcd 3.4 serves on its client URLs), on
 * libevent's HTTP client and the main thread's event base.  Nothing here
 * blocks and nothing here is on the query path.
 *
 * One client talks to one cluster through a list of endpoints.  It uses one
 * endpoint at a time: at connect it resolves its name (if it has one) and
 * probes it (POST .../maintenance/status,
 * first under /v3, then /v3beta for older servers) and, when that fails, a
 * request times out or etcd answers "unavailable", it moves to the next one,
 * with a growing pause (100 ms doubling to 2 s) once every endpoint has
 * failed in a row.  While connected it probes again every 2 s that nothing
 * else has succeeded, so a dead member is noticed without traffic.
 *
 * Requests (range, put, delete, txn, lease grant/keepalive/revoke) are
 * queued and sent one at a time on a kept-alive connection.  Each has a
 * deadline (5 s unless etcd_set_timeout says otherwise) that runs from the
 * moment it is made: while etcd is unreachable it waits in the queue, and a
 * request that never went out survives a change of endpoint unsent, so a
 * failover never sends anything twice.  The callback is called exactly once
 * (from the event loop, never from inside the call that made the request),
 * unless the request is cancelled first; the handle is dead once the
 * callback has returned.  Only the request in flight when a connection
 * breaks fails with `unknown` set: etcd may or may not have applied it.
 *
 * Watches each have their own connection (a watch is a streaming POST whose
 * response is an endless chunked stream of JSON objects).  A watch resumes
 * by itself after a lost connection or a change of endpoint, from the
 * revision after the last one it delivered (or the last progress report);
 * when etcd has compacted that revision away the watch stops with
 * ETCD_WATCH_COMPACTED and its owner must read again (etcd_sync does).
 *
 * Keys are C strings (ours are text); values are bytes with a length.  On
 * the wire both are base64 (the gateway's encoding of protobuf bytes) and
 * 64-bit numbers are JSON strings; none of that leaks out of here.
 *
 * Errors: every failure reaches the caller's callback as text naming the
 * endpoint; the client itself logs only changes of state (connected, lost,
 * moved to another endpoint), once each.
 */
#ifndef ETCD_H
#define ETCD_H

#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>

struct etcd;
struct etcd_req;
struct etcd_watch;
struct etcd_txn;
struct etcd_sync;

#define ETCD_MAX_ENDPOINTS	16
#define ETCD_TIMEOUT_MS		5000	/* default per-request deadline */

/* A key-value pair as etcd returns it.  key and value are the decoded
 * bytes, each followed by a NUL that the length does not count (so a text
 * key reads as a C string).  Valid during the callback only. */
struct etcd_kv {
	const char	*key;
	size_t		 keylen;
	const char	*value;
	size_t		 vallen;
	int64_t		 create_revision;
	int64_t		 mod_revision;
	int64_t		 version;
	int64_t		 lease;
};

enum etcd_event_type { ETCD_EV_PUT = 0, ETCD_EV_DELETE = 1 };

struct etcd_event {
	int		 type;		/* enum etcd_event_type */
	struct etcd_kv	 kv;		/* DELETE: key and mod_revision only */
	int		 has_prev;
	struct etcd_kv	 prev;		/* with ETCD_PREV_KV */
};

enum etcd_op {
	ETCD_OP_STATUS, ETCD_OP_RANGE, ETCD_OP_PUT, ETCD_OP_DELETE,
	ETCD_OP_TXN, ETCD_OP_LEASE_GRANT, ETCD_OP_LEASE_KEEPALIVE,
	ETCD_OP_LEASE_REVOKE, ETCD_OP_COMPACT
};

/* gRPC codes etcd answers with that callers look at. */
#define ETCD_CODE_INVALID	3	/* "too many operations in txn request" */
#define ETCD_CODE_NOT_FOUND	5	/* "requested lease not found" */
#define ETCD_CODE_OUT_OF_RANGE	11	/* "required revision has been compacted" */
#define ETCD_CODE_UNAVAILABLE	14	/* "no leader": the client fails over */

/* One response; everything in it is valid during the callback only. */
struct etcd_resp {
	enum etcd_op	 op;
	int		 ok;		/* etcd did it (a txn may still not succeed) */
	const char	*error;		/* !ok: one line, naming the endpoint */
	int		 unknown;	/* !ok: the connection broke after sending */
	int		 http_status;	/* 0: no HTTP answer */
	int		 code;		/* !ok and etcd refused: its gRPC code */
	/* The response header. */
	uint64_t	 cluster_id;
	uint64_t	 member_id;
	int64_t		 revision;
	int64_t		 raft_term;
	/* RANGE (and a range inside a txn). */
	struct etcd_kv	*kvs;
	size_t		 nkvs;
	int64_t		 count;
	int		 more;
	/* DELETE; PUT and DELETE with ETCD_PREV_KV. */
	int64_t		 deleted;
	struct etcd_kv	*prev_kvs;
	size_t		 nprev_kvs;
	/* TXN: did the compares hold, and one response per operation of the
	 * branch that ran (op RANGE, PUT or DELETE), in order. */
	int		 succeeded;
	struct etcd_resp *responses;
	size_t		 nresponses;
	/* LEASE_GRANT, LEASE_KEEPALIVE (ttl 0: the lease is gone). */
	int64_t		 lease_id;
	int64_t		 ttl;
	/* STATUS. */
	const char	*version;	/* etcd's, "3.4.23" */
	uint64_t	 leader;
	int64_t		 db_size;
};

typedef void (*etcd_cb)(const struct etcd_resp *, void *arg);

/* Flags of range, delete, put and watch. */
#define ETCD_PREFIX	0x01	/* every key starting with key (end ignored) */
#define ETCD_KEYS_ONLY	0x02	/* range: no values */
#define ETCD_COUNT_ONLY	0x04	/* range: only the count */
#define ETCD_PREV_KV	0x08	/* put, delete, watch: the previous pairs */
#define ETCD_SORT_DESC	0x10	/* range: keys in descending order */

/* "http://10.0.0.1:2379,http://[::1]:2379,http://etcd1.example:2379"
 * (port 2379 when left out).  A name is resolved at each connect to its
 * endpoint, in the background (evdns: the system's resolv.conf and hosts
 * file, each try bounded), so a member that moves is followed; one that
 * does not resolve fails that try like an endpoint that does not answer.
 * NULL with err only on a malformed list or https (not supported).
 * Connecting starts at once, in the background. */
struct etcd	*etcd_new(struct event_base *, const char *endpoints, char *err,
		    size_t errlen);
/* Cancels every request and watch without calling back.  Not from inside
 * one of this client's callbacks. */
void		 etcd_free(struct etcd *);
void		 etcd_set_timeout(struct etcd *, int ms);

/* Called on every change of connected (1/0), and with 2 when the cluster
 * changed under the client (another cluster id, or the revision went
 * back: a restored or replaced cluster), which invalidates what was read
 * before.  At most 8 listeners. */
typedef void (*etcd_state_cb)(void *arg, int what);
void		 etcd_listen(struct etcd *, etcd_state_cb, void *arg);
void		 etcd_unlisten(struct etcd *, etcd_state_cb, void *arg);

struct etcd_status {
	int		 connected;
	const char	*endpoint;	/* the one in use, or being tried */
	const char	*api;		/* "/v3", "/v3beta"; "" before the first connect */
	const char	*server_version;
	int64_t		 revision;	/* the highest header revision seen */
	uint64_t	 cluster_id;
	int64_t		 since_us;	/* wall clock of the last connect or loss */
	const char	*last_error;	/* "" when none */
	int64_t		 last_error_us;
	uint64_t	 failovers;	/* moves to another endpoint */
	uint64_t	 requests;	/* answered */
	uint64_t	 failures;	/* failed, any reason */
};
void		 etcd_status(const struct etcd *, struct etcd_status *);

struct etcd_endpoint_status {
	const char	*url;
	int		 current;	/* the one in use (or being tried) */
	int		 ok;		/* the last attempt on it worked */
	const char	*last_error;	/* "" when none */
	int64_t		 last_error_us;
	int64_t		 revision;	/* the last header revision it gave */
};
int		 etcd_nendpoints(const struct etcd *);
void		 etcd_endpoint(const struct etcd *, int i,
		    struct etcd_endpoint_status *);

/* The key range of a prefix: out gets the end key (prefix with its last
 * byte below 0xff increased).  Returns its length, or -1 when out is too
 * small.  The empty prefix means every key: end is "\0" (length 1). */
int		 etcd_prefix_end(const char *prefix, char *out, size_t outlen);

/* Key-value requests.  end: NULL for the single key (or the prefix with
 * ETCD_PREFIX), else the end of [key, end).  revision 0: the latest.
 * limit 0: no limit.  Each returns the handle, never NULL. */
struct etcd_req	*etcd_range(struct etcd *, const char *key, const char *end,
		    unsigned flags, int64_t revision, int64_t limit, etcd_cb,
		    void *arg);
struct etcd_req	*etcd_put(struct etcd *, const char *key, const void *val,
		    size_t vallen, int64_t lease, unsigned flags, etcd_cb,
		    void *arg);
struct etcd_req	*etcd_delete(struct etcd *, const char *key, const char *end,
		    unsigned flags, etcd_cb, void *arg);
/* Compact the history up to revision (tests, maintenance). */
struct etcd_req	*etcd_compact(struct etcd *, int64_t revision, etcd_cb,
		    void *arg);
/* Leases.  id 0 on grant: etcd picks one. */
struct etcd_req	*etcd_lease_grant(struct etcd *, int64_t ttl, int64_t id,
		    etcd_cb, void *arg);
struct etcd_req	*etcd_lease_keepalive(struct etcd *, int64_t id, etcd_cb,
		    void *arg);
struct etcd_req	*etcd_lease_revoke(struct etcd *, int64_t id, etcd_cb,
		    void *arg);
/* Drop a request: its callback will not be called.  Not from inside its
 * own callback (the handle is gone then). */
void		 etcd_req_cancel(struct etcd_req *);

/*
 * Transactions: compares, then the operations of the branch they select,
 * all at one revision.  Build, then commit (which takes the builder).  A
 * compare-and-swap is one compare on a key's mod_revision and the puts in
 * ETCD_THEN.  etcd refuses more than --max-txn-ops (128 by default)
 * operations in one txn; etcd_txn_nops says how many there are.
 */
enum etcd_cmp_target {
	ETCD_CMP_VERSION, ETCD_CMP_CREATE, ETCD_CMP_MOD, ETCD_CMP_VALUE,
	ETCD_CMP_LEASE
};
enum etcd_cmp_result {
	ETCD_CMP_EQUAL, ETCD_CMP_GREATER, ETCD_CMP_LESS, ETCD_CMP_NOT_EQUAL
};
#define ETCD_THEN	0	/* the compares held */
#define ETCD_ELSE	1

struct etcd_txn	*etcd_txn_new(void);
/* A number target (VERSION, CREATE, MOD, LEASE) against v; a key that
 * does not exist has version, create and mod revision 0. */
void		 etcd_txn_cmp(struct etcd_txn *, const char *key,
		    enum etcd_cmp_target, enum etcd_cmp_result, int64_t v);
void		 etcd_txn_cmp_value(struct etcd_txn *, const char *key,
		    enum etcd_cmp_result, const void *val, size_t len);
void		 etcd_txn_put(struct etcd_txn *, int branch, const char *key,
		    const void *val, size_t len, int64_t lease);
void		 etcd_txn_delete(struct etcd_txn *, int branch, const char *key,
		    const char *end, unsigned flags);
void		 etcd_txn_range(struct etcd_txn *, int branch, const char *key,
		    const char *end, unsigned flags);
size_t		 etcd_txn_nops(const struct etcd_txn *, int branch);
void		 etcd_txn_free(struct etcd_txn *);
struct etcd_req	*etcd_txn_commit(struct etcd *, struct etcd_txn *, etcd_cb,
		    void *arg);

/*
 * Watches.  The callback gets, in order: CREATED once the stream is up
 * (again after each resumption), EVENTS in revision order, PROGRESS when
 * etcd reports that nothing happened up to revision, LOST when the stream
 * broke (it resumes by itself), and at most once COMPACTED (the revision to
 * resume from is gone: read again, then etcd_watch_restart) or CANCELED
 * (etcd ended it for another reason, in error).  After those two the watch
 * is stopped until restarted.
 */
enum etcd_watch_what {
	ETCD_WATCH_CREATED, ETCD_WATCH_EVENTS, ETCD_WATCH_PROGRESS,
	ETCD_WATCH_LOST, ETCD_WATCH_COMPACTED, ETCD_WATCH_CANCELED
};

struct etcd_watch_msg {
	enum etcd_watch_what	 what;
	int64_t			 revision;	/* the response header's */
	const struct etcd_event	*events;
	size_t			 nevents;
	int64_t			 compact_revision;
	const char		*error;		/* LOST, CANCELED */
};

typedef void (*etcd_watch_cb)(const struct etcd_watch_msg *, void *arg);

/* Watch key (or [key, end), or the prefix) from start_revision (0: from
 * now on).  flags: ETCD_PREFIX, ETCD_PREV_KV. */
struct etcd_watch *etcd_watch_new(struct etcd *, const char *key,
		    const char *end, unsigned flags, int64_t start_revision,
		    etcd_watch_cb, void *arg);
void		 etcd_watch_restart(struct etcd_watch *, int64_t start_revision);
/* The revision the watch would resume from. */
int64_t		 etcd_watch_next_revision(const struct etcd_watch *);
int		 etcd_watch_live(const struct etcd_watch *);
/* Not from inside this watch's own callback. */
void		 etcd_watch_free(struct etcd_watch *);

/*
 * Mirroring a prefix: read it whole (in pages, all at one revision), hand
 * the owner every pair with reset(), then watch from the revision after
 * and hand over each batch of changes with update().  When etcd compacted
 * the history the watch needed, when the watch was cancelled, or when the
 * cluster changed under the client, it reads again and calls reset() once
 * more: the owner replaces what it had.  So the owner's copy is always
 * what etcd held at one revision, never a mix.
 */
struct etcd_sync_ops {
	void	(*reset)(void *arg, const struct etcd_kv *kvs, size_t n,
		    int64_t revision);
	void	(*update)(void *arg, const struct etcd_event *evs, size_t n,
		    int64_t revision);
};

struct etcd_sync_status {
	int		 live;		/* read, and the watch is up */
	int64_t		 revision;	/* what the owner's copy reflects */
	int64_t		 since_us;	/* wall clock: live since, or not since */
	uint64_t	 resets;	/* full reads done */
	const char	*last_error;	/* "" when none */
};

struct etcd_sync *etcd_sync_new(struct etcd *, const char *prefix,
		    const struct etcd_sync_ops *, void *arg);
void		 etcd_sync_free(struct etcd_sync *);
void		 etcd_sync_status(const struct etcd_sync *,
		    struct etcd_sync_status *);

#endif

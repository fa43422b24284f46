/*
 * etcd_int: what etcd.c and etcd_watch.c share and nobody else sees: the
 * client, its endpoints and its requests.
 */
#ifndef ETCD_INT_H
#define ETCD_INT_H

#include <sys/queue.h>

#include <event2/http.h>

#include "etcd.h"
#include "etcd_json.h"

struct etcd_endpoint {
	char		 url[300];	/* http://HOST:PORT, as shown */
	char		 name[256];	/* a name to resolve; "": numeric */
	char		 addr[256];	/* numeric: the last the name gave */
	int		 port;
	char		 hosthdr[280];
	int		 ok;
	char		 last_error[256];
	int64_t		 last_error_us;
	int64_t		 revision;
};

/* A lookup's ticket: e is NULL once its client is gone (etcd_free), and
 * the answer, if it ever comes, is dropped. */
struct etcd_lookup {
	struct etcd	*e;
};

struct etcd_req {
	TAILQ_ENTRY(etcd_req)	 entry;		/* queue or done */
	struct etcd		*e;
	enum etcd_op		 op;
	char			*body;
	etcd_cb			 cb;		/* NULL once cancelled */
	void			*arg;
	struct event		*deadline;
	struct evhttp_request	*hreq;		/* while in flight */
	int			 queued, done_queued;
	int			 internal;	/* a probe */
	int			 herr;		/* evhttp_request_error + 1 */
	char			 url[300];	/* the endpoint it went to */
	/* The outcome, until the callback runs. */
	int			 failed, unknown, sock_failed;
	char			 why[256];
	char			 err[1024];
	int			 http_status;
	char			*resp_body;
	size_t			 resp_len;
};

TAILQ_HEAD(etcd_reqq, etcd_req);
TAILQ_HEAD(etcd_watchq, etcd_watch);

enum etcd_state { ETCD_DOWN, ETCD_CONNECTING, ETCD_UP };

struct etcd {
	struct event_base	*base;
	struct etcd_endpoint	 eps[ETCD_MAX_ENDPOINTS];
	int			 neps;
	int			 cur;
	int			 round;		/* endpoints failed in a row */
	int			 backoff_ms;
	int			 probe_api;	/* index into the API paths */
	char			 api[16];
	char			 server_version[32];
	enum etcd_state		 state;
	int			 timeout_ms;
	struct evhttp_connection *conn;		/* unary requests */
	struct etcd_req		*inflight;
	struct etcd_reqq	 queue;		/* waiting to be sent */
	struct etcd_reqq	 done;		/* callbacks to run */
	/* Endpoint names resolve at each connect to them, through evdns
	 * (asynchronous, bounded in time): the lookup under way. */
	struct etcd_lookup	*lookup;
	struct {
		struct evhttp_connection *conn;
		void			*owned;
	}			*dead;		/* to free from the kick */
	size_t			 ndead, capdead;
	struct event		*kick;
	struct event		*retry;
	struct event		*probe_timer;
	int			 probe_pending;
	uint64_t		 last_ok_us;	/* monotonic */
	struct etcd_watchq	 watches;
	struct {
		etcd_state_cb	 cb;
		void		*arg;
	}			 listeners[8];
	int			 nlisteners;
	/* What status shows. */
	int64_t			 revision;
	uint64_t		 cluster_id;
	/* Bumped when the cluster changed. */
	uint64_t		 epoch;
	int64_t			 since_us;
	char			 last_error[600];
	int64_t			 last_error_us;
	uint64_t		 failovers, requests, failures;
	int			 was_up_once, down_logged;
};

/* etcd.c, for etcd_watch.c */
void	etcd_timer_ms(struct event *, int ms);
struct evhttp_connection *etcd_conn_new(struct etcd *, int timeout_s);
void	etcd_conn_drop(struct etcd *, struct evhttp_connection *, void *owned);
struct evhttp_request *etcd_http_request(struct etcd *,
	    void (*)(struct evhttp_request *, void *),
	    void (*)(enum evhttp_request_error, void *), void *,
	    const char *body);
void	etcd_transport_error(int herr, int sockerr, char *buf, size_t len);
void	etcd_suspect(struct etcd *);
void	etcd_endpoint_failed(struct etcd *, const char *why);
void	etcd_req_deadline_cb(evutil_socket_t, short, void *);
void	etcd_probe_done(const struct etcd_resp *, void *);

/* etcd_watch.c, for etcd.c: the client came up, went down, is freed. */
void	etcd_watches_up(struct etcd *);
void	etcd_watches_down(struct etcd *, const char *why);
void	etcd_watches_free(struct etcd *);

#endif

/*
 * health_int.h: what the files of the health module share (see health.h).
 *
 * health.c        schedules the checks of the snapshot's backends and
 *                 moves their health (timers, timeouts, health_sync);
 * health_probe.c  one check on the wire: the query, its UDP or TCP
 *                 exchange, the answer judged;
 * health_host.c   checks in flight per server, and the queue beyond;
 * health_history.c  event rows buffered and written in batches, pruned;
 * health_readd.c  `backend readd` requests waiting on checks.
 *
 * All of it runs on the main thread's event base; nothing here is seen
 * by the workers.
 */
#ifndef HEALTH_INT_H
#define HEALTH_INT_H

#include <sys/queue.h>
#include <sys/socket.h>

#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>

#include "backend.h"
#include "dnsmsg.h"
#include "health.h"
#include "health_state.h"
#include "proxyv2.h"

#define DETAIL_MAX		96
#define STATE_MAX		16
/* The check query: header, a name of at most 255 octets, type, class. */
#define CHECK_WIRE_MAX		(DNS_HDR_LEN + DNS_MAX_WIRE_NAME + 4)
#define HOST_BUCKETS		1024
/* Durations given libevent's common timeouts (see health_duration()). */
#define COMMON_MAX		16

struct hevent {
	int64_t		 backend_id;
	int64_t		 time_us;
	int		 ok;
	int		 rtt_us;
	int		 transition;	/* from and to are set; kept longest */
	char		 from[STATE_MAX];
	char		 to[STATE_MAX];
	char		 detail[DETAIL_MAX];
};

/* One `backend readd` request: answered once per backend, then once with
 * b NULL.  cb is NULL once its client has left. */
struct readd {
	TAILQ_ENTRY(readd)	 entry;
	health_done_cb		 cb;
	void			*arg;
	int			 pending;
};

struct hhost;

struct hcheck {
	TAILQ_ENTRY(hcheck)	 entry;
	TAILQ_ENTRY(hcheck)	 qentry;	/* waiting for its host */
	struct health		*h;
	struct backend		*b;		/* referenced */
	struct hhost		*host;
	struct event		*timer;		/* next periodic check */
	struct event		*tmo;		/* timeout; early ends */
	int			 interval_ms;	/* what the timer runs at */

	/* The check query, built from these settings. */
	int			 built;
	char			 qname[CONF_QNAME_MAX];
	int			 qtype;
	int			 qclass;
	uint8_t			 wire[CHECK_WIRE_MAX];
	size_t			 wirelen;
	struct dns_query	 q;

	/* The check in flight (or waiting for its turn). */
	int			 running;
	int			 queued;	/* running, waits for a slot */
	int			 slot;		/* running, holds one */
	int			 due;		/* a tick came while running */
	int			 failed;	/* ended early with fail[] */
	int			 aborted;	/* disabled: no result */
	int			 tcp;
	uint16_t		 id;
	uint64_t		 start_us;
	int			 fd;
	struct event		*rev;
	/* TCP: the framed query going out, after any PROXY header (toff of
	 * tout sent), then the answer coming in (tlen). */
	uint8_t			 tbuf[PROXYV2_LOCAL_LEN + 2 + CHECK_WIRE_MAX];
	size_t			 toff, tout, tlen;
	const char		*soft_err;	/* UDP: a stray came */
	char			 fail[DETAIL_MAX];

	int			 idle;		/* disabled: not checked */
	int			 dying;		/* gone from the snapshot */
	int			 seen;		/* health_sync bookkeeping */
	struct hstate		 hs;		/* results in a row */

	struct readd		**waiters;
	int			 nwaiters, capwaiters;
};

TAILQ_HEAD(hcheck_list, hcheck);

/* A server: its address without the port, and its checks in flight. */
struct hhost {
	struct hhost		*next;		/* hash chain */
	struct health		*h;
	struct sockaddr_storage	 addr;
	int			 refcnt;	/* hchecks */
	int			 inflight;
	struct hcheck_list	 waiting;
	struct event		*kick;
};

struct health {
	struct event_base	*base;
	struct db		*db;
	struct hcheck_list	 checks;	/* the current snapshot's */
	struct hcheck_list	 dying;		/* removed, to be reaped */
	struct hhost		*hosts[HOST_BUCKETS];
	TAILQ_HEAD(, readd)	 readds;
	struct event		*flush_ev;
	int			 common_ms[COMMON_MAX];
	const struct timeval	*common[COMMON_MAX];
	int			 ncommon;

	struct hevent		*ev;
	size_t			 nev, capev;
	unsigned long		 dropped;	/* rows lost since last said */

	int			 have_config;
	int			 retention;
	int			 prune_now;	/* all, at the next flush */
	size_t			 prune_pos;	/* the next slice's first */
	size_t			 prune_credit;
	int			 failing;	/* last write failed */
	uint64_t		 last_fail_log_us;
	unsigned long		 fail_count;	/* since last said */
};

/* health.c */
/* ms as a timer's duration, a common timeout where it can be. */
struct timeval	 health_duration(struct health *, int ms);
/* The periodic timer, from now, at the backend's interval. */
void		 hcheck_timer_arm(struct hcheck *);
/* A check is due: it goes now, or waits for its server's turn. */
void		 hcheck_start(struct hcheck *);
/* Its turn: the slot taken, the timeout armed, the query sent. */
void		 hcheck_go(struct hcheck *);
/* The check ended with a result: count it, move the health, answer the
 * readds waiting; ok, the round trip (-1: none) and what was seen. */
void		 hcheck_finish(struct hcheck *, int ok, int rtt_us,
		    const char *detail);

/* health_probe.c */
/* Send the check's query (UDP or TCP); a failure to send ends the check
 * later, from the timeout event, with hc->fail. */
void		 hprobe_send(struct hcheck *);
/* Close the check's socket and its read event. */
void		 hprobe_close(struct hcheck *);
/* Close, and end the check from the event loop on its next turn. */
void		 hprobe_end_later(struct hcheck *);

/* health_host.c */
/* The server of a backend (its address without the port), made if new;
 * referenced, until hhost_unref. */
struct hhost	*hhost_get(struct health *, const struct backend *);
void		 hhost_unref(struct hhost *);
/* 1: the server has its fill of checks in flight, hc waits in line and
 * hcheck_go is called at its turn; 0: it may go now. */
int		 hhost_queue(struct hcheck *);
/* hc goes: it holds one of its server's slots. */
void		 hhost_take(struct hcheck *);
/* hc no longer waits in line (if it did). */
void		 hhost_unqueue(struct hcheck *);
/* hc's slot (if it holds one) goes to the next in line, from the event
 * loop. */
void		 hhost_release(struct hcheck *);

/* health_history.c */
/* The flush timer; the last flush and the buffer freed. */
void		 hhist_start(struct health *);
void		 hhist_end(struct health *);
/* A row: a check's result, or a transition when from and to are set. */
void		 hhist_push(struct health *, const struct backend *, int ok,
		    const char *from, const char *to, int rtt_us,
		    const char *detail);
/* Drop the rows of a backend gone from the snapshot and the store. */
void		 hhist_purge(struct health *, int64_t backend_id);

/* health_readd.c */
/* Answer every readd waiting on hc's check. */
void		 hreadd_done(struct hcheck *, int ok, const char *detail);
/* Free every readd request (health_free). */
void		 hreadd_free_all(struct health *);

#endif

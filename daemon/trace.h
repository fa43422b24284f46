/*
 * trace: what happened to each query, for `show recent` and live `trace`.
 *
 * Every query a worker finishes with (answered, failed, refused, dropped)
 * becomes one fixed-size record in that worker's ring, always: that is
 * what `show recent` reads.  A `trace` reads the same rings from the main
 * thread on a timer while it runs, so tracing adds nothing to the query
 * path and a slow tracer cannot reach a worker: the ring overwrites its
 * oldest records, and a reader that falls behind counts what it lost.
 * The query path never allocates, locks or waits here.
 */
#ifndef TRACE_H
#define TRACE_H

#include <stdint.h>

#include "worker.h"

struct ctl_conn;

enum trace_outcome {
	TRACE_OK = 0,		/* answered by a backend */
	TRACE_MALFORMED,	/* detail: enum dns_err */
	TRACE_XFR,		/* AXFR/IXFR refused */
	TRACE_NOROUTE,		/* default action */
	TRACE_ROUTE_ANSWER,	/* refuse/nxdomain/servfail/drop route; detail: route id */
	TRACE_POOL_DOWN,	/* no usable member */
	TRACE_TIMEOUT,		/* every try timed out */
	TRACE_REFUSED,		/* connection refused/closed on every try */
	TRACE_NOTIMP,		/* opcode other than QUERY */
	TRACE_OVERLOAD,		/* at the outstanding limit: SERVFAIL */
	TRACE_SPOOFED,		/* an answer was dropped; the query waits on */
	TRACE_HEADERLESS,	/* a backend's bare-header error answer, relayed */
	TRACE_CLIENT_LIMIT,	/* over max-outstanding-per-client; detail: route id */
	TRACE__COUNT
};

/* Main thread: the rings (before worker_start) and the drain timer. */
void	trace_init(struct event_base *);
void	trace_shutdown(void);
/* The control client left: end its trace without a word (from
 * cmd_session_end; the connection is being freed). */
void	trace_cancel(struct ctl_conn *);

/* Workers: record a query that had a slot (route, backend, tries,
 * latency from s->start_us to now). */
void	trace_query_done(struct worker *, const struct qslot *, int outcome,
	    int rcode, int ancount, uint64_t now);
/* Workers: record a query answered or dropped without a slot.  q may
 * hold a partial parse (question_end == 0: no question); detail is the
 * enum dns_err for TRACE_MALFORMED, else the route id (-1: none); rcode
 * is what the client got, -1 for nothing. */
void	trace_early(struct worker *, const struct sockaddr *, int tcp,
	    const struct dns_query *, int outcome, int detail, int rcode);

#endif

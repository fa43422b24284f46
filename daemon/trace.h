/*
 * trace: live query traces and the recent-queries ring.  The query path
 * calls the inline hooks below; when nobody traces they cost one
 * predictable branch on a relaxed load.
 */
#ifndef TRACE_H
#define TRACE_H

#include <stdatomic.h>

#include "worker.h"

enum trace_outcome {
	TRACE_OK = 0,		/* answered by a backend */
	TRACE_MALFORMED,	/* detail: enum dns_err */
	TRACE_XFR,		/* AXFR/IXFR refused */
	TRACE_NOROUTE,		/* default action */
	TRACE_ROUTE_ANSWER,	/* refuse/nxdomain/servfail/drop route; detail: route id */
	TRACE_POOL_DOWN,	/* no usable member */
	TRACE_TIMEOUT,		/* every try timed out */
	TRACE_REFUSED,		/* connection refused/closed on every try */
};

extern atomic_int trace_active;

/* Main thread: start and stop the machinery that drains the workers'
 * trace buffers into the subscribed control clients. */
void	trace_init(struct event_base *);
void	trace_shutdown(void);

void	trace_emit_slot(struct worker *, const struct qslot *, int outcome,
	    int rcode, int ancount, uint64_t now);
void	trace_emit_early(struct worker *, const struct sockaddr *, int tcp,
	    const uint8_t *pkt, size_t len, const struct dns_query *, int outcome,
	    int detail);

static inline void
trace_query_done(struct worker *w, const struct qslot *s, int outcome,
    int rcode, int ancount, uint64_t now)
{
	if (__builtin_expect(atomic_load_explicit(&trace_active,
	    memory_order_relaxed), 0))
		trace_emit_slot(w, s, outcome, rcode, ancount, now);
}

static inline void
trace_early(struct worker *w, const struct sockaddr *sa, int tcp,
    const uint8_t *pkt, size_t len, const struct dns_query *q, int outcome,
    int detail)
{
	if (__builtin_expect(atomic_load_explicit(&trace_active,
	    memory_order_relaxed), 0))
		trace_emit_early(w, sa, tcp, pkt, len, q, outcome, detail);
}

#endif

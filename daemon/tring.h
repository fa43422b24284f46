/*
 * tring: what became of each query, as one record in a ring per
 * worker.  The worker writes a record for every query it finishes with
 * (answered, failed, refused, dropped), always, and never allocates, locks
 * or waits to do so; the main thread reads the rings (`show recent` and
 * `trace`, trace.c) and may fall behind, finding newer records where it
 * looked: it counts those as missed.
 */
#ifndef TRING_H
#define TRING_H

#include <sys/socket.h>
#include <stddef.h>
#include <stdint.h>

#include "dnsmsg.h"
#include "tsig.h"

#define TRING_SLOTS	4096		/* records per worker; a power of two */

enum trace_outcome {
	TRACE_OK = 0,		/* answered by a backend */
	TRACE_MALFORMED,	/* detail: enum dns_err */
	TRACE_XFR_REFUSED,	/* AXFR/IXFR refused: no route names it */
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
	TRACE_UPDATE,		/* an UPDATE answered after its fan-out;
				 * tries: targets, detail: confirmed */
	TRACE_UPDATE_TARGET,	/* one target of it; detail: enum trace_why */
	TRACE_UPDATE_UNSIGNED,	/* unsigned, refused (no tsig optional) */
	TRACE_TSIG,		/* the TSIG failed; detail: its error, 0: FORMERR */
	TRACE_RACE_WON,		/* a race's first good answer; backend: the winner */
	TRACE_RACE_BEST,	/* a race without a good answer: the best of the rest */
	TRACE_TC_RETRY,		/* truncated over UDP, fetched again over TCP */
	TRACE_XFR,		/* a zone transfer relayed whole */
	TRACE_XFR_ABORTED,	/* a zone transfer cut off */
	TRACE_XFR_UDP,		/* a transfer asked over UDP: TC, come over TCP */
	TRACE__COUNT
};

/* Why a target of an UPDATE failed (fanout.c; TRACE_UPDATE_TARGET). */
enum trace_why {
	TRACE_WHY_NONE = 0,
	TRACE_WHY_TIMEOUT,	/* no answer in time */
	TRACE_WHY_REFUSED,	/* nothing listens (ICMP, TCP reset) */
	TRACE_WHY_CLOSED,	/* TCP closed before the answer */
	TRACE_WHY_NO_SOCKET,	/* out of descriptors or memory */
	TRACE_WHY_TOO_BIG,	/* no room for the TSIG in 64 KiB */
	TRACE_WHY_RCODE,	/* a verified answer, not NOERROR: see rcode */
	TRACE_WHY_TSIG,		/* + enum tsig_answer_err: the answer's TSIG */
	TRACE_WHY__COUNT = TRACE_WHY_TSIG + TSIG_A__COUNT
};

/* One query, as a worker leaves it.  No padding: every byte up to the end
 * of the name is written, and only so many words are copied. */
struct trec {
	uint64_t	mono_us;	/* when it was done (now_us) */
	int64_t		route_id;	/* -1: none */
	int64_t		backend_id;	/* 0: none */
	uint32_t	latency_us;
	uint16_t	qtype;
	uint16_t	ancount;
	uint16_t	port;
	uint8_t		family;		/* 4, 6; 0: unknown */
	uint8_t		tcp;
	uint8_t		outcome;	/* enum trace_outcome */
	int8_t		rcode;		/* -1: nothing sent */
	uint8_t		tries;
	uint8_t		detail;		/* enum dns_err of a malformed query */
	uint8_t		addr[16];
	uint8_t		namelen;	/* wire length; 0: no question */
	uint8_t		name[DNS_MAX_WIRE_NAME];
};

struct tring;

struct tring	*tring_new(void);
void		 tring_free(struct tring *);

/* The worker: fill in t's client (family, port, addr) from sa and its
 * question from q (question_end == 0: none), and publish t. */
void		 tring_put(struct tring *, struct trec *t,
		    const struct sockaddr *sa, const struct dns_query *q);

/* A failure's reason as the trace and the log show it: "timeout",
 * "refused", "rcode", "BADKEY", "unsigned-answer", ... */
const char	*trace_why_str(int why);

/* The main thread: how many records were ever written; record n (0, or -1
 * when its slot holds another: overwritten, or being written). */
uint64_t	 tring_head(struct tring *);
int		 tring_get(struct tring *, uint64_t n, struct trec *);

#endif

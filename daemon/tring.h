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
#include <netinet/in.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

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
	TRACE_CLIENT_LIMIT,	/* the client's share used up: over
				 * max-outstanding-per-client, or (TCP)
				 * its address runs xfr-max-per-client
				 * transfers already; detail: route id */
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

/* One query, as a worker leaves it (the reader's form: the ring holds
 * it packed, see tring.c). */
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

/* The ring; how it works is tring.c's to say.  Here so that a worker's
 * tring_put is inlined where it records a query. */
#define TRING_WORDS	(1u << 18)
struct tring {
	alignas(64) _Atomic uint64_t head;	/* records written */
	_Atomic uint64_t	claim;		/* words claimed for writing */
	uint64_t		next;		/* the worker's copy of head */
	uint64_t		pos;		/* words written */
	alignas(64) _Atomic uint64_t at[TRING_SLOTS];	/* record's first word */
	alignas(64) _Atomic uint64_t w[TRING_WORDS];
};

struct tring	*tring_new(void);
void		 tring_free(struct tring *);

/*
 * The words of a record (see tring.c): 0 mono_us, 1 route_id,
 * 2 backend_id, 3 and 4 the small fields packed (the name's length
 * among them), 5 the address (IPv6: 5 and 6), then the name, eight
 * octets a word.
 */
#define TRING_HDR_WORDS		6
#define TRING_REC_WORDS(v6, n)	(TRING_HDR_WORDS + (v6) + ((n) + 7) / 8)

/* The packed words 3 to 6 of t from sa and q. */
struct tring_small {
	uint64_t	w3, w4, a0, a1;
	size_t		namelen;
	size_t		v6;		/* 1: a1 is a word of the record */
};

static inline void
tring_pack(struct tring_small *k, const struct trec *t,
    const struct sockaddr *sa, const struct dns_query *q)
{
	uint64_t port = 0, family = 0, qtype = 0;
	uint32_t a4;

	k->a0 = k->a1 = 0;
	k->v6 = 0;
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)sa;

		family = 4;
		port = ntohs(in->sin_port);
		memcpy(&a4, &in->sin_addr, 4);
		k->a0 = a4;
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;

		family = 6;
		k->v6 = 1;
		port = ntohs(in6->sin6_port);
		memcpy(&k->a0, &in6->sin6_addr, 8);
		memcpy(&k->a1, (const uint8_t *)&in6->sin6_addr + 8, 8);
	}
	k->namelen = 0;
	if (q->question_end != 0 && q->qname_wire_len <= DNS_MAX_WIRE_NAME) {
		k->namelen = q->qname_wire_len;
		qtype = q->qtype;
	}
	k->w3 = t->latency_us | qtype << 32 | (uint64_t)t->ancount << 48;
	k->w4 = port | (family | (uint64_t)(t->tcp != 0) << 3) << 16 |
	    (uint64_t)t->outcome << 24 | (uint64_t)(uint8_t)t->rcode << 32 |
	    (uint64_t)t->tries << 40 | (uint64_t)t->detail << 48 |
	    (uint64_t)k->namelen << 56;
}

/* tring_put where the record goes across the end of the ring, or its
 * name is too long to be read a word at a time: words 0 to 6 in v (6 only
 * when v6), namelen octets of name. */
void		 tring_put_slow(struct tring *, const uint64_t v[7], size_t v6,
		    const uint8_t *name, size_t namelen);

/*
 * The worker: publish t with its client (family, port, addr) from sa and
 * its question (qtype, name) from q (question_end == 0: none); t's own
 * fields of those are not read.  Each word goes straight into the ring:
 * a copy on the stack first, read back word by word, was a tenth of a
 * query's instructions.
 */
static inline __attribute__((always_inline)) void
tring_put(struct tring *r, const struct trec *t, const struct sockaddr *sa,
    const struct dns_query *q)
{
	struct tring_small k;
	_Atomic uint64_t *o;
	uint64_t n, p, d, v;
	size_t i, nw;

	tring_pack(&k, t, sa, q);
	nw = TRING_REC_WORDS(k.v6, k.namelen);
	p = r->pos;
	d = p + 1;
	/* The last word of a name of over 248 octets would read past its
	 * buffer. */
	if ((d & (TRING_WORDS - 1)) + nw > TRING_WORDS ||
	    k.namelen > sizeof(q->qname_wire) - 7) {
		uint64_t h[7] = { t->mono_us, (uint64_t)t->route_id,
		    (uint64_t)t->backend_id, k.w3, k.w4, k.a0, k.a1 };

		tring_put_slow(r, h, k.v6, q->qname_wire, k.namelen);
		return;
	}
	n = r->next++;
	atomic_store_explicit(&r->claim, p + 1 + nw, memory_order_relaxed);
	atomic_thread_fence(memory_order_release);
	o = &r->w[d & (TRING_WORDS - 1)];
#define TRING_PUT(j, x)	atomic_store_explicit(&o[j], (x), memory_order_relaxed)
	TRING_PUT(0, t->mono_us);
	TRING_PUT(1, (uint64_t)t->route_id);
	TRING_PUT(2, (uint64_t)t->backend_id);
	TRING_PUT(3, k.w3);
	TRING_PUT(4, k.w4);
	TRING_PUT(5, k.a0);
	if (k.v6)
		TRING_PUT(6, k.a1);
	o += TRING_HDR_WORDS + k.v6;
	for (i = 0; i < k.namelen; i += 8) {
		memcpy(&v, q->qname_wire + i, 8);
		TRING_PUT(i / 8, v);
	}
#undef TRING_PUT
	atomic_store_explicit(&r->w[p & (TRING_WORDS - 1)], 2 * n + 2,
	    memory_order_release);
	atomic_store_explicit(&r->at[n & (TRING_SLOTS - 1)], p,
	    memory_order_relaxed);
	atomic_store_explicit(&r->head, n + 1, memory_order_release);
	r->pos = p = d + nw;
	/* The ring is larger than the caches: fetch the lines the next
	 * record writes now, for writing, so that the next put does not
	 * wait for them. */
	__builtin_prefetch(&r->w[p & (TRING_WORDS - 1)], 1);
	__builtin_prefetch(&r->w[(p + 8) & (TRING_WORDS - 1)], 1);
}

/* A failure's reason as the trace and the log show it: "timeout",
 * "refused", "rcode", "BADKEY", "unsigned-answer", ... */
const char	*trace_why_str(int why);

/* The main thread: how many records were ever written; record n (0, or -1
 * when its slot holds another: overwritten, or being written). */
uint64_t	 tring_head(struct tring *);
int		 tring_get(struct tring *, uint64_t n, struct trec *);

#endif

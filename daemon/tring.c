/*
 * tring: the per-worker query rings (see tring.h).
 *
 * Each worker owns one ring and is its only writer; the main thread is the
 * only reader.  Records are packed one after the other in a ring of words,
 * each a word of sequence (2n + 2 for record n) and only the words it
 * uses: a query's record is about 80 bytes, written in order, where a
 * fixed slot for the longest name took two cache lines of five a query,
 * strided.  at[] has where record n starts, in slot n % TRING_SLOTS.
 * Before it writes, the worker claims the words it is about to write
 * (claim: every word below claim - TRING_WORDS may be rewritten); the
 * reader keeps a copy only when the record's sequence word names it and,
 * after the copy, the claim has not reached it: a sequence lock over the
 * whole ring.  Every shared word is a relaxed atomic (a plain move on
 * x86), so the worker never waits and never learns whether anyone reads.
 */
#include <netinet/in.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "tring.h"

#define TREC_WORDS	(sizeof(struct trec) / 8)
#define TREC_HDR_WORDS	((offsetof(struct trec, namelen) + 8) / 8)
/* Room for TRING_SLOTS records of the longest name, and a power of two. */
#define TRING_WORDS	(1u << 18)

_Static_assert(sizeof(struct trec) % 8 == 0, "trec is whole words");
_Static_assert(TREC_HDR_WORDS == 8, "tring_put writes 8 fixed words");
_Static_assert(offsetof(struct trec, name) ==
    offsetof(struct trec, namelen) + 1, "trec has no padding");
_Static_assert((TRING_SLOTS & (TRING_SLOTS - 1)) == 0, "a power of two");
_Static_assert(TRING_WORDS >= TRING_SLOTS * (1 + TREC_WORDS),
    "TRING_SLOTS records of any length fit");

struct tring {
	alignas(64) _Atomic uint64_t head;	/* records written */
	_Atomic uint64_t	claim;		/* words claimed for writing */
	uint64_t		next;		/* the worker's copy of head */
	uint64_t		pos;		/* words written */
	alignas(64) _Atomic uint64_t at[TRING_SLOTS];	/* record's first word */
	alignas(64) _Atomic uint64_t w[TRING_WORDS];
};

struct tring *
tring_new(void)
{
	struct tring *r;

	if ((r = aligned_alloc(64, sizeof(*r))) == NULL)
		fatal("trace ring");
	memset(r, 0, sizeof(*r));
	return r;
}

void
tring_free(struct tring *r)
{
	free(r);
}

/* ---- the worker side ---- */

static inline void
rec_client(struct trec *t, const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)sa;

		t->family = 4;
		t->port = ntohs(in->sin_port);
		memcpy(t->addr, &in->sin_addr, 4);
		memset(t->addr + 4, 0, 12);
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;

		t->family = 6;
		t->port = ntohs(in6->sin6_port);
		memcpy(t->addr, &in6->sin6_addr, 16);
	} else {
		t->family = 0;
		t->port = 0;
		memset(t->addr, 0, 16);
	}
}

static inline void
rec_question(struct trec *t, const struct dns_query *q)
{
	size_t i, n = q->qname_wire_len;

	if (q->question_end != 0 && n <= DNS_MAX_WIRE_NAME) {
		t->qtype = q->qtype;
		t->namelen = (uint8_t)n;
		/* Word by word, the last word overlapping the one before: a
		 * memcpy of variable length became rep movsq, whose start-up
		 * cost more than the name. */
		for (i = 0; i + 8 <= n; i += 8)
			memcpy(t->name + i, q->qname_wire + i, 8);
		if (n >= 8)
			memcpy(t->name + n - 8, q->qname_wire + n - 8, 8);
		else
			for (; i < n; i++)
				t->name[i] = q->qname_wire[i];
	} else {
		t->qtype = 0;
		t->namelen = 0;
	}
}

static inline uint64_t
word(const struct trec *t, size_t k)
{
	uint64_t v;

	memcpy(&v, (const char *)t + 8 * k, 8);
	return v;
}

void
tring_put(struct tring *r, struct trec *t, const struct sockaddr *sa,
    const struct dns_query *q)
{
	uint64_t n = r->next++, p = r->pos, d;
	size_t i, end, nw;

	rec_client(t, sa);
	rec_question(t, q);
	end = offsetof(struct trec, name) + t->namelen;
	nw = (end + 7) / 8;
	/* The tail of the last word: no stale stack bytes in a record. */
	memset((char *)t + end, 0, nw * 8 - end);
	atomic_store_explicit(&r->claim, p + 1 + nw, memory_order_relaxed);
	atomic_thread_fence(memory_order_release);
	/* The fixed words written out (a loop costs two and a half times
	 * as much, and the compiler does not unroll one over atomics), then
	 * the name's; nw >= TREC_HDR_WORDS, as the name's length octet is
	 * in the last fixed word.  The sequence word last. */
	d = p + 1;
	if ((d & (TRING_WORDS - 1)) + nw <= TRING_WORDS) {
		/* Not across the end of the ring: the usual case. */
		_Atomic uint64_t *o = &r->w[d & (TRING_WORDS - 1)];

#define PUT(k)	atomic_store_explicit(&o[k], word(t, k), memory_order_relaxed)
		PUT(0); PUT(1); PUT(2); PUT(3); PUT(4); PUT(5); PUT(6); PUT(7);
		for (i = TREC_HDR_WORDS; i < nw; i++)
			PUT(i);
#undef PUT
	} else
		for (i = 0; i < nw; i++)
			atomic_store_explicit(&r->w[(d + i) & (TRING_WORDS - 1)],
			    word(t, i), memory_order_relaxed);
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

/* ---- the reader ---- */

uint64_t
tring_head(struct tring *r)
{
	return atomic_load_explicit(&r->head, memory_order_acquire);
}

int
tring_get(struct tring *r, uint64_t n, struct trec *out)
{
	uint64_t p, d, v;
	size_t i, nw;

	p = atomic_load_explicit(&r->at[n & (TRING_SLOTS - 1)],
	    memory_order_acquire);
	if (atomic_load_explicit(&r->w[p & (TRING_WORDS - 1)],
	    memory_order_acquire) != 2 * n + 2)
		return -1;
	d = p + 1;
	for (i = 0; i < TREC_HDR_WORDS; i++) {
		v = atomic_load_explicit(&r->w[(d + i) & (TRING_WORDS - 1)],
		    memory_order_relaxed);
		memcpy((char *)out + 8 * i, &v, 8);
	}
	/* At most TREC_WORDS: namelen is a byte. */
	nw = (offsetof(struct trec, name) + out->namelen + 7) / 8;
	for (; i < nw; i++) {
		v = atomic_load_explicit(&r->w[(d + i) & (TRING_WORDS - 1)],
		    memory_order_relaxed);
		memcpy((char *)out + 8 * i, &v, 8);
	}
	atomic_thread_fence(memory_order_acquire);
	/* Some of it rewritten meanwhile? */
	if (atomic_load_explicit(&r->claim, memory_order_relaxed) >
	    p + TRING_WORDS)
		return -1;
	return 0;
}

const char *
trace_why_str(int why)
{
	static const char *const w[TRACE_WHY_TSIG] = {
		"ok", "timeout", "refused", "closed", "no-socket", "too-big",
		"rcode",
	};

	if (why >= 0 && why < TRACE_WHY_TSIG)
		return w[why];
	return tsig_answer_str(why - TRACE_WHY_TSIG);
}

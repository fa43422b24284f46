/*
 * tring: the per-worker query rings (see tring.h).
 *
 * Each worker owns one ring and is its only writer; the main thread is the
 * only reader.  A slot is a sequence lock: its seq is odd while the worker
 * writes it and 2n + 2 once it holds record n, and the reader keeps a copy
 * only when seq, read before and after the copy, names the record it
 * wanted.  Every shared word is a relaxed atomic (a plain move on x86), so
 * the worker never waits and never learns whether anyone reads.
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

_Static_assert(sizeof(struct trec) % 8 == 0, "trec is whole words");
_Static_assert(TREC_HDR_WORDS == 8, "tring_put writes 8 fixed words");
_Static_assert(offsetof(struct trec, name) ==
    offsetof(struct trec, namelen) + 1, "trec has no padding");
_Static_assert((TRING_SLOTS & (TRING_SLOTS - 1)) == 0, "a power of two");

struct tslot {
	_Atomic uint64_t	seq;
	_Atomic uint64_t	w[TREC_WORDS];
};

struct tring {
	alignas(64) _Atomic uint64_t head;	/* records written */
	uint64_t		next;		/* the worker's copy of head */
	alignas(64) struct tslot slot[TRING_SLOTS];
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
	uint64_t n = r->next++;
	struct tslot *s = &r->slot[n & (TRING_SLOTS - 1)];
	size_t i, end, nw;

	rec_client(t, sa);
	rec_question(t, q);
	end = offsetof(struct trec, name) + t->namelen;
	nw = (end + 7) / 8;
	/* The tail of the last word: no stale stack bytes in a record. */
	memset((char *)t + end, 0, nw * 8 - end);
	atomic_store_explicit(&s->seq, 2 * n + 1, memory_order_relaxed);
	atomic_thread_fence(memory_order_release);
	/* The fixed words written out (a loop costs two and a half times
	 * as much, and the compiler does not unroll one over atomics), then
	 * the name's; nw >= TREC_HDR_WORDS, as the name's length octet is
	 * in the last fixed word. */
#define PUT(k)	atomic_store_explicit(&s->w[k], word(t, k), memory_order_relaxed)
	PUT(0); PUT(1); PUT(2); PUT(3); PUT(4); PUT(5); PUT(6); PUT(7);
#undef PUT
	for (i = TREC_HDR_WORDS; i < nw; i++)
		atomic_store_explicit(&s->w[i], word(t, i), memory_order_relaxed);
	atomic_store_explicit(&s->seq, 2 * n + 2, memory_order_release);
	atomic_store_explicit(&r->head, n + 1, memory_order_release);
	/* The ring is larger than the caches: fetch the lines the next
	 * record writes (seq, the fixed words, a short name) now, for
	 * writing, so that the next put does not wait for them. */
	s = &r->slot[(n + 1) & (TRING_SLOTS - 1)];
	__builtin_prefetch(s, 1);
	__builtin_prefetch((char *)s + 64, 1);
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
	struct tslot *s = &r->slot[n & (TRING_SLOTS - 1)];
	uint64_t want = 2 * n + 2, v;
	size_t i, nw;

	if (atomic_load_explicit(&s->seq, memory_order_acquire) != want)
		return -1;
	for (i = 0; i < TREC_HDR_WORDS; i++) {
		v = atomic_load_explicit(&s->w[i], memory_order_relaxed);
		memcpy((char *)out + 8 * i, &v, 8);
	}
	nw = (offsetof(struct trec, name) + out->namelen + 7) / 8;
	for (; i < nw; i++) {
		v = atomic_load_explicit(&s->w[i], memory_order_relaxed);
		memcpy((char *)out + 8 * i, &v, 8);
	}
	atomic_thread_fence(memory_order_acquire);
	if (atomic_load_explicit(&s->seq, memory_order_relaxed) != want)
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

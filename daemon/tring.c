/*
 * tring: the per-worker query rings (see tring.h).
 *
 * Each worker owns one ring and is its only writer; the main thread is the
 * only reader.  Records are packed one after the other in a ring of words,
 * each a word of sequence (2n + 2 for record n) and only the words it
 * uses (below): a query's record is 72 bytes and up, written in order,
 * where a fixed slot for the longest name took two cache lines of five a
 * query, strided.  at[] has where record n starts, in slot n %
 * TRING_SLOTS.
 * Before it writes, the worker claims the words it is about to write
 * (claim: every word below claim - TRING_WORDS may be rewritten); the
 * reader keeps a copy only when the record's sequence word names it and,
 * after the copy, the claim has not reached it: a sequence lock over the
 * whole ring.  Every shared word is a relaxed atomic (a plain move on
 * x86), so the worker never waits and never learns whether anyone reads.
 */
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "tring.h"

#define TREC_WORDS	(sizeof(struct trec) / 8)

_Static_assert(sizeof(struct trec) % 8 == 0, "trec is whole words");
_Static_assert((TRING_SLOTS & (TRING_SLOTS - 1)) == 0, "a power of two");
_Static_assert(TRING_WORDS >= TRING_SLOTS * (2 + TREC_WORDS),
    "TRING_SLOTS records of any length fit");
_Static_assert(DNS_MAX_WIRE_NAME <= 255, "a name's length fits its octet");
_Static_assert(TRING_REC_WORDS(1, DNS_MAX_WIRE_NAME) <= TREC_WORDS + 1,
    "a record is at most a word longer than the struct");

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

/*
 * A record in the ring is not the struct copied: the worker packs each
 * word from the fields as they are, straight into the ring (tring_put, in
 * tring.h), and the reader unpacks them.  The words:
 *
 *	0 mono_us  1 route_id  2 backend_id
 *	3 latency_us | qtype << 32 | ancount << 48
 *	4 port | (family | tcp << 3) << 16 | outcome << 24 | rcode << 32 |
 *	  tries << 40 | detail << 48 | namelen << 56
 *	5 the address's octets: IPv4 its four in the low half, IPv6 its
 *	  first eight, and 6 the other eight
 *	then the name's octets, eight a word; those after the name in the
 *	  last word are whatever followed it, and the reader drops them
 *
 * An IPv4 query for a short name is nine words with its sequence word:
 * 72 octets, little more than the line it is written over.
 */
void
tring_put_slow(struct tring *r, const uint64_t h[7], size_t v6,
    const uint8_t *name, size_t namelen)
{
	uint64_t n = r->next++, p = r->pos, d = p + 1, v[TREC_WORDS + 1];
	size_t i, nw = TRING_REC_WORDS(v6, namelen);

	memcpy(v, h, (TRING_HDR_WORDS + v6) * sizeof(*v));
	v[nw - 1] = 0;
	memcpy(&v[TRING_HDR_WORDS + v6], name, namelen);
	atomic_store_explicit(&r->claim, p + 1 + nw, memory_order_relaxed);
	atomic_thread_fence(memory_order_release);
	for (i = 0; i < nw; i++)
		atomic_store_explicit(&r->w[(d + i) & (TRING_WORDS - 1)], v[i],
		    memory_order_relaxed);
	atomic_store_explicit(&r->w[p & (TRING_WORDS - 1)], 2 * n + 2,
	    memory_order_release);
	atomic_store_explicit(&r->at[n & (TRING_SLOTS - 1)], p,
	    memory_order_relaxed);
	atomic_store_explicit(&r->head, n + 1, memory_order_release);
	r->pos = d + nw;
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
	uint64_t p, d, v[TREC_WORDS + 1];
	size_t i, nw, namelen, v6;
	uint32_t a4;

	p = atomic_load_explicit(&r->at[n & (TRING_SLOTS - 1)],
	    memory_order_acquire);
	if (atomic_load_explicit(&r->w[p & (TRING_WORDS - 1)],
	    memory_order_acquire) != 2 * n + 2)
		return -1;
	d = p + 1;
	for (i = 0; i < TRING_HDR_WORDS; i++)
		v[i] = atomic_load_explicit(&r->w[(d + i) & (TRING_WORDS - 1)],
		    memory_order_relaxed);
	/* Rewritten under us, the length and family may be anything: a
	 * length is at most DNS_MAX_WIRE_NAME by its width, and the record
	 * is dropped below. */
	namelen = (size_t)(v[4] >> 56);
	v6 = (v[4] >> 16 & 7) == 6;
	nw = TRING_REC_WORDS(v6, namelen);
	for (; i < nw; i++)
		v[i] = atomic_load_explicit(&r->w[(d + i) & (TRING_WORDS - 1)],
		    memory_order_relaxed);
	atomic_thread_fence(memory_order_acquire);
	/* Some of it rewritten meanwhile? */
	if (atomic_load_explicit(&r->claim, memory_order_relaxed) >
	    p + TRING_WORDS)
		return -1;
	memset(out, 0, sizeof(*out));
	out->mono_us = v[0];
	out->route_id = (int64_t)v[1];
	out->backend_id = (int64_t)v[2];
	out->latency_us = (uint32_t)v[3];
	out->qtype = (uint16_t)(v[3] >> 32);
	out->ancount = (uint16_t)(v[3] >> 48);
	out->port = (uint16_t)v[4];
	out->family = (uint8_t)(v[4] >> 16 & 7);
	out->tcp = (uint8_t)(v[4] >> 19 & 1);
	out->outcome = (uint8_t)(v[4] >> 24);
	out->rcode = (int8_t)(uint8_t)(v[4] >> 32);
	out->tries = (uint8_t)(v[4] >> 40);
	out->detail = (uint8_t)(v[4] >> 48);
	if (out->family == 4) {
		a4 = (uint32_t)v[5];
		memcpy(out->addr, &a4, 4);
	} else if (out->family == 6) {
		memcpy(out->addr, &v[5], 8);
		memcpy(out->addr + 8, &v[6], 8);
	}
	out->namelen = (uint8_t)namelen;
	memcpy(out->name, &v[TRING_HDR_WORDS + v6], namelen);
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

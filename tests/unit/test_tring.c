/*
 * test_tring: the per-worker query ring.  What a worker puts is what the
 * reader gets, field by field and name byte by byte, for the shortest and
 * the longest names; the last TRING_SLOTS records can be read, older ones
 * are missed (-1), never returned wrong; and with a writer thread putting
 * records of every length while the reader reads behind it, every record
 * the reader accepts is whole (its fields all derive from its number).
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "tring.h"
#include "unit.h"

/* tring.c's trace_why_str() names TSIG errors; not wanted here. */
const char *
tsig_answer_str(int e)
{
	(void)e;
	return "tsig";
}

/* Record n: a name of n % 256 octets (0: no question), every field and
 * name byte derived from n; from IPv6 when n % 3 is 2, else IPv4.  The
 * bytes after the name in its buffer are not the name's. */
static void
put_n(struct tring *r, uint64_t n)
{
	struct sockaddr_in sin;
	struct sockaddr_in6 sin6;
	struct dns_query q;
	struct trec t;
	size_t i, len = n % 256;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)n);
	sin.sin_addr.s_addr = htonl((uint32_t)(n * 7));
	memset(&sin6, 0, sizeof(sin6));
	sin6.sin6_family = AF_INET6;
	sin6.sin6_port = htons((uint16_t)n);
	for (i = 0; i < 16; i++)
		sin6.sin6_addr.s6_addr[i] = (uint8_t)(n * 7 + i);
	memset(&q, 0xee, sizeof(q));
	q.question_end = 0;
	if (len > 0) {
		q.question_end = 1;
		q.qtype = (uint16_t)(n * 3);
		q.qname_wire_len = (uint16_t)len;
		for (i = 0; i < len; i++)
			q.qname_wire[i] = (uint8_t)(n + i);
	}
	memset(&t, 0x5a, sizeof(t));
	t.mono_us = n;
	t.route_id = (int64_t)n * 5;
	t.backend_id = (int64_t)n * 11;
	t.latency_us = (uint32_t)n;
	t.ancount = (uint16_t)(n * 13);
	t.tcp = (uint8_t)(n & 1);
	t.outcome = (uint8_t)(n % TRACE__COUNT);
	t.rcode = (int8_t)(n % 6);
	t.tries = (uint8_t)(n % 4);
	t.detail = (uint8_t)(n % 9);
	tring_put(r, &t, n % 3 == 2 ? (struct sockaddr *)&sin6 :
	    (struct sockaddr *)&sin, &q);
}

/* Is t record n, whole? */
static int
is_n(const struct trec *t, uint64_t n)
{
	size_t i, len = n % 256;
	uint32_t a = htonl((uint32_t)(n * 7));
	uint8_t a6[16], zero[12] = { 0 };

	for (i = 0; i < 16; i++)
		a6[i] = (uint8_t)(n * 7 + i);
	if (t->mono_us != n || t->route_id != (int64_t)n * 5 ||
	    t->backend_id != (int64_t)n * 11 || t->latency_us != (uint32_t)n ||
	    t->ancount != (uint16_t)(n * 13) || t->tcp != (n & 1) ||
	    t->outcome != n % TRACE__COUNT || t->rcode != (int8_t)(n % 6) ||
	    t->tries != n % 4 || t->detail != n % 9 ||
	    t->port != (uint16_t)n)
		return 0;
	if (n % 3 == 2 ? t->family != 6 || memcmp(t->addr, a6, 16) != 0 :
	    t->family != 4 || memcmp(t->addr, &a, 4) != 0 ||
	    memcmp(t->addr + 4, zero, 12) != 0)
		return 0;
	if (len > 255 || t->namelen != len)
		return 0;
	if (t->qtype != (len > 0 ? (uint16_t)(n * 3) : 0))
		return 0;
	for (i = 0; i < len; i++)
		if (t->name[i] != (uint8_t)(n + i))
			return 0;
	/* Nothing of the buffer after the name. */
	for (; i < sizeof(t->name); i++)
		if (t->name[i] != 0)
			return 0;
	return 1;
}

static void
test_roundtrip(void)
{
	struct tring *r = tring_new();
	struct trec t;
	uint64_t n;
	int bad = 0;

	CHECK(tring_head(r) == 0);
	for (n = 0; n < 600; n++)
		put_n(r, n);
	CHECK(tring_head(r) == 600);
	for (n = 0; n < 600; n++)
		if (tring_get(r, n, &t) != 0 || !is_n(&t, n))
			bad++;
	CHECKF(bad == 0, "%d of 600 records wrong", bad);
	tring_free(r);
}

/* Many more records than slots, of every length, the longest among them:
 * the last TRING_SLOTS all there, the older ones missed. */
static void
test_wrap(void)
{
	struct tring *r = tring_new();
	struct trec t;
	uint64_t n, total = 10 * TRING_SLOTS + 77;
	int bad = 0, missed = 0;

	for (n = 0; n < total; n++)
		put_n(r, n);
	for (n = total - TRING_SLOTS; n < total; n++)
		if (tring_get(r, n, &t) != 0 || !is_n(&t, n))
			bad++;
	CHECKF(bad == 0, "%d of the last %d records wrong", bad, TRING_SLOTS);
	for (n = 0; n < total - TRING_SLOTS; n++)
		if (tring_get(r, n, &t) == 0 && !is_n(&t, n))
			bad++;
		else
			missed++;
	CHECKF(bad == 0, "%d overwritten records returned", bad);
	CHECK(missed == (int)(total - TRING_SLOTS));
	tring_free(r);
}

#define RACE_RECORDS	2000000

static atomic_int writer_done;

static void *
writer(void *arg)
{
	struct tring *r = arg;
	uint64_t n;

	for (n = 0; n < RACE_RECORDS; n++)
		put_n(r, n);
	atomic_store(&writer_done, 1);
	return NULL;
}

/* A reader behind a writer: what it accepts is whole. */
static void
test_race(void)
{
	struct tring *r = tring_new();
	struct trec t;
	pthread_t thr;
	uint64_t h, n, got = 0, torn = 0;

	CHECK(pthread_create(&thr, NULL, writer, r) == 0);
	while (!atomic_load(&writer_done)) {
		h = tring_head(r);
		for (n = h > TRING_SLOTS ? h - TRING_SLOTS : 0; n < h; n += 7)
			if (tring_get(r, n, &t) == 0) {
				got++;
				if (!is_n(&t, n))
					torn++;
			}
	}
	pthread_join(thr, NULL);
	CHECKF(torn == 0, "%llu of %llu records read torn",
	    (unsigned long long)torn, (unsigned long long)got);
	CHECK(tring_head(r) == RACE_RECORDS);
	tring_free(r);
}

int
main(void)
{
	test_roundtrip();
	test_wrap();
	test_race();
	UNIT_DONE("tring");
}

/*
 * fuzz_proxyv2: libFuzzer target for the PROXY v2 header (proxyv2.h).
 * Any input is parsed; what parses as a PROXY header is written again
 * from the addresses read, and that must parse to the same addresses and
 * transport, take 28 (IPv4) or 52 (IPv6) octets and never more than
 * PROXYV2_MAX; a LOCAL header written parses as LOCAL.  The parser never
 * claims more octets than it was given.
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proxyv2.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
fail(const char *what)
{
	fprintf(stderr, "proxyv2: %s\n", what);
	abort();
}

static int
same(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
	size_t n = a->ss_family == AF_INET ? sizeof(struct sockaddr_in) :
	    sizeof(struct sockaddr_in6);

	return a->ss_family == b->ss_family && memcmp(a, b, n) == 0;
}

static int
mapped(const struct sockaddr_storage *ss)
{
	return ss->ss_family == AF_INET6 && IN6_IS_ADDR_V4MAPPED(
	    &((const struct sockaddr_in6 *)(const void *)ss)->sin6_addr);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct proxyv2 pv, back;
	uint8_t out[PROXYV2_MAX];
	size_t n;
	long r;

	r = proxyv2_parse(data, len, &pv);
	if (r > (long)len)
		fail("claims more than the input");
	if (r <= 0 || pv.local)
		return 0;
	n = proxyv2_write(out, pv.tcp, (struct sockaddr *)&pv.src,
	    (struct sockaddr *)&pv.dst);
	if (proxyv2_parse(out, n, &back) != (long)n || back.local ||
	    back.tcp != pv.tcp)
		fail("written header does not parse");
	/* An IPv4-mapped IPv6 address is written as IPv4 (and a destination
	 * of the other family as the unspecified address): the rest must
	 * come back as it was. */
	if (mapped(&pv.src)) {
		if (n != 28)
			fail("mapped source not written as IPv4");
		return 0;
	}
	if (n != (pv.src.ss_family == AF_INET ? 28u : 52u))
		fail("written length");
	if (!same(&back.src, &pv.src))
		fail("source changed");
	if (!mapped(&pv.dst) && !same(&back.dst, &pv.dst))
		fail("destination changed");
	n = proxyv2_local(out);
	if (proxyv2_parse(out, n, &back) != (long)n || !back.local)
		fail("LOCAL");
	return 0;
}

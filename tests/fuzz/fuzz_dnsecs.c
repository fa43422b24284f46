// FUZZ-BUILD: common/dnsecs.c common/dnsmsg.c common/dnsnames.c common/util.c common/log.c
/*
 * fuzz_dnsecs: libFuzzer target for the EDNS Client Subnet option the
 * router writes into a query and takes out of an answer (dnsecs.h).  The
 * input, when it parses as a query, gets an option for an IPv4 and an
 * IPv6 client, kept and replaced, and what comes out must parse as a
 * query again with the same question, ID and record counts, no longer
 * than DNS_ECS_ROOM more.  The input, as an answer, loses its options in
 * place: never longer, and a second strip changes nothing.
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dnsecs.h"
#include "dnsmsg.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
fail(const char *what)
{
	fprintf(stderr, "dnsecs: %s\n", what);
	abort();
}

static void
add(const uint8_t *msg, size_t len, const struct dns_query *q,
    const struct sockaddr *sa, int replace)
{
	struct dns_query q2;
	size_t olen = len + DNS_ECS_ROOM;
	uint8_t *out = malloc(olen);
	enum dns_ecs_result r;

	r = dns_ecs_add(msg, len, q, sa, 24, 56, replace, out, &olen);
	if (r == DNS_ECS_ADDED || r == DNS_ECS_REPLACED) {
		if (olen > len + DNS_ECS_ROOM)
			fail("grew too much");
		if (dns_parse_query(out, olen, &q2) != DNS_OK)
			fail("does not parse");
		if (q2.id != q->id || q2.qtype != q->qtype ||
		    q2.arcount != q->arcount || !q2.has_opt ||
		    q2.qname_wire_len != q->qname_wire_len ||
		    memcmp(q2.qname_wire, q->qname_wire, q->qname_wire_len))
			fail("another query");
	}
	free(out);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sockaddr_in sin;
	struct sockaddr_in6 sin6;
	struct dns_query q;
	uint8_t *m = malloc(size > 0 ? size : 1);
	size_t n, n2;

	memcpy(m, data, size);
	if (dns_parse_query(m, size, &q) == DNS_OK) {
		memset(&sin, 0, sizeof(sin));
		sin.sin_family = AF_INET;
		sin.sin_addr.s_addr = htonl(0xc0a80101);
		memset(&sin6, 0, sizeof(sin6));
		sin6.sin6_family = AF_INET6;
		sin6.sin6_addr.s6_addr[0] = 0x20;
		sin6.sin6_addr.s6_addr[15] = 1;
		add(m, size, &q, (struct sockaddr *)&sin, 0);
		add(m, size, &q, (struct sockaddr *)&sin6, 1);
	}
	n = dns_ecs_strip(m, size);
	if (n > size)
		fail("strip grew");
	n2 = dns_ecs_strip(m, n);
	if (n2 != n)
		fail("strip twice");
	free(m);
	return 0;
}

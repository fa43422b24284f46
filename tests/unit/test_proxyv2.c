/*
 * test_proxyv2: the PROXY v2 header octet by octet against the layout of
 * haproxy's proxy-protocol.txt (what dnsdist and PowerDNS read): IPv4 over
 * UDP and TCP, IPv6, an IPv4-mapped client written as IPv4, a destination
 * of another family left unspecified, LOCAL; and the parser on those and
 * on what it must refuse or wait for.
 */
#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "proxyv2.h"
#include "unit.h"
#include "util.h"

static const uint8_t sig[12] = {
	0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a
};

static struct sockaddr_storage
addr(const char *s, int port)
{
	struct sockaddr_storage ss;
	socklen_t len;
	char err[128];

	if (addr_parse(s, port, &ss, &len, err, sizeof(err)) == -1) {
		fprintf(stderr, "bad test address %s: %s\n", s, err);
		abort();
	}
	return ss;
}

static int
header_is(const uint8_t *got, size_t n, const uint8_t *want, size_t wn)
{
	return n == wn + 12 && memcmp(got, sig, 12) == 0 &&
	    memcmp(got + 12, want, wn) == 0;
}

int
main(void)
{
	struct sockaddr_storage c4 = addr("192.0.2.7", 40000),
	    r4 = addr("127.0.0.5", 53), c6 = addr("2001:db8::7", 40001),
	    r6 = addr("::1", 5353), m4 = addr("::ffff:192.0.2.8", 40002);
	static const uint8_t udp4[] = { 0x21, 0x12, 0x00, 0x0c,
	    192, 0, 2, 7, 127, 0, 0, 5, 0x9c, 0x40, 0x00, 0x35 };
	static const uint8_t tcp6[] = { 0x21, 0x21, 0x00, 0x24,
	    0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 7,
	    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1,
	    0x9c, 0x41, 0x14, 0xe9 };
	static const uint8_t mapped[] = { 0x21, 0x11, 0x00, 0x0c,
	    192, 0, 2, 8, 127, 0, 0, 5, 0x9c, 0x42, 0x00, 0x35 };
	static const uint8_t nodst[] = { 0x21, 0x12, 0x00, 0x0c,
	    192, 0, 2, 7, 0, 0, 0, 0, 0x9c, 0x40, 0x00, 0x00 };
	static const uint8_t local[] = { 0x20, 0x00, 0x00, 0x00 };
	uint8_t out[PROXYV2_MAX + 8];
	struct proxyv2 pv;
	size_t n;

	n = proxyv2_write(out, 0, (struct sockaddr *)&c4,
	    (struct sockaddr *)&r4);
	CHECK(header_is(out, n, udp4, sizeof(udp4)));
	CHECK(proxyv2_parse(out, n, &pv) == 28);
	CHECK(!pv.local && !pv.tcp && addr_equal((struct sockaddr *)&pv.src,
	    (struct sockaddr *)&c4) && addr_equal((struct sockaddr *)&pv.dst,
	    (struct sockaddr *)&r4));
	/* Cut anywhere: more is needed, never a wrong answer. */
	for (size_t k = 0; k < n; k++)
		CHECKF(proxyv2_parse(out, k, &pv) == 0, "cut at %zu", k);

	n = proxyv2_write(out, 1, (struct sockaddr *)&c6,
	    (struct sockaddr *)&r6);
	CHECK(n == PROXYV2_MAX && header_is(out, n, tcp6, sizeof(tcp6)));
	CHECK(proxyv2_parse(out, n, &pv) == 52 && pv.tcp);

	n = proxyv2_write(out, 1, (struct sockaddr *)&m4,
	    (struct sockaddr *)&r4);
	CHECK(header_is(out, n, mapped, sizeof(mapped)));
	n = proxyv2_write(out, 0, (struct sockaddr *)&c4,
	    (struct sockaddr *)&r6);
	CHECK(header_is(out, n, nodst, sizeof(nodst)));
	n = proxyv2_write(out, 0, (struct sockaddr *)&c4, NULL);
	CHECK(header_is(out, n, nodst, sizeof(nodst)));

	n = proxyv2_local(out);
	CHECK(n == PROXYV2_LOCAL_LEN && header_is(out, n, local, sizeof(local)));
	CHECK(proxyv2_parse(out, n, &pv) == 16 && pv.local);

	/* TLVs after the addresses are skipped; a DNS message is no header;
	 * another version, family or a length too short for the addresses
	 * is refused. */
	n = proxyv2_write(out, 0, (struct sockaddr *)&c4,
	    (struct sockaddr *)&r4);
	out[15] = 12 + 5;
	memcpy(out + n, "\x04\x00\x02hi", 5);
	CHECK(proxyv2_parse(out, n + 5, &pv) == 33);
	CHECK(proxyv2_parse((const uint8_t *)"\x12\x34\x01\x00", 4, &pv) == -1);
	out[12] = 0x11;
	CHECK(proxyv2_parse(out, n, &pv) == -1);
	out[12] = 0x21;
	out[13] = 0x31;
	CHECK(proxyv2_parse(out, n, &pv) == -1);
	out[13] = 0x11;
	out[15] = 11;
	CHECK(proxyv2_parse(out, n, &pv) == -1);
	UNIT_DONE("proxyv2");
}

/*
 * test_util: the address helpers of common/util.c, chiefly addr_bucket(),
 * which groups clients for per-client limits: an IPv4 address is one
 * client, an IPv6 /64 is one client, the port never matters, and the salt
 * decides where a client lands.
 */
#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "unit.h"
#include "util.h"

#define BITS	14

static struct sockaddr_storage
addr(const char *s)
{
	struct sockaddr_storage ss;
	socklen_t len;
	char err[128];

	if (addr_parse(s, 53, &ss, &len, err, sizeof(err)) == -1) {
		fprintf(stderr, "bad test address %s: %s\n", s, err);
		abort();
	}
	return ss;
}

static uint32_t
bucket(const char *s, uint64_t salt)
{
	struct sockaddr_storage ss = addr(s);

	return addr_bucket((struct sockaddr *)&ss, salt, BITS);
}

/* How many of 256 salts put a and b in the same bucket. */
static int
same_for(const char *a, const char *b)
{
	uint64_t salt = 0x0123456789abcdefULL;
	int i, n = 0;

	for (i = 0; i < 256; i++) {
		salt = salt * 6364136223846793005ULL + 1442695040888963407ULL;
		n += bucket(a, salt) == bucket(b, salt);
	}
	return n;
}

static void
test_bucket(void)
{
	static uint16_t load[1u << BITS];
	struct sockaddr_in sin;
	uint32_t b, max = 0;
	int i;

	/* One client: the same address on other ports, the same /64. */
	CHECK(same_for("192.0.2.1:53", "192.0.2.1:40000") == 256);
	CHECK(same_for("[2001:db8:1:2::1]:53", "[2001:db8:1:2::1]:1") == 256);
	CHECK(same_for("[2001:db8:1:2::1]:53",
	    "[2001:db8:1:2:ffff:ffff:ffff:ffff]:53") == 256);
	CHECK(same_for("[2001:db8:1:2::1]", "[2001:db8:1:2:8000::]") == 256);
	/* Other clients: another IPv4 address, another /64, rarely share. */
	CHECK(same_for("192.0.2.1", "192.0.2.2") < 4);
	CHECK(same_for("192.0.2.1", "198.51.100.1") < 4);
	CHECK(same_for("[2001:db8:1:2::1]", "[2001:db8:1:3::1]") < 4);
	CHECK(same_for("[2001:db8:1:2::1]", "[2001:db8:2:2::1]") < 4);
	CHECK(same_for("[::1]", "127.0.0.1") < 4);
	/* The salt moves a client. */
	CHECK(bucket("192.0.2.1", 1) != bucket("192.0.2.1", 2) ||
	    bucket("192.0.2.1", 3) != bucket("192.0.2.1", 4));
	/* In range, and a /16 of clients spreads out. */
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	for (i = 0; i < 65536; i++) {
		sin.sin_addr.s_addr = htonl(0x0a000000u | (uint32_t)i);
		b = addr_bucket((struct sockaddr *)&sin, 0x5eed, BITS);
		if (b >= (1u << BITS)) {
			CHECKF(0, "bucket %u out of range", b);
			break;
		}
		if (++load[b] > max)
			max = load[b];
	}
	CHECKF(max <= 16, "fullest bucket %u (4 on average)", max);
}

static void
test_parse(void)
{
	long v;

	CHECK(parse_int("5", 1, 10, &v) == 0 && v == 5);
	CHECK(parse_int("0", 1, 10, &v) == -1);
	CHECK(parse_int("11", 1, 10, &v) == -1);
	CHECK(parse_int("5%", 1, 10, &v) == -1);
	CHECK(parse_int("5 ", 1, 10, &v) == -1);
	CHECK(parse_int("", 1, 10, &v) == -1);
}

int
main(void)
{
	test_bucket();
	test_parse();
	UNIT_DONE("util");
}

/*
 * proxyv2: the PROXY protocol version 2 header (see proxyv2.h).
 *
 * Layout: the 12-octet signature, a version/command octet (0x2 << 4 |
 * 0 LOCAL, 1 PROXY), a family/transport octet (family 1 IPv4, 2 IPv6 in
 * the high nibble; 1 STREAM, 2 DGRAM in the low one; 0 with LOCAL), the
 * length of what follows (network order), then for IPv4 source and
 * destination address (4 + 4) and ports (2 + 2), for IPv6 the same with
 * 16-octet addresses.  The length may cover TLVs after the addresses;
 * the router sends none, the parser skips them.
 */
#include <netinet/in.h>
#include <string.h>

#include "proxyv2.h"

#define SIG_LEN		12
#define VER_LOCAL	0x20
#define VER_PROXY	0x21
#define FAM_INET	0x10
#define FAM_INET6	0x20
#define PROTO_STREAM	0x01
#define PROTO_DGRAM	0x02
#define ADDR4_LEN	12
#define ADDR6_LEN	36

static const uint8_t sig[SIG_LEN] = {
	0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a
};

static size_t
head(uint8_t *out, uint8_t ver, uint8_t fam, size_t len)
{
	memcpy(out, sig, SIG_LEN);
	out[12] = ver;
	out[13] = fam;
	out[14] = (uint8_t)(len >> 8);
	out[15] = (uint8_t)len;
	return 16;
}

size_t
proxyv2_local(uint8_t *out)
{
	return head(out, VER_LOCAL, 0, 0);
}

/* sa's address and port as IPv4 (4 octets into a4), IPv6 (16 into a6), or
 * neither: AF_INET, AF_INET6 or 0.  An IPv4-mapped IPv6 address is IPv4. */
static int
addr_of(const struct sockaddr *sa, uint8_t *a4, uint8_t *a6, uint8_t *port)
{
	const struct sockaddr_in *s4;
	const struct sockaddr_in6 *s6;

	if (sa == NULL)
		return 0;
	if (sa->sa_family == AF_INET) {
		s4 = (const struct sockaddr_in *)(const void *)sa;
		memcpy(a4, &s4->sin_addr, 4);
		memcpy(port, &s4->sin_port, 2);
		return AF_INET;
	}
	if (sa->sa_family != AF_INET6)
		return 0;
	s6 = (const struct sockaddr_in6 *)(const void *)sa;
	memcpy(port, &s6->sin6_port, 2);
	if (IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr)) {
		memcpy(a4, s6->sin6_addr.s6_addr + 12, 4);
		return AF_INET;
	}
	memcpy(a6, &s6->sin6_addr, 16);
	return AF_INET6;
}

size_t
proxyv2_write(uint8_t *out, int tcp, const struct sockaddr *src,
    const struct sockaddr *dst)
{
	uint8_t s4[4] = { 0 }, s6[16] = { 0 }, sp[2] = { 0 }, d4[4] = { 0 },
	    d6[16] = { 0 }, dp[2] = { 0 };
	uint8_t proto = tcp ? PROTO_STREAM : PROTO_DGRAM, *p;
	int fam;

	if ((fam = addr_of(src, s4, s6, sp)) == 0)
		return 0;
	if (addr_of(dst, d4, d6, dp) != fam) {
		memset(d4, 0, sizeof(d4));
		memset(d6, 0, sizeof(d6));
		memset(dp, 0, sizeof(dp));
	}
	if (fam == AF_INET) {
		p = out + head(out, VER_PROXY, FAM_INET | proto, ADDR4_LEN);
		memcpy(p, s4, 4);
		memcpy(p + 4, d4, 4);
		p += 8;
	} else {
		p = out + head(out, VER_PROXY, FAM_INET6 | proto, ADDR6_LEN);
		memcpy(p, s6, 16);
		memcpy(p + 16, d6, 16);
		p += 32;
	}
	memcpy(p, sp, 2);
	memcpy(p + 2, dp, 2);
	return (size_t)(p + 4 - out);
}

/* An address and port from the header into ss. */
static void
put_addr(struct sockaddr_storage *ss, int fam, const uint8_t *a,
    const uint8_t *port)
{
	struct sockaddr_in *s4 = (struct sockaddr_in *)(void *)ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)(void *)ss;

	memset(ss, 0, sizeof(*ss));
	if (fam == AF_INET) {
		s4->sin_family = AF_INET;
		memcpy(&s4->sin_addr, a, 4);
		memcpy(&s4->sin_port, port, 2);
	} else {
		s6->sin6_family = AF_INET6;
		memcpy(&s6->sin6_addr, a, 16);
		memcpy(&s6->sin6_port, port, 2);
	}
}

long
proxyv2_parse(const uint8_t *buf, size_t len, struct proxyv2 *pv)
{
	size_t n, alen;
	int fam;

	memset(pv, 0, sizeof(*pv));
	if (memcmp(buf, sig, len < SIG_LEN ? len : SIG_LEN) != 0)
		return -1;
	if (len < 16)
		return 0;
	n = (size_t)buf[14] << 8 | buf[15];
	if (buf[12] == VER_LOCAL) {
		pv->local = 1;
		return len < 16 + n ? 0 : (long)(16 + n);
	}
	if (buf[12] != VER_PROXY)
		return -1;
	switch (buf[13] & 0xf0) {
	case FAM_INET:
		fam = AF_INET;
		alen = 4;
		break;
	case FAM_INET6:
		fam = AF_INET6;
		alen = 16;
		break;
	default:
		return -1;
	}
	if ((buf[13] & 0x0f) != PROTO_STREAM && (buf[13] & 0x0f) != PROTO_DGRAM)
		return -1;
	if (n < 2 * alen + 4)
		return -1;
	if (len < 16 + n)
		return 0;
	pv->tcp = (buf[13] & 0x0f) == PROTO_STREAM;
	put_addr(&pv->src, fam, buf + 16, buf + 16 + 2 * alen);
	put_addr(&pv->dst, fam, buf + 16 + alen, buf + 16 + 2 * alen + 2);
	return (long)(16 + n);
}

/*
 * dnsecs: the EDNS Client Subnet option (see dnsecs.h).
 *
 * The option (RFC 7871 6) is code 8: FAMILY (1 IPv4, 2 IPv6), SOURCE
 * PREFIX-LENGTH, SCOPE PREFIX-LENGTH (0 in a query), then the address cut
 * to the octets the prefix covers, the bits past it zero.  The router adds
 * it only to a query that has an OPT record already: one added to a query
 * without EDNS would make the backend answer with EDNS to a client that
 * did not ask for it.  The query has been parsed (dns_parse_query), so
 * the OPT record and its options are known to be well formed.
 */
#include <netinet/in.h>
#include <string.h>

#include "dnsecs.h"
#include "dnsmsg.h"

#define OPT_ECS		8

static inline uint16_t
get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline void
put16(uint8_t *p, size_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* The option for sa into o (room for DNS_ECS_ROOM); its length. */
static size_t
ecs_option(const struct sockaddr *sa, int bits4, int bits6, uint8_t *o)
{
	static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	    0xff, 0xff };
	const uint8_t *a;
	int family, bits, n;

	if (sa->sa_family == AF_INET6) {
		a = ((const struct sockaddr_in6 *)(const void *)sa)->
		    sin6_addr.s6_addr;
		if (memcmp(a, mapped, sizeof(mapped)) == 0) {
			a += 12;
			family = 1;
			bits = bits4;
		} else {
			family = 2;
			bits = bits6;
		}
	} else {
		a = (const uint8_t *)&((const struct sockaddr_in *)
		    (const void *)sa)->sin_addr;
		family = 1;
		bits = bits4;
	}
	n = (bits + 7) / 8;
	put16(o, OPT_ECS);
	put16(o + 2, (size_t)(4 + n));
	put16(o + 4, (size_t)family);
	o[6] = (uint8_t)bits;
	o[7] = 0;
	memcpy(o + 8, a, (size_t)n);
	if (bits % 8 != 0)
		o[8 + n - 1] &= (uint8_t)(0xff << (8 - bits % 8));
	return (size_t)(8 + n);
}

enum dns_ecs_result
dns_ecs_add(const uint8_t *msg, size_t len, const struct dns_query *q,
    const struct sockaddr *sa, int bits4, int bits6, int replace,
    uint8_t *out, size_t *outlen_p)
{
	uint8_t opt[DNS_ECS_ROOM];
	size_t rd, rdlen, off, olen, drop = 0, dlen = 0, n, k;

	if (!q->has_opt)
		return DNS_ECS_NO_EDNS;
	if (q->signed_)
		return DNS_ECS_SIGNED;
	rd = (size_t)q->opt_off + 2;
	rdlen = get16(msg + q->opt_off);
	for (off = rd; off < rd + rdlen; off += 4 + olen) {
		olen = get16(msg + off + 2);
		if (get16(msg + off) != OPT_ECS)
			continue;
		/* A source prefix of 0: the client's own wish not to have
		 * its address used. */
		if (!replace || (olen >= 3 && msg[off + 6] == 0))
			return DNS_ECS_KEPT;
		drop = off;
		dlen = 4 + olen;
		break;
	}
	n = ecs_option(sa, bits4, bits6, opt);
	if (len - dlen + n > *outlen_p || rdlen - dlen + n > 0xffff)
		return DNS_ECS_NO_ROOM;
	/* Up to the options; the options but the dropped one; ours; the
	 * records after the OPT. */
	memcpy(out, msg, rd);
	k = rd;
	if (dlen > 0) {
		memcpy(out + k, msg + rd, drop - rd);
		k += drop - rd;
		memcpy(out + k, msg + drop + dlen, rd + rdlen - drop - dlen);
		k += rd + rdlen - drop - dlen;
	} else {
		memcpy(out + k, msg + rd, rdlen);
		k += rdlen;
	}
	memcpy(out + k, opt, n);
	k += n;
	put16(out + q->opt_off, rdlen - dlen + n);
	memcpy(out + k, msg + rd + rdlen, len - rd - rdlen);
	k += len - rd - rdlen;
	*outlen_p = k;
	return dlen > 0 ? DNS_ECS_REPLACED : DNS_ECS_ADDED;
}

size_t
dns_ecs_strip(uint8_t *msg, size_t len)
{
	size_t off = DNS_HDR_LEN, rd, rdlen, o, olen;
	unsigned i, nrr;

	if (len < DNS_HDR_LEN)
		return len;
	for (i = get16(msg + 4); i > 0; i--) {
		if (dns_name_skip(msg, len, &off) == -1 || len - off < 4)
			return len;
		off += 4;
	}
	nrr = (unsigned)get16(msg + 6) + get16(msg + 8) + get16(msg + 10);
	for (i = 0; i < nrr; i++) {
		if (dns_name_skip(msg, len, &off) == -1 || len - off < 10)
			return len;
		rdlen = get16(msg + off + 8);
		rd = off + 10;
		if (len - rd < rdlen)
			return len;
		if (get16(msg + off) != DNS_TYPE_OPT) {
			off = rd + rdlen;
			continue;
		}
		for (o = rd; o + 4 <= rd + rdlen; ) {
			olen = get16(msg + o + 2);
			if (o + 4 + olen > rd + rdlen)
				return len;
			if (get16(msg + o) != OPT_ECS) {
				o += 4 + olen;
				continue;
			}
			memmove(msg + o, msg + o + 4 + olen,
			    len - (o + 4 + olen));
			len -= 4 + olen;
			rdlen -= 4 + olen;
			put16(msg + off + 8, rdlen);
		}
		return len;
	}
	return len;
}

/*
 * dnsmsg: the hot-path DNS wire parser.  It owns every read of a client's
 * query and of a backend's question: header, question, the walk over all
 * RRs, and the names inside them.  It runs once per query, so it makes one
 * pass over the message, allocates nothing and lowercases and escapes
 * through tables.
 *
 * Invariants:
 * - No read at or past len: every length is checked against what is left
 *   before the bytes it covers are touched.
 * - Work is O(len) and there is no recursion.  A compression pointer must
 *   point at or after the header and strictly before the start of the
 *   segment being read (the name's first byte, or the previous pointer's
 *   target).  Targets therefore strictly decrease, so a loop is impossible
 *   whatever the bytes; the hop limit bounds the work of one name anyway.
 *   This is stricter than "before the pointer itself" (which lets "a" +
 *   pointer-to-"a" loop) and rejects nothing a real encoder writes, since an
 *   encoder can only point at a name it wrote earlier.  One consequence: a
 *   question name (the first name in a message) can never be compressed.
 * - dns_parse_query() sets question_end only once the question parsed, so
 *   a non-zero question_end means qname_wire, qtype and qclass are
 *   valid, even when the RR walk after it failed.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "dnsmsg.h"

#define DNS_PTR_MASK	0xc0
#define DNS_MAX_LABEL	63
/*
 * A legitimate name has at most 127 labels plus the root, so at most 128
 * segments reached through a pointer; more can only be an attack.
 */
#define DNS_MAX_HOPS	128

/* ASCII lowercase, every other byte as it is. */
static const uint8_t lc[256] = {
	0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07,
	0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f,
	0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17,
	0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f,
	0x20, 0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x27,
	0x28, 0x29, 0x2a, 0x2b, 0x2c, 0x2d, 0x2e, 0x2f,
	0x30, 0x31, 0x32, 0x33, 0x34, 0x35, 0x36, 0x37,
	0x38, 0x39, 0x3a, 0x3b, 0x3c, 0x3d, 0x3e, 0x3f,
	0x40, 0x61, 0x62, 0x63, 0x64, 0x65, 0x66, 0x67,
	0x68, 0x69, 0x6a, 0x6b, 0x6c, 0x6d, 0x6e, 0x6f,
	0x70, 0x71, 0x72, 0x73, 0x74, 0x75, 0x76, 0x77,
	0x78, 0x79, 0x7a, 0x5b, 0x5c, 0x5d, 0x5e, 0x5f,
	0x60, 0x61, 0x62, 0x63, 0x64, 0x65, 0x66, 0x67,
	0x68, 0x69, 0x6a, 0x6b, 0x6c, 0x6d, 0x6e, 0x6f,
	0x70, 0x71, 0x72, 0x73, 0x74, 0x75, 0x76, 0x77,
	0x78, 0x79, 0x7a, 0x7b, 0x7c, 0x7d, 0x7e, 0x7f,
	0x80, 0x81, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87,
	0x88, 0x89, 0x8a, 0x8b, 0x8c, 0x8d, 0x8e, 0x8f,
	0x90, 0x91, 0x92, 0x93, 0x94, 0x95, 0x96, 0x97,
	0x98, 0x99, 0x9a, 0x9b, 0x9c, 0x9d, 0x9e, 0x9f,
	0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7,
	0xa8, 0xa9, 0xaa, 0xab, 0xac, 0xad, 0xae, 0xaf,
	0xb0, 0xb1, 0xb2, 0xb3, 0xb4, 0xb5, 0xb6, 0xb7,
	0xb8, 0xb9, 0xba, 0xbb, 0xbc, 0xbd, 0xbe, 0xbf,
	0xc0, 0xc1, 0xc2, 0xc3, 0xc4, 0xc5, 0xc6, 0xc7,
	0xc8, 0xc9, 0xca, 0xcb, 0xcc, 0xcd, 0xce, 0xcf,
	0xd0, 0xd1, 0xd2, 0xd3, 0xd4, 0xd5, 0xd6, 0xd7,
	0xd8, 0xd9, 0xda, 0xdb, 0xdc, 0xdd, 0xde, 0xdf,
	0xe0, 0xe1, 0xe2, 0xe3, 0xe4, 0xe5, 0xe6, 0xe7,
	0xe8, 0xe9, 0xea, 0xeb, 0xec, 0xed, 0xee, 0xef,
	0xf0, 0xf1, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7,
	0xf8, 0xf9, 0xfa, 0xfb, 0xfc, 0xfd, 0xfe, 0xff,
};

/*
 * Presentation form of a label byte: the (lowercase) character to print, or
 * 0 for "escape as \DDD".  Only [a-z0-9-_*] print as themselves, so '.',
 * '\', spaces, controls, quotes and bytes above 0x7e never reach a log line
 * or a regex as they are.
 */
static const char txt[256] = {
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,		/* 0x00 */
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,		/* 0x10 */
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, '*', 0, 0, '-', 0, 0,	/* 0x20 */
	'0', '1', '2', '3', '4', '5', '6', '7',			/* 0x30 */
	'8', '9', 0, 0, 0, 0, 0, 0,
	0, 'a', 'b', 'c', 'd', 'e', 'f', 'g',			/* 0x40 */
	'h', 'i', 'j', 'k', 'l', 'm', 'n', 'o',
	'p', 'q', 'r', 's', 't', 'u', 'v', 'w',			/* 0x50 */
	'x', 'y', 'z', 0, 0, 0, 0, '_',
	0, 'a', 'b', 'c', 'd', 'e', 'f', 'g',			/* 0x60 */
	'h', 'i', 'j', 'k', 'l', 'm', 'n', 'o',
	'p', 'q', 'r', 's', 't', 'u', 'v', 'w',			/* 0x70 */
	'x', 'y', 'z', 0, 0, 0, 0, 0,
	/* 0x80-0xff: all escaped (zero-initialised). */
};

static const char *const dns_errs[DNS_E_MAX] = {
	[DNS_OK] = "ok",
	[DNS_E_SHORT] = "short",
	[DNS_E_QR] = "qr-set",
	[DNS_E_TC] = "tc-set",
	[DNS_E_QDCOUNT] = "qdcount",
	[DNS_E_LABEL] = "bad-label",
	[DNS_E_NAMELEN] = "name-too-long",
	[DNS_E_POINTER] = "bad-pointer",
	[DNS_E_OPT] = "bad-opt",
	[DNS_E_TRAILING] = "trailing-bytes",
	[DNS_E_EDNS_OPTION] = "bad-edns-option",
};

/*
 * Lowercase eight octets at once: 0x20 added to each that is 'A' to 'Z'.
 * Each octet is worked on alone (no carry crosses into the next), so the
 * order of the octets in the word does not matter.
 */
static inline uint64_t
lower8(uint64_t x)
{
	const uint64_t ones = 0x0101010101010101ULL;
	uint64_t h = x & 0x7f * ones;
	uint64_t ge_a = h + (0x80 - 'A') * ones;	/* top bit: h >= 'A' */
	uint64_t gt_z = h + (0x7f - 'Z') * ones;	/* top bit: h > 'Z' */

	return x | (ge_a & ~gt_z & ~x & 0x80 * ones) >> 2;
}

/* n octets of src to dst, lowercased, a word at a time. */
static inline void
lower_copy(uint8_t *dst, const uint8_t *src, size_t n)
{
	uint64_t x;
	size_t i;

	for (i = 0; i + 8 <= n; i += 8) {
		memcpy(&x, src + i, 8);
		x = lower8(x);
		memcpy(dst + i, &x, 8);
	}
	if (i == n)
		return;
	if (n >= 8) {
		/* The last eight, over some done already. */
		memcpy(&x, src + n - 8, 8);
		x = lower8(x);
		memcpy(dst + n - 8, &x, 8);
	} else
		for (; i < n; i++)
			dst[i] = lc[src[i]];
}

/*
 * Walk the name at msg + *offp.  On success *offp is the first byte after
 * the name as it sits in the message (after its first pointer, if any) and
 * *wlenp the length of the uncompressed name, root octet included.  When
 * wire is not NULL it receives the name lowercased and uncompressed; it
 * must have room for DNS_MAX_WIRE_NAME octets.  The labels are checked
 * first and copied in runs (all of a name without pointers, a query's,
 * in one): the length octets are below 'A', so lowercasing leaves them.
 */
static enum dns_err
name_walk(const uint8_t *msg, size_t len, size_t *offp, uint8_t *wire,
    size_t *wlenp)
{
	size_t off = *offp, seg = off, end = 0, wlen = 0, ptr, from = off;
	size_t wfrom = 0;
	unsigned int hops = 0;
	uint8_t c;

	for (;;) {
		if (off >= len)
			return DNS_E_SHORT;
		c = msg[off];
		if (c == 0)
			break;
		if (c > DNS_MAX_LABEL) {
			if ((c & DNS_PTR_MASK) != DNS_PTR_MASK)
				return DNS_E_LABEL;
			if (len - off < 2)
				return DNS_E_SHORT;
			ptr = (size_t)(c & 0x3f) << 8 | msg[off + 1];
			if (ptr < DNS_HDR_LEN || ptr >= seg ||
			    ++hops > DNS_MAX_HOPS)
				return DNS_E_POINTER;
			if (end == 0)
				end = off + 2;
			if (wire != NULL)
				lower_copy(wire + wfrom, msg + from,
				    wlen - wfrom);
			off = seg = from = ptr;
			wfrom = wlen;
			continue;
		}
		if (len - off - 1 < c)
			return DNS_E_SHORT;
		/* This label and at least the root octet must fit. */
		if (wlen + 1 + c + 1 > DNS_MAX_WIRE_NAME)
			return DNS_E_NAMELEN;
		wlen += 1 + (size_t)c;
		off += 1 + (size_t)c;
	}
	/* The run up to the root octet, that included. */
	if (wire != NULL)
		lower_copy(wire + wfrom, msg + from, wlen + 1 - wfrom);
	*offp = end != 0 ? end : off + 1;
	*wlenp = wlen + 1;
	return DNS_OK;
}

/*
 * Presentation form of a valid uncompressed wire name.  Returns the text
 * length, or -1 when out (outlen bytes, NUL included) is too small.
 */
int
dns_wire_to_text(const uint8_t *w, char *out, size_t outlen)
{
	size_t i = 0, o = 0, end;
	uint8_t c, n;

	if (w[0] == 0) {
		if (outlen < 2)
			return -1;
		out[0] = '.';
		out[1] = '\0';
		return 1;
	}
	while ((n = w[i++]) != 0) {
		for (end = i + n; i < end; i++) {
			c = w[i];
			if (txt[c] != 0) {
				if (o + 1 >= outlen)
					return -1;
				out[o++] = txt[c];
			} else {
				if (o + 4 >= outlen)
					return -1;
				out[o++] = '\\';
				out[o++] = '0' + c / 100;
				out[o++] = '0' + c / 10 % 10;
				out[o++] = '0' + c % 10;
			}
		}
		if (o + 1 >= outlen)
			return -1;
		out[o++] = '.';
	}
	out[o] = '\0';
	return (int)o;
}

/*
 * The RDATA of an OPT RR is a run of options, each a 2-octet code, a
 * 2-octet length and that many octets (RFC 6891 6.1.2); they must fill
 * rdlen exactly.  What an option says is the backend's business, but a
 * run that does not add up is a message no server can parse: NSD answers
 * it with a bare FORMERR.
 */
static int
opt_options_fit(const uint8_t *p, size_t rdlen)
{
	size_t olen;

	while (rdlen > 0) {
		if (rdlen < 4)
			return 0;
		olen = dns_get16(p + 2);
		if (rdlen - 4 < olen)
			return 0;
		p += 4 + olen;
		rdlen -= 4 + olen;
	}
	return 1;
}

/* Inline in both: the query path's (dns_parse_query_qn) has no second
 * call. */
static inline enum dns_err parse_query(const uint8_t *, size_t,
			    struct dns_query *, size_t);

enum dns_err
dns_parse_query(const uint8_t *msg, size_t len, struct dns_query *q)
{
	return parse_query(msg, len, q, 0);
}

enum dns_err
dns_parse_query_qn(const uint8_t *msg, size_t len, struct dns_query *q,
    size_t qnlen)
{
	return parse_query(msg, len, q, qnlen);
}

size_t
dns_qname_len(const uint8_t *msg, size_t len)
{
	size_t i = DNS_HDR_LEN;

	while (i < len && msg[i] != 0) {
		if (msg[i] > DNS_MAX_LABEL)
			return 0;
		i += msg[i] + 1u;
	}
	/* The root octet, QTYPE and QCLASS in len; the name's octets in
	 * DNS_MAX_WIRE_NAME, as name_walk counts them. */
	if (i + 5 > len || i + 1 - DNS_HDR_LEN > DNS_MAX_WIRE_NAME)
		return 0;
	return i + 1 - DNS_HDR_LEN;
}

/*
 * qnlen (not 0): dns_qname_len's for msg, so name_walk would find the
 * same name and no error in it: labels in bounds, no pointer, not too
 * long, with the four octets after it.  Then the name is only copied.
 */
static inline __attribute__((always_inline)) enum dns_err
parse_query(const uint8_t *msg, size_t len, struct dns_query *q,
    size_t qnlen)
{
	size_t off, wlen, rdlen;
	unsigned int i, nrr, nansauth;
	enum dns_err e;

	/* Reset only the fields that say what is valid: this runs per query
	 * and the struct is over a kilobyte.  The fixed fields are one
	 * clearing of known size (a few stores), not one store each. */
	memset(q, 0, offsetof(struct dns_query, qname_wire));

	if (len < DNS_HDR_LEN) {
		/* What an answer to it can echo. */
		if (len >= 2)
			q->id = dns_get16(msg);
		if (len >= 4)
			q->flags = dns_get16(msg + 2);
		return DNS_E_SHORT;
	}
	q->id = dns_get16(msg);
	q->flags = dns_get16(msg + 2);
	q->ancount = dns_get16(msg + 6);
	q->nscount = dns_get16(msg + 8);
	q->arcount = dns_get16(msg + 10);
	if (q->flags & DNS_FLAG_QR)
		return DNS_E_QR;
	if (q->flags & DNS_FLAG_TC)
		return DNS_E_TC;
	if (dns_get16(msg + 4) != 1)
		return DNS_E_QDCOUNT;

	off = DNS_HDR_LEN;
	if (qnlen != 0) {
		lower_copy(q->qname_wire, msg + off, qnlen);
		wlen = qnlen;
		off += qnlen;
	} else if ((e = name_walk(msg, len, &off, q->qname_wire, &wlen)) !=
	    DNS_OK)
		return e;
	if (len - off < 4)
		return DNS_E_SHORT;
	q->qtype = dns_get16(msg + off);
	q->qclass = dns_get16(msg + off + 2);
	off += 4;
	q->qname_wire_len = wlen;
	q->question_end = off;

	/*
	 * Walk every RR so that nothing malformed is forwarded: the names,
	 * the fixed part and the rdata bounds.  The rdata itself is the
	 * backend's business.
	 */
	nansauth = (unsigned int)q->ancount + q->nscount;
	nrr = nansauth + q->arcount;
	for (i = 0; i < nrr; i++) {
		if ((e = name_walk(msg, len, &off, NULL, &wlen)) != DNS_OK)
			return e;
		if (len - off < 10)
			return DNS_E_SHORT;
		rdlen = dns_get16(msg + off + 8);
		if (len - off - 10 < rdlen)
			return DNS_E_SHORT;
		if (dns_get16(msg + off) == DNS_TYPE_OPT) {
			if (i < nansauth || wlen != 1 || q->has_opt)
				return DNS_E_OPT;
			q->has_opt = 1;
			q->opt_off = (uint16_t)(off + 8);
			q->edns_udp_size = dns_get16(msg + off + 2);
			/* DO is the top bit of the TTL's low 16 bits. */
			q->do_bit = (msg[off + 6] & 0x80) != 0;
			if (!opt_options_fit(msg + off + 10, rdlen))
				return DNS_E_EDNS_OPTION;
		}
		if (dns_get16(msg + off) == DNS_TYPE_TSIG ||
		    dns_get16(msg + off) == DNS_TYPE_SIG)
			q->signed_ = 1;
		off += 10 + rdlen;
	}
	if (off != len)
		return DNS_E_TRAILING;
	return DNS_OK;
}

void
dns_query_copy(struct dns_query *dst, const struct dns_query *src)
{
	size_t wl = src->qname_wire_len;

	/* The fixed fields come first: one copy of known size. */
	memcpy(dst, src, offsetof(struct dns_query, qname_wire));
	/* Bounded by the array even if a caller hands in a garbage length. */
	if (wl > sizeof(dst->qname_wire))
		wl = sizeof(dst->qname_wire);
	memcpy(dst->qname_wire, src->qname_wire, wl);
}

const char *
dns_err_str(enum dns_err e)
{
	if ((unsigned int)e >= DNS_E_MAX)
		return "unknown";
	return dns_errs[e];
}

int
dns_answer_matches(const uint8_t *msg, size_t len, uint16_t id,
    const struct dns_query *q)
{
	return dns_answer_matches_sent(msg, len, id, q, NULL);
}

int
dns_answer_matches_sent(const uint8_t *msg, size_t len, uint16_t id,
    const struct dns_query *q, const uint8_t *sent)
{
	uint8_t wire[DNS_MAX_WIRE_NAME];
	size_t off = DNS_HDR_LEN, wlen, qe = q->question_end;

	if (len < DNS_HDR_LEN || qe == 0)
		return -1;
	if (!(dns_get16(msg + 2) & DNS_FLAG_QR) || dns_get16(msg) != id ||
	    dns_get16(msg + 4) != 1)
		return -1;
	if (sent != NULL && dns_answer_echoes(msg, len, id, q, sent))
		return 0;
	if (name_walk(msg, len, &off, wire, &wlen) != DNS_OK)
		return -1;
	/* Both sides are lowercased, so this compares without case. */
	if (wlen != q->qname_wire_len || !dns_bytes_eq(wire, q->qname_wire, wlen))
		return -1;
	if (len - off < 4)
		return -1;
	if (dns_get16(msg + off) != q->qtype || dns_get16(msg + off + 2) != q->qclass)
		return -1;
	return 0;
}

int
dns_answer_headerless(const uint8_t *msg, size_t len, uint16_t id,
    const struct dns_query *q)
{
	uint16_t flags;
	int rcode;

	if (len < DNS_HDR_LEN)
		return -1;
	flags = dns_get16(msg + 2);
	rcode = DNS_RCODE(flags);
	if (!(flags & DNS_FLAG_QR) || dns_get16(msg) != id ||
	    DNS_OPCODE(flags) != DNS_OPCODE(q->flags) ||
	    dns_get16(msg + 4) != 0 || dns_get16(msg + 6) != 0 || dns_get16(msg + 8) != 0)
		return -1;
	switch (rcode) {
	case DNS_RCODE_FORMERR:
	case DNS_RCODE_SERVFAIL:
	case DNS_RCODE_NOTIMP:
	case DNS_RCODE_REFUSED:
		return rcode;
	default:
		return -1;
	}
}

size_t
dns_make_answer(uint8_t *out, size_t outlen, const uint8_t *msg,
    size_t len, const struct dns_query *q, int rcode)
{
	size_t n = DNS_HDR_LEN;
	uint16_t flags;

	if (len < DNS_HDR_LEN)
		return 0;
	/* The question is echoed only when the parse vouched for it. */
	if (q->question_end > DNS_HDR_LEN && q->question_end <= len)
		n = q->question_end;
	if (outlen < n)
		return 0;
	memcpy(out, msg, n);
	flags = dns_get16(msg + 2);
	flags = DNS_FLAG_QR | (flags & (0xf << 11)) | (flags & DNS_FLAG_RD) |
	    (rcode & 0xf);
	dns_put16(out + 2, flags);
	dns_put16(out + 4, n > DNS_HDR_LEN ? 1 : 0);
	dns_put16(out + 6, 0);
	dns_put16(out + 8, 0);
	dns_put16(out + 10, 0);
	return n;
}

int
dns_name_to_text(const uint8_t *msg, size_t len, size_t off, char *out,
    size_t outlen)
{
	uint8_t wire[DNS_MAX_WIRE_NAME];
	size_t wlen;

	if (off >= len || name_walk(msg, len, &off, wire, &wlen) != DNS_OK)
		return -1;
	return dns_wire_to_text(wire, out, outlen);
}

int
dns_name_read(const uint8_t *msg, size_t len, size_t *off, uint8_t *wire,
    size_t *wlen)
{
	size_t o = *off;

	if (o >= len || name_walk(msg, len, &o, wire, wlen) != DNS_OK)
		return -1;
	*off = o;
	return 0;
}

int
dns_text_to_wire(const char *text, uint8_t *out, size_t outlen)
{
	const unsigned char *p = (const unsigned char *)text;
	size_t o = 0, lpos, n;
	unsigned int c;

	if (outlen > DNS_MAX_WIRE_NAME)
		outlen = DNS_MAX_WIRE_NAME;
	if (p[0] == '.' && p[1] == '\0') {
		if (outlen < 1)
			return -1;
		out[0] = 0;
		return 1;
	}
	for (;;) {
		/* Room for the length octet, checked with the first byte. */
		lpos = o++;
		for (n = 0; *p != '\0' && *p != '.'; n++) {
			c = *p++;
			if (c == '\\') {
				if (*p >= '0' && *p <= '9') {
					if (p[1] < '0' || p[1] > '9' ||
					    p[2] < '0' || p[2] > '9')
						return -1;
					c = (p[0] - '0') * 100 +
					    (p[1] - '0') * 10 + (p[2] - '0');
					if (c > 255)
						return -1;
					p += 3;
				} else if (*p == '\0')
					return -1;
				else
					c = *p++;
			}
			if (n == DNS_MAX_LABEL || o >= outlen)
				return -1;
			out[o++] = lc[c];
		}
		if (n == 0)
			return -1;
		out[lpos] = (uint8_t)n;
		if (*p == '\0' || *++p == '\0')
			break;
	}
	if (o >= outlen)
		return -1;
	out[o++] = 0;
	return (int)o;
}

int
dns_name_skip(const uint8_t *msg, size_t len, size_t *off)
{
	size_t wlen;

	return name_walk(msg, len, off, NULL, &wlen) == DNS_OK ? 0 : -1;
}

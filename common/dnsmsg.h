/*
 * dnsmsg: the hot-path DNS wire parser.  It validates a whole query (every
 * section, with bounds checks, compression loops caught) and extracts what
 * routing needs: the ID, flags and the question's wire form, lowercased
 * (dns_wire_to_text gives its presentation form, escaped \DDD so it can
 * reach logs safely).  It allocates nothing and never reads past len.
 * It also checks that a backend's answer belongs to the query we sent, and
 * builds the small error answers the router makes itself.
 */
#ifndef DNSMSG_H
#define DNSMSG_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define DNS_HDR_LEN		12
#define DNS_MAX_WIRE_NAME	255
/* Worst case: 255 octets, every one escaped as \DDD, plus the dot and NUL. */
#define DNS_MAX_TEXT_NAME	(DNS_MAX_WIRE_NAME * 4 + 2)

#define DNS_FLAG_QR		0x8000
#define DNS_FLAG_AA		0x0400
#define DNS_FLAG_TC		0x0200
#define DNS_FLAG_RD		0x0100
#define DNS_FLAG_RA		0x0080
#define DNS_OPCODE(f)		(((f) >> 11) & 0xf)
#define DNS_RCODE(f)		((f) & 0xf)

#define DNS_OPCODE_QUERY	0
#define DNS_OPCODE_NOTIFY	4
#define DNS_OPCODE_UPDATE	5

#define DNS_RCODE_NOERROR	0
#define DNS_RCODE_FORMERR	1
#define DNS_RCODE_SERVFAIL	2
#define DNS_RCODE_NXDOMAIN	3
#define DNS_RCODE_NOTIMP	4
#define DNS_RCODE_REFUSED	5

#define DNS_TYPE_A		1
#define DNS_TYPE_NS		2
#define DNS_TYPE_SOA		6
#define DNS_TYPE_TXT		16
#define DNS_TYPE_AAAA		28
#define DNS_TYPE_OPT		41
#define DNS_TYPE_SIG		24
#define DNS_TYPE_TSIG		250
#define DNS_TYPE_IXFR		251
#define DNS_TYPE_AXFR		252
#define DNS_TYPE_ANY		255
#define DNS_CLASS_IN		1
#define DNS_CLASS_CH		3

/* Result of dns_parse_query(); DNS_OK is 0, everything else a reason. */
enum dns_err {
	DNS_OK = 0,
	DNS_E_SHORT,		/* shorter than a header, or a section runs past the end */
	DNS_E_QR,		/* QR set: an answer sent to our query port */
	DNS_E_TC,		/* TC set on a query */
	DNS_E_QDCOUNT,		/* QDCOUNT != 1 */
	DNS_E_LABEL,		/* label over 63 octets or reserved label type */
	DNS_E_NAMELEN,		/* name over 255 octets */
	DNS_E_POINTER,		/* compression loop, forward pointer, pointer out of range */
	DNS_E_OPT,		/* OPT not in additional, not at root, or more than one */
	DNS_E_TRAILING,		/* bytes after the last RR */
	DNS_E_EDNS_OPTION,	/* OPT's options do not add up to its RDLENGTH */
	DNS_E_MAX
};

struct dns_query {
	/* Fixed fields first, up to qname_wire: dns_query_copy() copies
	 * them in one piece. */
	uint16_t	id;
	uint16_t	flags;
	uint16_t	qtype;
	uint16_t	qclass;
	uint16_t	ancount, nscount, arcount;
	uint16_t	edns_udp_size;	/* 0 when there is no OPT */
	uint8_t		has_opt;
	uint8_t		do_bit;
	uint8_t		signed_;	/* a TSIG or SIG(0) record: bytes fixed */
	uint16_t	opt_off;	/* the OPT's RDLENGTH (has_opt) */
	/* Offsets in the message. */
	uint16_t	question_end;	/* first byte after QCLASS */
	/* The question name in wire form, lowercased, uncompressed.  No
	 * text form: nothing on a query's way reads one, and it would be
	 * over a kilobyte of every slot (dns_wire_to_text makes it).  The
	 * length before the name: a short name and every field above
	 * share one cache line with it (a query slot's, see query.c). */
	uint16_t	qname_wire_len;
	uint8_t		qname_wire[DNS_MAX_WIRE_NAME];
};

/* Copy a parsed query: the fixed fields and only the used bytes of the
 * name.  A plain struct copy moves the unused tail of the name too. */
void dns_query_copy(struct dns_query *dst, const struct dns_query *src);

/* Validate a query message and fill *q.  Returns DNS_OK or the reason it is
 * not acceptable.  On error *q holds whatever was parsed (id and flags are
 * valid whenever len >= DNS_HDR_LEN), so a FORMERR can echo the ID. */
enum dns_err dns_parse_query(const uint8_t *msg, size_t len, struct dns_query *q);
/* The wire length of msg's question name when it is the common shape:
 * labels of up to 63 octets, no pointer, at most DNS_MAX_WIRE_NAME
 * octets, with QTYPE and QCLASS after it in len; 0 otherwise (the parser
 * says what is wrong).  One pass over a datagram's name, before it is
 * parsed: the decision cache's prefetch hashes the name, and
 * dns_parse_query_qn copies it without walking it again. */
size_t dns_qname_len(const uint8_t *msg, size_t len);
/* dns_parse_query, where qnlen is dns_qname_len(msg, len) (0: not
 * known; then it walks the name): the same result. */
enum dns_err dns_parse_query_qn(const uint8_t *msg, size_t len,
    struct dns_query *q, size_t qnlen);

/* Short text for an error code ("short", "qr-set", ...), for counters/logs. */
const char *dns_err_str(enum dns_err e);

/* Is msg an answer to the query q that we sent with ID id?  Checks QR set,
 * the ID, QDCOUNT == 1, and that the question (name compared without case,
 * type, class) equals q's.  The rest of the answer is the backend's business
 * and is relayed as is, but the walk must stay within len.
 * Returns 0 when it matches, -1 otherwise. */
int dns_answer_matches(const uint8_t *msg, size_t len, uint16_t id,
    const struct dns_query *q);
/* The same, given the bytes of the query q was parsed from (sent, or
 * NULL): a backend echoes the question byte for byte, and then one memcmp
 * decides (a query's question holds no compression pointer, so equal bytes
 * are an equal question); otherwise the name is walked as above. */
int dns_answer_matches_sent(const uint8_t *msg, size_t len, uint16_t id,
    const struct dns_query *q, const uint8_t *sent);

/* Is msg a bare-header error answer to the query q that we sent with ID
 * id: QR set, the ID and q's opcode, no question, no answer or authority
 * records, and rcode FORMERR, SERVFAIL, NOTIMP or REFUSED?  That is what
 * NSD and BIND send for a query they cannot parse: they cannot echo a
 * question they could not read.  (An OPT or TSIG in the additional
 * section is allowed and not read.)  Returns the rcode, or -1. */
int dns_answer_headerless(const uint8_t *msg, size_t len, uint16_t id,
    const struct dns_query *q);

/* Step over the (possibly compressed) name at msg + *off: 0 with *off
 * after it, or -1 when it is not a valid name. */
int dns_name_skip(const uint8_t *msg, size_t len, size_t *off);

/* Write an answer with the given rcode to the query in msg (whose parse
 * filled q, possibly partially): header with the query's ID, QR=1, opcode
 * and RD copied, RA=0, and the question copied when q parsed it (QDCOUNT=0
 * otherwise).  Returns the length written, 0 if out is too small or the
 * message is shorter than a header. */
size_t dns_make_answer(uint8_t *out, size_t outlen, const uint8_t *msg,
    size_t len, const struct dns_query *q, int rcode);

/* Escape a wire name (possibly compressed) at msg+off into presentation
 * form as above.  Returns the text length or -1 when the name is invalid. */
/* Presentation form of a valid, uncompressed wire name (qname_wire).
 * Returns the text length, or -1 when out (outlen, NUL included) is too
 * small; DNS_MAX_TEXT_NAME is always enough. */
int dns_wire_to_text(const uint8_t *wire, char *out, size_t outlen);

int dns_name_to_text(const uint8_t *msg, size_t len, size_t off, char *out,
    size_t outlen);

/* Read the name at msg + *off (compressed or not, checked as the parser
 * does): *off moves past it as it sits in the message, *wlen is its
 * uncompressed length (root octet included) and wire, when not NULL
 * (DNS_MAX_WIRE_NAME octets), receives it lowercased.  0 or -1. */
int dns_name_read(const uint8_t *msg, size_t len, size_t *off, uint8_t *wire,
    size_t *wlen);

/* Convert a presentation name ("Www.Example.COM" or with trailing dot, \DDD
 * and \X escapes allowed) to lowercase wire form.  Returns wire length or
 * -1 when invalid (empty label, label > 63, name > 255). */
int dns_text_to_wire(const char *text, uint8_t *out, size_t outlen);

/*
 * TCP framing (RFC 1035 4.2.2, RFC 7766): each message is preceded by its
 * length in two octets.  Given the stream's bytes p[0..avail) and off (at
 * most avail), the start of the next frame: the length of its message,
 * whose bytes are p + off + 2, or -1 when the frame has not all arrived.
 * The caller moves off by 2 + length and asks again; both TCP readers of
 * the daemon (clients, backends) and the fuzz target use this.
 */
static inline long
dns_tcp_next(const uint8_t *p, size_t avail, size_t off)
{
	size_t l;

	if (avail - off < 2)
		return -1;
	l = (size_t)p[off] << 8 | p[off + 1];
	return avail - off - 2 < l ? -1 : (long)l;
}

/*
 * Are the first n octets of a and b the same?  Inline, a word at a time:
 * the first and the last word (overlapping when n is not a multiple of
 * eight), then any between.  The query path compares a name or a question
 * of a few dozen octets twice a query, where the call to memcmp cost more
 * than the comparison.
 */
static inline uint64_t
dns_word_at(const uint8_t *p)
{
	uint64_t x;

	memcpy(&x, p, 8);
	return x;
}

static inline int
dns_bytes_eq(const uint8_t *a, const uint8_t *b, size_t n)
{
	uint64_t d;
	uint32_t x, y;
	size_t i;

	if (n < 8) {
		if (n < 4) {
			for (i = 0, x = 0; i < n; i++)
				x |= (uint32_t)(a[i] ^ b[i]);
			return x == 0;
		}
		memcpy(&x, a, 4);
		memcpy(&y, b, 4);
		d = x ^ y;
		memcpy(&x, a + n - 4, 4);
		memcpy(&y, b + n - 4, 4);
		return (d | (x ^ y)) == 0;
	}
	d = (dns_word_at(a) ^ dns_word_at(b)) |
	    (dns_word_at(a + n - 8) ^ dns_word_at(b + n - 8));
	for (i = 8; i + 8 < n; i += 8)
		d |= dns_word_at(a + i) ^ dns_word_at(b + i);
	return d == 0;
}

/* A 16-bit field in network order, read or written in place. */
static inline uint16_t
dns_get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline void
dns_put16(uint8_t *p, uint16_t v)
{
	p[0] = v >> 8;
	p[1] = v & 0xff;
}

/* Read/write the 16-bit ID in place. */
static inline uint16_t
dns_get_id(const uint8_t *msg)
{
	return dns_get16(msg);
}

static inline void
dns_set_id(uint8_t *msg, uint16_t id)
{
	dns_put16(msg, id);
}

/* dns_answer_matches_sent()'s common case, inline where every answer is
 * checked: QR, the ID, one question, and the question's bytes as sent.
 * 0 does not say it does not match: ask dns_answer_matches_sent(). */
static inline int
dns_answer_echoes(const uint8_t *msg, size_t len, uint16_t id,
    const struct dns_query *q, const uint8_t *sent)
{
	size_t qe = q->question_end;

	return qe != 0 && len >= qe && len >= DNS_HDR_LEN &&
	    (dns_get16(msg + 2) & DNS_FLAG_QR) && dns_get16(msg) == id &&
	    dns_get16(msg + 4) == 1 &&
	    dns_bytes_eq(msg + DNS_HDR_LEN, sent + DNS_HDR_LEN,
	    qe - DNS_HDR_LEN);
}

#endif

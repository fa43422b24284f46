/*
 * test_dnsmsg: table-driven tests of the wire parser.  Packets are written
 * by hand (hex strings, or a tiny builder for the long names) so that the
 * test does not share a line of code, or a bug, with the parser; ldns is
 * the fuzzer's business.  Also where a zone transfer ends (dnsxfr.h) and
 * the EDNS Client Subnet option (dnsecs.h).  Every message handed to the parser sits in a heap
 * buffer of exactly its length, so a sanitizer build catches any overread.
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dnsmsg.h"
#include "dnsecs.h"
#include "dnsxfr.h"
#include "unit.h"
#include "util.h"

struct pkt {
	uint8_t	b[4096];
	size_t	len;
};

/* Header fields as hex: ID abcd, then flags and the four counts. */
#define HDR(fl, qd, an, ns, ar)	"abcd" fl qd an ns ar
#define Q_WWW	"03777777076578616d706c6503636f6d00" "00010001"
#define Q_WWW_UC "03575757074578416d706c6503434f4d00" "00010001"
/* OPT: root owner, type 41, UDP 4096, DO set, no rdata. */
#define OPT	"00" "0029" "1000" "00008000" "0000"
/* OPT with RDLENGTH rl (4 hex digits) and options opts (hex). */
#define OPT_WITH(rl, opts) "00" "0029" "04d0" "00000000" rl opts
/* A record owned by a pointer to the question name at offset 12. */
#define RR_A	"c00c" "0001" "0001" "00000e10" "0004" "7f000001"

static void
p_hex(struct pkt *p, const char *h)
{
	unsigned int v;

	for (; *h != '\0'; h++) {
		if (*h == ' ')
			continue;
		if (sscanf(h, "%2x", &v) != 1 || p->len >= sizeof(p->b))
			abort();
		p->b[p->len++] = v;
		h++;
	}
}

static void
p_bytes(struct pkt *p, const void *d, size_t n)
{
	if (p->len + n > sizeof(p->b))
		abort();
	memcpy(p->b + p->len, d, n);
	p->len += n;
}

static void
p_u16(struct pkt *p, unsigned int v)
{
	uint8_t b[2] = { v >> 8, v & 0xff };

	p_bytes(p, b, 2);
}

/* A label of n copies of c. */
static void
p_label(struct pkt *p, int n, char c)
{
	uint8_t b[256];

	b[0] = n;
	memset(b + 1, c, n);
	p_bytes(p, b, n + 1);
}

/* Parse from an exact-size heap copy so that ASan sees any overread. */
static enum dns_err
parse(const uint8_t *b, size_t len, struct dns_query *q)
{
	uint8_t *m = malloc(len ? len : 1);
	enum dns_err e;

	if (m == NULL)
		abort();
	memcpy(m, b, len);
	e = dns_parse_query(m, len, q);
	free(m);
	return e;
}

/* The question name's text form ("" before the question parsed), as logs
 * and traces show it: the parse keeps the wire form only. */
static const char *
qtext(const struct dns_query *q)
{
	static char text[DNS_MAX_TEXT_NAME];

	text[0] = '\0';
	if (q->qname_wire_len != 0 &&
	    dns_wire_to_text(q->qname_wire, text, sizeof(text)) < 0)
		return "(bad wire name)";
	return text;
}

/* The query's bytes, when set: matches() then also asks the byte-compare
 * path (dns_answer_matches_sent), which must say the same. */
static const uint8_t *sent_query;

static int
matches(const uint8_t *b, size_t len, uint16_t id, const struct dns_query *q)
{
	uint8_t *m = malloc(len ? len : 1);
	int r;

	if (m == NULL)
		abort();
	memcpy(m, b, len);
	r = dns_answer_matches(m, len, id, q);
	if (sent_query != NULL)
		CHECKF(dns_answer_matches_sent(m, len, id, q, sent_query) == r,
		    "dns_answer_matches_sent differs (len %zu)", len);
	free(m);
	return r;
}

static const struct parse_case {
	const char	*desc;
	const char	*hex;
	enum dns_err	 err;
	const char	*qname;		/* expected once the question parsed */
	uint16_t	 question_end;
	int		 has_opt;
} parse_cases[] = {
	{ "plain query", HDR("0100", "0001", "0000", "0000", "0000") Q_WWW,
	    DNS_OK, "www.example.com.", 33, 0 },
	{ "query with OPT", HDR("0100", "0001", "0000", "0000", "0001")
	    Q_WWW OPT, DNS_OK, "www.example.com.", 33, 1 },
	{ "uppercase lowered", HDR("0100", "0001", "0000", "0000", "0000")
	    Q_WWW_UC, DNS_OK, "www.example.com.", 33, 0 },
	{ "dot in label", HDR("0000", "0001", "0000", "0000", "0000")
	    "03612e6203636f6d00" "00010001", DNS_OK, "a\\046b.com.", 25, 0 },
	{ "space", HDR("0000", "0001", "0000", "0000", "0000")
	    "0361206200" "00010001", DNS_OK, "a\\032b.", 21, 0 },
	{ "0xff", HDR("0000", "0001", "0000", "0000", "0000")
	    "01ff00" "00010001", DNS_OK, "\\255.", 19, 0 },
	{ "backslash", HDR("0000", "0001", "0000", "0000", "0000")
	    "015c00" "00010001", DNS_OK, "\\092.", 19, 0 },
	{ "control and punctuation", HDR("0000", "0001", "0000", "0000", "0000")
	    "0400217f2200" "00010001", DNS_OK, "\\000\\033\\127\\034.", 22, 0 },
	{ "kept characters", HDR("0000", "0001", "0000", "0000", "0000")
	    "075f7372762d782a" "0130" "0139" "00" "00210001", DNS_OK,
	    "_srv-x*.0.9.", 29, 0 },
	{ "root", HDR("0000", "0001", "0000", "0000", "0000") "00" "00020001",
	    DNS_OK, ".", 17, 0 },
	{ "QR set", HDR("8100", "0001", "0000", "0000", "0000") Q_WWW,
	    DNS_E_QR, "", 0, 0 },
	{ "TC set", HDR("0300", "0001", "0000", "0000", "0000") Q_WWW,
	    DNS_E_TC, "", 0, 0 },
	{ "QR before TC", HDR("8300", "0001", "0000", "0000", "0000") Q_WWW,
	    DNS_E_QR, "", 0, 0 },
	{ "QDCOUNT 0", HDR("0100", "0000", "0000", "0000", "0000"),
	    DNS_E_QDCOUNT, "", 0, 0 },
	{ "QDCOUNT 2", HDR("0100", "0002", "0000", "0000", "0000") Q_WWW Q_WWW,
	    DNS_E_QDCOUNT, "", 0, 0 },
	{ "header only", HDR("0100", "0001", "0000", "0000", "0000"),
	    DNS_E_SHORT, "", 0, 0 },
	{ "label past end", HDR("0100", "0001", "0000", "0000", "0000")
	    "056162", DNS_E_SHORT, "", 0, 0 },
	{ "no qtype", HDR("0100", "0001", "0000", "0000", "0000") "00" "000100",
	    DNS_E_SHORT, "", 0, 0 },
	{ "label type 0x40", HDR("0100", "0001", "0000", "0000", "0000")
	    "4061" "00010001", DNS_E_LABEL, "", 0, 0 },
	{ "label type 0x80", HDR("0100", "0001", "0000", "0000", "0000")
	    "8061" "00010001", DNS_E_LABEL, "", 0, 0 },
	{ "question loop a -> a", HDR("0100", "0001", "0000", "0000", "0000")
	    "0161c00c" "00010001", DNS_E_POINTER, "", 0, 0 },
	{ "question pointer to self", HDR("0100", "0001", "0000", "0000", "0000")
	    "c00c" "00010001", DNS_E_POINTER, "", 0, 0 },
	{ "question pointer into header", HDR("0100", "0001", "0000", "0000",
	    "0000") "c002" "00010001", DNS_E_POINTER, "", 0, 0 },
	{ "question forward pointer", HDR("0100", "0001", "0000", "0000", "0000")
	    "c00e016100" "00010001", DNS_E_POINTER, "", 0, 0 },
	{ "pointer cut", HDR("0100", "0001", "0000", "0000", "0000") "0161c0",
	    DNS_E_SHORT, "", 0, 0 },
	{ "answer compressed", HDR("0100", "0001", "0001", "0000", "0000")
	    Q_WWW RR_A, DNS_OK, "www.example.com.", 33, 0 },
	{ "answer pointer mid-name", HDR("0100", "0001", "0001", "0000", "0000")
	    Q_WWW "c010" "0001" "0001" "00000000" "0000", DNS_OK,
	    "www.example.com.", 33, 0 },
	{ "two-hop chain", HDR("0100", "0001", "0002", "0000", "0000") Q_WWW
	    "03666f6fc010" "0010" "0001" "00000000" "0000"
	    "c021" "0010" "0001" "00000000" "0000", DNS_OK,
	    "www.example.com.", 33, 0 },
	{ "answer loop a -> a", HDR("0100", "0001", "0001", "0000", "0000") Q_WWW
	    "0161c021" "0001" "0001" "00000000" "0000", DNS_E_POINTER,
	    "www.example.com.", 33, 0 },
	{ "answer pointer to self", HDR("0100", "0001", "0001", "0000", "0000")
	    Q_WWW "c021" "0001" "0001" "00000000" "0000", DNS_E_POINTER,
	    "www.example.com.", 33, 0 },
	{ "answer forward pointer", HDR("0100", "0001", "0001", "0000", "0000")
	    Q_WWW "c023" "00" "0001" "0001" "00000000" "0000", DNS_E_POINTER,
	    "www.example.com.", 33, 0 },
	{ "answer pointer into header", HDR("0100", "0001", "0001", "0000",
	    "0000") Q_WWW "c004" "0001" "0001" "00000000" "0000",
	    DNS_E_POINTER, "www.example.com.", 33, 0 },
	{ "answer pointer out of range", HDR("0100", "0001", "0001", "0000",
	    "0000") Q_WWW "ffff" "0001" "0001" "00000000" "0000",
	    DNS_E_POINTER, "www.example.com.", 33, 0 },
	{ "rdata past end", HDR("0100", "0001", "0001", "0000", "0000") Q_WWW
	    "c00c" "0001" "0001" "00000e10" "0005" "7f000001", DNS_E_SHORT,
	    "www.example.com.", 33, 0 },
	{ "fixed part cut", HDR("0100", "0001", "0001", "0000", "0000") Q_WWW
	    "c00c" "0001" "0001" "00000e10" "00", DNS_E_SHORT,
	    "www.example.com.", 33, 0 },
	{ "counts lie", HDR("0100", "0001", "ffff", "ffff", "ffff") Q_WWW RR_A,
	    DNS_E_SHORT, "www.example.com.", 33, 0 },
	{ "trailing byte", HDR("0100", "0001", "0000", "0000", "0000")
	    Q_WWW "00", DNS_E_TRAILING, "www.example.com.", 33, 0 },
	{ "trailing after OPT", HDR("0100", "0001", "0000", "0000", "0001")
	    Q_WWW OPT "ff", DNS_E_TRAILING, "www.example.com.", 33, 1 },
	{ "OPT in answer", HDR("0100", "0001", "0001", "0000", "0000")
	    Q_WWW OPT, DNS_E_OPT, "www.example.com.", 33, 0 },
	{ "OPT in authority", HDR("0100", "0001", "0000", "0001", "0000")
	    Q_WWW OPT, DNS_E_OPT, "www.example.com.", 33, 0 },
	{ "two OPTs", HDR("0100", "0001", "0000", "0000", "0002")
	    Q_WWW OPT OPT, DNS_E_OPT, "www.example.com.", 33, 1 },
	{ "OPT non-root owner", HDR("0100", "0001", "0000", "0000", "0001")
	    Q_WWW "016100" "0029" "1000" "00000000" "0000", DNS_E_OPT,
	    "www.example.com.", 33, 0 },
	{ "OPT after TSIG-like RR", HDR("0100", "0001", "0000", "0000", "0002")
	    Q_WWW RR_A OPT, DNS_OK, "www.example.com.", 33, 1 },
	/* The options of an OPT must add up to its RDLENGTH (issue 12). */
	{ "OPT cookie", HDR("0100", "0001", "0000", "0000", "0001") Q_WWW
	    OPT_WITH("000c", "000a0008" "0102030405060708"), DNS_OK,
	    "www.example.com.", 33, 1 },
	{ "OPT three options", HDR("0100", "0001", "0000", "0000", "0001")
	    Q_WWW OPT_WITH("0012", "fde90000" "000c0002" "0000" "000a0004"
	    "01020304"), DNS_OK, "www.example.com.", 33, 1 },
	{ "OPT option claims 60 of 8", HDR("0100", "0001", "0000", "0000",
	    "0001") Q_WWW OPT_WITH("000c", "000a003c" "3132333435363738"),
	    DNS_E_EDNS_OPTION, "www.example.com.", 33, 1 },
	{ "OPT option one too long", HDR("0100", "0001", "0000", "0000",
	    "0001") Q_WWW OPT_WITH("000c", "000a0009" "3132333435363738"),
	    DNS_E_EDNS_OPTION, "www.example.com.", 33, 1 },
	{ "OPT option one too short", HDR("0100", "0001", "0000", "0000",
	    "0001") Q_WWW OPT_WITH("000c", "000a0007" "3132333435363738"),
	    DNS_E_EDNS_OPTION, "www.example.com.", 33, 1 },
	{ "OPT option header cut to 3", HDR("0100", "0001", "0000", "0000",
	    "0001") Q_WWW OPT_WITH("0003", "000a00"), DNS_E_EDNS_OPTION,
	    "www.example.com.", 33, 1 },
	{ "OPT option header cut to 1", HDR("0100", "0001", "0000", "0000",
	    "0001") Q_WWW OPT_WITH("0001", "00"), DNS_E_EDNS_OPTION,
	    "www.example.com.", 33, 1 },
	{ "OPT second option overruns", HDR("0100", "0001", "0000", "0000",
	    "0001") Q_WWW OPT_WITH("000c", "000c0000" "000a0008" "01020304"),
	    DNS_E_EDNS_OPTION, "www.example.com.", 33, 1 },
	{ "OPT RDLENGTH past the end", HDR("0100", "0001", "0000", "0000",
	    "0001") Q_WWW OPT_WITH("0010", "000a0008" "0102030405060708"),
	    DNS_E_SHORT, "www.example.com.", 33, 0 },
	{ "OPT options then RR", HDR("0100", "0001", "0000", "0000", "0002")
	    Q_WWW OPT_WITH("0004", "000c0000") RR_A, DNS_OK,
	    "www.example.com.", 33, 1 },
	{ "UPDATE with prereq", HDR("2800", "0001", "0001", "0001", "0000")
	    "076578616d706c6503636f6d00" "00060001"
	    "03777777c00c" "00ff" "00ff" "00000000" "0000"
	    "03777777c00c" "0001" "0001" "00000e10" "0004" "7f000001",
	    DNS_OK, "example.com.", 29, 0 },
};

static void
test_parse_table(void)
{
	struct pkt p;
	struct dns_query q;
	enum dns_err e;
	size_t i;

	for (i = 0; i < NELEMS(parse_cases); i++) {
		const struct parse_case *c = &parse_cases[i];

		memset(&p, 0, sizeof(p));
		p_hex(&p, c->hex);
		memset(&q, 0xa5, sizeof(q));
		e = parse(p.b, p.len, &q);
		CHECKF(e == c->err, "%s: got %s, want %s", c->desc,
		    dns_err_str(e), dns_err_str(c->err));
		CHECKF(q.id == 0xabcd, "%s: id %04x", c->desc, q.id);
		CHECKF(q.question_end == c->question_end, "%s: question_end %u",
		    c->desc, q.question_end);
		CHECKF(strcmp(qtext(&q), c->qname) == 0, "%s: qname '%s'",
		    c->desc, qtext(&q));
		CHECKF(q.has_opt == c->has_opt, "%s: has_opt %d", c->desc,
		    q.has_opt);
	}
}

static void
test_fields(void)
{
	struct pkt p = { .len = 0 };
	struct dns_query q;
	static const uint8_t wire[] = "\3www\7example\3com";

	p_hex(&p, HDR("0100", "0001", "0000", "0000", "0001") Q_WWW_UC OPT);
	CHECK(parse(p.b, p.len, &q) == DNS_OK);
	CHECK(q.flags == 0x0100);
	CHECK(q.qtype == DNS_TYPE_A && q.qclass == DNS_CLASS_IN);
	CHECK(q.ancount == 0 && q.nscount == 0 && q.arcount == 1);
	CHECK(q.has_opt == 1 && q.edns_udp_size == 4096 && q.do_bit == 1);
	CHECK(q.qname_wire_len == sizeof(wire));
	CHECK(memcmp(q.qname_wire, wire, sizeof(wire)) == 0);

	/* Same with DO clear and other TTL bits set: only 0x8000 is DO. */
	p.len = 0;
	p_hex(&p, HDR("0100", "0001", "0000", "0000", "0001") Q_WWW
	    "00" "0029" "04d0" "ffff7fff" "0000");
	CHECK(parse(p.b, p.len, &q) == DNS_OK);
	CHECK(q.has_opt == 1 && q.edns_udp_size == 1232 && q.do_bit == 0);

	/* Without OPT, the EDNS fields are reset even from a dirty struct. */
	p.len = 0;
	p_hex(&p, HDR("0100", "0001", "0000", "0000", "0000") Q_WWW);
	memset(&q, 0xff, sizeof(q));
	CHECK(parse(p.b, p.len, &q) == DNS_OK);
	CHECK(q.has_opt == 0 && q.edns_udp_size == 0 && q.do_bit == 0);
	CHECK(q.ancount == 0 && q.nscount == 0 && q.arcount == 0);

	/* id and flags as soon as the bytes are there. */
	memset(&q, 0xff, sizeof(q));
	CHECK(parse(p.b, 1, &q) == DNS_E_SHORT && q.id == 0 && q.flags == 0);
	CHECK(parse(p.b, 3, &q) == DNS_E_SHORT && q.id == 0xabcd &&
	    q.flags == 0);
	CHECK(parse(p.b, 11, &q) == DNS_E_SHORT && q.flags == 0x0100);
	CHECK(q.question_end == 0 && q.qname_wire_len == 0);
}

/* A query for a name of labels of the given lengths. */
static void
build_long(struct pkt *p, const int *labels, int n)
{
	int i;

	p->len = 0;
	p_hex(p, HDR("0100", "0001", "0000", "0000", "0000"));
	for (i = 0; i < n; i++)
		p_label(p, labels[i], 'a' + i);
	p_hex(p, "00" "00010001");
}

static void
test_lengths(void)
{
	static const int l63[] = { 63 }, l64[] = { 64 };
	static const int n255[] = { 63, 63, 63, 61 }, n256[] = { 63, 63, 63, 62 };
	static const int many[] = {
		1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
		1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
		1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
		1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
		1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
		1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
		1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
		1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	};
	struct pkt p;
	struct dns_query q;
	char want[DNS_MAX_TEXT_NAME];
	uint8_t wire[DNS_MAX_WIRE_NAME];
	int i;

	build_long(&p, l63, 1);
	CHECK(parse(p.b, p.len, &q) == DNS_OK);
	CHECK(q.qname_wire_len == 65 && strlen(qtext(&q)) == 64);
	build_long(&p, l64, 1);
	CHECK(parse(p.b, p.len, &q) == DNS_E_LABEL);

	build_long(&p, n255, 4);
	CHECK(parse(p.b, p.len, &q) == DNS_OK);
	CHECK(q.qname_wire_len == 255 && strlen(qtext(&q)) == 254);
	CHECK(dns_text_to_wire(qtext(&q), wire, sizeof(wire)) == 255);
	CHECK(memcmp(wire, q.qname_wire, 255) == 0);
	build_long(&p, n256, 4);
	CHECK(parse(p.b, p.len, &q) == DNS_E_NAMELEN);

	/* 127 one-octet labels: 254 + root = 255, the most labels allowed. */
	build_long(&p, many, 127);
	CHECK(parse(p.b, p.len, &q) == DNS_OK && q.qname_wire_len == 255);
	/* 127 labels of 0xff, all escaped: the longest text name. */
	p.len = 0;
	p_hex(&p, HDR("0100", "0001", "0000", "0000", "0000"));
	for (i = 0; i < 127; i++)
		p_label(&p, 1, (char)0xff);
	p_hex(&p, "00" "00010001");
	CHECK(parse(p.b, p.len, &q) == DNS_OK);
	for (i = 0; i < 127; i++)
		memcpy(want + i * 5, "\\255.", 5);
	want[127 * 5] = '\0';
	CHECK(strcmp(qtext(&q), want) == 0);

	/* Long through compression: the limit counts the expanded name. */
	p.len = 0;
	p_hex(&p, HDR("0100", "0001", "0001", "0000", "0000"));
	p_label(&p, 63, 'a');
	p_label(&p, 63, 'b');
	p_label(&p, 63, 'c');
	p_hex(&p, "00" "00010001");
	p_label(&p, 61, 'x');
	p_hex(&p, "c00c" "0001" "0001" "00000000" "0000");
	CHECK(parse(p.b, p.len, &q) == DNS_OK);
	p.len = 0;
	p_hex(&p, HDR("0100", "0001", "0001", "0000", "0000"));
	p_label(&p, 63, 'a');
	p_label(&p, 63, 'b');
	p_label(&p, 63, 'c');
	p_hex(&p, "00" "00010001");
	p_label(&p, 62, 'x');
	p_hex(&p, "c00c" "0001" "0001" "00000000" "0000");
	CHECK(parse(p.b, p.len, &q) == DNS_E_NAMELEN);
}

/*
 * Pointer chains: TXT rdata holds a root octet and k pointers, each to the
 * one before; a second RR's owner points at the last.  That is 1 + k hops
 * with targets strictly decreasing, legal until the hop limit (128).
 */
static enum dns_err
chain(int k)
{
	struct pkt p = { .len = 0 };
	struct dns_query q;
	int j;

	p_hex(&p, HDR("0100", "0001", "0002", "0000", "0000") Q_WWW
	    "c00c" "0010" "0001" "00000000");
	p_u16(&p, 1 + 2 * k);
	p_hex(&p, "00");			/* offset 45 */
	for (j = 0; j < k; j++)
		p_u16(&p, 0xc000 | (j == 0 ? 45 : 46 + 2 * (j - 1)));
	p_u16(&p, 0xc000 | (46 + 2 * (k - 1)));
	p_hex(&p, "0001" "0001" "00000000" "0000");
	return parse(p.b, p.len, &q);
}

static void
test_hops(void)
{
	CHECK(chain(1) == DNS_OK);
	CHECK(chain(127) == DNS_OK);
	CHECK(chain(128) == DNS_E_POINTER);
	CHECK(chain(1000) == DNS_E_POINTER);
}

/* Every strict prefix of a rich valid query fails cleanly with "short". */
static void
test_truncation(void)
{
	struct pkt p = { .len = 0 };
	struct dns_query q;
	uint8_t out[512];
	char text[DNS_MAX_TEXT_NAME];
	size_t n, bad = 0;

	p_hex(&p, HDR("0100", "0001", "0001", "0001", "0002") Q_WWW RR_A
	    "03666f6fc010" "0002" "0001" "00000e10" "0002" "c00c" RR_A OPT);
	CHECK(parse(p.b, p.len, &q) == DNS_OK);
	for (n = 0; n < p.len; n++) {
		uint8_t *m = malloc(n ? n : 1);

		memcpy(m, p.b, n);
		if (dns_parse_query(m, n, &q) != DNS_E_SHORT)
			bad++;
		/* The rest must cope with the same cut messages. */
		(void)dns_answer_matches(m, n, 0xabcd, &q);
		(void)dns_make_answer(out, sizeof(out), m, n, &q, 1);
		(void)dns_name_to_text(m, n, DNS_HDR_LEN, text, sizeof(text));
		free(m);
	}
	CHECKF(bad == 0, "%zu prefixes did not fail with short", bad);
}

/* Does the parse with the name's length found first (dns_qname_len, as a
 * UDP datagram is) give the same verdict and name as the one that walks
 * it?  With what dns_qname_len said (*qn). */
static int
same_qn(const uint8_t *m, size_t n, size_t *qn)
{
	struct dns_query a, b;
	enum dns_err ea, eb;

	*qn = dns_qname_len(m, n);
	ea = dns_parse_query(m, n, &a);
	eb = dns_parse_query_qn(m, n, &b, *qn);
	return ea == eb && a.question_end == b.question_end &&
	    a.qtype == b.qtype && a.qclass == b.qclass &&
	    a.qname_wire_len == b.qname_wire_len &&
	    memcmp(a.qname_wire, b.qname_wire, a.qname_wire_len) == 0 &&
	    (ea != DNS_OK || *qn == 0 || *qn == a.qname_wire_len);
}

static void
test_qname_len(void)
{
	struct pkt p = { .len = 0 };
	size_t n, qn, bad = 0;
	int i;

	/* The common shape: the name's length, root octet included. */
	p_hex(&p, HDR("0100", "0001", "0000", "0000", "0001") Q_WWW_UC OPT);
	CHECK(same_qn(p.b, p.len, &qn) && qn == 17);
	/* Every prefix of it: 0 once QCLASS is cut, the same parse. */
	for (n = 0; n < p.len; n++)
		if (!same_qn(p.b, n, &qn) || (n < DNS_HDR_LEN + 21 && qn != 0))
			bad++;
	CHECKF(bad == 0, "%zu prefixes differ", bad);
	/* A pointer, a label over 63 octets, a name over 255: left to the
	 * walk, which says what is wrong. */
	p.len = 0;
	p_hex(&p, HDR("0100", "0001", "0000", "0000", "0000") "c00c" "00010001");
	CHECK(same_qn(p.b, p.len, &qn) && qn == 0);
	p.len = 0;
	p_hex(&p, HDR("0100", "0001", "0000", "0000", "0000"));
	p_label(&p, 64, 'a');
	p_hex(&p, "00" "00010001");
	CHECK(same_qn(p.b, p.len, &qn) && qn == 0);
	/* 255 octets exactly (labels of 63, 63, 63 and 61, the root), then
	 * 256. */
	for (i = 0; i < 2; i++) {
		p.len = 0;
		p_hex(&p, HDR("0100", "0001", "0000", "0000", "0000"));
		p_label(&p, 63, 'a');
		p_label(&p, 63, 'b');
		p_label(&p, 63, 'c');
		p_label(&p, 61 + i, 'd');
		p_hex(&p, "00" "00010001");
		CHECK(same_qn(p.b, p.len, &qn) && qn == (i == 0 ? 255 : 0));
	}
}

static const struct match_case {
	const char	*desc;
	const char	*hex;
	uint16_t	 id;
	int		 want;
} match_cases[] = {
	{ "answer", HDR("8180", "0001", "0001", "0000", "0000") Q_WWW RR_A,
	    0xabcd, 0 },
	{ "question only", HDR("8180", "0001", "0000", "0000", "0000") Q_WWW,
	    0xabcd, 0 },
	{ "truncated answer", HDR("8380", "0001", "0000", "0000", "0000")
	    Q_WWW, 0xabcd, 0 },
	{ "other case", HDR("8180", "0001", "0000", "0000", "0000") Q_WWW_UC,
	    0xabcd, 0 },
	{ "rest not walked", HDR("8180", "0001", "0005", "0000", "0000")
	    Q_WWW "ff", 0xabcd, 0 },
	{ "wrong id", HDR("8180", "0001", "0001", "0000", "0000") Q_WWW RR_A,
	    0xabce, -1 },
	{ "QR clear", HDR("0180", "0001", "0001", "0000", "0000") Q_WWW RR_A,
	    0xabcd, -1 },
	{ "QDCOUNT 0", HDR("8181", "0000", "0000", "0000", "0000"),
	    0xabcd, -1 },
	{ "QDCOUNT 2", HDR("8180", "0002", "0000", "0000", "0000") Q_WWW Q_WWW,
	    0xabcd, -1 },
	{ "other name", HDR("8180", "0001", "0000", "0000", "0000")
	    "03777777076578616d706c6503636f6e00" "00010001", 0xabcd, -1 },
	{ "longer name", HDR("8180", "0001", "0000", "0000", "0000")
	    "03777777076578616d706c6503636f6d017800" "00010001", 0xabcd, -1 },
	{ "parent name", HDR("8180", "0001", "0000", "0000", "0000")
	    "076578616d706c6503636f6d00" "00010001", 0xabcd, -1 },
	{ "other type", HDR("8180", "0001", "0000", "0000", "0000")
	    "03777777076578616d706c6503636f6d00" "001c0001", 0xabcd, -1 },
	{ "other class", HDR("8180", "0001", "0000", "0000", "0000")
	    "03777777076578616d706c6503636f6d00" "00010003", 0xabcd, -1 },
	{ "pointer loop", HDR("8180", "0001", "0000", "0000", "0000")
	    "0161c00c" "00010001", 0xabcd, -1 },
	{ "bad label", HDR("8180", "0001", "0000", "0000", "0000")
	    "4161" "00010001", 0xabcd, -1 },
	{ "short", "abcd81", 0xabcd, -1 },
};

/* dns_bytes_eq says what memcmp says, for every length up to a long name
 * and a difference at every place, the last word overlapping or not. */
static void
test_bytes_eq(void)
{
	uint8_t a[DNS_MAX_WIRE_NAME + 8], b[sizeof(a)];
	size_t n, i;

	for (i = 0; i < sizeof(a); i++)
		a[i] = b[i] = (uint8_t)(i * 7 + 1);
	for (n = 0; n <= DNS_MAX_WIRE_NAME; n++) {
		CHECK(dns_bytes_eq(a, b, n));
		/* Past n they differ: not compared. */
		b[n] ^= 0x20;
		CHECK(dns_bytes_eq(a, b, n));
		b[n] ^= 0x20;
		for (i = 0; i < n; i++) {
			b[i] ^= 0x01;
			CHECK(!dns_bytes_eq(a, b, n));
			CHECK(!dns_bytes_eq(b, a, n));
			b[i] ^= 0x01;
		}
	}
}

static void
test_answer_matches(void)
{
	struct pkt p = { .len = 0 }, a;
	struct dns_query q, none;
	size_t i, n, bad = 0;

	p_hex(&p, HDR("0100", "0001", "0000", "0000", "0001") Q_WWW OPT);
	CHECK(parse(p.b, p.len, &q) == DNS_OK);
	sent_query = p.b;
	for (i = 0; i < NELEMS(match_cases); i++) {
		const struct match_case *c = &match_cases[i];

		a.len = 0;
		p_hex(&a, c->hex);
		CHECKF(matches(a.b, a.len, c->id, &q) == c->want, "%s",
		    c->desc);
	}

	/* Every cut inside the question fails. */
	a.len = 0;
	p_hex(&a, HDR("8180", "0001", "0000", "0000", "0000") Q_WWW);
	for (n = 0; n < a.len; n++)
		if (matches(a.b, n, 0xabcd, &q) != -1)
			bad++;
	CHECK(bad == 0);
	CHECK(matches(a.b, a.len, 0xabcd, &q) == 0);
	sent_query = NULL;

	/* A query whose question did not parse matches nothing. */
	p.len = 0;
	p_hex(&p, HDR("0100", "0002", "0000", "0000", "0000") Q_WWW Q_WWW);
	CHECK(parse(p.b, p.len, &none) == DNS_E_QDCOUNT);
	CHECK(matches(a.b, a.len, 0xabcd, &none) == -1);
}

static const struct bare_case {
	const char	*desc;
	const char	*hex;
	uint16_t	 id;
	int		 want;		/* rcode, or -1 */
} bare_cases[] = {
	{ "FORMERR", HDR("8101", "0000", "0000", "0000", "0000"), 0xabcd, 1 },
	{ "SERVFAIL", HDR("8102", "0000", "0000", "0000", "0000"), 0xabcd, 2 },
	{ "NOTIMP", HDR("8004", "0000", "0000", "0000", "0000"), 0xabcd, 4 },
	{ "REFUSED", HDR("8485", "0000", "0000", "0000", "0000"), 0xabcd, 5 },
	{ "FORMERR with OPT", HDR("8101", "0000", "0000", "0000", "0001") OPT,
	    0xabcd, 1 },
	{ "NOERROR", HDR("8180", "0000", "0000", "0000", "0000"), 0xabcd, -1 },
	{ "NXDOMAIN", HDR("8183", "0000", "0000", "0000", "0000"), 0xabcd, -1 },
	{ "YXDOMAIN", HDR("8186", "0000", "0000", "0000", "0000"), 0xabcd, -1 },
	{ "wrong id", HDR("8101", "0000", "0000", "0000", "0000"), 0xabce, -1 },
	{ "QR clear", HDR("0101", "0000", "0000", "0000", "0000"), 0xabcd, -1 },
	{ "other opcode", HDR("a101", "0000", "0000", "0000", "0000"),
	    0xabcd, -1 },
	{ "with a question", HDR("8101", "0001", "0000", "0000", "0000") Q_WWW,
	    0xabcd, -1 },
	{ "with answers", HDR("8101", "0000", "0001", "0000", "0000") RR_A,
	    0xabcd, -1 },
	{ "with authority", HDR("8105", "0000", "0000", "0001", "0000") RR_A,
	    0xabcd, -1 },
	{ "short", "abcd8101000000000000", 0xabcd, -1 },
};

/* A bare header with an error rcode: accepted apart from the question
 * check, never where dns_answer_matches accepts. */
static void
test_answer_headerless(void)
{
	struct pkt p = { .len = 0 }, a;
	struct dns_query q;
	uint8_t *m, out[512];
	size_t i, n;

	p_hex(&p, HDR("0100", "0001", "0000", "0000", "0001") Q_WWW OPT);
	CHECK(parse(p.b, p.len, &q) == DNS_OK);
	for (i = 0; i < NELEMS(bare_cases); i++) {
		const struct bare_case *c = &bare_cases[i];

		a.len = 0;
		p_hex(&a, c->hex);
		if ((m = malloc(a.len)) == NULL)
			abort();
		memcpy(m, a.b, a.len);
		CHECKF(dns_answer_headerless(m, a.len, c->id, &q) == c->want,
		    "%s", c->desc);
		CHECKF(c->want == -1 || dns_answer_matches(m, a.len, c->id,
		    &q) == -1, "%s: matches too", c->desc);
		free(m);
	}
	/* The router's own header-only FORMERR is such an answer. */
	p.len = 0;
	p_hex(&p, HDR("0100", "0000", "0000", "0000", "0000"));
	CHECK(parse(p.b, p.len, &q) == DNS_E_QDCOUNT);
	n = dns_make_answer(out, sizeof(out), p.b, p.len, &q,
	    DNS_RCODE_FORMERR);
	CHECK(n == 12 && dns_answer_headerless(out, n, 0xabcd, &q) == 1);
}

/* TCP framing: lengths, frames cut anywhere, pipelined frames. */
static void
test_tcp_next(void)
{
	static const uint8_t s[] = { 0, 3, 'a', 'b', 'c', 0, 0, 0, 2, 'x' };
	size_t cut, off;
	long l;

	CHECK(dns_tcp_next(s, 0, 0) == -1);
	CHECK(dns_tcp_next(s, 1, 0) == -1);
	CHECK(dns_tcp_next(s, 2, 0) == -1);
	CHECK(dns_tcp_next(s, 4, 0) == -1);
	CHECK(dns_tcp_next(s, 5, 0) == 3);
	CHECK(dns_tcp_next(s, 5, 5) == -1);
	CHECK(dns_tcp_next(s, 7, 5) == 0);		/* an empty message */
	CHECK(dns_tcp_next(s, 10, 7) == -1);		/* 2 said, 1 there */
	/* Whatever arrived, the frames found are the complete ones. */
	for (cut = 0; cut <= sizeof(s); cut++) {
		int found = 0;

		for (off = 0; (l = dns_tcp_next(s, cut, off)) >= 0;
		    off += 2 + (size_t)l)
			found++;
		CHECKF(found == (cut >= 7 ? 2 : cut >= 5 ? 1 : 0),
		    "cut at %zu: %d frames", cut, found);
		CHECK(off <= cut);
	}
	{
		static const uint8_t big[] = { 0xff, 0xff, 1, 2, 3 };

		CHECK(dns_tcp_next(big, sizeof(big), 0) == -1);
	}
}

static void
test_make_answer(void)
{
	struct pkt p = { .len = 0 };
	struct dns_query q, q2;
	uint8_t out[512];
	size_t n;

	/* AA, RA, AD, CD set in the query are not echoed; RD is. */
	p_hex(&p, HDR("05b0", "0001", "0000", "0000", "0001") Q_WWW_UC OPT);
	CHECK(parse(p.b, p.len, &q) == DNS_OK);
	n = dns_make_answer(out, sizeof(out), p.b, p.len, &q,
	    DNS_RCODE_REFUSED);
	CHECK(n == 33);
	CHECK(dns_get_id(out) == 0xabcd);
	CHECK(out[2] == 0x81 && out[3] == 0x05);
	CHECK(memcmp(out + 4, "\0\1\0\0\0\0\0\0", 8) == 0);
	/* The question goes back as the client wrote it (0x20 survives). */
	CHECK(memcmp(out + 12, p.b + 12, n - 12) == 0);
	CHECK(dns_answer_matches(out, n, 0xabcd, &q) == 0);
	CHECK(dns_answer_matches(out, n, 0xabce, &q) == -1);
	out[2] &= ~0x80;
	CHECK(dns_parse_query(out, n, &q2) == DNS_OK);
	CHECK(strcmp(qtext(&q2), "www.example.com.") == 0 && !q2.has_opt);
	CHECK(DNS_RCODE(q2.flags) == DNS_RCODE_REFUSED);

	/* Too small a buffer, too short a message. */
	CHECK(dns_make_answer(out, 32, p.b, p.len, &q, 2) == 0);
	CHECK(dns_make_answer(out, 33, p.b, p.len, &q, 2) == 33);
	CHECK(dns_make_answer(out, sizeof(out), p.b, 11, &q, 2) == 0);

	/* NOTIFY: opcode copied, RD clear stays clear. */
	p.len = 0;
	p_hex(&p, HDR("2400", "0001", "0000", "0000", "0000") Q_WWW);
	CHECK(parse(p.b, p.len, &q) == DNS_OK);
	n = dns_make_answer(out, sizeof(out), p.b, p.len, &q,
	    DNS_RCODE_NOTIMP);
	CHECK(n == 33 && out[2] == 0xa0 && out[3] == 0x04);

	/* The question did not parse: header only, QDCOUNT 0, ID echoed. */
	p.len = 0;
	p_hex(&p, HDR("0100", "0002", "0000", "0000", "0000") Q_WWW Q_WWW);
	CHECK(parse(p.b, p.len, &q) == DNS_E_QDCOUNT);
	n = dns_make_answer(out, sizeof(out), p.b, p.len, &q,
	    DNS_RCODE_FORMERR);
	CHECK(n == 12 && dns_get_id(out) == 0xabcd);
	CHECK(out[2] == 0x81 && out[3] == 0x01);
	CHECK(memcmp(out + 4, "\0\0\0\0\0\0\0\0", 8) == 0);

	/* TC on a query: FORMERR without TC. */
	p.len = 0;
	p_hex(&p, HDR("0300", "0001", "0000", "0000", "0000") Q_WWW);
	CHECK(parse(p.b, p.len, &q) == DNS_E_TC);
	n = dns_make_answer(out, sizeof(out), p.b, p.len, &q,
	    DNS_RCODE_FORMERR);
	CHECK(n == 12 && out[2] == 0x81 && out[3] == 0x01);

	/* Bad OPT after a good question: the question is echoed. */
	p.len = 0;
	p_hex(&p, HDR("0100", "0001", "0001", "0000", "0000") Q_WWW OPT);
	CHECK(parse(p.b, p.len, &q) == DNS_E_OPT);
	n = dns_make_answer(out, sizeof(out), p.b, p.len, &q,
	    DNS_RCODE_FORMERR);
	CHECK(n == 33 && out[5] == 1 && out[7] == 0);
	CHECK(dns_answer_matches(out, n, 0xabcd, &q) == 0);
}

static const struct text_case {
	const char	*in;
	const char	*wire_hex;	/* NULL: invalid */
	const char	*text;		/* canonical presentation */
} text_cases[] = {
	{ ".", "00", "." },
	{ "www.example.com", "03777777076578616d706c6503636f6d00",
	    "www.example.com." },
	{ "Www.Example.COM.", "03777777076578616d706c6503636f6d00",
	    "www.example.com." },
	{ "a\\.b.c.", "03612e620163" "00", "a\\046b.c." },
	{ "a\\032b", "0361206200", "a\\032b." },
	{ "a b", "0361206200", "a\\032b." },
	{ "\\255", "01ff00", "\\255." },
	{ "\\000", "010000", "\\000." },
	{ "a\\\\b", "03615c6200", "a\\092b." },
	{ "\\065\\B", "02616200", "ab." },
	{ "_sip._tcp.*", "045f736970045f746370012a00", "_sip._tcp.*." },
	{ "x\\..", "02782e00", "x\\046." },
	{ "", NULL, NULL },
	{ "..", NULL, NULL },
	{ ".a", NULL, NULL },
	{ "a..b", NULL, NULL },
	{ "a\\", NULL, NULL },
	{ "\\256", NULL, NULL },
	{ "\\1", NULL, NULL },
	{ "\\12x", NULL, NULL },
	{ "0123456789012345678901234567890123456789012345678901234567890123",
	    NULL, NULL },
};

static void
test_text(void)
{
	struct pkt want, msg;
	uint8_t wire[DNS_MAX_WIRE_NAME], wire2[DNS_MAX_WIRE_NAME];
	char text[DNS_MAX_TEXT_NAME], name[300];
	size_t i;
	int n, m;

	for (i = 0; i < NELEMS(text_cases); i++) {
		const struct text_case *c = &text_cases[i];

		n = dns_text_to_wire(c->in, wire, sizeof(wire));
		if (c->wire_hex == NULL) {
			CHECKF(n == -1, "'%s': %d", c->in, n);
			continue;
		}
		want.len = 0;
		p_hex(&want, c->wire_hex);
		CHECKF(n == (int)want.len && memcmp(wire, want.b, n) == 0,
		    "'%s': wire", c->in);
		/* Back to text through a message, then to wire again. */
		msg.len = 0;
		p_hex(&msg, HDR("0100", "0001", "0000", "0000", "0000"));
		p_bytes(&msg, wire, n);
		m = dns_name_to_text(msg.b, msg.len, 12, text, sizeof(text));
		CHECKF(m == (int)strlen(c->text) && strcmp(text, c->text) == 0,
		    "'%s': text '%s'", c->in, m < 0 ? "" : text);
		CHECK(dns_text_to_wire(text, wire2, sizeof(wire2)) == n);
		CHECK(memcmp(wire, wire2, n) == 0);
	}

	/* 63-octet label, 255-octet names, and one over. */
	memset(name, 'a', 63);
	name[63] = '\0';
	CHECK(dns_text_to_wire(name, wire, sizeof(wire)) == 65);
	for (i = 0; i < 253; i++)
		name[i] = i % 2 ? '.' : 'a';
	name[253] = '\0';		/* 127 labels "a": 255 octets */
	CHECK(dns_text_to_wire(name, wire, sizeof(wire)) == 255);
	name[253] = '.';
	name[254] = '\0';
	CHECK(dns_text_to_wire(name, wire, sizeof(wire)) == 255);
	name[253] = 'a';		/* the last label becomes "aa" */
	CHECK(dns_text_to_wire(name, wire, sizeof(wire)) == -1);

	/* Output buffers too small. */
	CHECK(dns_text_to_wire("a", wire, 2) == -1);
	CHECK(dns_text_to_wire("a", wire, 3) == 3);
	CHECK(dns_text_to_wire(".", wire, 0) == -1);
	msg.len = 0;
	p_hex(&msg, HDR("0100", "0001", "0000", "0000", "0000") Q_WWW);
	CHECK(dns_name_to_text(msg.b, msg.len, 12, text, 16) == -1);
	CHECK(dns_name_to_text(msg.b, msg.len, 12, text, 17) == 16);
	CHECK(dns_name_to_text(msg.b, msg.len, 28, text, 1) == -1);
	CHECK(dns_name_to_text(msg.b, msg.len, 28, text, 2) == 1);
	CHECK(strcmp(text, ".") == 0);
	/* Compressed names, offsets out of range, loops. */
	msg.len = 0;
	p_hex(&msg, HDR("0100", "0001", "0001", "0000", "0000") Q_WWW
	    "03666f6fc010" "0001" "0001" "00000000" "0000" "c021");
	CHECK(dns_name_to_text(msg.b, msg.len, 33, text, sizeof(text)) == 16);
	CHECK(strcmp(text, "foo.example.com.") == 0);
	CHECK(dns_name_to_text(msg.b, msg.len, msg.len - 2, text,
	    sizeof(text)) == 16);
	CHECK(dns_name_to_text(msg.b, msg.len, 16, text, sizeof(text)) == 12);
	CHECK(dns_name_to_text(msg.b, msg.len, msg.len, text,
	    sizeof(text)) == -1);
	/* Offset 38 is inside a pointer: a 16-octet label running off the end. */
	CHECK(dns_name_to_text(msg.b, msg.len, 38, text, sizeof(text)) == -1);
	CHECK(dns_name_to_text(msg.b, 12, 12, text, sizeof(text)) == -1);
}

/* ASCII lowercase of one octet, as the parser must give it. */
static uint8_t
lower_ref(uint8_t c)
{
	return c >= 'A' && c <= 'Z' ? c + 32 : c;
}

/*
 * The question name is lowercased octet for octet: only 'A' to 'Z' move,
 * whatever the octets around them, in names of every length (labels of
 * every length, the octets 0 to 255 in every position of a word), and a
 * compressed name read by dns_name_read comes out the same, a run before
 * and after its pointer.
 */
static void
test_lowercase(void)
{
	struct dns_query q;
	struct pkt p;
	uint8_t want[DNS_MAX_WIRE_NAME], wire[DNS_MAX_WIRE_NAME], *b;
	size_t wl, off, n, i, k;
	unsigned int start, bad = 0, badptr = 0;

	for (start = 0; start < 256; start += 7) {
		for (n = 2; n <= 250; n += (n < 20 ? 1 : 9)) {
			/* A name of n octets before the root: labels of up
			 * to 63, octets counting up from start (none left
			 * over for a label of its own). */
			if (n % 64 == 1)
				continue;
			p.len = 0;
			p_hex(&p, HDR("0000", "0001", "0000", "0000", "0000"));
			wl = 0;
			for (k = start; wl < n; ) {
				size_t l = n - wl - 1 < 63 ? n - wl - 1 : 63;

				want[wl++] = (uint8_t)l;
				p.b[p.len++] = (uint8_t)l;
				for (i = 0; i < l; i++, k++) {
					want[wl++] = lower_ref((uint8_t)k);
					p.b[p.len++] = (uint8_t)k;
				}
			}
			want[wl++] = 0;
			p_hex(&p, "00" "00010001");
			/* The same name again, compressed: two labels of
			 * it, then a pointer to the rest. */
			p_hex(&p, "01" "41" "015a");
			p_u16(&p, 0xc000 | DNS_HDR_LEN);
			b = xmalloc(p.len);
			memcpy(b, p.b, p.len);
			if (dns_parse_query(b, p.len - 6, &q) != DNS_OK ||
			    q.qname_wire_len != wl ||
			    memcmp(q.qname_wire, want, wl) != 0)
				bad++;
			off = p.len - 6;
			if (dns_name_read(b, p.len, &off, wire, &k) != 0 ||
			    off != p.len || k != wl + 4 ||
			    memcmp(wire, "\x01" "a" "\x01" "z", 4) != 0 ||
			    memcmp(wire + 4, want, wl) != 0)
				badptr++;
			free(b);
		}
	}
	CHECKF(bad == 0, "%u names lowercased wrong", bad);
	CHECKF(badptr == 0, "%u compressed names read wrong", badptr);
}

static void
test_err_str(void)
{
	static const char *const want[DNS_E_MAX] = {
		"ok", "short", "qr-set", "tc-set", "qdcount", "bad-label",
		"name-too-long", "bad-pointer", "bad-opt", "trailing-bytes",
		"bad-edns-option",
	};
	int i;

	for (i = 0; i < DNS_E_MAX; i++)
		CHECK(strcmp(dns_err_str(i), want[i]) == 0);
	CHECK(dns_err_str(DNS_E_MAX) != NULL);
	CHECK(dns_err_str((enum dns_err)-1) != NULL);
}

/* ---- dnsxfr: where a transfer ends ---- */

/* A message of a transfer of big.: header with an answer count, then
 * records in hex. */
#define XNAME	"0362696700"
#define XSOA(serial) XNAME "0006" "0001" "0000012c" "0018" "c00c" "c00c" \
	serial "00000e10" "00000e10" "00000e10" "00000e10"
#define XA(last) XNAME "0001" "0001" "0000012c" "0004" "0a0000" last

static int
feed(struct dns_xfr *x, const char *hdr_an, const char *records)
{
	struct pkt p;
	uint8_t *b;
	int r;

	p.len = 0;
	p_hex(&p, "1234" "8400" "0000");
	p_hex(&p, hdr_an);
	p_hex(&p, "0000" "0000");
	p_hex(&p, records);
	b = xmalloc(p.len);
	memcpy(b, p.b, p.len);
	r = dns_xfr_feed(x, b, p.len);
	free(b);
	return r;
}

static void
test_xfr_end(void)
{
	struct dns_xfr x;
	struct pkt p;

	/* AXFR: SOA, records, SOA; over messages or in one. */
	dns_xfr_init(&x, DNS_TYPE_AXFR);
	CHECK(feed(&x, "0002", XSOA("00000005") XA("01")) == 0);
	CHECK(feed(&x, "0001", XA("02")) == 0);
	CHECK(feed(&x, "0000", "") == 0);
	CHECK(feed(&x, "0002", XA("03") XSOA("00000005")) == 1);
	CHECK(x.nrr == 5 && x.nsoa == 2);
	dns_xfr_init(&x, DNS_TYPE_AXFR);
	CHECK(feed(&x, "0003", XSOA("00000005") XA("01") XSOA("00000005"))
	    == 1);
	/* Not a transfer: no SOA first; records after the last SOA; a
	 * record cut short; an SOA without its five numbers. */
	dns_xfr_init(&x, DNS_TYPE_AXFR);
	CHECK(feed(&x, "0001", XA("01")) == -1);
	dns_xfr_init(&x, DNS_TYPE_AXFR);
	CHECK(feed(&x, "0003", XSOA("00000005") XSOA("00000005") XA("01"))
	    == -1);
	dns_xfr_init(&x, DNS_TYPE_AXFR);
	CHECK(feed(&x, "0002", XSOA("00000005") XA("")) == -1);
	dns_xfr_init(&x, DNS_TYPE_AXFR);
	CHECK(feed(&x, "0001", XNAME "0006" "0001" "0000012c" "0004"
	    "c00c" "c00c") == -1);
	/* An error rcode is the last message; no QR is no answer. */
	dns_xfr_init(&x, DNS_TYPE_AXFR);
	p.len = 0;
	p_hex(&p, "1234" "8405" "0000" "0000" "0000" "0000");
	CHECK(dns_xfr_feed(&x, p.b, p.len) == 1);
	p.b[2] = 0x04;
	CHECK(dns_xfr_feed(&x, p.b, p.len) == -1);

	/* IXFR: a lone SOA (up to date); AXFR style; differences, where
	 * the newest serial closes only in an old SOA's place. */
	dns_xfr_init(&x, DNS_TYPE_IXFR);
	CHECK(feed(&x, "0001", XSOA("00000009")) == 1);
	dns_xfr_init(&x, DNS_TYPE_IXFR);
	CHECK(feed(&x, "0002", XSOA("00000009") XA("01")) == 0);
	CHECK(feed(&x, "0001", XSOA("00000009")) == 1);
	dns_xfr_init(&x, DNS_TYPE_IXFR);
	CHECK(feed(&x, "0004", XSOA("00000009") XSOA("00000007") XA("01")
	    XSOA("00000008")) == 0);
	CHECK(feed(&x, "0003", XA("02") XSOA("00000008") XA("03")) == 0);
	/* The last difference ends in the newest serial: not the end. */
	CHECK(feed(&x, "0002", XSOA("00000009") XA("04")) == 0);
	CHECK(feed(&x, "0001", XSOA("00000009")) == 1);
	CHECK(x.nsoa == 6 && x.nrr == 10);
}

/* ---- dnsecs: the client's network in the query, not in the answer ---- */

static void
ecs_case(const char *hex, int replace, enum dns_ecs_result want,
    const char *want_hex)
{
	struct sockaddr_in sin;
	struct dns_query q;
	struct pkt p, w;
	uint8_t out[600];
	size_t olen = sizeof(out);

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(0xc0a80a63);	/* 192.168.10.99 */
	p.len = 0;
	p_hex(&p, hex);
	CHECK(dns_parse_query(p.b, p.len, &q) == DNS_OK);
	CHECKF(dns_ecs_add(p.b, p.len, &q, (struct sockaddr *)&sin, 20, 56,
	    replace, out, &olen) == want, "%s", hex);
	if (want_hex == NULL)
		return;
	w.len = 0;
	p_hex(&w, want_hex);
	CHECKF(olen == w.len && memcmp(out, w.b, w.len) == 0, "%s", hex);
}

static void
test_ecs(void)
{
	struct pkt p;
	size_t n;

	/* Added at the end of the options: family 1, /20, scope 0, three
	 * octets, the bits past 20 zero. */
	ecs_case(HDR("0100", "0001", "0000", "0000", "0001") Q_WWW OPT, 0,
	    DNS_ECS_ADDED, HDR("0100", "0001", "0000", "0000", "0001") Q_WWW
	    "00" "0029" "1000" "00008000" "000b" "0008" "0007" "0001" "14"
	    "00" "c0a800");
	/* The client's own: kept; replaced; a /0 opt-out kept anyway. */
	ecs_case(HDR("0100", "0001", "0000", "0000", "0001") Q_WWW
	    OPT_WITH("000b", "0008" "0007" "0001" "18" "00" "0a0102"), 0,
	    DNS_ECS_KEPT, NULL);
	ecs_case(HDR("0100", "0001", "0000", "0000", "0001") Q_WWW
	    OPT_WITH("000f", "000a" "0000" "0008" "0007" "0001" "18" "00"
	    "0a0102"), 1, DNS_ECS_REPLACED,
	    HDR("0100", "0001", "0000", "0000", "0001") Q_WWW
	    OPT_WITH("000f", "000a" "0000" "0008" "0007" "0001" "14" "00"
	    "c0a800"));
	ecs_case(HDR("0100", "0001", "0000", "0000", "0001") Q_WWW
	    OPT_WITH("0008", "0008" "0004" "0001" "00" "00"), 1,
	    DNS_ECS_KEPT, NULL);
	/* No EDNS: nothing added. */
	ecs_case(HDR("0100", "0001", "0000", "0000", "0000") Q_WWW, 0,
	    DNS_ECS_NO_EDNS, NULL);

	/* Out of an answer: the ECS option only, RDLENGTH fixed. */
	p.len = 0;
	p_hex(&p, HDR("8180", "0001", "0000", "0000", "0001") Q_WWW
	    OPT_WITH("000f", "0008" "0007" "0001" "18" "18" "0a0102" "000a"
	    "0000"));
	n = dns_ecs_strip(p.b, p.len);
	CHECK(n == p.len - 11);
	CHECK(p.b[n - 6] == 0x00 && p.b[n - 5] == 0x04);	/* RDLENGTH */
	CHECK(p.b[n - 4] == 0x00 && p.b[n - 3] == 0x0a);	/* the cookie */
	CHECK(dns_ecs_strip(p.b, n) == n);
}

int
main(void)
{
	test_parse_table();
	test_fields();
	test_lengths();
	test_hops();
	test_truncation();
	test_qname_len();
	test_bytes_eq();
	test_answer_matches();
	test_answer_headerless();
	test_tcp_next();
	test_make_answer();
	test_text();
	test_lowercase();
	test_err_str();
	test_xfr_end();
	test_ecs();
	UNIT_DONE("dnsmsg");
}

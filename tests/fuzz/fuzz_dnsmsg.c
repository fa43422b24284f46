// FUZZ-BUILD: common/dnsmsg.c $(pkg-config --cflags --libs ldns)
/*
 * fuzz_dnsmsg: libFuzzer target for the wire parser.  Every entry point
 * gets the raw input; the sanitizers catch overreads and UB, and the
 * checks below turn disagreements into aborts:
 *
 * - Between our own functions: the name's presentation form converts
 *   back to the same wire name; dns_name_to_text() at offset 12 gives the
 *   same text; the answer dns_make_answer() builds matches the query and
 *   parses back; the input with QR toggled is an answer to itself; a query
 *   (QR clear) never matches as its own answer.
 * - The bare-header check (dns_answer_headerless): what it accepts has QR,
 *   no question and an error rcode, and never also matches with a
 *   question; the router's own header-only FORMERR passes it.
 * - A message refused for its EDNS options has an OPT and a question.
 * - Against ldns, on the question only.  Whenever we accept a question,
 *   ldns_wire2pkt() must accept the header plus that question (counts of
 *   the other sections zeroed) and find the same name (without case), type
 *   and class.  The whole message is not an invariant: we walk RRs only to
 *   the rdata bounds, while ldns parses rdata by type, so it rightly rejects
 *   an A record with 3 octets of rdata or an NS whose rdata holds a bad
 *   pointer, both of which we accept and leave to the backend.  Nor is the
 *   reverse: ldns is laxer (forward pointers, OPT anywhere, trailing bytes).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ldns/ldns.h>

#include "dnsmsg.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* www.example.com A IN with OPT, DO set. */
static const uint8_t fixed_msg[] = {
	0x12, 0x34, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01,
	3, 'w', 'w', 'w', 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 3, 'c', 'o',
	'm', 0, 0x00, 0x01, 0x00, 0x01,
	0, 0x00, 0x29, 0x10, 0x00, 0x00, 0x00, 0x80, 0x00, 0x00, 0x00,
};
static struct dns_query fixed;
static int fixed_ready;

static void
fail(const char *what, size_t size)
{
	fprintf(stderr, "fuzz_dnsmsg: %s (input of %zu bytes)\n", what, size);
	abort();
}

static void
check_ldns(const uint8_t *data, const struct dns_query *q, size_t size)
{
	uint8_t msg[DNS_HDR_LEN + DNS_MAX_WIRE_NAME + 4];
	uint8_t owner[DNS_MAX_WIRE_NAME];
	ldns_pkt *pkt = NULL;
	ldns_rr *rr;
	ldns_rdf *rdf;
	size_t i, n = q->question_end;

	memcpy(msg, data, n);
	memset(msg + 6, 0, 6);
	if (ldns_wire2pkt(&pkt, msg, n) != LDNS_STATUS_OK)
		fail("ldns rejects a question we accepted", size);
	if (ldns_rr_list_rr_count(ldns_pkt_question(pkt)) != 1)
		fail("ldns sees no question", size);
	rr = ldns_rr_list_rr(ldns_pkt_question(pkt), 0);
	rdf = ldns_rr_owner(rr);
	if (ldns_rdf_size(rdf) != q->qname_wire_len)
		fail("ldns question name length differs", size);
	memcpy(owner, ldns_rdf_data(rdf), ldns_rdf_size(rdf));
	for (i = 0; i < q->qname_wire_len; i++)
		if (owner[i] >= 'A' && owner[i] <= 'Z')
			owner[i] += 'a' - 'A';
	if (memcmp(owner, q->qname_wire, q->qname_wire_len) != 0)
		fail("ldns question name differs", size);
	if (ldns_rr_get_type(rr) != q->qtype ||
	    ldns_rr_get_class(rr) != q->qclass)
		fail("ldns question type or class differs", size);
	ldns_pkt_free(pkt);
}

static void
check_question(const uint8_t *data, size_t size, const struct dns_query *q,
    uint8_t *ans, size_t anslen)
{
	uint8_t wire[DNS_MAX_WIRE_NAME];
	char qtext[DNS_MAX_TEXT_NAME], text[DNS_MAX_TEXT_NAME];
	struct dns_query q2;
	int n, qlen;

	qlen = dns_wire_to_text(q->qname_wire, qtext, sizeof(qtext));
	if (qlen < 0 || (size_t)qlen != strlen(qtext))
		fail("qname_wire has no text form", size);
	n = dns_text_to_wire(qtext, wire, sizeof(wire));
	if (n != q->qname_wire_len || memcmp(wire, q->qname_wire, n) != 0)
		fail("the text name does not convert back to qname_wire", size);
	n = dns_name_to_text(data, size, DNS_HDR_LEN, text, sizeof(text));
	if (n != qlen || strcmp(text, qtext) != 0)
		fail("dns_name_to_text differs from the parse", size);

	if (anslen != q->question_end)
		fail("answer does not echo the question", size);
	if (dns_answer_matches(ans, anslen, q->id, q) != 0)
		fail("our own answer does not match", size);
	ans[2] &= ~(DNS_FLAG_QR >> 8);
	if (dns_parse_query(ans, anslen, &q2) != DNS_OK ||
	    q2.qname_wire_len != q->qname_wire_len ||
	    memcmp(q2.qname_wire, q->qname_wire, q->qname_wire_len) != 0 ||
	    q2.qtype != q->qtype ||
	    q2.qclass != q->qclass || q2.id != q->id)
		fail("our own answer does not parse back", size);

	check_ldns(data, q, size);
}

/* Whatever msg is: taken as a bare-header error answer only when it is
 * one, and then never also as an answer with the question. */
static void
check_headerless(const uint8_t *msg, size_t size, uint16_t id,
    const struct dns_query *q)
{
	int rcode = dns_answer_headerless(msg, size, id, q);

	if (rcode == -1)
		return;
	if (rcode != DNS_RCODE_FORMERR && rcode != DNS_RCODE_SERVFAIL &&
	    rcode != DNS_RCODE_NOTIMP && rcode != DNS_RCODE_REFUSED)
		fail("bare header taken with a rcode that is no error", size);
	if (size < DNS_HDR_LEN || !(msg[2] & 0x80) || msg[4] != 0 ||
	    msg[5] != 0 || dns_get_id(msg) != id ||
	    DNS_RCODE(msg[3]) != rcode)
		fail("bare header taken with QR clear, a question or an ID "
		    "not ours", size);
	if (dns_answer_matches(msg, size, id, q) == 0)
		fail("bare header also matches with a question", size);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dns_query q, q2;
	uint8_t ans[DNS_HDR_LEN + DNS_MAX_WIRE_NAME + 4], *copy;
	char text[DNS_MAX_TEXT_NAME];
	enum dns_err e;
	size_t n;

	if (!fixed_ready) {
		if (dns_parse_query(fixed_msg, sizeof(fixed_msg), &fixed) !=
		    DNS_OK)
			fail("fixed query does not parse", 0);
		fixed_ready = 1;
	}

	e = dns_parse_query(data, size, &q);
	if ((unsigned int)e >= DNS_E_MAX || dns_err_str(e)[0] == '\0')
		fail("bad error code", size);
	/* The UDP path's: the name's length found first, not walked again. */
	if (dns_parse_query_qn(data, size, &q2, dns_qname_len(data, size)) !=
	    e || q2.question_end != q.question_end || q2.id != q.id ||
	    q2.flags != q.flags || q2.qtype != q.qtype ||
	    q2.has_opt != q.has_opt || q2.edns_udp_size != q.edns_udp_size ||
	    q2.qname_wire_len != q.qname_wire_len ||
	    memcmp(q2.qname_wire, q.qname_wire, q.qname_wire_len) != 0)
		fail("dns_parse_query_qn differs from dns_parse_query", size);
	if (e == DNS_OK && q.question_end == 0)
		fail("DNS_OK without a question", size);
	if (dns_answer_matches_sent(data, size, fixed.id, &fixed, fixed_msg) !=
	    dns_answer_matches(data, size, fixed.id, &fixed))
		fail("byte-compare match differs from the name walk", size);
	if (dns_answer_matches(data, size, q.id, &q) != -1)
		fail("a query matches as its own answer", size);
	check_headerless(data, size, fixed.id, &fixed);
	check_headerless(data, size, q.id, &q);
	if (e == DNS_E_EDNS_OPTION && (!q.has_opt || q.question_end == 0))
		fail("bad EDNS option without an OPT or a question", size);
	n = dns_make_answer(ans, sizeof(ans), data, size, &q,
	    DNS_RCODE_FORMERR);
	if ((size >= DNS_HDR_LEN) != (n != 0))
		fail("dns_make_answer length", size);
	(void)dns_name_to_text(data, size, DNS_HDR_LEN, text, sizeof(text));
	if (q.question_end != 0)
		check_question(data, size, &q, ans, n);
	else if (n != 0 && dns_answer_headerless(ans, n, q.id, &q) !=
	    DNS_RCODE_FORMERR)
		fail("our own header-only FORMERR is not taken", size);

	/* With QR toggled the input is its own answer, or its own query. */
	if (size < 4)
		return 0;
	if ((copy = malloc(size)) == NULL)
		abort();
	memcpy(copy, data, size);
	copy[2] ^= DNS_FLAG_QR >> 8;
	(void)dns_parse_query(copy, size, &q2);
	if (q.question_end != 0 &&
	    dns_answer_matches(copy, size, q.id, &q) != 0)
		fail("query with QR set does not match itself", size);
	if (q2.question_end != 0 &&
	    dns_answer_matches(data, size, q2.id, &q2) != 0)
		fail("answer does not match its query", size);
	if (q2.question_end != 0 &&
	    dns_answer_matches_sent(data, size, q2.id, &q2, copy) != 0)
		fail("answer does not match its query's bytes", size);
	check_headerless(copy, size, q.id, &q);
	free(copy);
	return 0;
}

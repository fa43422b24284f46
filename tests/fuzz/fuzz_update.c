// FUZZ-BUILD: daemon/fanout.c daemon/tring.c daemon/tsig.c common/dnsmsg.c common/b64.c common/log.c common/util.c -Idaemon $(pkg-config --cflags --libs libevent libcrypto)
/*
 * fuzz_update: the UPDATE path without its sockets, on any bytes.
 *
 * As a client's UPDATE (what update.c does with it): the query parse,
 * the TSIG check with the clients' keys, the answer the client gets
 * (which must answer its question), and for one that would go out, the
 * copy each target gets: without the client's TSIG, a new ID, signed with
 * the target's key.  That copy must parse with the same zone and verify
 * with the target's key; the answer a server makes to it must be taken
 * (fanout_classify: confirmed, or failed with the server's rcode), and
 * with any octet of it changed, never confirmed.
 *
 * As a server's answer to a fixed signed copy (keyed and unkeyed): the
 * verdict is one of the four and consistent with the bytes: confirmed
 * only a NOERROR with QR and the copy's ID, truncated only over UDP with
 * TC set, a failure by rcode only with a rcode that is not NOERROR.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dnsmsg.h"
#include "fanout.h"
#include "tsig.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define NOW	1700000000ULL

static struct tsig_key client_keys[2], target_key;
static struct dns_query fixed_q;
static uint8_t fixed_mac[TSIG_MAC_MAX];
static int ready;

/* example. add www 300 A 192.0.2.1, ID 0x1234: the copy of the fixed
 * target, which the keyed variant signs. */
static const uint8_t fixed_msg[] = {
	0x12, 0x34, 0x28, 0x00, 0, 1, 0, 0, 0, 1, 0, 0,
	7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 0, 0, 6, 0, 1,
	3, 'w', 'w', 'w', 0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 1, 0x2c, 0, 4,
	192, 0, 2, 1,
};

static void
fail(const char *what, size_t size)
{
	fprintf(stderr, "fuzz_update: %s (input of %zu bytes)\n", what, size);
	abort();
}

static void
init(void)
{
	uint8_t buf[sizeof(fixed_msg) + TSIG_RR_MAX];
	char err[100];

	if (tsig_key_init(&client_keys[0], "key.example.", TSIG_HMAC_SHA256,
	    "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=", err,
	    sizeof(err)) != 0 ||
	    tsig_key_init(&client_keys[1], "key.example.", TSIG_HMAC_MD5,
	    "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=", err,
	    sizeof(err)) != 0 ||
	    tsig_key_init(&target_key, "router-to-ns1.", TSIG_HMAC_SHA512,
	    "c2VjcmV0LW9mLXRoZS10YXJnZXQ=", err, sizeof(err)) != 0)
		fail(err, 0);
	if (dns_parse_query(fixed_msg, sizeof(fixed_msg), &fixed_q) != DNS_OK)
		fail("the fixed UPDATE does not parse", 0);
	memcpy(buf, fixed_msg, sizeof(fixed_msg));
	if (tsig_sign(buf, sizeof(fixed_msg), sizeof(buf), &target_key, NULL,
	    0, NOW, fixed_mac) == 0)
		fail("the fixed UPDATE cannot be signed", 0);
	ready = 1;
}

/* A server's answer to copy (len octets, signed with target_key): made,
 * taken, then spoiled octet by octet (a few). */
static void
serve(const uint8_t *copy, size_t len, const uint8_t *mac, uint16_t id,
    size_t size)
{
	uint8_t out[DNS_HDR_LEN + DNS_MAX_WIRE_NAME + 4 + TSIG_RR_MAX];
	struct fanout_sent sent;
	struct tsig_req tr;
	struct dns_query q;
	size_t n, i;
	int rcode, why, rc = (int)(len % 11);

	if (dns_parse_query(copy, len, &q) != DNS_OK)
		fail("a copy that does not parse", size);
	if (tsig_verify_request(copy, len, &target_key, 1, NOW, &tr) !=
	    TSIG_OK)
		fail("a copy the target's key does not verify", size);
	n = tsig_answer(out, sizeof(out), copy, len, &q, &tr, rc, NOW);
	if (n == 0)
		fail("no answer to a copy", size);
	sent.q = &q;
	sent.id = id;
	sent.key = &target_key;
	sent.mac = mac;
	sent.maclen = (size_t)tsig_mac_len(target_key.alg);
	switch (fanout_classify(&sent, out, n, 0, NOW, &rcode, &why)) {
	case FANOUT_CONFIRM:
		if (rc != 0)
			fail("confirmed with a rcode that is not NOERROR",
			    size);
		break;
	case FANOUT_FAIL:
		if (rc == 0 || rcode != rc || why != TRACE_WHY_RCODE)
			fail("a server's signed rcode not taken as it is",
			    size);
		break;
	default:
		fail("a server's answer not taken", size);
	}
	for (i = 2; i < n; i += 1 + n / 7) {
		out[i] ^= 0x10;
		if (fanout_classify(&sent, out, n, 1, NOW, &rcode, &why) ==
		    FANOUT_CONFIRM)
			fail("a spoiled answer confirmed", size);
		out[i] ^= 0x10;
	}
}

/* The input as a client's UPDATE. */
static void
as_request(const uint8_t *data, size_t size)
{
	uint8_t ans[DNS_HDR_LEN + DNS_MAX_WIRE_NAME + 4 + TSIG_RR_MAX];
	uint8_t *copy, mac[TSIG_MAC_MAX];
	struct dns_query q, q2;
	struct tsig_req tr;
	enum tsig_verdict v;
	size_t n, len;
	uint16_t id = (uint16_t)(size * 7919);

	if (dns_parse_query(data, size, &q) != DNS_OK ||
	    DNS_OPCODE(q.flags) != DNS_OPCODE_UPDATE)
		return;
	v = tsig_verify_request(data, size, client_keys, 2, NOW, &tr);
	n = v == TSIG_ERROR || v == TSIG_OK ?
	    tsig_answer(ans, sizeof(ans), data, size, &q, &tr, 0, NOW) :
	    dns_make_answer(ans, sizeof(ans), data, size, &q, 0);
	if (n == 0 || dns_answer_matches(ans, n, q.id, &q) != 0)
		fail("the client's answer does not answer it", size);
	if (v != TSIG_OK && v != TSIG_NONE)
		return;
	if ((copy = malloc(size + TSIG_RR_MAX)) == NULL)
		abort();
	memcpy(copy, data, size);
	len = v == TSIG_OK ? tsig_strip(copy, tr.start) : size;
	dns_set_id(copy, id);
	len = tsig_sign(copy, len, size + TSIG_RR_MAX, &target_key, NULL, 0,
	    NOW, mac);
	if (len == 0) {
		/* Only an additional section already full keeps it out. */
		if (dns_get16(copy + 10) != 0xffff)
			fail("a copy that cannot be signed", size);
		free(copy);
		return;
	}
	if (dns_parse_query(copy, len, &q2) != DNS_OK ||
	    q2.qname_wire_len != q.qname_wire_len ||
	    memcmp(q2.qname_wire, q.qname_wire, q.qname_wire_len) != 0)
		fail("the copy's zone is not the client's", size);
	serve(copy, len, mac, id, size);
	free(copy);
}

/* The input as a server's answer to the fixed copy. */
static void
as_answer(const uint8_t *data, size_t size)
{
	struct fanout_sent sent;
	int tcp, keyed, rcode, why;
	enum fanout_verdict v;

	sent.q = &fixed_q;
	sent.id = 0x1234;
	sent.mac = fixed_mac;
	sent.maclen = (size_t)tsig_mac_len(target_key.alg);
	for (keyed = 0; keyed < 2; keyed++)
		for (tcp = 0; tcp < 2; tcp++) {
			sent.key = keyed ? &target_key : NULL;
			v = fanout_classify(&sent, data, size, tcp, NOW, &rcode,
			    &why);
			if (v == FANOUT_IGNORE)
				continue;
			if (size < DNS_HDR_LEN || dns_get_id(data) != 0x1234 ||
			    !(data[2] & 0x80))
				fail("taken without QR or the copy's ID", size);
			if (v == FANOUT_TRUNCATED && (tcp || !(data[2] & 0x02)))
				fail("truncated over TCP or without TC", size);
			if (v == FANOUT_CONFIRM && (rcode != 0 ||
			    DNS_RCODE(data[3]) != 0))
				fail("confirmed without NOERROR", size);
			if (v == FANOUT_FAIL && why == TRACE_WHY_RCODE &&
			    (rcode == 0 || rcode != DNS_RCODE(data[3])))
				fail("a rcode failure without its rcode", size);
			if (trace_why_str(why)[0] == '?')
				fail("a reason without a name", size);
		}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!ready)
		init();
	as_request(data, size);
	as_answer(data, size);
	return 0;
}

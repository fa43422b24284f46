// FUZZ-BUILD: daemon/tsig.c common/dnsmsg.c common/b64.c common/log.c -Idaemon $(pkg-config --cflags --libs ldns libcrypto)
/*
 * fuzz_tsig: TSIG verification of requests and answers on any bytes.
 * Beyond not crashing or reading out of bounds:
 * - a verdict is one of the four; TSIG_OK names one of the keys and a
 *   TSIG RR inside the message; TSIG_ERROR carries an error code, with
 *   the key set exactly when the answer is to be signed;
 * - the answer made for any verdict parses as the answer to the request
 *   (when the request parsed as the query path parses), and a signed one
 *   verifies with the request's MAC; an unsigned one carries MAC size 0;
 * - against ldns: a message we verify, ldns verifies too whenever it
 *   parses it (md5, sha1, sha256, sha512: ldns cannot do the others),
 *   when its ID is the TSIG's Original ID (ldns sets the Original ID on
 *   its parsed packet but digests the message's bytes, ID and all) and
 *   ldns's own walk over the records reaches the TSIG where ours does
 *   and ends each record where its RDLENGTH says (ldns reads RDATA by
 *   type and loses its place in one that does not have its type's form,
 *   which a server would refuse anyway);
 * - signing round trip: an unsigned message that parses is signed, then
 *   verifies with that key (and with ldns when ldns parses it), and with
 *   any of its signed bytes changed, no longer does.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ldns/ldns.h>

#include "dnsmsg.h"
#include "tsig.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define NOW	1700000000ULL
#define SECRET	"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="

static struct tsig_key keys[4];
static int nkeys;

static void
fail(const char *what, size_t size)
{
	fprintf(stderr, "fuzz_tsig: %s (input of %zu bytes)\n", what, size);
	abort();
}

static void
init(void)
{
	static const struct { const char *name; int alg; } k[] = {
		{ "key.example.", TSIG_HMAC_SHA256 },
		{ "key.example.", TSIG_HMAC_MD5 },
		{ "other.", TSIG_HMAC_SHA384 },
		{ "k.", TSIG_HMAC_SHA512 },
	};
	char err[128];
	int i;

	for (i = 0; i < 4; i++)
		if (tsig_key_init(&keys[i], k[i].name, k[i].alg, SECRET, err,
		    sizeof(err)) != 0)
			fail(err, 0);
	nkeys = 4;
}

static int
ldns_can(int alg)
{
	return alg == TSIG_HMAC_MD5 || alg == TSIG_HMAC_SHA1 ||
	    alg == TSIG_HMAC_SHA256 || alg == TSIG_HMAC_SHA512;
}

/* Where the record at off ends by its RDLENGTH, or 0. */
static size_t
rr_end(const uint8_t *msg, size_t len, size_t off)
{
	if (dns_name_skip(msg, len, &off) == -1 || len - off < 10)
		return 0;
	off += 10 + ((size_t)msg[off + 8] << 8 | msg[off + 9]);
	return off <= len ? off : 0;
}

/* Does ldns's walk over the records before the TSIG (as its verify
 * makes it) end each record where its RDLENGTH says, and so at start?
 * Ending at start is not enough: ldns reads an A record's first 4 octets
 * of a longer RDATA, and the rest may read as other records that end
 * where ours do (a fuzzer found one holding a TSIG). */
static int
ldns_walks_to(const uint8_t *msg, size_t len, size_t start)
{
	ldns_rr *rr;
	size_t end, pos = DNS_HDR_LEN;
	unsigned i, n = (unsigned)(msg[4] << 8 | msg[5]);

	for (i = 0; i < n; i++) {
		if (ldns_wire2rr(&rr, msg, len, &pos, LDNS_SECTION_QUESTION) !=
		    LDNS_STATUS_OK)
			return 0;
		ldns_rr_free(rr);
	}
	n = (unsigned)(msg[6] << 8 | msg[7]) + (msg[8] << 8 | msg[9]) +
	    (msg[10] << 8 | msg[11]) - 1;
	for (i = 0; i < n; i++) {
		end = rr_end(msg, len, pos);
		if (ldns_wire2rr(&rr, msg, len, &pos, LDNS_SECTION_ANSWER) !=
		    LDNS_STATUS_OK)
			return 0;
		ldns_rr_free(rr);
		if (pos != end)
			return 0;
	}
	return pos == start;
}

/* ldns's verdict, or -1 when ldns does not parse the message or would
 * digest other bytes than RFC 8945 says (see above). */
static int
ldns_verdict(const uint8_t *msg, size_t len, size_t start,
    const struct tsig_key *k)
{
	char name[DNS_MAX_TEXT_NAME];
	ldns_pkt *pkt = NULL;
	int ok;

	if (!ldns_walks_to(msg, len, start) ||
	    ldns_wire2pkt(&pkt, msg, len) != LDNS_STATUS_OK)
		return -1;
	if (dns_wire_to_text(k->name, name, sizeof(name)) < 0)
		fail("key name", len);
	ok = ldns_pkt_tsig_verify(pkt, msg, len, name, SECRET, NULL);
	ldns_pkt_free(pkt);
	return ok;
}

static void
check_answer(const uint8_t *data, size_t size, const struct tsig_req *req,
    enum tsig_verdict v)
{
	uint8_t out[DNS_HDR_LEN + DNS_MAX_WIRE_NAME + 4 + TSIG_RR_MAX];
	struct dns_query q;
	size_t n;

	if (dns_parse_query(data, size, &q) != DNS_OK)
		return;
	n = tsig_answer(out, sizeof(out), data, size, &q, req, 0, NOW);
	if (n == 0)
		fail("no room for an answer", size);
	if (dns_answer_matches(out, n, q.id, &q) != 0)
		fail("the answer does not answer the request", size);
	if (v == TSIG_OK && tsig_verify_answer(out, n, req->key, req->mac,
	    req->maclen, NOW) != TSIG_A_OK)
		fail("our answer to a verified request does not verify", size);
	if (v == TSIG_ERROR && (out[3] & 0xf) != DNS_RCODE_NOTAUTH)
		fail("an error answer that is not NOTAUTH", size);
	if (v == TSIG_ERROR && req->key == NULL &&
	    tsig_verify_answer(out, n, &keys[0], req->mac, req->maclen, NOW) ==
	    TSIG_A_OK)
		fail("an unsigned error answer verifies", size);
}

/* Sign an unsigned message that parses, verify it, then spoil it. */
static void
round_trip(const uint8_t *data, size_t size, const struct tsig_key *k)
{
	uint8_t *buf, mac[TSIG_MAC_MAX];
	struct tsig_req req;
	struct dns_query q;
	size_t n, i;
	int l;

	if (dns_parse_query(data, size, &q) != DNS_OK)
		return;
	if ((buf = malloc(size + TSIG_RR_MAX)) == NULL)
		abort();
	memcpy(buf, data, size);
	n = tsig_sign(buf, size, size + TSIG_RR_MAX, k, NULL, 0, NOW, mac);
	if (n == 0) {
		/* Only a full ARCOUNT keeps it out. */
		if (q.arcount != 0xffff)
			fail("signing failed", size);
		free(buf);
		return;
	}
	if (tsig_verify_request(buf, n, keys, nkeys, NOW, &req) != TSIG_OK ||
	    req.key != k || req.start != size ||
	    memcmp(req.mac, mac, req.maclen) != 0)
		fail("what we signed does not verify", size);
	if (ldns_can(k->alg) && (l = ldns_verdict(buf, n, size, k)) == 0)
		fail("ldns does not verify what we signed", size);
	/* Any signed byte changed (not the ID, which the Original ID
	 * stands for): not OK any more. */
	i = size > 2 ? 2 + (data[size - 1] % (size - 2)) : 0;
	if (i >= 2) {
		buf[i] ^= 0x20;
		if (tsig_verify_request(buf, n, keys, nkeys, NOW, &req) ==
		    TSIG_OK)
			fail("a changed message still verifies", size);
	}
	free(buf);
}

/* The Original ID of the TSIG RR that ends msg. */
static uint16_t
orig_id(const uint8_t *msg, size_t len)
{
	size_t other = (size_t)msg[len - 2] << 8 | msg[len - 1];

	return (uint16_t)(msg[len - other - 6] << 8 | msg[len - other - 5]);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tsig_req req;
	enum tsig_verdict v;
	uint8_t mac[TSIG_MAC_MAX] = { 0 };
	int l;

	if (nkeys == 0)
		init();
	v = tsig_verify_request(data, size, keys, nkeys, NOW, &req);
	switch (v) {
	case TSIG_NONE:
		round_trip(data, size, &keys[size % 4]);
		break;
	case TSIG_OK:
		if (req.key == NULL || req.error != 0 || req.start >= size)
			fail("OK without a key or a TSIG", size);
		if (ldns_can(req.key->alg) && orig_id(data, size) ==
		    dns_get_id(data) &&
		    (l = ldns_verdict(data, size, req.start, req.key)) == 0)
			fail("ldns does not verify what we verified", size);
		break;
	case TSIG_ERROR:
		if (req.error != TSIG_BADKEY && req.error != TSIG_BADSIG &&
		    req.error != TSIG_BADTIME && req.error != TSIG_BADTRUNC)
			fail("an error that is none of the four", size);
		if ((req.error == TSIG_BADKEY) != (req.key == NULL))
			fail("a key with BADKEY or none with another error",
			    size);
		break;
	case TSIG_FORMERR:
		break;
	default:
		fail("a verdict that is none of the four", size);
	}
	if (v != TSIG_NONE && v != TSIG_FORMERR)
		check_answer(data, size, &req, v);
	/* As a backend's answer, to every key. */
	for (l = 0; l < nkeys; l++)
		if (tsig_answer_str(tsig_verify_answer(data, size, &keys[l],
		    mac, 32, NOW))[0] == '?')
			fail("a reason without a name", size);
	return 0;
}

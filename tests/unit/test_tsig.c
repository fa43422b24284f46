/*
 * test_tsig: RFC 8945 request checks and answers, against fixed vectors
 * made by dnspython (tests/unit/tsig_vectors.py: one signed UPDATE per
 * algorithm, and a server's signed answer), and against ldns as an
 * oracle: what our signer makes, ldns_pkt_tsig_verify accepts, and what
 * ldns_pkt_tsig_sign makes, we accept (for the algorithms ldns 1.8.3
 * can compute; it cannot do hmac-sha384).
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <ldns/ldns.h>

#include "tsig.h"
#include "unit.h"
#include "util.h"

#define T0	1700000000ULL
/* The octets 0..31, as tsig_vectors.py uses. */
#define SECRET	"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="

static const struct {
	int		 alg;
	const char	*hex;
} vectors[] = {
	{ TSIG_HMAC_MD5, "123428000001000000010001076578616d706c650000"
	    "06000103777777c00c000100010000012c0004c0000201036b6579c00c00fa00ff"
	    "00000000003a08484d41432d4d4435075349472d414c470352454703494e540000"
	    "006553f100012c00103c0a08da7a061bc8d858140b1bca57ec123400000000" },
	{ TSIG_HMAC_SHA1, "123428000001000000010001076578616d706c650000"
	    "06000103777777c00c000100010000012c0004c0000201036b6579c00c00fa00ff"
	    "00000000002f09686d61632d736861310000006553f100012c0014cf8517c14744"
	    "1223c3d64f6c641a8ad3bfca471d123400000000" },
	{ TSIG_HMAC_SHA224, "123428000001000000010001076578616d706c6500"
	    "0006000103777777c00c000100010000012c0004c0000201036b6579c00c00fa00"
	    "ff0000000000390b686d61632d7368613232340000006553f100012c001c439ce9"
	    "d205a579c66a3e0ae314b2fba1fb75680c8681d4b53b7e6343123400000000" },
	{ TSIG_HMAC_SHA256, "123428000001000000010001076578616d706c6500"
	    "0006000103777777c00c000100010000012c0004c0000201036b6579c00c00fa00"
	    "ff00000000003d0b686d61632d7368613235360000006553f100012c0020d9fb7d"
	    "38f91f7aeeeb5d1ca5e27150996298ff91fc6177d569499093f7cc014012340000"
	    "0000" },
	{ TSIG_HMAC_SHA384, "123428000001000000010001076578616d706c6500"
	    "0006000103777777c00c000100010000012c0004c0000201036b6579c00c00fa00"
	    "ff00000000004d0b686d61632d7368613338340000006553f100012c003025a0ed"
	    "769053cb6c29fa9c3ac1aa050a0d25d043e421b1dfdfb7676355c8da3a502672e3"
	    "22fa57f83ee26c230d856507123400000000" },
	{ TSIG_HMAC_SHA512, "123428000001000000010001076578616d706c6500"
	    "0006000103777777c00c000100010000012c0004c0000201036b6579c00c00fa00"
	    "ff00000000005d0b686d61632d7368613531320000006553f100012c0040e1a347"
	    "5f9f18ee55145c86cfa67ae15abc4c72dcff6fd7432f3e00dd9db63de53b30f583"
	    "81b659bf9795a2c6642cfc8314b408ec8dc924f5d2d3867a0c3780e61234000000"
	    "00" },
};

/* dnspython's answer to the hmac-sha256 request, signed at T0 + 1. */
static const char answer256[] = "1234a8000001000000000001076578616d706c65"
    "0000060001036b6579c00c00fa00ff00000000003d0b686d61632d73686132353600"
    "00006553f101012c002092eba8a9e3f3ca7218e153b8acd9788e1f16d7881cf0ee70"
    "69a64b987d16f9cf123400000000";

static size_t
unhex(const char *h, uint8_t *out)
{
	size_t n = 0;
	unsigned v;

	while (h[0] && h[1]) {
		if (sscanf(h, "%2x", &v) != 1)
			break;
		out[n++] = (uint8_t)v;
		h += 2;
	}
	return n;
}

static struct tsig_key
key(const char *name, int alg)
{
	struct tsig_key k;
	char err[128];

	if (tsig_key_init(&k, name, alg, SECRET, err, sizeof(err)) != 0) {
		fprintf(stderr, "tsig_key_init: %s\n", err);
		memset(&k, 0, sizeof(k));
	}
	return k;
}

static uint16_t
get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/* The error, macsize and time of the TSIG RR at the end of msg (parsed
 * by ldns, which knows nothing of our reader). */
static int
ldns_tsig_fields(const uint8_t *msg, size_t len, int *error, int *macsize,
    uint64_t *time_signed, uint8_t *other, size_t *otherlen)
{
	ldns_pkt *pkt = NULL;
	ldns_rr *rr;
	ldns_rdf *f;

	if (ldns_wire2pkt(&pkt, msg, len) != LDNS_STATUS_OK)
		return -1;
	if ((rr = ldns_pkt_tsig(pkt)) == NULL) {
		ldns_pkt_free(pkt);
		return -1;
	}
	*time_signed = ldns_read_uint16(ldns_rdf_data(ldns_rr_rdf(rr, 1)));
	*time_signed = *time_signed << 32 |
	    ldns_read_uint32(ldns_rdf_data(ldns_rr_rdf(rr, 1)) + 2);
	*macsize = ldns_read_uint16(ldns_rdf_data(ldns_rr_rdf(rr, 3)));
	*error = ldns_rdf2native_int16(ldns_rr_rdf(rr, 5));
	f = ldns_rr_rdf(rr, 6);
	*otherlen = ldns_rdf_size(f) - 2;
	memcpy(other, ldns_rdf_data(f) + 2, *otherlen);
	ldns_pkt_free(pkt);
	return 0;
}

/* ldns's verdict on msg's MAC with key.example. (reqmac chained). */
static int
ldns_verifies(const uint8_t *msg, size_t len, const uint8_t *reqmac,
    size_t reqmaclen)
{
	ldns_pkt *pkt = NULL;
	ldns_rdf *rm = NULL;
	uint8_t buf[2 + TSIG_MAC_MAX];
	bool ok;

	if (ldns_wire2pkt(&pkt, msg, len) != LDNS_STATUS_OK)
		return 0;
	if (reqmac != NULL) {
		buf[0] = (uint8_t)(reqmaclen >> 8);
		buf[1] = (uint8_t)reqmaclen;
		memcpy(buf + 2, reqmac, reqmaclen);
		rm = ldns_rdf_new_frm_data(LDNS_RDF_TYPE_INT16_DATA,
		    reqmaclen + 2, buf);
	}
	ok = ldns_pkt_tsig_verify(pkt, msg, len, "key.example.", SECRET, rm);
	ldns_rdf_deep_free(rm);
	ldns_pkt_free(pkt);
	return ok;
}

static void
test_names(void)
{
	struct tsig_key k;
	char err[128];
	char big[1000];

	CHECK(words_find(&words_tsig_alg, "hmac-sha256") == TSIG_HMAC_SHA256);
	CHECK(words_find(&words_tsig_alg, "hmac-md5") == TSIG_HMAC_MD5);
	CHECK(words_find(&words_tsig_alg, "hmac-sha3") == -1);
	CHECK(strcmp(words_name(&words_tsig_alg, TSIG_HMAC_SHA512),
	    "hmac-sha512") == 0);
	CHECK(tsig_mac_len(TSIG_HMAC_SHA384) == 48 && tsig_mac_len(-1) == 0);

	CHECK(tsig_key_init(&k, "Key.Example", TSIG_HMAC_SHA256, SECRET, err,
	    sizeof(err)) == 0);
	CHECK(k.namelen == 13 && memcmp(k.name, "\3key\7example", 13) == 0);
	CHECK(k.secretlen == 32 && k.secret[31] == 31);
	tsig_key_wipe(&k);
	CHECK(k.secretlen == 0 && k.secret[31] == 0);
	CHECK(tsig_key_init(&k, "k.", TSIG_HMAC_SHA256, "not base64!", err,
	    sizeof(err)) == -1 && strstr(err, "base64") != NULL);
	CHECK(tsig_key_init(&k, "k.", TSIG_HMAC_SHA256, "", err,
	    sizeof(err)) == -1 && strstr(err, "1 to") != NULL);
	memset(big, 'A', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	CHECK(tsig_key_init(&k, "k.", TSIG_HMAC_SHA256, big, err,
	    sizeof(err)) == -1 && strstr(err, "1 to") != NULL);
	CHECK(tsig_key_init(&k, ".", TSIG_HMAC_SHA256, SECRET, err,
	    sizeof(err)) == -1 && strstr(err, "key name") != NULL);
	CHECK(tsig_key_init(&k, "a..b", TSIG_HMAC_SHA256, SECRET, err,
	    sizeof(err)) == -1);
	CHECK(tsig_key_init(&k, "k.", -1, SECRET, err,
	    sizeof(err)) == -1);
}

/* Every vector verifies with its key; the right error for each way it
 * can be wrong. */
static void
test_vectors(void)
{
	uint8_t msg[1024], bad[1024];
	struct tsig_key keys[3];
	struct tsig_req req;
	size_t i, n;

	for (i = 0; i < NELEMS(vectors); i++) {
		int alg = vectors[i].alg;
		int other = alg == TSIG_HMAC_SHA256 ? TSIG_HMAC_SHA512 :
		    TSIG_HMAC_SHA256;

		n = unhex(vectors[i].hex, msg);
		keys[0] = key("other.example.", alg);
		keys[1] = key("key.example.", alg);
		CHECKF(tsig_verify_request(msg, n, keys, 2, T0, &req) ==
		    TSIG_OK && req.key == &keys[1] && req.error == 0,
		    "%s", words_name(&words_tsig_alg, alg));
		CHECK(req.time == T0 && req.fudge == 300);
		CHECK(req.start == 45 && req.maclen > 0);
		/* The fudge, to the second either way. */
		CHECK(tsig_verify_request(msg, n, keys, 2, T0 + 300, &req) ==
		    TSIG_OK);
		CHECK(tsig_verify_request(msg, n, keys, 2, T0 - 300, &req) ==
		    TSIG_OK);
		CHECK(tsig_verify_request(msg, n, keys, 2, T0 + 301, &req) ==
		    TSIG_ERROR && req.error == TSIG_BADTIME && req.key != NULL);
		CHECK(tsig_verify_request(msg, n, keys, 2, T0 - 301, &req) ==
		    TSIG_ERROR && req.error == TSIG_BADTIME);
		/* No such key, or the name with another algorithm. */
		CHECK(tsig_verify_request(msg, n, keys, 1, T0, &req) ==
		    TSIG_ERROR && req.error == TSIG_BADKEY && req.key == NULL);
		keys[2] = key("key.example.", other);
		CHECK(tsig_verify_request(msg, n, keys + 2, 1, T0, &req) ==
		    TSIG_ERROR && req.error == TSIG_BADKEY);
		/* Another secret: BADSIG, checked before the time. */
		keys[2] = keys[1];
		keys[2].secret[0] ^= 1;
		CHECK(tsig_verify_request(msg, n, keys + 2, 1, T0 + 9999,
		    &req) == TSIG_ERROR && req.error == TSIG_BADSIG);
		/* A byte of the update changed (the A record's address). */
		memcpy(bad, msg, n);
		bad[44] ^= 1;
		CHECK(tsig_verify_request(bad, n, keys, 2, T0, &req) ==
		    TSIG_ERROR && req.error == TSIG_BADSIG);
		/* ... or the ID: the Original ID is what was signed. */
		memcpy(bad, msg, n);
		bad[0] ^= 0x55;
		CHECK(tsig_verify_request(bad, n, keys, 2, T0, &req) ==
		    TSIG_OK);
		/* The TSIG's time changed: BADSIG, not BADTIME. */
		memcpy(bad, msg, n);
		bad[n - 6 - req.maclen - 2 - 2 - 1] ^= 1;
		CHECK(tsig_verify_request(bad, n, keys, 2, T0, &req) ==
		    TSIG_ERROR && req.error == TSIG_BADSIG);
		tsig_key_wipe(&keys[0]);
		tsig_key_wipe(&keys[1]);
		tsig_key_wipe(&keys[2]);
	}
}

/* Rewrite the MAC size of the TSIG at the end of msg (MAC of full
 * octets, no Other Data) to keep only size octets. */
static size_t
cut_mac(uint8_t *msg, size_t n, size_t full, size_t size)
{
	size_t macoff = n - 6 - full, rdlenoff = macoff - 2 - 8 - 13 - 2;

	msg[macoff - 2] = (uint8_t)(size >> 8);
	msg[macoff - 1] = (uint8_t)size;
	memmove(msg + macoff + size, msg + macoff + full, 6);
	msg[rdlenoff + 1] -= (uint8_t)(full - size);
	return n - (full - size);
}

static void
test_malformed(void)
{
	uint8_t msg[1024], bad[1200];
	struct tsig_key k = key("key.example.", TSIG_HMAC_SHA256);
	struct tsig_req req;
	size_t n, m;

	n = unhex(vectors[3].hex, msg);
	/* No TSIG at all. */
	memcpy(bad, msg, 45);
	bad[11] = 0;
	CHECK(tsig_verify_request(bad, 45, &k, 1, T0, &req) == TSIG_NONE);
	/* Not the last record: an A record after it. */
	memcpy(bad, msg, n);
	memcpy(bad + n, "\0\0\1\0\1\0\0\0\0\0\4\1\2\3\4", 15);
	bad[11] = 2;
	CHECK(tsig_verify_request(bad, n + 15, &k, 1, T0, &req) ==
	    TSIG_FORMERR);
	/* Two of them. */
	memcpy(bad, msg, n);
	memcpy(bad + n, msg + 45, n - 45);
	bad[11] = 2;
	CHECK(tsig_verify_request(bad, n + n - 45, &k, 1, T0, &req) ==
	    TSIG_FORMERR);
	/* In the update section rather than the additional. */
	memcpy(bad, msg, n);
	bad[9] = 2;
	bad[11] = 0;
	CHECK(tsig_verify_request(bad, n, &k, 1, T0, &req) == TSIG_FORMERR);
	/* Class other than ANY. */
	memcpy(bad, msg, n);
	bad[45 + 6 + 3] = 1;
	CHECK(tsig_verify_request(bad, n, &k, 1, T0, &req) == TSIG_FORMERR);
	/* Every cut of the message is refused or at least never verifies. */
	for (m = 0; m < n; m++)
		CHECK(tsig_verify_request(msg, m, &k, 1, T0, &req) != TSIG_OK);
	/* RDLENGTH one too long or short. */
	memcpy(bad, msg, n);
	bad[45 + 6 + 9]++;
	CHECK(tsig_verify_request(bad, n, &k, 1, T0, &req) == TSIG_FORMERR);
	memcpy(bad, msg, n);
	bad[45 + 6 + 9]--;
	CHECK(tsig_verify_request(bad, n, &k, 1, T0, &req) == TSIG_FORMERR);

	/* MAC sizes (5.2.2.1, 5.2.4): cut to half is allowed by the RFC
	 * and refused by us as BADTRUNC, signed; below half or 10 octets
	 * FORMERR; none at all BADSIG. */
	memcpy(bad, msg, n);
	m = cut_mac(bad, n, 32, 16);
	CHECK(tsig_verify_request(bad, m, &k, 1, T0, &req) == TSIG_ERROR &&
	    req.error == TSIG_BADTRUNC && req.key == &k);
	memcpy(bad, msg, n);
	m = cut_mac(bad, n, 32, 16);
	bad[m - 7] ^= 1;	/* the last octet of the cut MAC */
	CHECK(tsig_verify_request(bad, m, &k, 1, T0, &req) == TSIG_ERROR &&
	    req.error == TSIG_BADSIG);
	memcpy(bad, msg, n);
	m = cut_mac(bad, n, 32, 15);
	CHECK(tsig_verify_request(bad, m, &k, 1, T0, &req) == TSIG_FORMERR);
	memcpy(bad, msg, n);
	m = cut_mac(bad, n, 32, 0);
	CHECK(tsig_verify_request(bad, m, &k, 1, T0, &req) == TSIG_ERROR &&
	    req.error == TSIG_BADSIG);
	tsig_key_wipe(&k);
}

/* The answers: signed with the request's MAC chained, BADTIME signed
 * with the client's time and ours, BADKEY and BADSIG unsigned. */
static void
test_answers(void)
{
	uint8_t msg[1024], out[1024], other[16];
	struct tsig_key k = key("key.example.", TSIG_HMAC_SHA256);
	struct tsig_key wrong;
	struct tsig_req req;
	struct dns_query q;
	uint64_t ts;
	size_t n, a, olen;
	int err, macsize;

	n = unhex(vectors[3].hex, msg);
	CHECK(dns_parse_query(msg, n, &q) == DNS_OK);
	CHECK(tsig_verify_request(msg, n, &k, 1, T0, &req) == TSIG_OK);
	a = tsig_answer(out, sizeof(out), msg, n, &q, &req,
	    DNS_RCODE_NOERROR, T0 + 2);
	CHECK(a > 0 && get16(out) == 0x1234 && (out[2] & 0x80) &&
	    (out[3] & 0xf) == 0 && get16(out + 4) == 1 && get16(out + 10) == 1);
	CHECK(tsig_verify_answer(out, a, &k, req.mac, req.maclen, T0 + 2) == TSIG_A_OK);
	CHECK(ldns_verifies(out, a, req.mac, req.maclen));
	/* Not without the request's MAC, nor with another one. */
	CHECK(!ldns_verifies(out, a, NULL, 0));
	req.mac[0] ^= 1;
	CHECK(tsig_verify_answer(out, a, &k, req.mac, req.maclen, T0 + 2) == TSIG_A_BAD_MAC);
	req.mac[0] ^= 1;
	CHECK(tsig_verify_answer(out, a, &k, req.mac, req.maclen, T0 + 999) == TSIG_A_TIME);
	wrong = key("wrong.example.", TSIG_HMAC_SHA256);
	CHECK(tsig_verify_answer(out, a, &wrong, req.mac, req.maclen, T0 + 2) == TSIG_A_OTHER_KEY);
	tsig_key_wipe(&wrong);
	/* An answer whose rcode is an update's own. */
	a = tsig_answer(out, sizeof(out), msg, n, &q, &req, 8 /* NXRRSET */,
	    T0 + 2);
	CHECK(a > 0 && (out[3] & 0xf) == 8);
	CHECK(tsig_verify_answer(out, a, &k, req.mac, req.maclen, T0 + 2) == TSIG_A_OK);

	/* dnspython's own answer, chained to the same request. */
	a = unhex(answer256, out);
	CHECK(tsig_verify_answer(out, a, &k, req.mac, req.maclen, T0 + 1) == TSIG_A_OK);
	out[a - 7] ^= 1;
	CHECK(tsig_verify_answer(out, a, &k, req.mac, req.maclen, T0 + 1) == TSIG_A_BAD_MAC);

	/* BADTIME: NOTAUTH, signed, Time Signed the client's, ours in
	 * Other Data, the client's fudge. */
	CHECK(tsig_verify_request(msg, n, &k, 1, T0 + 1000, &req) ==
	    TSIG_ERROR && req.error == TSIG_BADTIME);
	a = tsig_answer(out, sizeof(out), msg, n, &q, &req, 0, T0 + 1000);
	CHECK(a > 0 && (out[3] & 0xf) == DNS_RCODE_NOTAUTH);
	CHECK(ldns_tsig_fields(out, a, &err, &macsize, &ts, other, &olen) == 0);
	CHECK(err == TSIG_BADTIME && macsize == 32 && ts == T0);
	CHECK(olen == 6 && other[4] == (uint8_t)((T0 + 1000) >> 8) &&
	    other[5] == (uint8_t)(T0 + 1000));
	CHECK(ldns_verifies(out, a, req.mac, req.maclen));
	CHECK(tsig_verify_answer(out, a, &k, req.mac, req.maclen, T0 + 1000) == TSIG_A_BADTIME);

	/* BADKEY, BADSIG: NOTAUTH, MAC size 0, the request's names. */
	CHECK(tsig_verify_request(msg, n, &k, 0, T0, &req) == TSIG_ERROR);
	a = tsig_answer(out, sizeof(out), msg, n, &q, &req, 0, T0);
	CHECK(a > 0 && (out[3] & 0xf) == DNS_RCODE_NOTAUTH);
	CHECK(ldns_tsig_fields(out, a, &err, &macsize, &ts, other, &olen) == 0);
	CHECK(err == TSIG_BADKEY && macsize == 0 && olen == 0 && ts == T0);
	CHECK(tsig_verify_answer(out, a, &k, req.mac, req.maclen, T0) == TSIG_A_BADKEY);
	k.secret[3] ^= 1;
	CHECK(tsig_verify_request(msg, n, &k, 1, T0, &req) == TSIG_ERROR &&
	    req.error == TSIG_BADSIG);
	a = tsig_answer(out, sizeof(out), msg, n, &q, &req, 0, T0);
	CHECK(ldns_tsig_fields(out, a, &err, &macsize, &ts, other, &olen) == 0);
	CHECK(err == TSIG_BADSIG && macsize == 0);
	k.secret[3] ^= 1;
	/* Too small a buffer: nothing. */
	CHECK(tsig_answer(out, 40, msg, n, &q, &req, 0, T0) == 0);
	tsig_key_wipe(&k);
}

/* What we sign, ldns verifies, and what ldns signs, we verify. */
static void
test_ldns(void)
{
	static const int algs[] = { TSIG_HMAC_MD5, TSIG_HMAC_SHA1,
	    TSIG_HMAC_SHA256, TSIG_HMAC_SHA512 };
	static const char *const names[] = { "hmac-md5.sig-alg.reg.int.",
	    "hmac-sha1.", "hmac-sha256.", "hmac-sha512." };
	uint8_t buf[1024], mac[TSIG_MAC_MAX], *wire = NULL;
	struct tsig_key k;
	struct tsig_req req;
	ldns_pkt *pkt;
	uint64_t now = (uint64_t)time(NULL);
	size_t i, n, len;

	for (i = 0; i < NELEMS(algs); i++) {
		k = key("key.example.", algs[i]);
		n = unhex(vectors[3].hex, buf);
		n = tsig_strip(buf, 45);
		n = tsig_sign(buf, n, sizeof(buf), &k, NULL, 0, now, mac);
		CHECKF(n > 45 && ldns_verifies(buf, n, NULL, 0), "%s",
		    names[i]);
		CHECK(tsig_verify_request(buf, n, &k, 1, now, &req) ==
		    TSIG_OK && memcmp(req.mac, mac, req.maclen) == 0);

		pkt = NULL;
		n = unhex(vectors[3].hex, buf);
		n = tsig_strip(buf, 45);
		if (ldns_wire2pkt(&pkt, buf, n) != LDNS_STATUS_OK) {
			CHECK(!"ldns parses the unsigned update");
			continue;
		}
		CHECK(ldns_pkt_tsig_sign(pkt, "key.example.", SECRET, 300,
		    names[i], NULL) == LDNS_STATUS_OK);
		CHECK(ldns_pkt2wire(&wire, pkt, &len) == LDNS_STATUS_OK);
		CHECKF(tsig_verify_request(wire, len, &k, 1, now, &req) ==
		    TSIG_OK, "ldns-signed %s", names[i]);
		LDNS_FREE(wire);
		ldns_pkt_free(pkt);
		tsig_key_wipe(&k);
	}
	/* hmac-sha384, which ldns cannot do: ours against ours, and
	 * against dnspython above. */
	k = key("key.example.", TSIG_HMAC_SHA384);
	n = unhex(vectors[4].hex, buf);
	n = tsig_sign(buf, tsig_strip(buf, 45), sizeof(buf), &k, NULL, 0, now,
	    mac);
	CHECK(tsig_verify_request(buf, n, &k, 1, now, &req) == TSIG_OK);
	/* Room: a signature that does not fit is not made. */
	n = unhex(vectors[3].hex, buf);
	CHECK(tsig_sign(buf, 45, 100, &k, NULL, 0, now, mac) == 0);
	tsig_key_wipe(&k);
}

int
main(void)
{
	test_names();
	test_vectors();
	test_malformed();
	test_answers();
	test_ldns();
	UNIT_DONE("tsig");
}

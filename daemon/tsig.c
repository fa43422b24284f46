/*
 * tsig: RFC 8945 transaction signatures (see tsig.h).
 *
 * The MAC is OpenSSL's HMAC (libcrypto, which ldns itself calls for it
 * and links already), not ldns's TSIG functions, because those cannot do
 * what RFC 8945 asks of a server.  ldns 1.8.3 (Debian 12):
 * - cannot compute hmac-sha384 at all: its algorithm table looks for
 *   "hmac-shac384.";
 * - ldns_pkt_tsig_sign always writes Error 0, no Other Data and the
 *   current time, so the signed BADTIME answer of 5.2.3 (the client's
 *   time, ours in Other Data) and a signed BADTRUNC cannot be made;
 * - ldns_pkt_tsig_verify answers true or false: it never looks at the
 *   time, does not compare the algorithm with the key's, cannot tell an
 *   unknown key from a bad MAC from a malformed record, and signs and
 *   checks ldns's re-encoding of the message rather than its bytes.
 * So the message and the TSIG RR are read and written here, with the
 * same bounds-checked name walk the query parser uses, and ldns stays
 * the oracle of the unit tests and the fuzz target: what one signs, the
 * other verifies.
 *
 * Invariants: nothing is read past len, every length in a TSIG RR is
 * checked against what is left; a secret is copied only into struct
 * tsig_key and OpenSSL's MAC context (which wipes its copy when freed);
 * MACs are compared in constant time.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "b64.h"
#include "log.h"
#include "tsig.h"

/* By enum tsig_alg; what operators type is words_tsig_alg's. */
static const struct {
	const char	*digest;	/* OpenSSL's name */
	const char	*wire;		/* the TSIG algorithm name, wire form */
	uint8_t		 wirelen;
	uint8_t		 maclen;
} algs[TSIG_ALG__COUNT] = {
	[TSIG_HMAC_MD5] = { "MD5",
	    "\x08hmac-md5\x07sig-alg\x03reg\x03int", 26, 16 },
	[TSIG_HMAC_SHA1] = { "SHA1", "\x09hmac-sha1", 11, 20 },
	[TSIG_HMAC_SHA224] = { "SHA224", "\x0bhmac-sha224",
	    13, 28 },
	[TSIG_HMAC_SHA256] = { "SHA256", "\x0bhmac-sha256",
	    13, 32 },
	[TSIG_HMAC_SHA384] = { "SHA384", "\x0bhmac-sha384",
	    13, 48 },
	[TSIG_HMAC_SHA512] = { "SHA512", "\x0bhmac-sha512",
	    13, 64 },
};

/* A TSIG RR as read from a message or about to be written. */
struct tsig_rr {
	size_t		 start;		/* offset of the RR */
	uint8_t		 owner[DNS_MAX_WIRE_NAME];
	size_t		 ownerlen;
	uint16_t	 class;
	uint32_t	 ttl;
	uint8_t		 alg[DNS_MAX_WIRE_NAME];
	size_t		 alglen;
	uint64_t	 time;
	uint16_t	 fudge;
	uint16_t	 macsize;
	const uint8_t	*mac;
	uint16_t	 origid;
	uint16_t	 error;
	uint16_t	 otherlen;
	const uint8_t	*other;
};

static EVP_MAC *hmac;
static pthread_once_t hmac_once = PTHREAD_ONCE_INIT;

static void
hmac_fetch(void)
{
	if ((hmac = EVP_MAC_fetch(NULL, "HMAC", NULL)) == NULL)
		log_warnx("tsig: OpenSSL has no HMAC");
}

static void
put48(uint8_t *p, uint64_t v)
{
	int i;

	for (i = 5; i >= 0; i--, v >>= 8)
		p[i] = v & 0xff;
}

static uint64_t
get48(const uint8_t *p)
{
	uint64_t v = 0;
	int i;

	for (i = 0; i < 6; i++)
		v = v << 8 | p[i];
	return v;
}

/* The algorithm whose wire name this is (lowercase), or -1. */
static int
alg_by_wire(const uint8_t *w, size_t len)
{
	int i;

	for (i = 0; i < TSIG_ALG__COUNT; i++)
		if (algs[i].wirelen == len && memcmp(algs[i].wire, w, len) == 0)
			return i;
	return -1;
}

int
tsig_key_init(struct tsig_key *k, const char *name, int alg,
    const char *secret_b64, char *err, size_t errlen)
{
	uint8_t buf[B64_DEC_MAX(B64_ENC_LEN(TSIG_SECRET_MAX))];
	size_t slen = strlen(secret_b64);
	long n;
	int wl;

	memset(k, 0, sizeof(*k));
	wl = dns_text_to_wire(name, k->name, sizeof(k->name));
	if (wl <= 1) {
		snprintf(err, errlen, "bad key name '%s'", name);
		return -1;
	}
	if (alg < 0 || alg >= TSIG_ALG__COUNT) {
		snprintf(err, errlen, "unknown algorithm");
		return -1;
	}
	n = slen <= B64_ENC_LEN(TSIG_SECRET_MAX) ?
	    b64_decode(secret_b64, slen, buf) : -1;
	if (n <= 0 || n > TSIG_SECRET_MAX) {
		explicit_bzero(buf, sizeof(buf));
		snprintf(err, errlen, n == -1 && slen <=
		    B64_ENC_LEN(TSIG_SECRET_MAX) ? "the secret is not base64" :
		    "the secret must be 1 to %d octets", TSIG_SECRET_MAX);
		return -1;
	}
	k->namelen = (uint8_t)wl;
	k->alg = (uint8_t)alg;
	k->secretlen = (uint16_t)n;
	memcpy(k->secret, buf, (size_t)n);
	explicit_bzero(buf, sizeof(buf));
	return 0;
}

void
tsig_key_wipe(struct tsig_key *k)
{
	if (k != NULL)
		explicit_bzero(k, sizeof(*k));
}

const char *
tsig_error_str(int error, char *buf, size_t len)
{
	switch (error) {
	case TSIG_BADSIG:
		return "BADSIG";
	case TSIG_BADKEY:
		return "BADKEY";
	case TSIG_BADTIME:
		return "BADTIME";
	case TSIG_BADTRUNC:
		return "BADTRUNC";
	default:
		snprintf(buf, len, "TSIG-ERROR-%d", error);
		return buf;
	}
}

/*
 * The TSIG RR's RDATA at msg[off, end): algorithm name, Time Signed,
 * Fudge, MAC, Original ID, Error, Other Data, filling end exactly.
 */
static int
rdata_read(const uint8_t *msg, size_t off, size_t end, struct tsig_rr *t)
{
	if (dns_name_read(msg, end, &off, t->alg, &t->alglen) == -1 ||
	    end - off < 10)
		return -1;
	t->time = get48(msg + off);
	t->fudge = dns_get16(msg + off + 6);
	t->macsize = dns_get16(msg + off + 8);
	off += 10;
	if (end - off < (size_t)t->macsize + 6)
		return -1;
	t->mac = msg + off;
	off += t->macsize;
	t->origid = dns_get16(msg + off);
	t->error = dns_get16(msg + off + 2);
	t->otherlen = dns_get16(msg + off + 4);
	off += 6;
	if (end - off != t->otherlen)
		return -1;
	t->other = msg + off;
	return 0;
}

/*
 * Walk the whole message (any opcode, query or answer) and read its TSIG
 * RR.  1: none; 0: t holds it; -1: malformed, or a TSIG that is not the
 * last record of the additional section, or not the only one (RFC 8945
 * 5.2: FORMERR).
 */
static int
tsig_find(const uint8_t *msg, size_t len, struct tsig_rr *t)
{
	size_t off = DNS_HDR_LEN, wlen, rdlen, rstart;
	unsigned i, qd, nrr, nansauth;
	int found = 0;

	if (len < DNS_HDR_LEN)
		return -1;
	qd = dns_get16(msg + 4);
	nansauth = (unsigned)dns_get16(msg + 6) + dns_get16(msg + 8);
	nrr = nansauth + dns_get16(msg + 10);
	for (i = 0; i < qd; i++) {
		if (dns_name_read(msg, len, &off, NULL, &wlen) == -1 ||
		    len - off < 4)
			return -1;
		off += 4;
	}
	for (i = 0; i < nrr; i++) {
		rstart = off;
		if (dns_name_read(msg, len, &off, t->owner, &t->ownerlen) == -1 ||
		    len - off < 10)
			return -1;
		rdlen = dns_get16(msg + off + 8);
		if (len - off - 10 < rdlen)
			return -1;
		if (dns_get16(msg + off) == DNS_TYPE_TSIG) {
			if (i != nrr - 1 || i < nansauth)
				return -1;
			t->start = rstart;
			t->class = dns_get16(msg + off + 2);
			t->ttl = (uint32_t)dns_get16(msg + off + 4) << 16 |
			    dns_get16(msg + off + 6);
			if (rdata_read(msg, off + 10, off + 10 + rdlen, t) == -1)
				return -1;
			found = 1;
		}
		off += 10 + rdlen;
	}
	if (off != len)
		return -1;
	return found ? 0 : 1;
}

/* The TSIG variables of RFC 8945 4.3.3 (key name and algorithm in
 * canonical form) into out, up to Other Len; their length.  Other Data,
 * as long as the sender says, goes to the MAC from where it is. */
static size_t
vars_put(uint8_t *out, const struct tsig_key *k, const struct tsig_rr *t)
{
	size_t n = 0;

	memcpy(out, k->name, k->namelen);
	n += k->namelen;
	dns_put16(out + n, t->class);
	dns_put16(out + n + 2, (uint16_t)(t->ttl >> 16));
	dns_put16(out + n + 4, (uint16_t)t->ttl);
	n += 6;
	memcpy(out + n, algs[k->alg].wire, algs[k->alg].wirelen);
	n += algs[k->alg].wirelen;
	put48(out + n, t->time);
	dns_put16(out + n + 6, t->fudge);
	dns_put16(out + n + 8, t->error);
	dns_put16(out + n + 10, t->otherlen);
	return n + 12;
}

/*
 * HMAC of (the request MAC with its size, when reqmac is set) + the
 * message (msg[0, end) with ARCOUNT one less than in arcount's message
 * and the ID origid) + the TSIG variables, into out.  -1 when OpenSSL
 * fails.
 */
static int
mac_compute(const struct tsig_key *k, const uint8_t *reqmac,
    size_t reqmaclen, const uint8_t *msg, size_t end, uint16_t arcount,
    const struct tsig_rr *t, uint8_t *out)
{
	uint8_t hdr[DNS_HDR_LEN], vars[DNS_MAX_WIRE_NAME * 2 + 32], sz[2];
	OSSL_PARAM params[2];
	EVP_MAC_CTX *ctx;
	size_t outl = 0;
	int ok;

	pthread_once(&hmac_once, hmac_fetch);
	if (hmac == NULL || (ctx = EVP_MAC_CTX_new(hmac)) == NULL)
		return -1;
	params[0] = OSSL_PARAM_construct_utf8_string("digest",
	    (char *)(uintptr_t)algs[k->alg].digest, 0);
	params[1] = OSSL_PARAM_construct_end();
	memcpy(hdr, msg, DNS_HDR_LEN);
	dns_put16(hdr, t->origid);
	dns_put16(hdr + 10, arcount);
	dns_put16(sz, (uint16_t)reqmaclen);
	ok = EVP_MAC_init(ctx, k->secret, k->secretlen, params) == 1 &&
	    (reqmac == NULL || (EVP_MAC_update(ctx, sz, 2) == 1 &&
	    EVP_MAC_update(ctx, reqmac, reqmaclen) == 1)) &&
	    EVP_MAC_update(ctx, hdr, DNS_HDR_LEN) == 1 &&
	    EVP_MAC_update(ctx, msg + DNS_HDR_LEN, end - DNS_HDR_LEN) == 1 &&
	    EVP_MAC_update(ctx, vars, vars_put(vars, k, t)) == 1 &&
	    (t->otherlen == 0 ||
	    EVP_MAC_update(ctx, t->other, t->otherlen) == 1) &&
	    EVP_MAC_final(ctx, out, &outl, TSIG_MAC_MAX) == 1 &&
	    outl == algs[k->alg].maclen;
	EVP_MAC_CTX_free(ctx);
	return ok ? 0 : -1;
}

/* Is a MAC of this size one to check (RFC 8945 5.2.2.1)?  Longer than
 * the algorithm's, or cut below 10 octets or half of it: no. */
static int
macsize_ok(int alg, uint16_t size)
{
	uint16_t full = algs[alg].maclen;

	return size <= full && (size == full || (size >= 10 && size >= full / 2));
}

static int
time_ok(uint64_t signed_at, uint16_t fudge, uint64_t now)
{
	return now + fudge >= signed_at && signed_at + fudge >= now;
}

enum tsig_verdict
tsig_verify_request(const uint8_t *msg, size_t len,
    const struct tsig_key *keys, int nkeys, uint64_t now,
    struct tsig_req *req)
{
	struct tsig_rr t;
	uint8_t mac[TSIG_MAC_MAX];
	int i, r;

	memset(req, 0, sizeof(*req));
	if ((r = tsig_find(msg, len, &t)) == 1)
		return TSIG_NONE;
	if (r == -1 || t.class != DNS_CLASS_ANY)
		return TSIG_FORMERR;
	req->start = t.start;
	memcpy(req->name, t.owner, t.ownerlen);
	req->namelen = (uint8_t)t.ownerlen;
	memcpy(req->algname, t.alg, t.alglen);
	req->alglen = (uint8_t)t.alglen;
	req->time = t.time;
	req->fudge = t.fudge;
	if (t.macsize <= TSIG_MAC_MAX) {
		memcpy(req->mac, t.mac, t.macsize);
		req->maclen = t.macsize;
	}

	/* 5.2.1: the key, known by its name and algorithm both. */
	for (i = 0; i < nkeys; i++)
		if (keys[i].namelen == t.ownerlen &&
		    memcmp(keys[i].name, t.owner, t.ownerlen) == 0 &&
		    keys[i].alg == alg_by_wire(t.alg, t.alglen))
			break;
	if (i == nkeys) {
		req->error = TSIG_BADKEY;
		return TSIG_ERROR;
	}
	req->key = &keys[i];
	/* 5.2.2: the MAC.  An empty one is a bad one (as BIND has it). */
	if (t.macsize != 0 && !macsize_ok(req->key->alg, t.macsize))
		return TSIG_FORMERR;
	if (t.macsize == 0 ||
	    mac_compute(req->key, NULL, 0, msg, t.start,
	    dns_get16(msg + 10) - 1, &t, mac) == -1 ||
	    CRYPTO_memcmp(mac, t.mac, t.macsize) != 0) {
		req->error = TSIG_BADSIG;
		return TSIG_ERROR;
	}
	/* 5.2.3: the time, only once the MAC vouches for it. */
	if (!time_ok(t.time, t.fudge, now)) {
		req->error = TSIG_BADTIME;
		return TSIG_ERROR;
	}
	/* 5.2.4: a cut MAC is allowed by 5.2.2.1 but not here. */
	if (t.macsize != algs[req->key->alg].maclen) {
		req->error = TSIG_BADTRUNC;
		return TSIG_ERROR;
	}
	return TSIG_OK;
}

/* Append the TSIG RR t to buf and count it in ARCOUNT.  0 when it does
 * not fit. */
static size_t
rr_put(uint8_t *buf, size_t len, size_t cap, const struct tsig_rr *t)
{
	size_t rdlen = t->alglen + 16 + t->macsize + t->otherlen, o = len;

	if (len < DNS_HDR_LEN || cap < len || cap - len <
	    t->ownerlen + 10 + rdlen || dns_get16(buf + 10) == 0xffff)
		return 0;
	memcpy(buf + o, t->owner, t->ownerlen);
	o += t->ownerlen;
	dns_put16(buf + o, DNS_TYPE_TSIG);
	dns_put16(buf + o + 2, t->class);
	dns_put16(buf + o + 4, (uint16_t)(t->ttl >> 16));
	dns_put16(buf + o + 6, (uint16_t)t->ttl);
	dns_put16(buf + o + 8, (uint16_t)rdlen);
	o += 10;
	memcpy(buf + o, t->alg, t->alglen);
	o += t->alglen;
	put48(buf + o, t->time);
	dns_put16(buf + o + 6, t->fudge);
	dns_put16(buf + o + 8, t->macsize);
	o += 10;
	if (t->macsize > 0)
		memcpy(buf + o, t->mac, t->macsize);
	o += t->macsize;
	dns_put16(buf + o, t->origid);
	dns_put16(buf + o + 2, t->error);
	dns_put16(buf + o + 4, t->otherlen);
	o += 6;
	if (t->otherlen > 0)
		memcpy(buf + o, t->other, t->otherlen);
	o += t->otherlen;
	dns_put16(buf + 10, dns_get16(buf + 10) + 1);
	return o;
}

/* Sign buf[0, len) with k: t carries time, fudge, error and Other Data;
 * the rest is filled in here. */
static size_t
sign_with(uint8_t *buf, size_t len, size_t cap, const struct tsig_key *k,
    const uint8_t *reqmac, size_t reqmaclen, struct tsig_rr *t,
    uint8_t *macout)
{
	uint8_t mac[TSIG_MAC_MAX];
	size_t n;

	if (len < DNS_HDR_LEN)
		return 0;
	memcpy(t->owner, k->name, k->namelen);
	t->ownerlen = k->namelen;
	t->class = DNS_CLASS_ANY;
	t->ttl = 0;
	memcpy(t->alg, algs[k->alg].wire, algs[k->alg].wirelen);
	t->alglen = algs[k->alg].wirelen;
	t->origid = dns_get_id(buf);
	/* The MAC covers the message as it is before the TSIG RR. */
	if (mac_compute(k, reqmac, reqmaclen, buf, len, dns_get16(buf + 10), t,
	    mac) == -1)
		return 0;
	t->macsize = algs[k->alg].maclen;
	t->mac = mac;
	n = rr_put(buf, len, cap, t);
	if (n != 0 && macout != NULL)
		memcpy(macout, mac, t->macsize);
	explicit_bzero(mac, sizeof(mac));
	return n;
}

size_t
tsig_sign(uint8_t *buf, size_t len, size_t cap, const struct tsig_key *k,
    const uint8_t *reqmac, size_t reqmaclen, uint64_t now, uint8_t *mac)
{
	struct tsig_rr t;

	memset(&t, 0, sizeof(t));
	t.time = now;
	t.fudge = TSIG_FUDGE;
	return sign_with(buf, len, cap, k, reqmac, reqmaclen, &t, mac);
}

size_t
tsig_answer(uint8_t *out, size_t outlen, const uint8_t *msg, size_t len,
    const struct dns_query *q, const struct tsig_req *req, int rcode,
    uint64_t now)
{
	struct tsig_rr t;
	uint8_t other[6];
	size_t n;

	n = dns_make_answer(out, outlen, msg, len, q,
	    req->error != 0 ? DNS_RCODE_NOTAUTH : rcode);
	if (n == 0)
		return 0;
	memset(&t, 0, sizeof(t));
	t.time = now;
	t.fudge = TSIG_FUDGE;
	t.error = req->error;
	switch (req->error) {
	case 0:
	case TSIG_BADTRUNC:
		return sign_with(out, n, outlen, req->key, req->mac,
		    req->maclen, &t, NULL);
	case TSIG_BADTIME:
		/* 5.2.3: signed, with the client's time and fudge, so that
		 * a client whose clock is off can check it; ours in Other
		 * Data. */
		t.time = req->time;
		t.fudge = req->fudge;
		put48(other, now);
		t.other = other;
		t.otherlen = 6;
		return sign_with(out, n, outlen, req->key, req->mac,
		    req->maclen, &t, NULL);
	default:
		/* BADKEY, BADSIG: unsigned (5.3.2), naming the request's
		 * key and algorithm. */
		memcpy(t.owner, req->name, req->namelen);
		t.ownerlen = req->namelen;
		t.class = DNS_CLASS_ANY;
		memcpy(t.alg, req->algname, req->alglen);
		t.alglen = req->alglen;
		t.origid = dns_get_id(out);
		return rr_put(out, n, outlen, &t);
	}
}

int
tsig_verify_answer(const uint8_t *msg, size_t len, const struct tsig_key *k,
    const uint8_t *reqmac, size_t reqmaclen, uint64_t now)
{
	struct tsig_rr t;
	uint8_t mac[TSIG_MAC_MAX];
	int r;

	if ((r = tsig_find(msg, len, &t)) != 0)
		return r == 1 ? TSIG_A_UNSIGNED : TSIG_A_MALFORMED;
	if (t.ownerlen != k->namelen || memcmp(t.owner, k->name,
	    k->namelen) != 0 || alg_by_wire(t.alg, t.alglen) != k->alg)
		return TSIG_A_OTHER_KEY;
	switch (t.error) {
	case 0:
		break;
	case TSIG_BADSIG:
		return TSIG_A_BADSIG;
	case TSIG_BADKEY:
		return TSIG_A_BADKEY;
	case TSIG_BADTIME:
		return TSIG_A_BADTIME;
	case TSIG_BADTRUNC:
		return TSIG_A_BADTRUNC;
	default:
		return TSIG_A_ERROR;
	}
	if (t.macsize != algs[k->alg].maclen ||
	    mac_compute(k, reqmac, reqmaclen, msg, t.start,
	    dns_get16(msg + 10) - 1, &t, mac) == -1 ||
	    CRYPTO_memcmp(mac, t.mac, t.macsize) != 0)
		return TSIG_A_BAD_MAC;
	if (!time_ok(t.time, t.fudge, now))
		return TSIG_A_TIME;
	return TSIG_A_OK;
}

const char *
tsig_answer_str(int e)
{
	static const char *const s[TSIG_A__COUNT] = {
		"ok", "unsigned-answer", "malformed-tsig", "other-key",
		"BADSIG", "BADKEY", "BADTIME", "BADTRUNC", "tsig-error",
		"bad-mac", "time-outside-fudge",
	};

	return e >= 0 && e < TSIG_A__COUNT ? s[e] : "?";
}

int
tsig_mac_len(int alg)
{
	return alg >= 0 && alg < TSIG_ALG__COUNT ? algs[alg].maclen : 0;
}

size_t
tsig_strip(uint8_t *msg, size_t start)
{
	dns_put16(msg + 10, dns_get16(msg + 10) - 1);
	return start;
}

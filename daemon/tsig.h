/*
 * tsig: transaction signatures (RFC 8945) on DNS messages, for UPDATE.
 *
 * A request is verified with the key it names, in the order RFC 8945 5.2
 * sets (key, MAC, time, truncation), and the verdict says which error the
 * answer carries; an answer is signed with the request's MAC chained in,
 * unsigned where 5.3.2 says so (BADKEY, BADSIG) and signed where 5.2.3
 * and 5.2.4 say so (BADTIME with the client's time and ours in Other
 * Data, BADTRUNC).  The same functions sign what the router sends to a
 * backend and verify the backend's answer with that backend's key.
 *
 * Secrets live in struct tsig_key only, are wiped by tsig_key_wipe(), and
 * never leave this module but into the HMAC.
 */
#ifndef TSIG_H
#define TSIG_H

#include <stddef.h>
#include <stdint.h>

#include "dnsmsg.h"
#include "words.h"

#define DNS_TYPE_TSIG		250
#define DNS_CLASS_ANY		255
#define DNS_RCODE_NOTAUTH	9
#define DNS_RCODE_NOTZONE	10

/* TSIG error codes (RFC 8945 3, the TSIG RR's Error field). */
#define TSIG_BADSIG		16
#define TSIG_BADKEY		17
#define TSIG_BADTIME		18
#define TSIG_BADTRUNC		22

#define TSIG_FUDGE		300	/* seconds, as BIND and RFC 8945 10 */
#define TSIG_MAC_MAX		64	/* hmac-sha512 */
#define TSIG_SECRET_MAX		512	/* octets; HMAC hashes longer keys */
/* Room a TSIG RR can take at the end of a message: an owner name, the
 * fixed fields, the longest algorithm name, a full MAC, Other Data. */
#define TSIG_RR_MAX		(DNS_MAX_WIRE_NAME + 10 + 26 + 16 + \
				    TSIG_MAC_MAX + 6)

struct tsig_key {
	uint8_t		name[DNS_MAX_WIRE_NAME];	/* lowercase wire */
	uint8_t		namelen;
	uint8_t		alg;				/* enum tsig_alg (words.h) */
	uint16_t	secretlen;
	uint8_t		secret[TSIG_SECRET_MAX];
};

/* What a request's TSIG said and what its answer needs: the key and MAC
 * to sign with and chain, the client's time and fudge. */
struct tsig_req {
	const struct tsig_key	*key;		/* NULL: no key known */
	uint8_t		name[DNS_MAX_WIRE_NAME];	/* as the request named it */
	uint8_t		namelen;
	uint8_t		algname[DNS_MAX_WIRE_NAME];
	uint8_t		alglen;
	uint64_t	time;			/* the request's Time Signed */
	uint16_t	fudge;
	uint16_t	error;			/* 0 or TSIG_* for the answer */
	uint8_t		mac[TSIG_MAC_MAX];
	uint16_t	maclen;
	size_t		start;			/* offset of the TSIG RR */
};

enum tsig_verdict {
	TSIG_NONE = 0,		/* no TSIG RR */
	TSIG_OK,		/* verified */
	TSIG_ERROR,		/* answer NOTAUTH with req->error */
	TSIG_FORMERR		/* misplaced, repeated or malformed TSIG */
};

/* Fill k from a key name, an algorithm and the secret as base64.  -1 with
 * err (no secret in it) when one of them is no good. */
int		 tsig_key_init(struct tsig_key *k, const char *name, int alg,
		    const char *secret_b64, char *err, size_t errlen);
void		 tsig_key_wipe(struct tsig_key *);
/* "BADSIG", "BADKEY", "BADTIME", "BADTRUNC", or "TSIG-ERROR-N". */
const char	*tsig_error_str(int error, char *buf, size_t len);

/*
 * Check the TSIG of a request (len bytes, walked already by the query
 * parser) against the keys it may name (nkeys of them), at now (seconds
 * since the epoch).  TSIG_OK: req says with which key and what the answer
 * chains; TSIG_ERROR: req->error is the answer's TSIG error (and req->key
 * is set when the answer must be signed: BADTIME, BADTRUNC); TSIG_NONE,
 * TSIG_FORMERR: as named.  req->start is where the TSIG RR begins, so the
 * message without it is the first req->start bytes (with ARCOUNT one
 * less).
 */
enum tsig_verdict tsig_verify_request(const uint8_t *msg, size_t len,
		    const struct tsig_key *keys, int nkeys, uint64_t now,
		    struct tsig_req *req);

/*
 * Append a TSIG RR signed with k to the message in buf (len bytes, room
 * for cap) and add one to ARCOUNT; the ID in the header is the Original
 * ID.  reqmac (maclen octets; NULL for a request) is the MAC of the
 * request this answers.  The MAC made is left in mac (TSIG_MAC_MAX) when
 * not NULL, for the answer's check.  Returns the new length, 0 when it
 * does not fit.
 */
size_t		 tsig_sign(uint8_t *buf, size_t len, size_t cap,
		    const struct tsig_key *k, const uint8_t *reqmac,
		    size_t reqmaclen, uint64_t now, uint8_t *mac);

/*
 * The answer to a request whose TSIG failed or verified (req from
 * tsig_verify_request), in out: the header (the request's ID, QR, its
 * opcode and RD, rcode), the question or zone section echoed when q
 * parsed it, and the TSIG RR: signed with the request's key and its MAC
 * chained when the request verified or the error is BADTIME (Time Signed
 * the client's, Other Data our time) or BADTRUNC; unsigned (MAC Size 0)
 * for BADKEY and BADSIG.  rcode NOTAUTH for an error.  Returns the
 * length, 0 when out is too small.
 */
size_t		 tsig_answer(uint8_t *out, size_t outlen, const uint8_t *msg,
		    size_t len, const struct dns_query *q,
		    const struct tsig_req *req, int rcode, uint64_t now);

/* Why an answer's TSIG is not good (tsig_verify_answer). */
enum tsig_answer_err {
	TSIG_A_OK = 0,
	TSIG_A_UNSIGNED,	/* no TSIG */
	TSIG_A_MALFORMED,	/* misplaced, repeated or cut */
	TSIG_A_OTHER_KEY,	/* another key name or algorithm */
	TSIG_A_BADSIG,		/* the server's TSIG error: it did not ... */
	TSIG_A_BADKEY,		/* ... know our key, */
	TSIG_A_BADTIME,		/* ... like our time, */
	TSIG_A_BADTRUNC,	/* ... or our MAC size; */
	TSIG_A_ERROR,		/* ... or another error */
	TSIG_A_BAD_MAC,		/* its MAC does not verify */
	TSIG_A_TIME,		/* its time is outside the fudge */
	TSIG_A__COUNT
};

/* Check the TSIG of an answer to a request we signed with k, whose MAC
 * was reqmac: TSIG_A_OK or why not. */
int		 tsig_verify_answer(const uint8_t *msg, size_t len,
		    const struct tsig_key *k, const uint8_t *reqmac,
		    size_t reqmaclen, uint64_t now);
/* "unsigned-answer", "BADKEY", "bad-mac", ... */
const char	*tsig_answer_str(int);

/* The length of the algorithm's MAC, in octets. */
int		 tsig_mac_len(int alg);

/* Remove a message's TSIG RR (at start, from tsig_verify_request): the
 * message is then start bytes long, with ARCOUNT one less. */
size_t		 tsig_strip(uint8_t *msg, size_t start);

#endif

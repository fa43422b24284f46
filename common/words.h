/*
 * words: every enumeration an operator types or reads, each with its one
 * table of words.  The C enums are what the programs keep; the words are
 * what the command language, `show`, `export`, the store (the CHECK
 * constraints of sql/schema.sql), the metrics and the logs say.  A word is
 * written here and nowhere else: parsers, printers and completion all go
 * through words_find() and words_name().  (DNS types, classes and rcodes,
 * which are numbers with names, are dnsnames.h's.)
 */
#ifndef WORDS_H
#define WORDS_H

enum route_action {
	ACTION_POOL = 0, ACTION_REFUSE, ACTION_NXDOMAIN, ACTION_SERVFAIL,
	ACTION_DROP
};
enum pool_policy {
	POLICY_ROUNDROBIN = 0, POLICY_WEIGHTED, POLICY_FIRST,
	POLICY_LEAST_OUTSTANDING, POLICY_RACE, POLICY_FANOUT
};
enum admin_state { ADMIN_ENABLED = 0, ADMIN_DRAINED, ADMIN_DISABLED };
enum health_state { HEALTH_UNKNOWN = 0, HEALTH_UP, HEALTH_DOWN };
enum transport { TRANSPORT_UDP = 0, TRANSPORT_TCP };
enum yesno { NO = 0, YES };
enum zone_assume { ASSUME_NOTHING = 0, ASSUME_SUBTREE };
/* A fanout pool's answer: NOERROR when every member confirmed, or one. */
enum confirm { CONFIRM_ALL = 0, CONFIRM_ANY };
/* What a route matches: queries (by name), or UPDATEs (by zone). */
enum route_opcode { ROUTE_QUERY = 0, ROUTE_UPDATE };
/* An UPDATE route: must a sender sign (TSIG)? */
enum route_tsig { TSIG_REQUIRED = 0, TSIG_OPTIONAL };
/* TSIG algorithms (RFC 8945; hmac-md5 for old servers). */
enum tsig_alg {
	TSIG_HMAC_MD5 = 0, TSIG_HMAC_SHA1, TSIG_HMAC_SHA224, TSIG_HMAC_SHA256,
	TSIG_HMAC_SHA384, TSIG_HMAC_SHA512, TSIG_ALG__COUNT
};

struct words {
	const char *const	*w;	/* by enum value */
	int			 n;
};

extern const struct words words_action;		/* pool refuse nxdomain ... */
extern const struct words words_policy;		/* roundrobin weighted ... */
extern const struct words words_admin;		/* enabled drained disabled */
extern const struct words words_health;		/* unknown up down */
extern const struct words words_transport;	/* udp tcp */
extern const struct words words_yesno;		/* no yes */
extern const struct words words_assume;		/* nothing subtree (zone split) */
extern const struct words words_confirm;	/* all any */
extern const struct words words_opcode;		/* query update */
extern const struct words words_tsig;		/* required optional */
extern const struct words words_tsig_alg;	/* hmac-md5 ... hmac-sha512 */

/* The value of word s, or -1. */
int		 words_find(const struct words *, const char *s);
/* The word of value v, or "?" for a value outside the table. */
const char	*words_name(const struct words *, int v);

#endif

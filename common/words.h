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

#include <stddef.h>

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
/* What reaches a backend of the client's address (per backend). */
enum client_address { CLIENT_ADDR_OFF = 0, CLIENT_ADDR_ECS, CLIENT_ADDR_PROXY };
/* A client's own EDNS Client Subnet option, towards an ecs backend. */
enum ecs_client { ECS_KEEP = 0, ECS_REPLACE };
/* What a race pool takes as a winning answer, as bits (1 << enum good):
 * an answer with records always; NODATA and NXDOMAIN when asked. */
enum good { GOOD_ANSWER = 0, GOOD_NODATA, GOOD_NXDOMAIN };

struct words {
	const char *const	*w;	/* by enum value */
	int			 n;
	/* What each word means, for help; NULL: the words say it. */
	const char *const	*help;
	/* Words the programs know (stored, shown) that an operator may not
	 * give yet: bit v for value v.  Left out of usage and completion,
	 * refused by the parser (words_offered). */
	unsigned		 withheld;
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
extern const struct words words_client_addr;	/* off ecs proxy */
extern const struct words words_ecs_client;	/* keep replace */
extern const struct words words_good;		/* answer nodata nxdomain */

/* The value of word s, or -1. */
int		 words_find(const struct words *, const char *s);
/* The word of value v, or "?" for a value outside the table. */
const char	*words_name(const struct words *, int v);
/* May an operator give the word of value v (not withheld)? */
static inline int
words_offered(const struct words *ws, int v)
{
	return v >= 0 && v < ws->n && !(ws->withheld >> v & 1);
}
/* A set of words as bits (1 << value), written "a,b": 0, or -1 for a word
 * not in the table (or withheld); an empty set is -1 too. */
int		 words_set_parse(const struct words *, const char *s,
		    unsigned *bits);
/* The words of bits, comma-separated, into out. */
void		 words_set_format(const struct words *, unsigned bits,
		    char *out, size_t outlen);

#endif

/*
 * conf: what an operator configures, as one set of types for the command
 * language, the store and the daemon.  A backend's settings are one struct,
 * struct backend_conf, and a pool's struct pool_conf: the command parser
 * fills them (common/cmdtab.c declares their options and their defaults),
 * the store keeps them (daemon/db.c), the daemon serves and health-checks
 * from them.
 */
#ifndef CONF_H
#define CONF_H

#define CONF_NAME_MAX	64	/* backend and pool names, NUL included */
#define CONF_ADDR_MAX	64	/* "[ffff:...]:65535", NUL included */
#define CONF_QNAME_MAX	1024	/* health-check qname, presentation form */
#define CONF_POOLS_MAX	64	/* pools one backend command may name */
#define CONF_MAX_ROUTES	100000
#define CONF_KEY_MAX	256	/* a TSIG key's name, presentation form */
#define CONF_SECRET_MAX	512	/* a TSIG secret, octets (base64 in commands) */
#define CONF_SECRET_B64	(((CONF_SECRET_MAX + 2) / 3) * 4 + 1)	/* its base64 */

struct backend_conf {
	char	addr[CONF_ADDR_MAX];	/* normalised: "127.0.0.1:5301", "[::1]:53" */
	int	transport;		/* enum transport */
	int	weight;			/* 1..1000 */
	char	check_qname[CONF_QNAME_MAX];
	int	check_qtype;
	int	check_qclass;
	int	check_tcp;		/* enum transport of the check */
	int	check_rcode;		/* -1: any rcode is an answer */
	int	interval_ms;
	int	timeout_ms;
	int	fall;
	int	rise;
	char	key[CONF_KEY_MAX];	/* TSIG key for UPDATEs to it; "": none */
	int	client_addr;		/* enum client_address */
};

struct pool_conf {
	int	policy;			/* enum pool_policy */
	int	confirm;		/* fanout: enum confirm */
	int	good;			/* race: bits of enum good */
	int	tc_retry;		/* enum yesno: TCP after a truncated UDP answer */
};

#endif

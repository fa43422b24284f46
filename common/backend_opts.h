/*
 * backend_opts: the options of `backend add` and `backend set`, parsed in
 * one place for the daemon and for dnsroutectl's model of the daemon
 * (--replace), so a backend written by `export` always reads back.
 */
#ifndef BACKEND_OPTS_H
#define BACKEND_OPTS_H

#include <stddef.h>

#include "dnsmsg.h"

#define BACKEND_POOLS_MAX	64	/* pools one command may name */
#define BACKEND_ADDR_MAX	64
#define BACKEND_QNAME_MAX	1024	/* as the store keeps it */

/* A backend's settings, as the command language has them. */
struct backend_conf {
	char	addr[BACKEND_ADDR_MAX];	/* normalised: "1.2.3.4:53", "[::1]:53" */
	int	weight;			/* 1..1000 */
	int	tcp;			/* transport tcp (else udp) */
	char	qname[BACKEND_QNAME_MAX];	/* health check, presentation form */
	int	qtype, qclass;
	int	check_tcp;		/* check-transport tcp (else udp) */
	int	rcode;			/* expected; -1: any */
	long	interval_ms, timeout_ms;
	int	fall, rise;
};

/* The pools named, pointers into the argv parsed. */
struct backend_pools {
	const char	*name[BACKEND_POOLS_MAX];
	int		 n;
	int		 given;		/* "pool" appeared (pool - : none) */
};

void	backend_conf_defaults(struct backend_conf *);
/* Parse "OPTION VALUE..." into c and p ("addr" only with allow_addr, as
 * for backend set).  Returns 0, or -1 with the reason in err; usage is
 * quoted in the message for an unknown option. */
int	backend_opts_parse(int argc, char **argv, int allow_addr,
	    struct backend_conf *c, struct backend_pools *p, const char *usage,
	    char *err, size_t errlen);
/* Normalise an address for the store ("1.2.3.4" -> "1.2.3.4:53"). */
int	backend_addr_norm(const char *in, char *out, size_t outlen, char *err,
	    size_t errlen);

#endif

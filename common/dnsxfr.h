/*
 * dnsxfr: where a zone transfer's answer ends (RFC 5936 AXFR, RFC 1995
 * IXFR).  A transfer is a stream of messages on one TCP connection with no
 * count of its own: it ends with the message that holds its last SOA.  The
 * router relays the messages one by one as they come and needs only to
 * know when to stop, so this looks at the answer records' types and the
 * SOA serials and at nothing else.
 */
#ifndef DNSXFR_H
#define DNSXFR_H

#include <stddef.h>
#include <stdint.h>

struct dns_xfr {
	uint16_t	qtype;		/* DNS_TYPE_AXFR or DNS_TYPE_IXFR */
	uint32_t	nrr;		/* answer records seen */
	uint32_t	nsoa;		/* of them SOA */
	uint32_t	serial;		/* of the first SOA: the zone's now */
	int		incremental;	/* IXFR answered with differences */
};

void	dns_xfr_init(struct dns_xfr *, uint16_t qtype);
/* One message of the answer, in order: 1 when it is the last, 0 when more
 * are to come, -1 when it cannot be part of the transfer (malformed, or
 * its first record is no SOA).  A message with an error rcode is the
 * last. */
int	dns_xfr_feed(struct dns_xfr *, const uint8_t *msg, size_t len);

#endif

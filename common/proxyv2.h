/*
 * proxyv2: the PROXY protocol version 2 header (haproxy's
 * proxy-protocol.txt) that tells a backend such as dnsdist or PowerDNS
 * who the client was: written before each datagram over UDP, once at the
 * start of a connection over TCP.  Only the binary version 2, only the
 * PROXY command with TCP/UDP over IPv4/IPv6, and LOCAL (what a health
 * check sends: no addresses, "use the connection's own").
 */
#ifndef PROXYV2_H
#define PROXYV2_H

#include <sys/socket.h>
#include <stddef.h>
#include <stdint.h>

#define PROXYV2_LOCAL_LEN	16		/* signature, command, no address */
#define PROXYV2_MAX		(16 + 36)	/* PROXY over IPv6 */

/* The PROXY header for a client at src that reached us at dst (NULL or
 * another family: the unspecified address and port 0 of src's family),
 * over TCP or UDP, into out (PROXYV2_MAX octets); its length.  An
 * IPv4-mapped IPv6 address is written as IPv4.  0 when src is neither
 * IPv4 nor IPv6. */
size_t	proxyv2_write(uint8_t *out, int tcp, const struct sockaddr *src,
	    const struct sockaddr *dst);
/* The LOCAL header into out (PROXYV2_LOCAL_LEN octets); its length. */
size_t	proxyv2_local(uint8_t *out);

/* A header read back (the test responder's side, and the fuzzer's). */
struct proxyv2 {
	int			 local;		/* LOCAL: no addresses */
	int			 tcp;		/* else UDP (PROXY only) */
	struct sockaddr_storage	 src, dst;	/* PROXY only */
};
/* Parse the header at the start of buf: the octets it takes (addresses
 * and any TLVs after them), 0 when more are needed, -1 when it is not a
 * header of the kind above. */
long	proxyv2_parse(const uint8_t *buf, size_t len, struct proxyv2 *);

#endif

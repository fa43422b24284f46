/*
 * dnsecs: the EDNS Client Subnet option (RFC 7871) in a query the router
 * forwards, and out of the answer it relays.  Only the OPT record's
 * options are touched; every other byte goes as it came.
 */
#ifndef DNSECS_H
#define DNSECS_H

#include <sys/socket.h>
#include <stddef.h>
#include <stdint.h>

struct dns_query;

#define DNS_ECS_ROOM	24	/* what the option adds at most (IPv6) */

enum dns_ecs_result {
	DNS_ECS_ADDED,		/* out holds the query with the option */
	DNS_ECS_REPLACED,	/* ... in place of the client's own */
	DNS_ECS_KEPT,		/* the client's own option, kept: send msg */
	DNS_ECS_NO_EDNS,	/* no OPT record: send msg */
	DNS_ECS_SIGNED,		/* TSIG or SIG(0): its bytes may not change */
	DNS_ECS_NO_ROOM		/* outlen too small */
};

/* The query msg (len, parsed as q) with an ECS option for the client at
 * sa, its first bits4 (IPv4, IPv4-mapped IPv6 too) or bits6 bits, into
 * out; *outlen_p is out's size and becomes the length written.  A client's
 * own option is kept unless replace, and always when its source prefix is
 * 0 (the client asks that its address not be used). */
enum dns_ecs_result dns_ecs_add(const uint8_t *msg, size_t len,
	    const struct dns_query *q, const struct sockaddr *sa, int bits4,
	    int bits6, int replace, uint8_t *out, size_t *outlen_p);
/* Take every ECS option out of the OPT record of the answer msg, in
 * place; the new length (len when there is none, or the message cannot be
 * walked). */
size_t	dns_ecs_strip(uint8_t *msg, size_t len);

#endif

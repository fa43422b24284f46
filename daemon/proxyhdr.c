/*
 * proxyhdr: the PROXY v2 header (proxyv2.h) for a client's message to a
 * client-address proxy backend (see proxyhdr.h): the client's address and
 * port from the slot, where it reached the router from its socket (a
 * getsockname() a message; only such backends pay it).
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <string.h>

#include "client_tcp.h"
#include "proxyhdr.h"
#include "proxyv2.h"
#include "txq.h"
#include "wstate.h"

/* Where cl reached the router, into ss: its TCP connection's local
 * address, or its UDP listener's with the datagram's destination address
 * when the listener is a wildcard; NULL when not known. */
static const struct sockaddr *
client_dst(const struct client *cl, struct sockaddr_storage *ss)
{
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)(void *)ss;
	struct sockaddr_in *s4 = (struct sockaddr_in *)(void *)ss;
	socklen_t sl = sizeof(*ss);
	int fd = cl->tc != NULL ? cl->tc->c.fd : cl->lfd;

	if (fd == -1 || getsockname(fd, (struct sockaddr *)ss, &sl) == -1)
		return NULL;
	if (cl->dst == NULL)
		return (const struct sockaddr *)ss;
	if (cl->dst->family == AF_INET && ss->ss_family == AF_INET)
		s4->sin_addr = cl->dst->a.v4;
	else if (cl->dst->family == AF_INET6 && ss->ss_family == AF_INET6)
		s6->sin6_addr = cl->dst->a.v6;
	else if (cl->dst->family == AF_INET && ss->ss_family == AF_INET6) {
		/* IPv4 on a dual-stack socket: as an IPv4-mapped address. */
		memset(&s6->sin6_addr, 0, sizeof(s6->sin6_addr));
		s6->sin6_addr.s6_addr[10] = 0xff;
		s6->sin6_addr.s6_addr[11] = 0xff;
		memcpy(&s6->sin6_addr.s6_addr[12], &cl->dst->a.v4, 4);
	}
	return (const struct sockaddr *)ss;
}

size_t
proxyhdr_client(const struct client *cl, uint8_t *out)
{
	struct sockaddr_storage dst;

	return proxyv2_write(out, cl->tc != NULL, cl->sa,
	    client_dst(cl, &dst));
}

/*
 * client_udp: a worker's UDP listeners: client datagrams read in batches
 * with recvmmsg and handed to the query layer (w->on_query); the answers
 * leave through the send queue (txq.h).
 */
#ifndef CLIENT_UDP_H
#define CLIENT_UDP_H

struct worker;

void	client_udp_init(struct worker *);
/* Serve the listening socket fd (wildcard: 0.0.0.0 or ::, IP_PKTINFO on). */
void	client_udp_add(struct worker *, int fd, int wildcard);
/* Read no more (stopping); the sockets stay open for the answers. */
void	client_udp_stop(struct worker *);
void	client_udp_free(struct worker *);

#endif

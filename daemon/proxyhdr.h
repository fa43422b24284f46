/*
 * proxyhdr: the PROXY v2 header for a client's message, as a
 * client-address proxy backend gets it (see proxyhdr.c).
 */
#ifndef PROXYHDR_H
#define PROXYHDR_H

#include <stddef.h>
#include <stdint.h>

struct client;

/* The header for cl's message into out (PROXYV2_MAX octets): cl's address
 * and port, where it reached the router, its transport; its length. */
size_t	proxyhdr_client(const struct client *cl, uint8_t *out);

#endif

/*
 * floor_relay: the least a userspace DNS relay can do over UDP, for the
 * benchmark (floor_tcp.c is its TCP counterpart).
 *
 *	floor_relay LISTEN_ADDR LISTEN_PORT BACKEND_ADDR BACKEND_PORT
 *
 * A measuring stick, not a product: one thread, poll() on two non-blocking
 * sockets (the listening one and one connect()ed to the backend), batches
 * of 32 in and out with recvmmsg/sendmmsg, and a fixed table of 65,536
 * client addresses indexed by the DNS ID, which goes on unchanged.  Nothing
 * is parsed beyond a length >= 2; a datagram the kernel refuses to send is
 * dropped, as the network would drop it.  Two queries in flight with one ID
 * send both answers to the later client, and whoever reaches the backend
 * socket can answer any client: never put it in front of real clients.
 * Addresses are IPv4 or IPv6 literals; it exits 0 on SIGTERM or SIGINT.
 */
#ifndef _GNU_SOURCE		/* configure defines it; a bare cc does not */
#define _GNU_SOURCE		/* recvmmsg, sendmmsg, ppoll */
#endif
#include <sys/socket.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BATCH	32
#define BUFSZ	4096		/* the bench's messages are far smaller */

static struct sockaddr_in6	client_of[65536];	/* by DNS ID */
static unsigned char		buf[BATCH][BUFSZ];
static struct sockaddr_in6	from[BATCH];
static struct iovec		iov[BATCH];
static struct mmsghdr		rx[BATCH], tx[BATCH];
static volatile sig_atomic_t	quit;

static void
on_signal(int sig)
{
	(void)sig;
	quit = 1;
}

/* sock: a UDP socket bound to (bind) or connected to ADDR PORT. */
static int
sock(const char *addr, const char *port, int bind_it, socklen_t *lenp)
{
	struct sockaddr_in6 sa;
	struct sockaddr_in *sin = (struct sockaddr_in *)&sa;
	socklen_t len = sizeof(*sin);
	int fd, p = atoi(port), sz = 4 << 20;

	memset(&sa, 0, sizeof(sa));
	sin->sin_family = AF_INET;
	if (inet_pton(AF_INET, addr, &sin->sin_addr) != 1) {
		sa.sin6_family = AF_INET6;
		len = sizeof(sa);
		if (inet_pton(AF_INET6, addr, &sa.sin6_addr) != 1)
			p = 0;
	}
	if (p < 1 || p > 65535) {
		fprintf(stderr, "floor_relay: bad address %s %s\n", addr, port);
		exit(2);
	}
	sin->sin_port = htons((unsigned short)p);	/* same place in both */
	fd = socket(sa.sin6_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	/* dnsrouted's buffers, so that neither drops what the other keeps. */
	if (fd != -1 && setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &sz, sizeof(sz)) == -1)
		(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
	if (fd == -1 || (bind_it ? bind(fd, (struct sockaddr *)&sa, len) :
	    connect(fd, (struct sockaddr *)&sa, len)) == -1) {
		fprintf(stderr, "floor_relay: %s %s: %s\n", addr, port, strerror(errno));
		exit(1);
	}
	*lenp = len;
	return fd;
}

/* relay: one batch from fd to the other side. */
static void
relay(int fd, int lfd, int bfd, socklen_t clen)
{
	int i, k, n, off;

	for (i = 0; i < BATCH; i++)
		rx[i].msg_hdr.msg_namelen = sizeof(from[i]);
	if ((n = recvmmsg(fd, rx, BATCH, 0, NULL)) <= 0)
		return;
	for (i = k = 0; i < n; i++) {
		unsigned id;

		if (rx[i].msg_len < 2)
			continue;
		id = (unsigned)buf[i][0] << 8 | buf[i][1];
		tx[k].msg_hdr.msg_iov = &iov[k];
		tx[k].msg_hdr.msg_iovlen = 1;
		iov[k].iov_base = buf[i];
		iov[k].iov_len = rx[i].msg_len;
		if (fd == lfd) {
			client_of[id] = from[i];
			tx[k].msg_hdr.msg_name = NULL;
			tx[k].msg_hdr.msg_namelen = 0;
		} else {
			tx[k].msg_hdr.msg_name = &client_of[id];
			tx[k].msg_hdr.msg_namelen = clen;
		}
		k++;
	}
	/* sendmmsg stops at a datagram the kernel refuses: skip it. */
	for (off = 0; off < k; off += n > 0 ? n : 1)
		n = sendmmsg(fd == lfd ? bfd : lfd, tx + off, (unsigned)(k - off), 0);
}

int
main(int argc, char *argv[])
{
	static struct iovec rxiov[BATCH];
	struct pollfd pfd[2];
	struct sigaction sa;
	socklen_t clen, blen;
	sigset_t stop, orig;
	int i;

	if (argc != 5) {
		fprintf(stderr, "usage: floor_relay LISTEN_ADDR LISTEN_PORT BACKEND_ADDR BACKEND_PORT\n");
		return 2;
	}
	pfd[0].fd = sock(argv[1], argv[2], 1, &clen);
	pfd[1].fd = sock(argv[3], argv[4], 0, &blen);
	pfd[0].events = pfd[1].events = POLLIN;
	for (i = 0; i < BATCH; i++) {
		rxiov[i].iov_base = buf[i];
		rxiov[i].iov_len = BUFSZ;
		rx[i].msg_hdr.msg_iov = &rxiov[i];
		rx[i].msg_hdr.msg_iovlen = 1;
		rx[i].msg_hdr.msg_name = &from[i];
	}
	/* Blocked but inside ppoll: a signal cannot slip in between the test
	 * of quit and the wait. */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigemptyset(&stop);
	sigaddset(&stop, SIGTERM);
	sigaddset(&stop, SIGINT);
	sigprocmask(SIG_BLOCK, &stop, &orig);
	while (!quit) {
		if (ppoll(pfd, 2, NULL, &orig) <= 0)
			continue;
		for (i = 0; i < 2; i++)
			if (pfd[i].revents & POLLIN)
				relay(pfd[i].fd, pfd[0].fd, pfd[1].fd, clen);
	}
	return 0;
}

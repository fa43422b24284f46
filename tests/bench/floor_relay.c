/*
 * floor_relay: the least a userspace UDP DNS relay can do, for the benchmark.
 *
 *	floor_relay LISTEN_ADDR LISTEN_PORT BACKEND_ADDR BACKEND_PORT
 *
 * A measuring stick, not a product.  make bench runs it beside dnsrouted so
 * the table shows what any userspace relay pays on the rig before it does
 * anything useful: the system calls, the wake-ups and the two extra trips
 * through the loopback.  One thread, epoll on two non-blocking UDP sockets:
 * the listening one and one connect()ed to the backend.  On readiness it
 * reads batches of 64 with recvmmsg until a short batch.  A query's client
 * address is remembered under its DNS ID (the first two bytes) and the batch
 * goes on unchanged in one sendmmsg; each answer goes, in one sendmmsg a
 * batch, to the address remembered for its ID.  Nothing is parsed or checked
 * beyond a length >= 2.
 *
 * The ID table is not safe against collisions or spoofing: one entry per
 * ID, so two queries in flight with the same ID send both answers to the
 * later client, and whoever can reach the backend socket's port can answer
 * any client.  Never put it in front of real clients.  Datagrams the kernel
 * refuses (full buffers) are dropped, as the network would drop them;
 * datagrams longer than BUFSZ are cut.
 *
 * Addresses are IPv4 or IPv6 literals.  It prints nothing unless something
 * fails, and exits 0 on SIGTERM or SIGINT.
 */
#ifndef _GNU_SOURCE		/* configure defines it; a bare cc does not */
#define _GNU_SOURCE		/* recvmmsg, sendmmsg, epoll_pwait */
#endif
#include <sys/epoll.h>
#include <sys/socket.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define BATCH	64
#define BUFSZ	4096		/* the bench's answers are far smaller */
#define RCVBUF	(4 << 20)	/* the kernel caps it at net.core.rmem_max */

/* sockaddr_in6 holds a sockaddr_in as well; all clients share the family
 * of the listening socket, so one length serves them all. */
static struct sockaddr_in6	client_of[65536];
static socklen_t		client_len;

static unsigned char		buf[BATCH][BUFSZ];
static struct sockaddr_in6	from[BATCH];
static struct iovec		rx_iov[BATCH], tx_iov[BATCH];
static struct mmsghdr		rx[BATCH], tx[BATCH];

static volatile sig_atomic_t	quit;

static void
on_signal(int sig)
{
	(void)sig;
	quit = 1;
}

static void
usage(void)
{
	fprintf(stderr, "usage: floor_relay LISTEN_ADDR LISTEN_PORT BACKEND_ADDR BACKEND_PORT\n");
	exit(2);
}

/* parse_addr: an IPv4 or IPv6 literal and a port into ss; returns its length. */
static socklen_t
parse_addr(const char *addr, const char *port, struct sockaddr_in6 *ss)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	char *end;
	long p;

	errno = 0;
	p = strtol(port, &end, 10);
	if (*port == '\0' || *end != '\0' || errno != 0 || p < 1 || p > 65535)
		usage();
	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, addr, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons((unsigned short)p);
		return sizeof(*sin);
	}
	if (inet_pton(AF_INET6, addr, &ss->sin6_addr) == 1) {
		ss->sin6_family = AF_INET6;
		ss->sin6_port = htons((unsigned short)p);
		return sizeof(*ss);
	}
	usage();
	return 0;
}

static int
open_socket(int family)
{
	int fd, size = RCVBUF;

	fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1) {
		perror("floor_relay: socket");
		exit(1);
	}
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size)) == -1)
		perror("floor_relay: SO_RCVBUF");
	return fd;
}

/* send_all: sendmmsg n messages; one the kernel refuses is dropped and the
 * rest still go (sendmmsg stops at the first that fails). */
static void
send_all(int fd, struct mmsghdr *m, int n)
{
	int off = 0, k;

	while (off < n) {
		k = sendmmsg(fd, m + off, (unsigned)(n - off), 0);
		if (k == -1 && errno == EINTR)
			continue;
		off += k > 0 ? k : 1;
	}
}

/* init_batches: what stays put from batch to batch. */
static void
init_batches(void)
{
	for (int i = 0; i < BATCH; i++) {
		rx_iov[i].iov_base = buf[i];
		rx_iov[i].iov_len = BUFSZ;
		rx[i].msg_hdr.msg_iov = &rx_iov[i];
		rx[i].msg_hdr.msg_iovlen = 1;
		rx[i].msg_hdr.msg_name = &from[i];
		tx[i].msg_hdr.msg_iov = &tx_iov[i];
		tx[i].msg_hdr.msg_iovlen = 1;
	}
}

/* relay: read fd until a short batch, sending every datagram on. */
static void
relay(int fd, int lfd, int bfd)
{
	int n, k, i;

	do {
		for (i = 0; i < BATCH; i++)
			rx[i].msg_hdr.msg_namelen = sizeof(from[i]);
		n = recvmmsg(fd, rx, BATCH, 0, NULL);
		if (n <= 0)
			return;		/* EAGAIN, or an error the next read may clear */
		for (i = k = 0; i < n; i++) {
			unsigned id;

			if (rx[i].msg_len < 2)
				continue;
			id = (unsigned)buf[i][0] << 8 | buf[i][1];
			tx_iov[k].iov_base = buf[i];
			tx_iov[k].iov_len = rx[i].msg_len;
			if (fd == lfd) {
				memcpy(&client_of[id], &from[i], sizeof(from[i]));
				tx[k].msg_hdr.msg_name = NULL;
				tx[k].msg_hdr.msg_namelen = 0;
			} else {
				tx[k].msg_hdr.msg_name = &client_of[id];
				tx[k].msg_hdr.msg_namelen = client_len;
			}
			k++;
		}
		send_all(fd == lfd ? bfd : lfd, tx, k);
	} while (n == BATCH);
}

int
main(int argc, char *argv[])
{
	struct sockaddr_in6 laddr, baddr;
	struct epoll_event ev, evs[2];
	struct sigaction sa;
	sigset_t stop, orig;
	socklen_t blen;
	int lfd, bfd, ep, n, i;

	if (argc != 5)
		usage();
	client_len = parse_addr(argv[1], argv[2], &laddr);
	blen = parse_addr(argv[3], argv[4], &baddr);

	/* The signals are blocked but inside epoll_pwait, so one cannot slip
	 * in between the test of quit and the wait. */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigemptyset(&stop);
	sigaddset(&stop, SIGTERM);
	sigaddset(&stop, SIGINT);
	sigprocmask(SIG_BLOCK, &stop, &orig);
	init_batches();

	lfd = open_socket(laddr.sin6_family);
	bfd = open_socket(baddr.sin6_family);
	if (bind(lfd, (struct sockaddr *)&laddr, client_len) == -1) {
		fprintf(stderr, "floor_relay: bind %s port %s: %s\n", argv[1], argv[2], strerror(errno));
		return 1;
	}
	if (connect(bfd, (struct sockaddr *)&baddr, blen) == -1) {
		fprintf(stderr, "floor_relay: connect %s port %s: %s\n", argv[3], argv[4], strerror(errno));
		return 1;
	}
	ep = epoll_create1(EPOLL_CLOEXEC);
	if (ep == -1) {
		perror("floor_relay: epoll_create1");
		return 1;
	}
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN;
	ev.data.fd = lfd;
	if (epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev) == -1) {
		perror("floor_relay: epoll_ctl");
		return 1;
	}
	ev.data.fd = bfd;
	if (epoll_ctl(ep, EPOLL_CTL_ADD, bfd, &ev) == -1) {
		perror("floor_relay: epoll_ctl");
		return 1;
	}

	while (!quit) {
		n = epoll_pwait(ep, evs, 2, -1, &orig);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			perror("floor_relay: epoll_pwait");
			return 1;
		}
		for (i = 0; i < n; i++)
			relay(evs[i].data.fd, lfd, bfd);
	}
	close(ep);
	close(bfd);
	close(lfd);
	return 0;
}

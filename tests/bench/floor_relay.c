/*
 * floor_relay: the least a userspace DNS relay can do, for the benchmark.
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
 * Over TCP, on the same address and port, it is a pipe: each accepted
 * connection gets a connection of its own to the backend, and bytes read on
 * one side are written to the other, up to 64 KiB a read, nothing parsed,
 * IDs unchanged (nothing is shared, so nothing can collide).  Reads are
 * non-blocking; writes block until the kernel has taken everything, which
 * keeps it short and is harmless on loopback with peers that read.  No
 * TCP_QUICKACK: the least a relay does, not the best.
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
#include <netinet/tcp.h>
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

/* What an epoll event is about. */
enum kind { SRC_UDP, SRC_TCP_LISTEN, SRC_TCP_PIPE };
struct src {
	enum kind	 kind;
	int		 fd;
	struct src	*peer;		/* SRC_TCP_PIPE: the other side of the pipe */
	struct src	*next;		/* on the list of pipes closed this round */
};

static unsigned char		tcpbuf[65536];

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

/* tcp_accept: take every waiting connection and pipe it to the backend. */
static void
tcp_accept(int ep, int tfd, const struct sockaddr_in6 *baddr, socklen_t blen)
{
	struct epoll_event ev;
	struct src *c, *b;
	int cfd, bfd, on = 1;

	while ((cfd = accept4(tfd, NULL, NULL, SOCK_CLOEXEC)) != -1) {
		bfd = socket(baddr->sin6_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (bfd == -1 || connect(bfd, (const struct sockaddr *)baddr, blen) == -1) {
			perror("floor_relay: connect to the backend");
			if (bfd != -1)
				close(bfd);
			close(cfd);
			continue;
		}
		(void)setsockopt(cfd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
		(void)setsockopt(bfd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
		if ((c = calloc(1, sizeof(*c))) == NULL || (b = calloc(1, sizeof(*b))) == NULL) {
			perror("floor_relay: calloc");
			exit(1);
		}
		c->kind = b->kind = SRC_TCP_PIPE;
		c->fd = cfd;
		b->fd = bfd;
		c->peer = b;
		b->peer = c;
		memset(&ev, 0, sizeof(ev));
		ev.events = EPOLLIN;
		ev.data.ptr = c;
		if (epoll_ctl(ep, EPOLL_CTL_ADD, cfd, &ev) == -1)
			perror("floor_relay: epoll_ctl");
		ev.data.ptr = b;
		if (epoll_ctl(ep, EPOLL_CTL_ADD, bfd, &ev) == -1)
			perror("floor_relay: epoll_ctl");
	}
}

/* tcp_pipe: what one side has, to the other.  At EOF or an error both are
 * closed and s goes on *dead, freed once no event of this round can still
 * name either side. */
static void
tcp_pipe(struct src *s, struct src **dead)
{
	ssize_t n, w, off;

	if (s->fd == -1)
		return;
	n = recv(s->fd, tcpbuf, sizeof(tcpbuf), MSG_DONTWAIT);
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return;
	for (off = 0; n > 0 && off < n; off += w) {
		w = send(s->peer->fd, tcpbuf + off, (size_t)(n - off), MSG_NOSIGNAL);
		if (w == -1 && errno == EINTR)
			w = 0;
		else if (w <= 0)
			n = -1;
	}
	if (n <= 0) {
		/* Closing removes both from the epoll set. */
		close(s->peer->fd);
		close(s->fd);
		s->fd = s->peer->fd = -1;
		s->next = *dead;
		*dead = s;
	}
}

int
main(int argc, char *argv[])
{
	struct sockaddr_in6 laddr, baddr;
	struct epoll_event ev, evs[64];
	struct src lsrc = { SRC_UDP, -1, NULL, NULL }, bsrc = { SRC_UDP, -1, NULL, NULL };
	struct src tsrc = { SRC_TCP_LISTEN, -1, NULL, NULL };
	struct src *s, *closed;
	struct sigaction sa;
	sigset_t stop, orig;
	socklen_t blen;
	int lfd, bfd, tfd, ep, n, i, on = 1;

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
	tfd = socket(laddr.sin6_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (tfd == -1 || setsockopt(tfd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) == -1 ||
	    bind(tfd, (struct sockaddr *)&laddr, client_len) == -1 || listen(tfd, 128) == -1) {
		fprintf(stderr, "floor_relay: TCP on %s port %s: %s\n", argv[1], argv[2], strerror(errno));
		return 1;
	}
	lsrc.fd = lfd;
	bsrc.fd = bfd;
	tsrc.fd = tfd;
	ep = epoll_create1(EPOLL_CLOEXEC);
	if (ep == -1) {
		perror("floor_relay: epoll_create1");
		return 1;
	}
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN;
	for (s = &lsrc; s != NULL; s = s == &lsrc ? &bsrc : s == &bsrc ? &tsrc : NULL) {
		ev.data.ptr = s;
		if (epoll_ctl(ep, EPOLL_CTL_ADD, s->fd, &ev) == -1) {
			perror("floor_relay: epoll_ctl");
			return 1;
		}
	}

	while (!quit) {
		n = epoll_pwait(ep, evs, 64, -1, &orig);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			perror("floor_relay: epoll_pwait");
			return 1;
		}
		closed = NULL;
		for (i = 0; i < n; i++) {
			s = evs[i].data.ptr;
			switch (s->kind) {
			case SRC_UDP:
				relay(s->fd, lfd, bfd);
				break;
			case SRC_TCP_LISTEN:
				tcp_accept(ep, tfd, &baddr, blen);
				break;
			case SRC_TCP_PIPE:
				tcp_pipe(s, &closed);
				break;
			}
		}
		while ((s = closed) != NULL) {
			closed = s->next;
			free(s->peer);
			free(s);
		}
	}
	close(ep);
	close(tfd);
	close(bfd);
	close(lfd);
	return 0;
}

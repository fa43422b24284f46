/*
 * floor_tcp: the least a userspace DNS relay can do over TCP, for the
 * benchmark (floor_relay.c is its UDP counterpart).
 *
 *	floor_tcp LISTEN_ADDR LISTEN_PORT BACKEND_ADDR BACKEND_PORT
 *
 * A byte pipe: one thread, epoll; each accepted connection gets a
 * connection of its own to the backend, and the bytes one side has are
 * written to the other, up to 64 KiB a read, nothing parsed, nothing
 * framed, IDs unchanged (nothing is shared, so nothing can collide).
 * Reads are non-blocking; writes block until the kernel has taken
 * everything, which keeps it short and is harmless on loopback with peers
 * that read.  TCP_NODELAY on both sides, and by default no TCP_QUICKACK:
 * then a server with Nagle on (NSD) holds each answer after the first of a
 * burst until our delayed ACK, 40 ms on Linux when no query goes its way to
 * carry it (three queries pipelined on one connection: 44 ms where
 * dnsrouted takes 0.5).  With FLOOR_TCP_ACK=1 it acknowledges as
 * dnsrouted must (tconn.c): a backend connection read in a round of
 * epoll_pwait and not written to in it gets a TCP_QUICKACK at the end of
 * the round (even with nothing more to come, which dnsrouted knows and a
 * byte pipe does not: a little more than it pays at low load).  A relay that
 * multiplexes clients onto shared backend connections has to frame and
 * re-ID every message; this one does not, so it is the floor.  Addresses
 * are IPv4 or IPv6 literals; it exits 0 on SIGTERM or SIGINT.
 */
#ifndef _GNU_SOURCE		/* configure defines it; a bare cc does not */
#define _GNU_SOURCE		/* accept4, epoll_pwait */
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

/* One side of a pipe; the listening socket is one with no peer. */
struct side {
	int		 fd;
	struct side	*peer;
	struct side	*next;		/* on the list of pipes closed this round */
	int		 backend;	/* the backend's side */
	int		 owes;		/* read this round, nothing written back */
	struct side	*anext;		/* on the list of those that owe */
};

static unsigned char		buf[65536];
static volatile sig_atomic_t	quit;
static int			ack;	/* FLOOR_TCP_ACK=1 */

static void
on_signal(int sig)
{
	(void)sig;
	quit = 1;
}

static socklen_t
parse_addr(const char *addr, const char *port, struct sockaddr_in6 *sa)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)sa;
	int p = atoi(port);

	memset(sa, 0, sizeof(*sa));
	sin->sin_port = htons((unsigned short)p);	/* same place in both */
	if (p >= 1 && p <= 65535 && inet_pton(AF_INET, addr, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		return sizeof(*sin);
	}
	if (p < 1 || p > 65535 || inet_pton(AF_INET6, addr, &sa->sin6_addr) != 1) {
		fprintf(stderr, "floor_tcp: bad address %s %s\n", addr, port);
		exit(2);
	}
	sa->sin6_family = AF_INET6;
	return sizeof(*sa);
}

static void
watch(int ep, struct side *s)
{
	struct epoll_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN;
	ev.data.ptr = s;
	if (epoll_ctl(ep, EPOLL_CTL_ADD, s->fd, &ev) == -1)
		perror("floor_tcp: epoll_ctl");
}

/* accept_all: every waiting connection, piped to a new backend connection. */
static void
accept_all(int ep, int lfd, const struct sockaddr_in6 *ba, socklen_t blen)
{
	struct side *c, *b;
	int cfd, bfd, on = 1;

	while ((cfd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC)) != -1) {
		bfd = socket(ba->sin6_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (bfd == -1 || connect(bfd, (const struct sockaddr *)ba, blen) == -1) {
			perror("floor_tcp: connect to the backend");
			if (bfd != -1)
				close(bfd);
			close(cfd);
			continue;
		}
		(void)setsockopt(cfd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
		(void)setsockopt(bfd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
		if ((c = calloc(1, sizeof(*c))) == NULL ||
		    (b = calloc(1, sizeof(*b))) == NULL) {
			perror("floor_tcp: calloc");
			exit(1);
		}
		c->fd = cfd;
		b->fd = bfd;
		b->backend = 1;
		c->peer = b;
		b->peer = c;
		watch(ep, c);
		watch(ep, b);
	}
}

/* pipe_once: what s has, to its peer.  At EOF or an error both are closed
 * and s goes on *dead, freed once no event of this round can name them. */
static void
pipe_once(struct side *s, struct side **dead, struct side **owing)
{
	ssize_t n, w, off;

	if (s->fd == -1)
		return;
	n = recv(s->fd, buf, sizeof(buf), MSG_DONTWAIT);
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return;
	if (ack && n > 0) {
		if (s->backend && !s->owes) {
			s->owes = 1;
			s->anext = *owing;
			*owing = s;
		} else if (!s->backend)
			s->peer->owes = 0;	/* what is written carries it */
	}
	for (off = 0; n > 0 && off < n; off += w) {
		w = send(s->peer->fd, buf + off, (size_t)(n - off), MSG_NOSIGNAL);
		if (w == -1 && errno == EINTR)
			w = 0;
		else if (w <= 0)
			n = -1;
	}
	if (n <= 0) {
		/* Closing takes both out of the epoll set. */
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
	struct sockaddr_in6 la, ba;
	struct epoll_event evs[64];
	struct side lside = { -1, NULL, NULL, 0, 0, NULL }, *s, *dead, *owing;
	struct sigaction sa;
	sigset_t stop, orig;
	socklen_t llen, blen;
	int ep, n, i, on = 1;

	if (argc != 5) {
		fprintf(stderr, "usage: floor_tcp LISTEN_ADDR LISTEN_PORT BACKEND_ADDR BACKEND_PORT\n");
		return 2;
	}
	ack = getenv("FLOOR_TCP_ACK") != NULL && strcmp(getenv("FLOOR_TCP_ACK"), "1") == 0;
	llen = parse_addr(argv[1], argv[2], &la);
	blen = parse_addr(argv[3], argv[4], &ba);
	lside.fd = socket(la.sin6_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (lside.fd == -1 ||
	    setsockopt(lside.fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) == -1 ||
	    bind(lside.fd, (struct sockaddr *)&la, llen) == -1 ||
	    listen(lside.fd, 128) == -1) {
		fprintf(stderr, "floor_tcp: %s %s: %s\n", argv[1], argv[2], strerror(errno));
		return 1;
	}
	if ((ep = epoll_create1(EPOLL_CLOEXEC)) == -1) {
		perror("floor_tcp: epoll_create1");
		return 1;
	}
	watch(ep, &lside);

	/* Blocked but inside epoll_pwait: a signal cannot slip in between the
	 * test of quit and the wait. */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigemptyset(&stop);
	sigaddset(&stop, SIGTERM);
	sigaddset(&stop, SIGINT);
	sigprocmask(SIG_BLOCK, &stop, &orig);
	while (!quit) {
		if ((n = epoll_pwait(ep, evs, 64, -1, &orig)) <= 0)
			continue;
		dead = owing = NULL;
		for (i = 0; i < n; i++) {
			s = evs[i].data.ptr;
			if (s == &lside)
				accept_all(ep, lside.fd, &ba, blen);
			else
				pipe_once(s, &dead, &owing);
		}
		/* FLOOR_TCP_ACK: see the comment at the top. */
		while ((s = owing) != NULL) {
			owing = s->anext;
			s->anext = NULL;
			if (s->owes && s->fd != -1)
				(void)setsockopt(s->fd, IPPROTO_TCP, TCP_QUICKACK,
				    &on, sizeof(on));
			s->owes = 0;
		}
		while ((s = dead) != NULL) {
			dead = s->next;
			free(s->peer);
			free(s);
		}
	}
	return 0;
}

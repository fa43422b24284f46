/*
 * txq: the datagrams one worker sends, to clients and to backends alike,
 * gathered while it handles what it has read and sent with one sendmmsg per
 * socket at the end (txq_flush), and the source address an answer must
 * leave from when its listener is a wildcard address.  Owned by one worker;
 * no locks.
 */
#ifndef TXQ_H
#define TXQ_H

#include <sys/socket.h>
#include <sys/syscall.h>
#include <netinet/in.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "stats.h"

#define TXQ_MAX		64
#define TXQ_CTL_LEN	64	/* >= CMSG_SPACE(sizeof(struct in6_pktinfo)) */

/* Where a UDP query was sent, when the listener is a wildcard address:
 * the answer must leave from that very address. */
struct udp_dst {
	int		family;		/* 0: not known (specific listener) */
	int		ifindex;
	union {
		struct in_addr	v4;
		struct in6_addr	v6;
	}		a;
};

/* Where a queued datagram goes: a UDP peer's address is IPv4 or IPv6
 * (a sockaddr_storage each put every queued answer's on a line of its
 * own). */
union txq_addr {
	struct sockaddr		sa;
	struct sockaddr_in	v4;
	struct sockaddr_in6	v6;
};

struct txq {
	struct stats		*st;		/* send-errors */
	int			 n;
	uint64_t		 flushes;	/* txq_flush calls so far */
	int			 fd[TXQ_MAX];
	struct mmsghdr		 m[TXQ_MAX];
	struct iovec		 iov[TXQ_MAX];
	union txq_addr		 addr[TXQ_MAX];
	uint64_t		 ctl[TXQ_MAX][TXQ_CTL_LEN / 8];
};

/*
 * recvmmsg() and sendmmsg() are cancellation points: in a process with
 * threads, glibc brackets each with two calls that switch the thread's
 * cancellation type (about 50 instructions a call, as much as the wrapper
 * itself).  No worker thread is ever cancelled, so the system calls are
 * made directly, as tconn.c does for TCP.
 */
static inline int
sys_recvmmsg(int fd, struct mmsghdr *m, unsigned n, int flags)
{
	return (int)syscall(SYS_recvmmsg, fd, m, n, flags, NULL);
}

static inline int
sys_sendmmsg(int fd, struct mmsghdr *m, unsigned n, int flags)
{
	return (int)syscall(SYS_sendmmsg, fd, m, n, flags);
}

void	txq_flush(struct txq *);
/* Send one datagram now (buf need not outlive the call); 0 or -1, counted
 * in send-errors. */
int	txq_send_now(struct txq *, int fd, const void *buf, size_t len,
	    const struct sockaddr *to, socklen_t tolen,
	    const struct udp_dst *from);
/* txq_add()'s from, in datagram i's control message. */
void	txq_set_from(struct txq *, int i, const struct udp_dst *from);

/* Queue a datagram; it goes out at txq_flush(), so buf must stay valid
 * until then.  to may be NULL (connected socket); from is the source
 * address (NULL: the socket's own).  Inline: twice a query, and the call
 * with its seven arguments cost a quarter of it. */
static inline void
txq_add(struct txq *q, int fd, const void *buf, size_t len,
    const struct sockaddr *to, socklen_t tolen, const struct udp_dst *from)
{
	int i;

	/* No UDP peer has a longer address; sent now if one did. */
	if (to != NULL && tolen > sizeof(q->addr[0])) {
		(void)txq_send_now(q, fd, buf, len, to, tolen, from);
		return;
	}
	if (q->n == TXQ_MAX)
		txq_flush(q);
	i = q->n++;
	q->fd[i] = fd;
	q->iov[i].iov_base = (void *)(uintptr_t)buf;
	q->iov[i].iov_len = len;
	/* Each field sendmmsg reads, once: no clearing of the whole header
	 * first (msg_flags and msg_len are the kernel's to write). */
	q->m[i].msg_hdr.msg_iov = &q->iov[i];
	q->m[i].msg_hdr.msg_iovlen = 1;
	q->m[i].msg_hdr.msg_control = NULL;
	q->m[i].msg_hdr.msg_controllen = 0;
	if (to == NULL) {
		q->m[i].msg_hdr.msg_name = NULL;
		q->m[i].msg_hdr.msg_namelen = 0;
	} else {
		/* Copies of known size, not a call. */
		if (tolen == sizeof(struct sockaddr_in))
			memcpy(&q->addr[i], to, sizeof(struct sockaddr_in));
		else if (tolen == sizeof(struct sockaddr_in6))
			memcpy(&q->addr[i], to, sizeof(struct sockaddr_in6));
		else
			memcpy(&q->addr[i], to, tolen);
		q->m[i].msg_hdr.msg_name = &q->addr[i];
		q->m[i].msg_hdr.msg_namelen = tolen;
	}
	if (from != NULL)
		txq_set_from(q, i, from);
}
/* The destination of a received datagram, from its IP_PKTINFO; 0 or -1. */
int	udp_dst_of(struct msghdr *, struct udp_dst *);

#endif

/*
 * txq: a worker's outgoing datagrams (see txq.h).  A queued datagram points
 * at its bytes, which stay where they are (a client's query in its slot,
 * an answer in the receive buffer) until the flush at the end of the
 * callback that queued it.
 */
#include <sys/socket.h>
#include <sys/uio.h>
#include <netinet/in.h>
#include <stdint.h>
#include <string.h>

#include "log.h"
#include "txq.h"

static struct log_limit ll_send;

int
udp_dst_of(struct msghdr *mh, struct udp_dst *d)
{
	struct cmsghdr *c;

	for (c = CMSG_FIRSTHDR(mh); c != NULL; c = CMSG_NXTHDR(mh, c)) {
		if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
			struct in_pktinfo pi;

			memcpy(&pi, CMSG_DATA(c), sizeof(pi));
			d->family = AF_INET;
			d->ifindex = pi.ipi_ifindex;
			d->a.v4 = pi.ipi_addr;
			return 0;
		}
		if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO) {
			struct in6_pktinfo pi;

			memcpy(&pi, CMSG_DATA(c), sizeof(pi));
			d->family = AF_INET6;
			d->ifindex = (int)pi.ipi6_ifindex;
			d->a.v6 = pi.ipi6_addr;
			return 0;
		}
	}
	return -1;
}

/* Put the source address of an answer into a control message. */
static socklen_t
dst_cmsg(const struct udp_dst *d, void *buf, size_t len)
{
	struct msghdr mh;
	struct cmsghdr *c;

	memset(buf, 0, len);
	memset(&mh, 0, sizeof(mh));
	mh.msg_control = buf;
	mh.msg_controllen = len;
	c = CMSG_FIRSTHDR(&mh);
	if (d->family == AF_INET) {
		struct in_pktinfo pi;

		memset(&pi, 0, sizeof(pi));
		pi.ipi_spec_dst = d->a.v4;
		c->cmsg_level = IPPROTO_IP;
		c->cmsg_type = IP_PKTINFO;
		c->cmsg_len = CMSG_LEN(sizeof(pi));
		memcpy(CMSG_DATA(c), &pi, sizeof(pi));
		return CMSG_SPACE(sizeof(pi));
	} else {
		struct in6_pktinfo pi;

		memset(&pi, 0, sizeof(pi));
		pi.ipi6_addr = d->a.v6;
		pi.ipi6_ifindex = (unsigned)d->ifindex;
		c->cmsg_level = IPPROTO_IPV6;
		c->cmsg_type = IPV6_PKTINFO;
		c->cmsg_len = CMSG_LEN(sizeof(pi));
		memcpy(CMSG_DATA(c), &pi, sizeof(pi));
		return CMSG_SPACE(sizeof(pi));
	}
}

void
txq_set_from(struct txq *q, int i, const struct udp_dst *from)
{
	q->m[i].msg_hdr.msg_control = q->ctl[i];
	q->m[i].msg_hdr.msg_controllen = dst_cmsg(from, q->ctl[i],
	    sizeof(q->ctl[i]));
}

/* One sendmmsg per run of datagrams for the same socket.  The queue is
 * sorted by socket first (stable, it is short), so a batch of queries to
 * two backends costs two system calls, not one per query. */
void
txq_flush(struct txq *q)
{
	struct mmsghdr m;
	int i, j, n = q->n, fd, r, start;

	q->flushes++;
	if (n == 0)
		return;
	for (i = 1; i < n; i++) {
		/* Mostly in order already: one socket per batch. */
		if (q->fd[i - 1] <= q->fd[i])
			continue;
		fd = q->fd[i];
		m = q->m[i];
		for (j = i; j > 0 && q->fd[j - 1] > fd; j--) {
			q->fd[j] = q->fd[j - 1];
			q->m[j] = q->m[j - 1];
		}
		q->fd[j] = fd;
		q->m[j] = m;
	}
	for (start = 0; start < n; start = i) {
		for (i = start; i < n && q->fd[i] == q->fd[start]; i++)
			;
		j = start;
		while (j < i) {
			r = sys_sendmmsg(q->fd[start], &q->m[j], (unsigned)(i - j),
			    MSG_DONTWAIT);
			if (r <= 0) {
				/* The kernel refused the rest (buffer full,
				 * ICMP error pending): those queries time out
				 * and retry, those answers are lost. */
				STAT_ADD(q->st, send_errors, i - j);
				if (log_allow(&ll_send))
					log_warn("sendmmsg");
				break;
			}
			j += r;
		}
	}
	q->n = 0;
}

int
txq_send_now(struct txq *q, int fd, const void *buf, size_t len,
    const struct sockaddr *to, socklen_t tolen, const struct udp_dst *from)
{
	uint64_t ctl[TXQ_CTL_LEN / 8];
	struct iovec iov;
	struct msghdr mh;

	iov.iov_base = (void *)(uintptr_t)buf;
	iov.iov_len = len;
	memset(&mh, 0, sizeof(mh));
	mh.msg_name = (void *)(uintptr_t)to;
	mh.msg_namelen = tolen;
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	if (from != NULL) {
		mh.msg_control = ctl;
		mh.msg_controllen = dst_cmsg(from, ctl, sizeof(ctl));
	}
	if (sendmsg(fd, &mh, 0) == -1) {
		STAT_INC(q->st, send_errors);
		return -1;
	}
	return 0;
}

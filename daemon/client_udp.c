/*
 * client_udp: a worker's UDP listeners (see client_udp.h).  The receive
 * buffer and headers are the worker's (wstate.h); a datagram's bytes stay
 * where recvmmsg put them until the send queue is flushed at the end of
 * the batch, so an answer can point at them.  A batch is read with one
 * recvmmsg and its names' decision cache entries prefetched before the
 * first is handled.
 */
#include <sys/socket.h>
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "client_udp.h"
#include "config.h"
#include "log.h"
#include "wstate.h"

struct listener_udp {
	struct worker		*w;
	struct listener_udp	*next;	/* the worker's */
	int			 fd;
	int			 wildcard;	/* learn each query's destination */
	struct event		*ev;
};

static struct log_limit ll_recv;

/* What recvmmsg wrote back into a client datagram's header. */
static inline void
rx_reset(struct mmsghdr *m)
{
	m->msg_hdr.msg_namelen = sizeof(struct sockaddr_storage);
	m->msg_hdr.msg_controllen = TXQ_CTL_LEN;
	m->msg_hdr.msg_flags = 0;
	m->msg_len = 0;
}

void
client_udp_init(struct worker *w)
{
	int i;

	for (i = 0; i < UDP_BATCH; i++) {
		w->rxiov_cl[i].iov_base = w->rxbuf + (size_t)i * UDP_CL_STRIDE;
		w->rxiov_cl[i].iov_len = UDP_CLIENT_MAX;
		w->rx_cl[i].msg_hdr.msg_iov = &w->rxiov_cl[i];
		w->rx_cl[i].msg_hdr.msg_iovlen = 1;
		w->rx_cl[i].msg_hdr.msg_name = &w->rxfrom[i];
		w->rx_cl[i].msg_hdr.msg_control = w->rxctl[i];
		rx_reset(&w->rx_cl[i]);
	}
}

static void
udp_read_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct listener_udp *lu = arg;
	struct worker *w = lu->w;
	struct mmsghdr *m = w->rx_cl;
	struct udp_dst dst;
	struct client cl;
	uint64_t hint[UDP_BATCH];
	size_t qn[UDP_BATCH];
	int i, n, round;

	(void)ev;
	/* A few batches per wakeup, then let the other sockets in. */
	for (round = 0; round < 4; round++) {
		n = sys_recvmmsg(fd, m, UDP_BATCH, MSG_DONTWAIT);
		if (n <= 0) {
			if (n == -1 && errno != EAGAIN && errno != EINTR &&
			    log_allow(&ll_recv))
				log_warn("recvmmsg");
			return;
		}
		w->batch_us = now_us();
		/* Start loading every name's decision cache entries while
		 * the first queries of the batch are handled: a miss there was
		 * the dearest part of a query. */
		for (i = 0; i < n; i++) {
			qn[i] = dns_qname_len(w->rxiov_cl[i].iov_base,
			    m[i].msg_len);
			hint[i] = route_prefetch_qn(w->rm, w->cfg->rt,
			    w->rxiov_cl[i].iov_base, qn[i]);
		}
		for (i = 0; i < n; i++) {
			STAT_INC(&w->st, queries_udp);
			if (m[i].msg_hdr.msg_flags & MSG_TRUNC) {
				STAT_INC(&w->st, malformed);
				continue;
			}
			cl.sa = (struct sockaddr *)&w->rxfrom[i];
			cl.salen = m[i].msg_hdr.msg_namelen;
			cl.lfd = fd;
			cl.tc = NULL;
			cl.dst = lu->wildcard &&
			    udp_dst_of(&m[i].msg_hdr, &dst) == 0 ? &dst : NULL;
			cl.hint = hint[i];
			cl.qnlen = qn[i];
			w->on_query(w, w->rxiov_cl[i].iov_base, m[i].msg_len,
			    &cl);
		}
		txq_flush(&w->txq);
		w->batch_us = 0;
		for (i = 0; i < n; i++)
			rx_reset(&m[i]);
		if (n < UDP_BATCH)
			return;
	}
}

void
client_udp_add(struct worker *w, int fd, int wildcard)
{
	struct listener_udp *lu;

	lu = xcalloc(1, sizeof(*lu));
	lu->w = w;
	lu->next = w->udp;
	w->udp = lu;
	lu->fd = fd;
	lu->wildcard = wildcard;
	lu->ev = event_new(w->base, fd, EV_READ | EV_PERSIST, udp_read_cb, lu);
	event_add(lu->ev, NULL);
}

void
client_udp_stop(struct worker *w)
{
	struct listener_udp *lu;

	for (lu = w->udp; lu != NULL; lu = lu->next)
		event_del(lu->ev);
}

void
client_udp_free(struct worker *w)
{
	struct listener_udp *lu;

	while ((lu = w->udp) != NULL) {
		w->udp = lu->next;
		event_free(lu->ev);
		close(lu->fd);
		free(lu);
	}
}

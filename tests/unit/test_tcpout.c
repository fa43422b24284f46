/*
 * test_tcpout: coalesced TCP output over a socketpair whose buffers are
 * small, so that the kernel refuses part of it: messages written in one
 * round leave in one write, the refused rest drains through libevent in
 * order, and once drained the next message goes out again at the next
 * round.  The reader checks the byte stream frame by frame.
 */
#include <sys/socket.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>

#include "tcpout.h"
#include "unit.h"

#define NMSG	4000
#define MSGLEN	300		/* 1.2 MB in all: far past both buffers */

static int drained_calls;

static void
write_cb(struct bufferevent *bev, void *arg)
{
	(void)bev;
	drained_calls++;
	tcpout_drained(arg);
}

static void
fill(uint8_t *m, int i)
{
	memset(m, i & 0xff, MSGLEN);
	m[0] = (uint8_t)(i >> 8);
	m[1] = (uint8_t)i;
}

/* Read what is there (non-blocking) and check it frame by frame; returns
 * the number of whole messages seen so far in *got. */
static void
read_some(int fd, uint8_t *acc, size_t *have, int *got, int *bad)
{
	ssize_t n;
	uint8_t want[MSGLEN];

	while ((n = read(fd, acc + *have, 65536)) > 0) {
		*have += (size_t)n;
		while (*have >= 2 + MSGLEN) {
			if ((acc[0] << 8 | acc[1]) != MSGLEN)
				(*bad)++;
			fill(want, *got);
			if (memcmp(acc + 2, want, MSGLEN) != 0)
				(*bad)++;
			(*got)++;
			*have -= 2 + MSGLEN;
			memmove(acc, acc + 2 + MSGLEN, *have);
		}
	}
}

int
main(void)
{
	struct event_base *base = event_base_new();
	struct tcpout_q q;
	struct tcpout o;
	struct bufferevent *bev;
	static uint8_t acc[2 * 65536 + 2 * (2 + MSGLEN)];
	uint8_t m[MSGLEN];
	size_t have = 0;
	int sv[2], sz = 4096, got = 0, bad = 0, i, rounds;

	CHECK(base != NULL);
	CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	(void)setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
	(void)setsockopt(sv[1], SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
	CHECK(fcntl(sv[0], F_SETFL, O_NONBLOCK) == 0);
	CHECK(fcntl(sv[1], F_SETFL, O_NONBLOCK) == 0);
	tcpout_q_init(&q, base);
	bev = bufferevent_socket_new(base, sv[0], BEV_OPT_CLOSE_ON_FREE);
	CHECK(bev != NULL);
	bufferevent_setcb(bev, NULL, write_cb, NULL, &o);
	tcpout_open(&o, &q, bev, 0);

	/* One round's messages wait in the buffer until the loop runs. */
	for (i = 0; i < NMSG; i++) {
		fill(m, i);
		CHECK(tcpout_msg(&o, m, MSGLEN) == 0);
	}
	CHECK(tcpout_backlog(&o) == (size_t)NMSG * (2 + MSGLEN));
	CHECK(o.queued && !o.draining);
	event_base_loop(base, EVLOOP_NONBLOCK);
	/* The kernel took a part; the rest drains as the reader reads. */
	CHECKF(o.draining, "backlog %zu", tcpout_backlog(&o));
	CHECK(tcpout_backlog(&o) > 0 && tcpout_backlog(&o) < (size_t)NMSG * (2 + MSGLEN));
	for (rounds = 0; got < NMSG && rounds < 100000; rounds++) {
		read_some(sv[1], acc, &have, &got, &bad);
		event_base_loop(base, EVLOOP_NONBLOCK);
	}
	CHECKF(got == NMSG, "%d of %d messages", got, NMSG);
	CHECK(bad == 0);
	CHECK(have == 0);
	CHECK(drained_calls >= 1);
	CHECK(!o.draining && !o.queued && tcpout_backlog(&o) == 0);

	/* Back to coalescing: the next message leaves at the next round. */
	fill(m, 0);
	CHECK(tcpout_msg(&o, m, MSGLEN) == 0);
	CHECK(o.queued);
	event_base_loop(base, EVLOOP_NONBLOCK);
	CHECK(tcpout_backlog(&o) == 0 && !o.draining);
	got = 0;
	read_some(sv[1], acc, &have, &got, &bad);
	CHECK(got == 1 && bad == 0);

	/* Closed with output queued: off the queue, and writes refused. */
	CHECK(tcpout_msg(&o, m, MSGLEN) == 0);
	tcpout_close(&o);
	CHECK(!o.queued && q.head == NULL);
	CHECK(tcpout_msg(&o, m, MSGLEN) == -1);
	bufferevent_free(bev);
	event_base_loop(base, EVLOOP_NONBLOCK);

	tcpout_q_free(&q);
	close(sv[1]);
	event_base_free(base);
	UNIT_DONE("tcpout");
}

/*
 * test_tconn: a TCP connection's buffers over a socketpair whose buffers
 * are small, so that the kernel refuses part of the output: messages
 * written in one round leave in one send, the refused rest drains through
 * the write event in order, and once drained the next message goes out
 * again at the next round.  The reader checks the byte stream frame by
 * frame.  On the input side: frames split anywhere arrive whole, a frame
 * larger than the input buffer makes it grow, what is not consumed stays,
 * and the peer's close is reported.  Relaying: what a read callback writes
 * leaves in the same round; what the kernel refuses of it waits for the
 * write event, and the relayed stream arrives whole and in order.
 */
#include <sys/socket.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "dnsmsg.h"
#include "tconn.h"
#include "unit.h"

#define NMSG	4000
#define MSGLEN	300		/* 1.2 MB in all: far past both buffers */

static int frames, frame_bad, reads, errors, last_error;
static size_t big_len;

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

static void
no_read_cb(struct tconn *c, void *arg)
{
	(void)c;
	(void)arg;
}

/* As the owners do: the connection is closed at once. */
static void
error_cb(struct tconn *c, int what, void *arg)
{
	(void)arg;
	errors++;
	last_error = what;
	tconn_close(c);
}

/* Takes every whole frame: frame i is MSGLEN bytes of fill(i), except one
 * of big_len bytes of 0x5a. */
static void
frames_cb(struct tconn *c, void *arg)
{
	uint8_t want[MSGLEN];
	size_t off = 0;
	long l;

	(void)arg;
	reads++;
	while ((l = dns_tcp_next(c->in, c->inlen, off)) >= 0) {
		if ((size_t)l == big_len) {
			for (size_t k = 0; k < big_len; k++)
				if (c->in[off + 2 + k] != 0x5a)
					frame_bad++;
		} else {
			fill(want, frames);
			if (l != MSGLEN || memcmp(c->in + off + 2, want, MSGLEN) != 0)
				frame_bad++;
		}
		frames++;
		off += 2 + (size_t)l;
	}
	tconn_consume(c, off);
}

static void
test_output(struct event_base *base)
{
	struct tconn_q q;
	struct tconn o;
	static uint8_t acc[2 * 65536 + 2 * (2 + MSGLEN)];
	uint8_t m[MSGLEN];
	size_t have = 0;
	int sv[2], sz = 4096, got = 0, bad = 0, i, rounds;

	memset(&o, 0, sizeof(o));	/* as the daemon's are: calloc'd */
	CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	(void)setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
	(void)setsockopt(sv[1], SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
	CHECK(fcntl(sv[0], F_SETFL, O_NONBLOCK) == 0);
	CHECK(fcntl(sv[1], F_SETFL, O_NONBLOCK) == 0);
	tconn_q_init(&q, base);
	CHECK(tconn_open(&o, &q, base, sv[0], 0, no_read_cb, error_cb, NULL) == 0);

	/* One round's messages wait in the buffer until the loop runs. */
	for (i = 0; i < NMSG; i++) {
		fill(m, i);
		CHECK(tconn_msg(&o, m, MSGLEN) == 0);
	}
	CHECK(tconn_backlog(&o) == (size_t)NMSG * (2 + MSGLEN));
	CHECK(o.queued && !o.draining);
	event_base_loop(base, EVLOOP_NONBLOCK);
	/* The kernel took a part; the rest drains as the reader reads. */
	CHECKF(o.draining, "backlog %zu", tconn_backlog(&o));
	CHECK(tconn_backlog(&o) > 0 && tconn_backlog(&o) < (size_t)NMSG * (2 + MSGLEN));
	/* Appended while draining: goes after the rest, in order. */
	fill(m, NMSG);
	CHECK(tconn_msg(&o, m, MSGLEN) == 0);
	CHECK(!o.queued);
	for (rounds = 0; got < NMSG + 1 && rounds < 100000; rounds++) {
		read_some(sv[1], acc, &have, &got, &bad);
		event_base_loop(base, EVLOOP_NONBLOCK);
	}
	CHECKF(got == NMSG + 1, "%d of %d messages", got, NMSG + 1);
	CHECK(bad == 0);
	CHECK(have == 0);
	CHECK(!o.draining && !o.queued && tconn_backlog(&o) == 0);

	/* Back to coalescing: the next message leaves at the next round. */
	fill(m, 0);
	CHECK(tconn_msg(&o, m, MSGLEN) == 0);
	CHECK(o.queued);
	event_base_loop(base, EVLOOP_NONBLOCK);
	CHECK(tconn_backlog(&o) == 0 && !o.draining);
	got = 0;
	read_some(sv[1], acc, &have, &got, &bad);
	CHECK(got == 1 && bad == 0);

	/* Closed with output queued: off the queue, and writes refused. */
	CHECK(tconn_msg(&o, m, MSGLEN) == 0);
	tconn_close(&o);
	CHECK(!o.queued && q.head == NULL && !tconn_is_open(&o));
	CHECK(tconn_msg(&o, m, MSGLEN) == -1);
	tconn_release(&o);
	tconn_release(&o);	/* twice is harmless */
	event_base_loop(base, EVLOOP_NONBLOCK);
	CHECK(errors == 0);

	tconn_q_free(&q);
	close(sv[1]);
}

static void
test_input(struct event_base *base)
{
	struct tconn_q q;
	struct tconn c;
	static uint8_t stream[40 * (2 + MSGLEN) + 2 + 20000];
	size_t len = 0, off, step;
	int sv[2], i, rounds;

	memset(&c, 0, sizeof(c));
	CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	CHECK(fcntl(sv[0], F_SETFL, O_NONBLOCK) == 0);
	tconn_q_init(&q, base);
	CHECK(tconn_open(&c, &q, base, sv[0], 0, frames_cb, error_cb, NULL) == 0);

	/* 20 frames, one larger than the first input buffer, 20 more. */
	big_len = 20000;
	for (i = 0; i < 40; i++) {
		if (i == 20) {
			stream[len++] = (uint8_t)(big_len >> 8);
			stream[len++] = (uint8_t)big_len;
			memset(stream + len, 0x5a, big_len);
			len += big_len;
		}
		stream[len++] = MSGLEN >> 8;
		stream[len++] = MSGLEN & 0xff;
		fill(stream + len, i < 20 ? i : i + 1);
		len += MSGLEN;
	}
	/* Sent in odd pieces: a frame's length split from its body too. */
	for (off = 0, step = 1; off < len; off += step, step = step * 3 % 977 + 1) {
		if (step > len - off)
			step = len - off;
		CHECK(write(sv[1], stream + off, step) == (ssize_t)step);
		event_base_loop(base, EVLOOP_NONBLOCK);
	}
	for (rounds = 0; frames < 41 && rounds < 1000; rounds++)
		event_base_loop(base, EVLOOP_NONBLOCK);
	CHECKF(frames == 41, "%d frames", frames);
	CHECK(frame_bad == 0);
	CHECK(c.inlen == 0 && c.incap >= 2 + big_len);

	/* Not reading: what arrives waits in the kernel; a trigger runs the
	 * callback on what is buffered, without reading. */
	tconn_read_enable(&c, 0);
	stream[0] = MSGLEN >> 8;
	stream[1] = MSGLEN & 0xff;
	fill(stream + 2, 41);
	CHECK(write(sv[1], stream, 2 + MSGLEN) == 2 + MSGLEN);
	event_base_loop(base, EVLOOP_NONBLOCK);
	CHECK(frames == 41);
	i = reads;
	tconn_trigger(&c);
	event_base_loop(base, EVLOOP_NONBLOCK);
	CHECK(reads == i + 1 && frames == 41);
	tconn_read_enable(&c, 1);
	for (rounds = 0; frames < 42 && rounds < 1000; rounds++)
		event_base_loop(base, EVLOOP_NONBLOCK);
	CHECK(frames == 42 && frame_bad == 0);

	/* The peer closes: reported once, as EOF. */
	close(sv[1]);
	for (rounds = 0; errors == 0 && rounds < 1000; rounds++)
		event_base_loop(base, EVLOOP_NONBLOCK);
	CHECK(errors == 1 && last_error == TCONN_EOF && !tconn_is_open(&c));
	tconn_release(&c);
	tconn_q_free(&q);
}

/* Every whole frame read on c is written on the tconn in arg. */
static void
relay_cb(struct tconn *c, void *arg)
{
	struct tconn *o = arg;
	size_t off = 0;
	long l;

	reads++;
	while ((l = dns_tcp_next(c->in, c->inlen, off)) >= 0) {
		CHECK(tconn_msg(o, c->in + off + 2, (size_t)l) == 0);
		off += 2 + (size_t)l;
	}
	tconn_consume(c, off);
}

static void
test_relay(struct event_base *base)
{
	struct tconn_q q;
	struct tconn in, out;
	static uint8_t acc[2 * 65536 + 2 * (2 + MSGLEN)];
	static uint8_t frame[40 * (2 + MSGLEN)];
	size_t have = 0, len;
	int si[2], so[2], sz = 4096, got = 0, bad = 0, i, k, sent = 0, rounds;

	memset(&in, 0, sizeof(in));
	memset(&out, 0, sizeof(out));
	errors = reads = 0;
	CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, si) == 0);
	CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, so) == 0);
	(void)setsockopt(so[0], SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
	(void)setsockopt(so[1], SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
	for (i = 0; i < 2; i++) {
		CHECK(fcntl(si[i], F_SETFL, O_NONBLOCK) == 0);
		CHECK(fcntl(so[i], F_SETFL, O_NONBLOCK) == 0);
	}
	tconn_q_init(&q, base);
	CHECK(tconn_open(&in, &q, base, si[0], 0, relay_cb, error_cb, &out) == 0);
	CHECK(tconn_open(&out, &q, base, so[0], 0, no_read_cb, error_cb,
	    NULL) == 0);

	/* One frame: written by the callback, gone when the round ends. */
	len = 2 + MSGLEN;
	frame[0] = MSGLEN >> 8;
	frame[1] = MSGLEN & 0xff;
	fill(frame + 2, sent++);
	CHECK(write(si[1], frame, len) == (ssize_t)len);
	event_base_loop(base, EVLOOP_ONCE);
	CHECK(reads == 1);
	CHECK(tconn_backlog(&out) == 0 && !out.queued && !q.pending);
	read_some(so[1], acc, &have, &got, &bad);
	CHECK(got == 1 && bad == 0);

	/* 40 frames a write, the reader slow: the kernel takes a part of
	 * what each callback relays, the rest drains through the write
	 * event, and everything arrives in order. */
	for (k = 0; k < 30; k++) {
		for (i = 0, len = 0; i < 40; i++, len += 2 + MSGLEN) {
			frame[len] = MSGLEN >> 8;
			frame[len + 1] = MSGLEN & 0xff;
			fill(frame + len + 2, sent++);
		}
		CHECK(write(si[1], frame, len) == (ssize_t)len);
		event_base_loop(base, EVLOOP_NONBLOCK);
		if (k == 0)
			CHECKF(out.draining && tconn_backlog(&out) > 0,
			    "backlog %zu", tconn_backlog(&out));
	}
	for (rounds = 0; got < sent && rounds < 100000; rounds++) {
		read_some(so[1], acc, &have, &got, &bad);
		event_base_loop(base, EVLOOP_NONBLOCK);
	}
	CHECKF(got == sent, "%d of %d frames", got, sent);
	CHECK(bad == 0 && have == 0 && errors == 0);
	CHECK(!out.draining && tconn_backlog(&out) == 0);

	tconn_release(&in);
	tconn_release(&out);
	tconn_q_free(&q);
	close(si[1]);
	close(so[1]);
}

int
main(void)
{
	struct event_base *base = event_base_new();

	CHECK(base != NULL);
	test_output(base);
	test_input(base);
	test_relay(base);
	event_base_free(base);
	UNIT_DONE("tconn");
}

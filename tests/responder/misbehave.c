/*
 * misbehave: a DNS server that misbehaves on purpose, for the fault tests.
 *
 *	misbehave -l ADDR:PORT -m MODE [-d DELAY_MS] [-p PIDFILE] [-a]
 *	    [-r RECORD] [-P]
 *
 * It serves UDP and TCP on the same address (TCP: 2-byte length framing,
 * any number of queries per connection, answered in order of arrival).
 * Every IN-class query gets the behaviour of MODE:
 *
 *	ok		NOERROR, the question, one TXT "misbehave"
 *	drop		read it and never answer
 *	delay		as ok, DELAY_MS later (default 1000)
 *	wrongid		as ok but with ID + 1
 *	wrongquestion	as ok but about another name (wrong.invalid.)
 *	qrclear		as ok but with QR = 0
 *	truncate	UDP: TC = 1 and no answer records; TCP: as ok
 *	garbage		10 random bytes
 *	spoof-then-ok	first as wrongid, then as ok
 *	servfail	SERVFAIL with the question
 *	refused		REFUSED with the question
 *	echo		NOERROR, one TXT saying what EDNS Client Subnet option
 *			the query carried: "ecs FAMILY/SOURCE/SCOPE HEXADDR",
 *			"ecs none" (EDNS, no option), "no-edns"; with an
 *			option, the answer has it back in an OPT record with
 *			SCOPE = SOURCE, as a server that used it answers
 *	bare-RCODE	a header and nothing else (QDCOUNT 0), with RCODE one of
 *			formerr, servfail, notimp, refused (what NSD and BIND
 *			send for a query they cannot parse), or noerror,
 *			nxdomain (what no server sends)
 *
 * -P reads a PROXY protocol v2 header (haproxy's proxy-protocol.txt) as
 * dnsdist and PowerDNS do: before every UDP datagram, at the start of every
 * TCP connection; a datagram without one is dropped and a connection
 * without one closed (with -r, a line "udp|tcp noproxy").  Then the echo
 * mode's TXT says what the header said instead: "proxy udp4|udp6|tcp4|tcp6
 * SRC SPORT DST DPORT", or "proxy local" (a LOCAL header).
 *
 * -d delays every answer of any mode (delay is ok with a default delay).
 * Queries of class CH (the router's id.server. health check) are answered
 * as ok at once, so the router keeps the server up and sends it the queries
 * that then misbehave; -a makes CH queries misbehave as well.  An answer to
 * another opcode than QUERY (an UPDATE) carries no records.  -r appends a
 * line per message taken to RECORD: "udp|tcp OPCODE NAME", the opcode a
 * number and the name of the question (an UPDATE's zone) in presentation
 * form.  Messages that do not parse as a query are ignored.  It prints nothing unless something
 * fails, writes PIDFILE once its sockets are bound, and exits 0 on SIGTERM
 * or SIGINT.  Plain C11 + POSIX, self-contained on purpose: it must build
 * while the rest of the tree is in pieces.
 */
#include <sys/socket.h>
#include <sys/time.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAX_CONNS	128
#define MAX_PENDING	4096
#define MAX_MSG		65535
#define ANSWER_TEXT	"misbehave"

enum mode {
	M_OK, M_DROP, M_DELAY, M_WRONGID, M_WRONGQUESTION, M_QRCLEAR,
	M_TRUNCATE, M_GARBAGE, M_SPOOF_THEN_OK, M_SERVFAIL, M_REFUSED,
	M_BARE_NOERROR, M_BARE_FORMERR, M_BARE_SERVFAIL, M_BARE_NXDOMAIN,
	M_BARE_NOTIMP, M_BARE_REFUSED,		/* in rcode order */
	M_ECHO
};

static const struct {
	const char	*name;
	enum mode	 mode;
} mode_names[] = {
	{ "ok", M_OK }, { "drop", M_DROP }, { "delay", M_DELAY },
	{ "wrongid", M_WRONGID }, { "wrongquestion", M_WRONGQUESTION },
	{ "qrclear", M_QRCLEAR }, { "truncate", M_TRUNCATE },
	{ "garbage", M_GARBAGE }, { "spoof-then-ok", M_SPOOF_THEN_OK },
	{ "servfail", M_SERVFAIL }, { "refused", M_REFUSED },
	{ "bare-noerror", M_BARE_NOERROR }, { "bare-formerr", M_BARE_FORMERR },
	{ "bare-servfail", M_BARE_SERVFAIL },
	{ "bare-nxdomain", M_BARE_NXDOMAIN },
	{ "bare-notimp", M_BARE_NOTIMP }, { "bare-refused", M_BARE_REFUSED },
	{ "echo", M_ECHO },
};

/* A TCP client connection; gen tells a reused slot from the old one. */
struct conn {
	int		 fd;
	unsigned	 gen;
	int		 proxied;	/* -P: its header was read */
	char		 proxy[128];	/* what it said (echo) */
	uint8_t		 buf[2 + MAX_MSG];
	size_t		 have;
};

/* An answer waiting for its time (delay) to go out. */
struct pending {
	uint64_t		 due_ms;
	int			 tcp;
	int			 slot;		/* TCP: conns[] index */
	unsigned		 gen;
	struct sockaddr_storage	 to;		/* UDP: destination */
	socklen_t		 tolen;
	size_t			 len;
	uint8_t			*msg;
};

static volatile sig_atomic_t	 quit;
static enum mode		 mode = M_OK;
static long			 delay_ms;
static int			 all_classes;
static int			 want_proxy;
static FILE			*record;
static int			 udp_fd = -1, tcp_fd = -1;
static struct conn		 conns[MAX_CONNS];
static unsigned			 conn_gen;
static struct pending		 pending[MAX_PENDING];
static size_t			 npending;

static void
on_signal(int sig)
{
	(void)sig;
	quit = 1;
}

static void
usage(void)
{
	fprintf(stderr, "usage: misbehave -l ADDR:PORT -m MODE [-d DELAY_MS] "
	    "[-p PIDFILE] [-a] [-r RECORD] [-P]\nmodes:");
	for (size_t i = 0; i < sizeof(mode_names) / sizeof(mode_names[0]); i++)
		fprintf(stderr, " %s", mode_names[i].name);
	fputc('\n', stderr);
	exit(2);
}

static uint64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* "1.2.3.4:53", "[::1]:53". */
static int
parse_addr(const char *s, struct sockaddr_storage *ss, socklen_t *len)
{
	char host[128];
	const char *port;
	char *end;
	long p;

	memset(ss, 0, sizeof(*ss));
	if (s[0] == '[') {
		const char *rb = strchr(s, ']');

		if (rb == NULL || rb[1] != ':' || (size_t)(rb - s - 1) >= sizeof(host))
			return -1;
		memcpy(host, s + 1, rb - s - 1);
		host[rb - s - 1] = '\0';
		port = rb + 2;
	} else {
		const char *colon = strrchr(s, ':');

		if (colon == NULL || (size_t)(colon - s) >= sizeof(host))
			return -1;
		memcpy(host, s, colon - s);
		host[colon - s] = '\0';
		port = colon + 1;
	}
	errno = 0;
	p = strtol(port, &end, 10);
	if (*port == '\0' || *end != '\0' || errno != 0 || p < 1 || p > 65535)
		return -1;
	if (s[0] == '[') {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

		if (inet_pton(AF_INET6, host, &sin6->sin6_addr) != 1)
			return -1;
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)p);
		*len = sizeof(*sin6);
	} else {
		struct sockaddr_in *sin = (struct sockaddr_in *)ss;

		if (inet_pton(AF_INET, host, &sin->sin_addr) != 1)
			return -1;
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)p);
		*len = sizeof(*sin);
	}
	return 0;
}

static void
set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl == -1 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) == -1) {
		perror("misbehave: fcntl");
		exit(1);
	}
}

/*
 * Where does the question end?  Returns the offset after QCLASS and the
 * class, or 0 when msg is not a query with one uncompressed question.
 */
static size_t
question_end(const uint8_t *msg, size_t len, uint16_t *qclass)
{
	size_t off = 12;

	if (len < 12 || (msg[2] & 0x80) != 0 || msg[4] != 0 || msg[5] != 1)
		return 0;
	for (;;) {
		if (off >= len)
			return 0;
		if (msg[off] == 0) {
			off++;
			break;
		}
		if (msg[off] > 63 || off - 12 + msg[off] + 1 > 255)
			return 0;
		off += msg[off] + 1;
	}
	if (off + 4 > len)
		return 0;
	*qclass = (uint16_t)(msg[off + 2] << 8 | msg[off + 3]);
	return off + 4;
}

/* Append one TXT record of text owned by the question name. */
static size_t
add_text(uint8_t *out, size_t off, uint16_t qclass, const char *text)
{
	static const uint8_t rr[] = { 0xc0, 0x0c, 0x00, 0x10 };
	size_t tl = strlen(text);

	memcpy(out + off, rr, sizeof(rr));
	off += sizeof(rr);
	out[off++] = (uint8_t)(qclass >> 8);
	out[off++] = (uint8_t)(qclass & 0xff);
	memset(out + off, 0, 4);		/* TTL */
	off += 4;
	out[off++] = 0;
	out[off++] = (uint8_t)(tl + 1);
	out[off++] = (uint8_t)tl;
	memcpy(out + off, text, tl);
	return off + tl;
}

static size_t
add_txt(uint8_t *out, size_t off, uint16_t qclass)
{
	return add_text(out, off, qclass, ANSWER_TEXT);
}

/* Step over the name at msg + off (labels, or labels ending in a
 * pointer); 0 when it runs out of len. */
static size_t
skip_name(const uint8_t *msg, size_t len, size_t off)
{
	while (off < len) {
		if (msg[off] == 0)
			return off + 1;
		if (msg[off] >= 0xc0)
			return off + 2 <= len ? off + 2 : 0;
		off += msg[off] + 1;
	}
	return 0;
}

/* The echo mode's answer (see the top) to msg, len. */
static size_t
build_echo(const uint8_t *msg, size_t len, size_t qend, uint16_t qclass,
    const char *proxy, uint8_t *out)
{
	char text[160] = "no-edns";
	const uint8_t *ecs = NULL;
	size_t off = qend, rdlen, o, olen = 0, ecslen = 0, i, k;
	unsigned nrr = (unsigned)(msg[6] << 8 | msg[7]) +
	    (unsigned)(msg[8] << 8 | msg[9]) + (unsigned)(msg[10] << 8 | msg[11]);

	for (i = 0; i < nrr; i++) {
		if ((off = skip_name(msg, len, off)) == 0 || off + 10 > len)
			break;
		rdlen = (size_t)(msg[off + 8] << 8 | msg[off + 9]);
		if (off + 10 + rdlen > len)
			break;
		if ((msg[off] << 8 | msg[off + 1]) == 41) {
			strcpy(text, "ecs none");
			for (o = off + 10; o + 4 <= off + 10 + rdlen;
			    o += 4 + olen) {
				olen = (size_t)(msg[o + 2] << 8 | msg[o + 3]);
				if ((msg[o] << 8 | msg[o + 1]) != 8 || olen < 4 ||
				    o + 4 + olen > off + 10 + rdlen)
					continue;
				ecs = msg + o + 4;
				ecslen = olen;
				snprintf(text, sizeof(text),
				    "ecs %d/%d/%d ", ecs[0] << 8 | ecs[1], ecs[2],
				    ecs[3]);
				for (k = 4; k < ecslen && k < 36; k++)
					snprintf(text + strlen(text),
					    sizeof(text) - strlen(text), "%02x",
					    ecs[k]);
			}
		}
		off += 10 + rdlen;
	}
	if (proxy != NULL) {
		snprintf(text, sizeof(text), "%s", proxy);
		ecs = NULL;
	}
	memcpy(out, msg, 12);
	out[2] = (uint8_t)(0x80 | (msg[2] & 0x79) | 0x04);
	out[3] = 0;
	out[4] = 0;
	out[5] = 1;
	memset(out + 6, 0, 6);
	out[7] = 1;
	memcpy(out + 12, msg + 12, qend - 12);
	off = add_text(out, qend, qclass, text);
	if (ecs != NULL) {
		out[11] = 1;
		out[off++] = 0;				/* root */
		out[off++] = 0;
		out[off++] = 41;
		out[off++] = 0x10;			/* 4096 */
		out[off++] = 0;
		memset(out + off, 0, 4);
		off += 4;
		out[off++] = (uint8_t)((4 + ecslen) >> 8);
		out[off++] = (uint8_t)(4 + ecslen);
		out[off++] = 0;
		out[off++] = 8;
		out[off++] = (uint8_t)(ecslen >> 8);
		out[off++] = (uint8_t)ecslen;
		memcpy(out + off, ecs, ecslen);
		out[off + 3] = ecs[2];			/* scope = source */
		off += ecslen;
	}
	return off;
}

/*
 * Build the answer of mode m to the query msg (question ending at qend)
 * into out (at least qend + 64 bytes).  Returns its length, 0 for none.
 */
static size_t
build(enum mode m, int tcp, const uint8_t *msg, size_t qend, uint16_t qclass,
    uint8_t *out)
{
	static const uint8_t wrong[] = "\5wrong\7invalid";	/* + the NUL */
	size_t off;
	int rcode = 0, answer = 1;

	if (m == M_GARBAGE) {
		for (off = 0; off < 10; off++)
			out[off] = (uint8_t)(random() & 0xff);
		return 10;
	}
	if (m == M_DROP)
		return 0;
	if (m >= M_BARE_NOERROR) {
		memcpy(out, msg, 12);
		out[2] = (uint8_t)(0x80 | (msg[2] & 0x79));	/* QR, opcode, RD */
		out[3] = (uint8_t)(m - M_BARE_NOERROR);		/* the rcode */
		memset(out + 4, 0, 8);
		return 12;
	}
	memcpy(out, msg, 12);
	out[2] = (uint8_t)(0x80 | (msg[2] & 0x79) | 0x04);	/* QR, opcode, AA, RD */
	out[3] = 0;
	out[4] = 0;
	out[5] = 1;
	memset(out + 6, 0, 6);
	if (m == M_WRONGQUESTION) {
		memcpy(out + 12, wrong, sizeof(wrong));
		off = 12 + sizeof(wrong);
		memcpy(out + off, msg + qend - 4, 4);
		off += 4;
	} else {
		memcpy(out + 12, msg + 12, qend - 12);
		off = qend;
	}
	switch (m) {
	case M_WRONGID:
	case M_SPOOF_THEN_OK:		/* the first of the two */
		out[0] = msg[0];
		out[1] = msg[1];
		if (++out[1] == 0)
			out[0]++;
		break;
	case M_QRCLEAR:
		out[2] &= 0x7f;
		break;
	case M_TRUNCATE:
		if (!tcp) {
			out[2] |= 0x02;
			answer = 0;
		}
		break;
	case M_SERVFAIL:
		rcode = 2;
		answer = 0;
		break;
	case M_REFUSED:
		rcode = 5;
		answer = 0;
		break;
	default:
		break;
	}
	out[3] = (uint8_t)rcode;
	if (answer && (msg[2] & 0x78) == 0) {
		out[7] = 1;
		off = add_txt(out, off, qclass);
	}
	return off;
}

static void
close_conn(int i)
{
	if (conns[i].fd != -1)
		close(conns[i].fd);
	conns[i].fd = -1;
	conns[i].have = 0;
}

/* Write a whole framed message on a TCP connection (blocking briefly). */
static void
tcp_send(int slot, const uint8_t *msg, size_t len)
{
	uint8_t frame[2 + MAX_MSG];
	size_t done = 0;
	int fd = conns[slot].fd;

	frame[0] = (uint8_t)(len >> 8);
	frame[1] = (uint8_t)(len & 0xff);
	memcpy(frame + 2, msg, len);
	len += 2;
	while (done < len) {
		ssize_t n = send(fd, frame + done, len - done, MSG_NOSIGNAL);

		if (n > 0) {
			done += (size_t)n;
			continue;
		}
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			struct pollfd p = { .fd = fd, .events = POLLOUT };

			if (poll(&p, 1, 1000) > 0)
				continue;
		}
		close_conn(slot);
		return;
	}
}

static void
emit(int tcp, int slot, const struct sockaddr_storage *to, socklen_t tolen,
    const uint8_t *msg, size_t len)
{
	if (tcp)
		tcp_send(slot, msg, len);
	else
		(void)sendto(udp_fd, msg, len, 0, (const struct sockaddr *)to, tolen);
}

static void
send_or_queue(int tcp, int slot, const struct sockaddr_storage *to,
    socklen_t tolen, const uint8_t *msg, size_t len, long delay)
{
	struct pending *p;

	if (delay <= 0) {
		emit(tcp, slot, to, tolen, msg, len);
		return;
	}
	if (npending == MAX_PENDING)
		return;			/* overloaded: drop, as a real one would */
	p = &pending[npending];
	p->msg = malloc(len);
	if (p->msg == NULL)
		return;
	memcpy(p->msg, msg, len);
	p->len = len;
	p->tcp = tcp;
	p->slot = slot;
	p->gen = tcp ? conns[slot].gen : 0;
	if (to != NULL)
		memcpy(&p->to, to, tolen);
	p->tolen = tolen;
	p->due_ms = now_ms() + (uint64_t)delay;
	npending++;
}

static void
flush_pending(void)
{
	uint64_t now = now_ms();
	size_t i = 0;

	while (i < npending) {
		struct pending *p = &pending[i];

		if (p->due_ms > now) {
			i++;
			continue;
		}
		if (!p->tcp || (conns[p->slot].fd != -1 &&
		    conns[p->slot].gen == p->gen))
			emit(p->tcp, p->slot, &p->to, p->tolen, p->msg, p->len);
		free(p->msg);
		/* Keep arrival order among equal due times: shift down. */
		memmove(p, p + 1, (npending - i - 1) * sizeof(*p));
		npending--;
	}
}

static int
next_timeout(void)
{
	uint64_t now = now_ms(), first = UINT64_MAX;

	for (size_t i = 0; i < npending; i++)
		if (pending[i].due_ms < first)
			first = pending[i].due_ms;
	if (first == UINT64_MAX)
		return -1;
	return first <= now ? 0 : (int)(first - now);
}

/* The line of -r for a message whose question ends at qend. */
static void
record_msg(int tcp, const uint8_t *msg, size_t qend)
{
	char name[1024];
	size_t off = 12, o = 0;
	uint8_t l;

	while ((l = msg[off]) != 0 && off + 1 + l < qend) {
		memcpy(name + o, msg + off + 1, l);
		o += l;
		name[o++] = '.';
		off += 1 + l;
	}
	if (o == 0)
		name[o++] = '.';
	name[o] = '\0';
	fprintf(record, "%s %d %s\n", tcp ? "tcp" : "udp", (msg[2] >> 3) & 0xf,
	    name);
	fflush(record);
}

/* -P: the PROXY v2 header at the start of buf: its length, with what it
 * said in text; 0 when more is needed (TCP); -1 when it is not one. */
static long
proxy_header(const uint8_t *buf, size_t len, char *text, size_t textlen)
{
	static const uint8_t sig[12] = { 0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d,
	    0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a };
	char src[INET6_ADDRSTRLEN], dst[INET6_ADDRSTRLEN];
	size_t n, a;
	int fam;

	if (memcmp(buf, sig, len < 12 ? len : 12) != 0)
		return -1;
	if (len < 16)
		return 0;
	n = (size_t)(buf[14] << 8 | buf[15]);
	if (len < 16 + n)
		return 0;
	if (buf[12] == 0x20) {
		snprintf(text, textlen, "proxy local");
		return (long)(16 + n);
	}
	if (buf[12] != 0x21)
		return -1;
	fam = (buf[13] >> 4) == 1 ? AF_INET : (buf[13] >> 4) == 2 ? AF_INET6 :
	    0;
	a = fam == AF_INET ? 4 : 16;
	if (fam == 0 || ((buf[13] & 0xf) != 1 && (buf[13] & 0xf) != 2) ||
	    n < 2 * a + 4)
		return -1;
	inet_ntop(fam, buf + 16, src, sizeof(src));
	inet_ntop(fam, buf + 16 + a, dst, sizeof(dst));
	snprintf(text, textlen, "proxy %s%d %s %d %s %d",
	    (buf[13] & 0xf) == 1 ? "tcp" : "udp", fam == AF_INET ? 4 : 6, src,
	    buf[16 + 2 * a] << 8 | buf[17 + 2 * a], dst,
	    buf[18 + 2 * a] << 8 | buf[19 + 2 * a]);
	return (long)(16 + n);
}

static void
record_noproxy(int tcp)
{
	if (record == NULL)
		return;
	fprintf(record, "%s noproxy\n", tcp ? "tcp" : "udp");
	fflush(record);
}

static void
handle(int tcp, int slot, const struct sockaddr_storage *from,
    socklen_t fromlen, const uint8_t *msg, size_t len, const char *proxy)
{
	uint8_t out[MAX_MSG];
	uint16_t qclass;
	size_t qend, n;
	enum mode m = mode;
	long delay = delay_ms;

	qend = question_end(msg, len, &qclass);
	if (qend == 0 || qend + 64 > sizeof(out))
		return;
	if (record != NULL)
		record_msg(tcp, msg, qend);
	if (qclass == 3 && !all_classes) {	/* CH: the health check */
		m = M_OK;
		delay = 0;
	}
	if (m == M_SPOOF_THEN_OK) {
		n = build(M_SPOOF_THEN_OK, tcp, msg, qend, qclass, out);
		send_or_queue(tcp, slot, from, fromlen, out, n, delay);
		m = M_OK;
	}
	if (m == M_ECHO)
		n = build_echo(msg, len, qend, qclass, proxy, out);
	else
		n = build(m, tcp, msg, qend, qclass, out);
	if (n > 0)
		send_or_queue(tcp, slot, from, fromlen, out, n, delay);
}

static void
read_udp(void)
{
	uint8_t buf[MAX_MSG];
	struct sockaddr_storage from;
	char proxy[128];
	long h = 0;

	for (;;) {
		socklen_t fromlen = sizeof(from);
		ssize_t n = recvfrom(udp_fd, buf, sizeof(buf), 0,
		    (struct sockaddr *)&from, &fromlen);

		if (n < 0)
			return;
		if (want_proxy &&
		    (h = proxy_header(buf, (size_t)n, proxy, sizeof(proxy))) <=
		    0) {
			record_noproxy(0);
			continue;
		}
		handle(0, -1, &from, fromlen, buf + h, (size_t)(n - h),
		    want_proxy ? proxy : NULL);
	}
}

static void
accept_tcp(void)
{
	for (;;) {
		int fd = accept(tcp_fd, NULL, NULL), i;

		if (fd == -1)
			return;
		for (i = 0; i < MAX_CONNS; i++)
			if (conns[i].fd == -1)
				break;
		if (i == MAX_CONNS) {
			close(fd);
			continue;
		}
		set_nonblock(fd);
		conns[i].fd = fd;
		conns[i].gen = ++conn_gen;
		conns[i].have = 0;
		conns[i].proxied = !want_proxy;
	}
}

static void
read_tcp(int i)
{
	struct conn *c = &conns[i];
	ssize_t n = recv(c->fd, c->buf + c->have, sizeof(c->buf) - c->have, 0);

	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
		close_conn(i);
		return;
	}
	if (n < 0)
		return;
	c->have += (size_t)n;
	if (!c->proxied) {
		long h = proxy_header(c->buf, c->have, c->proxy,
		    sizeof(c->proxy));

		if (h == 0)
			return;
		if (h < 0) {
			record_noproxy(1);
			close_conn(i);
			return;
		}
		memmove(c->buf, c->buf + h, c->have - (size_t)h);
		c->have -= (size_t)h;
		c->proxied = 1;
	}
	for (;;) {
		size_t mlen;

		if (c->have < 2)
			return;
		mlen = (size_t)(c->buf[0] << 8 | c->buf[1]);
		if (c->have < 2 + mlen)
			return;
		handle(1, i, NULL, 0, c->buf + 2, mlen,
		    want_proxy ? c->proxy : NULL);
		if (c->fd == -1)	/* closed while answering */
			return;
		memmove(c->buf, c->buf + 2 + mlen, c->have - 2 - mlen);
		c->have -= 2 + mlen;
	}
}

static int
open_socket(int type, const struct sockaddr_storage *ss, socklen_t len)
{
	int fd = socket(ss->ss_family, type, 0), on = 1, big = 8 * 1024 * 1024;

	if (fd == -1) {
		perror("misbehave: socket");
		exit(1);
	}
	(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
	/* Room for a test's burst of thousands of queries (FORCE passes
	 * rmem_max when we are root). */
	if (type == SOCK_DGRAM &&
	    setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof(big)) == -1)
		(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
	if (ss->ss_family == AF_INET6)
		(void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on));
	if (bind(fd, (const struct sockaddr *)ss, len) == -1) {
		perror("misbehave: bind");
		exit(1);
	}
	if (type == SOCK_STREAM && listen(fd, 64) == -1) {
		perror("misbehave: listen");
		exit(1);
	}
	set_nonblock(fd);
	return fd;
}

int
main(int argc, char *argv[])
{
	struct sockaddr_storage ss;
	struct sigaction sa;
	socklen_t sslen = 0;
	const char *listen_addr = NULL, *pidfile = NULL;
	int ch, delay_given = 0;

	while ((ch = getopt(argc, argv, "l:m:d:p:ar:P")) != -1) {
		switch (ch) {
		case 'l':
			listen_addr = optarg;
			break;
		case 'm': {
			size_t i, n = sizeof(mode_names) / sizeof(mode_names[0]);

			for (i = 0; i < n; i++)
				if (strcmp(optarg, mode_names[i].name) == 0)
					break;
			if (i == n)
				usage();
			mode = mode_names[i].mode;
			break;
		}
		case 'd': {
			char *end;

			errno = 0;
			delay_ms = strtol(optarg, &end, 10);
			if (*optarg == '\0' || *end != '\0' || errno != 0 ||
			    delay_ms < 0 || delay_ms > 3600000)
				usage();
			delay_given = 1;
			break;
		}
		case 'p':
			pidfile = optarg;
			break;
		case 'a':
			all_classes = 1;
			break;
		case 'P':
			want_proxy = 1;
			break;
		case 'r':
			if ((record = fopen(optarg, "a")) == NULL) {
				perror("misbehave: -r");
				return 1;
			}
			break;
		default:
			usage();
		}
	}
	if (optind != argc || listen_addr == NULL)
		usage();
	if (parse_addr(listen_addr, &ss, &sslen) == -1) {
		fprintf(stderr, "misbehave: bad address %s\n", listen_addr);
		return 2;
	}
	if (mode == M_DELAY && !delay_given)
		delay_ms = 1000;
	srandom((unsigned)(time(NULL) ^ getpid()));

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	for (int i = 0; i < MAX_CONNS; i++)
		conns[i].fd = -1;
	udp_fd = open_socket(SOCK_DGRAM, &ss, sslen);
	tcp_fd = open_socket(SOCK_STREAM, &ss, sslen);

	if (pidfile != NULL) {
		char tmp[4096];
		FILE *f;

		snprintf(tmp, sizeof(tmp), "%s.tmp", pidfile);
		f = fopen(tmp, "w");
		if (f == NULL || fprintf(f, "%ld\n", (long)getpid()) < 0 ||
		    fclose(f) != 0 || rename(tmp, pidfile) == -1) {
			perror("misbehave: pidfile");
			return 1;
		}
	}

	while (!quit) {
		struct pollfd pfd[2 + MAX_CONNS];
		int slot_of[2 + MAX_CONNS];
		int n = 0, r;

		pfd[n].fd = udp_fd;
		pfd[n++].events = POLLIN;
		pfd[n].fd = tcp_fd;
		pfd[n++].events = POLLIN;
		for (int i = 0; i < MAX_CONNS; i++) {
			if (conns[i].fd == -1)
				continue;
			slot_of[n] = i;
			pfd[n].fd = conns[i].fd;
			pfd[n++].events = POLLIN;
		}
		r = poll(pfd, (nfds_t)n, next_timeout());
		if (r == -1) {
			if (errno == EINTR)
				continue;
			perror("misbehave: poll");
			return 1;
		}
		if (pfd[0].revents)
			read_udp();
		if (pfd[1].revents)
			accept_tcp();
		for (int k = 2; k < n; k++)
			if (pfd[k].revents)
				read_tcp(slot_of[k]);
		flush_pending();
	}
	for (int i = 0; i < MAX_CONNS; i++)
		close_conn(i);
	for (size_t i = 0; i < npending; i++)
		free(pending[i].msg);
	close(udp_fd);
	close(tcp_fd);
	if (pidfile != NULL)
		unlink(pidfile);
	return 0;
}

/*
 * latprobe: a low-rate latency probe beside dnsperf (scale.sh's change
 * part).
 *
 *	latprobe ADDR PORT NAME INTERVAL_US SECONDS
 *
 * Sends NAME A over UDP from its own socket (its own source port) every
 * INTERVAL_US, on a fixed schedule (a late send does not move the next
 * ones), and prints a line a query once the run is over:
 *
 *	SEND_EPOCH LATENCY_US	(or "SEND_EPOCH lost", or "SEND_EPOCH RCODE n")
 *
 * SEND_EPOCH is the wall time the query was sent, so report.py cuts
 * windows by the time each query really went out, not by its rank in a
 * log.  Latency is CLOCK_MONOTONIC from just before send() to just after
 * recv().  It stops after SECONDS, or at SIGINT/SIGTERM; a query still
 * unanswered 1 s after the last send is lost.  One query in flight at
 * most per ID, 65,536 IDs: at 1 ms, an ID comes back after 65 s.
 */
#include <sys/socket.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define NIDS	65536

static volatile sig_atomic_t stopping;

struct sent {
	double	 epoch;		/* wall time of the send; 0: free */
	int64_t	 mono_ns;
	int64_t	 lat_ns;	/* -1: no answer yet */
	int	 rcode;
};

static void
on_signal(int sig)
{
	(void)sig;
	stopping = 1;
}

static int64_t
mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static double
epoch(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* A query for NAME A with ID 0 (set per send); its length. */
static size_t
make_query(unsigned char *q, size_t max, const char *name)
{
	size_t n = 12, len;
	const char *p = name, *dot;

	memset(q, 0, 12);
	q[2] = 0x01;			/* RD */
	q[5] = 1;			/* QDCOUNT */
	while (*p != '\0') {
		dot = strchr(p, '.');
		len = dot == NULL ? strlen(p) : (size_t)(dot - p);
		if (len == 0 || len > 63 || n + len + 6 > max)
			return 0;
		q[n++] = (unsigned char)len;
		memcpy(q + n, p, len);
		n += len;
		p += len + (dot != NULL);
	}
	q[n++] = 0;
	q[n++] = 0; q[n++] = 1;		/* A */
	q[n++] = 0; q[n++] = 1;		/* IN */
	return n;
}

int
main(int argc, char *argv[])
{
	static struct sent sent[NIDS];
	struct sockaddr_in sin;
	struct pollfd pfd;
	unsigned char q[512], r[4096];
	size_t qlen;
	ssize_t n;
	int64_t interval, start, next, end, now, wait_ns;
	long long seq, nsent = 0, i;
	int fd, id;
	double *order_epoch;
	int *order_id;

	if (argc != 6) {
		fprintf(stderr, "usage: latprobe ADDR PORT NAME INTERVAL_US "
		    "SECONDS\n");
		return 2;
	}
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)atoi(argv[2]));
	if (inet_pton(AF_INET, argv[1], &sin.sin_addr) != 1) {
		fprintf(stderr, "latprobe: bad address %s\n", argv[1]);
		return 2;
	}
	if ((qlen = make_query(q, sizeof(q), argv[3])) == 0) {
		fprintf(stderr, "latprobe: bad name %s\n", argv[3]);
		return 2;
	}
	interval = atoll(argv[4]) * 1000;
	if (interval <= 0 || atoi(argv[5]) <= 0) {
		fprintf(stderr, "latprobe: bad interval or duration\n");
		return 2;
	}
	if ((fd = socket(AF_INET, SOCK_DGRAM, 0)) == -1 ||
	    connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1) {
		perror("latprobe: socket");
		return 1;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	/* At most one entry a send: the order they went out in. */
	seq = (long long)atoi(argv[5]) * 1000000000 / interval + 1;
	order_epoch = calloc((size_t)seq, sizeof(*order_epoch));
	order_id = calloc((size_t)seq, sizeof(*order_id));
	if (order_epoch == NULL || order_id == NULL) {
		perror("latprobe");
		return 1;
	}
	start = next = mono_ns();
	end = start + (int64_t)atoi(argv[5]) * 1000000000;
	pfd.fd = fd;
	pfd.events = POLLIN;
	for (;;) {
		now = mono_ns();
		if (stopping) {
			if (end > now)
				end = now;
			stopping = 0;
		}
		/* The last answers: up to 1 s after the last send. */
		if (now >= end + 1000000000)
			break;
		if (now < end && now >= next && nsent < seq) {
			id = (int)(nsent % NIDS);
			q[0] = (unsigned char)(id >> 8);
			q[1] = (unsigned char)id;
			sent[id].epoch = epoch();
			sent[id].lat_ns = -1;
			order_epoch[nsent] = sent[id].epoch;
			order_id[nsent] = id;
			nsent++;
			sent[id].mono_ns = mono_ns();
			if (send(fd, q, qlen, 0) == -1 && errno != ENOBUFS &&
			    errno != ECONNREFUSED)
				perror("latprobe: send");
			/* The schedule, not the send, sets the next one. */
			next += interval;
			continue;
		}
		wait_ns = now < end ? next - now : end + 1000000000 - now;
		if (poll(&pfd, 1, (int)((wait_ns + 999999) / 1000000)) <= 0)
			continue;
		while ((n = recv(fd, r, sizeof(r), MSG_DONTWAIT)) > 0) {
			now = mono_ns();
			if (n < 12)
				continue;
			id = r[0] << 8 | r[1];
			if (sent[id].epoch == 0 || sent[id].lat_ns != -1)
				continue;
			sent[id].lat_ns = now - sent[id].mono_ns;
			sent[id].rcode = r[3] & 0x0f;
		}
	}
	for (i = 0; i < nsent; i++) {
		struct sent *s = &sent[order_id[i]];

		/* An ID reused since (a run longer than NIDS sends):
		 * only its last use is known. */
		if (s->epoch != order_epoch[i])
			continue;
		if (s->lat_ns < 0)
			printf("%.6f lost\n", s->epoch);
		else if (s->rcode != 0)
			printf("%.6f RCODE %d\n", s->epoch, s->rcode);
		else
			printf("%.6f %.1f\n", s->epoch, s->lat_ns / 1e3);
	}
	return 0;
}

/*
 * util: addresses, socket buffers, numbers, clocks, and allocation that
 * cannot fail silently (an out-of-memory daemon cannot keep its promises;
 * it stops).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "util.h"

int
addr_parse(const char *s, int defport, struct sockaddr_storage *ss,
    socklen_t *sslen, char *err, size_t errlen)
{
	char host[64];
	const char *port = NULL, *colon;
	long p = defport;
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (s[0] == '[') {
		const char *e = strchr(s, ']');
		if (e == NULL || (size_t)(e - s - 1) >= sizeof(host))
			goto bad;
		memcpy(host, s + 1, e - s - 1);
		host[e - s - 1] = '\0';
		if (e[1] == ':')
			port = e + 2;
		else if (e[1] != '\0')
			goto bad;
	} else {
		colon = strchr(s, ':');
		if (colon != NULL && strchr(colon + 1, ':') == NULL) {
			if ((size_t)(colon - s) >= sizeof(host))
				goto bad;
			memcpy(host, s, colon - s);
			host[colon - s] = '\0';
			port = colon + 1;
		} else {
			if (strlen(s) >= sizeof(host))
				goto bad;
			strcpy(host, s);
		}
	}
	if (port != NULL && parse_int(port, 1, 65535, &p) == -1) {
		snprintf(err, errlen, "bad port in \"%s\"", s);
		return -1;
	}
	if (inet_pton(AF_INET, host, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)p);
		*sslen = sizeof(*sin);
		return 0;
	}
	if (inet_pton(AF_INET6, host, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)p);
		*sslen = sizeof(*sin6);
		return 0;
	}
bad:
	snprintf(err, errlen, "bad address \"%s\" (want 1.2.3.4[:port] or [::1][:port])", s);
	return -1;
}

char *
addr_fmt(const struct sockaddr *sa, char *out, size_t outlen)
{
	char h[INET6_ADDRSTRLEN];

	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)sa;
		inet_ntop(AF_INET, &sin->sin_addr, h, sizeof(h));
		snprintf(out, outlen, "%s:%u", h, ntohs(sin->sin_port));
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)sa;
		inet_ntop(AF_INET6, &sin6->sin6_addr, h, sizeof(h));
		snprintf(out, outlen, "[%s]:%u", h, ntohs(sin6->sin6_port));
	} else
		snprintf(out, outlen, "unknown");
	return out;
}

int
addr_equal(const struct sockaddr *a, const struct sockaddr *b)
{
	if (a->sa_family != b->sa_family)
		return 0;
	if (a->sa_family == AF_INET) {
		const struct sockaddr_in *x = (const void *)a, *y = (const void *)b;
		return x->sin_port == y->sin_port &&
		    x->sin_addr.s_addr == y->sin_addr.s_addr;
	}
	if (a->sa_family == AF_INET6) {
		const struct sockaddr_in6 *x = (const void *)a, *y = (const void *)b;
		return x->sin6_port == y->sin6_port &&
		    memcmp(&x->sin6_addr, &y->sin6_addr, 16) == 0;
	}
	return 0;
}

int
parse_int(const char *s, long min, long max, long *out)
{
	char *end;
	long v;

	if (*s == '\0')
		return -1;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

/* As NSD and Unbound do, the FORCE variants first: they pass
 * net.core.rmem_max/wmem_max (212992 on a stock kernel, about 170
 * datagrams) while the daemon still has the privilege.  The plain ones are
 * capped at that maximum: on a passed socket whose owner forced a bigger
 * buffer they could shrink it, so they are tried only when plain_ok. */
void
sock_buffers(int fd, int sz, int plain_ok)
{
	static const int opt[2][2] = {
		{ SO_RCVBUF, SO_RCVBUFFORCE }, { SO_SNDBUF, SO_SNDBUFFORCE }
	};
	socklen_t len;
	int i, cur;

	for (i = 0; i < 2; i++) {
		len = sizeof(cur);
		/* Linux reports twice what was asked (its bookkeeping). */
		if (getsockopt(fd, SOL_SOCKET, opt[i][0], &cur, &len) == 0 &&
		    cur / 2 >= sz)
			continue;
		if (setsockopt(fd, SOL_SOCKET, opt[i][1], &sz, sizeof(sz)) == -1 &&
		    plain_ok)
			(void)setsockopt(fd, SOL_SOCKET, opt[i][0], &sz, sizeof(sz));
	}
}

uint64_t
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

uint64_t
thread_cpu_ns(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) == -1)
		return 0;
	return (uint64_t)ts.tv_sec * 1000000000 + (uint64_t)ts.tv_nsec;
}

int64_t
wall_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

void *
xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (p == NULL)
		fatal("malloc");
	return p;
}

void *
xcalloc(size_t n, size_t m)
{
	void *p = calloc(n ? n : 1, m ? m : 1);

	if (p == NULL)
		fatal("calloc");
	return p;
}

void *
xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (p == NULL)
		fatal("realloc");
	return p;
}

char *
xstrdup(const char *s)
{
	char *p = strdup(s);

	if (p == NULL)
		fatal("strdup");
	return p;
}

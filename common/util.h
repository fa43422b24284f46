/*
 * util: small things both programs need: addresses, numbers, time, memory.
 */
#ifndef UTIL_H
#define UTIL_H

#include <sys/socket.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* Parse "1.2.3.4", "1.2.3.4:53", "::1", "[::1]:53" (port defaults to
 * defport).  Returns 0 or -1 with err set. */
int	addr_parse(const char *s, int defport, struct sockaddr_storage *ss,
	    socklen_t *sslen, char *err, size_t errlen);
/* "1.2.3.4:53" or "[::1]:53"; returns out. */
char	*addr_fmt(const struct sockaddr *sa, char *out, size_t outlen);
/* Same address and port? */
int	addr_equal(const struct sockaddr *a, const struct sockaddr *b);

/* Socket buffers of at least sz bytes each way; never made smaller.
 * plain_ok: without the privilege to pass the system's maximum, ask up to
 * it (only for a socket this process made). */
void	sock_buffers(int fd, int sz, int plain_ok);

/*
 * Which of 2^bits buckets a client's counters go in: its IPv4 address, or
 * its IPv6 /64 (what one host can spread over: one client), never the
 * port, hashed with salt.  A random salt keeps anyone from picking
 * addresses that land in someone else's bucket.  A multiply, not a loop:
 * it runs once per query.
 */
static inline uint32_t
addr_bucket(const struct sockaddr *sa, uint64_t salt, unsigned bits)
{
	uint64_t k;
	uint32_t a4;

	if (sa->sa_family == AF_INET6)
		memcpy(&k, &((const struct sockaddr_in6 *)sa)->sin6_addr, 8);
	else {
		memcpy(&a4, &((const struct sockaddr_in *)sa)->sin_addr, 4);
		k = a4;
	}
	k = (k ^ salt) * 0x9e3779b97f4a7c15ULL;
	return (uint32_t)(k >> (64 - bits));
}

/* Parse a decimal integer in [min, max]; 0 or -1. */
int	parse_int(const char *s, long min, long max, long *out);

uint64_t now_us(void);		/* monotonic */
uint64_t thread_cpu_ns(void);	/* this thread's CPU, user and kernel */
int64_t	 wall_us(void);		/* since the epoch */

void	*xmalloc(size_t);
void	*xcalloc(size_t, size_t);
void	*xrealloc(void *, size_t);
char	*xstrdup(const char *);

#define NELEMS(a)	(sizeof(a) / sizeof((a)[0]))

#endif

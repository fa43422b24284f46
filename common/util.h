/*
 * util: small things both programs need: addresses, numbers, time, memory.
 */
#ifndef UTIL_H
#define UTIL_H

#include <sys/socket.h>
#include <stddef.h>
#include <stdint.h>

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

/* Parse a decimal integer in [min, max]; 0 or -1. */
int	parse_int(const char *s, long min, long max, long *out);

uint64_t now_us(void);		/* monotonic */
int64_t	 wall_us(void);		/* since the epoch */

void	*xmalloc(size_t);
void	*xcalloc(size_t, size_t);
void	*xrealloc(void *, size_t);
char	*xstrdup(const char *);

#define NELEMS(a)	(sizeof(a) / sizeof((a)[0]))

#endif

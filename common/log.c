/*
 * log: stderr or syslog, with a level.  Thread-safe as far as the C library
 * is: one vfprintf or vsyslog per message, so lines never interleave.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include "log.h"

static int	 log_to_syslog;
static int	 log_lvl = LOG_LVL_INFO;
static const char *log_ident = "dnsroute";

void
log_init(const char *ident, int to_syslog, int level)
{
	log_ident = ident;
	log_to_syslog = to_syslog;
	log_lvl = level;
	if (to_syslog)
		openlog(ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

void
log_reopen(void)
{
	if (log_to_syslog) {
		closelog();
		openlog(log_ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
	}
}

int
log_level(void)
{
	return log_lvl;
}

static void vlog(int, const char *, va_list, int)
    __attribute__((format(printf, 2, 0)));

/* Control bytes in a message (text from the network: an etcd key, an
 * error etcd sent) become \DDD, so no message can forge a log line. */
static void
log_clean(const char *msg, char *out, size_t outlen)
{
	size_t i, n = 0;
	unsigned char c;

	for (i = 0; msg[i] != '\0' && n + 5 < outlen; i++) {
		c = (unsigned char)msg[i];
		if (c < 0x20 || c == 0x7f)
			n += (size_t)snprintf(out + n, outlen - n, "\\%03u", c);
		else
			out[n++] = (char)c;
	}
	out[n] = '\0';
}

static void
vlog(int pri, const char *fmt, va_list ap, int with_errno)
{
	char raw[1024], msg[4096];
	int saved = errno;

	vsnprintf(raw, sizeof(raw), fmt, ap);
	if (with_errno) {
		size_t l = strlen(raw);
		snprintf(raw + l, sizeof(raw) - l, ": %s", strerror(saved));
	}
	log_clean(raw, msg, sizeof(msg));
	if (log_to_syslog)
		syslog(pri, "%s", msg);
	else
		fprintf(stderr, "%s: %s\n", log_ident, msg);
	errno = saved;
}

#define LOGFN(name, lvl, pri, err)				\
void								\
name(const char *fmt, ...)					\
{								\
	va_list ap;						\
	if (log_lvl < (lvl))					\
		return;						\
	va_start(ap, fmt);					\
	vlog(pri, fmt, ap, err);				\
	va_end(ap);						\
}

LOGFN(log_warn, LOG_LVL_WARN, LOG_WARNING, 1)
LOGFN(log_warnx, LOG_LVL_WARN, LOG_WARNING, 0)
LOGFN(log_info, LOG_LVL_INFO, LOG_INFO, 0)
LOGFN(log_debug, LOG_LVL_DEBUG, LOG_DEBUG, 0)

void
fatal(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_CRIT, fmt, ap, 1);
	va_end(ap);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_CRIT, fmt, ap, 0);
	va_end(ap);
	exit(1);
}

int
log_allow(struct log_limit *l)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	if (ts.tv_sec == l->last) {
		l->suppressed++;
		return 0;
	}
	l->last = ts.tv_sec;
	if (l->suppressed) {
		log_warnx("(%u similar messages suppressed)", l->suppressed);
		l->suppressed = 0;
	}
	return 1;
}

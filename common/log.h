/*
 * log: one way to report, for both programs.  To stderr (foreground, tests)
 * or syslog.  log_warn appends strerror(errno); the x forms do not.  fatal
 * is for start-up and broken invariants only.
 */
#ifndef LOG_H
#define LOG_H

#include <stdarg.h>

#define LOG_LVL_WARN	0
#define LOG_LVL_INFO	1
#define LOG_LVL_DEBUG	2

void	log_init(const char *ident, int to_syslog, int level);
void	log_reopen(void);
int	log_level(void);
void	log_warn(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_warnx(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_info(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_debug(const char *, ...) __attribute__((format(printf, 1, 2)));
void	fatal(const char *, ...) __attribute__((format(printf, 1, 2), noreturn));
void	fatalx(const char *, ...) __attribute__((format(printf, 1, 2), noreturn));

/* Rate limit for per-packet conditions: returns 1 at most once per second
 * per limiter (and counts what it suppressed into *suppressed). */
struct log_limit {
	long	 last;
	unsigned suppressed;
};
int	log_allow(struct log_limit *);

#endif

/*
 * metrics: the Prometheus text-format endpoint (libevent's HTTP server on
 * the main thread), off unless -m ADDR:PORT is given.  The same figures
 * as `show stats` and `show backends`.
 */
#ifndef METRICS_H
#define METRICS_H

#include <stddef.h>

#include <event2/event.h>

struct metrics;

struct metrics	*metrics_new(struct event_base *, const char *addr, char *err,
		    size_t errlen);
void		 metrics_free(struct metrics *);

#endif

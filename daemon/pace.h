/*
 * pace: a budget of main-thread CPU for changes while queries flow.
 */
#ifndef DNSROUTE_PACE_H
#define DNSROUTE_PACE_H

#include <stdint.h>

struct event_base;

/* Once the workers run: the gate's sampling starts.  pace_stop at exit. */
void		pace_start(struct event_base *);
void		pace_stop(void);
/* The budget applies now: the setting change-cpu-budget is not 0 and
 * queries flow (pace.c says how that is told). */
int		pace_on(void);
/* Around a change's work on the main thread: pace_mark before, then
 * pace_charge with what it gave; nothing (0) while the budget is off. */
uint64_t	pace_mark(void);
void		pace_charge(uint64_t mark);
/* µs until the budget has CPU for more change work: 0, go on now; else
 * the caller waits that long (by a timer) and says so with pace_waits,
 * for the counters. */
uint64_t	pace_wait_us(void);
void		pace_waits(uint64_t us);
/* The counters, as rows (name, value, help) for show stats and the
 * metrics. */
void		pace_stats(void (*row)(void *arg, const char *name,
		    long long v, const char *help), void *arg);

#endif

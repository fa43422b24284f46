/*
 * prio: the main thread gives the CPU to queries while it applies a change.
 */
#ifndef DNSROUTE_PRIO_H
#define DNSROUTE_PRIO_H

/* How far a change raises the main thread's nice value. */
#define PRIO_CHANGE_NICE	10

/* At start-up, before privileges are dropped. */
void	prio_init(void);
/* Around bulk work of the calling (main) thread; they nest. */
void	prio_change_enter(void);
void	prio_change_leave(void);

#endif

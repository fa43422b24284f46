/*
 * hits: route hit counters, kept across restarts.  Workers count hits in
 * memory (struct route_hits in config.h, one per route id, shared by
 * successive snapshots); this saves the counts that moved to the store
 * every HITS_SAVE_SECONDS and when the daemon stops, and config_build()
 * starts a route's count from what was saved.  A save is put off while a
 * client holds a transaction (the store has one connection, and the
 * counts must not ride in, or be rolled back with, someone's change).
 */
#ifndef HITS_H
#define HITS_H

#include <event2/event.h>

#define HITS_SAVE_SECONDS	60

void	hits_start(struct event_base *);
void	hits_stop(void);
/* Save now: 0, or -1 (logged; the counts stay to save next time). */
int	hits_save(void);

#endif

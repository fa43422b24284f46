/*
 * health: health checks and the backend lifecycle, on the main thread's
 * event base and never on the query path.  Each backend of the current
 * snapshot has its own timer; `fall` bad checks in a row take it down,
 * `rise` good ones bring it back by itself.  Every check result and every
 * state change becomes a health_event row, written in batches; every state
 * change is also a log line.
 */
#ifndef HEALTH_H
#define HEALTH_H

#include <event2/event.h>

#include "config.h"
#include "db.h"

struct health;

struct health	*health_new(struct event_base *, struct db *);
/* The snapshot changed: start checking new backends at once, stop
 * checking removed or disabled ones, pick up changed check settings. */
void		 health_sync(struct health *, const struct config *);
/* `backend readd`: check b now (or every backend that is not up when b is
 * NULL); on success it serves again at once.  done() is called once per
 * backend checked, later, from the event loop, with ok and a detail
 * ("NOERROR in 312 us", "timeout", "connection refused"), then once more
 * with b NULL when all are done.  Returns how many checks were started. */
typedef void (*health_done_cb)(void *arg, struct backend *b, int ok,
    const char *detail);
int		 health_readd(struct health *, struct backend *b,
		    health_done_cb, void *arg);
/* Forget pending done() calls for arg (its control client left). */
void		 health_cancel(struct health *, void *arg);
/* Record an operator's change of admin state as an event (drain, ...). */
void		 health_note(struct health *, struct backend *,
		    const char *from, const char *to, const char *reason);
/* Write buffered events now (also done by a 1 s timer); retention from the
 * snapshot's settings. */
void		 health_flush(struct health *);
void		 health_free(struct health *);

#endif

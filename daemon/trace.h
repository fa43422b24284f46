/*
 * trace: `show recent` and live `trace`, from the records the workers
 * leave in their rings (tring.h).  A `trace` reads the rings from the main
 * thread on a timer while it runs, so tracing adds nothing to the query
 * path and a slow tracer cannot reach a worker: a ring overwrites its
 * oldest records, and a reader that falls behind counts what it lost.
 */
#ifndef TRACE_H
#define TRACE_H

#include <event2/event.h>

struct ctl_conn;

/* Main thread, once the workers exist: the rings and the drain timer. */
void	trace_init(struct event_base *);
void	trace_shutdown(void);
/* The control client left: end its trace without a word (from
 * cmd_session_end; the connection is being freed). */
void	trace_cancel(struct ctl_conn *);

#endif

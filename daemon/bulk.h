/*
 * bulk: the main thread's long work (a replace's input and changes, a
 * transaction's commands, compiling patterns in the background), in short
 * pieces, done on a thread of its own at the lowest CPU priority
 * (SCHED_IDLE, or nice 19 where that is refused), while the main thread
 * waits for it.  The workers then take a CPU from it whenever they have a
 * query, instead of sharing one with it: a big change slows down under
 * load, the queries do not.  Nothing else changes: the main thread does
 * nothing meanwhile, so what runs there is still one thing at a time, in
 * the same order, and what it touches is as single-threaded as before.
 * When no CPU is left for the thread at all, the main thread does the work
 * itself (bulk.c); a piece it has begun, though, the main thread can only
 * wait for, so only short pieces go there (a line, a change, a pattern),
 * never one like building a snapshot.  The priority is set once, at the
 * start, and never raised again.
 */
#ifndef BULK_H
#define BULK_H

#include <stdint.h>

/* Start the thread (without it, bulk_run runs fn on the spot). */
void	bulk_start(void);
/* Run fn(arg) on the bulk thread and wait for it; on the spot when
 * called there, before bulk_start or after bulk_stop, and when the thread
 * does not begin it within a few milliseconds. */
void	bulk_run(void (*fn)(void *), void *arg);
/* Long work in slices: fn(arg, deadline) does some, until now_us() passes
 * deadline_us, and returns 1 while more is left; each slice is a bulk_run. */
void	bulk_loop(int (*fn)(void *arg, uint64_t deadline_us), void *arg);
/* Stop the thread (at exit, once nothing calls bulk_run). */
void	bulk_stop(void);
/* Is the calling thread the bulk thread? */
int	bulk_here(void);

#endif

/*
 * worker: one DNS-serving thread, as the main thread sees it.  Each worker
 * has its own event base, its own descriptor of every listener (its own
 * SO_REUSEPORT socket, or a dup of a socket passed by the service manager
 * that every worker polls: see listen.c), its own sockets to every backend,
 * its own query slots, counters and trace ring.  Nothing on the query path
 * is shared with another thread but the read-only config snapshot and the
 * backends' atomics.
 *
 * The main thread talks to a worker only through worker_set_config(),
 * which hands over a new snapshot and returns once the worker serves from
 * it, so a change is visible to the very next query, and worker_stop().
 * What a worker does is in wstate.h and the files it names.
 */
#ifndef WORKER_H
#define WORKER_H

struct config;
struct listeners;
struct stats;
struct tring;
struct worker;

/* Create a worker; it takes its descriptor of every listener in ls. */
struct worker	*worker_new(int idx, struct listeners *ls, struct config *cfg,
		    int tcp_budget);
void		 worker_start(struct worker *);
/* Hand over a new snapshot and wait until the worker serves from it. */
void		 worker_set_config(struct worker *, struct config *);
/* Stop reading queries at once (every listener and client connection);
 * the thread answers what it has read, closes its client connections and
 * exits.  worker_join waits for that. */
void		 worker_stop(struct worker *);
void		 worker_join(struct worker *);
void		 worker_free(struct worker *);

/* For the main thread to read while the worker runs: its counters (relaxed
 * atomics), the queries it has in flight (a snapshot that may be stale by
 * the time it is read), its trace ring (tring.h). */
const struct stats *worker_stats(const struct worker *);
long		 worker_outstanding(const struct worker *);
struct tring	*worker_ring(struct worker *);

#endif

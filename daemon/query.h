/*
 * query: one query's life on a worker, from the client's bytes to its
 * answer (see query.c).  The files that read sockets reach it through the
 * worker's entry points (wstate.h), which worker_new() sets to the first
 * three functions; the worker's timer and handover call the rest.
 */
#ifndef QUERY_H
#define QUERY_H

#include <stddef.h>
#include <stdint.h>

struct client;
struct up_ref;
struct worker;

/* A query from a client (w->on_query). */
void	query_client(struct worker *, const uint8_t *pkt, size_t len,
	    const struct client *);
/* A backend's answer on the socket and with the ID of r (w->on_answer). */
void	query_answer(struct worker *, struct up_ref *r, uint8_t *pkt,
	    size_t len, int stable);
/* An answer to r will be handled soon (w->on_answer_soon): prefetch. */
void	query_answer_soon(const struct up_ref *r);
/* The connection r went out on failed (w->on_failed). */
void	query_failed(struct worker *, struct up_ref *r);
/* Expire the tries past their deadline. */
void	query_timeouts(struct worker *, uint64_t now);
/* A new snapshot is current: let go of the old ones nothing in flight
 * uses any more. */
void	query_release_holds(struct worker *);
void	query_free(struct worker *);

#endif

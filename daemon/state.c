/*
 * state: the daemon's shared state and its snapshots (see state.h).
 *
 * A snapshot is built whole, before the commit, so that a change that
 * cannot be built (a regex that does not compile, a route to a missing
 * pool) is refused with nothing changed; what a snapshot's rows say about
 * the shared backends (check settings, weight, admin state) is applied only
 * at publishing, after the commit, so that a rolled-back change leaves them
 * as they were.
 *
 * After a snapshot is published, the main thread compiles its route
 * patterns in the background (route_cache_warm; a new UPDATE route table
 * first, then the query routes'), a slice at a time between the other
 * events of its loop, so a control client waits at most a slice for it;
 * then, every second, it JIT-compiles the patterns the workers have been
 * trying interpreted.  Queries never wait for it: a worker compiles a
 * pattern it needs and finds uncompiled (route.h).
 * Snapshots whose last reference a worker dropped are freed here too
 * (config_reap), never on the worker.
 */
#include <stdatomic.h>

#include <event2/event.h>

#include "config.h"
#include "health.h"
#include "route.h"
#include "state.h"
#include "words.h"
#include "worker.h"

#include "log.h"
#include "util.h"

/* Main-thread time per background slice; and between two looks for the
 * patterns the workers try often enough to be worth JIT code. */
#define WARM_SLICE_US	2000
#define WARM_EVERY_S	1

struct dnsrouted *dr;

static struct event	*ev_warm, *ev_reap;

/* The rows of c onto the backends it shares with the last snapshot; with
 * health checks running, each admin change is noted in their history. */
static void
apply_rows(struct config *c)
{
	struct backend *b;
	int i, old;

	for (i = 0; i < c->nbackends; i++) {
		b = c->backends[i];
		b->conf = c->brows[i].conf;
		atomic_store(&b->weight, c->brows[i].conf.weight);
		atomic_store(&b->client_addr, c->brows[i].conf.client_addr);
		old = atomic_exchange(&b->admin, c->brows[i].admin);
		if (old != c->brows[i].admin && dr->health != NULL)
			/* health_note logs it and keeps it in the history. */
			health_note(dr->health, b, words_name(&words_admin, old),
			    words_name(&words_admin, c->brows[i].admin),
			    "operator");
	}
}

struct config *
state_build(char *err, size_t errlen)
{
	return config_build(dr->db, dr->cfg, dr->rc, err, errlen);
}

static void
warm_cb(evutil_socket_t fd, short what, void *arg)
{
	struct timeval zero = { 0, 0 }, later = { WARM_EVERY_S, 0 };
	static uint64_t urt_warmed;	/* the UPDATE table's generation */
	const struct route_table *urt = dr->cfg->urt;
	uint64_t deadline = now_us() + WARM_SLICE_US;

	(void)fd;
	(void)what;
	(void)arg;
	/* A new UPDATE table first, through once: it is small, and the
	 * cache warms one table at a time (alternating would start the
	 * query routes' pass over each time). */
	if (urt != NULL && urt->gen != urt_warmed) {
		if (route_cache_warm(dr->rc, urt, deadline)) {
			evtimer_add(ev_warm, &zero);
			return;
		}
		urt_warmed = urt->gen;
	}
	if (route_cache_warm(dr->rc, dr->cfg->rt, deadline))
		evtimer_add(ev_warm, &zero);
	else
		evtimer_add(ev_warm, &later);
}

/* Now: a new table was published. */
static void
warm(void)
{
	struct timeval zero = { 0, 0 };

	if (ev_warm != NULL)
		evtimer_add(ev_warm, &zero);
}

static void
reap_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	config_reap();
}

/* Any thread. */
static void
reap_bell(void)
{
	event_active(ev_reap, 0, 0);
}

void
state_start(void)
{
	if ((ev_warm = evtimer_new(dr->base, warm_cb, NULL)) == NULL ||
	    (ev_reap = event_new(dr->base, -1, 0, reap_cb, NULL)) == NULL)
		fatalx("cannot create the snapshot events");
	config_set_reaper(reap_bell);
	warm();
}

void
state_stop(void)
{
	config_reap();
	if (ev_warm != NULL)
		event_free(ev_warm);
	if (ev_reap != NULL)
		event_free(ev_reap);
	ev_warm = ev_reap = NULL;
}

void
state_publish(struct config *c)
{
	struct config *old = dr->cfg;
	int i, tables;

	/* A drain shares the route tables whole: nothing new to compile
	 * (the once-a-second look for JIT work goes on). */
	tables = old == NULL || c->rt != old->rt || c->urt != old->urt;
	apply_rows(c);
	dr->cfg = c;
	dr->generation++;
	for (i = 0; i < dr->nworkers; i++)
		worker_set_config(dr->workers[i], c);
	if (dr->health != NULL)
		health_sync(dr->health, c);
	config_unref(old);
	route_cache_gc(dr->rc);
	if (tables)
		warm();
}

void
state_route_stats(void (*row)(void *, const char *, long long, const char *),
    void *arg)
{
	struct route_cache_stats st;

	route_cache_stats(dr->rc, &st);
	row(arg, "routes-compiled", (long long)st.compiled,
	    "route patterns compiled (the others compile when first needed "
	    "or in the background)");
	row(arg, "routes-pending", (long long)st.pending,
	    "route patterns not compiled yet: 0 once the background "
	    "compilation is done");
	row(arg, "routes-bad", (long long)st.bad,
	    "stored route patterns that do not compile (they match nothing)");
	row(arg, "routes-jit", (long long)st.jit,
	    "route patterns with JIT code");
	row(arg, "routes-jit-bytes", (long long)st.jit_bytes,
	    "their machine code, in bytes (8 MiB at most)");
	row(arg, "routes-jit-wanted", (long long)st.jit_wanted,
	    "patterns the queries try often that get JIT code within a "
	    "second: 0 when the table is as fast as it gets");
}

int
state_load(char *err, size_t errlen)
{
	if ((dr->cfg = config_build(dr->db, NULL, dr->rc, err, errlen)) == NULL)
		return -1;
	apply_rows(dr->cfg);
	return 0;
}

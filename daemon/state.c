/*
 * state: the daemon's shared state and its snapshots (see state.h).
 *
 * A snapshot is built whole, before the commit, so that a change that
 * cannot be built (a regex that does not compile, a route to a missing
 * pool) is refused with nothing changed; what a snapshot's rows say about
 * the shared backends (check settings, weight, admin state) is applied only
 * at publishing, after the commit, so that a rolled-back change leaves them
 * as they were.
 */
#include <stdatomic.h>

#include "config.h"
#include "health.h"
#include "route.h"
#include "state.h"
#include "words.h"
#include "worker.h"

struct dnsrouted *dr;

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

void
state_publish(struct config *c)
{
	struct config *old = dr->cfg;
	int i;

	apply_rows(c);
	dr->cfg = c;
	dr->generation++;
	for (i = 0; i < dr->nworkers; i++)
		worker_set_config(dr->workers[i], c);
	if (dr->health != NULL)
		health_sync(dr->health, c);
	config_unref(old);
	route_cache_gc(dr->rc);
}

int
state_load(char *err, size_t errlen)
{
	if ((dr->cfg = config_build(dr->db, NULL, dr->rc, err, errlen)) == NULL)
		return -1;
	apply_rows(dr->cfg);
	return 0;
}

/*
 * state: the daemon's shared state and how a new snapshot is made current
 * everywhere.  Apart from main() so that tests and fuzzers can drive the
 * command handlers without starting a daemon.
 */
#include "dnsrouted.h"
#include "health.h"
#include "worker.h"

struct dnsrouted *dr;

static void
note_admin(struct backend *b, int from, int to)
{
	/* health_note logs it and keeps it in the history. */
	health_note(dr->health, b, words_name(&words_admin, from),
	    words_name(&words_admin, to), "operator");
}

void
dr_publish(struct config *c)
{
	struct config *old = dr->cfg;
	int i;

	config_apply(c, dr->health != NULL ? note_admin : NULL);
	dr->cfg = c;
	dr->generation++;
	for (i = 0; i < dr->nworkers; i++)
		worker_set_config(dr->workers[i], c);
	if (dr->health != NULL)
		health_sync(dr->health, c);
	config_unref(old);
	route_cache_gc(dr->rc);
}


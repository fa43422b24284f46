/*
 * hits: saving route hit counters (see hits.h).
 */
#include <stdlib.h>

#include "config.h"
#include "db.h"
#include "hits.h"
#include "log.h"
#include "state.h"
#include "util.h"

static struct event *tick;

int
hits_save(void)
{
	struct config *c = dr->cfg;
	static struct log_limit ll;
	uint64_t *now;
	int i, n = 0, rc = 0;

	if (c == NULL || db_in_transaction(dr->db))
		return 0;
	now = xcalloc(c->nroutes + 1, sizeof(*now));
	for (i = 0; i < c->nroutes; i++) {
		now[i] = route_hits_count(c->routes[i].hits);
		n += now[i] != c->routes[i].hits->saved;
	}
	if (n > 0) {
		rc = db_begin(dr->db);
		for (i = 0; rc == 0 && i < c->nroutes; i++)
			if (now[i] != c->routes[i].hits->saved)
				rc = db_route_hits_set(dr->db, c->routes[i].id,
				    (int64_t)now[i]);
		if (rc == 0)
			rc = db_commit(dr->db);
		if (rc != 0) {
			if (log_allow(&ll))
				log_warnx("saving route hit counts: %s",
				    db_errmsg(dr->db));
			db_rollback(dr->db);
		} else
			for (i = 0; i < c->nroutes; i++)
				c->routes[i].hits->saved = now[i];
	}
	free(now);
	return rc == 0 ? 0 : -1;
}

static void
tick_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct timeval tv = { HITS_SAVE_SECONDS, 0 };

	(void)fd;
	(void)ev;
	(void)arg;
	hits_save();
	evtimer_add(tick, &tv);
}

void
hits_start(struct event_base *base)
{
	struct timeval tv = { HITS_SAVE_SECONDS, 0 };

	if ((tick = evtimer_new(base, tick_cb, NULL)) == NULL)
		fatalx("evtimer_new failed");
	evtimer_add(tick, &tv);
}

void
hits_stop(void)
{
	if (tick != NULL)
		event_free(tick);
	tick = NULL;
	hits_save();
}

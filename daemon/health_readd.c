/*
 * health_readd: `backend readd` requests (see health.h).
 *
 * A request waits on the checks of the backends it asked for: one in
 * flight answers it, otherwise one starts now.  Its done() is called once
 * per backend as each check ends, then once with no backend; a request
 * whose client has left stays until its checks end, with no callback.
 */
#include <sys/queue.h>

#include <stdlib.h>

#include "health_int.h"
#include "util.h"

/* Answer every readd waiting on this check.  The list is taken first: a
 * callback may start another readd of the same backend. */
void
hreadd_done(struct hcheck *hc, int ok, const char *detail)
{
	struct health *h = hc->h;
	struct readd **w = hc->waiters, *r;
	int i, n = hc->nwaiters;

	hc->waiters = NULL;
	hc->nwaiters = hc->capwaiters = 0;
	for (i = 0; i < n; i++) {
		r = w[i];
		if (r->cb != NULL)
			r->cb(r->arg, hc->b, ok, detail);
		if (--r->pending == 0) {
			if (r->cb != NULL)
				r->cb(r->arg, NULL, 0, NULL);
			TAILQ_REMOVE(&h->readds, r, entry);
			free(r);
		}
	}
	free(w);
}

static void
waiter_add(struct hcheck *hc, struct readd *r)
{
	if (hc->nwaiters == hc->capwaiters) {
		hc->capwaiters = hc->capwaiters ? hc->capwaiters * 2 : 4;
		hc->waiters = xrealloc(hc->waiters,
		    hc->capwaiters * sizeof(*hc->waiters));
	}
	hc->waiters[hc->nwaiters++] = r;
	r->pending++;
}

int
health_readd(struct health *h, struct backend *b, health_done_cb cb,
    void *arg)
{
	struct hcheck *hc;
	struct readd *r;

	r = xcalloc(1, sizeof(*r));
	r->cb = cb;
	r->arg = arg;
	TAILQ_INSERT_TAIL(&h->readds, r, entry);
	TAILQ_FOREACH(hc, &h->checks, entry) {
		if (b != NULL ? hc->b != b :
		    atomic_load(&hc->b->health) == HEALTH_UP)
			continue;
		if (hc->idle ||
		    atomic_load(&hc->b->admin) == ADMIN_DISABLED)
			continue;
		waiter_add(hc, r);
		/* A check in flight answers this readd too; otherwise one
		 * starts now and the regular one moves to an interval on. */
		if (!hc->running) {
			hcheck_timer_arm(hc);
			hcheck_start(hc);
		}
	}
	if (r->pending == 0) {
		TAILQ_REMOVE(&h->readds, r, entry);
		free(r);
		return 0;
	}
	return r->pending;
}

void
health_cancel(struct health *h, void *arg)
{
	struct readd *r;

	TAILQ_FOREACH(r, &h->readds, entry)
		if (r->arg == arg)
			r->cb = NULL;
}

/* health_free: pending done() calls are dropped, their clients go too. */
void
hreadd_free_all(struct health *h)
{
	struct readd *r;

	while ((r = TAILQ_FIRST(&h->readds)) != NULL) {
		TAILQ_REMOVE(&h->readds, r, entry);
		free(r);
	}
}

/*
 * health: the health checks' schedule and the backends' health (see
 * health.h; the other files of the module in health_int.h).
 *
 * Everything here runs on the main thread's event base, which also owns
 * the database connection and the configuration; the workers only read
 * b->health and b->admin.  This module is the only writer of b->health,
 * b->check_rtt_us and b->checks_failed.
 *
 * Each backend of the current snapshot has one struct hcheck, which holds
 * a reference to it: a periodic timer, the check query (health_probe.c),
 * and at most one check in flight, so checks never overlap; a tick that
 * finds a check still running marks the next one due as soon as it ends.
 * The timers of a duration share one libevent queue (common timeouts),
 * and first checks are spread over 10 ms slots so that backends come due
 * a few at a time, each group in one wake-up.  Consecutive results drive
 * the state machine (health_state.c):
 * unknown -> up or down on the first check (unknown gets no queries, so
 * there is nothing to protect by waiting), up -> down after `fall` bad
 * ones, down -> up after `rise` good ones.
 *
 * Whatever ends a check (answer, error, timeout, the backend disabled or
 * removed) ends it through the event loop, never inside the call that
 * started or stopped it, so a readd's done() is always called "later" and
 * an hcheck is never freed under a callback that is using it: removed ones
 * wait on a dying list until their timeout event reaps them.
 */
#include <sys/queue.h>

#include <stdint.h>
#include <stdlib.h>

#include <event2/event.h>

#include "health_int.h"
#include "log.h"
#include "util.h"

#define INTERVAL_MIN_MS		10
#define INTERVAL_MAX_MS		(24 * 3600 * 1000)
#define TIMEOUT_MAX_MS		(3600 * 1000)
/* First checks are spread over whole slots of this, so that backends
 * come due together, a few to a wake-up, rather than one each. */
#define SPREAD_SLOT_MS		10

static void
set_health(struct hcheck *hc, int to, int ok, int rtt_us, const char *reason)
{
	struct backend *b = hc->b;
	int from = atomic_load(&b->health);

	if (from == to)
		return;
	atomic_store(&b->health, to);
	hhist_push(hc->h, b, ok, words_name(&words_health, from),
	    words_name(&words_health, to), rtt_us, reason);
	if (to == HEALTH_DOWN)
		log_warnx("backend %s (%s) is down: %s", b->name, b->addr_text,
		    reason);
	else if (to == HEALTH_UP)
		log_info("backend %s (%s) is up: %s", b->name, b->addr_text,
		    reason);
	else
		log_info("backend %s (%s) health is unknown: %s", b->name,
		    b->addr_text, reason);
}

static int
clamp(int v, int lo, int hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

/* ms as a timer's duration: one of libevent's common timeouts for the
 * few durations backends use (intervals, timeouts), which keeps the
 * timers of a duration in a queue with only its head in the heap, so a
 * thousand backends' timers cost a list insertion each, not a heap
 * operation; a plain duration past COMMON_MAX of them. */
struct timeval
health_duration(struct health *h, int ms)
{
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };
	const struct timeval *ct;
	int i;

	for (i = 0; i < h->ncommon; i++)
		if (h->common_ms[i] == ms)
			return *h->common[i];
	if (h->ncommon == COMMON_MAX ||
	    (ct = event_base_init_common_timeout(h->base, &tv)) == NULL)
		return tv;
	h->common_ms[h->ncommon] = ms;
	h->common[h->ncommon++] = ct;
	return *ct;
}

void
hcheck_timer_arm(struct hcheck *hc)
{
	struct timeval tv;

	hc->interval_ms = clamp(hc->b->conf.interval_ms, INTERVAL_MIN_MS,
	    INTERVAL_MAX_MS);
	tv = health_duration(hc->h, hc->interval_ms);
	evtimer_add(hc->timer, &tv);
}

/* After the first check of a newly seen backend, the next comes at a
 * random point of the second half of the interval: backends seen together
 * (all of them at start-up) are not all checked in the same instant ever
 * after, and no wait gets longer than `interval`. */
static void
timer_spread(struct hcheck *hc)
{
	struct timeval tv;
	int ms;

	ms = hc->interval_ms / 2 + (int)arc4random_uniform(
	    (uint32_t)(hc->interval_ms - hc->interval_ms / 2) + 1);
	if (ms > SPREAD_SLOT_MS)
		ms -= ms % SPREAD_SLOT_MS;
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	evtimer_add(hc->timer, &tv);
}

/* Stop the check in flight without a result: its backend is disabled or
 * gone, and saying "down" about it would be a lie. */
static void
abort_check(struct hcheck *hc, const char *why)
{
	hhost_unqueue(hc);
	snprintf(hc->fail, sizeof(hc->fail), "%s", why);
	hc->aborted = 1;
	hprobe_end_later(hc);
}

/* A check is due: now, or when its host has a slot free. */
void
hcheck_start(struct hcheck *hc)
{
	hc->running = 1;
	hc->due = 0;
	if (!hhost_queue(hc))
		hcheck_go(hc);
}

/* Send the check, with its slot taken and its timeout running. */
void
hcheck_go(struct hcheck *hc)
{
	const struct backend_conf *c = &hc->b->conf;
	struct timeval tv;
	int tmo;

	hhost_take(hc);
	hc->failed = 0;
	hc->aborted = 0;
	hc->soft_err = NULL;
	hc->start_us = now_us();
	hc->tcp = c->check_tcp != 0;
	tmo = clamp(c->timeout_ms, 1, TIMEOUT_MAX_MS);
	tv = health_duration(hc->h, tmo);
	evtimer_add(hc->tmo, &tv);
	hprobe_send(hc);
}

/* The check ended with a result: count it, move the state, answer readd. */
void
hcheck_finish(struct hcheck *hc, int ok, int rtt_us, const char *detail)
{
	struct backend *b = hc->b;
	char reason[DETAIL_MAX + 64], done[DETAIL_MAX + 32];
	int cur, to, why, inrow;

	hprobe_close(hc);
	evtimer_del(hc->tmo);
	hhost_release(hc);
	hc->running = 0;
	hc->failed = 0;

	atomic_store(&b->check_rtt_us, ok ? rtt_us : -1);
	if (!ok)
		atomic_fetch_add_explicit(&b->checks_failed, 1,
		    memory_order_relaxed);
	hhist_push(hc->h, b, ok, NULL, NULL, rtt_us, detail);
	if (rtt_us >= 0)
		log_debug("backend %s (%s) check %s: %s, %d us", b->name,
		    b->addr_text, ok ? "good" : "bad", detail, rtt_us);
	else	/* no answer: no round trip to tell */
		log_debug("backend %s (%s) check %s: %s", b->name,
		    b->addr_text, ok ? "good" : "bad", detail);

	if (ok)
		snprintf(done, sizeof(done), "%s in %d us", detail, rtt_us);
	else
		snprintf(done, sizeof(done), "%s", detail);
	cur = atomic_load(&b->health);
	to = hstate_check(&hc->hs, cur, ok, b->conf.fall, b->conf.rise,
	    hc->nwaiters > 0, &why, &inrow);
	if (to != cur) {
		if (why == HSTATE_READD)
			snprintf(reason, sizeof(reason), "readd, %s", done);
		else if (why == HSTATE_FIRST)
			snprintf(reason, sizeof(reason), "%s (first check)",
			    done);
		else
			snprintf(reason, sizeof(reason), "%s (%d %s%s)", done,
			    inrow, ok ? "success" : "failure",
			    inrow == 1 ? "" : ok ? "es" : "s");
		set_health(hc, to, ok, rtt_us, reason);
	}
	if (hc->nwaiters > 0)
		hreadd_done(hc, ok, done);
	/* A callback may have started a check, or health_sync() may have
	 * removed or disabled this backend meanwhile. */
	if (hc->due && !hc->running && !hc->idle && !hc->dying)
		hcheck_start(hc);
}

static void
hcheck_free(struct hcheck *hc)
{
	hprobe_close(hc);
	hhost_unqueue(hc);
	hhost_release(hc);
	hhost_unref(hc->host);
	event_free(hc->timer);
	event_free(hc->tmo);
	free(hc->waiters);
	backend_unref(hc->b);
	free(hc);
}

/* The check's timeout, and every early end (see end_later). */
static void
tmo_cb(evutil_socket_t fd, short what, void *arg)
{
	struct hcheck *hc = arg;
	struct health *h = hc->h;

	(void)fd;
	(void)what;
	if (hc->dying) {
		hc->running = 0;
		hprobe_close(hc);
		hhost_release(hc);
		if (hc->nwaiters > 0)
			hreadd_done(hc, 0, "backend removed");
		TAILQ_REMOVE(&h->dying, hc, entry);
		hcheck_free(hc);
		return;
	}
	if (hc->aborted) {
		hc->running = 0;
		hc->aborted = 0;
		hhost_release(hc);
		/* Enabled again before the abort came through: the readds
		 * waiting ride on the fresh check instead of failing. */
		if (!hc->idle)
			hcheck_start(hc);
		else if (hc->nwaiters > 0)
			hreadd_done(hc, 0, hc->fail);
		return;
	}
	if (!hc->running)
		return;
	if (hc->failed)
		hcheck_finish(hc, 0, -1, hc->fail);
	else
		hcheck_finish(hc, 0, -1, hc->soft_err ? hc->soft_err :
		    "timeout");
}

/* Disabled: no checks, and its health means nothing until enabled. */
static void
go_idle(struct hcheck *hc)
{
	if (hc->idle)
		return;
	hc->idle = 1;
	hc->due = 0;
	if (hc->running && !hc->aborted)
		abort_check(hc, "backend disabled");
	set_health(hc, hstate_disabled(&hc->hs), 1, -1, "disabled");
}

/* A timer tick, or a backend seen (again) for the first time: check now.
 * The timer keeps ticking while disabled so an enable made without a
 * health_sync() is still noticed. */
static void
check_tick(struct hcheck *hc)
{
	hcheck_timer_arm(hc);
	if (atomic_load(&hc->b->admin) == ADMIN_DISABLED) {
		go_idle(hc);
		return;
	}
	if (hc->idle) {
		hc->idle = 0;
		hstate_enabled(&hc->hs);
	}
	if (hc->running)
		hc->due = 1;
	else
		hcheck_start(hc);
}

static void
timer_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	check_tick(arg);
}

static struct hcheck *
hcheck_new(struct health *h, struct backend *b)
{
	struct hcheck *hc;

	hc = xcalloc(1, sizeof(*hc));
	hc->h = h;
	hc->b = b;
	backend_ref(b);
	hc->host = hhost_get(h, b);
	hc->fd = -1;
	if ((hc->timer = evtimer_new(h->base, timer_cb, hc)) == NULL ||
	    (hc->tmo = evtimer_new(h->base, tmo_cb, hc)) == NULL)
		fatalx("health: cannot create timers");
	return hc;
}

static int
cmp_by_backend(const void *a, const void *b)
{
	uintptr_t x = (uintptr_t)(*(struct hcheck *const *)a)->b;
	uintptr_t y = (uintptr_t)(*(struct hcheck *const *)b)->b;

	return (x > y) - (x < y);
}

/* The check of b among n sorted by backend, or NULL. */
static struct hcheck *
hcheck_find(struct hcheck **sorted, size_t n, const struct backend *b)
{
	struct hcheck key, *kp = &key, **hp;

	key.b = (struct backend *)(uintptr_t)b;
	hp = bsearch(&kp, sorted, n, sizeof(*sorted), cmp_by_backend);
	return hp != NULL ? *hp : NULL;
}

struct health *
health_new(struct event_base *base, struct db *db)
{
	struct health *h;

	h = xcalloc(1, sizeof(*h));
	h->base = base;
	h->db = db;
	TAILQ_INIT(&h->checks);
	TAILQ_INIT(&h->dying);
	TAILQ_INIT(&h->readds);
	hhist_start(h);
	return h;
}

void
health_sync(struct health *h, const struct config *c)
{
	struct hcheck *hc, *next, **sorted;
	struct backend *b;
	struct timeval zero = { 0, 0 };
	size_t n = 0;
	int i;

	/* Prune at the first flush (a daemon restarted often must not let
	 * the table grow either) and at the next after a new retention, so
	 * an operator lowering it sees it take effect at once. */
	if (!h->have_config || h->retention != c->set.health_retention)
		h->prune_now = 1;
	h->have_config = 1;
	h->retention = c->set.health_retention;
	/* Sorted, so that thousands of backends are matched in n log n. */
	TAILQ_FOREACH(hc, &h->checks, entry)
		n++;
	sorted = xcalloc(n + 1, sizeof(*sorted));
	n = 0;
	TAILQ_FOREACH(hc, &h->checks, entry) {
		hc->seen = 0;
		sorted[n++] = hc;
	}
	qsort(sorted, n, sizeof(*sorted), cmp_by_backend);
	for (i = 0; i < c->nbackends; i++) {
		b = c->backends[i];
		if ((hc = hcheck_find(sorted, n, b)) == NULL) {
			hc = hcheck_new(h, b);
			TAILQ_INSERT_TAIL(&h->checks, hc, entry);
			hc->seen = 1;
			check_tick(hc);
			timer_spread(hc);
			continue;
		}
		hc->seen = 1;
		if (atomic_load(&b->admin) == ADMIN_DISABLED)
			go_idle(hc);
		else if (hc->idle)
			check_tick(hc);
		else if (hc->interval_ms != clamp(b->conf.interval_ms,
		    INTERVAL_MIN_MS, INTERVAL_MAX_MS))
			hcheck_timer_arm(hc);
		/* A changed query is rebuilt when the next check starts:
		 * the one in flight still matches answers against the old. */
	}
	for (hc = TAILQ_FIRST(&h->checks); hc != NULL; hc = next) {
		next = TAILQ_NEXT(hc, entry);
		if (hc->seen)
			continue;
		TAILQ_REMOVE(&h->checks, hc, entry);
		TAILQ_INSERT_TAIL(&h->dying, hc, entry);
		hc->dying = 1;
		evtimer_del(hc->timer);
		hhost_unqueue(hc);
		hprobe_close(hc);
		evtimer_add(hc->tmo, &zero);
		/* Same id with a new address is a new struct backend but
		 * the same row: keep its history. */
		if (config_backend_id(c, hc->b->id) == NULL)
			hhist_purge(h, hc->b->id);
	}
	free(sorted);
}

void
health_free(struct health *h)
{
	struct hcheck *hc;

	if (h == NULL)
		return;
	/* Pending done() calls are dropped: their clients go too. */
	while ((hc = TAILQ_FIRST(&h->checks)) != NULL) {
		TAILQ_REMOVE(&h->checks, hc, entry);
		hcheck_free(hc);
	}
	while ((hc = TAILQ_FIRST(&h->dying)) != NULL) {
		TAILQ_REMOVE(&h->dying, hc, entry);
		hcheck_free(hc);
	}
	hreadd_free_all(h);
	hhist_end(h);
	free(h);
}

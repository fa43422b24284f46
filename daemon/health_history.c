/*
 * health_history: the health history (see health.h, health_int.h).
 *
 * Every check result and every state change is an event row.  Rows are
 * buffered and written once a second in one transaction (without waiting
 * for the disk: see db_health_add), never while an operator holds an
 * explicit transaction on the same connection.  When the
 * database cannot take them (disk full) they are kept and retried; the
 * buffer is bounded, and plain check rows go before transitions do.  The
 * history is pruned to the retention a slice of the backends a flush, each
 * about once a minute (all at once held the main thread for seconds with
 * a thousand backends).
 */
#include <sys/queue.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "db.h"
#include "health_int.h"
#include "log.h"
#include "util.h"

#define FLUSH_INTERVAL_MS	1000
#define PRUNE_INTERVAL_MS	(60 * 1000)
#define FAIL_LOG_INTERVAL_US	(60 * 1000000ULL)
/* Rows kept while the database does not take them.  Past EVBUF_CAP plain
 * check rows are dropped; transitions still go in up to EVBUF_HARD_CAP,
 * a ceiling only a long outage with flapping backends reaches, where even
 * they give way so the daemon's memory stays bounded. */
#define EVBUF_CAP		10000
#define EVBUF_HARD_CAP		(10 * EVBUF_CAP)

/* Free room among the oldest plain check rows: a tenth of the cap at a
 * time, so a full buffer costs one pass per EVBUF_CAP / 10 rows. */
static void
make_room(struct health *h)
{
	size_t i, j, want = EVBUF_CAP / 10, n = 0;

	for (i = j = 0; i < h->nev; i++) {
		if (n < want && !h->ev[i].transition) {
			n++;
			continue;
		}
		if (i != j)
			h->ev[j] = h->ev[i];
		j++;
	}
	h->nev = j;
	h->dropped += n;
}

void
hhist_push(struct health *h, const struct backend *b, int ok,
    const char *from, const char *to, int rtt_us, const char *detail)
{
	struct hevent *e;
	int transition = from != NULL && to != NULL;

	if (h->nev >= EVBUF_CAP)
		make_room(h);
	if (h->nev >= EVBUF_CAP && !transition) {
		h->dropped++;
		return;
	}
	if (h->nev >= EVBUF_HARD_CAP) {
		memmove(h->ev, h->ev + 1, (h->nev - 1) * sizeof(*h->ev));
		h->nev--;
		h->dropped++;
	}
	if (h->nev == h->capev) {
		h->capev = h->capev ? h->capev * 2 : 64;
		if (h->capev > EVBUF_HARD_CAP)
			h->capev = EVBUF_HARD_CAP;
		h->ev = xrealloc(h->ev, h->capev * sizeof(*h->ev));
	}
	e = &h->ev[h->nev++];
	memset(e, 0, sizeof(*e));
	e->backend_id = b->id;
	e->time_us = wall_us();
	e->ok = ok != 0;
	e->rtt_us = rtt_us < 0 ? -1 : rtt_us;
	e->transition = transition;
	if (transition) {
		snprintf(e->from, sizeof(e->from), "%s", from);
		snprintf(e->to, sizeof(e->to), "%s", to);
	}
	snprintf(e->detail, sizeof(e->detail), "%s", detail ? detail : "");
}

/* The backend is gone from the snapshot, hence maybe from the database:
 * its rows belong to nobody (the insert drops such rows; a backend is
 * either a backend row or, registered through etcd, a registration). */
void
hhist_purge(struct health *h, int64_t backend_id)
{
	size_t i, j;

	for (i = j = 0; i < h->nev; i++) {
		if (h->ev[i].backend_id == backend_id)
			continue;
		if (i != j)
			h->ev[j] = h->ev[i];
		j++;
	}
	h->nev = j;
}

/* Say at most once a minute that writing fails, with how often. */
static void
flush_failed(struct health *h, const char *what, const char *why)
{
	uint64_t now = now_us();

	h->failing = 1;
	h->fail_count++;
	if (h->last_fail_log_us != 0 &&
	    now - h->last_fail_log_us < FAIL_LOG_INTERVAL_US)
		return;
	h->last_fail_log_us = now;
	log_warnx("health: cannot %s: %s (%lu failure%s; %zu rows kept, "
	    "%lu dropped)", what, why, h->fail_count,
	    h->fail_count == 1 ? "" : "s", h->nev, h->dropped);
	h->fail_count = 0;
	h->dropped = 0;
}

/* The next backends' history, so that each comes round once every
 * PRUNE_INTERVAL_MS: a slice a flush rather than all at once, which with
 * thousands of backends held the main thread for a quarter of a second. */
static int
prune_slice(struct health *h)
{
	struct hcheck *hc;
	int64_t *ids;
	size_t n = 0, per, i = 0, k = 0;
	int rc;

	TAILQ_FOREACH(hc, &h->checks, entry)
		n++;
	/* n backends a minute: n / 60 a flush, in thousandths. */
	h->prune_credit += n * FLUSH_INTERVAL_MS;
	if ((per = h->prune_credit / PRUNE_INTERVAL_MS) == 0)
		return 0;
	h->prune_credit -= per * PRUNE_INTERVAL_MS;
	if (h->prune_pos >= n)
		h->prune_pos = 0;
	ids = xcalloc(per, sizeof(*ids));
	TAILQ_FOREACH(hc, &h->checks, entry) {
		if (i++ < h->prune_pos)
			continue;
		if (k == per)
			break;
		ids[k++] = hc->b->id;
	}
	rc = db_health_prune(h->db, h->retention, ids, k);
	free(ids);
	if (rc == 0)
		h->prune_pos += k;
	return rc;
}

void
health_flush(struct health *h)
{
	struct db_health_event *rows;
	char why[256];
	size_t i, n;

	if (h == NULL || db_in_transaction(h->db))
		return;
	if ((n = h->nev) > 0) {
		rows = xcalloc(n, sizeof(*rows));
		for (i = 0; i < n; i++) {
			rows[i].backend_id = h->ev[i].backend_id;
			rows[i].time_us = h->ev[i].time_us;
			rows[i].ok = h->ev[i].ok;
			rows[i].from_state = h->ev[i].transition ?
			    h->ev[i].from : NULL;
			rows[i].to_state = h->ev[i].transition ?
			    h->ev[i].to : NULL;
			rows[i].rtt_us = h->ev[i].rtt_us;
			rows[i].detail = h->ev[i].detail;
		}
		/* Its own transaction (see db_health_add). */
		if (db_health_add(h->db, rows, n) == -1) {
			snprintf(why, sizeof(why), "%s", db_errmsg(h->db));
			free(rows);
			flush_failed(h, "write health events", why);
			return;
		}
		free(rows);
		h->nev = 0;
		if (h->failing)
			log_info("health: events written again (%zu rows)", n);
		if (h->dropped > 0)
			log_warnx("health: %lu event rows were dropped while "
			    "they could not be written", h->dropped);
		h->failing = 0;
		h->fail_count = 0;
		h->dropped = 0;
	}
	if (!h->have_config || h->retention <= 0)
		return;
	if ((h->prune_now ? db_health_prune(h->db, h->retention, NULL, 0) :
	    prune_slice(h)) == -1) {
		flush_failed(h, "prune health events", db_errmsg(h->db));
		return;
	}
	h->prune_now = 0;
}

static void
flush_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	health_flush(arg);
}

/* The flush timer, from health_new. */
void
hhist_start(struct health *h)
{
	struct timeval tv = { FLUSH_INTERVAL_MS / 1000,
	    (FLUSH_INTERVAL_MS % 1000) * 1000 };

	if ((h->flush_ev = event_new(h->base, -1, EV_PERSIST, flush_cb, h)) ==
	    NULL || event_add(h->flush_ev, &tv) == -1)
		fatalx("health: cannot create the flush timer");
}

/* The last flush, from health_free: what cannot be written is said. */
void
hhist_end(struct health *h)
{
	event_free(h->flush_ev);
	health_flush(h);
	if (h->nev > 0)
		log_warnx("health: %zu event rows not written", h->nev);
	free(h->ev);
}

void
health_note(struct health *h, struct backend *b, const char *from,
    const char *to, const char *reason)
{
	struct hcheck *hc;
	int known = !h->have_config;

	/* A row for a backend the snapshot no longer has may name a deleted
	 * row, which nobody would read. */
	TAILQ_FOREACH(hc, &h->checks, entry)
		if (hc->b->id == b->id)
			known = 1;
	if (known)
		hhist_push(h, b, 1, from, to, -1, reason);
	log_info("backend %s (%s) is %s (was %s): %s", b->name, b->addr_text,
	    to, from, reason);
}


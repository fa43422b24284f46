/*
 * registry: registrations from etcd into the store and the snapshot (see
 * registry.h).
 *
 * What arrives from etcd becomes a list of pending operations: after a full
 * read, the whole set (everything else stored goes); after a watch batch,
 * puts and deletes in revision order.  Whatever is pending is applied in
 * one transaction, one rebuild and one publish, from an event of its own:
 * so a batch of a thousand registrations is one table swap, and a change
 * never lands inside an operator's explicit transaction (it waits for it to
 * end).  When the store refuses (full disk) the operations stay pending and
 * are retried every second; the snapshot keeps serving what it had.
 *
 * Malformed values are counted and logged once per key and revision (at
 * most MALFORMED_LOG_MAX lines per batch, then one line with the rest), and
 * take away whatever registration the key had before: the key's current
 * value is what counts, and it says nothing usable.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "fleet.h"
#include "log.h"
#include "registry.h"
#include "route.h"
#include "state.h"
#include "util.h"

#define APPLY_RETRY_MS		1000
#define APPLY_WAIT_TXN_MS	100
#define MALFORMED_LOG_MAX	10
#define STATE_REVISION		"registration-revision"
#define STATE_PREFIX		"registration-prefix"

/* A sorted set of keys, each with the mod_revision it was seen at. */
struct keyset {
	struct kentry {
		char	*key;
		int64_t	 mod;
		char	*why;		/* malformed: the reason */
	}		*v;
	size_t		 n, cap;
};

struct pend {
	int		 del;
	char		*key;
	char		 name[CONF_NAME_MAX];
	char		 addr[CONF_ADDR_MAX];
	char		*pattern;	/* NULL: keep what is stored */
	int64_t		 create_revision, mod_revision, lease;
};

struct registry {
	struct event_base	*base;
	struct etcd		*etcd;
	struct etcd_sync	*sync;
	char			*prefix;
	/* Pending: ops[0..nreset) is a whole set when reset, then changes. */
	struct pend		*ops;
	size_t			 nops, capops;
	int			 reset;
	size_t			 nreset;
	int64_t			 pending_rev;
	int64_t			 pending_since_us;
	struct event		*apply_ev;
	int			 logged_fail;
	/* What the store holds (key, mod_revision), and what is malformed. */
	struct keyset		 known;
	struct keyset		 bad;
	int			 logged_bad;	/* in this batch */
	/* Status. */
	int64_t			 revision;
	uint64_t		 malformed_total;
	uint64_t		 applied;
	int64_t			 applied_us;
	char			 last_error[512];
};

/* ---- key sets ---- */

static int
kcmp(const void *a, const void *b)
{
	return strcmp(((const struct kentry *)a)->key,
	    ((const struct kentry *)b)->key);
}

static struct kentry *
ks_find(const struct keyset *ks, const char *key)
{
	struct kentry k = { (char *)key, 0, NULL };

	if (ks->n == 0)
		return NULL;
	return bsearch(&k, ks->v, ks->n, sizeof(*ks->v), kcmp);
}

static void
ks_clear(struct keyset *ks)
{
	size_t i;

	for (i = 0; i < ks->n; i++) {
		free(ks->v[i].key);
		free(ks->v[i].why);
	}
	free(ks->v);
	memset(ks, 0, sizeof(*ks));
}

/* Insert or update; returns the entry. */
static struct kentry *
ks_set(struct keyset *ks, const char *key, int64_t mod)
{
	struct kentry *e;
	size_t lo = 0, hi = ks->n, mid;
	int c;

	while (lo < hi) {
		mid = (lo + hi) / 2;
		if ((c = strcmp(ks->v[mid].key, key)) == 0) {
			ks->v[mid].mod = mod;
			return &ks->v[mid];
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (ks->n == ks->cap) {
		ks->cap = ks->cap ? ks->cap * 2 : 16;
		ks->v = xrealloc(ks->v, ks->cap * sizeof(*ks->v));
	}
	memmove(&ks->v[lo + 1], &ks->v[lo], (ks->n - lo) * sizeof(*ks->v));
	ks->n++;
	e = &ks->v[lo];
	e->key = xstrdup(key);
	e->mod = mod;
	e->why = NULL;
	return e;
}

static void
ks_del(struct keyset *ks, const char *key)
{
	struct kentry *e = ks_find(ks, key);
	size_t i;

	if (e == NULL)
		return;
	i = (size_t)(e - ks->v);
	free(e->key);
	free(e->why);
	memmove(&ks->v[i], &ks->v[i + 1], (ks->n - i - 1) * sizeof(*ks->v));
	ks->n--;
}

/* ---- pending operations ---- */

static void
pend_clear(struct registry *g)
{
	size_t i;

	for (i = 0; i < g->nops; i++) {
		free(g->ops[i].key);
		free(g->ops[i].pattern);
	}
	g->nops = 0;
	g->nreset = 0;
	g->reset = 0;
}

static struct pend *
pend_add(struct registry *g, const char *key, int del)
{
	struct pend *p;

	if (g->nops == g->capops) {
		g->capops = g->capops ? g->capops * 2 : 16;
		g->ops = xrealloc(g->ops, g->capops * sizeof(*g->ops));
	}
	p = &g->ops[g->nops++];
	memset(p, 0, sizeof(*p));
	p->key = xstrdup(key);
	p->del = del;
	return p;
}

static void
schedule_apply(struct registry *g, int delay_ms)
{
	struct timeval tv = { delay_ms / 1000, (delay_ms % 1000) * 1000 };

	evtimer_add(g->apply_ev, &tv);
}

/* A value from etcd: a pending put, or a malformed one (counted, logged
 * once for this revision of the key, and a pending delete). */
static void
take_value(struct registry *g, const struct etcd_kv *kv)
{
	struct reg_value v;
	struct kentry *b, *k;
	struct pend *p;
	char err[512];
	uint32_t limit = dr->cfg != NULL ? dr->cfg->set.match_limit : 10000;

	/* Read again after a reconnect: what is stored, or known to be
	 * malformed, at this very revision needs no second look (a regex is
	 * compiled and probed once, not at every reconnect). */
	if ((k = ks_find(&g->known, kv->key)) != NULL &&
	    k->mod == kv->mod_revision) {
		pend_add(g, kv->key, 0)->mod_revision = kv->mod_revision;
		return;
	}
	if ((b = ks_find(&g->bad, kv->key)) != NULL &&
	    b->mod == kv->mod_revision) {
		pend_add(g, kv->key, 1);
		return;
	}
	if (reg_parse(g->prefix, kv->key, kv->keylen, kv->value, kv->vallen,
	    &v, err, sizeof(err)) == 0 &&
	    route_check_pattern(v.pattern, limit, err, sizeof(err)) == 0) {
		ks_del(&g->bad, kv->key);
		p = pend_add(g, kv->key, 0);
		memcpy(p->name, v.name, sizeof(p->name));
		memcpy(p->addr, v.addr, sizeof(p->addr));
		p->pattern = xstrdup(v.pattern);
		p->create_revision = kv->create_revision;
		p->mod_revision = kv->mod_revision;
		p->lease = kv->lease;
		return;
	}
	pend_add(g, kv->key, 1);
	b = ks_set(&g->bad, kv->key, kv->mod_revision);
	free(b->why);
	b->why = xstrdup(err);
	g->malformed_total++;
	if (g->logged_bad++ < MALFORMED_LOG_MAX)
		log_warnx("etcd: ignoring registration %s (revision %lld): %s",
		    kv->key, (long long)kv->mod_revision, err);
}

static void
end_batch(struct registry *g, int64_t revision)
{
	if (g->logged_bad > MALFORMED_LOG_MAX)
		log_warnx("etcd: ... and %d more malformed registrations "
		    "(show fleet counts them)", g->logged_bad - MALFORMED_LOG_MAX);
	g->logged_bad = 0;
	g->pending_rev = revision;
	if (g->pending_since_us == 0)
		g->pending_since_us = wall_us();
	schedule_apply(g, 0);
}

static void
on_reset(void *arg, const struct etcd_kv *kvs, size_t n, int64_t revision)
{
	struct registry *g = arg;
	struct keyset old = g->bad;
	struct kentry *b, *nb;
	size_t i;

	pend_clear(g);
	/* Malformed keys that are gone are forgotten; the others keep their
	 * revision, so they are not logged again. */
	memset(&g->bad, 0, sizeof(g->bad));
	for (i = 0; i < n; i++) {
		if ((b = ks_find(&old, kvs[i].key)) != NULL) {
			nb = ks_set(&g->bad, b->key, b->mod);
			nb->why = b->why != NULL ? xstrdup(b->why) : NULL;
		}
		take_value(g, &kvs[i]);
	}
	ks_clear(&old);
	g->reset = 1;
	g->nreset = g->nops;
	end_batch(g, revision);
}

static void
on_update(void *arg, const struct etcd_event *evs, size_t n, int64_t revision)
{
	struct registry *g = arg;
	size_t i;

	for (i = 0; i < n; i++) {
		if (evs[i].type == ETCD_EV_DELETE) {
			ks_del(&g->bad, evs[i].kv.key);
			pend_add(g, evs[i].kv.key, 1);
		} else
			take_value(g, &evs[i].kv);
	}
	end_batch(g, revision);
}

static const struct etcd_sync_ops sync_ops = { on_reset, on_update };

/* ---- applying ---- */

static int
load_known(const struct db_registration *r, void *arg)
{
	ks_set(arg, r->key, r->mod_revision);
	return 0;
}

static int
put_op(struct registry *g, const struct pend *p, int *added, int *changed)
{
	struct db_registration row;
	struct kentry *k = ks_find(&g->known, p->key);

	if ((k != NULL && k->mod == p->mod_revision) || p->pattern == NULL)
		return 0;		/* what the store has already */
	memset(&row, 0, sizeof(row));
	row.key = p->key;
	memcpy(row.name, p->name, sizeof(row.name));
	memcpy(row.addr, p->addr, sizeof(row.addr));
	row.pattern = p->pattern;
	row.create_revision = p->create_revision;
	row.mod_revision = p->mod_revision;
	row.lease = p->lease;
	if (db_reg_put(dr->db, &row) == -1)
		return -1;
	if (k != NULL)
		(*changed)++;
	else
		(*added)++;
	ks_set(&g->known, p->key, p->mod_revision);
	return 0;
}

static int
del_op(struct registry *g, const char *key, int *removed)
{
	int rc;

	if ((rc = db_reg_del(dr->db, key)) == -1)
		return -1;
	if (rc == 0) {
		ks_del(&g->known, key);
		(*removed)++;
	}
	return 0;
}

/* Write the pending operations into the store (inside the caller's
 * transaction), counting what changed.  0 or -1.  g->known follows the
 * writes; after a rollback the caller loads it again. */
static int
apply_ops(struct registry *g, int *added, int *removed, int *changed)
{
	struct keyset wanted;
	size_t i;
	int ret = -1;

	memset(&wanted, 0, sizeof(wanted));
	if (g->reset) {
		/* The whole set: its puts, then whatever it does not have
		 * goes (its deletes are of malformed keys, absent anyway). */
		for (i = 0; i < g->nreset; i++) {
			if (g->ops[i].del)
				continue;
			ks_set(&wanted, g->ops[i].key, 0);
			if (put_op(g, &g->ops[i], added, changed) == -1)
				goto out;
		}
		for (i = 0; i < g->known.n; ) {
			if (ks_find(&wanted, g->known.v[i].key) != NULL)
				i++;
			else if (del_op(g, g->known.v[i].key, removed) == -1)
				goto out;
		}
	}
	for (i = g->reset ? g->nreset : 0; i < g->nops; i++)
		if ((g->ops[i].del ? del_op(g, g->ops[i].key, removed) :
		    put_op(g, &g->ops[i], added, changed)) == -1)
			goto out;
	ret = 0;
out:
	ks_clear(&wanted);
	return ret;
}

static void
load_store(struct registry *g)
{
	ks_clear(&g->known);
	if (db_reg_foreach(dr->db, load_known, &g->known) == -1)
		log_warnx("etcd: cannot read the stored registrations: %s",
		    db_errmsg(dr->db));
}

static void
apply_failed(struct registry *g, const char *what, const char *why)
{
	snprintf(g->last_error, sizeof(g->last_error), "%s: %s", what, why);
	if (!g->logged_fail)
		log_warnx("etcd: cannot apply registrations (%s); retrying "
		    "every %d ms, the previous ones keep serving",
		    g->last_error, APPLY_RETRY_MS);
	g->logged_fail = 1;
	db_rollback(dr->db);
	load_store(g);
	schedule_apply(g, APPLY_RETRY_MS);
}

static void
apply_cb(evutil_socket_t fd, short what, void *arg)
{
	struct registry *g = arg;
	struct config *c;
	char err[512], rev[32];
	int added = 0, removed = 0, changed = 0;

	(void)fd;
	(void)what;
	if (g->nops == 0 && !g->reset)
		return;
	/* An operator's open transaction owns the connection. */
	if (db_in_transaction(dr->db)) {
		schedule_apply(g, APPLY_WAIT_TXN_MS);
		return;
	}
	if (db_begin(dr->db) == -1) {
		apply_failed(g, "begin", db_errmsg(dr->db));
		return;
	}
	snprintf(rev, sizeof(rev), "%lld", (long long)g->pending_rev);
	if (apply_ops(g, &added, &removed, &changed) == -1 ||
	    db_state_set(dr->db, STATE_REVISION, rev) == -1) {
		apply_failed(g, "write", db_errmsg(dr->db));
		return;
	}
	c = NULL;
	if (added + removed + changed > 0 &&
	    (c = state_build(err, sizeof(err))) == NULL) {
		apply_failed(g, "build", err);
		return;
	}
	if (db_commit(dr->db) == -1) {
		config_unref(c);
		apply_failed(g, "commit", db_errmsg(dr->db));
		return;
	}
	if (c != NULL)
		state_publish(c);
	if (g->logged_fail)
		log_info("etcd: registrations applied again");
	g->logged_fail = 0;
	g->last_error[0] = '\0';
	g->revision = g->pending_rev;
	g->pending_since_us = 0;
	fleet_note_applied(dr->fleet, "registrations", g->revision,
	    added + removed + changed > 0);
	if (added + removed + changed > 0) {
		g->applied++;
		g->applied_us = wall_us();
		log_info("etcd: registrations at revision %lld: %d added, %d "
		    "removed, %d changed; %zu in all", (long long)g->revision,
		    added, removed, changed, g->known.n);
	}
	pend_clear(g);
}

/* ---- start, stop, status ---- */

int
registry_prepare_store(struct db *db, const char *prefix, char *err,
    size_t errlen)
{
	char stored[1024];
	int rc, n = 0;

	if ((rc = db_state_get(db, STATE_PREFIX, stored, sizeof(stored))) == -1)
		goto fail;
	if (prefix != NULL && rc == 0 && strcmp(stored, prefix) == 0)
		return 0;
	if (prefix == NULL) {
		if (db_reg_count(db, &n) == -1)
			goto fail;
		if (n == 0)
			return 0;	/* nothing to drop, nothing to write */
	}
	/* A write waits for the verdict of the integrity check that runs
	 * beside the start's first reads (db.c): a corrupt store is left as
	 * it is, and that verdict is the start's error. */
	if (db_check_wait(db, err, errlen) == -1)
		return -1;
	if (db_begin(db) == -1 || db_reg_clear(db, &n) == -1 ||
	    (prefix != NULL && db_state_set(db, STATE_PREFIX, prefix) == -1) ||
	    db_commit(db) == -1) {
		db_rollback(db);
		goto fail;
	}
	if (n > 0)
		log_info("dropped %d stored registration%s (%s)", n,
		    n == 1 ? "" : "s", prefix == NULL ? "no etcd endpoints "
		    "given" : "another registration prefix");
	return 0;
fail:
	snprintf(err, errlen, "stored registrations: %s", db_errmsg(db));
	return -1;
}

struct registry *
registry_new(struct event_base *base, struct etcd *etcd, const char *prefix)
{
	struct registry *g = xcalloc(1, sizeof(*g));
	char rev[32];

	g->base = base;
	g->etcd = etcd;
	g->prefix = xstrdup(prefix);
	g->apply_ev = evtimer_new(base, apply_cb, g);
	load_store(g);
	if (db_state_get(dr->db, STATE_REVISION, rev, sizeof(rev)) == 0)
		g->revision = strtoll(rev, NULL, 10);
	g->sync = etcd_sync_new(etcd, prefix, &sync_ops, g);
	return g;
}

void
registry_free(struct registry *g)
{
	if (g == NULL)
		return;
	etcd_sync_free(g->sync);
	event_free(g->apply_ev);
	pend_clear(g);
	free(g->ops);
	ks_clear(&g->known);
	ks_clear(&g->bad);
	free(g->prefix);
	free(g);
}

void
registry_status(const struct registry *g, struct registry_status *st)
{
	struct etcd_sync_status ss;
	int64_t now = wall_us(), since;
	int i;

	memset(st, 0, sizeof(*st));
	etcd_sync_status(g->sync, &ss);
	st->prefix = g->prefix;
	st->live = ss.live && g->nops == 0 && !g->reset;
	st->revision = g->revision;
	/* Stale since the view stopped being live, or since the oldest
	 * change that is not applied yet. */
	since = 0;
	if (!ss.live)
		since = ss.since_us;
	if (g->pending_since_us != 0 && (since == 0 ||
	    g->pending_since_us < since))
		since = g->pending_since_us;
	st->lag_s = since != 0 && now > since ? (now - since) / 1e6 : 0;
	for (i = 0; i < dr->cfg->nbackends; i++)
		st->registrations += dr->cfg->backends[i]->id < 0;
	for (i = 0; i < dr->cfg->nroutes; i++)
		st->routes += dr->cfg->routes[i].id < 0;
	st->malformed = (int)g->bad.n;
	st->malformed_total = g->malformed_total;
	st->pending = (int)g->nops;
	st->applied = g->applied;
	st->applied_us = g->applied_us;
	st->last_error = g->last_error[0] ? g->last_error : ss.last_error;
}

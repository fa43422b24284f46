/*
 * fleet: publishing this router and mirroring the others (see fleet.h).
 *
 * Publishing is a small state machine driven by request completions and
 * one timer: no lease -> grant -> put the key with it -> keep the lease
 * alive every FLEET_TTL_S / 3 seconds.  A keepalive that says the lease is
 * gone (etcd was away longer than the TTL, or the cluster was replaced)
 * starts over with a new grant.  A change to publish (an applied revision)
 * marks the value dirty; at most one put is in flight, and a dirty value
 * is put again when it returns, at most every PUBLISH_MIN_MS.  Failures
 * are logged once until the next success.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "db.h"
#include "etcd_json.h"
#include "fleet.h"
#include "log.h"
#include "state.h"
#include "util.h"

#define STATE_ROUTER_ID		"router-id"
#define RETRY_MS		1000
/* A router applying a burst of changes publishes the last of them, not
 * each: at most one put of its record this often. */
#define PUBLISH_MIN_MS		250
#define KEEPALIVE_MS		(FLEET_TTL_S * 1000 / 3)
#define ID_MAX			64

struct router {
	char	*id;
	char	 host[256];
	char	 listen[512];
	char	 version[32];
	int64_t	 started_us;
	int64_t	 registrations, registrations_us;
	int64_t	 state, state_us;
	int64_t	 mod_revision;
};

struct fleet {
	struct event_base	*base;
	struct etcd		*etcd;
	char			*prefix;
	char			 id[ID_MAX];
	char			*key;		/* PREFIX routers/ ID */
	char			*routers_prefix;
	char			 host[256];
	char			 listen[512];
	int64_t			 started_us;
	int64_t			 reg_rev, reg_us;
	int64_t			 state_rev, state_us;
	/* Publishing. */
	int64_t			 lease;
	int			 published;
	int			 dirty;
	uint64_t		 put_us;	/* monotonic, the last put */
	uint64_t		 ka_us;		/* ... grant or keepalive */
	struct etcd_req		*req;		/* grant, put or keepalive */
	struct event		*timer;
	int			 failing;
	char			 last_error[512];
	/* The mirror of routers/. */
	struct etcd_sync	*sync;
	struct router		*r;
	size_t			 nr;
	/* fleet_leave */
	int			 leaving;
};

static void	step(struct fleet *);

/* ---- our id ---- */

static void
make_id(struct fleet *f)
{
	char host[256], *p;
	int rc;

	rc = db_state_get(dr->db, STATE_ROUTER_ID, f->id, sizeof(f->id));
	if (rc == 0 && f->id[0] != '\0')
		return;
	if (gethostname(host, sizeof(host)) == -1)
		snprintf(host, sizeof(host), "router");
	host[sizeof(host) - 1] = '\0';
	if ((p = strchr(host, '.')) != NULL)
		*p = '\0';
	for (p = host; *p != '\0'; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || *p == '-'))
			*p = '-';
	snprintf(f->id, sizeof(f->id), "%.40s-%08x", host, arc4random());
	if (db_state_set(dr->db, STATE_ROUTER_ID, f->id) == -1)
		log_warnx("fleet: cannot keep the router id %s: %s", f->id,
		    db_errmsg(dr->db));
}

/* ---- publishing ---- */

static char *
our_value(struct fleet *f)
{
	static const char *const keys[] = { "id", "host", "listen", "version",
	    "started", "registrations", "registrations_applied", "state",
	    "state_applied" };
	char started[32], rev[32], rus[32], srev[32], sus[32];
	const char *vals[9] = { f->id, f->host, f->listen, DNSROUTE_VERSION,
	    started, rev, rus, srev, sus };

	snprintf(started, sizeof(started), "%lld", (long long)f->started_us);
	snprintf(rev, sizeof(rev), "%lld", (long long)f->reg_rev);
	snprintf(rus, sizeof(rus), "%lld", (long long)f->reg_us);
	snprintf(srev, sizeof(srev), "%lld", (long long)f->state_rev);
	snprintf(sus, sizeof(sus), "%lld", (long long)f->state_us);
	return etcd_json_flat(keys, vals, NELEMS(keys));
}

static void
failed(struct fleet *f, const char *what, const char *why)
{
	snprintf(f->last_error, sizeof(f->last_error), "%s: %s", what, why);
	if (!f->failing)
		log_warnx("fleet: %s", f->last_error);
	f->failing = 1;
}

static void
succeeded(struct fleet *f)
{
	if (f->failing)
		log_info("fleet: %s published again", f->key);
	f->failing = 0;
}

static void
later(struct fleet *f, int ms)
{
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

	evtimer_add(f->timer, &tv);
}

static void
put_done(const struct etcd_resp *r, void *arg)
{
	struct fleet *f = arg;

	f->req = NULL;
	if (!r->ok) {
		if (r->code == ETCD_CODE_NOT_FOUND)
			f->lease = 0;		/* "requested lease not found" */
		f->published = 0;
		f->dirty = 1;
		failed(f, "publish", r->error);
		later(f, RETRY_MS);
		return;
	}
	f->published = 1;
	succeeded(f);
	step(f);
}

static void
grant_done(const struct etcd_resp *r, void *arg)
{
	struct fleet *f = arg;

	f->req = NULL;
	if (!r->ok || r->lease_id == 0) {
		failed(f, "lease grant", r->ok ? "no lease id" : r->error);
		later(f, RETRY_MS);
		return;
	}
	f->lease = r->lease_id;
	f->ka_us = now_us();
	f->dirty = 1;
	step(f);
}

static void
keepalive_done(const struct etcd_resp *r, void *arg)
{
	struct fleet *f = arg;

	f->req = NULL;
	if (r->ok && r->ttl <= 0) {
		/* Expired while etcd was away: the key went with it. */
		log_info("fleet: lease of %s expired; publishing again", f->key);
		f->lease = 0;
		f->published = 0;
		step(f);
		return;
	}
	if (!r->ok) {
		failed(f, "lease keepalive", r->error);
		later(f, RETRY_MS);
		return;
	}
	succeeded(f);
	f->ka_us = now_us();
	step(f);
}

/* Do the next thing, unless something is in flight: a lease, its
 * keepalive when due, our record when it changed (or is not there), or
 * wait for the first of those to be due. */
static void
step(struct fleet *f)
{
	uint64_t now = now_us(), ka_due, put_due, due;
	char *v;

	if (f->req != NULL || f->leaving)
		return;
	if (f->lease == 0) {
		f->published = 0;
		f->req = etcd_lease_grant(f->etcd, FLEET_TTL_S, 0, grant_done,
		    f);
		return;
	}
	ka_due = f->ka_us + KEEPALIVE_MS * 1000;
	if (f->published && now >= ka_due) {
		f->req = etcd_lease_keepalive(f->etcd, f->lease,
		    keepalive_done, f);
		return;
	}
	put_due = f->put_us + PUBLISH_MIN_MS * 1000;
	if (!f->published || (f->dirty && now >= put_due)) {
		f->dirty = 0;
		f->put_us = now;
		v = our_value(f);
		f->req = etcd_put(f->etcd, f->key, v, strlen(v), f->lease, 0,
		    put_done, f);
		free(v);
		return;
	}
	due = f->dirty && put_due < ka_due ? put_due : ka_due;
	later(f, (int)((due - now) / 1000) + 1);
}

static void
timer_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	step(arg);
}

void
fleet_note_applied(struct fleet *f, const char *what, int64_t revision,
    int changed)
{
	int64_t *rev, *us;

	if (f == NULL)
		return;
	if (strcmp(what, "state") == 0) {
		rev = &f->state_rev;
		us = &f->state_us;
	} else {
		rev = &f->reg_rev;
		us = &f->reg_us;
	}
	if (revision == *rev && !changed)
		return;
	*rev = revision;
	if (changed)
		*us = wall_us();
	f->dirty = 1;
	step(f);
}

/* ---- the others ---- */

static void
router_clear(struct router *r)
{
	free(r->id);
	memset(r, 0, sizeof(*r));
}

static void
routers_clear(struct fleet *f)
{
	size_t i;

	for (i = 0; i < f->nr; i++)
		router_clear(&f->r[i]);
	free(f->r);
	f->r = NULL;
	f->nr = 0;
}

static int64_t
num(const char *v, size_t n, const char *key)
{
	char buf[32];

	if (etcd_json_flat_get(v, n, key, buf, sizeof(buf)) != 0)
		return 0;
	return strtoll(buf, NULL, 10);
}

/* Put kv (a key under routers/) in the table; a value that is not ours to
 * read still shows the router, with what could be read. */
static void
router_set(struct fleet *f, const struct etcd_kv *kv)
{
	const char *id = kv->key + strlen(f->routers_prefix);
	struct router *r = NULL;
	size_t i;

	if (kv->keylen <= strlen(f->routers_prefix))
		return;
	for (i = 0; i < f->nr; i++)
		if (strcmp(f->r[i].id, id) == 0) {
			r = &f->r[i];
			router_clear(r);
			break;
		}
	if (r == NULL) {
		f->r = xrealloc(f->r, (f->nr + 1) * sizeof(*f->r));
		r = &f->r[f->nr++];
		memset(r, 0, sizeof(*r));
	}
	r->id = xstrdup(id);
	(void)etcd_json_flat_get(kv->value, kv->vallen, "host", r->host,
	    sizeof(r->host));
	(void)etcd_json_flat_get(kv->value, kv->vallen, "listen", r->listen,
	    sizeof(r->listen));
	(void)etcd_json_flat_get(kv->value, kv->vallen, "version", r->version,
	    sizeof(r->version));
	r->started_us = num(kv->value, kv->vallen, "started");
	r->registrations = num(kv->value, kv->vallen, "registrations");
	r->registrations_us = num(kv->value, kv->vallen,
	    "registrations_applied");
	r->state = num(kv->value, kv->vallen, "state");
	r->state_us = num(kv->value, kv->vallen, "state_applied");
	r->mod_revision = kv->mod_revision;
}

static void
router_del(struct fleet *f, const char *key)
{
	const char *id = key + strlen(f->routers_prefix);
	size_t i;

	if (strlen(key) <= strlen(f->routers_prefix))
		return;
	for (i = 0; i < f->nr; i++)
		if (strcmp(f->r[i].id, id) == 0) {
			router_clear(&f->r[i]);
			f->r[i] = f->r[--f->nr];
			return;
		}
}

static void
on_reset(void *arg, const struct etcd_kv *kvs, size_t n, int64_t revision)
{
	struct fleet *f = arg;
	size_t i;

	(void)revision;
	routers_clear(f);
	for (i = 0; i < n; i++)
		router_set(f, &kvs[i]);
	/* Our key may be gone (a replaced cluster): publish again. */
	f->dirty = 1;
	step(f);
}

static void
on_update(void *arg, const struct etcd_event *evs, size_t n, int64_t revision)
{
	struct fleet *f = arg;
	size_t i;

	(void)revision;
	for (i = 0; i < n; i++) {
		if (evs[i].type == ETCD_EV_DELETE) {
			router_del(f, evs[i].kv.key);
			if (strcmp(evs[i].kv.key, f->key) == 0 && !f->leaving) {
				/* Someone removed our key: put it back. */
				f->published = 0;
				step(f);
			}
		} else
			router_set(f, &evs[i].kv);
	}
}

static const struct etcd_sync_ops sync_ops = { on_reset, on_update };

/* ---- life ---- */

/* "127.0.0.1:53,[::1]:53": the addresses of the DNS sockets, once each
 * (they come as "127.0.0.1:53/udp" and ".../tcp"). */
static void
listen_text(struct fleet *f, const struct listeners *ls)
{
	char a[sizeof(ls->socks[0].text)], *p;
	size_t used = 0;
	int i;

	for (i = 0; i < ls->nsocks && used < sizeof(f->listen); i++) {
		snprintf(a, sizeof(a), "%s", ls->socks[i].text);
		if ((p = strrchr(a, '/')) != NULL)
			*p = '\0';
		if (strstr(f->listen, a) != NULL)
			continue;
		used += (size_t)snprintf(f->listen + used, sizeof(f->listen) -
		    used, "%s%s", used ? "," : "", a);
	}
}

struct fleet *
fleet_new(struct event_base *base, struct etcd *etcd, const char *prefix,
    const struct listeners *ls)
{
	struct fleet *f = xcalloc(1, sizeof(*f));

	f->base = base;
	f->etcd = etcd;
	f->prefix = xstrdup(prefix);
	f->started_us = wall_us();
	make_id(f);
	f->routers_prefix = xmalloc(strlen(prefix) + 9);
	snprintf(f->routers_prefix, strlen(prefix) + 9, "%srouters/", prefix);
	f->key = xmalloc(strlen(f->routers_prefix) + strlen(f->id) + 1);
	sprintf(f->key, "%s%s", f->routers_prefix, f->id);
	if (gethostname(f->host, sizeof(f->host)) == -1)
		snprintf(f->host, sizeof(f->host), "?");
	f->host[sizeof(f->host) - 1] = '\0';
	listen_text(f, ls);
	f->timer = evtimer_new(base, timer_cb, f);
	f->sync = etcd_sync_new(etcd, f->routers_prefix, &sync_ops, f);
	step(f);
	return f;
}

static void
revoke_done(const struct etcd_resp *r, void *arg)
{
	struct fleet *f = arg;

	(void)r;
	f->req = NULL;
	event_base_loopbreak(f->base);
}

void
fleet_leave(struct fleet *f)
{
	struct timeval tv = { 1, 0 };
	struct etcd_status st;

	if (f == NULL)
		return;
	f->leaving = 1;
	evtimer_del(f->timer);
	etcd_req_cancel(f->req);
	f->req = NULL;
	etcd_status(f->etcd, &st);
	if (f->lease == 0 || !st.connected)
		return;		/* the lease expires by itself */
	/* The loop runs a moment more, for this answer only. */
	f->req = etcd_lease_revoke(f->etcd, f->lease, revoke_done, f);
	event_base_loopexit(f->base, &tv);
	event_base_dispatch(f->base);
	if (f->req != NULL) {
		etcd_req_cancel(f->req);
		f->req = NULL;
		log_warnx("fleet: could not revoke the lease of %s; it expires "
		    "within %d s", f->key, FLEET_TTL_S);
	}
	f->lease = 0;
}

void
fleet_free(struct fleet *f)
{
	if (f == NULL)
		return;
	etcd_req_cancel(f->req);
	etcd_sync_free(f->sync);
	event_free(f->timer);
	routers_clear(f);
	free(f->prefix);
	free(f->routers_prefix);
	free(f->key);
	free(f);
}

void
fleet_status(const struct fleet *f, struct fleet_status *st)
{
	struct etcd_sync_status ss;

	memset(st, 0, sizeof(*st));
	etcd_sync_status(f->sync, &ss);
	st->id = f->id;
	st->key = f->key;
	st->published = f->published;
	st->lease = f->lease;
	st->last_error = f->failing ? f->last_error : "";
	st->live = ss.live;
	st->revision = ss.revision;
}

const char *
fleet_id(const struct fleet *f)
{
	return f->id;
}

int
fleet_nrouters(const struct fleet *f)
{
	return (int)f->nr;
}

void
fleet_router(const struct fleet *f, int i, struct fleet_router *out)
{
	const struct router *r = &f->r[i];

	memset(out, 0, sizeof(*out));
	out->id = r->id;
	out->self = strcmp(r->id, f->id) == 0;
	out->host = r->host;
	out->listen = r->listen;
	out->version = r->version;
	out->started_us = r->started_us;
	out->registrations = r->registrations;
	out->registrations_us = r->registrations_us;
	out->state = r->state;
	out->state_us = r->state_us;
	out->mod_revision = r->mod_revision;
}

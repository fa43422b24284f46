/*
 * config: build an immutable snapshot from the database (see config.h).
 *
 * Building reads the whole store; that is what makes a snapshot exactly
 * the committed state.  It is cheap because compiled patterns come from the
 * route cache and backends are carried over from the previous snapshot;
 * the routes are read only when a route or registration row changed since
 * then.  Else the snapshot before's routes are shared whole (struct
 * routeset), or copied when a pool was added or removed (pool indices
 * moved); and each route table, the query routes' and the UPDATE routes',
 * is shared with the snapshot before while its patterns are the same.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config.h"
#include "db.h"
#include "dnsmsg.h"
#include "log.h"
#include "util.h"

/* A stored registration while the snapshot is built. */
struct reg {
	int64_t		 id;
	char		*key;
	char		 name[CONF_NAME_MAX];
	char		 addr[CONF_ADDR_MAX];
	char		*pattern;
	int		 group;		/* index of its group's first reg */
	int		 run, nrun;	/* a group's first: its members in by[] */
};

/* Building state passed to the db callbacks. */
struct build {
	struct config		*c;
	const struct config	*old;
	struct db		*db;
	struct routeset		*rs;		/* being built: c->rs */
	int			 cap_b, cap_p, cap_r;
	char			*err;
	size_t			 errlen;
	int			 failed;
	struct reg		*regs;		/* in route order */
	int			 nregs, cap_regs;
	struct reg		**by;		/* by pattern, then route order */
	int			 ngroups;
};

/*
 * By-id indices: (id, position) pairs sorted by id, so lookups stay
 * O(log n) however many backends, pools and routes there are (a linear
 * scan per pool member, per reused backend and per route's hit counter
 * was n^2 with thousands of them).
 */
static int
cmp_idpos(const void *a, const void *b)
{
	int64_t x = ((const struct idpos *)a)->id;
	int64_t y = ((const struct idpos *)b)->id;

	return (x > y) - (x < y);
}

/* Position of id, or -1. */
static int
idpos_find(const struct idpos *ix, int n, int64_t id)
{
	int lo = 0, hi = n, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (ix[mid].id == id)
			return ix[mid].pos;
		if (ix[mid].id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

/* ix (reallocated) for n ids, id(i) = *(int64_t *)(base + i * stride). */
static struct idpos *
idpos_make(struct idpos *ix, const void *base, size_t stride, int n)
{
	int i;

	ix = xrealloc(ix, (n > 0 ? n : 1) * sizeof(*ix));
	for (i = 0; i < n; i++) {
		ix[i].id = *(const int64_t *)((const char *)base + i * stride);
		ix[i].pos = i;
	}
	/* Routes read in order mostly have ascending ids already. */
	for (i = 1; i < n && ix[i - 1].id < ix[i].id; i++)
		;
	if (i < n)
		qsort(ix, n, sizeof(*ix), cmp_idpos);
	return ix;
}

/* (Re)index the backends and pools c holds so far. */
static void
index_ids(struct config *c)
{
	int i;

	c->backends_by_id = xrealloc(c->backends_by_id,
	    (c->nbackends > 0 ? c->nbackends : 1) * sizeof(*c->backends_by_id));
	for (i = 0; i < c->nbackends; i++) {
		c->backends_by_id[i].id = c->backends[i]->id;
		c->backends_by_id[i].pos = i;
	}
	qsort(c->backends_by_id, c->nbackends, sizeof(*c->backends_by_id),
	    cmp_idpos);
	c->pools_by_id = idpos_make(c->pools_by_id, c->npools > 0 ?
	    &c->pools[0].id : NULL, sizeof(*c->pools), c->npools);
	c->nby_backend = c->nbackends;
	c->nby_pool = c->npools;
}

/* In what index_ids() saw. */
static struct backend *
find_backend_id(const struct config *c, int64_t id)
{
	int i;

	if (c == NULL || (i = idpos_find(c->backends_by_id, c->nby_backend,
	    id)) < 0)
		return NULL;
	return c->backends[i];
}

/* The index in pools of pool id, or -1. */
static int
pool_index(const struct config *c, int64_t id)
{
	return idpos_find(c->pools_by_id, c->nby_pool, id);
}

static struct pool *
find_pool_id(const struct config *c, int64_t id)
{
	int i = pool_index(c, id);

	return i < 0 ? NULL : &c->pools[i];
}

static int
add_backend(const struct db_backend *row, void *arg)
{
	struct build *bd = arg;
	struct backend *b, *o;
	struct sockaddr_storage ss;
	socklen_t sl;
	char e[128];

	o = find_backend_id(bd->old, row->id);
	if (o != NULL && o->transport == row->conf.transport &&
	    addr_parse(row->conf.addr, 53, &ss, &sl, e, sizeof(e)) == 0 &&
	    addr_equal((struct sockaddr *)&ss, (struct sockaddr *)&o->addr)) {
		/* Same server: keep its health and counters.  Its row is
		 * applied only once the change is committed (state_publish). */
		b = o;
		backend_ref(b);
	} else if ((b = backend_new(row->id, row->name, &row->conf, row->admin,
	    bd->err, bd->errlen)) == NULL) {
		bd->failed = 1;
		return 1;
	}
	if (bd->c->nbackends == bd->cap_b) {
		bd->cap_b = bd->cap_b ? bd->cap_b * 2 : 16;
		bd->c->backends = xrealloc(bd->c->backends,
		    bd->cap_b * sizeof(*bd->c->backends));
		bd->c->brows = xrealloc(bd->c->brows,
		    bd->cap_b * sizeof(*bd->c->brows));
	}
	bd->c->brows[bd->c->nbackends] = *row;
	bd->c->backends[bd->c->nbackends++] = b;
	return 0;
}

/* A pool at the end, without members.  Moves the pool array: nothing may
 * point into it yet. */
static struct pool *
new_pool(struct build *bd, int64_t id, const char *name,
    const struct pool_conf *conf)
{
	struct pool *p;

	if (bd->c->npools == bd->cap_p) {
		bd->cap_p = bd->cap_p ? bd->cap_p * 2 : 16;
		bd->c->pools = xrealloc(bd->c->pools,
		    bd->cap_p * sizeof(*bd->c->pools));
	}
	p = &bd->c->pools[bd->c->npools++];
	memset(p, 0, sizeof(*p));
	p->id = id;
	snprintf(p->name, sizeof(p->name), "%s", name);
	p->policy = conf->policy;
	p->confirm_all = conf->confirm == CONFIRM_ALL;
	p->good = conf->good;
	p->tc_retry = conf->tc_retry == YES;
	return p;
}

static int
add_pool(const struct db_pool *row, void *arg)
{
	new_pool(arg, row->id, row->name, &row->conf);
	return 0;
}

static int
add_member(int64_t pool_id, int64_t backend_id, void *arg)
{
	struct build *bd = arg;
	struct pool *p = find_pool_id(bd->c, pool_id);
	struct backend *b = find_backend_id(bd->c, backend_id);

	if (p == NULL || b == NULL)
		return 0;
	/* Room doubles at each power of two: thousands of members. */
	if ((p->n & (p->n - 1)) == 0)
		p->members = xrealloc(p->members, (p->n > 0 ? p->n * 2 : 1) *
		    sizeof(*p->members));
	p->members[p->n++] = b;
	return 0;
}

int route_hit_slots = MAX_WORKERS;

static struct route_hits *
old_hits(const struct config *old, int64_t id)
{
	const struct croute *r;

	if (old == NULL || (r = config_route(old, id)) == NULL)
		return NULL;
	atomic_fetch_add(&r->hits->refcnt, 1);
	return r->hits;
}

/* Most routes have no comment: 100,000 of them share this one. */
static char no_comment[] = "";

static char *
comment_dup(const char *s)
{
	return s == NULL || *s == '\0' ? no_comment : xstrdup(s);
}

/* A new route at the end, with the hit counter of the old route of the
 * same id, or (at start, or new) one from saved. */
static struct croute *
new_route(struct build *bd, int64_t id, const char *pattern, uint64_t saved)
{
	struct routeset *rs = bd->rs;
	struct croute *r;

	if (rs->nroutes == bd->cap_r) {
		bd->cap_r = bd->cap_r ? bd->cap_r * 2 : 64;
		rs->routes = xrealloc(rs->routes,
		    bd->cap_r * sizeof(*rs->routes));
	}
	r = &rs->routes[rs->nroutes++];
	memset(r, 0, sizeof(*r));
	r->id = id;
	r->position = rs->nroutes;
	r->pool = -1;
	r->pattern = xstrdup(pattern);
	if ((r->hits = old_hits(bd->old, id)) == NULL) {
		r->hits = xcalloc(1, sizeof(*r->hits) +
		    (size_t)route_hit_slots * sizeof(r->hits->w[0]));
		r->hits->nslots = route_hit_slots;
		atomic_init(&r->hits->refcnt, 1);
		atomic_init(&r->hits->hits, (unsigned long)saved);
		r->hits->saved = saved;
	}
	return r;
}

static int
add_route(const struct db_route *row, void *arg)
{
	struct build *bd = arg;
	struct croute *r;

	r = new_route(bd, row->id, row->pattern, (uint64_t)row->hits);
	r->position = row->position;
	r->qtype = row->qtype;
	r->opcode = row->opcode == ROUTE_UPDATE ? DNS_OPCODE_UPDATE :
	    DNS_OPCODE_QUERY;
	r->tsig_optional = row->tsig == TSIG_OPTIONAL;
	r->action = row->action;
	r->comment = comment_dup(row->comment);
	if (row->action == ACTION_POOL &&
	    (r->pool = pool_index(bd->c, row->pool_id)) < 0) {
		snprintf(bd->err, bd->errlen, "route %lld names a missing pool",
		    (long long)row->id);
		bd->failed = 1;
		return 1;
	}
	return 0;
}

/* ---- TSIG keys ---- */

/* A stored key into the snapshot: a sender's (no backend uses it) goes
 * to the front, the routers' own to the back (config.h). */
static int
add_key(const struct db_key *row, int users, void *arg)
{
	struct build *bd = arg;
	struct config *c = bd->c;
	struct tsig_key k, *v;
	char e[128];

	if (tsig_key_init(&k, row->name, row->alg, row->secret, e,
	    sizeof(e)) == -1) {
		/* Only a store edited by hand holds one: the daemon serves
		 * on, without it. */
		log_warnx("key %s in the store: %s; left out", row->name, e);
		return 0;
	}
	/* Not realloc: the old array holds secrets, wiped before it goes. */
	v = xcalloc((size_t)c->nkeys + 1, sizeof(*v));
	if (c->nkeys > 0) {
		memcpy(v, c->keys, (size_t)c->nkeys * sizeof(*v));
		explicit_bzero(c->keys, (size_t)c->nkeys * sizeof(*v));
	}
	free(c->keys);
	c->keys = v;
	if (users == 0) {
		memmove(&c->keys[c->nclient_keys + 1],
		    &c->keys[c->nclient_keys],
		    (c->nkeys - c->nclient_keys) * sizeof(*c->keys));
		c->keys[c->nclient_keys++] = k;
	} else
		c->keys[c->nkeys] = k;
	c->nkeys++;
	tsig_key_wipe(&k);
	return 0;
}

/* The key named (presentation form), or NULL. */
static const struct tsig_key *
find_key(const struct config *c, const char *name)
{
	uint8_t wire[DNS_MAX_WIRE_NAME];
	int i, n;

	if (name[0] == '\0' || (n = dns_text_to_wire(name, wire,
	    sizeof(wire))) == -1)
		return NULL;
	for (i = 0; i < c->nkeys; i++)
		if (c->keys[i].namelen == n &&
		    memcmp(c->keys[i].name, wire, (size_t)n) == 0)
			return &c->keys[i];
	return NULL;
}

/* Each fanout pool's members' keys, by the backends' rows. */
static void
pool_keys(struct config *c)
{
	struct pool *p;
	int i, k, j;

	for (i = 0; i < c->npools; i++) {
		p = &c->pools[i];
		if (p->policy != POLICY_FANOUT || p->n == 0)
			continue;
		p->mkeys = xcalloc((size_t)p->n, sizeof(*p->mkeys));
		for (k = 0; k < p->n; k++)
			for (j = 0; j < c->nbackends; j++)
				if (c->backends[j] == p->members[k])
					p->mkeys[k] = find_key(c,
					    c->brows[j].conf.key);
	}
}

/* Query routes first, UPDATE routes after them, each in order. */
static void
split_routes(struct routeset *rs)
{
	struct croute *v;
	int i, n = 0;

	/* Already so (nearly always: no UPDATE route before a query
	 * route)?  Then 100,000 routes are not copied. */
	for (i = 0; i < rs->nroutes &&
	    rs->routes[i].opcode == DNS_OPCODE_QUERY; i++)
		;
	rs->nqroutes = i;
	for (; i < rs->nroutes && rs->routes[i].opcode != DNS_OPCODE_QUERY;
	    i++)
		;
	if (i == rs->nroutes)
		return;
	v = xcalloc((size_t)rs->nroutes, sizeof(*v));
	for (i = 0; i < rs->nroutes; i++)
		if (rs->routes[i].opcode == DNS_OPCODE_QUERY)
			v[n++] = rs->routes[i];
	rs->nqroutes = n;
	for (i = 0; i < rs->nroutes; i++)
		if (rs->routes[i].opcode != DNS_OPCODE_QUERY)
			v[n++] = rs->routes[i];
	free(rs->routes);
	rs->routes = v;
}

/* ---- registrations ---- */

/* A registered backend is checked as the seed checked its servers:
 * id.server. CH TXT over TCP every 5 s (our defaults too). */
static const struct db_backend reg_template = {
	.admin = ADMIN_ENABLED,
	.conf = {
		.transport = TRANSPORT_UDP, .weight = 1,
		.check_qname = "id.server.", .check_qtype = DNS_TYPE_TXT,
		.check_qclass = DNS_CLASS_CH,
		.check_tcp = TRANSPORT_TCP, .check_rcode = -1,
		.interval_ms = 5000, .timeout_ms = 1000, .fall = 3, .rise = 2,
	},
};

/* A registered pool: round robin, as the seed did. */
static const struct pool_conf reg_pool = {
	.policy = POLICY_ROUNDROBIN, .confirm = CONFIRM_ALL,
	.good = 1 << GOOD_ANSWER, .tc_retry = NO,
};

static int
collect_reg(const struct db_registration *row, void *arg)
{
	struct build *bd = arg;
	struct reg *g;

	if (bd->nregs == bd->cap_regs) {
		bd->cap_regs = bd->cap_regs ? bd->cap_regs * 2 : 16;
		bd->regs = xrealloc(bd->regs, bd->cap_regs * sizeof(*bd->regs));
	}
	g = &bd->regs[bd->nregs++];
	memset(g, 0, sizeof(*g));
	g->id = row->id;
	g->key = xstrdup(row->key);
	memcpy(g->name, row->name, sizeof(g->name));
	memcpy(g->addr, row->addr, sizeof(g->addr));
	g->pattern = xstrdup(row->pattern);
	return 0;
}

static int
reg_by_pattern(const void *a, const void *b)
{
	const struct reg *x = *(const struct reg *const *)a;
	const struct reg *y = *(const struct reg *const *)b;
	int c = strcmp(x->pattern, y->pattern);

	return c != 0 ? c : (x < y ? -1 : x > y);
}

/* Each registration's backend; each group of registrations with the same
 * pattern (its first registration leads it) a pool of their backends. */
static void
add_reg_pools(struct build *bd)
{
	struct db_backend row;
	struct reg **by, *lead;
	struct backend *b;
	struct pool *p;
	int i, k, n0 = bd->c->nbackends;

	if (bd->nregs == 0)
		return;
	for (i = 0; i < bd->nregs; i++) {
		row = reg_template;
		row.id = -bd->regs[i].id;
		memcpy(row.name, bd->regs[i].name, sizeof(row.name));
		memcpy(row.conf.addr, bd->regs[i].addr, sizeof(row.conf.addr));
		if (add_backend(&row, bd) != 0)
			return;
		b = bd->c->backends[bd->c->nbackends - 1];
		if (b->origin == NULL) {
			b->origin = xmalloc(strlen(bd->regs[i].key) + 6);
			sprintf(b->origin, "etcd %s", bd->regs[i].key);
		}
	}
	/* Sorted, a group is a run, its first registration first. */
	by = bd->by = xcalloc(bd->nregs, sizeof(*by));
	for (i = 0; i < bd->nregs; i++)
		by[i] = &bd->regs[i];
	qsort(by, bd->nregs, sizeof(*by), reg_by_pattern);
	for (i = 0; i < bd->nregs; i = k) {
		lead = by[i];
		for (k = i; k < bd->nregs &&
		    strcmp(by[k]->pattern, lead->pattern) == 0; k++)
			by[k]->group = (int)(lead - bd->regs);
		lead->run = i;
		lead->nrun = k - i;
	}
	/* Pools in route order: a group's first registration's. */
	for (i = 0; i < bd->nregs; i++) {
		lead = &bd->regs[i];
		if (lead->group != i)
			continue;
		p = new_pool(bd, -lead->id, lead->name, &reg_pool);
		bd->ngroups++;
		p->members = xcalloc(lead->nrun, sizeof(*p->members));
		for (k = lead->run; k < lead->run + lead->nrun; k++)
			p->members[p->n++] =
			    bd->c->backends[n0 + (by[k] - bd->regs)];
	}
}

/* After the operator's routes: a route per group, named by its keys. */
static void
add_reg_routes(struct build *bd)
{
	const struct reg *lead, *g;
	struct croute *r;
	size_t used, len = 512;
	int i, k, more, np = 0;

	for (i = 0; i < bd->nregs; i++) {
		lead = &bd->regs[i];
		if (lead->group != i)
			continue;
		r = new_route(bd, -lead->id, lead->pattern, 0);
		r->action = ACTION_POOL;
		/* The registered pools are after the operator's, in this
		 * same order. */
		r->pool = bd->c->npools - bd->ngroups + np++;
		r->comment = comment_dup(NULL);
		r->origin = xmalloc(len);
		used = (size_t)snprintf(r->origin, len, "etcd");
		for (k = lead->run, more = 0; k < lead->run + lead->nrun; k++) {
			g = bd->by[k];
			if (used + strlen(g->key) + 16 < len)
				used += (size_t)snprintf(r->origin + used,
				    len - used, " %s", g->key);
			else
				more++;
		}
		if (more > 0)
			snprintf(r->origin + used, len - used, " +%d more", more);
	}
}

static void
free_regs(struct build *bd)
{
	int i;

	for (i = 0; i < bd->nregs; i++) {
		free(bd->regs[i].key);
		free(bd->regs[i].pattern);
	}
	free(bd->regs);
	free(bd->by);
	bd->regs = NULL;
	bd->by = NULL;
	bd->nregs = bd->cap_regs = bd->ngroups = 0;
}

static int
add_setting(const char *key, const char *val, void *arg)
{
	struct build *bd = arg;

	/* A value the store holds but this version does not understand keeps
	 * the default rather than stopping the daemon. */
	if (settings_apply(&bd->c->set, key, val) == -1)
		log_warnx("ignoring stored setting %s=%s", key, val);
	return 0;
}

/* The table of routes[from, from + n), and each of their patterns made
 * the table's.  When old (the snapshot before's table for the same kind
 * of route) has exactly these patterns, it is shared: its generation (so
 * the workers' cached decisions stay valid), prefilter and code.  It only
 * maps a name to an index: the routes it indexes are the new ones, so a
 * changed pool, action or tsig setting is seen all the same. */
static struct route_table *
table_of(struct routeset *rs, struct route_table *old, struct route_cache *rc,
    int from, int n)
{
	struct route_table *t;
	const char **pats;
	uint16_t *qtypes;
	int i;

	pats = xcalloc((size_t)n + 1, sizeof(*pats));
	qtypes = xcalloc((size_t)n + 1, sizeof(*qtypes));
	for (i = 0; i < n; i++) {
		pats[i] = rs->routes[from + i].pattern;
		qtypes[i] = (uint16_t)rs->routes[from + i].qtype;
	}
	if (route_table_same(old, pats, qtypes, n, rs->match_limit)) {
		t = old;
		route_table_ref(t);
	} else {
		t = route_table_new(rc, pats, qtypes, n, rs->match_limit);
		route_table_inherit(t, old);
	}
	free(pats);
	free(qtypes);
	/* One copy of each pattern: the table's. */
	for (i = 0; i < n; i++) {
		free((char *)rs->routes[from + i].pattern);
		rs->routes[from + i].pattern = route_table_pattern(t, i);
	}
	/* Now, not when the build ends: one cut between two stages frees
	 * what was made so far (config_build_free). */
	rs->tabled = from + n;
	return t;
}

/* The routes that name a transfer type (qtype AXFR or IXFR), in order,
 * as a table of their own (xroute[i]: the index in routes of its route
 * i); old's when they are the same. */
static void
xfr_table(struct routeset *rs, const struct routeset *old,
    struct route_cache *rc)
{
	const char **pats = xcalloc(rs->nroutes + 1, sizeof(*pats));
	uint16_t *qtypes = xcalloc(rs->nroutes + 1, sizeof(*qtypes));
	int i, n = 0;

	rs->xroute = xcalloc(rs->nroutes + 1, sizeof(*rs->xroute));
	for (i = 0; i < rs->nroutes; i++) {
		if (rs->routes[i].qtype != DNS_TYPE_AXFR &&
		    rs->routes[i].qtype != DNS_TYPE_IXFR)
			continue;
		pats[n] = rs->routes[i].pattern;
		qtypes[n] = (uint16_t)rs->routes[i].qtype;
		rs->xroute[n++] = i;
	}
	if (old != NULL && route_table_same(old->xrt, pats, qtypes, n,
	    rs->match_limit)) {
		rs->xrt = old->xrt;
		route_table_ref(rs->xrt);
	} else
		rs->xrt = route_table_new(rc, pats, qtypes, n,
		    rs->match_limit);
	free(pats);
	free(qtypes);
}

/* The route tables for the routes read, in two stages (a change's
 * slices take one each): the query routes' (stage 0), then, when there
 * are UPDATE routes, theirs, and the transfer routes' (1). */
static void
make_table(struct build *bd, struct route_cache *rc, int stage)
{
	struct routeset *rs = bd->rs;
	const struct routeset *old = bd->old != NULL ? bd->old->rs : NULL;

	if (stage == 0) {
		split_routes(rs);
		rs->by_id = idpos_make(NULL, rs->nroutes > 0 ?
		    &rs->routes[0].id : NULL, sizeof(*rs->routes),
		    rs->nroutes);
		rs->rt = table_of(rs, old != NULL ? old->rt : NULL, rc, 0,
		    rs->nqroutes);
		return;
	}
	if (rs->nroutes > rs->nqroutes)
		rs->urt = table_of(rs, old != NULL ? old->urt : NULL, rc,
		    rs->nqroutes, rs->nroutes - rs->nqroutes);
	rs->tabled = rs->nroutes;
	xfr_table(rs, old, rc);
}

/* An empty route set for c, which owns it; it notes c's pools' ids by
 * index, which its routes are to name. */
static struct routeset *
routeset_new(struct build *bd, uint64_t gen)
{
	struct config *c = bd->c;
	struct routeset *rs;
	int i;

	rs = xcalloc(1, sizeof(*rs));
	atomic_init(&rs->refcnt, 1);
	rs->gen = gen;
	rs->match_limit = c->set.match_limit;
	rs->npools = c->npools;
	rs->pool_ids = xcalloc((size_t)c->npools + 1, sizeof(*rs->pool_ids));
	for (i = 0; i < c->npools; i++)
		rs->pool_ids[i] = c->pools[i].id;
	bd->rs = c->rs = rs;
	bd->cap_r = 0;
	return rs;
}

static void
routeset_unref(struct routeset *rs)
{
	struct croute *r;
	int i;

	if (rs == NULL || atomic_fetch_sub(&rs->refcnt, 1) != 1)
		return;
	for (i = 0; i < rs->nroutes; i++) {
		r = &rs->routes[i];
		if (i >= rs->tabled)
			free((char *)r->pattern);
		if (r->comment != no_comment)
			free(r->comment);
		free(r->origin);
		if (r->hits != NULL &&
		    atomic_fetch_sub(&r->hits->refcnt, 1) == 1)
			free(r->hits);
	}
	free(rs->routes);
	free(rs->by_id);
	free(rs->pool_ids);
	route_table_free(rs->rt);
	route_table_free(rs->urt);
	route_table_free(rs->xrt);
	free(rs->xroute);
	free(rs);
}

/* rs (the snapshot before's) holds the routes of gen, and names c's pools
 * by their indices: c can share it. */
static int
routeset_fits(const struct routeset *rs, const struct config *c,
    uint64_t gen)
{
	int i;

	if (rs->gen != gen || rs->match_limit != c->set.match_limit ||
	    rs->npools != c->npools)
		return 0;
	for (i = 0; i < c->npools; i++)
		if (rs->pool_ids[i] != c->pools[i].id)
			return 0;
	return 1;
}

/* No route or registration row changed since old was built, but pools
 * moved (one added or removed): its routes copied, each naming its pool
 * by its new index, tables shared, rather than reading 100,000 rows
 * again.  -1 when a route's pool is not in the new snapshot (then they
 * are read). */
static int
copy_routes(struct build *bd, uint64_t gen)
{
	const struct routeset *old = bd->old->rs;
	struct routeset *rs;
	const struct croute *o;
	struct croute *r;
	int i;

	if (old->gen != gen || old->match_limit != bd->c->set.match_limit)
		return -1;
	rs = routeset_new(bd, gen);
	rs->routes = xcalloc(old->nroutes + 1, sizeof(*rs->routes));
	rs->tabled = old->nroutes;
	for (i = 0; i < old->nroutes; i++) {
		o = &old->routes[i];
		r = &rs->routes[rs->nroutes++];
		*r = *o;
		r->comment = comment_dup(o->comment);
		r->origin = o->origin != NULL ? xstrdup(o->origin) : NULL;
		atomic_fetch_add(&r->hits->refcnt, 1);
		if (o->pool >= 0 && (r->pool = pool_index(bd->c,
		    old->pool_ids[o->pool])) < 0) {
			routeset_unref(rs);
			bd->rs = bd->c->rs = NULL;
			return -1;
		}
	}
	rs->by_id = xcalloc(rs->nroutes + 1, sizeof(*rs->by_id));
	memcpy(rs->by_id, old->by_id, rs->nroutes * sizeof(*rs->by_id));
	rs->nqroutes = old->nqroutes;
	rs->rt = old->rt;
	route_table_ref(rs->rt);
	if ((rs->urt = old->urt) != NULL)
		route_table_ref(rs->urt);
	rs->xrt = old->xrt;
	route_table_ref(rs->xrt);
	rs->xroute = xcalloc(rs->nroutes + 1, sizeof(*rs->xroute));
	memcpy(rs->xroute, old->xroute, rs->nroutes * sizeof(*rs->xroute));
	return 0;
}

/* c reads its routes through its own copies of rs's fields. */
static void
use_routes(struct config *c, struct routeset *rs)
{
	c->rs = rs;
	c->nroutes = rs->nroutes;
	c->nqroutes = rs->nqroutes;
	c->routes = rs->routes;
	c->routes_by_id = rs->by_id;
	c->rt = rs->rt;
	c->urt = rs->urt;
	c->xrt = rs->xrt;
	c->xroute = rs->xroute;
}

/* A build in pieces: all but the routes at once, the routes a slice at
 * a time (they are most of it), then the table. */
struct config_building {
	struct build		 bd;
	struct config		*old;		/* held */
	struct route_cache	*rc;
	struct db_route_walk	*walk;		/* NULL: the routes are done */
	int			 stage;		/* of the table: 0, 1; 2 none left */
	char			 err[1024];
};

void
config_build_free(struct config_building *cb)
{
	if (cb == NULL)
		return;
	db_route_walk_free(cb->walk);
	free_regs(&cb->bd);
	config_unref(cb->bd.c);
	if (cb->old != NULL)
		config_unref(cb->old);
	free(cb);
}

/* A failed build: its error (db's unless set) into err; cb is freed. */
static void
build_failed(struct config_building *cb, char *err, size_t errlen)
{
	if (!cb->bd.failed)
		snprintf(cb->err, sizeof(cb->err), "%s",
		    db_errmsg(cb->bd.db));
	snprintf(err, errlen, "%s", cb->err);
	config_build_free(cb);
}

struct config_building *
config_build_begin(struct db *db, struct config *old, struct route_cache *rc,
    char *err, size_t errlen)
{
	struct config_building *cb;
	struct build *bd;
	struct config *c;
	uint64_t gen;

	cb = xcalloc(1, sizeof(*cb));
	if ((cb->old = old) != NULL)
		config_ref(old);
	cb->rc = rc;
	cb->stage = 2;		/* unless the routes are read */
	c = xcalloc(1, sizeof(*c));
	atomic_init(&c->refcnt, 1);
	settings_defaults(&c->set);
	bd = &cb->bd;
	bd->c = c;
	bd->old = old;
	bd->db = db;
	bd->err = cb->err;
	bd->errlen = sizeof(cb->err);
	/* Registered pools go in before any route names a pool, registered
	 * routes after the operator's. */
	if (db_setting_foreach(db, add_setting, bd) == -1 ||
	    db_key_foreach(db, add_key, bd) == -1 ||
	    db_backend_foreach(db, add_backend, bd) == -1 ||
	    db_pool_foreach(db, add_pool, bd) == -1)
		goto fail;
	index_ids(c);
	if (db_member_foreach(db, add_member, bd) == -1 ||
	    db_reg_foreach(db, collect_reg, bd) == -1)
		goto fail;
	add_reg_pools(bd);
	if (bd->failed)
		goto fail;
	index_ids(c);
	pool_keys(c);
	gen = db_routes_gen(db);
	if (old != NULL && routeset_fits(old->rs, c, gen)) {
		c->rs = old->rs;
		atomic_fetch_add(&c->rs->refcnt, 1);
	} else if (old == NULL || copy_routes(bd, gen) == -1) {
		routeset_new(bd, gen);
		cb->stage = 0;
		if ((cb->walk = db_route_walk_new(db)) == NULL)
			goto fail;
	}
	return cb;
fail:
	build_failed(cb, err, errlen);
	return NULL;
}

int
config_build_next(struct config_building *cb, uint64_t until,
    struct config **out, char *err, size_t errlen)
{
	struct build *bd = &cb->bd;
	struct config *c = bd->c;
	int rc, first;

	*out = NULL;
	if (cb->walk != NULL) {
		rc = db_route_walk_next(cb->walk, add_route, bd, until);
		if (rc == 0)
			return 0;
		db_route_walk_free(cb->walk);
		cb->walk = NULL;
		if (rc != 1 || bd->failed) {
			build_failed(cb, err, errlen);
			return -1;
		}
		add_reg_routes(bd);
		/* Each stage of the table in a slice of its own (some ms each
		 * at 10,000 routes), unless the caller has all the time. */
		if (until != UINT64_MAX)
			return 0;
	}
	for (first = 1; cb->stage < 2; cb->stage++, first = 0) {
		if (!first && until != UINT64_MAX)
			return 0;
		make_table(bd, cb->rc, cb->stage);
	}
	free_regs(bd);
	use_routes(c, c->rs);
	*out = c;
	bd->c = NULL;
	config_build_free(cb);
	return 1;
}

struct config *
config_build(struct db *db, const struct config *old, struct route_cache *rc,
    char *err, size_t errlen)
{
	struct config_building *cb;
	struct config *c;

	snprintf(err, errlen, "%s", "");
	/* Held while it is built, which a caller of this does anyway. */
	if ((cb = config_build_begin(db, (struct config *)old, rc, err,
	    errlen)) == NULL)
		return NULL;
	return config_build_next(cb, UINT64_MAX, &c, err, errlen) == 1 ? c :
	    NULL;
}

void
config_ref(struct config *c)
{
	atomic_fetch_add(&c->refcnt, 1);
}

/* Snapshots whose last reference a worker dropped, for the reaper. */
static pthread_mutex_t	 grave_mtx = PTHREAD_MUTEX_INITIALIZER;
static struct config	*grave;
static pthread_t	 reaper;
static int		 have_reaper;
static void		(*reaper_bell)(void);

static void
config_free(struct config *c)
{
	int i;

	routeset_unref(c->rs);
	for (i = 0; i < c->npools; i++) {
		free(c->pools[i].members);
		free(c->pools[i].mkeys);
	}
	free(c->pools);
	for (i = 0; i < c->nkeys; i++)
		tsig_key_wipe(&c->keys[i]);
	free(c->keys);
	for (i = 0; i < c->nbackends; i++)
		backend_unref(c->backends[i]);
	free(c->backends);
	free(c->brows);
	free(c->backends_by_id);
	free(c->pools_by_id);
	free(c);
}

void
config_unref(struct config *c)
{
	int ring;

	if (c == NULL || atomic_fetch_sub(&c->refcnt, 1) != 1)
		return;
	if (!have_reaper || pthread_equal(pthread_self(), reaper)) {
		config_free(c);
		return;
	}
	pthread_mutex_lock(&grave_mtx);
	ring = grave == NULL;
	c->next_dead = grave;
	grave = c;
	pthread_mutex_unlock(&grave_mtx);
	if (ring && reaper_bell != NULL)
		reaper_bell();
}

void
config_set_reaper(void (*bell)(void))
{
	reaper = pthread_self();
	reaper_bell = bell;
	have_reaper = 1;
}

void
config_reap(void)
{
	struct config *c, *next;

	pthread_mutex_lock(&grave_mtx);
	c = grave;
	grave = NULL;
	pthread_mutex_unlock(&grave_mtx);
	for (; c != NULL; c = next) {
		next = c->next_dead;
		config_free(c);
	}
}

struct backend *
config_backend(const struct config *c, const char *name)
{
	int i;

	for (i = 0; i < c->nbackends; i++)
		if (strcmp(c->backends[i]->name, name) == 0)
			return c->backends[i];
	return NULL;
}

struct backend *
config_backend_id(const struct config *c, int64_t id)
{
	return find_backend_id(c, id);
}

struct pool *
config_pool(const struct config *c, const char *name)
{
	int i;

	for (i = 0; i < c->npools; i++)
		if (strcmp(c->pools[i].name, name) == 0)
			return &c->pools[i];
	return NULL;
}

const struct croute *
config_route(const struct config *c, int64_t id)
{
	int i = idpos_find(c->routes_by_id, c->nroutes, id);

	return i < 0 ? NULL : &c->routes[i];
}

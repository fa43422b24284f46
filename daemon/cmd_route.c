/*
 * cmd_route: route commands and settings.  A pattern was compiled (and
 * probed for explosive backtracking) when the command was parsed (cmd.c's
 * check of K_REGEX), so a route that cannot be served never reaches the
 * store.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "balance.h"
#include "cmd.h"
#include "config.h"
#include "ctlproto.h"
#include "db.h"
#include "dnsmsg.h"
#include "dnsnames.h"
#include "route.h"
#include "settings.h"
#include "state.h"
#include "util.h"

static int
route_count(struct cmd_ctx *x, int *n)
{
	if (db_route_count(x->db, n) == -1)
		return cmd_dberr(x);
	return 0;
}

/* A route id of a registration (negative): refused, saying so. */
static int
registered_route(struct cmd_ctx *x, int64_t id)
{
	char s[32];

	if (id > 0)
		return 0;
	snprintf(s, sizeof(s), "%lld", (long long)id);
	if (cmd_registered(x, "route", s, id) == -1)
		return -1;
	return cmd_fail(x, "no route %lld", (long long)id);
}

/* What an UPDATE route may be, and which pools each kind takes. */
static int
route_fits(struct cmd_ctx *x, const struct db_route *r,
    const struct db_pool *p)
{
	if (r->opcode == ROUTE_UPDATE && r->qtype != 0)
		return cmd_fail(x, "an UPDATE route matches the zone an "
		    "UPDATE names: qtype does not apply");
	if (r->opcode == ROUTE_QUERY && r->tsig == TSIG_OPTIONAL)
		return cmd_fail(x, "tsig optional is for UPDATE routes "
		    "(opcode update)");
	if (p == NULL)
		return 0;
	if (r->opcode == ROUTE_UPDATE && p->conf.policy != POLICY_FANOUT)
		return cmd_fail(x, "an UPDATE route needs a fanout pool; "
		    "pool \"%s\" has policy %s", p->name,
		    words_name(&words_policy, p->conf.policy));
	if (r->opcode == ROUTE_QUERY && p->conf.policy == POLICY_FANOUT)
		return cmd_fail(x, "pool \"%s\" is a fanout pool: it takes "
		    "UPDATE routes only (opcode update)", p->name);
	return 0;
}

/* The pool a route names, into r->pool_id, once the route fits it. */
static int
route_pool(struct cmd_ctx *x, const char *name, struct db_route *r)
{
	struct db_pool p;
	int rc;

	if (r->action != ACTION_POOL)
		return route_fits(x, r, NULL);
	if ((rc = db_pool_get(x->db, name, &p)) == -1)
		return cmd_dberr(x);
	if (rc == 1 && cmd_registered(x, "pool", name, 0) == -1)
		return -1;
	if (rc == 1)
		return cmd_fail(x, "pool \"%s\" does not exist (pool add %s "
		    "first)", name, name);
	if (route_fits(x, r, &p) == -1)
		return -1;
	r->pool_id = p.id;
	return 0;
}

int
cmd_route_add(struct cmd_ctx *x, const union cmd_args *u)
{
	const struct cmd_route *a = &u->route;
	struct db_route r;
	int n;

	memset(&r, 0, sizeof(r));
	r.pattern = a->pattern;
	r.qtype = a->qtype;
	r.opcode = a->opcode;
	r.tsig = a->tsig;
	r.action = a->action;
	r.comment = a->comment != NULL ? a->comment : "";
	r.position = a->position;
	if (route_pool(x, a->pool, &r) == -1)
		return -1;
	/* At the end (most adds) the store says where it went; the caller
	 * rolls back a route past the limit. */
	if (r.position > 0) {
		if (route_count(x, &n) == -1)
			return -1;
		if (r.position > n + 1)
			return cmd_fail(x, "position %d is past the end (%d "
			    "routes)", r.position, n);
	}
	if (db_route_add(x->db, &r) == -1)
		return cmd_dberr(x);
	if (r.position > CONF_MAX_ROUTES)
		return cmd_fail(x, "too many routes (%d)", CONF_MAX_ROUTES);
	x->made = r.id;
	reply_ok(x->r, "route %lld added at position %d", (long long)r.id,
	    r.position);
	return 0;
}

struct route_set {
	struct cmd_ctx		*x;
	const struct cmd_route	*a;
};

static int
route_set_cb(const struct db_route *row, void *arg)
{
	struct route_set *rs = arg;
	struct cmd_ctx *x = rs->x;
	struct cmd_route cur;
	struct db_route r = *row;
	char words[CTL_LINE_MAX];
	size_t skip = strlen(x->c->spec->words) + 1;

	memset(&cur, 0, sizeof(cur));
	cur.id = row->id;
	cur.qtype = row->qtype;
	cur.opcode = row->opcode;
	cur.tsig = row->tsig;
	cur.action = row->action;
	cur.pool = row->pool_name;
	cur.comment = row->comment;
	cmd_merge(x->c->spec, &cur, rs->a, x->c->given);
	r.qtype = cur.qtype;
	r.opcode = cur.opcode;
	r.tsig = cur.tsig;
	r.action = cur.action;
	r.comment = cur.comment;
	if (route_pool(x, cur.pool, &r) == -1)
		return -1;
	if (db_route_update(x->db, &r) != 0)
		return cmd_dberr(x);
	if (cmd_format(x->c, x->c->given & ~(uint64_t)1, words,
	    sizeof(words)) == -1 || strlen(words) < skip)
		skip = strlen(words);
	reply_ok(x->r, "route %lld changed: %s", (long long)r.id,
	    words + skip);
	return 0;
}

int
cmd_route_set(struct cmd_ctx *x, const union cmd_args *u)
{
	struct route_set rs = { x, &u->route };
	int rc;

	if (registered_route(x, u->route.id) == -1)
		return -1;
	rc = db_route_get(x->db, u->route.id, route_set_cb, &rs);
	if (rc == 1)
		return cmd_fail(x, "no route %lld", (long long)u->route.id);
	if (rc == -1 && !x->r->final)
		return cmd_dberr(x);
	return rc;
}

int
cmd_route_del(struct cmd_ctx *x, const union cmd_args *u)
{
	long long id = (long long)u->route.id;
	int rc;

	if (registered_route(x, u->route.id) == -1)
		return -1;
	if ((rc = db_route_del(x->db, u->route.id)) == -1)
		return cmd_dberr(x);
	if (rc == 1)
		return cmd_fail(x, "no route %lld", id);
	reply_ok(x->r, "route %lld removed", id);
	return 0;
}

int
cmd_route_move(struct cmd_ctx *x, const union cmd_args *u)
{
	const struct cmd_route *a = &u->route;
	int rc, n;

	if (registered_route(x, a->id) == -1 || route_count(x, &n) == -1)
		return -1;
	if (a->position > n)
		return cmd_fail(x, "position %d is past the end (%d routes)",
		    a->position, n);
	if ((rc = db_route_move(x->db, a->id, a->position)) == -1)
		return cmd_dberr(x);
	if (rc == 1)
		return cmd_fail(x, "no route %lld", (long long)a->id);
	reply_ok(x->r, "route %lld moved to position %d", (long long)a->id,
	    a->position);
	return 0;
}

int
cmd_route_test(struct cmd_ctx *x, const union cmd_args *u)
{
	static struct route_matcher *m;
	const struct cmd_route_test *a = &u->test;
	struct config *c = dr->cfg;
	uint8_t wire[DNS_MAX_WIRE_NAME];
	char name[DNS_MAX_TEXT_NAME], tb[32];
	const struct croute *r;
	struct backend *b;
	struct pool *p;
	int idx, limited, wl, nl, xfr;

	if ((wl = dns_text_to_wire(a->qname, wire, sizeof(wire))) == -1 ||
	    (nl = dns_name_to_text(wire, (size_t)wl, 0, name,
	    sizeof(name))) < 0) {
		reply_err(x->r, CTL_ERR_SYNTAX, "bad name \"%s\"", a->qname);
		return -1;
	}
	if (m == NULL)
		m = route_matcher_new();
	xfr = a->qtype == DNS_TYPE_AXFR || a->qtype == DNS_TYPE_IXFR;
	if (xfr) {
		/* Only a route that names the transfer's type takes it. */
		idx = route_match(m, c->xrt, name, (size_t)nl,
		    (uint16_t)a->qtype, &limited);
		idx = idx < 0 ? -1 : c->xroute[idx];
	} else
		idx = route_match(m, c->rt, name, (size_t)nl,
		    (uint16_t)a->qtype, &limited);
	reply_columns(x->r, "name\ttype\troute#\tpattern\taction\tpool\tbackend");
	reply_field(x->r, name);
	reply_field(x->r, dnsname_type_str(a->qtype, tb, sizeof(tb)));
	if (idx < 0) {
		reply_field_null(x->r);
		reply_field_null(x->r);
		if (xfr)
			reply_field(x->r, "refuse (no route names this "
			    "transfer type)");
		else
			reply_fieldf(x->r, "%s (default)",
			    words_name(&words_action, c->set.default_action));
		reply_field_null(x->r);
		reply_field_null(x->r);
	} else {
		r = &c->routes[idx];
		reply_field_int(x->r, r->id);
		reply_field(x->r, r->pattern);
		reply_field(x->r, words_name(&words_action, r->action));
		if ((p = config_route_pool(c, r)) != NULL) {
			reply_field(x->r, p->name);
			b = pool_peek(p);
			if (b != NULL)
				reply_field(x->r, b->name);
			else
				reply_field_null(x->r);
		} else {
			reply_field_null(x->r);
			reply_field_null(x->r);
		}
	}
	reply_end_row(x->r);
	if (limited)
		reply_notice(x->r, "a pattern hit the match limit on this name "
		    "(counted as no match)");
	return 0;
}

int
cmd_set(struct cmd_ctx *x, const union cmd_args *u)
{
	const struct cmd_set *a = &u->set;
	const struct setting_spec *sp = setting_lookup(a->key);
	char old[256];
	int rc;

	if ((rc = db_setting_get(x->db, a->key, old, sizeof(old))) == -1)
		return cmd_dberr(x);
	if (rc == 1)
		snprintf(old, sizeof(old), "%s", sp->defval);
	if (db_setting_set(x->db, a->key, a->canon) == -1)
		return cmd_dberr(x);
	reply_ok(x->r, "%s set to %s (was %s)", a->key, a->canon, old);
	return 0;
}

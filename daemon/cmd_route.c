/*
 * cmd_route: route commands and settings.  A pattern is compiled (and
 * probed for explosive backtracking) when it is added, so a route that
 * cannot be served never reaches the store.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "ctlproto.h"
#include "dnsmsg.h"
#include "dnsnames.h"
#include "dnsrouted.h"
#include "util.h"

#define MAX_ROUTES	100000

static int
route_count(struct cmd_ctx *x, int *n)
{
	if (db_route_count(dr->db, n) == -1)
		return cmd_dberr(x);
	return 0;
}

int
cmd_route_add(struct cmd_ctx *x, int argc, char **argv)
{
	struct db_route r;
	struct db_pool p;
	char err[512];
	long v;
	int i, n, have_action = 0, rc;

	if (argc < 2)
		return cmd_usage(x);
	memset(&r, 0, sizeof(r));
	r.pattern = argv[0];
	r.comment = "";
	for (i = 1; i < argc; i++) {
		const char *o = argv[i];
		int action = action_parse(o);

		if (action > DB_ACTION_POOL || strcmp(o, "pool") == 0) {
			if (have_action) {
				reply_err(x->r, CTL_ERR_SYNTAX, "a route has one "
				    "action; \"%s\" is a second", o);
				return -1;
			}
			have_action = 1;
			r.action = action;
			if (action > DB_ACTION_POOL)
				continue;
			if (++i == argc)
				return cmd_usage(x);
			rc = db_pool_get(dr->db, argv[i], &p);
			if (rc == -1)
				return cmd_dberr(x);
			if (rc == 1 && cmd_registered(x, "pool", argv[i],
			    0) == -1)
				return -1;
			if (rc == 1) {
				reply_err(x->r, CTL_ERR_RUNTIME, "pool \"%s\" does "
				    "not exist (pool add %s, or backend add ... "
				    "pool %s)", argv[i], argv[i], argv[i]);
				return -1;
			}
			r.pool_id = p.id;
			continue;
		}
		if (++i == argc) {
			reply_err(x->r, CTL_ERR_SYNTAX, "%s needs a value", o);
			return -1;
		}
		if (strcmp(o, "qtype") == 0) {
			if (dnsname_type_parse(argv[i], &r.qtype) == -1) {
				reply_err(x->r, CTL_ERR_SYNTAX, "unknown qtype \"%s\"",
				    argv[i]);
				return -1;
			}
		} else if (strcmp(o, "at") == 0) {
			if (parse_int(argv[i], 1, MAX_ROUTES, &v) == -1) {
				reply_err(x->r, CTL_ERR_SYNTAX, "bad position \"%s\"",
				    argv[i]);
				return -1;
			}
			r.position = (int)v;
		} else if (strcmp(o, "comment") == 0)
			r.comment = argv[i];
		else {
			reply_err(x->r, CTL_ERR_SYNTAX, "unknown option \"%s\"; "
			    "usage: route add REGEX [qtype TYPE] (pool POOL | "
			    "refuse | nxdomain | servfail | drop) [at POSITION] "
			    "[comment TEXT]", o);
			return -1;
		}
	}
	if (!have_action) {
		reply_err(x->r, CTL_ERR_SYNTAX, "route add needs an action: "
		    "pool POOL, refuse, nxdomain, servfail or drop");
		return -1;
	}
	if (route_check_pattern(r.pattern, dr->cfg->set.match_limit, err,
	    sizeof(err)) == -1) {
		reply_err(x->r, CTL_ERR_RUNTIME, "%s", err);
		return -1;
	}
	if (route_count(x, &n) == -1)
		return -1;
	if (n >= MAX_ROUTES) {
		reply_err(x->r, CTL_ERR_RUNTIME, "too many routes (%d)", MAX_ROUTES);
		return -1;
	}
	if (r.position > n + 1) {
		reply_err(x->r, CTL_ERR_RUNTIME, "position %d is past the end "
		    "(%d routes)", r.position, n);
		return -1;
	}
	if (db_route_add(dr->db, &r) == -1)
		return cmd_dberr(x);
	reply_ok(x->r, "route %lld added at position %d", (long long)r.id,
	    r.position);
	return 0;
}

static int
parse_route_id(struct cmd_ctx *x, const char *s, int64_t *id)
{
	long v;

	if (parse_int(s, -0x7fffffffL, -1, &v) == 0 &&
	    cmd_registered(x, "route", s, v) == -1)
		return -1;
	if (parse_int(s, 1, 0x7fffffffL, &v) == -1) {
		reply_err(x->r, CTL_ERR_SYNTAX, "bad route id \"%s\"", s);
		return -1;
	}
	*id = v;
	return 0;
}

int
cmd_route_del(struct cmd_ctx *x, int argc, char **argv)
{
	int64_t id;
	int rc;

	if (argc != 1)
		return cmd_usage(x);
	if (parse_route_id(x, argv[0], &id) == -1)
		return -1;
	if ((rc = db_route_del(dr->db, id)) == -1)
		return cmd_dberr(x);
	if (rc == 1) {
		reply_err(x->r, CTL_ERR_RUNTIME, "no route %s", argv[0]);
		return -1;
	}
	return 0;
}

int
cmd_route_move(struct cmd_ctx *x, int argc, char **argv)
{
	int64_t id;
	long pos;
	int rc, n;

	if (argc != 2)
		return cmd_usage(x);
	if (parse_route_id(x, argv[0], &id) == -1)
		return -1;
	if (route_count(x, &n) == -1)
		return -1;
	if (parse_int(argv[1], 1, n > 0 ? n : 1, &pos) == -1) {
		reply_err(x->r, CTL_ERR_SYNTAX, "bad position \"%s\" (1-%d)",
		    argv[1], n);
		return -1;
	}
	if ((rc = db_route_move(dr->db, id, (int)pos)) == -1)
		return cmd_dberr(x);
	if (rc == 1) {
		reply_err(x->r, CTL_ERR_RUNTIME, "no route %s", argv[0]);
		return -1;
	}
	return 0;
}

/* The member the next query would get, without moving round robin on. */
static struct backend *
peek_member(struct pool *p)
{
	unsigned i, start;

	if (p->policy != DB_POLICY_ROUNDROBIN)
		return pool_pick(p, NULL, 0, 0);
	start = atomic_load(&p->rr);
	for (i = 0; i < (unsigned)p->n; i++)
		if (backend_usable(p->members[(start + i) % p->n]))
			return p->members[(start + i) % p->n];
	return NULL;
}

int
cmd_route_test(struct cmd_ctx *x, int argc, char **argv)
{
	static struct route_matcher *m;
	struct config *c = dr->cfg;
	uint8_t wire[DNS_MAX_WIRE_NAME];
	char name[DNS_MAX_TEXT_NAME], tb[32];
	const struct croute *r;
	struct backend *b;
	int qtype = DNS_TYPE_A, idx, limited, wl, nl;

	if (argc < 1 || argc > 2)
		return cmd_usage(x);
	if ((wl = dns_text_to_wire(argv[0], wire, sizeof(wire))) == -1 ||
	    (nl = dns_name_to_text(wire, (size_t)wl, 0, name, sizeof(name))) < 0) {
		reply_err(x->r, CTL_ERR_SYNTAX, "bad name \"%s\"", argv[0]);
		return -1;
	}
	if (argc == 2 && dnsname_type_parse(argv[1], &qtype) == -1) {
		reply_err(x->r, CTL_ERR_SYNTAX, "unknown qtype \"%s\"", argv[1]);
		return -1;
	}
	if (m == NULL)
		m = route_matcher_new();
	idx = route_match(m, c->rt, name, (size_t)nl, (uint16_t)qtype, &limited);
	reply_columns(x->r, "name\ttype\troute#\tpattern\taction\tpool\tbackend");
	reply_field(x->r, name);
	reply_field(x->r, dnsname_type_str(qtype, tb, sizeof(tb)));
	if (idx < 0) {
		reply_field_null(x->r);
		reply_field_null(x->r);
		reply_fieldf(x->r, "%s (default)", action_str(c->set.default_action));
		reply_field_null(x->r);
		reply_field_null(x->r);
	} else {
		r = &c->routes[idx];
		reply_field_int(x->r, r->id);
		reply_field(x->r, r->pattern);
		reply_field(x->r, action_str(r->action));
		if (r->pool != NULL) {
			reply_field(x->r, r->pool->name);
			b = peek_member(r->pool);
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
cmd_set(struct cmd_ctx *x, int argc, char **argv)
{
	char err[256];

	if (argc != 2)
		return cmd_usage(x);
	if (settings_check(argv[0], argv[1], err, sizeof(err)) == -1) {
		reply_err(x->r, CTL_ERR_RUNTIME, "%s", err);
		return -1;
	}
	if (db_setting_set(dr->db, argv[0], argv[1]) == -1)
		return cmd_dberr(x);
	return 0;
}

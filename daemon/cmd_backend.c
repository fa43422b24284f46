/*
 * cmd_backend: the backend and pool commands.  Every change goes to the
 * store inside the caller's transaction (cmd.c); the snapshot is rebuilt
 * from the store afterwards, so nothing here touches live structures but
 * `readd`, which is an action, not a change of state.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "argparse.h"
#include "backend_opts.h"
#include "cmd.h"
#include "ctlproto.h"
#include "dnsmsg.h"
#include "dnsnames.h"
#include "dnsrouted.h"
#include "util.h"

static int
bad_name(struct cmd_ctx *x, const char *what, const char *s)
{
	reply_err(x->r, CTL_ERR_SYNTAX, "bad %s name \"%s\": use 1-%d letters, "
	    "digits, '.', '_' or '-'", what, s, ARG_NAME_MAX - 1);
	return -1;
}

static void
row_to_conf(const struct db_backend *b, struct backend_conf *c)
{
	snprintf(c->addr, sizeof(c->addr), "%s", b->addr);
	c->weight = b->weight;
	c->tcp = b->transport == DB_TRANSPORT_TCP;
	snprintf(c->qname, sizeof(c->qname), "%s", b->check_qname);
	c->qtype = b->check_qtype;
	c->qclass = b->check_qclass;
	c->check_tcp = b->check_tcp;
	c->rcode = b->check_rcode;
	c->interval_ms = b->interval_ms;
	c->timeout_ms = b->timeout_ms;
	c->fall = b->fall;
	c->rise = b->rise;
}

static void
conf_to_row(const struct backend_conf *c, struct db_backend *b)
{
	snprintf(b->addr, sizeof(b->addr), "%s", c->addr);
	b->weight = c->weight;
	b->transport = c->tcp ? DB_TRANSPORT_TCP : DB_TRANSPORT_UDP;
	snprintf(b->check_qname, sizeof(b->check_qname), "%s", c->qname);
	b->check_qtype = c->qtype;
	b->check_qclass = c->qclass;
	b->check_tcp = c->check_tcp;
	b->check_rcode = c->rcode;
	b->interval_ms = (int)c->interval_ms;
	b->timeout_ms = (int)c->timeout_ms;
	b->fall = c->fall;
	b->rise = c->rise;
}

/* Options onto the row b, pools into po (shared with dnsroutectl). */
static int
parse_backend_opts(struct cmd_ctx *x, int argc, char **argv,
    struct db_backend *b, struct backend_pools *po, int allow_addr)
{
	struct backend_conf c;
	char err[1400];

	row_to_conf(b, &c);
	if (backend_opts_parse(argc, argv, allow_addr, &c, po, x->spec->usage,
	    err, sizeof(err)) == -1) {
		reply_err(x->r, CTL_ERR_SYNTAX, "%s", err);
		return -1;
	}
	conf_to_row(&c, b);
	return 0;
}

/* Make b a member of exactly the listed pools, creating missing ones. */
static int
set_pools(struct cmd_ctx *x, int64_t backend_id, struct backend_pools *po)
{
	struct db_pool p;
	int i, rc;

	if (db_member_del_backend(dr->db, backend_id) == -1)
		return cmd_dberr(x);
	for (i = 0; i < po->n; i++) {
		rc = db_pool_get(dr->db, po->name[i], &p);
		if (rc == -1)
			return cmd_dberr(x);
		if (rc == 1) {
			memset(&p, 0, sizeof(p));
			snprintf(p.name, sizeof(p.name), "%s", po->name[i]);
			p.policy = DB_POLICY_ROUNDROBIN;
			if (db_pool_add(dr->db, &p) == -1)
				return cmd_dberr(x);
			reply_notice(x->r, "pool %s created (policy roundrobin)",
			    p.name);
		}
		if (db_member_add(dr->db, p.id, backend_id) == -1)
			return cmd_dberr(x);
	}
	return 0;
}

static void
backend_defaults(struct db_backend *b)
{
	struct backend_conf c;

	memset(b, 0, sizeof(*b));
	backend_conf_defaults(&c);
	conf_to_row(&c, b);
	b->admin = DB_ADMIN_ENABLED;
}

int
cmd_backend_add(struct cmd_ctx *x, int argc, char **argv)
{
	struct db_backend b;
	struct backend_pools po;
	char err[256];
	int rc;

	if (argc < 2)
		return cmd_usage(x);
	if (!arg_name_ok(argv[0]))
		return bad_name(x, "backend", argv[0]);
	backend_defaults(&b);
	snprintf(b.name, sizeof(b.name), "%s", argv[0]);
	if (backend_addr_norm(argv[1], b.addr, sizeof(b.addr), err,
	    sizeof(err)) == -1) {
		reply_err(x->r, CTL_ERR_SYNTAX, "%s", err);
		return -1;
	}
	memset(&po, 0, sizeof(po));
	if (parse_backend_opts(x, argc - 2, argv + 2, &b, &po, 0) == -1)
		return -1;
	rc = db_backend_get(dr->db, b.name, &b);
	if (rc == 0) {
		reply_err(x->r, CTL_ERR_RUNTIME, "backend \"%s\" exists", b.name);
		return -1;
	}
	if (rc == -1 || db_backend_add(dr->db, &b) == -1)
		return cmd_dberr(x);
	return set_pools(x, b.id, &po);
}

static int
get_backend(struct cmd_ctx *x, const char *name, struct db_backend *b)
{
	int rc = db_backend_get(dr->db, name, b);

	if (rc == -1)
		return cmd_dberr(x);
	if (rc == 1 && cmd_registered(x, "backend", name, 0) == 0) {
		reply_err(x->r, CTL_ERR_RUNTIME, "backend \"%s\" does not exist",
		    name);
		return -1;
	}
	if (rc == 1)
		return -1;
	return 0;
}

int
cmd_backend_set(struct cmd_ctx *x, int argc, char **argv)
{
	struct db_backend b;
	struct backend_pools po;

	if (argc < 3)
		return cmd_usage(x);
	if (get_backend(x, argv[0], &b) == -1)
		return -1;
	memset(&po, 0, sizeof(po));
	if (parse_backend_opts(x, argc - 1, argv + 1, &b, &po, 1) == -1)
		return -1;
	if (db_backend_update(dr->db, &b) == -1)
		return cmd_dberr(x);
	if (po.given)
		return set_pools(x, b.id, &po);
	return 0;
}

int
cmd_backend_del(struct cmd_ctx *x, int argc, char **argv)
{
	struct db_backend b;

	if (argc != 1)
		return cmd_usage(x);
	if (get_backend(x, argv[0], &b) == -1)
		return -1;
	if (db_backend_del(dr->db, b.id) == -1)
		return cmd_dberr(x);
	return 0;
}

int
cmd_backend_admin(struct cmd_ctx *x, int argc, char **argv)
{
	struct db_backend b;
	int to;

	if (argc != 1)
		return cmd_usage(x);
	if (get_backend(x, argv[0], &b) == -1)
		return -1;
	switch (x->spec->id) {
	case CMD_BACKEND_DRAIN:
		if (b.admin == DB_ADMIN_DISABLED) {
			reply_err(x->r, CTL_ERR_RUNTIME, "backend \"%s\" is "
			    "disabled; enable it first", b.name);
			return -1;
		}
		to = DB_ADMIN_DRAINED;
		break;
	case CMD_BACKEND_UNDRAIN:
		if (b.admin != DB_ADMIN_DRAINED) {
			reply_err(x->r, CTL_ERR_RUNTIME, "backend \"%s\" is %s, "
			    "not drained", b.name, admin_state_str(b.admin));
			return -1;
		}
		to = DB_ADMIN_ENABLED;
		break;
	case CMD_BACKEND_ENABLE:
		to = DB_ADMIN_ENABLED;
		break;
	default:
		to = DB_ADMIN_DISABLED;
		break;
	}
	if (b.admin == to) {
		reply_ok(x->r, "backend %s was already %s", b.name,
		    admin_state_str(to));
		return 0;
	}
	b.admin = to;
	if (db_backend_update(dr->db, &b) == -1)
		return cmd_dberr(x);
	reply_ok(x->r, "backend %s %s", b.name, admin_state_str(to));
	return 0;
}

static void
readd_done(void *arg, struct backend *b, int ok, const char *detail)
{
	struct ctl_conn *conn = arg;
	struct reply *r = ctl_conn_reply(conn);

	if (b != NULL) {
		reply_field(r, b->name);
		reply_field(r, ok ? "up" : "failed");
		reply_field(r, detail != NULL ? detail : "");
		reply_end_row(r);
		/* Count in the reply itself: any failure makes the final
		 * line an error. */
		if (!ok)
			r->failed++;
		return;
	}
	if (r->failed)
		reply_err(r, CTL_ERR_RUNTIME, "readd failed for %d backend%s",
		    r->failed, r->failed == 1 ? "" : "s");
	else
		reply_ok(r, "readd done");
	reply_async_done(conn);
}

int
cmd_backend_readd(struct cmd_ctx *x, int argc, char **argv)
{
	struct backend *b = NULL;
	int n;

	if (argc != 1)
		return cmd_usage(x);
	if (dr->health == NULL) {
		reply_err(x->r, CTL_ERR_RUNTIME, "health checks are not running");
		return -1;
	}
	if (strcmp(argv[0], "all") != 0 &&
	    (b = config_backend(dr->cfg, argv[0])) == NULL) {
		reply_err(x->r, CTL_ERR_RUNTIME, "backend \"%s\" does not exist"
		    "%s", argv[0], x->sess->in_txn ? " (yet: readd acts on the "
		    "committed state)" : "");
		return -1;
	}
	if (b != NULL && atomic_load(&b->admin) == DB_ADMIN_DISABLED) {
		reply_err(x->r, CTL_ERR_RUNTIME, "backend \"%s\" is disabled; "
		    "enable it instead", b->name);
		return -1;
	}
	reply_columns(x->r, "backend\tresult\tdetail");
	x->r->failed = 0;
	/* The checks answer later, from the event loop, never from here. */
	n = health_readd(dr->health, b, readd_done, x->sess->conn);
	if (n == 0)
		reply_ok(x->r, "no backend needed a readd");
	else
		reply_async_begin(x->r);
	return 0;
}

int
cmd_pool_add(struct cmd_ctx *x, int argc, char **argv)
{
	struct db_pool p;
	int rc;

	if (argc != 1 && argc != 3)
		return cmd_usage(x);
	if (!arg_name_ok(argv[0]))
		return bad_name(x, "pool", argv[0]);
	memset(&p, 0, sizeof(p));
	snprintf(p.name, sizeof(p.name), "%s", argv[0]);
	p.policy = DB_POLICY_ROUNDROBIN;
	if (argc == 3) {
		if (strcmp(argv[1], "policy") != 0)
			return cmd_usage(x);
		if ((p.policy = policy_parse(argv[2])) == -1)
			return cmd_usage(x);
		if (p.policy == DB_POLICY_RACE || p.policy == DB_POLICY_FANOUT) {
			reply_err(x->r, CTL_ERR_RUNTIME, "policy %s is not "
			    "implemented yet", argv[2]);
			return -1;
		}
	}
	rc = db_pool_get(dr->db, p.name, &p);
	if (rc == 0) {
		reply_err(x->r, CTL_ERR_RUNTIME, "pool \"%s\" exists", argv[0]);
		return -1;
	}
	if (rc == -1 || db_pool_add(dr->db, &p) == -1)
		return cmd_dberr(x);
	return 0;
}

static int
get_pool(struct cmd_ctx *x, const char *name, struct db_pool *p)
{
	int rc = db_pool_get(dr->db, name, p);

	if (rc == -1)
		return cmd_dberr(x);
	if (rc == 1 && cmd_registered(x, "pool", name, 0) == 0) {
		reply_err(x->r, CTL_ERR_RUNTIME, "pool \"%s\" does not exist", name);
		return -1;
	}
	if (rc == 1)
		return -1;
	return 0;
}

int
cmd_pool_set(struct cmd_ctx *x, int argc, char **argv)
{
	struct db_pool p;
	int pol;

	if (argc != 3 || strcmp(argv[1], "policy") != 0 ||
	    (pol = policy_parse(argv[2])) == -1)
		return cmd_usage(x);
	if (pol == DB_POLICY_RACE || pol == DB_POLICY_FANOUT) {
		reply_err(x->r, CTL_ERR_RUNTIME, "policy %s is not implemented "
		    "yet", argv[2]);
		return -1;
	}
	if (get_pool(x, argv[0], &p) == -1)
		return -1;
	p.policy = pol;
	if (db_pool_update(dr->db, &p) == -1)
		return cmd_dberr(x);
	return 0;
}

int
cmd_pool_del(struct cmd_ctx *x, int argc, char **argv)
{
	struct db_pool p;

	if (argc != 1)
		return cmd_usage(x);
	if (get_pool(x, argv[0], &p) == -1)
		return -1;
	if (db_pool_del(dr->db, p.id) == -1)
		return cmd_dberr(x);
	return 0;
}

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

static int
is_backend_opt(const char *s)
{
	static const char *const opts[] = { "pool", "weight", "transport",
	    "check", "check-transport", "interval", "timeout", "fall", "rise",
	    "rcode", "addr" };
	size_t i;

	for (i = 0; i < NELEMS(opts); i++)
		if (strcmp(s, opts[i]) == 0)
			return 1;
	return 0;
}

#define MAX_POOLS_PER_CMD 64	/* what export can write back */

struct backend_opts {
	const char	*pools[MAX_POOLS_PER_CMD];
	int		 npools;
	int		 pools_given;
};

/* Parse options into b (and the pool list).  allow_addr for `set`. */
static int
parse_backend_opts(struct cmd_ctx *x, int argc, char **argv,
    struct db_backend *b, struct backend_opts *po, int allow_addr)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	char err[256];
	long v;
	int i, t;

	for (i = 0; i < argc; i++) {
		const char *o = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;

		if (val == NULL) {
			reply_err(x->r, CTL_ERR_SYNTAX, "%s needs a value", o);
			return -1;
		}
		i++;
		if (strcmp(o, "pool") == 0) {
			po->pools_given = 1;
			if (strcmp(val, "-") == 0)
				continue;
			if (!arg_name_ok(val))
				return bad_name(x, "pool", val);
			if (po->npools == MAX_POOLS_PER_CMD) {
				reply_err(x->r, CTL_ERR_SYNTAX, "too many pools");
				return -1;
			}
			po->pools[po->npools++] = val;
		} else if (strcmp(o, "addr") == 0 && allow_addr) {
			if (addr_parse(val, 53, &ss, &sl, err, sizeof(err)) == -1) {
				reply_err(x->r, CTL_ERR_SYNTAX, "%s", err);
				return -1;
			}
			addr_fmt((struct sockaddr *)&ss, b->addr, sizeof(b->addr));
		} else if (strcmp(o, "weight") == 0) {
			if (parse_int(val, 1, 1000, &v) == -1)
				goto bad;
			b->weight = (int)v;
		} else if (strcmp(o, "transport") == 0) {
			if (strcmp(val, "udp") == 0)
				b->transport = DB_TRANSPORT_UDP;
			else if (strcmp(val, "tcp") == 0)
				b->transport = DB_TRANSPORT_TCP;
			else
				goto bad;
		} else if (strcmp(o, "check") == 0) {
			uint8_t wire[DNS_MAX_WIRE_NAME];

			if (dns_text_to_wire(val, wire, sizeof(wire)) == -1 ||
			    strlen(val) >= sizeof(b->check_qname))
				goto bad;
			snprintf(b->check_qname, sizeof(b->check_qname), "%s", val);
			/* Optional type and class follow the name. */
			if (i + 1 < argc && !is_backend_opt(argv[i + 1]) &&
			    dnsname_type_parse(argv[i + 1], &t) == 0) {
				b->check_qtype = t;
				i++;
				if (i + 1 < argc && !is_backend_opt(argv[i + 1]) &&
				    dnsname_class_parse(argv[i + 1], &t) == 0) {
					b->check_qclass = t;
					i++;
				}
			}
		} else if (strcmp(o, "check-transport") == 0) {
			if (strcmp(val, "udp") == 0)
				b->check_tcp = 0;
			else if (strcmp(val, "tcp") == 0)
				b->check_tcp = 1;
			else
				goto bad;
		} else if (strcmp(o, "interval") == 0) {
			if (arg_duration_ms(val, 1, 50, 3600000, &v) == -1)
				goto bad;
			b->interval_ms = (int)v;
		} else if (strcmp(o, "timeout") == 0) {
			if (arg_duration_ms(val, 0, 10, 60000, &v) == -1)
				goto bad;
			b->timeout_ms = (int)v;
		} else if (strcmp(o, "fall") == 0) {
			if (parse_int(val, 1, 100, &v) == -1)
				goto bad;
			b->fall = (int)v;
		} else if (strcmp(o, "rise") == 0) {
			if (parse_int(val, 1, 100, &v) == -1)
				goto bad;
			b->rise = (int)v;
		} else if (strcmp(o, "rcode") == 0) {
			if (strcmp(val, "any") == 0)
				b->check_rcode = -1;
			else if (dnsname_rcode_parse(val, &t) == 0)
				b->check_rcode = t;
			else
				goto bad;
		} else {
			reply_err(x->r, CTL_ERR_SYNTAX, "unknown option \"%s\"; "
			    "usage: %s", o, x->spec->usage);
			return -1;
		}
		continue;
bad:
		reply_err(x->r, CTL_ERR_SYNTAX, "bad value \"%s\" for %s", val, o);
		return -1;
	}
	/* A timeout longer than the interval is allowed: checks never
	 * overlap, so the next one waits for the answer or the timeout. */
	return 0;
}

/* Make b a member of exactly the listed pools, creating missing ones. */
static int
set_pools(struct cmd_ctx *x, int64_t backend_id, struct backend_opts *po)
{
	struct db_pool p;
	int i, rc;

	if (db_member_del_backend(dr->db, backend_id) == -1)
		return cmd_dberr(x);
	for (i = 0; i < po->npools; i++) {
		rc = db_pool_get(dr->db, po->pools[i], &p);
		if (rc == -1)
			return cmd_dberr(x);
		if (rc == 1) {
			memset(&p, 0, sizeof(p));
			snprintf(p.name, sizeof(p.name), "%s", po->pools[i]);
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
	memset(b, 0, sizeof(*b));
	b->transport = DB_TRANSPORT_UDP;
	b->weight = 1;
	b->admin = DB_ADMIN_ENABLED;
	snprintf(b->check_qname, sizeof(b->check_qname), "id.server.");
	b->check_qtype = DNS_TYPE_TXT;
	b->check_qclass = DNS_CLASS_CH;
	b->check_tcp = 1;
	b->check_rcode = -1;
	b->interval_ms = 5000;
	b->timeout_ms = 1000;
	b->fall = 3;
	b->rise = 2;
}

int
cmd_backend_add(struct cmd_ctx *x, int argc, char **argv)
{
	struct db_backend b;
	struct backend_opts po;
	struct sockaddr_storage ss;
	socklen_t sl;
	char err[256];
	int rc;

	if (argc < 2)
		return cmd_usage(x);
	if (!arg_name_ok(argv[0]))
		return bad_name(x, "backend", argv[0]);
	backend_defaults(&b);
	snprintf(b.name, sizeof(b.name), "%s", argv[0]);
	if (addr_parse(argv[1], 53, &ss, &sl, err, sizeof(err)) == -1) {
		reply_err(x->r, CTL_ERR_SYNTAX, "%s", err);
		return -1;
	}
	addr_fmt((struct sockaddr *)&ss, b.addr, sizeof(b.addr));
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
	if (rc == 1) {
		reply_err(x->r, CTL_ERR_RUNTIME, "backend \"%s\" does not exist",
		    name);
		return -1;
	}
	return 0;
}

int
cmd_backend_set(struct cmd_ctx *x, int argc, char **argv)
{
	struct db_backend b;
	struct backend_opts po;

	if (argc < 3)
		return cmd_usage(x);
	if (get_backend(x, argv[0], &b) == -1)
		return -1;
	memset(&po, 0, sizeof(po));
	if (parse_backend_opts(x, argc - 1, argv + 1, &b, &po, 1) == -1)
		return -1;
	if (db_backend_update(dr->db, &b) == -1)
		return cmd_dberr(x);
	if (po.pools_given)
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
	if (rc == 1) {
		reply_err(x->r, CTL_ERR_RUNTIME, "pool \"%s\" does not exist", name);
		return -1;
	}
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

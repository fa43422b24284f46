/*
 * cmd_show: everything that reads: show *, export, help.  The live tables
 * come from the current snapshot (what queries see); history, settings and
 * export come from the store.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cmd.h"
#include "ctlproto.h"
#include "dnsmsg.h"
#include "dnsnames.h"
#include "dnsrouted.h"
#include "stats.h"
#include "tokenize.h"
#include "util.h"

static void
pending_notice(struct cmd_ctx *x)
{
	if (x->sess->in_txn)
		reply_notice(x->r, "showing the committed state; %d change%s "
		    "pending in this transaction", x->sess->changes,
		    x->sess->changes == 1 ? "" : "s");
}

/* Where a row comes from: nothing for the operator's own, "etcd KEY" for
 * what was registered through etcd (not editable, not exported). */
static void
reply_origin(struct cmd_ctx *x, const char *origin)
{
	if (origin != NULL)
		reply_field(x->r, origin);
	else
		reply_field_null(x->r);
}

static int
no_args(struct cmd_ctx *x, int argc)
{
	if (argc != 0)
		return cmd_usage(x);
	return 0;
}

int
cmd_show_routes(struct cmd_ctx *x, int argc, char **argv)
{
	struct config *c = dr->cfg;
	char tb[32];
	int i;

	(void)argv;
	if (no_args(x, argc) == -1)
		return -1;
	pending_notice(x);
	reply_columns(x->r, "id#\tposition#\tpattern\tqtype\taction\tpool\thits#"
	    "\tcomment\torigin");
	for (i = 0; i < c->nroutes; i++) {
		const struct croute *r = &c->routes[i];

		reply_field_int(x->r, r->id);
		reply_field_int(x->r, r->position);
		reply_field(x->r, r->pattern);
		reply_field(x->r, r->qtype ? dnsname_type_str(r->qtype, tb, sizeof(tb)) : "any");
		reply_field(x->r, action_str(r->action));
		if (r->pool != NULL)
			reply_field(x->r, r->pool->name);
		else
			reply_field_null(x->r);
		reply_field_int(x->r, (long long)atomic_load(&r->hits->hits));
		reply_field(x->r, r->comment);
		reply_origin(x, r->origin);
		reply_end_row(x->r);
	}
	return 0;
}

static void
pools_of(const struct config *c, const struct backend *b, char *out, size_t len)
{
	size_t used = 0;
	int i, k;

	out[0] = '\0';
	for (i = 0; i < c->npools; i++)
		for (k = 0; k < c->pools[i].n; k++)
			if (c->pools[i].members[k] == b) {
				used += snprintf(out + used, used < len ? len - used : 0,
				    "%s%s", used ? "," : "", c->pools[i].name);
				break;
			}
	if (used >= len && len > 4)
		strcpy(out + len - 4, "...");
}

int
cmd_show_backends(struct cmd_ctx *x, int argc, char **argv)
{
	struct config *c = dr->cfg;
	char pools[1024];
	unsigned v;
	int i, crtt;

	(void)argv;
	if (no_args(x, argc) == -1)
		return -1;
	pending_notice(x);
	reply_columns(x->r, "name\taddress\ttransport\tweight#\tadmin\thealth\tpools"
	    "\toutstanding#\tqueries#\tanswers#\tfailures#\trtt_us#\tlatency_us#"
	    "\tcheck_rtt_us#\torigin");
	for (i = 0; i < c->nbackends; i++) {
		struct backend *b = c->backends[i];

		reply_field(x->r, b->name);
		reply_field(x->r, b->addr_text);
		reply_field(x->r, b->transport == DB_TRANSPORT_TCP ? "tcp" : "udp");
		reply_field_int(x->r, atomic_load(&b->weight));
		reply_field(x->r, admin_state_str(atomic_load(&b->admin)));
		reply_field(x->r, health_state_str(atomic_load(&b->health)));
		pools_of(c, b, pools, sizeof(pools));
		if (pools[0] != '\0')
			reply_field(x->r, pools);
		else
			reply_field_null(x->r);
		reply_field_int(x->r, atomic_load(&b->outstanding));
		reply_field_int(x->r, (long long)atomic_load(&b->queries));
		reply_field_int(x->r, (long long)atomic_load(&b->answers));
		reply_field_int(x->r, (long long)atomic_load(&b->failures));
		if ((v = atomic_load(&b->last_rtt_us)) != 0)
			reply_field_int(x->r, v);
		else
			reply_field_null(x->r);
		if ((v = atomic_load(&b->ewma_rtt_us)) != 0)
			reply_field_int(x->r, v);
		else
			reply_field_null(x->r);
		if ((crtt = atomic_load(&b->check_rtt_us)) > 0)
			reply_field_int(x->r, crtt);
		else
			reply_field_null(x->r);
		reply_origin(x, b->origin);
		reply_end_row(x->r);
	}
	return 0;
}

int
cmd_show_pools(struct cmd_ctx *x, int argc, char **argv)
{
	struct config *c = dr->cfg;
	char members[2048];
	size_t used;
	int i, k, up;

	(void)argv;
	if (no_args(x, argc) == -1)
		return -1;
	pending_notice(x);
	reply_columns(x->r, "name\tpolicy\tmembers\tup#\torigin");
	for (i = 0; i < c->npools; i++) {
		struct pool *p = &c->pools[i];

		members[0] = '\0';
		used = 0;
		up = 0;
		for (k = 0; k < p->n; k++) {
			if (used < sizeof(members))
				used += snprintf(members + used,
				    sizeof(members) - used, "%s%s", k ? "," : "",
				    p->members[k]->name);
			up += backend_usable(p->members[k]);
		}
		reply_field(x->r, p->name);
		reply_field(x->r, policy_str(p->policy));
		if (p->n > 0)
			reply_field(x->r, members);
		else
			reply_field_null(x->r);
		reply_field_int(x->r, up);
		reply_origin(x, p->id < 0 ? "etcd" : NULL);
		reply_end_row(x->r);
	}
	return 0;
}

/* Per backend, as more counter rows ("backend:NAME:queries"): queries,
 * answers, failures, and latency percentiles from the histogram (the
 * upper bound, in µs, of the bucket the percentile falls in; no rows
 * before the first answer). */
static void
backend_stats(struct cmd_ctx *x)
{
	static const struct { const char *what; double p; } pct[] = {
		{ "latency-p50-us", 50 }, { "latency-p90-us", 90 },
		{ "latency-p99-us", 99 } };
	struct config *c = dr->cfg;
	struct backend *b;
	size_t k;
	long v;
	int i;

	for (i = 0; i < c->nbackends; i++) {
		b = c->backends[i];
		reply_fieldf(x->r, "backend:%s:queries", b->name);
		reply_field_int(x->r, (long long)atomic_load(&b->queries));
		reply_end_row(x->r);
		reply_fieldf(x->r, "backend:%s:answers", b->name);
		reply_field_int(x->r, (long long)atomic_load(&b->answers));
		reply_end_row(x->r);
		reply_fieldf(x->r, "backend:%s:failures", b->name);
		reply_field_int(x->r, (long long)atomic_load(&b->failures));
		reply_end_row(x->r);
		for (k = 0; k < NELEMS(pct); k++) {
			if ((v = backend_percentile(b, pct[k].p)) < 0)
				break;
			reply_fieldf(x->r, "backend:%s:%s", b->name, pct[k].what);
			reply_field_int(x->r, v);
			reply_end_row(x->r);
		}
	}
}

int
cmd_show_stats(struct cmd_ctx *x, int argc, char **argv)
{
	uint64_t *sum;
	long out = 0;
	int i;

	(void)argv;
	if (no_args(x, argc) == -1)
		return -1;
	sum = xcalloc(stat_ndescs, sizeof(*sum));
	for (i = 0; i < dr->nworkers; i++) {
		stats_sum(&dr->workers[i]->st, sum);
		out += dr->workers[i]->nout;
	}
	reply_columns(x->r, "counter\tvalue#");
	for (i = 0; i < stat_ndescs; i++) {
		reply_field(x->r, stat_descs[i].name);
		reply_field_int(x->r, (long long)sum[i]);
		reply_end_row(x->r);
	}
	reply_field(x->r, "outstanding");
	reply_field_int(x->r, out);
	reply_end_row(x->r);
	reply_field(x->r, "uptime-seconds");
	reply_field_int(x->r, (wall_us() - dr->started_us) / 1000000);
	reply_end_row(x->r);
	cmd_fleet_stats(x);
	free(sum);
	backend_stats(x);
	return 0;
}

struct settings_walk {
	struct cmd_ctx	*x;
	char		 vals[64][256];
};

static int
setting_cb(const char *key, const char *val, void *arg)
{
	struct settings_walk *sw = arg;
	size_t i;

	for (i = 0; i < setting_table_len && i < 64; i++)
		if (strcmp(setting_table[i].name, key) == 0)
			snprintf(sw->vals[i], sizeof(sw->vals[i]), "%s", val);
	return 0;
}

int
cmd_show_settings(struct cmd_ctx *x, int argc, char **argv)
{
	struct settings_walk *sw;
	size_t i;

	(void)argv;
	if (no_args(x, argc) == -1)
		return -1;
	sw = xcalloc(1, sizeof(*sw));
	sw->x = x;
	if (db_setting_foreach(dr->db, setting_cb, sw) == -1) {
		free(sw);
		return cmd_dberr(x);
	}
	reply_columns(x->r, "setting\tvalue\tdefault\tdescription");
	for (i = 0; i < setting_table_len && i < 64; i++) {
		reply_field(x->r, setting_table[i].name);
		reply_field(x->r, sw->vals[i][0] ? sw->vals[i] :
		    setting_table[i].defval);
		reply_field(x->r, setting_table[i].defval);
		reply_field(x->r, setting_table[i].help);
		reply_end_row(x->r);
	}
	cmd_fleet_settings(x);
	free(sw);
	return 0;
}

void
cmd_fmt_time(int64_t us, char *buf, size_t len)
{
	time_t t = (time_t)(us / 1000000);
	struct tm tm;
	char b[32];

	gmtime_r(&t, &tm);
	strftime(b, sizeof(b), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf, len, "%s.%03dZ", b, (int)(us % 1000000 / 1000));
}

static int
parse_last(struct cmd_ctx *x, int argc, char **argv, int *n)
{
	long v;

	*n = 20;
	if (argc == 0)
		return 0;
	if (argc != 2 || strcmp(argv[0], "last") != 0 ||
	    parse_int(argv[1], 1, 1000000, &v) == -1)
		return cmd_usage(x);
	*n = (int)v;
	return 0;
}

static int
health_row(const struct db_health_event *e, void *arg)
{
	struct cmd_ctx *x = arg;
	char tb[48];

	cmd_fmt_time(e->time_us, tb, sizeof(tb));
	reply_field(x->r, tb);
	reply_field(x->r, e->ok ? "ok" : "fail");
	reply_field(x->r, e->from_state ? e->from_state : "-");
	reply_field(x->r, e->to_state ? e->to_state : "-");
	if (e->rtt_us >= 0)
		reply_field_int(x->r, e->rtt_us);
	else
		reply_field_null(x->r);
	reply_field(x->r, e->detail ? e->detail : "");
	reply_end_row(x->r);
	return 0;
}

int
cmd_show_health(struct cmd_ctx *x, int argc, char **argv)
{
	struct db_backend b;
	struct backend *reg;
	int n, rc;

	if (argc < 1 || parse_last(x, argc - 1, argv + 1, &n) == -1)
		return argc < 1 ? cmd_usage(x) : -1;
	rc = db_backend_get(dr->db, argv[0], &b);
	if (rc == -1)
		return cmd_dberr(x);
	if (rc == 1 && (reg = config_backend(dr->cfg, argv[0])) != NULL &&
	    reg->id < 0) {
		/* Registered through etcd: its history is kept the same. */
		b.id = reg->id;
		rc = 0;
	}
	if (rc == 1) {
		reply_err(x->r, CTL_ERR_RUNTIME, "backend \"%s\" does not exist",
		    argv[0]);
		return -1;
	}
	/* Show what is still buffered too. */
	health_flush(dr->health);
	reply_columns(x->r, "time\tcheck\tfrom\tto\trtt_us#\tdetail");
	if (db_health_foreach(dr->db, b.id, n, health_row, x) == -1)
		return cmd_dberr(x);
	return 0;
}

static int
audit_row(const struct db_audit *a, void *arg)
{
	struct cmd_ctx *x = arg;
	char tb[48];

	cmd_fmt_time(a->time_us, tb, sizeof(tb));
	reply_field(x->r, tb);
	reply_field_int(x->r, a->uid);
	reply_field_int(x->r, a->pid);
	reply_field(x->r, a->command);
	reply_field(x->r, a->outcome);
	reply_end_row(x->r);
	return 0;
}

int
cmd_show_audit(struct cmd_ctx *x, int argc, char **argv)
{
	int n;

	if (parse_last(x, argc, argv, &n) == -1)
		return -1;
	reply_columns(x->r, "time\tuid#\tpid#\tcommand\toutcome");
	if (db_audit_foreach(dr->db, n, audit_row, x) == -1)
		return cmd_dberr(x);
	return 0;
}

/* ---- export: commands that rebuild the state ---- */

static void
emit(struct cmd_ctx *x, const char *const *words, int n)
{
	char line[8192], q[4200];
	size_t used = 0;
	int i;

	line[0] = '\0';
	for (i = 0; i < n; i++) {
		if (tok_quote(words[i], q, sizeof(q)) == -1)
			snprintf(q, sizeof(q), "''");
		used += snprintf(line + used, used < sizeof(line) ?
		    sizeof(line) - used : 0, "%s%s", i ? " " : "", q);
	}
	reply_text(x->r, line);
}

static int
export_setting(const char *key, const char *val, void *arg)
{
	const struct setting_spec *sp = setting_lookup(key);
	const char *w[3] = { "set", key, val };

	if (sp != NULL && strcmp(sp->defval, val) != 0)
		emit(arg, w, 3);
	return 0;
}

static int
export_pool(const struct db_pool *p, void *arg)
{
	const char *w[4] = { "pool", "add", p->name, "policy" };
	const char *all[5] = { w[0], w[1], w[2], w[3], policy_str(p->policy) };

	emit(arg, all, 5);
	return 0;
}

struct export_ctx {
	struct cmd_ctx	*x;
	int64_t		 backend_id;
	const char	*pools[64];
	char		 names[64][DB_NAME_MAX];
	int		 npools;
	struct {
		int64_t	id;
		char	name[DB_NAME_MAX];
	}		*pl;
	int		 npl;
};

static int
collect_pool(const struct db_pool *p, void *arg)
{
	struct export_ctx *e = arg;

	e->pl = xrealloc(e->pl, (e->npl + 1) * sizeof(*e->pl));
	e->pl[e->npl].id = p->id;
	snprintf(e->pl[e->npl].name, DB_NAME_MAX, "%s", p->name);
	e->npl++;
	return 0;
}

static int
collect_member(int64_t pool_id, int64_t backend_id, void *arg)
{
	struct export_ctx *e = arg;
	int i;

	if (backend_id != e->backend_id || e->npools == 64)
		return 0;
	for (i = 0; i < e->npl; i++)
		if (e->pl[i].id == pool_id) {
			snprintf(e->names[e->npools], DB_NAME_MAX, "%s",
			    e->pl[i].name);
			e->pools[e->npools] = e->names[e->npools];
			e->npools++;
		}
	return 0;
}

static int
export_backend(const struct db_backend *b, void *arg)
{
	struct export_ctx *e = arg;
	const char *w[4 + 2 * 64 + 24];
	char weight[16], interval[32], timeout[32], fall[16], rise[16],
	    qtype[32], qclass[32], rcode[16];
	int n = 0, i;

	e->backend_id = b->id;
	e->npools = 0;
	if (db_member_foreach(dr->db, collect_member, e) == -1)
		return -1;
	w[n++] = "backend";
	w[n++] = "add";
	w[n++] = b->name;
	w[n++] = b->addr;
	for (i = 0; i < e->npools; i++) {
		w[n++] = "pool";
		w[n++] = e->pools[i];
	}
	snprintf(weight, sizeof(weight), "%d", b->weight);
	snprintf(interval, sizeof(interval), "%dms", b->interval_ms);
	snprintf(timeout, sizeof(timeout), "%d", b->timeout_ms);
	snprintf(fall, sizeof(fall), "%d", b->fall);
	snprintf(rise, sizeof(rise), "%d", b->rise);
	w[n++] = "weight";
	w[n++] = weight;
	w[n++] = "transport";
	w[n++] = b->transport == DB_TRANSPORT_TCP ? "tcp" : "udp";
	w[n++] = "check";
	w[n++] = b->check_qname;
	w[n++] = dnsname_type_str(b->check_qtype, qtype, sizeof(qtype));
	w[n++] = dnsname_class_str(b->check_qclass, qclass, sizeof(qclass));
	w[n++] = "check-transport";
	w[n++] = b->check_tcp ? "tcp" : "udp";
	w[n++] = "interval";
	w[n++] = interval;
	w[n++] = "timeout";
	w[n++] = timeout;
	w[n++] = "fall";
	w[n++] = fall;
	w[n++] = "rise";
	w[n++] = rise;
	w[n++] = "rcode";
	w[n++] = b->check_rcode < 0 ? "any" :
	    dnsname_rcode_str(b->check_rcode, rcode, sizeof(rcode));
	emit(e->x, w, n);
	if (b->admin != DB_ADMIN_ENABLED) {
		const char *a[3] = { "backend",
		    b->admin == DB_ADMIN_DRAINED ? "drain" : "disable", b->name };
		emit(e->x, a, 3);
	}
	return 0;
}

static int
export_route(const struct db_route *r, void *arg)
{
	const char *w[10];
	char qt[32];
	int n = 0;

	w[n++] = "route";
	w[n++] = "add";
	w[n++] = r->pattern;
	if (r->qtype) {
		w[n++] = "qtype";
		w[n++] = dnsname_type_str(r->qtype, qt, sizeof(qt));
	}
	w[n++] = action_str(r->action);
	if (r->action == DB_ACTION_POOL)
		w[n++] = r->pool_name;
	if (r->comment != NULL && r->comment[0] != '\0') {
		w[n++] = "comment";
		w[n++] = r->comment;
	}
	emit(arg, w, n);
	return 0;
}

/* Registered routes are etcd's, not the operator's: say they exist, as a
 * comment, so a reader of the export is not surprised by show routes. */
static void
export_registered_note(struct cmd_ctx *x)
{
	int i, n = 0;

	for (i = 0; i < dr->cfg->nroutes; i++)
		n += dr->cfg->routes[i].id < 0;
	if (n > 0)
		reply_textf(x->r, "# and %d route%s registered through etcd "
		    "(show fleet), not exported", n, n == 1 ? "" : "s");
}

int
cmd_export(struct cmd_ctx *x, int argc, char **argv)
{
	struct export_ctx e;
	int rc;

	(void)argv;
	if (no_args(x, argc) == -1)
		return -1;
	memset(&e, 0, sizeof(e));
	e.x = x;
	reply_textf(x->r, "# dnsroute state exported %s", "by dnsrouted " DNSROUTE_VERSION);
	rc = db_setting_foreach(dr->db, export_setting, x);
	if (rc == 0)
		rc = db_pool_foreach(dr->db, export_pool, x);
	if (rc == 0)
		rc = db_pool_foreach(dr->db, collect_pool, &e);
	if (rc == 0)
		rc = db_backend_foreach(dr->db, export_backend, &e);
	if (rc == 0)
		rc = db_route_foreach(dr->db, export_route, x);
	if (rc == 0)
		export_registered_note(x);
	free(e.pl);
	if (rc != 0)
		return cmd_dberr(x);
	return 0;
}

int
cmd_help(struct cmd_ctx *x, int argc, char **argv)
{
	const struct cmd_spec *c;
	char err[256];
	size_t i;
	int nw;

	if (argc == 0) {
		for (i = 0; i < cmd_table_len; i++)
			reply_textf(x->r, "%-16s %s", cmd_table[i].words,
			    cmd_table[i].help);
		return 0;
	}
	if ((c = cmd_lookup(argc, argv, &nw, err, sizeof(err))) == NULL) {
		/* "help route": every command that starts with it. */
		int found = 0;

		for (i = 0; i < cmd_table_len; i++)
			if (strncmp(cmd_table[i].words, argv[0],
			    strlen(argv[0])) == 0) {
				reply_textf(x->r, "%s", cmd_table[i].usage);
				found = 1;
			}
		if (!found) {
			reply_err(x->r, CTL_ERR_SYNTAX, "%s", err);
			return -1;
		}
		return 0;
	}
	reply_textf(x->r, "usage: %s", c->usage);
	reply_textf(x->r, "%s", c->help);
	reply_textf(x->r, "example: %s", c->example);
	return 0;
}

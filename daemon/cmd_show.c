/*
 * cmd_show: the show commands and help.  The live tables come from the
 * current snapshot (what queries see); history and settings from the
 * store.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cmd.h"
#include "config.h"
#include "ctlproto.h"
#include "db.h"
#include "dnsmsg.h"
#include "dnsnames.h"
#include "health.h"
#include "pace.h"
#include "settings.h"
#include "state.h"
#include "stats.h"
#include "util.h"
#include "worker.h"

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

static void
pending_notice(struct cmd_ctx *x)
{
	if (x->sess->in_txn)
		reply_notice(x->r, "showing the committed state; %d change%s "
		    "pending in this transaction", x->sess->changes,
		    x->sess->changes == 1 ? "" : "s");
}

static int
by_position(const void *a, const void *b)
{
	const struct croute *x = *(const struct croute *const *)a;
	const struct croute *y = *(const struct croute *const *)b;

	return x->position < y->position ? -1 : x->position > y->position;
}

int
cmd_show_routes(struct cmd_ctx *x, const union cmd_args *u)
{
	struct config *c = dr->cfg;
	const struct croute **v;
	const struct pool *p;
	char tb[32];
	int i;

	(void)u;
	pending_notice(x);
	reply_columns(x->r, "id#\tposition#\tpattern\tqtype\topcode\ttsig"
	    "\taction\tpool\thits#\tcomment\torigin");
	/* The snapshot keeps UPDATE routes apart (config.h); an operator
	 * reads them all in the order they were placed. */
	v = xcalloc((size_t)c->nroutes + 1, sizeof(*v));
	for (i = 0; i < c->nroutes; i++)
		v[i] = &c->routes[i];
	qsort(v, (size_t)c->nroutes, sizeof(*v), by_position);
	for (i = 0; i < c->nroutes; i++) {
		const struct croute *r = v[i];

		reply_field_int(x->r, r->id);
		reply_field_int(x->r, r->position);
		reply_field(x->r, r->pattern);
		reply_field(x->r, r->qtype ? dnsname_type_str(r->qtype, tb,
		    sizeof(tb)) : "any");
		reply_field(x->r, r->opcode == DNS_OPCODE_UPDATE ? "update" :
		    "query");
		if (r->opcode == DNS_OPCODE_UPDATE)
			reply_field(x->r, r->tsig_optional ? "optional" :
			    "required");
		else
			reply_field_null(x->r);
		reply_field(x->r, words_name(&words_action, r->action));
		if ((p = config_route_pool(c, r)) != NULL)
			reply_field(x->r, p->name);
		else
			reply_field_null(x->r);
		reply_field_int(x->r, (long long)route_hits_count(r->hits));
		reply_field(x->r, r->comment);
		reply_origin(x, r->origin);
		reply_end_row(x->r);
	}
	free(v);
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
				used += snprintf(out + used,
				    used < len ? len - used : 0, "%s%s",
				    used ? "," : "", c->pools[i].name);
				break;
			}
	if (used >= len && len > 4)
		strcpy(out + len - 4, "...");
}

int
cmd_show_backends(struct cmd_ctx *x, const union cmd_args *u)
{
	struct config *c = dr->cfg;
	char pools[1024];
	unsigned v;
	int i, crtt;

	(void)u;
	pending_notice(x);
	reply_columns(x->r, "name\taddress\ttransport\tweight#\tadmin"
	    "\thealth\tpools\tkey\toutstanding#\tqueries#\tanswers#"
	    "\tfailures#\trtt_us#\tlatency_us#\tcheck_rtt_us#"
	    "\tclient_address\trace_wins#\torigin");
	for (i = 0; i < c->nbackends; i++) {
		struct backend *b = c->backends[i];

		reply_field(x->r, b->name);
		reply_field(x->r, b->addr_text);
		reply_field(x->r, words_name(&words_transport, b->transport));
		reply_field_int(x->r, atomic_load(&b->weight));
		reply_field(x->r, words_name(&words_admin,
		    atomic_load(&b->admin)));
		reply_field(x->r, words_name(&words_health,
		    atomic_load(&b->health)));
		pools_of(c, b, pools, sizeof(pools));
		if (pools[0] != '\0')
			reply_field(x->r, pools);
		else
			reply_field_null(x->r);
		if (c->brows[i].conf.key[0] != '\0')
			reply_field(x->r, c->brows[i].conf.key);
		else
			reply_field_null(x->r);
		reply_field_int(x->r, backend_outstanding(b));
		reply_field_int(x->r, (long long)BACKEND_WSUM(b, queries));
		reply_field_int(x->r, (long long)BACKEND_WSUM(b, answers));
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
		reply_field(x->r, words_name(&words_client_addr,
		    atomic_load(&b->client_addr)));
		reply_field_int(x->r, (long long)atomic_load(&b->race_wins));
		reply_origin(x, b->origin);
		reply_end_row(x->r);
	}
	return 0;
}

int
cmd_show_pools(struct cmd_ctx *x, const union cmd_args *u)
{
	struct config *c = dr->cfg;
	char members[2048], good[64];
	size_t used;
	int i, k, up;

	(void)u;
	pending_notice(x);
	reply_columns(x->r, "name\tpolicy\tconfirm\tgood\ttc_retry\tmembers"
	    "\tup#\torigin");
	for (i = 0; i < c->npools; i++) {
		struct pool *p = &c->pools[i];

		members[0] = '\0';
		used = 0;
		up = 0;
		for (k = 0; k < p->n; k++) {
			if (used < sizeof(members))
				used += snprintf(members + used,
				    sizeof(members) - used, "%s%s",
				    k ? "," : "", p->members[k]->name);
			up += backend_usable(p->members[k]);
		}
		reply_field(x->r, p->name);
		reply_field(x->r, words_name(&words_policy, p->policy));
		if (p->policy == POLICY_FANOUT)
			reply_field(x->r, p->confirm_all ? "all" : "any");
		else
			reply_field_null(x->r);
		words_set_format(&words_good, (unsigned)p->good, good,
		    sizeof(good));
		reply_field(x->r, good);
		reply_field(x->r, words_name(&words_yesno, p->tc_retry));
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

void
cmd_stat_row(struct cmd_ctx *x, const char *name, long long v,
    const char *what)
{
	reply_field(x->r, name);
	reply_field_int(x->r, v);
	reply_field(x->r, what);
	reply_end_row(x->r);
}

/* Per backend, as more counter rows ("backend:NAME:queries"): queries,
 * answers, failures, race wins, and latency percentiles from the
 * histogram (no rows before the first answer). */
static void
backend_stats(struct cmd_ctx *x)
{
	static const struct { const char *what; double p; } pct[] = {
		{ "p50", 50 }, { "p90", 90 }, { "p99", 99 } };
	struct config *c = dr->cfg;
	struct backend *b;
	char name[CONF_NAME_MAX + 64], what[128];
	size_t k;
	long v;
	int i;

	for (i = 0; i < c->nbackends; i++) {
		b = c->backends[i];
		snprintf(name, sizeof(name), "backend:%s:queries", b->name);
		cmd_stat_row(x, name, (long long)BACKEND_WSUM(b, queries),
		    "queries sent to the backend (with retries)");
		snprintf(name, sizeof(name), "backend:%s:answers", b->name);
		cmd_stat_row(x, name, (long long)BACKEND_WSUM(b, answers),
		    "answers accepted from the backend");
		snprintf(name, sizeof(name), "backend:%s:failures", b->name);
		cmd_stat_row(x, name, (long long)atomic_load(&b->failures),
		    "timeouts, refused connections and bad answers");
		snprintf(name, sizeof(name), "backend:%s:race-wins", b->name);
		cmd_stat_row(x, name, (long long)atomic_load(&b->race_wins),
		    "races of a race pool its answer won");
		for (k = 0; k < NELEMS(pct); k++) {
			if ((v = backend_percentile(b, pct[k].p)) < 0)
				break;
			snprintf(name, sizeof(name), "backend:%s:latency-%s-us",
			    b->name, pct[k].what);
			snprintf(what, sizeof(what), "not a measurement: the "
			    "upper bound of the latency histogram bucket that "
			    "holds the %.0fth percentile", pct[k].p);
			cmd_stat_row(x, name, v, what);
		}
	}
}

static void
stat_row(void *arg, const char *name, long long v, const char *help)
{
	cmd_stat_row(arg, name, v, help);
}

int
cmd_show_stats(struct cmd_ctx *x, const union cmd_args *u)
{
	uint64_t *sum;
	long out = 0;
	int i;

	(void)u;
	sum = xcalloc(stat_ndescs, sizeof(*sum));
	for (i = 0; i < dr->nworkers; i++) {
		stats_sum(worker_stats(dr->workers[i]), sum);
		out += worker_outstanding(dr->workers[i]);
	}
	reply_columns(x->r, "counter\tvalue#\tdescription");
	for (i = 0; i < stat_ndescs; i++)
		cmd_stat_row(x, stat_descs[i].name, (long long)sum[i],
		    stat_descs[i].help);
	cmd_stat_row(x, "outstanding", out,
	    "queries waiting for a backend now");
	cmd_stat_row(x, "uptime-seconds",
	    (wall_us() - dr->started_us) / 1000000,
	    "seconds since the daemon started");
	state_route_stats(stat_row, x);
	pace_stats(stat_row, x);
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
cmd_show_settings(struct cmd_ctx *x, const union cmd_args *u)
{
	struct settings_walk *sw;
	size_t i;

	(void)u;
	sw = xcalloc(1, sizeof(*sw));
	sw->x = x;
	if (db_setting_foreach(x->db, setting_cb, sw) == -1) {
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
cmd_show_health(struct cmd_ctx *x, const union cmd_args *u)
{
	const struct cmd_show *a = &u->show;
	struct db_backend b;
	struct backend *reg;
	int rc;

	rc = db_backend_get(x->db, a->name, &b);
	if (rc == -1)
		return cmd_dberr(x);
	if (rc == 1 && (reg = config_backend(dr->cfg, a->name)) != NULL &&
	    reg->id < 0) {
		/* Registered through etcd: its history is kept the same. */
		b.id = reg->id;
		rc = 0;
	}
	if (rc == 1)
		return cmd_fail(x, "backend \"%s\" does not exist", a->name);
	/* Show what is still buffered too. */
	health_flush(dr->health);
	reply_columns(x->r, "time\tcheck\tfrom\tto\trtt_us#\tdetail");
	if (db_health_foreach(x->db, b.id, a->n, health_row, x) == -1)
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
cmd_show_audit(struct cmd_ctx *x, const union cmd_args *u)
{
	reply_columns(x->r, "time\tuid#\tpid#\tcommand\toutcome");
	if (db_audit_foreach(x->db, u->show.n, audit_row, x) == -1)
		return cmd_dberr(x);
	return 0;
}

static void
help_line(void *arg, const char *line)
{
	reply_text(arg, line);
}

int
cmd_help(struct cmd_ctx *x, const union cmd_args *u)
{
	char err[512];

	if (cmd_help_lines(u->words.n, u->words.w, help_line, x->r, err,
	    sizeof(err)) == -1) {
		reply_err(x->r, CTL_ERR_SYNTAX, "%s", err);
		return -1;
	}
	return 0;
}

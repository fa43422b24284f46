/*
 * cmd_fleet: what the router shows about etcd and the fleet: `show fleet`,
 * and its rows in `show stats` and `show settings`.  Read from the etcd
 * client, the registry and the fleet mirror as they are now; nothing here
 * waits on etcd.
 *
 * `show fleet` is one table with a kind column, so one reply carries the
 * client (kind etcd), each endpoint, each mirrored set of keys (kind
 * registrations; kind state, the shared state, from cmd_share.c) and each
 * router seen, and a script can pick rows by kind.
 */
#include <stdio.h>
#include <string.h>

#include "cmd.h"
#include "ctlproto.h"
#include "etcd.h"
#include "fleet.h"
#include "registry.h"
#include "share.h"
#include "state.h"
#include "util.h"

static void
field_time(struct cmd_ctx *x, int64_t us)
{
	char tb[48];

	if (us <= 0) {
		reply_field_null(x->r);
		return;
	}
	cmd_fmt_time(us, tb, sizeof(tb));
	reply_field(x->r, tb);
}

static void
field_rev(struct cmd_ctx *x, int64_t rev)
{
	if (rev > 0)
		reply_field_int(x->r, rev);
	else
		reply_field_null(x->r);
}

static void
row_begin(struct cmd_ctx *x, const char *kind, const char *name,
    const char *state)
{
	reply_field(x->r, kind);
	reply_field(x->r, name);
	reply_field(x->r, state);
}

static void
etcd_rows(struct cmd_ctx *x)
{
	struct etcd_status st;
	struct etcd_endpoint_status ep;
	char detail[1024], tb[48];
	int i;

	etcd_status(dr->etcd, &st);
	row_begin(x, "etcd", st.endpoint, st.connected ? "connected" :
	    "disconnected");
	field_rev(x, st.revision);
	reply_field_null(x->r);
	field_time(x, st.since_us);
	if (st.connected)
		snprintf(detail, sizeof(detail), "etcd %s via %s; %llu "
		    "failover%s", st.server_version, st.api,
		    (unsigned long long)st.failovers,
		    st.failovers == 1 ? "" : "s");
	else
		snprintf(detail, sizeof(detail), "%s", st.last_error[0] ?
		    st.last_error : "connecting");
	reply_field(x->r, detail);
	reply_end_row(x->r);

	for (i = 0; i < etcd_nendpoints(dr->etcd); i++) {
		etcd_endpoint(dr->etcd, i, &ep);
		row_begin(x, "endpoint", ep.url, ep.current ? (st.connected ?
		    "in use" : "trying") : ep.ok ? "standby" : "failing");
		field_rev(x, ep.revision);
		reply_field_null(x->r);
		field_time(x, ep.last_error_us);
		if (ep.last_error[0] != '\0') {
			cmd_fmt_time(ep.last_error_us, tb, sizeof(tb));
			snprintf(detail, sizeof(detail), "last error %s: %s", tb,
			    ep.last_error);
			reply_field(x->r, detail);
		} else
			reply_field_null(x->r);
		reply_end_row(x->r);
	}
}

static void
registry_row(struct cmd_ctx *x)
{
	struct registry_status st;
	char detail[1024];
	size_t used;

	registry_status(dr->registry, &st);
	row_begin(x, "registrations", st.prefix, st.live ? "live" : "stale");
	field_rev(x, st.revision);
	reply_field_int(x->r, (long long)(st.lag_s * 1000));
	field_time(x, st.applied_us);
	used = (size_t)snprintf(detail, sizeof(detail), "%d registered, %d "
	    "route%s, %d malformed (%llu seen)", st.registrations, st.routes,
	    st.routes == 1 ? "" : "s", st.malformed,
	    (unsigned long long)st.malformed_total);
	if (st.pending > 0 && used < sizeof(detail))
		used += (size_t)snprintf(detail + used, sizeof(detail) - used,
		    ", %d change%s pending", st.pending,
		    st.pending == 1 ? "" : "s");
	if (st.last_error[0] != '\0' && used < sizeof(detail))
		snprintf(detail + used, sizeof(detail) - used, "; %s",
		    st.last_error);
	reply_field(x->r, detail);
	reply_end_row(x->r);
}

/* A router's row: its shared state's revision, how far behind etcd's
 * head it may be, and when it last applied a change. */
static void
router_row(struct cmd_ctx *x, const struct fleet_router *fr,
    const struct share_status *ss)
{
	char detail[1024], tb[48];
	int64_t lag_ms;

	row_begin(x, "router", fr->id, fr->self ? "self" : "up");
	field_rev(x, fr->state);
	if (fr->state == 0 || ss->head_revision == 0)
		reply_field_null(x->r);
	else {
		lag_ms = 0;
		if (fr->state != ss->head_revision)
			lag_ms = (wall_us() - ss->head_time_us) / 1000;
		reply_field_int(x->r, lag_ms > 0 ? lag_ms : 0);
	}
	field_time(x, fr->state_us);
	cmd_fmt_time(fr->started_us, tb, sizeof(tb));
	snprintf(detail, sizeof(detail), "host %s, listen %s, dnsrouted %s, "
	    "up since %s, registrations at revision %lld", fr->host,
	    fr->listen, fr->version, fr->started_us > 0 ? tb : "?",
	    (long long)fr->registrations);
	reply_field(x->r, detail);
	reply_end_row(x->r);
}

static void
router_rows(struct cmd_ctx *x)
{
	struct fleet_status st;
	struct fleet_router fr;
	struct share_status ss;
	char detail[1024];
	int i, self_seen = 0;

	fleet_status(dr->fleet, &st);
	memset(&ss, 0, sizeof(ss));
	if (dr->share != NULL)
		share_status(dr->share, &ss);
	for (i = 0; i < fleet_nrouters(dr->fleet); i++) {
		fleet_router(dr->fleet, i, &fr);
		self_seen |= fr.self;
		router_row(x, &fr, &ss);
	}
	if (!self_seen) {
		row_begin(x, "router", st.id, "self, not published");
		reply_field_null(x->r);
		reply_field_null(x->r);
		reply_field_null(x->r);
		snprintf(detail, sizeof(detail), "%s%s", st.key,
		    st.last_error[0] ? "; " : "");
		if (st.last_error[0] != '\0')
			snprintf(detail + strlen(detail), sizeof(detail) -
			    strlen(detail), "%s", st.last_error);
		reply_field(x->r, detail);
		reply_end_row(x->r);
	}
}

int
cmd_show_fleet(struct cmd_ctx *x, const union cmd_args *u)
{
	(void)u;
	reply_columns(x->r, "kind\tname\tstate\trevision#\tlag_ms#\tchanged\t"
	    "detail");
	if (dr->etcd == NULL) {
		row_begin(x, "etcd", "-", "off");
		reply_field_null(x->r);
		reply_field_null(x->r);
		reply_field_null(x->r);
		reply_field(x->r, "dnsrouted runs without -e: no fleet, no "
		    "registrations");
		reply_end_row(x->r);
		cmd_share_rows(x);
		return 0;
	}
	etcd_rows(x);
	if (dr->registry != NULL)
		registry_row(x);
	cmd_share_rows(x);
	router_rows(x);
	return 0;
}

void
cmd_fleet_stats(struct cmd_ctx *x)
{
	struct etcd_status st;
	struct registry_status rs;

	if (dr->etcd == NULL)
		return;
	etcd_status(dr->etcd, &st);
	cmd_stat_row(x, "etcd-connected", st.connected,
	    "1 while connected to an etcd endpoint");
	cmd_stat_row(x, "etcd-revision", st.revision,
	    "the highest etcd revision seen");
	cmd_stat_row(x, "etcd-failovers", (long long)st.failovers,
	    "moves to another etcd endpoint");
	cmd_stat_row(x, "etcd-requests-failed", (long long)st.failures,
	    "requests to etcd that failed, any reason");
	if (dr->registry != NULL) {
		registry_status(dr->registry, &rs);
		cmd_stat_row(x, "registrations", rs.registrations,
		    "registrations applied, in the snapshot");
		cmd_stat_row(x, "registrations-revision", rs.revision,
		    "the etcd revision the registrations are at");
		cmd_stat_row(x, "registrations-lag-ms", (long long)(rs.lag_s * 1000),
		    "how long the mirror may be stale");
		cmd_stat_row(x, "registrations-malformed", rs.malformed,
		    "keys whose value is malformed now");
		cmd_stat_row(x, "registrations-malformed-seen",
		    (long long)rs.malformed_total,
		    "malformed values seen");
	}
	cmd_stat_row(x, "fleet-routers", fleet_nrouters(dr->fleet),
	    "routers of the fleet seen in etcd");
	cmd_share_stats(x);
}

void
cmd_fleet_settings(struct cmd_ctx *x)
{
	struct etcd_status st;
	char val[512];

	if (dr->etcd == NULL)
		snprintf(val, sizeof(val), "off");
	else {
		etcd_status(dr->etcd, &st);
		snprintf(val, sizeof(val), "%s %s", st.connected ? "connected to" :
		    "disconnected from", st.endpoint);
	}
	reply_field(x->r, "etcd");
	reply_field(x->r, val);
	reply_field(x->r, "off");
	reply_field(x->r, "set with dnsrouted -e, -E and -R, not here; "
	    "details in show fleet");
	reply_end_row(x->r);
	cmd_share_setting(x);
}

/*
 * cmd_zone: route lookup, the many-names form of route test.  dnsroutectl's
 * zone split and zone check send every owner name of a zone through it, a
 * few hundred names a request, several requests in flight.
 *
 * Each name is parsed and printed back the way the query path presents a
 * query name (lowercase, trailing dot, \DDD escapes) and matched by the
 * daemon's own matcher against the table queries use, so the answer is the
 * one a query gets.  Inside an open transaction the table is the one the
 * session's pending changes make: a snapshot built from the store as it
 * stands in the transaction, built once per change (txn_serial) and kept
 * until the next, never published.  A pool's usable members are the ones
 * a query could be sent to now: enabled (as the snapshot says) and up.
 *
 * A request costs a few microseconds a name; the control loop serves other
 * clients between requests.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "config.h"
#include "ctlproto.h"
#include "db.h"
#include "dnsmsg.h"
#include "dnsnames.h"
#include "route.h"
#include "state.h"
#include "util.h"

/* The snapshot of the open transaction whose serial this is. */
static struct {
	uint64_t	 serial;
	struct config	*c;
} pending;

/* Per table: the query types its routes filter on, each once. */
static struct {
	uint64_t	 gen;
	int		 n;
	uint16_t	*types;
} filtered;

static struct config *
lookup_config(struct cmd_ctx *x)
{
	char err[512];

	if (!x->sess->in_txn) {
		config_unref(pending.c);
		pending.c = NULL;
		return dr->cfg;
	}
	if (pending.c != NULL && pending.serial == x->sess->txn_serial)
		return pending.c;
	config_unref(pending.c);
	if ((pending.c = state_build(err, sizeof(err))) == NULL) {
		reply_err(x->r, CTL_ERR_RUNTIME, "the pending routes cannot be "
		    "built: %s", err);
		return NULL;
	}
	pending.serial = x->sess->txn_serial;
	return pending.c;
}

static void
filtered_types(const struct route_table *t)
{
	int i, k;

	if (filtered.gen == t->gen)
		return;
	filtered.gen = t->gen;
	filtered.n = 0;
	free(filtered.types);
	filtered.types = xcalloc(t->n + 1, sizeof(*filtered.types));
	for (i = 0; t->any_qtype && i < t->n; i++) {
		if (t->qtypes[i] == 0)
			continue;
		for (k = 0; k < filtered.n; k++)
			if (filtered.types[k] == t->qtypes[i])
				break;
		if (k == filtered.n)
			filtered.types[filtered.n++] = t->qtypes[i];
	}
}

static int
member_usable(const struct config *c, const struct backend *b)
{
	int i;

	for (i = 0; i < c->nbackends; i++)
		if (c->backends[i] == b)
			return c->brows[i].admin == ADMIN_ENABLED &&
			    atomic_load(&b->health) == HEALTH_UP;
	return 0;
}

/* "ns1,ns2" for each pool of c, or "" when none is usable. */
static char **
usable_members(const struct config *c)
{
	char **m = xcalloc(c->npools + 1, sizeof(*m));
	size_t len;
	int i, k;

	for (i = 0; i < c->npools; i++) {
		const struct pool *p = &c->pools[i];

		len = 1;
		for (k = 0; k < p->n; k++)
			len += strlen(p->members[k]->name) + 1;
		m[i] = xcalloc(1, len);
		for (k = 0; k < p->n; k++) {
			if (!member_usable(c, p->members[k]))
				continue;
			if (m[i][0] != '\0')
				strcat(m[i], ",");
			strcat(m[i], p->members[k]->name);
		}
	}
	return m;
}

static void
row(struct cmd_ctx *x, const struct config *c, char **members,
    const char *name, int qtype, int idx)
{
	const struct croute *r;
	char tb[32];

	reply_field(x->r, name);
	if (qtype != 0)
		reply_field(x->r, dnsname_type_str(qtype, tb, sizeof(tb)));
	else
		reply_field_null(x->r);
	if (idx < 0) {
		reply_field_null(x->r);
		reply_fieldf(x->r, "%s (default)",
		    words_name(&words_action, c->set.default_action));
		reply_field_null(x->r);
		reply_field_null(x->r);
	} else {
		r = &c->routes[idx];
		reply_field_int(x->r, r->id);
		reply_field(x->r, words_name(&words_action, r->action));
		if (r->pool >= 0) {
			reply_field(x->r, c->pools[r->pool].name);
			if (members[r->pool][0] != '\0')
				reply_field(x->r, members[r->pool]);
			else
				reply_field_null(x->r);
		} else {
			reply_field_null(x->r);
			reply_field_null(x->r);
		}
	}
	reply_end_row(x->r);
}

int
cmd_route_lookup(struct cmd_ctx *x, const union cmd_args *u)
{
	static struct route_matcher *m;
	char *const *argv = u->words.w;
	int argc = u->words.n;
	struct config *c;
	uint8_t wire[DNS_MAX_WIRE_NAME];
	char name[DNS_MAX_TEXT_NAME], **members;
	int i, k, idx, tidx, limited, nlimited = 0, wl, nl;

	/* Every name is checked before the first row goes out. */
	for (i = 0; i < argc; i++)
		if ((wl = dns_text_to_wire(argv[i], wire, sizeof(wire))) == -1) {
			reply_err(x->r, CTL_ERR_SYNTAX, "bad name \"%s\"",
			    argv[i]);
			return -1;
		}
	if ((c = lookup_config(x)) == NULL)
		return -1;
	if (m == NULL)
		m = route_matcher_new();
	filtered_types(c->rt);
	members = usable_members(c);
	reply_columns(x->r, "name\tqtype\troute#\taction\tpool\tmembers");
	for (i = 0; i < argc; i++) {
		wl = dns_text_to_wire(argv[i], wire, sizeof(wire));
		nl = dns_wire_to_text(wire, name, sizeof(name));
		/* Type 0 is no query type: only routes without a qtype
		 * filter match it, which is what every other type gets. */
		idx = route_match(m, c->rt, name, (size_t)nl, 0, &limited);
		nlimited += limited;
		row(x, c, members, name, 0, idx);
		for (k = 0; k < filtered.n; k++) {
			if (filtered.types[k] == DNS_TYPE_AXFR ||
			    filtered.types[k] == DNS_TYPE_IXFR) {
				/* A transfer goes where a route names it,
				 * or is refused: a row when one does. */
				tidx = route_match(m, c->xrt, name,
				    (size_t)nl, filtered.types[k], &limited);
				nlimited += limited;
				if (tidx >= 0)
					row(x, c, members, name,
					    filtered.types[k], c->xroute[tidx]);
				continue;
			}
			tidx = route_match(m, c->rt, name, (size_t)nl,
			    filtered.types[k], &limited);
			nlimited += limited;
			if (tidx != idx)
				row(x, c, members, name, filtered.types[k],
				    tidx);
		}
	}
	for (i = 0; i < c->npools; i++)
		free(members[i]);
	free(members);
	if (nlimited > 0)
		reply_notice(x->r, "%d match%s hit the match limit (counted as "
		    "no match, as queries count them)", nlimited,
		    nlimited == 1 ? "" : "es");
	return 0;
}

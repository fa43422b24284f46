/*
 * cmdtab: the command table (see cmdtab.h).  The order of the table is the
 * order of `help`.  Each grammar is written once, here; the usage lines
 * `help` and the error messages show are generated from it.
 */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "cmdtab.h"
#include "settings.h"
#include "words.h"

/* Where a value goes: offset and size of field f of struct T. */
#define AT(T, f)	.off = offsetof(T, f), .size = sizeof(((T *)0)->f)
/* Grammar entries; the last arguments are the flags and then, if any,
 * more designated initializers (.min, .def, .words ...). */
#define POS(T, f, m, k, st, ...) \
	{ .form = A_POS, .meta = m, .kind = k, .store = st, AT(T, f), \
	  .flags = __VA_ARGS__ }
#define OPT(T, f, kw, m, k, st, ...) \
	{ .form = A_OPT, .key = kw, .meta = m, .kind = k, .store = st, \
	  AT(T, f), .flags = __VA_ARGS__ }
#define MORE(T, f, m, k, st, ...) \
	{ .form = A_MORE, .meta = m, .kind = k, .store = st, AT(T, f), \
	  .flags = __VA_ARGS__ }
#define CHOICE(T, f, ws, ...) \
	{ .form = A_CHOICE, .kind = K_WORD, .words = &ws, .store = S_INT, \
	  AT(T, f), .flags = __VA_ARGS__ }
#define FLAG(T, f, kw, ...) \
	{ .form = A_FLAG, .key = kw, .store = S_INT, AT(T, f), \
	  .flags = __VA_ARGS__ }
#define INCLUDE(list)	{ .form = A_INCLUDE, .sub = list }
#define END		{ .form = A_END }

#define B	struct cmd_backend
#define N	struct cmd_name
#define P	struct cmd_pool
#define R	struct cmd_route
#define T	struct cmd_route_test
#define S	struct cmd_show

/* The options of backend add and backend set, with their defaults. */
static const struct cmd_arg backend_opts[] = {
	{ .form = A_OPT, .key = "pool", .meta = "POOL", .kind = K_POOL,
	  .store = S_PTRV, AT(B, pools), .off2 = offsetof(B, npools),
	  .flags = ARG_F_REPEAT | ARG_F_DASH },
	OPT(B, conf.weight, "weight", "N", K_INT, S_INT, 0, .min = 1,
	    .max = 1000, .def = 1),
	OPT(B, conf.transport, "transport", NULL, K_WORD, S_INT, 0,
	    .words = &words_transport, .def = TRANSPORT_UDP),
	OPT(B, conf.check_qname, "check", "QNAME", K_QNAME, S_STR, 0,
	    .defs = "id.server."),
	MORE(B, conf.check_qtype, "QTYPE", K_QTYPE, S_INT, ARG_F_OPT,
	    .def = 16),
	MORE(B, conf.check_qclass, "CLASS", K_QCLASS, S_INT, ARG_F_OPT,
	    .def = 3),
	OPT(B, conf.check_tcp, "check-transport", NULL, K_WORD, S_INT, 0,
	    .words = &words_transport, .def = TRANSPORT_TCP),
	OPT(B, conf.interval_ms, "interval", "SEC", K_SECONDS, S_INT, 0,
	    .min = 50, .max = 3600000, .def = 5000),
	OPT(B, conf.timeout_ms, "timeout", "MS", K_MS, S_INT, 0, .min = 10,
	    .max = 60000, .def = 1000),
	OPT(B, conf.fall, "fall", "N", K_INT, S_INT, 0, .min = 1, .max = 100,
	    .def = 3),
	OPT(B, conf.rise, "rise", "N", K_INT, S_INT, 0, .min = 1, .max = 100,
	    .def = 2),
	OPT(B, conf.check_rcode, "rcode", "RCODE", K_RCODE, S_INT, 0,
	    .alt = "any", .def = -1),
	OPT(B, conf.key, "key", "KEY", K_KEY, S_STR, ARG_F_DASH, .defs = ""),
	OPT(B, conf.client_addr, "client-address", NULL, K_WORD, S_INT, 0,
	    .words = &words_client_addr, .def = CLIENT_ADDR_OFF),
	END
};

static const struct cmd_arg backend_add_args[] = {
	POS(B, name, "NAME", K_NAME, S_PTR, 0),
	POS(B, conf.addr, "ADDR[:PORT]", K_ADDR, S_STR, 0, .min = 53),
	INCLUDE(backend_opts),
	END
};

static const struct cmd_arg backend_set_args[] = {
	POS(B, name, "NAME", K_BACKEND, S_PTR, 0),
	OPT(B, conf.addr, "addr", "ADDR[:PORT]", K_ADDR, S_STR, 0,
	    .min = 53),
	INCLUDE(backend_opts),
	END
};

static const struct cmd_arg backend_name[] = {
	POS(N, name, "NAME", K_BACKEND, S_PTR, 0),
	END
};

static const struct cmd_arg backend_readd_args[] = {
	POS(N, name, "NAME", K_BACKEND, S_PTR, 0, .alt = "all"),
	END
};

/* The options of pool add and pool set, with their defaults. */
static const struct cmd_arg pool_opts[] = {
	OPT(P, conf.policy, "policy", NULL, K_WORD, S_INT, 0,
	    .words = &words_policy, .def = POLICY_ROUNDROBIN),
	OPT(P, conf.confirm, "confirm", NULL, K_WORD, S_INT, 0,
	    .words = &words_confirm, .def = CONFIRM_ALL),
	OPT(P, conf.good, "good", "ANSWER[,ANSWER]", K_WORDSET, S_INT, 0,
	    .words = &words_good, .def = 1 << GOOD_ANSWER),
	OPT(P, conf.tc_retry, "tc-retry", NULL, K_WORD, S_INT, 0,
	    .words = &words_yesno, .def = NO),
	END
};

static const struct cmd_arg pool_add_args[] = {
	POS(P, name, "NAME", K_NAME, S_PTR, 0),
	INCLUDE(pool_opts),
	END
};

static const struct cmd_arg pool_set_args[] = {
	POS(P, name, "NAME", K_POOL, S_PTR, 0),
	INCLUDE(pool_opts),
	END
};

#define KY	struct cmd_key

static const struct cmd_arg key_add_args[] = {
	POS(KY, name, "NAME", K_KEY, S_STR, 0),
	POS(KY, alg, "ALGORITHM", K_WORD, S_INT, 0,
	    .words = &words_tsig_alg),
	POS(KY, secret, "SECRET", K_SECRET, S_PTR, 0),
	END
};

static const struct cmd_arg key_name[] = {
	POS(KY, name, "NAME", K_KEY, S_STR, 0),
	END
};

static const struct cmd_arg export_args[] = {
	FLAG(struct cmd_export, secrets, "secrets", 0),
	END
};

static const struct cmd_arg pool_name[] = {
	POS(P, name, "NAME", K_POOL, S_PTR, 0),
	END
};

static const struct cmd_arg route_add_args[] = {
	POS(R, pattern, "REGEX", K_REGEX, S_PTR, 0),
	OPT(R, qtype, "qtype", "TYPE", K_QFILTER, S_INT, 0),
	OPT(R, opcode, "opcode", NULL, K_WORD, S_INT, 0,
	    .words = &words_opcode, .def = ROUTE_QUERY),
	OPT(R, tsig, "tsig", NULL, K_WORD, S_INT, 0, .words = &words_tsig,
	    .def = TSIG_REQUIRED),
	CHOICE(R, action, words_action, ARG_F_REQ, .valfor = ACTION_POOL),
	MORE(R, pool, "POOL", K_POOL, S_PTR, 0),
	OPT(R, position, "at", "POSITION", K_INT, S_INT, 0, .min = 1,
	    .max = CONF_MAX_ROUTES),
	OPT(R, comment, "comment", "TEXT", K_TEXT, S_PTR, 0, .defs = ""),
	END
};

static const struct cmd_arg route_set_args[] = {
	POS(R, id, "ID", K_ROUTE, S_I64, 0),
	OPT(R, qtype, "qtype", "TYPE", K_QFILTER, S_INT, ARG_F_DASH),
	OPT(R, opcode, "opcode", NULL, K_WORD, S_INT, 0,
	    .words = &words_opcode),
	OPT(R, tsig, "tsig", NULL, K_WORD, S_INT, 0, .words = &words_tsig),
	CHOICE(R, action, words_action, 0, .valfor = ACTION_POOL),
	MORE(R, pool, "POOL", K_POOL, S_PTR, 0),
	OPT(R, comment, "comment", "TEXT", K_TEXT, S_PTR, 0, .defs = ""),
	END
};

static const struct cmd_arg route_id[] = {
	POS(R, id, "ID", K_ROUTE, S_I64, 0),
	END
};

static const struct cmd_arg route_move_args[] = {
	POS(R, id, "ID", K_ROUTE, S_I64, 0),
	POS(R, position, "POSITION", K_INT, S_INT, 0, .min = 1,
	    .max = CONF_MAX_ROUTES),
	END
};

static const struct cmd_arg route_test_args[] = {
	POS(T, qname, "QNAME", K_QNAME, S_PTR, 0),
	POS(T, qtype, "QTYPE", K_QTYPE, S_INT, ARG_F_OPT, .def = 1),
	END
};

static const struct cmd_arg show_health_args[] = {
	POS(S, name, "NAME", K_BACKEND, S_PTR, 0),
	OPT(S, n, "last", "N", K_INT, S_INT, 0, .min = 1, .max = 1000000,
	    .def = 20),
	END
};

static const struct cmd_arg show_audit_args[] = {
	OPT(S, n, "last", "N", K_INT, S_INT, 0, .min = 1, .max = 1000000,
	    .def = 20),
	END
};

static const struct cmd_arg show_recent_args[] = {
	POS(S, n, "N", K_INT, S_INT, ARG_F_OPT, .min = 1, .max = 4096,
	    .def = 20),
	POS(S, regex, "REGEX", K_REGEX, S_PTR, ARG_F_OPT),
	END
};

static const struct cmd_arg trace_args[] = {
	POS(struct cmd_trace, regex, "REGEX", K_REGEX, S_PTR, ARG_F_OPT),
	OPT(struct cmd_trace, client, "client", "ADDR[:PORT]", K_CLIENT,
	    S_PTR, 0),
	OPT(struct cmd_trace, backend, "backend", "NAME", K_BACKEND, S_PTR,
	    0),
	OPT(struct cmd_trace, limit, "limit", "N", K_INT, S_INT, 0, .min = 1,
	    .max = 1000000000),
	OPT(struct cmd_trace, seconds, "seconds", "S", K_INT, S_INT, 0,
	    .min = 1, .max = 7 * 86400),
	END
};

static const struct cmd_arg set_args[] = {
	POS(struct cmd_set, key, "SETTING", K_SETTING, S_PTR, 0),
	POS(struct cmd_set, value, "VALUE", K_TEXT, S_PTR, 0),
	END
};

static const struct cmd_arg replace_args[] = {
	FLAG(struct cmd_replace, dry_run, "dry-run", 0),
	END
};

static const struct cmd_arg begin_args[] = {
	FLAG(struct cmd_begin, batch, "batch", 0),
	END
};

static const struct cmd_arg help_args[] = {
	{ .form = A_POS, .meta = "COMMAND", .kind = K_COMMAND,
	  .store = S_WORDS, AT(struct cmd_words, w),
	  .off2 = offsetof(struct cmd_words, n),
	  .flags = ARG_F_OPT | ARG_F_REST },
	END
};

/* Many names a request (zone split and check send hundreds): each is
 * parsed by the handler, as the query path parses a query's name. */
static const struct cmd_arg route_lookup_args[] = {
	{ .form = A_POS, .meta = "NAME...", .kind = K_TEXT,
	  .store = S_WORDS, AT(struct cmd_words, w),
	  .off2 = offsetof(struct cmd_words, n), .flags = ARG_F_REST },
	END
};

#define Z	struct cmd_zone

static const struct cmd_arg zone_split_args[] = {
	POS(Z, file, "ZONEFILE", K_PATH, S_PTR, 0),
	POS(Z, dir, "DIR", K_PATH, S_PTR, 0),
	OPT(Z, origin, "origin", "NAME", K_QNAME, S_PTR, 0),
	OPT(Z, assume, "assume", NULL, K_WORD, S_INT, 0,
	    .words = &words_assume, .def = ASSUME_NOTHING),
	END
};

static const struct cmd_arg zone_check_args[] = {
	POS(Z, file, "ZONEFILE", K_PATH, S_PTR, 0),
	OPT(Z, origin, "origin", "NAME", K_QNAME, S_PTR, 0),
	FLAG(Z, query, "query", 0),
	OPT(Z, rate, "rate", "QPS", K_INT, S_INT, 0, .min = 1,
	    .max = 1000000, .def = 1000),
	OPT(Z, timeout_ms, "timeout", "MS", K_INT, S_INT, 0, .min = 10,
	    .max = 60000, .def = 2000),
	END
};

/* Commands that change something need something to change. */
static int
needs_option(struct cmd *c, char *err, size_t errlen)
{
	const struct cmd_arg *first = &c->spec->args[0];

	if (c->given == 1 && first->form == A_POS) {
		snprintf(err, errlen, "%s needs something to change",
		    c->spec->words);
		return -1;
	}
	return 0;
}

static int
set_check(struct cmd *c, char *err, size_t errlen)
{
	struct cmd_set *s = &c->a.set;

	return settings_canon(s->key, s->value, s->canon, sizeof(s->canon),
	    err, errlen);
}

const struct cmd_spec cmd_table[] = {
	{ CMD_BACKEND_ADD, "backend add", backend_add_args,
	  "add a backend nameserver, as a member of existing pools",
	  "backend add ns-ab 127.0.0.1:5301 pool ab pool apex",
	  CMD_F_MUTATES, NULL },
	{ CMD_BACKEND_SET, "backend set", backend_set_args,
	  "change a backend's settings; pool POOL... sets the exact list of "
	  "pools, pool - leaves them all",
	  "backend set ns-ab weight 3 interval 2",
	  CMD_F_MUTATES, needs_option },
	{ CMD_BACKEND_DEL, "backend del", backend_name,
	  "remove a backend (in-flight queries finish)", "backend del ns-old",
	  CMD_F_MUTATES, NULL },
	{ CMD_BACKEND_DRAIN, "backend drain", backend_name,
	  "send no new queries to a backend; in-flight ones finish",
	  "backend drain ns-ab", CMD_F_MUTATES, NULL },
	{ CMD_BACKEND_UNDRAIN, "backend undrain", backend_name,
	  "let a drained backend take queries again", "backend undrain ns-ab",
	  CMD_F_MUTATES, NULL },
	{ CMD_BACKEND_ENABLE, "backend enable", backend_name,
	  "enable a disabled backend", "backend enable ns-ab",
	  CMD_F_MUTATES, NULL },
	{ CMD_BACKEND_DISABLE, "backend disable", backend_name,
	  "take a backend out of service and stop checking it",
	  "backend disable ns-ab", CMD_F_MUTATES, NULL },
	{ CMD_BACKEND_READD, "backend readd", backend_readd_args,
	  "check a failed backend now and serve from it again on success",
	  "backend readd ns-ab", CMD_F_LIVE, NULL },
	{ CMD_POOL_ADD, "pool add", pool_add_args,
	  "add a pool of backends: how a query picks its members (policy), "
	  "what a race takes as a winning answer (good: with nodata, "
	  "nxdomain), when a fanout pool answers an UPDATE NOERROR (confirm: "
	  "all or any of its members confirmed), whether the router fetches a "
	  "truncated UDP answer again over TCP (tc-retry)",
	  "pool add apex policy race good answer,nxdomain",
	  CMD_F_MUTATES, NULL },
	{ CMD_POOL_SET, "pool set", pool_set_args,
	  "change a pool's options", "pool set apex policy first tc-retry yes",
	  CMD_F_MUTATES, needs_option },
	{ CMD_POOL_DEL, "pool del", pool_name,
	  "remove a pool no route uses", "pool del old",
	  CMD_F_MUTATES, NULL },
	{ CMD_KEY_ADD, "key add", key_add_args,
	  "add a TSIG key (its secret in base64, as tsig-keygen prints it): "
	  "a sender's, or the router's towards a backend (backend set B key "
	  "NAME)",
	  "key add ddns-client. hmac-sha256 c2VjcmV0LW9mLWF0LWxlYXN0LTE2",
	  CMD_F_MUTATES, NULL },
	{ CMD_KEY_SET, "key set", key_add_args,
	  "give a TSIG key another algorithm or secret (a rotation)",
	  "key set ddns-client. hmac-sha256 bmV3LXNlY3JldC1vZi0xNi1vY3RldHM=",
	  CMD_F_MUTATES, NULL },
	{ CMD_KEY_DEL, "key del", key_name,
	  "remove a TSIG key no backend uses", "key del ddns-client.",
	  CMD_F_MUTATES, NULL },
	{ CMD_ROUTE_ADD, "route add", route_add_args,
	  "add a route: names matching REGEX (lowercase, trailing dot) go to "
	  "POOL; with opcode update, the zone of an UPDATE goes to a fanout "
	  "pool (signed, unless tsig optional); a zone transfer (AXFR, IXFR) "
	  "only by a route for its qtype",
	  "route add '^[ab][^.]*\\.example\\.$' pool ab comment 'a-b half'",
	  CMD_F_MUTATES, NULL },
	{ CMD_ROUTE_SET, "route set", route_set_args,
	  "change a route's filter, action or comment; it keeps its id, "
	  "position and hits", "route set 3 comment 'to the new servers'",
	  CMD_F_MUTATES | CMD_F_IDS, needs_option },
	{ CMD_ROUTE_DEL, "route del", route_id, "remove a route",
	  "route del 3", CMD_F_MUTATES | CMD_F_IDS, NULL },
	{ CMD_ROUTE_MOVE, "route move", route_move_args,
	  "move a route to another position (1 is tried first)",
	  "route move 3 1", CMD_F_MUTATES | CMD_F_IDS, NULL },
	{ CMD_ROUTE_TEST, "route test", route_test_args,
	  "say which route and backend a query would get, sending nothing",
	  "route test www.example. A", 0, NULL },
	{ CMD_ROUTE_LOOKUP, "route lookup", route_lookup_args,
	  "route many names at once, as queries would be (also the pending "
	  "routes of an open transaction): route, action, pool and its usable "
	  "members per name, and a row per query type that a qtype route sends "
	  "elsewhere",
	  "route lookup www.example. mail.example.", 0, NULL },
	{ CMD_ZONE_SPLIT, "zone split", zone_split_args,
	  "cut a zone file into one slice per pool (DIR/POOL.zone) by the "
	  "routes, each slice with what it needs to answer alone",
	  "zone split example.zone slices origin example.", CMD_F_CTLONLY,
	  NULL },
	{ CMD_ZONE_CHECK, "zone check", zone_check_args,
	  "prove every name of a zone is routed to a pool with a usable "
	  "member; with query, that the member has it",
	  "zone check example.zone query rate 2000", CMD_F_CTLONLY, NULL },
	{ CMD_SHOW_ROUTES, "show routes", NULL,
	  "list the routes in the order they are tried", "show routes", 0,
	  NULL },
	{ CMD_SHOW_BACKENDS, "show backends", NULL,
	  "list backends with their state and counters", "show backends", 0,
	  NULL },
	{ CMD_SHOW_POOLS, "show pools", NULL,
	  "list pools, their policy and members", "show pools", 0, NULL },
	{ CMD_SHOW_KEYS, "show keys", NULL,
	  "list TSIG keys: name, algorithm, secret size and who uses them "
	  "(never the secret)", "show keys", 0, NULL },
	{ CMD_SHOW_STATS, "show stats", NULL,
	  "query counters by transport, rcode and outcome", "show stats", 0,
	  NULL },
	{ CMD_SHOW_SETTINGS, "show settings", NULL,
	  "list settings with their values and defaults", "show settings", 0,
	  NULL },
	{ CMD_SHOW_HEALTH, "show health", show_health_args,
	  "a backend's health history", "show health ns-ab last 20", 0, NULL },
	{ CMD_SHOW_AUDIT, "show audit", show_audit_args,
	  "who changed what, and when", "show audit last 10", 0, NULL },
	{ CMD_SHOW_RECENT, "show recent", show_recent_args,
	  "the last N queries done (default 20, at most 4096), or the last N "
	  "whose name matches REGEX", "show recent 20 example", 0, NULL },
	{ CMD_SHOW_FLEET, "show fleet", NULL,
	  "etcd endpoints, registrations from etcd and the routers of the fleet",
	  "show fleet", 0, NULL },
	{ CMD_TRACE, "trace", trace_args,
	  "stream a line per matching query as it completes, until N lines, "
	  "S seconds or Ctrl-C", "trace '^www' limit 10", CMD_F_STREAM, NULL },
	{ CMD_SET, "set", set_args, "change a setting",
	  "set default-action refuse", CMD_F_MUTATES, set_check },
	{ CMD_EXPORT, "export", export_args,
	  "print the commands that rebuild the current state (the keys' "
	  "secrets only with secrets)", "export", 0, NULL },
	{ CMD_REPLACE, "replace", replace_args,
	  "make the state equal to the commands that follow as data (as "
	  "export prints them); dnsroutectl -f FILE --replace sends them",
	  "replace dry-run", CMD_F_MUTATES | CMD_F_BODY, NULL },
	{ CMD_FLEET_JOIN, "fleet join", replace_args,
	  "share this router's state through etcd (dnsrouted -e, -E): seed "
	  "the fleet with it when etcd holds none, else take the fleet's, "
	  "listing what that changes here", "fleet join dry-run",
	  CMD_F_MUTATES | CMD_F_FLEET, NULL },
	{ CMD_FLEET_LEAVE, "fleet leave", NULL,
	  "stop sharing: keep the state as it is, changes made here stay here",
	  "fleet leave", CMD_F_MUTATES | CMD_F_FLEET, NULL },
	{ CMD_HELP, "help", help_args, "list commands, or explain one",
	  "help route add", 0, NULL },
	{ CMD_BEGIN, "begin", begin_args,
	  "open a transaction: later changes apply together at commit; with "
	  "batch (dnsroutectl -f sends it), the changes after one that fails "
	  "are not run", "begin", CMD_F_TXN, NULL },
	{ CMD_COMMIT, "commit", NULL, "apply the open transaction", "commit",
	  CMD_F_TXN, NULL },
	{ CMD_ABORT, "abort", NULL, "drop the open transaction", "abort",
	  CMD_F_TXN, NULL },
	{ CMD_QUIT, "quit", NULL, "leave the shell", "quit", CMD_F_CTLONLY,
	  NULL },
};
const size_t cmd_table_len = sizeof(cmd_table) / sizeof(cmd_table[0]);

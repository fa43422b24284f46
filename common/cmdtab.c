/*
 * cmdtab: the command language of dnsroute, declared once.  The order of
 * the table is the order of `help`.
 */
#include <stdio.h>
#include <string.h>

#include "cmdtab.h"

#define BACKEND_OPTS "pool=<pool> weight=<n> transport=udp|tcp check=<qname> " \
	"check-transport=udp|tcp " \
	"interval=<n> timeout=<n> fall=<n> rise=<n> rcode=<rcode>"

const struct cmd_spec cmd_table[] = {
	{ CMD_BACKEND_ADD, "backend add",
	  "backend add NAME ADDR[:PORT] [pool POOL]... [weight N] [transport udp|tcp]\n"
	  "            [check QNAME [QTYPE [CLASS]]] [check-transport udp|tcp] [interval SEC]\n"
	  "            [timeout MS] [fall N] [rise N] [rcode RCODE|any]",
	  "add a backend nameserver, optionally as a member of pools",
	  "backend add ns-ab 127.0.0.1:5301 pool ab pool apex",
	  CMD_F_MUTATES, "<new> <addr>", BACKEND_OPTS },
	{ CMD_BACKEND_SET, "backend set",
	  "backend set NAME OPTION VALUE...   (options as for backend add, and addr ADDR;\n"
	  "            pool POOL... sets the exact list of pools, pool - leaves them all)",
	  "change a backend's settings",
	  "backend set ns-ab weight 3 interval 2",
	  CMD_F_MUTATES, "<backend>", "addr=<addr> " BACKEND_OPTS },
	{ CMD_BACKEND_DEL, "backend del", "backend del NAME",
	  "remove a backend (in-flight queries finish)", "backend del ns-old",
	  CMD_F_MUTATES, "<backend>", "" },
	{ CMD_BACKEND_DRAIN, "backend drain", "backend drain NAME",
	  "send no new queries to a backend; in-flight ones finish",
	  "backend drain ns-ab", CMD_F_MUTATES, "<backend>", "" },
	{ CMD_BACKEND_UNDRAIN, "backend undrain", "backend undrain NAME",
	  "let a drained backend take queries again", "backend undrain ns-ab",
	  CMD_F_MUTATES, "<backend>", "" },
	{ CMD_BACKEND_ENABLE, "backend enable", "backend enable NAME",
	  "enable a disabled backend", "backend enable ns-ab",
	  CMD_F_MUTATES, "<backend>", "" },
	{ CMD_BACKEND_DISABLE, "backend disable", "backend disable NAME",
	  "take a backend out of service and stop checking it",
	  "backend disable ns-ab", CMD_F_MUTATES, "<backend>", "" },
	{ CMD_BACKEND_READD, "backend readd", "backend readd NAME|all",
	  "check a failed backend now and serve from it again on success",
	  "backend readd ns-ab", CMD_F_MUTATES, "<backend>", "all" },
	{ CMD_POOL_ADD, "pool add",
	  "pool add NAME [policy roundrobin|weighted|first|least-outstanding|race|fanout]",
	  "add a pool of backends", "pool add apex policy roundrobin",
	  CMD_F_MUTATES, "<new>", "policy=<policy>" },
	{ CMD_POOL_SET, "pool set", "pool set NAME policy POLICY",
	  "change a pool's policy", "pool set apex policy first",
	  CMD_F_MUTATES, "<pool>", "policy=<policy>" },
	{ CMD_POOL_DEL, "pool del", "pool del NAME",
	  "remove a pool no route uses", "pool del old",
	  CMD_F_MUTATES, "<pool>", "" },
	{ CMD_ROUTE_ADD, "route add",
	  "route add REGEX [qtype TYPE] (pool POOL | refuse | nxdomain | servfail | drop)\n"
	  "          [at POSITION] [comment TEXT]",
	  "add a route: names matching REGEX (lowercase, trailing dot) go to POOL",
	  "route add '^[ab][^.]*\\.example\\.$' pool ab comment 'a-b half'",
	  CMD_F_MUTATES, "<regex>",
	  "qtype=<qtype> pool=<pool> refuse nxdomain servfail drop at=<n> comment=<new>" },
	{ CMD_ROUTE_DEL, "route del", "route del ID", "remove a route",
	  "route del 3", CMD_F_MUTATES, "<route>", "" },
	{ CMD_ROUTE_MOVE, "route move", "route move ID POSITION",
	  "move a route to another position (1 is tried first)",
	  "route move 3 1", CMD_F_MUTATES, "<route> <n>", "" },
	{ CMD_ROUTE_TEST, "route test", "route test QNAME [QTYPE]",
	  "say which route and backend a query would get, sending nothing",
	  "route test www.example. A", 0, "<qname> <qtype>", "" },
	{ CMD_ROUTE_LOOKUP, "route lookup", "route lookup NAME...",
	  "route many names at once, as queries would be (also the pending "
	  "routes of an open transaction): route, action, pool and its usable "
	  "members per name, and a row per query type that a qtype route sends "
	  "elsewhere",
	  "route lookup www.example. mail.example.", 0, "<qname>", "" },
	{ CMD_ZONE_SPLIT, "zone split",
	  "zone split ZONEFILE DIR [origin NAME] [assume subtree]",
	  "cut a zone file into one slice per pool (DIR/POOL.zone) by the "
	  "routes, each slice with what it needs to answer alone",
	  "zone split example.zone slices origin example.", CMD_F_CTLONLY,
	  "<file> <file>", "origin=<qname> assume=subtree" },
	{ CMD_ZONE_CHECK, "zone check",
	  "zone check ZONEFILE [origin NAME] [query] [rate QPS] [timeout MS]",
	  "prove every name of a zone is routed to a pool with a usable "
	  "member; with query, that the member has it",
	  "zone check example.zone query rate 2000", CMD_F_CTLONLY,
	  "<file>", "origin=<qname> query rate=<n> timeout=<n>" },
	{ CMD_SHOW_ROUTES, "show routes", "show routes",
	  "list the routes in the order they are tried", "show routes", 0, "", "" },
	{ CMD_SHOW_BACKENDS, "show backends", "show backends",
	  "list backends with their state and counters", "show backends", 0, "", "" },
	{ CMD_SHOW_POOLS, "show pools", "show pools",
	  "list pools, their policy and members", "show pools", 0, "", "" },
	{ CMD_SHOW_STATS, "show stats", "show stats",
	  "query counters by transport, rcode and outcome", "show stats", 0, "", "" },
	{ CMD_SHOW_SETTINGS, "show settings", "show settings",
	  "list settings with their values and defaults", "show settings", 0, "", "" },
	{ CMD_SHOW_HEALTH, "show health", "show health NAME [last N]",
	  "a backend's health history", "show health ns-ab last 20",
	  0, "<backend>", "last=<n>" },
	{ CMD_SHOW_AUDIT, "show audit", "show audit [last N]",
	  "who changed what, and when", "show audit last 10", 0, "", "last=<n>" },
	{ CMD_SHOW_RECENT, "show recent", "show recent [N] [REGEX]",
	  "the last N queries done (default 20, at most 4096), or the last N "
	  "whose name matches REGEX", "show recent 20 example", 0, "<n> <regex>", "" },
	{ CMD_SHOW_FLEET, "show fleet", "show fleet",
	  "etcd endpoints, registrations from etcd and the routers of the fleet",
	  "show fleet", 0, "", "" },
	{ CMD_TRACE, "trace",
	  "trace [REGEX] [client ADDR[:PORT]] [backend NAME] [limit N] [seconds S]",
	  "stream a line per matching query as it completes, until N lines, "
	  "S seconds or Ctrl-C", "trace '^www' limit 10",
	  CMD_F_STREAM, "<regex>", "client=<addr> backend=<backend> limit=<n> seconds=<n>" },
	{ CMD_SET, "set", "set SETTING VALUE", "change a setting",
	  "set default-action refuse", CMD_F_MUTATES, "<setting> <new>", "" },
	{ CMD_EXPORT, "export", "export",
	  "print the commands that rebuild the current state", "export", 0, "", "" },
	{ CMD_HELP, "help", "help [COMMAND]", "list commands, or explain one",
	  "help route add", 0, "<command>", "" },
	{ CMD_BEGIN, "begin", "begin",
	  "open a transaction: later changes apply together at commit", "begin",
	  0, "", "" },
	{ CMD_COMMIT, "commit", "commit", "apply the open transaction", "commit",
	  0, "", "" },
	{ CMD_ABORT, "abort", "abort", "drop the open transaction", "abort",
	  0, "", "" },
	{ CMD_QUIT, "quit", "quit", "leave the shell", "quit", CMD_F_CTLONLY,
	  "", "" },
};
const size_t cmd_table_len = sizeof(cmd_table) / sizeof(cmd_table[0]);

const struct setting_spec setting_table[] = {
	{ "default-action", "servfail",
	  "answer when no route matches: servfail|refuse|nxdomain|drop" },
	{ "query-timeout", "1500", "ms to wait for a backend before retrying" },
	{ "retries", "1", "how many other members to try after a timeout (0-3)" },
	{ "max-outstanding", "65536", "outstanding queries in all, per worker" },
	{ "max-outstanding-backend", "4096", "outstanding queries per backend, per worker" },
	{ "max-outstanding-per-client", "1000",
	  "outstanding queries of one client address (IPv6: /64), per worker: "
	  "N, or N% of max-outstanding" },
	{ "all-down-try-anyway", "no", "yes: when a pool has no healthy member, try one anyway" },
	{ "tcp-idle-timeout", "10", "seconds a client TCP connection may stay idle" },
	{ "tcp-max-clients", "1000", "client TCP connections at once, per worker" },
	{ "tcp-max-per-client", "32", "client TCP connections from one address, per worker" },
	{ "health-retention", "1000", "health check results kept per backend, and as many state changes" },
	{ "match-limit", "10000", "PCRE2 match limit per route per query" },
	{ "control-idle-timeout", "300",
	  "seconds a control client may sit idle outside a transaction" },
};
const size_t setting_table_len = sizeof(setting_table) / sizeof(setting_table[0]);

const struct setting_spec *
setting_lookup(const char *name)
{
	size_t i;

	for (i = 0; i < setting_table_len; i++)
		if (strcmp(setting_table[i].name, name) == 0)
			return &setting_table[i];
	return NULL;
}

/* Does word w (an abbreviation) match the n-th word of words? */
static int
word_matches(const char *words, int n, const char *w, int *exact)
{
	const char *p = words, *e;
	size_t wl = strlen(w);

	while (n-- > 0) {
		p = strchr(p, ' ');
		if (p == NULL)
			return 0;
		p++;
	}
	e = strchr(p, ' ');
	if (e == NULL)
		e = p + strlen(p);
	if (wl == 0 || wl > (size_t)(e - p) || strncmp(p, w, wl) != 0)
		return 0;
	*exact = (wl == (size_t)(e - p));
	return 1;
}

static int
nwords_of(const char *words)
{
	int n = 1;

	for (; *words; words++)
		if (*words == ' ')
			n++;
	return n;
}

const struct cmd_spec *
cmd_lookup(int argc, char *const argv[], int *nwords, char *err,
    size_t errlen)
{
	const struct cmd_spec *found = NULL;
	size_t i;
	int nfound = 0, best_exact = -1;

	if (argc == 0) {
		snprintf(err, errlen, "empty command");
		return NULL;
	}
	for (i = 0; i < cmd_table_len; i++) {
		const struct cmd_spec *c = &cmd_table[i];
		int n = nwords_of(c->words), k, exact, nexact = 0;

		if (n > argc)
			continue;
		for (k = 0; k < n; k++) {
			if (!word_matches(c->words, k, argv[k], &exact))
				break;
			nexact += exact;
		}
		if (k < n)
			continue;
		/* An exact spelling beats an abbreviation ("set" vs "show"). */
		if (nexact > best_exact) {
			best_exact = nexact;
			found = c;
			nfound = 1;
		} else if (nexact == best_exact)
			nfound++;
	}
	if (found == NULL) {
		int exact;

		/* "show" alone: say what is missing, not that it is unknown. */
		for (i = 0; i < cmd_table_len; i++)
			if (nwords_of(cmd_table[i].words) > argc &&
			    word_matches(cmd_table[i].words, 0, argv[0], &exact)) {
				snprintf(err, errlen, "incomplete command \"%s\"; "
				    "try help %s", argv[0], argv[0]);
				return NULL;
			}
		snprintf(err, errlen, "unknown command \"%s\"; try help", argv[0]);
		return NULL;
	}
	if (nfound > 1 && best_exact < nwords_of(found->words)) {
		snprintf(err, errlen, "ambiguous command \"%s\"; try help",
		    argv[0]);
		return NULL;
	}
	*nwords = nwords_of(found->words);
	return found;
}

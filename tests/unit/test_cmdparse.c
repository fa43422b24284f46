/*
 * test_cmdparse: the one parser of the command language and everything
 * that comes from the same grammar (common/cmdparse.c, cmdhelp.c):
 *
 *   - every command, parsed and formatted back (what export and the
 *     replace report print must parse to the same command), and its
 *     mistakes: the word named, the code that fits, the usage after;
 *   - the backend options: their defaults, each option, the optional
 *     check type and class, merging onto a backend (backend set) and
 *     which options differ (the replace diff);
 *   - settings: canonical values, defaults;
 *   - help in its three forms, completion, and the reader of command
 *     texts (continuations, comments, line numbers).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmdtab.h"
#include "ctlproto.h"
#include "script.h"
#include "settings.h"
#include "util.h"
#include "words.h"
#include "unit.h"

#define OK	0

/* A line, and either what it formats back to (its given values) or the
 * code and the start of the first line of its error. */
static const struct {
	const char	*line;
	int		 code;		/* OK, CTL_ERR_SYNTAX, ... */
	const char	*want;		/* formatted, or the error's start */
} parse_cases[] = {
	/* backends */
	{ "backend add ns-a 127.0.0.1", OK, "backend add ns-a 127.0.0.1:53" },
	{ "backend add ns-a [::1]:5301 pool p pool q weight 3", OK,
	  "backend add ns-a [::1]:5301 pool p pool q weight 3" },
	{ "backend add ns-a 127.0.0.1 check x. A IN interval 0.5 timeout 300",
	  OK, "backend add ns-a 127.0.0.1:53 check x. A IN interval 500ms "
	  "timeout 300" },
	/* The check's type and class only as far as given. */
	{ "backend add ns-a 127.0.0.1 check x.", OK,
	  "backend add ns-a 127.0.0.1:53 check x." },
	{ "backend add ns-a 127.0.0.1 check x. weight 2", OK,
	  "backend add ns-a 127.0.0.1:53 weight 2 check x." },
	{ "backend add ns-a 127.0.0.1 rcode notimpl", OK,
	  "backend add ns-a 127.0.0.1:53 rcode NOTIMP" },
	{ "backend add ns-a 127.0.0.1 rcode any transport tcp "
	  "check-transport udp fall 5 rise 4 interval 200ms", OK,
	  "backend add ns-a 127.0.0.1:53 transport tcp check-transport udp "
	  "interval 200ms fall 5 rise 4 rcode any" },
	{ "backend add -x 127.0.0.1", CTL_ERR_SYNTAX, "bad value \"-x\" for "
	  "NAME: use 1-63" },
	{ "backend add x not-an-address", CTL_ERR_SYNTAX,
	  "ADDR[:PORT]: bad address" },
	{ "backend add x 127.0.0.1 weight 0", CTL_ERR_SYNTAX,
	  "bad value \"0\" for weight: a number from 1 to 1000" },
	{ "backend add x 127.0.0.1 weight", CTL_ERR_SYNTAX,
	  "weight needs a value: weight N" },
	{ "backend add x 127.0.0.1 weight 2 weight 3", CTL_ERR_SYNTAX,
	  "\"weight\" is given twice" },
	{ "backend add x 127.0.0.1 transport sctp", CTL_ERR_SYNTAX,
	  "bad value \"sctp\" for transport: one of udp, tcp" },
	{ "backend add x 127.0.0.1 interval 20ms", CTL_ERR_SYNTAX,
	  "bad value \"20ms\" for interval: seconds" },
	{ "backend add x 127.0.0.1 check not..a.name", CTL_ERR_SYNTAX,
	  "bad value \"not..a.name\" for check: not a domain name" },
	{ "backend add x", CTL_ERR_SYNTAX, "backend add: missing ADDR[:PORT]" },
	{ "backend add x 127.0.0.1 frob 1", CTL_ERR_SYNTAX,
	  "backend add: unexpected word \"frob\"" },
	{ "backend set x weight 3", OK, "backend set x weight 3" },
	{ "backend set x pool -", OK, "backend set x pool -" },
	{ "backend set x addr 10.0.0.1:54 pool a", OK,
	  "backend set x addr 10.0.0.1:54 pool a" },
	{ "backend set x", CTL_ERR_SYNTAX, "backend set needs something" },
	{ "backend del x", OK, "backend del x" },
	{ "backend del", CTL_ERR_SYNTAX, "backend del: missing NAME" },
	{ "backend del x y", CTL_ERR_SYNTAX, "backend del: unexpected word "
	  "\"y\"" },
	{ "backend drain x", OK, "backend drain x" },
	{ "backend undrain x", OK, "backend undrain x" },
	{ "backend enable x", OK, "backend enable x" },
	{ "backend disable x", OK, "backend disable x" },
	{ "backend readd all", OK, "backend readd all" },
	{ "backend readd", CTL_ERR_SYNTAX, "backend readd: missing NAME" },
	/* pools */
	{ "pool add web", OK, "pool add web" },
	{ "pool add web policy least-outstanding", OK,
	  "pool add web policy least-outstanding" },
	{ "pool add web policy fastest", CTL_ERR_SYNTAX, "bad value "
	  "\"fastest\" for policy: one of roundrobin, weighted, first" },
	{ "pool set web policy first", OK, "pool set web policy first" },
	{ "pool set web", CTL_ERR_SYNTAX, "pool set needs something to change" },
	{ "pool del web", OK, "pool del web" },
	{ "pool add up policy fanout confirm any", OK,
	  "pool add up policy fanout confirm any" },
	{ "pool set up confirm all", OK, "pool set up confirm all" },
	{ "pool add up confirm most", CTL_ERR_SYNTAX, "bad value \"most\" for "
	  "confirm: one of all, any" },
	/* TSIG keys: the name as peers compare it, the secret checked and
	 * never repeated in an error. */
	{ "key add Ddns-Key hmac-sha256 c2VjcmV0", OK,
	  "key add ddns-key. hmac-sha256 c2VjcmV0" },
	{ "key set k. hmac-md5 c2VjcmV0LTI=", OK,
	  "key set k. hmac-md5 c2VjcmV0LTI=" },
	{ "key add k. hmac-sha3 c2VjcmV0", CTL_ERR_SYNTAX, "bad value "
	  "\"hmac-sha3\" for ALGORITHM: one of hmac-md5, hmac-sha1" },
	{ "key add k. hmac-sha256 s3cr3t!", CTL_ERR_SYNTAX, "bad value for "
	  "SECRET: base64 of 1 to 512 octets" },
	{ "key add k..x hmac-sha256 c2VjcmV0", CTL_ERR_SYNTAX, "bad value "
	  "\"k..x\" for NAME: a key's name is a domain name" },
	{ "key add k. hmac-sha256", CTL_ERR_SYNTAX, "key add: missing SECRET" },
	{ "key del K.example", OK, "key del k.example." },
	{ "backend add x 127.0.0.1 key Router-X", OK,
	  "backend add x 127.0.0.1:53 key router-x." },
	{ "backend set x key -", OK, "backend set x key -" },
	/* routes */
	{ "route add ^a\\.$ pool web", OK, "route add ^a\\.$ pool web" },
	{ "route add '^a b$' qtype aaaa refuse at 3 comment 'x y'", OK,
	  "route add '^a b$' qtype AAAA refuse at 3 comment 'x y'" },
	{ "route add ^example\\.$ opcode update pool up tsig optional", OK,
	  "route add ^example\\.$ opcode update tsig optional pool up" },
	{ "route set 4 opcode query tsig required", OK,
	  "route set 4 opcode query tsig required" },
	{ "route add ^a opcode notify pool up", CTL_ERR_SYNTAX, "bad value "
	  "\"notify\" for opcode: one of query, update" },
	{ "route add ^a nxdomain comment \"it's\"", OK,
	  "route add ^a nxdomain comment \"it's\"" },
	{ "route add ^a", CTL_ERR_SYNTAX, "route add needs one of: pool POOL, "
	  "refuse, nxdomain, servfail or drop" },
	{ "route add ^a left", CTL_ERR_SYNTAX, "route add: unexpected word "
	  "\"left\"" },
	{ "route add ^a refuse drop", CTL_ERR_SYNTAX, "\"drop\": route add "
	  "takes one of" },
	{ "route add ^a pool", CTL_ERR_SYNTAX, "pool needs a value: pool POOL" },
	/* Zone transfers go only by a route that names their type. */
	{ "route add ^a qtype AXFR pool web", OK,
	  "route add ^a qtype AXFR pool web" },
	{ "route add ^a qtype ixfr refuse", OK, "route add ^a qtype IXFR refuse" },
	{ "route add ^a qtype NOPE refuse", CTL_ERR_SYNTAX, "bad value "
	  "\"NOPE\" for qtype: not a DNS type" },
	{ "route add ^a refuse at 0", CTL_ERR_SYNTAX, "bad value \"0\" for at" },
	{ "route set 3 comment x", OK, "route set 3 comment x" },
	{ "route set 3 qtype - pool p", OK, "route set 3 qtype - pool p" },
	{ "route set 3", CTL_ERR_SYNTAX, "route set needs something" },
	{ "route set x comment y", CTL_ERR_SYNTAX, "bad value \"x\" for ID" },
	{ "route del 7", OK, "route del 7" },
	{ "route del 0", CTL_ERR_SYNTAX, "bad value \"0\" for ID" },
	{ "route move 7 1", OK, "route move 7 1" },
	{ "route move 7", CTL_ERR_SYNTAX, "route move: missing POSITION" },
	{ "route test www.example.", OK, "route test www.example." },
	{ "route test www.example. mx", OK, "route test www.example. MX" },
	{ "route test a..b", CTL_ERR_SYNTAX, "bad value \"a..b\" for QNAME" },
	{ "route lookup a. b.example. 'c d.'", OK,
	  "route lookup a. b.example. 'c d.'" },
	{ "route lookup", CTL_ERR_SYNTAX, "route lookup: missing NAME..." },
	/* zone: run by dnsroutectl, parsed like any */
	{ "zone split z.zone out", OK, "zone split z.zone out" },
	{ "zone split z.zone out origin example. assume subtree", OK,
	  "zone split z.zone out origin example. assume subtree" },
	{ "zone split z.zone", CTL_ERR_SYNTAX, "zone split: missing DIR" },
	{ "zone split z.zone out assume all", CTL_ERR_SYNTAX, "bad value "
	  "\"all\" for assume: one of nothing, subtree" },
	{ "zone check z.zone query rate 10 timeout 500", OK,
	  "zone check z.zone query rate 10 timeout 500" },
	{ "zone check z.zone rate 0", CTL_ERR_SYNTAX, "bad value \"0\" for "
	  "rate" },
	{ "zone check z.zone out", CTL_ERR_SYNTAX, "zone check: unexpected "
	  "word \"out\"" },
	/* show, trace, the rest */
	{ "show routes", OK, "show routes" },
	{ "sh ro", OK, "show routes" },
	{ "show routes x", CTL_ERR_SYNTAX, "show routes: unexpected word" },
	{ "show health ns-a", OK, "show health ns-a" },
	{ "show health ns-a last 5", OK, "show health ns-a last 5" },
	{ "show health ns-a last 0", CTL_ERR_SYNTAX, "bad value \"0\" for last" },
	/* a name the daemon made: parsed, the daemon says what it is */
	{ "show health etcd:ns9", OK, "show health etcd:ns9" },
	{ "backend drain etcd:a/b@c", OK, "backend drain etcd:a/b@c" },
	{ "backend add etcd:x 127.0.0.1", CTL_ERR_SYNTAX, "bad value "
	  "\"etcd:x\" for NAME" },
	{ "show fleet", OK, "show fleet" },
	{ "show fleet x", CTL_ERR_SYNTAX, "show fleet: unexpected word" },
	{ "show audit", OK, "show audit" },
	{ "show recent", OK, "show recent" },
	{ "show recent 5 ^a", OK, "show recent 5 ^a" },
	{ "show recent ^a", OK, "show recent ^a" },
	{ "show recent 5000", CTL_ERR_SYNTAX, "bad value \"5000\" for N" },
	{ "show nonsense", CTL_ERR_SYNTAX, "unknown command \"show nonsense\": "
	  "show takes routes, backends, pools, keys, stats, settings, health, "
	  "audit, recent, fleet" },
	{ "show", CTL_ERR_SYNTAX, "incomplete command \"show\"" },
	{ "trace", OK, "trace limit 0 seconds 0" },
	{ "trace ^www client 10.0.0.1 backend ns-a limit 5 seconds 2", OK,
	  "trace ^www client 10.0.0.1 backend ns-a limit 5 seconds 2" },
	{ "trace client", CTL_ERR_SYNTAX, "client needs a value" },
	{ "trace client nowhere", CTL_ERR_SYNTAX, "client: bad address" },
	{ "set retries 2", OK, "set retries 2" },
	{ "set all-down-try-anyway on", OK, "set all-down-try-anyway on" },
	{ "set retries 9", CTL_ERR_SYNTAX, "bad value \"9\" for retries" },
	{ "set default-action pool", CTL_ERR_SYNTAX, "bad value \"pool\" for "
	  "default-action" },
	{ "set nope 1", CTL_ERR_SYNTAX, "unknown setting \"nope\"; see show "
	  "settings" },
	{ "set etcd http://x", CTL_ERR_SYNTAX, "etcd is set with dnsrouted "
	  "-e" },
	{ "set retries", CTL_ERR_SYNTAX, "set: missing VALUE" },
	{ "export", OK, "export" },
	{ "replace", OK, "replace" },
	{ "replace dry-run", OK, "replace dry-run" },
	{ "replace wet", CTL_ERR_SYNTAX, "replace: unexpected word \"wet\"" },
	{ "help", OK, "help" },
	{ "help route add", OK, "help route add" },
	{ "begin", OK, "begin" },
	{ "begin batch", OK, "begin batch" },
	{ "begin later", CTL_ERR_SYNTAX, "begin: unexpected word \"later\"" },
	{ "commit", OK, "commit" },
	{ "abort", OK, "abort" },
	{ "quit", OK, "quit" },
	{ "frobnicate", CTL_ERR_SYNTAX, "unknown command \"frobnicate\"" },
	{ "route add 'open", CTL_ERR_SYNTAX, "unterminated quote" },
};

/* A command with a secret is printed without it where a line may be
 * kept (the audit, a report); export prints it whole. */
static void
test_secrets(void)
{
	static const char secret[] = "c2VjcmV0LW9mLTE2LW9jdGV0cw==";
	struct cmd c;
	char err[512], out[512];
	int code;

	CHECK(cmd_parse("key add k. hmac-sha256 c2VjcmV0LW9mLTE2LW9jdGV0cw==",
	    &c, NULL, &code, err, sizeof(err)) == 0);
	CHECK(cmd_has_secret(c.spec));
	CHECK(strcmp(c.a.key.secret, secret) == 0 &&
	    c.a.key.alg == TSIG_HMAC_SHA256);
	CHECK(cmd_format_safe(&c, c.given, out, sizeof(out)) > 0 &&
	    strcmp(out, "key add k. hmac-sha256 (secret)") == 0);
	CHECK(cmd_format(&c, c.given, out, sizeof(out)) > 0 &&
	    strstr(out, secret) != NULL);
	cmd_free(&c);
	CHECK(cmd_parse("key add k. hmac-sha256 n0t!b64", &c, NULL, &code, err,
	    sizeof(err)) == -1 && strstr(err, "n0t!b64") == NULL);
	CHECK(!cmd_has_secret(cmd_spec_of(CMD_KEY_DEL)) &&
	    !cmd_has_secret(cmd_spec_of(CMD_BACKEND_ADD)));
	/* 511 octets of secret, and 514: past CONF_SECRET_MAX. */
	{
		char line[1024];
		size_t n;

		n = (size_t)snprintf(line, sizeof(line), "key add k. "
		    "hmac-sha512 ");
		memset(line + n, 'A', 684);
		line[n + 684] = '\0';
		line[n + 682] = line[n + 683] = '=';
		CHECK(cmd_parse(line, &c, NULL, &code, err, sizeof(err)) == 0);
		cmd_free(&c);
		memset(line + n, 'A', 688);
		line[n + 688] = '\0';
		line[n + 686] = line[n + 687] = '=';
		CHECK(cmd_parse(line, &c, NULL, &code, err, sizeof(err)) == -1);
	}
}

static void
test_cases(void)
{
	struct cmd c;
	char err[4096], out[4096];
	size_t i;
	int rc, code;

	for (i = 0; i < NELEMS(parse_cases); i++) {
		code = -1;
		rc = cmd_parse(parse_cases[i].line, &c, NULL, &code, err, sizeof(err));
		if (parse_cases[i].code == OK) {
			CHECKF(rc == 0, "\"%s\": %s", parse_cases[i].line,
			    rc == -1 ? err : "empty");
			if (rc != 0)
				continue;
			CHECK(cmd_format(&c, c.given | (c.spec->id == CMD_TRACE ?
			    CMD_ALL : 0), out, sizeof(out)) > 0);
			CHECKF(strcmp(out, parse_cases[i].want) == 0, "\"%s\" -> "
			    "\"%s\"", parse_cases[i].line, out);
			cmd_free(&c);
			continue;
		}
		CHECKF(rc == -1 && code == parse_cases[i].code, "\"%s\": rc %d code "
		    "%d", parse_cases[i].line, rc, code);
		CHECKF(rc != -1 || strncmp(err, parse_cases[i].want,
		    strlen(parse_cases[i].want)) == 0, "\"%s\": \"%s\"",
		    parse_cases[i].line, err);
	}
}

/* What a mistake of grammar says: the word, then the usage, on its own
 * lines, aligned under the first argument. */
static void
test_usage_in_errors(void)
{
	struct cmd c;
	char err[4096];
	int code;

	CHECK(cmd_parse("route add ^a left", &c, NULL, &code, err,
	    sizeof(err)) == -1);
	CHECKF(strcmp(err, "route add: unexpected word \"left\"\n"
	    "usage: route add REGEX [qtype TYPE] [opcode query|update] "
	    "[tsig required|optional]\n"
	    "                 (pool POOL | refuse | nxdomain | servfail | drop) "
	    "[at POSITION]\n"
	    "                 [comment TEXT]") == 0, "%s", err);
	/* A bad value names it and needs no usage. */
	CHECK(cmd_parse("route del x", &c, NULL, &code, err,
	    sizeof(err)) == -1 && strchr(err, '\n') == NULL);
	/* An empty line or a comment is no command. */
	CHECK(cmd_parse("   # nothing", &c, NULL, &code, err,
	    sizeof(err)) == 1);
	CHECK(cmd_parse("", &c, NULL, &code, err, sizeof(err)) == 1);
}

/* The daemon's regex check: in word order, and a runtime error. */
static int
no_brackets(void *arg, const char *pattern, char *err, size_t errlen)
{
	(*(int *)arg)++;
	if (strchr(pattern, '[') == NULL)
		return 0;
	snprintf(err, errlen, "bad regex: no brackets here");
	return -1;
}

static void
test_checks(void)
{
	struct cmd_checks chk;
	struct cmd c;
	char err[512];
	int code, calls = 0;

	chk.regex = no_brackets;
	chk.arg = &calls;
	CHECK(cmd_parse("route add ^a refuse", &c, &chk, &code, err,
	    sizeof(err)) == 0 && calls == 1);
	cmd_free(&c);
	/* Checked before the missing action is found: the regex's error. */
	CHECK(cmd_parse("route add ^[a", &c, &chk, &code, err,
	    sizeof(err)) == -1 && code == CTL_ERR_RUNTIME &&
	    strcmp(err, "bad regex: no brackets here") == 0);
	CHECK(cmd_parse("show recent [x", &c, &chk, &code, err,
	    sizeof(err)) == -1 && code == CTL_ERR_RUNTIME);
	CHECK(cmd_parse("trace [x", &c, &chk, &code, err,
	    sizeof(err)) == -1 && code == CTL_ERR_RUNTIME);
}

/* Every example parses, formats, and the format parses to itself. */
static void
test_round_trip(void)
{
	struct cmd c, d;
	char err[4096], one[4096], two[4096];
	size_t i;
	int code;

	for (i = 0; i < cmd_table_len; i++) {
		if (cmd_parse(cmd_table[i].example, &c, NULL, &code, err,
		    sizeof(err)) != 0) {
			CHECKF(0, "%s: %s", cmd_table[i].example, err);
			continue;
		}
		CHECK(cmd_format(&c, c.given, one, sizeof(one)) > 0);
		if (cmd_parse(one, &d, NULL, &code, err, sizeof(err)) != 0) {
			CHECKF(0, "\"%s\": %s", one, err);
			cmd_free(&c);
			continue;
		}
		CHECK(cmd_format(&d, d.given, two, sizeof(two)) > 0);
		CHECKF(strcmp(one, two) == 0, "\"%s\" != \"%s\"", one, two);
		CHECK(cmd_diff(c.spec, &c.a, &d.a) == 0);
		cmd_free(&c);
		cmd_free(&d);
	}
	/* A value that needs quotes gets them, and reads back. */
	CHECK(cmd_parse("route add \"a'b c\\\"\" refuse comment '#1'", &c,
	    NULL, &code, err, sizeof(err)) == 0);
	CHECK(cmd_format(&c, c.given, one, sizeof(one)) > 0);
	CHECK(cmd_parse(one, &d, NULL, &code, err, sizeof(err)) == 0 &&
	    strcmp(d.a.route.pattern, "a'b c\"") == 0 &&
	    strcmp(d.a.route.comment, "#1") == 0);
	cmd_free(&c);
	cmd_free(&d);
	/* Too small a buffer: -1. */
	CHECK(cmd_parse("route add ^abcdef refuse", &c, NULL, &code, err,
	    sizeof(err)) == 0);
	CHECK(cmd_format(&c, CMD_ALL, one, 8) == -1);
	cmd_free(&c);
}

static void
test_backend_options(void)
{
	struct backend_conf d;
	struct cmd c, cur;
	char err[512], out[4096];
	uint64_t m;
	int code;

	backend_conf_defaults(&d);
	CHECK(d.weight == 1 && d.transport == TRANSPORT_UDP &&
	    strcmp(d.check_qname, "id.server.") == 0 && d.check_qtype == 16 &&
	    d.check_qclass == 3 && d.check_tcp == TRANSPORT_TCP &&
	    d.check_rcode == -1 && d.interval_ms == 5000 &&
	    d.timeout_ms == 1000 && d.fall == 3 && d.rise == 2 &&
	    d.addr[0] == '\0');

	/* backend set: the options given go onto the backend; the check's
	 * type stays when only its name is given. */
	cmd_init(&cur, CMD_BACKEND_SET);
	cur.a.backend.conf = d;
	cur.a.backend.conf.check_qtype = 1;
	cur.a.backend.conf.weight = 9;
	CHECK(cmd_parse("backend set x check other. interval 2 fall 1", &c,
	    NULL, &code, err, sizeof(err)) == 0);
	cmd_merge(c.spec, &cur.a, &c.a, c.given);
	CHECK(strcmp(cur.a.backend.conf.check_qname, "other.") == 0 &&
	    cur.a.backend.conf.check_qtype == 1 &&
	    cur.a.backend.conf.weight == 9 &&
	    cur.a.backend.conf.interval_ms == 2000 &&
	    cur.a.backend.conf.fall == 1 && cur.a.backend.conf.rise == 2);
	cmd_free(&c);

	/* The difference: one option, all its values; pools as sets. */
	CHECK(cmd_parse("backend set x pool a pool b check y. A", &c, NULL,
	    &code, err, sizeof(err)) == 0);
	cmd_init(&cur, CMD_BACKEND_SET);
	cur.a.backend.name = "x";
	cur.a.backend.pools[0] = "b";
	cur.a.backend.pools[1] = "a";
	cur.a.backend.npools = 2;
	cur.a.backend.conf = c.a.backend.conf;
	CHECK(cmd_diff(c.spec, &cur.a, &c.a) == 0);
	cur.a.backend.conf.check_qclass = 1;
	m = cmd_diff(c.spec, &cur.a, &c.a);
	CHECK(m == (cmd_bit(c.spec, "check") | m) && m != 0);
	c.given = m | 1;
	CHECK(cmd_format(&c, c.given, out, sizeof(out)) > 0);
	CHECKF(strcmp(out, "backend set x check y. A CH") == 0, "%s", out);
	cur.a.backend.npools = 1;
	CHECK(cmd_diff(c.spec, &cur.a, &c.a) & cmd_bit(c.spec, "pool"));
	cmd_free(&c);
	CHECK(cmd_bit(cmd_spec_of(CMD_BACKEND_ADD), "nope") == 0);
}

/* Many words (route lookup sends hundreds of names): they stay in the
 * line's own words, in order. */
static void
test_many_words(void)
{
	char line[65536], err[256];
	struct cmd c;
	size_t used;
	int i, code;

	used = snprintf(line, sizeof(line), "route lookup");
	for (i = 0; i < 3000; i++)
		used += snprintf(line + used, sizeof(line) - used, " n%d.", i);
	CHECK(cmd_parse(line, &c, NULL, &code, err, sizeof(err)) == 0);
	CHECK(c.a.words.n == 3000 && strcmp(c.a.words.w[0], "n0.") == 0 &&
	    strcmp(c.a.words.w[2999], "n2999.") == 0);
	cmd_free(&c);
	CHECK(cmd_parse("help backend add", &c, NULL, &code, err,
	    sizeof(err)) == 0 && c.a.words.n == 2 &&
	    strcmp(c.a.words.w[1], "add") == 0);
	cmd_free(&c);
	CHECK(cmd_parse("help", &c, NULL, &code, err, sizeof(err)) == 0 &&
	    c.a.words.n == 0);
	cmd_free(&c);
}

static void
test_settings(void)
{
	static const struct {
		const char	*key, *val, *canon;
	} cases[] = {
		{ "retries", "2", "2" },
		{ "retries", "03", "3" },
		{ "all-down-try-anyway", "on", "yes" },
		{ "all-down-try-anyway", "0", "no" },
		{ "default-action", "nxdomain", "nxdomain" },
		{ "match-limit", "100", "100" },
		{ "retries", "4", NULL },
		{ "default-action", "pool", NULL },
		{ "all-down-try-anyway", "maybe", NULL },
		{ "no-such", "1", NULL },
		{ "etcd", "http://x", NULL },
		{ "max-outstanding-per-client", "500", "500" },
		{ "max-outstanding-per-client", "025%", "25%" },
		{ "max-outstanding-per-client", "101%", NULL },
		{ "max-outstanding-per-client", "0%", NULL },
		{ "max-outstanding-per-client", "%", NULL },
		{ "retries", "50%", NULL },
		{ "control-idle-timeout", "0", NULL },
		{ "control-idle-timeout", "60", "60" },
	};
	struct settings s;
	char out[64], err[256];
	size_t i;
	int rc;

	for (i = 0; i < NELEMS(cases); i++) {
		rc = settings_canon(cases[i].key, cases[i].val, out,
		    sizeof(out), err, sizeof(err));
		if (cases[i].canon == NULL)
			CHECKF(rc == -1, "%s %s", cases[i].key, cases[i].val);
		else
			CHECKF(rc == 0 && strcmp(out, cases[i].canon) == 0,
			    "%s %s -> %s", cases[i].key, cases[i].val, out);
	}
	settings_defaults(&s);
	CHECK(s.default_action == ACTION_SERVFAIL && s.retries == 1 &&
	    s.query_timeout_ms == 1500 && s.all_down_try == 0 &&
	    s.match_limit == 10000);
	for (i = 0; i < setting_table_len; i++)
		CHECKF(settings_apply(&s, setting_table[i].name,
		    setting_table[i].defval) == 0, "default of %s",
		    setting_table[i].name);
	CHECK(settings_apply(&s, "retries", "x") == -1);
	/* The per-client cap: a count, or a share of max-outstanding,
	 * whichever is set last, and whichever order the two come in. */
	CHECK(s.client_cap == 1000 && s.control_idle_s == 300);
	CHECK(settings_apply(&s, "max-outstanding-per-client", "10%") == 0 &&
	    s.client_cap == 6553);
	CHECK(settings_apply(&s, "max-outstanding", "1000") == 0 &&
	    s.client_cap == 100);
	CHECK(settings_apply(&s, "max-outstanding-per-client", "7") == 0 &&
	    s.client_cap == 7 && s.max_out_client_pct == 0);
	CHECK(settings_apply(&s, "max-outstanding-per-client", "1%") == 0 &&
	    settings_apply(&s, "max-outstanding", "16") == 0 &&
	    s.client_cap == 1);
}

struct lines {
	char	 text[64][160];
	int	 n;
};

static void
collect(void *arg, const char *line)
{
	struct lines *l = arg;

	if (l->n < 64)
		snprintf(l->text[l->n++], sizeof(l->text[0]), "%s", line);
}

static int
has_line(const struct lines *l, const char *start)
{
	int i;

	for (i = 0; i < l->n; i++)
		if (strncmp(l->text[i], start, strlen(start)) == 0)
			return 1;
	return 0;
}

static void
test_help(void)
{
	struct lines l;
	char err[256];
	char *route[] = { "route" }, *ra[] = { "route", "add" },
	    *set[] = { "set" }, *nope[] = { "nope" }, *ex[] = { "route",
	    "add", "^x" };

	memset(&l, 0, sizeof(l));
	CHECK(cmd_help_lines(0, NULL, collect, &l, err, sizeof(err)) == 0);
	CHECK(l.n == (int)cmd_table_len + 1 && has_line(&l, "commands") &&
	    has_line(&l, "  route add        add a route"));
	memset(&l, 0, sizeof(l));
	CHECK(cmd_help_lines(1, route, collect, &l, err, sizeof(err)) == 0);
	CHECK(has_line(&l, "route add REGEX [qtype TYPE] [opcode query|update] "
	    "[tsig required|optional]") && has_line(&l, "route del ID") &&
	    has_line(&l, "(help route add explains one"));
	memset(&l, 0, sizeof(l));
	CHECK(cmd_help_lines(2, ra, collect, &l, err, sizeof(err)) == 0);
	CHECK(has_line(&l, "usage: route add REGEX") &&
	    has_line(&l, "                 (pool POOL | refuse | nxdomain | "
	    "servfail | drop) [at POSITION]") &&
	    has_line(&l, "example: route add"));
	memset(&l, 0, sizeof(l));
	CHECK(cmd_help_lines(3, ex, collect, &l, err, sizeof(err)) == 0 &&
	    has_line(&l, "usage: route add"));
	memset(&l, 0, sizeof(l));
	CHECK(cmd_help_lines(1, set, collect, &l, err, sizeof(err)) == 0);
	CHECK(has_line(&l, "usage: set SETTING VALUE") &&
	    has_line(&l, "  retries "));
	CHECK(cmd_help_lines(1, nope, collect, &l, err, sizeof(err)) == -1 &&
	    strncmp(err, "unknown command \"nope\"", 22) == 0);
}

static const char *const pools[] = { "apex", "ab", "web", NULL };
static const char *const backends[] = { "ns-ab", "ns-cd", NULL };

static const char *const *
names(void *arg, const char *show)
{
	(void)arg;
	if (strcmp(show, "show pools") == 0)
		return pools;
	if (strcmp(show, "show backends") == 0)
		return backends;
	return NULL;
}

struct cands {
	char	 w[256][40];
	int	 n;
};

static void
cand(void *arg, const char *w)
{
	struct cands *c = arg;
	int i;

	/* As the shell does: each word once ("show" starts eight). */
	for (i = 0; i < c->n; i++)
		if (strcmp(c->w[i], w) == 0)
			return;
	if (c->n < 256)
		snprintf(c->w[c->n++], sizeof(c->w[0]), "%s", w);
}

/* The candidates for the word after line (ending in a blank) or the last
 * word of it, joined by blanks in the order offered. */
static void
complete(const char *line, char *out, size_t outlen)
{
	struct cands c;
	struct tok_line t;
	char err[128];
	size_t used = 0;
	int i, nprior;

	memset(&c, 0, sizeof(c));
	CHECK(tok_split(line, &t, err, sizeof(err)) == 0);
	nprior = t.ends_in_blank ? t.argc : t.argc - 1;
	cmd_complete(nprior, t.argv, t.ends_in_blank ? "" : t.argv[nprior],
	    cand, names, &c);
	out[0] = '\0';
	for (i = 0; i < c.n; i++)
		used += snprintf(out + used, used < outlen ? outlen - used : 0,
		    "%s%s", i ? " " : "", c.w[i]);
	tok_free(&t);
}

static void
test_complete(void)
{
	static const struct {
		const char	*line, *want;
	} cases[] = {
		{ "backend dr", "drain" },
		{ "backend drain ", "ns-ab ns-cd" },
		{ "backend drain ns-c", "ns-cd" },
		{ "backend readd ", "ns-ab ns-cd all" },
		{ "pool add web pol", "policy" },
		{ "pool add web policy l", "least-outstanding" },
		{ "route add ^a ", "qtype opcode tsig pool refuse nxdomain servfail "
		  "drop at comment" },
		{ "route add ^a pool ", "apex ab web" },
		{ "route add ^a qtype aa", "AAAA" },
		{ "backend add x 1.2.3.4 check q. ", "" },
		{ "backend add x 1.2.3.4 trans", "transport" },
		{ "backend add x 1.2.3.4 transport ", "udp tcp" },
		{ "backend set ns-ab rcode no", "NOERROR NOTIMP NOTAUTH NOTZONE" },
		{ "set ret", "retries" },
		{ "help route a", "add" },
		{ "sh", "show" },
		{ "show r", "routes recent" },
		{ "rep", "replace" },
		{ "replace ", "dry-run" },
		{ "zone split z.zone out ", "origin assume" },
		{ "zone split z.zone out assume ", "nothing subtree" },
		{ "zone check z.zone ", "origin query rate timeout" },
	};
	char out[4096];
	size_t i;

	for (i = 0; i < NELEMS(cases); i++) {
		complete(cases[i].line, out, sizeof(out));
		if (strcmp(cases[i].line, "backend add x 1.2.3.4 check q. ") ==
		    0) {
			/* A type (optional) or an option may come next. */
			CHECKF(strstr(out, "AAAA") != NULL &&
			    strstr(out, "weight") != NULL, "%s", out);
			continue;
		}
		CHECKF(strcmp(out, cases[i].want) == 0, "\"%s\": \"%s\"",
		    cases[i].line, out);
	}
}

static void
test_script(void)
{
	static const char text[] =
	    "# a comment\n"
	    "pool add web \\\n"
	    "    policy first\n"
	    "\n"
	    "route add '^a\\.$' \\ \n"		/* blank after: no join */
	    "   # an indented comment \\\n"	/* never continued */
	    "backend add x 1.2.3.4\\\n"
	    "\tpool web\r\n"
	    "last without a newline \\";
	static const struct {
		unsigned	 line;
		const char	*cmd;
	} want[] = {
		{ 1, "# a comment" },
		{ 2, "pool add web policy first" },
		{ 4, "" },
		{ 5, "route add '^a\\.$' \\ " },
		{ 6, "   # an indented comment \\" },
		{ 7, "backend add x 1.2.3.4 pool web" },
		{ 9, "last without a newline " },
	};
	struct script sc;
	char *cmd;
	unsigned start;
	size_t i;

	script_init_mem(&sc, text, strlen(text));
	for (i = 0; i < NELEMS(want); i++) {
		CHECKF(script_next(&sc, &cmd, &start) == 1 &&
		    start == want[i].line && strcmp(cmd, want[i].cmd) == 0,
		    "%zu: %u \"%s\"", i, start, cmd);
	}
	CHECK(script_next(&sc, &cmd, &start) == 0);
	script_free(&sc);
	script_init_mem(&sc, "", 0);
	CHECK(script_next(&sc, &cmd, &start) == 0);
	script_free(&sc);
}

int
main(void)
{
	test_cases();
	test_secrets();
	test_usage_in_errors();
	test_checks();
	test_round_trip();
	test_backend_options();
	test_many_words();
	test_settings();
	test_help();
	test_complete();
	test_script();
	UNIT_DONE("cmdparse");
}

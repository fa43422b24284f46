/*
 * words: the word tables of the enumerations (see words.h).  The order of
 * each table is the order of its enum.
 */
#include <stdio.h>
#include <string.h>

#include "util.h"
#include "words.h"

#define WORDS(name, ...)						\
	static const char *const name##_w[] = { __VA_ARGS__ };		\
	const struct words name = { name##_w, (int)NELEMS(name##_w), NULL, 0 }
/* Words with a line of help each: name##_w and name##_h, in enum order. */
#define WORDS_HELP(name, withheld)					\
	_Static_assert(NELEMS(name##_w) == NELEMS(name##_h),		\
	    #name ": a line of help per word");				\
	const struct words name = { name##_w, (int)NELEMS(name##_w),	\
	    name##_h, withheld }

WORDS(words_action, "pool", "refuse", "nxdomain", "servfail", "drop");

static const char *const words_policy_w[] = {
	"roundrobin", "weighted", "first", "least-outstanding", "race",
	"fanout"
};
static const char *const words_policy_h[] = {
	"the usable members in turn",
	"the usable members in turn, each as often as its weight",
	"the first usable member in the pool's order (failover)",
	"the usable member with the fewest queries in flight",
	("every usable member at once; the first good answer wins (see "
	    "good), the others are discarded"),
	("an UPDATE to every member at once, re-signed per member; NOERROR "
	    "when all (or any: see confirm) confirmed"),
};
WORDS_HELP(words_policy, 0);
WORDS(words_admin, "enabled", "drained", "disabled");
WORDS(words_health, "unknown", "up", "down");
WORDS(words_transport, "udp", "tcp");
WORDS(words_yesno, "no", "yes");
WORDS(words_assume, "nothing", "subtree");
WORDS(words_confirm, "all", "any");
WORDS(words_opcode, "query", "update");
WORDS(words_tsig, "required", "optional");
WORDS(words_tsig_alg, "hmac-md5", "hmac-sha1", "hmac-sha224", "hmac-sha256",
    "hmac-sha384", "hmac-sha512");

static const char *const words_client_addr_w[] = { "off", "ecs", "proxy" };
static const char *const words_client_addr_h[] = {
	"the backend sees the router's address only",
	("an EDNS Client Subnet option with the client's network in each "
	    "query that has EDNS (settings ecs-prefix-v4, ecs-prefix-v6, "
	    "ecs-client)"),
	("a PROXY protocol v2 header with the client's address and port "
	    "and where it reached the router, before each UDP query and at the "
	    "start of each TCP connection, which then carries that client's "
	    "queries only, as dnsdist and PowerDNS read it (health checks "
	    "send a LOCAL header)"),
};
WORDS_HELP(words_client_addr, 0);

WORDS(words_ecs_client, "keep", "replace");

static const char *const words_good_w[] = { "answer", "nodata", "nxdomain" };
static const char *const words_good_h[] = {
	"NOERROR with at least one answer record (always good)",
	"NOERROR without answer records",
	"NXDOMAIN",
};
WORDS_HELP(words_good, 0);

int
words_find(const struct words *ws, const char *s)
{
	int i;

	for (i = 0; i < ws->n; i++)
		if (strcmp(ws->w[i], s) == 0)
			return i;
	return -1;
}

const char *
words_name(const struct words *ws, int v)
{
	return v >= 0 && v < ws->n ? ws->w[v] : "?";
}

int
words_set_parse(const struct words *ws, const char *s, unsigned *bits)
{
	char w[64];
	size_t n;
	int v;

	*bits = 0;
	for (;;) {
		n = strcspn(s, ",");
		if (n == 0 || n >= sizeof(w))
			return -1;
		memcpy(w, s, n);
		w[n] = '\0';
		if ((v = words_find(ws, w)) == -1 || !words_offered(ws, v))
			return -1;
		*bits |= 1u << v;
		if (s[n] == '\0')
			return 0;
		s += n + 1;
	}
}

void
words_set_format(const struct words *ws, unsigned bits, char *out,
    size_t outlen)
{
	size_t used = 0;
	int v;

	if (outlen == 0)
		return;
	out[0] = '\0';
	for (v = 0; v < ws->n; v++)
		if (bits >> v & 1)
			used += snprintf(out + used, used < outlen ?
			    outlen - used : 0, "%s%s", used ? "," : "",
			    ws->w[v]);
}

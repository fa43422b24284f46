/*
 * words: the word tables of the enumerations (see words.h).  The order of
 * each table is the order of its enum.
 */
#include <string.h>

#include "util.h"
#include "words.h"

#define WORDS(name, ...)						\
	static const char *const name##_w[] = { __VA_ARGS__ };		\
	const struct words name = { name##_w, (int)NELEMS(name##_w) }

WORDS(words_action, "pool", "refuse", "nxdomain", "servfail", "drop");
WORDS(words_policy, "roundrobin", "weighted", "first", "least-outstanding",
    "race", "fanout");
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

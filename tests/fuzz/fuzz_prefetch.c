// FUZZ-BUILD: daemon/route.c daemon/route_index.c common/dnsmsg.c common/util.c common/log.c -Idaemon $(pkg-config --cflags --libs libpcre2-8) -lpthread
/*
 * fuzz_prefetch: a raw datagram as a UDP worker takes it.  The whole
 * input goes to route_prefetch_wire (it runs on every datagram before
 * anything has parsed it), and when the query parser takes it, its name
 * and type go to route_match_wire, in two small tables: one short enough
 * to be scanned, with a qtype filter (so the prefetch reads the type),
 * one with the prefilter.  Nothing may crash or read past the datagram;
 * the decision cache's answer must be what trying every pattern on the
 * name's text gives, and the same when asked again, with the prefetch's
 * hint and without.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dnsmsg.h"
#include "route.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static const char *const short_pats[] = {
	"^www\\.example\\.com\\.$", "^[ab][^.]*\\.example\\.$", "\\.arpa\\.$",
	"^(a|aa)+$", ".",
};
static const uint16_t short_qt[] = { 0, 28, 12, 0, 16 };
static const char *const long_pats[] = {
	"^www\\.example\\.com\\.$", "^[ab][^.]*\\.example\\.$", "\\.arpa\\.$",
	"^_[a-z]+\\._(tcp|udp)\\.", "^x", "\\\\", "\\.$", "^example\\.$",
	"[0-9]{3}", "^\\.$", "^\\*\\.", "^[^.]{40,}\\.",
};

#define NSHORT	((int)(sizeof(short_pats) / sizeof(short_pats[0])))
#define NLONG	((int)(sizeof(long_pats) / sizeof(long_pats[0])))

static struct route_cache	*cache;
static struct route_matcher	*m;
static struct route_table	*tables[2];

static void
setup(void)
{
	static uint16_t long_qt[NLONG];

	cache = route_cache_new();
	m = route_matcher_new();
	tables[0] = route_table_new(cache, short_pats, short_qt, NSHORT, 10000);
	tables[1] = route_table_new(cache, long_pats, long_qt, NLONG, 10000);
}

static void
check(const struct route_table *t, int n, const struct dns_query *q,
    uint64_t hint)
{
	char name[DNS_MAX_TEXT_NAME];
	int want, got, again, lim_want, lim_got, lim_again, nl;

	if ((nl = dns_wire_to_text(q->qname_wire, name, sizeof(name))) < 0)
		abort();	/* a parsed name always has one */
	want = route_match(m, t, name, (size_t)nl, q->qtype, &lim_want);
	got = route_match_wire_hint(m, t, q->qname_wire, q->qname_wire_len,
	    q->qtype, hint, &lim_got);
	/* The hint is the cache's own for the name: asked without one, it
	 * finds the answer the hinted match filed (a limited one is not). */
	if (hint != 0 && !lim_got && !route_matcher_cached(m, t,
	    q->qname_wire, q->qname_wire_len, q->qtype))
		abort();
	again = route_match_wire(m, t, q->qname_wire, q->qname_wire_len,
	    q->qtype, &lim_again);
	if (want < -1 || want >= n || got != want || again != want ||
	    lim_got != lim_want)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dns_query q;
	uint8_t *pkt;
	uint64_t hint[2];

	if (m == NULL)
		setup();
	/* A copy of exactly size bytes: ASan sees a read past the end. */
	pkt = malloc(size > 0 ? size : 1);
	memcpy(pkt, data, size);
	hint[0] = route_prefetch_wire(m, tables[0], pkt, size);
	hint[1] = route_prefetch_wire(m, tables[1], pkt, size);
	if (dns_parse_query(pkt, size, &q) == DNS_OK) {
		check(tables[0], NSHORT, &q, hint[0]);
		check(tables[1], NLONG, &q, hint[1]);
	}
	free(pkt);
	return 0;
}

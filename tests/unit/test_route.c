/*
 * test_route: compile checks, first-match order, qtype filters, the
 * decision cache across table generations, the match limit, and the lite
 * matcher against PCRE2.
 */
#define PCRE2_CODE_UNIT_WIDTH 8

#include <pcre2.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dnsmsg.h"
#include "pcre_oracle.h"
#include "route.h"
#include "route_index.h"
#include "unit.h"
#include "util.h"

/* The query path's answer (wire name, through the decision cache), which
 * must be what trying every pattern on the text gives. */
static int
match(struct route_matcher *m, struct route_table *t, const char *name,
    int qtype, int *limited)
{
	uint8_t wire[DNS_MAX_WIRE_NAME];
	int wl, want, got, lim;

	want = route_match(m, t, name, strlen(name), (uint16_t)qtype, limited);
	if ((wl = dns_text_to_wire(name, wire, sizeof(wire))) == -1)
		return want;
	got = route_match_wire(m, t, wire, (size_t)wl, (uint16_t)qtype, &lim);
	CHECKF(got == want && lim == *limited,
	    "%s: cached %d (limited %d), every pattern %d (limited %d)", name,
	    got, lim, want, *limited);
	return got;
}

/* Does the decision cache answer for this name (in t)? */
static int
cached(struct route_matcher *m, struct route_table *t, const char *name,
    int qtype)
{
	uint8_t wire[DNS_MAX_WIRE_NAME];
	int wl;

	if ((wl = dns_text_to_wire(name, wire, sizeof(wire))) == -1)
		return 0;
	return route_matcher_cached(m, t, wire, (size_t)wl, (uint16_t)qtype);
}

/* Match name in t past HOT_USES (16) tries, route i each time: its
 * pattern is then on the cache's hot list, if interpreted. */
static void
try_often(struct route_matcher *m, struct route_table *t, const char *name,
    int i)
{
	int k, limited;

	for (k = 0; k < 20; k++)
		CHECK(route_match(m, t, name, strlen(name), 1, &limited) == i);
}

/*
 * The lite matcher against PCRE2: random patterns in and around the
 * shapes it takes, random names over the bytes that matter to them.
 */
static uint64_t rng = 0x2545f4914f6cdd1dULL;

static unsigned
rnd(unsigned n)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (unsigned)(rng % n);
}

static void
gen_pattern(char *p, size_t cap)
{
	static const char *pieces[] = {
		"a", "b", "z", "0", "-", "\\.", "\\-", "\\\\", "\\*", "_", ".",
		"[a-q]", "[^.]", "[.a]", "[ab-]", "[-z]", "[^a-c.]", "[0-9_]",
		"[\\.x]", "[]a]", "[^]]", "[a-b-c]", "[\\]]", "\\.z012345",
		"\\.bench\\.test\\.", "example", "[$^]", "*", "+", "?", "{2}",
		"|", "(", ")", "\\d", "[[:alpha:]]", "\\n", "\\Qa\\E", "A",
		"[z-a]", "\\", "[", "$", "^", "*?", "++", " ", "#", "[.a.]",
		"[:a:]", "[=a=]",
	};
	size_t o = 0, k, n = rnd(8);

	p[0] = '\0';
	if (rnd(3) != 0)
		o += (size_t)snprintf(p + o, cap - o, "^");
	for (k = 0; k < n && o + 16 < cap; k++) {
		/* Mostly the pieces of the common shapes. */
		const char *x = pieces[rnd(rnd(4) == 0 ?
		    sizeof(pieces) / sizeof(pieces[0]) : 27)];

		o += (size_t)snprintf(p + o, cap - o, "%s", x);
		if (rnd(5) == 0)
			o += (size_t)snprintf(p + o, cap - o, "%s",
			    rnd(3) == 0 ? "+" : "*");
	}
	if (rnd(3) != 0 && o + 2 < cap)
		snprintf(p + o, cap - o, "$");
}

static size_t
gen_name(char *s, size_t cap, int printable)
{
	static const char bytes[] = "abzq0-._\\*]$\n";
	size_t n = rnd(5) == 0 ? rnd((unsigned)cap - 40) : rnd(24), i, run;
	char c = bytes[rnd(4)];

	/* Some start with a long run of one byte: what makes a star
	 * backtrack, up to PCRE2's match limit. */
	run = rnd(3) == 0 ? n - rnd(8) % (n + 1) : 0;
	for (i = 0; i < n; i++)
		s[i] = i < run ? c :
		    bytes[rnd(sizeof(bytes) - (printable ? 2 : 1))];
	if (rnd(3) == 0 && n > 0)
		s[n - 1] = '.';
	if (rnd(4) == 0 && n + 20 < cap) {
		memcpy(s + n, ".z012345.bench.test.", 20);
		n += 20;
	}
	s[n] = '\0';
	return n;
}

static void
test_lite(struct route_cache *c, struct route_matcher *m)
{
	static const uint32_t limits[] = { 100, 300, 10000 };
	char pat[128], name[320];
	uint8_t prog[256];
	uint32_t nl = 0;
	int k, j, took = 0, decided = 0, limited;

	CHECK(pcre2_config(PCRE2_CONFIG_NEWLINE, &nl) >= 0);
	if (nl != PCRE2_NEWLINE_LF)
		return;
	/* The shapes it is for, and some it is not. */
	CHECK(route_index_lite_compile("^[a-q][^.]*\\.z012345\\.bench\\.test\\.$",
	    prog, sizeof(prog)) > 0);
	CHECK(route_index_lite_compile("\\.bench\\.test\\.$", prog,
	    sizeof(prog)) > 0);
	CHECK(route_index_lite_compile("^www\\.", prog, sizeof(prog)) > 0);
	CHECK(route_index_lite_compile("^a|b", prog, sizeof(prog)) == 0);
	CHECK(route_index_lite_compile("^a?b", prog, sizeof(prog)) == 0);
	CHECK(route_index_lite_compile("^a*b*", prog, sizeof(prog)) == 0);
	CHECK(route_index_lite_compile("ax*\\.$", prog, sizeof(prog)) == 0);
	CHECK(route_index_lite_compile(".*\\.example\\.$", prog,
	    sizeof(prog)) > 0);
	CHECK(route_index_lite_compile("^[.a]", prog, sizeof(prog)) == 0);
	CHECK(route_index_lite_compile("^\\d", prog, sizeof(prog)) == 0);
	for (k = 0; k < 20000; k++) {
		pcre2_code *code;
		PCRE2_SIZE off;
		int ec, jit;
		size_t pl;

		gen_pattern(pat, sizeof(pat));
		if ((pl = route_index_lite_compile(pat, prog, sizeof(prog))) == 0)
			continue;
		took++;
		code = pcre2_compile((PCRE2_SPTR)pat, PCRE2_ZERO_TERMINATED, 0,
		    &ec, &off, NULL);
		CHECKF(code != NULL, "%s: taken, but PCRE2 does not compile it",
		    pat);
		if (code == NULL)
			continue;
		jit = pcre2_jit_compile(code, PCRE2_JIT_COMPLETE) == 0;
		for (j = 0; j < 30; j++) {
			size_t n = gen_name(name, sizeof(name), 0);
			uint32_t lim = limits[rnd(3)];
			int lite = route_index_lite_match(prog, name, n, lim);

			if (lite == -1)
				continue;
			decided++;
			CHECKF(lite == pcre_says(code, name, n, lim,
			    PCRE2_NO_JIT) &&
			    (!jit || lite == pcre_says(code, name, n, lim, 0)),
			    "%s on \"%s\" (limit %u): lite %d, PCRE2 %d, JIT %d",
			    pat, name, lim, lite, pcre_says(code, name, n, lim,
			    PCRE2_NO_JIT), jit ? pcre_says(code, name, n, lim, 0) : -2);
		}
		pcre2_code_free(code);
	}
	CHECKF(took > 2000 && decided > 20000, "%d patterns taken, %d "
	    "names decided", took, decided);

	/* Through the prefilter (lite programs for what is left of a
	 * pattern past its literal): a table's first match is what trying
	 * each pattern alone gives, for names the query path makes. */
	for (k = 0; k < 40; k++) {
		enum { NP = 24 };
		static char pb[NP][128];
		const char *pp[NP];
		uint16_t q0[NP] = { 0 };
		struct route_table *all, *one[NP];
		int i, want, got;

		for (i = 0; i < NP; i++) {
			gen_pattern(pb[i], sizeof(pb[i]));
			if (route_check_pattern(pb[i], 10000, name,
			    sizeof(name)) == -1)
				snprintf(pb[i], sizeof(pb[i]),
				    "^[a-q][^.]*\\.z%06d\\.test\\.$", i);
			pp[i] = pb[i];
		}
		all = route_table_new(c, pp, q0, NP, limits[k % 3]);
		CHECK(all->ix != NULL);
		for (i = 0; i < NP; i++)
			one[i] = route_table_new(c, &pp[i], q0, 1, limits[k % 3]);
		for (j = 0; j < 400; j++) {
			size_t n = gen_name(name, 260, 1);

			want = -1;
			for (i = 0; i < NP && want < 0; i++)
				if (route_match(m, one[i], name, n, 1,
				    &limited) == 0)
					want = i;
			got = route_match(m, all, name, n, 1, &limited);
			CHECKF(got == want, "\"%s\": got %d want %d (limit %u)",
			    name, got, want, limits[k % 3]);
		}
		for (i = 0; i < NP; i++)
			route_table_free(one[i]);
		route_table_free(all);
	}
}

/* route_check_pattern passes the patterns the lite matcher takes without
 * PCRE2 when it can: its answer must still be PCRE2's (compiles, and no
 * probe name reaches the limit), for every pattern and limit. */
static void
test_check(void)
{
	static const uint32_t limits[] = { 100, 300, 1000, 10000 };
	static const char probes[] = "a0-.x";
	char pat[128], probe[260], err[320];
	uint8_t prog[256];
	int k, i, took = 0, want, got;

	for (k = 0; k < 20000; k++) {
		uint32_t lim = limits[rnd(4)];
		pcre2_code *code;
		PCRE2_SIZE off;
		int ec;

		gen_pattern(pat, sizeof(pat));
		if (route_index_lite_compile(pat, prog, sizeof(prog)) > 0)
			took++;
		code = pcre2_compile((PCRE2_SPTR)pat, PCRE2_ZERO_TERMINATED, 0,
		    &ec, &off, NULL);
		want = code == NULL ? -1 : 0;
		for (i = 0; code != NULL && probes[i] != '\0'; i++) {
			memset(probe, probes[i], 250);
			probe[250] = '!';
			if (pcre_says(code, probe, 251, lim, PCRE2_NO_JIT) == -1)
				want = -1;
		}
		pcre2_code_free(code);
		got = route_check_pattern(pat, lim, err, sizeof(err));
		CHECKF(got == want, "%s (limit %u): checked %d, PCRE2 %d (%s)",
		    pat, lim, got, want, got == -1 ? err : "");
	}
	CHECKF(took > 2000, "only %d patterns for the lite matcher", took);
	/* The bench's shape, at the lowest limit (the lite matcher cannot
	 * be sure there: PCRE2 decides) and the default. */
	CHECK(route_check_pattern("^[a-q][^.]*\\.z012345\\.bench\\.test\\.$",
	    100, err, sizeof(err)) == 0);
	CHECK(route_check_pattern("^[a-q][^.]*\\.z012345\\.bench\\.test\\.$",
	    10000, err, sizeof(err)) == 0);
	CHECK(route_check_pattern("^[a-q][^.]*\\.z012345\\.bench\\.test\\.($",
	    10000, err, sizeof(err)) == -1);
}

int
main(void)
{
	struct route_cache *c = route_cache_new();
	struct route_matcher *m = route_matcher_new();
	struct route_table *t, *t2;
	const char *pats[] = { "^[ab][^.]*\\.example\\.$", "^[cd]", "^example\\.$", "." };
	uint16_t qt[] = { 0, 0, 0, 0 };
	const char *pats2[] = { "^example\\.$", "^[ab]" };
	uint16_t qt2[] = { 16, 0 };
	char err[256];
	int limited, i;

	/* Compile errors carry PCRE2's message and the offset. */
	CHECK(route_check_pattern("^[ab", 10000, err, sizeof(err)) == -1);
	CHECKF(strstr(err, "missing terminating ]") != NULL, "%s", err);
	CHECKF(strstr(err, "offset 4") != NULL, "%s", err);
	CHECK(route_check_pattern("(", 10000, err, sizeof(err)) == -1);
	CHECK(route_check_pattern("^www\\.", 10000, err, sizeof(err)) == 0);
	/* A pattern that backtracks exponentially is refused at add. */
	CHECKF(route_check_pattern("^(a+)+$", 10000, err, sizeof(err)) == -1,
	    "(a+)+$ accepted");
	CHECKF(strstr(err, "exponential") != NULL, "%s", err);
	CHECK(route_check_pattern("^(\\w+\\.)*example\\.$", 10000, err,
	    sizeof(err)) == 0);

	t = route_table_new(c, pats, qt, 4, 10000);
	CHECK(t != NULL);
	/* First match wins, and the cache gives the same answer twice. */
	for (i = 0; i < 2; i++) {
		CHECK(match(m, t, "a1.example.", 1, &limited) == 0);
		CHECK(match(m, t, "bee.example.", 1, &limited) == 0);
		CHECK(match(m, t, "c1.example.", 1, &limited) == 1);
		CHECK(match(m, t, "example.", 6, &limited) == 2);
		CHECK(match(m, t, "zzz.", 1, &limited) == 3);
		CHECK(match(m, t, ".", 1, &limited) == 3);
		CHECK(limited == 0);
	}
	/* A table that follows t with its first two routes unchanged keeps
	 * the decisions for those two; the others are matched again. */
	{
		const char *more[] = { pats[0], pats[1], "^e", pats[2],
		    pats[3] };
		uint16_t mq[] = { 0, 0, 0, 0, 0 };
		struct route_table *t3;

		t3 = route_table_new(c, more, mq, 5, 10000);
		route_table_inherit(t3, t);
		CHECK(t3->keep == 2 && t3->prev_gen == t->gen);
		CHECK(cached(m, t3, "a1.example.", 1));
		CHECK(cached(m, t3, "c1.example.", 1));
		CHECK(!cached(m, t3, "example.", 6));
		CHECK(!cached(m, t3, "zzz.", 1));
		CHECK(match(m, t3, "a1.example.", 1, &limited) == 0);
		CHECK(match(m, t3, "c1.example.", 1, &limited) == 1);
		CHECK(match(m, t3, "example.", 6, &limited) == 2);
		CHECK(match(m, t3, "zzz.", 1, &limited) == 4);
		/* A decision taken over is t3's now, no longer t's. */
		CHECK(!cached(m, t, "a1.example.", 1));
		CHECK(match(m, t, "a1.example.", 1, &limited) == 0);
		/* A limit changed: nothing is kept. */
		route_table_free(t3);
		t3 = route_table_new(c, pats, qt, 4, 5000);
		route_table_inherit(t3, t);
		CHECK(t3->keep == 0);
		CHECK(!cached(m, t3, "a1.example.", 1));
		CHECK(match(m, t3, "a1.example.", 1, &limited) == 0);
		route_table_free(t3);
	}
	/* A new table is seen at once, even for cached names. */
	t2 = route_table_new(c, pats2, qt2, 2, 10000);
	CHECK(t2 != NULL);
	CHECK(t2->gen != t->gen);
	CHECK(match(m, t2, "a1.example.", 1, &limited) == 1);
	CHECK(match(m, t2, "c1.example.", 1, &limited) == -1);
	/* qtype filter: the apex route only for TXT. */
	CHECK(match(m, t2, "example.", 16, &limited) == 0);
	CHECK(match(m, t2, "example.", 1, &limited) == -1);
	CHECK(match(m, t2, "example.", 16, &limited) == 0);
	/* Old table still valid (workers may hold it). */
	CHECK(match(m, t, "c1.example.", 1, &limited) == 1);
	route_table_free(t);
	route_cache_gc(c);
	CHECK(match(m, t2, "b.example.", 1, &limited) == 1);

	/* A pattern that does not compile (route add refuses it; a store
	 * from another PCRE2 might hold one) matches nothing, counted as a
	 * limited non-match, and the routes after it still match. */
	{
		const char *bad[] = { "^ok", "^[x", "." };
		uint16_t bq[] = { 0, 0, 0 };
		struct route_cache_stats st;

		t = route_table_new(c, bad, bq, 3, 10000);
		CHECK(t != NULL);
		CHECK(match(m, t, "ok.", 1, &limited) == 0 && limited == 0);
		CHECK(match(m, t, "[x.", 1, &limited) == 2 && limited == 1);
		CHECK(route_cache_warm(c, t, UINT64_MAX) == 0);
		route_cache_stats(c, &st);
		CHECK(st.bad == 1);
		route_table_free(t);
	}
	/* Names in the long-entry table, and names too long for either,
	 * match all the same, twice (the second time from the cache). */
	for (i = 0; i < 2; i++) {
		char name[200];

		memset(name, 'a', 60);
		strcpy(name + 60, ".example.");
		CHECK(match(m, t2, name, 1, &limited) == 1);
		memset(name, 'a', 50);
		name[50] = '.';
		memset(name + 51, 'b', 50);
		name[101] = '.';
		memset(name + 102, 'a', 50);
		strcpy(name + 152, ".example.");
		CHECK(match(m, t2, name, 1, &limited) == 1);
		name[0] = 'z';
		CHECK(match(m, t2, name, 1, &limited) == -1);
	}
	/* Many names, so that sets fill and entries are pushed out, over two
	 * tables that route them differently: every answer is checked
	 * against the patterns by match(). */
	{
		const char *ends[] = { "1\\.", "[27]\\.", "^n0", "." };
		const char *odd[] = { "[13579]\\.", "." };
		uint16_t q4[] = { 0, 0, 0, 0 };
		struct route_table *ta, *tb;
		char name[64];
		int round, k;

		ta = route_table_new(c, ends, q4, 4, 10000);
		tb = route_table_new(c, odd, q4, 2, 10000);
		CHECK(ta != NULL && tb != NULL);
		for (round = 0; round < 3; round++)
			for (k = 0; k < 40000; k++) {
				snprintf(name, sizeof(name), "n%05d.bench.", k);
				(void)match(m, ta, name, 1, &limited);
				if (k % 3 == 0)
					(void)match(m, tb, name, 28, &limited);
			}
		route_table_free(ta);
		route_table_free(tb);
	}
	/* The match limit stops a slow pattern and says so. */
	{
		const char *slow[] = { "^(a|aa)+$", "." };
		uint16_t sq[] = { 0, 0 };
		char name[64];

		t = route_table_new(c, slow, sq, 2, 1000);
		CHECK(t != NULL);
		memset(name, 'a', 40);
		strcpy(name + 40, "!");
		CHECK(match(m, t, name, 1, &limited) == 1);
		CHECK(limited == 1);
		route_table_free(t);
	}
	route_table_free(t2);

	/* The prefilter files each pattern under the right literal. */
	{
		static const struct { const char *pat, kind, *lit; } cls[] = {
			{ "^www\\.", 'p', "www." },
			{ "^ab*c", 'p', "a" },
			{ "^a{2}b", 'a', "" },
			{ "\\.example\\.$", 's', ".example." },
			{ "^[ab]\\.example\\.$", 's', ".example." },
			{ "^r00001\\.bench\\.$", 'p', "r00001.bench." },
			{ "^a|b", 'a', "" },
			{ "(?i)^www", 'a', "" },
			{ "www", 'a', "" },
			{ "^\\d+x", 'a', "" },
			{ "x+$", 'a', "" },
			{ "[$]$", 'a', "" },
			{ "^a\\$", 'p', "a$" },
			{ "^.", 'a', "" },
		};
		char lit[256];
		size_t k;

		for (k = 0; k < sizeof(cls) / sizeof(cls[0]); k++) {
			char kind = route_index_classify(cls[k].pat, lit, sizeof(lit));

			CHECKF(kind == cls[k].kind && strcmp(lit, cls[k].lit) == 0,
			    "%s: %c \"%s\"", cls[k].pat, kind, lit);
		}
	}

	/* Differential: with the prefilter, the first match is the one a
	 * plain scan finds, for every name. */
	{
		static const char *dpats[] = {
			"^www\\.", "\\.example\\.$", "^a[0-9]+\\.example\\.$",
			"^mail", "^mail\\.other\\.$", "org\\.$", "^(a|b)", "^b+c",
			"x", "^c1\\.", "\\.$", "^r00001\\.bench\\.$", "^wwx",
			"^w", "com\\.$", "^[^.]*\\.net\\.$",
			/* Literals with several routes. */
			"^[b-d][^.]*\\.example\\.$", "^w", "^[cd]1\\.example\\.$",
		};
		static const char *names[] = {
			"www.example.", "a1.example.", "mail.other.", "mail.org.",
			"bbc.example.", "bc.", "xyz.", "c1.example.", "r00001.bench.",
			"r00002.bench.", "wwx.com.", "w.", ".", "foo.net.",
			"a.b.net.", "zzz.org.", "ab.", "abc\\046.com.",
		};
		int np = sizeof(dpats) / sizeof(dpats[0]), k, j, want, got;
		uint16_t q0[32] = { 0 };
		struct route_table *one[32], *all;

		all = route_table_new(c, dpats, q0, np, 10000);
		CHECK(all != NULL && all->ix != NULL);
		for (k = 0; k < np; k++)
			one[k] = route_table_new(c, &dpats[k], q0, 1, 10000);
		for (j = 0; j < (int)(sizeof(names) / sizeof(names[0])); j++) {
			want = -1;
			for (k = 0; k < np && want < 0; k++)
				if (match(m, one[k], names[j], 1, &limited) == 0)
					want = k;
			got = match(m, all, names[j], 1, &limited);
			CHECKF(got == want, "%s: got %d want %d", names[j], got, want);
		}
		for (k = 0; k < np; k++)
			route_table_free(one[k]);
		route_table_free(all);
	}

	/* Nothing is compiled when a table is made; a name that needs a
	 * pattern compiles it, so the answers before, during and after the
	 * background work are the same, interpreted or JIT-compiled.  (The
	 * patterns have a ? that the lite matcher leaves to PCRE2: those it
	 * decides are not compiled ahead, see below.) */
	{
		enum { NP = 3000 };
		static char pbuf[NP][48];
		const char *lp[NP + 1];
		uint16_t lq[NP + 1];
		struct route_cache *lc = route_cache_new();
		struct route_cache_stats st;
		char name[64];
		int k, pass, want;

		for (k = 0; k < NP; k++) {
			snprintf(pbuf[k], sizeof(pbuf[k]),
			    "^[a-q][^.]?[^.]*\\.z%05d\\.test\\.$", k);
			lp[k] = pbuf[k];
			lq[k] = 0;
		}
		lp[NP] = "\\.tes?t\\.$";
		lq[NP] = 0;
		/* Room for JIT code of about half the patterns. */
		route_cache_set_jit_budget(lc, 600 * (NP / 2));
		t = route_table_new(lc, lp, lq, NP + 1, 10000);
		route_cache_stats(lc, &st);
		CHECK(st.patterns == NP + 1 && st.compiled == 0 &&
		    st.pending == NP + 1);
		for (pass = 0; pass < 3; pass++) {
			for (k = 0; k < NP; k += 7) {
				snprintf(name, sizeof(name), "b%d.z%05d.test.",
				    k, k);
				CHECK(match(m, t, name, 1, &limited) == k);
				/* Past the first letters: the catch-all. */
				snprintf(name, sizeof(name), "x%d.z%05d.test.",
				    k, k);
				want = NP;
				CHECK(match(m, t, name, 1, &limited) == want);
			}
			if (pass == 0) {
				route_cache_stats(lc, &st);
				CHECKF(st.compiled < NP / 2, "%zu compiled by "
				    "matching", st.compiled);
				/* A slice at a time, then the rest. */
				CHECK(route_cache_warm(lc, t, 0) == 1);
				route_cache_stats(lc, &st);
				CHECK(st.compiled < NP + 1);
			} else if (pass == 1)
				CHECK(route_cache_warm(lc, t, UINT64_MAX) == 0);
		}
		route_cache_stats(lc, &st);
		CHECK(st.compiled == NP + 1 && st.bad == 0 && st.pending == 0);
		/* JIT code: up to half the budget at once, in route order;
		 * the rest for what the matchers use (here the catch-all). */
		CHECKF(st.jit == 0 || (st.jit < NP && st.jit_bytes >= 600 *
		    (NP / 4) && st.jit_bytes < 600 * (NP / 2)), "%zu "
		    "JIT-compiled, %zu bytes", st.jit, st.jit_bytes);
		if (st.jit > 0) {
			size_t j = st.jit;

			snprintf(name, sizeof(name), "c1.z%05d.test.", NP - 1);
			for (k = 0; k < 20; k++)
				CHECK(route_match(m, t, name, strlen(name), 1,
				    &limited) == NP - 1);
			route_cache_stats(lc, &st);
			CHECKF(st.jit_wanted == 1, "%zu wanted", st.jit_wanted);
			CHECK(route_cache_warm(lc, t, UINT64_MAX) == 0);
			route_cache_stats(lc, &st);
			CHECKF(st.jit == j + 1 && st.jit_wanted == 0, "%zu "
			    "JIT-compiled, %zu before", st.jit, j);
			CHECK(route_match(m, t, name, strlen(name), 1,
			    &limited) == NP - 1);
		}
		/* The same patterns again: the table can be shared. */
		CHECK(route_table_same(t, lp, lq, NP + 1, 10000));
		CHECK(!route_table_same(t, lp, lq, NP, 10000));
		CHECK(!route_table_same(t, lp, lq, NP + 1, 1000));
		lq[5] = 28;
		CHECK(!route_table_same(t, lp, lq, NP + 1, 10000));
		route_table_free(t);
		route_cache_gc(lc);
		route_cache_stats(lc, &st);
		CHECK(st.patterns == 0 && st.jit_bytes == 0);
		/* A table whose JIT code all fits the budget gets it all in
		 * the background, not half of it. */
		route_cache_set_jit_budget(lc, 4000 * (NP + 1));
		lq[5] = 0;
		t = route_table_new(lc, lp, lq, NP + 1, 10000);
		CHECK(route_cache_warm(lc, t, UINT64_MAX) == 0);
		route_cache_stats(lc, &st);
		CHECKF(st.jit == 0 || st.jit == NP + 1, "%zu of %d "
		    "JIT-compiled", st.jit, NP + 1);
		route_table_free(t);
		route_cache_gc(lc);
		route_cache_free(lc);
	}

	/* The JIT pass takes the patterns the matchers list as tried
	 * often, and only those.  The list keeps what it lists: a pattern
	 * waits there for budget, and one whose last table goes meanwhile
	 * is not JIT-compiled and is freed by the next gc. */
	{
		const char *hp[] = { "^[a-q][^.]?[^.]*\\.hot\\.test\\.$",
		    "^[a-q][^.]?[^.]*\\.cold\\.test\\.$", "^x" };
		uint16_t hq[] = { 0, 0, 0 };
		struct route_cache *lc = route_cache_new();
		struct route_cache_stats st;
		struct route_table *tx;
		uint32_t jit = 0;
		size_t want;

		(void)pcre2_config(PCRE2_CONFIG_JIT, &jit);
		want = jit ? 1 : 0;
		route_cache_set_jit_budget(lc, 0);
		t = route_table_new(lc, hp, hq, 2, 10000);
		CHECK(route_cache_warm(lc, t, UINT64_MAX) == 0);
		try_often(m, t, "b.hot.test.", 0);
		CHECK(route_cache_warm(lc, t, UINT64_MAX) == 0);
		route_cache_stats(lc, &st);
		CHECKF(st.compiled == 2 && st.jit == 0 && st.jit_wanted == 0,
		    "%zu compiled, %zu JIT, %zu wanted", st.compiled, st.jit,
		    st.jit_wanted);
		/* Room: the one that waited, not the other. */
		route_cache_set_jit_budget(lc, 1 << 20);
		route_cache_stats(lc, &st);
		CHECKF(st.jit_wanted == 1, "%zu wanted", st.jit_wanted);
		CHECK(route_cache_warm(lc, t, UINT64_MAX) == 0);
		route_cache_stats(lc, &st);
		CHECKF(st.jit == want && st.jit_wanted == 0, "%zu JIT, %zu "
		    "wanted", st.jit, st.jit_wanted);
		/* Listed, then its table goes before the pass looks (tx's
		 * pattern gets JIT code as the first of a new table). */
		try_often(m, t, "b.cold.test.", 1);
		tx = route_table_new(lc, &hp[2], hq, 1, 10000);
		route_table_free(t);
		CHECK(route_cache_warm(lc, tx, UINT64_MAX) == 0);
		route_cache_stats(lc, &st);
		CHECKF(st.patterns == 3 && st.jit == 2 * want, "%zu "
		    "patterns, %zu JIT", st.patterns, st.jit);
		route_cache_gc(lc);
		route_cache_stats(lc, &st);
		CHECKF(st.patterns == 1 && st.jit == want, "%zu patterns, "
		    "%zu JIT", st.patterns, st.jit);
		/* Listed, then its table goes before gc: gc frees it, and
		 * the pass after has nothing left of it to look at. */
		t = route_table_new(lc, hp, hq, 2, 10000);
		try_often(m, t, "b.hot.test.", 0);
		route_table_free(t);
		route_cache_gc(lc);
		route_cache_stats(lc, &st);
		CHECKF(st.patterns == 1, "%zu patterns", st.patterns);
		CHECK(route_cache_warm(lc, tx, UINT64_MAX) == 0);
		route_cache_stats(lc, &st);
		CHECK(st.patterns == 1 && st.jit == want);
		/* Listed and never looked at: the cache lets go of it. */
		t = route_table_new(lc, hp, hq, 2, 10000);
		try_often(m, t, "b.hot.test.", 0);
		route_table_free(t);
		route_table_free(tx);
		route_cache_free(lc);
	}

	/* The background work compiles no pattern the lite matcher
	 * decides, and does not count one as pending; a name the lite
	 * program cannot be sure of compiles its pattern then. */
	{
		enum { NL = 200 };
		static char lbuf[NL][48];
		const char *lp[NL + 2];
		uint16_t lq[NL + 2] = { 0 };
		struct route_cache *lc = route_cache_new();
		struct route_cache_stats st;
		char name[128];
		int k;

		for (k = 0; k < NL; k++) {
			snprintf(lbuf[k], sizeof(lbuf[k]),
			    "^[a-q][^.]*\\.z%05d\\.test\\.$", k);
			lp[k] = lbuf[k];
		}
		lp[NL] = "^[a-q][^.]?[^.]*\\.y\\.test\\.$";
		lp[NL + 1] = "\\.test\\.$";
		/* A low match limit: the lite programs are sure of short
		 * names only. */
		t = route_table_new(lc, lp, lq, NL + 2, 200);
		CHECK(route_cache_warm(lc, t, UINT64_MAX) == 0);
		route_cache_stats(lc, &st);
		CHECKF(st.patterns == NL + 2 && st.compiled == 1 &&
		    st.pending == 0 && st.bad == 0, "%zu patterns, %zu "
		    "compiled, %zu pending", st.patterns, st.compiled,
		    st.pending);
		for (k = 0; k < NL; k += 13) {
			snprintf(name, sizeof(name), "b%d.z%05d.test.", k, k);
			CHECK(match(m, t, name, 1, &limited) == k);
			snprintf(name, sizeof(name), "x%d.z%05d.test.", k, k);
			CHECK(match(m, t, name, 1, &limited) == NL + 1);
		}
		CHECK(match(m, t, "b.y.test.", 1, &limited) == NL);
		route_cache_stats(lc, &st);
		CHECK(st.compiled == 1);
		/* A name that might reach the limit: PCRE2's to say. */
		snprintf(name, sizeof(name), "b%060d.z%05d.test.", 1, 7);
		k = match(m, t, name, 1, &limited);
		CHECKF(k == 7 || (k == NL + 1 && limited), "%d", k);
		route_cache_stats(lc, &st);
		CHECKF(st.compiled == 2, "%zu compiled", st.compiled);
		route_table_free(t);
		route_cache_gc(lc);
		route_cache_free(lc);
	}

	/* A flood of names never seen before does not push out the
	 * decisions of the names in use (random-subdomain attacks). */
	{
		const char *fp[] = { "^h", "." };
		uint16_t fq[] = { 0, 0 };
		uint8_t wire[DNS_MAX_WIRE_NAME];
		char name[64];
		int k, wl, kept = 0;

		t = route_table_new(c, fp, fq, 2, 10000);
		for (k = 0; k < 2000; k++) {
			snprintf(name, sizeof(name), "h%d.example.", k);
			(void)match(m, t, name, 1, &limited);
			(void)match(m, t, name, 1, &limited);
		}
		for (k = 0; k < 200000; k++) {
			snprintf(name, sizeof(name), "u%d.example.", k);
			(void)match(m, t, name, 1, &limited);
		}
		for (k = 0; k < 2000; k++) {
			snprintf(name, sizeof(name), "h%d.example.", k);
			wl = dns_text_to_wire(name, wire, sizeof(wire));
			kept += route_matcher_cached(m, t, wire, (size_t)wl, 1);
		}
		/* Two names in use that share a set (some 120 pairs among
		 * 2,000 names in 16,384 sets) lose one of them: the way a new
		 * name needs.  Every other name stays. */
		CHECKF(kept >= 1800, "%d of 2000 names in use kept", kept);
		route_table_free(t);
	}
	/* The cache's hash folds octets together (0x20 set in each: '@'
	 * and '`', label lengths 1 and 33): names that hash alike are still
	 * told apart, both ways round. */
	{
		const char *fp[] = { "064", "096", "." };
		uint16_t fq[] = { 0, 0, 0 };

		t = route_table_new(c, fp, fq, 3, 10000);
		for (i = 0; i < 2; i++) {
			CHECK(match(m, t, "q\\064.example.", 1, &limited) == 0);
			CHECK(match(m, t, "q\\096.example.", 1, &limited) == 1);
			CHECK(match(m, t, "q\\064.example.", 1, &limited) == 0);
			CHECK(match(m, t, "Q\\096.example.", 1, &limited) == 1);
		}
		route_table_free(t);
	}
	/* The prefetch reads a raw datagram as it came: every cut of a query,
	 * and labels that are not, in a buffer of exactly that size (ASan
	 * sees a read past it), change no answer. */
	{
		static const uint8_t q[] = { 0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0,
		    0, 1, 'h', 7, 'E', 'x', 'a', 'm', 'p', 'l', 'e', 0, 0, 1,
		    0, 1 };
		const char *fp[] = { "^h", "." };
		uint16_t fq[] = { 0, 28 };
		uint8_t *buf;
		size_t n;

		t = route_table_new(c, fp, fq, 2, 10000);
		for (n = 0; n <= sizeof(q); n++) {
			buf = xmalloc(n > 0 ? n : 1);
			memcpy(buf, q, n);
			route_prefetch_wire(m, t, buf, n);
			if (n > 12) {
				buf[12] = 0xc0;
				route_prefetch_wire(m, t, buf, n);
				buf[12] = 0x3f;
				route_prefetch_wire(m, t, buf, n);
			}
			free(buf);
		}
		CHECK(match(m, t, "h.example.", 1, &limited) == 0);
		CHECK(match(m, t, "x.example.", 28, &limited) == 1);
		CHECK(match(m, t, "x.example.", 1, &limited) == -1);
		route_table_free(t);
	}
	/* The prefetch's hint for a datagram (its name in any case) is
	 * what the decision cache files the lowercased name under: matched
	 * with it, the name is cached where a lookup without a hint finds
	 * it, and a wrong hint changes no answer. */
	{
		static const uint8_t q[] = { 0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0,
		    0, 3, 'W', 'w', 'W', 7, 'E', 'x', 'A', 'm', 'p', 'L', 'e',
		    0, 0, 28, 0, 1 };
		const char *fp[] = { "^www\\.", "." };
		uint16_t fq[] = { 0, 28 };
		struct dns_query dq;
		uint64_t hint;
		int k;

		for (k = 0; k < 2; k++) {
			t = route_table_new(c, fp, fq, 2 - k, 10000);
			hint = route_prefetch_wire(m, t, q, sizeof(q));
			CHECK(hint != 0);
			CHECK(dns_parse_query(q, sizeof(q), &dq) == DNS_OK);
			CHECK(!cached(m, t, "www.example.", 28));
			CHECK(route_match_wire_hint(m, t, dq.qname_wire,
			    dq.qname_wire_len, dq.qtype, hint, &limited) == 0);
			CHECK(cached(m, t, "www.example.", 28));
			CHECK(route_match_wire_hint(m, t, dq.qname_wire,
			    dq.qname_wire_len, dq.qtype, hint ^ 1ULL << 40,
			    &limited) == 0);
			route_table_free(t);
		}
	}
	/* 10,000 names (a third of the short table) asked in turn, again and
	 * again, as the benchmark asks them: nearly all are answered from the
	 * cache by the third round.  With both ways of a name in one set, 9%
	 * missed every round (three names of a set pushing each other out). */
	{
		const char *one[] = { "\\.bench\\.$" };
		uint16_t oq[] = { 0 };
		char nm[32];
		int n, round, hits = 0;

		t = route_table_new(c, one, oq, 1, 10000);
		CHECK(t != NULL);
		for (round = 0; round < 3; round++)
			for (n = 1; n <= 10000; n++) {
				snprintf(nm, sizeof(nm), "n%05d.bench.", n);
				if (round == 2 && cached(m, t, nm, 1))
					hits++;
				CHECK(match(m, t, nm, 1, &limited) == 0);
			}
		CHECKF(hits >= 9700, "%d of 10000 names cached", hits);
		route_table_free(t);
	}
	test_lite(c, m);
	test_check();
	route_matcher_free(m);
	route_cache_free(c);
	UNIT_DONE("route");
}

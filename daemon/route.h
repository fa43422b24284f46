/*
 * route: the regex route table.  PCRE2 lives here and nowhere else.
 *
 * A table is built whole from an ordered list of patterns and is immutable
 * afterwards; the workers match against it while the main thread builds the
 * next one.  Patterns are shared between successive tables through a cache
 * keyed by pattern text, so a one-route edit of a 100,000-route table
 * compiles one pattern; a table whose patterns are all unchanged (an edit
 * of a pool, a backend, a setting) is shared whole, keeping its generation,
 * its prefilter and every worker's cached decisions.
 *
 * Compilation is lazy: a table is built without compiling anything, so a
 * restart with 100,000 stored routes serves at once.  The main thread then
 * compiles every pattern in the background (route_cache_warm) but those
 * the prefilter's lite matcher decides (route_index.h), and JIT-
 * compiles them within a memory budget (JIT code for 100,000 patterns is
 * about 100 MB): half of it in route order (the prefilter's always-tried
 * patterns first), the other half for the patterns the matchers then try
 * often.  A matcher that meets a pattern not compiled yet compiles it on
 * the spot.  Every pattern of a table is therefore tried whenever it could
 * decide the answer, compiled or not: what the background work changes is
 * only how fast.
 *
 * Each worker owns a matcher: PCRE2 match data with match limits, and a
 * decision cache keyed by (wire name, type) and the table's generation, so
 * a name seen before costs one hash lookup however many routes there are,
 * and a change is visible to the very next query.
 */
#ifndef ROUTE_H
#define ROUTE_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

struct route_pat;		/* one pattern, shared; compiled when needed */
struct route_cache;		/* pattern text -> pattern (main thread) */
struct route_matcher;		/* per worker */

struct route_table {
	atomic_int		 refcnt;
	uint64_t		 gen;		/* unique per table */
	int			 n;
	struct route_pat	**pats;		/* n, in order */
	struct route_cache	*cache;		/* theirs: its hot list */
	uint16_t		*qtypes;	/* n; 0 = any */
	int			 any_qtype;	/* some route filters on qtype */
	uint32_t		 match_limit;
	struct route_index	*ix;		/* prefilter; NULL for short tables */
	/* The table this one followed, and how many of its first routes
	 * they share (route_table_inherit): a decision cached under
	 * prev_gen for a route below keep holds here too. */
	uint64_t		 prev_gen;
	int			 keep;
};

/* Compile-check a pattern for `route add`: 0, or -1 with PCRE2's message
 * and offset in err ("missing terminating ] for character class at offset
 * 4"), or a refusal of a pattern that hits the match limit on probe input. */
int	route_check_pattern(const char *pattern, uint32_t match_limit,
	    char *err, size_t errlen);

struct route_cache	*route_cache_new(void);
void			 route_cache_free(struct route_cache *);
/* Drop cached patterns no table uses any more. */
void			 route_cache_gc(struct route_cache *);
/* Compile t's patterns but those its lite matcher decides, JIT-compiling
 * them up to half the cache's JIT budget (the prefilter's always-tried
 * patterns first, then in route order); once all are compiled, JIT-compile
 * those the matchers tried often, up to the budget.  Until deadline_us
 * (now_us()).  Returns 1 while work is left, 0 when there is nothing to do
 * until the matchers have tried more: call it again a while later.  Main
 * thread. */
int			 route_cache_warm(struct route_cache *,
			    const struct route_table *t, uint64_t deadline_us);
struct route_cache_stats {
	size_t	patterns;	/* in the cache */
	size_t	compiled;	/* of those */
	size_t	jit;		/* JIT-compiled */
	size_t	jit_bytes;	/* their machine code */
	size_t	bad;		/* do not compile (match nothing) */
	size_t	pending;	/* not compiled yet (nor bad, nor left to
				 * the lite matcher of the last table warmed) */
	size_t	jit_wanted;	/* tried often, interpreted, budget left:
				 * JIT code within a second */
};
void			 route_cache_stats(const struct route_cache *,
			    struct route_cache_stats *);
/* The JIT budget in bytes of machine code (default ROUTE_JIT_BUDGET). */
void			 route_cache_set_jit_budget(struct route_cache *, size_t);
#define ROUTE_JIT_BUDGET	(8u * 1024 * 1024)

/* Build a table from n patterns (and qtypes).  Nothing is compiled here
 * (see above), so this does not fail on a pattern: one that does not
 * compile matches nothing, counted as a match-limit non-match, and is
 * logged once by route_cache_warm.  Patterns are checked at `route add`. */
struct route_table	*route_table_new(struct route_cache *, const char *const *patterns,
			    const uint16_t *qtypes, int n, uint32_t match_limit);
/* Are these exactly t's patterns, qtypes and limit?  Then t can serve in
 * their stead (route_table_ref). */
int			 route_table_same(const struct route_table *t,
			    const char *const *patterns, const uint16_t *qtypes,
			    int n, uint32_t match_limit);
/* t follows prev (the table the workers have now): the routes they share
 * from the first on, whose cached decisions stay good, so that routes
 * added after the others (a batch of them) do not make every worker
 * match every name again.  Before t is shared. */
void			 route_table_inherit(struct route_table *t,
			    const struct route_table *prev);
void			 route_table_ref(struct route_table *);
/* Drop a reference; the last one frees (NULL-safe). */
void			 route_table_free(struct route_table *);
/* Pattern i's text, as long as t lives. */
const char		*route_table_pattern(const struct route_table *, int i);

struct route_matcher	*route_matcher_new(void);
void			 route_matcher_free(struct route_matcher *);

/* First route matching name (lowercase presentation with trailing dot) and
 * qtype: its index, or -1.  *limited is set when a pattern hit the PCRE2
 * match limit (counted as a non-match).  Every pattern is tried: for the
 * control commands and trace filters. */
int	route_match(struct route_matcher *, const struct route_table *,
	    const char *name, size_t len, uint16_t qtype, int *limited);
/* The same for a lowercased, uncompressed wire name (as parsed from a
 * query), through the matcher's decision cache: the query path. */
int	route_match_wire(struct route_matcher *, const struct route_table *,
	    const uint8_t *wire, size_t wlen, uint16_t qtype, int *limited);
/* A hint, before a batch of datagrams is parsed: start loading the
 * decision cache's entries for the question name in pkt (a raw query).
 * Returns what route_match_wire_hint takes for that name and table (0:
 * nothing). */
uint64_t route_prefetch_wire(const struct route_matcher *,
	    const struct route_table *, const uint8_t *pkt, size_t len);
/* The same, where qnlen is dns_qname_len(pkt, len), found already. */
uint64_t route_prefetch_qn(const struct route_matcher *,
	    const struct route_table *, const uint8_t *pkt, size_t qnlen);
/* route_match_wire with the hint for the same name and table, which
 * spares it a pass over the name (a wrong hint costs a cache miss, never
 * a wrong answer; 0 is none). */
int	route_match_wire_hint(struct route_matcher *,
	    const struct route_table *, const uint8_t *wire, size_t wlen,
	    uint16_t qtype, uint64_t hint, int *limited);
/* Does the decision cache hold the answer for this name and type? */
int	route_matcher_cached(const struct route_matcher *,
	    const struct route_table *, const uint8_t *wire, size_t wlen,
	    uint16_t qtype);

#endif

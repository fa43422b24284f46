/*
 * route: the regex route table.  PCRE2 lives here and nowhere else.
 *
 * A table is built whole from an ordered list of patterns and is immutable
 * afterwards; the workers match against it while the main thread builds the
 * next one.  Compiled patterns are shared between successive tables through
 * a cache keyed by pattern text, so a one-route edit of a 10,000-route table
 * compiles one pattern.  Each worker owns a matcher: PCRE2 match data with
 * match limits, and a decision cache keyed by (wire name, type) and the
 * table's generation, so a name seen before costs one hash lookup however many
 * routes there are, and a change is visible to the very next query.
 */
#ifndef ROUTE_H
#define ROUTE_H

#include <stddef.h>
#include <stdint.h>

struct route_pat;		/* one compiled pattern, shared */
struct route_cache;		/* pattern text -> compiled pattern (main thread) */
struct route_matcher;		/* per worker */

struct route_table {
	uint64_t		 gen;		/* unique per table */
	int			 n;
	struct route_pat	**pats;		/* n, in order */
	uint16_t		*qtypes;	/* n; 0 = any */
	int			 any_qtype;	/* some route filters on qtype */
	uint32_t		 match_limit;
	struct route_index	*ix;		/* prefilter; NULL for short tables */
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

/* Build a table from n patterns (and qtypes).  Returns NULL with err set
 * when a pattern does not compile. */
struct route_table	*route_table_new(struct route_cache *, const char *const *patterns,
			    const uint16_t *qtypes, int n, uint32_t match_limit,
			    char *err, size_t errlen);
void			 route_table_free(struct route_table *);

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

#endif

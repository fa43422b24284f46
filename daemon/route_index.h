/*
 * route_index: a prefilter that keeps routing cost flat as routes grow.
 *
 * Most routes name a literal the query name must start or end with
 * ("^www\.", "\.example\.$").  Each route is filed under its anchored
 * literal prefix, else its anchored literal suffix, else in a list of
 * routes that must always be tried.  For a name, the candidates are the
 * routes filed under one of the name's own prefixes or suffixes (one hash
 * lookup per distinct literal length in the table) plus the always list;
 * only they are given to PCRE2, in route order, so the first match is the
 * same as a linear scan's.  The analysis is conservative: a pattern it does
 * not fully understand (alternation, inline options, \Q..\E) goes to the
 * always list.
 */
#ifndef ROUTE_INDEX_H
#define ROUTE_INDEX_H

#include <stddef.h>
#include <stdint.h>

struct route_index;

/* lite: give routes of the common shapes a lite program (below); only
 * when PCRE2's newline is LF, as the program takes it to be. */
struct route_index *route_index_build(const char *const *patterns, int n,
		    int lite);
void		    route_index_free(struct route_index *);

/* The same in a thread of its own, for a caller with work of its own to do
 * meanwhile (a restart with 100,000 routes files their patterns in the
 * cache while the index is built); patterns must stay until the wait.
 * Small tables, or no thread to be had: built in the start. */
struct route_index_job;
struct route_index_job *route_index_build_start(const char *const *patterns,
		    int n, int lite);
struct route_index *route_index_build_wait(struct route_index_job *);

/* Candidate route indices for name, ascending and unique, into out (cap
 * entries).  Returns the count, or -1 when they do not fit (the caller
 * then scans every route).  A candidate whose pattern is known to match
 * the name (a lite program said so, under the match limit limit: see
 * below) carries ROUTE_INDEX_SURE; the others must be tried. */
#define ROUTE_INDEX_SURE	0x40000000
int		    route_index_candidates(const struct route_index *,
		    const char *name, size_t len, uint32_t limit, int *out,
		    int cap);

/* The routes filed under no literal (tried for every name), ascending:
 * their count, and *idx. */
int		    route_index_always(const struct route_index *, const int **idx);

/* Mark in lite (n entries, zeroed by the caller) the routes a lite program
 * decides alone: their PCRE2 code is needed only for the rare name the
 * program cannot be sure of, so it need not be made before one comes. */
void		    route_index_lite_routes(const struct route_index *,
		    uint8_t *lite, int n);

/*
 * The lite matcher.  A route filed alone under its literal whose pattern
 * is an anchored run of byte sets (bytes, escaped punctuation, simple
 * classes, dots) with at most one * or +, such as
 * ^[a-q][^.]*\.z012345\.bench\.test\.$, is decided by a small program
 * kept beside its literal, without PCRE2: a name not in the decision
 * cache then touches the prefilter and nothing of the route's.  It gives
 * PCRE2's answer (compiled with no options, newline LF) exactly; when it
 * cannot be sure (a name ending in a newline for a pattern ending in $,
 * or a name long enough that PCRE2 might count up to its match limit) it
 * says so and PCRE2 decides.  For tests: compile a whole pattern into
 * prog (the length, 0 when it is not such a pattern) and run it (1 match,
 * 0 no match, -1 ask PCRE2).
 */
size_t		    route_index_lite_compile(const char *pattern, uint8_t *prog,
		    size_t cap);
int		    route_index_lite_match(const uint8_t *prog, const char *name,
		    size_t len, uint32_t limit);

/* For tests: the literal a pattern is filed under.  kind: 'p' prefix,
 * 's' suffix, 'a' always. */
char		    route_index_classify(const char *pattern, char *lit, size_t litlen);

#endif

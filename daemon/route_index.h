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

struct route_index;

struct route_index *route_index_build(const char *const *patterns, int n);
void		    route_index_free(struct route_index *);

/* The same in a thread of its own, for a caller with work of its own to do
 * meanwhile (a restart with 100,000 routes files their patterns in the
 * cache while the index is built); patterns must stay until the wait.
 * Small tables, or no thread to be had: built in the start. */
struct route_index_job;
struct route_index_job *route_index_build_start(const char *const *patterns,
		    int n);
struct route_index *route_index_build_wait(struct route_index_job *);

/* Candidate route indices for name, ascending and unique, into out (cap
 * entries).  Returns the count, or -1 when they do not fit (the caller
 * then scans every route). */
int		    route_index_candidates(const struct route_index *,
		    const char *name, size_t len, int *out, int cap);

/* The routes filed under no literal (tried for every name), ascending:
 * their count, and *idx. */
int		    route_index_always(const struct route_index *, const int **idx);

/* For tests: the literal a pattern is filed under.  kind: 'p' prefix,
 * 's' suffix, 'a' always. */
char		    route_index_classify(const char *pattern, char *lit, size_t litlen);

#endif

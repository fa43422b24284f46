/*
 * zone.h: the parts of dnsroutectl's `zone split` and `zone check`.
 *
 * zone.c runs the commands (arguments, the two passes over the file,
 * output).  zone_read.c reads a zone file one record at a time with ldns
 * (never the whole zone).  zone_names.c is a set of the few names the walk
 * must remember (ancestors, delegations, name server targets).
 * zone_slice.c decides, record by record, which slices a record goes to
 * and what is missing where; it knows nothing of sockets or files, so the
 * unit test drives it with a fake router.  zone_lookup.c sends owner names
 * to dnsrouted (route lookup), pipelined; zone_reply.c parses the reply
 * rows.  zone_query.c asks backends for names (zone check query).
 *
 * A slice is a pool that at least one name is routed to; at most
 * ZS_MAX_SLICES, kept in 64-bit masks.
 */
#ifndef ZONE_H
#define ZONE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <ldns/ldns.h>

struct ctl;

#define ZS_MAX_SLICES	64
#define ZS_ALL		(~(uint64_t)0)

/* ---- zone_read.c */

struct zread;
/* Open path; origin (may be NULL) is the $ORIGIN to start with. */
struct zread	*zread_open(const char *path, const char *origin, char *err,
		    size_t errlen);
/* The next record: 1 with *rr (the caller's to free), 0 at the end, -1
 * with err ("FILE:LINE: ..."). */
int		 zread_next(struct zread *, ldns_rr **rr, char *err,
		    size_t errlen);
/* Start again from the top (the second pass).  -1 with err when the file
 * changed since it was opened. */
int		 zread_rewind(struct zread *, char *err, size_t errlen);
unsigned	 zread_line(const struct zread *);	/* of the last record */
void		 zread_close(struct zread *);

/* ---- zone_names.c */

#define ZN_ANCESTOR	0x01	/* an owner name lies below it */
#define ZN_DELEG	0x02	/* NS below the apex: a zone cut */
#define ZN_DNAME	0x04	/* a DNAME owner */
#define ZN_NSTARGET	0x08	/* an NS record of the zone names it */
#define ZN_OWNER	0x10	/* seen as an owner (second pass) */
#define ZN_LOOKED	0x20	/* its route is known */

struct zname {
	struct zname	*next;		/* hash chain */
	uint64_t	 dests;		/* slices queries for it go to */
	uint64_t	 below;		/* slices names below it go to */
	uint64_t	 done;		/* slices it exists in so far */
	int64_t		 route;		/* its route (-1: none), for findings */
	uint32_t	 hash;
	int8_t		 dest;		/* slice of most types, or ZD_* */
	uint8_t		 act;		/* its action (zone_slice.c's list) */
	uint8_t		 flags;
	uint8_t		 len;
	uint8_t		 wire[];	/* lowercase wire form */
};

struct znames;
struct znames	*znames_new(void);
void		 znames_free(struct znames *);
struct zname	*znames_get(struct znames *, const uint8_t *wire, size_t len);
struct zname	*znames_add(struct znames *, const uint8_t *wire, size_t len);
size_t		 znames_count(const struct znames *);
struct zname	*znames_at(const struct znames *, size_t i);	/* insertion order */

/* ---- wire name helpers (zone_names.c) */

/* Lowercase wire form of an ldns dname into out[255]; its length. */
size_t		 zwire_of(const ldns_rdf *, uint8_t *out);
/* Is a at or below b (both lowercase wire)? */
int		 zwire_under(const uint8_t *a, size_t alen, const uint8_t *b,
		    size_t blen);
/* Offset of the parent of the name at off, or -1 at the root. */
int		 zwire_parent(const uint8_t *wire, size_t len, size_t off);

/* ---- zone_slice.c */

/* A destination that is not a slice. */
#define ZD_NONE		(-1)	/* no route, or a route without a pool */
#define ZD_UNKNOWN	(-2)	/* not looked up (NSEC3 owners) */

/* One row of a route lookup reply. */
struct zs_route {
	int		 qtype;		/* 0: every type without a route of its own */
	int64_t		 route;		/* -1: no route matched */
	const char	*action;	/* "pool", "refuse", "servfail (default)"... */
	const char	*pool;		/* NULL unless action is pool */
	const char	*members;	/* usable members "a,b", or NULL */
};

/* A name whose queries go nowhere useful, or a pool that cannot answer. */
struct zs_finding {
	const char	*name;		/* NULL for a pool finding */
	int		 qtype;		/* 0: every type */
	const char	*problem;	/* "no route", "no pool", "no usable member" */
	int64_t		 route;
	const char	*action;
	const char	*pool;
};

/* What zone check query asks a backend, and what the zone says. */
enum zs_expect { ZS_ANSWER, ZS_REFERRAL, ZS_NODATA };
struct zs_probe {
	const uint8_t	*owner;		/* lowercase wire */
	size_t		 ownerlen;
	int		 qtype;
	enum zs_expect	 expect;
	const uint8_t	*cut;		/* ZS_REFERRAL: the delegation */
	size_t		 cutlen;
	ldns_rr		**rrs;		/* ZS_ANSWER: the RRset (borrowed) */
	int		 nrrs;
	int		 slice;
};

struct zs_ops {
	/* Queue name (presentation form, as queries present it) for a
	 * route lookup; the reply comes back through zs_result() with the
	 * same tag, in the order queued.  0 or -1. */
	int	(*lookup)(void *lookup_arg, const char *name, uint32_t tag);
	void	*lookup_arg;
	void	(*finding)(void *arg, const struct zs_finding *);
	/* Second pass: write rr to slice (NULL in zone check). 0 or -1. */
	int	(*write)(void *arg, int slice, const ldns_rr *rr);
	/* Second pass: a name to ask its backend for (NULL: none). */
	int	(*probe)(void *arg, const struct zs_probe *);
	void	*arg;
};

struct zs_slice {
	char		*pool;
	char		*members;	/* usable members, NULL when none */
	uint64_t	 names;		/* routed to it */
	uint64_t	 records;	/* written to it */
};

struct zslicer;
/* subtree: assume names the zone does not hold are routed with their
 * closest existing ancestor (see README, "What a slice holds"). */
struct zslicer	*zs_new(const struct zs_ops *, int subtree);
void		 zs_free(struct zslicer *);
/* First pass: every record in file order, then zs_scan_end() (which
 * queues the lookups of the empty non-terminals).  -1 with err. */
int		 zs_scan(struct zslicer *, const ldns_rr *, const char *where,
		    char *err, size_t errlen);
int		 zs_scan_end(struct zslicer *, char *err, size_t errlen);
/* A lookup's reply rows (rows[0] has qtype 0). */
void		 zs_result(struct zslicer *, uint32_t tag, const char *name,
		    const struct zs_route *rows, int nrows);
/* Between the passes, after every result: -1 with err when no name
 * reaches a pool or there are too many pools. */
int		 zs_plan(struct zslicer *, char *err, size_t errlen);
/* Second pass: every record again, in the same order; then
 * zs_write_end(), which reports the empty non-terminals.  The SOA goes
 * first into each slice: zs_begin_slices() writes it. */
int		 zs_begin_slices(struct zslicer *);
int		 zs_write(struct zslicer *, ldns_rr *, char *err, size_t errlen);
int		 zs_write_end(struct zslicer *, char *err, size_t errlen);

int		 zs_nslices(const struct zslicer *);
const struct zs_slice *zs_slice(const struct zslicer *, int);
uint64_t	 zs_names(const struct zslicer *);	/* names of the zone */
uint64_t	 zs_records(const struct zslicer *);	/* records read */
uint64_t	 zs_unserved(const struct zslicer *);	/* names reaching no pool */
const char	*zs_apex(const struct zslicer *, char *buf, size_t len);
int		 zs_signed(const struct zslicer *);	/* 0, 1 NSEC, 3 NSEC3 */

/* ---- zone_lookup.c */

struct zlookup;
struct zlookup	*zlookup_new(struct ctl *);
void		 zlookup_set_slicer(struct zlookup *, struct zslicer *);
int		 zlookup_queue(void *zl, const char *name, uint32_t tag);
/* Wait for every reply.  0, or -1 with zlookup_error(). */
int		 zlookup_flush(struct zlookup *);
const char	*zlookup_error(const struct zlookup *);
void		 zlookup_free(struct zlookup *);
/* zone_reply.c: the reply rows.  Split a row ("f1\tf2...") into
 * unescaped fields in place; \N becomes NULL.  Returns the count, or
 * max + 1 when there are more. */
#define ZLOOKUP_COLUMNS	6	/* name qtype route# action pool members */
int		 zlookup_fields(char *row, char **f, int max);
/* Parse one reply row into r (pointing into f): 0, or -1. */
int		 zlookup_parse(char **f, int n, char **name, struct zs_route *r);
/* Run cmd and hand each row's fields to cb.  0 or -1 with err. */
int		 zlookup_rows(struct ctl *, const char *cmd,
		    void (*cb)(void *, char **cols, char **f, int n), void *arg,
		    char *err, size_t errlen);

/* ---- zone_query.c */

struct zquery;
struct zq_fail {
	const char	*name;
	int		 qtype;
	const char	*backend;
	const char	*problem;	/* nxdomain, nodata, refused, wrong-answer... */
	const char	*detail;
	int		 slice;		/* the probe's */
};
struct zquery	*zq_new(int rate, int timeout_ms,
		    void (*fail)(void *, const struct zq_fail *), void *arg);
/* A backend by name: 0.. or -1 with err. */
int		 zq_backend(struct zquery *, const char *name, const char *addr,
		    int tcp, char *err, size_t errlen);
/* Ask backend b what p says; waits while too much is outstanding. */
int		 zq_submit(struct zquery *, int b, const struct zs_probe *);
int		 zq_finish(struct zquery *);
uint64_t	 zq_sent(const struct zquery *);
void		 zq_free(struct zquery *);

#endif

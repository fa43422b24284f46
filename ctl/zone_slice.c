/*
 * zone_slice: which slice each record of a zone goes to (see zone.h and
 * README, "What a slice holds").
 *
 * First pass (zs_scan): the records in file order.  Records of one owner
 * that follow each other are a run; each run's owner is sent to the route
 * lookup once, and its answer is kept as one byte per run (run_dest) plus
 * a short list of the runs whose types a qtype route sends elsewhere.
 * Nothing else is kept per name: only the ancestors of owner names (to find
 * empty non-terminals and what lies below a name), delegation points,
 * DNAME owners and in-zone name server names go into a znames set.  After
 * the pass the ancestors are looked up too.
 *
 * Second pass (zs_write): the same records again; each run is buffered (one
 * owner's records) and each record sent to its slices:
 *   - the apex, NSEC and NSEC3 records with their signatures, and the
 *     address records of in-zone name servers: every slice;
 *   - a wildcard's records, a delegation's NS and DS, a DNAME: every slice
 *     (a name the zone does not hold may be routed anywhere), or with
 *     `assume subtree` the slices of the name, of its parent (wildcards) or
 *     of the names below it (delegations, DNAME);
 *   - anything else: the slice its owner and type are routed to.
 * Then existence: a slice that queries for a name are routed to but that
 * holds none of its records would answer NXDOMAIN where the zone says
 * NODATA, and with NSEC3 would find another closest encloser and prove
 * nothing.  So each such slice gets one RRset of the name (the run's first,
 * with its signatures); an empty non-terminal's slices, when nothing below
 * it goes there, get one RRset of a name below it.  With NSEC the chain in
 * every slice makes every name exist everywhere already; with NSEC3 (unless
 * `assume subtree`) every name must exist in every slice, since a name the
 * zone does not hold may be routed to any slice and its closest encloser
 * be any name.
 *
 * Invariants: the two passes see the same runs (counted, and the file is
 * checked unchanged); a record is written at most once per slice; lookups
 * answer in the order queued (a FIFO of pending runs).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dnsmsg.h"
#include "util.h"
#include "zone.h"

#define TAG_ANCESTOR	0x80000000u
#define MAX_TYPES	32
#define MAX_ACTIONS	32

/* A run queued for a lookup, until its answer comes. */
struct pend {
	uint32_t	 tag;
	uint8_t		 len;
	uint8_t		 ntypes;	/* MAX_TYPES + 1: more than MAX_TYPES */
	uint8_t		 wire[DNS_MAX_WIRE_NAME];
	uint16_t	 types[MAX_TYPES];
};

/* A run whose type qtype goes somewhere else than its other types. */
struct ovr {
	uint32_t	 run;
	uint16_t	 qtype;
	int8_t		 dest;
};

/* The run being read. */
struct run {
	uint8_t		 wire[DNS_MAX_WIRE_NAME];
	size_t		 len;
	int		 active;
	int		 nsec3;		/* holds an NSEC3: a hashed owner */
	uint16_t	 types[MAX_TYPES];
	int		 ntypes;	/* MAX_TYPES + 1: more */
	ldns_rr		**rrs;		/* second pass */
	int		 n, cap;
};

struct zslicer {
	struct zs_ops	 ops;
	int		 subtree;
	int		 sig;		/* 0, 1 NSEC, 3 NSEC3 */
	uint8_t		 apex[DNS_MAX_WIRE_NAME];
	size_t		 apexlen;
	ldns_rr		*soa;
	struct znames	*names;

	int8_t		*run_dest;
	uint32_t	 nruns, capruns, run2;
	struct ovr	*ovr;
	size_t		 novr, capovr, ovr2;
	struct pend	*fifo;
	size_t		 fhead, ftail, fcap;

	struct zs_slice	 slices[ZS_MAX_SLICES];
	int		 nslices;
	int		 too_many;	/* more pools than ZS_MAX_SLICES */
	uint64_t	 all;
	char		*actions[MAX_ACTIONS];
	int		 nactions;

	struct run	 run;
	uint64_t	 nnames, nrecords, unserved;
};

static uint64_t
bit(int slice)
{
	return slice >= 0 ? (uint64_t)1 << slice : 0;
}

struct zslicer *
zs_new(const struct zs_ops *ops, int subtree)
{
	struct zslicer *zs = xcalloc(1, sizeof(*zs));

	zs->ops = *ops;
	zs->subtree = subtree;
	zs->names = znames_new();
	return zs;
}

static void
run_clear(struct run *r)
{
	int i;

	for (i = 0; i < r->n; i++)
		ldns_rr_free(r->rrs[i]);
	r->n = 0;
	r->ntypes = 0;
	r->nsec3 = 0;
	r->active = 0;
}

void
zs_free(struct zslicer *zs)
{
	int i;

	if (zs == NULL)
		return;
	run_clear(&zs->run);
	free(zs->run.rrs);
	for (i = 0; i < zs->nslices; i++) {
		free(zs->slices[i].pool);
		free(zs->slices[i].members);
	}
	for (i = 0; i < zs->nactions; i++)
		free(zs->actions[i]);
	ldns_rr_free(zs->soa);
	znames_free(zs->names);
	free(zs->run_dest);
	free(zs->ovr);
	free(zs->fifo);
	free(zs);
}

/* ---- helpers */

static int
is_apex(const struct zslicer *zs, const uint8_t *w, size_t len)
{
	return len == zs->apexlen && memcmp(w, zs->apex, len) == 0;
}

/* Call f for each proper ancestor of w strictly below the apex. */
#define FOREACH_ANCESTOR(zs, w, len, off)				\
	for ((off) = zwire_parent((w), (len), 0);			\
	    (off) >= 0 && (size_t)(off) < (len) &&			\
	    (len) - (size_t)(off) > (zs)->apexlen;			\
	    (off) = zwire_parent((w), (len), (size_t)(off)))

static int
covered_type(const ldns_rr *rr)
{
	int t = ldns_rr_get_type(rr);

	if (t == LDNS_RR_TYPE_RRSIG && ldns_rr_rrsig_typecovered(rr) != NULL)
		return ldns_rdf2rr_type(ldns_rr_rrsig_typecovered(rr));
	return t;
}

static int
is_dnssec_type(int t)
{
	return t == LDNS_RR_TYPE_RRSIG || t == LDNS_RR_TYPE_NSEC ||
	    t == LDNS_RR_TYPE_NSEC3;
}

static void
add_type(uint16_t *types, int *n, int t)
{
	int i;

	if (*n > MAX_TYPES)
		return;
	for (i = 0; i < *n; i++)
		if (types[i] == t)
			return;
	if (*n == MAX_TYPES)
		(*n)++;
	else
		types[(*n)++] = (uint16_t)t;
}

static int
has_type(const uint16_t *types, int n, int t)
{
	int i;

	if (n > MAX_TYPES)
		return 1;
	for (i = 0; i < n; i++)
		if (types[i] == t)
			return 1;
	return 0;
}

static uint8_t
action_index(struct zslicer *zs, const char *a)
{
	int i;

	for (i = 0; i < zs->nactions; i++)
		if (strcmp(zs->actions[i], a) == 0)
			return (uint8_t)i;
	if (zs->nactions == MAX_ACTIONS)
		return MAX_ACTIONS - 1;
	zs->actions[zs->nactions] = xstrdup(a);
	return (uint8_t)zs->nactions++;
}

/* The closest proper ancestor that cuts (delegation, DNAME), or NULL. */
static struct zname *
cut_above(struct zslicer *zs, const uint8_t *w, size_t len, size_t *off)
{
	struct zname *e;
	int o;

	FOREACH_ANCESTOR(zs, w, len, o) {
		e = znames_get(zs->names, w + o, len - o);
		if (e != NULL && (e->flags & (ZN_DELEG | ZN_DNAME))) {
			*off = (size_t)o;
			return e;
		}
	}
	return NULL;
}

/* ---- first pass */

static void
fifo_push(struct zslicer *zs, uint32_t tag, const uint8_t *w, size_t len,
    const uint16_t *types, int ntypes)
{
	struct pend *p;

	if (zs->ftail == zs->fcap) {
		if (zs->fhead > 0) {
			memmove(zs->fifo, zs->fifo + zs->fhead,
			    (zs->ftail - zs->fhead) * sizeof(*zs->fifo));
			zs->ftail -= zs->fhead;
			zs->fhead = 0;
		}
		if (zs->ftail == zs->fcap) {
			zs->fcap = zs->fcap ? zs->fcap * 2 : 1024;
			zs->fifo = xrealloc(zs->fifo,
			    zs->fcap * sizeof(*zs->fifo));
		}
	}
	p = &zs->fifo[zs->ftail++];
	p->tag = tag;
	p->len = (uint8_t)len;
	memcpy(p->wire, w, len);
	p->ntypes = (uint8_t)(ntypes > MAX_TYPES ? MAX_TYPES + 1 : ntypes);
	if (ntypes > 0)
		memcpy(p->types, types, (ntypes > MAX_TYPES ? MAX_TYPES :
		    ntypes) * sizeof(*types));
}

static int
queue_lookup(struct zslicer *zs, uint32_t tag, const uint8_t *w, size_t len,
    const uint16_t *types, int ntypes, char *err, size_t errlen)
{
	char text[DNS_MAX_TEXT_NAME];

	if (dns_wire_to_text(w, text, sizeof(text)) < 0) {
		snprintf(err, errlen, "unprintable owner name");
		return -1;
	}
	fifo_push(zs, tag, w, len, types, ntypes);
	if (zs->ops.lookup(zs->ops.lookup_arg, text, tag) == -1) {
		snprintf(err, errlen, "route lookup failed");
		return -1;
	}
	return 0;
}

static int
end_run(struct zslicer *zs, char *err, size_t errlen)
{
	struct run *r = &zs->run;

	if (!r->active)
		return 0;
	r->active = 0;
	if (r->nsec3)
		return 0;		/* a hashed owner: not a name */
	zs->nnames++;
	return queue_lookup(zs, zs->nruns - 1, r->wire, r->len, r->types,
	    r->ntypes, err, errlen);
}

static void
start_run(struct zslicer *zs, const uint8_t *w, size_t len)
{
	struct run *r = &zs->run;
	int off;

	r->active = 1;
	r->len = len;
	memcpy(r->wire, w, len);
	r->ntypes = 0;
	r->nsec3 = 0;
	if (zs->nruns == zs->capruns) {
		zs->capruns = zs->capruns ? zs->capruns * 2 : 4096;
		zs->run_dest = xrealloc(zs->run_dest, zs->capruns);
	}
	zs->run_dest[zs->nruns++] = ZD_UNKNOWN;
	FOREACH_ANCESTOR(zs, w, len, off)
		znames_add(zs->names, w + off, len - off)->flags |=
		    ZN_ANCESTOR;
}

static void
note_target(struct zslicer *zs, const ldns_rdf *d)
{
	uint8_t w[DNS_MAX_WIRE_NAME];
	size_t len;

	if (d == NULL || ldns_rdf_get_type(d) != LDNS_RDF_TYPE_DNAME)
		return;
	len = zwire_of(d, w);
	if (zwire_under(w, len, zs->apex, zs->apexlen))
		znames_add(zs->names, w, len)->flags |= ZN_NSTARGET;
}

int
zs_scan(struct zslicer *zs, const ldns_rr *rr, const char *where, char *err,
    size_t errlen)
{
	uint8_t w[DNS_MAX_WIRE_NAME];
	char text[DNS_MAX_TEXT_NAME], apex[DNS_MAX_TEXT_NAME];
	size_t len = zwire_of(ldns_rr_owner(rr), w);
	int t = ldns_rr_get_type(rr);

	zs->nrecords++;
	if (zs->soa == NULL) {
		if (t != LDNS_RR_TYPE_SOA) {
			snprintf(err, errlen, "%s: the zone must start with its "
			    "SOA record", where);
			return -1;
		}
		zs->soa = ldns_rr_clone(rr);
		zs->apexlen = len;
		memcpy(zs->apex, w, len);
	} else if (t == LDNS_RR_TYPE_SOA) {
		snprintf(err, errlen, "%s: a second SOA record", where);
		return -1;
	}
	if (!zwire_under(w, len, zs->apex, zs->apexlen)) {
		if (dns_wire_to_text(w, text, sizeof(text)) < 0)
			snprintf(text, sizeof(text), "?");
		snprintf(err, errlen, "%s: %s is not in the zone %s (a "
		    "relative name without $ORIGIN? give origin NAME)", where,
		    text, zs_apex(zs, apex, sizeof(apex)));
		return -1;
	}
	if (!zs->run.active || len != zs->run.len ||
	    memcmp(w, zs->run.wire, len) != 0) {
		if (end_run(zs, err, errlen) == -1)
			return -1;
		start_run(zs, w, len);
	}
	add_type(zs->run.types, &zs->run.ntypes, covered_type(rr));
	switch (t) {
	case LDNS_RR_TYPE_NSEC3:
		zs->run.nsec3 = 1;
		zs->sig = 3;
		break;
	case LDNS_RR_TYPE_NSEC:
		if (zs->sig == 0)
			zs->sig = 1;
		break;
	case LDNS_RR_TYPE_NS:
		if (!is_apex(zs, w, len))
			znames_add(zs->names, w, len)->flags |= ZN_DELEG;
		note_target(zs, ldns_rr_rdf(rr, 0));
		break;
	case LDNS_RR_TYPE_DNAME:
		znames_add(zs->names, w, len)->flags |= ZN_DNAME;
		break;
	default:
		break;
	}
	return 0;
}

int
zs_scan_end(struct zslicer *zs, char *err, size_t errlen)
{
	struct zname *e;
	size_t i, n;

	if (zs->soa == NULL) {
		snprintf(err, errlen, "no records (a zone starts with its SOA)");
		return -1;
	}
	if (end_run(zs, err, errlen) == -1)
		return -1;
	n = znames_count(zs->names);
	for (i = 0; i < n; i++) {
		e = znames_at(zs->names, i);
		if (!(e->flags & ZN_ANCESTOR))
			continue;
		if (queue_lookup(zs, TAG_ANCESTOR | (uint32_t)i, e->wire,
		    e->len, NULL, 0, err, errlen) == -1)
			return -1;
	}
	return 0;
}

/* The slice of a lookup row, made on first sight of its pool. */
static int
slice_of(struct zslicer *zs, const struct zs_route *r)
{
	struct zs_finding f;
	int i;

	if (r->pool == NULL)
		return ZD_NONE;
	for (i = 0; i < zs->nslices; i++)
		if (strcmp(zs->slices[i].pool, r->pool) == 0)
			return i;
	if (zs->nslices == ZS_MAX_SLICES) {
		zs->too_many = 1;
		return ZD_NONE;
	}
	zs->slices[i].pool = xstrdup(r->pool);
	zs->slices[i].members = r->members ? xstrdup(r->members) : NULL;
	zs->nslices++;
	if (r->members == NULL) {
		memset(&f, 0, sizeof(f));
		f.problem = "no usable member";
		f.route = r->route;
		f.action = r->action;
		f.pool = r->pool;
		zs->ops.finding(zs->ops.arg, &f);
	}
	return i;
}

static void
unserved(struct zslicer *zs, const char *name, const struct zs_route *r)
{
	struct zs_finding f;

	memset(&f, 0, sizeof(f));
	f.name = name;
	f.qtype = r->qtype;
	f.problem = r->route < 0 ? "no route" : "no pool";
	f.route = r->route;
	f.action = r->action;
	zs->ops.finding(zs->ops.arg, &f);
}

void
zs_result(struct zslicer *zs, uint32_t tag, const char *name,
    const struct zs_route *rows, int nrows)
{
	struct pend *p;
	struct zname *e;
	uint64_t dests;
	int d0, d, i, off;

	if (zs->fhead == zs->ftail || zs->fifo[zs->fhead].tag != tag)
		return;		/* not what was asked: zs_plan says so */
	p = &zs->fifo[zs->fhead++];
	d0 = slice_of(zs, &rows[0]);
	dests = bit(d0);
	if (tag & TAG_ANCESTOR) {
		e = znames_at(zs->names, tag & ~TAG_ANCESTOR);
		for (i = 1; i < nrows; i++)
			dests |= bit(slice_of(zs, &rows[i]));
		e->dest = (int8_t)d0;
		e->dests = dests;
		e->route = rows[0].route;
		e->act = action_index(zs, rows[0].action);
		e->flags |= ZN_LOOKED;
		return;
	}
	zs->run_dest[tag] = (int8_t)d0;
	if (d0 == ZD_NONE) {
		zs->unserved++;
		unserved(zs, name, &rows[0]);
	}
	for (i = 1; i < nrows; i++) {
		d = slice_of(zs, &rows[i]);
		dests |= bit(d);
		if (d == ZD_NONE && d0 != ZD_NONE &&
		    has_type(p->types, p->ntypes, rows[i].qtype))
			unserved(zs, name, &rows[i]);
		if (d == d0)
			continue;
		if (zs->novr == zs->capovr) {
			zs->capovr = zs->capovr ? zs->capovr * 2 : 64;
			zs->ovr = xrealloc(zs->ovr, zs->capovr *
			    sizeof(*zs->ovr));
		}
		zs->ovr[zs->novr].run = tag;
		zs->ovr[zs->novr].qtype = (uint16_t)rows[i].qtype;
		zs->ovr[zs->novr++].dest = (int8_t)d;
	}
	FOREACH_ANCESTOR(zs, p->wire, p->len, off)
		if ((e = znames_get(zs->names, p->wire + off, p->len - off)))
			e->below |= dests;
}

int
zs_plan(struct zslicer *zs, char *err, size_t errlen)
{
	if (zs->fhead != zs->ftail) {
		snprintf(err, errlen, "route lookup answered %zu names too "
		    "few, or out of order", zs->ftail - zs->fhead);
		return -1;
	}
	if (zs->too_many) {
		snprintf(err, errlen, "names are routed to more than %d pools",
		    ZS_MAX_SLICES);
		return -1;
	}
	if (zs->nslices == 0) {
		snprintf(err, errlen, "no name of the zone is routed to a pool");
		return -1;
	}
	zs->all = zs->nslices == 64 ? ZS_ALL :
	    ((uint64_t)1 << zs->nslices) - 1;
	return 0;
}

/* ---- second pass */

static int
emit(struct zslicer *zs, uint64_t to, const ldns_rr *rr)
{
	int i;

	for (i = 0; to != 0 && i < zs->nslices; i++, to >>= 1) {
		if (!(to & 1))
			continue;
		zs->slices[i].records++;
		if (zs->ops.write != NULL &&
		    zs->ops.write(zs->ops.arg, i, rr) == -1)
			return -1;
	}
	return 0;
}

int
zs_begin_slices(struct zslicer *zs)
{
	zs->run2 = 0;
	zs->ovr2 = 0;
	return emit(zs, zs->all, zs->soa);
}

/* The run's first RRset and its signatures, to the slices in to. */
static int
copy_first(struct zslicer *zs, const struct run *r, uint64_t to)
{
	int i, t0 = -1;

	for (i = 0; i < r->n && t0 < 0; i++)
		if (!is_dnssec_type(ldns_rr_get_type(r->rrs[i])))
			t0 = ldns_rr_get_type(r->rrs[i]);
	if (t0 < 0)
		return 0;
	for (i = 0; i < r->n; i++)
		if (covered_type(r->rrs[i]) == t0 &&
		    emit(zs, to, r->rrs[i]) == -1)
			return -1;
	return 0;
}

/* The slice queries for (run, type) go to. */
static int
dest_for(const struct zslicer *zs, uint32_t run, size_t o0, size_t on,
    int type)
{
	size_t i;

	for (i = o0; i < on; i++)
		if (zs->ovr[i].qtype == type)
			return zs->ovr[i].dest;
	return zs->run_dest[run];
}

static int
probe_run(struct zslicer *zs, const struct run *r, uint32_t ri, size_t o0,
    size_t on, const struct zname *cut, size_t cutoff)
{
	struct zs_probe p;
	ldns_rr **rrs;
	int i, t = -1, rc;

	memset(&p, 0, sizeof(p));
	p.owner = r->wire;
	p.ownerlen = r->len;
	for (i = 0; i < r->n && t < 0; i++)
		if (!is_dnssec_type(ldns_rr_get_type(r->rrs[i])))
			t = ldns_rr_get_type(r->rrs[i]);
	if (t < 0)
		return 0;
	if (cut != NULL) {
		if (cut->flags & ZN_DNAME)
			return 0;	/* occluded by a DNAME */
		p.expect = ZS_REFERRAL;
		p.cut = r->wire + cutoff;
		p.cutlen = r->len - cutoff;
	} else if (is_apex(zs, r->wire, r->len))
		t = LDNS_RR_TYPE_SOA;
	else {
		const struct zname *e = znames_get(zs->names, r->wire, r->len);

		if (e != NULL && (e->flags & ZN_DELEG)) {
			t = LDNS_RR_TYPE_NS;
			p.expect = ZS_REFERRAL;
			p.cut = r->wire;
			p.cutlen = r->len;
		}
	}
	p.qtype = t;
	if ((p.slice = dest_for(zs, ri, o0, on, t)) < 0)
		return 0;
	if (p.expect == ZS_ANSWER) {
		rrs = xcalloc(r->n, sizeof(*rrs));
		for (i = 0; i < r->n; i++)
			if ((int)ldns_rr_get_type(r->rrs[i]) == t)
				rrs[p.nrrs++] = r->rrs[i];
		p.rrs = rrs;
	}
	rc = zs->ops.probe(zs->ops.arg, &p);
	free(p.rrs);
	return rc;
}

static int
flush_run(struct zslicer *zs, char *err, size_t errlen)
{
	struct run *r = &zs->run;
	struct zname *e, *a, *cut, *parent;
	uint64_t dests, reached = 0, to, x, need;
	size_t o0, on, cutoff = 0;
	uint32_t ri;
	int i, g, t, tc, apex, wild, off, rc = -1;

	if (!r->active)
		return 0;
	r->active = 0;
	if ((ri = zs->run2++) >= zs->nruns) {
		snprintf(err, errlen, "the zone file changed between the passes");
		goto out;
	}
	g = zs->run_dest[ri];
	dests = bit(g);
	o0 = zs->ovr2;
	while (zs->ovr2 < zs->novr && zs->ovr[zs->ovr2].run == ri)
		dests |= bit(zs->ovr[zs->ovr2++].dest);
	on = zs->ovr2;
	e = znames_get(zs->names, r->wire, r->len);
	apex = is_apex(zs, r->wire, r->len);
	wild = r->wire[0] == 1 && r->wire[1] == '*';
	cut = cut_above(zs, r->wire, r->len, &cutoff);
	parent = NULL;
	if (wild && !apex) {
		off = zwire_parent(r->wire, r->len, 0);
		parent = znames_get(zs->names, r->wire + off, r->len - off);
	}

	for (i = 0; i < r->n; i++) {
		t = ldns_rr_get_type(r->rrs[i]);
		tc = covered_type(r->rrs[i]);
		if (apex || tc == LDNS_RR_TYPE_NSEC || tc == LDNS_RR_TYPE_NSEC3)
			to = zs->all;
		else if (e != NULL && (e->flags & ZN_NSTARGET) &&
		    (tc == LDNS_RR_TYPE_A || tc == LDNS_RR_TYPE_AAAA))
			to = zs->all;
		else if (wild)
			to = !zs->subtree ? zs->all : dests |
			    (parent != NULL ? parent->dests : zs->all);
		else if (e != NULL && (((e->flags & ZN_DELEG) &&
		    (tc == LDNS_RR_TYPE_NS || tc == LDNS_RR_TYPE_DS)) ||
		    ((e->flags & ZN_DNAME) && tc == LDNS_RR_TYPE_DNAME)))
			to = !zs->subtree ? zs->all : dests | e->below;
		else
			to = bit(dest_for(zs, ri, o0, on, tc));
		reached |= to;
		if (apex && t == LDNS_RR_TYPE_SOA)
			continue;	/* zs_begin_slices wrote it */
		if (emit(zs, to, r->rrs[i]) == -1)
			goto write_failed;
	}

	if (!r->nsec3) {
		if (g >= 0)
			zs->slices[g].names++;
		if (zs->ops.probe != NULL &&
		    probe_run(zs, r, ri, o0, on, cut, cutoff) == -1)
			goto write_failed;
	}
	/* Existence (see the top).  Names below a cut get referrals; they
	 * need the cut, not themselves. */
	if (zs->sig != 1 && !r->nsec3 && cut == NULL) {
		x = zs->sig == 3 && !zs->subtree ? zs->all : dests;
		if ((need = x & ~reached) != 0 &&
		    copy_first(zs, r, need) == -1)
			goto write_failed;
		reached |= need;
	}
	if (zs->sig != 1 && !r->nsec3) {
		FOREACH_ANCESTOR(zs, r->wire, r->len, off) {
			/* Between the name and its cut: below the cut too. */
			if (cut != NULL && (size_t)off < cutoff)
				continue;
			a = znames_get(zs->names, r->wire + off, r->len - off);
			if (a == NULL || (a->flags & ZN_OWNER))
				continue;
			x = zs->sig == 3 && !zs->subtree ? zs->all : a->dests;
			need = x & ~a->below & ~a->done & ~reached;
			if (need != 0 && copy_first(zs, r, need) == -1)
				goto write_failed;
			reached |= need;
			a->done |= reached;
		}
	}
	if (e != NULL)
		e->flags |= ZN_OWNER;
	rc = 0;
	goto out;
write_failed:
	snprintf(err, errlen, "writing a slice failed");
out:
	run_clear(r);
	return rc;
}

int
zs_write(struct zslicer *zs, ldns_rr *rr, char *err, size_t errlen)
{
	struct run *r = &zs->run;
	uint8_t w[DNS_MAX_WIRE_NAME];
	size_t len = zwire_of(ldns_rr_owner(rr), w);

	if (r->active && (len != r->len || memcmp(w, r->wire, len) != 0) &&
	    flush_run(zs, err, errlen) == -1) {
		ldns_rr_free(rr);
		return -1;
	}
	if (!r->active) {
		r->active = 1;
		r->len = len;
		memcpy(r->wire, w, len);
	}
	if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_NSEC3)
		r->nsec3 = 1;
	if (r->n == r->cap) {
		r->cap = r->cap ? r->cap * 2 : 16;
		r->rrs = xrealloc(r->rrs, r->cap * sizeof(*r->rrs));
	}
	r->rrs[r->n++] = rr;
	return 0;
}

int
zs_write_end(struct zslicer *zs, char *err, size_t errlen)
{
	struct zs_finding f;
	struct zs_probe p;
	struct zname *e;
	char text[DNS_MAX_TEXT_NAME];
	size_t i, n, cutoff;
	const struct zname *cut;

	if (flush_run(zs, err, errlen) == -1)
		return -1;
	if (zs->run2 != zs->nruns) {
		snprintf(err, errlen, "the zone file changed between the passes");
		return -1;
	}
	/* The empty non-terminals: names too. */
	n = znames_count(zs->names);
	for (i = 0; i < n; i++) {
		e = znames_at(zs->names, i);
		if (!(e->flags & ZN_ANCESTOR) || (e->flags & ZN_OWNER))
			continue;
		zs->nnames++;
		if (dns_wire_to_text(e->wire, text, sizeof(text)) < 0)
			continue;
		if (e->dest >= 0) {
			zs->slices[e->dest].names++;
			if (zs->ops.probe == NULL)
				continue;
			memset(&p, 0, sizeof(p));
			p.owner = e->wire;
			p.ownerlen = e->len;
			p.qtype = LDNS_RR_TYPE_A;
			p.expect = ZS_NODATA;
			p.slice = e->dest;
			if ((cut = cut_above(zs, e->wire, e->len, &cutoff))) {
				if (cut->flags & ZN_DNAME)
					continue;
				p.expect = ZS_REFERRAL;
				p.cut = e->wire + cutoff;
				p.cutlen = e->len - cutoff;
			}
			if (zs->ops.probe(zs->ops.arg, &p) == -1) {
				snprintf(err, errlen, "asking a backend failed");
				return -1;
			}
			continue;
		}
		zs->unserved++;
		memset(&f, 0, sizeof(f));
		f.name = text;
		f.problem = e->route < 0 ? "no route" : "no pool";
		f.route = e->route;
		f.action = e->act < zs->nactions ? zs->actions[e->act] : "?";
		zs->ops.finding(zs->ops.arg, &f);
	}
	return 0;
}

int
zs_nslices(const struct zslicer *zs)
{
	return zs->nslices;
}

const struct zs_slice *
zs_slice(const struct zslicer *zs, int i)
{
	return i >= 0 && i < zs->nslices ? &zs->slices[i] : NULL;
}

uint64_t
zs_names(const struct zslicer *zs)
{
	return zs->nnames;
}

uint64_t
zs_records(const struct zslicer *zs)
{
	return zs->nrecords;
}

uint64_t
zs_unserved(const struct zslicer *zs)
{
	return zs->unserved;
}

int
zs_signed(const struct zslicer *zs)
{
	return zs->sig;
}

const char *
zs_apex(const struct zslicer *zs, char *buf, size_t len)
{
	if (zs->apexlen == 0 || dns_wire_to_text(zs->apex, buf, len) < 0)
		snprintf(buf, len, "?");
	return buf;
}

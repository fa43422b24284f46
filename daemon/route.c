/*
 * route: compile, cache and match regex routes (see route.h).
 *
 * Invariants: a route_table and the patterns it points to are never
 * changed after route_table_new(); a pattern's compiled code is freed only
 * when no table references it (atomic refcount, since the last table may be
 * released by a worker thread).
 */
#define PCRE2_CODE_UNIT_WIDTH 8

#include <pcre2.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "route.h"
#include "route_index.h"
#include "log.h"
#include "dnsmsg.h"
#include "util.h"

struct route_pat {
	atomic_int		 refcnt;	/* tables + 1 for the cache */
	char			*text;
	uint64_t		 hash;
	pcre2_code		*code;
	struct route_pat	*next;		/* cache chain */
};

#define CACHE_BUCKETS	16384

struct route_cache {
	struct route_pat	*b[CACHE_BUCKETS];
};

/*
 * Decision cache, keyed by the lowercased wire name (and qtype, and the
 * table's generation): a name seen before is routed without being turned
 * into text or matched.  Two tables of two-way sets, one of 64-byte
 * entries for names up to DC_SHORT wire octets (nearly all names) and one
 * of 128-byte entries up to DC_LONG; longer names are matched each time.
 * Direct-mapped, 10,000 names in 16,384 entries collided about half the
 * time; two ways and twice the entries in the same memory keep that to a
 * few percent.  A new entry goes into way 0 and pushes way 0 to way 1.
 */
struct dc_key {
	uint64_t	gen;		/* 0: empty */
	uint32_t	hash;
	int32_t		idx;
	uint16_t	qtype;
	uint8_t		len;
};
#define DC_SHORT	(64 - sizeof(struct dc_key))	/* 40 */
#define DC_LONG		(128 - sizeof(struct dc_key))	/* 104 */
struct dc_short {
	struct dc_key	k;
	uint8_t		name[DC_SHORT];
};
struct dc_long {
	struct dc_key	k;
	uint8_t		name[DC_LONG];
};
_Static_assert(sizeof(struct dc_short) == 64, "dc_short is one line");
_Static_assert(sizeof(struct dc_long) == 128, "dc_long is two lines");
_Static_assert(offsetof(struct dc_short, name) == sizeof(struct dc_key) &&
    offsetof(struct dc_long, name) == sizeof(struct dc_key), "name after key");
/* The name follows the key in both kinds of entry. */
#define DC_NAME(k)	((uint8_t *)((k) + 1))
#define DC_SHORT_SETS	16384		/* x 2 ways x 64 bytes: 2 MiB */
#define DC_LONG_SETS	2048		/* x 2 ways x 128 bytes: 512 KiB */

/* Tables shorter than this are scanned: the prefilter would cost more. */
#define INDEX_MIN_ROUTES 8
#define CAND_MAX	4096

struct route_matcher {
	int			 cand[CAND_MAX];
	pcre2_match_data	*md;
	pcre2_match_context	*mctx;
	uint32_t		 limit;
	struct dc_short		*dcs;		/* DC_SHORT_SETS * 2 */
	struct dc_long		*dcl;		/* DC_LONG_SETS * 2 */
};

static atomic_ullong table_gen;

static uint64_t
hash_bytes(const char *s, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	while (n--) {
		h ^= (unsigned char)*s++;
		h *= 0x100000001b3ULL;
	}
	return h ^ (h >> 29);
}

static void
pcre_msg(int code, char *buf, size_t len)
{
	if (pcre2_get_error_message(code, (PCRE2_UCHAR *)buf, len) < 0)
		snprintf(buf, len, "PCRE2 error %d", code);
}

static pcre2_code *
compile(const char *pattern, char *err, size_t errlen)
{
	pcre2_code *code;
	PCRE2_SIZE off;
	int ec;
	char msg[256];

	code = pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED, 0,
	    &ec, &off, NULL);
	if (code == NULL) {
		pcre_msg(ec, msg, sizeof(msg));
		snprintf(err, errlen, "bad regex: %s at offset %zu", msg,
		    (size_t)off);
		return NULL;
	}
	/* JIT is an optimisation: without it (no JIT support, out of exec
	 * memory) the interpreter gives the same answers. */
	(void)pcre2_jit_compile(code, PCRE2_JIT_COMPLETE);
	return code;
}

int
route_check_pattern(const char *pattern, uint32_t match_limit, char *err,
    size_t errlen)
{
	/* Inputs that make backtracking patterns explode: long runs of one
	 * character with a mismatch at the end, in the shapes names take. */
	static const char *probe_chars = "a0-.x";
	pcre2_code *code;
	pcre2_match_data *md;
	pcre2_match_context *mctx;
	char probe[256];
	int rc = 0, i;

	if (strlen(pattern) > 4096) {
		snprintf(err, errlen, "bad regex: longer than 4096 bytes");
		return -1;
	}
	if ((code = compile(pattern, err, errlen)) == NULL)
		return -1;
	md = pcre2_match_data_create(1, NULL);
	mctx = pcre2_match_context_create(NULL);
	if (md == NULL || mctx == NULL) {
		snprintf(err, errlen, "out of memory");
		rc = -1;
		goto done;
	}
	pcre2_set_match_limit(mctx, match_limit);
	pcre2_set_depth_limit(mctx, match_limit);
	for (i = 0; probe_chars[i] != '\0' && rc == 0; i++) {
		int r;

		memset(probe, probe_chars[i], 250);
		probe[250] = '!';
		probe[251] = '\0';
		r = pcre2_match(code, (PCRE2_SPTR)probe, 251, 0, 0, md, mctx);
		if (r == PCRE2_ERROR_MATCHLIMIT || r == PCRE2_ERROR_DEPTHLIMIT ||
		    r == PCRE2_ERROR_JIT_STACKLIMIT) {
			snprintf(err, errlen, "regex refused: it can take "
			    "exponential time (hit the match limit of %u on a "
			    "250-byte probe name)", match_limit);
			rc = -1;
		}
	}
done:
	pcre2_match_data_free(md);
	pcre2_match_context_free(mctx);
	pcre2_code_free(code);
	return rc;
}

struct route_cache *
route_cache_new(void)
{
	return xcalloc(1, sizeof(struct route_cache));
}

static void
pat_unref(struct route_pat *p)
{
	if (atomic_fetch_sub(&p->refcnt, 1) == 1) {
		pcre2_code_free(p->code);
		free(p->text);
		free(p);
	}
}

void
route_cache_gc(struct route_cache *c)
{
	struct route_pat **pp, *p;
	size_t i;

	for (i = 0; i < CACHE_BUCKETS; i++) {
		pp = &c->b[i];
		while ((p = *pp) != NULL) {
			if (atomic_load(&p->refcnt) == 1) {
				*pp = p->next;
				pat_unref(p);
			} else
				pp = &p->next;
		}
	}
}

void
route_cache_free(struct route_cache *c)
{
	struct route_pat *p, *n;
	size_t i;

	if (c == NULL)
		return;
	for (i = 0; i < CACHE_BUCKETS; i++)
		for (p = c->b[i]; p != NULL; p = n) {
			n = p->next;
			pat_unref(p);
		}
	free(c);
}

static struct route_pat *
cache_get(struct route_cache *c, const char *text, char *err, size_t errlen)
{
	uint64_t h = hash_bytes(text, strlen(text));
	struct route_pat *p;
	pcre2_code *code;

	for (p = c->b[h % CACHE_BUCKETS]; p != NULL; p = p->next)
		if (p->hash == h && strcmp(p->text, text) == 0) {
			atomic_fetch_add(&p->refcnt, 1);
			return p;
		}
	if ((code = compile(text, err, errlen)) == NULL)
		return NULL;
	p = xcalloc(1, sizeof(*p));
	atomic_init(&p->refcnt, 2);	/* the cache and the caller */
	p->text = xstrdup(text);
	p->hash = h;
	p->code = code;
	p->next = c->b[h % CACHE_BUCKETS];
	c->b[h % CACHE_BUCKETS] = p;
	return p;
}

struct route_table *
route_table_new(struct route_cache *c, const char *const *patterns,
    const uint16_t *qtypes, int n, uint32_t match_limit, char *err,
    size_t errlen)
{
	struct route_table *t;
	int i;

	t = xcalloc(1, sizeof(*t));
	t->gen = atomic_fetch_add(&table_gen, 1) + 1;
	t->pats = xcalloc(n, sizeof(*t->pats));
	t->qtypes = xcalloc(n, sizeof(*t->qtypes));
	t->match_limit = match_limit;
	for (i = 0; i < n; i++) {
		if ((t->pats[i] = cache_get(c, patterns[i], err, errlen)) == NULL) {
			route_table_free(t);
			return NULL;
		}
		t->n = i + 1;
		t->qtypes[i] = qtypes[i];
		if (qtypes[i] != 0)
			t->any_qtype = 1;
	}
	if (n >= INDEX_MIN_ROUTES)
		t->ix = route_index_build(patterns, n);
	return t;
}

void
route_table_free(struct route_table *t)
{
	int i;

	if (t == NULL)
		return;
	for (i = 0; i < t->n; i++)
		pat_unref(t->pats[i]);
	route_index_free(t->ix);
	free(t->pats);
	free(t->qtypes);
	free(t);
}

struct route_matcher *
route_matcher_new(void)
{
	struct route_matcher *m = xcalloc(1, sizeof(*m));

	m->md = pcre2_match_data_create(1, NULL);
	m->mctx = pcre2_match_context_create(NULL);
	if (m->md == NULL || m->mctx == NULL)
		fatalx("pcre2: out of memory");
	if (posix_memalign((void **)&m->dcs, 64,
	    DC_SHORT_SETS * 2 * sizeof(*m->dcs)) != 0 ||
	    posix_memalign((void **)&m->dcl, 64,
	    DC_LONG_SETS * 2 * sizeof(*m->dcl)) != 0)
		fatalx("decision cache: out of memory");
	memset(m->dcs, 0, DC_SHORT_SETS * 2 * sizeof(*m->dcs));
	memset(m->dcl, 0, DC_LONG_SETS * 2 * sizeof(*m->dcl));
	return m;
}

void
route_matcher_free(struct route_matcher *m)
{
	if (m == NULL)
		return;
	pcre2_match_data_free(m->md);
	pcre2_match_context_free(m->mctx);
	free(m->dcs);
	free(m->dcl);
	free(m);
}

static inline int
try_route(struct route_matcher *m, const struct route_table *t, int i,
    const char *name, size_t len, uint16_t qtype, int *limited)
{
	int r;

	if (t->qtypes[i] != 0 && t->qtypes[i] != qtype)
		return 0;
	r = pcre2_match(t->pats[i]->code, (PCRE2_SPTR)name, len, 0, 0,
	    m->md, m->mctx);
	if (r >= 0)
		return 1;
	if (r != PCRE2_ERROR_NOMATCH)
		*limited = 1;
	return 0;
}

static int
match_linear(struct route_matcher *m, const struct route_table *t,
    const char *name, size_t len, uint16_t qtype, int *limited)
{
	int i, n;

	if (m->limit != t->match_limit) {
		m->limit = t->match_limit;
		pcre2_set_match_limit(m->mctx, m->limit);
		pcre2_set_depth_limit(m->mctx, m->limit);
	}
	if (t->ix != NULL &&
	    (n = route_index_candidates(t->ix, name, len, m->cand, CAND_MAX)) >= 0) {
		for (i = 0; i < n; i++)
			if (try_route(m, t, m->cand[i], name, len, qtype, limited))
				return m->cand[i];
		return -1;
	}
	for (i = 0; i < t->n; i++)
		if (try_route(m, t, i, name, len, qtype, limited))
			return i;
	return -1;
}

int
route_match(struct route_matcher *m, const struct route_table *t,
    const char *name, size_t len, uint16_t qtype, int *limited)
{
	*limited = 0;
	return match_linear(m, t, name, len, qtype, limited);
}

/* Way 0 and way 1 of a set: entries of esz bytes from set * 2. */
static inline struct dc_key *
dc_way(void *tab, size_t esz, uint32_t set, int way)
{
	return (struct dc_key *)((char *)tab + ((size_t)set * 2 + way) * esz);
}

static inline int
dc_hit(const struct dc_key *k, const struct route_table *t, uint32_t h,
    uint16_t qt, const uint8_t *wire, size_t wlen)
{
	return k->gen == t->gen && k->hash == h && k->qtype == qt &&
	    k->len == wlen && memcmp(DC_NAME(k), wire, wlen) == 0;
}

int
route_match_wire(struct route_matcher *m, const struct route_table *t,
    const uint8_t *wire, size_t wlen, uint16_t qtype, int *limited)
{
	char name[DNS_MAX_TEXT_NAME];
	struct dc_key *k0 = NULL, *k1 = NULL;
	void *tab;
	size_t esz = 0;
	uint32_t set = 0;
	uint16_t qt = t->any_qtype ? qtype : 0;
	uint64_t h = 0;
	int idx, nl;

	*limited = 0;
	if (wlen <= DC_SHORT) {
		tab = m->dcs;
		esz = sizeof(struct dc_short);
		set = DC_SHORT_SETS - 1;
	} else if (wlen <= DC_LONG) {
		tab = m->dcl;
		esz = sizeof(struct dc_long);
		set = DC_LONG_SETS - 1;
	} else
		tab = NULL;
	if (tab != NULL) {
		h = hash_bytes((const char *)wire, wlen) ^
		    ((uint64_t)qt * 0x9e3779b97f4a7c15ULL);
		set &= (uint32_t)(h >> 32);
		k0 = dc_way(tab, esz, set, 0);
		if (dc_hit(k0, t, (uint32_t)h, qt, wire, wlen))
			return k0->idx;
		k1 = dc_way(tab, esz, set, 1);
		if (dc_hit(k1, t, (uint32_t)h, qt, wire, wlen))
			return k1->idx;
	}
	if ((nl = dns_wire_to_text(wire, name, sizeof(name))) < 0)
		return -1;
	idx = match_linear(m, t, name, (size_t)nl, qtype, limited);
	/* A limited result is not cached: it depends on the limit. */
	if (tab != NULL && !*limited) {
		if (k0->gen == t->gen)
			memcpy(k1, k0, esz);
		k0->gen = t->gen;
		k0->hash = (uint32_t)h;
		k0->qtype = qt;
		k0->len = (uint8_t)wlen;
		k0->idx = idx;
		memcpy(DC_NAME(k0), wire, wlen);
	}
	return idx;
}

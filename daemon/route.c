/*
 * route: compile, cache and match regex routes (see route.h).
 *
 * Invariants: a route_table is never changed after route_table_new() (and
 * route_table_inherit(), before it is shared) but for its reference
 * count.  A pattern's compiled code is published once
 * with a release store and never changed afterwards but for one swap: the
 * main thread may replace interpreted code by a JIT-compiled copy; the
 * code it replaces stays until the pattern is freed, since a matcher may be
 * running it.  Patterns leave the cache only in route_cache_gc() (main
 * thread), when no table holds them, so compiled code is only ever freed
 * there; the JIT byte count is main-thread state for the same reason.
 * Interpreted and JIT-compiled code give the same answers: a JIT match
 * that runs out of JIT stack is run again by the interpreter, so what a
 * name gets does not depend on how far the background compilation is.
 * Matchers count the tries of a pattern while it is interpreted (a relaxed
 * add, on the miss path only); the one whose try makes it HOT_USES puts
 * the pattern on its cache's hot list, so that the main thread's JIT pass
 * looks at those, not at every pattern (4.5M instructions a second at
 * 100,000 routes).  The list holds a reference to each pattern on it,
 * taken by the matcher while its table still holds one: gc cannot free a
 * pattern while it is listed, and drops the listed ones no table uses.
 */
#define PCRE2_CODE_UNIT_WIDTH 8

#include <sys/mman.h>
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
	_Atomic(pcre2_code *)	 code;		/* NULL until compiled */
	atomic_int		 bad;		/* does not compile */
	atomic_int		 jit;		/* code is JIT-compiled */
	atomic_uint		 uses;		/* tries while interpreted */
	atomic_int		 hot;		/* was put on the hot list */
	struct route_pat	*hot_next;	/* on the hot list */
	/* Main thread only. */
	pcre2_code		*replaced;	/* interpreted, before the JIT copy */
	size_t			 jit_size;	/* its JIT code's */
	int			 jit_tried;
	int			 warned;
	int			 lite;		/* the warmed table's lite
						 * matcher decides it */
	uint64_t		 hash;
	struct route_pat	*next;		/* cache chain */
	char			 text[];
};

struct route_cache {
	struct route_pat	**b;		/* nb chains */
	size_t			 nb;		/* a power of two */
	size_t			 n;
	size_t			 jit_bytes, jit_budget;
	/* Background work: the table being warmed, its pass and where. */
	uint64_t		 wgen;
	int			 wpass;		/* 0 compile, 1 JIT what is used */
	size_t			 wpos;
	uint64_t		 wstart_us;
	size_t			 wcompiled, wbad, wjit, wlite;
	size_t			 wn;		/* the patterns to compile */
	unsigned		 gc_freed;	/* tables_freed at the last gc */
	/* Patterns tried HOT_USES times interpreted: pushed by the
	 * matchers, taken whole by the main thread onto hot_wait, where
	 * they stay while the JIT budget is spent. */
	_Atomic(struct route_pat *) hot;
	struct route_pat	*hot_wait;
};

/* Tables freed (any cache's): a pattern leaves its last table only then,
 * so a gc with none freed since the one before has nothing to do (a
 * drain's snapshot shares the table whole). */
static atomic_uint	tables_freed;

/*
 * Decision cache, keyed by the lowercased wire name (and qtype, and the
 * table's generation): a name seen before is routed without being turned
 * into text or matched.  Two tables of two-way sets, one of 64-byte
 * entries for names up to DC_SHORT wire octets (nearly all names) and one
 * of 128-byte entries up to DC_LONG; longer names are matched each time.
 * Direct-mapped, 10,000 names in 16,384 entries collided about half the
 * time; two ways and twice the entries in the same memory keep that to a
 * few percent.  The two ways of a name are in sets of their own (skewed:
 * way 0 from one part of the hash, way 1 from another), so that names
 * sharing one way rarely share the other: with both in one set, three
 * names of a set asked in turn pushed each other out, and 9% of 10,000
 * names replayed missed; skewed, 1% do (the same 2 MiB).
 *
 * Replacement keeps names that are asked again: an entry is marked when it
 * is hit, and a new name takes a free (or stale) way, else an unmarked
 * one, way 1 first; when both are marked, way 0 loses its mark and way 1
 * is taken.  A flood of names never seen before (a random-subdomain
 * attack) so churns one way of each set and leaves the names in use in
 * the other, instead of pushing them all out.
 */
struct dc_key {
	uint64_t	gen;		/* 0: empty */
	uint32_t	hash;
	int32_t		idx;
	uint16_t	qtype;
	uint8_t		len;
	uint8_t		ref;		/* hit since it was put in */
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
#define DC_SHORT_BYTES	(DC_SHORT_SETS * 2 * sizeof(struct dc_short))

/*
 * The decision cache's hash reads the name eight octets at a time with
 * 0x20 set in every octet: that is lowercase for letters, so the hash of a
 * name as it came in equals that of its lowercased copy, and the set of a
 * datagram's name can be prefetched before the datagram is parsed
 * (route_prefetch_wire).  Other octets it folds together only collide, and
 * a hit compares the whole name.
 */
#define DC_FOLD		0x2020202020202020ULL
#define DC_MUL		0x9e3779b97f4a7c15ULL

/* Tables shorter than this are scanned: the prefilter would cost more. */
#define INDEX_MIN_ROUTES 8
#define CAND_MAX	4096
/* A JIT match gets this much stack (reserved, touched as it grows); one
 * that needs more is run by the interpreter, whose frames are on the heap
 * under the match limits. */
#define JIT_STACK_START	(32 * 1024)
#define JIT_STACK_MAX	(512 * 1024)
/* A pattern tried this often while interpreted is worth JIT code. */
#define HOT_USES	16
/* Cache chains: grown to keep them at most this long on average. */
#define CACHE_LOAD	2

struct route_matcher {
	int			 cand[CAND_MAX];
	pcre2_match_data	*md;
	pcre2_match_context	*mctx;
	pcre2_jit_stack		*jstack;
	uint32_t		 limit;
	struct dc_short		*dcs;		/* DC_SHORT_SETS * 2 */
	struct dc_long		*dcl;		/* DC_LONG_SETS * 2 */
};

static atomic_ullong table_gen;

static int	newline_lf(void);

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

/* Interpreted code; JIT compilation is a separate, optional step. */
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
	}
	return code;
}

/* Inputs that make backtracking patterns explode: long runs of one
 * character with a mismatch at the end, in the shapes names take. */
static const char probe_chars[] = "a0-.x";
#define PROBE_RUN	250

static size_t
probe_name(char *probe, char c)
{
	memset(probe, c, PROBE_RUN);
	probe[PROBE_RUN] = '!';
	probe[PROBE_RUN + 1] = '\0';
	return PROBE_RUN + 1;
}

/*
 * The check without PCRE2, for the common shapes: a pattern the lite
 * matcher takes compiles, and on a name it decides PCRE2 gives the same
 * answer under the same limits without reaching them (route_index.h;
 * test_route and fuzz_route_lite hold it to that).  So when it decides
 * every probe, the pattern passes as PCRE2 would pass it; else PCRE2
 * checks.  Compiling the code only to free it was 60% of the CPU a batch
 * of 10,000 such routes took to parse.
 */
static int
check_lite(const char *pattern, uint32_t match_limit)
{
	uint8_t prog[256];
	char probe[PROBE_RUN + 2];
	size_t n;
	int i;

	if (!newline_lf() ||
	    route_index_lite_compile(pattern, prog, sizeof(prog)) == 0)
		return 0;
	for (i = 0; probe_chars[i] != '\0'; i++) {
		n = probe_name(probe, probe_chars[i]);
		if (route_index_lite_match(prog, probe, n, match_limit) == -1)
			return 0;
	}
	return 1;
}

int
route_check_pattern(const char *pattern, uint32_t match_limit, char *err,
    size_t errlen)
{
	pcre2_code *code;
	pcre2_match_data *md;
	pcre2_match_context *mctx;
	char probe[PROBE_RUN + 2];
	size_t n;
	int rc = 0, i;

	if (strlen(pattern) > 4096) {
		snprintf(err, errlen, "bad regex: longer than 4096 bytes");
		return -1;
	}
	if (check_lite(pattern, match_limit))
		return 0;
	/* The interpreter, with the limits a query's match has: what
	 * explodes there explodes under JIT too (JIT code is only faster),
	 * and compiling machine code here would cost a batch of 100,000
	 * routes more than everything else it does. */
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

		n = probe_name(probe, probe_chars[i]);
		r = pcre2_match(code, (PCRE2_SPTR)probe, n, 0, 0, md, mctx);
		if (r == PCRE2_ERROR_MATCHLIMIT || r == PCRE2_ERROR_DEPTHLIMIT ||
		    r == PCRE2_ERROR_JIT_STACKLIMIT) {
			snprintf(err, errlen, "regex refused: it can take "
			    "exponential time (hit the match limit of %u on a "
			    "%d-byte probe name)", match_limit, PROBE_RUN);
			rc = -1;
		}
	}
done:
	pcre2_match_data_free(md);
	pcre2_match_context_free(mctx);
	pcre2_code_free(code);
	return rc;
}

/*
 * Patterns and the cache.
 */

/* Make code p's, unless another thread was first: then free it and
 * return theirs. */
static pcre2_code *
pat_publish(struct route_pat *p, pcre2_code *code)
{
	pcre2_code *none = NULL;

	if (atomic_compare_exchange_strong_explicit(&p->code, &none, code,
	    memory_order_acq_rel, memory_order_acquire))
		return code;
	pcre2_code_free(code);
	return none;
}

/* The pattern's code, compiled now if nobody has yet; NULL when it does
 * not compile.  Any thread: two that compile at once both succeed, and
 * the second frees its copy and takes the first's. */
static pcre2_code *
pat_code(struct route_pat *p)
{
	pcre2_code *code;
	char err[320];

	code = atomic_load_explicit(&p->code, memory_order_acquire);
	if (code != NULL)
		return code;
	if (atomic_load_explicit(&p->bad, memory_order_relaxed))
		return NULL;
	if ((code = compile(p->text, err, sizeof(err))) == NULL) {
		atomic_store_explicit(&p->bad, 1, memory_order_relaxed);
		return NULL;
	}
	return pat_publish(p, code);
}

static void
pat_free(struct route_pat *p)
{
	pcre2_code_free(atomic_load(&p->code));
	pcre2_code_free(p->replaced);
	free(p);
}

static void
pat_unref(struct route_pat *p)
{
	if (atomic_fetch_sub(&p->refcnt, 1) == 1)
		pat_free(p);
}

struct route_cache *
route_cache_new(void)
{
	struct route_cache *c = xcalloc(1, sizeof(*c));

	c->nb = 1024;
	c->b = xcalloc(c->nb, sizeof(*c->b));
	c->jit_budget = ROUTE_JIT_BUDGET;
	return c;
}

void
route_cache_set_jit_budget(struct route_cache *c, size_t bytes)
{
	c->jit_budget = bytes;
}

/* What the matchers listed since, onto hot_wait. */
static void
hot_take(struct route_cache *c)
{
	struct route_pat *p, *taken;

	taken = atomic_exchange_explicit(&c->hot, NULL, memory_order_acquire);
	if (taken == NULL)
		return;
	for (p = taken; p->hot_next != NULL; p = p->hot_next)
		;
	p->hot_next = c->hot_wait;
	c->hot_wait = taken;
}

void
route_cache_gc(struct route_cache *c)
{
	struct route_pat **pp, *p;
	unsigned freed = atomic_load(&tables_freed);
	size_t i;

	if (freed == c->gc_freed)
		return;
	c->gc_freed = freed;
	/* Listed patterns no table holds (the cache and the list only)
	 * are let go first, so that the sweep below frees them.  A pattern
	 * is listed by a matcher holding a table that holds it, so one
	 * whose last table goes after this is still listed at the next. */
	hot_take(c);
	for (pp = &c->hot_wait; (p = *pp) != NULL; )
		if (atomic_load(&p->refcnt) == 2) {
			*pp = p->hot_next;
			atomic_fetch_sub(&p->refcnt, 1);
		} else
			pp = &p->hot_next;
	for (i = 0; i < c->nb; i++) {
		pp = &c->b[i];
		while ((p = *pp) != NULL) {
			if (atomic_load(&p->refcnt) == 1) {
				*pp = p->next;
				c->n--;
				c->jit_bytes -= p->jit_size;
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
	hot_take(c);
	for (p = c->hot_wait; p != NULL; p = n) {
		n = p->hot_next;
		pat_unref(p);
	}
	for (i = 0; i < c->nb; i++)
		for (p = c->b[i]; p != NULL; p = n) {
			n = p->next;
			pat_unref(p);
		}
	free(c->b);
	free(c);
}

static void
cache_grow(struct route_cache *c)
{
	struct route_pat **nb, *p, *n;
	size_t i, size = c->nb * 2;

	nb = xcalloc(size, sizeof(*nb));
	for (i = 0; i < c->nb; i++)
		for (p = c->b[i]; p != NULL; p = n) {
			n = p->next;
			p->next = nb[p->hash & (size - 1)];
			nb[p->hash & (size - 1)] = p;
		}
	free(c->b);
	c->b = nb;
	c->nb = size;
}

/* The cached pattern for text, made (not compiled) if new; referenced. */
static struct route_pat *
cache_get(struct route_cache *c, const char *text)
{
	size_t len = strlen(text);
	uint64_t h = hash_bytes(text, len);
	struct route_pat *p;

	for (p = c->b[h & (c->nb - 1)]; p != NULL; p = p->next)
		if (p->hash == h && strcmp(p->text, text) == 0) {
			atomic_fetch_add(&p->refcnt, 1);
			return p;
		}
	if (c->n >= c->nb * CACHE_LOAD)
		cache_grow(c);
	p = xcalloc(1, sizeof(*p) + len + 1);
	atomic_init(&p->refcnt, 2);	/* the cache and the caller */
	atomic_init(&p->code, NULL);
	atomic_init(&p->bad, 0);
	atomic_init(&p->jit, 0);
	atomic_init(&p->uses, 0);
	atomic_init(&p->hot, 0);
	memcpy(p->text, text, len + 1);
	p->hash = h;
	p->next = c->b[h & (c->nb - 1)];
	c->b[h & (c->nb - 1)] = p;
	c->n++;
	return p;
}

/* JIT-compile code, p's or to be p's, and count it in the budget: 1, or
 * 0 when it stays interpreted (no JIT support, out of executable memory:
 * the interpreter gives the same answers). */
static int
warm_jit_code(struct route_cache *c, struct route_pat *p, pcre2_code *code)
{
	size_t sz = 0;

	p->jit_tried = 1;
	if (pcre2_jit_compile(code, PCRE2_JIT_COMPLETE) != 0 ||
	    pcre2_pattern_info(code, PCRE2_INFO_JITSIZE, &sz) != 0 || sz == 0)
		return 0;
	p->jit_size = sz;
	c->jit_bytes += sz;
	c->wjit++;
	return 1;
}

/* Compile p if nobody has, JIT-compiling it first while the budget
 * allows; say once that it does not compile. */
static void
warm_compile(struct route_cache *c, struct route_pat *p)
{
	char err[320];
	pcre2_code *code;
	int jit = 0;

	if (atomic_load_explicit(&p->code, memory_order_acquire) != NULL)
		return;
	if ((code = compile(p->text, err, sizeof(err))) == NULL) {
		atomic_store_explicit(&p->bad, 1, memory_order_relaxed);
		c->wbad++;
		if (!p->warned)
			log_warnx("route pattern %s does not compile (%s): it "
			    "matches nothing", p->text, err);
		p->warned = 1;
		return;
	}
	c->wcompiled++;
	/* Half the budget in route order, the rest for the patterns tried
	 * often; but a table whose JIT code all fits (10,000 routes: about
	 * 7 MB at the sizes seen so far) gets it all now, rather than most
	 * of its patterns interpreted until each was tried HOT_USES times. */
	if (c->jit_bytes < c->jit_budget / 2 || (c->wjit > 0 &&
	    c->jit_bytes / c->wjit * c->wn <= c->jit_budget))
		jit = warm_jit_code(c, p, code);
	if (pat_publish(p, code) != code) {
		if (!jit)
			return;
		/* A matcher compiled it meanwhile; the JIT pass may copy. */
		c->jit_bytes -= p->jit_size;
		c->wjit--;
		p->jit_size = 0;
		p->jit_tried = 0;
	} else if (jit)
		atomic_store_explicit(&p->jit, 1, memory_order_relaxed);
}

/* A pattern the matchers tried HOT_USES times interpreted: put a JIT-
 * compiled copy of its code in its place.  The interpreted code stays,
 * since a matcher may be in it. */
static void
warm_jit(struct route_cache *c, struct route_pat *p)
{
	pcre2_code *code, *copy;

	if (p->jit_tried || c->jit_bytes >= c->jit_budget ||
	    atomic_load_explicit(&p->uses, memory_order_relaxed) < HOT_USES ||
	    (code = atomic_load_explicit(&p->code, memory_order_acquire)) ==
	    NULL || (copy = pcre2_code_copy(code)) == NULL)
		return;
	if (!warm_jit_code(c, p, copy)) {
		pcre2_code_free(copy);
		return;
	}
	p->replaced = code;
	atomic_store_explicit(&p->code, copy, memory_order_release);
	atomic_store_explicit(&p->jit, 1, memory_order_relaxed);
}

/*
 * The JIT pass: the hot list, as long as the budget lasts; what is left
 * waits on hot_wait until gc frees JIT code (only gc does).  A pattern no
 * table holds any more (the cache and the list only) is not compiled.
 * 1 when the deadline stopped it with work left.
 */
static int
warm_hot(struct route_cache *c, uint64_t deadline_us)
{
	struct route_pat *p;

	hot_take(c);
	while ((p = c->hot_wait) != NULL && c->jit_bytes < c->jit_budget) {
		c->hot_wait = p->hot_next;
		if (atomic_load(&p->refcnt) > 2)
			warm_jit(c, p);
		/* Never the last: the cache's stays, for gc to judge. */
		atomic_fetch_sub(&p->refcnt, 1);
		if (now_us() >= deadline_us)
			return c->hot_wait != NULL &&
			    c->jit_bytes < c->jit_budget;
	}
	return 0;
}

/* Said for the big jobs (a start, a batch), not for every edit. */
static void
warm_said(struct route_cache *c)
{
	if (c->wcompiled + c->wbad + c->wlite < 1000)
		return;
	log_info("%zu route patterns compiled in the background in %.2f s, "
	    "%zu of them JIT-compiled (%zu KiB); %zu left to the lite "
	    "matcher%s", c->wcompiled,
	    (double)(now_us() - c->wstart_us) / 1e6, c->wjit,
	    c->jit_bytes / 1024, c->wlite, c->wbad > 0 ?
	    "; some do not compile and match nothing" : "");
}

/* The warm-up order: the prefilter's always-tried routes (every name not
 * in the decision cache meets them), then all, in route order. */
static struct route_pat *
warm_nth(const struct route_table *t, size_t i)
{
	const int *always = NULL;
	size_t na = t->ix != NULL ?
	    (size_t)route_index_always(t->ix, &always) : 0;

	if (i < na)
		return t->pats[always[i]];
	i -= na;
	return i < (size_t)t->n ? t->pats[i] : NULL;
}

/*
 * A new table to warm: its patterns that a lite program decides are not
 * compiled ahead (a matcher compiles one if a name needs it, see
 * route_index.h), which for 100,000 such routes saves seconds of the main
 * thread and tens of MiB.  They are not pending either.
 */
static void
warm_begin(struct route_cache *c, const struct route_table *t)
{
	uint8_t *lite;
	int i;

	c->wgen = t->gen;
	c->wpass = 0;
	c->wpos = 0;
	c->wstart_us = now_us();
	c->wcompiled = c->wbad = c->wjit = c->wlite = 0;
	lite = xcalloc(t->n > 0 ? t->n : 1, 1);
	if (t->ix != NULL)
		route_index_lite_routes(t->ix, lite, t->n);
	for (i = 0; i < t->n; i++) {
		t->pats[i]->lite = lite[i];
		c->wlite += lite[i];
	}
	free(lite);
	c->wn = (size_t)t->n - c->wlite;
}

int
route_cache_warm(struct route_cache *c, const struct route_table *t,
    uint64_t deadline_us)
{
	struct route_pat *p;
	unsigned k = 0;

	if (t->gen != c->wgen)
		warm_begin(c, t);
	while (c->wpass == 0) {
		if ((p = warm_nth(t, c->wpos)) == NULL) {
			warm_said(c);
			c->wpass = 1;
			break;
		}
		c->wpos++;
		if (!p->lite)
			warm_compile(c, p);
		if ((++k & 63) == 0 && now_us() >= deadline_us)
			return 1;
	}
	return warm_hot(c, deadline_us);
}

void
route_cache_stats(const struct route_cache *c, struct route_cache_stats *s)
{
	const struct route_pat *p;
	size_t i;

	memset(s, 0, sizeof(*s));
	for (i = 0; i < c->nb; i++)
		for (p = c->b[i]; p != NULL; p = p->next) {
			s->patterns++;
			if (atomic_load(&p->code) != NULL)
				s->compiled++;
			else if (!atomic_load(&p->bad) && !p->lite)
				s->pending++;
			if (atomic_load(&p->bad))
				s->bad++;
			if (p->jit_size > 0)
				s->jit++;
			else if (!p->jit_tried &&
			    c->jit_bytes < c->jit_budget &&
			    atomic_load(&p->uses) >= HOT_USES)
				s->jit_wanted++;
		}
	s->jit_bytes = c->jit_bytes;
}

/*
 * Tables.
 */

/* The lite matcher takes PCRE2's newline to be LF (the default build). */
static int
newline_lf(void)
{
	uint32_t nl = 0;

	return pcre2_config(PCRE2_CONFIG_NEWLINE, &nl) >= 0 &&
	    nl == PCRE2_NEWLINE_LF;
}

struct route_table *
route_table_new(struct route_cache *c, const char *const *patterns,
    const uint16_t *qtypes, int n, uint32_t match_limit)
{
	struct route_index_job *job = NULL;
	struct route_table *t;
	int i;

	/* The prefilter is built beside the cache lookups below. */
	if (n >= INDEX_MIN_ROUTES)
		job = route_index_build_start(patterns, n, newline_lf());
	t = xcalloc(1, sizeof(*t));
	atomic_init(&t->refcnt, 1);
	t->cache = c;
	t->gen = atomic_fetch_add(&table_gen, 1) + 1;
	t->pats = xcalloc(n > 0 ? n : 1, sizeof(*t->pats));
	t->qtypes = xcalloc(n > 0 ? n : 1, sizeof(*t->qtypes));
	t->match_limit = match_limit;
	/* Room for the table's patterns first: at a start the cache grows
	 * while it is empty, rather than rehashing 100,000 on the way. */
	while ((size_t)n > c->nb * CACHE_LOAD)
		cache_grow(c);
	for (i = 0; i < n; i++) {
		t->pats[i] = cache_get(c, patterns[i]);
		t->qtypes[i] = qtypes[i];
		if (qtypes[i] != 0)
			t->any_qtype = 1;
	}
	t->n = n;
	if (job != NULL)
		t->ix = route_index_build_wait(job);
	return t;
}

/* A decision is the first route that matches: when the routes before it
 * and itself are the same in t as in prev, it is the same in t. */
void
route_table_inherit(struct route_table *t, const struct route_table *prev)
{
	int i;

	if (prev == NULL || prev->match_limit != t->match_limit ||
	    prev->any_qtype != t->any_qtype)
		return;
	for (i = 0; i < t->n && i < prev->n; i++)
		if (t->pats[i] != prev->pats[i] ||
		    t->qtypes[i] != prev->qtypes[i])
			break;
	t->prev_gen = prev->gen;
	t->keep = i;
}

int
route_table_same(const struct route_table *t, const char *const *patterns,
    const uint16_t *qtypes, int n, uint32_t match_limit)
{
	int i;

	if (t == NULL || t->n != n || t->match_limit != match_limit)
		return 0;
	for (i = 0; i < n; i++)
		if (t->qtypes[i] != qtypes[i] ||
		    strcmp(t->pats[i]->text, patterns[i]) != 0)
			return 0;
	return 1;
}

void
route_table_ref(struct route_table *t)
{
	atomic_fetch_add(&t->refcnt, 1);
}

void
route_table_free(struct route_table *t)
{
	int i;

	if (t == NULL || atomic_fetch_sub(&t->refcnt, 1) != 1)
		return;
	for (i = 0; i < t->n; i++)
		pat_unref(t->pats[i]);
	route_index_free(t->ix);
	free(t->pats);
	free(t->qtypes);
	free(t);
	atomic_fetch_add(&tables_freed, 1);
}

const char *
route_table_pattern(const struct route_table *t, int i)
{
	return t->pats[i]->text;
}

/*
 * Matching.
 */

struct route_matcher *
route_matcher_new(void)
{
	struct route_matcher *m = xcalloc(1, sizeof(*m));

	m->md = pcre2_match_data_create(1, NULL);
	m->mctx = pcre2_match_context_create(NULL);
	if (m->md == NULL || m->mctx == NULL)
		fatalx("pcre2: out of memory");
	/* Without it (no JIT support) JIT code is never made. */
	if ((m->jstack = pcre2_jit_stack_create(JIT_STACK_START,
	    JIT_STACK_MAX, NULL)) != NULL)
		pcre2_jit_stack_assign(m->mctx, NULL, m->jstack);
	/* The short table is one huge page where the kernel gives them on
	 * request: every lookup lands on a random line of it, and with 4 KiB
	 * pages on a random page too, a TLB miss on top of the cache miss. */
	if (posix_memalign((void **)&m->dcs, DC_SHORT_BYTES,
	    DC_SHORT_BYTES) != 0 ||
	    posix_memalign((void **)&m->dcl, 64,
	    DC_LONG_SETS * 2 * sizeof(*m->dcl)) != 0)
		fatalx("decision cache: out of memory");
#ifdef MADV_HUGEPAGE
	(void)madvise(m->dcs, DC_SHORT_BYTES, MADV_HUGEPAGE);
#endif
	memset(m->dcs, 0, DC_SHORT_BYTES);
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
	pcre2_jit_stack_free(m->jstack);
	free(m->dcs);
	free(m->dcl);
	free(m);
}

/* p was tried HOT_USES times interpreted: list it for the JIT pass,
 * once.  Any thread, holding a table that holds p (so the reference
 * taken here is never p's first). */
static void
hot_push(struct route_cache *c, struct route_pat *p)
{
	struct route_pat *head;

	if (atomic_exchange_explicit(&p->hot, 1, memory_order_relaxed))
		return;
	atomic_fetch_add(&p->refcnt, 1);
	head = atomic_load_explicit(&c->hot, memory_order_relaxed);
	do
		p->hot_next = head;
	while (!atomic_compare_exchange_weak_explicit(&c->hot, &head, p,
	    memory_order_release, memory_order_relaxed));
}

static inline int
try_route(struct route_matcher *m, const struct route_table *t, int i,
    const char *name, size_t len, uint16_t qtype, int *limited)
{
	struct route_pat *p = t->pats[i];
	pcre2_code *code;
	int r;

	if (t->any_qtype && t->qtypes[i] != 0 && t->qtypes[i] != qtype)
		return 0;
	if ((code = pat_code(p)) == NULL) {
		*limited = 1;
		return 0;
	}
	if (!atomic_load_explicit(&p->jit, memory_order_relaxed) &&
	    atomic_fetch_add_explicit(&p->uses, 1, memory_order_relaxed) ==
	    HOT_USES - 1)
		hot_push(t->cache, p);
	r = pcre2_match(code, (PCRE2_SPTR)name, len, 0, 0, m->md, m->mctx);
	if (r == PCRE2_ERROR_JIT_STACKLIMIT)
		r = pcre2_match(code, (PCRE2_SPTR)name, len, 0, PCRE2_NO_JIT,
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
	if (t->ix != NULL && (n = route_index_candidates(t->ix, name, len,
	    t->match_limit, m->cand, CAND_MAX)) >= 0) {
		for (i = 0; i < n; i++) {
			int r = m->cand[i] & ~ROUTE_INDEX_SURE;

			/* The pattern matches (its lite program said so):
			 * nothing of the route's but its qtype to read. */
			if (m->cand[i] & ROUTE_INDEX_SURE) {
				if (!t->any_qtype || t->qtypes[r] == 0 ||
				    t->qtypes[r] == qtype)
					return r;
			} else if (try_route(m, t, r, name, len, qtype, limited))
				return r;
		}
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

/* A way of a set: entries of esz bytes, the two ways of a set side by
 * side (a name's two ways are in two sets: dc_set). */
static inline struct dc_key *
dc_way(void *tab, size_t esz, uint32_t set, int way)
{
	return (struct dc_key *)((char *)tab + ((size_t)set * 2 + way) * esz);
}

static inline int
dc_same(const struct dc_key *k, const struct route_table *t, uint32_t h,
    uint16_t qt, const uint8_t *wire, size_t wlen)
{
	return (k->gen == t->gen || (k->gen == t->prev_gen && k->gen != 0 &&
	    k->idx >= 0 && k->idx < t->keep)) && k->hash == h &&
	    k->qtype == qt && k->len == wlen &&
	    dns_bytes_eq(DC_NAME(k), wire, wlen);
}

/* The way a new name goes to (see the replacement above). */
static inline struct dc_key *
dc_victim(struct dc_key *k0, struct dc_key *k1, uint64_t gen)
{
	if (k1->gen != gen)
		return k1;
	if (k0->gen != gen)
		return k0;
	if (!k1->ref)
		return k1;
	if (!k0->ref)
		return k0;
	k0->ref = 0;
	return k1;
}

static inline uint64_t
dc_hash(const uint8_t *wire, size_t wlen, uint16_t qt)
{
	uint64_t h = (wlen << 16 | qt) * DC_MUL, x;
	size_t i, j;

	for (i = 0; i + 8 <= wlen; i += 8) {
		memcpy(&x, wire + i, 8);
		h = (h ^ (x | DC_FOLD)) * DC_MUL;
		h ^= h >> 32;
	}
	if (i < wlen) {
		/* The last eight octets, overlapping the word before (a
		 * memcpy of variable length is a call); a name shorter than
		 * eight octets octet by octet. */
		if (wlen >= 8)
			memcpy(&x, wire + wlen - 8, 8);
		else
			for (x = 0, j = 0; j < wlen; j++)
				x |= (uint64_t)wire[j] << 8 * j;
		h = (h ^ (x | DC_FOLD)) * DC_MUL;
	}
	return h ^ h >> 29;
}

/* The name's way 0 (*k1: its way 1, in a set of its own, see above) and
 * the hash (given: *h when not 0); NULL when the name is too long for the
 * cache. */
static inline struct dc_key *
dc_set(const struct route_matcher *m, const uint8_t *wire, size_t wlen,
    uint16_t qt, struct dc_key **k1, uint64_t *h)
{
	void *tab;
	uint32_t mask;
	size_t esz;

	if (wlen <= DC_SHORT) {
		tab = m->dcs;
		esz = sizeof(struct dc_short);
		mask = DC_SHORT_SETS - 1;
	} else if (wlen <= DC_LONG) {
		tab = m->dcl;
		esz = sizeof(struct dc_long);
		mask = DC_LONG_SETS - 1;
	} else
		return NULL;
	if (*h == 0)
		*h = dc_hash(wire, wlen, qt);
	*k1 = dc_way(tab, esz, (uint32_t)*h & mask, 1);
	return dc_way(tab, esz, (uint32_t)(*h >> 32) & mask, 0);
}

int
route_match_wire(struct route_matcher *m, const struct route_table *t,
    const uint8_t *wire, size_t wlen, uint16_t qtype, int *limited)
{
	return route_match_wire_hint(m, t, wire, wlen, qtype, 0, limited);
}

int
route_match_wire_hint(struct route_matcher *m, const struct route_table *t,
    const uint8_t *wire, size_t wlen, uint16_t qtype, uint64_t hint,
    int *limited)
{
	char name[DNS_MAX_TEXT_NAME];
	struct dc_key *k0, *k1 = NULL, *k;
	uint16_t qt = t->any_qtype ? qtype : 0;
	uint64_t h = hint;
	int idx, nl;

	*limited = 0;
	/* Way 1 first: a new name goes there unless it is taken (see the
	 * replacement above), so most names are found on the one line. */
	if ((k0 = dc_set(m, wire, wlen, qt, &k1, &h)) != NULL) {
		k = k1;
		if (dc_same(k, t, (uint32_t)h, qt, wire, wlen))
			goto hit;
		k = k0;
		if (dc_same(k, t, (uint32_t)h, qt, wire, wlen))
			goto hit;
	}
	if ((nl = dns_wire_to_text(wire, name, sizeof(name))) < 0)
		return -1;
	idx = match_linear(m, t, name, (size_t)nl, qtype, limited);
	/* A limited result is not cached: it depends on the limit. */
	if (k0 != NULL && !*limited) {
		k = dc_victim(k0, k1, t->gen);
		k->gen = t->gen;
		k->hash = (uint32_t)h;
		k->qtype = qt;
		k->len = (uint8_t)wlen;
		k->ref = 0;
		k->idx = idx;
		memcpy(DC_NAME(k), wire, wlen);
	}
	return idx;
hit:
	k->ref = 1;
	k->gen = t->gen;	/* inherited: good for the next table too */
	return k->idx;
}

int
route_matcher_cached(const struct route_matcher *m,
    const struct route_table *t, const uint8_t *wire, size_t wlen,
    uint16_t qtype)
{
	struct dc_key *k0, *k1;
	uint16_t qt = t->any_qtype ? qtype : 0;
	uint64_t h = 0;

	return (k0 = dc_set(m, wire, wlen, qt, &k1, &h)) != NULL &&
	    (dc_same(k0, t, (uint32_t)h, qt, wire, wlen) ||
	    dc_same(k1, t, (uint32_t)h, qt, wire, wlen));
}

/* The hint is the name's hash: the same for the name as it came as for
 * its lowercased copy (DC_FOLD). */
uint64_t
route_prefetch_wire(const struct route_matcher *m, const struct route_table *t,
    const uint8_t *pkt, size_t len)
{
	return route_prefetch_qn(m, t, pkt, dns_qname_len(pkt, len));
}

uint64_t
route_prefetch_qn(const struct route_matcher *m, const struct route_table *t,
    const uint8_t *pkt, size_t qnlen)
{
	struct dc_key *k0, *k1;
	uint64_t h = 0;
	size_t i = DNS_HDR_LEN + qnlen - 1;	/* the root octet */
	uint16_t qt = 0;

	/* Anything odd is left to the parser. */
	if (qnlen == 0)
		return 0;
	if (t->any_qtype)
		qt = (uint16_t)(pkt[i + 1] << 8 | pkt[i + 2]);
	if ((k0 = dc_set(m, pkt + DNS_HDR_LEN, qnlen, qt, &k1, &h)) == NULL)
		return 0;
	__builtin_prefetch(k0);
	__builtin_prefetch(k1);
	return h;
}

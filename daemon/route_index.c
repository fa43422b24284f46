/*
 * route_index: literal prefix/suffix prefilter (see route_index.h).
 *
 * Invariants: immutable once built; a route can only match a name that
 * carries its filed literal, so leaving the other routes out never changes
 * which route matches first.
 */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "route_index.h"
#include "log.h"
#include "util.h"

#define LIT_MAX		255

/*
 * Compact, for 100,000 routes: an entry is 20 bytes, its literal sits in
 * one arena and its routes in one array, but for the most common case of
 * one route, held in the entry (a name not in the decision cache then
 * touches one line fewer).
 */
struct entry {
	uint32_t	 hash;
	uint16_t	 len;
	char		 kind;		/* 'p' or 's'; 0 = empty */
	uint8_t		 lite;		/* the first route's lite program
					 * follows the literal in lits */
	uint32_t	 lit;		/* offset in lits */
	int		 off;		/* its routes: idx[off], n of them; with
					 * one route (most), the route itself */
	uint32_t	 n;
};

struct route_index {
	struct entry	*tab;
	uint32_t	 mask;
	char		*lits;
	size_t		 nlits;
	int		*idx;		/* route indices, ascending per entry */
	int		*always;	/* ascending */
	int		 nalways;
	uint16_t	 plens[LIT_MAX + 1], slens[LIT_MAX + 1];
	int		 nplens, nslens;
};

struct atom {
	char	c;
	int	literal;
};

/* Split a pattern into atoms; 0, or -1 when it has constructs the
 * analysis does not follow. */
static int
atomize(const char *p, struct atom *a, int *na, int *anch_start,
    int *anch_end, int max)
{
	size_t i = 0, n = strlen(p);
	int k = 0;

	*anch_start = *anch_end = 0;
	if (strchr(p, '|') != NULL || strstr(p, "(?") != NULL ||
	    strstr(p, "\\Q") != NULL || strstr(p, "\\E") != NULL)
		return -1;
	if (n > 0 && p[0] == '^') {
		*anch_start = 1;
		i = 1;
	}
	while (i < n) {
		char c = p[i];

		if (k >= max)
			return -1;
		if (c == '\\') {
			char e = p[i + 1];

			if (e == '\0')
				return -1;
			/* \. \- \/ and friends are the character itself;
			 * \d \w \x41 \1 ... are classes or codes. */
			if ((e >= 'a' && e <= 'z') || (e >= 'A' && e <= 'Z') ||
			    (e >= '0' && e <= '9'))
				a[k++] = (struct atom){ 0, 0 };
			else
				a[k++] = (struct atom){ e, 1 };
			i += 2;
		} else if (c == '[') {
			/* A class: skip to its end (a ] first is literal). */
			size_t j = i + 1;

			if (p[j] == '^')
				j++;
			if (p[j] == ']')
				j++;
			while (j < n && p[j] != ']') {
				if (p[j] == '\\' && j + 1 < n)
					j++;
				else if (p[j] == '[' && p[j + 1] == ':')
					return -1;
				j++;
			}
			if (j >= n)
				return -1;
			a[k++] = (struct atom){ 0, 0 };
			i = j + 1;
		} else if (c == '*' || c == '+' || c == '?' || c == '{') {
			/* A quantifier makes the atom before it optional or
			 * repeated: no longer one fixed character. */
			if (k > 0)
				a[k - 1].literal = 0;
			if (c == '{') {
				while (i < n && p[i] != '}')
					i++;
			}
			i++;
			a[k++] = (struct atom){ 0, 0 };
		} else if (c == '$' && i == n - 1) {
			*anch_end = 1;
			i++;
		} else if (c == '.' || c == '(' || c == ')' || c == '^' ||
		    c == '$') {
			a[k++] = (struct atom){ 0, 0 };
			i++;
		} else {
			a[k++] = (struct atom){ c, 1 };
			i++;
		}
	}
	*na = k;
	return 0;
}

char
route_index_classify(const char *pattern, char *lit, size_t litlen)
{
	struct atom a[512];
	int na, as, ae, i, j, l = 0;

	lit[0] = '\0';
	if (atomize(pattern, a, &na, &as, &ae, 512) == -1)
		return 'a';
	if (as) {
		for (i = 0; i < na && a[i].literal && l < LIT_MAX &&
		    (size_t)l + 1 < litlen; i++)
			lit[l++] = a[i].c;
		lit[l] = '\0';
		if (l > 0)
			return 'p';
	}
	if (ae) {
		for (i = na - 1; i >= 0 && a[i].literal && na - i <= LIT_MAX &&
		    (size_t)(na - i) < litlen; i--)
			;
		for (j = i + 1, l = 0; j < na; j++)
			lit[l++] = a[j].c;
		lit[l] = '\0';
		if (l > 0)
			return 's';
	}
	return 'a';
}

/*
 * The lite matcher: a pattern of the common shapes, decided without PCRE2
 * (see route_index.h).  A program is
 *
 *	flags nitems nf1 nf2 [star set] f1 sets... f2 sets...
 *
 * over a segment of the name: the name, or what is left of it when the
 * literal the route is filed under (already compared by the lookup) is
 * taken off.  Without a star, f1 holds every set and nf2 is 0.  A set is a
 * tag and its bytes: one byte, a range, a range's complement, or a 256-bit
 * map.  Everything the parser does not follow exactly (alternation,
 * groups, escapes that are classes, {}, ?, lazy or possessive quantifiers,
 * POSIX classes, bytes outside printable ASCII, more than one star)
 * makes no program, and PCRE2 decides.
 */
#define LF_START	0x01	/* segment anchored at its start */
#define LF_END		0x02	/* ... at its end */
#define LF_STAR		0x04
#define LF_DOLLAR	0x08	/* the pattern ends in $ */
enum { SET_BYTE = 1, SET_RANGE, SET_NRANGE, SET_MAP };

/* A set of bytes, bit c of w[c / 64]; one: its only byte, when it is
 * known to have one (-1: a class, count them). */
struct lset {
	uint64_t	w[4];
	int		one;
};

static void
lset_add(struct lset *s, unsigned lo, unsigned hi)
{
	for (; lo <= hi; lo++)
		s->w[lo >> 6] |= 1ULL << (lo & 63);
}

static int
lset_has(const struct lset *s, unsigned c)
{
	return s->w[c >> 6] >> (c & 63) & 1;
}

static int
lset_count(const struct lset *s)
{
	if (s->one >= 0)
		return 1;
	return __builtin_popcountll(s->w[0]) + __builtin_popcountll(s->w[1]) +
	    __builtin_popcountll(s->w[2]) + __builtin_popcountll(s->w[3]);
}

/* The lowest byte in s (not empty). */
static int
lset_first(const struct lset *s)
{
	int k;

	for (k = 0; s->w[k] == 0; k++)
		;
	return k * 64 + __builtin_ctzll(s->w[k]);
}

/* The highest. */
static int
lset_last(const struct lset *s)
{
	int k;

	for (k = 3; s->w[k] == 0; k--)
		;
	return k * 64 + 63 - __builtin_clzll(s->w[k]);
}

/* How many runs of consecutive bytes. */
static int
lset_runs(const struct lset *s)
{
	uint64_t carry = 0;
	int k, n = 0;

	for (k = 0; k < 4; k++) {
		n += __builtin_popcountll(s->w[k] & ~(s->w[k] << 1 | carry));
		carry = s->w[k] >> 63;
	}
	return n;
}

/* A byte a pattern may hold as itself: printable ASCII. */
static int
lite_plain(unsigned char c)
{
	return c >= 0x20 && c < 0x7f;
}

/* An escape that is the next character itself: \ and ASCII punctuation. */
static int
lite_escaped(unsigned char e)
{
	return lite_plain(e) && !(e >= 'a' && e <= 'z') &&
	    !(e >= 'A' && e <= 'Z') && !(e >= '0' && e <= '9') && e != ' ';
}

/* One set at p (a byte, an escape, a class, a dot): its length in the
 * pattern, or 0 when it is not one the lite matcher follows. */
static size_t
lite_set(const char *p, struct lset *s)
{
	const unsigned char *u = (const unsigned char *)p;
	size_t i = 1;
	int neg = 0, first = 1, k;

	memset(s, 0, sizeof(*s));
	s->one = -1;
	if (u[0] == '\\') {
		if (!lite_escaped(u[1]))
			return 0;
		lset_add(s, u[1], u[1]);
		s->one = u[1];
		return 2;
	}
	if (u[0] == '.') {
		/* Any byte but a newline (LF: see route_index_build). */
		s->w[0] = s->w[1] = s->w[2] = s->w[3] = ~0ULL;
		s->w[0] &= ~(1ULL << '\n');
		return 1;
	}
	if (u[0] != '[') {
		switch (u[0]) {
		case '^': case '$': case '[': case ']': case '|': case '(':
		case ')': case '?': case '*': case '+': case '{': case '}':
			return 0;
		}
		if (!lite_plain(u[0]))
			return 0;
		lset_add(s, u[0], u[0]);
		s->one = u[0];
		return 1;
	}
	/* [: [. [= may open POSIX syntax, which PCRE2 refuses outside a
	 * class (and [. [= anywhere). */
	if (u[i] == ':' || u[i] == '.' || u[i] == '=')
		return 0;
	if (u[i] == '^') {
		neg = 1;
		i++;
	}
	for (;; first = 0) {
		unsigned lo, hi;
		int esc = 0;

		if (u[i] == ']' && !first)
			break;
		if (u[i] == '\\') {
			if (!lite_escaped(u[i + 1]))
				return 0;
			lo = u[i + 1];
			esc = 1;
			i += 2;
		} else if (lite_plain(u[i]) && u[i] != '[') {
			lo = u[i++];
		} else
			return 0;
		hi = lo;
		if (u[i] == '-' && u[i + 1] != ']') {
			if (esc || !lite_plain(u[i + 1]) || u[i + 1] == '\\' ||
			    u[i + 1] == '[' || u[i + 1] < lo)
				return 0;
			hi = u[i + 1];
			i += 2;
		}
		lset_add(s, lo, hi);
	}
	if (neg)
		for (k = 0; k < 4; k++)
			s->w[k] = ~s->w[k];
	return i + 1;
}

/* Its encoding into out: the bytes written. */
static size_t
lite_put(const struct lset *s, uint8_t *out)
{
	struct lset c;
	int runs, k;

	if (lset_count(s) == 1) {
		out[0] = SET_BYTE;
		out[1] = (uint8_t)(s->one >= 0 ? s->one : lset_first(s));
		return 2;
	}
	if ((runs = lset_runs(s)) == 1) {
		out[0] = SET_RANGE;
		out[1] = (uint8_t)lset_first(s);
		out[2] = (uint8_t)lset_last(s);
		return 3;
	}
	if (runs == 2 && lset_has(s, 0) && lset_has(s, 255)) {
		/* The complement of one run. */
		for (k = 0; k < 4; k++)
			c.w[k] = ~s->w[k];
		c.one = -1;
		out[0] = SET_NRANGE;
		out[1] = (uint8_t)lset_first(&c);
		out[2] = (uint8_t)lset_last(&c);
		return 3;
	}
	out[0] = SET_MAP;
	for (k = 0; k < 32; k++)
		out[1 + k] = (uint8_t)(s->w[k / 8] >> (k % 8 * 8));
	return 33;
}

static inline int
lite_in(const uint8_t **pp, unsigned char c)
{
	const uint8_t *p = *pp;

	switch (p[0]) {
	case SET_BYTE:
		*pp = p + 2;
		return c == p[1];
	case SET_RANGE:
		*pp = p + 3;
		return c >= p[1] && c <= p[2];
	case SET_NRANGE:
		*pp = p + 3;
		return c < p[1] || c > p[2];
	default:
		*pp = p + 33;
		return p[1 + (c >> 3)] >> (c & 7) & 1;
	}
}

/* Skip n sets. */
static const uint8_t *
lite_skip(const uint8_t *p, int n)
{
	for (; n > 0; n--)
		p += p[0] == SET_BYTE ? 2 : p[0] == SET_MAP ? 33 : 3;
	return p;
}

/* Do the n sets at p match s? */
static int
lite_run(const uint8_t *p, int n, const char *s)
{
	int i;

	for (i = 0; i < n; i++)
		if (!lite_in(&p, (unsigned char)s[i]))
			return 0;
	return 1;
}

#define LITE_ITEMS	128

/*
 * Compile pattern into prog (cap bytes), leaving out the literal lit
 * (litlen bytes; 0: none) of kind 'p' or 's' that the index compares
 * itself.  The length written, or 0: no program.
 */
static size_t
lite_compile(const char *pattern, char kind, const char *lit, size_t litlen,
    uint8_t *prog, size_t cap)
{
	struct lset sets[LITE_ITEMS];
	char quant[LITE_ITEMS];
	const char *p = pattern;
	uint8_t buf[LITE_ITEMS * 33 + 8];
	size_t o = 4, l;
	int n = 0, first = 0, last, star = -1, caret = 0, dollar = 0, i;

	if (*p == '^') {
		caret = 1;
		p++;
	}
	while (*p != '\0') {
		if (*p == '$' && p[1] == '\0') {
			dollar = 1;
			break;
		}
		if (n >= LITE_ITEMS - 1 || (l = lite_set(p, &sets[n])) == 0)
			return 0;
		p += l;
		quant[n] = '1';
		if (*p == '*' || *p == '+') {
			if (p[1] == '*' || p[1] == '+' || p[1] == '?' ||
			    p[1] == '{' || star >= 0)
				return 0;
			quant[n] = *p++;
			star = n;
		}
		n++;
	}
	if (star >= 0 && quant[star] == '+') {
		/* x+ is x x*. */
		memmove(&sets[star + 1], &sets[star],
		    (size_t)(n - star) * sizeof(sets[0]));
		memmove(&quant[star + 1], &quant[star], (size_t)(n - star));
		quant[star] = '1';
		star++;
		n++;
	}
	last = n;
	/* The filed literal: one-byte sets at the end or the start. */
	if (kind == 's' || kind == 'p') {
		if ((size_t)n < litlen)
			return 0;
		for (l = 0; l < litlen; l++) {
			i = kind == 's' ? n - (int)litlen + (int)l : (int)l;
			if (quant[i] != '1' || !lset_has(&sets[i],
			    (unsigned char)lit[l]) || lset_count(&sets[i]) != 1)
				return 0;
		}
		if (kind == 's')
			last = n - (int)litlen;
		else
			first = (int)litlen;
		if (star >= 0 && (star < first || star >= last))
			return 0;
	}
	buf[0] = (uint8_t)((kind == 'p' || caret ? LF_START : 0) |
	    (kind == 's' || dollar ? LF_END : 0) | (dollar ? LF_DOLLAR : 0));
	/* Not anchored at its start, a star first matches as if it were
	 * not there (.*\.example\.$ is \.example\.$); a star further on,
	 * the matcher would have to try every start: PCRE2 does. */
	if (star >= 0 && star == first && !(buf[0] & LF_START)) {
		first++;
		star = -1;
	}
	if (star >= 0 && !(buf[0] & LF_START))
		return 0;
	if (star >= 0)
		buf[0] |= LF_STAR;
	buf[1] = (uint8_t)n;
	if (star >= 0) {
		buf[2] = (uint8_t)(star - first);
		buf[3] = (uint8_t)(last - star - 1);
		o += lite_put(&sets[star], buf + o);
	} else {
		buf[2] = (uint8_t)(last - first);
		buf[3] = 0;
	}
	for (i = first; i < last; i++)
		if (i != star)
			o += lite_put(&sets[i], buf + o);
	if (o > cap || o > 255)
		return 0;
	memcpy(prog, buf, o);
	return o;
}

/*
 * Does the segment s (n bytes) match?  The name is given whole (name,
 * len) for the $ rule.  1, 0, or -1 when PCRE2 must say.
 */
static int
lite_exec(const uint8_t *prog, const char *name, size_t len, const char *s,
    size_t n, uint32_t limit)
{
	int flags = prog[0], nf1 = prog[2], nf2 = prog[3];
	const uint8_t *star = prog + 4, *f1, *f2, *q;
	size_t i, k;

	/* $ matches before a newline at the end too; and PCRE2's limits:
	 * a match that could count near them is left to it (it counts a
	 * backtrack per byte at most once per star here, a start per byte
	 * unanchored). */
	if (((flags & LF_DOLLAR) && len > 0 && name[len - 1] == '\n') ||
	    (uint64_t)limit < 2 * ((uint64_t)len + prog[1]) + 64)
		return -1;
	if (!(flags & LF_STAR)) {
		f1 = prog + 4;
		if (n < (size_t)nf1)
			return 0;
		switch (flags & (LF_START | LF_END)) {
		case LF_START | LF_END:
			return n == (size_t)nf1 && lite_run(f1, nf1, s);
		case LF_START:
			return lite_run(f1, nf1, s);
		case LF_END:
			return lite_run(f1, nf1, s + n - nf1);
		default:
			for (i = 0; i + nf1 <= n; i++)
				if (lite_run(f1, nf1, s + i))
					return 1;
			return 0;
		}
	}
	f1 = lite_skip(star, 1);
	f2 = lite_skip(f1, nf1);
	if (n < (size_t)nf1 + (size_t)nf2 || !lite_run(f1, nf1, s))
		return 0;
	if (flags & LF_END) {
		for (i = nf1; i < n - nf2; i++) {
			q = star;
			if (!lite_in(&q, (unsigned char)s[i]))
				return 0;
		}
		return lite_run(f2, nf2, s + n - nf2);
	}
	/* Anchored at the start only: any number of star bytes, then f2. */
	for (k = nf1;; k++) {
		if (k + nf2 <= n && lite_run(f2, nf2, s + k))
			return 1;
		q = star;
		if (k >= n || !lite_in(&q, (unsigned char)s[k]))
			return 0;
	}
}

size_t
route_index_lite_compile(const char *pattern, uint8_t *prog, size_t cap)
{
	return lite_compile(pattern, 0, NULL, 0, prog, cap);
}

int
route_index_lite_match(const uint8_t *prog, const char *name, size_t len,
    uint32_t limit)
{
	return lite_exec(prog, name, len, name, len, limit);
}

/*
 * Eight octets at a time, each word mixed in by a multiply and a shift,
 * then a final mix so the low bits (the slot) depend on every octet.  It
 * is computed for each literal length a name is looked up at, and once
 * for each of 100,000 literals before a restart can serve (a byte-at-a-
 * time FNV, twice per literal, was 4-5% of that).
 */
#define MIX_K	0xff51afd7ed558ccdULL

static uint32_t
hash_lit(char kind, const char *s, size_t n)
{
	uint64_t h = 0x9e3779b97f4a7c15ULL ^ ((uint64_t)(unsigned char)kind <<
	    8) ^ n, w;

	for (; n >= 8; s += 8, n -= 8) {
		memcpy(&w, s, 8);
		h = (h ^ w) * MIX_K;
		h ^= h >> 32;
	}
	if (n > 0) {
		w = 0;
		memcpy(&w, s, n);
		h = (h ^ w) * MIX_K;
		h ^= h >> 32;
	}
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ULL;
	h ^= h >> 33;
	return (uint32_t)h;
}

static struct entry *
lookup(const struct route_index *ix, char kind, const char *s, size_t n,
    uint32_t h)
{
	uint32_t i = h & ix->mask;

	while (ix->tab[i].kind != 0) {
		struct entry *e = &ix->tab[i];

		if (e->hash == h && e->kind == kind && e->len == n &&
		    memcmp(ix->lits + e->lit, s, n) == 0)
			return e;
		i = (i + 1) & ix->mask;
	}
	return &ix->tab[i];
}

static void
add_len(uint16_t *lens, int *n, uint16_t l)
{
	int i;

	for (i = 0; i < *n; i++)
		if (lens[i] == l)
			return;
	lens[(*n)++] = l;
}

_Static_assert(sizeof(struct entry) == 20, "an entry is 20 bytes");

struct route_index *
route_index_build(const char *const *patterns, int n, int lite)
{
	struct route_index *ix = xcalloc(1, sizeof(*ix));
	struct entry *e;
	char lit[LIT_MAX + 1], kind;
	uint8_t prog[256];
	uint32_t size = 16, *slot, i, off, h;
	size_t l, pl, caplits = 4096;
	int r, k;

	while (size < (uint32_t)n + (uint32_t)n / 2 + 16)
		size <<= 1;
	ix->tab = xcalloc(size, sizeof(*ix->tab));
	ix->mask = size - 1;
	ix->lits = xmalloc(caplits);
	/* First each route's entry (its slot), and how many each has. */
	slot = xcalloc(n > 0 ? n : 1, sizeof(*slot));
	for (r = 0; r < n; r++) {
		kind = route_index_classify(patterns[r], lit, sizeof(lit));
		if (kind == 'a') {
			slot[r] = UINT32_MAX;
			ix->nalways++;
			continue;
		}
		l = strlen(lit);
		h = hash_lit(kind, lit, l);
		e = lookup(ix, kind, lit, l, h);
		if (e->kind == 0) {
			e->kind = kind;
			e->hash = h;
			e->len = (uint16_t)l;
			/* The program beside the literal: a name not in the
			 * decision cache reads both from one or two lines. */
			pl = lite ? lite_compile(patterns[r], kind, lit, l, prog,
			    sizeof(prog)) : 0;
			e->lite = pl > 0;
			if (ix->nlits + l + pl > caplits) {
				while (ix->nlits + l + pl > caplits)
					caplits *= 2;
				ix->lits = xrealloc(ix->lits, caplits);
			}
			memcpy(ix->lits + ix->nlits, lit, l);
			memcpy(ix->lits + ix->nlits + l, prog, pl);
			e->lit = (uint32_t)ix->nlits;
			ix->nlits += l + pl;
			add_len(kind == 'p' ? ix->plens : ix->slens,
			    kind == 'p' ? &ix->nplens : &ix->nslens, (uint16_t)l);
		}
		e->n++;
		slot[r] = (uint32_t)(e - ix->tab);
	}
	ix->lits = xrealloc(ix->lits, ix->nlits > 0 ? ix->nlits : 1);
	/* Then the routes into each entry's part of idx, from its end and
	 * from the last route, so that each part is ascending. */
	for (i = 0, off = 0; i < size; i++)
		if (ix->tab[i].n > 1) {
			off += ix->tab[i].n;
			ix->tab[i].off = (int)off;
		}
	ix->idx = xcalloc(off > 0 ? off : 1, sizeof(*ix->idx));
	ix->always = xcalloc(ix->nalways > 0 ? ix->nalways : 1, sizeof(int));
	for (r = n - 1, k = ix->nalways; r >= 0; r--) {
		if (slot[r] == UINT32_MAX) {
			ix->always[--k] = r;
			continue;
		}
		e = &ix->tab[slot[r]];
		if (e->n == 1)
			e->off = r;
		else
			ix->idx[--e->off] = r;
	}
	free(slot);
	return ix;
}

/* Below this the thread costs more than it saves. */
#define JOB_MIN_ROUTES	4096

struct route_index_job {
	pthread_t		 thr;
	int			 threaded;
	const char *const	*patterns;
	int			 n, lite;
	struct route_index	*ix;
};

static void *
job_main(void *arg)
{
	struct route_index_job *j = arg;

	j->ix = route_index_build(j->patterns, j->n, j->lite);
	return NULL;
}

struct route_index_job *
route_index_build_start(const char *const *patterns, int n, int lite)
{
	struct route_index_job *j = xcalloc(1, sizeof(*j));

	j->patterns = patterns;
	j->n = n;
	j->lite = lite;
	if (n >= JOB_MIN_ROUTES &&
	    pthread_create(&j->thr, NULL, job_main, j) == 0)
		j->threaded = 1;
	else
		job_main(j);
	return j;
}

struct route_index *
route_index_build_wait(struct route_index_job *j)
{
	struct route_index *ix;

	if (j->threaded && (errno = pthread_join(j->thr, NULL)) != 0)
		fatal("pthread_join");
	ix = j->ix;
	free(j);
	return ix;
}

void
route_index_free(struct route_index *ix)
{
	if (ix == NULL)
		return;
	free(ix->tab);
	free(ix->lits);
	free(ix->idx);
	free(ix->always);
	free(ix);
}

int
route_index_always(const struct route_index *ix, const int **idx)
{
	*idx = ix->always;
	return ix->nalways;
}

void
route_index_lite_routes(const struct route_index *ix, uint8_t *lite, int n)
{
	uint32_t i;

	for (i = 0; i <= ix->mask; i++)
		if (ix->tab[i].n == 1 && ix->tab[i].lite &&
		    ix->tab[i].off >= 0 && ix->tab[i].off < n)
			lite[ix->tab[i].off] = 1;
}

static int
cmp_int(const void *a, const void *b)
{
	int x = *(const int *)a & ~ROUTE_INDEX_SURE,
	    y = *(const int *)b & ~ROUTE_INDEX_SURE;

	return (x > y) - (x < y);
}

static const int *
routes(const struct route_index *ix, const struct entry *e)
{
	return e->n == 1 ? &e->off : ix->idx + e->off;
}

static int
append(int *out, int n, int cap, const int *src, int k)
{
	if (n + k > cap)
		return -1;
	memcpy(out + n, src, k * sizeof(int));
	return n + k;
}

/* The routes of e found for name, into out: the count, or -1 when they
 * do not fit.  A lone route with a lite program is decided here: left
 * out when it does not match, marked ROUTE_INDEX_SURE when it does. */
static int
take(const struct route_index *ix, const struct entry *e, const char *name,
    size_t len, uint32_t limit, int *out, int n, int cap)
{
	const char *seg = e->kind == 'p' ? name + e->len : name;
	int r;

	if (e->n == 1 && e->lite) {
		r = lite_exec((const uint8_t *)ix->lits + e->lit + e->len, name,
		    len, seg, len - e->len, limit);
		if (r == 0)
			return n;
		if (n + 1 > cap)
			return -1;
		out[n] = e->off | (r == 1 ? ROUTE_INDEX_SURE : 0);
		return n + 1;
	}
	return append(out, n, cap, routes(ix, e), (int)e->n);
}

int
route_index_candidates(const struct route_index *ix, const char *name,
    size_t len, uint32_t limit, int *out, int cap)
{
	const struct entry *e;
	int n = 0, lists = 0, i, k;

	for (i = 0; i < ix->nplens; i++) {
		size_t l = ix->plens[i];

		if (l > len)
			continue;
		e = lookup(ix, 'p', name, l, hash_lit('p', name, l));
		if (e->kind != 0) {
			if ((n = take(ix, e, name, len, limit, out, n, cap)) < 0)
				return -1;
			lists++;
		}
	}
	for (i = 0; i < ix->nslens; i++) {
		size_t l = ix->slens[i];

		if (l > len)
			continue;
		e = lookup(ix, 's', name + len - l, l,
		    hash_lit('s', name + len - l, l));
		if (e->kind != 0) {
			if ((n = take(ix, e, name, len, limit, out, n, cap)) < 0)
				return -1;
			lists++;
		}
	}
	if (ix->nalways > 0) {
		if ((n = append(out, n, cap, ix->always, ix->nalways)) < 0)
			return -1;
		lists++;
	}
	/* Each list is ascending; a route is in one list only. */
	if (lists > 1)
		qsort(out, n, sizeof(int), cmp_int);
	for (i = 1, k = n > 0 ? 1 : 0; i < n; i++)
		if ((out[i] & ~ROUTE_INDEX_SURE) !=
		    (out[k - 1] & ~ROUTE_INDEX_SURE))
			out[k++] = out[i];
	return k;
}

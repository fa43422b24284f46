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

struct route_index *
route_index_build(const char *const *patterns, int n)
{
	struct route_index *ix = xcalloc(1, sizeof(*ix));
	struct entry *e;
	char lit[LIT_MAX + 1], kind;
	uint32_t size = 16, *slot, i, off, h;
	size_t l, caplits = 4096;
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
			if (ix->nlits + l > caplits) {
				while (ix->nlits + l > caplits)
					caplits *= 2;
				ix->lits = xrealloc(ix->lits, caplits);
			}
			memcpy(ix->lits + ix->nlits, lit, l);
			e->lit = (uint32_t)ix->nlits;
			ix->nlits += l;
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
	int			 n;
	struct route_index	*ix;
};

static void *
job_main(void *arg)
{
	struct route_index_job *j = arg;

	j->ix = route_index_build(j->patterns, j->n);
	return NULL;
}

struct route_index_job *
route_index_build_start(const char *const *patterns, int n)
{
	struct route_index_job *j = xcalloc(1, sizeof(*j));

	j->patterns = patterns;
	j->n = n;
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

static int
cmp_int(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;

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

int
route_index_candidates(const struct route_index *ix, const char *name,
    size_t len, int *out, int cap)
{
	const struct entry *e;
	int n = 0, lists = 0, i, k;

	for (i = 0; i < ix->nplens; i++) {
		size_t l = ix->plens[i];

		if (l > len)
			continue;
		e = lookup(ix, 'p', name, l, hash_lit('p', name, l));
		if (e->kind != 0) {
			if ((n = append(out, n, cap, routes(ix, e), e->n)) < 0)
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
			if ((n = append(out, n, cap, routes(ix, e), e->n)) < 0)
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
		if (out[i] != out[k - 1])
			out[k++] = out[i];
	return k;
}

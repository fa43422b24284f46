/*
 * zone_names: the names a zone walk must remember, by lowercase wire
 * form: the ancestors of owner names (to find empty non-terminals), the
 * delegation points and DNAME owners, and the names NS records point to.
 * In most zones these are a small part of the owner names; the owners
 * themselves are never all kept.  Entries live until znames_free() and
 * never move.  Also the few wire name helpers the walk uses.
 */
#include <stdlib.h>
#include <string.h>

#include "util.h"
#include "zone.h"

struct znames {
	struct zname	**b;
	size_t		 nb;		/* a power of two */
	struct zname	**v;		/* in insertion order */
	size_t		 n, cap;
};

static uint32_t
hash_wire(const uint8_t *w, size_t len)
{
	uint32_t h = 2166136261u;

	while (len-- > 0) {
		h ^= *w++;
		h *= 16777619u;
	}
	return h ^ (h >> 15);
}

struct znames *
znames_new(void)
{
	struct znames *zn = xcalloc(1, sizeof(*zn));

	zn->nb = 1024;
	zn->b = xcalloc(zn->nb, sizeof(*zn->b));
	return zn;
}

void
znames_free(struct znames *zn)
{
	size_t i;

	if (zn == NULL)
		return;
	for (i = 0; i < zn->n; i++)
		free(zn->v[i]);
	free(zn->v);
	free(zn->b);
	free(zn);
}

struct zname *
znames_get(struct znames *zn, const uint8_t *wire, size_t len)
{
	uint32_t h = hash_wire(wire, len);
	struct zname *e;

	for (e = zn->b[h & (zn->nb - 1)]; e != NULL; e = e->next)
		if (e->hash == h && e->len == len &&
		    memcmp(e->wire, wire, len) == 0)
			return e;
	return NULL;
}

static void
grow(struct znames *zn)
{
	struct zname **nb, *e;
	size_t i, n = zn->nb * 2;

	nb = xcalloc(n, sizeof(*nb));
	for (i = 0; i < zn->n; i++) {
		e = zn->v[i];
		e->next = nb[e->hash & (n - 1)];
		nb[e->hash & (n - 1)] = e;
	}
	free(zn->b);
	zn->b = nb;
	zn->nb = n;
}

struct zname *
znames_add(struct znames *zn, const uint8_t *wire, size_t len)
{
	struct zname *e;

	if ((e = znames_get(zn, wire, len)) != NULL)
		return e;
	if (zn->n >= zn->nb)
		grow(zn);
	e = xcalloc(1, sizeof(*e) + len);
	e->hash = hash_wire(wire, len);
	e->len = (uint8_t)len;
	e->dest = ZD_UNKNOWN;
	memcpy(e->wire, wire, len);
	e->next = zn->b[e->hash & (zn->nb - 1)];
	zn->b[e->hash & (zn->nb - 1)] = e;
	if (zn->n == zn->cap) {
		zn->cap = zn->cap ? zn->cap * 2 : 256;
		zn->v = xrealloc(zn->v, zn->cap * sizeof(*zn->v));
	}
	zn->v[zn->n++] = e;
	return e;
}

size_t
znames_count(const struct znames *zn)
{
	return zn->n;
}

struct zname *
znames_at(const struct znames *zn, size_t i)
{
	return i < zn->n ? zn->v[i] : NULL;
}

size_t
zwire_of(const ldns_rdf *d, uint8_t *out)
{
	const uint8_t *p = ldns_rdf_data(d);
	size_t i, len = ldns_rdf_size(d);

	if (len > 255)
		len = 255;
	for (i = 0; i < len; i++)
		out[i] = p[i];
	/* Lowercase the label bytes, not the length octets. */
	for (i = 0; i < len && out[i] != 0; i += out[i] + 1) {
		size_t k;

		for (k = i + 1; k <= i + out[i] && k < len; k++)
			if (out[k] >= 'A' && out[k] <= 'Z')
				out[k] += 'a' - 'A';
	}
	return len;
}

int
zwire_under(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
	size_t off = 0;

	/* Walk a's labels until what is left is as long as b. */
	while (alen - off > blen) {
		if (a[off] == 0)
			return 0;
		off += a[off] + 1;
	}
	return alen - off == blen && memcmp(a + off, b, blen) == 0;
}

int
zwire_parent(const uint8_t *wire, size_t len, size_t off)
{
	if (off >= len || wire[off] == 0)
		return -1;
	return (int)(off + wire[off] + 1);
}

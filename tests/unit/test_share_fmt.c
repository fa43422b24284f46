/*
 * test_share_fmt: how a fleet's state is cut into chunks and named, and
 * its head written and read back.  What matters: the chunks make the text
 * again, names are content addresses, a change to one line changes one
 * chunk (wherever the line is), and a head that is not one is refused with
 * a reason.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "share_fmt.h"
#include "unit.h"
#include "util.h"

/* A state of n routes, as export prints it. */
static char *
state(int n, int skip, size_t *len)
{
	size_t cap = (size_t)n * 80 + 256, used = 0;
	char *t = xmalloc(cap);
	int i;

	used += (size_t)snprintf(t + used, cap - used, "pool add p policy "
	    "roundrobin\n");
	for (i = 0; i < n; i++)
		if (i != skip)
			used += (size_t)snprintf(t + used, cap - used,
			    "route add '^r%06d\\.example\\.$' pool p\n", i);
	*len = used;
	return t;
}

static void
test_split(void)
{
	struct share_chunk *c, *c2;
	size_t n, n2, len, len2, i, k, at, same;
	char *t, *t2, *glued;

	t = state(10000, -1, &len);
	n = share_split(t, len, &c);
	CHECK(n > 5 && n < 200);
	glued = xmalloc(len + 1);
	for (at = 0, i = 0; i < n; i++) {
		CHECK(c[i].off == at);
		CHECK(c[i].len > 0 && c[i].len <= SHARE_CHUNK_MAX + 200);
		/* Every chunk ends at a line end. */
		CHECK(t[c[i].off + c[i].len - 1] == '\n');
		CHECK(share_name_ok(c[i].name));
		memcpy(glued + at, t + c[i].off, c[i].len);
		at += c[i].len;
	}
	CHECK(at == len && memcmp(glued, t, len) == 0);
	/* The same text, the same names. */
	n2 = share_split(t, len, &c2);
	CHECK(n2 == n);
	for (i = 0; i < n && i < n2; i++)
		CHECK(strcmp(c[i].name, c2[i].name) == 0);
	free(c2);
	/* One route fewer near the start: one chunk differs, the rest are
	 * named as before. */
	t2 = state(10000, 17, &len2);
	n2 = share_split(t2, len2, &c2);
	for (same = 0, i = 0; i < n2; i++)
		for (k = 0; k < n; k++)
			if (strcmp(c2[i].name, c[k].name) == 0) {
				same++;
				break;
			}
	CHECKF(same == n2 - 1 && n2 == n, "%zu of %zu chunks kept (%zu)",
	    same, n2, n);
	free(c2);
	free(t2);
	free(glued);
	free(c);
	free(t);
	/* The empty state has no chunks; a text without a last newline
	 * still ends in a chunk. */
	CHECK(share_split("", 0, &c) == 0);
	free(c);
	CHECK(share_split("set retries 2", 13, &c) == 1 && c[0].len == 13);
	/* A chunk's name is the first half of its SHA-256 in hex, whichever
	 * library makes it: routers of other versions name it alike. */
	CHECK(strcmp(c[0].name, "c7fb7bdf7ea679722a7f1aac03ec51a9") == 0);
	free(c);
	/* One very long line is one chunk, never cut inside. */
	len = SHARE_CHUNK_MAX * 2;
	t = xmalloc(len);
	memset(t, 'x', len - 1);
	t[len - 1] = '\n';
	CHECK(share_split(t, len, &c) == 1 && c[0].len == len);
	free(c);
	free(t);
}

static void
test_digest(void)
{
	char d[SHARE_DIGEST_LEN + 1];

	share_digest("abc", 3, d);
	CHECK(strcmp(d, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb4"
	    "10ff61f20015ad") == 0);
	share_digest("", 0, d);
	CHECK(strcmp(d, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca4"
	    "95991b7852b855") == 0);
}

static void
test_head(void)
{
	struct share_head h, back;
	share_name names[2];
	char err[256], *v;

	memset(&h, 0, sizeof(h));
	h.serial = 42;
	share_digest("x", 1, h.digest);
	h.bytes = 9000;
	memset(names[0], 'a', SHARE_NAME_LEN);
	names[0][SHARE_NAME_LEN] = '\0';
	memset(names[1], '7', SHARE_NAME_LEN);
	names[1][SHARE_NAME_LEN] = '\0';
	h.chunks = names;
	h.nchunks = 2;
	snprintf(h.router, sizeof(h.router), "r1-0000abcd");
	h.time_us = 1765000000000000LL;
	h.uid = 1000;
	h.pid = -1;
	snprintf(h.what, sizeof(h.what), "route add '^\xc3\xa9\x01' pool p");
	v = share_head_format(&h);
	CHECK(v != NULL && strstr(v, "\"format\":\"1\"") != NULL);
	CHECKF(share_head_parse(v, strlen(v), &back, err, sizeof(err)) == 0,
	    "%s", err);
	CHECK(back.serial == 42 && back.bytes == 9000 && back.nchunks == 2);
	CHECK(strcmp(back.digest, h.digest) == 0);
	CHECK(strcmp(back.chunks[1], names[1]) == 0);
	CHECK(strcmp(back.router, "r1-0000abcd") == 0);
	CHECK(back.time_us == h.time_us && back.uid == 1000 && back.pid == -1);
	/* Not UTF-8, not printable: '?' in the head. */
	CHECK(strcmp(back.what, "route add '^??\?' pool p") == 0);
	share_head_free(&back);
	free(v);

	/* What is refused, and why. */
	static const struct {
		const char	*val;
		const char	*why;
	} bad[] = {
		{ "", "no format" },
		{ "[]", "no format" },
		{ "{\"format\":\"2\"}", "format 2" },
		{ "{\"format\":\"1\",\"serial\":\"1\",\"bytes\":\"3\",\"digest\":"
		  "\"zz\",\"chunks\":\"\"}", "malformed" },
		{ "{\"format\":\"1\",\"serial\":\"1\",\"bytes\":\"3\",\"digest\":"
		  "\"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f2"
		  "0015ad\",\"chunks\":\"abc\"}", "malformed" },
		{ "{\"format\":\"1\",\"serial\":\"1\",\"bytes\":\"3\",\"digest\":"
		  "\"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f2"
		  "0015ad\",\"chunks\":\"\"}", "malformed" },
		{ "{\"format\":\"1\",\"serial\":\"1\",\"bytes\":\"3\",\"digest\":"
		  "\"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f2"
		  "0015ad\",\"chunks\":\"ba7816bf8f01cfea414140de5dae2223,\"}",
		  "malformed" },
		{ "{\"format\":\"1\",\"serial\":\"-4\",\"bytes\":\"3\"}",
		  "malformed" },
	};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		CHECKF(share_head_parse(bad[i].val, strlen(bad[i].val), &back,
		    err, sizeof(err)) == -1 && strstr(err, bad[i].why) != NULL,
		    "%s: %s", bad[i].val, err);
	}
	/* The empty state: no chunks, no bytes. */
	memset(&h, 0, sizeof(h));
	share_digest("", 0, h.digest);
	v = share_head_format(&h);
	CHECK(share_head_parse(v, strlen(v), &back, err, sizeof(err)) == 0 &&
	    back.nchunks == 0 && back.bytes == 0);
	share_head_free(&back);
	free(v);
}

int
main(void)
{
	test_split();
	test_digest();
	test_head();
	UNIT_DONE("share_fmt");
}

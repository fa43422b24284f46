/*
 * share_fmt: the shared state's chunks and head (see share_fmt.h).
 *
 * SHA-256 comes from libcrypto's EVP (linked for TSIG already), which
 * uses the CPU's SHA instructions where it has them: a change at 10,000
 * routes hashes its whole text twice (its digest, its chunks' names), and
 * ldns's portable code took 1.8 ms for each.  Chunk names are content
 * addresses, so two routers that cut the same text agree on every name,
 * and a name cannot collide by accident.  The head
 * is flat JSON through etcd_json.c, like a router's presence record, so
 * `etcdctl get` shows it readably.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "etcd_json.h"
#include "log.h"
#include "share_fmt.h"
#include "util.h"

#define BOUNDARY_MASK	0xff		/* a chunk is some 256 lines */

#define SHA256_LEN	32

static const char hexd[] = "0123456789abcdef";

static void
sha256(const void *data, size_t len, unsigned char md[SHA256_LEN])
{
	if (EVP_Digest(data, len, md, NULL, EVP_sha256(), NULL) != 1)
		fatalx("SHA-256 failed (libcrypto)");
}

static void
hex(const unsigned char *in, size_t n, char *out)
{
	size_t i;

	for (i = 0; i < n; i++) {
		out[2 * i] = hexd[in[i] >> 4];
		out[2 * i + 1] = hexd[in[i] & 15];
	}
	out[2 * n] = '\0';
}

void
share_digest(const void *data, size_t len, char out[SHARE_DIGEST_LEN + 1])
{
	unsigned char md[SHA256_LEN];

	sha256(data, len, md);
	hex(md, sizeof(md), out);
}

/* FNV-1a of a line, finished so its low bits depend on every byte. */
static uint32_t
line_hash(const char *p, size_t n)
{
	uint32_t h = 2166136261u;
	size_t i;

	for (i = 0; i < n; i++) {
		h ^= (unsigned char)p[i];
		h *= 16777619u;
	}
	h ^= h >> 16;
	h *= 0x85ebca6bu;
	h ^= h >> 13;
	return h;
}

static void
name_chunk(const char *text, struct share_chunk *c)
{
	unsigned char md[SHA256_LEN];

	sha256(text + c->off, c->len, md);
	hex(md, SHARE_NAME_LEN / 2, c->name);
}

size_t
share_split(const char *text, size_t len, struct share_chunk **out)
{
	struct share_chunk *v = NULL;
	size_t n = 0, cap = 0, start = 0, pos = 0, end;
	const char *nl;

	while (pos < len) {
		nl = memchr(text + pos, '\n', len - pos);
		end = nl != NULL ? (size_t)(nl - text) + 1 : len;
		if (end == len || (end - start >= SHARE_CHUNK_MIN &&
		    (line_hash(text + pos, end - pos) & BOUNDARY_MASK) == 0) ||
		    end - start >= SHARE_CHUNK_MAX) {
			if (n == cap) {
				cap = cap ? cap * 2 : 16;
				v = xrealloc(v, cap * sizeof(*v));
			}
			v[n].off = start;
			v[n].len = end - start;
			name_chunk(text, &v[n]);
			n++;
			start = end;
		}
		pos = end;
	}
	*out = v;
	return n;
}

int
share_name_ok(const char *name)
{
	size_t i;

	for (i = 0; i < SHARE_NAME_LEN; i++)
		if (strchr(hexd, name[i]) == NULL || name[i] == '\0')
			return 0;
	return name[SHARE_NAME_LEN] == '\0';
}

/* ---- the head ---- */

enum { H_FORMAT, H_SERIAL, H_DIGEST, H_BYTES, H_CHUNKS, H_ROUTER, H_TIME,
    H_UID, H_PID, H_WHAT, H__COUNT };
static const char *const head_keys[H__COUNT] = {
	"format", "serial", "digest", "bytes", "chunks", "router", "time",
	"uid", "pid", "what"
};

char *
share_head_format(const struct share_head *h)
{
	char num[6][32], what[SHARE_WHAT_MAX], *chunks, *v;
	const char *vals[H__COUNT];
	size_t i;

	snprintf(num[0], sizeof(num[0]), "%d", SHARE_FORMAT);
	snprintf(num[1], sizeof(num[1]), "%lld", (long long)h->serial);
	snprintf(num[2], sizeof(num[2]), "%lld", (long long)h->bytes);
	snprintf(num[3], sizeof(num[3]), "%lld", (long long)h->time_us);
	snprintf(num[4], sizeof(num[4]), "%ld", h->uid);
	snprintf(num[5], sizeof(num[5]), "%ld", h->pid);
	/* JSON strings are UTF-8; what is the operator's command, any bytes. */
	snprintf(what, sizeof(what), "%s", h->what);
	for (i = 0; what[i] != '\0'; i++)
		if ((unsigned char)what[i] < ' ' || (unsigned char)what[i] > '~')
			what[i] = '?';
	chunks = xmalloc(h->nchunks * (SHARE_NAME_LEN + 1) + 1);
	chunks[0] = '\0';
	for (i = 0; i < h->nchunks; i++) {
		memcpy(chunks + i * (SHARE_NAME_LEN + 1), h->chunks[i],
		    SHARE_NAME_LEN);
		chunks[i * (SHARE_NAME_LEN + 1) + SHARE_NAME_LEN] =
		    i + 1 < h->nchunks ? ',' : '\0';
	}
	vals[H_FORMAT] = num[0];
	vals[H_SERIAL] = num[1];
	vals[H_DIGEST] = h->digest;
	vals[H_BYTES] = num[2];
	vals[H_CHUNKS] = chunks;
	vals[H_ROUTER] = h->router;
	vals[H_TIME] = num[3];
	vals[H_UID] = num[4];
	vals[H_PID] = num[5];
	vals[H_WHAT] = what;
	v = etcd_json_flat(head_keys, vals, H__COUNT);
	free(chunks);
	return v;
}

static int
num_field(const char *val, size_t len, const char *key, long long min,
    long long max, long long *out)
{
	char buf[32], *end;

	if (etcd_json_flat_get(val, len, key, buf, sizeof(buf)) != 0)
		return -1;
	*out = strtoll(buf, &end, 10);
	return buf[0] != '\0' && *end == '\0' && *out >= min && *out <= max ?
	    0 : -1;
}

static int
hexword(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (s[i] == '\0' || strchr(hexd, s[i]) == NULL)
			return 0;
	return s[n] == '\0';
}

int
share_head_parse(const char *val, size_t len, struct share_head *h,
    char *err, size_t errlen)
{
	long long n;
	char *list = NULL, *p;
	size_t i, max;

	memset(h, 0, sizeof(*h));
	if (num_field(val, len, "format", 0, 1000000, &n) == -1) {
		snprintf(err, errlen, "not a head: no format");
		return -1;
	}
	if (n != SHARE_FORMAT) {
		snprintf(err, errlen, "format %lld: written by another "
		    "dnsrouted version (this one reads %d)", n, SHARE_FORMAT);
		return -1;
	}
	if (num_field(val, len, "serial", 0, INT64_MAX, &n) == -1)
		goto bad;
	h->serial = n;
	if (num_field(val, len, "bytes", 0, SHARE_TEXT_MAX, &n) == -1)
		goto bad;
	h->bytes = n;
	if (num_field(val, len, "time", 0, INT64_MAX, &n) == 0)
		h->time_us = n;
	if (num_field(val, len, "uid", -1, 0x7fffffff, &n) == 0)
		h->uid = (long)n;
	if (num_field(val, len, "pid", -1, 0x7fffffff, &n) == 0)
		h->pid = (long)n;
	if (etcd_json_flat_get(val, len, "digest", h->digest,
	    sizeof(h->digest)) != 0 || !hexword(h->digest, SHARE_DIGEST_LEN))
		goto bad;
	(void)etcd_json_flat_get(val, len, "router", h->router,
	    sizeof(h->router));
	(void)etcd_json_flat_get(val, len, "what", h->what, sizeof(h->what));
	/* The list: names and commas, at most one chunk a byte of text. */
	max = (size_t)h->bytes * (SHARE_NAME_LEN + 1) + 2;
	if (max > len + 2)
		max = len + 2;
	list = xmalloc(max);
	if (etcd_json_flat_get(val, len, "chunks", list, max) != 0)
		goto bad;
	for (p = list; *p != '\0'; p += SHARE_NAME_LEN + (p[SHARE_NAME_LEN] ==
	    ',')) {
		if (strlen(p) < SHARE_NAME_LEN || (p[SHARE_NAME_LEN] != ',' &&
		    p[SHARE_NAME_LEN] != '\0') ||
		    (p[SHARE_NAME_LEN] == ',' && p[SHARE_NAME_LEN + 1] == '\0'))
			goto bad;
		h->chunks = xrealloc(h->chunks, (h->nchunks + 1) *
		    sizeof(*h->chunks));
		memcpy(h->chunks[h->nchunks], p, SHARE_NAME_LEN);
		h->chunks[h->nchunks][SHARE_NAME_LEN] = '\0';
		for (i = 0; i < SHARE_NAME_LEN; i++)
			if (strchr(hexd, p[i]) == NULL)
				goto bad;
		h->nchunks++;
	}
	if ((h->nchunks == 0) != (h->bytes == 0) ||
	    h->nchunks > (size_t)h->bytes)
		goto bad;
	free(list);
	return 0;
bad:
	free(list);
	share_head_free(h);
	snprintf(err, errlen, "not a head: a field is missing or malformed");
	return -1;
}

void
share_head_free(struct share_head *h)
{
	free(h->chunks);
	h->chunks = NULL;
	h->nchunks = 0;
}

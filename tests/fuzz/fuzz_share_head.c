// FUZZ-BUILD: daemon/share_fmt.c daemon/etcd_json.c common/b64.c common/log.c common/util.c -Idaemon $(pkg-config --cflags --libs jansson libevent libcrypto)
/*
 * fuzz_share_head: the head of a fleet's state as etcd holds it (anyone
 * who can write to etcd can write it), and the cutting of a state's text
 * into chunks.  The input is a head's value, and also a text to cut.
 * Beyond not crashing or leaking: an accepted head has well-formed chunk
 * names and no more chunks than bytes, and prints back to a head that
 * parses to the same; a refused one says why; the chunks of a text make
 * the text again, each ending at a line end or at the text's end.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "share_fmt.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
head(const char *v, size_t n)
{
	struct share_head h, back;
	char err[256], *again;
	size_t i;

	err[0] = '\0';
	if (share_head_parse(v, n, &h, err, sizeof(err)) == -1) {
		if (err[0] == '\0')
			abort();
		return;
	}
	if (h.nchunks > (size_t)h.bytes || (h.nchunks == 0) != (h.bytes == 0))
		abort();
	for (i = 0; i < h.nchunks; i++)
		if (!share_name_ok(h.chunks[i]))
			abort();
	again = share_head_format(&h);
	if (share_head_parse(again, strlen(again), &back, err,
	    sizeof(err)) == -1 || back.nchunks != h.nchunks ||
	    back.bytes != h.bytes || back.serial != h.serial ||
	    strcmp(back.digest, h.digest) != 0 ||
	    (h.nchunks > 0 && memcmp(back.chunks, h.chunks, h.nchunks *
	    sizeof(*h.chunks)) != 0))
		abort();
	share_head_free(&back);
	share_head_free(&h);
	free(again);
}

static void
cut(const char *t, size_t n)
{
	struct share_chunk *c;
	size_t k, i, at = 0;

	k = share_split(t, n, &c);
	for (i = 0; i < k; i++) {
		if (c[i].off != at || c[i].len == 0 ||
		    !share_name_ok(c[i].name))
			abort();
		at += c[i].len;
		if (at < n && t[at - 1] != '\n')
			abort();
	}
	if (at != n)
		abort();
	free(c);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	head((const char *)data, size);
	cut((const char *)data, size);
	return 0;
}

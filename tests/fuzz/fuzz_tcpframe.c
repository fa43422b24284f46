/*
 * fuzz_tcpframe: libFuzzer target for the TCP framing of client queries
 * and backend answers (dns_tcp_next() in dnsmsg.h, which both readers of
 * the daemon use).  The input is a byte stream of pipelined frames plus
 * the places where the network cuts it:
 *
 *	input = N, then N cut lengths (one byte each, 1-256), then the stream
 *
 * The stream arrives in those pieces (the rest in one last piece) and is
 * read as worker.c reads a connection: append what arrived, take every
 * complete frame from the linear bytes, drop what was taken, wait for
 * more.  However the stream is cut, the messages taken must be exactly the
 * ones a plain reading of the whole stream finds (same count, lengths and
 * bytes), in order, and what is left over must be the same unfinished
 * tail.  The sanitizers catch any read past what arrived: the linear
 * buffer is a heap block of exactly the bytes held.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dnsmsg.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define MAX_MSGS	4096

static void
fail(const char *what, size_t size)
{
	fprintf(stderr, "fuzz_tcpframe: %s (input of %zu bytes)\n", what, size);
	abort();
}

/*
 * The frames of the whole stream, written apart from dns_tcp_next on
 * purpose: starts and lengths of the complete frames; returns how many,
 * and sets *used to the bytes they take.
 */
static size_t
reference(const uint8_t *s, size_t n, size_t *start, size_t *len,
    size_t *used)
{
	size_t pos = 0, k = 0, l;

	while (k < MAX_MSGS && n - pos >= 2) {
		l = (size_t)s[pos] * 256 + s[pos + 1];
		if (l > n - pos - 2)
			break;
		start[k] = pos + 2;
		len[k] = l;
		k++;
		pos += 2 + l;
	}
	*used = pos;
	return k;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static size_t rstart[MAX_MSGS], rlen[MAX_MSGS];
	const uint8_t *stream;
	uint8_t *held = NULL, *grown;
	size_t ncuts, slen, nref, used, have = 0, fed = 0, got = 0, piece, off,
	    i = 0;
	long l;

	if (size < 1)
		return 0;
	ncuts = data[0] % 16;
	if (size < 1 + ncuts)
		return 0;
	stream = data + 1 + ncuts;
	slen = size - 1 - ncuts;
	nref = reference(stream, slen, rstart, rlen, &used);

	while (fed < slen) {
		piece = i < ncuts ? (size_t)data[1 + i] + 1 : slen - fed;
		i++;
		if (piece > slen - fed)
			piece = slen - fed;
		/* What the connection holds: exactly its bytes, no slack. */
		if ((grown = malloc(have + piece)) == NULL)
			abort();
		if (have > 0)
			memcpy(grown, held, have);
		memcpy(grown + have, stream + fed, piece);
		free(held);
		held = grown;
		have += piece;
		fed += piece;

		for (off = 0; got < MAX_MSGS &&
		    (l = dns_tcp_next(held, have, off)) >= 0;
		    off += 2 + (size_t)l) {
			if (got >= nref)
				fail("a frame the whole stream does not have",
				    size);
			if ((size_t)l != rlen[got] ||
			    memcmp(held + off + 2, stream + rstart[got],
			    (size_t)l) != 0)
				fail("a frame differs from the whole stream's",
				    size);
			got++;
		}
		if (off > have)
			fail("consumed more than arrived", size);
		/* Drain what was taken; keep the unfinished tail. */
		memmove(held, held + off, have - off);
		have -= off;
	}
	if (got != nref)
		fail("frames missed", size);
	if (have != slen - used || (have > 0 &&
	    memcmp(held, stream + used, have) != 0))
		fail("the unfinished tail differs", size);
	free(held);
	return 0;
}

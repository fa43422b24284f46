// FUZZ-BUILD: daemon/route_index.c common/util.c common/log.c -Idaemon $(pkg-config --cflags --libs libpcre2-8) -lpthread
/*
 * fuzz_route_lite: the prefilter's lite matcher against PCRE2.  Input: a
 * byte choosing the match limit, a pattern, a newline, a name (any bytes).
 * Whenever the lite matcher takes a pattern, PCRE2 must compile it, and
 * whenever it decides a name, PCRE2 (interpreted and JIT) must give the
 * same answer under that limit, not hitting it.  Through the prefilter
 * too, for names without a newline (a query's name has none): a route it
 * leaves out must not match, one it marks sure must match.
 */
#define PCRE2_CODE_UNIT_WIDTH 8

#include <pcre2.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../unit/pcre_oracle.h"
#include "route_index.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint32_t limits[] = { 100, 250, 1000, 10000 };
	const uint8_t *nl;
	char *pat, *name;
	uint8_t prog[256];
	uint32_t limit, newline = 0;
	pcre2_code *code;
	PCRE2_SIZE off;
	size_t plen, n;
	int ec, lite, jit, cand[4], k;
	struct route_index *ix;

	if (pcre2_config(PCRE2_CONFIG_NEWLINE, &newline) < 0 ||
	    newline != PCRE2_NEWLINE_LF || size < 2 ||
	    (nl = memchr(data + 1, '\n', size - 1)) == NULL)
		return 0;
	limit = limits[data[0] & 3];
	plen = (size_t)(nl - data - 1);
	n = size - plen - 2;
	pat = malloc(plen + 1);
	memcpy(pat, data + 1, plen);
	pat[plen] = '\0';
	name = malloc(n + 1);
	memcpy(name, nl + 1, n);
	name[n] = '\0';
	if (strlen(pat) != plen ||
	    route_index_lite_compile(pat, prog, sizeof(prog)) == 0) {
		free(pat);
		free(name);
		return 0;
	}
	code = pcre2_compile((PCRE2_SPTR)pat, PCRE2_ZERO_TERMINATED, 0, &ec,
	    &off, NULL);
	if (code == NULL)
		abort();	/* taken, but not a pattern */
	jit = pcre2_jit_compile(code, PCRE2_JIT_COMPLETE) == 0;
	lite = route_index_lite_match(prog, name, n, limit);
	if (lite != -1 && (lite != pcre_says(code, name, n, limit,
	    PCRE2_NO_JIT) || (jit && lite != pcre_says(code, name, n, limit,
	    0))))
		abort();
	if (memchr(name, '\n', n) == NULL) {
		ix = route_index_build((const char *const *)&pat, 1, 1);
		k = route_index_candidates(ix, name, n, limit, cand, 4);
		if (k < 0 || k > 1)
			abort();
		/* Left out: no match (the prefilter leaves out a route
		 * whose literal the name lacks even where PCRE2 would
		 * have stopped at its limit: a non-match too). */
		if (k == 0 &&
		    pcre_says(code, name, n, limit, PCRE2_NO_JIT) == 1)
			abort();
		if (k == 1 && (cand[0] & ROUTE_INDEX_SURE) &&
		    pcre_says(code, name, n, limit, PCRE2_NO_JIT) != 1)
			abort();
		route_index_free(ix);
	}
	pcre2_code_free(code);
	free(pat);
	free(name);
	return 0;
}

/*
 * pcre_says: PCRE2's own answer for a pattern and a name, the oracle the
 * lite matcher (route_index.c) is checked against in test_route and
 * fuzz_route_lite.  Asked as route.c asks it: the same match and depth
 * limit; opts is 0 (JIT when compiled) or PCRE2_NO_JIT.
 */
#ifndef PCRE_ORACLE_H
#define PCRE_ORACLE_H

#ifndef PCRE2_CODE_UNIT_WIDTH
#define PCRE2_CODE_UNIT_WIDTH 8
#endif
#include <pcre2.h>
#include <stddef.h>
#include <stdint.h>

/* 1, 0, or -1 when limited (or any other error). */
static inline int
pcre_says(pcre2_code *code, const char *s, size_t n, uint32_t limit,
    uint32_t opts)
{
	pcre2_match_data *md = pcre2_match_data_create(1, NULL);
	pcre2_match_context *mc = pcre2_match_context_create(NULL);
	int r;

	pcre2_set_match_limit(mc, limit);
	pcre2_set_depth_limit(mc, limit);
	r = pcre2_match(code, (PCRE2_SPTR)s, n, 0, opts, md, mc);
	pcre2_match_data_free(md);
	pcre2_match_context_free(mc);
	return r >= 0 ? 1 : r == PCRE2_ERROR_NOMATCH ? 0 : -1;
}

#endif

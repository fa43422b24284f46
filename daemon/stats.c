/*
 * stats: counter names and summing (see stats.h).
 */
#include <stddef.h>

#include "stats.h"

const struct stat_desc stat_descs[] = {
#define X(f, n, h) { n, h, offsetof(struct stats, f) },
	STATS_FIELDS(X)
#undef X
};
const int stat_ndescs = sizeof(stat_descs) / sizeof(stat_descs[0]);

#define RC(f)	offsetof(struct stats, f)
const uint16_t stats_rcode_off[16] = {
	RC(rcode_noerror), RC(rcode_formerr), RC(rcode_servfail),
	RC(rcode_nxdomain), RC(rcode_other), RC(rcode_refused),
	RC(rcode_other), RC(rcode_other), RC(rcode_other), RC(rcode_other),
	RC(rcode_other), RC(rcode_other), RC(rcode_other), RC(rcode_other),
	RC(rcode_other), RC(rcode_other),
};
#undef RC

void
stats_sum(const struct stats *src, uint64_t *out)
{
	int i;

	for (i = 0; i < stat_ndescs; i++)
		out[i] += atomic_load_explicit((const atomic_ulong *)
		    ((const char *)src + stat_descs[i].off), memory_order_relaxed);
}

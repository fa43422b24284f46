/*
 * stats: counter names and summing (see stats.h).
 */
#include <stddef.h>

#include "dnsmsg.h"
#include "stats.h"

const struct stat_desc stat_descs[] = {
#define X(f, n, h) { n, h, offsetof(struct stats, f) },
	STATS_FIELDS(X)
#undef X
};
const int stat_ndescs = sizeof(stat_descs) / sizeof(stat_descs[0]);

void
stats_sum(const struct stats *src, uint64_t *out)
{
	int i;

	for (i = 0; i < stat_ndescs; i++)
		out[i] += atomic_load_explicit((const atomic_ulong *)
		    ((const char *)src + stat_descs[i].off), memory_order_relaxed);
}

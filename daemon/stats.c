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

void
stats_count_rcode(struct stats *s, int rcode)
{
	switch (rcode) {
	case DNS_RCODE_NOERROR:
		STAT_INC(s, rcode_noerror);
		break;
	case DNS_RCODE_NXDOMAIN:
		STAT_INC(s, rcode_nxdomain);
		break;
	case DNS_RCODE_SERVFAIL:
		STAT_INC(s, rcode_servfail);
		break;
	case DNS_RCODE_REFUSED:
		STAT_INC(s, rcode_refused);
		break;
	case DNS_RCODE_FORMERR:
		STAT_INC(s, rcode_formerr);
		break;
	default:
		STAT_INC(s, rcode_other);
		break;
	}
}

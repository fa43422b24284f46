/*
 * metrics: not written yet (see metrics.h).
 */
#include <stdio.h>

#include "metrics.h"

struct metrics *
metrics_new(struct event_base *base, const char *addr, char *err, size_t errlen)
{
	(void)base;
	(void)addr;
	snprintf(err, errlen, "the metrics endpoint is not implemented yet");
	return NULL;
}

void
metrics_free(struct metrics *m)
{
	(void)m;
}

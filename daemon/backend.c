/*
 * backend: creation, references and latency figures of struct backend.
 * Workers only ever touch the atomics; the main thread creates and
 * releases.  The last reference may be dropped by any thread.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "util.h"

struct backend *
backend_new(int64_t id, const char *name, const struct backend_conf *conf,
    int admin, char *err, size_t errlen)
{
	struct backend *b;

	b = xcalloc(1, sizeof(*b));
	if (addr_parse(conf->addr, 53, &b->addr, &b->addrlen, err,
	    errlen) == -1) {
		free(b);
		return NULL;
	}
	atomic_init(&b->refcnt, 1);
	b->id = id;
	snprintf(b->name, sizeof(b->name), "%s", name);
	addr_fmt((struct sockaddr *)&b->addr, b->addr_text, sizeof(b->addr_text));
	b->transport = conf->transport;
	b->conf = *conf;
	atomic_init(&b->admin, admin);
	atomic_init(&b->health, HEALTH_UNKNOWN);
	atomic_init(&b->weight, conf->weight);
	atomic_init(&b->client_addr, conf->client_addr);
	return b;
}

void
backend_ref(struct backend *b)
{
	atomic_fetch_add_explicit(&b->refcnt, 1, memory_order_relaxed);
}

void
backend_unref(struct backend *b)
{
	if (b != NULL && atomic_fetch_sub(&b->refcnt, 1) == 1) {
		free(b->origin);
		free(b);
	}
}

/* Bucket i holds round trips up to lat_bucket_bound(i) µs: 16, 32, ...
 * doubling, so 24 buckets reach past 2 minutes. */
unsigned
lat_bucket_bound(int i)
{
	return 16u << i;
}

long
backend_percentile(const struct backend *b, double p)
{
	unsigned long total = 0, acc = 0, c[LAT_BUCKETS];
	int i;

	for (i = 0; i < LAT_BUCKETS; i++) {
		c[i] = backend_wsum(b, offsetof(struct backend_wcount,
		    lat_hist) + (size_t)i * sizeof(atomic_ulong));
		total += c[i];
	}
	if (total == 0)
		return -1;
	for (i = 0; i < LAT_BUCKETS; i++) {
		acc += c[i];
		if ((double)acc >= total * p / 100.0)
			return lat_bucket_bound(i);
	}
	return lat_bucket_bound(LAT_BUCKETS - 1);
}

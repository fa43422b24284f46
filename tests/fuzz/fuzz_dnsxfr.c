// FUZZ-BUILD: common/dnsxfr.c common/dnsmsg.c common/dnsnames.c common/util.c common/log.c
/*
 * fuzz_dnsxfr: libFuzzer target for where a zone transfer ends
 * (dns_xfr_feed, which xfr.c runs on every message a backend sends in a
 * transfer).  The input is one byte choosing AXFR (even) or IXFR (odd),
 * then the backend's TCP stream: length-framed messages.  Each message is
 * fed in a heap block of exactly its length (the sanitizers catch a read
 * past it) until the feed says last (1) or not part of the transfer (-1),
 * as xfr.c stops there; it must never say anything else, never count more
 * SOAs than records, and a message that ends the transfer must have an
 * error rcode or hold at least one SOA record of it.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dnsmsg.h"
#include "dnsxfr.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dns_xfr x;
	size_t off = 0;
	uint8_t *m;
	long l;
	int r = 0;

	if (size < 1)
		return 0;
	dns_xfr_init(&x, data[0] & 1 ? DNS_TYPE_IXFR : DNS_TYPE_AXFR);
	data++;
	size--;
	while (r == 0 && (l = dns_tcp_next(data, size, off)) >= 0) {
		m = malloc(l > 0 ? (size_t)l : 1);
		memcpy(m, data + off + 2, (size_t)l);
		off += 2 + (size_t)l;
		r = dns_xfr_feed(&x, m, (size_t)l);
		if (r < -1 || r > 1 || x.nsoa > x.nrr ||
		    (r == 1 && (m[3] & 0x0f) == 0 && x.nsoa == 0)) {
			fprintf(stderr, "dns_xfr_feed: %d, %u SOA of %u "
			    "records\n", r, x.nsoa, x.nrr);
			abort();
		}
		free(m);
	}
	return 0;
}

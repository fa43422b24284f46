/*
 * dnsxfr: where a zone transfer's answer ends (see dnsxfr.h).
 *
 * AXFR: the first record is the zone's SOA, the last the same SOA again:
 * the transfer ends with the second SOA.  IXFR: the first record is the
 * SOA the client gets (serial S).  A lone SOA is the whole answer (the
 * client is up to date, or must ask again over AXFR).  A second record
 * that is no SOA means the server sends the whole zone, AXFR style: the
 * end is the second SOA.  Else the answer is differences, each an old SOA,
 * the records deleted, a new SOA, the records added; every second SOA
 * after the first starts a difference, and the one with serial S closes
 * the answer instead (no difference starts from the newest version).
 */
#include <string.h>

#include "dnsmsg.h"
#include "dnsxfr.h"

#define TYPE_SOA	6

void
dns_xfr_init(struct dns_xfr *x, uint16_t qtype)
{
	memset(x, 0, sizeof(*x));
	x->qtype = qtype;
}

/* The serial of the SOA whose rdata is msg[off, off + rdlen); -1 when it
 * does not hold one. */
static int
soa_serial(const uint8_t *msg, size_t off, size_t rdlen, uint32_t *serial)
{
	size_t end = off + rdlen;

	/* MNAME and RNAME, then serial, refresh, retry, expire, minimum. */
	if (dns_name_skip(msg, end, &off) == -1 ||
	    dns_name_skip(msg, end, &off) == -1 || end - off != 20)
		return -1;
	*serial = (uint32_t)msg[off] << 24 | (uint32_t)msg[off + 1] << 16 |
	    (uint32_t)msg[off + 2] << 8 | msg[off + 3];
	return 0;
}

/* One more answer record, an SOA with serial or not: 1 when it ends the
 * transfer. */
static int
record(struct dns_xfr *x, int soa, uint32_t serial)
{
	x->nrr++;
	if (!soa)
		return 0;
	x->nsoa++;
	if (x->nsoa == 1) {
		x->serial = serial;
		return 0;
	}
	if (x->qtype == DNS_TYPE_AXFR || !x->incremental)
		return x->nsoa == 2;
	/* Differences: SOA 2, 4, 6... open one, unless it is the newest. */
	return x->nsoa % 2 == 0 && serial == x->serial;
}

int
dns_xfr_feed(struct dns_xfr *x, const uint8_t *msg, size_t len)
{
	size_t off = DNS_HDR_LEN, rdlen;
	unsigned qd, an, i;
	uint32_t serial = 0;
	int type, done = 0;

	if (len < DNS_HDR_LEN || !(msg[2] & 0x80))
		return -1;
	if ((msg[3] & 0x0f) != DNS_RCODE_NOERROR)
		return 1;
	qd = (unsigned)(msg[4] << 8 | msg[5]);
	an = (unsigned)(msg[6] << 8 | msg[7]);
	for (i = 0; i < qd; i++) {
		if (dns_name_skip(msg, len, &off) == -1 || len - off < 4)
			return -1;
		off += 4;
	}
	for (i = 0; i < an; i++) {
		if (done)
			return -1;	/* records after the last SOA */
		if (dns_name_skip(msg, len, &off) == -1 || len - off < 10)
			return -1;
		type = msg[off] << 8 | msg[off + 1];
		rdlen = (size_t)(msg[off + 8] << 8 | msg[off + 9]);
		off += 10;
		if (len - off < rdlen)
			return -1;
		if (type == TYPE_SOA &&
		    soa_serial(msg, off, rdlen, &serial) == -1)
			return -1;
		if (x->nrr == 0 && type != TYPE_SOA)
			return -1;
		if (x->qtype == DNS_TYPE_IXFR && x->nrr == 1 &&
		    type == TYPE_SOA)
			x->incremental = 1;
		done = record(x, type == TYPE_SOA, serial);
		off += rdlen;
	}
	/* IXFR: a lone SOA is the whole answer. */
	if (x->qtype == DNS_TYPE_IXFR && x->nrr == 1)
		return 1;
	return done;
}

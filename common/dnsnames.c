/*
 * dnsnames: DNS type, class and rcode names (see dnsnames.h).  The type
 * names are the ones ldns knows, so nothing the store holds from an older
 * version prints differently.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "dnsnames.h"
#include "util.h"

struct name {
	const char	*name;
	int		 num;
};

static const struct name types[] = {
	{ "A", 1 }, { "NS", 2 }, { "MD", 3 }, { "MF", 4 }, { "CNAME", 5 },
	{ "SOA", 6 }, { "MB", 7 }, { "MG", 8 }, { "MR", 9 }, { "NULL", 10 },
	{ "WKS", 11 }, { "PTR", 12 }, { "HINFO", 13 }, { "MINFO", 14 },
	{ "MX", 15 }, { "TXT", 16 }, { "RP", 17 }, { "AFSDB", 18 },
	{ "X25", 19 }, { "ISDN", 20 }, { "RT", 21 }, { "NSAP", 22 },
	{ "NSAP-PTR", 23 }, { "SIG", 24 }, { "KEY", 25 }, { "PX", 26 },
	{ "GPOS", 27 }, { "AAAA", 28 }, { "LOC", 29 }, { "NXT", 30 },
	{ "EID", 31 }, { "NIMLOC", 32 }, { "SRV", 33 }, { "ATMA", 34 },
	{ "NAPTR", 35 }, { "KX", 36 }, { "CERT", 37 }, { "A6", 38 },
	{ "DNAME", 39 }, { "SINK", 40 }, { "OPT", 41 }, { "APL", 42 },
	{ "DS", 43 }, { "SSHFP", 44 }, { "IPSECKEY", 45 }, { "RRSIG", 46 },
	{ "NSEC", 47 }, { "DNSKEY", 48 }, { "DHCID", 49 }, { "NSEC3", 50 },
	{ "NSEC3PARAM", 51 }, { "TLSA", 52 }, { "SMIMEA", 53 }, { "HIP", 55 },
	{ "TALINK", 58 }, { "CDS", 59 }, { "CDNSKEY", 60 },
	{ "OPENPGPKEY", 61 }, { "CSYNC", 62 }, { "ZONEMD", 63 },
	{ "SVCB", 64 }, { "HTTPS", 65 }, { "SPF", 99 }, { "NID", 104 },
	{ "L32", 105 }, { "L64", 106 }, { "LP", 107 }, { "EUI48", 108 },
	{ "EUI64", 109 }, { "TKEY", 249 }, { "TSIG", 250 }, { "IXFR", 251 },
	{ "AXFR", 252 }, { "MAILB", 253 }, { "MAILA", 254 }, { "ANY", 255 },
	{ "URI", 256 }, { "CAA", 257 }, { "DLV", 32769 },
};

static const struct name classes[] = {
	{ "IN", 1 }, { "CH", 3 }, { "HS", 4 }, { "NONE", 254 }, { "ANY", 255 },
};

static const struct name rcodes[] = {
	{ "NOERROR", 0 }, { "FORMERR", 1 }, { "SERVFAIL", 2 },
	{ "NXDOMAIN", 3 }, { "NOTIMP", 4 }, { "REFUSED", 5 },
	{ "YXDOMAIN", 6 }, { "YXRRSET", 7 }, { "NXRRSET", 8 },
	{ "NOTAUTH", 9 }, { "NOTZONE", 10 },
};

static int
lookup(const struct name *t, size_t n, const char *prefix, long max,
    const char *s, int *out)
{
	size_t i, pl = strlen(prefix);
	long v;

	for (i = 0; i < n; i++)
		if (strcasecmp(s, t[i].name) == 0) {
			*out = t[i].num;
			return 0;
		}
	if (strncasecmp(s, prefix, pl) == 0)
		s += pl;
	if (parse_int(s, 0, max, &v) == -1)
		return -1;
	*out = (int)v;
	return 0;
}

static const char *
name_of(const struct name *t, size_t n, const char *prefix, int num,
    char *buf, size_t len)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (t[i].num == num)
			return t[i].name;
	snprintf(buf, len, "%s%d", prefix, num);
	return buf;
}

int
dnsname_type_parse(const char *s, int *out)
{
	/* Type 0 is reserved: never a query type. */
	return lookup(types, NELEMS(types), "TYPE", 65535, s, out) == -1 ||
	    *out == 0 ? -1 : 0;
}

const char *
dnsname_type_str(int t, char *buf, size_t len)
{
	return name_of(types, NELEMS(types), "TYPE", t, buf, len);
}

int
dnsname_class_parse(const char *s, int *out)
{
	return lookup(classes, NELEMS(classes), "CLASS", 65535, s, out);
}

const char *
dnsname_class_str(int c, char *buf, size_t len)
{
	return name_of(classes, NELEMS(classes), "CLASS", c, buf, len);
}

int
dnsname_rcode_parse(const char *s, int *out)
{
	/* NOTIMPL is how ldns (and exports before 0.2) spelled NOTIMP. */
	if (strcasecmp(s, "NOTIMPL") == 0)
		s = "NOTIMP";
	return lookup(rcodes, NELEMS(rcodes), "RCODE", 15, s, out);
}

const char *
dnsname_rcode_str(int r, char *buf, size_t len)
{
	return name_of(rcodes, NELEMS(rcodes), "RCODE", r, buf, len);
}

const char *
dnsname_nth(enum dnsname_table t, size_t i)
{
	switch (t) {
	case DNSNAME_TYPES:
		return i < NELEMS(types) ? types[i].name : NULL;
	case DNSNAME_CLASSES:
		return i < NELEMS(classes) ? classes[i].name : NULL;
	default:
		return i < NELEMS(rcodes) ? rcodes[i].name : NULL;
	}
}

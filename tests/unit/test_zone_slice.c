/*
 * test_zone_slice: the slicing rules on small zones, with a fake router
 * (the first character of the first label picks the pool), each slice
 * compared record by record with what it must hold: unsigned zones in both
 * modes (delegations, glue, wildcards, empty non-terminals, qtype routes,
 * names without a pool), NSEC (the chain makes every name exist
 * everywhere: no copies) and NSEC3 (every name exists in every slice unless
 * assume subtree).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util.h"
#include "zone.h"
#include "unit.h"

#define MAXREC	64

struct out {
	struct zslicer	*zs;
	char		*rec[ZS_MAX_SLICES][MAXREC];
	int		 n[ZS_MAX_SLICES];
	char		 findings[1024];
	int		 probes;
};

static struct out o;

/* The fake router: example. and a-h to p1, i-q to p2, r-z and '*' to p3,
 * a digit to no route, x to a route that refuses; names starting with m
 * send MX to p3. */
static int
fake_lookup(void *arg, const char *name, uint32_t tag)
{
	struct zs_route r[2];
	int n = 1;
	char c = name[0];

	(void)arg;
	memset(r, 0, sizeof(r));
	r[0].route = 1;
	r[0].action = "pool";
	if (strcmp(name, "example.") == 0 || (c >= 'a' && c <= 'h'))
		r[0].pool = "p1";
	else if (c >= 'i' && c <= 'q')
		r[0].pool = "p2";
	else if ((c >= 'r' && c <= 'z' && c != 'x') || c == '*')
		r[0].pool = "p3";
	else if (c == 'x') {
		r[0].route = 9;
		r[0].action = "refuse";
	} else {
		r[0].route = -1;
		r[0].action = "servfail (default)";
	}
	r[0].members = r[0].pool;
	if (c == 'm') {
		r[1] = r[0];
		r[1].qtype = LDNS_RR_TYPE_MX;
		r[1].pool = r[1].members = "p3";
		n = 2;
	}
	zs_result(o.zs, tag, name, r, n);
	return 0;
}

static void
fake_finding(void *arg, const struct zs_finding *f)
{
	size_t l = strlen(o.findings);

	(void)arg;
	snprintf(o.findings + l, sizeof(o.findings) - l, "%s%s %s",
	    l ? ", " : "", f->name ? f->name : f->pool, f->problem);
}

/* "owner TYPE rdata", without TTL and class. */
static int
fake_write(void *arg, int slice, const ldns_rr *rr)
{
	char *s = ldns_rr2str(rr), *f[5], *p = s, buf[512];
	int i;

	(void)arg;
	for (i = 0; i < 5; i++) {
		f[i] = p;
		if (i < 4 && (p = strchr(p, '\t')) != NULL)
			*p++ = '\0';
		if (p == NULL)
			break;
	}
	f[4][strcspn(f[4], "\n")] = '\0';
	snprintf(buf, sizeof(buf), "%s %s %s", f[0], f[3], f[4]);
	/* ldns ends some rdata with a blank or a comment. */
	if ((p = strstr(buf, " ;")) != NULL)
		*p = '\0';
	while (buf[strlen(buf) - 1] == ' ')
		buf[strlen(buf) - 1] = '\0';
	while ((p = strstr(buf, "  ")) != NULL)
		memmove(p, p + 1, strlen(p));
	if (o.n[slice] < MAXREC)
		o.rec[slice][o.n[slice]++] = xstrdup(buf);
	free(s);
	return 0;
}

static int
fake_probe(void *arg, const struct zs_probe *p)
{
	(void)arg;
	(void)p;
	o.probes++;
	return 0;
}

static void
reset(void)
{
	int i, k;

	for (i = 0; i < ZS_MAX_SLICES; i++) {
		for (k = 0; k < o.n[i]; k++)
			free(o.rec[i][k]);
		o.n[i] = 0;
	}
	zs_free(o.zs);
	memset(&o, 0, sizeof(o));
}

static void
slice_zone(const char *text, int subtree)
{
	struct zs_ops ops = { fake_lookup, NULL, fake_finding, fake_write,
	    fake_probe, NULL };
	char path[] = "/tmp/test_zone_slice.XXXXXX", err[512];
	struct zread *zr;
	ldns_rr *rr;
	int fd, r;
	FILE *fp;

	reset();
	if ((fd = mkstemp(path)) == -1 || (fp = fdopen(fd, "w")) == NULL) {
		CHECK(0);
		return;
	}
	fputs(text, fp);
	fclose(fp);
	o.zs = zs_new(&ops, subtree);
	zr = zread_open(path, NULL, err, sizeof(err));
	CHECK(zr != NULL);
	while ((r = zread_next(zr, &rr, err, sizeof(err))) == 1) {
		CHECKF(zs_scan(o.zs, rr, "t", err, sizeof(err)) == 0, "%s", err);
		ldns_rr_free(rr);
	}
	CHECKF(r == 0, "%s", err);
	CHECKF(zs_scan_end(o.zs, err, sizeof(err)) == 0, "%s", err);
	CHECKF(zs_plan(o.zs, err, sizeof(err)) == 0, "%s", err);
	CHECK(zread_rewind(zr, err, sizeof(err)) == 0);
	CHECK(zs_begin_slices(o.zs) == 0);
	while ((r = zread_next(zr, &rr, err, sizeof(err))) == 1)
		CHECKF(zs_write(o.zs, rr, err, sizeof(err)) == 0, "%s", err);
	CHECKF(zs_write_end(o.zs, err, sizeof(err)) == 0, "%s", err);
	zread_close(zr);
	unlink(path);
}

static int
cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The slice of pool holds exactly want (NULL-terminated), SOA first. */
static void
expect(const char *pool, const char *const *want)
{
	const char *sorted[MAXREC];
	int i, s = -1, n = 0, ok;

	for (i = 0; i < zs_nslices(o.zs); i++)
		if (strcmp(zs_slice(o.zs, i)->pool, pool) == 0)
			s = i;
	CHECKF(s >= 0, "no slice %s", pool);
	if (s < 0)
		return;
	while (want[n] != NULL)
		n++;
	CHECKF(o.n[s] > 0 && strstr(o.rec[s][0], " SOA ") != NULL,
	    "%s: not SOA first", pool);
	memcpy(sorted, want, n * sizeof(*sorted));
	qsort(sorted, n, sizeof(*sorted), cmp);
	qsort(o.rec[s], o.n[s], sizeof(*o.rec[s]), cmp);
	ok = n == o.n[s];
	for (i = 0; ok && i < n; i++)
		ok = strcmp(sorted[i], o.rec[s][i]) == 0;
	CHECKF(ok, "slice %s differs", pool);
	if (!ok) {
		for (i = 0; i < o.n[s]; i++)
			fprintf(stderr, "  %s has: %s\n", pool, o.rec[s][i]);
		for (i = 0; i < n; i++)
			fprintf(stderr, "  %s wants: %s\n", pool, sorted[i]);
	}
}

static uint64_t
names_of(const char *pool)
{
	int i;

	for (i = 0; i < zs_nslices(o.zs); i++)
		if (strcmp(zs_slice(o.zs, i)->pool, pool) == 0)
			return zs_slice(o.zs, i)->names;
	return 0;
}

#define SOA	"example. SOA ns1.example. host.example. 1 3600 600 86400 300"
#define NS	"example. NS ns1.example."
#define NS1	"ns1.example. A 127.0.0.1"

static const char unsigned_zone[] =
	"$ORIGIN example.\n$TTL 300\n"
	"@ SOA ns1 host 1 3600 600 86400 300\n"
	"@ NS ns1\n"
	"ns1 A 127.0.0.1\n"
	"a1 A 10.0.0.1\n"
	"j1 A 10.0.0.2\n"
	"s1 A 10.0.0.3\n"
	"y.b A 10.0.0.5\n"		/* b. is empty, routed to p1 */
	"sub NS ns.sub\n"		/* a delegation, routed to p3 */
	"ns.sub A 10.1.1.1\n"		/* its glue, routed to p2 */
	"*.w TXT \"wild\"\n"
	"0bad A 10.9.9.9\n"		/* no route */
	"xno A 10.9.9.8\n"		/* a route that refuses */
	"mx1 A 10.0.0.7\n"		/* p2, but MX to p3 */
	"mx1 MX 10 a1\n"
	"mz A 10.0.0.8\n";		/* p2, MX to p3 and no MX */

static void
test_unsigned(void)
{
	static const char *p1[] = { SOA, NS, NS1, "a1.example. A 10.0.0.1",
		"y.b.example. A 10.0.0.5", "sub.example. NS ns.sub.example.",
		"ns.sub.example. A 10.1.1.1", "*.w.example. TXT \"wild\"", NULL };
	static const char *p2[] = { SOA, NS, NS1, "j1.example. A 10.0.0.2",
		"sub.example. NS ns.sub.example.", "ns.sub.example. A 10.1.1.1",
		"*.w.example. TXT \"wild\"", "mx1.example. A 10.0.0.7",
		"mz.example. A 10.0.0.8", NULL };
	static const char *p3[] = { SOA, NS, NS1, "s1.example. A 10.0.0.3",
		"y.b.example. A 10.0.0.5", "sub.example. NS ns.sub.example.",
		"ns.sub.example. A 10.1.1.1", "*.w.example. TXT \"wild\"",
		"mx1.example. MX 10 a1.example.", "mz.example. A 10.0.0.8", NULL };
	static const char *s1[] = { SOA, NS, NS1, "a1.example. A 10.0.0.1",
		"y.b.example. A 10.0.0.5", "ns.sub.example. A 10.1.1.1", NULL };
	static const char *s2[] = { SOA, NS, NS1, "j1.example. A 10.0.0.2",
		"sub.example. NS ns.sub.example.", "ns.sub.example. A 10.1.1.1",
		"mx1.example. A 10.0.0.7", "mz.example. A 10.0.0.8", NULL };
	static const char *s3[] = { SOA, NS, NS1, "s1.example. A 10.0.0.3",
		"y.b.example. A 10.0.0.5", "sub.example. NS ns.sub.example.",
		"ns.sub.example. A 10.1.1.1", "*.w.example. TXT \"wild\"",
		"mx1.example. MX 10 a1.example.", "mz.example. A 10.0.0.8", NULL };

	/* Anything may be routed anywhere: cuts and wildcards everywhere. */
	slice_zone(unsigned_zone, 0);
	CHECK(zs_nslices(o.zs) == 3);
	expect("p1", p1);
	expect("p2", p2);
	expect("p3", p3);
	CHECKF(strcmp(o.findings, "0bad.example. no route, "
	    "xno.example. no pool") == 0, "findings: %s", o.findings);
	CHECK(zs_unserved(o.zs) == 2);
	/* example. a1. b. | ns1. j1. ns.sub. mx1. mz. | s1. y.b. sub. *.w. w. */
	CHECK(names_of("p1") == 3 && names_of("p2") == 5 &&
	    names_of("p3") == 5 && zs_names(o.zs) == 15);
	CHECK(o.probes == 13);

	/* assume subtree: the delegation goes where it and its glue are
	 * routed, the wildcard where it and its parent are. */
	slice_zone(unsigned_zone, 1);
	expect("p1", s1);
	expect("p2", s2);
	expect("p3", s3);
}

#define SIG(t)	"RRSIG " t " 13 2 300 20270103144004 20261206144004 61443 " \
		"example. AAAA"
#define H1	"g5sg4c6vate93puqjo5n2cigbjas4tk6"
#define H2	"k8nmknri9la2il054299f492gtb9aqem"

static const char nsec3_zone[] =
	"$ORIGIN example.\n$TTL 300\n"
	"@ SOA ns1 host 1 3600 600 86400 300\n"
	"@ NS ns1\n"
	"@ NSEC3PARAM 1 0 1 abcd\n"
	"ns1 A 127.0.0.1\n"
	"a1 A 10.0.0.1\n"
	"a1 " SIG("A") "\n"
	"a1 TXT \"a1\"\n"
	"a1 " SIG("TXT") "\n"
	H1 " NSEC3 1 0 1 abcd " H2 " A TXT RRSIG\n"
	H1 " " SIG("NSEC3") "\n"
	"j1 A 10.0.0.2\n"
	"j1 " SIG("A") "\n"
	H2 " NSEC3 1 0 1 abcd " H1 " A RRSIG\n"
	H2 " " SIG("NSEC3") "\n";

static void
test_nsec3(void)
{
#define N3A	H1 ".example. NSEC3 1 0 1 abcd " H2 " A TXT RRSIG"
#define N3B	H2 ".example. NSEC3 1 0 1 abcd " H1 " A RRSIG"
#define S(o, t)	o ".example. RRSIG " t " 13 2 300 20270103144004 " \
		"20261206144004 61443 example. AAAA"
	static const char *p1[] = { SOA, NS, NS1,
		"example. NSEC3PARAM 1 0 1 abcd", N3A, S(H1, "NSEC3"), N3B,
		S(H2, "NSEC3"), "a1.example. A 10.0.0.1", S("a1", "A"),
		"a1.example. TXT \"a1\"", S("a1", "TXT"),
		"j1.example. A 10.0.0.2", S("j1", "A"), NULL };
	static const char *p2[] = { SOA, NS, NS1,
		"example. NSEC3PARAM 1 0 1 abcd", N3A, S(H1, "NSEC3"), N3B,
		S(H2, "NSEC3"), "a1.example. A 10.0.0.1", S("a1", "A"),
		"j1.example. A 10.0.0.2", S("j1", "A"), NULL };
	static const char *s2[] = { SOA, NS, NS1,
		"example. NSEC3PARAM 1 0 1 abcd", N3A, S(H1, "NSEC3"), N3B,
		S(H2, "NSEC3"), "j1.example. A 10.0.0.2", S("j1", "A"), NULL };

	/* The chain everywhere, and every name in every slice: a1 is in p2
	 * by its first RRset with its signature, j1 in p1.  ns1 (p2) is
	 * everywhere as the apex's name server. */
	slice_zone(nsec3_zone, 0);
	CHECK(zs_signed(o.zs) == 3);
	CHECK(zs_nslices(o.zs) == 2);
	expect("p1", p1);
	expect("p2", p2);
	/* The hashed owners are not names. */
	CHECK(zs_names(o.zs) == 4);
	slice_zone(nsec3_zone, 1);
	expect("p2", s2);
}

static const char nsec_zone[] =
	"$ORIGIN example.\n$TTL 300\n"
	"@ SOA ns1 host 1 3600 600 86400 300\n"
	"@ NS ns1\n"
	"@ NSEC a1 NS SOA RRSIG NSEC\n"
	"a1 A 10.0.0.1\n"
	"a1 NSEC ns1 A RRSIG NSEC\n"
	"ns1 A 127.0.0.1\n"
	"ns1 NSEC y.b A RRSIG NSEC\n"
	"y.b A 10.0.0.5\n"
	"y.b NSEC example. A RRSIG NSEC\n";

static void
test_nsec(void)
{
	static const char *p1[] = { SOA, NS, NS1, "example. NSEC a1.example. "
		"NS SOA RRSIG NSEC", "a1.example. A 10.0.0.1",
		"a1.example. NSEC ns1.example. A RRSIG NSEC",
		"ns1.example. NSEC y.b.example. A RRSIG NSEC",
		"y.b.example. NSEC example. A RRSIG NSEC", NULL };

	/* The chain makes every name exist in every slice: the empty b.
	 * (p1) needs no copy of y.b's A. */
	slice_zone(nsec_zone, 0);
	CHECK(zs_signed(o.zs) == 1);
	expect("p1", p1);
}

static void
test_errors(void)
{
	struct zs_ops ops = { fake_lookup, NULL, fake_finding, NULL, NULL,
	    NULL };
	char err[512];
	ldns_rr *rr = NULL;

	reset();
	o.zs = zs_new(&ops, 0);
	CHECK(ldns_rr_new_frm_str(&rr, "a.example. 300 IN A 1.2.3.4", 0, NULL,
	    NULL) == LDNS_STATUS_OK);
	CHECK(zs_scan(o.zs, rr, "line 1", err, sizeof(err)) == -1 &&
	    strstr(err, "must start with its SOA") != NULL);
	ldns_rr_free(rr);
	CHECK(ldns_rr_new_frm_str(&rr, "example. 300 IN SOA ns1.example. h. "
	    "1 2 3 4 5", 0, NULL, NULL) == LDNS_STATUS_OK);
	CHECK(zs_scan(o.zs, rr, "line 1", err, sizeof(err)) == 0);
	ldns_rr_free(rr);
	CHECK(ldns_rr_new_frm_str(&rr, "a.example.org. 300 IN A 1.2.3.4", 0,
	    NULL, NULL) == LDNS_STATUS_OK);
	CHECK(zs_scan(o.zs, rr, "line 2", err, sizeof(err)) == -1 &&
	    strstr(err, "not in the zone example.") != NULL);
	ldns_rr_free(rr);
	/* Only the apex, routed: one slice, nothing unserved. */
	CHECK(zs_scan_end(o.zs, err, sizeof(err)) == 0);
	CHECK(zs_plan(o.zs, err, sizeof(err)) == 0 && zs_nslices(o.zs) == 1);
	reset();
}

int
main(void)
{
	test_unsigned();
	test_nsec3();
	test_nsec();
	test_errors();
	reset();
	UNIT_DONE("zone_slice");
}

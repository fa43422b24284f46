/*
 * test_registry: the seed's registration format, ADDR:PORT,REGEX under a
 * key PREFIX + ID, accepted and refused (with the reason an operator reads
 * in the log).
 */
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "util.h"
#include "registry.h"
#include "unit.h"

static const struct {
	const char	*key;
	const char	*val;
	const char	*name;		/* NULL: refused, err contains addr */
	const char	*addr;
	const char	*pattern;
} cases[] = {
	/* The seed's own examples. */
	{ "/dnsrouter/3f2a", "10.1.1.15:5300,^[ab]*\\.miek\\.nl\\.$",
	  "etcd:3f2a", "10.1.1.15:5300", "^[ab]*\\.miek\\.nl\\.$" },
	{ "/dnsrouter/ns9", "127.0.0.1:5309,^x.*\\.split\\.test\\.$",
	  "etcd:ns9", "127.0.0.1:5309", "^x.*\\.split\\.test\\.$" },
	/* Port 53 when left out; IPv6 in brackets; blanks around the parts;
	 * the regex keeps its commas. */
	{ "/dnsrouter/a", "192.0.2.1,^a", "etcd:a", "192.0.2.1:53", "^a" },
	{ "/dnsrouter/v6", "[::1]:5353,^v6\\.", "etcd:v6", "[::1]:5353",
	  "^v6\\." },
	{ "/dnsrouter/b", " 192.0.2.2:53 , ^b{1,3}\\.$\n", "etcd:b",
	  "192.0.2.2:53", "^b{1,3}\\.$" },
	{ "/dnsrouter/dc1/ns-1.x_y:z@w+v=u", "192.0.2.3:53,.",
	  "etcd:dc1/ns-1.x_y:z@w+v=u", "192.0.2.3:53", "." },
	/* Refused, with why. */
	{ "/dnsrouter/c", "192.0.2.1:53", NULL, "no comma", NULL },
	{ "/dnsrouter/c", "", NULL, "no comma", NULL },
	{ "/dnsrouter/c", ",^c", NULL, "no address", NULL },
	{ "/dnsrouter/c", "192.0.2.1:53,", NULL, "no regex", NULL },
	{ "/dnsrouter/c", "192.0.2.1:53,  ", NULL, "no regex", NULL },
	{ "/dnsrouter/c", "ns1.example:53,^c", NULL, "bad address", NULL },
	{ "/dnsrouter/c", "192.0.2.1:99999,^c", NULL, "bad address", NULL },
	{ "/dnsrouter/c", "192.0.2.1:0,^c", NULL, "bad address", NULL },
	{ "/dnsrouter/c", "[::1:53,^c", NULL, "bad address", NULL },
	{ "/dnsrouter/c", "1.2.3.4:53:54,^c", NULL, "bad address", NULL },
	{ "/dnsrouter/", "192.0.2.1:53,^c", NULL, "no ID", NULL },
	{ "/other/c", "192.0.2.1:53,^c", NULL, "no ID", NULL },
	{ "/dnsrouter/a b", "192.0.2.1:53,^c", NULL, "character", NULL },
	{ "/dnsrouter/a#b", "192.0.2.1:53,^c", NULL, "character", NULL },
	{ "/dnsrouter/0123456789012345678901234567890123456789012345678901234"
	  "56789", "192.0.2.1:53,^c", NULL, "longer than", NULL },
};

static void
test_cases(void)
{
	struct reg_value v;
	char err[256];
	size_t i;
	int rc;

	for (i = 0; i < NELEMS(cases); i++) {
		err[0] = '\0';
		rc = reg_parse("/dnsrouter/", cases[i].key,
		    strlen(cases[i].key), cases[i].val, strlen(cases[i].val),
		    &v, err, sizeof(err));
		if (cases[i].name != NULL) {
			CHECKF(rc == 0, "%s=%s: %s", cases[i].key, cases[i].val,
			    err);
			CHECKF(rc != 0 || (strcmp(v.name, cases[i].name) == 0 &&
			    strcmp(v.addr, cases[i].addr) == 0 &&
			    strcmp(v.pattern, cases[i].pattern) == 0),
			    "%s=%s: %s %s %s", cases[i].key, cases[i].val,
			    v.name, v.addr, v.pattern);
		} else
			CHECKF(rc == -1 && strstr(err, cases[i].addr) != NULL,
			    "%s=%s: rc %d err \"%s\"", cases[i].key,
			    cases[i].val, rc, err);
	}
}

static void
test_limits(void)
{
	static char big[REG_PATTERN_MAX + 64];
	struct reg_value v;
	char err[256], id[REG_ID_MAX + 16], key[128];
	size_t n;

	/* The longest ID makes a name that fits. */
	memset(id, 'i', REG_ID_MAX);
	id[REG_ID_MAX] = '\0';
	snprintf(key, sizeof(key), "/r/%s", id);
	CHECK(reg_parse("/r/", key, strlen(key), "1.2.3.4,x", 9, &v, err,
	    sizeof(err)) == 0 && strlen(v.name) == CONF_NAME_MAX - 1);
	/* A regex of the longest length, and one byte more. */
	n = (size_t)snprintf(big, sizeof(big), "1.2.3.4,");
	memset(big + n, 'a', REG_PATTERN_MAX);
	CHECK(reg_parse("/r/", "/r/x", 4, big, n + REG_PATTERN_MAX, &v, err,
	    sizeof(err)) == 0 && strlen(v.pattern) == REG_PATTERN_MAX);
	big[n + REG_PATTERN_MAX] = 'a';
	CHECK(reg_parse("/r/", "/r/x", 4, big, n + REG_PATTERN_MAX + 1, &v, err,
	    sizeof(err)) == -1 && strstr(err, "longer") != NULL);
	/* A NUL in the value, or in the key. */
	CHECK(reg_parse("/r/", "/r/x", 4, "1.2.3.4,a\0b", 11, &v, err,
	    sizeof(err)) == -1 && strstr(err, "NUL") != NULL);
	CHECK(reg_parse("/r/", "/r/x\0y", 6, "1.2.3.4,a", 9, &v, err,
	    sizeof(err)) == -1);
}

int
main(void)
{
	log_init("test_registry", 0, LOG_LVL_WARN);
	test_cases();
	test_limits();
	UNIT_DONE("registry");
}

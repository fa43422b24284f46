/*
 * registry_parse: the seed's registration format, key and value (see
 * registry.h).  Pure: no I/O, no state, so the fuzz target links it alone.
 */
#include <sys/socket.h>
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "registry.h"
#include "util.h"

static int
id_char(unsigned char c)
{
	/* strchr would find the NUL that ends the set. */
	return isalnum(c) || (c != '\0' && strchr("-_.:@+=/", c) != NULL);
}

static int
blank(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* [*s, *e) without blanks at either end. */
static void
trim(const char **s, const char **e)
{
	while (*s < *e && blank((unsigned char)**s))
		(*s)++;
	while (*e > *s && blank((unsigned char)(*e)[-1]))
		(*e)--;
}

int
reg_parse(const char *prefix, const char *key, size_t keylen,
    const char *val, size_t vallen, struct reg_value *out, char *err,
    size_t errlen)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	const char *id, *a, *ae, *p, *pe, *comma;
	char addr[CONF_ADDR_MAX], why[128];
	size_t plen = strlen(prefix), idlen, i;

	memset(out, 0, sizeof(*out));
	if (keylen <= plen || memcmp(key, prefix, plen) != 0) {
		snprintf(err, errlen, "no ID after the prefix");
		return -1;
	}
	id = key + plen;
	idlen = keylen - plen;
	if (idlen > REG_ID_MAX) {
		snprintf(err, errlen, "ID longer than %d characters", REG_ID_MAX);
		return -1;
	}
	for (i = 0; i < idlen; i++)
		if (!id_char((unsigned char)id[i])) {
			snprintf(err, errlen, "ID has a character other than "
			    "letters, digits and -_.:@+=/");
			return -1;
		}
	if (memchr(val, '\0', vallen) != NULL) {
		snprintf(err, errlen, "value has a NUL byte");
		return -1;
	}
	if ((comma = memchr(val, ',', vallen)) == NULL) {
		snprintf(err, errlen, "no comma between address and regex "
		    "(want ADDR:PORT,REGEX)");
		return -1;
	}
	a = val;
	ae = comma;
	trim(&a, &ae);
	p = comma + 1;
	pe = val + vallen;
	trim(&p, &pe);
	if (ae == a) {
		snprintf(err, errlen, "no address before the comma");
		return -1;
	}
	if ((size_t)(ae - a) >= sizeof(addr)) {
		snprintf(err, errlen, "address too long");
		return -1;
	}
	memcpy(addr, a, (size_t)(ae - a));
	addr[ae - a] = '\0';
	if (addr_parse(addr, 53, &ss, &sl, why, sizeof(why)) == -1) {
		snprintf(err, errlen, "bad address: %s", why);
		return -1;
	}
	if (pe == p) {
		snprintf(err, errlen, "no regex after the comma");
		return -1;
	}
	if ((size_t)(pe - p) > REG_PATTERN_MAX) {
		snprintf(err, errlen, "regex longer than %d bytes",
		    REG_PATTERN_MAX);
		return -1;
	}
	snprintf(out->name, sizeof(out->name), "%s%.*s", REG_NAME_PREFIX,
	    (int)idlen, id);
	addr_fmt((struct sockaddr *)&ss, out->addr, sizeof(out->addr));
	memcpy(out->pattern, p, (size_t)(pe - p));
	out->pattern[pe - p] = '\0';
	return 0;
}

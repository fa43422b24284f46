// FUZZ-BUILD: ctl/zone_reply.c common/ctlproto.c common/dnsnames.c common/util.c common/log.c -Ictl $(pkg-config --cflags ldns)
/*
 * fuzz_lookup: the rows of a route lookup reply as dnsroutectl reads them
 * (zone split and zone check).  Input: lines, each a reply row's text.
 * Nothing may crash or read past a field; a row taken must have a name, an
 * action, a pool exactly when the action is pool, members only with a
 * pool, and a route id that is none or positive.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "zone.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf, *line, *next, *f[ZLOOKUP_COLUMNS + 1], *name;
	struct zs_route r;
	int n;

	buf = malloc(size + 1);
	memcpy(buf, data, size);
	buf[size] = '\0';
	for (line = buf; line != NULL; line = next) {
		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		n = zlookup_fields(line, f, ZLOOKUP_COLUMNS);
		if (n < 1 || n > ZLOOKUP_COLUMNS + 1)
			abort();
		if (zlookup_parse(f, n, &name, &r) == -1)
			continue;
		if (n != ZLOOKUP_COLUMNS || name == NULL || name[0] == '\0' ||
		    r.action == NULL || r.route == 0 || r.route < -1 ||
		    (r.pool != NULL) != (strcmp(r.action, "pool") == 0) ||
		    (r.members != NULL && r.pool == NULL) || r.qtype < 0 ||
		    r.qtype > 65535)
			abort();
	}
	free(buf);
	return 0;
}

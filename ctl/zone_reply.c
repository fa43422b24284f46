/*
 * zone_reply: the rows of a route lookup reply, as dnsroutectl reads them:
 * name, qtype, route#, action, pool, members, each escaped as ctlproto.h
 * says and \N for none.  Apart from zone_lookup.c so that the fuzz target
 * links it alone.  A row that is not exactly that is refused, never
 * half-read.
 */
#include <string.h>

#include "ctlproto.h"
#include "dnsnames.h"
#include "util.h"
#include "zone.h"


int
zlookup_fields(char *row, char **f, int max)
{
	char *p = row, *tab;
	int n = 0;

	while (n < max) {
		tab = strchr(p, '\t');
		if (tab != NULL)
			*tab = '\0';
		if (strcmp(p, CTL_NULL_FIELD) == 0)
			f[n++] = NULL;
		else {
			ctl_unescape(p);
			f[n++] = p;
		}
		if (tab == NULL)
			return n;
		p = tab + 1;
	}
	return max + 1;		/* more fields than expected */
}

int
zlookup_parse(char **f, int n, char **name, struct zs_route *r)
{
	long v;

	if (n != ZLOOKUP_COLUMNS || f[0] == NULL || f[0][0] == '\0' ||
	    f[3] == NULL || f[3][0] == '\0')
		return -1;
	*name = f[0];
	r->qtype = 0;
	if (f[1] != NULL && (dnsname_type_parse(f[1], &r->qtype) == -1 ||
	    r->qtype == 0))
		return -1;
	r->route = -1;
	if (f[2] != NULL) {
		if (parse_int(f[2], 1, 0x7fffffffL, &v) == -1)
			return -1;
		r->route = v;
	}
	r->action = f[3];
	r->pool = f[4];
	r->members = f[5];
	if ((r->pool != NULL) != (strcmp(r->action, "pool") == 0))
		return -1;
	if (r->pool == NULL && r->members != NULL)
		return -1;
	return 0;
}

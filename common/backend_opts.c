/*
 * backend_opts: `backend add|set` options (see backend_opts.h).
 */
#include <sys/socket.h>
#include <stdio.h>
#include <string.h>

#include "argparse.h"
#include "backend_opts.h"
#include "dnsnames.h"
#include "util.h"

static const char *const option_names[] = { "pool", "weight", "transport",
    "check", "check-transport", "interval", "timeout", "fall", "rise",
    "rcode", "addr" };

static int
is_option(const char *s)
{
	size_t i;

	for (i = 0; i < NELEMS(option_names); i++)
		if (strcmp(s, option_names[i]) == 0)
			return 1;
	return 0;
}

void
backend_conf_defaults(struct backend_conf *c)
{
	memset(c, 0, sizeof(*c));
	c->weight = 1;
	snprintf(c->qname, sizeof(c->qname), "id.server.");
	c->qtype = DNS_TYPE_TXT;
	c->qclass = DNS_CLASS_CH;
	c->check_tcp = 1;
	c->rcode = -1;
	c->interval_ms = 5000;
	c->timeout_ms = 1000;
	c->fall = 3;
	c->rise = 2;
}

int
backend_addr_norm(const char *in, char *out, size_t outlen, char *err,
    size_t errlen)
{
	struct sockaddr_storage ss;
	socklen_t sl;

	if (addr_parse(in, 53, &ss, &sl, err, errlen) == -1)
		return -1;
	addr_fmt((struct sockaddr *)&ss, out, outlen);
	return 0;
}

static int
udp_or_tcp(const char *v, int *tcp)
{
	if (strcmp(v, "udp") == 0)
		*tcp = 0;
	else if (strcmp(v, "tcp") == 0)
		*tcp = 1;
	else
		return -1;
	return 0;
}

int
backend_opts_parse(int argc, char **argv, int allow_addr,
    struct backend_conf *c, struct backend_pools *p, const char *usage,
    char *err, size_t errlen)
{
	uint8_t wire[DNS_MAX_WIRE_NAME];
	char u[1024], *q;
	long v;
	int i, t;

	for (i = 0; i < argc; i++) {
		const char *o = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;

		if (val == NULL) {
			snprintf(err, errlen, "%s needs a value", o);
			return -1;
		}
		i++;
		if (strcmp(o, "pool") == 0) {
			p->given = 1;
			if (strcmp(val, "-") == 0)
				continue;
			if (!arg_name_ok(val)) {
				snprintf(err, errlen, "bad pool name \"%s\": use "
				    "1-%d letters, digits, '.', '_' or '-'", val,
				    ARG_NAME_MAX - 1);
				return -1;
			}
			if (p->n == BACKEND_POOLS_MAX) {
				snprintf(err, errlen, "too many pools (at most %d)",
				    BACKEND_POOLS_MAX);
				return -1;
			}
			p->name[p->n++] = val;
		} else if (strcmp(o, "addr") == 0 && allow_addr) {
			if (backend_addr_norm(val, c->addr, sizeof(c->addr), err,
			    errlen) == -1)
				return -1;
		} else if (strcmp(o, "weight") == 0) {
			if (parse_int(val, 1, 1000, &v) == -1)
				goto bad;
			c->weight = (int)v;
		} else if (strcmp(o, "transport") == 0) {
			if (udp_or_tcp(val, &c->tcp) == -1)
				goto bad;
		} else if (strcmp(o, "check") == 0) {
			if (strlen(val) >= sizeof(c->qname) ||
			    dns_text_to_wire(val, wire, sizeof(wire)) == -1)
				goto bad;
			snprintf(c->qname, sizeof(c->qname), "%s", val);
			/* Optional type and class follow the name. */
			if (i + 1 < argc && !is_option(argv[i + 1]) &&
			    dnsname_type_parse(argv[i + 1], &t) == 0) {
				c->qtype = t;
				i++;
				if (i + 1 < argc && !is_option(argv[i + 1]) &&
				    dnsname_class_parse(argv[i + 1], &t) == 0) {
					c->qclass = t;
					i++;
				}
			}
		} else if (strcmp(o, "check-transport") == 0) {
			if (udp_or_tcp(val, &c->check_tcp) == -1)
				goto bad;
		} else if (strcmp(o, "interval") == 0) {
			if (arg_duration_ms(val, 1, 50, 3600000, &c->interval_ms) == -1)
				goto bad;
		} else if (strcmp(o, "timeout") == 0) {
			if (arg_duration_ms(val, 0, 10, 60000, &c->timeout_ms) == -1)
				goto bad;
		} else if (strcmp(o, "fall") == 0) {
			if (parse_int(val, 1, 100, &v) == -1)
				goto bad;
			c->fall = (int)v;
		} else if (strcmp(o, "rise") == 0) {
			if (parse_int(val, 1, 100, &v) == -1)
				goto bad;
			c->rise = (int)v;
		} else if (strcmp(o, "rcode") == 0) {
			if (strcmp(val, "any") == 0)
				t = -1;
			else if (dnsname_rcode_parse(val, &t) == -1)
				goto bad;
			c->rcode = t;
		} else {
			/* The usage on one line: errors are one line. */
			snprintf(u, sizeof(u), "%s", usage);
			for (q = u; *q != '\0'; q++)
				if (*q == '\n')
					*q = ' ';
			snprintf(err, errlen, "unknown option \"%s\"; usage: %s",
			    o, u);
			return -1;
		}
		continue;
bad:
		snprintf(err, errlen, "bad value \"%s\" for %s", val, o);
		return -1;
	}
	/* A timeout longer than the interval is allowed: checks never
	 * overlap, so the next one waits for the answer or the timeout. */
	return 0;
}

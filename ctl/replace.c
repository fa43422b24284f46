/*
 * replace: dnsroutectl -f FILE --replace.  FILE says what the whole state
 * is (settings, pools, backends with their options and admin state, routes
 * in order), as `export` prints it; everything it does not name goes.
 *
 * FILE is first run through a model of the commands here, without the
 * daemon, starting from the empty state: its mistakes are reported as
 * FILE:LINE before anything is sent.  Then, in one transaction: the
 * current state is read (export for settings, pools and backends, whose
 * output this same model parses; show routes for the route ids), the two
 * models are compared and only the differences are sent, each with the
 * FILE:LINE it comes from, so that an error the daemon finds (a pattern
 * PCRE2 refuses) names the line too.  At the end: commit, or abort for
 * --dry-run, and the list of what was added (+), removed (-) and changed
 * (~).  A FILE equal to the state sends no change at all.
 *
 * Routes the same in pattern, qtype, action, pool and comment are kept, so
 * their ids and hit counters survive; the order is fixed with the fewest
 * moves: the kept routes on a longest increasing run (in current order)
 * stay, every other route is added or moved to just after its predecessor
 * in FILE.  The model mirrors the daemon's parsing (daemon/cmd_backend.c,
 * cmd_route.c) so both sides of the comparison are in one canonical form.
 */
#include <sys/types.h>
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cmdtab.h"
#include "ctlproto.h"
#include "dnsmsg.h"
#include "tokenize.h"
#include "util.h"
#include "ctl.h"

#define NAME_MAX_LEN		64	/* pool and backend names, NUL included */
#define MAX_POOLS_PER_CMD	32
#define MAX_ROUTES		100000

enum { ADM_ENABLED, ADM_DRAINED, ADM_DISABLED };
#define ACT_POOL	0

static const char *const admin_names[] = { "enabled", "drained", "disabled" };
static const char *const action_names[] = {
	"pool", "refuse", "nxdomain", "servfail", "drop", NULL
};
static const char *const policy_names[] = {
	"roundrobin", "weighted", "first", "least-outstanding", "race",
	"fanout", NULL
};

/* The query types ldns names (and so the daemon prints); others are
 * TYPEn.  IXFR, AXFR, MAILB, MAILA and ANY parse but print as TYPEn. */
static const struct qtype_name {
	const char	*name;
	int		 num;
} qtype_names[] = {
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
	{ "EUI64", 109 }, { "TKEY", 249 }, { "TSIG", 250 }, { "URI", 256 },
	{ "CAA", 257 }, { "DLV", 32769 },
};
static const struct qtype_name qtype_meta[] = {
	{ "IXFR", 251 }, { "AXFR", 252 }, { "MAILB", 253 }, { "MAILA", 254 },
	{ "ANY", 255 },
};
static const struct qtype_name rcode_names[] = {
	{ "NOERROR", 0 }, { "FORMERR", 1 }, { "SERVFAIL", 2 },
	{ "NXDOMAIN", 3 }, { "NOTIMPL", 4 }, { "REFUSED", 5 },
	{ "YXDOMAIN", 6 }, { "YXRRSET", 7 }, { "NXRRSET", 8 },
	{ "NOTAUTH", 9 }, { "NOTZONE", 10 },
};

struct mpool {
	char		*name;
	const char	*policy;	/* one of policy_names */
	unsigned	 line;
};

struct mbackend {
	char		*name;
	char		 addr[128];	/* as the daemon formats it */
	char		**pools;
	int		 npools;
	int		 weight, tcp, qtype, qclass, check_tcp, rcode, fall, rise;
	int		 admin;
	long		 interval_ms, timeout_ms;
	char		*qname;
	unsigned	 line;
};

struct mroute {
	long long	 id;		/* the current state's only */
	char		*pattern;
	char		*pool;		/* NULL unless action is pool */
	char		*comment;
	int		 qtype;		/* 0: any */
	int		 action;
	unsigned	 line;
};

struct model {
	char		**set;		/* by setting_table index; NULL: default */
	unsigned	 *setline;
	struct mpool	 *p;
	size_t		  np;
	struct mbackend	 *b;
	size_t		  nb;
	struct mroute	 *r;
	size_t		  nr, rcap;
};

struct perr {
	int	code;
	char	msg[1024];
};

/* A change to send: "+ pool add web", with the FILE line it comes from
 * (0: from the current state, a removal). */
struct change {
	char		 op;
	char		*cmd;
	char		*detail;
	unsigned	 line;
};

struct plan {
	struct change	*v;
	size_t		 n, cap;
	unsigned	 nadd, ndel, nchg;
};

/* A growing command line of quoted words. */
struct sb {
	char	*s;
	size_t	 len, cap;
};

static int
perr(struct perr *e, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
perr(struct perr *e, int code, const char *fmt, ...)
{
	va_list ap;

	e->code = code;
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	return -1;
}

static int
usage_err(struct perr *e, const struct cmd_spec *cs)
{
	char buf[1024], *p;

	snprintf(buf, sizeof(buf), "%s", cs->usage);
	for (p = buf; *p != '\0'; p++)
		if (*p == '\n')
			*p = ' ';
	return perr(e, CTL_ERR_SYNTAX, "usage: %s", buf);
}

/* ---- command lines ---- */

static void
sb_raw(struct sb *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		while (b->len + n + 1 > b->cap)
			b->cap = b->cap ? b->cap * 2 : 128;
		b->s = xrealloc(b->s, b->cap);
	}
	memcpy(b->s + b->len, s, n);
	b->len += n;
	b->s[b->len] = '\0';
}

static void
sb_word(struct sb *b, const char *w)
{
	size_t len = 4 * strlen(w) + 4;
	char *q = xmalloc(len);

	if (tok_quote(w, q, len) == -1)
		snprintf(q, len, "''");
	if (b->len > 0)
		sb_raw(b, " ", 1);
	sb_raw(b, q, strlen(q));
	free(q);
}

static void
sb_wordf(struct sb *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
sb_wordf(struct sb *b, const char *fmt, ...)
{
	char buf[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	sb_word(b, buf);
}

/* ---- values, parsed as the daemon parses them ---- */

static int
word_index(const char *const *list, const char *s)
{
	int i;

	for (i = 0; list[i] != NULL; i++)
		if (strcmp(list[i], s) == 0)
			return i;
	return -1;
}

static int
parse_qtype(const char *s, int *out)
{
	long v;
	size_t i;

	if (parse_int(s, 1, 65535, &v) == 0) {
		*out = (int)v;
		return 0;
	}
	for (i = 0; i < NELEMS(qtype_names); i++)
		if (strcasecmp(s, qtype_names[i].name) == 0) {
			*out = qtype_names[i].num;
			return 0;
		}
	for (i = 0; i < NELEMS(qtype_meta); i++)
		if (strcasecmp(s, qtype_meta[i].name) == 0) {
			*out = qtype_meta[i].num;
			return 0;
		}
	if (strncasecmp(s, "TYPE", 4) == 0 &&
	    parse_int(s + 4, 1, 65535, &v) == 0) {
		*out = (int)v;
		return 0;
	}
	return -1;
}

static const char *
qtype_str(int t, char *buf, size_t len)
{
	size_t i;

	for (i = 0; i < NELEMS(qtype_names); i++)
		if (qtype_names[i].num == t)
			return qtype_names[i].name;
	snprintf(buf, len, "TYPE%d", t);
	return buf;
}

static int
parse_class(const char *s, int *out)
{
	if (strcasecmp(s, "IN") == 0)
		*out = DNS_CLASS_IN;
	else if (strcasecmp(s, "CH") == 0)
		*out = DNS_CLASS_CH;
	else if (strcasecmp(s, "HS") == 0)
		*out = 4;
	else
		return -1;
	return 0;
}

static const char *
class_str(int c)
{
	return c == DNS_CLASS_IN ? "IN" : c == DNS_CLASS_CH ? "CH" : "HS";
}

static int
parse_rcode(const char *s, int *out)
{
	long v;
	size_t i;

	if (strcmp(s, "any") == 0) {
		*out = -1;
		return 0;
	}
	if (parse_int(s, 0, 15, &v) == 0) {
		*out = (int)v;
		return 0;
	}
	for (i = 0; i < NELEMS(rcode_names); i++)
		if (strcasecmp(s, rcode_names[i].name) == 0) {
			*out = rcode_names[i].num;
			return 0;
		}
	return -1;
}

/* "5", "0.5", "1.5s", "200ms" -> milliseconds in [min, max]. */
static int
parse_duration_ms(const char *s, int sec_default, long min, long max,
    long *out)
{
	char *end;
	double v;

	v = strtod(s, &end);
	if (end == s || v < 0)
		return -1;
	if (strcmp(end, "ms") == 0)
		;
	else if (strcmp(end, "s") == 0)
		v *= 1000;
	else if (*end == '\0')
		v *= sec_default ? 1000 : 1;
	else
		return -1;
	if (v < min || v > max)
		return -1;
	*out = (long)v;
	return 0;
}

static int
valid_name(const char *s)
{
	size_t n = strlen(s), i;

	if (n == 0 || n >= NAME_MAX_LEN || s[0] == '-')
		return 0;
	for (i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '-' &&
		    s[i] != '_' && s[i] != '.')
			return 0;
	return 1;
}

static int
bad_name(struct perr *e, const char *what, const char *s)
{
	return perr(e, CTL_ERR_SYNTAX, "bad %s name \"%s\": use 1-%d letters, "
	    "digits, '.', '_' or '-'", what, s, NAME_MAX_LEN - 1);
}

/* ---- the model ---- */

static void
model_init(struct model *m)
{
	memset(m, 0, sizeof(*m));
	m->set = xcalloc(setting_table_len, sizeof(*m->set));
	m->setline = xcalloc(setting_table_len, sizeof(*m->setline));
}

static void
backend_clear(struct mbackend *b)
{
	int i;

	for (i = 0; i < b->npools; i++)
		free(b->pools[i]);
	free(b->pools);
	free(b->name);
	free(b->qname);
}

static void
route_clear(struct mroute *r)
{
	free(r->pattern);
	free(r->pool);
	free(r->comment);
}

static void
model_free(struct model *m)
{
	size_t i;

	for (i = 0; i < setting_table_len; i++)
		free(m->set[i]);
	free(m->set);
	free(m->setline);
	for (i = 0; i < m->np; i++)
		free(m->p[i].name);
	free(m->p);
	for (i = 0; i < m->nb; i++)
		backend_clear(&m->b[i]);
	free(m->b);
	for (i = 0; i < m->nr; i++)
		route_clear(&m->r[i]);
	free(m->r);
	memset(m, 0, sizeof(*m));
}

static struct mpool *
find_pool(const struct model *m, const char *name)
{
	size_t i;

	for (i = 0; i < m->np; i++)
		if (strcmp(m->p[i].name, name) == 0)
			return &m->p[i];
	return NULL;
}

static struct mbackend *
find_backend(const struct model *m, const char *name)
{
	size_t i;

	for (i = 0; i < m->nb; i++)
		if (strcmp(m->b[i].name, name) == 0)
			return &m->b[i];
	return NULL;
}

static void
add_pool(struct model *m, const char *name, const char *policy,
    unsigned line)
{
	m->p = xrealloc(m->p, (m->np + 1) * sizeof(*m->p));
	m->p[m->np].name = xstrdup(name);
	m->p[m->np].policy = policy;
	m->p[m->np].line = line;
	m->np++;
}

static int
backend_in(const struct mbackend *b, const char *pool)
{
	int i;

	for (i = 0; i < b->npools; i++)
		if (strcmp(b->pools[i], pool) == 0)
			return 1;
	return 0;
}

static void
backend_set_pools(struct model *m, struct mbackend *b, char **names, int n,
    unsigned line)
{
	int i;

	for (i = 0; i < b->npools; i++)
		free(b->pools[i]);
	free(b->pools);
	b->pools = NULL;
	b->npools = 0;
	for (i = 0; i < n; i++) {
		if (backend_in(b, names[i]))
			continue;
		if (find_pool(m, names[i]) == NULL)
			add_pool(m, names[i], policy_names[0], line);
		b->pools = xrealloc(b->pools, (b->npools + 1) *
		    sizeof(*b->pools));
		b->pools[b->npools++] = xstrdup(names[i]);
	}
}

static void
backend_defaults(struct mbackend *b)
{
	memset(b, 0, sizeof(*b));
	b->weight = 1;
	b->qname = xstrdup("id.server.");
	b->qtype = DNS_TYPE_TXT;
	b->qclass = DNS_CLASS_CH;
	b->check_tcp = 1;
	b->rcode = -1;
	b->interval_ms = 5000;
	b->timeout_ms = 1000;
	b->fall = 3;
	b->rise = 2;
	b->admin = ADM_ENABLED;
}

static int
is_backend_opt(const char *s)
{
	static const char *const opts[] = { "pool", "weight", "transport",
	    "check", "check-transport", "interval", "timeout", "fall", "rise",
	    "rcode", "addr", NULL };

	return word_index(opts, s) != -1;
}

/* The options of backend add and set, into b; the pool list into pools
 * (pointers into argv).  As daemon/cmd_backend.c parse_backend_opts(): an
 * option added there must be added here, to backend_diff_words() and to
 * export, or an export no longer reads back (test_replace.py says so). */
static int
backend_opts(const struct cmd_spec *cs, struct mbackend *b, int argc,
    char **argv, int allow_addr, char **pools, int *npools, int *given,
    struct perr *e)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	uint8_t wire[DNS_MAX_WIRE_NAME];
	char err[256];
	long v;
	int i, t;

	for (i = 0; i < argc; i++) {
		const char *o = argv[i], *val = i + 1 < argc ? argv[i + 1] :
		    NULL;

		if (val == NULL)
			return perr(e, CTL_ERR_SYNTAX, "%s needs a value", o);
		i++;
		if (strcmp(o, "pool") == 0) {
			*given = 1;
			if (strcmp(val, "-") == 0)
				continue;
			if (!valid_name(val))
				return bad_name(e, "pool", val);
			if (*npools == MAX_POOLS_PER_CMD)
				return perr(e, CTL_ERR_SYNTAX, "too many pools");
			pools[(*npools)++] = argv[i];
		} else if (strcmp(o, "addr") == 0 && allow_addr) {
			if (addr_parse(val, 53, &ss, &sl, err,
			    sizeof(err)) == -1)
				return perr(e, CTL_ERR_SYNTAX, "%s", err);
			addr_fmt((struct sockaddr *)&ss, b->addr,
			    sizeof(b->addr));
		} else if (strcmp(o, "weight") == 0) {
			if (parse_int(val, 1, 1000, &v) == -1)
				goto bad;
			b->weight = (int)v;
		} else if (strcmp(o, "transport") == 0) {
			if (strcmp(val, "udp") == 0)
				b->tcp = 0;
			else if (strcmp(val, "tcp") == 0)
				b->tcp = 1;
			else
				goto bad;
		} else if (strcmp(o, "check") == 0) {
			if (dns_text_to_wire(val, wire, sizeof(wire)) == -1 ||
			    strlen(val) >= DNS_MAX_TEXT_NAME)
				goto bad;
			free(b->qname);
			b->qname = xstrdup(val);
			/* Optional type and class follow the name. */
			if (i + 1 < argc && !is_backend_opt(argv[i + 1]) &&
			    parse_qtype(argv[i + 1], &t) == 0) {
				b->qtype = t;
				i++;
				if (i + 1 < argc &&
				    !is_backend_opt(argv[i + 1]) &&
				    parse_class(argv[i + 1], &t) == 0) {
					b->qclass = t;
					i++;
				}
			}
		} else if (strcmp(o, "check-transport") == 0) {
			if (strcmp(val, "udp") == 0)
				b->check_tcp = 0;
			else if (strcmp(val, "tcp") == 0)
				b->check_tcp = 1;
			else
				goto bad;
		} else if (strcmp(o, "interval") == 0) {
			if (parse_duration_ms(val, 1, 50, 3600000, &v) == -1)
				goto bad;
			b->interval_ms = v;
		} else if (strcmp(o, "timeout") == 0) {
			if (parse_duration_ms(val, 0, 10, 60000, &v) == -1)
				goto bad;
			b->timeout_ms = v;
		} else if (strcmp(o, "fall") == 0) {
			if (parse_int(val, 1, 100, &v) == -1)
				goto bad;
			b->fall = (int)v;
		} else if (strcmp(o, "rise") == 0) {
			if (parse_int(val, 1, 100, &v) == -1)
				goto bad;
			b->rise = (int)v;
		} else if (strcmp(o, "rcode") == 0) {
			if (parse_rcode(val, &t) == -1)
				goto bad;
			b->rcode = t;
		} else {
			char u[1024], *p;

			snprintf(u, sizeof(u), "%s", cs->usage);
			for (p = u; *p != '\0'; p++)
				if (*p == '\n')
					*p = ' ';
			return perr(e, CTL_ERR_SYNTAX, "unknown option \"%s\"; "
			    "usage: %s", o, u);
		}
		continue;
bad:
		return perr(e, CTL_ERR_SYNTAX, "bad value \"%s\" for %s", val,
		    o);
	}
	return 0;
}

static int
m_backend_add(struct model *m, const struct cmd_spec *cs, int argc,
    char **argv, unsigned line, struct perr *e)
{
	struct mbackend b;
	struct sockaddr_storage ss;
	socklen_t sl;
	char *pools[MAX_POOLS_PER_CMD], err[256];
	int npools = 0, given = 0;

	if (argc < 2)
		return usage_err(e, cs);
	if (!valid_name(argv[0]))
		return bad_name(e, "backend", argv[0]);
	if (addr_parse(argv[1], 53, &ss, &sl, err, sizeof(err)) == -1)
		return perr(e, CTL_ERR_SYNTAX, "%s", err);
	backend_defaults(&b);
	addr_fmt((struct sockaddr *)&ss, b.addr, sizeof(b.addr));
	if (backend_opts(cs, &b, argc - 2, argv + 2, 0, pools, &npools,
	    &given, e) == -1) {
		backend_clear(&b);
		return -1;
	}
	if (find_backend(m, argv[0]) != NULL) {
		backend_clear(&b);
		return perr(e, CTL_ERR_RUNTIME, "backend \"%s\" exists",
		    argv[0]);
	}
	b.name = xstrdup(argv[0]);
	b.line = line;
	m->b = xrealloc(m->b, (m->nb + 1) * sizeof(*m->b));
	m->b[m->nb] = b;
	backend_set_pools(m, &m->b[m->nb], pools, npools, line);
	m->nb++;
	return 0;
}

static int
m_backend_set(struct model *m, const struct cmd_spec *cs, int argc,
    char **argv, unsigned line, struct perr *e)
{
	struct mbackend *b, nb;
	char *pools[MAX_POOLS_PER_CMD];
	int npools = 0, given = 0;

	if (argc < 3)
		return usage_err(e, cs);
	if ((b = find_backend(m, argv[0])) == NULL)
		return perr(e, CTL_ERR_RUNTIME, "backend \"%s\" does not exist",
		    argv[0]);
	/* Parse into a copy: a failed command changes nothing. */
	nb = *b;
	nb.qname = xstrdup(b->qname);
	if (backend_opts(cs, &nb, argc - 1, argv + 1, 1, pools, &npools,
	    &given, e) == -1) {
		free(nb.qname);
		return -1;
	}
	free(b->qname);
	*b = nb;
	if (given)
		backend_set_pools(m, b, pools, npools, line);
	return 0;
}

static int
m_backend_del(struct model *m, const struct cmd_spec *cs, int argc,
    char **argv, struct perr *e)
{
	struct mbackend *b;
	size_t i;

	if (argc != 1)
		return usage_err(e, cs);
	if ((b = find_backend(m, argv[0])) == NULL)
		return perr(e, CTL_ERR_RUNTIME, "backend \"%s\" does not exist",
		    argv[0]);
	i = b - m->b;
	backend_clear(b);
	memmove(&m->b[i], &m->b[i + 1], (m->nb - i - 1) * sizeof(*m->b));
	m->nb--;
	return 0;
}

static int
m_backend_admin(struct model *m, const struct cmd_spec *cs, int argc,
    char **argv, struct perr *e)
{
	struct mbackend *b;

	if (argc != 1)
		return usage_err(e, cs);
	if ((b = find_backend(m, argv[0])) == NULL)
		return perr(e, CTL_ERR_RUNTIME, "backend \"%s\" does not exist",
		    argv[0]);
	switch (cs->id) {
	case CMD_BACKEND_DRAIN:
		if (b->admin == ADM_DISABLED)
			return perr(e, CTL_ERR_RUNTIME, "backend \"%s\" is "
			    "disabled; enable it first", b->name);
		b->admin = ADM_DRAINED;
		break;
	case CMD_BACKEND_UNDRAIN:
		if (b->admin != ADM_DRAINED)
			return perr(e, CTL_ERR_RUNTIME, "backend \"%s\" is %s, "
			    "not drained", b->name, admin_names[b->admin]);
		b->admin = ADM_ENABLED;
		break;
	case CMD_BACKEND_ENABLE:
		b->admin = ADM_ENABLED;
		break;
	default:
		b->admin = ADM_DISABLED;
		break;
	}
	return 0;
}

static int
m_pool_policy(const char *s, const char **out, struct perr *e)
{
	int p = word_index(policy_names, s);

	if (p == -1)
		return -1;
	if (strcmp(s, "race") == 0 || strcmp(s, "fanout") == 0)
		return perr(e, CTL_ERR_RUNTIME, "policy %s is not implemented "
		    "yet", s);
	*out = policy_names[p];
	return 0;
}

static int
m_pool(struct model *m, const struct cmd_spec *cs, int argc, char **argv,
    unsigned line, struct perr *e)
{
	struct mpool *p;
	const char *policy = policy_names[0];
	size_t i, k;
	int b;

	switch (cs->id) {
	case CMD_POOL_ADD:
		if (argc != 1 && argc != 3)
			return usage_err(e, cs);
		if (!valid_name(argv[0]))
			return bad_name(e, "pool", argv[0]);
		if (argc == 3 && strcmp(argv[1], "policy") != 0)
			return usage_err(e, cs);
		e->code = 0;
		if (argc == 3 && m_pool_policy(argv[2], &policy, e) == -1)
			return e->code ? -1 : usage_err(e, cs);
		if (find_pool(m, argv[0]) != NULL)
			return perr(e, CTL_ERR_RUNTIME, "pool \"%s\" exists",
			    argv[0]);
		add_pool(m, argv[0], policy, line);
		return 0;
	case CMD_POOL_SET:
		if (argc != 3 || strcmp(argv[1], "policy") != 0)
			return usage_err(e, cs);
		e->code = 0;
		if (m_pool_policy(argv[2], &policy, e) == -1)
			return e->code ? -1 : usage_err(e, cs);
		if ((p = find_pool(m, argv[0])) == NULL)
			return perr(e, CTL_ERR_RUNTIME, "pool \"%s\" does not "
			    "exist", argv[0]);
		p->policy = policy;
		p->line = line;
		return 0;
	default:	/* CMD_POOL_DEL */
		if (argc != 1)
			return usage_err(e, cs);
		if ((p = find_pool(m, argv[0])) == NULL)
			return perr(e, CTL_ERR_RUNTIME, "pool \"%s\" does not "
			    "exist", argv[0]);
		for (i = 0; i < m->nr; i++)
			if (m->r[i].pool != NULL &&
			    strcmp(m->r[i].pool, p->name) == 0)
				return perr(e, CTL_ERR_RUNTIME, "pool \"%s\" is "
				    "used by the route at position %zu",
				    p->name, i + 1);
		/* Memberships go with the pool. */
		for (k = 0; k < m->nb; k++)
			for (b = 0; b < m->b[k].npools; b++)
				if (strcmp(m->b[k].pools[b], p->name) == 0) {
					free(m->b[k].pools[b]);
					m->b[k].pools[b] =
					    m->b[k].pools[--m->b[k].npools];
					break;
				}
		i = p - m->p;
		free(p->name);
		memmove(&m->p[i], &m->p[i + 1], (m->np - i - 1) *
		    sizeof(*m->p));
		m->np--;
		return 0;
	}
}

/* Insert r at index at (0-based) of the model's routes. */
static void
route_insert(struct model *m, const struct mroute *r, size_t at)
{
	if (m->nr == m->rcap) {
		m->rcap = m->rcap ? m->rcap * 2 : 64;
		m->r = xrealloc(m->r, m->rcap * sizeof(*m->r));
	}
	memmove(&m->r[at + 1], &m->r[at], (m->nr - at) * sizeof(*m->r));
	m->r[at] = *r;
	m->nr++;
}

static int
m_route_add(struct model *m, const struct cmd_spec *cs, int argc,
    char **argv, unsigned line, struct perr *e)
{
	struct mroute r;
	const char *pool = NULL, *comment = "";
	long at = 0;
	int i, a, action = -1, qtype = 0;

	if (argc < 2)
		return usage_err(e, cs);
	for (i = 1; i < argc; i++) {
		const char *o = argv[i];

		if ((a = word_index(action_names, o)) != -1) {
			if (action != -1)
				return perr(e, CTL_ERR_SYNTAX, "a route has one "
				    "action; \"%s\" is a second", o);
			action = a;
			if (a != ACT_POOL)
				continue;
			if (++i == argc)
				return usage_err(e, cs);
			if (find_pool(m, argv[i]) == NULL)
				return perr(e, CTL_ERR_RUNTIME, "pool \"%s\" "
				    "does not exist (pool add %s, or backend "
				    "add ... pool %s)", argv[i], argv[i],
				    argv[i]);
			pool = argv[i];
			continue;
		}
		if (++i == argc)
			return perr(e, CTL_ERR_SYNTAX, "%s needs a value", o);
		if (strcmp(o, "qtype") == 0) {
			if (parse_qtype(argv[i], &qtype) == -1)
				return perr(e, CTL_ERR_SYNTAX, "unknown qtype "
				    "\"%s\"", argv[i]);
		} else if (strcmp(o, "at") == 0) {
			if (parse_int(argv[i], 1, MAX_ROUTES, &at) == -1)
				return perr(e, CTL_ERR_SYNTAX, "bad position "
				    "\"%s\"", argv[i]);
		} else if (strcmp(o, "comment") == 0)
			comment = argv[i];
		else
			return perr(e, CTL_ERR_SYNTAX, "unknown option \"%s\"; "
			    "usage: route add REGEX [qtype TYPE] (pool POOL | "
			    "refuse | nxdomain | servfail | drop) [at POSITION] "
			    "[comment TEXT]", o);
	}
	if (action == -1)
		return perr(e, CTL_ERR_SYNTAX, "route add needs an action: "
		    "pool POOL, refuse, nxdomain, servfail or drop");
	if (m->nr >= MAX_ROUTES)
		return perr(e, CTL_ERR_RUNTIME, "too many routes (%d)",
		    MAX_ROUTES);
	if (at > (long)m->nr + 1)
		return perr(e, CTL_ERR_RUNTIME, "position %ld is past the end "
		    "(%zu routes)", at, m->nr);
	memset(&r, 0, sizeof(r));
	r.pattern = xstrdup(argv[0]);
	r.pool = pool ? xstrdup(pool) : NULL;
	r.comment = xstrdup(comment);
	r.qtype = qtype;
	r.action = action;
	r.line = line;
	route_insert(m, &r, at == 0 ? m->nr : (size_t)at - 1);
	return 0;
}

/* Run one command line on the model.  *quit is set by quit. */
static int
model_exec(struct model *m, const char *line, unsigned lineno, int *quit,
    struct perr *e)
{
	const struct cmd_spec *cs;
	const struct setting_spec *sp;
	struct tok_line t;
	char err[256], **argv;
	int nw, argc, rc = 0;

	if (tok_split(line, &t, err, sizeof(err)) == -1)
		return perr(e, CTL_ERR_SYNTAX, "%s", err);
	if (t.argc == 0)
		goto out;
	if (strpbrk(line, "\n\r") != NULL) {
		rc = perr(e, CTL_ERR_SYNTAX, "a command is one line");
		goto out;
	}
	if (strlen(line) >= CTL_LINE_MAX) {
		rc = perr(e, CTL_ERR_SYNTAX, "command longer than %d bytes",
		    CTL_LINE_MAX - 1);
		goto out;
	}
	if ((cs = cmd_lookup(t.argc, t.argv, &nw, err, sizeof(err))) ==
	    NULL) {
		rc = perr(e, CTL_ERR_SYNTAX, "%s", err);
		goto out;
	}
	argc = t.argc - nw;
	argv = t.argv + nw;
	switch (cs->id) {
	case CMD_SET:
		if (argc != 2) {
			rc = usage_err(e, cs);
			break;
		}
		if ((sp = setting_lookup(argv[0])) == NULL) {
			rc = perr(e, CTL_ERR_RUNTIME, "unknown setting \"%s\"; "
			    "see show settings", argv[0]);
			break;
		}
		free(m->set[sp - setting_table]);
		m->set[sp - setting_table] = xstrdup(argv[1]);
		m->setline[sp - setting_table] = lineno;
		break;
	case CMD_POOL_ADD:
	case CMD_POOL_SET:
	case CMD_POOL_DEL:
		rc = m_pool(m, cs, argc, argv, lineno, e);
		break;
	case CMD_BACKEND_ADD:
		rc = m_backend_add(m, cs, argc, argv, lineno, e);
		break;
	case CMD_BACKEND_SET:
		rc = m_backend_set(m, cs, argc, argv, lineno, e);
		break;
	case CMD_BACKEND_DEL:
		rc = m_backend_del(m, cs, argc, argv, e);
		break;
	case CMD_BACKEND_DRAIN:
	case CMD_BACKEND_UNDRAIN:
	case CMD_BACKEND_ENABLE:
	case CMD_BACKEND_DISABLE:
		rc = m_backend_admin(m, cs, argc, argv, e);
		break;
	case CMD_ROUTE_ADD:
		rc = m_route_add(m, cs, argc, argv, lineno, e);
		break;
	case CMD_HELP:
		break;
	case CMD_QUIT:
		*quit = 1;
		break;
	case CMD_ROUTE_DEL:
	case CMD_ROUTE_MOVE:
		rc = perr(e, CTL_ERR_SYNTAX, "\"%s\" has no place in a "
		    "--replace file: route ids are not part of it; list the "
		    "routes in the order wanted", cs->words);
		break;
	default:
		rc = perr(e, CTL_ERR_SYNTAX, "\"%s\" has no place in a "
		    "--replace file: it holds set, pool, backend and route add "
		    "commands that describe the state", cs->words);
		break;
	}
out:
	tok_free(&t);
	return rc;
}

/* ---- reading the current state ---- */

/* A renderer that keeps what it is given instead of printing it. */
static struct {
	char	**text;
	size_t	  ntext;
	char	**cols;
	int	  ncols;
	char	***rows;	/* NULL-terminated field lists */
	size_t	  nrows;
	int	  code;
	char	  msg[1024];
} cap;

static void
cap_clear(void)
{
	size_t i;
	int k;

	for (i = 0; i < cap.ntext; i++)
		free(cap.text[i]);
	free(cap.text);
	for (k = 0; k < cap.ncols; k++)
		free(cap.cols[k]);
	free(cap.cols);
	for (i = 0; i < cap.nrows; i++) {
		for (k = 0; cap.rows[i][k] != NULL; k++)
			free(cap.rows[i][k]);
		free(cap.rows[i]);
	}
	free(cap.rows);
	memset(&cap, 0, sizeof(cap));
}

static void
cap_begin(struct ctl *ctl, const char *cmd)
{
	(void)ctl;
	(void)cmd;
	cap_clear();
}

static void
cap_columns(struct ctl *ctl, char **names, int n)
{
	int i;

	(void)ctl;
	for (i = 0; i < cap.ncols; i++)
		free(cap.cols[i]);
	cap.cols = xrealloc(cap.cols, n * sizeof(*cap.cols));
	for (i = 0; i < n; i++)
		cap.cols[i] = xstrdup(names[i]);
	cap.ncols = n;
}

static void
cap_row(struct ctl *ctl, char **f, int n)
{
	char **r = xcalloc(n + 1, sizeof(*r));
	int i;

	(void)ctl;
	for (i = 0; i < n; i++)
		r[i] = xstrdup(f[i]);
	if ((cap.nrows & (cap.nrows - 1)) == 0)
		cap.rows = xrealloc(cap.rows, (cap.nrows ? cap.nrows * 2 : 1) *
		    sizeof(*cap.rows));
	cap.rows[cap.nrows++] = r;
}

static void
cap_text(struct ctl *ctl, const char *line)
{
	(void)ctl;
	if ((cap.ntext & (cap.ntext - 1)) == 0)
		cap.text = xrealloc(cap.text, (cap.ntext ? cap.ntext * 2 : 1) *
		    sizeof(*cap.text));
	cap.text[cap.ntext++] = xstrdup(line);
}

static void
cap_notice(struct ctl *ctl, const char *line)
{
	(void)ctl;
	(void)line;
}

static void
cap_done(struct ctl *ctl, int code, const char *msg, const char *where)
{
	(void)ctl;
	(void)where;
	cap.code = code;
	snprintf(cap.msg, sizeof(cap.msg), "%s", msg);
}

static const struct ctl_output output_capture = {
	cap_begin, cap_columns, cap_row, cap_row, cap_text, cap_notice,
	cap_done
};

/* Run a command that reads into cap; a failure is rendered for real. */
static int
fetch(struct ctl *ctl, const char *cmd, const char *name)
{
	const struct ctl_output *real = ctl->out;
	int st;

	ctl->out = &output_capture;
	st = ctl_exec(ctl, cmd, name, 0);
	ctl->out = real;
	if (st != CTL_ST_OK)
		ctl_local_reply(ctl, cmd, cap.code, cap.msg, name);
	return st;
}

static int
col_index(const char *name)
{
	int i;

	for (i = 0; i < cap.ncols; i++)
		if (strcmp(cap.cols[i], name) == 0)
			return i;
	return -1;
}

static int
fail_state(struct ctl *ctl, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
fail_state(struct ctl *ctl, const char *name, const char *fmt, ...)
{
	char msg[1100];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	ctl_local_reply(ctl, "replace", CTL_CODE_CLIENT, msg, name);
	return CTL_ST_FAIL;
}

/* The state inside the open transaction: export for everything, then
 * show routes (the committed table, which nothing in this transaction
 * has changed yet) for the ids the export does not carry. */
static int
read_current(struct ctl *ctl, const char *name, struct model *cur)
{
	struct perr e;
	size_t i, nrows;
	int st, quit = 0, ci[7], k, n;
	static const char *const want[7] = { "id#", "pattern", "qtype",
	    "action", "pool", "comment", "position#" };

	if ((st = fetch(ctl, "export", name)) != CTL_ST_OK)
		return st;
	for (i = 0; i < cap.ntext; i++)
		if (model_exec(cur, cap.text[i], i + 1, &quit, &e) == -1)
			return fail_state(ctl, name, "cannot read the daemon's "
			    "export, line %zu (\"%.80s\"): %s", i + 1,
			    cap.text[i], e.msg);
	if ((st = fetch(ctl, "show routes", name)) != CTL_ST_OK)
		return st;
	for (k = 0; k < 7; k++)
		if ((ci[k] = col_index(want[k])) == -1)
			return fail_state(ctl, name, "show routes has no "
			    "column %s", want[k]);
	nrows = cap.nrows;
	if (nrows != cur->nr)
		return fail_state(ctl, name, "the export has %zu routes and "
		    "show routes %zu; did the state change? try again",
		    cur->nr, nrows);
	for (i = 0; i < nrows; i++) {
		char **f = cap.rows[i];
		struct mroute *r = &cur->r[i];
		long long id;

		for (n = 0; f[n] != NULL; n++)
			;
		for (k = 0; k < 7; k++)
			if (ci[k] >= n)
				return fail_state(ctl, name, "show routes: a "
				    "short row");
		id = strtoll(f[ci[0]], NULL, 10);
		if (id <= 0 || strcmp(f[ci[1]], r->pattern) != 0 ||
		    strtol(f[ci[6]], NULL, 10) != (long)i + 1)
			return fail_state(ctl, name, "the export and show "
			    "routes disagree at position %zu; did the state "
			    "change? try again", i + 1);
		r->id = id;
	}
	return CTL_ST_OK;
}

/* ---- the differences ---- */

static void
plan_add(struct plan *pl, char op, struct sb *cmd, const char *detail,
    unsigned line)
{
	struct change *c;

	if (pl->n == pl->cap) {
		pl->cap = pl->cap ? pl->cap * 2 : 64;
		pl->v = xrealloc(pl->v, pl->cap * sizeof(*pl->v));
	}
	c = &pl->v[pl->n++];
	c->op = op;
	c->cmd = cmd->s;
	c->detail = detail ? xstrdup(detail) : NULL;
	c->line = line;
	memset(cmd, 0, sizeof(*cmd));
	if (op == '+')
		pl->nadd++;
	else if (op == '-')
		pl->ndel++;
	else
		pl->nchg++;
}

static void
plan_free(struct plan *pl)
{
	size_t i;

	for (i = 0; i < pl->n; i++) {
		free(pl->v[i].cmd);
		free(pl->v[i].detail);
	}
	free(pl->v);
}

static void
plan_settings(struct plan *pl, const struct model *cur,
    const struct model *tgt)
{
	struct sb b = { NULL, 0, 0 };
	const char *cv, *tv;
	size_t i;

	for (i = 0; i < setting_table_len; i++) {
		cv = cur->set[i] ? cur->set[i] : setting_table[i].defval;
		tv = tgt->set[i] ? tgt->set[i] : setting_table[i].defval;
		if (strcmp(cv, tv) == 0)
			continue;
		sb_word(&b, "set");
		sb_word(&b, setting_table[i].name);
		sb_word(&b, tv);
		plan_add(pl, '~', &b, NULL, tgt->setline[i]);
	}
}

static void
plan_pools_add(struct plan *pl, const struct model *cur,
    const struct model *tgt)
{
	struct sb b = { NULL, 0, 0 };
	const struct mpool *c;
	size_t i;

	for (i = 0; i < tgt->np; i++) {
		const struct mpool *t = &tgt->p[i];

		if ((c = find_pool(cur, t->name)) != NULL &&
		    strcmp(c->policy, t->policy) == 0)
			continue;
		sb_word(&b, "pool");
		sb_word(&b, c ? "set" : "add");
		sb_word(&b, t->name);
		sb_word(&b, "policy");
		sb_word(&b, t->policy);
		plan_add(pl, c ? '~' : '+', &b, NULL, t->line);
	}
}

static void
plan_pools_del(struct plan *pl, const struct model *cur,
    const struct model *tgt)
{
	struct sb b = { NULL, 0, 0 };
	size_t i;

	for (i = 0; i < cur->np; i++) {
		if (find_pool(tgt, cur->p[i].name) != NULL)
			continue;
		sb_word(&b, "pool");
		sb_word(&b, "del");
		sb_word(&b, cur->p[i].name);
		plan_add(pl, '-', &b, NULL, 0);
	}
}

static int
same_pools(const struct mbackend *a, const struct mbackend *b)
{
	int i;

	if (a->npools != b->npools)
		return 0;
	for (i = 0; i < a->npools; i++)
		if (!backend_in(b, a->pools[i]))
			return 0;
	return 1;
}

/* The options of t that differ from c (all that differ from the defaults
 * when c is NULL), as words. */
static int
backend_diff_words(struct sb *b, const struct mbackend *c,
    const struct mbackend *t)
{
	struct mbackend d;
	char qt[32];
	int i, n = 0;

	if (c == NULL) {
		backend_defaults(&d);
		c = &d;
	} else if (strcmp(c->addr, t->addr) != 0) {
		sb_word(b, "addr");
		sb_word(b, t->addr);
		n++;
	}
	if (!same_pools(c, t)) {
		for (i = 0; i < t->npools; i++) {
			sb_word(b, "pool");
			sb_word(b, t->pools[i]);
		}
		if (t->npools == 0) {
			sb_word(b, "pool");
			sb_word(b, "-");
		}
		n++;
	}
	if (c->weight != t->weight) {
		sb_word(b, "weight");
		sb_wordf(b, "%d", t->weight);
		n++;
	}
	if (c->tcp != t->tcp) {
		sb_word(b, "transport");
		sb_word(b, t->tcp ? "tcp" : "udp");
		n++;
	}
	if (strcmp(c->qname, t->qname) != 0 || c->qtype != t->qtype ||
	    c->qclass != t->qclass) {
		sb_word(b, "check");
		sb_word(b, t->qname);
		sb_word(b, qtype_str(t->qtype, qt, sizeof(qt)));
		sb_word(b, class_str(t->qclass));
		n++;
	}
	if (c->check_tcp != t->check_tcp) {
		sb_word(b, "check-transport");
		sb_word(b, t->check_tcp ? "tcp" : "udp");
		n++;
	}
	if (c->interval_ms != t->interval_ms) {
		sb_word(b, "interval");
		sb_wordf(b, "%ldms", t->interval_ms);
		n++;
	}
	if (c->timeout_ms != t->timeout_ms) {
		sb_word(b, "timeout");
		sb_wordf(b, "%ld", t->timeout_ms);
		n++;
	}
	if (c->fall != t->fall) {
		sb_word(b, "fall");
		sb_wordf(b, "%d", t->fall);
		n++;
	}
	if (c->rise != t->rise) {
		sb_word(b, "rise");
		sb_wordf(b, "%d", t->rise);
		n++;
	}
	if (c->rcode != t->rcode) {
		sb_word(b, "rcode");
		if (t->rcode < 0)
			sb_word(b, "any");
		else
			sb_wordf(b, "%d", t->rcode);
		n++;
	}
	if (c == &d)
		free(d.qname);
	return n;
}

static void
plan_admin(struct plan *pl, const char *name, int from, int to,
    unsigned line)
{
	struct sb b = { NULL, 0, 0 };

	if (from == to)
		return;
	if (to == ADM_DRAINED && from == ADM_DISABLED) {
		sb_word(&b, "backend");
		sb_word(&b, "enable");
		sb_word(&b, name);
		plan_add(pl, '~', &b, NULL, line);
		from = ADM_ENABLED;
	}
	sb_word(&b, "backend");
	if (to == ADM_DRAINED)
		sb_word(&b, "drain");
	else if (to == ADM_DISABLED)
		sb_word(&b, "disable");
	else
		sb_word(&b, from == ADM_DRAINED ? "undrain" : "enable");
	sb_word(&b, name);
	plan_add(pl, '~', &b, NULL, line);
}

static void
plan_backends(struct plan *pl, const struct model *cur,
    const struct model *tgt)
{
	struct sb b = { NULL, 0, 0 };
	const struct mbackend *c;
	size_t i;

	for (i = 0; i < cur->nb; i++) {
		if (find_backend(tgt, cur->b[i].name) != NULL)
			continue;
		sb_word(&b, "backend");
		sb_word(&b, "del");
		sb_word(&b, cur->b[i].name);
		plan_add(pl, '-', &b, NULL, 0);
	}
	for (i = 0; i < tgt->nb; i++) {
		const struct mbackend *t = &tgt->b[i];

		c = find_backend(cur, t->name);
		sb_word(&b, "backend");
		sb_word(&b, c ? "set" : "add");
		sb_word(&b, t->name);
		if (c == NULL)
			sb_word(&b, t->addr);
		if (backend_diff_words(&b, c, t) > 0 || c == NULL)
			plan_add(pl, c ? '~' : '+', &b, NULL, t->line);
		else {
			free(b.s);
			memset(&b, 0, sizeof(b));
		}
		plan_admin(pl, t->name, c ? c->admin : ADM_ENABLED, t->admin,
		    t->line);
	}
}

static void
route_words(struct sb *b, const struct mroute *r)
{
	char qt[32];

	sb_word(b, r->pattern);
	if (r->qtype != 0) {
		sb_word(b, "qtype");
		sb_word(b, qtype_str(r->qtype, qt, sizeof(qt)));
	}
	sb_word(b, action_names[r->action]);
	if (r->pool != NULL)
		sb_word(b, r->pool);
	if (r->comment[0] != '\0') {
		sb_word(b, "comment");
		sb_word(b, r->comment);
	}
}

static int
route_cmp(const struct mroute *a, const struct mroute *b)
{
	int c;

	if ((c = strcmp(a->pattern, b->pattern)) != 0)
		return c;
	if (a->qtype != b->qtype)
		return a->qtype < b->qtype ? -1 : 1;
	if (a->action != b->action)
		return a->action < b->action ? -1 : 1;
	if ((c = strcmp(a->pool ? a->pool : "", b->pool ? b->pool : "")) != 0)
		return c;
	return strcmp(a->comment, b->comment);
}

static const struct mroute *sort_routes;

/* By key, then by position, so equal routes pair up in order. */
static int
route_idx_cmp(const void *x, const void *y)
{
	size_t a = *(const size_t *)x, b = *(const size_t *)y;
	int c = route_cmp(&sort_routes[a], &sort_routes[b]);

	if (c != 0)
		return c;
	return a < b ? -1 : a > b;
}

static size_t *
sorted_index(const struct mroute *r, size_t n)
{
	size_t *v = xcalloc(n + 1, sizeof(*v)), i;

	for (i = 0; i < n; i++)
		v[i] = i;
	sort_routes = r;
	qsort(v, n, sizeof(*v), route_idx_cmp);
	return v;
}

/* Mark in keep[] the t whose c = mt[t] (>= 0) form a longest increasing
 * run, in t order. */
static void
mark_lis(const ssize_t *mt, size_t nt, char *keep)
{
	size_t *tail = xcalloc(nt + 1, sizeof(*tail));	/* t of each length */
	ssize_t *prev = xcalloc(nt + 1, sizeof(*prev));
	size_t len = 0, lo, hi, mid, t;
	ssize_t k;

	for (t = 0; t < nt; t++) {
		if (mt[t] < 0)
			continue;
		lo = 0;
		hi = len;
		while (lo < hi) {
			mid = (lo + hi) / 2;
			if (mt[tail[mid]] < mt[t])
				lo = mid + 1;
			else
				hi = mid;
		}
		prev[t] = lo > 0 ? (ssize_t)tail[lo - 1] : -1;
		tail[lo] = t;
		if (lo == len)
			len++;
	}
	for (k = len > 0 ? (ssize_t)tail[len - 1] : -1; k >= 0; k = prev[k])
		keep[k] = 1;
	free(tail);
	free(prev);
}

/* Index of t in the list (of target indexes), searching from hint. */
static size_t
list_find(const size_t *list, size_t n, size_t t, size_t hint)
{
	size_t i;

	for (i = hint < n ? hint : 0; i < n; i++)
		if (list[i] == t)
			return i;
	for (i = 0; i < n; i++)
		if (list[i] == t)
			return i;
	abort();	/* every target placed so far is in the list */
}

static void
list_insert(size_t *list, size_t *n, size_t at, size_t t)
{
	memmove(&list[at + 1], &list[at], (*n - at) * sizeof(*list));
	list[at] = t;
	(*n)++;
}

static void
plan_routes(struct plan *pl, const struct model *cur,
    const struct model *tgt)
{
	struct sb b = { NULL, 0, 0 }, d = { NULL, 0, 0 };
	size_t nc = cur->nr, nt = tgt->nr, i, j, *ci, *ti, *list, n = 0;
	size_t q, p, at, hint = 0;
	ssize_t *mt, *tm;
	char *keep;
	int c;

	mt = xcalloc(nt + 1, sizeof(*mt));
	tm = xcalloc(nc + 1, sizeof(*tm));
	keep = xcalloc(nt + 1, 1);
	list = xcalloc(nc + nt + 1, sizeof(*list));
	for (j = 0; j < nt; j++)
		mt[j] = -1;
	for (i = 0; i < nc; i++)
		tm[i] = -1;

	/* Pair equal routes, in order. */
	ci = sorted_index(cur->r, nc);
	ti = sorted_index(tgt->r, nt);
	for (i = j = 0; i < nc && j < nt; ) {
		c = route_cmp(&cur->r[ci[i]], &tgt->r[ti[j]]);
		if (c == 0) {
			mt[ti[j]] = (ssize_t)ci[i];
			tm[ci[i]] = (ssize_t)ti[j];
			i++;
			j++;
		} else if (c < 0)
			i++;
		else
			j++;
	}
	free(ci);
	free(ti);

	/* The rest of the current routes go, last first: removing the last
	 * route renumbers no other. */
	for (i = 0; i < nc; i++)
		if (tm[i] >= 0)
			list[n++] = (size_t)tm[i];
	for (i = nc; i-- > 0; ) {
		if (tm[i] >= 0)
			continue;
		sb_word(&b, "route");
		sb_word(&b, "del");
		sb_wordf(&b, "%lld", cur->r[i].id);
		route_words(&d, &cur->r[i]);
		plan_add(pl, '-', &b, d.s, 0);
		free(d.s);
		memset(&d, 0, sizeof(d));
	}

	/* Each target route not on the kept run goes just after its
	 * predecessor: then every run of them hangs off a kept route (or
	 * the top) in target order, which is the target order. */
	mark_lis(mt, nt, keep);
	for (j = 0; j < nt; j++) {
		const struct mroute *r = &tgt->r[j];

		if (keep[j])
			continue;
		/* q: the index the route should take, before it moves. */
		q = 0;
		if (j > 0) {
			hint = list_find(list, n, j - 1, hint);
			q = hint + 1;
		}
		if (mt[j] < 0) {
			sb_word(&b, "route");
			sb_word(&b, "add");
			route_words(&b, r);
			if (q < n) {
				sb_word(&b, "at");
				sb_wordf(&b, "%zu", q + 1);
			}
			plan_add(pl, '+', &b, NULL, r->line);
			list_insert(list, &n, q, j);
			hint = q;
			continue;
		}
		p = list_find(list, n, j, q);
		if (p == q)
			continue;
		memmove(&list[p], &list[p + 1], (n - p - 1) * sizeof(*list));
		n--;
		at = p < q ? q - 1 : q;
		list_insert(list, &n, at, j);
		hint = at;
		sb_word(&b, "route");
		sb_word(&b, "move");
		sb_wordf(&b, "%lld", cur->r[mt[j]].id);
		sb_wordf(&b, "%zu", at + 1);
		route_words(&d, r);
		plan_add(pl, '~', &b, d.s, r->line);
		free(d.s);
		memset(&d, 0, sizeof(d));
	}
	free(mt);
	free(tm);
	free(keep);
	free(list);
}

/* ---- output ---- */

static void
print_summary(struct ctl *ctl, const struct plan *pl, const char *name,
    int dry_run)
{
	const struct ctl_output *o = ctl->out;
	struct sb s = { NULL, 0, 0 };
	char msg[256], line[32], *f[4];
	size_t i;
	int json = (o == &output_json);

	sb_raw(&s, "replace ", 8);
	sb_raw(&s, name, strlen(name));
	o->begin(ctl, s.s);
	free(s.s);
	if (json && pl->n > 0) {
		char *cols[4] = { "op", "command", "detail", "line#" };

		o->columns(ctl, cols, 4);
	}
	for (i = 0; i < pl->n; i++) {
		const struct change *c = &pl->v[i];
		char op[2] = { c->op, '\0' };

		if (json) {
			f[0] = op;
			f[1] = c->cmd;
			f[2] = c->detail ? c->detail : ctl_null;
			snprintf(line, sizeof(line), "%u", c->line);
			f[3] = c->line ? line : ctl_null;
			o->row(ctl, f, 4);
			continue;
		}
		memset(&s, 0, sizeof(s));
		sb_raw(&s, op, 1);
		sb_raw(&s, " ", 1);
		sb_raw(&s, c->cmd, strlen(c->cmd));
		if (c->detail != NULL) {
			sb_raw(&s, " (", 2);
			sb_raw(&s, c->detail, strlen(c->detail));
			sb_raw(&s, ")", 1);
		}
		o->text(ctl, s.s);
		free(s.s);
	}
	if (pl->n == 0)
		snprintf(msg, sizeof(msg), "%sno changes: the state already "
		    "equals %s", dry_run ? "dry run: " : "", name);
	else
		snprintf(msg, sizeof(msg), "%s%zu change%s: %u added, %u "
		    "removed, %u changed%s", dry_run ? "dry run: " : "",
		    pl->n, pl->n == 1 ? "" : "s", pl->nadd, pl->ndel,
		    pl->nchg, dry_run ? "; checked, nothing applied" :
		    "; committed");
	o->done(ctl, CTL_OK, msg, NULL);
}

int
replace_run(struct ctl *ctl, FILE *fp, const char *name, int dry_run)
{
	struct batch_reader br;
	struct model tgt, cur;
	struct plan pl;
	struct perr e;
	char *cmd, where[1100];
	unsigned start;
	size_t i;
	int st = CTL_ST_OK, r = 0, quit = 0;

	model_init(&tgt);
	model_init(&cur);
	memset(&pl, 0, sizeof(pl));

	/* FILE alone, from the empty state: nothing is sent if it is bad. */
	batch_init(&br, fp);
	while (!quit && (r = batch_next(&br, &cmd, &start)) == 1) {
		if (model_exec(&tgt, cmd, start, &quit, &e) == 0)
			continue;
		snprintf(where, sizeof(where), "%s:%u", name, start);
		ctl_local_reply(ctl, cmd, e.code, e.msg, where);
		st = CTL_ST_REFUSED;
		break;
	}
	if (st == CTL_ST_OK && !quit && r == -1) {
		ctl_local_reply(ctl, "", CTL_CODE_CLIENT, "read error", name);
		st = CTL_ST_FAIL;
	}
	batch_free(&br);
	if (st != CTL_ST_OK)
		goto out;

	if ((st = ctl_exec(ctl, "begin", name, CTL_X_QUIET)) != CTL_ST_OK)
		goto out;
	if ((st = read_current(ctl, name, &cur)) != CTL_ST_OK)
		goto abort;
	cap_clear();

	/* Pools before what uses them, pools last out. */
	plan_settings(&pl, &cur, &tgt);
	plan_pools_add(&pl, &cur, &tgt);
	plan_backends(&pl, &cur, &tgt);
	plan_routes(&pl, &cur, &tgt);
	plan_pools_del(&pl, &cur, &tgt);

	for (i = 0; i < pl.n; i++) {
		if (pl.v[i].line)
			snprintf(where, sizeof(where), "%s:%u", name,
			    pl.v[i].line);
		else
			snprintf(where, sizeof(where), "%s", name);
		st = ctl_exec(ctl, pl.v[i].cmd, where, CTL_X_QUIET);
		if (st != CTL_ST_OK)
			goto abort;
	}
	if (pl.n == 0 || dry_run)
		st = ctl_exec(ctl, "abort", name, CTL_X_QUIET);
	else
		st = ctl_exec(ctl, "commit", name, CTL_X_QUIET);
	if (st == CTL_ST_OK)
		print_summary(ctl, &pl, name, dry_run);
	goto out;
abort:
	if (ctl->in_txn)
		ctl_exec(ctl, "abort", name, CTL_X_SILENT);
out:
	cap_clear();
	plan_free(&pl);
	model_free(&tgt);
	model_free(&cur);
	return st;
}

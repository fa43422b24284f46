/*
 * model: the command language's state, simulated (see model.h).
 */
#include <sys/types.h>
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "argparse.h"
#include "backend_opts.h"
#include "cmdtab.h"
#include "ctlproto.h"
#include "dnsmsg.h"
#include "dnsnames.h"
#include "tokenize.h"
#include "util.h"
#include "model.h"

#define MAX_ROUTES		100000

static const char *const admin_names[] = { "enabled", "drained", "disabled" };
const char *const model_actions[] = {
	"pool", "refuse", "nxdomain", "servfail", "drop", NULL
};
static const char *const policy_names[] = {
	"roundrobin", "weighted", "first", "least-outstanding", "race",
	"fanout", NULL
};

static int
perr(struct model_err *e, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
perr(struct model_err *e, int code, const char *fmt, ...)
{
	va_list ap;

	e->code = code;
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	return -1;
}

static int
usage_err(struct model_err *e, const struct cmd_spec *cs)
{
	char buf[1024], *p;

	snprintf(buf, sizeof(buf), "%s", cs->usage);
	for (p = buf; *p != '\0'; p++)
		if (*p == '\n')
			*p = ' ';
	return perr(e, CTL_ERR_SYNTAX, "usage: %s", buf);
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
bad_name(struct model_err *e, const char *what, const char *s)
{
	return perr(e, CTL_ERR_SYNTAX, "bad %s name \"%s\": use 1-%d letters, "
	    "digits, '.', '_' or '-'", what, s, ARG_NAME_MAX - 1);
}

/* ---- the model ---- */

void
model_init(struct model *m)
{
	memset(m, 0, sizeof(*m));
	m->set = xcalloc(setting_table_len, sizeof(*m->set));
	m->setline = xcalloc(setting_table_len, sizeof(*m->setline));
}

static void
backend_clear(struct model_backend *b)
{
	int i;

	for (i = 0; i < b->npools; i++)
		free(b->pools[i]);
	free(b->pools);
	free(b->name);
	free(b->qname);
}

static void
route_clear(struct model_route *r)
{
	free(r->pattern);
	free(r->pool);
	free(r->comment);
}

void
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

struct model_pool *
model_find_pool(const struct model *m, const char *name)
{
	size_t i;

	for (i = 0; i < m->np; i++)
		if (strcmp(m->p[i].name, name) == 0)
			return &m->p[i];
	return NULL;
}

struct model_backend *
model_find_backend(const struct model *m, const char *name)
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

int
model_backend_in(const struct model_backend *b, const char *pool)
{
	int i;

	for (i = 0; i < b->npools; i++)
		if (strcmp(b->pools[i], pool) == 0)
			return 1;
	return 0;
}

static void
backend_set_pools(struct model *m, struct model_backend *b, char **names, int n,
    unsigned line)
{
	int i;

	for (i = 0; i < b->npools; i++)
		free(b->pools[i]);
	free(b->pools);
	b->pools = NULL;
	b->npools = 0;
	for (i = 0; i < n; i++) {
		if (model_backend_in(b, names[i]))
			continue;
		if (model_find_pool(m, names[i]) == NULL)
			add_pool(m, names[i], policy_names[0], line);
		b->pools = xrealloc(b->pools, (b->npools + 1) *
		    sizeof(*b->pools));
		b->pools[b->npools++] = xstrdup(names[i]);
	}
}

/* The backend settings the shared parser works on, to and from ours. */
static void
conf_to_model(const struct backend_conf *c, struct model_backend *b)
{
	snprintf(b->addr, sizeof(b->addr), "%s", c->addr);
	b->weight = c->weight;
	b->tcp = c->tcp;
	free(b->qname);
	b->qname = xstrdup(c->qname);
	b->qtype = c->qtype;
	b->qclass = c->qclass;
	b->check_tcp = c->check_tcp;
	b->rcode = c->rcode;
	b->interval_ms = c->interval_ms;
	b->timeout_ms = c->timeout_ms;
	b->fall = c->fall;
	b->rise = c->rise;
}

static void
model_to_conf(const struct model_backend *b, struct backend_conf *c)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->addr, sizeof(c->addr), "%s", b->addr);
	c->weight = b->weight;
	c->tcp = b->tcp;
	snprintf(c->qname, sizeof(c->qname), "%s", b->qname);
	c->qtype = b->qtype;
	c->qclass = b->qclass;
	c->check_tcp = b->check_tcp;
	c->rcode = b->rcode;
	c->interval_ms = b->interval_ms;
	c->timeout_ms = b->timeout_ms;
	c->fall = b->fall;
	c->rise = b->rise;
}

void
model_backend_defaults(struct model_backend *b)
{
	struct backend_conf c;

	backend_conf_defaults(&c);
	memset(b, 0, sizeof(*b));
	conf_to_model(&c, b);
	b->admin = MODEL_ENABLED;
}

/* The options of backend add and set, into b; the pool list into pools
 * (pointers into argv).  The parsing is common/backend_opts.c, the
 * daemon's own; an option added there must still be added to
 * backend_diff_words() in replace.c and to export (test_replace.py). */
static int
backend_opts(const struct cmd_spec *cs, struct model_backend *b, int argc,
    char **argv, int allow_addr, char **pools, int *npools, int *given,
    struct model_err *e)
{
	struct backend_conf c;
	struct backend_pools p;
	char err[1400];
	int i;

	memset(&p, 0, sizeof(p));
	model_to_conf(b, &c);
	if (backend_opts_parse(argc, argv, allow_addr, &c, &p, cs->usage, err,
	    sizeof(err)) == -1)
		return perr(e, CTL_ERR_SYNTAX, "%s", err);
	conf_to_model(&c, b);
	for (i = 0; i < p.n; i++)
		pools[i] = (char *)(uintptr_t)p.name[i];
	*npools = p.n;
	*given = p.given;
	return 0;
}

static int
m_backend_add(struct model *m, const struct cmd_spec *cs, int argc,
    char **argv, unsigned line, struct model_err *e)
{
	struct model_backend b;
	char *pools[BACKEND_POOLS_MAX], err[256];
	int npools = 0, given = 0;

	if (argc < 2)
		return usage_err(e, cs);
	if (!arg_name_ok(argv[0]))
		return bad_name(e, "backend", argv[0]);
	model_backend_defaults(&b);
	if (backend_addr_norm(argv[1], b.addr, sizeof(b.addr), err,
	    sizeof(err)) == -1) {
		backend_clear(&b);
		return perr(e, CTL_ERR_SYNTAX, "%s", err);
	}
	if (backend_opts(cs, &b, argc - 2, argv + 2, 0, pools, &npools,
	    &given, e) == -1) {
		backend_clear(&b);
		return -1;
	}
	if (model_find_backend(m, argv[0]) != NULL) {
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
    char **argv, unsigned line, struct model_err *e)
{
	struct model_backend *b, nb;
	char *pools[BACKEND_POOLS_MAX];
	int npools = 0, given = 0;

	if (argc < 3)
		return usage_err(e, cs);
	if ((b = model_find_backend(m, argv[0])) == NULL)
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
    char **argv, struct model_err *e)
{
	struct model_backend *b;
	size_t i;

	if (argc != 1)
		return usage_err(e, cs);
	if ((b = model_find_backend(m, argv[0])) == NULL)
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
    char **argv, struct model_err *e)
{
	struct model_backend *b;

	if (argc != 1)
		return usage_err(e, cs);
	if ((b = model_find_backend(m, argv[0])) == NULL)
		return perr(e, CTL_ERR_RUNTIME, "backend \"%s\" does not exist",
		    argv[0]);
	switch (cs->id) {
	case CMD_BACKEND_DRAIN:
		if (b->admin == MODEL_DISABLED)
			return perr(e, CTL_ERR_RUNTIME, "backend \"%s\" is "
			    "disabled; enable it first", b->name);
		b->admin = MODEL_DRAINED;
		break;
	case CMD_BACKEND_UNDRAIN:
		if (b->admin != MODEL_DRAINED)
			return perr(e, CTL_ERR_RUNTIME, "backend \"%s\" is %s, "
			    "not drained", b->name, admin_names[b->admin]);
		b->admin = MODEL_ENABLED;
		break;
	case CMD_BACKEND_ENABLE:
		b->admin = MODEL_ENABLED;
		break;
	default:
		b->admin = MODEL_DISABLED;
		break;
	}
	return 0;
}

static int
m_pool_policy(const char *s, const char **out, struct model_err *e)
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
    unsigned line, struct model_err *e)
{
	struct model_pool *p;
	const char *policy = policy_names[0];
	size_t i, k;
	int b;

	switch (cs->id) {
	case CMD_POOL_ADD:
		if (argc != 1 && argc != 3)
			return usage_err(e, cs);
		if (!arg_name_ok(argv[0]))
			return bad_name(e, "pool", argv[0]);
		if (argc == 3 && strcmp(argv[1], "policy") != 0)
			return usage_err(e, cs);
		e->code = 0;
		if (argc == 3 && m_pool_policy(argv[2], &policy, e) == -1)
			return e->code ? -1 : usage_err(e, cs);
		if (model_find_pool(m, argv[0]) != NULL)
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
		if ((p = model_find_pool(m, argv[0])) == NULL)
			return perr(e, CTL_ERR_RUNTIME, "pool \"%s\" does not "
			    "exist", argv[0]);
		p->policy = policy;
		p->line = line;
		return 0;
	default:	/* CMD_POOL_DEL */
		if (argc != 1)
			return usage_err(e, cs);
		if ((p = model_find_pool(m, argv[0])) == NULL)
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
route_insert(struct model *m, const struct model_route *r, size_t at)
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
    char **argv, unsigned line, struct model_err *e)
{
	struct model_route r;
	const char *pool = NULL, *comment = "";
	long at = 0;
	int i, a, action = -1, qtype = 0;

	if (argc < 2)
		return usage_err(e, cs);
	for (i = 1; i < argc; i++) {
		const char *o = argv[i];

		if ((a = word_index(model_actions, o)) != -1) {
			if (action != -1)
				return perr(e, CTL_ERR_SYNTAX, "a route has one "
				    "action; \"%s\" is a second", o);
			action = a;
			if (a != MODEL_ACT_POOL)
				continue;
			if (++i == argc)
				return usage_err(e, cs);
			if (model_find_pool(m, argv[i]) == NULL)
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
			if (dnsname_type_parse(argv[i], &qtype) == -1)
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
int
model_exec(struct model *m, const char *line, unsigned lineno, int *quit,
    struct model_err *e)
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

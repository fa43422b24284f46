/*
 * replace: dnsroutectl -f FILE --replace.  FILE says what the whole state
 * is (settings, pools, backends with their options and admin state, routes
 * in order), as `export` prints it; everything it does not name goes.
 *
 * FILE is first run through the model of the commands (model.c), without
 * the daemon, starting from the empty state: its mistakes are reported as
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
 * in FILE.
 */
#include <sys/types.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cmdtab.h"
#include "ctlproto.h"
#include "tokenize.h"
#include "util.h"
#include "ctl.h"
#include "dnsnames.h"
#include "model.h"

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
	struct model_err e;
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
	/* Routes registered through etcd (negative ids, after all of the
	 * operator's) are not the export's nor FILE's business. */
	for (nrows = 0; nrows < cap.nrows; nrows++) {
		for (n = 0; cap.rows[nrows][n] != NULL; n++)
			;
		if (ci[0] < n && strtoll(cap.rows[nrows][ci[0]], NULL, 10) < 0)
			break;
	}
	if (nrows != cur->nr)
		return fail_state(ctl, name, "the export has %zu routes and "
		    "show routes %zu; did the state change? try again",
		    cur->nr, nrows);
	for (i = 0; i < nrows; i++) {
		char **f = cap.rows[i];
		struct model_route *r = &cur->r[i];
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
	const struct model_pool *c;
	size_t i;

	for (i = 0; i < tgt->np; i++) {
		const struct model_pool *t = &tgt->p[i];

		if ((c = model_find_pool(cur, t->name)) != NULL &&
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
		if (model_find_pool(tgt, cur->p[i].name) != NULL)
			continue;
		sb_word(&b, "pool");
		sb_word(&b, "del");
		sb_word(&b, cur->p[i].name);
		plan_add(pl, '-', &b, NULL, 0);
	}
}

static int
same_pools(const struct model_backend *a, const struct model_backend *b)
{
	int i;

	if (a->npools != b->npools)
		return 0;
	for (i = 0; i < a->npools; i++)
		if (!model_backend_in(b, a->pools[i]))
			return 0;
	return 1;
}

/* The options of t that differ from c (all that differ from the defaults
 * when c is NULL), as words. */
static int
backend_diff_words(struct sb *b, const struct model_backend *c,
    const struct model_backend *t)
{
	struct model_backend d;
	char qt[32], qc[32];
	int i, n = 0;

	if (c == NULL) {
		model_backend_defaults(&d);
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
		sb_word(b, dnsname_type_str(t->qtype, qt, sizeof(qt)));
		sb_word(b, dnsname_class_str(t->qclass, qc, sizeof(qc)));
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
	if (to == MODEL_DRAINED && from == MODEL_DISABLED) {
		sb_word(&b, "backend");
		sb_word(&b, "enable");
		sb_word(&b, name);
		plan_add(pl, '~', &b, NULL, line);
		from = MODEL_ENABLED;
	}
	sb_word(&b, "backend");
	if (to == MODEL_DRAINED)
		sb_word(&b, "drain");
	else if (to == MODEL_DISABLED)
		sb_word(&b, "disable");
	else
		sb_word(&b, from == MODEL_DRAINED ? "undrain" : "enable");
	sb_word(&b, name);
	plan_add(pl, '~', &b, NULL, line);
}

static void
plan_backends(struct plan *pl, const struct model *cur,
    const struct model *tgt)
{
	struct sb b = { NULL, 0, 0 };
	const struct model_backend *c;
	size_t i;

	for (i = 0; i < cur->nb; i++) {
		if (model_find_backend(tgt, cur->b[i].name) != NULL)
			continue;
		sb_word(&b, "backend");
		sb_word(&b, "del");
		sb_word(&b, cur->b[i].name);
		plan_add(pl, '-', &b, NULL, 0);
	}
	for (i = 0; i < tgt->nb; i++) {
		const struct model_backend *t = &tgt->b[i];

		c = model_find_backend(cur, t->name);
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
		plan_admin(pl, t->name, c ? c->admin : MODEL_ENABLED, t->admin,
		    t->line);
	}
}

static void
route_words(struct sb *b, const struct model_route *r)
{
	char qt[32];

	sb_word(b, r->pattern);
	if (r->qtype != 0) {
		sb_word(b, "qtype");
		sb_word(b, dnsname_type_str(r->qtype, qt, sizeof(qt)));
	}
	sb_word(b, model_actions[r->action]);
	if (r->pool != NULL)
		sb_word(b, r->pool);
	if (r->comment[0] != '\0') {
		sb_word(b, "comment");
		sb_word(b, r->comment);
	}
}

static int
route_cmp(const struct model_route *a, const struct model_route *b)
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

static const struct model_route *sort_routes;

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
sorted_index(const struct model_route *r, size_t n)
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
		const struct model_route *r = &tgt->r[j];

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
	struct model_err e;
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


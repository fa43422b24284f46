/*
 * cmd_export: the configured state of a store as data (statediff.h), and
 * `export`, which prints the commands that rebuild it: settings that
 * differ from their defaults, TSIG keys (their secrets only with `export
 * secrets`: else a comment), pools (their policy and the options that
 * differ from the defaults), backends with every option and their admin
 * state, routes in order.  Each line is a command formatted from its
 * struct (cmd_format), so it parses back to the same state.  The same
 * lines, without the heading comment and with every secret, are the state
 * a fleet shares (cmd_state_text, share_fmt.h).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "cmd.h"
#include "config.h"
#include "ctlproto.h"
#include "db.h"
#include "log.h"
#include "settings.h"
#include "state.h"
#include "statediff.h"
#include "util.h"

/* An id and where its item is, to find pools and backends by id. */
struct idx {
	int64_t	id;
	size_t	i;
};

struct reading {
	struct sd_state	*st;
	struct idx	*pools, *backends;
	size_t		 npools, nbackends;
};

static int
idx_cmp(const void *a, const void *b)
{
	const struct idx *x = a, *y = b;

	return x->id < y->id ? -1 : x->id > y->id;
}

static const struct idx *
idx_find(const struct idx *v, size_t n, int64_t id)
{
	struct idx key = { id, 0 };

	return n > 0 ? bsearch(&key, v, n, sizeof(*v), idx_cmp) : NULL;
}

static int
read_setting(const char *key, const char *val, void *arg)
{
	struct reading *rd = arg;
	const struct setting_spec *sp = setting_lookup(key);

	/* A setting this version does not know is not part of its state. */
	if (sp != NULL) {
		free(rd->st->set[sp - setting_table]);
		rd->st->set[sp - setting_table] = xstrdup(val);
	}
	return 0;
}

static int
read_key(const struct db_key *k, int users, void *arg)
{
	struct reading *rd = arg;

	(void)users;
	sd_add_key(rd->st, k->name, k->alg, k->secret);
	return 0;
}

static int
read_pool(const struct db_pool *p, void *arg)
{
	struct reading *rd = arg;

	rd->pools = xrealloc(rd->pools, (rd->npools + 1) * sizeof(*rd->pools));
	rd->pools[rd->npools].id = p->id;
	rd->pools[rd->npools++].i = rd->st->np;
	sd_add_pool(rd->st, p->name, &p->conf);
	return 0;
}

static int
read_backend(const struct db_backend *b, void *arg)
{
	struct reading *rd = arg;
	struct sd_backend *sb;

	rd->backends = xrealloc(rd->backends, (rd->nbackends + 1) *
	    sizeof(*rd->backends));
	rd->backends[rd->nbackends].id = b->id;
	rd->backends[rd->nbackends++].i = rd->st->nb;
	sb = sd_add_backend(rd->st, b->name);
	sb->admin = b->admin;
	sb->conf = b->conf;
	return 0;
}

static int
read_member(int64_t pool_id, int64_t backend_id, void *arg)
{
	struct reading *rd = arg;
	const struct idx *p, *b;

	p = idx_find(rd->pools, rd->npools, pool_id);
	b = idx_find(rd->backends, rd->nbackends, backend_id);
	if (p != NULL && b != NULL)
		sd_backend_pool(&rd->st->b[b->i], rd->st->p[p->i].name);
	return 0;
}

static int
read_route(const struct db_route *r, void *arg)
{
	struct reading *rd = arg;
	struct sd_route *sr;

	sr = sd_add_route(rd->st, r->pattern,
	    r->action == ACTION_POOL ? r->pool_name : NULL, r->comment);
	sr->id = r->id;
	sr->qtype = r->qtype;
	sr->opcode = r->opcode;
	sr->tsig = r->tsig;
	sr->action = r->action;
	return 0;
}

struct state_read {
	struct reading		 rd;
	struct db_route_walk	*walk;
};

void
cmd_state_read_free(struct state_read *sr)
{
	if (sr == NULL)
		return;
	db_route_walk_free(sr->walk);
	free(sr->rd.pools);
	free(sr->rd.backends);
	free(sr);
}

/* All but the routes, which are many: at once. */
static int
read_head(struct db *db, struct reading *rd)
{
	int rc;

	rc = db_setting_foreach(db, read_setting, rd);
	if (rc == 0)
		rc = db_key_foreach(db, read_key, rd);
	if (rc == 0)
		rc = db_pool_foreach(db, read_pool, rd);
	if (rc == 0)
		rc = db_backend_foreach(db, read_backend, rd);
	if (rc == 0) {
		/* Read by name; found by id. */
		if (rd->npools > 0)
			qsort(rd->pools, rd->npools, sizeof(*rd->pools),
			    idx_cmp);
		if (rd->nbackends > 0)
			qsort(rd->backends, rd->nbackends,
			    sizeof(*rd->backends), idx_cmp);
		rc = db_member_foreach(db, read_member, rd);
	}
	return rc;
}

int
cmd_state_read_until(struct db *db, struct state_read **p,
    struct sd_state *st, uint64_t until)
{
	struct state_read *sr = *p;
	int rc;

	if (sr == NULL) {
		sr = *p = xcalloc(1, sizeof(*sr));
		sd_init(st);
		sr->rd.st = st;
		if ((rc = read_head(db, &sr->rd)) == 0 &&
		    (sr->walk = db_route_walk_new(db)) == NULL)
			rc = -1;
		if (rc != 0)
			goto fail;
	}
	if ((rc = db_route_walk_next(sr->walk, read_route, &sr->rd,
	    until)) == 0)
		return 0;
	if (rc != 1)
		goto fail;
	cmd_state_read_free(sr);
	*p = NULL;
	return 1;
fail:
	cmd_state_read_free(sr);
	*p = NULL;
	sd_free(st);
	return -1;
}

int
cmd_state_read(struct db *db, struct sd_state *st)
{
	struct state_read *sr = NULL;

	return cmd_state_read_until(db, &sr, st, UINT64_MAX) == 1 ? 0 : -1;
}

struct lines {
	void	(*emit)(void *, const char *);
	void	*arg;
};

static void
emit(struct lines *l, const struct cmd *c, uint64_t mask)
{
	char line[CTL_LINE_MAX * 2];

	if (cmd_format(c, mask, line, sizeof(line)) == -1)
		snprintf(line, sizeof(line), "# %s: too long to export",
		    c->spec->words);
	l->emit(l->arg, line);
}

/* A key: whole with secrets, else as a comment without its secret. */
static void
state_key(struct lines *l, const struct sd_key *k, int secrets)
{
	char line[CTL_LINE_MAX * 2], note[CTL_LINE_MAX * 2 + 64];
	struct cmd c;

	sd_cmd_key(&c, CMD_KEY_ADD, k);
	if (secrets) {
		emit(l, &c, CMD_ALL);
		return;
	}
	if (cmd_format_safe(&c, CMD_ALL, line, sizeof(line)) == -1)
		snprintf(line, sizeof(line), "key add ...");
	snprintf(note, sizeof(note), "# %s: not exported (export secrets)",
	    line);
	l->emit(l->arg, note);
}

int
cmd_state_lines(struct db *db, int secrets,
    void (*out)(void *, const char *line), void *arg)
{
	struct lines l = { out, arg };
	struct sd_state st;
	struct cmd c;
	uint64_t mask;
	size_t i;

	if (cmd_state_read(db, &st) == -1)
		return -1;
	for (i = 0; i < setting_table_len; i++)
		if (st.set[i] != NULL &&
		    strcmp(st.set[i], setting_table[i].defval) != 0) {
			sd_cmd_set(&c, setting_table[i].name, st.set[i]);
			emit(&l, &c, CMD_ALL);
		}
	/* TSIG keys whole only with secrets (the fleet's copy must rebuild
	 * them); else as a comment (a replace keeps the keys it is not
	 * given). */
	for (i = 0; i < st.nk; i++)
		state_key(&l, &st.k[i], secrets);
	for (i = 0; i < st.np; i++) {
		sd_cmd_pool(&c, &st.p[i]);
		emit(&l, &c, sd_pool_mask(&c));
	}
	for (i = 0; i < st.nb; i++) {
		/* Every option, so the defaults of another version do not
		 * change what this export means; "pool -" and "key -" say
		 * nothing. */
		sd_cmd_backend(&c, CMD_BACKEND_ADD, &st.b[i]);
		mask = CMD_ALL;
		if (st.b[i].npools == 0)
			mask &= ~cmd_bit(c.spec, "pool");
		if (st.b[i].conf.key[0] == '\0')
			mask &= ~cmd_bit(c.spec, "key");
		emit(&l, &c, mask);
		if (st.b[i].admin != ADMIN_ENABLED) {
			sd_cmd_backend(&c, st.b[i].admin == ADMIN_DRAINED ?
			    CMD_BACKEND_DRAIN : CMD_BACKEND_DISABLE, &st.b[i]);
			emit(&l, &c, CMD_ALL);
		}
	}
	for (i = 0; i < st.nr; i++) {
		sd_cmd_route(&c, CMD_ROUTE_ADD, &st.r[i]);
		emit(&l, &c, sd_mask(&c));
	}
	sd_free(&st);
	return 0;
}

static void
add_line(void *arg, const char *line)
{
	if (evbuffer_add_printf(arg, "%s\n", line) == -1)
		fatalx("evbuffer_add_printf failed");
}

int
cmd_state_text(struct db *db, char **text, size_t *len)
{
	struct evbuffer *b;
	int rc;

	if ((b = evbuffer_new()) == NULL)
		fatalx("evbuffer_new failed");
	rc = cmd_state_lines(db, 1, add_line, b);
	*len = evbuffer_get_length(b);
	*text = xmalloc(*len + 1);
	evbuffer_remove(b, *text, *len);
	(*text)[*len] = '\0';
	evbuffer_free(b);
	if (rc == -1) {
		free(*text);
		*text = NULL;
	}
	return rc;
}

/* Registered routes are etcd's, not the operator's: say they exist, as a
 * comment, so a reader of the export is not surprised by show routes. */
static void
export_registered_note(struct cmd_ctx *x)
{
	int i, n = 0;

	for (i = 0; i < dr->cfg->nroutes; i++)
		n += dr->cfg->routes[i].id < 0;
	if (n > 0)
		reply_textf(x->r, "# and %d route%s registered through etcd "
		    "(show fleet), not exported", n, n == 1 ? "" : "s");
}

static void
reply_line(void *arg, const char *line)
{
	reply_text(arg, line);
}

int
cmd_export(struct cmd_ctx *x, const union cmd_args *u)
{
	reply_textf(x->r, "# dnsroute state exported by dnsrouted %s",
	    DNSROUTE_VERSION);
	if (cmd_state_lines(x->db, u->export.secrets, reply_line, x->r) == -1)
		return cmd_dberr(x);
	export_registered_note(x);
	return 0;
}

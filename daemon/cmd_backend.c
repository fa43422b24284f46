/*
 * cmd_backend: the backend and pool commands.  Every change goes to the
 * store given in the context (cmd.c's transaction, or a replace's
 * scratch); the snapshot is rebuilt from the store afterwards, so nothing
 * here touches live structures but `readd`, which is an action, not a
 * change of state.  Arguments arrive parsed and checked (common/
 * cmdparse.c); what is left here is what only the store can say.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "config.h"
#include "ctlproto.h"
#include "db.h"
#include "health.h"
#include "state.h"
#include "util.h"

/* The values of c given, as the words of the command without the command
 * words: "weight 3 interval 2000ms". */
static const char *
changed_words_of(const struct cmd *c, char *buf, size_t len)
{
	size_t skip = strlen(c->spec->words) + 1;

	if (cmd_format(c, c->given, buf, len) == -1 || strlen(buf) < skip)
		return "";
	return buf + skip;
}

/* What changed: the options given, without the name. */
static const char *
changed_words(struct cmd_ctx *x, char *buf, size_t len)
{
	struct cmd c = *x->c;

	c.given &= ~(uint64_t)1;
	return changed_words_of(&c, buf, len);
}

static int
get_backend(struct cmd_ctx *x, const char *name, struct db_backend *b)
{
	int rc = db_backend_get(x->db, name, b);

	if (rc == -1)
		return cmd_dberr(x);
	if (rc == 1 && cmd_registered(x, "backend", name, 0) == -1)
		return -1;
	if (rc == 1)
		return cmd_fail(x, "backend \"%s\" does not exist", name);
	return 0;
}

/* A pool by name; hint says how to make one (a pool being named). */
static int
get_pool(struct cmd_ctx *x, const char *name, struct db_pool *p, int hint)
{
	int rc = db_pool_get(x->db, name, p);

	if (rc == -1)
		return cmd_dberr(x);
	if (rc == 1 && cmd_registered(x, "pool", name, 0) == -1)
		return -1;
	if (rc == 1 && hint)
		return cmd_fail(x, "pool \"%s\" does not exist (pool add %s "
		    "first; in the same transaction will do)", name, name);
	if (rc == 1)
		return cmd_fail(x, "pool \"%s\" does not exist", name);
	return 0;
}

/* Make backend_id a member of exactly the pools of a, which exist. */
static int
set_pools(struct cmd_ctx *x, int64_t backend_id, const struct cmd_backend *a)
{
	struct db_pool p;
	int i;

	if (db_member_del_backend(x->db, backend_id) == -1)
		return cmd_dberr(x);
	for (i = 0; i < a->npools; i++) {
		if (get_pool(x, a->pools[i], &p, 1) == -1)
			return -1;
		if (db_member_add(x->db, p.id, backend_id) == -1)
			return cmd_dberr(x);
	}
	return 0;
}

/* The key a backend names exists (or it names none). */
static int
key_exists(struct cmd_ctx *x, const char *name)
{
	struct db_key k;
	int rc;

	if (name[0] == '\0')
		return 0;
	rc = db_key_get(x->db, name, &k);
	explicit_bzero(&k, sizeof(k));
	if (rc == -1)
		return cmd_dberr(x);
	if (rc == 1)
		return cmd_fail(x, "key \"%s\" does not exist (key add %s "
		    "ALGORITHM SECRET first)", name, name);
	return 0;
}

int
cmd_backend_add(struct cmd_ctx *x, const union cmd_args *u)
{
	const struct cmd_backend *a = &u->backend;
	struct db_backend b;
	int rc;

	memset(&b, 0, sizeof(b));
	snprintf(b.name, sizeof(b.name), "%s", a->name);
	b.admin = ADMIN_ENABLED;
	b.conf = a->conf;
	rc = db_backend_get(x->db, b.name, &b);
	if (rc == 0)
		return cmd_fail(x, "backend \"%s\" exists", a->name);
	if (rc == 1 && key_exists(x, a->conf.key) == -1)
		return -1;
	if (rc == -1 || db_backend_add(x->db, &b) == -1)
		return cmd_dberr(x);
	if (set_pools(x, b.id, a) == -1)
		return -1;
	reply_ok(x->r, "backend %s added", b.name);
	return 0;
}

int
cmd_backend_set(struct cmd_ctx *x, const union cmd_args *u)
{
	const struct cmd_backend *a = &u->backend;
	struct cmd_backend cur;
	struct db_backend b;
	char words[4096];

	if (get_backend(x, a->name, &b) == -1)
		return -1;
	/* The options given, onto what the backend has. */
	memset(&cur, 0, sizeof(cur));
	cur.conf = b.conf;
	cmd_merge(x->c->spec, &cur, a, x->c->given);
	b.conf = cur.conf;
	if (key_exists(x, b.conf.key) == -1)
		return -1;
	if (db_backend_update(x->db, &b) == -1)
		return cmd_dberr(x);
	if ((x->c->given & cmd_bit(x->c->spec, "pool")) &&
	    set_pools(x, b.id, a) == -1)
		return -1;
	reply_ok(x->r, "backend %s changed: %s", b.name,
	    changed_words(x, words, sizeof(words)));
	return 0;
}

int
cmd_backend_del(struct cmd_ctx *x, const union cmd_args *u)
{
	struct db_backend b;

	if (get_backend(x, u->name.name, &b) == -1)
		return -1;
	if (db_backend_del(x->db, b.id) == -1)
		return cmd_dberr(x);
	reply_ok(x->r, "backend %s removed", b.name);
	return 0;
}

int
cmd_backend_admin(struct cmd_ctx *x, const union cmd_args *u)
{
	static const struct {
		enum cmd_id	 id;
		int		 to;
		const char	*done;
	} verbs[] = {
		{ CMD_BACKEND_DRAIN, ADMIN_DRAINED, "drained" },
		{ CMD_BACKEND_UNDRAIN, ADMIN_ENABLED, "undrained" },
		{ CMD_BACKEND_ENABLE, ADMIN_ENABLED, "enabled" },
		{ CMD_BACKEND_DISABLE, ADMIN_DISABLED, "disabled" },
	};
	struct db_backend b;
	size_t i;

	for (i = 0; i < NELEMS(verbs) && verbs[i].id != x->c->spec->id; i++)
		;
	if (i == NELEMS(verbs) || get_backend(x, u->name.name, &b) == -1)
		return -1;
	if (verbs[i].id == CMD_BACKEND_DRAIN && b.admin == ADMIN_DISABLED)
		return cmd_fail(x, "backend \"%s\" is disabled; enable it "
		    "first", b.name);
	if (verbs[i].id == CMD_BACKEND_UNDRAIN && b.admin != ADMIN_DRAINED)
		return cmd_fail(x, "backend \"%s\" is %s, not drained", b.name,
		    words_name(&words_admin, b.admin));
	if (b.admin == verbs[i].to) {
		/* Nothing to do: no audit row, no commit (no wait for the
		 * disk), no new snapshot; as a replace that changes nothing. */
		x->rollback = 1;
		reply_ok(x->r, "backend %s was already %s", b.name,
		    words_name(&words_admin, b.admin));
		return 0;
	}
	if (db_backend_set_admin(x->db, b.id, verbs[i].to) == -1)
		return cmd_dberr(x);
	reply_ok(x->r, "backend %s %s", b.name, verbs[i].done);
	return 0;
}

static void
readd_done(void *arg, struct backend *b, int ok, const char *detail)
{
	struct ctl_conn *conn = arg;
	struct reply *r = ctl_conn_reply(conn);

	if (b != NULL) {
		reply_field(r, b->name);
		reply_field(r, ok ? "up" : "failed");
		reply_field(r, detail != NULL ? detail : "");
		reply_end_row(r);
		/* Count in the reply itself: any failure makes the final
		 * line an error. */
		if (!ok)
			r->failed++;
		return;
	}
	if (r->failed)
		reply_err(r, CTL_ERR_RUNTIME, "readd failed for %d backend%s",
		    r->failed, r->failed == 1 ? "" : "s");
	else
		reply_ok(r, "readd done");
	reply_async_done(conn);
}

int
cmd_backend_readd(struct cmd_ctx *x, const union cmd_args *u)
{
	const char *name = u->name.name;
	struct backend *b = NULL;
	int n;

	if (dr->health == NULL)
		return cmd_fail(x, "health checks are not running");
	if (strcmp(name, "all") != 0 &&
	    (b = config_backend(dr->cfg, name)) == NULL)
		return cmd_fail(x, "backend \"%s\" does not exist%s", name,
		    x->sess->in_txn ? " (yet: readd acts on the committed "
		    "state)" : "");
	if (b != NULL && atomic_load(&b->admin) == ADMIN_DISABLED)
		return cmd_fail(x, "backend \"%s\" is disabled; enable it "
		    "instead", b->name);
	reply_columns(x->r, "backend\tresult\tdetail");
	x->r->failed = 0;
	/* The checks answer later, from the event loop, never from here. */
	n = health_readd(dr->health, b, readd_done, x->sess->conn);
	if (n == 0)
		reply_ok(x->r, "no backend needed a readd");
	else
		reply_async_begin(x->r);
	return 0;
}

/* good says what wins a race, confirm when a fanout pool answers
 * NOERROR: for another policy they would be stored and do nothing, so
 * only their defaults go with one. */
static int
pool_options_fit(struct cmd_ctx *x, const struct pool_conf *c)
{
	if (!(c->good >> GOOD_ANSWER & 1))
		return cmd_fail(x, "good takes answer too (an answer with "
		    "records always wins): good answer,...");
	if (c->good != 1 << GOOD_ANSWER && c->policy != POLICY_RACE)
		return cmd_fail(x, "good is for race pools (policy race)");
	if ((x->c->given & cmd_bit(x->c->spec, "confirm")) &&
	    c->policy != POLICY_FANOUT)
		return cmd_fail(x, "confirm is for fanout pools (policy "
		    "fanout)");
	return 0;
}

struct pool_use {
	int64_t	pool_id;
	int	opcode;		/* enum route_opcode */
	int64_t	route_id;	/* the first such route; 0: none */
};

static int
pool_use_cb(const struct db_route *r, void *arg)
{
	struct pool_use *pu = arg;

	if (r->action != ACTION_POOL || r->pool_id != pu->pool_id ||
	    r->opcode != pu->opcode)
		return 0;
	pu->route_id = r->id;
	return 1;
}

/* A pool that becomes fanout must not serve queries, nor one that stops
 * being fanout UPDATEs: a route of the other opcode that uses it stops
 * the change. */
static int
policy_fits_routes(struct cmd_ctx *x, const struct db_pool *p, int policy)
{
	struct pool_use pu = { p->id, 0, 0 };

	if ((policy == POLICY_FANOUT) == (p->conf.policy == POLICY_FANOUT))
		return 0;
	pu.opcode = policy == POLICY_FANOUT ? ROUTE_QUERY : ROUTE_UPDATE;
	if (db_route_foreach(x->db, pool_use_cb, &pu) == -1)
		return cmd_dberr(x);
	if (pu.route_id == 0)
		return 0;
	if (policy == POLICY_FANOUT)
		return cmd_fail(x, "pool \"%s\" is used by route %lld for "
		    "queries; a fanout pool takes UPDATE routes only (opcode "
		    "update)", p->name, (long long)pu.route_id);
	return cmd_fail(x, "pool \"%s\" is used by UPDATE route %lld, which "
	    "needs a fanout pool", p->name, (long long)pu.route_id);
}

int
cmd_pool_add(struct cmd_ctx *x, const union cmd_args *u)
{
	const struct cmd_pool *a = &u->pool;
	struct db_pool p;
	struct cmd shown;
	char words[1024];
	int rc;

	if (pool_options_fit(x, &a->conf) == -1)
		return -1;
	memset(&p, 0, sizeof(p));
	snprintf(p.name, sizeof(p.name), "%s", a->name);
	p.conf = a->conf;
	rc = db_pool_get(x->db, p.name, &p);
	if (rc == 0)
		return cmd_fail(x, "pool \"%s\" exists", a->name);
	if (rc == -1 || db_pool_add(x->db, &p) == -1)
		return cmd_dberr(x);
	/* The policy, the other options given, and a fanout pool's
	 * confirm. */
	shown = *x->c;
	shown.given = x->c->given & ~(uint64_t)1;
	shown.given &= ~cmd_bit(x->c->spec, "policy");
	if (p.conf.policy == POLICY_FANOUT)
		shown.given |= cmd_bit(x->c->spec, "confirm");
	reply_ok(x->r, "pool %s added (policy %s%s%s)", p.name,
	    words_name(&words_policy, p.conf.policy),
	    shown.given != 0 ? ", " : "", shown.given != 0 ?
	    changed_words_of(&shown, words, sizeof(words)) : "");
	return 0;
}

int
cmd_pool_set(struct cmd_ctx *x, const union cmd_args *u)
{
	const struct cmd_pool *a = &u->pool;
	struct cmd_pool cur;
	struct db_pool p;
	char words[1024];

	if (get_pool(x, a->name, &p, 0) == -1)
		return -1;
	/* The options given, onto what the pool has. */
	memset(&cur, 0, sizeof(cur));
	cur.conf = p.conf;
	cmd_merge(x->c->spec, &cur, a, x->c->given);
	/* A race or fanout pool made another keeps none of their
	 * options. */
	if (cur.conf.policy != POLICY_RACE &&
	    !(x->c->given & cmd_bit(x->c->spec, "good")))
		cur.conf.good = 1 << GOOD_ANSWER;
	if (cur.conf.policy != POLICY_FANOUT &&
	    !(x->c->given & cmd_bit(x->c->spec, "confirm")))
		cur.conf.confirm = CONFIRM_ALL;
	if (pool_options_fit(x, &cur.conf) == -1 ||
	    policy_fits_routes(x, &p, cur.conf.policy) == -1)
		return -1;
	if (memcmp(&cur.conf, &p.conf, sizeof(p.conf)) == 0) {
		reply_ok(x->r, "pool %s already has %s", p.name,
		    changed_words(x, words, sizeof(words)));
		return 0;
	}
	p.conf = cur.conf;
	if (db_pool_update(x->db, &p) == -1)
		return cmd_dberr(x);
	reply_ok(x->r, "pool %s changed: %s", p.name,
	    changed_words(x, words, sizeof(words)));
	return 0;
}

int
cmd_pool_del(struct cmd_ctx *x, const union cmd_args *u)
{
	struct db_pool p;

	if (get_pool(x, u->pool.name, &p, 0) == -1)
		return -1;
	if (db_pool_del(x->db, p.id) == -1)
		return cmd_dberr(x);
	reply_ok(x->r, "pool %s removed", p.name);
	return 0;
}

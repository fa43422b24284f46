/*
 * cmd_key: the TSIG key commands (key add, key set, key del, show keys).
 * A key is a name, an algorithm and a secret; whether it is a sender's
 * or the router's towards a backend follows from whether a backend uses
 * it (config.h).  The secret arrives checked (base64 of 1 to
 * CONF_SECRET_MAX octets, common/cmdparse.c), goes to the store and is
 * never printed: not in a reply, the audit (cmd.c audits these commands
 * with cmd_format_safe) or `show keys`; the copies made here are wiped.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "ctlproto.h"
#include "db.h"
#include "util.h"

static void
key_of(const struct cmd_key *a, struct db_key *k)
{
	memset(k, 0, sizeof(*k));
	snprintf(k->name, sizeof(k->name), "%s", a->name);
	k->alg = a->alg;
	snprintf(k->secret, sizeof(k->secret), "%s", a->secret);
}

/* key add, or (set) key set. */
static int
key_write(struct cmd_ctx *x, const struct cmd_key *a, int set)
{
	struct db_key k;
	int rc;

	key_of(a, &k);
	rc = set ? db_key_set(x->db, &k) : db_key_add(x->db, &k);
	explicit_bzero(&k, sizeof(k));
	if (rc == -1)
		return cmd_dberr(x);
	if (rc == 1)
		return cmd_fail(x, "key \"%s\" does not exist (key add "
		    "first)", a->name);
	reply_ok(x->r, "key %s %s (%s)", a->name, set ? "changed" : "added",
	    words_name(&words_tsig_alg, a->alg));
	return 0;
}

int
cmd_key_add(struct cmd_ctx *x, const union cmd_args *u)
{
	return key_write(x, &u->key, 0);
}

int
cmd_key_set(struct cmd_ctx *x, const union cmd_args *u)
{
	return key_write(x, &u->key, 1);
}

int
cmd_key_del(struct cmd_ctx *x, const union cmd_args *u)
{
	int rc;

	if ((rc = db_key_del(x->db, u->key.name)) == -1)
		return cmd_dberr(x);
	if (rc == 1)
		return cmd_fail(x, "key \"%s\" does not exist", u->key.name);
	reply_ok(x->r, "key %s removed", u->key.name);
	return 0;
}

/* A key as show keys lists it: no secret, only how long it is. */
struct key_row {
	char	 name[CONF_KEY_MAX];
	int	 alg;
	int	 bits;
	int	 users;
	char	 backends[1024];
	size_t	 used;
};

struct key_rows {
	struct key_row	*v;
	int		 n;
};

static int
collect_key(const struct db_key *k, int users, void *arg)
{
	struct key_rows *kr = arg;
	struct key_row *r;
	size_t len = strlen(k->secret), pad = 0;

	while (pad < 2 && pad < len && k->secret[len - 1 - pad] == '=')
		pad++;
	kr->v = xrealloc(kr->v, (kr->n + 1) * sizeof(*kr->v));
	r = &kr->v[kr->n++];
	memset(r, 0, sizeof(*r));
	snprintf(r->name, sizeof(r->name), "%s", k->name);
	r->alg = k->alg;
	r->bits = (int)((len / 4 * 3 - pad) * 8);
	r->users = users;
	return 0;
}

static int
collect_user(const struct db_backend *b, void *arg)
{
	struct key_rows *kr = arg;
	struct key_row *r;
	int i;

	for (i = 0; i < kr->n; i++) {
		r = &kr->v[i];
		if (strcmp(r->name, b->conf.key) != 0 ||
		    r->used >= sizeof(r->backends))
			continue;
		r->used += (size_t)snprintf(r->backends + r->used,
		    sizeof(r->backends) - r->used, "%s%s", r->used ? "," : "",
		    b->name);
	}
	return 0;
}

int
cmd_show_keys(struct cmd_ctx *x, const union cmd_args *u)
{
	struct key_rows kr = { NULL, 0 };
	int i, rc;

	(void)u;
	rc = db_key_foreach(x->db, collect_key, &kr);
	if (rc == 0 && kr.n > 0)
		rc = db_backend_foreach(x->db, collect_user, &kr);
	if (rc != 0) {
		free(kr.v);
		return cmd_dberr(x);
	}
	reply_columns(x->r, "name\talgorithm\tbits#\tuse\tbackends");
	for (i = 0; i < kr.n; i++) {
		reply_field(x->r, kr.v[i].name);
		reply_field(x->r, words_name(&words_tsig_alg, kr.v[i].alg));
		reply_field_int(x->r, kr.v[i].bits);
		/* A backend's key is the router's own: a sender that signs
		 * with it gets BADKEY. */
		reply_field(x->r, kr.v[i].users > 0 ? "backend" : "sender");
		if (kr.v[i].used > 0)
			reply_field(x->r, kr.v[i].backends);
		else
			reply_field_null(x->r);
		reply_end_row(x->r);
	}
	free(kr.v);
	return 0;
}

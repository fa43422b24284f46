/*
 * cmd: run one command line (see cmd.h).
 *
 * Transactions: one client at a time may hold an explicit transaction
 * (begin ... commit); others get "busy" for changes meanwhile, but can
 * still look.  A change outside one is its own transaction.  Inside one,
 * each command runs in a savepoint, so a failed command leaves nothing and
 * the shell can go on; a batch (dnsroutectl -f) aborts on the first error.
 * The new snapshot is built from the store *before* COMMIT, so a change
 * that cannot be served is never committed; a COMMIT that fails (full disk)
 * is rolled back and the old snapshot keeps serving.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "ctlproto.h"
#include "dnsrouted.h"
#include "log.h"
#include "tokenize.h"
#include "trace.h"
#include "util.h"

static struct cmd_session *txn_owner;
static uint64_t txn_serial;	/* cmd_session.txn_serial values, never reused */

static const cmd_handler handlers[CMD__COUNT] = {
	[CMD_BACKEND_ADD] = cmd_backend_add,
	[CMD_BACKEND_SET] = cmd_backend_set,
	[CMD_BACKEND_DEL] = cmd_backend_del,
	[CMD_BACKEND_DRAIN] = cmd_backend_admin,
	[CMD_BACKEND_UNDRAIN] = cmd_backend_admin,
	[CMD_BACKEND_ENABLE] = cmd_backend_admin,
	[CMD_BACKEND_DISABLE] = cmd_backend_admin,
	[CMD_BACKEND_READD] = cmd_backend_readd,
	[CMD_POOL_ADD] = cmd_pool_add,
	[CMD_POOL_SET] = cmd_pool_set,
	[CMD_POOL_DEL] = cmd_pool_del,
	[CMD_ROUTE_ADD] = cmd_route_add,
	[CMD_ROUTE_DEL] = cmd_route_del,
	[CMD_ROUTE_MOVE] = cmd_route_move,
	[CMD_ROUTE_TEST] = cmd_route_test,
	[CMD_ROUTE_LOOKUP] = cmd_route_lookup,
	[CMD_SHOW_ROUTES] = cmd_show_routes,
	[CMD_SHOW_BACKENDS] = cmd_show_backends,
	[CMD_SHOW_POOLS] = cmd_show_pools,
	[CMD_SHOW_STATS] = cmd_show_stats,
	[CMD_SHOW_SETTINGS] = cmd_show_settings,
	[CMD_SHOW_HEALTH] = cmd_show_health,
	[CMD_SHOW_AUDIT] = cmd_show_audit,
	[CMD_SHOW_RECENT] = cmd_show_recent,
	[CMD_SHOW_FLEET] = cmd_show_fleet,
	[CMD_TRACE] = cmd_trace,
	[CMD_SET] = cmd_set,
	[CMD_EXPORT] = cmd_export,
	[CMD_HELP] = cmd_help,
};

int
cmd_usage(struct cmd_ctx *x)
{
	char buf[1024], *p;

	/* The usage on one line: the final reply line is one line. */
	snprintf(buf, sizeof(buf), "%s", x->spec->usage);
	for (p = buf; *p; p++)
		if (*p == '\n')
			*p = ' ';
	reply_err(x->r, CTL_ERR_SYNTAX, "usage: %s", buf);
	return -1;
}

int
cmd_dberr(struct cmd_ctx *x)
{
	reply_err(x->r, CTL_ERR_RUNTIME, "%s", db_errmsg(dr->db));
	return -1;
}

int
cmd_registered(struct cmd_ctx *x, const char *what, const char *name,
    int64_t id)
{
	const struct config *c = dr->cfg;
	const char *origin = NULL;
	struct backend *b;
	struct pool *p;
	const struct croute *r;

	if (strcmp(what, "backend") == 0 &&
	    (b = config_backend(c, name)) != NULL && b->id < 0)
		origin = b->origin;
	else if (strcmp(what, "pool") == 0 &&
	    (p = config_pool(c, name)) != NULL && p->id < 0)
		origin = "etcd";
	else if (strcmp(what, "route") == 0 && id < 0 &&
	    (r = config_route(c, id)) != NULL)
		origin = r->origin;
	if (origin == NULL)
		return 0;
	reply_err(x->r, CTL_ERR_RUNTIME, "%s %s is registered through etcd "
	    "(%s): change or delete the key there", what, name, origin);
	return -1;
}

struct config *
dr_build(char *err, size_t errlen)
{
	return config_build(dr->db, dr->cfg, dr->rc, err, errlen);
}

static void
audit(struct cmd_session *s, const char *line, const char *outcome)
{
	struct db_audit a;

	a.time_us = wall_us();
	a.uid = (long)s->uid;
	a.pid = (long)s->pid;
	a.command = line;
	a.outcome = outcome;
	if (db_audit_add(dr->db, &a) == -1)
		log_warnx("audit: %s", db_errmsg(dr->db));
}

/* Build, commit, publish.  On failure everything is rolled back, the
 * error is replied, and -1 returned. */
static int
commit_and_publish(struct reply *r)
{
	struct config *c;
	char err[512];

	if ((c = dr_build(err, sizeof(err))) == NULL) {
		db_rollback(dr->db);
		reply_err(r, CTL_ERR_RUNTIME, "%s; nothing changed", err);
		return -1;
	}
	if (db_commit(dr->db) == -1) {
		snprintf(err, sizeof(err), "%s", db_errmsg(dr->db));
		db_rollback(dr->db);
		config_unref(c);
		reply_err(r, CTL_ERR_RUNTIME, "commit failed: %s; nothing "
		    "changed, the previous state keeps serving", err);
		return -1;
	}
	dr_publish(c);
	return 0;
}

static void
run_mutating(struct cmd_ctx *x, cmd_handler h, int argc, char **argv)
{
	struct cmd_session *s = x->sess;
	int implicit = !s->in_txn, rc;

	if (implicit && db_begin(dr->db) == -1) {
		cmd_dberr(x);
		return;
	}
	/* Handlers may say "route 7 added": not before it is committed. */
	x->r->hold = 1;
	if (db_savepoint(dr->db) == -1) {
		cmd_dberr(x);
		if (implicit)
			db_rollback(dr->db);
		return;
	}
	rc = h(x, argc, argv);
	if (rc != 0)
		x->r->hold = 0;
	if (rc == 0) {
		audit(s, x->line, "ok");
		if (db_release(dr->db) == -1)
			rc = cmd_dberr(x);
	}
	if (rc != 0) {
		if (db_rollback_savepoint(dr->db) == -1 && !implicit) {
			/* SQLite gave up the whole transaction (full disk). */
			db_rollback(dr->db);
			s->in_txn = 0;
			txn_owner = NULL;
			log_warnx("transaction of pid %ld rolled back: %s",
			    (long)s->pid, db_errmsg(dr->db));
			return;
		}
		if (implicit) {
			db_rollback(dr->db);
			/* Refused changes are audited too, in their own
			 * transaction. */
			if (db_begin(dr->db) == 0) {
				audit(s, x->line, x->r->errtext);
				if (db_commit(dr->db) == -1)
					db_rollback(dr->db);
			}
		}
		return;
	}
	if (implicit) {
		x->r->hold = 0;
		if (commit_and_publish(x->r) == -1)
			return;
	} else {
		s->changes++;
		s->txn_serial = ++txn_serial;
	}
	reply_release(x->r);
}

static void
run_txn_cmd(struct cmd_ctx *x)
{
	struct cmd_session *s = x->sess;
	int n;

	switch (x->spec->id) {
	case CMD_BEGIN:
		if (s->in_txn) {
			reply_err(x->r, CTL_ERR_RUNTIME, "a transaction is already open");
			return;
		}
		if (db_begin(dr->db) == -1) {
			cmd_dberr(x);
			return;
		}
		s->in_txn = 1;
		s->changes = 0;
		s->txn_serial = ++txn_serial;
		txn_owner = s;
		reply_ok(x->r, "transaction open");
		return;
	case CMD_COMMIT:
		if (!s->in_txn) {
			reply_err(x->r, CTL_ERR_RUNTIME, "no transaction is open");
			return;
		}
		n = s->changes;
		s->in_txn = 0;
		txn_owner = NULL;
		if (commit_and_publish(x->r) == 0)
			reply_ok(x->r, "committed %d change%s", n, n == 1 ? "" : "s");
		return;
	default:	/* CMD_ABORT */
		if (!s->in_txn) {
			reply_err(x->r, CTL_ERR_RUNTIME, "no transaction is open");
			return;
		}
		db_rollback(dr->db);
		s->in_txn = 0;
		txn_owner = NULL;
		reply_ok(x->r, "aborted; nothing changed");
		return;
	}
}

void
cmd_execute(struct cmd_session *s, struct reply *r, const char *line)
{
	struct tok_line t;
	struct cmd_ctx x;
	char err[256];
	int nwords;

	if (tok_split(line, &t, err, sizeof(err)) == -1) {
		reply_err(r, CTL_ERR_SYNTAX, "%s", err);
		return;
	}
	if (t.argc == 0) {
		tok_free(&t);
		reply_ok(r, "%s", "");
		return;
	}
	memset(&x, 0, sizeof(x));
	x.sess = s;
	x.r = r;
	x.line = line;
	if ((x.spec = cmd_lookup(t.argc, t.argv, &nwords, err,
	    sizeof(err))) == NULL) {
		reply_err(r, CTL_ERR_SYNTAX, "%s", err);
		tok_free(&t);
		return;
	}
	if (x.spec->id == CMD_QUIT)
		reply_ok(r, "bye");
	else if (x.spec->flags & CMD_F_CTLONLY)
		reply_err(r, CTL_ERR_SYNTAX, "\"%s\" runs in dnsroutectl (it "
		    "reads files there)", x.spec->words);
	else if (x.spec->id == CMD_BEGIN || x.spec->id == CMD_COMMIT ||
	    x.spec->id == CMD_ABORT) {
		if (txn_owner != NULL && txn_owner != s)
			reply_err(r, CTL_ERR_BUSY, "busy: another client (pid %ld) "
			    "holds a transaction", (long)txn_owner->pid);
		else
			run_txn_cmd(&x);
	} else if (x.spec->flags & CMD_F_MUTATES) {
		if (txn_owner != NULL && txn_owner != s)
			reply_err(r, CTL_ERR_BUSY, "busy: another client (pid %ld) "
			    "holds a transaction", (long)txn_owner->pid);
		else
			run_mutating(&x, handlers[x.spec->id], t.argc - nwords,
			    t.argv + nwords);
	} else if (handlers[x.spec->id](&x, t.argc - nwords,
	    t.argv + nwords) == 0 && !r->final && !r->async)
		reply_ok(r, "%s", "");
	tok_free(&t);
}

void
cmd_session_end(struct cmd_session *s)
{
	if (s->in_txn) {
		db_rollback(dr->db);
		s->in_txn = 0;
	}
	if (txn_owner == s)
		txn_owner = NULL;
	if (dr->health != NULL)
		health_cancel(dr->health, s->conn);
	if (s->stream)
		trace_cancel(s->conn);
}

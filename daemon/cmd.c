/*
 * cmd: run one request (see cmd.h).
 *
 * Transactions: one client at a time may hold an explicit transaction
 * (begin ... commit); others get "busy" for changes meanwhile, but can
 * still look.  A change outside one is its own transaction.  Inside one,
 * each command runs in a savepoint, so a failed command leaves nothing and
 * the shell can go on; a batch (dnsroutectl -f) aborts on the first error.
 * A batch sends its changes without waiting for each answer (`begin
 * batch`): once one has failed, those after it are refused unrun and
 * unaudited, as if the batch had stopped there.
 * The new snapshot is built from the store *before* COMMIT, so a change
 * that cannot be served is never committed; a COMMIT that fails (full disk)
 * is rolled back and the old snapshot keeps serving.
 *
 * The audit: every change applied is a row, written in the transaction
 * that applies it; every change refused (by its handler, its parser, or a
 * commit that failed) is a row with the error, written once the
 * transaction it was refused in has ended, so a rolled-back batch still
 * leaves the line that stopped it.  A reply says nothing of a change until
 * it is committed: its lines are held (reply_hold) and sent after the
 * commit, or dropped for the commit's error.
 *
 * While queries flow, changes are held to a budget of main-thread CPU
 * (pace.c): a change's work is charged to it, and a change line that
 * comes while it is spent waits (cmd_hold) before it runs; reads never
 * wait.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "cmd.h"
#include "config.h"
#include "ctlproto.h"
#include "db.h"
#include "health.h"
#include "log.h"
#include "pace.h"
#include "prio.h"
#include "route.h"
#include "state.h"
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
	[CMD_ROUTE_SET] = cmd_route_set,
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
	[CMD_KEY_ADD] = cmd_key_add,
	[CMD_KEY_SET] = cmd_key_set,
	[CMD_KEY_DEL] = cmd_key_del,
	[CMD_SHOW_KEYS] = cmd_show_keys,
	[CMD_TRACE] = cmd_trace,
	[CMD_SET] = cmd_set,
	[CMD_EXPORT] = cmd_export,
	[CMD_REPLACE] = cmd_replace,
	[CMD_FLEET_JOIN] = cmd_fleet_join,
	[CMD_FLEET_LEAVE] = cmd_fleet_leave,
	[CMD_HELP] = cmd_help,
};

int
cmd_dberr(struct cmd_ctx *x)
{
	reply_err(x->r, CTL_ERR_RUNTIME, "%s", db_errmsg(x->db));
	return -1;
}

int
cmd_fail(struct cmd_ctx *x, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	reply_err(x->r, CTL_ERR_RUNTIME, "%s", msg);
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

/* ---- checks the parser leaves to the daemon ---- */

struct checks {
	int	(*known)(void *, const char *);
	void	*arg;
};
static struct checks checks_plain;

static int
check_regex(void *arg, const char *pattern, char *err, size_t errlen)
{
	struct checks *k = arg;

	if (k->known != NULL && k->known(k->arg, pattern))
		return 0;
	return route_check_pattern(pattern, dr->cfg->set.match_limit, err,
	    errlen);
}

void
cmd_checks_init(struct cmd_checks *chk, int (*known)(void *, const char *),
    void *arg)
{
	static struct checks k;

	k.known = known;
	k.arg = arg;
	chk->regex = check_regex;
	chk->arg = known != NULL ? &k : &checks_plain;
}

/* ---- the audit ---- */

void
cmd_audit_rows(struct cmd_session *s, struct db_audit *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		/* uid -1: no local user (a change that came from the
		 * fleet). */
		v[i].uid = s->uid == (uid_t)-1 ? -1 : (long)s->uid;
		v[i].pid = (long)s->pid;
	}
	if (db_audit_add_rows(dr->db, v, n) == -1)
		log_warnx("audit: %s", db_errmsg(dr->db));
}

void
cmd_audit(struct cmd_session *s, const char *command, const char *outcome)
{
	struct db_audit a;

	a.time_us = wall_us();
	a.command = command;
	a.outcome = outcome;
	cmd_audit_rows(s, &a, 1);
}

/* The first line of an error: the usage after it is for the client. */
static void
first_line(const char *msg, char *out, size_t outlen)
{
	snprintf(out, outlen, "%.*s", (int)strcspn(msg, "\n"), msg);
}

/* Rows written outside a command's own transaction (refused changes,
 * actions on the live daemon) wait here until no transaction is open
 * (theirs, or another client's: the store has one connection). */
struct refusal {
	int64_t	 time_us;
	long	 uid, pid;
	char	*command;
	char	*outcome;
};
static struct refusal *refusals;
static int nrefusals;
#define REFUSALS_MAX	1024	/* while a transaction stays open */

static void
audit_later_as(long uid, long pid, const char *line, const char *error,
    unsigned where)
{
	struct refusal *f;
	char outcome[512];

	/* "line 6: ..." of a replace's input: the client says FILE:6. */
	if (where > 0)
		snprintf(outcome, sizeof(outcome), "line %u: ", where);
	else
		outcome[0] = '\0';
	first_line(error, outcome + strlen(outcome), sizeof(outcome) -
	    strlen(outcome));
	if (nrefusals == REFUSALS_MAX) {
		log_warnx("audit: refused change of pid %ld not audited: "
		    "%d wait for a transaction to end", pid, REFUSALS_MAX);
		return;
	}
	refusals = xrealloc(refusals, (nrefusals + 1) * sizeof(*refusals));
	f = &refusals[nrefusals++];
	f->time_us = wall_us();
	f->uid = uid;
	f->pid = pid;
	f->command = xstrdup(line);
	f->outcome = xstrdup(outcome);
}

static void
audit_later(struct cmd_session *s, const char *line, const char *error,
    unsigned where)
{
	audit_later_as((long)s->uid, (long)s->pid, line, error, where);
}

/* Write the refusals waiting, if the store is free. */
static void
audit_flush(void)
{
	struct db_audit a;
	int i;

	if (nrefusals == 0 || db_in_transaction(dr->db))
		return;
	if (db_begin(dr->db) == 0) {
		for (i = 0; i < nrefusals; i++) {
			a.time_us = refusals[i].time_us;
			a.uid = refusals[i].uid;
			a.pid = refusals[i].pid;
			a.command = refusals[i].command;
			a.outcome = refusals[i].outcome;
			if (db_audit_add(dr->db, &a) == -1)
				log_warnx("audit: %s", db_errmsg(dr->db));
		}
		if (db_commit(dr->db) == -1) {
			log_warnx("audit: %s", db_errmsg(dr->db));
			db_rollback(dr->db);
		}
	} else
		log_warnx("audit: %s", db_errmsg(dr->db));
	for (i = 0; i < nrefusals; i++) {
		free(refusals[i].command);
		free(refusals[i].outcome);
	}
	free(refusals);
	refusals = NULL;
	nrefusals = 0;
}

/* ---- transactions ---- */

void
cmd_ahead_free(struct cmd_ahead *a)
{
	config_unref(a->built);
	if (a->text != NULL)
		explicit_bzero(a->text, a->len);	/* the keys' secrets */
	free(a->text);
	memset(a, 0, sizeof(*a));
}

/*
 * A commit etcd is confirming: the store's transaction stays open until
 * the fleet took the change (then COMMIT) or refused it (ROLLBACK), and
 * the client waits for the answer (reply_async_begin).  At most one, as
 * there is one transaction; other clients are busy meanwhile.  When the
 * client leaves first, the commit still ends as etcd says, unheard.
 */
struct inflight {
	struct cmd_session	*s;		/* NULL once its client left */
	struct reply		*r;
	struct config		*c;		/* built before proposing */
	long			 uid, pid;
	char			*line;		/* audited when it fails */
	int			 n;		/* commit: changes; 0: a command */
	int			 shared;	/* etcd took it */
};
static struct inflight *inflight;

/*
 * Changes give the CPU to queries (prio.c): the main thread runs at the
 * lower weight from the start of a change to its end, and while a
 * transaction is open, so that a batch's lines and its commit (the
 * snapshot built) go at that weight without a system call for each line.
 */
static void
changing(int yes)
{
	static int held;

	if (yes && !held)
		prio_change_enter();
	else if (!yes && held)
		prio_change_leave();
	held = yes;
}

/* The change is done; a transaction may still be open. */
static void
changes_done(void)
{
	changing(txn_owner != NULL);
}

/* The transaction is over, committed or not. */
static void
txn_end(struct cmd_session *s)
{
	if (s != NULL)
		s->in_txn = 0;
	txn_owner = NULL;
	audit_flush();
}

/* What a commit answers once it is done: the held reply of one command,
 * or the count of an explicit commit. */
static void
reply_committed(struct reply *r, int n)
{
	if (n == 0)
		reply_release(r, NULL);
	else
		reply_ok(r, "committed %d change%s", n, n == 1 ? "" : "s");
}

/* The end of a commit: COMMIT (ok) or ROLLBACK with err; publish, reply,
 * audit a failure.  Takes f. */
static void
commit_end(struct inflight *f, int ok, const char *err)
{
	char msg[1024];

	if (ok && db_commit(dr->db) == -1) {
		snprintf(msg, sizeof(msg), "commit failed: %s; nothing changed "
		    "here, the previous state keeps serving%s",
		    db_errmsg(dr->db), f->shared ? " (etcd has the change: "
		    "this router takes it from there once it can)" : "");
		err = msg;
		ok = 0;
	}
	if (!ok) {
		db_rollback(dr->db);
		if (f->r != NULL)
			reply_err(f->r, CTL_ERR_RUNTIME, "%s", err);
		audit_later_as(f->uid, f->pid, f->line, err, 0);
	} else {
		state_publish(f->c);
		f->c = NULL;
		if (f->r != NULL)
			reply_committed(f->r, f->n);
	}
	cmd_share_committed();
	config_unref(f->c);
	if (f->n > 0 || f->s == NULL)
		txn_end(f->s);
	else
		audit_flush();
	free(f->line);
	free(f);
}

static void
confirmed(int ok, const char *err, void *arg)
{
	struct inflight *f = arg;
	struct ctl_conn *conn = f->s != NULL ? f->s->conn : NULL;

	inflight = NULL;
	if (f->r != NULL)
		f->r->async = 0;	/* reply_release sends the final line */
	f->shared = ok;
	commit_end(f, ok, err);
	changes_done();
	if (conn != NULL)
		reply_async_done(conn);
}

/*
 * Commit the open transaction.  The snapshot is built first, so a change
 * that cannot be served is never committed; in a fleet the change then
 * goes to etcd (cmd_share.c) and the COMMIT waits for its answer.  On
 * failure everything is rolled back, the error replied (dropping a held
 * reply) and audited.  Returns 1 while etcd decides, else 0.
 */
static int
commit_txn(struct cmd_session *s, struct reply *r, const char *line, int n,
    struct cmd_ahead *a)
{
	struct inflight *f;
	char err[1024], what[64];
	int rc;

	f = xcalloc(1, sizeof(*f));
	f->s = s;
	f->r = r;
	f->uid = (long)s->uid;
	f->pid = (long)s->pid;
	f->line = xstrdup(line);
	f->n = n;
	if (a != NULL && a->built != NULL) {
		/* Built ahead, from the store as it still is. */
		f->c = a->built;
		a->built = NULL;
	} else if ((f->c = state_build(err, sizeof(err))) == NULL) {
		snprintf(err + strlen(err), sizeof(err) - strlen(err),
		    "; nothing changed");
		commit_end(f, 0, err);
		return 0;
	}
	snprintf(what, sizeof(what), "commit of %d change%s", n,
	    n == 1 ? "" : "s");
	rc = cmd_share_commit(f->uid, f->pid, n > 0 ? what : line, a,
	    confirmed, f, err, sizeof(err));
	if (rc != 1) {
		commit_end(f, rc == 0, err);
		return 0;
	}
	inflight = f;
	reply_async_begin(r);
	return 1;
}

/* After the handler of a change returned rc, in its savepoint (!implicit)
 * or its transaction: keep it or not, audit, commit, answer. */
static void
mutating_end(struct cmd_ctx *x, int implicit, int rc)
{
	struct cmd_session *s = x->sess;

	if (rc != 0 || x->rollback || !implicit)
		cmd_ahead_free(&x->ahead);	/* no commit of its own */
	if (rc == 0 && x->rollback) {
		/* A dry run, or nothing to do: keep nothing, say so. */
		if (implicit || db_rollback_savepoint(dr->db) == -1)
			db_rollback(dr->db);
		reply_release(x->r, NULL);
		return;
	}
	if (rc == 0 && !x->audited)
		cmd_audit(s, x->line, "ok");
	if (rc == 0 && !implicit && db_release(dr->db) == -1)
		rc = cmd_dberr(x);
	if (rc != 0) {
		if (implicit)
			db_rollback(dr->db);
		else if (db_rollback_savepoint(dr->db) == -1) {
			/* SQLite gave up the whole transaction (full disk). */
			db_rollback(dr->db);
			s->in_txn = 0;
			txn_owner = NULL;
			log_warnx("transaction of pid %ld rolled back: %s",
			    (long)s->pid, db_errmsg(dr->db));
		}
		audit_later(s, x->line, x->r->errtext, x->r->where);
		audit_flush();
		return;
	}
	if (implicit) {
		(void)commit_txn(s, x->r, x->line, 0, &x->ahead);
		cmd_ahead_free(&x->ahead);
		return;
	}
	s->changes++;
	s->txn_serial = ++txn_serial;
	reply_release(x->r, " (pending commit)");
}

/*
 * Inside a savepoint of the open transaction, or in a new transaction of
 * its own: that needs no savepoint, since a failure rolls it all back (and
 * a savepoint open across a replace of 10,000 routes made SQLite copy
 * every page each change touched to a file).
 */
static void
run_mutating(struct cmd_ctx *x, cmd_handler h)
{
	struct cmd_session *s = x->sess;
	int implicit = !s->in_txn, rc;

	if (implicit && db_begin(dr->db) == -1) {
		cmd_dberr(x);
		return;
	}
	if (!implicit && db_savepoint(dr->db) == -1) {
		cmd_dberr(x);
		return;
	}
	/* "route 7 added" is not true before the commit. */
	reply_hold(x->r);
	rc = h(x, &x->c->a);
	/* A handler that went later and one that did not must say so the
	 * same way, or its client would wait forever or be answered twice. */
	if ((rc == CMD_LATER) != x->later)
		fatalx("%s: handler returned %d, cmd_later %s", x->c->spec->words,
		    rc, x->later ? "called" : "not called");
	if (!x->later)
		mutating_end(x, implicit, rc);
}

/* The one change answering later (cmd.h): a transaction of its own. */
struct later {
	struct cmd_ctx	 x;
	char		*line;
	void		(*cancel)(void *);
	void		*arg;
};
static struct later *later;

struct cmd_ctx *
cmd_later(struct cmd_ctx *x, void (*cancel)(void *), void *arg)
{
	struct later *l = xcalloc(1, sizeof(*l));

	x->later = 1;
	l->x = *x;
	l->line = xstrdup(x->line);
	l->x.line = l->line;
	l->x.c = NULL;			/* the request's, gone on return */
	l->x.body = NULL;
	l->x.bodylen = 0;
	l->cancel = cancel;
	l->arg = arg;
	later = l;
	/* Other clients' changes are busy meanwhile. */
	txn_owner = x->sess;
	reply_async_begin(x->r);
	return &l->x;
}

void
cmd_later_end(struct cmd_ctx *x, int rc)
{
	struct later *l = later;
	struct ctl_conn *conn = x->r->conn;

	later = NULL;
	txn_owner = NULL;
	x->r->async = 0;	/* the final line goes now */
	mutating_end(x, 1, rc);
	/* A fleet's etcd may now be deciding (commit_txn): it answers. */
	if (!x->r->async && conn != NULL)
		reply_async_done(conn);
	free(l->line);
	free(l);
	changes_done();		/* the store is no longer held */
}

static void
run_txn_cmd(struct cmd_ctx *x)
{
	struct cmd_session *s = x->sess;
	char why[1024];
	int n;

	switch (x->c->spec->id) {
	case CMD_BEGIN:
		if (s->in_txn) {
			cmd_fail(x, "a transaction is already open");
			return;
		}
		/* In a fleet, say at once that changes cannot be made. */
		if (cmd_share_can_change(why, sizeof(why)) == -1) {
			cmd_fail(x, "%s", why);
			return;
		}
		if (db_begin(dr->db) == -1) {
			cmd_dberr(x);
			return;
		}
		s->in_txn = 1;
		s->changes = 0;
		s->batch = x->c->a.begin.batch;
		s->batch_failed = 0;
		s->txn_serial = ++txn_serial;
		txn_owner = s;
		reply_ok(x->r, "transaction open");
		return;
	case CMD_COMMIT:
		if (!s->in_txn) {
			cmd_fail(x, "no transaction is open");
			return;
		}
		n = s->changes;
		s->in_txn = 0;
		if (n == 0) {
			db_rollback(dr->db);
			txn_end(s);
			reply_ok(x->r, "nothing to commit; transaction closed");
			return;
		}
		(void)commit_txn(s, x->r, "commit", n, NULL);
		return;
	default:	/* CMD_ABORT */
		if (!s->in_txn) {
			cmd_fail(x, "no transaction is open");
			return;
		}
		db_rollback(dr->db);
		txn_end(s);
		reply_ok(x->r, "aborted: nothing in the transaction was "
		    "applied");
		return;
	}
}

static int
busy(struct cmd_ctx *x)
{
	if (inflight != NULL && inflight->s != x->sess) {
		reply_err(x->r, CTL_ERR_BUSY, "busy: a change is being "
		    "confirmed by etcd");
		return 1;
	}
	if (txn_owner == NULL && db_in_transaction(dr->db)) {
		/* Nobody's: the fleet's change being applied (cmd_share.c). */
		reply_err(x->r, CTL_ERR_BUSY, "busy: a change of the fleet is "
		    "being applied");
		return 1;
	}
	if (txn_owner == NULL || txn_owner == x->sess)
		return 0;
	reply_err(x->r, CTL_ERR_BUSY, "busy: another client (pid %ld) holds "
	    "a transaction", (long)txn_owner->pid);
	return 1;
}

void
cmd_execute(struct cmd_session *s, struct reply *r, const char *line,
    const char *body, size_t bodylen)
{
	struct cmd_checks chk;
	struct cmd c;
	struct cmd_ctx x;
	struct db *rd;
	char err[4096], safe[CTL_LINE_MAX];
	uint64_t mark;
	int code, rc;

	/* A change's parse (its regex compiled) is its work too. */
	mark = pace_mark();
	cmd_checks_init(&chk, NULL, NULL);
	rc = cmd_parse(line, &c, &chk, &code, err, sizeof(err));
	if (rc == 1) {
		reply_ok(r, "%s", "");
		return;
	}
	if (s->in_txn && s->batch_failed && (rc == -1 ||
	    !(c.spec->flags & CMD_F_TXN))) {
		reply_err(r, CTL_ERR_RUNTIME, "not run: an earlier command of "
		    "the batch failed");
		if (rc == 0)
			cmd_free(&c);
		return;
	}
	/* A line that holds a secret is audited without it: as the command
	 * parsed, the secret shown as "(secret)", or by its words alone. */
	if (c.spec != NULL && cmd_has_secret(c.spec)) {
		if (rc == -1 || cmd_format_safe(&c, c.given, safe,
		    sizeof(safe)) == -1)
			snprintf(safe, sizeof(safe), "%s ... (not shown: it "
			    "holds a secret)", c.spec->words);
		line = safe;
	}
	if (rc == -1) {
		reply_err(r, code, "%s", err);
		if (s->in_txn && s->batch)
			s->batch_failed = 1;
		if (c.spec != NULL &&
		    (c.spec->flags & (CMD_F_MUTATES | CMD_F_LIVE))) {
			audit_later(s, line, err, 0);
			audit_flush();
		}
		return;
	}
	memset(&x, 0, sizeof(x));
	x.sess = s;
	x.r = r;
	x.c = &c;
	x.line = line;
	x.db = dr->db;
	x.body = body;
	x.bodylen = bodylen;
	if (body != NULL && !(c.spec->flags & CMD_F_BODY))
		reply_err(r, CTL_ERR_SYNTAX, "%s takes no data",
		    c.spec->words);
	else if (body == NULL && (c.spec->flags & CMD_F_BODY))
		reply_err(r, CTL_ERR_SYNTAX, "%s takes its input as the "
		    "request's data (dnsroutectl -f FILE --replace)",
		    c.spec->words);
	else if (c.spec->id == CMD_QUIT)
		reply_ok(r, "bye");
	else if (c.spec->flags & CMD_F_CTLONLY)
		reply_err(r, CTL_ERR_SYNTAX, "\"%s\" runs in dnsroutectl (it "
		    "reads files there)", c.spec->words);
	else if (c.spec->flags & CMD_F_TXN) {
		if (!busy(&x)) {
			changing(1);
			run_txn_cmd(&x);
			changes_done();
			pace_charge(mark);
		}
	} else if (c.spec->flags & CMD_F_MUTATES) {
		if (!busy(&x)) {
			changing(1);
			run_mutating(&x, handlers[c.spec->id]);
			changes_done();
			pace_charge(mark);
		}
	} else if (c.spec->flags & CMD_F_LIVE) {
		rc = handlers[c.spec->id](&x, &c.a);
		audit_later(s, line, rc == 0 ? "ok" : r->errtext, 0);
		audit_flush();
	} else {
		/* A read beside another's transaction (a begin, a replace, a
		 * fleet's apply) sees the committed store, not its changes
		 * so far; inside its own it sees its own. */
		if (txn_owner != s && db_in_transaction(dr->db) &&
		    (rd = db_reader(dr->db)) != NULL)
			x.db = rd;
		if (handlers[c.spec->id](&x, &c.a) == 0 && !r->final &&
		    !r->async)
			reply_ok(r, "%s", "");
	}
	if (s->in_txn && s->batch && r->failed)
		s->batch_failed = 1;
	cmd_free(&c);
}

int
cmd_run_on(struct db *db, struct cmd_session *s, const struct cmd *c,
    int64_t *made, char *err, size_t errlen)
{
	static struct evbuffer *sink;	/* what the handler says goes */
	struct reply r;
	struct cmd_ctx x;
	int rc;

	if (sink == NULL && (sink = evbuffer_new()) == NULL)
		fatalx("evbuffer_new failed");
	memset(&r, 0, sizeof(r));
	r.out = sink;
	r.discard = 1;
	memset(&x, 0, sizeof(x));
	x.sess = s;
	x.r = &r;
	x.c = c;
	x.line = "";
	x.db = db;
	rc = handlers[c->spec->id](&x, &c->a);
	if (rc != 0)
		snprintf(err, errlen, "%s", r.errtext);
	if (made != NULL)
		*made = x.made;
	evbuffer_drain(sink, evbuffer_get_length(sink));
	return rc;
}

int
cmd_committing(void)
{
	return inflight != NULL;
}

void
cmd_session_end(struct cmd_session *s)
{
	if (inflight != NULL && inflight->s == s) {
		/* etcd still decides; nobody hears the answer.  The reply
		 * held until the commit is dropped now, with the connection
		 * it belongs to. */
		reply_err(inflight->r, CTL_ERR_RUNTIME, "the client left; "
		    "etcd decides unheard");
		inflight->s = NULL;
		inflight->r = NULL;
	}
	if (later != NULL && later->x.sess == s) {
		later->cancel(later->arg);
		db_rollback(dr->db);
		reply_err(later->x.r, CTL_ERR_RUNTIME, "the client left; "
		    "nothing applied");
		audit_later(s, later->x.line, later->x.r->errtext, 0);
		free(later->line);
		free(later);
		later = NULL;
	}
	if (s->in_txn) {
		db_rollback(dr->db);
		s->in_txn = 0;
	}
	if (txn_owner == s)
		txn_owner = NULL;
	changes_done();
	audit_flush();
	if (dr->health != NULL)
		health_cancel(dr->health, s->conn);
	if (s->stream)
		trace_cancel(s->conn);
}

/* ---- the control socket's requests (control.h) ---- */

static void *
ctl_open(struct ctl_conn *conn, uid_t uid, pid_t pid)
{
	struct cmd_session *s = xcalloc(1, sizeof(*s));

	s->conn = conn;
	s->uid = uid;
	s->pid = pid;
	return s;
}

/* A change (its command words say so) waits while the change budget is
 * spent; everything else, and a line that names no command, runs now.
 * A replace comes with data and paces its own slices (cmd_replace.c). */
static uint64_t
cmd_hold(void *s, const char *line)
{
	const struct cmd_spec *cs;
	struct tok_line t;
	char err[256];
	uint64_t us;
	int nw;

	(void)s;
	if ((us = pace_wait_us()) == 0)
		return 0;
	if (tok_split(line, &t, err, sizeof(err)) == -1)
		return 0;
	cs = t.argc > 0 ? cmd_lookup(t.argc, t.argv, &nw, err, sizeof(err)) :
	    NULL;
	tok_free(&t);
	if (cs == NULL || !(cs->flags & (CMD_F_MUTATES | CMD_F_TXN)))
		return 0;
	pace_waits(us);
	return us;
}

static void
ctl_request(void *s, struct reply *r, const char *line, const char *data,
    size_t datalen)
{
	cmd_execute(s, r, line, data, datalen);
}

static int
ctl_in_txn(const void *s)
{
	return ((const struct cmd_session *)s)->in_txn;
}

static void
ctl_close(void *s)
{
	cmd_session_end(s);
	free(s);
}

const struct control_ops cmd_control_ops = {
	ctl_open, ctl_request, cmd_hold, ctl_in_txn, ctl_close
};

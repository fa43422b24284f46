/*
 * cmd: executing one request from a control client: parse it (common/
 * cmdparse.c, with the daemon's own check of regexes), run its handler
 * inside the right transaction, audit, build the snapshot and publish it
 * (state.h).  Handlers live in cmd_*.c, one per command, each taking the
 * command's typed arguments; cmd.c's handlers[] binds them to cmd_table.
 * The control socket reaches this layer through cmd_control_ops.
 */
#ifndef CMD_H
#define CMD_H

#include <sys/types.h>
#include <stdint.h>

#include "cmdtab.h"
#include "control.h"

struct db;
struct etcd;
struct sd_state;

/* One control client's state. */
struct cmd_session {
	struct ctl_conn		*conn;
	uid_t			 uid;
	pid_t			 pid;
	int			 in_txn;
	int			 changes;	/* applied in the open transaction */
	uint64_t		 txn_serial;	/* new at begin and at every
						   change in it (route lookup) */
	int			 stream;	/* a trace is running */
	/* The open transaction is a batch's (begin batch): once a command
	 * in it failed, the changes after it are refused unrun. */
	int			 batch;
	int			 batch_failed;
};

/* What a commit needs, made ahead of it in slices of their own (a sliced
 * replace, cmd_replace_ahead), so that the commit's event does not do it
 * all at once: the table built from the store (state_build) and, when the
 * store is in a fleet, the state text the commit proposes
 * (cmd_share_text).  NULL: not made; the commit makes it. */
struct cmd_ahead {
	struct config	*built;
	char		*text;
	size_t		 len;
};
void	cmd_ahead_free(struct cmd_ahead *);

struct cmd_ctx {
	struct cmd_session	*sess;
	struct reply		*r;
	const struct cmd	*c;
	const char		*line;		/* as sent, for the audit */
	struct db		*db;		/* the store it acts on */
	const char		*body;		/* the request's data */
	size_t			 bodylen;
	int			 audited;	/* the handler wrote its rows */
	int			 rollback;	/* undo, yet answer ok (dry run) */
	int64_t			 made;		/* route add: the id made */
	int			 later;		/* cmd_later() took it over */
	struct cmd_ahead	 ahead;		/* for its commit; taken there */
};

typedef int (*cmd_handler)(struct cmd_ctx *, const union cmd_args *);

/* Run one request; the reply is complete when it returns unless the
 * handler went asynchronous (reply_async_begin). */
void	cmd_execute(struct cmd_session *, struct reply *, const char *line,
	    const char *body, size_t bodylen);
/* The client left: abort its transaction, cancel what it waits for. */
void	cmd_session_end(struct cmd_session *);
/* The control socket's requests run here (control_new): a session per
 * client, ended by cmd_session_end when it leaves. */
extern const struct control_ops cmd_control_ops;
/* Run the handler of c alone on db (a replace's scratch or its apply):
 * 0, or -1 with the error in r->errtext.  No transaction, audit or
 * reply of its own. */
int	cmd_run_on(struct db *, struct cmd_session *, const struct cmd *c,
	    int64_t *made, char *err, size_t errlen);
/* The daemon's checks for cmd_parse(); patterns that known() says are
 * served already are not compiled again (replace). */
void	cmd_checks_init(struct cmd_checks *,
	    int (*known)(void *, const char *), void *arg);
/* The configured state of a store (cmd_export.c): 0, or -1 with
 * db_errmsg. */
int	cmd_state_read(struct db *, struct sd_state *);
/* The same in pieces (a replace's slices): the routes are read until the
 * clock (now_us) passes until, *sr (NULL at first) keeping where; 0 while
 * there is more, 1 done, -1 with db_errmsg (st freed).  Between two, the
 * store may be read but not changed; cmd_state_read_free drops *sr. */
struct state_read;
int	cmd_state_read_until(struct db *, struct state_read **sr,
	    struct sd_state *, uint64_t until);
void	cmd_state_read_free(struct state_read *);
/* The commands that rebuild the state of a store, one line each to out
 * (export); secrets: with every secret, for the fleet's copy.  0, or -1
 * with db_errmsg. */
int	cmd_state_lines(struct db *, int secrets,
	    void (*out)(void *, const char *line), void *arg);
/* The same lines as one text, secrets included, each ending in '\n'
 * (malloc'd; the state a fleet shares).  0, or -1 with db_errmsg. */
int	cmd_state_text(struct db *, char **text, size_t *len);
/* Make the store of x, inside its transaction, equal to the commands of
 * text (cmd_replace.c): each change made by its handler, reported as a
 * change line and audited with outcome.  keys_whole: text lists every
 * TSIG key with its secret (a fleet's state), so a key it lacks goes;
 * else the store's keys are kept.  0 with the counts, or -1 with the
 * error replied (and the line of text it is about), after which the
 * caller must roll back: the changes made so far are not undone. */
struct cmd_counts {
	size_t		n;
	unsigned	add, del, chg;
};
int	cmd_replace_text(struct cmd_ctx *, const char *text, size_t len,
	    int keys_whole, const char *outcome, struct cmd_counts *);
/* The same in time slices of about 10 ms, each run from the event loop,
 * so that the control socket answers meanwhile (cmd_replace.c): done is
 * called once with what cmd_replace_text would return, unless
 * cmd_replace_cancel() came first.  x, its reply and its session stay
 * valid until then, in the transaction of x; text is copied.  done may
 * take what ahead holds (else it is freed on return). */
struct replace;
struct replace *cmd_replace_start(struct cmd_ctx *, const char *text,
	    size_t len, int keys_whole, const char *outcome,
	    void (*done)(int rc, const struct cmd_counts *, struct cmd_ahead *,
	    void *arg), void *arg);
/* Once the changes are made, and only if there are any, make what their
 * commit needs (struct cmd_ahead), each in a slice of its own; with
 * text, the fleet's state text too.  Call before the first slice. */
void	cmd_replace_ahead(struct replace *, int text);
/* Stop it; the caller rolls the transaction back.  NULL-safe. */
void	cmd_replace_cancel(struct replace *);
/*
 * A change that answers later (replace): its handler takes a copy of its
 * context with cmd_later() and returns CMD_LATER.  Its transaction stays
 * open, other clients' changes are busy and its client waits; it ends
 * with cmd_later_end() and what the handler would have returned, or,
 * when the client leaves first, cancel(arg) is called and it is rolled
 * back.  What decides is cmd_later() having been called; CMD_LATER is a
 * value no handler returns otherwise (they return 0 or -1, and some
 * helpers 1), and cmd.c stops on a handler returning one without the
 * other.
 */
#define CMD_LATER	(-2)
struct cmd_ctx	*cmd_later(struct cmd_ctx *, void (*cancel)(void *),
		    void *arg);
void		 cmd_later_end(struct cmd_ctx *, int rc);
/* Audit one row in the current transaction. */
void	cmd_audit(struct cmd_session *, const char *command,
	    const char *outcome);
/* Audit n rows (their time, command and outcome set), in order. */
struct db_audit;
void	cmd_audit_rows(struct cmd_session *, struct db_audit *v, size_t n);

/* Handlers. */
int	cmd_backend_add(struct cmd_ctx *, const union cmd_args *);
int	cmd_backend_set(struct cmd_ctx *, const union cmd_args *);
int	cmd_backend_del(struct cmd_ctx *, const union cmd_args *);
int	cmd_backend_admin(struct cmd_ctx *, const union cmd_args *);
int	cmd_backend_readd(struct cmd_ctx *, const union cmd_args *);
int	cmd_pool_add(struct cmd_ctx *, const union cmd_args *);
int	cmd_pool_set(struct cmd_ctx *, const union cmd_args *);
int	cmd_pool_del(struct cmd_ctx *, const union cmd_args *);
int	cmd_route_add(struct cmd_ctx *, const union cmd_args *);
int	cmd_route_set(struct cmd_ctx *, const union cmd_args *);
int	cmd_route_del(struct cmd_ctx *, const union cmd_args *);
int	cmd_route_move(struct cmd_ctx *, const union cmd_args *);
int	cmd_route_test(struct cmd_ctx *, const union cmd_args *);
int	cmd_route_lookup(struct cmd_ctx *, const union cmd_args *);	/* cmd_zone.c */
int	cmd_set(struct cmd_ctx *, const union cmd_args *);
int	cmd_show_routes(struct cmd_ctx *, const union cmd_args *);
int	cmd_show_backends(struct cmd_ctx *, const union cmd_args *);
int	cmd_show_pools(struct cmd_ctx *, const union cmd_args *);
int	cmd_show_stats(struct cmd_ctx *, const union cmd_args *);
int	cmd_show_settings(struct cmd_ctx *, const union cmd_args *);
int	cmd_show_health(struct cmd_ctx *, const union cmd_args *);
int	cmd_show_audit(struct cmd_ctx *, const union cmd_args *);
int	cmd_show_recent(struct cmd_ctx *, const union cmd_args *);
int	cmd_show_fleet(struct cmd_ctx *, const union cmd_args *);
int	cmd_trace(struct cmd_ctx *, const union cmd_args *);
int	cmd_export(struct cmd_ctx *, const union cmd_args *);
int	cmd_replace(struct cmd_ctx *, const union cmd_args *);
int	cmd_help(struct cmd_ctx *, const union cmd_args *);
int	cmd_key_add(struct cmd_ctx *, const union cmd_args *);	/* cmd_key.c */
int	cmd_key_set(struct cmd_ctx *, const union cmd_args *);
int	cmd_key_del(struct cmd_ctx *, const union cmd_args *);
int	cmd_show_keys(struct cmd_ctx *, const union cmd_args *);

/* Is name (or the route id) something registered through etcd?  Then say
 * it cannot be changed here and return -1; else 0. */
int	cmd_registered(struct cmd_ctx *, const char *what, const char *name,
	    int64_t id);

/* One row of show stats: counter, value, what it counts. */
void	cmd_stat_row(struct cmd_ctx *, const char *name, long long v,
	    const char *what);
/* cmd_share.c: the state this router shares with a fleet.  In the
 * transaction about to be committed: 0 when it stays here (no fleet, or
 * nothing shared changed), 1 when it went to etcd and done() says later
 * whether to COMMIT (ok, with the revision recorded in the transaction)
 * or not (err), -1 when it is refused now (err). */
int	cmd_share_commit(long uid, long pid, const char *what,
	    struct cmd_ahead *,
	    void (*done)(int ok, const char *err, void *arg), void *arg,
	    char *err, size_t errlen);
/* The text cmd_share_commit would propose for the store as it is now
 * (malloc'd, to put in cmd_ahead), or NULL with *len 0 when the store is
 * in no fleet here.  0, or -1 with db_errmsg. */
int	cmd_share_text(char **text, size_t *len);
/* After every commit or rollback: what the store reflects, to the share. */
void	cmd_share_committed(void);
/* May changes be made at all now (etcd reachable when in a fleet)?  0, or
 * -1 with why. */
int	cmd_share_can_change(char *why, size_t whylen);
/* Start: what the store says, and the remote apply, to the share. */
void	cmd_share_start(struct etcd *, const char *prefix);
/* Is a commit waiting for etcd (the store's transaction open)? */
int	cmd_committing(void);
int	cmd_fleet_join(struct cmd_ctx *, const union cmd_args *);
int	cmd_fleet_leave(struct cmd_ctx *, const union cmd_args *);
/* cmd_share.c: the shared state's rows in show fleet, show stats, show
 * settings. */
void	cmd_share_rows(struct cmd_ctx *);
void	cmd_share_stats(struct cmd_ctx *);
void	cmd_share_setting(struct cmd_ctx *);

/* cmd_fleet.c: the fleet's rows in show stats and show settings. */
void	cmd_fleet_stats(struct cmd_ctx *);
void	cmd_fleet_settings(struct cmd_ctx *);

/* Shared helpers for handlers. */
int	cmd_dberr(struct cmd_ctx *);		/* 8000 with db_errmsg; returns -1 */
int	cmd_fail(struct cmd_ctx *, const char *, ...)	/* 8000; returns -1 */
	    __attribute__((format(printf, 2, 3)));
/* "2026-12-06T14:03:01.123Z" */
void	cmd_fmt_time(int64_t us, char *buf, size_t len);

#endif

/*
 * cmd: executing one command line from a control client: tokenize, look up
 * in the command table, run the handler inside the right transaction,
 * audit, rebuild and publish the snapshot.  Handlers live in cmd_*.c.
 */
#ifndef CMD_H
#define CMD_H

#include <sys/types.h>
#include <stdint.h>

#include "cmdtab.h"
#include "control.h"

/* One control client's state. */
struct cmd_session {
	struct ctl_conn	*conn;
	uid_t		 uid;
	pid_t		 pid;
	int		 in_txn;
	int		 changes;	/* commands applied in the open transaction */
	uint64_t	 txn_serial;	/* new at begin and at every change in it */
	int		 stream;	/* a trace is running */
};

struct cmd_ctx {
	struct cmd_session	*sess;
	struct reply		*r;
	const struct cmd_spec	*spec;
	const char		*line;
};

typedef int (*cmd_handler)(struct cmd_ctx *, int argc, char **argv);

/* Run one line; the reply is complete when it returns unless the handler
 * went asynchronous (reply_async_begin). */
void	cmd_execute(struct cmd_session *, struct reply *, const char *line);
/* The client left: abort its transaction, cancel what it waits for. */
void	cmd_session_end(struct cmd_session *);

/* Handlers. */
int	cmd_backend_add(struct cmd_ctx *, int, char **);
int	cmd_backend_set(struct cmd_ctx *, int, char **);
int	cmd_backend_del(struct cmd_ctx *, int, char **);
int	cmd_backend_admin(struct cmd_ctx *, int, char **);
int	cmd_backend_readd(struct cmd_ctx *, int, char **);
int	cmd_pool_add(struct cmd_ctx *, int, char **);
int	cmd_pool_set(struct cmd_ctx *, int, char **);
int	cmd_pool_del(struct cmd_ctx *, int, char **);
int	cmd_route_add(struct cmd_ctx *, int, char **);
int	cmd_route_del(struct cmd_ctx *, int, char **);
int	cmd_route_move(struct cmd_ctx *, int, char **);
int	cmd_route_test(struct cmd_ctx *, int, char **);
int	cmd_route_lookup(struct cmd_ctx *, int, char **);	/* cmd_zone.c */
int	cmd_set(struct cmd_ctx *, int, char **);
int	cmd_show_routes(struct cmd_ctx *, int, char **);
int	cmd_show_backends(struct cmd_ctx *, int, char **);
int	cmd_show_pools(struct cmd_ctx *, int, char **);
int	cmd_show_stats(struct cmd_ctx *, int, char **);
int	cmd_show_settings(struct cmd_ctx *, int, char **);
int	cmd_show_health(struct cmd_ctx *, int, char **);
int	cmd_show_audit(struct cmd_ctx *, int, char **);
int	cmd_show_recent(struct cmd_ctx *, int, char **);
int	cmd_show_fleet(struct cmd_ctx *, int, char **);
int	cmd_trace(struct cmd_ctx *, int, char **);
int	cmd_export(struct cmd_ctx *, int, char **);
int	cmd_help(struct cmd_ctx *, int, char **);

/* Is name (or the route id) something registered through etcd?  Then say
 * it cannot be changed here and return -1; else 0. */
int	cmd_registered(struct cmd_ctx *, const char *what, const char *name,
	    int64_t id);

/* cmd_fleet.c: the fleet's rows in show stats and show settings. */
void	cmd_fleet_stats(struct cmd_ctx *);
void	cmd_fleet_settings(struct cmd_ctx *);

/* Shared helpers for handlers. */
int	cmd_usage(struct cmd_ctx *);		/* 9000 with the usage; returns -1 */
int	cmd_dberr(struct cmd_ctx *);		/* 8000 with db_errmsg; returns -1 */
/* "2026-12-06T14:03:01.123Z" */
void	cmd_fmt_time(int64_t us, char *buf, size_t len);

#endif

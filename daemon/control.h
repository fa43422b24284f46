/*
 * control: the control socket.  Accepts dnsroutectl (or socat) on a Unix
 * stream socket, checks the peer (SO_PEERCRED), reads request lines and
 * writes coded reply lines (ctlproto.h), and keeps every client from
 * touching DNS service: lines are bounded, output is bounded, clients are
 * counted, and everything runs on the main thread, never in a worker.
 */
#ifndef CONTROL_H
#define CONTROL_H

#include <sys/types.h>
#include <stdint.h>

#include <event2/event.h>

struct control;
struct ctl_conn;

/* A reply being written to one client. */
struct reply {
	struct ctl_conn	*conn;
	struct evbuffer	*out;
	int		 final;		/* the final line was written */
	int		 failed;	/* ... and it was an error */
	int		 infield;	/* a row is open */
	int		 async;		/* the handler answers later */
	/* A change is not done until it is committed: while hold is set,
	 * every line goes to out (a buffer of its own) and reply_ok() keeps
	 * its message, for cmd.c to send after the commit (reply_release),
	 * or to drop for the commit's error (reply_err drops them). */
	int		 hold;
	struct evbuffer	*held_from;	/* the real out while holding */
	int		 held;
	char		 heldmsg[1024];
	char		 errtext[512];	/* the error, for the audit */
	unsigned	 where;		/* the line of the request's data an
					   error is about (CTL_WHERE); 0: none */
	int		 discard;	/* nobody reads it: say nothing but
					   the error (cmd_run_on) */
};

/* Bind the control socket at path (mode 0660, group gid when have_gid);
 * refuses (fatal) a path that is not a socket or a socket in use. */
int		 control_listen(const char *path, gid_t gid, int have_gid);
/* Serve the listening socket fd: one control_listen made (path: removed at
 * close) or one passed by the service manager (path NULL). */
struct control	*control_new(struct event_base *, int fd, const char *path,
		    gid_t gid, int have_gid);
void		 control_free(struct control *);
/* Stop accepting (shutdown); existing clients stay until they leave. */
void		 control_close_listener(struct control *);

/* Reply lines.  Columns and rows are tab-separated; the field functions
 * escape their argument.  A row is begun by its first field and ended by
 * reply_end_row(). */
void	reply_columns(struct reply *, const char *tab_separated);
void	reply_field(struct reply *, const char *);
void	reply_fieldn(struct reply *, const char *, size_t);
void	reply_fieldf(struct reply *, const char *, ...) __attribute__((format(printf, 2, 3)));
void	reply_field_int(struct reply *, long long);
void	reply_field_null(struct reply *);
void	reply_end_row(struct reply *);
void	reply_text(struct reply *, const char *);
void	reply_textf(struct reply *, const char *, ...) __attribute__((format(printf, 2, 3)));
void	reply_notice(struct reply *, const char *, ...) __attribute__((format(printf, 2, 3)));
/* One change made (or that a dry run would make): CTL_CHANGE.  detail may
 * be NULL, line 0 (none). */
void	reply_change(struct reply *, char op, const char *command,
	    const char *detail, unsigned line);
void	reply_ok(struct reply *, const char *, ...) __attribute__((format(printf, 2, 3)));
void	reply_err(struct reply *, int code, const char *, ...) __attribute__((format(printf, 3, 4)));
/* Hold the reply (see struct reply); release sends what was held and the
 * message reply_ok() kept ("ok" if none), with suffix appended. */
void	reply_hold(struct reply *);
void	reply_release(struct reply *, const char *suffix);

/* Asynchronous commands (readd, trace): the connection reads no further
 * request until reply_async_done(). */
void	reply_async_begin(struct reply *);
void	reply_async_done(struct ctl_conn *);
struct reply *ctl_conn_reply(struct ctl_conn *);
int	ctl_conn_alive(struct ctl_conn *);

#endif

/*
 * reply: what a command answers, as lines of the control protocol
 * (ctlproto.h) in a buffer: columns and rows, text, notices, changes, and
 * one final line (ok or an error).  The handlers (cmd*.c) write them; the
 * connection (control.c) sends them.
 */
#ifndef REPLY_H
#define REPLY_H

struct ctl_conn;
struct evbuffer;

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

#endif

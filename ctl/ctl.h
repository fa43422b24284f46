/*
 * ctl.h: the one interface between the parts of dnsroutectl.
 *
 * client.c owns the connection to dnsrouted and the one execute path,
 * ctl_exec(), that the shell, -c, -f and stdin all go through: it splits
 * the line, answers help and quit itself from the command table, sends
 * everything else and feeds each reply line to the chosen ctl_output.
 * output.c (text) and output_json.c (--json) are the two renderers;
 * nothing else writes a reply to stdout.  batch.c sends a file as one
 * transaction, or as the input of `replace` (--replace); shell.c is the
 * libedit front end and the only libedit user.  What a command means is
 * the daemon's business: dnsroutectl knows the command table (words,
 * grammar for completion and help, flags), never a command's handler.
 */
#ifndef CTL_H
#define CTL_H

#include <signal.h>
#include <stddef.h>
#include <stdio.h>

#include "ctlproto.h"

#ifndef DNSROUTE_SOCKET_DEFAULT
#define DNSROUTE_SOCKET_DEFAULT	"/run/dnsroute/dnsrouted.sock"
#endif
#ifndef DNSROUTE_VERSION
#define DNSROUTE_VERSION	"unknown"
#endif

/*
 * What became of a command.  The first three are also the exit statuses:
 * done; the command failed (8xxx); cannot reach the daemon, a protocol
 * error, or a usage error (9xxx, or one found here).  Then: a blank line
 * or comment, quit, and SIGINT while waiting for a reply (the connection
 * is then closed).
 */
#define CTL_ST_OK	0
#define CTL_ST_REFUSED	1
#define CTL_ST_FAIL	2
#define CTL_ST_EMPTY	3
#define CTL_ST_QUIT	4
#define CTL_ST_INTR	5

/* The status of a reply's final code. */
#define CTL_ST_OF(code)	((code) >= CTL_ERR_SYNTAX || (code) == CTL_CODE_CLIENT ? \
			    CTL_ST_FAIL : CTL_CODE_IS_ERROR(code) ? \
			    CTL_ST_REFUSED : CTL_ST_OK)

/* The code a renderer's done() gets for a failure on this side. */
#define CTL_CODE_CLIENT	(-1)

struct ctl;
struct ctl_conn;
struct cmd_spec;

/*
 * A renderer.  begin() starts a command; the data callbacks get fields and
 * text already unescaped; done() gets the final code and message, and
 * where ("FILE:LINE" in a batch, else NULL) to place an error.
 */
struct ctl_output {
	void	(*begin)(struct ctl *, const char *cmd);
	void	(*columns)(struct ctl *, char **names, int n);
	void	(*row)(struct ctl *, char **fields, int n);
	void	(*trace)(struct ctl *, char **fields, int n);
	void	(*change)(struct ctl *, char **fields, int n);
	void	(*text)(struct ctl *, const char *line);
	void	(*notice)(struct ctl *, const char *line);
	void	(*done)(struct ctl *, int code, const char *msg,
		    const char *where);
};
extern const struct ctl_output output_text;	/* output.c */
extern const struct ctl_output output_json;	/* output_json.c */

struct ctl_pending;

/*
 * The state of one dnsroutectl.  conn is NULL until a command needs the
 * daemon, and again after a loss.  in_txn: a begin is open on conn.
 * autobegin (batch): send begin before the first command that goes out.
 * nsent counts the commands sent, autobegins not included.
 *
 * A batch pipelines its changes (CTL_X_PIPE): pend holds those sent whose
 * replies are still to come, oldest first; once one has failed, the
 * replies of the rest are read and not shown (pipe_failed).  progress, when
 * set, is called as commands go out and replies come back (line_sent and
 * line_done: the input lines of the last sent and the last applied), and
 * with clear set before anything is written to stdout.
 */
struct ctl {
	const char		*sockpath;
	const struct ctl_output	*out;
	struct ctl_conn		*conn;
	int			 quiet;		/* -q */
	int			 noheader;	/* -H: rows without the header */
	int			 tty;		/* stdout is a terminal */
	int			 in_txn;
	int			 autobegin;
	unsigned		 nsent;
	struct ctl_pending	*pend;
	int			 npend, cappend, pend0;
	size_t			 pend_bytes;
	int			 pipe_failed;
	void			(*progress)(struct ctl *, int clear);
	unsigned		 line_sent, line_done;
};

/* Set by the shell's SIGINT handler (ctl_catch_sigint() installs it); a
 * blocked read gives up when set. */
extern volatile sig_atomic_t ctl_sigint;
void	ctl_catch_sigint(void);

/* A null field (CTL_NULL_FIELD on the wire) reaches the renderers as this
 * very pointer: "-" in a table, null in JSON. */
extern char ctl_null[];

/*
 * client.c: one connection.  client_connect() reads and checks the
 * greeting.  client_read() returns the next line's code with *more and
 * *text set (text lives until the next call), -1 with err set (lost,
 * timed out, not the protocol), or -2 when ctl_sigint interrupted it;
 * timeout_ms < 0 waits for ever.
 */
struct ctl_conn	*client_connect(const char *path, int timeout_ms, char *err,
		    size_t errlen);
void		 client_close(struct ctl_conn *);
const char	*client_greeting(const struct ctl_conn *);
/* The socket; a connection made of one already greeted (the zone
 * helper's). */
int		 client_fd(const struct ctl_conn *);
struct ctl_conn	*client_adopt(int fd);
/* Send a request line, with data (the "{N} " prefix) when body is not
 * NULL. */
int		 client_send(struct ctl_conn *, const char *line,
		    const char *body, size_t bodylen, char *err, size_t errlen);
int		 client_read(struct ctl_conn *, int timeout_ms, int *more,
		    char **text, char *err, size_t errlen);

/*
 * client.c: the execute path; ctl_exec() returns a CTL_ST_* value.  Flags:
 * QUIET renders nothing unless the command fails, SILENT nothing at all,
 * BATCH refuses begin, commit and abort (the input is one transaction).
 * ctl_exec_body() sends a command with data (replace): where names the
 * file, and an error about line N of the data is placed at "where:N".
 * ctl_local_reply() renders a reply made on this side.
 */
#define CTL_X_QUIET	0x01
#define CTL_X_SILENT	0x02
#define CTL_X_BATCH	0x04
/* A change may go out before the replies of those before it are in: the
 * status returned may be an earlier command's (the first that failed),
 * and ctl_drain() waits for the rest.  Anything else waits for them
 * first.  line: the command's input line, for progress. */
#define CTL_X_PIPE	0x08
int	ctl_exec(struct ctl *, const char *line, const char *where, int flags);
int	ctl_exec_line(struct ctl *, const char *line, const char *where,
	    int flags, unsigned lineno);
int	ctl_drain(struct ctl *);
int	ctl_exec_body(struct ctl *, const char *line, const char *body,
	    size_t bodylen, const char *where);
int	ctl_connect(struct ctl *, char *err, size_t errlen);
/* Make ctl->conn ready for a command of one's own (connected, and in the
 * batch's transaction); a CTL_ST_* value, the failure rendered. */
int	ctl_attach(struct ctl *, const char *cmd, const char *where, int flags);
void	ctl_disconnect(struct ctl *);
void	ctl_local_reply(struct ctl *, const char *cmd, int code,
	    const char *msg, const char *where);
/* Start rendering a command's reply (what progress showed goes first). */
void	ctl_begin(struct ctl *, const char *cmd);

/* batch.c: run fp (called name in messages), then the command then (if
 * not NULL), as one transaction; or fp as the input of replace (the state
 * made equal to it). */
int	batch_run(struct ctl *, FILE *fp, const char *name, const char *then,
	    int dry_run);
int	replace_run(struct ctl *, FILE *fp, const char *name, int dry_run);

/* shell.c: the interactive shell; returns an exit status.  It runs in
 * dnsroutectl-shell (shell_main.c), the one program that links libedit:
 * dnsroutectl execs it. */
#define SHELL_HELPER	"dnsroutectl-shell"
int	shell_run(struct ctl *);

/* libexec.c: the path of helper name into buf; -1 when too long.  The
 * output flags of ctl as a helper's arguments (at most 3; their count),
 * and ctl set by one of them (1 when ch was one). */
int	ctl_helper_path(const char *name, char *buf, size_t len);
int	ctl_helper_args(const struct ctl *, const char **argv);
int	ctl_helper_opt(struct ctl *, int ch);

/*
 * zone split and zone check (c, parsed); a CTL_ST_* value.  zone.c runs
 * them in dnsroutectl-zone, the one program that links ldns; zone_exec.c
 * is dnsroutectl's zone_run(): it runs that program on the connection
 * (passed as ZONE_FD), whose exit status is the CTL_ST_* value, with
 * ZONE_X_DROPPED when it closed the connection.
 */
#define ZONE_HELPER	"dnsroutectl-zone"
#define ZONE_FD		3
#define ZONE_X_DROPPED	0x08
struct cmd;
int	zone_run(struct ctl *, const char *cmd, const struct cmd *c,
	    const char *where, int flags);

#endif

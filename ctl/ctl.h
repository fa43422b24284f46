/*
 * ctl.h: the one interface between the parts of dnsroutectl.
 *
 * client.c owns the connection to dnsrouted and the one execute path,
 * ctl_exec(), that the shell, -c, -f and stdin all go through: it splits
 * the line, answers help and quit itself from cmd_table, sends everything
 * else and feeds each reply line to the chosen ctl_output.  output.c
 * (text) and output_json.c (--json) are the two renderers; nothing else
 * writes a reply to stdout.  batch.c turns a file into one transaction;
 * replace.c makes the state equal to a file (--replace); shell.c is the
 * libedit front end and the only libedit user.
 */
#ifndef CTL_H
#define CTL_H

#include <signal.h>
#include <stddef.h>
#include <stdio.h>

#ifndef DNSROUTE_SOCKET_DEFAULT
#define DNSROUTE_SOCKET_DEFAULT	"/run/dnsroute/dnsrouted.sock"
#endif
#ifndef DNSROUTE_VERSION
#define DNSROUTE_VERSION	"unknown"
#endif

/*
 * What became of a command.  The first three are also the exit statuses:
 * done; refused by the daemon (or the local syntax check); cannot reach
 * the daemon or a protocol error.  Then: a blank line or comment, quit,
 * and SIGINT while waiting for a reply (the connection is then closed).
 */
#define CTL_ST_OK	0
#define CTL_ST_REFUSED	1
#define CTL_ST_FAIL	2
#define CTL_ST_EMPTY	3
#define CTL_ST_QUIT	4
#define CTL_ST_INTR	5

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
	void	(*text)(struct ctl *, const char *line);
	void	(*notice)(struct ctl *, const char *line);
	void	(*done)(struct ctl *, int code, const char *msg,
		    const char *where);
};
extern const struct ctl_output output_text;	/* output.c */
extern const struct ctl_output output_json;	/* output_json.c */

/*
 * The state of one dnsroutectl.  conn is NULL until a command needs the
 * daemon, and again after a loss.  in_txn: a begin is open on conn.
 * autobegin (batch): send begin before the first command that goes out.
 * nsent counts the commands sent, autobegins not included.
 */
struct ctl {
	const char		*sockpath;
	const struct ctl_output	*out;
	struct ctl_conn		*conn;
	int			 quiet;		/* -q */
	int			 tty;		/* stdout is a terminal */
	int			 in_txn;
	int			 autobegin;
	unsigned		 nsent;
};

/* Set by the shell's SIGINT handler; a blocked read gives up when set. */
extern volatile sig_atomic_t ctl_sigint;

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
int		 client_send(struct ctl_conn *, const char *line, char *err,
		    size_t errlen);
int		 client_read(struct ctl_conn *, int timeout_ms, int *more,
		    char **text, char *err, size_t errlen);

/*
 * client.c: the execute path; ctl_exec() returns a CTL_ST_* value.  Flags:
 * QUIET renders nothing unless the command fails, SILENT nothing at all,
 * BATCH refuses begin, commit and abort (the input is one transaction).
 * ctl_local_reply() renders a reply made on this side.
 */
#define CTL_X_QUIET	0x01
#define CTL_X_SILENT	0x02
#define CTL_X_BATCH	0x04
int	ctl_exec(struct ctl *, const char *line, const char *where, int flags);
int	ctl_connect(struct ctl *, char *err, size_t errlen);
/* Make ctl->conn ready for a command of one's own (connected, and in the
 * batch's transaction); a CTL_ST_* value, the failure rendered. */
int	ctl_attach(struct ctl *, const char *cmd, const char *where, int flags);
void	ctl_disconnect(struct ctl *);
void	ctl_local_reply(struct ctl *, const char *cmd, int code,
	    const char *msg, const char *where);

/*
 * client.c: the command words of a cmd_table entry, for help and
 * completion: how many, the n-th one, and whether w abbreviates it.
 */
int	ctl_cmd_nwords(const struct cmd_spec *);
int	ctl_cmd_word(const struct cmd_spec *, int n, char *out, size_t outlen);
int	ctl_cmd_abbrev(const struct cmd_spec *, int n, const char *w);

/*
 * batch.c: the one reader of batch files.  batch_next() gives the next
 * command with its continuation lines joined: 1 with *cmd (owned by the
 * reader, valid until the next call) and *start (the line it starts on),
 * 0 at the end, -1 on a read error.
 */
struct batch_reader {
	FILE		*fp;
	char		*line, *cmd;
	size_t		 cap, cmdlen;
	unsigned	 lineno, start;
};
void	batch_init(struct batch_reader *, FILE *);
int	batch_next(struct batch_reader *, char **cmd, unsigned *start);
void	batch_free(struct batch_reader *);

/* batch.c: run fp (called name in messages), then the command then (if
 * not NULL), as one transaction. */
int	batch_run(struct ctl *, FILE *fp, const char *name, const char *then,
	    int dry_run);

/* replace.c: make the daemon's state equal to fp, in one transaction. */
int	replace_run(struct ctl *, FILE *fp, const char *name, int dry_run);

/* shell.c: the interactive shell; returns an exit status. */
int	shell_run(struct ctl *);

#endif

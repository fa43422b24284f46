/*
 * ctl.h: the one interface between the parts of dnsroutectl.
 *
 * client.c owns the connection to dnsrouted and the one execute path,
 * ctl_exec(), that the shell, -c, -f and stdin all go through: it splits
 * the line, answers help and quit locally from cmd_table, sends everything
 * else and feeds each reply line to the chosen ctl_output.  output.c
 * (text) and output_json.c (--json) are the two renderers; nothing else
 * writes a reply to stdout.  batch.c turns a file into one transaction;
 * shell.c is the libedit front end and the only libedit user.
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

/* What became of a command.  The first three are also exit statuses. */
#define CTL_ST_OK	0	/* done */
#define CTL_ST_REFUSED	1	/* the daemon (or the local syntax check) said no */
#define CTL_ST_FAIL	2	/* cannot reach the daemon, or a protocol error */
#define CTL_ST_EMPTY	3	/* blank line or comment: nothing was done */
#define CTL_ST_QUIT	4	/* quit */
#define CTL_ST_INTR	5	/* SIGINT while waiting for a reply; link closed */

/* The code a renderer gets for a failure on our side of the socket. */
#define CTL_CODE_CLIENT	(-1)

struct ctl;

/* A renderer.  begin() starts a command; the data callbacks get fields
 * already unescaped; done() gets the final code and text, and where
 * ("FILE:LINE" in a batch, else NULL) to place an error. */
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

struct ctl_conn;

struct ctl {
	const char		*sockpath;
	const struct ctl_output	*out;
	struct ctl_conn		*conn;		/* NULL until needed or after loss */
	int			 quiet;		/* -q: no ok messages or notices */
	int			 tty;		/* stdout is a terminal */
	int			 in_txn;	/* a begin is open on conn */
	int			 autobegin;	/* batch: begin before the first
						 * command that goes out */
	unsigned		 nsent;		/* commands sent (not autobegins) */
};

/* Set by the shell's SIGINT handler; a blocked read gives up when set. */
extern volatile sig_atomic_t ctl_sigint;

/* client.c: one connection.  client_connect() reads and checks the
 * greeting.  client_read() returns the next line's code with *more and
 * *text set (text lives until the next call), or -1 with err set (lost,
 * timed out, not the protocol), or -2 when ctl_sigint interrupted it.
 * timeout_ms < 0 waits for ever. */
struct ctl_conn	*client_connect(const char *path, int timeout_ms, char *err,
		    size_t errlen);
void		 client_close(struct ctl_conn *);
const char	*client_greeting(const struct ctl_conn *);
int		 client_send(struct ctl_conn *, const char *line, char *err,
		    size_t errlen);
int		 client_read(struct ctl_conn *, int timeout_ms, int *more,
		    char **text, char *err, size_t errlen);

/* client.c: the execute path.  ctl_exec() returns a CTL_ST_* value. */
#define CTL_X_QUIET	0x01	/* render nothing unless it fails */
#define CTL_X_SILENT	0x02	/* render nothing at all */
#define CTL_X_BATCH	0x04	/* refuse begin/commit/abort: the input is
				 * already one transaction */
int	ctl_exec(struct ctl *, const char *line, const char *where, int flags);
int	ctl_connect(struct ctl *, char *err, size_t errlen);
void	ctl_disconnect(struct ctl *);
/* Render a reply made on this side (the dry-run summary). */
void	ctl_local_reply(struct ctl *, const char *cmd, int code,
	    const char *msg, const char *where);

/* client.c: command words of a cmd_table entry, for help and completion:
 * how many there are, the n-th one, and whether w abbreviates it. */
struct cmd_spec;
int	ctl_cmd_nwords(const struct cmd_spec *);
int	ctl_cmd_word(const struct cmd_spec *, int n, char *out, size_t outlen);
int	ctl_cmd_abbrev(const struct cmd_spec *, int n, const char *w);

/* batch.c: run fp (called name in messages) as one transaction. */
int	batch_run(struct ctl *, FILE *fp, const char *name, int dry_run);

/* shell.c: the interactive shell; returns an exit status. */
int	shell_run(struct ctl *);

#endif

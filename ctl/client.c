/*
 * client: dnsroutectl's end of the control socket, and the one execute
 * path.  A ctl_conn is one connection and its read buffer.  ctl_exec()
 * runs one command line: split it, answer help and quit here from the
 * command table (help is rendered by cmdhelp.c, as the daemon renders
 * it), send anything else and hand every reply line to the renderer until
 * the final line, whose code is the outcome.
 *
 * A connection that is out of step (lost, interrupted, data nobody asked
 * for) is closed, never reused; the next command opens a new one.  The
 * exception is an open transaction: it died with its connection, so the
 * next command is refused rather than applied outside it.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <errno.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmdtab.h"
#include "ctlproto.h"
#include "tokenize.h"
#include "util.h"
#include "ctl.h"

#define CLIENT_LINE_LIMIT	(1024 * 1024)	/* longest reply line */
#define CLIENT_GREET_MS		5000

struct ctl_conn {
	int	 fd;
	char	*buf;
	size_t	 cap;
	size_t	 len;		/* bytes in buf */
	size_t	 off;		/* start of the unread ones */
	char	 greeting[256];
};

volatile sig_atomic_t ctl_sigint;

static void
on_sigint(int sig)
{
	(void)sig;
	ctl_sigint = 1;
}

void
ctl_catch_sigint(void)
{
	struct sigaction sa;
	sigset_t intr;

	/* No SA_RESTART: a blocked read must return to see ctl_sigint. */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_sigint;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	/* The zone helper starts with it blocked (zone_exec.c). */
	sigemptyset(&intr);
	sigaddset(&intr, SIGINT);
	sigprocmask(SIG_UNBLOCK, &intr, NULL);
}

static char	**fieldv;	/* split_fields() result, reused */
static int	  fieldcap;

/* Why connect(2) failed, in words an operator can act on. */
static void
connect_hint(const char *path, int e, char *out, size_t outlen)
{
	struct passwd *pw;
	struct group *gr;
	struct stat st;
	char owner[64], group[64];

	out[0] = '\0';
	switch (e) {
	case ENOENT:
	case ECONNREFUSED:
		snprintf(out, outlen, " (is dnsrouted running?)");
		break;
	case EACCES:
	case EPERM:
		if (stat(path, &st) == -1) {
			snprintf(out, outlen, " (a directory on the way is "
			    "closed to uid %ld)", (long)getuid());
			break;
		}
		if ((pw = getpwuid(st.st_uid)) != NULL)
			snprintf(owner, sizeof(owner), "%s", pw->pw_name);
		else
			snprintf(owner, sizeof(owner), "%ld",
			    (long)st.st_uid);
		if ((gr = getgrgid(st.st_gid)) != NULL)
			snprintf(group, sizeof(group), "%s", gr->gr_name);
		else
			snprintf(group, sizeof(group), "%ld",
			    (long)st.st_gid);
		snprintf(out, outlen, " (the socket is mode %04o, owner %s, "
		    "group %s: uid %ld is neither; dnsrouted -g GROUP names "
		    "the group that may use it)", (unsigned)(st.st_mode & 0777),
		    owner, group, (long)getuid());
		break;
	default:
		break;
	}
}

struct ctl_conn *
client_adopt(int fd)
{
	struct ctl_conn *c;

	c = xcalloc(1, sizeof(*c));
	c->fd = fd;
	c->cap = 4096;
	c->buf = xmalloc(c->cap);
	snprintf(c->greeting, sizeof(c->greeting), "(passed)");
	return c;
}

struct ctl_conn *
client_connect(const char *path, int timeout_ms, char *err, size_t errlen)
{
	struct sockaddr_un sun;
	struct ctl_conn *c;
	const char *p;
	char *line, why[256], hint[512];
	int fd, code, more;
	long proto;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path)) {
		snprintf(err, errlen, "socket path too long: %s", path);
		return NULL;
	}
	memcpy(sun.sun_path, path, strlen(path) + 1);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return NULL;
	}
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		int e = errno;

		connect_hint(path, e, hint, sizeof(hint));
		snprintf(err, errlen, "cannot connect to %s: %s%s", path,
		    e == EACCES ? "permission denied" : strerror(e), hint);
		close(fd);
		return NULL;
	}
	c = client_adopt(fd);
	code = client_read(c, timeout_ms, &more, &line, why, sizeof(why));
	if (code == -1) {
		snprintf(err, errlen, "%s: %s", path, why);
		goto fail;
	}
	if (code == -2) {
		snprintf(err, errlen, "%s: interrupted", path);
		goto fail;
	}
	if (CTL_CODE_IS_ERROR(code) && !more) {
		/* Refused at accept: not allowed, or too many clients. */
		ctl_unescape(line);
		snprintf(err, errlen, "%s: dnsrouted refused the connection: "
		    "%s", path, line);
		goto fail;
	}
	p = strstr(line, " protocol ");
	if (code != CTL_GREETING || more || p == NULL) {
		snprintf(err, errlen, "%s: not a dnsrouted control socket "
		    "(greeting \"%.60s\")", path, line);
		goto fail;
	}
	proto = strtol(p + 10, NULL, 10);
	if (proto != CTL_PROTOCOL_VERSION) {
		snprintf(err, errlen, "%s: dnsrouted speaks control protocol "
		    "%ld, this dnsroutectl speaks %d", path, proto,
		    CTL_PROTOCOL_VERSION);
		goto fail;
	}
	snprintf(c->greeting, sizeof(c->greeting), "%s", line);
	return c;
fail:
	client_close(c);
	return NULL;
}

int
client_fd(const struct ctl_conn *c)
{
	return c->fd;
}

void
client_close(struct ctl_conn *c)
{
	if (c == NULL)
		return;
	close(c->fd);
	free(c->buf);
	free(c);
}

const char *
client_greeting(const struct ctl_conn *c)
{
	return c->greeting;
}

static int
send_all(struct ctl_conn *c, const char *buf, size_t len, char *err,
    size_t errlen)
{
	size_t off = 0;
	ssize_t n;

	while (off < len) {
		n = send(c->fd, buf + off, len - off, MSG_NOSIGNAL);
		if (n == -1) {
			if (errno == EINTR && !ctl_sigint)
				continue;
			snprintf(err, errlen, "lost the connection to the "
			    "daemon: %s", strerror(errno));
			return -1;
		}
		off += n;
	}
	return 0;
}

int
client_send(struct ctl_conn *c, const char *line, const char *body,
    size_t bodylen, char *err, size_t errlen)
{
	size_t len = strlen(line);
	char *msg, prefix[32];
	int rc, pl = 0;

	if (body != NULL)
		pl = snprintf(prefix, sizeof(prefix), "{%zu} ", bodylen);
	msg = xmalloc(pl + len + 2);
	memcpy(msg, prefix, pl);
	memcpy(msg + pl, line, len);
	msg[pl + len] = '\n';
	rc = send_all(c, msg, pl + len + 1, err, errlen);
	free(msg);
	if (rc == 0 && body != NULL)
		rc = send_all(c, body, bodylen, err, errlen);
	return rc;
}

/* Wait until fd is readable or the deadline passes: 1, 0 (timeout), or
 * -1 with errno (EINTR included). */
static int
wait_readable(int fd, int64_t deadline_us)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	int64_t left;

	if (deadline_us < 0)
		return 1;
	left = deadline_us - (int64_t)now_us();
	if (left <= 0)
		return 0;
	return poll(&pfd, 1, (int)((left + 999) / 1000));
}

int
client_read(struct ctl_conn *c, int timeout_ms, int *more, char **text,
    char *err, size_t errlen)
{
	int64_t deadline = -1;
	char *nl;
	const char *t;
	ssize_t n;
	int code, r;

	if (timeout_ms >= 0)
		deadline = (int64_t)now_us() + (int64_t)timeout_ms * 1000;
	for (;;) {
		if (ctl_sigint)
			return -2;
		nl = memchr(c->buf + c->off, '\n', c->len - c->off);
		if (nl != NULL) {
			char *line = c->buf + c->off;

			*nl = '\0';
			c->off = nl + 1 - c->buf;
			if (nl > line && nl[-1] == '\r')
				nl[-1] = '\0';
			if ((code = ctl_parse_line(line, more, &t)) == -1) {
				snprintf(err, errlen, "protocol error: bad "
				    "reply line \"%.60s\"", line);
				return -1;
			}
			*text = line + (t - line);
			return code;
		}
		if (c->off > 0) {
			memmove(c->buf, c->buf + c->off, c->len - c->off);
			c->len -= c->off;
			c->off = 0;
		}
		if (c->len == c->cap) {
			if (c->cap >= CLIENT_LINE_LIMIT) {
				snprintf(err, errlen, "protocol error: reply "
				    "line longer than %d bytes",
				    CLIENT_LINE_LIMIT);
				return -1;
			}
			c->cap *= 2;
			c->buf = xrealloc(c->buf, c->cap);
		}
		r = wait_readable(c->fd, deadline);
		if (r == 0) {
			snprintf(err, errlen, "timed out waiting for the "
			    "daemon");
			return -1;
		}
		if (r == -1) {
			if (errno == EINTR)
				continue;
			snprintf(err, errlen, "poll: %s", strerror(errno));
			return -1;
		}
		n = read(c->fd, c->buf + c->len, c->cap - c->len);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			snprintf(err, errlen, "lost the connection to the "
			    "daemon: %s", strerror(errno));
			return -1;
		}
		if (n == 0) {
			snprintf(err, errlen, "the daemon closed the "
			    "connection%s", c->len > 0 ? " mid-line" : "");
			return -1;
		}
		c->len += n;
	}
}

/* Between commands nothing may arrive: readable means closed (or out of
 * step, which is as bad). */
static int
client_idle_ok(struct ctl_conn *c)
{
	struct pollfd pfd = { .fd = c->fd, .events = POLLIN };

	if (c->len > c->off)
		return 0;
	if (poll(&pfd, 1, 0) != 0)
		return 0;
	return 1;
}

/* Split a row into unescaped fields, in place.  (Text, notices and final
 * messages are escaped the same way, as one field.) */
static int
split_fields(char *text)
{
	int i, n = 0;
	char *p = text, *tab;

	for (;;) {
		if (n + 1 >= fieldcap) {
			fieldcap = fieldcap ? fieldcap * 2 : 16;
			fieldv = xrealloc(fieldv, fieldcap * sizeof(*fieldv));
		}
		fieldv[n++] = p;
		if ((tab = strchr(p, '\t')) == NULL)
			break;
		*tab = '\0';
		p = tab + 1;
	}
	fieldv[n] = NULL;
	for (i = 0; i < n; i++) {
		if (strcmp(fieldv[i], CTL_NULL_FIELD) == 0)
			fieldv[i] = ctl_null;
		else
			ctl_unescape(fieldv[i]);
	}
	return n;
}

char ctl_null[] = "-";

/* What progress shows goes before anything written. */
static void
progress_clear(struct ctl *ctl)
{
	if (ctl->progress != NULL)
		ctl->progress(ctl, 1);
}

/* The final line to the renderer: the progress line goes first, unless
 * nothing will be written (a success, quiet, as text). */
static void
out_done(struct ctl *ctl, int code, const char *msg, const char *where)
{
	if (CTL_ST_OF(code) != CTL_ST_OK || !ctl->quiet ||
	    ctl->out != &output_text)
		progress_clear(ctl);
	ctl->out->done(ctl, code, msg, where);
}

/* One non-final reply line to the renderer. */
static void
emit(struct ctl *ctl, int code, char *text)
{
	const struct ctl_output *o = ctl->out;
	int n;

	progress_clear(ctl);
	switch (code) {
	case CTL_COLUMNS:
		n = split_fields(text);
		o->columns(ctl, fieldv, n);
		break;
	case CTL_ROW:
		n = split_fields(text);
		o->row(ctl, fieldv, n);
		break;
	case CTL_TRACE:
		n = split_fields(text);
		o->trace(ctl, fieldv, n);
		break;
	case CTL_CHANGE:
		n = split_fields(text);
		o->change(ctl, fieldv, n);
		break;
	case CTL_NOTICE:
		ctl_unescape(text);
		o->notice(ctl, text);
		break;
	default:
		/* CTL_TEXT, and codes newer than this client. */
		ctl_unescape(text);
		o->text(ctl, text);
		break;
	}
}

void
ctl_begin(struct ctl *ctl, const char *cmd)
{
	progress_clear(ctl);
	ctl->out->begin(ctl, cmd);
}

void
ctl_local_reply(struct ctl *ctl, const char *cmd, int code, const char *msg,
    const char *where)
{
	ctl_begin(ctl, cmd);
	ctl->out->done(ctl, code, msg, where);
}

static void	pipe_forget(struct ctl *);

/* A failure found on this side: render it unless silent. */
static int
fail(struct ctl *ctl, const char *cmd, int code, const char *msg,
    const char *where, int flags)
{
	if (!(flags & CTL_X_SILENT))
		ctl_local_reply(ctl, cmd, code, msg, where);
	return CTL_ST_OF(code);
}

int
ctl_connect(struct ctl *ctl, char *err, size_t errlen)
{
	ctl_disconnect(ctl);
	ctl->conn = client_connect(ctl->sockpath, CLIENT_GREET_MS, err,
	    errlen);
	return ctl->conn == NULL ? -1 : 0;
}

void
ctl_disconnect(struct ctl *ctl)
{
	client_close(ctl->conn);
	ctl->conn = NULL;
	ctl->in_txn = 0;
	pipe_forget(ctl);
}

/* Drop a broken connection; says in msg what went with it. */
static void
drop(struct ctl *ctl, char *msg, size_t msglen)
{
	size_t l = strlen(msg);

	if (ctl->in_txn)
		snprintf(msg + l, msglen - l, "; the open transaction was "
		    "dropped, nothing in it was applied");
	ctl_disconnect(ctl);
}

/* Read and render the reply to cmd, sent already.  An error about line N
 * of the request's data is placed at "where:N". */
static int
read_reply(struct ctl *ctl, const char *cmd, const char *where, int flags)
{
	const struct ctl_output *o = ctl->out;
	int render = !(flags & (CTL_X_QUIET | CTL_X_SILENT));
	int code, more;
	char err[512], *text, at[1100];

	if (render)
		o->begin(ctl, cmd);
	for (;;) {
		code = client_read(ctl->conn, -1, &more, &text, err,
		    sizeof(err));
		if (code == -2) {
			snprintf(err, sizeof(err), "interrupted");
			drop(ctl, err, sizeof(err));
			if (ctl->tty)
				putchar('\n');	/* after the echoed ^C */
			if (!(flags & CTL_X_SILENT)) {
				if (!render)
					o->begin(ctl, cmd);
				out_done(ctl, CTL_CODE_CLIENT, err, where);
			}
			return CTL_ST_INTR;
		}
		if (code == -1) {
			drop(ctl, err, sizeof(err));
			goto failed;
		}
		if (more && code == CTL_WHERE) {
			snprintf(at, sizeof(at), "%.1024s:%.20s",
			    where != NULL ? where : "input", text);
			where = at;
			continue;
		}
		if (more) {
			if (render)
				emit(ctl, code, text);
			continue;
		}
		ctl_unescape(text);
		if (CTL_CODE_IS_ERROR(code)) {
			if (!(flags & CTL_X_SILENT)) {
				if (!render)
					o->begin(ctl, cmd);
				out_done(ctl, code, text, where);
			}
			return CTL_ST_OF(code);
		}
		if (render)
			out_done(ctl, code, text, where);
		return CTL_ST_OK;
	}
failed:
	if (!(flags & CTL_X_SILENT)) {
		if (!render)
			o->begin(ctl, cmd);
		out_done(ctl, CTL_CODE_CLIENT, err, where);
	}
	return CTL_ST_FAIL;
}

/* Send one request and render its reply. */
static int
roundtrip(struct ctl *ctl, const char *cmd, const char *body, size_t bodylen,
    const char *where, int flags)
{
	char err[512];

	if (client_send(ctl->conn, cmd, body, bodylen, err,
	    sizeof(err)) == -1) {
		drop(ctl, err, sizeof(err));
		return fail(ctl, cmd, CTL_CODE_CLIENT, err, where, flags);
	}
	return read_reply(ctl, cmd, where, flags);
}

/*
 * Pipelining.  A batch's changes go out without waiting for the replies
 * of those before them, at most PIPE_MAX commands and PIPE_BYTES of them
 * ahead: 100,000 round trips, a context switch each way, were most of
 * the time of a 100,000-route batch.  Their replies are small (a change
 * answers in a line or two), so the daemon's output never fills and it
 * never stops reading; every other command waits until they are in.
 * Replies are read, and rendered, in order.
 */
#define PIPE_MAX	256
#define PIPE_BYTES	(64 * 1024)

struct ctl_pending {
	char		*cmd;
	char		*where;
	int		 flags;
	unsigned	 line;
	size_t		 len;
};

static void
pending_free(struct ctl_pending *p)
{
	free(p->cmd);
	free(p->where);
}

/* All replies gone with the connection. */
static void
pipe_forget(struct ctl *ctl)
{
	int i;

	for (i = ctl->pend0; i < ctl->npend; i++)
		pending_free(&ctl->pend[i]);
	free(ctl->pend);
	ctl->pend = NULL;
	ctl->pend0 = ctl->npend = ctl->cappend = 0;
	ctl->pend_bytes = 0;
}

/* The reply to the oldest command sent: its status, or OK for one read
 * after an earlier one failed (those are not shown). */
static int
pipe_read_one(struct ctl *ctl)
{
	struct ctl_pending p = ctl->pend[ctl->pend0++];
	int st;

	ctl->pend_bytes -= p.len;
	st = read_reply(ctl, p.cmd, p.where, ctl->pipe_failed ?
	    CTL_X_SILENT : p.flags);
	pending_free(&p);
	if (ctl->conn == NULL) {
		/* Lost (said): nothing more will come. */
		pipe_forget(ctl);
		ctl->pipe_failed = 1;
		return st;
	}
	if (ctl->pend0 == ctl->npend)
		ctl->pend0 = ctl->npend = 0;
	if (ctl->pipe_failed)
		return CTL_ST_OK;
	if (st != CTL_ST_OK) {
		ctl->pipe_failed = 1;
		return st;
	}
	ctl->line_done = p.line;
	if (ctl->progress != NULL)
		ctl->progress(ctl, 0);
	return CTL_ST_OK;
}

int
ctl_drain(struct ctl *ctl)
{
	int st, first = CTL_ST_OK;

	while (ctl->pend0 < ctl->npend)
		if ((st = pipe_read_one(ctl)) != CTL_ST_OK &&
		    first == CTL_ST_OK)
			first = st;
	ctl->pipe_failed = 0;
	return first;
}

/* Send cmd; read the replies already in (and as many as it takes to stay
 * within the window). */
static int
pipe_send(struct ctl *ctl, const char *cmd, const char *where, int flags,
    unsigned line)
{
	struct ctl_pending *p;
	size_t len = strlen(cmd) + 1;
	char err[512];
	int st;

	while (ctl->pend0 < ctl->npend && (ctl->npend - ctl->pend0 >=
	    PIPE_MAX || ctl->pend_bytes + len > PIPE_BYTES))
		if ((st = pipe_read_one(ctl)) != CTL_ST_OK)
			return st;
	if (ctl->conn == NULL)
		return CTL_ST_FAIL;
	if (client_send(ctl->conn, cmd, NULL, 0, err, sizeof(err)) == -1) {
		drop(ctl, err, sizeof(err));
		pipe_forget(ctl);
		return fail(ctl, cmd, CTL_CODE_CLIENT, err, where, flags);
	}
	if (ctl->npend == ctl->cappend) {
		if (ctl->pend0 > 0) {
			memmove(ctl->pend, ctl->pend + ctl->pend0,
			    (ctl->npend - ctl->pend0) * sizeof(*ctl->pend));
			ctl->npend -= ctl->pend0;
			ctl->pend0 = 0;
		} else {
			ctl->cappend = ctl->cappend ? ctl->cappend * 2 : 64;
			ctl->pend = xrealloc(ctl->pend,
			    ctl->cappend * sizeof(*ctl->pend));
		}
	}
	p = &ctl->pend[ctl->npend++];
	p->cmd = xstrdup(cmd);
	p->where = where != NULL ? xstrdup(where) : NULL;
	p->flags = flags;
	p->line = line;
	p->len = len;
	ctl->pend_bytes += len;
	ctl->nsent++;
	ctl->line_sent = line;
	if (ctl->progress != NULL)
		ctl->progress(ctl, 0);
	while (ctl->pend0 < ctl->npend && ctl->conn != NULL &&
	    !client_idle_ok(ctl->conn))
		if ((st = pipe_read_one(ctl)) != CTL_ST_OK)
			return st;
	return CTL_ST_OK;
}

/* Connected (again, if the connection was lost outside a transaction)
 * and, in a batch, inside its transaction once there is a change. */
static int
attach(struct ctl *ctl, const char *cmd, int mutates, const char *where,
    int flags)
{
	char err[512];
	int st;

	if (ctl->conn != NULL && ctl->pend0 == ctl->npend &&
	    !client_idle_ok(ctl->conn)) {
		if (ctl->in_txn) {
			snprintf(err, sizeof(err), "the connection to the "
			    "daemon was lost");
			drop(ctl, err, sizeof(err));
			return fail(ctl, cmd, CTL_CODE_CLIENT, err, where,
			    flags);
		}
		ctl_disconnect(ctl);
		progress_clear(ctl);
		fflush(stdout);
		fprintf(stderr, "dnsroutectl: the connection to the daemon "
		    "was lost; reconnecting\n");
	}
	if (ctl->conn == NULL && ctl_connect(ctl, err, sizeof(err)) == -1)
		return fail(ctl, cmd, CTL_CODE_CLIENT, err, where, flags);

	/* A batch is one transaction from its first change on: reading
	 * needs none (and a batch of reading commits nothing). */
	if (ctl->autobegin && !ctl->in_txn && mutates) {
		st = roundtrip(ctl, "begin batch", NULL, 0, where,
		    CTL_X_QUIET | (flags & CTL_X_SILENT));
		if (st != CTL_ST_OK)
			return st;
		ctl->in_txn = 1;
	}
	return CTL_ST_OK;
}

int
ctl_attach(struct ctl *ctl, const char *cmd, const char *where, int flags)
{
	return attach(ctl, cmd, 0, where, flags);
}

static int
remote(struct ctl *ctl, const char *cmd, const struct cmd_spec *cs,
    const char *body, size_t bodylen, const char *where, int flags,
    unsigned line)
{
	int st;

	if ((st = attach(ctl, cmd, (cs->flags & CMD_F_MUTATES) != 0, where,
	    flags)) != CTL_ST_OK)
		return st;
	if (flags & CTL_X_PIPE)
		return pipe_send(ctl, cmd, where, flags, line);
	ctl->nsent++;
	st = roundtrip(ctl, cmd, body, bodylen, where, flags);
	switch (cs->id) {
	case CMD_BEGIN:
		if (st == CTL_ST_OK)
			ctl->in_txn = 1;
		break;
	case CMD_COMMIT:
	case CMD_ABORT:
		/* Whatever the answer, the daemon no longer holds it. */
		if (st == CTL_ST_OK || st == CTL_ST_REFUSED)
			ctl->in_txn = 0;
		break;
	default:
		break;
	}
	return st;
}

struct help_out {
	struct ctl	*ctl;
	int		 render;
};

static void
help_line(void *arg, const char *line)
{
	struct help_out *h = arg;

	if (h->render)
		h->ctl->out->text(h->ctl, line);
}

/* help [COMMAND...]: the daemon's answer, made here without it. */
static int
local_help(struct ctl *ctl, const char *cmd, int argc, char **argv,
    const char *where, int flags)
{
	struct help_out h = { ctl, !(flags & (CTL_X_QUIET | CTL_X_SILENT)) };
	char err[512];

	/* Only the words count: "help route add ^x" is help route add. */
	if (h.render)
		ctl_begin(ctl, cmd);
	if (cmd_help_lines(argc, argv, help_line, &h, err, sizeof(err)) == -1) {
		if (!h.render && !(flags & CTL_X_SILENT))
			ctl_begin(ctl, cmd);
		if (!(flags & CTL_X_SILENT))
			ctl->out->done(ctl, CTL_ERR_SYNTAX, err, where);
		return CTL_ST_OF(CTL_ERR_SYNTAX);
	}
	if (h.render)
		ctl->out->done(ctl, CTL_OK, "", where);
	return CTL_ST_OK;
}

/* What dnsroutectl runs itself (quit, zone split and check), parsed by
 * the one parser like any command. */
static int
local_cmd(struct ctl *ctl, const char *cmd, const char *where, int flags)
{
	struct cmd c;
	char err[4096];
	int code, st;

	if (cmd_parse(cmd, &c, NULL, &code, err, sizeof(err)) != 0)
		return fail(ctl, cmd, code, err, where, flags);
	if (c.spec->id == CMD_QUIT)
		st = CTL_ST_QUIT;
	else
		st = zone_run(ctl, cmd, &c, where, flags);
	cmd_free(&c);
	return st;
}

static int
is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* May the command go out before the replies of those before it are in?
 * A change, in a batch (its reply is a line or two). */
static int
pipelined(const struct cmd_spec *cs, const char *body, int flags)
{
	return (flags & CTL_X_PIPE) && body == NULL &&
	    (cs->flags & CMD_F_MUTATES) && !(cs->flags & CMD_F_TXN) &&
	    !(cs->flags & CMD_F_CTLONLY) && cs->id != CMD_HELP;
}

/* Split and look up a command line; dispatch it.  Anything but a change
 * of a batch waits for the replies still to come, and is not run when
 * one of them failed. */
static int
exec_line(struct ctl *ctl, const char *line, const char *body,
    size_t bodylen, const char *where, int flags, unsigned lineno)
{
	const struct cmd_spec *cs = NULL;
	struct tok_line t;
	char err[512], *cmd;
	size_t len;
	int nw, st, pipe;

	while (is_blank(*line))
		line++;
	cmd = xstrdup(line);
	len = strlen(cmd);
	while (len > 0 && is_blank(cmd[len - 1]))
		cmd[--len] = '\0';

	if (tok_split(cmd, &t, err, sizeof(err)) == -1) {
		st = ctl_drain(ctl);
		if (st == CTL_ST_OK)
			st = fail(ctl, cmd, CTL_ERR_SYNTAX, err, where, flags);
		free(cmd);
		return st;
	}
	if (t.argc > 0)
		cs = cmd_lookup(t.argc, t.argv, &nw, err, sizeof(err));
	pipe = cs != NULL && pipelined(cs, body, flags) &&
	    strpbrk(cmd, "\n\r") == NULL && len < CTL_LINE_MAX;
	if (!pipe && t.argc > 0 && (st = ctl_drain(ctl)) != CTL_ST_OK)
		goto out;
	if (t.argc == 0)
		st = CTL_ST_EMPTY;
	else if (strpbrk(cmd, "\n\r") != NULL)
		st = fail(ctl, cmd, CTL_ERR_SYNTAX, "a command is one line",
		    where, flags);
	else if (len >= CTL_LINE_MAX) {
		snprintf(err, sizeof(err), "command longer than %d bytes",
		    CTL_LINE_MAX - 1);
		st = fail(ctl, cmd, CTL_ERR_SYNTAX, err, where, flags);
	} else if (cs == NULL)
		st = fail(ctl, cmd, CTL_ERR_SYNTAX, err, where, flags);
	else if (cs->flags & CMD_F_CTLONLY)
		st = local_cmd(ctl, cmd, where, flags);
	else if (cs->id == CMD_HELP)
		st = local_help(ctl, cmd, t.argc - nw, t.argv + nw, where,
		    flags);
	else if ((flags & CTL_X_BATCH) && (cs->flags & CMD_F_TXN)) {
		snprintf(err, sizeof(err), "\"%s\" is not allowed here: the "
		    "whole input is one transaction", cs->words);
		st = fail(ctl, cmd, CTL_ERR_SYNTAX, err, where, flags);
	} else
		st = remote(ctl, cmd, cs, body, bodylen, where,
		    pipe ? flags : flags & ~CTL_X_PIPE, lineno);
out:
	tok_free(&t);
	free(cmd);
	return st;
}

int
ctl_exec(struct ctl *ctl, const char *line, const char *where, int flags)
{
	return exec_line(ctl, line, NULL, 0, where, flags, 0);
}

int
ctl_exec_line(struct ctl *ctl, const char *line, const char *where,
    int flags, unsigned lineno)
{
	return exec_line(ctl, line, NULL, 0, where, flags, lineno);
}

int
ctl_exec_body(struct ctl *ctl, const char *line, const char *body,
    size_t bodylen, const char *where)
{
	return exec_line(ctl, line, body, bodylen, where, 0, 0);
}

/*
 * control: the control socket (see control.h).
 *
 * Invariants: a client is served on the main thread only; it never holds a
 * lock a worker needs; its output is bounded (a client that stops reading
 * is cut off, or, for a trace, loses lines that are counted); a request
 * line is at most CTL_LINE_MAX bytes.  The socket path is never followed
 * through a symlink, and a live socket of another daemon is never removed.
 *
 * Nobody can keep the operator out: a request line must be complete
 * within CTL_LINE_SECONDS of its first byte; a client idle outside a
 * transaction is cut off after the setting control-idle-timeout (inside
 * one after CTL_TXN_IDLE_SECONDS; a running trace or a reply being
 * written is not idle); one uid holds at most CTL_MAX_PER_UID of the
 * CTL_MAX_CLIENTS slots; root and the daemon's own uid may also take the
 * CTL_RESERVED slots beyond them, and when even those are taken, the
 * longest idle client outside a transaction is closed to make room.
 *
 * A request the command layer holds (ops->hold: a change while the
 * change budget is spent, pace.c) is kept, and the connection reads
 * nothing until a timer says to ask again; other clients go on.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>

#include "config.h"
#include "control.h"
#include "ctlproto.h"
#include "log.h"
#include "state.h"
#include "util.h"

#define CTL_MAX_CLIENTS		64
/* Half: it takes two users to fill the slots, and a group member's runaway
 * script leaves room for the others. */
#define CTL_MAX_PER_UID		32
/* Beyond CTL_MAX_CLIENTS and the per-uid cap, for root and the daemon's
 * own uid only: whoever can fix things always gets in. */
#define CTL_RESERVED		8
/* Requests are read only while less than this is unread by the client:
 * one reply (an export) may pass it, a client that sends and never reads
 * holds no more than this plus one reply. */
#define CTL_OUT_HIWAT		(1024 * 1024)
/* From the first byte of a request line to its newline.  dnsroutectl,
 * socat on a terminal and scripts all write a line in one piece, and on a
 * local socket it arrives at once; only a stalled or hostile client takes
 * longer, so this is not a setting: there is nothing to tune. */
#define CTL_LINE_SECONDS	3
/* Idle inside an open transaction: an operator thinking between commands,
 * whose transaction dies with the connection. */
#define CTL_TXN_IDLE_SECONDS	3600
/* A client that takes nothing of a pending reply for this long is cut off. */
#define CTL_WRITE_SECONDS	60
/* How often the time limits above are looked at. */
#define CTL_SWEEP_MS		500

struct ctl_conn {
	struct control		*ctl;
	struct ctl_conn		*next;
	struct bufferevent	*bev;
	uid_t			 uid;
	void			*sess;		/* ops->open's */
	struct reply		 r;
	int			 async;		/* a command is still answering */
	int			 closing;	/* close once the output is flushed */
	int			 reserved;	/* holds one of the CTL_RESERVED slots */
	char			*held;		/* a request line ops->hold held */
	struct event		*resume;	/* asks for it again */
	uint64_t		 line_us;	/* first byte of an unfinished line, or 0 */
	uint64_t		 active_us;	/* last request or end of a reply */
	/* A request with data: its line, and the data as it arrives. */
	char			*pending;
	struct evbuffer		*body;
	size_t			 need;
};

struct control {
	struct event_base	*base;
	struct evconnlistener	*l;
	struct event		*sweep;		/* time limits, while clients are on */
	char			*path;		/* ours to remove; NULL if passed */
	gid_t			 gid;
	int			 have_gid;
	int			 nconns;
	int			 nreserved;	/* of nconns */
	struct ctl_conn		*conns;
	const struct control_ops *ops;
};

static void	conn_read_cb(struct bufferevent *, void *);

/* ---- the connection of a reply ---- */

void
reply_async_begin(struct reply *r)
{
	r->async = 1;
	r->conn->async = 1;
}

struct reply *
ctl_conn_reply(struct ctl_conn *c)
{
	return &c->r;
}

int
ctl_conn_alive(struct ctl_conn *c)
{
	return c != NULL && !c->closing;
}

/* ---- connections ---- */

static void
conn_free(struct ctl_conn *c)
{
	struct control *ctl = c->ctl;
	struct ctl_conn **pp;

	ctl->ops->close(c->sess);
	for (pp = &ctl->conns; *pp != NULL; pp = &(*pp)->next)
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	bufferevent_free(c->bev);
	ctl->nconns--;
	ctl->nreserved -= c->reserved;
	if (ctl->nconns == 0)
		event_del(ctl->sweep);
	free(c->pending);
	free(c->held);
	if (c->resume != NULL)
		event_free(c->resume);
	if (c->body != NULL)
		evbuffer_free(c->body);
	free(c);
}

static void
conn_write_cb(struct bufferevent *bev, void *arg)
{
	struct ctl_conn *c = arg;

	if (c->closing && evbuffer_get_length(bufferevent_get_output(bev)) == 0) {
		conn_free(c);
		return;
	}
	/* A reply fully taken: idle from here. */
	c->active_us = now_us();
	/* Output drained: take requests again, starting with any that
	 * arrived while we had stopped (no new data may come to wake us). */
	if (!c->async && !(bufferevent_get_enabled(bev) & EV_READ)) {
		bufferevent_enable(bev, EV_READ);
		conn_read_cb(bev, c);
	}
}

static void
conn_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct ctl_conn *c = arg;

	(void)bev;
	(void)what;
	conn_free(c);
}

static void
conn_close_after_flush(struct ctl_conn *c)
{
	c->closing = 1;
	bufferevent_disable(c->bev, EV_READ);
	if (evbuffer_get_length(bufferevent_get_output(c->bev)) == 0)
		conn_free(c);
}

/* A final error line for a request we will not serve, then close. */
static void
conn_fail(struct ctl_conn *c, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void
conn_fail(struct ctl_conn *c, int code, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	c->r.out = bufferevent_get_output(c->bev);
	c->r.final = 0;
	reply_err(&c->r, code, "%s", msg);
	conn_close_after_flush(c);
}

void
reply_async_done(struct ctl_conn *c)
{
	c->async = 0;
	c->active_us = now_us();
	if (c->closing || c->held != NULL)
		return;
	bufferevent_enable(c->bev, EV_READ);
	/* Lines that arrived meanwhile wait in the input buffer. */
	conn_read_cb(c->bev, c);
}

static void
reply_reset(struct ctl_conn *c, struct evbuffer *out)
{
	memset(&c->r, 0, sizeof(c->r));
	c->r.conn = c;
	c->r.out = out;
}

/* Take the request's data as it comes; run the request once it is all
 * here.  0 when it ran, -1 while more is to come. */
static int
take_body(struct ctl_conn *c, struct evbuffer *in, struct evbuffer *out)
{
	size_t have = evbuffer_get_length(c->body), avail, n;
	const char *data;

	avail = evbuffer_get_length(in);
	n = c->need - have < avail ? c->need - have : avail;
	if (n > 0 && evbuffer_remove_buffer(in, c->body, n) != (int)n)
		fatalx("evbuffer_remove_buffer failed");
	if (n > 0)
		c->active_us = now_us();	/* data arriving: not idle */
	if (evbuffer_get_length(c->body) < c->need)
		return -1;
	data = c->need > 0 ? (const char *)evbuffer_pullup(c->body, -1) : "";
	reply_reset(c, out);
	c->ctl->ops->request(c->sess, &c->r, c->pending, data, c->need);
	free(c->pending);
	c->pending = NULL;
	evbuffer_free(c->body);
	c->body = NULL;
	return 0;
}

/* One request line (n bytes, no newline): run it, or start taking the
 * data it announces. */
static void
serve_line(struct ctl_conn *c, const char *line, size_t n)
{
	struct evbuffer *out = bufferevent_get_output(c->bev);
	const char *rest;
	size_t len;
	int pre;

	c->active_us = now_us();
	reply_reset(c, out);
	pre = n <= CTL_LINE_MAX && strlen(line) == n ?
	    ctl_body_prefix(line, &len, &rest) : 0;
	if (n > CTL_LINE_MAX)
		reply_err(&c->r, CTL_ERR_SYNTAX,
		    "request line longer than %d bytes", CTL_LINE_MAX);
	else if (strlen(line) != n)
		reply_err(&c->r, CTL_ERR_SYNTAX, "NUL byte in request");
	else if (pre == -1) {
		/* The data that follows cannot be skipped: out. */
		reply_err(&c->r, CTL_ERR_SYNTAX, "bad data prefix: "
		    "\"{N} \" with N up to %d bytes", CTL_BODY_MAX);
		conn_close_after_flush(c);
	} else if (pre == 1) {
		c->pending = xstrdup(rest);
		c->need = len;
		if ((c->body = evbuffer_new()) == NULL)
			fatalx("evbuffer_new failed");
	} else
		c->ctl->ops->request(c->sess, &c->r, line, NULL, 0);
}

static int	hold(struct ctl_conn *, char *, size_t);

static void
resume_line_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct ctl_conn *c = arg;
	char *line = c->held;

	(void)fd;
	(void)ev;
	c->held = NULL;
	if (hold(c, line, strlen(line)) == 1)
		return;
	serve_line(c, line, strlen(line));
	free(line);
	conn_read_cb(c->bev, c);
}

/* Keep line (taken) for later when the command layer says so: 1. */
static int
hold(struct ctl_conn *c, char *line, size_t n)
{
	struct timeval tv;
	uint64_t us;

	if (n > CTL_LINE_MAX || strlen(line) != n ||
	    (us = c->ctl->ops->hold(c->sess, line)) == 0)
		return 0;
	if (c->resume == NULL &&
	    (c->resume = evtimer_new(c->ctl->base, resume_line_cb, c)) == NULL)
		fatalx("evtimer_new failed");
	c->held = line;
	tv.tv_sec = (time_t)(us / 1000000);
	tv.tv_usec = (suseconds_t)(us % 1000000);
	evtimer_add(c->resume, &tv);
	return 1;
}

static void
conn_read_cb(struct bufferevent *bev, void *arg)
{
	struct ctl_conn *c = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	struct evbuffer *out = bufferevent_get_output(bev);
	uint64_t line_us = c->line_us;
	char *line;
	size_t n;

	/* The line clock runs only while we wait for the client's bytes,
	 * not while it waits for us (a command running, output backed up). */
	c->line_us = 0;
	while (!c->async && !c->closing && c->held == NULL) {
		if (evbuffer_get_length(out) > CTL_OUT_HIWAT) {
			/* Stop reading requests until the client reads. */
			bufferevent_disable(bev, EV_READ);
			return;
		}
		if (c->body != NULL) {
			if (take_body(c, in, out) == -1)
				return;
			continue;
		}
		line = evbuffer_readln(in, &n, EVBUFFER_EOL_LF);
		if (line == NULL) {
			if (evbuffer_get_length(in) > CTL_LINE_MAX)
				conn_fail(c, CTL_ERR_SYNTAX, "request line "
				    "longer than %d bytes", CTL_LINE_MAX);
			else if (evbuffer_get_length(in) > 0)
				c->line_us = line_us != 0 ? line_us : now_us();
			return;
		}
		line_us = 0;
		if (n > 0 && line[n - 1] == '\r')
			line[--n] = '\0';
		if (hold(c, line, n) == 1)
			return;
		serve_line(c, line, n);
		free(line);
	}
}

static int
peer_allowed(struct control *ctl, const struct ucred *cr)
{
	struct passwd *pw;
	gid_t groups[256];
	int ng = 256, i;

	if (cr->uid == 0 || cr->uid == geteuid())
		return 1;
	if (!ctl->have_gid)
		return 0;
	if (cr->gid == ctl->gid)
		return 1;
	if ((pw = getpwuid(cr->uid)) == NULL)
		return 0;
	if (getgrouplist(pw->pw_name, pw->pw_gid, groups, &ng) == -1)
		return 0;
	for (i = 0; i < ng; i++)
		if (groups[i] == ctl->gid)
			return 1;
	return 0;
}

/* May a client wait for the client side, and for how long (µs)?  0: it
 * is not waiting on its client (a command runs, output is pending), so no
 * clock runs. */
static uint64_t
conn_wait_limit(const struct ctl_conn *c)
{
	int idle_s = dr != NULL && dr->cfg != NULL ?
	    dr->cfg->set.control_idle_s : 300;

	if (c->closing || c->async || c->held != NULL ||
	    evbuffer_get_length(bufferevent_get_output(c->bev)) > 0)
		return 0;
	if (c->line_us != 0)
		return (uint64_t)CTL_LINE_SECONDS * 1000000;
	if (c->ctl->ops->in_txn(c->sess))
		idle_s = CTL_TXN_IDLE_SECONDS;
	return (uint64_t)idle_s * 1000000;
}

static void
sweep_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct control *ctl = arg;
	struct ctl_conn *c, *next;
	uint64_t now = now_us(), limit;

	(void)fd;
	(void)ev;
	for (c = ctl->conns; c != NULL; c = next) {
		next = c->next;
		if ((limit = conn_wait_limit(c)) == 0)
			continue;
		if (c->line_us != 0 && now - c->line_us >= limit)
			conn_fail(c, CTL_ERR_SYNTAX, "request line not "
			    "completed within %d s", CTL_LINE_SECONDS);
		else if (c->line_us == 0 && now - c->active_us >= limit)
			conn_fail(c, CTL_ERR_RUNTIME, "idle for %llu s%s; "
			    "closing", (unsigned long long)(limit / 1000000),
			    ctl->ops->in_txn(c->sess) ? " in a transaction" :
			    "");
	}
}

/* The client that can best go to make room: one waiting on its client,
 * outside a transaction; half a request line first, then the longest
 * idle.  NULL when every client is busy or in a transaction. */
static struct ctl_conn *
conn_evictable(struct control *ctl)
{
	struct ctl_conn *c, *best = NULL;

	for (c = ctl->conns; c != NULL; c = c->next) {
		if (conn_wait_limit(c) == 0 || ctl->ops->in_txn(c->sess))
			continue;
		if (best == NULL || (c->line_us != 0) > (best->line_us != 0) ||
		    ((c->line_us != 0) == (best->line_us != 0) &&
		    c->active_us < best->active_us))
			best = c;
	}
	return best;
}

/*
 * Which slot a new client of uid gets: 0 a normal one, 1 a reserved one,
 * -1 none (msg says why).  Root and the daemon's uid, refused a normal
 * slot, take a reserved one, or the slot of the client conn_evictable()
 * picks, which is closed here.
 */
static int
admit(struct control *ctl, uid_t uid, char *msg, size_t msglen)
{
	struct ctl_conn *c;
	int nuid = 0, kind;

	for (c = ctl->conns; c != NULL; c = c->next)
		nuid += !c->reserved && c->uid == uid;
	if (ctl->nconns - ctl->nreserved < CTL_MAX_CLIENTS &&
	    nuid < CTL_MAX_PER_UID)
		return 0;
	if (uid == 0 || uid == geteuid()) {
		if (ctl->nreserved < CTL_RESERVED)
			return 1;
		if ((c = conn_evictable(ctl)) != NULL) {
			kind = c->reserved;
			/* Best effort, as for a refusal: its output is empty
			 * (conn_wait_limit), so this fits the socket buffer. */
			snprintf(msg, msglen, "%04d closed to make room for a "
			    "privileged client\n", CTL_ERR_RUNTIME);
			if (write(bufferevent_getfd(c->bev), msg,
			    strlen(msg)) == -1)
				log_debug("control eviction notice not delivered");
			conn_free(c);
			return kind;
		}
	}
	if (nuid >= CTL_MAX_PER_UID)
		snprintf(msg, msglen, "%04d too many control clients for uid "
		    "%ld (%d)\n", CTL_ERR_RUNTIME, (long)uid, CTL_MAX_PER_UID);
	else
		snprintf(msg, msglen, "%04d too many control clients (%d)\n",
		    CTL_ERR_RUNTIME, CTL_MAX_CLIENTS);
	return -1;
}

static void
accept_cb(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa,
    int salen, void *arg)
{
	struct control *ctl = arg;
	struct ctl_conn *c;
	struct ucred cr;
	socklen_t crlen = sizeof(cr);
	struct timeval sweep = { 0, CTL_SWEEP_MS * 1000 };
	struct timeval wtv = { CTL_WRITE_SECONDS, 0 };
	char msg[256];
	int kind = -1;

	(void)l;
	(void)sa;
	(void)salen;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &crlen) == -1) {
		close(fd);
		return;
	}
	if (!peer_allowed(ctl, &cr))
		snprintf(msg, sizeof(msg), "%04d permission denied: uid %ld "
		    "may not use this control socket\n", CTL_ERR_RUNTIME,
		    (long)cr.uid);
	else
		kind = admit(ctl, cr.uid, msg, sizeof(msg));
	if (kind == -1) {
		/* Best effort: the socket is new, so this fits its buffer. */
		if (write(fd, msg, strlen(msg)) == -1)
			log_debug("control refusal not delivered");
		close(fd);
		return;
	}
	c = xcalloc(1, sizeof(*c));
	c->ctl = ctl;
	c->uid = cr.uid;
	c->reserved = kind;
	c->active_us = now_us();
	c->bev = bufferevent_socket_new(ctl->base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (c->bev == NULL) {
		close(fd);
		free(c);
		return;
	}
	c->sess = ctl->ops->open(c, cr.uid, cr.pid);
	c->next = ctl->conns;
	ctl->conns = c;
	if (ctl->nconns++ == 0)
		event_add(ctl->sweep, &sweep);
	ctl->nreserved += kind;
	bufferevent_setcb(c->bev, conn_read_cb, conn_write_cb, conn_event_cb, c);
	/* No read timeout: the sweep keeps the time limits, which depend
	 * on what the client is doing. */
	bufferevent_set_timeouts(c->bev, NULL, &wtv);
	/* Read no more than two request lines ahead: a client that keeps
	 * sending while a trace runs (and we read nothing) is not buffered
	 * without end; an over-long line is still seen and refused. */
	bufferevent_setwatermark(c->bev, EV_READ, 0, 2 * CTL_LINE_MAX + 2);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
	evbuffer_add_printf(bufferevent_get_output(c->bev),
	    "%04d dnsrouted %s protocol %d\n", CTL_GREETING, DNSROUTE_VERSION,
	    CTL_PROTOCOL_VERSION);
}

static void
resume_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct control *ctl = arg;

	(void)fd;
	(void)ev;
	if (ctl->l != NULL)
		evconnlistener_enable(ctl->l);
}

static void
accept_error_cb(struct evconnlistener *l, void *arg)
{
	struct control *ctl = arg;
	struct timeval tv = { 0, 100000 };
	static struct log_limit ll;

	/* Out of descriptors: the control socket must stay usable, so try
	 * again soon; the listener is level-triggered, so pause it rather
	 * than spin. */
	if (log_allow(&ll))
		log_warn("control accept");
	evconnlistener_disable(l);
	event_base_once(ctl->base, -1, EV_TIMEOUT, resume_cb, ctl, &tv);
}

int
control_listen(const char *path, gid_t gid, int have_gid)
{
	struct sockaddr_un sun;
	struct stat st;
	mode_t old;
	int fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path))
		fatalx("control socket path too long: %s", path);
	strcpy(sun.sun_path, path);
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode))
			fatalx("control socket %s exists and is not a socket "
			    "(a symlink or file); refusing to touch it", path);
		/* A socket that answers belongs to a running daemon. */
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd != -1 && connect(fd, (struct sockaddr *)&sun,
		    sizeof(sun)) == 0)
			fatalx("control socket %s is in use by a running "
			    "dnsrouted", path);
		if (fd != -1)
			close(fd);
		if (unlink(path) == -1)
			fatal("unlink %s", path);
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1)
		fatal("socket");
	old = umask(S_IXUSR | S_IXGRP | S_IRWXO);
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1)
		fatal("bind %s", path);
	umask(old);
	if (have_gid && chown(path, (uid_t)-1, gid) == -1)
		fatal("chown %s", path);
	if (chmod(path, 0660) == -1)
		fatal("chmod %s", path);
	if (listen(fd, 16) == -1)
		fatal("listen %s", path);
	return fd;
}

struct control *
control_new(struct event_base *base, int fd, const char *path, gid_t gid,
    int have_gid, const struct control_ops *ops)
{
	struct control *ctl;

	ctl = xcalloc(1, sizeof(*ctl));
	ctl->base = base;
	ctl->ops = ops;
	ctl->path = path != NULL ? xstrdup(path) : NULL;
	ctl->gid = gid;
	ctl->have_gid = have_gid;
	ctl->l = evconnlistener_new(base, accept_cb, ctl,
	    LEV_OPT_CLOSE_ON_FREE, -1, fd);
	if (ctl->l == NULL)
		fatalx("evconnlistener_new failed");
	evconnlistener_set_error_cb(ctl->l, accept_error_cb);
	ctl->sweep = event_new(base, -1, EV_PERSIST, sweep_cb, ctl);
	return ctl;
}

void
control_close_listener(struct control *ctl)
{
	if (ctl->l != NULL) {
		evconnlistener_free(ctl->l);
		ctl->l = NULL;
		/* A passed socket is its owner's to remove. */
		if (ctl->path != NULL && unlink(ctl->path) == -1)
			log_warn("unlink %s", ctl->path);
	}
}

void
control_free(struct control *ctl)
{
	if (ctl == NULL)
		return;
	control_close_listener(ctl);
	while (ctl->conns != NULL)
		conn_free(ctl->conns);
	event_free(ctl->sweep);
	free(ctl->path);
	free(ctl);
}

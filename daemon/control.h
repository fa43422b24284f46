/*
 * control: the control socket.  Accepts dnsroutectl (or socat) on a Unix
 * stream socket, checks the peer (SO_PEERCRED), reads request lines and
 * writes coded reply lines (ctlproto.h), and keeps every client from
 * touching DNS service: lines are bounded, output is bounded, clients are
 * counted, and everything runs on the main thread, never in a worker.
 * What a request means is not its business: it hands each to the
 * control_ops it was given (the command layer's, cmd.h).
 */
#ifndef CONTROL_H
#define CONTROL_H

#include <sys/types.h>
#include <stdint.h>

#include <event2/event.h>

#include "reply.h"

struct control;
struct ctl_conn;

/* What the socket asks of the layer that runs the requests (cmd.c's
 * cmd_control_ops): this file knows nothing of what a request means. */
struct control_ops {
	/* A client connected: its session. */
	void	*(*open)(struct ctl_conn *, uid_t, pid_t);
	/* One request: its line, and its data (NULL: none).  The reply is
	 * complete on return unless the request went asynchronous. */
	void	 (*request)(void *sess, struct reply *, const char *line,
		    const char *data, size_t datalen);
	/* May the request line (without data) run now?  0: yes; else the
	 * µs to wait: the connection reads nothing meanwhile, then asks
	 * again with the same line. */
	uint64_t (*hold)(void *sess, const char *line);
	/* Is a transaction open?  Then the client may idle longer, and is
	 * not closed to make room for another. */
	int	 (*in_txn)(const void *sess);
	/* The client left: end the session and free it. */
	void	 (*close)(void *sess);
};

/* Bind the control socket at path (mode 0660, group gid when have_gid);
 * refuses (fatal) a path that is not a socket or a socket in use. */
int		 control_listen(const char *path, gid_t gid, int have_gid);
/* Serve the listening socket fd: one control_listen made (path: removed at
 * close) or one passed by the service manager (path NULL). */
struct control	*control_new(struct event_base *, int fd, const char *path,
		    gid_t gid, int have_gid, const struct control_ops *);
void		 control_free(struct control *);
/* Stop accepting (shutdown); existing clients stay until they leave. */
void		 control_close_listener(struct control *);

/* Asynchronous commands (readd, trace): the connection reads no further
 * request until reply_async_done(). */
void	reply_async_begin(struct reply *);
void	reply_async_done(struct ctl_conn *);
struct reply *ctl_conn_reply(struct ctl_conn *);
int	ctl_conn_alive(struct ctl_conn *);

#endif

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

#include "reply.h"

struct control;
struct ctl_conn;

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

/* Asynchronous commands (readd, trace): the connection reads no further
 * request until reply_async_done(). */
void	reply_async_begin(struct reply *);
void	reply_async_done(struct ctl_conn *);
struct reply *ctl_conn_reply(struct ctl_conn *);
int	ctl_conn_alive(struct ctl_conn *);

#endif

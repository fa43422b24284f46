/*
 * listen: where the listening sockets come from.  A service manager may
 * pass them (systemd's LISTEN_FDS protocol, see listen.c); what it does not
 * pass is bound here, before privileges are dropped.  Every worker gets a
 * descriptor of every DNS listener; the workers only read and write them.
 */
#ifndef LISTEN_H
#define LISTEN_H

#include <sys/socket.h>

#include "backend.h"		/* MAX_WORKERS */

/* One -l ADDR:PORT: UDP and TCP there. */
struct listen_addr {
	struct sockaddr_storage	 ss;
	socklen_t		 sslen;
	char			 text[64];
};

/* One DNS listening socket (UDP or TCP at one address), as every worker
 * sees it: an inherited socket is one socket that every worker polls
 * (fd[i] are dups of it); a socket bound here is one SO_REUSEPORT socket
 * per worker, so the kernel spreads clients. */
struct lsock {
	int	 type;			/* SOCK_DGRAM or SOCK_STREAM */
	int	 wildcard;		/* 0.0.0.0 or ::, IP_PKTINFO is on */
	char	 text[80];		/* "127.0.0.1:53/udp", for messages */
	int	 fd[MAX_WORKERS];	/* -1 once a worker took it */
};

struct listeners {
	struct lsock	*socks;
	int		 nsocks;
	int		 npassed;	/* DNS sockets among them that were passed */
	int		 control_fd;	/* a control socket passed to us, or -1 */
};

/* Take the sockets the service manager passed to this process, if any
 * (LISTEN_PID must be ours; the LISTEN_* variables are unset either way),
 * and bind the rest: each address of la is served by a passed socket bound
 * to exactly that address and type, or bound here once per worker.  With
 * no la, the passed DNS sockets are all there is; with neither, the
 * default address.  Every passed DNS socket is served.  Refuses to start
 * (fatal) on a passed descriptor it cannot use and on an address another
 * process listens on. */
struct listeners *listen_open(const struct listen_addr *la, int nla,
		    const char *default_addr, int nworkers);
/* Worker w takes socket i's descriptor (it closes it from then on). */
int		 listen_take(struct listeners *, int i, int w);
/* Close what no worker took, and free. */
void		 listen_free(struct listeners *);

#endif

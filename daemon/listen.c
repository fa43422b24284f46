/*
 * listen: the listening sockets (see listen.h), passed or bound here.
 *
 * Passed sockets follow systemd's protocol (sd_listen_fds(3)), read here
 * without libsystemd since it is three environment variables: LISTEN_PID
 * names the process they are for (ours, or they are not for us),
 * LISTEN_FDS how many start at descriptor 3, LISTEN_FDNAMES their names,
 * colon-separated.  Each is told apart by what it is (SO_DOMAIN, SO_TYPE,
 * SO_ACCEPTCONN): an IPv4 or IPv6 datagram socket or listening stream
 * socket serves DNS, a listening Unix stream socket is the control socket.
 * A name of "dns" or "control" must agree with that; other names (systemd
 * gives a socket unit's name by default) are not looked at.  Anything else
 * is refused rather than guessed at.
 *
 * Workers share a passed socket: each gets a dup of the one descriptor and
 * polls it.  The alternative, binding more SO_REUSEPORT sockets beside the
 * passed one, would lose what waits in their queues when this process
 * exits, and the point of a passed socket is that its queue outlives the
 * process: the next daemon reads what arrived meanwhile.  The cost is that
 * an idle worker may wake for a datagram another one reads first.
 *
 * Invariant: every descriptor in a struct lsock is open until a worker
 * takes it; passed descriptors are close-on-exec once seen here.
 */
#include <sys/socket.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "listen.h"
#include "log.h"
#include "util.h"

#define SD_LISTEN_FDS_START	3
#define PASSED_MAX		64
#define TCP_BACKLOG		256
#define UDP_BUFFER		(4 * 1024 * 1024)

struct passed {
	int			 fd;
	int			 family;
	int			 type;
	int			 used;
	struct sockaddr_storage	 ss;
	socklen_t		 sslen;
	char			 name[64];
};

static int
is_wildcard(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET)
		return ((const struct sockaddr_in *)ss)->sin_addr.s_addr ==
		    htonl(INADDR_ANY);
	return IN6_IS_ADDR_UNSPECIFIED(&((const struct sockaddr_in6 *)ss)->sin6_addr);
}

static const char *
type_name(int type)
{
	return type == SOCK_DGRAM ? "udp" : "tcp";
}

static int
sockopt_int(int fd, int opt)
{
	socklen_t len;
	int v;

	len = sizeof(v);
	if (getsockopt(fd, SOL_SOCKET, opt, &v, &len) == -1)
		return -1;
	return v;
}

/* The passed descriptors, checked; 0 when none are for us.  The
 * variables go either way, so a child never takes them for its own. */
static int
passed_read(struct passed *p)
{
	const char *pid = getenv("LISTEN_PID"), *fds = getenv("LISTEN_FDS");
	const char *names = getenv("LISTEN_FDNAMES");
	char namebuf[PASSED_MAX * 64], *rest, *tok;
	long lpid, n = 0;
	int i, listening;

	snprintf(namebuf, sizeof(namebuf), "%s", names != NULL ? names : "");
	if (pid != NULL && fds != NULL) {
		if (parse_int(pid, 1, 0x7fffffff, &lpid) == -1)
			fatalx("LISTEN_PID: not a process id: %s", pid);
		if (lpid == (long)getpid() &&
		    parse_int(fds, 0, PASSED_MAX, &n) == -1)
			fatalx("LISTEN_FDS: not a number from 0 to %d: %s",
			    PASSED_MAX, fds);
		if (lpid != (long)getpid())
			n = 0;
	}
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_FDNAMES");

	rest = namebuf;
	for (i = 0; i < n; i++) {
		memset(&p[i], 0, sizeof(p[i]));
		p[i].fd = SD_LISTEN_FDS_START + i;
		/* Names are optional; a missing or empty one is "unknown", as
		 * systemd has it. */
		tok = rest != NULL ? strsep(&rest, ":") : NULL;
		snprintf(p[i].name, sizeof(p[i].name), "%s",
		    tok != NULL && *tok != '\0' ? tok : "unknown");
		if (fcntl(p[i].fd, F_SETFD, FD_CLOEXEC) == -1)
			fatal("descriptor %d (%s) from LISTEN_FDS", p[i].fd,
			    p[i].name);
		p[i].family = sockopt_int(p[i].fd, SO_DOMAIN);
		p[i].type = sockopt_int(p[i].fd, SO_TYPE);
		listening = sockopt_int(p[i].fd, SO_ACCEPTCONN);
		if (p[i].family == -1 || p[i].type == -1)
			fatal("descriptor %d (%s) from LISTEN_FDS", p[i].fd,
			    p[i].name);
		if (fcntl(p[i].fd, F_SETFL, fcntl(p[i].fd, F_GETFL) |
		    O_NONBLOCK) == -1)
			fatal("descriptor %d (%s): O_NONBLOCK", p[i].fd,
			    p[i].name);
		if (p[i].type == SOCK_STREAM && listening != 1)
			fatalx("descriptor %d (%s) from LISTEN_FDS is a stream "
			    "socket that does not listen (the socket unit "
			    "needs Accept=no)", p[i].fd, p[i].name);
		if (p[i].family == AF_UNIX && p[i].type == SOCK_STREAM) {
			if (strcmp(p[i].name, "dns") == 0)
				fatalx("descriptor %d is named dns but is a Unix "
				    "socket", p[i].fd);
			continue;
		}
		if ((p[i].family != AF_INET && p[i].family != AF_INET6) ||
		    (p[i].type != SOCK_DGRAM && p[i].type != SOCK_STREAM))
			fatalx("descriptor %d (%s) from LISTEN_FDS is neither a "
			    "DNS socket (UDP or TCP) nor the control socket "
			    "(Unix stream)", p[i].fd, p[i].name);
		if (strcmp(p[i].name, "control") == 0)
			fatalx("descriptor %d is named control but is not a "
			    "Unix stream socket", p[i].fd);
		p[i].sslen = sizeof(p[i].ss);
		if (getsockname(p[i].fd, (struct sockaddr *)&p[i].ss,
		    &p[i].sslen) == -1)
			fatal("descriptor %d (%s): getsockname", p[i].fd,
			    p[i].name);
	}
	return (int)n;
}

/* The workers bind with SO_REUSEPORT, which would let a second router on
 * the same address silently take half the queries; make sure nobody else
 * listens there first. */
static void
probe(const struct listen_addr *la, int type)
{
	int fd, on = 1;

	if ((fd = socket(la->ss.ss_family, type | SOCK_CLOEXEC, 0)) == -1)
		fatal("socket");
	if (la->ss.ss_family == AF_INET6)
		(void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on));
	/* TCP: connections of a previous run in TIME_WAIT are fine. */
	if (type == SOCK_STREAM)
		(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
	if (bind(fd, (const struct sockaddr *)&la->ss, la->sslen) == -1) {
		if (errno == EADDRINUSE)
			fatalx("%s (%s) is already in use: another DNS server or "
			    "dnsrouted listens there", la->text, type_name(type));
		fatal("bind %s", la->text);
	}
	close(fd);
}

/* On a wildcard address, learn where each query was sent so the answer
 * leaves from that address, not from whatever the routing table prefers. */
static void
pktinfo_on(int fd, int family, const char *text)
{
	int on = 1;

	if ((family == AF_INET ?
	    setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &on, sizeof(on)) :
	    setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &on, sizeof(on))) == -1)
		fatal("pktinfo on %s", text);
}

static int
bind_one(const struct listen_addr *la, int type)
{
	int fd, on = 1;

	fd = socket(la->ss.ss_family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1)
		fatal("socket");
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof(on)) == -1)
		fatal("SO_REUSEPORT");
	if (type == SOCK_STREAM)
		(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
	if (la->ss.ss_family == AF_INET6)
		(void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on));
	if (type == SOCK_DGRAM) {
		sock_buffers(fd, UDP_BUFFER, 1);
		if (is_wildcard(&la->ss))
			pktinfo_on(fd, la->ss.ss_family, la->text);
	}
	if (bind(fd, (const struct sockaddr *)&la->ss, la->sslen) == -1)
		fatal("bind %s %s", type_name(type), la->text);
	if (type == SOCK_STREAM && listen(fd, TCP_BACKLOG) == -1)
		fatal("listen %s", la->text);
	return fd;
}

static struct lsock *
lsock_add(struct listeners *ls)
{
	struct lsock *s;
	int i;

	ls->socks = xrealloc(ls->socks, (ls->nsocks + 1) * sizeof(*ls->socks));
	s = &ls->socks[ls->nsocks++];
	memset(s, 0, sizeof(*s));
	for (i = 0; i < MAX_WORKERS; i++)
		s->fd[i] = -1;
	return s;
}

/* A passed DNS socket, shared by every worker. */
static void
use_passed(struct listeners *ls, struct passed *p, int nworkers)
{
	struct lsock *s = lsock_add(ls);
	char addr[64];
	int i;

	p->used = 1;
	s->type = p->type;
	s->wildcard = is_wildcard(&p->ss);
	addr_fmt((struct sockaddr *)&p->ss, addr, sizeof(addr));
	snprintf(s->text, sizeof(s->text), "%s/%s", addr, type_name(p->type));
	if (p->type == SOCK_DGRAM) {
		/* Only ever raised: the owner may have made it bigger, so the
		 * queue holds what arrives while no daemon reads it. */
		sock_buffers(p->fd, UDP_BUFFER, 0);
		if (s->wildcard)
			pktinfo_on(p->fd, p->family, s->text);
	}
	s->fd[0] = p->fd;
	for (i = 1; i < nworkers; i++)
		if ((s->fd[i] = fcntl(p->fd, F_DUPFD_CLOEXEC,
		    SD_LISTEN_FDS_START)) == -1)
			fatal("dup of descriptor %d", p->fd);
	ls->npassed++;
	log_info("listening on %s (passed as descriptor %d, %s)", s->text,
	    p->fd, p->name);
}

struct listeners *
listen_open(const struct listen_addr *la, int nla, const char *default_addr,
    int nworkers)
{
	static const int types[2] = { SOCK_DGRAM, SOCK_STREAM };
	struct passed passed[PASSED_MAX];
	struct listen_addr def;
	struct listeners *ls;
	struct lsock *s;
	char err[256];
	int *bind_here, npassed, ndns = 0, i, j, t, w;

	ls = xcalloc(1, sizeof(*ls));
	ls->control_fd = -1;
	npassed = passed_read(passed);
	for (i = 0; i < npassed; i++) {
		if (passed[i].family != AF_UNIX) {
			ndns++;
			continue;
		}
		if (ls->control_fd != -1)
			fatalx("descriptors %d and %d from LISTEN_FDS are both "
			    "Unix sockets: which one is the control socket?",
			    ls->control_fd, passed[i].fd);
		ls->control_fd = passed[i].fd;
		passed[i].used = 1;
	}
	if (nla == 0 && ndns == 0) {
		if (addr_parse(default_addr, 53, &def.ss, &def.sslen, err,
		    sizeof(err)) == -1)
			fatalx("%s", err);
		snprintf(def.text, sizeof(def.text), "%s", default_addr);
		la = &def;
		nla = 1;
	}

	/* Each address and type: the passed socket bound there, else one
	 * bound here per worker, once no address has turned out in use. */
	bind_here = xcalloc((size_t)nla * 2, sizeof(*bind_here));
	for (i = 0; i < nla; i++)
		for (t = 0; t < 2; t++) {
			for (j = 0; j < npassed; j++)
				if (!passed[j].used && passed[j].type == types[t] &&
				    addr_equal((struct sockaddr *)&passed[j].ss,
				    (const struct sockaddr *)&la[i].ss))
					break;
			if (j < npassed)
				use_passed(ls, &passed[j], nworkers);
			else {
				probe(&la[i], types[t]);
				bind_here[i * 2 + t] = 1;
			}
		}
	for (i = 0; i < nla; i++)
		for (t = 0; t < 2; t++) {
			if (!bind_here[i * 2 + t])
				continue;
			s = lsock_add(ls);
			s->type = types[t];
			s->wildcard = is_wildcard(&la[i].ss);
			snprintf(s->text, sizeof(s->text), "%s/%s", la[i].text,
			    type_name(types[t]));
			for (w = 0; w < nworkers; w++)
				s->fd[w] = bind_one(&la[i], types[t]);
		}
	free(bind_here);
	/* Passed but not named by -l: served all the same. */
	for (j = 0; j < npassed; j++)
		if (!passed[j].used)
			use_passed(ls, &passed[j], nworkers);
	return ls;
}

int
listen_take(struct listeners *ls, int i, int w)
{
	int fd = ls->socks[i].fd[w];

	ls->socks[i].fd[w] = -1;
	return fd;
}

void
listen_free(struct listeners *ls)
{
	int i, w;

	if (ls == NULL)
		return;
	for (i = 0; i < ls->nsocks; i++)
		for (w = 0; w < MAX_WORKERS; w++)
			if (ls->socks[i].fd[w] != -1)
				close(ls->socks[i].fd[w]);
	free(ls->socks);
	free(ls);
}

/*
 * dnsrouted: start-up, signals and shutdown.
 *
 * The main thread opens the store, builds the first snapshot, binds every
 * socket (so privileges can be dropped before any input is read), starts
 * the workers and then runs the control socket and the health checks.  A
 * SIGTERM stops taking queries, lets in-flight ones finish, flushes the
 * health history and closes the store.
 */
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/thread.h>

#include "control.h"
#include "dnsrouted.h"
#include "log.h"
#include "metrics.h"
#include "trace.h"
#include "util.h"

#ifndef DNSROUTE_SOCKET_DEFAULT
#define DNSROUTE_SOCKET_DEFAULT	"/run/dnsroute/dnsrouted.sock"
#endif
#ifndef DNSROUTE_DB_DEFAULT
#define DNSROUTE_DB_DEFAULT	"/var/lib/dnsroute/dnsroute.db"
#endif
#define MAX_LISTEN		16


static void
usage(void)
{
	fprintf(stderr,
	    "usage: dnsrouted [-fhVv] [-l ADDR:PORT]... [-s CONTROL] [-d DB] [-u USER]\n"
	    "                 [-g GROUP] [-t THREADS] [-p PIDFILE] [-m METRICS_ADDR]\n"
	    "  -f  stay in the foreground, log to stderr (for init systems)\n"
	    "  -l  listen for DNS on ADDR:PORT, UDP and TCP (default 127.0.0.1:53)\n"
	    "  -s  control socket (default %s)\n"
	    "  -d  database (default %s)\n"
	    "  -u  drop privileges to USER after binding\n"
	    "  -g  group that may use the control socket (mode 0660)\n"
	    "  -t  worker threads (default 1, at most %d)\n"
	    "  -p  write the pid to PIDFILE\n"
	    "  -m  serve Prometheus metrics over HTTP on ADDR:PORT (off by default)\n"
	    "  -v  more logging (repeat for debug)\n",
	    DNSROUTE_SOCKET_DEFAULT, DNSROUTE_DB_DEFAULT, MAX_WORKERS);
	exit(2);
}

/* systemd's readiness protocol, without libsystemd: one datagram. */
static void
sd_notify_msg(const char *msg)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sun;
	socklen_t len;
	int fd;

	if (path == NULL || (path[0] != '/' && path[0] != '@') ||
	    strlen(path) >= sizeof(sun.sun_path))
		return;
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	strcpy(sun.sun_path, path);
	if (path[0] == '@')
		sun.sun_path[0] = '\0';
	len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(path));
	if ((fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) == -1)
		return;
	if (sendto(fd, msg, strlen(msg), 0, (struct sockaddr *)&sun, len) == -1)
		log_warn("sd_notify");
	close(fd);
}

static void
signal_cb(evutil_socket_t sig, short ev, void *arg)
{
	(void)ev;
	(void)arg;
	if (sig == SIGHUP) {
		log_reopen();
		log_info("logs reopened");
		return;
	}
	log_info("%s: finishing in-flight queries, then exiting",
	    sig == SIGTERM ? "SIGTERM" : "SIGINT");
	event_base_loopbreak(dr->base);
}

static void
drop_privileges(const char *user, const char *dbpath)
{
	static const char *const suffixes[] = { "", "-wal", "-shm", "-lock" };
	struct passwd *pw;
	char path[4096];
	size_t i;

	if ((pw = getpwnam(user)) == NULL)
		fatalx("unknown user %s", user);
	/* The store stays writable for the user it now runs as. */
	for (i = 0; i < NELEMS(suffixes); i++) {
		snprintf(path, sizeof(path), "%s%s", dbpath, suffixes[i]);
		if (chown(path, pw->pw_uid, pw->pw_gid) == -1 && errno != ENOENT)
			fatal("chown %s", path);
	}
	if (setgroups(1, &pw->pw_gid) == -1 || setgid(pw->pw_gid) == -1 ||
	    setuid(pw->pw_uid) == -1)
		fatal("cannot drop privileges to %s", user);
	if (setuid(0) == 0)
		fatalx("could regain root after dropping privileges");
}

/* The workers bind with SO_REUSEPORT, which would let a second router on
 * the same address silently take half the queries; make sure nobody else
 * listens there first. */
static void
probe_listen(const struct listen_addr *la)
{
	static const int types[2] = { SOCK_DGRAM, SOCK_STREAM };
	int fd, i, on = 1;

	for (i = 0; i < 2; i++) {
		if ((fd = socket(la->ss.ss_family, types[i] | SOCK_CLOEXEC, 0)) == -1)
			fatal("socket");
		if (la->ss.ss_family == AF_INET6)
			(void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on,
			    sizeof(on));
		/* TCP: connections of a previous run in TIME_WAIT are fine. */
		if (types[i] == SOCK_STREAM)
			(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on,
			    sizeof(on));
		if (bind(fd, (const struct sockaddr *)&la->ss, la->sslen) == -1) {
			if (errno == EADDRINUSE)
				fatalx("%s (%s) is already in use: another DNS "
				    "server or dnsrouted listens there", la->text,
				    types[i] == SOCK_DGRAM ? "udp" : "tcp");
			fatal("bind %s", la->text);
		}
		close(fd);
	}
}

/* Raise the descriptor limit as far as allowed, and give client TCP
 * connections at most half of it (per worker), so that at the limit the
 * router still has descriptors for backends, health checks, the store and
 * the control socket. */
static int
fd_budget(int nworkers)
{
	struct rlimit rl;
	long budget;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1)
		fatal("getrlimit");
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) == -1)
			log_warn("setrlimit NOFILE");
		(void)getrlimit(RLIMIT_NOFILE, &rl);
	}
	budget = rl.rlim_cur == RLIM_INFINITY ? 1L << 20 : (long)rl.rlim_cur;
	budget = (budget - 64) / (2 * nworkers);
	if (budget < 8)
		budget = 8;
	if (budget > 1L << 20)
		budget = 1L << 20;
	log_debug("descriptor limit %ld: %ld client TCP connections per worker",
	    (long)rl.rlim_cur, budget);
	return (int)budget;
}

static void
write_pidfile(const char *path)
{
	FILE *f;

	if ((f = fopen(path, "w")) == NULL)
		fatal("%s", path);
	fprintf(f, "%ld\n", (long)getpid());
	if (fclose(f) == EOF)
		fatal("%s", path);
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	struct listen_addr la[MAX_LISTEN];
	const char *sockpath = DNSROUTE_SOCKET_DEFAULT, *dbpath = DNSROUTE_DB_DEFAULT;
	const char *user = NULL, *group = NULL, *pidfile = NULL, *metrics = NULL;
	struct event *ev_term, *ev_int, *ev_hup;
	struct group *gr;
	char err[512];
	int ch, nla = 0, foreground = 0, verbose = LOG_LVL_INFO, i, tcp_budget;
	long nthreads = 1;
	gid_t gid = 0;

	while ((ch = getopt_long(argc, argv, "fhVvl:s:d:u:g:t:p:m:", longopts,
	    NULL)) != -1) {
		switch (ch) {
		case 'f':
			foreground = 1;
			break;
		case 'l':
			if (nla == MAX_LISTEN)
				fatalx("at most %d listen addresses", MAX_LISTEN);
			if (addr_parse(optarg, 53, &la[nla].ss, &la[nla].sslen, err,
			    sizeof(err)) == -1)
				fatalx("-l: %s", err);
			addr_fmt((struct sockaddr *)&la[nla].ss, la[nla].text,
			    sizeof(la[nla].text));
			nla++;
			break;
		case 's':
			sockpath = optarg;
			break;
		case 'd':
			dbpath = optarg;
			break;
		case 'u':
			user = optarg;
			break;
		case 'g':
			group = optarg;
			break;
		case 't':
			if (parse_int(optarg, 1, MAX_WORKERS, &nthreads) == -1)
				fatalx("-t: between 1 and %d", MAX_WORKERS);
			break;
		case 'p':
			pidfile = optarg;
			break;
		case 'm':
			metrics = optarg;
			break;
		case 'v':
			verbose++;
			break;
		case 'V':
			printf("dnsrouted %s\n", DNSROUTE_VERSION);
			return 0;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();
	if (nla == 0) {
		addr_parse("127.0.0.1:53", 53, &la[0].ss, &la[0].sslen, err,
		    sizeof(err));
		snprintf(la[0].text, sizeof(la[0].text), "127.0.0.1:53");
		nla = 1;
	}
	if (group != NULL) {
		if ((gr = getgrnam(group)) == NULL)
			fatalx("unknown group %s", group);
		gid = gr->gr_gid;
	}
	/* Errors before the fork go to the terminal that started us. */
	log_init("dnsrouted", 0, verbose);
	signal(SIGPIPE, SIG_IGN);
	if (evthread_use_pthreads() == -1)
		fatalx("libevent without pthreads support");

	dr = xcalloc(1, sizeof(*dr));
	dr->started_us = wall_us();
	if ((dr->db = db_open(dbpath, err, sizeof(err))) == NULL)
		fatalx("%s", err);
	dr->rc = route_cache_new();
	if ((dr->cfg = config_build(dr->db, NULL, dr->rc, err, sizeof(err))) == NULL)
		fatalx("cannot load the stored configuration from %s: %s",
		    dbpath, err);
	config_apply(dr->cfg, NULL);

	if (!foreground) {
		/* SQLite connections and their locks must not cross a fork:
		 * errors were shown above, now open again in the child. */
		db_close(dr->db);
		if (daemon(0, 0) == -1)
			fatal("daemon");
		log_init("dnsrouted", 1, verbose);
		if ((dr->db = db_open(dbpath, err, sizeof(err))) == NULL)
			fatalx("%s", err);
	}
	if ((dr->base = event_base_new()) == NULL)
		fatalx("event_base_new failed");
	dr->nworkers = (int)nthreads;
	for (i = 0; i < nla; i++)
		probe_listen(&la[i]);
	tcp_budget = fd_budget(dr->nworkers);
	for (i = 0; i < dr->nworkers; i++)
		dr->workers[i] = worker_new(i, la, nla, dr->cfg, tcp_budget);
	dr->control = control_new(dr->base, sockpath, gid, group != NULL);
	/* Every socket is bound before privileges go. */
	if (metrics != NULL && (dr->metrics = metrics_new(dr->base, metrics,
	    err, sizeof(err))) == NULL)
		fatalx("-m %s: %s", metrics, err);
	if (pidfile != NULL)
		write_pidfile(pidfile);
	if (user != NULL)
		drop_privileges(user, dbpath);

	dr->health = health_new(dr->base, dr->db);
	health_sync(dr->health, dr->cfg);
	trace_init(dr->base);
	for (i = 0; i < dr->nworkers; i++)
		worker_start(dr->workers[i]);

	ev_term = evsignal_new(dr->base, SIGTERM, signal_cb, NULL);
	ev_int = evsignal_new(dr->base, SIGINT, signal_cb, NULL);
	ev_hup = evsignal_new(dr->base, SIGHUP, signal_cb, NULL);
	evsignal_add(ev_term, NULL);
	evsignal_add(ev_int, NULL);
	evsignal_add(ev_hup, NULL);

	log_info("dnsrouted %s ready: %d route%s, %d backend%s, %d worker%s, "
	    "listening on %s%s", DNSROUTE_VERSION, dr->cfg->nroutes,
	    dr->cfg->nroutes == 1 ? "" : "s", dr->cfg->nbackends,
	    dr->cfg->nbackends == 1 ? "" : "s", dr->nworkers,
	    dr->nworkers == 1 ? "" : "s", la[0].text, nla > 1 ? " and more" : "");
	sd_notify_msg("READY=1");

	event_base_dispatch(dr->base);

	sd_notify_msg("STOPPING=1");
	control_close_listener(dr->control);
	for (i = 0; i < dr->nworkers; i++)
		worker_stop(dr->workers[i]);
	health_free(dr->health);
	dr->health = NULL;
	metrics_free(dr->metrics);
	trace_shutdown();
	control_free(dr->control);
	for (i = 0; i < dr->nworkers; i++)
		worker_free(dr->workers[i]);
	config_unref(dr->cfg);
	route_cache_free(dr->rc);
	db_close(dr->db);
	event_free(ev_term);
	event_free(ev_int);
	event_free(ev_hup);
	event_base_free(dr->base);
	if (pidfile != NULL)
		unlink(pidfile);
	free(dr);
	log_info("stopped");
	return 0;
}

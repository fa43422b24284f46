/*
 * dnsrouted: start-up, signals and shutdown.
 *
 * Start-up takes or binds every socket first (listen.c: so an address in
 * use refuses the start before anything is written), then opens the store
 * and builds the first snapshot, drops privileges, checks every stored
 * backend once, and only then lets the workers read queries: a restarted
 * daemon answers what waited in a passed socket's queue from backends it
 * knows to be up, not with SERVFAIL for backends it has not checked yet.
 * A start that is refused removes what it made (a new database, the pid
 * file, the control socket).
 *
 * A SIGTERM stops every worker reading queries at once, lets the in-flight
 * ones finish, flushes the health history, saves the route hit counts and
 * closes the store.
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
#ifdef __GLIBC__
#include <malloc.h>
#endif

#include <event2/thread.h>

#include "cmd.h"
#include "config.h"
#include "control.h"
#include "db.h"
#include "etcd.h"
#include "fleet.h"
#include "health.h"
#include "hits.h"
#include "listen.h"
#include "log.h"
#include "metrics.h"
#include "pace.h"
#include "prio.h"
#include "registry.h"
#include "route.h"
#include "share.h"
#include "state.h"
#include "trace.h"
#include "util.h"
#include "worker.h"

#ifndef DNSROUTE_SOCKET_DEFAULT
#define DNSROUTE_SOCKET_DEFAULT	"/run/dnsroute/dnsrouted.sock"
#endif
#ifndef DNSROUTE_DB_DEFAULT
#define DNSROUTE_DB_DEFAULT	"/var/lib/dnsroute/dnsroute.db"
#endif
#define LISTEN_DEFAULT		"127.0.0.1:53"
#define MAX_LISTEN		16
/* How long the first checks of the stored backends may hold back the
 * first query (a backend that does not answer takes its check timeout). */
#define FIRST_CHECKS_MAX_US	(2 * 1000 * 1000)

/* What this start made, for undo_start() to remove when it is refused. */
static struct {
	const char	*db;
	int		 db_new[4];	/* DB_SUFFIXES that did not exist */
	const char	*pidfile;
	const char	*ctlpath;
	int		 running;	/* nothing refuses the start now */
} made;

static const char *const db_suffixes[4] = { "", "-wal", "-shm", "-lock" };

static struct event	*ev_first;
static uint64_t		 first_deadline;

static void	usage(int) __attribute__((noreturn));

/* -h: to standard output, exit 0; a usage error: to standard error, 2. */
static void
usage(int status)
{
	fprintf(status == 0 ? stdout : stderr,
	    "usage: dnsrouted [-fhVv] [-l ADDR:PORT]... [-s CONTROL] [-d DB] "
	    "[-u USER]\n"
	    "                 [-g GROUP] [-t THREADS] [-p PIDFILE] "
	    "[-m METRICS_ADDR]\n"
	    "                 [-e ETCD_URL[,...] [-E FLEET_PREFIX] "
	    "[-R REG_PREFIX|-]]\n"
	    "  -f  stay in the foreground, log to stderr (for init systems)\n"
	    "  -l  listen for DNS on ADDR:PORT, UDP and TCP (default %s)\n"
	    "  -s  control socket (default %s)\n"
	    "  -d  database (default %s)\n"
	    "  -u  drop privileges to USER after binding\n"
	    "  -g  group that may use the control socket (mode 0660)\n"
	    "  -t  worker threads (default 1, at most %d)\n"
	    "  -p  write the pid to PIDFILE\n"
	    "  -m  serve Prometheus metrics over HTTP on ADDR:PORT "
	    "(off by default)\n"
	    "  -e  join a fleet through etcd at these endpoints "
	    "(http://HOST:PORT,...)\n"
	    "  -E  the fleet's key prefix in etcd (default %s)\n"
	    "  -R  serve nameservers registered under this prefix "
	    "(default %s; - for none)\n"
	    "  -v  more logging (repeat for debug)\n"
	    "Sockets passed by systemd (LISTEN_FDS) are used as well; "
	    "see dnsrouted(8).\n",
	    LISTEN_DEFAULT, DNSROUTE_SOCKET_DEFAULT, DNSROUTE_DB_DEFAULT,
	    MAX_WORKERS, FLEET_PREFIX_DEFAULT, REG_PREFIX_DEFAULT);
	exit(status);
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
	len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) +
	    strlen(path));
	if ((fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) == -1)
		return;
	if (sendto(fd, msg, strlen(msg), 0, (struct sockaddr *)&sun, len) == -1)
		log_warn("sd_notify");
	close(fd);
}

/* At exit before start-up is over (fatal): remove the database this start
 * created, so a refused start leaves no new store behind; the lock file
 * goes last, while this process still holds the lock.  A store that was
 * there is left as it is: its -wal may hold pages a checkpoint has half
 * copied.  At any exit through fatal(): the pid file and the control
 * socket we made. */
static void
undo_start(void)
{
	char path[4096];
	int i;

	if (made.pidfile != NULL)
		(void)unlink(made.pidfile);
	if (made.ctlpath != NULL)
		(void)unlink(made.ctlpath);
	if (made.running || made.db == NULL || !made.db_new[0])
		return;
	for (i = 0; i < 4; i++) {
		snprintf(path, sizeof(path), "%s%s", made.db, db_suffixes[i]);
		if (made.db_new[i])
			(void)unlink(path);
	}
}

/* Note which database files exist before db_open() may create them. */
static void
note_db_files(const char *db)
{
	char path[4096];
	struct stat st;
	int i;

	made.db = db;
	if (strcmp(db, ":memory:") == 0)
		return;
	for (i = 0; i < 4; i++) {
		snprintf(path, sizeof(path), "%s%s", db, db_suffixes[i]);
		made.db_new[i] = lstat(path, &st) == -1 && errno == ENOENT;
	}
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

/* May user (after dropping privileges) remove an entry of this directory
 * that it owns?  Its primary group is the only one it keeps. */
static int
dir_writable(const struct stat *st, const struct passwd *pw)
{
	if (st->st_uid == pw->pw_uid)
		return (st->st_mode & S_IWUSR) != 0;
	if (st->st_gid == pw->pw_gid)
		return (st->st_mode & S_IWGRP) != 0;
	return (st->st_mode & S_IWOTH) != 0;
}

/* With -u, the pid file and the control socket are removed at exit by the
 * user the daemon runs as by then, which takes write access to their
 * directory.  As Debian daemons do, they live in a runtime directory of
 * the daemon's own (/run/dnsroute): a missing one is made, owned by the
 * user; one the user may not write is reported now, not at exit. */
static void
runtime_dir(const char *path, const struct passwd *pw)
{
	char dir[4096], *slash;
	struct stat st;

	snprintf(dir, sizeof(dir), "%s", path);
	if ((slash = strrchr(dir, '/')) == NULL)
		snprintf(dir, sizeof(dir), ".");
	else if (slash == dir)
		slash[1] = '\0';
	else
		*slash = '\0';
	if (stat(dir, &st) == -1) {
		if (errno != ENOENT)
			fatal("%s", dir);
		if (mkdir(dir, 0755) == -1)
			fatal("mkdir %s", dir);
		if (chown(dir, pw->pw_uid, pw->pw_gid) == -1)
			fatal("chown %s", dir);
		return;
	}
	if (!dir_writable(&st, pw))
		log_warnx("%s will be left behind at exit: %s is not writable "
		    "by %s (install -d -o %s %s)", path, dir, pw->pw_name,
		    pw->pw_name, dir);
}

static void
drop_privileges(const struct passwd *pw, const char *dbpath)
{
	char path[4096];
	size_t i;

	/* The store stays writable for the user it now runs as, and what
	 * it removes at exit is its own (a sticky /tmp wants that). */
	for (i = 0; i < NELEMS(db_suffixes); i++) {
		snprintf(path, sizeof(path), "%s%s", dbpath, db_suffixes[i]);
		if (chown(path, pw->pw_uid, pw->pw_gid) == -1 &&
		    errno != ENOENT)
			fatal("chown %s", path);
	}
	if (made.pidfile != NULL &&
	    lchown(made.pidfile, pw->pw_uid, pw->pw_gid) == -1)
		fatal("chown %s", made.pidfile);
	if (made.ctlpath != NULL &&
	    lchown(made.ctlpath, pw->pw_uid, (gid_t)-1) == -1)
		fatal("chown %s", made.ctlpath);
	if (setgroups(1, &pw->pw_gid) == -1 || setgid(pw->pw_gid) == -1 ||
	    setuid(pw->pw_uid) == -1)
		fatal("cannot drop privileges to %s", pw->pw_name);
	if (setuid(0) == 0)
		fatalx("could regain root after dropping privileges");
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

/* An etcd key prefix from the command line: not empty, no blanks, and
 * ending in '/' (one is added), so "/dnsrouter" cannot take in
 * "/dnsrouterX/...". */
static char *
key_prefix(const char *flag, const char *arg)
{
	size_t n = strlen(arg), i;
	char *p;

	if (n == 0 || n > 200)
		fatalx("%s: a key prefix of 1-200 characters, like /dnsrouter/",
		    flag);
	for (i = 0; i < n; i++)
		if ((unsigned char)arg[i] <= ' ' || arg[i] == 0x7f)
			fatalx("%s: no blanks or control characters in a key "
			    "prefix", flag);
	p = xmalloc(n + 2);
	snprintf(p, n + 2, "%s%s", arg, arg[n - 1] == '/' ? "" : "/");
	return p;
}

static void
write_pidfile(const char *path)
{
	FILE *f;

	if ((f = fopen(path, "w")) == NULL)
		fatal("%s", path);
	made.pidfile = path;
	fprintf(f, "%ld\n", (long)getpid());
	if (fclose(f) == EOF)
		fatal("%s", path);
}

/* The workers read queries from now on. */
static void
go_live(struct listeners *ls)
{
	int i;

	for (i = 0; i < dr->nworkers; i++)
		worker_start(dr->workers[i]);
	/* Their CPU is what the change budget's gate reads. */
	pace_start(dr->base);
	log_info("dnsrouted %s ready: %d route%s, %d backend%s, %d worker%s, "
	    "listening on %s%s (%d of %d sockets passed)", DNSROUTE_VERSION,
	    dr->cfg->nroutes, dr->cfg->nroutes == 1 ? "" : "s",
	    dr->cfg->nbackends, dr->cfg->nbackends == 1 ? "" : "s",
	    dr->nworkers, dr->nworkers == 1 ? "" : "s", ls->socks[0].text,
	    ls->nsocks > 1 ? " and more" : "", ls->npassed, ls->nsocks);
	sd_notify_msg("READY=1");
}

/* Has every stored backend that is checked had its first check? */
static int
first_checks_done(void)
{
	struct backend *b;
	int i;

	for (i = 0; i < dr->cfg->nbackends; i++) {
		b = dr->cfg->backends[i];
		if (atomic_load(&b->admin) != ADMIN_DISABLED &&
		    atomic_load(&b->health) == HEALTH_UNKNOWN)
			return 0;
	}
	return 1;
}

static void
first_checks_cb(evutil_socket_t fd, short ev, void *arg)
{
	(void)fd;
	(void)ev;
	if (!first_checks_done() && now_us() < first_deadline)
		return;
	event_free(ev_first);
	ev_first = NULL;
	go_live(arg);
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
	const char *sockpath = DNSROUTE_SOCKET_DEFAULT;
	const char *dbpath = DNSROUTE_DB_DEFAULT;
	const char *user = NULL, *group = NULL, *pidfile = NULL;
	const char *metrics = NULL;
	const char *endpoints = NULL;
	char *fleet_prefix = NULL, *reg_prefix = NULL;
	int no_reg = 0;
	struct event *ev_term, *ev_int, *ev_hup;
	struct share *share;
	struct timeval tick = { 0, 1000 };
	struct listeners *ls;
	struct passwd *pw, pwbuf;
	struct group *gr;
	char err[512], err2[512];
	int ch, nla = 0, foreground = 0, verbose = LOG_LVL_INFO, i, tcp_budget;
	int loaded;
	int ctl_fd;
	long nthreads = 1;
	gid_t gid = 0;

	while ((ch = getopt_long(argc, argv, "fhVvl:s:d:u:g:t:p:m:e:E:R:",
	    longopts, NULL)) != -1) {
		switch (ch) {
		case 'f':
			foreground = 1;
			break;
		case 'l':
			if (nla == MAX_LISTEN)
				fatalx("at most %d listen addresses",
				    MAX_LISTEN);
			if (addr_parse(optarg, 53, &la[nla].ss, &la[nla].sslen,
			    err, sizeof(err)) == -1)
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
		case 'e':
			endpoints = optarg;
			break;
		case 'E':
			free(fleet_prefix);
			fleet_prefix = key_prefix("-E", optarg);
			break;
		case 'R':
			free(reg_prefix);
			reg_prefix = NULL;
			if ((no_reg = strcmp(optarg, "-") == 0) == 0)
				reg_prefix = key_prefix("-R", optarg);
			break;
		case 'v':
			verbose++;
			break;
		case 'V':
			printf("dnsrouted %s\n", DNSROUTE_VERSION);
			return 0;
		case 'h':
			usage(0);
		default:
			usage(2);
		}
	}
	if (optind != argc)
		usage(2);
	if (endpoints == NULL && (fleet_prefix != NULL || reg_prefix != NULL))
		fatalx("-E and -R need etcd endpoints (-e)");
	if (fleet_prefix == NULL)
		fleet_prefix = xstrdup(FLEET_PREFIX_DEFAULT);
	if (reg_prefix == NULL && !no_reg)
		reg_prefix = xstrdup(REG_PREFIX_DEFAULT);
	if (reg_prefix != NULL &&
	    (strncmp(reg_prefix, fleet_prefix, strlen(fleet_prefix)) == 0 ||
	    strncmp(fleet_prefix, reg_prefix, strlen(reg_prefix)) == 0))
		fatalx("the fleet prefix %s and the registration prefix %s "
		    "overlap", fleet_prefix, reg_prefix);
	if (group != NULL) {
		if ((gr = getgrnam(group)) == NULL)
			fatalx("unknown group %s", group);
		gid = gr->gr_gid;
	}
	pw = NULL;
	if (user != NULL) {
		if ((pw = getpwnam(user)) == NULL)
			fatalx("unknown user %s", user);
		pwbuf = *pw;
		pwbuf.pw_name = xstrdup(pw->pw_name);
		pw = &pwbuf;
	}
	/* Errors before the fork go to the terminal that started us. */
	log_init("dnsrouted", 0, verbose);
#ifdef M_TRIM_THRESHOLD
	/* Keep up to 4 MiB free at the heap's top rather than give it back
	 * at once: SQLite takes and frees ~90 KiB for each transaction, and
	 * at glibc's default threshold (128 KiB, raised only when a large
	 * mapped block is freed) a drain cost brk calls both ways, 2.5 per
	 * command and a sixth of the main thread's time. */
	(void)mallopt(M_TRIM_THRESHOLD, 4 << 20);
#endif
	signal(SIGPIPE, SIG_IGN);
	if (evthread_use_pthreads() == -1)
		fatalx("libevent without pthreads support");
	atexit(undo_start);

	dr = xcalloc(1, sizeof(*dr));
	dr->started_us = wall_us();
	dr->nworkers = (int)nthreads;
	route_hit_slots = dr->nworkers;
	/* Sockets first: nothing is written when one is in use. */
	ls = listen_open(la, nla, LISTEN_DEFAULT, dr->nworkers);
	if ((ctl_fd = ls->control_fd) == -1) {
		if (pw != NULL)
			runtime_dir(sockpath, pw);
		ctl_fd = control_listen(sockpath, gid, group != NULL);
		made.ctlpath = sockpath;
	}
	if (pidfile != NULL && pw != NULL)
		runtime_dir(pidfile, pw);

	note_db_files(dbpath);
	if ((dr->db = db_open_flags(dbpath, DB_CHECK_BESIDE, err,
	    sizeof(err))) == NULL)
		fatalx("%s", err);
	/* Registrations stored from an earlier run are served at once (etcd
	 * may be away), unless the router no longer takes them from there. */
	if (registry_prepare_store(dr->db, endpoints != NULL ? reg_prefix :
	    NULL, err, sizeof(err)) == -1) {
		db_close(dr->db);	/* and the WAL it made */
		fatalx("%s", err);
	}
	dr->rc = route_cache_new();
	loaded = state_load(err, sizeof(err));
	/* The integrity check ran beside the load; its verdict first, as a
	 * corrupt file explains a load that failed. */
	if (db_check_wait(dr->db, err2, sizeof(err2)) == -1) {
		db_close(dr->db);	/* and the WAL it made */
		fatalx("%s", err2);
	}
	if (loaded == -1)
		fatalx("cannot load the stored configuration from %s: %s",
		    dbpath, err);

	if (!foreground) {
		/* SQLite connections and their locks must not cross a fork:
		 * errors were shown above, now open again in the child. */
		db_close(dr->db);
		if (daemon(0, 0) == -1)
			fatal("daemon");
		log_init("dnsrouted", 1, verbose);
		if ((dr->db = db_open_flags(dbpath, DB_CHECKED, err,
		    sizeof(err))) == NULL)
			fatalx("%s", err);
	}
	if ((dr->base = event_base_new()) == NULL)
		fatalx("event_base_new failed");
	tcp_budget = fd_budget(dr->nworkers);
	for (i = 0; i < dr->nworkers; i++)
		dr->workers[i] = worker_new(i, ls, dr->cfg, tcp_budget);
	dr->control = control_new(dr->base, ctl_fd,
	    ls->control_fd == -1 ? sockpath : NULL, gid, group != NULL,
	    &cmd_control_ops);
	/* Every socket is bound before privileges go. */
	if (metrics != NULL && (dr->metrics = metrics_new(dr->base, metrics,
	    err, sizeof(err))) == NULL)
		fatalx("-m %s: %s", metrics, err);
	if (pidfile != NULL)
		write_pidfile(pidfile);
	prio_init();
	if (pw != NULL)
		drop_privileges(pw, dbpath);

	dr->health = health_new(dr->base, dr->db);
	health_sync(dr->health, dr->cfg);
	hits_start(dr->base);
	state_start();
	trace_init(dr->base);
	if (endpoints != NULL) {
		/* Endpoint names resolve in the loop, at each connect. */
		if ((dr->etcd = etcd_new(dr->base, endpoints, err,
		    sizeof(err))) == NULL)
			fatalx("-e: %s", err);
		if (reg_prefix != NULL)
			dr->registry = registry_new(dr->base, dr->etcd,
			    reg_prefix);
		dr->fleet = fleet_new(dr->base, dr->etcd, fleet_prefix, ls);
	}
	/* The fleet's state: followed when the store joined it. */
	cmd_share_start(dr->etcd, fleet_prefix);

	ev_term = evsignal_new(dr->base, SIGTERM, signal_cb, NULL);
	ev_int = evsignal_new(dr->base, SIGINT, signal_cb, NULL);
	ev_hup = evsignal_new(dr->base, SIGHUP, signal_cb, NULL);
	evsignal_add(ev_term, NULL);
	evsignal_add(ev_int, NULL);
	evsignal_add(ev_hup, NULL);

	/* Nothing refuses the start from here on: the store stays. */
	made.running = 1;
	if (first_checks_done())
		go_live(ls);
	else {
		log_info("checking the stored backends before reading queries");
		first_deadline = now_us() + FIRST_CHECKS_MAX_US;
		ev_first = event_new(dr->base, -1, EV_PERSIST, first_checks_cb,
		    ls);
		event_add(ev_first, &tick);
	}

	event_base_dispatch(dr->base);
	pace_stop();

	/* Every worker stops reading at once; then they finish. */
	sd_notify_msg("STOPPING=1");
	if (ev_first != NULL)
		event_free(ev_first);
	control_close_listener(dr->control);
	made.ctlpath = NULL;
	for (i = 0; i < dr->nworkers; i++)
		worker_stop(dr->workers[i]);
	/* While they finish: end a change etcd is deciding on (rolled back
	 * here; etcd's answer, whatever it is, is followed at the next
	 * start), leave the fleet at once (revoke this router's lease),
	 * then drop etcd, so nothing from it arrives while the rest goes. */
	share = dr->share;
	dr->share = NULL;
	share_free(share);
	fleet_leave(dr->fleet);
	fleet_free(dr->fleet);
	registry_free(dr->registry);
	etcd_free(dr->etcd);
	dr->fleet = NULL;
	dr->registry = NULL;
	dr->etcd = NULL;
	for (i = 0; i < dr->nworkers; i++)
		worker_join(dr->workers[i]);
	health_free(dr->health);
	dr->health = NULL;
	metrics_free(dr->metrics);
	trace_shutdown();
	control_free(dr->control);
	/* After the clients' transactions are gone: the counts go in alone,
	 * and after the workers, so none is missed. */
	hits_stop();
	for (i = 0; i < dr->nworkers; i++)
		worker_free(dr->workers[i]);
	state_stop();
	listen_free(ls);
	config_unref(dr->cfg);
	route_cache_free(dr->rc);
	db_close(dr->db);
	event_free(ev_term);
	event_free(ev_int);
	event_free(ev_hup);
	event_base_free(dr->base);
	if (pidfile != NULL && unlink(pidfile) == -1)
		log_warn("unlink %s", pidfile);
	made.pidfile = NULL;
	if (pw != NULL)
		free(pw->pw_name);
	free(fleet_prefix);
	free(reg_prefix);
	free(dr);
	log_info("stopped");
	return 0;
}

/*
 * zone_exec: dnsroutectl's side of `zone split` and `zone check`.  They
 * read zone files with ldns, and ldns brings libssl and libcrypto: loading
 * and relocating them costs most of a dnsroutectl that runs one command
 * (scripts run one per command).  So the zone commands live in a program
 * of their own, dnsroutectl-zone (zone_main.c), and only a zone command
 * pays for ldns.
 *
 * The helper gets this connection (fd ZONE_FD), so a zone check in a
 * batch sees the routes of the batch's open transaction, and renders the
 * whole command itself to the same stdout, as zone_run() in dnsroutectl
 * did.  Its exit status is the command's CTL_ST_*, plus ZONE_X_DROPPED
 * when it gave up the connection (lost, or interrupted mid-reply): then
 * this side drops it too.  libexec.c says where the helper is.
 */
#include <sys/wait.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctlproto.h"
#include "util.h"
#include "ctl.h"

static void
fail(struct ctl *ctl, const char *cmd, const char *msg, const char *where,
    int flags)
{
	if (!(flags & CTL_X_SILENT))
		ctl_local_reply(ctl, cmd, CTL_CODE_CLIENT, msg, where);
}

int
zone_run(struct ctl *ctl, const char *cmd, const struct cmd *c,
    const char *where, int flags)
{
	struct sigaction sa;
	sigset_t intr, old;
	const char *argv[16];
	char path[1024], fl[16], msg[1200];
	pid_t pid;
	int argc = 0, st, status, fd, catch = 0;

	(void)c;
	if (ctl_helper_path(ZONE_HELPER, path, sizeof(path)) == -1) {
		fail(ctl, cmd, "zone helper path too long", where, flags);
		return CTL_ST_FAIL;
	}
	if (access(path, X_OK) == -1) {
		snprintf(msg, sizeof(msg), "zone commands run in %s: %s",
		    path, strerror(errno));
		fail(ctl, cmd, msg, where, flags);
		return CTL_ST_FAIL;
	}
	if ((st = ctl_attach(ctl, cmd, where, flags)) != CTL_ST_OK)
		return st;
	ctl->nsent++;

	argv[argc++] = ZONE_HELPER;
	argc += ctl_helper_args(ctl, argv + argc);
	if (ctl->in_txn)
		argv[argc++] = "-t";
	/* The shell's Ctrl-C ends the command there too. */
	if (sigaction(SIGINT, NULL, &sa) == 0 && sa.sa_handler != SIG_DFL &&
	    sa.sa_handler != SIG_IGN) {
		argv[argc++] = "-i";
		catch = 1;
	}
	snprintf(fl, sizeof(fl), "%d", flags);
	argv[argc++] = "-x";
	argv[argc++] = fl;
	if (where != NULL) {
		argv[argc++] = "-w";
		argv[argc++] = where;
	}
	argv[argc++] = "--";
	argv[argc++] = cmd;
	argv[argc] = NULL;

	/* What is written so far goes first. */
	if (ctl->progress != NULL)
		ctl->progress(ctl, 1);
	fflush(stdout);
	fflush(stderr);
	fd = client_fd(ctl->conn);
	/* Blocked until the helper catches it (ctl_catch_sigint()): a
	 * Ctrl-C while it starts is not lost, nor does it kill it. */
	sigemptyset(&intr);
	sigaddset(&intr, SIGINT);
	if (catch)
		sigprocmask(SIG_BLOCK, &intr, &old);
	pid = fork();
	if (pid != 0 && catch)
		sigprocmask(SIG_SETMASK, &old, NULL);
	switch (pid) {
	case -1:
		snprintf(msg, sizeof(msg), "fork: %s", strerror(errno));
		fail(ctl, cmd, msg, where, flags);
		return CTL_ST_FAIL;
	case 0:
		if (dup2(fd, ZONE_FD) == -1 ||
		    (fd == ZONE_FD && fcntl(fd, F_SETFD, 0) == -1))
			_exit(127);
		execv(path, (char *const *)argv);
		_exit(127);
	default:
		break;
	}
	while (waitpid(pid, &status, 0) == -1)
		if (errno != EINTR) {
			snprintf(msg, sizeof(msg), "waitpid: %s",
			    strerror(errno));
			ctl_disconnect(ctl);
			fail(ctl, cmd, msg, where, flags);
			return CTL_ST_FAIL;
		}
	if (WIFEXITED(status) && (WEXITSTATUS(status) & ~ZONE_X_DROPPED) <=
	    CTL_ST_INTR) {
		st = WEXITSTATUS(status) & ~ZONE_X_DROPPED;
		if (WEXITSTATUS(status) & ZONE_X_DROPPED)
			ctl_disconnect(ctl);
		return st;
	}
	/* It died: where it left the connection is anyone's guess. */
	ctl_disconnect(ctl);
	if (WIFSIGNALED(status) && WTERMSIG(status) == SIGINT)
		return CTL_ST_INTR;
	if (WIFSIGNALED(status))
		snprintf(msg, sizeof(msg), "%s: %s", path,
		    strsignal(WTERMSIG(status)));
	else
		snprintf(msg, sizeof(msg), "%s: exit status %d", path,
		    WEXITSTATUS(status));
	fail(ctl, cmd, msg, where, flags);
	return CTL_ST_FAIL;
}

/*
 * dnsroutectl-zone: runs one `zone split` or `zone check` for dnsroutectl
 * (zone_exec.c says why it is a program of its own).  Not for people: its
 * arguments are dnsroutectl's state,
 *
 *	dnsroutectl-zone [-Hijqt] [-w where] -x flags -- command
 *
 * -j JSON output, -q quiet, -H no table header, -t a transaction is open
 * on the connection, -i Ctrl-C interrupts the command (the shell), -x the
 * ctl_exec flags, -w where an error is placed; the connection, greeted
 * already, is fd ZONE_FD.  The exit status is the command's CTL_ST_*, with
 * ZONE_X_DROPPED when the connection was closed here; 127 when it was
 * not run right (dnsroutectl says so).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmdtab.h"
#include "ctlproto.h"
#include "log.h"
#include "util.h"
#include "ctl.h"

static void __attribute__((noreturn))
usage(void)
{
	fprintf(stderr, "usage: %s [-Hijqt] [-w where] -x flags -- command "
	    "(run by dnsroutectl)\n", ZONE_HELPER);
	exit(127);
}

int
main(int argc, char *argv[])
{
	struct ctl ctl;
	struct cmd c;
	const char *where = NULL;
	char err[4096];
	int ch, flags = -1, code, st;

	log_init(ZONE_HELPER, 0, LOG_LVL_WARN);
	memset(&ctl, 0, sizeof(ctl));
	ctl.out = &output_text;
	ctl.sockpath = "";	/* the passed connection, or none */
	while ((ch = getopt(argc, argv, "Hijqtw:x:")) != -1) {
		switch (ch) {
		case 'i':
			ctl_catch_sigint();
			break;
		case 't':
			ctl.in_txn = 1;
			break;
		case 'w':
			where = optarg;
			break;
		case 'x':
			flags = atoi(optarg);
			break;
		default:
			if (!ctl_helper_opt(&ctl, ch))
				usage();
		}
	}
	if (argc - optind != 1 || flags < 0)
		usage();
	ctl.tty = isatty(STDOUT_FILENO);
	ctl.conn = client_adopt(ZONE_FD);

	/* dnsroutectl parsed it already: this cannot fail but to a bug. */
	if (cmd_parse(argv[optind], &c, NULL, &code, err, sizeof(err)) != 0 ||
	    !(c.spec->flags & CMD_F_CTLONLY) || c.spec->id == CMD_QUIT) {
		log_warnx("not a zone command: %s", argv[optind]);
		return 127;
	}
	st = zone_run(&ctl, argv[optind], &c, where, flags);
	cmd_free(&c);
	if (fflush(stdout) == EOF && st == CTL_ST_OK) {
		log_warn("stdout");
		st = CTL_ST_FAIL;
	}
	if (ctl.conn == NULL)
		return st | ZONE_X_DROPPED;
	/* Closes this copy of the socket only: the connection (and its
	 * transaction) goes on in dnsroutectl. */
	client_close(ctl.conn);
	return st;
}

/*
 * dnsroutectl-shell: dnsroutectl's interactive shell (shell.c), a program
 * of its own so that only it loads libedit (ctl.h).  dnsroutectl execs it
 * with the flags that concern it:
 *
 *	dnsroutectl-shell [-Hjq] -s socket
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "ctl.h"

static void __attribute__((noreturn))
usage(void)
{
	fprintf(stderr, "usage: %s [-Hjq] -s socket (run by dnsroutectl)\n",
	    SHELL_HELPER);
	exit(2);
}

int
main(int argc, char *argv[])
{
	struct ctl ctl;
	int ch, st;

	log_init("dnsroutectl", 0, LOG_LVL_WARN);
	memset(&ctl, 0, sizeof(ctl));
	ctl.out = &output_text;
	while ((ch = getopt(argc, argv, "Hjqs:")) != -1) {
		switch (ch) {
		case 's':
			ctl.sockpath = optarg;
			break;
		default:
			if (!ctl_helper_opt(&ctl, ch))
				usage();
		}
	}
	if (argc != optind || ctl.sockpath == NULL)
		usage();
	ctl.tty = isatty(STDOUT_FILENO);
	st = shell_run(&ctl);
	ctl_disconnect(&ctl);
	if (fflush(stdout) == EOF && st == 0) {
		log_warn("stdout");
		st = 2;
	}
	return st;
}

/*
 * dnsroutectl: the admin shell for dnsrouted.  This file owns the command
 * line and the choice of mode: one command (-c, or the words after the
 * flags), a batch (-f FILE, or stdin when it is not a terminal), or the
 * interactive shell (dnsroutectl-shell, which it becomes).  Exit status:
 * 0 ok, 1 a command failed, 2 bad usage (of dnsroutectl, or of a command:
 * a 9xxx reply), the daemon cannot be reached, or the protocol broke.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctlproto.h"
#include "log.h"
#include "tokenize.h"
#include "util.h"
#include "ctl.h"

static void __attribute__((noreturn))
usage(int status)
{
	FILE *fp = status == 0 ? stdout : stderr;

	fprintf(fp,
	    "usage: dnsroutectl [-HqV] [--json] [-s socket] "
	    "[-c command | command ...]\n"
	    "       dnsroutectl [-Hq] [--json] [-s socket] [--dry-run] "
	    "[--replace] -f file [-c command]\n"
	    "  -s, --socket PATH   control socket (default "
	    "$DNSROUTECTL_SOCKET or\n"
	    "                      " DNSROUTE_SOCKET_DEFAULT ")\n"
	    "  -c, --command CMD   run one command\n"
	    "  -f, --file FILE     run FILE (- for stdin) as one transaction;\n"
	    "                      with -c, the command runs last inside it\n"
	    "      --dry-run       with -f: check every command, then abort\n"
	    "      --replace       with -f: make the state equal to FILE "
	    "(the daemon\n"
	    "                      applies only the differences); prints "
	    "them\n"
	    "      --json          one JSON document per command\n"
	    "  -H, --no-header     piped tables without their header line\n"
	    "  -q, --quiet         no ok messages or notices\n"
	    "  -V, --version       print the version\n"
	    "  -h, --help          this help; \"dnsroutectl help\" lists "
	    "commands\n");
	exit(status);
}

/* The interactive shell is a program of its own (ctl.h): become it. */
static void __attribute__((noreturn))
exec_shell(const struct ctl *ctl)
{
	const char *argv[8];
	char path[1024];
	int argc = 0;

	if (ctl_helper_path(SHELL_HELPER, path, sizeof(path)) == -1)
		fatalx("the shell's path is too long");
	argv[argc++] = SHELL_HELPER;
	argc += ctl_helper_args(ctl, argv + argc);
	argv[argc++] = "-s";
	argv[argc++] = ctl->sockpath;
	argv[argc] = NULL;
	execv(path, (char *const *)argv);
	log_warn("the shell runs in %s", path);
	exit(2);
}

/* The words after the flags, quoted back into one command line. */
static char *
join_words(int argc, char *argv[])
{
	size_t len = 1, n;
	char *out, *q;
	int i;

	for (i = 0; i < argc; i++)
		len += 4 * strlen(argv[i]) + 4;
	out = xmalloc(len);
	q = xmalloc(len);
	out[0] = '\0';
	for (i = 0; i < argc; i++) {
		if (tok_quote(argv[i], q, len) == -1)
			fatalx("cannot quote \"%s\"", argv[i]);
		n = strlen(out);
		snprintf(out + n, len - n, "%s%s", i ? " " : "", q);
	}
	free(q);
	return out;
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "socket",	required_argument,	NULL, 's' },
		{ "command",	required_argument,	NULL, 'c' },
		{ "file",	required_argument,	NULL, 'f' },
		{ "json",	no_argument,		NULL, 'J' },
		{ "dry-run",	no_argument,		NULL, 'D' },
		{ "replace",	no_argument,		NULL, 'R' },
		{ "quiet",	no_argument,		NULL, 'q' },
		{ "no-header",	no_argument,		NULL, 'H' },
		{ "version",	no_argument,		NULL, 'V' },
		{ "help",	no_argument,		NULL, 'h' },
		{ NULL,		0,			NULL, 0 }
	};
	struct ctl ctl;
	const char *file = NULL, *env;
	char *cmd = NULL, *joined = NULL;
	int ch, json = 0, dry_run = 0, replace = 0, st;
	FILE *fp;

	log_init("dnsroutectl", 0, LOG_LVL_WARN);
	memset(&ctl, 0, sizeof(ctl));
	ctl.sockpath = DNSROUTE_SOCKET_DEFAULT;
	if ((env = getenv("DNSROUTECTL_SOCKET")) != NULL && *env != '\0')
		ctl.sockpath = env;

	while ((ch = getopt_long(argc, argv, "+s:c:f:qHVh", longopts,
	    NULL)) != -1) {
		switch (ch) {
		case 's':
			ctl.sockpath = optarg;
			break;
		case 'c':
			cmd = optarg;
			break;
		case 'f':
			file = optarg;
			break;
		case 'J':
			json = 1;
			break;
		case 'D':
			dry_run = 1;
			break;
		case 'R':
			replace = 1;
			break;
		case 'q':
			ctl.quiet = 1;
			break;
		case 'H':
			ctl.noheader = 1;
			break;
		case 'V':
			printf("dnsroutectl %s (control protocol %d)\n",
			    DNSROUTE_VERSION, CTL_PROTOCOL_VERSION);
			return 0;
		case 'h':
			usage(0);
		default:
			usage(2);
		}
	}
	argc -= optind;
	argv += optind;
	if (argc > 0) {
		if (cmd != NULL || file != NULL)
			usage(2);
		cmd = joined = join_words(argc, argv);
	}
	if (cmd != NULL && file != NULL && (joined != NULL || replace)) {
		fprintf(stderr, "dnsroutectl: -f takes -c, not words or "
		    "--replace\n");
		return 2;
	}
	if (replace && file == NULL) {
		fprintf(stderr, "dnsroutectl: --replace needs -f FILE\n");
		return 2;
	}
	if (dry_run && ((cmd != NULL && file == NULL) ||
	    (file == NULL && isatty(0)))) {
		fprintf(stderr, "dnsroutectl: --dry-run needs -f FILE or "
		    "commands on stdin\n");
		return 2;
	}

	ctl.out = json ? &output_json : &output_text;
	ctl.tty = isatty(1);

	if (cmd != NULL && file == NULL) {
		st = ctl_exec(&ctl, cmd, NULL, 0);
		if (st == CTL_ST_EMPTY || st == CTL_ST_QUIT)
			st = CTL_ST_OK;
	} else if (file != NULL && strcmp(file, "-") != 0) {
		if ((fp = fopen(file, "r")) == NULL) {
			log_warn("%s", file);
			return 2;
		}
		st = replace ? replace_run(&ctl, fp, file, dry_run) :
		    batch_run(&ctl, fp, file, cmd, dry_run);
		fclose(fp);
	} else if (file != NULL || !isatty(0))
		st = replace ? replace_run(&ctl, stdin, "stdin", dry_run) :
		    batch_run(&ctl, stdin, "stdin", cmd, dry_run);
	else
		exec_shell(&ctl);
	ctl_disconnect(&ctl);
	free(joined);
	if (fflush(stdout) == EOF && st == CTL_ST_OK) {
		log_warn("stdout");
		st = CTL_ST_FAIL;
	}
	return st == CTL_ST_OK ? 0 : st == CTL_ST_REFUSED ? 1 : 2;
}

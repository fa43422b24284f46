/*
 * argparse: the argument forms shared by the daemon's command handlers and
 * dnsroutectl's model of them (--replace), so both accept exactly the same.
 */
#ifndef ARGPARSE_H
#define ARGPARSE_H

#define ARG_NAME_MAX	64	/* backend and pool names, NUL included */

/* 1-63 of letters, digits, '.', '_', '-', not starting with '-'. */
int	arg_name_ok(const char *);
/* "5", "0.5", "1.5s", "200ms" -> milliseconds in [min, max]; a bare
 * number is seconds when seconds_default, else milliseconds. */
int	arg_duration_ms(const char *, int seconds_default, long min, long max,
	    long *out);

#endif

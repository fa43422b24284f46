/*
 * argparse: argument forms of the command parser (cmdparse.c): names and
 * durations.
 */
#ifndef ARGPARSE_H
#define ARGPARSE_H

/* 1 to CONF_NAME_MAX - 1 of letters, digits, '.', '_', '-', not starting
 * with '-'. */
int	arg_name_ok(const char *);
/* The name of something that exists: a name as above, or one the daemon
 * made ("etcd:ID" of a registration): 1-63 printable, no blank, no
 * leading '-'.  Whether it exists is the daemon's to say. */
int	arg_ref_ok(const char *);
/* "5", "0.5", "1.5s", "200ms" -> milliseconds in [min, max]; a bare
 * number is seconds when seconds_default, else milliseconds. */
int	arg_duration_ms(const char *, int seconds_default, long min, long max,
	    long *out);

#endif

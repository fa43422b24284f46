/*
 * script: a text of commands, as batch files, standard input and the data
 * of `replace` hold them: one command a line; a line ending in '\' goes on
 * on the next (its indentation dropped; a comment line never goes on);
 * blank lines and comments are left to the command parser, which skips
 * them.  script_next() gives each command with the line it starts on, so
 * every error can name its line.  The one reader, for dnsroutectl (a FILE)
 * and dnsrouted (the request's data).
 */
#ifndef SCRIPT_H
#define SCRIPT_H

#include <stddef.h>
#include <stdio.h>

struct script {
	FILE		*fp;		/* NULL: reading mem */
	const char	*mem, *end;
	char		*line, *cmd;
	size_t		 linecap, cmdlen, cmdcap;
	unsigned	 lineno, start;
};

void	script_init_fp(struct script *, FILE *);
void	script_init_mem(struct script *, const char *buf, size_t len);
/* The next command: 1 with *cmd (valid until the next call) and *start,
 * 0 at the end, -1 on a read error. */
int	script_next(struct script *, char **cmd, unsigned *start);
void	script_free(struct script *);

#endif

/*
 * batch: a file (-f FILE, or commands on stdin) applied as one transaction.
 * Blank lines and comments are skipped; a line ending in '\' continues on
 * the next (a comment line never does).  "begin" goes out before the first
 * command the daemon must see, so a file of help alone needs no daemon.
 * On the first error the transaction is aborted, the error is printed as
 * "FILE:LINE: text" (the line a command starts on) and nothing is applied.
 * At the end: commit, or abort for --dry-run.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"
#include "ctl.h"

/* Strip the newline; returns 1 if the line continues on the next one. */
static int
chop(char *line)
{
	size_t len = strlen(line);
	const char *p = line;

	while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
		line[--len] = '\0';
	while (*p == ' ' || *p == '\t')
		p++;
	if (*p == '#' || len == 0 || line[len - 1] != '\\')
		return 0;
	/* The backslash stands for one blank. */
	if (len > 1 && (line[len - 2] == ' ' || line[len - 2] == '\t'))
		line[len - 1] = '\0';
	else
		line[len - 1] = ' ';
	return 1;
}

int
batch_run(struct ctl *ctl, FILE *fp, const char *name, int dry_run)
{
	char *line = NULL, *cmd = NULL, *p, where[1100], msg[128];
	size_t cap = 0, cmdlen = 0, l;
	unsigned lineno = 0, start = 0;
	int st = CTL_ST_OK, more = 0;

	ctl->autobegin = 1;
	ctl->nsent = 0;
	while (getline(&line, &cap, fp) != -1) {
		lineno++;
		if (cmdlen == 0)
			start = lineno;
		p = line;
		if (cmdlen > 0)
			p += strspn(p, " \t");	/* the indentation */
		more = chop(line);
		l = strlen(p);
		cmd = xrealloc(cmd, cmdlen + l + 1);
		memcpy(cmd + cmdlen, p, l + 1);
		cmdlen += l;
		if (more)
			continue;
		snprintf(where, sizeof(where), "%s:%u", name, start);
		st = ctl_exec(ctl, cmd, where, CTL_X_BATCH);
		cmdlen = 0;
		if (st == CTL_ST_EMPTY)
			st = CTL_ST_OK;
		if (st != CTL_ST_OK)
			break;
	}
	if (st == CTL_ST_OK && ferror(fp)) {
		snprintf(msg, sizeof(msg), "read error");
		ctl_local_reply(ctl, "", CTL_CODE_CLIENT, msg, name);
		st = CTL_ST_FAIL;
	}
	if (st == CTL_ST_OK && cmdlen > 0) {
		/* The last line ended in '\'. */
		snprintf(where, sizeof(where), "%s:%u", name, start);
		st = ctl_exec(ctl, cmd, where, CTL_X_BATCH);
		if (st == CTL_ST_EMPTY)
			st = CTL_ST_OK;
	}
	free(line);
	free(cmd);
	ctl->autobegin = 0;
	if (st == CTL_ST_QUIT)
		st = CTL_ST_OK;
	if (st != CTL_ST_OK) {
		if (ctl->in_txn)
			ctl_exec(ctl, "abort", name, CTL_X_SILENT);
		return st;
	}
	if (!ctl->in_txn)
		return CTL_ST_OK;	/* nothing went to the daemon */
	if (dry_run) {
		unsigned n = ctl->nsent;

		st = ctl_exec(ctl, "abort", name, CTL_X_QUIET);
		if (st == CTL_ST_OK) {
			snprintf(msg, sizeof(msg), "dry run: %u command%s "
			    "checked, nothing changed", n, n == 1 ? "" : "s");
			ctl_local_reply(ctl, "abort", 0, msg, NULL);
		}
		return st;
	}
	return ctl_exec(ctl, "commit", name, 0);
}

/*
 * batch: a file (-f FILE, or commands on stdin) applied as one transaction.
 * batch_next() is the one reader of batch files (replace.c uses it too):
 * blank lines and comments are skipped by the execute path; a line ending
 * in '\' continues on the next (a comment line never does).  "begin" goes
 * out before the first command the daemon must see, so a file of help
 * alone needs no daemon.  On the first error the transaction is aborted,
 * the error is printed as "FILE:LINE: text" (the line a command starts
 * on) and nothing is applied.  A command given with -c runs last, inside
 * the same transaction (zone check against the routes the file makes).
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

void
batch_init(struct batch_reader *br, FILE *fp)
{
	memset(br, 0, sizeof(*br));
	br->fp = fp;
}

void
batch_free(struct batch_reader *br)
{
	free(br->line);
	free(br->cmd);
	br->line = br->cmd = NULL;
}

int
batch_next(struct batch_reader *br, char **cmd, unsigned *start)
{
	size_t l;
	char *p;
	int more;

	br->cmdlen = 0;
	while (getline(&br->line, &br->cap, br->fp) != -1) {
		br->lineno++;
		if (br->cmdlen == 0)
			br->start = br->lineno;
		p = br->line;
		if (br->cmdlen > 0)
			p += strspn(p, " \t");	/* the indentation */
		more = chop(br->line);
		l = strlen(p);
		br->cmd = xrealloc(br->cmd, br->cmdlen + l + 1);
		memcpy(br->cmd + br->cmdlen, p, l + 1);
		br->cmdlen += l;
		if (more)
			continue;
		*cmd = br->cmd;
		*start = br->start;
		return 1;
	}
	if (ferror(br->fp))
		return -1;
	if (br->cmdlen > 0) {
		/* The last line ended in '\'. */
		*cmd = br->cmd;
		*start = br->start;
		return 1;
	}
	return 0;
}

int
batch_run(struct ctl *ctl, FILE *fp, const char *name, const char *then,
    int dry_run)
{
	struct batch_reader br;
	char *cmd, where[1100], msg[128];
	unsigned start;
	int st = CTL_ST_OK, r;

	ctl->autobegin = 1;
	ctl->nsent = 0;
	batch_init(&br, fp);
	while ((r = batch_next(&br, &cmd, &start)) == 1) {
		snprintf(where, sizeof(where), "%s:%u", name, start);
		st = ctl_exec(ctl, cmd, where, CTL_X_BATCH);
		if (st == CTL_ST_EMPTY)
			st = CTL_ST_OK;
		if (st != CTL_ST_OK)
			break;
	}
	if (r != -1 && st == CTL_ST_OK && then != NULL) {
		st = ctl_exec(ctl, then, "-c", CTL_X_BATCH);
		if (st == CTL_ST_EMPTY)
			st = CTL_ST_OK;
	}
	if (r == -1 && st == CTL_ST_OK) {
		snprintf(msg, sizeof(msg), "read error");
		ctl_local_reply(ctl, "", CTL_CODE_CLIENT, msg, name);
		st = CTL_ST_FAIL;
	}
	batch_free(&br);
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

/*
 * batch: a file (-f FILE, or commands on stdin) sent to the daemon, either
 * as one transaction or, with --replace, as the input of `replace`.
 *
 * A batch is read with the one reader of command texts (common/script.c)
 * and sent command by command.  "begin" goes out before the first change,
 * so a file of help, or of show commands, opens no transaction.  On the
 * first error the transaction is aborted, the error is printed as
 * "FILE:LINE: text" (the line a command starts on) and nothing is
 * applied.  A command given with -c runs last, inside the same
 * transaction (zone check against the routes the file makes).  At the
 * end: commit, or abort for --dry-run.
 *
 * The changes are pipelined (client.c): a batch of 100,000 routes is not
 * 100,000 round trips.  When it takes more than a second and standard
 * error is a terminal, a line there says how far it is: the input lines
 * sent and applied (replied to), redrawn ten times a second, gone before
 * anything else is written.
 *
 * --replace sends the whole file as the data of one `replace` request:
 * the daemon runs it on a scratch copy, compares and applies the
 * difference, and its error, if any, names the line.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "script.h"
#include "util.h"
#include "ctl.h"

#define PROGRESS_AFTER_US	1000000
#define PROGRESS_EVERY_US	100000

static struct {
	const char	*name;
	uint64_t	 start_us, last_us;
	int		 shown;
} prog;

static void
progress(struct ctl *ctl, int clear)
{
	uint64_t now;

	if (clear) {
		if (prog.shown)
			fputs("\r\033[K", stderr);
		prog.shown = 0;
		return;
	}
	now = now_us();
	if (now - prog.start_us < PROGRESS_AFTER_US ||
	    now - prog.last_us < PROGRESS_EVERY_US)
		return;
	prog.last_us = now;
	prog.shown = 1;
	fprintf(stderr, "\r%s: %u lines sent, %u applied\033[K", prog.name,
	    ctl->line_sent, ctl->line_done);
	fflush(stderr);
}

static int
batch_send(struct ctl *ctl, FILE *fp, const char *name, const char *then,
    int dry_run)
{
	struct script sc;
	char *cmd, where[1100], msg[256];
	unsigned start;
	int st = CTL_ST_OK, r;

	ctl->autobegin = 1;
	ctl->nsent = 0;
	ctl->line_sent = ctl->line_done = 0;
	script_init_fp(&sc, fp);
	while ((r = script_next(&sc, &cmd, &start)) == 1) {
		snprintf(where, sizeof(where), "%s:%u", name, start);
		st = ctl_exec_line(ctl, cmd, where, CTL_X_BATCH | CTL_X_PIPE,
		    start);
		if (st == CTL_ST_EMPTY)
			st = CTL_ST_OK;
		if (st != CTL_ST_OK)
			break;
	}
	/* The replies still to come (the first failure among them stops
	 * the batch as its own would have). */
	if (st == CTL_ST_OK)
		st = ctl_drain(ctl);
	if (r != -1 && st == CTL_ST_OK && then != NULL) {
		st = ctl_exec(ctl, then, "-c", CTL_X_BATCH);
		if (st == CTL_ST_EMPTY)
			st = CTL_ST_OK;
	}
	if (r == -1 && st == CTL_ST_OK) {
		ctl_local_reply(ctl, "", CTL_CODE_CLIENT, "read error", name);
		st = CTL_ST_FAIL;
	}
	script_free(&sc);
	ctl->autobegin = 0;
	if (st == CTL_ST_QUIT)
		st = CTL_ST_OK;
	if (st != CTL_ST_OK) {
		/* Its answer says that nothing was applied. */
		if (ctl->in_txn)
			ctl_exec(ctl, "abort", name, 0);
		return st;
	}
	if (!ctl->in_txn)
		return CTL_ST_OK;	/* no change went to the daemon */
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

int
replace_run(struct ctl *ctl, FILE *fp, const char *name, int dry_run)
{
	char *data = NULL;
	size_t len = 0, cap = 0, n;
	int st;

	for (;;) {
		if (len == cap) {
			cap = cap ? cap * 2 : 65536;
			data = xrealloc(data, cap);
		}
		if ((n = fread(data + len, 1, cap - len, fp)) == 0)
			break;
		len += n;
	}
	if (ferror(fp)) {
		ctl_local_reply(ctl, "replace", CTL_CODE_CLIENT, "read error",
		    name);
		free(data);
		return CTL_ST_FAIL;
	}
	if (len > CTL_BODY_MAX) {
		ctl_local_reply(ctl, "replace", CTL_CODE_CLIENT, "larger than "
		    "the 64 MiB a request may carry", name);
		free(data);
		return CTL_ST_FAIL;
	}
	st = ctl_exec_body(ctl, dry_run ? "replace dry-run" : "replace",
	    data, len, name);
	free(data);
	return st;
}

int
batch_run(struct ctl *ctl, FILE *fp, const char *name, const char *then,
    int dry_run)
{
	int st;

	if (isatty(STDERR_FILENO)) {
		prog.name = name;
		prog.start_us = now_us();
		prog.last_us = 0;
		ctl->progress = progress;
	}
	st = batch_send(ctl, fp, name, then, dry_run);
	progress(ctl, 1);
	ctl->progress = NULL;
	return st;
}

/*
 * shell: the interactive front end, and the only user of libedit.  Lines
 * go through ctl_exec() like any other; this file adds the prompt, history
 * and tab completion.  What may be completed comes from the command table
 * (cmd_complete: command words, keywords, values of each grammar's kinds);
 * this file only fetches the names it asks for (backends, pools, route
 * ids: the first column of a show command's rows) over a second
 * connection, and keeps them for two seconds.
 *
 * Ctrl-C at the prompt clears the line.  Ctrl-C while a reply streams
 * closes that connection (the daemon ends a trace when its client leaves)
 * and opens a new one.  Ctrl-D or quit leaves.
 */
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <errno.h>
#include <fcntl.h>
#include <histedit.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "cmdtab.h"
#include "ctlproto.h"
#include "tokenize.h"
#include "util.h"
#include "ctl.h"

#define HIST_MAX	1000
/* The first line of a libedit history file. */
#define HIST_COOKIE	"_HiStOrY_V2_\n"
#define NAMES_TTL_US	2000000
#define FETCH_MS	1000
#define MAX_NAMES	8

/* The first column of a show command's rows, as last fetched. */
struct names {
	char		 *cmd;		/* "show backends" */
	char		**v;		/* NULL-terminated */
	size_t		  n;
	uint64_t	  at;		/* when fetched; 0: never */
};

struct cands {
	char	**v;
	size_t	  n, cap;
};

struct shell {
	struct ctl	*ctl;
	EditLine	*el;
	History		*hist;
	char		*histpath;	/* NULL: no history file */
	char		 prompt[PATH_MAX + 32];
	struct names	 names[MAX_NAMES];
	int		 nnames;
	struct cands	*cands;		/* while completing */
};

/* History. */

static void
hist_open(struct shell *sh)
{
	HistEvent ev;
	const char *env = getenv("DNSROUTECTL_HISTORY"), *home;
	struct passwd *pw;
	size_t len;
	int n;

	sh->hist = history_init();
	history(sh->hist, &ev, H_SETSIZE, HIST_MAX);
	history(sh->hist, &ev, H_SETUNIQUE, 1);
	if (env != NULL) {
		if (*env != '\0')
			sh->histpath = xstrdup(env);
	} else {
		home = getenv("HOME");
		if ((home == NULL || *home == '\0') &&
		    (pw = getpwuid(getuid())) != NULL)
			home = pw->pw_dir;
		if (home != NULL) {
			len = strlen(home) + sizeof("/.dnsroutectl_history");
			sh->histpath = xmalloc(len);
			snprintf(sh->histpath, len, "%s/.dnsroutectl_history",
			    home);
		}
	}
	if (sh->histpath == NULL)
		return;
	n = history(sh->hist, &ev, H_LOAD, sh->histpath);
	/* Appending grows the file; cut it back now and then. */
	if (n > HIST_MAX + HIST_MAX / 4)
		history(sh->hist, &ev, H_SAVE, sh->histpath);
}

/* Append one entry, encoded as libedit writes it (vis(3) octal escapes),
 * so that two shells at once both keep theirs. */
static void
hist_append(struct shell *sh, const char *line)
{
	const unsigned char *p;
	struct stat st;
	FILE *fp;
	int fd;

	if (sh->histpath == NULL)
		return;
	if ((fd = open(sh->histpath, O_WRONLY | O_APPEND | O_CREAT |
	    O_CLOEXEC, 0600)) == -1)
		return;
	if ((fp = fdopen(fd, "a")) == NULL) {
		close(fd);
		return;
	}
	if (fstat(fd, &st) == 0 && st.st_size == 0)
		fputs(HIST_COOKIE, fp);
	for (p = (const unsigned char *)line; *p != '\0'; p++) {
		if (*p == '\\')
			fputs("\\\\", fp);
		else if (*p <= ' ' || *p >= 0x7f)
			fprintf(fp, "\\%03o", *p);
		else
			fputc(*p, fp);
	}
	fputc('\n', fp);
	fclose(fp);
}

/* Does line hold a secret (key add, key set)?  Such a line is kept out
 * of the history, in memory and on disk. */
static int
holds_secret(const char *line)
{
	struct tok_line t;
	const struct cmd_spec *cs;
	char err[256];
	int nw, r = 0;

	if (tok_split(line, &t, err, sizeof(err)) == -1)
		return 0;
	if (t.argc > 0 && (cs = cmd_lookup(t.argc, t.argv, &nw, err,
	    sizeof(err))) != NULL)
		r = cmd_has_secret(cs);
	tok_free(&t);
	return r;
}

static void
hist_add(struct shell *sh, const char *line)
{
	HistEvent ev;

	if (holds_secret(line))
		return;
	if (history(sh->hist, &ev, H_FIRST) == 0 &&
	    strcmp(ev.str, line) == 0)
		return;
	history(sh->hist, &ev, H_ENTER, line);
	hist_append(sh, line);
}

/* Completion candidates. */

static void
cand_add(void *arg, const char *word)
{
	struct cands *c = ((struct shell *)arg)->cands;

	if (c->n == c->cap) {
		c->cap = c->cap ? c->cap * 2 : 32;
		c->v = xrealloc(c->v, c->cap * sizeof(*c->v));
	}
	c->v[c->n++] = xstrdup(word);
}

static int
all_digits(const char *s)
{
	return *s != '\0' && s[strspn(s, "0123456789")] == '\0';
}

/* Route ids in numeric order, everything else in byte order. */
static int
cand_cmp(const void *a, const void *b)
{
	const char *x = *(char *const *)a, *y = *(char *const *)b;

	if (all_digits(x) && all_digits(y) && strlen(x) != strlen(y))
		return strlen(x) < strlen(y) ? -1 : 1;
	return strcmp(x, y);
}

static void
cand_free(struct cands *c)
{
	size_t i;

	for (i = 0; i < c->n; i++)
		free(c->v[i]);
	free(c->v);
}

static void
names_clear(struct names *nm)
{
	size_t i;

	for (i = 0; i < nm->n; i++)
		free(nm->v[i]);
	free(nm->v);
	nm->v = NULL;
	nm->n = 0;
}

/* The first column of show_cmd's rows, over a connection of its own so
 * that the shell's (and its transaction) is left alone. */
static const char *const *
names_get(void *arg, const char *show_cmd)
{
	struct shell *sh = arg;
	struct names *nm = NULL;
	struct ctl_conn *conn;
	char err[512], *text, *tab;
	uint64_t now = now_us();
	int code, more, i;

	for (i = 0; i < sh->nnames && nm == NULL; i++)
		if (strcmp(sh->names[i].cmd, show_cmd) == 0)
			nm = &sh->names[i];
	if (nm == NULL) {
		if (sh->nnames == MAX_NAMES)
			return NULL;
		nm = &sh->names[sh->nnames++];
		nm->cmd = xstrdup(show_cmd);
	}
	if (nm->at != 0 && now - nm->at < NAMES_TTL_US)
		return (const char *const *)nm->v;
	names_clear(nm);
	nm->at = now;
	nm->v = xcalloc(1, sizeof(*nm->v));
	conn = client_connect(sh->ctl->sockpath, FETCH_MS, err, sizeof(err));
	if (conn == NULL)
		return (const char *const *)nm->v;
	if (client_send(conn, show_cmd, NULL, 0, err, sizeof(err)) == 0) {
		while ((code = client_read(conn, FETCH_MS, &more, &text, err,
		    sizeof(err))) >= 0) {
			if (code == CTL_ROW) {
				if ((tab = strchr(text, '\t')) != NULL)
					*tab = '\0';
				ctl_unescape(text);
				nm->v = xrealloc(nm->v, (nm->n + 2) *
				    sizeof(*nm->v));
				nm->v[nm->n++] = xstrdup(text);
				nm->v[nm->n] = NULL;
			}
			if (!more)
				break;
		}
	}
	client_close(conn);
	return (const char *const *)nm->v;
}

static void
show_list(struct cands *c)
{
	struct winsize ws;
	const char *p;
	size_t i, w = 0, cols, rows, r, k;

	for (i = 0; i < c->n; i++)
		if (strlen(c->v[i]) > w)
			w = strlen(c->v[i]);
	w += 2;
	cols = 80;
	if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
		cols = ws.ws_col;
	cols = cols / w ? cols / w : 1;
	rows = (c->n + cols - 1) / cols;
	putchar('\n');
	for (r = 0; r < rows; r++) {
		for (k = 0; k < cols && r + k * rows < c->n; k++) {
			i = r + k * rows;
			for (p = c->v[i]; *p != '\0'; p++)
				putchar((unsigned char)*p < ' ' ? '?' : *p);
			if (k + 1 < cols && i + rows < c->n)
				printf("%*s", (int)(w - strlen(c->v[i])), "");
		}
		putchar('\n');
	}
	fflush(stdout);
}

/* Replace the rawchars characters before the cursor with word, quoted
 * when it must be; a whole word gets a blank after it.  0, or -1 when a
 * partial word would need quotes (which would close it). */
static int
put_word(EditLine *el, int rawchars, const char *word, int whole)
{
	size_t len = 4 * strlen(word) + 4;
	char *q = xmalloc(len);

	if (tok_quote(word, q, len - 1) == -1 ||
	    (!whole && strcmp(q, word) != 0)) {
		free(q);
		return -1;
	}
	if (whole)
		strcat(q, " ");
	el_deletestr(el, rawchars);
	el_insertstr(el, q);
	free(q);
	return 0;
}

static int
is_blank(char ch)
{
	return ch == ' ' || ch == '\t';
}

static unsigned char
complete(EditLine *el, int ch)
{
	struct shell *sh;
	const LineInfo *li = el_line(el);
	struct tok_line t;
	struct cands c;
	char err[128], *text, *lcp;
	const char *prefix;
	size_t upto = li->cursor - li->buffer, i, l;
	int nprior, rawchars = 0;
	unsigned char ret = CC_ERROR;

	(void)ch;
	el_get(el, EL_CLIENTDATA, &sh);
	memset(&c, 0, sizeof(c));
	text = xmalloc(upto + 1);
	memcpy(text, li->buffer, upto);
	text[upto] = '\0';
	if (tok_split(text, &t, err, sizeof(err)) == -1) {
		free(text);
		return CC_ERROR;	/* inside quotes: a value, not ours */
	}
	if (t.ends_in_blank && upto > 0 && !is_blank(text[upto - 1]))
		goto out;		/* inside a comment */
	if (t.ends_in_blank) {
		nprior = t.argc;
		prefix = "";
	} else {
		nprior = t.argc - 1;
		prefix = t.argv[nprior];
		for (i = t.last_word_start; i < upto; i++)
			if (((unsigned char)text[i] & 0xc0) != 0x80)
				rawchars++;
	}
	ctl_sigint = 0;
	sh->cands = &c;
	cmd_complete(nprior, t.argv, prefix, cand_add, names_get, sh);
	sh->cands = NULL;
	if (c.n == 0)
		goto out;
	qsort(c.v, c.n, sizeof(*c.v), cand_cmp);
	for (i = 1, l = 1; i < c.n; i++)
		if (strcmp(c.v[i], c.v[l - 1]) != 0)
			c.v[l++] = c.v[i];
		else
			free(c.v[i]);
	c.n = l;
	if (c.n == 1) {
		if (put_word(el, rawchars, c.v[0], 1) == 0)
			ret = CC_REFRESH;
		goto out;
	}
	for (l = 0; c.v[0][l] != '\0'; l++) {
		for (i = 1; i < c.n; i++)
			if (c.v[i][l] != c.v[0][l])
				break;
		if (i < c.n)
			break;
	}
	while (l > 0 && ((unsigned char)c.v[0][l] & 0xc0) == 0x80)
		l--;			/* not inside a UTF-8 character */
	lcp = xmalloc(l + 1);
	memcpy(lcp, c.v[0], l);
	lcp[l] = '\0';
	if (l > strlen(prefix) && put_word(el, rawchars, lcp, 0) == 0)
		ret = CC_REFRESH;
	else {
		show_list(&c);
		ret = CC_REDISPLAY;
	}
	free(lcp);
out:
	cand_free(&c);
	tok_free(&t);
	free(text);
	return ret;
}

static char *
prompt(EditLine *el)
{
	struct shell *sh;

	el_get(el, EL_CLIENTDATA, &sh);
	snprintf(sh->prompt, sizeof(sh->prompt), "dnsroute %s%s> ",
	    sh->ctl->sockpath, sh->ctl->in_txn ? " [txn]" : "");
	return sh->prompt;
}

int
shell_run(struct ctl *ctl)
{
	struct shell sh;
	HistEvent ev;
	const char *line;
	char err[512], *buf;
	size_t len;
	int n, st, i;

	memset(&sh, 0, sizeof(sh));
	sh.ctl = ctl;

	ctl_catch_sigint();

	hist_open(&sh);
	sh.el = el_init("dnsroutectl", stdin, stdout, stderr);
	el_set(sh.el, EL_CLIENTDATA, &sh);
	el_set(sh.el, EL_EDITOR, "emacs");
	el_set(sh.el, EL_SIGNAL, 1);
	el_set(sh.el, EL_PROMPT, prompt);
	el_set(sh.el, EL_HIST, history, sh.hist);
	el_set(sh.el, EL_ADDFN, "dnsroute-complete",
	    "complete a command, keyword or name", complete);
	el_set(sh.el, EL_BIND, "^I", "dnsroute-complete", NULL);
	el_source(sh.el, NULL);

	if (ctl_connect(ctl, err, sizeof(err)) == -1)
		fprintf(stderr, "dnsroutectl: %s\n", err);
	else if (!ctl->quiet)
		printf("%s at %s; help lists commands\n",
		    client_greeting(ctl->conn), ctl->sockpath);

	for (;;) {
		ctl_sigint = 0;
		line = el_gets(sh.el, &n);
		if (line == NULL) {
			if (n == -1 && errno == EINTR) {
				/* Ctrl-C: drop the line, a fresh prompt. */
				putchar('\n');
				continue;
			}
			putchar('\n');
			break;
		}
		buf = xstrdup(line);
		len = strlen(buf);
		while (len > 0 && (buf[len - 1] == '\n' ||
		    is_blank(buf[len - 1])))
			buf[--len] = '\0';
		if (buf[strspn(buf, " \t")] == '\0') {
			free(buf);
			continue;
		}
		hist_add(&sh, buf);
		ctl_sigint = 0;
		st = ctl_exec(ctl, buf, NULL, 0);
		free(buf);
		if (st == CTL_ST_QUIT)
			break;
		if (st == CTL_ST_INTR) {
			ctl_sigint = 0;
			if (ctl_connect(ctl, err, sizeof(err)) == -1)
				fprintf(stderr, "dnsroutectl: %s\n", err);
		}
	}
	if (ctl->in_txn)
		fprintf(stderr, "dnsroutectl: leaving with a transaction "
		    "open: it is dropped, nothing in it was applied\n");
	el_end(sh.el);
	history(sh.hist, &ev, H_CLEAR);
	history_end(sh.hist);
	for (i = 0; i < sh.nnames; i++) {
		names_clear(&sh.names[i]);
		free(sh.names[i].cmd);
	}
	free(sh.histpath);
	return 0;
}

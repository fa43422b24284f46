/*
 * output: the text renderer.  On a terminal a table is held until the reply
 * ends, then printed with aligned columns under a header (names upper-cased,
 * '#' dropped, numeric columns right-aligned).  Piped, each row is one line
 * of tab-separated fields under the same header, tab-separated too, so
 * saved output says what its columns are (-H leaves the header out, for
 * cut(1) and awk(1)).  Either way a control byte inside a field is shown
 * as \t \n \r or \DDD, never written raw: a row stays one line and no
 * field can drive the terminal.  Trace lines are printed as they arrive;
 * changes (replace) as "+ command (detail)".  Errors and notices go to
 * stderr, an error's lines after the first (its usage) as they are.
 *
 * One command is rendered at a time; the table below is its state.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctlproto.h"
#include "util.h"
#include "ctl.h"

struct col {
	char	*name;		/* as shown */
	int	 numeric;
	size_t	 width;
};

static struct {
	struct col	 *cols;
	int		  ncols;
	char		***rows;	/* display forms, NULL-terminated */
	size_t		  nrows, cap;
	int		  hdr_out;	/* the header of a piped or streamed
					   table is out */
} tb;

/* Field as shown: control bytes escaped, everything else as is. */
static char *
display(const char *s)
{
	char *out = xmalloc(4 * strlen(s) + 1), *w = out;

	for (; *s != '\0'; s++) {
		unsigned char c = *s;

		if (c == '\t')
			w += sprintf(w, "\\t");
		else if (c == '\n')
			w += sprintf(w, "\\n");
		else if (c == '\r')
			w += sprintf(w, "\\r");
		else if (c < 0x20 || c == 0x7f)
			w += sprintf(w, "\\%03u", c);
		else
			*w++ = c;
	}
	*w = '\0';
	return out;
}

/* Columns a string takes: one per UTF-8 character. */
static size_t
dwidth(const char *s)
{
	size_t n = 0;

	for (; *s != '\0'; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			n++;
	return n;
}

static void
free_row(char **r)
{
	char **p;

	for (p = r; *p != NULL; p++)
		free(*p);
	free(r);
}

static char **
make_row(char **f, int n)
{
	char **r = xcalloc(n + 1, sizeof(*r));
	int i;

	for (i = 0; i < n; i++)
		r[i] = display(f[i]);
	return r;
}

static int
is_numeric(int i)
{
	return i < tb.ncols && tb.cols[i].numeric;
}

static void
print_row(char **r, const size_t *width)
{
	size_t w;
	int i;

	for (i = 0; r[i] != NULL; i++) {
		if (width == NULL) {
			printf("%s%s", i ? "\t" : "", r[i]);
			continue;
		}
		if (i > 0)
			fputs("  ", stdout);
		w = dwidth(r[i]);
		if (is_numeric(i))
			printf("%*s%s", (int)(width[i] - w), "", r[i]);
		else if (r[i + 1] != NULL)
			printf("%s%*s", r[i], (int)(width[i] - w), "");
		else
			fputs(r[i], stdout);
	}
	putchar('\n');
}

static char **
header_row(void)
{
	char **h = xcalloc(tb.ncols + 1, sizeof(*h));
	int i;

	for (i = 0; i < tb.ncols; i++)
		h[i] = xstrdup(tb.cols[i].name);
	return h;
}

/* Widths over the header and rows; n is the widest row. */
static size_t *
widths(size_t n)
{
	size_t *w = xcalloc(n + 1, sizeof(*w)), i, k;

	for (k = 0; k < (size_t)tb.ncols; k++)
		w[k] = dwidth(tb.cols[k].name);
	for (i = 0; i < tb.nrows; i++)
		for (k = 0; tb.rows[i][k] != NULL; k++)
			if (dwidth(tb.rows[i][k]) > w[k])
				w[k] = dwidth(tb.rows[i][k]);
	return w;
}

/* Print the held table (terminal only) and forget it. */
static void
flush_table(void)
{
	size_t i, k, maxn = tb.ncols, *w;
	char **h;

	for (i = 0; i < tb.nrows; i++) {
		for (k = 0; tb.rows[i][k] != NULL; k++)
			;
		if (k > maxn)
			maxn = k;
	}
	if (tb.nrows > 0) {
		w = widths(maxn);
		if (tb.ncols > 0) {
			h = header_row();
			print_row(h, w);
			free_row(h);
		}
		for (i = 0; i < tb.nrows; i++)
			print_row(tb.rows[i], w);
		free(w);
	}
	for (i = 0; i < tb.nrows; i++)
		free_row(tb.rows[i]);
	tb.nrows = 0;
}

static void
clear_columns(void)
{
	int i;

	for (i = 0; i < tb.ncols; i++)
		free(tb.cols[i].name);
	free(tb.cols);
	tb.cols = NULL;
	tb.ncols = 0;
	tb.hdr_out = 0;
}

static void
text_begin(struct ctl *ctl, const char *cmd)
{
	(void)ctl;
	(void)cmd;
	flush_table();
	clear_columns();
}

static void
text_columns(struct ctl *ctl, char **names, int n)
{
	int i;
	size_t l;
	char *p;

	(void)ctl;
	flush_table();
	clear_columns();
	tb.cols = xcalloc(n, sizeof(*tb.cols));
	tb.ncols = n;
	for (i = 0; i < n; i++) {
		tb.cols[i].name = display(names[i]);
		l = strlen(tb.cols[i].name);
		if (l > 0 && tb.cols[i].name[l - 1] == '#') {
			tb.cols[i].name[l - 1] = '\0';
			tb.cols[i].numeric = 1;
		}
		for (p = tb.cols[i].name; *p != '\0'; p++)
			*p = toupper((unsigned char)*p);
		tb.cols[i].width = dwidth(tb.cols[i].name);
	}
}

/* Piped: the header once, before the first row. */
static void
piped_header(struct ctl *ctl)
{
	char **h;

	if (tb.hdr_out || tb.ncols == 0 || ctl->noheader)
		return;
	h = header_row();
	print_row(h, NULL);
	free_row(h);
	tb.hdr_out = 1;
}

static void
text_row(struct ctl *ctl, char **f, int n)
{
	char **r = make_row(f, n);

	if (!ctl->tty) {
		piped_header(ctl);
		print_row(r, NULL);
		free_row(r);
		return;
	}
	if (tb.nrows == tb.cap) {
		tb.cap = tb.cap ? tb.cap * 2 : 64;
		tb.rows = xrealloc(tb.rows, tb.cap * sizeof(*tb.rows));
	}
	tb.rows[tb.nrows++] = r;
}

/* Streamed, so a terminal gets the header once and widths that only grow:
 * alignment is best effort, latency is not. */
static void
text_trace(struct ctl *ctl, char **f, int n)
{
	char **r = make_row(f, n), **h;
	size_t *w;
	int i;

	if (!ctl->tty) {
		piped_header(ctl);
		print_row(r, NULL);
		goto out;
	}
	w = xcalloc(n > tb.ncols ? n : tb.ncols, sizeof(*w));
	for (i = 0; i < tb.ncols; i++) {
		if (i < n && dwidth(r[i]) > tb.cols[i].width)
			tb.cols[i].width = dwidth(r[i]);
		w[i] = tb.cols[i].width;
	}
	for (; i < n; i++)
		w[i] = dwidth(r[i]);
	if (!tb.hdr_out && tb.ncols > 0) {
		h = header_row();
		print_row(h, w);
		free_row(h);
		tb.hdr_out = 1;
	}
	print_row(r, w);
	free(w);
out:
	free_row(r);
	fflush(stdout);
}

/* "+ route add ^a\.$ pool web" and, for a route, "(the route as it was)". */
static void
text_change(struct ctl *ctl, char **f, int n)
{
	char *op, *cmd, *detail = NULL;

	(void)ctl;
	flush_table();
	if (n < 2)
		return;
	op = display(f[0]);
	cmd = display(f[1]);
	if (n > 2 && f[2] != ctl_null)
		detail = display(f[2]);
	printf("%s %s%s%s%s\n", op, cmd, detail ? " (" : "",
	    detail ? detail : "", detail ? ")" : "");
	free(op);
	free(cmd);
	free(detail);
}

/* Free text is printed as sent, but never raw control bytes to a tty. */
static void
text_text(struct ctl *ctl, const char *line)
{
	char *d;

	flush_table();
	if (ctl->tty) {
		d = display(line);
		puts(d);
		free(d);
	} else
		puts(line);
}

static void
text_notice(struct ctl *ctl, const char *line)
{
	char *d;

	flush_table();
	if (ctl->quiet)
		return;
	fflush(stdout);
	d = display(line);
	fprintf(stderr, "dnsroutectl: %s\n", d);
	free(d);
}

/* The first line after where, the others (a usage) as they are. */
static void
print_error(const char *where, const char *msg)
{
	const char *p = msg, *nl;
	char *line, *d;
	int first = 1;

	for (;;) {
		nl = strchr(p, '\n');
		line = xmalloc((nl ? (size_t)(nl - p) : strlen(p)) + 1);
		memcpy(line, p, nl ? (size_t)(nl - p) : strlen(p));
		line[nl ? (size_t)(nl - p) : strlen(p)] = '\0';
		d = display(line);
		if (first)
			fprintf(stderr, "%s: %s\n", where, d);
		else
			fprintf(stderr, "%s\n", d);
		free(d);
		free(line);
		if (nl == NULL)
			break;
		first = 0;
		p = nl + 1;
	}
}

static void
text_done(struct ctl *ctl, int code, const char *msg, const char *where)
{
	char *d;

	flush_table();
	clear_columns();
	d = display(msg);
	if (!CTL_CODE_IS_ERROR(code) && code != CTL_CODE_CLIENT) {
		if (!ctl->quiet && *d != '\0' && strcmp(d, "ok") != 0)
			puts(d);
	} else {
		fflush(stdout);
		if (*msg == '\0')
			fprintf(stderr, "%s: command failed (code %d)\n",
			    where ? where : "dnsroutectl", code);
		else
			print_error(where ? where : "dnsroutectl", msg);
	}
	free(d);
	fflush(stdout);
}

const struct ctl_output output_text = {
	text_begin, text_columns, text_row, text_trace, text_change,
	text_text, text_notice, text_done
};

/*
 * output_json: the --json renderer.  Each command ends in exactly one JSON
 * document on stdout, written when its final line arrives:
 *
 *   {"command":"...","ok":true,"message":"...","columns":[...],
 *    "rows":[{column:value,...}],"text":[...],"notices":[...]}
 *   {"command":"...","ok":false,"code":8000,"error":"..."[,"where":"F:L"]
 *    [,"columns":[...],"rows":[...]]}
 *
 * (A failure carries rows when the command had found some before it
 * failed: zone check's findings.)
 * code is null when the failure was on this side (no daemon, protocol
 * error).  Trace lines are streamed before it, one object per line (JSON
 * Lines).  Column names lose their '#'; the values of such numeric columns
 * are JSON numbers when they are integers, null for "-" or empty, strings
 * otherwise.  Every string is valid JSON: control bytes are \u-escaped and
 * bytes that are not UTF-8 become U+FFFD.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctlproto.h"
#include "util.h"
#include "ctl.h"

struct jbuf {
	char	*s;
	size_t	 len, cap;
};

static struct {
	char		*cmd;
	char	       **key;		/* current columns, '#' dropped */
	int		*num;
	int		 nkey;
	char	       **all;		/* every column seen */
	int		 nall;
	struct jbuf	 rows, text, notices;
} js;

static void
jb_add(struct jbuf *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		while (b->len + n + 1 > b->cap)
			b->cap = b->cap ? b->cap * 2 : 256;
		b->s = xrealloc(b->s, b->cap);
	}
	memcpy(b->s + b->len, s, n);
	b->len += n;
	b->s[b->len] = '\0';
}

static void
jb_puts(struct jbuf *b, const char *s)
{
	jb_add(b, s, strlen(s));
}

/* Length of the valid UTF-8 sequence at s, or 0. */
static size_t
utf8_len(const unsigned char *s)
{
	unsigned char c = s[0], lo = 0x80, hi = 0xbf;
	size_t n, i;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		n = 2;
	else if (c >= 0xe0 && c <= 0xef) {
		n = 3;
		if (c == 0xe0)
			lo = 0xa0;
		else if (c == 0xed)
			hi = 0x9f;	/* no surrogates */
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 4;
		if (c == 0xf0)
			lo = 0x90;
		else if (c == 0xf4)
			hi = 0x8f;	/* nothing past U+10FFFF */
	} else
		return 0;
	if (s[1] < lo || s[1] > hi)
		return 0;
	for (i = 2; i < n; i++)
		if (s[i] < 0x80 || s[i] > 0xbf)
			return 0;
	return n;
}

static void
jb_str(struct jbuf *b, const char *str)
{
	const unsigned char *s = (const unsigned char *)str;
	char esc[8];
	size_t n;

	jb_add(b, "\"", 1);
	while (*s != '\0') {
		switch (*s) {
		case '"':
			jb_puts(b, "\\\"");
			break;
		case '\\':
			jb_puts(b, "\\\\");
			break;
		case '\n':
			jb_puts(b, "\\n");
			break;
		case '\r':
			jb_puts(b, "\\r");
			break;
		case '\t':
			jb_puts(b, "\\t");
			break;
		default:
			if (*s < 0x20 || *s == 0x7f) {
				snprintf(esc, sizeof(esc), "\\u%04x", *s);
				jb_puts(b, esc);
			} else if ((n = utf8_len(s)) == 0)
				jb_puts(b, "\\ufffd");
			else {
				jb_add(b, (const char *)s, n);
				s += n;
				continue;
			}
			break;
		}
		s++;
	}
	jb_add(b, "\"", 1);
}

/* An integer as a JSON number (no leading zeros); 0 if s is not one. */
static int
jb_int(struct jbuf *b, const char *s)
{
	const char *p = s, *q;

	if (*p == '-')
		p++;
	if (*p == '\0')
		return 0;
	for (q = p; *q != '\0'; q++)
		if (*q < '0' || *q > '9')
			return 0;
	while (p[0] == '0' && p[1] != '\0')
		p++;
	if (*s == '-')
		jb_add(b, "-", 1);
	jb_puts(b, p);
	return 1;
}

static void
jb_object(struct jbuf *b, char **f, int n)
{
	char name[32];
	int i;

	jb_add(b, "{", 1);
	for (i = 0; i < n; i++) {
		if (i > 0)
			jb_add(b, ",", 1);
		if (i < js.nkey)
			jb_str(b, js.key[i]);
		else {
			snprintf(name, sizeof(name), "field%d", i + 1);
			jb_str(b, name);
		}
		jb_add(b, ":", 1);
		if (f[i] == ctl_null)
			jb_puts(b, "null");
		else if (i < js.nkey && js.num[i]) {
			if (strcmp(f[i], "-") == 0 || f[i][0] == '\0')
				jb_puts(b, "null");
			else if (!jb_int(b, f[i]))
				jb_str(b, f[i]);
		} else
			jb_str(b, f[i]);
	}
	jb_add(b, "}", 1);
}

static void
jb_list(struct jbuf *b, const char *s)
{
	if (b->len > 0)
		jb_add(b, ",", 1);
	jb_str(b, s);
}

static void
clear_keys(void)
{
	int i;

	for (i = 0; i < js.nkey; i++)
		free(js.key[i]);
	free(js.key);
	free(js.num);
	js.key = NULL;
	js.num = NULL;
	js.nkey = 0;
}

static void
json_begin(struct ctl *ctl, const char *cmd)
{
	int i;

	(void)ctl;
	clear_keys();
	for (i = 0; i < js.nall; i++)
		free(js.all[i]);
	free(js.all);
	js.all = NULL;
	js.nall = 0;
	free(js.cmd);
	js.cmd = xstrdup(cmd);
	js.rows.len = js.text.len = js.notices.len = 0;
}

static void
json_columns(struct ctl *ctl, char **names, int n)
{
	size_t l;
	int i, k;

	(void)ctl;
	clear_keys();
	js.key = xcalloc(n, sizeof(*js.key));
	js.num = xcalloc(n, sizeof(*js.num));
	js.nkey = n;
	for (i = 0; i < n; i++) {
		js.key[i] = xstrdup(names[i]);
		l = strlen(js.key[i]);
		if (l > 0 && js.key[i][l - 1] == '#') {
			js.key[i][l - 1] = '\0';
			js.num[i] = 1;
		}
		for (k = 0; k < js.nall; k++)
			if (strcmp(js.all[k], js.key[i]) == 0)
				break;
		if (k == js.nall) {
			js.all = xrealloc(js.all, (js.nall + 1) *
			    sizeof(*js.all));
			js.all[js.nall++] = xstrdup(js.key[i]);
		}
	}
}

static void
json_row(struct ctl *ctl, char **f, int n)
{
	(void)ctl;
	if (js.rows.len > 0)
		jb_add(&js.rows, ",", 1);
	jb_object(&js.rows, f, n);
}

static void
json_trace(struct ctl *ctl, char **f, int n)
{
	struct jbuf b = { NULL, 0, 0 };

	(void)ctl;
	jb_object(&b, f, n);
	printf("%s\n", b.s);
	fflush(stdout);
	free(b.s);
}

static void
json_text(struct ctl *ctl, const char *line)
{
	(void)ctl;
	jb_list(&js.text, line);
}

static void
json_notice(struct ctl *ctl, const char *line)
{
	(void)ctl;
	jb_list(&js.notices, line);
}

/* ,"columns":[...],"rows":[...] */
static void
jb_rows(struct jbuf *b)
{
	int i;

	jb_puts(b, ",\"columns\":[");
	for (i = 0; i < js.nall; i++) {
		if (i > 0)
			jb_add(b, ",", 1);
		jb_str(b, js.all[i]);
	}
	jb_puts(b, "],\"rows\":[");
	jb_add(b, js.rows.s ? js.rows.s : "", js.rows.len);
	jb_puts(b, "]");
}

static void
json_done(struct ctl *ctl, int code, const char *msg, const char *where)
{
	struct jbuf b = { NULL, 0, 0 };
	char num[32];

	(void)ctl;
	jb_puts(&b, "{\"command\":");
	jb_str(&b, js.cmd ? js.cmd : "");
	if (!CTL_CODE_IS_ERROR(code) && code != CTL_CODE_CLIENT) {
		jb_puts(&b, ",\"ok\":true,\"message\":");
		jb_str(&b, msg);
		jb_rows(&b);
		jb_puts(&b, ",\"text\":[");
		jb_add(&b, js.text.s ? js.text.s : "", js.text.len);
		jb_puts(&b, "],\"notices\":[");
		jb_add(&b, js.notices.s ? js.notices.s : "", js.notices.len);
		jb_puts(&b, "]}");
	} else {
		if (code == CTL_CODE_CLIENT)
			snprintf(num, sizeof(num), "null");
		else
			snprintf(num, sizeof(num), "%d", code);
		jb_puts(&b, ",\"ok\":false,\"code\":");
		jb_puts(&b, num);
		jb_puts(&b, ",\"error\":");
		jb_str(&b, msg);
		if (where != NULL) {
			jb_puts(&b, ",\"where\":");
			jb_str(&b, where);
		}
		if (js.rows.len > 0)
			jb_rows(&b);
		jb_puts(&b, "}");
		/* People read stderr; programs read the document. */
		fprintf(stderr, "%s: %s\n", where ? where : "dnsroutectl",
		    msg);
	}
	printf("%s\n", b.s);
	fflush(stdout);
	free(b.s);
}

/* A change (replace) is a row: op, command, detail, line. */
const struct ctl_output output_json = {
	json_begin, json_columns, json_row, json_trace, json_row, json_text,
	json_notice, json_done
};

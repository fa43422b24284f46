/*
 * tokenize: the one word splitter for the command language (see
 * tokenize.h for the rules).  tok_split() copies the words into one buffer
 * that t->buf owns; tok_quote() is its inverse for a single word, so for any
 * word w, tok_split(tok_quote(w)) gives back w.  Blanks are space, tab, CR,
 * LF, VT and FF; every other byte, control bytes and UTF-8 included, is an
 * ordinary character.
 *
 * The completion fields are kept even when tok_split() fails on an
 * unterminated quote: open_quote is then 1 and last_word_start says where
 * the quoted word began, so the shell can decline to complete inside it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tokenize.h"
#include "util.h"

/* What argv points to when it owns nothing (failure, tok_free). */
static char *tok_noargs[1];

static int
tok_blank(int c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' ||
	    c == '\f';
}

int
tok_split(const char *line, struct tok_line *t, char *err, size_t errlen)
{
	size_t len = strlen(line), i = 0;
	char *out;
	int inword = 0, cap = 16;

	memset(t, 0, sizeof(*t));
	t->argv = xcalloc(cap + 1, sizeof(*t->argv));
	/* A word never grows: each byte of output costs a byte of input,
	 * plus one NUL per word. */
	t->buf = out = xmalloc(2 * len + 2);
	t->buflen = 2 * len + 2;
	t->last_word_start = len;
	t->ends_in_blank = 1;

	while (i < len) {
		unsigned char c = line[i];

		if (tok_blank(c)) {
			if (inword) {
				*out++ = '\0';
				inword = 0;
			}
			t->ends_in_blank = 1;
			i++;
			continue;
		}
		if (!inword) {
			if (c == '#')
				break;		/* comment to the end */
			if (t->argc == TOK_MAX_WORDS) {
				snprintf(err, errlen,
				    "too many words (at most %d)",
				    TOK_MAX_WORDS);
				goto fail;
			}
			if (t->argc == cap) {
				cap *= 2;
				t->argv = xrealloc(t->argv,
				    (cap + 1) * sizeof(*t->argv));
			}
			t->argv[t->argc++] = out;
			t->last_word_start = i;
			t->ends_in_blank = 0;
			inword = 1;
		}
		if (c == '\'') {
			const char *e = strchr(line + i + 1, '\'');

			if (e == NULL)
				goto open;
			memcpy(out, line + i + 1, e - (line + i + 1));
			out += e - (line + i + 1);
			i = e - line + 1;
		} else if (c == '"') {
			for (i++; i < len && line[i] != '"'; i++) {
				if (line[i] == '\\' && i + 1 < len &&
				    (line[i + 1] == '"' || line[i + 1] == '\\'))
					i++;
				*out++ = line[i];
			}
			if (i >= len)
				goto open;
			i++;
		} else {
			*out++ = c;
			i++;
		}
	}
	if (inword)
		*out = '\0';
	t->argv[t->argc] = NULL;
	return 0;

open:
	snprintf(err, errlen, "unterminated quote");
	t->open_quote = 1;
fail:
	tok_free(t);
	return -1;
}

void
tok_free(struct tok_line *t)
{
	if (t == NULL)
		return;
	/* The words may hold a secret (key add): wiped, not just freed. */
	if (t->buf != NULL)
		explicit_bzero(t->buf, t->buflen);
	free(t->buf);
	if (t->argv != tok_noargs)
		free(t->argv);
	t->buf = NULL;
	t->buflen = 0;
	t->argc = 0;
	t->argv = tok_noargs;
}

int
tok_quote(const char *s, char *out, size_t outlen)
{
	size_t n = 0, need;
	const char *p;
	int plain = (*s != '\0' && *s != '#'), squote = 0;

	for (p = s; *p != '\0'; p++) {
		if (tok_blank((unsigned char)*p) || *p == '"')
			plain = 0;
		else if (*p == '\'') {
			plain = 0;
			squote = 1;
		}
	}
	if (plain) {
		need = strlen(s);
		if (need + 1 > outlen)
			return -1;
		memcpy(out, s, need + 1);
		return (int)need;
	}
	if (!squote) {
		/* 'single quotes' keep everything but a single quote. */
		need = strlen(s) + 2;
		if (need + 1 > outlen)
			return -1;
		out[0] = '\'';
		memcpy(out + 1, s, need - 2);
		out[need - 1] = '\'';
		out[need] = '\0';
		return (int)need;
	}
	/* "double quotes", escaping the two characters that need it. */
	if (outlen < 3)
		return -1;
	out[n++] = '"';
	for (p = s; *p != '\0'; p++) {
		if (*p == '"' || *p == '\\') {
			if (n + 1 >= outlen)
				return -1;
			out[n++] = '\\';
		}
		if (n + 1 >= outlen)
			return -1;
		out[n++] = *p;
	}
	if (n + 2 > outlen)
		return -1;
	out[n++] = '"';
	out[n] = '\0';
	return (int)n;
}

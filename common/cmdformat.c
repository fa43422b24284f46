/*
 * cmdformat: struct cmd back to a command line, and what two commands
 * share: cmd_format, cmd_bit, cmd_merge and cmd_diff (see cmdtab.h), by
 * the same flattened grammar the parser walks (cmdgrammar.h), so what is
 * printed always parses back to the same command.
 */
#include <ctype.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmdgrammar.h"
#include "cmdtab.h"
#include "ctlproto.h"
#include "dnsmsg.h"
#include "dnsnames.h"
#include "util.h"
#include "words.h"

struct out {
	char	*s;
	size_t	 len, cap;
	int	 full;
	int	 redact;	/* secrets as "(secret)" */
};

static void
out_word(struct out *o, const char *w, int quote)
{
	char q[CTL_LINE_MAX];
	size_t n;

	/* A word that needs no quoting is copied once, straight to the
	 * line: formatting is a good part of each change a replace reports
	 * and audits. */
	if (quote) {
		if (tok_quote(w, q, sizeof(q)) == -1) {
			o->full = 1;
			return;
		}
		w = q;
	}
	n = strlen(w);
	if (n >= sizeof(q) || o->len + n + 2 > o->cap) {
		o->full = 1;
		return;
	}
	if (o->len > 0)
		o->s[o->len++] = ' ';
	memcpy(o->s + o->len, w, n + 1);
	o->len += n;
}

static void
out_value(struct out *o, const struct cmd_arg *a, const void *base)
{
	const void *p = arg_field(base, a);
	const char *s;
	char buf[64];
	int v;

	if (o->redact && a->kind == K_SECRET) {
		out_word(o, "(secret)", 0);
		return;
	}
	switch (a->store) {
	case S_PTR:
		out_word(o, *(const char *const *)p, 1);
		return;
	case S_STR:
		out_word(o, p, 1);
		return;
	case S_I64:
		snprintf(buf, sizeof(buf), "%lld",
		    (long long)*(const int64_t *)p);
		out_word(o, buf, 0);
		return;
	default:
		break;
	}
	v = *(const int *)p;
	switch (a->kind) {
	case K_SECONDS:
		snprintf(buf, sizeof(buf), "%dms", v);
		s = buf;
		break;
	case K_WORD:
		s = words_name(a->words, v);
		break;
	case K_WORDSET:
		words_set_format(a->words, (unsigned)v, buf, sizeof(buf));
		s = buf;
		break;
	case K_QTYPE:
	case K_QFILTER:
		s = v == 0 ? "-" : dnsname_type_str(v, buf, sizeof(buf));
		break;
	case K_QCLASS:
		s = dnsname_class_str(v, buf, sizeof(buf));
		break;
	case K_RCODE:
		s = v < 0 ? "any" : dnsname_rcode_str(v, buf, sizeof(buf));
		break;
	default:
		snprintf(buf, sizeof(buf), "%d", v);
		s = buf;
		break;
	}
	out_word(o, s, 0);
}

/* Is there a value to print (a NULL or empty address or name is none)? */
static int
has_value(const struct cmd_arg *a, const void *base)
{
	if (a->store == S_PTR)
		return *(const char *const *)arg_field(base, a) != NULL;
	if (a->store == S_WORDS)
		return arg_count(base, a) > 0;
	if (a->store == S_STR)
		return *(const char *)arg_field(base, a) != '\0';
	return 1;
}

static int
format(const struct cmd *c, uint64_t mask, int redact, char *buf,
    size_t buflen)
{
	const struct grammar *g;
	struct out o = { buf, 0, buflen, 0, redact };
	const void *base = &c->a;
	int i, k, end, n;

	if (buflen == 0)
		return -1;
	buf[0] = '\0';
	out_word(&o, c->spec->words, 0);
	g = cmd_grammar(c->spec);
	for (i = 0; i < g->n; i = end) {
		const struct cmd_arg *a = g->a[i];

		end = grammar_group_end(g, i);
		if (!(mask >> i & 1))
			continue;
		if (!has_value(a, base)) {
			/* A string set to none ("key -") says so. */
			if (a->form == A_OPT && a->store == S_STR &&
			    (a->flags & ARG_F_DASH)) {
				out_word(&o, a->key, 0);
				out_word(&o, "-", 0);
			}
			continue;
		}
		switch (a->form) {
		case A_POS:
			if (a->store == S_PTRV || a->store == S_WORDS) {
				n = arg_count(base, a);
				for (k = 0; k < n; k++)
					out_word(&o, arg_word(base, a, k), 1);
			} else
				out_value(&o, a, base);
			break;
		case A_FLAG:
			if (arg_int(base, a))
				out_word(&o, a->key, 0);
			break;
		case A_CHOICE:
			out_value(&o, a, base);
			if (arg_int(base, a) == a->valfor && end > i + 1)
				out_value(&o, g->a[i + 1], base);
			break;
		case A_OPT:
			if (a->store == S_PTRV) {
				n = arg_count(base, a);
				for (k = 0; k < n; k++) {
					out_word(&o, a->key, 0);
					out_word(&o, ((const char *const *)
					    arg_field(base, a))[k], 1);
				}
				if (n == 0 && (a->flags & ARG_F_DASH)) {
					out_word(&o, a->key, 0);
					out_word(&o, "-", 0);
				}
				break;
			}
			out_word(&o, a->key, 0);
			out_value(&o, a, base);
			/* Its other values, as far as they were given
			 * ("check QNAME" leaves the type as it was). */
			for (k = i + 1; k < end && (mask >> k & 1); k++)
				out_value(&o, g->a[k], base);
			break;
		default:
			break;
		}
	}
	return o.full ? -1 : (int)o.len;
}

int
cmd_format(const struct cmd *c, uint64_t mask, char *buf, size_t buflen)
{
	return format(c, mask, 0, buf, buflen);
}

int
cmd_format_safe(const struct cmd *c, uint64_t mask, char *buf,
    size_t buflen)
{
	return format(c, mask, 1, buf, buflen);
}

int
cmd_has_secret(const struct cmd_spec *cs)
{
	const struct grammar *g = cmd_grammar(cs);
	int i;

	for (i = 0; i < g->n; i++)
		if (g->a[i]->kind == K_SECRET)
			return 1;
	return 0;
}

uint64_t
cmd_bit(const struct cmd_spec *cs, const char *key)
{
	const struct grammar *g;
	int i;

	g = cmd_grammar(cs);
	for (i = 0; i < g->n; i++)
		if (g->a[i]->key != NULL && strcmp(g->a[i]->key, key) == 0)
			return (uint64_t)1 << i;
	return 0;
}

void
cmd_merge(const struct cmd_spec *cs, void *dst, const void *src,
    uint64_t mask)
{
	const struct grammar *g;
	int i;

	g = cmd_grammar(cs);
	for (i = 0; i < g->n; i++) {
		const struct cmd_arg *a = g->a[i];

		if (!(mask >> i & 1))
			continue;
		memcpy(arg_field(dst, a), arg_field(src, a), a->size);
		if (a->store == S_PTRV || a->store == S_WORDS)
			memcpy((char *)dst + a->off2, (const char *)src +
			    a->off2, sizeof(int));
	}
}

static int
in_vector(const char *const *v, int n, const char *s)
{
	int i;

	for (i = 0; i < n; i++)
		if (strcmp(v[i], s) == 0)
			return 1;
	return 0;
}

/* Do a and b hold the same value for entry e? */
static int
same(const struct cmd_arg *e, const void *a, const void *b)
{
	const void *x = arg_field(a, e), *y = arg_field(b, e);
	const char *s, *t;
	int n, m, i;

	switch (e->store) {
	case S_PTR:
		s = *(const char *const *)x;
		t = *(const char *const *)y;
		return s == t || (s != NULL && t != NULL && strcmp(s, t) == 0);
	case S_STR:
		return strcmp(x, y) == 0;
	case S_INT:
		return *(const int *)x == *(const int *)y;
	case S_I64:
		return *(const int64_t *)x == *(const int64_t *)y;
	case S_PTRV:
		/* Sets: the order they were given in does not matter. */
		n = *(const int *)((const char *)a + e->off2);
		m = *(const int *)((const char *)b + e->off2);
		if (n != m)
			return 0;
		for (i = 0; i < n; i++)
			if (!in_vector(y, m, ((const char *const *)x)[i]))
				return 0;
		return 1;
	case S_WORDS:
		/* In order: they are words of a line. */
		n = arg_count(a, e);
		if (n != arg_count(b, e))
			return 0;
		for (i = 0; i < n; i++)
			if (strcmp(arg_word(a, e, i), arg_word(b, e, i)) != 0)
				return 0;
		return 1;
	default:
		return 1;
	}
}

uint64_t
cmd_diff(const struct cmd_spec *cs, const void *a, const void *b)
{
	const struct grammar *g;
	uint64_t mask = 0;
	int i, k, end, differ;

	g = cmd_grammar(cs);
	for (i = 0; i < g->n; i = end) {
		end = grammar_group_end(g, i);
		for (k = i, differ = 0; k < end && !differ; k++)
			differ = !same(g->a[k], a, b);
		if (differ)
			for (k = i; k < end; k++)
				mask |= (uint64_t)1 << k;
	}
	return mask;
}

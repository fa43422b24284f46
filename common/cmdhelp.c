/*
 * cmdhelp: what the command table tells a person: usage lines generated
 * from each grammar, `help` in its three forms (the list, a group such as
 * "help route", one command), and tab completion.  dnsrouted answers
 * `help` with these lines and dnsroutectl prints the same lines without
 * the daemon, so help reads one way wherever it is asked.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "cmdtab.h"
#include "dnsnames.h"
#include "settings.h"
#include "words.h"

#define USAGE_WIDTH	80

/* ---- usage ---- */

struct ubuf {
	char	*s;
	size_t	 len, cap;
};

static void
ub_add(struct ubuf *b, const char *s)
{
	size_t n = strlen(s);

	if (b->len + n + 1 > b->cap)
		n = b->cap > b->len + 1 ? b->cap - b->len - 1 : 0;
	memcpy(b->s + b->len, s, n);
	b->len += n;
	b->s[b->len] = '\0';
}

/* A value as usage shows it: META, alternatives of words, |alt, |-. */
static void
ub_value(struct ubuf *b, const struct cmd_arg *a)
{
	int i, first = 1;

	if (a->meta != NULL)
		ub_add(b, a->meta);
	else if (a->words != NULL)
		for (i = 0; i < a->words->n; i++) {
			if (!words_offered(a->words, i))
				continue;
			if (!first)
				ub_add(b, "|");
			ub_add(b, a->words->w[i]);
			first = 0;
		}
	if (a->alt != NULL) {
		ub_add(b, "|");
		ub_add(b, a->alt);
	}
	if (a->flags & ARG_F_DASH)
		ub_add(b, "|-");
}

/* One item of the usage at g[i] (with its A_MORE values) into b; returns
 * the index past it. */
static int
item(const struct cmd_arg *const *g, int n, int i, struct ubuf *b)
{
	const struct cmd_arg *a = g[i];
	int k, end, opt = 0, w;

	for (end = i + 1; end < n && g[end]->form == A_MORE; end++)
		;
	switch (a->form) {
	case A_POS:
		if (a->flags & ARG_F_OPT)
			ub_add(b, "[");
		ub_value(b, a);
		if (a->flags & ARG_F_OPT)
			ub_add(b, "]");
		break;
	case A_FLAG:
		ub_add(b, "[");
		ub_add(b, a->key);
		ub_add(b, "]");
		break;
	case A_CHOICE:
		ub_add(b, a->flags & ARG_F_REQ ? "(" : "[");
		for (w = 0; w < a->words->n; w++) {
			if (w > 0)
				ub_add(b, " | ");
			ub_add(b, a->words->w[w]);
			if (w == a->valfor && end > i + 1) {
				ub_add(b, " ");
				ub_value(b, g[i + 1]);
			}
		}
		ub_add(b, a->flags & ARG_F_REQ ? ")" : "]");
		break;
	case A_OPT:
		if (!(a->flags & ARG_F_REQ))
			ub_add(b, "[");
		ub_add(b, a->key);
		ub_add(b, " ");
		ub_value(b, a);
		for (k = i + 1; k < end; k++) {
			ub_add(b, g[k]->flags & ARG_F_OPT ? " [" : " ");
			opt += (g[k]->flags & ARG_F_OPT) != 0;
			ub_value(b, g[k]);
		}
		while (opt-- > 0)
			ub_add(b, "]");
		if (!(a->flags & ARG_F_REQ))
			ub_add(b, "]");
		if (a->flags & ARG_F_REPEAT)
			ub_add(b, "...");
		break;
	default:
		break;
	}
	return end;
}

static void
flat(const struct cmd_arg *args, const struct cmd_arg **g, int *n, int max)
{
	for (; args != NULL && args->form != A_END; args++) {
		if (args->form == A_INCLUDE)
			flat(args->sub, g, n, max);
		else if (*n < max)
			g[(*n)++] = args;
	}
}

void
cmd_usage(const struct cmd_spec *cs, int indent, char *out, size_t outlen)
{
	const struct cmd_arg *g[64];
	struct ubuf b = { out, 0, outlen };
	char it[1024];
	size_t col, lead = strlen(cs->words) + 1;
	int n = 0, i = 0, k;

	if (outlen == 0)
		return;
	out[0] = '\0';
	ub_add(&b, cs->words);
	col = strlen(cs->words);
	flat(cs->args, g, &n, 64);
	while (i < n) {
		struct ubuf ib = { it, 0, sizeof(it) };

		it[0] = '\0';
		i = item(g, n, i, &ib);
		if (col + 1 + ib.len > USAGE_WIDTH && col > lead) {
			ub_add(&b, "\n");
			for (k = 0; k < (int)lead - 1 + indent; k++)
				ub_add(&b, " ");
			col = lead - 1;
		}
		ub_add(&b, " ");
		ub_add(&b, it);
		col += 1 + ib.len;
	}
}

/* ---- help ---- */

struct emitter {
	void	(*emit)(void *, const char *);
	void	*arg;
};

static void
emitf(struct emitter *e, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
emitf(struct emitter *e, const char *fmt, ...)
{
	char line[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	e->emit(e->arg, line);
}

/* Emit text line by line, the first with first, the others with rest. */
static void
emit_lines(struct emitter *e, const char *first, const char *rest,
    const char *text)
{
	const char *p = text, *nl;
	int lineno = 0;

	for (;;) {
		nl = strchr(p, '\n');
		emitf(e, "%s%.*s", lineno++ ? rest : first,
		    nl ? (int)(nl - p) : (int)strlen(p), p);
		if (nl == NULL)
			break;
		p = nl + 1;
	}
}

/* What each word of an option means, from its word table: "policy:"
 * and a line per word an operator may give. */
static void
help_words(struct emitter *e, const struct cmd_spec *cs)
{
	const struct cmd_arg *g[64];
	const struct words *ws;
	int n = 0, i, v, w;

	flat(cs->args, g, &n, 64);
	for (i = 0; i < n; i++) {
		if ((ws = g[i]->words) == NULL || ws->help == NULL)
			continue;
		for (v = 0, w = 0; v < ws->n; v++)
			if ((int)strlen(ws->w[v]) > w)
				w = (int)strlen(ws->w[v]);
		if (g[i]->kind == K_WORDSET)
			emitf(e, "%s (one or more, joined by commas):",
			    g[i]->key);
		else
			emitf(e, "%s:", g[i]->key != NULL ? g[i]->key :
			    g[i]->meta);
		for (v = 0; v < ws->n; v++)
			if (words_offered(ws, v))
				emitf(e, "  %-*s  %s", w, ws->w[v],
				    ws->help[v]);
	}
}

static void
help_detail(struct emitter *e, const struct cmd_spec *cs)
{
	char usage[4096];
	size_t i;
	int w = 0;

	cmd_usage(cs, 0, usage, sizeof(usage));
	emit_lines(e, "usage: ", "       ", usage);
	emitf(e, "%s", cs->help);
	emitf(e, "example: %s", cs->example);
	help_words(e, cs);
	if (cs->id == CMD_SET) {
		for (i = 0; i < setting_table_len; i++)
			if ((int)strlen(setting_table[i].name) > w)
				w = (int)strlen(setting_table[i].name);
		emitf(e, "settings (default):");
		for (i = 0; i < setting_table_len; i++)
			emitf(e, "  %-*s %s (%s)", w, setting_table[i].name,
			    setting_table[i].help, setting_table[i].defval);
	}
}

int
cmd_help_lines(int argc, char *const argv[], void (*emit)(void *, const char *),
    void *arg, char *err, size_t errlen)
{
	const struct cmd_spec *match[CMD__COUNT], *cs = NULL;
	struct emitter e = { emit, arg };
	char usage[4096], word[64];
	size_t i;
	int nmatch = 0, k, nw, exact;

	for (i = 0; i < cmd_table_len; i++)
		if (cmd_abbreviates(&cmd_table[i], argc, argv))
			match[nmatch++] = &cmd_table[i];
	if (nmatch == 1)
		cs = match[0];
	/* "help set": set, not every command starting with "s". */
	for (i = 0; argc > 0 && cs == NULL && i < (size_t)nmatch; i++) {
		if (cmd_nwords(match[i]) != argc)
			continue;
		for (k = 0, exact = 1; k < argc && exact; k++)
			exact = cmd_word(match[i], k, word,
			    sizeof(word)) == 0 && strcmp(word, argv[k]) == 0;
		if (exact)
			cs = match[i];
	}
	if (nmatch == 0 && (cs = cmd_lookup(argc, argv, &nw, err,
	    errlen)) == NULL)
		return -1;
	if (cs != NULL)
		help_detail(&e, cs);
	else if (argc == 0) {
		emitf(&e, "commands (any word may be abbreviated; help COMMAND "
		    "explains one):");
		for (i = 0; i < (size_t)nmatch; i++)
			emitf(&e, "  %-16s %s", match[i]->words,
			    match[i]->help);
	} else {
		/* A group ("help route"): each one's usage and purpose. */
		for (i = 0; i < (size_t)nmatch; i++) {
			cmd_usage(match[i], 0, usage, sizeof(usage));
			emit_lines(&e, "", "", usage);
			emitf(&e, "    %s", match[i]->help);
		}
		emitf(&e, "(help %s explains one, with an example)",
		    match[0]->words);
	}
	return 0;
}

/* ---- completion ---- */

struct completer {
	const char	*prefix;
	void		(*add)(void *, const char *);
	const char *const *(*names)(void *, const char *);
	void		*arg;
};

static void
offer(struct completer *k, const char *w, int nocase)
{
	size_t pl = strlen(k->prefix);

	if ((nocase ? strncasecmp(w, k->prefix, pl) :
	    strncmp(w, k->prefix, pl)) == 0)
		k->add(k->arg, w);
}

/* Word n of every command whose first n words argv abbreviates. */
static void
offer_cmdwords(struct completer *k, int n, char *const argv[])
{
	char word[64];
	size_t i;

	for (i = 0; i < cmd_table_len; i++)
		if (cmd_nwords(&cmd_table[i]) > n &&
		    cmd_abbreviates(&cmd_table[i], n, argv) &&
		    cmd_word(&cmd_table[i], n, word, sizeof(word)) == 0)
			offer(k, word, 0);
}

static void
offer_names(struct completer *k, const char *show)
{
	const char *const *v = k->names(k->arg, show);

	for (; v != NULL && *v != NULL; v++)
		offer(k, *v, 0);
}

static void
offer_values(struct completer *k, const struct cmd_arg *a)
{
	const char *w;
	size_t i;
	int t;

	switch (a->kind) {
	case K_BACKEND:
		offer_names(k, "show backends");
		break;
	case K_POOL:
		offer_names(k, "show pools");
		break;
	case K_ROUTE:
		offer_names(k, "show routes");
		break;
	case K_KEY:
		offer_names(k, "show keys");
		break;
	case K_WORD:
	case K_WORDSET:
		for (t = 0; t < a->words->n; t++)
			if (words_offered(a->words, t))
				offer(k, a->words->w[t], 0);
		break;
	case K_QTYPE:
	case K_QFILTER:
	case K_QCLASS:
	case K_RCODE:
		t = a->kind == K_QCLASS ? DNSNAME_CLASSES :
		    a->kind == K_RCODE ? DNSNAME_RCODES : DNSNAME_TYPES;
		for (i = 0; (w = dnsname_nth(t, i)) != NULL; i++)
			offer(k, w, 1);
		break;
	case K_SETTING:
		for (i = 0; i < setting_table_len; i++)
			offer(k, setting_table[i].name, 0);
		break;
	default:
		break;
	}
	if (a->alt != NULL)
		offer(k, a->alt, 0);
}

static int
is_keyword(const struct cmd_arg *const *g, int n, const char *w)
{
	int i;

	for (i = 0; i < n; i++)
		if (((g[i]->form == A_OPT || g[i]->form == A_FLAG) &&
		    strcmp(g[i]->key, w) == 0) ||
		    (g[i]->form == A_CHOICE &&
		    words_find(g[i]->words, w) != -1))
			return i;
	return -1;
}

static void
offer_keywords(struct completer *k, const struct cmd_arg *const *g, int n)
{
	int i, w;

	for (i = 0; i < n; i++)
		if (g[i]->form == A_OPT || g[i]->form == A_FLAG)
			offer(k, g[i]->key, 0);
		else if (g[i]->form == A_CHOICE)
			for (w = 0; w < g[i]->words->n; w++)
				offer(k, g[i]->words->w[w], 0);
}

/* Walk the words typed after the command words and offer what may come
 * next: the value being typed, else a positional, else a keyword. */
static void
offer_args(struct completer *k, const struct cmd_spec *cs, int nargs,
    char *const args[])
{
	const struct cmd_arg *g[64];
	int n = 0, i = 0, wi = 0, pending = -1, kw, end;

	flat(cs->args, g, &n, 64);
	while (wi < nargs) {
		if (pending >= 0) {
			if ((g[pending]->flags & ARG_F_OPT) &&
			    is_keyword(g, n, args[wi]) != -1) {
				pending = -1;
				continue;
			}
			wi++;
			pending = pending + 1 < n && g[pending + 1]->form ==
			    A_MORE ? pending + 1 : -1;
			continue;
		}
		while (i < n && g[i]->form != A_POS)
			i++;
		if (i < n) {
			if (g[i]->flags & ARG_F_REST) {
				if (g[i]->kind == K_COMMAND)
					offer_cmdwords(k, nargs - wi,
					    args + wi);
				return;
			}
			if ((g[i]->flags & ARG_F_OPT) &&
			    is_keyword(g, n, args[wi]) != -1) {
				i = n;
				continue;
			}
			i++;
			wi++;
			continue;
		}
		kw = is_keyword(g, n, args[wi++]);
		if (kw < 0)
			continue;
		for (end = kw + 1; end < n && g[end]->form == A_MORE; end++)
			;
		if (g[kw]->form == A_OPT)
			pending = kw;
		else if (g[kw]->form == A_CHOICE && end > kw + 1 &&
		    words_find(g[kw]->words, args[wi - 1]) == g[kw]->valfor)
			pending = kw + 1;
	}
	if (pending >= 0) {
		offer_values(k, g[pending]);
		if (g[pending]->flags & ARG_F_OPT)
			offer_keywords(k, g, n);
		return;
	}
	while (i < n && g[i]->form != A_POS)
		i++;
	if (i < n) {
		if (g[i]->kind == K_COMMAND) {
			offer_cmdwords(k, 0, args + wi);
			return;
		}
		offer_values(k, g[i]);
		if (!(g[i]->flags & ARG_F_OPT))
			return;
	}
	offer_keywords(k, g, n);
}

void
cmd_complete(int nprior, char *const argv[], const char *prefix,
    void (*add)(void *, const char *),
    const char *const *(*names)(void *, const char *), void *arg)
{
	struct completer k = { prefix, add, names, arg };
	const struct cmd_spec *cs;
	char err[256];
	int nw;

	offer_cmdwords(&k, nprior, argv);
	if (nprior == 0)
		return;
	cs = cmd_lookup(nprior, argv, &nw, err, sizeof(err));
	if (cs != NULL)
		offer_args(&k, cs, nprior - nw, argv + nw);
}

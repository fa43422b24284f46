/*
 * cmdparse: command lines to struct cmd and back, driven by the grammar of
 * cmd_table (see cmdtab.h).  One walk over the grammar serves the parser,
 * the formatter and the comparison of two commands, so what export prints
 * always parses back, and a value is checked the same way wherever a
 * command comes from.
 *
 * Grammar indexes: the entries of a command's grammar, includes spliced
 * in, numbered in order; struct cmd's given has bit i set when entry i got
 * a value.  A grammar has at most 64 entries (checked by test_cmdtab).
 */
#include <ctype.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "argparse.h"
#include "cmdtab.h"
#include "ctlproto.h"
#include "dnsmsg.h"
#include "dnsnames.h"
#include "settings.h"
#include "util.h"
#include "words.h"

#define GRAMMAR_MAX	64

/* ---- command words ---- */

#define CMD_WORDS_MAX	4

/* The words of each entry, split once (lookup runs for every line of a
 * replace's input). */
struct cmdwords {
	int	 n;
	char	 w[CMD_WORDS_MAX][24];
};

static const struct cmdwords *
words_of(const struct cmd_spec *cs)
{
	static struct cmdwords cache[CMD__COUNT + 1];
	static int ready;
	struct cmdwords *cw;
	const char *p, *e;
	size_t i;

	if (!ready) {
		for (i = 0; i < cmd_table_len && i < NELEMS(cache); i++) {
			cw = &cache[i];
			for (p = cmd_table[i].words; *p != '\0' &&
			    cw->n < CMD_WORDS_MAX; p = *e ? e + 1 : e) {
				e = p + strcspn(p, " ");
				snprintf(cw->w[cw->n++], sizeof(cw->w[0]),
				    "%.*s", (int)(e - p), p);
			}
		}
		ready = 1;
	}
	i = (size_t)(cs - cmd_table);
	return i < NELEMS(cache) ? &cache[i] : &cache[CMD__COUNT];
}

int
cmd_nwords(const struct cmd_spec *cs)
{
	return words_of(cs)->n;
}

int
cmd_word(const struct cmd_spec *cs, int n, char *out, size_t outlen)
{
	const struct cmdwords *cw = words_of(cs);

	if (n < 0 || n >= cw->n || strlen(cw->w[n]) >= outlen)
		return -1;
	memcpy(out, cw->w[n], strlen(cw->w[n]) + 1);
	return 0;
}

/* Does w abbreviate word n of cs?  1, and *exact when it is the word. */
static int
word_matches(const struct cmd_spec *cs, int n, const char *w, int *exact)
{
	const struct cmdwords *cw = words_of(cs);
	size_t wl = strlen(w);

	if (n >= cw->n || wl == 0 || strncmp(cw->w[n], w, wl) != 0)
		return 0;
	*exact = cw->w[n][wl] == '\0';
	return 1;
}

int
cmd_abbreviates(const struct cmd_spec *cs, int n, char *const argv[])
{
	int k, exact;

	if (n > cmd_nwords(cs))
		return 0;
	for (k = 0; k < n; k++)
		if (!word_matches(cs, k, argv[k], &exact))
			return 0;
	return 1;
}

const struct cmd_spec *
cmd_spec_of(enum cmd_id id)
{
	size_t i;

	for (i = 0; i < cmd_table_len; i++)
		if (cmd_table[i].id == id)
			return &cmd_table[i];
	return NULL;
}

/* "show nonsense": what the first word may be followed by. */
static void
group_words(const char *first, char *out, size_t outlen)
{
	char word[64];
	size_t i, used = 0;

	out[0] = '\0';
	for (i = 0; i < cmd_table_len; i++) {
		if (cmd_nwords(&cmd_table[i]) < 2 ||
		    cmd_word(&cmd_table[i], 0, word, sizeof(word)) == -1 ||
		    strcmp(word, first) != 0 ||
		    cmd_word(&cmd_table[i], 1, word, sizeof(word)) == -1)
			continue;
		used += snprintf(out + used, used < outlen ? outlen - used : 0,
		    "%s%s", used ? ", " : "", word);
	}
}

const struct cmd_spec *
cmd_lookup(int argc, char *const argv[], int *nwords, char *err,
    size_t errlen)
{
	const struct cmd_spec *found = NULL, *c;
	char first[64], list[512];
	size_t i;
	int nfound = 0, best = -1, n, k, exact, nexact, rank;

	if (argc == 0) {
		snprintf(err, errlen, "empty command");
		return NULL;
	}
	for (i = 0; i < cmd_table_len; i++) {
		c = &cmd_table[i];
		if ((n = cmd_nwords(c)) > argc)
			continue;
		for (k = nexact = 0; k < n; k++) {
			if (!word_matches(c, k, argv[k], &exact))
				break;
			nexact += exact;
		}
		if (k < n)
			continue;
		/* An exact spelling beats an abbreviation ("set" vs "show"),
		 * then more words matched beat fewer ("r m" is route move,
		 * not replace with an argument). */
		rank = nexact * 16 + n;
		if (rank > best) {
			best = rank;
			found = c;
			nfound = 1;
		} else if (rank == best)
			nfound++;
	}
	if (found != NULL && nfound > 1 &&
	    best / 16 < cmd_nwords(found)) {
		snprintf(err, errlen, "ambiguous command \"%s\"; try help",
		    argv[0]);
		return NULL;
	}
	if (found != NULL) {
		*nwords = cmd_nwords(found);
		return found;
	}
	/* The first word names a group ("show"): say what may follow. */
	for (i = 0; i < cmd_table_len; i++) {
		c = &cmd_table[i];
		if (cmd_nwords(c) < 2 || !word_matches(c, 0, argv[0], &exact))
			continue;
		cmd_word(c, 0, first, sizeof(first));
		group_words(first, list, sizeof(list));
		if (argc == 1)
			snprintf(err, errlen, "incomplete command \"%s\": %s "
			    "takes %s; try help %s", argv[0], first, list,
			    first);
		else
			snprintf(err, errlen, "unknown command \"%s %s\": %s "
			    "takes %s; try help %s", argv[0], argv[1], first,
			    list, first);
		return NULL;
	}
	snprintf(err, errlen, "unknown command \"%s\"; try help", argv[0]);
	return NULL;
}

/* ---- the grammar, flattened ---- */

struct grammar {
	const struct cmd_arg	*a[GRAMMAR_MAX];
	int			 n;
};

static void
flatten_into(struct grammar *g, const struct cmd_arg *args)
{
	for (; args != NULL && args->form != A_END; args++) {
		if (args->form == A_INCLUDE)
			flatten_into(g, args->sub);
		else if (g->n < GRAMMAR_MAX)
			g->a[g->n++] = args;
	}
}

/* The grammar of cs, flattened once. */
static void
flatten(const struct cmd_spec *cs, struct grammar *g)
{
	static struct grammar cache[CMD__COUNT];
	static char ready[CMD__COUNT];
	size_t i = (size_t)(cs - cmd_table);

	if (i >= CMD__COUNT) {
		g->n = 0;
		flatten_into(g, cs->args);
		return;
	}
	if (!ready[i]) {
		cache[i].n = 0;
		flatten_into(&cache[i], cs->args);
		ready[i] = 1;
	}
	*g = cache[i];
}

/* The values that belong to the option or choice at index i: i and the
 * A_MORE entries after it.  Returns the index past them. */
static int
group_end(const struct grammar *g, int i)
{
	for (i++; i < g->n && g->a[i]->form == A_MORE; i++)
		;
	return i;
}

static void *
field(const void *base, const struct cmd_arg *a)
{
	return (char *)base + a->off;
}

static int
int_at(const void *base, const struct cmd_arg *a)
{
	return *(const int *)field(base, a);
}

/* The count of a vector (S_PTRV, S_WORDS). */
static int
count_at(const void *base, const struct cmd_arg *a)
{
	return *(const int *)((const char *)base + a->off2);
}

/* Word k of a vector. */
static const char *
word_at(const void *base, const struct cmd_arg *a, int k)
{
	if (a->store == S_WORDS)
		return (*(char *const *const *)field(base, a))[k];
	return ((const char *const *)field(base, a))[k];
}

/* ---- values ---- */

/* Does w look like a value of a's kind (for optional positionals)? */
static int
looks_like(const struct cmd_arg *a, const char *w)
{
	int t;

	switch (a->kind) {
	case K_INT:
	case K_ROUTE:
		return w[strspn(w, "0123456789")] == '\0' && *w != '\0';
	case K_QTYPE:
	case K_QFILTER:
		return dnsname_type_parse(w, &t) == 0;
	default:
		return 1;
	}
}

static void
describe_duration(const struct cmd_arg *a, char *why, size_t whylen)
{
	if (a->kind == K_SECONDS)
		snprintf(why, whylen, "seconds (5, 0.5) or milliseconds "
		    "(200ms), from %dms to %ds", a->min, a->max / 1000);
	else
		snprintf(why, whylen, "milliseconds from %d to %d", a->min,
		    a->max);
}

static void
describe_words(const struct words *ws, char *why, size_t whylen)
{
	size_t used;
	int i;

	used = snprintf(why, whylen, "one of ");
	for (i = 0; i < ws->n && used < whylen; i++)
		used += snprintf(why + used, whylen - used, "%s%s",
		    i ? ", " : "", ws->w[i]);
}

/* Store w as a value of a in base: 0, or -1 with the reason in why (and
 * *runtime set when the daemon's own check refused it). */
static int
value(const struct cmd_arg *a, const char *w, void *base,
    const struct cmd_checks *chk, int *runtime, char *why, size_t whylen)
{
	uint8_t wire[DNS_MAX_WIRE_NAME];
	struct sockaddr_storage ss;
	socklen_t sl;
	long v = 0;
	int iv = 0, *np;
	char *p = field(base, a);

	if ((a->flags & ARG_F_DASH) && strcmp(w, "-") == 0) {
		/* None: no pools ("pool -"), no type filter ("qtype -"). */
		if (a->store == S_INT)
			*(int *)p = 0;
		return 0;
	}
	switch (a->kind) {
	case K_NAME:
		if (!arg_name_ok(w)) {
			snprintf(why, whylen, "use 1-%d letters, digits, '.', "
			    "'_' or '-'", CONF_NAME_MAX - 1);
			return -1;
		}
		break;
	case K_BACKEND:
	case K_POOL:
		if (!arg_ref_ok(w)) {
			snprintf(why, whylen, "a name of 1-%d characters, no "
			    "blank", CONF_NAME_MAX - 1);
			return -1;
		}
		break;
	case K_ROUTE:
		/* Negative: a route registered through etcd (refused by the
		 * handler, which says so). */
		if (parse_int(w, -0x7fffffffL, 0x7fffffffL, &v) == -1 ||
		    v == 0) {
			snprintf(why, whylen, "a route id (a number)");
			return -1;
		}
		break;
	case K_INT:
		if (parse_int(w, a->min, a->max, &v) == -1) {
			snprintf(why, whylen, "a number from %d to %d", a->min,
			    a->max);
			return -1;
		}
		iv = (int)v;
		break;
	case K_SECONDS:
	case K_MS:
		if (arg_duration_ms(w, a->kind == K_SECONDS, a->min, a->max,
		    &v) == -1) {
			describe_duration(a, why, whylen);
			return -1;
		}
		iv = (int)v;
		break;
	case K_ADDR:
	case K_CLIENT:
		if (addr_parse(w, a->kind == K_ADDR ? a->min : 0, &ss, &sl,
		    why, whylen) == -1)
			return -1;
		if (a->kind == K_ADDR && a->store == S_STR) {
			addr_fmt((struct sockaddr *)&ss, p, a->size);
			return 0;
		}
		break;
	case K_QNAME:
		if (strlen(w) >= CONF_QNAME_MAX ||
		    dns_text_to_wire(w, wire, sizeof(wire)) == -1) {
			snprintf(why, whylen, "not a domain name");
			return -1;
		}
		break;
	case K_QTYPE:
	case K_QFILTER:
		if (dnsname_type_parse(w, &iv) == -1) {
			snprintf(why, whylen, "not a DNS type");
			return -1;
		} else if (a->kind == K_QFILTER &&
		    (iv == DNS_TYPE_AXFR || iv == DNS_TYPE_IXFR)) {
			snprintf(why, whylen, "zone transfers are refused "
			    "before routing, so no route can match them");
			return -1;
		}
		break;
	case K_QCLASS:
		if (dnsname_class_parse(w, &iv) == -1) {
			snprintf(why, whylen, "not a DNS class");
			return -1;
		}
		break;
	case K_RCODE:
		if (strcmp(w, "any") == 0)
			iv = -1;
		else if (dnsname_rcode_parse(w, &iv) == -1) {
			snprintf(why, whylen, "an rcode (NOERROR, NXDOMAIN "
			    "...) or any");
			return -1;
		}
		break;
	case K_REGEX:
		if (chk != NULL && chk->regex != NULL &&
		    chk->regex(chk->arg, w, why, whylen) == -1) {
			*runtime = 1;
			return -1;
		}
		break;
	case K_WORD:
		if ((iv = words_find(a->words, w)) == -1) {
			describe_words(a->words, why, whylen);
			return -1;
		}
		break;
	case K_SETTING:
		if (setting_known(w, why, whylen) == NULL)
			return -1;
		break;
	default:
		break;
	}
	switch (a->store) {
	case S_PTR:
		*(const char **)p = w;
		break;
	case S_STR:
		snprintf(p, a->size, "%s", w);
		break;
	case S_INT:
		*(int *)p = iv;
		break;
	case S_I64:
		*(int64_t *)p = v;
		break;
	case S_PTRV:
		np = (int *)((char *)base + a->off2);
		if ((size_t)*np >= a->size / sizeof(char *)) {
			snprintf(why, whylen, "too many (at most %zu)",
			    a->size / sizeof(char *));
			return -1;
		}
		((const char **)p)[(*np)++] = w;
		break;
	default:
		break;
	}
	return 0;
}

/* ---- defaults ---- */

static void
defaults(const struct cmd_spec *cs, void *base)
{
	struct grammar g;
	int i;

	flatten(cs, &g);
	for (i = 0; i < g.n; i++) {
		const struct cmd_arg *a = g.a[i];

		if (a->store == S_INT)
			*(int *)field(base, a) = a->def;
		else if (a->store == S_STR && a->defs != NULL)
			snprintf(field(base, a), a->size, "%s", a->defs);
		else if (a->store == S_PTR && a->defs != NULL)
			*(const char **)field(base, a) = a->defs;
	}
}

void
cmd_init(struct cmd *c, enum cmd_id id)
{
	memset(c, 0, sizeof(*c));
	c->spec = cmd_spec_of(id);
	if (c->spec != NULL)
		defaults(c->spec, &c->a);
}

void
backend_conf_defaults(struct backend_conf *conf)
{
	struct cmd c;

	cmd_init(&c, CMD_BACKEND_ADD);
	*conf = c.a.backend.conf;
}

/* ---- parsing ---- */

struct parse {
	const struct cmd_spec	*cs;
	struct grammar		 g;
	struct cmd		*c;
	const struct cmd_checks	*chk;
	char			*err;
	size_t			 errlen;
	int			*code;
};

/* The grammar index of the option or choice word w, or -1. */
static int
keyword(const struct grammar *g, const char *w)
{
	int i;

	for (i = 0; i < g->n; i++) {
		const struct cmd_arg *a = g->a[i];

		if ((a->form == A_OPT || a->form == A_FLAG) &&
		    strcmp(a->key, w) == 0)
			return i;
		if (a->form == A_CHOICE && words_find(a->words, w) != -1)
			return i;
	}
	return -1;
}

/* What a value is called in messages: the option's keyword, else how the
 * usage shows it. */
static const char *
label(const struct grammar *g, int i)
{
	while (i > 0 && g->a[i]->form == A_MORE)
		i--;
	return g->a[i]->key != NULL ? g->a[i]->key : g->a[i]->meta;
}

/* A value without a META, as usage shows it: "udp|tcp". */
static const char *
describe_alts(const struct cmd_arg *a)
{
	static char buf[512];
	size_t used = 0;
	int i;

	buf[0] = '\0';
	for (i = 0; a->words != NULL && i < a->words->n &&
	    used < sizeof(buf); i++)
		used += snprintf(buf + used, sizeof(buf) - used, "%s%s",
		    i ? "|" : "", a->words->w[i]);
	return buf;
}

/* "pool POOL, refuse, nxdomain, servfail or drop" */
static const char *
describe_choice(const struct cmd_arg *a)
{
	static char buf[512];
	size_t used = 0;
	int i;

	buf[0] = '\0';
	for (i = 0; i < a->words->n && used < sizeof(buf); i++)
		used += snprintf(buf + used, sizeof(buf) - used, "%s%s%s%s",
		    i == 0 ? "" : i + 1 == a->words->n ? " or " : ", ",
		    a->words->w[i], i == a->valfor ? " " : "",
		    i == a->valfor ? a[1].meta : "");
	return buf;
}

static int
fail(struct parse *ps, int code, int with_usage, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int
fail(struct parse *ps, int code, int with_usage, const char *fmt, ...)
{
	va_list ap;
	size_t used;

	va_start(ap, fmt);
	vsnprintf(ps->err, ps->errlen, fmt, ap);
	va_end(ap);
	*ps->code = code;
	used = strlen(ps->err);
	if (with_usage && used + 8 < ps->errlen) {
		snprintf(ps->err + used, ps->errlen - used, "\nusage: ");
		used = strlen(ps->err);
		cmd_usage(ps->cs, 7, ps->err + used, ps->errlen - used);
	}
	return -1;
}

static int
take(struct parse *ps, int i, const char *w)
{
	const struct cmd_arg *a = ps->g.a[i];
	char why[1024];
	int runtime = 0;

	if (value(a, w, &ps->c->a, ps->chk, &runtime, why, sizeof(why)) ==
	    -1) {
		if (runtime)
			return fail(ps, CTL_ERR_RUNTIME, 0, "%s", why);
		if (a->kind == K_ADDR || a->kind == K_CLIENT)
			return fail(ps, CTL_ERR_SYNTAX, 0, "%s: %s",
			    label(&ps->g, i), why);
		if (a->kind == K_SETTING)
			return fail(ps, CTL_ERR_SYNTAX, 0, "%s", why);
		return fail(ps, CTL_ERR_SYNTAX, 0, "bad value \"%s\" for %s: "
		    "%s", w, label(&ps->g, i), why);
	}
	ps->c->given |= (uint64_t)1 << i;
	return 0;
}

/* The option or choice at index k, its word at argv[*wi]. */
static int
option(struct parse *ps, int k, int argc, char **argv, int *wi)
{
	const struct cmd_arg *a = ps->g.a[k];
	const char *w = argv[*wi];
	int end = group_end(&ps->g, k), m, v;

	if ((ps->c->given >> k & 1) && !(a->flags & ARG_F_REPEAT)) {
		if (a->form == A_CHOICE)
			return fail(ps, CTL_ERR_SYNTAX, 0, "\"%s\": %s takes "
			    "one of %s, not two", w, ps->cs->words,
			    describe_choice(a));
		return fail(ps, CTL_ERR_SYNTAX, 0, "\"%s\" is given twice", w);
	}
	(*wi)++;
	if (a->form == A_FLAG) {
		*(int *)field(&ps->c->a, a) = 1;
		ps->c->given |= (uint64_t)1 << k;
		return 0;
	}
	if (a->form == A_CHOICE) {
		v = words_find(a->words, w);
		*(int *)field(&ps->c->a, a) = v;
		ps->c->given |= (uint64_t)1 << k;
		if (v != a->valfor || end == k + 1)
			return 0;
		if (*wi >= argc)
			return fail(ps, CTL_ERR_SYNTAX, 1, "%s needs a value: "
			    "%s %s", w, w, ps->g.a[k + 1]->meta);
		return take(ps, k + 1, argv[(*wi)++]);
	}
	/* A_OPT: its value, then the A_MORE ones. */
	if (*wi >= argc)
		return fail(ps, CTL_ERR_SYNTAX, 1, "%s needs a value: %s %s",
		    w, w, a->meta != NULL ? a->meta : describe_alts(a));
	if (take(ps, k, argv[(*wi)++]) == -1)
		return -1;
	for (m = k + 1; m < end; m++) {
		const struct cmd_arg *more = ps->g.a[m];
		char why[256];
		int rt = 0;
		union cmd_args scratch;

		if (more->flags & ARG_F_OPT) {
			/* Taken only when it is one: "check QNAME [QTYPE]". */
			if (*wi >= argc || keyword(&ps->g, argv[*wi]) != -1 ||
			    value(more, argv[*wi], &scratch, NULL, &rt, why,
			    sizeof(why)) == -1)
				break;
		} else if (*wi >= argc)
			return fail(ps, CTL_ERR_SYNTAX, 1, "%s needs %s", w,
			    more->meta);
		if (take(ps, m, argv[(*wi)++]) == -1)
			return -1;
	}
	return 0;
}

/* The index just past the last positional. */
static int
past_positionals(const struct grammar *g)
{
	int i, last = 0;

	for (i = 0; i < g->n; i++)
		if (g->a[i]->form == A_POS)
			last = i + 1;
	return last;
}

static int
parse_args(struct parse *ps, int argc, char **argv)
{
	const struct grammar *g = &ps->g;
	int wi = 0, i = 0, k, end;

	while (wi < argc) {
		while (i < g->n && g->a[i]->form != A_POS)
			i++;
		if (i < g->n && i < past_positionals(g)) {
			const struct cmd_arg *a = g->a[i];

			if (a->flags & ARG_F_REST) {
				/* The words left, where they are. */
				*(char *const **)field(&ps->c->a, a) =
				    argv + wi;
				*(int *)((char *)&ps->c->a + a->off2) =
				    argc - wi;
				ps->c->given |= (uint64_t)1 << i;
				wi = argc;
				i++;
				continue;
			}
			if (a->flags & ARG_F_OPT) {
				if (keyword(g, argv[wi]) != -1) {
					i = past_positionals(g);
					continue;
				}
				if (!looks_like(a, argv[wi])) {
					i++;
					continue;
				}
			}
			if (take(ps, i++, argv[wi++]) == -1)
				return -1;
			continue;
		}
		if ((k = keyword(g, argv[wi])) == -1)
			return fail(ps, CTL_ERR_SYNTAX, 1, "%s: unexpected "
			    "word \"%s\"", ps->cs->words, argv[wi]);
		if (option(ps, k, argc, argv, &wi) == -1)
			return -1;
	}
	for (; i < g->n; i++)
		if (g->a[i]->form == A_POS && !(g->a[i]->flags & ARG_F_OPT))
			return fail(ps, CTL_ERR_SYNTAX, 1, "%s: missing %s",
			    ps->cs->words, g->a[i]->meta);
	for (k = 0; k < g->n; k = end) {
		const struct cmd_arg *a = g->a[k];

		end = group_end(g, k);
		if (!(a->flags & ARG_F_REQ) || (ps->c->given >> k & 1))
			continue;
		if (a->form == A_CHOICE)
			return fail(ps, CTL_ERR_SYNTAX, 1, "%s needs one "
			    "of: %s", ps->cs->words, describe_choice(a));
		return fail(ps, CTL_ERR_SYNTAX, 1, "%s: missing %s",
		    ps->cs->words, a->key);
	}
	if (ps->cs->check != NULL &&
	    ps->cs->check(ps->c, ps->err, ps->errlen) == -1) {
		*ps->code = CTL_ERR_SYNTAX;
		return -1;
	}
	return 0;
}

int
cmd_parse(const char *line, struct cmd *c, const struct cmd_checks *chk,
    int *code, char *err, size_t errlen)
{
	struct parse ps;
	int nw;

	memset(c, 0, sizeof(*c));
	*code = CTL_ERR_SYNTAX;
	if (tok_split(line, &c->tok, err, errlen) == -1)
		return -1;
	if (c->tok.argc == 0) {
		tok_free(&c->tok);
		return 1;
	}
	if ((c->spec = cmd_lookup(c->tok.argc, c->tok.argv, &nw, err,
	    errlen)) == NULL) {
		tok_free(&c->tok);
		return -1;
	}
	defaults(c->spec, &c->a);
	memset(&ps, 0, sizeof(ps));
	ps.cs = c->spec;
	ps.c = c;
	ps.chk = chk;
	ps.err = err;
	ps.errlen = errlen;
	ps.code = code;
	flatten(c->spec, &ps.g);
	if (parse_args(&ps, c->tok.argc - nw, c->tok.argv + nw) == -1) {
		tok_free(&c->tok);
		return -1;
	}
	return 0;
}

void
cmd_free(struct cmd *c)
{
	if (c != NULL)
		tok_free(&c->tok);
}

/* ---- formatting ---- */

struct out {
	char	*s;
	size_t	 len, cap;
	int	 full;
};

static void
out_word(struct out *o, const char *w, int quote)
{
	char q[CTL_LINE_MAX];
	size_t n;

	if (quote && tok_quote(w, q, sizeof(q)) == -1) {
		o->full = 1;
		return;
	}
	if (!quote)
		snprintf(q, sizeof(q), "%s", w);
	n = strlen(q);
	if (o->len + n + 2 > o->cap) {
		o->full = 1;
		return;
	}
	if (o->len > 0)
		o->s[o->len++] = ' ';
	memcpy(o->s + o->len, q, n + 1);
	o->len += n;
}

static void
out_value(struct out *o, const struct cmd_arg *a, const void *base)
{
	const void *p = field(base, a);
	const char *s;
	char buf[64];
	int v;

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
		return *(const char *const *)field(base, a) != NULL;
	if (a->store == S_WORDS)
		return count_at(base, a) > 0;
	if (a->store == S_STR)
		return *(const char *)field(base, a) != '\0';
	return 1;
}

int
cmd_format(const struct cmd *c, uint64_t mask, char *buf, size_t buflen)
{
	struct grammar g;
	struct out o = { buf, 0, buflen, 0 };
	const void *base = &c->a;
	int i, k, end, n;

	if (buflen == 0)
		return -1;
	buf[0] = '\0';
	out_word(&o, c->spec->words, 0);
	flatten(c->spec, &g);
	for (i = 0; i < g.n; i = end) {
		const struct cmd_arg *a = g.a[i];

		end = group_end(&g, i);
		if (!(mask >> i & 1) || !has_value(a, base))
			continue;
		switch (a->form) {
		case A_POS:
			if (a->store == S_PTRV || a->store == S_WORDS) {
				n = count_at(base, a);
				for (k = 0; k < n; k++)
					out_word(&o, word_at(base, a, k), 1);
			} else
				out_value(&o, a, base);
			break;
		case A_FLAG:
			if (int_at(base, a))
				out_word(&o, a->key, 0);
			break;
		case A_CHOICE:
			out_value(&o, a, base);
			if (int_at(base, a) == a->valfor && end > i + 1)
				out_value(&o, g.a[i + 1], base);
			break;
		case A_OPT:
			if (a->store == S_PTRV) {
				n = count_at(base, a);
				for (k = 0; k < n; k++) {
					out_word(&o, a->key, 0);
					out_word(&o, ((const char *const *)
					    field(base, a))[k], 1);
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
				out_value(&o, g.a[k], base);
			break;
		default:
			break;
		}
	}
	return o.full ? -1 : (int)o.len;
}

uint64_t
cmd_bit(const struct cmd_spec *cs, const char *key)
{
	struct grammar g;
	int i;

	flatten(cs, &g);
	for (i = 0; i < g.n; i++)
		if (g.a[i]->key != NULL && strcmp(g.a[i]->key, key) == 0)
			return (uint64_t)1 << i;
	return 0;
}

void
cmd_merge(const struct cmd_spec *cs, void *dst, const void *src,
    uint64_t mask)
{
	struct grammar g;
	int i;

	flatten(cs, &g);
	for (i = 0; i < g.n; i++) {
		const struct cmd_arg *a = g.a[i];

		if (!(mask >> i & 1))
			continue;
		memcpy(field(dst, a), field(src, a), a->size);
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
	const void *x = field(a, e), *y = field(b, e);
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
		n = count_at(a, e);
		if (n != count_at(b, e))
			return 0;
		for (i = 0; i < n; i++)
			if (strcmp(word_at(a, e, i), word_at(b, e, i)) != 0)
				return 0;
		return 1;
	default:
		return 1;
	}
}

uint64_t
cmd_diff(const struct cmd_spec *cs, const void *a, const void *b)
{
	struct grammar g;
	uint64_t mask = 0;
	int i, k, end, differ;

	flatten(cs, &g);
	for (i = 0; i < g.n; i = end) {
		end = group_end(&g, i);
		for (k = i, differ = 0; k < end && !differ; k++)
			differ = !same(g.a[k], a, b);
		if (differ)
			for (k = i; k < end; k++)
				mask |= (uint64_t)1 << k;
	}
	return mask;
}

/*
 * cmdparse: command lines to struct cmd, driven by the grammar of
 * cmd_table (see cmdtab.h): finding the command by its words, then each
 * value checked by its kind and stored where the grammar says.  The same
 * flattened grammar (cmdgrammar.h) drives the formatter and the comparison
 * of two commands (cmdformat.c), so what export prints always parses back,
 * and a value is checked the same way wherever a command comes from.
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
#include "b64.h"
#include "cmdgrammar.h"
#include "cmdtab.h"
#include "ctlproto.h"
#include "dnsmsg.h"
#include "dnsnames.h"
#include "settings.h"
#include "util.h"
#include "words.h"

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

/*
 * The command found last and the words it was found for: a batch says
 * the same command line after line ("route add"), and the search of the
 * whole table was a tenth of a route's cost.  What is found depends only
 * on the first words, as many as the longest entry has, and on how many
 * there are up to that.
 */
static struct {
	const struct cmd_spec	*spec;
	int			 m;
	struct cmdwords		 w;
} found_last;

static int
longest_entry(void)
{
	static int most;
	size_t i;
	int n = 0;

	if (most > 0)
		return most;
	for (i = 0; i < cmd_table_len; i++)
		if (cmd_nwords(&cmd_table[i]) > n)
			n = cmd_nwords(&cmd_table[i]);
	return most = n;
}

static int
same_as_last(int m, char *const argv[])
{
	int k;

	if (found_last.spec == NULL || found_last.m != m)
		return 0;
	for (k = 0; k < m; k++)
		if (strcmp(found_last.w.w[k], argv[k]) != 0)
			return 0;
	return 1;
}

static void
keep_last(const struct cmd_spec *c, int m, char *const argv[])
{
	int k;

	found_last.spec = NULL;
	for (k = 0; k < m; k++)
		if (strlen(argv[k]) >= sizeof(found_last.w.w[k]))
			return;
	for (k = 0; k < m; k++)
		memcpy(found_last.w.w[k], argv[k], strlen(argv[k]) + 1);
	found_last.m = m;
	found_last.spec = c;
}

const struct cmd_spec *
cmd_lookup(int argc, char *const argv[], int *nwords, char *err,
    size_t errlen)
{
	const struct cmd_spec *found = NULL, *c;
	char first[64], list[512];
	size_t i;
	int nfound = 0, best = -1, n, k, exact, nexact, rank, m;

	if (argc == 0) {
		snprintf(err, errlen, "empty command");
		return NULL;
	}
	m = argc < longest_entry() ? argc : longest_entry();
	if (same_as_last(m, argv)) {
		*nwords = cmd_nwords(found_last.spec);
		return found_last.spec;
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
		keep_last(found, m, argv);
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

const struct grammar *
cmd_grammar(const struct cmd_spec *cs)
{
	static struct grammar cache[CMD__COUNT], other;
	static char ready[CMD__COUNT];
	size_t i = (size_t)(cs - cmd_table);

	if (i >= CMD__COUNT) {
		/* Not of the table (a test's): flattened each time. */
		other.n = 0;
		flatten_into(&other, cs->args);
		return &other;
	}
	if (!ready[i]) {
		cache[i].n = 0;
		flatten_into(&cache[i], cs->args);
		ready[i] = 1;
	}
	return &cache[i];
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
		if (words_offered(ws, i))
			used += snprintf(why + used, whylen - used, "%s%s",
			    used > 7 ? ", " : "", ws->w[i]);
}

/* Is w base64 of 1 to CONF_SECRET_MAX octets?  Decoded into a buffer
 * that is wiped: it is a secret. */
static int
secret_ok(const char *w)
{
	uint8_t buf[B64_DEC_MAX(B64_ENC_LEN(CONF_SECRET_MAX))];
	size_t n = strlen(w);
	long v;

	if (n == 0 || n > B64_ENC_LEN(CONF_SECRET_MAX))
		return 0;
	v = b64_decode(w, n, buf);
	explicit_bzero(buf, sizeof(buf));
	return v >= 1 && v <= CONF_SECRET_MAX;
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
	unsigned bits;
	long v = 0;
	int iv = 0, *np;
	char *p = arg_field(base, a);

	if ((a->flags & ARG_F_DASH) && strcmp(w, "-") == 0) {
		/* None: no pools ("pool -"), no type filter ("qtype -"),
		 * no key ("key -"). */
		if (a->store == S_INT)
			*(int *)p = 0;
		else if (a->store == S_STR)
			p[0] = '\0';
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
		if ((iv = words_find(a->words, w)) == -1 ||
		    !words_offered(a->words, iv)) {
			describe_words(a->words, why, whylen);
			return -1;
		}
		break;
	case K_WORDSET:
		if (words_set_parse(a->words, w, &bits) == -1) {
			describe_words(a->words, why, whylen);
			snprintf(why + strlen(why), whylen - strlen(why),
			    ", or several joined by commas");
			return -1;
		}
		iv = (int)bits;
		break;
	case K_SETTING:
		if (setting_known(w, why, whylen) == NULL)
			return -1;
		break;
	case K_KEY:
		/* Stored as peers compare it: lowercase, final dot. */
		if (dns_text_to_wire(w, wire, sizeof(wire)) <= 1 ||
		    dns_wire_to_text(wire, p, a->size) < 0) {
			snprintf(why, whylen, "a key's name is a domain name "
			    "(such as ddns-key. or key.example.), at most %d "
			    "characters", (int)a->size - 1);
			return -1;
		}
		return 0;
	case K_SECRET:
		if (!secret_ok(w)) {
			snprintf(why, whylen, "base64 of 1 to %d octets, as "
			    "tsig-keygen prints it", CONF_SECRET_MAX);
			return -1;
		}
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
	const struct grammar *g;
	int i;

	g = cmd_grammar(cs);
	for (i = 0; i < g->n; i++) {
		const struct cmd_arg *a = g->a[i];

		if (a->store == S_INT)
			*(int *)arg_field(base, a) = a->def;
		else if (a->store == S_STR && a->defs != NULL)
			snprintf(arg_field(base, a), a->size, "%s", a->defs);
		else if (a->store == S_PTR && a->defs != NULL)
			*(const char **)arg_field(base, a) = a->defs;
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

void
pool_conf_defaults(struct pool_conf *conf)
{
	struct cmd c;

	cmd_init(&c, CMD_POOL_ADD);
	*conf = c.a.pool.conf;
}

/* ---- parsing ---- */

struct parse {
	const struct cmd_spec	*cs;
	const struct grammar	*g;
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
		if (words_offered(a->words, i))
			used += snprintf(buf + used, sizeof(buf) - used,
			    "%s%s", used ? "|" : "", a->words->w[i]);
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
	const struct cmd_arg *a = ps->g->a[i];
	char why[1024];
	int runtime = 0;

	if (value(a, w, &ps->c->a, ps->chk, &runtime, why, sizeof(why)) ==
	    -1) {
		if (runtime)
			return fail(ps, CTL_ERR_RUNTIME, 0, "%s", why);
		if (a->kind == K_ADDR || a->kind == K_CLIENT)
			return fail(ps, CTL_ERR_SYNTAX, 0, "%s: %s",
			    label(ps->g, i), why);
		if (a->kind == K_SETTING)
			return fail(ps, CTL_ERR_SYNTAX, 0, "%s", why);
		if (a->kind == K_SECRET)	/* not echoed: it may be one */
			return fail(ps, CTL_ERR_SYNTAX, 0, "bad value for %s: "
			    "%s", label(ps->g, i), why);
		return fail(ps, CTL_ERR_SYNTAX, 0, "bad value \"%s\" for %s: "
		    "%s", w, label(ps->g, i), why);
	}
	ps->c->given |= (uint64_t)1 << i;
	return 0;
}

/* The option or choice at index k, its word at argv[*wi]. */
static int
option(struct parse *ps, int k, int argc, char **argv, int *wi)
{
	const struct cmd_arg *a = ps->g->a[k];
	const char *w = argv[*wi];
	int end = grammar_group_end(ps->g, k), m, v;

	if ((ps->c->given >> k & 1) && !(a->flags & ARG_F_REPEAT)) {
		if (a->form == A_CHOICE)
			return fail(ps, CTL_ERR_SYNTAX, 0, "\"%s\": %s takes "
			    "one of %s, not two", w, ps->cs->words,
			    describe_choice(a));
		return fail(ps, CTL_ERR_SYNTAX, 0, "\"%s\" is given twice", w);
	}
	(*wi)++;
	if (a->form == A_FLAG) {
		*(int *)arg_field(&ps->c->a, a) = 1;
		ps->c->given |= (uint64_t)1 << k;
		return 0;
	}
	if (a->form == A_CHOICE) {
		v = words_find(a->words, w);
		*(int *)arg_field(&ps->c->a, a) = v;
		ps->c->given |= (uint64_t)1 << k;
		if (v != a->valfor || end == k + 1)
			return 0;
		if (*wi >= argc)
			return fail(ps, CTL_ERR_SYNTAX, 1, "%s needs a value: "
			    "%s %s", w, w, ps->g->a[k + 1]->meta);
		return take(ps, k + 1, argv[(*wi)++]);
	}
	/* A_OPT: its value, then the A_MORE ones. */
	if (*wi >= argc)
		return fail(ps, CTL_ERR_SYNTAX, 1, "%s needs a value: %s %s",
		    w, w, a->meta != NULL ? a->meta : describe_alts(a));
	if (take(ps, k, argv[(*wi)++]) == -1)
		return -1;
	for (m = k + 1; m < end; m++) {
		const struct cmd_arg *more = ps->g->a[m];
		char why[256];
		int rt = 0;
		union cmd_args scratch;

		if (more->flags & ARG_F_OPT) {
			/* Taken only when it is one: "check QNAME [QTYPE]". */
			if (*wi >= argc || keyword(ps->g, argv[*wi]) != -1 ||
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
	const struct grammar *g = ps->g;
	int wi = 0, i = 0, k, end;

	while (wi < argc) {
		while (i < g->n && g->a[i]->form != A_POS)
			i++;
		if (i < g->n && i < past_positionals(g)) {
			const struct cmd_arg *a = g->a[i];

			if (a->flags & ARG_F_REST) {
				/* The words left, where they are. */
				*(char *const **)arg_field(&ps->c->a, a) =
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

		end = grammar_group_end(g, k);
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
	ps.g = cmd_grammar(c->spec);
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

/*
 * test_cmdtab: the command table (common/cmdtab.c).  Two halves: lookups
 * with abbreviation, table-driven; and the table's own consistency, which
 * the parser, help and completion rely on (every example parses as its
 * own entry, a grammar fits the 64 bits of given, no keyword means two
 * things in one command).  The parsers themselves: test_cmdparse.
 */
#include <stdio.h>
#include <string.h>

#include "cmdtab.h"
#include "settings.h"
#include "tokenize.h"
#include "words.h"
#include "util.h"
#include "unit.h"

#define NONE	(-1)

static const struct {
	const char	*line;
	int		 id;		/* NONE: no match */
	int		 nwords;
	const char	*err;		/* the message starts so */
} lookup_cases[] = {
	{ "show routes", CMD_SHOW_ROUTES, 2, NULL },
	{ "sh ro", CMD_SHOW_ROUTES, 2, NULL },
	{ "show rec 20", CMD_SHOW_RECENT, 2, NULL },
	{ "show r", NONE, 0, "ambiguous" },
	{ "s ro", CMD_SHOW_ROUTES, 2, NULL },	/* two words beat set's one */
	{ "show", NONE, 0, "incomplete" },
	{ "show nonsense", NONE, 0, "unknown command \"show nonsense\": show "
	    "takes routes," },
	{ "route set 3 comment x", CMD_ROUTE_SET, 2, NULL },
	{ "rep dry-run", CMD_REPLACE, 1, NULL },
	{ "set default-action refuse", CMD_SET, 1, NULL },
	{ "se default-action refuse", CMD_SET, 1, NULL },
	{ "s x y", CMD_SET, 1, NULL },
	{ "b a ns 127.0.0.1", CMD_BACKEND_ADD, 2, NULL },	/* not begin */
	{ "ba a ns 127.0.0.1", CMD_BACKEND_ADD, 2, NULL },
	{ "backend d ns", NONE, 0, "ambiguous" },
	{ "backend dr ns", CMD_BACKEND_DRAIN, 2, NULL },
	{ "backend dis ns", CMD_BACKEND_DISABLE, 2, NULL },
	{ "backend readd all", CMD_BACKEND_READD, 2, NULL },
	{ "b", CMD_BEGIN, 1, NULL },
	{ "backend", NONE, 0, "incomplete" },
	{ "p a apex policy first", CMD_POOL_ADD, 2, NULL },
	{ "route add ^x pool y", CMD_ROUTE_ADD, 2, NULL },
	{ "r m 3 1", CMD_ROUTE_MOVE, 2, NULL },
	{ "trace ^www limit 10", CMD_TRACE, 1, NULL },
	{ "t", CMD_TRACE, 1, NULL },
	{ "help route add", CMD_HELP, 1, NULL },
	{ "h", CMD_HELP, 1, NULL },
	{ "begin", CMD_BEGIN, 1, NULL },
	{ "commit", CMD_COMMIT, 1, NULL },
	{ "c", CMD_COMMIT, 1, NULL },
	{ "a", CMD_ABORT, 1, NULL },
	{ "e", CMD_EXPORT, 1, NULL },
	{ "quit", CMD_QUIT, 1, NULL },
	{ "frobnicate", NONE, 0, "unknown command \"frobnicate\"" },
	{ "showx routes", NONE, 0, "unknown" },
	{ "", NONE, 0, "empty command" },
};

static void
test_lookup(void)
{
	const struct cmd_spec *c;
	struct tok_line t;
	char err[256];
	size_t i;
	int nw;

	for (i = 0; i < NELEMS(lookup_cases); i++) {
		CHECK(tok_split(lookup_cases[i].line, &t, err,
		    sizeof(err)) == 0);
		err[0] = '\0';
		nw = -1;
		c = cmd_lookup(t.argc, t.argv, &nw, err, sizeof(err));
		if (lookup_cases[i].id == NONE) {
			CHECKF(c == NULL, "\"%s\": matched %s",
			    lookup_cases[i].line, c ? c->words : "");
			CHECKF(strncmp(err, lookup_cases[i].err,
			    strlen(lookup_cases[i].err)) == 0,
			    "\"%s\": err \"%s\"", lookup_cases[i].line, err);
		} else {
			CHECKF(c != NULL && (int)c->id == lookup_cases[i].id,
			    "\"%s\": %s", lookup_cases[i].line,
			    c ? c->words : err);
			CHECKF(nw == lookup_cases[i].nwords,
			    "\"%s\": nwords %d", lookup_cases[i].line, nw);
		}
		tok_free(&t);
	}
}

/* The keywords of one grammar: options, flags and choice words. */
static int
keywords(const struct cmd_arg *a, const char **kw, int n)
{
	int w;

	for (; a != NULL && a->form != A_END; a++) {
		if (a->form == A_INCLUDE)
			n = keywords(a->sub, kw, n);
		else if (a->form == A_OPT || a->form == A_FLAG)
			kw[n++] = a->key;
		else if (a->form == A_CHOICE)
			for (w = 0; w < a->words->n; w++)
				kw[n++] = a->words->w[w];
	}
	return n;
}

static int
entries(const struct cmd_arg *a)
{
	int n = 0;

	for (; a != NULL && a->form != A_END; a++)
		n += a->form == A_INCLUDE ? entries(a->sub) : 1;
	return n;
}

static void
test_table(void)
{
	const struct cmd_spec *c, *found;
	const char *kw[256];
	struct tok_line t;
	struct cmd pc;
	char err[4096], usage[4096];
	int seen[CMD__COUNT], nw, n, k, m, code;
	size_t i, wl;

	memset(seen, 0, sizeof(seen));
	CHECK(cmd_table_len == CMD__COUNT);
	for (i = 0; i < cmd_table_len; i++) {
		c = &cmd_table[i];
		CHECKF((int)c->id >= 0 && c->id < CMD__COUNT, "entry %zu", i);
		if ((int)c->id < 0 || c->id >= CMD__COUNT)
			continue;
		CHECKF(seen[c->id]++ == 0, "%s twice", c->words);
		CHECK(c->words && c->help && c->example);
		CHECKF(strchr(c->help, '\n') == NULL, "%s: help is one line",
		    c->words);
		CHECKF(entries(c->args) <= 64, "%s: at most 64 entries",
		    c->words);
		cmd_usage(c, 0, usage, sizeof(usage));
		wl = strlen(c->words);
		CHECKF(strncmp(usage, c->words, wl) == 0 &&
		    (usage[wl] == '\0' || usage[wl] == ' '),
		    "%s: usage starts with the words", c->words);

		/* The example parses, as this command. */
		n = cmd_parse(c->example, &pc, NULL, &code, err, sizeof(err));
		CHECKF(n == 0 && pc.spec == c, "%s: example \"%s\": %s",
		    c->words, c->example, n == 0 ? pc.spec->words : err);
		if (n == 0)
			cmd_free(&pc);

		/* Its words, spelled out, find it too. */
		CHECK(tok_split(c->words, &t, err, sizeof(err)) == 0);
		found = cmd_lookup(t.argc, t.argv, &nw, err, sizeof(err));
		CHECKF(found == c && nw == t.argc, "%s: own words", c->words);
		tok_free(&t);

		/* A keyword means one thing in a command. */
		n = keywords(c->args, kw, 0);
		for (k = 0; k < n; k++)
			for (m = k + 1; m < n; m++)
				CHECKF(strcmp(kw[k], kw[m]) != 0,
				    "%s: keyword %s twice", c->words, kw[k]);
		CHECKF(!(c->flags & CMD_F_CTLONLY) || c->id == CMD_QUIT ||
		    c->id == CMD_ZONE_SPLIT || c->id == CMD_ZONE_CHECK,
		    "%s: only quit and zone are handled by the ctl", c->words);
	}
	for (n = 0; n < CMD__COUNT; n++)
		CHECKF(seen[n] == 1, "id %d in the table once", n);
	CHECK(cmd_spec_of(CMD_TRACE)->flags & CMD_F_STREAM);
	CHECK(cmd_spec_of(CMD_QUIT)->flags & CMD_F_CTLONLY);
	CHECK(cmd_spec_of(CMD_ROUTE_ADD)->flags & CMD_F_MUTATES);
	CHECK(cmd_spec_of(CMD_REPLACE)->flags & CMD_F_BODY);
	CHECK(!(cmd_spec_of(CMD_SHOW_ROUTES)->flags & CMD_F_MUTATES));
}

static void
test_settings(void)
{
	size_t i;

	CHECK(setting_table_len > 0);
	for (i = 0; i < setting_table_len; i++) {
		CHECK(setting_lookup(setting_table[i].name) ==
		    &setting_table[i]);
		CHECK(setting_table[i].defval != NULL &&
		    setting_table[i].help != NULL);
	}
	CHECK(setting_lookup("default-action") != NULL);
	CHECK(strcmp(setting_lookup("retries")->defval, "1") == 0);
	CHECK(setting_lookup("no-such-setting") == NULL);
	CHECK(setting_lookup("default") == NULL);	/* no abbreviation */
}

int
main(void)
{
	test_lookup();
	test_table();
	test_settings();
	UNIT_DONE("cmdtab");
}

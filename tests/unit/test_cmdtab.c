/*
 * test_cmdtab: the command table (common/cmdtab.c).  Two halves: lookups
 * with abbreviation, table-driven; and the table's own consistency, which
 * dnsroutectl's help and completion rely on (every example dispatches to
 * its own entry, every argument kind is one completion knows).
 */
#include <stdio.h>
#include <string.h>

#include "cmdtab.h"
#include "tokenize.h"
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
	{ "s ro", NONE, 0, "ambiguous" },
	{ "show", NONE, 0, "incomplete" },
	{ "set default-action refuse", CMD_SET, 1, NULL },
	{ "se default-action refuse", CMD_SET, 1, NULL },
	{ "s x y", CMD_SET, 1, NULL },
	{ "b a ns 127.0.0.1", NONE, 0, "ambiguous" },	/* or begin */
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

static const char *const kinds[] = {
	"<backend>", "<pool>", "<route>", "<command>", "<setting>", "<qtype>",
	"<policy>", "<n>", "<new>", "<regex>", "<addr>", "<qname>", "<rcode>",
	"<file>",
	NULL
};

static int
known_kind(const char *k, size_t len)
{
	size_t i;

	for (i = 0; kinds[i] != NULL; i++)
		if (strlen(kinds[i]) == len && strncmp(kinds[i], k, len) == 0)
			return 1;
	return 0;
}

/* A value spec: a known <kind>, or literal alternatives "udp|tcp". */
static int
good_value(const char *v, size_t len)
{
	size_t i;

	if (len > 0 && v[0] == '<')
		return known_kind(v, len);
	for (i = 0; i < len; i++)
		if (!((v[i] >= 'a' && v[i] <= 'z') || v[i] == '|' ||
		    v[i] == '-'))
			return 0;
	return len > 0;
}

static const struct cmd_spec *
by_id(enum cmd_id id)
{
	static const struct cmd_spec none;
	size_t i;

	for (i = 0; i < cmd_table_len; i++)
		if (cmd_table[i].id == id)
			return &cmd_table[i];
	return &none;
}

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

static void
test_table(void)
{
	const struct cmd_spec *c, *found;
	struct tok_line t;
	char err[256];
	int seen[CMD__COUNT], nw, n;
	size_t i, wl;
	const char *p, *e;

	memset(seen, 0, sizeof(seen));
	CHECK(cmd_table_len == CMD__COUNT);
	for (i = 0; i < cmd_table_len; i++) {
		c = &cmd_table[i];
		CHECKF((int)c->id >= 0 && c->id < CMD__COUNT, "entry %zu", i);
		if ((int)c->id < 0 || c->id >= CMD__COUNT)
			continue;
		CHECKF(seen[c->id]++ == 0, "%s twice", c->words);
		CHECK(c->words && c->usage && c->help && c->example &&
		    c->args && c->opts);
		wl = strlen(c->words);
		CHECKF(strncmp(c->usage, c->words, wl) == 0 &&
		    (c->usage[wl] == '\0' || c->usage[wl] == ' '),
		    "%s: usage starts with the words", c->words);
		CHECKF(strchr(c->help, '\n') == NULL, "%s: help is one line",
		    c->words);

		/* The example is a command that dispatches to this entry. */
		CHECK(tok_split(c->example, &t, err, sizeof(err)) == 0);
		found = cmd_lookup(t.argc, t.argv, &nw, err, sizeof(err));
		CHECKF(found == c, "%s: example \"%s\" -> %s", c->words,
		    c->example, found ? found->words : err);
		tok_free(&t);

		/* Its words, spelled out, find it too. */
		CHECK(tok_split(c->words, &t, err, sizeof(err)) == 0);
		found = cmd_lookup(t.argc, t.argv, &nw, err, sizeof(err));
		CHECKF(found == c && nw == t.argc, "%s: own words", c->words);
		tok_free(&t);

		/* args: blank-separated known kinds. */
		for (p = c->args, n = 0; *p != '\0'; p = e) {
			while (*p == ' ')
				p++;
			e = p + strcspn(p, " ");
			if (e > p)
				CHECKF(known_kind(p, e - p), "%s: kind %.*s",
				    c->words, (int)(e - p), p);
			n++;
		}
		/* opts: keyword or keyword=value-spec. */
		for (p = c->opts; *p != '\0'; p = e) {
			const char *eq;

			while (*p == ' ')
				p++;
			e = p + strcspn(p, " ");
			if (e == p)
				continue;
			eq = memchr(p, '=', e - p);
			CHECKF(good_value(p, (eq ? eq : e) - p) && *p != '<',
			    "%s: keyword %.*s", c->words, (int)(e - p), p);
			if (eq != NULL)
				CHECKF(good_value(eq + 1, e - eq - 1),
				    "%s: value of %.*s", c->words,
				    (int)(e - p), p);
		}
		CHECKF(!(c->flags & CMD_F_CTLONLY) || c->id == CMD_QUIT ||
		    c->id == CMD_ZONE_SPLIT || c->id == CMD_ZONE_CHECK,
		    "%s: only quit and zone are handled by the ctl", c->words);
	}
	for (n = 0; n < CMD__COUNT; n++)
		CHECKF(seen[n] == 1, "id %d in the table once", n);
	CHECK(by_id(CMD_TRACE)->flags & CMD_F_STREAM);
	CHECK(by_id(CMD_QUIT)->flags & CMD_F_CTLONLY);
	CHECK(by_id(CMD_ROUTE_ADD)->flags & CMD_F_MUTATES);
	CHECK(!(by_id(CMD_SHOW_ROUTES)->flags & CMD_F_MUTATES));
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

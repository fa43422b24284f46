// FUZZ-BUILD: common/tokenize.c common/cmdtab.c common/cmdformat.c common/b64.c common/cmdparse.c common/cmdhelp.c common/argparse.c common/ctlproto.c common/dnsmsg.c common/dnsnames.c common/script.c common/settings.c common/words.c common/util.c common/log.c
/*
 * fuzz_cmdline: libFuzzer target for the path every command takes before
 * it reaches a handler, on both sides of the socket: the reader of
 * command texts (batch files, replace's data), tok_split(), the one
 * parser (cmd_parse), and completion.  Beyond not crashing it checks two
 * contracts:
 *   - quoting: each word, through tok_quote() and split again, gives back
 *     exactly the same words;
 *   - the formatter: a command that parses, formatted (what export and
 *     the replace report print), parses back to the same command.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmdtab.h"
#include "ctlproto.h"
#include "script.h"
#include "tokenize.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_quoting(const struct tok_line *t)
{
	struct tok_line t2;
	char err[256], *joined, *q;
	size_t cap, len = 0;
	int i, r;

	cap = 1;
	for (i = 0; i < t->argc; i++)
		cap += 2 * strlen(t->argv[i]) + 3;
	joined = malloc(cap);
	q = malloc(cap);
	joined[0] = '\0';
	for (i = 0; i < t->argc; i++) {
		if ((r = tok_quote(t->argv[i], q, cap)) < 0 ||
		    (size_t)r != strlen(q))
			abort();
		if (i > 0)
			joined[len++] = ' ';
		memcpy(joined + len, q, r + 1);
		len += r;
	}
	if (tok_split(joined, &t2, err, sizeof(err)) == -1 ||
	    t2.argc != t->argc)
		abort();
	for (i = 0; i < t->argc; i++)
		if (strcmp(t->argv[i], t2.argv[i]) != 0)
			abort();
	tok_free(&t2);
	/* A word that needs no quotes is given back as it is. */
	for (i = 0; i < t->argc; i++)
		if (tok_quote(t->argv[i], q, strlen(t->argv[i]) + 1) >= 0 &&
		    strcmp(q, t->argv[i]) != 0)
			abort();
	free(q);
	free(joined);
}

static void
check_format(const char *line)
{
	static char err[8192], one[65536], two[65536];
	struct cmd c, d;
	int code;

	/* A request is at most CTL_LINE_MAX; quoting may double a word. */
	if (strlen(line) >= CTL_LINE_MAX / 2 ||
	    cmd_parse(line, &c, NULL, &code, err, sizeof(err)) != 0)
		return;
	if (cmd_format(&c, c.given, one, sizeof(one)) < 0)
		abort();
	if (cmd_parse(one, &d, NULL, &code, err, sizeof(err)) != 0)
		abort();
	if (d.spec != c.spec || cmd_diff(c.spec, &c.a, &d.a) != 0)
		abort();
	if (cmd_format(&d, d.given, two, sizeof(two)) < 0 ||
	    strcmp(one, two) != 0)
		abort();
	cmd_free(&c);
	cmd_free(&d);
}

static const char *const some[] = { "a", "b-c", NULL };

static const char *const *
names(void *arg, const char *show)
{
	(void)arg;
	(void)show;
	return some;
}

static void
add(void *arg, const char *w)
{
	(*(size_t *)arg) += strlen(w);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct script sc;
	struct tok_line t;
	const struct cmd_spec *c;
	char err[256], *line;
	unsigned start;
	size_t seen = 0;
	int nw, n;

	if (size > 64 * 1024)
		return 0;
	/* Commands as a file holds them (NUL ends a C string line). */
	script_init_mem(&sc, (const char *)data, size);
	for (n = 0; n < 64 && script_next(&sc, &line, &start) == 1; n++) {
		if (start == 0)
			abort();
		if (tok_split(line, &t, err, sizeof(err)) == -1) {
			if (t.open_quote && t.last_word_start >= strlen(line))
				abort();
			continue;
		}
		if (t.argc < 0 || t.argc > TOK_MAX_WORDS ||
		    t.argv[t.argc] != NULL)
			abort();
		c = cmd_lookup(t.argc, t.argv, &nw, err, sizeof(err));
		if (c != NULL && (nw < 1 || nw > t.argc))
			abort();
		check_quoting(&t);
		check_format(line);
		cmd_complete(t.argc > 0 ? t.argc - 1 : 0, t.argv,
		    t.argc > 0 ? t.argv[t.argc - 1] : "", add, names, &seen);
		tok_free(&t);
	}
	script_free(&sc);
	return 0;
}

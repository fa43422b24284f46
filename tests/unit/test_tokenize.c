/*
 * test_tokenize: the word splitter and quoter (common/tokenize.c), and the
 * field escaping of the control protocol (common/ctlproto.c) that carries
 * the words' results back.  Table-driven: each case is one line here.
 */
#include <stdio.h>
#include <string.h>

#include "ctlproto.h"
#include "tokenize.h"
#include "util.h"
#include "unit.h"

#define W(...)	{ __VA_ARGS__, NULL }

static const struct {
	const char	*in;
	int		 ok;
	const char	*words[8];
} split_cases[] = {
	{ "", 1, W(NULL) },
	{ "   \t ", 1, W(NULL) },
	{ "show backends", 1, W("show", "backends") },
	{ "  show\tbackends  \n", 1, W("show", "backends") },
	{ "route add ^[ab]\\.example\\.$ pool ab", 1,
	  W("route", "add", "^[ab]\\.example\\.$", "pool", "ab") },
	{ "route add '^[ab] x$' pool ab", 1,
	  W("route", "add", "^[ab] x$", "pool", "ab") },
	{ "a\"b c\"d", 1, W("ab cd") },
	{ "\"a\\\"b\\\\c\\d\"", 1, W("a\"b\\c\\d") },
	{ "'a\\b'", 1, W("a\\b") },
	{ "''", 1, W("") },
	{ "'' x \"\"", 1, W("", "x", "") },
	{ "show # a comment", 1, W("show") },
	{ "# all comment", 1, W(NULL) },
	{ "#", 1, W(NULL) },
	{ "a#b", 1, W("a#b") },
	{ "'#x' y", 1, W("#x", "y") },
	{ "''#x", 1, W("#x") },
	{ "\"it's\"", 1, W("it's") },
	{ "'a\"b'", 1, W("a\"b") },
	{ "comment 'caf\xc3\xa9 \xc2\xb5s'", 1,
	  W("comment", "caf\xc3\xa9 \xc2\xb5s") },
	{ "a\001b", 1, W("a\001b") },
	{ "route add 'abc", 0, W(NULL) },
	{ "\"abc", 0, W(NULL) },
	{ "\"abc\\\"", 0, W(NULL) },
	{ "x '", 0, W(NULL) },
};

static const struct {
	const char	*in;
	const char	*out;		/* NULL: same as in */
} quote_cases[] = {
	{ "abc", NULL },
	{ "^[ab]\\.example\\.$", NULL },
	{ "a#", NULL },
	{ "", "''" },
	{ "a b", "'a b'" },
	{ "a\tb", "'a\tb'" },
	{ "#x", "'#x'" },
	{ "a\"b", "'a\"b'" },
	{ "it's", "\"it's\"" },
	{ "it's \"x\"\\", "\"it's \\\"x\\\"\\\\\"" },
	{ "'", "\"'\"" },
	{ "\n", "'\n'" },
};

static const struct {
	const char	*in;
	const char	*esc;
} escape_cases[] = {
	{ "plain", "plain" },
	{ "", "" },
	{ "a\tb", "a\\tb" },
	{ "a\nb\rc", "a\\nb\\rc" },
	{ "back\\slash", "back\\\\slash" },
	{ "\001\033\177", "\\001\\027\\127" },
	{ "caf\xc3\xa9", "caf\xc3\xa9" },
	{ "^[ab]\\.x\\.$", "^[ab]\\\\.x\\\\.$" },
};

static const struct {
	const char	*line;
	int		 code;
	int		 more;
	const char	*text;
} parse_cases[] = {
	{ "0001 dnsrouted 0.1.0 protocol 1", 1, 0,
	  "dnsrouted 0.1.0 protocol 1" },
	{ "1001-a\tb", 1001, 1, "a\tb" },
	{ "0000 ", 0, 0, "" },
	{ "0000", 0, 0, "" },
	{ "8000 no such backend", 8000, 0, "no such backend" },
	{ "9000-", 9000, 1, "" },
	{ "000 x", -1, 0, NULL },
	{ "00000 x", -1, 0, NULL },
	{ "abcd x", -1, 0, NULL },
	{ "", -1, 0, NULL },
	{ "1001+x", -1, 0, NULL },
};

static void
test_split(void)
{
	struct tok_line t;
	char err[128];
	size_t i;
	int k, r;

	for (i = 0; i < NELEMS(split_cases); i++) {
		err[0] = '\0';
		r = tok_split(split_cases[i].in, &t, err, sizeof(err));
		CHECKF((r == 0) == split_cases[i].ok, "case %zu \"%s\"", i,
		    split_cases[i].in);
		if (r != 0) {
			CHECKF(strcmp(err, "unterminated quote") == 0,
			    "case %zu: err \"%s\"", i, err);
			CHECK(t.open_quote == 1);
			CHECK(t.argc == 0 && t.buf == NULL);
			continue;
		}
		for (k = 0; split_cases[i].words[k] != NULL; k++) {
			CHECKF(k < t.argc, "case %zu: too few words", i);
			if (k >= t.argc)
				break;
			CHECKF(strcmp(t.argv[k], split_cases[i].words[k]) == 0,
			    "case %zu word %d: \"%s\"", i, k, t.argv[k]);
		}
		CHECKF(k == t.argc, "case %zu: %d words, want %d", i, t.argc,
		    k);
		CHECK(t.argv[t.argc] == NULL);
		CHECK(t.open_quote == 0);
		tok_free(&t);
	}
}

static void
test_completion_fields(void)
{
	struct tok_line t;
	char err[128];

	CHECK(tok_split("show ba", &t, err, sizeof(err)) == 0);
	CHECK(t.argc == 2 && t.last_word_start == 5 && !t.ends_in_blank);
	tok_free(&t);
	CHECK(tok_split("show ", &t, err, sizeof(err)) == 0);
	CHECK(t.argc == 1 && t.ends_in_blank);
	tok_free(&t);
	CHECK(tok_split("", &t, err, sizeof(err)) == 0);
	CHECK(t.argc == 0 && t.ends_in_blank);
	tok_free(&t);
	CHECK(tok_split("route add 'x y", &t, err, sizeof(err)) == -1);
	CHECK(t.open_quote && t.last_word_start == 10);
	tok_free(&t);			/* harmless after a failure */
	CHECK(tok_split("a 'b c'd", &t, err, sizeof(err)) == 0);
	CHECK(t.argc == 2 && t.last_word_start == 2 && !t.ends_in_blank);
	tok_free(&t);
}

static void
test_limits(void)
{
	struct tok_line t;
	char line[TOK_MAX_WORDS * 2 + 8], err[128];
	int i;

	for (i = 0; i < TOK_MAX_WORDS; i++) {
		line[2 * i] = 'x';
		line[2 * i + 1] = ' ';
	}
	line[2 * TOK_MAX_WORDS] = '\0';
	CHECK(tok_split(line, &t, err, sizeof(err)) == 0);
	CHECK(t.argc == TOK_MAX_WORDS);
	tok_free(&t);
	strcat(line, "y");
	CHECK(tok_split(line, &t, err, sizeof(err)) == -1);
	CHECK(strncmp(err, "too many words", 14) == 0);
	CHECK(!t.open_quote);
}

static void
test_quote(void)
{
	struct tok_line t;
	char out[256], err[128];
	const char *want;
	size_t i;

	for (i = 0; i < NELEMS(quote_cases); i++) {
		want = quote_cases[i].out ? quote_cases[i].out :
		    quote_cases[i].in;
		CHECKF(tok_quote(quote_cases[i].in, out, sizeof(out)) ==
		    (int)strlen(want), "case %zu", i);
		CHECKF(strcmp(out, want) == 0, "case %zu: got [%s]", i, out);
		/* The point of quoting: the word comes back unchanged. */
		CHECK(tok_split(out, &t, err, sizeof(err)) == 0);
		CHECKF(t.argc == 1 && strcmp(t.argv[0],
		    quote_cases[i].in) == 0, "case %zu round trip", i);
		tok_free(&t);
	}
	CHECK(tok_quote("abc", out, 3) == -1);
	CHECK(tok_quote("abc", out, 4) == 3);
	CHECK(tok_quote("a b", out, 5) == -1);
	CHECK(tok_quote("a b", out, 6) == 5);
	CHECK(tok_quote("it's", out, 6) == -1);
	CHECK(tok_quote("it's", out, 7) == 6);
}

static void
test_escape(void)
{
	char buf[256], small[4];
	size_t i;
	int n;

	for (i = 0; i < NELEMS(escape_cases); i++) {
		n = ctl_escape(escape_cases[i].in, strlen(escape_cases[i].in),
		    buf, sizeof(buf));
		CHECKF(n == (int)strlen(escape_cases[i].esc) &&
		    strcmp(buf, escape_cases[i].esc) == 0,
		    "case %zu: got [%s]", i, buf);
		CHECKF(ctl_unescape(buf) == strlen(escape_cases[i].in) &&
		    strcmp(buf, escape_cases[i].in) == 0, "case %zu back", i);
	}
	/* Every byte but NUL survives the round trip. */
	for (i = 1; i < 256; i++) {
		char one[2] = { (char)i, '\0' };

		CHECK(ctl_escape(one, 1, buf, sizeof(buf)) > 0);
		CHECK(strpbrk(buf, "\t\n\r") == NULL);
		CHECKF(ctl_unescape(buf) == 1 && (unsigned char)buf[0] == i,
		    "byte %zu", i);
	}
	CHECK(ctl_escape("abcd", 4, small, sizeof(small)) == -1);
	CHECK(strcmp(small, "abc") == 0);
	CHECK(ctl_escape("\001", 1, small, sizeof(small)) == -1);
	/* Unknown or short escapes are kept as they are. */
	strcpy(buf, "a\\qb\\12\\999\\");
	CHECK(ctl_unescape(buf) == strlen("a\\qb\\12\\999\\"));
	CHECK(strcmp(buf, "a\\qb\\12\\999\\") == 0);
}

static void
test_parse(void)
{
	const char *text;
	size_t i;
	int more, code;

	for (i = 0; i < NELEMS(parse_cases); i++) {
		more = -1;
		text = NULL;
		code = ctl_parse_line(parse_cases[i].line, &more, &text);
		CHECKF(code == parse_cases[i].code, "case %zu: code %d", i,
		    code);
		if (code == -1)
			continue;
		CHECKF(more == parse_cases[i].more, "case %zu: more", i);
		CHECKF(text != NULL && strcmp(text, parse_cases[i].text) == 0,
		    "case %zu: text", i);
	}
}

int
main(void)
{
	test_split();
	test_completion_fields();
	test_limits();
	test_quote();
	test_escape();
	test_parse();
	UNIT_DONE("tokenize");
}

/*
 * test_ctlproto: the control protocol's framing (common/ctlproto.c): a
 * field of any bytes escapes into one that holds no tab, newline or other
 * control byte and unescapes back exactly; reply lines split into code,
 * "more" and text; a request's data prefix "{N} " is told apart from a
 * command and bounded.
 */
#include <stdio.h>
#include <string.h>

#include "ctlproto.h"
#include "util.h"
#include "unit.h"

static void
test_escape_every_byte(void)
{
	char src[256], esc[256 * 4 + 1], back[256 * 4 + 1];
	int i, n;

	for (i = 0; i < 255; i++)
		src[i] = (char)(i + 1);		/* every byte but NUL */
	src[255] = '\0';
	n = ctl_escape(src, 255, esc, sizeof(esc));
	CHECK(n > 255);
	for (i = 0; i < n; i++)
		CHECKF((unsigned char)esc[i] >= 0x20 &&
		    (unsigned char)esc[i] != 0x7f, "byte %d is 0x%02x", i,
		    (unsigned char)esc[i]);
	memcpy(back, esc, (size_t)n + 1);
	CHECK(ctl_unescape(back) == 255 && memcmp(back, src, 255) == 0);
}

/* The escape a byte at a time, as it was written first: ctl_escape copies
 * runs of plain bytes, and must give the same string and return for any
 * input and room, a truncated one too. */
static int
escape_ref(const char *src, size_t srclen, char *dst, size_t dstlen)
{
	size_t i, n = 0, elen;
	char esc[5];

	if (dstlen == 0)
		return -1;
	for (i = 0; i < srclen; i++) {
		unsigned char c = src[i];

		if (c == '\\')
			memcpy(esc, "\\\\", 3);
		else if (c == '\t')
			memcpy(esc, "\\t", 3);
		else if (c == '\n')
			memcpy(esc, "\\n", 3);
		else if (c == '\r')
			memcpy(esc, "\\r", 3);
		else if (c < 0x20 || c == 0x7f)
			snprintf(esc, sizeof(esc), "\\%03u", c);
		else {
			esc[0] = (char)c;
			esc[1] = '\0';
		}
		elen = strlen(esc);
		if (n + elen >= dstlen) {
			dst[n] = '\0';
			return -1;
		}
		memcpy(dst + n, esc, elen);
		n += elen;
	}
	dst[n] = '\0';
	return (int)n;
}

static void
test_escape_runs(void)
{
	static const char bytes[] = "ab\\\t\n\r\001\177\200 .-";
	char src[40], want[200], got[200];
	unsigned x = 12345;
	size_t len, room;
	int k, i, rw, rg;

	for (k = 0; k < 3000; k++) {
		len = (x = x * 1103515245 + 12345) >> 16 & 31;
		for (i = 0; i < (int)len; i++) {
			x = x * 1103515245 + 12345;
			/* Mostly plain bytes, in runs. */
			src[i] = (x >> 16) % 4 != 0 ? 'p' :
			    bytes[(x >> 18) % (sizeof(bytes) - 1)];
		}
		for (room = 0; room < 140; room++) {
			memset(want, 'W', sizeof(want));
			memset(got, 'W', sizeof(got));
			rw = escape_ref(src, len, want, room);
			rg = ctl_escape(src, len, got, room);
			CHECKF(rw == rg && memcmp(want, got, sizeof(got)) == 0,
			    "input %d, room %zu: %d \"%.*s\", want %d \"%.*s\"",
			    k, room, rg, (int)room, got, rw, (int)room, want);
		}
	}
}

static void
test_escape_cases(void)
{
	static const struct {
		const char	*in, *out;
	} cases[] = {
		{ "plain", "plain" },
		{ "a\tb", "a\\tb" },
		{ "two\nlines\r", "two\\nlines\\r" },
		{ "back\\slash", "back\\\\slash" },
		{ "\\N", "\\\\N" },		/* never the null field */
		{ "bell\007", "bell\\007" },
		{ "del\177", "del\\127" },
		{ "caf\xc3\xa9", "caf\xc3\xa9" },	/* UTF-8 passes */
		{ "", "" },
	};
	char buf[64];
	size_t i;

	for (i = 0; i < NELEMS(cases); i++) {
		CHECKF(ctl_escape(cases[i].in, strlen(cases[i].in), buf,
		    sizeof(buf)) == (int)strlen(cases[i].out) &&
		    strcmp(buf, cases[i].out) == 0, "escape \"%s\": \"%s\"",
		    cases[i].in, buf);
		ctl_unescape(buf);
		CHECKF(strcmp(buf, cases[i].in) == 0, "back \"%s\"", buf);
	}
	/* Too small: -1, and still a string. */
	CHECK(ctl_escape("abcdef", 6, buf, 4) == -1 && strlen(buf) < 4);
	CHECK(ctl_escape("a", 1, buf, 0) == -1);
	/* Unknown escapes and \DDD past 255 are kept as they are. */
	snprintf(buf, sizeof(buf), "\\q\\999\\12");
	ctl_unescape(buf);
	CHECK(strcmp(buf, "\\q\\999\\12") == 0);
}

static void
test_parse_line(void)
{
	static const struct {
		const char	*line;
		int		 code, more;
		const char	*text;
	} cases[] = {
		{ "0000 ok", 0, 0, "ok" },
		{ "1001-a\tb", 1001, 1, "a\tb" },
		{ "8000 no", 8000, 0, "no" },
		{ "9000", 9000, 0, "" },
		{ "0001 dnsrouted 1.0 protocol 2", 1, 0,
		    "dnsrouted 1.0 protocol 2" },
		{ "123 x", -1, 0, NULL },
		{ "12a4 x", -1, 0, NULL },
		{ "1234:x", -1, 0, NULL },
		{ "", -1, 0, NULL },
	};
	const char *text;
	size_t i;
	int more, code;

	for (i = 0; i < NELEMS(cases); i++) {
		more = -1;
		text = NULL;
		code = ctl_parse_line(cases[i].line, &more, &text);
		CHECKF(code == cases[i].code, "\"%s\": %d", cases[i].line,
		    code);
		if (cases[i].code >= 0)
			CHECKF(more == cases[i].more && text != NULL &&
			    strcmp(text, cases[i].text) == 0, "\"%s\"",
			    cases[i].line);
	}
	CHECK(CTL_CODE_IS_ERROR(CTL_ERR_RUNTIME) &&
	    CTL_CODE_IS_ERROR(CTL_ERR_SYNTAX) && !CTL_CODE_IS_ERROR(CTL_ROW));
}

static void
test_body_prefix(void)
{
	static const struct {
		const char	*line;
		int		 rc;
		size_t		 len;
		const char	*rest;
	} cases[] = {
		{ "{5} replace", 1, 5, "replace" },
		{ "{0} replace dry-run", 1, 0, "replace dry-run" },
		{ "{67108864} replace", 1, CTL_BODY_MAX, "replace" },
		{ "{67108865} replace", -1, 0, NULL },
		{ "{99999999999999999999999} x", -1, 0, NULL },
		{ "{} replace", -1, 0, NULL },
		{ "{5}replace", -1, 0, NULL },
		{ "{5 replace", -1, 0, NULL },
		{ "{-5} replace", -1, 0, NULL },
		{ "replace {5}", 0, 0, NULL },	/* a word, not a prefix */
		{ "route add x refuse comment {5}", 0, 0, NULL },
		{ "", 0, 0, NULL },
	};
	const char *rest;
	size_t i, len;
	int rc;

	for (i = 0; i < NELEMS(cases); i++) {
		len = 12345;
		rest = NULL;
		rc = ctl_body_prefix(cases[i].line, &len, &rest);
		CHECKF(rc == cases[i].rc, "\"%s\": %d", cases[i].line, rc);
		if (rc == 1)
			CHECKF(len == cases[i].len &&
			    strcmp(rest, cases[i].rest) == 0, "\"%s\": %zu "
			    "\"%s\"", cases[i].line, len, rest);
	}
}

int
main(void)
{
	test_escape_every_byte();
	test_escape_cases();
	test_escape_runs();
	test_parse_line();
	test_body_prefix();
	UNIT_DONE("ctlproto");
}

/*
 * ctlproto: field escaping and reply-line parsing for the control protocol
 * (see ctlproto.h).  An escaped field contains no byte below 0x20 and no
 * DEL, so tab and newline are free to frame fields and lines.  Other
 * control bytes are written \DDD, three decimal digits as in DNS
 * presentation format.  ctl_unescape() is the exact inverse of
 * ctl_escape(); a backslash not followed by a known escape is kept as is.
 */
#include <stdio.h>
#include <string.h>

#include "ctlproto.h"

/* A byte written as itself. */
static int
plain(unsigned char c)
{
	return c >= 0x20 && c != 0x7f && c != '\\';
}

int
ctl_escape(const char *src, size_t srclen, char *dst, size_t dstlen)
{
	size_t i, n = 0, run;
	char esc[5];

	if (dstlen == 0)
		return -1;
	for (i = 0; i < srclen; i++) {
		unsigned char c = src[i];
		size_t elen;

		/* Runs of plain bytes (nearly all of a field) in one copy:
		 * a byte at a time was 3% of a 10,000-route replace. */
		for (run = 0; i + run < srclen &&
		    plain((unsigned char)src[i + run]); run++)
			;
		if (run > 0) {
			if (n + run >= dstlen) {
				memcpy(dst + n, src + i, dstlen - 1 - n);
				dst[dstlen - 1] = '\0';
				return -1;
			}
			memcpy(dst + n, src + i, run);
			n += run;
			i += run - 1;
			continue;
		}
		switch (c) {
		case '\\':
			memcpy(esc, "\\\\", 3);
			break;
		case '\t':
			memcpy(esc, "\\t", 3);
			break;
		case '\n':
			memcpy(esc, "\\n", 3);
			break;
		case '\r':
			memcpy(esc, "\\r", 3);
			break;
		default:
			snprintf(esc, sizeof(esc), "\\%03u", c);
			break;
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

static int
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

size_t
ctl_unescape(char *field)
{
	char *r = field, *w = field;

	while (*r != '\0') {
		if (*r != '\\') {
			*w++ = *r++;
			continue;
		}
		switch (r[1]) {
		case '\\':
			*w++ = '\\';
			r += 2;
			break;
		case 't':
			*w++ = '\t';
			r += 2;
			break;
		case 'n':
			*w++ = '\n';
			r += 2;
			break;
		case 'r':
			*w++ = '\r';
			r += 2;
			break;
		default:
			if (is_digit(r[1]) && is_digit(r[2]) &&
			    is_digit(r[3])) {
				int v = (r[1] - '0') * 100 + (r[2] - '0') * 10 +
				    (r[3] - '0');

				if (v <= 255) {
					*w++ = (char)v;
					r += 4;
					break;
				}
			}
			*w++ = *r++;
			break;
		}
	}
	*w = '\0';
	return (size_t)(w - field);
}

int
ctl_parse_line(const char *line, int *more, const char **text)
{
	int i, code = 0;

	for (i = 0; i < 4; i++) {
		if (!is_digit(line[i]))
			return -1;
		code = code * 10 + (line[i] - '0');
	}
	switch (line[4]) {
	case '-':
		*more = 1;
		*text = line + 5;
		break;
	case ' ':
		*more = 0;
		*text = line + 5;
		break;
	case '\0':
		/* "CCCC" alone: a final line with no text. */
		*more = 0;
		*text = line + 4;
		break;
	default:
		return -1;
	}
	return code;
}

int
ctl_body_prefix(const char *line, size_t *len, const char **rest)
{
	const char *p = line + 1;
	size_t n = 0;

	if (line[0] != '{')
		return 0;
	if (!is_digit(*p))
		return -1;
	for (; is_digit(*p); p++) {
		n = n * 10 + (size_t)(*p - '0');
		if (n > CTL_BODY_MAX)
			return -1;
	}
	if (p[0] != '}' || p[1] != ' ')
		return -1;
	*len = n;
	*rest = p + 2;
	return 1;
}

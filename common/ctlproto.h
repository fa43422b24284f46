/*
 * ctlproto: the control-socket protocol, shared by dnsrouted and dnsroutectl.
 *
 * A BIRD-style line protocol over a Unix stream socket.  Every line the
 * daemon sends is "CCCC" + one separator + text + "\n": CCCC is four digits,
 * the separator is '-' when more lines of the same reply follow and ' ' on the
 * reply's final line.  The daemon greets each connection with one final line
 * "0001 dnsrouted VERSION protocol 2".  A request is one line of at most
 * CTL_LINE_MAX bytes ending in "\n", in the command language.  A request
 * that carries data (the desired state for `replace`) starts with "{N} "
 * (N decimal, at most CTL_BODY_MAX): N bytes of data follow its newline.
 * No command word starts with '{', so the prefix cannot be mistaken for
 * one, and data can hold any bytes, newlines included.  Rows are
 * tab-separated fields; inside a field, backslash, tab, newline, CR and other
 * control bytes are escaped (\\ \t \n \r \DDD), so a reply of any content
 * passes unambiguously.  The final line's code decides the exit status.
 */
#ifndef CTLPROTO_H
#define CTLPROTO_H

#include <stddef.h>

#define CTL_PROTOCOL_VERSION	2	/* 2: request data, codes 1005, 1006 */
#define CTL_LINE_MAX		16384
#define CTL_BODY_MAX		(64 * 1024 * 1024)

/* Reply codes. */
#define CTL_OK			0	/* final: done; text is a short message */
#define CTL_GREETING		1	/* final: greeting */
#define CTL_COLUMNS		1000	/* column names; a name ending in '#' is numeric */
#define CTL_ROW			1001	/* one row of fields */
#define CTL_TEXT		1002	/* free text (help, export lines) */
#define CTL_TRACE		1003	/* one streamed trace line (fields, as a row) */
#define CTL_NOTICE		1004	/* informational line ("42 queries missed") */
#define CTL_WHERE		1005	/* the line of the request's data the
					   final error is about */
#define CTL_CHANGE		1006	/* one change: op (+ - ~), command,
					   detail, line (fields, as a row) */
#define CTL_ERR_RUNTIME		8000	/* final: the command failed */
#define CTL_ERR_BUSY		8001	/* final: another client holds a transaction */
#define CTL_ERR_SYNTAX		9000	/* final: bad command or usage */

#define CTL_CODE_IS_ERROR(c)	((c) >= 8000)

/* A field that is exactly backslash-N has no value (JSON null, "-" in a
 * table).  ctl_escape() never produces it: it writes a backslash as \\. */
#define CTL_NULL_FIELD		"\\N"

/* Escape src (srclen bytes) into dst as one field: returns the length
 * written (excluding NUL), or -1 if dst is too small.  dst is always
 * NUL-terminated when dstlen > 0. */
int	ctl_escape(const char *src, size_t srclen, char *dst, size_t dstlen);
/* Unescape one field in place; returns its new length. */
size_t	ctl_unescape(char *field);

/* Split a received line "CCCC-text" or "CCCC text".  Returns the code and
 * sets *more (1 when '-') and *text (points into line), or -1 when the line
 * is not of that form. */
int	ctl_parse_line(const char *line, int *more, const char **text);

/* A request line's data prefix "{N} ": 1 with *len and *rest (the command
 * after it), 0 when the line has none, -1 when it is malformed or N is
 * over CTL_BODY_MAX. */
int	ctl_body_prefix(const char *line, size_t *len, const char **rest);

#endif

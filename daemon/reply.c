/*
 * reply: the lines of one reply (see reply.h), written to its buffer as
 * ctlproto.h has them.  Nothing here knows the connection: control.c
 * gives each request a reply and sends what it holds.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "ctlproto.h"
#include "log.h"
#include "reply.h"
#include "util.h"

static void
line_start(struct reply *r, int code)
{
	evbuffer_add_printf(r->out, "%04d-", code);
}

void
reply_columns(struct reply *r, const char *cols)
{
	line_start(r, CTL_COLUMNS);
	evbuffer_add_printf(r->out, "%s\n", cols);
}

/* Append s escaped (ctlproto.h): one field or one line's text, whatever
 * bytes it holds. */
static void
add_escaped(struct evbuffer *out, const char *s, size_t n)
{
	char stackbuf[1024], *buf = stackbuf;
	size_t cap = n * 4 + 1;
	int len;

	if (cap > sizeof(stackbuf))
		buf = xmalloc(cap);
	else
		cap = sizeof(stackbuf);
	len = ctl_escape(s, n, buf, cap);
	if (len > 0)
		evbuffer_add(out, buf, (size_t)len);
	if (buf != stackbuf)
		free(buf);
}

/* Open a row, or separate the next field of the open one. */
static void
field_start(struct reply *r)
{
	if (!r->infield) {
		line_start(r, CTL_ROW);
		r->infield = 1;
	} else
		evbuffer_add(r->out, "\t", 1);
}

void
reply_fieldn(struct reply *r, const char *s, size_t n)
{
	field_start(r);
	add_escaped(r->out, s, n);
}

void
reply_field(struct reply *r, const char *s)
{
	reply_fieldn(r, s, strlen(s));
}

void
reply_fieldf(struct reply *r, const char *fmt, ...)
{
	char buf[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	reply_field(r, buf);
}

void
reply_field_int(struct reply *r, long long v)
{
	reply_fieldf(r, "%lld", v);
}

void
reply_field_null(struct reply *r)
{
	field_start(r);
	evbuffer_add(r->out, CTL_NULL_FIELD, strlen(CTL_NULL_FIELD));
}

void
reply_end_row(struct reply *r)
{
	if (r->infield) {
		evbuffer_add(r->out, "\n", 1);
		r->infield = 0;
	}
}

static void
reply_line(struct reply *r, int code, const char *s)
{
	reply_end_row(r);
	line_start(r, code);
	add_escaped(r->out, s, strlen(s));
	evbuffer_add(r->out, "\n", 1);
}

void
reply_text(struct reply *r, const char *s)
{
	reply_line(r, CTL_TEXT, s);
}

void
reply_textf(struct reply *r, const char *fmt, ...)
{
	char buf[4096];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	reply_text(r, buf);
}

void
reply_notice(struct reply *r, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	reply_line(r, CTL_NOTICE, buf);
}

void
reply_change(struct reply *r, char op, const char *command,
    const char *detail, unsigned line)
{
	char ops[2] = { op, '\0' };

	reply_end_row(r);
	line_start(r, CTL_CHANGE);
	add_escaped(r->out, ops, 1);
	evbuffer_add(r->out, "\t", 1);
	add_escaped(r->out, command, strlen(command));
	evbuffer_add(r->out, "\t", 1);
	if (detail != NULL && *detail != '\0')
		add_escaped(r->out, detail, strlen(detail));
	else
		evbuffer_add(r->out, CTL_NULL_FIELD, strlen(CTL_NULL_FIELD));
	if (line > 0)
		evbuffer_add_printf(r->out, "\t%u\n", line);
	else
		evbuffer_add_printf(r->out, "\t%s\n", CTL_NULL_FIELD);
}

static void
reply_final(struct reply *r, int code, const char *msg)
{
	if (r->final)
		return;
	reply_end_row(r);
	if (CTL_CODE_IS_ERROR(code) && r->where > 0)
		evbuffer_add_printf(r->out, "%04d-%u\n", CTL_WHERE, r->where);
	/* The final text is one line whatever it contains. */
	evbuffer_add_printf(r->out, "%04d ", code);
	add_escaped(r->out, msg, strlen(msg));
	evbuffer_add(r->out, "\n", 1);
	r->final = 1;
}

void
reply_ok(struct reply *r, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;

	if (r->discard)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (r->hold) {
		snprintf(r->heldmsg, sizeof(r->heldmsg), "%s", buf);
		r->held = 1;
		return;
	}
	reply_final(r, CTL_OK, buf);
}

void
reply_hold(struct reply *r)
{
	if (r->hold)
		return;
	r->hold = 1;
	r->held = 0;
	r->held_from = r->out;
	r->out = evbuffer_new();
	if (r->out == NULL)
		fatalx("evbuffer_new failed");
}

/* Stop holding: send what was held, or drop it. */
static void
unhold(struct reply *r, int send)
{
	if (!r->hold)
		return;
	if (send)
		evbuffer_add_buffer(r->held_from, r->out);
	evbuffer_free(r->out);
	r->out = r->held_from;
	r->held_from = NULL;
	r->hold = 0;
}

void
reply_release(struct reply *r, const char *suffix)
{
	char msg[sizeof(r->heldmsg) + 64];

	unhold(r, 1);
	snprintf(msg, sizeof(msg), "%s%s", r->held ? r->heldmsg : "ok",
	    suffix != NULL ? suffix : "");
	r->held = 0;
	if (!r->async)
		reply_final(r, CTL_OK, msg);
}

void
reply_err(struct reply *r, int code, const char *fmt, ...)
{
	va_list ap;

	unhold(r, 0);
	if (r->final)
		return;
	va_start(ap, fmt);
	vsnprintf(r->errtext, sizeof(r->errtext), fmt, ap);
	va_end(ap);
	r->failed = 1;
	reply_final(r, code, r->errtext);
}

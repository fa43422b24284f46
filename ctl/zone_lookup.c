/*
 * zone_lookup: owner names to dnsrouted and their routes back.  Names are
 * packed into `route lookup NAME...` requests of up to LOOKUP_LINE bytes;
 * up to LOOKUP_WINDOW requests are in flight on the one connection (the
 * daemon reads requests while what it wrote stays under its limit, and
 * LOOKUP_WINDOW replies fit well under it), so the walk of the file and
 * the daemon's matching overlap.  Replies come in request order, a row per
 * name (and one more per qtype route that sends the name elsewhere); each
 * name's rows go to zs_result() with the tag it was queued with.
 *
 * The connection is the command's own: inside a transaction (the shell's
 * begin, or a batch) the lookups see its pending routes.  A reply that does
 * not answer the names asked, in order, is a protocol error.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctlproto.h"
#include "util.h"
#include "ctl.h"
#include "zone.h"

#define LOOKUP_LINE	16000		/* < CTL_LINE_MAX */
#define LOOKUP_WINDOW	4
#define MAX_ROWS	64		/* rows of one name */

struct batch {
	uint32_t	*tags;
	char		**names;
	int		 n, cap;
};

struct zlookup {
	struct ctl	*ctl;
	struct zslicer	*zs;
	char		*line;
	size_t		 len;
	struct batch	 b[LOOKUP_WINDOW + 1];	/* ring; b[cur] is being built */
	int		 head, count, cur;
	int		 failed;
	char		 err[512];
};

struct zlookup *
zlookup_new(struct ctl *ctl)
{
	struct zlookup *zl = xcalloc(1, sizeof(*zl));

	zl->ctl = ctl;
	zl->line = xmalloc(LOOKUP_LINE + 1);
	return zl;
}

void
zlookup_set_slicer(struct zlookup *zl, struct zslicer *zs)
{
	zl->zs = zs;
}

static void
batch_clear(struct batch *b)
{
	int i;

	for (i = 0; i < b->n; i++)
		free(b->names[i]);
	b->n = 0;
}

/* Read and drop the replies still in flight (the walk stopped early), so
 * that the connection, and a transaction on it, stay usable. */
static void
drain(struct zlookup *zl)
{
	char err[256], *text;
	int code, more;

	while (zl->count > 0 && zl->ctl->conn != NULL) {
		do {
			code = client_read(zl->ctl->conn, -1, &more, &text,
			    err, sizeof(err));
		} while (code >= 0 && more);
		if (code < 0) {
			ctl_disconnect(zl->ctl);
			break;
		}
		zl->count--;
	}
	zl->count = 0;
}

void
zlookup_free(struct zlookup *zl)
{
	int i;

	if (zl == NULL)
		return;
	drain(zl);
	for (i = 0; i <= LOOKUP_WINDOW; i++) {
		batch_clear(&zl->b[i]);
		free(zl->b[i].tags);
		free(zl->b[i].names);
	}
	free(zl->line);
	free(zl);
}

const char *
zlookup_error(const struct zlookup *zl)
{
	return zl->err;
}

static int
lost(struct zlookup *zl, const char *why)
{
	snprintf(zl->err, sizeof(zl->err), "route lookup: %.480s", why);
	zl->failed = 1;
	/* Out of step: the connection cannot be used again. */
	ctl_disconnect(zl->ctl);
	return -1;
}

/* The rows of one name, copied out of the read buffer. */
struct group {
	char		*name;
	struct zs_route	 r[MAX_ROWS];
	int		 n;
};

static void
group_clear(struct group *g)
{
	int i;

	for (i = 0; i < g->n; i++) {
		free((char *)g->r[i].action);
		free((char *)g->r[i].pool);
		free((char *)g->r[i].members);
	}
	free(g->name);
	memset(g, 0, sizeof(*g));
}

static char *
dup_or_null(const char *s)
{
	return s != NULL ? xstrdup(s) : NULL;
}

/* Hand the group to the slicer as the k-th name of batch b. */
static int
deliver(struct zlookup *zl, struct batch *b, int k, struct group *g)
{
	if (k >= b->n || strcmp(b->names[k], g->name) != 0)
		return lost(zl, "the reply does not follow the names asked");
	zs_result(zl->zs, b->tags[k], g->name, g->r, g->n);
	group_clear(g);
	return 0;
}

/* Read the reply to the oldest request in flight. */
static int
receive(struct zlookup *zl)
{
	struct batch *b = &zl->b[zl->head];
	struct group g;
	struct zs_route r;
	char err[256], *text, *f[ZLOOKUP_COLUMNS + 1], *name;
	int code, more, n, k = 0;

	memset(&g, 0, sizeof(g));
	for (;;) {
		if (zl->ctl->conn == NULL)
			return lost(zl, "no connection");
		code = client_read(zl->ctl->conn, -1, &more, &text, err,
		    sizeof(err));
		if (code == -2)
			return lost(zl, "interrupted");
		if (code == -1)
			return lost(zl, err);
		if (!more)
			break;
		if (code == CTL_NOTICE) {
			ctl_unescape(text);
			zl->ctl->out->notice(zl->ctl, text);
			continue;
		}
		if (code != CTL_ROW)
			continue;	/* columns, and lines newer than us */
		n = zlookup_fields(text, f, ZLOOKUP_COLUMNS);
		if (zlookup_parse(f, n, &name, &r) == -1)
			goto bad;
		if (g.n > 0 && (strcmp(g.name, name) != 0 || r.qtype == 0)) {
			if (deliver(zl, b, k++, &g) == -1)
				goto fail;
		}
		if (g.n == 0) {
			if (r.qtype != 0)
				goto bad;
			g.name = xstrdup(name);
		} else if (g.n == MAX_ROWS)
			goto bad;
		g.r[g.n] = r;
		g.r[g.n].action = xstrdup(r.action);
		g.r[g.n].pool = dup_or_null(r.pool);
		g.r[g.n].members = dup_or_null(r.members);
		g.n++;
	}
	if (!CTL_CODE_IS_ERROR(code) && g.n > 0 &&
	    deliver(zl, b, k++, &g) == -1)
		goto fail;
	/* This request's reply is read whole: the next one is in step. */
	n = b->n;
	batch_clear(b);
	zl->head = (zl->head + 1) % (LOOKUP_WINDOW + 1);
	zl->count--;
	if (CTL_CODE_IS_ERROR(code)) {
		ctl_unescape(text);
		group_clear(&g);
		snprintf(zl->err, sizeof(zl->err), "route lookup: %.480s", text);
		zl->failed = 1;
		return -1;
	}
	if (k != n)
		return lost(zl, "the reply has fewer names than asked");
	return 0;
bad:
	group_clear(&g);
	return lost(zl, "a reply row is not name, qtype, route, "
	    "action, pool, members");
fail:
	group_clear(&g);
	return -1;
}

static int
send_batch(struct zlookup *zl)
{
	char err[512];

	if (zl->b[zl->cur].n == 0)
		return 0;
	if (zl->count == LOOKUP_WINDOW && receive(zl) == -1)
		return -1;
	if (zl->ctl->conn == NULL)
		return lost(zl, "no connection");
	if (client_send(zl->ctl->conn, zl->line, NULL, 0, err, sizeof(err)) == -1)
		return lost(zl, err);
	zl->count++;
	zl->cur = (zl->cur + 1) % (LOOKUP_WINDOW + 1);
	zl->len = 0;
	return 0;
}

int
zlookup_queue(void *arg, const char *name, uint32_t tag)
{
	struct zlookup *zl = arg;
	struct batch *b;
	size_t nl = strlen(name);
	static const char cmd[] = "route lookup";

	if (zl->failed)
		return -1;
	if (zl->len > 0 && zl->len + 1 + nl > LOOKUP_LINE &&
	    send_batch(zl) == -1)
		return -1;
	if (zl->len == 0) {
		memcpy(zl->line, cmd, sizeof(cmd));
		zl->len = sizeof(cmd) - 1;
	}
	if (zl->len + 1 + nl > LOOKUP_LINE)
		return lost(zl, "a name too long to send");
	zl->line[zl->len++] = ' ';
	memcpy(zl->line + zl->len, name, nl + 1);
	zl->len += nl;
	b = &zl->b[zl->cur];
	if (b->n == b->cap) {
		b->cap = b->cap ? b->cap * 2 : 256;
		b->tags = xrealloc(b->tags, b->cap * sizeof(*b->tags));
		b->names = xrealloc(b->names, b->cap * sizeof(*b->names));
	}
	b->tags[b->n] = tag;
	b->names[b->n++] = xstrdup(name);
	return 0;
}

int
zlookup_flush(struct zlookup *zl)
{
	if (zl->failed)
		return -1;
	if (send_batch(zl) == -1)
		return -1;
	while (zl->count > 0)
		if (receive(zl) == -1)
			return -1;
	return 0;
}

int
zlookup_rows(struct ctl *ctl, const char *cmd,
    void (*cb)(void *, char **, char **, int), void *arg, char *err,
    size_t errlen)
{
	char *text, *cols[32], *f[32], why[256];
	char *colbuf = NULL;
	int code, more, n, ncols = 0;

	if (ctl->conn == NULL ||
	    client_send(ctl->conn, cmd, NULL, 0, why, sizeof(why)) == -1) {
		snprintf(err, errlen, "%s: %s", cmd, ctl->conn ? why :
		    "no connection");
		ctl_disconnect(ctl);
		return -1;
	}
	for (;;) {
		code = client_read(ctl->conn, -1, &more, &text, why,
		    sizeof(why));
		if (code < 0) {
			snprintf(err, errlen, "%s: %s", cmd, code == -2 ?
			    "interrupted" : why);
			ctl_disconnect(ctl);
			free(colbuf);
			return -1;
		}
		if (!more)
			break;
		if (code == CTL_COLUMNS) {
			free(colbuf);
			colbuf = xstrdup(text);
			ncols = zlookup_fields(colbuf, cols, 31);
		} else if (code == CTL_ROW) {
			n = zlookup_fields(text, f, 31);
			if (n == ncols)
				cb(arg, cols, f, n);
		}
	}
	free(colbuf);
	if (CTL_CODE_IS_ERROR(code)) {
		ctl_unescape(text);
		snprintf(err, errlen, "%s: %s", cmd, text);
		return -1;
	}
	return 0;
}

/*
 * zone: `zone split ZONEFILE DIR` and `zone check ZONEFILE`, run by
 * dnsroutectl itself (the file is the operator's, read with the
 * operator's rights; the daemon only answers route lookups).
 *
 * Both walk the file twice (zone_slice.c says what each pass does): the
 * first sends every owner name through the daemon's matcher, the second
 * writes each record into the slices it belongs to (split) or asks each
 * name's backends for it (check query).  Memory is a byte per run of
 * records plus the few names zone_names.c keeps, never the zone.
 *
 * Output: the findings as rows as they are found (name, qtype, problem,
 * route, action, pool, backend, detail), then a row per slice (pool,
 * names, records, usable members, file), then the verdict.  Exit status 1
 * when a name reaches no pool (split and check), when a pool has no usable
 * member or a backend lacks a name (check).  Slices are written to
 * DIR/.POOL.zone.XXXXXX and renamed into place when complete.
 */
#include <sys/stat.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctlproto.h"
#include "dnsmsg.h"
#include "dnsnames.h"
#include "util.h"
#include "cmdtab.h"
#include "words.h"
#include "ctl.h"
#include "zone.h"

struct zone_cmd {
	struct ctl	*ctl;
	int		 split, query, subtree, render;
	const char	*file, *dir, *origin;
	long		 rate, timeout_ms;
	/* findings */
	int		 cols;		/* the findings header went out */
	uint64_t	 nfindings, pools_down, query_failures;
	/* split: a file per slice */
	FILE		*fp[ZS_MAX_SLICES];
	char		*tmp[ZS_MAX_SLICES], *path[ZS_MAX_SLICES];
	int		 write_errno;
	/* check query */
	struct zslicer	*zs;
	struct zquery	*zq;
	int		*members[ZS_MAX_SLICES];	/* zq backends, -1 ends */
	char		**bnames, **baddrs;
	int		*btcp, nb;
};

static const char *finding_cols[] = { "name", "qtype", "problem", "route#",
	"action", "pool", "backend", "detail" };

static void
finding_row(struct zone_cmd *z, const char *name, int qtype,
    const char *problem, int64_t route, const char *action, const char *pool,
    const char *backend, const char *detail)
{
	char *f[8], tb[32], rb[32];

	z->nfindings++;
	if (!z->render)
		return;
	if (!z->cols) {
		z->ctl->out->columns(z->ctl, (char **)finding_cols, 8);
		z->cols = 1;
	}
	f[0] = name ? (char *)name : ctl_null;
	f[1] = qtype ? (char *)dnsname_type_str(qtype, tb, sizeof(tb)) :
	    ctl_null;
	f[2] = (char *)problem;
	snprintf(rb, sizeof(rb), "%lld", (long long)route);
	f[3] = route >= 0 ? rb : ctl_null;
	f[4] = action ? (char *)action : ctl_null;
	f[5] = pool ? (char *)pool : ctl_null;
	f[6] = backend ? (char *)backend : ctl_null;
	f[7] = detail ? (char *)detail : ctl_null;
	z->ctl->out->row(z->ctl, f, 8);
}

static void
on_finding(void *arg, const struct zs_finding *f)
{
	struct zone_cmd *z = arg;

	if (f->name == NULL) {
		/* Slices are cut before their servers exist. */
		if (z->split)
			return;
		z->pools_down++;
	}
	finding_row(z, f->name, f->qtype, f->problem, f->route, f->action,
	    f->pool, NULL, NULL);
}

static void
on_query_fail(void *arg, const struct zq_fail *f)
{
	struct zone_cmd *z = arg;

	z->query_failures++;
	finding_row(z, f->name, f->qtype, f->problem, -1, "pool",
	    zs_slice(z->zs, f->slice) ? zs_slice(z->zs, f->slice)->pool : NULL,
	    f->backend, f->detail);
}

static int
on_write(void *arg, int slice, const ldns_rr *rr)
{
	struct zone_cmd *z = arg;

	if (z->fp[slice] == NULL)
		return 0;
	ldns_rr_print(z->fp[slice], rr);
	if (ferror(z->fp[slice])) {
		z->write_errno = errno;
		return -1;
	}
	return 0;
}

static int
on_probe(void *arg, const struct zs_probe *p)
{
	struct zone_cmd *z = arg;
	int *m = z->members[p->slice], i;

	for (i = 0; m != NULL && m[i] >= 0; i++)
		if (zq_submit(z->zq, m[i], p) == -1)
			return -1;
	return 0;
}


/* ---- split: the files */

/* DIR/POOL.zone, with bytes that do not belong in a file name as %XX. */
static char *
slice_path(const char *dir, const char *pool, int tmp)
{
	char name[4 * 256], *p = name, *out;
	size_t i, len;

	for (i = 0; pool[i] != '\0' && p < name + sizeof(name) - 4; i++) {
		unsigned char c = pool[i];

		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '_' ||
		    (c == '.' && i > 0))
			*p++ = (char)c;
		else
			p += snprintf(p, 4, "%%%02X", c);
	}
	*p = '\0';
	len = strlen(dir) + strlen(name) + 32;
	out = xmalloc(len);
	snprintf(out, len, "%s/%s%s.zone%s", dir, tmp ? "." : "", name,
	    tmp ? ".XXXXXX" : "");
	return out;
}

static int
open_slices(struct zone_cmd *z, struct zslicer *zs, char *err, size_t errlen)
{
	int i, fd;

	if (mkdir(z->dir, 0777) == -1 && errno != EEXIST) {
		snprintf(err, errlen, "%s: %s", z->dir, strerror(errno));
		return -1;
	}
	for (i = 0; i < zs_nslices(zs); i++) {
		z->path[i] = slice_path(z->dir, zs_slice(zs, i)->pool, 0);
		z->tmp[i] = slice_path(z->dir, zs_slice(zs, i)->pool, 1);
		if ((fd = mkstemp(z->tmp[i])) == -1 ||
		    fchmod(fd, 0644) == -1 ||
		    (z->fp[i] = fdopen(fd, "w")) == NULL) {
			snprintf(err, errlen, "%s: %s", z->tmp[i],
			    strerror(errno));
			if (fd != -1 && z->fp[i] == NULL)
				close(fd);
			free(z->tmp[i]);
			z->tmp[i] = NULL;
			return -1;
		}
		setvbuf(z->fp[i], NULL, _IOFBF, 1 << 20);
	}
	return 0;
}

/* Close every slice; rename them into place when keep.  0 or -1. */
static int
close_slices(struct zone_cmd *z, int keep, char *err, size_t errlen)
{
	int i, rc = 0;

	for (i = 0; i < ZS_MAX_SLICES; i++) {
		if (z->fp[i] != NULL && fclose(z->fp[i]) == EOF && rc == 0) {
			snprintf(err, errlen, "%s: %s", z->tmp[i],
			    strerror(errno));
			rc = -1;
		}
		z->fp[i] = NULL;
	}
	for (i = 0; i < ZS_MAX_SLICES; i++) {
		if (z->tmp[i] == NULL)
			continue;
		if (keep && rc == 0 && rename(z->tmp[i], z->path[i]) == -1) {
			snprintf(err, errlen, "%s: %s", z->path[i],
			    strerror(errno));
			rc = -1;
		}
		if (!keep || rc != 0)
			unlink(z->tmp[i]);
	}
	return rc;
}

/* ---- check query: who answers for each slice */

static void
on_backend(void *arg, char **cols, char **f, int n)
{
	struct zone_cmd *z = arg;
	const char *name = NULL, *addr = NULL, *tr = NULL;
	int i;

	for (i = 0; i < n; i++) {
		if (cols[i] == NULL || f[i] == NULL)
			continue;
		if (strcmp(cols[i], "name") == 0)
			name = f[i];
		else if (strcmp(cols[i], "address") == 0)
			addr = f[i];
		else if (strcmp(cols[i], "transport") == 0)
			tr = f[i];
	}
	if (name == NULL || addr == NULL)
		return;
	z->bnames = xrealloc(z->bnames, (z->nb + 1) * sizeof(*z->bnames));
	z->baddrs = xrealloc(z->baddrs, (z->nb + 1) * sizeof(*z->baddrs));
	z->btcp = xrealloc(z->btcp, (z->nb + 1) * sizeof(*z->btcp));
	z->bnames[z->nb] = xstrdup(name);
	z->baddrs[z->nb] = xstrdup(addr);
	z->btcp[z->nb++] = tr != NULL && strcmp(tr, "tcp") == 0;
}

static int
plan_queries(struct zone_cmd *z, struct zslicer *zs, char *err, size_t errlen)
{
	char *list, *p, *save;
	int i, k, n, b;

	if (zlookup_rows(z->ctl, "show backends", on_backend, z, err,
	    errlen) == -1)
		return -1;
	z->zq = zq_new((int)z->rate, (int)z->timeout_ms, on_query_fail, z);
	for (i = 0; i < zs_nslices(zs); i++) {
		if (zs_slice(zs, i)->members == NULL)
			continue;
		list = xstrdup(zs_slice(zs, i)->members);
		z->members[i] = xcalloc(strlen(list) + 2, sizeof(int));
		n = 0;
		for (p = strtok_r(list, ",", &save); p != NULL;
		    p = strtok_r(NULL, ",", &save)) {
			for (k = 0; k < z->nb; k++)
				if (strcmp(z->bnames[k], p) == 0)
					break;
			if (k == z->nb) {
				snprintf(err, errlen, "backend %s of pool %s "
				    "is not in show backends", p,
				    zs_slice(zs, i)->pool);
				free(list);
				return -1;
			}
			if ((b = zq_backend(z->zq, p, z->baddrs[k], z->btcp[k],
			    err, errlen)) == -1) {
				free(list);
				return -1;
			}
			z->members[i][n++] = b;
		}
		z->members[i][n] = -1;
		free(list);
	}
	return 0;
}

/* ---- the walk */

static int
pass(struct zread *zr, const char *file, struct zslicer *zs, int second,
    char *err, size_t errlen)
{
	char where[1100];
	ldns_rr *rr;
	int r;

	while ((r = zread_next(zr, &rr, err, errlen)) == 1) {
		if (ctl_sigint) {
			ldns_rr_free(rr);
			snprintf(err, errlen, "interrupted");
			return -1;
		}
		if (second) {
			if (zs_write(zs, rr, err, errlen) == -1)
				return -1;
			continue;
		}
		snprintf(where, sizeof(where), "%.1000s:%u", file,
		    zread_line(zr));
		r = zs_scan(zs, rr, where, err, errlen);
		ldns_rr_free(rr);
		if (r == -1)
			return -1;
	}
	return r;
}

static void
slice_rows(struct zone_cmd *z, struct zslicer *zs)
{
	static const char *cols[] = { "pool", "names#", "records#", "members",
		"file" };
	char nb[32], rb[32], *f[5];
	int i;

	z->ctl->out->columns(z->ctl, (char **)cols, 5);
	for (i = 0; i < zs_nslices(zs); i++) {
		const struct zs_slice *s = zs_slice(zs, i);

		snprintf(nb, sizeof(nb), "%llu", (unsigned long long)s->names);
		snprintf(rb, sizeof(rb), "%llu", (unsigned long long)s->records);
		f[0] = s->pool;
		f[1] = nb;
		f[2] = rb;
		f[3] = s->members ? s->members : ctl_null;
		f[4] = z->split ? z->path[i] : ctl_null;
		z->ctl->out->row(z->ctl, f, 5);
	}
}

static int
verdict(struct zone_cmd *z, struct zslicer *zs, const char *apex,
    uint64_t us, char *msg, size_t msglen)
{
	uint64_t un = zs_unserved(zs);
	unsigned long long names = zs_names(zs), recs = zs_records(zs);
	double secs = us / 1e6;

	if (z->split) {
		if (un > 0) {
			snprintf(msg, msglen, "%llu of %llu names of %s reach no "
			    "pool and are in no slice; %d slices written to %s "
			    "without them", (unsigned long long)un, names, apex,
			    zs_nslices(zs), z->dir);
			return CTL_ST_REFUSED;
		}
		snprintf(msg, msglen, "%s: %llu names, %llu records read, %d "
		    "slices in %s (%.1f s)", apex, names, recs, zs_nslices(zs),
		    z->dir, secs);
		return CTL_ST_OK;
	}
	if (un > 0 || z->pools_down > 0 || z->query_failures > 0) {
		snprintf(msg, msglen, "%s: %llu of %llu names reach no pool, "
		    "%llu pools have no usable member", apex,
		    (unsigned long long)un, names,
		    (unsigned long long)z->pools_down);
		if (z->query) {
			size_t l = strlen(msg);

			snprintf(msg + l, msglen - l, ", %llu answers were not "
			    "what the zone says", (unsigned long long)
			    z->query_failures);
		}
		return CTL_ST_REFUSED;
	}
	if (z->query)
		snprintf(msg, msglen, "%s: every one of %llu names is routed to "
		    "a pool whose members answer for it (%llu queries, %.1f s)",
		    apex, names, (unsigned long long)zq_sent(z->zq), secs);
	else
		snprintf(msg, msglen, "%s: every one of %llu names is routed to "
		    "a pool with a usable member (%.1f s)", apex, names, secs);
	return CTL_ST_OK;
}

static int
walk(struct zone_cmd *z, char *msg, size_t msglen)
{
	struct zs_ops ops;
	struct zslicer *zs;
	struct zlookup *zl;
	struct zread *zr;
	char err[1024], apex[DNS_MAX_TEXT_NAME];
	uint64_t t0 = now_us();
	int rc = -1, st = CTL_ST_REFUSED, files = 0;

	err[0] = '\0';
	if ((zr = zread_open(z->file, z->origin, err, sizeof(err))) == NULL) {
		snprintf(msg, msglen, "%s", err);
		return CTL_ST_REFUSED;
	}
	memset(&ops, 0, sizeof(ops));
	ops.finding = on_finding;
	ops.write = z->split ? on_write : NULL;
	ops.probe = z->query ? on_probe : NULL;
	ops.arg = z;
	ops.lookup = zlookup_queue;
	ops.lookup_arg = zl = zlookup_new(z->ctl);
	z->zs = zs = zs_new(&ops, z->subtree);
	zlookup_set_slicer(zl, zs);

	if (pass(zr, z->file, zs, 0, err, sizeof(err)) == -1 ||
	    zs_scan_end(zs, err, sizeof(err)) == -1) {
		if (zlookup_error(zl)[0] != '\0') {
			snprintf(err, sizeof(err), "%s", zlookup_error(zl));
			st = CTL_ST_FAIL;
		}
		goto out;
	}
	if (zlookup_flush(zl) == -1) {
		snprintf(err, sizeof(err), "%s", zlookup_error(zl));
		st = CTL_ST_FAIL;
		goto out;
	}
	if (zs_plan(zs, err, sizeof(err)) == -1)
		goto out;
	if (z->split) {
		files = 1;
		if (open_slices(z, zs, err, sizeof(err)) == -1)
			goto out;
	}
	if (z->query && plan_queries(z, zs, err, sizeof(err)) == -1)
		goto out;
	if (zread_rewind(zr, err, sizeof(err)) == -1 ||
	    zs_begin_slices(zs) == -1 ||
	    pass(zr, z->file, zs, 1, err, sizeof(err)) == -1 ||
	    zs_write_end(zs, err, sizeof(err)) == -1) {
		if (z->write_errno != 0)
			snprintf(err, sizeof(err), "writing the slices: %s",
			    strerror(z->write_errno));
		else if (z->zq != NULL && ctl_sigint)
			snprintf(err, sizeof(err), "interrupted");
		goto out;
	}
	if (z->zq != NULL && zq_finish(z->zq) == -1) {
		snprintf(err, sizeof(err), "interrupted");
		goto out;
	}
	rc = 0;
out:
	if (files && close_slices(z, rc == 0, err, sizeof(err)) == -1)
		rc = -1;
	if (rc == -1) {
		snprintf(msg, msglen, "%s", err);
	} else {
		if (z->render)
			slice_rows(z, zs);
		zs_apex(zs, apex, sizeof(apex));
		st = verdict(z, zs, apex, now_us() - t0, msg, msglen);
	}
	zlookup_free(zl);
	zq_free(z->zq);		/* it reports into zs */
	z->zq = NULL;
	zs_free(zs);
	z->zs = NULL;
	zread_close(zr);
	return st;
}

static void
zone_cmd_free(struct zone_cmd *z)
{
	int i;

	for (i = 0; i < ZS_MAX_SLICES; i++) {
		free(z->tmp[i]);
		free(z->path[i]);
		free(z->members[i]);
	}
	for (i = 0; i < z->nb; i++) {
		free(z->bnames[i]);
		free(z->baddrs[i]);
	}
	free(z->bnames);
	free(z->baddrs);
	free(z->btcp);
	zq_free(z->zq);
}

/* c: a zone split or zone check, parsed (its defaults from cmd_table). */
int
zone_run(struct ctl *ctl, const char *cmd, const struct cmd *c,
    const char *where, int flags)
{
	const struct cmd_zone *a = &c->a.zone;
	struct zone_cmd z;
	char msg[2048];
	int st;

	memset(&z, 0, sizeof(z));
	z.ctl = ctl;
	z.split = c->spec->id == CMD_ZONE_SPLIT;
	z.file = a->file;
	z.dir = a->dir;
	z.origin = a->origin;
	z.subtree = a->assume == ASSUME_SUBTREE;
	z.query = a->query;
	z.rate = a->rate;
	z.timeout_ms = a->timeout_ms;
	z.render = !(flags & (CTL_X_QUIET | CTL_X_SILENT));
	if ((st = ctl_attach(ctl, cmd, where, flags)) != CTL_ST_OK)
		return st;
	ctl->nsent++;
	if (z.render)
		ctl_begin(ctl, cmd);
	st = walk(&z, msg, sizeof(msg));
	if (st == CTL_ST_OK) {
		if (z.render)
			ctl->out->done(ctl, CTL_OK, msg, where);
	} else if (!(flags & CTL_X_SILENT)) {
		if (!z.render)
			ctl_begin(ctl, cmd);
		ctl->out->done(ctl, st == CTL_ST_FAIL ? CTL_CODE_CLIENT :
		    CTL_ERR_RUNTIME, msg, where);
	}
	zone_cmd_free(&z);
	return st;
}

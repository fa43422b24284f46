/*
 * share: the fleet's state in etcd, mirrored, proposed, collected (see
 * share.h).
 *
 * The mirror holds every chunk (name, bytes, mod_revision) and the head.
 * After each batch etcd delivers, the head is looked at again: once its
 * chunks are all here and make its digest, its text is kept, and applying
 * it is scheduled when the store reflects another head.  A head this
 * router put is known at once, with the text it proposed.  A batch that
 * leaves the head without some chunk (possible only if someone deletes
 * chunks by hand) keeps the last whole text and waits.
 *
 * At most one proposal runs at a time (the owner's store transaction is
 * open meanwhile): upload the new chunks, then the compare-and-swap.  The
 * collection of unnamed chunks runs after a head of ours shows up in the
 * mirror, one transaction per SHARE_GC_BATCH chunks.
 *
 * DNSROUTED_FAILPOINT=share-after-cas in the environment kills the daemon
 * (SIGKILL) right after etcd took one of its changes and before the store
 * commits it: the tests use it to show that a router restarted from there
 * ends as etcd says.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "share.h"
#include "util.h"

#define SHARE_GC_BATCH		64
#define GC_DELAY_MS		1000
#define APPLY_BUSY_MS		50
#define APPLY_RETRY_MIN_MS	1000
#define APPLY_RETRY_MAX_MS	30000

struct chunk {
	share_name	 name;
	char		*val;
	size_t		 len;
	int64_t		 mod;
};

struct proposal {
	char			*text;
	size_t			 len;
	struct share_chunk	*ch;		/* the text's chunks, in order */
	size_t			 nch;
	size_t			*up;		/* indexes of those to put */
	size_t			 nup, next;
	struct share_head	 head;
	char			*headval;
	int64_t			 base;
	int64_t			 serial;	/* the head's */
	share_cb		 cb;
	void			*arg;
	struct etcd_req		*req;
};

struct share {
	struct event_base	*base;
	struct etcd		*etcd;
	struct etcd_sync	*sync;
	const struct share_ops	*ops;
	void			*arg;
	char			*prefix;
	char			*headkey;
	char			*chunkdir;
	char			*statedir;	/* what the mirror reads */
	char			 id[SHARE_ROUTER_MAX];
	int			 failpoint_cas;
	/* The mirror. */
	struct chunk		*c;
	size_t			 nc, capc;
	int			 have_head, head_ok;
	struct share_head	 head;
	int64_t			 head_rev;
	char			 head_err[256];
	/* The head's text once whole (text_rev: its revision; 0: none). */
	char			*text;
	size_t			 textlen;
	int64_t			 text_rev;
	char			 whole_err[256];
	/* The store. */
	int			 joined;
	int64_t			 local_rev;
	char			 local_digest[SHARE_DIGEST_LEN + 1];
	int64_t			 behind_since_us;
	/* Applying. */
	struct event		*apply_ev;
	uint64_t		 apply_end_us;		/* monotonic */
	uint64_t		 apply_took_us;		/* the last apply's */
	int			 apply_retry_ms;
	int			 applying;		/* started (ops->apply 2) */
	uint64_t		 apply_t0;		/* when */
	int64_t			 apply_failed_rev;	/* logged for it */
	char			 last_error[512];
	uint64_t		 applied, proposed, refused;
	int64_t			 applied_us;
	/* Proposing and collecting. */
	struct proposal		*prop;
	struct etcd_req		*gc_req;
	struct event		*gc_ev;
	share_name		 gc[SHARE_GC_BATCH];	/* being deleted */
	size_t			 ngc;
	int64_t			 gc_rev;		/* collected for this head */
};

static void	gc_step(struct share *);

/* ---- the mirror ---- */

static int
chunk_cmp(const void *a, const void *b)
{
	return strcmp(((const struct chunk *)a)->name,
	    ((const struct chunk *)b)->name);
}

static struct chunk *
chunk_find(const struct share *sh, const char *name)
{
	struct chunk key;

	if (sh->nc == 0)
		return NULL;
	memcpy(key.name, name, sizeof(key.name));
	return bsearch(&key, sh->c, sh->nc, sizeof(*sh->c), chunk_cmp);
}

static void
chunks_clear(struct share *sh)
{
	size_t i;

	for (i = 0; i < sh->nc; i++)
		free(sh->c[i].val);
	free(sh->c);
	sh->c = NULL;
	sh->nc = sh->capc = 0;
}

/* Add or replace (sorted = 0: append, the caller sorts). */
static void
chunk_put(struct share *sh, const char *name, const char *val, size_t len,
    int64_t mod, int sorted)
{
	struct chunk *c;
	size_t lo = 0, hi = sh->nc, mid;
	int d;

	if (sorted && (c = chunk_find(sh, name)) != NULL) {
		free(c->val);
		goto fill;
	}
	if (sh->nc == sh->capc) {
		sh->capc = sh->capc ? sh->capc * 2 : 64;
		sh->c = xrealloc(sh->c, sh->capc * sizeof(*sh->c));
	}
	if (sorted) {
		while (lo < hi) {
			mid = (lo + hi) / 2;
			d = strcmp(sh->c[mid].name, name);
			if (d < 0)
				lo = mid + 1;
			else
				hi = mid;
		}
		memmove(&sh->c[lo + 1], &sh->c[lo], (sh->nc - lo) *
		    sizeof(*sh->c));
	} else
		lo = sh->nc;
	sh->nc++;
	c = &sh->c[lo];
	memcpy(c->name, name, sizeof(c->name));
fill:
	c->val = xmalloc(len + 1);
	memcpy(c->val, val, len);
	c->val[len] = '\0';
	c->len = len;
	c->mod = mod;
}

static void
chunk_del(struct share *sh, const char *name)
{
	struct chunk *c = chunk_find(sh, name);
	size_t i;

	if (c == NULL)
		return;
	i = (size_t)(c - sh->c);
	free(c->val);
	memmove(&sh->c[i], &sh->c[i + 1], (sh->nc - i - 1) * sizeof(*sh->c));
	sh->nc--;
}

static void
head_clear(struct share *sh)
{
	share_head_free(&sh->head);
	sh->have_head = sh->head_ok = 0;
	sh->head_rev = 0;
	sh->head_err[0] = '\0';
}

static void
head_set(struct share *sh, const struct etcd_kv *kv)
{
	head_clear(sh);
	sh->have_head = 1;
	sh->head_rev = kv->mod_revision;
	if (share_head_parse(kv->value, kv->vallen, &sh->head, sh->head_err,
	    sizeof(sh->head_err)) == 0)
		sh->head_ok = 1;
	else
		log_warnx("fleet: %s (revision %lld): %s", sh->headkey,
		    (long long)kv->mod_revision, sh->head_err);
}

/* A key of ours under state/: the head, a chunk (its name), or neither. */
static int
take_kv(struct share *sh, const struct etcd_kv *kv, int del, int sorted)
{
	const char *name;

	if (strcmp(kv->key, sh->headkey) == 0) {
		/* Our own change's answer may have come before the watch
		 * brought the change before it. */
		if (sh->have_head && kv->mod_revision < sh->head_rev)
			return 1;
		if (del)
			head_clear(sh);
		else
			head_set(sh, kv);
		return 1;
	}
	if (strncmp(kv->key, sh->chunkdir, strlen(sh->chunkdir)) != 0)
		return 0;
	name = kv->key + strlen(sh->chunkdir);
	if (!share_name_ok(name))
		return 0;
	if (del)
		chunk_del(sh, name);
	else
		chunk_put(sh, name, kv->value, kv->vallen, kv->mod_revision,
		    sorted);
	return 1;
}

/* Is the head whole?  Then keep its text (once per head). */
static void
assemble(struct share *sh)
{
	const struct share_head *h = &sh->head;
	const struct chunk *c;
	char digest[SHARE_DIGEST_LEN + 1];
	size_t i, used = 0;
	char *t;

	sh->whole_err[0] = '\0';
	if (!sh->have_head || !sh->head_ok || sh->text_rev == sh->head_rev)
		return;
	for (i = 0; i < h->nchunks; i++) {
		if ((c = chunk_find(sh, h->chunks[i])) == NULL) {
			snprintf(sh->whole_err, sizeof(sh->whole_err), "chunk %s "
			    "of revision %lld is not in etcd (yet)",
			    h->chunks[i], (long long)sh->head_rev);
			return;
		}
		used += c->len;
	}
	if (used != (size_t)h->bytes) {
		snprintf(sh->whole_err, sizeof(sh->whole_err), "the chunks of "
		    "revision %lld make %zu bytes, the head says %lld",
		    (long long)sh->head_rev, used, (long long)h->bytes);
		return;
	}
	t = xmalloc(used + 1);
	for (used = 0, i = 0; i < h->nchunks; i++) {
		c = chunk_find(sh, h->chunks[i]);
		memcpy(t + used, c->val, c->len);
		used += c->len;
	}
	t[used] = '\0';
	share_digest(t, used, digest);
	if (strcmp(digest, h->digest) != 0) {
		snprintf(sh->whole_err, sizeof(sh->whole_err), "the chunks of "
		    "revision %lld do not make its digest", (long long)sh->head_rev);
		free(t);
		return;
	}
	free(sh->text);
	sh->text = t;
	sh->textlen = used;
	sh->text_rev = sh->head_rev;
}

static int
text_current(const struct share *sh)
{
	return sh->have_head && sh->head_ok && sh->text_rev == sh->head_rev;
}

static void
schedule_apply(struct share *sh, int ms)
{
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

	evtimer_add(sh->apply_ev, &tv);
}

/* Applying a head takes the main thread for a while (10,000 routes:
 * a good part of a second).  After one that took D, the next waits until
 * D has passed again: a burst of changes is then applied in steps, each
 * time the newest head there is, and the control socket and the watches
 * get at least half of the thread.  A lone change is applied at once. */
static int
apply_pause_ms(const struct share *sh)
{
	uint64_t due = sh->apply_end_us + sh->apply_took_us, now = now_us();

	return due > now ? (int)((due - now) / 1000) + 1 : 0;
}

/* After the mirror or the store moved: is there something to do? */
static void
look(struct share *sh)
{
	assemble(sh);
	if (sh->joined && sh->have_head && sh->head_rev != sh->local_rev) {
		if (sh->behind_since_us == 0)
			sh->behind_since_us = wall_us();
		if (text_current(sh) && sh->apply_retry_ms == 0)
			schedule_apply(sh, apply_pause_ms(sh));
	} else
		sh->behind_since_us = 0;
	/* A burst of our changes is collected after it, once. */
	if (text_current(sh) && strcmp(sh->head.router, sh->id) == 0 &&
	    sh->gc_rev != sh->head_rev && sh->gc_req == NULL) {
		struct timeval tv = { GC_DELAY_MS / 1000,
		    (GC_DELAY_MS % 1000) * 1000 };

		evtimer_add(sh->gc_ev, &tv);
	}
}

static void
on_reset(void *arg, const struct etcd_kv *kvs, size_t n, int64_t revision)
{
	struct share *sh = arg;
	size_t i;

	(void)revision;
	chunks_clear(sh);
	head_clear(sh);
	for (i = 0; i < n; i++)
		(void)take_kv(sh, &kvs[i], 0, 0);
	if (sh->nc > 1)
		qsort(sh->c, sh->nc, sizeof(*sh->c), chunk_cmp);
	look(sh);
}

static void
on_update(void *arg, const struct etcd_event *evs, size_t n, int64_t revision)
{
	struct share *sh = arg;
	size_t i;

	(void)revision;
	for (i = 0; i < n; i++)
		(void)take_kv(sh, &evs[i].kv, evs[i].type == ETCD_EV_DELETE, 1);
	look(sh);
}

static const struct etcd_sync_ops sync_ops = { on_reset, on_update };

/* ---- applying ---- */

/* What the apply of the head came to (rc as ops->apply's), t0 when it
 * began. */
static void
apply_result(struct share *sh, int rc, const char *err, uint64_t t0)
{
	sh->apply_end_us = now_us();
	sh->apply_took_us = rc == 1 ? 0 : sh->apply_end_us - t0;
	if (rc == 1) {
		schedule_apply(sh, APPLY_BUSY_MS);
		return;
	}
	if (rc == 0) {
		if (sh->apply_failed_rev != 0)
			log_info("fleet: revision %lld applied",
			    (long long)sh->head_rev);
		sh->apply_retry_ms = 0;
		sh->apply_failed_rev = 0;
		sh->last_error[0] = '\0';
		return;
	}
	snprintf(sh->last_error, sizeof(sh->last_error), "cannot apply "
	    "revision %lld: %s", (long long)sh->head_rev, err);
	if (sh->apply_failed_rev != sh->head_rev)
		log_warnx("fleet: %s; this router keeps serving its copy "
		    "(revision %lld) and tries again", sh->last_error,
		    (long long)sh->local_rev);
	sh->apply_failed_rev = sh->head_rev;
	sh->apply_retry_ms = sh->apply_retry_ms == 0 ? APPLY_RETRY_MIN_MS :
	    sh->apply_retry_ms * 2;
	if (sh->apply_retry_ms > APPLY_RETRY_MAX_MS)
		sh->apply_retry_ms = APPLY_RETRY_MAX_MS;
	schedule_apply(sh, sh->apply_retry_ms);
}

static void
apply_cb(evutil_socket_t fd, short what, void *arg)
{
	struct share *sh = arg;
	char err[512];
	int rc;

	(void)fd;
	(void)what;
	/* One running: its end looks again (share_set_local). */
	if (sh->applying || !sh->joined || !text_current(sh) ||
	    sh->head_rev == sh->local_rev)
		return;
	if (sh->prop != NULL) {
		schedule_apply(sh, APPLY_BUSY_MS);
		return;
	}
	err[0] = '\0';
	sh->apply_t0 = now_us();
	rc = sh->ops->apply(sh->arg, sh->text, sh->textlen, &sh->head,
	    sh->head_rev, err, sizeof(err));
	if (rc == 2)
		sh->applying = 1;
	else
		apply_result(sh, rc, err, sh->apply_t0);
}

void
share_apply_done(struct share *sh, int rc, const char *err)
{
	if (sh == NULL || !sh->applying)
		return;
	sh->applying = 0;
	apply_result(sh, rc, err, sh->apply_t0);
}

void
share_set_local(struct share *sh, int joined, int64_t revision,
    const char *digest)
{
	if (sh == NULL)
		return;
	if (revision != sh->local_rev || joined != sh->joined)
		sh->apply_retry_ms = 0;
	sh->joined = joined;
	sh->local_rev = revision;
	snprintf(sh->local_digest, sizeof(sh->local_digest), "%s", digest);
	look(sh);
}

void
share_note_applied(struct share *sh, int remote)
{
	if (sh == NULL)
		return;
	if (remote)
		sh->applied++;
	sh->applied_us = wall_us();
}

/* ---- collecting chunks no head names ---- */

static int
named_by_head(const struct share *sh, const char *name)
{
	size_t i;

	for (i = 0; i < sh->head.nchunks; i++)
		if (strcmp(sh->head.chunks[i], name) == 0)
			return 1;
	return 0;
}

static void
gc_done(const struct etcd_resp *r, void *arg)
{
	struct share *sh = arg;
	size_t i;

	sh->gc_req = NULL;
	if (!r->ok || !r->succeeded) {
		/* Unreachable, or a chunk was put again meanwhile (for a
		 * proposal): what is left waits for our next change. */
		log_debug("fleet: collecting old chunks: %s", r->ok ?
		    "one was put again meanwhile" : r->error);
		sh->gc_rev = sh->head_rev;
		return;
	}
	/* Gone: not taken again before the watch says so. */
	for (i = 0; i < sh->ngc; i++)
		chunk_del(sh, sh->gc[i]);
	gc_step(sh);
}

static void
gc_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	gc_step(arg);
}

/* Delete up to SHARE_GC_BATCH chunks the head does not name and that are
 * older than it; the transaction compares each one's mod_revision, so a
 * chunk put again meanwhile (for a proposal) stays. */
static void
gc_step(struct share *sh)
{
	struct etcd_txn *t;
	char key[512];
	size_t i, n = 0;

	if (!text_current(sh) || strcmp(sh->head.router, sh->id) != 0)
		return;
	t = etcd_txn_new();
	for (i = 0; i < sh->nc && n < SHARE_GC_BATCH; i++) {
		if (sh->c[i].mod >= sh->head_rev ||
		    named_by_head(sh, sh->c[i].name))
			continue;
		snprintf(key, sizeof(key), "%s%s", sh->chunkdir, sh->c[i].name);
		etcd_txn_cmp(t, key, ETCD_CMP_MOD, ETCD_CMP_LESS, sh->head_rev);
		etcd_txn_delete(t, ETCD_THEN, key, NULL, 0);
		memcpy(sh->gc[n], sh->c[i].name, sizeof(share_name));
		n++;
	}
	sh->ngc = n;
	if (n == 0) {
		etcd_txn_free(t);
		sh->gc_rev = sh->head_rev;
		return;
	}
	sh->gc_req = etcd_txn_commit(sh->etcd, t, gc_done, sh);
}

/* ---- proposing ---- */

static void
prop_free(struct proposal *p)
{
	if (p == NULL)
		return;
	etcd_req_cancel(p->req);
	free(p->text);
	free(p->ch);
	free(p->up);
	share_head_free(&p->head);
	free(p->headval);
	free(p);
}

static void
prop_end(struct share *sh, enum share_outcome o, int64_t revision,
    const char *error)
{
	struct proposal *p = sh->prop;
	struct share_result res;

	memset(&res, 0, sizeof(res));
	res.outcome = o;
	res.revision = revision;
	res.serial = p->serial;
	res.error = error;
	if (o == SHARE_DONE)
		sh->proposed++;
	else if (o == SHARE_REFUSED)
		sh->refused++;
	if (o != SHARE_DONE && o != SHARE_REFUSED)
		snprintf(sh->last_error, sizeof(sh->last_error), "%s", error);
	p->req = NULL;
	sh->prop = NULL;
	p->cb(&res, p->arg);
	prop_free(p);
}

static void
cas_done(const struct etcd_resp *r, void *arg)
{
	struct share *sh = arg;
	const struct etcd_resp *rr;
	struct share_head other;
	char msg[512], e[128];

	sh->prop->req = NULL;
	if (!r->ok) {
		if (r->unknown)
			snprintf(msg, sizeof(msg), "etcd did not confirm the "
			    "change (%s): it may have been made; this router "
			    "follows whatever etcd holds", r->error);
		else
			snprintf(msg, sizeof(msg), "etcd: %s", r->error);
		prop_end(sh, r->unknown ? SHARE_UNKNOWN : SHARE_FAILED, 0, msg);
		return;
	}
	if (r->succeeded) {
		if (sh->failpoint_cas) {
			log_warnx("fleet: failpoint share-after-cas: revision "
			    "%lld taken by etcd; dying before the commit",
			    (long long)r->revision);
			raise(SIGKILL);
		}
		/* The watch may bring it later than the next change is made
		 * here: the mirror knows it now (unless it knows a newer
		 * one already). */
		if (sh->head_rev < r->revision) {
			head_clear(sh);
			sh->head = sh->prop->head;
			memset(&sh->prop->head, 0, sizeof(sh->prop->head));
			sh->have_head = sh->head_ok = 1;
			sh->head_rev = r->revision;
			/* And its text is the one proposed: not made again from
			 * the chunks and hashed (2 ms at 10,000 routes) when the
			 * watch brings them. */
			free(sh->text);
			sh->text = sh->prop->text;
			sh->textlen = sh->prop->len;
			sh->text_rev = r->revision;
			sh->prop->text = NULL;
		}
		prop_end(sh, SHARE_DONE, r->revision, NULL);
		return;
	}
	/* Someone else's change came first: say whose. */
	rr = r->nresponses == 1 ? &r->responses[0] : NULL;
	if (rr == NULL || rr->nkvs == 0)
		snprintf(msg, sizeof(msg), "changed meanwhile: the fleet's "
		    "state was removed from etcd; nothing changed here");
	else if (share_head_parse(rr->kvs[0].value, rr->kvs[0].vallen, &other,
	    e, sizeof(e)) == 0) {
		snprintf(msg, sizeof(msg), "changed meanwhile by router %s "
		    "(revision %lld); nothing changed, try again", other.router,
		    (long long)rr->kvs[0].mod_revision);
		share_head_free(&other);
	} else
		snprintf(msg, sizeof(msg), "changed meanwhile (revision %lld); "
		    "nothing changed, try again",
		    (long long)rr->kvs[0].mod_revision);
	prop_end(sh, SHARE_REFUSED, 0, msg);
}

/* Put chunks from p->next into t's THEN branch, as many as fit beside
 * room ops and bytes (what else the transaction holds). */
static void
put_chunks(struct share *sh, struct etcd_txn *t, size_t room, size_t bytes)
{
	struct proposal *p = sh->prop;
	const struct share_chunk *c;
	char key[512];
	size_t n = 0;

	while (p->next < p->nup && n + room < SHARE_TXN_OPS) {
		c = &p->ch[p->up[p->next]];
		if ((n > 0 || room > 0) && bytes + c->len > SHARE_TXN_BYTES)
			break;
		snprintf(key, sizeof(key), "%s%s", sh->chunkdir, c->name);
		etcd_txn_put(t, ETCD_THEN, key, p->text + c->off, c->len, 0);
		bytes += c->len;
		n++;
		p->next++;
	}
}

static void
cas(struct share *sh)
{
	struct proposal *p = sh->prop;
	struct etcd_txn *t = etcd_txn_new();

	etcd_txn_cmp(t, sh->headkey, ETCD_CMP_MOD, ETCD_CMP_EQUAL, p->base);
	/* The chunks still to put go with the head: refused, none is. */
	put_chunks(sh, t, 1, strlen(p->headval));
	etcd_txn_put(t, ETCD_THEN, sh->headkey, p->headval,
	    strlen(p->headval), 0);
	etcd_txn_range(t, ETCD_ELSE, sh->headkey, NULL, 0);
	p->req = etcd_txn_commit(sh->etcd, t, cas_done, sh);
}

static void	upload(struct share *);

static void
upload_done(const struct etcd_resp *r, void *arg)
{
	struct share *sh = arg;
	char msg[512];

	sh->prop->req = NULL;
	if (!r->ok) {
		snprintf(msg, sizeof(msg), "etcd: putting the state's chunks: "
		    "%s; nothing changed", r->error);
		prop_end(sh, SHARE_FAILED, 0, msg);
		return;
	}
	upload(sh);
}

/* The compare-and-swap when what is left fits in it (the usual case: a
 * change adds a chunk or two), else the next transaction of chunks. */
static void
upload(struct share *sh)
{
	struct proposal *p = sh->prop;
	struct etcd_txn *t;
	size_t i, bytes = strlen(p->headval);

	for (i = p->next; i < p->nup && bytes <= SHARE_TXN_BYTES; i++)
		bytes += p->ch[p->up[i]].len;
	if (p->nup - p->next < SHARE_TXN_OPS && bytes <= SHARE_TXN_BYTES) {
		cas(sh);
		return;
	}
	t = etcd_txn_new();
	put_chunks(sh, t, 0, 0);
	p->req = etcd_txn_commit(sh->etcd, t, upload_done, sh);
}

static int
name_cmp(const void *a, const void *b)
{
	return strcmp(a, b);
}

/* Sorting indexes of a proposal's chunks by name. */
static const struct share_chunk *sort_ch;

static int
idx_cmp(const void *a, const void *b)
{
	return strcmp(sort_ch[*(const size_t *)a].name,
	    sort_ch[*(const size_t *)b].name);
}

/* Which chunks to put: those the base head does not name, once each
 * (etcd refuses a key twice in one transaction).  Chunks that are in etcd
 * but named by no head are put again, so their mod_revision is above the
 * base and no collection takes them. */
static void
plan_upload(struct share *sh, struct proposal *p)
{
	share_name *have = NULL;
	size_t nhave = 0, i, n;

	if (p->base != 0 && sh->head_ok && sh->head_rev == p->base &&
	    sh->head.nchunks > 0) {
		nhave = sh->head.nchunks;
		have = xcalloc(nhave, sizeof(*have));
		memcpy(have, sh->head.chunks, nhave * sizeof(*have));
		qsort(have, nhave, sizeof(*have), name_cmp);
	}
	p->up = xcalloc(p->nch + 1, sizeof(*p->up));
	for (i = 0; i < p->nch; i++)
		if (nhave == 0 || bsearch(p->ch[i].name, have, nhave,
		    sizeof(*have), name_cmp) == NULL)
			p->up[p->nup++] = i;
	free(have);
	sort_ch = p->ch;
	if (p->nup > 1)
		qsort(p->up, p->nup, sizeof(*p->up), idx_cmp);
	for (n = 0, i = 0; i < p->nup; i++)
		if (n == 0 || strcmp(p->ch[p->up[i]].name,
		    p->ch[p->up[n - 1]].name) != 0)
			p->up[n++] = p->up[i];
	p->nup = n;
}

int
share_propose(struct share *sh, char *text, size_t len, const char *digest,
    int64_t base, const struct share_origin *o, share_cb cb, void *arg)
{
	struct proposal *p;
	size_t i;

	if (sh->prop != NULL)
		return -1;
	p = xcalloc(1, sizeof(*p));
	p->text = text;
	p->len = len;
	p->base = base;
	p->cb = cb;
	p->arg = arg;
	p->nch = share_split(text, len, &p->ch);
	p->serial = p->head.serial = (sh->head_ok && sh->head_rev == base ?
	    sh->head.serial : 0) + 1;
	/* Made by the caller (a SHA-256 of the whole text, ~2 ms at 10,000
	 * routes), which compared it with the head's. */
	snprintf(p->head.digest, sizeof(p->head.digest), "%s", digest);
	p->head.bytes = (int64_t)len;
	p->head.chunks = xcalloc(p->nch + 1, sizeof(*p->head.chunks));
	for (i = 0; i < p->nch; i++)
		memcpy(p->head.chunks[i], p->ch[i].name, sizeof(share_name));
	p->head.nchunks = p->nch;
	snprintf(p->head.router, sizeof(p->head.router), "%s", sh->id);
	p->head.time_us = wall_us();
	p->head.uid = o->uid;
	p->head.pid = o->pid;
	snprintf(p->head.what, sizeof(p->head.what), "%s", o->what);
	p->headval = share_head_format(&p->head);
	plan_upload(sh, p);
	sh->prop = p;
	upload(sh);
	return 0;
}

int
share_can_propose(const struct share *sh, int64_t base, char *why,
    size_t whylen)
{
	struct etcd_status st;
	struct etcd_sync_status ss;

	etcd_status(sh->etcd, &st);
	etcd_sync_status(sh->sync, &ss);
	if (!st.connected) {
		snprintf(why, whylen, "etcd is unreachable (%s): nothing "
		    "changed; changes are refused until this router reaches "
		    "the fleet again, and it keeps serving its copy (revision "
		    "%lld)", st.last_error[0] ? st.last_error : st.endpoint,
		    (long long)sh->local_rev);
		return -1;
	}
	if (!ss.live) {
		snprintf(why, whylen, "the fleet's state is being read from "
		    "etcd; nothing changed, try again in a moment");
		return -1;
	}
	if (sh->have_head && !sh->head_ok) {
		snprintf(why, whylen, "the fleet's head in etcd cannot be read "
		    "(%s); nothing changed", sh->head_err);
		return -1;
	}
	if (!sh->have_head && base != 0) {
		snprintf(why, whylen, "etcd holds no state under %s (removed?); "
		    "nothing changed: `fleet join` seeds it again with this "
		    "router's state", sh->prefix);
		return -1;
	}
	if (sh->have_head && sh->head_rev != base &&
	    sh->apply_failed_rev == sh->head_rev) {
		snprintf(why, whylen, "this router cannot apply the fleet's "
		    "revision %lld (%s); nothing changed (show fleet; fleet "
		    "leave makes it standalone)", (long long)sh->head_rev,
		    sh->last_error);
		return -1;
	}
	if (sh->have_head && sh->head_rev != base) {
		snprintf(why, whylen, "changed meanwhile by router %s (revision "
		    "%lld; this router is at %lld and applies it in a moment); "
		    "nothing changed, try again", sh->head.router,
		    (long long)sh->head_rev, (long long)base);
		return -1;
	}
	return 0;
}

int
share_head(struct share *sh, const struct share_head **h, int64_t *revision,
    const char **text, size_t *len, char *why, size_t whylen)
{
	struct etcd_sync_status ss;

	etcd_sync_status(sh->sync, &ss);
	if (!ss.live) {
		snprintf(why, whylen, "the fleet's state in etcd is not read yet "
		    "(etcd %s)", ss.last_error[0] ? ss.last_error :
		    "not reached");
		return -1;
	}
	if (!sh->have_head)
		return 1;
	if (!sh->head_ok) {
		snprintf(why, whylen, "the fleet's head in etcd cannot be read: "
		    "%s", sh->head_err);
		return -1;
	}
	if (!text_current(sh)) {
		snprintf(why, whylen, "%s", sh->whole_err[0] ? sh->whole_err :
		    "the fleet's state is not whole yet");
		return -1;
	}
	*h = &sh->head;
	*revision = sh->head_rev;
	*text = sh->text;
	*len = sh->textlen;
	return 0;
}

/* ---- life and status ---- */

struct share *
share_new(struct event_base *base, struct etcd *etcd, const char *prefix,
    const char *router_id, const struct share_ops *ops, void *arg)
{
	struct share *sh = xcalloc(1, sizeof(*sh));
	const char *fp = getenv("DNSROUTED_FAILPOINT");
	size_t n = strlen(prefix) + 64;

	sh->base = base;
	sh->etcd = etcd;
	sh->ops = ops;
	sh->arg = arg;
	sh->prefix = xstrdup(prefix);
	sh->headkey = xmalloc(n);
	snprintf(sh->headkey, n, "%s%s", prefix, SHARE_HEAD_KEY);
	sh->chunkdir = xmalloc(n);
	snprintf(sh->chunkdir, n, "%s%s", prefix, SHARE_CHUNK_DIR);
	snprintf(sh->id, sizeof(sh->id), "%s", router_id);
	sh->failpoint_cas = fp != NULL && strcmp(fp, "share-after-cas") == 0;
	if (sh->failpoint_cas)
		log_warnx("fleet: failpoint share-after-cas is set "
		    "(DNSROUTED_FAILPOINT): the daemon dies after its next "
		    "change is taken by etcd");
	sh->statedir = xmalloc(n);
	snprintf(sh->statedir, n, "%s%s", prefix, SHARE_STATE_DIR);
	sh->apply_ev = evtimer_new(base, apply_cb, sh);
	sh->gc_ev = evtimer_new(base, gc_cb, sh);
	sh->sync = etcd_sync_new(etcd, sh->statedir, &sync_ops, sh);
	return sh;
}

void
share_free(struct share *sh)
{
	if (sh == NULL)
		return;
	if (sh->prop != NULL) {
		etcd_req_cancel(sh->prop->req);
		sh->prop->req = NULL;
		prop_end(sh, SHARE_FAILED, 0, "dnsrouted is stopping; nothing "
		    "changed here");
	}
	if (sh->applying && sh->ops->cancel != NULL)
		sh->ops->cancel(sh->arg);
	etcd_req_cancel(sh->gc_req);
	etcd_sync_free(sh->sync);
	event_free(sh->apply_ev);
	event_free(sh->gc_ev);
	chunks_clear(sh);
	head_clear(sh);
	free(sh->text);
	free(sh->prefix);
	free(sh->headkey);
	free(sh->chunkdir);
	free(sh->statedir);
	free(sh);
}

const char *
share_prefix(const struct share *sh)
{
	return sh->prefix;
}

void
share_status(const struct share *sh, struct share_status *st)
{
	struct etcd_status es;
	struct etcd_sync_status ss;
	int64_t now = wall_us(), since = 0;

	memset(st, 0, sizeof(*st));
	etcd_status(sh->etcd, &es);
	etcd_sync_status(sh->sync, &ss);
	st->prefix = sh->prefix;
	st->joined = sh->joined;
	st->live = es.connected && ss.live;
	st->revision = sh->local_rev;
	st->head_revision = sh->have_head ? sh->head_rev : 0;
	if (sh->head_ok) {
		st->head_serial = sh->head.serial;
		st->head_router = sh->head.router;
		st->head_time_us = sh->head.time_us;
		st->head_what = sh->head.what;
		st->head_bytes = sh->head.bytes;
		st->head_chunks = sh->head.nchunks;
	} else
		st->head_router = st->head_what = "";
	st->whole = text_current(sh);
	st->failing = sh->apply_failed_rev != 0 &&
	    sh->apply_failed_rev == sh->head_rev;
	if (sh->joined) {
		if (!st->live)
			since = ss.since_us;
		if (sh->behind_since_us != 0 && (since == 0 ||
		    sh->behind_since_us < since))
			since = sh->behind_since_us;
	}
	st->lag_s = since != 0 && now > since ? (now - since) / 1e6 : 0;
	st->applied = sh->applied;
	st->applied_us = sh->applied_us;
	st->proposed = sh->proposed;
	st->refused = sh->refused;
	st->proposing = sh->prop != NULL;
	st->last_error = sh->last_error[0] ? sh->last_error :
	    sh->head_err[0] ? sh->head_err : sh->whole_err[0] ? sh->whole_err :
	    ss.last_error;
}

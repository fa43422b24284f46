/*
 * cmd_share: the state this router shares with a fleet, on the store's
 * side (share.c is etcd's side).  It owns the store's record of the fleet
 * (local_state: fleet-prefix, fleet-revision, fleet-digest, written in the
 * transaction of the change they describe), and
 *
 *   - the commit of a change in a fleet (cmd.c calls cmd_share_commit in
 *     the open transaction): the state it would make, as export prints it
 *     with its secrets, is proposed to etcd; the transaction commits with
 *     the revision etcd gave it, or rolls back when etcd refused;
 *   - the apply of a head made elsewhere: one transaction that makes the
 *     store equal to it through replace's machinery (routes that stay keep
 *     their ids, hits and compiled code), audits every change with where it
 *     came from, and one table swap;
 *   - fleet join and fleet leave, and what show fleet, show stats and show
 *     settings say of the shared state.
 *
 * A store is part of the fleet at PREFIX when its fleet-prefix says so and
 * dnsrouted runs with -e and -E PREFIX.  Run otherwise, it serves its copy
 * and refuses changes (they would be lost when it follows the fleet
 * again), except fleet leave.  Without fleet join, -e changes nothing of
 * the state: the router shows itself in the fleet and serves
 * registrations.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "cmd.h"
#include "config.h"
#include "ctlproto.h"
#include "db.h"
#include "fleet.h"
#include "log.h"
#include "share.h"
#include "state.h"
#include "util.h"

#define ST_PREFIX	"fleet-prefix"
#define ST_REVISION	"fleet-revision"
#define ST_DIGEST	"fleet-digest"

/* The store's record of the fleet. */
struct local {
	int	has;			/* fleet-prefix set: joined, somewhere */
	char	prefix[256];
	int64_t	revision;		/* of the head it reflects; 0: none */
	char	digest[SHARE_DIGEST_LEN + 1];
};

/* A change etcd is deciding on. */
struct pending {
	void	(*done)(int ok, const char *err, void *arg);
	void	*arg;
	char	 prefix[256];
	char	 digest[SHARE_DIGEST_LEN + 1];
};

static int64_t	last_revision;		/* what cmd_share_committed saw */
static int	applying;		/* a head of another router */

/* ---- the store's record ---- */

static int
local_read(struct local *l)
{
	char rev[32];
	int rc;

	memset(l, 0, sizeof(*l));
	if ((rc = db_state_get(dr->db, ST_PREFIX, l->prefix,
	    sizeof(l->prefix))) == -1)
		return -1;
	l->has = rc == 0 && l->prefix[0] != '\0';
	if ((rc = db_state_get(dr->db, ST_REVISION, rev, sizeof(rev))) == -1)
		return -1;
	if (rc == 0)
		l->revision = strtoll(rev, NULL, 10);
	if (db_state_get(dr->db, ST_DIGEST, l->digest, sizeof(l->digest)) ==
	    -1)
		return -1;
	return 0;
}

static int
local_write(const char *prefix, int64_t revision, const char *digest)
{
	char rev[32];

	snprintf(rev, sizeof(rev), "%lld", (long long)revision);
	return db_state_set(dr->db, ST_PREFIX, prefix) == -1 ||
	    db_state_set(dr->db, ST_REVISION, rev) == -1 ||
	    db_state_set(dr->db, ST_DIGEST, digest) == -1 ? -1 : 0;
}

/* Part of this fleet?  1 yes, 0 not joined at all, -1 joined elsewhere
 * (another prefix, or no -e): then why says so. */
static int
joined_here(const struct local *l, char *why, size_t whylen)
{
	if (!l->has)
		return 0;
	if (dr->share != NULL && strcmp(l->prefix, share_prefix(dr->share)) ==
	    0)
		return 1;
	snprintf(why, whylen, "this store belongs to the fleet at %s, but "
	    "dnsrouted runs %s%s: a change made here would be lost when it "
	    "follows the fleet again; nothing changed (start it with -e%s, or "
	    "`fleet leave` to make this router standalone)", l->prefix,
	    dr->share == NULL ? "without -e" : "with -E ",
	    dr->share == NULL ? "" : share_prefix(dr->share),
	    dr->share == NULL ? "" : " -E and that prefix");
	return -1;
}

/* ---- a change of ours ---- */

static void
proposed(const struct share_result *res, void *arg)
{
	struct pending *p = arg;
	char err[1024];

	if (res->outcome != SHARE_DONE)
		p->done(0, res->error, p->arg);
	else if (local_write(p->prefix, res->revision, p->digest) == -1) {
		snprintf(err, sizeof(err), "store: %s; etcd has the change "
		    "(revision %lld): this router takes it from there once it "
		    "can", db_errmsg(dr->db), (long long)res->revision);
		p->done(0, err, p->arg);
	} else
		p->done(1, NULL, p->arg);
	free(p);
}

int
cmd_share_text(char **text, size_t *len)
{
	struct local l;
	char why[16];

	*text = NULL;
	*len = 0;
	if (local_read(&l) == -1)
		return -1;
	if (joined_here(&l, why, sizeof(why)) != 1)
		return 0;
	return cmd_state_text(dr->db, text, len);
}

int
cmd_share_commit(long uid, long pid, const char *what, struct cmd_ahead *a,
    void (*done)(int ok, const char *err, void *arg), void *arg, char *err,
    size_t errlen)
{
	struct share_origin o;
	struct pending *p;
	struct local l;
	char digest[SHARE_DIGEST_LEN + 1], *text;
	size_t len;
	int rc;

	if (local_read(&l) == -1) {
		snprintf(err, errlen, "%s", db_errmsg(dr->db));
		return -1;
	}
	if ((rc = joined_here(&l, err, errlen)) != 1)
		return rc;
	if (a != NULL && a->text != NULL) {
		/* Made ahead, from the store as it still is. */
		text = a->text;
		len = a->len;
		a->text = NULL;
	} else if (cmd_state_text(dr->db, &text, &len) == -1) {
		snprintf(err, errlen, "%s", db_errmsg(dr->db));
		return -1;
	}
	share_digest(text, len, digest);
	if (strcmp(digest, l.digest) == 0) {
		/* Nothing the fleet shares changed (only local ids). */
		free(text);
		return 0;
	}
	if (len > SHARE_TEXT_MAX) {
		snprintf(err, errlen, "the state would be %zu bytes, more than "
		    "a fleet shares (%d MiB); nothing changed", len,
		    SHARE_TEXT_MAX >> 20);
		free(text);
		return -1;
	}
	if (share_can_propose(dr->share, l.revision, err, errlen) == -1) {
		free(text);
		return -1;
	}
	p = xcalloc(1, sizeof(*p));
	p->done = done;
	p->arg = arg;
	snprintf(p->prefix, sizeof(p->prefix), "%s", l.prefix);
	memcpy(p->digest, digest, sizeof(p->digest));
	o.uid = uid;
	o.pid = pid;
	o.what = what;
	if (share_propose(dr->share, text, len, digest, l.revision, &o,
	    proposed, p) == -1) {
		free(p);
		snprintf(err, errlen, "another change is being confirmed by "
		    "etcd; nothing changed, try again");
		return -1;
	}
	return 1;
}

void
cmd_share_committed(void)
{
	struct local l;
	char why[16];
	int joined;

	if (dr->share == NULL)
		return;
	if (local_read(&l) == -1) {
		log_warnx("fleet: reading the store's record: %s",
		    db_errmsg(dr->db));
		return;
	}
	joined = joined_here(&l, why, sizeof(why)) == 1;
	if (joined && l.revision != last_revision) {
		share_note_applied(dr->share, applying);
		fleet_note_applied(dr->fleet, "state", l.revision, 1);
	}
	last_revision = l.revision;
	share_set_local(dr->share, joined, joined ? l.revision : 0,
	    joined ? l.digest : "");
}

int
cmd_share_can_change(char *why, size_t whylen)
{
	struct local l;
	int rc;

	if (local_read(&l) == -1) {
		snprintf(why, whylen, "%s", db_errmsg(dr->db));
		return -1;
	}
	if ((rc = joined_here(&l, why, whylen)) != 1)
		return rc;
	return share_can_propose(dr->share, l.revision, why, whylen);
}

/* ---- a change of another router ---- */

/* Who applies the fleet's changes: not a local user (uid -1). */
static struct cmd_session fleet_session = { .uid = (uid_t)-1 };

/* A head being applied, in slices (cmd_replace_start): the store's
 * transaction is open meanwhile, and nobody's (cmd.c says busy). */
struct fleet_apply {
	struct cmd_ctx		 x;
	struct reply		 r;		/* nobody reads it */
	struct evbuffer		*sink;
	struct replace		*rp;
	struct share_head	 h;		/* without its chunks */
	int64_t			 revision;
	struct local		 l;
};
static struct fleet_apply *fa;

static void
fleet_apply_free(struct fleet_apply *a)
{
	evbuffer_free(a->sink);
	free(a);
}

/* The store made equal to the head (n: what changed), in the open
 * transaction: record the revision, build, commit, publish.  0, or -1
 * with err and everything rolled back. */
static int
apply_end(const struct local *l, const struct share_head *h,
    int64_t revision, const struct cmd_counts *n, struct cmd_ahead *made,
    char *err, size_t errlen)
{
	struct config *c;
	char berr[512];

	if (local_write(l->prefix, revision, h->digest) == -1) {
		snprintf(err, errlen, "store: %s", db_errmsg(dr->db));
		db_rollback(dr->db);
		return -1;
	}
	/* Built ahead (cmd_replace_ahead), else now. */
	c = made != NULL ? made->built : NULL;
	if (made != NULL)
		made->built = NULL;
	if (n->n > 0 && c == NULL &&
	    (c = state_build(berr, sizeof(berr))) == NULL) {
		db_rollback(dr->db);
		snprintf(err, errlen, "%s", berr);
		return -1;
	}
	if (db_commit(dr->db) == -1) {
		snprintf(err, errlen, "commit: %s", db_errmsg(dr->db));
		db_rollback(dr->db);
		config_unref(c);
		return -1;
	}
	if (c != NULL)
		state_publish(c);
	if (n->n > 0)
		log_info("fleet: revision %lld (serial %lld, router %s) "
		    "applied: %u added, %u removed, %u changed",
		    (long long)revision, (long long)h->serial, h->router,
		    n->add, n->del, n->chg);
	applying = n->n > 0;
	cmd_share_committed();
	applying = 0;
	return 0;
}

static void
applied(int rc, const struct cmd_counts *n, struct cmd_ahead *made,
    void *arg)
{
	struct fleet_apply *a = arg;
	char err[600];

	fa = NULL;
	if (rc == -1) {
		db_rollback(dr->db);
		if (a->r.where > 0)
			snprintf(err, sizeof(err), "line %u: %s", a->r.where,
			    a->r.errtext);
		else
			snprintf(err, sizeof(err), "%s", a->r.errtext);
	} else
		rc = apply_end(&a->l, &a->h, a->revision, n, made, err,
		    sizeof(err));
	fleet_apply_free(a);
	share_apply_done(dr->share, rc, err);
}

/* Make the store equal to the head at revision: one transaction, one
 * table swap.  1 while the store is busy, 2 while it is being done. */
static int
apply_head(void *arg, const char *text, size_t len,
    const struct share_head *h, int64_t revision, char *err, size_t errlen)
{
	struct cmd_counts n;
	struct fleet_apply *a;
	struct local l;
	char outcome[512];

	(void)arg;
	if (fa != NULL || db_in_transaction(dr->db) || cmd_committing())
		return 1;
	if (local_read(&l) == -1 || db_begin(dr->db) == -1) {
		snprintf(err, errlen, "store: %s", db_errmsg(dr->db));
		return -1;
	}
	if (strcmp(l.digest, h->digest) == 0) {
		/* The same state at another revision: nothing to apply. */
		memset(&n, 0, sizeof(n));
		return apply_end(&l, h, revision, &n, NULL, err, errlen);
	}
	a = xcalloc(1, sizeof(*a));
	if ((a->sink = evbuffer_new()) == NULL)
		fatalx("evbuffer_new failed");
	a->r.out = a->sink;
	a->r.discard = 1;
	a->x.sess = &fleet_session;
	a->x.r = &a->r;
	a->x.line = "";
	a->x.db = dr->db;
	a->h = *h;
	a->h.chunks = NULL;
	a->h.nchunks = 0;
	a->revision = revision;
	a->l = l;
	snprintf(outcome, sizeof(outcome), "ok (fleet: router %s%s, etcd "
	    "revision %lld)", h->router, strcmp(h->router,
	    fleet_id(dr->fleet)) == 0 ? " (this one, before a restart)" : "",
	    (long long)revision);
	a->rp = cmd_replace_start(&a->x, text, len, 1, outcome, applied, a);
	cmd_replace_ahead(a->rp, 0);
	fa = a;
	return 2;
}

/* The daemon stops while a head is being applied: none of it stays. */
static void
apply_cancel(void *arg)
{
	(void)arg;
	if (fa == NULL)
		return;
	cmd_replace_cancel(fa->rp);
	db_rollback(dr->db);
	fleet_apply_free(fa);
	fa = NULL;
}

static const struct share_ops share_ops = { apply_head, apply_cancel };

void
cmd_share_start(struct etcd *etcd, const char *prefix)
{
	struct local l;
	char why[1024];

	if (etcd != NULL)
		dr->share = share_new(dr->base, etcd, prefix,
		    fleet_id(dr->fleet), &share_ops, NULL);
	if (local_read(&l) == -1)
		fatalx("cannot read the store's fleet record: %s",
		    db_errmsg(dr->db));
	last_revision = l.revision;
	if (joined_here(&l, why, sizeof(why)) == -1)
		log_warnx("fleet: %s: serving this router's copy (revision "
		    "%lld); changes are refused", l.prefix,
		    (long long)l.revision);
	else if (l.has)
		log_info("fleet: this store is part of the fleet at %s, at "
		    "revision %lld", l.prefix, (long long)l.revision);
	cmd_share_committed();
}

/* ---- fleet join, fleet leave ---- */

/* A fleet join taking the fleet's state (cmd_replace_start). */
struct join {
	struct cmd_ctx		*x;		/* cmd_later's */
	struct replace		*rp;
	int			 dry;
	char			 prefix[256];
	int64_t			 revision;
	char			 digest[SHARE_DIGEST_LEN + 1];
	char			 router[SHARE_ROUTER_MAX];
};

/* The state taken (rc of cmd_replace_text, n): record and answer.
 * Takes j; returns rc as the handler's. */
static int
joined(struct join *j, struct cmd_ctx *x, int rc, const struct cmd_counts *n)
{
	if (rc == 0 && local_write(j->prefix, j->revision, j->digest) == -1)
		rc = cmd_dberr(x);
	if (rc == 0) {
		x->rollback = j->dry;
		reply_ok(x->r, "%s the fleet at %s, revision %lld (router %s): "
		    "its state %s this router's: %u added, %u removed, %u "
		    "changed", j->dry ? "dry run: joining" : "joined",
		    j->prefix, (long long)j->revision, j->router, j->dry ?
		    "would replace" : "replaced", n->add, n->del, n->chg);
	}
	free(j);
	return rc;
}

static void
join_done(int rc, const struct cmd_counts *n, struct cmd_ahead *made,
    void *arg)
{
	struct join *j = arg;
	struct cmd_ctx *x = j->x;

	/* Its commit takes the table built for it. */
	x->ahead = *made;
	memset(made, 0, sizeof(*made));
	cmd_later_end(x, joined(j, x, rc, n));
}

/* Its client left first. */
static void
join_gone(void *arg)
{
	struct join *j = arg;

	cmd_replace_cancel(j->rp);
	free(j);
}

int
cmd_fleet_join(struct cmd_ctx *x, const union cmd_args *u)
{
	const struct share_head *h;
	struct cmd_counts n;
	struct join *j;
	struct local l;
	const char *prefix, *text;
	char why[512], outcome[512];
	int64_t rev;
	size_t len;
	int dry = u->replace.dry_run, rc;

	if (dr->share == NULL)
		return cmd_fail(x, "dnsrouted runs without -e: there is no "
		    "fleet to join");
	if (x->sess->in_txn)
		return cmd_fail(x, "fleet join is a transaction of its own; "
		    "commit or abort first");
	if (local_read(&l) == -1)
		return cmd_dberr(x);
	prefix = share_prefix(dr->share);
	if ((rc = share_head(dr->share, &h, &rev, &text, &len, why,
	    sizeof(why))) == -1)
		return cmd_fail(x, "cannot join the fleet at %s now: %s", prefix,
		    why);
	if (rc == 1) {
		/* Nobody's state there: ours seeds it, proposed at the
		 * commit as a change from nothing (base revision 0). */
		if (local_write(prefix, 0, "") == -1)
			return cmd_dberr(x);
		x->rollback = dry;
		reply_ok(x->r, "%s the fleet at %s: etcd holds no state there, "
		    "so this router's (%d routes, %d backends, %d pools) %s it",
		    dry ? "dry run: joining" : "joined", prefix,
		    dr->cfg->nroutes, dr->cfg->nbackends, dr->cfg->npools,
		    dry ? "would seed" : "seeds");
		return 0;
	}
	if (l.has && strcmp(l.prefix, prefix) == 0 && l.revision == rev) {
		x->rollback = 1;
		reply_ok(x->r, "already joined: the fleet at %s, revision %lld",
		    prefix, (long long)rev);
		return 0;
	}
	/* Take the fleet's state, saying what it changes here: in slices
	 * (cmd_later), or at once when nobody waits for the answer. */
	snprintf(outcome, sizeof(outcome), "ok (fleet join %s: router %s, "
	    "etcd revision %lld)", prefix, h->router, (long long)rev);
	j = xcalloc(1, sizeof(*j));
	j->dry = dry;
	snprintf(j->prefix, sizeof(j->prefix), "%s", prefix);
	j->revision = rev;
	memcpy(j->digest, h->digest, sizeof(j->digest));
	snprintf(j->router, sizeof(j->router), "%s", h->router);
	if (x->r->conn == NULL) {
		rc = cmd_replace_text(x, text, len, 1, outcome, &n);
		return joined(j, x, rc, &n);
	}
	j->x = cmd_later(x, join_gone, j);
	j->rp = cmd_replace_start(j->x, text, len, 1, outcome, join_done, j);
	if (!dry)
		cmd_replace_ahead(j->rp, 0);
	return CMD_LATER;
}

int
cmd_fleet_leave(struct cmd_ctx *x, const union cmd_args *u)
{
	struct local l;

	(void)u;
	if (x->sess->in_txn)
		return cmd_fail(x, "fleet leave is a transaction of its own; "
		    "commit or abort first");
	if (local_read(&l) == -1)
		return cmd_dberr(x);
	if (!l.has)
		return cmd_fail(x, "this router is not part of a fleet");
	if (db_state_del(dr->db, ST_PREFIX) == -1 ||
	    db_state_del(dr->db, ST_REVISION) == -1 ||
	    db_state_del(dr->db, ST_DIGEST) == -1)
		return cmd_dberr(x);
	reply_ok(x->r, "left the fleet at %s: this router keeps the state it "
	    "had (revision %lld), and changes made here stay here", l.prefix,
	    (long long)l.revision);
	return 0;
}

/* ---- what is shown ---- */

/* One word for where the store stands. */
static const char *
state_word(const struct share_status *st, const struct local *l)
{
	if (!st->joined)
		return l->has ? "joined elsewhere" : "not joined";
	if (!st->live)
		return "stale";
	if (st->head_revision == 0)
		return "no state in etcd";
	if (st->head_revision != st->revision)
		return !st->whole ? "waiting for chunks" : st->failing ?
		    "cannot apply" : "catching up";
	return "in sync";
}

void
cmd_share_rows(struct cmd_ctx *x)
{
	struct share_status st;
	struct local l;
	char detail[2048], tb[48];
	size_t used;

	if (local_read(&l) == -1)
		return;
	if (dr->share == NULL) {
		/* Without -e: only a store that belongs to a fleet says so. */
		if (!l.has)
			return;
		reply_field(x->r, "state");
		reply_fieldf(x->r, "%s%s", l.prefix, SHARE_STATE_DIR);
		reply_field(x->r, "stale");
		reply_field_int(x->r, l.revision);
		reply_field_null(x->r);
		reply_field_null(x->r);
		reply_field(x->r, "dnsrouted runs without -e: serving this "
		    "store's copy, refusing changes (fleet leave makes it "
		    "standalone)");
		reply_end_row(x->r);
		return;
	}
	share_status(dr->share, &st);
	reply_field(x->r, "state");
	reply_fieldf(x->r, "%s%s", st.prefix, SHARE_STATE_DIR);
	reply_field(x->r, state_word(&st, &l));
	if (st.revision > 0)
		reply_field_int(x->r, st.revision);
	else
		reply_field_null(x->r);
	reply_field_int(x->r, (long long)(st.lag_s * 1000));
	if (st.applied_us > 0) {
		cmd_fmt_time(st.applied_us, tb, sizeof(tb));
		reply_field(x->r, tb);
	} else
		reply_field_null(x->r);
	if (!st.joined && l.has)
		used = (size_t)snprintf(detail, sizeof(detail), "this store "
		    "belongs to the fleet at %s; ", l.prefix);
	else if (!st.joined)
		used = (size_t)snprintf(detail, sizeof(detail), "fleet join "
		    "shares this router's state; ");
	else
		used = 0;
	if (st.head_revision > 0 && used < sizeof(detail)) {
		cmd_fmt_time(st.head_time_us, tb, sizeof(tb));
		used += (size_t)snprintf(detail + used, sizeof(detail) - used,
		    "etcd: revision %lld, serial %lld by router %s at %s (%s), "
		    "%lld bytes in %zu chunks; ", (long long)st.head_revision,
		    (long long)st.head_serial, st.head_router, tb, st.head_what,
		    (long long)st.head_bytes, st.head_chunks);
	}
	if (used < sizeof(detail))
		used += (size_t)snprintf(detail + used, sizeof(detail) - used,
		    "%llu applied from others, %llu made here, %llu refused",
		    (unsigned long long)st.applied,
		    (unsigned long long)st.proposed,
		    (unsigned long long)st.refused);
	if (st.last_error[0] != '\0' && used < sizeof(detail))
		snprintf(detail + used, sizeof(detail) - used, "; %s",
		    st.last_error);
	reply_field(x->r, detail);
	reply_end_row(x->r);
}

void
cmd_share_stats(struct cmd_ctx *x)
{
	struct share_status st;

	if (dr->share == NULL)
		return;
	share_status(dr->share, &st);
	cmd_stat_row(x, "fleet-joined", st.joined,
	    "1 while this router shares its state with the fleet");
	cmd_stat_row(x, "fleet-revision", st.revision,
	    "the etcd revision of the shared state this router serves");
	cmd_stat_row(x, "fleet-lag-ms", (long long)(st.lag_s * 1000),
	    "how long that state may be behind etcd's (0: in sync)");
	cmd_stat_row(x, "fleet-applied", (long long)st.applied,
	    "changes of other routers applied here");
	cmd_stat_row(x, "fleet-changes", (long long)st.proposed,
	    "changes made here that etcd took");
	cmd_stat_row(x, "fleet-refused", (long long)st.refused,
	    "changes made here refused: another came first");
}

void
cmd_share_setting(struct cmd_ctx *x)
{
	struct share_status st;
	struct local l;
	char val[512];

	if (local_read(&l) == -1)
		return;
	if (dr->share == NULL && l.has)
		snprintf(val, sizeof(val), "belongs to %s, but runs without -e: "
		    "serving its copy, refusing changes", l.prefix);
	else if (dr->share == NULL)
		snprintf(val, sizeof(val), "off");
	else {
		share_status(dr->share, &st);
		if (st.joined)
			snprintf(val, sizeof(val), "joined %s at revision %lld: "
			    "%s", st.prefix, (long long)st.revision,
			    state_word(&st, &l));
		else
			snprintf(val, sizeof(val), "%s (fleet join shares this "
			    "router's state)", state_word(&st, &l));
	}
	reply_field(x->r, "fleet");
	reply_field(x->r, val);
	reply_field(x->r, "off");
	reply_field(x->r, "set with fleet join and fleet leave; details in "
	    "show fleet");
	reply_end_row(x->r);
}

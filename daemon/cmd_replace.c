/*
 * cmd_replace: `replace [dry-run]`, the state made equal to the commands
 * of the request's data (dnsroutectl -f FILE --replace sends FILE).
 *
 * The input is run command by command, through the same parser and
 * handlers as any command, on a scratch store (SQLite in memory) that
 * starts empty: its mistakes are found with their line before anything
 * changes.  Then, inside the caller's transaction (cmd.c), the store's
 * state and the scratch's are read and compared (statediff.c), and the
 * difference is applied by the same handlers again, each change audited.
 * A dry run, or an input equal to the state, rolls it all back.
 *
 * All of it is done in slices of about 10 ms (cmd_replace_start), each
 * from an event of its own, so that a replace of 10,000 routes, a
 * client's or the fleet's, never keeps the control socket waiting for
 * more than a slice: the caller's transaction stays open between them
 * (other changes are busy; queries and show routes see the published
 * table, what reads the store sees the changes so far, as inside a
 * begin) and the table is built and published once, at its commit.
 * What that commit needs from the store is made in slices of its own
 * before it (cmd_replace_ahead: the table built, the fleet's state text),
 * as the store is held until then; each costs tens of ms at 10,000
 * routes, and one event doing them all was the longest wait left.
 * While queries flow a slice is 2 ms, and the reads are sliced too: the
 * two states and the table's routes are read a slice at a time (a
 * statement kept open across slices).  What cannot be cut runs whole and
 * is paid for by waiting after it: the diff, some 10 ms at 10,000 routes,
 * about what the commit's write takes.  A log line at debug level gives
 * each slice's CPU.
 *
 * Patterns the live table already serves are not compiled again: a no-op
 * replace of 10,000 routes costs what parsing and comparing them costs.
 */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>

#include "cmd.h"
#include "config.h"
#include "ctlproto.h"
#include "db.h"
#include "log.h"
#include "pace.h"
#include "prio.h"
#include "script.h"
#include "settings.h"
#include "state.h"
#include "statediff.h"
#include "util.h"

/* The input line that last touched each pool and backend (by name) or
 * route (by its id in the scratch store, 1, 2, ... as made). */
struct mark {
	char		*name;
	size_t		 seq;
	unsigned	 line;
};

struct lines {
	struct mark	*keys, *pools, *backends, *admins;
	size_t		 nkeys, npools, nbackends, nadmins;
	unsigned	*routes;		/* by scratch id */
	size_t		 nroutes, caproutes;
	unsigned	*settings;		/* by setting_table index */
};

/* The work is done in slices of about SLICE_US, the clock looked at
 * every SLICE_CHECK lines or changes (a line costs some µs; under the
 * sanitizers ten times that).  While queries flow the slices are
 * SLICE_PACED_US, so that a worker is never kept off a CPU long, and the
 * next waits while the change budget is spent (pace.c). */
#define SLICE_US	10000
#define SLICE_PACED_US	2000
#define SLICE_CHECK	16

/* From an input this long (some 250 routes) on, the scratch's route table
 * is made cheaper to add to (db_route_scratch): remaking it costs about
 * what 250 route adds save. */
#define SCRATCH_LIGHT	16384

enum phase {
	PH_START,		/* open the scratch */
	PH_BUILD,		/* run the input on it */
	PH_TARGET,		/* read the scratch's state */
	PH_CURRENT,		/* read the store's */
	PH_DIFF,		/* compare them */
	PH_APPLY,		/* make the changes in the store */
	PH_PLACE,		/* the routes that stay where they go */
	PH_FREE,		/* the states let go */
	PH_TABLE,		/* build the table, for the commit */
	PH_TEXT,		/* the fleet's state text, for the commit */
	PH_DONE
};

/* For the debug log: which phase a slice ran. */
static const char *const phase_names[] = {
	"start", "build", "target", "current", "diff", "apply", "place",
	"free", "table", "text", "done"
};

struct replace {
	struct cmd_ctx		*x;
	char			*text;		/* the input, a copy */
	size_t			 len;
	int			 keys_whole;
	char			*outcome;	/* of each change, audited */
	enum phase		 phase;
	struct db		*scratch;
	struct script		 sc;		/* where the build is */
	int			 sc_open;
	struct lines		 lines;
	struct config		*cfg;		/* held: known[] is its */
	const char		**known;	/* patterns served, sorted */
	size_t			 nknown;
	struct state_read	*reading;	/* where tgt or cur is read */
	struct sd_state		 cur, tgt;
	struct sd_changes	 cs;
	struct sd_diff_run	*differ;	/* where the diff is */
	size_t			 next;		/* the change to apply next */
	struct db		*deferred;	/* its positions (db_route_defer) */
	struct db_audit		*audit;		/* not written yet */
	size_t			 naudit, capaudit;
	struct cmd_counts	 counts;
	int			 ahead;		/* make these (cmd_replace_ahead): */
	int			 ahead_text;
	struct cmd_ahead	 made;
	struct config_building	*building;	/* made.built, in pieces */
	struct event		*ev;		/* the next slice (started) */
	void			(*done)(int, const struct cmd_counts *,
				    struct cmd_ahead *, void *);
	void			*arg;
};

static int
str_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int
known(void *arg, const char *pattern)
{
	struct replace *rp = arg;

	return bsearch(&pattern, rp->known, rp->nknown, sizeof(*rp->known),
	    str_cmp) != NULL;
}

static void
known_init(struct replace *rp)
{
	const struct config *c = rp->cfg;
	int i;

	rp->known = xcalloc(c->nroutes + 1, sizeof(*rp->known));
	for (i = 0; i < c->nroutes; i++)
		rp->known[i] = c->routes[i].pattern;
	rp->nknown = c->nroutes;
	qsort(rp->known, rp->nknown, sizeof(*rp->known), str_cmp);
}

static void
mark(struct mark **v, size_t *n, const char *name, unsigned line)
{
	*v = xrealloc(*v, (*n + 1) * sizeof(**v));
	(*v)[*n].name = xstrdup(name);
	(*v)[*n].seq = *n;
	(*v)[*n].line = line;
	(*n)++;
}

static int
mark_cmp(const void *a, const void *b)
{
	const struct mark *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	return c != 0 ? c : x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* The last line that touched name (marks sorted by mark_cmp), or 0. */
static unsigned
mark_line(const struct mark *v, size_t n, const char *name)
{
	size_t lo = 0, hi = n;
	unsigned line = 0;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (strcmp(v[mid].name, name) <= 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo > 0 && strcmp(v[lo - 1].name, name) == 0)
		line = v[lo - 1].line;
	return line;
}

static void
lines_free(struct lines *l)
{
	size_t i;

	for (i = 0; i < l->nkeys; i++)
		free(l->keys[i].name);
	for (i = 0; i < l->npools; i++)
		free(l->pools[i].name);
	for (i = 0; i < l->nbackends; i++)
		free(l->backends[i].name);
	for (i = 0; i < l->nadmins; i++)
		free(l->admins[i].name);
	free(l->keys);
	free(l->pools);
	free(l->backends);
	free(l->admins);
	free(l->routes);
	free(l->settings);
}

/* Remember where the object c changed comes from. */
static void
note_line(struct replace *rp, const struct cmd *c, int64_t made,
    unsigned line)
{
	struct lines *l = &rp->lines;

	switch (c->spec->id) {
	case CMD_KEY_ADD:
	case CMD_KEY_SET:
	case CMD_KEY_DEL:
		mark(&l->keys, &l->nkeys, c->a.key.name, line);
		break;
	case CMD_POOL_ADD:
	case CMD_POOL_SET:
	case CMD_POOL_DEL:
		mark(&l->pools, &l->npools, c->a.pool.name, line);
		break;
	case CMD_ROUTE_ADD:
		/* Scratch ids are 1, 2, ... in the order routes are made. */
		if (made <= 0)
			break;
		while ((size_t)made >= l->caproutes) {
			l->caproutes = l->caproutes ? l->caproutes * 2 : 1024;
			l->routes = xrealloc(l->routes, l->caproutes *
			    sizeof(*l->routes));
		}
		while (l->nroutes <= (size_t)made)
			l->routes[l->nroutes++] = 0;
		l->routes[made] = line;
		break;
	case CMD_SET:
		l->settings[setting_lookup(c->a.set.key) - setting_table] =
		    line;
		break;
	case CMD_BACKEND_ADD:
	case CMD_BACKEND_SET:
	case CMD_BACKEND_DEL:
		mark(&l->backends, &l->nbackends, c->a.backend.name, line);
		break;
	default:
		/* drain, undrain, enable, disable */
		mark(&l->admins, &l->nadmins, c->a.name.name, line);
		break;
	}
}

static void
attach_lines(struct replace *rp, struct sd_state *tgt)
{
	struct lines *l = &rp->lines;
	size_t i;

	if (l->nkeys > 0)
		qsort(l->keys, l->nkeys, sizeof(*l->keys), mark_cmp);
	if (l->npools > 0)
		qsort(l->pools, l->npools, sizeof(*l->pools), mark_cmp);
	if (l->nbackends > 0)
		qsort(l->backends, l->nbackends, sizeof(*l->backends),
		    mark_cmp);
	if (l->nadmins > 0)
		qsort(l->admins, l->nadmins, sizeof(*l->admins), mark_cmp);
	for (i = 0; i < tgt->nk; i++)
		tgt->k[i].line = mark_line(l->keys, l->nkeys, tgt->k[i].name);
	for (i = 0; i < tgt->np; i++)
		tgt->p[i].line = mark_line(l->pools, l->npools,
		    tgt->p[i].name);
	for (i = 0; i < tgt->nb; i++) {
		tgt->b[i].line = mark_line(l->backends, l->nbackends,
		    tgt->b[i].name);
		tgt->b[i].admin_line = mark_line(l->admins, l->nadmins,
		    tgt->b[i].name);
	}
	for (i = 0; i < tgt->nr; i++)
		if (tgt->r[i].id > 0 && (size_t)tgt->r[i].id < l->nroutes)
			tgt->r[i].line = l->routes[tgt->r[i].id];
	memcpy(tgt->setline, l->settings, setting_table_len *
	    sizeof(*tgt->setline));
}

/* Why c may not be in a replace input, or NULL. */
static const char *
not_state(const struct cmd *c)
{
	unsigned f = c->spec->flags;

	if (f & CMD_F_IDS)
		return "names route ids, which only one store knows; a "
		    "replace input lists the routes in order with route add";
	if (!(f & CMD_F_MUTATES) ||
	    (f & (CMD_F_BODY | CMD_F_LIVE | CMD_F_FLEET)))
		return "does not set state; a replace input holds the commands "
		    "that do, as export prints them";
	return NULL;
}

static int
fail_at(struct cmd_ctx *x, int code, unsigned line, const char *msg)
{
	x->r->where = line;
	reply_err(x->r, code, "%s", msg);
	return -1;
}

/* The scratch starts with the store's keys: a replace keeps the keys
 * its input does not list (statediff.h). */
static int
inherit_key(const struct db_key *k, int users, void *arg)
{
	struct db_key copy = *k;
	int rc;

	(void)users;
	rc = db_key_add(arg, &copy);
	explicit_bzero(&copy, sizeof(copy));
	return rc;
}

/* An input's key add of a key the scratch has only by inheritance sets
 * it instead; a second key add of the same name is the mistake it is. */
static void
key_add_is_set(struct replace *rp, struct cmd *c)
{
	struct db_key k;
	size_t i;
	int rc;

	if (c->spec->id != CMD_KEY_ADD)
		return;
	/* Marks are sorted only once the input is read. */
	for (i = 0; i < rp->lines.nkeys; i++)
		if (strcmp(rp->lines.keys[i].name, c->a.key.name) == 0)
			return;
	rc = db_key_get(rp->scratch, c->a.key.name, &k);
	explicit_bzero(&k, sizeof(k));
	if (rc == 0)
		c->spec = cmd_spec_of(CMD_KEY_SET);
}

/* Open the scratch store, with the keys the input may keep. */
static int
start(struct replace *rp)
{
	struct cmd_ctx *x = rp->x;
	char err[512];

	if (memchr(rp->text, '\0', rp->len) != NULL)
		return cmd_fail(x, "the input holds a NUL byte");
	if ((rp->scratch = db_open(":memory:", err, sizeof(err))) == NULL)
		return cmd_fail(x, "replace: %s", err);
	if (rp->len >= SCRATCH_LIGHT && db_route_scratch(rp->scratch) == -1)
		return cmd_fail(x, "replace: %s", db_errmsg(rp->scratch));
	script_init_mem(&rp->sc, rp->text, rp->len);
	rp->sc_open = 1;
	/* One transaction: the scratch store need not commit each line. */
	if (db_begin(rp->scratch) == -1 || (!rp->keys_whole &&
	    db_key_foreach(x->db, inherit_key, rp->scratch) != 0))
		return cmd_fail(x, "replace: %s", db_errmsg(rp->scratch));
	return 0;
}

/* Run the input on the scratch store, until it is all run (1) or the
 * slice is over (0); -1 with the error replied. */
static int
build(struct replace *rp, uint64_t until)
{
	struct cmd_ctx *x = rp->x;
	struct cmd_checks chk;
	struct cmd c;
	char *line, err[4096], msg[4200];
	unsigned start, n;
	int64_t made;
	int rc, code, r;
	const char *why;

	/* The checks' context is static in cmd.c: set it for each slice. */
	cmd_checks_init(&chk, known, rp);
	rc = 0;
	for (n = 1; rc == 0; n++) {
		if (n % SLICE_CHECK == 0 && now_us() >= until)
			return 0;
		if ((r = script_next(&rp->sc, &line, &start)) != 1)
			break;
		if ((r = cmd_parse(line, &c, &chk, &code, err,
		    sizeof(err))) == 1)
			continue;
		if (r == -1)
			return fail_at(x, code, start, err);
		if (c.spec->id == CMD_QUIT) {
			cmd_free(&c);
			break;
		}
		if (c.spec->id == CMD_HELP) {
			cmd_free(&c);
			continue;
		}
		key_add_is_set(rp, &c);
		if ((why = not_state(&c)) != NULL) {
			snprintf(msg, sizeof(msg), "\"%s\" %s", c.spec->words,
			    why);
			rc = fail_at(x, CTL_ERR_RUNTIME, start, msg);
		} else if (cmd_run_on(rp->scratch, x->sess, &c, &made, err,
		    sizeof(err)) == -1)
			rc = fail_at(x, CTL_ERR_RUNTIME, start, err);
		else
			note_line(rp, &c, made, start);
		cmd_free(&c);
	}
	return rc == 0 ? 1 : -1;
}

/* What the input makes, until it is all read (1) or the slice is over
 * (0); -1 with the error replied. */
static int
read_target(struct replace *rp, uint64_t until)
{
	int rc;

	if ((rc = cmd_state_read_until(rp->scratch, &rp->reading, &rp->tgt,
	    until)) == -1)
		return cmd_fail(rp->x, "replace: %s", db_errmsg(rp->scratch));
	if (rc == 1)
		attach_lines(rp, &rp->tgt);
	return rc;
}

/* What the store has, the same way. */
static int
read_current(struct replace *rp, uint64_t until)
{
	int rc;

	if ((rc = cmd_state_read_until(rp->x->db, &rp->reading, &rp->cur,
	    until)) == -1)
		return cmd_dberr(rp->x);
	return rc;
}

/* The audit rows kept in a slice, written in as few statements as can
 * be (db_audit_add_rows) before it ends: other commands run on the store
 * between two. */
static void
audit_flush(struct replace *rp)
{
	size_t i;

	if (rp->naudit > 0)
		cmd_audit_rows(rp->x->sess, rp->audit, rp->naudit);
	for (i = 0; i < rp->naudit; i++)
		free((char *)rp->audit[i].command);
	rp->naudit = 0;
}

/* A change applied: its audit row, the same as cmd_audit writes. */
static void
audit_keep(struct replace *rp, const char *command)
{
	struct db_audit *a;

	if (rp->naudit == rp->capaudit) {
		rp->capaudit = rp->capaudit ? rp->capaudit * 2 : 64;
		rp->audit = xrealloc(rp->audit, rp->capaudit *
		    sizeof(*rp->audit));
	}
	a = &rp->audit[rp->naudit++];
	a->time_us = wall_us();
	a->command = xstrdup(command);
	a->outcome = rp->outcome;
}

static void
undefer(struct replace *rp)
{
	if (rp->deferred != NULL)
		db_route_defer(rp->deferred, 0);
	rp->deferred = NULL;
}

/* Apply the changes to the store, reporting and auditing each, until
 * they are all applied (1) or the slice is over (0); -1 with the error
 * replied.  Each route goes to its final place at once, and the routes
 * that stay are put in theirs after (place): not a shift of the routes
 * below each added or removed one, which was most of a replace's cost.
 * The changes reported and audited are the same. */
static int
apply(struct replace *rp, uint64_t until)
{
	struct cmd_ctx *x = rp->x;
	const struct sd_changes *cs = &rp->cs;
	struct cmd c;
	char text[CTL_LINE_MAX * 2], detail[CTL_LINE_MAX * 2];
	char err[1024], msg[CTL_LINE_MAX * 2 + 1100];
	unsigned n;

	/* The caller rolls back on failure (cmd.h), so a change needs no
	 * savepoint of its own: 10,000 of them wrote each page they touched
	 * to the statement journal's file again.  Only within the slice:
	 * other commands run on the store between two. */
	db_bulk(x->db, 1);
	if (rp->deferred == NULL) {
		if (db_route_defer(x->db, 1) == -1) {
			db_bulk(x->db, 0);
			return cmd_dberr(x);
		}
		rp->deferred = x->db;
	}
	for (n = 1; rp->next < cs->n; n++) {
		const struct sd_change *ch = &cs->v[rp->next];

		if (n % SLICE_CHECK == 0 && now_us() >= until)
			break;
		sd_change_cmd(ch, &c);
		if (cmd_format_safe(&c, c.given, text, sizeof(text)) == -1)
			snprintf(text, sizeof(text), "%s ...", c.spec->words);
		sd_change_detail(ch, detail, sizeof(detail));
		if (ch->id == CMD_ROUTE_ADD)
			c.a.route.position = ch->final;
		if (cmd_run_on(x->db, x->sess, &c, NULL, err,
		    sizeof(err)) == -1) {
			audit_flush(rp);
			db_bulk(x->db, 0);
			undefer(rp);
			snprintf(msg, sizeof(msg), "%s: %s", text, err);
			return fail_at(x, CTL_ERR_RUNTIME, ch->line, msg);
		}
		audit_keep(rp, text);
		reply_change(x->r, ch->op, text, detail, ch->line);
		rp->next++;
	}
	audit_flush(rp);
	db_bulk(x->db, 0);
	return rp->next == cs->n;
}

/* The routes that stay, where they go: positions are 1..N again. */
static int
place(struct replace *rp)
{
	const struct sd_changes *cs = &rp->cs;
	struct db_route_place *v;
	size_t i;
	int rc;

	v = xcalloc(cs->nplace + 1, sizeof(*v));
	for (i = 0; i < cs->nplace; i++) {
		v[i].id = cs->place[i].id;
		v[i].from = cs->place[i].from;
		v[i].to = cs->place[i].to;
	}
	db_bulk(rp->x->db, 1);
	rc = db_route_place(rp->x->db, v, cs->nplace, cs->maxid);
	db_bulk(rp->x->db, 0);
	undefer(rp);
	free(v);
	return rc == 0 ? 0 : cmd_dberr(rp->x);
}

/* What the commit will need, each piece in slices (it costs tens of ms
 * at 10,000 routes): the store is held until then, so it is what the
 * commit would make of it.  The table: 1 built (or not needed), 0 while
 * its routes are read, -1 with the error replied. */
static int
make_table(struct replace *rp, uint64_t until)
{
	char err[1024];
	int rc;

	if (!rp->ahead || rp->counts.n == 0)
		return 1;
	if (rp->building == NULL && (rp->building = config_build_begin(
	    dr->db, dr->cfg, dr->rc, err, sizeof(err))) == NULL)
		return cmd_fail(rp->x, "%s; nothing changed", err);
	rc = config_build_next(rp->building, until, &rp->made.built, err,
	    sizeof(err));
	if (rc == 0)
		return 0;
	rp->building = NULL;
	if (rc == -1)
		return cmd_fail(rp->x, "%s; nothing changed", err);
	return 1;
}

static int
make_text(struct replace *rp)
{
	if (rp->ahead_text && rp->counts.n > 0 &&
	    cmd_share_text(&rp->made.text, &rp->made.len) == -1)
		return cmd_dberr(rp->x);
	return 0;
}

/* Work until the slice ends at until (now_us): 0 while work is left,
 * 1 done, -1 failed (the error replied). */
static int
step(struct replace *rp, uint64_t until)
{
	int rc;

	switch (rp->phase) {
	case PH_START:
		if (start(rp) == -1)
			return -1;
		rp->phase = PH_BUILD;
		return 0;
	case PH_BUILD:
		if ((rc = build(rp, until)) != 1)
			return rc;
		rp->phase = PH_TARGET;
		return 0;
	case PH_TARGET:
		if ((rc = read_target(rp, until)) != 1)
			return rc;
		/* The scratch has said all it had to: let it go now. */
		db_close(rp->scratch);
		rp->scratch = NULL;
		rp->phase = PH_CURRENT;
		return 0;
	case PH_CURRENT:
		if ((rc = read_current(rp, until)) != 1)
			return rc;
		rp->phase = PH_DIFF;
		return 0;
	case PH_DIFF:
		if (sd_diff_step(&rp->differ, &rp->cur, &rp->tgt, &rp->cs,
		    until) == 0)
			return 0;
		reply_columns(rp->x->r, "op\tcommand\tdetail\tline#");
		rp->phase = PH_APPLY;
		return 0;
	case PH_APPLY:
		if ((rc = apply(rp, until)) != 1)
			return rc;
		rp->phase = PH_PLACE;
		return 0;
	case PH_PLACE:
		if (place(rp) == -1)
			return -1;
		rp->counts.n = rp->cs.n;
		rp->counts.add = rp->cs.nadd;
		rp->counts.del = rp->cs.ndel;
		rp->counts.chg = rp->cs.nchg;
		/* What the diff and the apply hold is not needed again. */
		sd_changes_free(&rp->cs);
		rp->phase = PH_FREE;
		return 0;
	case PH_FREE:
		/* Some ms for each state of 10,000 routes: a slice each. */
		if (rp->cur.set != NULL) {
			sd_free(&rp->cur);
			return 0;
		}
		sd_free(&rp->tgt);
		rp->phase = PH_TABLE;
		return 0;
	case PH_TABLE:
		if ((rc = make_table(rp, until)) != 1)
			return rc;
		rp->phase = PH_TEXT;
		return 0;
	case PH_TEXT:
		if (make_text(rp) == -1)
			return -1;
		rp->phase = PH_DONE;
		return 0;
	default:
		return 1;
	}
}

static struct replace *
replace_new(struct cmd_ctx *x, const char *text, size_t len,
    int keys_whole, const char *outcome)
{
	struct replace *rp = xcalloc(1, sizeof(*rp));

	rp->x = x;
	/* The caller's copy may go before the last slice ran. */
	rp->text = xmalloc(len + 1);
	memcpy(rp->text, text, len);
	rp->text[len] = '\0';
	rp->len = len;
	rp->keys_whole = keys_whole;
	rp->outcome = xstrdup(outcome);
	/* The patterns known() finds are the snapshot's: keep it. */
	rp->cfg = dr->cfg;
	config_ref(rp->cfg);
	known_init(rp);
	rp->lines.settings = xcalloc(setting_table_len, sizeof(unsigned));
	return rp;
}

void
cmd_replace_cancel(struct replace *rp)
{
	if (rp == NULL)
		return;
	if (rp->ev != NULL)
		event_free(rp->ev);
	undefer(rp);
	/* Before the scratch it may be reading. */
	cmd_state_read_free(rp->reading);
	config_build_free(rp->building);
	if (rp->sc_open)
		script_free(&rp->sc);
	sd_diff_abort(&rp->differ);
	sd_changes_free(&rp->cs);
	sd_free(&rp->cur);
	sd_free(&rp->tgt);
	free(rp->known);
	free(rp->audit);	/* empty: apply writes them before it returns */
	config_unref(rp->cfg);
	lines_free(&rp->lines);
	cmd_ahead_free(&rp->made);
	db_close(rp->scratch);
	/* The input may hold secrets (key add). */
	explicit_bzero(rp->text, rp->len);
	free(rp->text);
	free(rp->outcome);
	free(rp);
}

int
cmd_replace_text(struct cmd_ctx *x, const char *text, size_t len,
    int keys_whole, const char *outcome, struct cmd_counts *n)
{
	struct replace *rp;
	int rc;

	/* In the smallest slices (until 0): the same resumable path the
	 * event loop takes, where the fuzzers see it. */
	rp = replace_new(x, text, len, keys_whole, outcome);
	while ((rc = step(rp, 0)) == 0)
		;
	*n = rp->counts;
	cmd_replace_cancel(rp);
	return rc == 1 ? 0 : -1;
}

void
cmd_replace_ahead(struct replace *rp, int text)
{
	rp->ahead = 1;
	rp->ahead_text = text;
}

/* What else waits (control clients, etcd) goes first; and while queries
 * flow, the change budget's refill. */
static void
next_slice(struct replace *rp)
{
	struct timeval tv;
	uint64_t us;

	if ((us = pace_wait_us()) > 0)
		pace_waits(us);
	tv.tv_sec = (time_t)(us / 1000000);
	tv.tv_usec = (suseconds_t)(us % 1000000);
	evtimer_add(rp->ev, &tv);
}

static void
slice_cb(evutil_socket_t fd, short what, void *arg)
{
	struct replace *rp = arg;
	void (*done)(int, const struct cmd_counts *, struct cmd_ahead *,
	    void *);
	struct cmd_ahead made;
	struct cmd_counts n;
	void *done_arg;
	uint64_t mark, cpu;
	enum phase ph;
	int rc;

	(void)fd;
	(void)what;
	/* A change gives the CPU to queries (prio.c), a fleet's apply too. */
	prio_change_enter();
	mark = pace_mark();
	ph = rp->phase;
	cpu = thread_cpu_ns();
	rc = step(rp, now_us() + (mark != 0 ? SLICE_PACED_US : SLICE_US));
	/* The longest slice is what a worker waits for (issue 16). */
	log_debug("replace: %s slice %" PRIu64 " us of CPU",
	    phase_names[ph], (thread_cpu_ns() - cpu) / 1000);
	if (rc == 0) {
		pace_charge(mark);
		next_slice(rp);
		prio_change_leave();
		return;
	}
	done = rp->done;
	done_arg = rp->arg;
	n = rp->counts;
	made = rp->made;
	memset(&rp->made, 0, sizeof(rp->made));
	cmd_replace_cancel(rp);
	done(rc == 1 ? 0 : -1, &n, &made, done_arg);
	cmd_ahead_free(&made);
	/* The commit and the table's publication too. */
	pace_charge(mark);
	prio_change_leave();
}

struct replace *
cmd_replace_start(struct cmd_ctx *x, const char *text, size_t len,
    int keys_whole, const char *outcome,
    void (*done)(int rc, const struct cmd_counts *, struct cmd_ahead *,
    void *arg), void *arg)
{
	struct replace *rp;
	static const struct timeval now = { 0, 0 };

	rp = replace_new(x, text, len, keys_whole, outcome);
	rp->done = done;
	rp->arg = arg;
	if ((rp->ev = evtimer_new(dr->base, slice_cb, rp)) == NULL)
		fatalx("evtimer_new failed");
	evtimer_add(rp->ev, &now);
	return rp;
}

/* ---- replace [dry-run], for a control client ---- */

struct client_replace {
	struct cmd_ctx	*x;		/* cmd_later's */
	struct replace	*rp;
	int		 dry;
};

/* The answer of a replace that made n. */
static void
replied(struct cmd_ctx *x, int dry, const struct cmd_counts *n)
{
	x->audited = 1;
	if (n->n == 0) {
		x->rollback = 1;
		reply_ok(x->r, "%sno changes: the state already equals the "
		    "input", dry ? "dry run: " : "");
	} else {
		x->rollback = dry;
		reply_ok(x->r, "%s%zu change%s: %u added, %u removed, %u "
		    "changed%s", dry ? "dry run: " : "", n->n,
		    n->n == 1 ? "" : "s", n->add, n->del, n->chg,
		    dry ? "; checked, nothing applied" : "; committed");
	}
}

static void
client_done(int rc, const struct cmd_counts *n, struct cmd_ahead *made,
    void *arg)
{
	struct client_replace *cr = arg;
	struct cmd_ctx *x = cr->x;

	if (rc == 0)
		replied(x, cr->dry, n);
	/* Its commit takes what was made for it. */
	x->ahead = *made;
	memset(made, 0, sizeof(*made));
	free(cr);
	cmd_later_end(x, rc);
}

/* The client left (or the daemon stops) before the end. */
static void
client_gone(void *arg)
{
	struct client_replace *cr = arg;

	cmd_replace_cancel(cr->rp);
	free(cr);
}

int
cmd_replace(struct cmd_ctx *x, const union cmd_args *u)
{
	struct client_replace *cr;
	struct cmd_counts n;

	if (x->sess->in_txn)
		return cmd_fail(x, "replace is a transaction of its own; "
		    "commit or abort first");
	if (x->r->conn == NULL) {
		/* Nobody to answer later (a test driving the handlers). */
		if (cmd_replace_text(x, x->body, x->bodylen, 0,
		    "ok (replace)", &n) == -1)
			return -1;
		replied(x, u->replace.dry_run, &n);
		return 0;
	}
	cr = xcalloc(1, sizeof(*cr));
	cr->dry = u->replace.dry_run;
	cr->x = cmd_later(x, client_gone, cr);
	cr->rp = cmd_replace_start(cr->x, x->body, x->bodylen, 0,
	    "ok (replace)", client_done, cr);
	if (!cr->dry)
		cmd_replace_ahead(cr->rp, 1);
	return CMD_LATER;
}

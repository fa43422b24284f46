/*
 * test_db_place: a replace's routes applied with their positions
 * deferred (db_route_defer, db_route_place) leave the store as applying
 * the same changes one by one, each shifting the routes below it, does:
 * the same ids at the same positions, 1..N, in the target's order.  The
 * changes are statediff's, between random states: routes removed, added
 * alone and in blocks, blocks moved, comments changed, twins.  And the
 * route count an append keeps (no SELECT for the next) is forgotten when
 * a rollback undoes the append.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "log.h"
#include "statediff.h"
#include "util.h"
#include "unit.h"

#define MAXR	200

struct row {
	int64_t	id;
	int	position;
	char	pattern[32];
	char	comment[32];
};

struct rows {
	struct row	v[MAXR * 3];
	int		n;
};

static int
rows_cb(const struct db_route *r, void *arg)
{
	struct rows *rs = arg;
	struct row *w = &rs->v[rs->n++];

	w->id = r->id;
	w->position = r->position;
	snprintf(w->pattern, sizeof(w->pattern), "%s", r->pattern);
	snprintf(w->comment, sizeof(w->comment), "%s", r->comment);
	return 0;
}

static void
rows_read(struct db *db, struct rows *rs)
{
	rs->n = 0;
	CHECKF(db_route_foreach(db, rows_cb, rs) == 0, "%s", db_errmsg(db));
}

static struct db *
open_mem(void)
{
	char err[512];
	struct db *db;

	if ((db = db_open(":memory:", err, sizeof(err))) == NULL) {
		fprintf(stderr, "db_open: %s\n", err);
		exit(1);
	}
	CHECK(db_begin(db) == 0);
	return db;
}

static int
route_put(struct db *db, const struct sd_route *sr, int64_t id, int position)
{
	struct db_route r;

	memset(&r, 0, sizeof(r));
	r.id = id;
	r.pattern = sr->pattern;
	r.action = ACTION_REFUSE;
	r.comment = sr->comment;
	r.position = position;
	if (id != 0)
		return db_route_update(db, &r);
	return db_route_add(db, &r);
}

/* The changes of cs, on db: deferred (each route added at its final
 * place, moves left to db_route_place) or as a replace did before. */
static void
apply(struct db *db, const struct sd_changes *cs, int deferred)
{
	struct db_route_place v[MAXR * 3];
	const struct sd_change *ch;
	size_t i;
	int rc = 0;

	if (deferred)
		CHECK(db_route_defer(db, 1) == 0);
	for (i = 0; rc == 0 && i < cs->n; i++) {
		ch = &cs->v[i];
		switch (ch->id) {
		case CMD_ROUTE_DEL:
			rc = db_route_del(db, ch->about->id);
			break;
		case CMD_ROUTE_ADD:
			rc = route_put(db, ch->item, 0, deferred ? ch->final :
			    ch->position);
			break;
		case CMD_ROUTE_MOVE:
			rc = db_route_move(db, ch->about->id, ch->position);
			break;
		case CMD_ROUTE_SET:
			rc = route_put(db, ch->item, ch->about->id, 0);
			break;
		default:
			break;
		}
		CHECKF(rc == 0, "change %zu (%d): %s", i, (int)ch->id,
		    db_errmsg(db));
	}
	if (!deferred)
		return;
	for (i = 0; i < cs->nplace; i++) {
		v[i].id = cs->place[i].id;
		v[i].from = cs->place[i].from;
		v[i].to = cs->place[i].to;
	}
	CHECKF(db_route_place(db, v, cs->nplace, cs->maxid) == 0, "%s",
	    db_errmsg(db));
	CHECK(db_route_defer(db, 0) == 0);
}

static void
state_of(struct db *db, struct sd_state *st)
{
	struct rows rs;
	struct sd_route *sr;
	int i;

	rows_read(db, &rs);
	sd_init(st);
	for (i = 0; i < rs.n; i++) {
		sr = sd_add_route(st, rs.v[i].pattern, NULL, rs.v[i].comment);
		sr->id = rs.v[i].id;
		sr->action = ACTION_REFUSE;
	}
}

/* A target made from cur: some removed, a block moved, blocks and single
 * routes added, some comments changed, some twins. */
static void
target_of(const struct sd_state *cur, struct sd_state *tgt, unsigned *seed,
    int round)
{
	char pat[MAXR * 3][32], com[MAXR * 3][32], t[32], c[32];
	int n = 0, i, j, k, at, len;

	for (i = 0; i < (int)cur->nr; i++) {
		if (rand_r(seed) % 8 == 0)
			continue;		/* removed */
		snprintf(pat[n], sizeof(pat[n]), "%s", cur->r[i].pattern);
		snprintf(com[n], sizeof(com[n]), "%s", rand_r(seed) % 10 ?
		    cur->r[i].comment : "changed");
		n++;
	}
	/* A block moved elsewhere. */
	if (n > 2) {
		len = 1 + (int)(rand_r(seed) % (unsigned)(n / 2));
		at = (int)(rand_r(seed) % (unsigned)(n - len + 1));
		for (k = 0; k < len; k++) {
			/* Rotate [at, n) left by one, len times: the block
			 * goes to the end, then some of the tail after it. */
			snprintf(t, sizeof(t), "%s", pat[at]);
			snprintf(c, sizeof(c), "%s", com[at]);
			for (j = at; j < n - 1; j++) {
				memcpy(pat[j], pat[j + 1], sizeof(pat[j]));
				memcpy(com[j], com[j + 1], sizeof(com[j]));
			}
			memcpy(pat[n - 1], t, sizeof(t));
			memcpy(com[n - 1], c, sizeof(c));
		}
	}
	/* Added: a block, then single routes (some twins of others). */
	for (k = 0; k < 1 + round % 4; k++) {
		len = (int)(rand_r(seed) % 20);
		at = (int)(rand_r(seed) % (unsigned)(n + 1));
		if (n + len > MAXR * 2)
			break;
		memmove(pat[at + len], pat[at], (size_t)(n - at) *
		    sizeof(pat[0]));
		memmove(com[at + len], com[at], (size_t)(n - at) *
		    sizeof(com[0]));
		for (j = 0; j < len; j++) {
			if (n > 0 && rand_r(seed) % 6 == 0) {
				/* A twin of a route before the block. */
				if (at > 0)
					memcpy(t, pat[rand_r(seed) %
					    (unsigned)at], sizeof(t));
				else
					snprintf(t, sizeof(t), "r0");
				memcpy(pat[at + j], t, sizeof(t));
			} else
				snprintf(pat[at + j], sizeof(pat[0]),
				    "n%d.%d.%d", round, k, j);
			snprintf(com[at + j], sizeof(com[0]), "new");
		}
		n += len;
	}
	sd_init(tgt);
	for (i = 0; i < n; i++) {
		struct sd_route *sr = sd_add_route(tgt, pat[i], NULL, com[i]);

		sr->action = ACTION_REFUSE;
	}
}

static void
one_round(int round, unsigned *seed)
{
	struct db *a = open_mem(), *b = open_mem();
	struct sd_state cur, tgt;
	struct sd_changes cs;
	struct rows ra, rb;
	char p[32];
	int n, i, count, same;

	/* The same routes in both stores: the same ids. */
	n = (int)(rand_r(seed) % MAXR);
	for (i = 0; i < n; i++) {
		struct sd_route r;

		memset(&r, 0, sizeof(r));
		snprintf(p, sizeof(p), "r%d", rand_r(seed) % 7 == 0 ? i / 2 :
		    i);
		r.pattern = p;
		r.comment = "";
		CHECK(route_put(a, &r, 0, 0) == 0);
		CHECK(route_put(b, &r, 0, 0) == 0);
	}
	state_of(a, &cur);
	target_of(&cur, &tgt, seed, round);
	sd_diff(&cur, &tgt, &cs);
	apply(a, &cs, 0);
	apply(b, &cs, 1);
	rows_read(a, &ra);
	rows_read(b, &rb);
	same = ra.n == rb.n && ra.n == (int)tgt.nr;
	for (i = 0; same && i < ra.n; i++)
		same = ra.v[i].id == rb.v[i].id &&
		    ra.v[i].position == i + 1 && rb.v[i].position == i + 1 &&
		    strcmp(rb.v[i].pattern, tgt.r[i].pattern) == 0 &&
		    strcmp(ra.v[i].comment, rb.v[i].comment) == 0 &&
		    strcmp(rb.v[i].comment, tgt.r[i].comment) == 0;
	CHECKF(same, "round %d: %d routes to %zu, %zu changes, %zu placed: "
	    "the stores differ (%d, %d rows)", round, n, tgt.nr, cs.n,
	    cs.nplace, ra.n, rb.n);
	CHECK(db_route_count(b, &count) == 0 && count == (int)tgt.nr);
	sd_changes_free(&cs);
	sd_free(&cur);
	sd_free(&tgt);
	db_close(a);
	db_close(b);
}

/* A delete, a move and the count while deferred; a missing route. */
static void
test_calls(void)
{
	struct db *db = open_mem();
	struct db_route_place v[2];
	struct sd_route r;
	struct rows rs;
	int count;

	memset(&r, 0, sizeof(r));
	r.comment = "";
	r.pattern = "a";
	CHECK(route_put(db, &r, 0, 0) == 0);
	r.pattern = "b";
	CHECK(route_put(db, &r, 0, 0) == 0);
	r.pattern = "c";
	CHECK(route_put(db, &r, 0, 0) == 0);
	CHECK(db_route_defer(db, 1) == 0);
	CHECK(db_route_del(db, 1) == 0);
	CHECK(db_route_del(db, 1) == 1);
	CHECKF(strstr(db_errmsg(db), "no such route 1") != NULL, "%s",
	    db_errmsg(db));
	CHECK(db_route_move(db, 77, 1) == 1);
	CHECK(db_route_move(db, 3, 1) == 0);	/* db_route_place does it */
	CHECK(db_route_count(db, &count) == 0 && count == 2);
	r.pattern = "d";
	CHECK(route_put(db, &r, 0, 2) == 0);	/* c d b */
	CHECK(db_route_count(db, &count) == 0 && count == 3);
	v[0].id = 3;
	v[0].from = 3;
	v[0].to = 1;
	v[1].id = 2;
	v[1].from = 2;
	v[1].to = 3;
	CHECK(db_route_place(db, v, 2, 3) == 0);
	CHECK(db_route_defer(db, 0) == 0);
	rows_read(db, &rs);
	CHECK(rs.n == 3 && strcmp(rs.v[0].pattern, "c") == 0 &&
	    strcmp(rs.v[1].pattern, "d") == 0 &&
	    strcmp(rs.v[2].pattern, "b") == 0 && rs.v[2].position == 3);
	db_close(db);
}

/* Appends at the count kept, after rollbacks of appends. */
static void
test_count(void)
{
	struct db *db = open_mem();
	struct sd_route r;
	struct rows rs;
	int i, count;

	memset(&r, 0, sizeof(r));
	r.comment = "";
	r.pattern = "a";
	for (i = 0; i < 3; i++)
		CHECK(route_put(db, &r, 0, 0) == 0);
	CHECK(db_savepoint(db) == 0);
	CHECK(route_put(db, &r, 0, 0) == 0);
	CHECK(db_route_count(db, &count) == 0 && count == 4);
	CHECK(db_rollback_savepoint(db) == 0);
	CHECK(db_route_count(db, &count) == 0 && count == 3);
	CHECK(route_put(db, &r, 0, 0) == 0);
	CHECK(db_rollback(db) == 0);
	CHECK(db_begin(db) == 0);
	CHECK(db_route_count(db, &count) == 0 && count == 0);
	CHECK(route_put(db, &r, 0, 0) == 0);
	CHECK(route_put(db, &r, 0, 0) == 0);
	rows_read(db, &rs);
	CHECK(rs.n == 2 && rs.v[0].position == 1 && rs.v[1].position == 2);
	/* A row written behind the store's back: the count is read again. */
	CHECK(db_route_defer(db, 1) == 0);
	CHECK(db_route_del(db, rs.v[1].id) == 0);
	CHECK(db_route_defer(db, 0) == 0);
	CHECK(db_route_count(db, &count) == 0 && count == 1);
	db_close(db);
}

/* A scratch store's route table (db_route_scratch) numbers and places
 * routes as the store's does, and keeps its checks. */
static void
test_scratch(void)
{
	struct db *db = open_mem();
	struct db_route r;
	struct rows rs;
	int i;

	CHECKF(db_route_scratch(db) == 0, "%s", db_errmsg(db));
	memset(&r, 0, sizeof(r));
	r.comment = "";
	r.pattern = "a";
	r.action = ACTION_REFUSE;
	for (i = 0; i < 3; i++) {
		r.position = 0;
		CHECKF(db_route_add(db, &r) == 0, "%s", db_errmsg(db));
	}
	r.position = 2;
	r.pattern = "b";
	CHECK(db_route_add(db, &r) == 0 && r.id == 4);
	rows_read(db, &rs);
	CHECK(rs.n == 4 && rs.v[1].id == 4 && rs.v[1].position == 2 &&
	    rs.v[3].id == 3 && rs.v[3].position == 4);
	/* The foreign key to pool, and a check. */
	r.action = ACTION_POOL;
	r.pool_id = 99;
	CHECK(db_route_add(db, &r) == -1 &&
	    strstr(db_errmsg(db), "no such pool") != NULL);
	r.action = ACTION_REFUSE;
	r.qtype = 70000;
	CHECK(db_route_add(db, &r) == -1);
	db_close(db);
}

int
main(void)
{
	unsigned seed = 16;
	int round;

	log_init("test_db_place", 0, LOG_LVL_WARN);
	test_calls();
	test_count();
	test_scratch();
	for (round = 0; round < 300; round++)
		one_round(round, &seed);
	UNIT_DONE("db_place");
}

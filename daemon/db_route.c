/*
 * db_route: the rows of table route (db.h).  Positions are 1..N without
 * gaps after every call, but while a replace defers them (db_route_defer,
 * until its db_route_place); the calls that shift other rows run in their
 * own savepoint (db_op_begin).
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "db_int.h"
#include "util.h"

uint64_t
db_routes_gen(struct db *db)
{
	return db->routes_gen;
}

void
db_routes_touched(struct db *db)
{
	db->routes_gen++;
}

/* The count is n now (route_last). */
static void
last_keep(struct db *db, int64_t n)
{
	db->last_n = n;
	db->last_gen = db->routes_gen;
	db->last_cached = 1;
}

static int
route_last(struct db *db, int64_t *last)
{
	sqlite3_stmt *st;

	/* Deferred, positions have gaps and twins: max() is not the count. */
	if (db->defer) {
		*last = db->route_n;
		return 0;
	}
	if (db->last_cached && db->last_gen == db->routes_gen &&
	    !sqlite3_get_autocommit(db->h)) {
		*last = db->last_n;
		return 0;
	}
	if ((st = db_stmt_get(db, S_ROUTE_LAST)) == NULL)
		return -1;
	if (db_stmt_int64(db, st, last) != 0)
		return -1;
	last_keep(db, *last);
	return 0;
}

/* Shift positions lo..hi by +1 (up) or -1.  The common shift is of a
 * row or two (a route added or deleted above a catch-all): those are
 * updated by id. */
#define SHIFT_BY_ID	8

static int
route_shift(struct db *db, enum stmt id, int64_t lo, int64_t hi)
{
	sqlite3_stmt *st;
	int64_t ids[SHIFT_BY_ID + 1];
	int n = 0, i, rc;

	if ((st = db_stmt_get(db, S_ROUTE_IDS_AT)) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, lo);
	sqlite3_bind_int64(st, 2, hi);
	sqlite3_bind_int(st, 3, SHIFT_BY_ID + 1);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		ids[n++] = sqlite3_column_int64(st, 0);
	if (rc != SQLITE_DONE) {
		db_stmt_fail(db, st, rc);
		return -1;
	}
	db_stmt_done(st);
	if (n > SHIFT_BY_ID) {
		if ((st = db_stmt_get(db, id)) == NULL)
			return -1;
		sqlite3_bind_int64(st, 1, lo);
		sqlite3_bind_int64(st, 2, hi);
		return db_stmt_run(db, st) == SQLITE_OK ? 0 : -1;
	}
	for (i = 0; i < n; i++) {
		if ((st = db_stmt_get(db, S_ROUTE_SHIFT_ID)) == NULL)
			return -1;
		sqlite3_bind_int64(st, 1, ids[i]);
		sqlite3_bind_int(st, 2, id == S_ROUTE_SHIFT_UP ? 1 : -1);
		if (db_stmt_run(db, st) != SQLITE_OK)
			return -1;
	}
	return 0;
}

/* The position of route id: 0, 1 (no such route) or -1. */
static int
route_pos(struct db *db, int64_t id, int64_t *pos)
{
	sqlite3_stmt *st;
	int rc;

	if ((st = db_stmt_get(db, S_ROUTE_POS)) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	if ((rc = db_stmt_int64(db, st, pos)) == 1)
		db_err(db, "no such route %" PRId64, id);
	return rc;
}

/* Bind a route's columns (?2 pattern ... ?6 comment) and run st. */
static int
route_write(struct db *db, sqlite3_stmt *st, const struct db_route *r,
    const char *action)
{
	int rc;

	if (db_enum_word(&words_opcode, r->opcode) == NULL ||
	    db_enum_word(&words_tsig, r->tsig) == NULL) {
		db_stmt_done(st);
		return db_err(db, "bad route opcode %d or tsig %d", r->opcode,
		    r->tsig);
	}
	db_bind_text(st, 2, r->pattern);
	sqlite3_bind_int(st, 3, r->qtype);
	db_bind_text(st, 4, action);
	if (r->action == ACTION_POOL)
		sqlite3_bind_int64(st, 5, r->pool_id);
	else
		sqlite3_bind_null(st, 5);
	db_bind_text(st, 6, r->comment);
	db_bind_text(st, 7, db_enum_word(&words_opcode, r->opcode));
	db_bind_text(st, 8, db_enum_word(&words_tsig, r->tsig));
	if ((rc = db_stmt_run(db, st)) == SQLITE_OK)
		return 0;
	if (rc == SQLITE_CONSTRAINT_FOREIGNKEY)
		return db_err(db, "no such pool (id %" PRId64 ")", r->pool_id);
	return -1;
}

static int
route_insert(struct db *db, const struct db_route *r, const char *action,
    int64_t pos)
{
	sqlite3_stmt *st;

	if ((st = db_stmt_get(db, S_ROUTE_ADD)) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, pos);
	return route_write(db, st, r, action);
}

int
db_route_add(struct db *db, struct db_route *r)
{
	const char *action;
	int64_t last, pos;
	int ret;

	if ((action = db_enum_word(&words_action, r->action)) == NULL)
		return db_err(db, "bad route action %d", r->action);
	if (r->pattern == NULL)
		return db_err(db, "route without a pattern");
	if (r->position < 0)
		return db_err(db, "bad route position %d", r->position);
	if (route_last(db, &last) == -1)
		return -1;
	if (db->defer) {
		/* The position is the route's last one: nothing shifts. */
		pos = r->position > 0 ? r->position : last + 1;
		if (route_insert(db, r, action, pos) == -1)
			return -1;
		db->route_n++;
	} else if (r->position == 0 || r->position > last) {
		/* Appending shifts nothing: one statement, atomic as it is. */
		if (route_insert(db, r, action, last + 1) == -1)
			return -1;
		pos = last + 1;
		last_keep(db, pos);
	} else {
		pos = r->position;
		if (db_op_begin(db) == -1)
			return -1;
		ret = route_shift(db, S_ROUTE_SHIFT_UP, pos, last);
		if (ret == 0)
			ret = route_insert(db, r, action, pos);
		if (db_op_end(db, ret) == -1)
			return -1;
	}
	r->id = sqlite3_last_insert_rowid(db->h);
	r->position = (int)pos;
	return 0;
}

int
db_route_del(struct db *db, int64_t id)
{
	sqlite3_stmt *st;
	int64_t pos;
	int ret;

	if (db->defer) {
		/* A gap, closed by db_route_place. */
		if ((st = db_stmt_get(db, S_ROUTE_DEL)) == NULL)
			return -1;
		sqlite3_bind_int64(st, 1, id);
		if (db_stmt_run(db, st) != SQLITE_OK)
			return -1;
		if (sqlite3_changes(db->h) == 0) {
			db_err(db, "no such route %" PRId64, id);
			return 1;
		}
		db->route_n--;
		return 0;
	}
	if ((ret = route_pos(db, id, &pos)) != 0)
		return ret;
	if (db_op_begin(db) == -1)
		return -1;
	if ((st = db_stmt_get(db, S_ROUTE_DEL)) == NULL)
		ret = -1;
	else {
		sqlite3_bind_int64(st, 1, id);
		ret = db_stmt_run(db, st) == SQLITE_OK ? 0 : -1;
	}
	if (ret == 0)
		ret = route_shift(db, S_ROUTE_SHIFT_DOWN, pos + 1, INT64_MAX);
	return db_op_end(db, ret);
}

/* Like add, position 0 or past the end means last. */
int
db_route_move(struct db *db, int64_t id, int position)
{
	sqlite3_stmt *st;
	int64_t from, to, last;
	int ret;

	if (position < 0)
		return db_err(db, "bad route position %d", position);
	if ((ret = route_pos(db, id, &from)) != 0 || db->defer)
		return ret;
	if (route_last(db, &last) == -1)
		return -1;
	to = position == 0 || position > last ? last : position;
	if (to == from)
		return 0;
	if (db_op_begin(db) == -1)
		return -1;
	/* Close the gap at from, open one at to, then drop the route in. */
	if (to < from)
		ret = route_shift(db, S_ROUTE_SHIFT_UP, to, from - 1);
	else
		ret = route_shift(db, S_ROUTE_SHIFT_DOWN, from + 1, to);
	if (ret == 0) {
		if ((st = db_stmt_get(db, S_ROUTE_SETPOS)) == NULL)
			ret = -1;
		else {
			sqlite3_bind_int64(st, 1, id);
			sqlite3_bind_int64(st, 2, to);
			ret = db_stmt_run(db, st) == SQLITE_OK ? 0 : -1;
		}
	}
	return db_op_end(db, ret);
}

int
db_route_update(struct db *db, const struct db_route *r)
{
	const char *action;
	sqlite3_stmt *st;

	if ((action = db_enum_word(&words_action, r->action)) == NULL)
		return db_err(db, "bad route action %d", r->action);
	if ((st = db_stmt_get(db, S_ROUTE_UPDATE)) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, r->id);
	if (route_write(db, st, r, action) == -1)
		return -1;
	if (sqlite3_changes(db->h) == 0) {
		db_err(db, "no such route %" PRId64, r->id);
		return 1;
	}
	return 0;
}

int
db_route_hits_set(struct db *db, int64_t id, int64_t hits)
{
	sqlite3_stmt *st;

	if ((st = db_stmt_get(db, S_ROUTE_HITS)) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int64(st, 2, hits);
	return db_stmt_run(db, st) == SQLITE_OK ? 0 : -1;
}

int
db_route_count(struct db *db, int *count)
{
	int64_t n;

	if (route_last(db, &n) == -1)
		return -1;
	*count = (int)n;
	return 0;
}

int
db_route_defer(struct db *db, int on)
{
	int64_t n;

	if (!on) {
		db->defer = 0;
		return 0;
	}
	if (db->defer)
		return 0;
	if (route_last(db, &n) == -1)
		return -1;
	db->route_n = n;
	db->defer = 1;
	return 0;
}

/* Where db_route_place parks a long run: past any position. */
#define PARK_AT		1000000000

/* The end of the run of v that starts at i: entries one position
 * apart both before and after, so moved by the same amount. */
static size_t
place_run(const struct db_route_place *v, size_t n, size_t i)
{
	size_t j;

	for (j = i + 1; j < n; j++)
		if (v[j].from != v[j - 1].from + 1 || v[j].to != v[j - 1].to + 1)
			break;
	return j;
}

int
db_route_place(struct db *db, const struct db_route_place *v, size_t n,
    int64_t maxid)
{
	sqlite3_stmt *st;
	size_t i, j, k;
	int ret = 0, parked = 0;

	if (db_op_begin(db) == -1)
		return -1;
	/* Long runs first, each one statement: the range of its old
	 * positions holds its routes and no other old one (none is placed
	 * yet); parked past the end, they cannot land in the next's. */
	for (i = 0; ret == 0 && i < n; i = j) {
		j = place_run(v, n, i);
		if (j - i < SHIFT_BY_ID)
			continue;
		if ((st = db_stmt_get(db, S_ROUTE_PARK)) == NULL) {
			ret = -1;
			break;
		}
		sqlite3_bind_int64(st, 1, v[i].from);
		sqlite3_bind_int64(st, 2, v[j - 1].from);
		sqlite3_bind_int64(st, 3, (int64_t)PARK_AT + v[i].to -
		    v[i].from);
		sqlite3_bind_int64(st, 4, maxid);
		ret = db_stmt_run(db, st) == SQLITE_OK ? 0 : -1;
		parked = 1;
	}
	/* The rest one by one, straight to their place. */
	for (i = 0; ret == 0 && i < n; i = j) {
		j = place_run(v, n, i);
		if (j - i >= SHIFT_BY_ID)
			continue;
		for (k = i; ret == 0 && k < j; k++) {
			if ((st = db_stmt_get(db, S_ROUTE_SETPOS)) == NULL) {
				ret = -1;
				break;
			}
			sqlite3_bind_int64(st, 1, v[k].id);
			sqlite3_bind_int64(st, 2, v[k].to);
			ret = db_stmt_run(db, st) == SQLITE_OK ? 0 : -1;
		}
	}
	if (ret == 0 && parked) {
		if ((st = db_stmt_get(db, S_ROUTE_UNPARK)) == NULL)
			ret = -1;
		else {
			sqlite3_bind_int64(st, 1, PARK_AT);
			ret = db_stmt_run(db, st) == SQLITE_OK ? 0 : -1;
		}
	}
	return db_op_end(db, ret);
}

static int
route_emit(struct db *db, sqlite3_stmt *st, union db_row_cb cb, void *arg)
{
	struct db_route r;

	memset(&r, 0, sizeof(r));
	r.id = sqlite3_column_int64(st, 0);
	r.position = sqlite3_column_int(st, 1);
	r.pattern = db_col_str(st, 2);
	r.qtype = sqlite3_column_int(st, 3);
	r.action = db_word_enum(&words_action, st, 4);
	r.pool_id = sqlite3_column_int64(st, 5);
	db_col_copy(r.pool_name, sizeof(r.pool_name), st, 6);
	r.comment = db_col_str(st, 7);
	r.hits = sqlite3_column_int64(st, 8);
	r.opcode = db_word_enum(&words_opcode, st, 9);
	r.tsig = db_word_enum(&words_tsig, st, 10);
	if (r.action == -1 || r.opcode == -1 || r.tsig == -1)
		return db_err(db, "route %" PRId64 ": unknown action, opcode "
		    "or tsig in the database", r.id);
	return cb.route(&r, arg);
}

int
db_route_foreach(struct db *db, int (*cb)(const struct db_route *, void *),
    void *arg)
{
	union db_row_cb u = { .route = cb };
	sqlite3_stmt *st;

	if ((st = db_stmt_get(db, S_ROUTE_ALL)) == NULL)
		return -1;
	return db_each_row(db, st, route_emit, u, arg);
}

struct db_route_walk {
	struct db	*db;
	sqlite3_stmt	*st;
};

struct db_route_walk *
db_route_walk_new(struct db *db)
{
	struct db_route_walk *w;
	sqlite3_stmt *st;

	if (sqlite3_prepare_v2(db->h, db_stmt_sql(S_ROUTE_ALL), -1, &st,
	    NULL) != SQLITE_OK) {
		db_err(db, "%s", sqlite3_errmsg(db->h));
		return NULL;
	}
	w = xcalloc(1, sizeof(*w));
	w->db = db;
	w->st = st;
	return w;
}

/* The clock is looked at every WALK_CHECK rows (a row costs about 1 µs). */
#define WALK_CHECK	64

int
db_route_walk_next(struct db_route_walk *w,
    int (*cb)(const struct db_route *, void *), void *arg, uint64_t until)
{
	union db_row_cb u = { .route = cb };
	unsigned n;
	int rc, ret;

	for (n = 1; ; n++) {
		if (n % WALK_CHECK == 0 && now_us() >= until)
			return 0;
		if ((rc = sqlite3_step(w->st)) != SQLITE_ROW)
			break;
		if ((ret = route_emit(w->db, w->st, u, arg)) != 0)
			return ret;
	}
	if (rc != SQLITE_DONE) {
		db_err(w->db, "%s", sqlite3_errmsg(w->db->h));
		return -1;
	}
	return 1;
}

void
db_route_walk_free(struct db_route_walk *w)
{
	if (w == NULL)
		return;
	sqlite3_finalize(w->st);
	free(w);
}

int
db_route_get(struct db *db, int64_t id,
    int (*cb)(const struct db_route *, void *), void *arg)
{
	union db_row_cb u = { .route = cb };
	sqlite3_stmt *st;
	int rc;

	if ((st = db_stmt_get(db, S_ROUTE_GET)) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE) {
		db_stmt_done(st);
		db_err(db, "no such route %" PRId64, id);
		return 1;
	}
	if (rc != SQLITE_ROW) {
		db_stmt_fail(db, st, rc);
		return -1;
	}
	rc = route_emit(db, st, u, arg);
	db_stmt_done(st);
	return rc;
}

/*
 * A scratch store (cmd_replace.c) only ever adds routes, on an empty
 * table: ids 1, 2, ... with or without AUTOINCREMENT, which costs each
 * INSERT an UPDATE of sqlite_sequence (a quarter of its cost).  The table
 * is made again from its own text without it, so it keeps every column
 * and check, and its indexes.
 */
int
db_route_scratch(struct db *db)
{
	static const char *const sql_of =
	    "SELECT type, sql FROM sqlite_master WHERE tbl_name = 'route' "
	    "AND sql IS NOT NULL ORDER BY type = 'index'";
	sqlite3_stmt *st;
	char **ddl = NULL, *p;
	int n = 0, i, rc;

	if (sqlite3_prepare_v2(db->h, sql_of, -1, &st, NULL) != SQLITE_OK)
		return db_err(db, "%s", sqlite3_errmsg(db->h));
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		ddl = xrealloc(ddl, (n + 1) * sizeof(*ddl));
		ddl[n] = xstrdup(db_col_str(st, 1));
		if (strcmp(db_col_str(st, 0), "table") == 0 &&
		    (p = strstr(ddl[n], " AUTOINCREMENT")) != NULL)
			memset(p, ' ', strlen(" AUTOINCREMENT"));
		n++;
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE || n == 0)
		rc = db_err(db, "no table route: %s", sqlite3_errmsg(db->h));
	else if (sqlite3_exec(db->h, "DROP TABLE route", NULL, NULL,
	    NULL) != SQLITE_OK)
		rc = db_err(db, "%s", sqlite3_errmsg(db->h));
	else
		rc = 0;
	for (i = 0; i < n; i++) {
		if (rc == 0 && sqlite3_exec(db->h, ddl[i], NULL, NULL,
		    NULL) != SQLITE_OK)
			rc = db_err(db, "%s", sqlite3_errmsg(db->h));
		free(ddl[i]);
	}
	free(ddl);
	db_routes_touched(db);
	return rc;
}

int
db_route_using_pool(struct db *db, int64_t pool_id, int64_t *route_id)
{
	sqlite3_stmt *st;
	int rc;

	*route_id = 0;
	if ((st = db_stmt_get(db, S_ROUTE_USING_POOL)) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, pool_id);
	rc = db_stmt_int64(db, st, route_id);
	return rc == -1 ? -1 : 0;
}

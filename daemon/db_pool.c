/*
 * db_pool: the rows of tables pool and pool_member (db.h).  A pool named
 * by a route cannot be deleted; db_pool_get keeps the pool it found last
 * for the rest of the transaction (struct db), since each route of a
 * batch names one, mostly the same.
 */
#include <inttypes.h>
#include <string.h>

#include "db_int.h"

static int
pool_bind(struct db *db, sqlite3_stmt *st, const struct db_pool *p)
{
	const struct pool_conf *c = &p->conf;
	const char *policy, *confirm, *tc_retry;
	char good[64];

	if (db_name_ok(db, "pool", p->name) == -1)
		return -1;
	policy = db_enum_word(&words_policy, c->policy);
	confirm = db_enum_word(&words_confirm, c->confirm);
	tc_retry = db_enum_word(&words_yesno, c->tc_retry);
	if (policy == NULL || confirm == NULL || tc_retry == NULL ||
	    !(c->good >> GOOD_ANSWER & 1))
		return db_err(db, "pool \"%s\": bad policy, confirm, good or "
		    "tc-retry", p->name);
	words_set_format(&words_good, (unsigned)c->good, good, sizeof(good));
	db_bind_text(st, 2, p->name);
	db_bind_text(st, 3, policy);
	db_bind_text(st, 4, confirm);
	/* SQLITE_STATIC would leave the statement pointing into this
	 * frame. */
	sqlite3_bind_text(st, 5, good, -1, SQLITE_TRANSIENT);
	db_bind_text(st, 6, tc_retry);
	return 0;
}

static int
pool_row(struct db *db, sqlite3_stmt *st, struct db_pool *p)
{
	struct pool_conf *c = &p->conf;
	unsigned good;

	memset(p, 0, sizeof(*p));
	p->id = sqlite3_column_int64(st, 0);
	db_col_copy(p->name, sizeof(p->name), st, 1);
	c->policy = db_word_enum(&words_policy, st, 2);
	c->confirm = db_word_enum(&words_confirm, st, 3);
	c->tc_retry = db_word_enum(&words_yesno, st, 5);
	if (c->policy == -1 || c->confirm == -1 || c->tc_retry == -1 ||
	    words_set_parse(&words_good, db_col_str(st, 4), &good) == -1)
		return db_err(db, "pool \"%s\": unknown policy, confirm, good "
		    "or tc-retry in the database", p->name);
	c->good = (int)good;
	return 0;
}

static int
pool_write_err(struct db *db, int rc, const char *name)
{
	if (rc == SQLITE_CONSTRAINT_UNIQUE)
		return db_err(db, "pool \"%s\" exists", name);
	return -1;
}

int
db_pool_add(struct db *db, struct db_pool *p)
{
	sqlite3_stmt *st;
	int rc;

	if ((st = db_stmt_get(db, S_POOL_ADD)) == NULL)
		return -1;
	if (pool_bind(db, st, p) == -1) {
		db_stmt_done(st);
		return -1;
	}
	if ((rc = db_stmt_run(db, st)) != SQLITE_OK)
		return pool_write_err(db, rc, p->name);
	p->id = sqlite3_last_insert_rowid(db->h);
	return 0;
}

int
db_pool_update(struct db *db, const struct db_pool *p)
{
	sqlite3_stmt *st;
	int rc;

	if ((st = db_stmt_get(db, S_POOL_UPDATE)) == NULL)
		return -1;
	if (pool_bind(db, st, p) == -1) {
		db_stmt_done(st);
		return -1;
	}
	sqlite3_bind_int64(st, 1, p->id);
	if ((rc = db_stmt_run(db, st)) != SQLITE_OK)
		return pool_write_err(db, rc, p->name);
	if (sqlite3_changes(db->h) == 0) {
		db_err(db, "no such pool (id %" PRId64 ")", p->id);
		return 1;
	}
	return 0;
}

/* The name of pool id into name[CONF_NAME_MAX]: 0, 1 (none) or -1. */
static int
pool_name(struct db *db, int64_t id, char *name)
{
	sqlite3_stmt *st;
	int rc;

	if ((st = db_stmt_get(db, S_POOL_NAME)) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		db_col_copy(name, CONF_NAME_MAX, st, 0);
		db_stmt_done(st);
		return 0;
	}
	if (rc == SQLITE_DONE) {
		db_stmt_done(st);
		db_err(db, "no such pool (id %" PRId64 ")", id);
		return 1;
	}
	db_stmt_fail(db, st, rc);
	return -1;
}

/* Refused while a route names the pool; memberships go with it.  The
 * foreign key on route.pool_id would refuse too, but not by name. */
int
db_pool_del(struct db *db, int64_t id)
{
	char name[CONF_NAME_MAX];
	sqlite3_stmt *st;
	int64_t route;
	int rc;

	if ((rc = pool_name(db, id, name)) != 0)
		return rc;
	if (db_route_using_pool(db, id, &route) == -1)
		return -1;
	if (route != 0)
		return db_err(db, "pool \"%s\" is used by route %" PRId64,
		    name, route);
	if ((st = db_stmt_get(db, S_POOL_DEL)) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	return db_stmt_run(db, st) == SQLITE_OK ? 0 : -1;
}

int
db_pool_get(struct db *db, const char *name, struct db_pool *out)
{
	sqlite3_stmt *st;
	int rc, ret;

	if (db->pool_cached && !sqlite3_get_autocommit(db->h) &&
	    strcmp(db->pool_last.name, name) == 0) {
		*out = db->pool_last;
		return 0;
	}
	if ((st = db_stmt_get(db, S_POOL_GET)) == NULL)
		return -1;
	db_bind_text(st, 1, name);
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE) {
		db_stmt_done(st);
		db_err(db, "pool \"%s\" does not exist", name);
		return 1;
	}
	if (rc != SQLITE_ROW) {
		db_stmt_fail(db, st, rc);
		return -1;
	}
	ret = pool_row(db, st, out);
	db_stmt_done(st);
	if (ret == 0) {
		db->pool_last = *out;
		db->pool_cached = 1;
	}
	return ret;
}

static int
pool_emit(struct db *db, sqlite3_stmt *st, union db_row_cb cb, void *arg)
{
	struct db_pool p;

	if (pool_row(db, st, &p) == -1)
		return -1;
	return cb.pool(&p, arg);
}

int
db_pool_foreach(struct db *db, int (*cb)(const struct db_pool *, void *),
    void *arg)
{
	union db_row_cb u = { .pool = cb };
	sqlite3_stmt *st;

	if ((st = db_stmt_get(db, S_POOL_ALL)) == NULL)
		return -1;
	return db_each_row(db, st, pool_emit, u, arg);
}

/*
 * Membership.
 */

/* Which side of a failed foreign key is missing. */
static int
member_fk_err(struct db *db, int64_t pool_id, int64_t backend_id)
{
	char name[CONF_NAME_MAX];
	sqlite3_stmt *st;
	int64_t id;
	int rc;

	if ((rc = pool_name(db, pool_id, name)) != 0)
		return -1;		/* "no such pool" or the error */
	if ((st = db_stmt_get(db, S_BACKEND_EXISTS)) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, backend_id);
	if ((rc = db_stmt_int64(db, st, &id)) == 1)
		return db_err(db, "no such backend (id %" PRId64 ")",
		    backend_id);
	return -1;
}

int
db_member_add(struct db *db, int64_t pool_id, int64_t backend_id)
{
	sqlite3_stmt *st;
	int rc;

	if ((st = db_stmt_get(db, S_MEMBER_ADD)) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, pool_id);
	sqlite3_bind_int64(st, 2, backend_id);
	if ((rc = db_stmt_run(db, st)) == SQLITE_OK)
		return 0;
	if (rc == SQLITE_CONSTRAINT_FOREIGNKEY)
		return member_fk_err(db, pool_id, backend_id);
	return -1;
}

int
db_member_del(struct db *db, int64_t pool_id, int64_t backend_id)
{
	sqlite3_stmt *st;

	if ((st = db_stmt_get(db, S_MEMBER_DEL)) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, pool_id);
	sqlite3_bind_int64(st, 2, backend_id);
	return db_stmt_run(db, st) == SQLITE_OK ? 0 : -1;
}

int
db_member_del_backend(struct db *db, int64_t backend_id)
{
	sqlite3_stmt *st;

	if ((st = db_stmt_get(db, S_MEMBER_DEL_BACKEND)) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, backend_id);
	return db_stmt_run(db, st) == SQLITE_OK ? 0 : -1;
}

static int
member_emit(struct db *db, sqlite3_stmt *st, union db_row_cb cb, void *arg)
{
	(void)db;
	return cb.member(sqlite3_column_int64(st, 0),
	    sqlite3_column_int64(st, 1), arg);
}

int
db_member_foreach(struct db *db,
    int (*cb)(int64_t pool_id, int64_t backend_id, void *), void *arg)
{
	union db_row_cb u = { .member = cb };
	sqlite3_stmt *st;

	if ((st = db_stmt_get(db, S_MEMBER_ALL)) == NULL)
		return -1;
	return db_each_row(db, st, member_emit, u, arg);
}

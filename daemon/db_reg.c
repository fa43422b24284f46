/*
 * db_reg: the store's rows for what comes from etcd: registrations and the
 * router's own state (see db.h and sql/migrations/0002-registrations.sql).
 * Apart from db.c so that file keeps to the operator's tables; it follows
 * the same rules: statements prepared once at open, reset after use, errors
 * recorded for db_errmsg.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db_int.h"
#include "util.h"

enum rstmt {
	R_PUT, R_DEL, R_CLEAR, R_COUNT, R_ALL, R_STATE_GET, R_STATE_SET,
	R_STATE_DEL, R__COUNT
};

static const char *const rstmt_sql[R__COUNT] = {
	[R_PUT] = "INSERT INTO registration (key, name, addr, pattern, "
	    "create_revision, mod_revision, lease) "
	    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) "
	    "ON CONFLICT (key) DO UPDATE SET name = excluded.name, "
	    "addr = excluded.addr, pattern = excluded.pattern, "
	    "create_revision = excluded.create_revision, "
	    "mod_revision = excluded.mod_revision, lease = excluded.lease "
	    "RETURNING id",
	[R_DEL] = "DELETE FROM registration WHERE key = ?1",
	[R_CLEAR] = "DELETE FROM registration",
	[R_COUNT] = "SELECT count(*) FROM registration",
	[R_ALL] = "SELECT id, key, name, addr, pattern, create_revision, "
	    "mod_revision, lease FROM registration "
	    "ORDER BY create_revision, key",
	[R_STATE_GET] = "SELECT value FROM local_state WHERE key = ?1",
	[R_STATE_SET] = "INSERT INTO local_state (key, value) "
	    "VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET "
	    "value = excluded.value",
	[R_STATE_DEL] = "DELETE FROM local_state WHERE key = ?1",
};

struct db_reg {
	sqlite3_stmt	*st[R__COUNT];
};

int
db_reg_prepare(struct db *db, char *err, size_t errlen)
{
	struct db_reg *r = xcalloc(1, sizeof(*r));

	db->reg = r;
	return db_side_prepare(db, r->st, rstmt_sql, R__COUNT, err, errlen);
}

void
db_reg_finalize(struct db *db)
{
	struct db_reg *r = db->reg;

	if (r == NULL)
		return;
	db_side_finalize(r->st, R__COUNT);
	free(r);
	db->reg = NULL;
}

static sqlite3_stmt *
rst(struct db *db, enum rstmt id)
{
	return db_side_take(db, &db->reg->st[id], rstmt_sql[id]);
}


int
db_reg_put(struct db *db, struct db_registration *r)
{
	sqlite3_stmt *st;
	int rc;

	if ((st = rst(db, R_PUT)) == NULL)
		return -1;
	db_bind_text(st, 1, r->key);
	db_bind_text(st, 2, r->name);
	db_bind_text(st, 3, r->addr);
	db_bind_text(st, 4, r->pattern);
	sqlite3_bind_int64(st, 5, r->create_revision);
	sqlite3_bind_int64(st, 6, r->mod_revision);
	sqlite3_bind_int64(st, 7, r->lease);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		r->id = sqlite3_column_int64(st, 0);
		rc = sqlite3_step(st);
	}
	return db_side_done(db, st, rc);
}

int
db_reg_del(struct db *db, const char *key)
{
	sqlite3_stmt *st;

	if ((st = rst(db, R_DEL)) == NULL)
		return -1;
	db_bind_text(st, 1, key);
	if (db_side_done(db, st, sqlite3_step(st)) == -1)
		return -1;
	return sqlite3_changes(db->h) > 0 ? 0 : 1;
}

int
db_reg_clear(struct db *db, int *removed)
{
	sqlite3_stmt *st;

	if ((st = rst(db, R_CLEAR)) == NULL)
		return -1;
	/* SQLite empties a table without telling the update hook. */
	db_routes_touched(db);
	if (db_side_done(db, st, sqlite3_step(st)) == -1)
		return -1;
	if (removed != NULL)
		*removed = sqlite3_changes(db->h);
	return 0;
}

int
db_reg_count(struct db *db, int *count)
{
	sqlite3_stmt *st;
	int rc;

	if ((st = rst(db, R_COUNT)) == NULL)
		return -1;
	if ((rc = sqlite3_step(st)) == SQLITE_ROW)
		*count = sqlite3_column_int(st, 0);
	return db_side_done(db, st, rc);
}

int
db_reg_foreach(struct db *db, int (*cb)(const struct db_registration *,
    void *), void *arg)
{
	struct db_registration r;
	sqlite3_stmt *st;
	int rc, ret;

	if ((st = rst(db, R_ALL)) == NULL)
		return -1;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		memset(&r, 0, sizeof(r));
		r.id = sqlite3_column_int64(st, 0);
		r.key = (const char *)sqlite3_column_text(st, 1);
		db_col_copy(r.name, sizeof(r.name), st, 2);
		db_col_copy(r.addr, sizeof(r.addr), st, 3);
		r.pattern = (const char *)sqlite3_column_text(st, 4);
		r.create_revision = sqlite3_column_int64(st, 5);
		r.mod_revision = sqlite3_column_int64(st, 6);
		r.lease = sqlite3_column_int64(st, 7);
		if (r.key == NULL || r.pattern == NULL)
			continue;
		if ((ret = cb(&r, arg)) != 0) {
			db_side_done(db, st, SQLITE_DONE);
			return ret;
		}
	}
	return db_side_done(db, st, rc) == -1 ? -1 : 0;
}

int
db_state_get(struct db *db, const char *key, char *val, size_t vallen)
{
	sqlite3_stmt *st;
	int rc, found = 0;

	if ((st = rst(db, R_STATE_GET)) == NULL)
		return -1;
	db_bind_text(st, 1, key);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		db_col_copy(val, vallen, st, 0);
		found = 1;
	}
	if (db_side_done(db, st, rc) == -1)
		return -1;
	return found ? 0 : 1;
}

int
db_state_set(struct db *db, const char *key, const char *val)
{
	sqlite3_stmt *st;

	if ((st = rst(db, R_STATE_SET)) == NULL)
		return -1;
	db_bind_text(st, 1, key);
	db_bind_text(st, 2, val);
	return db_side_done(db, st, sqlite3_step(st));
}

int
db_state_del(struct db *db, const char *key)
{
	sqlite3_stmt *st;

	if ((st = rst(db, R_STATE_DEL)) == NULL)
		return -1;
	db_bind_text(st, 1, key);
	return db_side_done(db, st, sqlite3_step(st));
}

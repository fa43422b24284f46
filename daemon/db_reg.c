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
	int i;

	*db_reg_slot(db) = r;
	for (i = 0; i < R__COUNT; i++)
		if (sqlite3_prepare_v3(db_handle(db), rstmt_sql[i], -1,
		    SQLITE_PREPARE_PERSISTENT, &r->st[i], NULL) != SQLITE_OK) {
			snprintf(err, errlen, "database: cannot prepare \"%s\": "
			    "%s", rstmt_sql[i], sqlite3_errmsg(db_handle(db)));
			return -1;
		}
	return 0;
}

void
db_reg_finalize(struct db *db)
{
	struct db_reg *r = *db_reg_slot(db);
	int i;

	if (r == NULL)
		return;
	for (i = 0; i < R__COUNT; i++)
		sqlite3_finalize(r->st[i]);
	free(r);
	*db_reg_slot(db) = NULL;
}

static sqlite3_stmt *
rst(struct db *db, enum rstmt id)
{
	sqlite3_stmt *st = (*db_reg_slot(db))->st[id];

	if (sqlite3_stmt_busy(st)) {
		db_err(db, "internal error: nested use of \"%s\"", rstmt_sql[id]);
		return NULL;
	}
	return st;
}

/* Finish st after a step that returned rc; -1 with the error recorded
 * unless rc is one of the good ones. */
static int
rdone(struct db *db, sqlite3_stmt *st, int rc)
{
	int ret = 0;

	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		ret = db_err(db, "%s", sqlite3_errmsg(db_handle(db)));
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return ret;
}

static void
text(sqlite3_stmt *st, int i, const char *s)
{
	sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC);
}

int
db_reg_put(struct db *db, struct db_registration *r)
{
	sqlite3_stmt *st;
	int rc;

	if ((st = rst(db, R_PUT)) == NULL)
		return -1;
	text(st, 1, r->key);
	text(st, 2, r->name);
	text(st, 3, r->addr);
	text(st, 4, r->pattern);
	sqlite3_bind_int64(st, 5, r->create_revision);
	sqlite3_bind_int64(st, 6, r->mod_revision);
	sqlite3_bind_int64(st, 7, r->lease);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		r->id = sqlite3_column_int64(st, 0);
		rc = sqlite3_step(st);
	}
	return rdone(db, st, rc);
}

int
db_reg_del(struct db *db, const char *key)
{
	sqlite3_stmt *st;

	if ((st = rst(db, R_DEL)) == NULL)
		return -1;
	text(st, 1, key);
	if (rdone(db, st, sqlite3_step(st)) == -1)
		return -1;
	return sqlite3_changes(db_handle(db)) > 0 ? 0 : 1;
}

int
db_reg_clear(struct db *db, int *removed)
{
	sqlite3_stmt *st;

	if ((st = rst(db, R_CLEAR)) == NULL)
		return -1;
	/* SQLite empties a table without telling the update hook. */
	db_routes_touched(db);
	if (rdone(db, st, sqlite3_step(st)) == -1)
		return -1;
	if (removed != NULL)
		*removed = sqlite3_changes(db_handle(db));
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
	return rdone(db, st, rc);
}

static void
copy_col(char *dst, size_t len, sqlite3_stmt *st, int col)
{
	const unsigned char *s = sqlite3_column_text(st, col);

	snprintf(dst, len, "%s", s != NULL ? (const char *)s : "");
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
		copy_col(r.name, sizeof(r.name), st, 2);
		copy_col(r.addr, sizeof(r.addr), st, 3);
		r.pattern = (const char *)sqlite3_column_text(st, 4);
		r.create_revision = sqlite3_column_int64(st, 5);
		r.mod_revision = sqlite3_column_int64(st, 6);
		r.lease = sqlite3_column_int64(st, 7);
		if (r.key == NULL || r.pattern == NULL)
			continue;
		if ((ret = cb(&r, arg)) != 0) {
			rdone(db, st, SQLITE_DONE);
			return ret;
		}
	}
	return rdone(db, st, rc) == -1 ? -1 : 0;
}

int
db_state_get(struct db *db, const char *key, char *val, size_t vallen)
{
	sqlite3_stmt *st;
	int rc, found = 0;

	if ((st = rst(db, R_STATE_GET)) == NULL)
		return -1;
	text(st, 1, key);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		copy_col(val, vallen, st, 0);
		found = 1;
	}
	if (rdone(db, st, rc) == -1)
		return -1;
	return found ? 0 : 1;
}

int
db_state_set(struct db *db, const char *key, const char *val)
{
	sqlite3_stmt *st;

	if ((st = rst(db, R_STATE_SET)) == NULL)
		return -1;
	text(st, 1, key);
	text(st, 2, val);
	return rdone(db, st, sqlite3_step(st));
}

int
db_state_del(struct db *db, const char *key)
{
	sqlite3_stmt *st;

	if ((st = rst(db, R_STATE_DEL)) == NULL)
		return -1;
	text(st, 1, key);
	return rdone(db, st, sqlite3_step(st));
}

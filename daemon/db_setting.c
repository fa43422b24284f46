/*
 * db_setting: the rows of table setting, text key and value (db.h); what
 * they mean is common/settings.c's.
 */
#include <stddef.h>

#include "db_int.h"

int
db_setting_get(struct db *db, const char *key, char *val, size_t vallen)
{
	sqlite3_stmt *st;
	size_t n;
	int rc;

	if ((st = db_stmt_get(db, S_SETTING_GET)) == NULL)
		return -1;
	db_bind_text(st, 1, key);
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE) {
		db_stmt_done(st);
		return 1;
	}
	if (rc != SQLITE_ROW) {
		db_stmt_fail(db, st, rc);
		return -1;
	}
	n = (size_t)sqlite3_column_bytes(st, 0);
	if (n >= vallen) {
		db_stmt_done(st);
		return db_err(db, "setting %s: value is too long (%zu bytes)",
		    key, n);
	}
	db_col_copy(val, vallen, st, 0);
	db_stmt_done(st);
	return 0;
}

int
db_setting_set(struct db *db, const char *key, const char *val)
{
	sqlite3_stmt *st;

	if ((st = db_stmt_get(db, S_SETTING_SET)) == NULL)
		return -1;
	db_bind_text(st, 1, key);
	db_bind_text(st, 2, val);
	return db_stmt_run(db, st) == SQLITE_OK ? 0 : -1;
}

static int
setting_emit(struct db *db, sqlite3_stmt *st, union db_row_cb cb, void *arg)
{
	(void)db;
	return cb.setting(db_col_str(st, 0), db_col_str(st, 1), arg);
}

int
db_setting_foreach(struct db *db,
    int (*cb)(const char *key, const char *val, void *), void *arg)
{
	union db_row_cb u = { .setting = cb };
	sqlite3_stmt *st;

	if ((st = db_stmt_get(db, S_SETTING_ALL)) == NULL)
		return -1;
	return db_each_row(db, st, setting_emit, u, arg);
}

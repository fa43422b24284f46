/*
 * db_log: the store's two histories, the audit (every change, who made
 * it, its outcome) and the health events (check results and state
 * changes).  Both are appended to and read as their last n rows; the
 * health events are written in batches off the query path and pruned to a
 * retention per backend.
 */
#include <stddef.h>

#include "db_int.h"

/* Row a's values as parameters k + 1 ... k + 5 of st. */
static void
audit_bind(sqlite3_stmt *st, int k, const struct db_audit *a)
{
	sqlite3_bind_int64(st, k + 1, a->time_us);
	sqlite3_bind_int64(st, k + 2, a->uid);
	sqlite3_bind_int64(st, k + 3, a->pid);
	db_bind_text(st, k + 4, a->command);
	db_bind_text(st, k + 5, a->outcome);
}

int
db_audit_add(struct db *db, const struct db_audit *a)
{
	sqlite3_stmt *st;

	if ((st = db_stmt_get(db, S_AUDIT_ADD)) == NULL)
		return -1;
	audit_bind(st, 0, a);
	return db_stmt_run(db, st) == SQLITE_OK ? 0 : -1;
}

/* Runs of 16 rows a statement, then of 4, then one by one, in order: a
 * replace audits each of its changes, and a statement costs about as
 * much as a row. */
int
db_audit_add_rows(struct db *db, const struct db_audit *v, size_t n)
{
	static const struct {
		enum stmt	id;
		size_t		rows;
	} by[] = { { S_AUDIT_ADD16, 16 }, { S_AUDIT_ADD4, 4 },
	    { S_AUDIT_ADD, 1 } };
	sqlite3_stmt *st;
	size_t b, i;

	for (b = 0; b < sizeof(by) / sizeof(by[0]); b++)
		for (; n >= by[b].rows; v += by[b].rows, n -= by[b].rows) {
			if ((st = db_stmt_get(db, by[b].id)) == NULL)
				return -1;
			for (i = 0; i < by[b].rows; i++)
				audit_bind(st, (int)i * 5, &v[i]);
			if (db_stmt_run(db, st) != SQLITE_OK)
				return -1;
		}
	return 0;
}

static int
audit_emit(struct db *db, sqlite3_stmt *st, union db_row_cb cb, void *arg)
{
	struct db_audit a;

	(void)db;
	a.time_us = sqlite3_column_int64(st, 0);
	a.uid = (long)sqlite3_column_int64(st, 1);
	a.pid = (long)sqlite3_column_int64(st, 2);
	a.command = db_col_str(st, 3);
	a.outcome = db_col_str(st, 4);
	return cb.audit(&a, arg);
}

int
db_audit_foreach(struct db *db, int n,
    int (*cb)(const struct db_audit *, void *), void *arg)
{
	union db_row_cb u = { .audit = cb };
	sqlite3_stmt *st;

	if ((st = db_stmt_get(db, S_AUDIT_LAST)) == NULL)
		return -1;
	sqlite3_bind_int(st, 1, n > 0 ? n : -1);
	return db_each_row(db, st, audit_emit, u, arg);
}

/*
 * Health events.
 */

/* One batch is all-or-nothing; inside the caller's transaction it joins
 * it, outside it is its own, committed with synchronous=NORMAL: the WAL
 * reaches the disk with the next operator's commit or checkpoint, so a
 * power cut may lose the last seconds of check results, never a change;
 * and the main thread, which serves the control socket, does not wait
 * for a flush to the disk every second. */
int
db_health_add(struct db *db, const struct db_health_event *ev, size_t n)
{
	sqlite3_stmt *st;
	size_t i;
	int ret = 0, lazy;

	if (n == 0)
		return 0;
	if ((lazy = !db_in_transaction(db)) && db_exec(db, S_SYNC_NORMAL) == -1)
		return -1;
	if (db_op_begin(db) == -1) {
		if (lazy)
			(void)db_exec(db, S_SYNC_FULL);
		return -1;
	}
	if ((st = db_stmt_get(db, S_HEALTH_ADD)) == NULL)
		ret = -1;
	for (i = 0; ret == 0 && i < n; i++) {
		sqlite3_bind_int64(st, 1, ev[i].backend_id);
		sqlite3_bind_int64(st, 2, ev[i].time_us);
		sqlite3_bind_int(st, 3, ev[i].ok != 0);
		if (ev[i].from_state != NULL)
			db_bind_text(st, 4, ev[i].from_state);
		else
			sqlite3_bind_null(st, 4);
		if (ev[i].to_state != NULL)
			db_bind_text(st, 5, ev[i].to_state);
		else
			sqlite3_bind_null(st, 5);
		sqlite3_bind_int(st, 6, ev[i].rtt_us);
		db_bind_text(st, 7, ev[i].detail);
		if (db_stmt_run(db, st) != SQLITE_OK)
			ret = -1;
	}
	ret = db_op_end(db, ret);
	/* Back to FULL whatever happened; its own failure is the one to
	 * report only when the rows went in. */
	if (lazy && db_exec(db, S_SYNC_FULL) == -1 && ret == 0)
		ret = -1;
	return ret;
}

static int
health_emit(struct db *db, sqlite3_stmt *st, union db_row_cb cb, void *arg)
{
	struct db_health_event ev;

	(void)db;
	ev.backend_id = sqlite3_column_int64(st, 0);
	ev.time_us = sqlite3_column_int64(st, 1);
	ev.ok = sqlite3_column_int(st, 2);
	ev.from_state = (const char *)sqlite3_column_text(st, 3);
	ev.to_state = (const char *)sqlite3_column_text(st, 4);
	ev.rtt_us = sqlite3_column_int(st, 5);
	ev.detail = db_col_str(st, 6);
	return cb.health(&ev, arg);
}

int
db_health_foreach(struct db *db, int64_t backend_id, int n,
    int (*cb)(const struct db_health_event *, void *), void *arg)
{
	union db_row_cb u = { .health = cb };
	sqlite3_stmt *st;

	if ((st = db_stmt_get(db, S_HEALTH_LAST)) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, backend_id);
	sqlite3_bind_int(st, 2, n > 0 ? n : -1);
	return db_each_row(db, st, health_emit, u, arg);
}

int
db_health_prune(struct db *db, int keep, const int64_t *ids, size_t n)
{
	sqlite3_stmt *st;
	size_t i;
	int kind, ret = 0;

	if (keep < 0)
		return db_err(db, "bad health retention %d", keep);
	if (ids == NULL) {
		if ((st = db_stmt_get(db, S_HEALTH_PRUNE)) == NULL)
			return -1;
		sqlite3_bind_int(st, 1, keep);
		return db_stmt_run(db, st) == SQLITE_OK ? 0 : -1;
	}
	if (db_op_begin(db) == -1)
		return -1;
	if ((st = db_stmt_get(db, S_HEALTH_PRUNE_ONE)) == NULL)
		ret = -1;
	for (i = 0; ret == 0 && i < n; i++)
		for (kind = 0; ret == 0 && kind < 2; kind++) {
			sqlite3_bind_int64(st, 1, ids[i]);
			sqlite3_bind_int(st, 2, kind);
			sqlite3_bind_int(st, 3, keep);
			if (db_stmt_run(db, st) != SQLITE_OK)
				ret = -1;
		}
	return db_op_end(db, ret);
}

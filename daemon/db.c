/*
 * db: the store, the only SQLite user.  This file keeps what every call
 * shares: the SQL of the operator's tables' statements (one place to read
 * every query; each is prepared once, SQLITE_PREPARE_PERSISTENT, at open
 * or, in a scratch store, on first use, and reset after each use), the
 * helpers that run them, the savepoint of a call, and the transactions.
 * The rows live by kind in db_backend.c, db_pool.c (with memberships),
 * db_route.c, db_setting.c, db_log.c (audit, health events), db_key.c and
 * db_reg.c (what comes from etcd, the router's own state); opening, the
 * lock, the check and the migrations in db_open.c.  db_int.h is what they
 * share.
 *
 * Durability: WAL with synchronous=FULL, so a commit has reached the disk
 * before db_commit returns; with NORMAL a power cut could lose commits
 * already acknowledged to the operator.  What that costs is one fdatasync
 * of the WAL per commit (a command's change and its audit row are one
 * transaction), about 1 ms on the test machine's disk: 200 drains and
 * undrains under a DNS load made 200 of them, 0.19-0.24 s of a 1.2 s run.
 * Most of the rest was the main thread waiting for a CPU (prio.c gives
 * queries the CPU during a change), which NORMAL would not change: the
 * cheaper setting is not worth a lost change.  Each call that needs more
 * than one statement (inserting a route mid-list shifts the rest, for one)
 * runs them inside its own savepoint, so the call is all-or-nothing even
 * outside a transaction: route positions stay 1..N without gaps whatever
 * fails.
 *
 * Conventions beyond db.h:
 * - Update, delete and move of a missing row return 1 ("no such ...")
 *   like lookups do; db_errmsg says which.
 * - foreach: a non-zero return from the callback stops the iteration and
 *   foreach returns that value (so a callback should not return -1 unless it
 *   wants its stop read as an error).  A callback may call other db
 *   functions, but not the same foreach again: that statement is busy, and
 *   the nested call fails rather than reset the outer iteration.
 * - One thread at a time: the handle is opened SQLITE_OPEN_NOMUTEX, and the
 *   error buffer and statements are per connection anyway.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <sqlite3.h>

#include "db.h"
#include "db_int.h"
#include "log.h"

#define BACKEND_COLS "b.id, b.name, b.addr, b.transport, b.weight, " \
	"b.admin, b.check_qname, b.check_qtype, b.check_qclass, b.check_tcp, " \
	"b.check_rcode, b.interval_ms, b.timeout_ms, b.fall, b.rise, " \
	"coalesce(k.name, ''), b.client_addr FROM backend AS b " \
	"LEFT JOIN tsig_key AS k ON k.id = b.key_id"
#define POOL_COLS "id, name, policy, confirm, good, tc_retry"
/* 4 and 16 audit rows' values. */
#define AUDIT_ROW	"(?, ?, ?, ?, ?)"
#define AUDIT_ROWS4	AUDIT_ROW ", " AUDIT_ROW ", " AUDIT_ROW ", " AUDIT_ROW
#define AUDIT_ROWS16	AUDIT_ROWS4 ", " AUDIT_ROWS4 ", " AUDIT_ROWS4 ", " \
	AUDIT_ROWS4

/* The SQL of each statement of enum stmt (db_int.h). */
static const char *const stmt_sql[S__COUNT] = {
	[S_BEGIN] = "BEGIN IMMEDIATE",
	[S_COMMIT] = "COMMIT",
	[S_ROLLBACK] = "ROLLBACK",
	[S_SAVEPOINT] = "SAVEPOINT cmd",
	[S_RELEASE] = "RELEASE cmd",
	[S_ROLLBACK_TO] = "ROLLBACK TO cmd",
	/* Our own, so a call is atomic inside or outside the caller's. */
	[S_OP_SAVEPOINT] = "SAVEPOINT dbop",
	[S_OP_RELEASE] = "RELEASE dbop",
	[S_OP_ROLLBACK_TO] = "ROLLBACK TO dbop",

	/* ?1 is the id (update only), ?2.. the columns as in BACKEND_COLS. */
	/* The key by name (?16): NULL for "" (the handler checked that a
	 * key named exists). */
	[S_BACKEND_ADD] = "INSERT INTO backend (name, addr, transport, weight, "
	    "admin, check_qname, check_qtype, check_qclass, check_tcp, "
	    "check_rcode, interval_ms, timeout_ms, fall, rise, key_id, "
	    "client_addr) VALUES (?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, "
	    "?12, ?13, ?14, ?15, (SELECT id FROM tsig_key WHERE name = ?16), "
	    "?17)",
	[S_BACKEND_UPDATE] = "UPDATE backend SET name = ?2, addr = ?3, "
	    "transport = ?4, weight = ?5, admin = ?6, check_qname = ?7, "
	    "check_qtype = ?8, check_qclass = ?9, check_tcp = ?10, "
	    "check_rcode = ?11, interval_ms = ?12, timeout_ms = ?13, "
	    "fall = ?14, rise = ?15, "
	    "key_id = (SELECT id FROM tsig_key WHERE name = ?16), "
	    "client_addr = ?17 WHERE id = ?1",
	[S_BACKEND_ADMIN] = "UPDATE backend SET admin = ?2 WHERE id = ?1",
	[S_BACKEND_DEL] = "DELETE FROM backend WHERE id = ?1",
	[S_BACKEND_GET] = "SELECT " BACKEND_COLS " WHERE b.name = ?1",
	[S_BACKEND_ALL] = "SELECT " BACKEND_COLS " ORDER BY b.name",
	[S_BACKEND_EXISTS] = "SELECT id FROM backend WHERE id = ?1",

	[S_POOL_ADD] = "INSERT INTO pool (name, policy, confirm, good, "
	    "tc_retry) VALUES (?2, ?3, ?4, ?5, ?6)",
	[S_POOL_UPDATE] = "UPDATE pool SET name = ?2, policy = ?3, "
	    "confirm = ?4, good = ?5, tc_retry = ?6 WHERE id = ?1",
	[S_POOL_DEL] = "DELETE FROM pool WHERE id = ?1",
	[S_POOL_GET] = "SELECT " POOL_COLS " FROM pool WHERE name = ?1",
	[S_POOL_ALL] = "SELECT " POOL_COLS " FROM pool ORDER BY name",
	[S_POOL_NAME] = "SELECT name FROM pool WHERE id = ?1",

	[S_MEMBER_ADD] = "INSERT INTO pool_member (pool_id, backend_id) "
	    "VALUES (?1, ?2) ON CONFLICT DO NOTHING",
	[S_MEMBER_DEL] = "DELETE FROM pool_member "
	    "WHERE pool_id = ?1 AND backend_id = ?2",
	[S_MEMBER_DEL_BACKEND] = "DELETE FROM pool_member "
	    "WHERE backend_id = ?1",
	[S_MEMBER_ALL] = "SELECT m.pool_id, m.backend_id FROM pool_member AS m "
	    "JOIN pool AS p ON p.id = m.pool_id "
	    "JOIN backend AS b ON b.id = m.backend_id ORDER BY p.name, b.name",

	/* Positions are 1..N, so the last one is the count; max() is one
	 * index probe where count(*) would walk a whole index, and the
	 * command layer asks before every route add. */
	[S_ROUTE_LAST] = "SELECT coalesce(max(position), 0) FROM route",
	[S_ROUTE_ADD] = "INSERT INTO route (position, pattern, qtype, action, "
	    "pool_id, comment, opcode, tsig) "
	    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
	[S_ROUTE_POS] = "SELECT position FROM route WHERE id = ?1",
	[S_ROUTE_DEL] = "DELETE FROM route WHERE id = ?1",
	[S_ROUTE_SETPOS] = "UPDATE route SET position = ?2 WHERE id = ?1",
	[S_ROUTE_SHIFT_UP] = "UPDATE route SET position = position + 1 "
	    "WHERE position >= ?1 AND position <= ?2",
	[S_ROUTE_SHIFT_DOWN] = "UPDATE route SET position = position - 1 "
	    "WHERE position >= ?1 AND position <= ?2",
	/* The same a few rows at a time (route_shift): an UPDATE of the
	 * column it selects by makes SQLite collect the rows in a temporary
	 * b-tree first, the dearest part of a one-row shift. */
	[S_ROUTE_IDS_AT] = "SELECT id FROM route "
	    "WHERE position >= ?1 AND position <= ?2 LIMIT ?3",
	[S_ROUTE_SHIFT_ID] = "UPDATE route SET position = position + ?2 "
	    "WHERE id = ?1",
	/* db_route_place: a run of old routes out of the way (?3 is past
	 * every position), the routes added since (ids over ?4) left where
	 * they are; then all of them back. */
	[S_ROUTE_PARK] = "UPDATE route SET position = position + ?3 "
	    "WHERE position >= ?1 AND position <= ?2 AND id <= ?4",
	[S_ROUTE_UNPARK] = "UPDATE route SET position = position - ?1 "
	    "WHERE position > ?1",
	[S_ROUTE_ALL] = "SELECT r.id, r.position, r.pattern, r.qtype, "
	    "r.action, r.pool_id, p.name, r.comment, r.hits, r.opcode, "
	    "r.tsig FROM route AS r "
	    "LEFT JOIN pool AS p ON p.id = r.pool_id ORDER BY r.position",
	/* No index on pool_id (sql/migrations/0009): one pass over the
	 * table, not a walk of the position index looking each row up. */
	[S_ROUTE_USING_POOL] = "SELECT id FROM route WHERE pool_id = ?1 "
	    "ORDER BY +position LIMIT 1",
	[S_ROUTE_UPDATE] = "UPDATE route SET qtype = ?3, action = ?4, "
	    "pool_id = ?5, comment = ?6, opcode = ?7, tsig = ?8 WHERE id = ?1",
	[S_ROUTE_HITS] = "UPDATE route SET hits = ?2 WHERE id = ?1",
	[S_ROUTE_GET] = "SELECT r.id, r.position, r.pattern, r.qtype, "
	    "r.action, r.pool_id, p.name, r.comment, r.hits, r.opcode, "
	    "r.tsig FROM route AS r "
	    "LEFT JOIN pool AS p ON p.id = r.pool_id WHERE r.id = ?1",

	[S_SETTING_GET] = "SELECT value FROM setting WHERE key = ?1",
	[S_SETTING_SET] = "INSERT INTO setting (key, value) VALUES (?1, ?2) "
	    "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
	[S_SETTING_ALL] = "SELECT key, value FROM setting ORDER BY key",

	[S_AUDIT_ADD] = "INSERT INTO audit (time_us, uid, pid, command, "
	    "outcome) VALUES (?1, ?2, ?3, ?4, ?5)",
	/* 4 and 16 of them, in order (db_audit_add_rows). */
	[S_AUDIT_ADD4] = "INSERT INTO audit (time_us, uid, pid, command, "
	    "outcome) VALUES " AUDIT_ROWS4,
	[S_AUDIT_ADD16] = "INSERT INTO audit (time_us, uid, pid, command, "
	    "outcome) VALUES " AUDIT_ROWS16,
	/* The last ?1 rows (all when -1), oldest first. */
	[S_AUDIT_LAST] = "SELECT time_us, uid, pid, command, outcome FROM "
	    "(SELECT * FROM audit ORDER BY id DESC LIMIT ?1) ORDER BY id",

	/* Events are batched off the query path, so a backend may have been
	 * deleted since its event was queued: such events are dropped here
	 * rather than kept for nobody.  A registered backend's id is minus
	 * its registration's. */
	[S_HEALTH_ADD] = "INSERT INTO health_event (backend_id, time_us, ok, "
	    "from_state, to_state, rtt_us, detail) "
	    "SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7 "
	    "WHERE EXISTS (SELECT 1 FROM backend WHERE id = ?1) "
	    "OR EXISTS (SELECT 1 FROM registration WHERE id = -?1)",
	[S_HEALTH_LAST] = "SELECT backend_id, time_us, ok, from_state, "
	    "to_state, rtt_us, detail FROM (SELECT * FROM health_event "
	    "WHERE backend_id = ?1 ORDER BY id DESC LIMIT ?2) ORDER BY id",
	/* Per backend, everything up to and including the (keep+1)-th newest
	 * row.  The subquery depends on b only and bounds the index range
	 * scan of e, so it runs once per backend, not once per event. */
	/* Per backend, the newest ?1 check results and, apart, the newest ?1
	 * state changes: frequent checks must not push the transitions out.
	 * The cut-off ids are computed once per backend and kind (a
	 * correlated subquery per row took seconds for 100 backends). */
	[S_HEALTH_PRUNE] = "WITH cut(bid, kind, id) AS MATERIALIZED "
	    "(SELECT b.id, k.kind, (SELECT x.id FROM health_event AS x "
	    "WHERE x.backend_id = b.id AND (x.to_state IS NULL) = k.kind "
	    "ORDER BY x.id DESC LIMIT 1 OFFSET ?1) "
	    "FROM (SELECT id FROM backend UNION ALL SELECT -id FROM "
	    "registration) AS b, (SELECT 0 AS kind UNION ALL SELECT 1) AS k) "
	    "DELETE FROM health_event WHERE id IN (SELECT e.id FROM cut "
	    "JOIN health_event AS e ON e.backend_id = cut.bid AND "
	    "(e.to_state IS NULL) = cut.kind AND e.id <= cut.id)",
	/* The same for backend ?1 and kind ?2 (1: check results), within
	 * the index health_event_kind. */
	[S_HEALTH_PRUNE_ONE] = "DELETE FROM health_event WHERE backend_id = ?1 "
	    "AND (to_state IS NULL) = ?2 AND id <= (SELECT id FROM "
	    "health_event WHERE backend_id = ?1 AND (to_state IS NULL) = ?2 "
	    "ORDER BY id DESC LIMIT 1 OFFSET ?3)",
	[S_SYNC_NORMAL] = "PRAGMA synchronous = NORMAL",
	[S_SYNC_FULL] = "PRAGMA synchronous = FULL",
};

/* Record an error for db_errmsg; returns -1 for "return db_err(...)". */
int
db_err(struct db *db, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(db->err, sizeof(db->err), fmt, ap);
	va_end(ap);
	return -1;
}

/* The statement, unless a caller up the stack is still stepping it. */
sqlite3_stmt *
db_stmt_get(struct db *db, enum stmt id)
{
	return db_side_take(db, &db->st[id], stmt_sql[id]);
}

const char *
db_stmt_sql(enum stmt id)
{
	return stmt_sql[id];
}

/* Reset and drop bindings: text is bound SQLITE_STATIC, and the caller's
 * strings must not stay referenced after the call. */
void
db_stmt_done(sqlite3_stmt *st)
{
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
}

/* Keep SQLite's message for a failed step and finish the statement.
 * Returns the extended result code for callers that map it. */
int
db_stmt_fail(struct db *db, sqlite3_stmt *st, int rc)
{
	db_err(db, "%s", sqlite3_errmsg(db->h));
	db_stmt_done(st);
	return rc;
}

/* Step a statement that returns no rows (or whose rows we ignore).
 * SQLITE_OK or the extended error code, with db->err set. */
int
db_stmt_run(struct db *db, sqlite3_stmt *st)
{
	int rc;

	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		;
	if (rc != SQLITE_DONE)
		return db_stmt_fail(db, st, rc);
	db_stmt_done(st);
	return SQLITE_OK;
}

/* Step for one integer: 0 with *out set, 1 when there is no row, -1. */
int
db_stmt_int64(struct db *db, sqlite3_stmt *st, int64_t *out)
{
	int rc;

	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*out = sqlite3_column_int64(st, 0);
		db_stmt_done(st);
		return 0;
	}
	if (rc == SQLITE_DONE) {
		db_stmt_done(st);
		return 1;
	}
	db_stmt_fail(db, st, rc);
	return -1;
}

/*
 * Every foreach: step st and hand each row to fn.  A non-zero return (the
 * callback's, or -1 for a row that cannot be decoded) stops the iteration
 * and is what foreach returns.  The statement is reset either way, so the
 * next call starts from the top.
 */
int
db_each_row(struct db *db, sqlite3_stmt *st, db_row_fn fn, union db_row_cb cb,
    void *arg)
{
	int rc, ret;

	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		if ((ret = fn(db, st, cb, arg)) != 0) {
			db_stmt_done(st);
			return ret;
		}
	if (rc != SQLITE_DONE) {
		db_stmt_fail(db, st, rc);
		return -1;
	}
	db_stmt_done(st);
	return 0;
}

int
db_exec(struct db *db, enum stmt id)
{
	sqlite3_stmt *st;

	if ((st = db_stmt_get(db, id)) == NULL)
		return -1;
	return db_stmt_run(db, st) == SQLITE_OK ? 0 : -1;
}

void
db_bind_text(sqlite3_stmt *st, int i, const char *s)
{
	sqlite3_bind_text(st, i, s != NULL ? s : "", -1, SQLITE_STATIC);
}

/* Copy a text column into a fixed buffer.  Rows are written from the same
 * fixed buffers, so truncation only happens to a file edited by hand. */
void
db_col_copy(char *dst, size_t len, sqlite3_stmt *st, int col)
{
	const unsigned char *s = sqlite3_column_text(st, col);
	size_t n = s != NULL ? (size_t)sqlite3_column_bytes(st, col) : 0;

	if (n >= len)
		n = len - 1;
	if (n > 0)
		memcpy(dst, s, n);
	dst[n] = '\0';
}

const char *
db_col_str(sqlite3_stmt *st, int col)
{
	const unsigned char *s = sqlite3_column_text(st, col);

	return s != NULL ? (const char *)s : "";
}

const char *
db_enum_word(const struct words *ws, int v)
{
	return v >= 0 && v < ws->n ? ws->w[v] : NULL;
}

/* The CHECK constraints keep other words out; -1 means the file was
 * edited by hand. */
int
db_word_enum(const struct words *ws, sqlite3_stmt *st, int col)
{
	const char *s = (const char *)sqlite3_column_text(st, col);

	return s != NULL ? words_find(ws, s) : -1;
}

/* ---- the statements of db_reg.c and db_key.c (db_int.h) ---- */

int
db_side_prepare(struct db *db, sqlite3_stmt **st, const char *const *sql,
    int n, char *err, size_t errlen)
{
	int i;

	if (db->lazy)
		return 0;
	for (i = 0; i < n; i++)
		if (sqlite3_prepare_v3(db->h, sql[i], -1,
		    SQLITE_PREPARE_PERSISTENT, &st[i], NULL) != SQLITE_OK) {
			snprintf(err, errlen, "database: cannot prepare \"%s\": "
			    "%s", sql[i], sqlite3_errmsg(db->h));
			return -1;
		}
	return 0;
}

void
db_side_finalize(sqlite3_stmt **st, int n)
{
	int i;

	for (i = 0; i < n; i++)
		sqlite3_finalize(st[i]);
}

/* Prepared here when it is not yet: a scratch store's statements are
 * prepared on first use (db_open_flags). */
sqlite3_stmt *
db_side_take(struct db *db, sqlite3_stmt **st, const char *sql)
{
	if (*st == NULL && sqlite3_prepare_v3(db->h, sql, -1,
	    SQLITE_PREPARE_PERSISTENT, st, NULL) != SQLITE_OK) {
		db_err(db, "cannot prepare \"%s\": %s", sql,
		    sqlite3_errmsg(db->h));
		return NULL;
	}
	if (sqlite3_stmt_busy(*st)) {
		db_err(db, "internal error: nested use of \"%s\"", sql);
		return NULL;
	}
	return *st;
}

int
db_side_done(struct db *db, sqlite3_stmt *st, int rc)
{
	int ret = 0;

	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		ret = db_err(db, "%s", sqlite3_errmsg(db->h));
	db_stmt_done(st);
	return ret;
}

/* A name that fills its fixed buffer has lost its NUL. */
int
db_name_ok(struct db *db, const char *what, const char *name)
{
	if (memchr(name, '\0', CONF_NAME_MAX) == NULL)
		return db_err(db, "%s name is too long", what);
	if (name[0] == '\0')
		return db_err(db, "%s name is empty", what);
	return 0;
}

/*
 * Our own savepoint around a multi-statement call.  When a statement fails
 * with SQLITE_FULL or an I/O error SQLite may already have rolled back the
 * whole transaction; then there is no savepoint left to roll back to, and
 * the caller's db_rollback finds nothing to do.  In bulk (db_bulk) the
 * caller undoes the call's work itself.
 */
int
db_op_begin(struct db *db)
{
	if (db->bulk)
		return 0;
	return db_exec(db, S_OP_SAVEPOINT);
}

/* End it after the call's statements returned ret (0 or -1): keep their
 * work or undo it, and keep the message of the statement that failed. */
int
db_op_end(struct db *db, int ret)
{
	char saved[sizeof(db->err)];

	if (db->bulk)
		return ret;
	if (ret == 0)
		return db_exec(db, S_OP_RELEASE);
	memcpy(saved, db->err, sizeof(saved));
	db->last_cached = 0;
	if (!sqlite3_get_autocommit(db->h)) {
		db_exec(db, S_OP_ROLLBACK_TO);
		db_exec(db, S_OP_RELEASE);
	}
	memcpy(db->err, saved, sizeof(saved));
	return ret;
}

/* Every statement of db.c, db_reg.c and db_key.c, once per connection:
 * now, or each on first use when db->lazy. */
int
db_prepare_all(struct db *db, char *err, size_t errlen)
{
	int i, rc;

	for (i = 0; i < S__COUNT && !db->lazy; i++) {
		if (stmt_sql[i] == NULL)
			fatalx("db: statement %d has no SQL", i);
		rc = sqlite3_prepare_v3(db->h, stmt_sql[i], -1,
		    SQLITE_PREPARE_PERSISTENT, &db->st[i], NULL);
		if (rc != SQLITE_OK) {
			snprintf(err, errlen, "database %s: cannot prepare "
			    "\"%s\": %s", db->path, stmt_sql[i],
			    sqlite3_errmsg(db->h));
			return -1;
		}
	}
	if (db_reg_prepare(db, err, errlen) == -1 ||
	    db_key_prepare(db, err, errlen) == -1)
		return -1;
	return 0;
}

const char *
db_errmsg(struct db *db)
{
	return db->err;
}

/*
 * Transactions.
 */

int
db_begin(struct db *db)
{
	db->pool_cached = 0;
	db->last_cached = 0;
	return db_exec(db, S_BEGIN);
}

int
db_commit(struct db *db)
{
	return db_exec(db, S_COMMIT);
}

/* After SQLITE_FULL or an I/O error SQLite may have rolled back already;
 * then there is nothing left to do, and that is not a failure. */
int
db_rollback(struct db *db)
{
	db->pool_cached = 0;
	db->last_cached = 0;
	if (sqlite3_get_autocommit(db->h))
		return 0;
	return db_exec(db, S_ROLLBACK);
}

int
db_savepoint(struct db *db)
{
	return db_exec(db, S_SAVEPOINT);
}

int
db_release(struct db *db)
{
	return db_exec(db, S_RELEASE);
}

/* Fails, saying so, when the whole transaction is gone (see db_rollback):
 * the caller must not go on as if only the one command was undone. */
int
db_rollback_savepoint(struct db *db)
{
	db->pool_cached = 0;
	db->last_cached = 0;
	if (sqlite3_get_autocommit(db->h))
		return db_err(db, "the whole transaction was rolled back "
		    "after an error");
	if (db_exec(db, S_ROLLBACK_TO) == -1)
		return -1;
	return db_exec(db, S_RELEASE);
}

int
db_in_transaction(struct db *db)
{
	return !sqlite3_get_autocommit(db->h);
}

void
db_bulk(struct db *db, int on)
{
	db->bulk = on;
}

/*
 * test_migrate: a new store is made from sql/latest.sql in one go, an
 * older one takes the migrations it lacks, and both must end the same.  A
 * store of the first release (schema.sql, version 1) is opened, so
 * migrated, and a new file is opened; then their schemas (sqlite_master:
 * each table, index and trigger with the text SQLite keeps of it), the
 * PRAGMAs that belong to the file, and their rows are compared.
 *
 * latest.sql must also be exactly what this program prints for the
 * migrated store (test_migrate --print): a migration added without a new
 * latest.sql still makes right stores, but fails here, saying what to run.
 */
#include <sys/stat.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "db.h"
#include "db_int.h"
#include "log.h"
#include "unit.h"
#define UNIT_NAME "migrate"
#include "db_files.h"

/* From the embedded schema (sql/embed.sh). */
extern const char *const db_schema_sql;
extern const char *const db_latest_sql;
extern const int db_migrations_len;

/* Every row of sql's result, columns joined by '|', rows by '\n', or an
 * error text; NULL for no rows.  The caller frees it. */
static char *
rows(sqlite3 *h, const char *sql)
{
	sqlite3_str *s = sqlite3_str_new(h);
	sqlite3_stmt *st;
	int i, rc;

	if ((rc = sqlite3_prepare_v2(h, sql, -1, &st, NULL)) != SQLITE_OK) {
		sqlite3_str_appendf(s, "error: %s", sqlite3_errmsg(h));
		return sqlite3_str_finish(s);
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		for (i = 0; i < sqlite3_column_count(st); i++)
			sqlite3_str_appendf(s, "%s%s", i > 0 ? "|" : "",
			    sqlite3_column_type(st, i) == SQLITE_NULL ? "NULL" :
			    (const char *)sqlite3_column_text(st, i));
		sqlite3_str_appendchar(s, 1, '\n');
	}
	if (rc != SQLITE_DONE)
		sqlite3_str_appendf(s, "error: %s", sqlite3_errmsg(h));
	sqlite3_finalize(st);
	return sqlite3_str_finish(s);
}

static long
pragma(sqlite3 *h, const char *name)
{
	char sql[64], *v;
	long n;

	snprintf(sql, sizeof(sql), "PRAGMA %s", name);
	v = rows(h, sql);
	n = v != NULL ? strtol(v, NULL, 10) : -1;
	sqlite3_free(v);
	return n;
}

/*
 * latest.sql as it must be: the migrated store's schema in the order it
 * was made (sqlite_master's rowid: a table before its indexes and the
 * triggers on it), each statement in SQLite's own text, without what
 * SQLite makes itself (sqlite_sequence, the indexes of UNIQUE and PRIMARY
 * KEY constraints).  The caller frees it.
 */
static char *
squash(sqlite3 *h)
{
	sqlite3_str *s = sqlite3_str_new(h);
	sqlite3_stmt *st;

	sqlite3_str_appendf(s,
	    "-- dnsroute store, schema version %ld: what schema.sql and the\n"
	    "-- migrations make, in one piece, for a new store.  An older "
	    "store takes\n"
	    "-- the migrations it lacks (daemon/db_open.c).  Each statement "
	    "is SQLite's\n"
	    "-- own text of the migrated schema, comments and all.  Do not "
	    "edit: after\n"
	    "-- a new migration, tests/unit/test_migrate fails until this "
	    "file is made\n"
	    "-- again with\n"
	    "--\ttests/unit/test_migrate --print > sql/latest.sql\n"
	    "PRAGMA application_id = %ld;\n",
	    pragma(h, "user_version"), pragma(h, "application_id"));
	if (sqlite3_prepare_v2(h, "SELECT sql FROM sqlite_master WHERE "
	    "sql IS NOT NULL AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' "
	    "ORDER BY rowid", -1, &st, NULL) == SQLITE_OK)
		while (sqlite3_step(st) == SQLITE_ROW)
			sqlite3_str_appendf(s, "\n%s;\n",
			    (const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	sqlite3_str_appendf(s, "\nPRAGMA user_version = %ld;\n",
	    pragma(h, "user_version"));
	return sqlite3_str_finish(s);
}

/* A store of the first release: schema.sql alone, version 1. */
static void
make_v1(const char *path)
{
	sqlite3 *h;
	char *msg = NULL;

	CHECK(sqlite3_open(path, &h) == SQLITE_OK);
	CHECKF(sqlite3_exec(h, db_schema_sql, NULL, NULL, &msg) == SQLITE_OK,
	    "%s", msg != NULL ? msg : "");
	sqlite3_free(msg);
	sqlite3_close(h);
}

/* Compare what sql answers on both stores. */
static void
same(sqlite3 *a, sqlite3 *b, const char *sql)
{
	char *x = rows(a, sql), *y = rows(b, sql);

	/* NULL: no rows (sqlite3_str_finish of nothing). */
	CHECKF(strcmp(x != NULL ? x : "", y != NULL ? y : "") == 0,
	    "%s:\nmigrated:\n%s\nnew:\n%s", sql, x != NULL ? x : "",
	    y != NULL ? y : "");
	sqlite3_free(x);
	sqlite3_free(y);
}

static void
test_same_store(void)
{
	static const char *const file_pragmas[] = {
		"user_version", "application_id", "page_size", "auto_vacuum",
		"encoding", "journal_mode", "foreign_key_check",
	};
	struct db *old, *fresh;
	sqlite3_stmt *st;
	char sql[256];
	size_t i;

	make_v1(dbpath("old.db"));
	old = open_ok(dbpath("old.db"));
	fresh = open_ok(dbpath("new.db"));
	CHECK(pragma(old->h, "user_version") == 1 + db_migrations_len);

	same(old->h, fresh->h, "SELECT type, name, tbl_name, sql FROM "
	    "sqlite_master ORDER BY type, name");
	for (i = 0; i < sizeof(file_pragmas) / sizeof(file_pragmas[0]); i++) {
		snprintf(sql, sizeof(sql), "PRAGMA %s", file_pragmas[i]);
		same(old->h, fresh->h, sql);
	}
	/* The rows: none in either, unless a migration writes some. */
	CHECK(sqlite3_prepare_v2(old->h, "SELECT name FROM sqlite_master "
	    "WHERE type = 'table' ORDER BY name", -1, &st, NULL) ==
	    SQLITE_OK);
	while (sqlite3_step(st) == SQLITE_ROW) {
		snprintf(sql, sizeof(sql), "SELECT * FROM \"%s\" ORDER BY 1",
		    (const char *)sqlite3_column_text(st, 0));
		same(old->h, fresh->h, sql);
	}
	sqlite3_finalize(st);
	db_close(old);
	db_close(fresh);
}

/* latest.sql is the squash of the migrations, to the last one. */
static void
test_latest_is_current(void)
{
	struct db *db;
	char *want;

	make_v1(dbpath("chain.db"));
	db = open_ok(dbpath("chain.db"));
	want = squash(db->h);
	CHECKF(want != NULL && strcmp(want, db_latest_sql) == 0,
	    "sql/latest.sql is not the migrated schema (version %d); make "
	    "it again:\n\ttests/unit/test_migrate --print > sql/latest.sql",
	    1 + db_migrations_len);
	sqlite3_free(want);
	db_close(db);
}

/* A new store opens, writes and reads as any: one row of each kind the
 * migrations changed the most. */
static void
test_new_store_works(void)
{
	struct db *db = open_ok(dbpath("use.db"));
	char *v;

	CHECK(sqlite3_exec(db->h, "INSERT INTO pool (name) VALUES ('p');"
	    "INSERT INTO backend (name, addr, client_addr) VALUES "
	    "('b', '127.0.0.1:53', 'proxy');"
	    "INSERT INTO route (position, pattern, action, pool_id) VALUES "
	    "(1, '^x', 'pool', 1);"
	    "INSERT INTO health_event (backend_id, time_us, ok) VALUES "
	    "(-1, 1, 1)", NULL, NULL, NULL) == SQLITE_OK);
	CHECK(sqlite3_exec(db->h, "INSERT INTO route (position, pattern, "
	    "action) VALUES (2, '^y', 'nonsense')", NULL, NULL, NULL) ==
	    SQLITE_CONSTRAINT_CHECK);
	v = rows(db->h, "SELECT seq FROM sqlite_sequence WHERE name = "
	    "'route'");
	CHECK(v != NULL && strcmp(v, "1\n") == 0);
	sqlite3_free(v);
	db_close(db);
}

static void
cleanup(void)
{
	static const char *const names[] = { "old.db", "new.db", "chain.db",
	    "use.db" };
	static const char *const suffixes[] = { "", "-lock", "-wal", "-shm" };
	char p[160];
	size_t i, j;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		for (j = 0; j < sizeof(suffixes) / sizeof(suffixes[0]); j++) {
			snprintf(p, sizeof(p), "%s%s", dbpath(names[i]),
			    suffixes[j]);
			(void)unlink(p);
		}
	(void)rmdir(tmpdir);
}

int
main(int argc, char *argv[])
{
	const char *base = getenv("TMPDIR");
	struct db *db;
	char *text;

	log_init("test_migrate", 0, LOG_LVL_WARN);
	umask(077);	/* as the daemon's files: no warning that they were not */
	snprintf(tmpdir, sizeof(tmpdir), "%s/test_migrate.XXXXXX",
	    base != NULL && strlen(base) < 40 ? base : "/tmp");
	if (mkdtemp(tmpdir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	if (argc == 2 && strcmp(argv[1], "--print") == 0) {
		make_v1(dbpath("chain.db"));
		db = open_ok(dbpath("chain.db"));
		text = squash(db->h);
		fputs(text != NULL ? text : "", stdout);
		sqlite3_free(text);
		db_close(db);
		cleanup();
		return text != NULL ? 0 : 1;
	}
	test_same_store();
	test_latest_is_current();
	test_new_store_works();
	cleanup();
	UNIT_DONE(UNIT_NAME);
}

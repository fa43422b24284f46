/*
 * db_open: opening the store and closing it.  Open takes the lock that
 * keeps a second daemon off the file, checks the file (PRAGMA quick_check,
 * in the open or in a thread beside the caller's first reads), brings it
 * to the latest schema (a new one from sql/latest.sql, an older one by the
 * numbered migrations it lacks, PRAGMA user_version), sets WAL and
 * synchronous=FULL (why: db.c) and prepares the statements.  Scratch
 * stores (":memory:") start from an image of an empty one; the read-only
 * second connection (db_reader) is opened here.
 */
#include <sys/file.h>
#include <sys/stat.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "db.h"
#include "db_int.h"
#include "log.h"
#include "util.h"

/* Written by sql/embed.sh from sql/schema.sql, sql/migrations/ and
 * sql/latest.sql. */
struct db_migration {
	int		 version;
	const char	*sql;
};
extern const char *const db_schema_sql;
extern const char *const db_latest_sql;
extern const struct db_migration db_migrations[];	/* ends { 0, NULL } */
extern const int db_migrations_len;

#define DB_APPLICATION_ID	1145983826	/* 'DNSR', set by schema.sql */
#define DB_SCHEMA_BASE		1		/* version schema.sql makes */
/* We hold the only write lock (the -lock file), so waiting is only ever for
 * an operator's sqlite3 shell or a checkpoint; the event loop must not
 * stall behind one for long. */
#define DB_BUSY_MS		100

/* Any row of route or registration written (rolled back or not). */
static void
update_hook(void *arg, int op, const char *dbname, const char *table,
    sqlite3_int64 rowid)
{
	struct db *db = arg;

	(void)op;
	(void)dbname;
	(void)rowid;
	if (strcmp(table, "route") == 0 || strcmp(table, "registration") == 0)
		db->routes_gen++;
	else if (strcmp(table, "pool") == 0)
		db->pool_cached = 0;
}

/* Make PATH SUFFIX (the store, its WAL) mode 0600 if it exists and is
 * open to others; said in the log, since someone may have read it. */
static void
store_private(const char *path, const char *suffix)
{
	char p[4096];
	struct stat st;

	if ((size_t)snprintf(p, sizeof(p), "%s%s", path, suffix) >= sizeof(p) ||
	    lstat(p, &st) == -1 || !S_ISREG(st.st_mode) ||
	    (st.st_mode & 077) == 0)
		return;
	if (chmod(p, st.st_mode & 0700) == -1)
		log_warn("%s is mode %03o and cannot be made private", p,
		    (unsigned)(st.st_mode & 0777));
	else
		log_warnx("%s was mode %03o: now %03o (it holds TSIG secrets)",
		    p, (unsigned)(st.st_mode & 0777),
		    (unsigned)(st.st_mode & 0700));
}

/* The lock is flock() on a side file, held for the life of the handle: it
 * goes away with the process however that ends, and unlike fcntl locks it
 * also refuses a second open from the same process.  The holder's pid is
 * written into the file only for the message the loser prints.  The file is
 * never unlinked: that would let two daemons lock two different inodes. */
static int
lock_take(struct db *db, char *err, size_t errlen)
{
	char lpath[4096], buf[32];
	ssize_t n;
	int len;

	len = snprintf(lpath, sizeof(lpath), "%s-lock", db->path);
	if (len < 0 || (size_t)len >= sizeof(lpath)) {
		snprintf(err, errlen, "database path %s is too long", db->path);
		return -1;
	}
	db->lockfd = open(lpath, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW,
	    0600);
	if (db->lockfd == -1) {
		snprintf(err, errlen, "cannot open lock file %s: %s", lpath,
		    strerror(errno));
		return -1;
	}
	if (flock(db->lockfd, LOCK_EX | LOCK_NB) == -1) {
		if (errno != EWOULDBLOCK) {
			snprintf(err, errlen, "cannot lock %s: %s", lpath,
			    strerror(errno));
			return -1;
		}
		n = pread(db->lockfd, buf, sizeof(buf) - 1, 0);
		buf[n > 0 ? n : 0] = '\0';
		buf[strcspn(buf, "\n")] = '\0';
		snprintf(err, errlen,
		    "database %s is in use by another dnsrouted (pid %s)",
		    db->path, buf[0] != '\0' ? buf : "unknown");
		return -1;
	}
	len = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());
	if (ftruncate(db->lockfd, 0) == -1 ||
	    pwrite(db->lockfd, buf, (size_t)len, 0) != len) {
		snprintf(err, errlen, "cannot write lock file %s: %s", lpath,
		    strerror(errno));
		return -1;
	}
	return 0;
}

/* Run one statement at open and copy the first column of its first row
 * (if any) into out.  SQLITE_OK or the error code, message in err. */
static int
open_query(struct db *db, const char *sql, char *out, size_t outlen,
    char *err, size_t errlen)
{
	sqlite3_stmt *st;
	int rc;

	if (out != NULL && outlen > 0)
		out[0] = '\0';
	rc = sqlite3_prepare_v2(db->h, sql, -1, &st, NULL);
	if (rc == SQLITE_OK) {
		while ((rc = sqlite3_step(st)) == SQLITE_ROW)
			if (out != NULL && outlen > 0 && out[0] == '\0')
				snprintf(out, outlen, "%s", db_col_str(st, 0));
		if (rc == SQLITE_DONE)
			rc = SQLITE_OK;
	}
	if (rc != SQLITE_OK)
		snprintf(err, errlen, "%s", sqlite3_errmsg(db->h));
	sqlite3_finalize(st);
	return rc;
}

static int
open_int(struct db *db, const char *sql, long *v, char *err, size_t errlen)
{
	char buf[32];
	int rc;

	if ((rc = open_query(db, sql, buf, sizeof(buf), err, errlen)) ==
	    SQLITE_OK)
		*v = strtol(buf, NULL, 10);
	return rc;
}

/*
 * Refuse rather than serve an empty table: a file that is not a database,
 * or that fails quick_check, stops the start-up with what SQLite said.
 * The check walks every page (what a damaged file fails) but does not
 * evaluate the CHECK constraints of every row again: SQLite enforced them
 * when each row was written, the loaders refuse a value they do not know
 * (route_emit), and evaluating them was three quarters of the check, 85 of
 * 120 ms with 100,000 routes, before the first query could be answered.
 * The connection enforces them again at once (or the start is refused).
 */
static int
check_integrity(struct db *db, char *err, size_t errlen)
{
	char msg[256];
	int rc;

	(void)open_query(db, "PRAGMA ignore_check_constraints = ON", NULL, 0,
	    msg, sizeof(msg));
	rc = open_query(db, "PRAGMA quick_check", msg, sizeof(msg), msg,
	    sizeof(msg));
	if (rc == SQLITE_OK)
		rc = open_query(db, "PRAGMA ignore_check_constraints = OFF",
		    NULL, 0, msg, sizeof(msg));
	if (rc == SQLITE_OK && strcmp(msg, "ok") == 0)
		return 0;
	if (rc == SQLITE_OK || (rc & 0xff) == SQLITE_NOTADB ||
	    (rc & 0xff) == SQLITE_CORRUPT)
		snprintf(err, errlen, "database %s is corrupt: %s", db->path,
		    msg);
	else
		snprintf(err, errlen, "cannot read database %s: %s", db->path,
		    msg);
	return -1;
}

static int
open_exec(struct db *db, const char *sql, char *err, size_t errlen)
{
	char *msg = NULL;

	if (sqlite3_exec(db->h, sql, NULL, NULL, &msg) == SQLITE_OK)
		return 0;
	snprintf(err, errlen, "%s", msg != NULL ? msg : sqlite3_errmsg(db->h));
	sqlite3_free(msg);
	return -1;
}

/*
 * Bring the file to the latest schema.  A new file gets latest.sql, the
 * schema that schema.sql and every migration make, in one piece (running
 * them was 87% of a new store's open, 36.7M instructions: each ALTER
 * TABLE parses the whole schema again); then any migration newer than it,
 * should one be added without a new latest.sql (test_migrate fails then).
 * An older file gets the migrations it lacks.  All in one transaction.
 * Foreign keys are off while migrating (a migration may rebuild a table)
 * and checked as a whole before the commit.
 */
static int
migrate(struct db *db, char *err, size_t errlen)
{
	char msg[256], sql[64], row[128];
	long version, appid, tables, target;
	int latest, i, fresh;

	latest = DB_SCHEMA_BASE + db_migrations_len;
	for (i = 0; i < db_migrations_len; i++)
		if (db_migrations[i].version != DB_SCHEMA_BASE + 1 + i)
			fatalx("embedded migration %d is numbered %d", i,
			    db_migrations[i].version);
	if (open_int(db, "PRAGMA user_version", &version, msg,
	    sizeof(msg)) != SQLITE_OK ||
	    open_int(db, "PRAGMA application_id", &appid, msg,
	    sizeof(msg)) != SQLITE_OK ||
	    open_int(db, "SELECT count(*) FROM sqlite_master", &tables, msg,
	    sizeof(msg)) != SQLITE_OK) {
		snprintf(err, errlen, "cannot read database %s: %s", db->path,
		    msg);
		return -1;
	}
	fresh = version == 0 && tables == 0;
	if (!fresh &&
	    (appid != DB_APPLICATION_ID || version < DB_SCHEMA_BASE)) {
		snprintf(err, errlen, "database %s is not a dnsroute database",
		    db->path);
		return -1;
	}
	if (version > latest) {
		snprintf(err, errlen, "database %s was written by a newer "
		    "dnsroute (schema version %ld; this one knows up to %d)",
		    db->path, version, latest);
		return -1;
	}
	if (version == latest)
		return 0;

	target = fresh ? DB_SCHEMA_BASE : version + 1;
	if (open_exec(db, "PRAGMA foreign_keys = OFF", msg, sizeof(msg)) ==
	    -1 || open_exec(db, "BEGIN IMMEDIATE", msg, sizeof(msg)) == -1)
		goto fail;
	if (fresh) {
		if (open_exec(db, db_latest_sql, msg, sizeof(msg)) == -1)
			goto fail;
		if (open_int(db, "PRAGMA user_version", &version, msg,
		    sizeof(msg)) != SQLITE_OK)
			goto fail;
		if (version < DB_SCHEMA_BASE || version > latest)
			fatalx("sql/latest.sql sets user_version %ld, not "
			    "%d to %d", version, DB_SCHEMA_BASE, latest);
	}
	for (i = (int)version - DB_SCHEMA_BASE; i < db_migrations_len; i++) {
		target = db_migrations[i].version;
		snprintf(sql, sizeof(sql), "PRAGMA user_version = %ld",
		    target);
		if (open_exec(db, db_migrations[i].sql, msg, sizeof(msg)) ==
		    -1 || open_exec(db, sql, msg, sizeof(msg)) == -1)
			goto fail;
	}
	if (open_query(db, "PRAGMA foreign_key_check", row, sizeof(row), msg,
	    sizeof(msg)) != SQLITE_OK)
		goto fail;
	if (row[0] != '\0') {
		snprintf(msg, sizeof(msg), "rows of table %s point nowhere",
		    row);
		goto fail;
	}
	if (open_exec(db, "COMMIT", msg, sizeof(msg)) == -1)
		goto fail;
	if (strcmp(db->path, ":memory:") == 0)
		;	/* a scratch store (replace, tests): nothing to tell */
	else if (fresh)
		log_info("database %s created (schema version %d)", db->path,
		    latest);
	else
		log_info("database %s upgraded to schema version %d",
		    db->path, latest);
	return 0;

fail:
	snprintf(err, errlen, "cannot bring database %s to schema version "
	    "%ld: %s", db->path, target, msg);
	if (!sqlite3_get_autocommit(db->h))
		open_exec(db, "ROLLBACK", msg, sizeof(msg));
	return -1;
}

/*
 * The integrity check beside the start's first reads (DB_CHECK_BESIDE): on
 * a read-only connection of its own, in a thread, so that a restart reads
 * and files 100,000 routes meanwhile instead of after it.  What it decides
 * is the same and comes before the daemon serves (db_check_wait).
 */
struct db_check {
	pthread_t	 thr;
	int		 threaded;
	char		*path;
	int		 rc;
	char		 err[512];
};

static void *
check_main(void *arg)
{
	struct db_check *ck = arg;
	struct db c;

	memset(&c, 0, sizeof(c));
	c.path = ck->path;
	if (sqlite3_open_v2(ck->path, &c.h, SQLITE_OPEN_READONLY |
	    SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
		snprintf(ck->err, sizeof(ck->err), "cannot read database %s: "
		    "%s", ck->path, c.h != NULL ? sqlite3_errmsg(c.h) :
		    "out of memory");
		ck->rc = -1;
	} else {
		sqlite3_db_config(c.h, SQLITE_DBCONFIG_DEFENSIVE, 1, NULL);
		sqlite3_db_config(c.h, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0,
		    NULL);
		ck->rc = check_integrity(&c, ck->err, sizeof(ck->err));
	}
	sqlite3_close_v2(c.h);
	return NULL;
}

static void
check_start(struct db *db)
{
	struct db_check *ck = xcalloc(1, sizeof(*ck));

	ck->path = xstrdup(db->path);
	if (pthread_create(&ck->thr, NULL, check_main, ck) == 0)
		ck->threaded = 1;
	else
		check_main(ck);
	db->check = ck;
}

int
db_check_wait(struct db *db, char *err, size_t errlen)
{
	struct db_check *ck = db->check;
	int rc;

	if (ck == NULL)
		return 0;
	if (ck->threaded && (errno = pthread_join(ck->thr, NULL)) != 0)
		fatal("pthread_join");
	if ((rc = ck->rc) == -1)
		snprintf(err, errlen, "%s", ck->err);
	free(ck->path);
	free(ck);
	db->check = NULL;
	return rc;
}

/*
 * A scratch store (":memory:", one per replace) starts as an empty store
 * at the latest schema: the same bytes every time.  Running schema.sql and
 * every migration for each was nine tenths of its open, so the first one
 * built is kept as an image (sqlite3_serialize) for the life of the
 * process, and later ones start from a copy of it.  Only the main thread
 * opens stores.
 */
static unsigned char	*scratch_img;
static sqlite3_int64	 scratch_len;

/* Start a new ":memory:" connection from the image: 1 if it did, 0 if there
 * is none yet, -1 on failure. */
static int
scratch_load(struct db *db, char *err, size_t errlen)
{
	unsigned char *copy;
	int rc;

	if (scratch_img == NULL)
		return 0;
	if ((copy = sqlite3_malloc64(scratch_len)) == NULL)
		fatalx("sqlite3_malloc64: out of memory");
	memcpy(copy, scratch_img, (size_t)scratch_len);
	/* FREEONCLOSE: the copy is SQLite's now, even on failure. */
	rc = sqlite3_deserialize(db->h, "main", copy, scratch_len,
	    scratch_len, SQLITE_DESERIALIZE_FREEONCLOSE |
	    SQLITE_DESERIALIZE_RESIZEABLE);
	if (rc != SQLITE_OK) {
		snprintf(err, errlen, "cannot open database %s: %s", db->path,
		    sqlite3_errmsg(db->h));
		return -1;
	}
	return 1;
}

/* Keep a newly built empty scratch store as the image for later ones. */
static void
scratch_keep(struct db *db)
{
	unsigned char *img;
	sqlite3_int64 len;

	if (scratch_img != NULL ||
	    (img = sqlite3_serialize(db->h, "main", &len, 0)) == NULL)
		return;		/* no image: the next one migrates again */
	scratch_img = xmalloc((size_t)len);
	memcpy(scratch_img, img, (size_t)len);
	scratch_len = len;
	sqlite3_free(img);
}

/* Is the schema the latest?  Else a migration is due, and runs only on a
 * file checked first. */
static int
schema_latest(struct db *db)
{
	char msg[256];
	long version;

	return open_int(db, "PRAGMA user_version", &version, msg,
	    sizeof(msg)) == SQLITE_OK &&
	    version == DB_SCHEMA_BASE + db_migrations_len;
}

/*
 * The reader: a second, read-only connection to the same file.  Under WAL
 * it sees what was committed last and never what a transaction open on the
 * first has written so far.  The first connection opened the file (lock,
 * check, migrations), so this one only prepares its statements.
 */
static struct db *
reader_open(const char *path)
{
	struct db *db;
	char err[512];

	db = xcalloc(1, sizeof(*db));
	db->lockfd = -1;
	db->path = xstrdup(path);
	if (sqlite3_open_v2(path, &db->h, SQLITE_OPEN_READONLY |
	    SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
		snprintf(err, sizeof(err), "%s", db->h != NULL ?
		    sqlite3_errmsg(db->h) : "out of memory");
		goto fail;
	}
	sqlite3_extended_result_codes(db->h, 1);
	sqlite3_busy_timeout(db->h, DB_BUSY_MS);
	sqlite3_db_config(db->h, SQLITE_DBCONFIG_DEFENSIVE, 1, NULL);
	sqlite3_db_config(db->h, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, NULL);
	if (!schema_latest(db)) {
		snprintf(err, sizeof(err), "not at the latest schema");
		goto fail;
	}
	if (db_prepare_all(db, err, sizeof(err)) == 0)
		return db;
fail:
	log_warnx("database %s: no read-only connection (%s); reads see "
	    "open transactions", path, err);
	db_close(db);
	return NULL;
}

struct db *
db_reader(struct db *db)
{
	if (db->reader == NULL && !db->reader_failed &&
	    strcmp(db->path, ":memory:") != 0 &&
	    (db->reader = reader_open(db->path)) == NULL)
		db->reader_failed = 1;
	return db->reader;
}

struct db *
db_open(const char *path, char *err, size_t errlen)
{
	return db_open_flags(path, 0, err, errlen);
}

struct db *
db_open_flags(const char *path, int flags, char *err, size_t errlen)
{
	struct db *db;
	char msg[256], mode[16];
	mode_t oldmask = 0;
	int memory, rc, beside = 0, imaged = 0;

	static int configured;

	if (!configured) {
		/* No memory statistics: they take a global mutex on every
		 * allocation (replace's scratch store makes many).  Only
		 * before SQLite starts; harmless (SQLITE_MISUSE) after. */
		(void)sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
		configured = 1;
	}
	if (errlen > 0)
		err[0] = '\0';
	db = xcalloc(1, sizeof(*db));
	db->lockfd = -1;
	db->path = xstrdup(path);
	memory = strcmp(path, ":memory:") == 0;
	/* A scratch store (replace, tests) uses a few of its 65 statements,
	 * and preparing them all was most of its open: each is prepared on
	 * first use.  A file's are prepared here, so that SQL the schema
	 * does not take stops the start, not a command later. */
	db->lazy = memory;

	if (!memory && lock_take(db, err, errlen) == -1)
		goto fail;
	/* The store holds TSIG secrets: the file and its WAL are the
	 * daemon's alone.  New ones are made so (SQLite gives the WAL the
	 * database's mode), older ones once they are known to be ours. */
	if (!memory)
		oldmask = umask(077);
	rc = sqlite3_open_v2(path, &db->h, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		snprintf(err, errlen, "cannot open database %s: %s", path,
		    db->h != NULL ? sqlite3_errmsg(db->h) : sqlite3_errstr(rc));
		goto fail;
	}
	sqlite3_extended_result_codes(db->h, 1);
	sqlite3_busy_timeout(db->h, DB_BUSY_MS);
	sqlite3_update_hook(db->h, update_hook, db);
	/* Nothing but this file's own schema runs here; refuse the tricks a
	 * crafted file could play on a connection. */
	sqlite3_db_config(db->h, SQLITE_DBCONFIG_DEFENSIVE, 1, NULL);
	sqlite3_db_config(db->h, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, NULL);
	if (memory && (imaged = scratch_load(db, err, errlen)) == -1)
		goto fail;

	/* A file that is not a database, or not at the latest schema, is
	 * checked here (the message says it is corrupt, nothing migrates an
	 * unchecked file). */
	if ((flags & DB_CHECKED) && !memory && schema_latest(db))
		;
	else if ((flags & DB_CHECK_BESIDE) && !memory && schema_latest(db))
		beside = 1;
	else if (imaged)
		;	/* the image was made here, at the latest schema */
	else if (check_integrity(db, err, errlen) == -1)
		goto fail;
	if (open_query(db, "PRAGMA journal_mode = WAL", mode, sizeof(mode),
	    msg, sizeof(msg)) != SQLITE_OK) {
		snprintf(err, errlen, "cannot set WAL mode on database %s: %s",
		    path, msg);
		goto fail;
	}
	if (!memory && strcmp(mode, "wal") != 0) {
		snprintf(err, errlen, "database %s cannot use WAL mode "
		    "(journal mode is %s)", path, mode);
		goto fail;
	}
	if (open_exec(db, "PRAGMA synchronous = FULL", msg, sizeof(msg)) ==
	    -1) {
		snprintf(err, errlen, "database %s: %s", path, msg);
		goto fail;
	}
	if (migrate(db, err, errlen) == -1)
		goto fail;
	if (memory && !imaged)
		scratch_keep(db);
	if (!memory) {
		store_private(path, "");
		store_private(path, "-wal");
		store_private(path, "-shm");
	}
	if (open_exec(db, "PRAGMA foreign_keys = ON", msg, sizeof(msg)) ==
	    -1) {
		snprintf(err, errlen, "database %s: %s", path, msg);
		goto fail;
	}
	if (db_prepare_all(db, err, errlen) == -1)
		goto fail;
	if (!memory)
		umask(oldmask);
	if (beside)
		check_start(db);
	return db;

fail:
	if (!memory)
		umask(oldmask);
	db_close(db);
	return NULL;
}

void
db_close(struct db *db)
{
	int i;

	if (db == NULL)
		return;
	db_close(db->reader);	/* first: the WAL goes with the last */
	(void)db_check_wait(db, NULL, 0);
	for (i = 0; i < S__COUNT; i++)
		sqlite3_finalize(db->st[i]);
	db_reg_finalize(db);
	db_key_finalize(db);
	/* Rolls back an open transaction and, as the last connection,
	 * checkpoints and removes the WAL. */
	sqlite3_close_v2(db->h);
	if (db->lockfd != -1)
		close(db->lockfd);
	free(db->path);
	free(db);
}

/*
 * db_key: the store's TSIG keys (see db.h and sql/migrations/0005).
 * Apart from db.c, which keeps to the routing tables; the same rules:
 * statements prepared once at open, reset after use, errors recorded for
 * db_errmsg.  A secret read from the store passes through a buffer on the
 * stack that is wiped before returning.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db_int.h"
#include "util.h"
#include "words.h"

enum kstmt { K_ADD, K_SET, K_DEL, K_GET, K_ALL, K_USER, K__COUNT };

#define KEY_COLS "k.id, k.name, k.algorithm, k.secret"

static const char *const kstmt_sql[K__COUNT] = {
	[K_ADD] = "INSERT INTO tsig_key (name, algorithm, secret) "
	    "VALUES (?1, ?2, ?3)",
	[K_SET] = "UPDATE tsig_key SET algorithm = ?2, secret = ?3 "
	    "WHERE name = ?1",
	[K_DEL] = "DELETE FROM tsig_key WHERE name = ?1",
	[K_GET] = "SELECT " KEY_COLS " FROM tsig_key AS k WHERE k.name = ?1",
	[K_ALL] = "SELECT " KEY_COLS ", (SELECT count(*) FROM backend AS b "
	    "WHERE b.key_id = k.id) FROM tsig_key AS k ORDER BY k.name",
	[K_USER] = "SELECT b.name FROM backend AS b JOIN tsig_key AS k "
	    "ON k.id = b.key_id WHERE k.name = ?1 ORDER BY b.name LIMIT 1",
};

struct db_keys {
	sqlite3_stmt	*st[K__COUNT];
};

int
db_key_prepare(struct db *db, char *err, size_t errlen)
{
	struct db_keys *k = xcalloc(1, sizeof(*k));

	db->keys = k;
	return db_side_prepare(db, k->st, kstmt_sql, K__COUNT, err, errlen);
}

void
db_key_finalize(struct db *db)
{
	struct db_keys *k = db->keys;

	if (k == NULL)
		return;
	db_side_finalize(k->st, K__COUNT);
	free(k);
	db->keys = NULL;
}

static sqlite3_stmt *
kst(struct db *db, enum kstmt id)
{
	return db_side_take(db, &db->keys->st[id], kstmt_sql[id]);
}

/* Name, algorithm word and secret of k into st's ?1 ?2 ?3. */
static int
key_bind(struct db *db, sqlite3_stmt *st, const struct db_key *k)
{
	if (memchr(k->name, '\0', sizeof(k->name)) == NULL ||
	    memchr(k->secret, '\0', sizeof(k->secret)) == NULL ||
	    k->alg < 0 || k->alg >= words_tsig_alg.n) {
		db_side_done(db, st, SQLITE_DONE);
		return db_err(db, "key: bad name, algorithm or secret");
	}
	db_bind_text(st, 1, k->name);
	db_bind_text(st, 2, words_name(&words_tsig_alg, k->alg));
	db_bind_text(st, 3, k->secret);
	return 0;
}

static int
key_row(struct db *db, sqlite3_stmt *st, struct db_key *k)
{
	const char *alg = (const char *)sqlite3_column_text(st, 2);

	memset(k, 0, sizeof(*k));
	k->id = sqlite3_column_int64(st, 0);
	db_col_copy(k->name, sizeof(k->name), st, 1);
	db_col_copy(k->secret, sizeof(k->secret), st, 3);
	k->alg = alg != NULL ? words_find(&words_tsig_alg, alg) : -1;
	if (k->alg == -1)
		return db_err(db, "key \"%s\": unknown algorithm in the "
		    "database", k->name);
	return 0;
}

int
db_key_add(struct db *db, struct db_key *k)
{
	sqlite3_stmt *st;
	int rc;

	if ((st = kst(db, K_ADD)) == NULL || key_bind(db, st, k) == -1)
		return -1;
	rc = sqlite3_step(st);
	if (rc == SQLITE_CONSTRAINT_UNIQUE) {
		db_side_done(db, st, SQLITE_DONE);
		return db_err(db, "key \"%s\" exists", k->name);
	}
	if (db_side_done(db, st, rc) == -1)
		return -1;
	k->id = sqlite3_last_insert_rowid(db->h);
	return 0;
}

int
db_key_set(struct db *db, const struct db_key *k)
{
	sqlite3_stmt *st;

	if ((st = kst(db, K_SET)) == NULL || key_bind(db, st, k) == -1 ||
	    db_side_done(db, st, sqlite3_step(st)) == -1)
		return -1;
	if (sqlite3_changes(db->h) == 0) {
		db_err(db, "no such key \"%s\"", k->name);
		return 1;
	}
	return 0;
}

/* The first backend (by name) that uses key name, into user: 1, or 0. */
static int
key_user(struct db *db, const char *name, char *user, size_t len)
{
	sqlite3_stmt *st;
	int rc, found = 0;

	if ((st = kst(db, K_USER)) == NULL)
		return -1;
	db_bind_text(st, 1, name);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		db_col_copy(user, len, st, 0);
		found = 1;
	}
	if (db_side_done(db, st, rc) == -1)
		return -1;
	return found;
}

int
db_key_del(struct db *db, const char *name)
{
	char user[CONF_NAME_MAX];
	sqlite3_stmt *st;
	int rc;

	if ((rc = key_user(db, name, user, sizeof(user))) == -1)
		return -1;
	if (rc == 1)
		return db_err(db, "key \"%s\" is used by backend %s (backend "
		    "set %s key - first)", name, user, user);
	if ((st = kst(db, K_DEL)) == NULL)
		return -1;
	db_bind_text(st, 1, name);
	if (db_side_done(db, st, sqlite3_step(st)) == -1)
		return -1;
	if (sqlite3_changes(db->h) == 0) {
		db_err(db, "no such key \"%s\"", name);
		return 1;
	}
	return 0;
}

int
db_key_get(struct db *db, const char *name, struct db_key *out)
{
	sqlite3_stmt *st;
	int rc, ret;

	if ((st = kst(db, K_GET)) == NULL)
		return -1;
	db_bind_text(st, 1, name);
	if ((rc = sqlite3_step(st)) != SQLITE_ROW)
		return db_side_done(db, st, rc) == -1 ? -1 : 1;
	ret = key_row(db, st, out);
	db_side_done(db, st, SQLITE_DONE);
	return ret;
}

int
db_key_foreach(struct db *db, int (*cb)(const struct db_key *, int, void *),
    void *arg)
{
	struct db_key k;
	sqlite3_stmt *st;
	int rc = SQLITE_DONE, ret = 0;

	if ((st = kst(db, K_ALL)) == NULL)
		return -1;
	while (ret == 0 && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		if ((ret = key_row(db, st, &k)) == 0)
			ret = cb(&k, sqlite3_column_int(st, 4), arg);
		explicit_bzero(&k, sizeof(k));
	}
	if (ret != 0) {
		db_side_done(db, st, SQLITE_DONE);
		return ret;
	}
	return db_side_done(db, st, rc);
}

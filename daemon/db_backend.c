/*
 * db_backend: the rows of table backend (db.h).  A backend's conf is
 * stored column by column, its enumerations as their words; its TSIG key
 * by name (the key's id in the row).  Memberships and health events go
 * with a deleted backend (ON DELETE CASCADE).
 */
#include <inttypes.h>
#include <string.h>

#include "db_int.h"

static int
backend_bind(struct db *db, sqlite3_stmt *st, const struct db_backend *b)
{
	const struct backend_conf *c = &b->conf;
	const char *transport, *admin, *client_addr;

	if (db_name_ok(db, "backend", b->name) == -1)
		return -1;
	if (memchr(c->addr, '\0', sizeof(c->addr)) == NULL ||
	    memchr(c->check_qname, '\0', sizeof(c->check_qname)) == NULL ||
	    memchr(c->key, '\0', sizeof(c->key)) == NULL)
		return db_err(db, "backend \"%s\": address or check name is "
		    "too long", b->name);
	transport = db_enum_word(&words_transport, c->transport);
	admin = db_enum_word(&words_admin, b->admin);
	client_addr = db_enum_word(&words_client_addr, c->client_addr);
	if (transport == NULL || admin == NULL || client_addr == NULL)
		return db_err(db, "backend \"%s\": bad transport, admin "
		    "state or client-address", b->name);
	db_bind_text(st, 2, b->name);
	db_bind_text(st, 3, c->addr);
	db_bind_text(st, 4, transport);
	sqlite3_bind_int(st, 5, c->weight);
	db_bind_text(st, 6, admin);
	db_bind_text(st, 7, c->check_qname);
	sqlite3_bind_int(st, 8, c->check_qtype);
	sqlite3_bind_int(st, 9, c->check_qclass);
	sqlite3_bind_int(st, 10, c->check_tcp != 0);
	sqlite3_bind_int(st, 11, c->check_rcode);
	sqlite3_bind_int(st, 12, c->interval_ms);
	sqlite3_bind_int(st, 13, c->timeout_ms);
	sqlite3_bind_int(st, 14, c->fall);
	sqlite3_bind_int(st, 15, c->rise);
	db_bind_text(st, 16, c->key);
	db_bind_text(st, 17, client_addr);
	return 0;
}

static int
backend_row(struct db *db, sqlite3_stmt *st, struct db_backend *b)
{
	struct backend_conf *c = &b->conf;

	memset(b, 0, sizeof(*b));
	b->id = sqlite3_column_int64(st, 0);
	db_col_copy(b->name, sizeof(b->name), st, 1);
	db_col_copy(c->addr, sizeof(c->addr), st, 2);
	c->transport = db_word_enum(&words_transport, st, 3);
	c->weight = sqlite3_column_int(st, 4);
	b->admin = db_word_enum(&words_admin, st, 5);
	db_col_copy(c->check_qname, sizeof(c->check_qname), st, 6);
	c->check_qtype = sqlite3_column_int(st, 7);
	c->check_qclass = sqlite3_column_int(st, 8);
	c->check_tcp = sqlite3_column_int(st, 9);
	c->check_rcode = sqlite3_column_int(st, 10);
	c->interval_ms = sqlite3_column_int(st, 11);
	c->timeout_ms = sqlite3_column_int(st, 12);
	c->fall = sqlite3_column_int(st, 13);
	c->rise = sqlite3_column_int(st, 14);
	db_col_copy(c->key, sizeof(c->key), st, 15);
	c->client_addr = db_word_enum(&words_client_addr, st, 16);
	if (c->transport == -1 || b->admin == -1 || c->client_addr == -1)
		return db_err(db, "backend \"%s\": unknown transport, admin "
		    "state or client-address in the database", b->name);
	return 0;
}

/* A write to backend failed: name the duplicate when that is why. */
static int
backend_write_err(struct db *db, int rc, const char *name)
{
	if (rc == SQLITE_CONSTRAINT_UNIQUE)
		return db_err(db, "backend \"%s\" exists", name);
	return -1;
}

int
db_backend_add(struct db *db, struct db_backend *b)
{
	sqlite3_stmt *st;
	int rc;

	if ((st = db_stmt_get(db, S_BACKEND_ADD)) == NULL)
		return -1;
	if (backend_bind(db, st, b) == -1) {
		db_stmt_done(st);
		return -1;
	}
	if ((rc = db_stmt_run(db, st)) != SQLITE_OK)
		return backend_write_err(db, rc, b->name);
	b->id = sqlite3_last_insert_rowid(db->h);
	return 0;
}

/* After a write of backend id: 0, or 1 when there was no such row. */
static int
backend_found(struct db *db, int64_t id)
{
	if (sqlite3_changes(db->h) > 0)
		return 0;
	db_err(db, "no such backend (id %" PRId64 ")", id);
	return 1;
}

int
db_backend_update(struct db *db, const struct db_backend *b)
{
	sqlite3_stmt *st;
	int rc;

	if ((st = db_stmt_get(db, S_BACKEND_UPDATE)) == NULL)
		return -1;
	if (backend_bind(db, st, b) == -1) {
		db_stmt_done(st);
		return -1;
	}
	sqlite3_bind_int64(st, 1, b->id);
	if ((rc = db_stmt_run(db, st)) != SQLITE_OK)
		return backend_write_err(db, rc, b->name);
	return backend_found(db, b->id);
}

/* A drain writes one column, not the row (the name's index, the key's
 * lookup). */
int
db_backend_set_admin(struct db *db, int64_t id, int admin)
{
	sqlite3_stmt *st;
	const char *word;

	if ((word = db_enum_word(&words_admin, admin)) == NULL)
		return db_err(db, "bad admin state %d", admin);
	if ((st = db_stmt_get(db, S_BACKEND_ADMIN)) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	db_bind_text(st, 2, word);
	if (db_stmt_run(db, st) != SQLITE_OK)
		return -1;
	return backend_found(db, id);
}

/* Memberships and health events go with it (ON DELETE CASCADE). */
int
db_backend_del(struct db *db, int64_t id)
{
	sqlite3_stmt *st;

	if ((st = db_stmt_get(db, S_BACKEND_DEL)) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	if (db_stmt_run(db, st) != SQLITE_OK)
		return -1;
	return backend_found(db, id);
}

int
db_backend_get(struct db *db, const char *name, struct db_backend *out)
{
	sqlite3_stmt *st;
	int rc, ret;

	if ((st = db_stmt_get(db, S_BACKEND_GET)) == NULL)
		return -1;
	db_bind_text(st, 1, name);
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE) {
		db_stmt_done(st);
		db_err(db, "backend \"%s\" does not exist", name);
		return 1;
	}
	if (rc != SQLITE_ROW) {
		db_stmt_fail(db, st, rc);
		return -1;
	}
	ret = backend_row(db, st, out);
	db_stmt_done(st);
	return ret;
}

static int
backend_emit(struct db *db, sqlite3_stmt *st, union db_row_cb cb, void *arg)
{
	struct db_backend b;

	if (backend_row(db, st, &b) == -1)
		return -1;
	return cb.backend(&b, arg);
}

int
db_backend_foreach(struct db *db,
    int (*cb)(const struct db_backend *, void *), void *arg)
{
	union db_row_cb u = { .backend = cb };
	sqlite3_stmt *st;

	if ((st = db_stmt_get(db, S_BACKEND_ALL)) == NULL)
		return -1;
	return db_each_row(db, st, backend_emit, u, arg);
}

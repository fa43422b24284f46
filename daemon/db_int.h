/*
 * db_int: what db.c shares with db_reg.c and db_key.c and nobody else: the
 * connection, error recording, where those files keep their prepared
 * statements, and the helpers that run them.
 */
#ifndef DB_INT_H
#define DB_INT_H

#include <sqlite3.h>

#include "db.h"

struct db_reg;
struct db_keys;

sqlite3		*db_handle(struct db *);
struct db_reg	**db_reg_slot(struct db *);
struct db_keys	**db_key_slot(struct db *);
/* Record an error for db_errmsg; returns -1. */
int		 db_err(struct db *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));

/* A write the update hook does not see (DELETE of a whole table). */
void		 db_routes_touched(struct db *);

/* A file's own statements, n of them: prepared once at open (-1 with
 * err), finalized at close. */
int		 db_side_prepare(struct db *, sqlite3_stmt **, const char *const
		    *sql, int n, char *err, size_t errlen);
void		 db_side_finalize(sqlite3_stmt **, int n);
/* st, unless a caller up the stack is still stepping it (NULL, error
 * recorded). */
sqlite3_stmt	*db_side_take(struct db *, sqlite3_stmt *);
/* Reset st (bindings dropped) after a step that returned rc: 0, or -1
 * with SQLite's message recorded unless rc is SQLITE_DONE or SQLITE_ROW. */
int		 db_side_done(struct db *, sqlite3_stmt *, int rc);
/* Text bound without a copy ("" for NULL), and a text column copied into
 * a fixed buffer. */
void		 db_bind_text(sqlite3_stmt *, int i, const char *);
void		 db_col_copy(char *dst, size_t len, sqlite3_stmt *, int col);

/* db_reg.c, db_key.c: prepare their statements at open, finalize them at
 * close. */
int		 db_reg_prepare(struct db *, char *err, size_t errlen);
void		 db_reg_finalize(struct db *);
int		 db_key_prepare(struct db *, char *err, size_t errlen);
void		 db_key_finalize(struct db *);

#endif

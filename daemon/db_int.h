/*
 * db_int: what the files of the store (db.c, db_*.c) share and nobody
 * else sees: the connection, the statement table, error recording, and
 * the helpers that run statements.  db.c keeps the statements' SQL (one
 * place to read every query of the operator's tables) and prepares them
 * at open; the rows of each kind live in a file of their own.  db_reg.c
 * and db_key.c keep statements of their own (db_side_*).
 */
#ifndef DB_INT_H
#define DB_INT_H

#include <sqlite3.h>

#include "db.h"

struct db_reg;
struct db_keys;
struct db_check;

/*
 * Every statement the daemon runs after open.  Enumerations are stored as
 * their words (common/words.h), which the CHECK constraints in
 * sql/schema.sql must list.
 */
enum stmt {
	S_BEGIN, S_COMMIT, S_ROLLBACK,
	S_SAVEPOINT, S_RELEASE, S_ROLLBACK_TO,
	S_OP_SAVEPOINT, S_OP_RELEASE, S_OP_ROLLBACK_TO,
	S_BACKEND_ADD, S_BACKEND_UPDATE, S_BACKEND_ADMIN, S_BACKEND_DEL,
	S_BACKEND_GET, S_BACKEND_ALL, S_BACKEND_EXISTS,
	S_POOL_ADD, S_POOL_UPDATE, S_POOL_DEL, S_POOL_GET, S_POOL_ALL,
	S_POOL_NAME,
	S_MEMBER_ADD, S_MEMBER_DEL, S_MEMBER_DEL_BACKEND, S_MEMBER_ALL,
	S_ROUTE_LAST, S_ROUTE_ADD, S_ROUTE_POS, S_ROUTE_DEL, S_ROUTE_SETPOS,
	S_ROUTE_SHIFT_UP, S_ROUTE_SHIFT_DOWN, S_ROUTE_IDS_AT, S_ROUTE_SHIFT_ID,
	S_ROUTE_PARK, S_ROUTE_UNPARK,
	S_ROUTE_ALL,
	S_ROUTE_USING_POOL, S_ROUTE_UPDATE, S_ROUTE_HITS, S_ROUTE_GET,
	S_SETTING_GET, S_SETTING_SET, S_SETTING_ALL,
	S_AUDIT_ADD, S_AUDIT_ADD4, S_AUDIT_ADD16, S_AUDIT_LAST,
	S_HEALTH_ADD, S_HEALTH_LAST, S_HEALTH_PRUNE, S_HEALTH_PRUNE_ONE,
	S_SYNC_NORMAL, S_SYNC_FULL,
	S__COUNT
};

struct db {
	sqlite3		*h;
	sqlite3_stmt	*st[S__COUNT];
	struct db_reg	*reg;		/* db_reg.c's statements */
	struct db_keys	*keys;		/* db_key.c's */
	int		 lockfd;	/* on PATH-lock; -1 for :memory: */
	char		*path;
	char		 err[512];
	uint64_t	 routes_gen;	/* see db_routes_gen */
	int		 bulk;		/* see db_bulk */
	int		 defer;		/* see db_route_defer */
	int64_t		 route_n;	/* the count while deferred */
	int		 lazy;		/* statements prepared on first use */
	/* The pool db_pool_get found last, while no pool row was written or
	 * rolled back since, in the same transaction: each route of a
	 * batch names one, mostly the same. */
	struct db_pool	 pool_last;
	int		 pool_cached;
	/* The route count db_route_add found or made last, while no route
	 * row was written by anyone else (routes_gen is last_gen) or rolled
	 * back since, in the same transaction: a batch appends 10,000. */
	int64_t		 last_n;
	uint64_t	 last_gen;
	int		 last_cached;
	struct db_check	*check;		/* running beside; NULL when done */
	struct db	*reader;	/* see db_reader; NULL until asked */
	int		 reader_failed;	/* it could not be opened: not again */
};

/* Record an error for db_errmsg; returns -1. */
int		 db_err(struct db *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));

/* A write the update hook does not see (DELETE of a whole table). */
void		 db_routes_touched(struct db *);

/* db.c's statements: the one for id, unless a caller up the stack is
 * still stepping it (NULL, error recorded). */
sqlite3_stmt	*db_stmt_get(struct db *, enum stmt id);
/* The SQL of a statement, to prepare a copy that is not shared. */
const char	*db_stmt_sql(enum stmt id);
/* Reset st and drop its bindings. */
void		 db_stmt_done(sqlite3_stmt *);
/* Record SQLite's message for a failed step, finish st; returns rc. */
int		 db_stmt_fail(struct db *, sqlite3_stmt *, int rc);
/* Step to the end: SQLITE_OK, or the extended error code (recorded). */
int		 db_stmt_run(struct db *, sqlite3_stmt *);
/* Step for one integer: 0 with *out set, 1 when there is no row, -1. */
int		 db_stmt_int64(struct db *, sqlite3_stmt *, int64_t *out);
/* Run statement id, which takes no parameters: 0 or -1. */
int		 db_exec(struct db *, enum stmt id);
/* Prepare every statement of the connection (db_reg.c's, db_key.c's
 * too), or none when db->lazy: 0, or -1 with the message in err. */
int		 db_prepare_all(struct db *, char *err, size_t errlen);

/* The callers' callbacks, one member per row type. */
union db_row_cb {
	int	(*backend)(const struct db_backend *, void *);
	int	(*pool)(const struct db_pool *, void *);
	int	(*member)(int64_t, int64_t, void *);
	int	(*route)(const struct db_route *, void *);
	int	(*setting)(const char *, const char *, void *);
	int	(*audit)(const struct db_audit *, void *);
	int	(*health)(const struct db_health_event *, void *);
};

/* Decode the current row of a statement and pass it to the callback. */
typedef int (*db_row_fn)(struct db *, sqlite3_stmt *, union db_row_cb, void *);

int		 db_each_row(struct db *, sqlite3_stmt *, db_row_fn,
		    union db_row_cb, void *arg);

/* A call's own savepoint, around the statements of a call that needs
 * several (none under db_bulk): begin, then end it with their result ret
 * (0: their work kept; -1: undone, their message kept).  end returns ret,
 * or -1 when the work could not be kept. */
int		 db_op_begin(struct db *);
int		 db_op_end(struct db *, int ret);

/* A name of a row (backend, pool): 0, or -1 when empty or too long. */
int		 db_name_ok(struct db *, const char *what, const char *name);
/* The word of enum value v of ws (NULL when out of range), and the value
 * of the word in column col (-1 for a word ws does not have). */
const char	*db_enum_word(const struct words *ws, int v);
int		 db_word_enum(const struct words *ws, sqlite3_stmt *, int col);
/* A text column, "" for NULL; valid until the next step or reset. */
const char	*db_col_str(sqlite3_stmt *, int col);

/* A file's own statements, n of them: prepared once at open (-1 with
 * err) unless db->lazy, finalized at close. */
int		 db_side_prepare(struct db *, sqlite3_stmt **, const char *const
		    *sql, int n, char *err, size_t errlen);
void		 db_side_finalize(sqlite3_stmt **, int n);
/* *st, prepared from sql if it is not yet (db->lazy), unless a caller up
 * the stack is still stepping it (NULL, error recorded). */
sqlite3_stmt	*db_side_take(struct db *, sqlite3_stmt **st,
		    const char *sql);
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

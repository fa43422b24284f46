/*
 * db_int: what db.c shares with db_reg.c and nobody else: the connection,
 * error recording, and where db_reg.c keeps its prepared statements.
 */
#ifndef DB_INT_H
#define DB_INT_H

#include <sqlite3.h>

#include "db.h"

struct db_reg;

sqlite3		*db_handle(struct db *);
struct db_reg	**db_reg_slot(struct db *);
/* Record an error for db_errmsg; returns -1. */
int		 db_err(struct db *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));

/* A write the update hook does not see (DELETE of a whole table). */
void		 db_routes_touched(struct db *);

/* db_reg.c: prepare its statements at open, finalize them at close. */
int		 db_reg_prepare(struct db *, char *err, size_t errlen);
void		 db_reg_finalize(struct db *);

#endif

/*
 * Store files for the unit tests that open real ones (test_db,
 * test_migrate): the test's temporary directory (made by its main), paths
 * in it, and an open that stops the test when it fails, as nothing after
 * it could run.  The includer defines UNIT_NAME, its name in UNIT_DONE.
 */
#ifndef DB_FILES_H
#define DB_FILES_H

#include <stdio.h>
#include <stdlib.h>

#include "db.h"
#include "unit.h"

#ifndef UNIT_NAME
#error "define UNIT_NAME before including db_files.h"
#endif

static char tmpdir[64];

/* A database path under tmpdir. */
static const char *
dbpath(const char *name)
{
	static char path[128];

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	return path;
}

static struct db *
open_ok(const char *path)
{
	char err[512];
	struct db *db;

	db = db_open(path, err, sizeof(err));
	CHECKF(db != NULL, "db_open %s: %s", path, err);
	if (db == NULL) {
		printf("unit %s: %d passed, %d failed (cannot go on)\n",
		    UNIT_NAME, unit_pass, unit_fail);
		exit(1);
	}
	return db;
}

#endif

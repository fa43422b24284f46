/*
 * Rows for the unit tests that build a store in memory (test_db,
 * test_config): a round-robin pool, and a route to a pool (or, with pool
 * 0, a refuse route).  Each returns the new row's id, 0 after a failed
 * check.
 */
#ifndef DB_ROWS_H
#define DB_ROWS_H

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "db.h"
#include "unit.h"

static inline int64_t
add_pool(struct db *db, const char *name)
{
	struct db_pool p;

	memset(&p, 0, sizeof(p));
	snprintf(p.name, sizeof(p.name), "%s", name);
	p.conf.policy = POLICY_ROUNDROBIN;
	p.conf.good = 1 << GOOD_ANSWER;
	p.conf.tc_retry = NO;
	CHECKF(db_pool_add(db, &p) == 0, "%s", db_errmsg(db));
	return p.id;
}

static inline int64_t
add_route(struct db *db, const char *pattern, int position, int64_t pool)
{
	struct db_route r;

	memset(&r, 0, sizeof(r));
	r.pattern = pattern;
	r.position = position;
	r.action = pool != 0 ? ACTION_POOL : ACTION_REFUSE;
	r.pool_id = pool;
	r.comment = "";
	if (db_route_add(db, &r) != 0) {
		CHECKF(0, "route add %s: %s", pattern, db_errmsg(db));
		return 0;
	}
	return r.id;
}

#endif

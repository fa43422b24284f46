/*
 * test_config: snapshots built from a store in memory, as the daemon
 * builds one after each change: what a snapshot shares with the one
 * before (struct routeset) and that every route still names its own pool.
 * A build in slices cut after any slice frees what it made so far.
 * A drain or a pool's setting shares the routes whole; a pool added
 * before the routes' pool (by name) copies them with new pool indices and
 * shares the tables; a route added reads them again.  ASan checks that
 * whatever is shared is freed once, by the last snapshot holding it.
 */
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "db.h"
#include "log.h"
#include "route.h"
#include "util.h"
#include "unit.h"
#include "db_rows.h"

static struct db *db;
static struct route_cache *rc;

static int64_t
add_backend(const char *name, int64_t pool)
{
	struct db_backend b;

	memset(&b, 0, sizeof(b));
	snprintf(b.name, sizeof(b.name), "%s", name);
	snprintf(b.conf.addr, sizeof(b.conf.addr), "127.0.0.1:5301");
	b.conf.transport = TRANSPORT_UDP;
	b.conf.weight = 1;
	b.admin = ADMIN_ENABLED;
	snprintf(b.conf.check_qname, sizeof(b.conf.check_qname), "id.server.");
	b.conf.check_qtype = 16;
	b.conf.check_qclass = 3;
	b.conf.check_rcode = -1;
	b.conf.interval_ms = 5000;
	b.conf.timeout_ms = 1000;
	b.conf.fall = 3;
	b.conf.rise = 2;
	CHECKF(db_backend_add(db, &b) == 0, "%s", db_errmsg(db));
	CHECKF(db_member_add(db, pool, b.id) == 0, "%s", db_errmsg(db));
	return b.id;
}

static void
set_admin(const char *name, int admin)
{
	struct db_backend b;

	CHECK(db_backend_get(db, name, &b) == 0);
	b.admin = admin;
	CHECKF(db_backend_update(db, &b) == 0, "%s", db_errmsg(db));
}

static struct config *
build(struct config *old)
{
	char err[256];
	struct config *c;

	c = config_build(db, old, rc, err, sizeof(err));
	CHECKF(c != NULL, "config_build: %s", err);
	if (c == NULL) {
		printf("unit config: %d passed, %d failed (cannot go on)\n",
		    unit_pass, unit_fail);
		exit(1);
	}
	config_unref(old);
	return c;
}

/* Route i of c names pool want in c (NULL: none). */
static void
names(const struct config *c, int i, const char *want)
{
	const struct pool *p = config_route_pool(c, &c->routes[i]);

	if (want == NULL)
		CHECKF(p == NULL, "route %d names pool %s", i, p->name);
	else
		CHECKF(p != NULL && strcmp(p->name, want) == 0,
		    "route %d names pool %s, not %s", i,
		    p != NULL ? p->name : "(none)", want);
}

static void
test_sharing(void)
{
	struct config *c, *prev;
	struct croute *routes;
	struct route_table *rt;
	int64_t web, mail;

	web = add_pool(db, "web");
	mail = add_pool(db, "mail");
	add_backend("w1", web);
	add_backend("w2", web);
	add_backend("m1", mail);
	add_route(db, "^www\\.", 1, web);
	add_route(db, "^mx\\.", 2, mail);
	add_route(db, "\\.example\\.$", 3, 0);
	add_route(db, "axfr\\.", 4, mail);
	c = build(NULL);
	CHECK(c->nroutes == 4 && c->rs != NULL && c->routes == c->rs->routes);
	names(c, 0, "web");
	names(c, 1, "mail");
	names(c, 2, NULL);
	names(c, 3, "mail");
	routes = c->routes;
	rt = c->rt;

	/* A drain: new backends' rows and pools, the same routes. */
	set_admin("w1", ADMIN_DRAINED);
	prev = c;
	config_ref(prev);
	c = build(c);
	CHECK(c->rs == prev->rs && c->routes == routes && c->rt == rt);
	CHECK(c->xrt == prev->xrt && c->xroute == prev->xroute);
	CHECK(c->pools != prev->pools);
	CHECK(config_backend(c, "w1") == config_backend(prev, "w1"));
	CHECK(c->brows[0].admin == ADMIN_DRAINED ||
	    c->brows[1].admin == ADMIN_DRAINED ||
	    c->brows[2].admin == ADMIN_DRAINED);
	names(c, 0, "web");
	names(c, 1, "mail");
	/* The one before still reads its own pools through them. */
	names(prev, 0, "web");
	config_unref(prev);
	set_admin("w1", ADMIN_ENABLED);
	c = build(c);
	CHECK(c->routes == routes && c->rt == rt);

	/* A pool added before both by name: every index moves; the routes
	 * are copied, the tables shared. */
	add_pool(db, "aaa");
	c = build(c);
	CHECK(c->routes != routes && c->rt == rt);
	CHECK(c->npools == 3 && strcmp(c->pools[0].name, "aaa") == 0);
	names(c, 0, "web");
	names(c, 1, "mail");
	names(c, 2, NULL);
	names(c, 3, "mail");
	CHECK(config_route(c, c->routes[1].id) == &c->routes[1]);
	routes = c->routes;

	/* A route added: read again, the new table inherits the old. */
	add_route(db, "^new\\.", 1, mail);
	c = build(c);
	CHECK(c->routes != routes && c->rt != rt && c->nroutes == 5);
	names(c, 0, "mail");
	names(c, 1, "web");
	names(c, 4, "mail");
	routes = c->routes;

	/* A setting that is not the match limit: shared. */
	CHECK(db_setting_set(db, "tcp-idle-timeout", "7") == 0);
	c = build(c);
	CHECK(c->routes == routes);
	config_unref(c);
}

/* A change builds its snapshot a slice at a time and drops it when its
 * client leaves, at any slice: after the query routes' table is made and
 * before the UPDATE routes' is, their patterns are the table's and the
 * rest still their own; a cut there once freed a table's pattern (a
 * bad free, seen under ASan in test_pace).  Cut after every slice. */
static void
test_cut(void)
{
	struct config_building *cb;
	struct config *c, *old;
	struct db_route r;
	char err[256];
	int k, i, got, whole = 0;

	memset(&r, 0, sizeof(r));
	r.pattern = "\\.upd\\.example\\.$";
	r.position = 1;
	r.opcode = ROUTE_UPDATE;
	r.action = ACTION_REFUSE;
	r.comment = "";
	CHECKF(db_route_add(db, &r) == 0, "%s", db_errmsg(db));
	add_route(db, "^cut\\.", 1, 0);
	for (k = 1; !whole && k < 20; k++) {
		/* old forces a read of the routes (their generation moved). */
		old = build(NULL);
		add_route(db, "^cut\\.", 1, 0);
		cb = config_build_begin(db, old, rc, err, sizeof(err));
		CHECKF(cb != NULL, "config_build_begin: %s", err);
		if (cb == NULL)
			return;
		for (i = 0, got = 0; i < k && got == 0; i++)
			got = config_build_next(cb, 0, &c, err, sizeof(err));
		CHECKF(got != -1, "config_build_next: %s", err);
		if (got == 1) {
			/* The whole build in k slices: its UPDATE route too. */
			CHECK(c->nroutes - c->nqroutes == 1);
			config_unref(c);
			whole = 1;
		} else
			config_build_free(cb);
		config_unref(old);
	}
	CHECKF(whole && k - 1 >= 3, "a build in %d slices", k - 1);
}

int
main(void)
{
	char err[256];

	log_init("test_config", 0, LOG_LVL_WARN);
	if ((db = db_open(":memory:", err, sizeof(err))) == NULL) {
		printf("unit config: db_open: %s\n", err);
		return 1;
	}
	rc = route_cache_new();
	test_sharing();
	test_cut();
	route_cache_free(rc);
	db_close(db);
	UNIT_DONE("config");
}

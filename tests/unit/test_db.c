/*
 * test_db: the SQLite store against real files in a temporary directory:
 * persistence, the lock, refusal of corrupt and foreign files, every row
 * type, route positions, savepoints and transactions, what survives a
 * process killed mid-transaction or after a commit, a full disk, and the
 * time 10,000 route adds take.
 */
#include <sys/stat.h>
#include <sys/wait.h>
#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "db.h"
#include "db_int.h"
#include "log.h"
#include "util.h"
#include "unit.h"
#include "db_rows.h"
#define UNIT_NAME "db"
#include "db_files.h"

extern const int db_migrations_len;	/* from the embedded schema */
extern const char *const db_schema_sql;

/* db_open must fail, with want in the message. */
static void
open_fails(const char *path, const char *want)
{
	char err[512];
	struct db *db;

	err[0] = '\0';
	db = db_open(path, err, sizeof(err));
	CHECKF(db == NULL, "db_open %s succeeded, wanted \"%s\"", path, want);
	CHECKF(strstr(err, want) != NULL, "\"%s\" lacks \"%s\"", err, want);
	db_close(db);
}

static void
backend_init(struct db_backend *b, const char *name, const char *addr)
{
	memset(b, 0, sizeof(*b));
	snprintf(b->name, sizeof(b->name), "%s", name);
	snprintf(b->conf.addr, sizeof(b->conf.addr), "%s", addr);
	b->conf.transport = TRANSPORT_UDP;
	b->conf.weight = 1;
	b->admin = ADMIN_ENABLED;
	snprintf(b->conf.check_qname, sizeof(b->conf.check_qname), "id.server.");
	b->conf.check_qtype = 16;
	b->conf.check_qclass = 3;
	b->conf.check_tcp = 1;
	b->conf.check_rcode = -1;
	b->conf.interval_ms = 5000;
	b->conf.timeout_ms = 1000;
	b->conf.fall = 3;
	b->conf.rise = 2;
}

static int64_t
add_backend(struct db *db, const char *name)
{
	struct db_backend b;

	backend_init(&b, name, "127.0.0.1:5301");
	CHECKF(db_backend_add(db, &b) == 0, "%s", db_errmsg(db));
	return b.id;
}

/* Routes as the store has them, in position order. */
struct routes {
	int	 n;
	int64_t	 id[64];
	int	 pos[64];
	char	 pat[64][32];
	char	 pool[64][CONF_NAME_MAX];
};

static int
routes_cb(const struct db_route *r, void *arg)
{
	struct routes *rs = arg;

	if (rs->n < 64) {
		rs->id[rs->n] = r->id;
		rs->pos[rs->n] = r->position;
		snprintf(rs->pat[rs->n], sizeof(rs->pat[0]), "%s", r->pattern);
		snprintf(rs->pool[rs->n], sizeof(rs->pool[0]), "%s",
		    r->pool_name);
	}
	rs->n++;
	return 0;
}

/* Load the routes and check positions are 1..N; pats lists the expected
 * patterns in order, space-separated. */
static void
routes_expect(struct db *db, const char *pats, int line)
{
	struct routes rs;
	char want[512], got[512];
	int i, count;

	memset(&rs, 0, sizeof(rs));
	CHECK(db_route_foreach(db, routes_cb, &rs) == 0);
	got[0] = '\0';
	for (i = 0; i < rs.n && i < 64; i++) {
		CHECKF(rs.pos[i] == i + 1, "line %d: route %d at position %d",
		    line, i + 1, rs.pos[i]);
		strcat(got, i ? " " : "");
		strcat(got, rs.pat[i]);
	}
	snprintf(want, sizeof(want), "%s", pats);
	CHECKF(strcmp(got, want) == 0, "line %d: routes \"%s\", want \"%s\"",
	    line, got, want);
	CHECK(db_route_count(db, &count) == 0 && count == rs.n);
}

/* Positions 1..N in order, for more routes than routes_expect keeps. */
static int
positions_cb(const struct db_route *r, void *arg)
{
	int *next = arg;

	if (r->position != *next)
		return -1;
	(*next)++;
	return 0;
}

static void
routes_expect_n(struct db *db, int n)
{
	int next = 1;

	CHECK(db_route_foreach(db, positions_cb, &next) == 0);
	CHECKF(next == n + 1, "%d routes, want %d", next - 1, n);
	CHECK(db_route_count(db, &next) == 0 && next == n);
}

struct find {
	int	 position;
	int64_t	 id;
};

static int
find_cb(const struct db_route *r, void *arg)
{
	struct find *f = arg;

	if (r->position != f->position)
		return 0;
	f->id = r->id;
	return 1;
}

static int64_t
route_id_at(struct db *db, int position)
{
	struct find f = { position, 0 };

	db_route_foreach(db, find_cb, &f);
	return f.id;
}

static int
route_count(struct db *db)
{
	int n = -1;

	CHECKF(db_route_count(db, &n) == 0, "%s", db_errmsg(db));
	return n;
}

/* Read a pragma with a separate connection, as an operator's shell would. */
static long
pragma_long(const char *path, const char *pragma)
{
	sqlite3 *h;
	sqlite3_stmt *st;
	char sql[128];
	long v = -1;

	snprintf(sql, sizeof(sql), "PRAGMA %s", pragma);
	if (sqlite3_open_v2(path, &h, SQLITE_OPEN_READONLY, NULL) ==
	    SQLITE_OK &&
	    sqlite3_prepare_v2(h, sql, -1, &st, NULL) == SQLITE_OK) {
		if (sqlite3_step(st) == SQLITE_ROW)
			v = (long)sqlite3_column_int64(st, 0);
		sqlite3_finalize(st);
	}
	sqlite3_close(h);
	return v;
}

static void
sql_exec(const char *path, const char *sql)
{
	sqlite3 *h;

	CHECK(sqlite3_open(path, &h) == SQLITE_OK);
	CHECKF(sqlite3_exec(h, sql, NULL, NULL, NULL) == SQLITE_OK, "%s: %s",
	    sql, sqlite3_errmsg(h));
	sqlite3_close(h);
}

static void
write_file(const char *path, const void *buf, size_t len)
{
	FILE *f = fopen(path, "w");

	CHECK(f != NULL);
	if (f == NULL)
		return;
	CHECK(fwrite(buf, 1, len, f) == len);
	fclose(f);
}

/* Run fn in a child; its CHECK failures come back as the exit status. */
static int
in_child(void (*fn)(void *), void *arg)
{
	pid_t pid;
	int status;

	fflush(NULL);
	if ((pid = fork()) == -1)
		return -1;
	if (pid == 0) {
		unit_fail = 0;
		fn(arg);
		_exit(unit_fail ? 1 : 0);
	}
	if (waitpid(pid, &status, 0) == -1)
		return -1;
	return status;
}

/*
 * The tests.
 */

static void
test_create_reopen(void)
{
	const char *path = dbpath("persist.db");
	struct db_backend b;
	struct db_pool p;
	struct db *db;
	char val[64];
	int64_t pool;

	db = open_ok(path);
	CHECK(!db_in_transaction(db));
	add_backend(db, "ns-ab");
	pool = add_pool(db, "ab");
	add_route(db, "^[ab]", 0, pool);
	CHECK(db_setting_set(db, "default-action", "refuse") == 0);
	db_close(db);

	CHECK(pragma_long(path, "user_version") == 1 + db_migrations_len);
	CHECK(pragma_long(path, "application_id") == 1145983826);
	db = open_ok(path);
	CHECK(db_backend_get(db, "ns-ab", &b) == 0 &&
	    strcmp(b.conf.addr, "127.0.0.1:5301") == 0);
	CHECK(db_pool_get(db, "ab", &p) == 0 && p.id == pool);
	routes_expect(db, "^[ab]", __LINE__);
	CHECK(db_setting_get(db, "default-action", val, sizeof(val)) == 0 &&
	    strcmp(val, "refuse") == 0);
	db_close(db);
	/* WAL mode is a property of the file once set. */
	CHECK(pragma_long(path, "user_version") == 1 + db_migrations_len);
	{
		sqlite3 *h;
		sqlite3_stmt *st;
		CHECK(sqlite3_open(path, &h) == SQLITE_OK);
		CHECK(sqlite3_prepare_v2(h, "PRAGMA journal_mode", -1, &st,
		    NULL) == SQLITE_OK);
		CHECK(sqlite3_step(st) == SQLITE_ROW &&
		    strcmp((const char *)sqlite3_column_text(st, 0),
		    "wal") == 0);
		sqlite3_finalize(st);
		sqlite3_close(h);
	}
}

static void
child_open_locked(void *arg)
{
	char err[512], want[128];
	struct db *db;

	snprintf(want, sizeof(want), "in use by another dnsrouted (pid %ld)",
	    *(long *)arg);
	db = db_open(dbpath("lock.db"), err, sizeof(err));
	CHECK(db == NULL);
	CHECKF(db == NULL && strstr(err, want) != NULL, "%s", err);
	db_close(db);
}

static void
test_lock(void)
{
	const char *path = dbpath("lock.db");
	char want[256];
	struct db *a, *b;
	long pid = (long)getpid();

	a = open_ok(path);
	snprintf(want, sizeof(want), "database %s is in use by another "
	    "dnsrouted (pid %ld)", path, pid);
	open_fails(path, want);
	CHECK(in_child(child_open_locked, &pid) == 0);
	db_close(a);
	b = open_ok(path);
	db_close(b);
}

static void
test_corrupt(void)
{
	char garbage[4096 * 4], path2[128];
	const char *path;
	struct db *db;
	size_t i;
	int fd;

	for (i = 0; i < sizeof(garbage); i++)
		garbage[i] = (char)(i * 7 + 13);
	path = dbpath("garbage.db");
	write_file(path, garbage, sizeof(garbage));
	open_fails(path, "is corrupt");
	path = dbpath("short.db");
	write_file(path, "hello, world\n", 13);
	open_fails(path, "is corrupt");

	/* A real database whose pages were overwritten.  Only the B-tree
	 * pages after the header page are hit, so the file still looks like
	 * a database; quick_check (or reading the schema) must notice. */
	path = dbpath("damaged.db");
	snprintf(path2, sizeof(path2), "%s", path);
	db = open_ok(path2);
	CHECK(db_begin(db) == 0);
	for (i = 0; i < 500; i++)
		add_route(db, "^some-long-enough-pattern-to-fill-pages\\.", 0,
		    0);
	CHECK(db_commit(db) == 0);
	db_close(db);
	if ((fd = open(path2, O_WRONLY)) != -1) {
		CHECK(pwrite(fd, garbage, sizeof(garbage), 4096) ==
		    (ssize_t)sizeof(garbage));
		close(fd);
	}
	open_fails(path2, "is corrupt");
}

static void
test_foreign_and_newer(void)
{
	const char *path;
	struct db *db;

	path = dbpath("foreign.db");
	sql_exec(path, "CREATE TABLE t (x); INSERT INTO t VALUES (1);");
	open_fails(path, "is not a dnsroute database");

	path = dbpath("newer.db");
	db = open_ok(path);
	db_close(db);
	sql_exec(path, "PRAGMA user_version = 999");
	open_fails(path, "was written by a newer dnsroute");
}

/* The schema of an open store, as one text. */
static void
schema_text(struct db *db, char *out, size_t outlen)
{
	sqlite3_stmt *st;
	size_t n = 0;

	out[0] = '\0';
	if (sqlite3_prepare_v2(db->h, "SELECT type || name || "
	    "coalesce(sql, '') FROM sqlite_master ORDER BY name", -1, &st,
	    NULL) != SQLITE_OK)
		return;
	while (sqlite3_step(st) == SQLITE_ROW && n < outlen)
		n += (size_t)snprintf(out + n, outlen - n, "%s\n",
		    (const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
}

static long
memory_version(struct db *db)
{
	sqlite3_stmt *st;
	long v = -1;

	if (sqlite3_prepare_v2(db->h, "PRAGMA user_version", -1, &st,
	    NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return v;
}

/* The first scratch store is migrated, later ones start from its image:
 * each is empty, at the latest schema, the same schema, and its own. */
static void
test_memory(void)
{
	static char first[32768], later[32768];
	struct db *db = open_ok(":memory:"), *db2, *db3;
	struct db_backend b;

	add_backend(db, "m");
	CHECK(route_count(db) == 0);
	schema_text(db, first, sizeof(first));
	CHECK(strstr(first, "CREATE TABLE") != NULL);
	CHECK(memory_version(db) == 1 + db_migrations_len);

	db2 = open_ok(":memory:");
	CHECK(db_backend_get(db2, "m", &b) == 1);
	schema_text(db2, later, sizeof(later));
	CHECK(strcmp(first, later) == 0);
	CHECK(memory_version(db2) == 1 + db_migrations_len);
	add_backend(db2, "m2");
	db_close(db);

	db3 = open_ok(":memory:");
	CHECK(db_backend_get(db3, "m", &b) == 1);
	CHECK(db_backend_get(db3, "m2", &b) == 1);
	CHECK(db_backend_get(db2, "m2", &b) == 0);
	add_backend(db3, "m");
	CHECK(route_count(db3) == 0);
	db_close(db2);
	db_close(db3);
}

static int
backend_names_cb(const struct db_backend *b, void *arg)
{
	strcat(arg, b->name);
	strcat(arg, " ");
	return 0;
}

static void
test_backends(void)
{
	struct db *db = open_ok(dbpath("backends.db"));
	struct db_backend b, c;
	char names[256] = "";
	int64_t id;

	backend_init(&b, "ns2", "[::1]:53");
	b.conf.transport = TRANSPORT_TCP;
	b.conf.weight = 7;
	b.admin = ADMIN_DRAINED;
	b.conf.check_tcp = 0;
	b.conf.check_rcode = 0;
	CHECK(db_backend_add(db, &b) == 0 && b.id > 0);
	id = b.id;
	memset(&c, 0xff, sizeof(c));
	CHECK(db_backend_get(db, "ns2", &c) == 0);
	CHECK(c.id == id && strcmp(c.conf.addr, "[::1]:53") == 0 &&
	    c.conf.transport == TRANSPORT_TCP && c.conf.weight == 7 &&
	    c.admin == ADMIN_DRAINED && c.conf.check_tcp == 0 &&
	    c.conf.check_rcode == 0 && c.conf.check_qtype == 16 && c.conf.check_qclass == 3 &&
	    strcmp(c.conf.check_qname, "id.server.") == 0 && c.conf.interval_ms == 5000 &&
	    c.conf.timeout_ms == 1000 && c.conf.fall == 3 && c.conf.rise == 2);

	/* Duplicate names, on add and on rename. */
	backend_init(&c, "ns2", "127.0.0.2");
	CHECK(db_backend_add(db, &c) == -1);
	CHECKF(strcmp(db_errmsg(db), "backend \"ns2\" exists") == 0, "%s",
	    db_errmsg(db));
	add_backend(db, "ns1");
	b.admin = ADMIN_DISABLED;
	b.conf.weight = 1000;
	CHECK(db_backend_update(db, &b) == 0);
	CHECK(db_backend_get(db, "ns2", &c) == 0 &&
	    c.admin == ADMIN_DISABLED && c.conf.weight == 1000);
	snprintf(b.name, sizeof(b.name), "ns1");
	CHECK(db_backend_update(db, &b) == -1);
	CHECKF(strcmp(db_errmsg(db), "backend \"ns1\" exists") == 0, "%s",
	    db_errmsg(db));
	snprintf(b.name, sizeof(b.name), "ns2");

	/* The schema's CHECKs are the backstop for bad values. */
	b.conf.weight = 0;
	CHECK(db_backend_update(db, &b) == -1);
	CHECK(strstr(db_errmsg(db), "CHECK constraint failed") != NULL);
	b.conf.weight = 1;
	b.conf.transport = 9;
	CHECK(db_backend_update(db, &b) == -1);
	b.conf.transport = TRANSPORT_UDP;

	CHECK(db_backend_foreach(db, backend_names_cb, names) == 0);
	CHECK(strcmp(names, "ns1 ns2 ") == 0);

	CHECK(db_backend_get(db, "nope", &c) == 1);
	CHECK(db_backend_del(db, id) == 0);
	CHECK(db_backend_get(db, "ns2", &c) == 1);
	CHECK(db_backend_del(db, id) == 1);
	c.id = id;
	CHECK(db_backend_update(db, &c) == 1);
	db_close(db);
}

static int
pool_names_cb(const struct db_pool *p, void *arg)
{
	char buf[CONF_NAME_MAX + 8];

	snprintf(buf, sizeof(buf), "%s:%d ", p->name, p->conf.policy);
	strcat(arg, buf);
	return 0;
}

static void
test_pools(void)
{
	struct db *db = open_ok(dbpath("pools.db"));
	struct db_pool p;
	char want[256], names[256] = "";
	int64_t web, apex, rid, r2, other;

	web = add_pool(db, "web");
	apex = add_pool(db, "apex");
	memset(&p, 0, sizeof(p));
	p.conf.policy = POLICY_ROUNDROBIN;
	p.conf.good = 1 << GOOD_ANSWER;
	p.conf.tc_retry = NO;
	snprintf(p.name, sizeof(p.name), "web");
	CHECK(db_pool_add(db, &p) == -1);
	CHECKF(strcmp(db_errmsg(db), "pool \"web\" exists") == 0, "%s",
	    db_errmsg(db));
	CHECK(db_pool_get(db, "apex", &p) == 0 && p.id == apex &&
	    p.conf.policy == POLICY_ROUNDROBIN);
	p.conf.policy = POLICY_LEAST_OUTSTANDING;
	CHECK(db_pool_update(db, &p) == 0);
	CHECK(db_pool_get(db, "apex", &p) == 0 &&
	    p.conf.policy == POLICY_LEAST_OUTSTANDING);
	/* What a race takes as good, kept as set. */
	p.conf.policy = POLICY_RACE;
	p.conf.good = 1 << GOOD_ANSWER | 1 << GOOD_NXDOMAIN;
	CHECK(db_pool_update(db, &p) == 0);
	CHECK(db_pool_get(db, "apex", &p) == 0 &&
	    p.conf.policy == POLICY_RACE &&
	    p.conf.good == (1 << GOOD_ANSWER | 1 << GOOD_NXDOMAIN));
	/* An answer with records is always good: a set without it is
	 * refused. */
	p.conf.good = 1 << GOOD_NXDOMAIN;
	CHECK(db_pool_update(db, &p) == -1);
	p.conf.policy = POLICY_LEAST_OUTSTANDING;
	p.conf.good = 1 << GOOD_ANSWER;
	p.conf.tc_retry = NO;
	CHECK(db_pool_update(db, &p) == 0);
	snprintf(p.name, sizeof(p.name), "web");
	CHECK(db_pool_update(db, &p) == -1);
	CHECK(strcmp(db_errmsg(db), "pool \"web\" exists") == 0);
	CHECK(db_pool_foreach(db, pool_names_cb, names) == 0);
	CHECKF(strcmp(names, "apex:3 web:0 ") == 0, "%s", names);

	other = add_pool(db, "other");
	rid = add_route(db, "^www\\.", 0, web);
	r2 = add_route(db, "^mail\\.", 0, web);
	CHECK(db_route_using_pool(db, web, &other) == 0 && other == rid);
	CHECK(db_pool_del(db, web) == -1);
	snprintf(want, sizeof(want), "pool \"web\" is used by route %" PRId64,
	    rid);
	CHECKF(strcmp(db_errmsg(db), want) == 0, "%s", db_errmsg(db));
	CHECK(db_route_del(db, rid) == 0);
	CHECK(db_pool_del(db, web) == -1);
	snprintf(want, sizeof(want), "pool \"web\" is used by route %" PRId64,
	    r2);
	CHECKF(strcmp(db_errmsg(db), want) == 0, "%s", db_errmsg(db));
	CHECK(db_route_del(db, r2) == 0);
	CHECK(db_route_using_pool(db, web, &other) == 0 && other == 0);
	CHECK(db_pool_del(db, web) == 0);
	CHECK(db_pool_get(db, "web", &p) == 1);
	CHECK(db_pool_del(db, web) == 1);
	db_close(db);
}

static int
members_cb(int64_t pool, int64_t backend, void *arg)
{
	char buf[64];

	snprintf(buf, sizeof(buf), "%" PRId64 "/%" PRId64 " ", pool, backend);
	strcat(arg, buf);
	return 0;
}

static void
members_expect(struct db *db, const char *want, int line)
{
	char got[512] = "";

	CHECK(db_member_foreach(db, members_cb, got) == 0);
	CHECKF(strcmp(got, want) == 0, "line %d: members \"%s\", want \"%s\"",
	    line, got, want);
}

static void
test_members(void)
{
	struct db *db = open_ok(dbpath("members.db"));
	int64_t a, b, c, pa, pb;
	char want[256];

	/* Ids chosen so that name order differs from id order. */
	c = add_backend(db, "c");
	a = add_backend(db, "a");
	b = add_backend(db, "b");
	pb = add_pool(db, "pb");
	pa = add_pool(db, "pa");
	CHECK(db_member_add(db, pb, c) == 0);
	CHECK(db_member_add(db, pb, a) == 0);
	CHECK(db_member_add(db, pa, b) == 0);
	CHECK(db_member_add(db, pa, b) == 0);		/* again: no error */
	CHECK(db_member_add(db, pa, a) == 0);
	snprintf(want, sizeof(want), "%" PRId64 "/%" PRId64 " %" PRId64 "/%"
	    PRId64 " %" PRId64 "/%" PRId64 " %" PRId64 "/%" PRId64 " ",
	    pa, a, pa, b, pb, a, pb, c);
	members_expect(db, want, __LINE__);

	CHECK(db_member_add(db, 9999, a) == -1);
	CHECKF(strstr(db_errmsg(db), "no such pool") != NULL, "%s",
	    db_errmsg(db));
	CHECK(db_member_add(db, pa, 9999) == -1);
	CHECKF(strstr(db_errmsg(db), "no such backend") != NULL, "%s",
	    db_errmsg(db));

	CHECK(db_member_del(db, pb, c) == 0);
	CHECK(db_member_del(db, pb, c) == 0);
	snprintf(want, sizeof(want), "%" PRId64 "/%" PRId64 " %" PRId64 "/%"
	    PRId64 " %" PRId64 "/%" PRId64 " ", pa, a, pa, b, pb, a);
	members_expect(db, want, __LINE__);

	/* Deleting a backend drops its memberships. */
	CHECK(db_backend_del(db, a) == 0);
	snprintf(want, sizeof(want), "%" PRId64 "/%" PRId64 " ", pa, b);
	members_expect(db, want, __LINE__);
	CHECK(db_member_add(db, pb, b) == 0);
	CHECK(db_member_del_backend(db, b) == 0);
	members_expect(db, "", __LINE__);

	/* So does deleting a pool. */
	CHECK(db_member_add(db, pa, c) == 0);
	CHECK(db_member_add(db, pb, c) == 0);
	CHECK(db_pool_del(db, pa) == 0);
	snprintf(want, sizeof(want), "%" PRId64 "/%" PRId64 " ", pb, c);
	members_expect(db, want, __LINE__);
	db_close(db);
}

struct route_full {
	char	pattern[64];
	char	comment[64];
	int	qtype, action;
	int64_t	pool_id;
	char	pool_name[CONF_NAME_MAX];
};

static int
route_full_cb(const struct db_route *r, void *arg)
{
	struct route_full *f = arg;

	snprintf(f->pattern, sizeof(f->pattern), "%s", r->pattern);
	snprintf(f->comment, sizeof(f->comment), "%s", r->comment);
	f->qtype = r->qtype;
	f->action = r->action;
	f->pool_id = r->pool_id;
	snprintf(f->pool_name, sizeof(f->pool_name), "%s", r->pool_name);
	return 0;
}

static void
test_routes(void)
{
	const char *odd = "^\xff\xfe'\"\\\n\t%s;-- DROP TABLE route;\xc3\xa9$";
	struct db *db = open_ok(dbpath("routes.db"));
	struct route_full f;
	struct db_route r;
	int64_t pool, ida, idb, idx, maxid;

	pool = add_pool(db, "ab");
	ida = add_route(db, "a", 0, pool);
	idb = add_route(db, "b", 0, 0);
	add_route(db, "c", 99, 0);		/* past the end: appends */
	routes_expect(db, "a b c", __LINE__);
	add_route(db, "x", 1, 0);			/* insert at the head */
	routes_expect(db, "x a b c", __LINE__);
	add_route(db, "y", 3, 0);
	routes_expect(db, "x a y b c", __LINE__);
	add_route(db, "z", 5, 0);		/* at N: before the last */
	routes_expect(db, "x a y b z c", __LINE__);
	memset(&r, 0, sizeof(r));
	r.pattern = "bad";
	r.position = -1;
	CHECK(db_route_add(db, &r) == -1);
	r.position = 0;
	r.action = ACTION_POOL;
	r.pool_id = 4242;
	CHECK(db_route_add(db, &r) == -1);
	CHECKF(strstr(db_errmsg(db), "no such pool") != NULL, "%s",
	    db_errmsg(db));
	routes_expect(db, "x a y b z c", __LINE__);

	/* The JOIN fills the pool name for pool routes only. */
	{
		struct routes rs;
		memset(&rs, 0, sizeof(rs));
		db_route_foreach(db, routes_cb, &rs);
		CHECK(rs.id[1] == ida && strcmp(rs.pool[1], "ab") == 0);
		CHECK(rs.id[3] == idb && strcmp(rs.pool[3], "") == 0);
	}

	CHECK(db_route_del(db, idb) == 0);
	routes_expect(db, "x a y z c", __LINE__);
	CHECK(db_route_del(db, idb) == 1);
	CHECK(db_route_del(db, route_id_at(db, 1)) == 0);	/* the head */
	routes_expect(db, "a y z c", __LINE__);
	CHECK(db_route_del(db, route_id_at(db, 4)) == 0);	/* the tail */
	routes_expect(db, "a y z", __LINE__);

	CHECK(db_route_move(db, ida, 3) == 0);
	routes_expect(db, "y z a", __LINE__);
	CHECK(db_route_move(db, ida, 1) == 0);
	routes_expect(db, "a y z", __LINE__);
	CHECK(db_route_move(db, route_id_at(db, 3), 2) == 0);
	routes_expect(db, "a z y", __LINE__);
	CHECK(db_route_move(db, route_id_at(db, 1), 0) == 0);	/* to the end */
	routes_expect(db, "z y a", __LINE__);
	CHECK(db_route_move(db, route_id_at(db, 2), 77) == 0);
	routes_expect(db, "z a y", __LINE__);
	CHECK(db_route_move(db, route_id_at(db, 2), 2) == 0);	/* no-op */
	routes_expect(db, "z a y", __LINE__);
	CHECK(db_route_move(db, 4242, 1) == 1);
	CHECK(db_route_move(db, ida, -3) == -1);
	routes_expect(db, "z a y", __LINE__);

	/* Ids are never reused, not even the highest one after its delete,
	 * nor after a reopen. */
	idx = add_route(db, "last", 0, 0);
	CHECK(db_route_del(db, idx) == 0);
	maxid = add_route(db, "again", 0, 0);
	CHECK(maxid > idx);
	CHECK(db_route_del(db, maxid) == 0);
	db_close(db);
	db = open_ok(dbpath("routes.db"));
	idx = add_route(db, "reopened", 2, 0);
	CHECK(idx > maxid);
	routes_expect(db, "z reopened a y", __LINE__);

	/* Patterns and comments are any bytes but NUL, stored as given. */
	CHECK(db_route_del(db, idx) == 0);
	memset(&r, 0, sizeof(r));
	r.pattern = odd;
	r.comment = "comment \"quoted\" \\ \xe2\x9c\x93 \x01";
	r.qtype = 28;
	r.action = ACTION_NXDOMAIN;
	r.position = 1;
	CHECK(db_route_add(db, &r) == 0 && r.position == 1);
	memset(&f, 0, sizeof(f));
	CHECK(db_route_foreach(db, route_full_cb, &f) == 0);	/* last row */
	CHECK(strcmp(f.pattern, "y") == 0);
	CHECK(route_id_at(db, 1) == r.id);
	CHECK(db_route_move(db, r.id, 0) == 0);
	CHECK(db_route_foreach(db, route_full_cb, &f) == 0);
	CHECK(strcmp(f.pattern, odd) == 0);
	CHECK(strcmp(f.comment,
	    "comment \"quoted\" \\ \xe2\x9c\x93 \x01") == 0);
	CHECK(f.qtype == 28 && f.action == ACTION_NXDOMAIN &&
	    f.pool_id == 0 && f.pool_name[0] == '\0');
	db_close(db);
}

static int
settings_cb(const char *key, const char *val, void *arg)
{
	strcat(arg, key);
	strcat(arg, "=");
	strcat(arg, val);
	strcat(arg, " ");
	return 0;
}

/* A walk stopped every few rows (until 0) gives the routes foreach gives,
 * in order, while other calls use the store between two steps; one freed
 * half way leaves the store usable. */
static void
test_route_walk(void)
{
	struct db *db = open_ok(dbpath("walk.db"));
	struct db_route_walk *w;
	struct routes all, walked;
	char pat[32];
	int i, rc, steps = 0, next = 1;

	for (i = 0; i < 300; i++) {
		snprintf(pat, sizeof(pat), "w%03d", i);
		add_route(db, pat, 0, 0);
	}
	memset(&all, 0, sizeof(all));
	CHECK(db_route_foreach(db, routes_cb, &all) == 0);
	memset(&walked, 0, sizeof(walked));
	CHECK((w = db_route_walk_new(db)) != NULL);
	while ((rc = db_route_walk_next(w, routes_cb, &walked, 0)) == 0) {
		steps++;
		/* The shared statement is free meanwhile. */
		next = 1;
		CHECK(db_route_foreach(db, positions_cb, &next) == 0);
	}
	db_route_walk_free(w);
	CHECK(rc == 1);
	CHECKF(steps >= 300 / 64, "%d steps", steps);
	CHECK(walked.n == all.n && all.n == 300);
	for (i = 0; i < 64; i++)
		CHECKF(walked.id[i] == all.id[i] &&
		    walked.pos[i] == i + 1, "row %d", i);

	CHECK((w = db_route_walk_new(db)) != NULL);
	memset(&walked, 0, sizeof(walked));
	CHECK(db_route_walk_next(w, routes_cb, &walked, 0) == 0);
	db_route_walk_free(w);
	db_route_walk_free(NULL);
	add_route(db, "after", 0, 0);
	next = 1;
	CHECK(db_route_foreach(db, positions_cb, &next) == 0 && next == 302);
	db_close(db);
}

static void
test_settings(void)
{
	struct db *db = open_ok(dbpath("settings.db"));
	char val[16], all[256] = "";

	CHECK(db_setting_get(db, "timeout", val, sizeof(val)) == 1);
	CHECK(db_setting_set(db, "timeout", "2000") == 0);
	CHECK(db_setting_set(db, "default-action", "servfail") == 0);
	CHECK(db_setting_get(db, "timeout", val, sizeof(val)) == 0 &&
	    strcmp(val, "2000") == 0);
	CHECK(db_setting_set(db, "timeout", "") == 0);
	CHECK(db_setting_get(db, "timeout", val, sizeof(val)) == 0 &&
	    strcmp(val, "") == 0);
	CHECK(db_setting_set(db, "timeout", "1500") == 0);
	CHECK(db_setting_foreach(db, settings_cb, all) == 0);
	CHECKF(strcmp(all, "default-action=servfail timeout=1500 ") == 0,
	    "%s", all);
	CHECK(db_setting_set(db, "long", "0123456789abcdefXYZ") == 0);
	CHECK(db_setting_get(db, "long", val, sizeof(val)) == -1);
	CHECK(strstr(db_errmsg(db), "too long") != NULL);
	db_close(db);
}

static int
audit_cb(const struct db_audit *a, void *arg)
{
	strcat(arg, a->command);
	strcat(arg, "/");
	strcat(arg, a->outcome);
	strcat(arg, " ");
	return 0;
}

static int
audit_row_cb(const struct db_audit *a, void *arg)
{
	struct db_audit *v = arg;
	int i = atoi(a->command + 1);

	CHECKF(a->command[0] == 'r' && i >= 0 && i < 37 &&
	    v[i].time_us == a->time_us && v[i].uid == a->uid &&
	    v[i].pid == a->pid && strcmp(v[i].outcome, a->outcome) == 0,
	    "%s", a->command);
	v[i].time_us = -1;	/* seen */
	return 0;
}

/* Rows 16 and 4 a statement and the rest one by one (37): each with its
 * own values, in order. */
static void
test_audit_rows(struct db *db)
{
	struct db_audit v[37];
	char cmd[37][8], got[512], *p;
	int i;

	for (i = 0; i < 37; i++) {
		snprintf(cmd[i], sizeof(cmd[i]), "r%d", i);
		v[i].time_us = 5000 + i * 7;
		v[i].uid = i % 3 - 1;
		v[i].pid = 100 + i;
		v[i].command = cmd[i];
		v[i].outcome = i % 2 ? "ok" : "refused";
	}
	CHECK(db_audit_add_rows(db, v, 37) == 0);
	got[0] = '\0';
	CHECK(db_audit_foreach(db, 37, audit_cb, got) == 0);
	for (i = 0, p = got; i < 37; i++) {
		CHECKF(strncmp(p, cmd[i], strlen(cmd[i])) == 0 &&
		    p[strlen(cmd[i])] == '/', "%d: %s", i, p);
		p = strchr(p, ' ') + 1;
	}
	CHECK(db_audit_foreach(db, 37, audit_row_cb, v) == 0);
	for (i = 0; i < 37; i++)
		CHECKF(v[i].time_us == -1, "row %d", i);
}

static void
test_audit(void)
{
	struct db *db = open_ok(dbpath("audit.db"));
	struct db_audit a;
	char cmd[32], got[512];
	int i;

	for (i = 0; i < 10; i++) {
		snprintf(cmd, sizeof(cmd), "c%d", i);
		a.time_us = 1000 + i;
		a.uid = 0;
		a.pid = 4242;
		a.command = cmd;
		a.outcome = i == 5 ? "pool \"x\" exists" : "ok";
		CHECK(db_audit_add(db, &a) == 0);
	}
	got[0] = '\0';
	CHECK(db_audit_foreach(db, 3, audit_cb, got) == 0);
	CHECKF(strcmp(got, "c7/ok c8/ok c9/ok ") == 0, "%s", got);
	got[0] = '\0';
	CHECK(db_audit_foreach(db, 0, audit_cb, got) == 0);
	CHECK(strncmp(got, "c0/ok c1/ok", 11) == 0 &&
	    strstr(got, "c5/pool \"x\" exists c6") != NULL &&
	    strlen(got) > 0 && strcmp(got + strlen(got) - 6, "c9/ok ") == 0);
	got[0] = '\0';
	CHECK(db_audit_foreach(db, 100, audit_cb, got) == 0);
	CHECK(strncmp(got, "c0/ok", 5) == 0);
	test_audit_rows(db);
	db_close(db);
}

static int
health_cb(const struct db_health_event *ev, void *arg)
{
	char buf[128];

	snprintf(buf, sizeof(buf), "%" PRId64 ":%d:%s>%s:%d:%s ", ev->time_us,
	    ev->ok, ev->from_state ? ev->from_state : "-",
	    ev->to_state ? ev->to_state : "-", ev->rtt_us, ev->detail);
	strcat(arg, buf);
	return 0;
}

static int
health_count(struct db *db, int64_t backend)
{
	char got[4096] = "";
	int n = 0;
	char *p;

	CHECK(db_health_foreach(db, backend, 0, health_cb, got) == 0);
	for (p = got; (p = strchr(p, ' ')) != NULL; p++)
		n++;
	return n;
}

static void
test_health(void)
{
	struct db *db = open_ok(dbpath("health.db"));
	struct db_health_event ev[8];
	int64_t b1, b2;
	char got[1024];
	int i;

	b1 = add_backend(db, "b1");
	b2 = add_backend(db, "b2");
	memset(ev, 0, sizeof(ev));
	for (i = 0; i < 8; i++) {
		ev[i].backend_id = i < 5 ? b1 : b2;
		ev[i].time_us = 100 + i;
		ev[i].ok = i != 2;
		ev[i].rtt_us = i == 2 ? -1 : 300 + i;
		ev[i].detail = i == 2 ? "timeout" : "NOERROR";
	}
	ev[3].from_state = "down";
	ev[3].to_state = "up";
	ev[7].backend_id = 9999;	/* deleted meanwhile: dropped */
	CHECKF(db_health_add(db, ev, 8) == 0, "%s", db_errmsg(db));
	got[0] = '\0';
	CHECK(db_health_foreach(db, b1, 3, health_cb, got) == 0);
	CHECKF(strcmp(got, "102:0:->-:-1:timeout 103:1:down>up:303:NOERROR "
	    "104:1:->-:304:NOERROR ") == 0, "%s", got);
	CHECK(health_count(db, b1) == 5);
	CHECK(health_count(db, b2) == 2);
	CHECK(health_count(db, 9999) == 0);

	/* A bad row fails the whole batch. */
	ev[0].from_state = "up";	/* to_state NULL: CHECK fails */
	CHECK(db_health_add(db, ev, 2) == -1);
	CHECK(health_count(db, b1) == 5);
	ev[0].from_state = NULL;

	/* Checks and state changes are kept apart: 2 of each. */
	CHECK(db_health_prune(db, 2, NULL, 0) == 0);
	CHECK(health_count(db, b1) == 3 && health_count(db, b2) == 2);
	got[0] = '\0';
	CHECK(db_health_foreach(db, b1, 0, health_cb, got) == 0);
	CHECKF(strcmp(got, "102:0:->-:-1:timeout 103:1:down>up:303:NOERROR "
	    "104:1:->-:304:NOERROR ") == 0, "%s", got);
	/* Some backends only (the daemon prunes a slice at a time). */
	CHECK(db_health_prune(db, 1, &b2, 1) == 0);
	CHECK(health_count(db, b1) == 3 && health_count(db, b2) == 1);
	CHECK(db_health_prune(db, 1, NULL, 0) == 0);
	CHECK(health_count(db, b1) == 2 && health_count(db, b2) == 1);
	got[0] = '\0';
	CHECK(db_health_foreach(db, b1, 0, health_cb, got) == 0);
	CHECKF(strcmp(got, "103:1:down>up:303:NOERROR 104:1:->-:304:NOERROR ")
	    == 0, "%s", got);
	CHECK(db_health_prune(db, -1, NULL, 0) == -1);
	CHECK(db_health_add(db, ev, 0) == 0);

	/* A backend's events go with it. */
	CHECK(db_backend_del(db, b2) == 0);
	CHECK(health_count(db, b2) == 0);
	CHECK(db_health_prune(db, 0, NULL, 0) == 0);
	CHECK(health_count(db, b1) == 0);
	db_close(db);
}

static int
reg_cb(const struct db_registration *r, void *arg)
{
	char *got = arg;

	snprintf(got + strlen(got), 1024 - strlen(got), "%s=%s,%s@%lld ",
	    r->name, r->addr, r->pattern, (long long)r->create_revision);
	return 0;
}

static int64_t
put_reg(struct db *db, const char *id, const char *pattern, int64_t crev,
    int64_t mrev)
{
	struct db_registration r;
	char key[64];

	memset(&r, 0, sizeof(r));
	snprintf(key, sizeof(key), "/dnsrouter/%s", id);
	r.key = key;
	snprintf(r.name, sizeof(r.name), "etcd:%s", id);
	snprintf(r.addr, sizeof(r.addr), "127.0.0.1:53");
	r.pattern = pattern;
	r.create_revision = crev;
	r.mod_revision = mrev;
	CHECKF(db_reg_put(db, &r) == 0, "%s", db_errmsg(db));
	return r.id;
}

/* Registrations from etcd: upsert by key keeping the id, route order,
 * deletes, and the health history of a registered backend (id minus the
 * registration's), which goes with the registration. */
static void
test_registrations(void)
{
	struct db *db = open_ok(dbpath("reg.db"));
	struct db_health_event ev;
	char got[1024], val[64];
	int64_t a, b, a2;
	int n;

	CHECK(db_begin(db) == 0);
	a = put_reg(db, "a", "^a", 20, 20);
	b = put_reg(db, "b", "^b", 10, 10);
	CHECK(a > 0 && b > a);
	a2 = put_reg(db, "a", "^a2", 20, 25);
	CHECK(a2 == a);
	CHECK(db_commit(db) == 0);
	got[0] = '\0';
	CHECK(db_reg_foreach(db, reg_cb, got) == 0);
	CHECKF(strcmp(got, "etcd:b=127.0.0.1:53,^b@10 "
	    "etcd:a=127.0.0.1:53,^a2@20 ") == 0, "%s", got);
	CHECK(db_reg_count(db, &n) == 0 && n == 2);

	memset(&ev, 0, sizeof(ev));
	ev.backend_id = -a;
	ev.time_us = 1;
	ev.ok = 1;
	ev.detail = "NOERROR";
	CHECKF(db_health_add(db, &ev, 1) == 0, "%s", db_errmsg(db));
	CHECK(health_count(db, -a) == 1);
	ev.backend_id = -(b + 100);	/* no such registration: dropped */
	CHECK(db_health_add(db, &ev, 1) == 0);
	CHECK(health_count(db, -(b + 100)) == 0);
	CHECK(db_health_prune(db, 0, NULL, 0) == 0);
	CHECK(health_count(db, -a) == 0);
	CHECK(db_health_add(db, &ev, 1) == 0);
	ev.backend_id = -a;
	CHECK(db_health_add(db, &ev, 1) == 0);
	CHECK(db_reg_del(db, "/dnsrouter/a") == 0);
	CHECK(health_count(db, -a) == 0);
	CHECK(db_reg_del(db, "/dnsrouter/a") == 1);
	CHECK(db_reg_clear(db, &n) == 0 && n == 1);
	CHECK(db_reg_count(db, &n) == 0 && n == 0);

	CHECK(db_state_get(db, "router-id", val, sizeof(val)) == 1);
	CHECK(db_state_set(db, "router-id", "r1") == 0);
	CHECK(db_state_set(db, "router-id", "r2") == 0);
	CHECK(db_state_get(db, "router-id", val, sizeof(val)) == 0 &&
	    strcmp(val, "r2") == 0);
	db_close(db);
}

/* A store made by the first release (schema version 1, no migrations)
 * takes the migrations at open and keeps every row, health history
 * included, which still goes with its backend; the route table, made
 * again, keeps its ids, and never gives one twice. */
static int
key_cb(const struct db_key *k, int users, void *arg)
{
	char buf[CONF_KEY_MAX + CONF_SECRET_B64 + 32];

	snprintf(buf, sizeof(buf), "%s:%d:%s:%d ", k->name, k->alg, k->secret,
	    users);
	strcat(arg, buf);
	return 0;
}

static int
route_update_cb(const struct db_route *r, void *arg)
{
	int *seen = arg;

	*seen = r->opcode * 10 + r->tsig;
	return 0;
}

/* TSIG keys, a backend's key, a fanout pool's confirm, an UPDATE route;
 * and the store and its WAL are the daemon's alone. */
static void
test_keys(void)
{
	const char *path = dbpath("keys.db");
	struct db *db = open_ok(path);
	struct db_key k;
	struct db_backend b, c;
	struct db_pool p, q;
	struct db_route r;
	struct stat st;
	char list[1024] = "", wal[160];
	int seen = -1;

	memset(&k, 0, sizeof(k));
	snprintf(k.name, sizeof(k.name), "k1.");
	k.alg = TSIG_HMAC_SHA256;
	snprintf(k.secret, sizeof(k.secret), "c2VjcmV0");
	CHECK(db_key_add(db, &k) == 0 && k.id > 0);
	CHECK(db_key_add(db, &k) == -1 &&
	    strcmp(db_errmsg(db), "key \"k1.\" exists") == 0);
	snprintf(k.name, sizeof(k.name), "k0.");
	k.alg = TSIG_HMAC_MD5;
	CHECK(db_key_add(db, &k) == 0);
	k.alg = TSIG_HMAC_SHA512;
	snprintf(k.secret, sizeof(k.secret), "bmV3");
	CHECK(db_key_set(db, &k) == 0);
	snprintf(k.name, sizeof(k.name), "nope.");
	CHECK(db_key_set(db, &k) == 1 && db_key_del(db, "nope.") == 1);
	CHECK(db_key_get(db, "k0.", &k) == 0 && k.alg == TSIG_HMAC_SHA512 &&
	    strcmp(k.secret, "bmV3") == 0 && db_key_get(db, "x.", &k) == 1);

	/* A backend's key, by name; a key in use cannot go. */
	backend_init(&b, "ns1", "127.0.0.1:53");
	snprintf(b.conf.key, sizeof(b.conf.key), "k1.");
	CHECK(db_backend_add(db, &b) == 0);
	CHECK(db_backend_get(db, "ns1", &c) == 0 &&
	    strcmp(c.conf.key, "k1.") == 0);
	CHECK(db_key_foreach(db, key_cb, list) == 0);
	CHECKF(strcmp(list, "k0.:5:bmV3:0 k1.:3:c2VjcmV0:1 ") == 0, "%s",
	    list);
	CHECK(db_key_del(db, "k1.") == -1);
	CHECKF(strcmp(db_errmsg(db), "key \"k1.\" is used by backend ns1 "
	    "(backend set ns1 key - first)") == 0, "%s", db_errmsg(db));
	c.conf.key[0] = '\0';
	CHECK(db_backend_update(db, &c) == 0 && db_key_del(db, "k1.") == 0);
	CHECK(db_backend_get(db, "ns1", &c) == 0 && c.conf.key[0] == '\0');

	/* A fanout pool answers by confirm; a route by opcode and tsig. */
	memset(&p, 0, sizeof(p));
	snprintf(p.name, sizeof(p.name), "up");
	p.conf.policy = POLICY_FANOUT;
	p.conf.good = 1 << GOOD_ANSWER;
	p.conf.confirm = CONFIRM_ANY;
	CHECK(db_pool_add(db, &p) == 0);
	CHECK(db_pool_get(db, "up", &q) == 0 && q.conf.confirm == CONFIRM_ANY);
	memset(&r, 0, sizeof(r));
	r.pattern = "^example\\.$";
	r.action = ACTION_POOL;
	r.pool_id = p.id;
	r.comment = "";
	r.opcode = ROUTE_UPDATE;
	r.tsig = TSIG_OPTIONAL;
	CHECK(db_route_add(db, &r) == 0);
	CHECK(db_route_get(db, r.id, route_update_cb, &seen) == 0 &&
	    seen == ROUTE_UPDATE * 10 + TSIG_OPTIONAL);
	r.opcode = 7;
	CHECK(db_route_update(db, &r) == -1);
	db_close(db);

	CHECK(stat(path, &st) == 0 && (st.st_mode & 077) == 0);
	/* An older store open to others is made private at open. */
	CHECK(chmod(path, 0644) == 0);
	db = open_ok(path);
	snprintf(wal, sizeof(wal), "%s-wal", path);
	CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600);
	CHECK(stat(wal, &st) == 0 && (st.st_mode & 077) == 0);
	db_close(db);
}

static void
test_upgrade(void)
{
	const char *path = dbpath("v1.db");
	struct db *db;
	sqlite3 *h;
	char *msg = NULL;
	int64_t id;

	CHECK(sqlite3_open(path, &h) == SQLITE_OK);
	CHECKF(sqlite3_exec(h, db_schema_sql, NULL, NULL, &msg) == SQLITE_OK,
	    "%s", msg ? msg : "");
	sqlite3_free(msg);
	CHECK(sqlite3_exec(h, "INSERT INTO backend (name, addr) VALUES "
	    "('old', '127.0.0.1:53'); INSERT INTO health_event (backend_id, "
	    "time_us, ok, detail) VALUES (1, 5, 1, 'NOERROR'); "
	    "INSERT INTO pool (name) VALUES ('p'); "
	    "INSERT INTO route (id, position, pattern, action) VALUES "
	    "(9, 2, '^gone', 'drop'); "
	    "INSERT INTO route (id, position, pattern, action, pool_id) VALUES "
	    "(7, 1, '^kept', 'pool', 1); "
	    "DELETE FROM route WHERE id = 9", NULL, NULL,
	    NULL) == SQLITE_OK);
	sqlite3_close(h);
	CHECK(pragma_long(path, "user_version") == 1);
	db = open_ok(path);
	CHECK(pragma_long(path, "user_version") == 1 + db_migrations_len);
	id = add_backend(db, "new");
	CHECK(id == 2);
	CHECK(health_count(db, 1) == 1);
	CHECK(db_backend_del(db, 1) == 0);
	CHECK(health_count(db, 1) == 0);
	CHECK(put_reg(db, "x", "^x", 1, 1) > 0);
	routes_expect(db, "^kept", __LINE__);
	CHECK(add_route(db, "^new", 1, 1) == 10);
	routes_expect(db, "^new ^kept", __LINE__);
	db_close(db);
}

static void
test_savepoints(void)
{
	struct db *db = open_ok(dbpath("tx.db"));
	struct db_backend b;

	CHECK(db_begin(db) == 0 && db_in_transaction(db));
	CHECK(db_savepoint(db) == 0);
	add_backend(db, "kept");
	CHECK(db_release(db) == 0);
	CHECK(db_savepoint(db) == 0);
	add_backend(db, "undone");
	add_route(db, "undone", 0, 0);
	CHECK(db_rollback_savepoint(db) == 0);
	CHECK(db_in_transaction(db));
	/* A command that fails half-way leaves nothing either. */
	CHECK(db_savepoint(db) == 0);
	add_backend(db, "half");
	backend_init(&b, "kept", "127.0.0.1");
	CHECK(db_backend_add(db, &b) == -1);
	CHECK(db_rollback_savepoint(db) == 0);
	CHECK(db_savepoint(db) == 0);
	add_route(db, "r1", 0, 0);
	CHECK(db_release(db) == 0);
	CHECK(db_commit(db) == 0 && !db_in_transaction(db));
	CHECK(db_backend_get(db, "kept", &b) == 0);
	CHECK(db_backend_get(db, "undone", &b) == 1);
	CHECK(db_backend_get(db, "half", &b) == 1);
	routes_expect(db, "r1", __LINE__);

	/* A whole transaction rolled back. */
	CHECK(db_begin(db) == 0);
	add_backend(db, "gone");
	add_route(db, "r2", 1, 0);
	CHECK(db_setting_set(db, "k", "v") == 0);
	CHECK(db_begin(db) == -1);		/* no nesting */
	CHECK(db_rollback(db) == 0 && !db_in_transaction(db));
	CHECK(db_rollback(db) == 0);	/* nothing to do: not an error */
	CHECK(db_backend_get(db, "gone", &b) == 1);
	routes_expect(db, "r1", __LINE__);
	{
		char v[8];
		CHECK(db_setting_get(db, "k", v, sizeof(v)) == 1);
	}
	db_close(db);
}

static int
stop_cb(const struct db_route *r, void *arg)
{
	(*(int *)arg)++;
	return r->position == 2 ? 7 : 0;
}

static int
nested_cb(const struct db_route *r, void *arg)
{
	struct db *db = arg;
	int n;

	(void)r;
	/* A different statement is fine; the same one is refused. */
	CHECK(db_route_count(db, &n) == 0 && n == 3);
	CHECK(db_route_foreach(db, nested_cb, db) == -1);
	CHECK(strstr(db_errmsg(db), "nested") != NULL);
	return 1;
}

static void
test_foreach_stop(void)
{
	struct db *db = open_ok(dbpath("stop.db"));
	int calls = 0;

	add_route(db, "1", 0, 0);
	add_route(db, "2", 0, 0);
	add_route(db, "3", 0, 0);
	CHECK(db_route_foreach(db, stop_cb, &calls) == 7 && calls == 2);
	CHECK(db_route_foreach(db, nested_cb, db) == 1);
	/* The statement was reset: it runs again from the start. */
	calls = 0;
	CHECK(db_route_foreach(db, stop_cb, &calls) == 7 && calls == 2);
	db_close(db);
}

/* Children for the crash test: each opens the store itself, so the lock
 * and the connection are its own and die with it. */
struct crash {
	const char	*path;
	/* 0: _exit mid-transaction, 1: SIGKILL mid-transaction,
	 * 2: commit, then SIGKILL */
	int		 how;
};

static void
child_crash(void *arg)
{
	struct crash *c = arg;
	char err[512], pat[32];
	struct db *db;
	int i;

	if ((db = db_open(c->path, err, sizeof(err))) == NULL)
		_exit(3);
	if (db_begin(db) == -1)
		_exit(4);
	for (i = 0; i < 1000; i++) {
		snprintf(pat, sizeof(pat), "^crash%d-%d\\.", c->how, i);
		if (add_route(db, pat, i % 3 == 0 ? 1 : 0, 0) == 0)
			_exit(5);
	}
	if (c->how == 0)
		_exit(0);
	if (c->how == 2 && db_commit(db) == -1)
		_exit(6);
	raise(SIGKILL);
	_exit(7);
}

static void
test_crash(void)
{
	struct crash c;
	struct db *db;
	int status, before;

	c.path = dbpath("crash.db");
	db = open_ok(c.path);
	add_route(db, "before", 0, 0);
	before = route_count(db);
	db_close(db);

	c.how = 0;
	status = in_child(child_crash, &c);
	CHECKF(WIFEXITED(status) && WEXITSTATUS(status) == 0, "status %d",
	    status);
	db = open_ok(c.path);
	CHECK(route_count(db) == before);
	db_close(db);

	c.how = 1;
	status = in_child(child_crash, &c);
	CHECKF(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL,
	    "status %d", status);
	db = open_ok(c.path);
	CHECK(route_count(db) == before);
	db_close(db);

	c.how = 2;
	status = in_child(child_crash, &c);
	CHECKF(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL,
	    "status %d", status);
	db = open_ok(c.path);
	CHECK(route_count(db) == before + 1000);
	routes_expect_n(db, before + 1000);
	db_close(db);
}

/*
 * A full disk, simulated by a VFS that wraps the default one: while
 * disk_full is set, a write that would grow a file fails with SQLITE_FULL,
 * as ENOSPC does (writes into space a file already has still succeed).
 * A file-size rlimit cannot stand in: SQLite retries the short write, gets
 * EFBIG and calls that an I/O error.
 */
static sqlite3_vfs *real_vfs, full_vfs;
static int disk_full;

struct full_file {
	sqlite3_file	 base;
	sqlite3_file	*real;		/* follows this struct */
};

#define REAL(f)	(((struct full_file *)(f))->real)

static int
ff_close(sqlite3_file *f)
{
	return REAL(f)->pMethods->xClose(REAL(f));
}

static int
ff_read(sqlite3_file *f, void *buf, int n, sqlite3_int64 off)
{
	return REAL(f)->pMethods->xRead(REAL(f), buf, n, off);
}

static int
ff_write(sqlite3_file *f, const void *buf, int n, sqlite3_int64 off)
{
	sqlite3_int64 size;

	if (disk_full &&
	    REAL(f)->pMethods->xFileSize(REAL(f), &size) == SQLITE_OK &&
	    off + n > size)
		return SQLITE_FULL;
	return REAL(f)->pMethods->xWrite(REAL(f), buf, n, off);
}

static int
ff_truncate(sqlite3_file *f, sqlite3_int64 size)
{
	return REAL(f)->pMethods->xTruncate(REAL(f), size);
}

static int
ff_sync(sqlite3_file *f, int flags)
{
	return REAL(f)->pMethods->xSync(REAL(f), flags);
}

static int
ff_size(sqlite3_file *f, sqlite3_int64 *size)
{
	return REAL(f)->pMethods->xFileSize(REAL(f), size);
}

static int
ff_lock(sqlite3_file *f, int l)
{
	return REAL(f)->pMethods->xLock(REAL(f), l);
}

static int
ff_unlock(sqlite3_file *f, int l)
{
	return REAL(f)->pMethods->xUnlock(REAL(f), l);
}

static int
ff_reserved(sqlite3_file *f, int *out)
{
	return REAL(f)->pMethods->xCheckReservedLock(REAL(f), out);
}

static int
ff_fcntl(sqlite3_file *f, int op, void *arg)
{
	return REAL(f)->pMethods->xFileControl(REAL(f), op, arg);
}

static int
ff_sector(sqlite3_file *f)
{
	return REAL(f)->pMethods->xSectorSize(REAL(f));
}

static int
ff_devchar(sqlite3_file *f)
{
	return REAL(f)->pMethods->xDeviceCharacteristics(REAL(f));
}

static int
ff_shmmap(sqlite3_file *f, int pg, int sz, int ext, void volatile **pp)
{
	return REAL(f)->pMethods->xShmMap(REAL(f), pg, sz, ext, pp);
}

static int
ff_shmlock(sqlite3_file *f, int off, int n, int flags)
{
	return REAL(f)->pMethods->xShmLock(REAL(f), off, n, flags);
}

static void
ff_shmbarrier(sqlite3_file *f)
{
	REAL(f)->pMethods->xShmBarrier(REAL(f));
}

static int
ff_shmunmap(sqlite3_file *f, int del)
{
	return REAL(f)->pMethods->xShmUnmap(REAL(f), del);
}

static const sqlite3_io_methods ff_methods = {
	2, ff_close, ff_read, ff_write, ff_truncate, ff_sync, ff_size,
	ff_lock, ff_unlock, ff_reserved, ff_fcntl, ff_sector, ff_devchar,
	ff_shmmap, ff_shmlock, ff_shmbarrier, ff_shmunmap, NULL, NULL
};

static int
ff_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *f, int flags,
    int *outflags)
{
	struct full_file *ff = (struct full_file *)f;
	int rc;

	(void)vfs;
	ff->real = (sqlite3_file *)(ff + 1);
	rc = real_vfs->xOpen(real_vfs, name, ff->real, flags, outflags);
	/* SQLite calls xClose only when pMethods is set. */
	f->pMethods = ff->real->pMethods != NULL ? &ff_methods : NULL;
	return rc;
}

static void
full_vfs_register(void)
{
	real_vfs = sqlite3_vfs_find(NULL);
	full_vfs = *real_vfs;
	full_vfs.zName = "diskfull";
	full_vfs.szOsFile = (int)sizeof(struct full_file) + real_vfs->szOsFile;
	full_vfs.xOpen = ff_open;
	full_vfs.pNext = NULL;
	CHECK(sqlite3_vfs_register(&full_vfs, 1) == SQLITE_OK);
}

static void
full_vfs_unregister(void)
{
	sqlite3_vfs_unregister(&full_vfs);
	sqlite3_vfs_register(real_vfs, 1);
}

static void
test_full(void)
{
	const char *path = dbpath("full.db");
	char comment[256];
	struct db_route r;
	struct db *db;
	int i, rc;

	full_vfs_register();
	db = open_ok(path);
	add_route(db, "kept", 0, 0);

	/* One command outside a transaction. */
	disk_full = 1;
	memset(&r, 0, sizeof(r));
	r.pattern = "lost";
	r.action = ACTION_DROP;
	CHECK(db_route_add(db, &r) == -1);
	CHECKF(strcmp(db_errmsg(db), "database or disk is full") == 0, "%s",
	    db_errmsg(db));
	CHECK(!db_in_transaction(db));
	routes_expect(db, "kept", __LINE__);

	/* A small transaction: the commit is what fails. */
	CHECK(db_begin(db) == 0);
	add_route(db, "lost", 1, 0);
	CHECK(db_commit(db) == -1);
	CHECKF(strcmp(db_errmsg(db), "database or disk is full") == 0, "%s",
	    db_errmsg(db));
	CHECK(db_rollback(db) == 0 && !db_in_transaction(db));
	routes_expect(db, "kept", __LINE__);

	/* A big one: the page cache spills mid-statement. */
	memset(comment, 'c', sizeof(comment) - 1);
	comment[sizeof(comment) - 1] = '\0';
	CHECK(db_begin(db) == 0);
	CHECK(db_savepoint(db) == 0);
	for (i = 0, rc = 0; i < 50000 && rc == 0; i++) {
		memset(&r, 0, sizeof(r));
		r.pattern = "^filler\\.";
		r.action = ACTION_DROP;
		r.comment = comment;
		rc = db_route_add(db, &r);
	}
	if (rc == 0) {
		CHECK(db_release(db) == 0);
		rc = db_commit(db);
	}
	CHECK(rc == -1);
	CHECKF(strcmp(db_errmsg(db), "database or disk is full") == 0, "%s",
	    db_errmsg(db));
	db_rollback_savepoint(db);	/* may say the whole txn is gone */
	CHECK(db_rollback(db) == 0 && !db_in_transaction(db));
	routes_expect(db, "kept", __LINE__);

	/* Space again: the store works and nothing of the above shows. */
	disk_full = 0;
	add_route(db, "after", 0, 0);
	routes_expect(db, "kept after", __LINE__);
	db_close(db);
	full_vfs_unregister();
	db = open_ok(path);
	routes_expect(db, "kept after", __LINE__);
	db_close(db);
}

static void
test_speed(void)
{
	struct db *db = open_ok(dbpath("speed.db"));
	char pat[64];
	uint64_t t0, t1;
	int64_t pool;
	int i, ok = 1, n;

	pool = add_pool(db, "p");
	t0 = now_us();
	CHECK(db_begin(db) == 0);
	for (i = 0; i < 10000 && ok; i++) {
		struct db_route r;

		snprintf(pat, sizeof(pat), "^host%05d\\.example\\.com\\.$", i);
		memset(&r, 0, sizeof(r));
		r.pattern = pat;
		r.action = i % 2 ? ACTION_POOL : ACTION_NXDOMAIN;
		r.pool_id = pool;
		r.comment = "bulk";
		ok = db_route_add(db, &r) == 0 && r.position == i + 1;
	}
	CHECKF(ok, "add %d: %s", i, db_errmsg(db));
	CHECK(db_commit(db) == 0);
	t1 = now_us();
	printf("10000 route adds: %" PRIu64 " ms\n", (t1 - t0) / 1000);
	CHECK(db_route_count(db, &n) == 0 && n == 10000);

	/* Moving the last route to the front shifts all of them. */
	t0 = now_us();
	CHECK(db_route_move(db, route_id_at(db, 10000), 1) == 0);
	t1 = now_us();
	printf("move across 10000 routes: %" PRIu64 " ms\n", (t1 - t0) / 1000);
	CHECK(db_route_count(db, &n) == 0 && n == 10000);
	db_close(db);
}

static void
cleanup(void)
{
	char path[512];
	struct dirent *de;
	DIR *d;

	if ((d = opendir(tmpdir)) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", tmpdir, de->d_name);
		unlink(path);
	}
	closedir(d);
	rmdir(tmpdir);
}

int
main(void)
{
	const char *base = getenv("TMPDIR");

	log_init("test_db", 0, LOG_LVL_WARN);
	snprintf(tmpdir, sizeof(tmpdir), "%s/test_db.XXXXXX",
	    base != NULL && strlen(base) < 40 ? base : "/tmp");
	if (mkdtemp(tmpdir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	test_create_reopen();
	test_lock();
	test_corrupt();
	test_foreign_and_newer();
	test_memory();
	test_backends();
	test_pools();
	test_members();
	test_routes();
	test_route_walk();
	test_settings();
	test_audit();
	test_health();
	test_registrations();
	test_keys();
	test_upgrade();
	test_savepoints();
	test_foreach_stop();
	test_crash();
	test_full();
	test_speed();
	cleanup();
	UNIT_DONE(UNIT_NAME);
}

-- dnsroute store, schema version 9: what schema.sql and the
-- migrations make, in one piece, for a new store.  An older store takes
-- the migrations it lacks (daemon/db_open.c).  Each statement is SQLite's
-- own text of the migrated schema, comments and all.  Do not edit: after
-- a new migration, tests/unit/test_migrate fails until this file is made
-- again with
--	tests/unit/test_migrate --print > sql/latest.sql
PRAGMA application_id = 1145983826;

CREATE TABLE backend (
	id		INTEGER PRIMARY KEY AUTOINCREMENT,
	name		TEXT NOT NULL UNIQUE CHECK (name <> ''),
	addr		TEXT NOT NULL CHECK (addr <> ''),
	transport	TEXT NOT NULL DEFAULT 'udp'
			    CHECK (transport IN ('udp', 'tcp')),
	weight		INTEGER NOT NULL DEFAULT 1
			    CHECK (weight BETWEEN 1 AND 1000),
	admin		TEXT NOT NULL DEFAULT 'enabled'
			    CHECK (admin IN ('enabled', 'drained', 'disabled')),
	check_qname	TEXT NOT NULL DEFAULT 'id.server.'
			    CHECK (check_qname <> ''),
	check_qtype	INTEGER NOT NULL DEFAULT 16
			    CHECK (check_qtype BETWEEN 1 AND 65535),
	check_qclass	INTEGER NOT NULL DEFAULT 3
			    CHECK (check_qclass BETWEEN 1 AND 65535),
	check_tcp	INTEGER NOT NULL DEFAULT 1 CHECK (check_tcp IN (0, 1)),
	-- -1: any rcode counts as an answer; else the (extended) rcode wanted.
	check_rcode	INTEGER NOT NULL DEFAULT -1
			    CHECK (check_rcode BETWEEN -1 AND 4095),
	interval_ms	INTEGER NOT NULL DEFAULT 5000 CHECK (interval_ms > 0),
	timeout_ms	INTEGER NOT NULL DEFAULT 1000 CHECK (timeout_ms > 0),
	fall		INTEGER NOT NULL DEFAULT 3 CHECK (fall >= 1),
	rise		INTEGER NOT NULL DEFAULT 2 CHECK (rise >= 1)
, key_id INTEGER REFERENCES tsig_key (id), client_addr TEXT NOT NULL DEFAULT 'off'
    CHECK (client_addr IN ('off', 'ecs', 'proxy')));

CREATE TABLE pool (
	id		INTEGER PRIMARY KEY AUTOINCREMENT,
	name		TEXT NOT NULL UNIQUE CHECK (name <> ''),
	policy		TEXT NOT NULL DEFAULT 'roundrobin'
			    CHECK (policy IN ('roundrobin', 'weighted', 'first',
			    'least-outstanding', 'race', 'fanout'))
, confirm TEXT NOT NULL DEFAULT 'all'
    CHECK (confirm IN ('all', 'any')), good TEXT NOT NULL DEFAULT 'answer'
    CHECK (good IN ('answer', 'answer,nodata', 'answer,nxdomain',
    'answer,nodata,nxdomain')), tc_retry TEXT NOT NULL DEFAULT 'no'
    CHECK (tc_retry IN ('no', 'yes')));

CREATE TABLE pool_member (
	pool_id		INTEGER NOT NULL
			    REFERENCES pool (id) ON DELETE CASCADE,
	backend_id	INTEGER NOT NULL
			    REFERENCES backend (id) ON DELETE CASCADE,
	PRIMARY KEY (pool_id, backend_id)
) WITHOUT ROWID;

CREATE INDEX pool_member_backend ON pool_member (backend_id);

CREATE TABLE setting (
	key		TEXT PRIMARY KEY NOT NULL,
	value		TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE audit (
	id		INTEGER PRIMARY KEY,
	time_us		INTEGER NOT NULL,	-- wall clock, usec since epoch
	uid		INTEGER NOT NULL,
	pid		INTEGER NOT NULL,
	command		TEXT NOT NULL,
	outcome		TEXT NOT NULL		-- "ok" or the error text
);

CREATE TABLE registration (
	id		INTEGER PRIMARY KEY AUTOINCREMENT,
	key		TEXT NOT NULL UNIQUE CHECK (key <> ''),
	name		TEXT NOT NULL UNIQUE CHECK (name <> ''),
	addr		TEXT NOT NULL CHECK (addr <> ''),
	pattern		TEXT NOT NULL CHECK (pattern <> ''),
	create_revision	INTEGER NOT NULL CHECK (create_revision > 0),
	mod_revision	INTEGER NOT NULL CHECK (mod_revision > 0),
	lease		INTEGER NOT NULL DEFAULT 0
);

CREATE INDEX registration_order ON registration (create_revision, key);

CREATE TABLE local_state (
	key		TEXT PRIMARY KEY NOT NULL,
	value		TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE "health_event" (
	id		INTEGER PRIMARY KEY,
	backend_id	INTEGER NOT NULL,
	time_us		INTEGER NOT NULL,
	ok		INTEGER NOT NULL CHECK (ok IN (0, 1)),
	from_state	TEXT,
	to_state	TEXT,
	rtt_us		INTEGER NOT NULL DEFAULT -1 CHECK (rtt_us >= -1),
	detail		TEXT NOT NULL DEFAULT '',
	CHECK ((from_state IS NULL) = (to_state IS NULL))
);

CREATE INDEX health_event_backend ON health_event (backend_id, id);

CREATE TRIGGER backend_health_gone AFTER DELETE ON backend BEGIN
	DELETE FROM health_event WHERE backend_id = old.id;
END;

CREATE TRIGGER registration_health_gone AFTER DELETE ON registration BEGIN
	DELETE FROM health_event WHERE backend_id = -old.id;
END;

CREATE INDEX health_event_kind ON health_event
    (backend_id, (to_state IS NULL), id);

CREATE TABLE tsig_key (
	id		INTEGER PRIMARY KEY AUTOINCREMENT,
	name		TEXT NOT NULL UNIQUE CHECK (name <> ''),
	algorithm	TEXT NOT NULL CHECK (algorithm IN ('hmac-md5',
			    'hmac-sha1', 'hmac-sha224', 'hmac-sha256',
			    'hmac-sha384', 'hmac-sha512')),
	secret		TEXT NOT NULL CHECK (secret <> '')
);

CREATE INDEX backend_key ON backend (key_id);

CREATE TABLE "route" (
	id		INTEGER PRIMARY KEY AUTOINCREMENT,
	position	INTEGER NOT NULL CHECK (position >= 1),
	pattern		TEXT NOT NULL,
	qtype		INTEGER NOT NULL DEFAULT 0
			    CHECK (qtype BETWEEN 0 AND 65535),	-- 0: any
	action		TEXT NOT NULL CHECK (action = 'pool' OR
			    action = 'refuse' OR action = 'nxdomain' OR
			    action = 'servfail' OR action = 'drop'),
	pool_id		INTEGER REFERENCES pool (id),
	comment		TEXT NOT NULL DEFAULT '',
	hits		INTEGER NOT NULL DEFAULT 0 CHECK (hits >= 0),
	opcode		TEXT NOT NULL DEFAULT 'query'
			    CHECK (opcode IN ('query', 'update')),
	tsig		TEXT NOT NULL DEFAULT 'required'
			    CHECK (tsig IN ('required', 'optional')),
	CHECK ((action = 'pool') = (pool_id IS NOT NULL))
);

CREATE INDEX route_position ON route (position);

PRAGMA user_version = 9;

-- dnsroute store, schema version 1: the baseline.
--
-- Migrations.  This file is frozen once released.  Every later change is a
-- file sql/migrations/NNNN-name.sql that takes PRAGMA user_version from
-- NNNN-1 to NNNN; the first one is 0002.  An older database gets the
-- migrations it lacks, in order; a new one gets sql/latest.sql, what this
-- file and every migration make, in one piece (tests/unit/test_migrate
-- holds the two ways to the same schema).  All of it runs in one
-- transaction at start-up: a crash leaves the old version whole.  A
-- migration holds statements only: daemon/db.c sets user_version after it,
-- runs it with foreign_keys off (so a table can be rebuilt the way
-- https://www.sqlite.org/lang_altertable.html describes) and runs PRAGMA
-- foreign_key_check before it commits.  sql/embed.sh embeds this file and
-- the migrations in the daemon and refuses gaps and stray names.
--
-- Enumerations are stored as words, not as the numbers of the C enums in
-- daemon/db.h, so rows read well in the sqlite3 shell and reordering an
-- enum cannot change what a stored row means.  CHECK constraints are a
-- backstop: the command layer validates first and says it better.
--
-- foreign_keys, journal_mode=WAL and synchronous=FULL are set by the daemon
-- on every open: they are not properties of the file (or, for WAL, cannot
-- be set inside the transaction this file runs in).

-- 'DNSR': tells a dnsroute database from someone else's SQLite file.
PRAGMA application_id = 1145983826;

-- Ids of backends, pools and routes are AUTOINCREMENT so they are never
-- reused: the daemon keys live state (health, statistics, the compiled route
-- table) by id, and a deleted row's id must not come back as another row.
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
);

CREATE TABLE pool (
	id		INTEGER PRIMARY KEY AUTOINCREMENT,
	name		TEXT NOT NULL UNIQUE CHECK (name <> ''),
	policy		TEXT NOT NULL DEFAULT 'roundrobin'
			    CHECK (policy IN ('roundrobin', 'weighted', 'first',
			    'least-outstanding', 'race', 'fanout'))
);

-- A backend may be in several pools.  Deleting either side drops the pair.
CREATE TABLE pool_member (
	pool_id		INTEGER NOT NULL
			    REFERENCES pool (id) ON DELETE CASCADE,
	backend_id	INTEGER NOT NULL
			    REFERENCES backend (id) ON DELETE CASCADE,
	PRIMARY KEY (pool_id, backend_id)
) WITHOUT ROWID;
-- The cascade from backend looks members up by backend.
CREATE INDEX pool_member_backend ON pool_member (backend_id);

-- Routes are tried by position, 1..N without gaps (db.c keeps them so).
-- position is not UNIQUE: inserting or moving shifts a range of rows by one
-- in a single UPDATE, and a unique index would trip over the row being
-- shifted onto its neighbour mid-statement.  The pattern and the comment
-- are any text without NUL, stored as given.  A pool named by a route
-- cannot be deleted (no ON DELETE: the default refuses).
CREATE TABLE route (
	id		INTEGER PRIMARY KEY AUTOINCREMENT,
	position	INTEGER NOT NULL CHECK (position >= 1),
	pattern		TEXT NOT NULL,
	qtype		INTEGER NOT NULL DEFAULT 0
			    CHECK (qtype BETWEEN 0 AND 65535),	-- 0: any
	action		TEXT NOT NULL CHECK (action IN
			    ('pool', 'refuse', 'nxdomain', 'servfail', 'drop')),
	pool_id		INTEGER REFERENCES pool (id),
	comment		TEXT NOT NULL DEFAULT '',
	CHECK ((action = 'pool') = (pool_id IS NOT NULL))
);
CREATE INDEX route_position ON route (position);
CREATE INDEX route_pool ON route (pool_id);

-- Settings the operator changed; a key that is absent has its default
-- (common/cmdtab.c, setting_table).
CREATE TABLE setting (
	key		TEXT PRIMARY KEY NOT NULL,
	value		TEXT NOT NULL
) WITHOUT ROWID;

-- Every change, with who asked and what came of it.  Ordered by id.
CREATE TABLE audit (
	id		INTEGER PRIMARY KEY,
	time_us		INTEGER NOT NULL,	-- wall clock, usec since epoch
	uid		INTEGER NOT NULL,
	pid		INTEGER NOT NULL,
	command		TEXT NOT NULL,
	outcome		TEXT NOT NULL		-- "ok" or the error text
);

-- Health checks and state transitions.  The events of a backend go with it
-- when it is deleted (ON DELETE CASCADE): they are reached only through the
-- backend's name, which no longer exists, and a kept orphan would only
-- grow the file.  Ordered by id; pruned to a retention count per backend.
CREATE TABLE health_event (
	id		INTEGER PRIMARY KEY,
	backend_id	INTEGER NOT NULL
			    REFERENCES backend (id) ON DELETE CASCADE,
	time_us		INTEGER NOT NULL,
	ok		INTEGER NOT NULL CHECK (ok IN (0, 1)),
	from_state	TEXT,		-- both NULL for a plain check row
	to_state	TEXT,
	rtt_us		INTEGER NOT NULL DEFAULT -1 CHECK (rtt_us >= -1),
	detail		TEXT NOT NULL DEFAULT '',
	CHECK ((from_state IS NULL) = (to_state IS NULL))
);
CREATE INDEX health_event_backend ON health_event (backend_id, id);

PRAGMA user_version = 1;

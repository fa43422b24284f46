-- 0002: nameservers registered through etcd, the router's own state, and
-- health history for registered backends.
--
-- A registration is an etcd key under the registration prefix (dnsrouted
-- -R, default /dnsrouter/) whose value is the router seed's
-- "ADDR:PORT,REGEX".  Each becomes a backend named "etcd:ID" (ID: the key
-- after the prefix), and the registrations with the same REGEX share one
-- route and one pool.  They are kept here, as etcd last gave them, so that
-- a router restarted while etcd is away serves them; etcd stays their
-- truth: when it is back its copy replaces this one.  Never exported, never
-- changed by a command.  The snapshot gives a registration's backend,
-- pool and route the id -registration.id, so they cannot collide with the
-- operator's (AUTOINCREMENT: never reused, like those).
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
-- Routes are tried in the order their first registration was made.
CREATE INDEX registration_order ON registration (create_revision, key);

-- What this router keeps about itself and never shares: its fleet id, the
-- registration prefix and the etcd revision its registrations reflect.
CREATE TABLE local_state (
	key		TEXT PRIMARY KEY NOT NULL,
	value		TEXT NOT NULL
) WITHOUT ROWID;

-- health_event's backend_id is now either backend.id or, for a registered
-- backend, -registration.id, which a foreign key cannot say: the table is
-- rebuilt without it, and triggers do the cascade it did.
CREATE TABLE health_event_new (
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
INSERT INTO health_event_new (id, backend_id, time_us, ok, from_state,
    to_state, rtt_us, detail)
    SELECT id, backend_id, time_us, ok, from_state, to_state, rtt_us, detail
    FROM health_event;
DROP TABLE health_event;
ALTER TABLE health_event_new RENAME TO health_event;
CREATE INDEX health_event_backend ON health_event (backend_id, id);

CREATE TRIGGER backend_health_gone AFTER DELETE ON backend BEGIN
	DELETE FROM health_event WHERE backend_id = old.id;
END;
CREATE TRIGGER registration_health_gone AFTER DELETE ON registration BEGIN
	DELETE FROM health_event WHERE backend_id = -old.id;
END;

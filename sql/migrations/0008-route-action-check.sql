-- 0008: route.action's CHECK as comparisons.  With a list of more than two
-- words, `action IN (...)` made SQLite build a temporary b-tree of them for
-- every route row written: a third of the cost of a route add.  SQLite
-- cannot change a CHECK in place, and the table's own CHECK names the
-- column, so the table is made again with its rows, ids and positions, and
-- the id sequence, so that an id is never given twice.
CREATE TABLE route_v8 (
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
INSERT INTO route_v8 (id, position, pattern, qtype, action, pool_id,
    comment, hits, opcode, tsig)
    SELECT id, position, pattern, qtype, action, pool_id, comment, hits,
    opcode, tsig FROM route;
DELETE FROM sqlite_sequence WHERE name = 'route_v8';
INSERT INTO sqlite_sequence (name, seq)
    SELECT 'route_v8', seq FROM sqlite_sequence WHERE name = 'route';
DROP TABLE route;
ALTER TABLE route_v8 RENAME TO route;
CREATE INDEX route_position ON route (position);
CREATE INDEX route_pool ON route (pool_id);

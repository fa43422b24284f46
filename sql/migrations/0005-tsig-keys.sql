-- 0005: DNS UPDATE fanned out with TSIG (the ddns-mux seed).
--
-- TSIG keys: a sender's (it signs the UPDATEs it sends the router), or the
-- router's towards a backend (backend.key_id): the same table, since a key
-- is a name, an algorithm and a secret either way; which one it is follows
-- from whether a backend uses it.  The name is stored as peers compare it:
-- lowercase with its final dot.  The secret is the base64 the operator
-- gave; the store file is mode 0600 (daemon/db.c) and `show keys` never
-- prints it.  A key a backend uses cannot be deleted (no ON DELETE: the
-- default refuses).
CREATE TABLE tsig_key (
	id		INTEGER PRIMARY KEY AUTOINCREMENT,
	name		TEXT NOT NULL UNIQUE CHECK (name <> ''),
	algorithm	TEXT NOT NULL CHECK (algorithm IN ('hmac-md5',
			    'hmac-sha1', 'hmac-sha224', 'hmac-sha256',
			    'hmac-sha384', 'hmac-sha512')),
	secret		TEXT NOT NULL CHECK (secret <> '')
);

-- The key that signs what the router sends a backend; NULL: unsigned.
ALTER TABLE backend ADD COLUMN key_id INTEGER REFERENCES tsig_key (id);
CREATE INDEX backend_key ON backend (key_id);

-- A fanout pool answers NOERROR when all its members confirmed, or any.
ALTER TABLE pool ADD COLUMN confirm TEXT NOT NULL DEFAULT 'all'
    CHECK (confirm IN ('all', 'any'));

-- A route matches queries by name, or UPDATEs by their zone; an UPDATE
-- route may take unsigned UPDATEs (tsig optional).
ALTER TABLE route ADD COLUMN opcode TEXT NOT NULL DEFAULT 'query'
    CHECK (opcode IN ('query', 'update'));
ALTER TABLE route ADD COLUMN tsig TEXT NOT NULL DEFAULT 'required'
    CHECK (tsig IN ('required', 'optional'));

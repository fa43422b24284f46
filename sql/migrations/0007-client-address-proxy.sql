-- 0007: client-address proxy (issue 14): a PROXY protocol v2 header with
-- the client's address to the backend, a third value of the column.
-- SQLite cannot change a column's CHECK in place: a new column takes the
-- values, the old one goes (its CHECK with it), the new one takes the name.
ALTER TABLE backend ADD COLUMN client_addr_v7 TEXT NOT NULL DEFAULT 'off'
    CHECK (client_addr_v7 IN ('off', 'ecs', 'proxy'));
UPDATE backend SET client_addr_v7 = client_addr;
ALTER TABLE backend DROP COLUMN client_addr;
ALTER TABLE backend RENAME COLUMN client_addr_v7 TO client_addr;

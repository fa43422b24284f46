-- 0006: the forwarding modes of issue 14: the dnsmus seed's race, a TCP
-- retry on truncation, the client's address to a backend.
--
-- A race pool's winning answers, the words of enum good joined by commas
-- in their order ('answer', 'answer,nxdomain', ...); an answer with
-- records always wins, so every value starts with it.
ALTER TABLE pool ADD COLUMN good TEXT NOT NULL DEFAULT 'answer'
    CHECK (good IN ('answer', 'answer,nodata', 'answer,nxdomain',
    'answer,nodata,nxdomain'));

-- A truncated UDP answer fetched again over TCP by the router (the dnsfwd
-- seed's TCP towards the backends, for the answers that need it).
ALTER TABLE pool ADD COLUMN tc_retry TEXT NOT NULL DEFAULT 'no'
    CHECK (tc_retry IN ('no', 'yes'));

-- A backend may be told the client's address: an EDNS Client Subnet
-- option in each query (off: not).
ALTER TABLE backend ADD COLUMN client_addr TEXT NOT NULL DEFAULT 'off'
    CHECK (client_addr IN ('off', 'ecs'));

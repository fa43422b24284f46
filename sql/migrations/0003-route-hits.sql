-- 0003: route hit counters survive a restart.  The daemon counts hits in
-- memory (per query, without touching the store) and saves them here now
-- and then and when it stops; `show routes` starts from the saved count.
ALTER TABLE route ADD COLUMN hits INTEGER NOT NULL DEFAULT 0
    CHECK (hits >= 0);

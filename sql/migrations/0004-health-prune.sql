-- 0004: an index for pruning the health history.
--
-- The history is pruned per backend and kind (check results apart from
-- state changes, see daemon/db.c): the cut-off is the (retention+1)-th
-- newest row of a backend and kind.  Through the index on (backend_id,
-- id) alone, finding it read every row of the backend to tell the kinds
-- apart: with 1,000 backends and 1,000 rows each a prune took two seconds
-- of the daemon's main thread even when it deleted nothing.  This index
-- holds the kind, so the cut-off is found in the index alone.
CREATE INDEX health_event_kind ON health_event
    (backend_id, (to_state IS NULL), id);

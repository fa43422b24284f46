-- 0009: no index route_pool.  Every route written or removed kept it
-- (about a quarter of a route add's cost: a replace of 10,000 routes
-- writes 10,000 and removes as many), and only a pool del reads route by
-- pool_id (its check for a route that names the pool, and the foreign
-- key's): a scan of the routes, once for each pool removed.
DROP INDEX route_pool;

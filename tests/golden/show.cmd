# show stats, audit, recent, fleet; trace.  No query reaches this daemon,
# which runs without etcd.
show stats
pool add audited
pool add audited
show audit
show audit last 1
show audit last 0
show recent
show recent 5 ^www
show recent 0
show recent 5000
show recent '^[x'
show fleet
show fleet now
trace limit 1 seconds 1
trace client nowhere
trace backend ns-none
trace '^[x'
trace limit 0
show nonsense
show

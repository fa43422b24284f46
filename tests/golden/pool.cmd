# pool add, set, del; show pools.
pool add web
pool add apex policy least-outstanding
pool add web
pool add -bad
pool add x policy fastest
pool add x policy race
pool add x policy
pool set web policy weighted
pool set web policy weighted
pool set web policy fanout
pool set web
pool set nope policy first
show pools
route add ^a\. pool apex
pool del apex
pool del web
pool del web
pool del
show pools

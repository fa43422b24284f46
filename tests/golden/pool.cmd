# pool add, set, del; show pools.
pool add web
pool add apex policy least-outstanding
pool add web
pool add -bad
pool add x policy fastest
pool add x policy race
pool add y policy race good answer,nxdomain
pool add z good answer,nodata
pool add z policy race good nxdomain
pool add z policy race good answer,
pool add x policy
pool set web policy weighted
pool set web policy weighted
pool set web policy fanout
pool set web
pool set web good answer,nodata
pool set x good nodata,answer
pool set x good answer,nodata
pool set x policy first
pool set web tc-retry yes
pool set web tc-retry maybe
pool set nope policy first
show pools
route add ^a\. pool apex
pool del apex
pool del web
pool del web
pool del x
pool del y
pool del
show pools

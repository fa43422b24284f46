# backend add, set, del, drain, undrain, enable, disable, readd; show
# backends and show health.
$ -f backends.in
show backends
show pools
export
backend add ns-c 127.0.0.1:1 pool nope
backend add ns-c 127.0.0.1:1 pool web weight 0
backend add ns-c 127.0.0.1:1 weight 2 weight 3
backend add ns-c 127.0.0.1:1 frob 1
backend add ns-c not-an-address
backend add ns-c
backend add -c 127.0.0.1:1
backend add ns-a 127.0.0.2:1
backend add ns-c 127.0.0.1:1 check
backend add ns-c 127.0.0.1:1 transport sctp
backend add ns-c 127.0.0.1:1 interval 20ms
backend add ns-c 127.0.0.1:1 rcode sometimes
backend set ns-a weight 5 pool apex
backend set ns-a check other. interval 200ms
backend set ns-a pool -
backend set ns-a addr 127.0.0.3
backend set ns-a
backend set ns-z weight 2
backend set ns-a pool nope
show backends
backend drain ns-a
backend undrain ns-a
backend disable ns-a
backend readd ns-a
backend readd ns-z
backend readd all
backend readd
show health ns-a last 1
show health ns-z
show health ns-a last 0
backend del ns-z
backend del
backend del ns-b
show backends
# Enabled, it is checked: no show backends after this, its health moves.
backend enable ns-a
backend enable ns-a
backend drain ns-a
backend drain ns-a
backend undrain ns-a
show audit last 3

# A batch is one transaction; begin, commit and abort on one connection.
$ -f batch.in
$ -f badbatch.in
$ -f dryrun.in --dry-run
$ -f batch.in --dry-run
$ -f reads.in
show pools
$ -H -c 'show pools'
@ begin
@ pool add t1
@ begin
@ route add ^t\. pool t1
@ abort
@ show pools
@ begin
@ pool add t2
@ pool add t2
@ commit
@ commit
@ abort
show pools
$ -H -c 'show pools'
show audit last 4

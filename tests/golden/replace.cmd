# export, replace (dnsroutectl -f FILE --replace sends FILE as the data of
# one request), a dry run, errors that name the line.
export
$ -f state.in --replace --dry-run
export
$ -f state.in --replace
export
show routes
$ -f state.in --replace
$ -f state2.in --replace --dry-run
$ -f state2.in --replace
show routes
export
$ -f bad.in --replace
$ -f ids.in --replace
replace
replace dry-run
show audit last 4

/*
 * dnsnames: the names of DNS types, classes and rcodes, as operators write
 * them in commands and read them in output.  One table for the daemon and
 * dnsroutectl, so what one prints the other parses (export, --replace).
 */
#ifndef DNSNAMES_H
#define DNSNAMES_H

#include <stddef.h>

/* "A", "aaaa", "TYPE65", "65", and the meta types (AXFR, ANY...). */
int		 dnsname_type_parse(const char *, int *);
/* The name, or TYPEn (RFC 3597) for a type without one. */
const char	*dnsname_type_str(int, char *, size_t);
/* "IN", "CH", "HS", "CLASSn". */
int		 dnsname_class_parse(const char *, int *);
const char	*dnsname_class_str(int, char *, size_t);
/* "NOERROR", "servfail", "0".."15". */
int		 dnsname_rcode_parse(const char *, int *);
const char	*dnsname_rcode_str(int, char *, size_t);
/* The i-th name of a table (completion), or NULL past its end. */
enum dnsname_table { DNSNAME_TYPES, DNSNAME_CLASSES, DNSNAME_RCODES };
const char	*dnsname_nth(enum dnsname_table, size_t i);

#endif

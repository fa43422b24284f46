/*
 * registry: nameservers that register themselves through etcd, as the
 * router seed had them.  A key PREFIX + ID whose value is "ADDR[:PORT],REGEX"
 * becomes a backend named etcd:ID and a route for REGEX to a pool of every
 * registered backend with that same REGEX (round robin); deleting the key,
 * or the expiry of the lease it was written with, removes them.
 *
 * The registry mirrors the prefix (etcd_sync), turns each value into a
 * registration or, when it is malformed, into a count and one log line,
 * and applies what changed to the store's registration table in one
 * transaction, rebuilding and publishing the snapshot as an operator's
 * change does (config_build merges registrations after the operator's
 * routes).  While an operator holds an explicit transaction on the store,
 * changes wait and are applied together when it ends.  The table is the
 * copy a router restarted while etcd is away serves from.
 */
#ifndef REGISTRY_H
#define REGISTRY_H

#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>

#include "db.h"
#include "etcd.h"

#define REG_PREFIX_DEFAULT	"/dnsrouter/"
#define REG_NAME_PREFIX		"etcd:"
/* ID: what the key has after the prefix; "etcd:" + ID is a backend name. */
#define REG_ID_MAX		(CONF_NAME_MAX - (int)sizeof(REG_NAME_PREFIX))
#define REG_PATTERN_MAX		4096

/* A registration's value, parsed. */
struct reg_value {
	char	name[CONF_NAME_MAX];		/* "etcd:ID" */
	char	addr[CONF_ADDR_MAX];		/* normalised "1.2.3.4:53" */
	char	pattern[REG_PATTERN_MAX + 1];
};

/* The seed's format: key is PREFIX + ID (ID: 1..REG_ID_MAX of letters,
 * digits and "-_.:@+=/"), value "ADDR[:PORT],REGEX" (IPv6 in brackets,
 * port 53 when left out; blanks around either part are ignored; the regex
 * is everything after the first comma).  0, or -1 with the reason in err
 * ("no comma between address and regex", "bad address ...").  Whether
 * the regex compiles is the caller's question (PCRE2 lives in route.c). */
int	reg_parse(const char *prefix, const char *key, size_t keylen,
	    const char *val, size_t vallen, struct reg_value *out, char *err,
	    size_t errlen);

struct registry;

/* Before the first snapshot: make the stored registrations fit how the
 * router was started.  Without etcd (prefix NULL) or with another prefix
 * than they came from, they are dropped (logged).  A write first takes
 * the verdict of the integrity check beside the start (db_check_wait):
 * -1 with it in err when the store is corrupt. */
int	registry_prepare_store(struct db *, const char *prefix, char *err,
	    size_t errlen);

struct registry	*registry_new(struct event_base *, struct etcd *,
		    const char *prefix);
void		 registry_free(struct registry *);

struct registry_status {
	const char	*prefix;
	int		 live;		/* etcd's view is current here */
	int64_t		 revision;	/* the etcd revision applied */
	double		 lag_s;		/* how long the view may be stale */
	int		 registrations;	/* applied, in the snapshot */
	int		 routes;
	int		 malformed;	/* keys whose value is malformed now */
	uint64_t	 malformed_total; /* malformed values seen */
	int		 pending;	/* changes waiting to be applied */
	uint64_t	 applied;	/* changes applied */
	int64_t		 applied_us;	/* wall clock of the last one */
	const char	*last_error;
};
void	registry_status(const struct registry *, struct registry_status *);

#endif

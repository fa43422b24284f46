/*
 * cmdtab: the one command table.  dnsrouted dispatches from it; dnsroutectl
 * completes, abbreviates and prints help from it.  Nothing else compares
 * strings against command names.
 */
#ifndef CMDTAB_H
#define CMDTAB_H

#include <stddef.h>

enum cmd_id {
	CMD_BACKEND_ADD, CMD_BACKEND_SET, CMD_BACKEND_DEL, CMD_BACKEND_DRAIN,
	CMD_BACKEND_UNDRAIN, CMD_BACKEND_ENABLE, CMD_BACKEND_DISABLE,
	CMD_BACKEND_READD,
	CMD_POOL_ADD, CMD_POOL_SET, CMD_POOL_DEL,
	CMD_ROUTE_ADD, CMD_ROUTE_DEL, CMD_ROUTE_MOVE, CMD_ROUTE_TEST,
	CMD_ROUTE_LOOKUP, CMD_ZONE_SPLIT, CMD_ZONE_CHECK,
	CMD_SHOW_ROUTES, CMD_SHOW_BACKENDS, CMD_SHOW_POOLS, CMD_SHOW_STATS,
	CMD_SHOW_SETTINGS, CMD_SHOW_HEALTH, CMD_SHOW_AUDIT, CMD_SHOW_RECENT,
	CMD_SHOW_FLEET,
	CMD_TRACE, CMD_SET, CMD_EXPORT, CMD_HELP,
	CMD_BEGIN, CMD_COMMIT, CMD_ABORT, CMD_QUIT,
	CMD__COUNT
};

#define CMD_F_MUTATES	0x01	/* changes state: audited, transactional */
#define CMD_F_STREAM	0x02	/* streams until done or the client leaves */
#define CMD_F_CTLONLY	0x04	/* handled by dnsroutectl itself */

struct cmd_spec {
	enum cmd_id	 id;
	const char	*words;		/* "backend add" */
	const char	*usage;		/* full synopsis */
	const char	*help;		/* one line */
	const char	*example;
	unsigned	 flags;
	/* Completion: positional argument kinds after the words, e.g.
	 * "<backend>" or "<new> <addr>"; kinds are <backend> <pool> <route>
	 * <command> <setting> <qtype> <policy> <n> <new> <regex> <addr> <qname> <file>. */
	const char	*args;
	/* Keywords: "pool=<pool> weight=<n> transport=udp|tcp refuse"; a
	 * keyword without '=' takes no value. */
	const char	*opts;
};

extern const struct cmd_spec cmd_table[];
extern const size_t cmd_table_len;

/* Find the command that argv starts with, allowing unique abbreviation of
 * each word ("sh ro" for "show routes").  Sets *nwords to how many argv
 * words were command words.  Returns NULL with a message in err when none
 * or several match. */
const struct cmd_spec *cmd_lookup(int argc, char *const argv[], int *nwords,
    char *err, size_t errlen);

/* Settings the daemon knows, with their defaults and a line of help. */
struct setting_spec {
	const char	*name;
	const char	*defval;
	const char	*help;
};
extern const struct setting_spec setting_table[];
extern const size_t setting_table_len;
const struct setting_spec *setting_lookup(const char *name);

#endif

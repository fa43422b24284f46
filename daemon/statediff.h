/*
 * statediff: the configured state as plain data (settings, pools,
 * backends with their pools and admin state, routes in order), the
 * commands that build each part of it, and the difference between two
 * states as the commands that turn one into the other.  `export` prints
 * the commands of one state; `replace` applies the difference between the
 * store's state and the one its input builds.  Pure: no store, no I/O
 * (cmd_export.c reads a state from a store), so the diff is unit-tested
 * alone.
 *
 * TSIG keys are state too, but a replace never removes one (an export
 * leaves their secrets out, so an input may not list them): the target
 * holds every current key, changed or joined by the input's.  A fleet's
 * state lists every key with its secret, so its target holds just those,
 * and the keys it lacks go once no backend names them.
 *
 * The difference keeps what it can: a route is paired first with a route
 * equal in everything, then with one of the same pattern (a change of its
 * filter, action or comment, made in place: it keeps its id and hits); the
 * routes on a longest run already in order stay where they are and the
 * others are added, or moved to just after their predecessor.  Changes
 * come in an order the store accepts: settings, keys, new pools,
 * backends (removals first), routes (removals first, last one first), old
 * pools.
 */
#ifndef STATEDIFF_H
#define STATEDIFF_H

#include <stddef.h>
#include <stdint.h>

#include "cmdtab.h"
#include "conf.h"

struct sd_key {
	char		*name;
	int		 alg;
	char		*secret;	/* base64; wiped by sd_free */
	unsigned	 line;
};

struct sd_pool {
	char			*name;
	struct pool_conf	 conf;
	unsigned		 line;	/* of the input that made it; 0: none */
};

struct sd_backend {
	char			*name;
	int			 admin;
	struct backend_conf	 conf;
	char			**pools;	/* by name */
	int			 npools;
	unsigned		 line;		/* of its add or set */
	unsigned		 admin_line;	/* of its drain, enable ... */
};

struct sd_route {
	int64_t		 id;
	char		*pattern;
	int		 qtype;
	int		 opcode;
	int		 tsig;
	int		 action;
	char		*pool;		/* NULL unless action is pool */
	char		*comment;
	unsigned	 line;
};

struct sd_state {
	char			**set;		/* by setting_table index; NULL: default */
	unsigned		 *setline;
	struct sd_key		 *k;		/* by name */
	size_t			  nk, capk;
	struct sd_pool		 *p;
	size_t			  np, capp;
	struct sd_backend	 *b;
	size_t			  nb, capb;
	struct sd_route		 *r;		/* in order */
	size_t			  nr, capr;
};

/* One change: op '+', '-' or '~' and what to build its command from:
 * sd_change_cmd() makes it (so a long list of changes stays small).
 * about is the route a route del, move or set is about (its detail);
 * line the input line the change comes from (0: none). */
struct sd_change {
	char			 op;
	enum cmd_id		 id;
	const void		*item;		/* sd_key, sd_pool, sd_backend,
						   sd_route */
	const char		*key, *value;	/* set */
	const struct sd_route	*about;
	uint64_t		 given;		/* the values that count */
	int			 position;	/* route add at, route move to */
	int			 final;		/* route add: its place in the end */
	unsigned		 line;
};

/* A route there before that is somewhere else in the end: its id, its
 * position before and after (sd_changes.place, by to). */
struct sd_place {
	int64_t			 id;
	int			 from, to;
};

struct sd_changes {
	struct sd_change	*v;
	size_t			 n, cap;
	unsigned		 nadd, ndel, nchg;
	/* Where the routes that stay go, for a caller that adds each route
	 * at its final place (sd_change.final) and shifts nothing on the
	 * way (db_route_defer); maxid: the highest id of a route before. */
	struct sd_place		*place;
	size_t			 nplace;
	int64_t			 maxid;
};

void	sd_init(struct sd_state *);
void	sd_free(struct sd_state *);
struct sd_key		*sd_add_key(struct sd_state *, const char *name,
			    int alg, const char *secret);
struct sd_pool		*sd_add_pool(struct sd_state *, const char *name,
			    const struct pool_conf *);
struct sd_backend	*sd_add_backend(struct sd_state *, const char *name);
void			 sd_backend_pool(struct sd_backend *, const char *pool);
struct sd_route		*sd_add_route(struct sd_state *, const char *pattern,
			    const char *pool, const char *comment);

/* The commands that build a part of a state (pointers into it). */
void	sd_cmd_set(struct cmd *, const char *key, const char *value);
void	sd_cmd_key(struct cmd *, enum cmd_id, const struct sd_key *);
void	sd_cmd_pool(struct cmd *, const struct sd_pool *);
void	sd_cmd_backend(struct cmd *, enum cmd_id, const struct sd_backend *);
void	sd_cmd_route(struct cmd *, enum cmd_id, const struct sd_route *);
/* The values of a backend add, pool add or route add that differ from
 * the defaults, with the positionals: what export and a report print. */
uint64_t sd_mask(const struct cmd *);
/* What export prints of a pool add: the name and policy always, a fanout
 * pool's confirm, and the other options that are not their defaults. */
uint64_t sd_pool_mask(const struct cmd *);

/* What turns cur into tgt. */
void	sd_diff(const struct sd_state *cur, const struct sd_state *tgt,
	    struct sd_changes *);
/* The same in steps: *run NULL at first; each call works until now_us()
 * is past until (0: some routes' worth, the least) and returns 0 while
 * work is left, 1 once cs is whole (*run freed and NULL again).  cur and
 * tgt must not change between the calls; sd_diff_abort frees a run left
 * unfinished (cs is the caller's to free). */
struct sd_diff_run;
int	sd_diff_step(struct sd_diff_run **run, const struct sd_state *cur,
	    const struct sd_state *tgt, struct sd_changes *, uint64_t until);
void	sd_diff_abort(struct sd_diff_run **run);
void	sd_changes_free(struct sd_changes *);
/* The command of a change, and the detail of a route change (the route
 * as it was, as route add words: "^a\\.$ pool web"; "" for others). */
void	sd_change_cmd(const struct sd_change *, struct cmd *);
void	sd_change_detail(const struct sd_change *, char *out, size_t outlen);

#endif

/*
 * model: the state the command language describes (settings, pools,
 * backends, routes in order), and a simulator that runs commands on it
 * without the daemon.  replace.c builds one model from a --replace FILE
 * and one from the daemon's export, and compares them.  The simulator
 * parses as the daemon does (daemon/cmd_backend.c, cmd_route.c) and keeps
 * every value in one canonical form (addresses as the daemon formats
 * them, durations in ms, query types and rcodes as numbers), so that two
 * spellings of one state compare equal.  It refuses what the daemon would
 * refuse for reasons it can see (a pool that does not exist); what only
 * the daemon can judge (a regex, a setting's value) is left to it.
 */
#ifndef MODEL_H
#define MODEL_H

#include <stddef.h>

#include "backend_opts.h"

enum { MODEL_ENABLED, MODEL_DRAINED, MODEL_DISABLED };
#define MODEL_ACT_POOL	0
extern const char *const model_actions[];	/* "pool", "refuse", ... */

struct model_pool {
	char		*name;
	const char	*policy;	/* a policy name, static */
	unsigned	 line;		/* where it was last set; 0: unknown */
};

struct model_backend {
	char		 *name;
	char		  addr[BACKEND_ADDR_MAX];	/* as the daemon formats it */
	char		**pools;	/* a set, in the order given */
	int		  npools;
	int		  weight;
	int		  tcp;		/* transport tcp */
	int		  qtype, qclass;	/* of the check */
	int		  check_tcp;	/* check-transport tcp */
	int		  rcode;	/* -1: any */
	int		  fall, rise;
	int		  admin;	/* MODEL_ENABLED ... */
	long		  interval_ms, timeout_ms;
	char		 *qname;	/* of the check */
	unsigned	  line;
};

struct model_route {
	long long	 id;		/* in a model of the daemon's state */
	char		*pattern;
	char		*pool;		/* NULL unless action is pool */
	char		*comment;
	int		 qtype;		/* 0: any */
	int		 action;	/* index in model_actions */
	unsigned	 line;
};

struct model {
	char			**set;	/* by setting_table index; NULL: default */
	unsigned		 *setline;
	struct model_pool	 *p;
	size_t			  np;
	struct model_backend	 *b;
	size_t			  nb;
	struct model_route	 *r;	/* in order */
	size_t			  nr, rcap;
};

struct model_err {
	int	code;			/* CTL_ERR_SYNTAX or CTL_ERR_RUNTIME */
	char	msg[1024];
};

void	model_init(struct model *);
void	model_free(struct model *);
/* Run one command line; returns 0, or -1 with e set.  quit sets *quit;
 * help is ignored; anything but a change of state is refused. */
int	model_exec(struct model *, const char *line, unsigned lineno,
	    int *quit, struct model_err *e);

struct model_pool	*model_find_pool(const struct model *, const char *);
struct model_backend	*model_find_backend(const struct model *,
			    const char *);
int			 model_backend_in(const struct model_backend *,
			    const char *pool);
/* Defaults as backend add gives them; the caller frees qname. */
void			 model_backend_defaults(struct model_backend *);

#endif

/*
 * settings: the daemon's settings (`set NAME VALUE`, `show settings`),
 * declared once with their defaults, what values they take and where the
 * value goes in struct settings.  The store keeps a setting only when the
 * operator set it, in the canonical form settings_canon() gives.
 */
#ifndef SETTINGS_H
#define SETTINGS_H

#include <stddef.h>
#include <stdint.h>

struct settings {
	int		default_action;		/* enum route_action, not POOL */
	int		query_timeout_ms;
	int		update_timeout_ms;
	int		retries;
	int		max_outstanding;
	int		max_outstanding_backend;
	/* max-outstanding-per-client: a count, or (pct) a share of
	 * max_outstanding; client_cap is what it comes to, at least 1. */
	int		max_out_client;
	int		max_out_client_pct;
	int		client_cap;
	int		all_down_try;
	int		tcp_idle_s;
	int		tcp_max_clients;
	int		tcp_max_per_client;
	int		xfr_max_per_client;
	int		health_retention;
	uint32_t	match_limit;
	int		control_idle_s;
	int		change_cpu_pct;		/* 0: no budget (pace.c) */
	/* Towards backends with client-address ecs (RFC 7871). */
	int		ecs_v4;			/* source prefix length */
	int		ecs_v6;
	int		ecs_client;		/* enum ecs_client */
};

struct words;

struct setting_spec {
	const char		*name;
	const char		*defval;
	const char		*help;
	const struct words	*words;		/* a word of these; else a number */
	long			 min, max;	/* the number's (or the word's) range */
	size_t			 off;		/* in struct settings */
	size_t			 pct_off;	/* also "N%" (1-100), stored here
						 * (and 0 at off); 0: not */
};

extern const struct setting_spec setting_table[];
extern const size_t setting_table_len;

const struct setting_spec *setting_lookup(const char *name);
/* As setting_lookup; NULL with why in err for a name that is not one. */
const struct setting_spec *setting_known(const char *name, char *err,
    size_t errlen);
void	settings_defaults(struct settings *);
/* Apply one key/value onto s: 0, or -1 for an unknown key or bad value. */
int	settings_apply(struct settings *, const char *key, const char *val);
/* Check a value for `set` and write its canonical form ("on" -> "yes")
 * into out: 0, or -1 with err saying what the setting takes. */
int	settings_canon(const char *key, const char *val, char *out,
	    size_t outlen, char *err, size_t errlen);

#endif

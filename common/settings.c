/*
 * settings: the table of settings (see settings.h).  A setting is a number
 * in [min, max] or a word of a word table (min and max then bound the
 * word's value: default-action takes every action but pool).  yes/no
 * settings also take on/off and 1/0, stored as yes or no.  A number may
 * also take "N%" (max-outstanding-per-client: of max-outstanding).
 */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "settings.h"
#include "util.h"
#include "words.h"

#define NUM(n, d, h, lo, hi, f) \
	{ n, d, h, NULL, lo, hi, offsetof(struct settings, f), 0 }
#define WORD(n, d, h, ws, lo, hi, f) \
	{ n, d, h, &ws, lo, hi, offsetof(struct settings, f), 0 }
/* A number, or "N%" of something else (the daemon says of what). */
#define NUMPCT(n, d, h, lo, hi, f, fpct) \
	{ n, d, h, NULL, lo, hi, offsetof(struct settings, f), \
	  offsetof(struct settings, fpct) }

const struct setting_spec setting_table[] = {
	WORD("default-action", "servfail", "answer when no route matches: "
	    "servfail|refuse|nxdomain|drop", words_action, ACTION_REFUSE,
	    ACTION_DROP, default_action),
	NUM("query-timeout", "1500", "ms to wait for a backend before "
	    "retrying", 10, 60000, query_timeout_ms),
	NUM("retries", "1", "how many other members to try after a timeout "
	    "(0-3)", 0, 3, retries),
	NUM("max-outstanding", "65536", "outstanding queries in all, per "
	    "worker", 16, 1048576, max_outstanding),
	NUM("max-outstanding-backend", "4096", "outstanding queries per "
	    "backend, per worker", 1, 1048576, max_outstanding_backend),
	NUMPCT("max-outstanding-per-client", "1000", "outstanding queries of "
	    "one client address (IPv6: /64), per worker: N, or N% of "
	    "max-outstanding", 1, 1048576, max_out_client, max_out_client_pct),
	WORD("all-down-try-anyway", "no", "yes: when a pool has no healthy "
	    "member, try one anyway", words_yesno, NO, YES, all_down_try),
	NUM("tcp-idle-timeout", "10", "seconds a client TCP connection may "
	    "stay idle", 1, 3600, tcp_idle_s),
	NUM("tcp-max-clients", "1000", "client TCP connections at once, per "
	    "worker", 1, 100000, tcp_max_clients),
	NUM("tcp-max-per-client", "32", "client TCP connections from one "
	    "address, per worker", 1, 100000, tcp_max_per_client),
	NUM("xfr-max-per-client", "8", "zone transfers at once from one "
	    "address, per worker", 1, 64, xfr_max_per_client),
	NUM("health-retention", "1000", "health check results kept per "
	    "backend, and as many state changes", 10, 10000000,
	    health_retention),
	NUM("match-limit", "10000", "PCRE2 match limit per route per query",
	    100, 100000000, match_limit),
	NUM("control-idle-timeout", "300", "seconds a control client may sit "
	    "idle outside a transaction", 1, 86400, control_idle_s),
	NUM("change-cpu-budget", "5", "% of one core the main thread may "
	    "spend on changes while queries flow (0: no limit)", 0, 100,
	    change_cpu_pct),
	NUM("update-timeout", "5000", "ms each member of a fanout pool has "
	    "to answer an UPDATE (UDP and TCP together)", 100, 60000,
	    update_timeout_ms),
	NUM("ecs-prefix-v4", "24", "bits of an IPv4 client's address in the "
	    "EDNS Client Subnet sent to client-address ecs backends", 0, 32,
	    ecs_v4),
	NUM("ecs-prefix-v6", "56", "bits of an IPv6 client's address in the "
	    "EDNS Client Subnet sent to client-address ecs backends", 0, 128,
	    ecs_v6),
	WORD("ecs-client", "keep", "a client's own EDNS Client Subnet option "
	    "towards ecs backends: keep|replace (a /0 opt-out is always kept)",
	    words_ecs_client, ECS_KEEP, ECS_REPLACE, ecs_client),
};
const size_t setting_table_len = NELEMS(setting_table);

const struct setting_spec *
setting_lookup(const char *name)
{
	size_t i;

	for (i = 0; i < setting_table_len; i++)
		if (strcmp(setting_table[i].name, name) == 0)
			return &setting_table[i];
	return NULL;
}

/* The value of val for sp: 0 with *v (a percentage as -N), or -1. */
static int
value_of(const struct setting_spec *sp, const char *val, long *v)
{
	char num[16];
	size_t n = strlen(val);

	if (sp->pct_off != 0 && n > 1 && n < sizeof(num) &&
	    val[n - 1] == '%') {
		memcpy(num, val, n - 1);
		num[n - 1] = '\0';
		if (parse_int(num, 1, 100, v) == -1)
			return -1;
		*v = -*v;
		return 0;
	}
	if (sp->words == NULL)
		return parse_int(val, sp->min, sp->max, v);
	if (sp->words == &words_yesno) {
		if (strcmp(val, "on") == 0 || strcmp(val, "1") == 0)
			val = "yes";
		else if (strcmp(val, "off") == 0 || strcmp(val, "0") == 0)
			val = "no";
	}
	*v = words_find(sp->words, val);
	return *v >= sp->min && *v <= sp->max ? 0 : -1;
}

/* What the settings come to together; after any of them changes. */
static void
derive(struct settings *s)
{
	long cap = s->max_out_client;

	if (s->max_out_client_pct > 0)
		cap = (long)s->max_outstanding * s->max_out_client_pct / 100;
	s->client_cap = cap > 0 ? (int)cap : 1;
}

static void
store(struct settings *s, const struct setting_spec *sp, long v)
{
	void *p = (char *)s + sp->off;

	if (sp->pct_off != 0) {
		*(int *)((char *)s + sp->pct_off) = v < 0 ? (int)-v : 0;
		*(int *)p = v < 0 ? 0 : (int)v;
	} else if (sp->off == offsetof(struct settings, match_limit))
		/* The one unsigned field; every value fits both. */
		*(uint32_t *)p = (uint32_t)v;
	else
		*(int *)p = (int)v;
	derive(s);
}

int
settings_apply(struct settings *s, const char *key, const char *val)
{
	const struct setting_spec *sp = setting_lookup(key);
	long v;

	if (sp == NULL || value_of(sp, val, &v) == -1)
		return -1;
	store(s, sp, v);
	return 0;
}

void
settings_defaults(struct settings *s)
{
	size_t i;
	long v;

	memset(s, 0, sizeof(*s));
	for (i = 0; i < setting_table_len; i++)
		if (value_of(&setting_table[i], setting_table[i].defval,
		    &v) == 0)
			store(s, &setting_table[i], v);
}

const struct setting_spec *
setting_known(const char *key, char *err, size_t errlen)
{
	const struct setting_spec *sp = setting_lookup(key);

	if (sp == NULL && strcmp(key, "etcd") == 0)
		/* Shown with the settings, but a flag: it is how the router
		 * reaches what it shares, so it cannot be one of those. */
		snprintf(err, errlen, "etcd is set with dnsrouted -e, -E and "
		    "-R, not with set");
	else if (sp == NULL)
		snprintf(err, errlen, "unknown setting \"%s\"; see show "
		    "settings", key);
	return sp;
}

int
settings_canon(const char *key, const char *val, char *out, size_t outlen,
    char *err, size_t errlen)
{
	const struct setting_spec *sp = setting_known(key, err, errlen);
	long v;

	if (sp == NULL)
		return -1;
	if (value_of(sp, val, &v) == -1) {
		snprintf(err, errlen, "bad value \"%s\" for %s (%s)", val,
		    key, sp->help);
		return -1;
	}
	if (sp->words != NULL)
		snprintf(out, outlen, "%s", words_name(sp->words, (int)v));
	else if (v < 0)
		snprintf(out, outlen, "%ld%%", -v);
	else
		snprintf(out, outlen, "%ld", v);
	return 0;
}

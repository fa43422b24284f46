/*
 * test_statediff: the replace diff (daemon/statediff.c), alone.  Table
 * cases pin what a difference says (the report lines, in order); a
 * property check applies the route changes of many random pairs of route
 * lists to a model of the store (ids, positions) and finds the target,
 * with the fewest changes: equal routes keep their id, a route whose
 * comment changed is changed in place, no route is deleted and added back.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmdtab.h"
#include "settings.h"
#include "statediff.h"
#include "util.h"
#include "words.h"
#include "unit.h"

/* The report of a diff, one "op command (detail)" a line. */
/* A pool's options: policy, the rest their defaults. */
static const struct pool_conf *
pconf(int policy)
{
	static struct pool_conf c;

	pool_conf_defaults(&c);
	c.policy = policy;
	return &c;
}

static char *
report(const struct sd_state *cur, const struct sd_state *tgt,
    struct sd_changes *cs)
{
	static char out[65536];
	char line[4096], detail[4096];
	struct cmd c;
	size_t used = 0, i;

	sd_diff(cur, tgt, cs);
	out[0] = '\0';
	for (i = 0; i < cs->n; i++) {
		sd_change_cmd(&cs->v[i], &c);
		CHECK(cmd_format(&c, c.given, line, sizeof(line)) > 0);
		sd_change_detail(&cs->v[i], detail, sizeof(detail));
		used += snprintf(out + used, sizeof(out) - used, "%c %s%s%s%s\n",
		    cs->v[i].op, line, detail[0] ? " (" : "", detail,
		    detail[0] ? ")" : "");
	}
	return out;
}

static struct sd_route *
route(struct sd_state *st, int64_t id, const char *pattern, int action,
    const char *pool, const char *comment)
{
	struct sd_route *r = sd_add_route(st, pattern, pool, comment);

	r->id = id;
	r->action = action;
	return r;
}

static void
test_nothing_to_do(void)
{
	struct sd_state a, b;
	struct sd_changes cs;
	struct sd_backend *x;

	sd_init(&a);
	sd_init(&b);
	CHECK(strcmp(report(&a, &b, &cs), "") == 0 && cs.n == 0);
	sd_changes_free(&cs);
	sd_add_pool(&a, "web", pconf(POLICY_FIRST));
	sd_add_pool(&b, "web", pconf(POLICY_FIRST));
	x = sd_add_backend(&a, "ns");
	sd_backend_pool(x, "web");
	x = sd_add_backend(&b, "ns");
	sd_backend_pool(x, "web");
	route(&a, 4, "^a", ACTION_POOL, "web", "");
	route(&b, 0, "^a", ACTION_POOL, "web", "");
	/* A setting at its default equals no setting. */
	a.set[1] = xstrdup(setting_table[1].defval);
	CHECK(strcmp(report(&a, &b, &cs), "") == 0);
	sd_changes_free(&cs);
	sd_free(&a);
	sd_free(&b);
}

static void
test_report(void)
{
	struct sd_state a, b;
	struct sd_changes cs;
	struct sd_backend *x;
	const char *want =
	    "~ set retries 2\n"
	    "~ pool set apex policy first\n"
	    "+ pool add fresh policy roundrobin\n"
	    "- backend del old\n"
	    "~ backend set ns-a pool fresh pool apex weight 5\n"
	    "~ backend undrain ns-a\n"
	    "+ backend add ns-b 10.0.0.2:53 pool fresh transport tcp\n"
	    "~ backend drain ns-b\n"
	    "- route del 3 (^gone nxdomain)\n"
	    "~ route move 2 1 (^b refuse)\n"
	    "~ route set 1 comment 'new words' (^a pool apex comment old)\n"
	    "+ route add ^c qtype MX drop\n"
	    "- pool del spare\n";

	sd_init(&a);
	sd_init(&b);
	b.set[2] = xstrdup("2");		/* retries */
	sd_add_pool(&a, "apex", pconf(POLICY_ROUNDROBIN));
	sd_add_pool(&a, "spare", pconf(POLICY_ROUNDROBIN));
	sd_add_pool(&b, "apex", pconf(POLICY_FIRST));
	sd_add_pool(&b, "fresh", pconf(POLICY_ROUNDROBIN));
	x = sd_add_backend(&a, "ns-a");
	snprintf(x->conf.addr, sizeof(x->conf.addr), "10.0.0.1:53");
	sd_backend_pool(x, "apex");
	x->admin = ADMIN_DRAINED;
	x = sd_add_backend(&a, "old");
	snprintf(x->conf.addr, sizeof(x->conf.addr), "10.0.0.9:53");
	x = sd_add_backend(&b, "ns-a");
	snprintf(x->conf.addr, sizeof(x->conf.addr), "10.0.0.1:53");
	sd_backend_pool(x, "fresh");
	sd_backend_pool(x, "apex");
	x->conf.weight = 5;
	x = sd_add_backend(&b, "ns-b");
	snprintf(x->conf.addr, sizeof(x->conf.addr), "10.0.0.2:53");
	x->conf.transport = TRANSPORT_TCP;
	sd_backend_pool(x, "fresh");
	x->admin = ADMIN_DRAINED;
	route(&a, 1, "^a", ACTION_POOL, "apex", "old");
	route(&a, 2, "^b", ACTION_REFUSE, NULL, "");
	route(&a, 3, "^gone", ACTION_NXDOMAIN, NULL, "");
	route(&b, 0, "^b", ACTION_REFUSE, NULL, "");
	route(&b, 0, "^a", ACTION_POOL, "apex", "new words");
	route(&b, 0, "^c", ACTION_DROP, NULL, "")->qtype = 15;
	CHECKF(strcmp(report(&a, &b, &cs), want) == 0, "\n%s", report(&a, &b,
	    &cs));
	CHECK(cs.nadd == 3 && cs.ndel == 3 && cs.nchg == 7);
	sd_changes_free(&cs);
	sd_free(&a);
	sd_free(&b);
}

/* ---- the property: applying the route changes gives the target ---- */

struct model {
	int64_t	id[64];
	int	key[64];	/* which target route it is */
	int	n;
};

static int
find(const struct model *m, int64_t id)
{
	int i;

	for (i = 0; i < m->n; i++)
		if (m->id[i] == id)
			return i;
	return -1;
}

static void
insert(struct model *m, int at, int64_t id, int key)
{
	memmove(&m->id[at + 1], &m->id[at], (m->n - at) * sizeof(m->id[0]));
	memmove(&m->key[at + 1], &m->key[at], (m->n - at) * sizeof(m->key[0]));
	m->id[at] = id;
	m->key[at] = key;
	m->n++;
}

static void
removeat(struct model *m, int at)
{
	memmove(&m->id[at], &m->id[at + 1], (m->n - at - 1) *
	    sizeof(m->id[0]));
	memmove(&m->key[at], &m->key[at + 1], (m->n - at - 1) *
	    sizeof(m->key[0]));
	m->n--;
}

/* Routes are named by one letter of pattern and one of comment. */
static void
random_routes(struct sd_state *st, int n, int64_t firstid)
{
	char pat[8], com[8];
	int i;

	for (i = 0; i < n; i++) {
		snprintf(pat, sizeof(pat), "%c", 'a' + rand() % 6);
		snprintf(com, sizeof(com), "%c", 'x' + rand() % 2);
		route(st, firstid ? firstid + i : 0, pat, ACTION_REFUSE, NULL,
		    com);
	}
}

static int
same_route(const struct sd_route *a, const struct sd_route *b)
{
	return strcmp(a->pattern, b->pattern) == 0 &&
	    strcmp(a->comment, b->comment) == 0;
}

static void
test_routes_property(void)
{
	struct sd_state a, b;
	struct sd_changes cs;
	struct model m;
	int round, i, k, t, ok, maxid, changed, equal, paired;

	srand(13);
	for (round = 0; round < 2000; round++) {
		sd_init(&a);
		sd_init(&b);
		random_routes(&a, rand() % 12, 100);
		random_routes(&b, rand() % 12, 0);
		sd_diff(&a, &b, &cs);
		/* The store: current ids in order; key -1 for "as it was". */
		m.n = 0;
		for (i = 0; i < (int)a.nr; i++)
			insert(&m, m.n, a.r[i].id, -1);
		maxid = 1000;
		changed = 0;
		for (k = 0; k < (int)cs.n; k++) {
			const struct sd_change *ch = &cs.v[k];
			const struct sd_route *tr = ch->item;

			switch (ch->id) {
			case CMD_ROUTE_DEL:
				removeat(&m, find(&m, ch->about->id));
				break;
			case CMD_ROUTE_ADD:
				t = (int)(tr - b.r);
				insert(&m, ch->position ? ch->position - 1 :
				    m.n, ++maxid, t);
				break;
			case CMD_ROUTE_MOVE:
				i = find(&m, ch->about->id);
				t = m.key[i];
				removeat(&m, i);
				insert(&m, ch->position - 1, ch->about->id, t);
				break;
			case CMD_ROUTE_SET:
				changed++;
				break;
			default:
				CHECK(0);
			}
		}
		/* Each position holds the target's route: a kept one by its
		 * old id (same pattern), an added one by its key. */
		ok = m.n == (int)b.nr;
		for (i = 0; ok && i < m.n; i++) {
			if (m.id[i] > 1000)
				ok = m.key[i] == i;
			else
				ok = strcmp(a.r[m.id[i] - 100].pattern,
				    b.r[i].pattern) == 0;
		}
		CHECKF(ok, "round %d: the store is not the target", round);
		/* Fewest: what is paired is never deleted and added. */
		for (i = equal = 0; i < (int)a.nr; i++)
			for (t = 0; t < (int)b.nr; t++)
				if (same_route(&a.r[i], &b.r[t]))
					equal = 1;
		paired = (int)b.nr - (int)cs.nadd;
		CHECK(paired >= 0 && (int)cs.ndel == (int)a.nr - paired);
		CHECK(!equal || paired > 0);
		CHECK(changed <= paired);
		sd_changes_free(&cs);
		sd_free(&a);
		sd_free(&b);
	}
}

/* Many routes: each replaced by another is a delete and an add. */
static void
test_all_new(void)
{
	struct sd_state a, b;
	struct sd_changes cs;
	char pat[32];
	int i;

	sd_init(&a);
	sd_init(&b);
	for (i = 0; i < 10000; i++) {
		snprintf(pat, sizeof(pat), "^r%05d", i);
		route(&a, i + 1, pat, ACTION_REFUSE, NULL, "");
		snprintf(pat, sizeof(pat), "^s%05d", i);
		route(&b, 0, pat, ACTION_REFUSE, NULL, "");
	}
	sd_diff(&a, &b, &cs);
	CHECK(cs.n == 20000 && cs.nadd == 10000 && cs.ndel == 10000);
	/* Removals first, the last route first: no renumbering. */
	CHECK(cs.v[0].id == CMD_ROUTE_DEL && cs.v[0].about->id == 10000);
	CHECK(cs.v[10000].id == CMD_ROUTE_ADD && cs.v[10000].position == 0);
	sd_changes_free(&cs);
	sd_free(&a);
	sd_free(&b);
}

/* Keys are added or changed first, and the ones the target lacks go
 * after the backends that may name them (replace's target inherits every
 * key, so only a fleet's state removes one); a fanout pool's confirm and
 * a route's opcode are state like the rest. */
static void
test_update_state(void)
{
	struct sd_state a, b;
	struct sd_changes cs;
	struct sd_pool *p;
	const char *want =
	    "~ key set k1. hmac-sha256 c2VjcmV0LTI=\n"
	    "+ key add k3. hmac-md5 c2VjcmV0LTM=\n"
	    "~ pool set up confirm any\n"
	    "- key del k2.\n"
	    "~ route set 1 opcode update tsig optional (^x\\.$ pool up)\n";

	sd_init(&a);
	sd_init(&b);
	sd_add_key(&a, "k1.", TSIG_HMAC_SHA256, "c2VjcmV0LTE=");
	sd_add_key(&a, "k2.", TSIG_HMAC_SHA512, "c2VjcmV0LTI=");
	sd_add_key(&b, "k1.", TSIG_HMAC_SHA256, "c2VjcmV0LTI=");
	sd_add_key(&b, "k3.", TSIG_HMAC_MD5, "c2VjcmV0LTM=");
	sd_add_pool(&a, "up", pconf(POLICY_FANOUT));
	p = sd_add_pool(&b, "up", pconf(POLICY_FANOUT));
	p->conf.confirm = CONFIRM_ANY;
	route(&a, 1, "^x\\.$", ACTION_POOL, "up", "");
	route(&b, 0, "^x\\.$", ACTION_POOL, "up", "")->opcode = ROUTE_UPDATE;
	b.r[0].tsig = TSIG_OPTIONAL;
	CHECKF(strcmp(report(&a, &b, &cs), want) == 0, "\n%s",
	    report(&a, &b, &cs));
	sd_changes_free(&cs);
	sd_free(&a);
	sd_free(&b);
}

/* The diff in the smallest steps (sd_diff_step, until 0: the clock
 * always past) makes the same changes as the whole one, and a run left
 * unfinished is freed (the sanitizers see a leak). */
static void
test_steps(void)
{
	struct sd_state a, b;
	struct sd_changes whole, stepped;
	struct sd_diff_run *run;
	int round, rc, steps;
	size_t k;

	srand(29);
	for (round = 0; round < 60; round++) {
		sd_init(&a);
		sd_init(&b);
		random_routes(&a, rand() % 600, 100);
		random_routes(&b, rand() % 600, 0);
		sd_diff(&a, &b, &whole);
		run = NULL;
		steps = 0;
		while ((rc = sd_diff_step(&run, &a, &b, &stepped, 0)) == 0)
			steps++;
		CHECK(rc == 1 && run == NULL);
		CHECKF(a.nr + b.nr < 200 || steps > 4, "round %d: %d steps for "
		    "%zu and %zu routes", round, steps, a.nr, b.nr);
		CHECK(stepped.n == whole.n && stepped.nadd == whole.nadd &&
		    stepped.ndel == whole.ndel && stepped.nchg == whole.nchg &&
		    stepped.nplace == whole.nplace &&
		    stepped.maxid == whole.maxid);
		for (k = 0; k < whole.n && k < stepped.n; k++)
			CHECKF(memcmp(&whole.v[k], &stepped.v[k],
			    sizeof(whole.v[k])) == 0, "round %d: change %zu "
			    "differs", round, k);
		for (k = 0; k < whole.nplace && k < stepped.nplace; k++)
			CHECK(memcmp(&whole.place[k], &stepped.place[k],
			    sizeof(whole.place[k])) == 0);
		sd_changes_free(&whole);
		sd_changes_free(&stepped);
		/* Left after some steps. */
		run = NULL;
		for (k = 0; k < (size_t)(round % 7) &&
		    sd_diff_step(&run, &a, &b, &stepped, 0) == 0; k++)
			;
		sd_diff_abort(&run);
		CHECK(run == NULL);
		sd_changes_free(&stepped);
		sd_free(&a);
		sd_free(&b);
	}
}

int
main(void)
{
	test_nothing_to_do();
	test_report();
	test_routes_property();
	test_all_new();
	test_steps();
	test_update_state();
	UNIT_DONE("statediff");
}

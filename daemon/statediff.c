/*
 * statediff: states, their commands and their difference (see
 * statediff.h).
 */
#include <sys/types.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "settings.h"
#include "statediff.h"
#include "util.h"
#include "words.h"

/* ---- states ---- */

void
sd_init(struct sd_state *st)
{
	memset(st, 0, sizeof(*st));
	st->set = xcalloc(setting_table_len, sizeof(*st->set));
	st->setline = xcalloc(setting_table_len, sizeof(*st->setline));
}

void
sd_free(struct sd_state *st)
{
	size_t i;
	int k;

	if (st->set != NULL)
		for (i = 0; i < setting_table_len; i++)
			free(st->set[i]);
	free(st->set);
	free(st->setline);
	for (i = 0; i < st->nk; i++) {
		free(st->k[i].name);
		explicit_bzero(st->k[i].secret, strlen(st->k[i].secret));
		free(st->k[i].secret);
	}
	free(st->k);
	for (i = 0; i < st->np; i++)
		free(st->p[i].name);
	free(st->p);
	for (i = 0; i < st->nb; i++) {
		for (k = 0; k < st->b[i].npools; k++)
			free(st->b[i].pools[k]);
		free(st->b[i].pools);
		free(st->b[i].name);
	}
	free(st->b);
	for (i = 0; i < st->nr; i++) {
		free(st->r[i].pattern);
		free(st->r[i].pool);
		free(st->r[i].comment);
	}
	free(st->r);
	memset(st, 0, sizeof(*st));
}

/* Room for one more in v (n of cap, elements of size sz). */
static void *
grow(void *v, size_t n, size_t *cap, size_t sz)
{
	if (n < *cap)
		return v;
	*cap = *cap ? *cap * 2 : 16;
	return xrealloc(v, *cap * sz);
}

struct sd_key *
sd_add_key(struct sd_state *st, const char *name, int alg, const char *secret)
{
	struct sd_key *k;

	st->k = grow(st->k, st->nk, &st->capk, sizeof(*st->k));
	k = &st->k[st->nk++];
	memset(k, 0, sizeof(*k));
	k->name = xstrdup(name);
	k->alg = alg;
	k->secret = xstrdup(secret);
	return k;
}

struct sd_pool *
sd_add_pool(struct sd_state *st, const char *name,
    const struct pool_conf *conf)
{
	struct sd_pool *p;

	st->p = grow(st->p, st->np, &st->capp, sizeof(*st->p));
	p = &st->p[st->np++];
	memset(p, 0, sizeof(*p));
	p->name = xstrdup(name);
	p->conf = *conf;
	return p;
}

struct sd_backend *
sd_add_backend(struct sd_state *st, const char *name)
{
	struct sd_backend *b;

	st->b = grow(st->b, st->nb, &st->capb, sizeof(*st->b));
	b = &st->b[st->nb++];
	memset(b, 0, sizeof(*b));
	b->name = xstrdup(name);
	backend_conf_defaults(&b->conf);
	return b;
}

void
sd_backend_pool(struct sd_backend *b, const char *pool)
{
	if (b->npools == CONF_POOLS_MAX)
		return;
	b->pools = xrealloc(b->pools, (b->npools + 1) * sizeof(*b->pools));
	b->pools[b->npools++] = xstrdup(pool);
}

struct sd_route *
sd_add_route(struct sd_state *st, const char *pattern, const char *pool,
    const char *comment)
{
	struct sd_route *r;

	st->r = grow(st->r, st->nr, &st->capr, sizeof(*st->r));
	r = &st->r[st->nr++];
	memset(r, 0, sizeof(*r));
	r->pattern = xstrdup(pattern);
	r->pool = pool != NULL ? xstrdup(pool) : NULL;
	r->comment = xstrdup(comment != NULL ? comment : "");
	return r;
}

/* ---- commands ---- */

void
sd_cmd_set(struct cmd *c, const char *key, const char *value)
{
	cmd_init(c, CMD_SET);
	c->a.set.key = key;
	c->a.set.value = value;
	snprintf(c->a.set.canon, sizeof(c->a.set.canon), "%s", value);
	c->given = 3;
}

void
sd_cmd_key(struct cmd *c, enum cmd_id id, const struct sd_key *k)
{
	cmd_init(c, id);
	snprintf(c->a.key.name, sizeof(c->a.key.name), "%s", k->name);
	c->a.key.alg = k->alg;
	c->a.key.secret = k->secret;
	c->given = CMD_ALL;
}

uint64_t
sd_pool_mask(const struct cmd *c)
{
	return sd_mask(c) | cmd_bit(c->spec, "policy") |
	    (c->a.pool.conf.policy == POLICY_FANOUT ?
	    cmd_bit(c->spec, "confirm") : 0);
}

void
sd_cmd_pool(struct cmd *c, const struct sd_pool *p)
{
	cmd_init(c, CMD_POOL_ADD);
	c->a.pool.name = p->name;
	c->a.pool.conf = p->conf;
	c->given = CMD_ALL;
}

void
sd_cmd_backend(struct cmd *c, enum cmd_id id, const struct sd_backend *b)
{
	int i;

	cmd_init(c, id);
	if (id != CMD_BACKEND_ADD && id != CMD_BACKEND_SET) {
		c->a.name.name = b->name;
		c->given = 1;
		return;
	}
	c->a.backend.name = b->name;
	c->a.backend.conf = b->conf;
	for (i = 0; i < b->npools; i++)
		c->a.backend.pools[i] = b->pools[i];
	c->a.backend.npools = b->npools;
	c->given = CMD_ALL;
}

void
sd_cmd_route(struct cmd *c, enum cmd_id id, const struct sd_route *r)
{
	cmd_init(c, id);
	c->a.route.id = r->id;
	c->a.route.pattern = r->pattern;
	c->a.route.qtype = r->qtype;
	c->a.route.opcode = r->opcode;
	c->a.route.tsig = r->tsig;
	c->a.route.action = r->action;
	c->a.route.pool = r->pool;
	c->a.route.comment = r->comment;
	c->given = CMD_ALL;
}

uint64_t
sd_mask(const struct cmd *c)
{
	/* The last command's defaults, kept: a diff asks for the mask of
	 * 10,000 route adds in a row. */
	static struct cmd def;

	if (def.spec != c->spec)
		cmd_init(&def, c->spec->id);
	return cmd_diff(c->spec, &def.a, &c->a);
}

void
sd_change_cmd(const struct sd_change *ch, struct cmd *c)
{
	switch (ch->id) {
	case CMD_SET:
		sd_cmd_set(c, ch->key, ch->value);
		break;
	case CMD_KEY_ADD:
	case CMD_KEY_SET:
		sd_cmd_key(c, ch->id, ch->item);
		break;
	case CMD_KEY_DEL:
		sd_cmd_key(c, ch->id, ch->item);
		c->a.key.secret = NULL;
		break;
	case CMD_POOL_ADD:
	case CMD_POOL_SET:
		sd_cmd_pool(c, ch->item);
		c->spec = cmd_spec_of(ch->id);
		break;
	case CMD_POOL_DEL:
		cmd_init(c, CMD_POOL_DEL);
		c->a.pool.name = ((const struct sd_pool *)ch->item)->name;
		break;
	case CMD_ROUTE_ADD:
	case CMD_ROUTE_SET:
		sd_cmd_route(c, ch->id, ch->item);
		c->a.route.position = ch->position;
		if (ch->about != NULL)
			c->a.route.id = ch->about->id;
		break;
	case CMD_ROUTE_DEL:
	case CMD_ROUTE_MOVE:
		sd_cmd_route(c, ch->id, ch->about);
		c->a.route.position = ch->position;
		break;
	default:
		sd_cmd_backend(c, ch->id, ch->item);
		break;
	}
	c->given = ch->given;
}

void
sd_change_detail(const struct sd_change *ch, char *out, size_t outlen)
{
	struct cmd c;
	size_t skip;

	out[0] = '\0';
	if (ch->about == NULL || outlen == 0)
		return;
	sd_cmd_route(&c, CMD_ROUTE_ADD, ch->about);
	skip = strlen(c.spec->words) + 1;
	if (cmd_format(&c, sd_mask(&c), out, outlen) == -1 ||
	    strlen(out) < skip)
		out[0] = '\0';
	else
		memmove(out, out + skip, strlen(out + skip) + 1);
}

/* ---- the difference ---- */

static struct sd_change *
change(struct sd_changes *cs, char op, enum cmd_id id, unsigned line)
{
	struct sd_change *ch;

	cs->v = grow(cs->v, cs->n, &cs->cap, sizeof(*cs->v));
	ch = &cs->v[cs->n++];
	memset(ch, 0, sizeof(*ch));
	ch->op = op;
	ch->id = id;
	ch->line = line;
	ch->given = CMD_ALL;
	if (op == '+')
		cs->nadd++;
	else if (op == '-')
		cs->ndel++;
	else
		cs->nchg++;
	return ch;
}

void
sd_changes_free(struct sd_changes *cs)
{
	free(cs->v);
	free(cs->place);
	memset(cs, 0, sizeof(*cs));
}

static void
diff_settings(const struct sd_state *cur, const struct sd_state *tgt,
    struct sd_changes *cs)
{
	const char *cv, *tv;
	struct sd_change *ch;
	size_t i;

	for (i = 0; i < setting_table_len; i++) {
		cv = cur->set[i] ? cur->set[i] : setting_table[i].defval;
		tv = tgt->set[i] ? tgt->set[i] : setting_table[i].defval;
		if (strcmp(cv, tv) == 0)
			continue;
		ch = change(cs, '~', CMD_SET, tgt->setline[i]);
		ch->key = setting_table[i].name;
		ch->value = tv;
	}
}

/* Items by name: a sorted array of pointers to search. */
static int
by_name(const void *a, const void *b)
{
	return strcmp(**(char *const *const *)a, **(char *const *const *)b);
}

/* Index the names (the first member of each item) of n items of size sz. */
static char **
name_index(const void *items, size_t n, size_t sz)
{
	char **ix = xcalloc(n + 1, sizeof(*ix));
	size_t i;

	for (i = 0; i < n; i++)
		ix[i] = (char *)items + i * sz;
	qsort(ix, n, sizeof(*ix), by_name);
	return ix;
}

static const void *
name_find(char **ix, size_t n, const char *name)
{
	const char *key = name;
	const char *const *kp = &key;
	char **hit;

	hit = bsearch(&kp, ix, n, sizeof(*ix), by_name);
	return hit != NULL ? *hit : NULL;
}

static void
diff_pools(const struct sd_state *cur, const struct sd_state *tgt,
    struct sd_changes *cs, int adding)
{
	char **ci = name_index(cur->p, cur->np, sizeof(*cur->p));
	char **ti = name_index(tgt->p, tgt->np, sizeof(*tgt->p));
	const struct sd_pool *c;
	struct sd_change *ch;
	struct cmd cc, tc;
	uint64_t mask;
	size_t i;

	for (i = 0; adding && i < tgt->np; i++) {
		c = name_find(ci, cur->np, tgt->p[i].name);
		sd_cmd_pool(&tc, &tgt->p[i]);
		if (c == NULL) {
			ch = change(cs, '+', CMD_POOL_ADD, tgt->p[i].line);
			ch->item = &tgt->p[i];
			ch->given = sd_pool_mask(&tc);
			continue;
		}
		sd_cmd_pool(&cc, c);
		if ((mask = cmd_diff(tc.spec, &cc.a, &tc.a)) == 0)
			continue;
		ch = change(cs, '~', CMD_POOL_SET, tgt->p[i].line);
		ch->item = &tgt->p[i];
		ch->given = mask | 1;		/* and the name */
	}
	for (i = 0; !adding && i < cur->np; i++)
		if (name_find(ti, tgt->np, cur->p[i].name) == NULL)
			change(cs, '-', CMD_POOL_DEL, 0)->item = &cur->p[i];
	free(ci);
	free(ti);
}

/* Keys the target adds or changes. */
static void
diff_keys(const struct sd_state *cur, const struct sd_state *tgt,
    struct sd_changes *cs)
{
	char **ci = name_index(cur->k, cur->nk, sizeof(*cur->k));
	const struct sd_key *c, *t;
	size_t i;

	for (i = 0; i < tgt->nk; i++) {
		t = &tgt->k[i];
		c = name_find(ci, cur->nk, t->name);
		if (c != NULL && c->alg == t->alg &&
		    strcmp(c->secret, t->secret) == 0)
			continue;
		change(cs, c ? '~' : '+', c ? CMD_KEY_SET : CMD_KEY_ADD,
		    t->line)->item = t;
	}
	free(ci);
}

/* Keys the target lacks, once no backend of the target names them (a
 * replace's target inherits every key, see statediff.h, so only a
 * fleet's state removes one). */
static void
diff_keys_gone(const struct sd_state *cur, const struct sd_state *tgt,
    struct sd_changes *cs)
{
	char **ti = name_index(tgt->k, tgt->nk, sizeof(*tgt->k));
	size_t i;

	for (i = 0; i < cur->nk; i++)
		if (name_find(ti, tgt->nk, cur->k[i].name) == NULL)
			change(cs, '-', CMD_KEY_DEL, 0)->item = &cur->k[i];
	free(ti);
}

/* From admin state from to to, by the commands an operator would type. */
static void
diff_admin(struct sd_changes *cs, const struct sd_backend *t, int from)
{
	int to = t->admin;
	enum cmd_id id;

	if (from == to)
		return;
	if (to == ADMIN_DRAINED && from == ADMIN_DISABLED) {
		change(cs, '~', CMD_BACKEND_ENABLE, t->admin_line)->item = t;
		from = ADMIN_ENABLED;
	}
	if (to == ADMIN_DRAINED)
		id = CMD_BACKEND_DRAIN;
	else if (to == ADMIN_DISABLED)
		id = CMD_BACKEND_DISABLE;
	else
		id = from == ADMIN_DRAINED ? CMD_BACKEND_UNDRAIN :
		    CMD_BACKEND_ENABLE;
	change(cs, '~', id, t->admin_line)->item = t;
}

static void
diff_backends(const struct sd_state *cur, const struct sd_state *tgt,
    struct sd_changes *cs)
{
	char **ci = name_index(cur->b, cur->nb, sizeof(*cur->b));
	char **ti = name_index(tgt->b, tgt->nb, sizeof(*tgt->b));
	const struct sd_backend *c, *t;
	struct sd_change *ch;
	struct cmd cc, tc;
	uint64_t mask;
	size_t i;

	for (i = 0; i < cur->nb; i++)
		if (name_find(ti, tgt->nb, cur->b[i].name) == NULL)
			change(cs, '-', CMD_BACKEND_DEL, 0)->item = &cur->b[i];
	for (i = 0; i < tgt->nb; i++) {
		t = &tgt->b[i];
		c = name_find(ci, cur->nb, t->name);
		if (c == NULL) {
			sd_cmd_backend(&tc, CMD_BACKEND_ADD, t);
			ch = change(cs, '+', CMD_BACKEND_ADD, t->line);
			ch->item = t;
			ch->given = sd_mask(&tc);
		} else {
			sd_cmd_backend(&cc, CMD_BACKEND_SET, c);
			sd_cmd_backend(&tc, CMD_BACKEND_SET, t);
			if ((mask = cmd_diff(tc.spec, &cc.a, &tc.a)) != 0) {
				ch = change(cs, '~', CMD_BACKEND_SET, t->line);
				ch->item = t;
				ch->given = mask | 1;	/* and the name */
			}
		}
		diff_admin(cs, t, c != NULL ? c->admin : ADMIN_ENABLED);
	}
	free(ci);
	free(ti);
}

/* ---- routes ---- */

static int
strcmp0(const char *a, const char *b)
{
	return strcmp(a != NULL ? a : "", b != NULL ? b : "");
}

/* Equal in everything. */
static int
route_same(const struct sd_route *a, const struct sd_route *b)
{
	return strcmp(a->pattern, b->pattern) == 0 && a->qtype == b->qtype &&
	    a->opcode == b->opcode && a->tsig == b->tsig &&
	    a->action == b->action && strcmp0(a->pool, b->pool) == 0 &&
	    strcmp(a->comment, b->comment) == 0;
}

/*
 * Pairing looks the target's routes up, in order, in a hash table of the
 * current ones: first by a hash of everything (equal routes: ids and
 * counters stay), then what is left by a hash of the pattern (changed in
 * place).  Each bucket chains its routes in position order and loses a
 * route once paired, so the k-th of equal routes in the target pairs with
 * the k-th in the store, and no string is compared but to confirm a pair.
 */
static uint64_t
fnv(uint64_t h, const char *s)
{
	if (s == NULL)
		s = "";
	for (; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * 0x100000001b3ULL;
	return (h ^ 0xff) * 0x100000001b3ULL;	/* ends the string */
}

static uint64_t
fnv_int(uint64_t h, int v)
{
	return (h ^ (uint32_t)v) * 0x100000001b3ULL;
}

/* The two hashes of each route: its pattern's, and everything's. */
static void
route_hashes(const struct sd_route *r, size_t n, uint64_t *hp, uint64_t *hf)
{
	uint64_t h;
	size_t i;

	for (i = 0; i < n; i++) {
		hp[i] = fnv(0xcbf29ce484222325ULL, r[i].pattern);
		h = fnv_int(hp[i], r[i].qtype);
		h = fnv_int(h, r[i].opcode);
		h = fnv_int(h, r[i].tsig);
		h = fnv_int(h, r[i].action);
		h = fnv(h, r[i].pool);
		hf[i] = fnv(h, r[i].comment);
	}
}

struct rtab {
	size_t		 mask;
	ssize_t		*head;		/* first route of a bucket, or -1 */
	ssize_t		*next;		/* the next route of its bucket */
	const uint64_t	*h;		/* the routes' hashes */
};

/* The unpaired routes among n (tm[i] < 0) by hash h, in position order. */
static void
rtab_fill(struct rtab *t, const uint64_t *h, size_t n, const ssize_t *tm)
{
	size_t i, size = 1;

	while (size < 2 * n)
		size <<= 1;
	t->mask = size - 1;
	t->head = xcalloc(size, sizeof(*t->head));
	t->next = xcalloc(n + 1, sizeof(*t->next));
	t->h = h;
	for (i = 0; i < size; i++)
		t->head[i] = -1;
	for (i = n; i-- > 0; )
		if (tm[i] < 0) {
			t->next[i] = t->head[h[i] & t->mask];
			t->head[h[i] & t->mask] = (ssize_t)i;
		}
}

/* Take the first route of hash h equal to r (in everything, or in pattern
 * alone) off the table: its index, or -1. */
static ssize_t
rtab_take(struct rtab *t, uint64_t h, const struct sd_route *r,
    const struct sd_route *cur, int full)
{
	ssize_t *at, c;

	for (at = &t->head[h & t->mask]; (c = *at) >= 0; at = &t->next[c])
		if (t->h[c] == h && (full ? route_same(&cur[c], r) :
		    strcmp(cur[c].pattern, r->pattern) == 0)) {
			*at = t->next[c];
			return c;
		}
	return -1;
}

static void
rtab_free(struct rtab *t)
{
	free(t->head);
	free(t->next);
}

/* Mark in keep[] the t whose c = mt[t] (>= 0) form a longest increasing
 * run, in t order. */
static void
mark_lis(const ssize_t *mt, size_t nt, char *keep)
{
	size_t *tail = xcalloc(nt + 1, sizeof(*tail));	/* t of each length */
	ssize_t *prev = xcalloc(nt + 1, sizeof(*prev));
	size_t len = 0, lo, hi, mid, t;
	ssize_t k;

	for (t = 0; t < nt; t++) {
		if (mt[t] < 0)
			continue;
		lo = 0;
		hi = len;
		while (lo < hi) {
			mid = (lo + hi) / 2;
			if (mt[tail[mid]] < mt[t])
				lo = mid + 1;
			else
				hi = mid;
		}
		prev[t] = lo > 0 ? (ssize_t)tail[lo - 1] : -1;
		tail[lo] = t;
		if (lo == len)
			len++;
	}
	for (k = len > 0 ? (ssize_t)tail[len - 1] : -1; k >= 0; k = prev[k])
		keep[k] = 1;
	free(tail);
	free(prev);
}

/* Index of t in the list (of target indexes), searching from hint. */
static size_t
list_find(const size_t *list, size_t n, size_t t, size_t hint)
{
	size_t i;

	for (i = hint < n ? hint : 0; i < n; i++)
		if (list[i] == t)
			return i;
	for (i = 0; i < n; i++)
		if (list[i] == t)
			return i;
	abort();	/* every target placed so far is in the list */
}

static void
list_insert(size_t *list, size_t *n, size_t at, size_t t)
{
	memmove(&list[at + 1], &list[at], (*n - at) * sizeof(*list));
	list[at] = t;
	(*n)++;
}

/* The routes that stay, in their final order, whose place is not the
 * one they had. */
static void
place_routes(const struct sd_state *cur, const ssize_t *mt, size_t nt,
    struct sd_changes *cs)
{
	size_t i, j;

	for (i = 0; i < cur->nr; i++)
		if (cur->r[i].id > cs->maxid)
			cs->maxid = cur->r[i].id;
	cs->place = xcalloc(nt + 1, sizeof(*cs->place));
	for (j = 0; j < nt; j++) {
		if (mt[j] < 0 || (size_t)mt[j] == j)
			continue;
		cs->place[cs->nplace].id = cur->r[mt[j]].id;
		cs->place[cs->nplace].from = (int)mt[j] + 1;
		cs->place[cs->nplace++].to = (int)j + 1;
	}
}

/*
 * The routes' difference, in steps: for 10,000 routes on each side it is
 * some ms of CPU, which a replace must not spend in one piece on the main
 * thread while queries wait for it (issue 16).  Each loop looks at the
 * clock every DIFF_CHECK routes and stops once it is past until; the next
 * call goes on where it stopped.
 */
#define DIFF_CHECK	64

enum diff_stage {
	DS_HEAD,		/* settings, keys, pools, backends; the arrays */
	DS_HASH_CUR,		/* route_hashes of cur, then of tgt */
	DS_HASH_TGT,
	DS_PAIR_FILL,		/* a table of cur's unpaired routes */
	DS_PAIR_TAKE,		/* tgt's routes looked up in it */
	DS_DELS,		/* the routes that go */
	DS_LIS,			/* the routes that keep their order */
	DS_PLACE,		/* the rest, each after its predecessor */
	DS_TAIL,		/* place_routes; pools last out */
	DS_DONE
};

struct sd_diff_run {
	enum diff_stage	 stage;
	size_t		 i;		/* where the stage's loop is */
	ssize_t		*mt, *tm;	/* tgt's route -> cur's, and back */
	char		*keep, *same;
	size_t		*list, n, hint;
	uint64_t	*chp, *chf, *thp, *thf;
	struct rtab	 t;
	int		 full;		/* pairing equal routes, not patterns */
};

static void
run_free(struct sd_diff_run *d)
{
	if (d->stage == DS_PAIR_TAKE)
		rtab_free(&d->t);
	free(d->chp);
	free(d->chf);
	free(d->thp);
	free(d->thf);
	free(d->mt);
	free(d->tm);
	free(d->keep);
	free(d->same);
	free(d->list);
	free(d);
}

static int
past(uint64_t until)
{
	return until == 0 || now_us() >= until;
}

/* Past until, looked at every DIFF_CHECK steps of a loop (at step i). */
static int
due(size_t i, uint64_t until)
{
	return (i + 1) % DIFF_CHECK == 0 && past(until);
}

/* A target route not on the kept run goes just after its predecessor:
 * then every run of them hangs off a kept route (or the top) in target
 * order, which is the target order. */
static void
place_one(struct sd_diff_run *d, const struct sd_state *cur,
    const struct sd_state *tgt, struct sd_changes *cs, size_t j)
{
	const struct sd_route *r = &tgt->r[j];
	struct sd_change *ch;
	struct cmd cc, tc;
	uint64_t mask;
	size_t q, p, at;

	if (d->mt[j] >= 0 && !d->same[j]) {
		/* Paired by pattern alone: change it in place. */
		sd_cmd_route(&cc, CMD_ROUTE_SET, &cur->r[d->mt[j]]);
		sd_cmd_route(&tc, CMD_ROUTE_SET, r);
		tc.a.route.id = cc.a.route.id;
		if ((mask = cmd_diff(tc.spec, &cc.a, &tc.a)) != 0) {
			ch = change(cs, '~', CMD_ROUTE_SET, r->line);
			ch->item = r;
			ch->about = &cur->r[d->mt[j]];
			ch->given = mask | 1;	/* and the id */
		}
	}
	if (d->keep[j])
		return;
	/* q: the index the route should take, before it moves. */
	q = 0;
	if (j > 0) {
		d->hint = list_find(d->list, d->n, j - 1, d->hint);
		q = d->hint + 1;
	}
	if (d->mt[j] < 0) {
		ch = change(cs, '+', CMD_ROUTE_ADD, r->line);
		ch->item = r;
		ch->final = (int)j + 1;
		sd_cmd_route(&tc, CMD_ROUTE_ADD, r);
		ch->given = sd_mask(&tc);
		if (q < d->n) {
			ch->position = (int)q + 1;
			ch->given |= cmd_bit(tc.spec, "at");
		}
		list_insert(d->list, &d->n, q, j);
		d->hint = q;
		return;
	}
	p = list_find(d->list, d->n, j, q);
	if (p == q)
		return;
	memmove(&d->list[p], &d->list[p + 1], (d->n - p - 1) *
	    sizeof(*d->list));
	d->n--;
	at = p < q ? q - 1 : q;
	list_insert(d->list, &d->n, at, j);
	d->hint = at;
	ch = change(cs, '~', CMD_ROUTE_MOVE, r->line);
	ch->about = &cur->r[d->mt[j]];
	ch->position = (int)at + 1;
	ch->given = CMD_ALL;
}

int
sd_diff_step(struct sd_diff_run **dp, const struct sd_state *cur,
    const struct sd_state *tgt, struct sd_changes *cs, uint64_t until)
{
	struct sd_diff_run *d = *dp;
	size_t nc = cur->nr, nt = tgt->nr, i, j;
	struct sd_change *ch;
	ssize_t c;

	if (d == NULL) {
		d = *dp = xcalloc(1, sizeof(*d));
		memset(cs, 0, sizeof(*cs));
	}
	for (;;) {
		switch (d->stage) {
		case DS_HEAD:
			/* Keys and pools before what uses them, pools last
			 * out. */
			diff_settings(cur, tgt, cs);
			diff_keys(cur, tgt, cs);
			diff_pools(cur, tgt, cs, 1);
			diff_backends(cur, tgt, cs);
			diff_keys_gone(cur, tgt, cs);
			d->mt = xcalloc(nt + 1, sizeof(*d->mt));
			d->same = xcalloc(nt + 1, 1);
			d->tm = xcalloc(nc + 1, sizeof(*d->tm));
			d->keep = xcalloc(nt + 1, 1);
			d->list = xcalloc(nc + nt + 1, sizeof(*d->list));
			d->chp = xcalloc(nc + 1, sizeof(*d->chp));
			d->chf = xcalloc(nc + 1, sizeof(*d->chf));
			d->thp = xcalloc(nt + 1, sizeof(*d->thp));
			d->thf = xcalloc(nt + 1, sizeof(*d->thf));
			for (j = 0; j < nt; j++)
				d->mt[j] = -1;
			for (i = 0; i < nc; i++)
				d->tm[i] = -1;
			d->full = 1;
			d->stage = DS_HASH_CUR;
			d->i = 0;
			break;
		case DS_HASH_CUR:
		case DS_HASH_TGT: {
			const struct sd_state *st = d->stage == DS_HASH_CUR ?
			    cur : tgt;
			uint64_t *hp = d->stage == DS_HASH_CUR ? d->chp : d->thp;
			uint64_t *hf = d->stage == DS_HASH_CUR ? d->chf : d->thf;
			size_t k;

			for (; d->i < st->nr; d->i += k) {
				k = st->nr - d->i < DIFF_CHECK ?
				    st->nr - d->i : DIFF_CHECK;
				route_hashes(st->r + d->i, k, hp + d->i,
				    hf + d->i);
				if (d->i + k < st->nr && past(until)) {
					d->i += k;
					return 0;
				}
			}
			d->stage = d->stage == DS_HASH_CUR ? DS_HASH_TGT :
			    DS_PAIR_FILL;
			d->i = 0;
			break;
		}
		case DS_PAIR_FILL:
			/* Equal routes first, then what is left by pattern:
			 * changed. */
			rtab_fill(&d->t, d->full ? d->chf : d->chp, nc, d->tm);
			d->stage = DS_PAIR_TAKE;
			d->i = 0;
			break;
		case DS_PAIR_TAKE:
			for (; d->i < nt; d->i++) {
				j = d->i;
				if (d->mt[j] < 0) {
					c = rtab_take(&d->t, d->full ?
					    d->thf[j] : d->thp[j], &tgt->r[j],
					    cur->r, d->full);
					if (c >= 0) {
						d->mt[j] = c;
						d->tm[c] = (ssize_t)j;
						d->same[j] = (char)d->full;
					}
				}
				if (d->i + 1 < nt && due(d->i, until)) {
					d->i++;
					return 0;
				}
			}
			rtab_free(&d->t);
			if (d->full) {
				d->full = 0;
				d->stage = DS_PAIR_FILL;
				break;
			}
			/* The rest of the current routes go, last first:
			 * removing the last route renumbers no other. */
			for (i = 0; i < nc; i++)
				if (d->tm[i] >= 0)
					d->list[d->n++] = (size_t)d->tm[i];
			d->stage = DS_DELS;
			d->i = nc;
			break;
		case DS_DELS:
			for (; d->i > 0; d->i--) {
				i = d->i - 1;
				if (d->tm[i] < 0) {
					ch = change(cs, '-', CMD_ROUTE_DEL, 0);
					ch->about = &cur->r[i];
					ch->given = 1;
				}
				if (i > 0 && due(i, until)) {
					d->i--;
					return 0;
				}
			}
			d->stage = DS_LIS;
			break;
		case DS_LIS:
			mark_lis(d->mt, nt, d->keep);
			d->stage = DS_PLACE;
			d->i = 0;
			break;
		case DS_PLACE:
			for (; d->i < nt; d->i++) {
				place_one(d, cur, tgt, cs, d->i);
				if (d->i + 1 < nt && due(d->i, until)) {
					d->i++;
					return 0;
				}
			}
			d->stage = DS_TAIL;
			break;
		case DS_TAIL:
			place_routes(cur, d->mt, nt, cs);
			diff_pools(cur, tgt, cs, 0);
			d->stage = DS_DONE;
			break;
		case DS_DONE:
			run_free(d);
			*dp = NULL;
			return 1;
		}
	}
}

void
sd_diff_abort(struct sd_diff_run **dp)
{
	if (*dp != NULL)
		run_free(*dp);
	*dp = NULL;
}

void
sd_diff(const struct sd_state *cur, const struct sd_state *tgt,
    struct sd_changes *cs)
{
	struct sd_diff_run *d = NULL;

	while (sd_diff_step(&d, cur, tgt, cs, UINT64_MAX) == 0)
		;
}

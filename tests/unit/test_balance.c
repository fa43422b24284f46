/*
 * test_balance: each pool policy over hand-made members, as a worker calls
 * it: roundrobin, weighted, first, least-outstanding; members up, down,
 * not checked yet, drained and disabled; members excluded because a query
 * was already sent there; all-down-try-anyway; pool_peek, which
 * `route test` uses to tell the next member without moving the counter;
 * and pool_all, the members a race asks.
 */
#include <stdatomic.h>
#include <string.h>

#include "backend.h"
#include "balance.h"
#include "config.h"
#include "unit.h"
#include "util.h"

#define NB	4

static struct backend be[NB];
static struct backend *members[NB];
static struct pool pool;

static void
setup(int policy, int n)
{
	int i;

	memset(&pool, 0, sizeof(pool));
	pool.policy = policy;
	pool.n = n;
	pool.members = members;
	atomic_init(&pool.rr, 0);
	for (i = 0; i < NB; i++) {
		memset(&be[i], 0, sizeof(be[i]));
		be[i].id = i + 1;
		atomic_init(&be[i].admin, ADMIN_ENABLED);
		atomic_init(&be[i].health, HEALTH_UP);
		atomic_init(&be[i].weight, 1);
		members[i] = &be[i];
	}
}

/* Pick n times; count[i]: how often member i got the query (count[NB]:
 * no member). */
static void
picks(int n, int count[NB + 1])
{
	struct backend *b;
	int i;

	memset(count, 0, (NB + 1) * sizeof(*count));
	for (i = 0; i < n; i++) {
		b = pool_pick(&pool, NULL, 0, 0);
		count[b != NULL ? (int)(b - be) : NB]++;
	}
}

static void
test_roundrobin(void)
{
	struct backend *b;
	int c[NB + 1], i;

	setup(POLICY_ROUNDROBIN, 3);
	for (i = 0; i < 6; i++) {
		b = pool_pick(&pool, NULL, 0, 0);
		CHECKF(b == &be[i % 3], "pick %d got member %d", i,
		    (int)(b - be));
	}
	picks(30, c);
	CHECK(c[0] == 10 && c[1] == 10 && c[2] == 10 && c[NB] == 0);
	CHECK(atomic_load(&pool.rr) == 36);

	/* A single member: every query, and the counter, which all the
	 * workers would write, left alone. */
	setup(POLICY_ROUNDROBIN, 1);
	picks(5, c);
	CHECK(c[0] == 5 && c[NB] == 0);
	CHECK(atomic_load(&pool.rr) == 0);
	setup(POLICY_ROUNDROBIN, 3);
	for (i = 0; i < 36; i++)
		(void)pool_pick(&pool, NULL, 0, 0);

	/* One of three down: its turns spread evenly over the other two
	 * (not all to the next member, which then had twice the load). */
	atomic_store(&be[1].health, HEALTH_DOWN);
	picks(40, c);
	CHECKF(c[0] == 20 && c[1] == 0 && c[2] == 20, "%d %d %d", c[0], c[1],
	    c[2]);
	/* Not checked yet: no query either. */
	atomic_store(&be[1].health, HEALTH_UNKNOWN);
	picks(40, c);
	CHECK(c[0] == 20 && c[1] == 0 && c[2] == 20);
	/* Drained and disabled members get nothing new, up or not. */
	atomic_store(&be[1].health, HEALTH_UP);
	atomic_store(&be[1].admin, ADMIN_DRAINED);
	picks(40, c);
	CHECK(c[0] == 20 && c[1] == 0 && c[2] == 20);
	atomic_store(&be[1].admin, ADMIN_DISABLED);
	atomic_store(&be[0].health, HEALTH_DOWN);
	picks(40, c);
	CHECK(c[0] == 0 && c[1] == 0 && c[2] == 40);
	/* Back up: three ways again. */
	atomic_store(&be[0].health, HEALTH_UP);
	atomic_store(&be[1].admin, ADMIN_ENABLED);
	picks(300, c);
	CHECK(c[0] == 100 && c[1] == 100 && c[2] == 100);
	/* Four members, two down: half each for the other two. */
	setup(POLICY_ROUNDROBIN, 4);
	atomic_store(&be[0].health, HEALTH_DOWN);
	atomic_store(&be[2].health, HEALTH_DOWN);
	picks(100, c);
	CHECK(c[0] == 0 && c[1] == 50 && c[2] == 0 && c[3] == 50);
}

static void
test_weighted(void)
{
	int c[NB + 1];

	setup(POLICY_WEIGHTED, 3);
	atomic_store(&be[0].weight, 1);
	atomic_store(&be[1].weight, 2);
	atomic_store(&be[2].weight, 3);
	picks(600, c);
	CHECKF(c[0] == 100 && c[1] == 200 && c[2] == 300, "%d %d %d", c[0],
	    c[1], c[2]);
	/* A member down: the rest share by their own weights. */
	atomic_store(&be[1].health, HEALTH_DOWN);
	picks(400, c);
	CHECK(c[0] == 100 && c[1] == 0 && c[2] == 300);
	atomic_store(&be[1].health, HEALTH_UP);
	atomic_store(&be[2].admin, ADMIN_DRAINED);
	picks(300, c);
	CHECK(c[0] == 100 && c[1] == 200 && c[2] == 0);
	/* Weight 0 takes nothing; all 0: no member. */
	atomic_store(&be[0].weight, 0);
	picks(30, c);
	CHECK(c[0] == 0 && c[1] == 30);
	atomic_store(&be[1].weight, 0);
	picks(3, c);
	CHECK(c[NB] == 3);
}

static void
test_first(void)
{
	int c[NB + 1];

	setup(POLICY_FIRST, 3);
	picks(10, c);
	CHECK(c[0] == 10);
	atomic_store(&be[0].health, HEALTH_DOWN);
	picks(10, c);
	CHECK(c[1] == 10);
	atomic_store(&be[1].admin, ADMIN_DRAINED);
	picks(10, c);
	CHECK(c[2] == 10);
	atomic_store(&be[0].health, HEALTH_UP);
	picks(10, c);
	CHECK(c[0] == 10);
}

static void
test_least_outstanding(void)
{
	setup(POLICY_LEAST_OUTSTANDING, 3);
	/* Each worker counts its own; the sum is what counts: 5, 2, 7. */
	atomic_store(&be[0].wc[0].outstanding, 1);
	atomic_store(&be[0].wc[MAX_WORKERS - 1].outstanding, 4);
	atomic_store(&be[1].wc[1].outstanding, 2);
	atomic_store(&be[2].wc[0].outstanding, 9);
	backend_wadd(&be[2].wc[3].outstanding, -2UL);
	CHECK(backend_outstanding(&be[2]) == 7);
	CHECK(pool_pick(&pool, NULL, 0, 0) == &be[1]);
	/* A tie: the first of them. */
	backend_wadd(&be[2].wc[0].outstanding, -5UL);
	CHECK(pool_pick(&pool, NULL, 0, 0) == &be[1]);
	atomic_store(&be[1].health, HEALTH_DOWN);
	CHECK(pool_pick(&pool, NULL, 0, 0) == &be[2]);
	atomic_store(&be[2].admin, ADMIN_DISABLED);
	CHECK(pool_pick(&pool, NULL, 0, 0) == &be[0]);
}

/* A retry never goes where the query went already. */
static void
test_excluded(void)
{
	static const int policies[] = { POLICY_ROUNDROBIN,
	    POLICY_WEIGHTED, POLICY_FIRST,
	    POLICY_LEAST_OUTSTANDING };
	struct backend *ex[2], *b;
	size_t p;
	int i;

	for (p = 0; p < NELEMS(policies); p++) {
		setup(policies[p], 3);
		ex[0] = &be[0];
		ex[1] = &be[2];
		for (i = 0; i < 10; i++) {
			b = pool_pick(&pool, ex, 1, 0);
			CHECKF(b == &be[1] || b == &be[2], "policy %d: %d",
			    policies[p], (int)(b - be));
			CHECK(pool_pick(&pool, ex, 2, 0) == &be[1]);
		}
		atomic_store(&be[1].health, HEALTH_DOWN);
		CHECK(pool_pick(&pool, ex, 2, 0) == NULL);
		/* Try anyway: the down one, but never an excluded one. */
		CHECK(pool_pick(&pool, ex, 2, 1) == &be[1]);
	}
}

static void
test_try_anyway(void)
{
	int i;

	setup(POLICY_ROUNDROBIN, 3);
	for (i = 0; i < 3; i++)
		atomic_store(&be[i].health, i == 2 ? HEALTH_UNKNOWN :
		    HEALTH_DOWN);
	CHECK(pool_pick(&pool, NULL, 0, 0) == NULL);
	/* Every enabled member takes its turn, down or not checked. */
	for (i = 0; i < 6; i++)
		CHECK(pool_pick(&pool, NULL, 0, 1) == &be[i % 3]);
	/* Drained and disabled stay out even then. */
	atomic_store(&be[0].admin, ADMIN_DRAINED);
	atomic_store(&be[2].admin, ADMIN_DISABLED);
	for (i = 0; i < 4; i++)
		CHECK(pool_pick(&pool, NULL, 0, 1) == &be[1]);
	atomic_store(&be[1].admin, ADMIN_DRAINED);
	CHECK(pool_pick(&pool, NULL, 0, 1) == NULL);
	/* A usable member is preferred to trying anyway. */
	setup(POLICY_FIRST, 3);
	atomic_store(&be[0].health, HEALTH_DOWN);
	CHECK(pool_pick(&pool, NULL, 0, 1) == &be[1]);
	/* An empty pool. */
	setup(POLICY_ROUNDROBIN, 0);
	CHECK(pool_pick(&pool, NULL, 0, 1) == NULL);
	CHECK(pool_peek(&pool) == NULL);
}

static void
test_peek(void)
{
	struct backend *b;
	int i;

	setup(POLICY_ROUNDROBIN, 3);
	atomic_store(&be[0].health, HEALTH_DOWN);
	for (i = 0; i < 8; i++) {
		b = pool_peek(&pool);
		CHECK(pool_peek(&pool) == b);
		CHECK(pool_pick(&pool, NULL, 0, 0) == b);
	}
	setup(POLICY_WEIGHTED, 2);
	atomic_store(&be[1].weight, 3);
	for (i = 0; i < 8; i++) {
		b = pool_peek(&pool);
		CHECK(pool_pick(&pool, NULL, 0, 0) == b);
	}
	setup(POLICY_FIRST, 2);
	CHECK(pool_peek(&pool) == &be[0]);
	CHECK(atomic_load(&pool.rr) == 0);
}

/* A race asks every usable member, in the pool's order, up to max; with
 * none usable and try-anyway, the enabled ones. */
static void
test_all(void)
{
	struct backend *out[NB];

	setup(POLICY_RACE, NB);
	CHECK(pool_all(&pool, out, NB, 0) == NB);
	CHECK(out[0] == &be[0] && out[3] == &be[3]);
	CHECK(pool_all(&pool, out, 2, 0) == 2 && out[1] == &be[1]);
	atomic_store(&be[1].health, HEALTH_DOWN);
	atomic_store(&be[2].admin, ADMIN_DRAINED);
	CHECK(pool_all(&pool, out, NB, 0) == 2);
	CHECK(out[0] == &be[0] && out[1] == &be[3]);
	/* The counter is not moved. */
	CHECK(atomic_load(&pool.rr) == 0);
	atomic_store(&be[0].health, HEALTH_DOWN);
	atomic_store(&be[3].health, HEALTH_UNKNOWN);
	CHECK(pool_all(&pool, out, NB, 0) == 0);
	/* Anyway: the enabled ones (not the drained), down or not. */
	CHECK(pool_all(&pool, out, NB, 1) == 3);
	CHECK(out[0] == &be[0] && out[1] == &be[1] && out[2] == &be[3]);
	setup(POLICY_RACE, 0);
	CHECK(pool_all(&pool, out, NB, 1) == 0);
}

int
main(void)
{
	test_roundrobin();
	test_weighted();
	test_first();
	test_least_outstanding();
	test_excluded();
	test_try_anyway();
	test_peek();
	test_all();
	UNIT_DONE("balance");
}

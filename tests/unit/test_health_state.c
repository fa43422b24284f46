/*
 * test_health_state: a backend's health as its checks move it, as
 * health.c applies the moves: unknown at start and decided by the first
 * check either way, fall bad checks in a row to go down and rise good ones
 * to come back (a result the other way starts the count over), a readd's
 * good check at once, disabled and enabled again, and fall or rise below 1
 * taken as 1.
 */
#include "words.h"
#include "health_state.h"
#include "unit.h"

/* The state machine and the health it sets, as health.c keeps them. */
struct be {
	struct hstate	hs;
	int		health;
	int		fall, rise;
	int		moves;
	int		why, inrow;	/* of the last move */
};

static void
start(struct be *b, int fall, int rise)
{
	b->hs.nbad = b->hs.ngood = 0;
	b->health = HEALTH_UNKNOWN;
	b->fall = fall;
	b->rise = rise;
	b->moves = 0;
	b->why = b->inrow = 0;
}

static void
check(struct be *b, int ok, int readd)
{
	int why = 0, inrow = 0, to;

	to = hstate_check(&b->hs, b->health, ok, b->fall, b->rise, readd, &why,
	    &inrow);
	if (to != b->health) {
		b->health = to;
		b->moves++;
		b->why = why;
		b->inrow = inrow;
	}
}

static void
checks(struct be *b, const char *results)
{
	for (; *results != '\0'; results++)
		check(b, *results == '+', 0);
}

static void
test_first_check(void)
{
	struct be b;

	/* Unknown gets no queries: the first check decides, whatever fall
	 * and rise say. */
	start(&b, 3, 2);
	CHECK(b.health == HEALTH_UNKNOWN);
	check(&b, 1, 0);
	CHECK(b.health == HEALTH_UP && b.why == HSTATE_FIRST && b.moves == 1);
	start(&b, 3, 2);
	check(&b, 0, 0);
	CHECK(b.health == HEALTH_DOWN && b.why == HSTATE_FIRST);
}

static void
test_fall_rise(void)
{
	struct be b;

	start(&b, 3, 2);
	checks(&b, "+");
	checks(&b, "--");
	CHECK(b.health == HEALTH_UP);
	/* A good one in between starts the count over. */
	checks(&b, "+--");
	CHECK(b.health == HEALTH_UP);
	checks(&b, "-");
	CHECKF(b.health == HEALTH_DOWN && b.why == HSTATE_ROW && b.inrow == 3,
	    "health %d why %d inrow %d", b.health, b.why, b.inrow);
	/* More bad ones: no move. */
	checks(&b, "----");
	CHECK(b.health == HEALTH_DOWN && b.moves == 2);
	checks(&b, "+-+");
	CHECK(b.health == HEALTH_DOWN);
	checks(&b, "+");
	CHECK(b.health == HEALTH_UP && b.why == HSTATE_ROW && b.inrow == 2);
	CHECK(b.moves == 3);

	/* fall 1, rise 1: every result decides. */
	start(&b, 1, 1);
	checks(&b, "+-+-");
	CHECK(b.health == HEALTH_DOWN && b.moves == 4 && b.inrow == 1);
	/* 0 or less is taken as 1. */
	start(&b, 0, -5);
	checks(&b, "+-");
	CHECK(b.health == HEALTH_DOWN && b.moves == 2);
	checks(&b, "+");
	CHECK(b.health == HEALTH_UP && b.moves == 3);
}

static void
test_readd(void)
{
	struct be b;

	start(&b, 3, 5);
	checks(&b, "-");
	CHECK(b.health == HEALTH_DOWN);
	/* A good check a readd waits for: up at once, not after rise. */
	check(&b, 1, 1);
	CHECK(b.health == HEALTH_UP && b.why == HSTATE_READD);
	/* A readd of a backend that is up moves nothing. */
	check(&b, 1, 1);
	CHECK(b.health == HEALTH_UP && b.moves == 2);
	/* A bad check a readd waits for counts like any other. */
	checks(&b, "--");
	check(&b, 0, 1);
	CHECK(b.health == HEALTH_DOWN && b.why == HSTATE_ROW);
	check(&b, 0, 1);
	CHECK(b.health == HEALTH_DOWN && b.moves == 3);
	/* A readd answers the first check too. */
	start(&b, 3, 5);
	check(&b, 1, 1);
	CHECK(b.health == HEALTH_UP && b.why == HSTATE_READD);
}

static void
test_disabled(void)
{
	struct be b;

	start(&b, 2, 2);
	checks(&b, "+-");
	b.health = hstate_disabled(&b.hs);
	CHECK(b.health == HEALTH_UNKNOWN);
	/* Enabled again: unknown, and the next check decides at once; the
	 * bad one before the disable is forgotten. */
	hstate_enabled(&b.hs);
	check(&b, 1, 0);
	CHECK(b.health == HEALTH_UP && b.why == HSTATE_FIRST);
	checks(&b, "-");
	CHECK(b.health == HEALTH_UP);
	b.health = hstate_disabled(&b.hs);
	hstate_enabled(&b.hs);
	check(&b, 0, 0);
	CHECK(b.health == HEALTH_DOWN && b.why == HSTATE_FIRST);
	/* Down, disabled, enabled: one good check is enough again. */
	start(&b, 1, 3);
	checks(&b, "+-");
	b.health = hstate_disabled(&b.hs);
	hstate_enabled(&b.hs);
	checks(&b, "+");
	CHECK(b.health == HEALTH_UP);
}

int
main(void)
{
	test_first_check();
	test_fall_rise();
	test_readd();
	test_disabled();
	UNIT_DONE("health_state");
}

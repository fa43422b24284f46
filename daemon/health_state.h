/*
 * health_state: how check results move a backend's health, with no
 * sockets, timers or clocks, so that it can be tested alone (health.c runs
 * the checks and applies the moves).
 *
 * A backend starts unknown (no queries) and its first check moves it up or
 * down at once: there is nothing to protect by waiting.  After that, `fall`
 * bad checks in a row take it down and `rise` good ones bring it back; a
 * good check that a `backend readd` waits for brings it back at once.
 * Disabled, it is not checked and its health is unknown; enabled again,
 * counting starts over.  Drained changes nothing here: a drained backend
 * is still checked, so it is known to be up when it is undrained.
 */
#ifndef HEALTH_STATE_H
#define HEALTH_STATE_H

/* Results in a row, of one backend's checks. */
struct hstate {
	int	nbad;
	int	ngood;
};

/* Why the health moved. */
enum hstate_why {
	HSTATE_FIRST = 1,	/* the first check */
	HSTATE_ROW,		/* fall (or rise) results in a row */
	HSTATE_READD		/* a good check that a readd waited for */
};

/* A check ended, good (ok) or bad; cur is the health now (enum
 * health_state), fall and rise the backend's settings (below 1: 1),
 * readd whether a `backend readd` waits for this check.  Returns the
 * health to move to (cur: no move), and *why when it moves; *inrow is the
 * count of results like this one in a row, for the reason. */
int	hstate_check(struct hstate *, int cur, int ok, int fall, int rise,
	    int readd, int *why, int *inrow);
/* Disabled: the health it moves to (unknown); counting stops. */
int	hstate_disabled(struct hstate *);
/* Enabled again: counting starts over. */
void	hstate_enabled(struct hstate *);

#endif

/*
 * health_state: the transitions of a backend's health (see health_state.h).
 */
#include "words.h"
#include "health_state.h"

int
hstate_check(struct hstate *hs, int cur, int ok, int fall, int rise,
    int readd, int *why, int *inrow)
{
	if (fall < 1)
		fall = 1;
	if (rise < 1)
		rise = 1;
	if (ok) {
		hs->ngood++;
		hs->nbad = 0;
		*inrow = hs->ngood;
		if (readd && cur != HEALTH_UP) {
			*why = HSTATE_READD;
			return HEALTH_UP;
		}
		if (cur == HEALTH_UNKNOWN) {
			*why = HSTATE_FIRST;
			return HEALTH_UP;
		}
		if (cur == HEALTH_DOWN && hs->ngood >= rise) {
			*why = HSTATE_ROW;
			return HEALTH_UP;
		}
		return cur;
	}
	hs->nbad++;
	hs->ngood = 0;
	*inrow = hs->nbad;
	if (cur == HEALTH_UNKNOWN) {
		*why = HSTATE_FIRST;
		return HEALTH_DOWN;
	}
	if (cur != HEALTH_DOWN && hs->nbad >= fall) {
		*why = HSTATE_ROW;
		return HEALTH_DOWN;
	}
	return cur;
}

int
hstate_disabled(struct hstate *hs)
{
	hs->nbad = hs->ngood = 0;
	return HEALTH_UNKNOWN;
}

void
hstate_enabled(struct hstate *hs)
{
	hs->nbad = hs->ngood = 0;
}

/*
 * pace: a budget of main-thread CPU for changes while queries flow.
 *
 * On a machine whose CPUs the workers share, every ms the main thread
 * spends on a change (a drain, a batch's lines, a replace's slices, a
 * commit's build) comes out of the query path: measured under a load at
 * half the router's max, p99 during a change rose with the main thread's
 * CPU per second of it (25 ms/s: 1.5x; 450 ms/s: 3.3x), and a lower
 * scheduling weight (prio.c, SCHED_IDLE) did not stop it.  So a change
 * is spread out instead: a token bucket of thread CPU time
 * (CLOCK_THREAD_CPUTIME_ID, user and kernel), filled at the setting
 * change-cpu-budget (% of one core) and holding PACE_BURST_MS of it;
 * change work charges what it took, and once the bucket is empty the next
 * piece waits (by a timer) until it is not.  A change takes longer; a
 * query does not notice it.
 *
 * The gate: the budget applies only while queries flow, at least
 * PACE_GATE_QPS over the last PACE_SAMPLE_MS (the workers' counters, read
 * every PACE_SAMPLE_MS).  They are read only while changes (or show
 * stats) ask, until PACE_IDLE_MS after the last ask: an idle router runs
 * no timer for it.  The first ask after a pause sees the rate since the
 * last reading, an average over the pause (right for a steady load; and
 * the bucket is full then, so it decides little).  With no queries (a
 * start-up batch, an idle router) nothing is paced.  Not the workers'
 * CPU: an idle worker's own 10 ms tick costs 1-3% of a core under the
 * sanitizers, and a change makes it dearer (cache, preemption), so the
 * change itself would open the gate.
 *
 * What is not counted: the threads a commit's build starts (their CPU is
 * their own); a piece of work that cannot be cut (a commit's build, a
 * replace's diff) runs whole and leaves the bucket in debt, paid by
 * waiting before the next piece, and a debt is capped at
 * PACE_DEBT_MAX_MS of waiting.
 */
#include <stdatomic.h>
#include <stdint.h>
#include <time.h>

#include <event2/event.h>

#include "config.h"
#include "log.h"
#include "pace.h"
#include "state.h"
#include "stats.h"
#include "util.h"
#include "worker.h"

/* How often the workers' query counters are read, and the window the
 * gate sees. */
#define PACE_SAMPLE_MS		100
/* The readings stop this long after the last ask. */
#define PACE_IDLE_MS		1000
/* The queries a second (UDP and TCP, all workers) in that window from
 * which the budget applies. */
#define PACE_GATE_QPS		500
/* What a change may spend at once when the bucket is full, in ms of
 * refill: a single drain goes at once, a stream of them is spread. */
#define PACE_BURST_MS		200
/* The longest wait one piece's debt may cause. */
#define PACE_DEBT_MAX_MS	1000
/* A wait lasts until the bucket holds this much CPU again (or half of
 * it, if less), not just until it is out of debt: each wake-up costs
 * the main thread (and a batch's client) too, so a change line each
 * millisecond was dearer than some lines every 20 ms. */
#define PACE_RESUME_US		1000
/* No timer shorter than this. */
#define PACE_WAIT_MIN_US	1000

static struct event	*sample_ev;
static uint64_t		 last_wall_ns, last_queries, asked_ns;
static int		 flowing;	/* the gate, as last sampled */

static int64_t		 level_ns;	/* CPU in the bucket (< 0: a debt) */
static uint64_t		 fill_ns;	/* wall time of the last refill */

static uint64_t		 n_waits, waited_us, charged_ns;

static uint64_t
clock_ns(clockid_t id)
{
	struct timespec ts;

	if (clock_gettime(id, &ts) == -1)
		return 0;
	return (uint64_t)ts.tv_sec * 1000000000 + (uint64_t)ts.tv_nsec;
}

/* The queries the workers have received so far. */
static uint64_t
queries(void)
{
	const struct stats *st;
	uint64_t n = 0;
	int i;

	for (i = 0; i < dr->nworkers; i++) {
		st = worker_stats(dr->workers[i]);
		n += atomic_load_explicit(&st->queries_udp,
		    memory_order_relaxed) +
		    atomic_load_explicit(&st->queries_tcp,
		    memory_order_relaxed);
	}
	return n;
}

/* The gate from the queries since the last reading. */
static void
sample(uint64_t wall)
{
	uint64_t n = queries();

	if (wall > last_wall_ns)
		flowing = (n - last_queries) * 1000000000 >=
		    (wall - last_wall_ns) * PACE_GATE_QPS;
	last_wall_ns = wall;
	last_queries = n;
}

static void
sample_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct timeval tv = { 0, PACE_SAMPLE_MS * 1000 };
	uint64_t wall = clock_ns(CLOCK_MONOTONIC);

	(void)fd;
	(void)ev;
	(void)arg;
	sample(wall);
	if (wall - asked_ns < (uint64_t)PACE_IDLE_MS * 1000000)
		evtimer_add(sample_ev, &tv);
}

/* A change (or show stats) wants the gate: read now if the readings
 * stopped, and go on reading. */
static void
ask(void)
{
	struct timeval tv = { 0, PACE_SAMPLE_MS * 1000 };
	uint64_t wall = clock_ns(CLOCK_MONOTONIC);

	asked_ns = wall;
	if (sample_ev == NULL || evtimer_pending(sample_ev, NULL))
		return;
	sample(wall);
	evtimer_add(sample_ev, &tv);
}

void
pace_start(struct event_base *base)
{
	last_wall_ns = clock_ns(CLOCK_MONOTONIC);
	last_queries = queries();
	if ((sample_ev = evtimer_new(base, sample_cb, NULL)) == NULL)
		fatalx("evtimer_new failed");
}

void
pace_stop(void)
{
	if (sample_ev != NULL)
		event_free(sample_ev);
	sample_ev = NULL;
	flowing = 0;
}

static int
budget_pct(void)
{
	return dr != NULL && dr->cfg != NULL ? dr->cfg->set.change_cpu_pct :
	    0;
}

int
pace_on(void)
{
	if (budget_pct() == 0)
		return 0;
	ask();
	return flowing;
}

/* The bucket filled up to now, at pct % of the wall time gone by. */
static void
refill(int pct)
{
	uint64_t now = clock_ns(CLOCK_MONOTONIC);
	int64_t cap = (int64_t)PACE_BURST_MS * 1000000 * pct / 100;

	if (fill_ns != 0 && now > fill_ns)
		level_ns += (int64_t)((now - fill_ns) * (uint64_t)pct / 100);
	fill_ns = now;
	if (level_ns > cap)
		level_ns = cap;
}

uint64_t
pace_mark(void)
{
	return pace_on() ? thread_cpu_ns() : 0;
}

void
pace_charge(uint64_t mark)
{
	int64_t debt_max;
	uint64_t now;
	int pct = budget_pct();

	if (mark == 0 || pct == 0)
		return;
	now = thread_cpu_ns();
	if (now <= mark)
		return;
	refill(pct);
	charged_ns += now - mark;
	level_ns -= (int64_t)(now - mark);
	debt_max = (int64_t)PACE_DEBT_MAX_MS * 1000000 * pct / 100;
	if (level_ns < -debt_max)
		level_ns = -debt_max;
}

uint64_t
pace_wait_us(void)
{
	int64_t resume;
	uint64_t us;
	int pct = budget_pct();

	if (!pace_on())
		return 0;
	refill(pct);
	if (level_ns >= 0)
		return 0;
	/* Until the debt is paid and the bucket holds resume, at pct % of
	 * the wall time. */
	resume = (int64_t)PACE_RESUME_US * 1000;
	if (resume > (int64_t)PACE_BURST_MS * 1000000 * pct / 200)
		resume = (int64_t)PACE_BURST_MS * 1000000 * pct / 200;
	us = (uint64_t)(resume - level_ns) * 100 / (uint64_t)pct / 1000;
	return us < PACE_WAIT_MIN_US ? PACE_WAIT_MIN_US : us;
}

void
pace_waits(uint64_t us)
{
	n_waits++;
	waited_us += us;
}

void
pace_stats(void (*row)(void *, const char *, long long, const char *),
    void *arg)
{
	row(arg, "pace-on", pace_on(), "1 while queries flow and changes "
	    "are held to change-cpu-budget");
	row(arg, "pace-waits", (long long)n_waits, "times a change waited for "
	    "the change-cpu-budget");
	row(arg, "pace-waited-ms", (long long)(waited_us / 1000), "how long "
	    "changes waited for the change-cpu-budget");
	row(arg, "pace-cpu-ms", (long long)(charged_ns / 1000000), "the main "
	    "thread's CPU changes took while the budget applied");
}

/*
 * bulk: a low-priority thread for the main thread's long work (bulk.h).
 *
 * A job is handed over under a mutex and the caller waits on a condition
 * until it is done: one job at a time, from one caller (the main thread),
 * so the thread is an extension of the caller's stack, only scheduled
 * after everything else.  When the thread has not begun a job within
 * BULK_START_US (every CPU busy with work of normal priority: the
 * workers', say, at their max), the caller takes the job back and runs it
 * itself, as if there were no bulk thread (and the jobs of the next
 * BULK_BACKOFF_US too, without waiting): the control socket and the
 * health checks never wait long for a CPU that is not coming.  Jobs are kept
 * short (bulk_loop's slices) so that one begun before the CPUs filled up
 * ends soon too.  The thread blocks every signal: they stay the main
 * thread's (libevent's handlers).
 */
#include <sys/resource.h>
#include <sys/syscall.h>
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bulk.h"
#include "log.h"
#include "util.h"

/* How long the caller waits for the thread to begin a job. */
#define BULK_START_US	20000
/* After a job taken back, the next ones are run on the spot for this
 * long, without waiting for the thread: the CPUs are full. */
#define BULK_BACKOFF_US	50000
/* A slice of bulk_loop, in wall time on the thread that runs it. */
#define BULK_SLICE_US	2000

static struct {
	pthread_t	 thr;
	pthread_mutex_t	 mtx;
	pthread_cond_t	 go, cond;
	void		(*fn)(void *);
	void		*arg;
	int		 running;	/* the thread is up */
	int		 posted;	/* a job waits for the thread */
	int		 busy;		/* the thread runs one */
	int		 stop;
	uint64_t	 backoff_us;	/* run on the spot until then */
} bk = {
	.mtx = PTHREAD_MUTEX_INITIALIZER,
	.go = PTHREAD_COND_INITIALIZER,
	.cond = PTHREAD_COND_INITIALIZER,
};

/* The lowest priority there is, for this thread only. */
static void
lowest_priority(void)
{
	struct sched_param sp;

	memset(&sp, 0, sizeof(sp));
	if ((errno = pthread_setschedparam(pthread_self(), SCHED_IDLE,
	    &sp)) == 0)
		return;
	/* On Linux a nice value is a thread's own. */
	if (setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), 19) == -1)
		log_warn("bulk thread: neither SCHED_IDLE nor nice 19");
}

static void *
bulk_main(void *arg)
{
	void (*fn)(void *);
	void *farg;

	(void)arg;
	lowest_priority();
	pthread_mutex_lock(&bk.mtx);
	for (;;) {
		while (!bk.posted && !bk.stop)
			pthread_cond_wait(&bk.go, &bk.mtx);
		if (!bk.posted)
			break;
		fn = bk.fn;
		farg = bk.arg;
		bk.posted = 0;
		bk.busy = 1;
		pthread_mutex_unlock(&bk.mtx);
		fn(farg);
		pthread_mutex_lock(&bk.mtx);
		bk.busy = 0;
		pthread_cond_signal(&bk.cond);
	}
	pthread_mutex_unlock(&bk.mtx);
	return NULL;
}

void
bulk_start(void)
{
	sigset_t all, old;

	if (bk.running)
		return;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	if ((errno = pthread_create(&bk.thr, NULL, bulk_main, NULL)) != 0)
		log_warn("bulk thread: the long work stays on the main "
		    "thread");
	else
		bk.running = 1;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
}

int
bulk_here(void)
{
	return bk.running && pthread_equal(pthread_self(), bk.thr);
}

void
bulk_run(void (*fn)(void *), void *arg)
{
	struct timespec ts;
	int taken = 0;

	if (!bk.running || bulk_here() || now_us() < bk.backoff_us) {
		fn(arg);
		return;
	}
	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_nsec += BULK_START_US * 1000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&bk.mtx);
	bk.fn = fn;
	bk.arg = arg;
	bk.posted = 1;
	pthread_cond_signal(&bk.go);
	while (bk.posted)
		if (pthread_cond_timedwait(&bk.cond, &bk.mtx, &ts) ==
		    ETIMEDOUT && bk.posted) {
			bk.posted = 0;
			taken = 1;
			break;
		}
	while (bk.busy)
		pthread_cond_wait(&bk.cond, &bk.mtx);
	pthread_mutex_unlock(&bk.mtx);
	if (taken) {
		bk.backoff_us = now_us() + BULK_BACKOFF_US;
		fn(arg);
	}
}

struct loop {
	int	(*fn)(void *, uint64_t);
	void	*arg;
	int	 more;
};

static void
loop_cb(void *arg)
{
	struct loop *l = arg;

	l->more = l->fn(l->arg, now_us() + BULK_SLICE_US);
}

void
bulk_loop(int (*fn)(void *arg, uint64_t deadline_us), void *arg)
{
	struct loop l = { fn, arg, 1 };

	while (l.more)
		bulk_run(loop_cb, &l);
}

void
bulk_stop(void)
{
	if (!bk.running)
		return;
	pthread_mutex_lock(&bk.mtx);
	bk.stop = 1;
	pthread_cond_signal(&bk.go);
	pthread_mutex_unlock(&bk.mtx);
	if ((errno = pthread_join(bk.thr, NULL)) != 0)
		fatal("pthread_join");
	bk.running = 0;
	bk.stop = 0;
}

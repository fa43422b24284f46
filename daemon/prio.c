/*
 * prio: the main thread's scheduling weight while it applies a change.
 *
 * The workers answer queries; the main thread applies changes (a batch's
 * lines, a --replace, the snapshot built at a commit) and does the rest
 * of the control plane.  On a machine whose CPUs the workers already
 * share with other programs, a change's burst of main-thread CPU makes
 * the workers wait for a CPU, and the query latency jumps while it runs.
 * So while a change runs the main thread's nice value is raised by
 * PRIO_CHANGE_NICE (a tenth of a worker's weight); a change takes longer
 * only when the CPUs are all busy, and queries keep theirs.  Threads the
 * main thread starts meanwhile (the parallel part of a snapshot's build)
 * inherit it, as they do the change's work.
 *
 * Linux keeps a nice value per thread.  Raising it is always allowed;
 * lowering it back is not, without CAP_SYS_NICE or an RLIMIT_NICE that
 * allows it.  A daemon started as root raises that limit for itself before
 * it drops privileges (-u), where it can; when the value could not be
 * restored, it is never raised: the control plane (health checks, control
 * answers) must not stay behind for good.
 */
#include <sys/resource.h>
#include <sys/syscall.h>

#include <linux/capability.h>

#include <errno.h>
#include <unistd.h>

#include "log.h"
#include "prio.h"

static id_t	tid;		/* the main thread's (prio_init's caller) */
static int	base;		/* the main thread's nice value at start */
static int	able = -1;	/* it can be restored (-1: not known yet) */
static int	inited;		/* prio_init ran: in the daemon, not a test */
static int	depth;
static int	raised;

/* The lowest nice value RLIMIT_NICE lets us set (-20..20, 20: none). */
static int
nice_floor(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NICE, &rl) == -1)
		return 20;
	if (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur >= 40)
		return -20;
	return 20 - (int)rl.rlim_cur;
}

/* The thread has CAP_SYS_NICE (root keeps it only until -u). */
static int
cap_nice(void)
{
	struct __user_cap_header_struct hdr = {
		_LINUX_CAPABILITY_VERSION_3, 0
	};
	struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3];

	if (syscall(SYS_capget, &hdr, data) == -1)
		return 0;
	return (data[CAP_TO_INDEX(CAP_SYS_NICE)].effective &
	    CAP_TO_MASK(CAP_SYS_NICE)) != 0;
}

/* On the main thread's id, kept: a change's two calls are two system
 * calls, not four. */
static int
set_nice(int n)
{
	return setpriority(PRIO_PROCESS, tid, n);
}

void
prio_init(void)
{
	struct rlimit rl;

	inited = 1;
	tid = (id_t)syscall(SYS_gettid);
	errno = 0;
	base = getpriority(PRIO_PROCESS, tid);
	if (base == -1 && errno != 0)
		base = 0;
	/* After -u drops root, the user may still go back to base (root
	 * in a container may lack CAP_SYS_NICE too). */
	if (nice_floor() > base) {
		rl.rlim_cur = rl.rlim_max = (rlim_t)(20 - base);
		(void)setrlimit(RLIMIT_NICE, &rl);
	}
}

void
prio_change_enter(void)
{
	if (depth++ > 0 || !inited)
		return;
	if (able == -1)
		able = cap_nice() || nice_floor() <= base;
	if (!able || base >= 19)
		return;
	raised = set_nice(base + PRIO_CHANGE_NICE > 19 ? 19 :
	    base + PRIO_CHANGE_NICE) == 0;
}

void
prio_change_leave(void)
{
	if (depth == 0 || --depth > 0 || !raised)
		return;
	raised = 0;
	if (set_nice(base) == -1) {
		log_warn("cannot restore the main thread's priority; changes "
		    "no longer lower it");
		able = 0;
	}
}

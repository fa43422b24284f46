/*
 * syscount: counts the system calls a relay makes on its query path, for
 * tests/bench/sys.sh (make bench-sys).  Preloaded into dnsrouted or the
 * floor relay:
 *
 *	cc -O2 -shared -fPIC -o syscount.so syscount.c -ldl
 *	SYSCOUNT_FILE=F LD_PRELOAD=./syscount.so PROGRAM ...
 *
 * On the benchmark's machine a system call costs about a microsecond
 * (half of it accounted as user time), as much as a thousand instructions,
 * so their number per query says as much about a relay's CPU as its
 * instruction count (bench-irq).  The counts are 64-bit words in F, one per
 * enum cnt below, updated in place (relaxed atomic adds), so that the
 * script reads them while the process runs, before and after a load.
 * dnsrouted makes recvmmsg and sendmmsg through syscall(2) (see txq.h);
 * those are counted there.  Calls made inside libc (clock_gettime's vDSO,
 * or a libc function calling another internally) are not seen.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE		/* RTLD_NEXT, recvmmsg, ppoll */
#endif
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

/* The order of the words in the file; sys.sh reads them by position. */
enum cnt {
	C_RECVMMSG,		/* calls */
	C_RECVMMSG_DGRAMS,	/* datagrams they returned */
	C_RECVMMSG_EMPTY,	/* calls that returned none (EAGAIN) */
	C_SENDMMSG,
	C_SENDMMSG_DGRAMS,
	C_EPOLL_WAIT,
	C_EPOLL_EVENTS,
	C_POLL,			/* poll and ppoll */
	C_READ,
	C_WRITE,
	C_OTHER_IO,		/* sendmsg, recvmsg, sendto, recvfrom */
	C_OTHER_SYSCALL,	/* any other through syscall(2) */
	C__COUNT
};

static _Atomic uint64_t	*cnt;

#define ADD(i, v)	do {						\
	if (cnt != NULL)						\
		atomic_fetch_add_explicit(&cnt[(i)], (uint64_t)(v),	\
		    memory_order_relaxed);				\
} while (0)

static void	syscount_init(void) __attribute__((constructor));

static void
syscount_init(void)
{
	char path[256];
	const char *f;
	void *p;
	int fd;

	if ((f = getenv("SYSCOUNT_FILE")) == NULL) {
		snprintf(path, sizeof(path), "/tmp/syscount.%d", (int)getpid());
		f = path;
	}
	if ((fd = open(f, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)) == -1)
		return;
	if (ftruncate(fd, C__COUNT * sizeof(uint64_t)) == 0 &&
	    (p = mmap(NULL, C__COUNT * sizeof(uint64_t), PROT_READ |
	    PROT_WRITE, MAP_SHARED, fd, 0)) != MAP_FAILED)
		cnt = p;
	close(fd);
}

/* The next definition of name (libc's), looked up once. */
#define REAL(name)							\
	static __typeof__(&name) real_##name;				\
	if (real_##name == NULL)					\
		real_##name = (__typeof__(&name))dlsym(RTLD_NEXT, #name)

static void
mmsg_count(int recv, long r)
{
	if (recv) {
		ADD(C_RECVMMSG, 1);
		if (r > 0)
			ADD(C_RECVMMSG_DGRAMS, r);
		else
			ADD(C_RECVMMSG_EMPTY, 1);
	} else {
		ADD(C_SENDMMSG, 1);
		if (r > 0)
			ADD(C_SENDMMSG_DGRAMS, r);
	}
}

long
syscall(long n, ...)
{
	REAL(syscall);
	va_list ap;
	long a[6], r;
	int i, e;

	va_start(ap, n);
	for (i = 0; i < 6; i++)
		a[i] = va_arg(ap, long);
	va_end(ap);
	r = real_syscall(n, a[0], a[1], a[2], a[3], a[4], a[5]);
	e = errno;
	if (n == SYS_recvmmsg || n == SYS_sendmmsg)
		mmsg_count(n == SYS_recvmmsg, r);
	else
		ADD(C_OTHER_SYSCALL, 1);
	errno = e;
	return r;
}

int
recvmmsg(int fd, struct mmsghdr *m, unsigned int n, int flags,
    struct timespec *t)
{
	REAL(recvmmsg);
	int r = real_recvmmsg(fd, m, n, flags, t), e = errno;

	mmsg_count(1, r);
	errno = e;
	return r;
}

int
sendmmsg(int fd, struct mmsghdr *m, unsigned int n, int flags)
{
	REAL(sendmmsg);
	int r = real_sendmmsg(fd, m, n, flags), e = errno;

	mmsg_count(0, r);
	errno = e;
	return r;
}

int
epoll_wait(int ep, struct epoll_event *ev, int max, int ms)
{
	REAL(epoll_wait);
	int r = real_epoll_wait(ep, ev, max, ms), e = errno;

	ADD(C_EPOLL_WAIT, 1);
	if (r > 0)
		ADD(C_EPOLL_EVENTS, r);
	errno = e;
	return r;
}

int
ppoll(struct pollfd *p, nfds_t n, const struct timespec *t,
    const sigset_t *s)
{
	REAL(ppoll);

	ADD(C_POLL, 1);
	return real_ppoll(p, n, t, s);
}

int
poll(struct pollfd *p, nfds_t n, int ms)
{
	REAL(poll);

	ADD(C_POLL, 1);
	return real_poll(p, n, ms);
}

ssize_t
read(int fd, void *buf, size_t len)
{
	REAL(read);

	ADD(C_READ, 1);
	return real_read(fd, buf, len);
}

ssize_t
write(int fd, const void *buf, size_t len)
{
	REAL(write);

	ADD(C_WRITE, 1);
	return real_write(fd, buf, len);
}

ssize_t
sendmsg(int fd, const struct msghdr *m, int flags)
{
	REAL(sendmsg);

	ADD(C_OTHER_IO, 1);
	return real_sendmsg(fd, m, flags);
}

ssize_t
recvmsg(int fd, struct msghdr *m, int flags)
{
	REAL(recvmsg);

	ADD(C_OTHER_IO, 1);
	return real_recvmsg(fd, m, flags);
}

ssize_t
sendto(int fd, const void *buf, size_t len, int flags,
    const struct sockaddr *to, socklen_t tolen)
{
	REAL(sendto);

	ADD(C_OTHER_IO, 1);
	return real_sendto(fd, buf, len, flags, to, tolen);
}

ssize_t
recvfrom(int fd, void *buf, size_t len, int flags, struct sockaddr *from,
    socklen_t *fromlen)
{
	REAL(recvfrom);

	ADD(C_OTHER_IO, 1);
	return real_recvfrom(fd, buf, len, flags, from, fromlen);
}

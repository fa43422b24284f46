/*
 * unit.h: the smallest table-driven test harness.  CHECK records a failure
 * with file:line and goes on; each test binary ends with UNIT_DONE(), which
 * prints "unit NAME: N passed, N failed" and exits non-zero on failure.
 */
#ifndef UNIT_H
#define UNIT_H

#include <stdio.h>
#include <stdlib.h>

static int unit_pass, unit_fail;

#define CHECK(cond) do {						\
	if (cond)							\
		unit_pass++;						\
	else {								\
		unit_fail++;						\
		fprintf(stderr, "%s:%d: CHECK failed: %s\n",		\
		    __FILE__, __LINE__, #cond);				\
	}								\
} while (0)

#define CHECKF(cond, ...) do {						\
	if (cond)							\
		unit_pass++;						\
	else {								\
		unit_fail++;						\
		fprintf(stderr, "%s:%d: CHECK failed: %s: ",		\
		    __FILE__, __LINE__, #cond);				\
		fprintf(stderr, __VA_ARGS__);				\
		fputc('\n', stderr);					\
	}								\
} while (0)

#define UNIT_DONE(name) do {						\
	printf("unit %s: %d passed, %d failed\n", name, unit_pass,	\
	    unit_fail);							\
	return unit_fail ? 1 : 0;					\
} while (0)

#endif

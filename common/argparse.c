/*
 * argparse: shared argument forms (see argparse.h).
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "argparse.h"
#include "conf.h"

/* 1 to CONF_NAME_MAX - 1 characters, none a '-' first, each one ok() takes. */
static int
word_of(const char *s, int (*ok)(int))
{
	size_t n = strlen(s), i;

	if (n == 0 || n >= CONF_NAME_MAX || s[0] == '-')
		return 0;
	for (i = 0; i < n; i++)
		if (!ok((unsigned char)s[i]))
			return 0;
	return 1;
}

static int
name_char(int c)
{
	return isalnum(c) || c == '-' || c == '_' || c == '.';
}

int
arg_name_ok(const char *s)
{
	return word_of(s, name_char);
}

int
arg_ref_ok(const char *s)
{
	return word_of(s, isgraph);
}

int
arg_duration_ms(const char *s, int seconds_default, long min, long max,
    long *out)
{
	char *end;
	double v;

	v = strtod(s, &end);
	if (end == s || !(v >= 0))
		return -1;
	if (strcmp(end, "ms") == 0)
		;
	else if (strcmp(end, "s") == 0)
		v *= 1000;
	else if (*end == '\0')
		v *= seconds_default ? 1000 : 1;
	else
		return -1;
	if (v < min || v > max)
		return -1;
	*out = (long)v;
	return 0;
}

/*
 * libexec: where dnsroutectl's helpers are.  The zone commands (ldns) and
 * the interactive shell (libedit) are programs of their own, so that a
 * dnsroutectl running one command loads neither; they are installed in
 * pkglibexecdir.  DNSROUTE_LIBEXECDIR names another place (the tests);
 * without it, a helper beside the running program comes first: that is
 * a build tree (ctl/dnsroutectl and its helpers, built together), where
 * the one in pkglibexecdir would be another build's or none at all.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctl.h"

#ifndef DNSROUTE_LIBEXECDIR
#define DNSROUTE_LIBEXECDIR	"/usr/local/libexec/dnsroute"
#endif

/* NAME in the running program's directory, if it is there. */
static int
beside_self(const char *name, char *buf, size_t len)
{
	char self[PATH_MAX];
	ssize_t n;
	char *slash;

	if ((n = readlink("/proc/self/exe", self, sizeof(self) - 1)) <= 0)
		return -1;
	self[n] = '\0';
	if ((slash = strrchr(self, '/')) == NULL)
		return -1;
	*slash = '\0';
	if ((size_t)snprintf(buf, len, "%s/%s", self, name) >= len)
		return -1;
	return access(buf, X_OK);
}

int
ctl_helper_path(const char *name, char *buf, size_t len)
{
	const char *dir;

	if ((dir = getenv("DNSROUTE_LIBEXECDIR")) == NULL || *dir == '\0') {
		if (beside_self(name, buf, len) == 0)
			return 0;
		dir = DNSROUTE_LIBEXECDIR;
	}
	return (size_t)snprintf(buf, len, "%s/%s", dir, name) >= len ? -1 : 0;
}

/* The output flags, as a helper takes them: -j (--json), -q, -H. */
int
ctl_helper_args(const struct ctl *ctl, const char **argv)
{
	int argc = 0;

	if (ctl->out == &output_json)
		argv[argc++] = "-j";
	if (ctl->quiet)
		argv[argc++] = "-q";
	if (ctl->noheader)
		argv[argc++] = "-H";
	return argc;
}

int
ctl_helper_opt(struct ctl *ctl, int ch)
{
	switch (ch) {
	case 'H':
		ctl->noheader = 1;
		return 1;
	case 'j':
		ctl->out = &output_json;
		return 1;
	case 'q':
		ctl->quiet = 1;
		return 1;
	default:
		return 0;
	}
}

/*
 * script: the reader of command texts (see script.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "script.h"
#include "util.h"

void
script_init_fp(struct script *sc, FILE *fp)
{
	memset(sc, 0, sizeof(*sc));
	sc->fp = fp;
}

void
script_init_mem(struct script *sc, const char *buf, size_t len)
{
	memset(sc, 0, sizeof(*sc));
	sc->mem = buf;
	sc->end = buf + len;
}

void
script_free(struct script *sc)
{
	free(sc->line);
	free(sc->cmd);
	sc->line = sc->cmd = NULL;
}

/* The next raw line into sc->line: 1, 0 at the end, -1 on error. */
static int
read_line(struct script *sc)
{
	const char *nl;
	size_t n;

	if (sc->fp != NULL) {
		if (getline(&sc->line, &sc->linecap, sc->fp) != -1)
			return 1;
		return ferror(sc->fp) ? -1 : 0;
	}
	if (sc->mem >= sc->end)
		return 0;
	nl = memchr(sc->mem, '\n', (size_t)(sc->end - sc->mem));
	n = nl != NULL ? (size_t)(nl - sc->mem) + 1 :
	    (size_t)(sc->end - sc->mem);
	if (n + 1 > sc->linecap) {
		sc->linecap = n + 1;
		sc->line = xrealloc(sc->line, sc->linecap);
	}
	memcpy(sc->line, sc->mem, n);
	sc->line[n] = '\0';
	sc->mem += n;
	return 1;
}

/* Strip the newline; returns 1 if the line continues on the next one. */
static int
chop(char *line)
{
	size_t len = strlen(line);
	const char *p = line;

	while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
		line[--len] = '\0';
	while (*p == ' ' || *p == '\t')
		p++;
	if (*p == '#' || len == 0 || line[len - 1] != '\\')
		return 0;
	/* The backslash stands for one blank. */
	if (len > 1 && (line[len - 2] == ' ' || line[len - 2] == '\t'))
		line[len - 1] = '\0';
	else
		line[len - 1] = ' ';
	return 1;
}

int
script_next(struct script *sc, char **cmd, unsigned *start)
{
	size_t l;
	char *p;
	int r, more;

	sc->cmdlen = 0;
	while ((r = read_line(sc)) == 1) {
		sc->lineno++;
		if (sc->cmdlen == 0)
			sc->start = sc->lineno;
		p = sc->line;
		if (sc->cmdlen > 0)
			p += strspn(p, " \t");	/* the indentation */
		more = chop(sc->line);
		l = strlen(p);
		if (sc->cmdlen + l + 1 > sc->cmdcap) {
			sc->cmdcap = (sc->cmdlen + l + 1) * 2;
			sc->cmd = xrealloc(sc->cmd, sc->cmdcap);
		}
		memcpy(sc->cmd + sc->cmdlen, p, l + 1);
		sc->cmdlen += l;
		if (more)
			continue;
		*cmd = sc->cmd;
		*start = sc->start;
		return 1;
	}
	if (r == -1)
		return -1;
	if (sc->cmdlen > 0) {
		/* The last line ended in '\'. */
		*cmd = sc->cmd;
		*start = sc->start;
		return 1;
	}
	return 0;
}

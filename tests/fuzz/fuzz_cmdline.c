// FUZZ-BUILD: common/tokenize.c common/cmdtab.c common/util.c common/log.c
/*
 * fuzz_cmdline: libFuzzer target for the command-line path every command
 * takes: tok_split(), then cmd_lookup().  Beyond not crashing, it checks
 * the quoting contract: each word, passed through tok_quote() and the
 * quoted words split again, gives back exactly the same words.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmdtab.h"
#include "tokenize.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tok_line t, t2;
	const struct cmd_spec *c;
	char err[256], *line, *joined, *q;
	size_t cap, len = 0, qcap;
	int i, nw, r;

	if (size > 64 * 1024)
		return 0;
	/* A C string: stop at the first NUL, as a line read from a socket
	 * or a file is taken. */
	line = malloc(size + 1);
	memcpy(line, data, size);
	line[size] = '\0';

	if (tok_split(line, &t, err, sizeof(err)) == -1) {
		if (t.open_quote && t.last_word_start >= strlen(line))
			abort();
		free(line);
		return 0;
	}
	if (t.argc < 0 || t.argc > TOK_MAX_WORDS || t.argv[t.argc] != NULL)
		abort();

	c = cmd_lookup(t.argc, t.argv, &nw, err, sizeof(err));
	if (c != NULL && (nw < 1 || nw > t.argc))
		abort();

	/* Quote every word and split again. */
	cap = 1;
	for (i = 0; i < t.argc; i++)
		cap += 2 * strlen(t.argv[i]) + 3;
	joined = malloc(cap);
	qcap = cap;
	q = malloc(qcap);
	joined[0] = '\0';
	for (i = 0; i < t.argc; i++) {
		if ((r = tok_quote(t.argv[i], q, qcap)) < 0)
			abort();
		if ((size_t)r != strlen(q))
			abort();
		if (i > 0)
			joined[len++] = ' ';
		memcpy(joined + len, q, r + 1);
		len += r;
	}
	if (tok_split(joined, &t2, err, sizeof(err)) == -1)
		abort();
	if (t2.argc != t.argc)
		abort();
	for (i = 0; i < t.argc; i++)
		if (strcmp(t.argv[i], t2.argv[i]) != 0)
			abort();
	tok_free(&t2);

	/* A word that needs no quotes is given back as it is. */
	for (i = 0; i < t.argc; i++) {
		if (tok_quote(t.argv[i], q, strlen(t.argv[i]) + 1) >= 0 &&
		    strcmp(q, t.argv[i]) != 0)
			abort();
	}

	free(q);
	free(joined);
	tok_free(&t);
	free(line);
	return 0;
}

/*
 * cmdgrammar: a command's grammar flattened (includes spliced in, entries
 * numbered in order), and where each entry's value sits in the command's
 * struct.  Shared by the parser (cmdparse.c) and the formatter
 * (cmdformat.c); not for use outside common/.
 */
#ifndef CMDGRAMMAR_H
#define CMDGRAMMAR_H

#include "cmdtab.h"

#define GRAMMAR_MAX	64	/* entries of one grammar (test_cmdtab) */

struct grammar {
	const struct cmd_arg	*a[GRAMMAR_MAX];
	int			 n;
};

/* The grammar of cs, flattened once (kept for the process). */
const struct grammar *cmd_grammar(const struct cmd_spec *);

/* The values that belong to the option or choice at index i: i and the
 * A_MORE entries after it.  Returns the index past them. */
static inline int
grammar_group_end(const struct grammar *g, int i)
{
	for (i++; i < g->n && g->a[i]->form == A_MORE; i++)
		;
	return i;
}

static inline void *
arg_field(const void *base, const struct cmd_arg *a)
{
	return (char *)base + a->off;
}

static inline int
arg_int(const void *base, const struct cmd_arg *a)
{
	return *(const int *)arg_field(base, a);
}

/* The count of a vector (S_PTRV, S_WORDS). */
static inline int
arg_count(const void *base, const struct cmd_arg *a)
{
	return *(const int *)((const char *)base + a->off2);
}

/* Word k of a vector. */
static inline const char *
arg_word(const void *base, const struct cmd_arg *a, int k)
{
	if (a->store == S_WORDS)
		return (*(char *const *const *)arg_field(base, a))[k];
	return ((const char *const *)arg_field(base, a))[k];
}

#endif

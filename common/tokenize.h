/*
 * tokenize: splits a command line into words, the same way everywhere a
 * command can come from (shell, -c, batch files, the socket).
 *
 * Words are separated by blanks.  'single quotes' keep everything literally.
 * "double quotes" keep everything but \" and \\, which stand for " and \.
 * Outside quotes a backslash is an ordinary character, so regexes such as
 * ^[ab]\.example\.$ need no quoting.  An unquoted '#' at the start of a word
 * starts a comment that runs to the end of the line.
 */
#ifndef TOKENIZE_H
#define TOKENIZE_H

#include <stddef.h>

/* A request line holds at most this many words (route lookup sends
 * hundreds of names in one). */
#define TOK_MAX_WORDS	8192

struct tok_line {
	int	 argc;
	char	**argv;				/* NULL-terminated, never NULL */
	char	*buf;				/* owns the words */
	size_t	 buflen;
	int	 open_quote;			/* set when the line ended inside quotes */
	size_t	 last_word_start;		/* offset in the input of the last word (completion) */
	int	 ends_in_blank;			/* input ended after a separator (completion) */
};

/* Split line into t.  Returns 0, or -1 with err set ("unterminated quote",
 * "too many words").  On success t must be released with tok_free(). */
int	tok_split(const char *line, struct tok_line *t, char *err, size_t errlen);
void	tok_free(struct tok_line *t);

/* Quote s so that tok_split() gives back exactly s as one word: returns s
 * unchanged when it needs nothing, else a 'quoted' form.  Writes into out;
 * returns -1 if out is too small. */
int	tok_quote(const char *s, char *out, size_t outlen);

#endif

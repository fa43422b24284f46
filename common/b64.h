/*
 * b64: base64 (RFC 4648, the standard alphabet with '=' padding), as etcd's
 * JSON gateway writes keys and values.  No allocation: the caller sizes the
 * output with the _LEN macros.
 */
#ifndef B64_H
#define B64_H

#include <stddef.h>

/* Encoded length of n bytes, without the NUL. */
#define B64_ENC_LEN(n)	((((n) + 2) / 3) * 4)
/* Enough for the bytes that len characters of base64 decode to. */
#define B64_DEC_MAX(len)	(((len) + 3) / 4 * 3)

/* Encode n bytes into out (B64_ENC_LEN(n) + 1 bytes, NUL-terminated).
 * Returns the length written, without the NUL. */
size_t	b64_encode(const void *src, size_t n, char *out);
/* Decode len characters into out (B64_DEC_MAX(len) bytes).  Padding may
 * be left out; anything else outside the alphabet, or padding in the
 * middle, is an error.  Returns the number of bytes, or -1. */
long	b64_decode(const char *src, size_t len, void *out);

#endif

/*
 * share_fmt: how the state a fleet shares is laid out in etcd, without any
 * I/O (share.c does the talking; the unit tests and a fuzz target link
 * this file alone).
 *
 * The state is the text `export` prints, secrets included: every line a
 * command, settings, pools, backends, routes in order (cmd_export.c).  In
 * etcd, under the fleet prefix (dnsrouted -E):
 *
 *   PREFIX state/head            the head: which chunks, in which order,
 *                                make the state, and who made it
 *   PREFIX state/chunks/NAME     a piece of the text; NAME is 32 hex
 *                                digits of its SHA-256
 *
 * The text is cut at line ends chosen by the lines themselves (a line
 * whose hash ends in eight zero bits ends a chunk of at least
 * SHARE_CHUNK_MIN bytes; SHARE_CHUNK_MAX ends one anyway), so a change to
 * one route changes one chunk wherever the route is, and a chunk already
 * in etcd is not sent again.  Since a chunk is named by its content, the
 * head alone decides the state: a change is the chunks it adds, then one
 * compare-and-swap of the head (share.c).
 */
#ifndef SHARE_FMT_H
#define SHARE_FMT_H

#include <stddef.h>
#include <stdint.h>

#define SHARE_FORMAT		1
#define SHARE_NAME_LEN		32		/* hex digits of a chunk name */
#define SHARE_DIGEST_LEN	64		/* hex SHA-256 of the whole text */
#define SHARE_CHUNK_MIN		1024
#define SHARE_CHUNK_MAX		(128 * 1024)
/* Some 500,000 routes; a replace's input may be 64 MiB, the state not. */
#define SHARE_TEXT_MAX		(32 * 1024 * 1024)
#define SHARE_ROUTER_MAX	64
#define SHARE_WHAT_MAX		256

#define SHARE_STATE_DIR		"state/"
#define SHARE_HEAD_KEY		"state/head"
#define SHARE_CHUNK_DIR		"state/chunks/"

struct share_chunk {
	size_t	 off, len;			/* in the text */
	char	 name[SHARE_NAME_LEN + 1];
};

/* Cut text (len bytes) into chunks: *out (malloc'd) gets them in order,
 * the count is returned; 0 for the empty text. */
size_t	share_split(const char *text, size_t len, struct share_chunk **out);
/* The SHA-256 of data in hex. */
void	share_digest(const void *data, size_t len,
	    char out[SHARE_DIGEST_LEN + 1]);

typedef char share_name[SHARE_NAME_LEN + 1];

/* The head: the state's chunks in order, its size and digest, and the
 * change that made it (serial, router, when, operator, a short text). */
struct share_head {
	int64_t		 serial;
	char		 digest[SHARE_DIGEST_LEN + 1];
	int64_t		 bytes;
	share_name	*chunks;
	size_t		 nchunks;
	char		 router[SHARE_ROUTER_MAX];
	int64_t		 time_us;
	long		 uid, pid;
	char		 what[SHARE_WHAT_MAX];
};

/* The head's value (flat JSON, malloc'd).  what may hold anything: bytes
 * outside printable ASCII go out as '?'. */
char	*share_head_format(const struct share_head *);
/* Parse a head's value: 0, or -1 with the reason ("format 2: written by
 * a newer dnsrouted", "bad chunk name ...").  On 0 the caller frees it
 * with share_head_free. */
int	share_head_parse(const char *val, size_t len, struct share_head *,
	    char *err, size_t errlen);
void	share_head_free(struct share_head *);
/* Is name a chunk name (32 lowercase hex digits)? */
int	share_name_ok(const char *name);

#endif

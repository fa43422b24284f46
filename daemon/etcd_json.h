/*
 * etcd_json: the etcd client's wire format, without any I/O: request
 * bodies, decoding of responses and watch messages, and the splitter that
 * cuts a watch's byte stream into JSON objects.  Jansson lives here and in
 * no other file; the unit tests and the fuzz target link this file alone.
 *
 * What the gateway does that we rely on (etcd 3.4, grpc-gateway): request
 * and response are the protobuf messages in JSON, field names in the
 * protobuf's snake_case (maintenance status alone answers in camelCase:
 * dbSize), bytes as base64, int64 and uint64 as decimal strings, fields at
 * their zero value left out (an empty range has no "kvs", a failed txn no
 * "succeeded", a PUT event no "type").  A refused unary call is an HTTP
 * error status with {"error": "...", "message": "...", "code": N}; a
 * streaming call answers 200 and then objects {"result": {...}} or
 * {"error": {"grpc_code": N, "message": "..."}}, one per line, but nothing
 * here depends on the line breaks.
 */
#ifndef ETCD_JSON_H
#define ETCD_JSON_H

#include <stddef.h>
#include <stdint.h>

#include "etcd.h"

/* A decoded response or watch message and the memory it points into. */
struct etcd_decoded {
	struct etcd_resp	 resp;
	struct etcd_watch_msg	 wmsg;
	void			**mem;
	size_t			 nmem, capmem;
	char			 errbuf[384];
};

/* Decode the body of a unary call answered with HTTP status into d->resp
 * (ok, or the error etcd gave).  Returns 0, or -1 when the body is not
 * what etcd sends (then resp.error says so). */
int	etcd_json_resp(enum etcd_op, int http_status, const char *body,
	    size_t len, struct etcd_decoded *d);
/* Decode one object of a watch stream into d->wmsg.  An error object
 * becomes LOST with its message (the stream failed; resume).  -1 when the object is not one of
 * those (wmsg.error says why). */
int	etcd_json_watch(const char *obj, size_t len, struct etcd_decoded *d);
void	etcd_decoded_free(struct etcd_decoded *);

/* Request bodies: malloc'd JSON text, NUL-terminated. */
char	*etcd_json_status(void);
char	*etcd_json_range(const char *key, const char *end, unsigned flags,
	    int64_t revision, int64_t limit);
char	*etcd_json_put(const char *key, const void *val, size_t vallen,
	    int64_t lease, unsigned flags);
char	*etcd_json_delete(const char *key, const char *end, unsigned flags);
char	*etcd_json_compact(int64_t revision);
char	*etcd_json_lease_grant(int64_t ttl, int64_t id);
char	*etcd_json_lease_id(int64_t id);
char	*etcd_json_watch_create(const char *key, const char *end,
	    unsigned flags, int64_t start_revision);
char	*etcd_json_txn(const struct etcd_txn *);

/* Flat JSON objects of strings, for small values kept in etcd (a router's
 * presence).  encode: malloc'd text of n key/value pairs.  get: the string
 * (or number, as text) at key into out; 0, 1 when absent, -1 when text is
 * not a JSON object. */
char	*etcd_json_flat(const char *const *keys, const char *const *vals,
	    size_t n);
int	etcd_json_flat_get(const char *text, size_t len, const char *key,
	    char *out, size_t outlen);

/*
 * The watch stream splitter.  Bytes go in as they arrive, in pieces of any
 * size; each complete top-level JSON object comes out once, as its text.
 * Strings (and escaped quotes in them) are followed so braces inside keys
 * and values do not count.  Whitespace between objects is skipped; any
 * other byte there, or an object longer than max, is garbage: feed returns
 * -1 and the stream must be dropped (the connection with it).
 */
struct etcd_stream {
	char	*buf;
	size_t	 len, cap;
	size_t	 scan;		/* bytes of buf already looked at */
	size_t	 max;		/* longest object accepted */
	int	 depth;		/* 0: between objects */
	int	 in_str, esc;
};

void	etcd_stream_init(struct etcd_stream *, size_t max);
void	etcd_stream_reset(struct etcd_stream *);
void	etcd_stream_free(struct etcd_stream *);
/* cb gets each object; a non-zero return stops feeding and is returned
 * (the bytes after that object stay buffered). */
int	etcd_stream_feed(struct etcd_stream *, const char *data, size_t len,
	    int (*cb)(const char *obj, size_t len, void *arg), void *arg);

#endif

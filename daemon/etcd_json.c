/*
 * etcd_json: request bodies, response decoding and the watch stream
 * splitter (see etcd_json.h).
 *
 * Decoding is lenient about what it does not need (unknown fields, a
 * number sent as a string or the other way round) and strict about what
 * it hands on: a key or value that is not valid base64, or a kv without a
 * key, makes the whole message undecodable rather than half-read.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "b64.h"
#include "etcd_json.h"
#include "log.h"
#include "util.h"

/* Grow the stream buffer by at least this much at a time. */
#define STREAM_CHUNK	4096

/* ---- decoded memory ---- */

static void *
dmem(struct etcd_decoded *d, size_t n)
{
	void *p = xcalloc(1, n ? n : 1);

	if (d->nmem == d->capmem) {
		d->capmem = d->capmem ? d->capmem * 2 : 16;
		d->mem = xrealloc(d->mem, d->capmem * sizeof(*d->mem));
	}
	d->mem[d->nmem++] = p;
	return p;
}

void
etcd_decoded_free(struct etcd_decoded *d)
{
	size_t i;

	for (i = 0; i < d->nmem; i++)
		free(d->mem[i]);
	free(d->mem);
	d->mem = NULL;
	d->nmem = d->capmem = 0;
}

/* ---- reading fields ---- */

/* A 64-bit number, sent as a string ("42") or a JSON number, as text in
 * buf: 1, or 0 when absent (buf "0"), -1 when not a number. */
static int
j_numtext(json_t *o, const char *k, char *buf, size_t len)
{
	json_t *v = json_object_get(o, k);
	const char *s;
	size_t i;

	snprintf(buf, len, "0");
	if (v == NULL || json_is_null(v))
		return 0;
	if (json_is_integer(v)) {
		snprintf(buf, len, "%" JSON_INTEGER_FORMAT,
		    json_integer_value(v));
		return 1;
	}
	if (!json_is_string(v) || (s = json_string_value(v))[0] == '\0' ||
	    strlen(s) >= len)
		return -1;
	for (i = s[0] == '-' ? 1 : 0; s[i] != '\0'; i++)
		if (s[i] < '0' || s[i] > '9')
			return -1;
	snprintf(buf, len, "%s", s);
	return 1;
}

static int
j_i64(json_t *o, const char *k, int64_t *out)
{
	char buf[32];

	*out = 0;
	if (j_numtext(o, k, buf, sizeof(buf)) == -1)
		return -1;
	errno = 0;
	*out = (int64_t)strtoll(buf, NULL, 10);
	return errno == 0 ? 0 : -1;
}

/* uint64 ids (cluster, member) are above INT64_MAX half the time. */
static int
j_u64(json_t *o, const char *k, uint64_t *out)
{
	char buf[32];

	*out = 0;
	if (j_numtext(o, k, buf, sizeof(buf)) == -1 || buf[0] == '-')
		return -1;
	errno = 0;
	*out = (uint64_t)strtoull(buf, NULL, 10);
	return errno == 0 ? 0 : -1;
}

static int
j_bool(json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);

	return v != NULL && json_is_true(v);
}

/* Base64 bytes into decoded memory, NUL-terminated; absent is empty. */
static int
j_bytes(struct etcd_decoded *d, json_t *o, const char *k, const char **out,
    size_t *outlen)
{
	json_t *v = json_object_get(o, k);
	const char *s;
	size_t len;
	char *buf;
	long n;

	*out = "";
	*outlen = 0;
	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_string(v))
		return -1;
	s = json_string_value(v);
	len = json_string_length(v);
	buf = dmem(d, B64_DEC_MAX(len) + 1);
	if ((n = b64_decode(s, len, buf)) < 0)
		return -1;
	buf[n] = '\0';
	*out = buf;
	*outlen = (size_t)n;
	return 0;
}

static int
decode_kv(struct etcd_decoded *d, json_t *o, struct etcd_kv *kv)
{
	memset(kv, 0, sizeof(*kv));
	if (!json_is_object(o) ||
	    j_bytes(d, o, "key", &kv->key, &kv->keylen) == -1 ||
	    j_bytes(d, o, "value", &kv->value, &kv->vallen) == -1 ||
	    j_i64(o, "create_revision", &kv->create_revision) == -1 ||
	    j_i64(o, "mod_revision", &kv->mod_revision) == -1 ||
	    j_i64(o, "version", &kv->version) == -1 ||
	    j_i64(o, "lease", &kv->lease) == -1)
		return -1;
	return kv->keylen > 0 ? 0 : -1;
}

static int
decode_kvs(struct etcd_decoded *d, json_t *o, const char *k,
    struct etcd_kv **out, size_t *n)
{
	json_t *a = json_object_get(o, k), *v;
	size_t i;

	*out = NULL;
	*n = 0;
	if (a == NULL || json_is_null(a))
		return 0;
	if (!json_is_array(a))
		return -1;
	*out = dmem(d, json_array_size(a) * sizeof(**out));
	json_array_foreach(a, i, v) {
		if (decode_kv(d, v, &(*out)[i]) == -1)
			return -1;
	}
	*n = json_array_size(a);
	return 0;
}

static int
decode_header(json_t *o, struct etcd_resp *r)
{
	json_t *h = json_object_get(o, "header");

	if (h == NULL)
		return 0;
	if (!json_is_object(h) ||
	    j_u64(h, "cluster_id", &r->cluster_id) == -1 ||
	    j_u64(h, "member_id", &r->member_id) == -1 ||
	    j_i64(h, "revision", &r->revision) == -1 ||
	    j_i64(h, "raft_term", &r->raft_term) == -1)
		return -1;
	return 0;
}

/* The fields of one response of op (also a response inside a txn). */
static int
decode_body(struct etcd_decoded *d, enum etcd_op op, json_t *o,
    struct etcd_resp *r)
{
	static const struct {
		const char	*key;
		enum etcd_op	 op;
	} txn_ops[] = {
		{ "response_range", ETCD_OP_RANGE },
		{ "response_put", ETCD_OP_PUT },
		{ "response_delete_range", ETCD_OP_DELETE },
	};
	json_t *a, *v, *inner, *prev;
	const char *s;
	size_t i, k;

	r->op = op;
	if (!json_is_object(o) || decode_header(o, r) == -1)
		return -1;
	switch (op) {
	case ETCD_OP_RANGE:
		if (decode_kvs(d, o, "kvs", &r->kvs, &r->nkvs) == -1 ||
		    j_i64(o, "count", &r->count) == -1)
			return -1;
		r->more = j_bool(o, "more");
		return 0;
	case ETCD_OP_PUT:
		prev = json_object_get(o, "prev_kv");
		if (prev != NULL) {
			r->prev_kvs = dmem(d, sizeof(*r->prev_kvs));
			if (decode_kv(d, prev, r->prev_kvs) == -1)
				return -1;
			r->nprev_kvs = 1;
		}
		return 0;
	case ETCD_OP_DELETE:
		if (j_i64(o, "deleted", &r->deleted) == -1 ||
		    decode_kvs(d, o, "prev_kvs", &r->prev_kvs,
		    &r->nprev_kvs) == -1)
			return -1;
		return 0;
	case ETCD_OP_TXN:
		r->succeeded = j_bool(o, "succeeded");
		a = json_object_get(o, "responses");
		if (a == NULL)
			return 0;
		if (!json_is_array(a))
			return -1;
		r->responses = dmem(d,
		    json_array_size(a) * sizeof(*r->responses));
		json_array_foreach(a, i, v) {
			if (!json_is_object(v))
				return -1;
			for (k = 0; k < NELEMS(txn_ops); k++)
				if ((inner = json_object_get(v,
				    txn_ops[k].key)) != NULL)
					break;
			if (k == NELEMS(txn_ops) || decode_body(d,
			    txn_ops[k].op, inner, &r->responses[i]) == -1)
				return -1;
			r->responses[i].ok = 1;
		}
		r->nresponses = json_array_size(a);
		return 0;
	case ETCD_OP_LEASE_GRANT:
	case ETCD_OP_LEASE_KEEPALIVE:
		if (j_i64(o, "ID", &r->lease_id) == -1 ||
		    j_i64(o, "TTL", &r->ttl) == -1)
			return -1;
		/* grant: "error" is a field of the message, not a failure
		 * of the call. */
		if ((v = json_object_get(o, "error")) != NULL &&
		    json_is_string(v) && (s = json_string_value(v))[0] != '\0')
			return -1;
		return 0;
	case ETCD_OP_STATUS:
		if ((v = json_object_get(o, "version")) != NULL &&
		    json_is_string(v)) {
			s = json_string_value(v);
			r->version = strcpy(dmem(d, strlen(s) + 1), s);
		}
		if (j_u64(o, "leader", &r->leader) == -1 ||
		    j_i64(o, "dbSize", &r->db_size) == -1)
			return -1;
		return 0;
	case ETCD_OP_LEASE_REVOKE:
	case ETCD_OP_COMPACT:
		return 0;
	}
	return -1;
}

/* What etcd said when it refused: {"error": "...", "message": "...",
 * "code": N} from a unary call, {"error": {"grpc_code": N, "message":
 * "..."}} inside a stream. */
static int
decode_error(json_t *o, const char **msg, int *code)
{
	json_t *e = json_object_get(o, "error"), *m;
	int64_t c = 0;

	*msg = NULL;
	*code = 0;
	if (e == NULL)
		return -1;
	if (json_is_object(e)) {
		if (j_i64(e, "grpc_code", &c) == -1)
			return -1;
		m = json_object_get(e, "message");
	} else {
		if (j_i64(o, "code", &c) == -1)
			return -1;
		m = json_object_get(o, "message");
		if (m == NULL || !json_is_string(m))
			m = e;
	}
	if (m == NULL || !json_is_string(m))
		return -1;
	*msg = json_string_value(m);
	*code = (int)c;
	return 0;
}

static json_t *
parse(const char *text, size_t len, struct etcd_decoded *d)
{
	json_error_t je;
	json_t *o;

	o = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
	if (o == NULL) {
		snprintf(d->errbuf, sizeof(d->errbuf), "not JSON (%s at "
		    "offset %d)", je.text, je.position);
		return NULL;
	}
	if (!json_is_object(o)) {
		snprintf(d->errbuf, sizeof(d->errbuf), "not a JSON object");
		json_decref(o);
		return NULL;
	}
	return o;
}

int
etcd_json_resp(enum etcd_op op, int http_status, const char *body,
    size_t len, struct etcd_decoded *d)
{
	struct etcd_resp *r = &d->resp;
	const char *msg;
	json_t *o, *res;
	int code, rc = -1;

	memset(r, 0, sizeof(*r));
	r->op = op;
	r->http_status = http_status;
	if ((o = parse(body, len, d)) == NULL) {
		r->error = d->errbuf;
		return -1;
	}
	if (http_status != 200 || json_object_get(o, "error") != NULL) {
		/* A lease keepalive answers in the stream form. */
		if (decode_error(o, &msg, &code) == 0) {
			snprintf(d->errbuf, sizeof(d->errbuf), "%s", msg);
			r->code = code;
			rc = 0;
		} else
			snprintf(d->errbuf, sizeof(d->errbuf), "HTTP status "
			    "%d without an error etcd would send", http_status);
		r->error = d->errbuf;
		json_decref(o);
		return rc;
	}
	if (op == ETCD_OP_LEASE_KEEPALIVE &&
	    (res = json_object_get(o, "result")) != NULL)
		rc = decode_body(d, op, res, r);
	else
		rc = decode_body(d, op, o, r);
	json_decref(o);
	if (rc == -1) {
		snprintf(d->errbuf, sizeof(d->errbuf), "a response etcd "
		    "would not send (bad field or base64)");
		r->error = d->errbuf;
		return -1;
	}
	r->ok = 1;
	return 0;
}

int
etcd_json_watch(const char *obj, size_t len, struct etcd_decoded *d)
{
	struct etcd_watch_msg *w = &d->wmsg;
	struct etcd_event *evs;
	struct etcd_resp hdr;
	const char *msg, *type;
	json_t *o, *res, *a, *v, *t, *prev;
	size_t i;
	int code;

	memset(w, 0, sizeof(*w));
	if ((o = parse(obj, len, d)) == NULL) {
		w->error = d->errbuf;
		return -1;
	}
	if ((res = json_object_get(o, "result")) == NULL) {
		if (decode_error(o, &msg, &code) == 0) {
			/* The stream failed ("transport is closing" when etcd
			 * stops): resume elsewhere or later. */
			snprintf(d->errbuf, sizeof(d->errbuf), "%s (code %d)",
			    msg, code);
			w->what = ETCD_WATCH_LOST;
			w->error = d->errbuf;
			json_decref(o);
			return 0;
		}
		goto bad;
	}
	memset(&hdr, 0, sizeof(hdr));
	if (!json_is_object(res) || decode_header(res, &hdr) == -1 ||
	    j_i64(res, "compact_revision", &w->compact_revision) == -1)
		goto bad;
	w->revision = hdr.revision;
	if (j_bool(res, "canceled")) {
		if (w->compact_revision > 0)
			w->what = ETCD_WATCH_COMPACTED;
		else {
			w->what = ETCD_WATCH_CANCELED;
			v = json_object_get(res, "cancel_reason");
			snprintf(d->errbuf, sizeof(d->errbuf), "%s",
			    v != NULL && json_is_string(v) ?
			    json_string_value(v) : "watch canceled by etcd");
			w->error = d->errbuf;
		}
		json_decref(o);
		return 0;
	}
	a = json_object_get(res, "events");
	if (a != NULL && json_is_array(a) && json_array_size(a) > 0) {
		evs = dmem(d, json_array_size(a) * sizeof(*evs));
		json_array_foreach(a, i, v) {
			if (!json_is_object(v))
				goto bad;
			t = json_object_get(v, "type");
			type = t != NULL && json_is_string(t) ?
			    json_string_value(t) : "PUT";
			if (strcmp(type, "PUT") == 0)
				evs[i].type = ETCD_EV_PUT;
			else if (strcmp(type, "DELETE") == 0)
				evs[i].type = ETCD_EV_DELETE;
			else
				goto bad;
			if (decode_kv(d, json_object_get(v, "kv"),
			    &evs[i].kv) == -1)
				goto bad;
			if ((prev = json_object_get(v, "prev_kv")) != NULL) {
				if (decode_kv(d, prev, &evs[i].prev) == -1)
					goto bad;
				evs[i].has_prev = 1;
			}
		}
		w->what = ETCD_WATCH_EVENTS;
		w->events = evs;
		w->nevents = json_array_size(a);
	} else if (a != NULL && !json_is_array(a))
		goto bad;
	else if (j_bool(res, "created"))
		w->what = ETCD_WATCH_CREATED;
	else
		w->what = ETCD_WATCH_PROGRESS;
	json_decref(o);
	return 0;

bad:
	json_decref(o);
	memset(w, 0, sizeof(*w));
	snprintf(d->errbuf, sizeof(d->errbuf), "a watch message etcd would "
	    "not send");
	w->error = d->errbuf;
	return -1;
}

/* ---- request bodies ---- */

static json_t *
j_b64(const void *p, size_t n)
{
	char *buf = xmalloc(B64_ENC_LEN(n) + 1);
	json_t *s;

	b64_encode(p, n, buf);
	s = json_string(buf);
	free(buf);
	return s;
}

static json_t *
j_num(int64_t v)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%" PRId64, v);
	return json_string(buf);
}

static char *
dump(json_t *o)
{
	char *s = json_dumps(o, JSON_COMPACT);

	json_decref(o);
	if (s == NULL)
		fatalx("etcd: cannot encode a request");
	return s;
}

int
etcd_prefix_end(const char *prefix, char *out, size_t outlen)
{
	size_t n = strlen(prefix);

	if (outlen < n + 1 || outlen < 2)
		return -1;
	memcpy(out, prefix, n + 1);
	while (n > 0) {
		if ((unsigned char)out[n - 1] < 0xff) {
			out[n - 1]++;
			out[n] = '\0';
			return (int)n;
		}
		out[--n] = '\0';
	}
	/* Every key. */
	out[0] = '\0';
	return 1;
}

/* key and range_end of a request. */
static void
set_range(json_t *o, const char *key, const char *end, unsigned flags)
{
	char pend[1024];
	int n;

	json_object_set_new(o, "key", j_b64(key, strlen(key)));
	if (flags & ETCD_PREFIX) {
		if ((n = etcd_prefix_end(key, pend, sizeof(pend))) == -1)
			fatalx("etcd: prefix too long");
		json_object_set_new(o, "range_end", j_b64(pend, (size_t)n));
	} else if (end != NULL)
		json_object_set_new(o, "range_end", j_b64(end, strlen(end)));
}

static json_t *
range_obj(const char *key, const char *end, unsigned flags, int64_t rev,
    int64_t limit)
{
	json_t *o = json_object();

	set_range(o, key, end, flags);
	if (rev > 0)
		json_object_set_new(o, "revision", j_num(rev));
	if (limit > 0)
		json_object_set_new(o, "limit", j_num(limit));
	if (flags & ETCD_KEYS_ONLY)
		json_object_set_new(o, "keys_only", json_true());
	if (flags & ETCD_COUNT_ONLY)
		json_object_set_new(o, "count_only", json_true());
	if (flags & ETCD_SORT_DESC) {
		json_object_set_new(o, "sort_order", json_string("DESCEND"));
		json_object_set_new(o, "sort_target", json_string("KEY"));
	}
	return o;
}

static json_t *
put_obj(const char *key, const void *val, size_t vallen, int64_t lease,
    unsigned flags)
{
	json_t *o = json_object();

	json_object_set_new(o, "key", j_b64(key, strlen(key)));
	json_object_set_new(o, "value", j_b64(val, vallen));
	if (lease != 0)
		json_object_set_new(o, "lease", j_num(lease));
	if (flags & ETCD_PREV_KV)
		json_object_set_new(o, "prev_kv", json_true());
	return o;
}

static json_t *
delete_obj(const char *key, const char *end, unsigned flags)
{
	json_t *o = json_object();

	set_range(o, key, end, flags);
	if (flags & ETCD_PREV_KV)
		json_object_set_new(o, "prev_kv", json_true());
	return o;
}

char *
etcd_json_status(void)
{
	return dump(json_object());
}

char *
etcd_json_range(const char *key, const char *end, unsigned flags,
    int64_t revision, int64_t limit)
{
	return dump(range_obj(key, end, flags, revision, limit));
}

char *
etcd_json_put(const char *key, const void *val, size_t vallen, int64_t lease,
    unsigned flags)
{
	return dump(put_obj(key, val, vallen, lease, flags));
}

char *
etcd_json_delete(const char *key, const char *end, unsigned flags)
{
	return dump(delete_obj(key, end, flags));
}

char *
etcd_json_compact(int64_t revision)
{
	json_t *o = json_object();

	json_object_set_new(o, "revision", j_num(revision));
	json_object_set_new(o, "physical", json_true());
	return dump(o);
}

char *
etcd_json_lease_grant(int64_t ttl, int64_t id)
{
	json_t *o = json_object();

	json_object_set_new(o, "TTL", j_num(ttl));
	if (id != 0)
		json_object_set_new(o, "ID", j_num(id));
	return dump(o);
}

char *
etcd_json_lease_id(int64_t id)
{
	json_t *o = json_object();

	json_object_set_new(o, "ID", j_num(id));
	return dump(o);
}

char *
etcd_json_watch_create(const char *key, const char *end, unsigned flags,
    int64_t start_revision)
{
	json_t *o = json_object(), *c = json_object();

	set_range(c, key, end, flags);
	if (start_revision > 0)
		json_object_set_new(c, "start_revision", j_num(start_revision));
	if (flags & ETCD_PREV_KV)
		json_object_set_new(c, "prev_kv", json_true());
	/* Reports of "nothing up to revision R" let a quiet watch resume
	 * from R rather than from its last event. */
	json_object_set_new(c, "progress_notify", json_true());
	json_object_set_new(o, "create_request", c);
	return dump(o);
}

char *
etcd_json_flat(const char *const *keys, const char *const *vals, size_t n)
{
	json_t *o = json_object();
	size_t i;

	for (i = 0; i < n; i++)
		json_object_set_new(o, keys[i], json_string(vals[i]));
	return dump(o);
}

int
etcd_json_flat_get(const char *text, size_t len, const char *key, char *out,
    size_t outlen)
{
	json_t *o, *v;
	int rc = 1;

	if ((o = json_loadb(text, len, 0, NULL)) == NULL)
		return -1;
	if (!json_is_object(o)) {
		json_decref(o);
		return -1;
	}
	if ((v = json_object_get(o, key)) != NULL) {
		if (json_is_string(v))
			snprintf(out, outlen, "%s", json_string_value(v));
		else if (json_is_integer(v))
			snprintf(out, outlen, "%" JSON_INTEGER_FORMAT,
			    json_integer_value(v));
		else
			v = NULL;
		rc = v != NULL ? 0 : 1;
	}
	json_decref(o);
	return rc;
}

/* ---- transactions ---- */

struct etcd_txn {
	json_t	*compare;
	json_t	*branch[2];
};

static const char *const cmp_targets[] = {
	[ETCD_CMP_VERSION] = "VERSION", [ETCD_CMP_CREATE] = "CREATE",
	[ETCD_CMP_MOD] = "MOD", [ETCD_CMP_VALUE] = "VALUE",
	[ETCD_CMP_LEASE] = "LEASE",
};
static const char *const cmp_fields[] = {
	[ETCD_CMP_VERSION] = "version", [ETCD_CMP_CREATE] = "create_revision",
	[ETCD_CMP_MOD] = "mod_revision", [ETCD_CMP_VALUE] = "value",
	[ETCD_CMP_LEASE] = "lease",
};
static const char *const cmp_results[] = {
	[ETCD_CMP_EQUAL] = "EQUAL", [ETCD_CMP_GREATER] = "GREATER",
	[ETCD_CMP_LESS] = "LESS", [ETCD_CMP_NOT_EQUAL] = "NOT_EQUAL",
};

struct etcd_txn *
etcd_txn_new(void)
{
	struct etcd_txn *t = xcalloc(1, sizeof(*t));

	t->compare = json_array();
	t->branch[ETCD_THEN] = json_array();
	t->branch[ETCD_ELSE] = json_array();
	return t;
}

void
etcd_txn_free(struct etcd_txn *t)
{
	if (t == NULL)
		return;
	json_decref(t->compare);
	json_decref(t->branch[0]);
	json_decref(t->branch[1]);
	free(t);
}

static json_t *
cmp_obj(const char *key, enum etcd_cmp_target target,
    enum etcd_cmp_result result)
{
	json_t *c = json_object();

	json_object_set_new(c, "key", j_b64(key, strlen(key)));
	json_object_set_new(c, "target", json_string(cmp_targets[target]));
	json_object_set_new(c, "result", json_string(cmp_results[result]));
	return c;
}

void
etcd_txn_cmp(struct etcd_txn *t, const char *key,
    enum etcd_cmp_target target, enum etcd_cmp_result result, int64_t v)
{
	json_t *c = cmp_obj(key, target, result);

	json_object_set_new(c, cmp_fields[target], j_num(v));
	json_array_append_new(t->compare, c);
}

void
etcd_txn_cmp_value(struct etcd_txn *t, const char *key,
    enum etcd_cmp_result result, const void *val, size_t len)
{
	json_t *c = cmp_obj(key, ETCD_CMP_VALUE, result);

	json_object_set_new(c, "value", j_b64(val, len));
	json_array_append_new(t->compare, c);
}

static void
txn_op(struct etcd_txn *t, int branch, const char *kind, json_t *req)
{
	json_t *op = json_object();

	json_object_set_new(op, kind, req);
	json_array_append_new(t->branch[branch ? 1 : 0], op);
}

void
etcd_txn_put(struct etcd_txn *t, int branch, const char *key,
    const void *val, size_t len, int64_t lease)
{
	txn_op(t, branch, "request_put", put_obj(key, val, len, lease, 0));
}

void
etcd_txn_delete(struct etcd_txn *t, int branch, const char *key,
    const char *end, unsigned flags)
{
	txn_op(t, branch, "request_delete_range", delete_obj(key, end, flags));
}

void
etcd_txn_range(struct etcd_txn *t, int branch, const char *key,
    const char *end, unsigned flags)
{
	txn_op(t, branch, "request_range", range_obj(key, end, flags, 0, 0));
}

size_t
etcd_txn_nops(const struct etcd_txn *t, int branch)
{
	return json_array_size(t->branch[branch ? 1 : 0]);
}

char *
etcd_json_txn(const struct etcd_txn *t)
{
	json_t *o = json_object();

	json_object_set(o, "compare", t->compare);
	json_object_set(o, "success", t->branch[ETCD_THEN]);
	json_object_set(o, "failure", t->branch[ETCD_ELSE]);
	return dump(o);
}

/* ---- the stream splitter ---- */

void
etcd_stream_init(struct etcd_stream *s, size_t max)
{
	memset(s, 0, sizeof(*s));
	s->max = max;
}

void
etcd_stream_reset(struct etcd_stream *s)
{
	s->len = s->scan = 0;
	s->depth = s->in_str = s->esc = 0;
}

void
etcd_stream_free(struct etcd_stream *s)
{
	free(s->buf);
	etcd_stream_init(s, s->max);
}

static int
is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Drop the first n bytes, consumed. */
static void
stream_consume(struct etcd_stream *s, size_t n)
{
	if (n == 0)
		return;
	memmove(s->buf, s->buf + n, s->len - n);
	s->len -= n;
	s->scan -= n;
}

int
etcd_stream_feed(struct etcd_stream *s, const char *data, size_t len,
    int (*cb)(const char *, size_t, void *), void *arg)
{
	size_t start = 0, need;
	char c;
	int rc = 0;

	/* Invariant between calls: buf holds only the unfinished object, if
	 * any (from its '{'), of which scan bytes were looked at. */
	need = s->len + len;
	if (need > s->cap) {
		s->cap = need + STREAM_CHUNK;
		s->buf = xrealloc(s->buf, s->cap);
	}
	if (len > 0)
		memcpy(s->buf + s->len, data, len);
	s->len = need;

	while (s->scan < s->len) {
		c = s->buf[s->scan++];
		if (s->depth == 0) {
			/* Between objects: only blanks, then '{'. */
			if (is_space(c)) {
				start = s->scan;
				continue;
			}
			if (c != '{') {
				rc = -1;
				break;
			}
			s->depth = 1;
			continue;
		}
		if (s->in_str) {
			if (s->esc)
				s->esc = 0;
			else if (c == '\\')
				s->esc = 1;
			else if (c == '"')
				s->in_str = 0;
		} else if (c == '"')
			s->in_str = 1;
		else if (c == '{' || c == '[') {
			/* Deeper than anything etcd sends: garbage (jansson
			 * would refuse it anyway). */
			if (++s->depth > 256) {
				rc = -1;
				break;
			}
		} else if ((c == '}' || c == ']') && --s->depth == 0) {
			rc = cb(s->buf + start, s->scan - start, arg);
			start = s->scan;
			if (rc != 0)
				break;
			continue;
		}
		if (s->scan - start > s->max) {
			rc = -1;
			break;
		}
	}
	stream_consume(s, start);
	return rc;
}

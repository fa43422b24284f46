/*
 * test_etcd: the etcd client's wire format without a server: base64, the
 * watch stream splitter fed in every possible cut, decoding of the
 * responses and watch messages etcd 3.4's gateway sends (the texts below
 * are what it sent in our probes, trimmed), and the request bodies.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "b64.h"
#include "etcd_json.h"
#include "log.h"
#include "util.h"
#include "unit.h"

static void
test_b64(void)
{
	static const char *const plain[] = { "", "f", "fo", "foo", "foob",
	    "fooba", "foobar", "/dnsrouter/ns9" };
	static const char *const enc[] = { "", "Zg==", "Zm8=", "Zm9v",
	    "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy", "L2Ruc3JvdXRlci9uczk=" };
	static const char *const bad[] = { "Z", "Zg=", "Zg===", "Z===",
	    "Zm9v!", "Zg==Zg==", "Zh==", "=Zg=" };
	char out[64], dec[64];
	unsigned char all[256];
	size_t i;
	long n;

	for (i = 0; i < NELEMS(plain); i++) {
		CHECK(b64_encode(plain[i], strlen(plain[i]), out) ==
		    strlen(enc[i]));
		CHECKF(strcmp(out, enc[i]) == 0, "%s -> %s", plain[i], out);
		n = b64_decode(enc[i], strlen(enc[i]), dec);
		CHECK(n == (long)strlen(plain[i]) &&
		    memcmp(dec, plain[i], (size_t)n) == 0);
	}
	/* Padding may be left out. */
	CHECK(b64_decode("Zg", 2, dec) == 1 && dec[0] == 'f');
	CHECK(b64_decode("Zm8", 3, dec) == 2);
	for (i = 0; i < NELEMS(bad); i++)
		CHECKF(b64_decode(bad[i], strlen(bad[i]), dec) == -1, "%s",
		    bad[i]);
	for (i = 0; i < sizeof(all); i++)
		all[i] = (unsigned char)i;
	{
		char big[B64_ENC_LEN(256) + 1];
		unsigned char back[B64_DEC_MAX(sizeof(big))];

		b64_encode(all, sizeof(all), big);
		CHECK(b64_decode(big, strlen(big), back) == 256 &&
		    memcmp(back, all, 256) == 0);
	}
}

/* ---- the stream splitter ---- */

struct got {
	char	text[4096];
	int	n;
};

static int
collect(const char *obj, size_t len, void *arg)
{
	struct got *g = arg;

	snprintf(g->text + strlen(g->text), sizeof(g->text) - strlen(g->text),
	    "[%.*s]", (int)len, obj);
	g->n++;
	return 0;
}

static int
stop_after_one(const char *obj, size_t len, void *arg)
{
	collect(obj, len, arg);
	return 7;
}

static void
test_stream(void)
{
	static const char in[] = "{\"result\":{\"created\":true}}\n"
	    "  {\"a\":\"}{\\\"}\",\"b\":[{\"c\":{}}]}\r\n{\"x\":\"\\\\\"}";
	static const char want[] = "[{\"result\":{\"created\":true}}]"
	    "[{\"a\":\"}{\\\"}\",\"b\":[{\"c\":{}}]}][{\"x\":\"\\\\\"}]";
	struct etcd_stream s;
	struct got g;
	size_t cut, cut2, len = strlen(in);

	/* Every way of cutting the bytes in three gives the same objects. */
	for (cut = 0; cut <= len; cut++)
		for (cut2 = cut; cut2 <= len; cut2++) {
			etcd_stream_init(&s, 1024);
			memset(&g, 0, sizeof(g));
			CHECK(etcd_stream_feed(&s, in, cut, collect, &g) == 0);
			CHECK(etcd_stream_feed(&s, in + cut, cut2 - cut, collect,
			    &g) == 0);
			CHECK(etcd_stream_feed(&s, in + cut2, len - cut2,
			    collect, &g) == 0);
			if (strcmp(g.text, want) != 0 || s.len != 0) {
				CHECKF(0, "cut at %zu,%zu: %s", cut, cut2,
				    g.text);
				cut = len;
			}
			etcd_stream_free(&s);
		}
	/* Byte by byte, too. */
	etcd_stream_init(&s, 1024);
	memset(&g, 0, sizeof(g));
	for (cut = 0; cut < len; cut++)
		CHECK(etcd_stream_feed(&s, in + cut, 1, collect, &g) == 0);
	CHECK(strcmp(g.text, want) == 0 && g.n == 3);
	etcd_stream_free(&s);

	/* Garbage between objects, an object over the limit, too deep. */
	etcd_stream_init(&s, 1024);
	memset(&g, 0, sizeof(g));
	CHECK(etcd_stream_feed(&s, "{}x{}", 5, collect, &g) == -1 && g.n == 1);
	etcd_stream_free(&s);
	etcd_stream_init(&s, 16);
	CHECK(etcd_stream_feed(&s, "{\"aaaaaaaaaaaaaaaaaaaaa\":1}", 26,
	    collect, &g) == -1);
	etcd_stream_free(&s);
	etcd_stream_init(&s, 100000);
	{
		char deep[600];

		memset(deep, '[', sizeof(deep));
		deep[0] = '{';
		CHECK(etcd_stream_feed(&s, deep, sizeof(deep), collect,
		    &g) == -1);
	}
	etcd_stream_free(&s);
	etcd_stream_init(&s, 1024);
	CHECK(etcd_stream_feed(&s, "]", 1, collect, &g) == -1);
	etcd_stream_free(&s);

	/* A callback's stop is returned; the rest stays buffered. */
	etcd_stream_init(&s, 1024);
	memset(&g, 0, sizeof(g));
	CHECK(etcd_stream_feed(&s, "{\"a\":1} {\"b\":2}", 15, stop_after_one,
	    &g) == 7);
	CHECK(g.n == 1);
	CHECK(etcd_stream_feed(&s, "", 0, collect, &g) == 0);
	CHECKF(g.n == 2 && strstr(g.text, "[{\"b\":2}]") != NULL, "%s", g.text);
	etcd_stream_free(&s);
}

/* ---- decoding ---- */

#define HDR "\"header\":{\"cluster_id\":\"15118495548433857066\"," \
	"\"member_id\":\"13668033151171901709\",\"revision\":\"9\"," \
	"\"raft_term\":\"2\"}"

static void
test_responses(void)
{
	struct etcd_decoded d;
	const char *t;

	/* A range: int64 as strings, base64 keys and values. */
	memset(&d, 0, sizeof(d));
	t = "{" HDR ",\"kvs\":[{\"key\":\"L2Ruc3JvdXRlci9uczE=\","
	    "\"create_revision\":\"2\",\"mod_revision\":\"3\",\"version\":\"2\","
	    "\"value\":\"MTI3LjAuMC4xOjUzMDEsXmJcLg==\",\"lease\":"
	    "\"4111120481098970639\"}],\"count\":\"1\"}";
	CHECK(etcd_json_resp(ETCD_OP_RANGE, 200, t, strlen(t), &d) == 0);
	CHECK(d.resp.ok && d.resp.revision == 9 && d.resp.nkvs == 1 &&
	    d.resp.count == 1 && !d.resp.more);
	CHECK(d.resp.cluster_id == 15118495548433857066ULL);
	CHECK(strcmp(d.resp.kvs[0].key, "/dnsrouter/ns1") == 0 &&
	    d.resp.kvs[0].keylen == 14);
	CHECK(strcmp(d.resp.kvs[0].value, "127.0.0.1:5301,^b\\.") == 0);
	CHECK(d.resp.kvs[0].mod_revision == 3 &&
	    d.resp.kvs[0].lease == 4111120481098970639LL);
	etcd_decoded_free(&d);

	/* An empty range: no kvs, no count at all. */
	t = "{" HDR "}";
	CHECK(etcd_json_resp(ETCD_OP_RANGE, 200, t, strlen(t), &d) == 0);
	CHECK(d.resp.ok && d.resp.nkvs == 0 && d.resp.count == 0);
	etcd_decoded_free(&d);

	/* A txn that failed its compares: no "succeeded"; the else branch's
	 * responses. */
	t = "{" HDR ",\"responses\":[{\"response_range\":{\"header\":"
	    "{\"revision\":\"8\"},\"kvs\":[{\"key\":\"L2ZsZWV0L3Jldg==\","
	    "\"mod_revision\":\"8\",\"value\":\"MQ==\"}],\"count\":\"1\"}},"
	    "{\"response_delete_range\":{\"header\":{\"revision\":\"8\"}}}]}";
	CHECK(etcd_json_resp(ETCD_OP_TXN, 200, t, strlen(t), &d) == 0);
	CHECK(d.resp.ok && !d.resp.succeeded && d.resp.nresponses == 2);
	CHECK(d.resp.responses[0].op == ETCD_OP_RANGE &&
	    d.resp.responses[0].nkvs == 1 &&
	    strcmp(d.resp.responses[0].kvs[0].value, "1") == 0);
	CHECK(d.resp.responses[1].op == ETCD_OP_DELETE &&
	    d.resp.responses[1].deleted == 0);
	etcd_decoded_free(&d);
	t = "{" HDR ",\"succeeded\":true,\"responses\":[{\"response_put\":"
	    "{\"header\":{\"revision\":\"8\"}}}]}";
	CHECK(etcd_json_resp(ETCD_OP_TXN, 200, t, strlen(t), &d) == 0);
	CHECK(d.resp.succeeded && d.resp.nresponses == 1 &&
	    d.resp.responses[0].op == ETCD_OP_PUT);
	etcd_decoded_free(&d);

	/* Lease grant; keepalive in the stream form; a lease gone. */
	t = "{" HDR ",\"ID\":\"4111120481098970637\",\"TTL\":\"5\"}";
	CHECK(etcd_json_resp(ETCD_OP_LEASE_GRANT, 200, t, strlen(t), &d) == 0);
	CHECK(d.resp.lease_id == 4111120481098970637LL && d.resp.ttl == 5);
	etcd_decoded_free(&d);
	t = "{\"result\":{" HDR ",\"ID\":\"4111120481098970639\",\"TTL\":"
	    "\"60\"}}\n";
	CHECK(etcd_json_resp(ETCD_OP_LEASE_KEEPALIVE, 200, t, strlen(t),
	    &d) == 0);
	CHECK(d.resp.ok && d.resp.ttl == 60);
	etcd_decoded_free(&d);
	t = "{\"result\":{" HDR ",\"ID\":\"12345\"}}";
	CHECK(etcd_json_resp(ETCD_OP_LEASE_KEEPALIVE, 200, t, strlen(t),
	    &d) == 0);
	CHECK(d.resp.ok && d.resp.ttl == 0);
	etcd_decoded_free(&d);

	/* Status answers in camelCase. */
	t = "{" HDR ",\"version\":\"3.4.23\",\"dbSize\":\"20480\",\"leader\":"
	    "\"13668033151171901709\"}";
	CHECK(etcd_json_resp(ETCD_OP_STATUS, 200, t, strlen(t), &d) == 0);
	CHECK(strcmp(d.resp.version, "3.4.23") == 0 &&
	    d.resp.db_size == 20480 &&
	    d.resp.leader == 13668033151171901709ULL);
	etcd_decoded_free(&d);

	/* Refusals: the unary form, and a compacted revision. */
	t = "{\"error\":\"etcdserver: requested lease not found\",\"message\":"
	    "\"etcdserver: requested lease not found\",\"code\":5}";
	CHECK(etcd_json_resp(ETCD_OP_PUT, 404, t, strlen(t), &d) == 0);
	CHECK(!d.resp.ok && d.resp.code == ETCD_CODE_NOT_FOUND &&
	    strcmp(d.resp.error, "etcdserver: requested lease not found") == 0);
	etcd_decoded_free(&d);
	t = "{\"error\":\"etcdserver: mvcc: required revision has been "
	    "compacted\",\"code\":11}";
	CHECK(etcd_json_resp(ETCD_OP_RANGE, 400, t, strlen(t), &d) == 0);
	CHECK(!d.resp.ok && d.resp.code == ETCD_CODE_OUT_OF_RANGE);
	etcd_decoded_free(&d);

	/* What etcd would not send. */
	t = "404 page not found\n";
	CHECK(etcd_json_resp(ETCD_OP_RANGE, 404, t, strlen(t), &d) == -1);
	CHECK(!d.resp.ok && d.resp.error != NULL);
	etcd_decoded_free(&d);
	t = "{\"kvs\":[{\"key\":\"!!\"}]}";
	CHECK(etcd_json_resp(ETCD_OP_RANGE, 200, t, strlen(t), &d) == -1);
	CHECK(!d.resp.ok);
	etcd_decoded_free(&d);
	t = "{\"kvs\":[{\"value\":\"eA==\"}]}";		/* no key */
	CHECK(etcd_json_resp(ETCD_OP_RANGE, 200, t, strlen(t), &d) == -1);
	etcd_decoded_free(&d);
	t = "{\"header\":{\"revision\":\"9x\"}}";
	CHECK(etcd_json_resp(ETCD_OP_RANGE, 200, t, strlen(t), &d) == -1);
	etcd_decoded_free(&d);
	t = "{\"count\":\"1\",\"count\":\"2\"}";
	CHECK(etcd_json_resp(ETCD_OP_RANGE, 200, t, strlen(t), &d) == -1);
	etcd_decoded_free(&d);
	t = "[1]";
	CHECK(etcd_json_resp(ETCD_OP_RANGE, 200, t, strlen(t), &d) == -1);
	etcd_decoded_free(&d);
}

static void
test_watch(void)
{
	struct etcd_decoded d;
	const char *t;

	memset(&d, 0, sizeof(d));
	t = "{\"result\":{" HDR ",\"created\":true}}";
	CHECK(etcd_json_watch(t, strlen(t), &d) == 0);
	CHECK(d.wmsg.what == ETCD_WATCH_CREATED && d.wmsg.revision == 9);
	etcd_decoded_free(&d);

	/* A PUT has no "type"; a DELETE's kv has only key and revision. */
	t = "{\"result\":{" HDR ",\"events\":[{\"kv\":{\"key\":"
	    "\"L2Ruc3JvdXRlci9uczU=\",\"create_revision\":\"10\","
	    "\"mod_revision\":\"10\",\"version\":\"1\",\"value\":\"djU=\"}},"
	    "{\"type\":\"DELETE\",\"kv\":{\"key\":\"L2Ruc3JvdXRlci9uczI=\","
	    "\"mod_revision\":\"11\"},\"prev_kv\":{\"key\":"
	    "\"L2Ruc3JvdXRlci9uczI=\",\"create_revision\":\"5\","
	    "\"mod_revision\":\"5\",\"version\":\"1\",\"value\":\"eA==\","
	    "\"lease\":\"4111120481098970639\"}}]}}";
	CHECK(etcd_json_watch(t, strlen(t), &d) == 0);
	CHECK(d.wmsg.what == ETCD_WATCH_EVENTS && d.wmsg.nevents == 2);
	CHECK(d.wmsg.events[0].type == ETCD_EV_PUT &&
	    strcmp(d.wmsg.events[0].kv.key, "/dnsrouter/ns5") == 0 &&
	    strcmp(d.wmsg.events[0].kv.value, "v5") == 0 &&
	    !d.wmsg.events[0].has_prev);
	CHECK(d.wmsg.events[1].type == ETCD_EV_DELETE &&
	    d.wmsg.events[1].kv.mod_revision == 11 &&
	    d.wmsg.events[1].kv.vallen == 0 && d.wmsg.events[1].has_prev &&
	    d.wmsg.events[1].prev.lease == 4111120481098970639LL);
	etcd_decoded_free(&d);

	/* Compacted: the header has no revision. */
	t = "{\"result\":{\"header\":{\"cluster_id\":\"1\",\"raft_term\":\"2\"},"
	    "\"canceled\":true,\"compact_revision\":\"8\"}}";
	CHECK(etcd_json_watch(t, strlen(t), &d) == 0);
	CHECK(d.wmsg.what == ETCD_WATCH_COMPACTED &&
	    d.wmsg.compact_revision == 8);
	etcd_decoded_free(&d);
	t = "{\"result\":{" HDR ",\"canceled\":true,\"cancel_reason\":"
	    "\"permission denied\"}}";
	CHECK(etcd_json_watch(t, strlen(t), &d) == 0);
	CHECK(d.wmsg.what == ETCD_WATCH_CANCELED &&
	    strcmp(d.wmsg.error, "permission denied") == 0);
	etcd_decoded_free(&d);
	t = "{\"result\":{" HDR "}}";
	CHECK(etcd_json_watch(t, strlen(t), &d) == 0);
	CHECK(d.wmsg.what == ETCD_WATCH_PROGRESS);
	etcd_decoded_free(&d);

	/* The stream failed (etcd stopping), and a refused create. */
	t = "{\"error\":{\"grpc_code\":14,\"http_code\":503,\"message\":"
	    "\"transport is closing\",\"http_status\":\"Service Unavailable\"}}";
	CHECK(etcd_json_watch(t, strlen(t), &d) == 0);
	CHECK(d.wmsg.what == ETCD_WATCH_LOST &&
	    strstr(d.wmsg.error, "transport is closing") != NULL);
	etcd_decoded_free(&d);
	t = "{\"error\":\"illegal base64 data at input byte 0\",\"message\":"
	    "\"illegal base64 data at input byte 0\",\"code\":2}";
	CHECK(etcd_json_watch(t, strlen(t), &d) == 0);
	CHECK(d.wmsg.what == ETCD_WATCH_LOST);
	etcd_decoded_free(&d);

	t = "{\"result\":{\"events\":[{\"type\":\"MOVE\",\"kv\":{\"key\":"
	    "\"eA==\"}}]}}";
	CHECK(etcd_json_watch(t, strlen(t), &d) == -1);
	etcd_decoded_free(&d);
	t = "{\"result\":7}";
	CHECK(etcd_json_watch(t, strlen(t), &d) == -1);
	etcd_decoded_free(&d);
	t = "{\"something\":{}}";
	CHECK(etcd_json_watch(t, strlen(t), &d) == -1);
	etcd_decoded_free(&d);
}

static void
test_requests(void)
{
	struct etcd_txn *t;
	char end[16], *s;

	CHECK(etcd_prefix_end("/dnsrouter/", end, sizeof(end)) == 11 &&
	    strcmp(end, "/dnsrouter0") == 0);
	CHECK(etcd_prefix_end("a\xff\xff", end, sizeof(end)) == 1 &&
	    strcmp(end, "b") == 0);
	CHECK(etcd_prefix_end("\xff", end, sizeof(end)) == 1 && end[0] == 0);
	CHECK(etcd_prefix_end("", end, sizeof(end)) == 1 && end[0] == 0);
	CHECK(etcd_prefix_end("0123456789abcdef", end, sizeof(end)) == -1);

	s = etcd_json_range("/dnsrouter/", NULL, ETCD_PREFIX, 42, 1000);
	CHECKF(strcmp(s, "{\"key\":\"L2Ruc3JvdXRlci8=\",\"range_end\":"
	    "\"L2Ruc3JvdXRlcjA=\",\"revision\":\"42\",\"limit\":\"1000\"}") ==
	    0, "%s", s);
	free(s);
	s = etcd_json_put("k", "v", 1, 7, ETCD_PREV_KV);
	CHECKF(strcmp(s, "{\"key\":\"aw==\",\"value\":\"dg==\",\"lease\":"
	    "\"7\",\"prev_kv\":true}") == 0, "%s", s);
	free(s);
	s = etcd_json_watch_create("/d/", NULL, ETCD_PREFIX, 5);
	CHECKF(strcmp(s, "{\"create_request\":{\"key\":\"L2Qv\",\"range_end\":"
	    "\"L2Qw\",\"start_revision\":\"5\",\"progress_notify\":true}}") ==
	    0, "%s", s);
	free(s);

	/* A compare-and-swap. */
	t = etcd_txn_new();
	etcd_txn_cmp(t, "/f/rev", ETCD_CMP_MOD, ETCD_CMP_EQUAL, 8);
	etcd_txn_put(t, ETCD_THEN, "/f/rev", "9", 1, 0);
	etcd_txn_range(t, ETCD_ELSE, "/f/rev", NULL, 0);
	CHECK(etcd_txn_nops(t, ETCD_THEN) == 1 && etcd_txn_nops(t, ETCD_ELSE) == 1);
	s = etcd_json_txn(t);
	CHECKF(strcmp(s, "{\"compare\":[{\"key\":\"L2YvcmV2\",\"target\":\"MOD\","
	    "\"result\":\"EQUAL\",\"mod_revision\":\"8\"}],\"success\":"
	    "[{\"request_put\":{\"key\":\"L2YvcmV2\",\"value\":\"OQ==\"}}],"
	    "\"failure\":[{\"request_range\":{\"key\":\"L2YvcmV2\"}}]}") == 0,
	    "%s", s);
	free(s);
	etcd_txn_free(t);

	/* Flat values. */
	{
		static const char *const k[] = { "id", "n" };
		static const char *const v[] = { "r\"1", "42" };
		char out[32];

		s = etcd_json_flat(k, v, 2);
		CHECK(etcd_json_flat_get(s, strlen(s), "id", out,
		    sizeof(out)) == 0 && strcmp(out, "r\"1") == 0);
		CHECK(etcd_json_flat_get(s, strlen(s), "x", out,
		    sizeof(out)) == 1);
		CHECK(etcd_json_flat_get("{\"n\":5}", 7, "n", out,
		    sizeof(out)) == 0 && strcmp(out, "5") == 0);
		CHECK(etcd_json_flat_get("nope", 4, "n", out, sizeof(out)) ==
		    -1);
		free(s);
	}
}

int
main(void)
{
	log_init("test_etcd", 0, LOG_LVL_WARN);
	test_b64();
	test_stream();
	test_responses();
	test_watch();
	test_requests();
	UNIT_DONE("etcd");
}

// FUZZ-BUILD: daemon/etcd_json.c common/b64.c common/log.c common/util.c -Idaemon $(pkg-config --cflags --libs jansson libevent)
/*
 * fuzz_etcd: what etcd (or whatever answers in its place) sends the
 * client.  The input is a watch stream: it is fed to the splitter in
 * pieces whose sizes come from the input itself, each object it yields is
 * decoded as a watch message, and the whole input is also decoded as the
 * body of every kind of unary response, with a success and an error
 * status.  Beyond not crashing or leaking: the splitter yields the same
 * objects however the bytes are cut, and a decoded message is whole
 * (events with keys, errors with text).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "etcd_json.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

struct seen {
	uint64_t	hash;
	size_t		n;
};

static int
object(const char *obj, size_t len, void *arg)
{
	struct seen *s = arg;
	struct etcd_decoded d;
	size_t i;

	for (i = 0; i < len; i++)
		s->hash = s->hash * 1099511628211ULL ^ (uint8_t)obj[i];
	s->n++;
	if (obj[0] != '{')
		abort();
	memset(&d, 0, sizeof(d));
	if (etcd_json_watch(obj, len, &d) == 0) {
		if (d.wmsg.what == ETCD_WATCH_EVENTS && d.wmsg.nevents == 0)
			abort();
		for (i = 0; i < d.wmsg.nevents; i++)
			if (d.wmsg.events[i].kv.keylen == 0 ||
			    d.wmsg.events[i].kv.key[d.wmsg.events[i].kv.keylen])
				abort();
		if ((d.wmsg.what == ETCD_WATCH_LOST ||
		    d.wmsg.what == ETCD_WATCH_CANCELED) && d.wmsg.error == NULL)
			abort();
	} else if (d.wmsg.error == NULL)
		abort();
	etcd_decoded_free(&d);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct etcd_stream st;
	struct seen one, cut;
	struct etcd_decoded d;
	size_t off, step;
	int op, r1, r2;

	if (size > 256 * 1024)
		return 0;
	memset(&one, 0, sizeof(one));
	etcd_stream_init(&st, 64 * 1024);
	r1 = etcd_stream_feed(&st, (const char *)data, size, object, &one);
	etcd_stream_free(&st);

	memset(&cut, 0, sizeof(cut));
	etcd_stream_init(&st, 64 * 1024);
	r2 = 0;
	for (off = 0; off < size && r2 == 0; off += step) {
		step = 1 + data[off] % 17;
		if (step > size - off)
			step = size - off;
		r2 = etcd_stream_feed(&st, (const char *)data + off, step,
		    object, &cut);
	}
	etcd_stream_free(&st);
	/* Where both read everything, they saw the same objects. */
	if (r1 == 0 && r2 == 0 && (one.n != cut.n || one.hash != cut.hash))
		abort();

	for (op = ETCD_OP_STATUS; op <= ETCD_OP_COMPACT; op++) {
		memset(&d, 0, sizeof(d));
		if (etcd_json_resp((enum etcd_op)op, op % 2 ? 200 : 400,
		    (const char *)data, size, &d) == -1 && d.resp.ok)
			abort();
		if (!d.resp.ok && d.resp.error == NULL)
			abort();
		etcd_decoded_free(&d);
	}
	return 0;
}

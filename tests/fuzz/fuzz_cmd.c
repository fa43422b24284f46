// FUZZ-BUILD: daemon/cmd.c daemon/cmd_backend.c daemon/cmd_fleet.c daemon/cmd_route.c daemon/cmd_show.c daemon/cmd_zone.c daemon/config.c daemon/backend.c daemon/route.c daemon/route_index.c daemon/db.c daemon/db_reg.c daemon/etcd.c daemon/etcd_json.c daemon/etcd_watch.c daemon/fleet.c daemon/registry.c daemon/registry_parse.c common/b64.c daemon/state.c daemon/control.c daemon/trace.c daemon/stats.c daemon/health.c daemon/worker.c daemon/listen.c daemon/tcpout.c daemon/query.c common/argparse.c common/backend_opts.c common/cmdtab.c common/ctlproto.c common/dnsmsg.c common/dnsnames.c common/log.c common/tokenize.c common/util.c $(sh sql/embed.sh sql > "$WORK/schema_sql.c" && echo "$WORK/schema_sql.c") -Idaemon -DDNSROUTE_VERSION=\"fuzz\" $(pkg-config --cflags --libs libevent libevent_pthreads sqlite3 libpcre2-8 ldns jansson) -lpthread
/*
 * fuzz_cmd: the whole command path of the daemon, from a request line to
 * the store and back: tokenizing, lookup, every handler's option parsing,
 * transactions, snapshot building from an in-memory database.  Input: up
 * to 16 lines, each one request.  Nothing may crash, leak or leave a
 * reply without its final line.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "cmd.h"
#include "cmdtab.h"
#include "ctlproto.h"
#include "dnsrouted.h"
#include "log.h"
#include "tokenize.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static struct cmd_session sess;
static unsigned runs;

static void
reset(void)
{
	char err[256];

	if (dr != NULL) {
		config_unref(dr->cfg);
		route_cache_free(dr->rc);
		db_close(dr->db);
		free(dr);
	}
	dr = calloc(1, sizeof(*dr));
	if ((dr->db = db_open(":memory:", err, sizeof(err))) == NULL)
		abort();
	dr->rc = route_cache_new();
	if ((dr->cfg = config_build(dr->db, NULL, dr->rc, err, sizeof(err))) == NULL)
		abort();
	memset(&sess, 0, sizeof(sess));
}

/* Commands that need a running daemon (checks, streams) are left out. */
static int
runnable(const char *line)
{
	const struct cmd_spec *c;
	struct tok_line t;
	char err[128];
	int nw, ok = 1;

	if (tok_split(line, &t, err, sizeof(err)) == -1)
		return 1;
	c = cmd_lookup(t.argc, t.argv, &nw, err, sizeof(err));
	if (c != NULL && (c->id == CMD_TRACE || c->id == CMD_BACKEND_READD ||
	    c->id == CMD_SHOW_RECENT))
		ok = 0;
	tok_free(&t);
	return ok;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char line[CTL_LINE_MAX + 1];
	struct reply r;
	size_t i = 0, n;
	int lines = 0;

	if (dr == NULL) {
		log_init("fuzz", 0, -1);
		reset();
	}
	while (i < size && lines++ < 16) {
		for (n = 0; i < size && data[i] != '\n' && n < CTL_LINE_MAX; i++)
			line[n++] = data[i] == '\0' ? ' ' : (char)data[i];
		line[n] = '\0';
		i++;
		if (!runnable(line))
			continue;
		memset(&r, 0, sizeof(r));
		r.out = evbuffer_new();
		cmd_execute(&sess, &r, line);
		if (!r.final)
			abort();
		evbuffer_free(r.out);
	}
	if (sess.in_txn) {
		memset(&r, 0, sizeof(r));
		r.out = evbuffer_new();
		cmd_execute(&sess, &r, "abort");
		evbuffer_free(r.out);
	}
	if (++runs % 512 == 0)
		reset();
	return 0;
}

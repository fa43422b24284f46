// FUZZ-BUILD: daemon/cmd.c daemon/pace.c daemon/prio.c daemon/cmd_backend.c daemon/cmd_export.c daemon/cmd_fleet.c daemon/cmd_key.c daemon/cmd_replace.c daemon/cmd_route.c daemon/cmd_share.c daemon/share.c daemon/share_fmt.c daemon/cmd_show.c daemon/cmd_zone.c daemon/statediff.c daemon/config.c daemon/backend.c daemon/route.c daemon/route_index.c daemon/db*.c daemon/etcd.c daemon/etcd_json.c daemon/etcd_watch.c daemon/fleet.c daemon/registry.c daemon/registry_parse.c common/b64.c daemon/state.c daemon/control.c daemon/reply.c daemon/trace.c daemon/stats.c daemon/health.c daemon/health_history.c daemon/health_host.c daemon/health_probe.c daemon/health_readd.c daemon/health_state.c daemon/worker.c daemon/listen.c daemon/tconn.c daemon/proxyhdr.c daemon/query.c daemon/update.c daemon/fanout.c daemon/tsig.c daemon/balance.c daemon/client_tcp.c daemon/client_udp.c daemon/tring.c daemon/txq.c daemon/upstream.c daemon/xfr.c common/dnsxfr.c common/dnsecs.c common/proxyv2.c common/argparse.c common/cmdhelp.c common/cmdformat.c common/cmdparse.c common/cmdtab.c common/ctlproto.c common/dnsmsg.c common/dnsnames.c common/log.c common/script.c common/settings.c common/tokenize.c common/util.c common/words.c $(sh sql/embed.sh sql > "$WORK/schema_sql.c" && echo "$WORK/schema_sql.c") -Idaemon -DDNSROUTE_VERSION=\"fuzz\" $(pkg-config --cflags --libs libevent libevent_pthreads sqlite3 libpcre2-8 ldns jansson libcrypto) -lpthread
// FUZZ-ARGS: -detect_leaks=0
/*
 * fuzz_cmd: the whole command path of the daemon, from a request line to
 * the store and back: tokenizing, lookup, the parser, every handler,
 * transactions, snapshot building from an in-memory database.  Input: up
 * to 16 lines, each one request; a line "replace" or "replace dry-run"
 * takes the rest of the input as its data.  Nothing may crash, leak or
 * leave a reply without its final line.
 *
 * The store lives on from one input to the next (opening one costs 50 ms
 * under ASan), so an input that adds a route leaves more allocated than
 * it found.  libFuzzer takes that for a possible leak and scans the whole
 * heap after it, nearly every input; hence -detect_leaks=0 below.  Leaks
 * are still found: LeakSanitizer checks the heap at exit, where the store
 * is reachable and anything a command lost is not, and fails the run
 * with the allocation's stack.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <sqlite3.h>

#include "cmd.h"
#include "cmdtab.h"
#include "config.h"
#include "ctlproto.h"
#include "db.h"
#include "log.h"
#include "route.h"
#include "state.h"
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
	if ((dr->cfg = config_build(dr->db, NULL, dr->rc, err,
	    sizeof(err))) == NULL)
		abort();
	memset(&sess, 0, sizeof(sess));
}

/* What a line is: -1 needs a running daemon (checks, streams) and is
 * left out, 1 takes data (replace), 0 the rest. */
static int
kind(const char *line)
{
	const struct cmd_spec *c;
	struct tok_line t;
	char err[128];
	int nw, k = 0;

	if (tok_split(line, &t, err, sizeof(err)) == -1)
		return 0;
	c = cmd_lookup(t.argc, t.argv, &nw, err, sizeof(err));
	if (c != NULL && (c->id == CMD_TRACE || c->id == CMD_BACKEND_READD ||
	    c->id == CMD_SHOW_RECENT))
		k = -1;
	else if (c != NULL && (c->flags & CMD_F_BODY))
		k = 1;
	tok_free(&t);
	return k;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char line[CTL_LINE_MAX + 1];
	struct reply r;
	size_t i = 0, n;
	int lines = 0, k;

	if (dr == NULL) {
		log_init("fuzz", 0, -1);
		/* No bulk page-cache allocation per cache: every query that
		 * sorts opens an ephemeral table whose cache starts with an
		 * 86 KiB malloc, and under ASan those fresh pages cost 4/5
		 * of the run.  Our code reaches the same paths either way. */
		if (sqlite3_config(SQLITE_CONFIG_PAGECACHE, (void *)0, 0, 0) !=
		    SQLITE_OK)
			abort();
		reset();
	}
	while (i < size && lines++ < 16) {
		for (n = 0; i < size && data[i] != '\n' && n < CTL_LINE_MAX;
		    i++)
			line[n++] = data[i] == '\0' ? ' ' : (char)data[i];
		line[n] = '\0';
		i++;
		if ((k = kind(line)) == -1)
			continue;
		memset(&r, 0, sizeof(r));
		r.out = evbuffer_new();
		if (k == 1) {
			/* The rest of the input is the desired state. */
			cmd_execute(&sess, &r, line,
			    i < size ? (const char *)data + i : "",
			    i < size ? size - i : 0);
			i = size;
		} else
			cmd_execute(&sess, &r, line, NULL, 0);
		if (!r.final)
			abort();
		evbuffer_free(r.out);
	}
	if (sess.in_txn) {
		memset(&r, 0, sizeof(r));
		r.out = evbuffer_new();
		cmd_execute(&sess, &r, "abort", NULL, 0);
		evbuffer_free(r.out);
	}
	if (++runs % 512 == 0)
		reset();
	return 0;
}

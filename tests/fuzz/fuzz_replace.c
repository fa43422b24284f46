// FUZZ-BUILD: daemon/cmd.c daemon/pace.c daemon/prio.c daemon/cmd_backend.c daemon/cmd_export.c daemon/cmd_fleet.c daemon/cmd_key.c daemon/cmd_replace.c daemon/cmd_route.c daemon/cmd_share.c daemon/share.c daemon/share_fmt.c daemon/cmd_show.c daemon/cmd_zone.c daemon/statediff.c daemon/config.c daemon/backend.c daemon/route.c daemon/route_index.c daemon/db*.c daemon/etcd.c daemon/etcd_json.c daemon/etcd_watch.c daemon/fleet.c daemon/registry.c daemon/registry_parse.c common/b64.c daemon/state.c daemon/control.c daemon/reply.c daemon/trace.c daemon/stats.c daemon/health.c daemon/health_history.c daemon/health_host.c daemon/health_probe.c daemon/health_readd.c daemon/health_state.c daemon/worker.c daemon/listen.c daemon/tconn.c daemon/proxyhdr.c daemon/query.c daemon/update.c daemon/fanout.c daemon/tsig.c daemon/balance.c daemon/client_tcp.c daemon/client_udp.c daemon/tring.c daemon/txq.c daemon/upstream.c daemon/xfr.c common/dnsxfr.c common/dnsecs.c common/proxyv2.c common/argparse.c common/cmdhelp.c common/cmdformat.c common/cmdparse.c common/cmdtab.c common/ctlproto.c common/dnsmsg.c common/dnsnames.c common/log.c common/script.c common/settings.c common/tokenize.c common/util.c common/words.c $(sh sql/embed.sh sql > "$WORK/schema_sql.c" && echo "$WORK/schema_sql.c") -Idaemon -DDNSROUTE_VERSION=\"fuzz\" $(pkg-config --cflags --libs libevent libevent_pthreads sqlite3 libpcre2-8 ldns jansson libcrypto) -lpthread
/*
 * fuzz_replace: `replace` in the daemon, its input fuzzed: the reader of
 * command texts, the parser and every state command's handler on the
 * scratch store, the diff against a store with something of everything,
 * and applying it.  Beyond not crashing, leaking or leaving a reply
 * without its final line: when a replace succeeds, the state it made,
 * exported, replaced onto itself, changes nothing (export is what replace
 * reads, exactly); when it fails, or is a dry run, the state is what it
 * was (its export unchanged).
 *
 * Opening a store (its schema and migrations, under ASan) is most of what
 * an input costs, and replace opens a scratch store of its own each time.
 * So the store with the set-up in it is made again only after a replace
 * that changed it (and every RESET_EVERY inputs, so that what piles up
 * beside the state, the audit, stays small): an input that leaves the
 * state as it was, checked by its export, lets the next one start from it.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "cmd.h"
#include "cmdtab.h"
#include "config.h"
#include "ctlproto.h"
#include "db.h"
#include "log.h"
#include "route.h"
#include "state.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* Inputs run on the same store at most this many in a row. */
#define RESET_EVERY	256

static struct cmd_session sess;
static char final[1024];	/* the last reply's final text */
static char *base;		/* the set-up's export */
static size_t baselen;
static int dirty = 1;		/* the store must be made again */
static int runs;		/* inputs since it was */

static const char *const setup[] = {
	"set retries 2",
	"pool add web policy first",
	"pool add apex",
	"backend add ns-a 127.0.0.1:5301 pool web pool apex weight 3",
	"backend add ns-b 127.0.0.1:5302 pool web check x. A",
	"backend drain ns-b",
	"route add ^a\\. pool web comment one",
	"route add ^b\\. qtype MX refuse",
	"route add ^a\\. pool apex",
	NULL
};

/* Run one request; its final code, the text lines into text (owned by
 * the caller) when asked. */
static int
run(const char *line, const char *body, size_t bodylen, char **text,
    size_t *textlen)
{
	struct reply r;
	const char *t;
	char *l;
	size_t n;
	int code = -1, more;

	memset(&r, 0, sizeof(r));
	r.out = evbuffer_new();
	cmd_execute(&sess, &r, line, body, bodylen);
	if (!r.final)
		abort();
	if (text != NULL)
		*text = NULL;
	if (textlen != NULL)
		*textlen = 0;
	while ((l = evbuffer_readln(r.out, &n, EVBUFFER_EOL_LF)) != NULL) {
		code = ctl_parse_line(l, &more, &t);
		if (code == CTL_TEXT && text != NULL && textlen != NULL) {
			char *u = strdup(t);
			size_t ul = ctl_unescape(u);

			*text = realloc(*text, *textlen + ul + 2);
			memcpy(*text + *textlen, u, ul);
			(*text)[*textlen + ul] = '\n';
			*textlen += ul + 1;
			free(u);
		}
		if (code >= 0 && !more) {
			snprintf(final, sizeof(final), "%s", t);
			ctl_unescape(final);
		}
		free(l);
	}
	evbuffer_free(r.out);
	return code;
}

static void
reset(void)
{
	static int checked;
	char err[256];
	int i;

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
	for (i = 0; setup[i] != NULL; i++)
		if (run(setup[i], NULL, 0, NULL, NULL) != CTL_OK)
			abort();
	free(base);
	if (run("export", NULL, 0, &base, &baselen) != CTL_OK)
		abort();
	/* The set-up's own export, replaced onto it: no change (once; the
	 * same every time). */
	if (!checked) {
		if (run("replace", base, baselen, NULL, NULL) != CTL_OK ||
		    strncmp(final, "no changes", 10) != 0)
			abort();
		checked = 1;
	}
	dirty = 0;
	runs = 0;
}

/* The state is still the set-up's: the next input may start from it. */
static void
unchanged(void)
{
	char *exp = NULL;
	size_t explen = 0;

	if (run("export", NULL, 0, &exp, &explen) != CTL_OK ||
	    explen != baselen || (explen > 0 && memcmp(exp, base, explen) != 0))
		abort();
	free(exp);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *exp = NULL, *last = NULL;
	size_t explen = 0;
	int dry = size > 0 && data[0] & 1;

	if (dr == NULL)
		log_init("fuzz", 0, -1);
	if (dirty || ++runs > RESET_EVERY)
		reset();
	if (run(dry ? "replace dry-run" : "replace", (const char *)data, size,
	    NULL, NULL) != CTL_OK || dry) {
		unchanged();
		return 0;
	}
	dirty = 1;
	/* What the state is now, replaced onto itself: no change. */
	if (run("export", NULL, 0, &exp, &explen) != CTL_OK)
		abort();
	if (run("replace", exp != NULL ? exp : "", explen, &last, NULL) !=
	    CTL_OK || strncmp(final, "no changes", 10) != 0)
		abort();
	free(last);
	free(exp);
	return 0;
}

/*
 * trace: live query traces (see trace.h).  Not written yet beyond the
 * hooks: with no tracer, nothing is emitted.
 */
#include "cmd.h"
#include "ctlproto.h"
#include "trace.h"

atomic_int trace_active;

void
trace_emit_slot(struct worker *w, const struct qslot *s, int outcome,
    int rcode, int ancount, uint64_t now)
{
	(void)w; (void)s; (void)outcome; (void)rcode; (void)ancount; (void)now;
}

void
trace_emit_early(struct worker *w, const struct sockaddr *sa, int tcp,
    const uint8_t *pkt, size_t len, const struct dns_query *q, int outcome,
    int detail)
{
	(void)w; (void)sa; (void)tcp; (void)pkt; (void)len; (void)q;
	(void)outcome; (void)detail;
}

void
trace_init(struct event_base *base)
{
	(void)base;
}

void
trace_shutdown(void)
{
}

int
cmd_show_recent(struct cmd_ctx *x, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	reply_err(x->r, CTL_ERR_RUNTIME, "show recent is not implemented yet");
	return -1;
}

int
cmd_trace(struct cmd_ctx *x, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	reply_err(x->r, CTL_ERR_RUNTIME, "trace is not implemented yet");
	return -1;
}

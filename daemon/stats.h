/*
 * stats: the query-path counters.  Each worker owns one struct stats and is
 * its only writer, so an increment is a plain load and store (relaxed
 * atomics, no lock prefix); the main thread sums the workers' copies when
 * asked.  Names are the ones `show stats` and the metrics endpoint print.
 */
#ifndef STATS_H
#define STATS_H

#include <stdatomic.h>
#include <stdint.h>

#define STATS_FIELDS(X)							\
	X(queries_udp, "queries-udp", "queries received over UDP")	\
	X(queries_tcp, "queries-tcp", "queries received over TCP")	\
	X(answers, "answers", "answers sent to clients")		\
	X(malformed, "malformed", "malformed queries (FORMERR or dropped)") \
	X(noroute, "noroute", "queries no route matched")		\
	X(refused_xfr, "refused-xfr", "AXFR/IXFR refused: no route names the transfer type") \
	X(xfr, "xfr", "zone transfers relayed whole from a backend")	\
	X(xfr_aborted, "xfr-aborted", "zone transfers cut off: the backend failed, closed or was silent, or the client left") \
	X(notimp, "notimp", "opcodes other than QUERY answered NOTIMP")	\
	X(action_answers, "route-answers", "answered by a refuse/nxdomain/servfail route") \
	X(dropped, "dropped", "queries dropped by a drop route or action") \
	X(all_down, "pool-down", "queries whose pool had no usable member") \
	X(overload, "overload", "queries refused at the outstanding limit") \
	X(client_limit, "client-limit", "queries over max-outstanding-per-client (UDP dropped, TCP SERVFAIL), transfers over a client's share (SERVFAIL)") \
	X(forwarded, "forwarded", "queries sent to backends (with retries)") \
	X(retries, "retries", "queries retried on another member")	\
	X(timeouts, "timeouts", "backend timeouts")			\
	X(servfail, "servfail", "SERVFAIL answers made by the router")	\
	X(formerr, "formerr", "FORMERR answers made by the router")	\
	X(spoofed, "spoofed", "backend answers dropped: wrong question, QR clear, malformed") \
	X(headerless, "headerless", "backend error answers without a question, relayed with the client's") \
	X(unexpected, "unexpected", "backend answers with no matching query (late, wrong ID)") \
	X(send_errors, "send-errors", "failed sends to backends or clients") \
	X(match_limit, "match-limit", "regex matches stopped by the match limit") \
	X(tcp_accepted, "tcp-accepted", "client TCP connections accepted") \
	X(tcp_rejected, "tcp-rejected", "client TCP connections refused at a limit") \
	X(tcp_timeouts, "tcp-idle-closed", "client TCP connections closed idle") \
	X(truncated, "truncated", "answers relayed with TC set")	\
	X(updates, "updates", "UPDATE messages received")		\
	X(update_tsig, "update-tsig-errors", "UPDATEs answered with a TSIG error or FORMERR for their TSIG") \
	X(update_unsigned, "update-unsigned", "unsigned UPDATEs refused (the route does not say tsig optional)") \
	X(update_copies, "update-copies", "UPDATE copies sent to backends") \
	X(update_failed, "update-failed", "UPDATEs answered other than NOERROR after their fan-out") \
	X(update_retransmitted, "update-retransmitted", "UPDATEs dropped as a client's copy of one still in flight") \
	X(raced, "race", "queries sent to every member of a race pool") \
	X(race_discarded, "race-discarded", "race tries given up when another answer won (a late answer counts as unexpected)") \
	X(ecs_skipped, "ecs-skipped", "queries to client-address ecs backends sent without it: no EDNS, signed, or no room") \
	X(proxy_tcp_busy, "proxy-tcp-busy", "tries not sent to client-address proxy backends over TCP: every connection busy with other clients' queries (also send-errors)") \
	X(tc_retries, "tc-retries", "truncated UDP answers fetched again over TCP (pool tc-retry)") \
	X(rcode_noerror, "rcode-noerror", "answers with NOERROR")	\
	X(rcode_nxdomain, "rcode-nxdomain", "answers with NXDOMAIN")	\
	X(rcode_servfail, "rcode-servfail", "answers with SERVFAIL")	\
	X(rcode_refused, "rcode-refused", "answers with REFUSED")	\
	X(rcode_formerr, "rcode-formerr", "answers with FORMERR")	\
	X(rcode_other, "rcode-other", "answers with another rcode")

struct stats {
#define X(f, n, h) atomic_ulong f;
	STATS_FIELDS(X)
#undef X
};

#define STAT_INC(s, f) STAT_ADD(s, f, 1)
#define STAT_ADD(s, f, v) atomic_store_explicit(&(s)->f,		\
	atomic_load_explicit(&(s)->f, memory_order_relaxed) + (v),	\
	memory_order_relaxed)

struct stat_desc {
	const char	*name;
	const char	*help;
	size_t		 off;
};
extern const struct stat_desc stat_descs[];
extern const int stat_ndescs;

/* Add every counter of src into the plain array out (stat_ndescs long). */
void	stats_sum(const struct stats *src, uint64_t *out);

/* Where each rcode is counted (offsets into struct stats; rcode-other
 * for those without a counter of their own). */
extern const uint16_t stats_rcode_off[16];

/* Count an answer's rcode: once per answer, on the query path, so inline
 * and a table rather than a switch. */
static inline void
stats_count_rcode(struct stats *s, int rcode)
{
	atomic_ulong *c = (atomic_ulong *)((char *)s +
	    stats_rcode_off[rcode & 0xf]);

	atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) +
	    1, memory_order_relaxed);
}

#endif

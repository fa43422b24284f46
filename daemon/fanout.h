/*
 * fanout: one DNS UPDATE sent to several servers at once, each copy with
 * a fresh ID and signed with that server's TSIG key (or unsigned), over
 * UDP and again over TCP when the answer comes back truncated (or at once
 * over TCP when the message is too big for one datagram), all within one
 * timeout.  Each target ends confirmed (NOERROR, verified with its key)
 * or failed with a reason; the client's rcode follows the confirmation
 * rule.
 *
 * A fan-out owns its own sockets, one per target (random source ports,
 * connected), on the event base it is given: UPDATEs are rare, and
 * nothing of the query path's ID map, slots or pooled connections is
 * touched.  It never calls back from inside fanout_start or fanout_free.
 */
#ifndef FANOUT_H
#define FANOUT_H

#include <sys/socket.h>
#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>

#include "dnsmsg.h"
#include "proxyv2.h"
#include "tring.h"
#include "tsig.h"

/* Larger UPDATEs go over TCP from the start: 1232 octets is what a
 * datagram carries without fragments on any path (DNS flag day 2020). */
#define FANOUT_UDP_MAX	1232

enum fanout_state { FANOUT_PENDING = 0, FANOUT_CONFIRMED, FANOUT_FAILED };

struct fanout_target {
	/* Set by the caller. */
	const char		*name;		/* in the results */
	struct sockaddr_storage	 addr;
	socklen_t		 addrlen;
	const struct tsig_key	*key;		/* NULL: unsigned */
	uint8_t			 proxy[PROXYV2_MAX];	/* a PROXY header */
	size_t			 proxylen;	/* before each datagram and at
						   the start of TCP; 0: none */
	/* The outcome, once state is not PENDING. */
	int			 state;		/* enum fanout_state */
	int			 rcode;		/* the server's; -1: none usable */
	int			 why;		/* enum trace_why (tring.h) */
	int			 tcp;		/* it went over TCP */
	unsigned		 ignored;	/* datagrams that were no answer */
	uint64_t		 rtt_us;
};

struct fanout;
typedef void (*fanout_cb)(struct fanout *, void *arg);

/*
 * Send the UPDATE msg (len bytes, unsigned, parsed into q) to the n
 * targets, which stay the caller's and must outlive the fan-out, like
 * their keys.  confirm_all: NOERROR needs every target (else one).  cb is
 * called from the event loop when the client's rcode is known
 * (fanout_rcode) and again when every target is done (fanout_done); once
 * when both happen together.  NULL when nothing could be started (out of
 * memory, a message over 64 KiB).
 */
struct fanout	*fanout_start(struct event_base *, const uint8_t *msg,
		    size_t len, const struct dns_query *q,
		    struct fanout_target *targets, int n, int confirm_all,
		    int timeout_ms, fanout_cb cb, void *arg);
/* The client's rcode: NOERROR when the rule is met, else once nothing
 * can change it the worst of the failures (SERVFAIL for no usable
 * answer, then NOTAUTH, REFUSED, NOTIMP, FORMERR, NOTZONE, YXDOMAIN,
 * YXRRSET, NXRRSET, NXDOMAIN); -1 while undecided. */
int		 fanout_rcode(const struct fanout *);
/* What was sent to one target, to judge what comes back. */
struct fanout_sent {
	const struct dns_query	*q;		/* the UPDATE (its zone) */
	uint16_t		 id;		/* the copy's ID */
	const struct tsig_key	*key;		/* NULL: sent unsigned */
	const uint8_t		*mac;		/* the copy's MAC */
	size_t			 maclen;
};

enum fanout_verdict {
	FANOUT_IGNORE = 0,	/* not the answer: another ID, question, ... */
	FANOUT_TRUNCATED,	/* over UDP with TC: ask again over TCP */
	FANOUT_CONFIRM,		/* NOERROR, verified when keyed */
	FANOUT_FAIL		/* the answer, and a failure: see why, rcode */
};

/* A message from a target's server (over TCP or not) at now (seconds):
 * the verdict, with the server's rcode (-1 when the answer's TSIG failed)
 * and why it fails.  For the fan-out and the fuzz target. */
enum fanout_verdict fanout_classify(const struct fanout_sent *,
		    const uint8_t *pkt, size_t len, int tcp, uint64_t now,
		    int *rcode, int *why);
/* Has every target ended? */
int		 fanout_done(const struct fanout *);
/* Stop (what is in flight is abandoned) and free; NULL is fine. */
void		 fanout_free(struct fanout *);

#endif

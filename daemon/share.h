/*
 * share: the state the routers of a fleet share, kept in etcd (layout:
 * share_fmt.h), mirrored here, and changed by compare-and-swap.  Nothing
 * here touches the store or waits: the owner (cmd_share.c) turns a head
 * into the store's state, and says after each commit what the store
 * reflects (share_set_local).
 *
 * Mirroring: PREFIX state/ is read whole at one revision and watched
 * (etcd_sync).  A head is usable once every chunk it names is here and
 * the text they make has its digest; then, if the store is part of the
 * fleet and reflects another head, ops->apply is called (from an event of
 * its own, again while it says busy, with a growing pause when it fails),
 * so a router applies the newest whole state there is, never a part of
 * one, and skips heads that were replaced before it got to them.
 *
 * Proposing: the chunks the base head does not have are put (in
 * transactions of at most SHARE_TXN_OPS puts and SHARE_TXN_BYTES bytes,
 * under etcd's default limits of 128 operations and 1.5 MiB a request),
 * then one transaction puts the head if the head's mod_revision is still
 * base (0: no head yet), and otherwise reads who changed it.  So two
 * changes never interleave: the second is refused whole.
 *
 * Chunks no head names are deleted by the router whose change replaced
 * them: those of the previous head and those left by refused or
 * interrupted proposals, but only when their mod_revision is below the new
 * head's, compared in the deleting transaction.  Every chunk a proposal
 * relies on is either named by its base head or put after it, so nothing a
 * head names is ever deleted.
 */
#ifndef SHARE_H
#define SHARE_H

#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>

#include "etcd.h"
#include "share_fmt.h"

#define SHARE_TXN_OPS		100
#define SHARE_TXN_BYTES		(1024 * 1024)

struct share;

struct share_ops {
	/* Make the store equal to text, etcd's state at head (mod_revision
	 * revision): 0 done (the owner calls share_set_local), 1 busy (an
	 * open transaction: call again later), -1 failed (err), 2 started:
	 * the owner calls share_apply_done() once it is over (text need
	 * not stay). */
	int	(*apply)(void *arg, const char *text, size_t len,
		    const struct share_head *, int64_t revision, char *err,
		    size_t errlen);
	/* share_free() while an apply is started: stop it, keep none. */
	void	(*cancel)(void *arg);
};

struct share	*share_new(struct event_base *, struct etcd *, const char *prefix,
		    const char *router_id, const struct share_ops *, void *arg);
void		 share_free(struct share *);
const char	*share_prefix(const struct share *);

/* What the store reflects: joined (to this prefix), the revision of the
 * head it is at (0: none) and that head's digest ("" none). */
void		 share_set_local(struct share *, int joined, int64_t revision,
		    const char *digest);

/* A started apply is over: rc and err as apply() would return them. */
void		 share_apply_done(struct share *, int rc, const char *err);

/* The head etcd has now, as mirrored: 0 with its text (valid until the
 * next return to the event loop), 1 when there is none, -1 when the
 * mirror is not current or the head is not whole yet (why says so). */
int		 share_head(struct share *, const struct share_head **,
		    int64_t *revision, const char **text, size_t *len,
		    char *why, size_t whylen);

/* May a change based on revision base be proposed now?  0, or -1 with why
 * (etcd unreachable; this router behind the fleet; no state in etcd). */
int		 share_can_propose(const struct share *, int64_t base, char *why,
		    size_t whylen);

enum share_outcome {
	SHARE_DONE,		/* the head is ours at revision */
	SHARE_REFUSED,		/* another change landed first */
	SHARE_FAILED,		/* etcd did not do it */
	SHARE_UNKNOWN		/* the connection broke after sending: it may
				   have been done (the mirror will tell) */
};
struct share_result {
	enum share_outcome	 outcome;
	int64_t			 revision;	/* DONE */
	int64_t			 serial;	/* DONE */
	const char		*error;		/* one line, all but DONE */
};
typedef void (*share_cb)(const struct share_result *, void *arg);

/* Origin of a change, for the head. */
struct share_origin {
	long		 uid, pid;
	const char	*what;
};

/* Propose text (taken over: freed here), whose share_digest the caller
 * has made already, as the state, replacing the head at revision base (0:
 * there is none).  cb is called exactly once, from the event loop, also
 * when the share is freed first (FAILED).  -1 (and no call) when a
 * proposal is already running. */
int		 share_propose(struct share *, char *text, size_t len,
		    const char *digest, int64_t base,
		    const struct share_origin *, share_cb, void *arg);

struct share_status {
	const char	*prefix;
	int		 joined;
	int		 live;		/* mirror current and etcd connected */
	int64_t		 revision;	/* the head the store reflects */
	int64_t		 head_revision;	/* etcd's, as mirrored (0: none) */
	int64_t		 head_serial;
	const char	*head_router;
	int64_t		 head_time_us;
	const char	*head_what;
	int64_t		 head_bytes;
	size_t		 head_chunks;
	int		 whole;		/* every chunk of the head is here */
	int		 failing;	/* applying the head failed */
	double		 lag_s;		/* how long the store may be behind */
	uint64_t	 applied;	/* heads of others applied */
	int64_t		 applied_us;	/* when the store last changed by one */
	uint64_t	 proposed;	/* changes of ours that etcd took */
	uint64_t	 refused;	/* ours refused: another came first */
	int		 proposing;
	const char	*last_error;	/* applying or proposing; "" none */
};
void		 share_status(const struct share *, struct share_status *);
/* A change was applied (by ops->apply) or made here: for show fleet. */
void		 share_note_applied(struct share *, int remote);

#endif

/*
 * health_host: checks in flight per server (see health_int.h).
 *
 * Checks to one server (an address, whatever the port) are at most
 * HOST_INFLIGHT at a time; the others wait their turn in order and their
 * timeout starts when they do.  Thousands of backends registered at one
 * nameserver would otherwise all be checked in the same instant (every new
 * backend is checked at once), and a server that takes a hundred TCP
 * connections at a time lets the rest time out: half of 2,500 first checks
 * failed so.  A cap spreads them no more than the server needs: as fast as
 * it answers, which a random delay could not promise.
 */
#include <sys/queue.h>
#include <sys/socket.h>
#include <netinet/in.h>

#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "health_int.h"
#include "log.h"
#include "util.h"

#define HOST_INFLIGHT		16

/* The address without its port: what tells one server from another. */
static void
host_key(const struct backend *b, struct sockaddr_storage *k)
{
	memset(k, 0, sizeof(*k));
	k->ss_family = b->addr.ss_family;
	if (b->addr.ss_family == AF_INET)
		((struct sockaddr_in *)k)->sin_addr =
		    ((const struct sockaddr_in *)&b->addr)->sin_addr;
	else if (b->addr.ss_family == AF_INET6)
		((struct sockaddr_in6 *)k)->sin6_addr =
		    ((const struct sockaddr_in6 *)&b->addr)->sin6_addr;
}

static unsigned
host_bucket(const struct sockaddr_storage *k)
{
	const unsigned char *p = (const unsigned char *)k;
	unsigned h = 2166136261u;
	size_t i;

	for (i = 0; i < sizeof(*k); i++)
		h = (h ^ p[i]) * 16777619u;
	return h % HOST_BUCKETS;
}

static void
host_kick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct hhost *ho = arg;
	struct hcheck *hc;

	(void)fd;
	(void)what;
	while (ho->inflight < HOST_INFLIGHT &&
	    (hc = TAILQ_FIRST(&ho->waiting)) != NULL) {
		TAILQ_REMOVE(&ho->waiting, hc, qentry);
		hc->queued = 0;
		hcheck_go(hc);
	}
}

/* The server of b, made if new; referenced. */
struct hhost *
hhost_get(struct health *h, const struct backend *b)
{
	struct sockaddr_storage k;
	struct hhost *ho;
	unsigned i;

	host_key(b, &k);
	i = host_bucket(&k);
	for (ho = h->hosts[i]; ho != NULL; ho = ho->next)
		if (memcmp(&ho->addr, &k, sizeof(k)) == 0) {
			ho->refcnt++;
			return ho;
		}
	ho = xcalloc(1, sizeof(*ho));
	ho->h = h;
	ho->addr = k;
	ho->refcnt = 1;
	TAILQ_INIT(&ho->waiting);
	if ((ho->kick = evtimer_new(h->base, host_kick_cb, ho)) == NULL)
		fatalx("health: cannot create a timer");
	ho->next = h->hosts[i];
	h->hosts[i] = ho;
	return ho;
}

void
hhost_unref(struct hhost *ho)
{
	struct hhost **pp;

	if (--ho->refcnt > 0)
		return;
	for (pp = &ho->h->hosts[host_bucket(&ho->addr)]; *pp != ho;
	    pp = &(*pp)->next)
		;
	*pp = ho->next;
	event_free(ho->kick);
	free(ho);
}

/* A check is due: 1 when its server has HOST_INFLIGHT checks in flight
 * already, and it waits in line (hhost_unqueue takes it out), 0 when it
 * may go now. */
int
hhost_queue(struct hcheck *hc)
{
	struct hhost *ho = hc->host;

	if (ho->inflight < HOST_INFLIGHT)
		return 0;
	hc->queued = 1;
	TAILQ_INSERT_TAIL(&ho->waiting, hc, qentry);
	return 1;
}

/* The check goes: it holds one of its server's slots until
 * hhost_release. */
void
hhost_take(struct hcheck *hc)
{
	hc->slot = 1;
	hc->host->inflight++;
}

/* The check no longer waits for its turn. */
void
hhost_unqueue(struct hcheck *hc)
{
	if (!hc->queued)
		return;
	TAILQ_REMOVE(&hc->host->waiting, hc, qentry);
	hc->queued = 0;
}

/* The check in flight ended: its slot goes to the next in line, from the
 * event loop (never inside the call that ended this one). */
void
hhost_release(struct hcheck *hc)
{
	struct timeval zero = { 0, 0 };
	struct hhost *ho = hc->host;

	if (!hc->slot)
		return;
	hc->slot = 0;
	ho->inflight--;
	if (!TAILQ_EMPTY(&ho->waiting))
		evtimer_add(ho->kick, &zero);
}

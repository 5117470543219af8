// SPDX-License-Identifier: MIT
/* Transport names, the choice of a connection's transport, and what every
 * transport shares: see transport.h. */
#define _GNU_SOURCE
#include "transport.h"

#include <errno.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "clock.h"
#include "log.h"

int transport_parse(const char *name)
{
	if (strcmp(name, "auto") == 0)
		return TRANSPORT_AUTO;
	if (strcmp(name, "copy") == 0)
		return TRANSPORT_COPY;
	if (strcmp(name, "zerocopy") == 0)
		return TRANSPORT_ZEROCOPY;
	if (strcmp(name, "sendfile") == 0)
		return TRANSPORT_SENDFILE;
	return -1;
}

const char *transport_name(enum transport t)
{
	switch (t) {
	case TRANSPORT_COPY:
		return "copy";
	case TRANSPORT_ZEROCOPY:
		return "zerocopy";
	case TRANSPORT_SENDFILE:
		return "sendfile";
	case TRANSPORT_AUTO:
		break;
	}
	return "auto";
}

void tx_init(struct tx *t, int fd, uint32_t id, const char *peer)
{
	memset(t, 0, sizeof(*t));
	t->fd = fd;
	t->id = id;
	t->peer = peer;
	t->prefix = "";
	send_queue_init(&t->q);
	tx_set_ops(t, &tx_copy_ops);
}

void tx_set_ops(struct tx *t, const struct tx_ops *ops)
{
	t->ops = ops;
	snprintf(t->label, sizeof(t->label), "%s%s", t->prefix, ops->name);
}

/* Is the peer this host (loopback, or one of our own addresses)? Then the
 * kernel delivers by copying, whatever the sender asks for. */
static bool peer_is_local(int fd)
{
	struct sockaddr_storage me = { 0 }, them = { 0 };
	socklen_t ml = sizeof(me), tl = sizeof(them);

	if (getsockname(fd, (struct sockaddr *)&me, &ml) || getpeername(fd, (struct sockaddr *)&them, &tl))
		return false;
	if (them.ss_family == AF_INET) {
		const struct sockaddr_in *a = (const void *)&them, *b = (const void *)&me;

		return (ntohl(a->sin_addr.s_addr) >> 24) == 127 ||
		       a->sin_addr.s_addr == b->sin_addr.s_addr;
	}
	if (them.ss_family == AF_INET6) {
		const struct sockaddr_in6 *a = (const void *)&them, *b = (const void *)&me;

		return IN6_IS_ADDR_LOOPBACK(&a->sin6_addr) ||
		       (IN6_IS_ADDR_V4MAPPED(&a->sin6_addr) && a->sin6_addr.s6_addr[12] == 127) ||
		       memcmp(&a->sin6_addr, &b->sin6_addr, sizeof(a->sin6_addr)) == 0;
	}
	return false;
}

/* Is ifa the interface holding our address me? */
static bool holds_address(const struct ifaddrs *i, const struct sockaddr_storage *me)
{
	if (!i->ifa_addr || i->ifa_addr->sa_family != me->ss_family)
		return false;
	if (me->ss_family == AF_INET)
		return ((const struct sockaddr_in *)i->ifa_addr)->sin_addr.s_addr ==
		       ((const struct sockaddr_in *)me)->sin_addr.s_addr;
	if (me->ss_family == AF_INET6)
		return memcmp(&((const struct sockaddr_in6 *)i->ifa_addr)->sin6_addr,
			      &((const struct sockaddr_in6 *)me)->sin6_addr,
			      sizeof(struct in6_addr)) == 0;
	return true;
}

/* Does the connection leave through a network device backed by hardware
 * (/sys/class/net/IF/device exists: a PCI, USB or platform NIC, virtio
 * included), rather than lo, veth, a bridge or a tunnel? */
static bool leaves_through_hardware(int fd)
{
	struct sockaddr_storage me = { 0 };
	socklen_t ml = sizeof(me);
	struct ifaddrs *ifs, *i;
	bool hw = false;

	if (getsockname(fd, (struct sockaddr *)&me, &ml) || getifaddrs(&ifs))
		return false;
	for (i = ifs; i; i = i->ifa_next) {
		char path[300];

		if (!holds_address(i, &me))
			continue;
		snprintf(path, sizeof(path), "/sys/class/net/%s/device", i->ifa_name);
		hw = access(path, F_OK) == 0;
		break;
	}
	freeifaddrs(ifs);
	return hw;
}

/* What a plain connection asked for becomes, before any socket option. */
static enum transport plain_choice(struct tx *t, enum transport asked)
{
	if (asked == TRANSPORT_AUTO && peer_is_local(t->fd))
		/* the kernel copies loopback traffic anyway: zero-copy would
		 * only pin blocks longer and cost completions */
		return TRANSPORT_COPY;
	if (asked == TRANSPORT_SENDFILE && !leaves_through_hardware(t->fd)) {
		/* A receiver in this kernel (loopback, veth, a bridge) gets the
		 * very skb that references the file's pages, and reads them
		 * when it gets round to it, long after our side saw the ack: a
		 * block refilled meanwhile arrives as new data (measured on
		 * loopback and across veth). Only a NIC that has sent the bytes
		 * makes the ack mean "done with the pages". */
		t->prefix = "sendfile:";
		log_info("client %u (%s): sendfile only through a hardware NIC (the receiver "
			 "here would share block pages); using copy sends", t->id, t->peer);
		return TRANSPORT_COPY;
	}
	return asked;
}

void tx_choose(struct tx *t, enum transport asked, bool tls)
{
	/* TLS sends by copy until its handshake: tx_start_tls */
	enum transport use = tls ? TRANSPORT_COPY : plain_choice(t, asked);
	int one = 1;

	t->auto_fallback = !tls && asked == TRANSPORT_AUTO;
	if (t->auto_fallback)
		t->prefix = "auto:";
	if (use == TRANSPORT_AUTO || use == TRANSPORT_ZEROCOPY) {
		if (setsockopt(t->fd, SOL_SOCKET, SO_ZEROCOPY, &one, sizeof(one)) == 0) {
			use = TRANSPORT_ZEROCOPY;
		} else {
			log_warn("client %u: SO_ZEROCOPY: %s; using copy sends", t->id,
				 strerror(errno));
			use = TRANSPORT_COPY;
		}
	}
	tx_set_ops(t, use == TRANSPORT_ZEROCOPY ? &tx_zerocopy_ops
		      : use == TRANSPORT_SENDFILE ? &tx_sendfile_ops : &tx_copy_ops);
}

int tx_start_tls(struct tx *t, SSL *ssl, bool kernel)
{
	int err;

	if (kernel) {
		tx_set_ops(t, &tx_ktls_ops);
		return 0;
	}
	/* OpenSSL seals from now on into our send buffer (tls_tx.h) */
	err = tls_tx_attach(&t->rec, ssl);
	if (err)
		return err;
	t->ssl = ssl;
	tx_set_ops(t, &tx_records_ops);
	return 0;
}

/* After a push that succeeded: was the queue empty before it? */
static int pushed(struct tx *t, int err, bool was_empty)
{
	if (!err && was_empty)
		t->last_tx_ns = monotonic_ns();
	return err;
}

int tx_push_control(struct tx *t, const void *frame, size_t len)
{
	bool was_empty = TAILQ_EMPTY(&t->q.outq);

	return pushed(t, send_queue_push_control(&t->q, frame, len), was_empty);
}

int tx_push_block(struct tx *t, struct pool_block *b, struct stream_cursor *cur)
{
	bool was_empty = TAILQ_EMPTY(&t->q.outq);

	return pushed(t, send_queue_push_block(&t->q, b, cur), was_empty);
}

void tx_release(struct tx *t)
{
	if (!TAILQ_EMPTY(&t->q.pinned) && t->ops->release)
		t->ops->release(t);
}

void tx_flush_sealed(struct tx *t)
{
	if (tls_tx_pending(&t->rec))
		tls_tx_send(&t->rec, t->fd);
}

void tx_abort(struct tx *t)
{
	if (!TAILQ_EMPTY(&t->q.pinned)) {
		/* The kernel still holds pages of blocks we are giving back to
		 * be refilled: reset the connection so nothing more of them is
		 * sent (a plain close would keep transmitting). */
		struct linger abort_now = { .l_onoff = 1, .l_linger = 0 };

		setsockopt(t->fd, SOL_SOCKET, SO_LINGER, &abort_now, sizeof(abort_now));
		shutdown(t->fd, SHUT_RDWR);
	}
	send_queue_clear(&t->q);
}

void tx_free(struct tx *t)
{
	tls_tx_free(&t->rec);
	t->ssl = NULL;
}

/* SPDX-License-Identifier: MIT */
/*
 * Announcing the daemon on the LAN: DNS-SD over multicast DNS, published by
 * the host's avahi-daemon, which libavahi-client reaches over D-Bus.
 *
 * Each listener that accepts connections from beyond this host is one
 * service: the plain TCP one and the TLS one as _iiostream._tcp (TXT
 * tls=0 / tls=1), an iiod-compatible one as _iio._tcp, which is what
 * libiio's "ip:" discovery browses. A listener bound to loopback is not
 * announced, so a daemon on loopback only (the default) announces nothing
 * and never talks to Avahi. A listener bound to one address is announced on
 * that address's interface only, and on its IP protocol only.
 *
 * Avahi is never a reason not to start: without avahi-daemon (or without a
 * D-Bus system bus) one warning line says the daemon is not advertised,
 * and the daemon runs on. If D-Bus is up and avahi-daemon is not yet, or
 * avahi-daemon restarts, the services are published when it (re)appears.
 * Names are "iiostream on HOST" (plain, iiod) and "iiostream on HOST (TLS)";
 * one taken on the LAN becomes "iiostream on HOST #2" and so on.
 */
#ifndef IIOSTREAMD_ADVERTISE_H
#define IIOSTREAMD_ADVERTISE_H

#include <stdbool.h>
#include <stdint.h>

/* What to announce. Everything is copied by advertise_start(). */
struct advertise_params {
	const char *device;    /* the streamed device's name: TXT device= */
	uint32_t channels;     /* TXT channels= */
	bool client_cert;      /* the TLS listener wants client certificates */
	/* the TLS certificate's "sha256:HEX", TXT fp= of the TLS service; NULL
	 * or "": none. A hint for a client choosing a board: DNS-SD is not
	 * authenticated, so what a client trusts is the pin it remembers. */
	const char *fingerprint;
	bool explicit_on;      /* --advertise on was given: a loopback-only
	                        * daemon warns that it announces nothing */
	/* Listening sockets, -1 for none; the port and address announced are
	 * the ones each is bound to. */
	int plain_fd;          /* plain TCP: _iiostream._tcp, tls=0 */
	int tls_fd;            /* TLS: _iiostream._tcp, tls=1 */
	int iiod_fd;           /* iiod-compatible listener: _iio._tcp */
};

struct advertise;

/* Start announcing the listeners of `p` that are reachable from the
 * network. Called on the loop thread. Returns NULL when nothing is
 * announced (nothing reachable, no avahi-daemon and no D-Bus, or an
 * error: each logged once); never fails otherwise. Avahi's own events run
 * on a thread of Avahi's (see advertise.c); they touch nothing but the
 * returned object, and log. */
struct advertise *advertise_start(const struct advertise_params *p);

/* Withdraw every service and free everything; the Avahi thread is joined
 * before this returns. NULL is allowed. Called on the loop thread. */
void advertise_stop(struct advertise *a);

#endif /* IIOSTREAMD_ADVERTISE_H */

// SPDX-License-Identifier: MIT
/*
 * DNS-SD announcements through avahi-daemon: see advertise.h.
 *
 * Avahi's events run on Avahi's own thread (avahi_threaded_poll), not on
 * the daemon's libuv loop. An AvahiPoll adapter on the loop was the
 * alternative, and is not worth it: libavahi-client talks D-Bus through
 * libdbus, which watches its one bus socket with two DBusWatch objects
 * (readable, writable). Avahi makes each an AvahiWatch on the same fd, and
 * libuv takes one uv_poll_t per fd (a second uv_poll_init() fails with
 * UV_EEXIST). So the adapter would have to merge watches per fd, and defer
 * every free that Avahi expects to be immediate to a close callback. All
 * that, for events that come a few times in the daemon's life. The
 * threaded poll is Avahi's own tested code. The price is one thread, and it
 * shares nothing:
 *  - advertise_start() copies into struct advertise all it announces; the
 *    thread never sees the server;
 *  - before avahi_threaded_poll_start() only the loop thread touches
 *    struct advertise and the Avahi objects, afterwards only Avahi's
 *    thread, and advertise_stop() joins that thread before it frees them:
 *    no lock is ever needed;
 *  - the thread only logs besides (log_msg() writes a line with one
 *    fprintf(), which stdio locks);
 *  - it blocks every signal (Avahi does that first), so SIGTERM and SIGINT
 *    still reach the loop's signal handles.
 */
#include "advertise.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <avahi-client/client.h>
#include <avahi-client/publish.h>
#include <avahi-common/alternative.h>
#include <avahi-common/domain.h>
#include <avahi-common/error.h>
#include <avahi-common/malloc.h>
#include <avahi-common/thread-watch.h>

#include "iiostream/frame.h"
#include "log.h"

#define ADVERTISE_TYPE "_iiostream._tcp"
#define ADVERTISE_IIOD_TYPE "_iio._tcp" /* what libiio's DNS-SD discovery browses */
#define ADVERTISE_MAX_SERVICES 3
/* "iiostream on HOST" is cut to leave room in a DNS label (63 bytes) for
 * " #NN" after collisions and " (TLS)". */
#define ADVERTISE_BASE_MAX 50
#define ADVERTISE_PREFIX "iiostream on "
#define ADVERTISE_MAX_RENAMES 100

struct advertise_service {
	const char *type;        /* ADVERTISE_TYPE or ADVERTISE_IIOD_TYPE */
	const char *suffix;      /* after the base name: "" or " (TLS)" */
	AvahiIfIndex iface;      /* AVAHI_IF_UNSPEC: every interface */
	AvahiProtocol proto;     /* AVAHI_PROTO_UNSPEC: IPv4 and IPv6 */
	uint16_t port;
	int tls;                 /* -1: no tls= in TXT (_iio._tcp) */
};

struct advertise {
	/* read-only after advertise_start() */
	struct advertise_service svc[ADVERTISE_MAX_SERVICES];
	unsigned nsvc;
	char device[64];
	uint32_t channels;
	bool client_cert;
	char fingerprint[80];    /* "sha256:HEX" or "" */
	AvahiThreadedPoll *poll;
	/* private: Avahi's thread only, once it runs */
	AvahiClient *client;     /* NULL only if reconnecting failed */
	AvahiEntryGroup *group;  /* every service, NULL until the first publish();
	                          * freed with the client */
	char *name;              /* base name, avahi_malloc()ed; renamed on collisions */
	unsigned renames;
	bool waiting;            /* "no avahi-daemon" said; waiting for it */
};

/* The index of the interface that has address `addr` (AF_INET or
 * AF_INET6, `len` bytes), or AVAHI_IF_UNSPEC if none has. */
static AvahiIfIndex interface_of(int family, const void *addr, size_t len)
{
	AvahiIfIndex idx = AVAHI_IF_UNSPEC;
	struct ifaddrs *ifa, *i;

	if (getifaddrs(&ifa) < 0)
		return AVAHI_IF_UNSPEC;
	for (i = ifa; i && idx == AVAHI_IF_UNSPEC; i = i->ifa_next) {
		const void *a;

		if (!i->ifa_addr || i->ifa_addr->sa_family != family)
			continue;
		a = family == AF_INET ? (const void *)&((struct sockaddr_in *)i->ifa_addr)->sin_addr
				      : (const void *)&((struct sockaddr_in6 *)i->ifa_addr)->sin6_addr;
		if (memcmp(a, addr, len) == 0)
			idx = (AvahiIfIndex)if_nametoindex(i->ifa_name);
	}
	freeifaddrs(ifa);
	return idx ? idx : AVAHI_IF_UNSPEC;
}

/* Where listening socket `fd` can be reached from: the interface and IP
 * protocol to announce it on, and its port. false when only from this host
 * (loopback), or when fd is not a bound IP socket. */
static bool listener_scope(int fd, struct advertise_service *s)
{
	struct sockaddr_storage ss = { 0 };
	socklen_t sl = sizeof(ss);
	struct in_addr v4;

	if (fd < 0 || getsockname(fd, (struct sockaddr *)&ss, &sl) < 0)
		return false;
	s->iface = AVAHI_IF_UNSPEC;
	if (ss.ss_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)&ss;
		int v6only = 0;
		socklen_t ol = sizeof(v6only);

		s->port = ntohs(in6->sin6_port);
		if (IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr))
			return false;
		if (IN6_IS_ADDR_UNSPECIFIED(&in6->sin6_addr)) {
			/* [::] takes IPv4 too, unless IPV6_V6ONLY */
			getsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, &ol);
			s->proto = v6only ? AVAHI_PROTO_INET6 : AVAHI_PROTO_UNSPEC;
			return true;
		}
		if (!IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr)) {
			s->proto = AVAHI_PROTO_INET6;
			s->iface = interface_of(AF_INET6, &in6->sin6_addr, sizeof(in6->sin6_addr));
			return true;
		}
		memcpy(&v4, &in6->sin6_addr.s6_addr[12], sizeof(v4)); /* ::ffff:a.b.c.d */
	} else if (ss.ss_family == AF_INET) {
		v4 = ((const struct sockaddr_in *)&ss)->sin_addr;
		s->port = ntohs(((const struct sockaddr_in *)&ss)->sin_port);
	} else {
		return false;
	}
	s->proto = AVAHI_PROTO_INET;
	if ((ntohl(v4.s_addr) >> 24) == 127)
		return false;
	if (v4.s_addr != htonl(INADDR_ANY))
		s->iface = interface_of(AF_INET, &v4, sizeof(v4));
	return true;
}

static void add_listener(struct advertise *a, int fd, const char *type, const char *suffix,
			 int tls)
{
	struct advertise_service *s = &a->svc[a->nsvc];

	if (!listener_scope(fd, s))
		return;
	s->type = type;
	s->suffix = suffix;
	s->tls = tls;
	a->nsvc++;
}

/* "_iiostream._tcp, port 30432, tls=0, IPv4 on eth0" */
static void describe(const struct advertise_service *s, char *out, size_t len)
{
	char ifname[IF_NAMESIZE] = "", tls[24] = "";

	if (s->iface != AVAHI_IF_UNSPEC && !if_indextoname((unsigned)s->iface, ifname))
		snprintf(ifname, sizeof(ifname), "#%d", s->iface);
	if (s->tls >= 0)
		snprintf(tls, sizeof(tls), ", tls=%d", s->tls);
	snprintf(out, len, "%s, port %u%s, %s on %s", s->type, s->port, tls,
		 s->proto == AVAHI_PROTO_INET    ? "IPv4"
		 : s->proto == AVAHI_PROTO_INET6 ? "IPv6"
						 : "IPv4 and IPv6",
		 ifname[0] ? ifname : "every interface");
}

static AvahiStringList *txt_of(const struct advertise *a, const struct advertise_service *s)
{
	AvahiStringList *txt = NULL;

	if (s->tls < 0)
		return NULL; /* _iio._tcp: iiod announces no TXT either */
	/* avahi_string_list_add*() prepend: added last to first */
	if (s->tls && a->fingerprint[0])
		txt = avahi_string_list_add_printf(txt, "fp=%s", a->fingerprint);
	if (s->tls && a->client_cert)
		txt = avahi_string_list_add(txt, "client-cert=required");
	txt = avahi_string_list_add_printf(txt, "channels=%u", a->channels);
	if (a->device[0])
		txt = avahi_string_list_add_printf(txt, "device=%s", a->device);
	txt = avahi_string_list_add_printf(txt, "tls=%d", s->tls);
	txt = avahi_string_list_add_printf(txt, "protocol=%u", IIOS_PROTOCOL_VERSION);
	txt = avahi_string_list_add_printf(txt, "version=%s", IIOSTREAM_VERSION);
	txt = avahi_string_list_add(txt, "txtvers=1");
	return txt;
}

/* The base name was taken: the next alternative ("... #2"). */
static bool rename_base(struct advertise *a)
{
	char *n;

	if (++a->renames > ADVERTISE_MAX_RENAMES) {
		log_warn("advertise: \"%s\": %u names taken on the LAN; giving up, not advertised",
			 a->name, ADVERTISE_MAX_RENAMES);
		return false;
	}
	n = avahi_alternative_service_name(a->name);
	if (!n)
		return false;
	log_info("advertise: \"%s\" is taken on the LAN; trying \"%s\"", a->name, n);
	avahi_free(a->name);
	a->name = n;
	return true;
}

static void on_group(AvahiEntryGroup *g, AvahiEntryGroupState state, void *data);

/* Add every service to the group and commit it; on a clash with a name
 * of this host, rename and start over. on_group() hears the outcome. */
static void publish(struct advertise *a)
{
	int r = 0;
	unsigned i;

	if (!a->group) {
		a->group = avahi_entry_group_new(a->client, on_group, a);
		if (!a->group) {
			log_warn("advertise: %s; not advertised on the LAN",
				 avahi_strerror(avahi_client_errno(a->client)));
			return;
		}
	}
	if (!avahi_entry_group_is_empty(a->group))
		return; /* published already */
again:
	for (i = 0; i < a->nsvc && r >= 0; i++) {
		const struct advertise_service *s = &a->svc[i];
		AvahiStringList *txt = txt_of(a, s);
		char name[AVAHI_LABEL_MAX];

		snprintf(name, sizeof(name), "%s%s", a->name, s->suffix);
		r = avahi_entry_group_add_service_strlst(a->group, s->iface, s->proto,
							 AVAHI_PUBLISH_NO_COOKIE, name, s->type,
							 NULL, NULL, s->port, txt);
		avahi_string_list_free(txt);
	}
	if (r == AVAHI_ERR_COLLISION) {
		avahi_entry_group_reset(a->group);
		if (!rename_base(a))
			return;
		r = 0;
		goto again;
	}
	if (r >= 0)
		r = avahi_entry_group_commit(a->group);
	if (r < 0) {
		log_warn("advertise: cannot announce \"%s\": %s; not advertised on the LAN",
			 a->name, avahi_strerror(r));
		avahi_entry_group_reset(a->group);
	}
}

/* Avahi's thread (first from avahi_entry_group_new() itself): the group's
 * probing ended, or its names clashed with another host's. */
static void on_group(AvahiEntryGroup *g, AvahiEntryGroupState state, void *data)
{
	struct advertise *a = data;
	char what[160];
	unsigned i;

	switch (state) {
	case AVAHI_ENTRY_GROUP_ESTABLISHED:
		for (i = 0; i < a->nsvc; i++) {
			describe(&a->svc[i], what, sizeof(what));
			log_info("advertise: \"%s%s\" (%s)", a->name, a->svc[i].suffix, what);
		}
		break;
	case AVAHI_ENTRY_GROUP_COLLISION:
		avahi_entry_group_reset(g);
		if (rename_base(a))
			publish(a);
		break;
	case AVAHI_ENTRY_GROUP_FAILURE:
		log_warn("advertise: \"%s\": %s; not advertised on the LAN", a->name,
			 avahi_strerror(avahi_client_errno(avahi_entry_group_get_client(g))));
		break;
	case AVAHI_ENTRY_GROUP_UNCOMMITED:
	case AVAHI_ENTRY_GROUP_REGISTERING:
		break;
	}
}

static void on_client(AvahiClient *c, AvahiClientState state, void *data);

/* A client that waits for avahi-daemon when D-Bus is up and it is not. */
static AvahiClient *connect_client(struct advertise *a, int *error)
{
	return avahi_client_new(avahi_threaded_poll_get(a->poll), AVAHI_CLIENT_NO_FAIL, on_client,
				a, error);
}

/* Avahi's thread (first from avahi_client_new() itself, on the loop
 * thread): avahi-daemon's state, or our connection to it, changed. */
static void on_client(AvahiClient *c, AvahiClientState state, void *data)
{
	struct advertise *a = data;
	int error;

	a->client = c; /* avahi_client_new() has not returned yet the first time */
	switch (state) {
	case AVAHI_CLIENT_S_RUNNING:
		if (a->waiting)
			log_info("advertise: avahi-daemon is running now");
		a->waiting = false;
		publish(a);
		break;
	case AVAHI_CLIENT_S_COLLISION:
	case AVAHI_CLIENT_S_REGISTERING:
		/* avahi-daemon (re)probes the host name: our records follow
		 * it, so withdraw them until it runs again */
		if (a->group)
			avahi_entry_group_reset(a->group);
		break;
	case AVAHI_CLIENT_CONNECTING:
		if (!a->waiting)
			log_warn("advertise: no avahi-daemon running (not on the D-Bus system "
				 "bus); not advertised on the LAN until it starts");
		a->waiting = true;
		break;
	case AVAHI_CLIENT_FAILURE:
		if (avahi_client_errno(c) != AVAHI_ERR_DISCONNECTED) {
			log_warn("advertise: avahi-daemon: %s; not advertised on the LAN",
				 avahi_strerror(avahi_client_errno(c)));
			break;
		}
		/* avahi-daemon went away (or restarts): wait for it */
		log_warn("advertise: avahi-daemon went away; advertising again when it is back");
		a->waiting = true;
		a->group = NULL;
		a->client = NULL;
		avahi_client_free(c); /* and the group with it */
		a->client = connect_client(a, &error);
		if (!a->client)
			log_warn("advertise: cannot reach avahi-daemon (%s); not advertised on the "
				 "LAN", avahi_strerror(error));
		break;
	}
}

struct advertise *advertise_start(const struct advertise_params *p)
{
	struct advertise *a = calloc(1, sizeof(*a));
	char host[256] = "";
	int error;

	if (!a) {
		log_warn("advertise: out of memory; not advertised on the LAN");
		return NULL;
	}
	add_listener(a, p->plain_fd, ADVERTISE_TYPE, "", 0);
	add_listener(a, p->tls_fd, ADVERTISE_TYPE, " (TLS)", 1);
	add_listener(a, p->iiod_fd, ADVERTISE_IIOD_TYPE, "", -1);
	if (a->nsvc == 0) {
		if (p->explicit_on)
			log_warn("advertise: every listener is on loopback; nothing to announce "
				 "on the LAN");
		else
			log_debug("advertise: every listener is on loopback; nothing announced");
		goto err_free;
	}
	snprintf(a->device, sizeof(a->device), "%s", p->device ? p->device : "");
	a->channels = p->channels;
	a->client_cert = p->client_cert;
	snprintf(a->fingerprint, sizeof(a->fingerprint), "%s", p->fingerprint ? p->fingerprint : "");
	if (gethostname(host, sizeof(host) - 1) < 0 || !host[0])
		snprintf(host, sizeof(host), "iiostreamd");
	host[strcspn(host, ".")] = '\0'; /* the first label, as avahi-daemon takes it */
	a->name = avahi_malloc(ADVERTISE_BASE_MAX + 1);
	if (!a->name)
		goto err_free;
	snprintf(a->name, ADVERTISE_BASE_MAX + 1, "%s%.*s", ADVERTISE_PREFIX,
		 (int)(ADVERTISE_BASE_MAX - strlen(ADVERTISE_PREFIX)), host);

	a->poll = avahi_threaded_poll_new();
	if (!a->poll)
		goto err_free_name;
	a->client = connect_client(a, &error);
	if (!a->client) {
		/* No D-Bus system bus, or it refused us. */
		if (error == AVAHI_ERR_NO_DAEMON)
			log_warn("advertise: no avahi-daemon running (no D-Bus system bus either); "
				 "not advertised on the LAN");
		else
			log_warn("advertise: cannot reach avahi-daemon (%s); not advertised on the "
				 "LAN", avahi_strerror(error));
		goto err_free_poll;
	}
	if (avahi_threaded_poll_start(a->poll) < 0) {
		log_warn("advertise: cannot start Avahi's thread; not advertised on the LAN");
		goto err_free_client;
	}
	return a;

err_free_client:
	avahi_client_free(a->client);
err_free_poll:
	avahi_threaded_poll_free(a->poll);
err_free_name:
	avahi_free(a->name);
err_free:
	free(a);
	return NULL;
}

void advertise_stop(struct advertise *a)
{
	if (!a)
		return;
	avahi_threaded_poll_stop(a->poll); /* joined: ours alone from here */
	/* Closing the client's bus connection makes avahi-daemon withdraw
	 * the group: goodbye packets tell the LAN at once. */
	if (a->client)
		avahi_client_free(a->client);
	avahi_threaded_poll_free(a->poll);
	avahi_free(a->name);
	free(a);
	log_info("advertise: withdrawn");
}

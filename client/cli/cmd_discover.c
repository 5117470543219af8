// SPDX-License-Identifier: MIT
/*
 * `iiostream discover`: the iiostream servers on the LAN, found with
 * DNS-SD through the local avahi-daemon (libavahi-client over D-Bus).
 *
 * It browses _iiostream._tcp (what iiostreamd announces, server/daemon/advertise.c)
 * and _iio._tcp (iiod, and iiostreamd's iiod-compatible port), resolves
 * each service seen for its host, address, port and TXT, and after
 * --seconds prints what it resolved, sorted; with --json as a JSON array,
 * one service per line. A service is listed once per interface and IP
 * protocol it was seen on, as avahi-browse lists it.
 */
#include <errno.h>
#include <getopt.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <avahi-client/client.h>
#include <avahi-client/lookup.h>
#include <avahi-common/address.h>
#include <avahi-common/domain.h>
#include <avahi-common/error.h>
#include <avahi-common/malloc.h>
#include <avahi-common/simple-watch.h>
#include <avahi-common/strlst.h>
#include <avahi-common/timeval.h>

#include "cli.h"

#define DISCOVER_TYPE "_iiostream._tcp"
#define DISCOVER_IIOD_TYPE "_iio._tcp"

/* One resolved service on one interface and protocol. */
struct found {
	char name[AVAHI_LABEL_MAX];
	char type[32];
	char domain[AVAHI_DOMAIN_NAME_MAX];
	char host[AVAHI_DOMAIN_NAME_MAX];
	char address[AVAHI_ADDRESS_STR_MAX];
	char ifname[IF_NAMESIZE];
	AvahiIfIndex iface;
	AvahiProtocol proto;
	uint16_t port;
	bool iiod;                 /* _iio._tcp: iiod's protocol */
	bool tls;                  /* TXT tls=1 */
	bool local;                /* announced by this host */
	AvahiStringList *txt;      /* owned */
};

struct discover {
	AvahiSimplePoll *poll;
	AvahiClient *client;
	struct found *found;
	size_t nfound, cap;
	unsigned resolving;        /* resolvers still out at the deadline */
	int error;                 /* an AVAHI_ERR_* that ends the browse, or 0 */
	const char *error_what;
	bool json;
};

static void usage(FILE *out)
{
	fprintf(out,
		"usage: iiostream discover [--seconds N] [--json]\n"
		"  --seconds N      browse for N seconds (decimals allowed; default 2)\n"
		"  --json           print a JSON array on stdout, one service a line\n"
		"Lists the iiostream servers announced on the LAN (_iiostream._tcp) and\n"
		"iiod-compatible ones (_iio._tcp), through the local avahi-daemon: name,\n"
		"host, address, port, TLS or not, and the TXT record. A service seen but\n"
		"not resolved within N seconds is left out, and counted on stderr.\n"
		"Exit status 1 when no avahi-daemon runs.\n");
}

static bool same_service(const struct found *f, AvahiIfIndex iface, AvahiProtocol proto,
			 const char *name, const char *type, const char *domain)
{
	return f->iface == iface && f->proto == proto && strcmp(f->name, name) == 0 &&
	       strcmp(f->type, type) == 0 && avahi_domain_equal(f->domain, domain);
}

static void stop(struct discover *d, int error, const char *what)
{
	if (!d->error) {
		d->error = error;
		d->error_what = what;
	}
	avahi_simple_poll_quit(d->poll);
}

static void on_resolved(AvahiServiceResolver *r, AvahiIfIndex iface, AvahiProtocol proto,
			AvahiResolverEvent event, const char *name, const char *type,
			const char *domain, const char *host, const AvahiAddress *addr,
			uint16_t port, AvahiStringList *txt, AvahiLookupResultFlags flags,
			void *data)
{
	struct discover *d = data;
	struct found *f;
	AvahiStringList *t;

	d->resolving--;
	if (event != AVAHI_RESOLVER_FOUND) {
		fprintf(stderr, "iiostream discover: cannot resolve \"%s\" (%s): %s\n", name, type,
			avahi_strerror(avahi_client_errno(d->client)));
		goto out;
	}
	if (d->nfound == d->cap) {
		size_t cap = d->cap ? 2 * d->cap : 16;

		f = realloc(d->found, cap * sizeof(*f));
		if (!f) {
			stop(d, AVAHI_ERR_NO_MEMORY, "out of memory");
			goto out;
		}
		d->found = f;
		d->cap = cap;
	}
	f = &d->found[d->nfound++];
	memset(f, 0, sizeof(*f));
	snprintf(f->name, sizeof(f->name), "%s", name);
	snprintf(f->type, sizeof(f->type), "%s", type);
	snprintf(f->domain, sizeof(f->domain), "%s", domain);
	snprintf(f->host, sizeof(f->host), "%s", host);
	avahi_address_snprint(f->address, sizeof(f->address), addr);
	if (!if_indextoname((unsigned)iface, f->ifname))
		snprintf(f->ifname, sizeof(f->ifname), "#%d", iface);
	f->iface = iface;
	f->proto = proto;
	f->port = port;
	f->iiod = strcmp(type, DISCOVER_IIOD_TYPE) == 0;
	f->local = flags & AVAHI_LOOKUP_RESULT_LOCAL;
	/* the resolver's list runs last record first: put it in wire order */
	f->txt = avahi_string_list_reverse(avahi_string_list_copy(txt));
	t = avahi_string_list_find(f->txt, "tls");
	if (!f->iiod && t && t->size == 5 && memcmp(t->text, "tls=1", 5) == 0)
		f->tls = true;
out:
	avahi_service_resolver_free(r);
}

static void on_browse(AvahiServiceBrowser *b, AvahiIfIndex iface, AvahiProtocol proto,
		      AvahiBrowserEvent event, const char *name, const char *type,
		      const char *domain, AvahiLookupResultFlags flags, void *data)
{
	struct discover *d = data;
	size_t i;

	(void)b;
	(void)flags;
	switch (event) {
	case AVAHI_BROWSER_NEW:
		/* the address of the protocol it was announced on: an IPv4
		 * service may listen on IPv4 only */
		if (avahi_service_resolver_new(d->client, iface, proto, name, type, domain, proto, 0,
					       on_resolved, d))
			d->resolving++;
		else
			fprintf(stderr, "iiostream discover: cannot resolve \"%s\": %s\n", name,
				avahi_strerror(avahi_client_errno(d->client)));
		break;
	case AVAHI_BROWSER_REMOVE:
		for (i = 0; i < d->nfound; i++) {
			if (same_service(&d->found[i], iface, proto, name, type, domain)) {
				avahi_string_list_free(d->found[i].txt);
				d->found[i] = d->found[--d->nfound];
				break;
			}
		}
		break;
	case AVAHI_BROWSER_FAILURE:
		stop(d, avahi_client_errno(d->client), "browsing");
		break;
	case AVAHI_BROWSER_ALL_FOR_NOW:
	case AVAHI_BROWSER_CACHE_EXHAUSTED:
		break;
	}
}

static void on_client(AvahiClient *c, AvahiClientState state, void *data)
{
	struct discover *d = data;

	if (state == AVAHI_CLIENT_FAILURE)
		stop(d, avahi_client_errno(c), "avahi-daemon");
}

static void on_deadline(AvahiTimeout *t, void *data)
{
	(void)t;
	avahi_simple_poll_quit(((struct discover *)data)->poll);
}

/* iiostream services first, then by name, interface and protocol. */
static int cmp_found(const void *pa, const void *pb)
{
	const struct found *a = pa, *b = pb;
	int r;

	if (a->iiod != b->iiod)
		return a->iiod ? 1 : -1;
	if ((r = strcmp(a->name, b->name)) != 0)
		return r;
	if ((r = strcmp(a->ifname, b->ifname)) != 0)
		return r;
	return a->proto - b->proto;
}

static void json_string(const char *s, size_t len)
{
	size_t i;

	putchar('"');
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c < 0x20 || c == 0x7f)
			printf("\\u%04x", c);
		else
			putchar(c);
	}
	putchar('"');
}

static void json_str(const char *s)
{
	json_string(s, strlen(s));
}

/* "tcp://10.0.0.2:30432", "tls://[fd00::2]:30433" */
static void url_of(const struct found *f, char *out, size_t len)
{
	bool v6 = strchr(f->address, ':') != NULL;

	snprintf(out, len, "%s://%s%s%s:%u", f->tls ? "tls" : "tcp", v6 ? "[" : "", f->address,
		 v6 ? "]" : "", f->port);
}

static const char *proto_name(AvahiProtocol p)
{
	return p == AVAHI_PROTO_INET ? "IPv4" : p == AVAHI_PROTO_INET6 ? "IPv6" : "?";
}

static void print_json(const struct found *f)
{
	const AvahiStringList *t;
	char url[128];

	printf("{\"name\":");
	json_str(f->name);
	printf(",\"type\":");
	json_str(f->type);
	printf(",\"iiod\":%s,\"interface\":", f->iiod ? "true" : "false");
	json_str(f->ifname);
	printf(",\"protocol\":\"%s\",\"host\":", f->proto == AVAHI_PROTO_INET6 ? "ipv6" : "ipv4");
	json_str(f->host);
	printf(",\"address\":");
	json_str(f->address);
	printf(",\"port\":%u,\"tls\":%s,\"local\":%s", f->port, f->tls ? "true" : "false",
	       f->local ? "true" : "false");
	if (!f->iiod) {
		url_of(f, url, sizeof(url));
		printf(",\"url\":");
		json_str(url);
	}
	printf(",\"txt\":{");
	for (t = f->txt; t; t = t->next) {
		const char *eq = memchr(t->text, '=', t->size);
		size_t klen = eq ? (size_t)(eq - (const char *)t->text) : t->size;

		json_string((const char *)t->text, klen);
		putchar(':');
		if (eq)
			json_string(eq + 1, t->size - klen - 1);
		else
			printf("true"); /* a key alone: a boolean attribute, present */
		if (t->next)
			putchar(',');
	}
	printf("}}");
}

static void print_text(const struct found *f)
{
	const AvahiStringList *t;
	char url[128];

	printf("%s\n", f->name);
	printf("    %s%s on %s %s%s\n", f->type, f->iiod ? " (iiod-compatible)" : "", f->ifname,
	       proto_name(f->proto), f->local ? ", this host" : "");
	printf("    host %s, address %s, port %u, TLS %s\n", f->host, f->address, f->port,
	       f->tls ? "yes" : "no");
	if (!f->iiod) {
		url_of(f, url, sizeof(url));
		printf("    url  %s\n", url);
	}
	if ((t = avahi_string_list_find(f->txt, "fp")) && t->size > 3)
		/* DNS-SD is not authenticated: anyone on the LAN can announce
		 * any fp=. What the client trusts is the pin it remembers. */
		printf("    fingerprint %.*s (as announced: a hint, not a proof)\n",
		       (int)t->size - 3, (const char *)t->text + 3);
	if (f->txt) {
		printf("    txt ");
		for (t = f->txt; t; t = t->next)
			printf(" %.*s", (int)t->size, (const char *)t->text);
		printf("\n");
	}
}

static int parse_opts(int argc, char **argv, double *seconds, bool *json)
{
	enum { O_SECONDS = 256, O_JSON, O_HELP };
	static const struct option opts[] = {
		{ "seconds", required_argument, NULL, O_SECONDS },
		{ "json", no_argument, NULL, O_JSON },
		{ "help", no_argument, NULL, O_HELP },
		{ NULL, 0, NULL, 0 },
	};
	char *end;
	int c;

	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
		switch (c) {
		case O_SECONDS:
			errno = 0;
			*seconds = strtod(optarg, &end);
			if (*end || end == optarg || errno || !(*seconds > 0) || *seconds > 3600) {
				fprintf(stderr, "iiostream discover: --seconds: '%s' is not a number "
					"of seconds in (0, 3600]\n", optarg);
				return CLI_USAGE;
			}
			break;
		case O_JSON:
			*json = true;
			break;
		case O_HELP:
			usage(stdout);
			return -1;
		default:
			return cli_option_error("discover", c, argv);
		}
	}
	if (optind < argc)
		return cli_extra_argument("discover", argv[optind]);
	return 0;
}

int cmd_discover(int argc, char **argv)
{
	static const char *const types[] = { DISCOVER_TYPE, DISCOVER_IIOD_TYPE };
	struct discover d = { 0 };
	const AvahiPoll *api;
	struct timeval deadline;
	double seconds = 2;
	int rc, error;
	size_t i;

	rc = parse_opts(argc, argv, &seconds, &d.json);
	if (rc)
		return rc < 0 ? CLI_OK : rc;

	d.poll = avahi_simple_poll_new();
	if (!d.poll) {
		fprintf(stderr, "iiostream discover: out of memory\n");
		return CLI_FAILED;
	}
	api = avahi_simple_poll_get(d.poll);
	d.client = avahi_client_new(api, 0, on_client, &d, &error);
	if (!d.client) {
		if (error == AVAHI_ERR_NO_DAEMON)
			fprintf(stderr, "iiostream discover: no avahi-daemon running (%s); start it "
				"(systemctl start avahi-daemon), or name the server with --url\n",
				avahi_strerror(error));
		else
			fprintf(stderr, "iiostream discover: cannot reach avahi-daemon: %s\n",
				avahi_strerror(error));
		rc = CLI_FAILED;
		goto out_poll;
	}
	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		if (!avahi_service_browser_new(d.client, AVAHI_IF_UNSPEC, AVAHI_PROTO_UNSPEC,
					       types[i], NULL, 0, on_browse, &d)) {
			fprintf(stderr, "iiostream discover: cannot browse %s: %s\n", types[i],
				avahi_strerror(avahi_client_errno(d.client)));
			rc = CLI_FAILED;
			goto out_client;
		}
	}
	avahi_elapse_time(&deadline, (unsigned)(seconds * 1000), 0);
	api->timeout_new(api, &deadline, on_deadline, &d); /* freed with the poll */
	if (avahi_simple_poll_loop(d.poll) < 0 && !d.error)
		stop(&d, AVAHI_ERR_FAILURE, "poll");
	if (d.error) {
		fprintf(stderr, "iiostream discover: %s: %s\n", d.error_what,
			avahi_strerror(d.error));
		rc = CLI_FAILED;
		goto out_client;
	}

	qsort(d.found, d.nfound, sizeof(*d.found), cmp_found);
	if (d.json)
		printf("[\n");
	for (i = 0; i < d.nfound; i++) {
		if (d.json) {
			print_json(&d.found[i]);
			printf("%s\n", i + 1 < d.nfound ? "," : "");
		} else {
			print_text(&d.found[i]);
		}
	}
	if (d.json)
		printf("]\n");
	else if (d.nfound == 0)
		fprintf(stderr, "iiostream discover: no servers found in %g s\n", seconds);
	if (d.resolving)
		fprintf(stderr, "iiostream discover: %u more seen but not resolved in %g s\n",
			d.resolving, seconds);
	rc = CLI_OK;

out_client:
	avahi_client_free(d.client); /* and the browsers and resolvers */
out_poll:
	avahi_simple_poll_free(d.poll);
	for (i = 0; i < d.nfound; i++)
		avahi_string_list_free(d.found[i].txt);
	free(d.found);
	return rc;
}

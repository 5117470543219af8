// SPDX-License-Identifier: MIT
/* The daemon put together: see daemon.h. */
#include "daemon.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "advertise.h"
#include "container_of.h"
#include "http_server.h"
#include "log.h"

/* Write the bound port where a supervisor or a test can read it; rename()
 * makes the file appear whole. */
static int write_port_file(const char *path, uint16_t port, uint16_t tls_port,
			   uint16_t iiod_port, const struct http_server *http)
{
	unsigned i;
	char tmp[300];
	FILE *f;

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "w");
	if (!f)
		return -errno;
	/* the plain TCP, TLS and iiod ports, a line each (0: not listening) */
	fprintf(f, "%u\n%u\n%u\n", port, tls_port, iiod_port);
	/* then each --http-listen port, a line each */
	for (i = 0; http_server_port(http, i); i++)
		fprintf(f, "%u\n", http_server_port(http, i));
	if (fclose(f) != 0 || rename(tmp, path) != 0)
		return -errno;
	return 0;
}

static struct daemon *fe_daemon(const struct frontend *fe)
{
	return container_of(fe, struct daemon, dns_sd);
}

static void dns_sd_counters(const struct frontend *fe, struct frontend_counters *out)
{
	(void)fe;
	*out = (struct frontend_counters){ 0 }; /* it has no clients */
}

/* No new clients: stop inviting them. */
static void dns_sd_shutdown(struct frontend *fe)
{
	struct daemon *d = fe_daemon(fe);

	advertise_stop(d->adv);
	d->adv = NULL;
}

static const struct frontend_ops dns_sd_ops = {
	.name = "dns-sd",
	.counters = dns_sd_counters,
	.shutdown = dns_sd_shutdown,
};

/* The HTTP front-end: its routes, then its listeners. */
static int http_start(struct daemon *d)
{
	d->http = http_server_new(&d->srv);
	if (!d->http) {
		log_error("--http-listen: out of memory");
		return -ENOMEM;
	}
	http_routes_register(d->http, &d->srv);
	return http_server_listen(d->http);
}

/* Every port cfg names, then the port file that names them. */
static int start_frontends(struct daemon *d, const struct config *cfg)
{
	int err = net_start(&d->net, &d->srv, cfg);

	if (!err && cfg->iiod_listen)
		err = iiod_start(&d->iiod, &d->srv, cfg->iiod_host, cfg->iiod_port);
	if (!err && cfg->http_listen.n)
		err = http_start(d);
	if (!err && cfg->port_file[0]) {
		err = write_port_file(cfg->port_file, d->net.plain.fd >= 0 ? d->net.plain.port : 0,
				      d->net.secure.fd >= 0 ? d->net.secure.port : 0,
				      d->iiod.listening ? d->iiod.port : 0, d->http);
		if (err)
			log_error("--port-file %s: %s", cfg->port_file, strerror(-err));
	}
	return err;
}

int daemon_start(struct daemon *d, uv_loop_t *loop, const struct config *cfg)
{
	int err;

	memset(d, 0, sizeof(*d));
	err = server_start(&d->srv, loop, cfg);
	if (err)
		return err;
	err = start_frontends(d, cfg);
	if (err) {
		/* what started (the source, a listener) stops the usual way */
		server_shutdown(&d->srv, "start-up failed");
		return err;
	}
	/* Last: it cannot fail, so nothing above has to withdraw it. */
	if (cfg->advertise)
		d->adv = advertise_start(&(struct advertise_params){
			.device = server_first_stream(&d->srv)->fmt.device,
			.channels = server_first_stream(&d->srv)->fmt.device_channels,
			.client_cert = cfg->client_ca[0] != '\0',
			.fingerprint = d->srv.tls.fingerprint,
			.explicit_on = cfg->advertise_set,
			.plain_fd = d->net.plain.fd,
			.tls_fd = d->net.secure.fd,
			.iiod_fd = iiod_listen_fd(&d->iiod),
		});
	d->dns_sd.ops = &dns_sd_ops;
	server_add_frontend(&d->srv, &d->dns_sd);
	server_ready(&d->srv);
	return 0;
}

void daemon_end(struct daemon *d)
{
	http_server_free(d->http);
	d->http = NULL;
}

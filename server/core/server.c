// SPDX-License-Identifier: MIT
/* The daemon's core: start-up, capture on demand, front-ends, orderly
 * shutdown. */
#include "server.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "access.h"
#include "devices.h"
#include "fanout.h"
#include "log.h"
#include "source_scan.h"


/* STATUS= for systemd: what the daemon is doing now, after `extra`
 * ("READY=1\n" or ""). */
static void notify_status(struct server *srv, const char *extra)
{
	char ports[160] = "";
	struct frontend *fe;
	size_t n = 0;

	TAILQ_FOREACH(fe, &srv->frontends, link)
		if (fe->ops->status && n < sizeof(ports)) {
			fe->ops->status(fe, ports + n, sizeof(ports) - n);
			n += strlen(ports + n);
		}
	if (srv->nstreams == 1)
		notify_send(&srv->notify, "%sSTATUS=source %s%s; %u subscriber%s", extra,
			    srv->streams[0].src->ops->name, ports, server_subscribers(srv),
			    server_subscribers(srv) == 1 ? "" : "s");
	else
		notify_send(&srv->notify, "%sSTATUS=%u devices%s; %u subscriber%s", extra,
			    srv->nstreams, ports, server_subscribers(srv),
			    server_subscribers(srv) == 1 ? "" : "s");
}

void server_status_changed(struct server *srv)
{
	if (!srv->shutting_down)
		notify_status(srv, "");
}

static void on_limits_tick(uv_timer_t *t)
{
	struct server *srv = t->data;
	uint64_t now = monotonic_ns();
	struct frontend *fe;

	TAILQ_FOREACH(fe, &srv->frontends, link)
		if (fe->ops->tick)
			fe->ops->tick(fe, now);
}

void server_add_frontend(struct server *srv, struct frontend *fe)
{
	TAILQ_INSERT_TAIL(&srv->frontends, fe, link);
}

struct frontend *server_frontend(const struct server *srv, const char *name)
{
	struct frontend *fe;

	TAILQ_FOREACH(fe, &srv->frontends, link)
		if (strcmp(fe->ops->name, name) == 0)
			return fe;
	return NULL;
}

uint32_t server_clients(const struct server *srv)
{
	struct frontend_counters c;
	struct frontend *fe;
	uint32_t n = 0;

	TAILQ_FOREACH(fe, &srv->frontends, link) {
		fe->ops->counters(fe, &c);
		n += c.clients;
	}
	return n;
}

uint32_t server_limited_clients(const struct server *srv)
{
	struct frontend_counters c;
	struct frontend *fe;
	uint32_t n = 0;

	TAILQ_FOREACH(fe, &srv->frontends, link) {
		fe->ops->counters(fe, &c);
		n += c.clients - c.own_limits;
	}
	return n;
}

void server_foreach_client(const struct server *srv, const struct frontend *except,
			   void (*fn)(const struct client_brief *c, void *arg), void *arg)
{
	struct frontend *fe;

	TAILQ_FOREACH(fe, &srv->frontends, link)
		if (fe != except && fe->ops->foreach_client)
			fe->ops->foreach_client(fe, fn, arg);
}

bool server_refuse_client(struct server *srv, const char *peer, const char *port)
{
	uint64_t now = monotonic_ns();

	if (server_limited_clients(srv) < srv->cfg->max_clients)
		return false;
	srv->clients_refused++;
	/* a flood must not flood the log too: a line a second at most */
	if (now - srv->refused_logged_ns > 1000000000ull) {
		srv->refused_logged_ns = now;
		log_warn("%s: %s refused: %u clients already (--max-clients); %" PRIu64
			 " refused so far", port, peer, srv->cfg->max_clients, srv->clients_refused);
	}
	return true;
}

static void on_signal(uv_signal_t *h, int signum)
{
	struct server *srv = h->data;

	if (signum == SIGHUP) {
		if (srv->shutting_down)
			return;
		notify_send(&srv->notify, "RELOADING=1\nMONOTONIC_USEC=%llu",
			    (unsigned long long)(monotonic_ns() / 1000));
		reload_run(srv);
		notify_status(srv, "READY=1\n");
		return;
	}
	server_shutdown(srv, signum == SIGTERM ? "SIGTERM" : "SIGINT");
}

/* Close the streams opened so far (start-up failed, or the daemon ends);
 * their array goes when the last one's poll handle has closed. */
static int close_streams(struct server *srv)
{
	int err = 0;
	uint32_t i;

	for (i = 0; i < srv->nstreams; i++) {
		if (!srv->streams[i].open)
			continue;
		if (device_stream_close(&srv->streams[i]))
			err = -EBUSY;
		srv->streams_closing++;
	}
	srv->nstreams = 0;
	if (!srv->streams_closing) {
		free(srv->streams);
		srv->streams = NULL;
	}
	return err;
}

void server_stream_closed(struct server *srv)
{
	if (--srv->streams_closing == 0) {
		free(srv->streams);
		srv->streams = NULL;
	}
}

/* Close the output devices (start-up failed, or the daemon ends). */
static void close_outputs(struct server *srv)
{
	uint32_t i;

	for (i = 0; i < srv->noutputs; i++) {
		if (!srv->outputs[i].open)
			continue;
		output_stream_close(&srv->outputs[i]);
		srv->outputs_closing++;
	}
	srv->noutputs = 0;
	if (!srv->outputs_closing) {
		free(srv->outputs);
		srv->outputs = NULL;
	}
}

void server_output_closed(struct server *srv)
{
	if (--srv->outputs_closing == 0) {
		free(srv->outputs);
		srv->outputs = NULL;
	}
}

/* One output device of a spec (a kernel node whose direction is out):
 * the spec's keys over the flags, as for an input device. */
static int open_output_spec(struct server *srv, struct output_stream *os, const char *text)
{
	const struct config *cfg = srv->cfg;
	struct source_config scfg;
	struct source_spec spec;
	char why[400];

	if (source_spec_parse(text, &spec, why, sizeof(why))) {
		log_error("--source %s", why);
		return -EINVAL;
	}
	device_stream_source_config(&spec, cfg, &scfg);
	return output_stream_open(os, srv, srv->nstreams + srv->noutputs, spec.ops, &scfg, "",
				  spec.block_size ? spec.block_size : cfg->block_size,
				  spec.blocks ? spec.blocks : cfg->blocks);
}

/* The sim board's DAC beside a sim ADC: the ADC's channels, rate and ring,
 * its loopback wired into the ADC. */
static int open_sim_dac(struct server *srv, struct output_stream *os, struct device_stream *ds)
{
	char name[80];
	struct source_config scfg;
	int err;

	snprintf(name, sizeof(name), "%.60s-dac", ds->fmt.device);
	scfg = (struct source_config){
		.arg = "",
		.name = name,
		.format = "",
		.channels = ds->fmt.device_channels,
		.sample_rate = ds->fmt.sample_rate,
		.channels_set = true,
		.rate_set = true,
	};
	err = output_stream_open(os, srv, srv->nstreams + srv->noutputs, &source_sim_dac_ops, &scfg,
				 ds->device_id, ds->pool.block_size, ds->pool.count);
	if (err)
		return err;
	err = source_sim_connect_loopback(ds->src, os->src);
	if (err)
		log_error("%s: loopback into %s: %s", os->device_id, ds->device_id, strerror(-err));
	return 0;
}

/* A sim ADC that has its DAC (not dac=off). */
static bool has_sim_dac(const struct device_stream *ds)
{
	return ds->src && ds->src->ops == &source_sim_ops && !ds->spec.no_dac;
}

/* The output devices, ids after the input streams: the kernel's of
 * out_specs[], then each sim ADC's DAC. */
static int start_outputs(struct server *srv, char (*out_specs)[SOURCE_SPEC_MAX], uint32_t nout)
{
	uint32_t i, n = nout;
	int err = 0;

	for (i = 0; i < srv->nstreams; i++)
		n += has_sim_dac(&srv->streams[i]);
	if (!n)
		return 0;
	srv->outputs = calloc(n, sizeof(*srv->outputs));
	if (!srv->outputs)
		return -ENOMEM;
	for (i = 0; i < nout && !err; i++) {
		err = open_output_spec(srv, &srv->outputs[srv->noutputs], out_specs[i]);
		if (!err)
			srv->noutputs++;
	}
	for (i = 0; i < srv->nstreams && !err; i++) {
		struct device_stream *ds = &srv->streams[i];

		if (!has_sim_dac(ds))
			continue;
		err = open_sim_dac(srv, &srv->outputs[srv->noutputs], ds);
		if (!err)
			srv->noutputs++;
	}
	if (err)
		close_outputs(srv);
	return err;
}

/* Two streams of one device would fight over it: refuse. (Two devices of
 * one name are two devices, as a board's two identical ADCs: their ids
 * tell them apart, and a client names them by id.) */
static int check_unique(const struct server *srv, const struct device_stream *ds)
{
	uint32_t i;

	for (i = 0; i < ds->id; i++)
		if (strcmp(srv->streams[i].device_id, ds->device_id) == 0) {
			log_error("--source %s: device %s (%s) is already streamed by --source %s",
				  ds->spec_text, ds->device_id, ds->fmt.device,
				  srv->streams[i].spec_text);
			return -EEXIST;
		}
	return 0;
}

/* The devices to stream: the --source specs, each `auto` replaced by the
 * devices the scan finds (the sim when it finds none, said in the log and
 * in srv->source_fallback, for Stats). Returns how many were written to
 * specs[]. */
static uint32_t expand_sources(struct server *srv, const struct config *cfg,
			       char (*specs)[SOURCE_SPEC_MAX])
{
	uint32_t i, n = 0, found;

	for (i = 0; i < cfg->sources.n && n < CONFIG_MAX_SOURCES; i++) {
		const char *text = cfg->sources.spec[i];
		const char *keys = strchr(text, ':');
		char comma_keys[SOURCE_SPEC_MAX], why[256];
		struct source_spec spec;

		/* (parses: the configuration checked it) */
		if (source_spec_parse(text, &spec, why, sizeof(why)) || !spec.scan) {
			snprintf(specs[n++], SOURCE_SPEC_MAX, "%s", text);
			continue;
		}
		snprintf(comma_keys, sizeof(comma_keys), "%s%s", keys ? "," : "",
			 keys ? keys + 1 : "");
		found = source_scan(SOURCE_SCAN_ROOT, comma_keys, specs + n, CONFIG_MAX_SOURCES - n);
		if (found) {
			uint32_t j;

			log_info("--source %s: %u IIO device%s with a buffer", text, found,
				 found == 1 ? "" : "s");
			/* which interface each got (source_scan.h: block node,
			 * DMABUF, read()) */
			for (j = 0; j < found; j++)
				log_info("--source %s: %s", text, specs[n + j]);
			n += found;
		} else {
			log_warn("--source %s: no IIO device with a buffer under %s: streaming the "
				 "simulated ADC (sim)", text, SOURCE_SCAN_ROOT);
			snprintf(srv->source_fallback, sizeof(srv->source_fallback),
				 "--source %.60s found no IIO device with a buffer: the simulated "
				 "ADC streams instead", text);
			snprintf(specs[n++], SOURCE_SPEC_MAX, "sim%s%s", keys ? ":" : "",
				 keys ? keys + 1 : "");
		}
	}
	return n;
}

/* Every streamed device: its source, ring and poll. On an error it is
 * logged, and nothing of them is left. */
static int start_streams(struct server *srv, const struct config *cfg)
{
	char specs[CONFIG_MAX_SOURCES][SOURCE_SPEC_MAX];
	char out_specs[CONFIG_MAX_SOURCES][SOURCE_SPEC_MAX];
	char why[800];
	uint32_t i, nout = 0, n = expand_sources(srv, cfg, specs);
	int err = 0;

	if (config_check_budget(cfg, (const char(*)[SOURCE_SPEC_MAX])specs, n, why, sizeof(why))) {
		log_error("%s", why);
		return -ENOMEM;
	}
	srv->streams = calloc(n, sizeof(*srv->streams));
	if (!srv->streams)
		return -ENOMEM;
	for (i = 0; i < n && !err; i++) {
		err = device_stream_open(&srv->streams[srv->nstreams], srv, srv->nstreams, specs[i]);
		if (err == -EXDEV) {
			/* an output device: opened after every input one */
			memcpy(out_specs[nout++], specs[i], SOURCE_SPEC_MAX);
			err = 0;
		} else if (!err) {
			srv->nstreams++;
			err = check_unique(srv, &srv->streams[srv->nstreams - 1]);
		}
	}
	if (!err && !srv->nstreams) {
		log_error("no input device among the sources: a daemon streams at least one");
		err = -EINVAL;
	}
	if (!err)
		err = start_outputs(srv, out_specs, nout);
	if (err)
		close_streams(srv);
	return err;
}

/* The once-a-second limits check and the signals (none of it can fail). */
static void start_timers_and_signals(struct server *srv, uv_loop_t *loop)
{
	uv_timer_init(loop, &srv->limits_timer);
	srv->limits_timer.data = srv;
	uv_timer_start(&srv->limits_timer, on_limits_tick, 1000, 1000);
	uv_timer_init(loop, &srv->finish_timer);
	srv->finish_timer.data = srv;
	uv_signal_init(loop, &srv->sigterm);
	uv_signal_init(loop, &srv->sigint);
	uv_signal_init(loop, &srv->sighup);
	srv->sigterm.data = srv;
	srv->sigint.data = srv;
	srv->sighup.data = srv;
	uv_signal_start(&srv->sigterm, on_signal, SIGTERM);
	uv_signal_start(&srv->sigint, on_signal, SIGINT);
	uv_signal_start(&srv->sighup, on_signal, SIGHUP);
}

/* config_where() in the shape of tls_settings.where. */
static const char *where_in_config(const void *cfg, const char *key, char *buf, size_t len)
{
	return config_where(cfg, key, buf, len);
}

void tls_settings_from_config(const struct config *cfg, struct tls_settings *s)
{
	*s = (struct tls_settings){
		.enabled = cfg->listen_tls,
		.cert = cfg->tls_cert,
		.key = cfg->tls_key,
		.identity = cfg->identity,
		.client_ca = cfg->client_ca,
		.ciphersuites = cfg->tls_ciphersuites,
		.ktls = cfg->ktls,
		.where = where_in_config,
		.where_arg = cfg,
	};
}

int tls_server_reload(struct tls_server *t, const struct config *cfg, char *err, size_t errlen)
{
	struct tls_settings s;

	tls_settings_from_config(cfg, &s);
	return tls_server_renew(t, &s, err, errlen);
}

/* The pairing store, on a TLS daemon: its paired clients are what the
 * access lists' `paired` admits, from start to stop. */
static int pairing_start(struct server *srv)
{
	char dir[PATH_MAX], err[800];
	int r;

	if (!srv->tls.ctx)
		return 0;
	r = pairing_dir(srv->cfg->pairing, dir, sizeof(dir), err, sizeof(err));
	if (r == 0)
		r = pairing_open(&srv->pairing, dir, err, sizeof(err));
	if (r < 0) {
		log_error("pairing: %s (--pairing DIR)", err);
		return r;
	}
	srv->pairing_on = true;
	access_use_pairing(&srv->pairing);
	log_info("pairing: %u paired client%s in %s/clients", srv->pairing.n_clients,
		 srv->pairing.n_clients == 1 ? "" : "s", dir);
	return 0;
}

static void pairing_stop(struct server *srv)
{
	if (!srv->pairing_on)
		return;
	access_use_pairing(NULL);
	pairing_close(&srv->pairing);
	srv->pairing_on = false;
}

int server_start(struct server *srv, uv_loop_t *loop, const struct config *cfg)
{
	struct tls_settings tls;
	int err;

	memset(srv, 0, sizeof(*srv));
	srv->loop = loop;
	srv->cfg = cfg;
	srv->start_ns = monotonic_ns();
	TAILQ_INIT(&srv->frontends);

	/* Certificates first: a bad one stops the daemon before anything. */
	tls_settings_from_config(cfg, &tls);
	err = tls_server_init(&srv->tls, &tls);
	if (err)
		return err;
	err = pairing_start(srv);
	if (err) {
		tls_server_free(&srv->tls);
		return err;
	}
	devices_open(srv);
	err = start_streams(srv, cfg);
	if (err) {
		devices_close(srv);
		pairing_stop(srv);
		tls_server_free(&srv->tls);
		return err;
	}
	start_timers_and_signals(srv, loop);
	return 0;
}

void server_ready(struct server *srv)
{
	uint32_t i;

	for (i = 0; i < srv->nstreams; i++) {
		const struct device_stream *ds = &srv->streams[i];

		log_info("source %s: %s (%s), %u channels at %" PRIu64
			 " scans/s, %u blocks of %u bytes",
			 ds->src->ops->name, ds->fmt.device, ds->device_id, ds->fmt.channels,
			 ds->fmt.sample_rate, ds->pool.count, ds->pool.block_size);
	}
	for (i = 0; i < srv->noutputs; i++) {
		const struct output_stream *os = &srv->outputs[i];

		log_info("output %s: %s (%s), %u channels at %" PRIu64
			 " scans/s, %u blocks of %u bytes",
			 os->src->ops->name, os->fmt.device, os->device_id, os->fmt.channels,
			 os->fmt.sample_rate, os->count, os->block_size);
	}
	/* Listening and announced: ready for systemd (Type=notify). */
	notify_open(&srv->notify, srv->loop);
	notify_status(srv, "READY=1\n");
}

struct device_stream *server_find_stream(const struct server *srv, const char *device)
{
	uint32_t i;

	if (!device[0])
		return srv->nstreams ? &srv->streams[0] : NULL;
	/* ids first: unique, where two devices may share a name */
	for (i = 0; i < srv->nstreams; i++)
		if (strcmp(device, srv->streams[i].device_id) == 0)
			return &srv->streams[i];
	for (i = 0; i < srv->nstreams; i++)
		if (strcmp(device, srv->streams[i].fmt.device) == 0)
			return &srv->streams[i];
	return NULL;
}

struct output_stream *server_find_output(const struct server *srv, const char *device)
{
	uint32_t i;

	if (!device[0])
		return srv->noutputs ? &srv->outputs[0] : NULL;
	for (i = 0; i < srv->noutputs; i++)
		if (strcmp(device, srv->outputs[i].device_id) == 0)
			return &srv->outputs[i];
	for (i = 0; i < srv->noutputs; i++)
		if (strcmp(device, srv->outputs[i].fmt.device) == 0)
			return &srv->outputs[i];
	return NULL;
}

uint32_t server_outputs_unsettled(const struct server *srv)
{
	uint32_t i, n = 0;

	for (i = 0; i < srv->noutputs; i++) {
		const struct output_stream *os = &srv->outputs[i];

		n += os->owner || os->nfree + os->in_device != os->count ||
		     (os->in_device && !os->kept);
	}
	return n;
}

uint32_t server_subscribers(const struct server *srv)
{
	uint32_t i, n = 0;

	for (i = 0; i < srv->nstreams; i++)
		n += device_stream_subscribers(&srv->streams[i]);
	return n;
}

uint32_t server_blocks_held(const struct server *srv)
{
	uint32_t i, n = 0;

	for (i = 0; i < srv->nstreams; i++)
		n += srv->streams[i].pool.held;
	return n;
}

uint64_t server_blocks_skipped(const struct server *srv)
{
	uint64_t n = 0;
	uint32_t i;

	for (i = 0; i < srv->nstreams; i++)
		n += srv->streams[i].fanout.blocks_skipped;
	return n;
}

/* Last step of a shutdown: every block is back; close everything. */
/*
 * Closing a signal's last handle makes libuv restore the default action at
 * once, which would turn a repeated SIGTERM (a supervisor's, a test's)
 * during the last frees into death by signal instead of the clean exit
 * under way. So the signals are blocked while their handles close and
 * their action becomes "ignore"; one that came meanwhile is then dropped.
 */
static void close_signals(struct server *srv)
{
	sigset_t set, old;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, &old);
	uv_close((uv_handle_t *)&srv->sigterm, NULL);
	uv_close((uv_handle_t *)&srv->sigint, NULL);
	uv_close((uv_handle_t *)&srv->sighup, NULL);
	signal(SIGTERM, SIG_IGN);
	signal(SIGINT, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
}

static void finish(struct server *srv)
{
	uint32_t i;

	if (srv->finished)
		return;
	srv->finished = true;
	for (i = 0; i < srv->nstreams; i++)
		device_stream_stop(&srv->streams[i]);
	close_outputs(srv); /* before their ADCs: it unhooks the loopback */
	if (close_streams(srv))
		srv->exit_code = 1;
	uv_close((uv_handle_t *)&srv->limits_timer, NULL);
	uv_close((uv_handle_t *)&srv->finish_timer, NULL);
	close_signals(srv);
	notify_close(&srv->notify);
	pairing_stop(srv);
	tls_server_free(&srv->tls);
	devices_close(srv);
}

void server_shutdown(struct server *srv, const char *why)
{
	struct frontend *fe;
	uint32_t clients = server_clients(srv);

	if (srv->shutting_down)
		return;
	srv->shutting_down = true;
	log_info("%s: shutting down, %u clients", why, clients);
	notify_send(&srv->notify, "STOPPING=1\nSTATUS=shutting down (%s): %u clients to say bye to",
		    why, clients);
	/* no new clients, and Bye to each (a front-end's clients may close at
	 * once: each calls server_client_gone(), which waits a loop turn) */
	TAILQ_FOREACH(fe, &srv->frontends, link)
		fe->ops->shutdown(fe);
	if (server_clients(srv) == 0)
		finish(srv);
}

static void on_finish_timer(uv_timer_t *t)
{
	struct server *srv = t->data;

	if (server_clients(srv) == 0)
		finish(srv);
}

void server_client_gone(struct server *srv)
{
	/* Not finish() here: the caller may be inside a walk of its clients
	 * or of the fan-out, which finish() would drain and free. */
	if (srv->shutting_down && !srv->finished && server_clients(srv) == 0)
		uv_timer_start(&srv->finish_timer, on_finish_timer, 0, 0);
}

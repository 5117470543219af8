// SPDX-License-Identifier: MIT
/* The daemon as a whole: start-up, capture on demand, orderly shutdown. */
#include "server.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "advertise.h"
#include "devices.h"
#include "fanout.h"
#include "listener.h"
#include "log.h"
#include "session.h"


static void capture_start(void *ctx);
static void capture_stop(void *ctx);
static const struct fanout_hooks capture_hooks = {
	.capture_start = capture_start,
	.capture_stop = capture_stop,
};

static void on_source_ready(uv_poll_t *h, int status, int events)
{
	struct server *srv = h->data;

	(void)events;
	if (status < 0) {
		log_error("source: poll: %s", uv_strerror(status));
		return;
	}
	fanout_drain(&srv->fanout);
}

/* STATUS= for systemd: what the daemon is doing now, after `extra`
 * ("READY=1\n" or ""). */
static void notify_status(struct server *srv, const char *extra)
{
	char plain[40] = "", secure[40] = "";

	if (srv->plain.fd >= 0)
		snprintf(plain, sizeof(plain), "; TCP port %u", srv->plain.port);
	if (srv->secure.fd >= 0)
		snprintf(secure, sizeof(secure), "; TLS port %u", srv->secure.port);
	notify_send(&srv->notify, "%sSTATUS=source %s%s%s; %u subscriber%s", extra,
		    srv->src->ops->name, plain, secure, server_subscribers(srv),
		    server_subscribers(srv) == 1 ? "" : "s");
}

static void on_limits_tick(uv_timer_t *t)
{
	struct server *srv = t->data;
	struct session *s, *next;
	uint64_t now = monotonic_ns();

	for (s = TAILQ_FIRST(&srv->sessions); s; s = next) {
		next = TAILQ_NEXT(s, link);
		session_check_idle(s, now);
	}
}

bool server_refuse_client(struct server *srv, const char *peer, const char *port)
{
	uint64_t now = monotonic_ns();

	if (srv->nsessions + srv->iiod.nconns < srv->cfg->max_clients)
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

/* Write the bound port where a supervisor or a test can read it; rename()
 * makes the file appear whole. */
static int write_port_file(const char *path, uint16_t port, uint16_t tls_port,
			   uint16_t iiod_port)
{
	char tmp[300];
	FILE *f;

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "w");
	if (!f)
		return -errno;
	/* the plain TCP, TLS and iiod ports, a line each (0: not listening) */
	fprintf(f, "%u\n%u\n%u\n", port, tls_port, iiod_port);
	if (fclose(f) != 0 || rename(tmp, path) != 0)
		return -errno;
	return 0;
}

/* The block source, its ring and its readiness poll. On an error it is
 * logged, and nothing of it is left. */
static int start_source(struct server *srv, uv_loop_t *loop, const struct config *cfg)
{
	const struct source_ops *ops = source_find(cfg->source);
	struct source_config scfg = {
		.arg = source_spec_arg(cfg->source),
		.channels = cfg->channels,
		.sample_rate = cfg->sample_rate,
		.channels_set = cfg->channels_set,
		.rate_set = cfg->rate_set,
	};
	int err;

	err = ops->open(&srv->src, loop, &scfg);
	if (err) {
		log_error("source %s: %s", ops->name, strerror(-err));
		return err;
	}
	ops->format(srv->src, &srv->fmt);
	devices_open(srv);
	if (cfg->block_size % srv->fmt.scan_bytes) {
		log_error("--block-size %u is not a whole number of the device's %u-byte scans",
			  cfg->block_size, srv->fmt.scan_bytes);
		err = -EINVAL;
		goto err_close_source;
	}
	if (cfg->transport == TRANSPORT_SENDFILE && !ops->block_file) {
		log_error("--transport sendfile: the %s source's blocks are not file pages "
			  "(use zerocopy or copy)", ops->name);
		err = -EINVAL;
		goto err_close_source;
	}
	err = block_pool_init(&srv->pool, srv->src, cfg->block_size, cfg->blocks);
	if (err) {
		log_error("source %s: cannot set up %u blocks of %u bytes: %s", ops->name,
			  cfg->blocks, cfg->block_size, strerror(-err));
		goto err_close_source;
	}
	err = uv_poll_init(loop, &srv->src_poll, ops->fd_to_poll(srv->src));
	if (err)
		goto err_free_pool;
	srv->src_poll.data = srv;
	fanout_init(&srv->fanout, &srv->pool, &capture_hooks, srv);
	uv_poll_start(&srv->src_poll, UV_READABLE, on_source_ready);
	return 0;

err_free_pool:
	block_pool_free(&srv->pool);
err_close_source:
	devices_close(srv);
	ops->close(srv->src);
	return err;
}

static void stop_source(struct server *srv)
{
	uv_close((uv_handle_t *)&srv->src_poll, NULL);
	block_pool_free(&srv->pool);
	devices_close(srv);
	srv->src->ops->close(srv->src);
}

/* The plain, TLS and iiod listeners, and the port file that names their
 * ports. On an error every listener is stopped again. */
static int start_listeners(struct server *srv, const struct config *cfg)
{
	int err = 0;

	if (!cfg->listen_off) {
		err = listener_start(&srv->plain, srv, cfg->listen_host, cfg->listen_port, false);
		if (err)
			return err;
		if (listener_is_public(&srv->plain))
			log_warn("plain TCP on %s:%u is open to the network: no encryption, no "
				 "client authentication; prefer --listen-tls",
				 cfg->listen_host, srv->plain.port);
	}
	if (cfg->listen_tls)
		err = listener_start(&srv->secure, srv, cfg->listen_tls_host, cfg->listen_tls_port,
				     true);
	if (!err && cfg->iiod_listen)
		err = iiod_start(&srv->iiod, srv, cfg->iiod_host, cfg->iiod_port);
	if (!err && cfg->port_file[0]) {
		err = write_port_file(cfg->port_file, srv->plain.fd >= 0 ? srv->plain.port : 0,
				      srv->secure.fd >= 0 ? srv->secure.port : 0,
				      srv->iiod.listening ? srv->iiod.port : 0);
		if (err)
			log_error("--port-file %s: %s", cfg->port_file, strerror(-err));
	}
	if (err) {
		iiod_stop(&srv->iiod);
		listener_stop(&srv->plain);
		listener_stop(&srv->secure);
	}
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

/* "listening on HOST:PORT", an IPv6 host in brackets. */
static void log_listening(const char *what, const char *host, uint16_t port)
{
	bool v6 = strchr(host, ':') != NULL;

	log_info("listening%s on %s%s%s:%u", what, v6 ? "[" : "", host, v6 ? "]" : "", port);
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

int server_start(struct server *srv, uv_loop_t *loop, const struct config *cfg)
{
	struct tls_settings tls;
	int err;

	memset(srv, 0, sizeof(*srv));
	srv->loop = loop;
	srv->cfg = cfg;
	srv->plain.fd = -1;
	srv->secure.fd = -1;
	srv->start_ns = monotonic_ns();
	TAILQ_INIT(&srv->sessions);

	/* Certificates first: a bad one stops the daemon before anything. */
	tls_settings_from_config(cfg, &tls);
	err = tls_server_init(&srv->tls, &tls);
	if (err)
		return err;
	err = start_source(srv, loop, cfg);
	if (err)
		goto err_free_tls;
	err = start_listeners(srv, cfg);
	if (err)
		goto err_stop_source;
	start_timers_and_signals(srv, loop);
	if (srv->plain.fd >= 0)
		log_listening("", cfg->listen_host, srv->plain.port);
	if (srv->secure.fd >= 0)
		log_listening(" for TLS", cfg->listen_tls_host, srv->secure.port);
	log_info("source %s: %u channels at %" PRIu64 " scans/s, %u blocks of %u bytes",
		 srv->src->ops->name, srv->fmt.channels, srv->fmt.sample_rate, cfg->blocks,
		 cfg->block_size);
	/* Last: it cannot fail, so nothing above has to withdraw it. */
	if (cfg->advertise)
		srv->adv = advertise_start(&(struct advertise_params){
			.device = srv->fmt.device,
			.channels = srv->fmt.device_channels,
			.client_cert = cfg->client_ca[0] != '\0',
			.explicit_on = cfg->advertise_set,
			.plain_fd = srv->plain.fd,
			.tls_fd = srv->secure.fd,
			.iiod_fd = iiod_listen_fd(&srv->iiod),
		});
	/* Listening and announced: ready for systemd (Type=notify). */
	notify_open(&srv->notify, loop);
	notify_status(srv, "READY=1\n");
	return 0;

err_stop_source:
	stop_source(srv);
err_free_tls:
	tls_server_free(&srv->tls);
	return err;
}

uint64_t server_all_channels(const struct server *srv)
{
	uint32_t n = srv->fmt.device_channels;

	return n >= 64 ? ~0ull : (1ull << n) - 1;
}

int server_set_channels(struct server *srv, uint64_t mask)
{
	int err;

	if (mask == srv->fmt.channel_mask)
		return 0;
	if (mask == 0 || (mask & ~server_all_channels(srv)))
		return -EINVAL;
	if (server_subscribers(srv))
		return -EBUSY;
	if (!srv->src->ops->set_channels)
		return -EOPNOTSUPP;
	err = srv->src->ops->set_channels(srv->src, mask);
	if (err)
		return err;
	srv->src->ops->format(srv->src, &srv->fmt);
	srv->pool.scan_bytes = srv->fmt.scan_bytes;
	log_info("capture channels: mask 0x%" PRIx64 ", %u of %u", mask, srv->fmt.channels,
		 srv->fmt.device_channels);
	return 0;
}

uint32_t server_queue_bound(const struct server *srv, uint32_t wish)
{
	return fanout_queue_bound(&srv->fanout, wish ? wish : srv->cfg->client_queue);
}

/* Capture on demand (fanout.h): the first subscriber starts the source,
 * the last one leaving stops it. */
static void capture_start(void *ctx)
{
	struct server *srv = ctx;
	int err = srv->src->ops->enable(srv->src);

	if (err)
		log_error("source: enable failed: %s", strerror(-err));
	else
		log_info("capture started");
	notify_status(srv, "");
}

static void capture_stop(void *ctx)
{
	struct server *srv = ctx;

	srv->src->ops->disable(srv->src);
	log_info("capture stopped: no subscribers");
	if (!srv->shutting_down)
		notify_status(srv, "");
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
	struct source_counters c;
	int err;

	if (srv->finished)
		return;
	srv->finished = true;
	srv->src->ops->disable(srv->src);
	fanout_drain(&srv->fanout); /* a partly filled block, handed to nobody */
	srv->src->ops->counters(srv->src, &c);
	log_info("stopped: %" PRIu64 " blocks produced, %" PRIu64 " overflows, %" PRIu64
		 " scans lost, %" PRIu64 " client skips, %u of %u blocks back in the source",
		 c.blocks_produced, c.overflows, c.lost_samples, server_blocks_skipped(srv),
		 srv->pool.count - srv->pool.held, srv->pool.count);
	err = block_pool_free(&srv->pool);
	if (err) {
		log_error("blocks still held at exit: %s", strerror(-err));
		srv->exit_code = 1;
	}
	uv_close((uv_handle_t *)&srv->src_poll, NULL);
	srv->src->ops->close(srv->src);
	uv_close((uv_handle_t *)&srv->limits_timer, NULL);
	uv_close((uv_handle_t *)&srv->finish_timer, NULL);
	close_signals(srv);
	notify_close(&srv->notify);
	tls_server_free(&srv->tls);
	devices_close(srv);
}

void server_shutdown(struct server *srv, const char *why)
{
	struct session *s, *next;

	if (srv->shutting_down)
		return;
	srv->shutting_down = true;
	log_info("%s: shutting down, %u clients", why, srv->nsessions);
	notify_send(&srv->notify, "STOPPING=1\nSTATUS=shutting down (%s): %u clients to say bye to",
		    why, srv->nsessions);
	listener_stop(&srv->plain);
	listener_stop(&srv->secure);
	iiod_stop(&srv->iiod);
	advertise_stop(srv->adv); /* no new clients: stop inviting them */
	srv->adv = NULL;
	for (s = TAILQ_FIRST(&srv->sessions); s; s = next) {
		next = TAILQ_NEXT(s, link);
		session_say_bye(s, "server shutting down");
	}
	if (srv->nsessions == 0 && srv->iiod.nconns == 0)
		finish(srv);
}

static void on_finish_timer(uv_timer_t *t)
{
	struct server *srv = t->data;

	if (srv->nsessions == 0 && srv->iiod.nconns == 0)
		finish(srv);
}

void server_session_gone(struct server *srv)
{
	/* Not finish() here: the caller may be inside a walk of the sessions
	 * or of the fan-out, which finish() would drain and free. */
	if (srv->shutting_down && !srv->finished && srv->nsessions == 0 && srv->iiod.nconns == 0)
		uv_timer_start(&srv->finish_timer, on_finish_timer, 0, 0);
}

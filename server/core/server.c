// SPDX-License-Identifier: MIT
/* The daemon's core: start-up, capture on demand, front-ends, orderly
 * shutdown. */
#include "server.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "devices.h"
#include "fanout.h"
#include "log.h"


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
	char ports[160] = "";
	struct frontend *fe;
	size_t n = 0;

	TAILQ_FOREACH(fe, &srv->frontends, link)
		if (fe->ops->status && n < sizeof(ports)) {
			fe->ops->status(fe, ports + n, sizeof(ports) - n);
			n += strlen(ports + n);
		}
	notify_send(&srv->notify, "%sSTATUS=source %s%s; %u subscriber%s", extra,
		    srv->src->ops->name, ports, server_subscribers(srv),
		    server_subscribers(srv) == 1 ? "" : "s");
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

	if (server_clients(srv) < srv->cfg->max_clients)
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
	srv->start_ns = monotonic_ns();
	TAILQ_INIT(&srv->frontends);

	/* Certificates first: a bad one stops the daemon before anything. */
	tls_settings_from_config(cfg, &tls);
	err = tls_server_init(&srv->tls, &tls);
	if (err)
		return err;
	err = start_source(srv, loop, cfg);
	if (err) {
		tls_server_free(&srv->tls);
		return err;
	}
	start_timers_and_signals(srv, loop);
	return 0;
}

void server_ready(struct server *srv)
{
	log_info("source %s: %u channels at %" PRIu64 " scans/s, %u blocks of %u bytes",
		 srv->src->ops->name, srv->fmt.channels, srv->fmt.sample_rate, srv->pool.count,
		 srv->pool.block_size);
	/* Listening and announced: ready for systemd (Type=notify). */
	notify_open(&srv->notify, srv->loop);
	notify_status(srv, "READY=1\n");
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
	block_pool_set_scan_bytes(&srv->pool, srv->fmt.scan_bytes);
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

// SPDX-License-Identifier: MIT
/*
 * libiiostream: connection, handshake, requests and the block stream.
 * Blocking calls on a blocking socket; SO_RCVTIMEO/SO_SNDTIMEO bound them.
 * A frame head is read whole, then its payload straight into the block
 * buffer, so a block is copied once (kernel to user) and never again; over
 * TLS, OpenSSL decrypts into its buffer and copies into ours (tls.c).
 */
#define _GNU_SOURCE
#include "iiostream.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "client_internal.h"
#include "iiostream/frame.h"

#define DEFAULT_TIMEOUT_MS 5000
/* Bytes of blocks kept during one request (IIOS_STASH_MAX_BLOCKS too). */
#define STASH_MAX_BYTES (64u * 1024u * 1024u)

void iios__set_errmsg(struct iios_client *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->errmsg, sizeof(c->errmsg), fmt, ap);
	va_end(ap);
}

#define fail iios__fail
#define broken(c, err, what) iios__broken((c), (err), (what))
#define set_errmsg iios__set_errmsg

int iios__broken(struct iios_client *c, int err, const char *what)
{
	c->broken = true;
	if (c->tls_err[0]) /* TLS said more than the errno can */
		return fail(c, err, "%s: %s", what, c->tls_err);
	return fail(c, err, "%s: %s", what, strerror(-err));
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Read exactly n bytes. *got counts what arrived, so the caller can tell a
 * timeout between frames (harmless) from one inside a frame (fatal). */
static int read_exact(struct iios_client *c, void *buf, size_t n, size_t *got)
{
	c->tls_err[0] = '\0';
	*got = 0;
	while (*got < n) {
		ssize_t r;

		if (c->tls.ssl) {
			r = iios__tls_recv(&c->tls, (uint8_t *)buf + *got, n - *got, c->tls_err,
					   sizeof(c->tls_err));
			if (r < 0)
				return (int)r;
		} else {
			r = recv(c->fd, (uint8_t *)buf + *got, n - *got, MSG_WAITALL);
		}
		if (r == 0)
			return -ECONNRESET;
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return errno == EAGAIN || errno == EWOULDBLOCK ? -ETIMEDOUT : -errno;
		}
		*got += (size_t)r;
	}
	return 0;
}

static int write_all(struct iios_client *c, const uint8_t *buf, size_t n)
{
	c->tls_err[0] = '\0';
	while (n) {
		ssize_t w;

		if (c->tls.ssl) {
			w = iios__tls_send(&c->tls, buf, n, c->tls_err, sizeof(c->tls_err));
			if (w < 0)
				return (int)w;
			buf += w;
			n -= (size_t)w;
			continue;
		}
		w = send(c->fd, buf, n, MSG_NOSIGNAL);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return errno == EAGAIN || errno == EWOULDBLOCK ? -ETIMEDOUT : -errno;
		}
		buf += w;
		n -= (size_t)w;
	}
	return 0;
}

/* The frame head and the payload after it, in one sendmsg() on tcp://
 * (the payload straight from the caller's buffer); over TLS the head and
 * the payload are two writes. A failure after bytes went out breaks the
 * connection; a timeout before any did is -ETIMEDOUT and harmless. */
static int send_vec(struct iios_client *c, const uint8_t *head, size_t hlen, const void *payload,
		    size_t plen)
{
	struct iovec iov[2] = { { (void *)head, hlen }, { (void *)payload, plen } };
	struct msghdr mh = { .msg_iov = iov, .msg_iovlen = plen ? 2 : 1 };
	size_t sent = 0;

	if (c->tls.ssl) {
		int err = write_all(c, head, hlen);

		if (!err && plen)
			err = write_all(c, payload, plen);
		return err ? broken(c, err, "send") : 0;
	}
	while (mh.msg_iovlen) {
		ssize_t w = sendmsg(c->fd, &mh, MSG_NOSIGNAL);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) && sent == 0)
			return fail(c, -ETIMEDOUT, "the server took nothing in %d ms", c->timeout_ms);
		if (w < 0)
			return broken(c, errno == EAGAIN || errno == EWOULDBLOCK ? -ETIMEDOUT : -errno,
				      "send");
		sent += (size_t)w;
		while (mh.msg_iovlen && (size_t)w >= mh.msg_iov[0].iov_len) {
			w -= (ssize_t)mh.msg_iov[0].iov_len;
			mh.msg_iov++;
			mh.msg_iovlen--;
		}
		if (mh.msg_iovlen) {
			mh.msg_iov[0].iov_base = (uint8_t *)mh.msg_iov[0].iov_base + w;
			mh.msg_iov[0].iov_len -= (size_t)w;
		}
	}
	return 0;
}

int iios__send_payload(struct iios_client *c, const Iiostream__Envelope *env, const void *payload,
		       size_t len)
{
	uint8_t buf[256];
	long n = iios_frame_encode(env, buf, sizeof(buf), sizeof(buf) - IIOS_FRAME_PREFIX);

	if (n < 0)
		return fail(c, -EMSGSIZE, "frame head too large to encode");
	return send_vec(c, buf, (size_t)n, payload, len);
}

bool iios__frame_waiting(struct iios_client *c)
{
	struct pollfd pfd = { .fd = c->fd, .events = POLLIN };

	if (iios__tls_pending(&c->tls))
		return true;
	return poll(&pfd, 1, 0) > 0; /* (an error or a hangup too: reading says it) */
}

int iios__send_msg(struct iios_client *c, const Iiostream__Envelope *env)
{
	uint8_t buf[1024];
	long n = iios_frame_encode(env, buf, sizeof(buf), sizeof(buf) - IIOS_FRAME_PREFIX);
	int err;

	if (n < 0)
		return fail(c, -EMSGSIZE, "request too large to encode");
	err = write_all(c, buf, (size_t)n);
	if (err)
		return broken(c, err, "send");
	return 0;
}

/* The subscription of a stream, or NULL. */
static struct iios_stream_info *sub_of(struct iios_client *c, uint32_t stream_id)
{
	uint32_t i;

	for (i = 0; i < IIOS_MAX_STREAMS; i++)
		if (c->sub_used[i] && c->subs[i].stream_id == stream_id)
			return &c->subs[i];
	return NULL;
}

/* Read and drop n payload bytes. */
static int skip_payload(struct iios_client *c, size_t left)
{
	uint8_t sink[4096];
	size_t got;
	int err = 0;

	while (!err && left) {
		size_t n = left < sizeof(sink) ? left : sizeof(sink);

		err = read_exact(c, sink, n, &got);
		left -= n;
	}
	return err;
}

/* Keep a block that arrived during a request, payload and all; when the
 * stash is full, drop it (discarded_blocks). */
static int stash_block(struct iios_client *c, const Iiostream__BlockHeader *h)
{
	struct stashed *s;
	uint8_t *buf = NULL;
	size_t got;
	int err;

	if (c->stash_len < IIOS_STASH_MAX_BLOCKS &&
	    c->stash_bytes + h->payload_len <= STASH_MAX_BYTES)
		buf = malloc(h->payload_len ? h->payload_len : 1);
	if (!buf) {
		c->counters.discarded_blocks++;
		return skip_payload(c, h->payload_len);
	}
	err = read_exact(c, buf, h->payload_len, &got);
	if (err) {
		free(buf);
		return err;
	}
	s = &c->stash[(c->stash_head + c->stash_len++) % IIOS_STASH_MAX_BLOCKS];
	memset(s, 0, sizeof(*s));
	s->buf = buf;
	s->blk.block_id = h->block_id;
	s->blk.bytes_used = h->bytes_used;
	s->blk.flags = h->flags;
	s->blk.timestamp_ns = h->timestamp_ns;
	s->blk.sequence = h->sequence;
	s->blk.first_sample = h->first_sample;
	s->blk.lost_before = h->lost_before;
	s->blk.lost_samples = h->lost_samples;
	s->blk.dequeue_ns = h->dequeue_ns;
	s->blk.stream_id = h->stream_id;
	s->blk.data = buf;
	s->blk.len = h->payload_len;
	c->stash_bytes += h->payload_len;
	return 0;
}

/* Drop the kept blocks of one stream (all of them: all true). */
static void stash_drop(struct iios_client *c, bool all, uint32_t stream_id)
{
	struct stashed keep[IIOS_STASH_MAX_BLOCKS];
	uint32_t i, n = 0;

	for (i = 0; i < c->stash_len; i++) {
		struct stashed *s = &c->stash[(c->stash_head + i) % IIOS_STASH_MAX_BLOCKS];

		if (all || s->blk.stream_id == stream_id) {
			c->stash_bytes -= s->blk.len;
			c->counters.discarded_blocks++;
			free(s->buf);
		} else {
			keep[n++] = *s;
		}
	}
	memcpy(c->stash, keep, n * sizeof(keep[0]));
	c->stash_head = 0;
	c->stash_len = n;
}

/*
 * Read one frame head. For a BlockHeader the payload is read too, into the
 * block buffer or the stash (`to`); its stream must be one we subscribed
 * to, and it at most that stream's block_size.
 * Returns 0 with *env set, or a negative errno.
 */
int iios__read_frame(struct iios_client *c, Iiostream__Envelope **env, enum iios__payload_to to)
{
	Iiostream__Envelope *e;
	size_t got;
	uint32_t len;
	long used;
	int err;

	*env = NULL;
	err = read_exact(c, c->head, IIOS_FRAME_PREFIX, &got);
	if (err == -ETIMEDOUT && got == 0) {
		c->tls_err[0] = '\0';
		return fail(c, err, "no data from the server in %d ms", c->timeout_ms);
	}
	if (err == -ECONNRESET && got == 0)
		return broken(c, err, "connection closed by the server");
	if (err)
		return broken(c, err, "receive");
	len = (uint32_t)c->head[0] << 24 | (uint32_t)c->head[1] << 16 |
	      (uint32_t)c->head[2] << 8 | c->head[3];
	/* Bound the length before reading what it claims. */
	if (len == 0 || len > IIOS_FRAME_MAX_ENVELOPE)
		return broken(c, -EMSGSIZE, "frame length out of bounds");
	err = read_exact(c, c->head + IIOS_FRAME_PREFIX, len, &got);
	if (err)
		return broken(c, err, "receive");
	used = iios_frame_parse(c->head, IIOS_FRAME_PREFIX + len, IIOS_FRAME_MAX_ENVELOPE, &e);
	if (used <= 0) /* (never partial: the whole frame head is here) */
		return broken(c, used == -EMSGSIZE ? -EMSGSIZE : -EBADMSG, "bad frame from the server");
	if (e->msg_case == IIOSTREAM__ENVELOPE__MSG_BLOCK) {
		const Iiostream__BlockHeader *h = e->block;
		const struct iios_stream_info *si = sub_of(c, h->stream_id);

		if (!si) {
			uint32_t id = h->stream_id;

			iios_frame_free(e);
			if (!c->nsubs)
				return broken(c, -EPROTO, "block frame before subscribing");
			c->broken = true;
			return fail(c, -EPROTO, "block of stream %u, which we are not subscribed to",
				    id);
		}
		err = iios_frame_check_block(h, si->block_size);
		if (err) {
			iios_frame_free(e);
			return broken(c, err, "block payload larger than the stream allows");
		}
		if (to == IIOS__PAYLOAD_STASH)
			err = stash_block(c, h);
		else
			err = read_exact(c, c->payload, h->payload_len, &got);
		if (err) {
			iios_frame_free(e);
			return broken(c, err, "receive payload");
		}
	}
	*env = e;
	return 0;
}

int iios__server_said(struct iios_client *c, const Iiostream__Envelope *e)
{
	if (e->msg_case == IIOSTREAM__ENVELOPE__MSG_BYE) {
		c->broken = true;
		return fail(c, -ESHUTDOWN, "server closed the stream: %s", e->bye->reason);
	}
	/* An Error: the server closes after a fatal one; reading on tells.
	 * Anything but an errno (1..4095) is a broken server: EPROTO. */
	if (e->error->errnum <= 0 || e->error->errnum >= 4096)
		return fail(c, -EPROTO, "server: %s", e->error->message);
	return fail(c, -e->error->errnum, "server: %s", e->error->message);
}

int iios__await(struct iios_client *c, Iiostream__Envelope__MsgCase want,
		Iiostream__Envelope **reply)
{
	int err;

	*reply = NULL;
	for (;;) {
		Iiostream__Envelope *e;

		err = iios__read_frame(c, &e, IIOS__PAYLOAD_STASH);
		if (err)
			return err;
		if (e->msg_case == want) {
			*reply = e;
			return 0;
		}
		if (e->msg_case == IIOSTREAM__ENVELOPE__MSG_ERROR ||
		    e->msg_case == IIOSTREAM__ENVELOPE__MSG_BYE) {
			err = iios__server_said(c, e);
			iios_frame_free(e);
			return err ? err : -EPROTO; /* (never 0: no reply to hand back) */
		}
		if (e->msg_case == IIOSTREAM__ENVELOPE__MSG_BLOCK || iios__tx_absorb(c, e)) {
			iios_frame_free(e); /* (a block's payload is stashed or counted) */
			continue;
		}
		iios_frame_free(e);
		return broken(c, -EPROTO, "unexpected reply");
	}
}

int iios__request(struct iios_client *c, const Iiostream__Envelope *req,
		  Iiostream__Envelope__MsgCase want, Iiostream__Envelope **reply)
{
	int err;

	*reply = NULL;
	if (c->broken)
		return fail(c, -ENOTCONN, "connection is broken: %s", c->errmsg);
	err = iios__send_msg(c, req);
	if (err)
		return err;
	return iios__await(c, want, reply);
}

static void set_timeouts(int fd, int timeout_ms)
{
	struct timeval tv = { 0, 0 };

	if (timeout_ms > 0) {
		tv.tv_sec = timeout_ms / 1000;
		tv.tv_usec = (timeout_ms % 1000) * 1000;
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

/* connect() bounded by the timeout: non-blocking connect, then poll. */
static int connect_timed(int fd, const struct sockaddr *sa, socklen_t len, int timeout_ms)
{
	int flags = fcntl(fd, F_GETFL);
	struct pollfd pfd = { .fd = fd, .events = POLLOUT };
	int soerr = 0, r;
	socklen_t sl = sizeof(soerr);

	fcntl(fd, F_SETFL, flags | O_NONBLOCK);
	r = connect(fd, sa, len);
	if (r < 0 && errno != EINPROGRESS)
		return -errno;
	if (r < 0) {
		do
			r = poll(&pfd, 1, timeout_ms > 0 ? timeout_ms : -1);
		while (r < 0 && errno == EINTR);
		if (r == 0)
			return -ETIMEDOUT;
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0)
			return -errno;
		if (soerr)
			return -soerr;
	}
	fcntl(fd, F_SETFL, flags);
	return 0;
}

static int open_socket(struct iios_client *c, const struct iios__url *u)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV };
	struct addrinfo *ai, *a;
	int err = -EHOSTUNREACH, one = 1, r;

	r = getaddrinfo(u->host, u->port, &hints, &ai);
	if (r)
		return fail(c, -EHOSTUNREACH, "%s: %s", u->host, gai_strerror(r));
	for (a = ai; a; a = a->ai_next) {
		int fd = socket(a->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);

		if (fd < 0) {
			err = -errno;
			continue;
		}
		/* Before connect(), so the window is negotiated with it. */
		if (c->rcvbuf > 0)
			setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &c->rcvbuf, sizeof(c->rcvbuf));
		err = connect_timed(fd, a->ai_addr, a->ai_addrlen, c->timeout_ms);
		if (err == 0) {
			setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
			set_timeouts(fd, c->timeout_ms);
			c->fd = fd;
			break;
		}
		close(fd);
	}
	freeaddrinfo(ai);
	if (err)
		return fail(c, err, "connect to %s:%s: %s", u->host, u->port, strerror(-err));
	return 0;
}

void iios__copy_str(char *dst, size_t cap, const char *src)
{
	size_t n = src ? strnlen(src, cap - 1) : 0;

	if (n)
		memcpy(dst, src, n);
	dst[n] = '\0';
}

/* HelloReply's streams (version 2), or the one a version-1 server has. */
static void fill_streams(struct iios_server_info *si, const Iiostream__HelloReply *r)
{
	size_t i;

	for (i = 0; i < r->n_streams && i < IIOS_MAX_STREAMS; i++) {
		const Iiostream__StreamInfo *m = r->streams[i];
		struct iios_stream_desc *o = &si->streams[i];

		o->stream_id = m->stream_id;
		iios__copy_str(o->device, sizeof(o->device), m->device);
		iios__copy_str(o->id, sizeof(o->id), m->id);
		iios__copy_str(o->source, sizeof(o->source), m->source);
		o->sample_rate = m->sample_rate;
		o->channels = m->channels;
		o->block_size = m->block_size;
		o->block_count = m->block_count;
		o->output = m->output;
	}
	si->n_streams = (uint32_t)i;
	if (si->n_streams == 0) {
		si->n_streams = 1;
		iios__copy_str(si->streams[0].device, sizeof(si->streams[0].device), si->device);
		iios__copy_str(si->streams[0].source, sizeof(si->streams[0].source), si->source);
	}
}

static int handshake(struct iios_client *c, const char *name)
{
	Iiostream__Envelope env = IIOSTREAM__ENVELOPE__INIT, *r;
	Iiostream__Hello hello = IIOSTREAM__HELLO__INIT;
	int err;

	hello.magic = IIOS_PROTOCOL_MAGIC;
	/* an older server (version 1) streams its first device only */
	hello.version_min = IIOS_PROTOCOL_VERSION_MIN;
	hello.version_max = IIOS_PROTOCOL_VERSION;
	hello.client_name = (char *)name;
	env.msg_case = IIOSTREAM__ENVELOPE__MSG_HELLO;
	env.hello = &hello;
	err = iios__request(c, &env, IIOSTREAM__ENVELOPE__MSG_HELLO_REPLY, &r);
	if (err)
		return err;
	c->server.version = r->hello_reply->version;
	iios__copy_str(c->server.server_name, sizeof(c->server.server_name), r->hello_reply->server_name);
	iios__copy_str(c->server.source, sizeof(c->server.source), r->hello_reply->source);
	iios__copy_str(c->server.device, sizeof(c->server.device), r->hello_reply->device);
	fill_streams(&c->server, r->hello_reply);
	iios_frame_free(r);
	if (c->server.version < IIOS_PROTOCOL_VERSION_MIN ||
	    c->server.version > IIOS_PROTOCOL_VERSION)
		return fail(c, -EPROTONOSUPPORT, "server chose protocol version %u (we speak %u..%u)",
			    c->server.version, IIOS_PROTOCOL_VERSION_MIN, IIOS_PROTOCOL_VERSION);
	return 0;
}

/* The socket, and TLS over it for tls://. */
static int connect_transport(struct iios_client *c, const struct iios__url *u,
			     const struct iios_options *opts)
{
	int r;

	/* TLS files first: a bad one is said before anything is sent */
	r = u->tls ? iios__tls_prepare(&c->tls, u, opts, c->errmsg, sizeof(c->errmsg)) : 0;
	c->tls.pin.pairing = c->pairing;
	if (!r)
		r = open_socket(c, u);
	if (!r && u->tls) {
		r = iios__tls_handshake(&c->tls, c->fd, u->host, opts, c->errmsg, sizeof(c->errmsg));
		if (r && !strstr(c->errmsg, u->host)) {
			char why[sizeof(c->errmsg)];

			snprintf(why, sizeof(why), "%s", c->errmsg);
			set_errmsg(c, "%s:%s: %s", u->host, u->port, why);
		}
	}
	return r;
}

/*
 * IIOS_TRUST_NEW_ASK: the handshake refused an unknown server, before
 * anything of ours went out. Ask now, outside any handshake (a person
 * takes longer than the server's handshake timeout); yes: add its line and
 * connect again, where the server must present the certificate accepted.
 */
static int ask_and_retry(struct iios_client *c, const struct iios__url *u,
			 const struct iios_options *opts)
{
	char fp[IIOS_FINGERPRINT_LEN], key[sizeof(c->tls.pin.key)], server[sizeof(key) + 8];
	char file[sizeof(c->tls.pin.file)];
	int r;

	memcpy(fp, c->tls.server_fp, sizeof(fp));
	memcpy(key, c->tls.pin.key, sizeof(key));
	memcpy(file, c->tls.pin.file, sizeof(file));
	iios__tls_end(&c->tls);
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	snprintf(server, sizeof(server), "tls://%s", key);
	if (!opts->trust_ask(opts->trust_ask_arg, server, fp))
		return fail(c, -ENOKEY, "%s: not trusted: its certificate %s was declined", server, fp);
	r = iios__known_add(file, key, fp, c->errmsg, sizeof(c->errmsg));
	if (!r)
		r = connect_transport(c, u, opts);
	if (!r)
		snprintf(c->tls.trust, sizeof(c->tls.trust), "new: added to %s", file);
	return r;
}

int iios_connect(const char *url, const struct iios_options *opts, struct iios_client **out,
		 char *err, size_t errlen)
{
	return iios__connect(url, opts, false, out, err, errlen);
}

int iios__connect(const char *url, const struct iios_options *opts, bool pairing,
		  struct iios_client **out, char *err, size_t errlen)
{
	struct iios_client *c;
	struct iios__url u;
	char scratch[256];
	int r;

	*out = NULL;
	if (!err) {
		err = scratch;
		errlen = sizeof(scratch);
	}
	r = iios__parse_url(url, &u, err, errlen);
	if (r)
		return r;
	c = calloc(1, sizeof(*c));
	if (!c) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	c->fd = -1;
	c->pairing = pairing;
	c->timeout_ms = opts && opts->timeout_ms ? opts->timeout_ms : DEFAULT_TIMEOUT_MS;
	c->rcvbuf = opts ? opts->rcvbuf_bytes : 0;
	r = connect_transport(c, &u, opts);
	if (r == -ENOKEY && opts && opts->trust_new == IIOS_TRUST_NEW_ASK && opts->trust_ask)
		r = ask_and_retry(c, &u, opts);
	if (!r)
		r = handshake(c, opts && opts->client_name ? opts->client_name : "libiiostream");
	if (r) {
		snprintf(err, errlen, "%s", c->errmsg);
		iios_close(c);
		return r;
	}
	*out = c;
	return 0;
}

void iios_close(struct iios_client *c)
{
	if (!c)
		return;
	iios__tls_end(&c->tls);
	if (c->fd >= 0)
		close(c->fd);
	stash_drop(c, true, 0);
	free(c->lent);
	free(c->payload);
	free(c);
}

const struct iios_server_info *iios_server_info(const struct iios_client *c)
{
	return &c->server;
}

const char *iios_errmsg(const struct iios_client *c)
{
	return c->errmsg;
}

const char *iios_tls_info(const struct iios_client *c)
{
	return c->tls.ssl ? c->tls.desc : NULL;
}

const char *iios_server_fingerprint(const struct iios_client *c)
{
	return c->tls.ssl ? c->tls.server_fp : NULL;
}

const char *iios_client_fingerprint(const struct iios_client *c)
{
	return c->tls.ssl ? c->tls.client_fp : NULL;
}

const char *iios_server_trust(const struct iios_client *c)
{
	return c->tls.ssl ? c->tls.trust : NULL;
}

void iios__fill_channel(struct iios_channel *o, const Iiostream__ChannelInfo *ch)
{
	memset(o, 0, sizeof(*o));
	o->index = ch->index;
	iios__copy_str(o->id, sizeof(o->id), ch->id);
	if (ch->format) {
		o->is_signed = ch->format->is_signed;
		o->bits = ch->format->bits;
		o->storage_bits = ch->format->storage_bits;
		o->shift = ch->format->shift;
		o->big_endian = ch->format->big_endian;
		o->repeat = ch->format->repeat;
		o->fully_defined = ch->format->fully_defined;
		o->timestamp = ch->format->timestamp;
	}
}

static void fill_stream_info(struct iios_stream_info *si, const Iiostream__SubscribeReply *r)
{
	size_t i;

	memset(si, 0, sizeof(*si));
	si->block_size = r->block_size;
	si->block_count = r->block_count;
	si->scan_bytes = r->scan_bytes;
	si->max_queue_blocks = r->max_queue_blocks;
	si->sample_rate = r->sample_rate;
	iios__copy_str(si->device, sizeof(si->device), r->device);
	si->stream_id = r->stream_id;
	for (i = 0; i < r->n_channels && i < IIOS_MAX_CHANNELS; i++)
		iios__fill_channel(&si->channels[i], r->channels[i]);
	si->n_channels = (uint32_t)i;
}

int iios_subscribe(struct iios_client *c, uint32_t max_queue_blocks,
		   struct iios_stream_info *info)
{
	return iios_subscribe_device(c, NULL, max_queue_blocks, NULL, 0, info);
}

int iios_subscribe_channels(struct iios_client *c, uint32_t max_queue_blocks,
			    const uint32_t *channels, uint32_t n_channels,
			    struct iios_stream_info *info)
{
	return iios_subscribe_device(c, NULL, max_queue_blocks, channels, n_channels, info);
}

/* Is `device` the id (by_id) or the name of the stream of `si`? */
static bool names_stream(const struct iios_client *c, const struct iios_stream_info *si,
			 const char *device, bool by_id)
{
	uint32_t i;

	if (!by_id)
		return strcmp(si->device, device) == 0;
	for (i = 0; i < c->server.n_streams; i++)
		if (c->server.streams[i].stream_id == si->stream_id)
			return strcmp(c->server.streams[i].id, device) == 0;
	return false;
}

/* The subscription `device` names: by id first, then by name, as the
 * server matches (two devices may share a name); NULL if none. */
static struct iios_stream_info *sub_named(struct iios_client *c, const char *device)
{
	int by_id;
	uint32_t i;

	for (by_id = 1; by_id >= 0; by_id--)
		for (i = 0; i < IIOS_MAX_STREAMS; i++)
			if (c->sub_used[i] && names_stream(c, &c->subs[i], device, by_id))
				return &c->subs[i];
	return NULL;
}

/* A version-1 server streams its first device only, to one subscription
 * per connection: say so before asking. */
static int v1_subscribe_check(struct iios_client *c, const char *device)
{
	if (device[0] && strcmp(device, c->server.device) != 0)
		return fail(c, -EOPNOTSUPP,
			    "the server (protocol version 1, an older iiostreamd) streams only "
			    "its first device, %s: it cannot stream '%s'",
			    c->server.device, device);
	if (c->nsubs)
		return fail(c, -EALREADY, "already subscribed");
	return 0;
}

/* Take a SubscribeReply as a subscription: its slot, the block buffer. */
static int add_sub(struct iios_client *c, const Iiostream__SubscribeReply *r,
		   struct iios_stream_info *info)
{
	struct iios_stream_info *si = NULL;
	uint32_t i;

	if (r->block_size == 0 || r->block_size > IIOS_FRAME_MAX_PAYLOAD || r->scan_bytes == 0)
		return broken(c, -EPROTO, "server announced an impossible stream");
	if (sub_of(c, r->stream_id))
		return broken(c, -EPROTO, "server subscribed us twice to one stream");
	for (i = 0; i < IIOS_MAX_STREAMS && !si; i++)
		if (!c->sub_used[i])
			si = &c->subs[i];
	if (!si)
		return broken(c, -EPROTO, "server accepted more subscriptions than we keep");
	if (c->payload_cap < r->block_size) {
		uint8_t *p = malloc(r->block_size);

		if (!p)
			return broken(c, -ENOMEM, "block buffer");
		free(c->payload);
		c->payload = p;
		c->payload_cap = r->block_size;
	}
	fill_stream_info(si, r);
	c->sub_used[si - c->subs] = true;
	c->nsubs++;
	if (info)
		*info = *si;
	return 0;
}

int iios_subscribe_device(struct iios_client *c, const char *device, uint32_t max_queue_blocks,
			  const uint32_t *channels, uint32_t n_channels,
			  struct iios_stream_info *info)
{
	Iiostream__Envelope env = IIOSTREAM__ENVELOPE__INIT, *r;
	Iiostream__Subscribe sub = IIOSTREAM__SUBSCRIBE__INIT;
	int err;

	if (!device)
		device = "";
	if (c->broken)
		return fail(c, -ENOTCONN, "connection is broken: %s", c->errmsg);
	if (n_channels > IIOS_MAX_CHANNELS || (n_channels && !channels))
		return fail(c, -EINVAL, "at most %u channels", IIOS_MAX_CHANNELS);
	if (c->server.version < 2) {
		err = v1_subscribe_check(c, device);
		if (err)
			return err;
		device = ""; /* (its first device, which it knows no name of) */
	}
	if (c->nsubs == IIOS_MAX_STREAMS)
		return fail(c, -ENOSPC, "%u subscriptions on one connection already",
			    IIOS_MAX_STREAMS);
	sub.max_queue_blocks = max_queue_blocks;
	sub.n_channels = n_channels;
	sub.channels = (uint32_t *)channels;
	sub.device = (char *)device;
	env.msg_case = IIOSTREAM__ENVELOPE__MSG_SUBSCRIBE;
	env.subscribe = &sub;
	err = iios__request(c, &env, IIOSTREAM__ENVELOPE__MSG_SUBSCRIBE_REPLY, &r);
	if (err)
		return err;
	err = add_sub(c, r->subscribe_reply, info);
	iios_frame_free(r);
	return err;
}

const struct iios_stream_info *iios_stream(const struct iios_client *c, uint32_t stream_id)
{
	return sub_of((struct iios_client *)c, stream_id);
}

static void count_block(struct iios_client *c, const struct iios_block *blk)
{
	c->counters.blocks++;
	c->counters.bytes += blk->len;
	c->counters.lost_blocks += blk->lost_before;
	c->counters.lost_samples += blk->lost_samples;
	c->counters.overflow_blocks += !!(blk->flags & IIOS_BLOCK_OVERFLOW);
}

/* The oldest block kept during a request, if any: 1, else 0. */
static int next_stashed(struct iios_client *c, struct iios_block *blk)
{
	struct stashed *s;

	if (!c->stash_len)
		return 0;
	s = &c->stash[c->stash_head];
	c->stash_head = (c->stash_head + 1) % IIOS_STASH_MAX_BLOCKS;
	c->stash_len--;
	c->stash_bytes -= s->blk.len;
	*blk = s->blk;
	c->lent = s->buf; /* freed at the next call */
	count_block(c, blk);
	return 1;
}

int iios_next_block(struct iios_client *c, struct iios_block *blk)
{
	free(c->lent);
	c->lent = NULL;
	for (;;) {
		Iiostream__Envelope *e;
		const Iiostream__BlockHeader *h;
		int err;

		if (c->broken)
			return fail(c, -ENOTCONN, "connection is broken: %s", c->errmsg);
		if (!c->nsubs)
			return fail(c, -EINVAL, "not subscribed");
		if (next_stashed(c, blk))
			return 0;
		err = iios__read_frame(c, &e, IIOS__PAYLOAD_BUFFER);
		if (err)
			return err;
		if (e->msg_case == IIOSTREAM__ENVELOPE__MSG_ERROR ||
		    e->msg_case == IIOSTREAM__ENVELOPE__MSG_BYE) {
			err = iios__server_said(c, e);
			iios__tx_end(c); /* (unasked: the server ended it) */
			iios_frame_free(e);
			return err ? err : -EPROTO; /* (never 0: no reply to hand back) */
		}
		if (e->msg_case != IIOSTREAM__ENVELOPE__MSG_BLOCK) {
			/* The transmission's status (taken), or a late reply
			 * to nothing we wait for: not a block. */
			iios__tx_absorb(c, e);
			iios_frame_free(e);
			continue;
		}
		h = e->block;
		memset(blk, 0, sizeof(*blk));
		blk->block_id = h->block_id;
		blk->bytes_used = h->bytes_used;
		blk->flags = h->flags;
		blk->timestamp_ns = h->timestamp_ns;
		blk->sequence = h->sequence;
		blk->first_sample = h->first_sample;
		blk->lost_before = h->lost_before;
		blk->lost_samples = h->lost_samples;
		blk->dequeue_ns = h->dequeue_ns;
		blk->stream_id = h->stream_id;
		blk->data = c->payload;
		blk->len = h->payload_len;
		iios_frame_free(e);
		count_block(c, blk);
		return 0;
	}
}

int iios_unsubscribe(struct iios_client *c)
{
	return iios_unsubscribe_device(c, NULL);
}

/* Forget a subscription (all of them: si NULL) and its kept blocks. */
static void drop_sub(struct iios_client *c, struct iios_stream_info *si)
{
	uint32_t i;

	for (i = 0; i < IIOS_MAX_STREAMS; i++) {
		if (!c->sub_used[i] || (si && si != &c->subs[i]))
			continue;
		stash_drop(c, false, c->subs[i].stream_id);
		c->sub_used[i] = false;
		c->nsubs--;
	}
}

int iios_unsubscribe_device(struct iios_client *c, const char *device)
{
	Iiostream__Envelope env = IIOSTREAM__ENVELOPE__INIT, *r;
	Iiostream__Unsubscribe un = IIOSTREAM__UNSUBSCRIBE__INIT;
	struct iios_stream_info *si = NULL;
	int err;

	if (!device)
		device = "";
	if (!c->nsubs)
		return fail(c, -EINVAL, "not subscribed");
	if (device[0])
		si = sub_named(c, device);
	if (device[0] && !si)
		return fail(c, -EINVAL, "not subscribed to '%s'", device);
	/* version 1 ends the one subscription it has, whatever is named */
	un.device = (char *)(c->server.version < 2 ? "" : device);
	env.msg_case = IIOSTREAM__ENVELOPE__MSG_UNSUBSCRIBE;
	env.unsubscribe = &un;
	err = iios__request(c, &env, IIOSTREAM__ENVELOPE__MSG_UNSUBSCRIBE_REPLY, &r);
	if (err)
		return err;
	if (si && c->server.version >= 2 && r->unsubscribe_reply->stream_id != si->stream_id) {
		iios_frame_free(r);
		return broken(c, -EPROTO, "server ended another subscription than the one asked");
	}
	iios_frame_free(r);
	drop_sub(c, si);
	return 0;
}

int iios_clock_offset(struct iios_client *c, int64_t *offset_ns, uint64_t *rtt_ns)
{
	Iiostream__Envelope env = IIOSTREAM__ENVELOPE__INIT, *r;
	Iiostream__Ping ping = IIOSTREAM__PING__INIT;
	uint64_t t0 = now_ns(), t1, server;
	int err;

	ping.token = t0;
	env.msg_case = IIOSTREAM__ENVELOPE__MSG_PING;
	env.ping = &ping;
	err = iios__request(c, &env, IIOSTREAM__ENVELOPE__MSG_PONG, &r);
	if (err)
		return err;
	if (r->pong->token != t0) {
		iios_frame_free(r);
		return broken(c, -EPROTO, "pong for another ping");
	}
	server = r->pong->server_time_ns;
	iios_frame_free(r);
	t1 = now_ns();
	if (rtt_ns)
		*rtt_ns = t1 - t0;
	if (offset_ns)
		*offset_ns = (int64_t)(server - (t0 + (t1 - t0) / 2));
	return 0;
}

int iios_ping(struct iios_client *c, uint64_t *rtt_ns)
{
	return iios_clock_offset(c, NULL, rtt_ns);
}

static void fill_source(struct iios_source_stats *o, const Iiostream__SourceStats *m)
{
	iios__copy_str(o->name, sizeof(o->name), m->name);
	o->blocks_total = m->blocks_total;
	o->blocks_in_source = m->blocks_in_source;
	o->blocks_held = m->blocks_held;
	o->blocks_produced = m->blocks_produced;
	o->bytes_produced = m->bytes_produced;
	o->overflows = m->overflows;
	o->lost_samples = m->lost_samples;
	o->enabled = m->enabled;
}

static void fill_tx_stats(struct iios_tx_stream_stats *o, const Iiostream__TxStreamStats *m)
{
	o->stream_id = m->stream_id;
	iios__copy_str(o->device, sizeof(o->device), m->device);
	iios__copy_str(o->id, sizeof(o->id), m->id);
	o->transmitting = m->transmitting;
	o->owner = m->owner;
	iios__copy_str(o->owner_peer, sizeof(o->owner_peer), m->owner_peer);
	o->blocks_total = m->blocks_total;
	o->blocks_in_device = m->blocks_in_device;
	o->blocks_received = m->blocks_received;
	o->blocks_played = m->blocks_played;
	o->bytes_played = m->bytes_played;
	o->underflows = m->underflows;
	o->underflow_samples = m->underflow_samples;
	o->cyclic = m->cyclic;
	iios__copy_str(o->on_disconnect, sizeof(o->on_disconnect), m->on_disconnect);
	o->kept = m->kept;
	o->sample_rate = m->sample_rate;
}

int iios_stats(struct iios_client *c, struct iios_stats *st)
{
	Iiostream__Envelope env = IIOSTREAM__ENVELOPE__INIT, *r;
	Iiostream__StatsRequest req = IIOSTREAM__STATS_REQUEST__INIT;
	const Iiostream__Stats *s;
	size_t i, j;
	int err;

	env.msg_case = IIOSTREAM__ENVELOPE__MSG_STATS_REQUEST;
	env.stats_request = &req;
	err = iios__request(c, &env, IIOSTREAM__ENVELOPE__MSG_STATS, &r);
	if (err)
		return err;
	s = r->stats;
	memset(st, 0, sizeof(*st));
	st->uptime_ns = s->uptime_ns;
	st->clients = s->clients;
	st->subscribers = s->subscribers;
	st->blocks_skipped_total = s->blocks_skipped_total;
	st->clients_total = s->clients_total;
	st->protocol_errors = s->protocol_errors;
	iios__copy_str(st->ktls, sizeof(st->ktls), s->ktls);
	st->tls_handshake_failures = s->tls_handshake_failures;
	iios__copy_str(st->tls_fingerprint, sizeof(st->tls_fingerprint), s->tls_fingerprint);
	st->tls_self_made = s->tls_self_made;
	iios__copy_str(st->source_fallback, sizeof(st->source_fallback), s->source_fallback);
	st->requests_refused = s->requests_refused;
	st->iiod_clients = s->iiod_clients;
	st->iiod_command_errors = s->iiod_command_errors;
	st->clients_refused = s->clients_refused;
	st->idle_closed = s->idle_closed;
	if (s->source)
		fill_source(&st->source, s->source);
	for (i = 0; i < s->n_sources && i < IIOS_MAX_STREAMS; i++) {
		const Iiostream__SourceStats *m = s->sources[i];
		struct iios_stream_stats *o = &st->sources[i];

		fill_source(&o->source, m);
		iios__copy_str(o->device, sizeof(o->device), m->device);
		o->stream_id = m->stream_id;
		o->subscribers = m->subscribers;
		o->blocks_skipped = m->blocks_skipped;
		o->sample_rate = m->sample_rate;
	}
	st->n_sources = (uint32_t)i;
	if (!st->n_sources && s->source) { /* a version-1 server: its one source */
		st->n_sources = 1;
		st->sources[0].source = st->source;
		iios__copy_str(st->sources[0].device, sizeof(st->sources[0].device), c->server.device);
		st->sources[0].subscribers = s->subscribers;
		st->sources[0].blocks_skipped = s->blocks_skipped_total;
	}
	for (i = 0; i < s->n_client && i < IIOS_STATS_MAX_CLIENTS; i++) {
		const Iiostream__ClientStats *cs = s->client[i];
		struct iios_client_stats *o = &st->client[i];

		o->id = cs->id;
		iios__copy_str(o->peer, sizeof(o->peer), cs->peer);
		o->subscribed = cs->subscribed;
		o->blocks_sent = cs->blocks_sent;
		o->bytes_sent = cs->bytes_sent;
		o->blocks_skipped = cs->blocks_skipped;
		o->queue_blocks = cs->queue_blocks;
		iios__copy_str(o->transport, sizeof(o->transport), cs->transport);
		iios__copy_str(o->tls, sizeof(o->tls), cs->tls);
		iios__copy_str(o->tls_encrypt, sizeof(o->tls_encrypt), cs->tls_encrypt);
		iios__copy_str(o->identity, sizeof(o->identity), cs->identity);
		for (j = 0; j < cs->n_stream_ids; j++)
			if (cs->stream_ids[j] < 64)
				st->client_streams[i] |= 1ull << cs->stream_ids[j];
		if (!cs->n_stream_ids && cs->subscribed && c->server.version < 2)
			st->client_streams[i] = 1;
		/* (an older server sends no field 13, which decodes as 0) */
		o->tx_stream_id = c->server.version < 3 ? -1 : cs->tx_stream_id;
	}
	st->n_listed = (uint32_t)i;
	for (i = 0; i < s->n_tx && i < IIOS_MAX_STREAMS; i++)
		fill_tx_stats(&st->tx[i], s->tx[i]);
	st->n_tx = (uint32_t)i;
	iios_frame_free(r);
	return 0;
}

void iios_counters(const struct iios_client *c, struct iios_counters *out)
{
	*out = c->counters;
}

/* An attribute request: AttrReply's value into value[len]. */
static int attr_request(struct iios_client *c, const Iiostream__Envelope *req, char *value,
			size_t len)
{
	Iiostream__Envelope *r;
	int err = iios__request(c, req, IIOSTREAM__ENVELOPE__MSG_ATTR_REPLY, &r);

	if (err)
		return err;
	if (value && len)
		iios__copy_str(value, len, r->attr_reply->value);
	iios_frame_free(r);
	return 0;
}

int iios_attr_get(struct iios_client *c, const struct iios_attr_ref *ref, char *value, size_t len)
{
	Iiostream__Envelope env = IIOSTREAM__ENVELOPE__INIT;
	Iiostream__AttrRead a = IIOSTREAM__ATTR_READ__INIT;

	a.device = (char *)(ref->device ? ref->device : "");
	a.channel = (char *)(ref->channel ? ref->channel : "");
	a.output = ref->output;
	a.buffer = ref->buffer;
	a.attr = (char *)ref->attr;
	env.msg_case = IIOSTREAM__ENVELOPE__MSG_ATTR_READ;
	env.attr_read = &a;
	return attr_request(c, &env, value, len);
}

int iios_attr_set(struct iios_client *c, const struct iios_attr_ref *ref, const char *value,
		  char *result, size_t len)
{
	Iiostream__Envelope env = IIOSTREAM__ENVELOPE__INIT;
	Iiostream__AttrWrite a = IIOSTREAM__ATTR_WRITE__INIT;

	a.device = (char *)(ref->device ? ref->device : "");
	a.channel = (char *)(ref->channel ? ref->channel : "");
	a.output = ref->output;
	a.buffer = ref->buffer;
	a.attr = (char *)ref->attr;
	a.value.data = (uint8_t *)value;
	a.value.len = strlen(value);
	env.msg_case = IIOSTREAM__ENVELOPE__MSG_ATTR_WRITE;
	env.attr_write = &a;
	return attr_request(c, &env, result, len);
}

int iios_attr_read(struct iios_client *c, const char *channel, const char *attr, char *value,
		   size_t len)
{
	struct iios_attr_ref ref = { .channel = channel, .attr = attr };

	return iios_attr_get(c, &ref, value, len);
}

int iios_attr_write(struct iios_client *c, const char *channel, const char *attr,
		    const char *value, char *result, size_t len)
{
	struct iios_attr_ref ref = { .channel = channel, .attr = attr };

	return iios_attr_set(c, &ref, value, result, len);
}

/* A protobuf string array as a malloc'd one (NULL-safe strdup each). */
static char **copy_strings(char *const *v, size_t n, uint32_t *count)
{
	char **out = calloc(n ? n : 1, sizeof(*out));
	size_t i;

	*count = 0;
	if (!out)
		return NULL;
	for (i = 0; i < n; i++) {
		out[i] = strdup(v[i] ? v[i] : "");
		if (!out[i])
			break;
		(*count)++;
	}
	return out;
}

static void free_strings(char **v, uint32_t n)
{
	uint32_t i;

	for (i = 0; v && i < n; i++)
		free(v[i]);
	free(v);
}

void iios_devices_free(struct iios_devices *d)
{
	uint32_t i, j;

	if (!d)
		return;
	for (i = 0; i < d->n_devices; i++) {
		struct iios_device_desc *dev = &d->devices[i];

		for (j = 0; j < dev->n_channels; j++)
			free_strings(dev->channels[j].attrs, dev->channels[j].n_attrs);
		free(dev->channels);
		free_strings(dev->attrs, dev->n_attrs);
		free_strings(dev->buffer_attrs, dev->n_buffer_attrs);
	}
	free(d->devices);
	free(d);
}

int iios_devices(struct iios_client *c, struct iios_devices **out)
{
	Iiostream__Envelope env = IIOSTREAM__ENVELOPE__INIT, *r;
	Iiostream__DevicesRequest req = IIOSTREAM__DEVICES_REQUEST__INIT;
	const Iiostream__Devices *m;
	struct iios_devices *d;
	size_t i, j;
	int err;

	*out = NULL;
	env.msg_case = IIOSTREAM__ENVELOPE__MSG_DEVICES_REQUEST;
	env.devices_request = &req;
	err = iios__request(c, &env, IIOSTREAM__ENVELOPE__MSG_DEVICES, &r);
	if (err)
		return err;
	m = r->devices;
	d = calloc(1, sizeof(*d));
	if (d)
		d->devices = calloc(m->n_devices ? m->n_devices : 1, sizeof(*d->devices));
	if (!d || !d->devices) {
		free(d);
		iios_frame_free(r);
		return fail(c, -ENOMEM, "out of memory");
	}
	iios__copy_str(d->context, sizeof(d->context), m->context);
	for (i = 0; i < m->n_devices; i++) {
		const Iiostream__DeviceDesc *md = m->devices[i];
		struct iios_device_desc *dd = &d->devices[d->n_devices++];

		iios__copy_str(dd->id, sizeof(dd->id), md->id);
		iios__copy_str(dd->name, sizeof(dd->name), md->name);
		iios__copy_str(dd->label, sizeof(dd->label), md->label);
		dd->streamed = md->streamed;
		dd->stream_id = md->stream_id;
		dd->attrs = copy_strings(md->attrs, md->n_attrs, &dd->n_attrs);
		dd->buffer_attrs = copy_strings(md->buffer_attrs, md->n_buffer_attrs,
						&dd->n_buffer_attrs);
		dd->channels = calloc(md->n_channels ? md->n_channels : 1, sizeof(*dd->channels));
		for (j = 0; dd->channels && j < md->n_channels; j++) {
			const Iiostream__ChannelDesc *mc = md->channels[j];
			struct iios_channel_desc *cd = &dd->channels[dd->n_channels++];

			iios__copy_str(cd->id, sizeof(cd->id), mc->id);
			iios__copy_str(cd->name, sizeof(cd->name), mc->name);
			iios__copy_str(cd->type, sizeof(cd->type), mc->type);
			cd->output = mc->output;
			cd->scan_element = mc->scan_element;
			cd->index = mc->index;
			if (mc->format) {
				cd->is_signed = mc->format->is_signed;
				cd->bits = mc->format->bits;
				cd->storage_bits = mc->format->storage_bits;
				cd->shift = mc->format->shift;
				cd->big_endian = mc->format->big_endian;
				cd->repeat = mc->format->repeat;
				cd->fully_defined = mc->format->fully_defined;
				cd->timestamp = mc->format->timestamp;
			}
			cd->attrs = copy_strings(mc->attrs, mc->n_attrs, &cd->n_attrs);
		}
	}
	iios_frame_free(r);
	*out = d;
	return 0;
}

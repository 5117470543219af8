// SPDX-License-Identifier: MIT
/* A minimal blocking WebSocket client for tests and benchmarks: see
 * ws_client.h. */
#include "ws_client.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static const char GUID[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000ll + ts.tv_nsec / 1000000;
}

/* Read more into c->in, waiting until the deadline. */
static int fill(struct ws_client *c, long long deadline)
{
	struct pollfd p = { .fd = c->fd, .events = POLLIN };
	ssize_t n;
	long long left = deadline - now_ms();

	if (c->have == sizeof(c->in))
		return -EMSGSIZE;
	if (left <= 0 || poll(&p, 1, (int)left) == 0)
		return -ETIMEDOUT;
	n = recv(c->fd, c->in + c->have, sizeof(c->in) - c->have, 0);
	if (n == 0)
		return -ECONNRESET;
	if (n < 0)
		return -errno;
	c->have += (size_t)n;
	return 0;
}

static void consume(struct ws_client *c, size_t n)
{
	memmove(c->in, c->in + n, c->have - n);
	c->have -= n;
}

static int send_all(int fd, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	while (len) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);

		if (n < 0)
			return -errno;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static void accept_of(const char *key, char out[32])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen;
	char cat[128];

	snprintf(cat, sizeof(cat), "%s%s", key, GUID);
	EVP_Digest(cat, strlen(cat), md, &mdlen, EVP_sha1(), NULL);
	EVP_EncodeBlock((unsigned char *)out, md, (int)mdlen);
}

/* The response head's status and, for 101, its Sec-WebSocket-Accept. */
static int check_head(const char *head, const char *key)
{
	char want[32];
	const char *h;
	int status;

	if (sscanf(head, "HTTP/1.1 %d", &status) != 1)
		return -EPROTO;
	if (status != 101)
		return status;
	accept_of(key, want);
	for (h = strstr(head, "\r\n"); h && h[2] != '\r'; h = strstr(h + 2, "\r\n"))
		if (strncasecmp(h + 2, "Sec-WebSocket-Accept: ", 22) == 0 &&
		    strncmp(h + 24, want, strlen(want)) == 0)
			return 101;
	return -EPROTO;
}

/* A response head's Content-Length, or -1. */
static long content_length(const char *head)
{
	const char *h;

	for (h = strstr(head, "\r\n"); h; h = strstr(h + 2, "\r\n"))
		if (strncasecmp(h + 2, "Content-Length:", 15) == 0)
			return strtol(h + 17, NULL, 10);
	return -1;
}

int ws_client_open(struct ws_client *c, uint16_t port, const char *target, int rcvbuf,
		   char *body, size_t bodylen, int timeout_ms)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port) };
	long long deadline = now_ms() + timeout_ms;
	unsigned char nonce[16];
	char key[32], req[1024], *end;
	int status, err;
	long clen;

	c->have = 0;
	c->msg = malloc(WS_CLIENT_MAX);
	c->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (!c->msg || c->fd < 0)
		return -ENOMEM;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (rcvbuf > 0 && setsockopt(c->fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf)))
		return -errno;
	if (connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)))
		return -errno;
	RAND_bytes(nonce, sizeof(nonce));
	EVP_EncodeBlock((unsigned char *)key, nonce, sizeof(nonce));
	snprintf(req, sizeof(req),
		 "GET %s HTTP/1.1\r\nHost: 127.0.0.1:%u\r\nUpgrade: websocket\r\n"
		 "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n"
		 "Origin: http://127.0.0.1:%u\r\n\r\n",
		 target, port, key, port);
	err = send_all(c->fd, req, strlen(req));
	if (err)
		return err;
	for (;;) { /* the head; a refusal's body follows it until the close */
		c->in[c->have < sizeof(c->in) ? c->have : sizeof(c->in) - 1] = '\0';
		end = strstr((char *)c->in, "\r\n\r\n");
		if (end)
			break;
		err = fill(c, deadline);
		if (err)
			return err;
	}
	*end = '\0';
	status = check_head((char *)c->in, key);
	clen = content_length((char *)c->in);
	consume(c, (size_t)(end + 4 - (char *)c->in));
	if (status == 101 || status < 0)
		return status;
	/* the body: Content-Length bytes, or until the server closes */
	while ((clen < 0 || c->have < (size_t)clen) && fill(c, deadline) == 0)
		;
	if (bodylen) {
		size_t n = c->have < bodylen - 1 ? c->have : bodylen - 1;

		memcpy(body, c->in, n);
		body[n] = '\0';
	}
	return status;
}

/* Send one frame, masked. */
static int send_frame(struct ws_client *c, int opcode, const void *data, size_t len)
{
	uint8_t head[14], mask[4], *out;
	size_t h = 0, i;
	int err;

	head[h++] = (uint8_t)(0x80 | opcode);
	if (len < 126) {
		head[h++] = (uint8_t)(0x80 | len);
	} else {
		head[h++] = 0x80 | 126;
		head[h++] = (uint8_t)(len >> 8);
		head[h++] = (uint8_t)len;
	}
	RAND_bytes(mask, sizeof(mask));
	memcpy(head + h, mask, 4);
	h += 4;
	out = malloc(h + len);
	if (!out)
		return -ENOMEM;
	memcpy(out, head, h);
	for (i = 0; i < len; i++)
		out[h + i] = ((const uint8_t *)data)[i] ^ mask[i % 4];
	err = send_all(c->fd, out, h + len);
	free(out);
	return err;
}

int ws_client_send_text(struct ws_client *c, const char *text)
{
	size_t len = strlen(text);

	return len > 65535 ? -EMSGSIZE : send_frame(c, WS_TEXT, text, len);
}

int ws_client_read(struct ws_client *c, int timeout_ms, const uint8_t **data, size_t *len)
{
	long long deadline = now_ms() + timeout_ms;
	size_t msg_len = 0;
	int msg_op = 0;

	for (;;) {
		uint64_t plen;
		size_t h = 2;
		int op, fin, err;

		while (c->have < 2 || c->have < (h = 2 + ((c->in[1] & 0x7f) == 126 ? 2 :
							 (c->in[1] & 0x7f) == 127 ? 8 : 0))) {
			err = fill(c, deadline);
			if (err)
				return err;
		}
		if (c->in[1] & 0x80)
			return -EPROTO; /* a server never masks */
		plen = c->in[1] & 0x7f;
		if (plen == 126)
			plen = (uint64_t)c->in[2] << 8 | c->in[3];
		else if (plen == 127)
			for (plen = 0, err = 0; err < 8; err++)
				plen = plen << 8 | c->in[2 + err];
		if (plen > sizeof(c->in) - h || msg_len + plen > WS_CLIENT_MAX)
			return -EMSGSIZE;
		while (c->have < h + plen) {
			err = fill(c, deadline);
			if (err)
				return err;
		}
		op = c->in[0] & 0x0f;
		fin = c->in[0] & 0x80;
		if (op == 0x9) { /* ping: pong with its payload */
			send_frame(c, 0xa, c->in + h, (size_t)plen);
			consume(c, h + (size_t)plen);
			continue;
		}
		if (op == 0xa) {
			consume(c, h + (size_t)plen);
			continue;
		}
		if (op != 0)
			msg_op = op;
		memcpy(c->msg + msg_len, c->in + h, (size_t)plen);
		msg_len += (size_t)plen;
		consume(c, h + (size_t)plen);
		if (fin || op == WS_CLOSE) {
			*data = c->msg;
			*len = msg_len;
			return msg_op;
		}
	}
}

void ws_client_close(struct ws_client *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	free(c->msg);
	c->msg = NULL;
}

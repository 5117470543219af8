// SPDX-License-Identifier: MIT
/*
 * libFuzzer target: the client library's TLS 1.3 record opener
 * (client/lib/tls.c), which parses and decrypts what the server sends
 * after the handshake, straight into the caller's buffer.
 *
 * The input is a suite byte, then chunks: a flags byte, a 16-bit length
 * and that many bytes. A chunk is sent either sealed with the connection's
 * key as the inner plaintext of one record (content, type, padding: so the
 * fuzzer reaches what follows authentication: empty records, alerts,
 * handshake messages, records split across reads) or raw (headers,
 * lengths and tags of its own). The server end then closes.
 *
 * Besides the sanitizers' checks: when every chunk is sealed, what the
 * opener returns must be exactly the application data sealed, in order,
 * and it must end as the records say (close_notify or the end of the
 * stream: 0; an alert, another type, a record without one, a handshake
 * message other than a whole NewSessionTicket or a KeyUpdate ending its
 * record: an error with a message). After a KeyUpdate both sides move to
 * the next traffic secret.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/obj_mac.h>

#include "client_internal.h"
#include "iiostream/tls13.h"

#define RAW 0x01      /* chunk flag: send the bytes as they are */
#define SMALL_READ 0x02 /* chunk flag: the reader takes at most 7 bytes per call meanwhile */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint8_t secret[32] = "iiostream fuzz traffic secret..";

struct expect {
	uint8_t *data; /* application data sealed before the first stop */
	size_t len;
	bool stopped;  /* a record ended the stream: alert, other type, no type */
	int end;       /* 0 (close_notify, end of stream) or 1 (an error) */
};

/*
 * Post-handshake messages (a handshake record's content): the opener goes
 * on past whole NewSessionTickets and a well-formed KeyUpdate that ends the
 * record (*key_update then says its keys moved on); anything else is an
 * error. Returns true if the opener goes on.
 */
static bool expect_handshake(const uint8_t *m, size_t len, bool *key_update)
{
	while (len) {
		size_t body;

		if (len < 4)
			return false;
		body = (size_t)m[1] << 16 | (size_t)m[2] << 8 | m[3];
		if (body > len - 4)
			return false;
		if (m[0] == IIOS_TLS13_KEY_UPDATE) {
			if (body != 1 || m[4] > 1 || len != 5)
				return false;
			*key_update = true;
		} else if (m[0] != IIOS_TLS13_NEW_SESSION_TICKET) {
			return false;
		}
		m += 4 + body;
		len -= 4 + body;
	}
	return true;
}

/* What the opener must make of one sealed inner plaintext; *key_update:
 * the opener moved to the next traffic secret after it. */
static void expect_record(struct expect *e, const uint8_t *inner, size_t n, bool *key_update)
{
	size_t k = n;

	*key_update = false;
	if (e->stopped)
		return;
	while (k && inner[k - 1] == 0)
		k--;
	if (k == 0) {
		e->stopped = true, e->end = 1;
	} else if (inner[k - 1] == IIOS_TLS13_APPLICATION_DATA) {
		memcpy(e->data + e->len, inner, k - 1);
		e->len += k - 1;
	} else if (inner[k - 1] == IIOS_TLS13_HANDSHAKE) {
		if (!expect_handshake(inner, k - 1, key_update))
			e->stopped = true, e->end = 1;
	} else if (inner[k - 1] == IIOS_TLS13_ALERT && k >= 3 && inner[1] == 0) {
		e->stopped = true, e->end = 0; /* close_notify */
	} else {
		e->stopped = true, e->end = 1;
	}
}

/* One record: header, inner plaintext sealed, tag. Its length, or 0. */
static size_t seal(struct iios_tls13_keys *k, const uint8_t *inner, size_t n, uint8_t *out)
{
	size_t clen = n + IIOS_TLS13_TAG;
	uint8_t nonce[12];
	int outl;

	out[0] = IIOS_TLS13_APPLICATION_DATA;
	out[1] = 0x03, out[2] = 0x03;
	out[3] = (uint8_t)(clen >> 8), out[4] = (uint8_t)clen;
	iios_tls13_nonce(k, nonce);
	if (EVP_EncryptInit_ex(k->aead, NULL, NULL, NULL, nonce) != 1 ||
	    EVP_EncryptUpdate(k->aead, NULL, &outl, out, IIOS_TLS13_HEADER) != 1 ||
	    (n && EVP_EncryptUpdate(k->aead, out + IIOS_TLS13_HEADER, &outl, inner, (int)n) != 1) ||
	    EVP_EncryptFinal_ex(k->aead, out + IIOS_TLS13_HEADER + n, &outl) != 1 ||
	    EVP_CIPHER_CTX_ctrl(k->aead, EVP_CTRL_AEAD_GET_TAG, IIOS_TLS13_TAG,
				out + IIOS_TLS13_HEADER + n) != 1)
		return 0;
	k->seq++;
	return IIOS_TLS13_HEADER + clen;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const int nids[] = { NID_aes_128_gcm, NID_aes_256_gcm, NID_chacha20_poly1305 };
	const EVP_MD *md;
	struct iios_tls13_keys sealer;
	uint8_t next[sizeof(secret)];  /* the sealer's traffic secret */
	struct iios__tls t;
	struct expect e = { 0 };
	uint8_t *wire, *got;
	size_t wlen = 0, glen = 0, pos = 1;
	bool all_sealed = true, small = false;
	int sv[2], nid;
	char err[256];
	ssize_t r;

	if (size < 1)
		return 0;
	nid = nids[data[0] % 3];
	md = nid == NID_aes_256_gcm ? EVP_sha384() : EVP_sha256();
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0)
		return 0;
	/* a chunk of n bytes and 3 of framing becomes at most n + 21 */
	wire = malloc(size * 8 + 64);
	e.data = malloc(size + 1);
	got = malloc(size + 1);
	memset(&t, 0, sizeof(t));
	t.fd = sv[0];
	memcpy(t.secret, secret, sizeof(secret));
	t.secret_len = sizeof(secret);
	memcpy(next, secret, sizeof(secret));
	if (!wire || !e.data || !got || iios__tls_open_records(&t, nid, md) != 0 ||
	    iios_tls13_keys_init(&sealer, nid, md, secret, sizeof(secret), 1) != 0)
		abort();

	while (pos + 3 <= size) {
		uint8_t flags = data[pos];
		size_t n = (size_t)data[pos + 1] << 8 | data[pos + 2];

		pos += 3;
		if (n > size - pos)
			n = size - pos;
		small |= (flags & SMALL_READ) != 0;
		if (flags & RAW) {
			all_sealed = false;
			memcpy(wire + wlen, data + pos, n);
			wlen += n;
		} else if (n + 1 <= IIOS_TLS13_MAX_CIPHERTEXT - IIOS_TLS13_TAG) {
			size_t w = seal(&sealer, data + pos, n, wire + wlen);
			bool key_update;

			if (!w)
				abort();
			wlen += w;
			expect_record(&e, data + pos, n, &key_update);
			if (key_update) { /* both sides move to the next secret */
				iios_tls13_keys_free(&sealer);
				if (iios_tls13_next_secret(md, next, sizeof(next)) != 0 ||
				    iios_tls13_keys_init(&sealer, nid, md, next, sizeof(next), 1) != 0)
					abort();
			}
		}
		pos += n;
	}
	/* the whole stream fits the socket's buffer (inputs are 4 KiB) */
	if (write(sv[1], wire, wlen) != (ssize_t)wlen)
		abort();
	shutdown(sv[1], SHUT_WR);

	do {
		size_t want = small ? 7 : size + 1 - glen;

		if (want > size + 1 - glen)
			want = size + 1 - glen;
		if (want == 0)
			abort(); /* more data than was ever sealed */
		err[0] = '\0';
		r = iios__tls_recv(&t, got + glen, want, err, sizeof(err));
		if (r > 0)
			glen += (size_t)r;
	} while (r > 0);
	if (r < 0 && err[0] == '\0')
		abort(); /* an error must say what */
	if (all_sealed) {
		if (glen != e.len || memcmp(got, e.data, glen) != 0)
			abort(); /* not the data that was sealed */
		if ((r < 0) != (e.stopped && e.end == 1))
			abort(); /* ended otherwise than the records said */
	}

	iios__tls_end(&t);
	iios_tls13_keys_free(&sealer);
	close(sv[0]);
	close(sv[1]);
	free(wire);
	free(e.data);
	free(got);
	return 0;
}

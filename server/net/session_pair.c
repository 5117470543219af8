// SPDX-License-Identifier: MIT
/*
 * Pairing on a connection: a client proves it holds a one-time code the
 * board's admin made, and its certificate joins the paired clients
 * (server/tls/pairing.h; docs/security.md, "Pairing").
 *
 * Only over TLS with a client certificate: the proof is bound to this TLS
 * connection (its exporter value) and to both certificates, and what is
 * paired is the certificate's fingerprint. A wrong code ends the
 * connection, so each guess costs a handshake; the store throttles them.
 */
#include "session_internal.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <openssl/ssl.h>

#include "clock.h"
#include "log.h"
#include "server.h"

/* This connection's exporter value and the board's fingerprint. */
static int connection_binding(struct session *s, uint8_t exporter[IIOS_PAIR_EXPORTER_LEN],
			      char server_fp[IIOS_FINGERPRINT_LEN])
{
	static const char label[] = IIOS_PAIR_EXPORTER_LABEL;

	if (SSL_export_keying_material(s->ssl, exporter, IIOS_PAIR_EXPORTER_LEN, label,
				       sizeof(label) - 1, NULL, 0, 0) != 1)
		return -EIO;
	return iios_fingerprint(SSL_get_certificate(s->ssl), server_fp);
}

void session_pair_handle(struct session *s, const Iiostream__PairRequest *req)
{
	struct server *srv = s->srv;
	Iiostream__Envelope env = IIOSTREAM__ENVELOPE__INIT;
	Iiostream__PairReply reply = IIOSTREAM__PAIR_REPLY__INIT;
	uint8_t exporter[IIOS_PAIR_EXPORTER_LEN], answer[IIOS_PAIR_PROOF_LEN];
	char server_fp[IIOS_FINGERPRINT_LEN], client_fp[IIOS_FINGERPRINT_LEN], why[300];
	enum pairing_result r;

	if (!s->ssl) {
		session_send_error(s, EPERM, false, "pairing is done over TLS only (tls://): "
				   "this is the plain port");
		return;
	}
	if (!s->ident.has_cert) {
		session_send_error(s, EPERM, false, "pairing needs a client certificate: "
				   "iiostream makes one (iiostream identity)");
		return;
	}
	if (!srv->pairing_on) {
		session_send_error(s, ENOTSUP, false, "pairing is off on this daemon");
		return;
	}
	if (req->proof.len != IIOS_PAIR_PROOF_LEN) {
		session_send_error(s, EINVAL, true, "a pairing proof is %d bytes, not %zu",
				   IIOS_PAIR_PROOF_LEN, req->proof.len);
		return;
	}
	snprintf(client_fp, sizeof(client_fp), "sha256:%s", s->ident.sha256);
	if (connection_binding(s, exporter, server_fp) < 0) {
		session_send_error(s, EIO, false, "pairing: no TLS exporter on this connection");
		return;
	}
	r = pairing_try(&srv->pairing, monotonic_ns(), req->proof.data, exporter, client_fp,
			server_fp, req->label ? req->label : "", answer, why, sizeof(why));
	switch (r) {
	case PAIRING_PAIRED:
		log_info("client %u (%s): %s", s->id, s->peer, why);
		reply.proof.data = answer;
		reply.proof.len = sizeof(answer);
		reply.client_fingerprint = client_fp;
		env.msg_case = IIOSTREAM__ENVELOPE__MSG_PAIR_REPLY;
		env.pair_reply = &reply;
		session_queue_msg(s, &env);
		break;
	case PAIRING_REFUSED:
	case PAIRING_THROTTLED:
		/* each guess costs a connection */
		srv->requests_refused++;
		log_warn("client %u (%s, %s): pairing refused: %s", s->id, s->peer, client_fp, why);
		session_send_error(s, r == PAIRING_REFUSED ? EACCES : EAGAIN, true, "%s", why);
		break;
	case PAIRING_FAILED:
		log_error("client %u (%s): pairing failed: %s", s->id, s->peer, why);
		session_send_error(s, EIO, false, "pairing failed on the board: %s", why);
		break;
	}
}

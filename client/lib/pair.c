// SPDX-License-Identifier: MIT
/*
 * Pairing, the client's side (docs/security.md, "Pairing"): prove to a
 * board that we hold the one-time code its admin made, check that the
 * board proves it too, then remember the board. See iiostream.h.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/ssl.h>

#include "client_internal.h"
#include "iiostream/pair.h"

/* Our proof and what the board's must be, on this connection. */
static int proofs(struct iios_client *c, const uint8_t key[IIOS_PAIR_KEY_LEN],
		  uint8_t mine[IIOS_PAIR_PROOF_LEN], uint8_t theirs[IIOS_PAIR_PROOF_LEN])
{
	static const char label[] = IIOS_PAIR_EXPORTER_LABEL;
	uint8_t exporter[IIOS_PAIR_EXPORTER_LEN];
	int r;

	if (SSL_export_keying_material(c->tls.ssl, exporter, sizeof(exporter), label,
				       sizeof(label) - 1, NULL, 0, 0) != 1)
		return -EIO;
	r = iios_pair_proof(key, IIOS_PAIR_CLIENT, exporter, c->tls.client_fp, c->tls.server_fp, mine);
	if (!r)
		r = iios_pair_proof(key, IIOS_PAIR_SERVER, exporter, c->tls.client_fp,
				    c->tls.server_fp, theirs);
	return r;
}

/* Send the PairRequest, check the PairReply. */
static int exchange(struct iios_client *c, const uint8_t key[IIOS_PAIR_KEY_LEN],
		    const char *label, char *err, size_t errlen)
{
	Iiostream__Envelope env = IIOSTREAM__ENVELOPE__INIT, *reply;
	Iiostream__PairRequest req = IIOSTREAM__PAIR_REQUEST__INIT;
	uint8_t mine[IIOS_PAIR_PROOF_LEN], theirs[IIOS_PAIR_PROOF_LEN];
	int r;

	if (!c->tls.client_fp[0]) {
		snprintf(err, errlen, "the server did not ask for our certificate: it pairs no "
			 "one (an iiostreamd without pairing, or with --client-ca)");
		return -EPERM;
	}
	if (proofs(c, key, mine, theirs) < 0) {
		snprintf(err, errlen, "no TLS exporter on this connection");
		return -EIO;
	}
	req.proof.data = mine;
	req.proof.len = sizeof(mine);
	req.label = (char *)label;
	env.msg_case = IIOSTREAM__ENVELOPE__MSG_PAIR_REQUEST;
	env.pair_request = &req;
	r = iios__request(c, &env, IIOSTREAM__ENVELOPE__MSG_PAIR_REPLY, &reply);
	if (r) {
		snprintf(err, errlen, "%s", c->errmsg);
		return r;
	}
	if (reply->pair_reply->proof.len != sizeof(theirs) ||
	    CRYPTO_memcmp(reply->pair_reply->proof.data, theirs, sizeof(theirs)) != 0) {
		snprintf(err, errlen, "the server did not prove the code: it is not the board "
			 "that made it (or someone is in between); nothing was remembered");
		r = -EKEYREJECTED;
	} else if (!reply->pair_reply->client_fingerprint ||
		   strcmp(reply->pair_reply->client_fingerprint, c->tls.client_fp) != 0) {
		snprintf(err, errlen, "the board recorded another certificate than ours (%s)",
			 reply->pair_reply->client_fingerprint ? reply->pair_reply->client_fingerprint
								: "none");
		r = -EPROTO;
	}
	iios_frame_free(reply);
	return r;
}

int iios_pair(const char *url, const struct iios_options *opts, const char *code,
	      const char *label, struct iios_pairing *out, char *err, size_t errlen)
{
	struct iios_options o = { 0 };
	struct iios_client_identity *id = NULL;
	struct iios_client *c = NULL;
	uint8_t key[IIOS_PAIR_KEY_LEN];
	char scratch[256], *id_dir = NULL;
	int r;

	if (!err) {
		err = scratch;
		errlen = sizeof(scratch);
	}
	memset(out, 0, sizeof(*out));
	if (opts)
		o = *opts;
	if (strncmp(url, "tls://", 6) != 0) {
		snprintf(err, errlen, "%s: pairing is done over TLS only (tls://HOST)", url);
		return -EINVAL;
	}
	if (iios_pair_key(code, key) < 0) {
		snprintf(err, errlen, "'%s' is not a pairing code (12 letters and digits, as "
			 "iiostreamd --pair shows them: XXXX-XXXX-XXXX)", code);
		return -EINVAL;
	}
	if (o.no_identity) {
		snprintf(err, errlen, "pairing admits our identity: it cannot go without one");
		return -EINVAL;
	}
	/* our identity: the one paired (with a CA too, unless a cert is named) */
	id = calloc(1, sizeof(*id));
	if (!id) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	if (!o.cert_file) {
		r = iios_client_identity(o.identity_dir, id, err, errlen);
		if (r)
			goto out;
		id_dir = id->dir;
		o.identity_dir = id_dir;
		out->identity_created = id->created;
		if (!label || !label[0])
			label = id->common_name;
	}
	r = iios__connect(url, &o, true, &c, err, errlen);
	if (r)
		goto out;
	r = exchange(c, key, label ? label : "", err, errlen);
	if (r)
		goto out;
	memcpy(out->server_fingerprint, c->tls.server_fp, sizeof(out->server_fingerprint));
	memcpy(out->client_fingerprint, c->tls.client_fp, sizeof(out->client_fingerprint));
	/* the board proved the code: now it is known (an unknown one) */
	if (c->tls.pin.provisional) {
		r = iios__known_add(c->tls.pin.file, c->tls.pin.key, c->tls.server_fp, err, errlen);
		if (r)
			goto out;
		out->server_added = true;
	}
	if (c->tls.pin.on)
		snprintf(out->known_servers_file, sizeof(out->known_servers_file), "%s",
			 c->tls.pin.file);
out:
	OPENSSL_cleanse(key, sizeof(key));
	iios_close(c);
	free(id);
	return r;
}

// SPDX-License-Identifier: MIT
/*
 * ktls: the kernel took the TLS send keys after the handshake
 * (tls_kernel_sends) and encrypts while it copies from the block. The
 * frames leave by the copy path; MSG_ZEROCOPY is never set (a TLS socket
 * refuses it), so nothing is pinned.
 */
#include "tx_internal.h"

static int ktls_send(struct tx *t)
{
	return tx__sendmsg(t, false);
}

const struct tx_ops tx_ktls_ops = {
	.name = "ktls",
	.send = ktls_send,
};

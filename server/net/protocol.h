/* SPDX-License-Identifier: MIT */
/* The control plane: what the daemon does with each message a client sends. */
#ifndef IIOSTREAMD_PROTOCOL_H
#define IIOSTREAMD_PROTOCOL_H

#include "iiostream.pb-c.h"

struct session;

/* Act on one message from the client. The Envelope stays the caller's. */
void protocol_handle(struct session *s, const Iiostream__Envelope *env);

#endif /* IIOSTREAMD_PROTOCOL_H */

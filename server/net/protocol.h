/* SPDX-License-Identifier: MIT */
/* The control plane: what the daemon does with each message a client sends. */
#ifndef IIOSTREAMD_PROTOCOL_H
#define IIOSTREAMD_PROTOCOL_H

#include <stdbool.h>

#include "iiostream.pb-c.h"

struct session;
struct access_list;

/* Act on one message from the client. The Envelope stays the caller's. */
void protocol_handle(struct session *s, const Iiostream__Envelope *env);

/* May this client do `what` (an authorisation list, named by its flag)?
 * A refusal is counted, logged and answered with Error EACCES; the
 * connection stays. */
bool protocol_allowed(struct session *s, const struct access_list *list, const char *what,
		      const char *flag);

#endif /* IIOSTREAMD_PROTOCOL_H */

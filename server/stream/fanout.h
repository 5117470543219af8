/* SPDX-License-Identifier: MIT */
/*
 * Fan-out: every block the source fills goes to every subscribed client.
 *
 * Each client that takes the block holds a reference on it; a client whose
 * queue is full skips it (counted, and reported to it as lost_before in its
 * next header). Nobody waits for a slow client: when the blocks left in the
 * source fall below a reserve, the oldest unsent blocks of the clients
 * holding the most are dropped (counted the same way), so the source always
 * has blocks to fill and fast clients lose nothing.
 */
#ifndef IIOSTREAMD_FANOUT_H
#define IIOSTREAMD_FANOUT_H

struct server;

/* Dequeue every ready block from the source and hand it out. */
void fanout_drain_source(struct server *srv);

#endif /* IIOSTREAMD_FANOUT_H */

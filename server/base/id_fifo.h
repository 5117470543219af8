/* SPDX-License-Identifier: MIT */
/* A FIFO of block ids, for the queues of the userspace sources. */
#ifndef IIOSTREAMD_ID_FIFO_H
#define IIOSTREAMD_ID_FIFO_H

#include <stdint.h>

#define ID_FIFO_MAX 256  /* the most blocks a userspace source holds */

struct id_fifo {
	uint32_t ids[ID_FIFO_MAX];
	uint32_t head, count;
};

static inline void id_fifo_push(struct id_fifo *f, uint32_t id)
{
	f->ids[(f->head + f->count) % ID_FIFO_MAX] = id;
	f->count++;
}

static inline void id_fifo_push_front(struct id_fifo *f, uint32_t id)
{
	f->head = (f->head + ID_FIFO_MAX - 1) % ID_FIFO_MAX;
	f->ids[f->head] = id;
	f->count++;
}

/* The caller checks count > 0. */
static inline uint32_t id_fifo_pop(struct id_fifo *f)
{
	uint32_t id = f->ids[f->head];

	f->head = (f->head + 1) % ID_FIFO_MAX;
	f->count--;
	return id;
}

#endif /* IIOSTREAMD_ID_FIFO_H */

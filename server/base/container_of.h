/* SPDX-License-Identifier: MIT */
/*
 * container_of(): from a pointer to a struct's member back to the struct,
 * as the kernel and libuv do. It is how an ops table's callback, given the
 * embedded `struct subscriber` or `struct frontend`, finds its owner.
 */
#ifndef IIOSTREAMD_CONTAINER_OF_H
#define IIOSTREAMD_CONTAINER_OF_H

#include <stddef.h>

#define container_of(ptr, type, member) \
	((type *)((const char *)(ptr) - offsetof(type, member)))

#endif /* IIOSTREAMD_CONTAINER_OF_H */

/* SPDX-License-Identifier: MIT */
/*
 * compliance.h - the little framework of iio_block_compliance
 *
 * Like v4l2-compliance: every check prints one line, a failed check says
 * what it expected and what it got (with errno), and the program ends with
 * "N passed, N failed" and exit status 0 only when nothing failed.
 */
#ifndef IIOS_COMPLIANCE_H
#define IIOS_COMPLIANCE_H

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

extern unsigned int cpl_passed, cpl_failed;

#define CHECK(cond, ...)                                                                  \
	do {                                                                              \
		if (cond) {                                                               \
			cpl_passed++;                                                     \
			printf("  ok    %s:%d %s\n", __func__, __LINE__, #cond);          \
		} else {                                                                  \
			cpl_failed++;                                                     \
			printf("  FAIL  %s:%d %s: ", __func__, __LINE__, #cond);          \
			printf(__VA_ARGS__);                                              \
			printf("\n");                                                     \
		}                                                                         \
	} while (0)

/* A system call expected to fail with one errno. */
#define CHECK_ERRNO(expr, want)                                                           \
	do {                                                                              \
		errno = 0;                                                                \
		long r_ = (long)(expr);                                                   \
		int e_ = errno;                                                           \
		if (r_ == -1 && e_ == (want)) {                                           \
			cpl_passed++;                                                     \
			printf("  ok    %s:%d %s -> %s\n", __func__, __LINE__, #expr,     \
			       #want);                                                    \
		} else {                                                                  \
			cpl_failed++;                                                     \
			printf("  FAIL  %s:%d %s: want -1/%s, got %ld/%s\n", __func__,    \
			       __LINE__, #expr, #want, r_, r_ == -1 ? strerror(e_) : "-"); \
		}                                                                         \
	} while (0)

/* A system call expected to succeed (returns >= 0). */
#define CHECK_OK(expr)                                                                    \
	do {                                                                              \
		errno = 0;                                                                \
		long r_ = (long)(expr);                                                   \
		if (r_ >= 0) {                                                            \
			cpl_passed++;                                                     \
			printf("  ok    %s:%d %s\n", __func__, __LINE__, #expr);          \
		} else {                                                                  \
			cpl_failed++;                                                     \
			printf("  FAIL  %s:%d %s: %s\n", __func__, __LINE__, #expr,       \
			       strerror(errno));                                          \
		}                                                                         \
	} while (0)

#endif

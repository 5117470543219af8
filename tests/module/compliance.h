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
#include <fcntl.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

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

/* ---- helpers both programs use ---- */

static inline uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static inline void sleep_ms(unsigned int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

/* A sysfs file's text into buf[len], its newline cut: 0 or -1. */
static inline int sysfs_read_path(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -1;
	buf[n] = 0;
	if (n && buf[n - 1] == '\n')
		buf[n - 1] = 0;
	return 0;
}

/* The same, of dir/name. */
static inline int sysfs_read(const char *dir, const char *name, char *buf, size_t len)
{
	char path[1024]; /* a dir (up to 512) and a name */

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return sysfs_read_path(path, buf, len);
}

/* dir/name as a number, UINT64_MAX if it cannot be read. */
static inline uint64_t sysfs_u64(const char *dir, const char *name)
{
	char buf[64];

	if (sysfs_read(dir, name, buf, sizeof(buf)))
		return UINT64_MAX;
	return strtoull(buf, NULL, 0);
}

/* Write val to dir/name: 0, or the errno of the failed write. */
static inline int sysfs_write(const char *dir, const char *name, const char *val)
{
	char path[1024]; /* a dir (up to 512) and a name */
	int fd, err = 0;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_WRONLY);
	if (fd < 0)
		return errno;
	if (write(fd, val, strlen(val)) < 0)
		err = errno;
	close(fd);
	return err;
}

/* Write the decimal v to dir/name: 0, or the errno of the failed write. */
static inline int set_u64(const char *dir, const char *name, uint64_t v)
{
	char s[32];

	snprintf(s, sizeof(s), "%" PRIu64, v);
	return sysfs_write(dir, name, s);
}

#endif

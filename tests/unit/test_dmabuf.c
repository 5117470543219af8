// SPDX-License-Identifier: MIT
/*
 * The dmabuf source's pure parts, which need no IIO and no /dev/udmabuf:
 * its --source spec (dmabuf:DEVICE,buffer=N) and the sealed memfd its
 * blocks are made of. The source itself is tested in the 6.12 guest
 * (tests/module/guest-dmabuf-stream.sh).
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "dmabuf_mem.h"
#include "iio_sysfs.h"
#include "source_spec.h"

Test(dmabuf_spec, names_a_device_and_optionally_its_buffer)
{
	struct source_spec spec;
	char err[256];

	cr_assert_eq(source_spec_parse("dmabuf:iio:device3,buffer=1,blocks=8", &spec, err,
				       sizeof(err)), 0, "%s", err);
	cr_assert_eq(spec.ops, &source_dmabuf_ops);
	cr_assert_str_eq(spec.arg, "iio:device3", "the IIO id keeps its colon");
	cr_assert(spec.buffer_set);
	cr_assert_eq(spec.buffer, 1);
	cr_assert_eq(spec.blocks, 8);
	cr_assert_eq(source_spec_parse("dmabuf:iiostream-sim", &spec, err, sizeof(err)), 0, "%s",
		     err);
	cr_assert_str_eq(spec.arg, "iiostream-sim");
	cr_assert_not(spec.buffer_set, "the first buffer taking DMA-BUFs, found at open");
	cr_assert_eq(source_spec_parse("dmabuf:iio:device0,buffer=0", &spec, err, sizeof(err)), 0);
	cr_assert(spec.buffer_set && spec.buffer == 0, "buffer 0 can be named");
}

Test(dmabuf_spec, refuses_what_it_cannot_open)
{
	static const char *const bad[][2] = {
		{ "dmabuf", "say which device" },
		{ "dmabuf:buffer=1", "say which device" },
		{ "dmabuf:adc,buffer=64", "0..63" },
		{ "dmabuf:adc,buffer=x", "0..63" },
		{ "readfd:adc,buffer=1", "only a dmabuf device" },
		{ "kernel:adc,buffer=1", "only a dmabuf device" },
		{ "auto:buffer=1", "auto takes the keys" },
		{ "dmabuf:adc,name=x", "sim only" },
	};
	struct source_spec spec;
	char err[256];
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cr_assert_eq(source_spec_parse(bad[i][0], &spec, err, sizeof(err)), -EINVAL, "%s",
			     bad[i][0]);
		cr_assert_not_null(strstr(err, bad[i][1]), "%s: '%s'", bad[i][0], err);
	}
}

Test(dmabuf_mem, a_block_memfd_is_sealed_against_shrinking_as_udmabuf_wants)
{
	long page = sysconf(_SC_PAGESIZE);
	int fd = dmabuf_memfd_create("test-dmabuf", (size_t)page * 2), seals;
	void *p;

	cr_assert_geq(fd, 0, "%s", strerror(-fd));
	seals = fcntl(fd, F_GET_SEALS);
	cr_assert(seals & F_SEAL_SHRINK);
	cr_assert_not(seals & F_SEAL_WRITE, "udmabuf refuses a write-sealed memfd");
	cr_assert_eq(lseek(fd, 0, SEEK_END), page * 2);
	cr_assert_eq(ftruncate(fd, page), -1, "shrinking is refused");
	cr_assert_eq(errno, EPERM);
	cr_assert_eq(fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE), -1, "and the seals are final");
	/* the daemon's view of a block: shared, written through */
	p = mmap(NULL, (size_t)page * 2, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	cr_assert_neq(p, MAP_FAILED);
	memset(p, 0x5a, (size_t)page * 2);
	cr_assert_eq(munmap(p, (size_t)page * 2), 0);
	cr_assert_eq(close(fd), 0);
}

Test(dmabuf_mem, without_an_allocator_nothing_is_allocated_or_leaked)
{
	struct dmabuf_mem m;

	cr_assert_eq(dmabuf_mem_alloc(&m, -1, -1, "test", 4096, PROT_READ), -ENODEV);
	cr_assert_eq(m.dmabuf_fd, -1);
	cr_assert_eq(m.mem_fd, -1);
	cr_assert_null(m.addr);
	cr_assert_eq(dmabuf_mem_alloc(&m, -1, -1, "test", 0, PROT_READ), -EINVAL);
}

Test(dmabuf_mem, a_udmabuf_block_is_its_memfds_pages)
{
	int u = open(DMABUF_UDMABUF_PATH, O_RDWR | O_CLOEXEC);
	struct dmabuf_mem m;
	int err;

	if (u < 0) {
		cr_log_info("no %s on this host: skipped (the 6.12 guest runs it)",
			    DMABUF_UDMABUF_PATH);
		return;
	}
	err = dmabuf_mem_alloc(&m, u, -1, "test", 5000, PROT_READ | PROT_WRITE);
	close(u);
	cr_assert_eq(err, 0, "%s", strerror(-err));
	cr_assert_eq(m.kind, DMABUF_MEM_UDMABUF);
	cr_assert_eq(m.len % (size_t)sysconf(_SC_PAGESIZE), 0);
	memset(m.addr, 0xa5, m.len);
	cr_assert_eq(dmabuf_mem_sync(&m, true, true), 0);
	cr_assert_eq(dmabuf_mem_sync(&m, false, true), 0);
	dmabuf_mem_free(&m);
	cr_assert_eq(m.dmabuf_fd, -1);
}

/* bufferN/ of a device with several buffers holds its scan elements itself
 * (no scan_elements/): what the dmabuf source reads. */
static void put(const char *dir, const char *name, const char *text)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	cr_assert_not_null(f, "%s", path);
	fputs(text, f);
	fclose(f);
}

Test(dmabuf_sysfs, a_buffers_own_scan_elements_and_their_enables)
{
	char dir[] = "/tmp/iiostream-buffer1-XXXXXX", cmd[64], buf[8];
	struct iios_scan_type t[64];
	uint32_t n = 0;
	int ts = 0;

	cr_assert_not_null(mkdtemp(dir));
	put(dir, "in_voltage0_type", "le:s16/16>>0\n");
	put(dir, "in_voltage1_type", "le:s16/16>>0\n");
	put(dir, "in_timestamp_type", "le:s64/64>>0\n");
	put(dir, "in_timestamp_index", "2\n");
	put(dir, "in_voltage0_en", "0\n");
	put(dir, "in_voltage1_en", "0\n");
	put(dir, "in_timestamp_en", "0\n");
	cr_assert_eq(iio_sysfs_elements_in(dir, false, t, &n, &ts), 0);
	cr_assert_eq(n, 2);
	cr_assert_eq(ts, 2, "the timestamp after the voltages");
	cr_assert_eq(t[0].storage_bits, 16);
	cr_assert_eq(t[2].storage_bits, 64);
	cr_assert_eq(iio_sysfs_enable_elements_in(dir, false, n, 0x5, ts), 0);
	cr_assert_eq(iio_sysfs_read(dir, "in_voltage0_en", buf, sizeof(buf)), 0);
	cr_assert_str_eq(buf, "1");
	cr_assert_eq(iio_sysfs_read(dir, "in_voltage1_en", buf, sizeof(buf)), 0);
	cr_assert_str_eq(buf, "0");
	cr_assert_eq(iio_sysfs_read(dir, "in_timestamp_en", buf, sizeof(buf)), 0);
	cr_assert_str_eq(buf, "1");
	/* a DAC's buffer: out_ elements, never a timestamp */
	put(dir, "out_voltage0_type", "le:s16/16>>0\n");
	cr_assert_eq(iio_sysfs_elements_in(dir, true, t, &n, &ts), 0);
	cr_assert_eq(n, 1);
	cr_assert_eq(ts, -1);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	cr_assert_eq(system(cmd), 0);
}

// SPDX-License-Identifier: MIT
/*
 * A random-sequence fuzzer of the kernel module's block interface, run in
 * the qemu guest (tests/module/guest-module.sh) under the debug checks of
 * Debian's kernel (SLUB red zones and poisoning, page poisoning, list
 * debugging): the five ioctls with random ids, sizes, flags and pointers,
 * mmap/munmap with random offsets, lengths and protections, writes into
 * mappings, sysfs enable/channel_mask/sampling_frequency, unknown ioctls,
 * close with mappings alive, and fork: children that share the open file
 * and race the parent's calls. Several processes run it at once (the node
 * is exclusive: the others contend on open).
 *
 * It checks nothing itself but that no call hangs (each process is killed
 * at the deadline if it does) and it exits 0; the kernel's log is checked
 * for WARNING/BUG/Oops by run-guest.sh, and guest-module.sh checks that
 * the module's blocks_live count is back to 0 afterwards.
 *
 *   iio_block_fuzz [--dev PATH] [--seconds N] [--procs N] [--seed N]
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <iiostream/iio_block.h>

#define MAX_MAPS 64
#define MAX_PROCS 64

static const char *dev = "/dev/iio_block0";
static const char *blk_sysfs = "/sys/class/iio_block/iio_block0";
static const char *iio_sysfs = "/sys/bus/iio/devices/iio:device0";
static uint64_t rng;
static unsigned long calls;

static uint64_t next(void)
{
	/* xorshift64*: reproducible from --seed */
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return rng * 0x2545f4914f6cdd1dull;
}

static uint32_t pick(uint32_t n)
{
	return n ? (uint32_t)(next() % n) : 0;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static const struct itimerval dequeue_timeout = { { 0, 50000 }, { 0, 50000 } };
static const struct itimerval no_timer;

static void on_alarm(int sig)
{
	(void)sig; /* interrupts a blocking DEQUEUE */
}

/* An ioctl that may block (DEQUEUE) gets about 50 ms: the timer repeats,
 * as a single alarm that fires before the ioctl sleeps (a guest
 * descheduled that long under TCG) would leave it asleep. */
static void timed_ioctl(int fd, unsigned long cmd, void *arg)
{
	setitimer(ITIMER_REAL, &dequeue_timeout, NULL);
	ioctl(fd, cmd, arg);
	setitimer(ITIMER_REAL, &no_timer, NULL);
}

static void sysfs_write(const char *dir, const char *name, const char *val)
{
	char path[256];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_WRONLY);
	if (fd >= 0) {
		if (write(fd, val, strlen(val)) < 0)
			(void)0; /* refusals are the point */
		close(fd);
	}
}

/* A size: sometimes sensible, sometimes not. */
static uint32_t random_size(void)
{
	switch (pick(6)) {
	case 0: return 0;
	case 1: return pick(100000);
	case 2: return 4096u << pick(9);
	case 3: return (uint32_t)next();
	case 4: return 65536;
	default: return 12u * (1 + pick(4096));
	}
}

static uint32_t random_id(void)
{
	return pick(4) ? pick(40) : (uint32_t)next();
}

/* A pointer argument: valid, NULL, or one into nothing. */
static void *random_ptr(void *valid)
{
	switch (pick(10)) {
	case 0: return NULL;
	case 1: return (void *)16;
	case 2: return (void *)(uintptr_t)-4096;
	default: return valid;
	}
}

struct maps {
	void *addr[MAX_MAPS];
	size_t len[MAX_MAPS];
	bool readable[MAX_MAPS];
	int n;
};

static void unmap_one(struct maps *m, int i)
{
	munmap(m->addr[i], m->len[i]);
	m->addr[i] = m->addr[--m->n];
	m->len[i] = m->len[m->n];
	m->readable[i] = m->readable[m->n];
}

static void step(int *fd, struct maps *m)
{
	struct iio_buffer_block_alloc_req req;
	struct iio_buffer_block b;
	char val[32];

	calls++;
	if (*fd < 0) {
		*fd = open(dev, O_RDWR | (pick(2) ? O_NONBLOCK : 0));
		return;
	}
	switch (pick(18)) {
	case 0:
	case 1:
		memset(&req, 0, sizeof(req));
		req.type = pick(8) ? IIO_BUFFER_BLOCK_TYPE_MMAP : (uint32_t)next();
		req.size = random_size();
		req.count = pick(5) ? 1 + pick(8) : (uint32_t)next();
		ioctl(*fd, IIO_BUFFER_BLOCK_ALLOC_IOCTL, random_ptr(&req));
		break;
	case 2:
		ioctl(*fd, IIO_BUFFER_BLOCK_FREE_IOCTL, 0);
		break;
	case 3:
	case 4:
		memset(&b, 0, sizeof(b));
		b.id = random_id();
		if (ioctl(*fd, IIO_BUFFER_BLOCK_QUERY_IOCTL, random_ptr(&b)) == 0 &&
		    m->n < MAX_MAPS && pick(2)) {
			/* map what QUERY said, sometimes wrongly */
			size_t len = pick(4) ? b.size : random_size();
			off_t off = pick(4) ? (off_t)b.data.offset : (off_t)pick(1u << 20) * 4096;
			int prot = pick(4) ? PROT_READ | PROT_WRITE : (int)pick(8);
			void *p = mmap(NULL, len, prot, pick(6) ? MAP_SHARED : MAP_PRIVATE, *fd, off);

			if (p != MAP_FAILED) {
				m->addr[m->n] = p;
				m->readable[m->n] = prot & PROT_READ;
				m->len[m->n++] = len;
			}
		}
		break;
	case 5:
	case 6:
	case 7:
		memset(&b, 0, sizeof(b));
		b.id = random_id();
		b.flags = pick(5) ? 0 : (uint32_t)next();
		b.bytes_used = pick(3) ? 0 : (uint32_t)next();
		ioctl(*fd, IIO_BUFFER_BLOCK_ENQUEUE_IOCTL, random_ptr(&b));
		break;
	case 8:
	case 9:
		timed_ioctl(*fd, IIO_BUFFER_BLOCK_DEQUEUE_IOCTL, random_ptr(&b));
		break;
	case 10:
		sysfs_write(blk_sysfs, "enable", pick(2) ? "1" : "0");
		break;
	case 11:
		snprintf(val, sizeof(val), "0x%x", pick(8));
		sysfs_write(blk_sysfs, "channel_mask", val);
		break;
	case 12:
		snprintf(val, sizeof(val), "%u", pick(3) ? 1000 + pick(4000000) : (uint32_t)next());
		sysfs_write(iio_sysfs, "sampling_frequency", val);
		break;
	case 13:
		/* touch a mapping (a block the device may be filling) */
		if (m->n) {
			int i = (int)pick((uint32_t)m->n);
			volatile uint8_t *p = m->addr[i];

			/* within the block: a mapping longer than the file's pages
			 * would SIGBUS past them, which is no kernel bug */
			if (m->readable[i] && m->len[i] && pick(2))
				(void)p[pick((uint32_t)(m->len[i] < 4096 ? m->len[i] : 4096))];
		}
		if (m->n && pick(2))
			unmap_one(m, (int)pick((uint32_t)m->n));
		break;
	case 14:
		/* an ioctl nobody defined, in and out of the driver's range; one
		 * in 512 is the driver's own DEQUEUE, which may block */
		timed_ioctl(*fd, _IOWR(pick(2) ? 'i' : (int)pick(256), pick(256),
				       struct iio_buffer_block), random_ptr(&b));
		break;
	case 15:
		/* close with mappings alive; reopen on the next step */
		if (!pick(4)) {
			close(*fd);
			*fd = -1;
		}
		break;
	case 16:
		/* a child shares the open file and races us */
		if (!pick(8)) {
			pid_t pid = fork();

			if (pid == 0) {
				int k;

				for (k = 0; k < 50; k++)
					step(fd, m);
				/* its own children first: an orphan would outlive
				 * the run, holding the device and its blocks */
				while (wait(NULL) > 0)
					;
				_exit(0);
			}
		}
		while (waitpid(-1, NULL, WNOHANG) > 0)
			;
		break;
	default:
		ioctl(*fd, pick(2) ? FIONREAD : IIO_BUFFER_BLOCK_FREE_IOCTL, random_ptr(&b));
		break;
	}
}

static int fuzz_process(double seconds, uint64_t seed)
{
	struct sigaction sa = { .sa_handler = on_alarm }; /* no SA_RESTART */
	struct maps m = { .n = 0 };
	double end = now() + seconds;
	int fd = -1;

	sigaction(SIGALRM, &sa, NULL);
	rng = seed ? seed : 1;
	while (now() < end)
		step(&fd, &m);
	while (m.n)
		unmap_one(&m, 0);
	if (fd >= 0) {
		sysfs_write(blk_sysfs, "enable", "0");
		close(fd);
	}
	while (wait(NULL) > 0)
		;
	printf("iio_block_fuzz: process %d: %lu steps\n", getpid(), calls);
	return 0;
}

/* Where each worker that has not ended waits: its wchan and its kernel
 * stack (the guest runs as root), so a hang says where it is. */
static void report_hung(const pid_t *kids, int n)
{
	char path[64], buf[4096];
	int i;

	for (i = 0; i < n; i++) {
		ssize_t len;
		int fd;

		if (kill(kids[i], 0) != 0)
			continue;
		printf("iio_block_fuzz: process %d still runs; its kernel stack:\n", kids[i]);
		snprintf(path, sizeof(path), "/proc/%d/stack", kids[i]);
		fd = open(path, O_RDONLY);
		len = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;
		if (fd >= 0)
			close(fd);
		buf[len > 0 ? len : 0] = '\0';
		fputs(len > 0 ? buf : "  (unreadable)\n", stdout);
	}
}

int main(int argc, char **argv)
{
	double seconds = 20, deadline;
	int procs = 4, i, failed = 0;
	pid_t kids[MAX_PROCS];
	uint64_t seed = (uint64_t)time(NULL);

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--dev") && i + 1 < argc)
			dev = argv[++i];
		else if (!strcmp(argv[i], "--seconds") && i + 1 < argc)
			seconds = atof(argv[++i]);
		else if (!strcmp(argv[i], "--procs") && i + 1 < argc)
			procs = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--seed") && i + 1 < argc)
			seed = strtoull(argv[++i], NULL, 0);
		else {
			fprintf(stderr, "usage: iio_block_fuzz [--dev PATH] [--seconds N] [--procs N] "
				"[--seed N]\n");
			return 2;
		}
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (procs < 1 || procs > MAX_PROCS) {
		fprintf(stderr, "iio_block_fuzz: --procs: 1 to %d\n", MAX_PROCS);
		return 2;
	}
	printf("iio_block_fuzz: %d processes, %.0f s, seed %llu\n", procs, seconds,
	       (unsigned long long)seed);
	deadline = now() + seconds + 30;
	/* the workers and whatever they fork form a process group of their
	 * own, which a hang can kill without killing whoever ran us */
	for (i = 0; i < procs; i++) {
		pid_t pid = fork();

		if (pid == 0) {
			setpgid(0, i ? kids[0] : 0);
			_exit(fuzz_process(seconds, seed + (uint64_t)i * 7919));
		}
		if (pid < 0) {
			perror("iio_block_fuzz: fork");
			procs = i;
			failed = 1;
			break;
		}
		/* also here, so that the group exists before the next child joins */
		setpgid(pid, i ? kids[0] : pid);
		kids[i] = pid;
	}
	/* each process ends by itself; one that hangs is reported and killed
	 * 30 s after the end */
	for (i = 0; i < procs; i++) {
		int status;
		pid_t pid;

		while ((pid = waitpid(-kids[0], &status, WNOHANG)) == 0 && now() < deadline)
			usleep(100000);
		if (pid <= 0) {
			printf("iio_block_fuzz: a process hangs %.0f s after the end\n", seconds + 30);
			report_hung(kids, procs);
			kill(-kids[0], SIGKILL);
			while (waitpid(-kids[0], NULL, 0) > 0)
				;
			return 1;
		}
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
			printf("iio_block_fuzz: process %d ended with status %d\n", pid, status);
			failed = 1;
		}
	}
	return failed;
}

// SPDX-License-Identifier: MIT
/* Pairing: the codes and the paired clients of a board. See pairing.h. */
#include "pairing.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include <iiostream/identity.h>

#include "board_identity.h"

int pairing_dir(const char *dir, char *out, size_t len, char *err, size_t errlen)
{
	char identity[PATH_MAX];
	char *slash;
	int ret;

	if (dir && dir[0]) {
		if (snprintf(out, len, "%s", dir) >= (int)len)
			return -ENAMETOOLONG;
		return 0;
	}
	/* beside the board's default identity: STATE/identity -> STATE/pairing */
	ret = board_identity_dir("", identity, sizeof(identity), err, errlen);
	if (ret < 0)
		return ret;
	slash = strrchr(identity, '/');
	if (slash)
		*slash = '\0';
	if (snprintf(out, len, "%s/pairing", identity) >= (int)len)
		return -ENAMETOOLONG;
	return 0;
}

static int path_in(const char *dir, const char *name, char *out, size_t len)
{
	return snprintf(out, len, "%s/%s", dir, name) >= (int)len ? -ENAMETOOLONG : 0;
}

/*
 * The admin runs `iiostreamd --pair` as root, but the daemon runs as its own
 * user (systemd's DynamicUser) and must read and rewrite what root made:
 * as root, give the pairing directory and a new file to the user who owns
 * the state directory above it.
 */
static void give_to_daemon_user(const char *dir, int fd)
{
	char parent[PATH_MAX];
	struct stat st;
	char *slash;

	if (geteuid() != 0 || snprintf(parent, sizeof(parent), "%s", dir) >= (int)sizeof(parent))
		return;
	slash = strrchr(parent, '/');
	if (!slash || slash == parent)
		return;
	*slash = '\0';
	if (stat(parent, &st) < 0 || st.st_uid == 0)
		return;
	if (chown(dir, st.st_uid, st.st_gid) < 0 || (fd >= 0 && fchown(fd, st.st_uid, st.st_gid) < 0))
		return; /* the daemon will say it cannot read the file */
}

/* An exclusive lock on DIR/lock, held while codes or clients change; -errno. */
static int lock_dir(const char *dir)
{
	char path[PATH_MAX];
	int fd;

	if (path_in(dir, "lock", path, sizeof(path)) < 0)
		return -ENAMETOOLONG;
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	give_to_daemon_user(dir, fd);
	if (flock(fd, LOCK_EX) < 0) {
		int e = -errno;

		close(fd);
		return e;
	}
	return fd;
}

static void unlock_dir(int fd)
{
	if (fd >= 0)
		close(fd); /* drops the flock */
}

/* ---- paired clients ------------------------------------------------------ */

static int load_clients(const char *dir, struct paired_client **out, unsigned *n_out,
			char *err, size_t errlen)
{
	char path[PATH_MAX], line[512];
	struct paired_client *list = NULL;
	unsigned n = 0, lineno = 0;
	FILE *f;

	if (path_in(dir, "clients", path, sizeof(path)) < 0)
		return -ENAMETOOLONG;
	f = fopen(path, "r");
	if (!f) {
		if (errno != ENOENT) {
			int e = -errno;

			snprintf(err, errlen, "%s: %s", path, strerror(errno));
			return e;
		}
		*out = NULL;
		*n_out = 0;
		return 0;
	}
	while (fgets(line, sizeof(line), f)) {
		char fp[IIOS_FINGERPRINT_LEN], *s = line, *end, *label;
		struct paired_client *grown;

		lineno++;
		line[strcspn(line, "\r\n")] = '\0';
		while (*s == ' ' || *s == '\t')
			s++;
		if (*s == '\0' || *s == '#')
			continue;
		end = s + strcspn(s, " \t");
		label = *end ? end + 1 : end;
		*end = '\0';
		if (iios_fingerprint_parse(s, fp) < 0) {
			snprintf(err, errlen, "%s:%u: '%s' is not a sha256: fingerprint", path,
				 lineno, s);
			free(list);
			fclose(f);
			return -EINVAL;
		}
		grown = realloc(list, (n + 1) * sizeof(*list));
		if (!grown) {
			free(list);
			fclose(f);
			return -ENOMEM;
		}
		list = grown;
		memcpy(list[n].sha256, fp + 7, 65);
		while (*label == ' ' || *label == '\t')
			label++;
		snprintf(list[n].label, sizeof(list[n].label), "%s", label);
		n++;
	}
	fclose(f);
	*out = list;
	*n_out = n;
	return 0;
}

int pairing_open(struct pairing *p, const char *dir, char *err, size_t errlen)
{
	int ret;

	memset(p, 0, sizeof(*p));
	p->tokens = PAIRING_BURST;
	if (snprintf(p->dir, sizeof(p->dir), "%s", dir) >= (int)sizeof(p->dir))
		return -ENAMETOOLONG;
	/* made by the first --pair: until then no code, no client */
	ret = load_clients(dir, &p->clients, &p->n_clients, err, errlen);
	return ret == -ENOTDIR ? 0 : ret;
}

void pairing_close(struct pairing *p)
{
	free(p->clients);
	p->clients = NULL;
	p->n_clients = 0;
}

int pairing_reload(struct pairing *p, char *err, size_t errlen)
{
	struct paired_client *list = NULL;
	unsigned n = 0;
	int ret = load_clients(p->dir, &list, &n, err, errlen);

	if (ret < 0)
		return ret;
	free(p->clients);
	p->clients = list;
	p->n_clients = n;
	return 0;
}

bool pairing_has(const struct pairing *p, const char *sha256_hex)
{
	unsigned i;

	for (i = 0; p && i < p->n_clients; i++)
		if (strcmp(p->clients[i].sha256, sha256_hex) == 0)
			return true;
	return false;
}

/* ---- codes --------------------------------------------------------------- */

static void hex(const uint8_t *b, size_t n, char *out)
{
	size_t i;

	for (i = 0; i < n; i++)
		snprintf(out + 2 * i, 3, "%02x", b[i]);
}

static int unhex(const char *s, uint8_t *out, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		unsigned v;

		if (sscanf(s + 2 * i, "%2x", &v) != 1)
			return -EINVAL;
		out[i] = (uint8_t)v;
	}
	return s[2 * n] == '\0' || s[2 * n] == ' ' ? 0 : -EINVAL;
}

int pairing_new_code(const char *dir, unsigned ttl_s, char code[IIOS_PAIR_CODE_LEN],
		     char *err, size_t errlen)
{
	uint8_t key[IIOS_PAIR_KEY_LEN];
	char path[PATH_MAX], key_hex[2 * IIOS_PAIR_KEY_LEN + 1], line[128];
	int lock, fd, ret, n;

	ret = iios_make_private_dirs(dir);
	if (ret == 0)
		ret = path_in(dir, "codes", path, sizeof(path));
	if (ret < 0) {
		snprintf(err, errlen, "%s: %s", dir, strerror(-ret));
		return ret;
	}
	if (iios_pair_code_new(code) < 0 || iios_pair_key(code, key) < 0) {
		snprintf(err, errlen, "no random numbers for a code");
		return -EIO;
	}
	hex(key, sizeof(key), key_hex);
	n = snprintf(line, sizeof(line), "%s %lld\n", key_hex, (long long)time(NULL) + ttl_s);
	lock = lock_dir(dir);
	if (lock < 0) {
		snprintf(err, errlen, "%s/lock: %s", dir, strerror(-lock));
		return lock;
	}
	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	ret = fd < 0 ? -errno : 0;
	if (fd >= 0)
		give_to_daemon_user(dir, fd);
	if (fd >= 0 && (write(fd, line, (size_t)n) != n || fsync(fd) < 0))
		ret = -EIO;
	if (fd >= 0)
		close(fd);
	unlock_dir(lock);
	if (ret < 0)
		snprintf(err, errlen, "%s: %s", path, strerror(-ret));
	return ret;
}

/* Rewrite DIR/codes with the codes still good, except `drop` (a line
 * index, or -1; or -2: drop them all). Under the lock. */
static int rewrite_codes(const char *dir, int drop)
{
	char path[PATH_MAX], tmp[PATH_MAX + 8], line[256];
	FILE *in, *out;
	int i = 0, ret = 0;
	long long now = time(NULL);

	if (path_in(dir, "codes", path, sizeof(path)) < 0 ||
	    snprintf(tmp, sizeof(tmp), "%s.new", path) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	out = fopen(tmp, "w");
	if (!out)
		return -errno;
	in = fopen(path, "r");
	while (in && drop != -2 && fgets(line, sizeof(line), in)) {
		char *space = strchr(line, ' ');

		if (i++ != drop && space && atoll(space + 1) > now)
			fputs(line, out);
	}
	if (in)
		fclose(in);
	if (fflush(out) != 0 || fsync(fileno(out)) != 0)
		ret = -EIO;
	if (fclose(out) != 0)
		ret = -EIO;
	if (ret == 0 && rename(tmp, path) < 0)
		ret = -errno;
	if (ret < 0)
		unlink(tmp);
	return ret;
}

/* Take a token from the throttle; false when there is none. */
static bool throttle_take(struct pairing *p, uint64_t now_ns, unsigned *wait_s)
{
	if (p->refilled_ns == 0)
		p->refilled_ns = now_ns;
	p->tokens += (double)(now_ns - p->refilled_ns) / 1e9 / PAIRING_REFILL_S;
	p->refilled_ns = now_ns;
	if (p->tokens > PAIRING_BURST)
		p->tokens = PAIRING_BURST;
	if (p->tokens < 1.0) {
		*wait_s = (unsigned)((1.0 - p->tokens) * PAIRING_REFILL_S) + 1;
		return false;
	}
	p->tokens -= 1.0;
	return true;
}

/* Which line of DIR/codes holds a good code whose proof this is: its index,
 * or -1 (none), or a negative errno below -1. */
static int find_code(const char *dir, const uint8_t proof[IIOS_PAIR_PROOF_LEN],
		     const uint8_t exporter[IIOS_PAIR_EXPORTER_LEN], const char *client_fp,
		     const char *server_fp, uint8_t found_key[IIOS_PAIR_KEY_LEN])
{
	char path[PATH_MAX], line[256];
	long long now = time(NULL);
	int i = 0, found = -1;
	FILE *f;

	if (path_in(dir, "codes", path, sizeof(path)) < 0)
		return -ENAMETOOLONG;
	f = fopen(path, "r");
	if (!f)
		return errno == ENOENT ? -1 : -errno;
	for (; fgets(line, sizeof(line), f); i++) {
		uint8_t key[IIOS_PAIR_KEY_LEN], want[IIOS_PAIR_PROOF_LEN];
		char *space = strchr(line, ' ');

		if (!space || atoll(space + 1) <= now || unhex(line, key, sizeof(key)) < 0)
			continue;
		if (iios_pair_proof(key, IIOS_PAIR_CLIENT, exporter, client_fp, server_fp, want) == 0 &&
		    CRYPTO_memcmp(want, proof, sizeof(want)) == 0 && found < 0) {
			found = i; /* every line is still checked: the time says nothing */
			memcpy(found_key, key, sizeof(key));
		}
		OPENSSL_cleanse(key, sizeof(key));
	}
	fclose(f);
	return found;
}

static void clean_label(const char *in, char out[PAIRING_LABEL_MAX + 1])
{
	size_t i;

	for (i = 0; in[i] && i < PAIRING_LABEL_MAX; i++)
		out[i] = in[i] >= 0x20 && in[i] < 0x7f ? in[i] : '?';
	out[i] = '\0';
	if (i == 0)
		snprintf(out, PAIRING_LABEL_MAX + 1, "unnamed");
}

static int add_client(struct pairing *p, const char *client_fp, const char *label)
{
	struct paired_client c, *grown;
	char path[PATH_MAX], line[256];
	int fd, n, ret = 0;

	memcpy(c.sha256, client_fp + 7, 65);
	clean_label(label, c.label);
	if (pairing_has(p, c.sha256))
		return 0;
	if (path_in(p->dir, "clients", path, sizeof(path)) < 0)
		return -ENAMETOOLONG;
	n = snprintf(line, sizeof(line), "sha256:%s %s\n", c.sha256, c.label);
	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	if (write(fd, line, (size_t)n) != n || fsync(fd) < 0)
		ret = -EIO;
	close(fd);
	if (ret < 0)
		return ret;
	grown = realloc(p->clients, (p->n_clients + 1) * sizeof(*grown));
	if (!grown)
		return -ENOMEM;
	p->clients = grown;
	p->clients[p->n_clients++] = c;
	return 0;
}

enum pairing_result pairing_try(struct pairing *p, uint64_t now_ns,
				const uint8_t proof[IIOS_PAIR_PROOF_LEN],
				const uint8_t exporter[IIOS_PAIR_EXPORTER_LEN],
				const char *client_fp, const char *server_fp, const char *label,
				uint8_t server_proof[IIOS_PAIR_PROOF_LEN], char *why, size_t len)
{
	uint8_t key[IIOS_PAIR_KEY_LEN];
	char clean[PAIRING_LABEL_MAX + 1];
	unsigned wait_s;
	int lock, line, ret;

	if (!throttle_take(p, now_ns, &wait_s)) {
		p->throttled_total++;
		snprintf(why, len, "too many pairing attempts: try again in %u s", wait_s);
		return PAIRING_THROTTLED;
	}
	lock = lock_dir(p->dir);
	if (lock < 0 && lock != -ENOENT) {
		snprintf(why, len, "%s/lock: %s", p->dir, strerror(-lock));
		return PAIRING_FAILED;
	}
	/* no directory: no --pair was ever run, so no code can match */
	line = lock < 0 ? -1 : find_code(p->dir, proof, exporter, client_fp, server_fp, key);
	if (line < -1) {
		unlock_dir(lock);
		snprintf(why, len, "%s/codes: %s", p->dir, strerror(-line));
		return PAIRING_FAILED;
	}
	if (line < 0) {
		p->refused_total++;
		if (++p->failures >= PAIRING_MAX_FAILURES) {
			p->failures = 0;
			if (lock >= 0)
				rewrite_codes(p->dir, -2);
			snprintf(why, len, "wrong, used or expired pairing code; after %d wrong codes "
				 "every outstanding code is void: make a new one (iiostreamd --pair)",
				 PAIRING_MAX_FAILURES);
		} else {
			snprintf(why, len, "wrong, used or expired pairing code");
		}
		unlock_dir(lock);
		return PAIRING_REFUSED;
	}
	ret = rewrite_codes(p->dir, line); /* used once */
	if (ret == 0)
		ret = add_client(p, client_fp, label);
	unlock_dir(lock);
	if (ret == 0)
		ret = iios_pair_proof(key, IIOS_PAIR_SERVER, exporter, client_fp, server_fp,
				      server_proof);
	OPENSSL_cleanse(key, sizeof(key));
	if (ret < 0) {
		snprintf(why, len, "%s: %s", p->dir, strerror(-ret));
		return PAIRING_FAILED;
	}
	p->paired_total++;
	p->failures = 0;
	clean_label(label, clean);
	snprintf(why, len, "paired %s (%s)", client_fp, clean);
	return PAIRING_PAIRED;
}

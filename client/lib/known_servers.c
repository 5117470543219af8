// SPDX-License-Identifier: MIT
/*
 * The known-servers file of trust on first use (as ssh's known_hosts): one
 * line "HOST:PORT sha256:HEX" per server, '#' comments. Read whole, and
 * refused whole when any line does not parse: a damaged file must never
 * make a server look unknown (trusted anew) or known. Appended to under an
 * exclusive lock, never rewritten. See iiostream.h.
 */
#define _GNU_SOURCE
#include "client_internal.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "iiostream/identity.h"

#define KNOWN_MAX_BYTES (1024 * 1024)

int iios_config_path(const char *name, char *out, size_t len)
{
	const char *xdg = getenv("XDG_CONFIG_HOME");
	const char *home = getenv("HOME");
	struct passwd pwd, *pw = NULL;
	char buf[4096];
	int n;

	if (xdg && xdg[0] == '/') {
		n = snprintf(out, len, "%s/iiostream/%s", xdg, name);
	} else {
		if (!home || home[0] != '/') {
			/* _r: a library's callers may connect from several threads */
			if (getpwuid_r(geteuid(), &pwd, buf, sizeof(buf), &pw) != 0)
				pw = NULL;
			home = pw && pw->pw_dir && pw->pw_dir[0] == '/' ? pw->pw_dir : NULL;
		}
		if (!home)
			return -ENOENT;
		n = snprintf(out, len, "%s/.config/iiostream/%s", home, name);
	}
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

void iios__server_key(const struct iios__url *u, char *out, size_t len)
{
	char host[sizeof(u->host)];
	size_t i;

	for (i = 0; u->host[i] && i < sizeof(host) - 1; i++)
		host[i] = (char)tolower((unsigned char)u->host[i]);
	host[i] = '\0';
	if (strchr(host, ':'))
		snprintf(out, len, "[%s]:%s", host, u->port);
	else
		snprintf(out, len, "%s:%s", host, u->port);
}

/* A file's key field as iios__server_key() writes it: 0, or -EINVAL. */
static int parse_key(const char *field, char *out, size_t len)
{
	struct iios__url u;
	char url[320], why[64];

	if (strlen(field) > 300 || !strrchr(field, ':'))
		return -EINVAL;
	/* HOST:PORT must carry its port: the URL parser would add 30433 */
	if (field[0] == '[' ? !strstr(field, "]:") : strchr(field, ':') != strrchr(field, ':'))
		return -EINVAL;
	snprintf(url, sizeof(url), "tls://%s", field);
	if (iios__parse_url(url, &u, why, sizeof(why)) < 0)
		return -EINVAL;
	iios__server_key(&u, out, len);
	return 0;
}

/* One field of a line: *p advanced past it. "" at the end. */
static const char *next_field(char **p)
{
	char *s = *p, *start;

	while (*s == ' ' || *s == '\t')
		s++;
	start = s;
	while (*s && *s != ' ' && *s != '\t')
		s++;
	if (*s)
		*s++ = '\0';
	*p = s;
	return start;
}

/* One line (NUL-terminated, no newline): 1 with key and fp when it is an
 * entry, 0 when blank or a comment, -EINVAL with `why`. */
static int parse_line(char *s, char key[320], char fp[IIOS_FINGERPRINT_LEN], const char **why)
{
	const char *k, *f, *rest;
	size_t n = strlen(s);

	while (n && isspace((unsigned char)s[n - 1]))
		s[--n] = '\0';
	k = next_field(&s);
	if (!k[0] || k[0] == '#')
		return 0;
	f = next_field(&s);
	rest = next_field(&s);
	if (!f[0]) {
		*why = "no fingerprint after the server";
		return -EINVAL;
	}
	if (rest[0] && rest[0] != '#') {
		*why = "more than two fields";
		return -EINVAL;
	}
	if (parse_key(k, key, 320) < 0) {
		*why = "the server is not HOST:PORT";
		return -EINVAL;
	}
	if (strncasecmp(f, "sha256:", 7) != 0 || iios_fingerprint_parse(f, fp) < 0) {
		*why = "the fingerprint is not sha256: and 64 hex digits";
		return -EINVAL;
	}
	return 1;
}

int iios__known_parse(const char *text, size_t len, const char *file, const char *key,
		      char fp[IIOS_FINGERPRINT_LEN], unsigned *line, char *err, size_t errlen)
{
	unsigned no = 0, found_at = 0;
	size_t pos = 0;

	while (pos < len) {
		const char *nl = memchr(text + pos, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - (text + pos)) : len - pos;
		char buf[1024], k[320], f[IIOS_FINGERPRINT_LEN];
		const char *why = NULL;
		int r;

		no++;
		if (n >= sizeof(buf))
			why = "longer than 1023 bytes";
		else if (memchr(text + pos, '\0', n))
			why = "a NUL byte: not a text file";
		if (!why) {
			memcpy(buf, text + pos, n);
			buf[n] = '\0';
			r = parse_line(buf, k, f, &why);
		} else {
			r = -EINVAL;
		}
		if (r < 0) {
			snprintf(err, errlen, "%s:%u: not a known-servers line (HOST:PORT sha256:HEX): "
				 "%s. Fix or remove it: until then no server is trusted by this file",
				 file, no, why);
			return -EINVAL;
		}
		if (r == 1 && strcmp(k, key) == 0) {
			if (!found_at) {
				found_at = no;
				memcpy(fp, f, IIOS_FINGERPRINT_LEN);
			} else if (strcmp(f, fp) != 0) {
				snprintf(err, errlen, "%s:%u: a second line for %s, with another "
					 "fingerprint than line %u: remove the wrong one", file, no,
					 key, found_at);
				return -EINVAL;
			}
		}
		pos += n + (nl ? 1 : 0);
	}
	if (line)
		*line = found_at;
	return found_at ? 1 : 0;
}

/* A file we may trust: a regular file, ours (or root's), not writable by
 * group or others (who could add a line for any server). */
static int check_file(int fd, const char *file, off_t *size, char *err, size_t errlen)
{
	struct stat st;

	if (fstat(fd, &st) < 0) {
		int e = errno;

		snprintf(err, errlen, "%s: %s", file, strerror(e));
		return -e;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s: not a regular file", file);
		return -EINVAL;
	}
	if (st.st_mode & 022) {
		snprintf(err, errlen, "%s is writable by %s: anyone who can write it can make us "
			 "trust any server. chmod 600 %s", file, st.st_mode & 002 ? "anyone" : "its group",
			 file);
		return -EPERM;
	}
	if (st.st_uid != geteuid() && st.st_uid != 0) {
		snprintf(err, errlen, "%s belongs to uid %u, not to us (uid %u): refused", file,
			 (unsigned)st.st_uid, (unsigned)geteuid());
		return -EPERM;
	}
	if (st.st_size > KNOWN_MAX_BYTES) {
		snprintf(err, errlen, "%s: larger than %d bytes", file, KNOWN_MAX_BYTES);
		return -EFBIG;
	}
	*size = st.st_size;
	return 0;
}

/* Read the whole of fd (size bytes) into a new NUL-terminated buffer. */
static int read_all(int fd, const char *file, off_t size, char **out, char *err, size_t errlen)
{
	char *buf = malloc((size_t)size + 1);
	size_t got = 0;

	if (!buf) {
		snprintf(err, errlen, "%s: out of memory", file);
		return -ENOMEM;
	}
	while (got < (size_t)size) {
		ssize_t n = pread(fd, buf + got, (size_t)size - got, (off_t)got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			int e = n < 0 ? errno : EIO;

			snprintf(err, errlen, "%s: %s", file, n < 0 ? strerror(e) : "shrank while read");
			free(buf);
			return -e;
		}
		got += (size_t)n;
	}
	buf[got] = '\0';
	*out = buf;
	return 0;
}

/* Look key up in the open file fd: as iios__known_parse(). *last_nl: the
 * file is empty or ends with a newline. */
static int find_in_fd(int fd, const char *file, const char *key, char fp[IIOS_FINGERPRINT_LEN],
		      unsigned *line, bool *last_nl, char *err, size_t errlen)
{
	char *text = NULL;
	off_t size = 0;
	int r;

	r = check_file(fd, file, &size, err, errlen);
	if (!r)
		r = read_all(fd, file, size, &text, err, errlen);
	if (r)
		return r;
	if (!text) /* read_all() sets it when it succeeds: for the analyzer */
		return -ENOMEM;
	if (last_nl)
		*last_nl = size == 0 || text[size - 1] == '\n';
	r = iios__known_parse(text, (size_t)size, file, key, fp, line, err, errlen);
	free(text);
	return r;
}

int iios__known_find(const char *file, const char *key, char fp[IIOS_FINGERPRINT_LEN],
		     unsigned *line, char *err, size_t errlen)
{
	int fd = open(file, O_RDONLY | O_CLOEXEC);
	int r;

	if (fd < 0) {
		int e = errno;

		if (e == ENOENT)
			return 0;
		snprintf(err, errlen, "%s: %s", file, strerror(e));
		return -e;
	}
	r = find_in_fd(fd, file, key, fp, line, NULL, err, errlen);
	close(fd);
	return r;
}

/* mkdir -p of file's directory, new directories mode 0700. */
static int make_parent_dirs(const char *file, char *err, size_t errlen)
{
	char path[4096];
	size_t i, len = strlen(file);

	if (len >= sizeof(path)) {
		snprintf(err, errlen, "%s: %s", file, strerror(ENAMETOOLONG));
		return -ENAMETOOLONG;
	}
	memcpy(path, file, len + 1);
	for (i = 1; i < len; i++) {
		if (path[i] != '/')
			continue;
		path[i] = '\0';
		if (mkdir(path, 0700) < 0 && errno != EEXIST) {
			int e = errno;

			snprintf(err, errlen, "cannot make %s: %s", path, strerror(e));
			return -e;
		}
		path[i] = '/';
	}
	return 0;
}

/* Append "KEY FP\n" in one write(), after a newline if the file lacks its
 * last one. */
static int append_line(int fd, const char *file, const char *key, const char *fp, bool last_nl,
		       char *err, size_t errlen)
{
	char line[512];
	int n = snprintf(line, sizeof(line), "%s%s %s\n", last_nl ? "" : "\n", key, fp);
	ssize_t w;

	if (n < 0 || (size_t)n >= sizeof(line))
		return -ENAMETOOLONG;
	do
		w = write(fd, line, (size_t)n);
	while (w < 0 && errno == EINTR);
	if (w != n || fsync(fd) < 0) {
		int e = w < 0 || w == n ? errno : ENOSPC;

		snprintf(err, errlen, "%s: cannot add the line for %s: %s", file, key, strerror(e));
		return -e;
	}
	return 0;
}

int iios__known_add(const char *file, const char *key, const char *fp, char *err, size_t errlen)
{
	char have[IIOS_FINGERPRINT_LEN];
	unsigned line = 0;
	bool last_nl = true;
	int fd, r;

	r = make_parent_dirs(file, err, errlen);
	if (r)
		return r;
	fd = open(file, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0) {
		r = -errno;
		snprintf(err, errlen, "%s: %s", file, strerror(-r));
		return r;
	}
	while ((r = flock(fd, LOCK_EX)) < 0 && errno == EINTR)
		;
	if (r < 0) {
		r = -errno;
		snprintf(err, errlen, "%s: cannot lock it: %s", file, strerror(-r));
	} else {
		/* again under the lock: another process may have added it */
		r = find_in_fd(fd, file, key, have, &line, &last_nl, err, errlen);
	}
	if (r == 1 && strcmp(have, fp) != 0) {
		snprintf(err, errlen, "%s:%u already has %s with another fingerprint (%s, not %s): "
			 "not changed", file, line, key, have, fp);
		r = -EKEYREJECTED;
	} else if (r == 0) {
		r = append_line(fd, file, key, fp, last_nl, err, errlen);
	} else if (r == 1) {
		r = 0; /* the same line is there already */
	}
	close(fd); /* and the lock with it */
	return r;
}

/* The file named, or the default one, into path[len]. */
static int file_or_default(const char *file, char *path, size_t len, char *err, size_t errlen)
{
	int r;

	if (file) {
		snprintf(path, len, "%s", file);
		return 0;
	}
	r = iios_config_path("known_servers", path, len);
	if (r)
		snprintf(err, errlen, "no known-servers file: %s (set HOME or XDG_CONFIG_HOME, or "
			 "name a file)", r == -ENOENT ? "no home directory" : strerror(-r));
	return r;
}

static int url_key(const char *url, char *key, size_t len, char *err, size_t errlen)
{
	struct iios__url u;
	int r = iios__parse_url(url, &u, err, errlen);

	if (r)
		return r;
	if (!u.tls) {
		snprintf(err, errlen, "%s: known servers are tls:// ones", url);
		return -EINVAL;
	}
	iios__server_key(&u, key, len);
	return 0;
}

int iios_known_servers_find(const char *file, const char *url, char fp[IIOS_FINGERPRINT_LEN],
			    unsigned *line, char *err, size_t errlen)
{
	char path[4096], key[320], scratch[64];
	int r;

	if (!err) {
		err = scratch;
		errlen = sizeof(scratch);
	}
	r = url_key(url, key, sizeof(key), err, errlen);
	if (!r)
		r = file_or_default(file, path, sizeof(path), err, errlen);
	return r ? r : iios__known_find(path, key, fp, line, err, errlen);
}

int iios_known_servers_add(const char *file, const char *url, const char *fp, char *err,
			   size_t errlen)
{
	char path[4096], key[320], norm[IIOS_FINGERPRINT_LEN], scratch[64];
	int r;

	if (!err) {
		err = scratch;
		errlen = sizeof(scratch);
	}
	if (iios_fingerprint_parse(fp, norm) < 0) {
		snprintf(err, errlen, "%s: not a sha256 fingerprint", fp);
		return -EINVAL;
	}
	r = url_key(url, key, sizeof(key), err, errlen);
	if (!r)
		r = file_or_default(file, path, sizeof(path), err, errlen);
	return r ? r : iios__known_add(path, key, norm, err, errlen);
}

void iios__known_unknown_msg(char *err, size_t errlen, const char *key, const char *file,
			     const char *fp)
{
	char def[4096];
	bool other = iios_config_path("known_servers", def, sizeof(def)) || strcmp(def, file);

	snprintf(err, errlen, "tls://%s is not a known server: its certificate is %s. If that is "
		 "the board's (iiostreamd --show-identity prints it there), trust it once with: "
		 "iiostream info --url tls://%s --trust-new%s%s; or add the line '%s %s' to %s",
		 key, fp, key, other ? " --known-servers " : "", other ? file : "", key, fp, file);
}

void iios__known_changed_msg(char *err, size_t errlen, const char *key, const char *file,
			     unsigned line, const char *known, const char *seen)
{
	snprintf(err, errlen, "tls://%s: THE SERVER'S CERTIFICATE HAS CHANGED: it presented %s, "
		 "but %s:%u pins %s. Someone may be intercepting the connection, or the board has "
		 "a new identity; nothing was sent to it. If the change is legitimate, remove line "
		 "%u of %s and connect again", key, seen, file, line, known, line, file);
}

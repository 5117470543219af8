// SPDX-License-Identifier: MIT
/* Self-made identities and fingerprints: see iiostream/identity.h. */
#include "iiostream/identity.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

int iios_fingerprint(X509 *cert, char out[IIOS_FINGERPRINT_LEN])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int len = 0, i;

	if (!cert || X509_digest(cert, EVP_sha256(), md, &len) != 1 || len != 32) {
		ERR_clear_error();
		return -EINVAL;
	}
	memcpy(out, "sha256:", 7);
	for (i = 0; i < len; i++)
		snprintf(out + 7 + 2 * i, 3, "%02x", md[i]);
	return 0;
}

int iios_fingerprint_file(const char *pem_file, char out[IIOS_FINGERPRINT_LEN],
			  char *err, size_t errlen)
{
	FILE *f = fopen(pem_file, "r");
	X509 *cert;
	int ret;

	if (!f) {
		ret = -errno;
		snprintf(err, errlen, "%s: %s", pem_file, strerror(errno));
		return ret;
	}
	cert = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	ret = iios_fingerprint(cert, out);
	if (ret < 0)
		snprintf(err, errlen, "%s: not a PEM certificate", pem_file);
	X509_free(cert);
	return ret;
}

int iios_fingerprint_parse(const char *in, char out[IIOS_FINGERPRINT_LEN])
{
	size_t n = 0;

	if (strncasecmp(in, "sha256:", 7) == 0)
		in += 7;
	memcpy(out, "sha256:", 7);
	for (; *in; in++) {
		char c = *in;

		if (c == ':')
			continue;
		if (c >= 'A' && c <= 'F')
			c = (char)(c - 'A' + 'a');
		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')) || n == 64)
			return -EINVAL;
		out[7 + n++] = c;
	}
	out[7 + n] = '\0';
	return n == 64 ? 0 : -EINVAL;
}

int iios_make_private_dirs(const char *dir)
{
	char path[PATH_MAX];
	size_t i, len = strlen(dir);

	if (len == 0 || len >= sizeof(path))
		return -ENAMETOOLONG;
	memcpy(path, dir, len + 1);
	for (i = 1; i <= len; i++) {
		if (path[i] != '/' && path[i] != '\0')
			continue;
		path[i] = '\0';
		if (mkdir(path, 0700) < 0 && errno != EEXIST)
			return -errno;
		path[i] = dir[i];
	}
	return 0;
}

static X509 *self_signed(EVP_PKEY *key, const char *cn, const char *const *dns_names)
{
	X509 *cert = X509_new();
	X509_NAME *name = X509_NAME_new();
	unsigned char serial[16];
	BIGNUM *bn = NULL;
	X509V3_CTX ctx;
	char san[1024] = "";
	size_t used = 0;
	bool ok = cert && name;

	if (ok && RAND_bytes(serial, sizeof(serial)) == 1)
		serial[0] &= 0x7f; /* a positive INTEGER */
	else
		ok = false;
	ok = ok && (bn = BN_bin2bn(serial, sizeof(serial), NULL)) != NULL;
	ok = ok && BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert)) != NULL;
	ok = ok && X509_set_version(cert, X509_VERSION_3) == 1;
	ok = ok && X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
					      (const unsigned char *)cn, -1, -1, 0) == 1;
	ok = ok && X509_set_subject_name(cert, name) == 1 && X509_set_issuer_name(cert, name) == 1;
	/* a day back for clocks a little behind; never expires (pinned, not chained) */
	ok = ok && X509_gmtime_adj(X509_getm_notBefore(cert), -86400) != NULL;
	ok = ok && ASN1_TIME_set_string_X509(X509_getm_notAfter(cert), "99991231235959Z") == 1;
	ok = ok && X509_set_pubkey(cert, key) == 1;
	X509V3_set_ctx(&ctx, cert, cert, NULL, NULL, 0);
	for (; ok && dns_names && *dns_names; dns_names++) {
		int n = snprintf(san + used, sizeof(san) - used, "%sDNS:%s", used ? "," : "", *dns_names);

		if (n < 0 || (size_t)n >= sizeof(san) - used)
			break; /* the names that fit: a SAN is a convenience, the fingerprint is the identity */
		used += (size_t)n;
	}
	{
		const char *ext[][2] = {
			{ "basicConstraints", "critical,CA:FALSE" },
			{ "keyUsage", "critical,digitalSignature" },
			{ "extendedKeyUsage", "serverAuth,clientAuth" },
			{ "subjectKeyIdentifier", "hash" },
			{ "subjectAltName", san },
		};
		size_t i;

		for (i = 0; ok && i < sizeof(ext) / sizeof(ext[0]); i++) {
			X509_EXTENSION *e;

			if (!ext[i][1][0])
				continue;
			e = X509V3_EXT_conf(NULL, &ctx, ext[i][0], ext[i][1]);
			ok = e && X509_add_ext(cert, e, -1) == 1;
			X509_EXTENSION_free(e);
		}
	}
	ok = ok && X509_sign(cert, key, EVP_sha256()) > 0;
	BN_free(bn);
	X509_NAME_free(name);
	if (!ok) {
		X509_free(cert);
		cert = NULL;
	}
	return cert;
}

/* Write a new file with `mode`, synced, by PEM writer `write`. */
static int write_new(const char *path, mode_t mode, EVP_PKEY *key, X509 *cert)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
	FILE *f;
	int ok;

	if (fd < 0)
		return -errno;
	f = fdopen(fd, "w");
	if (!f) {
		close(fd);
		return -ENOMEM;
	}
	ok = key ? PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL)
		 : PEM_write_X509(f, cert);
	ok = ok && fflush(f) == 0 && fsync(fileno(f)) == 0;
	if (fclose(f) != 0)
		ok = 0;
	return ok ? 0 : -EIO;
}

static void sync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd >= 0) {
		fsync(fd);
		close(fd);
	}
}

/*
 * Make key and certificate as temporary files, then publish: the key by
 * link() (fails if another process published first: theirs wins), then the
 * certificate by rename(). So a reader never sees a certificate without
 * its key; it may see a key without a certificate for a moment, which
 * load() waits out.
 */
static int create(struct iios_identity *id, const char *cn, const char *const *dns_names,
		  char *err, size_t errlen)
{
	char key_tmp[PATH_MAX + 32], cert_tmp[PATH_MAX + 32];
	EVP_PKEY *key = EVP_EC_gen("P-256");
	X509 *cert = key ? self_signed(key, cn, dns_names) : NULL;
	int ret;

	snprintf(key_tmp, sizeof(key_tmp), "%s.%ld.tmp", id->key_file, (long)getpid());
	snprintf(cert_tmp, sizeof(cert_tmp), "%s.%ld.tmp", id->cert_file, (long)getpid());
	if (!cert) {
		ret = -ENOMEM;
		snprintf(err, errlen, "cannot make a key and certificate (OpenSSL error %lu)",
			 ERR_get_error());
		goto out;
	}
	ret = write_new(key_tmp, 0600, key, NULL);
	if (ret == 0)
		ret = write_new(cert_tmp, 0644, NULL, cert);
	if (ret < 0) {
		snprintf(err, errlen, "%s: cannot write the new identity: %s", id->dir, strerror(-ret));
		goto out;
	}
	if (link(key_tmp, id->key_file) < 0) {
		ret = errno == EEXIST ? 0 : -errno; /* another process made it: use theirs */
		if (ret < 0)
			snprintf(err, errlen, "%s: %s", id->key_file, strerror(-ret));
		goto out;
	}
	if (rename(cert_tmp, id->cert_file) < 0) {
		ret = -errno;
		snprintf(err, errlen, "%s: %s", id->cert_file, strerror(-ret));
		unlink(id->key_file);
		goto out;
	}
	sync_dir(id->dir);
	id->created = true;
out:
	unlink(key_tmp);
	unlink(cert_tmp);
	X509_free(cert);
	EVP_PKEY_free(key);
	ERR_clear_error();
	return ret;
}

static int load(struct iios_identity *id, char *err, size_t errlen)
{
	struct stat st;
	X509 *cert = NULL;
	EVP_PKEY *key = NULL;
	FILE *f;
	int ret = -EINVAL;

	if (stat(id->key_file, &st) < 0) {
		ret = -errno;
		snprintf(err, errlen, "%s: %s", id->key_file, strerror(errno));
		return ret;
	}
	if (st.st_mode & 077) {
		snprintf(err, errlen, "%s can be read or written by others (mode %04o): chmod 600 %s",
			 id->key_file, (unsigned)(st.st_mode & 07777), id->key_file);
		return -EPERM;
	}
	f = fopen(id->key_file, "r");
	if (f) {
		key = PEM_read_PrivateKey(f, NULL, NULL, NULL);
		fclose(f);
	}
	f = fopen(id->cert_file, "r");
	if (f) {
		cert = PEM_read_X509(f, NULL, NULL, NULL);
		fclose(f);
	}
	if (!key || !cert)
		snprintf(err, errlen, "%s: not a PEM %s", key ? id->cert_file : id->key_file,
			 key ? "certificate" : "private key");
	else if (X509_check_private_key(cert, key) != 1)
		snprintf(err, errlen, "%s does not match %s: restore the pair, or remove both "
			 "to make a new identity", id->key_file, id->cert_file);
	else if (iios_fingerprint(cert, id->fingerprint) == 0)
		ret = 0;
	if (ret == 0 && X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName,
						  id->subject_cn, sizeof(id->subject_cn)) < 0)
		id->subject_cn[0] = '\0';
	X509_free(cert);
	EVP_PKEY_free(key);
	ERR_clear_error();
	return ret;
}

static bool exists(const char *path)
{
	return access(path, F_OK) == 0;
}

int iios_identity_open(const char *dir, const char *common_name,
		       const char *const *dns_names, struct iios_identity *out,
		       char *err, size_t errlen)
{
	struct timespec pause = { 0, 10 * 1000 * 1000 };
	int ret, tries;

	memset(out, 0, sizeof(*out));
	if (snprintf(out->dir, sizeof(out->dir), "%s", dir) >= (int)sizeof(out->dir) ||
	    snprintf(out->key_file, sizeof(out->key_file), "%s/key.pem", dir) >= (int)sizeof(out->key_file) ||
	    snprintf(out->cert_file, sizeof(out->cert_file), "%s/cert.pem", dir) >= (int)sizeof(out->cert_file)) {
		snprintf(err, errlen, "%s: path too long", dir);
		return -ENAMETOOLONG;
	}
	ret = iios_make_private_dirs(dir);
	if (ret < 0) {
		snprintf(err, errlen, "%s: cannot make the identity directory: %s", dir, strerror(-ret));
		return ret;
	}
	if (!exists(out->key_file) && !exists(out->cert_file)) {
		ret = create(out, common_name, dns_names, err, errlen);
		if (ret < 0)
			return ret;
	}
	/* a key without its certificate: another process is creating it (2 s) */
	for (tries = 0; exists(out->key_file) && !exists(out->cert_file) && tries < 200; tries++)
		nanosleep(&pause, NULL);
	if (exists(out->key_file) != exists(out->cert_file)) {
		snprintf(err, errlen, "%s has %s but not %s: restore it, or remove both to make a "
			 "new identity (clients that trusted the old one will refuse the new)", dir,
			 exists(out->key_file) ? "key.pem" : "cert.pem",
			 exists(out->key_file) ? "cert.pem" : "key.pem");
		return -EINVAL;
	}
	return load(out, err, errlen);
}

/* SPDX-License-Identifier: MIT */
/*
 * Self-made identities: a key and a self-signed certificate in a directory,
 * created the first time they are needed, and certificate fingerprints.
 *
 * The board (iiostreamd) and every client (libiiostream, the CLI, the GNU
 * Radio block) have one. An identity is named by its fingerprint, the
 * SHA-256 of the certificate's DER, written "sha256:" + 64 lowercase hex
 * digits: what `openssl x509 -noout -fingerprint -sha256` prints, without
 * the colons. Peers pin the fingerprint (as ssh pins host keys), so the
 * certificate's issuer and dates carry no trust: it never expires
 * (notAfter 9999-12-31, RFC 5280 4.1.2.5) and a board that boots in 1970
 * can still use it.
 *
 * Layout of an identity directory (created mode 0700):
 *   key.pem    the private key, EC P-256, PKCS#8 PEM, mode 0600
 *   cert.pem   the self-signed certificate, mode 0644
 */
#ifndef IIOSTREAM_IDENTITY_H
#define IIOSTREAM_IDENTITY_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

#include <openssl/x509.h>

/* "sha256:" + 64 hex digits + NUL */
#define IIOS_FINGERPRINT_LEN 72

struct iios_identity {
	char dir[PATH_MAX];
	char cert_file[PATH_MAX];  /* DIR/cert.pem */
	char key_file[PATH_MAX];   /* DIR/key.pem */
	char fingerprint[IIOS_FINGERPRINT_LEN]; /* of cert_file */
	char subject_cn[128];      /* the certificate's common name */
	bool created;              /* made by this call (first use) */
};

/*
 * Open the identity in `dir`, creating it when the directory has neither
 * file: `dir` itself (and its parents, mode 0700), a new key and a
 * certificate with subject CN=common_name and, when dns_names is not NULL,
 * those DNS subject alternative names (a NULL-terminated array). Two
 * processes creating the same identity at once end up with the same one.
 *
 * Returns 0, or a negative errno with `err` saying what to do:
 *   -EINVAL  one file without the other, a file that is not PEM, a key that
 *            does not match the certificate
 *   -EPERM   key.pem can be read or written by group or others (as ssh,
 *            refuse: "chmod 600 DIR/key.pem")
 *   -EACCES, -ENOENT, -ENOSPC, ...  the directory cannot be made or read
 */
int iios_identity_open(const char *dir, const char *common_name,
		       const char *const *dns_names, struct iios_identity *out,
		       char *err, size_t errlen);

/* mkdir -p DIR, each directory it makes mode 0700 (private state: an
 * identity, pairing codes). 0, or a negative errno. */
int iios_make_private_dirs(const char *dir);

/* "sha256:HEX" of a certificate. 0, or -EINVAL. */
int iios_fingerprint(X509 *cert, char out[IIOS_FINGERPRINT_LEN]);

/* The same for the first certificate of a PEM file. 0, or a negative errno
 * with `err` naming the file. */
int iios_fingerprint_file(const char *pem_file, char out[IIOS_FINGERPRINT_LEN],
			  char *err, size_t errlen);

/*
 * Normalise a fingerprint as a user may type it: an optional "sha256:"
 * prefix, 64 hex digits in either case, ':' separators anywhere (openssl
 * prints "AB:CD:..."). Writes "sha256:" + lowercase hex. 0, or -EINVAL.
 */
int iios_fingerprint_parse(const char *in, char out[IIOS_FINGERPRINT_LEN]);

#endif /* IIOSTREAM_IDENTITY_H */

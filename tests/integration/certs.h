/* SPDX-License-Identifier: MIT */
/*
 * Test credentials for the TLS tests: a CA, an unrelated CA, and server and
 * client certificates that are good, wrongly named, expired or signed by the
 * wrong CA. Made fresh with the OpenSSL API in each run, so nothing secret
 * or expiring is checked in and the tests need no openssl command.
 */
#ifndef IIOSTREAM_TEST_CERTS_H
#define IIOSTREAM_TEST_CERTS_H

/* Paths of the PEM files test_certs_make() writes into dir. */
struct test_certs {
	char ca[256];            /* CA certificate ("iiostream test CA") */
	char other_ca[256];      /* an unrelated CA certificate ("stranger CA") */
	char server_cert[256];   /* server cert signed by ca: CN=localhost, SAN DNS:localhost, IP:127.0.0.1, IP:::1, serverAuth */
	char server_key[256];
	char wrongname_cert[256];/* server cert signed by ca, CN and SAN DNS:elsewhere.example only */
	char wrongname_key[256];
	char expired_cert[256];  /* server cert signed by ca, SAN localhost/127.0.0.1, notBefore -2 days, notAfter -1 day */
	char expired_key[256];
	char client_cert[256];   /* client cert signed by ca: CN=good-client, clientAuth */
	char client_key[256];
	char client2_cert[256];  /* client cert signed by ca: CN=second-client, clientAuth */
	char client2_key[256];
	char stranger_cert[256]; /* client cert signed by other_ca: CN=stranger */
	char stranger_key[256];
	char expired_client_cert[256]; /* client cert signed by ca, CN=expired-client, expired as above */
	char expired_client_key[256];
	char client_fp[128];     /* "sha256:" + lowercase hex SHA-256 of client_cert's DER, no colons */
	char client2_fp[128];
};

/* Make every key and certificate into dir (which exists). 0, or -1 with a
 * message on stderr. */
int test_certs_make(const char *dir, struct test_certs *out);

#endif /* IIOSTREAM_TEST_CERTS_H */

// SPDX-License-Identifier: MIT
/*
 * Pairing codes and proofs (common/src/pair.c): codes are 12 symbols of
 * Crockford's base32, read the way people type them; a proof depends on
 * every input (role, connection, both fingerprints, the code) and equals
 * what the openssl command computes from the same bytes.
 */
#include <criterion/criterion.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "iiostream/pair.h"

static const char FP_C[] = "sha256:1111111111111111111111111111111111111111111111111111111111111111";
static const char FP_S[] = "sha256:2222222222222222222222222222222222222222222222222222222222222222";

Test(pair, new_codes_are_grouped_symbols_of_the_alphabet_and_differ)
{
	char a[IIOS_PAIR_CODE_LEN], b[IIOS_PAIR_CODE_LEN];
	uint8_t key[IIOS_PAIR_KEY_LEN];
	int i;

	cr_assert_eq(iios_pair_code_new(a), 0);
	cr_assert_eq(iios_pair_code_new(b), 0);
	cr_assert_eq(strlen(a), 14);
	cr_assert(a[4] == '-' && a[9] == '-', "%s", a);
	for (i = 0; i < 14; i++)
		if (i != 4 && i != 9)
			cr_assert_not_null(strchr("0123456789ABCDEFGHJKMNPQRSTVWXYZ", a[i]), "%s", a);
	cr_assert_str_neq(a, b, "60 random bits twice the same");
	cr_assert_eq(iios_pair_key(a, key), 0);
}

Test(pair, a_code_reads_as_people_type_it)
{
	uint8_t k1[IIOS_PAIR_KEY_LEN], k2[IIOS_PAIR_KEY_LEN], k3[IIOS_PAIR_KEY_LEN];

	cr_assert_eq(iios_pair_key("0A1B-2C3D-4E5F", k1), 0);
	cr_assert_eq(iios_pair_key("oa1b 2c3d 4e5f", k2), 0);   /* case, spaces, O for 0 */
	cr_assert_eq(iios_pair_key("0AIB2C3D4E5F", k3), 0);     /* I for 1, no dashes */
	cr_assert_eq(memcmp(k1, k2, sizeof(k1)), 0);
	cr_assert_eq(memcmp(k1, k3, sizeof(k1)), 0);
	cr_assert_eq(iios_pair_key("0A1B-2C3D-4E5G", k2), 0);
	cr_assert_neq(memcmp(k1, k2, sizeof(k1)), 0);
	cr_assert_eq(iios_pair_key("0A1B-2C3D-4E5", k2), -EINVAL);      /* 11 symbols */
	cr_assert_eq(iios_pair_key("0A1B-2C3D-4E5F0", k2), -EINVAL);    /* 13 */
	cr_assert_eq(iios_pair_key("0A1B-2C3D-4E5U", k2), -EINVAL);     /* U is not a symbol */
	cr_assert_eq(iios_pair_key("", k2), -EINVAL);
}

Test(pair, a_proof_depends_on_every_input)
{
	uint8_t key[IIOS_PAIR_KEY_LEN], other_key[IIOS_PAIR_KEY_LEN];
	uint8_t exp[IIOS_PAIR_EXPORTER_LEN] = { 1, 2, 3 }, exp2[IIOS_PAIR_EXPORTER_LEN] = { 1, 2, 4 };
	uint8_t p[IIOS_PAIR_PROOF_LEN], q[IIOS_PAIR_PROOF_LEN];

	cr_assert_eq(iios_pair_key("0000-0000-0000", key), 0);
	cr_assert_eq(iios_pair_key("0000-0000-0001", other_key), 0);
	cr_assert_eq(iios_pair_proof(key, IIOS_PAIR_CLIENT, exp, FP_C, FP_S, p), 0);
	cr_assert_eq(iios_pair_proof(key, IIOS_PAIR_CLIENT, exp, FP_C, FP_S, q), 0);
	cr_assert_eq(memcmp(p, q, sizeof(p)), 0);
	cr_assert_eq(iios_pair_proof(key, IIOS_PAIR_SERVER, exp, FP_C, FP_S, q), 0);
	cr_assert_neq(memcmp(p, q, sizeof(p)), 0, "role");
	cr_assert_eq(iios_pair_proof(key, IIOS_PAIR_CLIENT, exp2, FP_C, FP_S, q), 0);
	cr_assert_neq(memcmp(p, q, sizeof(p)), 0, "connection");
	cr_assert_eq(iios_pair_proof(key, IIOS_PAIR_CLIENT, exp, FP_S, FP_C, q), 0);
	cr_assert_neq(memcmp(p, q, sizeof(p)), 0, "fingerprints swapped");
	cr_assert_eq(iios_pair_proof(other_key, IIOS_PAIR_CLIENT, exp, FP_C, FP_S, q), 0);
	cr_assert_neq(memcmp(p, q, sizeof(p)), 0, "code");
}

static void hex(const uint8_t *b, size_t n, char *out)
{
	size_t i;

	for (i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", b[i]);
}

/* The proof is HMAC-SHA256(key, label NUL exporter client_fp NUL server_fp NUL)
 * and the key SHA-256("iiostream pair code v1" NUL code): computed again by
 * the openssl command from those bytes. */
Test(pair, proof_equals_openssl_hmac_of_the_documented_bytes)
{
	uint8_t key[IIOS_PAIR_KEY_LEN], exp[IIOS_PAIR_EXPORTER_LEN], p[IIOS_PAIR_PROOF_LEN];
	char key_hex[2 * IIOS_PAIR_KEY_LEN + 1], want[2 * IIOS_PAIR_PROOF_LEN + 1], got[80] = "";
	char path[] = "/tmp/iios-pair-XXXXXX", cmd[512];
	FILE *f, *p_out;
	int fd, i;

	for (i = 0; i < IIOS_PAIR_EXPORTER_LEN; i++)
		exp[i] = (uint8_t)(i * 7);
	cr_assert_eq(iios_pair_key("ABCD-EFGH-JKMN", key), 0);
	cr_assert_eq(iios_pair_proof(key, IIOS_PAIR_SERVER, exp, FP_C, FP_S, p), 0);
	hex(key, sizeof(key), key_hex);
	hex(p, sizeof(p), want);

	/* the key */
	fd = mkstemp(path);
	cr_assert_geq(fd, 0);
	f = fdopen(fd, "w");
	fwrite("iiostream pair code v1", 1, sizeof("iiostream pair code v1"), f);
	fwrite("ABCDEFGHJKMN", 1, 12, f);
	fclose(f);
	snprintf(cmd, sizeof(cmd), "openssl dgst -sha256 -r %s", path);
	p_out = popen(cmd, "r");
	cr_assert_not_null(fgets(got, sizeof(got), p_out));
	pclose(p_out);
	cr_assert_eq(strncmp(got, key_hex, 64), 0, "key: %s vs %s", got, key_hex);

	/* the proof */
	f = fopen(path, "w");
	fwrite("iiostream pair v1 server", 1, sizeof("iiostream pair v1 server"), f);
	fwrite(exp, 1, sizeof(exp), f);
	fwrite(FP_C, 1, sizeof(FP_C), f);
	fwrite(FP_S, 1, sizeof(FP_S), f);
	fclose(f);
	snprintf(cmd, sizeof(cmd), "openssl dgst -sha256 -r -mac HMAC -macopt hexkey:%s %s", key_hex, path);
	p_out = popen(cmd, "r");
	cr_assert_not_null(fgets(got, sizeof(got), p_out));
	pclose(p_out);
	unlink(path);
	cr_assert_eq(strncmp(got, want, 64), 0, "proof: %s vs %s", got, want);
}

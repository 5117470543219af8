// SPDX-License-Identifier: MIT
/*
 * The board's pairing store (server/tls/pairing.c): a code the admin made
 * admits one client, once, before it expires, over the connection its proof
 * was made for; wrong guesses are throttled and void the outstanding codes;
 * the paired list survives a reopen and a bad line in it is refused.
 */
#include <criterion/criterion.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pairing.h"

#define S_NS 1000000000ull

static char s_dir[64];
static char s_err[512];
static struct pairing s_p;
static uint8_t s_exp[IIOS_PAIR_EXPORTER_LEN] = { 9, 8, 7 };
static const char FP_C[] = "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
static const char FP_S[] = "sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";

static void setup(void)
{
	snprintf(s_dir, sizeof(s_dir), "/tmp/iios-pairing-XXXXXX");
	cr_assert_not_null(mkdtemp(s_dir));
	strcat(s_dir, "/pairing"); /* made by pairing_open */
	cr_assert_eq(pairing_open(&s_p, s_dir, s_err, sizeof(s_err)), 0, "%s", s_err);
}

static void teardown(void)
{
	char cmd[128];

	pairing_close(&s_p);
	*strrchr(s_dir, '/') = '\0';
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", s_dir);
	cr_assert_eq(system(cmd), 0);
}

TestSuite(pairing, .init = setup, .fini = teardown);

/* The client's side: its proof for `code` on the connection s_exp. */
static void client_proof(const char *code, const uint8_t *exporter, uint8_t proof[IIOS_PAIR_PROOF_LEN])
{
	uint8_t key[IIOS_PAIR_KEY_LEN];

	cr_assert_eq(iios_pair_key(code, key), 0);
	cr_assert_eq(iios_pair_proof(key, IIOS_PAIR_CLIENT, exporter, FP_C, FP_S, proof), 0);
}

static enum pairing_result try_code(const char *code, uint64_t now_ns, char *why, size_t len)
{
	uint8_t proof[IIOS_PAIR_PROOF_LEN], answer[IIOS_PAIR_PROOF_LEN];

	client_proof(code, s_exp, proof);
	return pairing_try(&s_p, now_ns, proof, s_exp, FP_C, FP_S, "alice@pc", answer, why, len);
}

Test(pairing, a_code_admits_one_client_once_and_the_board_proves_it_made_it)
{
	char code[IIOS_PAIR_CODE_LEN], why[256];
	uint8_t proof[IIOS_PAIR_PROOF_LEN], answer[IIOS_PAIR_PROOF_LEN], want[IIOS_PAIR_PROOF_LEN];
	uint8_t key[IIOS_PAIR_KEY_LEN];
	struct pairing again;
	struct stat st;
	char path[128];

	cr_assert_eq(pairing_new_code(s_dir, 600, code, s_err, sizeof(s_err)), 0, "%s", s_err);
	snprintf(path, sizeof(path), "%s/codes", s_dir);
	cr_assert_eq(stat(path, &st), 0);
	cr_assert_eq(st.st_mode & 077, 0, "codes is private");
	client_proof(code, s_exp, proof);
	cr_assert_eq(pairing_try(&s_p, 1 * S_NS, proof, s_exp, FP_C, FP_S, "alice@pc\x1b[2J", answer,
				 why, sizeof(why)), PAIRING_PAIRED, "%s", why);
	cr_assert_not_null(strstr(why, "alice@pc?[2J"), "the label is cleaned: %s", why);
	cr_assert_eq(iios_pair_key(code, key), 0);
	cr_assert_eq(iios_pair_proof(key, IIOS_PAIR_SERVER, s_exp, FP_C, FP_S, want), 0);
	cr_assert_eq(memcmp(answer, want, sizeof(want)), 0, "the board's proof");
	cr_assert(pairing_has(&s_p, FP_C + 7));
	cr_assert_not(pairing_has(&s_p, FP_S + 7));

	/* used up */
	cr_assert_eq(try_code(code, 2 * S_NS, why, sizeof(why)), PAIRING_REFUSED);
	cr_assert_not_null(strstr(why, "wrong, used or expired"), "%s", why);

	/* persisted */
	cr_assert_eq(pairing_open(&again, s_dir, s_err, sizeof(s_err)), 0, "%s", s_err);
	cr_assert(pairing_has(&again, FP_C + 7));
	cr_assert_eq(again.n_clients, 1);
	cr_assert_str_eq(again.clients[0].label, "alice@pc?[2J");
	pairing_close(&again);
}

Test(pairing, a_proof_made_for_another_connection_is_refused)
{
	char code[IIOS_PAIR_CODE_LEN], why[256];
	uint8_t proof[IIOS_PAIR_PROOF_LEN], answer[IIOS_PAIR_PROOF_LEN];
	uint8_t other[IIOS_PAIR_EXPORTER_LEN] = { 1 };

	cr_assert_eq(pairing_new_code(s_dir, 600, code, s_err, sizeof(s_err)), 0, "%s", s_err);
	client_proof(code, other, proof); /* relayed from the connection a man in the middle made */
	cr_assert_eq(pairing_try(&s_p, S_NS, proof, s_exp, FP_C, FP_S, "x", answer, why, sizeof(why)),
		     PAIRING_REFUSED);
	cr_assert_not(pairing_has(&s_p, FP_C + 7));
	/* the code is still good for its rightful client */
	cr_assert_eq(try_code(code, 2 * S_NS, why, sizeof(why)), PAIRING_PAIRED, "%s", why);
}

Test(pairing, an_expired_code_is_refused)
{
	char code[IIOS_PAIR_CODE_LEN], why[256];

	cr_assert_eq(pairing_new_code(s_dir, 0, code, s_err, sizeof(s_err)), 0, "%s", s_err);
	cr_assert_eq(try_code(code, S_NS, why, sizeof(why)), PAIRING_REFUSED);
	cr_assert_not(pairing_has(&s_p, FP_C + 7));
}

Test(pairing, guesses_are_throttled_and_void_the_outstanding_codes)
{
	char code[IIOS_PAIR_CODE_LEN], why[256];
	uint64_t t = 100 * S_NS;
	int i;

	cr_assert_eq(pairing_new_code(s_dir, 600, code, s_err, sizeof(s_err)), 0, "%s", s_err);
	for (i = 0; i < PAIRING_BURST; i++)
		cr_assert_eq(try_code("0000-0000-0000", t, why, sizeof(why)), PAIRING_REFUSED);
	/* the burst is spent: even the right code waits */
	cr_assert_eq(try_code(code, t, why, sizeof(why)), PAIRING_THROTTLED);
	cr_assert_not_null(strstr(why, "try again in"), "%s", why);
	cr_assert_eq(s_p.throttled_total, 1);
	/* a token comes back after PAIRING_REFILL_S; guesses go on to the limit */
	for (i = PAIRING_BURST; i < PAIRING_MAX_FAILURES; i++) {
		t += PAIRING_REFILL_S * S_NS;
		cr_assert_eq(try_code("0000-0000-0000", t, why, sizeof(why)), PAIRING_REFUSED);
	}
	cr_assert_not_null(strstr(why, "every outstanding code is void"), "%s", why);
	t += PAIRING_REFILL_S * S_NS;
	cr_assert_eq(try_code(code, t, why, sizeof(why)), PAIRING_REFUSED, "the code was voided: %s", why);
	cr_assert_not(pairing_has(&s_p, FP_C + 7));
	/* a new code works */
	cr_assert_eq(pairing_new_code(s_dir, 600, code, s_err, sizeof(s_err)), 0, "%s", s_err);
	t += PAIRING_REFILL_S * S_NS;
	cr_assert_eq(try_code(code, t, why, sizeof(why)), PAIRING_PAIRED, "%s", why);
}

Test(pairing, a_removed_line_unpairs_on_reload_and_a_bad_line_is_refused)
{
	char code[IIOS_PAIR_CODE_LEN], why[256], path[128];
	FILE *f;

	cr_assert_eq(pairing_new_code(s_dir, 600, code, s_err, sizeof(s_err)), 0, "%s", s_err);
	cr_assert_eq(try_code(code, S_NS, why, sizeof(why)), PAIRING_PAIRED, "%s", why);
	snprintf(path, sizeof(path), "%s/clients", s_dir);
	f = fopen(path, "w");
	fprintf(f, "# unpaired alice\n");
	fclose(f);
	cr_assert_eq(pairing_reload(&s_p, s_err, sizeof(s_err)), 0, "%s", s_err);
	cr_assert_not(pairing_has(&s_p, FP_C + 7));

	f = fopen(path, "a");
	fprintf(f, "sha256:1234 bob\n");
	fclose(f);
	cr_assert_eq(pairing_reload(&s_p, s_err, sizeof(s_err)), -EINVAL);
	cr_assert_not_null(strstr(s_err, "clients:2:"), "names file and line: %s", s_err);
}

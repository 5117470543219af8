// SPDX-License-Identifier: MIT
/*
 * Self-made identities (common/src/identity.c): created once with the
 * right modes, the same on every later open, the same when two processes
 * race to create it, refused when the key is exposed or half missing;
 * fingerprints as openssl prints them.
 */
#include <criterion/criterion.h>

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "iiostream/identity.h"

static char s_dir[64];
static char s_err[512];

static void make_tmp(void)
{
	snprintf(s_dir, sizeof(s_dir), "/tmp/iios-identity-XXXXXX");
	cr_assert_not_null(mkdtemp(s_dir));
}

static void remove_tmp(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", s_dir);
	cr_assert_eq(system(cmd), 0);
}

TestSuite(identity, .init = make_tmp, .fini = remove_tmp);

static mode_t mode_of(const char *path)
{
	struct stat st;

	cr_assert_eq(stat(path, &st), 0, "%s: %s", path, strerror(errno));
	return st.st_mode & 07777;
}

Test(identity, created_once_with_private_modes_then_reopened_unchanged)
{
	const char *names[] = { "board", "board.local", NULL };
	struct iios_identity a, b;
	char dir[128], fp[IIOS_FINGERPRINT_LEN];

	snprintf(dir, sizeof(dir), "%s/state/identity", s_dir);
	cr_assert_eq(iios_identity_open(dir, "board", names, &a, s_err, sizeof(s_err)), 0, "%s", s_err);
	cr_assert(a.created);
	cr_assert_str_eq(a.subject_cn, "board");
	cr_assert_eq(mode_of(dir), 0700);
	cr_assert_eq(mode_of(a.key_file), 0600);
	cr_assert_eq(strncmp(a.fingerprint, "sha256:", 7), 0);
	cr_assert_eq(strlen(a.fingerprint), 7 + 64);

	cr_assert_eq(iios_identity_open(dir, "other-name", NULL, &b, s_err, sizeof(s_err)), 0, "%s", s_err);
	cr_assert_not(b.created, "an existing identity is used, never replaced");
	cr_assert_str_eq(b.fingerprint, a.fingerprint);
	cr_assert_str_eq(b.subject_cn, "board");

	cr_assert_eq(iios_fingerprint_file(a.cert_file, fp, s_err, sizeof(s_err)), 0, "%s", s_err);
	cr_assert_str_eq(fp, a.fingerprint);
}

Test(identity, fingerprint_matches_openssl_x509)
{
	struct iios_identity id;
	char cmd[PATH_MAX + 64], line[256], want[IIOS_FINGERPRINT_LEN];
	FILE *p;

	cr_assert_eq(iios_identity_open(s_dir, "x", NULL, &id, s_err, sizeof(s_err)), 0, "%s", s_err);
	snprintf(cmd, sizeof(cmd), "openssl x509 -noout -fingerprint -sha256 -in '%s'", id.cert_file);
	p = popen(cmd, "r");
	cr_assert_not_null(p);
	cr_assert_not_null(fgets(line, sizeof(line), p));
	cr_assert_eq(pclose(p), 0);
	line[strcspn(line, "\n")] = '\0';
	/* "sha256 Fingerprint=AB:CD:..." */
	cr_assert_eq(iios_fingerprint_parse(strchr(line, '=') + 1, want), 0, "%s", line);
	cr_assert_str_eq(id.fingerprint, want);
}

Test(identity, two_processes_creating_at_once_get_one_identity)
{
	struct iios_identity mine, later;
	char dir[128], fp_child[IIOS_FINGERPRINT_LEN] = "";
	int pipefd[2], status, i;
	pid_t pid[4];

	snprintf(dir, sizeof(dir), "%s/race", s_dir);
	cr_assert_eq(pipe(pipefd), 0);
	for (i = 0; i < 4; i++) {
		pid[i] = fork();
		cr_assert_geq(pid[i], 0);
		if (pid[i] == 0) {
			struct iios_identity id;
			char err[512];

			if (iios_identity_open(dir, "race", NULL, &id, err, sizeof(err)) < 0)
				_exit(1);
			if (write(pipefd[1], id.fingerprint, IIOS_FINGERPRINT_LEN) != IIOS_FINGERPRINT_LEN)
				_exit(2);
			_exit(0);
		}
	}
	cr_assert_eq(iios_identity_open(dir, "race", NULL, &mine, s_err, sizeof(s_err)), 0, "%s", s_err);
	for (i = 0; i < 4; i++) {
		cr_assert_eq(waitpid(pid[i], &status, 0), pid[i]);
		cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child %d failed", i);
		cr_assert_eq(read(pipefd[0], fp_child, sizeof(fp_child)), (ssize_t)sizeof(fp_child));
		cr_assert_str_eq(fp_child, mine.fingerprint);
	}
	cr_assert_eq(iios_identity_open(dir, "race", NULL, &later, s_err, sizeof(s_err)), 0, "%s", s_err);
	cr_assert_str_eq(later.fingerprint, mine.fingerprint);
	close(pipefd[0]);
	close(pipefd[1]);
}

Test(identity, key_readable_by_others_is_refused)
{
	struct iios_identity id;

	cr_assert_eq(iios_identity_open(s_dir, "x", NULL, &id, s_err, sizeof(s_err)), 0, "%s", s_err);
	cr_assert_eq(chmod(id.key_file, 0644), 0);
	cr_assert_eq(iios_identity_open(s_dir, "x", NULL, &id, s_err, sizeof(s_err)), -EPERM);
	cr_assert_not_null(strstr(s_err, "chmod 600"), "%s", s_err);
}

Test(identity, half_an_identity_is_refused_not_replaced)
{
	struct iios_identity id;

	cr_assert_eq(iios_identity_open(s_dir, "x", NULL, &id, s_err, sizeof(s_err)), 0, "%s", s_err);
	cr_assert_eq(unlink(id.key_file), 0);
	cr_assert_eq(iios_identity_open(s_dir, "x", NULL, &id, s_err, sizeof(s_err)), -EINVAL);
	cr_assert_not_null(strstr(s_err, "has cert.pem but not key.pem"), "%s", s_err);
	cr_assert_eq(access(id.key_file, F_OK), -1, "no new key was made beside the old certificate");
}

Test(identity, key_of_another_certificate_is_refused)
{
	struct iios_identity a, b;
	char dir_b[128], cmd[2 * PATH_MAX + 16];

	snprintf(dir_b, sizeof(dir_b), "%s/b", s_dir);
	cr_assert_eq(iios_identity_open(s_dir, "a", NULL, &a, s_err, sizeof(s_err)), 0, "%s", s_err);
	cr_assert_eq(iios_identity_open(dir_b, "b", NULL, &b, s_err, sizeof(s_err)), 0, "%s", s_err);
	snprintf(cmd, sizeof(cmd), "cp -p '%s' '%s'", b.key_file, a.key_file);
	cr_assert_eq(system(cmd), 0);
	cr_assert_eq(iios_identity_open(s_dir, "a", NULL, &a, s_err, sizeof(s_err)), -EINVAL);
	cr_assert_not_null(strstr(s_err, "does not match"), "%s", s_err);
}

Test(identity, fingerprints_parse_as_users_type_them)
{
	char out[IIOS_FINGERPRINT_LEN];
	const char *hex = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
	char want[IIOS_FINGERPRINT_LEN];

	snprintf(want, sizeof(want), "sha256:%s", hex);
	cr_assert_eq(iios_fingerprint_parse(hex, out), 0);
	cr_assert_str_eq(out, want);
	cr_assert_eq(iios_fingerprint_parse("SHA256:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:"
					    "00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF", out), 0);
	cr_assert_str_eq(out, want);
	cr_assert_eq(iios_fingerprint_parse("sha256:0011", out), -EINVAL);
	cr_assert_eq(iios_fingerprint_parse("sha256:zz112233445566778899aabbccddeeff00112233445566778899aabbccddeeff", out), -EINVAL);
	cr_assert_eq(iios_fingerprint_parse("00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff00", out), -EINVAL);
}

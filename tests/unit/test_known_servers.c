// SPDX-License-Identifier: MIT
/*
 * The known-servers file of trust on first use (client/lib/known_servers.c):
 * its parser (entries, comments, keys as dialled, every malformed line
 * refused with file:line, a server given two fingerprints), its writer
 * (made 0600 in a 0700 directory, appended to, other lines kept, never
 * rewritten), and where the files live by default.
 */
#include <criterion/criterion.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "client_internal.h"

#define FP_A "sha256:" "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define FP_B "sha256:" "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210"

/* iios__known_parse() of text for key: its result, fp and line. */
static int parse(const char *text, const char *key, char fp[IIOS_FINGERPRINT_LEN],
		 unsigned *line, char *err, size_t errlen)
{
	return iios__known_parse(text, strlen(text), "KS", key, fp, line, err, errlen);
}

Test(known_servers, finds_a_server_among_comments_and_blank_lines)
{
	const char *text = "# my boards\n\n  \t\nboard:30433 " FP_A "\n"
			   "[fe80::1]:4000 " FP_B "  # the lab one\r\n"
			   "other:30433 sha256:FEDCBA9876543210FEDCBA9876543210FEDCBA9876543210FEDCBA9876543210";
	char fp[IIOS_FINGERPRINT_LEN], err[256] = "";
	unsigned line = 0;

	cr_assert_eq(parse(text, "board:30433", fp, &line, err, sizeof(err)), 1, "%s", err);
	cr_assert_str_eq(fp, FP_A);
	cr_assert_eq(line, 4);
	cr_assert_eq(parse(text, "[fe80::1]:4000", fp, &line, err, sizeof(err)), 1, "%s", err);
	cr_assert_str_eq(fp, FP_B);
	cr_assert_eq(line, 5);
	/* upper case hex, no newline at the end: read as written */
	cr_assert_eq(parse(text, "other:30433", fp, &line, err, sizeof(err)), 1, "%s", err);
	cr_assert_str_eq(fp, FP_B);
	cr_assert_eq(parse(text, "board:30434", fp, &line, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(parse("", "board:30433", fp, &line, err, sizeof(err)), 0);
}

Test(known_servers, keys_are_the_host_as_dialled_with_its_port)
{
	struct iios__url u;
	char key[320], err[128];

	cr_assert_eq(iios__parse_url("tls://Board.LAN", &u, err, sizeof(err)), 0);
	iios__server_key(&u, key, sizeof(key));
	cr_assert_str_eq(key, "board.lan:30433");
	cr_assert_eq(iios__parse_url("tls://[::1]:99", &u, err, sizeof(err)), 0);
	iios__server_key(&u, key, sizeof(key));
	cr_assert_str_eq(key, "[::1]:99");
	/* a line's server is read the same way */
	cr_assert_eq(parse("BOARD.lan:30433 " FP_A "\n", "board.lan:30433", (char[72]){ 0 }, NULL,
			   err, sizeof(err)), 1, "%s", err);
}

Test(known_servers, every_malformed_line_is_refused_with_file_and_line)
{
	static const struct {
		const char *line;
		const char *why;
	} bad[] = {
		{ "board:30433", "no fingerprint" },
		{ "board " FP_A, "not HOST:PORT" },
		{ "board:0 " FP_A, "not HOST:PORT" },
		{ "board:70000 " FP_A, "not HOST:PORT" },
		{ "a:b:1 " FP_A, "not HOST:PORT" },
		{ "[::1 " FP_A, "not HOST:PORT" },
		{ "board:30433 sha256:0123", "64 hex digits" },
		{ "board:30433 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
		  "64 hex digits" },
		{ "board:30433 sha1:0123456789abcdef0123456789abcdef01234567", "64 hex digits" },
		{ "board:30433 " FP_A " extra", "more than two fields" },
	};
	char fp[IIOS_FINGERPRINT_LEN], text[512], err[512];
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		/* the good line for the server comes first: still refused whole */
		snprintf(text, sizeof(text), "# c\nboard:30433 %s\n%s\n", FP_A, bad[i].line);
		err[0] = '\0';
		cr_assert_eq(parse(text, "board:30433", fp, NULL, err, sizeof(err)), -EINVAL,
			     "accepted '%s'", bad[i].line);
		cr_assert(strncmp(err, "KS:3: ", 6) == 0, "'%s': %s", bad[i].line, err);
		cr_assert(strstr(err, bad[i].why), "'%s': %s", bad[i].line, err);
	}
	/* a NUL byte, and a line too long to be one */
	cr_assert_eq(iios__known_parse("board:1 x\0y\n", 12, "KS", "board:1", fp, NULL, err,
				       sizeof(err)), -EINVAL);
	cr_assert(strstr(err, "KS:1: ") && strstr(err, "NUL"), "%s", err);
	{
		static char big[3000];

		memset(big, 'a', sizeof(big) - 1);
		cr_assert_eq(parse(big, "board:1", fp, NULL, err, sizeof(err)), -EINVAL);
		cr_assert(strstr(err, "KS:1: "), "%s", err);
	}
}

Test(known_servers, a_server_given_two_fingerprints_is_refused)
{
	char fp[IIOS_FINGERPRINT_LEN], err[512];
	unsigned line = 0;

	cr_assert_eq(parse("b:1 " FP_A "\nc:1 " FP_B "\nb:1 " FP_B "\n", "b:1", fp, &line, err,
			   sizeof(err)), -EINVAL);
	cr_assert(strstr(err, "KS:3: a second line for b:1") && strstr(err, "line 1"), "%s", err);
	/* the same line twice is harmless */
	cr_assert_eq(parse("b:1 " FP_A "\nb:1 " FP_A "\n", "b:1", fp, &line, err, sizeof(err)), 1);
	cr_assert_eq(line, 1);
}

static char dir[64];

static void make_dir(void)
{
	snprintf(dir, sizeof(dir), "/tmp/iiostream-ks-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
}

static void remove_dir(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	cr_assert_eq(system(cmd), 0);
}

static void slurp(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "r");
	size_t n;

	cr_assert_not_null(f, "%s", path);
	n = fread(buf, 1, len - 1, f);
	buf[n] = '\0';
	fclose(f);
}

static unsigned mode_of(const char *path)
{
	struct stat st;

	cr_assert_eq(stat(path, &st), 0, "%s", path);
	return st.st_mode & 07777;
}

Test(known_servers, add_makes_the_file_private_and_appends, .init = make_dir, .fini = remove_dir)
{
	char file[160], sub[128], text[1024], fp[IIOS_FINGERPRINT_LEN], err[512];
	unsigned line;

	snprintf(sub, sizeof(sub), "%s/a/iiostream", dir);
	snprintf(file, sizeof(file), "%s/known_servers", sub);
	cr_assert_eq(iios_known_servers_find(file, "tls://board", fp, &line, err, sizeof(err)), 0);
	cr_assert_eq(iios_known_servers_add(file, "tls://Board", FP_A, err, sizeof(err)), 0, "%s",
		     err);
	cr_assert_eq(mode_of(file), 0600);
	cr_assert_eq(mode_of(sub), 0700);
	/* the fingerprint as a user types it: normalised */
	cr_assert_eq(iios_known_servers_add(file, "tls://[::1]:7",
					    "FE:DC:BA:98:76:54:32:10:FE:DC:BA:98:76:54:32:10:FE:DC:"
					    "BA:98:76:54:32:10:FE:DC:BA:98:76:54:32:10", err,
					    sizeof(err)), 0, "%s", err);
	slurp(file, text, sizeof(text));
	cr_assert_str_eq(text, "board:30433 " FP_A "\n[::1]:7 " FP_B "\n");
	cr_assert_eq(iios_known_servers_find(file, "tls://board:30433", fp, &line, err,
					     sizeof(err)), 1, "%s", err);
	cr_assert_str_eq(fp, FP_A);
	cr_assert_eq(line, 1);

	/* the same again: nothing written; another fingerprint: refused, kept */
	cr_assert_eq(iios_known_servers_add(file, "tls://board", FP_A, err, sizeof(err)), 0);
	cr_assert_eq(iios_known_servers_add(file, "tls://board", FP_B, err, sizeof(err)),
		     -EKEYREJECTED);
	cr_assert(strstr(err, ":1 already has board:30433"), "%s", err);
	slurp(file, text, sizeof(text));
	cr_assert_str_eq(text, "board:30433 " FP_A "\n[::1]:7 " FP_B "\n");
	cr_assert_eq(iios_known_servers_add(file, "tcp://board", FP_A, err, sizeof(err)), -EINVAL);
	cr_assert_eq(iios_known_servers_add(file, "tls://board", "sha256:12", err, sizeof(err)),
		     -EINVAL);
}

Test(known_servers, add_keeps_a_hand_edited_file_whole, .init = make_dir, .fini = remove_dir)
{
	char file[128], text[1024], err[512];
	int fd;

	snprintf(file, sizeof(file), "%s/ks", dir);
	fd = open(file, O_WRONLY | O_CREAT | O_EXCL, 0644);
	cr_assert_geq(fd, 0);
	/* no newline at its end */
	cr_assert_eq(write(fd, "# mine\nb:1 " FP_A, 7 + 4 + 71), 7 + 4 + 71);
	close(fd);
	cr_assert_eq(iios_known_servers_add(file, "tls://c:2", FP_B, err, sizeof(err)), 0, "%s",
		     err);
	slurp(file, text, sizeof(text));
	cr_assert_str_eq(text, "# mine\nb:1 " FP_A "\nc:2 " FP_B "\n");
	cr_assert_eq(mode_of(file), 0644, "the user's mode is kept");

	/* damaged: refused whole, not appended to */
	fd = open(file, O_WRONLY | O_APPEND);
	cr_assert_eq(write(fd, "junk\n", 5), 5);
	close(fd);
	cr_assert_eq(iios_known_servers_add(file, "tls://d:3", FP_A, err, sizeof(err)), -EINVAL);
	cr_assert(strstr(err, "/ks:4: "), "%s", err);
	slurp(file, text, sizeof(text));
	cr_assert_str_eq(text, "# mine\nb:1 " FP_A "\nc:2 " FP_B "\njunk\n");

	/* writable by others: no ground for trust */
	cr_assert_eq(chmod(file, 0666), 0);
	cr_assert_eq(iios_known_servers_find(file, "tls://b:1", (char[72]){ 0 }, NULL, err,
					     sizeof(err)), -EPERM);
	cr_assert(strstr(err, "chmod 600"), "%s", err);
}

Test(known_servers, default_paths_follow_xdg_then_home)
{
	char path[256];

	setenv("XDG_CONFIG_HOME", "/x/cfg", 1);
	setenv("HOME", "/h", 1);
	cr_assert_eq(iios_config_path("known_servers", path, sizeof(path)), 0);
	cr_assert_str_eq(path, "/x/cfg/iiostream/known_servers");
	setenv("XDG_CONFIG_HOME", "relative", 1); /* not absolute: ignored (XDG) */
	cr_assert_eq(iios_config_path("identity", path, sizeof(path)), 0);
	cr_assert_str_eq(path, "/h/.config/iiostream/identity");
	unsetenv("XDG_CONFIG_HOME");
	cr_assert_eq(iios_config_path("identity", path, sizeof(path)), 0);
	cr_assert_str_eq(path, "/h/.config/iiostream/identity");
	cr_assert_eq(iios_config_path("identity", path, 8), -ENAMETOOLONG);
}

Test(known_servers, the_refusals_say_what_to_do)
{
	char err[1024];

	setenv("XDG_CONFIG_HOME", "/x", 1);
	iios__known_unknown_msg(err, sizeof(err), "b:1", "/x/iiostream/known_servers", FP_A);
	cr_assert(strstr(err, "tls://b:1 is not a known server: its certificate is " FP_A), "%s",
		  err);
	cr_assert(strstr(err, "iiostream info --url tls://b:1 --trust-new;"), "%s", err);
	cr_assert(strstr(err, "add the line 'b:1 " FP_A "' to /x/iiostream/known_servers"), "%s",
		  err);
	/* another file than the default: the command names it */
	iios__known_unknown_msg(err, sizeof(err), "b:1", "/y/ks", FP_A);
	cr_assert(strstr(err, "--trust-new --known-servers /y/ks;"), "%s", err);
	iios__known_changed_msg(err, sizeof(err), "b:1", "/y/ks", 3, FP_A, FP_B);
	cr_assert(strstr(err, "CHANGED: it presented " FP_B ", but /y/ks:3 pins " FP_A), "%s", err);
	cr_assert(strstr(err, "remove line 3 of /y/ks"), "%s", err);
}

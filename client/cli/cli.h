/* SPDX-License-Identifier: MIT */
/* The iiostream command-line tool: one file per command. */
#ifndef IIOSTREAM_CLI_H
#define IIOSTREAM_CLI_H

#define CLI_DEFAULT_URL "tcp://127.0.0.1:30432"

/* Exit codes of every command. */
enum cli_exit {
	CLI_OK = 0,
	CLI_FAILED = 1,      /* connection or server error */
	CLI_USAGE = 2,       /* bad command line */
	CLI_INTEGRITY = 3,   /* rx --verify found wrong data */
};

int cmd_info(int argc, char **argv);
int cmd_stats(int argc, char **argv);
int cmd_rx(int argc, char **argv);

#endif /* IIOSTREAM_CLI_H */

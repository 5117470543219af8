// SPDX-License-Identifier: MIT
/* What the streaming commands (rx, tx) share: their clock and Ctrl-C. See
 * cli.h. */
#include <signal.h>
#include <time.h>

#include "cli.h"

volatile sig_atomic_t cli_interrupted;

static void on_interrupt(int sig)
{
	(void)sig;
	cli_interrupted = 1;
}

void cli_catch_interrupt(bool sigterm_too)
{
	struct sigaction sa = { .sa_handler = on_interrupt, .sa_flags = SA_RESTART };

	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	if (sigterm_too)
		sigaction(SIGTERM, &sa, NULL);
}

double cli_now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

// SPDX-License-Identifier: MIT
/*
 * iiostreamd's command line (server/core/config.c): defaults, every flag, and
 * every way to get a flag wrong, each refused with a message that names it;
 * the option table that drives it (options.c), and SIGHUP's use of that
 * table (reload.c).
 */
#include <criterion/criterion.h>

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "iiostream/frame.h"
#include "log.h"
#include "options.h"
#include "reload.h"
#include "server.h"
#include "source.h"
#include "transport.h"

static struct config cfg;
static char err[256];

/* Parse a NULL-less argv built in place: PARSE("--rate", "5"). argv[0] is
 * supplied. The array is a compound literal, so getopt may permute it. */
#define PARSE(...)                                                                 \
	parse((char *[]){ "iiostreamd", __VA_ARGS__, NULL },                       \
	      (int)(sizeof((char *[]){ "iiostreamd", __VA_ARGS__ }) / sizeof(char *)))

static enum config_result parse(char **argv, int argc)
{
	config_defaults(&cfg);
	memset(err, 0, sizeof(err));
	return config_parse_args(&cfg, argc, argv, err, sizeof(err));
}

/* An error that names `what` in its message. */
#define assert_error_naming(r, what)                                               \
	do {                                                                       \
		cr_assert_eq((r), CONFIG_ERROR);                                   \
		cr_assert(strstr(err, (what)), "error '%s' does not name '%s'", err, \
			  (what));                                                 \
	} while (0)

static enum config_result parse_file(const char *text, char *flag, char *value,
				     char *path, size_t pathlen);

Test(config, defaults)
{
	char *argv[] = { "iiostreamd", NULL };

	cr_assert_eq(parse(argv, 1), CONFIG_OK, "%s", err);
	cr_assert_eq(cfg.sources.n, 1);
	cr_assert_str_eq(cfg.sources.spec[0], "auto", "every device of the board (sim if none)");
	cr_assert_eq(cfg.memory_budget, 512u << 20);
	cr_assert_str_eq(cfg.listen_host, "127.0.0.1");
	cr_assert_eq(cfg.listen_port, IIOS_DEFAULT_PORT);
	cr_assert_eq(cfg.sample_rate, 1000000);
	cr_assert_eq(cfg.channels, 2);
	cr_assert_eq(cfg.block_size, 1024 * 1024);
	cr_assert_eq(cfg.blocks, 8);
	cr_assert_eq(cfg.client_queue, 4);
	cr_assert_str_eq(cfg.port_file, "");
	cr_assert_eq(cfg.log_level, LOG_INFO);
}

Test(config, parses_every_flag)
{
	enum config_result r = PARSE("--source", "sim", "--listen", "0.0.0.0:1234",
				     "--rate", "2500000", "--channels", "4",
				     "--block-size", "65536", "--blocks", "16",
				     "--client-queue", "7", "--port-file", "/tmp/port",
				     "--log-level", "debug");

	cr_assert_eq(r, CONFIG_OK, "%s", err);
	cr_assert_eq(cfg.sources.n, 1);
	cr_assert_str_eq(cfg.sources.spec[0], "sim");
	cr_assert_str_eq(cfg.listen_host, "0.0.0.0");
	cr_assert_eq(cfg.listen_port, 1234);
	cr_assert_eq(cfg.sample_rate, 2500000);
	cr_assert_eq(cfg.channels, 4);
	cr_assert_eq(cfg.block_size, 65536);
	cr_assert_eq(cfg.blocks, 16);
	cr_assert_eq(cfg.client_queue, 7);
	cr_assert_str_eq(cfg.port_file, "/tmp/port");
	cr_assert_eq(cfg.log_level, LOG_DEBUG);
}

Test(config, accepts_flag_equals_value)
{
	cr_assert_eq(PARSE("--rate=0", "--channels=1", "--block-size=2"), CONFIG_OK, "%s", err);
	cr_assert_eq(cfg.sample_rate, 0);
	cr_assert_eq(cfg.channels, 1);
	cr_assert_eq(cfg.block_size, 2);
}

Test(config, parses_every_log_level)
{
	static const struct { const char *name; enum log_level lvl; } levels[] = {
		{ "error", LOG_ERROR }, { "warn", LOG_WARN },
		{ "info", LOG_INFO }, { "debug", LOG_DEBUG },
	};
	size_t i;

	for (i = 0; i < sizeof(levels) / sizeof(levels[0]); i++) {
		cr_assert_eq(PARSE("--log-level", (char *)levels[i].name), CONFIG_OK, "%s", err);
		cr_assert_eq(cfg.log_level, levels[i].lvl, "%s", levels[i].name);
	}
}

Test(config, later_flag_wins)
{
	cr_assert_eq(PARSE("--rate", "5", "--rate", "6"), CONFIG_OK, "%s", err);
	cr_assert_eq(cfg.sample_rate, 6);
}

Test(config, block_size_takes_binary_k_and_m_suffixes)
{
	cr_assert_eq(PARSE("--block-size", "4K"), CONFIG_OK, "%s", err);
	cr_assert_eq(cfg.block_size, 4096);
	cr_assert_eq(PARSE("--block-size", "4k"), CONFIG_OK, "%s", err);
	cr_assert_eq(cfg.block_size, 4096);
	cr_assert_eq(PARSE("--block-size", "2M"), CONFIG_OK, "%s", err);
	cr_assert_eq(cfg.block_size, 2 * 1024 * 1024);
	cr_assert_eq(PARSE("--block-size", "64M"), CONFIG_OK, "%s", err);
	cr_assert_eq(cfg.block_size, IIOS_FRAME_MAX_PAYLOAD);
}

Test(config, block_size_rejects_a_bad_suffix_or_too_much)
{
	assert_error_naming(PARSE("--block-size", "4G"), "--block-size");
	assert_error_naming(PARSE("--block-size", "4KB"), "--block-size");
	assert_error_naming(PARSE("--block-size", "K"), "--block-size");
	assert_error_naming(PARSE("--block-size", "65M"), "--block-size");
	assert_error_naming(PARSE("--block-size", "0"), "--block-size");
	assert_error_naming(PARSE("--block-size", "99999999999999999999999K"), "--block-size");
}

Test(config, rate_takes_its_bounds)
{
	cr_assert_eq(PARSE("--rate", "0"), CONFIG_OK, "%s", err);
	cr_assert_eq(cfg.sample_rate, 0);
	cr_assert_eq(PARSE("--rate", "1000000000"), CONFIG_OK, "%s", err);
	cr_assert_eq(cfg.sample_rate, CONFIG_MAX_RATE);
	assert_error_naming(PARSE("--rate", "1000000001"), "--rate");
	assert_error_naming(PARSE("--rate", "99999999999999999999999"), "--rate");
}

Test(config, rejects_unknown_flag)
{
	assert_error_naming(PARSE("--frobnicate"), "--frobnicate");
	assert_error_naming(PARSE("--rate", "5", "--bogus", "1"), "--bogus");
}

Test(config, rejects_unknown_short_option)
{
	assert_error_naming(PARSE("-x"), "-x");
}

Test(config, rejects_unknown_short_option_cluster_naming_it)
{
	/* getopt has not advanced optind past "-xy" when it reports 'x'. */
	assert_error_naming(PARSE("-xy"), "-x");
}

Test(config, rejects_missing_value)
{
	assert_error_naming(PARSE("--rate"), "--rate");
	cr_assert(strstr(err, "value"), "%s", err);
	assert_error_naming(PARSE("--channels", "2", "--listen"), "--listen");
}

Test(config, rejects_rate_that_is_not_a_number)
{
	assert_error_naming(PARSE("--rate", "abc"), "--rate");
	cr_assert(strstr(err, "abc"), "%s", err);
	assert_error_naming(PARSE("--rate", "5x"), "--rate");
	assert_error_naming(PARSE("--rate", ""), "--rate");
	assert_error_naming(PARSE("--rate", " 5"), "--rate");
}

Test(config, rejects_negative_rate)
{
	assert_error_naming(PARSE("--rate", "-5"), "--rate");
	assert_error_naming(PARSE("--rate=-5"), "--rate");
}

Test(config, rejects_channels_out_of_range)
{
	assert_error_naming(PARSE("--channels", "0"), "--channels");
	assert_error_naming(PARSE("--channels", "65"), "--channels");
	cr_assert_eq(PARSE("--channels", "64"), CONFIG_OK, "%s", err);
	cr_assert_eq(cfg.channels, 64);
	cr_assert_eq(PARSE("--channels", "1"), CONFIG_OK, "%s", err);
}

Test(config, rejects_blocks_out_of_range)
{
	assert_error_naming(PARSE("--blocks", "1"), "--blocks");
	assert_error_naming(PARSE("--blocks", "257"), "--blocks");
	cr_assert_eq(PARSE("--blocks", "2"), CONFIG_OK, "%s", err);
	cr_assert_eq(PARSE("--blocks", "256"), CONFIG_OK, "%s", err);
	cr_assert_eq(cfg.blocks, 256);
}

Test(config, rejects_client_queue_out_of_range)
{
	assert_error_naming(PARSE("--client-queue", "0"), "--client-queue");
	assert_error_naming(PARSE("--client-queue", "257"), "--client-queue");
}

Test(config, rejects_block_size_that_is_not_whole_scans)
{
	assert_error_naming(PARSE("--block-size", "3", "--channels", "2"), "--block-size");
	/* The check is made after every flag, whatever their order. */
	assert_error_naming(PARSE("--channels", "3", "--block-size", "4K"), "--block-size");
	cr_assert_eq(PARSE("--channels", "3", "--block-size", "6K"), CONFIG_OK, "%s", err);
	/* The default 1M with 3 channels is not whole scans either. */
	assert_error_naming(PARSE("--channels", "3"), "--block-size");
}

Test(config, listen_parses_host_and_port)
{
	cr_assert_eq(PARSE("--listen", "localhost:0"), CONFIG_OK, "%s", err);
	cr_assert_str_eq(cfg.listen_host, "localhost");
	cr_assert_eq(cfg.listen_port, 0);
	cr_assert_eq(PARSE("--listen", "10.1.2.3:65535"), CONFIG_OK, "%s", err);
	cr_assert_str_eq(cfg.listen_host, "10.1.2.3");
	cr_assert_eq(cfg.listen_port, 65535);
}

Test(config, listen_accepts_bracketed_ipv6)
{
	cr_assert_eq(PARSE("--listen", "[::1]:5"), CONFIG_OK, "%s", err);
	cr_assert_str_eq(cfg.listen_host, "::1");
	cr_assert_eq(cfg.listen_port, 5);
	cr_assert_eq(PARSE("--listen", "[fe80::1:2]:30432"), CONFIG_OK, "%s", err);
	cr_assert_str_eq(cfg.listen_host, "fe80::1:2");
	cr_assert_eq(cfg.listen_port, 30432);
}

Test(config, listen_rejects_missing_port)
{
	assert_error_naming(PARSE("--listen", "localhost"), "--listen");
	assert_error_naming(PARSE("--listen", "localhost:"), "--listen");
	assert_error_naming(PARSE("--listen", "[::1]"), "--listen");
}

Test(config, listen_rejects_port_out_of_range)
{
	assert_error_naming(PARSE("--listen", "localhost:70000"), "--listen");
	assert_error_naming(PARSE("--listen", "localhost:65536"), "--listen");
	assert_error_naming(PARSE("--listen", "localhost:-1"), "--listen");
	assert_error_naming(PARSE("--listen", "localhost:http"), "--listen");
}

Test(config, listen_rejects_empty_host)
{
	assert_error_naming(PARSE("--listen", ":5"), "--listen");
	assert_error_naming(PARSE("--listen", "[]:5"), "--listen");
}

Test(config, listen_rejects_host_too_long)
{
	char arg[300];

	memset(arg, 'h', 256);
	strcpy(arg + 256, ":80");
	assert_error_naming(PARSE("--listen", arg), "--listen");
	memset(arg, 'h', 255);
	strcpy(arg + 255, ":80");
	cr_assert_eq(PARSE("--listen", arg), CONFIG_OK, "%s", err);
	cr_assert_eq(strlen(cfg.listen_host), 255);
}

Test(config, rejects_unknown_source)
{
	assert_error_naming(PARSE("--source", "nope"), "--source");
	cr_assert(strstr(err, "nope"), "%s", err);
}

Test(config, source_takes_a_kernel_node_or_device_name)
{
	struct source_spec spec;

	cr_assert_eq(PARSE("--source", "kernel:/dev/iio_block3"), CONFIG_OK, "%s", err);
	cr_assert_str_eq(cfg.sources.spec[0], "kernel:/dev/iio_block3");
	cr_assert_eq(source_spec_parse(cfg.sources.spec[0], &spec, err, sizeof(err)), 0);
	cr_assert_str_eq(spec.arg, "/dev/iio_block3");
	cr_assert_eq(spec.ops, &source_kernel_ops);
	cr_assert_eq(PARSE("--source", "kernel"), CONFIG_OK, "%s", err);
	cr_assert_eq(source_spec_parse(cfg.sources.spec[0], &spec, err, sizeof(err)), 0);
	cr_assert_str_eq(spec.arg, "");
	cr_assert_eq(PARSE("--source", "kernel:iiostream-sim"), CONFIG_OK, "%s", err);
	cr_assert_eq(source_spec_parse(cfg.sources.spec[0], &spec, err, sizeof(err)), 0);
	cr_assert_str_eq(spec.arg, "iiostream-sim");
}

Test(config, source_is_repeatable_one_device_each)
{
	cr_assert_eq(PARSE("--source", "sim:name=adc1,channels=4,rate=2M", "--source",
			   "sim:name=adc2,format=be:s24/32>>8,timestamp=on", "--source",
			   "kernel:/dev/iio_block1,blocks=16,block-size=256K,client-queue=3"),
		     CONFIG_OK, "%s", err);
	cr_assert_eq(cfg.sources.n, 3);
	cr_assert_str_eq(cfg.sources.spec[0], "sim:name=adc1,channels=4,rate=2M");
	cr_assert_str_eq(cfg.sources.spec[2],
			 "kernel:/dev/iio_block1,blocks=16,block-size=256K,client-queue=3");
}

Test(config, source_spec_keys_parse_into_the_device_settings)
{
	struct source_spec spec;

	cr_assert_eq(source_spec_parse("sim:name=adc1,channels=4,rate=2M,format=le:S12/16>>0,"
				       "timestamp=on,block-size=64K,blocks=16,client-queue=3",
				       &spec, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(spec.ops, &source_sim_ops);
	cr_assert_str_eq(spec.name, "adc1");
	cr_assert_eq(spec.channels, 4);
	cr_assert_eq(spec.rate, 2000000, "rates are decimal: 2M is 2000000 scans/s");
	cr_assert(spec.rate_set);
	cr_assert_str_eq(spec.format, "le:S12/16>>0");
	cr_assert(spec.timestamp);
	cr_assert_eq(spec.block_size, 65536, "sizes are binary: 64K is 65536 bytes");
	cr_assert_eq(spec.blocks, 16);
	cr_assert_eq(spec.client_queue, 3);
	cr_assert_eq(source_spec_parse("sim:rate=0", &spec, err, sizeof(err)), 0, "%s", err);
	cr_assert(spec.rate_set && spec.rate == 0, "rate=0 is unpaced, and given");
}

Test(config, source_spec_errors_name_the_spec_and_the_key)
{
	assert_error_naming(PARSE("--source", "sim:rate=fast"), "rate: 'fast'");
	cr_assert(strstr(err, "--source"), "%s", err);
	assert_error_naming(PARSE("--source", "sim:channels=65"), "channels");
	assert_error_naming(PARSE("--source", "sim:colour=blue"), "unknown key 'colour'");
	assert_error_naming(PARSE("--source", "kernel:/dev/a,/dev/b"), "two nodes");
	assert_error_naming(PARSE("--source", "kernel:/dev/a,name=x"), "name");
	assert_error_naming(PARSE("--source", "sim:/dev/iio_block0"), "sim takes no node");
	assert_error_naming(PARSE("--source", "sim:timestamp=yes"), "timestamp");
	assert_error_naming(PARSE("--source", "sim:blocks=lots"), "blocks");
	/* a device's key takes the bounds of the flag of its name */
	assert_error_naming(PARSE("--source", "sim:blocks=1000"), "blocks=1000 is out of range (2..256)");
	assert_error_naming(PARSE("--source", "sim:block-size=128M"), "block-size=");
	assert_error_naming(PARSE("--source", "sim:client-queue=300"), "client-queue=300");
	assert_error_naming(PARSE("--source", "auto:name=x"), "auto takes the keys every device");
	assert_error_naming(PARSE("--source", "automatic"), "unknown source 'automatic'");
	cr_assert_eq(PARSE("--source", "auto:blocks=16,rate=2M"), CONFIG_OK, "%s", err);
}

Test(config, at_most_sixteen_sources)
{
	char *argv[2 + 2 * (CONFIG_MAX_SOURCES + 1)];
	int i, argc = 1;

	argv[0] = "iiostreamd";
	for (i = 0; i <= (int)CONFIG_MAX_SOURCES; i++) {
		argv[argc++] = "--source";
		argv[argc++] = "sim";
	}
	argv[argc] = NULL;
	assert_error_naming(parse(argv, argc), "more than 16 devices");
}

Test(config, http_listen_is_repeatable_and_a_port_alone_is_on_loopback)
{
	cr_assert_eq(PARSE("--help"), CONFIG_EXIT);
	cr_assert_eq(cfg.http_listen.n, 0, "off unless given");
	cr_assert_eq(cfg.http_head_timeout_ms, 10000);
	cr_assert_eq(PARSE("--http-listen", "8080", "--http-listen", "[::]:0",
			   "--http-head-timeout", "500"), CONFIG_OK, "%s", err);
	cr_assert_eq(cfg.http_listen.n, 2);
	cr_assert_str_eq(cfg.http_listen.host[0], "127.0.0.1");
	cr_assert_eq(cfg.http_listen.port[0], 8080);
	cr_assert_str_eq(cfg.http_listen.host[1], "::");
	cr_assert_eq(cfg.http_listen.port[1], 0);
	cr_assert_eq(cfg.http_head_timeout_ms, 500);
	assert_error_naming(PARSE("--http-listen", "80800"), "--http-listen");
	assert_error_naming(PARSE("--http-listen", "1", "--http-listen", "2", "--http-listen",
				  "3", "--http-listen", "4", "--http-listen", "5"),
			    "more than 4 addresses");
}

Test(config, memory_budget_refuses_rings_over_it_naming_the_option)
{
	/* 2 x 16 x 1M = 32M fits the default 256M; 4M budget does not */
	cr_assert_eq(PARSE("--source", "sim:name=a,blocks=16", "--source", "sim:name=b,blocks=16"),
		     CONFIG_OK, "%s", err);
	assert_error_naming(PARSE("--source", "sim:name=a,blocks=16", "--source",
				  "sim:name=b,block-size=64K", "--memory-budget", "4M"),
			    "--memory-budget");
	/* each sim's DAC has a ring like its ADC's */
	cr_assert(strstr(err, "34603008 bytes"), "2 x (16 x 1M + 8 x 64K): %s", err);
	cr_assert(strstr(err, "sim:name=b,block-size=64K: 16 x 65536 (with its DAC)"), "%s", err);
	assert_error_naming(PARSE("--source", "sim:name=a,blocks=16,dac=off", "--source",
				  "sim:name=b,block-size=64K,dac=off", "--memory-budget", "4M"),
			    "--memory-budget");
	cr_assert(strstr(err, "17301504 bytes"), "16 x 1M + 8 x 64K without DACs: %s", err);
	cr_assert_eq(PARSE("--memory-budget", "8M"), CONFIG_OK, "8 x 1M fits exactly: %s", err);
}

Test(config, sources_of_the_command_line_replace_those_of_the_file)
{
	char path[64];
	enum config_result r = parse_file("source = sim:name=a\nsource = sim:name=b\n", NULL, NULL,
					  path, sizeof(path));

	unlink(path);
	cr_assert_eq(r, CONFIG_OK, "%s", err);
	cr_assert_eq(cfg.sources.n, 2, "the file's lines add up, replacing the default");
	cr_assert_str_eq(cfg.sources.spec[1], "sim:name=b");
	r = parse_file("source = sim:name=a\nsource = sim:name=b\n", (char *)"--source",
		       (char *)"sim:name=c", path, sizeof(path));
	unlink(path);
	cr_assert_eq(r, CONFIG_OK, "%s", err);
	cr_assert_eq(cfg.sources.n, 1, "the flag replaces the file's list");
	cr_assert_str_eq(cfg.sources.spec[0], "sim:name=c");
}

Test(config, source_name_must_match_whole)
{
	assert_error_naming(PARSE("--source", "kern"), "--source");
	assert_error_naming(PARSE("--source", "kernelx:/dev/x"), "--source");
	assert_error_naming(PARSE("--source", "sim2"), "--source");
}

Test(config, remembers_which_of_rate_and_channels_were_given)
{
	cr_assert_eq(PARSE("--source", "kernel"), CONFIG_OK);
	cr_assert(!cfg.rate_set && !cfg.channels_set, "defaults are not 'given'");
	cr_assert_eq(PARSE("--rate", "5000", "--channels", "4"), CONFIG_OK);
	cr_assert(cfg.rate_set && cfg.channels_set);
}

Test(config, rejects_unknown_log_level)
{
	assert_error_naming(PARSE("--log-level", "loud"), "--log-level");
	cr_assert(strstr(err, "loud"), "%s", err);
}

Test(config, rejects_port_file_path_too_long)
{
	char path[300];

	memset(path, 'p', sizeof(path) - 1);
	path[sizeof(path) - 1] = '\0';
	assert_error_naming(PARSE("--port-file", path), "--port-file");
}

Test(config, paths_and_strings_say_what_is_wrong_with_them)
{
	char long_text[300];

	memset(long_text, 'p', sizeof(long_text) - 1);
	long_text[sizeof(long_text) - 1] = '\0';
	assert_error_naming(PARSE("--port-file", ""), "--port-file: empty path");
	assert_error_naming(PARSE("--port-file", long_text), "--port-file: path too long");
	assert_error_naming(PARSE("--tls-ciphersuites", long_text), "--tls-ciphersuites: too long");
	cr_assert_eq(PARSE("--tls-ciphersuites", ""), CONFIG_OK, "an empty string is not a path: %s",
		     err);
}

Test(config, rejects_stray_positional_argument)
{
	assert_error_naming(PARSE("stray"), "stray");
	/* getopt moves it behind the flags; it is still refused. */
	assert_error_naming(PARSE("extra", "--rate", "5"), "extra");
	assert_error_naming(PARSE("--rate", "5", "extra"), "extra");
}

Test(config, help_asks_to_exit)
{
	cr_assert_eq(PARSE("--help"), CONFIG_EXIT);
	cr_assert_eq(PARSE("--rate", "5", "--help"), CONFIG_EXIT);
}

Test(config, version_asks_to_exit)
{
	cr_assert_eq(PARSE("--version"), CONFIG_EXIT);
}

Test(config, parses_several_argv_in_one_process)
{
	/* getopt keeps global state; each call must start afresh. */
	assert_error_naming(PARSE("--rate", "abc"), "--rate");
	cr_assert_eq(PARSE("--channels", "4", "--block-size", "8K"), CONFIG_OK, "%s", err);
	cr_assert_eq(cfg.channels, 4);
	assert_error_naming(PARSE("--blocks", "1"), "--blocks");
	cr_assert_eq(PARSE("--blocks", "3"), CONFIG_OK, "%s", err);
	cr_assert_eq(cfg.blocks, 3);
}

Test(config, tls_flags_and_their_dependencies)
{
	cr_assert_eq(PARSE("--listen-tls", "[::1]:30433", "--tls-cert", "/c.pem", "--tls-key",
			   "/k.pem", "--client-ca", "/ca.pem", "--ktls", "off",
			   "--allow-write", "cn:lab", "--allow-subscribe", "any-cert,plain",
			   "--listen", "off"), CONFIG_OK, "%s", err);
	cr_assert(cfg.listen_tls);
	cr_assert_str_eq(cfg.listen_tls_host, "::1");
	cr_assert_eq(cfg.listen_tls_port, 30433);
	cr_assert_str_eq(cfg.tls_cert, "/c.pem");
	cr_assert_str_eq(cfg.client_ca, "/ca.pem");
	cr_assert(!cfg.ktls);
	cr_assert(cfg.listen_off);
	cr_assert_eq(cfg.allow_write.n, 1);
	cr_assert_eq(cfg.allow_subscribe.n, 2);
	/* no files: the board's own identity; one file alone is an error */
	cr_assert_eq(PARSE("--listen-tls", "127.0.0.1:1"), CONFIG_OK, "%s", err);
	cr_assert_eq(PARSE("--listen-tls", "127.0.0.1:1", "--identity", "/id"), CONFIG_OK, "%s", err);
	cr_assert_str_eq(cfg.identity, "/id");
	assert_error_naming(PARSE("--listen-tls", "127.0.0.1:1", "--tls-cert", "/c.pem"),
			    "--tls-cert: needs --tls-key too");
	assert_error_naming(PARSE("--listen-tls", "127.0.0.1:1", "--tls-key", "/k.pem"),
			    "--tls-key: needs --tls-cert too");
	assert_error_naming(PARSE("--listen-tls", "127.0.0.1:1", "--tls-cert", "/c.pem",
				  "--tls-key", "/k.pem", "--identity", "/id"),
			    "--identity: and --tls-cert: two server certificates");
	assert_error_naming(PARSE("--identity", "/id"), "--identity: only means something");
	/* --show-identity needs no listener */
	cr_assert_eq(PARSE("--show-identity", "--identity", "/id"), CONFIG_OK, "%s", err);
	cr_assert(cfg.show_identity);
	assert_error_naming(PARSE("--tls-key", "/k.pem"), "--tls-key");
	assert_error_naming(PARSE("--client-ca", "/ca.pem"), "--client-ca");
	assert_error_naming(PARSE("--listen", "off"), "--listen off");
	assert_error_naming(PARSE("--ktls", "on"), "--ktls");
	assert_error_naming(PARSE("--allow-write", "bogus"), "--allow-write");
	assert_error_naming(PARSE("--tls-cert", ""), "--tls-cert");
}

/* Write a config file and parse it with extra flags. */
static enum config_result parse_file(const char *text, char *flag, char *value,
				     char *path, size_t pathlen)
{
	FILE *f;
	int fd;

	snprintf(path, pathlen, "/tmp/iiostreamd-conf-XXXXXX");
	fd = mkstemp(path);
	cr_assert(fd >= 0);
	f = fdopen(fd, "w");
	fputs(text, f);
	fclose(f);
	if (flag)
		return PARSE("--config", path, flag, value);
	return PARSE("--config", path);
}

Test(config, config_file_sets_keys_and_flags_override_it)
{
	char path[64];
	enum config_result r = parse_file("# iiostreamd.conf\n"
					  "\n"
					  "rate = 5000\n"
					  "  channels=4  \n"
					  "listen-tls = 127.0.0.1:0\n"
					  "tls-cert = /etc/iiostream/server.pem\n"
					  "tls-key = /etc/iiostream/server.key\n"
					  "allow-write = cn:lab-pc, sha256:" "0123456789abcdef0123456789abcdef"
					  "0123456789abcdef0123456789abcdef\n",
					  (char *)"--rate", (char *)"7000", path, sizeof(path));

	unlink(path);
	cr_assert_eq(r, CONFIG_OK, "%s", err);
	cr_assert_eq(cfg.sample_rate, 7000, "the flag must win over the file");
	cr_assert_eq(cfg.channels, 4);
	cr_assert_str_eq(cfg.tls_key, "/etc/iiostream/server.key");
	cr_assert_eq(cfg.allow_write.n, 2);
	cr_assert_str_eq(cfg.config_file, path);
}

Test(config, config_file_errors_name_file_line_and_key)
{
	char path[64], want[96];
	enum config_result r;

	r = parse_file("rate = 5\nchannels = many\n", NULL, NULL, path, sizeof(path));
	unlink(path);
	snprintf(want, sizeof(want), "%s:2: channels", path);
	assert_error_naming(r, want);

	r = parse_file("rate = 5\n\nratee = 6\n", NULL, NULL, path, sizeof(path));
	unlink(path);
	snprintf(want, sizeof(want), "%s:3: unknown key 'ratee'", path);
	assert_error_naming(r, want);

	r = parse_file("just words\n", NULL, NULL, path, sizeof(path));
	unlink(path);
	assert_error_naming(r, ":1: 'just words' is not 'key = value'");

	r = parse_file("tls-cert =\n", NULL, NULL, path, sizeof(path));
	unlink(path);
	assert_error_naming(r, ":1: tls-cert: needs a value");

	assert_error_naming(PARSE("--config", "/nonexistent/iiostreamd.conf"),
			    "/nonexistent/iiostreamd.conf");
}

Test(config, advertise_is_on_by_default_and_takes_on_or_off)
{
	char path[64];
	enum config_result r;

	cr_assert_eq(PARSE("--rate", "5"), CONFIG_OK, "%s", err);
	cr_assert(cfg.advertise);
	cr_assert(!cfg.advertise_set);
	cr_assert_eq(PARSE("--advertise", "off"), CONFIG_OK, "%s", err);
	cr_assert(!cfg.advertise);
	cr_assert(cfg.advertise_set);
	cr_assert_eq(PARSE("--advertise=on"), CONFIG_OK, "%s", err);
	cr_assert(cfg.advertise);
	assert_error_naming(PARSE("--advertise", "yes"), "--advertise: 'yes' is not on or off");

	r = parse_file("advertise = off\n", NULL, NULL, path, sizeof(path));
	unlink(path);
	cr_assert_eq(r, CONFIG_OK, "%s", err);
	cr_assert(!cfg.advertise);
	cr_assert(cfg.advertise_set);
}

Test(config, iiod_listen_is_off_by_default_and_takes_host_port)
{
	cr_assert_eq(PARSE("--rate", "5"), CONFIG_OK, "%s", err);
	cr_assert(!cfg.iiod_listen);
	cr_assert_eq(PARSE("--iiod-listen", "0.0.0.0:30431"), CONFIG_OK, "%s", err);
	cr_assert(cfg.iiod_listen);
	cr_assert_str_eq(cfg.iiod_host, "0.0.0.0");
	cr_assert_eq(cfg.iiod_port, 30431);
	cr_assert_eq(PARSE("--iiod-listen", "[::1]:0"), CONFIG_OK, "%s", err);
	cr_assert_str_eq(cfg.iiod_host, "::1");
	cr_assert_eq(PARSE("--iiod-listen", "127.0.0.1:1", "--iiod-listen", "off"), CONFIG_OK,
		     "%s", err);
	cr_assert(!cfg.iiod_listen);
	assert_error_naming(PARSE("--iiod-listen", "30431"), "--iiod-listen");
	assert_error_naming(PARSE("--iiod-listen", "host:99999"), "--iiod-listen");
}

Test(config, where_names_the_flag_or_the_file_line_that_set_a_key)
{
	char path[64], want[160], at[320];
	enum config_result r;

	r = parse_file("# comment\nrate = 5\nchannels = 4\n", (char *)"--channels", (char *)"2",
		       path, sizeof(path));
	unlink(path);
	cr_assert_eq(r, CONFIG_OK, "%s", err);
	snprintf(want, sizeof(want), "%s:2: rate", path);
	cr_assert_str_eq(config_where(&cfg, "rate", at, sizeof(at)), want);
	/* the flag overrode the file: it is the flag that counts */
	cr_assert_str_eq(config_where(&cfg, "channels", at, sizeof(at)), "--channels");
	/* set by nobody: named as the flag */
	cr_assert_str_eq(config_where(&cfg, "blocks", at, sizeof(at)), "--blocks");
}

Test(config, checks_across_keys_name_the_file_line_and_key)
{
	char path[64], want[160];
	enum config_result r;

	r = parse_file("channels = 3\nblock-size = 4K\n", NULL, NULL, path, sizeof(path));
	unlink(path);
	snprintf(want, sizeof(want), "%s:2: block-size: 4096", path);
	assert_error_naming(r, want);
	snprintf(want, sizeof(want), "%s:1: channels: 3 channels", path);
	assert_error_naming(r, want);

	r = parse_file("rate = 5\nlisten = off\n", NULL, NULL, path, sizeof(path));
	unlink(path);
	snprintf(want, sizeof(want), "%s:2: listen off", path);
	assert_error_naming(r, want);

	r = parse_file("listen-tls = 127.0.0.1:0\ntls-cert = /c.pem\n", NULL, NULL, path,
		       sizeof(path));
	unlink(path);
	snprintf(want, sizeof(want), "%s:2: tls-cert: needs --tls-key too", path);
	assert_error_naming(r, want);

	r = parse_file("\nclient-ca = /ca.pem\n", NULL, NULL, path, sizeof(path));
	unlink(path);
	snprintf(want, sizeof(want), "%s:2: client-ca: only means something", path);
	assert_error_naming(r, want);

	/* the same checks with a flag still name the flag */
	r = parse_file("block-size = 4K\n", (char *)"--channels", (char *)"3", path, sizeof(path));
	unlink(path);
	snprintf(want, sizeof(want), "%s:1: block-size", path);
	assert_error_naming(r, want);
	assert_error_naming(r, "(--channels: 3 channels)");
}

Test(config, check_config_is_a_flag_not_a_key)
{
	char path[64];
	enum config_result r;

	cr_assert_eq(PARSE("--rate", "5"), CONFIG_OK, "%s", err);
	cr_assert(!cfg.check_only);
	cr_assert_eq(PARSE("--check-config", "--rate", "5"), CONFIG_OK, "%s", err);
	cr_assert(cfg.check_only);
	/* its errors are the same as the daemon's */
	assert_error_naming(PARSE("--check-config", "--rate", "fast"), "--rate");
	r = parse_file("check-config = yes\n", NULL, NULL, path, sizeof(path));
	unlink(path);
	assert_error_naming(r, ":1: unknown key 'check-config'");
}

/* ---- the option table (options.h): each option described once ---- */

/* config_usage() into a string (freed by the caller). */
static char *usage_text(void)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	cr_assert(f);
	config_usage(f);
	fclose(f);
	return text;
}

Test(options, every_option_is_listed_in_help_as_deploy_files_reads_it)
{
	char *text = usage_text();
	size_t i;

	for (i = 0; i < config_noptions; i++) {
		const struct config_option *o = &config_options[i];
		char want[96];

		/* tests/deploy/deploy_files.sh: "^  --NAME [A-Za-z|]" */
		if (o->arg)
			snprintf(want, sizeof(want), "\n  --%s %s ", o->name, o->arg);
		else if (o->help)
			snprintf(want, sizeof(want), "\n  --%s ", o->name);
		else
			snprintf(want, sizeof(want), "--%s", o->name);
		cr_assert(strstr(text, want), "--help has no '%s'", want);
	}
	cr_assert(strstr(text, "\n  --help, --version\n"), "%s", text);
	cr_assert(!strchr(text, '{'), "a placeholder was left in --help:\n%s", text);
	free(text);
}

Test(options, help_shows_the_bounds_and_defaults_of_the_table)
{
	char *text = usage_text();

	cr_assert(strstr(text, "int16 each, 1..64 (default 2)"), "%s", text);
	cr_assert(strstr(text, "source ring, 2..256 (default 8)"), "%s", text);
	cr_assert(strstr(text, "may send, 256..64K (default\n                       64K)"),
		  "%s", text);
	cr_assert(strstr(text, "dropped, 64K..64M (default 1M)"), "%s", text);
	cr_assert(strstr(text, "(default\n                       127.0.0.1:30432;"), "%s", text);
	cr_assert(strstr(text, "--log-level LEVEL    error, warn, info or debug (default info)"),
		  "%s", text);
	free(text);
}

Test(options, defaults_come_from_the_table)
{
	cr_assert_eq(PARSE("--rate", "5"), CONFIG_OK, "%s", err);
	cr_assert_eq(cfg.max_frame, IIOS_FRAME_MAX_ENVELOPE);
	cr_assert_eq(cfg.max_send_queue, 1u << 20);
	cr_assert_eq(cfg.max_clients, 64);
	cr_assert_eq(cfg.handshake_timeout_ms, 5000);
	cr_assert_eq(cfg.idle_timeout_s, 120);
	cr_assert_eq(cfg.transport, TRANSPORT_AUTO);
	cr_assert(cfg.ktls && cfg.advertise && !cfg.listen_off && !cfg.listen_tls);
	cr_assert(!cfg.iiod_listen);
	cr_assert_eq(cfg.key_flags, 1u << config_option_index(config_option_find("rate")));
}

Test(options, every_entry_is_complete)
{
	size_t i;

	for (i = 0; i < config_noptions; i++) {
		const struct config_option *o = &config_options[i];

		cr_assert(o->kind && o->kind->parse, "--%s has no kind", o->name);
		cr_assert_eq(config_option_find(o->name), o, "--%s is in the table twice", o->name);
		cr_assert(o->min <= o->max, "--%s: min > max", o->name);
		/* a key says what SIGHUP does with it; a flag-only option cannot change */
		cr_assert_eq(o->reload == RELOAD_NEVER, !!(o->flags & OPT_NOT_KEY), "--%s", o->name);
		if (o->flags & OPT_NEEDS_TLS)
			cr_assert_eq(o->reload, RELOAD_TLS, "--%s", o->name);
		if (o->kind == &config_kind_number)
			cr_assert(o->size == sizeof(uint32_t) || o->size == sizeof(uint64_t));
	}
}

/* A value the entry takes, for a file that sets every key. */
static const char *sample_value(const struct config_option *o)
{
	if (o->def)
		return o->def;
	if (o->kind == &config_kind_addr || o->kind == &config_kind_addr_list)
		return "127.0.0.1:0";
	if (o->kind == &config_kind_access)
		return "plain";
	return "/some/file";
}

Test(options, every_key_is_accepted_in_the_config_file)
{
	char text[256], path[64], want[160], at[320];
	size_t i;

	for (i = 0; i < config_noptions; i++) {
		const struct config_option *o = &config_options[i];
		enum config_result r;

		/* line 4; the TLS-only keys need a TLS listener (and the
		 * identity is the server's certificate when the files are not) */
		snprintf(text, sizeof(text),
			 strcmp(o->name, "identity") == 0
				 ? "listen-tls = 127.0.0.1:0\n#\n#\n%s = %s\n"
				 : "listen-tls = 127.0.0.1:0\ntls-cert = /c.pem\ntls-key = /k.pem\n%s = %s\n",
			 o->name, sample_value(o));
		r = parse_file(text, NULL, NULL, path, sizeof(path));
		unlink(path);
		if (o->flags & OPT_NOT_KEY) {
			snprintf(want, sizeof(want), ":4: unknown key '%s'", o->name);
			assert_error_naming(r, want);
			continue;
		}
		cr_assert_eq(r, CONFIG_OK, "key %s: %s", o->name, err);
		snprintf(want, sizeof(want), "%s:4: %s", path, o->name);
		cr_assert_str_eq(config_where(&cfg, o->name, at, sizeof(at)), want);
	}
}

Test(options, every_number_takes_its_bounds_from_the_table)
{
	char arg[32], want[96];
	size_t i;

	for (i = 0; i < config_noptions; i++) {
		const struct config_option *o = &config_options[i];

		if (o->kind != &config_kind_number)
			continue;
		config_defaults(&cfg);
		snprintf(arg, sizeof(arg), "%" PRIu64, o->max);
		cr_assert_eq(o->kind->parse(o, &cfg, o->name, arg, err, sizeof(err)), CONFIG_OK,
			     "%s", err);
		config_option_show(o, &cfg, false, want, sizeof(want));
		cr_assert_str_eq(want, arg, "--%s %s", o->name, arg);
		snprintf(arg, sizeof(arg), "%" PRIu64, o->max + 1);
		snprintf(want, sizeof(want), "%s: %s is out of range (%" PRIu64 "..%" PRIu64 ")",
			 o->name, arg, o->min, o->max);
		cr_assert_eq(o->kind->parse(o, &cfg, o->name, arg, err, sizeof(err)), CONFIG_ERROR);
		cr_assert_str_eq(err, want);
		if (o->min == 0)
			continue;
		snprintf(arg, sizeof(arg), "%" PRIu64, o->min - 1);
		cr_assert_eq(o->kind->parse(o, &cfg, o->name, arg, err, sizeof(err)), CONFIG_ERROR,
			     "--%s %s", o->name, arg);
	}
}

Test(options, enum_words_match_the_enums)
{
	const struct config_option *lvl = config_option_find("log-level");
	const struct config_option *tr = config_option_find("transport");
	int i;

	for (i = 0; lvl->words[i]; i++)
		cr_assert_eq(log_level_parse(lvl->words[i]), i);
	cr_assert_eq(i, LOG_DEBUG + 1);
	for (i = 0; tr->words[i]; i++)
		cr_assert_str_eq(transport_name((enum transport)i), tr->words[i]);
	cr_assert_eq(transport_parse("sendfile"), i - 1);
	assert_error_naming(PARSE("--transport", "fast"),
			    "--transport: 'fast' is not auto, copy, zerocopy or sendfile");
}

/* ---- SIGHUP (reload.c), driven by the table ---- */

static struct server srv; /* zeroed: no listener, no TLS, no iiod */

static int reload_with(struct config *live, char **argv, int argc)
{
	srv.reload = (struct reload){ .live = live, .argc = argc, .argv = argv };
	return reload_run(&srv);
}

Test(reload, applies_live_keys_and_keeps_restart_keys)
{
	static struct config live;
	char *argv[] = { "iiostreamd", "--rate", "6", "--blocks", "16", "--client-queue", "9",
			 "--max-clients", "10", "--log-level", "error", "--listen", "off",
			 "--listen-tls", "127.0.0.1:0", "--tls-cert", "/c.pem", "--tls-key",
			 "/k.pem", NULL };

	cr_assert_eq(PARSE("--rate", "5"), CONFIG_OK, "%s", err);
	live = cfg;
	cr_assert_eq(reload_with(&live, argv, (int)(sizeof(argv) / sizeof(argv[0])) - 1), 0);
	log_threshold = LOG_ERROR;
	/* fixed at start-up: the running value stays */
	cr_assert_eq(live.sample_rate, 5);
	cr_assert_eq(live.blocks, 8);
	cr_assert(!live.listen_off && !live.listen_tls);
	cr_assert_str_eq(live.tls_cert, "", "TLS files without a TLS listener before");
	/* live: taken */
	cr_assert_eq(live.client_queue, 9);
	cr_assert_eq(live.max_clients, 10);
	cr_assert_eq(live.log_level, LOG_ERROR);
	/* and where each key now comes from */
	cr_assert_neq(live.key_flags & (1u << config_option_index(config_option_find("blocks"))),
		      0);
}

Test(reload, refuses_a_configuration_that_does_not_parse_whole)
{
	static struct config live;
	char *argv[] = { "iiostreamd", "--client-queue", "9", "--rate", "fast", NULL };

	cr_assert_eq(PARSE("--rate", "5"), CONFIG_OK, "%s", err);
	live = cfg;
	log_threshold = LOG_ERROR;
	cr_assert_eq(reload_with(&live, argv, (int)(sizeof(argv) / sizeof(argv[0])) - 1), -EINVAL);
	cr_assert_eq(live.client_queue, 4, "a refused reload changes nothing");
	cr_assert_eq(live.sample_rate, 5);
}

Test(reload, a_changed_key_is_restart_or_live_as_the_table_says)
{
	static struct config a, b;
	const struct config_option *rate = config_option_find("rate");
	const struct config_option *listen = config_option_find("listen");

	cr_assert_eq(PARSE("--rate", "5", "--listen", "127.0.0.1:1"), CONFIG_OK, "%s", err);
	a = cfg;
	cr_assert_eq(PARSE("--listen", "127.0.0.1:1"), CONFIG_OK, "%s", err);
	b = cfg;
	cr_assert(config_option_changed(rate, &a, &b), "rate given, then not: a change");
	cr_assert(!config_option_changed(listen, &a, &b));
	cr_assert_eq(rate->reload, RELOAD_RESTART);
	cr_assert_eq(config_option_find("max-frame")->reload, RELOAD_LIVE);
	/* two addresses not listened on are the same */
	cr_assert_eq(PARSE("--listen", "127.0.0.1:2", "--listen", "off", "--listen-tls", "[::1]:0",
			   "--tls-cert", "/c", "--tls-key", "/k"), CONFIG_OK, "%s", err);
	a = cfg;
	cr_assert_eq(PARSE("--listen", "off", "--listen-tls", "[::1]:0", "--tls-cert", "/c",
			   "--tls-key", "/k"), CONFIG_OK, "%s", err);
	cr_assert(!config_option_changed(listen, &a, &cfg));
	cr_assert(config_option_changed(listen, &a, &b));
}

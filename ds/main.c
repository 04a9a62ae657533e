/*
 * main.c - gannet-ds: command line and configuration, then ds_start(),
 * wait for SIGTERM/SIGINT, ds_stop().  See gannet-ds(8).
 */
#include "config.h"
#include "ds/ds.h"
#include "common/conf.h"
#include "common/daemon.h"
#include "common/log.h"
#include "common/rpc.h"
#include "common/util.h"

#include <errno.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PROG "gannet-ds"

static void usage(FILE *out)
{
	fprintf(out,
		"usage: " PROG " [OPTION]...\n"
		"Serve one storage directory of a Gannet filesystem.\n\n"
		"  --config=FILE      configuration file (default " GN_CONF_DEFAULT_PATH ")\n"
		"  --port-file=PATH   write the bound RPC port to PATH once listening\n"
		"  --help             show this help\n"
		"  --version          show the version\n\n"
		"Every key of the [ds] section of gannet.conf(5) is also an option:\n");
	gn_conf_usage(out, "ds");
}

/* The value of --NAME=V or --NAME V at argv[*i]; NULL if not that option. */
static const char *opt_value(int argc, char **argv, int *i, const char *name)
{
	size_t n = strlen(name);
	const char *a = argv[*i];

	if (strncmp(a, name, n))
		return NULL;
	if (a[n] == '=')
		return a + n + 1;
	if (a[n] == '\0' && *i + 1 < argc)
		return argv[++*i];
	return NULL;
}

/* Parse the command line into c (loading the config file first); 0, or
 * the exit status to leave with. */
static int parse_args(int argc, char **argv, struct gn_conf *c,
		      const char **port_file, bool *done)
{
	const char *config = NULL, *v;
	char err[512];
	int ret;

	*done = false;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--help")) {
			usage(stdout);
			*done = true;
			return 0;
		}
		if (!strcmp(argv[i], "--version")) {
			gn_print_version(stdout, PROG);
			*done = true;
			return 0;
		}
		if ((v = opt_value(argc, argv, &i, "--config")))
			config = v;
	}
	ret = gn_conf_load(c, config ? config : GN_CONF_DEFAULT_PATH, err, sizeof(err));
	if (ret == -ENOENT && !config)
		ret = 0;	/* no file: defaults and flags */
	if (ret == -ENOENT) {
		fprintf(stderr, PROG ": cannot read config '%s': %s\n", config, strerror(ENOENT));
		return 2;
	}
	if (ret) {
		fprintf(stderr, "%s\n", err);
		return 2;
	}
	for (int i = 1; i < argc; i++) {
		bool used_next;

		if ((v = opt_value(argc, argv, &i, "--config")))
			continue;
		if ((v = opt_value(argc, argv, &i, "--port-file"))) {
			*port_file = v;
			continue;
		}
		ret = gn_conf_flag(c, "ds", argv[i], i + 1 < argc ? argv[i + 1] : NULL,
				   &used_next, err, sizeof(err));
		if (ret == -ENOENT) {
			fprintf(stderr, PROG ": unknown option '%s' (see --help)\n", argv[i]);
			return 2;
		}
		if (ret) {
			fprintf(stderr, PROG ": %s\n", err);
			return 2;
		}
		if (used_next)
			i++;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct gn_conf c;
	struct ds_opts o = { 0 };
	const char *port_file = NULL;
	enum gn_log_level level = GN_LOG_INFO;
	struct ds *ds = NULL;
	bool done;
	int ret, sig;

	gn_conf_init(&c);
	ret = parse_args(argc, argv, &c, &port_file, &done);
	if (ret || done)
		goto out;
	gn_log_level_parse(c.ds.log_level, &level);
	gn_log_init("ds", level);

	o.listen = c.ds.listen;
	o.advertise = c.ds.advertise;
	o.data_dir = c.ds.data_dir;
	o.mds = c.ds.mds;
	o.workers = (int)c.ds.workers;
	o.reserve = c.ds.reserve;
	o.scrub_rate = c.ds.scrub_rate;
	o.scrub_interval_s = c.ds.scrub_interval_s;
	o.zstd_level = (int)c.ds.zstd_level;
	o.heartbeat_ms = (int)c.ds.heartbeat_ms;
	o.metrics_port = (int)c.ds.metrics_port;
	o.port_file = port_file;

	/* gRPC allocates fresh receive buffers for every chunk; with glibc's
	 * defaults they come from mmap or from per-thread arenas that are
	 * unmapped and mapped again, and every call pays page faults for 4 MiB
	 * (shared/notes/grpc-core.md: faults cost more than the copies).  Keep
	 * them in two arenas that are never trimmed: measured 113k -> 29k
	 * minor faults and -15..25 % server CPU per GiB written. */
	mallopt(M_MMAP_THRESHOLD, 64 << 20);
	mallopt(M_TRIM_THRESHOLD, 256 << 20);
	mallopt(M_ARENA_MAX, 2);
	gn_rpc_tune_malloc(GN_MALLOC_THROUGHPUT);

	/* Before any thread, so that only the main thread takes signals. */
	gn_daemon_block_signals();
	gn_rpc_init();
	ret = ds_start(&o, &ds);
	if (ret) {
		ret = 1;
		goto out_rpc;
	}
	gn_daemon_ready("serving");
	sig = gn_daemon_wait_signal();
	log_info("stopping on signal %d", sig);
	gn_daemon_stopping();
	ds_stop(ds);
	ret = 0;
out_rpc:
	gn_rpc_shutdown();
out:
	gn_conf_release(&c);
	return ret;
}

/*
 * tt-ops.c - test-tool subcommands of the operations area:
 *
 *   conf-keys            every config key: "SECTION<TAB>NAME<TAB>DEFAULT"
 *   metrics-serve        serve a registry with one series of each kind
 *                        on 127.0.0.1, print the port, exit at EOF on stdin;
 *                        gannet_client_read_bytes_total grows 1 MiB per scrape
 *   ops-ping ADDR        Diag.Ping a daemon once (deadline 2 s): prints its
 *                        role and exits 0, or prints the error and exits 1
 */
#include "config.h"
#include "t/helper/test-tool.h"
#include "common/conf.h"
#include "common/metrics.h"
#include "common/rpc.h"
#include "common/status.h"
#include "diag.pb-c.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

int tt_conf_keys(int argc, char **argv)
{
	const struct gn_conf_key *k;
	size_t n;

	if (argc != 1)
		return 2;
	k = gn_conf_keys(&n);
	for (size_t i = 0; i < n; i++)
		printf("%s\t%s\t%s\n", k[i].section, k[i].name, k[i].def);
	return 0;
}

/* Every scrape reads exactly 1 MiB more: `gannetctl stats` must report
 * 1 MiB per interval. */
static void bump(void *arg)
{
	gn_metric_add(gn_metric_counter("gannet_client_read_bytes_total",
			"bytes read by applications", NULL), 1 << 20);
}

/*
 * Values chosen so a parser must handle: labels that need escaping,
 * several series of one family, a histogram with observations in the
 * first, a middle and the +Inf bucket, a negative and a fractional gauge,
 * and the RPC helper's series.
 */
static void fill_registry(void)
{
	static const double bounds[] = { 0.001, 0.01, 0.1 };
	struct gn_metric *h;

	gn_metric_add(gn_metric_counter("gannet_test_bytes_total",
			"bytes moved by the test", NULL), 12345);
	gn_metric_inc(gn_metric_counter("gannet_test_errors_total",
			"errors by kind", "kind=checksum"));
	gn_metric_add(gn_metric_counter("gannet_test_errors_total",
			"errors by kind", "kind=say \"hi\"\\ok"), 2);
	gn_metric_set(gn_metric_gauge("gannet_test_temperature",
			"a gauge that goes below zero", NULL), -3.25);
	gn_metric_set(gn_metric_gauge("gannet_test_ratio", "a fraction",
			"host=a\nb"), 0.5);
	h = gn_metric_histogram("gannet_test_latency_seconds",
			"latency of test operations", "op=read", bounds, 3);
	gn_metric_observe(h, 0.0005);
	gn_metric_observe(h, 0.05);
	gn_metric_observe(h, 2);
	gn_metrics_rpc_observe(GN_METRICS_SERVER, "/gannet.Mds/Lookup", 0, 150000);
	gn_metrics_rpc_observe(GN_METRICS_SERVER, "/gannet.Mds/Lookup", 5, 90000);
	gn_metrics_add_collector(bump, NULL);
}

int tt_metrics_serve(int argc, char **argv)
{
	char buf[64];
	int port;

	if (argc != 1)
		return 2;
	fill_registry();
	port = gn_metrics_start("test-tool", "127.0.0.1", 0);
	if (port < 0) {
		fprintf(stderr, "cannot start metrics: %s\n", gn_strerror(port));
		return 1;
	}
	printf("%d\n", port);
	fflush(stdout);
	while (read(STDIN_FILENO, buf, sizeof(buf)) > 0)
		;
	gn_metrics_stop();
	return 0;
}

int tt_ops_ping(int argc, char **argv)
{
	Gannet__PingRequest req = GANNET__PING_REQUEST__INIT;
	Gannet__ReqHeader h = GANNET__REQ_HEADER__INIT;
	struct gn_rpc_callopts o = { .timeout_ms = 2000 };
	struct gn_rpc_client *cl = NULL;
	struct gn_rpc_channel *ch = NULL;
	struct gn_rpc_result res = { 0 };
	int ret = 1;

	if (argc != 2)
		return 2;
	gn_rpc_init();
	if (gn_rpc_client_new(&cl) || gn_rpc_channel_new(cl, argv[1], NULL, &ch)) {
		fprintf(stderr, "cannot create a channel to '%s'\n", argv[1]);
		goto out;
	}
	req.h = &h;
	if (gn_rpc_call(ch, "/gannet.Diag/Ping", &req.base, NULL, 0,
			&gannet__ping_reply__descriptor, &o, &res)) {
		printf("%s %s\n", gn_status_name(res.status), res.detail);
		goto out;
	}
	printf("%s\n", ((Gannet__PingReply *)res.reply)->role);
	ret = 0;
out:
	gn_rpc_result_release(&res);
	if (ch)
		gn_rpc_channel_free(ch);
	if (cl)
		gn_rpc_client_free(cl);
	gn_rpc_shutdown();
	return ret;
}

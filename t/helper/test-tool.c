/* test-tool.c - dispatch; see test-tool.h */
#include "config.h"
#include "t/helper/test-tool.h"
#include "common/cksum.h"
#include "common/log.h"
#include "common/rpc.h"
#include "common/util.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const struct tt_cmd cmds[] = {
	{ "cksum", tt_cksum, "cksum FILE  (block checksums of FILE, one per line)" },
	{ "mds", tt_mds, "mds ADDR [--uid=N --gid=N --groups=A,B --session=ID --escapes] OP ARGS...  (see t/helper/tt-mds.c; prints the errno name on failure)" },
	{ "mds-ds-up", tt_mds_ds_up, "mds-ds-up ADDR  (number of UP data servers)" },
	{ "mds-bench", tt_mds_bench, "mds-bench ADDR THREADS NOPS  (creates, stats, renames, unlinks per second)" },
	{ "mds-store-bench", tt_mds_store_bench, "mds-store-bench DIR THREADS NOPS yes|no  (durable creates/s without RPC)" },
	{ "ds-write", tt_ds_write, "ds-write ADDR ID VERSION FILE [--base=V --base-length=N --offset=N --chunk-length=N --zstd --chain=A,B --bad-cksum] [--expect=STATUS]" },
	{ "ds-read", tt_ds_read, "ds-read ADDR ID VERSION [--offset=N --length=N --out=FILE] [--expect=STATUS]" },
	{ "ds-delete", tt_ds_delete, "ds-delete ADDR ID VERSION [--expect=STATUS]" },
	{ "ds-replicate", tt_ds_replicate, "ds-replicate ADDR ID VERSION SOURCE [--expect=STATUS]" },
	{ "ds-list", tt_ds_list, "ds-list ADDR [--max=N]  (ID VERSION LENGTH DIGEST STORED per line)" },
	{ "ds-stat", tt_ds_stat, "ds-stat ADDR  (key=value lines)" },
	{ "ds-bench", tt_ds_bench, "ds-bench ADDR write|read COUNT [--inflight=N --first-id=N --chain=A,B --zstd --text --conns=N]  (4 MiB chunks; prints MB/s)" },
	{ "conf-keys", tt_conf_keys, "conf-keys  (SECTION TAB NAME TAB DEFAULT per key)" },
	{ "metrics-serve", tt_metrics_serve, "metrics-serve  (sample registry on 127.0.0.1; prints the port; EOF on stdin stops)" },
	{ "ops-ping", tt_ops_ping, "ops-ping ADDR  (Diag.Ping once; prints the role)" },
};

/* Print the XXH3 checksum of each 64 KiB block of a file: tests use it to
 * know what a data server must have stored. */
int tt_cksum(int argc, char **argv)
{
	static char buf[GN_BLOCK_SIZE];
	ssize_t n;
	int fd;

	if (argc != 2)
		return 2;
	fd = open(argv[1], O_RDONLY);
	if (fd < 0) {
		fprintf(stderr, "cannot open '%s': %s\n", argv[1], strerror(errno));
		return 1;
	}
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		printf("%016" PRIx64 "\n", gn_cksum(buf, (size_t)n));
	close(fd);
	return n < 0 ? 1 : 0;
}

int main(int argc, char **argv)
{
	gn_log_init("test-tool", GN_LOG_WARN);
	/* ds-bench and rpc-bench measure the servers: the tool must not be
	 * the receiver that faults in every reply (see gn_rpc_tune_malloc). */
	gn_rpc_tune_malloc(GN_MALLOC_THROUGHPUT);
	if (argc >= 2) {
		for (size_t i = 0; i < GN_ARRAY_SIZE(cmds); i++) {
			if (!strcmp(argv[1], cmds[i].name)) {
				int ret = cmds[i].fn(argc - 1, argv + 1);
				if (ret == 2)
					fprintf(stderr, "usage: test-tool %s\n", cmds[i].usage);
				return ret;
			}
		}
	}
	fprintf(stderr, "usage: test-tool COMMAND [ARGS]\ncommands:\n");
	for (size_t i = 0; i < GN_ARRAY_SIZE(cmds); i++)
		fprintf(stderr, "  %s\n", cmds[i].usage);
	return 2;
}

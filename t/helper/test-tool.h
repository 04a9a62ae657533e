/*
 * test-tool.h - one helper binary for the tests, with subcommands that
 * reach internals (model: git's t/helper/test-tool).  Each area adds its
 * subcommands in its own t/helper/tt-<area>.c and one row per subcommand
 * to the table in test-tool.c.
 *
 * A subcommand returns the process exit status: 0 ok, 1 failure (message
 * on stderr), 2 usage.
 */
#ifndef GN_TEST_TOOL_H
#define GN_TEST_TOOL_H

struct tt_cmd {
	const char *name;
	int (*fn)(int argc, char **argv);	/* argv[0] is the subcommand */
	const char *usage;
};

int tt_cksum(int argc, char **argv);
/* mds (t/helper/tt-mds.c) */
int tt_mds(int argc, char **argv);
int tt_mds_ds_up(int argc, char **argv);
int tt_mds_bench(int argc, char **argv);
int tt_mds_store_bench(int argc, char **argv);
/* t/helper/tt-ds.c */
int tt_ds_write(int argc, char **argv);
int tt_ds_read(int argc, char **argv);
int tt_ds_delete(int argc, char **argv);
int tt_ds_replicate(int argc, char **argv);
int tt_ds_list(int argc, char **argv);
int tt_ds_stat(int argc, char **argv);
int tt_ds_bench(int argc, char **argv);
/* t/helper/tt-ops.c */
int tt_conf_keys(int argc, char **argv);
int tt_metrics_serve(int argc, char **argv);
int tt_ops_ping(int argc, char **argv);

#endif

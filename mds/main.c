/* main.c - gannet-mds: configuration, store, RPC server, signals */
#include "config.h"
#include "common/conf.h"
#include "common/daemon.h"
#include "common/log.h"
#include "common/metrics.h"
#include "common/rpc.h"
#include "common/util.h"
#include "mds/mds.h"
#include "mds/rpc_mds.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

struct mds_args {
	const char *config;
	const char *port_file;
	bool check;
};

static void usage(FILE *out)
{
	fprintf(out,
		"usage: gannet-mds [OPTIONS]\n"
		"The Gannet metadata server.\n\n"
		"  --config=FILE     configuration file (default %s)\n"
		"  --port-file=PATH  write the bound RPC port to PATH once listening\n"
		"  --check           verify the store offline, print each problem;\n"
		"                    exit 0 when clean, 1 when problems were found\n"
		"  --help            print this help\n"
		"  --version         print the version\n\n"
		"Every key of the [mds] section of gannet.conf(5) as a flag:\n",
		GN_CONF_DEFAULT_PATH);
	gn_conf_usage(out, "mds");
}

/* Parse the command line: first the config file, then every flag over it.
 * Returns -1 to exit 0 (help, version), 2 on usage errors. */
static int parse_args(int argc, char **argv, struct gn_conf *conf,
		      struct mds_args *a)
{
	char err[512];
	int ret;

	for (int i = 1; i < argc; i++) {
		if (!strncmp(argv[i], "--config=", 9))
			a->config = argv[i] + 9;
		else if (!strcmp(argv[i], "--config") && i + 1 < argc)
			a->config = argv[++i];
		else if (!strcmp(argv[i], "--help")) {
			usage(stdout);
			return -1;
		} else if (!strcmp(argv[i], "--version")) {
			gn_print_version(stdout, "gannet-mds");
			return -1;
		}
	}
	ret = gn_conf_load(conf, a->config ? a->config : GN_CONF_DEFAULT_PATH,
			   err, sizeof(err));
	if (ret == -ENOENT && !a->config)
		ret = 0;
	if (ret == -ENOENT) {
		fprintf(stderr, "gannet-mds: cannot read '%s': %s\n", a->config, strerror(ENOENT));
		return 2;
	}
	if (ret) {
		fprintf(stderr, "%s\n", err);
		return 2;
	}
	for (int i = 1; i < argc; i++) {
		const char *arg = argv[i];
		bool used_next = false;

		if (!strncmp(arg, "--config=", 9))
			continue;
		if (!strcmp(arg, "--config")) {
			i++;
			continue;
		}
		if (!strncmp(arg, "--port-file=", 12)) {
			a->port_file = arg + 12;
			continue;
		}
		if (!strcmp(arg, "--check")) {
			a->check = true;
			continue;
		}
		ret = gn_conf_flag(conf, "mds", arg, i + 1 < argc ? argv[i + 1] : NULL,
				   &used_next, err, sizeof(err));
		if (ret == -ENOENT) {
			fprintf(stderr, "gannet-mds: unknown option '%s'\n", arg);
			return 2;
		}
		if (ret) {
			fprintf(stderr, "gannet-mds: %s\n", err);
			return 2;
		}
		if (used_next)
			i++;
	}
	return 0;
}

static int write_port_file(const char *path, int port)
{
	char tmp[4096];
	FILE *f;

	/* Write then rename: a reader never sees a partial number. */
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "w");
	if (!f)
		return -errno;
	fprintf(f, "%d\n", port);
	if (fclose(f))
		return -errno;
	if (rename(tmp, path))
		return -errno;
	return 0;
}

static void mds_collect(void *arg)
{
	struct mds *m = arg;
	struct mds_status st;
	struct mds_ds_info *ds = NULL;
	struct mds_statfs sf;
	double by_state[4] = { 0 };
	static const char *const states[] = { "up", "down", "draining", "removed" };
	size_t n = 0;

	if (mds_get_status(m, &st) == 0) {
		gn_metric_set(gn_metric_gauge("gannet_mds_inodes", "inodes in use", NULL), (double)st.inodes);
		gn_metric_set(gn_metric_gauge("gannet_mds_chunks", "chunks in chunk maps", NULL), (double)st.chunks);
		gn_metric_set(gn_metric_gauge("gannet_mds_degraded_chunks", "chunks with fewer live replicas than their policy", NULL), (double)st.degraded);
		gn_metric_set(gn_metric_gauge("gannet_mds_damaged_chunks", "chunks without a live replica", NULL), (double)st.damaged);
		gn_metric_set(gn_metric_gauge("gannet_mds_sessions", "client sessions", NULL), st.sessions);
	}
	mds_ds_list(m, &ds, &n);
	for (size_t i = 0; i < n; i++)
		if ((unsigned)ds[i].state < 4)
			by_state[ds[i].state]++;
	free(ds);
	for (int i = 0; i < 4; i++) {
		char labels[32];
		snprintf(labels, sizeof(labels), "state=%s", states[i]);
		gn_metric_set(gn_metric_gauge("gannet_mds_ds", "data servers by state", labels), by_state[i]);
	}
	{
		struct db_stats st_db;
		db_get_stats(mds_db(m), &st_db);
		gn_metric_set(gn_metric_gauge("gannet_mds_store_map_bytes", "LMDB map size (grows when 3/4 full)", NULL), (double)st_db.map_size);
		gn_metric_set(gn_metric_gauge("gannet_mds_store_used_bytes", "LMDB map bytes in use", NULL), (double)st_db.map_used);
		gn_metric_set(gn_metric_gauge("gannet_mds_store_commits", "write transactions committed (each one sync) since start", NULL), (double)st_db.commits);
		gn_metric_set(gn_metric_gauge("gannet_mds_store_mutations", "mutations committed since start (commits < mutations with group commit)", NULL), (double)st_db.ops);
	}
	if (mds_ns_statfs(m, &sf) == 0) {
		gn_metric_set(gn_metric_gauge("gannet_mds_capacity_bytes", "capacity of live data servers", NULL), (double)sf.total);
		gn_metric_set(gn_metric_gauge("gannet_mds_free_bytes", "free bytes on live data servers", NULL), (double)sf.free);
	}
}

static int run_check(const struct gn_conf_mds *c)
{
	struct db_opts o = { .dir = c->data_dir, .map_size = c->map_size,
			     .read_only = true };
	struct db *db;
	int n, ret = db_open(&o, &db);

	if (ret) {
		fprintf(stderr, "gannet-mds: cannot open store '%s': %s\n", c->data_dir,
			strerror(-ret));
		return 2;
	}
	n = mds_check_store(db, stdout);
	db_close(db);
	if (n < 0) {
		fprintf(stderr, "gannet-mds: check failed: %s\n", strerror(-n));
		return 2;
	}
	if (n > 0)
		printf("%d problem(s) found\n", n);
	return n ? 1 : 0;
}

/* One gannet-mds per store: LMDB would let two share it, but each keeps
 * sessions, handles and leases in memory.  Returns the held fd or -errno. */
static int lock_data_dir(const char *dir)
{
	char *path = xasprintf("%s/mds.lock", dir);
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600), ret = fd;

	if (fd >= 0 && flock(fd, LOCK_EX | LOCK_NB)) {
		ret = -errno;
		close(fd);
	} else if (fd < 0) {
		ret = -errno;
	}
	free(path);
	return ret;
}

static int serve(const struct gn_conf_mds *c, uint32_t admin_gid,
		 const struct mds_args *a)
{
	struct mds_opts o = { 0 };
	struct gn_rpc_server_opts so = { 0 };
	struct gn_rpc_server *srv = NULL;
	const struct gn_rpc_method *methods;
	struct mds *m = NULL;
	size_t nmethods;
	int port = 0, ret, status = 1, lock_fd;
	bool metrics = false;

	o.data_dir = c->data_dir;
	o.map_size = c->map_size;
	o.group_commit = c->group_commit;
	o.lease_ms = (int)c->lease_ms;
	o.admin_gid = admin_gid;
	o.session_timeout_ms = (int)c->session_timeout_ms;
	o.ds_timeout_ms = (int)c->ds_timeout_ms;
	o.ds_heartbeat_ms = (int)GN_MAX(100, c->ds_timeout_ms / 4);
	o.default_replicas = (int)c->default_replicas;
	o.default_compression = !strcmp(c->default_compression, "zstd");
	if (mkdir(c->data_dir, 0700) && errno != EEXIST) {
		log_err("cannot create data dir '%s': %s", c->data_dir, strerror(errno));
		return 1;
	}
	lock_fd = lock_data_dir(c->data_dir);
	if (lock_fd < 0) {
		log_err("cannot lock data dir '%s': %s", c->data_dir,
			lock_fd == -EWOULDBLOCK ? "in use by another gannet-mds" :
			strerror(-lock_fd));
		return 1;
	}
	ret = mds_new(&o, &m);
	if (ret) {
		log_err("cannot open store '%s': %s", c->data_dir, strerror(-ret));
		close(lock_fd);
		return 1;
	}
	so.listen = c->listen;
	so.workers = (int)c->workers;
	ret = gn_rpc_server_new(&so, &srv);
	if (ret == 0) {
		methods = mds_rpc_methods(&nmethods);
		ret = gn_rpc_server_add(srv, methods, nmethods, m);
	}
	if (ret == 0)
		ret = gn_rpc_server_add_diag(srv, "mds");
	if (ret == 0)
		ret = gn_rpc_server_start(srv, &port);
	if (ret) {
		log_err("cannot listen on '%s': %s", c->listen, strerror(-ret));
		goto out;
	}
	if (c->metrics_port) {
		char host[256];
		int p;
		if (gn_parse_hostport(c->listen, host, sizeof(host), &p, 9400))
			host[0] = '\0';
		gn_metrics_add_collector(mds_collect, m);
		p = gn_metrics_start("gannet-mds", host[0] ? host : NULL, (int)c->metrics_port);
		if (p < 0)
			log_warn("cannot start metrics endpoint port=%" PRId64 ": %s",
				 c->metrics_port, strerror(-p));
		else {
			metrics = true;
			log_info("metrics endpoint listening port=%d", p);
		}
	}
	if (a->port_file && (ret = write_port_file(a->port_file, port))) {
		log_err("cannot write port file '%s': %s", a->port_file, strerror(-ret));
		goto out;
	}
	log_info("listening addr='%s' port=%d data_dir='%s' group_commit=%s",
		 c->listen, port, c->data_dir, c->group_commit ? "yes" : "no");
	gn_daemon_ready("serving");
	ret = gn_daemon_wait_signal();
	log_info("stopping signal=%d", ret);
	gn_daemon_stopping();
	status = 0;
out:
	mds_stop(m);
	if (srv) {
		gn_rpc_server_shutdown(srv, 5000);
		gn_rpc_server_free(srv);
	}
	if (metrics)
		gn_metrics_stop();
	mds_free(m);
	close(lock_fd);
	return status;
}

int main(int argc, char **argv)
{
	struct mds_args a = { 0 };
	struct gn_conf conf;
	enum gn_log_level level = GN_LOG_INFO;
	int ret;

	gn_daemon_block_signals();
	gn_conf_init(&conf);
	ret = parse_args(argc, argv, &conf, &a);
	if (ret) {
		gn_conf_release(&conf);
		return ret < 0 ? 0 : ret;
	}
	gn_log_level_parse(conf.mds.log_level, &level);
	gn_log_init("mds", level);
	if (a.check) {
		ret = run_check(&conf.mds);
		gn_conf_release(&conf);
		return ret;
	}
	gn_rpc_tune_malloc(GN_MALLOC_THROUGHPUT);
	gn_rpc_init();
	ret = serve(&conf.mds, (uint32_t)conf.security.admin_gid, &a);
	gn_rpc_shutdown();
	gn_conf_release(&conf);
	return ret;
}

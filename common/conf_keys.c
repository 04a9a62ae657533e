/*
 * conf_keys.c - every key of gannet.conf.  Keep gannet.conf(5) in step:
 * t/t9001-man-config.sh fails when a key here is missing from the page or
 * the page names a key that is not here.
 */
#include "config.h"
#include "common/conf.h"
#include "common/util.h"

#include <stddef.h>
#include <stdint.h>

#define OFF(f) offsetof(struct gn_conf, f)
#define MS_MAX 86400000
#define SZ_MAX ((int64_t)1 << 50)

static const struct gn_conf_key keys[] = {
	/* [mds] */
	{ "mds", "listen", GN_CONF_STR, OFF(mds.listen), "0.0.0.0:9400", 0, 0, NULL,
	  "address and port to serve RPC on" },
	{ "mds", "data_dir", GN_CONF_STR, OFF(mds.data_dir), "/var/lib/gannet/mds", 0, 0, NULL,
	  "directory of the LMDB store" },
	{ "mds", "map_size", GN_CONF_SIZE, OFF(mds.map_size), "1G", 1 << 20, SZ_MAX, NULL,
	  "initial LMDB map size; grows when nearly full" },
	{ "mds", "workers", GN_CONF_INT, OFF(mds.workers), "32", 1, 1024, NULL,
	  "RPC handler threads" },
	{ "mds", "group_commit", GN_CONF_BOOL, OFF(mds.group_commit), "yes", 0, 0, NULL,
	  "batch concurrent mutations into one transaction and sync" },
	{ "mds", "lease_ms", GN_CONF_INT, OFF(mds.lease_ms), "5000", 0, MS_MAX, NULL,
	  "how long clients may cache attributes and entries" },
	{ "mds", "session_timeout_ms", GN_CONF_INT, OFF(mds.session_timeout_ms), "60000", 1000, MS_MAX, NULL,
	  "a client session without heartbeat expires after this" },
	{ "mds", "ds_timeout_ms", GN_CONF_INT, OFF(mds.ds_timeout_ms), "10000", 500, MS_MAX, NULL,
	  "a data server without heartbeat is marked down after this" },
	{ "mds", "default_replicas", GN_CONF_INT, OFF(mds.default_replicas), "2", 1, 8, NULL,
	  "replicas of the root directory's policy in a new store" },
	{ "mds", "default_compression", GN_CONF_CHOICE, OFF(mds.default_compression), "none", 0, 0, "none|zstd",
	  "compression of the root directory's policy in a new store" },
	{ "mds", "metrics_port", GN_CONF_INT, OFF(mds.metrics_port), "9500", 0, 65535, NULL,
	  "Prometheus metrics HTTP port, 0 = off" },
	{ "mds", "log_level", GN_CONF_CHOICE, OFF(mds.log_level), "info", 0, 0, "error|warn|info|debug",
	  "most verbose level logged" },

	/* [ds] */
	{ "ds", "listen", GN_CONF_STR, OFF(ds.listen), "0.0.0.0:9410", 0, 0, NULL,
	  "address and port to serve RPC on" },
	{ "ds", "advertise", GN_CONF_STR, OFF(ds.advertise), "", 0, 0, NULL,
	  "address clients use to reach this server (default: listen, or the host name)" },
	{ "ds", "data_dir", GN_CONF_STR, OFF(ds.data_dir), "/var/lib/gannet/ds", 0, 0, NULL,
	  "storage directory of this data server" },
	{ "ds", "mds", GN_CONF_STR, OFF(ds.mds), "127.0.0.1:9400", 0, 0, NULL,
	  "metadata server to register with" },
	{ "ds", "workers", GN_CONF_INT, OFF(ds.workers), "16", 1, 1024, NULL,
	  "RPC handler threads" },
	{ "ds", "reserve", GN_CONF_SIZE, OFF(ds.reserve), "256M", 0, SZ_MAX, NULL,
	  "free space kept on the disk; writes beyond it fail with ENOSPC" },
	{ "ds", "scrub_rate", GN_CONF_SIZE, OFF(ds.scrub_rate), "32M", 0, SZ_MAX, NULL,
	  "bytes per second re-verified by the scrubber, 0 = off" },
	{ "ds", "scrub_interval_s", GN_CONF_INT, OFF(ds.scrub_interval_s), "86400", 0, 31622400, NULL,
	  "seconds from the start of one scrub pass to the start of the next, 0 = back to back" },
	{ "ds", "zstd_level", GN_CONF_INT, OFF(ds.zstd_level), "3", 1, 19, NULL,
	  "zstd level for directories with compression = zstd" },
	{ "ds", "heartbeat_ms", GN_CONF_INT, OFF(ds.heartbeat_ms), "2000", 100, MS_MAX, NULL,
	  "interval of heartbeats to the MDS" },
	{ "ds", "metrics_port", GN_CONF_INT, OFF(ds.metrics_port), "9510", 0, 65535, NULL,
	  "Prometheus metrics HTTP port, 0 = off" },
	{ "ds", "log_level", GN_CONF_CHOICE, OFF(ds.log_level), "info", 0, 0, "error|warn|info|debug",
	  "most verbose level logged" },

	/* [client] */
	{ "client", "mds", GN_CONF_STR, OFF(client.mds), "127.0.0.1:9400", 0, 0, NULL,
	  "metadata server for gannetctl (mounts name it in the source)" },
	{ "client", "cache_size", GN_CONF_SIZE, OFF(client.cache_size), "1G", 0, SZ_MAX, NULL,
	  "RAM read cache of a mount" },
	{ "client", "writeback_limit", GN_CONF_SIZE, OFF(client.writeback_limit), "256M", 8 << 20, SZ_MAX, NULL,
	  "dirty data buffered per mount before writers wait" },
	{ "client", "prefetch_max", GN_CONF_SIZE, OFF(client.prefetch_max), "64M", 0, SZ_MAX, NULL,
	  "largest read-ahead window of one stream" },
	{ "client", "prefetch_threads", GN_CONF_INT, OFF(client.prefetch_threads), "2", 1, GN_PREFETCH_THREADS_MAX, NULL,
	  "read-ahead fetches a mount runs at once, one chunk each" },
	{ "client", "upload_threads", GN_CONF_INT, OFF(client.upload_threads), "8", 1, 64, NULL,
	  "chunk uploads a mount runs at once" },
	{ "client", "cache_dir", GN_CONF_STR, OFF(client.cache_dir), "", 0, 0, NULL,
	  "local directory of the disk cache tier, empty = none" },
	{ "client", "cache_dir_size", GN_CONF_SIZE, OFF(client.cache_dir_size), "0", 0, SZ_MAX, NULL,
	  "size limit of the disk cache tier" },
	{ "client", "timeout_ms", GN_CONF_INT, OFF(client.timeout_ms), "10000", 100, MS_MAX, NULL,
	  "deadline of one remote call" },
	{ "client", "op_timeout_ms", GN_CONF_INT, OFF(client.op_timeout_ms), "30000", 100, MS_MAX, NULL,
	  "time an operation keeps retrying before it fails with an errno" },
	{ "client", "metrics_port", GN_CONF_INT, OFF(client.metrics_port), "0", 0, 65535, NULL,
	  "Prometheus metrics HTTP port of a mount, 0 = off" },
	{ "client", "log_level", GN_CONF_CHOICE, OFF(client.log_level), "warn", 0, 0, "error|warn|info|debug",
	  "most verbose level logged" },

	/* [security] */
	{ "security", "admin_gid", GN_CONF_INT, OFF(security.admin_gid), "0", 0, UINT32_MAX, NULL,
	  "members of this group (and root) may run administrative commands" },
};

const struct gn_conf_key *gn_conf_keys(size_t *n)
{
	*n = GN_ARRAY_SIZE(keys);
	return keys;
}

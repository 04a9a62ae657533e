/*
 * ctl.c - gannetctl: the admin and user command line (gannetctl(8)).
 *
 * This file parses the command line and the config file, dispatches to a
 * subcommand and wraps the remote calls.  Options may appear anywhere on
 * the line (GNU getopt permutes); each subcommand rejects the ones it does
 * not take, so `gannetctl ds list --replicas 2` is a usage error.
 */
#include "config.h"
#include "fs/ctl_i.h"
#include "common/conf.h"
#include "common/daemon.h"
#include "common/log.h"
#include "common/status.h"
#include "common/util.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MDS_SVC "/gannet.Mds/"
#define DS_SVC "/gannet.Ds/"

static const struct {
	const char *name;
	int (*fn)(struct ctl *c, int argc, char **argv);
} cmds[] = {
	{ "status", ctl_cmd_status },
	{ "ds", ctl_cmd_ds },
	{ "df", ctl_cmd_df },
	{ "sessions", ctl_cmd_sessions },
	{ "degraded", ctl_cmd_degraded },
	{ "info", ctl_cmd_info },
	{ "policy", ctl_cmd_policy },
	{ "fsck", ctl_cmd_fsck },
	{ "scrub", ctl_cmd_scrub },
	{ "stats", ctl_cmd_stats },
	{ "warmup", ctl_cmd_warmup },
};

static void usage(FILE *f)
{
	fprintf(f,
"usage: gannetctl [OPTIONS] COMMAND [ARGS]\n"
"\n"
"commands:\n"
"  status                      cluster health: MDS, data servers, capacity, chunks\n"
"  ds list                     data servers and their state\n"
"  ds drain|undrain|remove ID  move chunks off a server, stop, or forget it\n"
"  df                          capacity and inodes of the filesystem\n"
"  sessions                    client sessions (mounts) known to the MDS\n"
"  degraded                    chunks with fewer live replicas than their policy\n"
"  info PATH                   inode, policy and chunks of a file\n"
"  policy get PATH             replication and compression of a directory\n"
"  policy set PATH [--replicas N] [--compression none|zstd]\n"
"  fsck [--repair]             check chunk maps against every data server\n"
"  scrub status                blocks verified and bad blocks per data server\n"
"  scrub start [--ds ID]       read and verify every replica now\n"
"  stats ENDPOINT              live rates of a mount or daemon (HOST:PORT, PORT\n"
"                              of its metrics endpoint, or a mount point)\n"
"  warmup PATH...              load files or trees into their mount's cache\n"
"\n"
"options:\n"
"  --mds=HOST:PORT    metadata server (default: [client] mds of the config)\n"
"  --config=FILE      config file (default: " GN_CONF_DEFAULT_PATH ")\n"
"  --timeout=MS       deadline of each remote call (default: [client] timeout_ms)\n"
"  --json             machine-readable output on stdout\n"
"  --replicas=N       policy set: replicas, 1..8\n"
"  --compression=C    policy set: none or zstd\n"
"  --repair           fsck: re-replicate missing replicas, delete stale ones\n"
"  --ds=ID            scrub start: only this data server\n"
"  --interval=S       stats: seconds between samples (default 1)\n"
"  --count=N          stats: print N samples, then exit\n"
"  --parallel=N       warmup: ranges fetched at once, 1..64 (default 4)\n"
"  -h, --help         this help\n"
"  -V, --version      version\n"
"\n"
"PATH is a path under a gannet mount, or a path from the filesystem root.\n"
"Exit status: 0 success, 1 failure, 2 usage error.\n");
}

int ctl_only_opts(struct ctl *c, const char *cmd, unsigned allowed)
{
	/* In the order of enum ctl_opt_flags. */
	static const char *const names[] = { "--replicas", "--compression",
					     "--repair", "--ds", "--interval",
					     "--count", "--parallel" };

	for (size_t i = 0; i < GN_ARRAY_SIZE(names); i++) {
		if ((c->opts_given & (1u << i)) && !(allowed & (1u << i))) {
			ctl_err(c, "'%s' does not take %s", cmd, names[i]);
			return CTL_USAGE;
		}
	}
	return CTL_OK;
}

Gannet__ReqHeader *ctl_hdr(struct ctl *c)
{
	c->hdr.request_id = ++c->next_request_id;
	c->hdr.deadline_ms = (uint32_t)c->timeout_ms;
	return &c->hdr;
}

static void init_cred(struct ctl *c)
{
	gid_t groups[64];
	int n = getgroups(64, groups);

	gannet__cred__init(&c->cred);
	c->cred.uid = getuid();
	c->cred.gid = getgid();
	c->cred.pid = (uint32_t)getpid();
	for (int i = 0; i < n; i++)
		c->groups[i] = groups[i];
	c->cred.n_groups = n > 0 ? (size_t)n : 0;
	c->cred.groups = c->groups;
	gannet__req_header__init(&c->hdr);
	c->hdr.cred = &c->cred;
	c->next_request_id = (uint64_t)getpid() << 32;
}

static int ensure_rpc(struct ctl *c)
{
	int ret = 0;

	if (!c->rpc) {
		ret = gn_rpc_client_new(&c->rpc);
		if (ret)
			ctl_err(c, "cannot start the RPC client: %s", gn_strerror(ret));
	}
	return ret;
}

/* Channels connect lazily, so creating one fails only on a bad address. */
static int channel_for(struct ctl *c, const char *addr,
		       struct gn_rpc_channel **out)
{
	struct gn_rpc_channel_opts o = { .conns = 1, .max_msg = 64 << 20 };
	int ret = ensure_rpc(c);

	if (ret)
		return ret;
	ret = gn_rpc_channel_new(c->rpc, addr, &o, out);
	if (ret)
		ctl_err(c, "bad address '%s': %s", addr, gn_strerror(ret));
	return ret;
}

static int call(struct ctl *c, struct gn_rpc_channel *ch, const char *svc,
		const char *method, const ProtobufCMessage *req,
		const ProtobufCMessageDescriptor *reply_desc,
		struct gn_rpc_result *res)
{
	/* Every call gannetctl makes is idempotent (reads, or admin changes
	 * that converge), so a connection that fails before the request is
	 * sent (UNAVAILABLE) is retried twice, 50 and 100 ms later. */
	struct gn_rpc_callopts o = { .timeout_ms = c->timeout_ms, .retries = 2 };
	char full[96];

	memset(res, 0, sizeof(*res));
	snprintf(full, sizeof(full), "%s%s", svc, method);
	return gn_rpc_call(ch, full, req, NULL, 0, reply_desc, &o, res);
}

int ctl_mds_call_quiet(struct ctl *c, const char *method,
		       const ProtobufCMessage *req,
		       const ProtobufCMessageDescriptor *reply_desc,
		       struct gn_rpc_result *res)
{
	int ret;

	if (!c->mds) {
		ret = channel_for(c, c->mds_addr, &c->mds);
		if (ret) {
			memset(res, 0, sizeof(*res));
			res->err = ret;
			return ret;
		}
	}
	return call(c, c->mds, MDS_SVC, method, req, reply_desc, res);
}

int ctl_mds_call(struct ctl *c, const char *method, const char *what,
		 const ProtobufCMessage *req,
		 const ProtobufCMessageDescriptor *reply_desc,
		 struct gn_rpc_result *res)
{
	int ret = ctl_mds_call_quiet(c, method, req, reply_desc, res);

	if (ret) {
		ctl_print_rpc_error(c, c->mds_addr, what, res);
		gn_rpc_result_release(res);
	}
	return ret;
}

int ctl_ds_call(struct ctl *c, const char *addr, const char *method,
		const ProtobufCMessage *req,
		const ProtobufCMessageDescriptor *reply_desc,
		struct gn_rpc_result *res)
{
	struct gn_rpc_channel *ch = NULL;
	int ret;

	for (size_t i = 0; i < c->nds; i++)
		if (!strcmp(c->ds[i].addr, addr))
			ch = c->ds[i].ch;
	if (!ch) {
		ret = channel_for(c, addr, &ch);
		if (ret) {
			memset(res, 0, sizeof(*res));
			res->err = ret;
			return ret;
		}
		c->ds = xrealloc(c->ds, (c->nds + 1) * sizeof(*c->ds));
		c->ds[c->nds].addr = xstrdup(addr);
		c->ds[c->nds].ch = ch;
		c->nds++;
	}
	return call(c, ch, DS_SVC, method, req, reply_desc, res);
}

void ctl_print_rpc_error(struct ctl *c, const char *addr, const char *what,
			 const struct gn_rpc_result *res)
{
	const char *detail = res->detail[0] ? res->detail : NULL;

	switch (res->status) {
	case 14:	/* UNAVAILABLE */
		ctl_err(c, "cannot reach %s at %s: %s", c->mds_addr == addr ||
			!strcmp(addr, c->mds_addr) ? "the MDS" : "data server",
			addr, detail ? detail : "unavailable");
		break;
	case 4:		/* DEADLINE_EXCEEDED */
		ctl_err(c, "%s: no answer from %s within %d ms", what, addr,
			c->timeout_ms);
		break;
	case 12:	/* UNIMPLEMENTED */
		ctl_err(c, "%s: not supported by the server at %s", what, addr);
		break;
	default:
		/* The detail often repeats the errno's text: print it once. */
		if (detail && strcmp(detail, gn_strerror(res->err)))
			ctl_err(c, "%s: %s (%s)", what, gn_strerror(res->err), detail);
		else
			ctl_err(c, "%s: %s", what, gn_strerror(res->err));
	}
}

int ctl_list_ds(struct ctl *c, struct gn_rpc_result *res,
		Gannet__ListDsReply **out)
{
	Gannet__ListDsRequest req = GANNET__LIST_DS_REQUEST__INIT;
	int ret;

	req.h = ctl_hdr(c);
	ret = ctl_mds_call(c, "ListDs", "list data servers", &req.base,
			   &gannet__list_ds_reply__descriptor, res);
	if (!ret)
		*out = (Gannet__ListDsReply *)res->reply;
	return ret;
}

static void ctl_release(struct ctl *c)
{
	for (size_t i = 0; i < c->nds; i++) {
		gn_rpc_channel_free(c->ds[i].ch);
		free(c->ds[i].addr);
	}
	free(c->ds);
	if (c->mds)
		gn_rpc_channel_free(c->mds);
	if (c->rpc)
		gn_rpc_client_free(c->rpc);
	free(c->mds_addr);
}

enum {
	OPT_MDS = 256, OPT_CONFIG, OPT_JSON, OPT_TIMEOUT, OPT_REPLICAS,
	OPT_COMPRESSION, OPT_REPAIR, OPT_DS, OPT_INTERVAL, OPT_COUNT,
	OPT_PARALLEL,
};

static const struct option long_opts[] = {
	{ "mds", required_argument, NULL, OPT_MDS },
	{ "config", required_argument, NULL, OPT_CONFIG },
	{ "json", no_argument, NULL, OPT_JSON },
	{ "timeout", required_argument, NULL, OPT_TIMEOUT },
	{ "replicas", required_argument, NULL, OPT_REPLICAS },
	{ "compression", required_argument, NULL, OPT_COMPRESSION },
	{ "repair", no_argument, NULL, OPT_REPAIR },
	{ "ds", required_argument, NULL, OPT_DS },
	{ "interval", required_argument, NULL, OPT_INTERVAL },
	{ "count", required_argument, NULL, OPT_COUNT },
	{ "parallel", required_argument, NULL, OPT_PARALLEL },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
	{ NULL, 0, NULL, 0 },
};

static int parse_int_opt(struct ctl *c, const char *opt, const char *v,
			 int64_t min, int64_t max, int64_t *out)
{
	int64_t n;

	if (gn_parse_int(v, &n) || n < min || n > max) {
		ctl_err(c, "%s: '%s' is not a number in %lld..%lld", opt, v,
			(long long)min, (long long)max);
		return CTL_USAGE;
	}
	*out = n;
	return CTL_OK;
}

/* Options into c; *config gets --config.  Returns -1 to go on, else the
 * exit status (help, version, usage error). */
static int parse_opts(struct ctl *c, int argc, char **argv,
		      const char **config, const char **mds, int64_t *timeout)
{
	int o;

	opterr = 0;
	while ((o = getopt_long(argc, argv, "hV", long_opts, NULL)) != -1) {
		switch (o) {
		case OPT_MDS: *mds = optarg; break;
		case OPT_CONFIG: *config = optarg; break;
		case OPT_JSON: c->json = true; break;
		case OPT_TIMEOUT:
			if (parse_int_opt(c, "--timeout", optarg, 1, 3600000, timeout))
				return CTL_USAGE;
			break;
		case OPT_REPLICAS:
			if (parse_int_opt(c, "--replicas", optarg, 1, 8, &c->replicas))
				return CTL_USAGE;
			c->opts_given |= CTL_O_REPLICAS;
			break;
		case OPT_COMPRESSION:
			if (strcmp(optarg, "none") && strcmp(optarg, "zstd")) {
				ctl_err(c, "--compression: '%s' is not none or zstd", optarg);
				return CTL_USAGE;
			}
			c->compression = optarg;
			c->opts_given |= CTL_O_COMPRESSION;
			break;
		case OPT_REPAIR:
			c->repair = true;
			c->opts_given |= CTL_O_REPAIR;
			break;
		case OPT_DS:
			if (parse_int_opt(c, "--ds", optarg, 1, UINT32_MAX, &c->ds_filter))
				return CTL_USAGE;
			c->opts_given |= CTL_O_DS;
			break;
		case OPT_INTERVAL: {
			char *end;
			double secs = strtod(optarg, &end);

			if (end == optarg || *end || !(secs >= 0.1 && secs <= 3600)) {
				ctl_err(c, "--interval: '%s' is not a number of seconds "
					"in 0.1..3600", optarg);
				return CTL_USAGE;
			}
			c->interval_ms = (int)(secs * 1000 + 0.5);
			c->opts_given |= CTL_O_INTERVAL;
			break;
		}
		case OPT_COUNT:
			if (parse_int_opt(c, "--count", optarg, 1, INT32_MAX, &c->count))
				return CTL_USAGE;
			c->opts_given |= CTL_O_COUNT;
			break;
		case OPT_PARALLEL:
			if (parse_int_opt(c, "--parallel", optarg, 1, 64, &c->parallel))
				return CTL_USAGE;
			c->opts_given |= CTL_O_PARALLEL;
			break;
		case 'h':
			usage(stdout);
			return CTL_OK;
		case 'V':
			gn_print_version(stdout, "gannetctl");
			return CTL_OK;
		default:
			if (optopt && optopt < 256)
				ctl_err(c, "unknown option '-%c'", optopt);
			else
				ctl_err(c, "unknown or incomplete option '%s'",
					argv[optind - 1]);
			fprintf(stderr, "Try 'gannetctl --help'.\n");
			return CTL_USAGE;
		}
	}
	return -1;
}

/* Config file, then --mds / --timeout over it. */
static int load_config(struct ctl *c, const char *config, const char *mds,
		       int64_t timeout)
{
	struct gn_conf conf;
	char err[512];
	int ret;

	gn_conf_init(&conf);
	ret = gn_conf_load(&conf, config ? config : GN_CONF_DEFAULT_PATH,
			   err, sizeof(err));
	if (ret == -ENOENT && !config) {
		ret = 0;
	} else if (ret == -ENOENT) {
		ctl_err(c, "cannot read config '%s': %s", config, strerror(ENOENT));
		ret = CTL_USAGE;
		goto out;
	} else if (ret) {
		ctl_err(c, "%s", err);
		ret = CTL_USAGE;
		goto out;
	}
	c->mds_addr = xstrdup(mds ? mds : conf.client.mds);
	c->mds_from_cmdline = mds != NULL;
	c->timeout_ms = (int)(timeout > 0 ? timeout : conf.client.timeout_ms);
	c->client_metrics_port = conf.client.metrics_port;
out:
	gn_conf_release(&conf);
	return ret;
}

int main(int argc, char **argv)
{
	struct ctl c = { .prog = "gannetctl", .replicas = -1, .interval_ms = 1000,
			 .parallel = 4 };
	const char *config = NULL, *mds = NULL;
	int64_t timeout = 0;
	int ret, i;

	gn_log_init("gannetctl", GN_LOG_ERR);
	/* Progress goes to stderr, but only for someone watching stdout. */
	c.tty = isatty(STDOUT_FILENO) && isatty(STDERR_FILENO);
	ret = parse_opts(&c, argc, argv, &config, &mds, &timeout);
	if (ret >= 0)
		return ret;
	if (optind >= argc) {
		usage(stderr);
		return CTL_USAGE;
	}
	for (i = 0; i < (int)GN_ARRAY_SIZE(cmds); i++)
		if (!strcmp(argv[optind], cmds[i].name))
			break;
	if (i == (int)GN_ARRAY_SIZE(cmds)) {
		ctl_err(&c, "unknown command '%s'", argv[optind]);
		fprintf(stderr, "Try 'gannetctl --help'.\n");
		return CTL_USAGE;
	}
	ret = load_config(&c, config, mds, timeout);
	if (ret)
		goto out;
	init_cred(&c);
	gn_rpc_init();
	ret = cmds[i].fn(&c, argc - optind, argv + optind);
	ctl_release(&c);
	gn_rpc_shutdown();
	return ret;
out:
	free(c.mds_addr);
	return ret;
}

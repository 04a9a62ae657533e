/*
 * main.c - gannet-fuse: mount a Gannet filesystem.
 *
 *   gannet-fuse [-f] [-d] HOST[:PORT]:/[SUBDIR] MOUNTPOINT [-o opt,...]
 *
 * Order matters: the session with the MDS is opened before the mount (so
 * an unreachable MDS fails the mount within seconds, naming it), and the
 * process goes to the background only once the mount is in place.  We do
 * not use fuse_daemonize(): it forks after set-up, and gRPC's threads do
 * not survive a fork.  Instead we fork first and the parent waits on a
 * pipe for the child's verdict, exiting with its status.
 */
#include "config.h"
#include "fs/fsop_i.h"
#include "fs/io.h"
#include "common/conf.h"
#include "common/daemon.h"
#include "common/log.h"
#include "common/metrics.h"
#include "common/rpc.h"
#include "common/status.h"
#include "common/util.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <systemd/sd-journal.h>
#include <unistd.h>

#define PROG "gannet-fuse"
#define DEFAULT_MDS_PORT 9400

/* Options handed to libfuse as they are (mount flags and FUSE options). */
static const char *const fuse_opts[] = {
	"allow_other", "allow_root", "ro", "rw", "nosuid", "suid", "nodev",
	"dev", "noexec", "exec", "async", "sync", "dirsync", "atime",
	"noatime", "relatime", "norelatime", "strictatime", "lazytime",
	"nolazytime", "auto_unmount", "max_read=", "fsname=", "subtype=",
	"context=", "fscontext=", "defcontext=", "rootcontext=",
	"max_threads=", NULL,
};

/* Accepted from mount(8) and fstab and ignored. */
static const char *const ignored_opts[] = {
	"_netdev", "defaults", "auto", "noauto", "nofail", "user", "nouser",
	"users", "owner", "group", "comment=", "x-", "loop", "default_permissions",
	NULL,
};

struct args {
	bool foreground, debug, help, version;
	bool default_permissions, readdirplus;
	const char *source;
	const char *mountpoint;
	char *fuse_o;		/* comma list for libfuse */
	char *conf_path;
	char **gannet_kv;	/* "key=value" for [client] */
	size_t ngannet;
	int max_threads;
};

static void usage(FILE *out)
{
	fprintf(out,
		"usage: " PROG " [-f] [-d] HOST[:PORT]:/[SUBDIR] MOUNTPOINT [-o OPT[,OPT...]]\n"
		"\n"
		"Mount the Gannet filesystem served by the metadata server HOST:PORT\n"
		"(default port %d) at MOUNTPOINT.\n"
		"\n"
		"  -f              stay in the foreground (log to stderr)\n"
		"  -d              foreground with FUSE request tracing\n"
		"  -o OPT,...      mount options, below\n"
		"  -h, --help      this text\n"
		"  -V, --version   version\n"
		"\n"
		"Gannet options ([client] keys of gannet.conf, which they override):\n"
		"  config=FILE            configuration file (default " GN_CONF_DEFAULT_PATH ")\n",
		DEFAULT_MDS_PORT);
	{
		size_t n;
		const struct gn_conf_key *k = gn_conf_keys(&n);

		for (size_t i = 0; i < n; i++) {
			if (strcmp(k[i].section, "client") || !strcmp(k[i].name, "mds"))
				continue;
			char kv[64];

			snprintf(kv, sizeof(kv), "%s=VALUE", k[i].name);
			fprintf(out, "  %-22s %s (default: %s)\n", kv, k[i].help,
				*k[i].def ? k[i].def : "none");
		}
	}
	fprintf(out,
		"  no_default_permissions only the MDS checks permissions (by default the\n"
		"                         kernel checks them too, which covers FIFOs and devices)\n"
		"  noreaddirplus          plain readdir (attributes fetched by lookups)\n"
		"  max_threads=N          FUSE worker threads (default 16)\n"
		"\n"
		"FUSE and mount options passed through: allow_other, allow_root, ro, rw,\n"
		"nosuid, nodev, noexec, noatime, relatime, sync, dirsync, auto_unmount,\n"
		"fsname=, subtype=, max_read=.  Ignored (for fstab): _netdev, defaults, auto,\n"
		"noauto, nofail, user, users, x-*.\n");
}

static bool opt_matches(const char *const *list, const char *opt)
{
	for (size_t i = 0; list[i]; i++) {
		size_t n = strlen(list[i]);
		bool prefix = list[i][n - 1] == '=' || list[i][n - 1] == '-';
		if (prefix ? !strncmp(opt, list[i], n) : !strcmp(opt, list[i]))
			return true;
	}
	return false;
}

static void append_opt(char **list, const char *opt)
{
	char *old = *list;

	*list = old ? xasprintf("%s,%s", old, opt) : xstrdup(opt);
	free(old);
}

/* One -o word.  Returns 0, or 2 with a message printed. */
static int parse_opt(struct args *a, const char *opt)
{
	const char *eq = strchr(opt, '=');
	size_t n;
	const struct gn_conf_key *k = gn_conf_keys(&n);

	if (!*opt)
		return 0;
	if (!strncmp(opt, "config=", 7)) {
		free(a->conf_path);
		a->conf_path = xstrdup(opt + 7);
		return 0;
	}
	if (!strcmp(opt, "no_default_permissions")) {
		a->default_permissions = false;
		return 0;
	}
	if (!strcmp(opt, "noreaddirplus")) {
		a->readdirplus = false;
		return 0;
	}
	if (!strncmp(opt, "max_threads=", 12)) {
		int64_t v;
		if (gn_parse_int(opt + 12, &v) || v < 1 || v > 1024) {
			fprintf(stderr, PROG ": bad value in option '%s': expected 1..1024\n", opt);
			return 2;
		}
		a->max_threads = (int)v;
		return 0;
	}
	for (size_t i = 0; i < n; i++) {
		if (strcmp(k[i].section, "client") || !strcmp(k[i].name, "mds"))
			continue;
		if (eq && strlen(k[i].name) == (size_t)(eq - opt) &&
		    !strncmp(k[i].name, opt, (size_t)(eq - opt))) {
			a->gannet_kv = xrealloc(a->gannet_kv,
						(a->ngannet + 1) * sizeof(char *));
			a->gannet_kv[a->ngannet++] = xstrdup(opt);
			return 0;
		}
	}
	if (opt_matches(fuse_opts, opt)) {
		append_opt(&a->fuse_o, opt);
		return 0;
	}
	if (opt_matches(ignored_opts, opt))
		return 0;
	fprintf(stderr, PROG ": unknown mount option '%s' (see " PROG " --help)\n", opt);
	return 2;
}

static int parse_opts(struct args *a, const char *list)
{
	char *copy = xstrdup(list), *save = NULL, *w;
	int ret = 0;

	for (w = strtok_r(copy, ",", &save); w && !ret; w = strtok_r(NULL, ",", &save))
		ret = parse_opt(a, w);
	free(copy);
	return ret;
}

static int parse_args(struct args *a, int argc, char **argv)
{
	int ret;

	for (int i = 1; i < argc; i++) {
		const char *arg = argv[i];

		if (!strcmp(arg, "-h") || !strcmp(arg, "--help")) {
			a->help = true;
		} else if (!strcmp(arg, "-V") || !strcmp(arg, "--version")) {
			a->version = true;
		} else if (!strcmp(arg, "-f")) {
			a->foreground = true;
		} else if (!strcmp(arg, "-d")) {
			a->foreground = a->debug = true;
		} else if (!strcmp(arg, "-o")) {
			if (++i == argc) {
				fprintf(stderr, PROG ": option -o needs a value\n");
				return 2;
			}
			ret = parse_opts(a, argv[i]);
			if (ret)
				return ret;
		} else if (!strncmp(arg, "-o", 2)) {
			ret = parse_opts(a, arg + 2);
			if (ret)
				return ret;
		} else if (arg[0] == '-' && arg[1]) {
			fprintf(stderr, PROG ": unknown option '%s' (see " PROG " --help)\n", arg);
			return 2;
		} else if (!a->source) {
			a->source = arg;
		} else if (!a->mountpoint) {
			a->mountpoint = arg;
		} else {
			fprintf(stderr, PROG ": unexpected argument '%s'\n", arg);
			return 2;
		}
	}
	if (a->help || a->version)
		return 0;
	if (!a->source || !a->mountpoint) {
		usage(stderr);
		return 2;
	}
	return 0;
}

/* "host[:port]:/sub" -> "host:port" and "/sub".  Returns 0 or 2. */
static int parse_source(const char *src, char **addr, char **subdir)
{
	const char *sep = strstr(src, ":/");
	char host[256], *hp;
	int port;

	/* An IPv6 literal's ':' are inside brackets. */
	if (src[0] == '[') {
		const char *rb = strchr(src, ']');
		sep = rb ? strstr(rb, ":/") : NULL;
	}
	if (!sep || sep == src) {
		fprintf(stderr, PROG ": bad source '%s': expected HOST[:PORT]:/[SUBDIR]\n", src);
		return 2;
	}
	hp = xasprintf("%.*s", (int)(sep - src), src);
	if (gn_parse_hostport(hp, host, sizeof(host), &port, DEFAULT_MDS_PORT) ||
	    port == 0) {
		fprintf(stderr, PROG ": bad metadata server address '%s' in '%s'\n", hp, src);
		free(hp);
		return 2;
	}
	*addr = strchr(host, ':') ? xasprintf("[%s]:%d", host, port)
				  : xasprintf("%s:%d", host, port);
	free(hp);
	*subdir = xstrdup(sep + 1);
	return 0;
}

static void args_release(struct args *a)
{
	free(a->fuse_o);
	free(a->conf_path);
	for (size_t i = 0; i < a->ngannet; i++)
		free(a->gannet_kv[i]);
	free(a->gannet_kv);
}

/* Load the file, then the -o overrides.  Returns 0 or 2 (message printed). */
static int load_conf(struct args *a, struct gn_conf *conf)
{
	const char *path = a->conf_path ? a->conf_path : GN_CONF_DEFAULT_PATH;
	char err[512];
	int ret;

	ret = gn_conf_load(conf, path, err, sizeof(err));
	if (ret == -ENOENT && !a->conf_path)
		ret = 0;
	if (ret == -ENOENT) {
		fprintf(stderr, PROG ": cannot read '%s': %s\n", path, strerror(ENOENT));
		return 2;
	}
	if (ret) {
		fprintf(stderr, PROG ": %s\n", err);
		return 2;
	}
	for (size_t i = 0; i < a->ngannet; i++) {
		char *kv = a->gannet_kv[i], *eq = strchr(kv, '=');

		*eq = '\0';
		ret = gn_conf_set(conf, "client", kv, eq + 1, err, sizeof(err));
		*eq = '=';
		if (ret) {
			fprintf(stderr, PROG ": mount option '%s': %s\n", kv, err);
			return 2;
		}
	}
	return 0;
}

/* Fork; the parent waits for the child's verdict on a pipe and exits
 * with it.  Returns the write end in the child. */
static int background(void)
{
	int p[2];
	pid_t pid;
	char st;

	if (pipe(p)) {
		perror(PROG ": pipe");
		exit(1);
	}
	pid = fork();
	if (pid < 0) {
		perror(PROG ": fork");
		exit(1);
	}
	if (pid > 0) {
		close(p[1]);
		if (read(p[0], &st, 1) != 1)
			exit(1);	/* the child died and said why on stderr */
		exit(st);
	}
	close(p[0]);
	setsid();
	return p[1];
}

/* The child mounted: tell the parent, detach from the terminal; logs go
 * to the journal when there is one. */
static void detach(int fd)
{
	char ok = 0;
	int null = open("/dev/null", O_RDWR), jfd;

	if (write(fd, &ok, 1) != 1)
		log_warn("cannot report the mount to the parent");
	close(fd);
	if (chdir("/"))
		log_warn("cannot chdir to /");
	if (null >= 0) {
		dup2(null, 0);
		dup2(null, 1);
		jfd = sd_journal_stream_fd(PROG, LOG_INFO, 1);
		dup2(jfd >= 0 ? jfd : null, 2);
		if (jfd >= 0)
			close(jfd);
		if (null > 2)
			close(null);
	}
}

static void fail_to_parent(int fd, int code)
{
	char c = (char)code;

	if (fd >= 0 && write(fd, &c, 1) != 1)
		log_warn("cannot report the failure to the parent");
}

int main(int argc, char **argv)
{
	struct args a = { .default_permissions = true, .readdirplus = true,
			  .max_threads = 16 };
	struct fuse_args fargs = FUSE_ARGS_INIT(0, NULL);
	struct fuse_loop_config *lcfg = NULL;
	struct fuse_session *se = NULL;
	struct fsop_ctx ctx = { 0 };
	struct fs_session s;
	struct gn_conf conf;
	enum gn_log_level lvl;
	char err[512], mnt[PATH_MAX], *o;
	bool session_up = false, mounted = false, rpc_up = false;
	int ret, pipe_fd = -1, code = 1;
	sigset_t sigs;

	ret = parse_args(&a, argc, argv);
	if (ret || a.help || a.version) {
		if (a.help)
			usage(stdout);
		else if (a.version)
			gn_print_version(stdout, PROG);
		args_release(&a);
		return ret;
	}
	gn_conf_init(&conf);
	ret = load_conf(&a, &conf);
	if (ret) {
		gn_conf_release(&conf);
		args_release(&a);
		return ret;
	}
	if (gn_log_level_parse(conf.client.log_level, &lvl))
		lvl = GN_LOG_WARN;
	gn_log_init("fuse", a.debug ? GN_LOG_DEBUG : lvl);
	fs_session_init(&s, &conf.client);
	if (parse_source(a.source, &s.mds_addr, &s.subdir)) {
		code = 2;
		goto out;
	}
	if (!realpath(a.mountpoint, mnt)) {
		fprintf(stderr, PROG ": bad mount point '%s': %s\n", a.mountpoint,
			strerror(errno));
		goto out;
	}

	if (!a.foreground)
		pipe_fd = background();

	/* Only the main thread takes SIGTERM/SIGINT/SIGHUP (libfuse's
	 * handlers); every thread started from here inherits the mask. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);
	/* The client's memory is bounded (issue #7): see common/rpc.c. */
	gn_rpc_tune_malloc(GN_MALLOC_BOUNDED);
	gn_rpc_init();
	rpc_up = true;

	ret = fs_session_start(&s, err, sizeof(err));
	if (ret) {
		fprintf(stderr, PROG ": %s\n", err);
		goto out;
	}
	session_up = true;

	o = xasprintf("fsname=%s,subtype=gannet%s", a.source,
		      a.default_permissions ? ",default_permissions" : "");
	fuse_opt_add_arg(&fargs, PROG);
	fuse_opt_add_arg(&fargs, "-o");
	fuse_opt_add_arg(&fargs, o);
	free(o);
	if (a.fuse_o) {
		fuse_opt_add_arg(&fargs, "-o");
		fuse_opt_add_arg(&fargs, a.fuse_o);
	}
	if (a.debug)
		fuse_opt_add_arg(&fargs, "-d");
	ctx.s = &s;
	ctx.opts.readdirplus = a.readdirplus;
	ctx.opts.mountpoint = mnt;
	ctx.opts.max_threads = a.max_threads;
	se = fuse_session_new(&fargs, &fsop_ops, sizeof(fsop_ops), &ctx);
	if (!se) {
		fprintf(stderr, PROG ": bad FUSE options\n");
		code = 2;
		goto out;
	}
	if (fuse_set_signal_handlers(se)) {
		fprintf(stderr, PROG ": cannot install signal handlers\n");
		goto out;
	}
	if (fuse_session_mount(se, mnt)) {
		fprintf(stderr, PROG ": cannot mount at '%s'\n", mnt);
		goto out;
	}
	mounted = true;
	s.se = se;
	fsop_kernel_ops_init(&s);
	ret = fs_session_run(&s);
	if (ret) {
		fprintf(stderr, PROG ": cannot start threads: %s\n", gn_strerror(ret));
		goto out;
	}
	if (conf.client.metrics_port) {
		int port = gn_metrics_start(PROG, "127.0.0.1", (int)conf.client.metrics_port);
		if (port < 0)
			log_warn("cannot start metrics endpoint port=%lld err='%s'",
				 (long long)conf.client.metrics_port, gn_strerror(port));
		else
			log_info("metrics endpoint listening port=%d", port);
	}
	log_info("mounted source='%s' mountpoint='%s' session=%llu", a.source, mnt,
		 (unsigned long long)s.session_id);
	if (pipe_fd >= 0) {
		detach(pipe_fd);
		pipe_fd = -1;
	}
	gn_daemon_ready("mounted");

	lcfg = fuse_loop_cfg_create();
	fuse_loop_cfg_set_max_threads(lcfg, (unsigned)a.max_threads);
	fuse_loop_cfg_set_idle_threads(lcfg, 16);
	pthread_sigmask(SIG_UNBLOCK, &sigs, NULL);
	ret = fuse_session_loop_mt(se, lcfg);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	code = ret < 0 ? 1 : 0;
	log_info("unmounting mountpoint='%s'", mnt);
out:
	fail_to_parent(pipe_fd, code ? code : 1);
	if (session_up)
		fs_session_stop(&s);	/* writes back what is dirty */
	if (conf.client.metrics_port)
		gn_metrics_stop();
	if (se) {
		if (mounted)
			fuse_session_unmount(se);
		fuse_remove_signal_handlers(se);
		fuse_session_destroy(se);
	}
	if (lcfg)
		fuse_loop_cfg_destroy(lcfg);
	fuse_opt_free_args(&fargs);
	fs_session_release(&s);
	if (rpc_up)
		gn_rpc_shutdown();
	gn_conf_release(&conf);
	args_release(&a);
	return code;
}

/*
 * ctl_stats.c - gannetctl stats: live rates of a mount or a daemon, read
 * from its Prometheus endpoint (common/metrics.h) twice per interval.
 *
 * The endpoint is HOST:PORT, a PORT on 127.0.0.1, or a mount point: then
 * the metrics_port=N option of the gannet-fuse process serving it (found
 * in /proc/PID/cmdline), else [client] metrics_port of the config.  On a
 * terminal the screen is redrawn every interval until interrupted (like
 * top); otherwise --count blocks (default 1) are printed and it exits.
 */
#include "config.h"
#include "fs/ctl_i.h"
#include "common/util.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define MAX_BODY (16u << 20)

struct sample {
	char *key;		/* name{labels} as exposed */
	double v;
};

struct scrape {
	struct sample *s;
	size_t n, cap;
	char program[64], version[32];
};

static void scrape_release(struct scrape *sc)
{
	for (size_t i = 0; i < sc->n; i++)
		free(sc->s[i].key);
	free(sc->s);
	memset(sc, 0, sizeof(*sc));
}

/* GET http://addr/metrics into *body (malloc'd, NUL-terminated). */
static int http_get(struct ctl *c, const char *addr, char **body)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *ai = NULL;
	struct timeval tv = { c->timeout_ms / 1000, (c->timeout_ms % 1000) * 1000 };
	char host[256], port[16], req[512], *buf = NULL, *p;
	size_t len = 0, cap = 65536;
	int fd = -1, pn, ret;
	ssize_t n;

	if (gn_parse_hostport(addr, host, sizeof(host), &pn, -1)) {
		ctl_err(c, "bad metrics address '%s'", addr);
		return -EINVAL;
	}
	snprintf(port, sizeof(port), "%d", pn);
	ret = getaddrinfo(host, port, &hints, &ai);
	if (ret) {
		ctl_err(c, "cannot resolve '%s': %s", host, gai_strerror(ret));
		return -EINVAL;
	}
	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	/* Both timeouts bound connect(), send() and every recv(). */
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) ||
	    connect(fd, ai->ai_addr, ai->ai_addrlen)) {
		ret = -errno;
		ctl_err(c, "cannot reach the metrics endpoint at %s: %s", addr,
			strerror(errno));
		goto out;
	}
	snprintf(req, sizeof(req), "GET /metrics HTTP/1.0\r\nHost: %s\r\n\r\n", addr);
	if (send(fd, req, strlen(req), MSG_NOSIGNAL) < 0) {
		ret = -errno;
		ctl_err(c, "cannot send to %s: %s", addr, strerror(errno));
		goto out;
	}
	buf = xmalloc(cap);
	while ((n = recv(fd, buf + len, cap - len - 1, 0)) > 0) {
		len += (size_t)n;
		if (len + 1 == cap) {
			if (cap >= MAX_BODY) {
				ret = -EFBIG;
				ctl_err(c, "metrics of %s are larger than 16 MiB", addr);
				goto out;
			}
			cap *= 2;
			buf = xrealloc(buf, cap);
		}
	}
	if (n < 0) {
		ret = -errno;
		ctl_err(c, "cannot read from %s: %s", addr, strerror(errno));
		goto out;
	}
	buf[len] = '\0';
	if (strncmp(buf, "HTTP/1.", 7) || strncmp(buf + 8, " 200", 4) ||
	    !(p = strstr(buf, "\r\n\r\n"))) {
		ret = -EPROTO;
		ctl_err(c, "%s did not answer with metrics: %.40s", addr, buf);
		goto out;
	}
	memmove(buf, p + 4, len - (size_t)(p + 4 - buf) + 1);
	*body = buf;
	buf = NULL;
	ret = 0;
out:
	free(buf);
	if (fd >= 0)
		close(fd);
	freeaddrinfo(ai);
	return ret;
}

/* Copy the value of label `name` in key into out ("" if absent). */
static void label_of(const char *key, const char *name, char *out, size_t len)
{
	char pat[64];
	const char *p, *e;

	snprintf(pat, sizeof(pat), "%s=\"", name);
	out[0] = '\0';
	p = strstr(key, pat);
	if (!p || (p[-1] != '{' && p[-1] != ','))
		return;
	p += strlen(pat);
	for (e = p; *e && *e != '"'; e++)
		if (*e == '\\' && e[1])
			e++;
	snprintf(out, len, "%.*s", (int)(e - p), p);
}

static void parse_body(char *body, struct scrape *sc)
{
	char *save = NULL;

	for (char *l = strtok_r(body, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		char *sp, *end;
		double v;

		if (*l == '#' || !*l)
			continue;
		/* The value follows the name and labels (label values may
		 * hold spaces, so skip past the closing brace first). */
		sp = strchr(l, '{') ? strrchr(l, '}') : l;
		if (!sp || !(sp = strchr(sp, ' ')))
			continue;
		*sp = '\0';
		v = strtod(sp + 1, &end);
		if (end == sp + 1)
			continue;
		if (!strncmp(l, "gannet_build_info{", 18)) {
			label_of(l, "program", sc->program, sizeof(sc->program));
			label_of(l, "version", sc->version, sizeof(sc->version));
		}
		if (sc->n == sc->cap) {
			sc->cap = sc->cap ? 2 * sc->cap : 256;
			sc->s = xrealloc(sc->s, sc->cap * sizeof(*sc->s));
		}
		sc->s[sc->n].key = xstrdup(l);
		sc->s[sc->n].v = v;
		sc->n++;
	}
}

static int do_scrape(struct ctl *c, const char *addr, struct scrape *sc)
{
	char *body = NULL;
	int ret = http_get(c, addr, &body);

	if (ret)
		return ret;
	memset(sc, 0, sizeof(*sc));
	parse_body(body, sc);
	free(body);
	return 0;
}

/* Sum of every series of family `name`. */
static double sum(const struct scrape *sc, const char *name)
{
	size_t n = strlen(name);
	double t = 0;

	for (size_t i = 0; i < sc->n; i++)
		if (!strncmp(sc->s[i].key, name, n) &&
		    (sc->s[i].key[n] == '\0' || sc->s[i].key[n] == '{'))
			t += sc->s[i].v;
	return t;
}

/* Does the endpoint export family `name` at all? */
static bool present(const struct scrape *sc, const char *name)
{
	size_t n = strlen(name);

	for (size_t i = 0; i < sc->n; i++)
		if (!strncmp(sc->s[i].key, name, n) &&
		    (sc->s[i].key[n] == '\0' || sc->s[i].key[n] == '{'))
			return true;
	return false;
}

static double value_of(const struct scrape *sc, const char *key)
{
	for (size_t i = 0; i < sc->n; i++)
		if (!strcmp(sc->s[i].key, key))
			return sc->s[i].v;
	return 0;
}

struct rate { const char *label, *metric; bool bytes; };

static const struct rate rates[] = {
	{ "read", "gannet_client_read_bytes_total", true },
	{ "write", "gannet_client_written_bytes_total", true },
	{ "ds read", "gannet_ds_read_bytes_total", true },
	{ "ds write", "gannet_ds_written_bytes_total", true },
	{ "cache hits", "gannet_client_cache_hits_total", false },
	{ "cache misses", "gannet_client_cache_misses_total", false },
	{ "rpc served", "gannet_rpc_server_requests_total", false },
	{ "rpc failed", "gannet_rpc_server_errors_total", false },
	{ "rpc made", "gannet_rpc_client_requests_total", false },
	{ "rpc made failed", "gannet_rpc_client_errors_total", false },
};

static const struct { const char *label, *metric; } gauges[] = {
	{ "cache", "gannet_client_cache_bytes" },
	{ "prefetch in flight", "gannet_client_prefetch_bytes_in_flight" },
	{ "write-back in flight", "gannet_client_writeback_bytes_in_flight" },
};

struct method_rate { char method[96]; double rate; };

static int cmp_rate(const void *a, const void *b)
{
	double x = ((const struct method_rate *)a)->rate;
	double y = ((const struct method_rate *)b)->rate;

	return x < y ? 1 : x > y ? -1 : 0;
}

/* Per-method call rates, busiest first; *out malloc'd. */
static size_t method_rates(const struct scrape *a, const struct scrape *b,
			   double secs, struct method_rate **out)
{
	struct method_rate *m = xcalloc(b->n + 1, sizeof(*m));
	size_t n = 0;

	for (size_t i = 0; i < b->n; i++) {
		const char *k = b->s[i].key;

		if (strncmp(k, "gannet_rpc_server_requests_total{", 33) &&
		    strncmp(k, "gannet_rpc_client_requests_total{", 33))
			continue;
		label_of(k, "method", m[n].method, sizeof(m[n].method));
		m[n].rate = (b->s[i].v - value_of(a, k)) / secs;
		if (m[n].rate > 0)
			n++;
	}
	qsort(m, n, sizeof(*m), cmp_rate);
	*out = m;
	return n;
}

static void print_block(struct ctl *c, const char *addr, const struct scrape *a,
			const struct scrape *b, double secs)
{
	double hits = (sum(b, rates[4].metric) - sum(a, rates[4].metric)) / secs;
	double miss = (sum(b, rates[5].metric) - sum(a, rates[5].metric)) / secs;
	struct method_rate *m;
	size_t nm = method_rates(a, b, secs, &m);
	char buf[32];

	if (c->json) {
		struct ctl_json j;

		cj_begin(&j, stdout);
		cj_str(&j, "endpoint", addr);
		cj_str(&j, "program", b->program);
		cj_str(&j, "version", b->version);
		cj_u64(&j, "interval_ms", (uint64_t)(secs * 1000 + 0.5));
		cj_obj(&j, "per_second");
		for (size_t i = 0; i < GN_ARRAY_SIZE(rates); i++)
			if (present(b, rates[i].metric))
				cj_u64(&j, rates[i].metric, (uint64_t)((sum(b, rates[i].metric) -
					sum(a, rates[i].metric)) / secs + 0.5));
		cj_close_obj(&j);
		cj_obj(&j, "gauges");
		for (size_t i = 0; i < GN_ARRAY_SIZE(gauges); i++)
			if (present(b, gauges[i].metric))
				cj_u64(&j, gauges[i].metric, (uint64_t)sum(b, gauges[i].metric));
		cj_close_obj(&j);
		if (hits + miss > 0)
			cj_u64(&j, "cache_hit_permille",
			       (uint64_t)(1000 * hits / (hits + miss) + 0.5));
		cj_arr(&j, "methods");
		for (size_t i = 0; i < nm; i++) {
			cj_obj(&j, NULL);
			cj_str(&j, "method", m[i].method);
			cj_u64(&j, "per_second", (uint64_t)(m[i].rate + 0.5));
			cj_close_obj(&j);
		}
		cj_close_arr(&j);
		cj_end_doc(&j);
		free(m);
		return;
	}
	if (c->tty && isatty(STDOUT_FILENO))
		fputs("\033[H\033[J", stdout);
	printf("%s %s at %s, every %.1f s\n", *b->program ? b->program : "?",
	       b->version, addr, secs);
	for (size_t i = 0; i < GN_ARRAY_SIZE(rates); i++) {
		double r;

		if (!present(b, rates[i].metric))
			continue;
		r = (sum(b, rates[i].metric) - sum(a, rates[i].metric)) / secs;
		if (rates[i].bytes)
			printf("  %-22s %s/s\n", rates[i].label,
			       gn_fmt_bytes(buf, sizeof(buf), (uint64_t)(r > 0 ? r : 0)));
		else
			printf("  %-22s %.0f/s\n", rates[i].label, r);
	}
	if (hits + miss > 0)
		printf("  %-22s %.1f%%\n", "cache hit ratio", 100 * hits / (hits + miss));
	for (size_t i = 0; i < GN_ARRAY_SIZE(gauges); i++)
		if (present(b, gauges[i].metric))
			printf("  %-22s %s\n", gauges[i].label,
			       gn_fmt_bytes(buf, sizeof(buf), (uint64_t)sum(b, gauges[i].metric)));
	if (nm)
		printf("\n  %-40s %10s\n", "METHOD", "CALLS/S");
	for (size_t i = 0; i < nm && i < 15; i++)
		printf("  %-40s %10.0f\n", m[i].method, m[i].rate);
	fflush(stdout);
	free(m);
}

/* metrics_port=N from the -o options of the gannet-fuse serving mnt. */
static int port_of_mount(const char *mnt)
{
	char real[PATH_MAX], path[300], buf[8192];
	struct dirent *de;
	DIR *d;
	int port = 0;

	if (!realpath(mnt, real))
		return 0;
	d = opendir("/proc");
	while (d && !port && (de = readdir(d))) {
		ssize_t n;
		int fd;
		bool ours = false, is_fuse = false;
		int p = 0;

		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		snprintf(path, sizeof(path), "/proc/%s/cmdline", de->d_name);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (n <= 0)
			continue;
		buf[n] = '\0';
		for (char *a = buf; a < buf + n; a += strlen(a) + 1) {
			const char *mp;

			if (a == buf)
				is_fuse = strstr(a, "gannet-fuse") != NULL;
			if (!strcmp(a, real) || !strcmp(a, mnt))
				ours = true;
			if ((mp = strstr(a, "metrics_port=")))
				p = atoi(mp + 13);
		}
		if (is_fuse && ours)
			port = p;
	}
	if (d)
		closedir(d);
	return port;
}

/* The endpoint address for the stats argument. */
static int endpoint(struct ctl *c, const char *arg, char *out, size_t len)
{
	int64_t port;

	if (!gn_parse_int(arg, &port) && port > 0 && port < 65536) {
		snprintf(out, len, "127.0.0.1:%d", (int)port);
		return 0;
	}
	if (arg[0] == '/') {
		port = port_of_mount(arg);
		if (!port)
			port = c->client_metrics_port;
		if (!port) {
			ctl_err(c, "no metrics port known for '%s': mount it with "
				"-o metrics_port=N or give HOST:PORT", arg);
			return -ENOENT;
		}
		snprintf(out, len, "127.0.0.1:%d", (int)port);
		return 0;
	}
	snprintf(out, len, "%s", arg);
	return 0;
}

static double mono_s(void)
{
	return (double)gn_mono_ns() / 1e9;
}

int ctl_cmd_stats(struct ctl *c, int argc, char **argv)
{
	struct scrape a = { 0 }, b = { 0 };
	char addr[300];
	double ta, tb;
	int64_t count;
	bool forever;
	int ret = CTL_FAIL;

	if (argc != 2 || ctl_only_opts(c, "stats", CTL_O_INTERVAL | CTL_O_COUNT)) {
		if (argc != 2)
			ctl_err(c, "usage: gannetctl stats [--interval S] [--count N] "
				"HOST:PORT|PORT|MOUNTPOINT");
		return CTL_USAGE;
	}
	if (endpoint(c, argv[1], addr, sizeof(addr)))
		return CTL_FAIL;
	forever = !(c->opts_given & CTL_O_COUNT) && c->tty && isatty(STDOUT_FILENO) &&
		  !c->json;
	count = c->opts_given & CTL_O_COUNT ? c->count : 1;
	if (do_scrape(c, addr, &a))
		return CTL_FAIL;
	ta = mono_s();
	for (int64_t i = 0; forever || i < count; i++) {
		struct timespec ts = { c->interval_ms / 1000,
				       (c->interval_ms % 1000) * 1000000L };

		while (nanosleep(&ts, &ts) && errno == EINTR)
			;
		if (do_scrape(c, addr, &b))
			goto out;
		tb = mono_s();
		print_block(c, addr, &a, &b, tb - ta > 0.001 ? tb - ta : 0.001);
		scrape_release(&a);
		a = b;
		memset(&b, 0, sizeof(b));
		ta = tb;
	}
	ret = CTL_OK;
out:
	scrape_release(&a);
	scrape_release(&b);
	return ret;
}

/*
 * metrics.c - see metrics.h.
 *
 * The registry is a list of families (one per metric name), each with a
 * list of series (one per label set).  Lists only grow, so a handle never
 * dangles and readers need the lock only to walk the lists, never to
 * update a value: values are C11 atomics (doubles as their bit pattern,
 * updated with compare-and-swap).
 *
 * Prometheus text format 0.0.4 rules followed here: all series of a name
 * are contiguous under one HELP and one TYPE line; histogram buckets are
 * cumulative, end with le="+Inf", and that bucket equals _count.
 */
#include "config.h"
#include "common/metrics.h"
#include "common/log.h"
#include "common/status.h"
#include "common/util.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <microhttpd.h>

enum metric_type { MT_COUNTER, MT_GAUGE, MT_HISTOGRAM };

struct family {
	char *name;
	char *help;
	enum metric_type type;
	double *bounds;			/* histograms */
	size_t nbounds;
	struct gn_metric *series, **series_tail;
	struct family *next;
};

struct gn_metric {
	struct family *fam;
	char *labels;			/* rendered: k="v",k2="v2" or "" */
	_Atomic uint64_t count;		/* counter value; histogram count */
	_Atomic uint64_t dbits;		/* gauge value; histogram sum */
	_Atomic uint64_t *buckets;	/* histogram, nbounds + 1 (last: +Inf) */
	struct gn_metric *next;
};

#define RPC_NCODES 17

struct gn_rpc_metrics {
	enum gn_metrics_side side;
	char *method;
	struct gn_metric *requests;
	struct gn_metric *duration;
	struct gn_metric *_Atomic errors[RPC_NCODES];
	struct gn_rpc_metrics *next;
};

struct collector {
	gn_metrics_collect_fn fn;
	void *arg;
	struct collector *next;
};

static pthread_mutex_t reg_lock = PTHREAD_MUTEX_INITIALIZER;
static struct family *families, **families_tail = &families;
static struct gn_rpc_metrics *rpc_list;
static struct collector *collectors;

/* Serializes scrapes so collectors never run concurrently. */
static pthread_mutex_t scrape_lock = PTHREAD_MUTEX_INITIALIZER;

static struct MHD_Daemon *httpd;
static int httpd_fd = -1;
static pthread_mutex_t httpd_lock = PTHREAD_MUTEX_INITIALIZER;

static const double latency_buckets[] = {
	0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01,
	0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
};

/* ---- values ---- */

static double bits_to_double(uint64_t b)
{
	double d;

	memcpy(&d, &b, sizeof(d));
	return d;
}

static uint64_t double_to_bits(double d)
{
	uint64_t b;

	memcpy(&b, &d, sizeof(b));
	return b;
}

static void atomic_double_add(_Atomic uint64_t *p, double delta)
{
	uint64_t old = atomic_load_explicit(p, memory_order_relaxed);

	while (!atomic_compare_exchange_weak_explicit(p, &old,
			double_to_bits(bits_to_double(old) + delta),
			memory_order_relaxed, memory_order_relaxed))
		;
}

void gn_metric_inc(struct gn_metric *m)
{
	gn_metric_add(m, 1);
}

void gn_metric_add(struct gn_metric *m, uint64_t n)
{
	if (m && m->fam->type == MT_COUNTER)
		atomic_fetch_add_explicit(&m->count, n, memory_order_relaxed);
}

void gn_metric_set(struct gn_metric *m, double v)
{
	if (m && m->fam->type == MT_GAUGE)
		atomic_store_explicit(&m->dbits, double_to_bits(v),
				      memory_order_relaxed);
}

void gn_metric_gauge_add(struct gn_metric *m, double delta)
{
	if (m && m->fam->type == MT_GAUGE)
		atomic_double_add(&m->dbits, delta);
}

void gn_metric_observe(struct gn_metric *m, double v)
{
	const struct family *f;
	size_t lo, hi;

	if (!m || m->fam->type != MT_HISTOGRAM || isnan(v))
		return;
	f = m->fam;
	/* First bound >= v (le is inclusive); nbounds means +Inf. */
	lo = 0;
	hi = f->nbounds;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (f->bounds[mid] >= v)
			hi = mid;
		else
			lo = mid + 1;
	}
	atomic_fetch_add_explicit(&m->buckets[lo], 1, memory_order_relaxed);
	atomic_double_add(&m->dbits, v);
	atomic_fetch_add_explicit(&m->count, 1, memory_order_relaxed);
}

double gn_metric_value(const struct gn_metric *m)
{
	if (!m)
		return 0;
	if (m->fam->type == MT_GAUGE)
		return bits_to_double(atomic_load(&m->dbits));
	return (double)atomic_load(&m->count);
}

/* ---- registration ---- */

static bool name_ok(const char *s, bool colon)
{
	if (!s || !*s || !(isalpha((unsigned char)*s) || *s == '_' ||
			   (colon && *s == ':')))
		return false;
	for (s++; *s; s++)
		if (!(isalnum((unsigned char)*s) || *s == '_' ||
		      (colon && *s == ':')))
			return false;
	return true;
}

/*
 * "k=v,k2=v2" -> `k="v",k2="v2"` with values escaped; NULL when malformed
 * (bad key, missing '=', reserved "le" key).
 */
static char *render_labels(const char *spec)
{
	size_t cap, n = 0;
	char *out;
	const char *p = spec;

	if (!spec || !*spec)
		return xstrdup("");
	cap = 3 * strlen(spec) + 8;
	out = xmalloc(cap);
	while (*p) {
		const char *eq = strchr(p, '='), *end;
		char key[64];
		size_t klen;

		if (!eq || (size_t)(eq - p) >= sizeof(key))
			goto bad;
		klen = (size_t)(eq - p);
		memcpy(key, p, klen);
		key[klen] = '\0';
		if (!name_ok(key, false) || !strcmp(key, "le") ||
		    !strncmp(key, "__", 2))
			goto bad;
		end = strchr(eq + 1, ',');
		if (!end)
			end = eq + strlen(eq);
		if (n)
			out[n++] = ',';
		memcpy(out + n, key, klen);
		n += klen;
		out[n++] = '=';
		out[n++] = '"';
		for (const char *v = eq + 1; v < end; v++) {
			if (*v == '\\' || *v == '"') {
				out[n++] = '\\';
				out[n++] = *v;
			} else if (*v == '\n') {
				out[n++] = '\\';
				out[n++] = 'n';
			} else {
				out[n++] = *v;
			}
		}
		out[n++] = '"';
		p = *end ? end + 1 : end;
	}
	out[n] = '\0';
	return out;
bad:
	free(out);
	return NULL;
}

static struct family *family_find(const char *name)
{
	for (struct family *f = families; f; f = f->next)
		if (!strcmp(f->name, name))
			return f;
	return NULL;
}

static bool bounds_ok(const double *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (isnan(b[i]) || isinf(b[i]) || (i && b[i] <= b[i - 1]))
			return false;
	return true;
}

static struct gn_metric *metric_get(enum metric_type type, const char *name,
				    const char *help, const char *labels,
				    const double *bounds, size_t nbounds)
{
	struct gn_metric *m = NULL;
	struct family *f;
	char *lab;

	if (!bounds) {
		bounds = latency_buckets;
		nbounds = GN_ARRAY_SIZE(latency_buckets);
	}
	lab = render_labels(labels);
	if (!name_ok(name, true) || !lab ||
	    (type == MT_HISTOGRAM && !bounds_ok(bounds, nbounds))) {
		log_err("invalid metric name='%s' labels='%s'", name ? name : "",
			labels ? labels : "");
		free(lab);
		return NULL;
	}
	pthread_mutex_lock(&reg_lock);
	f = family_find(name);
	if (f && f->type != type) {
		log_err("metric registered twice with different types name='%s'",
			name);
		goto out;
	}
	if (!f) {
		f = xcalloc(1, sizeof(*f));
		f->name = xstrdup(name);
		f->help = xstrdup(help ? help : "");
		f->type = type;
		f->series_tail = &f->series;
		if (type == MT_HISTOGRAM) {
			f->nbounds = nbounds;
			f->bounds = xmalloc(nbounds * sizeof(double));
			memcpy(f->bounds, bounds, nbounds * sizeof(double));
		}
		*families_tail = f;
		families_tail = &f->next;
	}
	for (m = f->series; m; m = m->next)
		if (!strcmp(m->labels, lab))
			goto out;
	m = xcalloc(1, sizeof(*m));
	m->fam = f;
	m->labels = lab;
	lab = NULL;
	if (type == MT_HISTOGRAM)
		m->buckets = xcalloc(f->nbounds + 1, sizeof(*m->buckets));
	*f->series_tail = m;
	f->series_tail = &m->next;
out:
	pthread_mutex_unlock(&reg_lock);
	free(lab);
	return m;
}

struct gn_metric *gn_metric_counter(const char *name, const char *help,
				    const char *labels)
{
	return metric_get(MT_COUNTER, name, help, labels, NULL, 0);
}

struct gn_metric *gn_metric_gauge(const char *name, const char *help,
				  const char *labels)
{
	return metric_get(MT_GAUGE, name, help, labels, NULL, 0);
}

struct gn_metric *gn_metric_histogram(const char *name, const char *help,
				      const char *labels,
				      const double *bounds, size_t nbounds)
{
	return metric_get(MT_HISTOGRAM, name, help, labels, bounds, nbounds);
}

void gn_metrics_add_collector(gn_metrics_collect_fn fn, void *arg)
{
	struct collector *c = xmalloc(sizeof(*c));

	c->fn = fn;
	c->arg = arg;
	pthread_mutex_lock(&reg_lock);
	c->next = collectors;
	collectors = c;
	pthread_mutex_unlock(&reg_lock);
}

/* ---- rendering ---- */

struct sbuf {
	char *p;
	size_t len, cap;
	bool oom;
};

static void sb_printf(struct sbuf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void sb_printf(struct sbuf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (b->oom)
		return;
	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
		va_end(ap);
		if (n < 0) {
			b->oom = true;
			return;
		}
		if ((size_t)n < b->cap - b->len) {
			b->len += (size_t)n;
			return;
		}
		size_t ncap = 2 * b->cap + (size_t)n;
		char *np = realloc(b->p, ncap);

		if (!np) {
			b->oom = true;
			return;
		}
		b->p = np;
		b->cap = ncap;
	}
}

/* The shortest %g form that reads back as v: "0.1", not
 * "0.10000000000000001". */
static void fmt_shortest(char *buf, size_t len, double v)
{
	for (int prec = 15; prec <= 17; prec++) {
		snprintf(buf, len, "%.*g", prec, v);
		if (strtod(buf, NULL) == v)
			return;
	}
}

/* A sample value as Prometheus (Go ParseFloat) reads it. */
static const char *fmt_double(char *buf, size_t len, double v)
{
	if (isnan(v))
		return "NaN";
	if (isinf(v))
		return v > 0 ? "+Inf" : "-Inf";
	fmt_shortest(buf, len, v);
	return buf;
}

/* HELP text escaping: backslash and newline. */
static void sb_help(struct sbuf *b, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\')
			sb_printf(b, "\\\\");
		else if (*s == '\n')
			sb_printf(b, "\\n");
		else
			sb_printf(b, "%c", *s);
	}
}

static void render_histogram(struct sbuf *b, const struct family *f,
			     const struct gn_metric *m)
{
	const char *sep = *m->labels ? "," : "";
	uint64_t cum = 0;
	char num[64];

	for (size_t i = 0; i <= f->nbounds; i++) {
		cum += atomic_load_explicit(&m->buckets[i], memory_order_relaxed);
		if (i < f->nbounds)
			fmt_shortest(num, sizeof(num), f->bounds[i]);
		else
			snprintf(num, sizeof(num), "+Inf");
		sb_printf(b, "%s_bucket{%s%sle=\"%s\"} %" PRIu64 "\n", f->name,
			  m->labels, sep, num, cum);
	}
	/* _count is the +Inf bucket, so the two agree even while observers
	 * race with this scrape. */
	sb_printf(b, "%s_sum%s%s%s %s\n", f->name, *m->labels ? "{" : "",
		  m->labels, *m->labels ? "}" : "",
		  fmt_double(num, sizeof(num),
			     bits_to_double(atomic_load(&m->dbits))));
	sb_printf(b, "%s_count%s%s%s %" PRIu64 "\n", f->name,
		  *m->labels ? "{" : "", m->labels, *m->labels ? "}" : "", cum);
}

static void render_family(struct sbuf *b, const struct family *f)
{
	static const char *const tname[] = { "counter", "gauge", "histogram" };
	char num[64];

	sb_printf(b, "# HELP %s ", f->name);
	sb_help(b, f->help);
	sb_printf(b, "\n# TYPE %s %s\n", f->name, tname[f->type]);
	for (const struct gn_metric *m = f->series; m; m = m->next) {
		const char *lo = *m->labels ? "{" : "", *lc = *m->labels ? "}" : "";

		switch (f->type) {
		case MT_COUNTER:
			sb_printf(b, "%s%s%s%s %" PRIu64 "\n", f->name, lo,
				  m->labels, lc, atomic_load(&m->count));
			break;
		case MT_GAUGE:
			sb_printf(b, "%s%s%s%s %s\n", f->name, lo, m->labels, lc,
				  fmt_double(num, sizeof(num),
					     bits_to_double(atomic_load(&m->dbits))));
			break;
		case MT_HISTOGRAM:
			render_histogram(b, f, m);
			break;
		}
	}
}

int gn_metrics_render(char **out, size_t *len)
{
	struct sbuf b = { 0 };
	struct collector *c;
	int ret = 0;

	pthread_mutex_lock(&scrape_lock);
	pthread_mutex_lock(&reg_lock);
	c = collectors;
	pthread_mutex_unlock(&reg_lock);
	/* Collectors are only prepended, so walking from a snapshot of the
	 * head is safe without the lock (and lets them register series). */
	for (; c; c = c->next)
		c->fn(c->arg);

	b.cap = 4096;
	b.p = malloc(b.cap);
	if (!b.p) {
		ret = -ENOMEM;
		goto out;
	}
	b.p[0] = '\0';
	pthread_mutex_lock(&reg_lock);
	for (const struct family *f = families; f; f = f->next)
		if (f->series)
			render_family(&b, f);
	pthread_mutex_unlock(&reg_lock);
	if (b.oom) {
		free(b.p);
		ret = -ENOMEM;
		goto out;
	}
	*out = b.p;
	*len = b.len;
out:
	pthread_mutex_unlock(&scrape_lock);
	return ret;
}

/* ---- RPC instrumentation ---- */

struct gn_rpc_metrics *gn_metrics_rpc_method(enum gn_metrics_side side,
					     const char *method)
{
	const char *pfx = side == GN_METRICS_SERVER ? "server" : "client";
	struct gn_rpc_metrics *r;
	char name[80], labels[256];

	pthread_mutex_lock(&reg_lock);
	for (r = rpc_list; r; r = r->next)
		if (r->side == side && !strcmp(r->method, method))
			break;
	pthread_mutex_unlock(&reg_lock);
	if (r)
		return r;

	/* Built outside the lock (the constructors take it); a racing
	 * duplicate is harmless: both resolve to the same series. */
	r = xcalloc(1, sizeof(*r));
	r->side = side;
	r->method = xstrdup(method);
	snprintf(labels, sizeof(labels), "method=%s", method);
	snprintf(name, sizeof(name), "gannet_rpc_%s_requests_total", pfx);
	r->requests = gn_metric_counter(name, side == GN_METRICS_SERVER ?
		"RPCs served, by method" : "RPCs made, by method", labels);
	snprintf(name, sizeof(name), "gannet_rpc_%s_duration_seconds", pfx);
	r->duration = gn_metric_histogram(name, side == GN_METRICS_SERVER ?
		"time from request to reply sent, by method" :
		"time from call to completion, by method", labels, NULL, 0);
	pthread_mutex_lock(&reg_lock);
	r->next = rpc_list;
	rpc_list = r;
	pthread_mutex_unlock(&reg_lock);
	return r;
}

void gn_metrics_rpc_done(struct gn_rpc_metrics *r, int status, int64_t ns)
{
	struct gn_metric *e;

	if (!r)
		return;
	gn_metric_inc(r->requests);
	gn_metric_observe(r->duration, (double)ns / 1e9);
	if (status == 0)
		return;
	if (status < 0 || status >= RPC_NCODES)
		status = GN_STATUS_UNKNOWN;
	e = atomic_load(&r->errors[status]);
	if (!e) {
		char name[80], labels[256];

		snprintf(name, sizeof(name), "gannet_rpc_%s_errors_total",
			 r->side == GN_METRICS_SERVER ? "server" : "client");
		snprintf(labels, sizeof(labels), "method=%s,code=%s", r->method,
			 gn_status_name((enum gn_status)status));
		e = gn_metric_counter(name, "failed RPCs, by method and gRPC status",
				      labels);
		atomic_store(&r->errors[status], e);
	}
	gn_metric_inc(e);
}

void gn_metrics_rpc_observe(enum gn_metrics_side side, const char *method,
			    int status, int64_t ns)
{
	gn_metrics_rpc_done(gn_metrics_rpc_method(side, method), status, ns);
}

/* ---- HTTP endpoint ---- */

static enum MHD_Result serve(void *cls, struct MHD_Connection *conn,
			     const char *url, const char *method,
			     const char *version, const char *upload_data,
			     size_t *upload_data_size, void **con_cls)
{
	struct MHD_Response *resp;
	enum MHD_Result ret;
	unsigned int code = MHD_HTTP_OK;
	char *body = NULL;
	size_t len = 0;

	if (strcmp(method, "GET") && strcmp(method, "HEAD")) {
		static const char msg[] = "only GET\n";

		resp = MHD_create_response_from_buffer(sizeof(msg) - 1,
				(void *)msg, MHD_RESPMEM_PERSISTENT);
		code = MHD_HTTP_METHOD_NOT_ALLOWED;
	} else if (gn_metrics_render(&body, &len)) {
		static const char msg[] = "out of memory\n";

		resp = MHD_create_response_from_buffer(sizeof(msg) - 1,
				(void *)msg, MHD_RESPMEM_PERSISTENT);
		code = MHD_HTTP_INTERNAL_SERVER_ERROR;
	} else {
		resp = MHD_create_response_from_buffer(len, body,
						       MHD_RESPMEM_MUST_FREE);
		if (!resp)
			free(body);
	}
	if (!resp)
		return MHD_NO;
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
				code == MHD_HTTP_OK ?
				"text/plain; version=0.0.4; charset=utf-8" :
				"text/plain");
	ret = MHD_queue_response(conn, code, resp);
	MHD_destroy_response(resp);
	return ret;
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	char msg[256];
	size_t n;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	n = strlen(msg);
	while (n && msg[n - 1] == '\n')
		msg[--n] = '\0';
	log_warn("metrics http: %s", msg);
}

/* Bind ourselves so that failures carry an exact errno and port 0 works. */
static int listen_socket(const char *host, int port, int *fd_out, int *bound)
{
	struct addrinfo hints = { 0 }, *ai = NULL;
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	char pbuf[16];
	int fd = -1, one = 1, ret;

	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	snprintf(pbuf, sizeof(pbuf), "%d", port);
	ret = getaddrinfo(host && *host ? host : "0.0.0.0", pbuf, &hints, &ai);
	if (ret) {
		log_err("cannot resolve metrics address host='%s': %s",
			host ? host : "", gai_strerror(ret));
		ret = -EINVAL;
		goto out;
	}
	fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		ret = -errno;
		goto out;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, ai->ai_addr, ai->ai_addrlen) || listen(fd, 64) ||
	    getsockname(fd, (struct sockaddr *)&ss, &sl)) {
		ret = -errno;
		goto out;
	}
	*bound = ntohs(ss.ss_family == AF_INET6 ?
		       ((struct sockaddr_in6 *)&ss)->sin6_port :
		       ((struct sockaddr_in *)&ss)->sin_port);
	*fd_out = fd;
	fd = -1;
	ret = 0;
out:
	if (fd >= 0)
		close(fd);
	if (ai)
		freeaddrinfo(ai);
	return ret;
}

static void register_process_info(const char *program)
{
	char labels[128];

	snprintf(labels, sizeof(labels), "program=%s,version=%s",
		 program ? program : "", PACKAGE_VERSION);
	gn_metric_set(gn_metric_gauge("gannet_build_info",
			"always 1; labels say which program and version", labels), 1);
	if (gn_metric_value(gn_metric_gauge("process_start_time_seconds",
			"start time of the process since the Unix epoch", NULL)) == 0)
		gn_metric_set(gn_metric_gauge("process_start_time_seconds", NULL, NULL),
			      (double)gn_now_ns() / 1e9);
}

int gn_metrics_start(const char *program, const char *host, int port)
{
	int fd = -1, bound = 0, ret;

	if (port < 0 || port > 65535)
		return -EINVAL;
	pthread_mutex_lock(&httpd_lock);
	if (httpd) {
		ret = -EALREADY;
		goto out;
	}
	register_process_info(program);
	ret = listen_socket(host, port, &fd, &bound);
	if (ret)
		goto out;
	httpd = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO |
				 MHD_USE_ITC | MHD_USE_ERROR_LOG, 0, NULL, NULL, serve, NULL,
				 MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
				 MHD_OPTION_LISTEN_SOCKET, fd,
				 MHD_OPTION_CONNECTION_LIMIT, (unsigned int)32,
				 MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)10,
				 MHD_OPTION_END);
	if (!httpd) {
		close(fd);
		ret = -EIO;
		goto out;
	}
	httpd_fd = fd;
	ret = bound;
out:
	pthread_mutex_unlock(&httpd_lock);
	return ret;
}

void gn_metrics_stop(void)
{
	pthread_mutex_lock(&httpd_lock);
	if (httpd) {
		/* Take the listen socket back first: MHD_stop_daemon() would
		 * otherwise close it too, and the socket is ours. */
		MHD_socket fd = MHD_quiesce_daemon(httpd);

		MHD_stop_daemon(httpd);
		httpd = NULL;
		if (fd != MHD_INVALID_SOCKET)
			close(fd);
		httpd_fd = -1;
	}
	pthread_mutex_unlock(&httpd_lock);
}

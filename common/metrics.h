/*
 * metrics.h - Prometheus metrics: a process-wide registry of counters,
 * gauges and histograms, and an HTTP endpoint (libmicrohttpd) that serves
 * them in the text exposition format 0.0.4 at any path (/metrics).
 *
 * Use:
 *
 *   static struct gn_metric *bytes_read;
 *   bytes_read = gn_metric_counter("gannet_ds_read_bytes_total",
 *                                  "bytes read from chunks", NULL);
 *   ...
 *   gn_metric_add(bytes_read, n);          // lock-free, any thread
 *
 *   port = gn_metrics_start("127.0.0.1", conf.metrics_port);
 *   ...
 *   gn_metrics_stop();                     // at shutdown
 *
 * Names follow Prometheus conventions: snake_case, a `gannet_` prefix,
 * base units (bytes, seconds), `_total` on counters.  Series of one name
 * must have the same type and help; asking for an existing (name, labels)
 * pair returns the same handle, so calling a constructor on a hot path is
 * allowed but slower than keeping the handle.
 *
 * Labels are written "key=value,key2=value2" (NULL or "" for none); values
 * are quoted and escaped here and must not contain ',' ; keys must match
 * [a-zA-Z_][a-zA-Z0-9_]*.
 *
 * Handles live until the process exits (there is no unregister); every
 * update function accepts NULL and then does nothing, so code may run
 * with metrics that were never registered (unit tests).  Registration and
 * updates are thread-safe.  Constructors return NULL (and log) only for an
 * invalid name or labels, or a name already used with another type.
 */
#ifndef GN_METRICS_H
#define GN_METRICS_H

#include <stddef.h>
#include <stdint.h>

struct gn_metric;

/* A monotonically increasing count. */
struct gn_metric *gn_metric_counter(const char *name, const char *help,
				    const char *labels);
/* A value that goes up and down. */
struct gn_metric *gn_metric_gauge(const char *name, const char *help,
				  const char *labels);
/*
 * A histogram with the given upper bounds (strictly increasing, +Inf is
 * implied); bounds NULL selects GN_METRIC_LATENCY_BUCKETS, seconds from
 * 50 us to 10 s.  All series of one name share the first series' bounds.
 */
struct gn_metric *gn_metric_histogram(const char *name, const char *help,
				      const char *labels,
				      const double *bounds, size_t nbounds);

void gn_metric_inc(struct gn_metric *m);			/* counter */
void gn_metric_add(struct gn_metric *m, uint64_t n);		/* counter */
void gn_metric_set(struct gn_metric *m, double v);		/* gauge */
void gn_metric_gauge_add(struct gn_metric *m, double delta);	/* gauge */
void gn_metric_observe(struct gn_metric *m, double v);		/* histogram */
/* Current value of a counter or gauge (a histogram's count); for tests. */
double gn_metric_value(const struct gn_metric *m);

/*
 * A collector runs at the start of every scrape, on the HTTP thread, and
 * sets gauges whose value is cheaper to compute on demand (capacity,
 * sessions, chunk counts).  It may register new series.  It must not
 * block for long: a scrape waits for it.  arg is borrowed until
 * gn_metrics_stop() has returned.
 */
typedef void (*gn_metrics_collect_fn)(void *arg);
void gn_metrics_add_collector(gn_metrics_collect_fn fn, void *arg);

/*
 * Render every series in text format into a malloc'd, NUL-terminated
 * buffer (*out, length *len; the caller frees).  Runs the collectors.
 * 0 or -ENOMEM.
 */
int gn_metrics_render(char **out, size_t *len);

/*
 * Serve the registry over HTTP on host:port (host NULL = every address;
 * port 0 = an ephemeral port).  Returns the bound port (> 0) or a negative
 * errno (-EADDRINUSE, -EINVAL, -EALREADY when already started).  The HTTP
 * thread is created here: block signals first (common/daemon.h).  Also
 * registers gannet_build_info{program,version} and
 * process_start_time_seconds.
 */
int gn_metrics_start(const char *program, const char *host, int port);
/* Stop serving; blocks until the HTTP thread is gone.  Safe if not
 * started.  Registered handles stay valid. */
void gn_metrics_stop(void);

/* ------------------------------------------------------------------ */
/* RPC instrumentation (called by common/rpc.c)                        */
/* ------------------------------------------------------------------ */

enum gn_metrics_side {
	GN_METRICS_SERVER,	/* gannet_rpc_server_*: calls a daemon served */
	GN_METRICS_CLIENT,	/* gannet_rpc_client_*: calls this process made */
};

/*
 * Per-method series: requests_total{method}, errors_total{method,code},
 * duration_seconds{method} (histogram).  Resolve once per method (e.g. at
 * gn_rpc_server_add) and keep the pointer; observing is lock-free except
 * for the first error of a given status code.
 */
struct gn_rpc_metrics;
struct gn_rpc_metrics *gn_metrics_rpc_method(enum gn_metrics_side side,
					     const char *method);
/* One finished call: status is the gRPC status (0 = OK), ns its duration
 * (server: request received to reply sent; client: start to completion). */
void gn_metrics_rpc_done(struct gn_rpc_metrics *m, int status, int64_t ns);
/* Both in one, for callers that do not keep the pointer (a lookup under
 * a lock per call). */
void gn_metrics_rpc_observe(enum gn_metrics_side side, const char *method,
			    int status, int64_t ns);

#endif

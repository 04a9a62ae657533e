/*
 * rpc.h - Gannet's RPC layer: protobuf-c messages over gRPC core.
 *
 * This is the only interface to gRPC; only common/rpc*.c include
 * <grpc/...> (its C core API is unstable across minor versions).
 *
 * Wire conventions (proto/common.proto):
 *  - A call is unary: one request message, one reply message.
 *  - Field 15 of a message, when present, is its bulk `data` field.  It is
 *    sent by reference (no user-space copy) and received as a list of views
 *    into the received slices (struct gn_bulk); every other field is small
 *    and goes through protobuf-c.
 *  - Failure = a non-OK gRPC status plus, when known, the exact errno in
 *    the trailing metadata key "gn-errno".  Functions here return 0 or a
 *    negative errno; the status table lives in common/status.c.
 *
 * Threads: a server runs handlers on its worker threads; a client runs
 * completion callbacks on its poller thread.  Every function is thread-safe
 * unless it says otherwise.
 */
#ifndef GN_RPC_H
#define GN_RPC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/uio.h>
#include <protobuf-c/protobuf-c.h>

/* The field number every message uses for its bulk payload. */
#define GN_RPC_BULK_FIELD 15

/* Default limit on one received message: a 16 MiB payload plus headers. */
#define GN_RPC_DEFAULT_MAX_MSG ((size_t)17 << 20)

/*
 * A received bulk payload: read-only views into received buffers, in
 * order.  Valid as long as the object that handed it out (the server call
 * during its handler, or the client's struct gn_rpc_result until released).
 */
struct gn_bulk {
	const struct iovec *iov;
	int iovcnt;
	size_t len;		/* total bytes over iov */
};

/* Copy up to len bytes of b starting at byte off into dst; returns the
 * number copied (less than len only at the end of b). */
size_t gn_bulk_copy(const struct gn_bulk *b, size_t off, void *dst, size_t len);

/*
 * A `bytes` field holding the C string s, for the name fields of
 * proto/mds.proto.  Borrows s (NULL gives an empty field): s must outlive
 * the message.  The NUL terminator is not sent.
 */
static inline ProtobufCBinaryData gn_rpc_str(const char *s)
{
	ProtobufCBinaryData b = { s ? strlen(s) : 0, (uint8_t *)s };
	return b;
}

/* ------------------------------------------------------------------ */
/* Server                                                             */
/* ------------------------------------------------------------------ */

struct gn_rpc_server;
struct gn_rpc_call;	/* one incoming call, valid during its handler */

/*
 * A handler.  `req` is the decoded request (owned by the layer, freed after
 * the handler returns); `data` is its bulk field (len 0 when absent).
 * The handler answers exactly once, either by calling gn_rpc_reply*() and
 * returning 0, or by returning a negative errno (sent as a failure status
 * with gn-errno), optionally after gn_rpc_call_set_error() for a detailed
 * message.  It runs on a server worker thread and may block (disk I/O,
 * LMDB commit, calls to other servers); the number of workers bounds how
 * many handlers run at once.
 */
typedef int (*gn_rpc_handler_fn)(void *svc, struct gn_rpc_call *call,
				 const ProtobufCMessage *req,
				 const struct gn_bulk *data);

struct gn_rpc_method {
	const char *name;	/* full method: "/gannet.Mds/Lookup" */
	const ProtobufCMessageDescriptor *req_desc;
	gn_rpc_handler_fn handler;
};

struct gn_rpc_server_opts {
	const char *listen;	/* "host:port"; port 0 picks a free port */
	int workers;		/* handler threads, >= 1 */
	size_t max_msg;		/* largest accepted request, bytes; 0 = default */
};

/* Create a server; nothing listens until gn_rpc_server_start().
 * gn_rpc_init() must have been called.  *out is set only on success. */
int gn_rpc_server_new(const struct gn_rpc_server_opts *opts,
		      struct gn_rpc_server **out);

/* Register n methods served with context svc (borrowed; must outlive the
 * server).  Only before gn_rpc_server_start().  -EEXIST on a duplicate. */
int gn_rpc_server_add(struct gn_rpc_server *srv,
		      const struct gn_rpc_method *methods, size_t n, void *svc);

/* Serve the Diag service (ping, echo, sink) with role "mds" / "ds" /
 * "test" (borrowed: a string literal or one that outlives the server). */
int gn_rpc_server_add_diag(struct gn_rpc_server *srv, const char *role);

/* Bind and start the workers.  *port (if not NULL) gets the bound port.
 * Fails with -EADDRINUSE or -EINVAL naming nothing: the caller logs. */
int gn_rpc_server_start(struct gn_rpc_server *srv, int *port);

/* Stop accepting calls, let handlers in flight finish and their replies
 * go out, cancel what remains after grace_ms, then stop the workers.
 * Blocks.  Safe to call once; gn_rpc_server_free() calls it if needed. */
void gn_rpc_server_shutdown(struct gn_rpc_server *srv, int grace_ms);
void gn_rpc_server_free(struct gn_rpc_server *srv);

/* Reply with msg (packed before return; msg stays the caller's). */
int gn_rpc_reply(struct gn_rpc_call *call, const ProtobufCMessage *msg);

/*
 * Reply with msg plus a bulk payload sent by reference as field 15.
 * data must stay valid and unchanged until release(ctx) runs; release is
 * called exactly once (also on failure), possibly on a gRPC thread, and
 * must be cheap.  release may be NULL when data outlives the server.
 */
int gn_rpc_reply_bulk(struct gn_rpc_call *call, const ProtobufCMessage *msg,
		      const void *data, size_t len,
		      void (*release)(void *ctx), void *ctx);

/* Attach a human-readable detail to the failure the handler will return. */
void gn_rpc_call_set_error(struct gn_rpc_call *call, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* "ipv4:127.0.0.1:45678"; valid during the handler. */
const char *gn_rpc_call_peer(struct gn_rpc_call *call);

/* Milliseconds left before the caller's deadline (INT32_MAX if none). */
int gn_rpc_call_remaining_ms(struct gn_rpc_call *call);

/* ------------------------------------------------------------------ */
/* Client                                                             */
/* ------------------------------------------------------------------ */

struct gn_rpc_client;	/* a completion queue and its poller thread */
struct gn_rpc_channel;	/* connections to one peer */

/* Start a client runtime.  *out is set only on success. */
int gn_rpc_client_new(struct gn_rpc_client **out);
/* Free after every channel is freed and every async call has completed. */
void gn_rpc_client_free(struct gn_rpc_client *c);

struct gn_rpc_channel_opts {
	int conns;		/* TCP connections, round-robin; 0 = 1 */
	size_t max_msg;		/* largest accepted reply; 0 = default */
};

/* A channel to target "host:port".  Connects lazily: never fails because
 * the peer is down.  opts may be NULL.  The channel borrows c. */
int gn_rpc_channel_new(struct gn_rpc_client *c, const char *target,
		       const struct gn_rpc_channel_opts *opts,
		       struct gn_rpc_channel **out);
void gn_rpc_channel_free(struct gn_rpc_channel *ch);
const char *gn_rpc_channel_target(const struct gn_rpc_channel *ch);

struct gn_rpc_callopts {
	int timeout_ms;		/* deadline of each attempt; required, > 0 */
	int retries;		/* extra attempts on UNAVAILABLE; only for
				   idempotent calls; backoff 50 ms doubling */
	bool wait_for_ready;	/* queue while the peer connects (until the
				   deadline) instead of failing fast */
};

/*
 * The outcome of a call.  On success reply is the decoded reply and data
 * its bulk field; both are owned by the result until
 * gn_rpc_result_release().  On failure reply is NULL and err/status/detail
 * say why.
 */
struct gn_rpc_result {
	int err;		/* 0 or negative errno */
	int status;		/* gRPC status code (0 = OK, 4 = DEADLINE...) */
	char detail[256];	/* server's or local message, "" if none */
	ProtobufCMessage *reply;
	struct gn_bulk data;
	void *priv;		/* layer-private: received buffers */
};

/* Release what a result holds; the struct itself is the caller's.
 * Safe on a zeroed or already released result. */
void gn_rpc_result_release(struct gn_rpc_result *res);

/*
 * Synchronous call: blocks until the reply, the deadline or failure.  It
 * runs on the calling thread (a completion queue of its own), not through
 * the client's poller, so many threads may call at once.
 * data/len is the request's bulk field (may be NULL/0), sent by reference:
 * it is only read until this returns.  Returns res->err.  -EDEADLK when
 * called on the client's poller thread (i.e. from a gn_rpc_done_fn).
 */
int gn_rpc_call(struct gn_rpc_channel *ch, const char *method,
		const ProtobufCMessage *req, const void *data, size_t len,
		const ProtobufCMessageDescriptor *reply_desc,
		const struct gn_rpc_callopts *opts, struct gn_rpc_result *res);

/*
 * Called once when an async call completes, on the client's poller
 * thread.  res belongs to the callee: it must eventually call
 * gn_rpc_result_release(res) and free(res).  Keep it short; do not make
 * synchronous calls from it.
 */
typedef void (*gn_rpc_done_fn)(struct gn_rpc_result *res, void *arg);

/*
 * Asynchronous call: returns at once (0, or a negative errno when the call
 * could not be started, in which case done is not called).  data must stay
 * valid and unchanged until done runs.  Retries as in gn_rpc_call.
 */
int gn_rpc_call_async(struct gn_rpc_channel *ch, const char *method,
		      const ProtobufCMessage *req, const void *data, size_t len,
		      const ProtobufCMessageDescriptor *reply_desc,
		      const struct gn_rpc_callopts *opts,
		      gn_rpc_done_fn done, void *arg);

/* Process-wide set up and tear down of gRPC.  gn_rpc_init() before any
 * other function here; gn_rpc_shutdown() after every object is freed.
 * Block SIGTERM/SIGINT in the main thread before gn_rpc_init() so gRPC's
 * threads inherit the mask (common/daemon.h does it).
 * Malloc tuning is the program's choice: see gn_rpc_tune_malloc(). */
void gn_rpc_init(void);

/* glibc malloc tuning for a program using this layer; call once from
 * main before any thread.  THROUGHPUT (servers) keeps gRPC's receive
 * buffers on the heap, trading retained memory for fewer page faults;
 * BOUNDED (the client) returns freed memory quickly so resident memory
 * follows live use.  Does nothing when the environment tunes malloc
 * (GLIBC_TUNABLES glibc.malloc.*, MALLOC_*_ environment variables). */
enum gn_malloc_mode { GN_MALLOC_THROUGHPUT, GN_MALLOC_BOUNDED };
void gn_rpc_tune_malloc(enum gn_malloc_mode mode);
void gn_rpc_shutdown(void);

#endif

/*
 * rpc.c - the RPC server over gRPC core, and process-wide init (see rpc.h).
 *
 * One completion queue, N worker threads calling grpc_completion_queue_next
 * on it.  Every method is registered with READ_INITIAL_BYTE_BUFFER, so a
 * call arrives together with its request and is answered with one batch
 * (initial metadata, message, status, close).  A few generic requests catch
 * methods nobody registered and answer UNIMPLEMENTED.
 *
 * Tags are the address of a struct with `enum tag_kind` first.  A
 * struct gn_rpc_call lives from its request (armed before the call
 * arrives) until its reply batch completes.
 */
#include "config.h"
#include "common/rpc_i.h"

#include <errno.h>
#include <limits.h>
#include <malloc.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <grpc/grpc_security.h>
#include <grpc/support/alloc.h>
#include <grpc/support/log.h>
#include <grpc/support/time.h>

#include "common/log.h"
#include "common/metrics.h"
#include "common/status.h"
#include "common/util.h"

/*
 * GN_MALLOC_THROUGHPUT (the servers): gRPC allocates its socket read
 * buffers from malloc, up to several hundred KiB each, and frees them as
 * soon as a message is consumed.  With glibc's defaults (mmap above
 * 128 KiB, trim above 128 KiB free) that maps and unmaps memory for every
 * MiB received: the benchmark saw 25-100 page faults per MB and about
 * 40 % more receiver CPU per GB.  Keeping such blocks on the heap removes
 * most of it; the cost is up to 64 MiB of freed memory kept per arena.
 *
 * GN_MALLOC_BOUNDED (the client, whose resident memory must stay within
 * cache_size + writeback_limit + 64 MiB): the thresholds are pinned low
 * (setting them also stops glibc from raising them dynamically, up to
 * 32 MiB, after each large free), so any allocation of 256 KiB or more is
 * its own mapping and goes back to the kernel when freed, and an arena
 * keeps at most 8 MiB of free memory at its top; one arena instead of
 * 8 per core, because each arena's freed memory stays resident on its
 * own (several arenas sum their peaks, not the process's peak).  One
 * arena against two took the client's peak under a read and write stress
 * from 166-169 MB to 157-158 MB (t3806's stress with four writers added);
 * the allocations that contend are gRPC's receive slices, tens of
 * thousands a second at most, next to FUSE round trips of microseconds.  The top
 * must hold what one 4 MiB reply's receive slices take and give back:
 * at 2 MiB every reply was trimmed and faulted in again, which held
 * ReadChunk at 430-570 MB/s per client against 1.3-1.5 GB/s at 8 or
 * 16 MiB (test-tool ds-bench read, 1 and 4 in flight, same peak RSS).
 * The client's peak under t3806's read stress rose by about 8 MB.
 */
void gn_rpc_tune_malloc(enum gn_malloc_mode mode)
{
	const char *t = getenv("GLIBC_TUNABLES");

	if ((t && strstr(t, "glibc.malloc.")) ||
	    getenv("MALLOC_MMAP_THRESHOLD_") || getenv("MALLOC_TRIM_THRESHOLD_") ||
	    getenv("MALLOC_ARENA_MAX"))
		return;
	if (mode == GN_MALLOC_THROUGHPUT) {
		mallopt(M_MMAP_THRESHOLD, 32 << 20);
		mallopt(M_TRIM_THRESHOLD, 64 << 20);
	} else {
		mallopt(M_MMAP_THRESHOLD, 256 << 10);
		mallopt(M_TRIM_THRESHOLD, 8 << 20);
		mallopt(M_ARENA_MAX, 1);
	}
}

/* gRPC's own messages (errors only, unless GRPC_VERBOSITY says more) go
 * through our log so that they keep its one-line journald format. */
static void grpc_log_bridge(gpr_log_func_args *a)
{
	enum gn_log_level lv = a->severity == GPR_LOG_SEVERITY_ERROR ? GN_LOG_WARN :
			       a->severity == GPR_LOG_SEVERITY_INFO ? GN_LOG_INFO :
			       GN_LOG_DEBUG;
	const char *f = strrchr(a->file, '/');

	if (gn_log_enabled(lv))
		gn_log(lv, "grpc: %s at=%s:%d", a->message, f ? f + 1 : a->file,
		       a->line);
}

static void rpc_once(void)
{
	gpr_set_log_function(grpc_log_bridge);
}

void gn_rpc_init(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;

	pthread_once(&once, rpc_once);
	grpc_init();
}

/*
 * A large write that fills a socket buffer makes gRPC 1.51 (epoll1 engine)
 * start a "backup poller" on its executor thread, which then sits in
 * epoll_wait for up to 10 s; grpc_shutdown joins that thread and so hangs
 * as long.  Any event on a gRPC file descriptor wakes the poller, which
 * then exits: a connection attempt to a closed local port makes one (a
 * timer would not: timers wake the timer threads, not epoll).
 */
static void kick_backup_poller(void)
{
	grpc_completion_queue *cq = grpc_completion_queue_create_for_next(NULL);
	grpc_channel_credentials *creds = grpc_insecure_credentials_create();
	grpc_channel *ch = grpc_channel_create("127.0.0.1:9", creds, NULL);
	gpr_timespec d = gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC),
				      gpr_time_from_millis(200, GPR_TIMESPAN));
	grpc_connectivity_state st;
	grpc_event ev;

	grpc_channel_credentials_release(creds);
	/* IDLE -> CONNECTING -> TRANSIENT_FAILURE (or READY): two changes. */
	st = grpc_channel_check_connectivity_state(ch, 1);
	for (int i = 0; i < 2 && st != GRPC_CHANNEL_TRANSIENT_FAILURE &&
	     st != GRPC_CHANNEL_READY; i++) {
		grpc_channel_watch_connectivity_state(ch, st, d, cq, cq);
		do
			ev = grpc_completion_queue_next(
				cq, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
		while (ev.type != GRPC_OP_COMPLETE);
		if (!ev.success)
			break;	/* deadline */
		st = grpc_channel_check_connectivity_state(ch, 0);
	}
	grpc_channel_destroy(ch);
	grpc_completion_queue_shutdown(cq);
	while (grpc_completion_queue_next(cq, gpr_inf_future(GPR_CLOCK_REALTIME),
					  NULL).type != GRPC_QUEUE_SHUTDOWN)
		;
	grpc_completion_queue_destroy(cq);
}

void gn_rpc_shutdown(void)
{
	kick_backup_poller();
	grpc_shutdown();
}

enum tag_kind {
	TAG_NEW_CALL,		/* a registered method's call arrived */
	TAG_UNKNOWN_CALL,	/* a call to a method nobody registered */
	TAG_REPLY_DONE,		/* the reply batch completed */
	TAG_SHUTDOWN,		/* grpc_server_shutdown_and_notify finished */
};

struct method_ent {
	char *name;
	const ProtobufCMessageDescriptor *req_desc;
	gn_rpc_handler_fn handler;
	void *svc;
	void *handle;		/* from grpc_server_register_method */
	struct gn_rpc_metrics *metrics;	/* requests, errors, latency */
};

enum srv_state { SRV_NEW, SRV_RUNNING, SRV_STOPPED };

struct gn_rpc_server {
	grpc_server *server;
	grpc_completion_queue *cq;
	char *listen;
	int nworkers;
	pthread_t *workers;
	struct method_ent *methods;
	size_t nmethods;
	enum srv_state state;

	pthread_mutex_t mu;
	pthread_cond_t cond;	/* CLOCK_MONOTONIC */
	bool shutting_down;	/* no more re-arming */
	bool shutdown_done;	/* the shutdown tag came back */
	bool cancelling;	/* grace is over: wake sleeping handlers */
	int active;		/* calls taken and not yet freed */
	enum tag_kind shutdown_tag;
};

struct gn_rpc_call {
	enum tag_kind kind;	/* first: the tag */
	struct gn_rpc_server *srv;
	struct method_ent *me;	/* NULL for TAG_UNKNOWN_CALL */
	grpc_call *call;
	gpr_timespec deadline;
	grpc_metadata_array md;
	grpc_byte_buffer *payload;
	grpc_call_details details;	/* TAG_UNKNOWN_CALL only */
	struct gn__rpc_msgin in;

	grpc_byte_buffer *reply;
	char *detail;		/* from gn_rpc_call_set_error */
	char *peer;		/* gpr_malloc'd */
	/* Outputs and inputs of the reply batch: alive until it completes. */
	grpc_slice status_details;
	grpc_metadata trailer;
	char errno_buf[16];
	int cancelled;
	bool counted;		/* in srv->active */
};

/* Requests kept armed per method: more than the workers, so that calls
 * queue in the completion queue while every worker is busy. */
static int pending_per_method(const struct gn_rpc_server *srv)
{
	return GN_MAX(8, srv->nworkers * 2);
}

#define PENDING_UNKNOWN 2

static void call_free(struct gn_rpc_call *c)
{
	struct gn_rpc_server *srv = c->srv;

	if (c->counted) {
		pthread_mutex_lock(&srv->mu);
		if (--srv->active == 0)
			pthread_cond_broadcast(&srv->cond);
		pthread_mutex_unlock(&srv->mu);
	}
	gn__rpc_msgin_release(&c->in);
	if (c->payload)
		grpc_byte_buffer_destroy(c->payload);
	if (c->reply)
		grpc_byte_buffer_destroy(c->reply);
	grpc_metadata_array_destroy(&c->md);
	if (!c->me)
		grpc_call_details_destroy(&c->details);
	grpc_slice_unref(c->status_details);
	if (c->call)
		grpc_call_unref(c->call);
	gpr_free(c->peer);
	free(c->detail);
	free(c);
}

static struct gn_rpc_call *call_new(struct gn_rpc_server *srv,
				    struct method_ent *me)
{
	struct gn_rpc_call *c = xcalloc(1, sizeof(*c));

	c->kind = me ? TAG_NEW_CALL : TAG_UNKNOWN_CALL;
	c->srv = srv;
	c->me = me;
	c->status_details = grpc_empty_slice();
	grpc_metadata_array_init(&c->md);
	if (!me)
		grpc_call_details_init(&c->details);
	return c;
}

/* Arm one request for method me (NULL: for unregistered methods). */
static void request_arm(struct gn_rpc_server *srv, struct method_ent *me)
{
	struct gn_rpc_call *c = call_new(srv, me);
	grpc_call_error e;

	if (me)
		e = grpc_server_request_registered_call(srv->server, me->handle,
							&c->call, &c->deadline,
							&c->md, &c->payload,
							srv->cq, srv->cq, c);
	else
		e = grpc_server_request_call(srv->server, &c->call,
					     &c->details, &c->md, srv->cq,
					     srv->cq, c);
	if (e != GRPC_CALL_OK) {
		log_err("cannot arm rpc request method='%s' err=%d",
			me ? me->name : "*", (int)e);
		call_free(c);
	}
}

/* Send the one reply batch.  err 0 sends c->reply with status OK. */
static void reply_send(struct gn_rpc_call *c, int err, enum gn_status st)
{
	grpc_op ops[4], *op = ops;
	grpc_call_error e;

	memset(ops, 0, sizeof(ops));
	op->op = GRPC_OP_SEND_INITIAL_METADATA;
	op++;
	if (!err && c->reply) {
		op->op = GRPC_OP_SEND_MESSAGE;
		op->data.send_message.send_message = c->reply;
		op++;
	}
	op->op = GRPC_OP_SEND_STATUS_FROM_SERVER;
	op->data.send_status_from_server.status = (grpc_status_code)st;
	if (err) {
		const char *msg = c->detail ? c->detail : gn_strerror(err);

		c->status_details = grpc_slice_from_copied_string(msg);
		op->data.send_status_from_server.status_details =
			&c->status_details;
		snprintf(c->errno_buf, sizeof(c->errno_buf), "%d", -err);
		c->trailer.key = grpc_slice_from_static_string("gn-errno");
		c->trailer.value = grpc_slice_from_static_string(c->errno_buf);
		op->data.send_status_from_server.trailing_metadata_count = 1;
		op->data.send_status_from_server.trailing_metadata = &c->trailer;
	}
	op++;
	op->op = GRPC_OP_RECV_CLOSE_ON_SERVER;
	op->data.recv_close_on_server.cancelled = &c->cancelled;
	op++;
	c->kind = TAG_REPLY_DONE;
	e = grpc_call_start_batch(c->call, ops, (size_t)(op - ops), c, NULL);
	if (e != GRPC_CALL_OK) {
		log_err("cannot send rpc reply err=%d", (int)e);
		call_free(c);
	}
}

static void serve_call(struct gn_rpc_call *c)
{
	struct method_ent *me = c->me;
	grpc_byte_buffer *bb = c->payload;
	int64_t t0 = gn_mono_ns();
	int ret;

	c->payload = NULL;
	if (!bb) {
		/* The client half-closed without a message. */
		gn_rpc_call_set_error(c, "request without a message");
		ret = -EBADMSG;
		goto out;
	}
	ret = gn__rpc_msgin_decode(&c->in, bb, me->req_desc);
	if (ret < 0) {
		log_warn("malformed rpc request method='%s' peer='%s'",
			  me->name, gn_rpc_call_peer(c));
		gn_rpc_call_set_error(c, "malformed request for '%s'",
				      me->name);
		goto out;
	}
	ret = me->handler(me->svc, c, c->in.msg, &c->in.bulk);
	if (ret > 0) {
		log_err("rpc handler returned positive value method='%s' ret=%d",
			me->name, ret);
		ret = -EIO;
	} else if (!ret && !c->reply) {
		log_err("rpc handler returned without a reply method='%s'",
			me->name);
		ret = -EIO;
	}
out:
	/* The request's slices go back before the reply is sent. */
	gn__rpc_msgin_release(&c->in);
	if (ret && c->reply) {
		grpc_byte_buffer_destroy(c->reply);
		c->reply = NULL;
	}
	/* Before reply_send: the call may be freed once it is queued. */
	gn_metrics_rpc_done(me->metrics, ret ? (int)gn_errno_to_status(ret) : 0,
			    gn_mono_ns() - t0);
	reply_send(c, ret, gn_errno_to_status(ret));
}

static void serve_unknown(struct gn_rpc_call *c)
{
	char *m = grpc_slice_to_c_string(c->details.method);
	grpc_op ops[3];
	grpc_call_error e;

	log_warn("rpc call to unknown method method='%s'", m);
	gn_rpc_call_set_error(c, "unknown method '%s'", m);
	gpr_free(m);
	c->status_details = grpc_slice_from_copied_string(
		c->detail ? c->detail : "unknown method");
	/* UNIMPLEMENTED without gn-errno: the table maps it to ENOSYS. */
	memset(ops, 0, sizeof(ops));
	ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
	ops[1].op = GRPC_OP_SEND_STATUS_FROM_SERVER;
	ops[1].data.send_status_from_server.status = GRPC_STATUS_UNIMPLEMENTED;
	ops[1].data.send_status_from_server.status_details = &c->status_details;
	ops[2].op = GRPC_OP_RECV_CLOSE_ON_SERVER;
	ops[2].data.recv_close_on_server.cancelled = &c->cancelled;
	c->kind = TAG_REPLY_DONE;
	e = grpc_call_start_batch(c->call, ops, 3, c, NULL);
	if (e != GRPC_CALL_OK) {
		log_err("cannot send rpc reply err=%d", (int)e);
		call_free(c);
	}
}

static void *worker_main(void *arg)
{
	struct gn_rpc_server *srv = arg;

	for (;;) {
		grpc_event ev = grpc_completion_queue_next(
			srv->cq, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
		enum tag_kind *kind;
		struct gn_rpc_call *c;
		bool rearm;

		if (ev.type == GRPC_QUEUE_SHUTDOWN)
			break;
		if (ev.type != GRPC_OP_COMPLETE)
			continue;
		kind = ev.tag;
		if (*kind == TAG_SHUTDOWN) {
			pthread_mutex_lock(&srv->mu);
			srv->shutdown_done = true;
			pthread_cond_broadcast(&srv->cond);
			pthread_mutex_unlock(&srv->mu);
			continue;
		}
		c = ev.tag;
		if (*kind == TAG_REPLY_DONE || !ev.success) {
			/* A finished reply, or a request failed by shutdown. */
			call_free(c);
			continue;
		}
		pthread_mutex_lock(&srv->mu);
		rearm = !srv->shutting_down;
		srv->active++;
		c->counted = true;
		pthread_mutex_unlock(&srv->mu);
		if (rearm)
			request_arm(srv, c->me);
		if (*kind == TAG_NEW_CALL)
			serve_call(c);
		else
			serve_unknown(c);
	}
	return NULL;
}

int gn_rpc_server_new(const struct gn_rpc_server_opts *opts,
		      struct gn_rpc_server **out)
{
	struct gn_rpc_server *srv;
	size_t max_msg = opts->max_msg ? opts->max_msg : GN_RPC_DEFAULT_MAX_MSG;
	grpc_arg args[2];
	grpc_channel_args cargs = { .num_args = 2, .args = args };
	pthread_condattr_t ca;

	if (!opts->listen || opts->workers < 1)
		return -EINVAL;
	srv = xcalloc(1, sizeof(*srv));
	srv->listen = xstrdup(opts->listen);
	srv->nworkers = opts->workers;
	srv->shutdown_tag = TAG_SHUTDOWN;
	pthread_mutex_init(&srv->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&srv->cond, &ca);
	pthread_condattr_destroy(&ca);

	/* The receiver enforces the message limit; gRPC answers a larger
	 * message with RESOURCE_EXHAUSTED itself. */
	args[0].type = GRPC_ARG_INTEGER;
	args[0].key = (char *)GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH;
	args[0].value.integer = max_msg > INT_MAX ? -1 : (int)max_msg;
	/* SO_REUSEPORT (gRPC's default) would let two servers share a port
	 * instead of failing with EADDRINUSE. */
	args[1].type = GRPC_ARG_INTEGER;
	args[1].key = (char *)GRPC_ARG_ALLOW_REUSEPORT;
	args[1].value.integer = 0;
	srv->server = grpc_server_create(&cargs, NULL);
	srv->cq = grpc_completion_queue_create_for_next(NULL);
	grpc_server_register_completion_queue(srv->server, srv->cq, NULL);
	*out = srv;
	return 0;
}

int gn_rpc_server_add(struct gn_rpc_server *srv,
		      const struct gn_rpc_method *methods, size_t n, void *svc)
{
	if (srv->state != SRV_NEW)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		for (size_t j = 0; j < srv->nmethods; j++)
			if (!strcmp(srv->methods[j].name, methods[i].name))
				return -EEXIST;
		for (size_t j = 0; j < i; j++)
			if (!strcmp(methods[j].name, methods[i].name))
				return -EEXIST;
		if (!methods[i].handler || !methods[i].req_desc ||
		    methods[i].name[0] != '/')
			return -EINVAL;
	}
	srv->methods = xrealloc(srv->methods,
				(srv->nmethods + n) * sizeof(*srv->methods));
	for (size_t i = 0; i < n; i++) {
		struct method_ent *me = &srv->methods[srv->nmethods];

		me->name = xstrdup(methods[i].name);
		me->req_desc = methods[i].req_desc;
		me->handler = methods[i].handler;
		me->svc = svc;
		me->metrics = gn_metrics_rpc_method(GN_METRICS_SERVER, me->name);
		me->handle = grpc_server_register_method(
			srv->server, me->name, NULL,
			GRPC_SRM_PAYLOAD_READ_INITIAL_BYTE_BUFFER, 0);
		if (!me->handle) {
			free(me->name);
			return -EINVAL;
		}
		srv->nmethods++;
	}
	return 0;
}

int gn_rpc_server_start(struct gn_rpc_server *srv, int *port)
{
	grpc_server_credentials *creds;
	char host[256];
	int bound, p;

	if (srv->state != SRV_NEW)
		return -EINVAL;
	if (gn_parse_hostport(srv->listen, host, sizeof(host), &p, -1) < 0 ||
	    p < 0)
		return -EINVAL;
	creds = grpc_insecure_server_credentials_create();
	bound = grpc_server_add_http2_port(srv->server, srv->listen, creds);
	grpc_server_credentials_release(creds);
	if (bound <= 0)
		return -EADDRINUSE;
	grpc_server_start(srv->server);
	srv->state = SRV_RUNNING;
	for (size_t i = 0; i < srv->nmethods; i++)
		for (int k = 0; k < pending_per_method(srv); k++)
			request_arm(srv, &srv->methods[i]);
	for (int k = 0; k < PENDING_UNKNOWN; k++)
		request_arm(srv, NULL);
	srv->workers = xcalloc((size_t)srv->nworkers, sizeof(pthread_t));
	for (int i = 0; i < srv->nworkers; i++)
		if (pthread_create(&srv->workers[i], NULL, worker_main, srv))
			BUG("cannot create rpc worker thread");
	if (port)
		*port = bound;
	return 0;
}

static void cond_deadline(struct timespec *ts, int ms)
{
	*ts = gn_mono_after_ns((int64_t)ms * 1000000);
}

/* Drain a completion queue nobody else polls (a server never started). */
static void cq_drain_self(grpc_completion_queue *cq, void *until_tag)
{
	for (;;) {
		grpc_event ev = grpc_completion_queue_next(
			cq, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);

		if (ev.type == GRPC_QUEUE_SHUTDOWN)
			return;
		if (ev.type == GRPC_OP_COMPLETE && ev.tag == until_tag) {
			grpc_completion_queue_shutdown(cq);
			until_tag = NULL;
		}
	}
}

void gn_rpc_server_shutdown(struct gn_rpc_server *srv, int grace_ms)
{
	struct timespec ts;

	if (srv->state == SRV_STOPPED)
		return;
	pthread_mutex_lock(&srv->mu);
	srv->shutting_down = true;
	pthread_mutex_unlock(&srv->mu);
	grpc_server_shutdown_and_notify(srv->server, srv->cq,
					&srv->shutdown_tag);
	if (srv->state == SRV_NEW) {
		cq_drain_self(srv->cq, &srv->shutdown_tag);
		srv->state = SRV_STOPPED;
		return;
	}
	/* Handlers in flight finish and their replies go out; only then do
	 * the connections close and the shutdown tag come back.  A call
	 * cancelled by its deadline or client no longer keeps its
	 * connection open, so count our own calls as well. */
	cond_deadline(&ts, GN_MAX(grace_ms, 0));
	pthread_mutex_lock(&srv->mu);
	while (!srv->shutdown_done || srv->active)
		if (pthread_cond_timedwait(&srv->cond, &srv->mu, &ts) ==
		    ETIMEDOUT)
			break;
	if (!srv->shutdown_done || srv->active) {
		int active = srv->active;

		srv->cancelling = true;
		pthread_cond_broadcast(&srv->cond);
		pthread_mutex_unlock(&srv->mu);
		if (active)
			log_info("rpc shutdown grace over, cancelling calls active=%d grace_ms=%d",
				 active, grace_ms);
		grpc_server_cancel_all_calls(srv->server);
		pthread_mutex_lock(&srv->mu);
		/* Their reply batches need the queue: shut it after. */
		while (!srv->shutdown_done || srv->active)
			pthread_cond_wait(&srv->cond, &srv->mu);
	}
	pthread_mutex_unlock(&srv->mu);
	grpc_completion_queue_shutdown(srv->cq);
	for (int i = 0; i < srv->nworkers; i++)
		pthread_join(srv->workers[i], NULL);
	srv->state = SRV_STOPPED;
}

void gn_rpc_server_free(struct gn_rpc_server *srv)
{
	if (!srv)
		return;
	gn_rpc_server_shutdown(srv, 0);
	grpc_server_destroy(srv->server);
	grpc_completion_queue_destroy(srv->cq);
	for (size_t i = 0; i < srv->nmethods; i++)
		free(srv->methods[i].name);
	free(srv->methods);
	free(srv->workers);
	free(srv->listen);
	pthread_cond_destroy(&srv->cond);
	pthread_mutex_destroy(&srv->mu);
	free(srv);
}

/* ------------------------------------------------------------------ */
/* Handler side                                                       */
/* ------------------------------------------------------------------ */

int gn_rpc_reply_bulk(struct gn_rpc_call *call, const ProtobufCMessage *msg,
		      const void *data, size_t len,
		      void (*release)(void *ctx), void *ctx)
{
	grpc_byte_buffer *bb;
	int ret;

	if (call->reply) {
		if (release)
			release(ctx);
		return -EALREADY;
	}
	ret = gn__rpc_encode(msg, data, len, release, ctx, &bb);
	if (ret < 0)
		return ret;
	call->reply = bb;
	return 0;
}

int gn_rpc_reply(struct gn_rpc_call *call, const ProtobufCMessage *msg)
{
	return gn_rpc_reply_bulk(call, msg, NULL, 0, NULL, NULL);
}

void gn_rpc_call_set_error(struct gn_rpc_call *call, const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		s = NULL;
	va_end(ap);
	free(call->detail);
	call->detail = s;
}

const char *gn_rpc_call_peer(struct gn_rpc_call *call)
{
	if (!call->peer)
		call->peer = grpc_call_get_peer(call->call);
	return call->peer;
}

int gn_rpc_call_remaining_ms(struct gn_rpc_call *call)
{
	gpr_timespec d = call->deadline, now;
	int64_t ms;

	if (gpr_time_cmp(d, gpr_inf_future(d.clock_type)) == 0)
		return INT32_MAX;
	d = gpr_convert_clock_type(d, GPR_CLOCK_MONOTONIC);
	now = gpr_now(GPR_CLOCK_MONOTONIC);
	ms = gpr_time_to_millis(gpr_time_sub(d, now));
	if (ms < 0)
		return 0;
	return ms > INT32_MAX ? INT32_MAX : (int)ms;
}

int gn__rpc_call_sleep(struct gn_rpc_call *call, int ms)
{
	struct gn_rpc_server *srv = call->srv;
	struct timespec ts;
	int ret = 0;

	cond_deadline(&ts, ms);
	pthread_mutex_lock(&srv->mu);
	while (!srv->cancelling)
		if (pthread_cond_timedwait(&srv->cond, &srv->mu, &ts) ==
		    ETIMEDOUT)
			break;
	if (srv->cancelling)
		ret = -ECANCELED;
	pthread_mutex_unlock(&srv->mu);
	return ret;
}

/*
 * check_rpc.c - the RPC layer against a real server on 127.0.0.1 (port 0),
 * plus the wire codec on its own.  Each test forks (Check's default), and
 * the fixture runs in the child, so gRPC is initialised per test.
 */
#include "config.h"

#include "t/unit/unit.h"

#include <check.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/rpc.h"
#include "common/rpc_i.h"
#include "common/status.h"
#include "common/util.h"
#include "diag.pb-c.h"

#define MIB ((size_t)1 << 20)

static struct gn_rpc_server *srv;
static struct gn_rpc_client *cli;
static struct gn_rpc_channel *ch;
static int port;
static atomic_int slow_arrived;

static const struct gn_rpc_callopts opts = { .timeout_ms = 20000 };

/* ---- test methods --------------------------------------------------- */

/* Fails with the errno carried in sleep_ms of an EchoRequest. */
static int t_fail(void *svc, struct gn_rpc_call *call,
		  const ProtobufCMessage *req, const struct gn_bulk *data)
{
	const Gannet__EchoRequest *r = (const Gannet__EchoRequest *)req;

	(void)svc;
	(void)data;
	gn_rpc_call_set_error(call, "failing on purpose with %u", r->sleep_ms);
	return -(int)r->sleep_ms;
}

/* Counts its arrival, sleeps sleep_ms, then echoes the payload length. */
static int t_slow(void *svc, struct gn_rpc_call *call,
		  const ProtobufCMessage *req, const struct gn_bulk *data)
{
	const Gannet__EchoRequest *r = (const Gannet__EchoRequest *)req;
	Gannet__SinkReply rep = GANNET__SINK_REPLY__INIT;

	(void)svc;
	atomic_fetch_add(&slow_arrived, 1);
	if (gn__rpc_call_sleep(call, (int)r->sleep_ms) < 0)
		return -ECANCELED;
	rep.received = data->len;
	return gn_rpc_reply(call, &rep.base);
}

/* Replies with nothing although it returns 0: a handler bug. */
static int t_noreply(void *svc, struct gn_rpc_call *call,
		     const ProtobufCMessage *req, const struct gn_bulk *data)
{
	(void)svc;
	(void)call;
	(void)req;
	(void)data;
	return 0;
}

static const struct gn_rpc_method test_methods[] = {
	{ "/gannet.Test/Fail", &gannet__echo_request__descriptor, t_fail },
	{ "/gannet.Test/Slow", &gannet__echo_request__descriptor, t_slow },
	{ "/gannet.Test/NoReply", &gannet__echo_request__descriptor, t_noreply },
};

/* ---- fixture -------------------------------------------------------- */

static void setup(void)
{
	struct gn_rpc_server_opts so = {
		.listen = "127.0.0.1:0", .workers = 4, .max_msg = 17 * MIB,
	};
	char target[64];

	gn_rpc_init();
	ck_assert_int_eq(gn_rpc_server_new(&so, &srv), 0);
	ck_assert_int_eq(gn_rpc_server_add_diag(srv, "test"), 0);
	ck_assert_int_eq(gn_rpc_server_add(srv, test_methods,
					   GN_ARRAY_SIZE(test_methods), NULL), 0);
	ck_assert_int_eq(gn_rpc_server_start(srv, &port), 0);
	ck_assert_int_gt(port, 0);
	ck_assert_int_eq(gn_rpc_client_new(&cli), 0);
	snprintf(target, sizeof(target), "127.0.0.1:%d", port);
	ck_assert_int_eq(gn_rpc_channel_new(cli, target, NULL, &ch), 0);
	atomic_store(&slow_arrived, 0);
}

static void teardown(void)
{
	gn_rpc_channel_free(ch);
	gn_rpc_client_free(cli);
	gn_rpc_server_free(srv);
	gn_rpc_shutdown();
}

/* ---- helpers -------------------------------------------------------- */

static void fill(uint8_t *p, size_t len, uint64_t seed)
{
	uint64_t x = seed * 0x9e3779b97f4a7c15ull + 1;

	for (size_t i = 0; i < len; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		p[i] = (uint8_t)x;
	}
}

static void check_echo_result(struct gn_rpc_result *res, const uint8_t *want,
			      size_t len)
{
	uint8_t *got;

	ck_assert_msg(res->err == 0, "err %d status %d '%s'", res->err,
		      res->status, res->detail);
	ck_assert_int_eq(res->status, 0);
	ck_assert_ptr_nonnull(res->reply);
	ck_assert_ptr_eq(res->reply->descriptor, &gannet__echo_reply__descriptor);
	ck_assert_uint_eq(res->data.len, len);
	got = xmalloc(len + 1);
	ck_assert_uint_eq(gn_bulk_copy(&res->data, 0, got, len + 1), len);
	ck_assert(memcmp(got, want, len) == 0);
	free(got);
}

static int echo(const void *data, size_t len, int sleep_ms, int timeout_ms,
		struct gn_rpc_result *res)
{
	Gannet__EchoRequest req = GANNET__ECHO_REQUEST__INIT;
	struct gn_rpc_callopts o = { .timeout_ms = timeout_ms };

	req.sleep_ms = (uint32_t)sleep_ms;
	return gn_rpc_call(ch, "/gannet.Diag/Echo", &req.base, data, len,
			   &gannet__echo_reply__descriptor, &o, res);
}

static void ping_ok(void)
{
	Gannet__PingRequest req = GANNET__PING_REQUEST__INIT;
	struct gn_rpc_result res;
	const Gannet__PingReply *rep;

	ck_assert_int_eq(gn_rpc_call(ch, "/gannet.Diag/Ping", &req.base, NULL,
				     0, &gannet__ping_reply__descriptor, &opts,
				     &res), 0);
	rep = (const Gannet__PingReply *)res.reply;
	ck_assert_str_eq(rep->role, "test");
	ck_assert_str_eq(rep->version, PACKAGE_VERSION);
	ck_assert_int_gt(rep->server_time_ns, 0);
	gn_rpc_result_release(&res);
}

static const size_t echo_sizes[] = { 0, 1, 4096, 4 * MIB, 16 * MIB };

/* ---- tests ---------------------------------------------------------- */

START_TEST(test_ping)
{
	ping_ok();
}
END_TEST

START_TEST(test_echo_sync)
{
	size_t len = echo_sizes[_i];
	uint8_t *buf = xmalloc(len + 1);
	struct gn_rpc_result res;

	fill(buf, len, len);
	ck_assert_int_eq(echo(buf, len, 0, 20000, &res), 0);
	check_echo_result(&res, buf, len);
	gn_rpc_result_release(&res);
	/* Released twice is harmless. */
	gn_rpc_result_release(&res);
	ck_assert_ptr_null(res.reply);
	free(buf);
}
END_TEST

struct async_slot {
	pthread_mutex_t *mu;
	pthread_cond_t *cond;
	int *left;
	struct gn_rpc_result *res;
};

static void async_done(struct gn_rpc_result *res, void *arg)
{
	struct async_slot *s = arg;

	pthread_mutex_lock(s->mu);
	s->res = res;
	(*s->left)--;
	pthread_cond_signal(s->cond);
	pthread_mutex_unlock(s->mu);
}

START_TEST(test_echo_async)
{
	enum { N = GN_ARRAY_SIZE(echo_sizes) };
	pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
	pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
	struct async_slot slot[N];
	uint8_t *buf[N];
	int left = N;

	/* All in flight at once on one channel. */
	for (int i = 0; i < N; i++) {
		Gannet__EchoRequest req = GANNET__ECHO_REQUEST__INIT;

		buf[i] = xmalloc(echo_sizes[i] + 1);
		fill(buf[i], echo_sizes[i], 100 + (uint64_t)i);
		slot[i] = (struct async_slot){ &mu, &cond, &left, NULL };
		ck_assert_int_eq(gn_rpc_call_async(ch, "/gannet.Diag/Echo",
			&req.base, buf[i], echo_sizes[i],
			&gannet__echo_reply__descriptor, &opts, async_done,
			&slot[i]), 0);
	}
	pthread_mutex_lock(&mu);
	while (left)
		pthread_cond_wait(&cond, &mu);
	pthread_mutex_unlock(&mu);
	for (int i = 0; i < N; i++) {
		check_echo_result(slot[i].res, buf[i], echo_sizes[i]);
		gn_rpc_result_release(slot[i].res);
		free(slot[i].res);
		free(buf[i]);
	}
}
END_TEST

static grpc_slice held;
static atomic_int held_taken, held_released;

/* Only the first: the server's reply in this process encodes too. */
static void hold_bulk(grpc_slice s)
{
	if (atomic_exchange(&held_taken, 1) == 0)
		held = grpc_slice_ref(s);
}

static void *unhold_later(void *arg)
{
	(void)arg;
	usleep(200 * 1000);
	atomic_store(&held_released, 1);
	grpc_slice_unref(held);
	return NULL;
}

/* gRPC may drop the request's bulk data after the call has completed:
 * done must wait for it (the caller's buffer is in use until then). */
START_TEST(test_async_waits_for_bulk_release)
{
	pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
	pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
	Gannet__EchoRequest req = GANNET__ECHO_REQUEST__INIT;
	struct async_slot slot = { &mu, &cond, NULL, NULL };
	size_t len = 64 << 10;
	uint8_t *buf = xmalloc(len);
	int left = 1;
	pthread_t t;

	slot.left = &left;
	fill(buf, len, 11);
	atomic_store(&held_taken, 0);
	gn__rpc_test_bulk_hook = hold_bulk;
	ck_assert_int_eq(gn_rpc_call_async(ch, "/gannet.Diag/Echo", &req.base,
		buf, len, &gannet__echo_reply__descriptor, &opts, async_done,
		&slot), 0);
	gn__rpc_test_bulk_hook = NULL;
	ck_assert_int_eq(pthread_create(&t, NULL, unhold_later, NULL), 0);
	pthread_mutex_lock(&mu);
	while (left)
		pthread_cond_wait(&cond, &mu);
	pthread_mutex_unlock(&mu);
	ck_assert_int_eq(atomic_load(&held_released), 1);
	check_echo_result(slot.res, buf, len);
	gn_rpc_result_release(slot.res);
	free(slot.res);
	pthread_join(t, NULL);
	free(buf);
	/* The same through the synchronous call. */
	atomic_store(&held_released, 0);
	atomic_store(&held_taken, 0);
	gn__rpc_test_bulk_hook = hold_bulk;
	ck_assert_int_eq(pthread_create(&t, NULL, unhold_later, NULL), 0);
	{
		struct gn_rpc_result res;
		static uint8_t small[8192];

		ck_assert_int_eq(echo(small, sizeof(small), 0, 20000, &res), 0);
		ck_assert_int_eq(atomic_load(&held_released), 1);
		gn_rpc_result_release(&res);
	}
	gn__rpc_test_bulk_hook = NULL;
	pthread_join(t, NULL);
}
END_TEST

START_TEST(test_deadline)
{
	struct gn_rpc_result res;
	int64_t t0 = gn_mono_ms();

	ck_assert_int_eq(echo("x", 1, 10000, 200, &res), -ETIMEDOUT);
	ck_assert_int_eq(res.status, GN_STATUS_DEADLINE_EXCEEDED);
	ck_assert_ptr_null(res.reply);
	/* Promptly: long before the server would have answered. */
	ck_assert_int_lt(gn_mono_ms() - t0, 5000);
	gn_rpc_result_release(&res);
}
END_TEST

START_TEST(test_malformed)
{
	/* Field 1 claims 5 bytes, 1 follows; then a valid outer message
	 * whose embedded ReqHeader is garbage; then an invalid wire type. */
	static const uint8_t bad1[] = { 0x0a, 0x05, 0x01 };
	static const uint8_t bad2[] = { 0x0a, 0x03, 0xff, 0xff, 0xff };
	static const uint8_t bad3[] = { 0x13, 0x01 };
	const struct { const uint8_t *p; size_t len; } bad[] = {
		{ bad1, sizeof(bad1) }, { bad2, sizeof(bad2) },
		{ bad3, sizeof(bad3) },
	};
	struct gn_rpc_result res;

	for (size_t i = 0; i < GN_ARRAY_SIZE(bad); i++) {
		ck_assert_int_eq(gn__rpc_call_raw(ch, "/gannet.Diag/Echo",
			bad[i].p, bad[i].len, &gannet__echo_reply__descriptor,
			&opts, &res), -EBADMSG);
		ck_assert_int_eq(res.status, GN_STATUS_INVALID_ARGUMENT);
		ck_assert_msg(strstr(res.detail, "malformed") != NULL,
			      "detail '%s'", res.detail);
		gn_rpc_result_release(&res);
		ping_ok();
	}
}
END_TEST

START_TEST(test_unknown_method)
{
	Gannet__PingRequest req = GANNET__PING_REQUEST__INIT;
	struct gn_rpc_result res;

	ck_assert_int_eq(gn_rpc_call(ch, "/gannet.Nope/Nothing", &req.base,
				     NULL, 0, &gannet__ping_reply__descriptor,
				     &opts, &res), -ENOSYS);
	ck_assert_int_eq(res.status, GN_STATUS_UNIMPLEMENTED);
	ck_assert_ptr_nonnull(strstr(res.detail, "/gannet.Nope/Nothing"));
	gn_rpc_result_release(&res);
	ping_ok();
}
END_TEST

START_TEST(test_oversize)
{
	size_t len = 32 * MIB;
	uint8_t *buf = xcalloc(1, len);
	struct gn_rpc_result res;

	echo(buf, len, 0, 20000, &res);
	ck_assert_int_eq(res.status, GN_STATUS_RESOURCE_EXHAUSTED);
	ck_assert_int_lt(res.err, 0);
	gn_rpc_result_release(&res);
	/* The server keeps serving, also a payload just under the limit. */
	ping_ok();
	fill(buf, 16 * MIB, 7);
	ck_assert_int_eq(echo(buf, 16 * MIB, 0, 20000, &res), 0);
	check_echo_result(&res, buf, 16 * MIB);
	gn_rpc_result_release(&res);
	free(buf);
}
END_TEST

static void *hammer(void *arg)
{
	int id = (int)(intptr_t)arg;
	long bad = 0;

	for (int i = 0; i < 1000; i++) {
		uint8_t msg[24], got[24];
		struct gn_rpc_result res;

		snprintf((char *)msg, sizeof(msg), "t%d-call%d", id, i);
		if (echo(msg, sizeof(msg), 0, 20000, &res) ||
		    res.data.len != sizeof(msg) ||
		    gn_bulk_copy(&res.data, 0, got, sizeof(got)) != sizeof(got) ||
		    memcmp(got, msg, sizeof(msg)))
			bad++;
		gn_rpc_result_release(&res);
	}
	return (void *)bad;
}

START_TEST(test_concurrent)
{
	pthread_t t[8];

	for (int i = 0; i < 8; i++)
		ck_assert_int_eq(pthread_create(&t[i], NULL, hammer,
						(void *)(intptr_t)i), 0);
	for (int i = 0; i < 8; i++) {
		void *bad;

		pthread_join(t[i], &bad);
		ck_assert_int_eq((long)bad, 0);
	}
}
END_TEST

START_TEST(test_shutdown_in_flight)
{
	enum { N = 4 };
	pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
	pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
	struct async_slot slot[N];
	static uint8_t payload[8192];
	struct gn_rpc_result res;
	int left = N;

	for (int i = 0; i < N; i++) {
		Gannet__EchoRequest req = GANNET__ECHO_REQUEST__INIT;

		req.sleep_ms = 300;
		slot[i] = (struct async_slot){ &mu, &cond, &left, NULL };
		ck_assert_int_eq(gn_rpc_call_async(ch, "/gannet.Test/Slow",
			&req.base, payload, sizeof(payload),
			&gannet__sink_reply__descriptor, &opts, async_done,
			&slot[i]), 0);
	}
	/* Wait until every call is inside its handler. */
	while (atomic_load(&slow_arrived) < N)
		usleep(1000);
	gn_rpc_server_shutdown(srv, 10000);
	pthread_mutex_lock(&mu);
	while (left)
		pthread_cond_wait(&cond, &mu);
	pthread_mutex_unlock(&mu);
	for (int i = 0; i < N; i++) {
		const Gannet__SinkReply *rep;

		ck_assert_msg(slot[i].res->err == 0, "call %d err %d '%s'", i,
			      slot[i].res->err, slot[i].res->detail);
		rep = (const Gannet__SinkReply *)slot[i].res->reply;
		ck_assert_uint_eq(rep->received, sizeof(payload));
		gn_rpc_result_release(slot[i].res);
		free(slot[i].res);
	}
	/* Nobody serves any more. */
	ck_assert_int_lt(echo("x", 1, 0, 2000, &res), 0);
	ck_assert_int_eq(res.status, GN_STATUS_UNAVAILABLE);
	gn_rpc_result_release(&res);
}
END_TEST

START_TEST(test_shutdown_grace_cancels)
{
	struct gn_rpc_result res;
	Gannet__EchoRequest req = GANNET__ECHO_REQUEST__INIT;
	pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
	pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
	struct async_slot slot = { &mu, &cond, NULL, NULL };
	int left = 1;

	slot.left = &left;
	req.sleep_ms = 60000;
	ck_assert_int_eq(gn_rpc_call_async(ch, "/gannet.Test/Slow", &req.base,
		NULL, 0, &gannet__sink_reply__descriptor, &opts, async_done,
		&slot), 0);
	while (atomic_load(&slow_arrived) < 1)
		usleep(1000);
	/* A handler that outlives the grace is cancelled, not waited for. */
	gn_rpc_server_shutdown(srv, 100);
	pthread_mutex_lock(&mu);
	while (left)
		pthread_cond_wait(&cond, &mu);
	pthread_mutex_unlock(&mu);
	ck_assert_int_ne(slot.res->status, 0);
	gn_rpc_result_release(slot.res);
	free(slot.res);
	(void)res;
}
END_TEST

static int call_fail(unsigned err, struct gn_rpc_result *res)
{
	Gannet__EchoRequest req = GANNET__ECHO_REQUEST__INIT;

	req.sleep_ms = err;
	return gn_rpc_call(ch, "/gannet.Test/Fail", &req.base, NULL, 0,
			   &gannet__echo_reply__descriptor, &opts, res);
}

START_TEST(test_handler_errno)
{
	struct gn_rpc_result res;

	ck_assert_int_eq(call_fail(ENOENT, &res), -ENOENT);
	ck_assert_int_eq(res.status, GN_STATUS_NOT_FOUND);
	ck_assert_str_eq(res.detail, "failing on purpose with 2");
	ck_assert_ptr_null(res.reply);
	gn_rpc_result_release(&res);
	/* The exact errno survives where the status is shared. */
	ck_assert_int_eq(call_fail(ENAMETOOLONG, &res), -ENAMETOOLONG);
	ck_assert_int_eq(res.status, GN_STATUS_INVALID_ARGUMENT);
	gn_rpc_result_release(&res);
	ck_assert_int_eq(call_fail(GN_ERR_CKSUM, &res), -GN_ERR_CKSUM);
	ck_assert_int_eq(res.status, GN_STATUS_DATA_LOSS);
	gn_rpc_result_release(&res);
}
END_TEST

START_TEST(test_handler_without_reply)
{
	Gannet__EchoRequest req = GANNET__ECHO_REQUEST__INIT;
	struct gn_rpc_result res;

	ck_assert_int_eq(gn_rpc_call(ch, "/gannet.Test/NoReply", &req.base,
				     NULL, 0, &gannet__echo_reply__descriptor,
				     &opts, &res), -EIO);
	ck_assert_int_eq(res.status, GN_STATUS_INTERNAL);
	gn_rpc_result_release(&res);
}
END_TEST

/* A port nobody listens on (bound, then closed). */
static int dead_port(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t alen = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0), p;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&a, &alen), 0);
	p = ntohs(a.sin_port);
	close(fd);
	return p;
}

START_TEST(test_no_server)
{
	struct gn_rpc_channel *dch;
	struct gn_rpc_callopts o = { .timeout_ms = 5000, .retries = 2 };
	Gannet__PingRequest req = GANNET__PING_REQUEST__INIT;
	struct gn_rpc_result res;
	char target[64];

	snprintf(target, sizeof(target), "127.0.0.1:%d", dead_port());
	ck_assert_int_eq(gn_rpc_channel_new(cli, target, NULL, &dch), 0);
	ck_assert_str_eq(gn_rpc_channel_target(dch), target);
	/* Fail fast, after the retries. */
	ck_assert_int_lt(gn_rpc_call(dch, "/gannet.Diag/Ping", &req.base, NULL,
				     0, &gannet__ping_reply__descriptor, &o,
				     &res), 0);
	ck_assert_int_eq(res.status, GN_STATUS_UNAVAILABLE);
	ck_assert_int_eq(res.err, gn_status_to_errno(GN_STATUS_UNAVAILABLE));
	gn_rpc_result_release(&res);
	/* Wait for ready: until the deadline. */
	o.retries = 0;
	o.timeout_ms = 300;
	o.wait_for_ready = true;
	ck_assert_int_eq(gn_rpc_call(dch, "/gannet.Diag/Ping", &req.base, NULL,
				     0, &gannet__ping_reply__descriptor, &o,
				     &res), -ETIMEDOUT);
	ck_assert_int_eq(res.status, GN_STATUS_DEADLINE_EXCEEDED);
	gn_rpc_result_release(&res);
	gn_rpc_channel_free(dch);
}
END_TEST

struct late_server {
	int port;
	struct gn_rpc_server *srv;
	int ret;
};

static void *start_late(void *arg)
{
	struct late_server *l = arg;
	char listen[64];
	struct gn_rpc_server_opts so = { .listen = listen, .workers = 1 };

	usleep(150 * 1000);
	snprintf(listen, sizeof(listen), "127.0.0.1:%d", l->port);
	l->ret = gn_rpc_server_new(&so, &l->srv);
	if (!l->ret)
		l->ret = gn_rpc_server_add_diag(l->srv, "test");
	if (!l->ret)
		l->ret = gn_rpc_server_start(l->srv, NULL);
	return NULL;
}

/* A peer that comes up while the call backs off: a retry reaches it. */
START_TEST(test_retry_reaches_late_server)
{
	struct late_server l = { .port = dead_port() };
	struct gn_rpc_callopts o = { .timeout_ms = 2000, .retries = 8 };
	Gannet__PingRequest req = GANNET__PING_REQUEST__INIT;
	struct gn_rpc_channel *lch;
	struct gn_rpc_result res;
	char target[64];
	pthread_t t;

	snprintf(target, sizeof(target), "127.0.0.1:%d", l.port);
	ck_assert_int_eq(gn_rpc_channel_new(cli, target, NULL, &lch), 0);
	ck_assert_int_eq(pthread_create(&t, NULL, start_late, &l), 0);
	/* 50+100+200+400+800+1600+2000+2000 ms of backoff cover the start. */
	ck_assert_int_eq(gn_rpc_call(lch, "/gannet.Diag/Ping", &req.base, NULL,
				     0, &gannet__ping_reply__descriptor, &o,
				     &res), 0);
	gn_rpc_result_release(&res);
	pthread_join(t, NULL);
	ck_assert_int_eq(l.ret, 0);
	gn_rpc_channel_free(lch);
	gn_rpc_server_free(l.srv);
}
END_TEST

/* The peer restarts on the same port: the old channel finds it again. */
START_TEST(test_peer_restart)
{
	struct gn_rpc_callopts o = { .timeout_ms = 2000, .retries = 8 };
	struct gn_rpc_server_opts so = { .workers = 1 };
	Gannet__PingRequest req = GANNET__PING_REQUEST__INIT;
	struct gn_rpc_result res;
	char listen[64];
	int p2;

	ping_ok();
	gn_rpc_server_free(srv);
	ck_assert_int_lt(gn_rpc_call(ch, "/gannet.Diag/Ping", &req.base, NULL,
				     0, &gannet__ping_reply__descriptor, &opts,
				     &res), 0);
	ck_assert_int_eq(res.status, GN_STATUS_UNAVAILABLE);
	gn_rpc_result_release(&res);
	snprintf(listen, sizeof(listen), "127.0.0.1:%d", port);
	so.listen = listen;
	ck_assert_int_eq(gn_rpc_server_new(&so, &srv), 0);
	ck_assert_int_eq(gn_rpc_server_add_diag(srv, "test"), 0);
	ck_assert_int_eq(gn_rpc_server_start(srv, &p2), 0);
	ck_assert_int_eq(p2, port);
	ck_assert_int_eq(gn_rpc_call(ch, "/gannet.Diag/Ping", &req.base, NULL,
				     0, &gannet__ping_reply__descriptor, &o,
				     &res), 0);
	gn_rpc_result_release(&res);
}
END_TEST

START_TEST(test_multi_conn)
{
	struct gn_rpc_channel_opts co = { .conns = 3 };
	struct gn_rpc_channel *mch;
	uint8_t *buf = xmalloc(MIB);
	char target[64];

	snprintf(target, sizeof(target), "127.0.0.1:%d", port);
	ck_assert_int_eq(gn_rpc_channel_new(cli, target, &co, &mch), 0);
	fill(buf, MIB, 3);
	for (int i = 0; i < 6; i++) {
		Gannet__EchoRequest req = GANNET__ECHO_REQUEST__INIT;
		struct gn_rpc_result res;

		ck_assert_int_eq(gn_rpc_call(mch, "/gannet.Diag/Echo",
			&req.base, buf, MIB, &gannet__echo_reply__descriptor,
			&opts, &res), 0);
		check_echo_result(&res, buf, MIB);
		gn_rpc_result_release(&res);
	}
	gn_rpc_channel_free(mch);
	free(buf);
}
END_TEST

START_TEST(test_bad_args)
{
	struct gn_rpc_server_opts so = { .listen = "127.0.0.1:0", .workers = 1 };
	struct gn_rpc_server *s2;
	struct gn_rpc_callopts zero = { 0 };
	Gannet__EchoRequest req = GANNET__ECHO_REQUEST__INIT;
	struct gn_rpc_result res;
	char listen[64];

	/* Duplicate method. */
	ck_assert_int_eq(gn_rpc_server_new(&so, &s2), 0);
	ck_assert_int_eq(gn_rpc_server_add_diag(s2, "x"), 0);
	ck_assert_int_eq(gn_rpc_server_add_diag(s2, "x"), -EEXIST);
	gn_rpc_server_free(s2);
	/* A port in use. */
	snprintf(listen, sizeof(listen), "127.0.0.1:%d", port);
	so.listen = listen;
	ck_assert_int_eq(gn_rpc_server_new(&so, &s2), 0);
	ck_assert_int_eq(gn_rpc_server_start(s2, NULL), -EADDRINUSE);
	gn_rpc_server_free(s2);
	/* No deadline. */
	ck_assert_int_eq(gn_rpc_call(ch, "/gannet.Diag/Echo", &req.base, NULL,
				     0, &gannet__echo_reply__descriptor, &zero,
				     &res), -EINVAL);
	/* The message's own bulk field and a separate one. */
	req.data.data = (uint8_t *)"ab";
	req.data.len = 2;
	ck_assert_int_eq(gn_rpc_call(ch, "/gannet.Diag/Echo", &req.base, "cd",
				     2, &gannet__echo_reply__descriptor, &opts,
				     &res), -EINVAL);
	/* Only the message's: copied, and echoed all the same. */
	ck_assert_int_eq(gn_rpc_call(ch, "/gannet.Diag/Echo", &req.base, NULL,
				     0, &gannet__echo_reply__descriptor, &opts,
				     &res), 0);
	check_echo_result(&res, (const uint8_t *)"ab", 2);
	gn_rpc_result_release(&res);
}
END_TEST

/* ---- the codec without a network ------------------------------------ */

/* Decode buf split into slices of `step` bytes (1 crosses every varint). */
static int decode_split(const uint8_t *buf, size_t len, size_t step,
			struct gn__rpc_msgin *in)
{
	size_t n = (len + step - 1) / step;
	grpc_slice *s = xcalloc(n ? n : 1, sizeof(*s));
	grpc_byte_buffer *bb;

	for (size_t i = 0; i < n; i++)
		s[i] = grpc_slice_from_copied_buffer((const char *)buf + i * step,
						     GN_MIN(step, len - i * step));
	bb = grpc_raw_byte_buffer_create(s, n);
	for (size_t i = 0; i < n; i++)
		grpc_slice_unref(s[i]);
	free(s);
	memset(in, 0, sizeof(*in));
	return gn__rpc_msgin_decode(in, bb, &gannet__echo_request__descriptor);
}

START_TEST(test_wire_split)
{
	Gannet__EchoRequest req = GANNET__ECHO_REQUEST__INIT;
	Gannet__ReqHeader h = GANNET__REQ_HEADER__INIT;
	Gannet__Cred cred = GANNET__CRED__INIT;
	uint32_t groups[] = { 10, 20, 300000 };
	static uint8_t data[70000];
	const size_t steps[] = { 1, 2, 3, 7, 4096, 65536, 1 << 20 };
	size_t len;
	uint8_t *buf;

	gn_rpc_init();
	fill(data, sizeof(data), 9);
	cred.uid = 1000;
	cred.gid = 100;
	cred.n_groups = 3;
	cred.groups = groups;
	h.request_id = UINT64_MAX;
	h.cred = &cred;
	h.deadline_ms = 1234;
	req.h = &h;
	req.sleep_ms = 42;
	req.data.data = data;
	req.data.len = sizeof(data);
	len = protobuf_c_message_get_packed_size(&req.base);
	buf = xmalloc(len);
	protobuf_c_message_pack(&req.base, buf);
	for (size_t i = 0; i < GN_ARRAY_SIZE(steps); i++) {
		struct gn__rpc_msgin in;
		const Gannet__EchoRequest *got;
		uint8_t *back = xmalloc(sizeof(data));

		ck_assert_int_eq(decode_split(buf, len, steps[i], &in), 0);
		got = (const Gannet__EchoRequest *)in.msg;
		ck_assert_uint_eq(got->sleep_ms, 42);
		ck_assert_uint_eq(got->h->request_id, UINT64_MAX);
		ck_assert_uint_eq(got->h->deadline_ms, 1234);
		ck_assert_uint_eq(got->h->cred->n_groups, 3);
		ck_assert_uint_eq(got->h->cred->groups[2], 300000);
		/* The bulk field is not in the message, only in the views. */
		ck_assert_uint_eq(got->data.len, 0);
		ck_assert_uint_eq(in.bulk.len, sizeof(data));
		ck_assert_uint_eq(gn_bulk_copy(&in.bulk, 0, back, sizeof(data)),
				  sizeof(data));
		ck_assert(memcmp(back, data, sizeof(data)) == 0);
		/* Partial copies from an offset. */
		ck_assert_uint_eq(gn_bulk_copy(&in.bulk, sizeof(data) - 5, back,
					       100), 5);
		ck_assert(memcmp(back, data + sizeof(data) - 5, 5) == 0);
		gn__rpc_msgin_release(&in);
		free(back);
		/* Every truncation is malformed, never a crash. */
		if (steps[i] == 4096)
			for (size_t cut = 1; cut < len; cut += 997) {
				ck_assert_int_eq(decode_split(buf, len - cut,
						 steps[i], &in), -EBADMSG);
				gn__rpc_msgin_release(&in);
			}
	}
	free(buf);
	gn_rpc_shutdown();
}
END_TEST

START_TEST(test_wire_encode)
{
	Gannet__EchoRequest req = GANNET__ECHO_REQUEST__INIT;
	static uint8_t data[10000];
	grpc_byte_buffer *bb;
	grpc_byte_buffer_reader r;
	grpc_slice all;
	Gannet__EchoRequest *got;

	gn_rpc_init();
	fill(data, sizeof(data), 5);
	req.sleep_ms = 7;
	ck_assert_int_eq(gn__rpc_encode(&req.base, data, sizeof(data),
		NULL, NULL, &bb), 0);
	/* protobuf-c reads what we wrote: the bulk field as field 15. */
	ck_assert(grpc_byte_buffer_reader_init(&r, bb));
	all = grpc_byte_buffer_reader_readall(&r);
	got = gannet__echo_request__unpack(NULL, GRPC_SLICE_LENGTH(all),
					   GRPC_SLICE_START_PTR(all));
	ck_assert_ptr_nonnull(got);
	ck_assert_uint_eq(got->sleep_ms, 7);
	ck_assert_uint_eq(got->data.len, sizeof(data));
	ck_assert(memcmp(got->data.data, data, sizeof(data)) == 0);
	gannet__echo_request__free_unpacked(got, NULL);
	grpc_slice_unref(all);
	grpc_byte_buffer_reader_destroy(&r);
	grpc_byte_buffer_destroy(bb);
	gn_rpc_shutdown();
}
END_TEST

static Suite *rpc_suite(void)
{
	Suite *s = suite_create("rpc");
	TCase *tc = tcase_create("server");
	TCase *tw = tcase_create("wire");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_ping);
	tcase_add_loop_test(tc, test_echo_sync, 0, GN_ARRAY_SIZE(echo_sizes));
	tcase_add_test(tc, test_echo_async);
	tcase_add_test(tc, test_async_waits_for_bulk_release);
	tcase_add_test(tc, test_deadline);
	tcase_add_test(tc, test_malformed);
	tcase_add_test(tc, test_unknown_method);
	tcase_add_test(tc, test_oversize);
	tcase_add_test(tc, test_concurrent);
	tcase_add_test(tc, test_shutdown_in_flight);
	tcase_add_test(tc, test_shutdown_grace_cancels);
	tcase_add_test(tc, test_handler_errno);
	tcase_add_test(tc, test_handler_without_reply);
	tcase_add_test(tc, test_no_server);
	tcase_add_test(tc, test_retry_reaches_late_server);
	tcase_add_test(tc, test_peer_restart);
	tcase_add_test(tc, test_multi_conn);
	tcase_add_test(tc, test_bad_args);
	suite_add_tcase(s, tc);
	tcase_add_test(tw, test_wire_split);
	tcase_add_test(tw, test_wire_encode);
	suite_add_tcase(s, tw);
	return s;
}

int main(void)
{
	return gn_unit_run(rpc_suite());
}

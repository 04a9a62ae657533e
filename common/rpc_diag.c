/*
 * rpc_diag.c - the Diag service (proto/diag.proto) every daemon serves:
 * Ping for liveness, Echo for payload round trips and deadline tests, and
 * Sink for one-way upload benchmarks.
 */
#include "config.h"
#include "common/rpc_i.h"

#include <errno.h>
#include <stdlib.h>

#include "common/util.h"
#include "diag.pb-c.h"

#define ECHO_SLEEP_MAX_MS 60000

static int diag_ping(void *svc, struct gn_rpc_call *call,
		     const ProtobufCMessage *req, const struct gn_bulk *data)
{
	Gannet__PingReply rep = GANNET__PING_REPLY__INIT;

	(void)req;
	(void)data;
	rep.version = (char *)PACKAGE_VERSION;
	rep.role = svc;
	rep.server_time_ns = gn_now_ns();
	return gn_rpc_reply(call, &rep.base);
}

static int diag_echo(void *svc, struct gn_rpc_call *call,
		     const ProtobufCMessage *req, const struct gn_bulk *data)
{
	const Gannet__EchoRequest *r = (const Gannet__EchoRequest *)req;
	Gannet__EchoReply rep = GANNET__ECHO_REPLY__INIT;
	int ms = (int)GN_MIN(r->sleep_ms, ECHO_SLEEP_MAX_MS);
	void *buf = NULL;

	(void)svc;
	if (r->sleep_ms > ECHO_SLEEP_MAX_MS) {
		gn_rpc_call_set_error(call, "sleep_ms %u over %d",
				      r->sleep_ms, ECHO_SLEEP_MAX_MS);
		return -EINVAL;
	}
	if (ms > 0 && gn__rpc_call_sleep(call, ms) < 0)
		return -ECANCELED;
	/* The request's slices go away when we return: copy.  Diagnostic
	 * only; bulk paths reply from their own buffers. */
	if (data->len) {
		buf = xmalloc(data->len);
		gn_bulk_copy(data, 0, buf, data->len);
	}
	return gn_rpc_reply_bulk(call, &rep.base, buf, data->len, free, buf);
}

static int diag_sink(void *svc, struct gn_rpc_call *call,
		     const ProtobufCMessage *req, const struct gn_bulk *data)
{
	Gannet__SinkReply rep = GANNET__SINK_REPLY__INIT;

	(void)svc;
	(void)req;
	rep.received = data->len;
	return gn_rpc_reply(call, &rep.base);
}

static const struct gn_rpc_method diag_methods[] = {
	{ "/gannet.Diag/Ping", &gannet__ping_request__descriptor, diag_ping },
	{ "/gannet.Diag/Echo", &gannet__echo_request__descriptor, diag_echo },
	{ "/gannet.Diag/Sink", &gannet__sink_request__descriptor, diag_sink },
};

int gn_rpc_server_add_diag(struct gn_rpc_server *srv, const char *role)
{
	return gn_rpc_server_add(srv, diag_methods, GN_ARRAY_SIZE(diag_methods),
				 (void *)role);
}

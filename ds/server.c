/*
 * server.c - start-up and shutdown of a data server: store, RPC service,
 * MDS link, scrubber and metrics, in that order, and back.
 */
#include "config.h"
#include "ds/ds.h"
#include "common/log.h"
#include "common/metrics.h"
#include "common/status.h"
#include "common/util.h"
#include "proto/common.pb-c.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define DEFAULT_PORT 9410
#define PORT_TRIES 32		/* 9410..9441 for further instances */
#define SHUTDOWN_GRACE_MS 10000

/* ------------------------------------------------------------------ */
/* Shared helpers                                                     */
/* ------------------------------------------------------------------ */

int ds_peer_channel(struct ds *ds, const char *addr, struct gn_rpc_channel **out)
{
	struct gn_rpc_channel_opts copts = { .conns = 1 };
	struct ds_peer *p;
	int ret = 0;

	pthread_mutex_lock(&ds->peers_lock);
	for (p = ds->peers; p; p = p->next)
		if (!strcmp(p->addr, addr))
			break;
	if (!p) {
		struct gn_rpc_channel *ch;

		ret = gn_rpc_channel_new(ds->cli, addr, &copts, &ch);
		if (!ret) {
			p = xcalloc(1, sizeof(*p));
			p->addr = xstrdup(addr);
			p->ch = ch;
			p->next = ds->peers;
			ds->peers = p;
		}
	}
	if (p)
		*out = p->ch;
	pthread_mutex_unlock(&ds->peers_lock);
	return ret;
}

void ds_fill_info(struct ds *ds, Gannet__DsInfo *info)
{
	struct ds_store_info si = { 0 };

	ds_store_info(ds->store, &si);
	info->id = atomic_load(&ds->id);
	info->addr = ds->advertise;
	info->state = atomic_load(&ds->draining) ? GANNET__DS_INFO__STATE__DRAINING
						 : GANNET__DS_INFO__STATE__UP;
	info->capacity_bytes = si.capacity_bytes;
	info->free_bytes = si.free_bytes;
	info->chunks = si.chunks;
	info->uuid = (char *)ds_store_uuid(ds->store);
}

/* The store found a damaged replica (and quarantined it). */
static void on_bad(void *arg, uint64_t chunk_id, uint64_t version,
		   const char *reason)
{
	struct ds *ds = arg;

	atomic_fetch_add(&ds->bad_blocks, 1);
	gn_metric_inc(ds->m.bad_blocks);
	ds_mdslink_report_bad(ds->link, chunk_id, version, reason);
}

static void collect(void *arg)
{
	struct ds *ds = arg;
	struct ds_store_info si;

	if (ds_store_info(ds->store, &si))
		return;
	gn_metric_set(ds->m.chunks, (double)si.chunks);
	gn_metric_set(ds->m.capacity, (double)si.capacity_bytes);
	gn_metric_set(ds->m.free, (double)si.free_bytes);
	gn_metric_set(ds->m.stored, (double)si.stored_bytes);
}

static void metrics_register(struct ds *ds)
{
	ds->m.read_bytes = gn_metric_counter("gannet_ds_read_bytes_total",
					     "chunk bytes sent to readers", NULL);
	ds->m.written_bytes = gn_metric_counter("gannet_ds_written_bytes_total",
						"chunk bytes received and stored", NULL);
	ds->m.err_cksum = gn_metric_counter("gannet_ds_errors_total",
					    "failed chunk operations", "kind=checksum");
	ds->m.err_io = gn_metric_counter("gannet_ds_errors_total",
					 "failed chunk operations", "kind=io");
	ds->m.err_enospc = gn_metric_counter("gannet_ds_errors_total",
					     "failed chunk operations", "kind=enospc");
	ds->m.scrubbed_blocks = gn_metric_counter("gannet_ds_scrubbed_blocks_total",
						  "blocks re-verified by the scrubber", NULL);
	ds->m.bad_blocks = gn_metric_counter("gannet_ds_bad_blocks_total",
					     "damaged replicas found", NULL);
	ds->m.chunks = gn_metric_gauge("gannet_ds_chunks", "chunk versions stored", NULL);
	ds->m.capacity = gn_metric_gauge("gannet_ds_capacity_bytes",
					 "size of the storage file system", NULL);
	ds->m.free = gn_metric_gauge("gannet_ds_free_bytes",
				     "free bytes usable for chunks (after the reserve)", NULL);
	ds->m.stored = gn_metric_gauge("gannet_ds_stored_bytes",
				       "bytes of chunk files on disk", NULL);
}

/* ------------------------------------------------------------------ */
/* Start-up                                                           */
/* ------------------------------------------------------------------ */

static int write_port_file(const char *path, int port)
{
	char tmp[4200], buf[16];
	int fd, len, ok;

	snprintf(tmp, sizeof(tmp), "%s.tmp.%d", path, (int)getpid());
	len = snprintf(buf, sizeof(buf), "%d\n", port);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	ok = write(fd, buf, (size_t)len) == len;
	close(fd);
	/* Renamed into place so that a reader never sees half a number. */
	if (!ok || rename(tmp, path)) {
		unlink(tmp);
		return -EIO;
	}
	return 0;
}

static bool wildcard_host(const char *h)
{
	return !*h || !strcmp(h, "0.0.0.0") || !strcmp(h, "::") || !strcmp(h, "[::]");
}

/* Bind the RPC service; the default port moves on to the next free one so
 * that several data servers on one host need no configuration. */
static int serve(struct ds *ds, const char *host, int port)
{
	int tries = port == DEFAULT_PORT ? PORT_TRIES : 1;
	int ret = -EINVAL;

	for (int i = 0; i < tries; i++) {
		struct gn_rpc_server_opts so = { .workers = ds->o.workers };
		char listen[300];
		int bound = 0;

		snprintf(listen, sizeof(listen), "%s:%d", host, port + i);
		so.listen = listen;
		ret = gn_rpc_server_new(&so, &ds->srv);
		if (ret)
			return ret;
		ret = gn_rpc_server_add(ds->srv, ds_rpc_methods, ds_rpc_nmethods, ds);
		if (!ret)
			ret = gn_rpc_server_add_diag(ds->srv, "ds");
		if (!ret)
			ret = gn_rpc_server_start(ds->srv, &bound);
		if (!ret) {
			ds->port = bound;
			return 0;
		}
		gn_rpc_server_free(ds->srv);
		ds->srv = NULL;
		if (ret != -EADDRINUSE)
			break;
	}
	log_err("cannot listen listen='%s' err='%s'", ds->o.listen, gn_strerror(ret));
	return ret;
}

static void copy_opts(struct ds_opts *d, const struct ds_opts *s)
{
	*d = *s;
	d->listen = xstrdup(s->listen);
	d->advertise = xstrdup(s->advertise ? s->advertise : "");
	d->data_dir = xstrdup(s->data_dir);
	d->mds = xstrdup(s->mds);
	d->port_file = s->port_file ? xstrdup(s->port_file) : NULL;
	if (d->workers < 1)
		d->workers = 16;
	if (d->heartbeat_ms < 100)
		d->heartbeat_ms = 2000;
}

static void free_opts(struct ds_opts *o)
{
	free((char *)o->listen);
	free((char *)o->advertise);
	free((char *)o->data_dir);
	free((char *)o->mds);
	free((char *)o->port_file);
}

static int set_advertise(struct ds *ds, const char *host)
{
	char name[256];

	if (*ds->o.advertise) {
		ds->advertise = xstrdup(ds->o.advertise);
		return 0;
	}
	if (!wildcard_host(host)) {
		ds->advertise = xasprintf("%s:%d", host, ds->port);
		return 0;
	}
	if (gethostname(name, sizeof(name)))
		return -errno;
	name[sizeof(name) - 1] = '\0';
	ds->advertise = xasprintf("%s:%d", name, ds->port);
	return 0;
}

static int start_metrics(struct ds *ds, const char *host)
{
	int port = ds->o.metrics_port, bound;

	/* The default follows the RPC port (9410 -> 9510, 9411 -> 9511). */
	if (port == DEFAULT_PORT + 100)
		port = ds->port + 100;
	gn_metrics_add_collector(collect, ds);
	bound = gn_metrics_start("gannet-ds", wildcard_host(host) ? NULL : host, port);
	if (bound < 0) {
		log_err("cannot serve metrics port=%d err='%s'", port, gn_strerror(bound));
		return bound;
	}
	log_info("metrics endpoint listening port=%d", bound);
	return 0;
}

int ds_start(const struct ds_opts *o, struct ds **out)
{
	struct ds *ds = xcalloc(1, sizeof(*ds));
	struct ds_store_opts so = { 0 };
	char host[256];
	int port, ret;

	copy_opts(&ds->o, o);
	pthread_mutex_init(&ds->peers_lock, NULL);
	metrics_register(ds);
	ret = gn_parse_hostport(ds->o.listen, host, sizeof(host), &port, DEFAULT_PORT);
	if (ret) {
		log_err("bad listen address listen='%s'", ds->o.listen);
		goto out;
	}
	so.dir = ds->o.data_dir;
	so.reserve = ds->o.reserve;
	so.zstd_level = ds->o.zstd_level;
	so.nbufs = (size_t)ds->o.workers * 2 + 8;
	so.on_bad = on_bad;
	so.on_bad_arg = ds;
	ret = ds_store_open(&so, &ds->store);
	if (ret) {
		log_err("cannot open store dir='%s' err='%s'", ds->o.data_dir,
			ret == -EBUSY ? "in use by another process" : gn_strerror(ret));
		goto out;
	}
	ret = gn_rpc_client_new(&ds->cli);
	if (ret)
		goto out;
	ret = serve(ds, host, port);
	if (ret)
		goto out;
	ret = set_advertise(ds, host);
	if (ret)
		goto out;
	if (ds->o.port_file && (ret = write_port_file(ds->o.port_file, ds->port))) {
		log_err("cannot write port file path='%s'", ds->o.port_file);
		goto out;
	}
	ret = ds_mdslink_start(ds, &ds->link);
	if (ret)
		goto out;
	if (ds->o.scrub_rate && (ret = ds_scrub_start(ds, ds->o.scrub_rate,
						   ds->o.scrub_interval_s, &ds->scrub)))
		goto out;
	if (ds->o.metrics_port && (ret = start_metrics(ds, host)))
		goto out;
	log_info("data server serving addr=%s port=%d dir='%s' mds=%s",
		 ds->advertise, ds->port, ds->o.data_dir, ds->o.mds);
out:
	if (ret) {
		ds_stop(ds);
		return ret;
	}
	*out = ds;
	return 0;
}

void ds_stop(struct ds *ds)
{
	if (!ds)
		return;
	/* Writes in flight finish (and reach the disk) before anything goes. */
	if (ds->srv)
		gn_rpc_server_shutdown(ds->srv, SHUTDOWN_GRACE_MS);
	gn_metrics_stop();
	ds_scrub_stop(ds->scrub);
	ds_mdslink_stop(ds->link);
	ds->link = NULL;
	gn_rpc_server_free(ds->srv);
	/* Forwards abandoned by their handler still hold a call (they end at
	 * their deadline at the latest); the client may go only after them. */
	for (int i = 0; i < 1000 && atomic_load(&ds->fwd_inflight) > 0; i++)
		usleep(10000);
	while (ds->peers) {
		struct ds_peer *p = ds->peers;

		ds->peers = p->next;
		gn_rpc_channel_free(p->ch);
		free(p->addr);
		free(p);
	}
	if (ds->cli)
		gn_rpc_client_free(ds->cli);
	ds_store_close(ds->store);
	pthread_mutex_destroy(&ds->peers_lock);
	free(ds->advertise);
	free_opts(&ds->o);
	free(ds);
}

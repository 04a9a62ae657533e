/*
 * rpc_chunk.c - the Ds service (proto/ds.proto): decode and validate, call
 * the chunk store, encode the reply.  Errors go back as negative errno
 * values (common/status.c maps them) with a detail naming what failed.
 *
 * WriteChunk replicates along a chain: the payload is verified and held in
 * a pooled buffer, forwarded asynchronously to the next replica (with the
 * rest of the chain) while this server writes and syncs its own copy, and
 * the call succeeds only when both have.  A failing replica is named in
 * the detail as "replica HOST:PORT: ..." so the client can ask the MDS for
 * another placement.
 */
#include "config.h"
#include "ds/ds.h"
#include "common/log.h"
#include "common/metrics.h"
#include "common/status.h"
#include "common/util.h"
#include "proto/ds.pb-c.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define DS_MAX_CHAIN 16
#define DS_ADDR_MAX 255
#define FWD_DEFAULT_MS 30000
#define LIST_MAX 65536

/* ------------------------------------------------------------------ */
/* WriteChunk                                                         */
/* ------------------------------------------------------------------ */

/*
 * A forward of a WriteChunk to the next replica.  Heap-allocated: when the
 * next hop does not answer by the forward's deadline (gRPC may complete a
 * call whose payload is stuck in flow control toward a hung peer well
 * after its deadline), the handler gives up on it, and the completion
 * callback frees it -- with the payload buffer it still references --
 * whenever it finally runs.
 */
struct fwd {
	struct ds *ds;
	pthread_mutex_t mu;
	pthread_cond_t cv;		/* CLOCK_MONOTONIC */
	bool done, abandoned;
	struct gn_rpc_result *res;
	struct ds_wbuf *w;		/* owned here once abandoned */
	int64_t deadline_ms;		/* gn_mono_ms() by which the hop must answer */
};

static struct fwd *fwd_new(struct ds *ds)
{
	struct fwd *f = xcalloc(1, sizeof(*f));
	pthread_condattr_t ca;

	f->ds = ds;
	pthread_mutex_init(&f->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&f->cv, &ca);
	pthread_condattr_destroy(&ca);
	return f;
}

static void fwd_free(struct fwd *f)
{
	if (!f)
		return;
	if (f->res) {
		gn_rpc_result_release(f->res);
		free(f->res);
	}
	ds_wbuf_free(f->w);
	pthread_mutex_destroy(&f->mu);
	pthread_cond_destroy(&f->cv);
	free(f);
}

static void fwd_done(struct gn_rpc_result *res, void *arg)
{
	struct fwd *f = arg;
	struct ds *ds = f->ds;

	pthread_mutex_lock(&f->mu);
	f->res = res;
	if (f->abandoned) {
		pthread_mutex_unlock(&f->mu);
		fwd_free(f);
	} else {
		f->done = true;
		pthread_cond_signal(&f->cv);
		pthread_mutex_unlock(&f->mu);
	}
	atomic_fetch_sub(&ds->fwd_inflight, 1);
}

/* Wait for the forward until gn_mono_ms() reaches until; false if it has
 * not completed by then. */
static bool fwd_wait(struct fwd *f, int64_t until)
{
	struct timespec ts = { .tv_sec = until / 1000, .tv_nsec = (until % 1000) * 1000000 };
	bool done;

	pthread_mutex_lock(&f->mu);
	while (!f->done && gn_mono_ms() < until)
		pthread_cond_timedwait(&f->cv, &f->mu, &ts);
	done = f->done;
	pthread_mutex_unlock(&f->mu);
	return done;
}

/* The time the next hop gets: most of what is left of ours, so that this
 * hop can still report the next one's failure before its caller gives up. */
static int fwd_timeout_ms(struct gn_rpc_call *call, const Gannet__ReqHeader *h)
{
	int ms = gn_rpc_call_remaining_ms(call);

	if (ms == INT32_MAX)
		ms = h && h->deadline_ms ? (int)GN_MIN(h->deadline_ms, INT32_MAX) : FWD_DEFAULT_MS;
	ms = ms - ms / 8 - 50;
	return ms < 50 ? 50 : ms;
}

/* The chain minus this server's own address; -EINVAL when malformed. */
static int chain_rest(struct ds *ds, const Gannet__WriteChunkRequest *rq,
		      const char **rest, size_t *n)
{
	*n = 0;
	if (rq->n_chain > DS_MAX_CHAIN)
		return -EINVAL;
	for (size_t i = 0; i < rq->n_chain; i++) {
		const char *a = rq->chain[i];
		size_t len = strlen(a);

		if (len == 0 || len > DS_ADDR_MAX || !strchr(a, ':'))
			return -EINVAL;
		if (!strcmp(a, ds->advertise))
			continue;
		rest[(*n)++] = a;
	}
	return 0;
}

static int fwd_start(struct ds *ds, struct gn_rpc_call *call,
		     const Gannet__WriteChunkRequest *rq, struct ds_wbuf *w,
		     const char **rest, size_t nrest, struct fwd *f)
{
	Gannet__WriteChunkRequest out = *rq;
	Gannet__ReqHeader h = GANNET__REQ_HEADER__INIT;
	struct gn_rpc_callopts opts = { 0 };
	struct gn_rpc_channel *ch;
	const void *payload;
	size_t len;
	int ret;

	if (rq->h)
		h = *rq->h;
	/* Fixed at the first attempt: a retry gets only what is left. */
	if (!f->deadline_ms)
		f->deadline_ms = gn_mono_ms() + fwd_timeout_ms(call, rq->h);
	opts.timeout_ms = (int)GN_MAX(f->deadline_ms - gn_mono_ms(), 1);
	h.deadline_ms = (uint32_t)opts.timeout_ms;
	out.h = &h;
	out.chain = (char **)(rest + 1);
	out.n_chain = nrest - 1;
	out.data.data = NULL;
	out.data.len = 0;
	ret = ds_peer_channel(ds, rest[0], &ch);
	if (ret)
		return ret;
	payload = ds_wbuf_payload(w, &len);
	atomic_fetch_add(&ds->fwd_inflight, 1);
	ret = gn_rpc_call_async(ch, "/gannet.Ds/WriteChunk", &out.base,
				payload, len, &gannet__write_chunk_reply__descriptor,
				&opts, fwd_done, f);
	if (ret)
		atomic_fetch_sub(&ds->fwd_inflight, 1);
	return ret;
}

/*
 * Wait for the forward.  A replica that could not be reached at all
 * (UNAVAILABLE: not connected yet, or a busy peer slow to set up the
 * connection) is tried again while there is time: rewriting the same
 * version is idempotent.  The retries are ours, not the RPC layer's, so
 * that all attempts together stay within the forward's deadline (fixed at
 * the first attempt), leaving this hop time to report the failure.  When
 * no answer comes by then (plus a little), f is abandoned and takes over
 * *w.  Returns the forward's errno with its detail in detail.
 */
static int fwd_finish(struct ds *ds, struct gn_rpc_call *call,
		      const Gannet__WriteChunkRequest *rq, struct ds_wbuf **w,
		      const char **rest, size_t nrest, struct fwd *f,
		      char *detail, size_t detail_len)
{
	for (int attempt = 1; ; attempt++) {
		if (!fwd_wait(f, f->deadline_ms + 200)) {
			pthread_mutex_lock(&f->mu);
			if (!f->done) {
				f->abandoned = true;
				f->w = *w;
				*w = NULL;
			}
			pthread_mutex_unlock(&f->mu);
			if (!*w) {
				snprintf(detail, detail_len, "no answer in time");
				return -ETIMEDOUT;
			}
		}
		snprintf(detail, detail_len, "%s", f->res->detail);
		if (f->res->status != GN_STATUS_UNAVAILABLE || attempt == 3 ||
		    f->deadline_ms - gn_mono_ms() < 300 + 50 * attempt)
			return f->res->err ? f->res->err : 0;
		usleep(50000 * attempt);
		gn_rpc_result_release(f->res);
		free(f->res);
		f->res = NULL;
		f->done = false;
		if (fwd_start(ds, call, rq, *w, rest, nrest, f))
			return -EHOSTUNREACH;
	}
}

static int local_error(struct ds *ds, struct gn_rpc_call *call,
		       const Gannet__WriteChunkRequest *rq, size_t len, int ret)
{
	switch (ret) {
	case -GN_ERR_CKSUM:
		gn_metric_inc(ds->m.err_cksum);
		gn_rpc_call_set_error(call, "payload of chunk %016" PRIx64
				      " does not match its checksums", rq->chunk_id);
		break;
	case -GN_ERR_STALE_VERSION:
		gn_rpc_call_set_error(call, "chunk %016" PRIx64 " version %" PRIu64
				      " is older than a stored version",
				      rq->chunk_id, rq->version);
		break;
	case -ENOENT:
		gn_rpc_call_set_error(call, "base version %" PRIu64 " of chunk %016"
				      PRIx64 " is not on this server",
				      rq->base_version, rq->chunk_id);
		break;
	case -ENOSPC:
		gn_metric_inc(ds->m.err_enospc);
		gn_rpc_call_set_error(call, "no space left on data server %s",
				      ds->advertise);
		break;
	case -EINVAL:
	case -EFBIG:
		gn_rpc_call_set_error(call, "bad write of chunk %016" PRIx64
				      ": offset=%u length=%zu chunk_length=%u"
				      " cksums=%zu extents=%zu", rq->chunk_id, rq->offset,
				      len, rq->chunk_length, rq->n_cksums,
				      rq->n_extents / 2);
		break;
	default:
		gn_metric_inc(ds->m.err_io);
		log_err("cannot store chunk %016" PRIx64 " version %" PRIu64 ": %s",
			rq->chunk_id, rq->version, gn_strerror(ret));
		break;
	}
	return ret;
}

/* Pass a chain failure on, naming the replica that failed (the detail of
 * a failure further down the chain already names its replica). */
static int chain_error(struct gn_rpc_call *call, const Gannet__WriteChunkRequest *rq,
		       const char *addr, int err, const char *detail,
		       int64_t start_ns)
{
	if (!err)
		err = -EIO;
	if (!strncmp(detail, "replica ", 8))
		gn_rpc_call_set_error(call, "%s", detail);
	else
		gn_rpc_call_set_error(call, "replica %s: %s", addr,
				      detail[0] ? detail : gn_strerror(err));
	log_warn("chain replication failed chunk=%016" PRIx64 " version=%" PRIu64
		 " next=%s err='%s' after_ms=%" PRId64 " left_ms=%d",
		 rq->chunk_id, rq->version, addr, gn_strerror(err),
		 (gn_mono_ns() - start_ns) / 1000000, gn_rpc_call_remaining_ms(call));
	return err;
}

int ds_rpc_write_chunk(void *svc, struct gn_rpc_call *call,
		       const ProtobufCMessage *req, const struct gn_bulk *data)
{
	struct ds *ds = svc;
	const Gannet__WriteChunkRequest *rq = (const Gannet__WriteChunkRequest *)req;
	Gannet__WriteChunkReply rep = GANNET__WRITE_CHUNK_REPLY__INIT;
	struct ds_write_req wr = {
		.chunk_id = rq->chunk_id, .version = rq->version,
		.base_version = rq->base_version, .base_length = rq->base_length,
		.offset = rq->offset, .chunk_length = rq->chunk_length,
		.cksums = rq->cksums, .ncksums = rq->n_cksums,
		.extents = rq->extents, .nextents = rq->n_extents / 2,
		.compression = (enum ds_compression)rq->compression,
	};
	const char *rest[DS_MAX_CHAIN];
	struct ds_chunk_stat st;
	struct ds_wbuf *w = NULL;
	struct fwd *f = NULL;
	char detail[256] = "";
	int64_t t0, t1, t2;
	size_t nrest;
	int ret, fret = 0;

	if (chain_rest(ds, rq, rest, &nrest)) {
		gn_rpc_call_set_error(call, "malformed replica chain");
		return -EINVAL;
	}
	if (rq->n_extents % 2) {
		gn_rpc_call_set_error(call, "extents of chunk %016" PRIx64
				      " are not (offset, length) pairs", rq->chunk_id);
		return -EINVAL;
	}
	if (atomic_load(&ds->draining) && !ds_store_has_chunk(ds->store, rq->chunk_id)) {
		gn_rpc_call_set_error(call, "data server %s is draining: no new chunks",
				      ds->advertise);
		return -EROFS;
	}
	t0 = gn_mono_ns();
	ret = ds_store_prepare(ds->store, &wr, NULL, data, data->len, &w);
	if (ret)
		return local_error(ds, call, rq, data->len, ret);
	/* The next hop receives while this one writes. */
	if (nrest) {
		f = fwd_new(ds);
		fret = fwd_start(ds, call, rq, w, rest, nrest, f);
	}
	t1 = gn_mono_ns();
	ret = ds_store_commit(ds->store, w, &st);
	t2 = gn_mono_ns();
	if (f && !fret)
		fret = fwd_finish(ds, call, rq, &w, rest, nrest, f, detail, sizeof(detail));
	log_debug("write chunk=%016" PRIx64 " version=%" PRIu64 " bytes=%zu"
		  " prepare_us=%" PRId64 " commit_us=%" PRId64 " chain_wait_us=%" PRId64,
		  rq->chunk_id, rq->version, data->len, (t1 - t0) / 1000,
		  (t2 - t1) / 1000, (gn_mono_ns() - t2) / 1000);
	if (ret) {
		ret = local_error(ds, call, rq, data->len, ret);
	} else if (fret) {
		ret = chain_error(call, rq, rest[0], fret, detail, t0);
	} else {
		gn_metric_add(ds->m.written_bytes, data->len);
		rep.digest = st.digest;
		rep.length = st.length;
		ret = gn_rpc_reply(call, &rep.base);
	}
	/* An abandoned forward (w moved into it) frees itself when it ends. */
	if (f && w)
		fwd_free(f);
	ds_wbuf_free(w);
	return ret;
}

/* ------------------------------------------------------------------ */
/* ReadChunk                                                          */
/* ------------------------------------------------------------------ */

static void read_release(void *ctx)
{
	ds_read_free(ctx);
}

int ds_rpc_read_chunk(void *svc, struct gn_rpc_call *call,
		      const ProtobufCMessage *req, const struct gn_bulk *data)
{
	struct ds *ds = svc;
	const Gannet__ReadChunkRequest *rq = (const Gannet__ReadChunkRequest *)req;
	Gannet__ReadChunkReply rep = GANNET__READ_CHUNK_REPLY__INIT;
	struct ds_read *r;
	int ret;

	ret = ds_store_read(ds->store, rq->chunk_id, rq->version, rq->offset,
			    rq->length, &r);
	switch (ret) {
	case 0:
		break;
	case -ENOENT:
		gn_rpc_call_set_error(call, "chunk %016" PRIx64 " version %" PRIu64
				      " is not on this server", rq->chunk_id, rq->version);
		return ret;
	case -EINVAL:
	case -EFBIG:
		gn_rpc_call_set_error(call, "bad read range offset=%u length=%u",
				      rq->offset, rq->length);
		return ret;
	case -GN_ERR_CKSUM:
		gn_metric_inc(ds->m.err_cksum);
		gn_rpc_call_set_error(call, "chunk %016" PRIx64 " version %" PRIu64
				      " is damaged on %s", rq->chunk_id, rq->version,
				      ds->advertise);
		return ret;
	default:
		gn_metric_inc(ds->m.err_io);
		log_err("cannot read chunk %016" PRIx64 " version %" PRIu64 ": %s",
			rq->chunk_id, rq->version, gn_strerror(ret));
		return ret;
	}
	rep.offset = r->offset;
	rep.chunk_length = r->chunk_length;
	rep.n_cksums = r->ncksums;
	rep.cksums = r->cksums;
	rep.compression = (Gannet__Compression)r->compression;
	gn_metric_add(ds->m.read_bytes, r->len);
	/* r (and its pooled buffer) goes back when gRPC is done sending. */
	return gn_rpc_reply_bulk(call, &rep.base, r->data, r->len, read_release, r);
}

/* ------------------------------------------------------------------ */
/* DeleteChunk, ReplicateChunk, ListChunks, Stat                      */
/* ------------------------------------------------------------------ */

int ds_rpc_delete_chunk(void *svc, struct gn_rpc_call *call,
			const ProtobufCMessage *req, const struct gn_bulk *data)
{
	struct ds *ds = svc;
	const Gannet__DeleteChunkRequest *rq = (const Gannet__DeleteChunkRequest *)req;
	Gannet__DeleteChunkReply rep = GANNET__DELETE_CHUNK_REPLY__INIT;
	int ret;

	if (rq->chunk_id == 0) {
		gn_rpc_call_set_error(call, "chunk id 0");
		return -EINVAL;
	}
	ret = ds_store_delete(ds->store, rq->chunk_id, rq->version);
	if (ret == -ENOENT)
		gn_rpc_call_set_error(call, "chunk %016" PRIx64 " version %" PRIu64
				      " is not on this server", rq->chunk_id, rq->version);
	if (ret)
		return ret;
	return gn_rpc_reply(call, &rep.base);
}

int ds_rpc_replicate_chunk(void *svc, struct gn_rpc_call *call,
			   const ProtobufCMessage *req, const struct gn_bulk *data)
{
	struct ds *ds = svc;
	const Gannet__ReplicateChunkRequest *rq = (const Gannet__ReplicateChunkRequest *)req;
	Gannet__ReplicateChunkReply rep = GANNET__REPLICATE_CHUNK_REPLY__INIT;
	struct ds_chunk_stat st;
	char detail[256];
	size_t slen = strlen(rq->source);
	int ret;

	if (rq->chunk_id == 0 || rq->version == 0 || slen == 0 ||
	    slen > DS_ADDR_MAX || !strchr(rq->source, ':') ||
	    !strcmp(rq->source, ds->advertise)) {
		gn_rpc_call_set_error(call, "bad replicate request");
		return -EINVAL;
	}
	ret = ds_replicate(ds, rq->chunk_id, rq->version, rq->source, &st,
			   detail, sizeof(detail));
	if (ret) {
		gn_rpc_call_set_error(call, "%s", detail);
		return ret;
	}
	rep.length = st.length;
	rep.digest = st.digest;
	return gn_rpc_reply(call, &rep.base);
}

int ds_rpc_list_chunks(void *svc, struct gn_rpc_call *call,
		       const ProtobufCMessage *req, const struct gn_bulk *data)
{
	struct ds *ds = svc;
	const Gannet__ListChunksRequest *rq = (const Gannet__ListChunksRequest *)req;
	Gannet__ListChunksReply rep = GANNET__LIST_CHUNKS_REPLY__INIT;
	struct ds_chunk_stat *v = NULL;
	Gannet__ChunkStat *cs = NULL;
	Gannet__ChunkStat **pcs = NULL;
	size_t n = 0;
	bool eof;
	int ret;

	if (rq->max < 1 || rq->max > LIST_MAX) {
		gn_rpc_call_set_error(call, "max must be 1..%d", LIST_MAX);
		return -EINVAL;
	}
	v = xmalloc(rq->max * sizeof(*v));
	ret = ds_store_list(ds->store, rq->after_chunk_id, rq->after_version,
			    rq->max, v, &n, &eof);
	if (ret)
		goto out;
	cs = xcalloc(n + 1, sizeof(*cs));
	pcs = xcalloc(n + 1, sizeof(*pcs));
	for (size_t i = 0; i < n; i++) {
		gannet__chunk_stat__init(&cs[i]);
		cs[i].chunk_id = v[i].chunk_id;
		cs[i].version = v[i].version;
		cs[i].length = v[i].length;
		cs[i].digest = v[i].digest;
		cs[i].stored_bytes = v[i].stored_bytes;
		pcs[i] = &cs[i];
	}
	rep.n_chunks = n;
	rep.chunks = pcs;
	rep.eof = eof;
	ret = gn_rpc_reply(call, &rep.base);
out:
	free(pcs);
	free(cs);
	free(v);
	return ret;
}

int ds_rpc_stat(void *svc, struct gn_rpc_call *call,
		const ProtobufCMessage *req, const struct gn_bulk *data)
{
	struct ds *ds = svc;
	Gannet__DsStatReply rep = GANNET__DS_STAT_REPLY__INIT;
	Gannet__DsInfo info = GANNET__DS_INFO__INIT;

	ds_fill_info(ds, &info);
	rep.info = &info;
	rep.scrubbed_blocks = atomic_load(&ds->scrubbed_blocks);
	rep.bad_blocks = atomic_load(&ds->bad_blocks);
	return gn_rpc_reply(call, &rep.base);
}

/*
 * replicate.c - copy a version from a peer data server: one ReadChunk of
 * the whole version, every block checked against the checksums the peer
 * sent (a damaged source is never copied), then stored like a client
 * write.  Used by ReplicateChunk and by the MDS's replicate orders.
 */
#include "config.h"
#include "ds/ds.h"
#include "common/log.h"
#include "common/status.h"
#include "common/util.h"
#include "proto/ds.pb-c.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#define REPLICATE_TIMEOUT_MS 10000

int ds_replicate(struct ds *ds, uint64_t chunk_id, uint64_t version,
		 const char *source, struct ds_chunk_stat *stat,
		 char *detail, size_t detail_len)
{
	Gannet__ReadChunkRequest rq = GANNET__READ_CHUNK_REQUEST__INIT;
	struct gn_rpc_callopts opts = { .timeout_ms = REPLICATE_TIMEOUT_MS, .retries = 2 };
	struct gn_rpc_result res = { 0 };
	const Gannet__ReadChunkReply *rep;
	struct ds_write_req wr = { 0 };
	struct gn_rpc_channel *ch;
	struct ds_wbuf *w = NULL;
	struct ds_chunk_stat s;
	char scratch[8];
	int ret;

	if (!detail) {
		detail = scratch;
		detail_len = sizeof(scratch);
	}
	detail[0] = '\0';
	/* Already here and intact: nothing to copy. */
	if (ds_store_stat_chunk(ds->store, chunk_id, version, &s) == 0 &&
	    ds_store_verify(ds->store, chunk_id, version, NULL) == 0) {
		if (stat)
			*stat = s;
		return 0;
	}
	ret = ds_peer_channel(ds, source, &ch);
	if (ret) {
		snprintf(detail, detail_len, "bad source address '%s'", source);
		return ret;
	}
	rq.chunk_id = chunk_id;
	rq.version = version;
	ret = gn_rpc_call(ch, "/gannet.Ds/ReadChunk", &rq.base, NULL, 0,
			  &gannet__read_chunk_reply__descriptor, &opts, &res);
	if (ret) {
		snprintf(detail, detail_len, "cannot read chunk %016" PRIx64
			 " version %" PRIu64 " from %s: %s", chunk_id, version,
			 source, res.detail[0] ? res.detail : gn_strerror(ret));
		goto out;
	}
	rep = (const Gannet__ReadChunkReply *)res.reply;
	if (rep->offset != 0 || rep->chunk_length > GN_CHUNK_SIZE ||
	    res.data.len != rep->chunk_length ||
	    rep->n_cksums != gn_cksum_count(rep->chunk_length) ||
	    (rep->compression != GANNET__COMPRESSION__COMPRESSION_NONE &&
	     rep->compression != GANNET__COMPRESSION__COMPRESSION_ZSTD)) {
		snprintf(detail, detail_len, "malformed ReadChunk reply from %s", source);
		ret = -EPROTO;
		goto out;
	}
	wr.chunk_id = chunk_id;
	wr.version = version;
	wr.chunk_length = rep->chunk_length;
	wr.cksums = rep->cksums;
	wr.ncksums = rep->n_cksums;
	wr.compression = (enum ds_compression)rep->compression;
	wr.copy = true;
	ret = ds_store_prepare(ds->store, &wr, NULL, &res.data, res.data.len, &w);
	if (!ret)
		ret = ds_store_commit(ds->store, w, stat);
	if (ret == -GN_ERR_CKSUM)
		snprintf(detail, detail_len, "data of chunk %016" PRIx64 " from %s"
			 " does not match its checksums", chunk_id, source);
	else if (ret)
		snprintf(detail, detail_len, "cannot store chunk %016" PRIx64
			 " version %" PRIu64 ": %s", chunk_id, version, gn_strerror(ret));
out:
	ds_wbuf_free(w);
	gn_rpc_result_release(&res);
	if (ret)
		log_warn("replication failed chunk=%016" PRIx64 " version=%" PRIu64
			 " source=%s err='%s'", chunk_id, version, source, detail);
	else
		log_debug("replicated chunk=%016" PRIx64 " version=%" PRIu64
			  " source=%s", chunk_id, version, source);
	return ret;
}

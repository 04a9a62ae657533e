/* dsc.c - the client's stubs of the Ds service (proto/ds.proto); see io.h */
#include "config.h"
#include "fs/io.h"
#include "common/cksum.h"
#include "common/log.h"
#include "common/status.h"
#include "common/util.h"
#include "proto/ds.pb-c.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static void fill_header(struct fs_session *s, Gannet__ReqHeader *h, int timeout)
{
	pthread_mutex_lock(&s->lock);
	h->request_id = ++s->next_req_id;
	h->session_id = s->session_id;
	pthread_mutex_unlock(&s->lock);
	h->deadline_ms = (uint32_t)timeout;
}

/* The ReadChunk request both read stubs send; req points into h. */
static void read_req(struct fs_session *s, Gannet__ReadChunkRequest *req,
		     Gannet__ReqHeader *h, struct gn_rpc_callopts *o,
		     uint64_t chunk_id, uint64_t version, uint32_t off,
		     uint32_t len)
{
	o->timeout_ms = (int)s->conf->timeout_ms;
	fill_header(s, h, o->timeout_ms);
	req->h = h;
	req->chunk_id = chunk_id;
	req->version = version;
	req->offset = off;
	req->length = len;
}

int dsc_read(struct fs_session *s, struct gn_rpc_channel *ch,
	     uint64_t chunk_id, uint64_t version, uint32_t off, uint32_t len,
	     struct gn_rpc_result *res)
{
	Gannet__ReadChunkRequest req = GANNET__READ_CHUNK_REQUEST__INIT;
	Gannet__ReqHeader h = GANNET__REQ_HEADER__INIT;
	struct gn_rpc_callopts o = { 0 };

	read_req(s, &req, &h, &o, chunk_id, version, off, len);
	return gn_rpc_call(ch, "/gannet.Ds/ReadChunk", &req.base, NULL, 0,
			   &gannet__read_chunk_reply__descriptor, &o, res);
}

int dsc_read_async(struct fs_session *s, struct gn_rpc_channel *ch,
		   uint64_t chunk_id, uint64_t version, uint32_t off,
		   uint32_t len, gn_rpc_done_fn done, void *arg)
{
	Gannet__ReadChunkRequest req = GANNET__READ_CHUNK_REQUEST__INIT;
	Gannet__ReqHeader h = GANNET__REQ_HEADER__INIT;
	struct gn_rpc_callopts o = { 0 };

	/* The request is packed before gn_rpc_call_async returns. */
	read_req(s, &req, &h, &o, chunk_id, version, off, len);
	return gn_rpc_call_async(ch, "/gannet.Ds/ReadChunk", &req.base, NULL, 0,
				 &gannet__read_chunk_reply__descriptor, &o,
				 done, arg);
}

int dsc_write(struct fs_session *s, struct gn_rpc_channel *ch,
	      const struct fs_chunk *c, uint64_t base_version,
	      uint32_t base_length, uint32_t off, uint32_t chunk_length,
	      const char *data, uint32_t len, const char *const *chain,
	      size_t nchain, uint32_t *length, uint64_t *digest)
{
	Gannet__WriteChunkRequest req = GANNET__WRITE_CHUNK_REQUEST__INIT;
	Gannet__ReqHeader h = GANNET__REQ_HEADER__INIT;
	struct gn_rpc_callopts o = { 0 };
	struct gn_rpc_result res;
	uint64_t cks[GN_BLOCKS_PER_CHUNK];
	int ret;

	/* Every hop of the chain stores before answering: give the whole
	 * chain the deadline, one timeout per replica. */
	o.timeout_ms = (int)(s->conf->timeout_ms * (int64_t)(1 + nchain));
	fill_header(s, &h, o.timeout_ms);
	req.h = &h;
	req.chunk_id = c->id;
	req.version = c->version;
	req.base_version = base_version;
	req.base_length = base_length;
	req.offset = off;
	req.chunk_length = chunk_length;
	req.n_cksums = gn_cksum_blocks(data, len, cks);
	req.cksums = cks;
	req.compression = c->compression;
	req.n_chain = nchain;
	req.chain = (char **)chain;
	ret = gn_rpc_call(ch, "/gannet.Ds/WriteChunk", &req.base, data, len,
			  &gannet__write_chunk_reply__descriptor, &o, &res);
	if (!ret) {
		Gannet__WriteChunkReply *r = (Gannet__WriteChunkReply *)res.reply;
		*length = r->length ? r->length : chunk_length;
		*digest = r->digest;
	} else if (res.detail[0]) {
		log_debug("write chunk failed id=%016llx v=%llu err='%s' detail='%s'",
			  (unsigned long long)c->id, (unsigned long long)c->version,
			  gn_strerror(ret), res.detail);
	}
	gn_rpc_result_release(&res);
	return ret;
}

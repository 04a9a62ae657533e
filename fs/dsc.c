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
	      uint32_t base_length, uint32_t chunk_length, const char *buf,
	      const struct fs_range *r, uint32_t nr, const char *const *chain,
	      size_t nchain, uint32_t *length, uint64_t *digest)
{
	Gannet__WriteChunkRequest req = GANNET__WRITE_CHUNK_REQUEST__INIT;
	Gannet__ReqHeader h = GANNET__REQ_HEADER__INIT;
	struct gn_rpc_callopts o = { 0 };
	struct gn_rpc_result res;
	uint64_t cks[GN_WRITE_EXTENTS_MAX + GN_BLOCKS_PER_CHUNK];
	uint32_t ext[2 * GN_WRITE_EXTENTS_MAX];
	const char *data = buf + (nr ? r[0].lo : 0);
	char *flat = NULL;
	size_t len = nr ? r[0].hi - r[0].lo : 0, nck = 0;
	int ret;

	if (nr > GN_WRITE_EXTENTS_MAX)
		return -EINVAL;
	if (nr > 1) {
		/* Several ranges travel back to back (one copy: the RPC sends
		 * one contiguous payload). */
		len = 0;
		for (uint32_t i = 0; i < nr; i++)
			len += r[i].hi - r[i].lo;
		data = flat = xmalloc(len);
		for (uint32_t i = 0, at = 0; i < nr; i++) {
			uint32_t l = r[i].hi - r[i].lo;

			memcpy(flat + at, buf + r[i].lo, l);
			nck += gn_cksum_blocks(flat + at, l, cks + nck);
			ext[2 * i] = r[i].lo;
			ext[2 * i + 1] = l;
			at += l;
		}
		req.n_extents = 2 * (size_t)nr;
		req.extents = ext;
	} else {
		nck = gn_cksum_blocks(data, len, cks);
	}
	/* Every hop of the chain stores before answering: give the whole
	 * chain the deadline, one timeout per replica. */
	o.timeout_ms = (int)(s->conf->timeout_ms * (int64_t)(1 + nchain));
	fill_header(s, &h, o.timeout_ms);
	req.h = &h;
	req.chunk_id = c->id;
	req.version = c->version;
	req.base_version = base_version;
	req.base_length = base_length;
	req.offset = nr ? r[0].lo : 0;
	req.chunk_length = chunk_length;
	req.n_cksums = nck;
	req.cksums = cks;
	req.compression = c->compression;
	req.n_chain = nchain;
	req.chain = (char **)chain;
	ret = gn_rpc_call(ch, "/gannet.Ds/WriteChunk", &req.base, data, len,
			  &gannet__write_chunk_reply__descriptor, &o, &res);
	if (!ret) {
		Gannet__WriteChunkReply *rep = (Gannet__WriteChunkReply *)res.reply;
		*length = rep->length ? rep->length : chunk_length;
		*digest = rep->digest;
	} else if (res.detail[0]) {
		log_debug("write chunk failed id=%016llx v=%llu err='%s' detail='%s'",
			  (unsigned long long)c->id, (unsigned long long)c->version,
			  gn_strerror(ret), res.detail);
	}
	gn_rpc_result_release(&res);
	free(flat);
	return ret;
}

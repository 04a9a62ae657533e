/* rpc_file.c - file and chunk handlers */
#include "config.h"
#include "mds/rpc_mds.h"
#include "common/cksum.h"
#include "common/log.h"
#include "common/util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define GET_CRED(h, c) do { \
		int ret_ = mds_rpc_begin(svc, (h), &(c)); \
		if (ret_) \
			return ret_; \
	} while (0)

/* Chunk list + servers of a reply, built from mds_chunk. */
struct chunk_list {
	Gannet__ChunkInfo *ci, **cp;
	uint32_t (*reps)[DB_MAX_REPLICAS];
	Gannet__DsInfo **servers;
	size_t n, nservers;
};

static void chunk_list_build(struct mds *m, const struct mds_chunk *c, size_t n,
			     struct chunk_list *l)
{
	l->n = n;
	l->ci = xcalloc(n + 1, sizeof(*l->ci));
	l->cp = xcalloc(n + 1, sizeof(*l->cp));
	l->reps = xcalloc(n + 1, sizeof(*l->reps));
	for (size_t i = 0; i < n; i++) {
		mds_rpc_chunk(&c[i], &l->ci[i], l->reps[i]);
		l->cp[i] = &l->ci[i];
	}
	l->nservers = mds_rpc_servers(m, c, n, &l->servers);
}

static void chunk_list_release(struct chunk_list *l)
{
	free(l->ci);
	free(l->cp);
	free(l->reps);
	mds_rpc_servers_free(l->servers, l->nservers);
}

static int reply_open(struct mds *m, struct gn_rpc_call *call, uint64_t session,
		      const struct mds_open *o)
{
	Gannet__OpenReply r = GANNET__OPEN_REPLY__INIT;
	Gannet__Policy pol = GANNET__POLICY__INIT;
	struct chunk_list l;
	Gannet__Attr a;
	int ret;

	mds_rpc_attr(&o->attr, &a);
	chunk_list_build(m, o->chunks, o->nchunks, &l);
	r.attr = &a;
	r.handle = o->handle;
	if (session && mds_session_known(m, session)) {
		mds_lease_grant(m, session, o->attr.ino, false);
		r.attr_lease_ms = (uint32_t)mds_lease_ms(m);
	}
	r.n_chunks = l.n;
	r.chunks = l.cp;
	r.n_servers = l.nservers;
	r.servers = l.servers;
	pol.replicas = o->replicas;
	pol.compression = o->compression ? GANNET__COMPRESSION__COMPRESSION_ZSTD :
					   GANNET__COMPRESSION__COMPRESSION_NONE;
	r.policy = &pol;
	ret = gn_rpc_reply(call, &r.base);
	chunk_list_release(&l);
	return ret;
}

MDS_RPC_HANDLER(open)
{
	const Gannet__OpenRequest *q = (const void *)req;
	struct mds_changes ch = { 0 };
	struct mds *m = svc;
	uint64_t session = mds_rpc_session(q->h);
	struct mds_open o = { 0 };
	struct mds_cred c;
	int ret;

	GET_CRED(q->h, c);
	ret = mds_ns_open(m, &c, session, q->ino, q->flags, &o, &ch);
	if (ret)
		return ret;
	mds_lease_recall(m, session, &ch);
	ret = reply_open(m, call, session, &o);
	mds_open_release(&o);
	return ret;
}

MDS_RPC_HANDLER(create)
{
	const Gannet__CreateRequest *q = (const void *)req;
	struct mds_changes ch = { 0 };
	struct mds *m = svc;
	uint64_t session = mds_rpc_session(q->h);
	struct mds_open o = { 0 };
	struct mds_cred c;
	char name[MDS_NAME_MAX + 1];
	int ret;

	GET_CRED(q->h, c);
	if ((ret = mds_rpc_name(&q->name, name)))
		return ret;
	ret = mds_ns_create(m, &c, session, q->parent, name, q->mode, q->umask,
			    q->flags, &o, &ch);
	if (ret)
		return ret;
	mds_lease_recall(m, session, &ch);
	ret = reply_open(m, call, session, &o);
	mds_open_release(&o);
	return ret;
}

MDS_RPC_HANDLER(getchunks)
{
	const Gannet__GetChunksRequest *q = (const void *)req;
	Gannet__GetChunksReply r = GANNET__GET_CHUNKS_REPLY__INIT;
	struct mds *m = svc;
	struct mds_chunk *cs = NULL;
	struct chunk_list l;
	struct mds_cred c;
	uint64_t size;
	size_t n;
	int ret;

	GET_CRED(q->h, c);
	ret = mds_ns_getchunks(m, &c, q->ino, q->first_index, q->count, &cs, &n, &size);
	if (ret)
		return ret;
	chunk_list_build(m, cs, n, &l);
	r.n_chunks = l.n;
	r.chunks = l.cp;
	r.n_servers = l.nservers;
	r.servers = l.servers;
	r.size = size;
	ret = gn_rpc_reply(call, &r.base);
	chunk_list_release(&l);
	free(cs);
	return ret;
}

MDS_RPC_HANDLER(allocate_chunks)
{
	const Gannet__AllocateChunksRequest *q = (const void *)req;
	Gannet__AllocateChunksReply r = GANNET__ALLOCATE_CHUNKS_REPLY__INIT;
	struct mds *m = svc;
	struct mds_chunk *cs = NULL;
	struct chunk_list l;
	struct mds_cred c;
	int ret;

	GET_CRED(q->h, c);
	if (q->n_pending && q->n_pending != 2 * q->n_indexes)
		return -EINVAL;
	ret = mds_ns_allocate(m, &c, mds_rpc_session(q->h), q->ino, q->handle,
			      q->indexes, q->n_pending ? q->pending : NULL,
			      q->n_indexes, &cs);
	if (ret)
		return ret;
	chunk_list_build(m, cs, q->n_indexes, &l);
	r.n_chunks = l.n;
	r.chunks = l.cp;
	r.n_servers = l.nservers;
	r.servers = l.servers;
	ret = gn_rpc_reply(call, &r.base);
	chunk_list_release(&l);
	free(cs);
	return ret;
}

MDS_RPC_HANDLER(commit_write)
{
	const Gannet__CommitWriteRequest *q = (const void *)req;
	struct mds_changes ch = { 0 };
	struct mds_commit cw = { 0 };
	struct mds *m = svc;
	struct mds_chunk *cs;
	struct mds_cred c;
	struct db_inode n;
	int ret;

	GET_CRED(q->h, c);
	if (q->n_chunks > MDS_MAX_COMMIT)
		return -EINVAL;
	cs = xcalloc(q->n_chunks + 1, sizeof(*cs));
	for (size_t i = 0; i < q->n_chunks; i++) {
		const Gannet__ChunkInfo *ci = q->chunks[i];
		if (ci->n_replicas > DB_MAX_REPLICAS || ci->length > GN_CHUNK_SIZE) {
			free(cs);
			return -EINVAL;
		}
		cs[i].index = ci->index;
		cs[i].c.chunk_id = ci->chunk_id;
		cs[i].c.version = ci->version;
		cs[i].c.length = ci->length;
		cs[i].c.digest = ci->digest;
		cs[i].c.compression = ci->compression == GANNET__COMPRESSION__COMPRESSION_ZSTD;
		cs[i].c.nreplicas = (uint32_t)ci->n_replicas;
		for (size_t r = 0; r < ci->n_replicas; r++)
			cs[i].c.replicas[r] = ci->replicas[r];
		cs[i].base_version = ci->base_version;
	}
	cw.chunks = cs;
	cw.n = q->n_chunks;
	cw.set_size = q->set_size;
	cw.size = q->size;
	cw.mtime = q->mtime_ns;
	ret = mds_ns_commit(m, &c, mds_rpc_session(q->h), q->ino, q->handle, &cw, &n, &ch);
	free(cs);
	if (ret)
		return ret;
	mds_lease_recall(m, mds_rpc_session(q->h), &ch);
	{
		Gannet__AttrReply r = GANNET__ATTR_REPLY__INIT;
		Gannet__Attr a;
		mds_rpc_attr(&n, &a);
		r.attr = &a;
		return gn_rpc_reply(call, &r.base);
	}
}

MDS_RPC_HANDLER(close)
{
	const Gannet__CloseRequest *q = (const void *)req;
	Gannet__CloseReply r = GANNET__CLOSE_REPLY__INIT;
	struct mds_cred c;
	uint64_t session;
	int ret, err;

	GET_CRED(q->h, c);
	if (q->n_more > MDS_CLOSE_BATCH_MAX)
		return -EINVAL;
	session = mds_rpc_session(q->h);
	ret = mds_ns_close(svc, session, q->ino, q->handle);
	for (size_t i = 0; i < q->n_more; i++) {
		err = mds_ns_close(svc, session, q->more[i]->ino, q->more[i]->handle);
		if (!ret)
			ret = err;
	}
	if (ret)
		return ret;
	return gn_rpc_reply(call, &r.base);
}

MDS_RPC_HANDLER(report_bad_chunk)
{
	const Gannet__ReportBadChunkRequest *q = (const void *)req;
	Gannet__ReportBadChunkReply r = GANNET__REPORT_BAD_CHUNK_REPLY__INIT;
	int ret;

	if (!q->chunk_id || !q->version)
		return -EINVAL;
	ret = mds_ns_report_bad(svc, q->chunk_id, q->version, q->ds_id);
	if (ret)
		return ret;
	return gn_rpc_reply(call, &r.base);
}

static int reply_policy(struct gn_rpc_call *call, uint32_t replicas, uint32_t comp)
{
	Gannet__PolicyReply r = GANNET__POLICY_REPLY__INIT;
	Gannet__Policy p = GANNET__POLICY__INIT;

	p.replicas = replicas;
	p.compression = comp ? GANNET__COMPRESSION__COMPRESSION_ZSTD :
			       GANNET__COMPRESSION__COMPRESSION_NONE;
	r.policy = &p;
	return gn_rpc_reply(call, &r.base);
}

MDS_RPC_HANDLER(get_policy)
{
	const Gannet__PolicyRequest *q = (const void *)req;
	struct mds_cred c;
	uint32_t rep, comp;
	int ret;

	GET_CRED(q->h, c);
	ret = mds_ns_getpolicy(svc, q->ino, &rep, &comp);
	if (ret)
		return ret;
	return reply_policy(call, rep, comp);
}

MDS_RPC_HANDLER(set_policy)
{
	const Gannet__PolicyRequest *q = (const void *)req;
	struct mds_cred c;
	uint32_t comp;
	int ret;

	GET_CRED(q->h, c);
	if (!q->policy)
		return -EINVAL;
	comp = (uint32_t)q->policy->compression;
	ret = mds_ns_setpolicy(svc, &c, q->ino, q->policy->replicas, comp);
	if (ret)
		return ret;
	return reply_policy(call, q->policy->replicas, comp);
}

/*
 * rpc_mds.h - private to mds/: the RPC handlers (mds_rpc_<op>) and the
 * helpers they share.  Handlers decode and validate, call mds_ns_* and
 * encode; they do no LMDB work.  Each runs on an RPC worker thread with
 * `svc` = the struct mds.
 */
#ifndef MDS_RPC_MDS_H
#define MDS_RPC_MDS_H

#include "common/rpc.h"
#include "mds/mds.h"
#include "mds.pb-c.h"

/* The method table (rpc_table.c). */
const struct gn_rpc_method *mds_rpc_methods(size_t *n);

/* Cred from a request header; -EINVAL for too many groups.  A missing
 * header or cred is "nobody". */
int mds_rpc_cred(const Gannet__ReqHeader *h, struct mds_cred *c);
/* mds_rpc_cred plus the session check every request gets: a session id
 * that is not 0 must be a live session, else -EUNATCH (the client opens a
 * new session with reclaim_session_id and retries). */
int mds_rpc_begin(struct mds *m, const Gannet__ReqHeader *h, struct mds_cred *c);
uint64_t mds_rpc_session(const Gannet__ReqHeader *h);
void mds_rpc_attr(const struct db_inode *n, Gannet__Attr *a);
/*
 * Names arrive as `bytes` (see mds.proto) so that a NUL inside one is seen,
 * not silently cut off.  These two turn such a field into the C string the
 * namespace layer takes, or refuse it; `out` is the caller's buffer and is
 * written only on success.
 *
 * mds_rpc_name: an entry name, checked with mds_check_name() ("." and ".."
 * pass here: the namespace layer knows where they may appear); `out` holds
 * MDS_NAME_MAX + 1 bytes.  0, -EINVAL, -ENAMETOOLONG.
 *
 * mds_rpc_text: any other text (symlink target, xattr name, subdir path):
 * -EINVAL if it holds a NUL byte, `too_long` if over `max` bytes; `out`
 * holds max + 1 bytes.  What the text must look like beyond that is the
 * namespace layer's to check.
 */
int mds_rpc_name(const ProtobufCBinaryData *b, char *out);
int mds_rpc_text(const ProtobufCBinaryData *b, size_t max, int too_long, char *out);
/* Fill ChunkInfo from an mds_chunk (replicas points into c). */
void mds_rpc_chunk(const struct mds_chunk *c, Gannet__ChunkInfo *ci,
		   uint32_t *replicas);
/* DsInfo of every server named in chunks; *out and its strings malloc'ed,
 * free with mds_rpc_servers_free. */
size_t mds_rpc_servers(struct mds *m, const struct mds_chunk *c, size_t n,
		       Gannet__DsInfo ***out);
/* The same for a list of server ids (duplicates and unknown ids skipped). */
size_t mds_rpc_servers_of(struct mds *m, const uint32_t *ids, size_t n,
			  Gannet__DsInfo ***out);
void mds_rpc_servers_free(Gannet__DsInfo **v, size_t n);
void mds_rpc_dsinfo(const struct mds_ds_info *d, Gannet__DsInfo *o);

#define MDS_RPC_HANDLER(name) \
	int mds_rpc_##name(void *svc, struct gn_rpc_call *call, \
			   const ProtobufCMessage *req, const struct gn_bulk *data)

MDS_RPC_HANDLER(session_open);
MDS_RPC_HANDLER(session_heartbeat);
MDS_RPC_HANDLER(session_close);
MDS_RPC_HANDLER(lookup);
MDS_RPC_HANDLER(getattr);
MDS_RPC_HANDLER(setattr);
MDS_RPC_HANDLER(mknod);
MDS_RPC_HANDLER(mkdir);
MDS_RPC_HANDLER(unlink);
MDS_RPC_HANDLER(rmdir);
MDS_RPC_HANDLER(rename);
MDS_RPC_HANDLER(link);
MDS_RPC_HANDLER(symlink);
MDS_RPC_HANDLER(readlink);
MDS_RPC_HANDLER(readdir);
MDS_RPC_HANDLER(setxattr);
MDS_RPC_HANDLER(getxattr);
MDS_RPC_HANDLER(listxattr);
MDS_RPC_HANDLER(removexattr);
MDS_RPC_HANDLER(statfs);
MDS_RPC_HANDLER(open);
MDS_RPC_HANDLER(create);
MDS_RPC_HANDLER(getchunks);
MDS_RPC_HANDLER(allocate_chunks);
MDS_RPC_HANDLER(commit_write);
MDS_RPC_HANDLER(close);
MDS_RPC_HANDLER(report_bad_chunk);
MDS_RPC_HANDLER(get_policy);
MDS_RPC_HANDLER(set_policy);
MDS_RPC_HANDLER(ds_register);
MDS_RPC_HANDLER(ds_heartbeat);
MDS_RPC_HANDLER(ds_replicated);
MDS_RPC_HANDLER(list_ds);
MDS_RPC_HANDLER(ds_admin);
MDS_RPC_HANDLER(list_sessions);
MDS_RPC_HANDLER(status);
MDS_RPC_HANDLER(list_degraded);

#endif

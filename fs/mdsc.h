/*
 * mdsc.h - the client's stubs of the Mds service (proto/mds.proto).
 *
 * Every stub fills the request header (session id, caller credentials,
 * deadline), gives each attempt a deadline of [client] timeout_ms, and
 * retries until op_timeout_ms while the MDS is unreachable (and, for
 * idempotent calls, when an attempt timed out).  When the MDS no longer
 * knows our session (it restarted), the session is re-opened and the call
 * retried.  Returns 0 or a negative errno; -ETIMEDOUT when the MDS stayed
 * unreachable for op_timeout_ms.  Blocking; any thread.
 *
 * Stubs that return a whole reply hand it in a struct gn_rpc_result the
 * caller releases (gn_rpc_result_release) on success; on failure nothing
 * is held.
 */
#ifndef GN_FS_MDSC_H
#define GN_FS_MDSC_H

#include "fs/fs_i.h"
#include "common/rpc.h"
#include "proto/common.pb-c.h"
#include "proto/mds.pb-c.h"

/* An attribute reply in local form.  st.st_ino is the MDS inode. */
struct fs_attr {
	struct stat st;
	uint64_t generation;
	uint32_t attr_lease_ms;
	uint32_t entry_lease_ms;
};

enum mdsc_flags {
	MDSC_IDEMPOTENT = 1 << 0,	/* retry attempts that timed out */
	MDSC_NO_SESSION = 1 << 1,	/* do not re-open a lost session */
};

/* The generic call: req's header pointer is set (to storage valid during
 * the call) and reply decoded into res.  Exposed for stubs and tests. */
int mdsc_call(struct fs_session *s, const struct fs_cred *cred,
	      const char *method, ProtobufCMessage *req,
	      Gannet__ReqHeader **hslot,
	      const ProtobufCMessageDescriptor *reply_desc, unsigned flags,
	      int timeout_ms, struct gn_rpc_result *res);

/* Wire attributes into a struct stat (validates the type bits). */
int fs_attr_from_pb(const Gannet__Attr *a, struct fs_attr *out);

/* hint: NULL, or where chunk 0 of a small file goes (version 0: none;
 * see fs_io_open_hint). */
int mdsc_lookup(struct fs_session *s, const struct fs_cred *c, uint64_t parent,
		const char *name, struct fs_attr *out, struct fs_chunk *hint);
int mdsc_getattr(struct fs_session *s, const struct fs_cred *c, uint64_t ino,
		 struct fs_attr *out);
/* valid: OR of GANNET__SET_ATTR_REQUEST__VALID__*; times from st. */
int mdsc_setattr(struct fs_session *s, const struct fs_cred *c, uint64_t ino,
		 uint32_t valid, const struct stat *st, uint64_t handle,
		 struct fs_attr *out);
int mdsc_mknod(struct fs_session *s, const struct fs_cred *c, uint64_t parent,
	       const char *name, uint32_t mode, uint64_t rdev, uint32_t umask,
	       struct fs_attr *out);
int mdsc_mkdir(struct fs_session *s, const struct fs_cred *c, uint64_t parent,
	       const char *name, uint32_t mode, uint32_t umask,
	       struct fs_attr *out);
int mdsc_unlink(struct fs_session *s, const struct fs_cred *c, uint64_t parent,
		const char *name);
int mdsc_rmdir(struct fs_session *s, const struct fs_cred *c, uint64_t parent,
	       const char *name);
int mdsc_rename(struct fs_session *s, const struct fs_cred *c, uint64_t parent,
		const char *name, uint64_t newparent, const char *newname,
		uint32_t flags);
int mdsc_link(struct fs_session *s, const struct fs_cred *c, uint64_t ino,
	      uint64_t newparent, const char *newname, struct fs_attr *out);
int mdsc_symlink(struct fs_session *s, const struct fs_cred *c,
		 uint64_t parent, const char *name, const char *target,
		 struct fs_attr *out);
/* *target is malloc'ed; the caller frees it. */
int mdsc_readlink(struct fs_session *s, const struct fs_cred *c, uint64_t ino,
		  char **target);
/* res->reply is a Gannet__ReadDirReply. */
int mdsc_readdir(struct fs_session *s, const struct fs_cred *c, uint64_t ino,
		 uint64_t cookie, uint32_t max, bool plus,
		 struct gn_rpc_result *res);
int mdsc_setxattr(struct fs_session *s, const struct fs_cred *c, uint64_t ino,
		  const char *name, const void *value, size_t size, int flags);
/* res->reply is a Gannet__GetXattrReply. */
int mdsc_getxattr(struct fs_session *s, const struct fs_cred *c, uint64_t ino,
		  const char *name, struct gn_rpc_result *res);
/* res->reply is a Gannet__ListXattrReply. */
int mdsc_listxattr(struct fs_session *s, const struct fs_cred *c, uint64_t ino,
		   struct gn_rpc_result *res);
int mdsc_removexattr(struct fs_session *s, const struct fs_cred *c,
		     uint64_t ino, const char *name);
int mdsc_statfs(struct fs_session *s, const struct fs_cred *c,
		Gannet__StatFsReply *out);

/* res->reply is a Gannet__OpenReply. */
int mdsc_open(struct fs_session *s, const struct fs_cred *c, uint64_t ino,
	      uint32_t flags, struct gn_rpc_result *res);
int mdsc_create(struct fs_session *s, const struct fs_cred *c,
		uint64_t parent, const char *name, uint32_t mode,
		uint32_t umask, uint32_t flags, struct gn_rpc_result *res);
/* res->reply is a Gannet__AllocateChunksReply.  pending: NULL, or per
 * index the (chunk id, version) of our uncommitted version of it, (0, 0)
 * for none (see mds_ns_allocate). */
int mdsc_allocate(struct fs_session *s, const struct fs_cred *c, uint64_t ino,
		  uint64_t handle, const uint64_t *indexes,
		  const uint64_t *pending, size_t n, struct gn_rpc_result *res);
/* Publish chunks (n may be 0) and the size; out gets the new attributes. */
int mdsc_commit(struct fs_session *s, const struct fs_cred *c, uint64_t ino,
		uint64_t handle, const struct fs_chunk *chunks, size_t n,
		bool set_size, uint64_t size, struct fs_attr *out);
int mdsc_close(struct fs_session *s, const struct fs_cred *c, uint64_t ino,
	       uint64_t handle);
/* Close handles v[0..n) in one call (1 <= n <= MDSC_CLOSE_BATCH; n > 1
 * needs an MDS with MDS_FEATURE_CLOSE_BATCH).  stopping (unmount): one
 * short deadline and no re-registration of a lost session. */
#define MDSC_CLOSE_BATCH 256
int mdsc_close_many(struct fs_session *s, const struct fs_close_item *v, size_t n,
		    bool stopping);
/* Close without waiting for the answer (release does not report errors):
 * queued for the closer thread, which sends the handles released within
 * MDSC_CLOSE_DELAY_MS of each other in one call; closed at once (waiting)
 * when the closer is not running.  Thread-safe. */
#define MDSC_CLOSE_DELAY_MS 10
void mdsc_close_async(struct fs_session *s, uint64_t ino, uint64_t handle);
/* Start the closer thread (fs_session_run); stop: send what is queued,
 * wait for it, and end the thread (fs_session_stop). */
int mdsc_closer_start(struct fs_session *s);
void mdsc_closer_stop(struct fs_session *s);
/* res->reply is a Gannet__GetChunksReply. */
int mdsc_getchunks(struct fs_session *s, const struct fs_cred *c,
		   uint64_t ino, struct gn_rpc_result *res);
int mdsc_report_bad(struct fs_session *s, uint64_t chunk_id,
		    uint64_t version, uint32_t ds_id, const char *reason);

/* The root credential used for internal calls (heartbeat, commits of
 * mmap writes on release). */
extern const struct fs_cred fs_cred_root;

#endif

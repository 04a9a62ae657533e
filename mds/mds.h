/*
 * mds.h - the metadata server core: struct mds and the namespace layer.
 *
 * Layers (STYLE.md 6):
 *   rpc_<area>.c  decode and validate a request, call mds_ns_*, encode
 *   ns_<area>.c   the LMDB work of one operation in one transaction
 *   db.c          LMDB, group commit
 *
 * Every mds_ns_* function returns 0 or a negative errno and writes its
 * out-parameters only on success.  Mutations are durable when they return
 * (db_write).  They are thread-safe and block (disk, commit).  Permission
 * checks follow POSIX for `cred` (uid 0 is root).
 *
 * Mutations fill an optional struct mds_changes with what other sessions
 * may have cached; the caller passes it to mds_lease_recall() after the
 * commit (that is what makes a change visible to other clients).
 */
#ifndef MDS_MDS_H
#define MDS_MDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "mds/db.h"

#define MDS_ROOT_INO	1
#define MDS_NAME_MAX	255
#define MDS_SYMLINK_MAX	4095
#define MDS_PATH_MAX	4095	/* a mounted subdir */
#define MDS_XATTR_NAME_MAX 255
#define MDS_XATTR_VALUE_MAX 65536
#define MDS_LINK_MAX	65000
#define MDS_MAX_GROUPS	64
/* Largest chunk index: files up to 4 PiB. */
#define MDS_MAX_CHUNK_INDEX (((uint64_t)1 << 30) - 1)
#define MDS_MAX_ALLOC	256
/* Handles one Close may carry besides its first (CloseRequest.more). */
#define MDS_CLOSE_BATCH_MAX 1024
/* Chunks one CommitWrite may publish: everything a client wrote between
 * two syncs (512 GiB), and still under the RPC layer's 17 MiB message. */
#define MDS_MAX_COMMIT	131072

struct mds;

struct mds_opts {
	const char *data_dir;
	uint64_t map_size;
	uint64_t max_map_size;		/* tests: cap growth (0 = disk) */
	bool group_commit;
	int lease_ms;
	int session_timeout_ms;
	int ds_timeout_ms;
	int ds_heartbeat_ms;		/* told to data servers */
	int default_replicas;
	int default_compression;	/* 0 none, 1 zstd */
	bool no_ticker;			/* tests: no background thread */
	uint32_t admin_gid;		/* [security] admin_gid: may administer */
};

/* Open the store (creating the root on first use), load sessions, data
 * servers and orphans, and start the background ticker (session and data
 * server expiry, re-replication).  *out only on success. */
int mds_new(const struct mds_opts *opts, struct mds **out);
/* Wake every waiter (long-poll heartbeats, lease recalls) so that RPC
 * handlers in flight finish quickly; call before shutting the server
 * down.  Thread-safe. */
void mds_stop(struct mds *m);
void mds_free(struct mds *m);
struct db *mds_db(struct mds *m);
/* One round of background work (the ticker does it every 200 ms). */
void mds_tick(struct mds *m);

struct mds_cred {
	uint32_t uid, gid;
	uint32_t ngroups;
	uint32_t groups[MDS_MAX_GROUPS];
};

/* What a mutation changed, for lease recall. */
enum mds_inval_kind { MDS_INV_ATTR = 0, MDS_INV_ENTRY = 1, MDS_INV_DATA = 2 };
struct mds_inval {
	enum mds_inval_kind kind;
	uint64_t ino;			/* ENTRY: the parent */
	char name[MDS_NAME_MAX + 1];
};
#define MDS_MAX_CHANGES 8
struct mds_changes {
	int n;
	struct mds_inval v[MDS_MAX_CHANGES];
};

/* ---- names and permissions (ns_inode.c) ---- */

enum mds_name_flags {
	MDS_NAME_DOTS = 1 << 0,		/* accept "." and ".." (Lookup) */
};
/*
 * Check the `len` bytes at `name` as one path component: the single
 * definition of a valid name, used by the namespace layer and by the RPC
 * handlers for names that arrive as counted bytes (rpc_mds.h).  `name`
 * need not be NUL-terminated; a NUL among the `len` bytes is an error.
 * 0; -EINVAL if empty (or NULL), holding a NUL or '/' byte, or "." or ".."
 * without MDS_NAME_DOTS; -ENAMETOOLONG over MDS_NAME_MAX bytes.
 */
int mds_check_name(const char *name, size_t len, enum mds_name_flags flags);
/* mask: 4 read, 2 write, 1 search/exec.  0 or -EACCES. */
int mds_access(const struct mds_cred *c, const struct db_inode *ino, int mask);
bool mds_cred_in_group(const struct mds_cred *c, uint32_t gid);

/* ---- namespace ---- */

int mds_ns_getattr(struct mds *m, uint64_t ino, struct db_inode *out);
int mds_ns_lookup(struct mds *m, const struct mds_cred *c, uint64_t parent,
		  const char *name, struct db_inode *out);
struct mds_chunk;
/* The same, and *first as a readdir plus entry's (when first is not NULL). */
int mds_ns_lookup_first(struct mds *m, const struct mds_cred *c, uint64_t parent,
			const char *name, struct db_inode *out,
			struct mds_chunk *first);

enum mds_setattr_valid {
	MDS_SET_MODE = 1, MDS_SET_UID = 2, MDS_SET_GID = 4, MDS_SET_SIZE = 8,
	MDS_SET_ATIME = 16, MDS_SET_MTIME = 32, MDS_SET_ATIME_NOW = 64,
	MDS_SET_MTIME_NOW = 128, MDS_SET_CTIME = 256,
};
struct mds_setattr {
	uint32_t valid;
	uint32_t mode, uid, gid;
	uint64_t size;
	int64_t atime, mtime, ctime;
	uint64_t handle;		/* ftruncate through an open handle */
	uint64_t session;		/* ... of this session */
};
int mds_ns_setattr(struct mds *m, const struct mds_cred *c, uint64_t ino,
		   const struct mds_setattr *sa, struct db_inode *out,
		   struct mds_changes *ch);

int mds_ns_mknod(struct mds *m, const struct mds_cred *c, uint64_t parent,
		 const char *name, uint32_t mode, uint64_t rdev, uint32_t umask,
		 struct db_inode *out, struct mds_changes *ch);
int mds_ns_mkdir(struct mds *m, const struct mds_cred *c, uint64_t parent,
		 const char *name, uint32_t mode, uint32_t umask,
		 struct db_inode *out, struct mds_changes *ch);
int mds_ns_symlink(struct mds *m, const struct mds_cred *c, uint64_t parent,
		   const char *name, const char *target, struct db_inode *out,
		   struct mds_changes *ch);
int mds_ns_link(struct mds *m, const struct mds_cred *c, uint64_t ino,
		uint64_t new_parent, const char *new_name, struct db_inode *out,
		struct mds_changes *ch);
int mds_ns_unlink(struct mds *m, const struct mds_cred *c, uint64_t parent,
		  const char *name, struct mds_changes *ch);
int mds_ns_rmdir(struct mds *m, const struct mds_cred *c, uint64_t parent,
		 const char *name, struct mds_changes *ch);
#define MDS_RENAME_NOREPLACE 1
#define MDS_RENAME_EXCHANGE 2
int mds_ns_rename(struct mds *m, const struct mds_cred *c, uint64_t parent,
		  const char *name, uint64_t new_parent, const char *new_name,
		  uint32_t flags, struct mds_changes *ch);
/* *target is malloc'ed, the caller frees it. */
int mds_ns_readlink(struct mds *m, const struct mds_cred *c, uint64_t ino,
		    char **target);

/* One chunk map entry (also in mds_dirent). */
struct mds_chunk {
	uint64_t index;
	struct db_chunk c;
	uint64_t base_version;
};

struct mds_dirent {
	char name[MDS_NAME_MAX + 1];
	uint64_t ino;
	uint32_t type;
	uint64_t cookie;
	struct db_inode attr;		/* with plus */
	/* With plus, for a regular file held whole in chunk 0 (size at most
	 * GN_CHUNK_SIZE): that chunk, so the client can fetch it while its
	 * Open is in flight.  first.c.version is 0 when there is none. */
	struct mds_chunk first;
};
/* Up to max entries after cookie; *ents malloc'ed (caller frees). */
int mds_ns_readdir(struct mds *m, const struct mds_cred *c, uint64_t ino,
		   uint64_t cookie, uint32_t max, bool plus,
		   struct mds_dirent **ents, size_t *n, bool *eof);

/* ---- xattrs (ns_xattr.c) ---- */
#define MDS_XATTR_CREATE 1
#define MDS_XATTR_REPLACE 2
int mds_ns_setxattr(struct mds *m, const struct mds_cred *c, uint64_t ino,
		    const char *name, const void *value, size_t len,
		    uint32_t flags, struct mds_changes *ch);
/* *value malloc'ed. */
int mds_ns_getxattr(struct mds *m, const struct mds_cred *c, uint64_t ino,
		    const char *name, void **value, size_t *len);
/* *names: NUL-separated list, malloc'ed; *count names. */
int mds_ns_listxattr(struct mds *m, const struct mds_cred *c, uint64_t ino,
		     char **names, size_t *len, size_t *count);
int mds_ns_removexattr(struct mds *m, const struct mds_cred *c, uint64_t ino,
		       const char *name, struct mds_changes *ch);

struct mds_statfs {
	uint64_t total, free, files, max_files;
};
int mds_ns_statfs(struct mds *m, struct mds_statfs *out);

/* ---- files and chunks (ns_file.c) ---- */

struct mds_open {
	struct db_inode attr;
	uint64_t handle;
	struct mds_chunk *chunks;	/* malloc'ed, ascending index */
	size_t nchunks;
	uint32_t replicas, compression;	/* the file's policy */
};
void mds_open_release(struct mds_open *o);

int mds_ns_open(struct mds *m, const struct mds_cred *c, uint64_t session,
		uint64_t ino, uint32_t flags, struct mds_open *out,
		struct mds_changes *ch);
int mds_ns_create(struct mds *m, const struct mds_cred *c, uint64_t session,
		  uint64_t parent, const char *name, uint32_t mode,
		  uint32_t umask, uint32_t flags, struct mds_open *out,
		  struct mds_changes *ch);
int mds_ns_close(struct mds *m, uint64_t session, uint64_t ino, uint64_t handle);
/* Chunks with first <= index < first + count (count 0: all). */
int mds_ns_getchunks(struct mds *m, const struct mds_cred *c, uint64_t ino,
		     uint64_t first, uint32_t count, struct mds_chunk **out,
		     size_t *n, uint64_t *size);
/* New versions of chunks indexes[0..n) of ino.  pending (NULL or 2 per
 * index): the (chunk id, version) of an uncommitted version of that chunk
 * this session wrote, (0, 0) for none; a chunk not committed yet then
 * keeps that id and its replicas, so its next version can be built from
 * that one on the data servers.  -EAGAIN when no data server is up. */
int mds_ns_allocate(struct mds *m, const struct mds_cred *c, uint64_t session,
		    uint64_t ino, uint64_t handle, const uint64_t *indexes,
		    const uint64_t *pending, size_t n, struct mds_chunk **out);
struct mds_commit {
	const struct mds_chunk *chunks;
	size_t n;
	bool set_size;
	uint64_t size;
	int64_t mtime;			/* 0 = now */
};
int mds_ns_commit(struct mds *m, const struct mds_cred *c, uint64_t session,
		  uint64_t ino, uint64_t handle, const struct mds_commit *cw,
		  struct db_inode *out, struct mds_changes *ch);
int mds_ns_getpolicy(struct mds *m, uint64_t ino, uint32_t *replicas,
		     uint32_t *compression);
int mds_ns_setpolicy(struct mds *m, const struct mds_cred *c, uint64_t ino,
		     uint32_t replicas, uint32_t compression);
int mds_ns_report_bad(struct mds *m, uint64_t chunk_id, uint64_t version,
		      uint32_t ds_id);
/* Open handles of an inode (tests). */
int mds_open_count(struct mds *m, uint64_t ino);

/* ---- sessions and leases (session.c) ---- */

int mds_session_open(struct mds *m, const struct mds_cred *c,
		     const char *client, const char *peer, const char *subdir,
		     uint64_t reclaim, uint64_t *id, uint64_t *root_ino);
/* Renew; wait up to wait_ms for recalls; *invs malloc'ed.  -EUNATCH for
 * an unknown session. */
int mds_session_heartbeat(struct mds *m, uint64_t id, uint64_t ack_seq,
			  int wait_ms, struct mds_inval **invs, size_t *n,
			  uint64_t *seq);
int mds_session_close(struct mds *m, uint64_t id);
bool mds_session_known(struct mds *m, uint64_t id);
int mds_lease_ms(struct mds *m);
/* Root, or a member of admin_gid (primary or supplementary group). */
bool mds_cred_is_admin(struct mds *m, const struct mds_cred *c);
int mds_session_timeout_ms(struct mds *m);
/* Record that session holds a lease on ino's attributes / dir entries. */
void mds_lease_grant(struct mds *m, uint64_t session, uint64_t ino, bool entries);
/* Queue ch to other sessions holding leases and wait for their ack or
 * lease expiry (bounded by lease_ms). */
void mds_lease_recall(struct mds *m, uint64_t session,
		      const struct mds_changes *ch);

struct mds_session_info {
	uint64_t id;
	char client[128];
	char peer[64];
	int64_t opened_ns, last_seen_ns;
	uint32_t open_files;
};
int mds_list_sessions(struct mds *m, struct mds_session_info **out, size_t *n);

/* ---- data servers (ns_ds.c) ---- */

enum mds_ds_state { MDS_DS_UP = 0, MDS_DS_DOWN = 1, MDS_DS_DRAINING = 2,
		    MDS_DS_REMOVED = 3 };
struct mds_ds_info {
	uint32_t id;
	char uuid[64];
	char addr[128];
	enum mds_ds_state state;
	uint64_t capacity, free, chunks;
};
int mds_ds_register(struct mds *m, const struct mds_ds_info *in, uint32_t *id);
struct mds_ds_work {
	struct { uint64_t chunk_id, version; } *del;
	size_t ndel;
	struct { uint64_t chunk_id, version; uint32_t source_id;
		 char source_addr[128]; } *rep;
	size_t nrep;
	bool draining;
	bool unknown;
};
int mds_ds_heartbeat(struct mds *m, const struct mds_ds_info *in,
		     struct mds_ds_work *out);
void mds_ds_work_release(struct mds_ds_work *w);
int mds_ds_replicated(struct mds *m, uint32_t ds_id, uint64_t chunk_id,
		      uint64_t version);
int mds_ds_admin(struct mds *m, uint32_t id, int op /* 0 drain 1 undrain 2 remove */);
int mds_ds_list(struct mds *m, struct mds_ds_info **out, size_t *n);
/* Info of one server (for OpenReply.servers). */
int mds_ds_get(struct mds *m, uint32_t id, struct mds_ds_info *out);
int mds_ds_up_count(struct mds *m);
/* Heartbeat interval told to data servers. */
int mds_ds_heartbeat_ms(struct mds *m);

/*
 * Degraded chunks: fewer live replicas (on servers up, not draining or
 * removed) than their file's policy asks for.  Damaged: degraded with no
 * replica on a server that is up to copy from.  The same test decides the
 * counts of mds_get_status (from the last complete background pass) and
 * this listing (from the maps as they are now).
 */
#define MDS_DEGRADED_MAX 4096		/* chunks per page */
#define MDS_DEGRADED_DEFAULT 1024
#define MDS_DEGRADED_SCAN 20000		/* chunk rows one call examines */
struct mds_degraded {
	uint64_t ino, index;
	struct db_chunk c;		/* as in the map */
	uint32_t want;			/* the file's policy */
	uint32_t live;			/* < want */
	uint32_t down[DB_MAX_REPLICAS];	/* replicas in c that do not count */
	uint32_t ndown;
	uint32_t bad;			/* server whose replica was reported
					   bad (no longer in c); 0 none */
	bool damaged;
};
struct mds_degraded_page {
	struct mds_degraded *v;		/* malloc'ed, ascending (ino, index) */
	size_t n;
	bool eof;			/* the scan reached the last chunk */
	uint64_t next_ino, next_index;	/* !eof: resume here */
};
/*
 * The degraded chunks at or after chunk key (ino, index), in key order:
 * at most max (1..MDS_DEGRADED_MAX, else -EINVAL), looking at most at
 * scan chunk rows (0: MDS_DEGRADED_SCAN), so a page may hold fewer, even
 * none, with eof false.  One short read transaction; no network wait.
 * *out only on success; release it with mds_degraded_page_release.
 * Thread-safe.
 */
int mds_ns_list_degraded(struct mds *m, uint64_t ino, uint64_t index,
			 uint32_t max, uint32_t scan, struct mds_degraded_page *out);
void mds_degraded_page_release(struct mds_degraded_page *p);

struct mds_status {
	int64_t started_ns;
	uint64_t inodes, chunks, degraded, damaged;
	uint32_t sessions;
};
int mds_get_status(struct mds *m, struct mds_status *out);

/* ---- offline check (check.c) ---- */
/* Print each problem to out; returns the number found, or -errno. */
int mds_check_store(struct db *db, FILE *out);

#endif

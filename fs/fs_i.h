/*
 * fs_i.h - private contract of the FUSE client (fs/).
 *
 * Layers, top to bottom:
 *   fsop*.c   FUSE low-level handlers (the only files with <fuse_lowlevel.h>
 *             besides main.c); each replies exactly once.
 *   io_*.c    the data path: chunk reads with checksum verification and
 *             replica fail-over, the write-back buffer, upload and commit.
 *   inode.c   the inode table: refcount = kernel lookup count + our own
 *             references (open handles, operations in progress).
 *   chunkmap.c per-inode chunk map (pure data structure, unit-tested).
 *   session.c the MDS session: open, heartbeat long poll, invalidations,
 *             re-registration after an MDS restart.
 *   mdsc.c / dsc.c  RPC stubs returning 0 or -errno.
 *
 * Everything hangs off one struct fs_session passed explicitly.
 * Inode numbers here are the MDS's; fsop converts FUSE_ROOT_ID to and from
 * the session's root inode (a mounted subdirectory) at the boundary.
 */
#ifndef GN_FS_I_H
#define GN_FS_I_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include "common/cksum.h"
#include "common/conf.h"
#include "fs/readahead.h"
#include "fs/wbmem.h"

struct gn_rpc_client;
struct gn_rpc_channel;
struct gn_bufpool;
struct gn_metric;
struct fs_cache;
struct fs_dcache;
struct fs_pf_job;
struct fuse_session;	/* opaque outside fsop*.c / main.c */
struct fs_session;
struct Gannet__Attr;
struct Gannet__DsInfo;
struct Gannet__ChunkInfo;

#define FS_MAX_GROUPS	64
#define FS_MAX_REPLICAS	8
#define FS_NAME_MAX	255

/* An MDS open handle to close (mdsc_close_async). */
struct fs_close_item {
	uint64_t ino, handle;
};

/* The identity a request runs as (from fuse_req_ctx/fuse_req_getgroups). */
struct fs_cred {
	uint32_t uid, gid, pid;
	uint32_t ngroups;
	uint32_t groups[FS_MAX_GROUPS];
};

/* ------------------------------------------------------------------ */
/* Chunk map (chunkmap.c): sorted by index, no locking of its own.      */
/* ------------------------------------------------------------------ */

struct fs_chunk {
	uint64_t index;
	uint64_t id;
	uint64_t version;
	uint64_t base_version;	/* from AllocateChunks, sent back at commit */
	uint64_t digest;
	uint32_t length;
	uint8_t nrep;
	uint8_t compression;
	uint32_t rep[FS_MAX_REPLICAS];	/* data server ids, chain order */
};

struct fs_chunkmap {
	struct fs_chunk *v;
	size_t n, cap;
};

void fs_chunkmap_init(struct fs_chunkmap *m);
void fs_chunkmap_release(struct fs_chunkmap *m);
void fs_chunkmap_clear(struct fs_chunkmap *m);
/* The entry for index, or NULL (a hole).  Valid until the map changes. */
struct fs_chunk *fs_chunkmap_find(const struct fs_chunkmap *m, uint64_t index);
/* Insert or replace the entry for c->index (copied). */
void fs_chunkmap_put(struct fs_chunkmap *m, const struct fs_chunk *c);
void fs_chunkmap_del(struct fs_chunkmap *m, uint64_t index);
/* Drop every chunk wholly past size and clamp the length of the chunk
 * containing size, as a truncate to `size` does. */
void fs_chunkmap_truncate(struct fs_chunkmap *m, uint64_t size);
/* SEEK_DATA / SEEK_HOLE over a file of `size` bytes: 0 and *out set, or
 * -ENXIO when off >= size (SEEK_DATA also when no data follows off).
 * A chunk's bytes past its `length` count as data (they read as zeros
 * but the chunk exists); only missing chunks are holes. */
int fs_chunkmap_seek_data(const struct fs_chunkmap *m, uint64_t size,
			  uint64_t off, uint64_t *out);
int fs_chunkmap_seek_hole(const struct fs_chunkmap *m, uint64_t size,
			  uint64_t off, uint64_t *out);
/* A digest of (index, id, version) of every entry and size: equal digests
 * mean the kernel's cached pages are still right. */
uint64_t fs_chunkmap_sig(const struct fs_chunkmap *m, uint64_t size);
/* Fill c from a wire ChunkInfo; -EBADMSG when it is out of range. */
int fs_chunk_from_pb(struct fs_chunk *c, const struct Gannet__ChunkInfo *pb);
/* A reply's first_chunk hint (pb may be NULL) into c: true for a valid
 * chunk 0, else false with c->version 0 (no hint). */
bool fs_chunk_hint_from_pb(struct fs_chunk *c, const struct Gannet__ChunkInfo *pb);

/* Byte range math: the piece of [off, off+len) inside chunk `index`. */
static inline uint64_t fs_chunk_index(uint64_t off)
{
	return off / GN_CHUNK_SIZE;
}
static inline uint64_t fs_chunk_start(uint64_t index)
{
	return index * (uint64_t)GN_CHUNK_SIZE;
}

/* ------------------------------------------------------------------ */
/* Write-back buffers (io_write.c).                                     */
/* ------------------------------------------------------------------ */

enum fs_wbuf_state {
	FS_WB_DIRTY,		/* being filled by writers */
	FS_WB_QUEUED,		/* waiting for an upload worker */
	FS_WB_UPLOADING,	/* a worker owns it */
};

/* A byte range [lo, hi) of a chunk. */
struct fs_range {
	uint32_t lo, hi;
};

/* One dirty chunk: a GN_CHUNK_SIZE buffer from the session's pool whose
 * bytes in the ranges r[0..nr) are newer than the chunk on the servers
 * (ascending, disjoint, never touching: touching ranges are merged), and
 * [lo, hi) their span.  Bytes outside the ranges are not in buf.  Owned by
 * its inode (list `next`), protected by the inode lock; a worker uploading
 * it reads buf without the lock (writers never touch an uploading
 * buffer). */
struct fs_wbuf {
	struct fs_inode *inode;
	struct fs_wbuf *next;		/* inode's list */
	struct fs_wbuf *qnext;		/* session upload queue */
	uint64_t index;
	uint64_t handle;		/* MDS open handle for AllocateChunks */
	char *buf;
	uint32_t lo, hi;
	enum fs_wbuf_state state;
	uint32_t nr;
	size_t charged;			/* bytes charged to s->wbmem */
	/* A version allocated ahead by another buffer's upload (one
	 * AllocateChunks for a file's queued buffers), good while the base
	 * it was allocated on is still the chunk's base: have_pre, pre and
	 * pre_base.  pre_wait: that allocation is in flight; the upload of
	 * this buffer waits for it. */
	bool have_pre, pre_wait;
	struct fs_chunk pre;
	struct fs_upbase {
		bool have;		/* a version to build on */
		struct fs_chunk base;
		uint64_t root;		/* committed version kept under it */
		uint64_t pend[2];	/* our uncommitted version, or zeros */
	} pre_base;
	struct fs_range r[GN_WRITE_EXTENTS_MAX];
};

/* ------------------------------------------------------------------ */
/* Inodes (inode.c).                                                    */
/* ------------------------------------------------------------------ */

struct fs_inode {
	uint64_t ino;
	/* Under the table lock: */
	uint64_t nlookup;	/* kernel lookup count */
	uint64_t refs;		/* our references (handles, ops in flight) */
	struct fs_inode *hnext;

	/* Under `lock`: */
	pthread_mutex_t lock;
	pthread_cond_t cond;	/* an upload finished / a commit ended */
	uint32_t mode;		/* S_IFMT bits, from the last attr seen */
	bool have_map;		/* map/size valid (an open handle exists) */
	struct fs_chunkmap map;	/* committed + uploaded-uncommitted chunks */
	struct fs_chunkmap pending;	/* uploaded, not yet committed */
	uint64_t size;		/* this client's view incl. buffered writes */
	bool size_dirty;	/* size changed by writes, not committed */
	struct fs_wbuf *wb;	/* dirty / uploading buffers */
	unsigned nuploading;
	bool committing;
	int wb_err;		/* first upload error, reported once */
	/* Set (to the raw error) when an upload gave up after op_timeout_ms
	 * because the cluster was unreachable: the file's other queued
	 * uploads then fail at once with it instead of each waiting its own
	 * deadline; cleared when a sync has reported it. */
	int wb_unreach;
	/* Every write-back error bumps wb_errseq; each open file reports
	 * wb_lasterr once if the sequence moved while it was open (Linux's
	 * errseq_t), so no close() of a writer returns 0 for lost data. */
	uint32_t wb_errseq;
	int wb_lasterr;
	uint64_t wb_handle;	/* last writable handle (commit of mmap writes) */
	unsigned nopen;		/* open handles */
	uint64_t wgen;		/* bumps when buffered bytes move to the map */
	struct fs_readahead ra;	/* sequential stream detection */
	/* Chunk 0 of a small file as a listing or the last open saw it:
	 * open fetches it while the Open call is in flight (see
	 * fs_io_open_hint); version 0 when there is none. */
	struct fs_chunk hint;
	bool kernel_sig_valid;
	uint64_t kernel_sig;	/* chunk map digest the kernel's pages match */
	/* The size and times last handed to the kernel (entries, getattr,
	 * setattr); `mixed` when two different ones went out since the
	 * kernel last dropped its attributes, as replies may reach it out of
	 * order.  Lets open skip dropping attributes that are current. */
	struct {
		bool valid, mixed;
		uint64_t size;
		struct timespec mtime, ctime;
	} kattr;
};

/* ------------------------------------------------------------------ */
/* The session.                                                         */
/* ------------------------------------------------------------------ */

struct fs_ds {
	uint32_t id;
	char *addr;
	struct gn_rpc_channel *ch;	/* NULL until first use */
	int64_t suspect_until_ms;	/* did not answer: tried last until then */
};

/* Hooks into the kernel, set by fsop (they need libfuse). */
struct fs_kernel_ops {
	/* Drop cached attributes (and pages when data) of ino. */
	void (*inval_inode)(struct fs_session *s, uint64_t ino, bool data);
	/* Drop the dentry name in parent. */
	void (*inval_entry)(struct fs_session *s, uint64_t parent,
			    const char *name);
};

/* Prometheus series of the mount (common/metrics.h; NULL-safe). */
struct fs_metrics {
	struct gn_metric *read_bytes;
	struct gn_metric *written_bytes;
	struct gn_metric *err_read;
	struct gn_metric *err_upload;
	struct gn_metric *err_commit;
	struct gn_metric *wb_bytes;	/* gauge, set at scrape */
	struct gn_metric *cache_hits;	/* counters following fs_cache stats */
	struct gn_metric *cache_misses;
	struct gn_metric *cache_bytes;	/* gauge: bytes held by the RAM cache */
	struct gn_metric *pf_bytes;	/* gauge: prefetch queued or running */
	uint64_t last_hits, last_misses;	/* stats at the previous scrape */
	/* Disk tier (fs/dcache.h), following its stats at scrape. */
	/* Disk tier counters, in the order of session_dcache.c's table. */
	struct gn_metric *dc[6];
	uint64_t dc_last[6];
	struct gn_metric *dc_bytes;	/* gauge: segment files in use */
};

struct fs_plist;

struct fs_session {
	struct gn_conf_client *conf;	/* borrowed from main */
	char *mds_addr;			/* "host:port" */
	char *subdir;			/* "/" or "/a/b" */
	bool ro;

	struct gn_rpc_client *rpc;
	struct gn_rpc_channel *mds;

	pthread_mutex_t lock;		/* session fields below */
	uint64_t session_id;
	uint64_t root_ino;
	uint32_t lease_ms;
	uint32_t session_timeout_ms;
	uint64_t epoch;			/* bumps at each re-registration */
	uint64_t next_req_id;
	/* Handles released and not yet closed at the MDS (mdsc_close_async),
	 * under lock: the closer thread's queue (closeq_cond: not empty, or
	 * closer_stop), and how many are queued or in its call (closes_cond:
	 * none left). */
	struct fs_close_item *closeq;
	size_t closeq_n, closeq_cap;
	unsigned closes_inflight;
	bool mds_close_batch;		/* the MDS takes CloseRequest.more */
	pthread_cond_t closeq_cond, closes_cond;
	pthread_t closer;
	bool closer_running, closer_stop;

	/* Inode table. */
	pthread_mutex_t itab_lock;
	struct fs_inode **itab;
	size_t itab_size, itab_count;

	/* Data servers known from replies, by id. */
	pthread_mutex_t ds_lock;
	struct fs_ds *ds;
	size_t nds;

	/* Read cache (fs/cache.h): cache_size bytes, NULL if it could not
	 * be mapped (reads then go uncached). */
	struct fs_cache *cache;
	/* Disk tier (fs/dcache.h) under cache_dir, or NULL. */
	struct fs_dcache *dcache;

	/* Write-back. */
	struct fs_wbmem *wbmem;		/* write-back buffers' memory */
	unsigned wb_inflight;		/* buffers queued or uploading (atomic) */
	pthread_mutex_t upq_lock;
	pthread_cond_t upq_cond;
	struct fs_wbuf *upq_head, *upq_tail;
	pthread_t *upload_threads;
	int nupload_threads;
	bool stopping;

	/* Prefetch (io_read.c): jobs for the prefetch threads. */
	pthread_mutex_t pfq_lock;
	pthread_cond_t pfq_cond;
	struct fs_pf_job *pfq_head, *pfq_tail;
	unsigned pfq_len;
	uint64_t pf_bytes;	/* queued + running prefetch, under pfq_lock */
	uint64_t pf_running;	/* running prefetch, under pfq_lock */
	pthread_t pf_threads[GN_PREFETCH_THREADS_MAX];	/* prefetch_threads run */
	int npf_threads;
	bool pf_stopping;

	/* The gannet.prefetch list and its thread (warm.c). */
	struct fs_plist *plist;

	/* Foreground read bytes in flight (io_read.c, fs_io_read_begin):
	 * bounds reply buffers, landing buffers and received replies. */
	pthread_mutex_t rd_lock;
	pthread_cond_t rd_cond;
	uint64_t rd_bytes;
	uint64_t warm_bytes;	/* the same for warmups (FS_WARM_INFLIGHT_MAX) */
	uint32_t warm_calls;	/* gannet.warm requests running (fsop_vxattr.c) */

	/* Heartbeat. */
	pthread_t hb_thread;
	bool hb_running;
	uint64_t ack_seq;

	struct fuse_session *se;
	const struct fs_kernel_ops *kops;
	struct fs_metrics m;
};

/* session.c */
/* Connect to the MDS and open a session (SessionOpen with a deadline of
 * timeout_ms): 0, or -errno with a message naming the address in err. */
int fs_session_start(struct fs_session *s, char *err, size_t errlen);
/* Start the heartbeat thread and upload workers (after the mount). */
int fs_session_run(struct fs_session *s);
/* Flush everything dirty, stop threads, close the session.  Blocks. */
void fs_session_stop(struct fs_session *s);
/* Open a new session after the MDS forgot ours (restart); thread-safe,
 * coalesces concurrent callers that saw the same epoch. */
int fs_session_reopen(struct fs_session *s, uint64_t seen_epoch);
void fs_session_init(struct fs_session *s, struct gn_conf_client *conf);
void fs_session_release(struct fs_session *s);
/* session_dcache.c: the disk tier.  open: after the RAM cache exists,
 * registers its metrics, opens cache_dir if set (failures logged, the
 * mount goes on without it).  collect: at scrape.  close: after the last
 * read (unmount), writes the RAM cache's blocks to the tier first. */
void fs_session_dcache_open(struct fs_session *s);
void fs_session_dcache_collect(struct fs_session *s);
void fs_session_dcache_close(struct fs_session *s);
/* Remember data servers named in a reply. */
void fs_session_add_servers(struct fs_session *s,
			    struct Gannet__DsInfo **v, size_t n);
/* Channel and address of data server id; -ENOENT if unknown. *addr is
 * valid for the session's life. */
int fs_session_ds(struct fs_session *s, uint32_t id,
		  struct gn_rpc_channel **ch, const char **addr);
/*
 * A read from data server id failed with err.  When it did not answer (a
 * deadline, or a connection refused, reset or unreachable) it is suspect for
 * FS_DS_SUSPECT_MS: reads try it after the chunk's other replicas, so a
 * hung server costs one deadline, not one per chunk it holds.  Other
 * errors (a missing version, a bad checksum) say nothing about the server.
 */
#define FS_DS_SUSPECT_MS 10000
void fs_session_ds_failed(struct fs_session *s, uint32_t id, int err);
/* Move the suspect replicas of c to the end of c->rep, the others keeping
 * their order.  c is a reader's copy of a map entry. */
void fs_session_ds_order(struct fs_session *s, struct fs_chunk *c);

/* inode.c */
void fs_itab_init(struct fs_session *s);
void fs_itab_release(struct fs_session *s);
/* The inode for ino, created if absent, with one reference (refs) taken. */
struct fs_inode *fs_inode_get(struct fs_session *s, uint64_t ino);
/* The inode if present, with a reference; NULL if unknown. */
struct fs_inode *fs_inode_find(struct fs_session *s, uint64_t ino);
/* Take one more reference on an inode the caller already holds one on. */
void fs_inode_ref(struct fs_session *s, struct fs_inode *in);
/* Drop a reference from fs_inode_get/find/ref. */
void fs_inode_put(struct fs_session *s, struct fs_inode *in);
/* The kernel learnt ino (fuse_reply_entry/create succeeded); kst, when
 * not NULL, is the stat it was given (see fs_inode_kattr_note). */
void fs_inode_lookup(struct fs_session *s, uint64_t ino, uint32_t mode,
		     const struct stat *kst);
/* The kernel is being given these attributes of in (takes in->lock). */
void fs_inode_kattr_note(struct fs_inode *in, const struct stat *kst);
/* Whether the kernel holds exactly fresh's size and times, as far as this
 * client can know; when it may not, forgets what it knew, as the caller
 * is to drop the kernel's attributes (takes in->lock). */
bool fs_inode_kattr_current(struct fs_inode *in, const struct stat *fresh);
/* The kernel forgot n lookups of ino. */
void fs_inode_forget(struct fs_session *s, uint64_t ino, uint64_t n);
/* Call fn on every inode with a reference held (for unmount flush). */
void fs_itab_foreach(struct fs_session *s,
		     void (*fn)(struct fs_session *, struct fs_inode *, void *),
		     void *arg);

#endif

/*
 * io.h - the client's data path (io_read.c, io_write.c, dsc.c).
 *
 * Reads: 64 KiB-aligned ranges from one replica per chunk, several chunks
 * in flight at once, every block checksum verified; a bad or unreachable
 * replica is reported to the MDS and the next one tried.  Holes and bytes
 * past a chunk's length read as zeros.  Buffered (not yet uploaded) bytes
 * of this client are overlaid, so a process reads its own writes.
 *
 * Writes: copied into chunk-sized buffers from the session's pool
 * (writeback_limit); full chunks upload in the background on upload
 * worker threads (AllocateChunks, then WriteChunk through the replica
 * chain); fs_io_sync() uploads the rest, waits, and commits every new
 * version and the size in one CommitWrite.  An upload error is kept on the
 * inode and returned by the next write or sync of that inode; an upload
 * that ran out of op_timeout_ms against an unreachable cluster makes the
 * inode's other queued uploads fail at once (one deadline per file).
 *
 * Locking: all of this works under the inode lock except the network
 * calls of uploads and reads.
 */
#ifndef GN_FS_IO_H
#define GN_FS_IO_H

#include "fs/fs_i.h"
#include "fs/cache.h"
#include "common/rpc.h"
#include "proto/mds.pb-c.h"

#include <sys/uio.h>

/* An open file (fuse_file_info.fh). */
struct fs_file {
	struct fs_inode *inode;		/* reference held */
	uint64_t handle;		/* MDS open handle */
	int flags;			/* open(2) flags */
	bool writable;
	bool direct;
	uint32_t errseq;		/* inode's wb_errseq last reported */
};

/* Install the chunk map and size of an Open/Create reply in the inode
 * (keeping this client's uncommitted writes).  *keep_cache says whether
 * the kernel's cached pages still match.  -EBADMSG on a bad reply. */
int fs_io_open_reply(struct fs_session *s, struct fs_inode *in,
		     const Gannet__OpenReply *r, uint64_t handle, bool writable,
		     bool *keep_cache);
/* A handle of the inode was released (after fs_io_sync); the last one
 * forgets the chunk map unless writes are still buffered. */
void fs_io_closed(struct fs_inode *in);

/* The largest read served at once (larger ones are answered short). */
#define FS_READ_MAX ((size_t)16 << 20)

/* Read up to size bytes at off into dst; *got is set to the count (short
 * only at end of file). */
int fs_io_read(struct fs_session *s, struct fs_inode *in, uint64_t off,
	       size_t size, char *dst, size_t *got);

/*
 * A read answered straight from the RAM cache, with no copy: iov[0..niov)
 * point into pinned arena blocks (ref[i] pins the block of iov[i]) and
 * hold len bytes (0 at end of file).  fs_io_read_pinned() succeeds only
 * when every byte of the read is plain cached data (no hole, nothing this
 * client has buffered) and size <= FS_PIN_MAX; else -EAGAIN, nothing is
 * pinned or counted, and the caller reads with fs_io_read_fill().  The
 * caller replies (fuse_reply_iov), then fs_io_pinned_release(): the pins
 * keep the blocks from eviction while the kernel copies them.
 */
#define FS_PIN_MAX ((size_t)4 << 20)
struct fs_io_pinned {
	struct iovec iov[FS_PIN_MAX / FS_CACHE_BLOCK + 2];
	struct fs_cache_ref ref[FS_PIN_MAX / FS_CACHE_BLOCK + 2];
	int niov;
	size_t len;
	char *buf;	/* fs_io_read_fill's copy, or NULL: pinned blocks */
};
int fs_io_read_pinned(struct fs_session *s, struct fs_inode *in, uint64_t off,
		      size_t size, struct fs_io_pinned *p);
void fs_io_pinned_release(struct fs_session *s, struct fs_io_pinned *p);
/*
 * Any read: fetch the blocks of the range the RAM cache lacks into it,
 * then pin them as fs_io_read_pinned() does, so the reply needs neither a
 * buffer nor a copy.  When the range is not plain data (as above) or the
 * cache had no room for a block, it reads into a buffer instead, which
 * *p then owns (p->buf, one iov).  Either way the caller replies from
 * p->iov and calls fs_io_pinned_release().  Errors as fs_io_read, with
 * nothing to release.  Blocking; call between fs_io_read_begin() and
 * fs_io_read_end(), as the replies it receives count against that budget.
 */
int fs_io_read_fill(struct fs_session *s, struct fs_inode *in, uint64_t off,
		    size_t size, struct fs_io_pinned *p);

/*
 * The memory of foreground reads is bounded: a read of size bytes holds
 * a reply buffer, landing buffers and received replies of about 3x size
 * until it is answered.  fs_io_read_begin() waits until at most
 * FS_READ_INFLIGHT_MAX bytes of reads are in flight (a larger read waits
 * until it is alone); fs_io_read_end() with the same size when the reply
 * is sent.  The caller holds nothing else while it waits.
 */
#define FS_READ_INFLIGHT_MAX ((uint64_t)4 << 20)
void fs_io_read_begin(struct fs_session *s, size_t size);
void fs_io_read_end(struct fs_session *s, size_t size);

/* Read [off, off+len) of one chunk version (zeros past its length) from
 * its replicas, without touching any inode.  Blocking. */
int fs_io_read_chunk(struct fs_session *s, const struct fs_chunk *c,
		     uint32_t off, uint32_t len, char *dst);

/*
 * Warmup (the gannet.warm and gannet.cached xattrs, gannetctl warmup):
 * with fetch, bring the bytes of [off, off+len) (clipped to the size) into
 * the RAM cache and, when there is one, the disk tier (written through,
 * waiting for room in its queue, so a tier larger than RAM ends up with
 * all that fits), one chunk at a time within the foreground read budget;
 * stop(arg) (NULL: never) is asked before each chunk and ends it with
 * -EINTR.  Either way, *total gets the range's bytes that hold data
 * (holes and bytes past a chunk's end cost nothing and are not counted)
 * and *cached those of them the caches hold at the end.  in's chunk map
 * must be installed (an open handle).  Errors as fs_io_read.  Blocking.
 */
#define FS_WARM_INFLIGHT_MAX ((uint64_t)8 << 20)	/* warmup bytes in flight */
int fs_io_warm(struct fs_session *s, struct fs_inode *in, uint64_t off,
	       uint64_t len, bool fetch, bool (*stop)(void *), void *arg,
	       uint64_t *cached, uint64_t *total);

/* warm.c: fs_io_warm of inode ino opened (and closed again) at the MDS
 * with c, which must be allowed to read it; -EISDIR/-EINVAL when it is
 * not a regular file.  Blocking. */
int fs_warm_file(struct fs_session *s, const struct fs_cred *c, uint64_t ino,
		 uint64_t off, uint64_t len, bool fetch, bool (*stop)(void *),
		 void *arg, uint64_t *cached, uint64_t *total);

/*
 * The prefetch list (warm.c): fs_plist_set() replaces the session's list
 * with the newline-separated paths of list (relative to directory dir,
 * or to the mount's root when one starts with "/"; a NUL is -EINVAL, a
 * ".." component fails that path), to be looked up and
 * fetched in that order with c by a background thread, until half of the
 * caches' capacity is fetched.  -EOPNOTSUPP when the client has no cache.
 * fs_plist_status(): files in the current list, fetched, failed, bytes
 * fetched.  Started by fs_session_run, stopped by fs_session_stop.
 */
int fs_plist_start(struct fs_session *s);
void fs_plist_stop(struct fs_session *s);
int fs_plist_set(struct fs_session *s, const struct fs_cred *c, uint64_t dir,
		 const char *list, size_t len);
void fs_plist_status(struct fs_session *s, uint64_t st[4]);

/* Buffer a write; may block while the write-back buffer is full. */
int fs_io_write(struct fs_session *s, struct fs_file *f, uint64_t off,
		const char *src, size_t size);

/* Upload everything buffered for in, wait, and commit with handle.
 * Returns the first error of any upload since the last sync, or the
 * commit's. */
/* Fetch in's chunk map from the MDS again, keeping our uncommitted
 * versions.  Takes in->lock; call without it. */
int fs_io_refresh_map(struct fs_session *s, struct fs_inode *in);

/* fs_io_sync through an open file: also returns, once per file, a
 * write-back error of the inode that happened while f was open. */
int fs_io_sync_file(struct fs_session *s, struct fs_file *f,
		    const struct fs_cred *c);
int fs_io_sync(struct fs_session *s, struct fs_inode *in, uint64_t handle,
	       const struct fs_cred *c);

/* After a truncate to size was committed by the MDS. */
void fs_io_truncated(struct fs_inode *in, uint64_t size);

/* The size this client sees for in (buffered writes included), when it
 * has buffered writes or an open handle; else false. */
bool fs_io_local_size(struct fs_inode *in, uint64_t *size);

/* SEEK_DATA / SEEK_HOLE. */
int fs_io_lseek(struct fs_session *s, struct fs_inode *in, uint64_t off,
		int whence, uint64_t *out);

/* The kernel's pages of in can no longer be trusted. */
void fs_io_kernel_cache_dropped(struct fs_inode *in);

/*
 * Fetch ahead of Open, for small files.  The inode's hint is chunk 0 as
 * a listing or a Lookup gave it (fs_io_hint_set(), before the kernel
 * learns the entry) or as the last handle's map had it (fs_io_closed).  fs_io_open_hint()
 * (at a read-only open, before the Open call) queues the fetch of the
 * hint's first FS_HINT_MAX bytes into the RAM cache, unless in has a map
 * (another handle is open) or the first block is cached already.  Reads
 * still go by the map of the Open reply: cache keys carry the version, so
 * a stale hint costs one wasted read and never serves old bytes.  A read
 * arriving while the fetch runs waits for its blocks instead of fetching
 * them again.  The fetch runs on the prefetch threads (none: no fetch).
 */
#define FS_HINT_MAX ((uint32_t)1 << 20)
void fs_io_hint_set(struct fs_inode *in, const struct fs_chunk *c);
void fs_io_open_hint(struct fs_session *s, struct fs_inode *in);

/* Prefetch threads (read-ahead into the RAM cache): started by
 * fs_session_run, stopped by fs_session_stop. */
int fs_prefetch_start(struct fs_session *s);
void fs_prefetch_stop(struct fs_session *s);

/* Upload workers: started by fs_session_run, stopped by fs_session_stop
 * after every inode was synced. */
int fs_upload_start(struct fs_session *s, int nthreads);
void fs_upload_stop(struct fs_session *s);

/* dsc.c: Ds stubs.  One attempt each with a deadline of timeout_ms. */
int dsc_read(struct fs_session *s, struct gn_rpc_channel *ch,
	     uint64_t chunk_id, uint64_t version, uint32_t off, uint32_t len,
	     struct gn_rpc_result *res);
int dsc_read_async(struct fs_session *s, struct gn_rpc_channel *ch,
		   uint64_t chunk_id, uint64_t version, uint32_t off,
		   uint32_t len, gn_rpc_done_fn done, void *arg);
/* WriteChunk of the ranges r[0..nr) of buf (chunk bytes at their chunk
 * offsets; one range is sent as such, several as extents) as version c on
 * base_version, with the chain given; *length and *digest are the stored
 * version's. */
int dsc_write(struct fs_session *s, struct gn_rpc_channel *ch,
	      const struct fs_chunk *c, uint64_t base_version,
	      uint32_t base_length, uint32_t chunk_length, const char *buf,
	      const struct fs_range *r, uint32_t nr, const char *const *chain,
	      size_t nchain, uint32_t *length, uint64_t *digest);

/* Check a ReadChunk reply for [off, off+want) of a chunk and copy the
 * verified bytes into dst (zeros past the chunk's length).  -GN_ERR_CKSUM
 * on a mismatch, -EBADMSG on a malformed reply.  Pure: unit-tested. */
int fs_io_check_read(const struct gn_rpc_result *res, uint32_t off,
		     uint32_t want, char *dst);
/* The same, with the bytes of block k of the range (GN_BLOCK_SIZE each,
 * the last one short) going to blk[k]: a reply lands in cache blocks
 * that are not contiguous.  On an error the blocks may hold anything. */
int fs_io_check_read_blocks(const struct gn_rpc_result *res, uint32_t off,
			    uint32_t want, char *const *blk);

#endif

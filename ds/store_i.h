/*
 * store_i.h - private to ds/store*.c: the on-disk header, the in-memory
 * index of versions and the store object.
 */
#ifndef DS_STORE_I_H
#define DS_STORE_I_H

#include <pthread.h>
#include <stdint.h>
#include <sys/types.h>
#include <zstd.h>

#include "common/util.h"
#include "ds/store.h"

#define DS_HDR_SIZE	4096u		/* data starts page aligned */
#define DS_HDR_MAGIC	"GNCHUNK1"	/* a whole version */
#define DS_HDR_MAGIC2	"GNCHUNK2"	/* one sharing blocks (below) */
#define DS_MAX_SRC	15		/* versions one can take blocks from */
#define DS_BUF_SIZE	(DS_HDR_SIZE + GN_CHUNK_SIZE)
#define DS_NSUBDIRS	256
#define DS_NSTRIPES	64

/*
 * The header as stored (little endian).  frame_off[k] is the offset of
 * block k's frame from the start of the data (DS_HDR_SIZE); frame_len[k]
 * its stored size, equal to the block's length when stored raw (a zstd
 * frame is kept only when strictly smaller).  hdr_cksum is XXH3-64 of the
 * bytes before it.
 *
 * Shared blocks (magic GNCHUNK2): a partial update need not copy the
 * blocks it leaves alone.  The new version's file holds only the blocks it
 * changes ("own" blocks, blk_src[k] == 0); block k with blk_src[k] == i > 0
 * is the frame at frame_off[k] in the data of the older version src[i - 1]
 * (ascending, all older than this one), copied with its checksum from that
 * version's header when this one was written.  The list is flat: every
 * block names the file that holds it, so a read never walks a chain.
 * Own frames of an uncompressed version sit at their chunk offsets (the
 * file is sparse); compressed ones are packed.  The extension after
 * hdr_cksum has its own checksum, ext_cksum.  A whole version has nsrc 0
 * and is stored as GNCHUNK1, byte for byte as before shared blocks.
 */
struct ds_hdr {
	char magic[8];
	uint32_t hdr_size;
	uint32_t compression;
	uint64_t chunk_id;
	uint64_t version;
	uint32_t length;
	uint32_t nblocks;
	uint64_t data_bytes;		/* bytes after the header */
	uint64_t digest;
	uint32_t frame_off[GN_BLOCKS_PER_CHUNK];
	uint32_t frame_len[GN_BLOCKS_PER_CHUNK];
	uint64_t cksums[GN_BLOCKS_PER_CHUNK];
	uint64_t hdr_cksum;
	/* GNCHUNK2 only (zero in GNCHUNK1) */
	uint32_t nsrc;
	uint32_t pad;
	uint64_t src[DS_MAX_SRC];
	uint8_t blk_src[GN_BLOCKS_PER_CHUNK];
	uint64_t ext_cksum;
};

/* Encode h into the DS_HDR_SIZE bytes at p (host order -> LE, cksum). */
void ds_hdr_encode(const struct ds_hdr *h, void *p);
/* Decode and check magic, sizes and checksum; -EBADMSG when invalid. */
int ds_hdr_decode(const void *p, size_t len, struct ds_hdr *h);

/* ---- index: (chunk_id, version) -> stat ---- */

/*
 * A version is live (served, listed) or kept: deleted by the MDS while a
 * live version still takes blocks from it.  A kept version's file is
 * renamed to "<name>.kept" so that the state survives a restart; it is
 * removed once refs (the live versions whose src lists name it) drops to
 * zero.  src lists are counted only for live versions: a kept version is
 * never read as a whole again, so it pins nothing.
 */
struct ds_idx_ent {
	struct ds_idx_ent *next;
	struct ds_chunk_stat s;		/* s.nsrc: entries in src */
	bool kept;
	uint32_t refs;
	uint64_t *src;			/* NULL when s.nsrc == 0 */
};

struct ds_index {
	struct ds_idx_ent **tab;
	size_t nbuckets;		/* power of two */
	size_t count;			/* entries, kept ones included */
	size_t live;
	uint64_t stored_bytes;		/* of every file, kept ones included */
};

void ds_index_init(struct ds_index *ix);
void ds_index_release(struct ds_index *ix);
/* A live version, or NULL. */
struct ds_chunk_stat *ds_index_find(struct ds_index *ix, uint64_t id,
				    uint64_t version);
/* A version, live or kept, or NULL. */
struct ds_idx_ent *ds_index_ent(struct ds_index *ix, uint64_t id,
				uint64_t version);
/* Highest live version of id, 0 if none. */
uint64_t ds_index_max_version(struct ds_index *ix, uint64_t id);
/* Add or replace a live version taking blocks from src (s->nsrc entries,
 * copied); a replaced entry keeps its refs.  Returns the entry. */
struct ds_idx_ent *ds_index_put(struct ds_index *ix, const struct ds_chunk_stat *s,
				const uint64_t *src);
/* Mark a live entry kept (its src list is dropped: see above). */
void ds_index_keep(struct ds_index *ix, struct ds_idx_ent *e);
/* Remove (id, version); returns whether it was there. */
bool ds_index_del(struct ds_index *ix, uint64_t id, uint64_t version);
/* Versions of id, kept ones included, into out (room for max); returns
 * how many exist. */
size_t ds_index_versions(struct ds_index *ix, uint64_t id, uint64_t *out,
			 size_t max);
/* Call fn on every entry (do not add or remove entries from fn). */
void ds_index_foreach(struct ds_index *ix,
		      void (*fn)(struct ds_idx_ent *e, void *arg), void *arg);
/* See ds_store_list(); live versions only. */
void ds_index_list(struct ds_index *ix, uint64_t after_id,
		   uint64_t after_version, size_t max,
		   struct ds_chunk_stat *out, size_t *n, bool *eof);

/* ---- the store ---- */

struct gn_bufpool;

struct ds_store {
	char *dir;
	char uuid[37];
	uint64_t reserve;
	int zstd_level;
	int buf_wait_ms;
	bool direct;			/* write chunk files with O_DIRECT */
	ds_store_bad_fn on_bad;
	void *on_bad_arg;

	int lock_fd;
	int dir_fd;			/* the storage directory */
	int qdir_fd;			/* quarantine/ */
	int sub_fd[DS_NSUBDIRS];	/* chunks/XX */
	struct gn_bufpool *pool;

	pthread_mutex_t lock;		/* guards ix, bad_versions */
	struct ds_index ix;
	uint64_t bad_versions;
	uint64_t tmp_seq;
	/* Serialize check-and-publish per chunk (stale check + rename). */
	pthread_mutex_t stripe[DS_NSTRIPES];
};

static inline int ds_subdir_of(uint64_t id) { return (int)(id & 0xff); }

/* "<16 hex>.<16 hex>" into buf (>= 34 bytes); with kept, the name of a
 * kept version: that and ".kept" (>= 39 bytes). */
void ds_chunk_name(char *buf, size_t len, uint64_t id, uint64_t version);
void ds_kept_name(char *buf, size_t len, uint64_t id, uint64_t version);

/* Quarantine with the index lock not held; reason is logged. */
int ds__quarantine(struct ds_store *st, uint64_t id, uint64_t version,
		   const char *reason);

/* ---- shared blocks (store_share.c); caller holds stripe and lock ---- */

/* Count one more use of each of src (versions of chunk id); -ENOENT, and
 * nothing counted, when one of them is not here. */
int ds__pin_src(struct ds_store *st, uint64_t id, uint32_t nsrc,
		const uint64_t *src);
/* Undo ds__pin_src(). */
void ds__unpin_src(struct ds_store *st, uint64_t id, uint32_t nsrc,
		   const uint64_t *src);
/* Take e out of service: kept (keep true: its file has been renamed to
 * the kept name) or removed from the index; the uses it counted on its
 * sources are dropped, and a kept source left unused is deleted. */
void ds__retire(struct ds_store *st, struct ds_idx_ent *e, bool keep);
/* Open the file of a version that may be live or kept; -errno.  With
 * flags (O_DIRECT) refused, opens without them.  No lock needed. */
int ds__open_src(struct ds_store *st, uint64_t id, uint64_t version, int flags);
/* At open, after the scan: count uses, quarantine live versions whose
 * sources are gone (*nbad), delete kept ones nobody uses (*nunused). */
int ds__resolve_shared(struct ds_store *st, unsigned *nbad, unsigned *nunused);

/* ---- reading (store_read.c) ---- */

/* Per-thread zstd contexts and block buffers (never freed before the
 * thread exits). */
struct ds_zctx {
	ZSTD_CCtx *c;
	ZSTD_DCtx *d;
	uint8_t blk[GN_BLOCK_SIZE];	/* one decoded block */
	uint8_t frame[GN_BLOCK_SIZE];	/* one stored frame */
};
struct ds_zctx *ds__zctx(void);

/* Bytes of block k in a version of length bytes. */
static inline uint32_t ds_block_len(uint32_t length, uint32_t k)
{
	uint32_t start = k * GN_BLOCK_SIZE;

	return start >= length ? 0 : GN_MIN(GN_BLOCK_SIZE, length - start);
}

/* A version open for reading: its header and the files holding its
 * blocks (opened when first needed).  One thread at a time. */
struct ds_ver {
	struct ds_store *st;
	struct ds_hdr h;
	int flags;			/* O_DIRECT or 0 */
	int fd[DS_MAX_SRC + 1];		/* [0] its own, [i] h.src[i - 1]'s */
};

/* Open a version and read and check its header into hdrbuf (readlen
 * bytes from offset 0, readlen >= DS_HDR_SIZE); returns the bytes read
 * or -errno.  A damaged header quarantines the version (-GN_ERR_CKSUM).
 * Close v with ds__ver_close() after any return; closing a zeroed ds_ver
 * that was never passed here is a no-op. */
int ds__ver_open(struct ds_store *st, uint64_t id, uint64_t version,
		 int flags, void *hdrbuf, size_t readlen, struct ds_ver *v);
void ds__ver_close(struct ds_ver *v);
/* Block k, read from its file, decoded and verified: a pointer into the
 * thread's buffers, valid until the next call on this thread; NULL with
 * *err (-GN_ERR_CKSUM with why filled in, or -errno). */
const uint8_t *ds__ver_block(struct ds_ver *v, uint32_t k, int *err,
			     char *why, size_t whylen);

/* Read whole file region [0, len) with retries on short reads;
 * returns bytes read (short only at EOF) or -errno. */
ssize_t ds_pread_full(int fd, void *buf, size_t len, off_t off);
/* The first bytes of the file fd, at most maxlen (a multiple of 4 KiB),
 * asking no more than the file holds (rounded up to 4 KiB, as O_DIRECT
 * wants); as ds_pread_full otherwise. */
ssize_t ds_pread_head(int fd, void *buf, size_t maxlen);

#endif

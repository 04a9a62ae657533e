/*
 * store.h - the chunk store of a data server: one storage directory holding
 * chunk versions, each written whole as a new file (copy-on-write).
 *
 * Layout under the storage directory:
 *   uuid                  identity of the store (generated once)
 *   lock                  flock'ed while a server uses the directory
 *   chunks/XX/<id>.<ver>  one version: id and version as 16 hex digits, XX
 *                         the low byte of the id in hex
 *   chunks/XX/<id>.<ver>.kept  a deleted version whose blocks a newer one
 *                         still uses (see "Shared blocks" in store_i.h)
 *   quarantine/           damaged versions moved out of the way
 *
 * A version file starts with a 4 KiB header (magic, length, compression,
 * the XXH3 checksum of every 64 KiB block, the offset and stored size of
 * every frame, and a checksum of the header itself), followed by the data:
 * block k at 4096 + k * 64 KiB when uncompressed; with zstd, each block is
 * an independent frame (stored raw when it does not compress), packed one
 * after the other, so a random read decompresses only the frames it needs.
 *
 * A partial update stores only the blocks it changes and takes the others
 * from the files of older versions (at most DS_MAX_SRC of them, else the
 * whole version is written): a 4 KiB write costs one 64 KiB block, not a
 * 4 MiB copy.  Deleting a version whose blocks are still used keeps its
 * file until the last user is gone.  Reads, checksums and the RPCs see
 * every version whole either way.
 *
 * Durability: a version is written to a temporary name in its directory,
 * fdatasync'ed, renamed into place and the directory fsync'ed before
 * ds_store_commit() returns.  A crash leaves either the old state or the
 * whole new version; temporary leftovers are removed by ds_store_open().
 *
 * Errors are negative errno values: -ENOENT unknown chunk or version,
 * -EINVAL / -EFBIG bad arguments, -GN_ERR_CKSUM checksum mismatch,
 * -GN_ERR_STALE_VERSION older than a stored version, -ENOSPC full disk
 * (or free space below the reserve), -ENOMEM no buffer free in time,
 * -EIO a disk error.
 *
 * Threads: every function is thread-safe.  Writes and reads block on disk
 * I/O; index look-ups take one mutex briefly.
 */
#ifndef DS_STORE_H
#define DS_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/cksum.h"

struct ds_store;
struct gn_bulk;

enum ds_compression {
	DS_COMP_NONE = 0,	/* values as in proto Compression */
	DS_COMP_ZSTD = 1,
};

/* Called after a damaged version was found (read or verify) and moved to
 * quarantine/.  Runs on the thread that found it; must not block long. */
typedef void (*ds_store_bad_fn)(void *arg, uint64_t chunk_id,
				uint64_t version, const char *reason);

struct ds_store_opts {
	const char *dir;	/* storage directory; created if missing */
	uint64_t reserve;	/* bytes kept free; writes past it: -ENOSPC */
	int zstd_level;		/* 1..19; 0 = 3 */
	size_t nbufs;		/* pooled 4 MiB buffers; 0 = 16 */
	int buf_wait_ms;	/* how long to wait for a buffer; 0 = 10000 */
	bool buffered_io;	/* never write with O_DIRECT (benchmarks) */
	ds_store_bad_fn on_bad;	/* may be NULL */
	void *on_bad_arg;
};

/*
 * Open (creating if needed) the store in opts->dir: lock it (-EBUSY when
 * another process holds it), remove temporary leftovers, and index every
 * version (headers that fail their checksum are quarantined).  opts is
 * copied.  *out is set only on success.
 */
int ds_store_open(const struct ds_store_opts *opts, struct ds_store **out);
/* Close; every write and read object must have been freed. */
void ds_store_close(struct ds_store *st);

/* The store's uuid (36 characters + NUL); valid until close. */
const char *ds_store_uuid(const struct ds_store *st);
const char *ds_store_dir(const struct ds_store *st);

/* What the store knows about one version. */
struct ds_chunk_stat {
	uint64_t chunk_id;
	uint64_t version;
	uint32_t length;	/* uncompressed bytes */
	uint8_t compression;	/* enum ds_compression */
	uint64_t digest;	/* gn_cksum_digest of its block checksums */
	uint64_t stored_bytes;	/* file size on disk */
	uint8_t nsrc;		/* older versions it takes blocks from */
};

/* ------------------------------------------------------------------ */
/* Writing a version                                                  */
/* ------------------------------------------------------------------ */

/* A write request, as in proto WriteChunkRequest. */
struct ds_write_req {
	uint64_t chunk_id;	/* >= 1 */
	uint64_t version;	/* >= 1 */
	uint64_t base_version;	/* 0 = none; else < version */
	uint32_t base_length;
	uint32_t offset;
	uint32_t chunk_length;	/* >= offset + data length, <= 4 MiB */
	/* Several ranges (nextents >= 1, at most GN_WRITE_EXTENTS_MAX):
	 * (offset, length) pairs, ascending, not overlapping, none empty;
	 * the data is their bytes one range after the other and `offset` is
	 * ignored.  nextents 0: the one range [offset, offset + data length). */
	const uint32_t *extents;
	size_t nextents;
	const uint64_t *cksums;	/* of each range's data in 64 KiB pieces */
	size_t ncksums;
	enum ds_compression compression;
	/* A copy of a version the MDS asks for (ReplicateChunk): allowed
	 * even when a newer version of the chunk is stored here (a newer
	 * one may be an uncommitted leftover of a failed write). */
	bool copy;
};

struct ds_wbuf;	/* a version being built; owns one pooled buffer */

/*
 * Step 1: validate req (-EINVAL, -EFBIG), check that the base version is
 * here (-ENOENT) and that no newer version is (-GN_ERR_STALE_VERSION), copy
 * the data (len bytes from data, or from bulk when data is NULL) into a
 * pooled buffer and verify the client's checksums (-GN_ERR_CKSUM).  Does
 * no disk I/O, so the caller can start forwarding the payload
 * (ds_wbuf_payload) before ds_store_commit().  *out set only on success;
 * free it with ds_wbuf_free().
 */
int ds_store_prepare(struct ds_store *st, const struct ds_write_req *req,
		     const void *data, const struct gn_bulk *bulk, size_t len,
		     struct ds_wbuf **out);

/* The verified payload of w, contiguous as it was received (built on the
 * first call when w holds several ranges): valid and unchanged until
 * ds_wbuf_free(), also across ds_store_commit().  Not thread-safe. */
const void *ds_wbuf_payload(struct ds_wbuf *w, size_t *len);

/*
 * Step 2: build the new version (base bytes read and verified from disk,
 * zeros, payload), compress it if asked, write and sync it, and publish it.
 * A base found damaged is quarantined (on_bad) and reported as -ENOENT,
 * like a missing one: the client then sends the whole chunk.
 * On success *stat (if not NULL) describes the stored version.  On failure
 * nothing of the new version remains.  Call at most once per w.
 */
int ds_store_commit(struct ds_store *st, struct ds_wbuf *w,
		    struct ds_chunk_stat *stat);

/* Release w and its buffer; NULL is fine. */
void ds_wbuf_free(struct ds_wbuf *w);

/* prepare + commit + free in one call, from a contiguous buffer. */
int ds_store_write(struct ds_store *st, const struct ds_write_req *req,
		   const void *data, size_t len, struct ds_chunk_stat *stat);

/* ------------------------------------------------------------------ */
/* Reading                                                            */
/* ------------------------------------------------------------------ */

/* The result of a read; data points into a pooled buffer. */
struct ds_read {
	uint32_t offset;		/* first byte returned (block aligned) */
	uint32_t chunk_length;
	uint8_t compression;		/* how the version is stored */
	const void *data;
	size_t len;
	uint64_t cksums[GN_BLOCKS_PER_CHUNK];	/* of each returned block */
	size_t ncksums;
	/* private */
	struct ds_store *st;
	void *buf;
};

/*
 * Read [offset, offset + length) of a version (length 0 = to its end).
 * offset must be a multiple of GN_BLOCK_SIZE (-EINVAL); offset or
 * offset + length past 4 MiB is -EFBIG.  The result runs from offset to the
 * end of the last block touched, or the version's end, whichever comes
 * first (empty when offset >= length).  Every block is verified against its
 * checksum; a mismatch quarantines the version, calls on_bad and returns
 * -GN_ERR_CKSUM.  On success *out is allocated: free with ds_read_free()
 * (any thread).
 */
int ds_store_read(struct ds_store *st, uint64_t chunk_id, uint64_t version,
		  uint32_t offset, uint32_t length, struct ds_read **out);
void ds_read_free(struct ds_read *r);

/*
 * Re-read a whole version from the disk, bypassing the page cache where the
 * file system allows (O_DIRECT), and verify every block.  On a mismatch:
 * quarantine, on_bad, -GN_ERR_CKSUM.  *bytes (if not NULL) gets the bytes
 * read.  For the scrubber.
 */
int ds_store_verify(struct ds_store *st, uint64_t chunk_id, uint64_t version,
		    uint64_t *bytes);

/* ------------------------------------------------------------------ */
/* Inventory                                                          */
/* ------------------------------------------------------------------ */

/* Stat one version: 0 or -ENOENT. */
int ds_store_stat_chunk(struct ds_store *st, uint64_t chunk_id,
			uint64_t version, struct ds_chunk_stat *out);

/* Remove one version, or every version of the chunk when version is 0.
 * -ENOENT when nothing matched.  The removal is synced to disk. */
int ds_store_delete(struct ds_store *st, uint64_t chunk_id, uint64_t version);

struct ds_chunk_ref {
	uint64_t chunk_id;
	uint64_t version;	/* 0: every version */
};

/* ds_store_delete of n versions, each chunk subdirectory they touch
 * synced once at the end: what the MDS's deletion batches need.  Versions
 * already gone are skipped; a failure is logged and the rest still tried.
 * Returns how many went, or -errno when a failure (or the sync) means some
 * removals may not be durable. */
int ds_store_delete_many(struct ds_store *st, const struct ds_chunk_ref *refs,
			 size_t n);

/* Move a version to quarantine/ (as when damage is found), calling on_bad
 * with reason.  -ENOENT when unknown. */
int ds_store_quarantine(struct ds_store *st, uint64_t chunk_id,
			uint64_t version, const char *reason);

/*
 * Up to max versions strictly after (after_id, after_version) in
 * (id, version) order, into out (room for max).  *n gets the count, *eof
 * whether no version follows the last one returned.
 */
int ds_store_list(struct ds_store *st, uint64_t after_id,
		  uint64_t after_version, size_t max,
		  struct ds_chunk_stat *out, size_t *n, bool *eof);

/* True when some version of chunk_id is stored. */
bool ds_store_has_chunk(struct ds_store *st, uint64_t chunk_id);

struct ds_store_info {
	uint64_t capacity_bytes;	/* of the file system */
	uint64_t free_bytes;		/* available, minus the reserve */
	uint64_t chunks;		/* versions stored */
	uint64_t stored_bytes;		/* sum of their file sizes */
	uint64_t bad_versions;		/* quarantined since open */
};
int ds_store_info(struct ds_store *st, struct ds_store_info *out);

#endif

/*
 * store_i.h - private to ds/store*.c: the on-disk header, the in-memory
 * index of versions and the store object.
 */
#ifndef DS_STORE_I_H
#define DS_STORE_I_H

#include <pthread.h>
#include <stdint.h>
#include <sys/types.h>

#include "ds/store.h"

#define DS_HDR_SIZE	4096u		/* data starts page aligned */
#define DS_HDR_MAGIC	"GNCHUNK1"
#define DS_BUF_SIZE	(DS_HDR_SIZE + GN_CHUNK_SIZE)
#define DS_NSUBDIRS	256
#define DS_NSTRIPES	64

/*
 * The header as stored (little endian).  frame_off[k] is the offset of
 * block k's frame from the start of the data (DS_HDR_SIZE); frame_len[k]
 * its stored size, equal to the block's length when stored raw (a zstd
 * frame is kept only when strictly smaller).  hdr_cksum is XXH3-64 of the
 * bytes before it.
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
};

/* Encode h into the DS_HDR_SIZE bytes at p (host order -> LE, cksum). */
void ds_hdr_encode(const struct ds_hdr *h, void *p);
/* Decode and check magic, sizes and checksum; -EBADMSG when invalid. */
int ds_hdr_decode(const void *p, size_t len, struct ds_hdr *h);

/* ---- index: (chunk_id, version) -> stat ---- */

struct ds_idx_ent {
	struct ds_idx_ent *next;
	struct ds_chunk_stat s;
};

struct ds_index {
	struct ds_idx_ent **tab;
	size_t nbuckets;		/* power of two */
	size_t count;
	uint64_t stored_bytes;
};

void ds_index_init(struct ds_index *ix);
void ds_index_release(struct ds_index *ix);
struct ds_chunk_stat *ds_index_find(struct ds_index *ix, uint64_t id,
				    uint64_t version);
/* Highest version of id, 0 if none. */
uint64_t ds_index_max_version(struct ds_index *ix, uint64_t id);
void ds_index_put(struct ds_index *ix, const struct ds_chunk_stat *s);
/* Remove (id, version); returns whether it was there. */
bool ds_index_del(struct ds_index *ix, uint64_t id, uint64_t version);
/* Versions of id, into out (room for max); returns how many exist. */
size_t ds_index_versions(struct ds_index *ix, uint64_t id, uint64_t *out,
			 size_t max);
/* See ds_store_list(). */
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

/* "<16 hex>.<16 hex>" into buf (>= 34 bytes). */
void ds_chunk_name(char *buf, size_t len, uint64_t id, uint64_t version);

/* Quarantine with the index lock not held; reason is logged. */
int ds__quarantine(struct ds_store *st, uint64_t id, uint64_t version,
		   const char *reason);

/* Read whole file region [0, len) with retries on short reads;
 * returns bytes read (short only at EOF) or -errno. */
ssize_t ds_pread_full(int fd, void *buf, size_t len, off_t off);

#endif

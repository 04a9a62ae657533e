/*
 * dcache.h - the client's disk cache tier (cache_dir, cache_dir_size).
 *
 * Blocks evicted from the RAM cache (fs/cache.h), and blocks the read path
 * fetched but the RAM cache could not take (fs/io_read.c), are copied into
 * a small bounded queue and appended by one writer thread to segment files
 * in cache_dir; a RAM miss, or a block RAM cannot take, asks this tier
 * before the network.  Nothing here ever fails a read: every problem is a
 * miss.
 *
 * Layout: cache_dir holds `.lock` (flock: one mount per directory) and
 * segment files `seg-NNNN`, each exactly seg_size bytes once in use
 * (preallocated, so the tier's disk use is nseg * seg_size <=
 * cache_dir_size at every moment and a full disk shows up at allocation,
 * not mid-record).  A segment starts with a 512-byte header (magic,
 * format, seg_size, generation, header checksum) followed by records:
 * a 64-byte header (magic, key, chunk digest tag, length, generation,
 * XXH3 of the data, XXH3 of the header) and the data, padded to 512 bytes.
 * Segments are filled in ring order and recycled whole, oldest first
 * (FIFO): recycling bumps the generation, so records of the previous use
 * can never be mistaken for current ones.
 *
 * Keys are (chunk id, version, block) as in the RAM cache; each record
 * also carries the chunk's digest from the MDS chunk map (tag), and a read
 * must present the same tag, so a reformatted cluster that reuses chunk
 * ids cannot be served old bytes.  Every read from disk verifies the
 * record header, the key, the tag, the length and the data's XXH3; a
 * mismatch discards the entry and the caller goes to the data servers.
 *
 * At open the index is rebuilt by walking the record headers of every
 * segment; a segment's walk stops at the first torn or doubtful record.
 *
 * Memory: the index is set-associative, 8 bytes per entry (a 32-bit key
 * fingerprint and a 32-bit location in 512-byte units), about
 * cache_dir_size / 6144 bytes in all; a fingerprint collision is caught by
 * the key check on disk.  The spill queue holds FS_DCACHE_QUEUE blocks.
 *
 * Errors: a missing, unwritable or locked cache_dir makes fs_dcache_open
 * fail (the caller logs and mounts without the tier); a full disk at
 * segment allocation shrinks the ring to the segments that exist; a write
 * error stops spilling (reads of what is indexed go on).  Each is logged
 * once with the path.
 *
 * All functions are thread-safe.
 */
#ifndef FS_DCACHE_H
#define FS_DCACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fs/cache.h"

#define FS_DCACHE_QUEUE 64	/* spill queue, in 64 KiB blocks */

struct fs_dcache;

struct fs_dcache_stats {
	uint64_t hits, misses;
	uint64_t hit_bytes;		/* bytes served from disk */
	uint64_t spilled, spill_bytes;	/* records written */
	uint64_t dropped;		/* spills dropped: queue full or no space */
	uint64_t discarded;		/* records that failed verification */
	uint64_t errors;		/* I/O errors */
	uint64_t disk_bytes;		/* bytes of segment files in use */
	uint64_t entries;		/* blocks indexed */
};

/*
 * Open the tier in dir (which must exist and be writable) with at most
 * size bytes on disk, rebuild the index, start the writer thread.
 * -ENOENT/-EACCES/-EROFS/... for the directory, -EBUSY when another
 * process holds it, -EINVAL when size is too small (< 2 MiB); the error is
 * logged here with the path.  Blocks for the scan.
 */
int fs_dcache_open(const char *dir, uint64_t size, struct fs_dcache **out);

/* Write what is queued, stop the writer, close the files, free.  NULL ok. */
void fs_dcache_close(struct fs_dcache *d);

/*
 * Offer a block for the tier: data (len bytes, 1..FS_CACHE_BLOCK) is
 * copied before return.  Skipped when the key is already stored; dropped
 * (counted) when the queue is full, unless wait, which blocks until there
 * is room.  Never does disk I/O itself.
 */
void fs_dcache_spill(struct fs_dcache *d, const struct fs_cache_key *key,
		     uint64_t tag, const void *data, uint32_t len, bool wait);

/*
 * Read the block key with exactly len bytes and tag into dst: 0 on a hit
 * (verified), -ENOENT on a miss (absent, doubtful, I/O error).  Blocking
 * disk read; dst may be written even on a miss.
 */
int fs_dcache_read(struct fs_dcache *d, const struct fs_cache_key *key,
		   uint64_t tag, void *dst, uint32_t len);

/* Whether the index holds key (no disk I/O, no verification): what a
 * report of cached bytes needs; a fingerprint collision counts as held. */
bool fs_dcache_contains(struct fs_dcache *d, const struct fs_cache_key *key);

/* Wait until every spill queued so far is written (tests, unmount). */
void fs_dcache_drain(struct fs_dcache *d);

void fs_dcache_get_stats(struct fs_dcache *d, struct fs_dcache_stats *st);

#endif

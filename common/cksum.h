/*
 * cksum.h - the block checksum used end to end: computed by the client on
 * write, verified by the data server before it stores and on every read
 * from disk, verified again by the client on read.
 *
 * XXH3-64 (libxxhash) over each 64 KiB block of a chunk's uncompressed
 * bytes.  contrib/bench/cksum-bench on this machine (64 KiB blocks, GB/s,
 * in cache / out of cache): memcpy 40.8 / 12.1, XXH3-64 14.4 / 7.4,
 * CRC32C with SSE4.2 8.0 / 6.7, CRC32C slice-by-8 1.6 / 1.5.  XXH3 is the
 * fastest, needs no CPU feature, comes from a maintained Debian library,
 * and its 64-bit value makes an undetected corruption far less likely
 * than a 32-bit CRC.
 */
#ifndef GN_CKSUM_H
#define GN_CKSUM_H

#include <stddef.h>
#include <stdint.h>

#define GN_CHUNK_SIZE	((uint32_t)4 << 20)	/* 4 MiB */
#define GN_BLOCK_SIZE	((uint32_t)64 << 10)	/* checksum block, 64 KiB */
#define GN_BLOCKS_PER_CHUNK (GN_CHUNK_SIZE / GN_BLOCK_SIZE)
/* The most separate byte ranges one WriteChunk may carry (random writes
 * into a chunk go out as one new version holding all of them). */
#define GN_WRITE_EXTENTS_MAX 512

/* Checksum of one block (len <= GN_BLOCK_SIZE, any len accepted). */
uint64_t gn_cksum(const void *data, size_t len);

/* Checksums of data cut into GN_BLOCK_SIZE pieces from its first byte;
 * out must hold gn_cksum_count(len) values.  Returns that count. */
size_t gn_cksum_blocks(const void *data, size_t len, uint64_t *out);
static inline size_t gn_cksum_count(size_t len)
{
	return (len + GN_BLOCK_SIZE - 1) / GN_BLOCK_SIZE;
}

/* Digest of a chunk version: XXH3-64 of its block checksums (as stored in
 * little-endian order).  Used by the MDS chunk map, fsck and `info`. */
uint64_t gn_cksum_digest(const uint64_t *cksums, size_t n);

#endif
